//! Periodic survey campaigns (R7.1): a chosen group of customers each gets a survey link.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

use super::bulk::{rows_per_statement, values};
use crate::db::{Backend, Conn};
use crate::{from_row, on_conn};

/// Which customers a campaign asks; empty or false parts match everyone.
#[derive(Clone, Debug, Default)]
pub struct Group {
    /// 'A', 'B', 'C'.
    pub classes: Vec<String>,
    pub key_only: bool,
    pub region: Option<String>,
    /// Customers with a live unit of this product category.
    pub category: Option<String>,
}

/// The WHERE clause of `g` over `customers c`, its parameters numbered from `$first`.
fn group_sql(g: &Group, first: usize) -> (String, usize) {
    let mut n = first;
    let mut p = || {
        let s = format!("${n}");
        n += 1;
        s
    };
    let mut sql = String::from("c.deleted_at IS NULL");
    if !g.classes.is_empty() {
        let list: Vec<String> = g.classes.iter().map(|_| p()).collect();
        sql.push_str(&format!(" AND c.class IN ({})", list.join(", ")));
    }
    if g.key_only {
        sql.push_str(" AND c.key_customer");
    }
    if g.region.is_some() {
        sql.push_str(&format!(" AND c.region_code = {}", p()));
    }
    if g.category.is_some() {
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM units u JOIN product_models m ON m.id = u.model_id \
             WHERE u.customer_id = c.id AND u.deleted_at IS NULL AND m.category_code = {})",
            p()
        ));
    }
    (sql, n)
}

macro_rules! bind_group {
    ($q:expr, $g:expr) => {{
        let mut q = $q;
        for c in &$g.classes {
            q = q.bind(c.clone());
        }
        if let Some(r) = &$g.region {
            q = q.bind(r.clone());
        }
        if let Some(c) = &$g.category {
            q = q.bind(c.clone());
        }
        q
    }};
}

/// Customers of the group, counted up to `cap`.
pub async fn count(c: Conn<'_>, g: &Group, cap: i64) -> sqlx::Result<i64> {
    let (filter, next) = group_sql(g, 1);
    let sql = format!("SELECT COUNT(*) FROM (SELECT 1 FROM customers c WHERE {filter} LIMIT ${next}) x");
    on_conn!(c, |e| { bind_group!(sqlx::query_scalar(AssertSqlSafe(sql)), g).bind(cap).fetch_one(&mut *e).await })
}

#[derive(Clone, Debug)]
pub struct Member {
    pub id: i64,
    pub name: String,
    pub region_code: Option<String>,
    pub email: Option<String>,
}
from_row!(Member { id: i64, name: String, region_code: Option<String>, email: Option<String> });

/// The group's customers after `after_id`, in id order.
pub async fn members(c: Conn<'_>, g: &Group, after_id: i64, limit: i64) -> sqlx::Result<Vec<Member>> {
    let (filter, next) = group_sql(g, 1);
    let sql = format!(
        "SELECT c.id, c.name, c.region_code, c.email FROM customers c WHERE {filter} AND c.id > ${next} \
         ORDER BY c.id LIMIT ${}",
        next + 1
    );
    on_conn!(c, |e| {
        bind_group!(sqlx::query_as(AssertSqlSafe(sql)), g).bind(after_id).bind(limit).fetch_all(&mut *e).await
    })
}

pub async fn insert(
    c: Conn<'_>,
    name: &str,
    filter_json: &str,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO survey_campaigns (name, filter_json, created_by, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(name)
        .bind(filter_json)
        .bind(by)
        .bind(now)
        .fetch_one(&mut *e)
        .await
    })
}

pub async fn set_counts(c: Conn<'_>, id: i64, surveys: i64, emailed: i64) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query("UPDATE survey_campaigns SET surveys = $1, emailed = $2 WHERE id = $3")
            .bind(surveys)
            .bind(emailed)
            .bind(id)
            .execute(&mut *e)
            .await
            .map(|_| ())
    })
}

/// One customer's link in a campaign.
pub struct NewLink<'a> {
    pub token: &'a str,
    pub customer_id: i64,
    pub region_code: Option<&'a str>,
}

