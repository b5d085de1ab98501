//! What registering requests reads and writes, shaped for `service::intake`'s batches: one read
//! of everything intake needs about the customer, and multi-row writes with ids reserved up
//! front, so a batch of new orders costs the same handful of statements as one order. The
//! `_raw` functions do the same on a SQLite handle taken over from sqlx (`store::raw`), where a
//! statement costs no hand-over: there each is prepared once and run per id or per row.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::audit::NewEntry;
use super::bulk::values;
use super::customers::Customer;
use super::entitlement::NewDecision;
use super::outbox::{NewMessage, Recipients};
use super::raw::{FromRaw, Raw};
use super::sla::ClockRow;
use super::work_orders::{NewEvent, PastOrder, WorkOrder};
use crate::db::{Backend, Conn};
use crate::{from_row, on_conn};

/// The customer with what intake adds from elsewhere: the first contact (the default contact
/// of a new order), the settings it consults and who the notifications go to.
pub struct IntakeCustomer {
    pub customer: Customer,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub review_kinds: Option<String>,
    pub recipients: Recipients,
    /// The region's working calendar for SLA clocks, if it has its own.
    pub region_calendar: Option<String>,
    /// The customer's service contract in force today (the newest), which may select an SLA policy.
    pub contract_code: Option<String>,
}

/// What the customers query reads besides the customer's own columns.
struct Extras {
    contact_name: Option<String>,
    contact_phone: Option<String>,
    review_kinds: Option<String>,
    company_name: Option<String>,
    active_webhooks: i64,
    region_calendar: Option<String>,
    contract_code: Option<String>,
}
from_row!(Extras { contact_name: Option<String>, contact_phone: Option<String>, review_kinds: Option<String>,
    company_name: Option<String>, active_webhooks: i64, region_calendar: Option<String>, contract_code: Option<String> });

impl IntakeCustomer {
    fn new(customer: Customer, x: Extras) -> IntakeCustomer {
        let recipients = Recipients {
            company: x.company_name,
            customer_email: customer.email.clone(),
            engineer_email: None,
            engineer_name: None,
            active_webhooks: x.active_webhooks,
        };
        IntakeCustomer {
            contact_name: x.contact_name,
            contact_phone: x.contact_phone,
            review_kinds: x.review_kinds,
            region_calendar: x.region_calendar,
            contract_code: x.contract_code,
            recipients,
            customer,
        }
    }
}

/// `$1` is today, `$2…` the `n` ids.
fn customers_sql(n: usize) -> String {
    format!(
        "SELECT {}, \
         (SELECT name FROM customer_contacts WHERE customer_id = c.id ORDER BY id LIMIT 1) AS contact_name, \
         (SELECT phone FROM customer_contacts WHERE customer_id = c.id ORDER BY id LIMIT 1) AS contact_phone, \
         (SELECT value FROM settings WHERE key = 'review_kinds') AS review_kinds, \
         (SELECT value FROM settings WHERE key = 'company_name') AS company_name, \
         (SELECT COUNT(*) FROM webhooks WHERE active) AS active_webhooks, \
         (SELECT calendar_code FROM regions WHERE code = c.region_code) AS region_calendar, \
         (SELECT code FROM service_contracts k WHERE k.customer_id = c.id AND k.valid_from <= $1 \
            AND (k.valid_to IS NULL OR k.valid_to >= $1) ORDER BY k.valid_from DESC, k.id DESC LIMIT 1) AS contract_code \
         FROM customers c WHERE c.id IN ({}) AND c.deleted_at IS NULL",
        super::customers::COLUMNS,
        super::placeholders(2, n)
    )
}

/// The customers (not deleted) among `ids`, in no particular order; `today` picks the contracts in force.
pub async fn customers(c: Conn<'_>, ids: &[i64], today: chrono::NaiveDate) -> sqlx::Result<Vec<IntakeCustomer>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = customers_sql(ids.len());
    on_conn!(c, |e| {
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(today);
        for id in ids {
            q = q.bind(id);
        }
        let mut found = vec![];
        for row in q.fetch_all(&mut *e).await? {
            found.push(IntakeCustomer::new(sqlx::FromRow::from_row(&row)?, sqlx::FromRow::from_row(&row)?));
        }
        Ok(found)
    })
}

