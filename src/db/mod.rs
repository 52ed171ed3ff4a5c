//! One diesel codebase over two backends: SQLite (embedded default) and PostgreSQL (production).
//!
//! The backend is picked from the URL scheme; where SQL must differ, the `match` on [`DbConn`]
//! lives in this module and nowhere else.

pub mod files;
pub mod schema;
pub mod stored;
pub mod writer;

use std::time::Duration;

use diesel::{
    connection::{AnsiTransactionManager, SimpleConnection, TransactionManager},
    pg::PgConnection,
    sqlite::SqliteConnection,
    Connection,
};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::AppError;

/// A connection to either backend; diesel dispatches each query to the active variant.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// The connection pool, and for SQLite the database's one writer ([`writer`]). Dereferences to
/// the r2d2 pool.
#[derive(Clone)]
pub struct Pool {
    connections: r2d2::Pool<Manager>,
    writer: Option<writer::Writer>,
}

impl std::ops::Deref for Pool {
    type Target = r2d2::Pool<Manager>;
    fn deref(&self) -> &Self::Target {
        &self.connections
    }
}

pub type PooledConn = r2d2::PooledConnection<Manager>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `postgres://` / `postgresql://` select PostgreSQL; `sqlite://path`, `file:` or a plain
    /// path select SQLite.
    pub fn from_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error("cannot prepare the database file {0} (private directory and file): {1}")]
    Directory(String, std::io::Error),
    #[error("connection pool: {0}")]
    Pool(#[from] r2d2::Error),
}

/// Where a `sqlite://` URL points (diesel wants a plain path or a `file:` URI).
fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://").unwrap_or(url)
}

/// The database file a SQLite URL names (`None` for PostgreSQL and in-memory databases).
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    if Backend::from_url(url) != Backend::Sqlite {
        return None;
    }
    let path = sqlite_path(url);
    let path = path.strip_prefix("file:").unwrap_or(path);
    let path = path.split('?').next().unwrap_or(path);
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

/// Its directory and the file private before SQLite opens it ([`files`]).
fn ensure_private_file(url: &str) -> Result<(), DbError> {
    match sqlite_file(url) {
        Some(file) => files::prepare_sqlite(&file)
            .map_err(|e| DbError::Directory(file.display().to_string(), e)),
        None => Ok(()),
    }
}

/// PRAGMAs set on every SQLite connection: WAL so readers never block the writer, foreign keys
/// enforced, a busy timeout instead of immediate `SQLITE_BUSY`, and `synchronous = FULL` so a
/// commit is on disk before the request is acknowledged (survives a process or power crash).
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;";

/// Opens one connection, reporting the concrete backend's error (not diesel's generic
/// "invalid connection url for multiconnection").
pub fn establish(url: &str) -> Result<DbConn, DbError> {
    match Backend::from_url(url) {
        Backend::Postgres => Ok(DbConn::Postgresql(PgConnection::establish(url)?)),
        Backend::Sqlite => {
            ensure_private_file(url)?;
            let mut conn = SqliteConnection::establish(sqlite_path(url))?;
            conn.batch_execute(SQLITE_PRAGMAS)?;
            Ok(DbConn::Sqlite(conn))
        }
    }
}

/// Executes a statement the multi-backend connection cannot express (`INSERT … ON CONFLICT`) on
/// whichever backend `conn` is: the same diesel query, run on the concrete connection.
#[macro_export]
macro_rules! execute_on_backend {
    ($conn:expr, $query:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite(c) => diesel::RunQueryDsl::execute($query, c),
            $crate::db::DbConn::Postgresql(c) => diesel::RunQueryDsl::execute($query, c),
        }
    };
}

/// r2d2 manager that establishes connections with [`establish`]. On SQLite the pooled
/// connections are read-only (`PRAGMA query_only`): every write goes through the database's one
/// writer ([`writer`], [`run_tx`]), and a write attempted anywhere else fails at once instead of
/// competing for the lock.
#[derive(Debug, Clone)]
pub struct Manager {
    url: String,
}

