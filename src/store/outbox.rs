//! The outbox of notifications (e-mails, webhook calls) and the registered webhooks.

use chrono::{DateTime, Utc};
use serde::Serialize;

use sqlx::AssertSqlSafe;

use super::bulk::{rows_per_statement, values};
use crate::db::{Backend, Conn};
use crate::{from_row, on_conn};

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Message {
    pub id: i64,
    pub event: String,
    pub order_id: Option<i64>,
    /// email | webhook
    pub channel: String,
    pub recipient: String,
    pub webhook_id: Option<i64>,
    pub subject: String,
    pub body: String,
    /// pending | sent | failed | skipped
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}
from_row!(Message { id: i64, event: String, order_id: Option<i64>, channel: String, recipient: String,
    webhook_id: Option<i64>, subject: String, body: String, status: String, attempts: i32,
    next_attempt_at: DateTime<Utc>, sent_at: Option<DateTime<Utc>>, last_error: Option<String>,
    created_at: DateTime<Utc> });

const COLUMNS: &str = "id, event, order_id, channel, recipient, webhook_id, subject, body, status, attempts, \
                       next_attempt_at, sent_at, last_error, created_at";

pub struct NewMessage<'a> {
    pub event: &'a str,
    pub order_id: Option<i64>,
    pub channel: &'a str,
    pub recipient: &'a str,
    pub webhook_id: Option<i64>,
    pub subject: &'a str,
    pub body: &'a str,
}

/// Columns bound per message by [`bind_messages`].
pub(crate) const COLS: usize = 9;

/// The INSERT of `n` messages (bind them with [`bind_messages`]).
pub(crate) fn insert_sql(backend: Backend, n: usize) -> String {
    format!(
        "INSERT INTO outbox (event, order_id, channel, recipient, webhook_id, subject, body, next_attempt_at, \
         created_at, status, attempts) VALUES {}",
        values(backend, n, COLS, 1, ", 'pending', 0")
    )
}

/// Binds messages, due and created at `$now`, to a query made from [`insert_sql`].
macro_rules! bind_messages {
    ($q:expr, $rows:expr, $now:expr) => {{
        let mut q = $q;
        for m in $rows {
            q = q
                .bind(m.event)
                .bind(m.order_id)
                .bind(m.channel)
                .bind(m.recipient)
                .bind(m.webhook_id)
                .bind(m.subject)
                .bind(m.body)
                .bind($now)
                .bind($now);
        }
        q
    }};
}
pub(crate) use bind_messages;

/// Queues messages (inside the caller's transaction), several to a statement.
pub async fn enqueue(
    mut c: Conn<'_>,
    backend: Backend,
    msgs: &[NewMessage<'_>],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    for chunk in msgs.chunks(rows_per_statement(backend, COLS)) {
        let sql = insert_sql(backend, chunk.len());
        on_conn!(&mut c, |e| {
            bind_messages!(sqlx::query(AssertSqlSafe(sql)), chunk, now).execute(&mut **e).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Claims up to `limit` due messages for `lease` seconds: another worker (another instance)
/// skips them until the lease runs out, so a message is sent by one worker at a time, and a
/// worker that dies mid-send leaves its messages to be retried after the lease.
pub async fn claim(
    c: Conn<'_>,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<Message>> {
    let pg = matches!(c, Conn::Pg(_));
    // PostgreSQL: concurrent claimers skip each other's locked rows. SQLite: the write
    // transaction (BEGIN IMMEDIATE) already serialises claimers.
    let lock = if pg { "FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE outbox SET locked_until = $1, attempts = attempts + 1 WHERE id IN (\
         SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2 \
         AND (locked_until IS NULL OR locked_until < $2) ORDER BY next_attempt_at, id LIMIT $3 {lock}) \
         RETURNING {COLUMNS}"
    );
    on_conn!(c, |e| {
        let mut rows: Vec<Message> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(lease_until).bind(now).bind(limit).fetch_all(&mut *e).await?;
        rows.sort_by_key(|m| m.id);
        Ok(rows)
    })
}

/// Records the outcome of one attempt: sent, skipped, failed for good, or to retry at `retry_at`.
pub async fn finish(
    c: Conn<'_>,
    id: i64,
    status: &str,
    now: DateTime<Utc>,
    retry_at: Option<DateTime<Utc>>,
    error: Option<&str>,
) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE outbox SET status = $1, sent_at = CASE WHEN $1 = 'sent' THEN $2 ELSE sent_at END, \
             next_attempt_at = COALESCE($3, next_attempt_at), locked_until = NULL, last_error = $4 WHERE id = $5",
        )
        .bind(status)
        .bind(now)
        .bind(retry_at)
        .bind(error)
        .bind(id)
        .execute(&mut *e)
        .await
        .map(|_| ())
    })
}

