//! What requests from everywhere need: the record of support channels' messages, changes
//! agents and requesters make to a ticket, the lists people see of their requests, and
//! each person's preferences.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::bulk::{to_json, Dialect};
use super::rows::{self, Columns};
use super::tickets::TICKET_COLUMNS;
use super::{execute, lite::lite_record, on_pool, on_tx, Result, Store, TicketRecord, Tx};
use crate::desk::SharedFile;

/// A message as deskhand received it in a support channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ChannelMessage {
    pub channel_id: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    pub user_id: Option<String>,
    pub text: String,
    /// JSON array of the message's files.
    pub files: String,
    pub deleted: bool,
}

lite_record! { ChannelMessage { channel_id, ts, thread_ts, user_id, text, files, deleted } }

impl ChannelMessage {
    pub fn files(&self) -> Vec<SharedFile> {
        serde_json::from_str(&self.files).unwrap_or_default()
    }

    /// Inside a thread, not its parent.
    pub fn is_reply(&self) -> bool {
        self.thread_ts.as_deref().is_some_and(|t| t != self.ts)
    }
}

const MESSAGE_COLUMNS: &str = "channel_id, ts, thread_ts, user_id, text, files, deleted";

/// How long a support channel's messages are kept for emoji and mentions; older ones are
/// fetched from Slack when needed.
pub const CHANNEL_MESSAGE_RETENTION_MS: i64 = 30 * 86_400_000;

impl Store {
    /// Keep support channels' messages; a message kept already stays as it is.
    pub async fn record_channel_messages(tx: &mut Tx, messages: &[ChannelMessage]) -> Result<()> {
        let now = tx.now_ms();
        if messages.is_empty() {
            return Ok(());
        }
        let columns: Columns = &[
            ("channel_id", "text"),
            ("ts", "text"),
            ("thread_ts", "text"),
            ("user_id", "text"),
            ("text", "text"),
            ("files", "text"),
            ("deleted", "boolean"),
        ];
        for chunk in rows::chunks(Dialect::of_tx(tx), columns, messages)? {
            let sql = format!(
                "insert into channel_messages (channel_id, ts, thread_ts, user_id, text, files, deleted, received_at)
                 select channel_id, ts, thread_ts, user_id, text, files, deleted, $1 from ({}) as r where true
                 on conflict (channel_id, ts) do nothing",
                chunk.select(2)
            );
            execute!(tx, &sql, now, &chunk)?;
        }
        Ok(())
    }

