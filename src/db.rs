//! The database: SQLite (default, embedded) or PostgreSQL, chosen from the URL.
//!
//! Both backends run the same SQL text wherever the dialects agree (`$1` placeholders work on
//! both); store functions take a [`Conn`] and use [`on_conn!`] so one body is compiled for each
//! backend with its concrete types. Timestamps are `DateTime<Utc>`: `TIMESTAMPTZ` on PostgreSQL,
//! RFC 3339 text on SQLite (sqlx writes 0/3/6/9 fraction digits before `+00:00`, which still
//! sorts correctly as text because `+` sorts before every digit).
//!
//! SQLite gets one writer connection and a pool of read-only readers: writes never fight for
//! the lock inside one process, readers never wait for the writer (WAL). Writes start with
//! `BEGIN IMMEDIATE` so a second process (the CLI while the server runs) waits on the busy
//! timeout instead of failing on a lock upgrade.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

/// Run `$body` with `$e` bound to the concrete connection of either backend.
#[macro_export]
macro_rules! on_conn {
    ($conn:expr, |$e:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Sqlite($e) => $body,
            $crate::db::Conn::Pg($e) => $body,
        }
    };
}

/// Implements `sqlx::FromRow` for a plain struct on both backends, and `FromRaw` for rows read
/// on a SQLite handle directly (`store::raw`): each field is read from the column of the same
/// name. (sqlx's derive would compile the database drivers a second time inside its
/// proc-macro; this keeps builds lean.)
#[macro_export]
macro_rules! from_row {
    ($name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for $name
        where
            &'r str: sqlx::ColumnIndex<R>,
            $($ty: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,)*
        {
            fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
                Ok(Self { $($field: row.try_get(stringify!($field))?,)* })
            }
        }

        impl $crate::store::raw::FromRaw for $name {
            fn from_raw(row: &$crate::store::raw::Row<'_>) -> Result<Self, sqlx::Error> {
                Ok(Self { $($field: row.get::<$ty>(stringify!($field))?,)* })
            }
        }
    };
}

/// A borrowed connection of either backend, inside a transaction or not.
pub enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Pg(&'a mut PgConnection),
}

impl Conn<'_> {
    /// The same connection for one more call, keeping this one usable afterwards.
    pub fn reborrow(&mut self) -> Conn<'_> {
        match self {
            Conn::Sqlite(e) => Conn::Sqlite(e),
            Conn::Pg(e) => Conn::Pg(e),
        }
    }
}

/// An open write transaction. Dropping it without `commit` rolls back.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Pg(Transaction<'static, Postgres>),
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Pg(_) => Backend::Postgres,
        }
    }

    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(t) => Conn::Sqlite(&mut *t),
            Tx::Pg(t) => Conn::Pg(&mut *t),
        }
    }

    pub async fn commit(self) -> sqlx::Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Pg(t) => t.commit().await,
        }
    }
}

/// A pooled connection (for reading, unless taken with [`Db::hold_writer`]).
pub enum ReadConn {
    Sqlite(sqlx::pool::PoolConnection<Sqlite>),
    Pg(sqlx::pool::PoolConnection<Postgres>),
}

impl ReadConn {
    pub fn backend(&self) -> Backend {
        match self {
            ReadConn::Sqlite(_) => Backend::Sqlite,
            ReadConn::Pg(_) => Backend::Postgres,
        }
    }

    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            ReadConn::Sqlite(c) => Conn::Sqlite(&mut *c),
            ReadConn::Pg(c) => Conn::Pg(&mut *c),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub enum Db {
    Sqlite { write: SqlitePool, read: SqlitePool },
    Pg(PgPool),
}

/// How SQLite syncs to disk: NORMAL survives a killed process, FULL also a power loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSync {
    #[default]
    Normal,
    Full,
}

