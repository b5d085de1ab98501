//! Service clocks (R4): SLA policy versions, service contracts, the calendars of regions and
//! engineers, clocks and pauses of orders, escalations sent, and the compliance figures.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

use super::bulk::values;
use crate::db::{Backend, Conn};
use crate::{from_row, on_conn};

// ------------------------------------------------------------------ policies

/// One stored version of an SLA policy (`rules::sla::SlaPolicy` as JSON).
#[derive(Clone, Debug, Serialize)]
pub struct PolicyVersion {
    pub code: String,
    pub version: i64,
    pub policy_json: String,
    pub active: bool,
    pub note: String,
    pub created_by: Option<i64>,
    pub created_by_label: String,
    pub created_at: DateTime<Utc>,
}
from_row!(PolicyVersion { code: String, version: i64, policy_json: String, active: bool, note: String,
    created_by: Option<i64>, created_by_label: String, created_at: DateTime<Utc> });

const POLICY_COLUMNS: &str = "code, version, policy_json, active, note, created_by, created_by_label, created_at";

/// Inserts a version; a unique violation means someone saved that version first.
pub async fn insert_policy(c: Conn<'_>, v: &PolicyVersion) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query(
            "INSERT INTO sla_policy_versions (code, version, policy_json, active, note, created_by, \
             created_by_label, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&v.code)
        .bind(v.version)
        .bind(&v.policy_json)
        .bind(v.active)
        .bind(&v.note)
        .bind(v.created_by)
        .bind(&v.created_by_label)
        .bind(v.created_at)
        .execute(&mut *e)
        .await
        .map(|_| ())
    })
}

/// The newest stored version of every code.
pub async fn latest_policies(c: Conn<'_>) -> sqlx::Result<Vec<PolicyVersion>> {
    let sql = format!(
        "SELECT {POLICY_COLUMNS} FROM sla_policy_versions v WHERE version = \
         (SELECT MAX(version) FROM sla_policy_versions w WHERE w.code = v.code) ORDER BY code"
    );
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).fetch_all(&mut *e).await)
}

pub async fn policy_version(c: Conn<'_>, code: &str, version: i64) -> sqlx::Result<Option<PolicyVersion>> {
    let sql = format!("SELECT {POLICY_COLUMNS} FROM sla_policy_versions WHERE code = $1 AND version = $2");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(code).bind(version).fetch_optional(&mut *e).await)
}

/// Every stored version of `code`, newest first.
pub async fn policy_versions(c: Conn<'_>, code: &str) -> sqlx::Result<Vec<PolicyVersion>> {
    let sql = format!("SELECT {POLICY_COLUMNS} FROM sla_policy_versions WHERE code = $1 ORDER BY version DESC");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(code).fetch_all(&mut *e).await)
}

// ------------------------------------------------------------------ contracts

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Contract {
    pub id: i64,
    /// Policies with `applies_to.contract_code` equal to this code apply to the customer's orders.
    pub code: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub name: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub note: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
from_row!(Contract { id: i64, code: String, customer_id: i64, customer_name: String, name: String,
    valid_from: NaiveDate, valid_to: Option<NaiveDate>, note: String, version: i64, created_at: DateTime<Utc>,
    updated_at: DateTime<Utc> });

const CONTRACT_SELECT: &str = "SELECT k.id, k.code, k.customer_id, c.name AS customer_name, k.name, k.valid_from, \
    k.valid_to, k.note, k.version, k.created_at, k.updated_at FROM service_contracts k \
    JOIN customers c ON c.id = k.customer_id";

pub struct ContractData<'a> {
    pub code: &'a str,
    pub customer_id: i64,
    pub name: &'a str,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub note: &'a str,
}

pub async fn insert_contract(c: Conn<'_>, d: &ContractData<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO service_contracts (code, customer_id, name, valid_from, valid_to, note, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        )
        .bind(d.code)
        .bind(d.customer_id)
        .bind(d.name)
        .bind(d.valid_from)
        .bind(d.valid_to)
        .bind(d.note)
        .bind(now)
        .fetch_one(&mut *e)
        .await
    })
}

/// Updates the contract if it is still at `version`.
pub async fn update_contract(
    c: Conn<'_>,
    id: i64,
    version: i64,
    d: &ContractData<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE service_contracts SET code = $1, customer_id = $2, name = $3, valid_from = $4, valid_to = $5, \
             note = $6, version = version + 1, updated_at = $7 WHERE id = $8 AND version = $9",
        )
        .bind(d.code)
        .bind(d.customer_id)
        .bind(d.name)
        .bind(d.valid_from)
        .bind(d.valid_to)
        .bind(d.note)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

