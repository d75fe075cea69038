//! The JSON admin API under `/api/v1`, behind `Authorization: Bearer $DESKHAND_ADMIN_TOKEN`.
//! Every error is `{"error": {"code": …, "message": …}}` with a fitting status; internal
//! errors are logged with their cause and answered without it.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::app::AppState;
use crate::desk::identity::{self, SlackProfile, Verification};
use crate::desk::rules::{emoji_name, DEFAULT_ANNOUNCEMENT_MARKER, DEFAULT_EMOJI};
use crate::desk::workflow::Workflow;
use crate::desk::{Priority, ProjectKey};
use crate::store::{
    ChannelRecord, Facilitator, NewProject, ProjectRecord, StoreError, ADMINS, AGENTS, AGENTS_SET_PRIORITY,
    DEFAULT_PROJECT, WORKSPACE_FACILITATOR,
};
use crate::sync::parked;

/// The OpenAPI description of this API, served at `/api/v1/openapi.json`.
const OPENAPI: &str = include_str!("../../docs/openapi.json");

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or wrong bearer token")]
    Unauthorized,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] StoreError),
}

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

impl ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::NotFound(_) => "not_found",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Invalid(_) => "invalid",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("not found".into()),
            StoreError::Conflict(message) => ApiError::Conflict(message),
            other => ApiError::Internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = %cause, "admin API request failed");
        }
        let mut response = (
            self.status_code(),
            Json(json!({ "error": { "code": self.code(), "message": self.to_string() } })),
        )
            .into_response();
        if matches!(self, ApiError::Unauthorized) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("static header"));
        }
        response
    }
}

/// `Json` whose rejections (malformed JSON, wrong content type) are answered in our format.
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            // Well-formed JSON of the wrong shape is 422, like any invalid request.
            Err(rejection) if rejection.status() == StatusCode::UNPROCESSABLE_ENTITY => {
                Err(ApiError::Invalid(rejection_message(&rejection)))
            }
            Err(rejection) => Err(ApiError::BadRequest(rejection_message(&rejection))),
        }
    }
}

fn rejection_message(rejection: &JsonRejection) -> String {
    rejection.body_text()
}

/// `Query` whose rejections are answered in our format.
pub struct ApiQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
    }
}

/// A store lookup that found nothing is `not_found` with this message; any other error stays what it is.
fn not_found(message: String) -> impl FnOnce(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound => ApiError::NotFound(message),
        e => e.into(),
    }
}

pub fn routes(state: AppState) -> Router<AppState> {
    let protected = Router::new()
        .route("/projects", get(list_projects))
        .route("/projects/{key}", get(get_project).put(put_project))
        .route("/channels", get(list_channels))
        .route(
            "/channels/{id}",
            get(get_channel).put(put_channel).delete(delete_channel),
        )
        .route("/settings", get(get_settings).put(put_settings))
        .route(
            "/settings/facilitator",
            axum::routing::put(put_workspace_facilitator).delete(delete_workspace_facilitator),
        )
        .route(
            "/channels/{id}/facilitator",
            axum::routing::put(put_facilitator).delete(delete_facilitator),
        )
        .route("/tickets", get(list_tickets))
        .route("/tickets/{key}", get(get_ticket))
        .route("/outbox", get(list_outbox))
        .route("/parked", get(list_parked))
        .route("/audit", get(list_audit))
        .route_layer(axum::middleware::from_fn_with_state(state, require_token));
    Router::new()
        .route(
            "/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }),
        )
        .merge(protected)
}

