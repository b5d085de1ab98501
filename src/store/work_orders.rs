//! Work orders with their time line, quotes, approvals and attachments; fault codes and the
//! engineers' skills that dispatch reads.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

use super::sla::ClockRow;
use crate::db::Conn;
use crate::{from_row, on_conn};

/// An order as its page, the API and the engineer's phone show it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WorkOrder {
    pub id: i64,
    pub status: String,
    #[serde(skip)]
    pub resume_status: Option<String>,
    pub channel: String,
    pub kind: String,
    pub priority: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub unit_id: Option<i64>,
    pub unit_serial: Option<String>,
    pub model_name: Option<String>,
    pub region_code: Option<String>,
    pub category_code: Option<String>,
    pub contact_name: String,
    pub contact_phone: String,
    pub address: String,
    pub problem: String,
    pub requested_at: Option<DateTime<Utc>>,
    /// free | paid | exchange | refund | none
    pub entitlement: String,
    pub entitlement_note: String,
    pub decision_id: Option<i64>,
    /// An earlier order of the same unit for the same problem (R3.7).
    pub repeat_of: Option<i64>,
    pub review_reason: Option<String>,
    pub review_assessment: Option<String>,
    pub review_plan: Option<String>,
    pub reviewed_by: Option<i64>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub engineer_id: Option<i64>,
    pub engineer_name: Option<String>,
    /// The service team the order counts for: its engineer's team when he was assigned.
    pub team_id: Option<i64>,
    pub team_name: Option<String>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub travel_started_at: Option<DateTime<Utc>>,
    pub arrived_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
    pub fault_code: Option<String>,
    pub diagnosis: String,
    pub work_done: String,
    pub parts_used: String,
    pub labour_minutes: Option<i64>,
    pub travel_km: Option<i64>,
    pub parts_cents: i64,
    pub labour_cents: i64,
    pub travel_cents: i64,
    pub collected_cents: i64,
    pub payment_method: Option<String>,
    pub signed_by: Option<String>,
    pub signature_id: Option<i64>,
    pub rating: Option<i32>,
    pub rating_comment: String,
    #[serde(skip)]
    pub public_token: String,
    /// Which of quotes (1), approvals (2) and attachments (4) the order has.
    #[serde(skip)]
    pub extras: i32,
    pub created_by: Option<i64>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the most urgent running SLA clock is due (none once every clock stopped).
    pub sla_due_at: Option<DateTime<Utc>>,
    /// When the earliest running clock reaches its warning threshold.
    pub sla_warn_at: Option<DateTime<Utc>>,
}
from_row!(WorkOrder { id: i64, status: String, resume_status: Option<String>, channel: String, kind: String,
    priority: String, customer_id: i64, customer_name: String, unit_id: Option<i64>, unit_serial: Option<String>,
    model_name: Option<String>, region_code: Option<String>, category_code: Option<String>, contact_name: String,
    contact_phone: String, address: String, problem: String, requested_at: Option<DateTime<Utc>>,
    entitlement: String, entitlement_note: String, decision_id: Option<i64>, repeat_of: Option<i64>,
    review_reason: Option<String>, review_assessment: Option<String>, review_plan: Option<String>,
    reviewed_by: Option<i64>, reviewed_at: Option<DateTime<Utc>>, engineer_id: Option<i64>,
    engineer_name: Option<String>, team_id: Option<i64>, team_name: Option<String>,
    scheduled_at: Option<DateTime<Utc>>, assigned_at: Option<DateTime<Utc>>,
    accepted_at: Option<DateTime<Utc>>, travel_started_at: Option<DateTime<Utc>>, arrived_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>, closed_at: Option<DateTime<Utc>>, cancelled_at: Option<DateTime<Utc>>,
    cancel_reason: Option<String>, fault_code: Option<String>, diagnosis: String, work_done: String,
    parts_used: String, labour_minutes: Option<i64>, travel_km: Option<i64>, parts_cents: i64, labour_cents: i64,
    travel_cents: i64, collected_cents: i64, payment_method: Option<String>, signed_by: Option<String>,
    signature_id: Option<i64>, rating: Option<i32>, rating_comment: String, public_token: String, extras: i32,
    created_by: Option<i64>, version: i64, created_at: DateTime<Utc>, updated_at: DateTime<Utc>,
    sla_due_at: Option<DateTime<Utc>>, sla_warn_at: Option<DateTime<Utc>> });

impl WorkOrder {
    /// The number printed on the report and told to the customer.
    pub fn number(&self) -> String {
        number(self.id)
    }
}

