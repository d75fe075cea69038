//! Set-at-a-time writes for the hot path. Each takes any number of rows, so a batch of a
//! thousand events costs the same few statements as a batch of one: on PostgreSQL every
//! statement is a network round trip, and those, not the work, limited throughput.
//!
//! The rows are bound as [`super::rows`] says: one JSON parameter on PostgreSQL, their
//! values in a `values` list on SQLite.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::json;

use super::config::CHANNEL_COLUMNS;
use super::rows::{self, Columns};
use super::tickets::TICKET_COLUMNS;
use super::{execute, on_pool, on_tx, ChannelRecord, Db, NewEffect, Result, Store, TicketRecord, Tx, TxInner};

/// A ticket to file, with its number already given.
#[derive(Debug, Serialize)]
pub struct NumberedTicket<'a> {
    pub key: String,
    pub project_key: &'a str,
    pub number: i64,
    pub summary: String,
    pub description: &'a str,
    pub status: &'a str,
    pub priority: &'a str,
    pub source: &'a str,
    pub requester_person_id: Option<i64>,
    pub requester_slack_id: &'a str,
    pub requester_name: &'a str,
    pub channel_id: &'a str,
    pub message_ts: &'a str,
    pub permalink: String,
    pub department: Option<&'a str>,
    pub request_type: Option<&'a str>,
    pub reporter_slack_id: Option<&'a str>,
    pub reporter_name: Option<&'a str>,
    /// JSON: who the request is for, when the requester filed it for someone else.
    pub on_behalf_of: Option<String>,
    pub private: bool,
    pub status_category: &'a str,
    pub origin_thread_ts: Option<&'a str>,
    /// `pending` when its request type needs an approval first.
    pub approval: Option<&'a str>,
    /// The Slack installation it was filed through.
    pub installation: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct NewAudit {
    pub ticket_id: Option<i64>,
    pub actor_slack_id: Option<String>,
    pub actor_name: Option<String>,
    /// JSON: who the actor acted for, through a facilitator.
    pub on_behalf_of: Option<String>,
    pub source: &'static str,
    pub action: &'static str,
    pub detail: String,
}

/// A message deskhand posted for a ticket.
#[derive(Debug, Clone, Serialize)]
pub struct NewTicketMessage {
    pub ticket_id: i64,
    pub role: &'static str,
    pub channel_id: String,
    pub ts: String,
}

