//! Effects: what a change asks of the outside world, as data. The worker writes them to
//! the outbox in the change's own transaction; the dispatcher hands each to the sender of
//! its [`Target`]: Slack, Jira Service Management, or mail.

use serde::{Deserialize, Serialize};

/// Which outside system carries an effect out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Slack,
    /// Mail through `DESKHAND_SMTP_URL`.
    Email,
    /// The Jira Service Management service desk of the ticket's project.
    Jira,
}

/// A parked message listed in a report to agents: who wrote it and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkedLine {
    pub user: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Effect {
    /// Answer the requester in the thread of the message that filed the ticket.
    PostThreadReply { ticket_id: i64 },
    /// Post the ticket's card in its agent channel.
    PostAgentCard { ticket_id: i64, channel: String },
    /// Show the ticket's current state in the thread reply (latest state, once).
    RefreshThreadReply { ticket_id: i64 },
    /// Show the ticket's current state on the agent card.
    RefreshAgentCard { ticket_id: i64 },
    /// Tell one person something privately.
    PostEphemeral {
        channel: String,
        user: String,
        thread_ts: Option<String>,
        text: String,
    },
    /// Post a plain message (in a thread when `thread_ts` is given): answers in DMs.
    PostText {
        channel: String,
        thread_ts: Option<String>,
        text: String,
    },
    /// Open a modal with a trigger (valid for 3 seconds: it goes out at once).
    OpenView {
        trigger_id: String,
        view: serde_json::Value,
    },
    /// Replace an open modal.
    UpdateView { view_id: String, view: serde_json::Value },
    /// Show in a submitted form's modal that its request was filed.
    ShowFiled { view_id: String, ticket_id: i64 },
    /// Answer a slash command or a button privately, through its `response_url`.
    Respond {
        response_url: String,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        blocks: Option<serde_json::Value>,
    },
    /// Show a person's current requests on deskhand's Home tab, and to an agent their queue.
    PublishHome {
        user: String,
        #[serde(default)]
        agent: bool,
    },
    /// Mark a message with an emoji.
    AddReaction { channel: String, ts: String, name: String },
    /// Show an agent's public reply in the request's own thread (its message's, or its DM's).
    PostReply { ticket_id: i64, text: String },
    /// Tell a requester, in their DM with deskhand, what happened to their request.
    Notify { user: String, ticket_id: i64, text: String },
    /// Tell a support channel's agents that a person's message there could not be handled
    /// and was set aside (listed in the admin API's inbox), with why.
    ReportSetAside {
        agent_channel: String,
        channel: String,
        user: String,
        text: String,
        error: String,
    },
    /// Post in the thread of the ticket's agent card: an internal note, a requester's
    /// reply, a status change. Nothing when the ticket has no card.
    PostCardNote { ticket_id: i64, text: String },
    /// Tell an agent or a manager, in their DM with deskhand, about a ticket, with a link
    /// to its card.
    NotifyAgent { user: String, ticket_id: i64, text: String },
    /// Ask an approver, in their DM with deskhand, to approve or decline a request.
    AskApproval { user: String, ticket_id: i64 },
    /// Ask a ticket's requester how its `resolution`-th resolution went.
    AskSatisfaction { ticket_id: i64, resolution: i64 },
    /// Answer `/desk report`: the last 7 days, overall and of `user`, computed when sent.
    RespondReport { response_url: String, user: String },
    /// Mail someone known by their Slack id (their address is looked up when sent).
    Email {
        slack_user_id: String,
        subject: String,
        body: String,
    },
    /// Mail an address directly (a customer outside Slack); with a participant's reply
    /// token, answering the mail answers the ticket.
    MailTo {
        address: String,
        subject: String,
        body: String,
        #[serde(default)]
        reply_token: Option<String>,
    },
    /// Add a customer as `by` asked in Slack (`admin`: they may add managed domains), and
    /// answer them through `response_url`.
    AddCustomer {
        email: String,
        name: Option<String>,
        by: String,
        by_name: String,
        admin: bool,
        response_url: String,
    },
    /// Add a participant to a ticket as agent `by` asked on its card; the card's thread
    /// hears of it, or the agent why not.
    AddParticipant {
        ticket_key: String,
        person: String,
        confirm: bool,
        by: String,
        by_name: String,
    },
    /// A message in `user`'s DM with deskhand, about no ticket (an announcement).
    DirectMessage { user: String, text: String },
    /// Raise the ticket as a customer request in its project's service desk.
    JiraCreate { ticket_id: i64 },
    /// Add one of the ticket's comments to its Jira request, public or internal as it is.
    JiraComment { ticket_id: i64, comment_id: i64 },
    /// Move the ticket's Jira issue to `status`.
    JiraTransition { ticket_id: i64, status: String },
    /// Give the Jira issue the ticket's priority.
    JiraPriority { ticket_id: i64 },
    /// Assign the Jira issue to the ticket's assignee (their account, found by email).
    JiraAssign { ticket_id: i64 },
    /// Ask, in Slack, the approvers of the approvals Jira waits for on the ticket (once
    /// each), with a link: only their own Jira account can answer.
    JiraApprovals { ticket_id: i64 },
    /// Add a person (by email) as a participant of the ticket's Jira request.
    JiraParticipant { ticket_id: i64, email: String },
    /// Tell a support channel's agents (in `agent_channel`) which parked messages of
    /// `channel` waited past the retention and were not filed.
    ReportParked {
        agent_channel: String,
        channel: String,
        messages: Vec<ParkedLine>,
    },
}

