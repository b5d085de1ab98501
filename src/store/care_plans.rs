//! Key-customer care plans (R6.3): the plans with their customer's and owner's names and the
//! counts of their actions, and the actions themselves.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

use crate::db::Conn;
use crate::{from_row, on_conn};

// ------------------------------------------------------------------ plans

/// A plan with the names a page shows and the state of its actions (as of the `today` the
/// query was given).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CarePlan {
    pub id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    /// A | B | C
    pub customer_class: String,
    pub key_customer: bool,
    pub region_code: Option<String>,
    pub title: String,
    pub goals: String,
    #[schema(value_type = String, format = Date)]
    pub period_from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub period_to: NaiveDate,
    pub owner_id: i64,
    pub owner_name: String,
    /// active | completed | cancelled
    pub status: String,
    pub closed_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub actions_total: i64,
    pub actions_done: i64,
    pub actions_cancelled: i64,
    /// Open actions due before today.
    pub actions_overdue: i64,
    /// The open action due first: its day and what it is.
    #[schema(value_type = Option<String>, format = Date)]
    pub next_due_on: Option<NaiveDate>,
    pub next_action: Option<String>,
}
from_row!(CarePlan { id: i64, customer_id: i64, customer_name: String, customer_class: String, key_customer: bool,
    region_code: Option<String>, title: String, goals: String, period_from: NaiveDate, period_to: NaiveDate,
    owner_id: i64, owner_name: String, status: String, closed_at: Option<DateTime<Utc>>, version: i64,
    created_by: Option<i64>, created_at: DateTime<Utc>, updated_at: DateTime<Utc>, actions_total: i64,
    actions_done: i64, actions_cancelled: i64, actions_overdue: i64, next_due_on: Option<NaiveDate>,
    next_action: Option<String> });

impl CarePlan {
    /// Done actions per 100 of those not cancelled; none while there are none.
    pub fn progress(&self) -> Option<f64> {
        let counted = self.actions_total - self.actions_cancelled;
        (counted > 0).then(|| self.actions_done as f64 * 100.0 / counted as f64)
    }

    /// Key customers first, then class A, then the rest: the lists' first sort key.
    pub fn tier(&self) -> i64 {
        tier(self.key_customer, &self.customer_class)
    }
}

pub fn tier(key_customer: bool, class: &str) -> i64 {
    if key_customer {
        0
    } else if class == "A" {
        1
    } else {
        2
    }
}

/// The same order in SQL (see [`tier`]).
const TIER: &str = "(CASE WHEN c.key_customer THEN 0 WHEN c.class = 'A' THEN 1 ELSE 2 END)";

/// `$1` is today (for the overdue count).
const SELECT: &str = "SELECT p.id, p.customer_id, c.name AS customer_name, c.class AS customer_class, \
    c.key_customer, p.region_code, p.title, p.goals, p.period_from, p.period_to, p.owner_id, \
    u.display_name AS owner_name, p.status, p.closed_at, p.version, p.created_by, p.created_at, p.updated_at, \
    (SELECT COUNT(*) FROM care_plan_actions a WHERE a.plan_id = p.id) AS actions_total, \
    (SELECT COUNT(*) FROM care_plan_actions a WHERE a.plan_id = p.id AND a.status = 'done') AS actions_done, \
    (SELECT COUNT(*) FROM care_plan_actions a WHERE a.plan_id = p.id AND a.status = 'cancelled') AS actions_cancelled, \
    (SELECT COUNT(*) FROM care_plan_actions a WHERE a.plan_id = p.id AND a.status = 'open' AND a.due_on < $1) \
    AS actions_overdue, \
    (SELECT MIN(a.due_on) FROM care_plan_actions a WHERE a.plan_id = p.id AND a.status = 'open') AS next_due_on, \
    (SELECT a.what FROM care_plan_actions a WHERE a.plan_id = p.id AND a.status = 'open' ORDER BY a.due_on, a.id \
    LIMIT 1) AS next_action \
    FROM care_plans p JOIN customers c ON c.id = p.customer_id JOIN users u ON u.id = p.owner_id";

/// A plan about to be written.
pub struct NewPlan<'a> {
    pub customer_id: i64,
    pub region_code: Option<&'a str>,
    pub title: &'a str,
    pub goals: &'a str,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub owner_id: i64,
    pub created_by: Option<i64>,
}

pub async fn insert(c: Conn<'_>, p: &NewPlan<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO care_plans (customer_id, region_code, title, goals, period_from, period_to, owner_id, \
             status, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $9) \
             RETURNING id",
        )
        .bind(p.customer_id)
        .bind(p.region_code)
        .bind(p.title)
        .bind(p.goals)
        .bind(p.period_from)
        .bind(p.period_to)
        .bind(p.owner_id)
        .bind(p.created_by)
        .bind(now)
        .fetch_one(&mut *e)
        .await
    })
}

