//! The portal at `DESKHAND_PUBLIC_URL/portal`: where a signed-in person sees the requests
//! that are theirs and answers them. People sign in with a one-time link (from
//! `/desk portal` in Slack, or by email); a session is a cookie whose id the database
//! keeps only as a hash. Every form carries the session's CSRF token and must come from
//! the portal's own origin; a ticket the person may not see is the same 404 as one that
//! does not exist.

mod admin;
mod pages;
mod sign_in;

use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::admin::participants::{record_reply, Author};
use crate::desk::portal::{PortalField, PortalVisibility, CLOSE_KEY_PREFIX, REPLY_KEY_PREFIX};
use crate::desk::requests::close as close_rule;
use crate::desk::ProjectKey;
use crate::state::AppState;
use crate::store::{PortalPerson, PortalSession, Store, StoreError};
use pages::SignedIn;

const COOKIE: &str = "deskhand_session";
/// Requests a list page shows.
const PAGE_SIZE: i64 = 25;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/portal", get(list))
        .route("/portal/sign-in", get(sign_in::page).post(sign_in::ask_for_link))
        .route(
            "/portal/sign-in/{token}",
            get(sign_in::link_page).post(sign_in::use_link),
        )
        .route("/portal/sign-out", post(sign_out))
        .route("/portal/tickets/{key}", get(ticket_page))
        .route("/portal/tickets/{key}/reply", post(reply))
        .route("/portal/tickets/{key}/close", post(close))
        .merge(admin::routes())
        .with_state(state)
}

fn html(status: StatusCode, page: maud::Markup) -> Response {
    (status, page).into_response()
}

fn unavailable(e: StoreError) -> Response {
    tracing::error!(error = %e, "the portal could not read the database");
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        pages::message(
            "Try again",
            "The help desk cannot answer right now. Try again in a minute.",
            None,
        ),
    )
}

fn not_found(signed_in: Option<&SignedIn<'_>>) -> Response {
    html(
        StatusCode::NOT_FOUND,
        pages::message(
            "Not found",
            "There is no such request among those you can see.",
            signed_in,
        ),
    )
}

/// The session cookie's value in a request.
fn session_id(headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit()))
}

