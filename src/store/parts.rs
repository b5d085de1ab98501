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

/// Several parts at once (a group of stock movements' parts), in no particular order.
pub async fn get_parts(c: Conn<'_>, ids: &[i64]) -> sqlx::Result<Vec<Part>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!("SELECT {PART_COLUMNS} FROM parts WHERE id IN ({})", super::placeholders(1, ids.len()));
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(id);
        }
        q.fetch_all(&mut *e).await
    })
}

/// Several locations at once, in no particular order.
pub async fn get_warehouses(c: Conn<'_>, ids: &[i64]) -> sqlx::Result<Vec<Warehouse>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!("SELECT {WAREHOUSE_COLUMNS} FROM warehouses WHERE id IN ({})", super::placeholders(1, ids.len()));
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(id);
        }
        q.fetch_all(&mut *e).await
    })
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

// ------------------------------------------------------------------ the catalogue

/// A part as it is written (checked by the service first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartData {
    pub part_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub key_part: bool,
    pub serial_tracked: bool,
    pub unit_cost_cents: i64,
    pub price_cents: i64,
    pub supplier: String,
}

pub async fn insert_part(c: Conn<'_>, d: &PartData, now: DateTime<Utc>) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO parts (part_no, name_zh, name_en, key_part, serial_tracked, unit_cost_cents, price_cents, \
             supplier, active, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, 1, $9, $9) RETURNING id",
        )
        .bind(&d.part_no)
        .bind(&d.name_zh)
        .bind(&d.name_en)
        .bind(d.key_part)
        .bind(d.serial_tracked)
        .bind(d.unit_cost_cents)
        .bind(d.price_cents)
        .bind(&d.supplier)
        .bind(now)
        .fetch_one(&mut *e)
        .await
    })
}

/// Writes a part over `version`; false when it changed meanwhile.
pub async fn update_part(
    c: Conn<'_>,
    id: i64,
    version: i64,
    d: &PartData,
    active: bool,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE parts SET part_no = $1, name_zh = $2, name_en = $3, key_part = $4, serial_tracked = $5, \
             unit_cost_cents = $6, price_cents = $7, supplier = $8, active = $9, updated_at = $10, \
             version = version + 1 WHERE id = $11 AND version = $12",
        )
        .bind(&d.part_no)
        .bind(&d.name_zh)
        .bind(&d.name_en)
        .bind(d.key_part)
        .bind(d.serial_tracked)
        .bind(d.unit_cost_cents)
        .bind(d.price_cents)
        .bind(&d.supplier)
        .bind(active)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// A product model a part fits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FittedModel {
    pub id: i64,
    pub code: String,
    pub name: String,
}
from_row!(FittedModel { id: i64, code: String, name: String });

/// The models the part fits, by code.
pub async fn models_of(c: Conn<'_>, part_id: i64) -> sqlx::Result<Vec<FittedModel>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT m.id, m.code, m.name FROM part_models pm JOIN product_models m ON m.id = pm.model_id \
             WHERE pm.part_id = $1 ORDER BY m.code",
        )
        .bind(part_id)
        .fetch_all(&mut *e)
        .await
    })
}