pub async fn get(c: Conn<'_>, id: i64, today: NaiveDate) -> sqlx::Result<Option<CarePlan>> {
    let sql = format!("{SELECT} WHERE p.id = $2");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(today).bind(id).fetch_optional(&mut *e).await)
}

/// Holds the plan's row until the transaction ends (PostgreSQL; a SQLite write transaction
/// holds the whole database already), so a plan and its actions change one writer at a time:
/// a plan is not completed while one of its actions is being opened again.
pub async fn lock(c: Conn<'_>, id: i64) -> sqlx::Result<()> {
    if let Conn::Pg(e) = c {
        sqlx::query("SELECT id FROM care_plans WHERE id = $1 FOR UPDATE").bind(id).execute(&mut *e).await?;
    }
    Ok(())
}

/// What an edit writes over `version`.
pub struct PlanChanges<'a> {
    pub id: i64,
    pub version: i64,
    pub title: &'a str,
    pub goals: &'a str,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub owner_id: i64,
    pub status: &'a str,
    pub closed_at: Option<DateTime<Utc>>,
}

/// False when the plan changed meanwhile.
pub async fn update(c: Conn<'_>, p: &PlanChanges<'_>, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE care_plans SET title = $1, goals = $2, period_from = $3, period_to = $4, owner_id = $5, \
             status = $6, closed_at = $7, updated_at = $8, version = version + 1 WHERE id = $9 AND version = $10",
        )
        .bind(p.title)
        .bind(p.goals)
        .bind(p.period_from)
        .bind(p.period_to)
        .bind(p.owner_id)
        .bind(p.status)
        .bind(p.closed_at)
        .bind(now)
        .bind(p.id)
        .bind(p.version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Which plans a list shows.
#[derive(Clone, Debug)]
pub struct ListFilter {
    /// The company's today: actions due before it are overdue.
    pub today: NaiveDate,
    pub status: Option<String>,
    /// One region only (users limited to their region).
    pub region: Option<String>,
    pub customer_id: Option<i64>,
    /// Key customers' plans only.
    pub key_only: bool,
    /// Plans this user owns or has an open action in.
    pub mine: Option<i64>,
    /// Active plans with an open action due before today.
    pub overdue: bool,
    /// Keyset: after this (tier, id) in the list's order.
    pub after: Option<(i64, i64)>,
    pub limit: i64,
}

/// Key customers first, then class A, then the rest; newest first within each.
pub async fn list(c: Conn<'_>, f: &ListFilter) -> sqlx::Result<Vec<CarePlan>> {
    let mut sql = format!("{SELECT} WHERE 1 = 1");
    let mut n = 1;
    let mut p = || {
        n += 1;
        format!("${n}")
    };
    if f.status.is_some() {
        sql.push_str(&format!(" AND p.status = {}", p()));
    }
    if f.region.is_some() {
        sql.push_str(&format!(" AND p.region_code = {}", p()));
    }
    if f.customer_id.is_some() {
        sql.push_str(&format!(" AND p.customer_id = {}", p()));
    }
    if f.key_only {
        sql.push_str(" AND c.key_customer");
    }
    if f.mine.is_some() {
        let me = p();
        sql.push_str(&format!(
            " AND (p.owner_id = {me} OR EXISTS (SELECT 1 FROM care_plan_actions a WHERE a.plan_id = p.id \
             AND a.owner_id = {me} AND a.status = 'open'))"
        ));
    }
    if f.overdue {
        sql.push_str(
            " AND p.status = 'active' AND EXISTS (SELECT 1 FROM care_plan_actions a WHERE a.plan_id = p.id \
             AND a.status = 'open' AND a.due_on < $1)",
        );
    }
    if f.after.is_some() {
        let (t, id) = (p(), p());
        sql.push_str(&format!(" AND ({TIER} > {t} OR ({TIER} = {t} AND p.id < {id}))"));
    }
    sql.push_str(&format!(" ORDER BY {TIER}, p.id DESC LIMIT {}", p()));
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql)).bind(f.today);
        for v in [&f.status, &f.region].into_iter().flatten() {
            q = q.bind(v.clone());
        }
        if let Some(id) = f.customer_id {
            q = q.bind(id);
        }
        if let Some(id) = f.mine {
            q = q.bind(id);
        }
        if let Some((t, id)) = f.after {
            q = q.bind(t).bind(id);
        }
        q.bind(f.limit).fetch_all(&mut *e).await
    })
}

/// Open actions of active plans due before `today`, of one region or of all.
pub async fn count_overdue(c: Conn<'_>, today: NaiveDate, region: Option<&str>) -> sqlx::Result<i64> {
    let filter = if region.is_some() { " AND p.region_code = $2" } else { "" };
    let sql = format!(
        "SELECT COUNT(*) FROM care_plan_actions a JOIN care_plans p ON p.id = a.plan_id \
         WHERE a.status = 'open' AND a.due_on < $1 AND p.status = 'active'{filter}"
    );
    on_conn!(c, |e| {
        let mut q = sqlx::query_scalar(AssertSqlSafe(sql)).bind(today);
        if let Some(r) = region {
            q = q.bind(r.to_string());
        }
        q.fetch_one(&mut *e).await
    })
}

