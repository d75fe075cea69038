//! deskhand's memory: configuration, people, the ticket mirror, the links between tickets
//! and Slack messages, and the inbox and outbox. Callers see [`Store`], [`Tx`] and
//! [`StoreError`], never `sqlx` types.
//!
//! SQLite and PostgreSQL run the same SQL text: `$N` placeholders, `returning`,
//! `on conflict`, partial indexes and unix-millisecond times mean almost every statement
//! is portable, so each is written once and run on whichever pool the URL chose (the
//! `on_pool!` / `on_tx!` macros). Where the two differ (claiming queue rows), the
//! difference is spelled out at that one place.
//!
//! SQLite goes through rusqlite ([`lite`]), each statement run where it is awaited;
//! writes go through one connection (it has one writer anyway, and a single in-process
//! writer never meets `SQLITE_BUSY`), reads through a few beside it. PostgreSQL goes
//! through sqlx ([`pg`]).

mod agents;
mod bulk;
mod config;
mod customers;
mod group_commit;
mod jira;
mod lite;
mod participants;
mod pg;
mod portal;
mod queue;
mod replicas;
mod requests;
mod rows;
mod tickets;
mod workspaces;

use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};
use tokio::sync::Notify;

pub use agents::{ApprovalRecord, RatingRow, ResponseRow, SurveyRecord};
pub use bulk::{NewAudit, NewTicketMessage, NumberedTicket};
use config::ConfigMemory;
pub use config::{ChannelRecord, NewProject, ProjectLists, ProjectRecord};
pub use customers::{CustomerRecord, OrganizationRecord};
pub use group_commit::GroupCommit;
pub use jira::{JiraBackendRecord, JiraFacilitatorRecord, NewJiraBackend};
pub use participants::ParticipantRecord;
pub use portal::{PortalPerson, PortalSession, PortalTicket};
pub use queue::{
    ClaimedEffect, ClaimedEvent, InboxRecord, NewEffect, NewEvent, OutboxRecord, QueueState, Queues, Settle,
};
pub use replicas::{Replica, BEAT_EVERY};
pub use requests::{ChannelMessage, UserPrefs, WaitingParked, CHANNEL_MESSAGE_RETENTION_MS, REFILE_KEY_PREFIX};
pub use tickets::{
    AttachmentRecord, AuditRecord, CommentRecord, NewAttachment, NewComment, NewParked, ParkedRecord, PersonLink,
    SlackUserRecord, TicketMessageRecord, TicketRecord,
};
pub use workspaces::{NewInstallation, WorkspaceRecord, OAUTH_STATE_LIFETIME_MS};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("storage error: {0}")]
    Other(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() || db.is_foreign_key_violation() => {
                StoreError::Conflict(db.message().to_owned())
            }
            other => StoreError::Other(other.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Other(format!("migration failed: {e}"))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Serialize a JSON text column as the JSON it holds (`null` when empty or unreadable).
pub(crate) fn raw_json<T: AsJsonText, S: serde::Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    let parsed = value
        .json_text()
        .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok());
    parsed.serialize(serializer)
}

/// A column holding JSON text, maybe empty.
pub(crate) trait AsJsonText {
    fn json_text(&self) -> Option<&str>;
}

impl AsJsonText for String {
    fn json_text(&self) -> Option<&str> {
        Some(self)
    }
}

impl AsJsonText for Option<String> {
    fn json_text(&self) -> Option<&str> {
        self.as_deref()
    }
}

/// Where deskhand reads the time: the system clock, which tests may move forward (to let
/// a backoff or a retention run out without waiting for it). Every time is stored as unix
/// milliseconds.
#[derive(Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis() + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Move this clock (and every store and worker reading it) forward.
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(i64::try_from(by.as_millis()).unwrap_or(i64::MAX), Ordering::Relaxed);
    }
}

#[derive(Clone)]
pub(crate) enum Db {
    Sqlite(Arc<lite::Lite>),
    Postgres(PgPool),
}

