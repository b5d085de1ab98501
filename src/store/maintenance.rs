//! Housekeeping statements of the database file itself.

use sqlx::SqliteConnection;

/// SQLite: a passive checkpoint (copies what it can of the WAL without waiting for anyone).
/// Returns the WAL's length and how much of it is copied back, in pages.
pub async fn checkpoint_passive(c: &mut SqliteConnection) -> sqlx::Result<(i64, i64)> {
    let (_busy, log, copied): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&mut *c).await?;
    Ok((log, copied))
}
