//! Slack over HTTP: `POST /slack/events`, `/slack/interactivity` and `/slack/commands`,
//! each verified by its signature, then handed to [`ingress::accept`], whose answer is
//! turned into the HTTP response Slack expects.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use slack_morphism::signature_verifier::SlackEventSignatureVerifier;
use slack_morphism::SlackSigningSecret;

use super::ingress::{self, Answer, Incoming};
use super::interactions::SlashCommand;
use crate::state::AppState;

/// Checks Slack's v0 signature: HMAC-SHA256 of `v0:{timestamp}:{body}` under the signing
/// secret, compared in constant time, with the timestamp no more than 5 minutes off
/// (<https://api.slack.com/authentication/verifying-requests-from-slack>).
#[derive(Clone)]
pub struct SignatureCheck(SlackEventSignatureVerifier, Arc<str>);

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
        Self(
            SlackEventSignatureVerifier::new(&SlackSigningSecret::new(secret.to_owned())),
            secret.into(),
        )
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
        let Ok(text) = std::str::from_utf8(body) else {
            // Slack signs bytes: a body it really signed that is not text is malformed
            // (400), anything else is not from Slack (401).
            return Err(if self.signs(signature, timestamp, body) {
                Rejection::NotUtf8
            } else {
                Rejection::BadSignature
            });
        };
        self.0
            .verify(signature, text, timestamp)
            .map_err(|_| Rejection::BadSignature)?;
        Ok(text)
    }

    /// Whether `signature` is Slack's v0 signature of these bytes, sent within 5 minutes.
    fn signs(&self, signature: &str, timestamp: &str, body: &[u8]) -> bool {
        use hmac::Mac;
        let fresh = timestamp
            .parse::<i64>()
            .is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() <= 300);
        let Some(expected) = signature.strip_prefix("v0=").and_then(decode_hex) else {
            return false;
        };
        let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(self.1.as_bytes()) else {
            return false;
        };
        mac.update(format!("v0:{timestamp}:").as_bytes());
        mac.update(body);
        fresh && mac.verify_slice(&expected).is_ok()
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// What the Slack routes share: the application's state and the signature check.
#[derive(Clone)]
pub struct SlackHttp {
    pub app: AppState,
    pub signature: SignatureCheck,
}

/// The routes Slack calls.
pub fn routes(state: SlackHttp) -> Router {
    Router::new()
        .route("/slack/events", post(events))
        .route("/slack/interactivity", post(interactivity))
        .route("/slack/commands", post(commands))
        .with_state(state)
}

/// The answer to a request that is not from Slack.
const UNAUTHORIZED: (StatusCode, &str) = (StatusCode::UNAUTHORIZED, "invalid signature");

/// Verify a request from Slack, or say why not (answer it with [`UNAUTHORIZED`]). The log
/// line names the reason and the request's timestamp, never the signature or the secret.
fn verified<'b>(state: &SlackHttp, route: &str, headers: &HeaderMap, body: &'b [u8]) -> Result<&'b str, Rejection> {
    state.signature.verify(headers, body).inspect_err(|rejection| {
        let timestamp = headers
            .get("x-slack-request-timestamp")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::warn!(route, %rejection, timestamp, body_len = body.len(), "refused a request that is not from Slack");
    })
}

/// A request Slack did not sign is 401; one it signed whose body is not text is 400.
fn refused(rejection: Rejection) -> Response {
    match rejection {
        Rejection::NotUtf8 => (StatusCode::BAD_REQUEST, "body is not UTF-8").into_response(),
        Rejection::MissingHeaders | Rejection::BadSignature => UNAUTHORIZED.into_response(),
    }
}

fn respond(answer: Answer) -> Response {
    match answer {
        Answer::Ack => StatusCode::OK.into_response(),
        Answer::Json(body) => Json(body).into_response(),
        Answer::Malformed(why) => (StatusCode::BAD_REQUEST, why).into_response(),
        Answer::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response(),
    }
}

async fn events(State(state): State<SlackHttp>, headers: HeaderMap, body: Bytes) -> Response {
    match verified(&state, "/slack/events", &headers, &body) {
        Ok(body) => respond(ingress::accept(&state.app, Incoming::Event(body)).await),
        Err(rejection) => refused(rejection),
    }
}

/// Interactivity comes as a form with one field, `payload`, holding JSON.
async fn interactivity(State(state): State<SlackHttp>, headers: HeaderMap, body: Bytes) -> Response {
    let body = match verified(&state, "/slack/interactivity", &headers, &body) {
        Ok(body) => body,
        Err(rejection) => return refused(rejection),
    };
    let Some(json) = form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned())
    else {
        return (StatusCode::BAD_REQUEST, "no payload field").into_response();
    };
    respond(ingress::accept(&state.app, Incoming::Interaction(&json)).await)
}

/// Slash commands come as form fields; the worker answers through their `response_url`.
async fn commands(State(state): State<SlackHttp>, headers: HeaderMap, body: Bytes) -> Response {
    let body = match verified(&state, "/slack/commands", &headers, &body) {
        Ok(body) => body,
        Err(rejection) => return refused(rejection),
    };
    match SlashCommand::from_form(body) {
        Ok(command) => respond(ingress::accept(&state.app, Incoming::Command(command)).await),
        Err(e) => {
            tracing::warn!(error = %e, "malformed slash command");
            (StatusCode::BAD_REQUEST, "malformed slash command").into_response()
        }
    }
}
