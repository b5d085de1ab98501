//! Engineers' requests for parts from a warehouse (R8.1 "or requests them from a warehouse"):
//! open until the warehouse picks them into the van (a transfer) or someone cancels them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

use crate::db::Conn;
use crate::{from_row, on_conn};

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PartRequest {
    pub id: i64,
    pub order_id: Option<i64>,
    pub part_id: i64,
    pub part_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub qty: i64,
    /// Asked of.
    pub warehouse_id: i64,
    pub warehouse_name: String,
    /// Delivered to (an engineer's van).
    pub van_id: i64,
    pub van_name: String,
    /// What the warehouse holds of the part now.
    pub on_hand: i64,
    /// open | fulfilled | cancelled
    pub status: String,
    pub movement_id: Option<i64>,
    pub note: String,
    pub requested_by: Option<i64>,
    pub requested_by_name: Option<String>,
    pub closed_by: Option<i64>,
    pub closed_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}
from_row!(PartRequest { id: i64, order_id: Option<i64>, part_id: i64, part_no: String, name_zh: String,
    name_en: String, qty: i64, warehouse_id: i64, warehouse_name: String, van_id: i64, van_name: String,
    on_hand: i64, status: String, movement_id: Option<i64>, note: String, requested_by: Option<i64>,
    requested_by_name: Option<String>, closed_by: Option<i64>, closed_at: Option<DateTime<Utc>>, version: i64,
    created_at: DateTime<Utc> });

impl PartRequest {
    pub fn name(&self, locale: &str) -> &str {
        if locale.starts_with("en") && !self.name_en.is_empty() { &self.name_en } else { &self.name_zh }
    }
}

const SELECT: &str = "SELECT r.id, r.order_id, r.part_id, p.part_no, p.name_zh, p.name_en, r.qty, r.warehouse_id, \
    w.name AS warehouse_name, r.van_id, v.name AS van_name, \
    COALESCE((SELECT s.on_hand FROM stock s WHERE s.warehouse_id = r.warehouse_id AND s.part_id = r.part_id), 0) \
    AS on_hand, r.status, r.movement_id, r.note, r.requested_by, u.display_name AS requested_by_name, r.closed_by, \
    r.closed_at, r.version, r.created_at FROM part_requests r JOIN parts p ON p.id = r.part_id \
    JOIN warehouses w ON w.id = r.warehouse_id JOIN warehouses v ON v.id = r.van_id \
    LEFT JOIN users u ON u.id = r.requested_by";

pub struct NewRequest<'a> {
    pub order_id: Option<i64>,
    pub part_id: i64,
    pub qty: i64,
    pub warehouse_id: i64,
    pub van_id: i64,
    pub note: &'a str,
    pub requested_by: Option<i64>,
}

pub async fn insert(c: Conn<'_>, r: &NewRequest<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO part_requests (order_id, part_id, qty, warehouse_id, van_id, note, requested_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(r.order_id)
        .bind(r.part_id)
        .bind(r.qty)
        .bind(r.warehouse_id)
        .bind(r.van_id)
        .bind(r.note)
        .bind(r.requested_by)
        .bind(now)
        .fetch_one(&mut *e)
        .await
    })
}

pub async fn get(c: Conn<'_>, id: i64) -> sqlx::Result<Option<PartRequest>> {
    let sql = format!("{SELECT} WHERE r.id = $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

/// Which requests a list shows, oldest first when open (the picking queue), else newest first.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub warehouse_id: Option<i64>,
    pub order_id: Option<i64>,
    pub van_id: Option<i64>,
    pub open_only: bool,
    pub limit: i64,
}

pub async fn list(c: Conn<'_>, f: &Filter) -> sqlx::Result<Vec<PartRequest>> {
    let mut conds = vec![];
    if f.warehouse_id.is_some() {
        conds.push("r.warehouse_id = $1");
    } else {
        conds.push("CAST($1 AS BIGINT) IS NULL");
    }
    if f.order_id.is_some() {
        conds.push("r.order_id = $2");
    } else {
        conds.push("CAST($2 AS BIGINT) IS NULL");
    }
    if f.van_id.is_some() {
        conds.push("r.van_id = $3");
    } else {
        conds.push("CAST($3 AS BIGINT) IS NULL");
    }
    if f.open_only {
        conds.push("r.status = 'open'");
    }
    let order = if f.open_only { "r.id" } else { "r.id DESC" };
    let sql = format!("{SELECT} WHERE {} ORDER BY {order} LIMIT $4", conds.join(" AND "));
    on_conn!(c, |e| {
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(f.warehouse_id)
            .bind(f.order_id)
            .bind(f.van_id)
            .bind(f.limit)
            .fetch_all(&mut *e)
            .await
    })
}

/// How a request ends: fulfilled by a movement, or cancelled with a reason.
pub struct Closing<'a> {
    pub status: &'a str,
    pub movement_id: Option<i64>,
    pub note: &'a str,
    pub by: Option<i64>,
}

/// Closes an open request over its version; false when it changed meanwhile or is not open.
pub async fn close(c: Conn<'_>, id: i64, version: i64, k: &Closing<'_>, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE part_requests SET status = $1, movement_id = $2, note = $3, closed_by = $4, closed_at = $5, \
             version = version + 1 WHERE id = $6 AND version = $7 AND status = 'open'",
        )
        .bind(k.status)
        .bind(k.movement_id)
        .bind(k.note)
        .bind(k.by)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}
