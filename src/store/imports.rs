//! Uploaded spreadsheets waiting for their import.

use chrono::{DateTime, Utc};

use crate::db::Conn;
use crate::{from_row, on_conn};

pub struct Upload {
    pub id: i64,
    pub user_id: i64,
    pub kind: String,
    pub filename: String,
    pub grid_json: String,
}
from_row!(Upload { id: i64, user_id: i64, kind: String, filename: String, grid_json: String });

/// Stores an upload and drops those older than a day.
pub async fn insert(
    c: Conn<'_>,
    user_id: i64,
    kind: &str,
    filename: &str,
    grid_json: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query("DELETE FROM imports WHERE created_at < $1")
            .bind(now - chrono::Duration::days(1))
            .execute(&mut *e)
            .await?;
        sqlx::query_scalar(
            "INSERT INTO imports (user_id, kind, filename, grid_json, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user_id)
        .bind(kind)
        .bind(filename)
        .bind(grid_json)
        .bind(now)
        .fetch_one(&mut *e)
        .await
    })
}

pub async fn get(c: Conn<'_>, id: i64) -> sqlx::Result<Option<Upload>> {
    on_conn!(c, |e| {
        sqlx::query_as("SELECT id, user_id, kind, filename, grid_json FROM imports WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *e)
            .await
    })
}

pub async fn delete(c: Conn<'_>, id: i64) -> sqlx::Result<()> {
    on_conn!(c, |e| sqlx::query("DELETE FROM imports WHERE id = $1").bind(id).execute(&mut *e).await.map(|_| ()))
}
