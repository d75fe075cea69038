//! Rules about requests once the desk knows who acts: who a request belongs to, who may
//! close it, what a status change tells whom, how a ticket is named, and when a parked
//! message has waited too long.

use super::config::ChannelKind;
use super::identity::Unverified;
use super::workflow::{Category, Status, Workflow};

/// A ticket's key in the built-in store: its project's key and its number (`IT-42`).
pub fn ticket_key(project: &str, number: i64) -> String {
    format!("{project}-{number}")
}

/// Whether a message parked at `parked_at` has waited past the retention at `now`.
pub fn parked_expired(parked_at: i64, now: i64, retention_ms: i64) -> bool {
    parked_at < now.saturating_sub(retention_ms)
}

/// Whose a request filed by someone for another person is: the person's own, when the desk
/// can link them; else the filer's, on the person's behalf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requester {
    Intended,
    FilerOnBehalf,
}

pub fn requester_for(intended_is_verified: bool) -> Requester {
    if intended_is_verified {
        Requester::Intended
    } else {
        Requester::FilerOnBehalf
    }
}

/// Who files for someone the desk cannot link, in a channel of `kind`: its facilitator
/// (the channel's own, else the workspace's), when they may be facilitated at all and the
/// facilitator is a verified person. Facilitation exists in support channels only.
pub fn facilitator_for<'a>(
    kind: ChannelKind,
    own: Option<&'a str>,
    workspace: Option<&'a str>,
    is_verified: impl Fn(&str) -> bool,
) -> Option<&'a str> {
    if kind != ChannelKind::Support {
        return None;
    }
    own.or(workspace).filter(|id| is_verified(id))
}

/// Whether a channel's requesting defaults (department, request type, priority, agent
/// channel) apply to a request: only a support channel's, and only to requests in its own
/// project. A department the requester chose wins over the channel's (the caller keeps it).
pub fn channel_defaults_apply(kind: ChannelKind, channel_project: Option<&str>, request_project: &str) -> bool {
    kind == ChannelKind::Support && channel_project == Some(request_project)
}

/// Whether an unverified person's words reach the desk through a facilitator here.
pub fn facilitated(reason: Unverified, facilitator: Option<&str>) -> bool {
    facilitator.is_some() && reason.can_be_facilitated()
}

/// Why someone may not close a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseRefusal {
    /// Only the requester closes; agents resolve from their card.
    NotTheRequester { requester: String },
    /// The project's workflow has no status a requester may close with.
    NoSelfClose { project: String },
}

impl CloseRefusal {
    pub fn explanation(&self, ticket_key: &str) -> String {
        match self {
            CloseRefusal::NotTheRequester { requester } => format!(
                "Only <@{requester}>, who asked, can close {ticket_key}. Agents resolve requests from their card."
            ),
            CloseRefusal::NoSelfClose { project } => {
                format!("{project}'s requests are closed by the help desk; ask in the thread.")
            }
        }
    }
}

/// A requester's Close: the status it moves the request to (`None`: already done, nothing
/// to do), or why it is refused.
pub fn close<'w>(
    workflow: &'w Workflow,
    project: &str,
    requester: &str,
    user: &str,
    done: bool,
) -> Result<Option<&'w Status>, CloseRefusal> {
    if requester != user {
        return Err(CloseRefusal::NotTheRequester {
            requester: requester.to_owned(),
        });
    }
    let status = workflow.self_close().ok_or_else(|| CloseRefusal::NoSelfClose {
        project: project.to_owned(),
    })?;
    Ok((!done).then_some(status))
}

/// What a status change causes besides itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusNews {
    /// Mark the request's own message done (✅): not for a form's request, which has none.
    pub mark_message_done: bool,
    /// Tell the requester in a DM: when someone else changed it, the change was made by
    /// the help desk, and the requester has not turned notifications off.
    pub notify_requester: bool,
}

pub fn status_news(
    to: Category,
    from_form: bool,
    by_help_desk: bool,
    actor_is_requester: bool,
    notifications_on: bool,
) -> StatusNews {
    StatusNews {
        mark_message_done: to == Category::Done && !from_form,
        notify_requester: by_help_desk && !actor_is_requester && notifications_on,
    }
}

/// A message's text without the mention of deskhand.
pub fn without_mention(text: &str, bot_user: &str) -> String {
    text.replace(&format!("<@{bot_user}>"), "").trim().to_owned()
}

/// What a mention files as its summary: its own words, or "@deskhand" alone under a
/// question, the question.
pub fn mention_summary<'a>(words: &'a str, thread_parent: Option<&'a str>) -> &'a str {
    match (words.trim().is_empty(), thread_parent) {
        (true, Some(parent)) => parent,
        _ => words,
    }
}

