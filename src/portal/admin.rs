//! The admin pages under `/portal/admin`: channels (with their guest facilitator, to
//! authorize or revoke), projects (their portal and who they are shared with), and
//! customers, organizations and managed domains. They call the same use cases as the
//! admin API and `/desk admin`. Only help-desk admins reach them: anyone else, signed in
//! or not as an admin, gets the portal's 404.

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;

use super::pages::{self, SignedIn};
use super::{form_is_ours, html, not_found, refused_form, unavailable, visitor, Visitor};
use crate::admin::customers::{self, CustomerRequest, FollowersRequest, Ref};
use crate::admin::{facilitators, settings, Actor, AdminError};
use crate::desk::portal::{PortalField, PortalMode, PortalSettings, PortalVisibility};
use crate::desk::settings::SettingsChange;
use crate::state::AppState;
use crate::store::StoreError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/admin", get(index))
        .route("/portal/admin/channels", get(channels))
        .route("/portal/admin/channels/{id}/facilitator", post(authorize))
        .route("/portal/admin/channels/{id}/revoke", post(revoke))
        .route("/portal/admin/projects", get(projects))
        .route("/portal/admin/projects/{key}", post(save_project))
        .route("/portal/admin/customers", get(customers_page).post(add_customer))
        .route("/portal/admin/customers/{id}/remove", post(remove_customer))
        .route("/portal/admin/organizations", post(add_organization))
        .route("/portal/admin/organizations/{id}/remove", post(remove_organization))
        .route("/portal/admin/organizations/{id}/members", post(add_member))
        .route(
            "/portal/admin/organizations/{id}/members/{customer}/remove",
            post(remove_member),
        )
        .route("/portal/admin/domains", post(save_domains))
}

/// The visitor, when they are a help-desk admin; otherwise the answer they get.
async fn admin(state: &AppState, headers: &HeaderMap, here: &str) -> Result<Visitor, Response> {
    let visitor = visitor(state, headers, here).await?;
    let Some(user) = visitor.person.slack_user_id.as_deref() else {
        return Err(not_found(Some(&visitor.signed_in())));
    };
    match crate::admin::is_admin(&state.store, state.directory.as_ref(), user).await {
        Ok(true) => Ok(visitor),
        Ok(false) => Err(not_found(Some(&visitor.signed_in()))),
        Err(AdminError::Store(e)) => Err(unavailable(e)),
        Err(e) => Err(unavailable(StoreError::Other(e.to_string()))),
    }
}

fn actor(visitor: &Visitor) -> Actor<'_> {
    Actor {
        slack_id: visitor.person.slack_user_id.as_deref(),
        name: &visitor.person.name,
        source: "portal",
    }
}

fn admin_page(title: &str, person: &SignedIn<'_>, said: Option<&str>, body: Markup) -> Markup {
    pages::layout(
        title,
        Some(person),
        html! {
            nav aria-label="Admin" {
                a href="/portal/admin/channels" { "Channels" } " · "
                a href="/portal/admin/projects" { "Projects" } " · "
                a href="/portal/admin/customers" { "Customers" }
            }
            h1 { (title) }
            @if let Some(said) = said { p.note role="status" { (said) } }
            (body)
        },
    )
}

/// After a change: back to `page`, saying how it went.
fn done(page: &str, said: &str) -> Response {
    let said: String = form_urlencoded::byte_serialize(said.as_bytes()).collect();
    Redirect::to(&format!("{page}?said={said}")).into_response()
}

fn outcome<T>(page: &str, result: Result<T, AdminError>, ok: &str) -> Response {
    match result {
        Ok(_) => done(page, ok),
        Err(AdminError::Store(e)) => unavailable(e),
        Err(e) => done(page, &e.to_string()),
    }
}

#[derive(Deserialize)]
struct Said {
    #[serde(default)]
    said: Option<String>,
}

