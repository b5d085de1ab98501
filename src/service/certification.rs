//! Certification self-assessment (R10.1, GB/T 27922-2011 or SB/T 10401-2006): the score of a
//! posted assessment, the company's points per indicator, and saved assessments (one per year
//! and scheme) with each indicator's status, evidence and assessor, the special deductions and
//! bonus, and suggestions from the system's own data that the assessor accepts or overrides.
//!
//! The scoring and the suggestion formulas are `rules::certification`; this module feeds them
//! the figures the other capabilities already compute:
//! - 投诉处理 / 客户投诉 from the complaint register of the year (`service::complaints::objective`:
//!   complaints answered, on time, overdue now, and the major ones against the objective);
//! - 顾客关系 / 客户管理 from the year's satisfaction surveys against the target
//!   (`service::care::satisfaction`) and the in-warranty revisit rate (`service::care::revisit_rate`);
//! - 维修 / 维修服务 from the service clocks of the work orders started in the year
//!   (`service::sla::compliance`: clocks kept against clocks broken).
//!
//! A suggestion is never applied by itself: a save applies it only for the indicators the
//! assessor names in `accept_suggestions`, copying its figures into the evidence.
//!
//! Reading needs all regions' figures (managers and quality); saving needs
//! `Perm::ManagePolicies` (general manager, service manager, administrator). Each save is one
//! transaction over the assessment's `version`, with its audit entry.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rules::FieldError;
use rules::certification::{
    self as cert, ComplaintFigures, IndicatorInput, Outcome, RelationFigures, RepairFigures, Scheme, ScoreInput,
    Status, Suggestion,
};
use serde::{Deserialize, Serialize};

use super::work_orders::{midnight, today};
use super::{Actor, Idem, audit};
use crate::db::{Conn, Db};
use crate::domain::Perm;
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::store;
use crate::store::certification::{Assessment, Deduction, Item};

const MAX_EVIDENCE: usize = 4000;
const MAX_NOTES: usize = 4000;
const MAX_REASON: usize = 500;
const MAX_DEDUCTIONS: usize = 100;

/// The calculator: any signed-in user may score an assessment they post (nothing is read or
/// written).
pub fn score(input: &ScoreInput) -> AppResult<Outcome> {
    cert::evaluate(input).map_err(AppError::Validation)
}

fn require_reader(actor: &Actor) -> AppResult<()> {
    if actor.can(Perm::ManagePolicies) || actor.can(Perm::AllRegions) { Ok(()) } else { Err(AppError::Forbidden) }
}

fn scheme_of(field: &str, s: &str) -> AppResult<Scheme> {
    Scheme::parse(s).ok_or_else(|| AppError::one(field, "certification.error.scheme"))
}

// ------------------------------------------------------------------ configured points

/// One indicator's points: the standard's default and the company's.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PointsLine {
    pub group: String,
    pub code: String,
    pub number: String,
    pub name_zh: String,
    pub name_en: String,
    pub default_points: f64,
    pub points: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PointsView {
    pub scheme: String,
    pub lines: Vec<PointsLine>,
    /// 0 while the defaults are in force (nothing saved yet).
    pub version: i64,
    pub updated_at: Option<DateTime<Utc>>,
}

impl PointsView {
    pub fn points_of(&self, code: &str) -> Option<f64> {
        self.lines.iter().find(|l| l.code == code).map(|l| l.points)
    }
}

async fn points_view(c: Conn<'_>, scheme: Scheme) -> AppResult<PointsView> {
    let row = store::certification::points(c, scheme.code()).await?;
    let saved: BTreeMap<String, f64> =
        row.as_ref().and_then(|r| serde_json::from_str(&r.points).ok()).unwrap_or_default();
    let lines = scheme
        .indicators()
        .map(|(g, i)| PointsLine {
            group: g.code.into(),
            code: i.code.into(),
            number: i.number.into(),
            name_zh: i.name_zh.into(),
            name_en: i.name_en.into(),
            default_points: i.points,
            points: saved.get(i.code).copied().unwrap_or(i.points),
        })
        .collect();
    Ok(PointsView {
        scheme: scheme.code().into(),
        lines,
        version: row.as_ref().map(|r| r.version).unwrap_or(0),
        updated_at: row.map(|r| r.updated_at),
    })
}