/// Writes the campaign's survey links (kind `campaign`).
pub async fn insert_links(
    mut c: Conn<'_>,
    backend: Backend,
    campaign_id: i64,
    links: &[NewLink<'_>],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    const COLS: usize = 3;
    for chunk in links.chunks(rows_per_statement(backend, COLS + 1)) {
        let sql = format!(
            "INSERT INTO surveys (token, customer_id, region_code, kind, created_at, campaign_id) VALUES {}",
            // The campaign's id is a number the database gave: written into the statement.
            values(backend, chunk.len(), COLS, 2, &format!(", 'campaign', $1, {campaign_id}"))
        );
        on_conn!(&mut c, |e| {
            let shared = backend == Backend::Postgres;
            let mut q = sqlx::query(AssertSqlSafe(sql));
            if shared {
                q = q.bind(now);
            }
            for l in chunk {
                q = q.bind(l.token).bind(l.customer_id).bind(l.region_code);
                if !shared {
                    q = q.bind(now);
                }
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// A campaign with its response figures.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    /// The group asked (service::campaigns::GroupInput as JSON).
    pub filter_json: String,
    pub surveys: i64,
    pub emailed: i64,
    pub answered: i64,
    /// Answers of 4 or 5.
    pub satisfied: i64,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}
from_row!(Campaign { id: i64, name: String, filter_json: String, surveys: i64, emailed: i64, answered: i64,
    satisfied: i64, created_by: Option<i64>, created_at: DateTime<Utc> });

const SELECT: &str = "SELECT k.id, k.name, k.filter_json, k.surveys, k.emailed, \
    (SELECT COUNT(*) FROM surveys s WHERE s.campaign_id = k.id AND s.answered_at IS NOT NULL) AS answered, \
    (SELECT COUNT(*) FROM surveys s WHERE s.campaign_id = k.id AND s.overall >= 4) AS satisfied, \
    k.created_by, k.created_at FROM survey_campaigns k";

pub async fn list(c: Conn<'_>, limit: i64) -> sqlx::Result<Vec<Campaign>> {
    let sql = format!("{SELECT} ORDER BY k.id DESC LIMIT $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(limit).fetch_all(&mut *e).await)
}

pub async fn get(c: Conn<'_>, id: i64) -> sqlx::Result<Option<Campaign>> {
    let sql = format!("{SELECT} WHERE k.id = $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

/// A customer's link in a campaign, for calling those without e-mail.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Link {
    pub survey_id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub token: String,
    pub answered_at: Option<DateTime<Utc>>,
    pub overall: Option<i32>,
}
from_row!(Link { survey_id: i64, customer_id: i64, customer_name: String, phone: Option<String>,
    email: Option<String>, token: String, answered_at: Option<DateTime<Utc>>, overall: Option<i32> });

/// The campaign's links after survey `after`, in id order (of one region's customers when
/// `region` is given).
pub async fn links(
    c: Conn<'_>,
    campaign_id: i64,
    region: Option<&str>,
    after: i64,
    limit: i64,
) -> sqlx::Result<Vec<Link>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT s.id AS survey_id, s.customer_id, c.name AS customer_name, c.phone, c.email, s.token, \
             s.answered_at, s.overall FROM surveys s JOIN customers c ON c.id = s.customer_id \
             WHERE s.campaign_id = $1 AND s.id > $2 AND (c.region_code = $4 OR $4 IS NULL) ORDER BY s.id LIMIT $3",
        )
        .bind(campaign_id)
        .bind(after)
        .bind(limit)
        .bind(region)
        .fetch_all(&mut *e)
        .await
    })
}

/// The name of the campaign a survey belongs to.
pub async fn name_of_survey(c: Conn<'_>, survey_id: i64) -> sqlx::Result<Option<String>> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "SELECT k.name FROM surveys s JOIN survey_campaigns k ON k.id = s.campaign_id WHERE s.id = $1",
        )
        .bind(survey_id)
        .fetch_optional(&mut *e)
        .await
    })
}