impl Db {
    /// Which database this is (its file, or server and name): in-process caches keyed by it
    /// never mix two databases one process serves (the tests serve many at once).
    pub fn identity(&self) -> String {
        match self {
            Db::Sqlite { write, .. } => write.connect_options().get_filename().display().to_string(),
            Db::Pg(pool) => {
                let o = pool.connect_options();
                format!("{}:{}/{}", o.get_host(), o.get_port(), o.get_database().unwrap_or(""))
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Pg(_) => Backend::Postgres,
        }
    }

    /// Open (creating a SQLite file and its folder when missing) and check the connection.
    /// Errors say what to do, because they end start-up.
    pub async fn connect(url: &str, sync: SqliteSync) -> anyhow::Result<Db> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // The app's queries are short lookups: a parallel plan only adds worker start-up
            // (5 ms a query measured at 1M customers) and, under load, more processes than cores.
            // Reports that scan whole tables may raise it for their own transaction.
            let opts = PgConnectOptions::from_str(url)
                .with_context(|| format!("DATABASE_URL is not a valid PostgreSQL URL: {}", redact(url)))?
                .options([("max_parallel_workers_per_gather", "0")]);
            let pool = PgPoolOptions::new()
                .max_connections(PG_POOL)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await
                .map_err(|e| {
                    anyhow!(
                        "cannot connect to PostgreSQL at {}: {e}\n\
                         Is the server running and does the database exist? Check DATABASE_URL.",
                        redact(url)
                    )
                })?;
            return Ok(Db::Pg(pool));
        }
        let path = sqlite_path(url)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| {
                format!(
                    "cannot create the data folder {}: check that you may write there, \
                     or point DATABASE_URL at another place",
                    dir.display()
                )
            })?;
        }
        let base = SqliteConnectOptions::new()
            .filename(&path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match sync {
                SqliteSync::Normal => SqliteSynchronous::Normal,
                SqliteSync::Full => SqliteSynchronous::Full,
            })
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("temp_store", "memory")
            .pragma("cache_size", format!("-{WRITE_CACHE_KIB}"));
        let open_err = |e: sqlx::Error| {
            anyhow!(
                "cannot open the SQLite database {}: {e}\n\
                 Check that the file is a SQLite database and that you may read and write it \
                 and its folder, or set DATABASE_URL to another file.",
                path.display()
            )
        };
        // No ping before handing out a connection: the database is in this process, and the
        // ping was one more hand-over to the connection's thread before every statement.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(
                base.clone().create_if_missing(true).pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES.to_string()),
            )
            .await
            .map_err(open_err)?;
        // Readers keep 16 MB of pages each, the writer 32 MB.
        let read = SqlitePoolOptions::new()
            .max_connections(sqlite_readers())
            .min_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.read_only(true).pragma("cache_size", "-16000"))
            .await
            .map_err(open_err)?;
        Ok(Db::Sqlite { write, read })
    }

    /// SQLite: how to open one more read-write connection (the WAL checkpointer's).
    pub fn sqlite_write_options(&self) -> Option<SqliteConnectOptions> {
        match self {
            Db::Sqlite { write, .. } => Some((*write.connect_options()).clone()),
            Db::Pg(_) => None,
        }
    }

    /// SQLite: every connection nobody is using drops its page cache. Returns what those
    /// connections hold afterwards and how many there were. (A connection keeps every page it
    /// read, up to its cache size, for as long as it lives.)
    pub async fn shrink_idle_caches(&self) -> sqlx::Result<(crate::store::maintenance::Memory, usize)> {
        use crate::store::maintenance::{Memory, memory, shrink_memory};
        let Db::Sqlite { write, read } = self else { return Ok((Memory::default(), 0)) };
        let mut idle: Vec<_> = std::iter::from_fn(|| read.try_acquire()).collect();
        idle.extend(write.try_acquire());
        let mut held = Memory::default();
        for c in &mut idle {
            shrink_memory(c).await?;
            held += memory(c).await?;
        }
        Ok((held, idle.len()))
    }

    /// Begin a write transaction (`BEGIN IMMEDIATE` on SQLite).
    pub async fn begin(&self) -> sqlx::Result<Tx> {
        Ok(match self {
            Db::Sqlite { write, .. } => Tx::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Db::Pg(p) => Tx::Pg(p.begin().await?),
        })
    }

    /// The write connection (SQLite) or one of the pool's (PostgreSQL), held by a caller that
    /// runs its own transactions on it (`service::intake` writes group after group on it).
    pub async fn hold_writer(&self) -> sqlx::Result<ReadConn> {
        Ok(match self {
            Db::Sqlite { write, .. } => ReadConn::Sqlite(write.acquire().await?),
            Db::Pg(p) => ReadConn::Pg(p.acquire().await?),
        })
    }

    /// A connection for reading.
    pub async fn read(&self) -> sqlx::Result<ReadConn> {
        Ok(match self {
            Db::Sqlite { read, .. } => ReadConn::Sqlite(read.acquire().await?),
            Db::Pg(p) => ReadConn::Pg(p.acquire().await?),
        })
    }

    pub async fn ping(&self) -> sqlx::Result<()> {
        let mut c = self.read().await?;
        on_conn!(c.conn(), |e| sqlx::query("SELECT 1").execute(e).await.map(|_| ()))
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite { write, read } => {
                read.close().await;
                write.close().await;
            }
            Db::Pg(p) => p.close().await,
        }
    }

    /// Apply the migrations this binary knows and the database lacks, each in its own
    /// transaction. Refuses to run against a database migrated by a newer version.
    pub async fn migrate(&self) -> anyhow::Result<Vec<i64>> {
        let list: &[(i64, &str, &str)] = match self.backend() {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        };
        let mut tx = self.begin().await.context("cannot start the migration transaction")?;
        // Several instances may start at once: on PostgreSQL an advisory lock held for this
        // transaction serialises them; on SQLite `BEGIN IMMEDIATE` already does.
        if let Tx::Pg(t) = &mut tx {
            sqlx::query("SELECT pg_advisory_xact_lock(727201)").execute(&mut **t).await?;
        }
        on_conn!(tx.conn(), |e| {
            sqlx::raw_sql(
                "CREATE TABLE IF NOT EXISTS schema_migrations (\
                 version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
            )
            .execute(&mut *e)
            .await
            .map(|_| ())
        })?;
        let applied: Vec<i64> = on_conn!(tx.conn(), |e| {
            sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version").fetch_all(&mut *e).await
        })?;
        let newest_known = list.last().map(|m| m.0).unwrap_or(0);
        if let Some(&newest) = applied.last()
            && newest > newest_known
        {
            bail!(
                "the database is at schema version {newest}, newer than this program knows \
                 ({newest_known}): run a newer aftersales, or restore a backup made by this one"
            );
        }
        let mut done = Vec::new();
        for &(version, name, sql) in list {
            if applied.contains(&version) {
                continue;
            }
            let now = chrono::Utc::now().to_rfc3339();
            on_conn!(tx.conn(), |e| {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut *e).await?;
                sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                    .bind(version)
                    .bind(name)
                    .bind(now)
                    .execute(&mut *e)
                    .await
                    .map(|_| ())
            })
            .map_err(|e| {
                anyhow!(
                    "migration {version} ({name}) failed: {e}\nNothing of it was applied. \
                     Restore a backup or report this error."
                )
            })?;
            done.push(version);
        }
        tx.commit().await.context("cannot commit the migrations")?;
        Ok(done)
    }
}