async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(token) = &state.config.admin_token else {
        return ApiError::NotFound("the admin API is off: set DESKHAND_ADMIN_TOKEN".into()).into_response();
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let matches = given.is_some_and(|given| constant_time_eq(given.as_bytes(), token.expose().as_bytes()));
    if !matches {
        tracing::warn!(path = %request.uri().path(), "admin API request without a valid token");
        return ApiError::Unauthorized.into_response();
    }
    next.run(request).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectRequest {
    name: String,
    #[serde(default)]
    departments: Vec<String>,
    #[serde(default)]
    request_types: Vec<String>,
    workflow: Option<Workflow>,
}

/// Names for a list (departments, request types): trimmed, 1 to 60 characters, no repeats.
fn names(what: &str, names: &[String]) -> Result<Vec<String>> {
    let mut clean: Vec<String> = Vec::new();
    for name in names.iter().map(|n| n.trim()) {
        if name.is_empty() || name.chars().count() > 60 {
            return Err(ApiError::Invalid(format!("each of {what} must be 1 to 60 characters")));
        }
        if clean.iter().any(|c| c.eq_ignore_ascii_case(name)) {
            return Err(ApiError::Invalid(format!("{what} lists {name:?} twice")));
        }
        clean.push(name.to_owned());
    }
    Ok(clean)
}

async fn put_project(
    State(state): State<AppState>,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<ProjectRequest>,
) -> Result<impl IntoResponse> {
    let key = ProjectKey::parse(&key).map_err(|e| ApiError::Invalid(e.to_string()))?;
    let name = body.name.trim();
    if name.is_empty() {
        return Err(ApiError::Invalid("name must not be empty".into()));
    }
    if let Some(workflow) = &body.workflow {
        workflow
            .validate()
            .map_err(|e| ApiError::Invalid(format!("workflow: {e}")))?;
    }
    let departments = names("departments", &body.departments)?;
    let request_types = names("request_types", &body.request_types)?;
    let project = NewProject {
        key: key.as_str(),
        name,
        departments: &departments,
        request_types: &request_types,
        workflow: body.workflow.as_ref(),
    };
    let saved = state.store.upsert_project(&project).await?;
    let detail = json!({ "project": saved.key, "name": saved.name, "departments": departments,
                         "request_types": request_types, "workflow": body.workflow });
    audit_config_change(&state, ADMIN_API, "project_updated", detail).await?;
    Ok(Json(project_json(saved)))
}

/// A project as the API shows it, with its workflow (the default one when none was set).
fn project_json(project: ProjectRecord) -> serde_json::Value {
    let workflow = project.workflow();
    let mut body = json!(project);
    body["workflow"] = json!(workflow);
    body
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsRequest {
    /// The project of requests made in a DM or by mention outside support channels;
    /// `null` clears it, leaving it out keeps it.
    #[serde(default, deserialize_with = "present")]
    default_project: Option<Option<String>>,
    /// Days a parked message waits to be filed before it is reported instead (1–365).
    parked_retention_days: Option<i64>,
    /// Slack user ids who are deskhand admins besides the workspace's owners and admins.
    admins: Option<Vec<String>>,
    /// Slack user ids who are agents besides the members of agent channels.
    agents: Option<Vec<String>>,
    /// Whether agents may set priorities (admins always may).
    agents_set_priority: Option<bool>,
}

async fn get_settings(State(state): State<AppState>) -> Result<Json<serde_json::Value>> {
    let read = |key: &'static str| {
        let store = state.store.clone();
        async move {
            Ok::<_, StoreError>(
                store
                    .setting(key)
                    .await?
                    .and_then(|v| serde_json::from_str::<serde_json::Value>(&v).ok())
                    .unwrap_or_default(),
            )
        }
    };
    let default_project = read(DEFAULT_PROJECT).await?;
    let facilitator = read(WORKSPACE_FACILITATOR).await?;
    let retention = match read(parked::RETENTION_SETTING).await? {
        serde_json::Value::Null => json!(parked::DEFAULT_RETENTION_DAYS),
        days => days,
    };
    let list = |v: serde_json::Value| if v.is_null() { json!([]) } else { v };
    let admins = list(read(ADMINS).await?);
    let agents = list(read(AGENTS).await?);
    let agents_set_priority = read(AGENTS_SET_PRIORITY).await? == json!(true);
    Ok(Json(json!({
        "agents_set_priority": agents_set_priority,
        "default_project": default_project,
        "facilitator": facilitator,
        "parked_retention_days": retention,
        "admins": admins,
        "agents": agents,
    })))
}

async fn put_settings(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SettingsRequest>,
) -> Result<impl IntoResponse> {
    // Everything is checked before anything is written; a setting left out stays as it is.
    if let Some(Some(key)) = &body.default_project {
        state.store.project(key).await.map_err(|e| match e {
            StoreError::NotFound => ApiError::Invalid(format!("no project {key}: create it first")),
            e => e.into(),
        })?;
    }
    if body
        .parked_retention_days
        .is_some_and(|days| !(1..=365).contains(&days))
    {
        return Err(ApiError::Invalid("parked_retention_days must be 1 to 365".into()));
    }
    for (key, ids) in [(ADMINS, &body.admins), (AGENTS, &body.agents)] {
        if let Some(bad) = ids.iter().flatten().find(|id| !valid_user_id(id)) {
            return Err(ApiError::Invalid(format!(
                "{key}: {bad:?} is not a Slack user id (U… or W…)"
            )));
        }
    }
    let mut writes: Vec<(&str, Option<String>)> = Vec::new();
    if let Some(project) = &body.default_project {
        writes.push((DEFAULT_PROJECT, project.as_ref().map(|k| json!(k).to_string())));
    }
    if let Some(days) = body.parked_retention_days {
        writes.push((parked::RETENTION_SETTING, Some(days.to_string())));
    }
    if let Some(allowed) = body.agents_set_priority {
        writes.push((AGENTS_SET_PRIORITY, Some(allowed.to_string())));
    }
    for (key, ids) in [(ADMINS, &body.admins), (AGENTS, &body.agents)] {
        if let Some(ids) = ids {
            writes.push((key, Some(json!(ids).to_string())));
        }
    }
    for (key, value) in &writes {
        state.store.put_setting(key, value.as_deref()).await?;
    }
    let settings = get_settings(State(state.clone())).await?;
    audit_config_change(&state, ADMIN_API, "settings_updated", settings.0.clone()).await?;
    Ok(settings)
}

/// A field that may be given as `null` (clear it) or left out (keep it): `Some(None)` and
/// `None`.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A Slack user id: U… or W…, then letters and digits.
fn valid_user_id(id: &str) -> bool {
    (3..=24).contains(&id.len())
        && id.starts_with(['U', 'W'])
        && id.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FacilitatorRequest {
    slack_user_id: String,
}

/// A facilitator must be a verified person: a full member of this workspace with an email.
pub(crate) async fn check_facilitator(state: &AppState, user: &str) -> Result<String> {
    let unavailable = |e: crate::slack::api::SlackError| {
        tracing::warn!(error = %e, "could not check a facilitator with Slack");
        ApiError::Unavailable("Slack could not be asked who this is; try again".into())
    };
    let workspace = state.slack.auth_test().await.map_err(unavailable)?;
    let found = match state.slack.users_info(user).await {
        Ok(found) => found,
        Err(crate::slack::api::SlackError::Api(e)) if e == "user_not_found" => {
            return Err(ApiError::Invalid(format!("Slack knows no user {user}")))
        }
        Err(e) => return Err(unavailable(e)),
    };
    let profile = SlackProfile {
        team_id: &found.team_id,
        is_bot: found.is_bot,
        is_restricted: found.is_restricted,
        is_ultra_restricted: found.is_ultra_restricted,
        deleted: found.deleted,
        email: found.profile.email.as_deref(),
    };
    match identity::verify(&profile, &workspace.team_id) {
        Verification::Verified { .. } => Ok(found.display_name()),
        Verification::Unverified(reason) => Err(ApiError::Invalid(format!(
            "{user} cannot be a facilitator: a facilitator must be a verified person (this account is: {})",
            reason.as_str()
        ))),
    }
}

fn config_audit(actor: Actor, action: &'static str, detail: serde_json::Value) -> crate::store::NewAudit {
    crate::store::NewAudit {
        ticket_id: None,
        actor_slack_id: actor.slack_id.map(str::to_owned),
        actor_name: Some(actor.name.to_owned()),
        on_behalf_of: None,
        source: actor.source,
        action,
        detail: detail.to_string(),
    }
}

pub(crate) async fn support_channel(state: &AppState, id: &str) -> Result<ChannelRecord> {
    match state.store.channel(id).await? {
        Some(channel) if channel.kind == "support" => Ok(channel),
        Some(_) => Err(ApiError::Invalid(format!(
            "{id} is an agent channel: facilitators act in support channels only"
        ))),
        None => Err(ApiError::NotFound(format!("channel {id} is not configured"))),
    }
}

/// Who made a configuration change: the admin API, or an admin in Slack.
#[derive(Clone, Copy)]
pub(crate) struct Actor<'a> {
    pub slack_id: Option<&'a str>,
    pub name: &'a str,
    pub source: &'static str,
}

/// The admin API's own actor.
const ADMIN_API: Actor<'static> = Actor {
    slack_id: None,
    name: "admin API",
    source: "api",
};

