//! Who is acting: the identity rule. A full member of the workspace with an email is
//! verified and linked to a desk person by that email; anyone else is unverified, with
//! a reason the person is told in plain words.

/// What the desk needs to know about a Slack user to decide who they are.
#[derive(Debug, Clone, Copy)]
pub struct SlackProfile<'a> {
    pub team_id: &'a str,
    pub is_bot: bool,
    pub is_restricted: bool,
    pub is_ultra_restricted: bool,
    pub deleted: bool,
    pub email: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unverified {
    /// A multi- or single-channel guest.
    Guest,
    /// Someone from another workspace (Slack Connect).
    OtherWorkspace,
    /// A member whose profile shows no email, so no desk person can be linked.
    NoEmail,
    Deactivated,
    Bot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification<'a> {
    /// Linked to the desk person with this email.
    Verified {
        email: &'a str,
    },
    Unverified(Unverified),
}

/// The identity rule for a Slack user of the workspace `workspace_team`.
pub fn verify<'a>(profile: &SlackProfile<'a>, workspace_team: &str) -> Verification<'a> {
    let reason = if profile.is_bot {
        Unverified::Bot
    } else if profile.deleted {
        Unverified::Deactivated
    } else if profile.team_id != workspace_team {
        Unverified::OtherWorkspace
    } else if profile.is_restricted || profile.is_ultra_restricted {
        Unverified::Guest
    } else {
        match profile.email.filter(|e| e.contains('@')) {
            Some(email) => return Verification::Verified { email },
            None => Unverified::NoEmail,
        }
    };
    Verification::Unverified(reason)
}

impl Unverified {
    pub fn as_str(self) -> &'static str {
        match self {
            Unverified::Guest => "guest",
            Unverified::OtherWorkspace => "other_workspace",
            Unverified::NoEmail => "no_email",
            Unverified::Deactivated => "deactivated",
            Unverified::Bot => "bot",
        }
    }

    /// Whether a facilitator may act for this person: guests, people from other
    /// organizations and members without a visible email, not bots or deactivated accounts.
    pub fn can_be_facilitated(self) -> bool {
        matches!(
            self,
            Unverified::Guest | Unverified::OtherWorkspace | Unverified::NoEmail
        )
    }

    /// What the person is told, privately, when their message could not be filed.
    pub fn explanation(self) -> &'static str {
        match self {
            Unverified::Guest => {
                "I couldn't file your message as a request: guest accounts aren't linked to the help desk yet. \
                 Your message is saved and will be filed as soon as a help-desk admin gives you access \
                 or sets up guest facilitation in this channel. You can also ask a teammate to raise it for you."
            }
            Unverified::OtherWorkspace => {
                "I couldn't file your message as a request: people from other organizations aren't linked to \
                 this help desk yet. Your message is saved and will be filed as soon as an agent adds you as a \
                 customer or an admin sets up guest facilitation in this channel."
            }
            Unverified::NoEmail => {
                "I couldn't file your message as a request: your Slack profile shows no email address, so the \
                 help desk can't tell who you are. Your message is saved; ask a help-desk admin to check the \
                 app's access to emails, and it will be filed."
            }
            Unverified::Deactivated | Unverified::Bot => "This account can't file help-desk requests.",
        }
    }

    /// What the person is told when they ask outside a support channel (a DM, a shortcut,
    /// a form, a command), where nothing is kept for them: there, only linked people are
    /// helped.
    pub fn refusal(self) -> &'static str {
        match self {
            Unverified::Guest | Unverified::OtherWorkspace => {
                "I can't take your request here: your account isn't linked to the help desk. \
                 Ask in one of the help desk's support channels instead, where it can reach the agents, \
                 or ask a help-desk admin for access."
            }
            Unverified::NoEmail => {
                "I can't take your request: your Slack profile shows no email address, so the help desk \
                 can't tell who you are. Ask a help-desk admin to check the app's access to emails."
            }
            Unverified::Deactivated | Unverified::Bot => "This account can't file help-desk requests.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member<'a>() -> SlackProfile<'a> {
        SlackProfile {
            team_id: "T1",
            is_bot: false,
            is_restricted: false,
            is_ultra_restricted: false,
            deleted: false,
            email: Some("ana@example.com"),
        }
    }

    #[test]
    fn a_full_member_with_an_email_is_verified() {
        assert_eq!(
            verify(&member(), "T1"),
            Verification::Verified {
                email: "ana@example.com"
            }
        );
    }

    #[test]
    fn guests_outsiders_and_emailless_members_are_not() {
        let guest = SlackProfile {
            is_restricted: true,
            ..member()
        };
        let single = SlackProfile {
            is_ultra_restricted: true,
            ..member()
        };
        let outsider = SlackProfile {
            team_id: "T2",
            ..member()
        };
        let no_email = SlackProfile {
            email: None,
            ..member()
        };
        assert_eq!(verify(&guest, "T1"), Verification::Unverified(Unverified::Guest));
        assert_eq!(verify(&single, "T1"), Verification::Unverified(Unverified::Guest));
        assert_eq!(
            verify(&outsider, "T1"),
            Verification::Unverified(Unverified::OtherWorkspace)
        );
        assert_eq!(verify(&no_email, "T1"), Verification::Unverified(Unverified::NoEmail));
    }
}
