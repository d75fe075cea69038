//! A thin client of the Slack Web API: write methods as JSON POSTs, read methods as GETs
//! with query parameters, both with `Authorization: Bearer`
//! (<https://api.slack.com/web#posting_json>).
//!
//! Its errors say what a caller must know to retry safely: whether Slack asked us to wait
//! ([`SlackError::RateLimited`]), whether the request may have had its effect although we
//! saw no answer ([`SlackError::is_ambiguous`]), and whether trying again can ever help.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Secret;
use crate::metrics;

mod history;
mod types;
pub use types::*;

#[derive(Clone)]
pub struct SlackApi {
    http: reqwest::Client,
    base_url: String,
    /// The bot token calls are made with; `None`: not installed anywhere yet (OAuth only).
    token: Option<Secret>,
    /// The app-level token (`xapp-…`) that opens Socket Mode connections, when configured.
    app_token: Option<Secret>,
}

#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    #[error("rate limited: retry after {0:?}")]
    RateLimited(Duration),
    /// Slack answered `ok: false`.
    #[error("slack error: {0}")]
    Api(String),
    #[error("http status {0}")]
    Status(u16),
    /// The request never left (connection refused, DNS): safe to send again.
    #[error("could not connect: {0}")]
    Connect(String),
    /// The request may have reached Slack: timed out, reset, or an unreadable answer.
    #[error("no answer: {0}")]
    NoAnswer(String),
    /// The request could never be made (a URL that cannot be built, or one deskhand does
    /// not call): trying again cannot help.
    #[error("cannot be sent: {0}")]
    Invalid(String),
}

