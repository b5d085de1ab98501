//! Monthly staff appraisal (R9.4): schemes per role with their items, months of a role, one row
//! per person with the measured KPIs, the self and manager assessments, the frozen ranking and
//! the last places' improvement plans; and the per-person, per-month counts the KPIs need.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;

use crate::db::Conn;
use crate::{from_row, on_conn};

// ------------------------------------------------------------------ schemes

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Scheme {
    pub id: i64,
    /// domain::Role code
    pub role: String,
    pub version: i64,
    pub updated_at: Option<DateTime<Utc>>,
}
from_row!(Scheme { id: i64, role: String, version: i64, updated_at: Option<DateTime<Utc>> });

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Item {
    /// rules::appraisal::Kpi code
    pub kpi: String,
    /// Relative weight (the items' weights need not add up to 100; the mean is weighted).
    pub weight: f64,
    pub target: f64,
    /// rules::appraisal::ScoreRule code: linear | threshold | stepped
    pub rule: String,
}
from_row!(Item { kpi: String, weight: f64, target: f64, rule: String });

pub async fn schemes(c: Conn<'_>) -> sqlx::Result<Vec<Scheme>> {
    on_conn!(c, |e| {
        sqlx::query_as("SELECT id, role, version, updated_at FROM appraisal_schemes ORDER BY id")
            .fetch_all(&mut *e)
            .await
    })
}

pub async fn scheme(c: Conn<'_>, role: &str) -> sqlx::Result<Option<Scheme>> {
    on_conn!(c, |e| {
        sqlx::query_as("SELECT id, role, version, updated_at FROM appraisal_schemes WHERE role = $1")
            .bind(role)
            .fetch_optional(&mut *e)
            .await
    })
}

pub async fn insert_scheme(c: Conn<'_>, role: &str) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar("INSERT INTO appraisal_schemes (role) VALUES ($1) RETURNING id")
            .bind(role)
            .fetch_one(&mut *e)
            .await
    })
}

pub async fn items(c: Conn<'_>, scheme_id: i64) -> sqlx::Result<Vec<Item>> {
    on_conn!(c, |e| {
        sqlx::query_as("SELECT kpi, weight, target, rule FROM appraisal_items WHERE scheme_id = $1 ORDER BY position")
            .bind(scheme_id)
            .fetch_all(&mut *e)
            .await
    })
}

/// Bumps the scheme's version over `version`; false when it changed meanwhile.
pub async fn touch_scheme(
    c: Conn<'_>,
    id: i64,
    version: i64,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE appraisal_schemes SET version = version + 1, updated_by = $1, updated_at = $2 \
             WHERE id = $3 AND version = $4",
        )
        .bind(by)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

pub async fn replace_items(mut c: Conn<'_>, scheme_id: i64, items: &[Item]) -> sqlx::Result<()> {
    on_conn!(&mut c, |e| {
        sqlx::query("DELETE FROM appraisal_items WHERE scheme_id = $1")
            .bind(scheme_id)
            .execute(&mut **e)
            .await
            .map(|_| ())
    })?;
    for (i, it) in items.iter().enumerate() {
        on_conn!(&mut c, |e| {
            sqlx::query(
                "INSERT INTO appraisal_items (scheme_id, position, kpi, weight, target, rule) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(scheme_id)
            .bind(i as i64 + 1)
            .bind(&it.kpi)
            .bind(it.weight)
            .bind(it.target)
            .bind(&it.rule)
            .execute(&mut **e)
            .await
            .map(|_| ())
        })?;
    }
    Ok(())
}

// ------------------------------------------------------------------ months

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Month {
    pub id: i64,
    /// 2026-11
    pub month: String,
    pub role: String,
    /// open | closed
    pub status: String,
    /// The rules::appraisal::Settings in force for this month (JSON).
    pub settings: String,
    pub opened_by: Option<i64>,
    pub opened_at: DateTime<Utc>,
    pub closed_by: Option<i64>,
    pub closed_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<String>, format = Date)]
    pub results_on: Option<NaiveDate>,
    pub version: i64,
    /// People appraised.
    pub people: i64,
    /// Self-assessments still missing.
    pub self_missing: i64,
    /// Manager assessments still missing.
    pub manager_missing: i64,
}
from_row!(Month { id: i64, month: String, role: String, status: String, settings: String, opened_by: Option<i64>,
    opened_at: DateTime<Utc>, closed_by: Option<i64>, closed_at: Option<DateTime<Utc>>, results_on: Option<NaiveDate>,
    version: i64, people: i64, self_missing: i64, manager_missing: i64 });