// ------------------------------------------------------------------ actions

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PlanAction {
    pub id: i64,
    pub plan_id: i64,
    pub what: String,
    #[schema(value_type = String, format = Date)]
    pub due_on: NaiveDate,
    pub owner_id: i64,
    pub owner_name: String,
    /// open | done | cancelled
    pub status: String,
    /// The day it was done (company time).
    #[schema(value_type = Option<String>, format = Date)]
    pub done_on: Option<NaiveDate>,
    pub done_at: Option<DateTime<Utc>>,
    /// What was achieved, or why it was cancelled.
    pub note: String,
    pub version: i64,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
from_row!(PlanAction { id: i64, plan_id: i64, what: String, due_on: NaiveDate, owner_id: i64, owner_name: String,
    status: String, done_on: Option<NaiveDate>, done_at: Option<DateTime<Utc>>, note: String, version: i64,
    created_by: Option<i64>, created_at: DateTime<Utc>, updated_at: DateTime<Utc> });

const ACTION_SELECT: &str = "SELECT a.id, a.plan_id, a.what, a.due_on, a.owner_id, u.display_name AS owner_name, \
    a.status, a.done_on, a.done_at, a.note, a.version, a.created_by, a.created_at, a.updated_at \
    FROM care_plan_actions a JOIN users u ON u.id = a.owner_id";

/// The plan's actions by due day.
pub async fn actions(c: Conn<'_>, plan_id: i64) -> sqlx::Result<Vec<PlanAction>> {
    let sql = format!("{ACTION_SELECT} WHERE a.plan_id = $1 ORDER BY a.due_on, a.id");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(plan_id).fetch_all(&mut *e).await)
}

pub async fn action(c: Conn<'_>, id: i64) -> sqlx::Result<Option<PlanAction>> {
    let sql = format!("{ACTION_SELECT} WHERE a.id = $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

/// Actions done of the customers' plans, newest first (for the customer's time line).
pub async fn done_of_customer(c: Conn<'_>, customer_id: i64, limit: i64) -> sqlx::Result<Vec<PlanAction>> {
    let sql = format!(
        "{ACTION_SELECT} JOIN care_plans p ON p.id = a.plan_id WHERE p.customer_id = $1 AND a.status = 'done' \
         ORDER BY a.done_at DESC, a.id DESC LIMIT $2"
    );
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(customer_id).bind(limit).fetch_all(&mut *e).await)
}

pub struct NewAction<'a> {
    pub plan_id: i64,
    pub what: &'a str,
    pub due_on: NaiveDate,
    pub owner_id: i64,
    pub created_by: Option<i64>,
}

pub async fn insert_action(c: Conn<'_>, a: &NewAction<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO care_plan_actions (plan_id, what, due_on, owner_id, status, created_by, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, 'open', $5, $6, $6) RETURNING id",
        )
        .bind(a.plan_id)
        .bind(a.what)
        .bind(a.due_on)
        .bind(a.owner_id)
        .bind(a.created_by)
        .bind(now)
        .fetch_one(&mut *e)
        .await
    })
}

/// What a change of an action writes over `version`.
pub struct ActionChanges<'a> {
    pub id: i64,
    pub version: i64,
    pub what: &'a str,
    pub due_on: NaiveDate,
    pub owner_id: i64,
    pub status: &'a str,
    pub done_on: Option<NaiveDate>,
    pub done_at: Option<DateTime<Utc>>,
    pub note: &'a str,
}

/// False when the action changed meanwhile.
pub async fn update_action(c: Conn<'_>, a: &ActionChanges<'_>, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE care_plan_actions SET what = $1, due_on = $2, owner_id = $3, status = $4, done_on = $5, \
             done_at = $6, note = $7, updated_at = $8, version = version + 1 WHERE id = $9 AND version = $10",
        )
        .bind(a.what)
        .bind(a.due_on)
        .bind(a.owner_id)
        .bind(a.status)
        .bind(a.done_on)
        .bind(a.done_at)
        .bind(a.note)
        .bind(now)
        .bind(a.id)
        .bind(a.version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Cancels the plan's open actions (the plan was cancelled); returns how many.
pub async fn cancel_open_actions(c: Conn<'_>, plan_id: i64, now: DateTime<Utc>) -> sqlx::Result<u64> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE care_plan_actions SET status = 'cancelled', updated_at = $2, version = version + 1 \
             WHERE plan_id = $1 AND status = 'open'",
        )
        .bind(plan_id)
        .bind(now)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected())
    })
}