/// Makes a SQLite connection refuse writes (`SQLITE_READONLY`); PostgreSQL is left as it is.
fn make_read_only(conn: &mut DbConn) -> Result<(), DbError> {
    if let DbConn::Sqlite(c) = conn {
        c.batch_execute("PRAGMA query_only = ON;")?;
    }
    Ok(())
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = DbError;

    fn connect(&self) -> Result<DbConn, DbError> {
        let mut conn = establish(&self.url)?;
        make_read_only(&mut conn)?;
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), DbError> {
        conn.batch_execute("SELECT 1").map_err(DbError::from)
    }

    /// A connection dropped during a panic, or with a transaction still open or failed, is closed
    /// rather than handed to the next request.
    fn has_broken(&self, conn: &mut DbConn) -> bool {
        use diesel::r2d2::R2D2Connection;
        std::thread::panicking()
            || match conn {
                DbConn::Postgresql(c) => c.is_broken(),
                DbConn::Sqlite(c) => c.is_broken(),
            }
    }
}

/// Prepares the SQLite file (a private directory and file) if needed, then the pool. Connections are opened lazily
/// beyond the first, so a pool over an unreachable PostgreSQL still builds and `/readyz` tells.
pub fn build_pool(url: &str, size: u32, timeout: Duration) -> Result<Pool, DbError> {
    let sqlite = Backend::from_url(url) == Backend::Sqlite;
    if sqlite {
        ensure_private_file(url)?;
    }
    let connections = r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(timeout)
        // A PostgreSQL server that restarted leaves dead connections in the pool: check each one
        // on checkout (one round trip) so the app recovers by itself. SQLite connections are
        // in-process and cannot go away.
        .test_on_check_out(!sqlite)
        .build(Manager {
            url: url.to_string(),
        })?;
    let writer = if sqlite {
        Some(writer::Writer::start(url, timeout)?)
    } else {
        None
    };
    Ok(Pool {
        connections,
        writer,
    })
}

/// Applies every pending migration on a connection of its own (on SQLite the pooled connections
/// cannot write), then closes it.
pub fn migrate(url: &str) -> Result<(), DbError> {
    run_migrations(&mut establish(url)?)
}

/// Applies every pending migration of the connection's backend.
///
/// On PostgreSQL the run holds an advisory lock, so servers started together against one
/// database migrate one after the other (issue #14: two at once failed with a duplicate key in
/// `pg_type`); the second finds nothing left to do. On SQLite the run is one write transaction.
pub fn run_migrations(conn: &mut DbConn) -> Result<(), DbError> {
    /// Any fixed number, the same for every server of this program ("mchm" in ASCII).
    const MIGRATION_LOCK: i64 = 0x6d63_686d;
    let result = match conn {
        DbConn::Postgresql(c) => {
            use diesel::RunQueryDsl;
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).execute(c)?;
            let run = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ());
            // The lock ends with the connection anyway; a failed unlock must not hide why the
            // migrations failed.
            let unlocked =
                diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                    .execute(c);
            if run.is_ok() {
                unlocked?;
            }
            run
        }
        // One write transaction for the whole run: its lock serialises two migrating
        // processes (the second then finds nothing to do), and a failure leaves nothing half
        // applied. Each migration's own transaction becomes a savepoint inside it.
        DbConn::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
            match c.run_pending_migrations(SQLITE_MIGRATIONS) {
                Ok(_) => AnsiTransactionManager::commit_transaction(c)
                    .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>),
                Err(e) => {
                    let _ = AnsiTransactionManager::rollback_transaction(c);
                    Err(e)
                }
            }
        }
    };
    result.map_err(|e| DbError::Migration(e.to_string()))
}

/// Runs every down migration of the connection's backend, newest first (the round-trip test).
pub fn revert_all_migrations(conn: &mut DbConn) -> Result<(), DbError> {
    let result = match conn {
        DbConn::Postgresql(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
        DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|_| ()),
    };
    result.map_err(|e| DbError::Migration(e.to_string()))
}