const MONTH: &str = "SELECT m.id, m.month, m.role, m.status, m.settings, m.opened_by, m.opened_at, m.closed_by, \
    m.closed_at, m.results_on, m.version, \
    (SELECT COUNT(*) FROM appraisal_rows r WHERE r.month_id = m.id) AS people, \
    (SELECT COUNT(*) FROM appraisal_rows r WHERE r.month_id = m.id AND r.self_score IS NULL) AS self_missing, \
    (SELECT COUNT(*) FROM appraisal_rows r WHERE r.month_id = m.id AND r.manager_score IS NULL) AS manager_missing \
    FROM appraisal_months m";

pub async fn months(c: Conn<'_>, limit: i64) -> sqlx::Result<Vec<Month>> {
    let sql = format!("{MONTH} ORDER BY m.month DESC, m.role LIMIT $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(limit).fetch_all(&mut *e).await)
}

/// The months in which `user_id` has a row, newest first.
pub async fn months_of_user(c: Conn<'_>, user_id: i64) -> sqlx::Result<Vec<Month>> {
    let sql = format!(
        "{MONTH} WHERE EXISTS (SELECT 1 FROM appraisal_rows r WHERE r.month_id = m.id AND r.user_id = $1) \
         ORDER BY m.month DESC, m.role"
    );
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(user_id).fetch_all(&mut *e).await)
}

pub async fn month(c: Conn<'_>, id: i64) -> sqlx::Result<Option<Month>> {
    let sql = format!("{MONTH} WHERE m.id = $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

pub async fn find_month(c: Conn<'_>, month: &str, role: &str) -> sqlx::Result<Option<i64>> {
    on_conn!(c, |e| {
        sqlx::query_scalar("SELECT id FROM appraisal_months WHERE month = $1 AND role = $2")
            .bind(month)
            .bind(role)
            .fetch_optional(&mut *e)
            .await
    })
}

pub async fn insert_month(
    c: Conn<'_>,
    month: &str,
    role: &str,
    settings: &str,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO appraisal_months (month, role, status, settings, opened_by, opened_at) \
             VALUES ($1, $2, 'open', $3, $4, $5) RETURNING id",
        )
        .bind(month)
        .bind(role)
        .bind(settings)
        .bind(by)
        .bind(now)
        .fetch_one(&mut *e)
        .await
    })
}

/// Closes an open month over `version`; false when it changed meanwhile or is closed.
pub async fn close_month(
    c: Conn<'_>,
    id: i64,
    version: i64,
    by: Option<i64>,
    now: DateTime<Utc>,
    results_on: NaiveDate,
) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE appraisal_months SET status = 'closed', closed_by = $1, closed_at = $2, results_on = $3, \
             version = version + 1 WHERE id = $4 AND version = $5 AND status = 'open'",
        )
        .bind(by)
        .bind(now)
        .bind(results_on)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

