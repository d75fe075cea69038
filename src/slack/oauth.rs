//! Installing deskhand in a workspace, Slack's OAuth v2
//! (<https://api.slack.com/authentication/oauth-v2>): `GET /slack/install` sends the
//! person to Slack with a fresh one-time `state`; Slack sends them back to
//! `GET /slack/oauth/callback` with a `code`, which is exchanged for the workspace's bot
//! token, sealed and stored. A token is never logged, shown, or returned.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, DOCTYPE};
use serde::Deserialize;

use super::api::SlackApi;
use super::manifest::BOT_SCOPES;
use super::shapes;
use super::workspaces::{token_purpose, Workspaces};
use crate::config::OAuthApp;
use crate::state::AppState;
use crate::store::NewInstallation;
use crate::vault::Vault;

#[derive(Clone)]
pub struct OAuthHttp {
    pub app: AppState,
    pub slack: SlackApi,
    pub workspaces: Workspaces,
    pub oauth: OAuthApp,
    pub vault: Vault,
}

pub fn routes(state: OAuthHttp) -> Router {
    Router::new()
        .route("/slack/install", get(install))
        .route("/slack/oauth/callback", get(callback))
        .with_state(state)
}

fn redirect_uri(state: &OAuthHttp) -> String {
    format!("{}/slack/oauth/callback", state.app.config.public_url)
}

fn page(status: StatusCode, title: &str, said: &str) -> Response {
    let body = html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { (title) " · deskhand" } }
            body { h1 { (title) } p { (said) } }
        }
    };
    (status, body).into_response()
}

/// The database could not be used: a page saying to try again shortly.
fn unavailable(title: &str) -> Response {
    page(StatusCode::SERVICE_UNAVAILABLE, title, "Try again in a minute.")
}

async fn install(State(state): State<OAuthHttp>) -> Response {
    let secret = match state.app.store.create_oauth_state().await {
        Ok(Some(secret)) => secret,
        Ok(None) => {
            return page(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many installs under way",
                "Try again in a few minutes.",
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "could not start an install");
            return unavailable("deskhand cannot be installed right now");
        }
    };
    let scopes: Vec<&str> = BOT_SCOPES.iter().flat_map(|(s, _)| s.iter().copied()).collect();
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &state.oauth.client_id)
        .append_pair("scope", &scopes.join(","))
        .append_pair("state", &secret)
        .append_pair("redirect_uri", &redirect_uri(&state))
        .finish();
    let location = format!("{}?{query}", state.slack.authorize_url());
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(State(state): State<OAuthHttp>, query: Result<Query<Callback>, QueryRejection>) -> Response {
    let Ok(Query(callback)) = query else {
        return page(
            StatusCode::BAD_REQUEST,
            "Not an install",
            "This address is where Slack sends an install back.",
        );
    };
    // The state first: a callback deskhand did not start is refused whatever it says.
    let known = match callback.state.as_deref().filter(|s| shapes::is_token(s)) {
        Some(secret) => state.app.store.use_oauth_state(secret).await,
        None => Ok(false),
    };
    match known {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!("an install came back with a state deskhand did not issue, or used already");
            return page(
                StatusCode::BAD_REQUEST,
                "This install link has expired",
                "Start again from the Add to Slack link.",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "could not check an install's state");
            return unavailable("deskhand cannot be installed right now");
        }
    }
    if let Some(error) = &callback.error {
        tracing::info!(error = %error, "an install was not approved in Slack");
        return page(
            StatusCode::OK,
            "deskhand was not installed",
            "The install was cancelled in Slack.",
        );
    }
    // Slack's codes are digits, dots and hex; longer than other tokens.
    let is_code = |c: &&str| c.len() <= 256 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_".contains(&b));
    let Some(code) = callback.code.as_deref().filter(is_code) else {
        return page(StatusCode::BAD_REQUEST, "Not an install", "Slack sent no code.");
    };
    let access = match state
        .slack
        .oauth_v2_access(
            &state.oauth.client_id,
            state.oauth.client_secret.expose(),
            code,
            &redirect_uri(&state),
        )
        .await
    {
        Ok(access) => access,
        Err(e) => {
            tracing::error!(error = %e, "Slack would not complete an install (oauth.v2.access)");
            return page(
                StatusCode::BAD_GATEWAY,
                "deskhand could not finish the install",
                "Slack did not accept it. Start again from the Add to Slack link.",
            );
        }
    };
    let team = access.team.as_ref().map(|t| t.id.as_str()).filter(|t| !t.is_empty());
    let enterprise = access
        .enterprise
        .as_ref()
        .map(|e| e.id.as_str())
        .filter(|e| !e.is_empty());
    let installation = match shapes::installation(team, enterprise, access.is_enterprise_install) {
        Ok(Some(installation)) => installation,
        _ => return bad_answer("no workspace or org"),
    };
    if !access.access_token.starts_with("xoxb-") || !shapes::is_id(&access.bot_user_id) {
        return bad_answer("no bot token");
    }
    let name = if access.is_enterprise_install {
        access.enterprise.as_ref().and_then(|e| e.name.clone())
    } else {
        access.team.as_ref().and_then(|t| t.name.clone())
    }
    .unwrap_or_else(|| installation.clone());
    let sealed = state.vault.seal(&access.access_token, &token_purpose(&installation));
    let installed_by = access.authed_user.as_ref().map(|u| u.id.as_str()).unwrap_or_default();
    let saved = state
        .app
        .store
        .save_installation(&NewInstallation {
            installation: &installation,
            team_id: team,
            enterprise_id: enterprise,
            is_enterprise_install: access.is_enterprise_install,
            name: &name,
            bot_user_id: &access.bot_user_id,
            sealed_token: &sealed,
            scopes: &access.scope,
            installed_by,
        })
        .await;
    if let Err(e) = saved {
        tracing::error!(error = %e, "could not store an install");
        return unavailable("deskhand could not finish the install");
    }
    state.workspaces.forget(&installation);
    tracing::info!(slack.installation = %installation, org_wide = access.is_enterprise_install, "deskhand was installed");
    page(
        StatusCode::OK,
        "deskhand is installed",
        &format!("deskhand now answers in {name}. Invite it to your support channels, then set them up with an admin."),
    )
}

fn bad_answer(what: &str) -> Response {
    tracing::error!(what, "Slack's answer to an install was not a bot install");
    page(
        StatusCode::BAD_GATEWAY,
        "deskhand could not finish the install",
        "Slack's answer was not a bot install. Check the app's OAuth settings.",
    )
}