/// Audit a configuration change (a channel, a project, the settings) made by `actor`.
pub(crate) async fn audit_config_change(
    state: &AppState,
    actor: Actor<'_>,
    action: &'static str,
    detail: serde_json::Value,
) -> Result<()> {
    Ok(state.store.audit_config(&config_audit(actor, action, detail)).await?)
}

/// Authorize a support channel's facilitator, then hand its parked messages back. How
/// many were handed back and how many reported instead.
pub(crate) async fn authorize_facilitator(
    state: &AppState,
    channel: &str,
    user: &str,
    actor: Actor<'_>,
) -> Result<(ChannelRecord, usize, usize)> {
    support_channel(state, channel).await?;
    let name = check_facilitator(state, user).await?;
    let by = actor.slack_id.unwrap_or(actor.name);
    let saved = state.store.set_facilitator(channel, Some((user, by))).await?;
    let detail = json!({ "channel": channel, "facilitator": user, "name": name });
    state
        .store
        .audit_config(&config_audit(actor, "facilitator_authorized", detail))
        .await?;
    let (released, reported) = parked::release(&state.store, Some(channel)).await?;
    Ok((saved, released, reported))
}

pub(crate) async fn revoke_facilitator(state: &AppState, channel: &str, actor: Actor<'_>) -> Result<ChannelRecord> {
    let before = support_channel(state, channel).await?;
    let saved = state.store.set_facilitator(channel, None).await?;
    if before.facilitator_slack_id.is_some() {
        let detail = json!({ "channel": channel, "facilitator": before.facilitator_slack_id });
        state
            .store
            .audit_config(&config_audit(actor, "facilitator_revoked", detail))
            .await?;
    }
    Ok(saved)
}