pub async fn contract(c: Conn<'_>, id: i64) -> sqlx::Result<Option<Contract>> {
    let sql = format!("{CONTRACT_SELECT} WHERE k.id = $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

pub async fn contract_by_code(c: Conn<'_>, code: &str) -> sqlx::Result<Option<Contract>> {
    let sql = format!("{CONTRACT_SELECT} WHERE k.code = $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(code).fetch_optional(&mut *e).await)
}

/// Contracts, newest first; of one customer and of customers of one region when given.
pub async fn contracts(
    c: Conn<'_>,
    customer_id: Option<i64>,
    region: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<Contract>> {
    let sql = format!(
        "{CONTRACT_SELECT} WHERE ($1 IS NULL OR k.customer_id = $1) AND ($2 IS NULL OR c.region_code = $2) \
         ORDER BY k.id DESC LIMIT $3"
    );
    on_conn!(c, |e| {
        sqlx::query_as(AssertSqlSafe(sql)).bind(customer_id).bind(region).bind(limit).fetch_all(&mut *e).await
    })
}

// ------------------------------------------------------------------ calendars of regions and engineers

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CalendarAssignment {
    /// Region code or user id (as text).
    pub key: String,
    pub name: String,
    pub calendar_code: Option<String>,
}
from_row!(CalendarAssignment { key: String, name: String, calendar_code: Option<String> });

pub async fn region_calendars(c: Conn<'_>) -> sqlx::Result<Vec<CalendarAssignment>> {
    on_conn!(c, |e| {
        sqlx::query_as("SELECT code AS key, name_zh AS name, calendar_code FROM regions ORDER BY code")
            .fetch_all(&mut *e)
            .await
    })
}

/// Engineers (active users with the role) and their calendars.
pub async fn engineer_calendars(c: Conn<'_>) -> sqlx::Result<Vec<CalendarAssignment>> {
    let sql = "SELECT CAST(u.id AS TEXT) AS key, u.display_name AS name, u.calendar_code FROM users u \
               JOIN user_roles r ON r.user_id = u.id AND r.role = 'engineer' WHERE u.active ORDER BY u.id";
    on_conn!(c, |e| sqlx::query_as(sql).fetch_all(&mut *e).await)
}

/// False when there is no such region.
pub async fn set_region_calendar(c: Conn<'_>, region: &str, calendar: Option<&str>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query("UPDATE regions SET calendar_code = $1 WHERE code = $2")
            .bind(calendar)
            .bind(region)
            .execute(&mut *e)
            .await
            .map(|r| r.rows_affected() == 1)
    })
}

/// False when there is no such user.
pub async fn set_user_calendar(c: Conn<'_>, user_id: i64, calendar: Option<&str>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query("UPDATE users SET calendar_code = $1 WHERE id = $2")
            .bind(calendar)
            .bind(user_id)
            .execute(&mut *e)
            .await
            .map(|r| r.rows_affected() == 1)
    })
}

/// The calendar of a region (None: the company's default).
pub async fn region_calendar(c: Conn<'_>, region: &str) -> sqlx::Result<Option<String>> {
    on_conn!(c, |e| {
        sqlx::query_scalar("SELECT calendar_code FROM regions WHERE code = $1")
            .bind(region)
            .fetch_optional(&mut *e)
            .await
            .map(Option::flatten)
    })
}

// ------------------------------------------------------------------ clocks

/// One promise on one order, with what the last evaluation found.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ClockRow {
    pub order_id: i64,
    pub target: String,
    pub policy_code: String,
    pub policy_version: i64,
    pub calendar_code: String,
    pub started_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
    /// running | paused | warning | breached | met | met_late | cancelled
    pub state: String,
    pub due_at: Option<DateTime<Utc>>,
    pub warn_at: Option<DateTime<Utc>>,
    pub next_check_at: Option<DateTime<Utc>>,
    pub used_seconds: i64,
    pub target_seconds: i64,
    pub breached_at: Option<DateTime<Utc>>,
    pub breach_cause: Option<String>,
    pub breach_note: String,
}
from_row!(ClockRow { order_id: i64, target: String, policy_code: String, policy_version: i64,
    calendar_code: String, started_at: DateTime<Utc>, stopped_at: Option<DateTime<Utc>>,
    deadline: Option<DateTime<Utc>>, state: String, due_at: Option<DateTime<Utc>>, warn_at: Option<DateTime<Utc>>,
    next_check_at: Option<DateTime<Utc>>, used_seconds: i64, target_seconds: i64,
    breached_at: Option<DateTime<Utc>>, breach_cause: Option<String>, breach_note: String });

