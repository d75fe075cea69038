//! `POST /jira/webhook`: Jira's changes, in. A delivery is signed with the webhook secret
//! of the project it is for (`X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`),
//! stored in the inbox before it is acknowledged, and stored once however often Jira
//! delivers it (`X-Atlassian-Webhook-Identifier`). The worker reads it back with
//! [`decode`].

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::admin::jira::webhook_purpose;
use crate::desk::jira::{
    is_issue_key, is_numeric_id, jira_time, plain_text, JiraComment, JiraEvent, JiraEventKind, JiraUser,
};
use crate::state::AppState;
use crate::store::NewEvent;

/// What the inbox rows of Jira's changes start with.
pub const JIRA_KEY_PREFIX: &str = "jira:";

pub fn routes(state: AppState) -> Router {
    Router::new().route("/jira/webhook", post(webhook)).with_state(state)
}

fn signed_by(secret: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = decode_hex(hex) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

fn decode_hex(hex: &str) -> Result<Vec<u8>, ()> {
    if hex.len() != 64 {
        return Err(());
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| ()))
        .collect()
}

/// A delivery's identifier as Jira sends it: short, of letters, digits and `-`.
fn identifier(headers: &HeaderMap, body: &[u8]) -> String {
    headers
        .get("x-atlassian-webhook-identifier")
        .and_then(|v| v.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 100 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("body-{:x}", Sha256::digest(body)))
}

fn answer(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "ok": status.is_success(), "message": message })),
    )
        .into_response()
}

