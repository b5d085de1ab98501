//! The SLA sweeper: every instance runs one; each pass claims the clocks whose warning, due
//! time or escalation has come (see `service::sla::Sla::sweep`), so instances share the work
//! and a step is sent once however many run. Clocks due while every instance was down are
//! found on the first pass after a start.

use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use crate::db::Db;
use crate::service::sla::Sla;

pub async fn run(db: Db, sla: Sla, every: Duration, batch: i64, mut stop: watch::Receiver<bool>) {
    let batch = batch.max(1);
    loop {
        let started = std::time::Instant::now();
        let clocks = match sla.sweep(&db, Utc::now(), batch).await {
            Ok(o) => {
                if o.clocks > 0 {
                    metrics::counter!("sla_clocks_checked_total").increment(o.clocks as u64);
                    metrics::counter!("sla_escalations_total").increment(o.escalations as u64);
                    metrics::histogram!("sla_sweep_seconds").record(started.elapsed().as_secs_f64());
                    tracing::debug!(clocks = o.clocks, escalations = o.escalations, "SLA sweep");
                }
                o.clocks
            }
            Err(e) => {
                tracing::warn!(error = ?e, "the SLA sweep failed");
                0
            }
        };
        match crate::service::complaints::escalate(&db, Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(escalations = n, "complaint deadlines escalated"),
            Err(e) => tracing::warn!(error = ?e, "escalating complaint deadlines failed"),
        }
        // A full batch means more are waiting (a catch-up after downtime): go on at once.
        if clocks as i64 >= batch {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => break,
        }
    }
}
