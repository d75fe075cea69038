//! The portal's rules: per project, whether it has a portal, whose tickets a person sees
//! there, and which of a ticket's fields the portal shows.

use serde::{Deserialize, Serialize};

/// Whether a project's tickets are on the portal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortalMode {
    /// Signed-in people see what is theirs.
    Private,
    #[default]
    None,
}

/// Which of a project's tickets a signed-in person sees.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortalVisibility {
    /// Their own requests, and those they participate in.
    #[default]
    Own,
    /// Also the requests of anyone in one of their organizations.
    Organization,
    /// Every ticket of the projects they follow.
    Followed,
}

impl PortalVisibility {
    pub fn as_str(self) -> &'static str {
        match self {
            PortalVisibility::Own => "own",
            PortalVisibility::Organization => "organization",
            PortalVisibility::Followed => "followed",
        }
    }
}

/// A field of a ticket the portal may show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortalField {
    Status,
    Priority,
    Assignee,
    Department,
    RequestType,
    Participants,
}

impl PortalField {
    pub fn label(self) -> &'static str {
        match self {
            PortalField::Status => "Status",
            PortalField::Priority => "Priority",
            PortalField::Assignee => "Assignee",
            PortalField::Department => "Department",
            PortalField::RequestType => "Request type",
            PortalField::Participants => "Participants",
        }
    }
}

fn default_fields() -> Vec<PortalField> {
    vec![PortalField::Status, PortalField::Priority, PortalField::Assignee]
}

/// A project's portal, as an admin sets it (`portal` of `PUT /projects/{key}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalSettings {
    pub mode: PortalMode,
    #[serde(default)]
    pub visibility: PortalVisibility,
    /// Shown on a ticket's page, in this order (the status always is).
    #[serde(default = "default_fields")]
    pub fields: Vec<PortalField>,
}

impl Default for PortalSettings {
    fn default() -> Self {
        Self {
            mode: PortalMode::None,
            visibility: PortalVisibility::Own,
            fields: default_fields(),
        }
    }
}

impl PortalSettings {
    /// As stored (`None`: no portal).
    pub fn from_stored(json: Option<&str>) -> Self {
        json.and_then(|j| serde_json::from_str(j).ok()).unwrap_or_default()
    }

    pub fn is_private(&self) -> bool {
        self.mode == PortalMode::Private
    }

    /// Whether the page shows `field`.
    pub fn shows(&self, field: PortalField) -> bool {
        field == PortalField::Status || self.fields.contains(&field)
    }
}

/// The inbox key prefix of a requester's "Close" on the portal (the worker closes it as
/// it closes one from Slack).
pub const CLOSE_KEY_PREFIX: &str = "portal:close:";
/// The inbox key prefix of a requester's reply on the portal (recorded already; the
/// worker tells the card and resumes a request that waited for them).
pub const REPLY_KEY_PREFIX: &str = "portal:reply:";

/// How long a sign-in link works, in milliseconds.
pub const LINK_LIFETIME_MS: i64 = 15 * 60 * 1000;
/// How long a session lasts without a visit, in milliseconds.
pub const SESSION_IDLE_MS: i64 = 7 * 24 * 3_600_000;
/// How many links one address may ask for, and from one client, per hour.
pub const LINKS_PER_HOUR: i64 = 5;

/// Where to go back to after signing in: a portal path, never another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with("/portal") && !path.contains("//") && !path.contains('\\') => path.to_owned(),
        _ => "/portal".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_has_no_portal_until_an_admin_makes_it_private() {
        assert!(!PortalSettings::from_stored(None).is_private());
        let set: PortalSettings = serde_json::from_str(r#"{"mode": "private", "fields": ["department"]}"#).unwrap();
        assert!(set.is_private() && set.visibility == PortalVisibility::Own);
        assert!(set.shows(PortalField::Status) && set.shows(PortalField::Department));
        assert!(!set.shows(PortalField::Assignee));
        assert!(serde_json::from_str::<PortalSettings>(r#"{"mode": "public"}"#).is_err());
        let stored = serde_json::to_string(&set).unwrap();
        assert_eq!(PortalSettings::from_stored(Some(&stored)), set);
    }

    #[test]
    fn after_signing_in_one_goes_back_to_a_portal_page_only() {
        assert_eq!(safe_next(Some("/portal/tickets/IT-3")), "/portal/tickets/IT-3");
        for elsewhere in [
            None,
            Some("https://evil.example/"),
            Some("//evil.example"),
            Some("/portal//evil"),
            Some("/api/v1"),
        ] {
            assert_eq!(safe_next(elsewhere), "/portal", "{elsewhere:?}");
        }
    }
}
