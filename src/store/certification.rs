//! Certification self-assessments (R10.1): the company's configured points per indicator, the
//! assessments (one per year and scheme) with their indicators and special deductions.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

use crate::db::Conn;
use crate::{from_row, on_conn};

// ------------------------------------------------------------------ configured points

/// A scheme's configured points: a JSON object of indicator code → points.
#[derive(Clone, Debug)]
pub struct PointsRow {
    pub scheme: String,
    pub points: String,
    pub version: i64,
    pub updated_by: Option<i64>,
    pub updated_at: DateTime<Utc>,
}
from_row!(PointsRow { scheme: String, points: String, version: i64, updated_by: Option<i64>, updated_at: DateTime<Utc> });

pub async fn points(c: Conn<'_>, scheme: &str) -> sqlx::Result<Option<PointsRow>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT scheme, points, version, updated_by, updated_at FROM certification_points WHERE scheme = $1",
        )
        .bind(scheme)
        .fetch_optional(&mut *e)
        .await
    })
}

/// Writes the points over `version` (0: none configured yet). False when someone saved first.
pub async fn save_points(
    c: Conn<'_>,
    scheme: &str,
    json: &str,
    version: i64,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let sql = if version == 0 {
        "INSERT INTO certification_points (scheme, points, version, updated_by, updated_at) \
         VALUES ($1, $2, 1, $3, $4) ON CONFLICT (scheme) DO NOTHING"
    } else {
        "UPDATE certification_points SET points = $2, version = version + 1, updated_by = $3, updated_at = $4 \
         WHERE scheme = $1 AND version = $5"
    };
    on_conn!(c, |e| {
        sqlx::query(sql)
            .bind(scheme)
            .bind(json)
            .bind(by)
            .bind(now)
            .bind(version)
            .execute(&mut *e)
            .await
            .map(|r| r.rows_affected() == 1)
    })
}

// ------------------------------------------------------------------ assessments

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Assessment {
    pub id: i64,
    pub year: i64,
    /// gbt27922-2011 | sbt10401-2006
    pub scheme: String,
    pub notes: String,
    /// The special bonus (+1) and why; none without a bonus.
    pub bonus_reason: Option<String>,
    /// As of the last save; none while no indicator is assessed.
    pub score: Option<f64>,
    /// fail | pass | three_star | four_star | five_star, as of the last save.
    pub level: Option<String>,
    pub version: i64,
    pub created_by: Option<i64>,
    pub updated_by: Option<i64>,
    pub updated_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Indicators with a status.
    pub assessed: i64,
    pub indicators: i64,
}
from_row!(Assessment { id: i64, year: i64, scheme: String, notes: String, bonus_reason: Option<String>,
    score: Option<f64>, level: Option<String>, version: i64, created_by: Option<i64>, updated_by: Option<i64>,
    updated_by_name: Option<String>, created_at: DateTime<Utc>, updated_at: DateTime<Utc>, assessed: i64,
    indicators: i64 });

const SELECT: &str = "SELECT a.id, a.year, a.scheme, a.notes, a.bonus_reason, a.score, a.level, a.version, \
    a.created_by, a.updated_by, u.display_name AS updated_by_name, a.created_at, a.updated_at, \
    (SELECT COUNT(*) FROM certification_items i WHERE i.assessment_id = a.id AND i.status IS NOT NULL) AS assessed, \
    (SELECT COUNT(*) FROM certification_items i WHERE i.assessment_id = a.id) AS indicators \
    FROM certification_assessments a LEFT JOIN users u ON u.id = a.updated_by";

/// A new assessment; none when the year already has one of the scheme.
pub async fn insert(
    c: Conn<'_>,
    year: i64,
    scheme: &str,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<i64>> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO certification_assessments (year, scheme, created_by, updated_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $3, $4, $4) ON CONFLICT (year, scheme) DO NOTHING RETURNING id",
        )
        .bind(year)
        .bind(scheme)
        .bind(by)
        .bind(now)
        .fetch_optional(&mut *e)
        .await
    })
}

pub async fn get(c: Conn<'_>, id: i64) -> sqlx::Result<Option<Assessment>> {
    let sql = format!("{SELECT} WHERE a.id = $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

/// Newest year first; one year's only when given.
pub async fn list(c: Conn<'_>, year: Option<i64>) -> sqlx::Result<Vec<Assessment>> {
    let filter = if year.is_some() { " WHERE a.year = $1" } else { "" };
    let sql = format!("{SELECT}{filter} ORDER BY a.year DESC, a.scheme, a.id LIMIT 500");
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        if let Some(y) = year {
            q = q.bind(y);
        }
        q.fetch_all(&mut *e).await
    })
}

