//! Quarterly analysis of repair content (R9.2; seeds: 质量部每季度对维修内容进行统计分析): the
//! faults that occur most and cost most, by fault code, model, region or faulty part, in Pareto
//! order (`rules::analysis`), each group linked to the orders it counts; and the corrective
//! actions quality opens from it — owner, due day, what was done, and the verification of the
//! effect, which shows the group's count since the action was done next to the analysed one.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rules::analysis::{self, Item, RankBy, Ranked};
use serde::{Deserialize, Serialize};

use super::work_orders::midnight;
use super::{Actor, Idem, audit};
use crate::db::Db;
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::store;
use crate::store::analysis::{CorrectiveAction, Dimension, NewAction, Step};

const MAX_TEXT: usize = 4000;

fn may_read(actor: &Actor) -> bool {
    actor.roles.iter().any(|r| {
        matches!(r, Role::Admin | Role::GeneralManager | Role::ServiceManager | Role::Quality | Role::Dispatcher)
    })
}

/// Quality and managers open and verify corrective actions.
fn may_manage(actor: &Actor) -> bool {
    actor.roles.iter().any(|r| matches!(r, Role::Admin | Role::GeneralManager | Role::ServiceManager | Role::Quality))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FaultAnalysis {
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// fault | model | region | part
    pub by: String,
    /// count | cost
    pub rank: String,
    pub total_count: i64,
    pub total_cost_cents: i64,
    /// Largest first, with share and running share in per cent; `vital`: within the first 80 %.
    #[schema(value_type = Vec<Object>)]
    pub groups: Vec<Ranked>,
    pub rule: String,
}

fn span(from: NaiveDate, to: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    (midnight(from), midnight(to + TimeDelta::days(1)))
}

pub async fn faults(
    db: &Db,
    actor: &Actor,
    from: NaiveDate,
    to: NaiveDate,
    by: Dimension,
    rank: RankBy,
) -> AppResult<FaultAnalysis> {
    if !may_read(actor) {
        return Err(AppError::Forbidden);
    }
    if to < from {
        return Err(AppError::one("to", "stock.error.period"));
    }
    let (start, end) = span(from, to);
    let mut c = db.read().await?;
    let rows = store::analysis::groups(c.conn(), by, start, end, None).await?;
    let items: Vec<Item> = rows
        .into_iter()
        .map(|g| Item { key: g.key, label: g.label, count: g.count, cost_cents: g.cost_cents })
        .collect();
    let total_count = items.iter().map(|i| i.count).sum();
    let total_cost_cents = items.iter().map(|i| i.cost_cents).sum();
    let groups = analysis::pareto(items, rank, analysis::DEFAULT_CUT);
    Ok(FaultAnalysis {
        from,
        to,
        by: by.code().into(),
        rank: if rank == RankBy::Cost { "cost".into() } else { "count".into() },
        total_count,
        total_cost_cents,
        groups,
        rule: format!("R9.2 Pareto: the first {} % are the vital few", analysis::DEFAULT_CUT),
    })
}

// ------------------------------------------------------------------ corrective actions

/// An action with the group's count since it was done (or over the last 90 days while open),
/// to compare with the analysed baseline. Lists leave the count out (null): it reads the orders
/// of the whole span, so it is counted only for one action at a time.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActionView {
    pub action: CorrectiveAction,
    pub since: Option<i64>,
    #[schema(value_type = String, format = Date)]
    pub since_from: NaiveDate,
    /// The action is open past its due day.
    pub overdue: bool,
}

async fn view(c: &mut crate::db::ReadConn, a: CorrectiveAction, count: bool) -> AppResult<ActionView> {
    let today = super::work_orders::today();
    let since_from = a.done_at.map(super::work_orders::local_day).unwrap_or(today - TimeDelta::days(90));
    let mut since = None;
    if count && let Some(d) = Dimension::parse(&a.dimension) {
        let (start, end) = span(since_from, today);
        let groups = store::analysis::groups(c.conn(), d, start, end, Some(&a.key)).await?;
        since = Some(groups.iter().map(|g| g.count).sum());
    }
    let overdue = a.status == "open" && a.due_on < today;
    Ok(ActionView { action: a, since, since_from, overdue })
}

pub async fn actions(db: &Db, actor: &Actor, open_only: bool) -> AppResult<Vec<ActionView>> {
    if !may_read(actor) {
        return Err(AppError::Forbidden);
    }
    let mut c = db.read().await?;
    let list = store::analysis::list(c.conn(), open_only, 200).await?;
    let mut out = vec![];
    for a in list {
        out.push(view(&mut c, a, false).await?);
    }
    Ok(out)
}

