//! Key-customer care plans (R6.3). Seed 001 gives the marketing department the duty "负责开展
//! 重点客户关怀计划，了解客户需求，实施客户关怀计划": a plan for a customer (meant for key and
//! class A customers) with its goals, period and owner, and the actions that carry it out, each
//! due on a day inside the period, owned by someone and recorded with what it achieved.
//!
//! Progress is done ÷ (all − cancelled). An action is overdue while it is open after its due
//! day (company time). A completed or cancelled plan takes no new actions and no changes to
//! its actions; completing needs every action done or cancelled, cancelling cancels the open
//! ones. Every change is one transaction with its audit entry.

use chrono::{NaiveDate, Utc};
use rules::FieldError;
use serde::{Deserialize, Serialize};

use super::work_orders::today;
use super::{Actor, Idem, audit};
use crate::db::{Conn, Db};
use crate::domain::Perm;
use crate::domain::archive::{optional, required};
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::store;
use crate::store::care_plans::{ActionChanges, CarePlan, ListFilter, NewAction, NewPlan, PlanAction, PlanChanges};

pub const STATUSES: [&str; 3] = ["active", "completed", "cancelled"];
pub const ACTION_STATUSES: [&str; 3] = ["open", "done", "cancelled"];

const MAX_TITLE: usize = 200;
const MAX_GOALS: usize = 4000;
const MAX_WHAT: usize = 500;
const MAX_NOTE: usize = 2000;

// ------------------------------------------------------------------ views

/// A plan in a list: the plan and its progress.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanItem {
    #[serde(flatten)]
    pub plan: CarePlan,
    /// Done actions per 100 of those not cancelled; null while there are none.
    pub progress: Option<f64>,
}

impl From<CarePlan> for PlanItem {
    fn from(plan: CarePlan) -> Self {
        PlanItem { progress: plan.progress(), plan }
    }
}

/// A plan with its actions by due day.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanDetail {
    pub plan: CarePlan,
    /// Done actions per 100 of those not cancelled; null while there are none.
    pub progress: Option<f64>,
    pub actions: Vec<PlanAction>,
    /// The company's today: open actions due before it are overdue.
    #[schema(value_type = String, format = Date)]
    pub today: NaiveDate,
}

impl PlanDetail {
    pub fn is_overdue(&self, a: &PlanAction) -> bool {
        a.status == "open" && a.due_on < self.today
    }
}

// ------------------------------------------------------------------ reading

async fn visible_plan(c: Conn<'_>, actor: &Actor, id: i64, today: NaiveDate) -> AppResult<CarePlan> {
    actor.require(Perm::FollowUp)?;
    let p = store::care_plans::get(c, id, today).await?.ok_or(AppError::NotFound)?;
    // Another region's plan is "not found", as its customer is.
    if !super::archive::visible(actor, &p.region_code) {
        return Err(AppError::NotFound);
    }
    Ok(p)
}

async fn detail_of(c: Conn<'_>, plan: CarePlan, today: NaiveDate) -> AppResult<PlanDetail> {
    let actions = store::care_plans::actions(c, plan.id).await?;
    Ok(PlanDetail { progress: plan.progress(), plan, actions, today })
}

pub async fn get(db: &Db, actor: &Actor, id: i64) -> AppResult<PlanDetail> {
    let today = today();
    let mut c = db.read().await?;
    let plan = visible_plan(c.conn(), actor, id, today).await?;
    detail_of(c.conn(), plan, today).await
}

/// Who may own a plan or an action: the active users, by name.
pub async fn owners(db: &Db, actor: &Actor) -> AppResult<Vec<(i64, String)>> {
    actor.require(Perm::FollowUp)?;
    super::users::active_names(db, None).await
}

async fn check_owner(c: Conn<'_>, field: &str, id: i64, errors: &mut Vec<FieldError>) -> AppResult<()> {
    if !store::users::get(c, id).await?.is_some_and(|u| u.active) {
        errors.push(field_error(field, "care_plan.error.no_owner"));
    }
    Ok(())
}

fn period_errors(from: Option<NaiveDate>, to: Option<NaiveDate>, errors: &mut Vec<FieldError>) {
    match (from, to) {
        (None, _) | (_, None) => {
            if from.is_none() {
                errors.push(field_error("period_from", "error.required"));
            }
            if to.is_none() {
                errors.push(field_error("period_to", "error.required"));
            }
        }
        (Some(f), Some(t)) if t < f => errors.push(field_error("period_to", "care_plan.error.period")),
        _ => {}
    }
}