/// Replaces the models the part fits.
pub async fn set_models(mut c: Conn<'_>, part_id: i64, model_ids: &[i64]) -> sqlx::Result<()> {
    on_conn!(&mut c, |e| {
        sqlx::query("DELETE FROM part_models WHERE part_id = $1").bind(part_id).execute(&mut **e).await.map(|_| ())
    })?;
    for m in model_ids {
        on_conn!(&mut c, |e| {
            sqlx::query("INSERT INTO part_models (part_id, model_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(part_id)
                .bind(*m)
                .execute(&mut **e)
                .await
                .map(|_| ())
        })?;
    }
    Ok(())
}

/// Which parts a list shows.
#[derive(Clone, Debug, Default)]
pub struct PartFilter {
    /// Part numbers starting with it, or names (Chinese or English) containing it.
    pub q: Option<String>,
    pub key_only: bool,
    /// None: active and inactive.
    pub active: Option<bool>,
    /// Parts fitting this model.
    pub model_id: Option<i64>,
    /// Keyset: after this part number.
    pub after: Option<String>,
    pub limit: i64,
}

/// `%` and `_` typed by a user are meant literally (`LIKE … ESCAPE '\'`).
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Parts by part number.
pub async fn list_parts(c: Conn<'_>, f: &PartFilter) -> sqlx::Result<Vec<Part>> {
    let mut sql = format!("SELECT {PART_COLUMNS} FROM parts p WHERE 1 = 1");
    let mut n = 0;
    let mut p = || {
        n += 1;
        format!("${n}")
    };
    let q = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if q.is_some() {
        let (prefix, contains) = (p(), p());
        sql.push_str(&format!(
            " AND (p.part_no LIKE {prefix} ESCAPE '\\' OR lower(p.name_zh) LIKE {contains} ESCAPE '\\' \
             OR lower(p.name_en) LIKE {contains} ESCAPE '\\')"
        ));
    }
    if f.key_only {
        sql.push_str(" AND p.key_part");
    }
    match f.active {
        Some(true) => sql.push_str(" AND p.active"),
        Some(false) => sql.push_str(" AND NOT p.active"),
        None => {}
    }
    if f.model_id.is_some() {
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM part_models pm WHERE pm.part_id = p.id AND pm.model_id = {})",
            p()
        ));
    }
    if f.after.is_some() {
        sql.push_str(&format!(" AND p.part_no > {}", p()));
    }
    sql.push_str(&format!(" ORDER BY p.part_no LIMIT {}", p()));
    on_conn!(c, |e| {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        if let Some(q) = q {
            query = query
                .bind(format!("{}%", like_escape(&q.to_uppercase())))
                .bind(format!("%{}%", like_escape(&q.to_lowercase())));
        }
        if let Some(m) = f.model_id {
            query = query.bind(m);
        }
        if let Some(a) = &f.after {
            query = query.bind(a.clone());
        }
        query.bind(f.limit).fetch_all(&mut *e).await
    })
}

// ------------------------------------------------------------------ stock rows (read, reorder points)

/// One location's stock of one part, with the location's names.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct StockAt {
    pub warehouse_id: i64,
    pub warehouse_code: String,
    pub warehouse_name: String,
    /// central | regional | van
    pub warehouse_kind: String,
    pub warehouse_active: bool,
    pub part_id: i64,
    pub part_no: String,
    pub name_zh: String,
    pub name_en: String,
    /// Usable pieces.
    pub on_hand: i64,
    /// Faulty pieces returned, not usable.
    pub faulty: i64,
    /// At or below it the part is to be replenished (0: not watched).
    pub reorder_point: i64,
    /// How many to order then (0: up to twice the point).
    pub reorder_qty: i64,
    pub updated_at: DateTime<Utc>,
}
from_row!(StockAt { warehouse_id: i64, warehouse_code: String, warehouse_name: String, warehouse_kind: String,
    warehouse_active: bool, part_id: i64, part_no: String, name_zh: String, name_en: String, on_hand: i64,
    faulty: i64, reorder_point: i64, reorder_qty: i64, updated_at: DateTime<Utc> });

impl StockAt {
    /// The part's name in the page's language.
    pub fn name(&self, locale: &str) -> &str {
        if locale.starts_with("en") && !self.name_en.is_empty() { &self.name_en } else { &self.name_zh }
    }

    /// How many to order when at or below the reorder point.
    pub fn to_order(&self) -> Option<i64> {
        rules::parts::reorder(self.on_hand, self.reorder_point, self.reorder_qty)
    }
}

const STOCK_SELECT: &str = "SELECT s.warehouse_id, w.code AS warehouse_code, w.name AS warehouse_name, \
    w.kind AS warehouse_kind, w.active AS warehouse_active, s.part_id, p.part_no, p.name_zh, p.name_en, \
    s.on_hand, s.faulty, s.reorder_point, s.reorder_qty, s.updated_at \
    FROM stock s JOIN warehouses w ON w.id = s.warehouse_id JOIN parts p ON p.id = s.part_id";

