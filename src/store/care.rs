//! After the job (R6, R7): visit rules, visit tasks and their queue, the planning watermark,
//! the facts the schedule reads, and satisfaction surveys with their rates.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

use super::bulk::{rows_per_statement, values};
use crate::db::{Backend, Conn};
use crate::{from_row, on_conn};

// ------------------------------------------------------------------ rules

#[derive(Clone, Debug)]
pub struct StoredRule {
    pub code: String,
    pub position: i64,
    pub rule_json: String,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}
from_row!(StoredRule { code: String, position: i64, rule_json: String, version: i64, updated_at: DateTime<Utc> });

pub async fn rules(c: Conn<'_>) -> sqlx::Result<Vec<StoredRule>> {
    on_conn!(c, |e| {
        sqlx::query_as("SELECT code, position, rule_json, version, updated_at FROM visit_rules ORDER BY position, code")
            .fetch_all(&mut *e)
            .await
    })
}

/// Inserts a rule unless its code exists (the built-ins are written this way on first use).
pub async fn insert_rule(c: Conn<'_>, code: &str, position: i64, json: &str, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "INSERT INTO visit_rules (code, position, rule_json, version, updated_at) VALUES ($1, $2, $3, 1, $4) \
             ON CONFLICT (code) DO NOTHING",
        )
        .bind(code)
        .bind(position)
        .bind(json)
        .bind(now)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Saves a rule over `version`; false when someone saved it first.
pub async fn update_rule(c: Conn<'_>, code: &str, json: &str, version: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE visit_rules SET rule_json = $1, version = version + 1, updated_at = $2 \
             WHERE code = $3 AND version = $4",
        )
        .bind(json)
        .bind(now)
        .bind(code)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

// ------------------------------------------------------------------ facts for planning

/// A customer as the schedule sees it.
#[derive(Clone, Debug)]
pub struct CustomerRow {
    pub id: i64,
    pub class: String,
    pub key_customer: bool,
    pub region_code: Option<String>,
    pub created_at: DateTime<Utc>,
}
from_row!(CustomerRow { id: i64, class: String, key_customer: bool, region_code: Option<String>, created_at: DateTime<Utc> });

/// Live customers after `after_id`, in id order.
pub async fn customers_after(c: Conn<'_>, after_id: i64, limit: i64) -> sqlx::Result<Vec<CustomerRow>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT id, class, key_customer, region_code, created_at FROM customers \
             WHERE id > $1 AND deleted_at IS NULL ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(&mut *e)
        .await
    })
}

/// A unit's warranty inputs (the start of its period and its model's terms) and its routine
/// service (the model's interval, the last service or else the installation).
#[derive(Clone, Debug)]
pub struct UnitTerms {
    pub id: i64,
    pub customer_id: i64,
    pub start: Option<NaiveDate>,
    pub policy_code: String,
    pub grade: String,
    pub category_code: String,
    pub warranty_months: Option<i32>,
    pub service_interval_months: Option<i32>,
    pub service_base: Option<NaiveDate>,
}
from_row!(UnitTerms { id: i64, customer_id: i64, start: Option<NaiveDate>, policy_code: String, grade: String,
    category_code: String, warranty_months: Option<i32>, service_interval_months: Option<i32>,
    service_base: Option<NaiveDate> });

/// The units of customers `first..=last`. (`+u.model_id` keeps SQLite from walking every unit
/// of each model instead of the customers' range.)
pub async fn unit_terms(c: Conn<'_>, first: i64, last: i64) -> sqlx::Result<Vec<UnitTerms>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT u.id, u.customer_id, COALESCE(u.invoice_date, u.sale_date) AS start, m.policy_code, m.grade, \
             m.category_code, m.warranty_months, m.service_interval_months, \
             COALESCE(u.last_service_on, u.install_date, u.sale_date) AS service_base \
             FROM units u JOIN product_models m ON m.id = +u.model_id \
             WHERE u.customer_id BETWEEN $1 AND $2 AND u.deleted_at IS NULL",
        )
        .bind(first)
        .bind(last)
        .fetch_all(&mut *e)
        .await
    })
}

pub async fn planned_to(c: Conn<'_>) -> sqlx::Result<Option<NaiveDate>> {
    on_conn!(c, |e| {
        sqlx::query_scalar("SELECT planned_to FROM visit_schedule WHERE id = 1").fetch_optional(&mut *e).await
    })
}

/// Moves the watermark forward only (two instances finishing out of order keep the later one).
pub async fn set_planned_to(c: Conn<'_>, to: NaiveDate, now: DateTime<Utc>) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query(
            "INSERT INTO visit_schedule (id, planned_to, updated_at) VALUES (1, $1, $2) ON CONFLICT (id) DO UPDATE \
             SET planned_to = excluded.planned_to, updated_at = excluded.updated_at \
             WHERE visit_schedule.planned_to < excluded.planned_to",
        )
        .bind(to)
        .bind(now)
        .execute(&mut *e)
        .await
        .map(|_| ())
    })
}

