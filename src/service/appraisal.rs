//! Monthly staff appraisal (员工考核, R9.4, RULES §7). The service manager opens a month for a
//! role: every active user of the role gets a row with his KPIs measured from the system's data
//! under the role's scheme, kept as a snapshot with the counts and the orders, visits, picks …
//! counted. Each person enters his self-assessment; the manager enters his own, starting from the
//! measured score (a departure beyond the margin needs a reason). Closing ranks the month and
//! freezes it: first place rewarded, the last places hand in a reason and an improvement plan
//! within a week, three months last in a row flags a transfer to be considered. Every decision
//! names its rule (`rules::appraisal`).
//!
//! A person sees only his own rows and place; managers (Perm::Appraise) see everything.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rules::appraisal::{self as ap, ItemScore, Kpi, ScoreRule, Settings};
use serde::{Deserialize, Serialize};

use super::{Actor, audit};
use crate::db::{Conn, Db};
use crate::domain::{Perm, Role};
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::store;
use crate::store::appraisal::{Item, ManagerAssessment, Month, PlanDue, Ranked, Row, Scheme};

/// The roles appraised (an office role may be added by giving it a scheme).
pub const ROLES: [Role; 4] = [Role::Engineer, Role::Dispatcher, Role::Warehouse, Role::Quality];
const MAX_TEXT: usize = 2000;
/// At most this many orders, visits … are kept per item as evidence.
const MAX_EVIDENCE: usize = 200;

fn is_manager(actor: &Actor) -> bool {
    actor.can(Perm::Appraise)
}

fn role_of(code: &str) -> Option<Role> {
    Role::parse(code).filter(|r| ROLES.contains(r))
}

// ------------------------------------------------------------------ settings

const KEYS: [&str; 5] = [
    "appraisal.self_weight",
    "appraisal.manager_weight",
    "appraisal.margin",
    "appraisal.last_places",
    "appraisal.plan_days",
];

/// The company's appraisal settings (RULES §7 defaults where none were saved).
pub async fn load_settings(c: &mut Conn<'_>) -> AppResult<Settings> {
    let mut s = Settings::default();
    let mut values = vec![];
    for k in KEYS {
        let v = store::settings::get(c.reborrow(), k).await?;
        values.push(v.and_then(|v| v.parse::<f64>().ok()));
    }
    if let Some(v) = values[0] {
        s.self_weight = v;
    }
    if let Some(v) = values[1] {
        s.manager_weight = v;
    }
    if let Some(v) = values[2] {
        s.margin = v;
    }
    if let Some(v) = values[3] {
        s.last_places = v as usize;
    }
    if let Some(v) = values[4] {
        s.plan_days = v as i64;
    }
    Ok(s)
}

pub async fn settings(db: &Db, actor: &Actor) -> AppResult<Settings> {
    actor.require(Perm::Appraise)?;
    let mut c = db.read().await?;
    load_settings(&mut c.conn()).await
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct SettingsInput {
    pub self_weight: Option<f64>,
    pub manager_weight: Option<f64>,
    pub margin: Option<f64>,
    pub last_places: Option<i64>,
    pub plan_days: Option<i64>,
}

/// Saves the settings (months already open keep the settings they were opened with).
pub async fn save_settings(db: &Db, actor: &Actor, input: &SettingsInput) -> AppResult<Settings> {
    actor.require(Perm::Appraise)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = load_settings(&mut tx.conn()).await?;
    let mut errors = vec![];
    if input.last_places.is_some_and(|n| n < 0) {
        errors.push(field_error("last_places", "appraisal.error.last_places"));
    }
    let s = Settings {
        self_weight: input.self_weight.unwrap_or(before.self_weight),
        manager_weight: input.manager_weight.unwrap_or(before.manager_weight),
        margin: input.margin.unwrap_or(before.margin),
        last_places: input.last_places.map(|n| n.max(0) as usize).unwrap_or(before.last_places),
        plan_days: input.plan_days.unwrap_or(before.plan_days),
    };
    for (f, k) in s.errors() {
        if !errors.iter().any(|e| e.field == f) {
            errors.push(field_error(f, k));
        }
    }
    AppError::check(errors)?;
    let values = [
        s.self_weight.to_string(),
        s.manager_weight.to_string(),
        s.margin.to_string(),
        s.last_places.to_string(),
        s.plan_days.to_string(),
    ];
    for (k, v) in KEYS.iter().zip(values.iter()) {
        store::settings::set(tx.conn(), k, v).await?;
    }
    audit::record(&mut tx, actor, now, "update", "appraisal_settings", "company", Some(&before), Some(&s)).await?;
    tx.commit().await?;
    Ok(s)
}

// ------------------------------------------------------------------ schemes

/// A scheme with its items and what they mean.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SchemeView {
    pub scheme: Scheme,
    pub items: Vec<Item>,
}