const CLOCK_COLUMNS: &str = "order_id, target, policy_code, policy_version, calendar_code, started_at, stopped_at, \
    deadline, state, due_at, warn_at, next_check_at, used_seconds, target_seconds, breached_at, breach_cause, \
    breach_note";

/// Columns bound per clock by [`bind_clocks`].
pub(crate) const CLOCK_COLS: usize = 17;

/// The INSERT of `n` clocks (bind them with [`bind_clocks`]).
pub(crate) fn insert_clocks_sql(backend: Backend, n: usize) -> String {
    format!("INSERT INTO work_order_clocks ({CLOCK_COLUMNS}) VALUES {}", values(backend, n, CLOCK_COLS, 1, ""))
}

macro_rules! bind_clocks {
    ($q:expr, $rows:expr) => {{
        let mut q = $q;
        for k in $rows {
            q = q
                .bind(k.order_id)
                .bind(&k.target)
                .bind(&k.policy_code)
                .bind(k.policy_version)
                .bind(&k.calendar_code)
                .bind(k.started_at)
                .bind(k.stopped_at)
                .bind(k.deadline)
                .bind(&k.state)
                .bind(k.due_at)
                .bind(k.warn_at)
                .bind(k.next_check_at)
                .bind(k.used_seconds)
                .bind(k.target_seconds)
                .bind(k.breached_at)
                .bind(&k.breach_cause)
                .bind(&k.breach_note);
        }
        q
    }};
}
pub(crate) use bind_clocks;

pub async fn insert_clocks(c: Conn<'_>, backend: Backend, rows: &[ClockRow]) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = insert_clocks_sql(backend, rows.len());
    on_conn!(c, |e| bind_clocks!(sqlx::query(AssertSqlSafe(sql)), rows).execute(&mut *e).await.map(|_| ()))
}

/// An order's clocks, the order's id as `$1`.
pub(super) fn clocks_of_sql() -> String {
    format!("SELECT {CLOCK_COLUMNS} FROM work_order_clocks WHERE order_id = $1 ORDER BY target")
}

/// The order's clocks in the policy's order of targets is not kept: by target code. `lock`
/// takes their rows for the caller's transaction on PostgreSQL (a sweeper holding them makes
/// the caller wait instead of both writing).
pub async fn clocks_of(c: Conn<'_>, order_id: i64, lock: bool) -> sqlx::Result<Vec<ClockRow>> {
    let lock = if lock && matches!(c, Conn::Pg(_)) { " FOR UPDATE" } else { "" };
    let sql = format!("{}{lock}", clocks_of_sql());
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(order_id).fetch_all(&mut *e).await)
}

/// Writes what an evaluation found (everything but the keys and the policy).
pub async fn update_clock(c: Conn<'_>, k: &ClockRow) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE work_order_clocks SET stopped_at = $1, deadline = $2, state = $3, due_at = $4, warn_at = $5, \
             next_check_at = $6, used_seconds = $7, target_seconds = $8, breached_at = $9, breach_cause = $10, \
             breach_note = $11 WHERE order_id = $12 AND target = $13",
        )
        .bind(k.stopped_at)
        .bind(k.deadline)
        .bind(&k.state)
        .bind(k.due_at)
        .bind(k.warn_at)
        .bind(k.next_check_at)
        .bind(k.used_seconds)
        .bind(k.target_seconds)
        .bind(k.breached_at)
        .bind(&k.breach_cause)
        .bind(&k.breach_note)
        .bind(k.order_id)
        .bind(&k.target)
        .execute(&mut *e)
        .await
        .map(|_| ())
    })
}