async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match admin(&state, &headers, "/portal/admin").await {
        Ok(_) => Redirect::to("/portal/admin/channels").into_response(),
        Err(response) => response,
    }
}

async fn channels(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<Said>,
) -> Response {
    let visitor = match admin(&state, &headers, "/portal/admin/channels").await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let channels = match state.store.channels().await {
        Ok(channels) => channels,
        Err(e) => return unavailable(e),
    };
    let person = visitor.signed_in();
    let body = html! {
        table {
            caption.skip { "Bound channels" }
            thead { tr { th scope="col" { "Channel" } th scope="col" { "Kind" } th scope="col" { "Project" }
                         th scope="col" { "Agent channel" } th scope="col" { "Settings" } th scope="col" { "Guest facilitator" } } }
            tbody {
                @for c in &channels {
                    tr {
                        td { (c.channel_id) }
                        td { (c.kind.as_str()) }
                        td { (c.project_key.as_deref().unwrap_or("—")) }
                        td { (c.agent_channel.as_deref().unwrap_or("—")) }
                        td {
                            "auto-create " (if c.auto_create { "on" } else { "off" })
                            ", thread sync " (if c.thread_sync { "on" } else { "off" })
                            ", emoji :" (c.create_emoji) ": :" (c.assign_emoji) ": :" (c.resolve_emoji) ":"
                            @if let Some(d) = &c.default_priority { ", priority " (d) }
                            @if let Some(d) = &c.default_department { ", department " (d) }
                            @if let Some(d) = &c.default_request_type { ", request type " (d) }
                        }
                        td {
                            @if c.kind.as_str() == "support" {
                                @if let Some(f) = &c.facilitator_slack_id {
                                    p { (f) }
                                    form method="post" action={ "/portal/admin/channels/" (c.channel_id) "/revoke" } {
                                        input type="hidden" name="csrf" value=(person.csrf);
                                        button.quiet type="submit" { "Revoke" }
                                    }
                                }
                                form method="post" action={ "/portal/admin/channels/" (c.channel_id) "/facilitator" } {
                                    label for={ "f-" (c.channel_id) } { "Slack user id" }
                                    input id={ "f-" (c.channel_id) } name="user" required pattern="[UW][A-Z0-9]+";
                                    input type="hidden" name="csrf" value=(person.csrf);
                                    button type="submit" { "Authorize" }
                                }
                            } @else { "—" }
                        }
                    }
                }
            }
        }
    };
    html(StatusCode::OK, admin_page("Channels", &person, q.said.as_deref(), body))
}

#[derive(Deserialize)]
struct FacilitatorForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    user: String,
}

async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<FacilitatorForm>,
) -> Response {
    let visitor = match checked(&state, &headers, "/portal/admin/channels", form.csrf.as_deref()).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let user = form.user.trim().to_uppercase();
    let result = facilitators::authorize(&state.store, state.directory.as_ref(), actor(&visitor), &id, &user).await;
    outcome(
        "/portal/admin/channels",
        result,
        &format!("{user} now files for guests in {id}."),
    )
}

async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<FacilitatorForm>,
) -> Response {
    let visitor = match checked(&state, &headers, "/portal/admin/channels", form.csrf.as_deref()).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let result = facilitators::revoke(&state.store, actor(&visitor), &id).await;
    outcome(
        "/portal/admin/channels",
        result,
        &format!("{id} has no facilitator now."),
    )
}

