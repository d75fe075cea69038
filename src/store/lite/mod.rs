//! SQLite through rusqlite, each statement run on the thread that asks for it.
//!
//! A statement on a local file takes microseconds; handing it to a connection thread and
//! waking the caller afterwards (what an asynchronous driver does for every statement)
//! costs more than the statement. So the one writing connection sits behind an
//! asynchronous lock that a transaction holds from `BEGIN IMMEDIATE` to `COMMIT`, the
//! readers behind short locks, and every statement runs where it is awaited, without
//! waiting for anything else.
//!
//! The builders here read like `sqlx`'s (`query(sql).bind(v).fetch_all(conn)`), so that
//! each statement of the store is written once for both databases: `on_tx!` and
//! `on_pool!` bring these or [`super::pg`]'s into scope. Errors come back as
//! `sqlx::Error`, as PostgreSQL's do, so the two read the same to the rest of the store.

use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, ErrorCode, OpenFlags};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// How many prepared statements each connection keeps: more than the store has.
const STATEMENT_CACHE: usize = 256;
/// How many readers: one per thread that may read at once, and some to spare.
const READERS: usize = 4;

/// How often the checkpointer copies the write-ahead log into the database.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);
/// How long the log may grow (pages) before the writer checkpoints it itself.
const WRITER_CHECKPOINTS_AFTER: i64 = 16_000;

/// One SQLite database: the writer and its readers.
pub(crate) struct Lite {
    write: Arc<AsyncMutex<Connection>>,
    read: Readers,
    /// Dropped with the database: the checkpointer stops then.
    _checkpoints: Option<std::sync::mpsc::Sender<()>>,
}

/// The reading connections; a statement takes whichever is free.
pub(crate) struct Readers(Vec<Mutex<Connection>>);

impl Lite {
    /// Open the database at `path` (`:memory:` for one in memory, shared by this
    /// store's connections), creating the file if it is missing.
    pub(crate) fn open(path: &str) -> rusqlite::Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let target = if path == ":memory:" || path.is_empty() {
            // One name per store, so that its connections share it and no other does.
            format!("file:deskhand-{:016x}?mode=memory&cache=shared", rand::random::<u64>())
        } else {
            path.to_owned()
        };
        let open = || -> rusqlite::Result<Connection> {
            let conn = Connection::open_with_flags(&target, flags)?;
            conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            // WAL with NORMAL survives any process crash (kill -9); only a power loss
            // can cost the last commits. FULL is one PRAGMA away if that matters more.
            // Each connection keeps a page cache of its own: a small one, so that five
            // of them do not hold tens of MiB.
            conn.execute_batch(
                "pragma journal_mode = wal; pragma synchronous = normal; pragma foreign_keys = on;
                 pragma temp_store = memory; pragma cache_size = -2000;",
            )?;
            Ok(conn)
        };
        let write = open()?;
        let read = (0..READERS).map(|_| open().map(Mutex::new)).collect::<Result<_, _>>()?;
        let checkpoints = match target.starts_with("file:") {
            true => None,
            false => checkpointer(open()?),
        };
        if checkpoints.is_some() {
            // The writer leaves checkpoints to the checkpointer, unless it falls far behind.
            write.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINTS_AFTER)?;
        }
        Ok(Self {
            write: Arc::new(AsyncMutex::new(write)),
            read: Readers(read),
            _checkpoints: checkpoints,
        })
    }

    pub(crate) fn readers(&self) -> &Readers {
        &self.read
    }

    /// The writing connection, once no transaction holds it.
    pub(crate) async fn writer(&self) -> OwnedMutexGuard<Connection> {
        self.write.clone().lock_owned().await
    }

    /// Begin a write transaction: the writer is this transaction's until it ends.
    pub(crate) async fn begin(&self) -> Result<LiteTx, sqlx::Error> {
        let conn = self.writer().await;
        run(&conn, "begin immediate")?;
        Ok(LiteTx { conn, open: true })
    }
}

/// Copy the write-ahead log into the database on a thread of its own, on a connection of
/// its own, so that no commit waits for a checkpoint (copying pages and syncing the file)
/// while it holds the writer. A passive checkpoint takes no lock a writer or a reader
/// waits for. Ends when the returned sender is dropped; `None` if no thread could start.
fn checkpointer(conn: Connection) -> Option<std::sync::mpsc::Sender<()>> {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let run = move || {
        while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
            let done = conn.query_row("pragma wal_checkpoint(passive)", [], |row| row.get::<_, i64>(0));
            if let Err(e) = done {
                tracing::warn!(error = %e, "could not checkpoint the SQLite write-ahead log; the writer will");
            }
        }
    };
    let started = std::thread::Builder::new()
        .name("deskhand-checkpoint".into())
        .stack_size(256 * 1024)
        .spawn(run);
    match started {
        Ok(_) => Some(stop),
        Err(e) => {
            tracing::warn!(error = %e, "no checkpoint thread; the writer checkpoints the SQLite log itself");
            None
        }
    }
}

