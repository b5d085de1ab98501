//! Writing new orders in groups (group commit).
//!
//! `work_orders::create` validates a request and decides everything about it (entitlement,
//! repeat repair, review) with reads only; what is left is a [`Pending`] order. One task per
//! application instance writes the pending orders: whatever has queued up while it wrote the
//! last group goes into one transaction with multi-row statements, so a busy intake pays a
//! handful of statements and one commit per group instead of per order. (SQLite has a single
//! writer, and on PostgreSQL every commit waits for the WAL flush: per order, either capped
//! creates near a thousand a second.) Each caller still gets its own answer: if a group fails,
//! its orders are written again one by one, so one bad order never fails the others.

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use super::Actor;
use super::notifications::{Outgoing, compose};
use crate::db::{Db, Tx};
use crate::error::{AppError, AppResult};
use crate::store;
use crate::store::entitlement::NewDecision;
use crate::store::intake::Remembered;
use crate::store::outbox::{NewMessage, Recipients};
use crate::store::work_orders::{Event, NewEvent, WorkOrder};

/// Orders in one transaction at most (a queue longer than this is written in several).
const MAX_GROUP: usize = 64;

/// The stored entitlement decision of a new order.
pub struct Decision {
    pub policy_code: String,
    pub policy_version: i64,
    pub request_json: String,
    pub result_json: String,
    pub remedies: String,
}

/// A validated order waiting to be written: `order.id` (and `decision_id`) are filled in then.
pub struct Pending {
    pub actor: Actor,
    pub order: WorkOrder,
    pub decision: Option<Decision>,
    /// Who the creation's notifications go to (read with the customer).
    pub recipients: Recipients,
    /// `Idempotency-Key` and its scope, for API creates that sent one.
    pub idem: Option<(String, &'static str)>,
}

/// What was written: the order with its ids, and its first time-line event.
pub struct Written {
    pub order: WorkOrder,
    pub event: Event,
}

struct Job {
    pending: Pending,
    reply: oneshot::Sender<AppResult<Written>>,
}

/// Where new orders are written: by the group writer of this instance, or directly by the
/// caller (the command line, demo data and tests of single calls).
#[derive(Clone)]
pub struct Intake {
    db: Db,
    queue: Option<mpsc::Sender<Job>>,
}

impl Intake {
    /// Each order written in the caller's own transaction.
    pub fn direct(db: &Db) -> Intake {
        Intake { db: db.clone(), queue: None }
    }

    /// Starts the group writer on the current Tokio runtime; it ends when the last clone of
    /// the returned handle is dropped.
    pub fn spawn(db: &Db) -> Intake {
        let (tx, rx) = mpsc::channel(1024);
        tokio::spawn(run(db.clone(), rx));
        Intake { db: db.clone(), queue: Some(tx) }
    }

