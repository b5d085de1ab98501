//! The quarterly fault analysis's groups (R9.2) and the corrective actions taken on them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

use crate::db::Conn;
use crate::{from_row, on_conn};

/// What the faults are grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimension {
    /// The fault code within its product category.
    Fault,
    Model,
    Region,
    /// Faulty parts returned (key parts and others).
    Part,
}

impl Dimension {
    pub const ALL: [Dimension; 4] = [Dimension::Fault, Dimension::Model, Dimension::Region, Dimension::Part];

    pub fn code(self) -> &'static str {
        match self {
            Dimension::Fault => "fault",
            Dimension::Model => "model",
            Dimension::Region => "region",
            Dimension::Part => "part",
        }
    }

    pub fn parse(s: &str) -> Option<Dimension> {
        Self::ALL.into_iter().find(|d| d.code() == s.trim())
    }
}

/// A group of the analysis: (key, label, count, cost in cents).
#[derive(Clone, Debug, Serialize)]
pub struct Group {
    pub key: String,
    pub label: String,
    pub count: i64,
    pub cost_cents: i64,
}
from_row!(Group { key: String, label: String, count: i64, cost_cents: i64 });

/// Completed orders with a fault code in `[from, to)` (or, by part, the faulty pieces returned
/// then) grouped, with what they cost (parts at cost, labour and travel). `key` narrows to one
/// group (a corrective action's later count).
pub async fn groups(
    c: Conn<'_>,
    d: Dimension,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    key: Option<&str>,
) -> sqlx::Result<Vec<Group>> {
    let cost = "CAST(COALESCE(SUM(o.parts_cost_cents + o.labour_cents + o.travel_cents), 0) AS BIGINT)";
    let completed =
        "o.completed_at >= $1 AND o.completed_at < $2 AND o.status <> 'cancelled' AND o.fault_code IS NOT NULL";
    let sql = match d {
        // Grouped first, named after: a quarter at 5 M orders is some 600,000 rows, read from
        // the covering index of migration 0022, and a name lookup per group, not per row.
        Dimension::Fault => format!(
            "SELECT COALESCE(g.category_code, '') || '/' || g.fault_code AS key, COALESCE(f.name_zh, g.fault_code) AS label, \
             g.count, g.cost_cents FROM (SELECT o.category_code, o.fault_code, COUNT(*) AS count, {cost} AS cost_cents \
             FROM work_orders o WHERE {completed} \
             AND (CAST($3 AS TEXT) IS NULL OR COALESCE(o.category_code, '') || '/' || o.fault_code = $3) \
             GROUP BY o.category_code, o.fault_code) g \
             LEFT JOIN fault_codes f ON f.category_code = g.category_code AND f.code = g.fault_code"
        ),
        Dimension::Model => format!(
            "SELECT m.code AS key, MAX(m.name) AS label, COUNT(*) AS count, {cost} AS cost_cents \
             FROM work_orders o JOIN units u ON u.id = o.unit_id JOIN product_models m ON m.id = u.model_id \
             WHERE {completed} AND (CAST($3 AS TEXT) IS NULL OR m.code = $3) GROUP BY m.code"
        ),
        Dimension::Region => format!(
            "SELECT COALESCE(g.region_code, '') AS key, COALESCE(r.name_zh, '') AS label, g.count, g.cost_cents \
             FROM (SELECT o.region_code, COUNT(*) AS count, {cost} AS cost_cents FROM work_orders o \
             WHERE {completed} AND (CAST($3 AS TEXT) IS NULL OR COALESCE(o.region_code, '') = $3) GROUP BY o.region_code) g \
             LEFT JOIN regions r ON r.code = g.region_code"
        ),
        Dimension::Part => "SELECT p.part_no AS key, MAX(p.name_zh) AS label, CAST(SUM(m.qty) AS BIGINT) AS count, \
             CAST(SUM(m.qty * m.unit_cost_cents) AS BIGINT) AS cost_cents FROM stock_movements m \
             JOIN parts p ON p.id = m.part_id WHERE m.kind = 'return_faulty' AND m.created_at >= $1 \
             AND m.created_at < $2 AND (CAST($3 AS TEXT) IS NULL OR p.part_no = $3) GROUP BY p.part_no"
            .to_string(),
    };
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(from).bind(to).bind(key).fetch_all(&mut *e).await)
}