/// A write transaction on the writer; rolled back when dropped uncommitted.
pub(crate) struct LiteTx {
    conn: OwnedMutexGuard<Connection>,
    open: bool,
}

impl LiteTx {
    pub(crate) fn conn(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub(crate) fn commit(mut self) -> Result<(), sqlx::Error> {
        run(&self.conn, "commit")?;
        self.open = false;
        Ok(())
    }
}

impl Drop for LiteTx {
    fn drop(&mut self) {
        if self.open {
            if let Err(e) = run(&self.conn, "rollback") {
                tracing::warn!(error = %e, "rolling a SQLite transaction back failed");
            }
        }
    }
}

fn run(conn: &Connection, sql: &str) -> Result<(), sqlx::Error> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.raw_execute())
        .map(drop)
        .map_err(error)
}

/// Where a statement runs: the transaction's connection, or a free reader.
pub(crate) trait Exec {
    fn with<R>(self, f: impl FnOnce(&Connection) -> rusqlite::Result<R>) -> rusqlite::Result<R>;
}

impl Exec for &mut Connection {
    fn with<R>(self, f: impl FnOnce(&Connection) -> rusqlite::Result<R>) -> rusqlite::Result<R> {
        f(self)
    }
}

impl Exec for &Readers {
    fn with<R>(self, f: impl FnOnce(&Connection) -> rusqlite::Result<R>) -> rusqlite::Result<R> {
        // A statement holds its reader only while it runs, never across an await: with
        // as many readers as threads running statements, one is always free.
        for reader in &self.0 {
            if let Ok(conn) = reader.try_lock() {
                return f(&conn);
            }
        }
        let conn = self.0[0].lock().unwrap_or_else(PoisonError::into_inner);
        f(&conn)
    }
}

mod query;

pub(crate) use query::*;