/// SQLite: sets the writer up for a large plan, and back. Planning a year for a million
/// customers inserts into indexes spread over a gigabyte: with the usual 32 MB cache nearly
/// every insert read its pages again from the file, so the cache grows to 1 GB while it runs.
/// It also checkpoints every 50,000 WAL pages (200 MB) instead of every 4,000: an index page
/// the plan changes again and again is copied back into the database once per checkpoint, not
/// once per 16 MB written (against every 1,000 pages, a year for a million customers went from
/// about 60 to 56 s). Afterwards the cache shrinks, the WAL is copied back and truncated
/// ([`super::maintenance::truncate_wal`]), and checkpoints come every
/// [`crate::db::WAL_AUTOCHECKPOINT_PAGES`] again.
/// No-op on PostgreSQL, whose buffers and checkpoints are the server's.
pub async fn set_large_plan(c: Conn<'_>, on: bool) -> sqlx::Result<()> {
    if let Conn::Sqlite(e) = c {
        let sql = if on {
            "PRAGMA cache_size = -1048576; PRAGMA wal_autocheckpoint = 50000".to_string()
        } else {
            format!(
                "PRAGMA cache_size = -{}; PRAGMA wal_autocheckpoint = {}",
                crate::db::WRITE_CACHE_KIB,
                crate::db::WAL_AUTOCHECKPOINT_PAGES
            )
        };
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *e).await?;
    }
    Ok(())
}

/// In a transaction writing planned visits. PostgreSQL: the commit does not wait for its WAL
/// to reach the disk. A crash of the server may then lose the last batches' visits (never
/// consistency); they are derived data, and they are planned again on the next pass: the
/// watermark only moves in a later, synchronous commit, which flushes the WAL before it, so a
/// watermark that survived a crash means the visits before it did too. SQLite keeps its
/// setting (WAL with synchronous=NORMAL already commits without a sync; OFF measured no faster).
pub async fn plan_write_settings(c: Conn<'_>) -> sqlx::Result<()> {
    if let Conn::Pg(e) = c {
        sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *e).await?;
    }
    Ok(())
}

/// Fresh statistics after a large plan: without them PostgreSQL planned a region's queue as a
/// sort of all its open visits (seconds) until autovacuum came by.
pub async fn analyze_tasks(c: Conn<'_>) -> sqlx::Result<()> {
    let sql = match c {
        Conn::Sqlite(_) => "PRAGMA analysis_limit = 1000; ANALYZE visit_tasks;",
        Conn::Pg(_) => "ANALYZE visit_tasks",
    };
    on_conn!(c, |e| sqlx::raw_sql(sql).execute(&mut *e).await.map(|_| ()))
}

// ------------------------------------------------------------------ tasks

/// A task about to be written.
#[derive(Clone, Debug)]
pub struct NewTask {
    pub customer_id: i64,
    pub region_code: Option<String>,
    pub rule_code: String,
    pub period_key: String,
    pub due_on: NaiveDate,
    pub order_id: Option<i64>,
    pub survey_id: Option<i64>,
    /// Planned by a rule about units in warranty (counts in the revisit rate).
    pub in_warranty: bool,
    /// A maintenance reminder's unit.
    pub unit_id: Option<i64>,
}

/// Writes tasks; those whose (customer, rule, period) exists already are skipped. Returns how
/// many were new.
pub async fn insert_tasks(c: Conn<'_>, backend: Backend, rows: &[NewTask], now: DateTime<Utc>) -> sqlx::Result<u64> {
    let tasks = encode_tasks(backend, rows.to_vec(), now).map_err(sqlx::Error::Encode)?;
    insert_encoded(c, tasks).await
}

/// Planned visits encoded for their INSERT statements, ready to be written. The bulk planner
/// encodes the next batch on its own core while the writer is busy with the previous one:
/// encoding on the writer's path (a string and an allocation per value, ten values a row) left
/// SQLite's single writer waiting a third of the time.
pub struct EncodedTasks {
    chunks: EncodedChunks,
}

enum EncodedChunks {
    /// (statement, arguments).
    Sqlite(Vec<(String, sqlx::sqlite::SqliteArguments)>),
    /// One array per column per statement.
    Pg(Vec<sqlx::postgres::PgArguments>),
    /// The rows in `COPY`'s binary format, and the rows themselves for when a visit stored
    /// already makes the `COPY` fail.
    PgCopy { data: Vec<u8>, rows: Vec<NewTask>, now: DateTime<Utc> },
}

/// PostgreSQL takes the rows as one array per column: one short statement for any number of
/// rows, instead of a statement text of thousands of placeholders to build, send and parse.
const PG_INSERT_TASKS: &str = "INSERT INTO visit_tasks (customer_id, region_code, rule_code, period_key, due_on, \
    order_id, survey_id, in_warranty, unit_id, created_at) \
    SELECT *, $10::timestamptz FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::date[], \
    $6::bigint[], $7::bigint[], $8::boolean[], $9::bigint[]) \
    ON CONFLICT (customer_id, rule_code, period_key) DO NOTHING";
const SQLITE_TASK_COLS: usize = 10;
const PG_TASK_CHUNK: usize = 20_000;