async fn projects(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<Said>,
) -> Response {
    let visitor = match admin(&state, &headers, "/portal/admin/projects").await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let mut rows = Vec::new();
    let listed = async {
        for project in state.store.projects().await? {
            let (customers, organizations) = state.store.followers(&project.key).await?;
            let shared: Vec<String> = customers
                .into_iter()
                .map(|c| c.email)
                .chain(organizations.into_iter().map(|o| o.name))
                .collect();
            rows.push((project, shared));
        }
        Ok::<_, StoreError>(())
    };
    if let Err(e) = listed.await {
        return unavailable(e);
    }
    let person = visitor.signed_in();
    let body = html! {
        @for (p, shared) in &rows {
            @let portal = p.portal();
            section {
                h2 { (p.key) ": " (p.name) }
                p { "Workflow: " (p.workflow().statuses.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(" → ")) }
                p { "Departments: " (if p.departments().is_empty() { "—".to_owned() } else { p.departments().join(", ") }) }
                form method="post" action={ "/portal/admin/projects/" (p.key) } {
                    p {
                        label for={ "mode-" (p.key) } { "Portal" }
                        select id={ "mode-" (p.key) } name="mode" {
                            option value="private" selected[portal.is_private()] { "private" }
                            option value="none" selected[!portal.is_private()] { "none" }
                        }
                    }
                    p {
                        label for={ "vis-" (p.key) } { "Who sees which requests" }
                        select id={ "vis-" (p.key) } name="visibility" {
                            @for v in [PortalVisibility::Own, PortalVisibility::Organization, PortalVisibility::Followed] {
                                option value=(v.as_str()) selected[portal.visibility == v] { (v.as_str()) }
                            }
                        }
                    }
                    fieldset {
                        legend { "Shown on a request's page, besides its status" }
                        @for field in FIELDS {
                            label {
                                input type="checkbox" name={ "show_" (field_name(field)) } value="on" checked[portal.shows(field)];
                                " " (field.label())
                            }
                            " "
                        }
                    }
                    p {
                        label for={ "share-" (p.key) } { "Shared with (customers' addresses and organizations, comma-separated)" }
                        input id={ "share-" (p.key) } name="shared" value=(shared.join(", "));
                    }
                    input type="hidden" name="csrf" value=(person.csrf);
                    button type="submit" { "Save " (p.key) }
                }
            }
        }
    };
    html(StatusCode::OK, admin_page("Projects", &person, q.said.as_deref(), body))
}

/// The fields an admin may show or hide (the status always shows).
const FIELDS: [PortalField; 5] = [
    PortalField::Priority,
    PortalField::Assignee,
    PortalField::Department,
    PortalField::RequestType,
    PortalField::Participants,
];

fn field_name(field: PortalField) -> String {
    serde_json::to_value(field)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[derive(Deserialize)]
struct ProjectForm {
    #[serde(default)]
    csrf: Option<String>,
    mode: PortalMode,
    visibility: PortalVisibility,
    #[serde(default)]
    shared: String,
    #[serde(default)]
    show_priority: Option<String>,
    #[serde(default)]
    show_assignee: Option<String>,
    #[serde(default)]
    show_department: Option<String>,
    #[serde(default)]
    show_request_type: Option<String>,
    #[serde(default)]
    show_participants: Option<String>,
}

impl ProjectForm {
    fn fields(&self) -> Vec<PortalField> {
        let ticked = [
            &self.show_priority,
            &self.show_assignee,
            &self.show_department,
            &self.show_request_type,
            &self.show_participants,
        ];
        FIELDS
            .into_iter()
            .zip(ticked)
            .filter(|(_, on)| on.is_some())
            .map(|(field, _)| field)
            .collect()
    }
}

async fn save_project(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
    Form(form): Form<ProjectForm>,
) -> Response {
    let visitor = match checked(&state, &headers, "/portal/admin/projects", form.csrf.as_deref()).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    match state.store.project(&key).await {
        Ok(_) => {}
        Err(StoreError::NotFound) => return not_found(Some(&visitor.signed_in())),
        Err(e) => return unavailable(e),
    }
    // Addresses are customers, anything else an organization's name.
    let (mut shared_customers, mut shared_organizations) = (Vec::new(), Vec::new());
    for name in form.shared.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if name.contains('@') {
            shared_customers.push(Ref::Name(name.to_owned()));
        } else {
            shared_organizations.push(Ref::Name(name.to_owned()));
        }
    }
    let portal = PortalSettings {
        mode: form.mode,
        visibility: form.visibility,
        fields: form.fields(),
    };
    let result = async {
        settings::set_portal(&state.store, actor(&visitor), &key, &portal).await?;
        let followers = FollowersRequest {
            customers: shared_customers,
            organizations: shared_organizations,
        };
        customers::share(&state.store, actor(&visitor), &key, followers).await
    };
    outcome("/portal/admin/projects", result.await, &format!("{key} saved."))
}

