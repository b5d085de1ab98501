//! What registering requests reads and writes, shaped for `service::intake`'s batches: one read
//! of everything intake needs about the customer, and multi-row writes with ids reserved up
//! front, so a batch of new orders costs the same handful of statements as one order.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::bulk::{rows_per_statement, values};
use super::customers::Customer;
use super::entitlement::NewDecision;
use super::outbox::Recipients;
use super::work_orders::{NewEvent, WorkOrder};
use crate::db::{Backend, Conn};
use crate::on_conn;

/// The customer with what intake adds from elsewhere: the first contact (the default contact
/// of a new order), the settings it consults and who the notifications go to.
pub struct IntakeCustomer {
    pub customer: Customer,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub review_kinds: Option<String>,
    pub recipients: Recipients,
}

pub async fn customer(c: Conn<'_>, id: i64) -> sqlx::Result<Option<IntakeCustomer>> {
    let sql = format!(
        "SELECT {}, \
         (SELECT name FROM customer_contacts WHERE customer_id = c.id ORDER BY id LIMIT 1) AS contact_name, \
         (SELECT phone FROM customer_contacts WHERE customer_id = c.id ORDER BY id LIMIT 1) AS contact_phone, \
         (SELECT value FROM settings WHERE key = 'review_kinds') AS review_kinds, \
         (SELECT value FROM settings WHERE key = 'company_name') AS company_name, \
         (SELECT COUNT(*) FROM webhooks WHERE active) AS active_webhooks \
         FROM customers c WHERE c.id = $1 AND c.deleted_at IS NULL",
        super::customers::COLUMNS
    );
    on_conn!(c, |e| {
        let Some(row) = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await? else {
            return Ok(None);
        };
        let customer: Customer = sqlx::FromRow::from_row(&row)?;
        let recipients = Recipients {
            company: row.try_get("company_name")?,
            customer_email: customer.email.clone(),
            engineer_email: None,
            engineer_name: None,
            active_webhooks: row.try_get("active_webhooks")?,
        };
        Ok(Some(IntakeCustomer {
            contact_name: row.try_get("contact_name")?,
            contact_phone: row.try_get("contact_phone")?,
            review_kinds: row.try_get("review_kinds")?,
            recipients,
            customer,
        }))
    })
}

/// Ids for `orders` new orders (and their creation events) and `decisions` decisions, taken
/// inside the caller's write transaction. PostgreSQL draws them from the identity sequences,
/// so other instances never collide; SQLite has one writer at a time (`BEGIN IMMEDIATE`), so
/// the ids after the highest one ever used are free.
pub struct Ids {
    pub orders: Vec<i64>,
    pub events: Vec<i64>,
    pub decisions: Vec<i64>,
}

pub async fn reserve(c: Conn<'_>, orders: usize, decisions: usize) -> sqlx::Result<Ids> {
    debug_assert!(decisions <= orders);
    match c {
        Conn::Pg(e) => {
            let rows: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(
                "SELECT nextval(pg_get_serial_sequence('work_orders', 'id')), \
                 nextval(pg_get_serial_sequence('work_order_events', 'id')), \
                 CASE WHEN g <= $2 THEN nextval(pg_get_serial_sequence('entitlement_decisions', 'id')) END \
                 FROM generate_series(1, $1::BIGINT) g ORDER BY g",
            )
            .bind(orders as i64)
            .bind(decisions as i64)
            .fetch_all(&mut *e)
            .await?;
            Ok(Ids {
                orders: rows.iter().map(|r| r.0).collect(),
                events: rows.iter().map(|r| r.1).collect(),
                decisions: rows.iter().filter_map(|r| r.2).collect(),
            })
        }
        Conn::Sqlite(e) => {
            let top = |t: &str| {
                format!(
                    "MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{t}'), 0), \
                     COALESCE((SELECT MAX(id) FROM {t}), 0))"
                )
            };
            let sql = format!(
                "SELECT {}, {}, {}",
                top("work_orders"),
                top("work_order_events"),
                top("entitlement_decisions")
            );
            let (o, ev, d): (i64, i64, i64) = sqlx::query_as(AssertSqlSafe(sql)).fetch_one(&mut *e).await?;
            let after = |top: i64, n: usize| (top + 1..=top + n as i64).collect();
            Ok(Ids { orders: after(o, orders), events: after(ev, orders), decisions: after(d, decisions) })
        }
    }
}

