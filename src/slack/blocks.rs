//! Block Kit for the messages deskhand posts about a ticket
//! (<https://api.slack.com/reference/block-kit/blocks>). Each renders the ticket as it is
//! now, so posting and updating use the same function and an update always shows the
//! latest state.

use std::borrow::Cow;

use serde_json::Value;

use super::kit::{Block, Choice, Confirm, Element, Str, Text};

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
pub fn fields<'t>(ticket: &'t TicketRecord, shown: &[MessageField]) -> Vec<Text<'t>> {
    let field = |name: &str, value: &str| Text::mrkdwn(format!("*{name}*\n{value}"));
    shown
        .iter()
        .filter_map(|f| match f {
            MessageField::Status => Some(field("Status", &escape(&ticket.status))),
            MessageField::Priority => Some(field("Priority", ticket.priority.as_str())),
            MessageField::Requester => Some(field("Requester", &format!("<@{}>", ticket.requester_slack_id))),
            MessageField::Assignee => ticket
                .assignee_slack_id
                .as_ref()
                .map(|a| field("Assignee", &format!("<@{a}>"))),
            MessageField::Department => ticket.department.as_ref().map(|d| field("Department", &escape(d))),
            MessageField::RequestType => ticket.request_type.as_ref().map(|t| field("Request type", &escape(t))),
        })
        .take(10)
        .collect()
}

/// The ticket's headline section, with its fields when any are shown.
fn headline<'t>(text: &str, ticket: &'t TicketRecord, shown: &[MessageField]) -> Block<'t> {
    Block::Section {
        text: Text::mrkdwn(clip(text, SECTION_MAX)),
        fields: fields(ticket, shown),
        accessory: None,
    }
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

fn deleted_note(ticket: &TicketRecord, blocks: &mut Vec<Block>) {
    if ticket.deleted_at.is_some() {
        blocks.push(Block::context(
            ":wastebasket: The original message was deleted; the request stays on file.",
        ));
    }
}

/// The reply in the requester's thread (or, for a form's request, the DM that starts its
/// thread). `self_close` offers the requester a "Close" button; `synced` says replies in
/// the thread reach the help desk (support channels with thread sync, and DMs).
pub fn thread_reply<'t>(
    ticket: &'t TicketRecord,
    self_close: bool,
    synced: bool,
    shown: Shown,
    approval: Option<&ApprovalRecord>,
) -> Vec<Block<'t>> {
    let hint = if synced {
        "Reply in this thread to add to your request; the help desk sees every reply."
    } else {
        "The help desk answers in this thread. Replies here don't reach it: to add something, ask in a support channel or a direct message to deskhand (a new request)."
    };
    let key = jira_key(ticket).map_or(Cow::Borrowed(ticket.key.as_str()), Cow::Owned);
    let mut blocks = Vec::with_capacity(6);
    if let Some(intro) = shown.intro {
        blocks.push(Block::section(escape(intro)));
    }
    blocks.push(headline(
        &format!(":ticket: *{key}* · {}", escape(&ticket.summary)),
        ticket,
        shown.fields,
    ));
    if let Some(filed_by) = filed_by(ticket) {
        let mut text = filed_by;
        text[..1].make_ascii_uppercase();
        blocks.push(Block::context(text));
    }
    if let Some(approval) = approval {
        blocks.push(Block::context(approval_line(approval)));
    }
    blocks.push(Block::context(hint));
    if self_close && !ticket.is_done() {
        let close = Element::Button {
            action_id: CLOSE_REQUEST,
            value: Cow::Borrowed(&ticket.key),
            text: Text::plain("Close request"),
            style: None,
            confirm: Some(Box::new(Confirm {
                title: Text::plain("Close this request?"),
                text: Text::mrkdwn("Only the requester can close it. The help desk will see that you did."),
                confirm: Text::plain("Close it"),
                deny: Text::plain("Keep it open"),
            })),
        };
        blocks.push(Block::Actions {
            block_id: "requester".into(),
            elements: vec![close],
        });
    }
    deleted_note(ticket, &mut blocks);
    blocks
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
pub fn agent_card<'t>(ticket: &'t TicketRecord, view: &CardView) -> Vec<Block<'t>> {
    let mut blocks = Vec::with_capacity(8);
    if let Some(intro) = view.shown.intro {
        blocks.push(Block::context(escape(intro)));
    }
    blocks.push(headline(
        &format!("*{}* · {}", ticket_link(ticket), escape(&ticket.summary)),
        ticket,
        view.shown.fields,
    ));
    if ticket.description.trim() != ticket.summary.trim() {
        blocks.push(Block::section(clip(&escape(&ticket.description), SECTION_MAX)));
    }
    blocks.push(Block::context(card_context(ticket)));
    if let Some(approval) = view.approval {
        blocks.push(Block::context(approval_line(approval)));
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
            blocks.push(Block::context(text));
        }
        (None, Some(name)) if ticket.is_done() => {
            blocks.push(Block::context(format!(
                "No survey: filed on behalf of {}",
                escape(&name)
            )));
        }
        _ => {}
    }
    blocks.push(card_actions(ticket, view));
    deleted_note(ticket, &mut blocks);
    blocks
}