pub async fn of_order(c: Conn<'_>, order_id: i64) -> sqlx::Result<Vec<Message>> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE order_id = $1 ORDER BY id");
    on_conn!(c, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(order_id).fetch_all(&mut *e).await)
}

/// What the messages of one order event need, in one round trip: the company's name, the
/// customer's and the engineer's addresses, and whether any webhook is active.
#[derive(Clone, Debug)]
pub struct Recipients {
    pub company: Option<String>,
    pub customer_email: Option<String>,
    pub engineer_email: Option<String>,
    pub engineer_name: Option<String>,
    pub active_webhooks: i64,
}

pub async fn recipients(c: Conn<'_>, customer_id: i64, engineer_id: Option<i64>) -> sqlx::Result<Recipients> {
    type Row = (Option<String>, Option<String>, Option<String>, Option<String>, i64);
    let r: Row = on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT (SELECT value FROM settings WHERE key = 'company_name'), \
             (SELECT email FROM customers WHERE id = $1), \
             (SELECT email FROM users WHERE id = $2), (SELECT display_name FROM users WHERE id = $2), \
             (SELECT COUNT(*) FROM webhooks WHERE active)",
        )
        .bind(customer_id)
        .bind(engineer_id)
        .fetch_one(&mut *e)
        .await
    })?;
    Ok(Recipients { company: r.0, customer_email: r.1, engineer_email: r.2, engineer_name: r.3, active_webhooks: r.4 })
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    /// Comma-separated event codes, or `*` for all.
    pub events: String,
    #[serde(skip)]
    pub secret: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}
from_row!(Webhook { id: i64, url: String, events: String, secret: String, active: bool, created_at: DateTime<Utc> });

impl Webhook {
    pub fn wants(&self, event: &str) -> bool {
        self.active && self.events.split(',').map(str::trim).any(|e| e == "*" || e == event)
    }
}

pub async fn insert_webhook(
    c: Conn<'_>,
    url: &str,
    events: &str,
    secret: &str,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO webhooks (url, events, secret, active, created_by, created_at) \
             VALUES ($1, $2, $3, TRUE, $4, $5) RETURNING id",
        )
        .bind(url)
        .bind(events)
        .bind(secret)
        .bind(by)
        .bind(now)
        .fetch_one(&mut *e)
        .await
    })
}

/// Every webhook, oldest first.
pub(crate) const WEBHOOKS: &str = "SELECT id, url, events, secret, active, created_at FROM webhooks ORDER BY id";

pub async fn webhooks(c: Conn<'_>) -> sqlx::Result<Vec<Webhook>> {
    on_conn!(c, |e| { sqlx::query_as(WEBHOOKS).fetch_all(&mut *e).await })
}

pub async fn webhook(c: Conn<'_>, id: i64) -> sqlx::Result<Option<Webhook>> {
    on_conn!(c, |e| {
        sqlx::query_as("SELECT id, url, events, secret, active, created_at FROM webhooks WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *e)
            .await
    })
}

pub async fn deactivate_webhook(c: Conn<'_>, id: i64) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query("UPDATE webhooks SET active = FALSE WHERE id = $1 AND active")
            .bind(id)
            .execute(&mut *e)
            .await
            .map(|r| r.rows_affected() == 1)
    })
}

/// Counts the address's requests since `since`, then records this one (old rows are dropped).
pub async fn public_request(c: Conn<'_>, ip: &str, now: DateTime<Utc>, since: DateTime<Utc>) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query("DELETE FROM public_requests WHERE at < $1").bind(since).execute(&mut *e).await?;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM public_requests WHERE ip = $1 AND at >= $2")
            .bind(ip)
            .bind(since)
            .fetch_one(&mut *e)
            .await?;
        sqlx::query("INSERT INTO public_requests (ip, at) VALUES ($1, $2)").bind(ip).bind(now).execute(&mut *e).await?;
        Ok(n)
    })
}