/// The versions of the embedded migrations (as `__diesel_schema_migrations` records them).
pub fn migration_versions() -> Vec<String> {
    use diesel::migration::MigrationSource;
    MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
        .map(|ms| ms.iter().map(|m| m.name().version().to_string()).collect())
        .unwrap_or_default()
}

/// True when every embedded migration has been applied.
pub fn migrations_applied(conn: &mut DbConn) -> Result<bool, DbError> {
    let pending = match conn {
        DbConn::Postgresql(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
        DbConn::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
    };
    pending
        .map(|p| !p)
        .map_err(|e| DbError::Migration(e.to_string()))
}

/// Runs `f` in a write transaction. On SQLite the transaction is `BEGIN IMMEDIATE`, taking the
/// write lock up front: a deferred transaction that reads and then writes can fail with
/// `SQLITE_BUSY` at the write without waiting, which `busy_timeout` cannot help.
pub fn write_tx<T, E>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConn::Postgresql(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match f(conn) {
        Ok(value) => {
            match conn {
                DbConn::Sqlite(c) => AnsiTransactionManager::commit_transaction(c)?,
                DbConn::Postgresql(c) => AnsiTransactionManager::commit_transaction(c)?,
            }
            Ok(value)
        }
        Err(e) => {
            let rolled_back = match conn {
                DbConn::Sqlite(c) => AnsiTransactionManager::rollback_transaction(c),
                DbConn::Postgresql(c) => AnsiTransactionManager::rollback_transaction(c),
            };
            if let Err(rb) = rolled_back {
                tracing::error!(error = %rb, "rollback failed");
            }
            Err(e)
        }
    }
}

/// Runs blocking database work on actix's blocking thread pool with a pooled connection, so the
/// async workers never wait on the database. Pool exhaustion becomes a 503.
pub async fn run<T, F>(pool: &Pool, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get().map_err(|e| {
            tracing::warn!(error = %e, "database pool exhausted or unreachable");
            AppError::DatabaseUnavailable
        })?;
        f(&mut conn)
    })
    .await
    .map_err(|e| AppError::internal(format!("blocking task failed: {e}")))?
}

/// A short read — an indexed lookup or two, such as the caller's session — answered at once on
/// the calling thread when the database is SQLite and a connection is idle; otherwise like
/// [`run`]. On SQLite such a read is a few microseconds of CPU: in WAL mode readers do not wait
/// for the writer, so handing it to the blocking pool (two thread wake-ups) costs more than the
/// read itself (bench/RESULTS.md). A reader waits (its busy timeout) only while SQLite recovers
/// the WAL after a crash or another process holds the database exclusively, which a serving
/// database does not see. Never for a read that can take long: it would hold up every request
/// on this worker. PostgreSQL is a network round trip away and always goes to [`run`]. A panic
/// answers 500, and the connection is dropped from the pool, as in [`run`].
pub async fn read_now<T, F>(pool: &Pool, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    if pool.writer.is_some() {
        if let Some(conn) = pool.try_get() {
            // The connection is dropped while unwinding, when r2d2 discards it as broken.
            let read = move || {
                let mut conn = conn;
                f(&mut conn)
            };
            return std::panic::catch_unwind(std::panic::AssertUnwindSafe(read))
                .unwrap_or_else(|_| Err(AppError::internal("a database read panicked")));
        }
    }
    run(pool, f).await
}

/// Like [`run`], inside a write transaction: on SQLite queued to the database's one writer, which
/// commits waiting transactions together ([`writer`]); on PostgreSQL [`write_tx`] on a pooled
/// connection. Either way the answer comes once the transaction is committed.
pub async fn run_tx<T, F>(pool: &Pool, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    match &pool.writer {
        Some(writer) => writer.run(f).await,
        None => run(pool, move |conn| write_tx(conn, f)).await,
    }
}
