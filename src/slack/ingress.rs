//! `POST /slack/events`: verify, store in the inbox, acknowledge. Nothing else happens
//! before the answer, so Slack gets it in well under its 3 seconds and a crash after the
//! answer loses nothing (<https://api.slack.com/apis/events-api#responding>).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use slack_morphism::signature_verifier::SlackEventSignatureVerifier;
use slack_morphism::SlackSigningSecret;

use super::events::IngressEnvelope;
use super::interactions::{Payload, SlashCommand, REPLY_FIELD};
use super::views;
use crate::app::AppState;
use crate::desk::forms::{self, ProjectChoice};
use crate::store::NewEvent;

/// Checks Slack's v0 signature: HMAC-SHA256 of `v0:{timestamp}:{body}` under the signing
/// secret, compared in constant time, with the timestamp no more than 5 minutes off
/// (<https://api.slack.com/authentication/verifying-requests-from-slack>).
#[derive(Clone)]
pub struct SignatureCheck(SlackEventSignatureVerifier);

#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("missing signature headers")]
    MissingHeaders,
    #[error("body is not UTF-8")]
    NotUtf8,
    #[error("bad signature or stale timestamp")]
    BadSignature,
}

impl SignatureCheck {
    pub fn new(secret: &str) -> Self {
        Self(SlackEventSignatureVerifier::new(&SlackSigningSecret::new(
            secret.to_owned(),
        )))
    }

    /// The verified body as text.
    pub fn verify<'b>(&self, headers: &HeaderMap, body: &'b [u8]) -> Result<&'b str, Rejection> {
        let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let (Some(signature), Some(timestamp)) = (
            header(SlackEventSignatureVerifier::SLACK_SIGNED_HASH_HEADER),
            header(SlackEventSignatureVerifier::SLACK_SIGNED_TIMESTAMP),
        ) else {
            return Err(Rejection::MissingHeaders);
        };
        let body = std::str::from_utf8(body).map_err(|_| Rejection::NotUtf8)?;
        self.0
            .verify(signature, body, timestamp)
            .map_err(|_| Rejection::BadSignature)?;
        Ok(body)
    }
}

/// The answer to a request that is not from Slack.
pub const UNAUTHORIZED: (StatusCode, &str) = (StatusCode::UNAUTHORIZED, "invalid signature");

/// Verify a request from Slack, or say why not (answer it with [`UNAUTHORIZED`]). The log line names the
/// reason and the request's timestamp, never the signature or the secret.
pub fn verified<'b>(state: &AppState, route: &str, headers: &HeaderMap, body: &'b [u8]) -> Result<&'b str, Rejection> {
    state.signature.verify(headers, body).map_err(|rejection| {
        let timestamp = headers
            .get("x-slack-request-timestamp")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::warn!(route, %rejection, timestamp, body_len = body.len(), "refused a request that is not from Slack");
        rejection
    })
}

pub async fn events(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let body = match verified(&state, "/slack/events", &headers, &body) {
        Ok(body) => body,
        Err(_) => return UNAUTHORIZED.into_response(),
    };
    let envelope: IngressEnvelope = match serde_json::from_str(body) {
        Ok(envelope) => envelope,
        Err(e) => {
            tracing::warn!(error = %e, "malformed Events API body");
            return (StatusCode::BAD_REQUEST, "malformed JSON").into_response();
        }
    };
    match envelope.kind.as_ref() {
        "url_verification" => match envelope.challenge {
            Some(challenge) => Json(serde_json::json!({ "challenge": challenge })).into_response(),
            None => (StatusCode::BAD_REQUEST, "url_verification without a challenge").into_response(),
        },
        "event_callback" => {
            let Some(event_id) = envelope.event_id.as_deref() else {
                return (StatusCode::BAD_REQUEST, "event_callback without event_id").into_response();
            };
            let event = NewEvent {
                dedupe_key: format!("event:{event_id}"),
                order_key: envelope.order_key(),
                body: body.to_owned(),
            };
            store(&state, event, StatusCode::OK.into_response()).await
        }
        other => {
            tracing::info!(
                kind = other,
                "acknowledged an Events API request deskhand does not handle"
            );
            StatusCode::OK.into_response()
        }
    }
}