/// Encodes many `rows` for `insert_encoded`, as the bulk planner writes them. PostgreSQL gets
/// them by `COPY`, which skips the check for a stored visit before every row that
/// `ON CONFLICT` makes, and the function scan of the arrays (a year of visits for a million
/// customers, loaded by one server process from a file: 60 s by `COPY`, 89 s by `INSERT …
/// ON CONFLICT DO NOTHING`; through the planner, 51–78 s instead of 78–87). `COPY` cannot skip a row,
/// so when a visit of the batch is stored already (the window was planned before, or another
/// instance is planning it now) the batch is written again through `ON CONFLICT DO NOTHING`;
/// the rows copied before the failing one are the work lost, at most a batch. SQLite is
/// encoded as by `encode_tasks`.
pub fn encode_bulk(
    backend: Backend,
    rows: Vec<NewTask>,
    now: DateTime<Utc>,
) -> Result<EncodedTasks, sqlx::error::BoxDynError> {
    match backend {
        Backend::Sqlite => encode_tasks(backend, rows, now),
        Backend::Postgres => {
            Ok(EncodedTasks { chunks: EncodedChunks::PgCopy { data: copy_binary(&rows, now)?, rows, now } })
        }
    }
}

/// `COPY … FROM STDIN (FORMAT binary)` of the columns `copy_binary` writes.
const PG_COPY_TASKS: &str = "COPY visit_tasks (customer_id, region_code, rule_code, period_key, due_on, order_id, \
    survey_id, in_warranty, unit_id, created_at) FROM STDIN (FORMAT binary)";

/// `rows` in PostgreSQL's binary `COPY` format: a header, then per row its field count and
/// each field as a length (-1 for NULL) and its bytes in network order; dates count days and
/// timestamps microseconds from 2000-01-01 UTC.
fn copy_binary(rows: &[NewTask], now: DateTime<Utc>) -> Result<Vec<u8>, sqlx::error::BoxDynError> {
    fn int8(b: &mut Vec<u8>, v: Option<i64>) {
        match v {
            Some(v) => {
                b.extend_from_slice(&8i32.to_be_bytes());
                b.extend_from_slice(&v.to_be_bytes());
            }
            None => b.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }
    fn text(b: &mut Vec<u8>, v: Option<&str>) -> Result<(), sqlx::error::BoxDynError> {
        match v {
            Some(v) => {
                b.extend_from_slice(&i32::try_from(v.len())?.to_be_bytes());
                b.extend_from_slice(v.as_bytes());
            }
            None => b.extend_from_slice(&(-1i32).to_be_bytes()),
        }
        Ok(())
    }
    let epoch = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid date");
    let created = (now - epoch.and_time(chrono::NaiveTime::MIN).and_utc())
        .num_microseconds()
        .ok_or("creation time out of range")?;
    let mut b = Vec::with_capacity(21 + rows.len() * 120);
    b.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    b.extend_from_slice(&0i32.to_be_bytes()); // flags
    b.extend_from_slice(&0i32.to_be_bytes()); // header extension
    for r in rows {
        b.extend_from_slice(&10i16.to_be_bytes());
        int8(&mut b, Some(r.customer_id));
        text(&mut b, r.region_code.as_deref())?;
        text(&mut b, Some(&r.rule_code))?;
        text(&mut b, Some(&r.period_key))?;
        b.extend_from_slice(&4i32.to_be_bytes());
        b.extend_from_slice(&i32::try_from((r.due_on - epoch).num_days())?.to_be_bytes());
        int8(&mut b, r.order_id);
        int8(&mut b, r.survey_id);
        b.extend_from_slice(&1i32.to_be_bytes());
        b.push(u8::from(r.in_warranty));
        int8(&mut b, r.unit_id);
        b.extend_from_slice(&8i32.to_be_bytes());
        b.extend_from_slice(&created.to_be_bytes());
    }
    b.extend_from_slice(&(-1i16).to_be_bytes());
    Ok(b)
}

/// Encodes `rows` for `insert_encoded`. On SQLite the values every row repeats (rule, region,
/// the creation time, due days) are encoded once and shared, so a row costs one new string
/// (its period key) instead of five.
pub fn encode_tasks(
    backend: Backend,
    rows: Vec<NewTask>,
    now: DateTime<Utc>,
) -> Result<EncodedTasks, sqlx::error::BoxDynError> {
    use sqlx::Arguments;
    let n = rows.len();
    let chunks = match backend {
        Backend::Sqlite => {
            use std::collections::HashMap;
            use std::sync::Arc;
            // The text sqlx writes for a DateTime<Utc> and a NaiveDate, so stored values compare
            // and read back as those written one at a time.
            let created: Arc<str> = now.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false).into();
            let mut days: HashMap<NaiveDate, Arc<str>> = HashMap::new();
            let mut words: Vec<Arc<str>> = vec![];
            let mut shared = |s: &str| -> Arc<str> {
                match words.iter().find(|w| &***w == s) {
                    Some(w) => w.clone(),
                    None => {
                        let w: Arc<str> = s.into();
                        words.push(w.clone());
                        w
                    }
                }
            };
            let per = rows_per_statement(backend, SQLITE_TASK_COLS);
            let mut out = Vec::with_capacity(n.div_ceil(per.max(1)));
            let mut rows = rows.into_iter().peekable();
            while rows.peek().is_some() {
                let mut a = sqlx::sqlite::SqliteArguments::default();
                a.reserve(per * SQLITE_TASK_COLS, 0);
                let mut k = 0;
                for r in rows.by_ref().take(per) {
                    let due = days.entry(r.due_on).or_insert_with(|| r.due_on.format("%F").to_string().into()).clone();
                    a.add(r.customer_id)?;
                    a.add(r.region_code.as_deref().map(&mut shared))?;
                    a.add(shared(&r.rule_code))?;
                    a.add(r.period_key)?;
                    a.add(due)?;
                    a.add(r.order_id)?;
                    a.add(r.survey_id)?;
                    a.add(r.in_warranty)?;
                    a.add(r.unit_id)?;
                    a.add(created.clone())?;
                    k += 1;
                }
                // OR IGNORE: a row whose key exists is skipped, as ON CONFLICT DO NOTHING would,
                // and no row can make the statement fail halfway, so SQLite keeps no statement
                // journal of the pages it changes (migration 0024).
                let sql = format!(
                    "INSERT OR IGNORE INTO visit_tasks (customer_id, region_code, rule_code, period_key, due_on, \
                     order_id, survey_id, in_warranty, unit_id, created_at) VALUES {}",
                    values(backend, k, SQLITE_TASK_COLS, 1, "")
                );
                out.push((sql, a));
            }
            EncodedChunks::Sqlite(out)
        }
        Backend::Postgres => EncodedChunks::Pg(unnest_args(&rows, now)?),
    };
    Ok(EncodedTasks { chunks })
}