/// [`customers`] on a SQLite handle taken over from sqlx.
/// One id at a time: one statement to prepare, whatever the group's size.
pub fn customers_raw(r: &Raw<'_>, ids: &[i64], today: chrono::NaiveDate) -> sqlx::Result<Vec<IntakeCustomer>> {
    let sql = customers_sql(1);
    let mut found = vec![];
    for id in ids {
        let q = r.query(&sql)?.bind(today).bind(id);
        found.extend(q.map(|row| Ok(IntakeCustomer::new(FromRaw::from_raw(row)?, FromRaw::from_raw(row)?)))?);
    }
    Ok(found)
}

/// The units' earlier orders that intake weighs, as (unit id, order), newest first per unit:
/// those of the last `recent_days` (the repeat check) and the completed repairs and
/// maintenance (the entitlement's history), at most 200 per unit.
pub async fn past_orders(c: Conn<'_>, unit_ids: &[i64], since: DateTime<Utc>) -> sqlx::Result<Vec<(i64, PastOrder)>> {
    if unit_ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = past_orders_sql(unit_ids.len());
    on_conn!(c, |e| {
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(since);
        for id in unit_ids {
            q = q.bind(id);
        }
        let mut found = vec![];
        for row in q.fetch_all(&mut *e).await? {
            found.push((row.try_get("unit_id")?, sqlx::FromRow::from_row(&row)?));
        }
        Ok(found)
    })
}

/// [`past_orders`] on a SQLite handle taken over from sqlx.
/// One unit at a time, as [`customers_raw`].
pub fn past_orders_raw(r: &Raw<'_>, unit_ids: &[i64], since: DateTime<Utc>) -> sqlx::Result<Vec<(i64, PastOrder)>> {
    let sql = past_orders_sql(1);
    let mut found = vec![];
    for id in unit_ids {
        let q = r.query(&sql)?.bind(since).bind(id);
        found.extend(q.map(|row| Ok((row.get("unit_id")?, FromRaw::from_raw(row)?)))?);
    }
    Ok(found)
}

/// `$1` is the start of the recent window, `$2…` the `n` units.
fn past_orders_sql(n: usize) -> String {
    format!(
        "SELECT unit_id, id, kind, status, fault_code, problem, created_at, arrived_at, completed_at FROM (\
         SELECT unit_id, id, kind, status, fault_code, problem, created_at, arrived_at, completed_at, \
         ROW_NUMBER() OVER (PARTITION BY unit_id ORDER BY id DESC) AS n FROM work_orders WHERE unit_id IN ({}) \
         AND (created_at >= $1 OR (status IN ('completed', 'closed') AND kind IN ('repair', 'maintenance')))) t \
         WHERE n <= 200 ORDER BY unit_id, id DESC",
        super::placeholders(2, n)
    )
}

/// The units (not deleted) among `ids`, on a SQLite handle taken over from sqlx.
/// One id at a time, as [`customers_raw`].
pub fn units_raw(r: &Raw<'_>, ids: &[i64]) -> sqlx::Result<Vec<super::units::Unit>> {
    let sql = super::units::many_sql(1);
    let mut found = vec![];
    for id in ids {
        found.extend(r.query(&sql)?.bind(id).fetch_all::<super::units::Unit>()?);
    }
    Ok(found)
}