/// An order as lists show it: who, what, where it stands; no report, no review, no fees.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub id: i64,
    pub status: String,
    pub channel: String,
    pub kind: String,
    pub priority: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub unit_id: Option<i64>,
    pub unit_serial: Option<String>,
    pub model_name: Option<String>,
    pub region_code: Option<String>,
    pub category_code: Option<String>,
    pub contact_name: String,
    pub contact_phone: String,
    pub address: String,
    pub problem: String,
    pub requested_at: Option<DateTime<Utc>>,
    pub entitlement: String,
    pub repeat_of: Option<i64>,
    pub engineer_id: Option<i64>,
    pub engineer_name: Option<String>,
    /// The service team the order counts for: its engineer's team when he was assigned.
    pub team_id: Option<i64>,
    pub team_name: Option<String>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub arrived_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub fault_code: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sla_due_at: Option<DateTime<Utc>>,
    pub sla_warn_at: Option<DateTime<Utc>>,
}
from_row!(Summary { id: i64, status: String, channel: String, kind: String, priority: String, customer_id: i64,
    customer_name: String, unit_id: Option<i64>, unit_serial: Option<String>, model_name: Option<String>,
    region_code: Option<String>, category_code: Option<String>, contact_name: String, contact_phone: String,
    address: String, problem: String, requested_at: Option<DateTime<Utc>>, entitlement: String,
    repeat_of: Option<i64>, engineer_id: Option<i64>, engineer_name: Option<String>, team_id: Option<i64>,
    team_name: Option<String>, scheduled_at: Option<DateTime<Utc>>, arrived_at: Option<DateTime<Utc>>, completed_at: Option<DateTime<Utc>>,
    fault_code: Option<String>, version: i64, created_at: DateTime<Utc>, updated_at: DateTime<Utc>,
    sla_due_at: Option<DateTime<Utc>>, sla_warn_at: Option<DateTime<Utc>> });

impl Summary {
    pub fn number(&self) -> String {
        number(self.id)
    }
}

/// The time of the visit: the agreed one, else the one the customer asked for.
pub trait Visit {
    fn visit_at(&self) -> Option<DateTime<Utc>>;
}

impl Visit for WorkOrder {
    fn visit_at(&self) -> Option<DateTime<Utc>> {
        self.scheduled_at.or(self.requested_at)
    }
}

impl<T: Visit> Visit for &T {
    fn visit_at(&self) -> Option<DateTime<Utc>> {
        (**self).visit_at()
    }
}

impl Visit for Summary {
    fn visit_at(&self) -> Option<DateTime<Utc>> {
        self.scheduled_at.or(self.requested_at)
    }
}

const SUMMARY_SELECT: &str = "SELECT o.id, o.status, o.channel, o.kind, o.priority, o.customer_id, \
    c.name AS customer_name, o.unit_id, u.serial AS unit_serial, m.name AS model_name, o.region_code, \
    o.category_code, o.contact_name, o.contact_phone, o.address, o.problem, o.requested_at, o.entitlement, \
    o.repeat_of, o.engineer_id, e.display_name AS engineer_name, o.team_id, tm.name AS team_name, o.scheduled_at, \
    o.arrived_at, o.completed_at, o.fault_code, o.version, o.created_at, o.updated_at, o.sla_due_at, o.sla_warn_at \
    FROM work_orders o JOIN customers c ON c.id = o.customer_id \
    LEFT JOIN units u ON u.id = o.unit_id LEFT JOIN product_models m ON m.id = u.model_id \
    LEFT JOIN users e ON e.id = o.engineer_id LEFT JOIN teams tm ON tm.id = o.team_id";

pub const HAS_QUOTES: i32 = 1;
pub const HAS_APPROVALS: i32 = 2;
pub const HAS_ATTACHMENTS: i32 = 4;
pub const HAS_PAUSES: i32 = 8;

/// Marks that the order has recorded pauses (most orders have none, and skip reading them).
pub async fn mark_pauses(mut c: Conn<'_>, order_id: i64) -> sqlx::Result<()> {
    mark(&mut c, order_id, HAS_PAUSES).await
}

/// Marks that the order has rows of a kind, so reading it skips the kinds it has none of.
/// Never part of [`save`]: an upload beside an edit must not lose its mark.
async fn mark(c: &mut Conn<'_>, order_id: i64, bit: i32) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query("UPDATE work_orders SET extras = extras | $1 WHERE id = $2")
            .bind(bit)
            .bind(order_id)
            .execute(&mut **e)
            .await
            .map(|_| ())
    })
}

pub fn number(id: i64) -> String {
    format!("WO{id:08}")
}

/// The id behind a number as users type it (`WO00000042`, `wo42`, `42`).
pub fn parse_number(s: &str) -> Option<i64> {
    let s = s.trim();
    let digits = s.strip_prefix("WO").or_else(|| s.strip_prefix("wo")).unwrap_or(s);
    digits.parse().ok().filter(|n| *n > 0)
}

const SELECT: &str = "SELECT o.id, o.status, o.resume_status, o.channel, o.kind, o.priority, o.customer_id, \
    c.name AS customer_name, o.unit_id, u.serial AS unit_serial, m.name AS model_name, o.region_code, \
    o.category_code, o.contact_name, o.contact_phone, o.address, o.problem, o.requested_at, o.entitlement, \
    o.entitlement_note, o.decision_id, o.repeat_of, o.review_reason, o.review_assessment, o.review_plan, \
    o.reviewed_by, o.reviewed_at, o.engineer_id, e.display_name AS engineer_name, o.team_id, tm.name AS team_name, \
    o.scheduled_at, o.assigned_at, \
    o.accepted_at, o.travel_started_at, o.arrived_at, o.completed_at, o.closed_at, o.cancelled_at, o.cancel_reason, \
    o.fault_code, o.diagnosis, o.work_done, o.parts_used, o.labour_minutes, o.travel_km, o.parts_cents, \
    o.labour_cents, o.travel_cents, o.collected_cents, o.payment_method, o.signed_by, o.signature_id, o.rating, \
    o.rating_comment, o.public_token, o.extras, o.created_by, o.version, o.created_at, o.updated_at, \
    o.sla_due_at, o.sla_warn_at \
    FROM work_orders o JOIN customers c ON c.id = o.customer_id \
    LEFT JOIN units u ON u.id = o.unit_id LEFT JOIN product_models m ON m.id = u.model_id \
    LEFT JOIN users e ON e.id = o.engineer_id LEFT JOIN teams tm ON tm.id = o.team_id";