// ------------------------------------------------------------------ rows

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Row {
    pub id: i64,
    pub month_id: i64,
    pub user_id: i64,
    pub user_name: String,
    /// The measured items (JSON list of service::appraisal::Measured).
    #[serde(skip)]
    pub kpis: String,
    pub kpi_score: Option<f64>,
    pub self_score: Option<f64>,
    pub self_comment: String,
    pub self_at: Option<DateTime<Utc>>,
    pub manager_score: Option<f64>,
    pub manager_comment: String,
    pub manager_reason: String,
    pub manager_id: Option<i64>,
    pub manager_at: Option<DateTime<Utc>>,
    pub final_score: Option<f64>,
    /// Place in the role's month once closed (1 = best, ties share).
    pub place: Option<i64>,
    pub reward: bool,
    pub last_place: bool,
    /// Months in a row among the last places, this one included.
    pub last_streak: i64,
    /// Three months last in a row: a transfer is to be considered (RULES §7).
    pub transfer: bool,
    pub rank_rule: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub plan_due: Option<NaiveDate>,
    pub plan_reason: String,
    pub plan_text: String,
    pub plan_by: Option<i64>,
    pub plan_at: Option<DateTime<Utc>>,
    pub version: i64,
}
from_row!(Row { id: i64, month_id: i64, user_id: i64, user_name: String, kpis: String, kpi_score: Option<f64>,
    self_score: Option<f64>, self_comment: String, self_at: Option<DateTime<Utc>>, manager_score: Option<f64>,
    manager_comment: String, manager_reason: String, manager_id: Option<i64>, manager_at: Option<DateTime<Utc>>,
    final_score: Option<f64>, place: Option<i64>, reward: bool, last_place: bool, last_streak: i64, transfer: bool,
    rank_rule: String, plan_due: Option<NaiveDate>, plan_reason: String, plan_text: String, plan_by: Option<i64>,
    plan_at: Option<DateTime<Utc>>, version: i64 });

const ROW: &str = "SELECT id, month_id, user_id, user_name, kpis, kpi_score, self_score, self_comment, self_at, \
    manager_score, manager_comment, manager_reason, manager_id, manager_at, final_score, place, reward, last_place, \
    last_streak, transfer, rank_rule, plan_due, plan_reason, plan_text, plan_by, plan_at, version FROM appraisal_rows";

pub async fn rows(c: Conn<'_>, month_id: i64) -> sqlx::Result<Vec<Row>> {
    let sql =
        format!("{ROW} WHERE month_id = $1 ORDER BY CASE WHEN place IS NULL THEN 1 ELSE 0 END, place, user_name, id");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(month_id).fetch_all(&mut *e).await)
}

pub async fn row(c: Conn<'_>, id: i64) -> sqlx::Result<Option<Row>> {
    let sql = format!("{ROW} WHERE id = $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

pub struct NewRow<'a> {
    pub month_id: i64,
    pub user_id: i64,
    pub user_name: &'a str,
    pub kpis: &'a str,
    pub kpi_score: Option<f64>,
}

pub async fn insert_row(c: Conn<'_>, r: &NewRow<'_>) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO appraisal_rows (month_id, user_id, user_name, kpis, kpi_score) VALUES ($1, $2, $3, $4, $5) \
             RETURNING id",
        )
        .bind(r.month_id)
        .bind(r.user_id)
        .bind(r.user_name)
        .bind(r.kpis)
        .bind(r.kpi_score)
        .fetch_one(&mut *e)
        .await
    })
}

/// Writes the self-assessment over `version`; false when the row changed meanwhile.
pub async fn set_self(
    c: Conn<'_>,
    id: i64,
    version: i64,
    score: f64,
    comment: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE appraisal_rows SET self_score = $1, self_comment = $2, self_at = $3, version = version + 1 \
             WHERE id = $4 AND version = $5",
        )
        .bind(score)
        .bind(comment)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

pub struct ManagerAssessment<'a> {
    pub score: f64,
    pub comment: &'a str,
    pub reason: &'a str,
    pub by: Option<i64>,
}

