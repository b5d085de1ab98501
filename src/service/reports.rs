//! Registers and reports (R9.3): the cost report of completed orders — parts at cost and
//! charged, labour, travel and what was collected — per engineer, region, month or product
//! category (the basis of expense claims and of the average cost per order). Region users see
//! their region's orders.

use chrono::NaiveDate;
use serde::Serialize;

use super::Actor;
use crate::db::Db;
use crate::domain::{Perm, Role};
use crate::error::{AppError, AppResult};
use crate::store;
use crate::store::reports::{CostGroup, CostLine};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CostReport {
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// engineer | region | month | category
    pub by: String,
    pub lines: Vec<CostLine>,
    pub total: CostLine,
}

pub fn may_read(actor: &Actor) -> bool {
    actor.roles.iter().any(|r| {
        matches!(r, Role::Admin | Role::GeneralManager | Role::ServiceManager | Role::Quality | Role::Dispatcher)
    })
}

pub async fn costs(db: &Db, actor: &Actor, from: NaiveDate, to: NaiveDate, by: CostGroup) -> AppResult<CostReport> {
    if !may_read(actor) {
        return Err(AppError::Forbidden);
    }
    if to < from {
        return Err(AppError::one("to", "stock.error.period"));
    }
    let region = if actor.can(Perm::AllRegions) { None } else { actor.region_code.clone() };
    let (start, end) =
        (super::work_orders::midnight(from), super::work_orders::midnight(to + chrono::TimeDelta::days(1)));
    let mut c = db.read().await?;
    let lines = store::reports::costs(c.conn(), start, end, by, region.as_deref()).await?;
    let mut total = CostLine::default();
    for l in &lines {
        total.orders += l.orders;
        total.parts_cost_cents += l.parts_cost_cents;
        total.parts_cents += l.parts_cents;
        total.labour_minutes += l.labour_minutes;
        total.labour_cents += l.labour_cents;
        total.travel_km += l.travel_km;
        total.travel_cents += l.travel_cents;
        total.collected_cents += l.collected_cents;
    }
    Ok(CostReport { from, to, by: by.code().into(), lines, total })
}
