//! One connection type over both engines, a pool that hands out ready-to-use connections, and
//! the embedded migrations of each engine.
//!
//! The engine is chosen from the database URL's scheme, never by trial: `sqlite:` (or a bare
//! path) is the embedded default, `postgres://`/`postgresql://` is PostgreSQL.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub mod sql;
mod sql_log;
mod write_gate;

pub use write_gate::{WriteGate, gated};

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Arbitrary constant naming the advisory lock that serialises migrations between instances.
const MIGRATION_LOCK_KEY: i64 = 0x4b65_7968_6f6c_6465;

/// SQLite: the memory, in MiB, that a pool's connections together keep for the database's
/// pages unless `KEYHOLDER_SQLITE_CACHE_MB` says otherwise, shared out evenly (8 MiB each in
/// the default pool of 8, against SQLite's own 2 MiB). A page not in a connection's cache is
/// read again from the operating system, copied in by a system call: with 2 MiB, a fifth of a
/// search's CPU went to those copies, since the apps' rows, the search index and the accounts
/// of a few hundred apps a second do not fit. A connection keeps its pages until another
/// connection commits a write (in WAL mode SQLite then starts its cache afresh), so the gain is
/// largest where reads outnumber writes, as they do for pages. The budget is the pool's rather
/// than each connection's because nothing else bounds the sum: SQLite's own soft heap limit is
/// not enforced without its memory statistics, which this build turns off
/// (`.cargo/config.toml`).
pub const DEFAULT_SQLITE_CACHE_MB: u32 = 64;

/// A connection's share, in KiB, of `budget_mb` in a pool of `pool_size`: at least 512 KiB.
fn sqlite_cache_kib(budget_mb: u32, pool_size: u32) -> u32 {
    (budget_mb.saturating_mul(1024) / pool_size.max(1)).max(512)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A validated database URL.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    engine: Engine,
    /// For SQLite the file path; for PostgreSQL the whole URL.
    target: String,
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.display())
    }
}

impl DatabaseUrl {
    pub fn sqlite_file(path: PathBuf) -> Self {
        Self {
            engine: Engine::Sqlite,
            target: path.to_string_lossy().into_owned(),
        }
    }

