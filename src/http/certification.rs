//! Certification self-assessment (R10.1): the calculator of the contract, the saved
//! assessments (list, the indicator tree with its statuses, evidence and suggestions, the
//! printable report) and the company's points per indicator, as pages and JSON API.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Datelike;
use rules::FieldError;
use rules::certification::{IndicatorInput, Outcome, Scheme, ScoreInput, Suggestion};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::api::{ApiJson, ApiQuery};
use super::web::{FormData, FormErrors, Layout, render, render_status};
use super::{AppState, Ctx};
use crate::error::{AppError, AppResult};
use crate::service::certification::{
    self as svc, AssessmentDetail, AssessmentUpdate, DeductionInput, GroupView, ItemInput, ItemView,
    NewAssessmentInput, PointsInput, PointsLine, PointsView,
};
use crate::store::certification::{Assessment, Deduction, Item};

#[derive(OpenApi)]
#[openapi(
    paths(api_score, api_schemes, api_list, api_create, api_get, api_update, api_points, api_save_points),
    components(schemas(ScoreRequestDoc, IndicatorDoc, OutcomeDoc, SchemeDoc, Assessment, Item, Deduction, ItemView,
        GroupView, AssessmentDetail, NewAssessmentInput, AssessmentUpdate, ItemInput, DeductionInput, PointsInput,
        PointsView, PointsLine)),
    tags((name = "certification", description = "GB/T 27922-2011 / SB/T 10401-2006 self-assessment (R10.1)"))
)]
pub struct ApiDoc;

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/certification/score", post(api_score))
        .route("/certification/schemes", get(api_schemes))
        .route("/certification/assessments", get(api_list).post(api_create))
        .route("/certification/assessments/{id}", get(api_get).put(api_update))
        .route("/certification/points/{scheme}", get(api_points).put(api_save_points))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/certification", get(list_page).post(create_submit))
        .route("/certification/points", get(points_page).post(points_submit))
        .route("/certification/{id}", get(show_page).post(show_submit))
        .route("/certification/{id}/print", get(print_page))
}

// ================================================================ API

/// The score request of the contract (for the OpenAPI document; the rules read the JSON).
#[allow(dead_code)]
#[derive(ToSchema)]
struct ScoreRequestDoc {
    /// gbt27922-2011 | sbt10401-2006
    scheme: String,
    /// The indicators assessed; those left out are not counted and are named in `not_assessed`.
    indicators: Vec<IndicatorDoc>,
    /// −1 each; 5 or more: not passed.
    special_deductions: i64,
    /// 0 or 1: +1.
    special_bonus: i64,
}

#[allow(dead_code)]
#[derive(ToSchema)]
struct IndicatorDoc {
    /// The indicator's code (`complaints`), number (`3.2`) or name (`投诉处理`); see
    /// `/api/v1/certification/schemes`.
    code: String,
    /// Overrides the configured points for this call; 0–100.
    points: Option<f64>,
    /// met | partial | not_met | not_applicable
    status: String,
    /// Share met, 0..1; required when partial.
    fraction: Option<f64>,
}

/// The score and level, the rule applied and what is missing.
#[allow(dead_code)]
#[derive(ToSchema)]
struct OutcomeDoc {
    scheme: String,
    /// The rule applied (English; `rule_zh` in Chinese).
    rule: String,
    rule_zh: String,
    /// 0–100, two decimals, after the special deductions and bonus.
    score: f64,
    base_score: f64,
    /// fail | pass | three_star | four_star | five_star (SB/T 10401: fail | pass).
    level: String,
    passed: bool,
    earned: f64,
    applicable: f64,
    assessed: f64,
    special_deductions: u32,
    special_bonus: u32,
    /// Per top-level indicator (heading): applicable, earned, percent.
    #[schema(value_type = Vec<Object>)]
    groups: Vec<()>,
    /// Indicators not met or partly met: code, number, group, names, status, points, fraction, lost.
    #[schema(value_type = Vec<Object>)]
    missing: Vec<()>,
    /// Codes of indicators not listed.
    not_assessed: Vec<String>,
    reasons_zh: Vec<String>,
    reasons_en: Vec<String>,
}

