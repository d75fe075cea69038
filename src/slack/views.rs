//! Modals, the Home tab and the lists `/desk` answers with
//! (<https://api.slack.com/reference/surfaces/views>). Each is built from plain data, so
//! the worker and dispatcher build them where they know the state.

use serde_json::{json, Value};

use super::actions::{self, ASSIGN_TO_ME};
use super::blocks::{escape, ticket_link};
use super::interactions::{FormContext, PUBLIC_REPLY, REPLY_FIELD, REQUEST_FORM};
use crate::desk::forms::{self, DESCRIPTION_MAX_CHARS};
use crate::desk::reports::{Durations, Grouped, Ratings, ResponseTimes};
use crate::desk::SUMMARY_MAX_CHARS;
use crate::store::TicketRecord;

fn plain(text: &str) -> Value {
    json!({ "type": "plain_text", "text": text, "emoji": true })
}

fn option(value: &str, text: &str) -> Value {
    json!({ "text": plain(text), "value": value })
}

/// Cut text to at most `max` characters (Slack refuses longer values).
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text.to_owned(),
    }
}

/// A project as the form offers it.
pub struct FormProject {
    pub key: String,
    pub name: String,
    pub departments: Vec<String>,
    pub request_types: Vec<String>,
}

/// Everything the request form shows.
pub struct FormView<'a> {
    pub context: &'a FormContext,
    pub projects: &'a [FormProject],
    pub project: Option<&'a str>,
    pub department: Option<&'a str>,
    pub request_type: Option<&'a str>,
    pub summary: &'a str,
    pub description: &'a str,
    /// Who the request is for when not the submitter (a shortcut's message author).
    pub on_behalf_of: Option<&'a str>,
}

fn select(
    block_id: &str,
    label: &str,
    placeholder: &str,
    options: Value,
    initial: Option<Value>,
    optional: bool,
) -> Value {
    let mut element = json!({
        "type": "static_select", "action_id": "value", "placeholder": plain(placeholder),
    });
    // Options grouped by project have labels: Slack takes those as `option_groups`.
    let grouped = options
        .as_array()
        .is_some_and(|o| o.iter().any(|g| g.get("label").is_some()));
    if grouped {
        element["option_groups"] = options;
    } else {
        element["options"] = options;
    }
    if let Some(initial) = initial {
        element["initial_option"] = initial;
    }
    json!({ "type": "input", "block_id": block_id, "label": plain(label), "optional": optional, "element": element })
}

/// The request form ("New request", `/desk new`, "Create ticket").
pub fn request_form(form: &FormView) -> Value {
    let mut blocks = Vec::new();
    let from_message = form.context.message.is_some();
    if let (Some(person), false) = (form.on_behalf_of, form.context.agent) {
        blocks.push(json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": format!("Filed for <@{person}>, who wrote the message.") }]
        }));
    }
    let project_options: Vec<Value> = form
        .projects
        .iter()
        .map(|p| option(&p.key, &format!("{} ({})", p.name, p.key)))
        .collect();
    let initial_project = form
        .project
        .and_then(|key| form.projects.iter().find(|p| p.key == key))
        .map(|p| option(&p.key, &format!("{} ({})", p.name, p.key)));
    blocks.push(select(
        forms::PROJECT,
        "Project",
        "Where should this go?",
        Value::Array(project_options),
        initial_project,
        false,
    ));
    for (block, label, names, initial) in [
        (
            forms::DEPARTMENT,
            "Department",
            (|p: &FormProject| &p.departments) as fn(&FormProject) -> &Vec<String>,
            form.department,
        ),
        (
            forms::REQUEST_TYPE,
            "Request type",
            |p: &FormProject| &p.request_types,
            form.request_type,
        ),
    ] {
        let groups: Vec<Value> = form
            .projects
            .iter()
            .filter(|p| !names(p).is_empty())
            .map(|p| {
                let options: Vec<Value> = names(p).iter().map(|d| option(d, d)).collect();
                json!({ "label": plain(&p.key), "options": options })
            })
            .collect();
        if !groups.is_empty() {
            let initial = initial.map(|d| option(d, d));
            blocks.push(select(
                block,
                label,
                "Choose if you know",
                Value::Array(groups),
                initial,
                true,
            ));
        }
    }
    let mut summary = json!({
        "type": "plain_text_input", "action_id": "value", "max_length": SUMMARY_MAX_CHARS,
        "placeholder": plain("In a few words, what do you need?"),
    });
    if !form.summary.is_empty() {
        summary["initial_value"] = clip(form.summary, SUMMARY_MAX_CHARS).into();
    }
    blocks.push(json!({ "type": "input", "block_id": forms::SUMMARY, "label": plain("Summary"), "element": summary }));
    let mut description = json!({
        "type": "plain_text_input", "action_id": "value", "multiline": true, "max_length": DESCRIPTION_MAX_CHARS,
    });
    if !form.description.is_empty() {
        description["initial_value"] = clip(form.description, DESCRIPTION_MAX_CHARS).into();
    }
    blocks.push(json!({
        "type": "input", "block_id": forms::DESCRIPTION, "label": plain("Description"), "optional": true, "element": description,
    }));
    if form.context.agent {
        let mut person = json!({ "type": "users_select", "action_id": "value", "placeholder": plain("Yourself") });
        if let Some(user) = form.on_behalf_of {
            person["initial_user"] = user.into();
        }
        blocks.push(json!({
            "type": "input", "block_id": forms::ON_BEHALF_OF, "label": plain("On behalf of"), "optional": true,
            "element": person,
            "hint": plain("The person this request is for; leave empty to file it for yourself."),
        }));
    }
    json!({
        "type": "modal",
        "callback_id": REQUEST_FORM,
        "title": plain(if from_message { "Create ticket" } else { "New request" }),
        "submit": plain("Submit"),
        "close": plain("Cancel"),
        "private_metadata": form.context.write(),
        "blocks": blocks,
    })
}

