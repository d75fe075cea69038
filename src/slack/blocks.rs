//! Block Kit for the messages deskhand posts about a ticket
//! (<https://api.slack.com/reference/block-kit/blocks>). Each renders the ticket as it is
//! now, so posting and updating use the same function and an update always shows the
//! latest state.

use serde_json::{json, Value};

use super::actions::{
    survey_ref, ADD_NOTE, ADD_PARTICIPANT, APPROVE, ASSIGN_TO, ASSIGN_TO_ME, DECLINE, RATE, SET_DEPARTMENT,
    SET_PRIORITY, SET_STATUS,
};
use super::interactions::{CLOSE_REQUEST, REPLY_PUBLICLY, TICKET_ACTIONS};
use crate::desk::effects::ParkedLine;
use crate::desk::project::{MessageField, DEFAULT_MESSAGE_FIELDS};
use crate::desk::Priority;
use crate::store::{ApprovalRecord, SurveyRecord, TicketRecord};

/// What a project's messages show: the fields its admins chose, and its intro text.
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a> {
    pub fields: &'a [MessageField],
    pub intro: Option<&'a str>,
}

impl Default for Shown<'_> {
    fn default() -> Self {
        Shown {
            fields: &DEFAULT_MESSAGE_FIELDS,
            intro: None,
        }
    }
}

/// Everything an agent card shows beside the ticket.
#[derive(Debug, Default)]
pub struct CardView<'a> {
    pub shown: Shown<'a>,
    /// The statuses the workflow allows the ticket to move to.
    pub moves: Vec<String>,
    pub departments: Vec<String>,
    pub approval: Option<&'a ApprovalRecord>,
    /// The latest answered survey.
    pub rating: Option<&'a SurveyRecord>,
}

/// Slack's limit for a section's text.
const SECTION_MAX: usize = 3000;

/// Escape text for mrkdwn: `&`, `<` and `>` are control characters there.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max - 1) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The plain-text fallback Slack shows in notifications.
/// The report to a support channel's agents of the parked messages that waited past the
/// retention and were not filed.
pub fn parked_report(channel: &str, messages: &[ParkedLine]) -> String {
    let lines: Vec<String> = messages
        .iter()
        .map(|m| {
            let text: String = m.text.chars().take(200).collect();
            format!("• <@{}>: {}", m.user, escape(&text))
        })
        .collect();
    format!(
        ":warning: {} message(s) in <#{channel}> waited longer than the retention for someone to file them \
         (their authors can't be linked and no facilitator was authorized), and were not filed:\n{}",
        messages.len(),
        lines.join("\n")
    )
}

/// The report to a support channel's agents of a person's message deskhand set aside.
pub fn set_aside_report(channel: &str, user: &str, text: &str, error: &str) -> String {
    let words: String = text.chars().take(200).collect();
    let why: String = error.chars().take(200).collect();
    format!(
        ":warning: A message from <@{user}> in <#{channel}> could not be handled and was set aside ({}). \
         It is listed by the admin API (`GET /api/v1/inbox?state=failed`). It said: {}",
        escape(&why),
        escape(&words)
    )
}

pub fn ticket_text(ticket: &TicketRecord) -> String {
    format!("{}: {}", ticket.key, ticket.summary)
}

/// The key of a Jira project's ticket as its messages show it: linked to the request in
/// Jira, or what became of it there. `None` for a built-in project's ticket.
fn jira_key(ticket: &TicketRecord) -> Option<String> {
    Some(match ticket.jira_state.as_deref()? {
        "filing" => "new request _(filing it in Jira…)_".to_owned(),
        "failed" => format!(
            "{} _(not in Jira: {})_",
            ticket.key,
            escape(ticket.jira_error.as_deref().unwrap_or("refused"))
        ),
        "deleted" => format!("{} _(deleted in Jira)_", ticket.key),
        _ => match &ticket.jira_url {
            Some(url) => format!("<{url}|{}>", ticket.key),
            None => ticket.key.clone(),
        },
    })
}

/// The ticket's key, linked to the conversation about it when there is one (to the
/// request in Jira, for a Jira project's).
pub fn ticket_link(ticket: &TicketRecord) -> String {
    if let Some(key) = jira_key(ticket) {
        key
    } else if ticket.permalink.is_empty() {
        ticket.key.clone()
    } else {
        format!("<{}|{}>", ticket.permalink, ticket.key)
    }
}