/// Slack errors that mean "try again later" rather than "this will never work".
const TRANSIENT_ERRORS: &[&str] = &[
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

impl SlackError {
    /// Could trying again succeed?
    pub fn is_transient(&self) -> bool {
        match self {
            SlackError::RateLimited(_) | SlackError::Connect(_) | SlackError::NoAnswer(_) => true,
            SlackError::Status(status) => *status >= 500 || *status == 408,
            SlackError::Api(error) => TRANSIENT_ERRORS.contains(&error.as_str()),
            SlackError::Invalid(_) => false,
        }
    }

    /// May the failed call have taken effect? (Then a post must be looked for before it is
    /// sent again.)
    pub fn is_ambiguous(&self) -> bool {
        match self {
            SlackError::NoAnswer(_) => true,
            SlackError::Status(status) => *status >= 500,
            SlackError::Api(error) => error != "ratelimited" && TRANSIENT_ERRORS.contains(&error.as_str()),
            SlackError::RateLimited(_) | SlackError::Connect(_) | SlackError::Invalid(_) => false,
        }
    }
}

/// How a request that got no answer failed: before it left (safe to send again), because
/// it could never be made, or somewhere on the way (it may have reached Slack).
fn request_error(e: reqwest::Error) -> SlackError {
    if e.is_builder() {
        SlackError::Invalid(e.to_string())
    } else if e.is_connect() {
        SlackError::Connect(e.to_string())
    } else {
        SlackError::NoAnswer(e.to_string())
    }
}

/// The metadata event type deskhand tags its posts with.
pub const EFFECT_EVENT_TYPE: &str = "deskhand_effect";

pub fn effect_metadata(effect_id: &str) -> Value {
    serde_json::json!({ "event_type": EFFECT_EVENT_TYPE, "event_payload": { "effect_id": effect_id } })
}

impl SlackApi {
    pub fn new(base_url: &str, token: Option<Secret>, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            // As many as the dispatcher makes at once (64, and what someone waits for
            // beside them): a connection that finishes a call is kept for the next, never
            // closed and opened again. Each open connection holds buffers of its own.
            .pool_max_idle_per_host(80)
            .user_agent(concat!("deskhand/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token,
            app_token: None,
        })
    }

    /// The same client (its connections shared), calling with another workspace's token.
    pub fn with_token(&self, token: Secret) -> Self {
        Self {
            token: Some(token),
            ..self.clone()
        }
    }

    /// Whether calls carry a bot token.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// The bearer token calls carry (empty when there is none: Slack answers `not_authed`).
    fn bearer(&self) -> &str {
        self.token.as_ref().map_or("", Secret::expose)
    }

    /// Where a person approves an install (`oauth/v2/authorize`): beside the Web API,
    /// `https://slack.com/oauth/v2/authorize` for `https://slack.com/api`.
    pub fn authorize_url(&self) -> String {
        let site = self.base_url.strip_suffix("/api").unwrap_or(&self.base_url);
        format!("{site}/oauth/v2/authorize")
    }

    /// Exchange an install's `code` for its bot token (`oauth.v2.access`), with the app's
    /// credentials (HTTP Basic, as Slack prefers).
    pub async fn oauth_v2_access(
        &self,
        client_id: &str,
        client_secret: &str,
        code: &str,
        redirect_uri: &str,
    ) -> Result<OAuthAccess, SlackError> {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("code", code)
            .append_pair("redirect_uri", redirect_uri)
            .finish();
        let request = self
            .http
            .post(self.url("oauth.v2.access"))
            .basic_auth(client_id, Some(client_secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send("oauth.v2.access", request).await
    }

    /// The same client, also able to open Socket Mode connections with `app_token`.
    pub fn with_app_token(self, app_token: Option<Secret>) -> Self {
        Self { app_token, ..self }
    }

    pub fn has_app_token(&self) -> bool {
        self.app_token.is_some()
    }

    /// A Socket Mode websocket URL (`apps.connections.open`, with the app-level token),
    /// checked to be one: `wss://`, or `ws://` only when the Web API itself is plain HTTP
    /// (a local fake).
    pub async fn connections_open(&self) -> Result<String, SlackError> {
        #[derive(Deserialize)]
        struct Opened {
            url: String,
        }
        let Some(app_token) = &self.app_token else {
            return Err(SlackError::Invalid("SLACK_APP_TOKEN is not set".into()));
        };
        let method = "apps.connections.open";
        let request = self.http.post(self.url(method)).bearer_auth(app_token.expose());
        let opened: Opened = self.send(method, request).await?;
        let plain_ok = self.base_url.starts_with("http://");
        if opened.url.starts_with("wss://") || (plain_ok && opened.url.starts_with("ws://")) {
            Ok(opened.url)
        } else {
            Err(SlackError::Invalid(
                "apps.connections.open gave no websocket URL".into(),
            ))
        }
    }

    /// Make one Web API call, counted and timed by method and outcome.
    async fn send<T: DeserializeOwned>(&self, method: &str, request: reqwest::RequestBuilder) -> Result<T, SlackError> {
        let started = std::time::Instant::now();
        let result = self.send_unmeasured(request).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(SlackError::RateLimited(wait)) => {
                metrics::get().rate_limited_wait_seconds.inc_by(wait.as_secs_f64());
                "rate_limited"
            }
            Err(SlackError::Api(_)) => "error",
            Err(SlackError::Status(_)) => "status",
            Err(SlackError::NoAnswer(_)) => "timeout",
            Err(SlackError::Connect(_)) => "unreachable",
            Err(SlackError::Invalid(_)) => "invalid",
        };
        let labels = metrics::call(method, outcome);
        metrics::get().slack_calls.get_or_create(&labels).inc();
        metrics::get()
            .slack_call_seconds
            .get_or_create(&labels)
            .observe(started.elapsed().as_secs_f64());
        result
    }

    async fn send_unmeasured<T: DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> Result<T, SlackError> {
        let response = request.send().await.map_err(request_error)?;
        let status = response.status();
        if status.as_u16() == 429 {
            let wait = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(1);
            return Err(SlackError::RateLimited(Duration::from_secs(wait)));
        }
        if !status.is_success() {
            return Err(SlackError::Status(status.as_u16()));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| SlackError::NoAnswer(e.to_string()))?;
        let value: Value =
            serde_json::from_slice(&body).map_err(|e| SlackError::NoAnswer(format!("unreadable answer: {e}")))?;
        if value["ok"] != Value::Bool(true) {
            let error = value["error"].as_str().unwrap_or("unknown_error").to_owned();
            return Err(SlackError::Api(error));
        }
        serde_json::from_value(value).map_err(|e| SlackError::NoAnswer(format!("unexpected answer: {e}")))
    }

    /// Whether deskhand may POST to a `response_url`: Slack's own hooks
    /// (`https://hooks.slack.com/…`), or the host of the configured Web API (a test's fake
    /// Slack). Anything else (another host, `javascript:`, `file:`, junk) is never called.
    fn is_response_url(&self, url: &str) -> bool {
        let origin = |u: &str| {
            let (scheme, rest) = u.split_once("://")?;
            let host = rest.split('/').next()?;
            (!host.is_empty() && !host.contains(['@', ' ', '\\'])).then(|| format!("{scheme}://{host}/"))
        };
        match origin(url) {
            Some(o) => o == "https://hooks.slack.com/" || origin(&self.base_url).is_some_and(|api| api == o),
            None => false,
        }
    }

    fn url(&self, method: &str) -> String {
        format!("{}/{method}", self.base_url)
    }

    async fn post<T: DeserializeOwned>(&self, method: &str, body: &impl Serialize) -> Result<T, SlackError> {
        self.send(
            method,
            self.http.post(self.url(method)).bearer_auth(self.bearer()).json(body),
        )
        .await
    }

    async fn get<T: DeserializeOwned>(&self, method: &str, query: &[(&str, &str)]) -> Result<T, SlackError> {
        self.send(
            method,
            self.http.get(self.url(method)).bearer_auth(self.bearer()).query(query),
        )
        .await
    }

    pub async fn auth_test(&self) -> Result<AuthTest, SlackError> {
        self.post("auth.test", &serde_json::json!({})).await
    }

    /// The scopes the token has, as Slack lists them with every answer (`x-oauth-scopes`).
    pub async fn granted_scopes(&self) -> Result<Vec<String>, SlackError> {
        let request = self.http.post(self.url("auth.test")).bearer_auth(self.bearer());
        let response = request
            .json(&serde_json::json!({}))
            .send()
            .await
            .map_err(request_error)?;
        if !response.status().is_success() {
            return Err(SlackError::Status(response.status().as_u16()));
        }
        let header = response.headers().get("x-oauth-scopes").and_then(|v| v.to_str().ok());
        Ok(header
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect())
    }

    /// Whether deskhand's bot user is a member of `channel`.
    pub async fn bot_is_member(&self, channel: &str) -> Result<bool, SlackError> {
        let answer: Value = self.get("conversations.info", &[("channel", channel)]).await?;
        Ok(answer["channel"]["is_member"].as_bool().unwrap_or(false))
    }

    pub async fn users_info(&self, user: &str) -> Result<User, SlackError> {
        #[derive(Deserialize)]
        struct Answer {
            user: User,
        }
        let answer: Answer = self.get("users.info", &[("user", user)]).await?;
        Ok(answer.user)
    }

    /// The member with this address (`users.lookupByEmail`); `None` when there is none.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, SlackError> {
        #[derive(Deserialize)]
        struct Answer {
            user: User,
        }
        match self.get::<Answer>("users.lookupByEmail", &[("email", email)]).await {
            Ok(answer) => Ok(Some(answer.user)),
            Err(SlackError::Api(e)) if e == "users_not_found" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Post a message; its `ts`.
    pub async fn post_message(&self, message: &PostMessage<'_>) -> Result<String, SlackError> {
        #[derive(Deserialize)]
        struct Answer {
            ts: String,
        }
        let answer: Answer = self.post("chat.postMessage", message).await?;
        Ok(answer.ts)
    }

    pub async fn update_message(&self, message: &UpdateMessage<'_>) -> Result<(), SlackError> {
        let _: Value = self.post("chat.update", message).await?;
        Ok(())
    }

    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        thread_ts: Option<&str>,
        text: &str,
    ) -> Result<(), SlackError> {
        let mut body = serde_json::json!({ "channel": channel, "user": user, "text": text });
        if let Some(thread_ts) = thread_ts {
            body["thread_ts"] = thread_ts.into();
        }
        let _: Value = self.post("chat.postEphemeral", &body).await?;
        Ok(())
    }

    pub async fn views_open(&self, trigger_id: &str, view: &Value) -> Result<(), SlackError> {
        let _: Value = self
            .post(
                "views.open",
                &serde_json::json!({ "trigger_id": trigger_id, "view": view }),
            )
            .await?;
        Ok(())
    }

    pub async fn views_update(&self, view_id: &str, view: &Value) -> Result<(), SlackError> {
        let _: Value = self
            .post("views.update", &serde_json::json!({ "view_id": view_id, "view": view }))
            .await?;
        Ok(())
    }

    pub async fn views_publish(&self, user: &str, view: &Value) -> Result<(), SlackError> {
        let _: Value = self
            .post("views.publish", &serde_json::json!({ "user_id": user, "view": view }))
            .await?;
        Ok(())
    }

    pub async fn reactions_add(&self, channel: &str, ts: &str, name: &str) -> Result<(), SlackError> {
        let body = serde_json::json!({ "channel": channel, "timestamp": ts, "name": name });
        match self.post::<Value>("reactions.add", &body).await {
            Err(SlackError::Api(error)) if error == "already_reacted" => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// The id of deskhand's DM channel with `user`.
    pub async fn conversations_open(&self, user: &str) -> Result<String, SlackError> {
        #[derive(Deserialize)]
        struct Answer {
            channel: Channel,
        }
        #[derive(Deserialize)]
        struct Channel {
            id: String,
        }
        let answer: Answer = self
            .post("conversations.open", &serde_json::json!({ "users": user }))
            .await?;
        Ok(answer.channel.id)
    }

    /// Everyone in a channel.
    pub async fn conversations_members(&self, channel: &str) -> Result<Vec<String>, SlackError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            members: Vec<String>,
            #[serde(default)]
            response_metadata: Option<ResponseMetadata>,
        }
        let mut members = Vec::new();
        let mut cursor = String::new();
        loop {
            let mut query = vec![("channel", channel), ("limit", "1000")];
            if !cursor.is_empty() {
                query.push(("cursor", &cursor));
            }
            let page: Page = self.get("conversations.members", &query).await?;
            members.extend(page.members);
            cursor = page.response_metadata.map(|m| m.next_cursor).unwrap_or_default();
            if cursor.is_empty() {
                return Ok(members);
            }
        }
    }

    /// The message at `ts`, top-level or inside a thread, with the thread it is in (oldest
    /// first; just the message when it is in none). `None` when Slack has no such message.
    pub async fn fetch_message(&self, channel: &str, ts: &str) -> Result<Option<Vec<FetchedMessage>>, SlackError> {
        // A top-level message is the newest of the history up to and including its ts.
        let page: FetchedPage = self
            .get(
                "conversations.history",
                &[
                    ("channel", channel),
                    ("latest", ts),
                    ("inclusive", "true"),
                    ("limit", "1"),
                ],
            )
            .await?;
        if let Some(message) = page.messages.into_iter().find(|m| m.ts == ts) {
            return Ok(Some(vec![message]));
        }
        // Not top-level: a reply. Read its thread.
        let page: FetchedPage = match self
            .get("conversations.replies", &[("channel", channel), ("ts", ts)])
            .await
        {
            Ok(page) => page,
            Err(SlackError::Api(error)) if error == "thread_not_found" || error == "message_not_found" => {
                return Ok(None)
            }
            Err(e) => return Err(e),
        };
        let Some(parent) = page
            .messages
            .iter()
            .find(|m| m.ts == ts)
            .and_then(|m| m.thread_ts.clone())
        else {
            return Ok(page.messages.into_iter().find(|m| m.ts == ts).map(|m| vec![m]));
        };
        if page.messages.iter().any(|m| m.ts == parent) {
            return Ok(Some(page.messages));
        }
        let page: FetchedPage = self
            .get("conversations.replies", &[("channel", channel), ("ts", &parent)])
            .await?;
        Ok(Some(page.messages))
    }

    pub async fn permalink(&self, channel: &str, ts: &str) -> Result<String, SlackError> {
        #[derive(Deserialize)]
        struct Answer {
            permalink: String,
        }
        let answer: Answer = self
            .get("chat.getPermalink", &[("channel", channel), ("message_ts", ts)])
            .await?;
        Ok(answer.permalink)
    }

    /// Answer a slash command or an interaction through its `response_url`
    /// (<https://api.slack.com/interactivity/handling#message_responses>): a plain `ok`,
    /// not the Web API's JSON.
    pub async fn respond(&self, response_url: &str, body: &Value) -> Result<(), SlackError> {
        if !self.is_response_url(response_url) {
            let shown: String = response_url.chars().take(80).collect();
            return Err(SlackError::Invalid(format!("{shown:?} is not a Slack response_url")));
        }
        let response = self
            .http
            .post(response_url)
            .json(body)
            .send()
            .await
            .map_err(request_error)?;
        match response.status().as_u16() {
            429 => Err(SlackError::RateLimited(Duration::from_secs(1))),
            status if (200..300).contains(&status) => Ok(()),
            404 | 410 => Err(SlackError::Api("expired_url".into())),
            status => Err(SlackError::Status(status)),
        }
    }
}

/// The permalink of a message, written the way Slack writes them, from the workspace URL
/// `auth.test` gave (saves a `chat.getPermalink` call per message).
pub fn permalink(workspace_url: &str, channel: &str, ts: &str, thread_ts: Option<&str>) -> String {
    let base = workspace_url.trim_end_matches('/');
    let id: String = ts.chars().filter(|c| *c != '.').collect();
    match thread_ts {
        Some(thread) if thread != ts => {
            format!("{base}/archives/{channel}/p{id}?thread_ts={thread}&cid={channel}")
        }
        _ => format!("{base}/archives/{channel}/p{id}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn people_are_shown_by_their_real_name_where_slack_has_one() {
        let user = |profile: serde_json::Value| -> User {
            serde_json::from_value(serde_json::json!({ "id": "U1", "name": "ana", "profile": profile })).unwrap()
        };
        assert_eq!(
            user(serde_json::json!({ "display_name": "ana.l", "real_name": "Ana Lima" })).display_name(),
            "Ana Lima"
        );
        assert_eq!(
            user(serde_json::json!({ "display_name": "ana.l", "real_name": " " })).display_name(),
            "ana.l"
        );
        assert_eq!(user(serde_json::json!({})).display_name(), "ana");
    }

    use super::*;

    #[test]
    fn permalinks_are_written_as_slack_writes_them() {
        assert_eq!(
            permalink("https://acme.slack.com/", "C1", "1700000000.000100", None),
            "https://acme.slack.com/archives/C1/p1700000000000100"
        );
        assert_eq!(
            permalink(
                "https://acme.slack.com/",
                "C1",
                "1700000001.000200",
                Some("1700000000.000100")
            ),
            "https://acme.slack.com/archives/C1/p1700000001000200?thread_ts=1700000000.000100&cid=C1"
        );
    }

    #[test]
    fn only_answers_that_may_have_posted_are_ambiguous() {
        assert!(SlackError::NoAnswer("timeout".into()).is_ambiguous());
        assert!(SlackError::Status(502).is_ambiguous());
        assert!(!SlackError::Connect("refused".into()).is_ambiguous());
        assert!(!SlackError::RateLimited(Duration::from_secs(1)).is_ambiguous());
        assert!(!SlackError::Api("channel_not_found".into()).is_transient());
        assert!(SlackError::Api("internal_error".into()).is_transient());
    }
}
