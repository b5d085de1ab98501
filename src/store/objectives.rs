//! Service objectives and their revisions (R9.1), and the counts the built-in metrics need that
//! no other capability reads already (completed jobs for repeat repairs, costs per order).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

use crate::db::Conn;
use crate::{from_row, on_conn};

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Objective {
    pub id: i64,
    pub year: i32,
    /// rules::metrics::Metric code
    pub metric: String,
    /// company | service | quality | warehouse | sales
    pub department: String,
    pub target: f64,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub note: String,
    /// proposed | approved | withdrawn
    pub status: String,
    pub proposed_by: Option<i64>,
    pub approved_by: Option<i64>,
    pub approved_by_name: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
from_row!(Objective { id: i64, year: i32, metric: String, department: String, target: f64, owner_id: Option<i64>,
    owner_name: Option<String>, note: String, status: String, proposed_by: Option<i64>, approved_by: Option<i64>,
    approved_by_name: Option<String>, approved_at: Option<DateTime<Utc>>, version: i64, created_at: DateTime<Utc>,
    updated_at: DateTime<Utc> });

const SELECT: &str = "SELECT o.id, o.year, o.metric, o.department, o.target, o.owner_id, u.display_name AS owner_name, \
    o.note, o.status, o.proposed_by, o.approved_by, a.display_name AS approved_by_name, o.approved_at, o.version, \
    o.created_at, o.updated_at FROM objectives o LEFT JOIN users u ON u.id = o.owner_id \
    LEFT JOIN users a ON a.id = o.approved_by";

pub async fn of_year(c: Conn<'_>, year: i32) -> sqlx::Result<Vec<Objective>> {
    let sql = format!(
        "{SELECT} WHERE o.year = $1 ORDER BY CASE o.department WHEN 'company' THEN 0 WHEN 'service' THEN 1 \
         WHEN 'quality' THEN 2 WHEN 'warehouse' THEN 3 ELSE 4 END, o.metric"
    );
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(year).fetch_all(&mut *e).await)
}

pub async fn get(c: Conn<'_>, id: i64) -> sqlx::Result<Option<Objective>> {
    let sql = format!("{SELECT} WHERE o.id = $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

pub async fn find(c: Conn<'_>, year: i32, metric: &str, department: &str) -> sqlx::Result<Option<i64>> {
    on_conn!(c, |e| {
        sqlx::query_scalar("SELECT id FROM objectives WHERE year = $1 AND metric = $2 AND department = $3")
            .bind(year)
            .bind(metric)
            .bind(department)
            .fetch_optional(&mut *e)
            .await
    })
}

pub struct NewObjective<'a> {
    pub year: i32,
    pub metric: &'a str,
    pub department: &'a str,
    pub target: f64,
    pub owner_id: Option<i64>,
    pub note: &'a str,
    pub proposed_by: Option<i64>,
}

pub async fn insert(c: Conn<'_>, o: &NewObjective<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO objectives (year, metric, department, target, owner_id, note, status, proposed_by, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'proposed', $7, $8, $8) RETURNING id",
        )
        .bind(o.year)
        .bind(o.metric)
        .bind(o.department)
        .bind(o.target)
        .bind(o.owner_id)
        .bind(o.note)
        .bind(o.proposed_by)
        .bind(now)
        .fetch_one(&mut *e)
        .await
    })
}

/// The fields a revision or approval writes.
pub struct Change<'a> {
    pub target: f64,
    pub owner_id: Option<i64>,
    pub note: &'a str,
    pub status: &'a str,
    pub approved_by: Option<i64>,
    pub approved_at: Option<DateTime<Utc>>,
}

/// Writes a change over `version`; false when the objective changed meanwhile.
pub async fn update(c: Conn<'_>, id: i64, version: i64, ch: &Change<'_>, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE objectives SET target = $1, owner_id = $2, note = $3, status = $4, approved_by = $5, \
             approved_at = $6, version = version + 1, updated_at = $7 WHERE id = $8 AND version = $9",
        )
        .bind(ch.target)
        .bind(ch.owner_id)
        .bind(ch.note)
        .bind(ch.status)
        .bind(ch.approved_by)
        .bind(ch.approved_at)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Revision {
    pub id: i64,
    pub objective_id: i64,
    pub version: i64,
    /// propose | revise | approve | withdraw
    pub action: String,
    pub target: f64,
    pub status: String,
    pub note: String,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub at: DateTime<Utc>,
}
from_row!(Revision { id: i64, objective_id: i64, version: i64, action: String, target: f64, status: String,
    note: String, actor_id: Option<i64>, actor_label: String, at: DateTime<Utc> });

pub async fn add_revision(c: Conn<'_>, r: &Revision) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query(
            "INSERT INTO objective_revisions (objective_id, version, action, target, status, note, actor_id, \
             actor_label, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(r.objective_id)
        .bind(r.version)
        .bind(&r.action)
        .bind(r.target)
        .bind(&r.status)
        .bind(&r.note)
        .bind(r.actor_id)
        .bind(&r.actor_label)
        .bind(r.at)
        .execute(&mut *e)
        .await
        .map(|_| ())
    })
}

pub async fn revisions(c: Conn<'_>, objective_id: i64) -> sqlx::Result<Vec<Revision>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT id, objective_id, version, action, target, status, note, actor_id, actor_label, at \
             FROM objective_revisions WHERE objective_id = $1 ORDER BY id",
        )
        .bind(objective_id)
        .fetch_all(&mut *e)
        .await
    })
}

// ------------------------------------------------------------------ counts for metrics

/// A completed job: (order, unit, fault code, completed at).
pub type JobRow = (i64, Option<i64>, Option<String>, DateTime<Utc>);

/// Jobs completed in `[from, to)` (cancelled ones excluded), for repeat repairs.
pub async fn completed_jobs(c: Conn<'_>, from: DateTime<Utc>, to: DateTime<Utc>) -> sqlx::Result<Vec<JobRow>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT id, unit_id, fault_code, completed_at FROM work_orders \
             WHERE completed_at >= $1 AND completed_at < $2 AND status <> 'cancelled'",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&mut *e)
        .await
    })
}

/// (cost in cents — parts at cost, labour and travel —, orders) of the orders completed in `[from, to)`.
pub async fn cost_of_completed(c: Conn<'_>, from: DateTime<Utc>, to: DateTime<Utc>) -> sqlx::Result<(i64, i64)> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(parts_cost_cents + labour_cents + travel_cents), 0) AS BIGINT), COUNT(*) \
             FROM work_orders WHERE completed_at >= $1 AND completed_at < $2 AND status <> 'cancelled'",
        )
        .bind(from)
        .bind(to)
        .fetch_one(&mut *e)
        .await
    })
}