    /// `Err` carries what is accepted, for the configuration error.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let accepted =
            "postgres://USER@HOST:PORT/DATABASE, or sqlite://PATH (a file path)".to_string();
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            let url = url::Url::parse(raw).map_err(|_| accepted.clone())?;
            if url.host_str().is_none() && !raw.contains("host=") {
                return Err(accepted);
            }
            return Ok(Self {
                engine: Engine::Postgres,
                target: raw.to_string(),
            });
        }
        let path = if let Some(rest) = raw.strip_prefix("sqlite://") {
            rest
        } else if let Some(rest) = raw.strip_prefix("sqlite:") {
            rest
        } else if raw.contains("://") {
            return Err(accepted);
        } else {
            raw
        };
        if path.is_empty() || path == ":memory:" || path.starts_with("file:") {
            // An in-memory database would vanish between pooled connections.
            return Err(accepted);
        }
        Ok(Self::sqlite_file(PathBuf::from(path)))
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    pub fn is_sqlite(&self) -> bool {
        self.engine == Engine::Sqlite
    }

    pub fn sqlite_path(&self) -> Option<&Path> {
        self.is_sqlite().then(|| Path::new(&self.target))
    }

    /// Whether the URL names a PostgreSQL server on this machine: a loopback address, or a
    /// Unix socket (`?host=/run/postgresql`, `postgres://%2Frun%2Fpostgresql/db`, or no host,
    /// libpq's default socket). `hostaddr=` wins over `host=`, which wins over the URL's host;
    /// a list of hosts is local only if every one is.
    pub fn is_local_postgres(&self) -> bool {
        if self.engine != Engine::Postgres {
            return false;
        }
        let Ok(url) = url::Url::parse(&self.target) else {
            return false;
        };
        let parameter = |name: &str| {
            url.query_pairs()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        let hosts = match parameter("hostaddr").or_else(|| parameter("host")) {
            Some(hosts) => hosts,
            // A `postgres:` URL's host is opaque to the URL parser, still percent-encoded.
            None => match url.host() {
                None => return true,
                Some(url::Host::Domain(name)) => percent_encoding::percent_decode_str(name)
                    .decode_utf8_lossy()
                    .into_owned(),
                Some(url::Host::Ipv4(address)) => address.to_string(),
                Some(url::Host::Ipv6(address)) => address.to_string(),
            },
        };
        hosts.split(',').all(|host| {
            let host = host.trim();
            host.is_empty()
                || host.starts_with('/')
                || host.eq_ignore_ascii_case("localhost")
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|address| address.is_loopback())
        })
    }

    /// The URL as the libraries want it (contains a password if the URL has one).
    pub fn as_str(&self) -> &str {
        &self.target
    }

    /// The URL for logs and messages: any password is hidden.
    pub fn display(&self) -> String {
        match self.engine {
            Engine::Sqlite => format!("sqlite://{}", self.target),
            Engine::Postgres => match url::Url::parse(&self.target) {
                Ok(mut url) => {
                    if url.password().is_some() {
                        let _ = url.set_password(Some("****"));
                    }
                    url.to_string()
                }
                Err(_) => "postgres://(unparseable)".into(),
            },
        }
    }

    /// Opens one connection of the right engine, configured as the pool would, except for
    /// SQLite's page cache, which the pool sizes (SQLite's own 2 MiB here).
    pub fn connect(&self) -> Result<DbConnection, diesel::ConnectionError> {
        match self.engine {
            Engine::Postgres => {
                let mut conn = PgConnection::establish(&self.target)?;
                conn.set_instrumentation(sql_log::SqlLog::default());
                Ok(DbConnection::Postgres(conn))
            }
            Engine::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.target)?;
                conn.set_instrumentation(sql_log::SqlLog::default());
                // WAL lets readers work while one writer commits; busy_timeout makes writers
                // queue instead of failing; foreign keys are off by default in SQLite.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000;
                     PRAGMA journal_mode = WAL;
                     PRAGMA journal_size_limit = 67108864;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;",
                )
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// Runs `work` in a transaction: committed if it returns `Ok`, rolled back if it returns `Err`;
/// inside another transaction it is a savepoint. Every transaction of Keyholder goes through
/// here (`conn.transaction` is refused by clippy), because on SQLite it begins IMMEDIATE: it
/// takes the write lock at once, waiting for it up to the busy timeout. A SQLite transaction
/// begun the default way (DEFERRED) reads from a snapshot and asks for the lock only at its first
/// write; if another connection committed in between, that write fails at once with "database
/// is locked", whatever the busy timeout, so any transaction that read before it wrote (a
/// decision, a policy edit) failed under concurrent writes. PostgreSQL transactions begin as
/// usual.
pub fn transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    type Manager = <DbConnection as Connection>::TransactionManager;
    let outermost = Manager::transaction_manager_status_mut(conn)
        .transaction_depth()?
        .is_none();
    if outermost && matches!(conn, DbConnection::Sqlite(_)) {
        // After this process's other writers (see `write_gate`), then the write lock at once.
        return write_gate::hold(|| {
            if let DbConnection::Sqlite(sqlite) = &mut *conn {
                AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
            }
            finish_transaction(conn, work)
        });
    }
    Manager::begin_transaction(conn)?;
    finish_transaction(conn, work)
}

/// The rest of a transaction, as diesel's own `transaction`: commit on `Ok`, roll back on `Err`.
fn finish_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    type Manager = <DbConnection as Connection>::TransactionManager;
    match work(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => match Manager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback) => Err(rollback.into()),
        },
    }
}

/// Pages in SQLite's write-ahead log past which [`restart_long_wal`] restarts it (16 MiB of
/// 4 KiB pages: one segment of the log's index).
const LONG_WAL_PAGES: i64 = 4096;

/// Whether PostgreSQL's autovacuum is turned off for the whole server (SQLite: never). Keyholder
/// updates sessions, accounts, check-outs and its job queue all day; without autovacuum (or a
/// scheduled `VACUUM`) their tables and indexes keep every dead row version and only grow.
pub fn autovacuum_is_off(conn: &mut DbConnection) -> diesel::QueryResult<bool> {
    if !matches!(conn, DbConnection::Postgres(_)) {
        return Ok(false);
    }
    diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
        "current_setting('autovacuum') = 'off'",
    ))
    .get_result(conn)
}

/// SQLite only: once the write-ahead log holds more than [`LONG_WAL_PAGES`], copies it back into
/// the database and starts it again from the beginning. SQLite's own checkpoint after a commit
/// copies what it can but never restarts the log while a reader still uses it, and with many
/// connections reading all day there always is one: the log grew without bound (300 MB in the
/// load benchmark) and every read, which looks pages up in the log first, slowed down. A
/// RESTART checkpoint waits for those readers to move on, holding back writers meanwhile — at
/// most 200 ms here; if a long reader is still there it gives up and tries on the next sweep.
pub fn restart_long_wal(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    restart_long_wal_within(conn, Duration::from_millis(200))
}