/// A part's stock at every location that has a row for it (central first, then regional, vans).
pub async fn stock_of_part(c: Conn<'_>, part_id: i64) -> sqlx::Result<Vec<StockAt>> {
    let sql = format!(
        "{STOCK_SELECT} WHERE s.part_id = $1 ORDER BY \
         CASE w.kind WHEN 'central' THEN 0 WHEN 'regional' THEN 1 ELSE 2 END, w.code"
    );
    on_conn!(c, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(part_id).fetch_all(&mut *e).await)
}

/// A location's stock rows by part number, after `after` (keyset), at most `limit`.
pub async fn stock_of_warehouse(
    c: Conn<'_>,
    warehouse_id: i64,
    after: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<StockAt>> {
    let sql = format!("{STOCK_SELECT} WHERE s.warehouse_id = $1 AND p.part_no > $2 ORDER BY p.part_no LIMIT $3");
    on_conn!(c, |e| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(warehouse_id)
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(&mut *e)
            .await
    })
}

pub async fn stock_at(c: Conn<'_>, warehouse_id: i64, part_id: i64) -> sqlx::Result<Option<StockAt>> {
    let sql = format!("{STOCK_SELECT} WHERE s.warehouse_id = $1 AND s.part_id = $2");
    on_conn!(c, |e| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(warehouse_id).bind(part_id).fetch_optional(&mut *e).await
    })
}

/// Sets the reorder point and quantity of a part at a location, creating its stock row (with
/// nothing in it) when there is none. The quantities are left alone: only movements change them.
pub async fn set_reorder(
    c: Conn<'_>,
    warehouse_id: i64,
    part_id: i64,
    reorder_point: i64,
    reorder_qty: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query(
            "INSERT INTO stock (warehouse_id, part_id, on_hand, faulty, reorder_point, reorder_qty, updated_at) \
             VALUES ($1, $2, 0, 0, $3, $4, $5) ON CONFLICT (warehouse_id, part_id) DO UPDATE SET \
             reorder_point = excluded.reorder_point, reorder_qty = excluded.reorder_qty, updated_at = excluded.updated_at",
        )
        .bind(warehouse_id)
        .bind(part_id)
        .bind(reorder_point)
        .bind(reorder_qty)
        .bind(now)
        .execute(&mut *e)
        .await
        .map(|_| ())
    })
}

/// Pieces (usable and faulty) held at a location.
pub async fn pieces_at(c: Conn<'_>, warehouse_id: i64) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(on_hand + faulty), 0) AS BIGINT) FROM stock WHERE warehouse_id = $1",
        )
        .bind(warehouse_id)
        .fetch_one(&mut *e)
        .await
    })
}

/// A stock row at or below its reorder point, with what the replenishment list shows.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct LowStock {
    pub warehouse_id: i64,
    pub warehouse_code: String,
    pub warehouse_name: String,
    pub part_id: i64,
    pub part_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub key_part: bool,
    pub supplier: String,
    pub unit_cost_cents: i64,
    pub on_hand: i64,
    pub faulty: i64,
    pub reorder_point: i64,
    pub reorder_qty: i64,
}
from_row!(LowStock {
    warehouse_id: i64,
    warehouse_code: String,
    warehouse_name: String,
    part_id: i64,
    part_no: String,
    name_zh: String,
    name_en: String,
    key_part: bool,
    supplier: String,
    unit_cost_cents: i64,
    on_hand: i64,
    faulty: i64,
    reorder_point: i64,
    reorder_qty: i64
});

