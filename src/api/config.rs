//! Configuration through the admin API: projects, channels, settings and facilitators.
//! Each handler reads the request, calls its use case in [`crate::admin`] and shapes the
//! answer; the rules and the writes are the use cases'.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{not_found, ApiError, ApiJson, Result};
use crate::admin::channels::{self, FacilitatorChange};
use crate::admin::parked::Released;
use crate::admin::{facilitators, settings, ADMIN_API};
use crate::desk::config::{ChannelKind, ChannelRequest};
use crate::desk::settings::SettingsChange;
use crate::state::AppState;
use crate::store::{ChannelRecord, ProjectRecord};

pub(super) async fn put_project(
    State(state): State<AppState>,
    Path(key): Path<String>,
    ApiJson(request): ApiJson<settings::ProjectRequest>,
) -> Result<impl IntoResponse> {
    let saved = settings::save_project(&state.store, ADMIN_API, &key, request).await?;
    Ok(Json(project_json(saved)))
}

/// A project as the API shows it, with its workflow (the default one when none was set),
/// its departments with their managers, and what its messages show.
fn project_json(project: ProjectRecord) -> serde_json::Value {
    let mut body = json!(project);
    body["workflow"] = json!(project.workflow());
    body["department_records"] = json!(project.department_list());
    body["message_fields"] = json!(project.message_fields());
    body
}

/// What is wrong with the setup: the checks `deskhand doctor` runs.
pub(super) async fn doctor(State(state): State<AppState>) -> Result<impl IntoResponse> {
    let findings = crate::admin::doctor::run(
        &state.store,
        state.directory.as_ref(),
        state.service_desk.as_ref(),
        state.config.secret_key.as_ref(),
    )
    .await;
    let ok = findings.iter().all(|f| f.ok);
    Ok(Json(json!({ "ok": ok, "findings": findings })))
}

