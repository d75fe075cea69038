//! A ticket's participants through the admin API, and `POST /mail/inbound`: the replies
//! participants send by mail, handed over by the mail relay as raw RFC 822 messages.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::{constant_time_eq, ApiError, ApiJson, Result};
use crate::admin::participants::{self, MailedReply};
use crate::admin::ADMIN_API;
use crate::desk::participants::{reply_text, reply_token};
use crate::state::AppState;

pub(super) async fn list(State(state): State<AppState>, Path(key): Path<String>) -> Result<impl IntoResponse> {
    let ticket = state
        .store
        .ticket_by_key(&key)
        .await
        .map_err(super::not_found(format!("no ticket {key}")))?;
    Ok(Json(
        json!({ "participants": state.store.participants(ticket.id).await? }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AddRequest {
    /// A Slack user id or a customer's address.
    person: String,
    #[serde(default)]
    confirm: bool,
}

pub(super) async fn add(
    State(state): State<AppState>,
    Path(key): Path<String>,
    ApiJson(request): ApiJson<AddRequest>,
) -> Result<impl IntoResponse> {
    let directory = state.directory.as_ref();
    let after = participants::add(
        &state.store,
        directory,
        ADMIN_API,
        &key,
        &request.person,
        request.confirm,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "participants": after }))))
}

pub(super) async fn remove(
    State(state): State<AppState>,
    Path((key, person)): Path<(String, String)>,
) -> Result<StatusCode> {
    participants::remove(&state.store, state.directory.as_ref(), ADMIN_API, &key, &person).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /mail/inbound`, behind `Authorization: Bearer $DESKHAND_MAIL_INBOUND_TOKEN`.
pub fn inbound_routes(state: AppState) -> Router {
    Router::new().route("/mail/inbound", post(inbound)).with_state(state)
}

async fn inbound(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(token) = &state.config.mail_inbound_token else {
        return ApiError::NotFound("inbound mail is off: set DESKHAND_MAIL_INBOUND_TOKEN".into()).into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !given.is_some_and(|given| constant_time_eq(given.as_bytes(), token.expose().as_bytes())) {
        tracing::warn!("inbound mail without a valid token");
        return ApiError::Unauthorized.into_response();
    }
    let reply = match read(&body) {
        Ok(reply) => reply,
        Err(e) => return e.into_response(),
    };
    match participants::mail_reply(&state.store, reply).await {
        Ok(received) if received.duplicate => (StatusCode::OK, Json(json!(received))).into_response(),
        Ok(received) => (StatusCode::ACCEPTED, Json(json!(received))).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The reply in a raw message: the token its recipient carries, who sent it, its id, and
/// its text without what it quotes.
fn read(raw: &[u8]) -> Result<MailedReply> {
    let message = mail_parser::MessageParser::default()
        .parse(raw)
        .filter(|m| m.from().is_some())
        .ok_or_else(|| ApiError::BadRequest("not an RFC 822 message with a From header".into()))?;
    let mut recipients: Vec<String> = Vec::new();
    for list in [message.to(), message.cc()].into_iter().flatten() {
        recipients.extend(list.iter().filter_map(|a| a.address()).map(str::to_owned));
    }
    for name in ["Delivered-To", "X-Original-To"] {
        for value in message.header_values(name) {
            if let Some(text) = value.as_text() {
                recipients.push(text.trim().to_owned());
            }
            if let Some(list) = value.as_address() {
                recipients.extend(list.iter().filter_map(|a| a.address()).map(str::to_owned));
            }
        }
    }
    let token = reply_token(recipients.iter().map(String::as_str))
        .ok_or_else(|| ApiError::Invalid("no recipient is a reply address of deskhand's (…+r-TOKEN@…)".into()))?;
    let from = message
        .from()
        .and_then(|f| f.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_owned();
    let text = reply_text(&message.body_text(0).unwrap_or_default());
    // Without a Message-ID, the message itself says which one it is.
    let message_id = match message.message_id() {
        Some(id) => id.to_owned(),
        None => {
            use sha2::Digest;
            format!("sha256:{:x}", sha2::Sha256::digest(raw))
        }
    };
    Ok(MailedReply {
        token,
        from,
        message_id,
        text,
    })
}