pub async fn action(db: &Db, actor: &Actor, id: i64) -> AppResult<ActionView> {
    if !may_read(actor) {
        return Err(AppError::Forbidden);
    }
    let mut c = db.read().await?;
    let a = store::analysis::get(c.conn(), id).await?.ok_or(AppError::NotFound)?;
    view(&mut c, a, true).await
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ActionInput {
    /// fault | model | region | part
    #[serde(default)]
    pub dimension: String,
    /// The group's key as the analysis gives it.
    #[serde(default)]
    pub key: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub period_from: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub period_to: Option<NaiveDate>,
    /// What is wrong (root cause as far as known).
    #[serde(default)]
    pub problem: String,
    /// What will be done.
    #[serde(default)]
    pub action: String,
    pub owner_id: Option<i64>,
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<NaiveDate>,
}

fn text(field: &str, v: &str, errors: &mut Vec<rules::FieldError>) {
    if v.trim().is_empty() {
        errors.push(field_error(field, "error.required"));
    } else if v.chars().count() > MAX_TEXT {
        errors.push(field_error(field, "error.too_long"));
    }
}

/// Opens a corrective action on a group of the analysis (quality, managers); the baseline is
/// the group's count in the analysed period.
pub async fn open(db: &Db, actor: &Actor, input: &ActionInput, idem: Option<&Idem<'_>>) -> AppResult<ActionView> {
    if !may_manage(actor) {
        return Err(AppError::Forbidden);
    }
    let mut errors = vec![];
    let d = Dimension::parse(&input.dimension);
    if d.is_none() {
        errors.push(field_error("dimension", "error.bad_parameter"));
    }
    if input.key.trim().is_empty() {
        errors.push(field_error("key", "error.required"));
    }
    text("problem", &input.problem, &mut errors);
    text("action", &input.action, &mut errors);
    let (Some(from), Some(to)) = (input.period_from, input.period_to) else {
        errors.push(field_error("period_from", "error.required"));
        return Err(AppError::Validation(errors));
    };
    if to < from {
        errors.push(field_error("period_to", "stock.error.period"));
    }
    match input.due_on {
        None => errors.push(field_error("due_on", "error.required")),
        Some(d) if d < super::work_orders::today() => errors.push(field_error("due_on", "analysis.error.due_past")),
        _ => {}
    }
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let owner = input.owner_id.or(actor.user_id);
    match owner {
        Some(id) if store::users::get(tx.conn(), id).await?.is_some_and(|u| u.active) => {}
        _ => errors.push(field_error("owner_id", "objective.error.owner")),
    }
    AppError::check(errors)?;
    let (Some(d), Some(owner_id), Some(due_on)) = (d, owner, input.due_on) else {
        return Err(AppError::Internal(anyhow::anyhow!("validated action without values")));
    };
    let (start, end) = span(from, to);
    let group = store::analysis::groups(tx.conn(), d, start, end, Some(input.key.trim())).await?;
    let baseline = group.iter().map(|g| g.count).sum();
    let label = group.first().map(|g| g.label.clone()).unwrap_or_default();
    let new = NewAction {
        dimension: d.code(),
        key: input.key.trim(),
        label: &label,
        period_from: from,
        period_to: to,
        baseline,
        problem: input.problem.trim(),
        action: input.action.trim(),
        owner_id,
        due_on,
        created_by: actor.user_id,
    };
    let id = store::analysis::insert(tx.conn(), &new, now).await?;
    let a = store::analysis::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record::<(), _>(&mut tx, actor, now, "create", "corrective_action", &id.to_string(), None, Some(&a)).await?;
    if let Some(idem) = idem {
        super::remember(&mut tx, actor, idem, 201, &serde_json::json!({"action": {"id": id}})).await?;
    }
    tx.commit().await?;
    action(db, actor, id).await
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct StepInput {
    pub version: i64,
    /// done (the owner or quality: what was done) | verify (quality: the effect, effective or
    /// not — not effective opens it again) | cancel (quality, with a reason)
    #[serde(default)]
    pub step: String,
    #[serde(default)]
    pub note: String,
    pub effective: Option<bool>,
}

pub async fn step(db: &Db, actor: &Actor, id: i64, s: &StepInput) -> AppResult<ActionView> {
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = store::analysis::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    let owner = actor.user_id == Some(before.owner_id);
    let mut errors = vec![];
    text("note", &s.note, &mut errors);
    let note = s.note.trim();
    let w = match s.step.as_str() {
        "done" => {
            if !(owner || may_manage(actor)) {
                return Err(AppError::Forbidden);
            }
            if before.status != "open" {
                return Err(AppError::Conflict("analysis.error.not_open"));
            }
            Step {
                status: "done",
                done_note: note,
                done_at: Some(now),
                verification: &before.verification,
                effective: None,
                verified_by: None,
                verified_at: None,
            }
        }
        "verify" => {
            if !may_manage(actor) {
                return Err(AppError::Forbidden);
            }
            if before.status != "done" {
                return Err(AppError::Conflict("analysis.error.not_done"));
            }
            let Some(effective) = s.effective else {
                errors.push(field_error("effective", "error.required"));
                return Err(AppError::Validation(errors));
            };
            Step {
                // Not effective: the action goes on.
                status: if effective { "verified" } else { "open" },
                done_note: &before.done_note,
                done_at: if effective { before.done_at } else { None },
                verification: note,
                effective: Some(effective),
                verified_by: actor.user_id,
                verified_at: Some(now),
            }
        }
        "cancel" => {
            if !may_manage(actor) {
                return Err(AppError::Forbidden);
            }
            Step {
                status: "cancelled",
                done_note: &before.done_note,
                done_at: before.done_at,
                verification: note,
                effective: before.effective,
                verified_by: actor.user_id,
                verified_at: Some(now),
            }
        }
        _ => return Err(AppError::one("step", "error.bad_parameter")),
    };
    AppError::check(errors)?;
    if !store::analysis::step(tx.conn(), id, s.version, &w, now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    let after = store::analysis::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record(&mut tx, actor, now, &s.step, "corrective_action", &id.to_string(), Some(&before), Some(&after))
        .await?;
    tx.commit().await?;
    action(db, actor, id).await
}