fn restart_long_wal_within(conn: &mut DbConnection, wait: Duration) -> diesel::QueryResult<()> {
    #[derive(diesel::QueryableByName)]
    struct Checkpoint {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        log: i64,
    }
    if !matches!(conn, DbConnection::Sqlite(_)) {
        return Ok(());
    }
    let passive: Checkpoint =
        diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result(conn)?;
    if passive.log <= LONG_WAL_PAGES {
        return Ok(());
    }
    // Holding the write gate: this process's writers wait for the restart on the gate and go
    // on the moment it is done, instead of backing off in SQLite's busy handler.
    write_gate::hold(|| {
        conn.batch_execute(&format!("PRAGMA busy_timeout = {}", wait.as_millis()))?;
        let restarted =
            diesel::sql_query("PRAGMA wal_checkpoint(RESTART)").get_result::<Checkpoint>(conn);
        conn.batch_execute("PRAGMA busy_timeout = 10000")?;
        restarted.map(|_| ())
    })
}

pub struct ConnectionManager {
    url: DatabaseUrl,
    /// SQLite: each connection's page cache, in KiB (see [`sqlite_cache_kib`]).
    cache_kib: u32,
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        let mut conn = self.url.connect().map_err(r2d2::Error::ConnectionError)?;
        if matches!(conn, DbConnection::Sqlite(_)) {
            conn.batch_execute(&format!("PRAGMA cache_size = -{}", self.cache_kib))
                .map_err(r2d2::Error::QueryError)?;
        }
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    /// A connection is not taken back while its thread unwinds from a panic, nor when a
    /// transaction was left open on it (a panic inside one, caught further up): the next page
    /// would otherwise run inside that transaction, on its old snapshot.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

pub type DbPool = Pool<ConnectionManager>;
pub type PooledConn = PooledConnection<ConnectionManager>;

/// The pool and the engine it talks to. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: DbPool,
    engine: Engine,
    /// SQLite: this process's writers take turns here (see `write_gate`).
    gate: Option<Arc<WriteGate>>,
}

impl Database {
    /// Creates the SQLite file's folder if needed, applies pending migrations, opens the pool
    /// (on SQLite with the default page cache, [`DEFAULT_SQLITE_CACHE_MB`]).
    pub fn open(url: &DatabaseUrl, pool_size: u32) -> anyhow::Result<Self> {
        Self::open_with_cache(url, pool_size, DEFAULT_SQLITE_CACHE_MB)
    }

    /// [`Database::open`], the pool's SQLite connections sharing `sqlite_cache_mb` MiB of page
    /// cache.
    pub fn open_with_cache(
        url: &DatabaseUrl,
        pool_size: u32,
        sqlite_cache_mb: u32,
    ) -> anyhow::Result<Self> {
        if let Some(path) = url.sqlite_path()
            && let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the folder {}", dir.display()))?;
        }
        let mut conn = url
            .connect()
            .with_context(|| format!("cannot connect to the database {}", url.display()))?;
        run_migrations(&mut conn)?;
        drop(conn);

        let pool = Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .test_on_check_out(false)
            .event_handler(Box::new(sql_log::PoolLog { size: pool_size }))
            .build(ConnectionManager {
                url: url.clone(),
                cache_kib: sqlite_cache_kib(sqlite_cache_mb, pool_size),
            })
            .with_context(|| format!("cannot open a connection pool to {}", url.display()))?;
        Ok(Self {
            pool,
            engine: url.engine(),
            gate: url.is_sqlite().then(Arc::default),
        })
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    pub fn get(&self) -> anyhow::Result<PooledConn> {
        self.pool
            .get()
            .context("no database connection could be had from the pool")
    }