/// A ticket's fields as a section shows them: those `shown`, in their order, each when
/// the ticket has a value for it.
pub fn fields(ticket: &TicketRecord, shown: &[MessageField]) -> Value {
    let field = |name: &str, value: String| json!({ "type": "mrkdwn", "text": format!("*{name}*\n{value}") });
    let fields: Vec<Value> = shown
        .iter()
        .filter_map(|f| match f {
            MessageField::Status => Some(field("Status", escape(&ticket.status))),
            MessageField::Priority => Some(field("Priority", ticket.priority.to_string())),
            MessageField::Requester => Some(field("Requester", format!("<@{}>", ticket.requester_slack_id))),
            MessageField::Assignee => ticket
                .assignee_slack_id
                .as_ref()
                .map(|a| field("Assignee", format!("<@{a}>"))),
            MessageField::Department => ticket.department.as_ref().map(|d| field("Department", escape(d))),
            MessageField::RequestType => ticket.request_type.as_ref().map(|t| field("Request type", escape(t))),
        })
        .take(10)
        .collect();
    Value::Array(fields)
}

/// The ticket's headline section, with its fields when any are shown.
fn headline(text: String, ticket: &TicketRecord, shown: &[MessageField]) -> Value {
    let mut section = json!({ "type": "section", "text": { "type": "mrkdwn", "text": clip(&text, SECTION_MAX) } });
    let fields = fields(ticket, shown);
    if fields.as_array().is_some_and(|f| !f.is_empty()) {
        section["fields"] = fields;
    }
    section
}

fn context(text: &str) -> Value {
    json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": text }] })
}

/// Where a request's approval stands, for its messages.
fn approval_line(approval: &ApprovalRecord) -> String {
    match (approval.decision.as_deref(), &approval.decided_by) {
        (Some("approved"), Some(by)) => format!(":white_check_mark: Approved by <@{by}>"),
        (Some(_), Some(by)) => format!(
            ":no_entry: Declined by <@{by}>: {}",
            escape(approval.reason.as_deref().unwrap_or("no reason given"))
        ),
        _ => {
            let people: Vec<String> = approval.approvers().iter().map(|a| format!("<@{a}>")).collect();
            format!(":hourglass_flowing_sand: Waiting for approval by {}", people.join(", "))
        }
    }
}

/// Who filed the request for whom, when it was not its requester alone: "filed by
/// <@Fiona> on behalf of Guest Name".
fn filed_by(ticket: &TicketRecord) -> Option<String> {
    let reporter = ticket
        .reporter_slack_id
        .as_deref()
        .unwrap_or(&ticket.requester_slack_id);
    let on_behalf_of = ticket
        .on_behalf_of
        .as_deref()
        .and_then(|j| serde_json::from_str::<Value>(j).ok())
        .and_then(|v| v["name"].as_str().map(str::to_owned));
    match on_behalf_of {
        Some(name) => Some(format!("filed by <@{reporter}> on behalf of {}", escape(&name))),
        None => (reporter != ticket.requester_slack_id).then(|| format!("filed by <@{reporter}>")),
    }
}

fn deleted_note(ticket: &TicketRecord, blocks: &mut Vec<Value>) {
    if ticket.deleted_at.is_some() {
        blocks.push(json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": ":wastebasket: The original message was deleted; the request stays on file." }]
        }));
    }
}

/// The reply in the requester's thread (or, for a form's request, the DM that starts its
/// thread). `self_close` offers the requester a "Close" button; `synced` says replies in
/// the thread reach the help desk (support channels with thread sync, and DMs).
pub fn thread_reply(
    ticket: &TicketRecord,
    self_close: bool,
    synced: bool,
    shown: Shown,
    approval: Option<&ApprovalRecord>,
) -> Value {
    let hint = if synced {
        "Reply in this thread to add to your request; the help desk sees every reply."
    } else {
        "The help desk answers in this thread. Replies here don't reach it: to add something, ask in a support channel or a direct message to deskhand (a new request)."
    };
    let mut blocks = vec![
        headline(
            format!(
                ":ticket: *{}* · {}",
                jira_key(ticket).unwrap_or_else(|| ticket.key.clone()),
                escape(&ticket.summary)
            ),
            ticket,
            shown.fields,
        ),
        context(hint),
    ];
    if let Some(approval) = approval {
        blocks.insert(1, context(&approval_line(approval)));
    }
    if let Some(intro) = shown.intro {
        blocks.insert(
            0,
            json!({ "type": "section", "text": { "type": "mrkdwn", "text": escape(intro) } }),
        );
    }
    if let Some(filed_by) = filed_by(ticket) {
        let mut text = filed_by;
        text[..1].make_ascii_uppercase();
        blocks.insert(
            1,
            json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": text }] }),
        );
    }
    if self_close && !ticket.is_done() {
        blocks.push(json!({
            "type": "actions",
            "block_id": "requester",
            "elements": [{
                "type": "button", "action_id": CLOSE_REQUEST, "value": ticket.key,
                "text": { "type": "plain_text", "text": "Close request" },
                "confirm": {
                    "title": { "type": "plain_text", "text": "Close this request?" },
                    "text": { "type": "mrkdwn", "text": "Only the requester can close it. The help desk will see that you did." },
                    "confirm": { "type": "plain_text", "text": "Close it" },
                    "deny": { "type": "plain_text", "text": "Keep it open" },
                },
            }]
        }));
    }
    deleted_note(ticket, &mut blocks);
    Value::Array(blocks)
}

