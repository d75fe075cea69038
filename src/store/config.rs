//! Projects and channel bindings: what admins configure.

use serde::Serialize;

use super::{now_ms, on_pool, on_tx, raw_json, Result, Store, StoreError};
use std::collections::HashSet;

use crate::desk::roles::Roles;
use crate::desk::workflow::Workflow;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ProjectRecord {
    pub key: String,
    pub name: String,
    #[serde(skip)]
    pub next_number: i64,
    /// JSON array of department names.
    #[serde(serialize_with = "raw_json")]
    pub departments: String,
    /// JSON array of request type names.
    #[serde(serialize_with = "raw_json")]
    pub request_types: String,
    /// JSON workflow; `None` is the default workflow.
    #[serde(skip)]
    pub workflow: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ProjectRecord {
    pub fn departments(&self) -> Vec<String> {
        serde_json::from_str(&self.departments).unwrap_or_default()
    }

    pub fn request_types(&self) -> Vec<String> {
        serde_json::from_str(&self.request_types).unwrap_or_default()
    }

    pub fn workflow(&self) -> Workflow {
        Workflow::from_stored(self.workflow.as_deref())
    }
}

/// A project as an admin sets it.
pub struct NewProject<'a> {
    pub key: &'a str,
    pub name: &'a str,
    pub departments: &'a [String],
    pub request_types: &'a [String],
    pub workflow: Option<&'a Workflow>,
}

/// The setting naming the project of requests that come from no support channel.
pub const DEFAULT_PROJECT: &str = "default_project";

const PROJECT_COLUMNS: &str = "key, name, next_number, departments, request_types, workflow, created_at, updated_at";

#[derive(Debug, Clone, Serialize, sqlx::FromRow, PartialEq)]
pub struct ChannelRecord {
    pub channel_id: String,
    pub kind: String,
    pub project_key: Option<String>,
    pub agent_channel: Option<String>,
    pub auto_create: bool,
    pub thread_sync: bool,
    pub announcement_marker: String,
    pub create_emoji: String,
    pub assign_emoji: String,
    pub resolve_emoji: String,
    pub default_department: Option<String>,
    pub default_request_type: Option<String>,
    pub default_priority: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The verified person who files for people the desk cannot link, in this channel.
    pub facilitator_slack_id: Option<String>,
    /// Who authorized the facilitator, and when.
    pub facilitator_authorized_by: Option<String>,
    pub facilitator_authorized_at: Option<i64>,
}

/// The columns an admin sets by binding a channel.
const CHANNEL_SETTINGS: &str = "channel_id, kind, project_key, agent_channel, auto_create, thread_sync,
    announcement_marker, create_emoji, assign_emoji, resolve_emoji, default_department, default_request_type,
    default_priority, created_at, updated_at";

pub(super) const CHANNEL_COLUMNS: &str = "channel_id, kind, project_key, agent_channel, auto_create, thread_sync,
    announcement_marker, create_emoji, assign_emoji, resolve_emoji, default_department, default_request_type,
    default_priority, created_at, updated_at, facilitator_slack_id, facilitator_authorized_by, facilitator_authorized_at";

/// The workspace-wide facilitator, used by support channels that have none (a setting).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Facilitator {
    pub slack_user_id: String,
    pub authorized_by: String,
    pub authorized_at: i64,
}

/// The settings listing deskhand admins and agents besides those Slack says (JSON arrays of
/// Slack user ids).
pub const ADMINS: &str = "admins";
pub const AGENTS: &str = "agents";
/// The setting letting agents set priorities (`true`), not only admins.
pub const AGENTS_SET_PRIORITY: &str = "agents_set_priority";

/// The setting holding the workspace-wide [`Facilitator`].
pub const WORKSPACE_FACILITATOR: &str = "facilitator";