macro_rules! migrations {
    ($dir:literal: $($version:literal $name:literal),* $(,)?) => {
        &[$(($version, $name, include_str!(concat!("../migrations/", $dir, "/", $name, ".sql")))),*]
    };
}

/// Connections to PostgreSQL per instance: the four order writers, the jobs and the requests
/// share them. More than the database's cores can run only wait inside PostgreSQL: on two cores
/// at a million orders, 16 connections gave fewer gets with a higher p99 than 6 or 8, and no
/// more creates (bench/README.md, sixth session).
const PG_POOL: u32 = 8;

// Same file names in both folders; a new migration is added to both lists.
/// The SQLite writer's page cache in KiB (readers keep 16 MB each).
pub const WRITE_CACHE_KIB: i64 = 32_000;

/// SQLite: the writer checkpoints when a commit leaves the WAL this long (pages; 16 MB). The
/// server copies the WAL back on another connection as it grows (`jobs::checkpoint`), so by
/// then little is left to copy, and the writer's checkpoint lets the WAL start over from its
/// beginning. (SQLite's default is 1,000 pages; with the copying done beside the writer, 4,000
/// measured best: see bench/README.md.)
pub const WAL_AUTOCHECKPOINT_PAGES: i64 = 4000;

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = migrations!("sqlite": 1 "0001_foundation", 2 "0002_entitlement", 3 "0003_archive", 4 "0004_imports", 5 "0005_calendars", 6 "0006_work_orders", 7 "0007_notifications", 8 "0008_sla", 9 "0009_care", 10 "0010_complaints", 11 "0011_service_reminders", 12 "0012_care_plans", 13 "0013_parts", 15 "0015_certification", 16 "0016_objectives", 17 "0017_corrective_actions", 18 "0018_dashboard", 19 "0019_appraisal", 20 "0020_registers_handbook", 21 "0021_stock_totals", 22 "0022_fault_analysis", 23 "0023_teams", 24 "0024_visit_tasks_lean", 25 "0025_appraisal_reminders", 26 "0026_customer_search_ids", 27 "0027_reminders_when_due", 28 "0028_dashboard_live_indexes");
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = migrations!("postgres": 1 "0001_foundation", 2 "0002_entitlement", 3 "0003_archive", 4 "0004_imports", 5 "0005_calendars", 6 "0006_work_orders", 7 "0007_notifications", 8 "0008_sla", 9 "0009_care", 10 "0010_complaints", 11 "0011_service_reminders", 12 "0012_care_plans", 13 "0013_parts", 15 "0015_certification", 16 "0016_objectives", 17 "0017_corrective_actions", 18 "0018_dashboard", 19 "0019_appraisal", 20 "0020_registers_handbook", 21 "0021_stock_totals", 22 "0022_fault_analysis", 23 "0023_teams", 24 "0024_visit_tasks_lean", 25 "0025_appraisal_reminders", 26 "0026_customer_search_ids", 27 "0027_reminders_when_due", 28 "0028_dashboard_live_indexes");