/// Scores a posted assessment: each indicator met / partial (with its fraction) / not met /
/// not applicable; the result names the rule applied and the missing items. 422 names each
/// bad field.
#[utoipa::path(post, path = "/api/v1/certification/score", request_body = ScoreRequestDoc,
    responses((status = 200, body = OutcomeDoc), (status = 401), (status = 422)), tag = "certification")]
async fn api_score(ctx: Ctx, ApiJson(input): ApiJson<ScoreInput>) -> AppResult<axum::Json<Outcome>> {
    ctx.user()?;
    Ok(axum::Json(svc::score(&input)?))
}

/// A scheme's tree with the standard's default points.
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
struct SchemeDoc {
    code: String,
    name_zh: String,
    name_en: String,
    rule_zh: String,
    rule_en: String,
    two_levels: bool,
    /// Groups (code, number, names, points) with their indicators (code, number, names,
    /// points, about_zh, about_en).
    #[schema(value_type = Vec<Object>)]
    groups: serde_json::Value,
}

/// The schemes offered and their indicator trees with the default points.
#[utoipa::path(get, path = "/api/v1/certification/schemes",
    responses((status = 200, body = [SchemeDoc]), (status = 401)), tag = "certification")]
async fn api_schemes(ctx: Ctx) -> AppResult<axum::Json<Vec<SchemeDoc>>> {
    ctx.user()?;
    let list = Scheme::ALL
        .iter()
        .map(|s| SchemeDoc {
            code: s.code().into(),
            name_zh: s.name_zh().into(),
            name_en: s.name_en().into(),
            rule_zh: s.rule("zh-CN").into(),
            rule_en: s.rule("en").into(),
            two_levels: s.two_levels(),
            groups: serde_json::to_value(s.groups()).unwrap_or_default(),
        })
        .collect();
    Ok(axum::Json(list))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// One year's assessments only.
    year: Option<i64>,
}

/// Saved assessments, newest year first (managers and quality).
#[utoipa::path(get, path = "/api/v1/certification/assessments", params(ListParams),
    responses((status = 200, body = [Assessment]), (status = 403)), tag = "certification")]
async fn api_list(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<ListParams>,
) -> AppResult<axum::Json<Vec<Assessment>>> {
    Ok(axum::Json(svc::list(&st.db, &ctx.actor()?, p.year).await?))
}

/// Begins a year's assessment under a scheme (managers); 422 on `year` when it exists.
#[utoipa::path(post, path = "/api/v1/certification/assessments", request_body = NewAssessmentInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first answer")),
    responses((status = 201, body = AssessmentDetail), (status = 403), (status = 422)), tag = "certification")]
async fn api_create(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<NewAssessmentInput>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    super::api::create_once(&st, &actor, &headers, "certification.create", async |idem| {
        svc::create(&st.db, &actor, &input, idem).await
    })
    .await
}

/// An assessment with its indicators, suggestions, deductions and outcome.
#[utoipa::path(get, path = "/api/v1/certification/assessments/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = AssessmentDetail), (status = 403), (status = 404)), tag = "certification")]
async fn api_get(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<axum::Json<AssessmentDetail>> {
    Ok(axum::Json(svc::get(&st.db, &ctx.actor()?, id).await?))
}

/// Saves an assessment over its `version` (managers): indicators' statuses, fractions and
/// evidence, suggestions accepted, special deductions and bonus, notes. 409 when stale.
#[utoipa::path(put, path = "/api/v1/certification/assessments/{id}", params(("id" = i64, Path)),
    request_body = AssessmentUpdate,
    responses((status = 200, body = AssessmentDetail), (status = 403), (status = 404), (status = 409), (status = 422)),
    tag = "certification")]
async fn api_update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<AssessmentUpdate>,
) -> AppResult<axum::Json<AssessmentDetail>> {
    Ok(axum::Json(svc::update(&st.db, &ctx.actor()?, id, &input, ctx.locale).await?))
}