pub async fn schemes(db: &Db, actor: &Actor) -> AppResult<Vec<SchemeView>> {
    actor.require(Perm::Appraise)?;
    let mut c = db.read().await?;
    let list = store::appraisal::schemes(c.conn()).await?;
    let mut out = vec![];
    for s in list {
        let items = store::appraisal::items(c.conn(), s.id).await?;
        out.push(SchemeView { scheme: s, items });
    }
    Ok(out)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct SchemeInput {
    /// The scheme's version when read (0 for a role without a scheme yet).
    pub version: i64,
    pub items: Vec<Item>,
}

fn item_errors(items: &[Item]) -> Vec<rules::FieldError> {
    let mut errors = vec![];
    if items.is_empty() {
        errors.push(field_error("items", "appraisal.error.no_items"));
    }
    let mut seen = HashSet::new();
    for (i, it) in items.iter().enumerate() {
        let kpi = Kpi::parse(&it.kpi);
        match kpi {
            None => errors.push(field_error(&format!("items[{i}].kpi"), "appraisal.error.kpi")),
            Some(k) if !seen.insert(k) => {
                errors.push(field_error(&format!("items[{i}].kpi"), "appraisal.error.kpi_twice"))
            }
            _ => {}
        }
        if !(it.weight.is_finite() && it.weight > 0.0 && it.weight <= 100.0) {
            errors.push(field_error(&format!("items[{i}].weight"), "appraisal.error.item_weight"));
        }
        let target_ok = it.target.is_finite()
            && it.target >= 0.0
            && match kpi.map(Kpi::unit) {
                Some(ap::KpiUnit::Percent) => it.target <= 100.0,
                _ => it.target <= 100_000.0,
            };
        if !target_ok {
            errors.push(field_error(&format!("items[{i}].target"), "appraisal.error.target"));
        }
        if ScoreRule::parse(&it.rule).is_none() {
            errors.push(field_error(&format!("items[{i}].rule"), "appraisal.error.rule"));
        }
    }
    errors
}

/// Replaces a role's scheme items over its version (409 when it changed meanwhile). Months
/// already open keep what they measured.
pub async fn save_scheme(db: &Db, actor: &Actor, role: &str, input: &SchemeInput) -> AppResult<SchemeView> {
    actor.require(Perm::Appraise)?;
    let Some(r) = role_of(role) else { return Err(AppError::NotFound) };
    let items: Vec<Item> = input
        .items
        .iter()
        .map(|i| Item { kpi: i.kpi.trim().into(), weight: i.weight, target: i.target, rule: i.rule.trim().into() })
        .collect();
    AppError::check(item_errors(&items))?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let scheme = match store::appraisal::scheme(tx.conn(), r.code()).await? {
        Some(s) => s,
        None => {
            let id = store::appraisal::insert_scheme(tx.conn(), r.code()).await?;
            Scheme { id, role: r.code().into(), version: 1, updated_at: None }
        }
    };
    let before = store::appraisal::items(tx.conn(), scheme.id).await?;
    let version = if input.version == 0 && before.is_empty() { scheme.version } else { input.version };
    if !store::appraisal::touch_scheme(tx.conn(), scheme.id, version, actor.user_id, now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    store::appraisal::replace_items(tx.conn(), scheme.id, &items).await?;
    audit::record(&mut tx, actor, now, "update", "appraisal_scheme", r.code(), Some(&before), Some(&items)).await?;
    let scheme = store::appraisal::scheme(tx.conn(), r.code()).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(SchemeView { scheme, items })
}

// ------------------------------------------------------------------ measuring

/// One scheme item as measured for a person and month: the snapshot kept in his row.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Measured {
    /// rules::appraisal::Kpi code
    pub kpi: String,
    pub weight: f64,
    pub target: f64,
    /// linear | threshold | stepped
    pub rule: String,
    pub numerator: i64,
    pub denominator: i64,
    /// % or count; None with nothing to measure.
    pub value: Option<f64>,
    pub meets: Option<bool>,
    /// 0–100 under the rule; None with nothing to measure (left out of the KPI score).
    pub score: Option<f64>,
    /// orders | visits | movements | actions: what `counted` and `missed` are ids of.
    pub evidence: String,
    /// What counted for the person (up to 200).
    pub counted: Vec<i64>,
    /// Of those, the ones that missed (late, repeated, unsatisfied, wrong part …).
    pub missed: Vec<i64>,
}

/// Facts shared by everyone of a month: which jobs were repeated within 30 days.
struct MonthFacts {
    from: NaiveDate,
    to: NaiveDate,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    repeated: Option<std::sync::Arc<HashSet<i64>>>,
    /// The orders one person completed in the month (three engineer KPIs read them).
    completed: Option<(i64, Vec<i64>)>,
}

struct Tally {
    numerator: i64,
    denominator: i64,
    evidence: &'static str,
    counted: Vec<i64>,
    missed: Vec<i64>,
}

impl Tally {
    fn new(evidence: &'static str) -> Tally {
        Tally { numerator: 0, denominator: 0, evidence, counted: vec![], missed: vec![] }
    }
    fn add(&mut self, id: i64, hit: bool) {
        self.denominator += 1;
        if hit {
            self.numerator += 1;
        }
        if self.counted.len() < MAX_EVIDENCE {
            self.counted.push(id);
        }
        if !hit && self.missed.len() < MAX_EVIDENCE {
            self.missed.push(id);
        }
    }
}

async fn repeated(c: &mut Conn<'_>, f: &mut MonthFacts) -> AppResult<std::sync::Arc<HashSet<i64>>> {
    if let Some(r) = &f.repeated {
        return Ok(r.clone());
    }
    let window = TimeDelta::days(super::objectives::REPEAT_WITHIN_DAYS);
    let rows = store::objectives::completed_jobs(c.reborrow(), f.start, f.end + window).await?;
    let jobs: Vec<rules::metrics::Job> = rows
        .into_iter()
        .map(|(order_id, unit_id, fault_code, at)| rules::metrics::Job {
            order_id,
            unit_id,
            fault_code,
            completed_on: super::work_orders::local_day(at),
        })
        .collect();
    let set: HashSet<i64> = rules::metrics::repeats(&jobs, super::objectives::REPEAT_WITHIN_DAYS)
        .into_iter()
        .map(|(_, earlier)| earlier)
        .collect();
    let set = std::sync::Arc::new(set);
    f.repeated = Some(set.clone());
    Ok(set)
}

async fn tally(c: &mut Conn<'_>, f: &mut MonthFacts, user_id: i64, kpi: Kpi) -> AppResult<Tally> {
    let now = Utc::now();
    Ok(match kpi {
        Kpi::OnSiteOnTime | Kpi::ReplyOnTime => {
            let (target, as_engineer) = if kpi == Kpi::OnSiteOnTime {
                (rules::sla::targets::ON_SITE, true)
            } else {
                (rules::sla::targets::FIRST_REPLY, false)
            };
            let rows =
                store::appraisal::clocks_of(c.reborrow(), user_id, as_engineer, target, f.start, f.end, now).await?;
            let mut t = Tally::new("orders");
            for (order, outcome) in rows.into_iter().filter(|r| r.1 >= 0) {
                t.add(order, outcome == 1);
            }
            t
        }
        Kpi::FirstTimeFix | Kpi::RepeatRepairRate | Kpi::CompletedOrders => {
            let mine = match &f.completed {
                Some((u, list)) if *u == user_id => list.clone(),
                _ => {
                    let list = store::appraisal::completed_by(c.reborrow(), user_id, f.start, f.end).await?;
                    f.completed = Some((user_id, list.clone()));
                    list
                }
            };
            let mut t = Tally::new("orders");
            if kpi == Kpi::CompletedOrders {
                for o in mine {
                    t.add(o, true);
                }
                t.denominator = 0;
            } else {
                let rep = repeated(c, f).await?;
                for o in mine {
                    let redone = rep.contains(&o);
                    // First-time fix counts the jobs not redone; the repeat rate the redone ones.
                    if kpi == Kpi::FirstTimeFix {
                        t.add(o, !redone);
                    } else {
                        t.add(o, redone);
                    }
                }
                if kpi == Kpi::RepeatRepairRate {
                    // The misses of a repeat rate are its hits: the jobs redone.
                    t.missed = t.counted.iter().copied().filter(|o| rep.contains(o)).collect();
                }
            }
            t
        }
        Kpi::Satisfaction => {
            let rows = store::appraisal::surveys_of(c.reborrow(), user_id, f.start, f.end).await?;
            let mut t = Tally::new("orders");
            for (order, overall) in rows {
                let ok = rules::care::is_satisfied(overall.clamp(0, 255) as u8);
                t.add(order.unwrap_or_default(), ok);
            }
            t
        }
        Kpi::VisitsOnTime => {
            let rows = store::appraisal::visits_of(c.reborrow(), user_id, f.from, f.to).await?;
            let mut t = Tally::new("visits");
            for (id, ok) in rows {
                t.add(id, ok == 1);
            }
            t
        }
        Kpi::PickingAccuracy => {
            let rows = store::appraisal::picks_of(c.reborrow(), user_id, f.start, f.end).await?;
            let mut t = Tally::new("movements");
            for (id, _order, wrong) in rows {
                t.add(id, wrong == 0);
            }
            t
        }
        Kpi::ActionsClosed => {
            let rows = store::appraisal::actions_of(c.reborrow(), user_id, f.from, f.to).await?;
            let mut t = Tally::new("actions");
            for (id, due, done) in rows {
                t.add(id, done.is_some_and(|d| super::work_orders::local_day(d) <= due));
            }
            t
        }
    })
}

/// Measures a person's scheme items for the month.
async fn measure(c: &mut Conn<'_>, f: &mut MonthFacts, user_id: i64, items: &[Item]) -> AppResult<Vec<Measured>> {
    let mut out = vec![];
    for it in items {
        let (Some(kpi), Some(rule)) = (Kpi::parse(&it.kpi), ScoreRule::parse(&it.rule)) else { continue };
        let t = tally(c, f, user_id, kpi).await?;
        let value = kpi.value(t.numerator, t.denominator).map(ap::round2);
        out.push(Measured {
            kpi: kpi.code().into(),
            weight: it.weight,
            target: it.target,
            rule: rule.code().into(),
            numerator: t.numerator,
            denominator: t.denominator,
            value,
            meets: value.map(|v| ap::meets(kpi, v, it.target)),
            score: ap::item_score(kpi, rule, value, it.target),
            evidence: t.evidence.into(),
            counted: t.counted,
            missed: t.missed,
        });
    }
    Ok(out)
}

fn kpi_score_of(items: &[Measured]) -> Option<f64> {
    ap::kpi_score(&items.iter().map(|m| ItemScore { weight: m.weight, score: m.score }).collect::<Vec<_>>())
}

// ------------------------------------------------------------------ views

/// A person's row with his measured items and what follows from it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RowView {
    pub row: Row,
    pub items: Vec<Measured>,
    /// The manager's starting point: his score if entered, else the measured KPI score.
    pub manager_start: Option<f64>,
    /// The final score so far (once both scores are in).
    pub final_so_far: Option<f64>,
    /// The improvement plan is past its due day and not in.
    pub plan_overdue: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MonthView {
    pub month: Month,
    pub settings_used: SettingsView,
    /// All rows for managers; only his own for anyone else.
    pub rows: Vec<RowView>,
    /// Whether the reader sees everyone (a manager).
    pub all: bool,
    /// The rules applied.
    pub rules: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SettingsView {
    pub self_weight: f64,
    pub manager_weight: f64,
    pub margin: f64,
    pub last_places: i64,
    pub plan_days: i64,
}

impl From<Settings> for SettingsView {
    fn from(s: Settings) -> Self {
        SettingsView {
            self_weight: s.self_weight,
            manager_weight: s.manager_weight,
            margin: s.margin,
            last_places: s.last_places as i64,
            plan_days: s.plan_days,
        }
    }
}

fn month_settings(m: &Month) -> Settings {
    serde_json::from_str(&m.settings).unwrap_or_default()
}

fn row_view(r: Row, s: &Settings, today: NaiveDate) -> RowView {
    let items: Vec<Measured> = serde_json::from_str(&r.kpis).unwrap_or_default();
    let final_so_far = r.final_score.or_else(|| Some(s.final_score(r.self_score?, r.manager_score?)));
    RowView {
        manager_start: r.manager_score.or(r.kpi_score),
        final_so_far,
        plan_overdue: r.last_place && ap::plan_overdue(r.plan_due, r.plan_at.is_some(), today),
        items,
        row: r,
    }
}

fn rule_list() -> Vec<String> {
    [ap::RULE_WEIGHTS, ap::RULE_RANKING, ap::RULE_REWARD, ap::RULE_LAST, ap::RULE_TRANSFER, ap::RULE_DEPARTURE]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// The months: all for managers, his own for anyone else.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Overview {
    pub months: Vec<Month>,
    /// Last places whose improvement plan is not in yet (his own for anyone but managers).
    pub plans: Vec<PlanView>,
    pub all: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanView {
    pub plan: PlanDue,
    pub overdue: bool,
}

pub async fn overview(db: &Db, actor: &Actor) -> AppResult<Overview> {
    let user_id = actor.user_id.ok_or(AppError::Forbidden)?;
    let all = is_manager(actor);
    let mut c = db.read().await?;
    let months = if all {
        store::appraisal::months(c.conn(), 120).await?
    } else {
        store::appraisal::months_of_user(c.conn(), user_id).await?
    };
    let today = super::work_orders::today();
    let plans = store::appraisal::plans_missing(c.conn(), if all { None } else { Some(user_id) })
        .await?
        .into_iter()
        .map(|p| PlanView { overdue: ap::plan_overdue(p.plan_due, false, today), plan: p })
        .collect();
    Ok(Overview { months, plans, all })
}

pub async fn month(db: &Db, actor: &Actor, id: i64) -> AppResult<MonthView> {
    let user_id = actor.user_id.ok_or(AppError::Forbidden)?;
    let all = is_manager(actor);
    let mut c = db.read().await?;
    let m = store::appraisal::month(c.conn(), id).await?.ok_or(AppError::NotFound)?;
    let rows = store::appraisal::rows(c.conn(), id).await?;
    let rows: Vec<Row> = if all { rows } else { rows.into_iter().filter(|r| r.user_id == user_id).collect() };
    if rows.is_empty() && !all {
        return Err(AppError::NotFound);
    }
    let s = month_settings(&m);
    let today = super::work_orders::today();
    Ok(MonthView {
        settings_used: s.into(),
        rows: rows.into_iter().map(|r| row_view(r, &s, today)).collect(),
        month: m,
        all,
        rules: rule_list(),
    })
}

/// One row: its person or a manager.
pub async fn row(db: &Db, actor: &Actor, id: i64) -> AppResult<(Month, RowView)> {
    let mut c = db.read().await?;
    let r = store::appraisal::row(c.conn(), id).await?.ok_or(AppError::NotFound)?;
    if !is_manager(actor) && actor.user_id != Some(r.user_id) {
        // Another person's appraisal does not exist for him.
        return Err(AppError::NotFound);
    }
    let m = store::appraisal::month(c.conn(), r.month_id).await?.ok_or(AppError::NotFound)?;
    let s = month_settings(&m);
    Ok((m, row_view(r, &s, super::work_orders::today())))
}

// ------------------------------------------------------------------ the month cycle

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct OpenInput {
    /// 2026-11 (not a month still to come)
    #[serde(default)]
    pub month: String,
    /// engineer | dispatcher | warehouse | quality
    #[serde(default)]
    pub role: String,
}

/// Opens a role's month: one row per active user of the role with his KPIs measured now.
/// Opening it again creates nothing and answers the month already there (`created` false).
pub async fn open(db: &Db, actor: &Actor, input: &OpenInput) -> AppResult<(bool, MonthView)> {
    actor.require(Perm::Appraise)?;
    let mut errors = vec![];
    let month = input.month.trim();
    let range = ap::month_range(month);
    match range {
        None => errors.push(field_error("month", "appraisal.error.month")),
        Some((from, _)) if from > super::work_orders::today() => {
            errors.push(field_error("month", "appraisal.error.month_future"))
        }
        _ => {}
    }
    let role = role_of(&input.role);
    if role.is_none() {
        errors.push(field_error("role", "appraisal.error.role"));
    }
    AppError::check(errors)?;
    let (Some((from, to)), Some(role)) = (range, role) else {
        return Err(AppError::Internal(anyhow::anyhow!("validated month without values")));
    };
    // Everyone is measured on a reader first, so the write transaction (the SQLite writer) is
    // held only to store the rows.
    let mut c = db.read().await?;
    if let Some(id) = store::appraisal::find_month(c.conn(), month, role.code()).await? {
        drop(c);
        return Ok((false, self::month(db, actor, id).await?));
    }
    let items = match store::appraisal::scheme(c.conn(), role.code()).await? {
        Some(s) => store::appraisal::items(c.conn(), s.id).await?,
        None => vec![],
    };
    let f = store::users::ListFilter {
        q: None,
        role: Some(role),
        region: None,
        active: Some(true),
        after_id: None,
        limit: 10_000,
    };
    let people = store::users::list(c.conn(), &f).await?;
    let mut errors = vec![];
    if items.is_empty() {
        errors.push(field_error("role", "appraisal.error.no_scheme"));
    }
    if people.is_empty() {
        errors.push(field_error("role", "appraisal.error.nobody"));
    }
    AppError::check(errors)?;
    let settings = load_settings(&mut c.conn()).await?;
    let settings_json = serde_json::to_string(&settings).map_err(anyhow::Error::from)?;
    let mut facts = MonthFacts {
        from,
        to,
        start: super::work_orders::midnight(from),
        end: super::work_orders::midnight(to + TimeDelta::days(1)),
        repeated: None,
        completed: None,
    };
    let mut measured_rows = Vec::with_capacity(people.len());
    for u in &people {
        let measured = measure(&mut c.conn(), &mut facts, u.id, &items).await?;
        let kpi_score = kpi_score_of(&measured);
        let json = serde_json::to_string(&measured).map_err(anyhow::Error::from)?;
        measured_rows.push((u.id, u.display_name.clone(), json, kpi_score));
    }
    drop(c);

    let now = Utc::now();
    let mut tx = db.begin().await?;
    let existing = store::appraisal::find_month(tx.conn(), month, role.code()).await?;
    let inserted = match existing {
        Some(id) => Err(id),
        None => match store::appraisal::insert_month(tx.conn(), month, role.code(), &settings_json, actor.user_id, now)
            .await
        {
            Ok(id) => Ok(id),
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Err(0),
            Err(e) => return Err(e.into()),
        },
    };
    let id = match inserted {
        Ok(id) => id,
        // Opened meanwhile (by another request or instance): answer that month.
        Err(found) => {
            drop(tx);
            let id = if found > 0 {
                found
            } else {
                let mut c = db.read().await?;
                store::appraisal::find_month(c.conn(), month, role.code()).await?.ok_or(AppError::NotFound)?
            };
            return Ok((false, self::month(db, actor, id).await?));
        }
    };
    let mut created = vec![];
    for (user_id, name, json, kpi_score) in &measured_rows {
        let new = store::appraisal::NewRow {
            month_id: id,
            user_id: *user_id,
            user_name: name,
            kpis: json,
            kpi_score: *kpi_score,
        };
        let row_id = store::appraisal::insert_row(tx.conn(), &new).await?;
        created.push(serde_json::json!({"row": row_id, "user_id": user_id, "kpi_score": kpi_score}));
    }
    let after = serde_json::json!({"month": month, "role": role.code(), "settings": settings, "rows": created});
    audit::record::<(), _>(&mut tx, actor, now, "create", "appraisal_month", &id.to_string(), None, Some(&after))
        .await?;
    tx.commit().await?;
    Ok((true, self::month(db, actor, id).await?))
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct SelfInput {
    pub version: i64,
    pub score: Option<f64>,
    #[serde(default)]
    pub comment: String,
}

fn score_error(field: &str, score: Option<f64>, errors: &mut Vec<rules::FieldError>) {
    match score {
        None => errors.push(field_error(field, "error.required")),
        Some(s) if !ap::valid_score(s) => errors.push(field_error(field, "appraisal.error.score")),
        _ => {}
    }
}

async fn open_row(tx: &mut crate::db::Tx, id: i64) -> AppResult<(Row, Month)> {
    let r = store::appraisal::row(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    let m = store::appraisal::month(tx.conn(), r.month_id).await?.ok_or(AppError::NotFound)?;
    Ok((r, m))
}

/// The person's own self-assessment (score 0–100 and a comment), while the month is open.
pub async fn set_self(db: &Db, actor: &Actor, id: i64, input: &SelfInput) -> AppResult<RowView> {
    let mut errors = vec![];
    score_error("score", input.score, &mut errors);
    if input.comment.chars().count() > MAX_TEXT {
        errors.push(field_error("comment", "error.too_long"));
    }
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let (before, m) = open_row(&mut tx, id).await?;
    if actor.user_id != Some(before.user_id) {
        return Err(if is_manager(actor) { AppError::Forbidden } else { AppError::NotFound });
    }
    if m.status != "open" {
        return Err(AppError::Conflict("appraisal.error.closed"));
    }
    AppError::check(errors)?;
    let score = ap::round2(input.score.unwrap_or_default());
    if !store::appraisal::set_self(tx.conn(), id, input.version, score, input.comment.trim(), now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    let after = store::appraisal::row(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record(&mut tx, actor, now, "self_assess", "appraisal_row", &id.to_string(), Some(&before), Some(&after))
        .await?;
    tx.commit().await?;
    Ok(row_view(after, &month_settings(&m), super::work_orders::today()))
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ManagerInput {
    pub version: i64,
    /// Default: the measured KPI score.
    pub score: Option<f64>,
    #[serde(default)]
    pub comment: String,
    /// Needed when the score departs from the measured KPI score by more than the margin.
    #[serde(default)]
    pub reason: String,
}

/// The manager's assessment of a person, while the month is open.
pub async fn set_manager(db: &Db, actor: &Actor, id: i64, input: &ManagerInput) -> AppResult<RowView> {
    actor.require(Perm::Appraise)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let (before, m) = open_row(&mut tx, id).await?;
    if m.status != "open" {
        return Err(AppError::Conflict("appraisal.error.closed"));
    }
    let s = month_settings(&m);
    let mut errors = vec![];
    if actor.user_id == Some(before.user_id) {
        errors.push(field_error("score", "appraisal.error.own"));
    }
    let score = input.score.or(before.kpi_score);
    score_error("score", score, &mut errors);
    for (f, v) in [("comment", &input.comment), ("reason", &input.reason)] {
        if v.chars().count() > MAX_TEXT {
            errors.push(field_error(f, "error.too_long"));
        }
    }
    if let Some(sc) = score
        && ap::valid_score(sc)
        && s.needs_reason(before.kpi_score, sc)
        && input.reason.trim().is_empty()
    {
        errors.push(field_error("reason", "appraisal.error.reason"));
    }
    AppError::check(errors)?;
    let a = ManagerAssessment {
        score: ap::round2(score.unwrap_or_default()),
        comment: input.comment.trim(),
        reason: input.reason.trim(),
        by: actor.user_id,
    };
    if !store::appraisal::set_manager(tx.conn(), id, input.version, &a, now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    let after = store::appraisal::row(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record(&mut tx, actor, now, "manager_assess", "appraisal_row", &id.to_string(), Some(&before), Some(&after))
        .await?;
    tx.commit().await?;
    Ok(row_view(after, &s, super::work_orders::today()))
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CloseInput {
    pub version: i64,
}

/// Closes a month: refused while a self or manager score is missing (each named); then ranks the
/// role's month, marks first and last places, the plans due and three months last in a row.
pub async fn close(db: &Db, actor: &Actor, id: i64, input: &CloseInput) -> AppResult<MonthView> {
    actor.require(Perm::Appraise)?;
    let now = Utc::now();
    let today = super::work_orders::today();
    let mut tx = db.begin().await?;
    let m = store::appraisal::month(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    if m.status != "open" {
        return Err(AppError::Conflict("appraisal.error.closed"));
    }
    if m.version != input.version {
        return Err(AppError::Conflict("error.stale"));
    }
    let rows = store::appraisal::rows(tx.conn(), id).await?;
    let mut errors = vec![];
    for r in &rows {
        let who = [("name", r.user_name.as_str())];
        if r.self_score.is_none() {
            errors.push(rules::FieldError::new(
                format!("rows[{}].self_score", r.id),
                crate::i18n::tr_args("zh-CN", "appraisal.error.self_missing", &who),
                crate::i18n::tr_args("en", "appraisal.error.self_missing", &who),
            ));
        }
        if r.manager_score.is_none() {
            errors.push(rules::FieldError::new(
                format!("rows[{}].manager_score", r.id),
                crate::i18n::tr_args("zh-CN", "appraisal.error.manager_missing", &who),
                crate::i18n::tr_args("en", "appraisal.error.manager_missing", &who),
            ));
        }
    }
    AppError::check(errors)?;
    let s = month_settings(&m);
    let entries: Vec<ap::Entry> = rows
        .iter()
        .map(|r| {
            let (se, ma) = (r.self_score.unwrap_or_default(), r.manager_score.unwrap_or_default());
            ap::Entry {
                user_id: r.user_id,
                final_score: s.final_score(se, ma),
                kpi_score: r.kpi_score,
                manager_score: ma,
            }
        })
        .collect();
    let placed = ap::rank(&entries, s.last_places);
    let prev1 = ap::previous_month(&m.month).unwrap_or_default();
    let prev2 = ap::previous_month(&prev1).unwrap_or_default();
    let mut ranked = vec![];
    let mut plans_due = vec![];
    for p in &placed {
        let Some(r) = rows.iter().find(|r| r.user_id == p.user_id) else { continue };
        let e = entries.iter().find(|e| e.user_id == p.user_id).map(|e| e.final_score).unwrap_or_default();
        let mut before = vec![];
        if p.last {
            for pm in [&prev1, &prev2] {
                before.push(store::appraisal::was_last(tx.conn(), r.user_id, &m.role, pm).await?);
            }
        }
        let streak = ap::last_streak(p.last, &before);
        let transfer = ap::transfer_considered(streak);
        let mut rule = format!("{} · {}", ap::RULE_WEIGHTS, p.rule);
        if transfer {
            rule.push_str(&format!(" · {}", ap::RULE_TRANSFER));
        }
        let v = Ranked {
            final_score: e,
            place: p.rank as i64,
            reward: p.reward,
            last_place: p.last,
            last_streak: streak as i64,
            transfer,
            rank_rule: &rule,
            plan_due: p.last.then(|| ap::plan_due(today, s.plan_days)),
        };
        store::appraisal::set_ranked(tx.conn(), r.id, &v).await?;
        if let Some(due) = v.plan_due {
            plans_due.push(PlanMail {
                row_id: r.id,
                month: m.month.clone(),
                role: m.role.clone(),
                user_id: r.user_id,
                user_name: r.user_name.clone(),
                place: Some(v.place),
                due,
                transfer,
            });
        }
        ranked.push(serde_json::json!({"row": r.id, "user_id": r.user_id, "final": e, "place": p.rank,
            "reward": p.reward, "last": p.last, "streak": streak, "transfer": transfer}));
    }
    if !store::appraisal::close_month(tx.conn(), id, input.version, actor.user_id, now, today).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    // The last places and those who follow them up are told, with the ranking's transaction.
    for p in &plans_due {
        queue_plan_mail(&mut tx, PlanEvent::Due, p, now).await?;
    }
    let after = serde_json::json!({"status": "closed", "ranking": ranked});
    audit::record(&mut tx, actor, now, "close", "appraisal_month", &id.to_string(), Some(&m), Some(&after)).await?;
    tx.commit().await?;
    month(db, actor, id).await
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct PlanInput {
    pub version: i64,
    /// Why he fell behind.
    #[serde(default)]
    pub reason: String,
    /// What he will do about it.
    #[serde(default)]
    pub plan: String,
}

/// A last place's reason and improvement plan (the person himself or a manager).
pub async fn set_plan(db: &Db, actor: &Actor, id: i64, input: &PlanInput) -> AppResult<RowView> {
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let (before, m) = open_row(&mut tx, id).await?;
    if !is_manager(actor) && actor.user_id != Some(before.user_id) {
        return Err(AppError::NotFound);
    }
    if m.status != "closed" || !before.last_place {
        return Err(AppError::Conflict("appraisal.error.no_plan_needed"));
    }
    let mut errors = vec![];
    for (f, v) in [("reason", &input.reason), ("plan", &input.plan)] {
        if v.trim().is_empty() {
            errors.push(field_error(f, "error.required"));
        } else if v.chars().count() > MAX_TEXT {
            errors.push(field_error(f, "error.too_long"));
        }
    }
    AppError::check(errors)?;
    if !store::appraisal::set_plan(
        tx.conn(),
        id,
        input.version,
        input.reason.trim(),
        input.plan.trim(),
        actor.user_id,
        now,
    )
    .await?
    {
        return Err(AppError::Conflict("error.stale"));
    }
    let after = store::appraisal::row(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record(&mut tx, actor, now, "plan", "appraisal_row", &id.to_string(), Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(row_view(after, &month_settings(&m), super::work_orders::today()))
}

// ------------------------------------------------------------------ plan e-mails

/// An improvement plan an e-mail is about.
pub struct PlanMail {
    pub row_id: i64,
    pub month: String,
    pub role: String,
    pub user_id: i64,
    pub user_name: String,
    /// His place (known when the ranking is made).
    pub place: Option<i64>,
    pub due: NaiveDate,
    /// Three months last in a row.
    pub transfer: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanEvent {
    /// The ranking marked him a last place: reason and plan due by a day.
    Due,
    /// The due day passed without them (sent once).
    Overdue,
}

impl PlanEvent {
    pub fn code(self) -> &'static str {
        match self {
            PlanEvent::Due => "appraisal_plan_due",
            PlanEvent::Overdue => "appraisal_plan_overdue",
        }
    }
}

/// One e-mail: (address, subject, body).
pub type Mail = (String, String, String);

/// The e-mails about a plan: to the person himself, and to whoever follows it up — his team
/// leader when his team (an active one) has an active leader other than himself, who knows the
/// person and follows the plan day to day; without one, everyone who may appraise
/// (`Perm::Appraise`: the service and general managers and the administrators). Each in his
/// own language (`users.locale`); those without an e-mail address are skipped; nobody twice.
pub fn plan_mails(
    event: PlanEvent,
    p: &PlanMail,
    person: Option<&store::appraisal::Recipient>,
    followers: &[store::appraisal::Recipient],
) -> Vec<Mail> {
    let link = format!("{}/appraisal/rows/{}", super::notifications::BASE, p.row_id);
    let (due, place) = (p.due.to_string(), p.place.map(|n| n.to_string()).unwrap_or_default());
    let mut seen = HashSet::new();
    let mut out = vec![];
    let everyone = person.into_iter().map(|r| (r, true)).chain(followers.iter().map(|r| (r, false)));
    for (r, own) in everyone {
        let Some(email) = r.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) else { continue };
        if !seen.insert(r.id) {
            continue;
        }
        let locale = crate::i18n::normalize(&r.locale);
        let role = crate::i18n::tr(locale, &format!("role.{}", p.role));
        let args = [
            ("name", p.user_name.as_str()),
            ("month", p.month.as_str()),
            ("role", role.as_str()),
            ("place", place.as_str()),
            ("due", due.as_str()),
            ("link", link.as_str()),
        ];
        let (subject, body) = match (event, own) {
            (PlanEvent::Due, true) => ("appraisal.mail.due_subject", "appraisal.mail.due_self"),
            (PlanEvent::Due, false) => ("appraisal.mail.due_subject_other", "appraisal.mail.due_other"),
            (PlanEvent::Overdue, true) => ("appraisal.mail.overdue_subject", "appraisal.mail.overdue_self"),
            (PlanEvent::Overdue, false) => ("appraisal.mail.overdue_subject_other", "appraisal.mail.overdue_other"),
        };
        let mut body = crate::i18n::tr_args(locale, body, &args);
        if p.transfer {
            body.push('\n');
            body.push_str(&crate::i18n::tr(locale, "appraisal.mail.transfer"));
        }
        out.push((email.to_string(), crate::i18n::tr_args(locale, subject, &args), body));
    }
    out
}

/// Queues the e-mails about a plan inside the caller's transaction; how many.
async fn queue_plan_mail(
    tx: &mut crate::db::Tx,
    event: PlanEvent,
    p: &PlanMail,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let (person, leader) = store::appraisal::person_and_leader(tx.conn(), p.user_id).await?;
    let followers = match leader.filter(|l| l.id != p.user_id) {
        Some(l) => vec![l],
        None => {
            let roles: Vec<&str> = Role::ALL.iter().filter(|r| r.allows(Perm::Appraise)).map(|r| r.code()).collect();
            store::appraisal::users_with_roles(tx.conn(), &roles).await?
        }
    };
    let mails = plan_mails(event, p, person.as_ref(), &followers);
    let msgs: Vec<store::outbox::NewMessage<'_>> = mails
        .iter()
        .map(|(to, subject, body)| store::outbox::NewMessage {
            event: event.code(),
            order_id: None,
            channel: "email",
            recipient: to,
            webhook_id: None,
            subject,
            body,
        })
        .collect();
    if !msgs.is_empty() {
        let backend = tx.backend();
        store::outbox::enqueue(tx.conn(), backend, &msgs, now).await?;
    }
    Ok(msgs.len())
}

/// Reminds, once, of every improvement plan that became overdue (its due day passed as of
/// `now` without it): the same people as when it was due are e-mailed. Run by the hourly job
/// beside the other reminders. Safe to run again and on several instances: a plan is marked
/// reminded in the transaction that queues its e-mails, and only the run that marks it sends.
/// Answers the number of plans reminded.
pub async fn remind_overdue_plans(db: &Db, now: DateTime<Utc>) -> AppResult<u64> {
    let today = super::work_orders::local_day(now);
    let mut reminded = 0;
    loop {
        let batch = {
            let mut c = db.read().await?;
            store::appraisal::plans_to_remind(c.conn(), today, 200).await?
        };
        if batch.is_empty() {
            return Ok(reminded);
        }
        let mut tx = db.begin().await?;
        for d in &batch {
            let Some(due) = d.plan_due else { continue };
            if !store::appraisal::mark_plan_reminded(tx.conn(), d.row_id, now).await? {
                continue;
            }
            let p = PlanMail {
                row_id: d.row_id,
                month: d.month.clone(),
                role: d.role.clone(),
                user_id: d.user_id,
                user_name: d.user_name.clone(),
                place: None,
                due,
                transfer: d.transfer,
            };
            queue_plan_mail(&mut tx, PlanEvent::Overdue, &p, now).await?;
            reminded += 1;
        }
        tx.commit().await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::appraisal::Recipient;

    fn who(id: i64, email: Option<&str>, locale: &str) -> Recipient {
        Recipient { id, display_name: format!("u{id}"), email: email.map(str::to_string), locale: locale.into() }
    }

    #[test]
    fn plan_mails_go_once_to_each_address_in_his_language() {
        let p = PlanMail {
            row_id: 7,
            month: "2026-11".into(),
            role: "engineer".into(),
            user_id: 1,
            user_name: "刘洋".into(),
            place: Some(3),
            due: NaiveDate::from_ymd_opt(2026, 12, 14).unwrap(),
            transfer: true,
        };
        let person = who(1, Some("liu@x.cn"), "zh-CN");
        // The person again among the followers, one without an address, one blank, one English.
        let followers = [
            who(1, Some("liu@x.cn"), "zh-CN"),
            who(2, None, "zh-CN"),
            who(3, Some(" "), "en"),
            who(4, Some("m@x.cn"), "en"),
        ];
        let mails = plan_mails(PlanEvent::Due, &p, Some(&person), &followers);
        let to: Vec<&str> = mails.iter().map(|m| m.0.as_str()).collect();
        assert_eq!(to, ["liu@x.cn", "m@x.cn"]);
        let (own, boss) = (&mails[0], &mails[1]);
        assert!(own.1.contains("2026-12-14") && own.2.starts_with("刘洋，您在 2026-11 售后服务工程师"), "{own:?}");
        assert!(own.2.contains("%{base}/appraisal/rows/7") && own.2.ends_with("按规则考虑调岗。"), "{own:?}");
        assert!(boss.2.starts_with("刘洋 ranked 3 in the Field engineer appraisal of 2026-11"), "{boss:?}");
        assert!(boss.2.ends_with("a transfer is to be considered."), "{boss:?}");
        let overdue = plan_mails(PlanEvent::Overdue, &PlanMail { transfer: false, ..p }, None, &followers);
        assert_eq!(overdue.len(), 2, "without the person's row, the followers");
        assert!(overdue.iter().all(|m| !m.2.contains("调岗") && !m.2.contains("transfer")), "{overdue:?}");
    }
}
