//! Sold units (serial number or VIN) and their owner history.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

use crate::db::Conn;
use crate::{from_row, on_conn};

/// A unit with its model and owner, as lists and pages show it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Unit {
    pub id: i64,
    pub serial: String,
    pub model_id: i64,
    pub model_code: String,
    pub model_name: String,
    pub category_code: String,
    pub grade: String,
    pub policy_code: String,
    pub warranty_months: Option<i32>,
    pub customer_id: i64,
    pub customer_name: String,
    pub region_code: Option<String>,
    pub dealer: String,
    pub sale_date: Option<NaiveDate>,
    pub invoice_no: Option<String>,
    pub invoice_date: Option<NaiveDate>,
    pub delivery_date: Option<NaiveDate>,
    pub install_date: Option<NaiveDate>,
    pub certificate_no: Option<String>,
    pub odometer_km: Option<i64>,
    #[serde(skip)]
    pub public_token: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
from_row!(Unit { id: i64, serial: String, model_id: i64, model_code: String, model_name: String,
    category_code: String, grade: String, policy_code: String, warranty_months: Option<i32>, customer_id: i64,
    customer_name: String, region_code: Option<String>, dealer: String, sale_date: Option<NaiveDate>,
    invoice_no: Option<String>, invoice_date: Option<NaiveDate>, delivery_date: Option<NaiveDate>,
    install_date: Option<NaiveDate>, certificate_no: Option<String>, odometer_km: Option<i64>, public_token: String,
    version: i64, created_at: DateTime<Utc>, updated_at: DateTime<Utc> });

const SELECT: &str = "SELECT u.id, u.serial, u.model_id, m.code AS model_code, m.name AS model_name, m.category_code, \
    m.grade, m.policy_code, m.warranty_months, u.customer_id, c.name AS customer_name, c.region_code, u.dealer, \
    u.sale_date, u.invoice_no, u.invoice_date, u.delivery_date, u.install_date, u.certificate_no, u.odometer_km, \
    u.public_token, u.version, u.created_at, u.updated_at \
    FROM units u JOIN product_models m ON m.id = u.model_id JOIN customers c ON c.id = u.customer_id";

pub struct UnitData {
    pub serial: String,
    pub model_id: i64,
    pub customer_id: i64,
    pub dealer: String,
    pub sale_date: Option<NaiveDate>,
    pub invoice_no: Option<String>,
    pub invoice_date: Option<NaiveDate>,
    pub delivery_date: Option<NaiveDate>,
    pub install_date: Option<NaiveDate>,
    pub certificate_no: Option<String>,
    pub odometer_km: Option<i64>,
}

pub async fn insert(c: Conn<'_>, d: &UnitData, token: &str, now: DateTime<Utc>) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO units (serial, model_id, customer_id, dealer, sale_date, invoice_no, invoice_date, \
             delivery_date, install_date, certificate_no, odometer_km, public_token, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13) RETURNING id",
        )
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
        .bind(token)
        .bind(now)
        .fetch_one(&mut *e)
        .await?;
        sqlx::query("INSERT INTO unit_owners (unit_id, customer_id, from_at, note) VALUES ($1, $2, $3, '')")
            .bind(id)
            .bind(d.customer_id)
            .bind(now)
            .execute(&mut *e)
            .await?;
        Ok(id)
    })
}

/// Updates the unit's fields (not its owner: see [`transfer`]); false on a stale version.
pub async fn update(c: Conn<'_>, id: i64, version: i64, d: &UnitData, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE units SET serial = $1, model_id = $2, dealer = $3, sale_date = $4, invoice_no = $5, \
             invoice_date = $6, delivery_date = $7, install_date = $8, certificate_no = $9, odometer_km = $10, \
             version = version + 1, updated_at = $11 WHERE id = $12 AND version = $13 AND deleted_at IS NULL",
        )
        .bind(&d.serial)
        .bind(d.model_id)
        .bind(&d.dealer)
        .bind(d.sale_date)
        .bind(&d.invoice_no)
        .bind(d.invoice_date)
        .bind(d.delivery_date)
        .bind(d.install_date)
        .bind(&d.certificate_no)
        .bind(d.odometer_km)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Moves the unit to a new owner, closing the previous ownership; false on a stale version.
pub async fn transfer(
    c: Conn<'_>,
    id: i64,
    version: i64,
    to_customer: i64,
    note: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        let moved = sqlx::query(
            "UPDATE units SET customer_id = $1, version = version + 1, updated_at = $2 \
             WHERE id = $3 AND version = $4 AND deleted_at IS NULL",
        )
        .bind(to_customer)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await?
        .rows_affected()
            == 1;
        if moved {
            sqlx::query("UPDATE unit_owners SET to_at = $1 WHERE unit_id = $2 AND to_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&mut *e)
                .await?;
            sqlx::query("INSERT INTO unit_owners (unit_id, customer_id, from_at, note) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(to_customer)
                .bind(now)
                .bind(note)
                .execute(&mut *e)
                .await?;
        }
        Ok(moved)
    })
}

/// Soft delete (a unit registered by mistake); false on a stale version.
pub async fn soft_delete(c: Conn<'_>, id: i64, version: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE units SET deleted_at = $1, version = version + 1, updated_at = $1 \
             WHERE id = $2 AND version = $3 AND deleted_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

pub async fn get(c: Conn<'_>, id: i64) -> sqlx::Result<Option<Unit>> {
    let sql = format!("{SELECT} WHERE u.id = $1 AND u.deleted_at IS NULL");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

/// The units (not deleted) among `ids`, in no particular order.
pub async fn get_many(c: Conn<'_>, ids: &[i64]) -> sqlx::Result<Vec<Unit>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = many_sql(ids.len());
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(id);
        }
        q.fetch_all(&mut *e).await
    })
}

