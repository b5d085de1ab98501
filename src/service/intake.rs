//! Writing new orders in groups (group commit).
//!
//! `work_orders::create` checks a request's fields in the request's task; the rest happens in
//! a writer: it takes whatever requests have queued up, reads their customers, units and
//! recent history in three queries, decides each order (`work_orders::prepare`: entitlement,
//! repeat repair, review) and writes them all in one transaction with multi-row statements, so
//! a busy intake pays a handful of statements and one commit per group instead of per order.
//! On SQLite the writer runs those statements on its own thread, on the writer connection's
//! handle taken over from sqlx (`store::raw`).
//! (SQLite has a single writer, and on PostgreSQL every commit waits for the WAL flush: one
//! order per transaction capped creates near a thousand a second.) Each caller still gets its
//! own answer: a request the archive contradicts gets its own error, and if a group fails as a
//! whole its orders are written again one by one, so one bad order never fails the others.

use chrono::Utc;
use std::sync::Arc;

use sqlx::PgConnection;
use tokio::sync::{Mutex, mpsc, oneshot};

use super::Actor;
use super::notifications::{Outgoing, compose};
use super::sla::Sla;
use super::work_orders::{Facts, Request};
use crate::db::{Backend, Conn, Db, ReadConn};
use crate::error::{AppError, AppResult};
use crate::store;
use crate::store::entitlement::NewDecision;
use crate::store::intake::Remembered;
use crate::store::outbox::{NewMessage, Recipients};
use crate::store::raw::Raw;
use crate::store::work_orders::{Event, NewEvent, WorkOrder};

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
    /// The order's SLA clocks (`order_id` filled in with the order's id).
    pub clocks: Vec<store::sla::ClockRow>,
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
    pub clocks: Vec<store::sla::ClockRow>,
}

struct Job {
    request: Request,
    reply: oneshot::Sender<AppResult<Written>>,
}

/// Where new orders are written: by the group writer of this instance, or directly by the
/// caller (the command line, demo data and tests of single calls).
#[derive(Clone)]
pub struct Intake {
    db: Db,
    sla: Sla,
    queue: Option<mpsc::Sender<Job>>,
}

impl Intake {
    /// Each order written in the caller's own transaction.
    pub fn direct(db: &Db, sla: &Sla) -> Intake {
        Intake { db: db.clone(), sla: sla.clone(), queue: None }
    }