/// Run `$body` with `$pool` bound to the backend's read pool.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite(lite) => {
                #[allow(unused_imports)]
                use $crate::store::lite::{query, query_as, query_scalar};
                let $pool = lite.readers();
                $body
            }
            $crate::store::Db::Postgres($pool) => {
                #[allow(unused_imports)]
                use $crate::store::pg::{query, query_as, query_scalar};
                $body
            }
        }
    };
}
/// Run `$body` with `$conn` bound to the transaction's connection.
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match &mut $tx.inner {
            $crate::store::TxInner::Sqlite(t) => {
                #[allow(unused_imports)]
                use $crate::store::lite::{query, query_as, query_scalar};
                let $conn: &mut rusqlite::Connection = t.conn();
                $body
            }
            $crate::store::TxInner::Postgres(t) => {
                #[allow(unused_imports)]
                use $crate::store::pg::{query, query_as, query_scalar};
                let $conn: &mut sqlx::PgConnection = &mut *t;
                $body
            }
        }
    };
}
/// `FromRow` for both databases' rows, from one body that reads `$row` by column name
/// (`sqlx::Row` is in scope). For records with columns the desk reads as enums.
macro_rules! from_rows {
    ($ty:ty, |$row:ident| $body:expr) => {
        impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for $ty {
            fn from_row($row: &'r sqlx::postgres::PgRow) -> std::result::Result<Self, sqlx::Error> {
                use sqlx::Row;
                $body
            }
        }
        impl $crate::store::lite::FromLite for $ty {
            fn from_lite($row: &$crate::store::lite::LiteRow<'_, '_>) -> std::result::Result<Self, sqlx::Error> {
                $body
            }
        }
    };
}

/// A text column read as one of the desk's enums.
pub(crate) fn enum_column<T>(column: &str, text: String, parse: impl Fn(&str) -> Option<T>) -> Result<T, sqlx::Error> {
    parse(&text).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: column.into(),
        source: format!("{text:?} is not a {column}").into(),
    })
}

/// Run one statement with these parameters in the transaction; the rows it changed.
macro_rules! execute {
    ($tx:expr, $sql:expr $(, $bind:expr)* $(,)?) => {
        $crate::store::on_tx!($tx, |conn| query($sql)
            $(.bind($bind))*
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))
    };
}
pub(crate) use {execute, from_rows, on_pool, on_tx};

#[derive(Clone)]
pub struct Store {
    pub(crate) db: Db,
    clock: Clock,
    /// Told after every commit: whoever waits for the queues to move wakes then.
    commits: Arc<Notify>,
    /// This process, as the rows it claims name it.
    replica: Arc<Replica>,
    /// The projects and settings as last read.
    config: Arc<ConfigMemory>,
}

pub(crate) enum TxInner {
    Sqlite(lite::LiteTx),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// One write transaction: a state change and the effects it causes commit together.
pub struct Tx {
    pub(crate) inner: TxInner,
    clock: Clock,
    commits: Arc<Notify>,
    replica: Arc<Replica>,
    /// Whether it settles claimed queue rows: then it commits only while this replica's
    /// claims are still its own.
    settles_claims: bool,
    config: Arc<ConfigMemory>,
    /// Whether it changes projects or settings: then what was read of them is read again
    /// after it commits.
    changes_config: bool,
}

impl Tx {
    /// The time as the transaction's store reads it.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub async fn commit(self) -> Result<()> {
        if self.settles_claims && matches!(self.inner, TxInner::Postgres(_)) && !self.replica.claims_are_ours() {
            // Silent for so long that the other replicas may have taken its work over:
            // rolled back, so nothing is done twice.
            return Err(StoreError::Other(
                "this replica missed its heartbeats; its claims may have been taken over".into(),
            ));
        }
        match self.inner {
            TxInner::Sqlite(t) => t.commit()?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        if self.changes_config {
            self.config.changed();
        }
        self.commits.notify_waiters();
        Ok(())
    }