/// Active parts at active locations at or below their reorder point, by location code and part
/// number, after the keyset `(warehouse code, part number)`.
pub async fn low_stock(
    c: Conn<'_>,
    warehouse_id: Option<i64>,
    after: Option<(&str, &str)>,
    limit: i64,
) -> sqlx::Result<Vec<LowStock>> {
    let mut sql = String::from(
        "SELECT s.warehouse_id, w.code AS warehouse_code, w.name AS warehouse_name, s.part_id, p.part_no, \
         p.name_zh, p.name_en, p.key_part, p.supplier, p.unit_cost_cents, s.on_hand, s.faulty, s.reorder_point, \
         s.reorder_qty FROM stock s JOIN warehouses w ON w.id = s.warehouse_id JOIN parts p ON p.id = s.part_id \
         WHERE s.on_hand <= s.reorder_point AND s.reorder_point > 0 AND w.active AND p.active \
         AND (w.code > $1 OR (w.code = $1 AND p.part_no > $2))",
    );
    if warehouse_id.is_some() {
        sql.push_str(" AND s.warehouse_id = $4");
    }
    sql.push_str(" ORDER BY w.code, p.part_no LIMIT $3");
    let (code, part_no) = after.unwrap_or(("", ""));
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(code).bind(part_no).bind(limit);
        if let Some(w) = warehouse_id {
            q = q.bind(w);
        }
        q.fetch_all(&mut *e).await
    })
}

// ------------------------------------------------------------------ warehouses

/// A location with its van engineer's and region's names, for lists and pages.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WarehouseView {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// central | regional | van
    pub kind: String,
    pub region_code: Option<String>,
    pub region_name: Option<String>,
    pub engineer_id: Option<i64>,
    pub engineer_name: Option<String>,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
from_row!(WarehouseView { id: i64, code: String, name: String, kind: String, region_code: Option<String>,
    region_name: Option<String>, engineer_id: Option<i64>, engineer_name: Option<String>, active: bool,
    version: i64, created_at: DateTime<Utc>, updated_at: DateTime<Utc> });

const WAREHOUSE_VIEW: &str = "SELECT w.id, w.code, w.name, w.kind, w.region_code, r.name_zh AS region_name, \
    w.engineer_id, u.display_name AS engineer_name, w.active, w.version, w.created_at, w.updated_at \
    FROM warehouses w LEFT JOIN regions r ON r.code = w.region_code LEFT JOIN users u ON u.id = w.engineer_id";

pub async fn warehouse_view(c: Conn<'_>, id: i64) -> sqlx::Result<Option<WarehouseView>> {
    let sql = format!("{WAREHOUSE_VIEW} WHERE w.id = $1");
    on_conn!(c, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

/// Every location (a company has tens to hundreds): central, regional, vans, by code.
pub async fn list_warehouses(c: Conn<'_>, active: Option<bool>) -> sqlx::Result<Vec<WarehouseView>> {
    let filter = match active {
        Some(true) => " WHERE w.active",
        Some(false) => " WHERE NOT w.active",
        None => "",
    };
    let sql = format!(
        "{WAREHOUSE_VIEW}{filter} ORDER BY CASE w.kind WHEN 'central' THEN 0 WHEN 'regional' THEN 1 ELSE 2 END, w.code"
    );
    on_conn!(c, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *e).await)
}

pub async fn warehouse_by_code(c: Conn<'_>, code: &str) -> sqlx::Result<Option<Warehouse>> {
    let sql = format!("SELECT {WAREHOUSE_COLUMNS} FROM warehouses WHERE code = $1");
    on_conn!(c, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(code).fetch_optional(&mut *e).await)
}

/// A location as it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WarehouseData {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub region_code: Option<String>,
    pub engineer_id: Option<i64>,
}

pub async fn insert_warehouse(c: Conn<'_>, d: &WarehouseData, now: DateTime<Utc>) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO warehouses (code, name, kind, region_code, engineer_id, active, version, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, TRUE, 1, $6, $6) RETURNING id",
        )
        .bind(&d.code)
        .bind(&d.name)
        .bind(&d.kind)
        .bind(&d.region_code)
        .bind(d.engineer_id)
        .bind(now)
        .fetch_one(&mut *e)
        .await
    })
}

/// Writes a location over `version`; false when it changed meanwhile.
pub async fn update_warehouse(
    c: Conn<'_>,
    id: i64,
    version: i64,
    d: &WarehouseData,
    active: bool,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE warehouses SET code = $1, name = $2, kind = $3, region_code = $4, engineer_id = $5, active = $6, \
             updated_at = $7, version = version + 1 WHERE id = $8 AND version = $9",
        )
        .bind(&d.code)
        .bind(&d.name)
        .bind(&d.kind)
        .bind(&d.region_code)
        .bind(d.engineer_id)
        .bind(active)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}