/// The units (not deleted) among `n` ids bound as `$1…`.
pub(crate) fn many_sql(n: usize) -> String {
    format!("{SELECT} WHERE u.id IN ({}) AND u.deleted_at IS NULL", super::placeholders(1, n))
}

/// The units with ids from `lo` to `hi` (a bulk write reads back what it wrote, for the audit
/// trail; a range, because a list of thousands of parameters is slow to bind on SQLite).
pub async fn in_id_range(c: Conn<'_>, lo: i64, hi: i64) -> sqlx::Result<Vec<Unit>> {
    let sql = format!("{SELECT} WHERE u.id >= $1 AND u.id <= $2 ORDER BY u.id");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(lo).bind(hi).fetch_all(&mut *e).await)
}

/// The unit holding a serial, deleted ones included (a serial is never reused).
pub async fn by_serial(c: Conn<'_>, serial: &str) -> sqlx::Result<Option<Unit>> {
    let sql = format!("{SELECT} WHERE u.serial = $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(serial).fetch_optional(&mut *e).await)
}

pub async fn by_token(c: Conn<'_>, token: &str) -> sqlx::Result<Option<Unit>> {
    let sql = format!("{SELECT} WHERE u.public_token = $1 AND u.deleted_at IS NULL");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(token).fetch_optional(&mut *e).await)
}

/// How many units per number (serial, invoice, certificate) a prefix search considers.
pub const NUMBER_CANDIDATES: i64 = 500;

#[derive(Default, Debug, Clone)]
pub struct Filter {
    pub region_scope: Option<String>,
    pub customer_id: Option<i64>,
    pub model_id: Option<i64>,
    /// Serial, invoice or certificate number: exact or prefix (upper-cased).
    pub number_prefix: Option<String>,
    /// Keyset cursor, newest first.
    pub before_id: Option<i64>,
    pub limit: i64,
}

pub async fn list(c: Conn<'_>, f: &Filter) -> sqlx::Result<Vec<Unit>> {
    let mut wh = vec!["u.deleted_at IS NULL".to_string()];
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    if f.region_scope.is_some() {
        wh.push(format!("c.region_code = {}", next()));
    }
    if f.customer_id.is_some() {
        wh.push(format!("u.customer_id = {}", next()));
    }
    if f.model_id.is_some() {
        wh.push(format!("u.model_id = {}", next()));
    }
    if f.number_prefix.is_some() {
        let (lo, hi) = (next(), next());
        // Each number walks its own index in order and stops after the candidates, so a short
        // prefix costs the same at millions of units as at a thousand.
        let arm = |col: &str| {
            format!(
                "SELECT id FROM (SELECT id FROM units WHERE {col} >= {lo} AND {col} < {hi} \
                 ORDER BY {col} LIMIT {NUMBER_CANDIDATES}) n_{col}"
            )
        };
        wh.push(format!("u.id IN ({} UNION {} UNION {})", arm("serial"), arm("invoice_no"), arm("certificate_no")));
    }
    if f.before_id.is_some() {
        wh.push(format!("u.id < {}", next()));
    }
    // With a number prefix the candidates are few. SQLite walks their list newest first and
    // stops at the limit; PostgreSQL would rather walk the whole primary key backwards hoping
    // to meet them early (2 s at 2M units), which `+ 0` rules out: it sorts the candidates.
    let pg = matches!(c, crate::db::Conn::Pg(_));
    let order = if f.number_prefix.is_some() && pg { "u.id + 0 DESC" } else { "u.id DESC" };
    let sql = if f.number_prefix.is_some() {
        // Up to 1,500 candidates: pick the page's ids first and join models and customers
        // for those alone (joining every candidate was most of a prefix search's time).
        let owner = if f.region_scope.is_some() { " JOIN customers c ON c.id = u.customer_id" } else { "" };
        format!(
            "{SELECT} WHERE u.id IN (SELECT u.id FROM units u{owner} WHERE {} ORDER BY {order} LIMIT {}) \
             ORDER BY u.id DESC",
            wh.join(" AND "),
            next()
        )
    } else {
        format!("{SELECT} WHERE {} ORDER BY {order} LIMIT {}", wh.join(" AND "), next())
    };
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        if let Some(v) = &f.region_scope {
            q = q.bind(v);
        }
        if let Some(v) = f.customer_id {
            q = q.bind(v);
        }
        if let Some(v) = f.model_id {
            q = q.bind(v);
        }
        if let Some(p) = &f.number_prefix {
            q = q.bind(p).bind(format!("{p}\u{7f}"));
        }
        if let Some(v) = f.before_id {
            q = q.bind(v);
        }
        q.bind(f.limit).fetch_all(&mut *e).await
    })
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Ownership {
    pub customer_id: i64,
    pub customer_name: String,
    pub from_at: DateTime<Utc>,
    pub to_at: Option<DateTime<Utc>>,
    pub note: String,
}
from_row!(Ownership { customer_id: i64, customer_name: String, from_at: DateTime<Utc>, to_at: Option<DateTime<Utc>>,
    note: String });

pub async fn owners(c: Conn<'_>, unit_id: i64) -> sqlx::Result<Vec<Ownership>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT o.customer_id, c.name AS customer_name, o.from_at, o.to_at, o.note FROM unit_owners o \
             JOIN customers c ON c.id = o.customer_id WHERE o.unit_id = $1 ORDER BY o.id",
        )
        .bind(unit_id)
        .fetch_all(&mut *e)
        .await
    })
}