async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(signature) = headers.get("x-hub-signature").and_then(|v| v.to_str().ok()) else {
        tracing::warn!("a Jira webhook without X-Hub-Signature was refused");
        return answer(StatusCode::UNAUTHORIZED, "unsigned");
    };
    let (backends, vault) = match (state.store.jira_backends().await, state.config.secret_key.as_ref()) {
        (Ok(backends), Some(vault)) => (backends, vault),
        (Err(e), _) => {
            tracing::error!(error = %e, "could not read the Jira connections for a webhook");
            return answer(StatusCode::SERVICE_UNAVAILABLE, "try again");
        }
        (_, None) => return answer(StatusCode::UNAUTHORIZED, "no Jira connection"),
    };
    let project = backends.iter().find(|b| {
        vault
            .open(&b.webhook_secret, &webhook_purpose(&b.project_key))
            .is_ok_and(|secret| signed_by(&secret, &body, signature))
    });
    let Some(project) = project.map(|b| b.project_key.clone()) else {
        tracing::warn!(bytes = body.len(), "a Jira webhook with a bad signature was refused");
        return answer(StatusCode::UNAUTHORIZED, "bad signature");
    };
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {
        return answer(StatusCode::BAD_REQUEST, "not JSON");
    };
    let decoded = match event_of(&event) {
        Ok(Some(decoded)) => decoded,
        Ok(None) => return answer(StatusCode::OK, "nothing deskhand acts on"),
        Err(e) => return answer(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    // Handled with the Slack token of the workspace its ticket came from.
    let installation = match state.store.jira_ticket_of_issue(&decoded.issue_id).await {
        Ok(linked) => linked.and_then(|(_, installation)| installation),
        Err(e) => {
            tracing::error!(error = %e, "could not look up a Jira webhook's ticket");
            return answer(StatusCode::SERVICE_UNAVAILABLE, "try again");
        }
    };
    let stored = state
        .inbox
        .submit(NewEvent {
            dedupe_key: format!("{JIRA_KEY_PREFIX}{}", identifier(&headers, &body)),
            order_key: format!("jira:{}", decoded.issue_id),
            body: json!({ "project": project, "event": event }).to_string(),
            urgent: false,
            installation,
        })
        .await;
    match stored {
        Ok(_) => answer(StatusCode::OK, "stored"),
        Err(e) => {
            tracing::error!(error = %e, "could not store a Jira webhook");
            answer(StatusCode::SERVICE_UNAVAILABLE, "try again")
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not a stored Jira change: {0}")]
    Json(#[from] serde_json::Error),
    #[error("a Jira change without {0}")]
    Missing(&'static str),
}

/// A stored delivery: the project whose secret signed it, and its change.
pub fn decode(body: &str) -> Result<(String, Option<JiraEvent>), DecodeError> {
    let stored: Value = serde_json::from_str(body)?;
    let project = stored["project"].as_str().ok_or(DecodeError::Missing("project"))?;
    Ok((project.to_owned(), event_of(&stored["event"])?))
}

fn user_of(value: &Value) -> Option<JiraUser> {
    Some(JiraUser {
        account_id: value["accountId"].as_str()?.to_owned(),
        name: value["displayName"].as_str().unwrap_or_default().to_owned(),
        email: value["emailAddress"].as_str().map(str::to_owned),
    })
}

/// A webhook body (or one the reconcile made in its shape) as the change it tells of;
/// `None` for events deskhand does not act on.
pub fn event_of(event: &Value) -> Result<Option<JiraEvent>, DecodeError> {
    let kind = match event["webhookEvent"].as_str().unwrap_or_default() {
        "jira:issue_created" => JiraEventKind::IssueCreated,
        "jira:issue_updated" => JiraEventKind::IssueUpdated,
        "jira:issue_deleted" => JiraEventKind::IssueDeleted,
        "comment_created" => JiraEventKind::CommentCreated,
        "comment_updated" => JiraEventKind::CommentUpdated,
        "comment_deleted" => JiraEventKind::CommentDeleted,
        _ => return Ok(None),
    };
    let issue = &event["issue"];
    let issue_id = match &issue["id"] {
        Value::String(id) => id.clone(),
        Value::Number(id) => id.to_string(),
        _ => return Err(DecodeError::Missing("issue.id")),
    };
    if !is_numeric_id(&issue_id) {
        return Err(DecodeError::Missing("a numeric issue.id"));
    }
    let issue_key = issue["key"].as_str().unwrap_or_default();
    if !issue_key.is_empty() && !is_issue_key(issue_key) {
        return Err(DecodeError::Missing("an issue.key shaped as Jira's"));
    }
    let fields = &issue["fields"];
    let assignee = match fields.get("assignee") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(user) => Some(user_of(user)),
    };
    let comment = match kind {
        JiraEventKind::CommentCreated | JiraEventKind::CommentUpdated | JiraEventKind::CommentDeleted => {
            let comment = &event["comment"];
            Some(JiraComment {
                id: comment["id"]
                    .as_str()
                    .ok_or(DecodeError::Missing("comment.id"))?
                    .to_owned(),
                body: plain_text(&comment["body"]),
                public: comment["jsdPublic"].as_bool().unwrap_or(false),
                author: user_of(&comment["author"]).unwrap_or_default(),
            })
        }
        _ => None,
    };
    Ok(Some(JiraEvent {
        kind,
        issue_id,
        issue_key: issue_key.to_owned(),
        summary: fields["summary"].as_str().map(str::to_owned),
        status: fields["status"]["name"].as_str().map(str::to_owned),
        priority: fields["priority"]["name"].as_str().map(str::to_owned),
        assignee,
        reporter: user_of(&fields["reporter"]),
        actor: event["user"]["accountId"].as_str().map(str::to_owned),
        actor_name: event["user"]["displayName"].as_str().map(str::to_owned),
        comment,
        at: event["timestamp"]
            .as_i64()
            .or_else(|| fields["updated"].as_str().and_then(jira_time)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmacs_of_the_raw_body() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(b"{}");
        let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert!(signed_by("s3cret", b"{}", &format!("sha256={hex}")));
        assert!(!signed_by("other", b"{}", &format!("sha256={hex}")));
        assert!(!signed_by("s3cret", b"{ }", &format!("sha256={hex}")));
        assert!(!signed_by("s3cret", b"{}", &hex));
    }

    #[test]
    fn changes_read_as_jira_sends_them() {
        let event = json!({
            "webhookEvent": "comment_created",
            "user": { "accountId": "a-1" },
            "issue": { "id": "10001", "key": "SUP-1", "fields": { "status": { "name": "Open" }, "assignee": null } },
            "comment": { "id": "7", "body": "Hello", "jsdPublic": true, "author": { "accountId": "a-1", "displayName": "Ivy" } }
        });
        let read = event_of(&event).unwrap().unwrap();
        assert_eq!(read.kind, JiraEventKind::CommentCreated);
        assert_eq!(read.assignee, Some(None));
        assert_eq!(read.status.as_deref(), Some("Open"));
        let comment = read.comment.unwrap();
        assert!(comment.public && comment.author.name == "Ivy");
        let unsaid =
            json!({ "webhookEvent": "comment_created", "issue": { "id": "1" }, "comment": { "id": "2", "body": "x" } });
        assert!(
            !event_of(&unsaid).unwrap().unwrap().comment.unwrap().public,
            "internal unless Jira says public"
        );
        assert!(event_of(&json!({ "webhookEvent": "board_created" })).unwrap().is_none());
        assert!(event_of(&json!({ "webhookEvent": "jira:issue_updated", "issue": { "id": "x;" } })).is_err());
    }
}