    /// Starts the group writer; it ends when the last clone of the returned handle is dropped.
    ///
    /// On SQLite it runs on a thread of its own and runs its statements there itself, on the
    /// writer connection's handle taken over from sqlx ([`Writer`]), so its work is not queued
    /// behind the requests being served. PostgreSQL connections belong to the runtime that
    /// opened them, so there the writers stay on the current runtime; and as PostgreSQL runs
    /// transactions side by side, several writers take groups from the queue at once.
    pub fn spawn(db: &Db, sla: &Sla) -> Intake {
        let (tx, rx) = mpsc::channel(1024);
        let rx = Arc::new(Mutex::new(rx));
        let writer = db.clone();
        let writer_sla = sla.clone();
        match db.backend() {
            Backend::Sqlite => {
                std::thread::Builder::new()
                    .name("order-writer".into())
                    .spawn(move || match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                        Ok(rt) => rt.block_on(run(writer, writer_sla, rx)),
                        Err(e) => tracing::error!(error = %e, "cannot start the order writer"),
                    })
                    .expect("the order writer's thread starts");
            }
            Backend::Postgres => {
                for _ in 0..PG_WRITERS {
                    tokio::spawn(run(writer.clone(), writer_sla.clone(), rx.clone()));
                }
            }
        }
        Intake { db: db.clone(), sla: sla.clone(), queue: Some(tx) }
    }

    pub fn sla(&self) -> &Sla {
        &self.sla
    }

    pub async fn write(&self, request: Request) -> AppResult<Written> {
        let Some(queue) = &self.queue else {
            return write_one(&self.db, &self.sla, &request).await;
        };
        let (reply, answer) = oneshot::channel();
        let stopped = || AppError::Internal(anyhow::anyhow!("the order writer has stopped"));
        queue.send(Job { request, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn write_one(db: &Db, sla: &Sla, request: &Request) -> AppResult<Written> {
    let mut conn = db.hold_writer().await?;
    let mut w = Writer::take(&mut conn).await?;
    write_group(db, sla, &mut w, std::slice::from_ref(request)).await?.pop().expect("one answer")
}

/// The writer's connection while it holds it. On SQLite its handle is taken over from sqlx, so
/// a group's statements run on the writer's own thread (`store::raw`) instead of each being
/// handed to the connection's thread and back; PostgreSQL keeps the pooled connection.
enum Writer<'c> {
    Raw(Raw<'c>),
    Pg(&'c mut PgConnection),
}

impl<'c> Writer<'c> {
    async fn take(conn: &'c mut ReadConn) -> sqlx::Result<Writer<'c>> {
        Ok(match conn {
            ReadConn::Sqlite(c) => Writer::Raw(Raw::lock(c).await?),
            ReadConn::Pg(c) => Writer::Pg(c),
        })
    }

    /// A statement without parameters or rows (`BEGIN`, `COMMIT`, `ROLLBACK`).
    async fn run(&mut self, sql: &'static str) -> sqlx::Result<()> {
        match self {
            Writer::Raw(r) => r.batch(sql),
            Writer::Pg(c) => sqlx::query(sql).execute(&mut **c).await.map(|_| ()),
        }
    }
}

/// The writer holds its connection for at most this long while requests keep coming, then
/// lets the other writers (order changes, the outbox) have it.
const HOLD: std::time::Duration = std::time::Duration::from_millis(20);

/// Group writers per instance on PostgreSQL (each with a connection of the pool's while busy).
const PG_WRITERS: usize = 4;

/// Takes the next group from the queue: the first request waits, the rest are whatever has
/// queued up behind it.
async fn next_group(rx: &Mutex<mpsc::Receiver<Job>>, first: Option<Job>) -> Option<Vec<Job>> {
    let mut rx = rx.lock().await;
    let head = match first {
        Some(j) => j,
        None => rx.recv().await?,
    };
    let mut jobs = vec![head];
    while jobs.len() < store::intake::MAX_GROUP {
        match rx.try_recv() {
            Ok(j) => jobs.push(j),
            Err(_) => break,
        }
    }
    Some(jobs)
}

async fn run(db: Db, sla: Sla, rx: Arc<Mutex<mpsc::Receiver<Job>>>) {
    while let Some(jobs) = next_group(&rx, None).await {
        let mut conn = match db.hold_writer().await {
            Ok(c) => c,
            Err(e) => {
                fail(jobs, &e);
                continue;
            }
        };
        let mut w = match Writer::take(&mut conn).await {
            Ok(w) => w,
            Err(e) => {
                fail(jobs, &e);
                continue;
            }
        };
        // Groups follow each other on the held connection while requests keep arriving: no
        // pool hand-over (and its ping) between them.
        let held = std::time::Instant::now();
        write_jobs(&db, &sla, &mut w, jobs).await;
        while held.elapsed() < HOLD {
            // Another writer waiting at the queue gets what comes next; this one lets its
            // connection go rather than wait with it.
            let more = match rx.try_lock() {
                Ok(mut q) => q.try_recv().ok(),
                Err(_) => None,
            };
            let Some(first) = more else { break };
            let Some(jobs) = next_group(&rx, Some(first)).await else { break };
            write_jobs(&db, &sla, &mut w, jobs).await;
        }
    }
}

/// Answers every job of a group the writer could not start on.
fn fail(jobs: Vec<Job>, e: &sqlx::Error) {
    let msg = format!("no connection for the order writer: {e}");
    for j in jobs {
        let _ = j.reply.send(Err(AppError::Internal(anyhow::anyhow!("{msg}"))));
    }
}

async fn write_jobs(db: &Db, sla: &Sla, w: &mut Writer<'_>, jobs: Vec<Job>) {
    metrics::histogram!("intake_group_orders").record(jobs.len() as f64);
    let (requests, replies): (Vec<Request>, Vec<_>) = jobs.into_iter().map(|j| (j.request, j.reply)).unzip();
    match write_group(db, sla, w, &requests).await {
        Ok(answers) => {
            for (reply, a) in replies.into_iter().zip(answers) {
                let _ = reply.send(a);
            }
        }
        Err(e) if requests.len() == 1 => {
            let _ = replies.into_iter().next().expect("one reply").send(Err(e));
        }
        Err(e) => {
            tracing::debug!(orders = requests.len(), error = ?e, "group write failed; writing one by one");
            for (reply, r) in replies.into_iter().zip(&requests) {
                let one = write_group(db, sla, w, std::slice::from_ref(r)).await;
                let _ = reply.send(one.and_then(|mut a| a.pop().expect("one answer")));
            }
        }
    }
}

/// Reads what the requests need from the archive, decides each (a request the archive
/// contradicts gets its own error) and writes the others, all in one transaction on `w`.
/// The outer error means nothing was written.
async fn write_group(
    db: &Db,
    sla: &Sla,
    w: &mut Writer<'_>,
    requests: &[Request],
) -> AppResult<Vec<AppResult<Written>>> {
    let begin = match w {
        Writer::Raw(_) => "BEGIN IMMEDIATE",
        Writer::Pg(_) => "BEGIN",
    };
    w.run(begin).await?;
    let result = decide_and_write(db, sla, w, requests).await;
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    match w.run(end).await {
        Ok(_) => result,
        // A failed COMMIT leaves nothing written; a failed ROLLBACK changes nothing either.
        Err(e) if result.is_ok() => {
            let _ = w.run("ROLLBACK").await;
            Err(e.into())
        }
        Err(_) => result,
    }
}

async fn decide_and_write(
    db: &Db,
    sla: &Sla,
    w: &mut Writer<'_>,
    requests: &[Request],
) -> AppResult<Vec<AppResult<Written>>> {
    let mut customer_ids: Vec<i64> = requests.iter().map(|r| r.customer_id).collect();
    customer_ids.sort_unstable();
    customer_ids.dedup();
    let mut unit_ids: Vec<i64> = requests.iter().filter_map(|r| r.unit_id).collect();
    unit_ids.sort_unstable();
    unit_ids.dedup();
    let today = super::work_orders::today();
    // The repeat check looks back REPEAT_WINDOW_DAYS; a day more covers its rounding.
    let since = Utc::now() - chrono::Duration::days(rules::work_order::REPEAT_WINDOW_DAYS + 1);
    let (customers, units, past) = match w {
        Writer::Raw(r) => (
            store::intake::customers_raw(r, &customer_ids, today)?,
            store::intake::units_raw(r, &unit_ids)?,
            store::intake::past_orders_raw(r, &unit_ids, since)?,
        ),
        Writer::Pg(c) => (
            store::intake::customers(Conn::Pg(c), &customer_ids, today).await?,
            store::units::get_many(Conn::Pg(c), &unit_ids).await?,
            store::intake::past_orders(Conn::Pg(c), &unit_ids, since).await?,
        ),
    };
    let mut answers: Vec<Option<AppResult<Written>>> = requests.iter().map(|_| None).collect();
    let mut group = vec![];
    for (i, r) in requests.iter().enumerate() {
        let facts = Facts {
            customer: customers.iter().find(|c| c.customer.id == r.customer_id),
            unit: r.unit_id.and_then(|id| units.iter().find(|u| u.id == id)),
            past: past.iter().filter(|(u, _)| Some(*u) == r.unit_id).map(|(_, o)| o).collect(),
        };
        match super::work_orders::prepare(db, sla, r, facts).await {
            Ok(p) => group.push((i, p)),
            Err(e) => answers[i] = Some(Err(e)),
        }
    }
    if !group.is_empty() {
        let (at, mut pending): (Vec<usize>, Vec<Pending>) = group.into_iter().unzip();
        let written = write_pending(w, &mut pending).await?;
        for (i, w) in at.into_iter().zip(written) {
            answers[i] = Some(Ok(w));
        }
    }
    Ok(answers.into_iter().map(|a| a.expect("every request answered")).collect())
}

/// Writes the orders inside the open transaction on `w`, filling in their ids.
async fn write_pending(w: &mut Writer<'_>, group: &mut [Pending]) -> AppResult<Vec<Written>> {
    let now = Utc::now();
    let decided = group.iter().filter(|p| p.decision.is_some()).count();
    let ids = match w {
        Writer::Raw(r) => store::intake::reserve_raw(r, group.len(), decided)?,
        Writer::Pg(c) => store::intake::reserve(c, group.len(), decided).await?,
    };
    let mut decision_ids = ids.decisions.iter();
    for (p, &id) in group.iter_mut().zip(&ids.orders) {
        p.order.id = id;
        for k in &mut p.clocks {
            k.order_id = id;
        }
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
    let orders: Vec<&WorkOrder> = group.iter().map(|p| &p.order).collect();
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
    let afters: Vec<(String, String)> =
        group.iter().map(|p| (p.order.id.to_string(), serde_json::to_string(&p.order).unwrap_or_default())).collect();
    let audit: Vec<store::audit::NewEntry<'_>> = group
        .iter()
        .zip(&afters)
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
    let hooks = match w {
        _ if group.iter().all(|p| p.recipients.active_webhooks == 0) => vec![],
        Writer::Raw(r) => store::intake::webhooks_raw(r)?,
        Writer::Pg(c) => store::outbox::webhooks(Conn::Pg(c)).await?,
    };
    let out: Vec<Outgoing> =
        group.iter().flat_map(|p| compose("order_created", &p.order, &p.recipients, &hooks, now)).collect();
    let messages: Vec<NewMessage<'_>> = out.iter().map(Outgoing::as_new).collect();
    let remembered: Vec<Remembered<'_>> = group
        .iter()
        .filter_map(|p| {
            let (key, scope) = p.idem.as_ref()?;
            let body = serde_json::json!({"id": p.order.id, "number": p.order.number()}).to_string();
            Some(Remembered { user_id: p.actor.user_id?, key, scope, status: 201, body })
        })
        .collect();
    let clocks: Vec<&store::sla::ClockRow> = group.iter().flat_map(|p| &p.clocks).collect();
    let g = store::intake::Group {
        clocks: &clocks,
        decisions: &decisions,
        orders: &orders,
        events: &events,
        audit: &audit,
        messages: &messages,
        remembered: &remembered,
    };
    let inserted = match w {
        Writer::Raw(r) => store::intake::insert_raw(r, &g, now),
        Writer::Pg(c) => store::intake::insert(Conn::Pg(c), Backend::Postgres, &g, now).await,
    };
    inserted.map_err(|e| super::stored_answer_error(e, !remembered.is_empty()))?;
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
            clocks: p.clocks.clone(),
        })
        .collect())
}
