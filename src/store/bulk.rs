//! Bulk writes for imports and the synthetic data generator (`aftersales gen`): multi-row
//! INSERTs with ids chosen up front, so one statement carries hundreds of rows and nothing is
//! read back. (One statement per row costs two thread switches each on SQLite, which made a
//! 100,000-row import spend most of its time waiting.)

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::AssertSqlSafe;

use crate::db::{Backend, Conn};
use crate::on_conn;
use crate::store::customers::{Contact, CustomerData};
use crate::store::units::UnitData;

/// A customer with everything written alongside it (as `service::archive` writes one).
pub struct NewCustomer {
    pub id: i64,
    pub data: CustomerData,
    pub contacts: Vec<Contact>,
    /// Every distinct phone of the customer and its contacts, digits only.
    pub phones: Vec<String>,
    /// `search::index_terms` of the customer's text, as the app indexes it.
    pub terms: String,
}

pub struct NewUnit {
    pub id: i64,
    pub data: UnitData,
    pub public_token: String,
    /// Start of the first (and only) ownership.
    pub owned_from: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub customers: i64,
    pub contacts: i64,
    pub phones: i64,
    pub search: i64,
    pub units: i64,
    pub owners: i64,
}

pub async fn counts(c: Conn<'_>) -> sqlx::Result<Counts> {
    let row: (i64, i64, i64, i64, i64, i64) = on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM customers), (SELECT COUNT(*) FROM customer_contacts), \
             (SELECT COUNT(*) FROM customer_phones), (SELECT COUNT(*) FROM customer_search), \
             (SELECT COUNT(*) FROM units), (SELECT COUNT(*) FROM unit_owners)",
        )
        .fetch_one(&mut *e)
        .await
    })?;
    Ok(Counts { customers: row.0, contacts: row.1, phones: row.2, search: row.3, units: row.4, owners: row.5 })
}

/// The highest customer and unit ids (0 when empty): new rows take the ids after them.
pub async fn max_ids(c: Conn<'_>) -> sqlx::Result<(i64, i64)> {
    on_conn!(c, |e| {
        sqlx::query_as("SELECT COALESCE((SELECT MAX(id) FROM customers), 0), COALESCE((SELECT MAX(id) FROM units), 0)")
            .fetch_one(&mut *e)
            .await
    })
}

/// Ids of the customers not deleted, for units added to an existing archive.
pub async fn customer_ids(c: Conn<'_>) -> sqlx::Result<Vec<i64>> {
    on_conn!(c, |e| {
        sqlx::query_scalar("SELECT id FROM customers WHERE deleted_at IS NULL ORDER BY id").fetch_all(&mut *e).await
    })
}

/// Per-transaction settings for bulk loading. PostgreSQL: no wait for the WAL flush at commit
/// (a crash loses at most the last batches of generated data, never consistency). SQLite: a
/// larger page cache on the writer so the random-order unique indexes (public_token) stay in
/// memory; `restore` puts back the size `db.rs` sets.
pub async fn bulk_settings(c: Conn<'_>, backend: Backend, restore: bool) -> sqlx::Result<()> {
    let sql = match (backend, restore) {
        (Backend::Postgres, false) => "SET LOCAL synchronous_commit = off",
        (Backend::Postgres, true) => return Ok(()),
        (Backend::Sqlite, false) => "PRAGMA cache_size = -262144",
        (Backend::Sqlite, true) => "PRAGMA cache_size = -32000",
    };
    on_conn!(c, |e| sqlx::query(sql).execute(&mut *e).await.map(|_| ()))
}

/// Explicit ids leave PostgreSQL's identity sequences behind; move them past the rows.
/// (SQLite's AUTOINCREMENT already tracks the largest id inserted.)
pub async fn sync_sequences(c: Conn<'_>, backend: Backend) -> sqlx::Result<()> {
    if backend == Backend::Sqlite {
        return Ok(());
    }
    on_conn!(c, |e| {
        for table in [
            "customers",
            "units",
            "work_orders",
            "work_order_events",
            "users",
            "complaints",
            "complaint_events",
            "parts",
            "warehouses",
            "stock_movements",
        ] {
            sqlx::query(AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
            )))
            .execute(&mut *e)
            .await?;
        }
        Ok(())
    })
}

/// Tables whose ids imports reserve up front.
#[derive(Clone, Copy, Debug)]
pub enum IdTable {
    Customers,
    Units,
}

/// `n` new ids of `table`, reserved inside the caller's transaction. PostgreSQL draws them from
/// the identity sequence (so other instances inserting meanwhile never collide); SQLite has a
/// single writer, so the ids after the highest one ever used are free.
pub async fn reserve_ids(c: Conn<'_>, backend: Backend, table: IdTable, n: usize) -> sqlx::Result<Vec<i64>> {
    if n == 0 {
        return Ok(vec![]);
    }
    let name = match table {
        IdTable::Customers => "customers",
        IdTable::Units => "units",
    };
    match backend {
        Backend::Postgres => on_conn!(c, |e| {
            sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT nextval(pg_get_serial_sequence('{name}', 'id')) FROM generate_series(1, $1::BIGINT)"
            )))
            .bind(n as i64)
            .fetch_all(&mut *e)
            .await
        }),
        Backend::Sqlite => {
            let top: i64 = on_conn!(c, |e| {
                sqlx::query_scalar(AssertSqlSafe(format!(
                    "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{name}'), 0), \
                     COALESCE((SELECT MAX(id) FROM {name}), 0))"
                )))
                .fetch_one(&mut *e)
                .await
            })?;
            Ok((top + 1..=top + n as i64).collect())
        }
    }
}

