//! Sessions, API tokens, login attempts and idempotency keys.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::Conn;
use crate::{from_row, on_conn};

pub async fn insert_session(
    c: Conn<'_>,
    token_hash: &str,
    user_id: i64,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
    ip: &str,
    user_agent: Option<&str>,
) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent) \
             VALUES ($1, $2, $3, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires)
        .bind(ip)
        .bind(user_agent)
        .execute(&mut *e)
        .await
        .map(|_| ())
    })
}

pub async fn touch_session(
    c: Conn<'_>,
    token_hash: &str,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query("UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE token_hash = $3")
            .bind(now)
            .bind(expires)
            .bind(token_hash)
            .execute(&mut *e)
            .await
            .map(|_| ())
    })
}

pub async fn delete_session(c: Conn<'_>, token_hash: &str) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&mut *e).await.map(|_| ())
    })
}

pub async fn delete_user_sessions(c: Conn<'_>, user_id: i64) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *e).await.map(|_| ())
    })
}

/// Removes expired sessions and login attempts older than `attempts_before`.
pub async fn purge(c: Conn<'_>, now: DateTime<Utc>, attempts_before: DateTime<Utc>) -> sqlx::Result<u64> {
    on_conn!(c, |e| {
        let a = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(&mut *e).await?;
        let b = sqlx::query("DELETE FROM login_attempts WHERE at < $1").bind(attempts_before).execute(&mut *e).await?;
        Ok(a.rows_affected() + b.rows_affected())
    })
}

pub async fn record_attempt(c: Conn<'_>, login: &str, ip: &str, success: bool, now: DateTime<Utc>) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query("INSERT INTO login_attempts (at, login, ip, success) VALUES ($1, $2, $3, $4)")
            .bind(now)
            .bind(login)
            .bind(ip)
            .bind(success)
            .execute(&mut *e)
            .await
            .map(|_| ())
    })
}

/// Failed attempts since `since` for this login and for this address.
pub async fn recent_failures(c: Conn<'_>, login: &str, ip: &str, since: DateTime<Utc>) -> sqlx::Result<(i64, i64)> {
    on_conn!(c, |e| {
        let by_login: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM login_attempts WHERE login = $1 AND at >= $2 AND success = FALSE")
                .bind(login)
                .bind(since)
                .fetch_one(&mut *e)
                .await?;
        let by_ip: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM login_attempts WHERE ip = $1 AND at >= $2 AND success = FALSE")
                .bind(ip)
                .bind(since)
                .fetch_one(&mut *e)
                .await?;
        Ok((by_login, by_ip))
    })
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}
from_row!(ApiToken { id: i64, user_id: i64, name: String, prefix: String, created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>, revoked_at: Option<DateTime<Utc>> });

pub async fn insert_token(
    c: Conn<'_>,
    user_id: i64,
    name: &str,
    token_hash: &str,
    prefix: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user_id)
        .bind(name)
        .bind(token_hash)
        .bind(prefix)
        .bind(now)
        .fetch_one(&mut *e)
        .await
    })
}

pub async fn tokens_of(c: Conn<'_>, user_id: i64) -> sqlx::Result<Vec<ApiToken>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT id, user_id, name, prefix, created_at, last_used_at, revoked_at FROM api_tokens \
             WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(user_id)
        .fetch_all(&mut *e)
        .await
    })
}

pub async fn get_token(c: Conn<'_>, id: i64) -> sqlx::Result<Option<ApiToken>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT id, user_id, name, prefix, created_at, last_used_at, revoked_at FROM api_tokens WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *e)
        .await
    })
}

pub async fn revoke_token(c: Conn<'_>, id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *e)
            .await
            .map(|r| r.rows_affected() == 1)
    })
}

pub async fn touch_token(c: Conn<'_>, id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut *e)
            .await
            .map(|_| ())
    })
}

/// A stored response for an idempotency key: (scope, status, body).
pub async fn idempotent_response(c: Conn<'_>, user_id: i64, key: &str) -> sqlx::Result<Option<(String, i32, String)>> {
    on_conn!(c, |e| {
        sqlx::query_as("SELECT scope, status, body FROM idempotency_keys WHERE user_id = $1 AND key = $2")
            .bind(user_id)
            .bind(key)
            .fetch_optional(&mut *e)
            .await
    })
}

pub async fn save_idempotent_response(
    c: Conn<'_>,
    user_id: i64,
    key: &str,
    scope: &str,
    status: i32,
    body: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query(
            "INSERT INTO idempotency_keys (user_id, key, scope, status, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user_id)
        .bind(key)
        .bind(scope)
        .bind(status)
        .bind(body)
        .bind(now)
        .execute(&mut *e)
        .await
        .map(|_| ())
    })
}