pub async fn set_manager(
    c: Conn<'_>,
    id: i64,
    version: i64,
    m: &ManagerAssessment<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE appraisal_rows SET manager_score = $1, manager_comment = $2, manager_reason = $3, manager_id = $4, \
             manager_at = $5, version = version + 1 WHERE id = $6 AND version = $7",
        )
        .bind(m.score)
        .bind(m.comment)
        .bind(m.reason)
        .bind(m.by)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// What closing a month writes into a row.
pub struct Ranked<'a> {
    pub final_score: f64,
    pub place: i64,
    pub reward: bool,
    pub last_place: bool,
    pub last_streak: i64,
    pub transfer: bool,
    pub rank_rule: &'a str,
    pub plan_due: Option<NaiveDate>,
}

pub async fn set_ranked(c: Conn<'_>, id: i64, r: &Ranked<'_>) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE appraisal_rows SET final_score = $1, place = $2, reward = $3, last_place = $4, last_streak = $5, \
             transfer = $6, rank_rule = $7, plan_due = $8, version = version + 1 WHERE id = $9",
        )
        .bind(r.final_score)
        .bind(r.place)
        .bind(r.reward)
        .bind(r.last_place)
        .bind(r.last_streak)
        .bind(r.transfer)
        .bind(r.rank_rule)
        .bind(r.plan_due)
        .bind(id)
        .execute(&mut *e)
        .await
        .map(|_| ())
    })
}

pub async fn set_plan(
    c: Conn<'_>,
    id: i64,
    version: i64,
    reason: &str,
    plan: &str,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE appraisal_rows SET plan_reason = $1, plan_text = $2, plan_by = $3, plan_at = $4, \
             version = version + 1 WHERE id = $5 AND version = $6",
        )
        .bind(reason)
        .bind(plan)
        .bind(by)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Whether the user was among the last places of the role's closed `month` (None: no closed
/// appraisal of him that month).
pub async fn was_last(c: Conn<'_>, user_id: i64, role: &str, month: &str) -> sqlx::Result<Option<bool>> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "SELECT r.last_place FROM appraisal_rows r JOIN appraisal_months m ON m.id = r.month_id \
             WHERE r.user_id = $1 AND m.role = $2 AND m.month = $3 AND m.status = 'closed'",
        )
        .bind(user_id)
        .bind(role)
        .bind(month)
        .fetch_optional(&mut *e)
        .await
    })
}

/// A last place's plan with its month, for the list of plans due.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PlanDue {
    pub row_id: i64,
    pub month_id: i64,
    pub month: String,
    pub role: String,
    pub user_id: i64,
    pub user_name: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub plan_due: Option<NaiveDate>,
    pub plan_at: Option<DateTime<Utc>>,
    pub transfer: bool,
}
from_row!(PlanDue { row_id: i64, month_id: i64, month: String, role: String, user_id: i64, user_name: String,
    plan_due: Option<NaiveDate>, plan_at: Option<DateTime<Utc>>, transfer: bool });

/// Last places whose plan is not in yet (all, or one user's).
pub async fn plans_missing(c: Conn<'_>, user_id: Option<i64>) -> sqlx::Result<Vec<PlanDue>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT r.id AS row_id, m.id AS month_id, m.month, m.role, r.user_id, r.user_name, r.plan_due, r.plan_at, \
             r.transfer FROM appraisal_rows r JOIN appraisal_months m ON m.id = r.month_id \
             WHERE r.last_place AND r.plan_at IS NULL AND ($1 = 0 OR r.user_id = $1) \
             ORDER BY r.plan_due, r.id LIMIT 500",
        )
        .bind(user_id.unwrap_or(0))
        .fetch_all(&mut *e)
        .await
    })
}

// ------------------------------------------------------------------ plan e-mails

/// Someone an appraisal e-mail may go to: his address (None: he is skipped) and language.
#[derive(Clone, Debug)]
pub struct Recipient {
    pub id: i64,
    pub display_name: String,
    pub email: Option<String>,
    pub locale: String,
}
from_row!(Recipient { id: i64, display_name: String, email: Option<String>, locale: String });