pub async fn insert_decisions(mut c: Conn<'_>, backend: Backend, rows: &[(i64, NewDecision<'_>)]) -> sqlx::Result<()> {
    const COLS: usize = 12;
    for chunk in rows.chunks(rows_per_statement(backend, COLS)) {
        let sql = format!(
            "INSERT INTO entitlement_decisions (id, policy_code, policy_version, request_json, result_json, remedies, \
             source, unit_id, work_order_id, decided_by, decided_by_label, decided_at) VALUES {}",
            values(backend, chunk.len(), COLS, 1, "")
        );
        on_conn!(&mut c, |e| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (id, d) in chunk {
                q = q
                    .bind(id)
                    .bind(d.policy_code)
                    .bind(d.policy_version)
                    .bind(d.request_json)
                    .bind(d.result_json)
                    .bind(d.remedies)
                    .bind(d.source)
                    .bind(d.unit_id)
                    .bind(d.work_order_id)
                    .bind(d.decided_by)
                    .bind(d.decided_by_label)
                    .bind(d.decided_at);
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// New orders, each with its id already set: the columns intake fills (the rest keep their
/// defaults until the order moves).
pub async fn insert_orders(mut c: Conn<'_>, backend: Backend, rows: &[&WorkOrder]) -> sqlx::Result<()> {
    const COLS: usize = 24;
    for chunk in rows.chunks(rows_per_statement(backend, COLS)) {
        let sql = format!(
            "INSERT INTO work_orders (id, status, channel, kind, priority, customer_id, unit_id, region_code, \
             category_code, contact_name, contact_phone, address, problem, requested_at, entitlement, \
             entitlement_note, decision_id, repeat_of, review_reason, public_token, created_by, version, \
             created_at, updated_at) VALUES {}",
            values(backend, chunk.len(), COLS, 1, "")
        );
        on_conn!(&mut c, |e| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for o in chunk {
                q = q
                    .bind(o.id)
                    .bind(&o.status)
                    .bind(&o.channel)
                    .bind(&o.kind)
                    .bind(&o.priority)
                    .bind(o.customer_id)
                    .bind(o.unit_id)
                    .bind(&o.region_code)
                    .bind(&o.category_code)
                    .bind(&o.contact_name)
                    .bind(&o.contact_phone)
                    .bind(&o.address)
                    .bind(&o.problem)
                    .bind(o.requested_at)
                    .bind(&o.entitlement)
                    .bind(&o.entitlement_note)
                    .bind(o.decision_id)
                    .bind(o.repeat_of)
                    .bind(&o.review_reason)
                    .bind(&o.public_token)
                    .bind(o.created_by)
                    .bind(o.version)
                    .bind(o.created_at)
                    .bind(o.updated_at);
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }
    Ok(())
}

pub async fn insert_events(mut c: Conn<'_>, backend: Backend, rows: &[(i64, NewEvent<'_>)]) -> sqlx::Result<()> {
    const COLS: usize = 9;
    for chunk in rows.chunks(rows_per_statement(backend, COLS)) {
        let sql = format!(
            "INSERT INTO work_order_events (id, order_id, at, actor_id, actor_label, action, from_status, to_status, \
             note) VALUES {}",
            values(backend, chunk.len(), COLS, 1, "")
        );
        on_conn!(&mut c, |e| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (id, ev) in chunk {
                q = q
                    .bind(id)
                    .bind(ev.order_id)
                    .bind(ev.at)
                    .bind(ev.actor_id)
                    .bind(ev.actor_label)
                    .bind(ev.action)
                    .bind(ev.from_status)
                    .bind(ev.to_status)
                    .bind(ev.note);
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// An answer stored for an `Idempotency-Key`.
pub struct Remembered<'a> {
    pub user_id: i64,
    pub key: &'a str,
    pub scope: &'a str,
    pub status: i32,
    pub body: String,
}

/// Fails on a key already stored (the caller tells that request to retry).
pub async fn remember(
    mut c: Conn<'_>,
    backend: Backend,
    rows: &[Remembered<'_>],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    const COLS: usize = 6;
    for chunk in rows.chunks(rows_per_statement(backend, COLS)) {
        let sql = format!(
            "INSERT INTO idempotency_keys (user_id, key, scope, status, body, created_at) VALUES {}",
            values(backend, chunk.len(), COLS, 1, "")
        );
        on_conn!(&mut c, |e| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for r in chunk {
                q = q.bind(r.user_id).bind(r.key).bind(r.scope).bind(r.status).bind(&r.body).bind(now);
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }
    Ok(())
}
