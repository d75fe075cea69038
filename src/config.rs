//! Typed settings, read once at start-up from the environment and an optional
//! `deskhand.toml`. The environment wins over the file. A missing or invalid setting is a
//! [`ConfigError`] that names it, so start-up can stop with one clear line.
//!
//! In `deskhand.toml` each setting's key is its variable's name in lower case without the
//! `DESKHAND_` prefix: `SLACK_BOT_TOKEN` is `slack_bot_token`, `DESKHAND_LISTEN` is `listen`.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://deskhand.db";

/// A value that must never reach a log line: `Debug` prints a placeholder, and there is
/// no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether this is an example's stand-in (`xoxb-change-me`, `xapp-…`) rather than a
    /// real value.
    pub fn is_placeholder(&self) -> bool {
        let v = &self.0;
        v.contains("change-me") || v.contains('…') || v.contains("...") || v.len() < 12
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is required but not set")]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("cannot read {path}: {reason}")]
    File { path: String, reason: String },
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Verifies requests over HTTP; with Socket Mode alone, no Slack route is served.
    pub slack_signing_secret: Option<Secret>,
    /// The one workspace's bot token; `None` when workspaces install deskhand themselves
    /// (Slack's OAuth, [`Config::slack_oauth`]).
    pub slack_bot_token: Option<Secret>,
    /// The app's OAuth credentials (`SLACK_CLIENT_ID`, `SLACK_CLIENT_SECRET`): workspaces
    /// install deskhand at `/slack/install`.
    pub slack_oauth: Option<OAuthApp>,
    /// Seals what is kept but never shown, such as installed workspaces' tokens
    /// (`DESKHAND_SECRET_KEY`).
    pub secret_key: Option<crate::vault::Vault>,
    /// The app-level token (`xapp-…`): events come over Socket Mode connections.
    pub slack_app_token: Option<Secret>,
    /// Base URL of the Slack Web API, without a trailing slash.
    pub slack_api_url: String,
    pub database_url: String,
    pub listen: SocketAddr,
    /// Bearer token of the admin API; the API answers 404 when unset.
    pub admin_token: Option<Secret>,
    /// How links to deskhand are written, without a trailing slash.
    pub public_url: String,
    /// Posts per second deskhand allows itself in one Slack channel (Slack allows about 1).
    pub slack_channel_rate: f64,
    /// How many posts may go to one channel at once before the rate applies.
    pub slack_channel_burst: u32,
    /// How long one Slack Web API call may take before it counts as failed.
    pub slack_timeout: Duration,
    /// How long a worker or dispatcher owns the work it took; after a crash, work comes
    /// back this long after it was taken. At least three Slack timeouts.
    pub lease: Duration,
    /// Where managers' mail goes out (`smtp://host:port`, `smtps://user:pass@host`), and
    /// whom it is from; no mail when unset.
    pub smtp_url: Option<Secret>,
    pub smtp_from: String,
    /// The bearer token the mail relay sends with `POST /mail/inbound`; the route
    /// answers 404 when unset.
    pub mail_inbound_token: Option<Secret>,
    /// How often each Jira project is asked what changed that deskhand did not hear of.
    pub jira_reconcile: Duration,
}

/// A Slack app's OAuth credentials.
#[derive(Debug, Clone)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: Secret,
}

/// Where settings come from: the environment first, then the file's keys.
pub struct Sources {
    env: HashMap<String, String>,
    file: HashMap<String, String>,
}

impl Sources {
    /// The process environment, and `path` when given or `./deskhand.toml` when it exists.
    pub fn from_process(path: Option<&Path>) -> Result<Self, ConfigError> {
        let default = Path::new("deskhand.toml");
        let file = match path {
            Some(path) => read_toml(path)?,
            None if default.exists() => read_toml(default)?,
            None => HashMap::new(),
        };
        Ok(Self {
            env: std::env::vars().collect(),
            file,
        })
    }

    pub fn from_maps(env: HashMap<String, String>, file: HashMap<String, String>) -> Self {
        Self { env, file }
    }