/// The arguments of `PG_INSERT_TASKS`, a statement per `PG_TASK_CHUNK` rows.
fn unnest_args(
    rows: &[NewTask],
    now: DateTime<Utc>,
) -> Result<Vec<sqlx::postgres::PgArguments>, sqlx::error::BoxDynError> {
    use sqlx::Arguments;
    let mut out = Vec::with_capacity(rows.len().div_ceil(PG_TASK_CHUNK));
    for chunk in rows.chunks(PG_TASK_CHUNK) {
        let mut a = sqlx::postgres::PgArguments::default();
        a.add(chunk.iter().map(|r| r.customer_id).collect::<Vec<_>>())?;
        a.add(chunk.iter().map(|r| r.region_code.as_deref()).collect::<Vec<_>>())?;
        a.add(chunk.iter().map(|r| r.rule_code.as_str()).collect::<Vec<_>>())?;
        a.add(chunk.iter().map(|r| r.period_key.as_str()).collect::<Vec<_>>())?;
        a.add(chunk.iter().map(|r| r.due_on).collect::<Vec<_>>())?;
        a.add(chunk.iter().map(|r| r.order_id).collect::<Vec<_>>())?;
        a.add(chunk.iter().map(|r| r.survey_id).collect::<Vec<_>>())?;
        a.add(chunk.iter().map(|r| r.in_warranty).collect::<Vec<_>>())?;
        a.add(chunk.iter().map(|r| r.unit_id).collect::<Vec<_>>())?;
        a.add(now)?;
        out.push(a);
    }
    Ok(out)
}

/// Writes tasks encoded by `encode_tasks` or `encode_bulk`; those whose (customer, rule, period) exists already
/// are skipped. Returns how many were new.
pub async fn insert_encoded(c: Conn<'_>, tasks: EncodedTasks) -> sqlx::Result<u64> {
    let mut added = 0;
    match (c, tasks.chunks) {
        (Conn::Sqlite(e), EncodedChunks::Sqlite(chunks)) => {
            for (sql, args) in chunks {
                added += sqlx::query_with(AssertSqlSafe(sql), args).execute(&mut *e).await?.rows_affected();
            }
        }
        (Conn::Pg(e), EncodedChunks::Pg(chunks)) => added += insert_unnest(e, chunks).await?,
        (Conn::Pg(e), EncodedChunks::PgCopy { data, rows, now }) => {
            // A savepoint, so that a failed COPY leaves the transaction usable.
            sqlx::query("SAVEPOINT copy_visits").execute(&mut *e).await?;
            let copied = async {
                let mut copy = e.copy_in_raw(PG_COPY_TASKS).await?;
                copy.send(data).await?;
                copy.finish().await
            }
            .await;
            match copied {
                Ok(n) => {
                    sqlx::query("RELEASE SAVEPOINT copy_visits").execute(&mut *e).await?;
                    added += n;
                }
                // A visit stored already, or another instance writing the same visits and
                // PostgreSQL choosing this transaction to break the wait.
                Err(err)
                    if err
                        .as_database_error()
                        .is_some_and(|d| d.is_unique_violation() || d.code().as_deref() == Some("40P01")) =>
                {
                    sqlx::query("ROLLBACK TO SAVEPOINT copy_visits").execute(&mut *e).await?;
                    added += insert_unnest(e, unnest_args(&rows, now).map_err(sqlx::Error::Encode)?).await?;
                }
                Err(err) => return Err(err),
            }
        }
        _ => return Err(sqlx::Error::Protocol("tasks encoded for the other database".into())),
    }
    Ok(added)
}