// ------------------------------------------------------------------ corrective actions

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CorrectiveAction {
    pub id: i64,
    /// fault | model | region | part
    pub dimension: String,
    pub key: String,
    pub label: String,
    #[schema(value_type = String, format = Date)]
    pub period_from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub period_to: NaiveDate,
    /// The group's count in the analysed period.
    pub baseline: i64,
    pub problem: String,
    pub action: String,
    pub owner_id: i64,
    pub owner_name: String,
    #[schema(value_type = String, format = Date)]
    pub due_on: NaiveDate,
    /// open | done | verified | cancelled
    pub status: String,
    pub done_note: String,
    pub done_at: Option<DateTime<Utc>>,
    pub verification: String,
    pub effective: Option<bool>,
    pub verified_by: Option<i64>,
    pub verified_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
from_row!(CorrectiveAction { id: i64, dimension: String, key: String, label: String, period_from: NaiveDate,
    period_to: NaiveDate, baseline: i64, problem: String, action: String, owner_id: i64, owner_name: String,
    due_on: NaiveDate, status: String, done_note: String, done_at: Option<DateTime<Utc>>, verification: String,
    effective: Option<bool>, verified_by: Option<i64>, verified_at: Option<DateTime<Utc>>, version: i64,
    created_by: Option<i64>, created_at: DateTime<Utc>, updated_at: DateTime<Utc> });

const SELECT: &str = "SELECT a.id, a.dimension, a.key, a.label, a.period_from, a.period_to, a.baseline, a.problem, \
    a.action, a.owner_id, u.display_name AS owner_name, a.due_on, a.status, a.done_note, a.done_at, a.verification, \
    a.effective, a.verified_by, a.verified_at, a.version, a.created_by, a.created_at, a.updated_at \
    FROM corrective_actions a JOIN users u ON u.id = a.owner_id";

pub struct NewAction<'a> {
    pub dimension: &'a str,
    pub key: &'a str,
    pub label: &'a str,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub baseline: i64,
    pub problem: &'a str,
    pub action: &'a str,
    pub owner_id: i64,
    pub due_on: NaiveDate,
    pub created_by: Option<i64>,
}

pub async fn insert(c: Conn<'_>, a: &NewAction<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO corrective_actions (dimension, key, label, period_from, period_to, baseline, problem, action, \
             owner_id, due_on, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
        )
        .bind(a.dimension)
        .bind(a.key)
        .bind(a.label)
        .bind(a.period_from)
        .bind(a.period_to)
        .bind(a.baseline)
        .bind(a.problem)
        .bind(a.action)
        .bind(a.owner_id)
        .bind(a.due_on)
        .bind(a.created_by)
        .bind(now)
        .fetch_one(&mut *e)
        .await
    })
}

pub async fn get(c: Conn<'_>, id: i64) -> sqlx::Result<Option<CorrectiveAction>> {
    let sql = format!("{SELECT} WHERE a.id = $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

/// Open and done (not yet verified) actions first by due day, then the closed ones, newest first.
pub async fn list(c: Conn<'_>, open_only: bool, limit: i64) -> sqlx::Result<Vec<CorrectiveAction>> {
    let wh = if open_only { " WHERE a.status IN ('open', 'done')" } else { "" };
    let sql = format!(
        "{SELECT}{wh} ORDER BY CASE WHEN a.status IN ('open', 'done') THEN 0 ELSE 1 END, \
         CASE WHEN a.status IN ('open', 'done') THEN a.due_on END, a.id DESC LIMIT $1"
    );
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(limit).fetch_all(&mut *e).await)
}

/// What a step writes.
pub struct Step<'a> {
    pub status: &'a str,
    pub done_note: &'a str,
    pub done_at: Option<DateTime<Utc>>,
    pub verification: &'a str,
    pub effective: Option<bool>,
    pub verified_by: Option<i64>,
    pub verified_at: Option<DateTime<Utc>>,
}

/// Writes a step over `version`; false when the action changed meanwhile.
pub async fn step(c: Conn<'_>, id: i64, version: i64, s: &Step<'_>, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE corrective_actions SET status = $1, done_note = $2, done_at = $3, verification = $4, \
             effective = $5, verified_by = $6, verified_at = $7, version = version + 1, updated_at = $8 \
             WHERE id = $9 AND version = $10",
        )
        .bind(s.status)
        .bind(s.done_note)
        .bind(s.done_at)
        .bind(s.verification)
        .bind(s.effective)
        .bind(s.verified_by)
        .bind(s.verified_at)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}