    fn get(&self, var: &'static str) -> Option<String> {
        self.env
            .get(var)
            .or_else(|| self.file.get(&toml_key(var)))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The database URL alone (for `deskhand migrate`, which needs nothing else).
    pub fn database_url(&self) -> String {
        self.get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into())
    }

    /// `DATABASE_URL` (or the default SQLite file), checked: `serve` and `migrate` alike.
    pub fn checked_database_url(&self) -> Result<String, ConfigError> {
        let url = self.database_url();
        if url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(url)
        } else {
            Err(ConfigError::Invalid {
                name: "DATABASE_URL",
                reason: "must start with sqlite: or postgres://".into(),
            })
        }
    }

    fn parsed<T: std::str::FromStr>(&self, var: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self.get(var) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e: T::Err| ConfigError::Invalid {
                name: var,
                reason: e.to_string(),
            }),
        }
    }
}

/// Where to listen: an IP address and port, or `localhost:PORT` (the loopback address).
fn listen_address(text: &str) -> Result<SocketAddr, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: "DESKHAND_LISTEN",
        reason,
    };
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    match text.rsplit_once(':') {
        Some((host, port)) if host.eq_ignore_ascii_case("localhost") => port
            .parse::<u16>()
            .map(|port| SocketAddr::from(([127, 0, 0, 1], port)))
            .map_err(|_| invalid(format!("{port:?} is not a port number"))),
        _ => Err(invalid(format!(
            "{text:?} is not an address to listen on: give an IP address and a port, as 0.0.0.0:3000, \
             127.0.0.1:3000 or [::]:3000 (localhost:3000 works too)"
        ))),
    }
}

/// Every setting, by its environment variable.
const SETTINGS: &[&str] = &[
    "SLACK_SIGNING_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "DESKHAND_SECRET_KEY",
    "SLACK_API_URL",
    "DATABASE_URL",
    "DESKHAND_LISTEN",
    "DESKHAND_ADMIN_TOKEN",
    "DESKHAND_PUBLIC_URL",
    "DESKHAND_SLACK_CHANNEL_RATE",
    "DESKHAND_SLACK_CHANNEL_BURST",
    "DESKHAND_SLACK_TIMEOUT_MS",
    "DESKHAND_LEASE_MS",
    "DESKHAND_SMTP_URL",
    "DESKHAND_SMTP_FROM",
    "DESKHAND_MAIL_INBOUND_TOKEN",
    "DESKHAND_JIRA_RECONCILE_SECS",
];

/// A setting's key in `deskhand.toml`: its variable in lower case, without `DESKHAND_`.
fn toml_key(var: &str) -> String {
    var.strip_prefix("DESKHAND_").unwrap_or(var).to_lowercase()
}

fn read_toml(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let file_error = |reason: String| ConfigError::File {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| file_error(e.message().to_owned()))?;
    table
        .into_iter()
        .map(|(k, v)| {
            if !SETTINGS.iter().any(|var| toml_key(var) == k) {
                // An environment name (or one in lower case) where the file's key belongs.
                let meant = SETTINGS
                    .iter()
                    .find(|var| var.eq_ignore_ascii_case(&k) || toml_key(var) == k.to_lowercase());
                return Err(file_error(match meant {
                    Some(var) => format!("unknown setting {k:?}: in the file, {var} is written {}", toml_key(var)),
                    None => format!("unknown setting {k:?}"),
                }));
            }
            let v = match v {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => return Err(file_error(format!("{k} must be a string, a number or a boolean"))),
            };
            Ok((k, v))
        })
        .collect()
}

fn url_setting(name: &'static str, value: String) -> Result<String, ConfigError> {
    if !(value.starts_with("http://") || value.starts_with("https://")) {
        return Err(ConfigError::Invalid {
            name,
            reason: "must start with http:// or https://".into(),
        });
    }
    Ok(value.trim_end_matches('/').to_owned())
}