fn card_context(ticket: &TicketRecord) -> String {
    let mut parts = Vec::new();
    if ticket.private {
        parts.push(":lock: private".to_owned());
    }
    match ticket.channel_id.as_str() {
        "" => {}
        channel if channel.starts_with('D') => parts.push("in a DM".to_owned()),
        channel => parts.push(format!("from <#{channel}>")),
    }
    parts.push(format!("by {}", ticket.source));
    parts.extend(filed_by(ticket));
    parts.push("replies here are internal notes".to_owned());
    let mut text = parts.join(" · ");
    if let Some(first) = text.get(..1) {
        text = first.to_uppercase() + &text[1..];
    }
    text
}

/// The card in the agents' channel.
pub fn agent_card(ticket: &TicketRecord, view: &CardView) -> Value {
    let mut blocks = Vec::new();
    if let Some(intro) = view.shown.intro {
        blocks.push(context(&escape(intro)));
    }
    blocks.push(headline(
        format!("*{}* · {}", ticket_link(ticket), escape(&ticket.summary)),
        ticket,
        view.shown.fields,
    ));
    if ticket.description.trim() != ticket.summary.trim() {
        blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": clip(&escape(&ticket.description), SECTION_MAX) },
        }));
    }
    blocks.push(context(&card_context(ticket)));
    if let Some(approval) = view.approval {
        blocks.push(context(&approval_line(approval)));
    }
    match (view.rating, ticket.filed_on_behalf_of()) {
        (Some(survey), _) => {
            let stars = usize::try_from(survey.rating.unwrap_or(0)).unwrap_or(0).min(5);
            let mut text = format!(
                "Satisfaction: {}{} ({stars}/5)",
                "★".repeat(stars),
                "☆".repeat(5 - stars)
            );
            if let Some(comment) = &survey.comment {
                text.push_str(&format!(": “{}”", escape(comment)));
            }
            blocks.push(context(&text));
        }
        (None, Some(name)) if ticket.is_done() => {
            blocks.push(context(&format!("No survey: filed on behalf of {}", escape(&name))));
        }
        _ => {}
    }
    blocks.push(card_actions(ticket, view));
    deleted_note(ticket, &mut blocks);
    Value::Array(blocks)
}

fn option(value: &str) -> Value {
    json!({ "text": { "type": "plain_text", "text": clip(value, 75) }, "value": value })
}