/// The company's points per indicator of a scheme.
#[utoipa::path(get, path = "/api/v1/certification/points/{scheme}", params(("scheme" = String, Path)),
    responses((status = 200, body = PointsView), (status = 403), (status = 422)), tag = "certification")]
async fn api_points(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(scheme): Path<String>,
) -> AppResult<axum::Json<PointsView>> {
    Ok(axum::Json(svc::points(&st.db, &ctx.actor()?, &scheme).await?))
}

/// Saves the company's points (managers); each group's must add up to its points. 409 when stale.
#[utoipa::path(put, path = "/api/v1/certification/points/{scheme}", params(("scheme" = String, Path)),
    request_body = PointsInput,
    responses((status = 200, body = PointsView), (status = 403), (status = 409), (status = 422)), tag = "certification")]
async fn api_save_points(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(scheme): Path<String>,
    ApiJson(input): ApiJson<PointsInput>,
) -> AppResult<axum::Json<PointsView>> {
    Ok(axum::Json(svc::save_points(&st.db, &ctx.actor()?, &scheme, &input).await?))
}

// ================================================================ pages

/// Names and numbers the certification pages show, in their language.
pub trait CertLabels {
    fn layout(&self) -> &Layout;

    fn en(&self) -> bool {
        self.layout().locale == "en"
    }
    fn status_label(&self, s: &str) -> String {
        self.layout().t(&format!("certification.status.{s}"))
    }
    fn level_label(&self, s: &str) -> String {
        self.layout().t(&format!("certification.level.{s}"))
    }
    fn opt_level(&self, s: &Option<String>) -> String {
        s.as_deref().map(|s| self.level_label(s)).unwrap_or_else(|| "—".into())
    }
    fn scheme_label(&self, code: &str) -> String {
        Scheme::parse(code).map(|s| s.name(self.layout().locale).to_string()).unwrap_or_else(|| code.into())
    }
    fn num(&self, v: &f64) -> String {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
    fn opt_num(&self, v: &Option<f64>) -> String {
        v.map(|v| self.num(&v)).unwrap_or_else(|| "—".into())
    }
    fn pct(&self, v: &Option<f64>) -> String {
        v.map(|v| format!("{} %", self.num(&v))).unwrap_or_else(|| "—".into())
    }
    fn name(&self, zh: &str, en: &str) -> String {
        if self.en() { en.into() } else { zh.into() }
    }
    fn suggestion_text(&self, s: &Suggestion) -> String {
        let mut t = self.status_label(s.status.code());
        if let Some(f) = s.fraction {
            t.push_str(&format!(" {}", self.num(&f)));
        }
        t
    }
    fn evidence_of(&self, s: &Suggestion) -> String {
        if self.en() { s.evidence_en.clone() } else { s.evidence_zh.clone() }
    }
    fn rule(&self, o: &Outcome) -> String {
        if self.en() { o.rule.into() } else { o.rule_zh.into() }
    }
    fn reasons(&self, o: &Outcome) -> Vec<String> {
        if self.en() { o.reasons_en.clone() } else { o.reasons_zh.clone() }
    }
    fn not_assessed_hint(&self, n: &usize) -> String {
        self.layout().t_name("certification.not_assessed_hint", &n.to_string())
    }
}

#[derive(Template)]
#[template(path = "certification/list.html")]
struct ListPage {
    l: Layout,
    items: Vec<Assessment>,
    can_edit: bool,
    schemes: Vec<(&'static str, String)>,
    form: FormData,
    errors: FormErrors,
}
impl CertLabels for ListPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

fn schemes(locale: &str) -> Vec<(&'static str, String)> {
    Scheme::ALL.iter().map(|s| (s.code(), s.name(locale).to_string())).collect()
}

async fn list_view(st: &AppState, ctx: &Ctx, mut form: FormData, errors: Vec<FieldError>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let items = svc::list(&st.db, &actor, None).await?;
    if form.get("idem").is_empty() {
        form.set("idem", &crate::service::new_secret().0[..32]);
    }
    if form.get("year").is_empty() {
        form.set("year", &crate::service::work_orders::today().year().to_string());
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ListPage {
        l: Layout::new(ctx, "certification.title"),
        items,
        can_edit: actor.can(crate::domain::Perm::ManagePolicies),
        schemes: schemes(ctx.locale),
        form,
        errors: FormErrors::new(errors, ctx.locale),
    };
    Ok(render_status(status, &page))
}

async fn list_page(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    list_view(&st, &ctx, FormData::default(), vec![]).await
}

async fn create_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let actor = ctx.actor()?;
    let year = form.get("year").trim().parse::<i64>().ok();
    if year.is_none() {
        return list_view(&st, &ctx, form, vec![crate::i18n::field_error("year", "certification.error.year")]).await;
    }
    let input = NewAssessmentInput { year, scheme: form.get("scheme") };
    let key = form.get("idem");
    let (idem, done) = super::api::page_idem(&st, &actor, &key, "certification.create.page", "/assessment/id").await?;
    if let Some(id) = done {
        return Ok(Redirect::to(&format!("/certification/{id}")).into_response());
    }
    match svc::create(&st.db, &actor, &input, idem.as_ref()).await {
        Ok(d) => Ok(Redirect::to(&format!("/certification/{}", d.assessment.id)).into_response()),
        Err(AppError::Validation(list)) => list_view(&st, &ctx, form, list).await,
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "certification/show.html")]
struct ShowPage {
    l: Layout,
    d: AssessmentDetail,
    /// The outcome shown: the saved one, or the preview of what was typed.
    outcome: Option<Outcome>,
    preview: bool,
    can_edit: bool,
    /// What was typed when a save failed or was previewed; empty otherwise.
    form: FormData,
    typed: bool,
    errors: FormErrors,
    statuses: Vec<&'static str>,
    levels: Vec<&'static str>,
}
impl CertLabels for ShowPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl ShowPage {
    fn status_of(&self, i: &ItemView) -> String {
        if self.typed {
            self.form.get(&format!("status.{}", i.item.code))
        } else {
            i.item.status.clone().unwrap_or_default()
        }
    }
    fn fraction_of(&self, i: &ItemView) -> String {
        if self.typed {
            self.form.get(&format!("fraction.{}", i.item.code))
        } else {
            i.item.fraction.map(|f| self.num(&f)).unwrap_or_default()
        }
    }
    fn evidence_of_item(&self, i: &ItemView) -> String {
        if self.typed { self.form.get(&format!("evidence.{}", i.item.code)) } else { i.item.evidence.clone() }
    }
    fn item_error(&self, i: &ItemView) -> String {
        let n = self.d.items().position(|x| x.item.code == i.item.code).unwrap_or(usize::MAX);
        ["code", "status", "fraction", "evidence"]
            .iter()
            .map(|f| self.errors.get(&format!("items[{n}].{f}")))
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("；")
    }
    fn deductions_text(&self) -> String {
        if self.typed {
            self.form.get("deductions")
        } else {
            self.d.deductions.iter().map(|d| d.reason.as_str()).collect::<Vec<_>>().join("\n")
        }
    }
    fn deduction_errors(&self) -> String {
        let mut out = vec![self.errors.get("special_deductions")];
        for n in 0..100 {
            out.push(self.errors.get(&format!("special_deductions[{n}].reason")));
        }
        out.into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join("；")
    }
    fn bonus_text(&self) -> String {
        if self.typed {
            self.form.get("bonus_reason")
        } else {
            self.d.assessment.bonus_reason.clone().unwrap_or_default()
        }
    }
    fn notes_text(&self) -> String {
        if self.typed { self.form.get("notes") } else { self.d.assessment.notes.clone() }
    }
    fn unassessed(&self) -> usize {
        self.d.items().filter(|i| i.item.status.is_none()).count()
    }
    fn who(&self, i: &ItemView) -> String {
        match (&i.item.assessed_by_name, &i.item.assessed_at) {
            (Some(n), Some(t)) => format!("{n} · {}", self.l.time(t)),
            (None, Some(t)) => self.l.time(t),
            _ => String::new(),
        }
    }
}

async fn show_view(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    form: Option<FormData>,
    errors: Vec<FieldError>,
    preview: Option<Outcome>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let d = svc::get(&st.db, &actor, id).await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ShowPage {
        l: Layout::new(ctx, "certification.title"),
        outcome: if preview.is_some() { preview.clone() } else { d.outcome.clone() },
        preview: preview.is_some(),
        d,
        can_edit: actor.can(crate::domain::Perm::ManagePolicies),
        typed: form.is_some(),
        form: form.unwrap_or_default(),
        errors: FormErrors::new(errors, ctx.locale),
        statuses: rules::certification::Status::ALL.iter().map(|s| s.code()).collect(),
        levels: rules::certification::Level::ALL.iter().map(|s| s.code()).collect(),
    };
    Ok(render_status(status, &page))
}

async fn show_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    show_view(&st, &ctx, id, None, vec![], None).await
}

/// The reasons of the deductions box, one per non-empty line.
fn deduction_lines(form: &FormData) -> Vec<DeductionInput> {
    form.get("deductions")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| DeductionInput { reason: l.to_string() })
        .collect()
}