/// Clocks whose next check has come, oldest first, taken for the caller's transaction: on
/// PostgreSQL locked and skipped by other sweepers (`SKIP LOCKED`); SQLite's single writer
/// (`BEGIN IMMEDIATE`) already keeps two sweepers apart.
pub async fn claim_due(c: Conn<'_>, now: DateTime<Utc>, limit: i64) -> sqlx::Result<Vec<ClockRow>> {
    let lock = if matches!(c, Conn::Pg(_)) { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "SELECT {CLOCK_COLUMNS} FROM work_order_clocks WHERE next_check_at IS NOT NULL AND next_check_at <= $1 \
         ORDER BY next_check_at LIMIT $2{lock}"
    );
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(now).bind(limit).fetch_all(&mut *e).await)
}

/// Whether any clock's check has come (a read, so an idle sweeper takes no write lock).
pub async fn any_due(c: Conn<'_>, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query_scalar::<_, i64>(
            "SELECT order_id FROM work_order_clocks WHERE next_check_at IS NOT NULL AND next_check_at <= $1 LIMIT 1",
        )
        .bind(now)
        .fetch_optional(&mut *e)
        .await
        .map(|r| r.is_some())
    })
}

/// How many clocks wait for a check now.
pub async fn due_count(c: Conn<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM work_order_clocks WHERE next_check_at IS NOT NULL AND next_check_at <= $1",
        )
        .bind(now)
        .fetch_one(&mut *e)
        .await
    })
}

/// The most urgent running clock of an order, kept on the order for lists.
pub async fn set_order_sla(
    c: Conn<'_>,
    order_id: i64,
    due: Option<DateTime<Utc>>,
    warn: Option<DateTime<Utc>>,
) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query("UPDATE work_orders SET sla_due_at = $1, sla_warn_at = $2 WHERE id = $3")
            .bind(due)
            .bind(warn)
            .bind(order_id)
            .execute(&mut *e)
            .await
            .map(|_| ())
    })
}

// ------------------------------------------------------------------ pauses

#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct PauseRow {
    pub id: i64,
    pub order_id: i64,
    pub reason: String,
    /// manual | quote | approval
    pub source: String,
    pub from_at: DateTime<Utc>,
    pub to_at: Option<DateTime<Utc>>,
    pub note: String,
    pub created_by: Option<i64>,
}
from_row!(PauseRow { id: i64, order_id: i64, reason: String, source: String, from_at: DateTime<Utc>,
    to_at: Option<DateTime<Utc>>, note: String, created_by: Option<i64> });

pub async fn pauses_of(c: Conn<'_>, order_id: i64) -> sqlx::Result<Vec<PauseRow>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT id, order_id, reason, source, from_at, to_at, note, created_by FROM work_order_pauses \
             WHERE order_id = $1 ORDER BY id",
        )
        .bind(order_id)
        .fetch_all(&mut *e)
        .await
    })
}

/// The pauses of several orders (the sweeper's batch).
pub async fn pauses_of_many(c: Conn<'_>, order_ids: &[i64]) -> sqlx::Result<Vec<PauseRow>> {
    if order_ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT id, order_id, reason, source, from_at, to_at, note, created_by FROM work_order_pauses \
         WHERE order_id IN ({}) ORDER BY order_id, id",
        super::placeholders(1, order_ids.len())
    );
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        for id in order_ids {
            q = q.bind(id);
        }
        q.fetch_all(&mut *e).await
    })
}

pub async fn open_pause(c: Conn<'_>, p: &PauseRow) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query(
            "INSERT INTO work_order_pauses (order_id, reason, source, from_at, to_at, note, created_by) \
             VALUES ($1, $2, $3, $4, NULL, $5, $6)",
        )
        .bind(p.order_id)
        .bind(&p.reason)
        .bind(&p.source)
        .bind(p.from_at)
        .bind(&p.note)
        .bind(p.created_by)
        .execute(&mut *e)
        .await
        .map(|_| ())
    })
}

/// Ends the order's open pauses (of one source, or all).
pub async fn close_pauses(c: Conn<'_>, order_id: i64, source: Option<&str>, at: DateTime<Utc>) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE work_order_pauses SET to_at = $1 WHERE order_id = $2 AND to_at IS NULL \
             AND ($3 IS NULL OR source = $3)",
        )
        .bind(at)
        .bind(order_id)
        .bind(source)
        .execute(&mut *e)
        .await
        .map(|_| ())
    })
}

// ------------------------------------------------------------------ escalations

/// A warning or escalation, recorded once per clock and step.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Escalation {
    pub order_id: i64,
    pub target: String,
    pub step_key: String,
    pub notify_role: String,
    /// warning | breach | escalation
    pub kind: String,
    pub at: DateTime<Utc>,
    pub percent_used: i64,
    /// E-mails queued for it.
    pub recipients: i64,
}
from_row!(Escalation { order_id: i64, target: String, step_key: String, notify_role: String, kind: String,
    at: DateTime<Utc>, percent_used: i64, recipients: i64 });

