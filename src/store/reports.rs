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
