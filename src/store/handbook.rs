//! The service handbook's revisions (R10.2): at most one draft, and the issued ones kept
//! unchanged as the revision history. Chapters, matrix and frozen objectives are JSON text.

use chrono::{DateTime, NaiveDate, Utc};

use crate::db::Conn;
use crate::{from_row, on_conn};

#[derive(Clone, Debug)]
pub struct Revision {
    pub id: i64,
    /// draft | issued
    pub status: String,
    pub revision_no: Option<i64>,
    pub title: String,
    pub chapters: String,
    pub matrix: String,
    pub objectives: String,
    pub change_summary: String,
    pub effective_on: Option<NaiveDate>,
    pub drafted_by: Option<i64>,
    pub drafted_by_name: String,
    pub drafted_at: DateTime<Utc>,
    pub issued_by: Option<i64>,
    pub issued_by_name: String,
    pub issued_at: Option<DateTime<Utc>>,
    pub version: i64,
}
from_row!(Revision { id: i64, status: String, revision_no: Option<i64>, title: String, chapters: String,
    matrix: String, objectives: String, change_summary: String, effective_on: Option<NaiveDate>,
    drafted_by: Option<i64>, drafted_by_name: String, drafted_at: DateTime<Utc>, issued_by: Option<i64>,
    issued_by_name: String, issued_at: Option<DateTime<Utc>>, version: i64 });

const SELECT: &str = "SELECT id, status, revision_no, title, sections AS chapters, matrix, objectives, change_summary, \
    effective_on, drafted_by, drafted_by_name, drafted_at, issued_by, issued_by_name, issued_at, version \
    FROM handbook_revisions";

pub async fn draft(c: Conn<'_>) -> sqlx::Result<Option<Revision>> {
    let sql = format!("{SELECT} WHERE status = 'draft'");
    on_conn!(c, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_optional(&mut *e).await)
}

/// Issued revisions, newest first.
pub async fn issued(c: Conn<'_>) -> sqlx::Result<Vec<Revision>> {
    let sql = format!("{SELECT} WHERE status = 'issued' ORDER BY revision_no DESC");
    on_conn!(c, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *e).await)
}

pub async fn by_no(c: Conn<'_>, no: i64) -> sqlx::Result<Option<Revision>> {
    let sql = format!("{SELECT} WHERE revision_no = $1");
    on_conn!(c, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(no).fetch_optional(&mut *e).await)
}

pub async fn last_no(c: Conn<'_>) -> sqlx::Result<Option<i64>> {
    on_conn!(c, |e| { sqlx::query_scalar("SELECT MAX(revision_no) FROM handbook_revisions").fetch_one(&mut *e).await })
}

pub struct Content<'a> {
    pub title: &'a str,
    pub chapters: &'a str,
    pub matrix: &'a str,
}

/// A new draft; None when another one was started meanwhile (the one-draft index).
pub async fn insert_draft(
    c: Conn<'_>,
    content: &Content<'_>,
    by: Option<i64>,
    by_name: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<i64>> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO handbook_revisions (status, title, sections, matrix, drafted_by, drafted_by_name, drafted_at) \
             VALUES ('draft', $1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(content.title)
        .bind(content.chapters)
        .bind(content.matrix)
        .bind(by)
        .bind(by_name)
        .bind(now)
        .fetch_optional(&mut *e)
        .await
    })
}

/// Saves the draft over `version`; false when it changed (or was issued) meanwhile.
pub async fn update_draft(
    c: Conn<'_>,
    id: i64,
    version: i64,
    content: &Content<'_>,
    by: Option<i64>,
    by_name: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE handbook_revisions SET title = $1, sections = $2, matrix = $3, drafted_by = $4, \
             drafted_by_name = $5, drafted_at = $6, version = version + 1 \
             WHERE id = $7 AND version = $8 AND status = 'draft'",
        )
        .bind(content.title)
        .bind(content.chapters)
        .bind(content.matrix)
        .bind(by)
        .bind(by_name)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

pub struct Issue<'a> {
    pub revision_no: i64,
    pub objectives: &'a str,
    pub change_summary: &'a str,
    pub effective_on: NaiveDate,
    pub by: Option<i64>,
    pub by_name: &'a str,
}

/// Issues the draft over `version`; false when it changed meanwhile.
pub async fn issue(c: Conn<'_>, id: i64, version: i64, i: &Issue<'_>, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE handbook_revisions SET status = 'issued', revision_no = $1, objectives = $2, change_summary = $3, \
             effective_on = $4, issued_by = $5, issued_by_name = $6, issued_at = $7, version = version + 1 \
             WHERE id = $8 AND version = $9 AND status = 'draft'",
        )
        .bind(i.revision_no)
        .bind(i.objectives)
        .bind(i.change_summary)
        .bind(i.effective_on)
        .bind(i.by)
        .bind(i.by_name)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Throws the draft away over `version`.
pub async fn discard(c: Conn<'_>, id: i64, version: i64) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query("DELETE FROM handbook_revisions WHERE id = $1 AND version = $2 AND status = 'draft'")
            .bind(id)
            .bind(version)
            .execute(&mut *e)
            .await
            .map(|r| r.rows_affected() == 1)
    })
}