async fn put_facilitator(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<FacilitatorRequest>,
) -> Result<impl IntoResponse> {
    let (channel, released, reported) = authorize_facilitator(&state, &id, &body.slack_user_id, ADMIN_API).await?;
    let mut body = json!(ChannelResponse::from(channel));
    body["parked_released"] = json!(released);
    body["parked_reported"] = json!(reported);
    Ok(Json(body))
}

async fn delete_facilitator(State(state): State<AppState>, Path(id): Path<String>) -> Result<impl IntoResponse> {
    Ok(Json(ChannelResponse::from(
        revoke_facilitator(&state, &id, ADMIN_API).await?,
    )))
}

async fn put_workspace_facilitator(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<FacilitatorRequest>,
) -> Result<impl IntoResponse> {
    let name = check_facilitator(&state, &body.slack_user_id).await?;
    let facilitator = Facilitator {
        slack_user_id: body.slack_user_id.clone(),
        authorized_by: "admin API".into(),
        authorized_at: crate::store::now_ms(),
    };
    let value =
        serde_json::to_string(&facilitator).map_err(|e| ApiError::Internal(StoreError::Other(e.to_string())))?;
    state.store.put_setting(WORKSPACE_FACILITATOR, Some(&value)).await?;
    let detail = json!({ "channel": null, "facilitator": body.slack_user_id, "name": name });
    state
        .store
        .audit_config(&config_audit(ADMIN_API, "workspace_facilitator_authorized", detail))
        .await?;
    let (released, reported) = parked::release(&state.store, None).await?;
    let Json(mut settings) = get_settings(State(state)).await?;
    settings["parked_released"] = json!(released);
    settings["parked_reported"] = json!(reported);
    Ok(Json(settings))
}

async fn delete_workspace_facilitator(State(state): State<AppState>) -> Result<impl IntoResponse> {
    if let Some(before) = state.store.setting(WORKSPACE_FACILITATOR).await? {
        state.store.put_setting(WORKSPACE_FACILITATOR, None).await?;
        let before: serde_json::Value = serde_json::from_str(&before).unwrap_or_default();
        let detail = json!({ "facilitator": before["slack_user_id"] });
        state
            .store
            .audit_config(&config_audit(ADMIN_API, "workspace_facilitator_revoked", detail))
            .await?;
    }
    get_settings(State(state)).await
}

async fn list_projects(State(state): State<AppState>) -> Result<impl IntoResponse> {
    let projects: Vec<_> = state.store.projects().await?.into_iter().map(project_json).collect();
    Ok(Json(json!({ "projects": projects })))
}

