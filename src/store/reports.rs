//! Registers and reports of a period (R9.3) that no capability lists already: the cost report of
//! completed orders grouped by engineer, region, month or product category.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

use crate::db::Conn;
use crate::{from_row, on_conn};

/// What the cost report groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CostGroup {
    Engineer,
    Region,
    Month,
    Category,
}

impl CostGroup {
    pub const ALL: [CostGroup; 4] = [CostGroup::Engineer, CostGroup::Region, CostGroup::Month, CostGroup::Category];

    pub fn code(self) -> &'static str {
        match self {
            CostGroup::Engineer => "engineer",
            CostGroup::Region => "region",
            CostGroup::Month => "month",
            CostGroup::Category => "category",
        }
    }

    pub fn parse(s: &str) -> Option<CostGroup> {
        Self::ALL.into_iter().find(|g| g.code() == s.trim())
    }
}

/// One group's costs and charges, in cents.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct CostLine {
    pub key: String,
    pub label: String,
    pub orders: i64,
    /// Parts issued from stock, at cost (in-warranty parts included).
    pub parts_cost_cents: i64,
    /// Parts charged to paying customers.
    pub parts_cents: i64,
    pub labour_minutes: i64,
    pub labour_cents: i64,
    pub travel_km: i64,
    pub travel_cents: i64,
    pub collected_cents: i64,
}
from_row!(CostLine {
    key: String,
    label: String,
    orders: i64,
    parts_cost_cents: i64,
    parts_cents: i64,
    labour_minutes: i64,
    labour_cents: i64,
    travel_km: i64,
    travel_cents: i64,
    collected_cents: i64
});

/// Completed orders of `[from, to)` grouped; region users pass their region.
pub async fn costs(
    c: Conn<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    by: CostGroup,
    region: Option<&str>,
) -> sqlx::Result<Vec<CostLine>> {
    let month = match &c {
        Conn::Sqlite(_) => "strftime('%Y-%m', o.completed_at, '+8 hours')",
        Conn::Pg(_) => "to_char(o.completed_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')",
    };
    let (key, label) = match by {
        CostGroup::Engineer => ("COALESCE(CAST(o.engineer_id AS TEXT), '')", "COALESCE(MAX(u.display_name), '')"),
        CostGroup::Region => ("COALESCE(o.region_code, '')", "COALESCE(MAX(r.name_zh), '')"),
        CostGroup::Month => (month, month),
        CostGroup::Category => ("COALESCE(o.category_code, '')", "COALESCE(MAX(pc.name_zh), '')"),
    };
    let sum = |col: &str| format!("CAST(COALESCE(SUM(o.{col}), 0) AS BIGINT) AS {col}");
    let sql = format!(
        "SELECT {key} AS key, {label} AS label, COUNT(*) AS orders, {}, {}, {}, {}, {}, {}, {} \
         FROM work_orders o LEFT JOIN users u ON u.id = o.engineer_id LEFT JOIN regions r ON r.code = o.region_code \
         LEFT JOIN product_categories pc ON pc.code = o.category_code \
         WHERE o.completed_at >= $1 AND o.completed_at < $2 AND o.status <> 'cancelled' \
         AND (CAST($3 AS TEXT) IS NULL OR o.region_code = $3) GROUP BY {key} ORDER BY 1",
        sum("parts_cost_cents"),
        sum("parts_cents"),
        sum("labour_minutes"),
        sum("labour_cents"),
        sum("travel_km"),
        sum("travel_cents"),
        sum("collected_cents"),
    );
    on_conn!(c, |e| { sqlx::query_as(AssertSqlSafe(sql)).bind(from).bind(to).bind(region).fetch_all(&mut *e).await })
}

