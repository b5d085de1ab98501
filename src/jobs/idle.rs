//! SQLite: hands the page caches' memory back while the server has no requests.
//!
//! Every SQLite connection keeps the pages it has read, up to its cache size (16 MB a reader,
//! 32 MB the writer), for as long as it lives: a server that was busy in the afternoon, or whose
//! visit planner made its first pass over a million orders, would hold them all night. After
//! [`QUIET`] without a request, each connection nobody is using drops its cache (again after
//! every further quiet period, since the jobs read too), and mimalloc is asked to return what is
//! now free: otherwise the freed pages stay with the allocator until the threads that used them
//! allocate again. The next request reads its pages again from the operating system's file
//! cache. No-op on PostgreSQL, whose server keeps the pages.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use crate::db::{Backend, Db};

/// How long without a request counts as quiet.
pub const QUIET: Duration = Duration::from_secs(10);

pub async fn run(db: Db, requests: Arc<AtomicU64>, quiet: Duration, mut stop: watch::Receiver<bool>) {
    if db.backend() != Backend::Sqlite {
        return;
    }
    let mut seen = requests.load(Ordering::Relaxed);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(quiet) => {}
            _ = stop.changed() => break,
        }
        let now = requests.load(Ordering::Relaxed);
        if now != seen {
            seen = now;
            continue;
        }
        match db.shrink_idle_caches().await {
            Ok((held, n)) => {
                // SAFETY: mi_collect only returns memory the allocator holds unused; any thread may call it.
                unsafe { libmimalloc_sys::mi_collect(true) };
                tracing::debug!(connections = n, ?held, "quiet: page caches dropped");
                metrics::gauge!("sqlite_idle_memory_bytes", "kind" => "cache").set(held.cache as f64);
                metrics::gauge!("sqlite_idle_memory_bytes", "kind" => "schema").set(held.schema as f64);
                metrics::gauge!("sqlite_idle_memory_bytes", "kind" => "statements").set(held.statements as f64);
            }
            Err(e) => tracing::warn!(error = %e, "dropping the page caches failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{ReadConn, SqliteSync};

    /// Bytes of page cache the connection holds.
    async fn cache_used(c: &mut ReadConn) -> i64 {
        let ReadConn::Sqlite(c) = c else { unreachable!("SQLite only") };
        crate::store::maintenance::memory(c).await.expect("the connection's memory").cache
    }

    async fn run_sql(c: &mut ReadConn, sql: &'static str) {
        let ReadConn::Sqlite(c) = c else { unreachable!("SQLite only") };
        sqlx::raw_sql(sql).execute(&mut **c).await.expect(sql);
    }

    /// The page caches of all the readers together, and the writer's.
    async fn caches(db: &Db) -> (i64, i64) {
        let Db::Sqlite { write, read } = db else { unreachable!("SQLite only") };
        // A dropped connection goes back to its pool in a task of its own.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut readers = 0;
        let mut held: Vec<_> = std::iter::from_fn(|| read.try_acquire()).map(ReadConn::Sqlite).collect();
        for c in &mut held {
            readers += cache_used(c).await;
        }
        let mut w = ReadConn::Sqlite(write.acquire().await.unwrap());
        (readers, cache_used(&mut w).await)
    }

    #[tokio::test]
    async fn a_quiet_server_drops_its_page_caches_and_a_busy_one_keeps_them() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/idle.db", dir.path().display());
        let db = Db::connect(&url, SqliteSync::Normal).await.unwrap();
        // About 4 MB: a thousand rows of a page each, read by the writer and the one reader.
        let mut w = db.hold_writer().await.unwrap();
        run_sql(
            &mut w,
            "CREATE TABLE t (b BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) \
             INSERT INTO t SELECT randomblob(3900) FROM n; SELECT COUNT(*) FROM t WHERE b > x'00'",
        )
        .await;
        drop(w);
        let mut r = db.read().await.unwrap();
        run_sql(&mut r, "SELECT COUNT(*) FROM t WHERE b > x'00'").await;
        drop(r);
        let (reader, writer) = caches(&db).await;
        assert!(reader > 3_000_000 && writer > 3_000_000, "caches filled: {reader}, {writer}");

        let requests = Arc::new(AtomicU64::new(0));
        let (stop_tx, stop_rx) = watch::channel(false);
        let job = tokio::spawn(run(db.clone(), requests.clone(), Duration::from_millis(400), stop_rx));
        // Requests every 10 ms for two seconds: never a quiet 400 ms.
        for _ in 0..200 {
            requests.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let (reader, writer) = caches(&db).await;
        assert!(reader > 3_000_000 && writer > 3_000_000, "kept while busy: {reader}, {writer}");

        // Then nothing: within a few quiet periods both caches are dropped.
        let mut dropped = false;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let (reader, writer) = caches(&db).await;
            if reader < 500_000 && writer < 500_000 {
                dropped = true;
                break;
            }
        }
        assert!(dropped, "the caches are dropped once quiet");
        let _ = stop_tx.send(true);
        job.await.unwrap();
        db.close().await;
    }
}