/// Runs `PG_INSERT_TASKS` with each of `chunks`; returns how many visits were new.
async fn insert_unnest(e: &mut sqlx::PgConnection, chunks: Vec<sqlx::postgres::PgArguments>) -> sqlx::Result<u64> {
    let mut added = 0;
    for args in chunks {
        added += sqlx::query_with(PG_INSERT_TASKS, args).execute(&mut *e).await?.rows_affected();
    }
    Ok(added)
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct VisitTask {
    pub id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub customer_class: String,
    pub customer_phone: Option<String>,
    pub region_code: Option<String>,
    pub rule_code: String,
    pub period_key: String,
    #[schema(value_type = String, format = Date)]
    pub due_on: NaiveDate,
    pub order_id: Option<i64>,
    pub survey_id: Option<i64>,
    /// A maintenance reminder's unit, and whether the customer was told (email | none).
    pub unit_id: Option<i64>,
    pub unit_serial: Option<String>,
    pub notified: Option<String>,
    pub assignee_id: Option<i64>,
    pub assignee_name: Option<String>,
    /// open | done | cancelled
    pub status: String,
    pub channel: Option<String>,
    pub outcome: Option<String>,
    pub needs: String,
    pub note: String,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<i64>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}
from_row!(VisitTask { id: i64, customer_id: i64, customer_name: String, customer_class: String,
    customer_phone: Option<String>, region_code: Option<String>, rule_code: String, period_key: String,
    due_on: NaiveDate, order_id: Option<i64>, survey_id: Option<i64>, unit_id: Option<i64>,
    unit_serial: Option<String>, notified: Option<String>, assignee_id: Option<i64>,
    assignee_name: Option<String>, status: String, channel: Option<String>, outcome: Option<String>, needs: String,
    note: String, done_at: Option<DateTime<Utc>>, done_by: Option<i64>, version: i64,
    created_at: DateTime<Utc> });

const TASK_SELECT: &str = "SELECT t.id, t.customer_id, c.name AS customer_name, c.class AS customer_class, \
    c.phone AS customer_phone, t.region_code, t.rule_code, t.period_key, t.due_on, t.order_id, t.survey_id, \
    t.unit_id, n.serial AS unit_serial, t.notified, t.assignee_id, u.display_name AS assignee_name, t.status, \
    t.channel, t.outcome, t.needs, t.note, t.done_at, t.done_by, t.version, t.created_at FROM visit_tasks t \
    JOIN customers c ON c.id = t.customer_id LEFT JOIN users u ON u.id = t.assignee_id \
    LEFT JOIN units n ON n.id = t.unit_id";

pub async fn get_task(c: Conn<'_>, id: i64) -> sqlx::Result<Option<VisitTask>> {
    let sql = format!("{TASK_SELECT} WHERE t.id = $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

/// Whose open tasks a queue shows: one region's (None: customers without a region) or one
/// agent's. Each is served by its own partial index; all regions are merged by the caller.
#[derive(Clone, Debug)]
pub enum Scope {
    Region(Option<String>),
    Assignee(i64),
}

#[derive(Clone, Debug)]
pub struct QueueFilter {
    pub scope: Scope,
    /// Due on or before this day.
    pub due_to: NaiveDate,
    /// Keyset: after this (due, id).
    pub after: Option<(NaiveDate, i64)>,
    pub limit: i64,
}

/// The missed count that rides along with a page of the queue: open tasks due before `day` of
/// `regions`, counted up to `cap`.
#[derive(Clone, Copy, Debug)]
pub struct Missed<'a> {
    pub regions: &'a [Option<String>],
    pub day: NaiveDate,
    pub cap: i64,
}

/// A page of tasks and, when the page has any, the missed count read in the same statement
/// (None when the page is empty: count with [`count_missed`]).
pub type QueuePage = (Vec<VisitTask>, Option<i64>);

/// A task row with the statement's missed count beside it.
struct WithMissed(VisitTask, i64);

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for WithMissed
where
    VisitTask: sqlx::FromRow<'r, R>,
    &'r str: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(WithMissed(VisitTask::from_row(row)?, row.try_get("missed")?))
    }
}

fn split(rows: Vec<WithMissed>) -> QueuePage {
    let missed = rows.first().map(|r| r.1);
    (rows.into_iter().map(|r| r.0).collect(), missed)
}

/// A statement on TASK_SELECT with the missed count as its first column; the count's
/// parameters start at `first`.
fn with_missed(sql: &str, m: &Missed<'_>, first: usize) -> (String, Vec<String>) {
    let (count, named) = missed_sql(m.regions, first, m.cap);
    (sql.replacen("SELECT ", &format!("SELECT ({count}) AS missed, "), 1), named)
}

/// The open tasks of several regions (None: customers without a region) by due day then id,
/// in one statement: each region's keys come from its own range of the partial index, the
/// merged keys are cut to the page, and only the page's rows are read. (A statement per
/// region was a round trip to the database's thread each; the manager's page made ten.)
pub async fn queue_of_regions(
    c: Conn<'_>,
    regions: &[Option<String>],
    due_to: NaiveDate,
    after: Option<(NaiveDate, i64)>,
    limit: i64,
    missed: &Missed<'_>,
) -> sqlx::Result<QueuePage> {
    if regions.is_empty() {
        return Ok((vec![], None));
    }
    // $1 due_to, $2/$3 the keyset; the regions follow, then the missed count's. The limit is
    // part of the text (see queue_sql).
    let (after_sql, first) =
        if after.is_some() { (" AND (t.due_on > $2 OR (t.due_on = $2 AND t.id > $3))", 4) } else { ("", 2) };
    let (arms, named) = region_arms(regions, first, |region| {
        format!(
            "SELECT t.due_on, t.id FROM visit_tasks t WHERE t.status = 'open' AND t.due_on <= $1 AND {region}\
             {after_sql} ORDER BY t.due_on, t.id LIMIT {limit}"
        )
    });
    let sql = format!(
        "{TASK_SELECT} WHERE t.id IN (SELECT id FROM ({} ORDER BY 1, 2 LIMIT {limit}) k) ORDER BY t.due_on, t.id",
        arms.join(" UNION ALL ")
    );
    let (sql, missed_named) = with_missed(&sql, missed, first + named.len());
    let rows = on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql)).bind(due_to);
        if let Some((d, id)) = after {
            q = q.bind(d).bind(id);
        }
        for r in &named {
            q = q.bind(r);
        }
        q = q.bind(missed.day);
        for r in &missed_named {
            q = q.bind(r);
        }
        q.fetch_all(&mut *e).await
    })?;
    Ok(split(rows))
}

