//! The inbox (what came in, stored before the acknowledgement) and the outbox (what must
//! go out, stored with the change that caused it).
//!
//! Both are queues with the same discipline: a row is claimed with a lease; rows sharing an
//! `order_key` are handed out strictly in order (a later row waits while an earlier one is
//! leased elsewhere or backing off); a lease that expires makes the row claimable again, so
//! a crashed process loses nothing. On PostgreSQL, replicas serialize their claims with a
//! transaction-scoped advisory lock: each claim reads, after taking it, what the one before
//! committed, so the candidates need no row locks of their own (which PostgreSQL writes to
//! every candidate's tuple, a page and its WAL per row looked at).

use serde::Serialize;

use crate::desk::effects::Effect;

use super::rows::{self, Chunk, Columns};
use super::{execute, lite::lite_record, ExclusiveUse};
use super::{on_tx, Db, Result, Store, StoreError, Tx, TxInner};

/// How a claimed queue row ends its lease.
#[derive(Debug, Clone, PartialEq)]
pub enum Settle {
    /// Handled: never again.
    Done,
    /// Failed, may succeed later: try again at `due_at`. `ambiguous`: the attempt may have
    /// had its effect.
    Retry {
        due_at: i64,
        error: String,
        ambiguous: bool,
    },
    /// Not tried at all (held back behind an earlier row, or pacing): try at `due_at`.
    Defer { due_at: i64 },
    /// Can never succeed: kept, with its error, for people to see.
    Fail { error: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct NewEvent {
    pub dedupe_key: String,
    pub order_key: String,
    pub body: String,
    /// Someone waits for it (an interaction, a slash command): claimed before the backlog.
    pub urgent: bool,
    /// The Slack installation whose token handles it (`None`: the configured token).
    pub installation: Option<String>,
}

#[derive(Debug, sqlx::FromRow)]
pub struct ClaimedEvent {
    pub id: i64,
    /// What the event is and where from: `event:…` (Events API), `interaction:…`, `command:…`.
    pub dedupe_key: String,
    pub order_key: String,
    pub body: String,
    pub attempts: i64,
    pub received_at: i64,
    pub installation: Option<String>,
}

lite_record! { ClaimedEvent { id, dedupe_key, order_key, body, attempts, received_at, installation } }

#[derive(Debug, Serialize)]
pub struct NewEffect {
    pub effect_id: String,
    pub order_key: String,
    /// A pending, never-tried effect with the same key absorbs this one.
    pub coalesce_key: Option<String>,
    pub kind: &'static str,
    pub payload: String,
    /// Someone waits for it (a modal to open, a private answer): claimed before the backlog.
    pub urgent: bool,
    /// The Slack installation whose token sends it (`None`: the configured token).
    pub installation: Option<String>,
}

impl NewEffect {
    /// An effect as the outbox keeps it, with a fresh id: unique enough to find one post
    /// among a workspace's messages (80 random bits), and led by the time it was made
    /// (48 bits of milliseconds), so that new ids sort after old ones. Each new id then
    /// goes to the end of the outbox's indexes on it, whose last pages are in memory,
    /// instead of to a random page of an index that grows by two entries a ticket.
    pub fn of(effect: &Effect) -> Self {
        let millis = chrono::Utc::now().timestamp_millis() as u64 & 0xffff_ffff_ffff;
        let effect_id = format!("{millis:012x}{:020x}", rand::random::<u128>() >> 48);
        Self {
            order_key: effect.order_key(&effect_id),
            coalesce_key: effect.coalesce_key(),
            kind: effect.kind(),
            urgent: effect.urgent(),
            payload: serde_json::to_string(effect).expect("effects serialize"),
            effect_id,
            installation: None,
        }
    }

    /// The same effect, sent with the token of this Slack installation.
    pub fn through(self, installation: Option<&str>) -> Self {
        Self {
            installation: installation.map(str::to_owned),
            ..self
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct ClaimedEffect {
    pub id: i64,
    pub effect_id: String,
    pub order_key: String,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    /// An earlier attempt may have reached the outside world (timeout, 5xx, crash).
    pub ambiguous: bool,
    pub created_at: i64,
    pub installation: Option<String>,
    /// Someone waits for it (a modal to open, a private answer).
    pub urgent: bool,
}

lite_record! {
    ClaimedEffect {
        id, effect_id, order_key, kind, payload, attempts, ambiguous, created_at, installation, urgent
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct OutboxRecord {
    pub id: i64,
    pub effect_id: String,
    pub kind: String,
    pub payload: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

lite_record! { OutboxRecord { id, effect_id, kind, payload, state, attempts, last_error, created_at, finished_at } }

/// A row either database can read into this type.
trait Readable: Send + Unpin + super::lite::FromLite + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> {}

impl<T> Readable for T where T: Send + Unpin + super::lite::FromLite + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> {}

/// A queue row as a claim returns it.
trait Claimed: Readable {
    fn id(&self) -> i64;
}

impl Claimed for ClaimedEvent {
    fn id(&self) -> i64 {
        self.id
    }
}

impl Claimed for ClaimedEffect {
    fn id(&self) -> i64 {
        self.id
    }
}

/// One queue's pending rows: due now, claimed by someone, and when the next one that
/// waits (backing off, or paced) comes due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueState {
    pub due: i64,
    pub leased: i64,
    pub next_due_at: Option<i64>,
}

/// Both queues' states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queues {
    pub inbox: QueueState,
    pub outbox: QueueState,
}

impl Queues {
    /// Nothing pending at all.
    pub fn empty(&self) -> bool {
        [self.inbox, self.outbox]
            .iter()
            .all(|q| q.due == 0 && q.leased == 0 && q.next_due_at.is_none())
    }

    /// Nothing can happen until time passes: every pending row waits for its due time.
    pub fn only_waiting(&self) -> Option<i64> {
        let idle = [self.inbox, self.outbox].iter().all(|q| q.due == 0 && q.leased == 0);
        idle.then(|| {
            [self.inbox.next_due_at, self.outbox.next_due_at]
                .into_iter()
                .flatten()
                .min()
        })
        .flatten()
    }
}

/// An inbox row as the admin API shows it; the body cut to its first 2,000 characters.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct InboxRecord {
    pub id: i64,
    pub dedupe_key: String,
    pub order_key: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub received_at: i64,
    pub finished_at: Option<i64>,
    pub body: String,
}

lite_record! {
    InboxRecord {
        id, dedupe_key, order_key, state, attempts, last_error, received_at, finished_at, body
    }
}

/// Advisory lock ids under which PostgreSQL replicas take turns claiming, one per queue
/// (a worker claiming events need not wait for a dispatcher claiming effects).
const INBOX_CLAIM_LOCK: i64 = 0x6465_736b_0001;
const OUTBOX_CLAIM_LOCK: i64 = 0x6465_736b_0002;

/// `strict`: any earlier pending row with the same key holds a row back (the outbox: one
/// message's effects one at a time). Otherwise only an earlier row that has been tried
/// (leased now, or waiting to be retried) does, and a batch takes a whole run of one key at
/// once (the inbox); the partial index `inbox_tried` keeps that check small.
///
/// Candidates are the first due, unleased urgent rows, then the first due, unleased others
/// in id order (windows a few times the batch, read straight off the partial indexes); they
/// are checked against earlier rows of their key in that order, and only until the batch
/// is full (no sort of the candidates: both databases read a `union all` in the order it is
/// written, PostgreSQL because a statement that writes never gets a parallel plan; so a
/// batch that fills early checks no more candidates than it takes). So what someone waits
/// for (a modal within Slack's 3 s) never waits behind a backlog, and a claim costs the same
/// however much is pending. The update's conditions are checked again after any row lock
/// wait, so a row settled meanwhile is never claimed. `urgent_only`: the urgent window alone.
fn claim_sql(table: &str, set: &str, returning: &str, strict: bool, urgent_only: bool) -> String {
    let blocking = if strict { "" } else { " and e.attempts > 0" };
    let due = "due_at <= $2 and (lease_until is null or lease_until < $2)";
    let claimable = format!("state = 'pending' and {due}");
    let backlog = match urgent_only {
        true => String::new(),
        false => format!(
            "
             union all
             select * from (select id, order_key from {table} where {claimable} and not urgent
                            order by id limit $3 * 4 + 64) a"
        ),
    };
    // `materialized`: the choice is made once, whatever plan the outer update gets (left to
    // the planner, a nested loop can run it again for every pending row). The check for
    // an earlier row of the key is a scalar subquery, not `not exists`: PostgreSQL turns
    // the latter into an anti-join, and with statistics taken while few rows had been
    // tried it materializes every tried row and compares each candidate with all of them
    // (seconds per claim in a backlog); a subquery probes the index once per candidate.
    // The update finds its rows by primary key: its check that they are pending does not
    // match the partial indexes' `state = 'pending'`, or a planner that thinks them empty
    // (statistics of a quiet moment) walks one for each row (170 ms to claim 112 effects).
    format!(
        "with picked as materialized (
           select q.id from (
             select * from (select id, order_key from {table} where {claimable} and urgent
                            order by id limit $3 + 16) u{backlog}) q
           where (select 1 from {table} e where e.order_key = q.order_key and e.id < q.id and e.state = 'pending'{blocking}
                  limit 1) is null
           limit $3)
         update {table} set lease_until = $1, attempts = attempts + 1, claimed_by = $4{set}
         where state not in ('done', 'failed') and {due} and id in (select id from picked)
         returning {returning}"
    )
}

impl Store {
    /// Record incoming events in one statement (group commit). For each, whether it was
    /// new (`false`: a retry of something already stored).
    pub async fn insert_events(&self, events: &[NewEvent]) -> Result<Vec<bool>> {
        // In key order: two replicas storing overlapping batches then take their row
        // locks in the same order and cannot deadlock.
        let mut rows: Vec<&NewEvent> = events.iter().collect();
        rows.sort_by(|a, b| a.dedupe_key.cmp(&b.dedupe_key));
        let columns: Columns = &[
            ("dedupe_key", "text"),
            ("order_key", "text"),
            ("body", "text"),
            ("urgent", "boolean"),
            ("installation", "text"),
        ];
        let chunks = rows::chunks(self.dialect(), columns, &rows)?;
        let statement = |chunk: &Chunk| {
            format!(
                "insert into inbox (dedupe_key, order_key, body, urgent, installation, received_at, due_at)
                 select dedupe_key, order_key, body, urgent, installation, $1, $1 from ({}) as r where true
                 on conflict (dedupe_key) do nothing returning dedupe_key",
                chunk.select(2)
            )
        };
        let now = self.now_ms();
        let mut new = std::collections::HashSet::new();
        match (&self.db, chunks.as_slice()) {
            (Db::Sqlite(lite), [chunk]) => {
                // One statement commits on its own (see `claim`).
                let these: Vec<String> = super::lite::query_scalar(&statement(chunk))
                    .bind(now)
                    .bind(chunk)
                    .fetch_all(&mut *lite.writer().await)
                    .await?;
                new.extend(these);
                self.commits.notify_waiters();
            }
            _ => {
                let mut tx = self.begin().await?;
                for chunk in &chunks {
                    let sql = statement(chunk);
                    let these: Vec<String> = on_tx!(tx, |conn| query_scalar(&sql)
                        .bind(now)
                        .bind(chunk)
                        .fetch_all(conn)
                        .await)?;
                    new.extend(these);
                }
                tx.commit().await?;
            }
        }
        Ok(events.iter().map(|e| new.contains(&e.dedupe_key)).collect())
    }

    async fn claim_lock(tx: &mut Tx, lock: i64) -> Result<()> {
        if let TxInner::Postgres(t) = &mut tx.inner {
            sqlx::query("select pg_advisory_xact_lock($1)")
                .bind(lock)
                .execute(&mut **t)
                .await?;
        }
        Ok(())
    }

    /// Hand back every claim at once, at start, when this process is the only one that may
    /// use the database (SQLite, under its lock): whoever held them is gone, so nothing
    /// waits out a lease. An effect that was under way may have reached Slack: it comes
    /// back ambiguous, as after a lease runs out. How many events and effects came back.
    pub async fn release_claims(&self, exclusive: &ExclusiveUse) -> Result<(u64, u64)> {
        if !exclusive.held() {
            return Ok((0, 0));
        }
        let mut tx = self.begin().await?;
        let events = execute!(
            tx,
            "update inbox set lease_until = null where state = 'pending' and lease_until is not null"
        )?;
        let effects = execute!(
            tx,
            "update outbox set lease_until = null, ambiguous = true where state = 'pending' and lease_until is not null"
        )?;
        tx.commit().await?;
        Ok((events, effects))
    }

    /// Lease up to `limit` events that are due, urgent ones first, then oldest first, in
    /// order per channel; with `urgent_only`, urgent ones alone.
    pub async fn claim_events(&self, limit: i64, lease_ms: i64, urgent_only: bool) -> Result<Vec<ClaimedEvent>> {
        let now = self.now_ms();
        let sql = claim_sql(
            "inbox",
            "",
            "id, dedupe_key, order_key, body, attempts, received_at, installation",
            false,
            urgent_only,
        );
        self.claim(INBOX_CLAIM_LOCK, &sql, now, limit, lease_ms).await
    }

    /// End the lease of inbox row `id` inside `tx`.
    pub async fn settle_event(tx: &mut Tx, id: i64, settle: &Settle) -> Result<()> {
        settle_row(tx, "inbox", id, settle).await
    }

    /// End the lease of outbox row `id` inside `tx`.
    pub async fn settle_effect(tx: &mut Tx, id: i64, settle: &Settle) -> Result<()> {
        settle_row(tx, "outbox", id, settle).await
    }

    /// Lease up to `limit` due effects, urgent ones first, in order per ticket; with
    /// `urgent_only`, urgent ones alone. An effect whose earlier lease ran out (its
    /// process died mid-call) comes back marked ambiguous.
    pub async fn claim_effects(&self, limit: i64, lease_ms: i64, urgent_only: bool) -> Result<Vec<ClaimedEffect>> {
        let now = self.now_ms();
        let sql = claim_sql(
            "outbox",
            ", ambiguous = (ambiguous or lease_until is not null), started = true",
            "id, effect_id, order_key, kind, payload, attempts, ambiguous, created_at, installation, urgent",
            true,
            urgent_only,
        );
        self.claim(OUTBOX_CLAIM_LOCK, &sql, now, limit, lease_ms).await
    }

    /// Lease the rows `sql` (from [`claim_sql`]) picks, under the queue's claim lock, in id
    /// order.
    async fn claim<T: Claimed>(&self, lock: i64, sql: &str, now: i64, limit: i64, lease_ms: i64) -> Result<Vec<T>> {
        if let Db::Sqlite(lite) = &self.db {
            // One statement on the one writing connection commits on its own: no BEGIN
            // and COMMIT.
            let mut rows = super::lite::query_as::<T>(sql)
                .bind(now + lease_ms)
                .bind(now)
                .bind(limit)
                .bind(&self.replica.id)
                .fetch_all(&mut *lite.writer().await)
                .await?;
            self.commits.notify_waiters();
            rows.sort_by_key(Claimed::id);
            return Ok(rows);
        }
        let mut tx = self.begin().await?;
        Self::claim_lock(&mut tx, lock).await?;
        let mut rows = on_tx!(tx, |conn| {
            query_as::<T>(sql)
                // Planned afresh each time: a cached generic plan from when the queue
                // was small can turn a millisecond claim into seconds once it is large.
                // (SQLite's cached statements have no such plan to go stale.)
                .persistent(false)
                .bind(now + lease_ms)
                .bind(now)
                .bind(limit)
                .bind(&self.replica.id)
                .fetch_all(conn)
                .await
        })?;
        tx.commit().await?;
        rows.sort_by_key(Claimed::id);
        Ok(rows)
    }

    /// Events in a state (`pending`, `done`, `failed`), newest first: for the admin API.
    pub async fn events(&self, state: &str, limit: i64) -> Result<Vec<InboxRecord>> {
        let sql = "select id, dedupe_key, order_key, state, attempts, last_error, received_at, finished_at, body
                   from inbox where state = $1 order by id desc limit $2";
        let mut rows: Vec<InboxRecord> = self.in_state(sql, state, limit).await?;
        for row in &mut rows {
            if let Some((cut, _)) = row.body.char_indices().nth(2000) {
                row.body.truncate(cut);
            }
        }
        Ok(rows)
    }

    /// Effects in a state (`pending`, `done`, `failed`), newest first: for the admin API.
    pub async fn effects(&self, state: &str, limit: i64) -> Result<Vec<OutboxRecord>> {
        let sql = "select id, effect_id, kind, payload, state, attempts, last_error, created_at, finished_at
                   from outbox where state = $1 order by id desc limit $2";
        self.in_state(sql, state, limit).await
    }

    async fn in_state<T: Readable>(&self, sql: &str, state: &str, limit: i64) -> Result<Vec<T>> {
        Ok(super::on_pool!(self, |pool| query_as::<T>(sql)
            .bind(state)
            .bind(limit)
            .fetch_all(pool)
            .await)?)
    }

    /// Where the two queues stand now, for whoever waits for them to empty.
    pub async fn queues(&self) -> Result<Queues> {
        let now = self.now_ms();
        let count = |table: &str| {
            format!(
                "select count(*) filter (where due_at <= $1 and (lease_until is null or lease_until < $1)),
                        count(*) filter (where lease_until >= $1),
                        min(due_at) filter (where due_at > $1 and (lease_until is null or lease_until < $1))
                 from {table} where state = 'pending'"
            )
        };
        let (inbox, outbox) = (count("inbox"), count("outbox"));
        let read = |sql: String| {
            let store = self.clone();
            async move {
                let (due, leased, next): (i64, i64, Option<i64>) =
                    super::on_pool!(store, |pool| query_as(&sql).bind(now).fetch_one(pool).await)?;
                Ok::<_, StoreError>(QueueState {
                    due,
                    leased,
                    next_due_at: next,
                })
            }
        };
        Ok(Queues {
            inbox: read(inbox).await?,
            outbox: read(outbox).await?,
        })
    }

    /// How much waits in each queue and since when: ((events, oldest received_at), (effects,
    /// oldest created_at)), for the metrics.
    pub async fn queue_depths(&self) -> Result<((i64, Option<i64>), (i64, Option<i64>))> {
        let (events, effects, oldest_event, oldest_effect): (i64, i64, Option<i64>, Option<i64>) =
            super::on_pool!(self, |pool| {
                query_as(
                    "select (select count(*) from inbox where state = 'pending'),
                            (select count(*) from outbox where state = 'pending'),
                            (select received_at from inbox where state = 'pending' order by id limit 1),
                            (select created_at from outbox where state = 'pending' order by id limit 1)",
                )
                .fetch_one(pool)
                .await
            })?;
        Ok(((events, oldest_event), (effects, oldest_effect)))
    }

    /// How much work waits: (pending events, pending effects).
    pub async fn backlog(&self) -> Result<(i64, i64)> {
        Ok(super::on_pool!(self, |pool| {
            query_as::<(i64, i64)>(
                "select (select count(*) from inbox where state = 'pending'), (select count(*) from outbox where state = 'pending')",
            )
            .fetch_one(pool)
            .await
        })?)
    }

    /// Refresh the planner's statistics of the tables that grow and churn fastest. On
    /// PostgreSQL this also makes cached plans of statements on them be planned again:
    /// plans made when the tables were nearly empty would otherwise stay in use as they
    /// grow. SQLite plans afresh per statement; `pragma optimize` is its light equivalent.
    pub async fn refresh_statistics(&self) -> Result<()> {
        match &self.db {
            Db::Sqlite(lite) => {
                super::lite::query("pragma optimize")
                    .execute(&mut *lite.writer().await)
                    .await?;
            }
            Db::Postgres(pool) => {
                // A tenth of the default sample (3,000 rows a table, not 30,000): enough
                // for plans that are index lookups, at a tenth of the work, which the
                // server would otherwise take from the statements it serves.
                let mut tx = pool.begin().await?;
                sqlx::query("set local default_statistics_target = 10")
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("analyze inbox, outbox, tickets, comments, ticket_messages, audit")
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Forget finished queue rows older than `before`: Slack retries within minutes, so a
    /// week of dedupe keys is plenty. Rows are stored in time order, so the old ones are
    /// found by their ids (no index on when each finished, which every commit that
    /// finishes a row would have to write).
    pub async fn purge_finished(&self, before: i64) -> Result<u64> {
        let mut purged = 0;
        for (table, at) in [("inbox", "received_at"), ("outbox", "created_at")] {
            let Some(last) = self.last_id_before(table, at, before).await? else {
                continue;
            };
            let sql = format!("delete from {table} where id <= $1 and state = 'done' and finished_at < $2");
            let mut tx = self.begin().await?;
            purged += execute!(tx, &sql, last, before)?;
            tx.commit().await?;
        }
        Ok(purged)
    }

    /// The newest row of a queue stored before `before` (its `at` column): a binary search
    /// on the ids, each step one row read by its key.
    async fn last_id_before(&self, table: &str, at: &str, before: i64) -> Result<Option<i64>> {
        let first_at = format!("select id, {at} from {table} where id >= $1 order by id limit 1");
        let row_at = |from: i64| {
            let sql = first_at.clone();
            async move {
                let row: Option<(i64, i64)> =
                    super::on_pool!(self, |pool| query_as(&sql).bind(from).fetch_optional(pool).await)?;
                Ok::<_, StoreError>(row)
            }
        };
        // The row `low` is old enough; no row from `high` on is.
        let (mut low, mut high) = match row_at(i64::MIN).await? {
            Some((id, stored)) if stored < before => (id, i64::MAX),
            _ => return Ok(None),
        };
        while high - low > 1 {
            let middle = low + (high - low) / 2;
            match row_at(middle).await? {
                Some((id, stored)) if stored < before => low = id,
                Some((id, _)) if id < high => high = id,
                _ => high = middle,
            }
        }
        Ok(Some(low))
    }
}

async fn settle_row(tx: &mut Tx, table: &str, id: i64, settle: &Settle) -> Result<()> {
    tx.settles_claims();
    let now = tx.now_ms();
    let ambiguous = if table == "outbox" {
        ", ambiguous = (ambiguous or $4)"
    } else {
        ""
    };
    let (sql, due_at, error, flag) = match settle {
        Settle::Done => (
            format!("update {table} set state = 'done', lease_until = null, finished_at = $2 where id = $1"),
            now,
            None,
            false,
        ),
        Settle::Retry { due_at, error, ambiguous: flag } => (
            format!("update {table} set lease_until = null, due_at = $2, last_error = $3{ambiguous} where id = $1"),
            *due_at,
            Some(error.as_str()),
            *flag,
        ),
        Settle::Defer { due_at } => (
            format!("update {table} set lease_until = null, due_at = $2, attempts = attempts - 1 where id = $1"),
            *due_at,
            None,
            false,
        ),
        Settle::Fail { error } => (
            format!("update {table} set state = 'failed', lease_until = null, finished_at = $2, last_error = $3 where id = $1"),
            now,
            Some(error.as_str()),
            false,
        ),
    };
    on_tx!(tx, |conn| {
        let mut query = query(&sql).bind(id).bind(due_at);
        if error.is_some() {
            query = query.bind(error);
        }
        if matches!(settle, Settle::Retry { .. }) && table == "outbox" {
            query = query.bind(flag);
        }
        query.execute(conn).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}
