//! Configuration use cases: what the admin API and `/desk admin` in Slack (and any later
//! admin surface) both do: save a channel's preferences, authorize or revoke a facilitator,
//! change the settings, save a project, and hand parked messages back when someone can
//! act for their authors.
//!
//! Each use case checks with the desk's rules, then makes its change, its audit entry and
//! what it releases in one transaction. Refusals say which field they are about
//! ([`Refusal`]), so the API can answer with a message and a modal can show it under the
//! field. The outside world is reached through [`Directory`], which the Slack edge
//! implements.

pub mod channels;
pub mod customers;
pub mod doctor;
pub mod facilitators;
pub mod jira;
pub mod parked;
pub mod participants;
pub mod settings;

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::desk::config::Refusal;
use crate::desk::identity::SlackProfile;
use crate::store::{NewAudit, Store, StoreError};

/// A person as the workspace's directory knows them.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub team_id: String,
    /// The name people know them by.
    pub name: String,
    pub email: Option<String>,
    pub is_bot: bool,
    pub is_restricted: bool,
    pub is_ultra_restricted: bool,
    pub deleted: bool,
    /// A workspace owner or admin.
    pub is_admin: bool,
}

impl Person {
    pub fn profile(&self) -> SlackProfile<'_> {
        SlackProfile {
            team_id: &self.team_id,
            is_bot: self.is_bot,
            is_restricted: self.is_restricted,
            is_ultra_restricted: self.is_ultra_restricted,
            deleted: self.deleted,
            email: self.email.as_deref(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The directory could not answer now; asking again later may work.
    #[error("{0}")]
    Unavailable(String),
    /// The directory refused the question (a refused token, a missing scope).
    #[error("{0}")]
    Refused(String),
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Who people are: the workspace's directory (Slack's `auth.test` and `users.info`).
/// A workspace installed through Slack's OAuth, and whether Slack accepts its token.
pub struct Installed {
    pub installation: String,
    pub name: String,
    pub accepted: Result<(), DirectoryError>,
}

pub trait Directory: Send + Sync {
    /// The team id of the workspace deskhand serves.
    fn workspace_team(&self) -> BoxFuture<'_, Result<String, DirectoryError>>;
    /// A person by their user id; `None` when the directory knows no such person.
    fn person<'a>(&'a self, user: &'a str) -> BoxFuture<'a, Result<Option<Person>, DirectoryError>>;
    /// The permissions deskhand needs and its token lacks.
    fn missing_scopes(&self) -> BoxFuture<'_, Result<Vec<String>, DirectoryError>>;
    /// Whether deskhand itself is in `channel` (it hears only channels it was invited to).
    fn present_in<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<bool, DirectoryError>>;
    /// The member with this address; `None` when the directory knows none.
    fn person_by_email<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<Option<Person>, DirectoryError>>;
    /// Whether Socket Mode connections can be opened; `None` when it is not configured.
    fn socket_mode(&self) -> BoxFuture<'_, Option<Result<(), DirectoryError>>>;
    /// Each workspace installed through Slack's OAuth and still in place (its id and
    /// name), with whether Slack accepts its token.
    fn installed(&self) -> BoxFuture<'_, Result<Vec<Installed>, DirectoryError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// Who made a configuration change: the admin API, or an admin in Slack.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub slack_id: Option<&'a str>,
    pub name: &'a str,
    pub source: &'static str,
}

/// The admin API's own actor.
pub const ADMIN_API: Actor<'static> = Actor {
    slack_id: None,
    name: "admin API",
    source: "api",
};

impl Actor<'_> {
    /// How the audit and the settings name them.
    pub fn id_or_name(&self) -> &str {
        self.slack_id.unwrap_or(self.name)
    }

    fn audit(&self, action: &'static str, detail: Value) -> NewAudit {
        NewAudit {
            ticket_id: None,
            actor_slack_id: self.slack_id.map(str::to_owned),
            actor_name: Some(self.name.to_owned()),
            on_behalf_of: None,
            source: self.source,
            action,
            detail: detail.to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The change breaks a rule; nothing was written.
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error("{0}")]
    NotFound(String),
    /// Slack could not be asked what the change depends on; nothing was written.
    #[error("{0}")]
    Unavailable(String),
    /// Slack refused deskhand's question (its token, a missing scope): asking again will
    /// not help until the setup is fixed; nothing was written.
    #[error("{0}")]
    SlackRefused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DirectoryError> for AdminError {
    fn from(e: DirectoryError) -> Self {
        tracing::warn!(error = %e, "could not ask Slack who someone is");
        match e {
            DirectoryError::Unavailable(_) => {
                AdminError::Unavailable("Slack could not be asked who this is; try again".into())
            }
            DirectoryError::Refused(why) => AdminError::SlackRefused(format!(
                "Slack refused deskhand's token (SLACK_BOT_TOKEN): {why}. Check the token and the app's scopes \
                 (users:read, users:read.email); trying again will not help until then"
            )),
        }
    }
}

pub type Result<T, E = AdminError> = std::result::Result<T, E>;

/// Whether a Slack user is a deskhand admin: a workspace owner or admin (as Slack says),
/// or named in the `admins` setting.
pub async fn is_admin(store: &Store, directory: &dyn Directory, user: &str) -> Result<bool> {
    let roles = store.settings().await?.roles();
    if roles.is_admin(user, false) {
        return Ok(true);
    }
    if let Some(record) = store.slack_user(user).await? {
        return Ok(roles.is_admin(user, record.is_admin));
    }
    match directory.person(user).await {
        Ok(person) => Ok(roles.is_admin(user, person.is_some_and(|p| p.is_admin))),
        Err(e) => Err(e.into()),
    }
}