/// Every webhook, on a SQLite handle taken over from sqlx.
pub fn webhooks_raw(r: &Raw<'_>) -> sqlx::Result<Vec<super::outbox::Webhook>> {
    r.query(super::outbox::WEBHOOKS)?.fetch_all()
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

/// PostgreSQL's ids ([`reserve_raw`] takes SQLite's).
pub async fn reserve(e: &mut sqlx::PgConnection, orders: usize, decisions: usize) -> sqlx::Result<Ids> {
    debug_assert!(decisions <= orders);
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

/// SQLite's ids, on a handle taken over from sqlx.
pub fn reserve_raw(r: &Raw<'_>, orders: usize, decisions: usize) -> sqlx::Result<Ids> {
    debug_assert!(decisions <= orders);
    let tops = r.query(SQLITE_TOPS)?.map(|row| Ok((row.get("o")?, row.get("e")?, row.get("d")?)))?;
    let (o, ev, d): (i64, i64, i64) = tops.into_iter().next().ok_or(sqlx::Error::RowNotFound)?;
    let after = |top: i64, n: usize| (top + 1..=top + n as i64).collect();
    Ok(Ids { orders: after(o, orders), events: after(ev, orders), decisions: after(d, decisions) })
}

/// The highest ids ever used for orders (`o`), events (`e`) and decisions (`d`) on SQLite.
const SQLITE_TOPS: &str = "SELECT \
     MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'work_orders'), 0), \
         COALESCE((SELECT MAX(id) FROM work_orders), 0)) AS o, \
     MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'work_order_events'), 0), \
         COALESCE((SELECT MAX(id) FROM work_order_events), 0)) AS e, \
     MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'entitlement_decisions'), 0), \
         COALESCE((SELECT MAX(id) FROM entitlement_decisions), 0)) AS d";

/// Everything a group of new orders writes after the ids are reserved.
#[derive(Clone, Copy)]
pub struct Group<'a> {
    pub decisions: &'a [(i64, NewDecision<'a>)],
    pub orders: &'a [&'a WorkOrder],
    pub events: &'a [(i64, NewEvent<'a>)],
    pub audit: &'a [NewEntry<'a>],
    pub messages: &'a [NewMessage<'a>],
    pub remembered: &'a [Remembered<'a>],
    pub clocks: &'a [&'a ClockRow],
}

/// An answer stored for an `Idempotency-Key`.
pub struct Remembered<'a> {
    pub user_id: i64,
    pub key: &'a str,
    pub scope: &'a str,
    pub status: i32,
    pub body: String,
}

/// The INSERT of `n` stored answers (bind them with [`bind_remembered`]).
pub(crate) fn remembered_sql(backend: Backend, n: usize) -> String {
    format!(
        "INSERT INTO idempotency_keys (user_id, key, scope, status, body, created_at) VALUES {}",
        values(backend, n, 6, 1, "")
    )
}

/// Binds stored answers to a query made from [`remembered_sql`].
macro_rules! bind_remembered {
    ($q:expr, $rows:expr, $now:expr) => {{
        let mut q = $q;
        for r in $rows {
            q = q.bind(r.user_id).bind(r.key).bind(r.scope).bind(r.status).bind(&r.body).bind($now);
        }
        q
    }};
}
pub(crate) use bind_remembered;

/// Orders per group at most, so each statement stays within the bound-parameter limits.
pub const MAX_GROUP: usize = 64;

