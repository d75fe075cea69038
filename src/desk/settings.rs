//! The workspace's settings, in one typed struct: read once from what is stored, changed
//! only through [`SettingsChange::apply`], which checks every value before anything is
//! written.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::config::{is_user_id, Field, Refusal};
use super::roles::Roles;

/// Days a parked message waits to be filed before it is reported instead, unless an
/// admin chose otherwise.
pub const DEFAULT_RETENTION_DAYS: i64 = 7;
const RETENTION_RANGE: std::ops::RangeInclusive<i64> = 1..=365;
const DAY_MS: i64 = 86_400_000;

/// The workspace-wide facilitator, used by support channels that have none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facilitator {
    pub slack_user_id: String,
    pub authorized_by: String,
    pub authorized_at: i64,
}

/// Every workspace setting, as the admin API shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// Whether agents may set priorities (admins always may).
    pub agents_set_priority: bool,
    /// The project of requests made in a DM or by mention outside support channels.
    pub default_project: Option<String>,
    pub facilitator: Option<Facilitator>,
    /// Days a parked message waits to be filed before it is reported instead.
    pub parked_retention_days: i64,
    /// Admins besides the workspace's owners and admins.
    pub admins: Vec<String>,
    /// Agents besides the members of agent channels.
    pub agents: Vec<String>,
    /// Mail domains whose people only admins may add as customers.
    pub managed_domains: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            agents_set_priority: false,
            default_project: None,
            facilitator: None,
            parked_retention_days: DEFAULT_RETENTION_DAYS,
            admins: Vec::new(),
            agents: Vec::new(),
            managed_domains: Vec::new(),
        }
    }
}

/// The names settings are stored under, each holding JSON.
pub mod keys {
    pub const DEFAULT_PROJECT: &str = "default_project";
    pub const PARKED_RETENTION_DAYS: &str = "parked_retention_days";
    pub const ADMINS: &str = "admins";
    pub const AGENTS: &str = "agents";
    pub const AGENTS_SET_PRIORITY: &str = "agents_set_priority";
    pub const FACILITATOR: &str = "facilitator";
    pub const MANAGED_DOMAINS: &str = "managed_domains";
}

impl Settings {
    /// The settings from their stored (name, JSON) pairs. A value that cannot be read is
    /// taken as unset, so one bad row never stops the desk.
    pub fn from_stored<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut settings = Settings::default();
        for (key, value) in pairs {
            match key {
                keys::DEFAULT_PROJECT => settings.default_project = serde_json::from_str(value).ok(),
                keys::PARKED_RETENTION_DAYS => {
                    if let Ok(days) = value.trim().parse() {
                        settings.parked_retention_days = days;
                    }
                }
                keys::ADMINS => settings.admins = serde_json::from_str(value).unwrap_or_default(),
                keys::AGENTS => settings.agents = serde_json::from_str(value).unwrap_or_default(),
                keys::AGENTS_SET_PRIORITY => settings.agents_set_priority = value.trim() == "true",
                keys::FACILITATOR => settings.facilitator = serde_json::from_str(value).ok(),
                keys::MANAGED_DOMAINS => settings.managed_domains = serde_json::from_str(value).unwrap_or_default(),
                _ => {}
            }
        }
        settings
    }

    /// The settings as stored (name, JSON; `None`: no row), the inverse of
    /// [`Settings::from_stored`].
    pub fn to_stored(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            (keys::DEFAULT_PROJECT, self.default_project.as_ref().and_then(json)),
            (
                keys::PARKED_RETENTION_DAYS,
                Some(self.parked_retention_days.to_string()),
            ),
            (keys::ADMINS, json(&self.admins)),
            (keys::AGENTS, json(&self.agents)),
            (keys::AGENTS_SET_PRIORITY, Some(self.agents_set_priority.to_string())),
            (keys::FACILITATOR, self.facilitator.as_ref().and_then(json)),
            (keys::MANAGED_DOMAINS, json(&self.managed_domains)),
        ]
    }

    /// The stored pairs that differ from `before`'s: what saving `self` must write.
    pub fn changes_since(&self, before: &Settings) -> Vec<(&'static str, Option<String>)> {
        let old = before.to_stored();
        self.to_stored()
            .into_iter()
            .filter(|pair| !old.contains(pair))
            .collect()
    }

    /// Who is an admin or an agent besides what Slack says.
    pub fn roles(&self) -> Roles {
        Roles {
            admins: self.admins.iter().cloned().collect::<HashSet<_>>(),
            agents: self.agents.iter().cloned().collect::<HashSet<_>>(),
            agents_set_priority: self.agents_set_priority,
        }
    }

    /// How long a parked message waits before it is reported, in milliseconds.
    pub fn retention_ms(&self) -> i64 {
        self.parked_retention_days.saturating_mul(DAY_MS)
    }

    /// The project of requests from no support channel: the admin's choice, else the only
    /// project there is.
    pub fn default_project<'a>(&self, projects: &[&'a str]) -> Option<&'a str> {
        match &self.default_project {
            Some(key) => projects.iter().find(|p| **p == key).copied(),
            None if projects.len() == 1 => Some(projects[0]),
            None => None,
        }
    }
}

/// A change an admin asked for: each field left out (`None`) stays as it is;
/// `default_project: Some(None)` (`null`) clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsChange {
    #[serde(default, deserialize_with = "present")]
    pub default_project: Option<Option<String>>,
    pub parked_retention_days: Option<i64>,
    pub admins: Option<Vec<String>>,
    pub agents: Option<Vec<String>>,
    pub agents_set_priority: Option<bool>,
    pub managed_domains: Option<Vec<String>>,
}

