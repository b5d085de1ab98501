//! The dashboard's aggregation: every instance runs one; each pass takes the lease in
//! `dashboard_state` (or skips the pass while another instance holds it), stores the closed
//! days not stored yet (the first pass after the migration fills every past day: the
//! backfill; after downtime, the days missed) and recounts stored days whose orders changed
//! (`service::dashboard::refresh`).

use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use crate::db::Db;

pub async fn run(db: Db, every: Duration, mut stop: watch::Receiver<bool>) {
    if every.is_zero() {
        return;
    }
    loop {
        let started = std::time::Instant::now();
        match crate::service::dashboard::refresh(&db, Utc::now()).await {
            Ok(Some(o)) if o.caught_up + o.recounted > 0 => tracing::info!(
                caught_up = o.caught_up,
                recounted = o.recounted,
                rows = o.rows,
                seconds = started.elapsed().as_secs_f64(),
                "dashboard figures stored"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "storing the dashboard figures failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => break,
        }
    }
}