/// Records the step unless it was recorded already (by this or another instance): true when
/// this call recorded it, and so must notify.
pub async fn insert_escalation(c: Conn<'_>, x: &Escalation) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "INSERT INTO sla_escalations (order_id, target, step_key, notify_role, kind, at, percent_used, recipients) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (order_id, target, step_key) DO NOTHING",
        )
        .bind(x.order_id)
        .bind(&x.target)
        .bind(&x.step_key)
        .bind(&x.notify_role)
        .bind(&x.kind)
        .bind(x.at)
        .bind(x.percent_used)
        .bind(x.recipients)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// (order id, target, step key) of every step recorded for the orders.
pub async fn sent_keys(c: Conn<'_>, order_ids: &[i64]) -> sqlx::Result<Vec<(i64, String, String)>> {
    if order_ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT order_id, target, step_key FROM sla_escalations WHERE order_id IN ({})",
        super::placeholders(1, order_ids.len())
    );
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        for id in order_ids {
            q = q.bind(id);
        }
        q.fetch_all(&mut *e).await
    })
}

pub async fn escalations_of(c: Conn<'_>, order_id: i64) -> sqlx::Result<Vec<Escalation>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT order_id, target, step_key, notify_role, kind, at, percent_used, recipients FROM sla_escalations \
             WHERE order_id = $1 ORDER BY at, step_key",
        )
        .bind(order_id)
        .fetch_all(&mut *e)
        .await
    })
}

/// An escalation with its order, for the alert list.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Alert {
    pub order_id: i64,
    pub target: String,
    pub notify_role: String,
    pub kind: String,
    pub at: DateTime<Utc>,
    pub percent_used: i64,
    pub status: String,
    pub customer_name: String,
    pub region_code: Option<String>,
    pub engineer_name: Option<String>,
    /// The clock is still running (not met, not cancelled).
    pub open: bool,
}
from_row!(Alert { order_id: i64, target: String, notify_role: String, kind: String, at: DateTime<Utc>,
    percent_used: i64, status: String, customer_name: String, region_code: Option<String>,
    engineer_name: Option<String>, open: bool });

/// The newest escalations sent to any of `roles` (all roles when empty), in a region when given.
pub async fn alerts(
    c: Conn<'_>,
    roles: &[String],
    region: Option<&str>,
    since: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<Alert>> {
    let roles_in = if roles.is_empty() {
        String::new()
    } else {
        format!(" AND x.notify_role IN ({})", super::placeholders(4, roles.len()))
    };
    let sql = format!(
        "SELECT x.order_id, x.target, x.notify_role, x.kind, x.at, x.percent_used, o.status, c.name AS customer_name, \
         o.region_code, u.display_name AS engineer_name, \
         (k.stopped_at IS NULL AND k.state <> 'cancelled') AS open \
         FROM sla_escalations x JOIN work_orders o ON o.id = x.order_id JOIN customers c ON c.id = o.customer_id \
         JOIN work_order_clocks k ON k.order_id = x.order_id AND k.target = x.target \
         LEFT JOIN users u ON u.id = o.engineer_id \
         WHERE x.at >= $1 AND ($2 IS NULL OR o.region_code = $2){roles_in} ORDER BY x.at DESC LIMIT $3"
    );
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql)).bind(since).bind(region).bind(limit);
        for r in roles {
            q = q.bind(r);
        }
        q.fetch_all(&mut *e).await
    })
}

/// A member of staff who may be notified by an escalation.
#[derive(Clone, Debug)]
pub struct Staff {
    pub id: i64,
    pub display_name: String,
    pub email: Option<String>,
    pub region_code: Option<String>,
    pub role: String,
}
from_row!(Staff { id: i64, display_name: String, email: Option<String>, region_code: Option<String>,
    role: String });

/// Active users with their roles (one row per role).
pub async fn staff(c: Conn<'_>) -> sqlx::Result<Vec<Staff>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT u.id, u.display_name, u.email, u.region_code, r.role FROM users u \
             JOIN user_roles r ON r.user_id = u.id WHERE u.active ORDER BY u.id, r.role",
        )
        .fetch_all(&mut *e)
        .await
    })
}