fn cookie(state: &AppState, value: &str, max_age: i64) -> String {
    let secure = if state.config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!("{COOKIE}={value}; Path=/portal; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

/// A signed-in person and their session.
struct Visitor {
    id: String,
    session: PortalSession,
    person: PortalPerson,
}

impl Visitor {
    fn signed_in(&self) -> SignedIn<'_> {
        SignedIn {
            name: &self.person.name,
            csrf: &self.session.csrf,
        }
    }
}

/// Who sends this request, or where they must go first: the sign-in page, coming back
/// to `here` afterwards.
async fn visitor(state: &AppState, headers: &HeaderMap, here: &str) -> Result<Visitor, Response> {
    let to_sign_in = || {
        let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
        Redirect::to(&format!("/portal/sign-in?next={next}")).into_response()
    };
    let Some(id) = session_id(headers) else {
        return Err(to_sign_in());
    };
    let session = match state.store.portal_session(&id).await {
        Ok(Some(session)) => session,
        Ok(None) => return Err(to_sign_in()),
        Err(e) => return Err(unavailable(e)),
    };
    let person = person(&state.store, &session).await.map_err(unavailable)?;
    Ok(Visitor { id, session, person })
}

/// A session's person: their name, and the customer record their address has.
async fn person(store: &Store, session: &PortalSession) -> Result<PortalPerson, StoreError> {
    if let Some(user) = &session.slack_user_id {
        let record = store.slack_user(user).await?;
        let customer = match record.as_ref().and_then(|r| r.email.as_deref()) {
            Some(email) => store.customer_by_email(&email.to_lowercase()).await?,
            None => None,
        };
        return Ok(PortalPerson {
            slack_user_id: Some(user.clone()),
            customer_id: customer.map(|c| c.id),
            name: record.map_or_else(|| user.clone(), |r| r.display_name),
        });
    }
    let customer = match session.customer_id {
        Some(id) => store.customer(id).await?,
        None => None,
    };
    Ok(PortalPerson {
        slack_user_id: None,
        customer_id: customer.as_ref().map(|c| c.id),
        name: customer.map_or_else(|| "customer".into(), |c| c.shown_name().to_owned()),
    })
}

/// Whether a form comes from the portal itself (`Origin`, else `Referer`) and carries the
/// session's token.
fn form_is_ours(state: &AppState, headers: &HeaderMap, csrf: Option<&str>, session: Option<&PortalSession>) -> bool {
    let origin = |url: &str| {
        let (scheme, rest) = url.split_once("://")?;
        Some(format!("{scheme}://{}", rest.split('/').next()?))
    };
    let ours = origin(&state.config.public_url);
    let given = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .and_then(origin);
    let same_origin = ours.is_some() && given == ours;
    let token_ok = match session {
        Some(session) => csrf.is_some_and(|given| constant_time_eq(given.as_bytes(), session.csrf.as_bytes())),
        None => true,
    };
    same_origin && token_ok
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn refused_form() -> Response {
    html(
        StatusCode::FORBIDDEN,
        pages::message(
            "Form refused",
            "This form did not come from the portal's own page, or its page is too old. Go back, reload it and try again.",
            None,
        ),
    )
}

/// The private projects' keys and visibility.
async fn portal_projects(store: &Store) -> Result<Vec<(ProjectKey, PortalVisibility)>, StoreError> {
    Ok(store
        .projects()
        .await?
        .iter()
        .filter_map(|p| {
            let portal = p.portal();
            let key = ProjectKey::parse(&p.key).ok()?;
            portal.is_private().then_some((key, portal.visibility))
        })
        .collect())
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    page: Option<i64>,
}

async fn list(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<PageQuery>) -> Response {
    let visitor = match visitor(&state, &headers, "/portal").await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let page = query.page.unwrap_or(1).clamp(1, 10_000);
    let projects = match portal_projects(&state.store).await {
        Ok(projects) => projects,
        Err(e) => return unavailable(e),
    };
    let found = state
        .store
        .portal_tickets(&visitor.person, &projects, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
        .await;
    let mut tickets = match found {
        Ok(tickets) => tickets,
        Err(e) => return unavailable(e),
    };
    let more = tickets.len() as i64 > PAGE_SIZE;
    tickets.truncate(PAGE_SIZE as usize);
    let page = pages::list(&visitor.signed_in(), &tickets, page, more, projects.is_empty());
    html(StatusCode::OK, page)
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: Option<String>,
}

async fn sign_out(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    let visitor = match visitor(&state, &headers, "/portal").await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    if !form_is_ours(&state, &headers, form.csrf.as_deref(), Some(&visitor.session)) {
        return refused_form();
    }
    if let Err(e) = state.store.end_portal_session(&visitor.id).await {
        return unavailable(e);
    }
    let cleared = cookie(&state, "", 0);
    ([(header::SET_COOKIE, cleared)], Redirect::to("/portal/sign-in")).into_response()
}

#[derive(Deserialize)]
struct TicketQuery {
    #[serde(default)]
    closing: Option<u8>,
}

async fn ticket_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
    Query(query): Query<TicketQuery>,
) -> Response {
    let said = query
        .closing
        .map(|_| "Your request is being closed: the help desk hears of it in Slack.");
    show_ticket(&state, &headers, &key, said, StatusCode::OK).await
}

/// When the requester replied, the worker hears of it too: the card tells the agents, and
/// a request waiting for them moves on, as after a reply in Slack.
async fn requester_replied(
    state: &AppState,
    visitor: &Visitor,
    ticket: &crate::store::TicketRecord,
    text: &str,
) -> Result<(), StoreError> {
    let Some(user) = visitor
        .person
        .slack_user_id
        .as_deref()
        .filter(|u| *u == ticket.requester_slack_id)
    else {
        return Ok(());
    };
    let event = crate::store::NewEvent {
        dedupe_key: format!("{REPLY_KEY_PREFIX}{:032x}", rand::random::<u128>()),
        order_key: format!("user:{user}"),
        body: serde_json::json!({ "user": user, "ticket": ticket.key, "text": text }).to_string(),
        urgent: false,
        installation: ticket.installation.clone(),
    };
    state
        .inbox
        .submit(event)
        .await
        .map(|_| ())
        .map_err(|e| StoreError::Other(e.to_string()))
}

/// A form sent from ticket `key`'s page: its visitor and the ticket, when the form is
/// theirs and the ticket one they may see; otherwise the answer.
async fn ticket_form(
    state: &AppState,
    headers: &HeaderMap,
    key: &str,
    csrf: Option<&str>,
) -> Result<(Visitor, crate::store::TicketRecord), Response> {
    let visitor = visitor(state, headers, &format!("/portal/tickets/{key}")).await?;
    if !form_is_ours(state, headers, csrf, Some(&visitor.session)) {
        return Err(refused_form());
    }
    let found = match portal_projects(&state.store).await {
        Ok(projects) => state.store.portal_ticket(&visitor.person, &projects, key).await,
        Err(e) => Err(e),
    };
    match found {
        Ok(Some(ticket)) => Ok((visitor, ticket)),
        Ok(None) => Err(not_found(Some(&visitor.signed_in()))),
        Err(e) => Err(unavailable(e)),
    }
}

/// The requester closes their request: handled by the worker as a Close from Slack is,
/// audited as coming from the portal.
async fn close(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let (visitor, ticket) = match ticket_form(&state, &headers, &key, form.csrf.as_deref()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(user) = visitor
        .person
        .slack_user_id
        .as_deref()
        .filter(|u| *u == ticket.requester_slack_id)
    else {
        let said = "Only the person who asked can close a request.";
        return show_ticket(&state, &headers, &key, Some(said), StatusCode::FORBIDDEN).await;
    };
    let event = crate::store::NewEvent {
        dedupe_key: format!("{CLOSE_KEY_PREFIX}{:032x}", rand::random::<u128>()),
        order_key: format!("user:{user}"),
        body: serde_json::json!({ "user": user, "ticket": ticket.key }).to_string(),
        urgent: true,
        installation: ticket.installation.clone(),
    };
    match state.inbox.submit(event).await {
        Ok(_) => Redirect::to(&format!("/portal/tickets/{key}?closing=1")).into_response(),
        Err(e) => unavailable(StoreError::Other(e.to_string())),
    }
}

async fn show_ticket(
    state: &AppState,
    headers: &HeaderMap,
    key: &str,
    said: Option<&str>,
    status: StatusCode,
) -> Response {
    let visitor = match visitor(state, headers, &format!("/portal/tickets/{key}")).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let found = async {
        let projects = portal_projects(&state.store).await?;
        let Some(ticket) = state.store.portal_ticket(&visitor.person, &projects, key).await? else {
            return Ok(None);
        };
        let project = state.store.project(&ticket.project_key).await?;
        let comments: Vec<_> = state
            .store
            .comments(ticket.id)
            .await?
            .into_iter()
            .filter(|c| c.visibility == "public")
            .collect();
        let attachments = state.store.attachments(ticket.id).await?;
        let participants = state.store.participants(ticket.id).await?;
        Ok::<_, StoreError>(Some((ticket, project, comments, attachments, participants)))
    };
    let (ticket, project, comments, attachments, participants) = match found.await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(Some(&visitor.signed_in())),
        Err(e) => return unavailable(e),
    };
    let portal = project.portal();
    // The same rule as the Close button in Slack.
    let workflow = project.workflow();
    let can_close = visitor.person.slack_user_id.as_deref().is_some_and(|user| {
        let closing = close_rule(
            &workflow,
            &ticket.project_key,
            &ticket.requester_slack_id,
            user,
            ticket.is_done(),
        );
        matches!(closing, Ok(Some(_)))
    });
    let value = |field: PortalField| -> String {
        let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
        match field {
            PortalField::Status => ticket.status.clone(),
            PortalField::Priority => ticket.priority.as_str().to_owned(),
            PortalField::Assignee => or_none(&ticket.assignee_name),
            PortalField::Department => or_none(&ticket.department),
            PortalField::RequestType => or_none(&ticket.request_type),
            PortalField::Participants => {
                let names: Vec<String> = participants.iter().map(|p| p.shown_name()).collect();
                if names.is_empty() {
                    "—".into()
                } else {
                    names.join(", ")
                }
            }
        }
    };
    let order = [
        PortalField::Status,
        PortalField::Priority,
        PortalField::Assignee,
        PortalField::Department,
        PortalField::RequestType,
        PortalField::Participants,
    ];
    let fields = order
        .into_iter()
        .filter(|f| portal.shows(*f))
        .map(|f| (f, value(f)))
        .collect();
    let page = pages::TicketPage {
        ticket: &ticket,
        fields,
        comments: &comments,
        attachments: &attachments,
        can_close,
        said,
    };
    html(status, pages::ticket(&visitor.signed_in(), &page))
}

#[derive(Deserialize)]
struct ReplyForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    text: String,
}

/// A reply from the portal: a public comment by the visitor, in the Slack thread at once.
async fn reply(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Response {
    let (visitor, ticket) = match ticket_form(&state, &headers, &key, form.csrf.as_deref()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let text = form.text.trim();
    if text.is_empty() || text.chars().count() > 10_000 || text.contains('\0') {
        let said = "Write your reply (at most 10,000 characters) before sending it.";
        return show_ticket(&state, &headers, &key, Some(said), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let email = match visitor.person.customer_id {
        Some(id) => state.store.customer(id).await.ok().flatten().map(|c| c.email),
        None => None,
    };
    let author = Author {
        slack_user_id: visitor.person.slack_user_id.as_deref(),
        address: email.as_deref(),
        name: &visitor.person.name,
    };
    let origin = format!("portal:{:032x}", rand::random::<u128>());
    match record_reply(&state.store, &ticket, author, text, &origin, "portal").await {
        Ok(_) => match requester_replied(&state, &visitor, &ticket, text).await {
            Ok(()) => Redirect::to(&format!("/portal/tickets/{key}")).into_response(),
            Err(e) => unavailable(e),
        },
        Err(crate::admin::AdminError::Store(e)) => unavailable(e),
        Err(e) => {
            tracing::warn!(error = %e, "a portal reply was refused");
            show_ticket(
                &state,
                &headers,
                &key,
                Some("The reply could not be added."),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}
