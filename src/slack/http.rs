//! Slack over HTTP: `POST /slack/events`, `/slack/interactivity` and `/slack/commands`,
//! each verified by its signature, then handed to [`ingress::accept`], whose answer is
//! turned into the HTTP response Slack expects.

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
        Err(_) => UNAUTHORIZED.into_response(),
    }
}

/// Interactivity comes as a form with one field, `payload`, holding JSON.
async fn interactivity(State(state): State<SlackHttp>, headers: HeaderMap, body: Bytes) -> Response {
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
    respond(ingress::accept(&state.app, Incoming::Interaction(&json)).await)
}

/// Slash commands come as form fields; the worker answers through their `response_url`.
async fn commands(State(state): State<SlackHttp>, headers: HeaderMap, body: Bytes) -> Response {
    let body = match verified(&state, "/slack/commands", &headers, &body) {
        Ok(body) => body,
        Err(_) => return UNAUTHORIZED.into_response(),
    };
    match SlashCommand::from_form(body) {
        Ok(command) => respond(ingress::accept(&state.app, Incoming::Command(command)).await),
        Err(e) => {
            tracing::warn!(error = %e, "malformed slash command");
            (StatusCode::BAD_REQUEST, "malformed slash command").into_response()
        }
    }
}
