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
use crate::app::AppState;
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
            let retry = headers
                .get("x-slack-retry-num")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("0");
            match state.inbox.submit(event).await {
                Ok(true) => StatusCode::OK.into_response(),
                Ok(false) => {
                    tracing::debug!(event.id = event_id, retry, "already stored: retry acknowledged");
                    StatusCode::OK.into_response()
                }
                Err(e) => {
                    // Not acknowledged, so Slack sends it again: nothing is lost.
                    tracing::error!(event.id = event_id, error = %e, "could not store an event");
                    (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
                }
            }
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
