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