/// An agent's reply to the requester, shown in the request's thread.
pub fn public_reply(ticket: &TicketRecord) -> Value {
    json!({
        "type": "modal",
        "callback_id": PUBLIC_REPLY,
        "private_metadata": ticket.key,
        "title": plain("Reply to requester"),
        "submit": plain("Send"),
        "close": plain("Cancel"),
        "blocks": [
            { "type": "context", "elements": [{ "type": "mrkdwn", "text": format!("*{}* · {} · for <@{}>", ticket_link(ticket), escape(&ticket.summary), ticket.requester_slack_id) }] },
            { "type": "input", "block_id": REPLY_FIELD, "label": plain("Reply"),
              "element": { "type": "plain_text_input", "action_id": "value", "multiline": true, "max_length": DESCRIPTION_MAX_CHARS } },
        ],
    })
}

/// A modal with one text field about a ticket: an internal note, or why a request is
/// declined.
fn ticket_text_modal(
    ticket: &TicketRecord,
    callback: &str,
    title: &str,
    label: &str,
    submit: &str,
    hint: &str,
) -> Value {
    json!({
        "type": "modal",
        "callback_id": callback,
        "private_metadata": ticket.key,
        "title": plain(title),
        "submit": plain(submit),
        "close": plain("Cancel"),
        "blocks": [
            { "type": "context", "elements": [{ "type": "mrkdwn", "text": format!("*{}* · {} · {hint}", ticket_link(ticket), escape(&ticket.summary)) }] },
            { "type": "input", "block_id": actions::TEXT_FIELD, "label": plain(label),
              "element": { "type": "plain_text_input", "action_id": "value", "multiline": true, "max_length": DESCRIPTION_MAX_CHARS } },
        ],
    })
}

/// An agent's internal note: posted in the card's thread, never shown to the requester.
pub fn internal_note(ticket: &TicketRecord) -> Value {
    ticket_text_modal(
        ticket,
        actions::INTERNAL_NOTE,
        "Internal note",
        "Note",
        "Add note",
        "only agents see it",
    )
}

/// Add a participant: a Slack member, or a customer by address. With `confirm` (the
/// person, and how many public replies they will receive), the agent is asked to confirm.
pub fn add_participant(ticket: &TicketRecord, confirm: Option<(&str, usize)>) -> Value {
    let about = format!("*{}* · {}", ticket_link(ticket), escape(&ticket.summary));
    let (blocks, metadata) = match confirm {
        None => (
            json!([
                { "type": "context", "elements": [{ "type": "mrkdwn", "text": format!("{about} · they hear every public reply") }] },
                { "type": "input", "block_id": actions::PARTICIPANT_USER, "optional": true, "label": plain("Someone in Slack"),
                  "element": { "type": "users_select", "action_id": "value" } },
                { "type": "input", "block_id": actions::PARTICIPANT_EMAIL, "optional": true, "label": plain("Or a customer's email"),
                  "element": { "type": "plain_text_input", "action_id": "value", "max_length": 254 } },
            ]),
            actions::participant_metadata(&ticket.key, None),
        ),
        Some((person, replies)) => (
            json!([{ "type": "section", "text": { "type": "mrkdwn", "text": format!(
                "{about}\n*{}* will receive the {replies} earlier public replies of this request. Add them?", escape(person)) } }]),
            actions::participant_metadata(&ticket.key, Some(person)),
        ),
    };
    json!({
        "type": "modal", "callback_id": actions::PARTICIPANT_FORM, "private_metadata": metadata,
        "title": plain("Add participant"), "submit": plain("Add"), "close": plain("Cancel"), "blocks": blocks,
    })
}