    /// Follow an edit (`Some(text)`) or a delete (`None`) of a kept message.
    pub async fn change_channel_message(tx: &mut Tx, channel_id: &str, ts: &str, text: Option<&str>) -> Result<()> {
        on_tx!(tx, |conn| {
            match text {
                Some(text) => query("update channel_messages set text = $3 where channel_id = $1 and ts = $2")
                    .bind(channel_id)
                    .bind(ts)
                    .bind(text),
                None => query(
                    "update channel_messages set text = '', files = '[]', deleted = true where channel_id = $1 and ts = $2",
                )
                .bind(channel_id)
                .bind(ts),
            }
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn channel_message(&self, channel_id: &str, ts: &str) -> Result<Option<ChannelMessage>> {
        let sql = format!("select {MESSAGE_COLUMNS} from channel_messages where channel_id = $1 and ts = $2");
        Ok(on_pool!(self, |pool| query_as::<ChannelMessage>(&sql)
            .bind(channel_id)
            .bind(ts)
            .fetch_optional(pool)
            .await)?)
    }

    /// A thread as kept: its parent and replies, oldest first.
    pub async fn thread_messages(&self, channel_id: &str, thread_ts: &str) -> Result<Vec<ChannelMessage>> {
        let sql = format!(
            "select {MESSAGE_COLUMNS} from channel_messages
             where channel_id = $1 and (ts = $2 or thread_ts = $2) order by ts"
        );
        Ok(on_pool!(self, |pool| query_as::<ChannelMessage>(&sql)
            .bind(channel_id)
            .bind(thread_ts)
            .fetch_all(pool)
            .await)?)
    }

    /// Forget kept messages received before `before` (unix ms).
    pub async fn purge_channel_messages(&self, before: i64) -> Result<u64> {
        let mut tx = self.begin().await?;
        let purged = execute!(tx, "delete from channel_messages where received_at < $1", before)?;
        tx.commit().await?;
        Ok(purged)
    }

    /// The agent channel of a project's support channels (the first, when they differ).
    pub async fn agent_channel_of(tx: &mut Tx, project: &str) -> Result<Option<String>> {
        Ok(on_tx!(tx, |conn| {
            query_scalar(
                "select agent_channel from channels where project_key = $1 and agent_channel is not null
                 order by channel_id limit 1",
            )
            .bind(project)
            .fetch_optional(conn)
            .await
        })?)
    }

    /// Of these people, those who have opened deskhand's Home tab.
    pub async fn home_users(tx: &mut Tx, slack_ids: &[&str]) -> Result<HashSet<String>> {
        if slack_ids.is_empty() {
            return Ok(HashSet::new());
        }
        let sql = format!(
            "select slack_user_id from slack_user_prefs where home_opened_at is not null and slack_user_id in ({})",
            match Dialect::of_tx(tx) {
                Dialect::Sqlite => "select value from json_each($1)",
                Dialect::Postgres => "select value from json_array_elements_text($1::json)",
            }
        );
        let found: Vec<String> = on_tx!(tx, |conn| query_scalar(&sql)
            .bind(to_json(&slack_ids))
            .fetch_all(conn)
            .await)?;
        Ok(found.into_iter().collect())
    }

    pub async fn set_ticket_permalink(tx: &mut Tx, ticket_id: i64, permalink: &str) -> Result<()> {
        execute!(
            tx,
            "update tickets set permalink = $2 where id = $1",
            ticket_id,
            permalink
        )?;
        Ok(())
    }

    pub async fn assign_ticket(tx: &mut Tx, ticket_id: i64, slack_id: &str, name: &str) -> Result<()> {
        let now = tx.now_ms();
        execute!(
            tx,
            "update tickets set assignee_slack_id = $2, assignee_name = $3, updated_at = $4 where id = $1",
            ticket_id,
            slack_id,
            name,
            now
        )?;
        Ok(())
    }

    pub async fn set_ticket_priority(tx: &mut Tx, ticket_id: i64, priority: &str) -> Result<()> {
        let now = tx.now_ms();
        execute!(
            tx,
            "update tickets set priority = $2, updated_at = $3 where id = $1",
            ticket_id,
            priority,
            now
        )?;
        Ok(())
    }

    pub async fn set_ticket_status(tx: &mut Tx, ticket_id: i64, status: &str, category: &str) -> Result<()> {
        let now = tx.now_ms();
        execute!(
            tx,
            "update tickets set status = $2, status_category = $3, updated_at = $4, previous_status = status,
                   resolved_at = case when $3 = 'done' then coalesce(resolved_at, $4) else null end,
                   first_resolved_at = case when $3 = 'done' then coalesce(first_resolved_at, $4)
                                       else first_resolved_at end,
                   resolutions = resolutions + case when $3 = 'done' and status_category <> 'done' then 1 else 0 end
                 where id = $1",
            ticket_id,
            status,
            category,
            now
        )?;
        Ok(())
    }

    pub async fn ticket_by_key_in(tx: &mut Tx, key: &str) -> Result<Option<TicketRecord>> {
        let sql = format!("select {TICKET_COLUMNS} from tickets where key = $1 or filed_key = $1 limit 1");
        Ok(on_tx!(tx, |conn| query_as::<TicketRecord>(&sql)
            .bind(key)
            .fetch_optional(conn)
            .await)?)
    }

    /// A person's requests, newest first: those not done, then (when `done_since` is given)
    /// those done since then.
    pub async fn requests_of(&self, slack_id: &str, done_since: Option<i64>, limit: i64) -> Result<Vec<TicketRecord>> {
        let sql = format!(
            "select {TICKET_COLUMNS} from tickets
             where requester_slack_id = $1 and deleted_at is null
               and (status_category <> 'done' or resolved_at >= $2)
             order by status_category = 'done', id desc limit $3"
        );
        Ok(on_pool!(self, |pool| query_as::<TicketRecord>(&sql)
            .bind(slack_id)
            .bind(done_since.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(pool)
            .await)?)
    }

    /// A person's requests that are not done, newest first, inside a transaction.
    pub async fn requests_of_in(tx: &mut Tx, slack_id: &str, limit: i64) -> Result<Vec<TicketRecord>> {
        let sql = format!(
            "select {TICKET_COLUMNS} from tickets
             where requester_slack_id = $1 and deleted_at is null and status_category <> 'done'
             order by id desc limit $2"
        );
        Ok(on_tx!(tx, |conn| query_as::<TicketRecord>(&sql)
            .bind(slack_id)
            .bind(limit)
            .fetch_all(conn)
            .await)?)
    }

    /// The requests assigned to an agent that are not done, newest first.
    pub async fn assigned_to(&self, slack_id: &str, limit: i64) -> Result<Vec<TicketRecord>> {
        let sql = format!(
            "select {TICKET_COLUMNS} from tickets
             where assignee_slack_id = $1 and status_category <> 'done' order by id desc limit $2"
        );
        Ok(on_pool!(self, |pool| query_as::<TicketRecord>(&sql)
            .bind(slack_id)
            .bind(limit)
            .fetch_all(pool)
            .await)?)
    }
}

/// What a person chose and what deskhand knows of them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserPrefs {
    pub notifications: bool,
    pub home_opened_at: Option<i64>,
    pub dm_channel: Option<String>,
}

lite_record! { UserPrefs { notifications, home_opened_at, dm_channel } }

/// Someone who chose nothing: notifications on.
impl Default for UserPrefs {
    fn default() -> Self {
        Self {
            notifications: true,
            home_opened_at: None,
            dm_channel: None,
        }
    }
}

const PREFS_SQL: &str =
    "select notifications, home_opened_at, dm_channel from slack_user_prefs where slack_user_id = $1";

impl Store {
    pub async fn user_prefs(&self, slack_id: &str) -> Result<UserPrefs> {
        let found: Option<UserPrefs> = on_pool!(self, |pool| query_as(PREFS_SQL)
            .bind(slack_id)
            .fetch_optional(pool)
            .await)?;
        Ok(found.unwrap_or_default())
    }

    pub async fn user_prefs_in(tx: &mut Tx, slack_id: &str) -> Result<UserPrefs> {
        let found: Option<UserPrefs> =
            on_tx!(tx, |conn| query_as(PREFS_SQL).bind(slack_id).fetch_optional(conn).await)?;
        Ok(found.unwrap_or_default())
    }

    pub async fn set_notifications(tx: &mut Tx, slack_id: &str, on: bool) -> Result<()> {
        execute!(
            tx,
            "insert into slack_user_prefs (slack_user_id, notifications) values ($1, $2)
                 on conflict (slack_user_id) do update set notifications = excluded.notifications",
            slack_id,
            on
        )?;
        Ok(())
    }

    pub async fn home_opened(tx: &mut Tx, slack_id: &str) -> Result<()> {
        let now = tx.now_ms();
        execute!(
            tx,
            "insert into slack_user_prefs (slack_user_id, home_opened_at) values ($1, $2)
                 on conflict (slack_user_id) do update set home_opened_at = excluded.home_opened_at",
            slack_id,
            now
        )?;
        Ok(())
    }

    /// Remember a person's DM channel with deskhand (`conversations.open` says it once).
    pub async fn save_dm_channel(&self, slack_id: &str, channel: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        execute!(
            tx,
            "insert into slack_user_prefs (slack_user_id, dm_channel) values ($1, $2)
                 on conflict (slack_user_id) do update set dm_channel = excluded.dm_channel",
            slack_id,
            channel
        )?;
        tx.commit().await
    }
}

/// The inbox dedupe key prefix of parked messages handed back to the worker: an Events API
/// event again (`event:`), told apart so the worker can mark the parked message filed.
pub const REFILE_KEY_PREFIX: &str = "event:refile:";

/// A parked message waiting for someone who can act for its author.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WaitingParked {
    pub id: i64,
    pub channel_id: String,
    pub slack_user_id: String,
    pub ts: String,
    pub text: String,
    pub event: String,
    pub parked_at: i64,
    pub installation: Option<String>,
}

lite_record! { WaitingParked { id, channel_id, slack_user_id, ts, text, event, parked_at, installation } }

impl Store {
    /// Parked messages not yet filed or reported, oldest first: of one channel, or of
    /// every support channel without a facilitator of its own (`None`); with `user`, only
    /// theirs, in any support channel.
    pub async fn waiting_parked(
        tx: &mut Tx,
        channel_id: Option<&str>,
        user: Option<&str>,
    ) -> Result<Vec<WaitingParked>> {
        Ok(on_tx!(tx, |conn| {
            query_as::<WaitingParked>(
                "select p.id, p.channel_id, p.slack_user_id, p.ts, p.text, p.event, p.parked_at, p.installation
                 from parked_messages p join channels c on c.channel_id = p.channel_id
                 where p.filed_at is null and p.reported_at is null and c.kind = 'support'
                   and (($2 is not null and p.slack_user_id = $2)
                        or ($2 is null and (($1 is null and c.facilitator_slack_id is null) or p.channel_id = $1)))
                 order by p.id",
            )
            .bind(channel_id)
            .bind(user)
            .fetch_all(conn)
            .await
        })?)
    }

    /// Parked messages not yet filed or reported, parked before `before` (unix ms).
    pub async fn expired_parked(tx: &mut Tx, before: i64) -> Result<Vec<WaitingParked>> {
        Ok(on_tx!(tx, |conn| {
            query_as::<WaitingParked>(
                "select id, channel_id, slack_user_id, ts, text, event, parked_at, installation from parked_messages
                 where filed_at is null and reported_at is null and parked_at < $1 order by id",
            )
            .bind(before)
            .fetch_all(conn)
            .await
        })?)
    }

    /// Hand parked messages back to the worker (in their order) and mark the expired ones
    /// reported, inside the change that releases them.
    pub async fn refile_parked(tx: &mut Tx, refile: &[WaitingParked], reported: &[WaitingParked]) -> Result<()> {
        let now = tx.now_ms();
        for parked in refile {
            execute!(
                tx,
                "insert into inbox (dedupe_key, order_key, body, received_at, due_at, installation)
                     values ($1, $2, $3, $4, $4, $5) on conflict (dedupe_key) do nothing",
                format!("{REFILE_KEY_PREFIX}{}:{now}", parked.id),
                &parked.channel_id,
                &parked.event,
                now,
                &parked.installation
            )?;
        }
        let ids: Vec<i64> = reported.iter().map(|p| p.id).collect();
        if !ids.is_empty() {
            let sql = format!(
                "update parked_messages set reported_at = $2 where {}",
                Dialect::of_tx(tx).json_ids_match("id", 1)
            );
            execute!(tx, &sql, to_json(&ids), now)?;
        }
        Ok(())
    }

    /// A parked message was filed after all.
    pub async fn parked_filed(tx: &mut Tx, channel_id: &str, ts: &str) -> Result<bool> {
        let now = tx.now_ms();
        let changed = execute!(
            tx,
            "update parked_messages set filed_at = $3 where channel_id = $1 and ts = $2 and filed_at is null",
            channel_id,
            ts,
            now
        )?;
        Ok(changed > 0)
    }
}