impl Config {
    pub fn load(sources: &Sources) -> Result<Self, ConfigError> {
        let slack_app_token = sources.get("SLACK_APP_TOKEN");
        if slack_app_token.as_ref().is_some_and(|t| !t.starts_with("xapp-")) {
            return Err(ConfigError::Invalid {
                name: "SLACK_APP_TOKEN",
                reason: "must be an app-level token (xapp-…) with the connections:write scope".into(),
            });
        }
        // Over HTTP every request is verified by the signing secret; Socket Mode needs none.
        let slack_signing_secret = match (sources.get("SLACK_SIGNING_SECRET"), &slack_app_token) {
            (Some(secret), _) => Some(Secret::new(secret)),
            (None, Some(_)) => None,
            (None, None) => return Err(ConfigError::Missing("SLACK_SIGNING_SECRET")),
        };
        let secret_key = match sources.get("DESKHAND_SECRET_KEY") {
            Some(setting) => Some(crate::vault::Vault::parse(&setting).map_err(|e| ConfigError::Invalid {
                name: "DESKHAND_SECRET_KEY",
                reason: e.to_string(),
            })?),
            None => None,
        };
        let slack_oauth = match (sources.get("SLACK_CLIENT_ID"), sources.get("SLACK_CLIENT_SECRET")) {
            (None, None) => None,
            (Some(client_id), Some(client_secret)) => {
                if secret_key.is_none() {
                    return Err(ConfigError::Invalid {
                        name: "DESKHAND_SECRET_KEY",
                        reason: "is required with SLACK_CLIENT_ID: installed workspaces' tokens are sealed with it \
                                 (k1:<openssl rand -base64 32>)"
                            .into(),
                    });
                }
                Some(OAuthApp {
                    client_id,
                    client_secret: Secret::new(client_secret),
                })
            }
            (None, Some(_)) => return Err(ConfigError::Missing("SLACK_CLIENT_ID")),
            (Some(_), None) => return Err(ConfigError::Missing("SLACK_CLIENT_SECRET")),
        };
        // One workspace's token, or workspaces that install deskhand through OAuth (or both:
        // the token serves its own workspace).
        let slack_bot_token = match sources.get("SLACK_BOT_TOKEN") {
            Some(token) if !token.starts_with("xox") => {
                return Err(ConfigError::Invalid {
                    name: "SLACK_BOT_TOKEN",
                    reason: "must be a Slack bot token (xoxb-…)".into(),
                })
            }
            Some(token) => Some(Secret::new(token)),
            None if slack_oauth.is_some() => None,
            None => return Err(ConfigError::Missing("SLACK_BOT_TOKEN")),
        };
        let slack_api_url = url_setting(
            "SLACK_API_URL",
            sources
                .get("SLACK_API_URL")
                .unwrap_or_else(|| "https://slack.com/api".into()),
        )?;
        let database_url = sources.checked_database_url()?;
        let listen = match sources.get("DESKHAND_LISTEN") {
            None => SocketAddr::from(([0, 0, 0, 0], 3000)),
            Some(text) => listen_address(&text)?,
        };
        let public_url = url_setting(
            "DESKHAND_PUBLIC_URL",
            sources
                .get("DESKHAND_PUBLIC_URL")
                .unwrap_or_else(|| "http://localhost:3000".into()),
        )?;
        let slack_channel_rate: f64 = sources.parsed("DESKHAND_SLACK_CHANNEL_RATE", 1.0)?;
        if !(slack_channel_rate > 0.0 && slack_channel_rate.is_finite()) {
            return Err(ConfigError::Invalid {
                name: "DESKHAND_SLACK_CHANNEL_RATE",
                reason: "must be a positive number of posts per second".into(),
            });
        }
        let slack_channel_burst: u32 = sources.parsed("DESKHAND_SLACK_CHANNEL_BURST", 4)?;
        let timeout_ms: u64 = sources.parsed("DESKHAND_SLACK_TIMEOUT_MS", 10_000)?;
        if slack_channel_burst == 0 || timeout_ms == 0 {
            return Err(ConfigError::Invalid {
                name: if timeout_ms == 0 {
                    "DESKHAND_SLACK_TIMEOUT_MS"
                } else {
                    "DESKHAND_SLACK_CHANNEL_BURST"
                },
                reason: "must be at least 1".into(),
            });
        }
        let reconcile_secs: u64 = sources.parsed("DESKHAND_JIRA_RECONCILE_SECS", 300)?;
        if reconcile_secs == 0 {
            return Err(ConfigError::Invalid {
                name: "DESKHAND_JIRA_RECONCILE_SECS",
                reason: "must be at least 1".into(),
            });
        }
        let lease_ms: u64 = sources.parsed("DESKHAND_LEASE_MS", 60_000)?;
        if lease_ms < 3 * timeout_ms {
            return Err(ConfigError::Invalid {
                name: "DESKHAND_LEASE_MS",
                reason: format!("must be at least three Slack timeouts ({} ms)", 3 * timeout_ms),
            });
        }
        let smtp_url = sources.get("DESKHAND_SMTP_URL").filter(|u| !u.is_empty());
        if let Some(url) = &smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(ConfigError::Invalid {
                    name: "DESKHAND_SMTP_URL",
                    reason: "must start with smtp:// or smtps://".into(),
                });
            }
        }
        let smtp_from = sources
            .get("DESKHAND_SMTP_FROM")
            .unwrap_or_else(|| "deskhand <deskhand@localhost>".into());
        if smtp_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError::Invalid {
                name: "DESKHAND_SMTP_FROM",
                reason: "must be a mail address, as in `Help desk <help@example.com>`".into(),
            });
        }
        Ok(Self {
            smtp_url: smtp_url.map(Secret::new),
            smtp_from,
            mail_inbound_token: sources.get("DESKHAND_MAIL_INBOUND_TOKEN").map(Secret::new),
            jira_reconcile: Duration::from_secs(reconcile_secs),
            slack_signing_secret,
            slack_bot_token,
            slack_oauth,
            secret_key,
            slack_app_token: slack_app_token.map(Secret::new),
            slack_api_url,
            database_url,
            listen,
            admin_token: sources.get("DESKHAND_ADMIN_TOKEN").map(Secret::new),
            public_url,
            slack_channel_rate,
            slack_channel_burst,
            slack_timeout: Duration::from_millis(timeout_ms),
            lease: Duration::from_millis(lease_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const BASE: [(&str, &str); 2] = [("SLACK_SIGNING_SECRET", "s3cret"), ("SLACK_BOT_TOKEN", "xoxb-1")];

    #[test]
    fn defaults_fill_everything_but_the_two_slack_secrets() {
        let config = Config::load(&Sources::from_maps(env(&BASE), HashMap::new())).unwrap();
        assert_eq!(config.database_url, "sqlite://deskhand.db");
        assert_eq!(config.slack_api_url, "https://slack.com/api");
        assert_eq!(config.listen.to_string(), "0.0.0.0:3000");
        assert!(config.admin_token.is_none());
    }

    #[test]
    fn a_missing_secret_is_named() {
        let err = Config::load(&Sources::from_maps(env(&BASE[1..]), HashMap::new())).unwrap_err();
        assert_eq!(err.to_string(), "SLACK_SIGNING_SECRET is required but not set");
    }

    #[test]
    fn socket_mode_needs_an_app_token_and_no_signing_secret() {
        let vars = env(&[("SLACK_BOT_TOKEN", "xoxb-1"), ("SLACK_APP_TOKEN", "xapp-1-A1-1-abc")]);
        let config = Config::load(&Sources::from_maps(vars, HashMap::new())).unwrap();
        assert!(config.slack_signing_secret.is_none());
        assert_eq!(
            config.slack_app_token.as_ref().map(Secret::expose),
            Some("xapp-1-A1-1-abc")
        );
        let vars = env(&[("SLACK_BOT_TOKEN", "xoxb-1"), ("SLACK_APP_TOKEN", "xoxb-2")]);
        let err = Config::load(&Sources::from_maps(vars, HashMap::new())).unwrap_err();
        assert!(err.to_string().starts_with("SLACK_APP_TOKEN is invalid"), "{err}");
    }

    #[test]
    fn oauth_installs_need_both_credentials_and_a_secret_key_and_no_bot_token() {
        let key = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let oauth = [
            ("SLACK_SIGNING_SECRET", "s3cret"),
            ("SLACK_CLIENT_ID", "123.456"),
            ("SLACK_CLIENT_SECRET", "shh"),
            ("DESKHAND_SECRET_KEY", key),
        ];
        let config = Config::load(&Sources::from_maps(env(&oauth), HashMap::new())).unwrap();
        assert!(config.slack_bot_token.is_none());
        assert_eq!(
            config.slack_oauth.as_ref().map(|o| o.client_id.as_str()),
            Some("123.456")
        );
        assert!(!format!("{config:?}").contains("shh"));
        let err = Config::load(&Sources::from_maps(env(&oauth[..3]), HashMap::new())).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("DESKHAND_SECRET_KEY is invalid: is required"),
            "{err}"
        );
        let err = Config::load(&Sources::from_maps(
            env(&[oauth[0], oauth[1], oauth[3]]),
            HashMap::new(),
        ))
        .unwrap_err();
        assert_eq!(err, ConfigError::Missing("SLACK_CLIENT_SECRET"));
        let mut vars = env(&BASE);
        vars.insert("DESKHAND_SECRET_KEY".into(), "not a key".into());
        let err = Config::load(&Sources::from_maps(vars, HashMap::new())).unwrap_err();
        assert!(err.to_string().starts_with("DESKHAND_SECRET_KEY is invalid"), "{err}");
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        let file = env(&[("listen", "127.0.0.1:9"), ("database_url", "sqlite://file.db")]);
        let mut vars = env(&BASE);
        vars.insert("DESKHAND_LISTEN".into(), "127.0.0.1:8".into());
        let config = Config::load(&Sources::from_maps(vars, file)).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8");
        assert_eq!(config.database_url, "sqlite://file.db");
    }

    #[test]
    fn an_invalid_value_is_named_and_secrets_never_print() {
        let mut vars = env(&BASE);
        vars.insert("DESKHAND_LISTEN".into(), "nowhere".into());
        let err = Config::load(&Sources::from_maps(vars, HashMap::new())).unwrap_err();
        assert!(err.to_string().starts_with("DESKHAND_LISTEN is invalid"), "{err}");
        let config = Config::load(&Sources::from_maps(env(&BASE), HashMap::new())).unwrap();
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn localhost_is_a_listen_address_and_a_host_name_is_explained() {
        assert_eq!(listen_address("localhost:3001").unwrap().to_string(), "127.0.0.1:3001");
        assert_eq!(listen_address("[::]:3000").unwrap().to_string(), "[::]:3000");
        let err = listen_address("deskhand.example.com:3000").unwrap_err().to_string();
        assert!(err.contains("give an IP address and a port"), "{err}");
        assert!(listen_address("localhost:http").is_err());
    }

    #[test]
    fn mail_is_off_unless_an_smtp_url_is_given_and_both_mail_settings_are_checked() {
        let config = Config::load(&Sources::from_maps(env(&BASE), HashMap::new())).unwrap();
        assert!(config.smtp_url.is_none());
        let file = env(&[
            ("smtp_url", "smtp://mail.acme.example:25"),
            ("smtp_from", "Help <help@acme.example>"),
        ]);
        let config = Config::load(&Sources::from_maps(env(&BASE), file)).unwrap();
        assert_eq!(
            config.smtp_url.as_ref().map(Secret::expose),
            Some("smtp://mail.acme.example:25")
        );
        for (name, value) in [
            ("DESKHAND_SMTP_URL", "http://mail"),
            ("DESKHAND_SMTP_FROM", "not an address"),
        ] {
            let mut vars = env(&BASE);
            vars.insert(name.into(), value.into());
            let err = Config::load(&Sources::from_maps(vars, HashMap::new())).unwrap_err();
            assert!(err.to_string().starts_with(&format!("{name} is invalid")), "{err}");
        }
    }
}