/// A SQLite error as `sqlx` reports a database's.
fn error(e: rusqlite::Error) -> sqlx::Error {
    match e {
        rusqlite::Error::SqliteFailure(failure, message) => {
            let kind = match (failure.code, failure.extended_code) {
                (ErrorCode::ConstraintViolation, 2067 | 1555) => sqlx::error::ErrorKind::UniqueViolation,
                (ErrorCode::ConstraintViolation, 787) => sqlx::error::ErrorKind::ForeignKeyViolation,
                (ErrorCode::ConstraintViolation, 1299) => sqlx::error::ErrorKind::NotNullViolation,
                (ErrorCode::ConstraintViolation, 275) => sqlx::error::ErrorKind::CheckViolation,
                _ => sqlx::error::ErrorKind::Other,
            };
            let message = message.unwrap_or_else(|| failure.to_string());
            sqlx::Error::Database(Box::new(LiteError { message, kind }))
        }
        rusqlite::Error::QueryReturnedNoRows => sqlx::Error::RowNotFound,
        other => decode_error(other),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct LiteError {
    message: String,
    kind: sqlx::error::ErrorKind,
}

impl sqlx::error::DatabaseError for LiteError {
    fn message(&self) -> &str {
        &self.message
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        match self.kind {
            sqlx::error::ErrorKind::UniqueViolation => sqlx::error::ErrorKind::UniqueViolation,
            sqlx::error::ErrorKind::ForeignKeyViolation => sqlx::error::ErrorKind::ForeignKeyViolation,
            sqlx::error::ErrorKind::NotNullViolation => sqlx::error::ErrorKind::NotNullViolation,
            sqlx::error::ErrorKind::CheckViolation => sqlx::error::ErrorKind::CheckViolation,
            _ => sqlx::error::ErrorKind::Other,
        }
    }
}

/// The file a `sqlite:` URL names (`:memory:` for a database in memory): `sqlite://path`,
/// `sqlite:path`, each maybe followed by `?options` (a missing file is always created).
pub(crate) fn path_of(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split_once('?').map_or(rest, |(path, _)| path);
    Some(if path.is_empty() { ":memory:" } else { path })
}

/// Apply the migrations the database has not had, each in a transaction of its own, and
/// record them as `sqlx`'s migrator does (the same `_sqlx_migrations` table, the same
/// SHA-384 checksums), so that a database either has made stays readable by the other.
/// A migration applied earlier whose text has changed since is refused.
pub(crate) fn migrate(conn: &mut Connection, files: &[(&str, &str)]) -> Result<(), String> {
    use sha2::Digest;
    let failed = |e: rusqlite::Error| e.to_string();
    conn.execute_batch(
        "create table if not exists _sqlx_migrations (
             version bigint primary key,
             description text not null,
             installed_on timestamp not null default current_timestamp,
             success boolean not null,
             checksum blob not null,
             execution_time bigint not null
         )",
    )
    .map_err(failed)?;
    let applied: Vec<(i64, bool, Vec<u8>)> = {
        let mut statement = conn
            .prepare("select version, success, checksum from _sqlx_migrations order by version")
            .map_err(failed)?;
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)?
    };
    if let Some((version, ..)) = applied.iter().find(|(_, success, _)| !success) {
        return Err(format!(
            "migration {version} was left half done; repair the database first"
        ));
    }
    for (name, sql) in files {
        let (version, description) = name.split_once('_').unwrap_or((name, name));
        let version: i64 = version.parse().map_err(|_| format!("{name} has no version"))?;
        let checksum = sha2::Sha384::digest(sql.as_bytes()).to_vec();
        if let Some((_, _, known)) = applied.iter().find(|(v, ..)| *v == version) {
            if *known != checksum {
                return Err(format!("migration {version} was applied but has been changed since"));
            }
            continue;
        }
        let started = std::time::Instant::now();
        let tx = conn.transaction().map_err(failed)?;
        tx.execute_batch(sql).map_err(|e| format!("migration {name}: {e}"))?;
        let took = i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX);
        tx.execute(
            "insert into _sqlx_migrations (version, description, success, checksum, execution_time)
             values (?1, ?2, true, ?3, ?4)",
            rusqlite::params![version, description, checksum, took],
        )
        .map_err(failed)?;
        tx.commit().map_err(failed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_files() {
        assert_eq!(path_of("sqlite:///tmp/a.db"), Some("/tmp/a.db"));
        assert_eq!(path_of("sqlite://deskhand.db?mode=rwc"), Some("deskhand.db"));
        assert_eq!(path_of("sqlite:deskhand.db"), Some("deskhand.db"));
        assert_eq!(path_of("sqlite::memory:"), Some(":memory:"));
        assert_eq!(path_of("postgres://x"), None);
    }

    #[tokio::test]
    async fn statements_bind_numbered_parameters_and_report_violations() {
        let lite = Lite::open(":memory:").expect("open");
        let mut tx = lite.begin().await.expect("begin");
        query("create table t (id integer primary key, a text, b integer not null)")
            .execute(tx.conn())
            .await
            .expect("create");
        // `$2` twice, out of order, as the store writes them.
        let done = query("insert into t (id, a, b) values ($2, $1, $2)")
            .bind("x\0y")
            .bind(7_i64)
            .execute(tx.conn())
            .await
            .expect("insert");
        assert_eq!(done.rows_affected(), 1);
        let again = query("insert into t (id, a, b) values ($1, 'z', 1)")
            .bind(7_i64)
            .execute(tx.conn())
            .await;
        match again {
            Err(sqlx::Error::Database(db)) => assert!(db.is_unique_violation(), "{db}"),
            other => panic!("not a unique violation: {:?}", other.map(|d| d.rows_affected())),
        }
        tx.commit().expect("commit");
        let row: Option<(String, i64)> = query_as("select a, b from t where id = $1")
            .bind(7_i64)
            .fetch_optional(lite.readers())
            .await
            .expect("read");
        assert_eq!(row, Some(("x\0y".to_owned(), 7)));
        let none: Option<i64> = query_scalar("select b from t where id = $1")
            .bind(8_i64)
            .fetch_optional(lite.readers())
            .await
            .expect("read");
        assert_eq!(none, None);
        assert!(matches!(
            query_scalar::<i64>("select b from t where id = 8")
                .fetch_one(lite.readers())
                .await,
            Err(sqlx::Error::RowNotFound)
        ));
    }

    #[tokio::test]
    async fn a_transaction_dropped_uncommitted_is_rolled_back() {
        let lite = Lite::open(":memory:").expect("open");
        let mut tx = lite.begin().await.expect("begin");
        query("create table t (id integer primary key)")
            .execute(tx.conn())
            .await
            .expect("create");
        tx.commit().expect("commit");
        let mut tx = lite.begin().await.expect("begin");
        query("insert into t (id) values (1)")
            .execute(tx.conn())
            .await
            .expect("insert");
        drop(tx);
        let count: i64 = query_scalar("select count(*) from t")
            .fetch_one(lite.readers())
            .await
            .expect("count");
        assert_eq!(count, 0);
    }

    #[tokio::test]
    async fn the_log_is_checkpointed_beside_the_writer() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("d.db");
        let lite = Lite::open(path.to_str().expect("path")).expect("open");
        let mut tx = lite.begin().await.expect("begin");
        query("create table t (id integer primary key, body text)")
            .execute(tx.conn())
            .await
            .expect("create");
        for id in 0..2000_i64 {
            query("insert into t (id, body) values ($1, $2)")
                .bind(id)
                .bind("x".repeat(100))
                .execute(tx.conn())
                .await
                .expect("insert");
        }
        tx.commit().expect("commit");
        // Far below the writer's own threshold: only the checkpointer copies these pages
        // into the database file.
        let copied = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) > 100_000;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !copied() && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(
            copied(),
            "the database file holds {:?} bytes",
            std::fs::metadata(&path).map(|m| m.len())
        );
    }
}
