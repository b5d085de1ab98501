//! Housekeeping statements of the database file itself.

use sqlx::SqliteConnection;

use crate::db::Conn;

/// SQLite: a passive checkpoint (copies what it can of the WAL without waiting for anyone).
/// Returns the WAL's length and how much of it is copied back, in pages.
pub async fn checkpoint_passive(c: &mut SqliteConnection) -> sqlx::Result<(i64, i64)> {
    let (_busy, log, copied): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&mut *c).await?;
    Ok((log, copied))
}

/// SQLite: copies the WAL back into the database and truncates it (outside a transaction; a
/// reader still on an older snapshot only leaves part of it for the next checkpoint). No-op on
/// PostgreSQL.
pub async fn truncate_wal(c: Conn<'_>) -> sqlx::Result<()> {
    if let Conn::Sqlite(e) = c {
        sqlx::raw_sql("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut *e).await?;
    }
    Ok(())
}

/// SQLite: the connection drops the pages it keeps in its cache (the next statement reads what
/// it needs again, from the operating system's file cache).
pub async fn shrink_memory(c: &mut SqliteConnection) -> sqlx::Result<()> {
    sqlx::raw_sql("PRAGMA shrink_memory").execute(&mut *c).await.map(|_| ())
}

/// What a SQLite connection holds in memory, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// Its page cache.
    pub cache: i64,
    /// The schema it parsed.
    pub schema: i64,
    /// Its prepared statements (sqlx keeps up to 100 a connection).
    pub statements: i64,
}

impl std::ops::AddAssign for Memory {
    fn add_assign(&mut self, o: Memory) {
        self.cache += o.cache;
        self.schema += o.schema;
        self.statements += o.statements;
    }
}

/// SQLite: what the connection holds now (`sqlite3_db_status`).
pub async fn memory(c: &mut SqliteConnection) -> sqlx::Result<Memory> {
    use libsqlite3_sys as ffi;
    let mut handle = c.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    let status = |op| {
        let (mut now, mut peak) = (0, 0);
        // SAFETY: `db` is the locked connection's handle, valid while `handle` lives; the
        // outputs are locals. An unknown op only returns an error code, leaving them 0.
        unsafe { ffi::sqlite3_db_status(db, op, &mut now, &mut peak, 0) };
        i64::from(now)
    };
    Ok(Memory {
        cache: status(ffi::SQLITE_DBSTATUS_CACHE_USED),
        schema: status(ffi::SQLITE_DBSTATUS_SCHEMA_USED),
        statements: status(ffi::SQLITE_DBSTATUS_STMT_USED),
    })
}
