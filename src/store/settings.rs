//! Company settings (key → value) and regions.

use serde::Serialize;

use crate::db::Conn;
use crate::{from_row, on_conn};

pub async fn get(c: Conn<'_>, key: &str) -> sqlx::Result<Option<String>> {
    on_conn!(c, |e| {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(&mut *e).await
    })
}

pub async fn set(c: Conn<'_>, key: &str, value: &str) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&mut *e)
        .await
        .map(|_| ())
    })
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Region {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}
from_row!(Region { code: String, name_zh: String, name_en: String });

impl Region {
    pub fn name(&self, locale: &str) -> &str {
        if locale.starts_with("en") { &self.name_en } else { &self.name_zh }
    }
}

pub async fn regions(c: Conn<'_>) -> sqlx::Result<Vec<Region>> {
    on_conn!(c, |e| sqlx::query_as("SELECT code, name_zh, name_en FROM regions ORDER BY code").fetch_all(&mut *e).await)
}

pub async fn insert_region(c: Conn<'_>, r: &Region) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query("INSERT INTO regions (code, name_zh, name_en) VALUES ($1, $2, $3)")
            .bind(&r.code)
            .bind(&r.name_zh)
            .bind(&r.name_en)
            .execute(&mut *e)
            .await
            .map(|_| ())
    })
}
