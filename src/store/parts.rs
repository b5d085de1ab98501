//! The parts catalogue and the stock locations (R8): parts with the models they fit, and
//! warehouses (central, regional and each engineer's van).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::Conn;
use crate::{from_row, on_conn};

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Part {
    pub id: i64,
    pub part_no: String,
    pub name_zh: String,
    pub name_en: String,
    /// Motor, controller, axle …: its failures are watched (R8.2).
    pub key_part: bool,
    /// Each piece has a serial number: an issue names the piece fitted, a faulty return the one taken out.
    pub serial_tracked: bool,
    /// What a piece costs the company, in cents (分).
    pub unit_cost_cents: i64,
    /// What a paying customer is charged per piece, in cents.
    pub price_cents: i64,
    pub supplier: String,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
from_row!(Part { id: i64, part_no: String, name_zh: String, name_en: String, key_part: bool, serial_tracked: bool,
    unit_cost_cents: i64, price_cents: i64, supplier: String, active: bool, version: i64,
    created_at: DateTime<Utc>, updated_at: DateTime<Utc> });

impl Part {
    /// The name in the page's language (the Chinese one when there is no English name).
    pub fn name(&self, locale: &str) -> &str {
        if locale.starts_with("en") && !self.name_en.is_empty() { &self.name_en } else { &self.name_zh }
    }
}

pub const PART_COLUMNS: &str = "id, part_no, name_zh, name_en, key_part, serial_tracked, unit_cost_cents, \
    price_cents, supplier, active, version, created_at, updated_at";

pub async fn get_part(c: Conn<'_>, id: i64) -> sqlx::Result<Option<Part>> {
    let sql = format!("SELECT {PART_COLUMNS} FROM parts WHERE id = $1");
    on_conn!(c, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

pub async fn part_by_no(c: Conn<'_>, part_no: &str) -> sqlx::Result<Option<Part>> {
    let sql = format!("SELECT {PART_COLUMNS} FROM parts WHERE part_no = $1");
    on_conn!(c, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(part_no).fetch_optional(&mut *e).await)
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Warehouse {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// central | regional | van
    pub kind: String,
    pub region_code: Option<String>,
    /// A van's engineer.
    pub engineer_id: Option<i64>,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
from_row!(Warehouse { id: i64, code: String, name: String, kind: String, region_code: Option<String>,
    engineer_id: Option<i64>, active: bool, version: i64, created_at: DateTime<Utc>, updated_at: DateTime<Utc> });

pub const WAREHOUSE_COLUMNS: &str =
    "id, code, name, kind, region_code, engineer_id, active, version, created_at, updated_at";

pub async fn get_warehouse(c: Conn<'_>, id: i64) -> sqlx::Result<Option<Warehouse>> {
    let sql = format!("SELECT {WAREHOUSE_COLUMNS} FROM warehouses WHERE id = $1");
    on_conn!(c, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

/// An engineer's van, if he has one.
pub async fn van_of(c: Conn<'_>, engineer_id: i64) -> sqlx::Result<Option<Warehouse>> {
    let sql = format!("SELECT {WAREHOUSE_COLUMNS} FROM warehouses WHERE engineer_id = $1");
    on_conn!(c, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(engineer_id).fetch_optional(&mut *e).await)
}

/// Every active location by kind and code (for pickers; a company has tens to hundreds).
pub async fn active_warehouses(c: Conn<'_>) -> sqlx::Result<Vec<Warehouse>> {
    let sql = format!(
        "SELECT {WAREHOUSE_COLUMNS} FROM warehouses WHERE active ORDER BY \
         CASE kind WHEN 'central' THEN 0 WHEN 'regional' THEN 1 ELSE 2 END, code"
    );
    on_conn!(c, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *e).await)
}