/// An approver's reason to decline: shown to the requester.
pub fn decline_reason(ticket: &TicketRecord) -> Value {
    ticket_text_modal(
        ticket,
        actions::DECLINE_REASON,
        "Decline request",
        "Why?",
        "Decline",
        "the requester sees your reason",
    )
}

/// The satisfaction survey: a rating from 1 to 5 and an optional comment.
pub fn survey(ticket: &TicketRecord, resolution: i64) -> Value {
    let ratings: Vec<Value> = [
        "1 · Very unhappy",
        "2 · Unhappy",
        "3 · Okay",
        "4 · Happy",
        "5 · Very happy",
    ]
    .iter()
    .enumerate()
    .map(|(i, text)| option(&(i + 1).to_string(), text))
    .collect();
    json!({
        "type": "modal",
        "callback_id": actions::SURVEY,
        "private_metadata": actions::survey_ref(&ticket.key, resolution),
        "title": plain("How did we do?"),
        "submit": plain("Send"),
        "close": plain("Cancel"),
        "blocks": [
            { "type": "context", "elements": [{ "type": "mrkdwn", "text": format!("*{}* · {}", ticket_link(ticket), escape(&ticket.summary)) }] },
            { "type": "input", "block_id": actions::RATING_FIELD, "label": plain("Rating"),
              "element": { "type": "radio_buttons", "action_id": "value", "options": ratings } },
            { "type": "input", "block_id": actions::COMMENT_FIELD, "label": plain("Comment"), "optional": true,
              "element": { "type": "plain_text_input", "action_id": "value", "multiline": true, "max_length": 1000 } },
        ],
    })
}

/// A modal that only tells something.
pub fn notice(title: &str, text: &str) -> Value {
    json!({
        "type": "modal",
        "title": plain(&clip(title, 24)),
        "close": plain("Close"),
        "blocks": [{ "type": "section", "text": { "type": "mrkdwn", "text": text } }],
    })
}

/// What "Create ticket" shows on a message that is a request already.
pub fn already_filed(ticket: &TicketRecord) -> Value {
    notice(
        "Create ticket",
        &format!("This message is already a request: *{}*.", ticket_link(ticket)),
    )
}

/// What the form becomes while the request is filed.
pub fn filing() -> Value {
    notice("New request", ":hourglass_flowing_sand: Filing your request…")
}

/// What the form becomes once the request is filed.
pub fn filed(ticket: &TicketRecord, where_to_follow: &str) -> Value {
    notice(
        "Request filed",
        &format!(
            ":white_check_mark: *{}* · {}\n{where_to_follow}",
            ticket_link(ticket),
            escape(&ticket.summary)
        ),
    )
}

