//! Working-time calendars: immutable versions, newest in force.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

use crate::db::Conn;
use crate::{from_row, on_conn};

/// One stored version of a calendar.
#[derive(Clone, Debug, Serialize)]
pub struct CalendarVersion {
    pub code: String,
    pub version: i64,
    /// The calendar as the engine reads it (`rules::calendar::Calendar`).
    pub calendar_json: String,
    pub name_zh: String,
    pub name_en: String,
    pub note: String,
    pub created_by: Option<i64>,
    pub created_by_label: String,
    pub created_at: DateTime<Utc>,
}
from_row!(CalendarVersion { code: String, version: i64, calendar_json: String, name_zh: String, name_en: String,
    note: String, created_by: Option<i64>, created_by_label: String, created_at: DateTime<Utc> });

const COLUMNS: &str = "code, version, calendar_json, name_zh, name_en, note, created_by, created_by_label, created_at";

/// Inserts a version; a unique violation means someone saved that version first.
pub async fn insert(c: Conn<'_>, v: &CalendarVersion) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query(
            "INSERT INTO calendar_versions (code, version, calendar_json, name_zh, name_en, note, created_by, \
             created_by_label, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&v.code)
        .bind(v.version)
        .bind(&v.calendar_json)
        .bind(&v.name_zh)
        .bind(&v.name_en)
        .bind(&v.note)
        .bind(v.created_by)
        .bind(&v.created_by_label)
        .bind(v.created_at)
        .execute(&mut *e)
        .await
        .map(|_| ())
    })
}

pub async fn latest(c: Conn<'_>, code: &str) -> sqlx::Result<Option<CalendarVersion>> {
    let sql = format!("SELECT {COLUMNS} FROM calendar_versions WHERE code = $1 ORDER BY version DESC LIMIT 1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(code).fetch_optional(&mut *e).await)
}

/// Every version of `code`, newest first.
pub async fn versions(c: Conn<'_>, code: &str) -> sqlx::Result<Vec<CalendarVersion>> {
    let sql = format!("SELECT {COLUMNS} FROM calendar_versions WHERE code = $1 ORDER BY version DESC");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(code).fetch_all(&mut *e).await)
}

/// The newest version of every stored calendar, by code.
pub async fn list_latest(c: Conn<'_>) -> sqlx::Result<Vec<CalendarVersion>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM calendar_versions v WHERE version = \
         (SELECT MAX(version) FROM calendar_versions w WHERE w.code = v.code) ORDER BY code"
    );
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).fetch_all(&mut *e).await)
}
