//! Product categories and models.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::Conn;
use crate::{from_row, on_conn};

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Category {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}
from_row!(Category { code: String, name_zh: String, name_en: String });

impl Category {
    pub fn name(&self, locale: &str) -> &str {
        if locale.starts_with("en") { &self.name_en } else { &self.name_zh }
    }
}

pub async fn categories(c: Conn<'_>) -> sqlx::Result<Vec<Category>> {
    on_conn!(c, |e| {
        sqlx::query_as("SELECT code, name_zh, name_en FROM product_categories ORDER BY code").fetch_all(&mut *e).await
    })
}

pub async fn upsert_category(c: Conn<'_>, cat: &Category) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query(
            "INSERT INTO product_categories (code, name_zh, name_en) VALUES ($1, $2, $3) \
             ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en",
        )
        .bind(&cat.code)
        .bind(&cat.name_zh)
        .bind(&cat.name_en)
        .execute(&mut *e)
        .await
        .map(|_| ())
    })
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Model {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub category_code: String,
    /// high | mid | low
    pub grade: String,
    pub policy_code: String,
    pub warranty_months: Option<i32>,
    /// Key parts watched for batch failures, comma-separated.
    pub key_parts: String,
    /// Routine service every this many months (maintenance reminders); none without.
    pub service_interval_months: Option<i32>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
from_row!(Model { id: i64, code: String, name: String, category_code: String, grade: String, policy_code: String,
    warranty_months: Option<i32>, key_parts: String, service_interval_months: Option<i32>, version: i64, created_at: DateTime<Utc>, updated_at: DateTime<Utc> });

const COLUMNS: &str = "id, code, name, category_code, grade, policy_code, warranty_months, key_parts, \
                       service_interval_months, version, \
                       created_at, updated_at";

pub struct ModelData {
    pub code: String,
    pub name: String,
    pub category_code: String,
    pub grade: String,
    pub policy_code: String,
    pub warranty_months: Option<i32>,
    pub key_parts: String,
    pub service_interval_months: Option<i32>,
}

pub async fn insert_model(c: Conn<'_>, d: &ModelData, now: DateTime<Utc>) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO product_models (code, name, category_code, grade, policy_code, warranty_months, key_parts, \
             version, created_at, updated_at, service_interval_months) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8, $9) \
             RETURNING id",
        )
        .bind(&d.code)
        .bind(&d.name)
        .bind(&d.category_code)
        .bind(&d.grade)
        .bind(&d.policy_code)
        .bind(d.warranty_months)
        .bind(&d.key_parts)
        .bind(now)
        .bind(d.service_interval_months)
        .fetch_one(&mut *e)
        .await
    })
}

pub async fn update_model(c: Conn<'_>, id: i64, version: i64, d: &ModelData, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE product_models SET code = $1, name = $2, category_code = $3, grade = $4, policy_code = $5, \
             warranty_months = $6, key_parts = $7, version = version + 1, updated_at = $8, \
             service_interval_months = $11 WHERE id = $9 AND version = $10 AND deleted_at IS NULL",
        )
        .bind(&d.code)
        .bind(&d.name)
        .bind(&d.category_code)
        .bind(&d.grade)
        .bind(&d.policy_code)
        .bind(d.warranty_months)
        .bind(&d.key_parts)
        .bind(now)
        .bind(id)
        .bind(version)
        .bind(d.service_interval_months)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

pub async fn get_model(c: Conn<'_>, id: i64) -> sqlx::Result<Option<Model>> {
    on_conn!(c, |e| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM product_models WHERE id = $1 AND deleted_at IS NULL"
        )))
        .bind(id)
        .fetch_optional(&mut *e)
        .await
    })
}

pub async fn model_by_code(c: Conn<'_>, code: &str) -> sqlx::Result<Option<Model>> {
    on_conn!(c, |e| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM product_models WHERE code = $1 AND deleted_at IS NULL"
        )))
        .bind(code)
        .fetch_optional(&mut *e)
        .await
    })
}

pub async fn models(c: Conn<'_>) -> sqlx::Result<Vec<Model>> {
    on_conn!(c, |e| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM product_models WHERE deleted_at IS NULL ORDER BY category_code, code"
        )))
        .fetch_all(&mut *e)
        .await
    })
}
