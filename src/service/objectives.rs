//! Service objectives (服务目标, R9.1). The seeds have the service manager propose the
//! department's objectives, the general manager approve them, and both review them every year:
//! an objective is a built-in metric's target for a year and the company or one department,
//! with an owner. A proposal or a revised target waits for approval; every step is a revision
//! kept with who and when, and in the audit trail. A year's objectives are copied into the next
//! one to be revised there.
//!
//! Actual values come from the data of the other capabilities, per quarter and for the year,
//! computed with `rules::metrics` (what each metric means and whether it meets its target).

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use rules::metrics::{self, Counts, Metric, Trend};
use serde::{Deserialize, Serialize};

use super::{Actor, Idem, audit};
use crate::db::{Conn, Db};
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::store;
use crate::store::objectives::{Change, NewObjective, Objective, Revision};

pub const DEPARTMENTS: [&str; 5] = ["company", "service", "quality", "warehouse", "sales"];
/// Repeat repairs: the same unit and fault code within this many days (a company parameter;
/// 30 days after repair is the product's must-work period of 国经贸[1995]458号 第6条).
pub const REPEAT_WITHIN_DAYS: i64 = 30;
const MAX_NOTE: usize = 2000;

fn may_read(actor: &Actor) -> bool {
    actor.roles.iter().any(|r| {
        matches!(
            r,
            Role::Admin
                | Role::GeneralManager
                | Role::ServiceManager
                | Role::Quality
                | Role::Dispatcher
                | Role::Warehouse
        )
    })
}

fn may_propose(actor: &Actor) -> bool {
    actor.roles.iter().any(|r| matches!(r, Role::Admin | Role::GeneralManager | Role::ServiceManager))
}

fn may_approve(actor: &Actor) -> bool {
    actor.roles.iter().any(|r| matches!(r, Role::Admin | Role::GeneralManager))
}

// ------------------------------------------------------------------ actual values

/// A metric's value in one period.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Actual {
    /// 2026-Q1 … or 2026 for the year.
    pub period: String,
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    pub value: Option<f64>,
    pub numerator: i64,
    pub denominator: i64,
    pub meets: Option<bool>,
}

/// The counts of `metric` over the days `from..=to`.
async fn counts(c: &mut crate::db::ReadConn, metric: Metric, from: NaiveDate, to: NaiveDate) -> AppResult<Counts> {
    let (start, end) = (super::work_orders::midnight(from), super::work_orders::midnight(to + TimeDelta::days(1)));
    let decided = |rows: Vec<store::sla::ComplianceRow>, target: Option<&str>| {
        let mut k = Counts::default();
        for r in rows.into_iter().filter(|r| target.is_none_or(|t| r.key == t)) {
            k.numerator += r.met;
            k.denominator += r.met + r.met_late + r.breached_open;
        }
        k
    };
    Ok(match metric {
        Metric::ReplyOnTime | Metric::OnSiteOnTime | Metric::SlaCompliance => {
            let target = match metric {
                Metric::ReplyOnTime => Some(rules::sla::targets::FIRST_REPLY),
                Metric::OnSiteOnTime => Some(rules::sla::targets::ON_SITE),
                _ => None,
            };
            let f = store::sla::ReportFilter { from: Some(start), to: Some(end), ..Default::default() };
            let backend = c.backend();
            let rows = store::sla::compliance(c.conn(), backend, &f, store::sla::GroupBy::Target, Utc::now()).await?;
            decided(rows, target)
        }
        Metric::Satisfaction => {
            let from_score = i32::from(rules::care::SATISFIED_FROM);
            let rows = store::care::rates(c.conn(), start, end, store::care::GroupBy::All, from_score).await?;
            let (n, s) = rows.first().map(|t| (t.1, t.2)).unwrap_or_default();
            Counts { numerator: s, denominator: n }
        }
        Metric::RevisitRate => {
            let to = to.min(super::work_orders::today());
            let (due, done) = if from <= to { store::care::revisit_counts(c.conn(), from, to).await? } else { (0, 0) };
            Counts { numerator: done, denominator: due }
        }
        Metric::MajorComplaints => {
            Counts { numerator: store::complaints::count_major(c.conn(), start, end).await?, denominator: 0 }
        }
        Metric::PickingAccuracy => {
            let rows = store::stock::pick_counts(c.conn(), start, end).await?;
            let picks: i64 = rows.iter().map(|r| r.picks).sum();
            let wrong: i64 = rows.iter().map(|r| r.wrong).sum();
            Counts { numerator: picks - wrong, denominator: picks }
        }
        Metric::RepeatRepairRate | Metric::FirstTimeFix => {
            // Jobs before the period can be repeated inside it, jobs after it can repeat one in it.
            let window = TimeDelta::days(REPEAT_WITHIN_DAYS);
            let rows = store::objectives::completed_jobs(c.conn(), start - window, end + window).await?;
            let jobs: Vec<metrics::Job> = rows
                .into_iter()
                .map(|(order_id, unit_id, fault_code, at)| metrics::Job {
                    order_id,
                    unit_id,
                    fault_code,
                    completed_on: super::work_orders::local_day(at),
                })
                .collect();
            let (rep, ftf) = metrics::repair_counts(&jobs, REPEAT_WITHIN_DAYS, from, to);
            if metric == Metric::RepeatRepairRate { rep } else { ftf }
        }
        Metric::AverageCost => {
            let (cents, n) = store::objectives::cost_of_completed(c.conn(), start, end).await?;
            Counts { numerator: cents, denominator: n }
        }
    })
}