async fn get_project(State(state): State<AppState>, Path(key): Path<String>) -> Result<impl IntoResponse> {
    let project = state
        .store
        .project(&key)
        .await
        .map_err(not_found(format!("no project {key}")))?;
    Ok(Json(project_json(project)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChannelRequest {
    pub kind: String,
    pub project: Option<String>,
    pub agent_channel: Option<String>,
    #[serde(default = "yes")]
    pub auto_create: bool,
    #[serde(default = "yes")]
    pub thread_sync: bool,
    pub announcement_marker: Option<String>,
    pub create_emoji: Option<String>,
    pub assign_emoji: Option<String>,
    pub resolve_emoji: Option<String>,
    pub default_department: Option<String>,
    pub default_request_type: Option<String>,
    pub default_priority: Option<String>,
}

fn yes() -> bool {
    true
}

/// The channel as the API shows it.
#[derive(Serialize)]
struct ChannelResponse {
    channel_id: String,
    kind: String,
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
    /// Who files for people the desk cannot link here, who authorized them, and when.
    #[serde(skip_serializing_if = "Option::is_none")]
    facilitator: Option<serde_json::Value>,
    created_at: i64,
    updated_at: i64,
}

impl From<ChannelRecord> for ChannelResponse {
    fn from(c: ChannelRecord) -> Self {
        let support = c.kind == "support";
        Self {
            channel_id: c.channel_id,
            kind: c.kind,
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

/// A requesting default must be one of the project's own names.
fn check_default(given: &Option<String>, allowed: &[String], field: &str, project: &str) -> Result<()> {
    match given {
        Some(name) if !allowed.contains(name) => Err(ApiError::Invalid(format!(
            "{field} {name:?} is not one of project {project}'s: {allowed:?}"
        ))),
        _ => Ok(()),
    }
}

/// A Slack conversation id: C… (channel), G… (private channel) or D… (DM), then letters and digits.
fn valid_channel_id(id: &str) -> bool {
    id.len() >= 3
        && id.len() <= 24
        && id.starts_with(['C', 'G', 'D'])
        && id.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

async fn put_channel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ChannelRequest>,
) -> Result<impl IntoResponse> {
    let record = channel_record(&state, id, body).await?;
    let saved = state.store.upsert_channel(&record).await?;
    let detail = json!({ "channel": saved.channel_id, "kind": saved.kind, "project": saved.project_key });
    audit_config_change(&state, ADMIN_API, "channel_updated", detail).await?;
    Ok(Json(ChannelResponse::from(saved)))
}

/// A channel's settings as an admin asked for them, checked: what `PUT /channels/{id}`
/// and the channel preferences modal in Slack both save.
pub(crate) async fn channel_record(state: &AppState, id: String, body: ChannelRequest) -> Result<ChannelRecord> {
    if !valid_channel_id(&id) {
        return Err(ApiError::Invalid(format!(
            "{id} is not a Slack channel id (C…, G… or D…)"
        )));
    }
    let record = match body.kind.as_str() {
        "support" => {
            let project = body
                .project
                .ok_or_else(|| ApiError::Invalid("a support channel needs a project".into()))?;
            let record = state.store.project(&project).await.map_err(|e| match e {
                StoreError::NotFound => ApiError::Invalid(format!("no project {project}: create it first")),
                e => e.into(),
            })?;
            check_default(
                &body.default_department,
                &record.departments(),
                "default_department",
                &project,
            )?;
            check_default(
                &body.default_request_type,
                &record.request_types(),
                "default_request_type",
                &project,
            )?;
            let default_priority = match body.default_priority.as_deref().map(|p| (p, Priority::parse(p))) {
                None => None,
                Some((_, Some(priority))) => Some(priority.as_str().to_owned()),
                Some((given, None)) => {
                    return Err(ApiError::Invalid(format!(
                        "default_priority {given:?} is not one of Low, Normal, High, Urgent"
                    )))
                }
            };
            let emoji = |given: Option<String>, default: &str| -> Result<String> {
                let name = given.as_deref().map(emoji_name).unwrap_or(default);
                let valid = !name.is_empty()
                    && name.len() <= 100
                    && name.chars().all(|c| c.is_alphanumeric() || "_-+'".contains(c));
                if !valid {
                    return Err(ApiError::Invalid(format!(
                        "{name:?} is not an emoji name (like ticket or :ticket:)"
                    )));
                }
                Ok(name.to_owned())
            };
            let create_emoji = emoji(body.create_emoji, DEFAULT_EMOJI.create)?;
            let assign_emoji = emoji(body.assign_emoji, DEFAULT_EMOJI.assign)?;
            let resolve_emoji = emoji(body.resolve_emoji, DEFAULT_EMOJI.resolve)?;
            if create_emoji == assign_emoji || create_emoji == resolve_emoji || assign_emoji == resolve_emoji {
                return Err(ApiError::Invalid("create, assign and resolve emoji must differ".into()));
            }
            if let Some(agents) = &body.agent_channel {
                if !valid_channel_id(agents) {
                    return Err(ApiError::Invalid(format!(
                        "agent_channel {agents} is not a Slack channel id"
                    )));
                }
            }
            ChannelRecord {
                channel_id: id,
                kind: body.kind,
                project_key: Some(project),
                agent_channel: body.agent_channel,
                auto_create: body.auto_create,
                thread_sync: body.thread_sync,
                announcement_marker: body
                    .announcement_marker
                    .unwrap_or_else(|| DEFAULT_ANNOUNCEMENT_MARKER.into()),
                create_emoji,
                assign_emoji,
                resolve_emoji,
                default_department: body.default_department,
                default_request_type: body.default_request_type,
                default_priority,
                created_at: 0,
                updated_at: 0,
                facilitator_slack_id: None,
                facilitator_authorized_by: None,
                facilitator_authorized_at: None,
            }
        }
        "agent" => {
            if body.project.is_some() || body.agent_channel.is_some() {
                return Err(ApiError::Invalid(
                    "an agent channel takes no project or agent_channel".into(),
                ));
            }
            ChannelRecord {
                channel_id: id,
                kind: body.kind,
                project_key: None,
                agent_channel: None,
                auto_create: false,
                thread_sync: true,
                announcement_marker: String::new(),
                create_emoji: String::new(),
                assign_emoji: String::new(),
                resolve_emoji: String::new(),
                default_department: None,
                default_request_type: None,
                default_priority: None,
                created_at: 0,
                updated_at: 0,
                facilitator_slack_id: None,
                facilitator_authorized_by: None,
                facilitator_authorized_at: None,
            }
        }
        other => {
            return Err(ApiError::Invalid(format!(
                "kind must be \"support\" or \"agent\", not {other:?}"
            )))
        }
    };
    Ok(record)
}

async fn get_channel(State(state): State<AppState>, Path(id): Path<String>) -> Result<impl IntoResponse> {
    let channel = state
        .store
        .channel(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("channel {id} is not configured")))?;
    Ok(Json(ChannelResponse::from(channel)))
}

async fn list_channels(State(state): State<AppState>) -> Result<impl IntoResponse> {
    let channels: Vec<ChannelResponse> = state.store.channels().await?.into_iter().map(Into::into).collect();
    Ok(Json(json!({ "channels": channels })))
}

async fn delete_channel(State(state): State<AppState>, Path(id): Path<String>) -> Result<impl IntoResponse> {
    state
        .store
        .delete_channel(&id)
        .await
        .map_err(not_found(format!("channel {id} is not configured")))?;
    audit_config_change(&state, ADMIN_API, "channel_unbound", json!({ "channel": id })).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct TicketQuery {
    project: Option<String>,
    limit: Option<i64>,
    before: Option<i64>,
}

async fn list_tickets(
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

async fn get_ticket(State(state): State<AppState>, Path(key): Path<String>) -> Result<impl IntoResponse> {
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
struct OutboxQuery {
    state: Option<String>,
    limit: Option<i64>,
}

async fn list_outbox(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<OutboxQuery>,
) -> Result<impl IntoResponse> {
    let wanted = query.state.unwrap_or_else(|| "failed".into());
    if !["pending", "done", "failed"].contains(&wanted.as_str()) {
        return Err(ApiError::Invalid("state is pending, done or failed".into()));
    }
    let effects = state
        .store
        .effects(&wanted, query.limit.unwrap_or(100).clamp(1, 1000))
        .await?;
    Ok(Json(json!({ "effects": effects })))
}

#[derive(Deserialize)]
struct LimitQuery {
    limit: Option<i64>,
}

async fn list_parked(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<LimitQuery>,
) -> Result<impl IntoResponse> {
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(json!({ "parked": state.store.parked_messages(limit).await? })))
}

#[derive(Deserialize)]
struct AuditQuery {
    ticket: Option<String>,
}

/// Who changed a ticket, how and from where, oldest first.
async fn list_audit(State(state): State<AppState>, ApiQuery(query): ApiQuery<AuditQuery>) -> Result<impl IntoResponse> {
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