/// Writes every field a use case may change, if the order is still at `version`; false when
/// someone else changed it meanwhile.
pub async fn save(c: Conn<'_>, o: &WorkOrder, version: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE work_orders SET status = $1, resume_status = $2, priority = $3, contact_name = $4, \
             contact_phone = $5, address = $6, problem = $7, requested_at = $8, review_assessment = $9, \
             review_plan = $10, reviewed_by = $11, reviewed_at = $12, engineer_id = $13, scheduled_at = $14, \
             assigned_at = $15, accepted_at = $16, travel_started_at = $17, arrived_at = $18, completed_at = $19, \
             closed_at = $20, cancelled_at = $21, cancel_reason = $22, fault_code = $23, diagnosis = $24, \
             work_done = $25, parts_used = $26, labour_minutes = $27, travel_km = $28, parts_cents = $29, \
             labour_cents = $30, travel_cents = $31, collected_cents = $32, payment_method = $33, signed_by = $34, \
             signature_id = $35, rating = $36, rating_comment = $37, version = version + 1, updated_at = $38 \
             WHERE id = $39 AND version = $40",
        )
        .bind(&o.status)
        .bind(&o.resume_status)
        .bind(&o.priority)
        .bind(&o.contact_name)
        .bind(&o.contact_phone)
        .bind(&o.address)
        .bind(&o.problem)
        .bind(o.requested_at)
        .bind(&o.review_assessment)
        .bind(&o.review_plan)
        .bind(o.reviewed_by)
        .bind(o.reviewed_at)
        .bind(o.engineer_id)
        .bind(o.scheduled_at)
        .bind(o.assigned_at)
        .bind(o.accepted_at)
        .bind(o.travel_started_at)
        .bind(o.arrived_at)
        .bind(o.completed_at)
        .bind(o.closed_at)
        .bind(o.cancelled_at)
        .bind(&o.cancel_reason)
        .bind(&o.fault_code)
        .bind(&o.diagnosis)
        .bind(&o.work_done)
        .bind(&o.parts_used)
        .bind(o.labour_minutes)
        .bind(o.travel_km)
        .bind(o.parts_cents)
        .bind(o.labour_cents)
        .bind(o.travel_cents)
        .bind(o.collected_cents)
        .bind(&o.payment_method)
        .bind(&o.signed_by)
        .bind(o.signature_id)
        .bind(o.rating)
        .bind(&o.rating_comment)
        .bind(now)
        .bind(o.id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

pub async fn get(c: Conn<'_>, id: i64) -> sqlx::Result<Option<WorkOrder>> {
    let sql = format!("{SELECT} WHERE o.id = $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

/// Several orders at once (the SLA sweeper's batch), in no particular order.
pub async fn get_many(c: Conn<'_>, ids: &[i64]) -> sqlx::Result<Vec<WorkOrder>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!("{SELECT} WHERE o.id IN ({})", super::placeholders(1, ids.len()));
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(id);
        }
        q.fetch_all(&mut *e).await
    })
}

