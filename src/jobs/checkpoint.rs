//! SQLite: copies the WAL back into the database beside the writer, on a connection of its
//! own, so the writer seldom does it itself.
//!
//! Measured at a million orders with 64 clients creating: a third of the order writer's time
//! went to the checkpoints its commits ran every thousand WAL pages (copying each changed page
//! into the 3 GB file, scattered). A passive checkpoint on another connection does that copy on
//! the other core while the writer goes on. The writer still checkpoints when the WAL reaches
//! [`crate::db::WAL_AUTOCHECKPOINT_PAGES`]: by then nearly everything is copied, so its share is
//! the last few commits; and only a checkpoint that ends with the whole WAL copied at a commit
//! boundary lets the next write start the WAL file from the beginning again, which this job,
//! running while commits keep coming, rarely sees. No-op on PostgreSQL.

use std::time::Duration;

use sqlx::Connection;
use tokio::sync::watch;

use crate::db::Db;

/// Between checkpoints while the WAL keeps growing: each one copies what came since the last.
const BUSY_PAUSE: Duration = Duration::from_millis(5);
/// Between looks while nothing is written.
const IDLE_PAUSE: Duration = Duration::from_millis(200);

pub async fn run(db: Db, mut stop: watch::Receiver<bool>) {
    let Some(opts) = db.sqlite_write_options() else { return };
    let mut conn = match sqlx::SqliteConnection::connect_with(&opts).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "no connection for the WAL checkpoints; the writer does them");
            return;
        }
    };
    let mut last_log = -1;
    // A failure is told once, not five times a second; the writer's own checkpoints go on.
    let mut failing = false;
    loop {
        let result = crate::store::maintenance::checkpoint_passive(&mut conn).await;
        match (&result, failing) {
            (Err(e), false) => tracing::warn!(error = %e, "WAL checkpoint failed; trying again"),
            (Ok(_), true) => tracing::info!("WAL checkpoints work again"),
            _ => {}
        }
        failing = result.is_err();
        let pause = match result {
            // The WAL grew since the last look: more may come right behind.
            Ok((log, _)) if log != last_log => {
                last_log = log;
                BUSY_PAUSE
            }
            _ => IDLE_PAUSE,
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => break,
        }
    }
    let _ = conn.close().await;
}