pub async fn points(db: &Db, actor: &Actor, scheme: &str) -> AppResult<PointsView> {
    require_reader(actor)?;
    let scheme = scheme_of("scheme", scheme)?;
    let mut c = db.read().await?;
    points_view(c.conn(), scheme).await
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct PointsInput {
    /// The version read (0 while the defaults are in force); 409 when someone saved first.
    pub version: i64,
    /// Indicator code → points; indicators left out keep the standard's default. Each group's
    /// indicators must add up to the group's points (40 / 35 / 25).
    pub points: BTreeMap<String, f64>,
}

/// Saves the company's points of a scheme (managers).
pub async fn save_points(db: &Db, actor: &Actor, scheme: &str, input: &PointsInput) -> AppResult<PointsView> {
    actor.require(Perm::ManagePolicies)?;
    let scheme = scheme_of("scheme", scheme)?;
    let list: Vec<(String, f64)> = input.points.iter().map(|(k, v)| (k.clone(), *v)).collect();
    AppError::check(cert::check_points(scheme, &list))?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = points_view(tx.conn(), scheme).await?;
    if before.version != input.version {
        return Err(AppError::Conflict("error.stale"));
    }
    // Only what differs from the standard is kept, so a later change of a default shows.
    let kept: BTreeMap<&str, f64> = scheme
        .indicators()
        .filter_map(|(_, i)| input.points.get(i.code).filter(|p| (**p - i.points).abs() > 1e-9).map(|p| (i.code, *p)))
        .collect();
    let json = serde_json::to_string(&kept).map_err(anyhow::Error::from)?;
    if !store::certification::save_points(tx.conn(), scheme.code(), &json, input.version, actor.user_id, now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    let after = points_view(tx.conn(), scheme).await?;
    audit::record(&mut tx, actor, now, "update", "certification_points", scheme.code(), Some(&before), Some(&after))
        .await?;
    tx.commit().await?;
    Ok(after)
}

// ------------------------------------------------------------------ suggestions

fn year_range(year: i32) -> AppResult<(NaiveDate, NaiveDate)> {
    let bad = || AppError::one("year", "certification.error.year");
    Ok((NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(bad)?, NaiveDate::from_ymd_opt(year, 12, 31).ok_or_else(bad)?))
}

/// The suggestions for a year's assessment under `scheme`, from the figures the complaint,
/// care and SLA services compute (company-wide).
pub async fn suggestions(db: &Db, actor: &Actor, year: i32, scheme: Scheme) -> AppResult<Vec<Suggestion>> {
    require_reader(actor)?;
    let (first, last) = year_range(year)?;
    let mut out = vec![];

    // Complaint register: complaints received in the year (not cancelled), answered and on
    // time, open past a promise now, and the major ones against the yearly objective.
    let o = super::complaints::objective(db, actor, Some(year)).await?;
    let figures = ComplaintFigures {
        year,
        complaints: o.summary.complaints,
        answered: o.summary.answered,
        answered_on_time: o.summary.answered_on_time,
        overdue: o.summary.overdue,
        major: i64::from(o.major),
        major_allowed: i64::from(o.allowed),
    };
    out.push(cert::suggest_complaints(scheme, &figures));

    // Surveys answered in the year against the satisfaction target, and the in-warranty
    // revisits due in the year up to today and done on time.
    let s = super::care::satisfaction(db, actor, first, last, store::care::GroupBy::All).await?;
    let r = super::care::revisit_rate(db, actor, first, last).await?;
    let figures = RelationFigures {
        year,
        responses: s.total.responses as i64,
        satisfied: s.total.satisfied as i64,
        target_pct: s.target,
        revisits_due: r.due,
        revisits_done: r.done_on_time,
    };
    out.extend(cert::suggest_customer_relations(scheme, &figures));

    // Service clocks of the work orders started in the year: kept against broken.
    let f = store::sla::ReportFilter {
        from: Some(midnight(first)),
        to: Some(midnight(last + chrono::TimeDelta::days(1))),
        ..Default::default()
    };
    let c = super::sla::compliance(db, actor, &f, store::sla::GroupBy::Target).await?;
    let figures = RepairFigures { year, clocks: c.total.total, met: c.total.met, breached: c.total.breached };
    out.extend(cert::suggest_repair(scheme, &figures));
    Ok(out)
}

// ------------------------------------------------------------------ reading

/// An indicator of a saved assessment with its place in the tree and its suggestion.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemView {
    pub group: String,
    pub number: String,
    pub name_zh: String,
    pub name_en: String,
    /// What an assessor looks for.
    pub about_zh: String,
    pub about_en: String,
    #[serde(flatten)]
    pub item: Item,
    /// Proposed from the system's own data, when it has figures for this indicator.
    #[schema(value_type = Option<Object>)]
    pub suggestion: Option<Suggestion>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupView {
    pub code: String,
    pub number: String,
    pub name_zh: String,
    pub name_en: String,
    /// The points of its indicators in this assessment.
    pub points: f64,
    pub items: Vec<ItemView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AssessmentDetail {
    pub assessment: Assessment,
    pub scheme_name_zh: String,
    pub scheme_name_en: String,
    /// GB/T 27922 has second-level indicators; SB/T 10401 scores its headings.
    pub two_levels: bool,
    pub groups: Vec<GroupView>,
    pub deductions: Vec<Deduction>,
    /// The score of the indicators assessed so far (none before any applies).
    #[schema(value_type = Option<Object>)]
    pub outcome: Option<Outcome>,
}

impl AssessmentDetail {
    pub fn items(&self) -> impl Iterator<Item = &ItemView> {
        self.groups.iter().flat_map(|g| g.items.iter())
    }
}

#[derive(Serialize)]
struct Snapshot<'a> {
    assessment: &'a Assessment,
    items: &'a [Item],
    deductions: &'a [Deduction],
}

/// The rules' input for the items that have a status.
fn score_input(scheme: Scheme, items: &[Item], deductions: usize, bonus: bool) -> ScoreInput {
    ScoreInput {
        scheme: scheme.code().into(),
        indicators: scheme
            .indicators()
            .filter_map(|(_, i)| items.iter().find(|x| x.code == i.code))
            .filter(|x| x.status.is_some())
            .map(|x| IndicatorInput {
                code: x.code.clone(),
                points: Some(x.points),
                status: x.status.clone(),
                fraction: x.fraction,
            })
            .collect(),
        special_deductions: deductions as i64,
        special_bonus: i64::from(bonus),
    }
}

fn outcome_of(scheme: Scheme, items: &[Item], deductions: usize, bonus: bool) -> Option<Outcome> {
    cert::evaluate(&score_input(scheme, items, deductions, bonus)).ok()
}

fn detail_of(
    a: Assessment,
    items: Vec<Item>,
    deductions: Vec<Deduction>,
    suggestions: &[Suggestion],
) -> AppResult<AssessmentDetail> {
    let scheme = scheme_of("scheme", &a.scheme)?;
    let outcome = outcome_of(scheme, &items, deductions.len(), a.bonus_reason.is_some());
    let groups = scheme
        .groups()
        .iter()
        .map(|g| {
            let items: Vec<ItemView> = g
                .indicators
                .iter()
                .filter_map(|i| {
                    let item = items.iter().find(|x| x.code == i.code)?.clone();
                    Some(ItemView {
                        group: g.code.into(),
                        number: i.number.into(),
                        name_zh: i.name_zh.into(),
                        name_en: i.name_en.into(),
                        about_zh: i.about_zh.into(),
                        about_en: i.about_en.into(),
                        suggestion: suggestions.iter().find(|s| s.code == i.code).cloned(),
                        item,
                    })
                })
                .collect();
            GroupView {
                code: g.code.into(),
                number: g.number.into(),
                name_zh: g.name_zh.into(),
                name_en: g.name_en.into(),
                points: items.iter().map(|i| i.item.points).sum(),
                items,
            }
        })
        .collect();
    Ok(AssessmentDetail {
        scheme_name_zh: scheme.name_zh().into(),
        scheme_name_en: scheme.name_en().into(),
        two_levels: scheme.two_levels(),
        assessment: a,
        groups,
        deductions,
        outcome,
    })
}

pub async fn get(db: &Db, actor: &Actor, id: i64) -> AppResult<AssessmentDetail> {
    require_reader(actor)?;
    let a = {
        let mut c = db.read().await?;
        store::certification::get(c.conn(), id).await?.ok_or(AppError::NotFound)?
    };
    let scheme = scheme_of("scheme", &a.scheme)?;
    let suggestions = suggestions(db, actor, a.year as i32, scheme).await?;
    let mut c = db.read().await?;
    let items = store::certification::items(c.conn(), id).await?;
    let deductions = store::certification::deductions(c.conn(), id).await?;
    detail_of(a, items, deductions, &suggestions)
}

/// Saved assessments, newest year first (one year's when given).
pub async fn list(db: &Db, actor: &Actor, year: Option<i64>) -> AppResult<Vec<Assessment>> {
    require_reader(actor)?;
    let mut c = db.read().await?;
    Ok(store::certification::list(c.conn(), year).await?)
}

// ------------------------------------------------------------------ creating

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewAssessmentInput {
    /// The year assessed (default this year).
    pub year: Option<i64>,
    /// gbt27922-2011 (default) | sbt10401-2006
    #[serde(default)]
    pub scheme: String,
}

fn new_errors(input: &NewAssessmentInput) -> (Vec<FieldError>, Option<Scheme>, i64) {
    let mut errors = vec![];
    let year = input.year.unwrap_or_else(|| i64::from(today().year()));
    if !(2000..=2100).contains(&year) {
        errors.push(field_error("year", "certification.error.year"));
    }
    let scheme = if input.scheme.trim().is_empty() { Some(Scheme::Gbt27922) } else { Scheme::parse(&input.scheme) };
    if scheme.is_none() {
        errors.push(field_error("scheme", "certification.error.scheme"));
    }
    (errors, scheme, year)
}

/// Begins a year's assessment under a scheme, every indicator not yet assessed and worth the
/// company's configured points.
pub async fn create(
    db: &Db,
    actor: &Actor,
    input: &NewAssessmentInput,
    idem: Option<&Idem<'_>>,
) -> AppResult<AssessmentDetail> {
    actor.require(Perm::ManagePolicies)?;
    let (errors, scheme, year) = new_errors(input);
    AppError::check(errors)?;
    let Some(scheme) = scheme else { return Err(AppError::Internal(anyhow::anyhow!("validated without scheme"))) };
    let suggestions = suggestions(db, actor, year as i32, scheme).await?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let points = points_view(tx.conn(), scheme).await?;
    let Some(id) = store::certification::insert(tx.conn(), year, scheme.code(), actor.user_id, now).await? else {
        return Err(AppError::one("year", "certification.error.exists"));
    };
    for l in &points.lines {
        store::certification::insert_item(tx.conn(), id, &l.code, l.points).await?;
    }
    let a = store::certification::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    let items = store::certification::items(tx.conn(), id).await?;
    let snapshot = Snapshot { assessment: &a, items: &items, deductions: &[] };
    audit::record::<(), _>(&mut tx, actor, now, "create", "certification", &id.to_string(), None, Some(&snapshot))
        .await?;
    let detail = detail_of(a, items, vec![], &suggestions)?;
    if let Some(idem) = idem {
        super::remember(&mut tx, actor, idem, 201, &detail).await?;
    }
    tx.commit().await?;
    Ok(detail)
}

// ------------------------------------------------------------------ saving

/// One indicator as assessed; fields left out keep their value.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ItemInput {
    pub code: String,
    /// met | partial | not_met | not_applicable; "" sets it back to not assessed.
    pub status: Option<String>,
    /// Share met, 0..1 (partial only).
    pub fraction: Option<f64>,
    pub evidence: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct DeductionInput {
    /// Which law, own rule or industry requirement was breached, and how.
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct AssessmentUpdate {
    /// The version read (409 when the assessment changed meanwhile).
    pub version: i64,
    #[serde(default)]
    pub items: Vec<ItemInput>,
    /// The special deductions (−1 each) replacing the present list; left out keeps it.
    pub special_deductions: Option<Vec<DeductionInput>>,
    /// The special bonus (+1) and why; "" removes it; left out keeps it.
    pub bonus_reason: Option<String>,
    pub notes: Option<String>,
    /// Indicators whose suggestion from the system's data is taken: its status and fraction,
    /// and its figures added to the evidence.
    #[serde(default)]
    pub accept_suggestions: Vec<String>,
    /// Take the company's present points for every indicator.
    #[serde(default)]
    pub refresh_points: bool,
}

fn fraction_error(field: String) -> FieldError {
    let mut e = field_error("", "certification.error.fraction");
    e.field = field;
    e
}

/// Saves an assessment over its `version` in one transaction.
pub async fn update(
    db: &Db,
    actor: &Actor,
    id: i64,
    input: &AssessmentUpdate,
    locale: &str,
) -> AppResult<AssessmentDetail> {
    actor.require(Perm::ManagePolicies)?;
    let current = {
        let mut c = db.read().await?;
        store::certification::get(c.conn(), id).await?.ok_or(AppError::NotFound)?
    };
    let scheme = scheme_of("scheme", &current.scheme)?;
    let suggestions = suggestions(db, actor, current.year as i32, scheme).await?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = store::certification::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    let before_items = store::certification::items(tx.conn(), id).await?;
    let before_deductions = store::certification::deductions(tx.conn(), id).await?;
    let points = if input.refresh_points { Some(points_view(tx.conn(), scheme).await?) } else { None };

    let mut errors = vec![];
    let mut items = before_items.clone();
    let mut touched: Vec<String> = vec![];
    for (n, i) in input.items.iter().enumerate() {
        let f = |name: &str| format!("items[{n}].{name}");
        let Some((_, ind)) = scheme.find(&i.code) else {
            let mut e = field_error("", "certification.error.code");
            e.field = f("code");
            errors.push(e);
            continue;
        };
        if touched.iter().any(|c| c == ind.code) {
            let mut e = field_error("", "certification.error.duplicate");
            e.field = f("code");
            errors.push(e);
            continue;
        }
        touched.push(ind.code.into());
        let Some(item) = items.iter_mut().find(|x| x.code == ind.code) else { continue };
        if let Some(s) = i.status.as_deref().map(str::trim) {
            if s.is_empty() {
                item.status = None;
            } else if let Some(st) = Status::parse(s) {
                item.status = Some(st.code().into());
            } else {
                let mut e = field_error("", "certification.error.status");
                e.field = f("status");
                errors.push(e);
            }
        }
        match i.fraction {
            Some(x) if !x.is_finite() || !(0.0..=1.0).contains(&x) => errors.push(fraction_error(f("fraction"))),
            Some(x) => item.fraction = Some(x),
            None => {}
        }
        if item.status.as_deref() != Some("partial") {
            item.fraction = None;
        } else if item.fraction.is_none() {
            let mut e = field_error("", "certification.error.fraction_required");
            e.field = f("fraction");
            errors.push(e);
        }
        if let Some(ev) = &i.evidence {
            item.evidence = crate::domain::archive::optional(&f("evidence"), ev, MAX_EVIDENCE, &mut errors);
        }
    }
    for (n, code) in input.accept_suggestions.iter().enumerate() {
        let code = scheme.find(code).map(|(_, i)| i.code).unwrap_or_default();
        match (suggestions.iter().find(|s| s.code == code), items.iter_mut().find(|x| x.code == code)) {
            (Some(s), Some(item)) => {
                item.status = Some(s.status.code().into());
                item.fraction = s.fraction;
                let figures = if locale.starts_with("en") { &s.evidence_en } else { &s.evidence_zh };
                if !item.evidence.contains(figures.as_str()) {
                    item.evidence = if item.evidence.is_empty() {
                        figures.clone()
                    } else {
                        format!("{}\n{figures}", item.evidence)
                    };
                }
            }
            _ => {
                let mut e = field_error("", "certification.error.no_suggestion");
                e.field = format!("accept_suggestions[{n}]");
                errors.push(e);
            }
        }
    }
    if let Some(p) = &points {
        for item in items.iter_mut() {
            if let Some(v) = p.points_of(&item.code) {
                item.points = v;
            }
        }
    }
    let deductions: Vec<Deduction> = match &input.special_deductions {
        None => before_deductions.clone(),
        Some(list) => {
            if list.len() > MAX_DEDUCTIONS {
                errors.push(field_error("special_deductions", "certification.error.too_many"));
            }
            list.iter()
                .enumerate()
                .map(|(n, d)| {
                    let field = format!("special_deductions[{n}].reason");
                    let reason = crate::domain::archive::required(&field, &d.reason, MAX_REASON, &mut errors);
                    // An unchanged reason keeps who recorded it and when.
                    match before_deductions.get(n).filter(|b| b.reason == reason) {
                        Some(b) => b.clone(),
                        None => {
                            Deduction { reason, recorded_by: actor.user_id, recorded_by_name: None, recorded_at: now }
                        }
                    }
                })
                .collect()
        }
    };
    let bonus_reason = match &input.bonus_reason {
        None => before.bonus_reason.clone(),
        Some(r) => {
            Some(crate::domain::archive::optional("bonus_reason", r, MAX_REASON, &mut errors)).filter(|r| !r.is_empty())
        }
    };
    let notes = match &input.notes {
        None => before.notes.clone(),
        Some(n) => crate::domain::archive::optional("notes", n, MAX_NOTES, &mut errors),
    };
    AppError::check(errors)?;
    if before.version != input.version {
        return Err(AppError::Conflict("error.stale"));
    }
    let outcome = outcome_of(scheme, &items, deductions.len(), bonus_reason.is_some());
    let changes = store::certification::Changes {
        id,
        version: input.version,
        notes: &notes,
        bonus_reason: bonus_reason.as_deref(),
        score: outcome.as_ref().map(|o| o.score),
        level: outcome.as_ref().map(|o| o.level.code()),
        updated_by: actor.user_id,
    };
    // The assessment's row first: a concurrent save waits here and then finds the version gone.
    if !store::certification::update(tx.conn(), &changes, now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    for item in items.iter_mut() {
        let old = before_items.iter().find(|b| b.code == item.code);
        let changed = old.is_none_or(|b| {
            b.status != item.status
                || b.fraction != item.fraction
                || b.evidence != item.evidence
                || b.points != item.points
        });
        if changed {
            item.assessed_by = actor.user_id;
            item.assessed_at = Some(now);
            store::certification::update_item(tx.conn(), id, item).await?;
        }
    }
    if input.special_deductions.is_some() {
        store::certification::set_deductions(tx.conn(), id, &deductions).await?;
    }
    let after = store::certification::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    let after_items = store::certification::items(tx.conn(), id).await?;
    let after_deductions = store::certification::deductions(tx.conn(), id).await?;
    let b = Snapshot { assessment: &before, items: &before_items, deductions: &before_deductions };
    let a = Snapshot { assessment: &after, items: &after_items, deductions: &after_deductions };
    audit::record(&mut tx, actor, now, "update", "certification", &id.to_string(), Some(&b), Some(&a)).await?;
    let detail = detail_of(after, after_items, after_deductions, &suggestions)?;
    tx.commit().await?;
    Ok(detail)
}