/// The save form: `op` is save or preview; an `accept` button names the indicator whose
/// suggestion is taken (and saves).
async fn show_submit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let actor = ctx.actor()?;
    let current = svc::get(&st.db, &actor, id).await?;
    let scheme = Scheme::parse(&current.assessment.scheme).unwrap_or(Scheme::Gbt27922);
    let mut errors = vec![];
    let items: Vec<ItemInput> = current
        .items()
        .enumerate()
        .map(|(n, i)| {
            let code = &i.item.code;
            let raw = form.get(&format!("fraction.{code}"));
            let fraction = match raw.trim() {
                "" => None,
                t => t.parse::<f64>().ok().or_else(|| {
                    let mut e = crate::i18n::field_error("", "certification.error.fraction");
                    e.field = format!("items[{n}].fraction");
                    errors.push(e);
                    None
                }),
            };
            ItemInput {
                code: code.clone(),
                status: Some(form.get(&format!("status.{code}"))),
                fraction,
                evidence: Some(form.get(&format!("evidence.{code}"))),
            }
        })
        .collect();
    let accept = form.get("accept");
    if form.get("op") == "preview" && accept.is_empty() {
        // Scored as typed, without saving: the same rules the save uses.
        let input = ScoreInput {
            scheme: scheme.code().into(),
            indicators: items
                .iter()
                .zip(current.items())
                .filter(|(i, _)| i.status.as_deref().is_some_and(|s| !s.trim().is_empty()))
                .map(|(i, v)| IndicatorInput {
                    code: i.code.clone(),
                    points: Some(v.item.points),
                    status: i.status.clone(),
                    fraction: i.fraction,
                })
                .collect(),
            special_deductions: deduction_lines(&form).len() as i64,
            special_bonus: i64::from(!form.get("bonus_reason").trim().is_empty()),
        };
        let outcome = svc::score(&input).ok();
        return show_view(&st, &ctx, id, Some(form), errors, outcome).await;
    }
    let input = AssessmentUpdate {
        version: form.get("version").trim().parse().unwrap_or(0),
        items,
        special_deductions: Some(deduction_lines(&form)),
        bonus_reason: Some(form.get("bonus_reason")),
        notes: Some(form.get("notes")),
        accept_suggestions: if accept.is_empty() { vec![] } else { vec![accept] },
        refresh_points: form.get("refresh_points") == "1",
    };
    let result = if errors.is_empty() {
        svc::update(&st.db, &actor, id, &input, ctx.locale).await
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/certification/{id}")).into_response()),
        Err(AppError::Validation(list)) => show_view(&st, &ctx, id, Some(form), list, None).await,
        Err(AppError::Conflict(key)) => {
            show_view(&st, &ctx, id, Some(form), vec![crate::i18n::field_error("version", key)], None).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "certification/print.html")]
