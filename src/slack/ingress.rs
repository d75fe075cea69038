//! Slack ingress, whatever the transport: read a payload, store it in the inbox, and say
//! what Slack must be answered. Nothing else happens before the answer, so Slack gets it in
//! well under its 3 seconds and a crash after the answer loses nothing
//! (<https://api.slack.com/apis/events-api#responding>).
//!
//! The HTTP routes ([`super::http`]) verify the signature and call [`accept`]; a Socket
//! Mode connection calls the same function with the envelope's payload and sends the
//! [`Answer`] back under the envelope's id.

use serde_json::{json, Value};

use super::events::IngressEnvelope;
use super::interactions::{Payload, SlashCommand, REPLY_FIELD};
use super::shapes;
use super::views;
use crate::desk::forms::{self, ProjectChoice};
use crate::metrics;
use crate::state::AppState;
use crate::store::NewEvent;

/// A payload from Slack, as either transport delivers it.
#[derive(Debug)]
pub enum Incoming<'a> {
    /// An Events API body (JSON).
    Event(&'a str),
    /// An interactivity payload (the JSON of the `payload` form field).
    Interaction(&'a str),
    /// A slash command's fields.
    Command(SlashCommand),
}

/// What Slack must be told.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Received (and stored): an empty acknowledgement.
    Ack,
    /// Received, with a body: a URL verification's challenge, a modal's `response_action`.
    Json(Value),
    /// Not a payload deskhand can read: Slack must not send it again as it is.
    Malformed(&'static str),
    /// Could not be stored now: Slack (or the person) should try again.
    Unavailable,
}

/// Read, check and store one payload from Slack.
pub async fn accept(state: &AppState, incoming: Incoming<'_>) -> Answer {
    match incoming {
        Incoming::Event(body) => accept_event(state, body).await,
        Incoming::Interaction(json) => accept_interaction(state, json).await,
        Incoming::Command(command) => {
            let installation = command.installation();
            if !shapes::is_id(&command.user_id) || !shapes::is_token(&command.trigger_id) || installation.is_err() {
                return Answer::Malformed("malformed slash command");
            }
            let event = NewEvent {
                dedupe_key: command.dedupe_key(),
                order_key: format!("user:{}", command.user_id),
                body: serde_json::to_string(&command).expect("commands serialize"),
                urgent: true,
                installation: installation.ok().flatten(),
            };
            store(state, event, Answer::Ack).await
        }
    }
}

async fn accept_event(state: &AppState, body: &str) -> Answer {
    let envelope: IngressEnvelope = match serde_json::from_str(body) {
        Ok(envelope) => envelope,
        Err(e) => {
            tracing::warn!(error = %e, "malformed Events API body");
            return Answer::Malformed("malformed JSON");
        }
    };
    match envelope.kind.as_ref() {
        "url_verification" => match envelope.challenge {
            Some(challenge) => Answer::Json(json!({ "challenge": challenge })),
            None => Answer::Malformed("url_verification without a challenge"),
        },
        "event_callback" => {
            let Some(event_id) = envelope.event_id.as_deref() else {
                return Answer::Malformed("event_callback without event_id");
            };
            if !shapes::is_token(event_id) {
                return Answer::Malformed("event_id is not an event id");
            }
            let Ok(installation) = envelope.installation() else {
                return Answer::Malformed("team_id or enterprise_id is not an id");
            };
            let event = NewEvent {
                dedupe_key: format!("event:{event_id}"),
                order_key: envelope.order_key(),
                body: body.to_owned(),
                urgent: false,
                installation,
            };
            store(state, event, Answer::Ack).await
        }
        other => {
            tracing::info!(
                kind = other,
                "acknowledged an Events API request deskhand does not handle"
            );
            Answer::Ack
        }
    }
}

/// Shortcuts, modal submissions and buttons. A submitted request form is checked here, so
/// that mistakes are shown under their fields in the still-open modal; channel
/// preferences are saved at once, as the admin API's are; everything else is stored and
/// acknowledged like an event.
async fn accept_interaction(state: &AppState, json: &str) -> Answer {
    let payload = match Payload::parse(json) {
        Ok(payload) => payload,
        Err(e) => {
            tracing::warn!(error = %e, "malformed interactivity payload");
            return Answer::Malformed("malformed payload");
        }
    };
    let Some(dedupe_key) = payload.dedupe_key() else {
        tracing::info!(kind = %payload.kind, "acknowledged an interaction deskhand does not handle");
        return Answer::Ack;
    };
    let key_parts_ok = dedupe_key
        .split(':')
        .skip(2)
        .all(|part| shapes::is_token(part) || shapes::is_id(part));
    let Ok(installation) = payload.installation() else {
        return Answer::Malformed("malformed payload");
    };
    if !shapes::is_id(payload.user_id()) || !key_parts_ok {
        return Answer::Malformed("malformed payload");
    }
    if payload.channel_prefs().is_some() {
        return Answer::Json(super::admin::save(state, &payload).await);
    }
    let mut answer = Answer::Ack;
    if let Some((_, text)) = payload.submitted_reply() {
        if text.trim().is_empty() {
            return field_errors([(REPLY_FIELD, "Write the reply the requester will see.")]);
        }
    }
    if let Some((form, _)) = payload.submitted_form() {
        let projects = match state.store.projects().await {
            Ok(projects) => projects,
            Err(e) => {
                tracing::error!(error = %e, "could not read projects to check a form");
                return Answer::Unavailable;
            }
        };
        let lists: Vec<(Vec<String>, Vec<String>)> =
            projects.iter().map(|p| (p.departments(), p.request_types())).collect();
        let choices: Vec<ProjectChoice> = projects
            .iter()
            .zip(&lists)
            .map(|(p, (departments, request_types))| ProjectChoice {
                key: &p.key,
                departments,
                request_types,
            })
            .collect();
        if let Err(errors) = forms::validate(&form, &choices) {
            return field_errors(errors);
        }
        answer = Answer::Json(json!({ "response_action": "update", "view": views::filing() }));
    }
    if let Some((key, person, confirmed)) = super::actions::submitted_participant(&payload) {
        let Some(person) = person else {
            return field_errors([(
                super::actions::PARTICIPANT_EMAIL,
                "Choose someone in Slack, or write a customer's email.",
            )]);
        };
        if !confirmed {
            // Someone joining a conversation under way receives it: the agent confirms
            // first, in the same modal; nothing is stored until then.
            match public_replies(state, &key).await {
                Ok(Some((ticket, replies))) if replies > 0 => {
                    let view = views::add_participant(&ticket, Some((&person, replies)));
                    return Answer::Json(json!({ "response_action": "update", "view": view }));
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "could not read a ticket's replies to check a participant");
                    return Answer::Unavailable;
                }
            }
        }
    }
    let event = NewEvent {
        dedupe_key,
        order_key: format!("user:{}", payload.user_id()),
        body: json.to_owned(),
        urgent: true,
        installation,
    };
    store(state, event, answer).await
}