impl Store {
    pub async fn upsert_project(&self, project: &NewProject<'_>) -> Result<ProjectRecord> {
        let mut tx = self.begin().await?;
        let now = now_ms();
        let departments = serde_json::to_string(project.departments).expect("names serialize");
        let request_types = serde_json::to_string(project.request_types).expect("names serialize");
        let workflow = project
            .workflow
            .map(|w| serde_json::to_string(w).expect("workflows serialize"));
        let sql = format!(
            "insert into projects (key, name, departments, request_types, workflow, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $6)
             on conflict (key) do update set name = excluded.name, departments = excluded.departments,
               request_types = excluded.request_types, workflow = excluded.workflow, updated_at = excluded.updated_at
             returning {PROJECT_COLUMNS}"
        );
        let record = on_tx!(tx, |conn| {
            sqlx::query_as::<_, ProjectRecord>(&sql)
                .bind(project.key)
                .bind(project.name)
                .bind(departments)
                .bind(request_types)
                .bind(workflow)
                .bind(now)
                .fetch_one(conn)
                .await
        })?;
        tx.commit().await?;
        Ok(record)
    }

    pub async fn projects(&self) -> Result<Vec<ProjectRecord>> {
        let sql = format!("select {PROJECT_COLUMNS} from projects order by key");
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, ProjectRecord>(&sql)
            .fetch_all(pool)
            .await)?)
    }

    pub async fn project(&self, key: &str) -> Result<ProjectRecord> {
        let sql = format!("select {PROJECT_COLUMNS} from projects where key = $1");
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, ProjectRecord>(&sql)
            .bind(key)
            .fetch_one(pool)
            .await)?)
    }

    /// The admins' settings about people: named admins and agents, and whether agents may
    /// set priorities.
    pub async fn roles(&self) -> Result<Roles> {
        let names = |v: Option<String>| -> HashSet<String> {
            v.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or_default()
        };
        Ok(Roles {
            admins: names(self.setting(ADMINS).await?),
            agents: names(self.setting(AGENTS).await?),
            agents_set_priority: self.setting(AGENTS_SET_PRIORITY).await?.as_deref() == Some("true"),
        })
    }

    /// A workspace setting's JSON value, if an admin set it.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar("select value from settings where key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// Set (or with `None`, clear) a workspace setting.
    pub async fn put_setting(&self, key: &str, value: Option<&str>) -> Result<()> {
        let mut tx = self.begin().await?;
        on_tx!(tx, |conn| {
            match value {
                Some(value) => sqlx::query(
                    "insert into settings (key, value, updated_at) values ($1, $2, $3)
                     on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at",
                )
                .bind(key)
                .bind(value)
                .bind(now_ms()),
                None => sqlx::query("delete from settings where key = $1").bind(key),
            }
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        tx.commit().await
    }

    /// Bind a channel. A support channel's agent channel is bound as an agent channel
    /// when it is not bound yet; binding it when it is a support channel is a conflict.
    pub async fn upsert_channel(&self, channel: &ChannelRecord) -> Result<ChannelRecord> {
        let mut tx = self.begin().await?;
        let now = now_ms();
        if let Some(agent) = &channel.agent_channel {
            if agent == &channel.channel_id {
                return Err(StoreError::Conflict("a channel cannot be its own agent channel".into()));
            }
            let kind: Option<String> = on_tx!(tx, |conn| {
                sqlx::query_scalar("select kind from channels where channel_id = $1")
                    .bind(agent)
                    .fetch_optional(conn)
                    .await
            })?;
            match kind.as_deref() {
                Some("agent") => {}
                Some(_) => {
                    return Err(StoreError::Conflict(format!(
                        "{agent} is a support channel, not an agent channel"
                    )))
                }
                None => {
                    on_tx!(tx, |conn| {
                        sqlx::query("insert into channels (channel_id, kind, created_at, updated_at) values ($1, 'agent', $2, $2)")
                            .bind(agent)
                            .bind(now)
                            .execute(conn)
                            .await
                            .map(|r| r.rows_affected())
                    })?;
                }
            }
        }
        if channel.kind == "support" {
            let user: Option<String> = on_tx!(tx, |conn| {
                sqlx::query_scalar("select channel_id from channels where agent_channel = $1 limit 1")
                    .bind(&channel.channel_id)
                    .fetch_optional(conn)
                    .await
            })?;
            if let Some(user) = user {
                return Err(StoreError::Conflict(format!(
                    "{} is the agent channel of {user}; it cannot be a support channel",
                    channel.channel_id
                )));
            }
        }
        let sql = format!(
            "insert into channels ({CHANNEL_SETTINGS})
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
             on conflict (channel_id) do update set kind = excluded.kind, project_key = excluded.project_key,
               agent_channel = excluded.agent_channel, auto_create = excluded.auto_create,
               thread_sync = excluded.thread_sync, announcement_marker = excluded.announcement_marker,
               create_emoji = excluded.create_emoji, assign_emoji = excluded.assign_emoji,
               resolve_emoji = excluded.resolve_emoji, default_department = excluded.default_department,
               default_request_type = excluded.default_request_type, default_priority = excluded.default_priority,
               updated_at = excluded.updated_at
             returning {CHANNEL_COLUMNS}"
        );
        let saved = on_tx!(tx, |conn| {
            sqlx::query_as::<_, ChannelRecord>(&sql)
                .bind(&channel.channel_id)
                .bind(&channel.kind)
                .bind(&channel.project_key)
                .bind(&channel.agent_channel)
                .bind(channel.auto_create)
                .bind(channel.thread_sync)
                .bind(&channel.announcement_marker)
                .bind(&channel.create_emoji)
                .bind(&channel.assign_emoji)
                .bind(&channel.resolve_emoji)
                .bind(&channel.default_department)
                .bind(&channel.default_request_type)
                .bind(&channel.default_priority)
                .bind(now)
                .fetch_one(conn)
                .await
        })?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Authorize a support channel's facilitator (`Some((user, by))`), or revoke it.
    pub async fn set_facilitator(&self, channel_id: &str, facilitator: Option<(&str, &str)>) -> Result<ChannelRecord> {
        let mut tx = self.begin().await?;
        let sql = format!(
            "update channels set facilitator_slack_id = $2, facilitator_authorized_by = $3,
               facilitator_authorized_at = $4, updated_at = coalesce($4, updated_at)
             where channel_id = $1 and kind = 'support' returning {CHANNEL_COLUMNS}"
        );
        let now = facilitator.map(|_| now_ms());
        let saved = on_tx!(tx, |conn| {
            sqlx::query_as::<_, ChannelRecord>(&sql)
                .bind(channel_id)
                .bind(facilitator.map(|f| f.0))
                .bind(facilitator.map(|f| f.1))
                .bind(now)
                .fetch_one(conn)
                .await
        })?;
        tx.commit().await?;
        Ok(saved)
    }

    pub async fn channel(&self, channel_id: &str) -> Result<Option<ChannelRecord>> {
        let sql = format!("select {CHANNEL_COLUMNS} from channels where channel_id = $1");
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, ChannelRecord>(&sql)
                .bind(channel_id)
                .fetch_optional(pool)
                .await
        })?)
    }

    pub async fn channels(&self) -> Result<Vec<ChannelRecord>> {
        let sql = format!("select {CHANNEL_COLUMNS} from channels order by channel_id");
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, ChannelRecord>(&sql)
            .fetch_all(pool)
            .await)?)
    }

    /// Unbind a channel. Its tickets stay; an agent channel still named by a support
    /// channel cannot go.
    pub async fn delete_channel(&self, channel_id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let user: Option<String> = on_tx!(tx, |conn| {
            sqlx::query_scalar("select channel_id from channels where agent_channel = $1 limit 1")
                .bind(channel_id)
                .fetch_optional(conn)
                .await
        })?;
        if let Some(user) = user {
            return Err(StoreError::Conflict(format!(
                "{user} uses {channel_id} as its agent channel"
            )));
        }
        let deleted: u64 = on_tx!(tx, |conn| {
            sqlx::query("delete from channels where channel_id = $1")
                .bind(channel_id)
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        })?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }
}
