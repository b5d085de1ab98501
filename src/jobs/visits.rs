//! The visit planner: every instance runs one. Each pass plans the days between the stored
//! watermark and the look-ahead (`service::care::catch_up`); visits already stored are
//! skipped by their key, so instances racing on the same days write each visit once, and
//! days missed while every instance was down are planned on the first pass after a start.

use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use crate::db::Db;

pub async fn run(db: Db, every: Duration, lookahead_days: i64, mut stop: watch::Receiver<bool>) {
    if every.is_zero() {
        return;
    }
    loop {
        let started = std::time::Instant::now();
        // Each step may take minutes at scale (a first pass after a long downtime); a stop
        // drops it between statements, its open transaction rolling back, and the next start
        // takes up where the stored watermark and marks say.
        let Some(planned) =
            until_stopped(&mut stop, crate::service::care::catch_up(&db, Utc::now(), lookahead_days)).await
        else {
            break;
        };
        match planned {
            Ok(Some(o)) => {
                metrics::counter!("visit_tasks_planned_total").increment(o.added);
                tracing::info!(
                    customers = o.customers,
                    added = o.added,
                    seconds = started.elapsed().as_secs_f64(),
                    "visits planned"
                );
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = ?e, "planning follow-up visits failed"),
        }
        let Some(mailed) = until_stopped(&mut stop, crate::service::care::notify_service_due(&db, Utc::now())).await
        else {
            break;
        };
        match mailed {
            Ok(0) => {}
            Ok(n) => tracing::info!(sent = n, "maintenance reminders mailed"),
            Err(e) => tracing::warn!(error = ?e, "mailing maintenance reminders failed"),
        }
        // Improvement plans of the staff appraisal that became overdue: reminded once each.
        match crate::service::appraisal::remind_overdue_plans(&db, Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(plans = n, "overdue improvement plans reminded"),
            Err(e) => tracing::warn!(error = ?e, "reminding overdue improvement plans failed"),
        }
        // The hourly pass also watches key parts' failures (R8.2); an alert happens once per
        // part and month whichever instance finds it.
        match crate::service::stock::check_failures(&db, Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(alerts = n, "key-part failure alerts raised"),
            Err(e) => tracing::warn!(error = ?e, "checking key-part failures failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => break,
        }
    }
}

/// Runs `step` unless the server stops first (None).
async fn until_stopped<T>(stop: &mut watch::Receiver<bool>, step: impl std::future::Future<Output = T>) -> Option<T> {
    if *stop.borrow() {
        return None;
    }
    tokio::select! {
        out = step => Some(out),
        _ = stop.changed() => None,
    }
}
