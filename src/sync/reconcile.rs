//! Nothing missed: every few minutes each connected project asks Jira what changed since
//! its last pass (JQL on `updated`, paged with `startAt`/`maxResults`, and each changed
//! request's comments, paged with `start`/`limit`/`isLastPage`). What it finds goes into
//! the inbox in the webhook's own shape, keyed by when the issue last changed, so a change
//! an earlier pass found is stored once; one the webhook already brought matches the
//! mirror, and one older than what was seen is stale and left alone.

use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::admin::jira::connection_of;
use crate::jira::api::{jql_string, JiraApi, JiraError};
use crate::jira::webhook::JIRA_KEY_PREFIX;
use crate::store::{JiraBackendRecord, NewEvent, Store};
use crate::vault::Vault;

/// A pass looks this much further back than the last one ended: Jira's search index
/// trails its changes a little.
const OVERLAP_MS: i64 = 5 * 60 * 1000;
/// Issues per page, and pages per pass at most.
const PAGE: usize = 50;
const MOST_PAGES: usize = 40;

/// Reconcile every connected project every `every`, until `stop`.
pub async fn run(
    store: Store,
    http: reqwest::Client,
    vault: Option<Vault>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let Some(vault) = vault else { return };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        let backends = match store.jira_backends().await {
            Ok(backends) => backends,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the Jira connections to reconcile");
                continue;
            }
        };
        for backend in backends.iter().filter(|b| b.paused_at.is_none()) {
            match reconcile(&store, &http, &vault, backend).await {
                Ok(found) if found > 0 => {
                    tracing::info!(project = %backend.project_key, found, "the reconcile found changes Jira had")
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(project = %backend.project_key, error = %e, "the reconcile could not ask Jira")
                }
            }
        }
    }
}

/// One pass over one project: how many changes it stored for the worker.
pub async fn reconcile(
    store: &Store,
    http: &reqwest::Client,
    vault: &Vault,
    backend: &JiraBackendRecord,
) -> Result<usize, String> {
    let connection = connection_of(backend, vault).map_err(|e| e.to_string())?;
    let api = JiraApi::new(http.clone(), &connection.site_url, &connection.email, connection.token);
    let started = store.now_ms();
    let since = backend.synced_to.unwrap_or(backend.created_at) - OVERLAP_MS;
    let minutes = ((started - since).max(0) / 60_000) + 1;
    let jql = format!(
        "project = {} AND updated >= -{minutes}m ORDER BY updated ASC",
        jql_string(&backend.jira_project)
    );
    let said = |e: JiraError| e.to_string();
    let mut events = Vec::new();
    let mut start_at = 0;
    for _ in 0..MOST_PAGES {
        let page = api
            .search(
                &jql,
                start_at,
                PAGE,
                &["summary", "status", "priority", "assignee", "reporter", "updated"],
            )
            .await
            .map_err(said)?;
        let count = page.issues.len();
        for issue in page.issues {
            let Some(id) = issue["id"].as_str().map(str::to_owned) else {
                continue;
            };
            let linked = store.jira_ticket_of_issue(&id).await.map_err(|e| e.to_string())?;
            let Some((ticket_id, installation)) = linked else {
                continue;
            };
            // deskhand's own changes go first: the next pass sees Jira with them.
            if store.jira_changes_pending(ticket_id).await.map_err(|e| e.to_string())? {
                continue;
            }
            let key = issue["key"].as_str().unwrap_or_default().to_owned();
            let updated = issue["fields"]["updated"].as_str().unwrap_or_default().to_owned();
            events.push(event(
                &backend.project_key,
                format!("sync:{id}:{:x}", Sha256::digest(updated.as_bytes())),
                &id,
                installation.clone(),
                json!({ "webhookEvent": "jira:issue_updated", "issue": issue }),
            ));
            let mut start = 0;
            for _ in 0..MOST_PAGES {
                let comments = api.comments(&key, start, PAGE).await.map_err(said)?;
                for comment in &comments.values {
                    let author = comment.author.as_ref();
                    events.push(event(
                        &backend.project_key,
                        format!("sync-comment:{}", comment.id),
                        &id,
                        installation.clone(),
                        json!({
                            "webhookEvent": "comment_created",
                            "issue": { "id": id, "key": key, "fields": {} },
                            "comment": {
                                "id": comment.id, "body": comment.body, "jsdPublic": comment.public,
                                "author": {
                                    "accountId": author.map(|a| a.account_id.as_str()).unwrap_or_default(),
                                    "displayName": author.map(|a| a.display_name.as_str()).unwrap_or_default(),
                                },
                            },
                        }),
                    ));
                }
                if comments.is_last_page || comments.values.is_empty() {
                    break;
                }
                start += comments.values.len();
            }
        }
        start_at += count;
        if count == 0 || start_at >= page.total {
            break;
        }
    }
    let stored = store.insert_events(&events).await.map_err(|e| e.to_string())?;
    store
        .set_jira_synced_to(&backend.project_key, started)
        .await
        .map_err(|e| e.to_string())?;
    Ok(stored.iter().filter(|new| **new).count())
}

/// A change found, as the inbox keeps a webhook delivery.
fn event(project: &str, identifier: String, issue_id: &str, installation: Option<String>, body: Value) -> NewEvent {
    NewEvent {
        dedupe_key: format!("{JIRA_KEY_PREFIX}{identifier}"),
        order_key: format!("jira:{issue_id}"),
        body: json!({ "project": project, "event": body }).to_string(),
        urgent: false,
        installation,
    }
}
