//! The JSON admin API under `/api/v1`, behind `Authorization: Bearer $DESKHAND_ADMIN_TOKEN`.
//! Every error is `{"error": {"code": …, "message": …}}` with a fitting status; internal
//! errors are logged with their cause and answered without it.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::json;

use crate::admin::AdminError;
use crate::state::AppState;
use crate::store::StoreError;

mod config;
mod customers;
mod jira;
mod participants;
mod records;
mod reports;

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
    /// Slack refused what deskhand asked on the way: its token or scopes need fixing.
    #[error("{0}")]
    SlackRefused(String),
    #[error("the body is larger than 1 MiB")]
    TooLarge,
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
            ApiError::SlackRefused(_) => StatusCode::FAILED_DEPENDENCY,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
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
            ApiError::SlackRefused(_) => "slack_refused",
            ApiError::TooLarge => "too_large",
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

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Refused(refusal) if refusal.conflict => ApiError::Conflict(refusal.message),
            AdminError::Refused(refusal) => ApiError::Invalid(refusal.message),
            AdminError::NotFound(message) => ApiError::NotFound(message),
            AdminError::Unavailable(message) => ApiError::Unavailable(message),
            AdminError::SlackRefused(message) => ApiError::SlackRefused(message),
            AdminError::Store(e) => e.into(),
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
        // PostgreSQL's text cannot hold NUL and SQLite's can: refused on both alike.
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .map_err(|_| ApiError::TooLarge)?;
        if bytes.windows(6).any(|w| w == b"\\u0000") {
            return Err(ApiError::Invalid("text must not contain NUL characters".into()));
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            // Well-formed JSON of the wrong shape is 422, like any invalid request.
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::TooLarge),
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

/// Slack and admins never send more than this; anything larger is refused with 413.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Paths and queries with a NUL character (`%00`) are refused, on both databases alike.
async fn refuse_nul(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let has_nul = |s: &str| s.to_ascii_lowercase().contains("%00");
    if has_nul(uri.path()) || uri.query().is_some_and(has_nul) {
        return ApiError::BadRequest("NUL characters are not allowed in a path or a query".into()).into_response();
    }
    next.run(request).await
}

/// A store lookup that found nothing is `not_found` with this message; any other error stays what it is.
fn not_found(message: String) -> impl FnOnce(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound => ApiError::NotFound(message),
        e => e.into(),
    }
}

pub use participants::inbound_routes;

pub fn routes(state: AppState) -> Router {
    let protected = Router::new()
        .route("/projects", get(config::list_projects))
        .route("/projects/{key}", get(config::get_project).put(config::put_project))
        .route("/projects/{key}/departments", get(config::list_departments))
        .route("/projects/{key}/backend", get(jira::get_backend).put(jira::put_backend))
        .route("/projects/{key}/backend/check", get(jira::check_backend))
        .route(
            "/channels/{id}/facilitator/jira",
            put(jira::put_facilitator_account).delete(jira::delete_facilitator_account),
        )
        .route(
            "/projects/{key}/departments/{slug}",
            put(config::put_department).delete(config::delete_department),
        )
        .route(
            "/projects/{key}/followers",
            get(customers::get_followers).put(customers::put_followers),
        )
        .route("/projects/{key}/messages", post(customers::post_message))
        .route(
            "/customers",
            get(customers::list_customers).post(customers::add_customer),
        )
        .route(
            "/customers/{id}",
            get(customers::get_customer).delete(customers::delete_customer),
        )
        .route(
            "/organizations",
            get(customers::list_organizations).post(customers::add_organization),
        )
        .route(
            "/organizations/{id}",
            get(customers::get_organization).delete(customers::delete_organization),
        )
        .route(
            "/organizations/{id}/members/{customer}",
            put(customers::put_member).delete(customers::delete_member),
        )
        .route("/channels", get(config::list_channels))
        .route("/workspaces", get(config::list_workspaces))
        .route(
            "/workspaces/{installation}/settings",
            get(config::get_workspace_settings).put(config::put_workspace_settings),
        )
        .route(
            "/channels/{id}",
            get(config::get_channel)
                .put(config::put_channel)
                .delete(config::delete_channel),
        )
        .route("/settings", get(config::get_settings).put(config::put_settings))
        .route(
            "/settings/facilitator",
            put(config::put_workspace_facilitator).delete(config::delete_workspace_facilitator),
        )
        .route(
            "/channels/{id}/facilitator",
            put(config::put_facilitator).delete(config::delete_facilitator),
        )
        .route("/tickets", get(records::list_tickets))
        .route("/tickets/{key}", get(records::get_ticket))
        .route(
            "/tickets/{key}/participants",
            get(participants::list).post(participants::add),
        )
        .route(
            "/tickets/{key}/participants/{person}",
            axum::routing::delete(participants::remove),
        )
        .route("/outbox", get(records::list_outbox))
        .route("/inbox", get(records::list_inbox))
        .route("/parked", get(records::list_parked))
        .route("/audit", get(records::list_audit))
        .route("/doctor", get(config::doctor))
        .route("/reports/response-times", get(reports::response_times))
        .route("/reports/satisfaction", get(reports::satisfaction))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route(
            "/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }),
        )
        .merge(protected)
        .layer(axum::middleware::from_fn(refuse_nul))
        .with_state(state)
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
