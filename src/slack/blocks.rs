//! Block Kit for the messages deskhand posts about a ticket
//! (<https://api.slack.com/reference/block-kit/blocks>). Each renders the ticket as it is
//! now, so posting and updating use the same function and an update always shows the
//! latest state.

use serde_json::{json, Value};

use super::interactions::{CLOSE_REQUEST, REPLY_PUBLICLY, SET_PRIORITY, TICKET_ACTIONS};
use crate::desk::effects::ParkedLine;
use crate::desk::Priority;
use crate::store::TicketRecord;

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

/// The ticket's key, linked to the conversation about it when there is one.
pub fn ticket_link(ticket: &TicketRecord) -> String {
    if ticket.permalink.is_empty() {
        ticket.key.clone()
    } else {
        format!("<{}|{}>", ticket.permalink, ticket.key)
    }
}

/// A ticket's fields as a section shows them: status, priority, requester, and the
/// assignee and department when it has them.
pub fn fields(ticket: &TicketRecord) -> Value {
    let mut fields = vec![
        json!({ "type": "mrkdwn", "text": format!("*Status*\n{}", ticket.status) }),
        json!({ "type": "mrkdwn", "text": format!("*Priority*\n{}", ticket.priority) }),
        json!({ "type": "mrkdwn", "text": format!("*Requester*\n<@{}>", ticket.requester_slack_id) }),
    ];
    if let Some(assignee) = &ticket.assignee_slack_id {
        fields.push(json!({ "type": "mrkdwn", "text": format!("*Assignee*\n<@{assignee}>") }));
    }
    if let Some(department) = &ticket.department {
        fields.push(json!({ "type": "mrkdwn", "text": format!("*Department*\n{}", escape(department)) }));
    }
    Value::Array(fields)
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
pub fn thread_reply(ticket: &TicketRecord, self_close: bool, synced: bool) -> Value {
    let hint = if synced {
        "Reply in this thread to add to your request; the help desk sees every reply."
    } else {
        "The help desk answers in this thread. Replies here don't reach it: to add something, ask in a support channel or a direct message to deskhand (a new request)."
    };
    let mut blocks = vec![
        json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": clip(&format!(":ticket: *{}* · {}", ticket.key, escape(&ticket.summary)), SECTION_MAX) },
            "fields": fields(ticket),
        }),
        json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": hint }]
        }),
    ];
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
pub fn agent_card(ticket: &TicketRecord) -> Value {
    let mut blocks = vec![
        json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": clip(&format!("*{}* · {}", ticket_link(ticket), escape(&ticket.summary)), SECTION_MAX) },
            "fields": fields(ticket),
        }),
        json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": card_context(ticket) }]
        }),
    ];
    if ticket.description.trim() != ticket.summary.trim() {
        blocks.insert(
            1,
            json!({
                "type": "section",
                "text": { "type": "mrkdwn", "text": clip(&escape(&ticket.description), SECTION_MAX) },
            }),
        );
    }
    let priority = |p: Priority| json!({ "text": { "type": "plain_text", "text": p.as_str() }, "value": p.as_str() });
    let priorities: Vec<Value> = Priority::ALL.into_iter().map(priority).collect();
    blocks.push(json!({
        "type": "actions",
        "block_id": format!("{TICKET_ACTIONS}{}", ticket.key),
        "elements": [
            {
                "type": "button", "action_id": REPLY_PUBLICLY, "value": ticket.key,
                "text": { "type": "plain_text", "text": "Reply to requester" },
            },
            {
                "type": "static_select", "action_id": SET_PRIORITY,
                "placeholder": { "type": "plain_text", "text": "Priority" },
                "options": priorities, "initial_option": priority(ticket.priority),
            },
        ]
    }));
    deleted_note(ticket, &mut blocks);
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