// ------------------------------------------------------------------ figures

/// How the compliance figures are grouped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Target,
    Engineer,
    Region,
    Month,
    Policy,
    Priority,
}

impl GroupBy {
    pub const ALL: [GroupBy; 6] =
        [GroupBy::Target, GroupBy::Month, GroupBy::Region, GroupBy::Engineer, GroupBy::Policy, GroupBy::Priority];

    pub fn code(self) -> &'static str {
        match self {
            GroupBy::Target => "target",
            GroupBy::Engineer => "engineer",
            GroupBy::Region => "region",
            GroupBy::Month => "month",
            GroupBy::Policy => "policy",
            GroupBy::Priority => "priority",
        }
    }

    pub fn parse(s: &str) -> Option<GroupBy> {
        Self::ALL.into_iter().find(|g| g.code() == s)
    }

    /// The grouping expression and its label (joins: o = order, u = engineer, r = region).
    fn sql(self, backend: Backend) -> (&'static str, &'static str) {
        match (self, backend) {
            (GroupBy::Target, _) => ("k.target", "k.target"),
            (GroupBy::Engineer, _) => {
                ("COALESCE(CAST(o.engineer_id AS TEXT), '')", "COALESCE(MAX(u.display_name), '')")
            }
            (GroupBy::Region, _) => ("COALESCE(o.region_code, '')", "COALESCE(MAX(r.name_zh), '')"),
            // Months of the company's time zone (Asia/Shanghai has no daylight saving).
            (GroupBy::Month, Backend::Sqlite) => {
                ("strftime('%Y-%m', k.started_at, '+8 hours')", "strftime('%Y-%m', k.started_at, '+8 hours')")
            }
            (GroupBy::Month, Backend::Postgres) => (
                "to_char(k.started_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')",
                "to_char(k.started_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')",
            ),
            (GroupBy::Policy, _) => ("k.policy_code", "k.policy_code"),
            (GroupBy::Priority, _) => ("o.priority", "o.priority"),
        }
    }
}

/// Which clocks the figures count: started in [from, to), optionally of one region, engineer,
/// team (the orders counted for it: its engineer's team when assigned) or target.
#[derive(Clone, Debug, Default)]
pub struct ReportFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub region: Option<String>,
    pub engineer_id: Option<i64>,
    pub team_id: Option<i64>,
    pub target: Option<String>,
}

impl ReportFilter {
    /// The WHERE conditions from `$first`, and how many parameters they take.
    fn conditions(&self, first: usize) -> (String, usize) {
        let mut wh = vec!["k.state <> 'cancelled'".to_string()];
        let mut n = first;
        let mut push = |cond: &str| {
            wh.push(cond.replace('?', &format!("${n}")));
            n += 1;
        };
        if self.from.is_some() {
            push("k.started_at >= ?");
        }
        if self.to.is_some() {
            push("k.started_at < ?");
        }
        if self.region.is_some() {
            push("o.region_code = ?");
        }
        if self.engineer_id.is_some() {
            push("o.engineer_id = ?");
        }
        if self.team_id.is_some() {
            push("o.team_id = ?");
        }
        if self.target.is_some() {
            push("k.target = ?");
        }
        (wh.join(" AND "), n - first)
    }
}

macro_rules! bind_report_filter {
    ($q:expr, $f:expr) => {{
        let mut q = $q;
        if let Some(v) = $f.from {
            q = q.bind(v);
        }
        if let Some(v) = $f.to {
            q = q.bind(v);
        }
        if let Some(v) = &$f.region {
            q = q.bind(v);
        }
        if let Some(v) = $f.engineer_id {
            q = q.bind(v);
        }
        if let Some(v) = $f.team_id {
            q = q.bind(v);
        }
        if let Some(v) = &$f.target {
            q = q.bind(v);
        }
        q
    }};
}

/// Met, met late, breached and open clocks of one group.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ComplianceRow {
    pub key: String,
    pub label: String,
    pub total: i64,
    pub met: i64,
    pub met_late: i64,
    /// Overdue and still running (a clock past its due time counts here even before the
    /// sweeper has looked at it).
    pub breached_open: i64,
    /// Running, not yet due.
    pub open: i64,
}
from_row!(ComplianceRow {
    key: String,
    label: String,
    total: i64,
    met: i64,
    met_late: i64,
    breached_open: i64,
    open: i64
});

