//! Customers, their contacts, phones and search terms.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

use crate::db::{Backend, Conn};
use crate::{from_row, on_conn};

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Customer {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub class: String,
    pub key_customer: bool,
    pub region_code: Option<String>,
    pub province: String,
    pub city: String,
    pub district: String,
    pub address: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub tags: String,
    pub notes: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
from_row!(Customer { id: i64, kind: String, name: String, class: String, key_customer: bool,
    region_code: Option<String>, province: String, city: String, district: String, address: String,
    phone: Option<String>, email: Option<String>, tags: String, notes: String, version: i64,
    created_at: DateTime<Utc>, updated_at: DateTime<Utc> });

pub const COLUMNS: &str = "c.id, c.kind, c.name, c.class, c.key_customer, c.region_code, c.province, c.city, \
    c.district, c.address, c.phone, c.email, c.tags, c.notes, c.version, c.created_at, c.updated_at";

#[derive(Clone, Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Contact {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub position: String,
}
from_row!(Contact { name: String, phone: Option<String>, email: Option<String>, position: String });

/// Validated fields of a customer, as written.
pub struct CustomerData {
    pub kind: String,
    pub name: String,
    pub class: String,
    pub key_customer: bool,
    pub region_code: Option<String>,
    pub province: String,
    pub city: String,
    pub district: String,
    pub address: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub tags: String,
    pub notes: String,
}

pub async fn insert(c: Conn<'_>, d: &CustomerData, now: DateTime<Utc>) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO customers (kind, name, class, key_customer, region_code, province, city, district, address, \
             phone, email, tags, notes, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $14) RETURNING id",
        )
        .bind(&d.kind)
        .bind(&d.name)
        .bind(&d.class)
        .bind(d.key_customer)
        .bind(&d.region_code)
        .bind(&d.province)
        .bind(&d.city)
        .bind(&d.district)
        .bind(&d.address)
        .bind(&d.phone)
        .bind(&d.email)
        .bind(&d.tags)
        .bind(&d.notes)
        .bind(now)
        .fetch_one(&mut *e)
        .await
    })
}

/// Updates when `version` matches; false on a stale version or a deleted customer.
pub async fn update(c: Conn<'_>, id: i64, version: i64, d: &CustomerData, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE customers SET kind = $1, name = $2, class = $3, key_customer = $4, region_code = $5, province = $6, \
             city = $7, district = $8, address = $9, phone = $10, email = $11, tags = $12, notes = $13, \
             version = version + 1, updated_at = $14 WHERE id = $15 AND version = $16 AND deleted_at IS NULL",
        )
        .bind(&d.kind)
        .bind(&d.name)
        .bind(&d.class)
        .bind(d.key_customer)
        .bind(&d.region_code)
        .bind(&d.province)
        .bind(&d.city)
        .bind(&d.district)
        .bind(&d.address)
        .bind(&d.phone)
        .bind(&d.email)
        .bind(&d.tags)
        .bind(&d.notes)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