/// `SELECT due_on, id FROM (inner) rN` for each region, where `inner` is made from the
/// region's condition; named regions are `$first`, `$first + 1` …, returned in that order.
fn region_arms(regions: &[Option<String>], first: usize, inner: impl Fn(&str) -> String) -> (Vec<String>, Vec<&str>) {
    let mut named = vec![];
    let arms = regions
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let cond = match r {
                Some(code) => {
                    named.push(code.as_str());
                    format!("t.region_code = ${}", first + named.len() - 1)
                }
                None => "t.region_code IS NULL".to_string(),
            };
            format!("SELECT * FROM ({}) r{i}", inner(&cond))
        })
        .collect();
    (arms, named)
}

/// Binds `queue_sql`'s parameters in its order, for whichever row type the query reads.
fn bind_queue<'q, DB, O>(
    q: sqlx::query::QueryAs<'q, DB, O, <DB as sqlx::Database>::Arguments>,
    f: &QueueFilter,
) -> sqlx::query::QueryAs<'q, DB, O, <DB as sqlx::Database>::Arguments>
where
    DB: sqlx::Database,
    NaiveDate: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut q = q.bind(f.due_to);
    q = match &f.scope {
        Scope::Region(r) => q.bind(r.clone()),
        Scope::Assignee(a) => q.bind(*a),
    };
    if let Some((d, id)) = f.after {
        q = q.bind(d).bind(id);
    }
    q
}

// Limits of the queue's statements are written into their text, not bound: given as a
// parameter, PostgreSQL's generic plan assumes the limit keeps a tenth of the scope's rows,
// costs it far above a custom plan, and so plans every run afresh (2.4 ms of planning for a
// statement that runs in 1.5 ms at 1 M customers). Each limit is an integer, so the text stays
// safe, and pages use a handful of limits, so few statements are prepared.
fn queue_sql(f: &QueueFilter, select: &str) -> String {
    let scope = match &f.scope {
        Scope::Region(Some(_)) => "t.region_code = $2",
        Scope::Region(None) => "t.region_code IS NULL AND $2 IS NULL",
        Scope::Assignee(_) => "t.assignee_id = $2",
    };
    let after = if f.after.is_some() { " AND (t.due_on > $3 OR (t.due_on = $3 AND t.id > $4))" } else { "" };
    // The page's tasks first, then their names: joined over the whole scope, PostgreSQL sized
    // a Memoize cache for a quarter of a million rows and cleared it on every run (2.5 of the
    // statement's 4.4 ms at 1 M customers).
    let page = format!(
        "(SELECT * FROM visit_tasks t WHERE t.status = 'open' AND t.due_on <= $1 AND {scope}{after} \
         ORDER BY t.due_on, t.id LIMIT {})",
        f.limit
    );
    format!("{} ORDER BY t.due_on, t.id", select.replacen("FROM visit_tasks t", &format!("FROM {page} t"), 1))
}

/// Open tasks by due day then id, with the missed count.
pub async fn queue(c: Conn<'_>, f: &QueueFilter, missed: &Missed<'_>) -> sqlx::Result<QueuePage> {
    let first = if f.after.is_some() { 5 } else { 3 };
    let (sql, named) = with_missed(&queue_sql(f, TASK_SELECT), missed, first);
    let rows = on_conn!(c, |e| {
        let mut q = bind_queue(sqlx::query_as(AssertSqlSafe(sql)), f).bind(missed.day);
        for r in &named {
            q = q.bind(r);
        }
        q.fetch_all(&mut *e).await
    })?;
    Ok(split(rows))
}

/// `SELECT COUNT(*)` of the open tasks due before `$first` of these regions, up to `cap`, in
/// one statement that stops at the cap; the named regions are `$first + 1` ….
fn missed_sql(regions: &[Option<String>], first: usize, cap: i64) -> (String, Vec<String>) {
    let (arms, named) = region_arms(regions, first + 1, |region| {
        // The cap is part of the text (see queue_sql).
        format!(
            "SELECT t.id FROM visit_tasks t WHERE t.status = 'open' AND t.due_on < ${first} AND {region} LIMIT {cap}"
        )
    });
    let named = named.into_iter().map(str::to_string).collect();
    (format!("SELECT COUNT(*) FROM ({} LIMIT {cap}) m", arms.join(" UNION ALL ")), named)
}

/// Open tasks due before `day` of these regions (None: customers without a region), counted
/// up to `cap` in all.
pub async fn count_missed(c: Conn<'_>, m: &Missed<'_>) -> sqlx::Result<i64> {
    if m.regions.is_empty() || m.cap <= 0 {
        return Ok(0);
    }
    let (sql, named) = missed_sql(m.regions, 1, m.cap);
    on_conn!(c, |e| {
        let mut q = sqlx::query_scalar(AssertSqlSafe(sql)).bind(m.day);
        for r in &named {
            q = q.bind(r);
        }
        q.fetch_one(&mut *e).await
    })
}