/// The quarters of `year` and the year itself (up to today).
fn periods(year: i32) -> Vec<(String, NaiveDate, NaiveDate)> {
    let mut out = vec![];
    for q in 1..=4 {
        if let Some((a, b)) = rules::care::quarter_range(year, q) {
            out.push((format!("{year}-Q{q}"), a, b));
        }
    }
    if let (Some(a), Some(b)) = (NaiveDate::from_ymd_opt(year, 1, 1), NaiveDate::from_ymd_opt(year, 12, 31)) {
        out.push((year.to_string(), a, b));
    }
    out
}

/// An objective with its actual values per quarter and for the year, and where it is going.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ObjectiveView {
    pub objective: Objective,
    pub metric_name_zh: String,
    pub metric_name_en: String,
    /// at_least | at_most
    #[schema(value_type = String)]
    pub direction: rules::metrics::Direction,
    /// percent | count | yuan
    #[schema(value_type = String)]
    pub unit: rules::metrics::Unit,
    pub rule: String,
    /// Q1–Q4 then the year.
    pub actuals: Vec<Actual>,
    /// better | worse | steady | unknown, over the quarters.
    #[schema(value_type = String)]
    pub trend: Trend,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct YearView {
    pub year: i32,
    pub objectives: Vec<ObjectiveView>,
    /// Metrics without an objective this year (with their default targets), to propose.
    pub missing: Vec<String>,
}

async fn view_of(c: &mut crate::db::ReadConn, o: Objective, cache: &mut Cache) -> AppResult<ObjectiveView> {
    let metric = Metric::parse(&o.metric).ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown metric")))?;
    let today = super::work_orders::today();
    let mut actuals = vec![];
    for (period, from, to) in periods(o.year) {
        let k = if from > today {
            None
        } else {
            let key = (metric, from, to);
            if let Some(k) = cache.get(&key) {
                Some(*k)
            } else {
                let k = counts(c, metric, from, to).await?;
                cache.insert(key, k);
                Some(k)
            }
        };
        let value = k.and_then(|k| metrics::actual(metric, k));
        let k = k.unwrap_or_default();
        actuals.push(Actual {
            period,
            from,
            to,
            value,
            numerator: k.numerator,
            denominator: k.denominator,
            meets: metrics::meets(metric, value, Some(o.target)),
        });
    }
    let quarters: Vec<Option<f64>> = actuals.iter().take(4).map(|a| a.value).collect();
    Ok(ObjectiveView {
        metric_name_zh: metric.name_zh().into(),
        metric_name_en: metric.name_en().into(),
        direction: metric.direction(),
        unit: metric.unit(),
        rule: metric.rule(),
        trend: metrics::trend(metric, &quarters),
        actuals,
        objective: o,
    })
}

/// Counts computed once per (metric, period) for a page: departments share company figures.
type Cache = std::collections::HashMap<(Metric, NaiveDate, NaiveDate), Counts>;

pub async fn year(db: &Db, actor: &Actor, year: i32) -> AppResult<YearView> {
    if !may_read(actor) {
        return Err(AppError::Forbidden);
    }
    if !(2000..=2100).contains(&year) {
        return Err(AppError::one("year", "error.bad_parameter"));
    }
    let mut c = db.read().await?;
    let list = store::objectives::of_year(c.conn(), year).await?;
    let mut cache = Cache::new();
    let mut objectives = vec![];
    for o in list {
        objectives.push(view_of(&mut c, o, &mut cache).await?);
    }
    let missing = Metric::ALL
        .iter()
        .filter(|m| !objectives.iter().any(|v| v.objective.metric == m.code()))
        .map(|m| m.code().to_string())
        .collect();
    Ok(YearView { year, objectives, missing })
}