pub async fn by_token(c: Conn<'_>, token: &str) -> sqlx::Result<Option<WorkOrder>> {
    let sql = format!("{SELECT} WHERE o.public_token = $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(token).fetch_optional(&mut *e).await)
}

#[derive(Default, Debug, Clone)]
pub struct Filter {
    pub region_scope: Option<String>,
    /// Only this engineer's orders (engineers see their own).
    pub engineer_id: Option<i64>,
    /// Orders counted for this team (its engineer's when assigned).
    pub team_id: Option<i64>,
    pub statuses: Vec<String>,
    pub kind: Option<String>,
    pub region: Option<String>,
    pub customer_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub category: Option<String>,
    pub fault_code: Option<String>,
    /// How the request came in (hotline, web …).
    pub channel: Option<String>,
    /// Product model code (through the unit).
    pub model: Option<String>,
    /// Completed in [from, to) (drill-down from product feedback).
    pub completed_from: Option<DateTime<Utc>>,
    pub completed_to: Option<DateTime<Utc>>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    /// Orders past due: their most urgent running SLA clock ran out.
    pub overdue_at: Option<DateTime<Utc>>,
    /// Orders whose visit (agreed, else asked for, else the day registered) falls in [from, to).
    pub visit_from: Option<DateTime<Utc>>,
    pub visit_to: Option<DateTime<Utc>>,
    /// Keyset cursor, newest first.
    pub before_id: Option<i64>,
    /// Open orders with a running SLA clock, most urgent first (the `(sla_due_at, id)` index).
    pub by_due: bool,
    /// Keyset cursor of `by_due`: the last row's due time and id.
    pub after_due: Option<(DateTime<Utc>, i64)>,
    pub limit: i64,
}

/// Statuses that are still someone's work. The partial index `work_orders_open` (migration
/// 0028) lists them in this order; the dashboard's statements must match it to use it.
pub const OPEN_STATUSES: [&str; 8] =
    ["review", "open", "assigned", "accepted", "travelling", "on_site", "waiting_customer", "waiting_approval"];

/// Orders with everything (exports).
pub async fn list(c: Conn<'_>, f: &Filter) -> sqlx::Result<Vec<WorkOrder>> {
    list_rows(c, f, SELECT).await
}

/// Orders as lists show them.
pub async fn summaries(c: Conn<'_>, f: &Filter) -> sqlx::Result<Vec<Summary>> {
    list_rows(c, f, SUMMARY_SELECT).await
}

async fn list_rows<T>(c: Conn<'_>, f: &Filter, select: &str) -> sqlx::Result<Vec<T>>
where
    T: Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    // Statuses each get their own arm: one walk down the (status, id) index newest first,
    // stopped at the limit, instead of every open order joined and sorted.
    // Overdue orders without a status asked for are one range of the due-time index (it holds
    // only orders with a running clock, so no status needs checking).
    let statuses: Vec<String> = match f.overdue_at {
        Some(_) if f.statuses.is_empty() => vec![],
        Some(_) => f.statuses.iter().filter(|s| OPEN_STATUSES.contains(&s.as_str())).cloned().collect(),
        None => f.statuses.clone(),
    };
    if f.overdue_at.is_some() && !f.statuses.is_empty() && statuses.is_empty() {
        return Ok(vec![]);
    }
    let mut wh = vec!["1 = 1".to_string()];
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    if f.region_scope.is_some() {
        wh.push(format!("o.region_code = {}", next()));
    }
    if f.engineer_id.is_some() {
        wh.push(format!("o.engineer_id = {}", next()));
    }
    if f.team_id.is_some() {
        wh.push(format!("o.team_id = {}", next()));
    }
    if f.kind.is_some() {
        wh.push(format!("o.kind = {}", next()));
    }
    if f.region.is_some() {
        wh.push(format!("o.region_code = {}", next()));
    }
    if f.customer_id.is_some() {
        wh.push(format!("o.customer_id = {}", next()));
    }
    if f.unit_id.is_some() {
        wh.push(format!("o.unit_id = {}", next()));
    }
    if f.category.is_some() {
        wh.push(format!("o.category_code = {}", next()));
    }
    if f.fault_code.is_some() {
        wh.push(format!("o.fault_code = {}", next()));
    }
    if f.channel.is_some() {
        wh.push(format!("o.channel = {}", next()));
    }
    if f.model.is_some() {
        wh.push(format!(
            "o.unit_id IN (SELECT u.id FROM units u JOIN product_models m ON m.id = u.model_id WHERE m.code = {})",
            next()
        ));
    }
    if f.completed_from.is_some() {
        wh.push(format!("o.completed_at >= {}", next()));
    }
    if f.completed_to.is_some() {
        wh.push(format!("o.completed_at < {}", next()));
    }
    if f.created_from.is_some() {
        wh.push(format!("o.created_at >= {}", next()));
    }
    if f.created_to.is_some() {
        wh.push(format!("o.created_at < {}", next()));
    }
    if f.overdue_at.is_some() {
        wh.push(format!("o.sla_due_at < {}", next()));
    }
    if f.visit_from.is_some() {
        wh.push(format!("COALESCE(o.scheduled_at, o.requested_at, o.created_at) >= {}", next()));
    }
    if f.visit_to.is_some() {
        wh.push(format!("COALESCE(o.scheduled_at, o.requested_at, o.created_at) < {}", next()));
    }
    if f.before_id.is_some() {
        wh.push(format!("o.id < {}", next()));
    }
    if f.by_due {
        wh.push("o.sla_due_at IS NOT NULL".into());
    }
    if f.after_due.is_some() {
        let (due, id) = (next(), next());
        wh.push(format!("(o.sla_due_at > {due} OR (o.sla_due_at = {due} AND o.id > {id}))"));
    }
    let conds = wh.join(" AND ");
    // Status codes are written into the statement: PostgreSQL's generic plan for a prepared
    // `status = $n` cannot know that a status is rare and walked the whole primary key (2 s at
    // a million orders). Only codes of our own alphabet are ever inlined.
    debug_assert!(statuses.iter().all(|s| s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
    let arm_params: Vec<String> = statuses
        .iter()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .map(|s| format!("'{s}'"))
        .collect();
    if arm_params.len() != statuses.len() {
        return Ok(vec![]);
    }
    let limit = next();
    if f.by_due {
        // One walk of the due-time index (it holds only orders with a running clock).
        let status =
            if arm_params.is_empty() { String::new() } else { format!(" AND o.status IN ({})", arm_params.join(", ")) };
        let ids =
            format!("SELECT o.id FROM work_orders o WHERE {conds}{status} ORDER BY o.sla_due_at, o.id LIMIT {limit}");
        return page(c, f, select, ids, "o.sla_due_at, o.id").await;
    }
    let arm = |status: Option<&String>| {
        let status = status.map(|p| format!(" AND o.status = {p}")).unwrap_or_default();
        format!(
            "SELECT id FROM (SELECT o.id FROM work_orders o WHERE {conds}{status} ORDER BY o.id DESC LIMIT {limit}) a"
        )
    };
    let arms = if arm_params.is_empty() {
        arm(None)
    } else {
        arm_params.iter().map(|p| arm(Some(p))).collect::<Vec<_>>().join(" UNION ALL ")
    };
    let ids = format!("SELECT id FROM ({arms}) ids ORDER BY id DESC LIMIT {limit}");
    page(c, f, select, ids, "o.id DESC").await
}

/// The page of orders whose ids the statement `ids` (made by [`list_rows`]) selects, joined to
/// what a list shows only for those rows. SQLite runs it as one statement. PostgreSQL takes
/// the ids first and the rows by id in a second statement: a filter on a time range (the last
/// 30 days, overdue) gets a plan made for its values on every run, because the plan kept for any
/// values estimates a third of the table, and planning the six-table join each time took 39–47 %
/// of the machine's time in those lists (`perf`, 1 M orders). The ids alone plan in 0.1 ms; the
/// rows by id keep one plan.
async fn page<T>(c: Conn<'_>, f: &Filter, select: &str, ids: String, order: &str) -> sqlx::Result<Vec<T>>
where
    T: Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    match c {
        Conn::Sqlite(_) => bind_list(c, f, format!("{select} WHERE o.id IN ({ids}) ORDER BY {order}")).await,
        Conn::Pg(e) => {
            let ids: Vec<i64> =
                bind_list::<(i64,)>(Conn::Pg(&mut *e), f, ids).await?.into_iter().map(|(id,)| id).collect();
            if ids.is_empty() {
                return Ok(vec![]);
            }
            let sql = format!("{select} WHERE o.id = ANY($1) ORDER BY {order}");
            sqlx::query_as(AssertSqlSafe(sql)).bind(ids).fetch_all(&mut *e).await
        }
    }
}

/// Runs a list statement made by [`list_rows`], binding the filter's values in its order.
async fn bind_list<T>(c: Conn<'_>, f: &Filter, sql: String) -> sqlx::Result<Vec<T>>
where
    T: Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        if let Some(v) = &f.region_scope {
            q = q.bind(v);
        }
        if let Some(v) = f.engineer_id {
            q = q.bind(v);
        }
        if let Some(v) = f.team_id {
            q = q.bind(v);
        }
        if let Some(v) = &f.kind {
            q = q.bind(v);
        }
        if let Some(v) = &f.region {
            q = q.bind(v);
        }
        if let Some(v) = f.customer_id {
            q = q.bind(v);
        }
        if let Some(v) = f.unit_id {
            q = q.bind(v);
        }
        if let Some(v) = &f.category {
            q = q.bind(v);
        }
        if let Some(v) = &f.fault_code {
            q = q.bind(v);
        }
        if let Some(v) = &f.channel {
            q = q.bind(v);
        }
        if let Some(v) = &f.model {
            q = q.bind(v);
        }
        if let Some(v) = f.completed_from {
            q = q.bind(v);
        }
        if let Some(v) = f.completed_to {
            q = q.bind(v);
        }
        if let Some(v) = f.created_from {
            q = q.bind(v);
        }
        if let Some(v) = f.created_to {
            q = q.bind(v);
        }
        if let Some(v) = f.overdue_at {
            q = q.bind(v);
        }
        if let Some(v) = f.visit_from {
            q = q.bind(v);
        }
        if let Some(v) = f.visit_to {
            q = q.bind(v);
        }
        if let Some(v) = f.before_id {
            q = q.bind(v);
        }
        if let Some((due, id)) = f.after_due {
            q = q.bind(due).bind(id);
        }
        q.bind(f.limit).fetch_all(&mut *e).await
    })
}

/// Completed repairs of one model with one fault code in a period: what quality reads as
/// product feedback.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Feedback {
    pub model_code: String,
    pub model_name: String,
    pub category_code: String,
    pub fault_code: String,
    pub orders: i64,
    /// Of those, flagged as a repeat of an earlier order of the same unit.
    pub repeats: i64,
    pub units: i64,
    pub last_completed_at: DateTime<Utc>,
}
from_row!(Feedback { model_code: String, model_name: String, category_code: String, fault_code: String,
    orders: i64, repeats: i64, units: i64, last_completed_at: DateTime<Utc> });