struct PersonRow {
    id: i64,
    display_name: String,
    email: Option<String>,
    locale: String,
    leader_id: Option<i64>,
    leader_name: Option<String>,
    leader_email: Option<String>,
    leader_locale: Option<String>,
}
from_row!(PersonRow { id: i64, display_name: String, email: Option<String>, locale: String,
    leader_id: Option<i64>, leader_name: Option<String>, leader_email: Option<String>,
    leader_locale: Option<String> });

/// The person appraised and the leader of his (active) team, if it has an active leader.
pub async fn person_and_leader(c: Conn<'_>, user_id: i64) -> sqlx::Result<(Option<Recipient>, Option<Recipient>)> {
    let row: Option<PersonRow> = on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT u.id, u.display_name, u.email, u.locale, l.id AS leader_id, l.display_name AS leader_name, \
             l.email AS leader_email, l.locale AS leader_locale \
             FROM users u LEFT JOIN teams t ON t.id = u.team_id AND t.active \
             LEFT JOIN users l ON l.id = t.leader_id AND l.active WHERE u.id = $1",
        )
        .bind(user_id)
        .fetch_optional(&mut *e)
        .await
    })?;
    let Some(r) = row else { return Ok((None, None)) };
    let leader = match (r.leader_id, r.leader_name) {
        (Some(id), Some(display_name)) => {
            Some(Recipient { id, display_name, email: r.leader_email, locale: r.leader_locale.unwrap_or_default() })
        }
        _ => None,
    };
    Ok((Some(Recipient { id: r.id, display_name: r.display_name, email: r.email, locale: r.locale }), leader))
}

/// The active users holding one of `roles` (those who may appraise), by id.
pub async fn users_with_roles(c: Conn<'_>, roles: &[&str]) -> sqlx::Result<Vec<Recipient>> {
    if roles.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT u.id, u.display_name, u.email, u.locale FROM users u WHERE u.active AND EXISTS \
         (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role IN ({})) ORDER BY u.id",
        super::placeholders(1, roles.len())
    );
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        for r in roles {
            q = q.bind(*r);
        }
        q.fetch_all(&mut *e).await
    })
}

/// Last places whose plan is past its due day (`due < today`), not in and not yet reminded.
pub async fn plans_to_remind(c: Conn<'_>, today: NaiveDate, limit: i64) -> sqlx::Result<Vec<PlanDue>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT r.id AS row_id, m.id AS month_id, m.month, m.role, r.user_id, r.user_name, r.plan_due, r.plan_at, \
             r.transfer FROM appraisal_rows r JOIN appraisal_months m ON m.id = r.month_id \
             WHERE r.last_place AND r.plan_at IS NULL AND r.plan_due < $1 AND r.plan_reminded_at IS NULL \
             ORDER BY r.plan_due, r.id LIMIT $2",
        )
        .bind(today)
        .bind(limit)
        .fetch_all(&mut *e)
        .await
    })
}

/// Marks a plan reminded if it still needs it (not in, not reminded): false when another run
/// got there first or the plan came in meanwhile. The row's version stays (the person may be
/// handing in his plan on the form he read).
pub async fn mark_plan_reminded(c: Conn<'_>, row_id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE appraisal_rows SET plan_reminded_at = $1 \
             WHERE id = $2 AND last_place AND plan_at IS NULL AND plan_reminded_at IS NULL",
        )
        .bind(now)
        .bind(row_id)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

// ------------------------------------------------------------------ counts per person and month

