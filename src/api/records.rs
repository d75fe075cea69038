//! What the admin API shows of the desk's records: tickets with their conversation,
//! the outbox, parked messages and the audit trail.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{not_found, ApiError, ApiQuery, Result};
use crate::state::AppState;
use crate::store::StoreError;

#[derive(Deserialize)]
pub(super) struct TicketQuery {
    project: Option<String>,
    limit: Option<i64>,
    before: Option<i64>,
}

pub(super) async fn list_tickets(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<TicketQuery>,
) -> Result<impl IntoResponse> {
    let limit = query.limit.unwrap_or(50).clamp(1, 500);
    let tickets = state
        .store
        .tickets(query.project.as_deref(), query.before, limit)
        .await?;
    let next = (tickets.len() as i64 == limit)
        .then(|| tickets.last().map(|t| t.id))
        .flatten();
    Ok(Json(json!({ "tickets": tickets, "next_before": next })))
}

pub(super) async fn get_ticket(State(state): State<AppState>, Path(key): Path<String>) -> Result<impl IntoResponse> {
    let ticket = state
        .store
        .ticket_by_key(&key)
        .await
        .map_err(not_found(format!("no ticket {key}")))?;
    let (comments, attachments, messages) = tokio::try_join!(
        state.store.comments(ticket.id),
        state.store.attachments(ticket.id),
        state.store.ticket_messages(ticket.id),
    )?;
    let slack_messages: Vec<_> = messages
        .iter()
        .map(|m| json!({ "role": m.role, "channel_id": m.channel_id, "ts": m.ts }))
        .collect();
    let mut body = serde_json::to_value(&ticket).map_err(|e| ApiError::Internal(StoreError::Other(e.to_string())))?;
    body["comments"] = json!(comments);
    body["attachments"] = json!(attachments);
    body["slack_messages"] = json!(slack_messages);
    Ok(Json(body))
}

#[derive(Deserialize)]
pub(super) struct OutboxQuery {
    state: Option<String>,
    limit: Option<i64>,
}

pub(super) async fn list_outbox(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<OutboxQuery>,
) -> Result<Response> {
    let (wanted, limit) = query.checked()?;
    Ok(Json(json!({ "effects": state.store.effects(&wanted, limit).await? })).into_response())
}

/// Events as they stand in the inbox: by default those set aside (`failed`), with why.
pub(super) async fn list_inbox(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<OutboxQuery>,
) -> Result<Response> {
    let (wanted, limit) = query.checked()?;
    Ok(Json(json!({ "events": state.store.events(&wanted, limit).await? })).into_response())
}

impl OutboxQuery {
    /// The state asked for (`failed` unless given) and the page size (1–1000, 100).
    fn checked(self) -> Result<(String, i64)> {
        let wanted = self.state.unwrap_or_else(|| "failed".into());
        if !["pending", "done", "failed"].contains(&wanted.as_str()) {
            return Err(ApiError::Invalid("state is pending, done or failed".into()));
        }
        Ok((wanted, self.limit.unwrap_or(100).clamp(1, 1000)))
    }
}

#[derive(Deserialize)]
pub(super) struct LimitQuery {
    limit: Option<i64>,
}

pub(super) async fn list_parked(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<LimitQuery>,
) -> Result<impl IntoResponse> {
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(json!({ "parked": state.store.parked_messages(limit).await? })))
}

#[derive(Deserialize)]
pub(super) struct AuditQuery {
    ticket: Option<String>,
}

/// Who changed a ticket, how and from where, oldest first.
pub(super) async fn list_audit(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<impl IntoResponse> {
    let ticket = match &query.ticket {
        Some(key) => Some(
            state
                .store
                .ticket_by_key(key)
                .await
                .map_err(not_found(format!("no ticket {key}")))?,
        ),
        None => None,
    };
    let entries: Vec<_> = state
        .store
        .audit(ticket.as_ref().map(|t| t.id))
        .await?
        .into_iter()
        .map(|e| {
            let detail = serde_json::from_str(&e.detail).unwrap_or_else(|_| json!(e.detail));
            let on_behalf_of: serde_json::Value = e
                .on_behalf_of
                .as_deref()
                .and_then(|j| serde_json::from_str(j).ok())
                .unwrap_or_default();
            json!({
                "at": e.at, "actor_slack_id": e.actor_slack_id, "actor_name": e.actor_name,
                "on_behalf_of": on_behalf_of, "source": e.source, "action": e.action, "detail": detail,
            })
        })
        .collect();
    Ok(Json(json!({ "ticket": ticket.map(|t| t.key), "audit": entries })))
}
