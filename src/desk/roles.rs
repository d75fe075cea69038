//! Who may do what: admins, agents, and everyone else (requesters).
//!
//! Slack says who is a workspace owner or admin and who is in an agent channel; the
//! admins' settings add people to both and may let agents set priorities.

use std::collections::HashSet;

/// The admins' settings about people.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles {
    /// Admins besides the workspace's owners and admins.
    pub admins: HashSet<String>,
    /// Agents besides the members of agent channels.
    pub agents: HashSet<String>,
    /// Whether agents may set priorities (admins always may).
    pub agents_set_priority: bool,
}

impl Roles {
    /// A deskhand admin: a workspace owner or admin, or named in the settings.
    pub fn is_admin(&self, user: &str, workspace_admin: bool) -> bool {
        workspace_admin || self.admins.contains(user)
    }

    /// An agent: a member of an agent channel, or named in the settings.
    pub fn is_agent(&self, user: &str, in_agent_channel: bool) -> bool {
        in_agent_channel || self.agents.contains(user)
    }

    /// Who may set a request's priority: admins, and agents when the admins allow it.
    pub fn may_set_priority(&self, admin: bool, agent: bool) -> bool {
        admin || (agent && self.agents_set_priority)
    }
}

/// Whether someone may see a request: its requester, who filed it, and agents.
pub fn may_see(requester: &str, reporter: Option<&str>, user: &str, agent: bool) -> bool {
    requester == user || reporter == Some(user) || agent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_add_admins_and_agents_and_may_let_agents_set_priorities() {
        let mut roles = Roles {
            admins: ["U1".to_owned()].into(),
            agents: ["U2".to_owned()].into(),
            agents_set_priority: false,
        };
        assert!(roles.is_admin("U1", false) && roles.is_admin("U9", true) && !roles.is_admin("U2", false));
        assert!(roles.is_agent("U2", false) && roles.is_agent("U9", true) && !roles.is_agent("U1", false));
        assert!(roles.may_set_priority(true, false));
        assert!(!roles.may_set_priority(false, true));
        roles.agents_set_priority = true;
        assert!(roles.may_set_priority(false, true));
        assert!(!roles.may_set_priority(false, false), "requesters never set priorities");
    }

    #[test]
    fn a_request_is_seen_by_its_requester_its_reporter_and_agents() {
        assert!(may_see("U1", None, "U1", false));
        assert!(may_see("U1", Some("U2"), "U2", false));
        assert!(may_see("U1", None, "U3", true));
        assert!(!may_see("U1", Some("U2"), "U3", false));
    }
}