/// The roles of messages deskhand posts about a ticket.
pub const THREAD_REPLY: &str = "thread_reply";
pub const AGENT_CARD: &str = "agent_card";

impl Effect {
    pub fn kind(&self) -> &'static str {
        match self {
            Effect::PostThreadReply { .. } => "post_thread_reply",
            Effect::PostAgentCard { .. } => "post_agent_card",
            Effect::RefreshThreadReply { .. } => "refresh_thread_reply",
            Effect::RefreshAgentCard { .. } => "refresh_agent_card",
            Effect::PostEphemeral { .. } => "post_ephemeral",
            Effect::PostText { .. } => "post_text",
            Effect::OpenView { .. } => "open_view",
            Effect::UpdateView { .. } => "update_view",
            Effect::ShowFiled { .. } => "show_filed",
            Effect::Respond { .. } => "respond",
            Effect::PublishHome { .. } => "publish_home",
            Effect::AddReaction { .. } => "add_reaction",
            Effect::Notify { .. } => "notify",
            Effect::PostReply { .. } => "post_reply",
            Effect::ReportParked { .. } => "report_parked",
            Effect::ReportSetAside { .. } => "report_set_aside",
            Effect::PostCardNote { .. } => "post_card_note",
            Effect::NotifyAgent { .. } => "notify_agent",
            Effect::AskApproval { .. } => "ask_approval",
            Effect::AskSatisfaction { .. } => "ask_satisfaction",
            Effect::Email { .. } => "email",
            Effect::MailTo { .. } => "mail_to",
            Effect::DirectMessage { .. } => "direct_message",
            Effect::AddCustomer { .. } => "add_customer",
            Effect::AddParticipant { .. } => "add_participant",
            Effect::RespondReport { .. } => "respond_report",
            Effect::JiraCreate { .. } => "jira_create",
            Effect::JiraComment { .. } => "jira_comment",
            Effect::JiraTransition { .. } => "jira_transition",
            Effect::JiraPriority { .. } => "jira_priority",
            Effect::JiraAssign { .. } => "jira_assign",
            Effect::JiraApprovals { .. } => "jira_approvals",
            Effect::JiraParticipant { .. } => "jira_participant",
        }
    }

    /// Whether someone waits for it right now: a modal to open (its trigger lives 3 s), a
    /// modal to update, a private answer. It goes before the backlog.
    pub fn urgent(&self) -> bool {
        matches!(
            self,
            Effect::OpenView { .. }
                | Effect::UpdateView { .. }
                | Effect::ShowFiled { .. }
                | Effect::Respond { .. }
                | Effect::AddCustomer { .. }
        )
    }

    /// The outside system that carries it out.
    pub fn target(&self) -> Target {
        match self {
            Effect::Email { .. } | Effect::MailTo { .. } => Target::Email,
            Effect::JiraCreate { .. }
            | Effect::JiraComment { .. }
            | Effect::JiraTransition { .. }
            | Effect::JiraPriority { .. }
            | Effect::JiraAssign { .. }
            | Effect::JiraApprovals { .. }
            | Effect::JiraParticipant { .. } => Target::Jira,
            _ => Target::Slack,
        }
    }

    /// Effects on one Slack message run in order (post before update); effects on
    /// different messages run side by side.
    pub fn order_key(&self, effect_id: &str) -> String {
        match self {
            Effect::PostThreadReply { ticket_id } | Effect::RefreshThreadReply { ticket_id } => {
                format!("ticket:{ticket_id}:{THREAD_REPLY}")
            }
            // Notes and links to the card come after the card.
            Effect::PostAgentCard { ticket_id, .. }
            | Effect::RefreshAgentCard { ticket_id }
            | Effect::PostCardNote { ticket_id, .. }
            | Effect::NotifyAgent { ticket_id, .. } => format!("ticket:{ticket_id}:{AGENT_CARD}"),
            Effect::AskApproval { user, .. } => format!("dm:{user}"),
            // A request is raised before anything is said on it, each change in its turn.
            Effect::JiraCreate { ticket_id }
            | Effect::JiraComment { ticket_id, .. }
            | Effect::JiraTransition { ticket_id, .. }
            | Effect::JiraPriority { ticket_id }
            | Effect::JiraAssign { ticket_id }
            | Effect::JiraApprovals { ticket_id }
            | Effect::JiraParticipant { ticket_id, .. } => format!("jira:{ticket_id}"),
            Effect::AskSatisfaction { ticket_id, .. } => format!("survey:{ticket_id}"),
            // The filed view shows the ticket's link, known once its thread reply is posted.
            Effect::ShowFiled { ticket_id, .. } => format!("ticket:{ticket_id}:{THREAD_REPLY}"),
            Effect::UpdateView { view_id, .. } => format!("view:{view_id}"),
            Effect::PublishHome { user, .. } => format!("home:{user}"),
            Effect::Notify { user, .. } | Effect::DirectMessage { user, .. } => format!("dm:{user}"),
            Effect::PostText { channel, .. }
            | Effect::ReportParked {
                agent_channel: channel, ..
            }
            | Effect::ReportSetAside {
                agent_channel: channel, ..
            } => format!("text:{channel}"),
            // After the thread reply that starts a form's thread.
            Effect::PostReply { ticket_id, .. } => format!("ticket:{ticket_id}:{THREAD_REPLY}"),
            Effect::PostEphemeral { .. }
            | Effect::OpenView { .. }
            | Effect::Respond { .. }
            | Effect::AddReaction { .. }
            | Effect::Email { .. }
            | Effect::MailTo { .. }
            | Effect::AddCustomer { .. }
            | Effect::AddParticipant { .. }
            | Effect::RespondReport { .. } => format!("once:{effect_id}"),
        }
    }

    /// A refresh that has not started yet covers any later one: it renders the state of
    /// the moment it runs.
    pub fn coalesce_key(&self) -> Option<String> {
        match self {
            Effect::RefreshThreadReply { ticket_id } => Some(format!("refresh:{ticket_id}:{THREAD_REPLY}")),
            Effect::RefreshAgentCard { ticket_id } => Some(format!("refresh:{ticket_id}:{AGENT_CARD}")),
            Effect::PublishHome { user, .. } => Some(format!("home:{user}")),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effects_round_trip_and_refreshes_coalesce_per_message() {
        let effect = Effect::RefreshAgentCard { ticket_id: 3 };
        let json = serde_json::to_string(&effect).unwrap();
        assert_eq!(serde_json::from_str::<Effect>(&json).unwrap(), effect);
        assert_eq!(effect.coalesce_key().as_deref(), Some("refresh:3:agent_card"));
        let post = Effect::PostAgentCard {
            ticket_id: 3,
            channel: "C".into(),
        };
        assert_eq!(
            effect.order_key("a"),
            post.order_key("b"),
            "a card's post and refreshes run in order"
        );
        assert_eq!(post.target(), Target::Slack);
        let once = Effect::AddReaction {
            channel: "C".into(),
            ts: "1.2".into(),
            name: "x".into(),
        };
        assert_ne!(
            once.order_key("a"),
            once.order_key("b"),
            "unrelated effects run side by side"
        );
    }
}
