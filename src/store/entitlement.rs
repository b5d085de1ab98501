//! Entitlement policies (immutable versions) and stored decisions.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

use crate::db::Conn;
use crate::{from_row, on_conn};

/// One stored version of a company policy.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PolicyVersion {
    pub code: String,
    pub version: i64,
    /// The policy as the engine reads it (`rules::entitlement::Policy`).
    #[schema(value_type = Object)]
    pub policy_json: String,
    pub name_zh: String,
    pub name_en: String,
    pub family: String,
    pub note: String,
    /// "seed-company v1" when the first version was copied from another policy.
    pub copied_from: Option<String>,
    pub created_by: Option<i64>,
    pub created_by_label: String,
    pub created_at: DateTime<Utc>,
}
from_row!(PolicyVersion { code: String, version: i64, policy_json: String, name_zh: String, name_en: String,
    family: String, note: String, copied_from: Option<String>, created_by: Option<i64>, created_by_label: String,
    created_at: DateTime<Utc> });

const VERSION_COLUMNS: &str = "code, version, policy_json, name_zh, name_en, family, note, copied_from, created_by, \
                               created_by_label, created_at";

pub struct NewVersion<'a> {
    pub code: &'a str,
    pub version: i64,
    pub policy_json: &'a str,
    pub name_zh: &'a str,
    pub name_en: &'a str,
    pub family: &'a str,
    pub note: &'a str,
    pub copied_from: Option<&'a str>,
    pub created_by: Option<i64>,
    pub created_by_label: &'a str,
    pub created_at: DateTime<Utc>,
}

/// Inserts a version. A unique violation means that version already exists (a concurrent
/// editor, or a taken code); the caller turns it into a conflict.
pub async fn insert_version(c: Conn<'_>, v: &NewVersion<'_>) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query(
            "INSERT INTO entitlement_policy_versions (code, version, policy_json, name_zh, name_en, family, note, \
             copied_from, created_by, created_by_label, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(v.code)
        .bind(v.version)
        .bind(v.policy_json)
        .bind(v.name_zh)
        .bind(v.name_en)
        .bind(v.family)
        .bind(v.note)
        .bind(v.copied_from)
        .bind(v.created_by)
        .bind(v.created_by_label)
        .bind(v.created_at)
        .execute(&mut *e)
        .await
        .map(|_| ())
    })
}

/// The newest version of `code`, if the policy exists.
pub async fn latest(c: Conn<'_>, code: &str) -> sqlx::Result<Option<PolicyVersion>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM entitlement_policy_versions WHERE code = $1 ORDER BY version DESC LIMIT 1"
    );
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(code).fetch_optional(&mut *e).await)
}

pub async fn version(c: Conn<'_>, code: &str, version: i64) -> sqlx::Result<Option<PolicyVersion>> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM entitlement_policy_versions WHERE code = $1 AND version = $2");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(code).bind(version).fetch_optional(&mut *e).await)
}

/// Every version of `code`, newest first.
pub async fn versions(c: Conn<'_>, code: &str) -> sqlx::Result<Vec<PolicyVersion>> {
    let sql =
        format!("SELECT {VERSION_COLUMNS} FROM entitlement_policy_versions WHERE code = $1 ORDER BY version DESC");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(code).fetch_all(&mut *e).await)
}

/// The newest version of every company policy, by code.
pub async fn list_latest(c: Conn<'_>) -> sqlx::Result<Vec<PolicyVersion>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM entitlement_policy_versions v WHERE version = \
         (SELECT MAX(version) FROM entitlement_policy_versions w WHERE w.code = v.code) ORDER BY code"
    );
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).fetch_all(&mut *e).await)
}

/// A stored decision.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct StoredDecision {
    pub id: i64,
    pub policy_code: String,
    pub policy_version: i64,
    /// The request as sent (the evaluate contract).
    #[schema(value_type = Object)]
    pub request_json: String,
    /// The answer as given then (the evaluate contract).
    #[schema(value_type = Object)]
    pub result_json: String,
    /// Granted remedies, comma-separated.
    pub remedies: String,
    /// web, api or cli.
    pub source: String,
    pub unit_id: Option<i64>,
    pub work_order_id: Option<i64>,
    pub decided_by: Option<i64>,
    pub decided_by_label: String,
    pub decided_at: DateTime<Utc>,
}
from_row!(StoredDecision { id: i64, policy_code: String, policy_version: i64, request_json: String,
    result_json: String, remedies: String, source: String, unit_id: Option<i64>, work_order_id: Option<i64>,
    decided_by: Option<i64>, decided_by_label: String, decided_at: DateTime<Utc> });

const DECISION_COLUMNS: &str = "id, policy_code, policy_version, request_json, result_json, remedies, source, \
                                unit_id, work_order_id, decided_by, decided_by_label, decided_at";

pub struct NewDecision<'a> {
    pub policy_code: &'a str,
    pub policy_version: i64,
    pub request_json: &'a str,
    pub result_json: &'a str,
    pub remedies: &'a str,
    pub source: &'a str,
    pub unit_id: Option<i64>,
    pub work_order_id: Option<i64>,
    pub decided_by: Option<i64>,
    pub decided_by_label: &'a str,
    pub decided_at: DateTime<Utc>,
}

pub async fn insert_decision(c: Conn<'_>, d: &NewDecision<'_>) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO entitlement_decisions (policy_code, policy_version, request_json, result_json, remedies, \
             source, unit_id, work_order_id, decided_by, decided_by_label, decided_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(d.policy_code)
        .bind(d.policy_version)
        .bind(d.request_json)
        .bind(d.result_json)
        .bind(d.remedies)
        .bind(d.source)
        .bind(d.unit_id)
        .bind(d.work_order_id)
        .bind(d.decided_by)
        .bind(d.decided_by_label)
        .bind(d.decided_at)
        .fetch_one(&mut *e)
        .await
    })
}

pub async fn decision(c: Conn<'_>, id: i64) -> sqlx::Result<Option<StoredDecision>> {
    let sql = format!("SELECT {DECISION_COLUMNS} FROM entitlement_decisions WHERE id = $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

/// Newest first; `before_id` pages backwards.
pub async fn recent_decisions(c: Conn<'_>, before_id: Option<i64>, limit: i64) -> sqlx::Result<Vec<StoredDecision>> {
    let sql = format!("SELECT {DECISION_COLUMNS} FROM entitlement_decisions WHERE id < $1 ORDER BY id DESC LIMIT $2");
    on_conn!(c, |e| {
        sqlx::query_as(AssertSqlSafe(sql)).bind(before_id.unwrap_or(i64::MAX)).bind(limit).fetch_all(&mut *e).await
    })
}