pub async fn tasks_of_customer(c: Conn<'_>, customer_id: i64, limit: i64) -> sqlx::Result<Vec<VisitTask>> {
    let sql = format!("{TASK_SELECT} WHERE t.customer_id = $1 ORDER BY t.due_on DESC, t.id DESC LIMIT $2");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(customer_id).bind(limit).fetch_all(&mut *e).await)
}

/// The outcome of a visit, written over `version`; false when the task changed meanwhile.
pub struct Outcome<'a> {
    pub id: i64,
    pub version: i64,
    pub channel: &'a str,
    pub outcome: &'a str,
    pub needs: &'a str,
    pub note: &'a str,
    pub done_by: Option<i64>,
    /// The company's local day of `done_at`, compared with the due day.
    pub done_on: NaiveDate,
}

pub async fn record_outcome(c: Conn<'_>, o: &Outcome<'_>, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE visit_tasks SET status = 'done', channel = $1, outcome = $2, needs = $3, note = $4, done_at = $5, \
             done_by = $6, assignee_id = COALESCE(assignee_id, $6), done_on = $9, version = version + 1 \
             WHERE id = $7 AND version = $8 AND status = 'open'",
        )
        .bind(o.channel)
        .bind(o.outcome)
        .bind(o.needs)
        .bind(o.note)
        .bind(now)
        .bind(o.done_by)
        .bind(o.id)
        .bind(o.version)
        .bind(o.done_on)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

pub async fn assign(c: Conn<'_>, id: i64, version: i64, assignee: Option<i64>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE visit_tasks SET assignee_id = $1, version = version + 1 WHERE id = $2 AND version = $3 \
             AND status = 'open'",
        )
        .bind(assignee)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// A completed maintenance job: the unit's next service counts from `day`.
pub async fn set_last_service(c: Conn<'_>, unit_id: i64, day: NaiveDate) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query("UPDATE units SET last_service_on = $1 WHERE id = $2")
            .bind(day)
            .bind(unit_id)
            .execute(&mut *e)
            .await
            .map(|_| ())
    })
}

/// Closes the unit's open maintenance reminders (the service they asked for was done).
pub async fn close_unit_reminders(c: Conn<'_>, unit_id: i64, note: &str, now: DateTime<Utc>) -> sqlx::Result<u64> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE visit_tasks SET status = 'cancelled', note = $1, done_at = $2, version = version + 1 \
             WHERE unit_id = $3 AND status = 'open'",
        )
        .bind(note)
        .bind(now)
        .bind(unit_id)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected())
    })
}

/// A maintenance reminder whose customer has not been told yet.
#[derive(Clone, Debug)]
pub struct ToNotify {
    pub id: i64,
    pub customer_name: String,
    pub email: Option<String>,
    pub serial: String,
    pub model_name: String,
    pub period_key: String,
}
from_row!(ToNotify { id: i64, customer_name: String, email: Option<String>, serial: String, model_name: String,
    period_key: String });

pub async fn reminders_to_notify(c: Conn<'_>, due_by: NaiveDate, limit: i64) -> sqlx::Result<Vec<ToNotify>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT t.id, c.name AS customer_name, c.email, u.serial, m.name AS model_name, t.period_key \
             FROM visit_tasks t JOIN customers c ON c.id = t.customer_id JOIN units u ON u.id = t.unit_id \
             JOIN product_models m ON m.id = u.model_id \
             WHERE t.unit_id IS NOT NULL AND t.notified IS NULL AND t.due_on <= $1 ORDER BY t.due_on, t.id LIMIT $2",
        )
        .bind(due_by)
        .bind(limit)
        .fetch_all(&mut *e)
        .await
    })
}

/// Records how the customer was told; false when another instance did it first.
pub async fn mark_notified(c: Conn<'_>, id: i64, how: &str) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query("UPDATE visit_tasks SET notified = $1 WHERE id = $2 AND notified IS NULL")
            .bind(how)
            .bind(id)
            .execute(&mut *e)
            .await
            .map(|r| r.rows_affected() == 1)
    })
}

/// Tasks of the in-warranty rules due in `from..=to`: (due, done on or before their due day).
pub async fn revisit_counts(c: Conn<'_>, from: NaiveDate, to: NaiveDate) -> sqlx::Result<(i64, i64)> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'done' AND done_on <= due_on THEN 1 ELSE 0 END), 0) \
             FROM visit_tasks WHERE in_warranty AND due_on >= $1 AND due_on <= $2 AND status <> 'cancelled'",
        )
        .bind(from)
        .bind(to)
        .fetch_one(&mut *e)
        .await
    })
}

// ------------------------------------------------------------------ surveys

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Survey {
    pub id: i64,
    #[serde(skip)]
    pub token: String,
    /// job (the link sent after a job) | on_site (the engineer's report)
    pub kind: String,
    pub order_id: Option<i64>,
    pub customer_id: i64,
    pub engineer_id: Option<i64>,
    pub region_code: Option<String>,
    pub category_code: Option<String>,
    pub request_kind: Option<String>,
    pub created_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub overall: Option<i32>,
    pub timeliness: Option<i32>,
    pub attitude: Option<i32>,
    pub quality: Option<i32>,
    pub comment: String,
}
from_row!(Survey { id: i64, token: String, kind: String, order_id: Option<i64>, customer_id: i64,
    engineer_id: Option<i64>, region_code: Option<String>, category_code: Option<String>,
    request_kind: Option<String>, created_at: DateTime<Utc>, answered_at: Option<DateTime<Utc>>,
    overall: Option<i32>, timeliness: Option<i32>, attitude: Option<i32>, quality: Option<i32>, comment: String });