pub async fn feedback(
    c: Conn<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    region: Option<&str>,
) -> sqlx::Result<Vec<Feedback>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT m.code AS model_code, m.name AS model_name, m.category_code, o.fault_code, COUNT(*) AS orders, \
             SUM(CASE WHEN o.repeat_of IS NULL THEN 0 ELSE 1 END) AS repeats, COUNT(DISTINCT o.unit_id) AS units, \
             MAX(o.completed_at) AS last_completed_at \
             FROM work_orders o JOIN units u ON u.id = o.unit_id JOIN product_models m ON m.id = u.model_id \
             WHERE o.completed_at >= $1 AND o.completed_at < $2 AND o.fault_code IS NOT NULL \
             AND ($3 IS NULL OR o.region_code = $3) \
             GROUP BY m.code, m.name, m.category_code, o.fault_code ORDER BY COUNT(*) DESC, m.code, o.fault_code \
             LIMIT 500",
        )
        .bind(from)
        .bind(to)
        .bind(region)
        .fetch_all(&mut *e)
        .await
    })
}

/// An earlier order of a unit, for the repeat check and the entitlement history.
#[derive(Clone, Debug)]
pub struct PastOrder {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub fault_code: Option<String>,
    pub problem: String,
    pub created_at: DateTime<Utc>,
    pub arrived_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}