/// An objective with its actual values and its revisions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ObjectiveDetail {
    pub view: ObjectiveView,
    pub revisions: Vec<Revision>,
}

pub async fn get(db: &Db, actor: &Actor, id: i64) -> AppResult<ObjectiveDetail> {
    if !may_read(actor) {
        return Err(AppError::Forbidden);
    }
    let mut c = db.read().await?;
    let o = store::objectives::get(c.conn(), id).await?.ok_or(AppError::NotFound)?;
    let revisions = store::objectives::revisions(c.conn(), id).await?;
    let view = view_of(&mut c, o, &mut Cache::new()).await?;
    Ok(ObjectiveDetail { view, revisions })
}

// ------------------------------------------------------------------ writing

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ObjectiveInput {
    pub year: Option<i32>,
    /// rules::metrics::Metric code
    #[serde(default)]
    pub metric: String,
    /// company (default) | service | quality | warehouse | sales
    #[serde(default)]
    pub department: String,
    /// Default: the seeds' target of the metric (RULES §7) where there is one.
    pub target: Option<f64>,
    pub owner_id: Option<i64>,
    #[serde(default)]
    pub note: String,
}

fn target_errors(metric: Option<Metric>, target: Option<f64>, errors: &mut Vec<rules::FieldError>) {
    match (metric, target) {
        (_, None) => errors.push(field_error("target", "error.required")),
        (Some(m), Some(t)) => {
            let ok = t.is_finite()
                && t >= 0.0
                && match m.unit() {
                    metrics::Unit::Percent => t <= 100.0,
                    _ => t <= 1e9,
                };
            if !ok {
                errors.push(field_error("target", "objective.error.target"));
            }
        }
        _ => {}
    }
}

async fn revision(
    tx: &mut crate::db::Tx,
    actor: &Actor,
    o: &Objective,
    action: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let r = Revision {
        id: 0,
        objective_id: o.id,
        version: o.version,
        action: action.into(),
        target: o.target,
        status: o.status.clone(),
        note: o.note.clone(),
        actor_id: actor.user_id,
        actor_label: actor.label.clone(),
        at: now,
    };
    store::objectives::add_revision(tx.conn(), &r).await?;
    Ok(())
}

async fn check_owner(c: Conn<'_>, owner: Option<i64>, errors: &mut Vec<rules::FieldError>) -> AppResult<()> {
    if let Some(id) = owner
        && !store::users::get(c, id).await?.is_some_and(|u| u.active)
    {
        errors.push(field_error("owner_id", "objective.error.owner"));
    }
    Ok(())
}