// ------------------------------------------------------------------ creating

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewPlanInput {
    pub customer_id: Option<i64>,
    #[serde(default)]
    pub title: String,
    /// What the plan is to achieve for the customer (their needs, what we aim for).
    #[serde(default)]
    pub goals: String,
    /// First day of the plan.
    #[schema(value_type = Option<String>, format = Date)]
    pub period_from: Option<NaiveDate>,
    /// Last day of the plan (not before the first).
    #[schema(value_type = Option<String>, format = Date)]
    pub period_to: Option<NaiveDate>,
    /// The user responsible; default the caller.
    pub owner_id: Option<i64>,
}

/// The checks of a new plan that need no database (pages add them to their own parse errors).
pub fn new_plan_errors(input: &NewPlanInput) -> Vec<FieldError> {
    let mut errors = vec![];
    if input.customer_id.is_none() {
        errors.push(field_error("customer_id", "error.required"));
    }
    required("title", &input.title, MAX_TITLE, &mut errors);
    optional("goals", &input.goals, MAX_GOALS, &mut errors);
    period_errors(input.period_from, input.period_to, &mut errors);
    errors
}

/// Draws up a plan for a customer the caller may see; the caller owns it unless another owner
/// is named.
pub async fn create(db: &Db, actor: &Actor, input: &NewPlanInput, idem: Option<&Idem<'_>>) -> AppResult<PlanDetail> {
    actor.require(Perm::FollowUp)?;
    let mut errors = new_plan_errors(input);
    let owner = input.owner_id.or(actor.user_id);
    let now = Utc::now();
    let today = super::work_orders::local_day(now);
    let mut tx = db.begin().await?;
    let mut region = None;
    if let Some(id) = input.customer_id {
        match store::customers::get(tx.conn(), id).await? {
            Some(c) if super::archive::visible(actor, &c.region_code) => region = c.region_code,
            _ => errors.push(field_error("customer_id", "care_plan.error.no_customer")),
        }
    }
    match owner {
        Some(id) => check_owner(tx.conn(), "owner_id", id, &mut errors).await?,
        None => errors.push(field_error("owner_id", "error.required")),
    }
    AppError::check(errors)?;
    let (Some(customer_id), Some(owner_id), Some(period_from), Some(period_to)) =
        (input.customer_id, owner, input.period_from, input.period_to)
    else {
        return Err(AppError::Internal(anyhow::anyhow!("validated input without values")));
    };
    let new = NewPlan {
        customer_id,
        region_code: region.as_deref(),
        title: input.title.trim(),
        goals: input.goals.trim(),
        period_from,
        period_to,
        owner_id,
        created_by: actor.user_id,
    };
    let id = store::care_plans::insert(tx.conn(), &new, now).await?;
    let plan = store::care_plans::get(tx.conn(), id, today).await?.ok_or(AppError::NotFound)?;
    audit::record::<(), _>(&mut tx, actor, now, "create", "care_plan", &id.to_string(), None, Some(&plan)).await?;
    let detail = detail_of(tx.conn(), plan, today).await?;
    if let Some(idem) = idem {
        super::remember(&mut tx, actor, idem, 201, &detail).await?;
    }
    tx.commit().await?;
    Ok(detail)
}

// ------------------------------------------------------------------ editing

/// Changes to a plan; fields left out keep their value.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct PlanUpdate {
    /// The version read (409 when the plan changed meanwhile).
    pub version: i64,
    pub title: Option<String>,
    pub goals: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub period_from: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub period_to: Option<NaiveDate>,
    pub owner_id: Option<i64>,
    /// active | completed | cancelled. Completing needs every action done or cancelled;
    /// cancelling cancels the open ones; setting active again reopens the plan.
    pub status: Option<String>,
}