    /// Runs blocking database work on the blocking thread pool. The connection never crosses an
    /// `.await`. On SQLite its writes take turns with the process's other writers (see
    /// [`transaction`] and [`gated`]).
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<anyhow::Error> + Send + 'static,
    {
        let (pool, gate) = (self.pool.clone(), self.gate.clone());
        let joined = tokio::task::spawn_blocking(move || {
            let _gate = write_gate::enter(gate);
            let mut conn = pool
                .get()
                .context("no database connection could be had from the pool")?;
            work(&mut conn)
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(join_error) => Err(E::from(
                anyhow::Error::new(join_error).context("database task failed"),
            )),
        }
    }

    /// Runs a short read for a page: a bounded, indexed query or a few, that writes nothing.
    /// On SQLite its statements read one snapshot (see [`one_snapshot`]).
    ///
    /// On SQLite the read runs right here, on the calling thread, when the pool has an idle
    /// connection: it is the process's own CPU work, no longer than the hand-off to a blocking
    /// thread and back that [`Database::run`] pays for it (and that hand-off left a dozen threads
    /// runnable on two cores under load). Without an idle connection, and always on
    /// PostgreSQL, whose reads wait on the network, it runs on the blocking pool.
    ///
    /// `work` must not write: a write waits for SQLite's write gate, which here would hold up
    /// every connection of the calling worker. Debug builds make the connection refuse writes
    /// while `work` runs, so that a test finds one.
    pub async fn read<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<anyhow::Error> + Send + 'static,
    {
        self.read_as(work, Snapshot::One).await
    }

    /// [`Database::read`] for work of a single statement, which is a transaction of its own on
    /// every engine: no `BEGIN` and `COMMIT` around it.
    pub async fn read_statement<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<anyhow::Error> + Send + 'static,
    {
        self.read_as(work, Snapshot::PerStatement).await
    }

    async fn read_as<T, E, F>(&self, work: F, snapshot: Snapshot) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<anyhow::Error> + Send + 'static,
    {
        let reading = move |conn: &mut DbConnection| match snapshot {
            Snapshot::One => read_only(conn, |conn| one_snapshot(conn, work)),
            Snapshot::PerStatement => read_only(conn, work),
        };
        if self.engine == Engine::Sqlite
            && let Some(mut conn) = self.pool.try_get()
        {
            let read =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reading(&mut conn)));
            return match read {
                Ok(result) => result,
                Err(_) => Err(E::from(anyhow::anyhow!("a database read panicked"))),
            };
        }
        self.run(reading).await
    }

    /// Answers whether the database responds at all (for `/healthz`).
    pub async fn ping(&self) -> bool {
        self.run(|conn| conn.batch_execute("SELECT 1").context("ping"))
            .await
            .is_ok()
    }
}

/// How the statements of a read see the database.
#[derive(Clone, Copy)]
enum Snapshot {
    /// All of them one snapshot ([`one_snapshot`]).
    One,
    /// Each its own (a read of one statement).
    PerStatement,
}

/// Runs `work` in one read transaction on SQLite (`BEGIN` … `COMMIT`; it takes no write lock).
/// Every statement of a page then reads the same snapshot, so a list and its count agree even
/// while others write, and SQLite takes its read locks once for the page instead of once per
/// statement (each a pair of `fcntl` calls and the process-wide lock bookkeeping that goes with
/// them, which the pages' threads contended for). PostgreSQL runs the statements as they come:
/// there `BEGIN` and `COMMIT` would be two more round trips.
///
/// Should `work` panic, the transaction is left open; the pool then drops the connection
/// instead of taking it back ([`ConnectionManager::has_broken`]).
fn one_snapshot<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<anyhow::Error>,
{
    enum Failed<E> {
        Work(E),
        Database(diesel::result::Error),
    }
    impl<E> From<diesel::result::Error> for Failed<E> {
        fn from(error: diesel::result::Error) -> Self {
            Failed::Database(error)
        }
    }
    if !matches!(conn, DbConnection::Sqlite(_)) {
        return work(conn);
    }
    // A read transaction: a plain (deferred) `BEGIN` on purpose, which takes no write lock.
    #[expect(
        clippy::disallowed_methods,
        reason = "reads only: writes go through db::transaction"
    )]
    let read = conn.transaction(|conn| work(conn).map_err(Failed::Work));
    match read {
        Ok(value) => Ok(value),
        Err(Failed::Work(error)) => Err(error),
        Err(Failed::Database(error)) => Err(E::from(
            anyhow::Error::new(error).context("a read transaction failed"),
        )),
    }
}

/// Runs `work`, which must not write. Debug builds make the connection refuse writes meanwhile
/// (SQLite's `query_only`, PostgreSQL's read-only transactions).
fn read_only<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<anyhow::Error>,
{
    if !cfg!(debug_assertions) {
        return work(conn);
    }
    let (on, off) = match conn {
        DbConnection::Sqlite(_) => ("PRAGMA query_only = ON", "PRAGMA query_only = OFF"),
        DbConnection::Postgres(_) => (
            "SET default_transaction_read_only = on",
            "SET default_transaction_read_only = off",
        ),
    };
    conn.batch_execute(on)
        .context("making the connection read-only")?;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(conn)));
    conn.batch_execute(off)
        .context("making the connection writable again")?;
    result.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Applies pending migrations. On PostgreSQL an advisory lock makes instances that start