/// One line of the calls and letters register (来电来函登记): a request or a complaint,
/// suggestion or praise as it reached the company, and where it went.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CallEntry {
    /// order | complaint | suggestion | praise
    pub source: String,
    pub id: i64,
    pub received_at: DateTime<Utc>,
    /// hotline | letter | email | web | walk_in | visit
    pub channel: String,
    pub customer_id: Option<i64>,
    pub customer: String,
    pub contact_name: String,
    pub contact_phone: String,
    /// The request's problem or the feedback's subject.
    pub subject: String,
    /// The order's type, or the complaint's severity.
    pub kind: String,
    pub region_code: Option<String>,
    pub registered_by: String,
    /// The engineer of an order, the department handling a complaint.
    pub handler: String,
    pub status: String,
    /// Completed (orders) or closed (feedback).
    pub done_at: Option<DateTime<Utc>>,
}
from_row!(CallEntry {
    source: String,
    id: i64,
    received_at: DateTime<Utc>,
    channel: String,
    customer_id: Option<i64>,
    customer: String,
    contact_name: String,
    contact_phone: String,
    subject: String,
    kind: String,
    region_code: Option<String>,
    registered_by: String,
    handler: String,
    status: String,
    done_at: Option<DateTime<Utc>>
});

/// What a register reads: a period, optional narrowing, a keyset cursor (newest first).
#[derive(Clone, Debug, Default)]
pub struct RegisterFilter {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub channel: Option<String>,
    pub region: Option<String>,
    pub engineer_id: Option<i64>,
    /// The last line shown: its time and id (and, for the calls register, its source). Without
    /// one the page starts at `to`, so the range and the cursor are one index range.
    pub before: Option<(DateTime<Utc>, String, i64)>,
    pub limit: i64,
}

/// Requests and feedback received in the period, newest first. Each branch is limited on its
/// own index (orders by `created_at`, feedback by `received_at`) before the two are merged, so a
/// page costs the same in a quarter of 100,000 lines as in one of ten.
pub async fn calls(c: Conn<'_>, f: &RegisterFilter) -> sqlx::Result<Vec<CallEntry>> {
    // Keyset on (time, source, id) descending: sources order as 'complaint…' < 'order' < 'praise' < 'suggestion'.
    let keyset = |at: &str, src: &str, id: &str| {
        format!("({at} < $5 OR ({at} = $5 AND ({src} < $6 OR ({src} = $6 AND {id} < $7))))")
    };
    let orders = format!(
        "SELECT 'order' AS source, o.id, o.created_at AS received_at, o.channel, o.customer_id, \
         COALESCE(c.name, '') AS customer, o.contact_name, o.contact_phone, o.problem AS subject, o.kind, o.region_code, \
         COALESCE(cu.display_name, '') AS registered_by, COALESCE(eu.display_name, '') AS handler, o.status, \
         o.completed_at AS done_at \
         FROM work_orders o LEFT JOIN customers c ON c.id = o.customer_id LEFT JOIN users cu ON cu.id = o.created_by \
         LEFT JOIN users eu ON eu.id = o.engineer_id \
         WHERE o.created_at >= $1 AND o.created_at < $2 \
         AND (CAST($3 AS TEXT) IS NULL OR o.channel = $3) AND (CAST($4 AS TEXT) IS NULL OR o.region_code = $4) AND {} \
         ORDER BY o.created_at DESC, o.id DESC LIMIT $8",
        keyset("o.created_at", "'order'", "o.id")
    );
    let feedback = format!(
        "SELECT k.kind AS source, k.id, k.received_at, k.channel, k.customer_id, COALESCE(c.name, '') AS customer, \
         k.contact_name, COALESCE(k.contact_phone, '') AS contact_phone, k.subject, k.severity AS kind, k.region_code, \
         COALESCE(cu.display_name, '') AS registered_by, k.department AS handler, k.status, k.closed_at AS done_at \
         FROM complaints k LEFT JOIN customers c ON c.id = k.customer_id LEFT JOIN users cu ON cu.id = k.created_by \
         WHERE k.received_at >= $1 AND k.received_at < $2 \
         AND (CAST($3 AS TEXT) IS NULL OR k.channel = $3) AND (CAST($4 AS TEXT) IS NULL OR k.region_code = $4) AND {} \
         ORDER BY k.received_at DESC, k.id DESC LIMIT $8",
        keyset("k.received_at", "k.kind", "k.id")
    );
    let sql = format!(
        "SELECT * FROM (SELECT * FROM ({orders}) a UNION ALL SELECT * FROM ({feedback}) b) x \
         ORDER BY received_at DESC, source DESC, id DESC LIMIT $8"
    );
    let (at, src, id) = f.before.clone().unwrap_or((f.to, "~".into(), i64::MAX));
    on_conn!(c, |e| {
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(f.from)
            .bind(f.to)
            .bind(f.channel.as_deref())
            .bind(f.region.as_deref())
            .bind(at)
            .bind(src)
            .bind(id)
            .bind(f.limit)
            .fetch_all(&mut *e)
            .await
    })
}