async fn customers_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<Said>,
) -> Response {
    let visitor = match admin(&state, &headers, "/portal/admin/customers").await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let found = async {
        let (all, organizations, settings) = tokio::try_join!(
            state.store.customers(None),
            state.store.organizations(),
            state.store.settings()
        )?;
        let mut with_members = Vec::new();
        for org in organizations {
            let members = state.store.customers(Some(org.id)).await?;
            with_members.push((org, members));
        }
        Ok::<_, StoreError>((all, with_members, settings))
    };
    let (all, organizations, settings) = match found.await {
        Ok(found) => found,
        Err(e) => return unavailable(e),
    };
    let person = visitor.signed_in();
    let body = html! {
        h2 { "Customers" }
        table {
            caption.skip { "Customers" }
            thead { tr { th scope="col" { "Address" } th scope="col" { "Name" } th scope="col" { "In Slack" } th scope="col" { "" } } }
            tbody {
                @for c in &all {
                    tr {
                        td { (c.email) }
                        td { (c.name.as_deref().unwrap_or("—")) }
                        td { (c.slack_user_id.as_deref().unwrap_or("—")) }
                        td {
                            form method="post" action={ "/portal/admin/customers/" (c.id) "/remove" } {
                                input type="hidden" name="csrf" value=(person.csrf);
                                button.quiet type="submit" aria-label={ "Remove " (c.email) } { "Remove" }
                            }
                        }
                    }
                }
            }
        }
        form method="post" action="/portal/admin/customers" {
            p { label for="c-email" { "Address" } input id="c-email" name="email" type="email" required; }
            p { label for="c-name" { "Name (optional)" } input id="c-name" name="name"; }
            p { label for="c-org" { "Organization (optional)" } input id="c-org" name="organization"; }
            input type="hidden" name="csrf" value=(person.csrf);
            button type="submit" { "Add customer" }
        }
        h2 { "Organizations" }
        @for (o, members) in &organizations {
            section {
                h3 { (o.name) }
                ul {
                    @for m in members {
                        li {
                            (m.email) " "
                            form method="post" action={ "/portal/admin/organizations/" (o.id) "/members/" (m.id) "/remove" } {
                                input type="hidden" name="csrf" value=(person.csrf);
                                button.quiet type="submit" aria-label={ "Take " (m.email) " out of " (o.name) } { "Take out" }
                            }
                        }
                    }
                }
                form method="post" action={ "/portal/admin/organizations/" (o.id) "/members" } {
                    label for={ "m-" (o.id) } { "Add a member (a customer's address)" }
                    input id={ "m-" (o.id) } name="email" type="email" required;
                    input type="hidden" name="csrf" value=(person.csrf);
                    button type="submit" { "Add member" }
                }
                form method="post" action={ "/portal/admin/organizations/" (o.id) "/remove" } {
                    input type="hidden" name="csrf" value=(person.csrf);
                    button.quiet type="submit" { "Remove " (o.name) }
                }
            }
        }
        form method="post" action="/portal/admin/organizations" {
            p { label for="o-name" { "New organization" } input id="o-name" name="name" required; }
            input type="hidden" name="csrf" value=(person.csrf);
            button type="submit" { "Add organization" }
        }
        h2 { "Managed domains" }
        form method="post" action="/portal/admin/domains" {
            p {
                label for="domains" { "Domains only admins may add people from (comma-separated)" }
                input id="domains" name="domains" value=(settings.managed_domains.join(", "));
            }
            input type="hidden" name="csrf" value=(person.csrf);
            button type="submit" { "Save domains" }
        }
    };
    html(
        StatusCode::OK,
        admin_page("Customers", &person, q.said.as_deref(), body),
    )
}