/// Which SQL dialect a statement is for.
#[derive(Clone, Copy)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub(super) fn of_tx(tx: &Tx) -> Self {
        match tx.inner {
            TxInner::Sqlite(_) => Dialect::Sqlite,
            TxInner::Postgres(_) => Dialect::Postgres,
        }
    }

    fn of_store(store: &Store) -> Self {
        match store.db {
            Db::Sqlite { .. } => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The elements of JSON array parameter `$param` as a table of texts named `value`.
    pub(super) fn json_texts(self, param: u8) -> String {
        match self {
            Dialect::Sqlite => format!("json_each(${param})"),
            Dialect::Postgres => format!("json_array_elements_text(${param}::json)"),
        }
    }

    /// `column` is one of the ids in JSON array parameter `$param`. On PostgreSQL as
    /// `= any(array(…))`, which is planned as lookups in the column's index at any size of
    /// the table: as `in (select …)` it is a join that a plan cached while the table was
    /// small carries out by reading the whole table (40 ms for one row of a queue that had
    /// grown tenfold since).
    pub(super) fn json_ids_match(self, column: &str, param: u8) -> String {
        match self {
            Dialect::Sqlite => format!("{column} in (select value from json_each(${param}))"),
            Dialect::Postgres => {
                format!("{column} = any(array(select value::bigint from json_array_elements_text(${param}::json)))")
            }
        }
    }
}

pub(super) fn to_json(rows: &impl Serialize) -> String {
    serde_json::to_string(rows).expect("plain rows serialize")
}

const TICKET_INSERT_COLUMNS: Columns = &[
    ("key", "text"),
    ("project_key", "text"),
    ("number", "bigint"),
    ("summary", "text"),
    ("description", "text"),
    ("status", "text"),
    ("priority", "text"),
    ("source", "text"),
    ("requester_person_id", "bigint"),
    ("requester_slack_id", "text"),
    ("requester_name", "text"),
    ("channel_id", "text"),
    ("message_ts", "text"),
    ("permalink", "text"),
    ("department", "text"),
    ("request_type", "text"),
    ("reporter_slack_id", "text"),
    ("reporter_name", "text"),
    ("on_behalf_of", "text"),
    ("private", "boolean"),
    ("approval", "text"),
    ("status_category", "text"),
    ("origin_thread_ts", "text"),
    ("installation", "text"),
];

impl Store {
    pub(crate) fn dialect(&self) -> Dialect {
        Dialect::of_store(self)
    }

    /// Of these (channel, ts) messages, the ones that already have a ticket.
    pub async fn filed_messages(tx: &mut Tx, messages: &[(&str, &str)]) -> Result<HashSet<(String, String)>> {
        if messages.is_empty() {
            return Ok(HashSet::new());
        }
        let rows: Vec<_> = messages.iter().map(|(c, t)| json!({ "c": c, "t": t })).collect();
        let mut found = HashSet::new();
        for chunk in rows::chunks(Dialect::of_tx(tx), &[("c", "text"), ("t", "text")], &rows)? {
            let sql = format!(
                "select t.channel_id, t.message_ts from tickets t join ({}) m on t.channel_id = m.c and t.message_ts = m.t",
                chunk.select(1)
            );
            let these: Vec<(String, String)> = on_tx!(tx, |conn| query_as(&sql).bind(&chunk).fetch_all(conn).await)?;
            found.extend(these);
        }
        Ok(found)
    }

    /// Reserve `count` numbers in a project; the first of them.
    pub async fn allocate_numbers(tx: &mut Tx, project_key: &str, count: i64) -> Result<i64> {
        Ok(on_tx!(tx, |conn| {
            query_scalar("update projects set next_number = next_number + $2 where key = $1 returning next_number - $2")
                .bind(project_key)
                .bind(count)
                .fetch_one(conn)
                .await
        })?)
    }

    /// File numbered tickets, in order; the tickets as stored.
    pub async fn insert_tickets(tx: &mut Tx, tickets: &[NumberedTicket<'_>]) -> Result<Vec<TicketRecord>> {
        let now = tx.now_ms();
        if tickets.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<&str> = TICKET_INSERT_COLUMNS.iter().map(|(c, _)| *c).collect();
        let mut stored: Vec<TicketRecord> = Vec::with_capacity(tickets.len());
        for chunk in rows::chunks(Dialect::of_tx(tx), TICKET_INSERT_COLUMNS, tickets)? {
            let sql = format!(
                "insert into tickets ({names}, created_at, updated_at)
                 select {names}, $1, $1 from ({rows}) as r where true
                 returning {TICKET_COLUMNS}",
                names = names.join(", "),
                rows = chunk.select(2),
            );
            let these: Vec<TicketRecord> =
                on_tx!(tx, |conn| query_as(&sql).bind(now).bind(&chunk).fetch_all(conn).await)?;
            stored.extend(these);
        }
        stored.sort_by_key(|t| t.id);
        Ok(stored)
    }

    pub async fn insert_audits(tx: &mut Tx, entries: &[NewAudit]) -> Result<()> {
        let now = tx.now_ms();
        if entries.is_empty() {
            return Ok(());
        }
        let columns: Columns = &[
            ("ticket_id", "bigint"),
            ("actor_slack_id", "text"),
            ("actor_name", "text"),
            ("on_behalf_of", "text"),
            ("source", "text"),
            ("action", "text"),
            ("detail", "text"),
        ];
        for chunk in rows::chunks(Dialect::of_tx(tx), columns, entries)? {
            let sql = format!(
                "insert into audit (ticket_id, at, actor_slack_id, actor_name, on_behalf_of, source, action, detail)
                 select ticket_id, $1, actor_slack_id, actor_name, on_behalf_of, source, action, detail from ({}) as r",
                chunk.select(2)
            );
            execute!(tx, &sql, now, &chunk)?;
        }
        Ok(())
    }

    /// Queue effects in the transaction of the change that causes them. A pending,
    /// never-started effect with the same coalesce key absorbs a new one.
    pub async fn enqueue_effects(tx: &mut Tx, effects: &[NewEffect]) -> Result<()> {
        let now = tx.now_ms();
        if effects.is_empty() {
            return Ok(());
        }
        let columns: Columns = &[
            ("effect_id", "text"),
            ("order_key", "text"),
            ("coalesce_key", "text"),
            ("kind", "text"),
            ("payload", "text"),
            ("urgent", "boolean"),
            ("installation", "text"),
        ];
        for chunk in rows::chunks(Dialect::of_tx(tx), columns, effects)? {
            let sql = format!(
                "insert into outbox (effect_id, order_key, coalesce_key, kind, payload, urgent, installation, due_at, created_at)
                 select effect_id, order_key, coalesce_key, kind, payload, urgent, installation, $1, $1 from ({}) as r where true
                 on conflict (coalesce_key) where state = 'pending' and not started and coalesce_key is not null
                 do nothing",
                chunk.select(2)
            );
            execute!(tx, &sql, now, &chunk)?;
        }
        Ok(())
    }

    /// Mark these inbox rows handled.
    pub async fn finish_events(tx: &mut Tx, ids: &[i64]) -> Result<()> {
        Self::finish_rows(tx, "inbox", ids).await
    }

    /// Let this transaction's commit return before PostgreSQL has flushed it to disk
    /// (`synchronous_commit = off`, for this transaction only). For the dispatcher's
    /// outcomes: one lost in a database crash leaves its effect claimed, and when the
    /// lease runs out the effect comes back ambiguous and finds what it had done (its
    /// post, by its metadata; its Jira request, by its reference) instead of doing it
    /// again. SQLite's commits do not wait for the disk (WAL, `synchronous=NORMAL`).
    pub async fn commit_without_waiting_for_disk(tx: &mut Tx) -> Result<()> {
        if let TxInner::Postgres(t) = &mut tx.inner {
            sqlx::query("set local synchronous_commit = off")
                .execute(&mut **t)
                .await?;
        }
        Ok(())
    }

    /// Mark these outbox rows done.
    pub async fn finish_effects(tx: &mut Tx, ids: &[i64]) -> Result<()> {
        Self::finish_rows(tx, "outbox", ids).await
    }

    async fn finish_rows(tx: &mut Tx, table: &str, ids: &[i64]) -> Result<()> {
        tx.settles_claims();
        let now = tx.now_ms();
        if ids.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "update {table} set state = 'done', lease_until = null, finished_at = $2, last_error = null
             where {}",
            Dialect::of_tx(tx).json_ids_match("id", 1)
        );
        execute!(tx, &sql, to_json(&ids), now)?;
        Ok(())
    }

    /// Remember the messages deskhand posted, so later changes edit them in place.
    pub async fn record_ticket_messages(tx: &mut Tx, posted: &[NewTicketMessage]) -> Result<()> {
        if posted.is_empty() {
            return Ok(());
        }
        let columns: Columns = &[
            ("ticket_id", "bigint"),
            ("role", "text"),
            ("channel_id", "text"),
            ("ts", "text"),
        ];
        for chunk in rows::chunks(Dialect::of_tx(tx), columns, posted)? {
            let sql = format!(
                "insert into ticket_messages (ticket_id, role, channel_id, ts)
                 select ticket_id, role, channel_id, ts from ({}) as r where true
                 on conflict (ticket_id, role) do update set channel_id = excluded.channel_id, ts = excluded.ts",
                chunk.select(1)
            );
            execute!(tx, &sql, &chunk)?;
        }
        Ok(())
    }

    /// The bound channels among these ids.
    pub async fn channels_by_ids(&self, ids: &[String]) -> Result<Vec<ChannelRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids_sql = match self.dialect() {
            Dialect::Sqlite => "select value from json_each($1)",
            Dialect::Postgres => "select value from json_array_elements_text($1::json)",
        };
        let sql = format!("select {CHANNEL_COLUMNS} from channels where channel_id in ({ids_sql})");
        Ok(on_pool!(self, |pool| query_as::<ChannelRecord>(&sql)
            .bind(to_json(&ids))
            .fetch_all(pool)
            .await)?)
    }

    /// These tickets, in any order (missing ones are left out).
    pub async fn tickets_by_ids(&self, ids: &[i64]) -> Result<Vec<TicketRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "select {TICKET_COLUMNS} from tickets where {}",
            self.dialect().json_ids_match("id", 1)
        );
        Ok(on_pool!(self, |pool| query_as::<TicketRecord>(&sql)
            .bind(to_json(&ids))
            .fetch_all(pool)
            .await)?)
    }
}