/// together take turns: one migrates, the others wait and then find nothing to do.
pub fn run_migrations(conn: &mut DbConnection) -> anyhow::Result<()> {
    match conn {
        DbConnection::Sqlite(c) => {
            c.run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .context("applying the SQLite migrations")?;
        }
        DbConnection::Postgres(c) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                .execute(c)
                .context("taking the migration lock")?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|_| ())
                .map_err(|e| anyhow::anyhow!("{e}"));
            diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
                .execute(c)
                .context("releasing the migration lock")?;
            result.context("applying the PostgreSQL migrations")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgresql_server_on_this_machine_is_told_apart() {
        let local = |raw: &str| DatabaseUrl::parse(raw).unwrap().is_local_postgres();
        assert!(local("postgres://postgres@127.0.0.1:5432/keyholder"));
        assert!(local("postgres://postgres@127.0.0.2/keyholder"));
        assert!(local("postgresql://kh:secret@localhost/keyholder"));
        assert!(local("postgres://kh@LOCALHOST/keyholder"));
        assert!(local("postgres://kh@[::1]:5432/keyholder"));
        assert!(local("postgres:///keyholder?host=/run/postgresql"));
        assert!(local("postgres://kh@db/keyholder?host=/run/postgresql"));
        assert!(local("postgres://%2Frun%2Fpostgresql/keyholder"));
        assert!(local(
            "postgres://kh@db.example.com/keyholder?host=localhost"
        ));
        assert!(local(
            "postgres://kh@db.example.com/keyholder?hostaddr=127.0.0.1"
        ));
        assert!(local(
            "postgres://kh@localhost/keyholder?host=127.0.0.1,localhost"
        ));
        assert!(!local("postgres://kh@localhost/keyholder?host=10.0.0.5"));
        assert!(!local(
            "postgres://kh@localhost/keyholder?hostaddr=10.0.0.5&host=localhost"
        ));
        assert!(!local(
            "postgres://kh@localhost/keyholder?host=localhost,db.example.com"
        ));
        assert!(!local("postgres://kh@db.example.com/keyholder"));
        assert!(!local("postgres://kh@10.0.0.5:5432/keyholder"));
        assert!(!local("postgres://kh@[2001:db8::5]/keyholder"));
        assert!(!DatabaseUrl::sqlite_file("/tmp/k.db".into()).is_local_postgres());
    }

    /// Pages in the write-ahead log (`log` of a passive checkpoint).
    fn wal_pages(conn: &mut DbConnection) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Checkpoint {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            log: i64,
        }
        diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
            .get_result::<Checkpoint>(conn)
            .unwrap()
            .log
    }

    #[test]
    fn a_pools_sqlite_connections_share_out_the_cache_budget() {
        #[derive(diesel::QueryableByName)]
        struct CacheSize {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            cache_size: i64,
        }
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::sqlite_file(dir.path().join("cache.db"));
        // Negative: a size in KiB rather than in pages.
        for (pool_size, budget_mb, kib) in [
            (8, DEFAULT_SQLITE_CACHE_MB, 8 * 1024),
            (2, DEFAULT_SQLITE_CACHE_MB, 32 * 1024),
            (1, DEFAULT_SQLITE_CACHE_MB, 64 * 1024),
            (8, 16, 2 * 1024),
            (256, DEFAULT_SQLITE_CACHE_MB, 512),
        ] {
            let db = Database::open_with_cache(&url, pool_size, budget_mb).unwrap();
            let mut conns: Vec<_> = (0..pool_size.min(3)).map(|_| db.get().unwrap()).collect();
            for conn in &mut conns {
                let size = diesel::sql_query("PRAGMA cache_size")
                    .get_result::<CacheSize>(&mut **conn)
                    .unwrap()
                    .cache_size;
                assert_eq!(size, -kib, "a pool of {pool_size} sharing {budget_mb} MiB");
            }
        }
    }

    /// The bundled SQLite is compiled as `.cargo/config.toml` says (`LIBSQLITE3_FLAGS`); a
    /// build that lost those flags would still pass every other test, only slower.
    #[test]
    fn the_bundled_sqlite_is_compiled_as_configured() {
        #[derive(diesel::QueryableByName)]
        struct CompileOption {
            #[diesel(sql_type = diesel::sql_types::Text)]
            compile_options: String,
        }
        let dir = tempfile::tempdir().unwrap();
        let mut conn = DatabaseUrl::sqlite_file(dir.path().join("options.db"))
            .connect()
            .unwrap();
        let options: Vec<String> = diesel::sql_query("PRAGMA compile_options")
            .load::<CompileOption>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|o| o.compile_options)
            .collect();
        for wanted in [
            // Ephemeral tables (window functions, IN lists, sorts) start without a 20-page
            // block each, whose release made the allocator hand memory back every statement.
            "DEFAULT_PCACHE_INITSZ=0",
            "THREADSAFE=2",
            "DEFAULT_MEMSTATUS=0",
        ] {
            assert!(
                options.iter().any(|o| o == wanted),
                "{wanted} missing from {options:?}"
            );
        }
        for unwanted in ["ENABLE_STAT4", "ENABLE_MEMORY_MANAGEMENT"] {
            assert!(
                !options.iter().any(|o| o == unwanted),
                "{unwanted} in {options:?}"
            );
        }
    }

    #[test]
    fn a_long_write_ahead_log_is_restarted_once_its_readers_are_gone() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::sqlite_file(dir.path().join("wal.db"));
        let mut writer = url.connect().unwrap();
        // No automatic checkpoint: the reader below must find the pages still in the log, as a
        // reader does under a steady stream of writes.
        writer
            .batch_execute(
                "PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE t (x BLOB);
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000)
                 INSERT INTO t SELECT randomblob(3000) FROM n;",
            )
            .unwrap();
        // A request in the middle of a read, reading through the log; it finishes shortly.
        let (started, finish) = (
            std::sync::mpsc::channel::<()>(),
            std::sync::mpsc::channel::<()>(),
        );
        let reader_url = url.clone();
        let reader = std::thread::spawn(move || {
            let mut reader = reader_url.connect().unwrap();
            reader
                .batch_execute("BEGIN; SELECT count(*) FROM t;")
                .unwrap();
            started.0.send(()).unwrap();
            finish.1.recv_timeout(Duration::from_millis(300)).ok();
            reader.batch_execute("COMMIT").unwrap();
        });
        started.1.recv().unwrap();
        assert!(wal_pages(&mut writer) > LONG_WAL_PAGES);

        restart_long_wal_within(&mut writer, Duration::from_secs(10)).unwrap();
        writer
            .batch_execute("INSERT INTO t VALUES (zeroblob(10))")
            .unwrap();
        assert!(
            wal_pages(&mut writer) < 10,
            "once the reader has moved on, the next write starts the log again"
        );
        finish.0.send(()).ok();
        reader.join().unwrap();
        // Short logs are left alone.
        restart_long_wal(&mut writer).unwrap();
    }

    #[test]
    fn a_transaction_that_reads_first_waits_for_a_concurrent_writer() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::sqlite_file(dir.path().join("tx.db"));
        let mut first = url.connect().unwrap();
        first
            .batch_execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (0);")
            .unwrap();
        let second_url = url.clone();
        let second = transaction(&mut first, |conn| {
            conn.batch_execute("SELECT count(*) FROM t")?;
            // Another connection writes between this transaction's read and its write. Begun
            // DEFERRED, this transaction's write failed with "database is locked"; begun
            // IMMEDIATE, the other writer waits for its commit instead.
            let second = std::thread::spawn(move || {
                let mut second = second_url.connect().unwrap();
                second.batch_execute("INSERT INTO t VALUES (2)")
            });
            std::thread::sleep(Duration::from_millis(200));
            conn.batch_execute("INSERT INTO t VALUES (1)")?;
            assert!(
                !second.is_finished(),
                "the other writer waits for this commit"
            );
            diesel::QueryResult::Ok(second)
        })
        .unwrap();
        second.join().unwrap().unwrap();
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let check = |conn: &mut DbConnection| {
            diesel::sql_query("SELECT count(*) AS n FROM t")
                .get_result::<Count>(conn)
                .unwrap()
                .n
        };
        assert_eq!(check(&mut first), 3);
        // Nested transactions are savepoints, and a rollback undoes only theirs.
        transaction(&mut first, |conn| -> diesel::QueryResult<()> {
            conn.batch_execute("INSERT INTO t VALUES (4)")?;
            let inner = transaction(conn, |conn| -> diesel::QueryResult<()> {
                conn.batch_execute("INSERT INTO t VALUES (5)")?;
                Err(diesel::result::Error::RollbackTransaction)
            });
            assert!(inner.is_err());
            Ok(())
        })
        .unwrap();
        assert_eq!(check(&mut first), 4);
    }

    fn count_of_t(conn: &mut DbConnection) -> anyhow::Result<i64> {
        diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT count(*) FROM t)",
        ))
        .get_result(conn)
        .context("count")
    }

    /// A page's read runs on the worker's own thread while the pool has an idle connection,
    /// and on a blocking thread when it has none; it is refused a write (in test builds), and
    /// a panic in it is an error of that request, not of the worker.
    #[actix_web::test]
    async fn a_read_runs_on_the_callers_thread_unless_the_pool_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::sqlite_file(dir.path().join("read.db"));
        // One connection: every step below uses the same one.
        let db = Database::open(&url, 1).unwrap();
        db.run(|conn| {
            conn.batch_execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)")
                .context("create")
        })
        .await
        .unwrap();
        let caller = std::thread::current().id();

        let (here, rows) = db
            .read(|conn| Ok::<_, anyhow::Error>((std::thread::current().id(), count_of_t(conn)?)))
            .await
            .unwrap();
        assert_eq!(
            here, caller,
            "an idle connection: the read ran on the caller's thread"
        );
        assert_eq!(rows, 1);

        // The connection taken (by a request on another thread, say): the read waits for it
        // on a blocking thread instead of holding up this one.
        let taken = db.get().unwrap();
        let reading = db.clone();
        let read = actix_web::rt::spawn(async move {
            reading
                .read(|conn| {
                    Ok::<_, anyhow::Error>((std::thread::current().id(), count_of_t(conn)?))
                })
                .await
        });
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        assert!(!read.is_finished(), "the read found no connection yet");
        drop(taken);
        let (there, rows) = read.await.unwrap().unwrap();
        assert_ne!(
            there, caller,
            "a busy pool: the read waited on a blocking thread"
        );
        assert_eq!(rows, 1);

        let wrote = db
            .read(|conn| {
                conn.batch_execute("INSERT INTO t VALUES (2)")
                    .context("writing in a read")
            })
            .await;
        if cfg!(debug_assertions) {
            let error = format!("{:#}", wrote.unwrap_err());
            assert!(error.contains("readonly"), "{error}");
        }
        let panicked = db
            .read(|_| -> anyhow::Result<()> { panic!("a bug in a read") })
            .await;
        assert!(panicked.is_err());
        // The connection writes again for the work that may write, after a panic too.
        db.run(|conn| {
            conn.batch_execute("INSERT INTO t VALUES (3)")
                .context("write")
        })
        .await
        .unwrap();
        assert_eq!(db.read(count_of_t).await.unwrap(), 2);
    }

    /// A page's statements read one snapshot: a row committed by someone else between two of
    /// them is not seen by the second. A read that panics leaves its transaction open, and its
    /// connection is then dropped, not reused on that old snapshot.
    #[actix_web::test]
    async fn a_read_sees_one_snapshot_and_a_panic_does_not_keep_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.db");
        let url = DatabaseUrl::sqlite_file(path.clone());
        let db = Database::open(&url, 1).unwrap();
        db.run(|conn| {
            conn.batch_execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)")
                .context("create")
        })
        .await
        .unwrap();
        let other_writer = move || {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
                conn.batch_execute("INSERT INTO t VALUES (2)").unwrap();
            })
            .join()
            .unwrap();
        };
        let write = other_writer.clone();
        let (before, after) = db
            .read(move |conn| {
                let before = count_of_t(conn)?;
                write();
                Ok::<_, anyhow::Error>((before, count_of_t(conn)?))
            })
            .await
            .unwrap();
        assert_eq!((before, after), (1, 1), "one snapshot for the whole read");
        assert_eq!(
            db.read(count_of_t).await.unwrap(),
            2,
            "the next read sees it"
        );

        let panicked = db
            .read(|conn| -> anyhow::Result<()> {
                count_of_t(conn)?;
                panic!("a bug in a read")
            })
            .await;
        assert!(panicked.is_err());
        other_writer();
        assert_eq!(
            db.read(count_of_t).await.unwrap(),
            3,
            "a read after the panic is not inside the panicked read's transaction"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writers_of_one_process_take_turns_before_asking_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::sqlite_file(dir.path().join("gate.db"));
        let db = Database::open(&url, 4).unwrap();
        db.run(|conn| {
            conn.batch_execute("CREATE TABLE t (x INTEGER)")
                .context("create")
        })
        .await
        .unwrap();
        let (began, begun) = std::sync::mpsc::channel();
        let holding = db.clone();
        let holder = tokio::spawn(async move {
            holding
                .run(move |conn| {
                    transaction(conn, |conn| {
                        conn.batch_execute("INSERT INTO t VALUES (1)")?;
                        began.send(()).unwrap();
                        std::thread::sleep(Duration::from_millis(300));
                        diesel::QueryResult::Ok(())
                    })
                    .context("holder")
                })
                .await
        });
        tokio::task::spawn_blocking(move || begun.recv().unwrap())
            .await
            .unwrap();
        // Without waiting in SQLite at all, the other writers of this process still get their
        // turn: a transaction and a lone statement wait on the gate, not on SQLite's lock.
        let writers: Vec<_> = (2..4)
            .map(|x| {
                let db = db.clone();
                tokio::spawn(async move {
                    db.run(move |conn| {
                        conn.batch_execute("PRAGMA busy_timeout = 0")?;
                        let wrote = if x == 2 {
                            transaction(conn, |conn| {
                                conn.batch_execute(&format!("INSERT INTO t VALUES ({x})"))
                            })
                        } else {
                            gated(conn, |conn| {
                                conn.batch_execute(&format!("INSERT INTO t VALUES ({x})"))
                            })
                        };
                        conn.batch_execute("PRAGMA busy_timeout = 10000")?;
                        wrote.with_context(|| format!("writer {x}"))
                    })
                    .await
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap().unwrap();
        }
        holder.await.unwrap().unwrap();
        // A write inside a held turn does not wait for itself (until the gate's 10 s are up).
        let started = std::time::Instant::now();
        db.run(|conn| {
            transaction(conn, |conn| {
                gated(conn, |conn| conn.batch_execute("INSERT INTO t VALUES (4)"))
            })
            .context("nested")
        })
        .await
        .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a write inside a transaction waited for its own turn"
        );
        assert_eq!(db.run(count_of_t).await.unwrap(), 4);
    }

    #[test]
    fn engine_comes_from_the_scheme() {
        assert_eq!(
            DatabaseUrl::parse("postgres://postgres@127.0.0.1:5432/kh")
                .unwrap()
                .engine(),
            Engine::Postgres
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/kh.db")
                .unwrap()
                .sqlite_path(),
            Some(Path::new("data/kh.db"))
        );
        assert_eq!(
            DatabaseUrl::parse("./kh.db").unwrap().sqlite_path(),
            Some(Path::new("./kh.db"))
        );
        // PostgreSQL on the same machine, over its Unix socket (DEPLOYMENT.md).
        assert_eq!(
            DatabaseUrl::parse("postgres:///kh?host=/var/run/postgresql&user=kh")
                .unwrap()
                .engine(),
            Engine::Postgres
        );
        assert!(DatabaseUrl::parse("postgres:///kh").is_err());
        assert!(DatabaseUrl::parse("mysql://root@localhost/kh").is_err());
        assert!(DatabaseUrl::parse("sqlite::memory:").is_err());
    }

    #[test]
    fn display_hides_the_password() {
        let url = DatabaseUrl::parse("postgres://kh:hunter2hunter2@db:5432/kh").unwrap();
        assert!(!url.display().contains("hunter2"));
    }

    /// A fragment that counts how often diesel walks it, on this thread.
    #[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
    struct CountedTrue;

    thread_local! {
        static WALKS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    impl diesel::expression::Expression for CountedTrue {
        type SqlType = diesel::sql_types::Bool;
    }

    impl<QS> diesel::expression::AppearsOnTable<QS> for CountedTrue {}

    impl<GB> diesel::expression::ValidGrouping<GB> for CountedTrue {
        type IsAggregate = diesel::expression::is_aggregate::Never;
    }

    impl<DB: diesel::backend::Backend> diesel::query_builder::QueryFragment<DB> for CountedTrue {
        fn walk_ast<'b>(
            &'b self,
            mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
        ) -> diesel::QueryResult<()> {
            WALKS.with(|walks| walks.set(walks.get() + 1));
            out.push_sql("1 = 1");
            Ok(())
        }
    }

    diesel::table! {
        items (id) {
            id -> BigInt,
        }
    }

    /// A statement served from the statement cache is not written out as SQL again: diesel
    /// walks it once to ask whether it may be cached and once to collect its binds. The
    /// multi-backend connection's derive wrote the whole text in both passes (five walks of
    /// every fragment per execution); the vendored derive (vendor/README.md) writes it only for
    /// the pass that prepares the statement.
    #[test]
    fn a_cached_statement_is_not_written_out_again() {
        use diesel::prelude::*;
        let mut conn = DbConnection::Sqlite(SqliteConnection::establish(":memory:").unwrap());
        conn.batch_execute(
            "CREATE TABLE items (id INTEGER PRIMARY KEY); INSERT INTO items VALUES (1), (2);",
        )
        .unwrap();
        let query = || {
            items::table
                .filter(CountedTrue)
                .order(items::id)
                .select(items::id)
        };
        let walks = |conn: &mut DbConnection| {
            WALKS.with(|walks| walks.set(0));
            let ids: Vec<i64> = query().load(conn).unwrap();
            assert_eq!(
                ids,
                vec![1, 2],
                "the statement's text is still written when it is prepared"
            );
            WALKS.with(std::cell::Cell::get)
        };
        let first = walks(&mut conn);
        let again = walks(&mut conn);
        assert!(
            again <= 2,
            "a cached statement's fragment was walked {again} times (first run: {first})"
        );
        assert!(
            first > again,
            "the first run writes the text ({first} walks, then {again})"
        );
    }
}