pub async fn soft_delete(c: Conn<'_>, id: i64, version: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE customers SET deleted_at = $1, version = version + 1, updated_at = $1 \
             WHERE id = $2 AND version = $3 AND deleted_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

pub async fn get(c: Conn<'_>, id: i64) -> sqlx::Result<Option<Customer>> {
    let sql = format!("SELECT {COLUMNS} FROM customers c WHERE c.id = $1 AND c.deleted_at IS NULL");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

pub async fn contacts(c: Conn<'_>, customer_id: i64) -> sqlx::Result<Vec<Contact>> {
    on_conn!(c, |e| {
        sqlx::query_as("SELECT name, phone, email, position FROM customer_contacts WHERE customer_id = $1 ORDER BY id")
            .bind(customer_id)
            .fetch_all(&mut *e)
            .await
    })
}

/// Replaces the contacts, the phone lookup rows and the search terms of a customer.
pub async fn write_details(
    mut c: Conn<'_>,
    backend: Backend,
    id: i64,
    contacts: &[Contact],
    phones: &[String],
    terms: &str,
) -> sqlx::Result<()> {
    on_conn!(&mut c, |e| {
        sqlx::query("DELETE FROM customer_contacts WHERE customer_id = $1").bind(id).execute(&mut **e).await?;
        for ct in contacts {
            sqlx::query(
                "INSERT INTO customer_contacts (customer_id, name, phone, email, position) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(&ct.name)
            .bind(&ct.phone)
            .bind(&ct.email)
            .bind(&ct.position)
            .execute(&mut **e)
            .await?;
        }
        sqlx::query("DELETE FROM customer_phones WHERE customer_id = $1").bind(id).execute(&mut **e).await?;
        for p in phones {
            sqlx::query("INSERT INTO customer_phones (phone, customer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(p)
                .bind(id)
                .execute(&mut **e)
                .await?;
        }
        Ok::<(), sqlx::Error>(())
    })?;
    let sql = match backend {
        Backend::Sqlite => "INSERT OR REPLACE INTO customer_search (rowid, terms) VALUES ($1, $2)",
        Backend::Postgres => {
            "INSERT INTO customer_search (customer_id, terms) VALUES ($1, $2) \
             ON CONFLICT (customer_id) DO UPDATE SET terms = excluded.terms"
        }
    };
    on_conn!(c, |e| sqlx::query(sql).bind(id).bind(terms).execute(&mut *e).await.map(|_| ()))
}

/// Removes a deleted customer from search and phone lookup.
pub async fn forget_lookups(c: Conn<'_>, backend: Backend, id: i64) -> sqlx::Result<()> {
    let search = match backend {
        Backend::Sqlite => "DELETE FROM customer_search WHERE rowid = $1",
        Backend::Postgres => "DELETE FROM customer_search WHERE customer_id = $1",
    };
    on_conn!(c, |e| {
        sqlx::query("DELETE FROM customer_phones WHERE customer_id = $1").bind(id).execute(&mut *e).await?;
        sqlx::query(search).bind(id).execute(&mut *e).await.map(|_| ())
    })
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sort {
    #[default]
    Newest,
    Name,
}

#[derive(Default, Debug, Clone)]
pub struct Filter {
    /// Only this region (the caller's, for users limited to one).
    pub region_scope: Option<String>,
    pub region: Option<String>,
    pub class: Option<String>,
    pub key_only: bool,
    pub city: Option<String>,
    /// Words that must all match (already segmented), or a phone prefix (digits).
    pub words: Vec<String>,
    pub phone_prefix: Option<String>,
    pub sort: Sort,
    /// Keyset cursor: (name, id) of the last row for `Name`, id for `Newest`.
    pub after: Option<(String, i64)>,
    pub limit: i64,
    /// Word searches: only customers with a larger id (the newest ones; see `service::archive`).
    pub newer_than: Option<i64>,
    /// PostgreSQL word searches: find the matches through the word index within the id window
    /// and sort them, rather than walk the window newest first until enough have matched (the
    /// walk reads about 1/frequency rows per match; see [`word_frequencies`]).
    pub intersect: bool,
}

/// How many of the newest matches a search ranks. Cost stays bounded however common a word is
/// (有限公司 matches most companies): a word found in more customers than this is ranked among
/// its newest matches; another word narrows the search. Ranking: customers whose name holds
/// more of the query words first, then the newest.
pub const SEARCH_CANDIDATES: i64 = 200;

/// Customers matching the filter. Searches (words or phone) are ranked and return one page;
/// plain lists page with a keyset cursor.
pub async fn list(c: Conn<'_>, backend: Backend, f: &Filter) -> sqlx::Result<Vec<Customer>> {
    let mut wh = vec!["c.deleted_at IS NULL".to_string()];
    let mut binds: Vec<String> = vec![];
    let arg = |v: String, binds: &mut Vec<String>| {
        binds.push(v);
        format!("${}", binds.len())
    };
    let mut order = match f.sort {
        Sort::Newest => "c.id DESC".to_string(),
        Sort::Name => "c.name, c.id".to_string(),
    };
    if let Some(prefix) = &f.phone_prefix {
        // Walk the phone index in order and stop after the candidates, so a short prefix
        // (138…) costs the same at a million customers as at a thousand.
        let lo = arg(prefix.clone(), &mut binds);
        let hi = arg(format!("{prefix}\u{7f}"), &mut binds);
        wh.push(format!(
            "c.id IN (SELECT customer_id FROM customer_phones WHERE phone >= {lo} AND phone < {hi} \
             ORDER BY phone LIMIT {SEARCH_CANDIDATES})"
        ));
    }
    if let Some(r) = &f.region_scope {
        let p = arg(r.clone(), &mut binds);
        wh.push(format!("c.region_code = {p}"));
    }
    if let Some(r) = &f.region {
        let p = arg(r.clone(), &mut binds);
        wh.push(format!("c.region_code = {p}"));
    }
    if let Some(v) = &f.class {
        let p = arg(v.clone(), &mut binds);
        wh.push(format!("c.class = {p}"));
    }
    if let Some(v) = &f.city {
        let p = arg(v.clone(), &mut binds);
        wh.push(format!("c.city = {p}"));
    }
    if f.key_only {
        wh.push("c.key_customer = TRUE".into());
    }
    let searching = !f.words.is_empty() || f.phone_prefix.is_some();
    let mut after_id = None;
    if let (Some((name, id)), false) = (&f.after, searching) {
        match f.sort {
            Sort::Newest => {
                wh.push(format!("c.id < ${}", binds.len() + 1));
                after_id = Some(*id);
            }
            Sort::Name => {
                let n = arg(name.clone(), &mut binds);
                wh.push(format!("(c.name > {n} OR (c.name = {n} AND c.id > ${}))", binds.len() + 1));
                after_id = Some(*id);
            }
        }
    }
    let limit_pos = binds.len() + 1 + usize::from(after_id.is_some());
    if f.phone_prefix.is_some() && f.sort == Sort::Newest && backend == Backend::Postgres {
        // Few candidates: PostgreSQL is to sort them rather than walk the primary key hoping to
        // meet them (SQLite walks the candidate list itself, newest first).
        order = "c.id + 0 DESC".into();
    }
    let sql = if f.words.is_empty() {
        format!("SELECT {COLUMNS} FROM customers c WHERE {} ORDER BY {order} LIMIT ${limit_pos}", wh.join(" AND "))
    } else {
        // The newest matching candidates that pass every filter (the full-text index yields
        // them newest first and the scan stops at the limit), then those whose name holds the
        // most query words first. (bm25/ts_rank cost ~8 µs a row plus a pass over each word's
        // whole posting list, which a common word made the bulk of a search at 1M customers.)
        let matches = match backend {
            Backend::Sqlite => {
                let p = arg(crate::search::fts5_query(&f.words), &mut binds);
                wh.push(format!("s.terms MATCH {p}"));
                "customer_search s JOIN customers c ON c.id = s.rowid"
            }
            Backend::Postgres => {
                let p = arg(f.words.join(" "), &mut binds);
                wh.push(format!("s.vec @@ plainto_tsquery('simple', {p})"));
                "customer_search s JOIN customers c ON c.id = s.customer_id"
            }
        };
        let key = if backend == Backend::Sqlite { "s.rowid" } else { "s.customer_id" };
        if let Some(floor) = f.newer_than {
            wh.push(format!("{key} > {floor}"));
        }
        let position = if backend == Backend::Sqlite { "instr" } else { "strpos" };
        let in_name: Vec<String> = f
            .words
            .iter()
            .map(|w| {
                let p = arg(w.clone(), &mut binds);
                format!("(CASE WHEN {position}(lower(c.name), {p}) > 0 THEN 1 ELSE 0 END)")
            })
            .collect();
        // `+ 0` hides the order of the primary key from PostgreSQL's planner, which then
        // intersects the word's index with the id range (`customer_search_ids`).
        let newest_first = if f.intersect && backend == Backend::Postgres { " + 0" } else { "" };
        format!(
            "SELECT {COLUMNS} FROM (SELECT c.id AS cid FROM {matches} WHERE {} ORDER BY {key}{newest_first} DESC \
             LIMIT {}) k JOIN customers c ON c.id = k.cid ORDER BY {} DESC, c.id DESC LIMIT ${}",
            wh.join(" AND "),
            // An export of a search takes every match.
            SEARCH_CANDIDATES.max(f.limit),
            in_name.join(" + "),
            binds.len() + 1
        )
    };
    // A word search is planned for its words each time: PostgreSQL plans a named prepared
    // statement once for any words after a few runs (a generic plan, which cannot know that
    // 有限公司 is in half the customers and Smith in few), and under load that plan was the
    // slow one for most words. SQLite's plan does not depend on the words.
    let persistent = f.words.is_empty() || backend == Backend::Sqlite;
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql)).persistent(persistent);
        for b in &binds {
            q = q.bind(b);
        }
        if let Some(id) = after_id {
            q = q.bind(id);
        }
        q.bind(f.limit).fetch_all(&mut *e).await
    })
}

/// How often words occur in customers' search text, as PostgreSQL's statistics of
/// `customer_search` estimate it (a fraction of the customers, for its thousand or so most
/// common words; the others are rarer). Empty on SQLite, and before the table is analysed.
pub async fn word_frequencies(c: Conn<'_>) -> sqlx::Result<HashMap<String, f32>> {
    let Conn::Pg(e) = c else { return Ok(HashMap::new()) };
    let rows: Vec<(String, f32)> = sqlx::query_as(
        "SELECT w, f FROM pg_stats, unnest(most_common_elems::text::text[], most_common_elem_freqs) AS u(w, f) \
         WHERE schemaname = current_schema() AND tablename = 'customer_search' AND attname = 'vec' \
         AND w IS NOT NULL",
    )
    .fetch_all(&mut *e)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Customers that look like the same one: sharing a phone, or the same name in the same city.
pub async fn possible_duplicates(
    c: Conn<'_>,
    phones: &[String],
    name: &str,
    city: &str,
    except: Option<i64>,
) -> sqlx::Result<Vec<Customer>> {
    let mut sql = format!(
        "SELECT {COLUMNS} FROM customers c WHERE c.deleted_at IS NULL AND c.id <> $1 AND \
         ((c.name = $2 AND c.city = $3)"
    );
    if !phones.is_empty() {
        sql.push_str(&format!(
            " OR c.id IN (SELECT customer_id FROM customer_phones WHERE phone IN ({}))",
            super::placeholders(4, phones.len())
        ));
    }
    sql.push_str(") ORDER BY c.id LIMIT 5");
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql)).bind(except.unwrap_or(-1)).bind(name).bind(city);
        for p in phones {
            q = q.bind(p);
        }
        q.fetch_all(&mut *e).await
    })
}

/// The highest customer id (0 when there are none).
pub async fn max_id(c: Conn<'_>) -> sqlx::Result<i64> {
    on_conn!(c, |e| sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM customers").fetch_one(&mut *e).await)
}

/// Ids of live customers with exactly this name, within a region when given.
pub async fn by_exact_name(c: Conn<'_>, name: &str, region: Option<&str>) -> sqlx::Result<Vec<i64>> {
    let sql = match region {
        Some(_) => {
            "SELECT id FROM customers WHERE name = $1 AND deleted_at IS NULL AND region_code = $2 ORDER BY id LIMIT 2"
        }
        None => "SELECT id FROM customers WHERE name = $1 AND deleted_at IS NULL ORDER BY id LIMIT 2",
    };
    on_conn!(c, |e| {
        let mut q = sqlx::query_scalar(sql).bind(name);
        if let Some(r) = region {
            q = q.bind(r);
        }
        q.fetch_all(&mut *e).await
    })
}