/// A menu option showing `value` (clipped to Slack's 75 characters).
fn option<'a>(value: impl Into<Str<'a>>) -> Choice<'a> {
    let value = value.into();
    let text = match value.chars().nth(74) {
        Some(_) => Cow::Owned(clip(&value, 75)),
        None => value.clone(),
    };
    Choice {
        text: Text::plain(text),
        value,
    }
}

/// A card's actions: take it, hand it on, move it, prioritize, route, answer, note.
fn card_actions<'t>(ticket: &'t TicketRecord, view: &CardView) -> Block<'t> {
    let button = |action: &'static str, text: &'static str| Element::button(action, text, ticket.key.as_str());
    let mut elements = Vec::with_capacity(8);
    if !ticket.is_done() {
        elements.push(button(ASSIGN_TO_ME, "Assign to me"));
    }
    elements.push(Element::UsersSelect {
        action_id: ASSIGN_TO,
        placeholder: Text::plain("Assign to…"),
        initial_user: ticket.assignee_slack_id.as_deref().map(Cow::Borrowed),
    });
    if !view.moves.is_empty() && !ticket.awaits_approval() {
        elements.push(Element::StaticSelect {
            action_id: SET_STATUS,
            placeholder: Text::plain(format!("Move from {}", clip(&ticket.status, 50))),
            options: view.moves.iter().take(100).map(|m| option(m.clone())).collect(),
            initial_option: None,
        });
    }
    elements.push(Element::StaticSelect {
        action_id: SET_PRIORITY,
        placeholder: Text::plain("Priority"),
        options: Priority::ALL.into_iter().map(|p| option(p.as_str())).collect(),
        initial_option: Some(option(ticket.priority.as_str())),
    });
    if !view.departments.is_empty() {
        let current = ticket
            .department
            .as_deref()
            .filter(|d| view.departments.iter().any(|o| o == d));
        elements.push(Element::StaticSelect {
            action_id: SET_DEPARTMENT,
            placeholder: Text::plain("Department"),
            options: view.departments.iter().take(100).map(|d| option(d.clone())).collect(),
            initial_option: current.map(option),
        });
    }
    elements.push(button(REPLY_PUBLICLY, "Reply to requester"));
    elements.push(button(ADD_NOTE, "Internal note"));
    elements.push(button(ADD_PARTICIPANT, "Add participant"));
    Block::Actions {
        block_id: format!("{TICKET_ACTIONS}{}", ticket.key).into(),
        elements,
    }
}

/// What an approver is asked, in their DM with deskhand.
pub fn approval_request(ticket: &TicketRecord) -> Vec<Block<'_>> {
    let button = |action_id: &'static str, text: &'static str, style: &'static str| Element::Button {
        action_id,
        value: Cow::Borrowed(&ticket.key),
        text: Text::plain(text),
        style: Some(style),
        confirm: None,
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
    vec![
        Block::section(clip(&text, SECTION_MAX)),
        Block::section(clip(&escape(&ticket.description), SECTION_MAX)),
        Block::Actions {
            block_id: format!("approval:{}", ticket.key).into(),
            elements: vec![
                button(APPROVE, "Approve", "primary"),
                button(DECLINE, "Decline", "danger"),
            ],
        },
    ]
}

/// What a requester is asked once their request is done.
pub fn satisfaction_request(ticket: &TicketRecord, resolution: i64) -> Vec<Block<'_>> {
    vec![
        Block::section(format!(
            "Your request *{}* · {} is *{}*. How did the help desk do?",
            ticket_link(ticket),
            escape(&ticket.summary),
            escape(&ticket.status)
        )),
        Block::Actions {
            block_id: format!("survey:{}", ticket.key).into(),
            elements: vec![Element::button(
                RATE,
                "Rate this help",
                survey_ref(&ticket.key, resolution),
            )],
        },
    ]
}

/// The agent's queue, as `/desk queue` answers: a line and a "Take" button per request.
pub fn queue(tickets: &[TicketRecord]) -> Vec<Block<'_>> {
    let mut blocks = vec![Block::Header {
        text: Text::plain("Your queue"),
    }];
    if tickets.is_empty() {
        blocks.push(Block::section("Nothing open. :tada:"));
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
        blocks.push(Block::Section {
            text: Text::mrkdwn(clip(&text, SECTION_MAX)),
            fields: Vec::new(),
            accessory: Some(Element::button(ASSIGN_TO_ME, "Take", ticket.key.as_str())),
        });
    }
    blocks
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