/// Binds the rows of statement `$i` of [`group_sqls`] for the group `$g`.
macro_rules! bind_group {
    ($q:expr, $i:expr, $g:expr, $now:expr) => {{
        let g = $g;
        let now = $now;
        let q = $q;
        match $i {
            0 => {
                let mut q = q;
                for (id, d) in g.decisions {
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
                q
            }
            1 => {
                let mut q = q;
                for o in g.orders {
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
                        .bind(o.updated_at)
                        .bind(o.sla_due_at)
                        .bind(o.sla_warn_at);
                }
                q
            }
            2 => {
                let mut q = q;
                for (id, ev) in g.events {
                    q = super::work_orders::bind_event!(q.bind(id), ev);
                }
                q
            }
            3 => super::audit::bind_entries!(q, g.audit),
            4 => super::outbox::bind_messages!(q, g.messages, now),
            6 => super::sla::bind_clocks!(q, g.clocks.iter().copied()),
            _ => bind_remembered!(q, g.remembered, now),
        }
    }};
}

/// Writes the group inside the caller's transaction, a multi-row statement per table (on
/// SQLite sent as one multi-statement query: one hand-over to the connection's thread). Fails
/// on an idempotency key already stored. The group writer uses it on PostgreSQL, and
/// [`insert_raw`] on SQLite.
pub async fn insert(c: Conn<'_>, backend: Backend, g: &Group<'_>, now: DateTime<Utc>) -> sqlx::Result<()> {
    let sqls = group_sqls(backend, g);
    macro_rules! bind {
        ($q:expr, $i:expr) => {
            bind_group!($q, $i, g, now)
        };
    }
    super::bulk::execute_all!(c, sqls, bind)
}

/// [`insert`] on a SQLite handle taken over from sqlx: one row at a time, each table's statement
/// prepared once. With no hand-over between statements, the multi-row statements would only
/// cost more: SQLite parses each new shape (a tenth of the writer's time in a profile).
pub fn insert_raw(r: &Raw<'_>, g: &Group<'_>, now: DateTime<Utc>) -> sqlx::Result<()> {
    let first = |n: usize| ..n.min(1);
    // The single-row statement of every table the group writes to.
    let sqls = group_sqls(
        Backend::Sqlite,
        &Group {
            decisions: &g.decisions[first(g.decisions.len())],
            orders: &g.orders[first(g.orders.len())],
            events: &g.events[first(g.events.len())],
            audit: &g.audit[first(g.audit.len())],
            messages: &g.messages[first(g.messages.len())],
            remembered: &g.remembered[first(g.remembered.len())],
            clocks: &g.clocks[first(g.clocks.len())],
        },
    );
    let none =
        Group { decisions: &[], orders: &[], events: &[], audit: &[], messages: &[], remembered: &[], clocks: &[] };
    for (i, sql) in sqls.iter().enumerate() {
        let Some(sql) = sql else { continue };
        let rows = [
            g.decisions.len(),
            g.orders.len(),
            g.events.len(),
            g.audit.len(),
            g.messages.len(),
            g.remembered.len(),
            g.clocks.len(),
        ][i];
        for k in 0..rows {
            // The group with only row `k` of table `i`.
            let one = match i {
                0 => Group { decisions: &g.decisions[k..=k], ..none },
                1 => Group { orders: &g.orders[k..=k], ..none },
                2 => Group { events: &g.events[k..=k], ..none },
                3 => Group { audit: &g.audit[k..=k], ..none },
                4 => Group { messages: &g.messages[k..=k], ..none },
                5 => Group { remembered: &g.remembered[k..=k], ..none },
                _ => Group { clocks: &g.clocks[k..=k], ..none },
            };
            bind_group!(r.query(sql)?, i, &one, now).execute()?;
        }
    }
    Ok(())
}

/// The statements that write a group, `None` where it has no rows (bound by [`bind_group!`]).
fn group_sqls(backend: Backend, g: &Group<'_>) -> [Option<String>; 7] {
    assert!(
        g.orders.len() <= MAX_GROUP && g.messages.len() <= 8 * MAX_GROUP && g.clocks.len() <= 16 * MAX_GROUP,
        "group too large"
    );
    let n = |len: usize, cols: usize| (len > 0).then(|| values(backend, len, cols, 1, ""));
    [
        n(g.decisions.len(), 12).map(|v| {
            format!(
                "INSERT INTO entitlement_decisions (id, policy_code, policy_version, request_json, result_json, \
                 remedies, source, unit_id, work_order_id, decided_by, decided_by_label, decided_at) VALUES {v}"
            )
        }),
        n(g.orders.len(), 26).map(|v| {
            format!(
                "INSERT INTO work_orders (id, status, channel, kind, priority, customer_id, unit_id, region_code, \
                 category_code, contact_name, contact_phone, address, problem, requested_at, entitlement, \
                 entitlement_note, decision_id, repeat_of, review_reason, public_token, created_by, version, \
                 created_at, updated_at, sla_due_at, sla_warn_at) VALUES {v}"
            )
        }),
        n(g.events.len(), 9)
            .map(|v| format!("INSERT INTO work_order_events (id, {}) VALUES {v}", super::work_orders::EVENT_COLUMNS)),
        (!g.audit.is_empty()).then(|| super::audit::insert_sql(backend, g.audit.len())),
        (!g.messages.is_empty()).then(|| super::outbox::insert_sql(backend, g.messages.len())),
        (!g.remembered.is_empty()).then(|| remembered_sql(backend, g.remembered.len())),
        (!g.clocks.is_empty()).then(|| super::sla::insert_clocks_sql(backend, g.clocks.len())),
    ]
}
