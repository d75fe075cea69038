//! Projects and channel bindings: what admins configure.

use serde::Serialize;

use super::{now_ms, on_pool, on_tx, Result, Store, StoreError};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ProjectRecord {
    pub key: String,
    pub name: String,
    #[serde(skip)]
    pub next_number: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, PartialEq)]
pub struct ChannelRecord {
    pub channel_id: String,
    pub kind: String,
    pub project_key: Option<String>,
    pub agent_channel: Option<String>,
    pub auto_create: bool,
    pub thread_sync: bool,
    pub announcement_marker: String,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(super) const CHANNEL_COLUMNS: &str =
    "channel_id, kind, project_key, agent_channel, auto_create, thread_sync, announcement_marker, created_at, updated_at";

impl Store {
    pub async fn upsert_project(&self, key: &str, name: &str) -> Result<ProjectRecord> {
        let mut tx = self.begin().await?;
        let now = now_ms();
        let project = on_tx!(tx, |conn| {
            sqlx::query_as::<_, ProjectRecord>(
                "insert into projects (key, name, created_at, updated_at) values ($1, $2, $3, $3)
                 on conflict (key) do update set name = excluded.name, updated_at = excluded.updated_at
                 returning key, name, next_number, created_at, updated_at",
            )
            .bind(key)
            .bind(name)
            .bind(now)
            .fetch_one(conn)
            .await
        })?;
        tx.commit().await?;
        Ok(project)
    }

    pub async fn projects(&self) -> Result<Vec<ProjectRecord>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, ProjectRecord>(
                "select key, name, next_number, created_at, updated_at from projects order by key",
            )
            .fetch_all(pool)
            .await
        })?)
    }

    pub async fn project(&self, key: &str) -> Result<ProjectRecord> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, ProjectRecord>(
                "select key, name, next_number, created_at, updated_at from projects where key = $1",
            )
            .bind(key)
            .fetch_one(pool)
            .await
        })?)
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
            "insert into channels ({CHANNEL_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $8)
             on conflict (channel_id) do update set kind = excluded.kind, project_key = excluded.project_key,
               agent_channel = excluded.agent_channel, auto_create = excluded.auto_create,
               thread_sync = excluded.thread_sync, announcement_marker = excluded.announcement_marker,
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
