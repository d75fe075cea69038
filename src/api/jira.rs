//! A project's Jira Service Management connection: `PUT`/`GET /projects/{KEY}/backend`
//! and `GET …/backend/check`, and a support channel's facilitator's Jira account. Secrets
//! go in and never come out.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use super::{ApiJson, Result};
use crate::admin::jira::{self, BackendRequest, FacilitatorAccount};
use crate::admin::ADMIN_API;
use crate::state::AppState;

pub(super) async fn put_backend(
    State(state): State<AppState>,
    Path(key): Path<String>,
    ApiJson(request): ApiJson<BackendRequest>,
) -> Result<impl IntoResponse> {
    let saved = jira::connect(
        &state.store,
        state.service_desk.as_ref(),
        state.config.secret_key.as_ref(),
        ADMIN_API,
        &key,
        request,
    )
    .await?;
    Ok(Json(backend_json(&saved)))
}

fn backend_json(backend: &crate::store::JiraBackendRecord) -> serde_json::Value {
    let mut body = json!(backend);
    body["backend"] = "jira".into();
    body["mappings"] = json!(backend.mappings());
    body
}

pub(super) async fn get_backend(State(state): State<AppState>, Path(key): Path<String>) -> Result<impl IntoResponse> {
    let backend = jira::backend_of(&state.store, &key).await?;
    Ok(Json(backend_json(&backend)))
}

pub(super) async fn check_backend(State(state): State<AppState>, Path(key): Path<String>) -> Result<impl IntoResponse> {
    let backend = jira::backend_of(&state.store, &key).await?;
    let findings = jira::check(
        &state.store,
        state.service_desk.as_ref(),
        state.config.secret_key.as_ref(),
        &backend,
    )
    .await?;
    let ok = findings.iter().all(|f| f.ok);
    Ok(Json(json!({ "ok": ok, "findings": findings })))
}

pub(super) async fn put_facilitator_account(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    ApiJson(account): ApiJson<FacilitatorAccount>,
) -> Result<impl IntoResponse> {
    let saved = jira::authorize_facilitator(
        &state.store,
        state.service_desk.as_ref(),
        state.config.secret_key.as_ref(),
        ADMIN_API,
        &channel,
        account,
    )
    .await?;
    Ok(Json(json!(saved)))
}

pub(super) async fn delete_facilitator_account(
    State(state): State<AppState>,
    Path(channel): Path<String>,
) -> Result<impl IntoResponse> {
    jira::revoke_facilitator(&state.store, ADMIN_API, &channel).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