/// Updates PostgreSQL's planner statistics of the archive tables after a bulk load. (SQLite
/// plans these queries from its indexes alone, and its tuned plans are kept as they are.)
pub async fn analyze(c: Conn<'_>, backend: Backend) -> sqlx::Result<()> {
    if backend == Backend::Sqlite {
        // Sampled statistics (fast at millions of rows): without them SQLite picks a region's
        // index and sorts all its orders instead of walking newest first.
        return on_conn!(c, |e| {
            sqlx::raw_sql("PRAGMA analysis_limit = 1000; ANALYZE;").execute(&mut *e).await.map(|_| ())
        });
    }
    let sql = "ANALYZE customers, customer_contacts, customer_phones, customer_search, units, unit_owners, \
               work_orders, work_order_events, work_order_clocks, sla_escalations, surveys, complaints, complaint_events, \
               parts, part_models, warehouses, stock, stock_movements";
    on_conn!(c, |e| sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *e).await.map(|_| ()))
}

/// Rows per statement: as many as the bound-parameter limit allows (SQLite 32766, PostgreSQL
/// 65535; `cols` counts the values bound per row), capped so statements stay a manageable size.
pub(crate) fn rows_per_statement(backend: Backend, cols: usize) -> usize {
    let limit = match backend {
        Backend::Sqlite => 32766,
        Backend::Postgres => 65535,
    };
    ((limit - 1) / cols).min(2000)
}

/// `(p, p, …, tail), (…)`: `rows` groups of `cols` parameters. PostgreSQL numbers them from
/// `first` (2 when `$1` is shared by every row); SQLite gets anonymous `?`, because sqlx looks
/// up the name of every numbered parameter and SQLite finds a name by walking a list, which
/// made a 2,000-row statement quadratic (80 % of the time in `sqlite3_bind_parameter_name`).
/// A `tail` with `$1` becomes `?` on SQLite, so the caller binds the shared value on every row.
pub(crate) fn values(backend: Backend, rows: usize, cols: usize, first: usize, tail: &str) -> String {
    let tail = match backend {
        Backend::Sqlite => tail.replace("$1", "?"),
        Backend::Postgres => tail.to_string(),
    };
    let mut s = String::with_capacity(rows * (cols * 7 + tail.len() + 4));
    let mut n = first;
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            match backend {
                Backend::Sqlite => s.push('?'),
                Backend::Postgres => {
                    s.push('$');
                    s.push_str(&n.to_string());
                }
            }
            n += 1;
        }
        s.push_str(&tail);
        s.push(')');
    }
    s
}

/// Runs the statements of a group write (`sqls`, `None` for a table with nothing to write)
/// inside the caller's transaction on `c`: on SQLite as one multi-statement query (one
/// hand-over to the connection's thread instead of one per statement), on PostgreSQL one
/// statement at a time. `$bind!(query, i)` binds the rows of statement `i`.
macro_rules! execute_all {
    ($c:expr, $sqls:expr, $bind:ident) => {{
        let sqls = $sqls;
        match $c {
            $crate::db::Conn::Sqlite(e) => {
                let sql: Vec<&str> = sqls.iter().flatten().map(String::as_str).collect();
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.join(";\n")));
                for (i, _) in sqls.iter().enumerate().filter(|(_, s)| s.is_some()) {
                    q = $bind!(q, i);
                }
                q.execute(&mut *e).await.map(|_| ())
            }
            $crate::db::Conn::Pg(e) => {
                for (i, sql) in sqls.into_iter().enumerate() {
                    if let Some(sql) = sql {
                        $bind!(sqlx::query(sqlx::AssertSqlSafe(sql)), i).execute(&mut *e).await?;
                    }
                }
                Ok(())
            }
        }
    }};
}
pub(crate) use execute_all;