/// A reply's text followed by what was said before it in its thread: (who, what) pairs,
/// oldest first.
pub fn with_context(text: &str, earlier: &[(String, String)]) -> String {
    if earlier.is_empty() {
        return text.to_owned();
    }
    let lines: Vec<String> = earlier.iter().map(|(who, what)| format!("{who}: {what}")).collect();
    format!("{text}\n\nEarlier in the thread:\n{}", lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_are_named_by_project_and_number() {
        assert_eq!(ticket_key("IT", 42), "IT-42");
    }

    #[test]
    fn a_parked_message_expires_after_the_retention() {
        assert!(!parked_expired(1_000, 1_500, 1_000));
        assert!(parked_expired(1_000, 2_001, 1_000));
        assert!(!parked_expired(0, i64::MIN, 1), "no overflow");
    }

    #[test]
    fn a_channels_defaults_apply_to_its_own_projects_requests_only() {
        assert!(channel_defaults_apply(ChannelKind::Support, Some("IT"), "IT"));
        assert!(!channel_defaults_apply(ChannelKind::Support, Some("IT"), "HR"));
        assert!(!channel_defaults_apply(ChannelKind::Agent, None, "IT"));
    }

    #[test]
    fn a_request_for_someone_is_theirs_only_when_they_can_be_linked() {
        assert_eq!(requester_for(true), Requester::Intended);
        assert_eq!(requester_for(false), Requester::FilerOnBehalf);
    }

    #[test]
    fn facilitators_serve_support_channels_the_channels_own_first_and_must_be_verified() {
        let verified = |id: &str| id != "UGUEST";
        assert_eq!(
            facilitator_for(ChannelKind::Support, Some("U1"), Some("U2"), verified),
            Some("U1")
        );
        assert_eq!(
            facilitator_for(ChannelKind::Support, None, Some("U2"), verified),
            Some("U2")
        );
        assert_eq!(
            facilitator_for(ChannelKind::Agent, Some("U1"), Some("U2"), verified),
            None
        );
        assert_eq!(
            facilitator_for(ChannelKind::Support, Some("UGUEST"), Some("U2"), verified),
            None
        );
        assert!(facilitated(Unverified::Guest, Some("U1")));
        assert!(!facilitated(Unverified::Guest, None));
        assert!(!facilitated(Unverified::Bot, Some("U1")), "bots are never facilitated");
    }

    #[test]
    fn only_the_requester_closes_and_only_where_the_workflow_allows() {
        let workflow = Workflow::default();
        let status = close(&workflow, "IT", "U1", "U1", false).unwrap().unwrap();
        assert_eq!(Some(status), workflow.self_close());
        assert_eq!(close(&workflow, "IT", "U1", "U1", true), Ok(None), "already done");
        let refusal = close(&workflow, "IT", "U1", "U2", false).unwrap_err();
        assert!(refusal
            .explanation("IT-1")
            .starts_with("Only <@U1>, who asked, can close IT-1."));
        let strict = Workflow {
            self_close: None,
            ..Workflow::default()
        };
        let refusal = close(&strict, "IT", "U1", "U1", false).unwrap_err();
        assert_eq!(refusal, CloseRefusal::NoSelfClose { project: "IT".into() });
    }

    #[test]
    fn a_status_change_marks_done_messages_and_tells_the_requester_of_others_changes() {
        let news = status_news(Category::Done, false, true, false, true);
        assert!(news.mark_message_done && news.notify_requester);
        assert!(
            !status_news(Category::Done, true, true, false, true).mark_message_done,
            "a form has no message"
        );
        assert!(
            !status_news(Category::Open, false, true, true, true).notify_requester,
            "their own change"
        );
        assert!(
            !status_news(Category::Open, false, true, false, false).notify_requester,
            "notifications off"
        );
        assert!(
            !status_news(Category::Done, false, false, false, true).notify_requester,
            "the requester closed it"
        );
    }

    #[test]
    fn a_mention_files_its_words_or_the_question_above_it() {
        assert_eq!(
            without_mention("<@UBOT> printer is jammed", "UBOT"),
            "printer is jammed"
        );
        assert_eq!(mention_summary("", Some("Is the VPN down?")), "Is the VPN down?");
        assert_eq!(mention_summary("help", Some("Is the VPN down?")), "help");
        assert_eq!(mention_summary("", None), "");
        assert_eq!(with_context("help", &[]), "help");
        assert_eq!(
            with_context("help", &[("Ana".into(), "VPN down?".into())]),
            "help\n\nEarlier in the thread:\nAna: VPN down?"
        );
    }
}