impl SettingsChange {
    /// The settings after the change, or why it is refused (nothing of it applies then).
    /// `project_exists`: whether a project key names a project.
    pub fn apply(self, current: &Settings, project_exists: impl Fn(&str) -> bool) -> Result<Settings, Refusal> {
        let mut next = current.clone();
        if let Some(project) = self.default_project {
            if let Some(key) = project.as_deref().filter(|k| !project_exists(k)) {
                return Err(Refusal::invalid(
                    Field::DefaultProject,
                    format!("no project {key}: create it first"),
                ));
            }
            next.default_project = project;
        }
        if let Some(days) = self.parked_retention_days {
            if !RETENTION_RANGE.contains(&days) {
                return Err(Refusal::invalid(
                    Field::ParkedRetentionDays,
                    "parked_retention_days must be 1 to 365",
                ));
            }
            next.parked_retention_days = days;
        }
        for (field, ids, slot) in [
            (Field::Admins, self.admins, &mut next.admins),
            (Field::Agents, self.agents, &mut next.agents),
        ] {
            if let Some(ids) = ids {
                if let Some(bad) = ids.iter().find(|id| !is_user_id(id)) {
                    return Err(Refusal::invalid(
                        field,
                        format!("{}: {bad:?} is not a Slack user id (U… or W…)", field.as_str()),
                    ));
                }
                *slot = ids;
            }
        }
        if let Some(allowed) = self.agents_set_priority {
            next.agents_set_priority = allowed;
        }
        if let Some(domains) = self.managed_domains {
            next.managed_domains = super::customers::normalize_domains(domains)?;
        }
        Ok(next)
    }
}

/// A field that may be given as `null` (clear it) or left out (keep it): `Some(None)` and
/// `None`.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// JSON text of a setting's value (strings, lists of strings, plain structs: they always
/// serialize).
fn json<T: Serialize>(value: &T) -> Option<String> {
    serde_json::to_string(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_what_is_stored_and_write_it_back_the_same() {
        let stored = [
            ("default_project", "\"IT\""),
            ("parked_retention_days", "3"),
            ("admins", "[\"U1\"]"),
            ("agents", "[\"U2\",\"U3\"]"),
            ("agents_set_priority", "true"),
            (
                "facilitator",
                "{\"slack_user_id\":\"U4\",\"authorized_by\":\"admin API\",\"authorized_at\":5}",
            ),
        ];
        let settings = Settings::from_stored(stored);
        assert_eq!(settings.default_project.as_deref(), Some("IT"));
        assert_eq!(settings.retention_ms(), 3 * DAY_MS);
        assert!(settings.roles().is_agent("U3", false) && settings.roles().is_admin("U1", false));
        assert_eq!(
            settings.facilitator.as_ref().map(|f| f.slack_user_id.as_str()),
            Some("U4")
        );
        let again: Vec<(&str, Option<String>)> = settings.to_stored();
        let pairs: Vec<(&str, &str)> = again
            .iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v)))
            .collect();
        assert_eq!(Settings::from_stored(pairs), settings);
    }

    #[test]
    fn unreadable_or_missing_settings_are_the_defaults() {
        let settings = Settings::from_stored([("admins", "not json"), ("parked_retention_days", "x")]);
        assert_eq!(settings, Settings::default());
        assert_eq!(settings.parked_retention_days, DEFAULT_RETENTION_DAYS);
    }

    #[test]
    fn the_default_project_is_the_admins_choice_else_the_only_one() {
        let mut settings = Settings::default();
        assert_eq!(settings.default_project(&["IT"]), Some("IT"));
        assert_eq!(settings.default_project(&["HR", "IT"]), None);
        settings.default_project = Some("IT".into());
        assert_eq!(settings.default_project(&["HR", "IT"]), Some("IT"));
        assert_eq!(settings.default_project(&["HR"]), None, "a project since removed");
    }

    #[test]
    fn a_change_is_checked_whole_and_keeps_what_it_leaves_out() {
        let current = Settings {
            admins: vec!["U1".into()],
            ..Settings::default()
        };
        let exists = |k: &str| k == "IT";
        let change = SettingsChange {
            default_project: Some(Some("IT".into())),
            ..SettingsChange::default()
        };
        let next = change.apply(&current, exists).unwrap();
        assert_eq!(next.default_project.as_deref(), Some("IT"));
        assert_eq!(next.admins, vec!["U1".to_owned()], "left out, kept");
        assert_eq!(
            next.changes_since(&current),
            vec![("default_project", Some("\"IT\"".into()))]
        );
        for bad in [
            SettingsChange {
                default_project: Some(Some("HR".into())),
                ..SettingsChange::default()
            },
            SettingsChange {
                parked_retention_days: Some(0),
                ..SettingsChange::default()
            },
            SettingsChange {
                parked_retention_days: Some(366),
                ..SettingsChange::default()
            },
            SettingsChange {
                agents: Some(vec!["C1".into()]),
                ..SettingsChange::default()
            },
        ] {
            assert!(bad.clone().apply(&current, exists).is_err(), "{bad:?}");
        }
        let cleared = SettingsChange {
            default_project: Some(None),
            ..SettingsChange::default()
        };
        assert_eq!(cleared.apply(&next, exists).unwrap().default_project, None);
    }
}