/// SQLite readers: two a core. A reader is a thread of its own that runs its statements; more
/// of them than the cores can run only take turns, and each keeps its own page cache. On two
/// cores at a million orders, four readers against eight served as many gets and lists or more,
/// with a lower p95, and the peak RSS under load fell from 308–311 to 183–187 MiB (three gave
/// 5 % fewer lists; bench/README.md, seventh session).
fn sqlite_readers() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
    (2 * cores).clamp(2, 16)
}

/// `sqlite://path`, `sqlite:path` or a bare path.
fn sqlite_path(url: &str) -> anyhow::Result<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    let rest = rest.split('?').next().unwrap_or(rest);
    if rest.is_empty() || rest == ":memory:" {
        bail!("DATABASE_URL must name a SQLite file (for example sqlite://./data/aftersales.db)");
    }
    if url.contains("://") && !url.starts_with("sqlite://") {
        bail!("unsupported DATABASE_URL {}: use sqlite://FILE or postgres://…", redact(url));
    }
    Ok(Path::new(rest).to_path_buf())
}

/// The URL with any password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let auth = &url[s + 3..at];
            match auth.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &auth[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://./data/a.db"), "sqlite://./data/a.db");
    }

    #[test]
    fn sqlite_paths() {
        assert_eq!(sqlite_path("sqlite://./data/a.db").unwrap(), Path::new("./data/a.db"));
        assert_eq!(sqlite_path("sqlite:x.db?mode=rwc").unwrap(), Path::new("x.db"));
        assert!(sqlite_path("mysql://x").is_err());
        assert!(sqlite_path("sqlite::memory:").is_err());
    }
}