/// Inserts customers with their contacts, phone lookup rows and search terms.
pub async fn insert_customers(
    mut c: Conn<'_>,
    backend: Backend,
    rows: &[NewCustomer],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    const COLS: usize = 14;
    // Two more values per row on SQLite: created_at and updated_at.
    for chunk in rows.chunks(rows_per_statement(backend, COLS + 2)) {
        let sql = format!(
            "INSERT INTO customers (id, kind, name, class, key_customer, region_code, province, city, district, \
             address, phone, email, tags, notes, version, created_at, updated_at) VALUES {}",
            values(backend, chunk.len(), COLS, 2, ", 1, $1, $1")
        );
        on_conn!(&mut c, |e| {
            let shared = backend == Backend::Postgres;
            let mut q = sqlx::query(AssertSqlSafe(sql));
            if shared {
                q = q.bind(now);
            }
            for r in chunk {
                let d = &r.data;
                q = q
                    .bind(r.id)
                    .bind(&d.kind)
                    .bind(&d.name)
                    .bind(&d.class)
                    .bind(d.key_customer)
                    .bind(&d.region_code)
                    .bind(&d.province)
                    .bind(&d.city)
                    .bind(&d.district)
                    .bind(&d.address)
                    .bind(&d.phone)
                    .bind(&d.email)
                    .bind(&d.tags)
                    .bind(&d.notes);
                if !shared {
                    q = q.bind(now).bind(now);
                }
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }

    let contacts: Vec<(i64, &Contact)> =
        rows.iter().flat_map(|r| r.contacts.iter().map(move |ct| (r.id, ct))).collect();
    for chunk in contacts.chunks(rows_per_statement(backend, 5)) {
        let sql = format!(
            "INSERT INTO customer_contacts (customer_id, name, phone, email, position) VALUES {}",
            values(backend, chunk.len(), 5, 1, "")
        );
        on_conn!(&mut c, |e| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (id, ct) in chunk {
                q = q.bind(*id).bind(&ct.name).bind(&ct.phone).bind(&ct.email).bind(&ct.position);
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }

    let phones: Vec<(&str, i64)> = rows.iter().flat_map(|r| r.phones.iter().map(move |p| (p.as_str(), r.id))).collect();
    for chunk in phones.chunks(rows_per_statement(backend, 2)) {
        let sql = format!(
            "INSERT INTO customer_phones (phone, customer_id) VALUES {}",
            values(backend, chunk.len(), 2, 1, "")
        );
        on_conn!(&mut c, |e| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (p, id) in chunk {
                q = q.bind(*p).bind(*id);
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }

    let target = match backend {
        Backend::Sqlite => "customer_search (rowid, terms)",
        Backend::Postgres => "customer_search (customer_id, terms)",
    };
    for chunk in rows.chunks(rows_per_statement(backend, 2)) {
        let sql = format!("INSERT INTO {target} VALUES {}", values(backend, chunk.len(), 2, 1, ""));
        on_conn!(&mut c, |e| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for r in chunk {
                q = q.bind(r.id).bind(&r.terms);
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Inserts units, each with its first ownership.
pub async fn insert_units(mut c: Conn<'_>, backend: Backend, rows: &[NewUnit], now: DateTime<Utc>) -> sqlx::Result<()> {
    const COLS: usize = 13;
    for chunk in rows.chunks(rows_per_statement(backend, COLS + 2)) {
        let sql = format!(
            "INSERT INTO units (id, serial, model_id, customer_id, dealer, sale_date, invoice_no, invoice_date, \
             delivery_date, install_date, certificate_no, odometer_km, public_token, version, created_at, updated_at) \
             VALUES {}",
            values(backend, chunk.len(), COLS, 2, ", 1, $1, $1")
        );
        on_conn!(&mut c, |e| {
            let shared = backend == Backend::Postgres;
            let mut q = sqlx::query(AssertSqlSafe(sql));
            if shared {
                q = q.bind(now);
            }
            for r in chunk {
                let d = &r.data;
                q = q
                    .bind(r.id)
                    .bind(&d.serial)
                    .bind(d.model_id)
                    .bind(d.customer_id)
                    .bind(&d.dealer)
                    .bind(d.sale_date)
                    .bind(&d.invoice_no)
                    .bind(d.invoice_date)
                    .bind(d.delivery_date)
                    .bind(d.install_date)
                    .bind(&d.certificate_no)
                    .bind(d.odometer_km)
                    .bind(&r.public_token);
                if !shared {
                    q = q.bind(now).bind(now);
                }
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }
    for chunk in rows.chunks(rows_per_statement(backend, 3)) {
        let sql = format!(
            "INSERT INTO unit_owners (unit_id, customer_id, from_at, note) VALUES {}",
            values(backend, chunk.len(), 3, 1, ", ''")
        );
        on_conn!(&mut c, |e| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for r in chunk {
                q = q.bind(r.id).bind(r.data.customer_id).bind(r.owned_from);
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// One time-line entry of a generated order: (action, from, to, at, actor label).
pub type GenEvent = (&'static str, Option<&'static str>, &'static str, DateTime<Utc>, String);

/// What an order copies from its unit: (unit, customer, region, category).
pub type UnitFact = (i64, i64, Option<String>, String);

/// A generated work order with its time line (ids chosen by the generator).
pub struct NewOrder {
    pub id: i64,
    pub status: &'static str,
    pub channel: &'static str,
    pub kind: &'static str,
    pub priority: &'static str,
    pub customer_id: i64,
    pub unit_id: i64,
    pub region_code: Option<String>,
    pub category_code: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub address: String,
    pub problem: &'static str,
    pub requested_at: Option<DateTime<Utc>>,
    pub entitlement: &'static str,
    pub engineer_id: Option<i64>,
    /// The engineer's team (orders count for it).
    pub team_id: Option<i64>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub arrived_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub fault_code: Option<&'static str>,
    pub work_done: &'static str,
    pub labour_minutes: Option<i64>,
    pub travel_km: Option<i64>,
    pub parts_cents: i64,
    pub labour_cents: i64,
    pub collected_cents: i64,
    pub rating: Option<i32>,
    pub public_token: String,
    pub created_at: DateTime<Utc>,
    pub events: Vec<GenEvent>,
    pub clocks: Vec<crate::store::sla::ClockRow>,
    /// Warnings and escalations already sent for its running clocks.
    pub escalations: Vec<crate::store::sla::Escalation>,
    pub sla_due_at: Option<DateTime<Utc>>,
    pub sla_warn_at: Option<DateTime<Utc>>,
    /// After the job: its survey link and on-site rating (none before completion).
    pub surveys: Vec<NewSurvey>,
    /// Complaints, suggestions and praise about it.
    pub complaints: Vec<NewComplaint>,
}

/// A satisfaction survey of a generated order, as `service::care::on_completed` writes one
/// (and `service::care::answer` fills in); order, customer, engineer, region, category and
/// request kind are the order's.
pub struct NewSurvey {
    pub token: String,
    /// job | on_site
    pub kind: &'static str,
    pub created_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub overall: Option<i32>,
    pub timeliness: Option<i32>,
    pub attitude: Option<i32>,
    pub quality: Option<i32>,
    pub comment: &'static str,
}

/// A complaint, suggestion or praise about a generated order as `service::complaints` leaves
/// it after its steps (customer, unit, order, engineer, region and contact are the order's).
/// Ids are chosen by the generator.
pub struct NewComplaint {
    pub id: i64,
    pub kind: &'static str,
    pub severity: &'static str,
    pub status: &'static str,
    pub department: &'static str,
    pub channel: &'static str,
    pub subject: &'static str,
    pub description: String,
    pub policy_version: i64,
    pub received_at: DateTime<Utc>,
    pub ack_due_at: Option<DateTime<Utc>>,
    pub answer_due_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub answer_channel: Option<&'static str>,
    pub answered_on: Option<NaiveDate>,
    pub answer_text: &'static str,
    pub accepted: Option<bool>,
    pub root_cause: &'static str,
    pub forwarded_to: Option<&'static str>,
    pub valuable: bool,
    pub adopted: Option<bool>,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Its steps, `register` first.
    pub events: Vec<NewComplaintEvent>,
}

/// One step of a generated complaint (ids chosen by the generator).
pub struct NewComplaintEvent {
    pub id: i64,
    pub action: &'static str,
    pub at: DateTime<Utc>,
    pub user_label: &'static str,
    pub status_to: &'static str,
    pub channel: Option<&'static str>,
    pub on_day: Option<NaiveDate>,
    pub text: &'static str,
    pub detail: String,
}

pub async fn insert_orders(mut c: Conn<'_>, backend: Backend, rows: &[NewOrder]) -> sqlx::Result<()> {
    const COLS: usize = 40;
    for chunk in rows.chunks(rows_per_statement(backend, COLS)) {
        let sql = format!(
            "INSERT INTO work_orders (id, status, channel, kind, priority, customer_id, unit_id, region_code, \
             category_code, contact_name, contact_phone, address, problem, requested_at, entitlement, engineer_id, team_id, \
             scheduled_at, assigned_at, accepted_at, arrived_at, completed_at, closed_at, cancelled_at, fault_code, \
             work_done, labour_minutes, travel_km, parts_cents, labour_cents, collected_cents, rating, public_token, \
             created_by, version, created_at, updated_at, signed_by, sla_due_at, sla_warn_at) VALUES {}",
            values(backend, chunk.len(), COLS, 1, "")
        );
        on_conn!(&mut c, |e| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for o in chunk {
                let updated = o
                    .closed_at
                    .or(o.cancelled_at)
                    .or(o.completed_at)
                    .or(o.arrived_at)
                    .or(o.assigned_at)
                    .unwrap_or(o.created_at);
                q = q
                    .bind(o.id)
                    .bind(o.status)
                    .bind(o.channel)
                    .bind(o.kind)
                    .bind(o.priority)
                    .bind(o.customer_id)
                    .bind(o.unit_id)
                    .bind(&o.region_code)
                    .bind(&o.category_code)
                    .bind(&o.contact_name)
                    .bind(&o.contact_phone)
                    .bind(&o.address)
                    .bind(o.problem)
                    .bind(o.requested_at)
                    .bind(o.entitlement)
                    .bind(o.engineer_id)
                    .bind(o.team_id)
                    .bind(o.scheduled_at)
                    .bind(o.assigned_at)
                    .bind(o.accepted_at)
                    .bind(o.arrived_at)
                    .bind(o.completed_at)
                    .bind(o.closed_at)
                    .bind(o.cancelled_at)
                    .bind(o.fault_code)
                    .bind(o.work_done)
                    .bind(o.labour_minutes)
                    .bind(o.travel_km)
                    .bind(o.parts_cents)
                    .bind(o.labour_cents)
                    .bind(o.collected_cents)
                    .bind(o.rating)
                    .bind(&o.public_token)
                    .bind(None::<i64>)
                    .bind(1i64 + o.events.len() as i64)
                    .bind(o.created_at)
                    .bind(updated)
                    .bind(o.completed_at.map(|_| o.contact_name.as_str()))
                    .bind(o.sla_due_at)
                    .bind(o.sla_warn_at);
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }
    let events: Vec<(i64, &GenEvent)> = rows.iter().flat_map(|o| o.events.iter().map(move |e| (o.id, e))).collect();
    for chunk in events.chunks(rows_per_statement(backend, 6)) {
        let sql = format!(
            "INSERT INTO work_order_events (order_id, action, from_status, to_status, at, actor_label, note) VALUES {}",
            values(backend, chunk.len(), 6, 1, ", ''")
        );
        on_conn!(&mut c, |e| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (id, (action, from, to, at, who)) in chunk {
                q = q.bind(*id).bind(*action).bind(*from).bind(*to).bind(*at).bind(who);
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }
    let clocks: Vec<&crate::store::sla::ClockRow> = rows.iter().flat_map(|o| &o.clocks).collect();
    for chunk in clocks.chunks(rows_per_statement(backend, crate::store::sla::CLOCK_COLS)) {
        let sql = crate::store::sla::insert_clocks_sql(backend, chunk.len());
        on_conn!(&mut c, |e| {
            crate::store::sla::bind_clocks!(sqlx::query(AssertSqlSafe(sql)), chunk.iter().copied())
                .execute(&mut **e)
                .await
                .map(|_| ())
        })?;
    }
    let sent: Vec<&crate::store::sla::Escalation> = rows.iter().flat_map(|o| &o.escalations).collect();
    for chunk in sent.chunks(rows_per_statement(backend, 8)) {
        let sql = format!(
            "INSERT INTO sla_escalations (order_id, target, step_key, notify_role, kind, at, percent_used, recipients) \
             VALUES {}",
            values(backend, chunk.len(), 8, 1, "")
        );
        on_conn!(&mut c, |e| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for x in chunk {
                q = q
                    .bind(x.order_id)
                    .bind(&x.target)
                    .bind(&x.step_key)
                    .bind(&x.notify_role)
                    .bind(&x.kind)
                    .bind(x.at)
                    .bind(x.percent_used)
                    .bind(x.recipients);
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Inserts the surveys of generated orders.
pub async fn insert_surveys(mut c: Conn<'_>, backend: Backend, rows: &[NewOrder]) -> sqlx::Result<()> {
    const COLS: usize = 15;
    let surveys: Vec<(&NewOrder, &NewSurvey)> =
        rows.iter().flat_map(|o| o.surveys.iter().map(move |s| (o, s))).collect();
    for chunk in surveys.chunks(rows_per_statement(backend, COLS)) {
        let sql = format!(
            "INSERT INTO surveys (token, kind, order_id, customer_id, engineer_id, region_code, category_code, \
             request_kind, created_at, answered_at, overall, timeliness, attitude, quality, comment) VALUES {}",
            values(backend, chunk.len(), COLS, 1, "")
        );
        on_conn!(&mut c, |e| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (o, s) in chunk {
                q = q
                    .bind(&s.token)
                    .bind(s.kind)
                    .bind(o.id)
                    .bind(o.customer_id)
                    .bind(o.engineer_id)
                    .bind(&o.region_code)
                    .bind(&o.category_code)
                    .bind(o.kind)
                    .bind(s.created_at)
                    .bind(s.answered_at)
                    .bind(s.overall)
                    .bind(s.timeliness)
                    .bind(s.attitude)
                    .bind(s.quality)
                    .bind(s.comment);
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Inserts the complaints, suggestions and praise of generated orders with their steps.
pub async fn insert_complaints(mut c: Conn<'_>, backend: Backend, rows: &[NewOrder]) -> sqlx::Result<()> {
    const COLS: usize = 32;
    let complaints: Vec<(&NewOrder, &NewComplaint)> =
        rows.iter().flat_map(|o| o.complaints.iter().map(move |k| (o, k))).collect();
    for chunk in complaints.chunks(rows_per_statement(backend, COLS)) {
        let sql = format!(
            "INSERT INTO complaints (id, kind, severity, status, department, channel, customer_id, unit_id, order_id, \
             engineer_id, region_code, contact_name, contact_phone, subject, description, policy_version, received_at, \
             ack_due_at, answer_due_at, acknowledged_at, answered_at, answer_channel, answered_on, answer_text, \
             accepted, root_cause, forwarded_to, valuable, adopted, closed_at, version, created_at) VALUES {}",
            values(backend, chunk.len(), COLS, 1, "")
        );
        on_conn!(&mut c, |e| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (o, k) in chunk {
                q = q
                    .bind(k.id)
                    .bind(k.kind)
                    .bind(k.severity)
                    .bind(k.status)
                    .bind(k.department)
                    .bind(k.channel)
                    .bind(o.customer_id)
                    .bind(o.unit_id)
                    .bind(o.id)
                    .bind(o.engineer_id)
                    .bind(&o.region_code)
                    .bind(&o.contact_name)
                    .bind(&o.contact_phone)
                    .bind(k.subject)
                    .bind(&k.description)
                    .bind(k.policy_version)
                    .bind(k.received_at)
                    .bind(k.ack_due_at)
                    .bind(k.answer_due_at)
                    .bind(k.acknowledged_at)
                    .bind(k.answered_at)
                    .bind(k.answer_channel)
                    .bind(k.answered_on)
                    .bind(k.answer_text)
                    .bind(k.accepted)
                    .bind(k.root_cause)
                    .bind(k.forwarded_to)
                    .bind(k.valuable)
                    .bind(k.adopted)
                    .bind(k.closed_at)
                    // Every step after the registration saved the record once.
                    .bind(k.events.len().max(1) as i64)
                    .bind(k.created_at);
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }
    let events: Vec<(i64, &NewComplaintEvent)> =
        complaints.iter().flat_map(|(_, k)| k.events.iter().map(move |ev| (k.id, ev))).collect();
    for chunk in events.chunks(rows_per_statement(backend, 10)) {
        let sql = format!(
            "INSERT INTO complaint_events (id, complaint_id, action, at, user_label, status_to, channel, on_day, text, \
             detail) VALUES {}",
            values(backend, chunk.len(), 10, 1, "")
        );
        on_conn!(&mut c, |e| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (id, ev) in chunk {
                q = q
                    .bind(ev.id)
                    .bind(*id)
                    .bind(ev.action)
                    .bind(ev.at)
                    .bind(ev.user_label)
                    .bind(ev.status_to)
                    .bind(ev.channel)
                    .bind(ev.on_day)
                    .bind(ev.text)
                    .bind(&ev.detail);
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// The highest complaint and complaint event ids (0 when empty): generated ones take the ids after them.
pub async fn max_complaint_ids(c: Conn<'_>) -> sqlx::Result<(i64, i64)> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT COALESCE((SELECT MAX(id) FROM complaints), 0), COALESCE((SELECT MAX(id) FROM complaint_events), 0)",
        )
        .fetch_one(&mut *e)
        .await
    })
}

/// Rows written after the job: (surveys, complaints, complaint events).
pub async fn after_job_counts(c: Conn<'_>) -> sqlx::Result<(i64, i64, i64)> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM surveys), (SELECT COUNT(*) FROM complaints), \
             (SELECT COUNT(*) FROM complaint_events)",
        )
        .fetch_one(&mut *e)
        .await
    })
}

/// Units with what an order copies from them: (unit, customer, region, category).
pub async fn unit_facts(c: Conn<'_>) -> sqlx::Result<Vec<UnitFact>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT u.id, u.customer_id, c.region_code, m.category_code FROM units u \
             JOIN customers c ON c.id = u.customer_id JOIN product_models m ON m.id = u.model_id \
             WHERE u.deleted_at IS NULL ORDER BY u.id",
        )
        .fetch_all(&mut *e)
        .await
    })
}

pub async fn max_order_id(c: Conn<'_>) -> sqlx::Result<i64> {
    on_conn!(c, |e| sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM work_orders").fetch_one(&mut *e).await)
}

/// Rows of orders and what is written with them: (orders, events, clocks, escalations).
pub async fn order_counts(c: Conn<'_>) -> sqlx::Result<(i64, i64, i64, i64)> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM work_orders), (SELECT COUNT(*) FROM work_order_events), \
             (SELECT COUNT(*) FROM work_order_clocks), (SELECT COUNT(*) FROM sla_escalations)",
        )
        .fetch_one(&mut *e)
        .await
    })
}

// ------------------------------------------------------------------ spare parts

/// A generated part with the product models it fits.
pub struct NewPart {
    pub id: i64,
    pub part_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub key_part: bool,
    pub serial_tracked: bool,
    pub unit_cost_cents: i64,
    pub price_cents: i64,
    pub supplier: &'static str,
    pub models: Vec<i64>,
}

pub struct NewWarehouse {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// central | regional | van
    pub kind: &'static str,
    pub region_code: Option<String>,
    pub engineer_id: Option<i64>,
}

/// A generated stock movement (its id chosen by the generator, so later returns can refer to it).
pub struct NewStockMovement {
    pub id: i64,
    pub kind: &'static str,
    pub part_id: i64,
    pub qty: i64,
    pub from_id: Option<i64>,
    pub to_id: Option<i64>,
    pub order_id: Option<i64>,
    pub ref_id: Option<i64>,
    pub serial: Option<String>,
    pub old_serial: Option<String>,
    pub batch: Option<String>,
    pub supplier: Option<&'static str>,
    pub unit_cost_cents: i64,
    pub price_cents: i64,
    pub actor_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// A stock row as the generator's simulation left it.
pub struct NewStock {
    pub warehouse_id: i64,
    pub part_id: i64,
    pub on_hand: i64,
    pub faulty: i64,
    pub reorder_point: i64,
    pub updated_at: DateTime<Utc>,
}

/// The highest part, warehouse and stock movement ids (0 when empty).
pub async fn max_parts_ids(c: Conn<'_>) -> sqlx::Result<(i64, i64, i64)> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT COALESCE((SELECT MAX(id) FROM parts), 0), COALESCE((SELECT MAX(id) FROM warehouses), 0), \
             COALESCE((SELECT MAX(id) FROM stock_movements), 0)",
        )
        .fetch_one(&mut *e)
        .await
    })
}

/// Active engineers without a van: (id, display name, region).
pub async fn engineers_without_van(c: Conn<'_>) -> sqlx::Result<Vec<(i64, String, Option<String>)>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT u.id, u.display_name, u.region_code FROM users u \
             JOIN user_roles r ON r.user_id = u.id AND r.role = 'engineer' \
             WHERE u.active AND NOT EXISTS (SELECT 1 FROM warehouses w WHERE w.engineer_id = u.id) ORDER BY u.id",
        )
        .fetch_all(&mut *e)
        .await
    })
}

/// The first active user with the warehouse role (who books receipts and warehouse transfers).
pub async fn warehouse_user(c: Conn<'_>) -> sqlx::Result<Option<i64>> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "SELECT MIN(u.id) FROM users u JOIN user_roles r ON r.user_id = u.id AND r.role = 'warehouse' WHERE u.active",
        )
        .fetch_one(&mut *e)
        .await
    })
}

/// What an issue to an order needs to know of it: (order, engineer, registered at, paid,
/// model of its unit), for orders that had an engineer, oldest first.
pub type OrderPartsFact = (i64, i64, DateTime<Utc>, bool, i64);

pub async fn order_parts_facts(c: Conn<'_>) -> sqlx::Result<Vec<OrderPartsFact>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT o.id, o.engineer_id, o.created_at, o.entitlement = 'paid', u.model_id FROM work_orders o \
             JOIN units u ON u.id = o.unit_id WHERE o.engineer_id IS NOT NULL AND o.status <> 'cancelled' \
             ORDER BY o.created_at, o.id",
        )
        .fetch_all(&mut *e)
        .await
    })
}

pub async fn insert_parts(mut c: Conn<'_>, backend: Backend, rows: &[NewPart], now: DateTime<Utc>) -> sqlx::Result<()> {
    const COLS: usize = 11;
    for chunk in rows.chunks(rows_per_statement(backend, COLS)) {
        let sql = format!(
            "INSERT INTO parts (id, part_no, name_zh, name_en, key_part, serial_tracked, unit_cost_cents, price_cents, \
             supplier, created_at, updated_at) VALUES {}",
            values(backend, chunk.len(), COLS, 1, "")
        );
        on_conn!(&mut c, |e| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for p in chunk {
                q = q
                    .bind(p.id)
                    .bind(&p.part_no)
                    .bind(&p.name_zh)
                    .bind(&p.name_en)
                    .bind(p.key_part)
                    .bind(p.serial_tracked)
                    .bind(p.unit_cost_cents)
                    .bind(p.price_cents)
                    .bind(p.supplier)
                    .bind(now)
                    .bind(now);
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }
    let fits: Vec<(i64, i64)> = rows.iter().flat_map(|p| p.models.iter().map(move |m| (p.id, *m))).collect();
    for chunk in fits.chunks(rows_per_statement(backend, 2)) {
        let sql =
            format!("INSERT INTO part_models (part_id, model_id) VALUES {}", values(backend, chunk.len(), 2, 1, ""));
        on_conn!(&mut c, |e| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (p, m) in chunk {
                q = q.bind(*p).bind(*m);
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }
    Ok(())
}

pub async fn insert_warehouses(
    mut c: Conn<'_>,
    backend: Backend,
    rows: &[NewWarehouse],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    const COLS: usize = 8;
    for chunk in rows.chunks(rows_per_statement(backend, COLS)) {
        let sql = format!(
            "INSERT INTO warehouses (id, code, name, kind, region_code, engineer_id, created_at, updated_at) VALUES {}",
            values(backend, chunk.len(), COLS, 1, "")
        );
        on_conn!(&mut c, |e| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for w in chunk {
                q = q
                    .bind(w.id)
                    .bind(&w.code)
                    .bind(&w.name)
                    .bind(w.kind)
                    .bind(&w.region_code)
                    .bind(w.engineer_id)
                    .bind(now)
                    .bind(now);
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Inserts generated movements: multi-row values on SQLite, one array per column on PostgreSQL
/// (as `care::PG_INSERT_TASKS` does: one short statement instead of thousands of placeholders).
pub async fn insert_movements(mut c: Conn<'_>, backend: Backend, rows: &[NewStockMovement]) -> sqlx::Result<()> {
    const COLS: usize = 16;
    if let Conn::Pg(e) = &mut c {
        for chunk in rows.chunks(20_000) {
            sqlx::query(
                "INSERT INTO stock_movements (id, kind, part_id, qty, from_id, to_id, order_id, ref_id, serial, \
                 old_serial, batch, supplier, unit_cost_cents, price_cents, actor_id, created_at) \
                 SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], \
                 $7::bigint[], $8::bigint[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[], \
                 $14::bigint[], $15::bigint[], $16::timestamptz[])",
            )
            .bind(chunk.iter().map(|m| m.id).collect::<Vec<_>>())
            .bind(chunk.iter().map(|m| m.kind).collect::<Vec<_>>())
            .bind(chunk.iter().map(|m| m.part_id).collect::<Vec<_>>())
            .bind(chunk.iter().map(|m| m.qty).collect::<Vec<_>>())
            .bind(chunk.iter().map(|m| m.from_id).collect::<Vec<_>>())
            .bind(chunk.iter().map(|m| m.to_id).collect::<Vec<_>>())
            .bind(chunk.iter().map(|m| m.order_id).collect::<Vec<_>>())
            .bind(chunk.iter().map(|m| m.ref_id).collect::<Vec<_>>())
            .bind(chunk.iter().map(|m| m.serial.as_deref()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|m| m.old_serial.as_deref()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|m| m.batch.as_deref()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|m| m.supplier).collect::<Vec<_>>())
            .bind(chunk.iter().map(|m| m.unit_cost_cents).collect::<Vec<_>>())
            .bind(chunk.iter().map(|m| m.price_cents).collect::<Vec<_>>())
            .bind(chunk.iter().map(|m| m.actor_id).collect::<Vec<_>>())
            .bind(chunk.iter().map(|m| m.created_at).collect::<Vec<_>>())
            .execute(&mut **e)
            .await?;
        }
        return Ok(());
    }
    for chunk in rows.chunks(rows_per_statement(backend, COLS)) {
        let sql = format!(
            "INSERT INTO stock_movements (id, kind, part_id, qty, from_id, to_id, order_id, ref_id, serial, old_serial, \
             batch, supplier, unit_cost_cents, price_cents, actor_id, created_at) VALUES {}",
            values(backend, chunk.len(), COLS, 1, "")
        );
        on_conn!(&mut c, |e| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for m in chunk {
                q = q
                    .bind(m.id)
                    .bind(m.kind)
                    .bind(m.part_id)
                    .bind(m.qty)
                    .bind(m.from_id)
                    .bind(m.to_id)
                    .bind(m.order_id)
                    .bind(m.ref_id)
                    .bind(m.serial.as_deref())
                    .bind(m.old_serial.as_deref())
                    .bind(m.batch.as_deref())
                    .bind(m.supplier)
                    .bind(m.unit_cost_cents)
                    .bind(m.price_cents)
                    .bind(m.actor_id)
                    .bind(m.created_at);
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }
    Ok(())
}

pub async fn insert_stock(mut c: Conn<'_>, backend: Backend, rows: &[NewStock]) -> sqlx::Result<()> {
    const COLS: usize = 6;
    for chunk in rows.chunks(rows_per_statement(backend, COLS)) {
        let sql = format!(
            "INSERT INTO stock (warehouse_id, part_id, on_hand, faulty, reorder_point, updated_at) VALUES {}",
            values(backend, chunk.len(), COLS, 1, "")
        );
        on_conn!(&mut c, |e| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for s in chunk {
                q = q
                    .bind(s.warehouse_id)
                    .bind(s.part_id)
                    .bind(s.on_hand)
                    .bind(s.faulty)
                    .bind(s.reorder_point)
                    .bind(s.updated_at);
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// What the generated issues from movement `first_id` on cost the orders they went to (issues
/// less the unused and wrong pieces that came back), as `service::stock` keeps it for posted ones.
pub async fn add_generated_parts_cost(c: Conn<'_>, first_id: i64) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE work_orders SET parts_cost_cents = parts_cost_cents + ( \
               SELECT CAST(COALESCE(SUM(CASE WHEN m.kind = 'issue' THEN m.qty * m.unit_cost_cents \
                 WHEN m.kind = 'return_unused' OR (m.kind = 'return_wrong' AND m.from_id IS NULL) \
                 THEN -m.qty * m.unit_cost_cents ELSE 0 END), 0) AS BIGINT) \
               FROM stock_movements m WHERE m.order_id = work_orders.id AND m.id >= $1) \
             WHERE id IN (SELECT order_id FROM stock_movements WHERE order_id IS NOT NULL AND id >= $1)",
        )
        .bind(first_id)
        .execute(&mut *e)
        .await
        .map(|_| ())
    })
}

/// Rows of the spare parts tables: (parts, warehouses, stock rows, movements).
pub async fn parts_counts(c: Conn<'_>) -> sqlx::Result<(i64, i64, i64, i64)> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM parts), (SELECT COUNT(*) FROM warehouses), (SELECT COUNT(*) FROM stock), \
             (SELECT COUNT(*) FROM stock_movements)",
        )
        .fetch_one(&mut *e)
        .await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_groups_number_after_the_shared_parameter() {
        assert_eq!(values(Backend::Postgres, 2, 2, 2, ", $1"), "($2, $3, $1), ($4, $5, $1)");
        assert_eq!(values(Backend::Postgres, 2, 1, 1, ""), "($1), ($2)");
        assert_eq!(values(Backend::Sqlite, 2, 2, 2, ", 1, $1"), "(?, ?, 1, ?), (?, ?, 1, ?)");
        assert_eq!(rows_per_statement(Backend::Sqlite, 16), 2000);
        assert!(rows_per_statement(Backend::Sqlite, 20) * 20 < 32766);
    }
}