/// Store an event in the inbox, then answer with `answer`; when it cannot be stored, 503,
/// so Slack (or the person) tries again and nothing is lost.
async fn store(state: &AppState, event: NewEvent, answer: Response) -> Response {
    let key = event.dedupe_key.clone();
    match state.inbox.submit(event).await {
        Ok(true) => answer,
        Ok(false) => {
            tracing::debug!(dedupe_key = %key, "already stored: retry acknowledged");
            answer
        }
        Err(e) => {
            tracing::error!(dedupe_key = %key, error = %e, "could not store an event");
            (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        }
    }
}

/// `POST /slack/interactivity`: shortcuts, modal submissions and buttons, sent as a form
/// with one field, `payload`, holding JSON. A submitted request form is checked here, so
/// that mistakes are shown under their fields in the still-open modal; everything else is
/// stored and acknowledged like an event.
pub async fn interactivity(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let body = match verified(&state, "/slack/interactivity", &headers, &body) {
        Ok(body) => body,
        Err(_) => return UNAUTHORIZED.into_response(),
    };
    let Some(json) = form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned())
    else {
        return (StatusCode::BAD_REQUEST, "no payload field").into_response();
    };
    let payload = match Payload::parse(&json) {
        Ok(payload) => payload,
        Err(e) => {
            tracing::warn!(error = %e, "malformed interactivity payload");
            return (StatusCode::BAD_REQUEST, "malformed payload").into_response();
        }
    };
    // Channel preferences apply at once, as the admin API's do; nothing to queue.
    if payload.channel_prefs().is_some() {
        return super::admin::save(&state, &payload).await;
    }
    let Some(dedupe_key) = payload.dedupe_key() else {
        tracing::info!(kind = %payload.kind, "acknowledged an interaction deskhand does not handle");
        return StatusCode::OK.into_response();
    };
    let mut answer = StatusCode::OK.into_response();
    if let Some((_, text)) = payload.submitted_reply() {
        if text.trim().is_empty() {
            let errors = serde_json::json!({ REPLY_FIELD: "Write the reply the requester will see." });
            return Json(serde_json::json!({ "response_action": "errors", "errors": errors })).into_response();
        }
    }
    if let Some((form, _)) = payload.submitted_form() {
        let projects = match state.store.projects().await {
            Ok(projects) => projects,
            Err(e) => {
                tracing::error!(error = %e, "could not read projects to check a form");
                return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
            }
        };
        let departments: Vec<Vec<String>> = projects.iter().map(|p| p.departments()).collect();
        let choices: Vec<ProjectChoice> = projects
            .iter()
            .zip(&departments)
            .map(|(p, departments)| ProjectChoice {
                key: &p.key,
                departments,
            })
            .collect();
        if let Err(errors) = forms::validate(&form, &choices) {
            let errors: serde_json::Map<String, serde_json::Value> = errors
                .into_iter()
                .map(|(field, message)| (field.to_owned(), message.into()))
                .collect();
            return Json(serde_json::json!({ "response_action": "errors", "errors": errors })).into_response();
        }
        answer = Json(serde_json::json!({ "response_action": "update", "view": views::filing() })).into_response();
    }
    let event = NewEvent {
        dedupe_key,
        order_key: format!("user:{}", payload.user_id()),
        body: json,
    };
    store(&state, event, answer).await
}

/// `POST /slack/commands`: `/desk`, sent as form fields. Stored and acknowledged with an
/// empty answer; the worker answers through the command's `response_url`.
pub async fn commands(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let body = match verified(&state, "/slack/commands", &headers, &body) {
        Ok(body) => body,
        Err(_) => return UNAUTHORIZED.into_response(),
    };
    let command = match SlashCommand::from_form(body) {
        Ok(command) => command,
        Err(e) => {
            tracing::warn!(error = %e, "malformed slash command");
            return (StatusCode::BAD_REQUEST, "malformed slash command").into_response();
        }
    };
    let event = NewEvent {
        dedupe_key: command.dedupe_key(),
        order_key: format!("user:{}", command.user_id),
        body: serde_json::to_string(&command).expect("commands serialize"),
    };
    store(&state, event, StatusCode::OK.into_response()).await
}