pub async fn compliance(
    c: Conn<'_>,
    backend: Backend,
    f: &ReportFilter,
    group: GroupBy,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<ComplianceRow>> {
    let (conds, _) = f.conditions(2);
    let (key, label) = group.sql(backend);
    // Engineers' and regions' names are joined only when they label the groups.
    let joins = match group {
        GroupBy::Engineer => "LEFT JOIN users u ON u.id = o.engineer_id",
        GroupBy::Region => "LEFT JOIN regions r ON r.code = o.region_code",
        _ => "",
    };
    let sql = format!(
        "SELECT {key} AS key, {label} AS label, COUNT(*) AS total, \
         SUM(CASE WHEN k.stopped_at IS NOT NULL AND k.breached_at IS NULL THEN 1 ELSE 0 END) AS met, \
         SUM(CASE WHEN k.stopped_at IS NOT NULL AND k.breached_at IS NOT NULL THEN 1 ELSE 0 END) AS met_late, \
         SUM(CASE WHEN k.stopped_at IS NULL AND (k.breached_at IS NOT NULL OR k.due_at < $1) THEN 1 ELSE 0 END) \
           AS breached_open, \
         SUM(CASE WHEN k.stopped_at IS NULL AND k.breached_at IS NULL AND (k.due_at IS NULL OR k.due_at >= $1) \
           THEN 1 ELSE 0 END) AS open \
         FROM work_order_clocks k JOIN work_orders o ON o.id = k.order_id {joins} \
         WHERE {conds} GROUP BY {key} ORDER BY {key}"
    );
    on_conn!(c, |e| {
        let q = sqlx::query_as(AssertSqlSafe(sql)).bind(now);
        bind_report_filter!(q, f).fetch_all(&mut *e).await
    })
}

/// A broken promise for the breach register.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Breach {
    pub order_id: i64,
    pub target: String,
    pub policy_code: String,
    pub policy_version: i64,
    pub started_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub stopped_at: Option<DateTime<Utc>>,
    pub breached_at: Option<DateTime<Utc>>,
    pub breach_cause: Option<String>,
    pub breach_note: String,
    pub used_seconds: i64,
    pub target_seconds: i64,
    pub status: String,
    pub priority: String,
    pub customer_name: String,
    pub region_code: Option<String>,
    pub engineer_name: Option<String>,
}
from_row!(Breach { order_id: i64, target: String, policy_code: String, policy_version: i64,
    started_at: DateTime<Utc>, due_at: Option<DateTime<Utc>>, stopped_at: Option<DateTime<Utc>>,
    breached_at: Option<DateTime<Utc>>, breach_cause: Option<String>, breach_note: String, used_seconds: i64,
    target_seconds: i64, status: String, priority: String, customer_name: String, region_code: Option<String>,
    engineer_name: Option<String> });

/// Breached clocks (recorded by the sweeper or an order change) in the filter, newest breach first.
pub async fn breaches(c: Conn<'_>, f: &ReportFilter, limit: i64) -> sqlx::Result<Vec<Breach>> {
    let (conds, used) = f.conditions(2);
    let sql = format!(
        "SELECT k.order_id, k.target, k.policy_code, k.policy_version, k.started_at, k.due_at, k.stopped_at, \
         k.breached_at, k.breach_cause, k.breach_note, k.used_seconds, k.target_seconds, o.status, o.priority, \
         c.name AS customer_name, o.region_code, u.display_name AS engineer_name \
         FROM work_order_clocks k JOIN work_orders o ON o.id = k.order_id JOIN customers c ON c.id = o.customer_id \
         LEFT JOIN users u ON u.id = o.engineer_id \
         WHERE k.breached_at IS NOT NULL AND {conds} ORDER BY k.breached_at DESC, k.order_id DESC LIMIT $1",
    );
    debug_assert!(used <= 6);
    on_conn!(c, |e| {
        let q = sqlx::query_as(AssertSqlSafe(sql)).bind(limit);
        bind_report_filter!(q, f).fetch_all(&mut *e).await
    })
}

/// Sets the cause and note of a recorded breach; false when there is none.
pub async fn annotate_breach(c: Conn<'_>, order_id: i64, target: &str, cause: &str, note: &str) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE work_order_clocks SET breach_cause = $1, breach_note = $2 \
             WHERE order_id = $3 AND target = $4 AND breached_at IS NOT NULL",
        )
        .bind(cause)
        .bind(note)
        .bind(order_id)
        .bind(target)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}