    pub async fn write(&self, pending: Pending) -> AppResult<Written> {
        let Some(queue) = &self.queue else {
            return write_one(&self.db, pending).await;
        };
        let (reply, answer) = oneshot::channel();
        let stopped = || AppError::Internal(anyhow::anyhow!("the order writer has stopped"));
        queue.send(Job { pending, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn write_one(db: &Db, p: Pending) -> AppResult<Written> {
    let mut group = vec![p];
    let mut written = write_group(db, &mut group).await?;
    Ok(written.pop().expect("one order written"))
}

async fn run(db: Db, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let (mut pending, replies): (Vec<Pending>, Vec<_>) = jobs.into_iter().map(|j| (j.pending, j.reply)).unzip();
        match write_group(&db, &mut pending).await {
            Ok(written) => {
                for (reply, w) in replies.into_iter().zip(written) {
                    let _ = reply.send(Ok(w));
                }
            }
            Err(e) if pending.len() == 1 => {
                let _ = replies.into_iter().next().expect("one reply").send(Err(e));
            }
            Err(e) => {
                tracing::debug!(orders = pending.len(), error = ?e, "group write failed; writing one by one");
                for (reply, p) in replies.into_iter().zip(pending) {
                    let _ = reply.send(write_one(&db, p).await);
                }
            }
        }
    }
}

/// Writes the orders in one transaction, filling in their ids. Nothing is written on error.
async fn write_group(db: &Db, group: &mut [Pending]) -> AppResult<Vec<Written>> {
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let backend = tx.backend();
    let decided = group.iter().filter(|p| p.decision.is_some()).count();
    let ids = store::intake::reserve(tx.conn(), group.len(), decided).await?;
    let mut decision_ids = ids.decisions.iter();
    for (p, &id) in group.iter_mut().zip(&ids.orders) {
        p.order.id = id;
        if p.decision.is_some() {
            p.order.decision_id = decision_ids.next().copied();
        }
    }
    let decisions: Vec<(i64, NewDecision<'_>)> = group
        .iter()
        .filter_map(|p| {
            let d = p.decision.as_ref()?;
            Some((
                p.order.decision_id?,
                NewDecision {
                    policy_code: &d.policy_code,
                    policy_version: d.policy_version,
                    request_json: &d.request_json,
                    result_json: &d.result_json,
                    remedies: &d.remedies,
                    source: "work_order",
                    unit_id: p.order.unit_id,
                    work_order_id: Some(p.order.id),
                    decided_by: p.actor.user_id,
                    decided_by_label: &p.actor.label,
                    decided_at: p.order.created_at,
                },
            ))
        })
        .collect();
    store::intake::insert_decisions(tx.conn(), backend, &decisions).await?;
    let orders: Vec<&WorkOrder> = group.iter().map(|p| &p.order).collect();
    store::intake::insert_orders(tx.conn(), backend, &orders).await?;
    let events: Vec<(i64, NewEvent<'_>)> = group
        .iter()
        .zip(&ids.events)
        .map(|(p, &id)| {
            (
                id,
                NewEvent {
                    order_id: p.order.id,
                    at: p.order.created_at,
                    actor_id: p.actor.user_id,
                    actor_label: &p.actor.label,
                    action: "create",
                    from_status: None,
                    to_status: Some(p.order.status.as_str()),
                    note: &p.order.channel,
                },
            )
        })
        .collect();
    store::intake::insert_events(tx.conn(), backend, &events).await?;
    audit(&mut tx, group).await?;
    notify(&mut tx, group, now).await?;
    remember(&mut tx, group, now).await?;
    tx.commit().await?;
    Ok(group
        .iter()
        .zip(&ids.events)
        .map(|(p, &event_id)| Written {
            event: Event {
                id: event_id,
                at: p.order.created_at,
                actor_id: p.actor.user_id,
                actor_label: p.actor.label.clone(),
                action: "create".into(),
                from_status: None,
                to_status: Some(p.order.status.clone()),
                note: p.order.channel.clone(),
            },
            order: p.order.clone(),
        })
        .collect())
}

async fn audit(tx: &mut Tx, group: &[Pending]) -> AppResult<()> {
    let backend = tx.backend();
    let rows: Vec<(String, String)> =
        group.iter().map(|p| (p.order.id.to_string(), serde_json::to_string(&p.order).unwrap_or_default())).collect();
    let entries: Vec<store::audit::NewEntry<'_>> = group
        .iter()
        .zip(&rows)
        .map(|(p, (id, after))| store::audit::NewEntry {
            at: p.order.created_at,
            actor_id: p.actor.user_id,
            actor_label: &p.actor.label,
            action: "create",
            entity_type: "work_order",
            entity_id: id,
            before: None,
            after: Some(after.clone()),
            ip: p.actor.ip.as_deref(),
            request_id: p.actor.request_id.as_deref(),
        })
        .collect();
    store::audit::insert_many(tx.conn(), backend, &entries).await?;
    Ok(())
}

async fn notify(tx: &mut Tx, group: &[Pending], now: DateTime<Utc>) -> AppResult<()> {
    let hooks = if group.iter().any(|p| p.recipients.active_webhooks > 0) {
        store::outbox::webhooks(tx.conn()).await?
    } else {
        vec![]
    };
    let out: Vec<Outgoing> =
        group.iter().flat_map(|p| compose("order_created", &p.order, &p.recipients, &hooks, now)).collect();
    let msgs: Vec<NewMessage<'_>> = out.iter().map(Outgoing::as_new).collect();
    let backend = tx.backend();
    store::outbox::enqueue(tx.conn(), backend, &msgs, now).await?;
    Ok(())
}

async fn remember(tx: &mut Tx, group: &[Pending], now: DateTime<Utc>) -> AppResult<()> {
    let rows: Vec<Remembered<'_>> = group
        .iter()
        .filter_map(|p| {
            let (key, scope) = p.idem.as_ref()?;
            let body = serde_json::json!({"id": p.order.id, "number": p.order.number()}).to_string();
            Some(Remembered { user_id: p.actor.user_id?, key, scope, status: 201, body })
        })
        .collect();
    let backend = tx.backend();
    store::intake::remember(tx.conn(), backend, &rows, now).await.map_err(|e| match &e {
        // A concurrent request with the same key won: this one is told to retry, and then
        // gets the stored answer.
        sqlx::Error::Database(d) if d.is_unique_violation() => AppError::Conflict("error.idempotency_in_progress"),
        _ => e.into(),
    })
}
