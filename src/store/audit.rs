//! The audit trail: who changed what, when, with the state before and after.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

use crate::db::{Backend, Conn};
use crate::{from_row, on_conn};

pub struct NewEntry<'a> {
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_label: &'a str,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub before: Option<String>,
    pub after: Option<String>,
    pub ip: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

pub async fn insert(c: Conn<'_>, n: &NewEntry<'_>) -> sqlx::Result<()> {
    let backend = match c {
        Conn::Sqlite(_) => Backend::Sqlite,
        Conn::Pg(_) => Backend::Postgres,
    };
    insert_many(c, backend, std::slice::from_ref(n)).await
}

/// Columns bound per entry by [`bind_entries`].
pub(crate) const COLS: usize = 10;

/// The INSERT of `n` entries (bind them with [`bind_entries`]).
pub(crate) fn insert_sql(backend: Backend, n: usize) -> String {
    format!(
        "INSERT INTO audit_log (at, actor_id, actor_label, action, entity_type, entity_id, before_json, \
         after_json, ip, request_id) VALUES {}",
        super::bulk::values(backend, n, COLS, 1, "")
    )
}

/// Binds entries to a query made from [`insert_sql`].
macro_rules! bind_entries {
    ($q:expr, $rows:expr) => {{
        let mut q = $q;
        for n in $rows {
            q = q
                .bind(n.at)
                .bind(n.actor_id)
                .bind(n.actor_label)
                .bind(n.action)
                .bind(n.entity_type)
                .bind(n.entity_id)
                .bind(&n.before)
                .bind(&n.after)
                .bind(n.ip)
                .bind(n.request_id);
        }
        q
    }};
}
pub(crate) use bind_entries;

/// Many entries with multi-row statements (imports write one per imported record).
pub async fn insert_many(mut c: Conn<'_>, backend: Backend, entries: &[NewEntry<'_>]) -> sqlx::Result<()> {
    for chunk in entries.chunks(super::bulk::rows_per_statement(backend, COLS)) {
        let sql = insert_sql(backend, chunk.len());
        on_conn!(&mut c, |e| {
            bind_entries!(sqlx::query(AssertSqlSafe(sql)), chunk).execute(&mut **e).await.map(|_| ())
        })?;
    }
    Ok(())
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Entry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}
from_row!(Entry { id: i64, at: DateTime<Utc>, actor_id: Option<i64>, actor_label: String, action: String,
    entity_type: String, entity_id: String, before_json: Option<String>, after_json: Option<String>,
    ip: Option<String>, request_id: Option<String> });

#[derive(Default, Debug, Clone)]
pub struct Filter {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub actor_id: Option<i64>,
    /// Keyset pagination, newest first: only entries with a smaller id.
    pub before_id: Option<i64>,
    pub limit: i64,
}

pub async fn list(c: Conn<'_>, f: &Filter) -> sqlx::Result<Vec<Entry>> {
    let mut sql = String::from(
        "SELECT id, at, actor_id, actor_label, action, entity_type, entity_id, before_json, after_json, ip, \
         request_id FROM audit_log WHERE 1 = 1",
    );
    let mut n = 0;
    for (present, col) in [
        (f.entity_type.is_some(), "entity_type"),
        (f.entity_id.is_some(), "entity_id"),
        (f.actor_id.is_some(), "actor_id"),
    ] {
        if present {
            n += 1;
            sql.push_str(&format!(" AND {col} = ${n}"));
        }
    }
    if f.before_id.is_some() {
        n += 1;
        sql.push_str(&format!(" AND id < ${n}"));
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", n + 1));
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        if let Some(v) = &f.entity_type {
            q = q.bind(v);
        }
        if let Some(v) = &f.entity_id {
            q = q.bind(v);
        }
        if let Some(v) = f.actor_id {
            q = q.bind(v);
        }
        if let Some(v) = f.before_id {
            q = q.bind(v);
        }
        q.bind(f.limit).fetch_all(&mut *e).await
    })
}

/// The newest entries of several records of one type, in one query (a customer's time line
/// covers all its units).
pub async fn of_records(c: Conn<'_>, entity_type: &str, ids: &[String], limit: i64) -> sqlx::Result<Vec<Entry>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT id, at, actor_id, actor_label, action, entity_type, entity_id, before_json, after_json, ip, \
         request_id FROM audit_log WHERE entity_type = $1 AND entity_id IN ({}) ORDER BY id DESC LIMIT ${}",
        super::placeholders(2, ids.len()),
        ids.len() + 2
    );
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql)).bind(entity_type);
        for id in ids {
            q = q.bind(id);
        }
        q.bind(limit).fetch_all(&mut *e).await
    })
}
