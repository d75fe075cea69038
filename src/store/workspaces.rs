//! The workspaces deskhand was installed in through Slack's OAuth: one row per
//! installation (a workspace, or a whole Enterprise Grid org), its bot token kept sealed
//! (the store never sees it in the clear), and the one-time `state` of each install under
//! way, kept as a hash.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{execute, lite::lite_record, on_pool, on_tx, Result, Store, Tx};

/// How long an install may take between `/slack/install` and Slack's redirect back.
pub const OAUTH_STATE_LIFETIME_MS: i64 = 10 * 60 * 1000;
/// Installs under way at once, at most: a flood of `/slack/install` cannot fill the table.
const OAUTH_STATES_AT_MOST: i64 = 10_000;

/// An installation as the admin API shows it: never its token.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct WorkspaceRecord {
    /// The team id, or the enterprise id of an org-wide install.
    pub installation: String,
    pub team_id: Option<String>,
    pub enterprise_id: Option<String>,
    pub is_enterprise_install: bool,
    pub name: String,
    pub bot_user_id: String,
    pub scopes: String,
    pub installed_by: String,
    pub installed_at: i64,
    /// When the app was uninstalled or its tokens revoked; `None` while installed.
    pub removed_at: Option<i64>,
    pub removed_because: Option<String>,
}

lite_record! {
    WorkspaceRecord {
        installation, team_id, enterprise_id, is_enterprise_install, name, bot_user_id, scopes, installed_by,
        installed_at, removed_at, removed_because
    }
}

/// What an install stores.
#[derive(Debug, Clone)]
pub struct NewInstallation<'a> {
    pub installation: &'a str,
    pub team_id: Option<&'a str>,
    pub enterprise_id: Option<&'a str>,
    pub is_enterprise_install: bool,
    pub name: &'a str,
    pub bot_user_id: &'a str,
    /// Sealed by the vault before it gets here.
    pub sealed_token: &'a str,
    pub scopes: &'a str,
    pub installed_by: &'a str,
}

const WORKSPACE_COLUMNS: &str = "installation, team_id, enterprise_id, is_enterprise_install, name, bot_user_id, \
     scopes, installed_by, installed_at, removed_at, removed_because";

fn hash(secret: &str) -> String {
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

impl Store {
    /// Record an install (or a reinstall, which brings a removed workspace back).
    pub async fn save_installation(&self, new: &NewInstallation<'_>) -> Result<()> {
        let mut tx = self.begin().await?;
        let now = tx.now_ms();
        execute!(
            tx,
            "insert into workspaces (installation, team_id, enterprise_id, is_enterprise_install, name, bot_user_id,
                                     bot_token, scopes, installed_by, installed_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             on conflict (installation) do update set team_id = excluded.team_id,
                 enterprise_id = excluded.enterprise_id, is_enterprise_install = excluded.is_enterprise_install,
                 name = excluded.name, bot_user_id = excluded.bot_user_id, bot_token = excluded.bot_token,
                 scopes = excluded.scopes, installed_by = excluded.installed_by, installed_at = excluded.installed_at,
                 removed_at = null, removed_because = null",
            new.installation,
            new.team_id,
            new.enterprise_id,
            new.is_enterprise_install,
            new.name,
            new.bot_user_id,
            new.sealed_token,
            new.scopes,
            new.installed_by,
            now
        )?;
        tx.commit().await
    }

    /// The sealed bot token of an installation still in place.
    pub async fn installation_token(&self, installation: &str) -> Result<Option<String>> {
        Ok(on_pool!(self, |pool| query_scalar(
            "select bot_token from workspaces where installation = $1 and removed_at is null"
        )
        .bind(installation)
        .fetch_optional(pool)
        .await)?
        .flatten())
    }

    /// Every installation, in place or removed, in the order they were made.
    pub async fn installations(&self) -> Result<Vec<WorkspaceRecord>> {
        let sql = format!("select {WORKSPACE_COLUMNS} from workspaces order by installed_at, installation");
        Ok(on_pool!(self, |pool| query_as(&sql).fetch_all(pool).await)?)
    }

    /// Forget an installation's token (the app was uninstalled, or its tokens revoked) and
    /// set aside what was waiting to be sent with it: it never can be. Whether it was in
    /// place.
    pub async fn remove_installation(tx: &mut Tx, installation: &str, because: &str) -> Result<bool> {
        let now = tx.now_ms();
        let removed = execute!(
            tx,
            "update workspaces set bot_token = null, removed_at = $2, removed_because = $3
             where installation = $1 and removed_at is null",
            installation,
            now,
            because
        )?;
        execute!(
            tx,
            "update outbox set state = 'failed', lease_until = null, finished_at = $2, last_error = $3
             where installation = $1 and state = 'pending'",
            installation,
            now,
            format!("not sent: {because}")
        )?;
        Ok(removed > 0)
    }

    /// A fresh `state` for an install: good once, for [`OAUTH_STATE_LIFETIME_MS`]; `None`
    /// while too many are under way.
    pub async fn create_oauth_state(&self) -> Result<Option<String>> {
        let state = format!("{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>());
        let mut tx = self.begin().await?;
        let now = tx.now_ms();
        execute!(
            tx,
            "delete from oauth_states where created_at < $1",
            now - OAUTH_STATE_LIFETIME_MS
        )?;
        let live: i64 = on_tx!(tx, |conn| query_scalar("select count(*) from oauth_states")
            .fetch_one(conn)
            .await)?;
        if live >= OAUTH_STATES_AT_MOST {
            return Ok(None);
        }
        execute!(
            tx,
            "insert into oauth_states (state_hash, created_at) values ($1, $2)",
            hash(&state),
            now
        )?;
        tx.commit().await?;
        Ok(Some(state))
    }

    /// Use an install's `state`: whether it was issued here, unused and unexpired. It
    /// cannot be used again.
    pub async fn use_oauth_state(&self, state: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        let now = tx.now_ms();
        let used: Option<i64> = on_tx!(tx, |conn| query_scalar(
            "delete from oauth_states where state_hash = $1 and created_at > $2 returning created_at"
        )
        .bind(hash(state))
        .bind(now - OAUTH_STATE_LIFETIME_MS)
        .fetch_optional(conn)
        .await)?;
        tx.commit().await?;
        Ok(used.is_some())
    }
}