pub(super) async fn list_departments(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<impl IntoResponse> {
    let project = state
        .store
        .project(&key)
        .await
        .map_err(not_found(format!("no project {key}")))?;
    Ok(Json(json!({ "departments": project.department_list() })))
}

pub(super) async fn put_department(
    State(state): State<AppState>,
    Path((key, slug)): Path<(String, String)>,
    ApiJson(request): ApiJson<settings::DepartmentRequest>,
) -> Result<impl IntoResponse> {
    let saved = settings::save_department(&state.store, ADMIN_API, &key, &slug, request).await?;
    let department = saved.department_list().into_iter().find(|d| d.slug == slug);
    Ok(Json(json!(department)))
}

pub(super) async fn delete_department(
    State(state): State<AppState>,
    Path((key, slug)): Path<(String, String)>,
) -> Result<impl IntoResponse> {
    settings::delete_department(&state.store, ADMIN_API, &key, &slug).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn list_projects(State(state): State<AppState>) -> Result<impl IntoResponse> {
    let projects: Vec<_> = state.store.projects().await?.into_iter().map(project_json).collect();
    Ok(Json(json!({ "projects": projects })))
}

pub(super) async fn get_project(State(state): State<AppState>, Path(key): Path<String>) -> Result<impl IntoResponse> {
    let project = state
        .store
        .project(&key)
        .await
        .map_err(not_found(format!("no project {key}")))?;
    Ok(Json(project_json(project)))
}

pub(super) async fn get_settings(State(state): State<AppState>) -> Result<Json<serde_json::Value>> {
    Ok(Json(json!(state.store.settings().await?)))
}

pub(super) async fn put_settings(
    State(state): State<AppState>,
    ApiJson(change): ApiJson<SettingsChange>,
) -> Result<impl IntoResponse> {
    Ok(Json(json!(settings::update(&state.store, ADMIN_API, change).await?)))
}

/// The channel as the API shows it: a support channel's settings only for support channels.
#[derive(Serialize)]
struct ChannelResponse {
    channel_id: String,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auto_create: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thread_sync: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    announcement_marker: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    create_emoji: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assign_emoji: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolve_emoji: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_department: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_request_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_priority: Option<String>,
    /// Who files for people the desk cannot link, who authorized them, and when.
    #[serde(skip_serializing_if = "Option::is_none")]
    facilitator: Option<serde_json::Value>,
    created_at: i64,
    updated_at: i64,
}

impl From<ChannelRecord> for ChannelResponse {
    fn from(c: ChannelRecord) -> Self {
        let support = c.kind == ChannelKind::Support;
        Self {
            channel_id: c.channel_id,
            kind: c.kind.as_str(),
            project: c.project_key,
            agent_channel: c.agent_channel,
            auto_create: support.then_some(c.auto_create),
            thread_sync: support.then_some(c.thread_sync),
            announcement_marker: support.then_some(c.announcement_marker),
            create_emoji: support.then_some(c.create_emoji),
            assign_emoji: support.then_some(c.assign_emoji),
            resolve_emoji: support.then_some(c.resolve_emoji),
            default_department: c.default_department,
            default_request_type: c.default_request_type,
            default_priority: c.default_priority,
            facilitator: c.facilitator_slack_id.map(|id| {
                json!({ "slack_user_id": id, "authorized_by": c.facilitator_authorized_by, "authorized_at": c.facilitator_authorized_at })
            }),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

pub(super) async fn put_channel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ChannelRequest>,
) -> Result<impl IntoResponse> {
    let saved = channels::save(
        &state.store,
        state.directory.as_ref(),
        ADMIN_API,
        &id,
        request,
        FacilitatorChange::Keep,
    )
    .await?;
    Ok(Json(ChannelResponse::from(saved.channel)))
}

pub(super) async fn get_channel(State(state): State<AppState>, Path(id): Path<String>) -> Result<impl IntoResponse> {
    let channel = state
        .store
        .channel(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("channel {id} is not configured")))?;
    Ok(Json(ChannelResponse::from(channel)))
}

pub(super) async fn list_channels(State(state): State<AppState>) -> Result<impl IntoResponse> {
    let channels: Vec<ChannelResponse> = state.store.channels().await?.into_iter().map(Into::into).collect();
    Ok(Json(json!({ "channels": channels })))
}

/// One installed workspace's settings.
pub(super) async fn get_workspace_settings(
    State(state): State<AppState>,
    Path(installation): Path<String>,
) -> Result<impl IntoResponse> {
    Ok(Json(json!(settings::of_workspace(&state.store, &installation).await?)))
}

pub(super) async fn put_workspace_settings(
    State(state): State<AppState>,
    Path(installation): Path<String>,
    ApiJson(change): ApiJson<SettingsChange>,
) -> Result<impl IntoResponse> {
    let after = settings::update_workspace(&state.store, ADMIN_API, &installation, change).await?;
    Ok(Json(json!(after)))
}

/// The workspaces installed through Slack's OAuth, in place or removed; never a token.
pub(super) async fn list_workspaces(State(state): State<AppState>) -> Result<impl IntoResponse> {
    Ok(Json(json!({ "workspaces": state.store.installations().await? })))
}

pub(super) async fn delete_channel(State(state): State<AppState>, Path(id): Path<String>) -> Result<impl IntoResponse> {
    channels::unbind(&state.store, ADMIN_API, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FacilitatorBody {
    slack_user_id: String,
}

/// An answer with how many parked messages an authorization handed back or reported.
fn with_released(mut body: serde_json::Value, released: Released) -> Json<serde_json::Value> {
    body["parked_released"] = json!(released.filed);
    body["parked_reported"] = json!(released.reported);
    Json(body)
}

pub(super) async fn put_facilitator(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<FacilitatorBody>,
) -> Result<impl IntoResponse> {
    let (channel, released) = facilitators::authorize(
        &state.store,
        state.directory.as_ref(),
        ADMIN_API,
        &id,
        &body.slack_user_id,
    )
    .await?;
    Ok(with_released(json!(ChannelResponse::from(channel)), released))
}

pub(super) async fn delete_facilitator(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse> {
    let channel = facilitators::revoke(&state.store, ADMIN_API, &id).await?;
    Ok(Json(ChannelResponse::from(channel)))
}

pub(super) async fn put_workspace_facilitator(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<FacilitatorBody>,
) -> Result<impl IntoResponse> {
    let (settings, released) =
        facilitators::authorize_workspace(&state.store, state.directory.as_ref(), ADMIN_API, &body.slack_user_id)
            .await?;
    Ok(with_released(json!(settings), released))
}

pub(super) async fn delete_workspace_facilitator(State(state): State<AppState>) -> Result<impl IntoResponse> {
    Ok(Json(json!(
        facilitators::revoke_workspace(&state.store, ADMIN_API).await?
    )))
}
