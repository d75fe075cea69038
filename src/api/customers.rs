//! Customers, organizations, and sharing projects with them, through the admin API. The
//! admin API acts as an admin: it may add people of a managed domain.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{ApiError, ApiJson, Result};
use crate::admin::customers::{self, Added, CustomerRequest, Existing, FollowersRequest, Ref};
use crate::admin::ADMIN_API;
use crate::state::AppState;
use crate::store::{CustomerRecord, OrganizationRecord};

/// A path's `{customer}`: an id, or an address.
fn path_ref(text: &str) -> Ref {
    match text.parse() {
        Ok(id) => Ref::Id(id),
        Err(_) => Ref::Name(text.to_owned()),
    }
}

fn customer_link(customer: &CustomerRecord) -> String {
    format!("/api/v1/customers/{}", customer.id)
}

pub(super) async fn list_customers(State(state): State<AppState>) -> Result<impl IntoResponse> {
    Ok(Json(json!({ "customers": state.store.customers(None).await? })))
}

/// 201 with the new customer, or 409 naming who already has this address.
pub(super) async fn add_customer(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<CustomerRequest>,
) -> Result<Response> {
    let added = customers::add(&state.store, state.directory.as_ref(), ADMIN_API, request, true).await?;
    Ok(match added {
        Added::Created(customer) => {
            let location = customer_link(&customer);
            (
                StatusCode::CREATED,
                [(axum::http::header::LOCATION, location)],
                Json(json!(customer)),
            )
                .into_response()
        }
        Added::Exists(existing) => {
            let (message, link) = match &existing {
                Existing::Customer(c) => (format!("{} is already a customer", c.email), customer_link(c)),
                Existing::SlackMember { slack_user_id, name } => (
                    format!("{name} is a Slack member with this address: they need no customer record"),
                    format!("slack://user?id={slack_user_id}"),
                ),
            };
            let body = json!({ "error": { "code": "exists", "message": message }, "existing": existing, "link": link });
            (StatusCode::CONFLICT, Json(body)).into_response()
        }
    })
}

pub(super) async fn get_customer(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>> {
    let customer = customers::customer(&state.store, &path_ref(&id))
        .await
        .map_err(|_| ApiError::NotFound(format!("no customer {id}")))?;
    let organizations = state.store.organizations_of(customer.id).await?;
    let follows = state.store.followed_projects(Some(customer.id), None).await?;
    let mut body = json!(customer);
    body["organizations"] = json!(organizations);
    body["follows"] = json!(follows);
    Ok(Json(body))
}

pub(super) async fn delete_customer(State(state): State<AppState>, Path(id): Path<i64>) -> Result<StatusCode> {
    customers::delete_customer(&state.store, ADMIN_API, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn list_organizations(State(state): State<AppState>) -> Result<impl IntoResponse> {
    Ok(Json(json!({ "organizations": state.store.organizations().await? })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OrganizationRequest {
    name: String,
    #[serde(default)]
    members: Vec<Ref>,
}

pub(super) async fn add_organization(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<OrganizationRequest>,
) -> Result<impl IntoResponse> {
    // Every member must exist before the organization is made.
    for member in &request.members {
        customers::customer(&state.store, member).await?;
    }
    let org = customers::create_organization(&state.store, ADMIN_API, &request.name).await?;
    for member in &request.members {
        customers::set_member(&state.store, ADMIN_API, org.id, member, true).await?;
    }
    Ok((StatusCode::CREATED, Json(organization_json(&state, org).await?)))
}

async fn organization_json(state: &AppState, org: OrganizationRecord) -> Result<Value> {
    let members = state.store.customers(Some(org.id)).await?;
    let follows = state.store.followed_projects(None, Some(org.id)).await?;
    let mut body = json!(org);
    body["members"] = json!(members);
    body["follows"] = json!(follows);
    Ok(body)
}

pub(super) async fn get_organization(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<Value>> {
    let org = state
        .store
        .organization(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no organization {id}")))?;
    Ok(Json(organization_json(&state, org).await?))
}

pub(super) async fn delete_organization(State(state): State<AppState>, Path(id): Path<i64>) -> Result<StatusCode> {
    customers::delete_organization(&state.store, ADMIN_API, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn put_member(
    State(state): State<AppState>,
    Path((org, customer)): Path<(i64, String)>,
) -> Result<Json<Value>> {
    let customer = customers::set_member(&state.store, ADMIN_API, org, &path_ref(&customer), true).await?;
    Ok(Json(json!(customer)))
}

pub(super) async fn delete_member(
    State(state): State<AppState>,
    Path((org, customer)): Path<(i64, String)>,
) -> Result<StatusCode> {
    customers::set_member(&state.store, ADMIN_API, org, &path_ref(&customer), false).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn followers_json((customers, organizations): (Vec<CustomerRecord>, Vec<OrganizationRecord>)) -> Value {
    json!({ "customers": customers, "organizations": organizations })
}

pub(super) async fn get_followers(State(state): State<AppState>, Path(key): Path<String>) -> Result<Json<Value>> {
    state
        .store
        .project(&key)
        .await
        .map_err(super::not_found(format!("no project {key}")))?;
    Ok(Json(followers_json(state.store.followers(&key).await?)))
}

pub(super) async fn put_followers(
    State(state): State<AppState>,
    Path(key): Path<String>,
    ApiJson(request): ApiJson<FollowersRequest>,
) -> Result<Json<Value>> {
    let followers = customers::share(&state.store, ADMIN_API, &key, request).await?;
    Ok(Json(followers_json(followers)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MessageRequest {
    text: String,
}

pub(super) async fn post_message(
    State(state): State<AppState>,
    Path(key): Path<String>,
    ApiJson(request): ApiJson<MessageRequest>,
) -> Result<impl IntoResponse> {
    let mail = state.config.smtp_url.is_some();
    let announced = customers::announce(&state.store, ADMIN_API, &key, &request.text, mail).await?;
    Ok((StatusCode::CREATED, Json(json!(announced))))
}