/// One line per request: key (linked to its thread), summary, status.
pub fn ticket_lines(tickets: &[TicketRecord]) -> String {
    tickets
        .iter()
        .map(|t| {
            let assignee = t
                .assignee_slack_id
                .as_deref()
                .map(|a| format!(" · with <@{a}>"))
                .unwrap_or_default();
            format!(
                "• *{}* {} · _{}_{assignee}",
                ticket_link(t),
                escape(&t.summary),
                t.status
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn section(text: &str) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": clip(text, 3000) } })
}

/// deskhand's Home tab: the person's open and recently closed requests, and for agents,
/// what is assigned to them.
pub fn home(requests: &[TicketRecord], assigned: &[TicketRecord], queue: Option<&[TicketRecord]>) -> Value {
    let (open, closed): (Vec<TicketRecord>, Vec<TicketRecord>) = requests.iter().cloned().partition(|t| !t.is_done());
    let mut blocks = vec![
        json!({ "type": "header", "text": plain("Your requests") }),
        section(&if open.is_empty() {
            "Nothing open. Ask for help in a support channel, with the *New request* shortcut, or by writing to me here.".to_owned()
        } else {
            ticket_lines(&open)
        }),
    ];
    if !closed.is_empty() {
        blocks.push(json!({ "type": "header", "text": plain("Recently closed") }));
        blocks.push(section(&ticket_lines(&closed)));
    }
    if !assigned.is_empty() {
        blocks.push(json!({ "type": "divider" }));
        blocks.push(json!({ "type": "header", "text": plain("Assigned to you") }));
        blocks.push(section(&ticket_lines(assigned)));
    }
    if let Some(queue) = queue {
        blocks.push(json!({ "type": "divider" }));
        blocks.push(json!({ "type": "header", "text": plain("My queue") }));
        if queue.is_empty() {
            blocks.push(section("Nothing waits in your departments. :tada:"));
        }
        for ticket in queue.iter().take(20) {
            let mut line = section(&ticket_lines(std::slice::from_ref(ticket)));
            line["accessory"] =
                json!({ "type": "button", "action_id": ASSIGN_TO_ME, "value": ticket.key, "text": plain("Take") });
            blocks.push(line);
        }
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": "`/desk help` lists everything deskhand can do." }]
    }));
    json!({ "type": "home", "blocks": blocks })
}

/// The answer to `/desk report`: the last days' response times and ratings, the team's
/// and the agent's own.
pub fn report(days: i64, times: &ResponseTimes, ratings: &Grouped<Ratings>, agent: &str) -> String {
    let minutes = |d: Option<&Durations>| match d {
        Some(Durations {
            count,
            median_minutes: Some(median),
            p90_minutes: Some(p90),
        }) => format!("median {median} min, 90% within {p90} min ({count})"),
        _ => "none yet".to_owned(),
    };
    let rated = |r: Option<&Ratings>| match r {
        Some(Ratings {
            count,
            average: Some(average),
            ..
        }) => format!("{average}/5 from {count} rating(s)"),
        _ => "no ratings yet".to_owned(),
    };
    format!(
        "*The last {days} days*\n\
         *Team* · first response: {} · resolution: {} · satisfaction: {}\n\
         *You* · first response: {} · resolution: {} · satisfaction: {}",
        minutes(Some(&times.first_response.overall)),
        minutes(Some(&times.resolution.overall)),
        rated(Some(&ratings.overall)),
        minutes(times.first_response.by_agent.get(agent)),
        minutes(times.resolution.by_agent.get(agent)),
        rated(ratings.by_agent.get(agent)),
    )
}

/// The answer to `/desk status KEY`.
pub fn status(ticket: &TicketRecord) -> Value {
    let fields = super::blocks::fields(ticket, &crate::desk::project::DEFAULT_MESSAGE_FIELDS);
    json!([{
        "type": "section",
        "text": { "type": "mrkdwn", "text": format!("*{}* · {}", ticket_link(ticket), escape(&ticket.summary)) },
        "fields": fields,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_asks_agents_for_whom_and_carries_its_context() {
        let context = FormContext {
            channel: Some("C1".into()),
            message: None,
            agent: true,
        };
        let projects = [FormProject {
            key: "IT".into(),
            name: "IT Help".into(),
            departments: vec!["Hardware".into()],
            request_types: vec![],
        }];
        let view = request_form(&FormView {
            context: &context,
            projects: &projects,
            project: Some("IT"),
            department: None,
            request_type: None,
            summary: "",
            description: "",
            on_behalf_of: None,
        });
        let blocks: Vec<&str> = view["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b["block_id"].as_str())
            .collect();
        assert_eq!(
            blocks,
            ["project", "department", "summary", "description", "on_behalf_of"]
        );
        assert_eq!(view["blocks"][0]["element"]["initial_option"]["value"], "IT");
        let departments = &view["blocks"][1]["element"];
        assert_eq!(departments["option_groups"][0]["options"][0]["value"], "Hardware");
        assert!(departments["options"].is_null(), "grouped options are option_groups");
        assert_eq!(FormContext::read(view["private_metadata"].as_str().unwrap()), context);
        let requester = FormContext {
            agent: false,
            ..context
        };
        let view = request_form(&FormView {
            context: &requester,
            projects: &projects,
            project: None,
            department: None,
            request_type: None,
            summary: "",
            description: "",
            on_behalf_of: None,
        });
        assert!(
            !view.to_string().contains("on_behalf_of"),
            "requesters file for themselves"
        );
    }
}