struct PrintPage {
    l: Layout,
    d: AssessmentDetail,
    company: String,
    printed_at: String,
}
impl CertLabels for PrintPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

async fn print_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let d = svc::get(&st.db, &ctx.actor()?, id).await?;
    let company = {
        let mut c = st.db.read().await?;
        crate::store::settings::get(c.conn(), "company_name").await?.unwrap_or_else(|| ctx.t("app.name"))
    };
    let l = Layout::new(&ctx, "certification.title");
    let printed_at = l.time(&chrono::Utc::now());
    Ok(render(&PrintPage { l, d, company, printed_at }))
}

#[derive(Template)]
#[template(path = "certification/points.html")]
struct PointsPage {
    l: Layout,
    view: PointsView,
    scheme: String,
    two_levels: bool,
    can_edit: bool,
    schemes: Vec<(&'static str, String)>,
    form: Option<FormData>,
    errors: FormErrors,
}
impl CertLabels for PointsPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl PointsPage {
    /// Whether line `n` is the first of its group.
    fn starts_group(&self, n: &usize) -> bool {
        *n == 0 || self.view.lines.get(n - 1).map(|l| &l.group) != self.view.lines.get(*n).map(|l| &l.group)
    }
    fn value(&self, line: &PointsLine) -> String {
        match &self.form {
            Some(f) => f.get(&format!("points.{}", line.code)),
            None => self.num(&line.points),
        }
    }
    fn group_name(&self, code: &str) -> String {
        Scheme::parse(&self.scheme)
            .and_then(|s| s.groups().iter().find(|g| g.code == code))
            .map(|g| format!("{} {} ({})", g.number, g.name(self.l.locale), self.num(&g.points)))
            .unwrap_or_default()
    }
    fn error_of(&self, line: &PointsLine) -> String {
        [self.errors.get(&format!("points.{}", line.code)), self.errors.get(&format!("points.{}", line.group))]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("；")
    }
}

#[derive(Debug, Default, Deserialize)]
struct PointsQuery {
    #[serde(default)]
    scheme: String,
}

async fn points_view(
    st: &AppState,
    ctx: &Ctx,
    scheme: &str,
    form: Option<FormData>,
    errors: Vec<FieldError>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let scheme = if scheme.is_empty() { Scheme::Gbt27922.code() } else { scheme };
    let view = svc::points(&st.db, &actor, scheme).await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = PointsPage {
        l: Layout::new(ctx, "certification.points_title"),
        two_levels: Scheme::parse(scheme).is_some_and(|s| s.two_levels()),
        scheme: view.scheme.clone(),
        view,
        can_edit: actor.can(crate::domain::Perm::ManagePolicies),
        schemes: schemes(ctx.locale),
        form,
        errors: FormErrors::new(errors, ctx.locale),
    };
    Ok(render_status(status, &page))
}

async fn points_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<PointsQuery>) -> AppResult<Response> {
    points_view(&st, &ctx, &q.scheme, None, vec![]).await
}

async fn points_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let scheme = form.get("scheme");
    let s = Scheme::parse(&scheme).ok_or_else(|| AppError::one("scheme", "certification.error.scheme"))?;
    let mut errors = vec![];
    let mut points = std::collections::BTreeMap::new();
    for (_, i) in s.indicators() {
        let field = format!("points.{}", i.code);
        match form.get(&field).trim().parse::<f64>() {
            Ok(v) => {
                points.insert(i.code.to_string(), v);
            }
            Err(_) => {
                let mut e = crate::i18n::field_error("", "error.bad_parameter");
                e.field = field;
                errors.push(e);
            }
        }
    }
    let input = PointsInput { version: form.get("version").trim().parse().unwrap_or(0), points };
    let result = if errors.is_empty() {
        svc::save_points(&st.db, &ctx.actor()?, &scheme, &input).await
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/certification/points?scheme={scheme}")).into_response()),
        Err(AppError::Validation(list)) => points_view(&st, &ctx, &scheme, Some(form), list).await,
        Err(AppError::Conflict(key)) => {
            points_view(&st, &ctx, &scheme, Some(form), vec![crate::i18n::field_error("version", key)]).await
        }
        Err(e) => Err(e),
    }
}