    /// Say that this transaction changes projects or settings.
    pub(crate) fn changes_config(&mut self) {
        self.changes_config = true;
    }
}

fn migrator(files: &[(&'static str, &'static str)]) -> sqlx::migrate::Migrator {
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    let migrations = files
        .iter()
        .map(|(name, sql)| {
            let (version, description) = name.split_once('_').unwrap_or((name, name));
            let version = version.parse().unwrap_or_default();
            Migration::new(version, description.into(), MigrationType::Simple, (*sql).into(), false)
        })
        .collect::<Vec<_>>();
    Migrator {
        migrations: migrations.into(),
        ..Migrator::DEFAULT
    }
}

const SQLITE_MIGRATIONS: &[(&str, &str)] = &[
    ("0001_core", include_str!("../../migrations/sqlite/0001_core.sql")),
    (
        "0002_requests",
        include_str!("../../migrations/sqlite/0002_requests.sql"),
    ),
    (
        "0003_facilitation",
        include_str!("../../migrations/sqlite/0003_facilitation.sql"),
    ),
    ("0004_agents", include_str!("../../migrations/sqlite/0004_agents.sql")),
    (
        "0005_replicas",
        include_str!("../../migrations/sqlite/0005_replicas.sql"),
    ),
    (
        "0006_customers",
        include_str!("../../migrations/sqlite/0006_customers.sql"),
    ),
    (
        "0007_participants",
        include_str!("../../migrations/sqlite/0007_participants.sql"),
    ),
    ("0008_portal", include_str!("../../migrations/sqlite/0008_portal.sql")),
    (
        "0009_workspaces",
        include_str!("../../migrations/sqlite/0009_workspaces.sql"),
    ),
    ("0010_jira", include_str!("../../migrations/sqlite/0010_jira.sql")),
    (
        "0011_lean_indexes",
        include_str!("../../migrations/sqlite/0011_lean_indexes.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(&str, &str)] = &[
    ("0001_core", include_str!("../../migrations/postgres/0001_core.sql")),
    (
        "0002_requests",
        include_str!("../../migrations/postgres/0002_requests.sql"),
    ),
    (
        "0003_facilitation",
        include_str!("../../migrations/postgres/0003_facilitation.sql"),
    ),
    ("0004_agents", include_str!("../../migrations/postgres/0004_agents.sql")),
    (
        "0005_replicas",
        include_str!("../../migrations/postgres/0005_replicas.sql"),
    ),
    (
        "0006_customers",
        include_str!("../../migrations/postgres/0006_customers.sql"),
    ),
    (
        "0007_participants",
        include_str!("../../migrations/postgres/0007_participants.sql"),
    ),
    ("0008_portal", include_str!("../../migrations/postgres/0008_portal.sql")),
    (
        "0009_workspaces",
        include_str!("../../migrations/postgres/0009_workspaces.sql"),
    ),
    ("0010_jira", include_str!("../../migrations/postgres/0010_jira.sql")),
    (
        "0011_lean_indexes",
        include_str!("../../migrations/postgres/0011_lean_indexes.sql"),
    ),
    (
        "0012_queue_state_estimates",
        include_str!("../../migrations/postgres/0012_queue_state_estimates.sql"),
    ),
];

/// Held while a process uses a SQLite database: one process at a time, so that two never
/// migrate it at once or share its single writer. Released when dropped (or when the
/// process dies). PostgreSQL needs none: replicas share it by design.
pub struct ExclusiveUse(Option<std::fs::File>);

impl ExclusiveUse {
    /// Whether this process holds the database alone (a SQLite file under its lock).
    pub fn held(&self) -> bool {
        self.0.is_some()
    }
}

impl Store {
    /// Take the database for this process alone (SQLite), or say which process has it.
    /// The lock is a file beside the database, `<file>.lock`.
    pub fn exclusive_use(&self, url: &str) -> Result<ExclusiveUse> {
        if !matches!(self.db, Db::Sqlite { .. }) {
            return Ok(ExclusiveUse(None));
        }
        let Some(path) = lite::path_of(url).map(std::path::Path::new) else {
            return Ok(ExclusiveUse(None));
        };
        if path.to_string_lossy().contains(":memory:") {
            return Ok(ExclusiveUse(None));
        }
        let lock_path = format!("{}.lock", path.display());
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError::Other(format!("cannot open {lock_path}: {e}")))?;
        match file.try_lock() {
            Ok(()) => Ok(ExclusiveUse(Some(file))),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Other(format!(
                "another deskhand process is using {}: a SQLite database serves one process at a time \
                 (run several replicas on PostgreSQL)",
                path.display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Other(format!("cannot lock {lock_path}: {e}"))),
        }
    }

    /// Connect to the database the URL names. This is the one place the backend is chosen.
    pub async fn connect(url: &str) -> Result<Self> {
        let db = if let Some(path) = lite::path_of(url) {
            let path = path.to_owned();
            let lite = tokio::task::spawn_blocking(move || lite::Lite::open(&path))
                .await
                .map_err(|e| StoreError::Other(e.to_string()))?
                .map_err(|e| StoreError::Other(format!("cannot open the SQLite database: {e}")))?;
            Db::Sqlite(Arc::new(lite))
        } else {
            let options = PgConnectOptions::from_str(url)?;
            // No ping before each use: it is a round trip to the server per query. A
            // connection the server dropped fails its next query, and is closed; the
            // worker and the dispatcher try again, and Slack resends an event whose
            // storing failed.
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Db::Postgres(pool)
        };
        Ok(Self {
            db,
            clock: Clock::default(),
            commits: Arc::new(Notify::new()),
            replica: Arc::new(Replica::new()),
            config: Arc::default(),
        })
    }

    /// The same database, reading the time from `clock`.
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Notified after every commit this store (or a clone of it) makes.
    pub fn commits(&self) -> &Notify {
        &self.commits
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn backend(&self) -> &'static str {
        match self.db {
            Db::Sqlite { .. } => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    pub async fn migrate(&self) -> Result<()> {
        match &self.db {
            Db::Sqlite(lite) => {
                let mut conn = lite.writer().await;
                lite::migrate(&mut conn, SQLITE_MIGRATIONS)
                    .map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
            }
            Db::Postgres(pool) => migrator(POSTGRES_MIGRATIONS).run(pool).await?,
        }
        Ok(())
    }

    pub async fn begin(&self) -> Result<Tx> {
        let inner = match &self.db {
            Db::Sqlite(lite) => TxInner::Sqlite(lite.begin().await?),
            Db::Postgres(pool) => TxInner::Postgres(pool.begin().await?),
        };
        Ok(Tx {
            inner,
            clock: self.clock.clone(),
            commits: self.commits.clone(),
            replica: self.replica.clone(),
            settles_claims: false,
            config: self.config.clone(),
            changes_config: false,
        })
    }

    /// Is the database reachable? (`/readyz`)
    pub async fn ping(&self) -> Result<()> {
        on_pool!(self, |pool| query("select 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// How many of this build's migrations the database has not had yet (another
    /// replica, or an older one, may be serving it).
    pub async fn migrations_pending(&self) -> Result<usize> {
        let known = match &self.db {
            Db::Sqlite { .. } => SQLITE_MIGRATIONS.len(),
            Db::Postgres(_) => POSTGRES_MIGRATIONS.len(),
        };
        let applied: i64 = on_pool!(self, |pool| query_scalar(
            "select count(*) from _sqlx_migrations where success"
        )
        .fetch_one(pool)
        .await)?;
        Ok(known.saturating_sub(usize::try_from(applied).unwrap_or(0)))
    }

    /// A consistent copy of a live SQLite database at `path` (`VACUUM INTO`: one read
    /// transaction, so deskhand may keep running). Refused for PostgreSQL, whose own tools
    /// back it up, and when `path` exists already.
    pub async fn backup(&self, path: &std::path::Path) -> Result<()> {
        let Db::Sqlite(lite) = &self.db else {
            return Err(StoreError::Other(
                "backup copies SQLite databases; back PostgreSQL up with pg_dump".into(),
            ));
        };
        if path.exists() {
            return Err(StoreError::Other(format!("{} exists already", path.display())));
        }
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Other("the backup path must be valid UTF-8".into()))?;
        lite::query("vacuum into $1")
            .bind(target)
            .execute(lite.readers())
            .await?;
        Ok(())
    }

    pub async fn close(&self) {
        match &self.db {
            // The connections close when the last clone of the store is dropped.
            Db::Sqlite(_) => {}
            Db::Postgres(pool) => pool.close().await,
        }
    }
}