pub async fn update(db: &Db, actor: &Actor, id: i64, input: &PlanUpdate) -> AppResult<PlanDetail> {
    let now = Utc::now();
    let today = super::work_orders::local_day(now);
    let mut tx = db.begin().await?;
    store::care_plans::lock(tx.conn(), id).await?;
    let before = visible_plan(tx.conn(), actor, id, today).await?;
    let mut errors = vec![];
    let title = match &input.title {
        Some(t) => required("title", t, MAX_TITLE, &mut errors),
        None => before.title.clone(),
    };
    let goals = match &input.goals {
        Some(g) => optional("goals", g, MAX_GOALS, &mut errors),
        None => before.goals.clone(),
    };
    let from = input.period_from.unwrap_or(before.period_from);
    let to = input.period_to.unwrap_or(before.period_to);
    period_errors(Some(from), Some(to), &mut errors);
    let status = match input.status.as_deref().map(str::trim) {
        None => before.status.clone(),
        Some(s) if STATUSES.contains(&s) => s.to_string(),
        Some("") => {
            errors.push(field_error("status", "error.required"));
            before.status.clone()
        }
        Some(_) => {
            errors.push(field_error("status", "care_plan.error.status"));
            before.status.clone()
        }
    };
    let owner_id = input.owner_id.unwrap_or(before.owner_id);
    if input.owner_id.is_some_and(|o| o != before.owner_id) {
        check_owner(tx.conn(), "owner_id", owner_id, &mut errors).await?;
    }
    let actions = store::care_plans::actions(tx.conn(), id).await?;
    let open: Vec<&PlanAction> = actions.iter().filter(|a| a.status == "open").collect();
    if status == "completed" && before.status != "completed" && !open.is_empty() {
        errors.push(field_error("status", "care_plan.error.open_actions"));
    }
    // The open actions must stay inside the period (a cancelled plan's are cancelled with it).
    if status != "cancelled" {
        if open.iter().any(|a| a.due_on < from) {
            errors.push(field_error("period_from", "care_plan.error.actions_outside"));
        }
        if open.iter().any(|a| a.due_on > to) {
            errors.push(field_error("period_to", "care_plan.error.actions_outside"));
        }
    }
    AppError::check(errors)?;
    if before.version != input.version {
        return Err(AppError::Conflict("error.stale"));
    }
    let closed_at = match (status.as_str(), before.status.as_str()) {
        ("active", _) => None,
        (_, "active") => Some(now),
        _ => before.closed_at.or(Some(now)),
    };
    let changes = PlanChanges {
        id,
        version: input.version,
        title: &title,
        goals: &goals,
        period_from: from,
        period_to: to,
        owner_id,
        status: &status,
        closed_at,
    };
    if !store::care_plans::update(tx.conn(), &changes, now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    if status == "cancelled" && before.status != "cancelled" {
        // Its open actions go with it, each with its own audit entry.
        store::care_plans::cancel_open_actions(tx.conn(), id, now).await?;
        for a in &open {
            let after = store::care_plans::action(tx.conn(), a.id).await?;
            let key = a.id.to_string();
            audit::record(&mut tx, actor, now, "cancel", "care_plan_action", &key, Some(a), after.as_ref()).await?;
        }
    }
    let after = store::care_plans::get(tx.conn(), id, today).await?.ok_or(AppError::NotFound)?;
    let action = match (before.status.as_str(), status.as_str()) {
        (a, b) if a == b => "update",
        (_, "completed") => "complete",
        (_, "cancelled") => "cancel",
        _ => "reopen",
    };
    audit::record(&mut tx, actor, now, action, "care_plan", &id.to_string(), Some(&before), Some(&after)).await?;
    let detail = detail_of(tx.conn(), after, today).await?;
    tx.commit().await?;
    Ok(detail)
}

// ------------------------------------------------------------------ actions

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewActionInput {
    /// The plan's version as read (409 when the plan changed meanwhile).
    pub version: i64,
    /// What is to be done (a visit, a training, a maintenance check, a gift …).
    #[serde(default)]
    pub what: String,
    /// Inside the plan's period.
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<NaiveDate>,
    /// Default: the plan's owner.
    pub owner_id: Option<i64>,
}

fn closed(plan: &CarePlan) -> AppResult<()> {
    if plan.status == "active" { Ok(()) } else { Err(AppError::one("plan", "care_plan.error.closed")) }
}

fn due_errors(plan: &CarePlan, due: Option<NaiveDate>, errors: &mut Vec<FieldError>) {
    match due {
        None => errors.push(field_error("due_on", "error.required")),
        Some(d) if d < plan.period_from || d > plan.period_to => {
            errors.push(field_error("due_on", "care_plan.error.due_outside"))
        }
        Some(_) => {}
    }
}

/// Adds an action to an active plan.
pub async fn add_action(db: &Db, actor: &Actor, plan_id: i64, input: &NewActionInput) -> AppResult<PlanDetail> {
    let now = Utc::now();
    let today = super::work_orders::local_day(now);
    let mut tx = db.begin().await?;
    store::care_plans::lock(tx.conn(), plan_id).await?;
    let plan = visible_plan(tx.conn(), actor, plan_id, today).await?;
    closed(&plan)?;
    let mut errors = vec![];
    let what = required("what", &input.what, MAX_WHAT, &mut errors);
    due_errors(&plan, input.due_on, &mut errors);
    let owner_id = input.owner_id.unwrap_or(plan.owner_id);
    check_owner(tx.conn(), "owner_id", owner_id, &mut errors).await?;
    AppError::check(errors)?;
    if plan.version != input.version {
        return Err(AppError::Conflict("error.stale"));
    }
    let Some(due_on) = input.due_on else {
        return Err(AppError::Internal(anyhow::anyhow!("validated input without values")));
    };
    let new = NewAction { plan_id, what: &what, due_on, owner_id, created_by: actor.user_id };
    let id = store::care_plans::insert_action(tx.conn(), &new, now).await?;
    let created = store::care_plans::action(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record::<(), _>(&mut tx, actor, now, "create", "care_plan_action", &id.to_string(), None, Some(&created))
        .await?;
    let plan = store::care_plans::get(tx.conn(), plan_id, today).await?.ok_or(AppError::NotFound)?;
    let detail = detail_of(tx.conn(), plan, today).await?;
    tx.commit().await?;
    Ok(detail)
}

/// Changes to an action; fields left out keep their value.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ActionUpdate {
    /// The action's version as read (409 when it changed meanwhile).
    pub version: i64,
    /// open | done | cancelled
    pub status: Option<String>,
    /// The day it was done (default today; not in the future).
    #[schema(value_type = Option<String>, format = Date)]
    pub done_on: Option<NaiveDate>,
    /// What was achieved, or why it was cancelled.
    pub note: Option<String>,
    pub what: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<NaiveDate>,
    pub owner_id: Option<i64>,
}

/// Marks an action done or cancelled, opens it again, or edits it.
pub async fn update_action(
    db: &Db,
    actor: &Actor,
    plan_id: i64,
    action_id: i64,
    input: &ActionUpdate,
) -> AppResult<PlanDetail> {
    let now = Utc::now();
    let today = super::work_orders::local_day(now);
    let mut tx = db.begin().await?;
    store::care_plans::lock(tx.conn(), plan_id).await?;
    let plan = visible_plan(tx.conn(), actor, plan_id, today).await?;
    let before = store::care_plans::action(tx.conn(), action_id)
        .await?
        .filter(|a| a.plan_id == plan_id)
        .ok_or(AppError::NotFound)?;
    closed(&plan)?;
    let mut errors = vec![];
    let status = match input.status.as_deref().map(str::trim) {
        None => before.status.clone(),
        Some(s) if ACTION_STATUSES.contains(&s) => s.to_string(),
        Some(_) => {
            errors.push(field_error("status", "care_plan.error.action_status"));
            before.status.clone()
        }
    };
    let what = match &input.what {
        Some(w) => required("what", w, MAX_WHAT, &mut errors),
        None => before.what.clone(),
    };
    let note = match &input.note {
        Some(n) => optional("note", n, MAX_NOTE, &mut errors),
        None => before.note.clone(),
    };
    let due_on = input.due_on.unwrap_or(before.due_on);
    if input.due_on.is_some_and(|d| d != before.due_on) || (status == "open" && before.status != "open") {
        due_errors(&plan, Some(due_on), &mut errors);
    }
    let owner_id = input.owner_id.unwrap_or(before.owner_id);
    if input.owner_id.is_some_and(|o| o != before.owner_id) {
        check_owner(tx.conn(), "owner_id", owner_id, &mut errors).await?;
    }
    let (done_on, done_at) = if status == "done" {
        let day = input.done_on.or(before.done_on).unwrap_or(today);
        if day > today {
            errors.push(field_error("done_on", "care_plan.error.future"));
        }
        (Some(day), before.done_at.or(Some(now)))
    } else {
        (None, None)
    };
    AppError::check(errors)?;
    if before.version != input.version {
        return Err(AppError::Conflict("error.stale"));
    }
    let changes = ActionChanges {
        id: action_id,
        version: input.version,
        what: &what,
        due_on,
        owner_id,
        status: &status,
        done_on,
        done_at,
        note: &note,
    };
    if !store::care_plans::update_action(tx.conn(), &changes, now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    let after = store::care_plans::action(tx.conn(), action_id).await?.ok_or(AppError::NotFound)?;
    let code = match (before.status.as_str(), status.as_str()) {
        (a, b) if a == b => "update",
        (_, "done") => "done",
        (_, "cancelled") => "cancel",
        _ => "reopen",
    };
    let key = action_id.to_string();
    audit::record(&mut tx, actor, now, code, "care_plan_action", &key, Some(&before), Some(&after)).await?;
    let plan = store::care_plans::get(tx.conn(), plan_id, today).await?.ok_or(AppError::NotFound)?;
    let detail = detail_of(tx.conn(), plan, today).await?;
    tx.commit().await?;
    Ok(detail)
}

// ------------------------------------------------------------------ lists

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Every plan the caller may see.
    All,
    /// Plans the caller owns or has an open action in.
    Mine,
    /// Active plans with an open action past its due day.
    Overdue,
}

impl View {
    pub fn parse(s: &str) -> Option<View> {
        match s.trim() {
            "" | "all" => Some(View::All),
            "mine" => Some(View::Mine),
            "overdue" => Some(View::Overdue),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            View::All => "all",
            View::Mine => "mine",
            View::Overdue => "overdue",
        }
    }
}

/// `active` when empty, `any` for every status.
pub fn parse_status_filter(s: &str) -> Option<Option<String>> {
    match s.trim() {
        "" => Some(Some("active".into())),
        "any" => Some(None),
        s if STATUSES.contains(&s) => Some(Some(s.into())),
        _ => None,
    }
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub view: View,
    /// None: every status.
    pub status: Option<String>,
    pub key_only: bool,
    pub customer_id: Option<i64>,
    /// `next_after` of the previous page.
    pub after: Option<String>,
    pub limit: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page {
    pub items: Vec<PlanItem>,
    /// Pass as `after` for the next page; absent on the last.
    pub next_after: Option<String>,
    /// Open actions of active plans past their due day, in the caller's regions.
    pub overdue_actions: i64,
}

fn cursor(s: &str) -> AppResult<(i64, i64)> {
    let bad = || AppError::one("after", "error.bad_parameter");
    let (t, id) = s.split_once('~').ok_or_else(bad)?;
    Ok((t.parse().map_err(|_| bad())?, id.parse().map_err(|_| bad())?))
}

pub async fn list(db: &Db, actor: &Actor, q: &ListQuery) -> AppResult<Page> {
    actor.require(Perm::FollowUp)?;
    let limit = q.limit.clamp(1, 200);
    let today = today();
    let region = super::archive::region_scope(actor);
    let f = ListFilter {
        today,
        status: q.status.clone(),
        region: region.clone(),
        customer_id: q.customer_id,
        key_only: q.key_only,
        mine: if q.view == View::Mine { Some(actor.user_id.ok_or(AppError::Forbidden)?) } else { None },
        overdue: q.view == View::Overdue,
        after: q.after.as_deref().filter(|s| !s.is_empty()).map(cursor).transpose()?,
        limit: limit + 1,
    };
    let mut c = db.read().await?;
    let mut plans = store::care_plans::list(c.conn(), &f).await?;
    let next_after = if plans.len() as i64 > limit {
        plans.truncate(limit as usize);
        plans.last().map(|p| format!("{}~{}", p.tier(), p.id))
    } else {
        None
    };
    let overdue_actions = store::care_plans::count_overdue(c.conn(), today, region.as_deref()).await?;
    Ok(Page { items: plans.into_iter().map(PlanItem::from).collect(), next_after, overdue_actions })
}

/// A customer's plans (every status) and the actions done in them, for the customer's page.
pub async fn of_customer(db: &Db, actor: &Actor, customer_id: i64) -> AppResult<(Vec<PlanItem>, Vec<PlanAction>)> {
    actor.require(Perm::FollowUp)?;
    let f = ListFilter {
        today: today(),
        status: None,
        region: super::archive::region_scope(actor),
        customer_id: Some(customer_id),
        key_only: false,
        mine: None,
        overdue: false,
        after: None,
        limit: 50,
    };
    let mut c = db.read().await?;
    let plans = store::care_plans::list(c.conn(), &f).await?;
    let done = store::care_plans::done_of_customer(c.conn(), customer_id, 50).await?;
    Ok((plans.into_iter().map(PlanItem::from).collect(), done))
}