/// A ticket and how many public replies it has.
async fn public_replies(
    state: &AppState,
    key: &str,
) -> Result<Option<(crate::store::TicketRecord, usize)>, crate::store::StoreError> {
    let ticket = match state.store.ticket_by_key(key).await {
        Ok(ticket) => ticket,
        Err(crate::store::StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    let comments = state.store.comments(ticket.id).await?;
    let replies = comments.iter().filter(|c| c.visibility == "public").count();
    Ok(Some((ticket, replies)))
}

/// A modal's fields' errors, shown under each field.
fn field_errors<F: Into<String>, M: Into<Value>>(errors: impl IntoIterator<Item = (F, M)>) -> Answer {
    let errors: serde_json::Map<String, Value> = errors.into_iter().map(|(f, m)| (f.into(), m.into())).collect();
    Answer::Json(json!({ "response_action": "errors", "errors": errors }))
}

/// Store an event in the inbox, then answer with `answer`; when it cannot be stored, say
/// so, so Slack (or the person) tries again and nothing is lost.
async fn store(state: &AppState, event: NewEvent, answer: Answer) -> Answer {
    let key = event.dedupe_key.clone();
    let kind = metrics::source_of(&key);
    let received = |outcome| {
        metrics::get()
            .received
            .get_or_create(&metrics::Received { kind, outcome })
            .inc()
    };
    match state.inbox.submit(event).await {
        Ok(true) => {
            received("stored");
            answer
        }
        Ok(false) => {
            received("duplicate");
            tracing::debug!(dedupe_key = %key, "already stored: retry acknowledged");
            answer
        }
        Err(e) => {
            tracing::error!(dedupe_key = %key, error = %e, "could not store an event");
            Answer::Unavailable
        }
    }
}