#[derive(Deserialize)]
struct CustomerForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    organization: String,
    #[serde(default)]
    domains: String,
}

/// The admin who sent a form on `page`, when it is theirs; otherwise the answer.
async fn checked(state: &AppState, headers: &HeaderMap, page: &str, csrf: Option<&str>) -> Result<Visitor, Response> {
    let visitor = admin(state, headers, page).await?;
    if !form_is_ours(state, headers, csrf, Some(&visitor.session)) {
        return Err(refused_form());
    }
    Ok(visitor)
}

const CUSTOMERS: &str = "/portal/admin/customers";

async fn add_customer(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<CustomerForm>) -> Response {
    let visitor = match checked(&state, &headers, CUSTOMERS, form.csrf.as_deref()).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let request = CustomerRequest {
        email: form.email.clone(),
        name: Some(form.name.clone()).filter(|n| !n.trim().is_empty()),
        organization: Some(form.organization.trim().to_owned())
            .filter(|o| !o.is_empty())
            .map(Ref::Name),
    };
    let added = customers::add(&state.store, state.directory.as_ref(), actor(&visitor), request, true).await;
    let said = match &added {
        Ok(customers::Added::Created(c)) => format!("Added {}.", c.email),
        Ok(customers::Added::Exists(_)) => format!("{} is already known: nothing was added.", form.email.trim()),
        Err(_) => String::new(),
    };
    outcome(CUSTOMERS, added, &said)
}

async fn remove_customer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CustomerForm>,
) -> Response {
    let visitor = match checked(&state, &headers, CUSTOMERS, form.csrf.as_deref()).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let removed = customers::delete_customer(&state.store, actor(&visitor), id).await;
    outcome(CUSTOMERS, removed, "Removed.")
}

async fn add_organization(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CustomerForm>,
) -> Response {
    let visitor = match checked(&state, &headers, CUSTOMERS, form.csrf.as_deref()).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let created = customers::create_organization(&state.store, actor(&visitor), &form.name).await;
    outcome(CUSTOMERS, created, &format!("Added {}.", form.name.trim()))
}

async fn save_domains(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<CustomerForm>) -> Response {
    let visitor = match checked(&state, &headers, CUSTOMERS, form.csrf.as_deref()).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let domains = form
        .domains
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect();
    let change = SettingsChange {
        managed_domains: Some(domains),
        ..SettingsChange::default()
    };
    let saved = settings::update(&state.store, actor(&visitor), change).await;
    outcome(CUSTOMERS, saved, "Managed domains saved.")
}

async fn remove_organization(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CustomerForm>,
) -> Response {
    let visitor = match checked(&state, &headers, CUSTOMERS, form.csrf.as_deref()).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let removed = customers::delete_organization(&state.store, actor(&visitor), id).await;
    outcome(CUSTOMERS, removed, "Organization removed; its members stay customers.")
}

async fn add_member(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CustomerForm>,
) -> Response {
    let visitor = match checked(&state, &headers, CUSTOMERS, form.csrf.as_deref()).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let who = Ref::Name(form.email.trim().to_owned());
    let added = customers::set_member(&state.store, actor(&visitor), id, &who, true).await;
    outcome(CUSTOMERS, added, &format!("{} is a member now.", form.email.trim()))
}

async fn remove_member(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, customer)): Path<(i64, i64)>,
    Form(form): Form<CustomerForm>,
) -> Response {
    let visitor = match checked(&state, &headers, CUSTOMERS, form.csrf.as_deref()).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let removed = customers::set_member(&state.store, actor(&visitor), id, &Ref::Id(customer), false).await;
    outcome(CUSTOMERS, removed, "Taken out.")
}
