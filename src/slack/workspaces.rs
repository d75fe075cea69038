//! The workspaces deskhand answers, each with its own token: the one `SLACK_BOT_TOKEN`
//! names, and those installed through Slack's OAuth, whose tokens the store keeps sealed.
//! Every payload names its installation (its team, or its org for an org-wide install on
//! Enterprise Grid); the worker and the dispatcher ask here for a client calling with
//! that installation's token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::api::SlackApi;
use crate::config::Secret;
use crate::store::{Store, StoreError};
use crate::vault::{Vault, VaultError};

/// How long a workspace's token is remembered before the store is asked again.
const REMEMBERED_FOR: Duration = Duration::from_secs(60);

/// What a bot token is sealed for: a token copied onto another workspace's row does not
/// open there.
pub fn token_purpose(installation: &str) -> String {
    format!("slack-bot-token:{installation}")
}

#[derive(Debug, thiserror::Error)]
pub enum NoClient {
    /// Neither installed through OAuth nor the configured token's: nothing can be sent.
    #[error("deskhand is not installed in Slack workspace {0}")]
    NotInstalled(String),
    #[error("the token of workspace {0} cannot be opened: {1}")]
    Sealed(String, VaultError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl NoClient {
    /// Whether trying again later can help (the store was busy).
    pub fn is_transient(&self) -> bool {
        matches!(self, NoClient::Store(_))
    }
}

/// An installation's client, and since when.
type Remembered = (SlackApi, Instant);

#[derive(Clone)]
pub struct Workspaces {
    /// Calls with the configured token, if any; every client shares its connections.
    base: SlackApi,
    store: Store,
    vault: Option<Vault>,
    remembered: Arc<Mutex<HashMap<String, Remembered>>>,
}

impl Workspaces {
    pub fn new(base: SlackApi, store: Store, vault: Option<Vault>) -> Self {
        Self {
            base,
            store,
            vault,
            remembered: Arc::default(),
        }
    }

    /// The client with the configured token (or none).
    pub fn configured(&self) -> &SlackApi {
        &self.base
    }

    /// A client calling with this installation's token: its own when installed through
    /// OAuth, else the configured one (which serves its own workspace). `None` names no
    /// installation (the portal's and the admin API's work on a ticket of no workspace).
    pub async fn client(&self, installation: Option<&str>) -> Result<SlackApi, NoClient> {
        let Some(installation) = installation else {
            return self.fallback("(none)");
        };
        let Some(vault) = &self.vault else {
            // Nothing installed through OAuth can be opened: the configured token serves.
            return self.fallback(installation);
        };
        let remembered = {
            let map = self.remembered.lock().unwrap_or_else(|p| p.into_inner());
            map.get(installation)
                .filter(|(_, at)| at.elapsed() < REMEMBERED_FOR)
                .map(|(client, _)| client.clone())
        };
        if let Some(client) = remembered {
            return Ok(client);
        }
        let Some(sealed) = self.store.installation_token(installation).await? else {
            // Not remembered: a workspace installed meanwhile (perhaps through another
            // replica) is answered at once.
            return self.fallback(installation);
        };
        let token = vault
            .open(&sealed, &token_purpose(installation))
            .map_err(|e| NoClient::Sealed(installation.to_owned(), e))?;
        let client = self.base.with_token(Secret::new(token));
        let mut map = self.remembered.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(installation.to_owned(), (client.clone(), Instant::now()));
        Ok(client)
    }

    fn fallback(&self, installation: &str) -> Result<SlackApi, NoClient> {
        if self.base.has_token() {
            Ok(self.base.clone())
        } else {
            Err(NoClient::NotInstalled(installation.to_owned()))
        }
    }

    /// The client the admin use cases ask who people are with: the configured token's,
    /// else the first workspace installed (and still in place).
    pub async fn default_client(&self) -> Result<SlackApi, NoClient> {
        if self.base.has_token() {
            return Ok(self.base.clone());
        }
        let installed = self.store.installations().await?;
        match installed.iter().find(|w| w.removed_at.is_none()) {
            Some(first) => self.client(Some(&first.installation)).await,
            None => Err(NoClient::NotInstalled("any workspace".into())),
        }
    }

    /// The installations in place, with the team each is (`None` for an org-wide install).
    pub async fn installed_teams(&self) -> Result<Vec<(String, Option<String>)>, NoClient> {
        let installed = self.store.installations().await?;
        Ok(installed
            .into_iter()
            .filter(|w| w.removed_at.is_none())
            .map(|w| (w.installation, w.team_id.filter(|_| !w.is_enterprise_install)))
            .collect())
    }

    /// The installations in place, with their names.
    pub async fn installed_names(&self) -> Result<Vec<(String, String)>, NoClient> {
        let installed = self.store.installations().await?;
        Ok(installed
            .into_iter()
            .filter(|w| w.removed_at.is_none())
            .map(|w| (w.installation, w.name))
            .collect())
    }

    /// Forget what is remembered of an installation (it was installed again, or removed).
    pub fn forget(&self, installation: &str) {
        let mut map = self.remembered.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(installation);
    }
}
