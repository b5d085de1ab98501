//! Registers and reports (R9.3): the calls and letters register, the dispatch records, and the cost report of completed orders — parts at cost and
//! charged, labour, travel and what was collected — per engineer, region, month or product
//! category (the basis of expense claims and of the average cost per order). Region users see
//! their region's orders.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::Actor;
use crate::db::Db;
use crate::domain::{Perm, Role};
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::store;
use crate::store::reports::{CallEntry, CostGroup, CostLine, DispatchEntry, RegisterFilter};

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

/// One page of a register, newest first, and the cursor of the next.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegisterPage<T> {
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    pub items: Vec<T>,
    /// Pass as `before` for the next page; absent on the last.
    pub next_before: Option<String>,
}

/// A register query: the period (days, inclusive), narrowing, the page.
#[derive(Debug, Clone, Default)]
pub struct RegisterQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub channel: Option<String>,
    pub engineer_id: Option<i64>,
    pub before: Option<String>,
    pub limit: i64,
}

fn register_filter(actor: &Actor, q: &RegisterQuery) -> AppResult<RegisterFilter> {
    if !may_read(actor) {
        return Err(AppError::Forbidden);
    }
    let mut errors = vec![];
    if q.to < q.from {
        errors.push(field_error("to", "stock.error.period"));
    }
    if q.channel.as_deref().is_some_and(|ch| rules::work_order::Channel::parse(ch).is_none()) {
        errors.push(field_error("channel", "error.bad_parameter"));
    }
    let before = q.before.as_deref().filter(|s| !s.trim().is_empty()).map(parse_cursor);
    if before.as_ref().is_some_and(Option::is_none) {
        errors.push(field_error("before", "error.bad_parameter"));
    }
    AppError::check(errors)?;
    Ok(RegisterFilter {
        from: super::work_orders::midnight(q.from),
        to: super::work_orders::midnight(q.to + chrono::TimeDelta::days(1)),
        channel: q.channel.clone(),
        region: super::archive::region_scope(actor),
        engineer_id: q.engineer_id,
        before: before.flatten(),
        limit: q.limit.clamp(1, 500) + 1,
    })
}

/// `time~source~id` (the calls register) or `time~~id` (the dispatch records).
fn cursor(at: DateTime<Utc>, source: &str, id: i64) -> String {
    format!("{}~{source}~{id}", at.to_rfc3339())
}

fn parse_cursor(s: &str) -> Option<(DateTime<Utc>, String, i64)> {
    let mut it = s.splitn(3, '~');
    let at = DateTime::parse_from_rfc3339(it.next()?).ok()?.with_timezone(&Utc);
    let source = it.next()?.to_string();
    let id = it.next()?.parse().ok()?;
    Some((at, source, id))
}

fn page_of<T>(q: &RegisterQuery, mut items: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> RegisterPage<T> {
    let next_before = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(key)
    } else {
        None
    };
    RegisterPage { from: q.from, to: q.to, items, next_before }
}

/// The calls and letters register (来电来函登记, seed 002 篇二: "建立售后服务电话、信函登记"):
/// every request and every complaint, suggestion or praise received in the period, by channel.
pub async fn calls(db: &Db, actor: &Actor, q: &RegisterQuery) -> AppResult<RegisterPage<CallEntry>> {
    let f = register_filter(actor, q)?;
    let mut c = db.read().await?;
    let items = store::reports::calls(c.conn(), &f).await?;
    Ok(page_of(q, items, f.limit - 1, |e| cursor(e.received_at, &e.source, e.id)))
}

/// The dispatch records (售后服务派遣记录): every assignment of an engineer in the period, with
/// how the visit went.
pub async fn dispatches(db: &Db, actor: &Actor, q: &RegisterQuery) -> AppResult<RegisterPage<DispatchEntry>> {
    let f = register_filter(actor, q)?;
    let mut c = db.read().await?;
    let items = store::reports::dispatches(c.conn(), &f).await?;
    Ok(page_of(q, items, f.limit - 1, |e| cursor(e.at, "", e.id)))
}