/// What a save writes over `version`.
pub struct Changes<'a> {
    pub id: i64,
    pub version: i64,
    pub notes: &'a str,
    pub bonus_reason: Option<&'a str>,
    pub score: Option<f64>,
    pub level: Option<&'a str>,
    pub updated_by: Option<i64>,
}

/// False when the assessment changed meanwhile.
pub async fn update(c: Conn<'_>, a: &Changes<'_>, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE certification_assessments SET notes = $1, bonus_reason = $2, score = $3, level = $4, \
             updated_by = $5, updated_at = $6, version = version + 1 WHERE id = $7 AND version = $8",
        )
        .bind(a.notes)
        .bind(a.bonus_reason)
        .bind(a.score)
        .bind(a.level)
        .bind(a.updated_by)
        .bind(now)
        .bind(a.id)
        .bind(a.version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

// ------------------------------------------------------------------ indicators

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Item {
    pub code: String,
    pub points: f64,
    /// met | partial | not_met | not_applicable; none: not assessed yet.
    pub status: Option<String>,
    pub fraction: Option<f64>,
    pub evidence: String,
    pub assessed_by: Option<i64>,
    pub assessed_by_name: Option<String>,
    pub assessed_at: Option<DateTime<Utc>>,
}
from_row!(Item { code: String, points: f64, status: Option<String>, fraction: Option<f64>, evidence: String,
    assessed_by: Option<i64>, assessed_by_name: Option<String>, assessed_at: Option<DateTime<Utc>> });

pub async fn items(c: Conn<'_>, assessment_id: i64) -> sqlx::Result<Vec<Item>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT i.code, i.points, i.status, i.fraction, i.evidence, i.assessed_by, \
             u.display_name AS assessed_by_name, i.assessed_at FROM certification_items i \
             LEFT JOIN users u ON u.id = i.assessed_by WHERE i.assessment_id = $1",
        )
        .bind(assessment_id)
        .fetch_all(&mut *e)
        .await
    })
}

pub async fn insert_item(c: Conn<'_>, assessment_id: i64, code: &str, points: f64) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query("INSERT INTO certification_items (assessment_id, code, points) VALUES ($1, $2, $3)")
            .bind(assessment_id)
            .bind(code)
            .bind(points)
            .execute(&mut *e)
            .await
            .map(|_| ())
    })
}

pub async fn update_item(c: Conn<'_>, assessment_id: i64, i: &Item) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE certification_items SET points = $3, status = $4, fraction = $5, evidence = $6, \
             assessed_by = $7, assessed_at = $8 WHERE assessment_id = $1 AND code = $2",
        )
        .bind(assessment_id)
        .bind(&i.code)
        .bind(i.points)
        .bind(&i.status)
        .bind(i.fraction)
        .bind(&i.evidence)
        .bind(i.assessed_by)
        .bind(i.assessed_at)
        .execute(&mut *e)
        .await
        .map(|_| ())
    })
}

// ------------------------------------------------------------------ special deductions

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Deduction {
    pub reason: String,
    pub recorded_by: Option<i64>,
    pub recorded_by_name: Option<String>,
    pub recorded_at: DateTime<Utc>,
}
from_row!(Deduction { reason: String, recorded_by: Option<i64>, recorded_by_name: Option<String>,
    recorded_at: DateTime<Utc> });

pub async fn deductions(c: Conn<'_>, assessment_id: i64) -> sqlx::Result<Vec<Deduction>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT d.reason, d.recorded_by, u.display_name AS recorded_by_name, d.recorded_at \
             FROM certification_deductions d LEFT JOIN users u ON u.id = d.recorded_by \
             WHERE d.assessment_id = $1 ORDER BY d.position",
        )
        .bind(assessment_id)
        .fetch_all(&mut *e)
        .await
    })
}

/// Replaces the assessment's deductions with `list`, in order.
pub async fn set_deductions(c: Conn<'_>, assessment_id: i64, list: &[Deduction]) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query("DELETE FROM certification_deductions WHERE assessment_id = $1")
            .bind(assessment_id)
            .execute(&mut *e)
            .await?;
        for (n, d) in list.iter().enumerate() {
            sqlx::query(
                "INSERT INTO certification_deductions (assessment_id, position, reason, recorded_by, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(assessment_id)
            .bind(n as i64)
            .bind(&d.reason)
            .bind(d.recorded_by)
            .bind(d.recorded_at)
            .execute(&mut *e)
            .await?;
        }
        Ok(())
    })
}