/// Clocks of one target started in `[from, to)` on orders of the person (as the engineer, or as
/// who registered them): (order, outcome) with outcome 1 met, 0 late or breached, -1 still open.
pub async fn clocks_of(
    c: Conn<'_>,
    user_id: i64,
    as_engineer: bool,
    target: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<(i64, i64)>> {
    let who = if as_engineer { "o.engineer_id" } else { "o.created_by" };
    let sql = format!(
        "SELECT k.order_id, CAST(CASE WHEN k.stopped_at IS NOT NULL AND k.breached_at IS NULL THEN 1 \
         WHEN k.stopped_at IS NOT NULL OR k.breached_at IS NOT NULL OR k.due_at < $5 THEN 0 ELSE -1 END AS BIGINT) \
         FROM work_order_clocks k JOIN work_orders o ON o.id = k.order_id \
         WHERE {who} = $1 AND k.target = $2 AND k.started_at >= $3 AND k.started_at < $4 AND k.state <> 'cancelled' \
         ORDER BY k.order_id"
    );
    on_conn!(c, |e| {
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(user_id)
            .bind(target)
            .bind(from)
            .bind(to)
            .bind(now)
            .fetch_all(&mut *e)
            .await
    })
}

/// Orders the engineer completed in `[from, to)` (not cancelled).
pub async fn completed_by(c: Conn<'_>, user_id: i64, from: DateTime<Utc>, to: DateTime<Utc>) -> sqlx::Result<Vec<i64>> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "SELECT id FROM work_orders WHERE engineer_id = $1 AND completed_at >= $2 AND completed_at < $3 \
             AND status <> 'cancelled' ORDER BY id",
        )
        .bind(user_id)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *e)
        .await
    })
}

/// Surveys of the engineer's jobs answered in `[from, to)`: (order, overall score).
pub async fn surveys_of(
    c: Conn<'_>,
    user_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<(Option<i64>, i32)>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT order_id, overall FROM surveys WHERE engineer_id = $1 AND answered_at >= $2 AND answered_at < $3 \
             AND overall IS NOT NULL ORDER BY id",
        )
        .bind(user_id)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *e)
        .await
    })
}

/// Follow-up visits due in `[from, to]` that are the person's: done by him (1 when by the due
/// day) or still open and assigned to him (0). Read through two indexes (done by, open by
/// assignee), never the whole table.
pub async fn visits_of(c: Conn<'_>, user_id: i64, from: NaiveDate, to: NaiveDate) -> sqlx::Result<Vec<(i64, i64)>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT id, CAST(CASE WHEN done_on <= due_on THEN 1 ELSE 0 END AS BIGINT) FROM visit_tasks \
             WHERE status = 'done' AND done_by = $1 AND due_on >= $2 AND due_on <= $3 \
             UNION ALL SELECT id, CAST(0 AS BIGINT) FROM visit_tasks \
             WHERE status = 'open' AND assignee_id = $1 AND due_on >= $2 AND due_on <= $3 ORDER BY 1",
        )
        .bind(user_id)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *e)
        .await
    })
}

/// The person's picks (transfers and issues out of a location) in `[from, to)`: (movement,
/// order, 1 when it came back as the wrong part).
pub async fn picks_of(
    c: Conn<'_>,
    user_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<(i64, Option<i64>, i64)>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT p.id, p.order_id, CAST(CASE WHEN EXISTS (SELECT 1 FROM stock_movements w WHERE w.ref_id = p.id \
             AND w.kind = 'return_wrong') THEN 1 ELSE 0 END AS BIGINT) FROM stock_movements p \
             WHERE p.actor_id = $1 AND p.kind IN ('transfer', 'issue') AND p.from_id IS NOT NULL \
             AND p.created_at >= $2 AND p.created_at < $3 ORDER BY p.id",
        )
        .bind(user_id)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *e)
        .await
    })
}

/// Corrective actions the person owns due in `[from, to]` (not cancelled): (action, due day,
/// done at).
pub async fn actions_of(
    c: Conn<'_>,
    user_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<(i64, NaiveDate, Option<DateTime<Utc>>)>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT id, due_on, done_at FROM corrective_actions WHERE owner_id = $1 AND status <> 'cancelled' \
             AND due_on >= $2 AND due_on <= $3 ORDER BY id",
        )
        .bind(user_id)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *e)
        .await
    })
}