/// One dispatch (派工) of the dispatch records: who sent which engineer to which order, when,
/// and how the visit went.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct DispatchEntry {
    /// The assignment event's id (the cursor).
    pub id: i64,
    pub at: DateTime<Utc>,
    pub dispatcher: String,
    /// The engineer's name and the dispatcher's note, as recorded on the time line.
    pub note: String,
    /// True when the order had an engineer already (a reassignment or a new appointment).
    pub reassigned: bool,
    pub order_id: i64,
    pub kind: String,
    pub priority: String,
    pub region_code: Option<String>,
    pub customer: String,
    pub address: String,
    /// The order's engineer now (after any later reassignment).
    pub engineer_now: String,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub arrived_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub labour_minutes: Option<i64>,
    pub travel_km: Option<i64>,
    pub status: String,
}
from_row!(DispatchEntry {
    id: i64,
    at: DateTime<Utc>,
    dispatcher: String,
    note: String,
    reassigned: bool,
    order_id: i64,
    kind: String,
    priority: String,
    region_code: Option<String>,
    customer: String,
    address: String,
    engineer_now: String,
    scheduled_at: Option<DateTime<Utc>>,
    arrived_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    labour_minutes: Option<i64>,
    travel_km: Option<i64>,
    status: String
});

/// Assignments made in the period, newest first (on the partial index of assignment events).
pub async fn dispatches(c: Conn<'_>, f: &RegisterFilter) -> sqlx::Result<Vec<DispatchEntry>> {
    let sql = "SELECT e.id, e.at, COALESCE(au.display_name, e.actor_label) AS dispatcher, e.note, \
         (e.from_status IS NOT NULL AND e.from_status NOT IN ('open', 'review')) AS reassigned, \
         o.id AS order_id, o.kind, o.priority, o.region_code, COALESCE(c.name, '') AS customer, o.address, \
         COALESCE(u.display_name, '') AS engineer_now, o.scheduled_at, o.arrived_at, o.completed_at, \
         o.labour_minutes, o.travel_km, o.status \
         FROM work_order_events e JOIN work_orders o ON o.id = e.order_id LEFT JOIN customers c ON c.id = o.customer_id \
         LEFT JOIN users u ON u.id = o.engineer_id LEFT JOIN users au ON au.id = e.actor_id \
         WHERE e.action = 'assign' AND e.at >= $1 AND e.at < $2 \
         AND (CAST($3 AS TEXT) IS NULL OR o.region_code = $3) AND (CAST($4 AS BIGINT) IS NULL OR o.engineer_id = $4) \
         AND (e.at < $5 OR (e.at = $5 AND e.id < $6)) \
         ORDER BY e.at DESC, e.id DESC LIMIT $7";
    let (at, id) = f.before.as_ref().map_or((f.to, i64::MAX), |(at, _, id)| (*at, *id));
    on_conn!(c, |e| {
        sqlx::query_as(sql)
            .bind(f.from)
            .bind(f.to)
            .bind(f.region.as_deref())
            .bind(f.engineer_id)
            .bind(at)
            .bind(id)
            .bind(f.limit)
            .fetch_all(&mut *e)
            .await
    })
}