from_row!(PastOrder { id: i64, kind: String, status: String, fault_code: Option<String>, problem: String,
    created_at: DateTime<Utc>, arrived_at: Option<DateTime<Utc>>, completed_at: Option<DateTime<Utc>> });

/// The unit's latest orders, newest first (a unit has few; 200 bounds a pathological one).
// ------------------------------------------------------------------ time line

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Event {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub note: String,
}
from_row!(Event { id: i64, at: DateTime<Utc>, actor_id: Option<i64>, actor_label: String, action: String,
    from_status: Option<String>, to_status: Option<String>, note: String });

pub struct NewEvent<'a> {
    pub order_id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_label: &'a str,
    pub action: &'a str,
    pub from_status: Option<&'a str>,
    pub to_status: Option<&'a str>,
    pub note: &'a str,
}

/// The columns of an event that [`bind_event`] binds, in its order.
pub(crate) const EVENT_COLUMNS: &str = "order_id, at, actor_id, actor_label, action, from_status, to_status, note";

/// Binds one event's [`EVENT_COLUMNS`].
macro_rules! bind_event {
    ($q:expr, $ev:expr) => {{
        let ev = $ev;
        $q.bind(ev.order_id)
            .bind(ev.at)
            .bind(ev.actor_id)
            .bind(ev.actor_label)
            .bind(ev.action)
            .bind(ev.from_status)
            .bind(ev.to_status)
            .bind(ev.note)
    }};
}
pub(crate) use bind_event;

pub async fn insert_event(c: Conn<'_>, ev: &NewEvent<'_>) -> sqlx::Result<i64> {
    let sql =
        format!("INSERT INTO work_order_events ({EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id");
    on_conn!(c, |e| bind_event!(sqlx::query_scalar(AssertSqlSafe(sql)), ev).fetch_one(&mut *e).await)
}

const EVENTS_OF: &str = "SELECT id, at, actor_id, actor_label, action, from_status, to_status, note \
     FROM work_order_events WHERE order_id = $1 ORDER BY id";

pub async fn events(c: Conn<'_>, order_id: i64) -> sqlx::Result<Vec<Event>> {
    on_conn!(c, |e| sqlx::query_as(EVENTS_OF).bind(order_id).fetch_all(&mut *e).await)
}

/// An order with its time line and its clocks: what every read of one order needs. On SQLite
/// the three SELECTs go as one multi-statement query, one hand-over to the connection's thread
/// instead of three.
pub async fn with_lines(c: Conn<'_>, id: i64) -> sqlx::Result<Option<(WorkOrder, Vec<Event>, Vec<ClockRow>)>> {
    match c {
        Conn::Sqlite(e) => {
            use futures_util::TryStreamExt;
            use sqlx::{Either, FromRow};
            // Composed once: every get of an order runs it.
            static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
                format!("{SELECT} WHERE o.id = $1; {EVENTS_OF}; {}", super::sla::clocks_of_sql())
            });
            // Deprecated because only SQLite runs several statements in one prepared statement,
            // which is exactly what this branch is for (the group writers' INSERTs rely on it too).
            #[allow(deprecated)]
            let mut rows = sqlx::query(AssertSqlSafe(SQL.as_str())).bind(id).fetch_many(&mut *e);
            let (mut statement, mut order, mut events, mut clocks) = (0, None, vec![], vec![]);
            while let Some(item) = rows.try_next().await? {
                match item {
                    // Each statement ends with its result.
                    Either::Left(_) => statement += 1,
                    Either::Right(row) => match statement {
                        0 => order = Some(WorkOrder::from_row(&row)?),
                        1 => events.push(Event::from_row(&row)?),
                        _ => clocks.push(ClockRow::from_row(&row)?),
                    },
                }
            }
            Ok(order.map(|o| (o, events, clocks)))
        }
        Conn::Pg(e) => {
            let Some(order) = get(Conn::Pg(&mut *e), id).await? else { return Ok(None) };
            let events = events(Conn::Pg(&mut *e), id).await?;
            let clocks = super::sla::clocks_of(Conn::Pg(e), id, false).await?;
            Ok(Some((order, events, clocks)))
        }
    }
}

// ------------------------------------------------------------------ quotes

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Quote {
    pub id: i64,
    pub order_id: i64,
    pub parts_cents: i64,
    pub labour_cents: i64,
    pub travel_cents: i64,
    pub description: String,
    /// pending | approved | declined
    pub status: String,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// link | on_site | phone
    pub decided_via: Option<String>,
    pub decided_by: Option<String>,
    pub decision_note: String,
}
from_row!(Quote { id: i64, order_id: i64, parts_cents: i64, labour_cents: i64, travel_cents: i64,
    description: String, status: String, created_by: Option<i64>, created_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>, decided_via: Option<String>, decided_by: Option<String>,
    decision_note: String });

impl Quote {
    pub fn total_cents(&self) -> i64 {
        self.parts_cents + self.labour_cents + self.travel_cents
    }
}

const QUOTE_COLUMNS: &str = "id, order_id, parts_cents, labour_cents, travel_cents, description, status, created_by, \
                             created_at, decided_at, decided_via, decided_by, decision_note";

