//! Block Kit for the messages deskhand posts about a ticket
//! (<https://api.slack.com/reference/block-kit/blocks>). Each renders the ticket as it is
//! now, so posting and updating use the same function and an update always shows the
//! latest state.

use serde_json::{json, Value};

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
pub fn ticket_text(ticket: &TicketRecord) -> String {
    format!("{}: {}", ticket.key, ticket.summary)
}

fn fields(ticket: &TicketRecord) -> Value {
    json!([
        { "type": "mrkdwn", "text": format!("*Status*\n{}", ticket.status) },
        { "type": "mrkdwn", "text": format!("*Priority*\n{}", ticket.priority) },
        { "type": "mrkdwn", "text": format!("*Requester*\n<@{}>", ticket.requester_slack_id) },
    ])
}

fn deleted_note(ticket: &TicketRecord, blocks: &mut Vec<Value>) {
    if ticket.deleted_at.is_some() {
        blocks.push(json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": ":wastebasket: The original message was deleted; the request stays on file." }]
        }));
    }
}

/// The reply in the requester's thread.
pub fn thread_reply(ticket: &TicketRecord) -> Value {
    let mut blocks = vec![
        json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": clip(&format!(":ticket: *{}* · {}", ticket.key, escape(&ticket.summary)), SECTION_MAX) },
            "fields": fields(ticket),
        }),
        json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": "Reply in this thread to add to your request; the help desk sees every reply." }]
        }),
    ];
    deleted_note(ticket, &mut blocks);
    Value::Array(blocks)
}

/// The card in the agents' channel.
pub fn agent_card(ticket: &TicketRecord) -> Value {
    let mut blocks = vec![
        json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": clip(&format!("*<{}|{}>* · {}", ticket.permalink, ticket.key, escape(&ticket.summary)), SECTION_MAX) },
            "fields": fields(ticket),
        }),
        json!({
            "type": "context",
            "elements": [{
                "type": "mrkdwn",
                "text": format!("From <#{}> · {} · replies here are internal notes", ticket.channel_id, ticket.source),
            }]
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
