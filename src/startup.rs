//! Building the application, serving it, background work and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::db::{Db, redact};
use crate::http::{AppState, router};

/// Opens and migrates the database. Errors end start-up with a message that says what to do.
pub async fn open_database(config: &Config) -> anyhow::Result<Db> {
    tracing::info!(database = %redact(&config.database_url), "opening database");
    let db = Db::connect(&config.database_url, config.sqlite_sync).await?;
    let applied = db.migrate().await?;
    if !applied.is_empty() {
        tracing::info!(?applied, "migrations applied");
    }
    crate::service::care::seed_rules(&db)
        .await
        .map_err(|e| anyhow::anyhow!("writing the built-in visit rules: {e:?}"))?;
    crate::service::complaints::seed_policy(&db)
        .await
        .map_err(|e| anyhow::anyhow!("writing the built-in complaint policy: {e:?}"))?;
    Ok(db)
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish, stops background
/// work and closes the database (so SQLite checkpoints its WAL).
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let jobs = tokio::spawn(background(state.db.clone(), stop_rx.clone()));
    let sender = std::sync::Arc::new(crate::jobs::outbox::Sender::new(&state.config)?);
    let poll = Duration::from_millis(state.config.outbox_poll_ms);
    let outbox = tokio::spawn(crate::jobs::outbox::run(state.db.clone(), sender, poll, stop_rx.clone()));
    let sweep = Duration::from_millis(state.config.sla_sweep_ms);
    let batch = state.config.sla_sweep_batch;
    let sla = tokio::spawn(crate::jobs::sla::run(state.db.clone(), state.sla.clone(), sweep, batch, stop_rx.clone()));
    let visits = tokio::spawn(crate::jobs::visits::run(
        state.db.clone(),
        Duration::from_millis(state.config.visit_plan_ms),
        state.config.visit_lookahead_days,
        stop_rx.clone(),
    ));
    let checkpoint = tokio::spawn(crate::jobs::checkpoint::run(state.db.clone(), stop_rx.clone()));
    let idle = tokio::spawn(crate::jobs::idle::run(
        state.db.clone(),
        state.requests.clone(),
        crate::jobs::idle::QUIET,
        stop_rx.clone(),
    ));
    let dashboard =
        tokio::spawn(crate::jobs::dashboard::run(state.db.clone(), crate::service::dashboard::REFRESH_EVERY, stop_rx));
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await.context("the server stopped with an error")?;
    let _ = stop_tx.send(true);
    let _ = jobs.await;
    let _ = outbox.await;
    let _ = sla.await;
    let _ = checkpoint.await;
    let _ = idle.await;
    let _ = visits.await;
    let _ = dashboard.await;
    state.db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Housekeeping every instance may do at once (all of it idempotent).
async fn background(db: Db, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = crate::service::auth::purge_expired(&db).await {
                    tracing::warn!(error = ?e, "purging expired sessions failed");
                }
            }
            _ = stop.changed() => break,
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