const SURVEY_COLUMNS: &str = "id, token, kind, order_id, customer_id, engineer_id, region_code, category_code, \
    request_kind, created_at, answered_at, overall, timeliness, attitude, quality, comment";

/// Inserts a survey unless the order has one of that kind; returns its id when new.
pub async fn insert_survey(c: Conn<'_>, s: &Survey) -> sqlx::Result<Option<i64>> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO surveys (token, kind, order_id, customer_id, engineer_id, region_code, category_code, \
             request_kind, created_at, answered_at, overall, timeliness, attitude, quality, comment) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (order_id, kind) DO NOTHING RETURNING id",
        )
        .bind(&s.token)
        .bind(&s.kind)
        .bind(s.order_id)
        .bind(s.customer_id)
        .bind(s.engineer_id)
        .bind(&s.region_code)
        .bind(&s.category_code)
        .bind(&s.request_kind)
        .bind(s.created_at)
        .bind(s.answered_at)
        .bind(s.overall)
        .bind(s.timeliness)
        .bind(s.attitude)
        .bind(s.quality)
        .bind(&s.comment)
        .fetch_optional(&mut *e)
        .await
    })
}

pub async fn survey_by_token(c: Conn<'_>, token: &str) -> sqlx::Result<Option<Survey>> {
    let sql = format!("SELECT {SURVEY_COLUMNS} FROM surveys WHERE token = $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(token).fetch_optional(&mut *e).await)
}

pub async fn survey(c: Conn<'_>, id: i64) -> sqlx::Result<Option<Survey>> {
    let sql = format!("SELECT {SURVEY_COLUMNS} FROM surveys WHERE id = $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

pub async fn surveys_of_order(c: Conn<'_>, order_id: i64) -> sqlx::Result<Vec<Survey>> {
    let sql = format!("SELECT {SURVEY_COLUMNS} FROM surveys WHERE order_id = $1 ORDER BY id");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(order_id).fetch_all(&mut *e).await)
}

pub async fn surveys_of_customer(c: Conn<'_>, customer_id: i64, limit: i64) -> sqlx::Result<Vec<Survey>> {
    let sql = format!("SELECT {SURVEY_COLUMNS} FROM surveys WHERE customer_id = $1 ORDER BY id DESC LIMIT $2");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(customer_id).bind(limit).fetch_all(&mut *e).await)
}

/// Answered surveys in `from..to`, newest first.
pub async fn answered_between(
    c: Conn<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<Survey>> {
    let sql = format!(
        "SELECT {SURVEY_COLUMNS} FROM surveys WHERE answered_at >= $1 AND answered_at < $2 \
         ORDER BY answered_at DESC, id DESC LIMIT $3"
    );
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(from).bind(to).bind(limit).fetch_all(&mut *e).await)
}

pub struct Answer<'a> {
    pub overall: i32,
    pub timeliness: Option<i32>,
    pub attitude: Option<i32>,
    pub quality: Option<i32>,
    pub comment: &'a str,
}

/// Records the answer once: false when the survey was answered already.
pub async fn answer(c: Conn<'_>, id: i64, a: &Answer<'_>, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE surveys SET answered_at = $1, overall = $2, timeliness = $3, attitude = $4, quality = $5, \
             comment = $6 WHERE id = $7 AND answered_at IS NULL",
        )
        .bind(now)
        .bind(a.overall)
        .bind(a.timeliness)
        .bind(a.attitude)
        .bind(a.quality)
        .bind(a.comment)
        .bind(id)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// What satisfaction rates are grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    All,
    Engineer,
    Region,
    Category,
    RequestKind,
}

impl GroupBy {
    fn column(self) -> &'static str {
        match self {
            GroupBy::All => "CAST(NULL AS TEXT)",
            GroupBy::Engineer => "CAST(engineer_id AS TEXT)",
            GroupBy::Region => "region_code",
            GroupBy::Category => "category_code",
            GroupBy::RequestKind => "request_kind",
        }
    }
}

/// (group, answers, satisfied) of surveys answered in `from..to`; `satisfied_from` is the rule's
/// threshold (`rules::care::SATISFIED_FROM`).
pub async fn rates(
    c: Conn<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    by: GroupBy,
    satisfied_from: i32,
) -> sqlx::Result<Vec<(Option<String>, i64, i64)>> {
    let col = by.column();
    let group = if by == GroupBy::All { String::new() } else { format!(" GROUP BY {col} ORDER BY 2 DESC") };
    let sql = format!(
        "SELECT {col} AS g, COUNT(*) AS n, COALESCE(SUM(CASE WHEN overall >= $3 THEN 1 ELSE 0 END), 0) AS s \
         FROM surveys WHERE answered_at >= $1 AND answered_at < $2{group}"
    );
    on_conn!(c, |e| {
        sqlx::query_as(AssertSqlSafe(sql)).bind(from).bind(to).bind(satisfied_from).fetch_all(&mut *e).await
    })
}