/// Proposes an objective (service manager, general manager): it waits for approval.
pub async fn propose(
    db: &Db,
    actor: &Actor,
    input: &ObjectiveInput,
    idem: Option<&Idem<'_>>,
) -> AppResult<ObjectiveDetail> {
    if !may_propose(actor) {
        return Err(AppError::Forbidden);
    }
    let mut errors = vec![];
    let metric = Metric::parse(&input.metric);
    if metric.is_none() {
        errors.push(field_error(
            "metric",
            if input.metric.trim().is_empty() { "error.required" } else { "objective.error.metric" },
        ));
    }
    let department = if input.department.trim().is_empty() { "company" } else { input.department.trim() };
    if !DEPARTMENTS.contains(&department) {
        errors.push(field_error("department", "objective.error.department"));
    }
    let year = input.year.unwrap_or_else(|| super::work_orders::today().year());
    if !(2000..=2100).contains(&year) {
        errors.push(field_error("year", "objective.error.year"));
    }
    let target = input.target.or(metric.and_then(Metric::default_target));
    target_errors(metric, target, &mut errors);
    if input.note.chars().count() > MAX_NOTE {
        errors.push(field_error("note", "error.too_long"));
    }
    let now = Utc::now();
    let mut tx = db.begin().await?;
    check_owner(tx.conn(), input.owner_id, &mut errors).await?;
    if let Some(m) = metric
        && store::objectives::find(tx.conn(), year, m.code(), department).await?.is_some()
    {
        errors.push(field_error("metric", "objective.error.exists"));
    }
    AppError::check(errors)?;
    let (Some(metric), Some(target)) = (metric, target) else {
        return Err(AppError::Internal(anyhow::anyhow!("validated objective without values")));
    };
    let new = NewObjective {
        year,
        metric: metric.code(),
        department,
        target,
        owner_id: input.owner_id,
        note: input.note.trim(),
        proposed_by: actor.user_id,
    };
    let id = store::objectives::insert(tx.conn(), &new, now).await?;
    let o = store::objectives::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    revision(&mut tx, actor, &o, "propose", now).await?;
    audit::record::<(), _>(&mut tx, actor, now, "create", "objective", &id.to_string(), None, Some(&o)).await?;
    let detail = ObjectiveDetail {
        view: ObjectiveView {
            metric_name_zh: metric.name_zh().into(),
            metric_name_en: metric.name_en().into(),
            direction: metric.direction(),
            unit: metric.unit(),
            rule: metric.rule(),
            actuals: vec![],
            trend: Trend::Unknown,
            objective: o,
        },
        revisions: vec![],
    };
    if let Some(idem) = idem {
        super::remember(&mut tx, actor, idem, 201, &detail).await?;
    }
    tx.commit().await?;
    get(db, actor, id).await
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ObjectiveUpdate {
    pub version: i64,
    /// revise (target, owner, note: back to proposed) | approve (general manager) | withdraw
    #[serde(default)]
    pub action: String,
    pub target: Option<f64>,
    pub owner_id: Option<i64>,
    pub note: Option<String>,
}

/// Revises, approves or withdraws an objective over its `version` (409 when stale). A revised
/// target needs approval again.
pub async fn update(db: &Db, actor: &Actor, id: i64, u: &ObjectiveUpdate) -> AppResult<ObjectiveDetail> {
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = store::objectives::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    let metric = Metric::parse(&before.metric);
    let mut errors = vec![];
    let note = u.note.clone().unwrap_or_else(|| before.note.clone());
    if note.chars().count() > MAX_NOTE {
        errors.push(field_error("note", "error.too_long"));
    }
    let change = match u.action.as_str() {
        "revise" => {
            if !may_propose(actor) {
                return Err(AppError::Forbidden);
            }
            let target = u.target.or(Some(before.target));
            target_errors(metric, target, &mut errors);
            let owner = u.owner_id.or(before.owner_id);
            check_owner(tx.conn(), owner, &mut errors).await?;
            Change {
                target: target.unwrap_or(before.target),
                owner_id: owner,
                note: &note,
                status: "proposed",
                approved_by: None,
                approved_at: None,
            }
        }
        "approve" => {
            if !may_approve(actor) {
                return Err(AppError::Forbidden);
            }
            if before.status == "approved" {
                return Err(AppError::Conflict("objective.error.approved"));
            }
            Change {
                target: before.target,
                owner_id: before.owner_id,
                note: &note,
                status: "approved",
                approved_by: actor.user_id,
                approved_at: Some(now),
            }
        }
        "withdraw" => {
            if !may_propose(actor) {
                return Err(AppError::Forbidden);
            }
            Change {
                target: before.target,
                owner_id: before.owner_id,
                note: &note,
                status: "withdrawn",
                approved_by: None,
                approved_at: None,
            }
        }
        _ => return Err(AppError::one("action", "error.bad_parameter")),
    };
    AppError::check(errors)?;
    if !store::objectives::update(tx.conn(), id, u.version, &change, now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    let after = store::objectives::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    revision(&mut tx, actor, &after, &u.action, now).await?;
    audit::record(&mut tx, actor, now, "update", "objective", &id.to_string(), Some(&before), Some(&after)).await?;
    tx.commit().await?;
    get(db, actor, id).await
}

/// Copies a year's objectives (not withdrawn) into the next year as proposals to revise there;
/// those already there are left alone. Returns how many were copied.
pub async fn copy_year(db: &Db, actor: &Actor, from_year: i32, to_year: i32) -> AppResult<usize> {
    if !may_propose(actor) {
        return Err(AppError::Forbidden);
    }
    if !(2000..=2100).contains(&from_year) || !(2000..=2100).contains(&to_year) || from_year == to_year {
        return Err(AppError::one("year", "objective.error.year"));
    }
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let list = store::objectives::of_year(tx.conn(), from_year).await?;
    let mut copied = 0;
    for o in list.into_iter().filter(|o| o.status != "withdrawn") {
        if store::objectives::find(tx.conn(), to_year, &o.metric, &o.department).await?.is_some() {
            continue;
        }
        let note = format!("{} ← {from_year}", o.note).trim().to_string();
        let new = NewObjective {
            year: to_year,
            metric: &o.metric,
            department: &o.department,
            target: o.target,
            owner_id: o.owner_id,
            note: &note,
            proposed_by: actor.user_id,
        };
        let id = store::objectives::insert(tx.conn(), &new, now).await?;
        let created = store::objectives::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
        revision(&mut tx, actor, &created, "propose", now).await?;
        audit::record::<(), _>(&mut tx, actor, now, "create", "objective", &id.to_string(), None, Some(&created))
            .await?;
        copied += 1;
    }
    tx.commit().await?;
    Ok(copied)
}