pub async fn insert_quote(mut c: Conn<'_>, q: &Quote) -> sqlx::Result<i64> {
    let id = on_conn!(&mut c, |e| {
        sqlx::query_scalar(
            "INSERT INTO work_order_quotes (order_id, parts_cents, labour_cents, travel_cents, description, status, \
             created_by, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) RETURNING id",
        )
        .bind(q.order_id)
        .bind(q.parts_cents)
        .bind(q.labour_cents)
        .bind(q.travel_cents)
        .bind(&q.description)
        .bind(q.created_by)
        .bind(q.created_at)
        .fetch_one(&mut **e)
        .await
    })?;
    mark(&mut c, q.order_id, HAS_QUOTES).await?;
    Ok(id)
}

/// Records the answer to a pending quote; false when it was already answered.
pub async fn decide_quote(c: Conn<'_>, q: &Quote) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE work_order_quotes SET status = $1, decided_at = $2, decided_via = $3, decided_by = $4, \
             decision_note = $5 WHERE id = $6 AND status = 'pending'",
        )
        .bind(&q.status)
        .bind(q.decided_at)
        .bind(&q.decided_via)
        .bind(&q.decided_by)
        .bind(&q.decision_note)
        .bind(q.id)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

pub async fn quotes(c: Conn<'_>, order_id: i64) -> sqlx::Result<Vec<Quote>> {
    let sql = format!("SELECT {QUOTE_COLUMNS} FROM work_order_quotes WHERE order_id = $1 ORDER BY id");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(order_id).fetch_all(&mut *e).await)
}

// ------------------------------------------------------------------ approvals

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Approval {
    pub id: i64,
    pub order_id: i64,
    /// extension | solution
    pub kind: String,
    pub reason: String,
    pub proposal: String,
    pub new_due: Option<DateTime<Utc>>,
    /// pending | approved | refused
    pub status: String,
    pub requested_by: Option<i64>,
    pub requested_at: DateTime<Utc>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: String,
}
from_row!(Approval { id: i64, order_id: i64, kind: String, reason: String, proposal: String,
    new_due: Option<DateTime<Utc>>, status: String, requested_by: Option<i64>, requested_at: DateTime<Utc>,
    decided_by: Option<i64>, decided_at: Option<DateTime<Utc>>, decision_note: String });

const APPROVAL_COLUMNS: &str = "id, order_id, kind, reason, proposal, new_due, status, requested_by, requested_at, \
                                decided_by, decided_at, decision_note";

pub async fn insert_approval(mut c: Conn<'_>, a: &Approval) -> sqlx::Result<i64> {
    let id = on_conn!(&mut c, |e| {
        sqlx::query_scalar(
            "INSERT INTO work_order_approvals (order_id, kind, reason, proposal, new_due, status, requested_by, \
             requested_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) RETURNING id",
        )
        .bind(a.order_id)
        .bind(&a.kind)
        .bind(&a.reason)
        .bind(&a.proposal)
        .bind(a.new_due)
        .bind(a.requested_by)
        .bind(a.requested_at)
        .fetch_one(&mut **e)
        .await
    })?;
    mark(&mut c, a.order_id, HAS_APPROVALS).await?;
    Ok(id)
}

pub async fn decide_approval(c: Conn<'_>, a: &Approval) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE work_order_approvals SET status = $1, decided_by = $2, decided_at = $3, decision_note = $4 \
             WHERE id = $5 AND status = 'pending'",
        )
        .bind(&a.status)
        .bind(a.decided_by)
        .bind(a.decided_at)
        .bind(&a.decision_note)
        .bind(a.id)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

pub async fn approvals(c: Conn<'_>, order_id: i64) -> sqlx::Result<Vec<Approval>> {
    let sql = format!("SELECT {APPROVAL_COLUMNS} FROM work_order_approvals WHERE order_id = $1 ORDER BY id");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(order_id).fetch_all(&mut *e).await)
}

// ------------------------------------------------------------------ attachments

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Attachment {
    pub id: i64,
    pub order_id: i64,
    /// photo | signature
    pub kind: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    #[serde(skip)]
    pub storage_key: String,
    pub filename: String,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}
from_row!(Attachment { id: i64, order_id: i64, kind: String, content_type: String, size_bytes: i64,
    sha256: String, storage_key: String, filename: String, created_by: Option<i64>, created_at: DateTime<Utc> });

const ATTACHMENT_COLUMNS: &str =
    "id, order_id, kind, content_type, size_bytes, sha256, storage_key, filename, created_by, created_at";

pub async fn insert_attachment(mut c: Conn<'_>, a: &Attachment) -> sqlx::Result<i64> {
    let id = on_conn!(&mut c, |e| {
        sqlx::query_scalar(
            "INSERT INTO attachments (order_id, kind, content_type, size_bytes, sha256, storage_key, filename, \
             created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(a.order_id)
        .bind(&a.kind)
        .bind(&a.content_type)
        .bind(a.size_bytes)
        .bind(&a.sha256)
        .bind(&a.storage_key)
        .bind(&a.filename)
        .bind(a.created_by)
        .bind(a.created_at)
        .fetch_one(&mut **e)
        .await
    })?;
    mark(&mut c, a.order_id, HAS_ATTACHMENTS).await?;
    Ok(id)
}

pub async fn attachments(c: Conn<'_>, order_id: i64) -> sqlx::Result<Vec<Attachment>> {
    let sql = format!("SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE order_id = $1 ORDER BY id");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(order_id).fetch_all(&mut *e).await)
}

