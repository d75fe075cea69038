//! Signing in: the sign-in page, links asked for by email, and the page and button a
//! link opens, which starts a session.

use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{cookie, form_is_ours, html, pages, refused_form, session_id, unavailable};
use crate::desk::customers::normalize_email;
use crate::desk::effects::Effect;
use crate::desk::portal::{safe_next, LINKS_PER_HOUR};
use crate::state::AppState;
use crate::store::{NewEffect, Store, StoreError};

#[derive(Deserialize)]
pub(super) struct NextQuery {
    #[serde(default)]
    next: Option<String>,
}

pub(super) async fn page(Query(query): Query<NextQuery>) -> Response {
    html(StatusCode::OK, pages::sign_in(&safe_next(query.next.as_deref()), None))
}

#[derive(Deserialize)]
pub(super) struct LinkRequest {
    email: String,
    #[serde(default)]
    next: Option<String>,
}

/// A customer asks for a link by email. The answer is the same whether the address is
/// known or not; each address, and each client, may ask a few times an hour.
pub(super) async fn ask_for_link(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LinkRequest>,
) -> Response {
    if !form_is_ours(&state, &headers, None, None) {
        return refused_form();
    }
    let next = safe_next(form.next.as_deref());
    let Ok(email) = normalize_email(&form.email) else {
        return html(
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::sign_in(&next, Some("That is not an email address.")),
        );
    };
    let client = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .unwrap_or("direct")
        .trim()
        .to_owned();
    let (by_address, by_client) = (format!("email:{email}"), format!("client:{client}"));
    let counts = tokio::try_join!(
        state.store.count_portal_request(&by_address),
        state.store.count_portal_request(&by_client)
    );
    match counts {
        Ok((by_email, by_client)) if by_email > LINKS_PER_HOUR || by_client > LINKS_PER_HOUR * 4 => {
            return html(
                StatusCode::TOO_MANY_REQUESTS,
                pages::sign_in(
                    &next,
                    Some("Too many links were asked for. Wait an hour and try again."),
                ),
            );
        }
        Ok(_) => {}
        Err(e) => return unavailable(e),
    }
    if let Err(e) = send_link(&state, &email, &next).await {
        return unavailable(e);
    }
    let said =
        "If the help desk knows this address, a sign-in link is on its way to it. It works once, for 15 minutes.";
    html(StatusCode::OK, pages::sign_in(&next, Some(said)))
}

/// Mail a sign-in link to a customer, or to an admin at their Slack address (nobody else
/// has one by mail).
async fn send_link(state: &AppState, email: &str, next: &str) -> Result<(), StoreError> {
    let customer = state.store.customer_by_email(email).await?;
    // An admin's own address signs in the admin (to reach the admin pages).
    let admin = match &customer {
        Some(_) => None,
        None => match state.store.slack_user_by_email(email).await? {
            Some(member) => {
                let is_admin = crate::admin::is_admin(&state.store, state.directory.as_ref(), &member.slack_user_id)
                    .await
                    .unwrap_or(false);
                is_admin.then_some(member.slack_user_id)
            }
            None => None,
        },
    };
    if customer.is_none() && admin.is_none() {
        tracing::info!("a portal link was asked for an address the help desk does not know");
        return Ok(());
    }
    let mut tx = state.store.begin().await?;
    let token = Store::create_portal_link(&mut tx, admin.as_deref(), customer.map(|c| c.id), next).await?;
    let link = format!("{}/portal/sign-in/{token}", state.config.public_url);
    let effect = Effect::MailTo {
        address: email.to_owned(),
        subject: "Your sign-in link to the help desk".into(),
        body: format!("Sign in to the help desk portal:\n\n{link}\n\nThe link works once, for 15 minutes. If you did not ask for it, ignore this message."),
        reply_token: None,
    };
    Store::enqueue_effects(&mut tx, &[NewEffect::of(&effect)]).await?;
    tx.commit().await
}

fn valid_token(token: &str) -> bool {
    token.len() == 64 && token.chars().all(|c| c.is_ascii_hexdigit())
}

fn dead_link() -> Response {
    html(
        StatusCode::GONE,
        pages::message(
            "This link no longer works",
            "Sign-in links work once, for 15 minutes. Ask for a new one: /desk portal in Slack, or by email on the sign-in page.",
            None,
        ),
    )
}

pub(super) async fn link_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    if !valid_token(&token) {
        return dead_link();
    }
    match state.store.portal_link_usable(&token).await {
        Ok(true) => html(StatusCode::OK, pages::use_link(&token)),
        Ok(false) => dead_link(),
        Err(e) => unavailable(e),
    }
}

/// Use a link: a new session (any earlier one of this browser ends), then where the
/// person was going.
pub(super) async fn use_link(State(state): State<AppState>, headers: HeaderMap, Path(token): Path<String>) -> Response {
    if !form_is_ours(&state, &headers, None, None) {
        return refused_form();
    }
    if !valid_token(&token) {
        return dead_link();
    }
    let (slack_user_id, customer_id, next) = match state.store.use_portal_link(&token).await {
        Ok(Some(used)) => used,
        Ok(None) => return dead_link(),
        Err(e) => return unavailable(e),
    };
    if let Some(old) = session_id(&headers) {
        if let Err(e) = state.store.end_portal_session(&old).await {
            return unavailable(e);
        }
    }
    match state
        .store
        .create_portal_session(slack_user_id.as_deref(), customer_id)
        .await
    {
        Ok(id) => {
            let cookie = cookie(&state, &id, crate::desk::portal::SESSION_IDLE_MS / 1000);
            ([(header::SET_COOKIE, cookie)], Redirect::to(&safe_next(Some(&next)))).into_response()
        }
        Err(e) => unavailable(e),
    }
}