/// A card's actions: take it, hand it on, move it, prioritize, route, answer, note.
fn card_actions(ticket: &TicketRecord, view: &CardView) -> Value {
    let button = |action: &str, text: &str| json!({ "type": "button", "action_id": action, "value": ticket.key, "text": { "type": "plain_text", "text": text } });
    let mut elements = Vec::new();
    if !ticket.is_done() {
        elements.push(button(ASSIGN_TO_ME, "Assign to me"));
    }
    let mut assign = json!({ "type": "users_select", "action_id": ASSIGN_TO, "placeholder": { "type": "plain_text", "text": "Assign to…" } });
    if let Some(assignee) = &ticket.assignee_slack_id {
        assign["initial_user"] = assignee.clone().into();
    }
    elements.push(assign);
    if !view.moves.is_empty() && !ticket.awaits_approval() {
        let moves: Vec<Value> = view.moves.iter().take(100).map(|m| option(m)).collect();
        elements.push(json!({
            "type": "static_select", "action_id": SET_STATUS,
            "placeholder": { "type": "plain_text", "text": format!("Move from {}", clip(&ticket.status, 50)) },
            "options": moves,
        }));
    }
    let priorities: Vec<Value> = Priority::ALL.into_iter().map(|p| option(p.as_str())).collect();
    elements.push(json!({
        "type": "static_select", "action_id": SET_PRIORITY,
        "placeholder": { "type": "plain_text", "text": "Priority" },
        "options": priorities, "initial_option": option(ticket.priority.as_str()),
    }));
    if !view.departments.is_empty() {
        let departments: Vec<Value> = view.departments.iter().take(100).map(|d| option(d)).collect();
        let mut menu = json!({
            "type": "static_select", "action_id": SET_DEPARTMENT,
            "placeholder": { "type": "plain_text", "text": "Department" },
            "options": departments,
        });
        if let Some(current) = ticket
            .department
            .as_deref()
            .filter(|d| view.departments.iter().any(|o| o == d))
        {
            menu["initial_option"] = option(current);
        }
        elements.push(menu);
    }
    elements.push(button(REPLY_PUBLICLY, "Reply to requester"));
    elements.push(button(ADD_NOTE, "Internal note"));
    elements.push(button(ADD_PARTICIPANT, "Add participant"));
    json!({ "type": "actions", "block_id": format!("{TICKET_ACTIONS}{}", ticket.key), "elements": elements })
}

/// What an approver is asked, in their DM with deskhand.
pub fn approval_request(ticket: &TicketRecord) -> Value {
    let button = |action: &str, text: &str, style: &str| {
        json!({ "type": "button", "action_id": action, "value": ticket.key, "style": style,
                "text": { "type": "plain_text", "text": text } })
    };
    let mut text = format!(
        ":raised_hand: <@{}> asks for *{}* · {}",
        ticket.requester_slack_id,
        ticket_link(ticket),
        escape(&ticket.summary)
    );
    if let Some(kind) = &ticket.request_type {
        text.push_str(&format!(" ({})", escape(kind)));
    }
    json!([
        { "type": "section", "text": { "type": "mrkdwn", "text": clip(&text, SECTION_MAX) } },
        { "type": "section", "text": { "type": "mrkdwn", "text": clip(&escape(&ticket.description), SECTION_MAX) } },
        { "type": "actions", "block_id": format!("approval:{}", ticket.key), "elements": [
            button(APPROVE, "Approve", "primary"),
            button(DECLINE, "Decline", "danger"),
        ] },
    ])
}

/// What a requester is asked once their request is done.
pub fn satisfaction_request(ticket: &TicketRecord, resolution: i64) -> Value {
    json!([
        { "type": "section", "text": { "type": "mrkdwn", "text": format!(
            "Your request *{}* · {} is *{}*. How did the help desk do?",
            ticket_link(ticket), escape(&ticket.summary), escape(&ticket.status)) } },
        { "type": "actions", "block_id": format!("survey:{}", ticket.key), "elements": [
            { "type": "button", "action_id": RATE, "value": survey_ref(&ticket.key, resolution),
              "text": { "type": "plain_text", "text": "Rate this help" } },
        ] },
    ])
}

/// The agent's queue, as `/desk queue` answers: a line and a "Take" button per request.
pub fn queue(tickets: &[TicketRecord]) -> Value {
    let mut blocks = vec![json!({ "type": "header", "text": { "type": "plain_text", "text": "Your queue" } })];
    if tickets.is_empty() {
        blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": "Nothing open. :tada:" } }));
    }
    for ticket in tickets.iter().take(40) {
        let assignee = ticket
            .assignee_slack_id
            .as_deref()
            .map(|a| format!(" · with <@{a}>"))
            .unwrap_or_default();
        let text = format!(
            "*{}* {} · _{}_ · {}{assignee}",
            ticket_link(ticket),
            escape(&ticket.summary),
            escape(&ticket.status),
            ticket.priority
        );
        blocks.push(json!({
            "type": "section", "text": { "type": "mrkdwn", "text": clip(&text, SECTION_MAX) },
            "accessory": { "type": "button", "action_id": ASSIGN_TO_ME, "value": ticket.key,
                           "text": { "type": "plain_text", "text": "Take" } },
        }));
    }
    Value::Array(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mrkdwn_control_characters_are_escaped_and_long_text_is_clipped() {
        assert_eq!(escape("a <b> & c"), "a &lt;b&gt; &amp; c");
        assert_eq!(clip(&"x".repeat(5000), SECTION_MAX).chars().count(), SECTION_MAX);
    }
}