pub async fn attachment(c: Conn<'_>, id: i64) -> sqlx::Result<Option<Attachment>> {
    let sql = format!("SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE id = $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

// ------------------------------------------------------------------ fault codes, engineers

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FaultCode {
    pub category_code: String,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}
from_row!(FaultCode { category_code: String, code: String, name_zh: String, name_en: String });

impl FaultCode {
    pub fn name(&self, locale: &str) -> &str {
        if locale.starts_with("en") { &self.name_en } else { &self.name_zh }
    }
}

pub async fn upsert_fault_code(c: Conn<'_>, f: &FaultCode) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query(
            "INSERT INTO fault_codes (category_code, code, name_zh, name_en) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (category_code, code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en",
        )
        .bind(&f.category_code)
        .bind(&f.code)
        .bind(&f.name_zh)
        .bind(&f.name_en)
        .execute(&mut *e)
        .await
        .map(|_| ())
    })
}

/// The catalogue of one category, or every category's when None.
pub async fn fault_codes(c: Conn<'_>, category: Option<&str>) -> sqlx::Result<Vec<FaultCode>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT category_code, code, name_zh, name_en FROM fault_codes \
             WHERE $1 IS NULL OR category_code = $1 ORDER BY category_code, code",
        )
        .bind(category)
        .fetch_all(&mut *e)
        .await
    })
}

pub async fn set_skills(c: Conn<'_>, user_id: i64, categories: &[String]) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query("DELETE FROM engineer_skills WHERE user_id = $1").bind(user_id).execute(&mut *e).await?;
        for cat in categories {
            sqlx::query("INSERT INTO engineer_skills (user_id, category_code) VALUES ($1, $2)")
                .bind(user_id)
                .bind(cat)
                .execute(&mut *e)
                .await?;
        }
        Ok(())
    })
}

/// An active engineer with skills and current load, for dispatch.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Engineer {
    pub user_id: i64,
    pub display_name: String,
    pub phone: Option<String>,
    pub region_code: Option<String>,
    /// Product categories, comma-separated.
    pub skills: String,
    pub open_orders: i64,
    /// Orders scheduled inside the day asked about.
    pub day_orders: i64,
    /// The engineer's own working calendar (None: the company's default).
    pub calendar_code: Option<String>,
    pub team_id: Option<i64>,
    pub team_name: Option<String>,
}
from_row!(Engineer { user_id: i64, display_name: String, phone: Option<String>, region_code: Option<String>,
    skills: String, open_orders: i64, day_orders: i64, calendar_code: Option<String>, team_id: Option<i64>,
    team_name: Option<String> });

/// Every active engineer with their load; `day` is the visit day's [start, end).
pub async fn engineers(c: Conn<'_>, day: (DateTime<Utc>, DateTime<Utc>)) -> sqlx::Result<Vec<Engineer>> {
    let open: Vec<String> = OPEN_STATUSES.iter().map(|s| format!("'{s}'")).collect();
    let agg = if matches!(c, Conn::Pg(_)) {
        "string_agg(s.category_code, ',' ORDER BY s.category_code)"
    } else {
        "group_concat(s.category_code, ',')"
    };
    let sql = format!(
        "SELECT u.id AS user_id, u.display_name, u.phone, u.region_code, u.calendar_code, u.team_id, \
         t.name AS team_name, \
         COALESCE((SELECT {agg} FROM engineer_skills s WHERE s.user_id = u.id), '') AS skills, \
         (SELECT COUNT(*) FROM work_orders o WHERE o.engineer_id = u.id AND o.status IN ({open})) AS open_orders, \
         (SELECT COUNT(*) FROM work_orders o WHERE o.engineer_id = u.id AND o.status IN ({open}) \
            AND o.scheduled_at >= $1 AND o.scheduled_at < $2) AS day_orders \
         FROM users u JOIN user_roles r ON r.user_id = u.id AND r.role = 'engineer' \
         LEFT JOIN teams t ON t.id = u.team_id WHERE u.active ORDER BY u.id",
        open = open.join(", ")
    );
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(day.0).bind(day.1).fetch_all(&mut *e).await)
}

// ------------------------------------------------------------------ saved views

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SavedView {
    pub id: i64,
    pub name: String,
    /// The list's query string (`status=open&region=east`).
    pub query: String,
    pub created_at: DateTime<Utc>,
}
from_row!(SavedView { id: i64, name: String, query: String, created_at: DateTime<Utc> });

/// Saves (or replaces, by name) one of the user's views.
pub async fn save_view(c: Conn<'_>, user_id: i64, name: &str, query: &str, now: DateTime<Utc>) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO saved_views (user_id, name, query, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, name) DO UPDATE SET query = excluded.query RETURNING id",
        )
        .bind(user_id)
        .bind(name)
        .bind(query)
        .bind(now)
        .fetch_one(&mut *e)
        .await
    })
}

pub async fn views(c: Conn<'_>, user_id: i64) -> sqlx::Result<Vec<SavedView>> {
    on_conn!(c, |e| {
        sqlx::query_as("SELECT id, name, query, created_at FROM saved_views WHERE user_id = $1 ORDER BY name")
            .bind(user_id)
            .fetch_all(&mut *e)
            .await
    })
}

pub async fn delete_view(c: Conn<'_>, user_id: i64, id: i64) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query("DELETE FROM saved_views WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&mut *e)
            .await
            .map(|r| r.rows_affected() == 1)
    })
}
