//! Monthly staff appraisal (R9.4): the months, a month's ranking table with the manager's
//! forms, a person's own page (self-assessment, works on a phone), the last places' plans, the
//! schemes and settings, the ranking as .xlsx/.csv, and the JSON API.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use rules::FieldError;
use rules::appraisal::{Kpi, ScoreRule};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use super::api::{ApiJson, ApiQuery};
use super::archive::{download, export_format};
use super::web::{FormData, FormErrors, Layout, render_status};
use super::{AppState, Ctx};
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::service::appraisal::{
    self as svc, CloseInput, ManagerInput, Measured, MonthView, OpenInput, Overview, PlanInput, PlanView, RowView,
    SchemeInput, SchemeView, SelfInput, SettingsInput, SettingsView,
};
use crate::store::appraisal::{Item, Month, PlanDue, Row, Scheme};
use crate::tabular::{Cell, Table};

#[derive(OpenApi)]
#[openapi(
    paths(api_overview, api_open, api_month, api_close, api_export, api_row, api_self, api_manager, api_plan,
        api_schemes, api_save_scheme, api_settings, api_save_settings),
    components(schemas(Overview, PlanView, PlanDue, Month, MonthView, SettingsView, RowView, Row, Measured, OpenInput,
        SelfInput, ManagerInput, CloseInput, PlanInput, SchemeView, Scheme, Item, SchemeInput, SettingsInput)),
    tags((name = "appraisal", description = "Monthly staff appraisal: measured KPIs, self 30 % and manager 70 %, ranking, improvement plans (R9.4)"))
)]
pub struct ApiDoc;

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/appraisal", get(api_overview))
        .route("/appraisal/months", post(api_open))
        .route("/appraisal/months/{id}", get(api_month))
        .route("/appraisal/months/{id}/close", post(api_close))
        .route("/appraisal/months/{id}/export", get(api_export))
        .route("/appraisal/rows/{id}", get(api_row))
        .route("/appraisal/rows/{id}/self", put(api_self))
        .route("/appraisal/rows/{id}/manager", put(api_manager))
        .route("/appraisal/rows/{id}/plan", put(api_plan))
        .route("/appraisal/schemes", get(api_schemes))
        .route("/appraisal/schemes/{role}", put(api_save_scheme))
        .route("/appraisal/settings", get(api_settings).put(api_save_settings))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/appraisal", get(overview_page).post(open_submit))
        .route("/appraisal/schemes", get(schemes_page).post(settings_submit))
        .route("/appraisal/schemes/{role}", post(scheme_submit))
        .route("/appraisal/{id}", get(month_page))
        .route("/appraisal/{id}/close", post(close_submit))
        .route("/appraisal/{id}/export", get(export_page))
        .route("/appraisal/rows/{id}", get(row_page))
        .route("/appraisal/rows/{id}/self", post(self_submit))
        .route("/appraisal/rows/{id}/manager", post(manager_submit))
        .route("/appraisal/rows/{id}/plan", post(plan_submit))
}

// ================================================================ API

/// The months (all for managers, one's own otherwise) and the improvement plans not in yet.
#[utoipa::path(get, path = "/api/v1/appraisal", responses((status = 200, body = Overview)), tag = "appraisal")]
async fn api_overview(State(st): State<AppState>, ctx: Ctx) -> AppResult<axum::Json<Overview>> {
    Ok(axum::Json(svc::overview(&st.db, &ctx.actor()?).await?))
}

/// Opens a role's month (201) with every active user's KPIs measured; opening it again answers
/// the month already there (200) and creates nothing.
#[utoipa::path(post, path = "/api/v1/appraisal/months", request_body = OpenInput,
    responses((status = 201, body = MonthView), (status = 200, body = MonthView), (status = 403), (status = 422)),
    tag = "appraisal")]
async fn api_open(State(st): State<AppState>, ctx: Ctx, ApiJson(input): ApiJson<OpenInput>) -> AppResult<Response> {
    let (created, v) = svc::open(&st.db, &ctx.actor()?, &input).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, axum::Json(v)).into_response())
}

/// A month: every row for managers, one's own row only otherwise.
#[utoipa::path(get, path = "/api/v1/appraisal/months/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = MonthView), (status = 404)), tag = "appraisal")]
async fn api_month(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<axum::Json<MonthView>> {
    Ok(axum::Json(svc::month(&st.db, &ctx.actor()?, id).await?))
}

/// Closes a month over its version: refused (422, one field per missing score) while a self or
/// manager score is missing; then the ranking is computed and frozen.
#[utoipa::path(post, path = "/api/v1/appraisal/months/{id}/close", params(("id" = i64, Path)), request_body = CloseInput,
    responses((status = 200, body = MonthView), (status = 403), (status = 409), (status = 422)), tag = "appraisal")]
async fn api_close(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<CloseInput>,
) -> AppResult<axum::Json<MonthView>> {
    Ok(axum::Json(svc::close(&st.db, &ctx.actor()?, id, &input).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ExportParams {
    /// xlsx (default) | csv
    #[serde(default)]
    format: String,
}

/// The month's ranking table as .xlsx or .csv (managers).
#[utoipa::path(get, path = "/api/v1/appraisal/months/{id}/export", params(("id" = i64, Path), ExportParams),
    responses((status = 200, description = "the spreadsheet"), (status = 403)), tag = "appraisal")]
async fn api_export(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiQuery(p): ApiQuery<ExportParams>,
) -> AppResult<Response> {
    export(&st, &ctx, id, &p.format).await
}

/// One row: its person or a manager.
#[utoipa::path(get, path = "/api/v1/appraisal/rows/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = RowView), (status = 404)), tag = "appraisal")]
async fn api_row(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<axum::Json<RowView>> {
    Ok(axum::Json(svc::row(&st.db, &ctx.actor()?, id).await?.1))
}

/// The person's own self-assessment (0–100 and a comment) over the row's version.
#[utoipa::path(put, path = "/api/v1/appraisal/rows/{id}/self", params(("id" = i64, Path)), request_body = SelfInput,
    responses((status = 200, body = RowView), (status = 404), (status = 409), (status = 422)), tag = "appraisal")]
async fn api_self(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<SelfInput>,
) -> AppResult<axum::Json<RowView>> {
    Ok(axum::Json(svc::set_self(&st.db, &ctx.actor()?, id, &input).await?))
}

/// The manager's assessment (default: the measured KPI score); departing from the measured score
/// by more than the margin needs a reason.
#[utoipa::path(put, path = "/api/v1/appraisal/rows/{id}/manager", params(("id" = i64, Path)), request_body = ManagerInput,
    responses((status = 200, body = RowView), (status = 403), (status = 409), (status = 422)), tag = "appraisal")]
async fn api_manager(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ManagerInput>,
) -> AppResult<axum::Json<RowView>> {
    Ok(axum::Json(svc::set_manager(&st.db, &ctx.actor()?, id, &input).await?))
}

/// A last place's reason and improvement plan (the person or a manager).
#[utoipa::path(put, path = "/api/v1/appraisal/rows/{id}/plan", params(("id" = i64, Path)), request_body = PlanInput,
    responses((status = 200, body = RowView), (status = 404), (status = 409), (status = 422)), tag = "appraisal")]
async fn api_plan(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<PlanInput>,
) -> AppResult<axum::Json<RowView>> {
    Ok(axum::Json(svc::set_plan(&st.db, &ctx.actor()?, id, &input).await?))
}

/// The appraisal schemes per role with their items.
#[utoipa::path(get, path = "/api/v1/appraisal/schemes", responses((status = 200, body = [SchemeView]), (status = 403)),
    tag = "appraisal")]
async fn api_schemes(State(st): State<AppState>, ctx: Ctx) -> AppResult<axum::Json<Vec<SchemeView>>> {
    Ok(axum::Json(svc::schemes(&st.db, &ctx.actor()?).await?))
}

/// Replaces a role's scheme items over its version.
#[utoipa::path(put, path = "/api/v1/appraisal/schemes/{role}", params(("role" = String, Path)), request_body = SchemeInput,
    responses((status = 200, body = SchemeView), (status = 403), (status = 409), (status = 422)), tag = "appraisal")]
async fn api_save_scheme(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(role): Path<String>,
    ApiJson(input): ApiJson<SchemeInput>,
) -> AppResult<axum::Json<SchemeView>> {
    Ok(axum::Json(svc::save_scheme(&st.db, &ctx.actor()?, &role, &input).await?))
}

/// The appraisal settings (weights, margin, last places, plan days).
#[utoipa::path(get, path = "/api/v1/appraisal/settings", responses((status = 200, body = SettingsView), (status = 403)),
    tag = "appraisal")]
async fn api_settings(State(st): State<AppState>, ctx: Ctx) -> AppResult<axum::Json<SettingsView>> {
    Ok(axum::Json(svc::settings(&st.db, &ctx.actor()?).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/appraisal/settings", request_body = SettingsInput,
    responses((status = 200, body = SettingsView), (status = 403), (status = 422)), tag = "appraisal")]
async fn api_save_settings(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiJson(input): ApiJson<SettingsInput>,
) -> AppResult<axum::Json<SettingsView>> {
    Ok(axum::Json(svc::save_settings(&st.db, &ctx.actor()?, &input).await?.into()))
}

// ================================================================ export

fn opt(v: Option<f64>) -> Cell {
    v.map(Cell::Number).unwrap_or(Cell::Empty)
}

async fn export(st: &AppState, ctx: &Ctx, id: i64, format: &str) -> AppResult<Response> {
    let actor = ctx.actor()?;
    actor.require(crate::domain::Perm::Appraise)?;
    let format = export_format(format)?;
    let v = svc::month(&st.db, &actor, id).await?;
    let yes = |b: bool| Cell::Text(if b { ctx.t("appraisal.yes") } else { String::new() });
    let rows = v
        .rows
        .iter()
        .map(|x| {
            let r = &x.row;
            vec![
                r.place.into(),
                r.user_name.clone().into(),
                opt(r.kpi_score),
                opt(r.self_score),
                opt(r.manager_score),
                opt(r.final_score.or(x.final_so_far)),
                yes(r.reward),
                yes(r.last_place),
                yes(r.transfer),
                r.plan_due.into(),
                r.plan_text.clone().into(),
                r.manager_reason.clone().into(),
                r.rank_rule.clone().into(),
            ]
        })
        .collect();
    let keys = [
        "appraisal.place",
        "appraisal.person",
        "appraisal.kpi_score",
        "appraisal.self_score",
        "appraisal.manager_score",
        "appraisal.final_score",
        "appraisal.reward",
        "appraisal.last_place",
        "appraisal.transfer",
        "appraisal.plan_due",
        "appraisal.plan",
        "appraisal.reason",
        "appraisal.rule",
    ];
    let t = Table { headers: keys.iter().map(|k| ctx.t(k)).collect(), rows };
    let name = format!("appraisal-{}-{}", v.month.month, v.month.role);
    Ok(download(crate::tabular::render(t, format, "appraisal").await?, format, &name))
}

async fn export_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(p): Query<ExportParams>,
) -> AppResult<Response> {
    export(&st, &ctx, id, &p.format).await
}

// ================================================================ pages

/// Names and formats the pages show.
pub trait AppraisalLabels {
    fn layout(&self) -> &Layout;

    fn role_name(&self, code: &str) -> String {
        self.layout().t(&format!("role.{code}"))
    }
    fn kpi_name(&self, code: &str) -> String {
        Kpi::parse(code).map(|k| k.name(self.layout().locale).to_string()).unwrap_or_else(|| code.into())
    }
    fn rule_name(&self, code: &str) -> String {
        ScoreRule::parse(code).map(|k| k.name(self.layout().locale).to_string()).unwrap_or_else(|| code.into())
    }
    fn score(&self, v: &Option<f64>) -> String {
        v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into())
    }
    fn status_name(&self, code: &str) -> String {
        self.layout().t(&format!("appraisal.status_{code}"))
    }
    fn value(&self, m: &Measured) -> String {
        match (m.value, Kpi::parse(&m.kpi).map(Kpi::unit)) {
            (None, _) => "—".into(),
            (Some(v), Some(rules::appraisal::KpiUnit::Count)) => format!("{v:.0}"),
            (Some(v), _) => format!("{v:.1} %"),
        }
    }
    fn target(&self, m: &Measured) -> String {
        let k = Kpi::parse(&m.kpi);
        let sign = match k.map(Kpi::direction) {
            Some(rules::metrics::Direction::AtMost) => "≤",
            _ => "≥",
        };
        match k.map(Kpi::unit) {
            Some(rules::appraisal::KpiUnit::Count) => format!("{sign} {:.0}", m.target),
            _ => format!("{sign} {:.1} %", m.target),
        }
    }
    /// Where one counted id leads.
    fn evidence_link(&self, kind: &str, id: &i64) -> String {
        match kind {
            "orders" => format!("/work-orders/{id}"),
            "visits" => "/visits".into(),
            "actions" => "/analysis/actions".into(),
            _ => "/stock".into(),
        }
    }
}

#[derive(Template)]
#[template(path = "appraisal/index.html")]
struct OverviewPage {
    l: Layout,
    v: Overview,
    roles: Vec<&'static str>,
    form: FormData,
    errors: FormErrors,
    this_month: String,
}
impl AppraisalLabels for OverviewPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

async fn overview_view(st: &AppState, ctx: &Ctx, form: FormData, errors: Vec<FieldError>) -> AppResult<Response> {
    let v = svc::overview(&st.db, &ctx.actor()?).await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let today = crate::service::work_orders::today();
    let page = OverviewPage {
        l: Layout::new(ctx, "appraisal.title"),
        v,
        roles: svc::ROLES.iter().map(|r| r.code()).collect(),
        form,
        errors: FormErrors::new(errors, ctx.locale),
        this_month: today.format("%Y-%m").to_string(),
    };
    Ok(render_status(status, &page))
}

async fn overview_page(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    overview_view(&st, &ctx, FormData::default(), vec![]).await
}

async fn open_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let input = OpenInput { month: form.get("month"), role: form.get("role") };
    match svc::open(&st.db, &ctx.actor()?, &input).await {
        Ok((_, v)) => Ok(Redirect::to(&format!("/appraisal/{}", v.month.id)).into_response()),
        Err(AppError::Validation(list)) => overview_view(&st, &ctx, form, list).await,
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "appraisal/month.html")]
struct MonthPage {
    l: Layout,
    v: MonthView,
    /// The reasons closing was refused, one per missing score.
    errors_list: Vec<String>,
}
impl AppraisalLabels for MonthPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

async fn month_view(st: &AppState, ctx: &Ctx, id: i64, errors: Vec<FieldError>) -> AppResult<Response> {
    let v = svc::month(&st.db, &ctx.actor()?, id).await?;
    if !v.all
        && errors.is_empty()
        && let Some(r) = v.rows.first()
    {
        return Ok(Redirect::to(&format!("/appraisal/rows/{}", r.row.id)).into_response());
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let errors_list = errors.iter().map(|e| e.message(ctx.locale).to_string()).collect();
    let page = MonthPage { l: Layout::new(ctx, "appraisal.title"), v, errors_list };
    Ok(render_status(status, &page))
}

async fn month_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    month_view(&st, &ctx, id, vec![]).await
}

async fn close_submit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let input = CloseInput { version: form.get("version").trim().parse().unwrap_or_default() };
    match svc::close(&st.db, &ctx.actor()?, id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/appraisal/{id}")).into_response()),
        Err(AppError::Validation(list)) => month_view(&st, &ctx, id, list).await,
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "appraisal/row.html")]
struct RowPage {
    l: Layout,
    m: Month,
    x: RowView,
    manager: bool,
    mine: bool,
    form: FormData,
    errors: FormErrors,
}
impl AppraisalLabels for RowPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl RowPage {
    /// What a field shows: what was typed (after an error) or what is stored.
    fn field(&self, name: &str, stored: String) -> String {
        let typed = self.form.get(name);
        if self.errors.any() { typed } else { stored }
    }
    fn plain(&self, v: &Option<f64>) -> String {
        v.map(|v| format!("{v}")).unwrap_or_default()
    }
}

async fn row_view(st: &AppState, ctx: &Ctx, id: i64, form: FormData, errors: Vec<FieldError>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let (m, x) = svc::row(&st.db, &actor, id).await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = RowPage {
        l: Layout::new(ctx, "appraisal.title"),
        manager: actor.can(crate::domain::Perm::Appraise),
        mine: actor.user_id == Some(x.row.user_id),
        m,
        x,
        form,
        errors: FormErrors::new(errors, ctx.locale),
    };
    Ok(render_status(status, &page))
}

async fn row_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    row_view(&st, &ctx, id, FormData::default(), vec![]).await
}

fn number(form: &FormData, field: &str, errors: &mut Vec<FieldError>) -> Option<f64> {
    let v = form.get(field);
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    v.parse().map(Some).unwrap_or_else(|_| {
        errors.push(field_error(field, "appraisal.error.score"));
        None
    })
}

fn version(form: &FormData) -> i64 {
    form.get("version").trim().parse().unwrap_or_default()
}

/// Runs a row action from a form; validation errors show the row page again with what was typed.
async fn row_action(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    form: FormData,
    parse_errors: Vec<FieldError>,
    result: impl Future<Output = AppResult<RowView>>,
) -> AppResult<Response> {
    let result = if parse_errors.is_empty() { result.await } else { Err(AppError::Validation(parse_errors)) };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/appraisal/rows/{id}")).into_response()),
        Err(AppError::Validation(list)) => row_view(st, ctx, id, form, list).await,
        Err(e) => Err(e),
    }
}

async fn self_submit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let mut errors = vec![];
    let input =
        SelfInput { version: version(&form), score: number(&form, "score", &mut errors), comment: form.get("comment") };
    if input.score.is_none() && errors.is_empty() {
        errors.push(field_error("score", "error.required"));
    }
    let actor = ctx.actor()?;
    row_action(&st, &ctx, id, form, errors, svc::set_self(&st.db, &actor, id, &input)).await
}

async fn manager_submit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let mut errors = vec![];
    let input = ManagerInput {
        version: version(&form),
        score: number(&form, "score", &mut errors),
        comment: form.get("comment"),
        reason: form.get("reason"),
    };
    let actor = ctx.actor()?;
    row_action(&st, &ctx, id, form, errors, svc::set_manager(&st.db, &actor, id, &input)).await
}

async fn plan_submit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let input = PlanInput { version: version(&form), reason: form.get("reason"), plan: form.get("plan") };
    let actor = ctx.actor()?;
    row_action(&st, &ctx, id, form, vec![], svc::set_plan(&st.db, &actor, id, &input)).await
}

#[derive(Template)]
#[template(path = "appraisal/schemes.html")]
struct SchemesPage {
    l: Layout,
    schemes: Vec<SchemeView>,
    settings: SettingsView,
    kpis: Vec<(&'static str, String)>,
    rules: Vec<(&'static str, String)>,
    errors: FormErrors,
    /// The role whose form failed.
    failed: String,
}
impl AppraisalLabels for SchemesPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl SchemesPage {
    /// Rows to show for a scheme: its items and two empty ones to add.
    fn slots(&self, s: &SchemeView) -> Vec<(usize, Item)> {
        let mut v: Vec<Item> = s.items.clone();
        v.push(Item { kpi: String::new(), weight: 0.0, target: 0.0, rule: "linear".into() });
        v.push(Item { kpi: String::new(), weight: 0.0, target: 0.0, rule: "linear".into() });
        v.into_iter().enumerate().collect()
    }
    fn num(&self, it: &Item, v: &f64) -> String {
        if it.kpi.is_empty() { String::new() } else { format!("{v}") }
    }
    fn row_errors(&self, role: &str, i: &usize) -> String {
        if self.failed == role { self.errors.row("items", i) } else { String::new() }
    }
}

async fn schemes_view(st: &AppState, ctx: &Ctx, failed: &str, errors: Vec<FieldError>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let schemes = svc::schemes(&st.db, &actor).await?;
    let settings = svc::settings(&st.db, &actor).await?.into();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = SchemesPage {
        l: Layout::new(ctx, "appraisal.schemes_title"),
        schemes,
        settings,
        kpis: Kpi::ALL.iter().map(|k| (k.code(), k.name(ctx.locale).to_string())).collect(),
        rules: ScoreRule::ALL.iter().map(|k| (k.code(), k.name(ctx.locale).to_string())).collect(),
        errors: FormErrors::new(errors, ctx.locale),
        failed: failed.into(),
    };
    Ok(render_status(status, &page))
}

async fn schemes_page(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    schemes_view(&st, &ctx, "", vec![]).await
}

async fn settings_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let mut errors = vec![];
    let mut num = |f: &str| {
        let v = form.get(f);
        if v.trim().is_empty() {
            return None;
        }
        v.trim().parse::<f64>().ok().or_else(|| {
            errors.push(field_error(f, "appraisal.error.number"));
            None
        })
    };
    let input = SettingsInput {
        self_weight: num("self_weight"),
        manager_weight: num("manager_weight"),
        margin: num("margin"),
        last_places: num("last_places").map(|v| v as i64),
        plan_days: num("plan_days").map(|v| v as i64),
    };
    let result = if errors.is_empty() {
        svc::save_settings(&st.db, &ctx.actor()?, &input).await.map(|_| ())
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(()) => Ok(Redirect::to("/appraisal/schemes").into_response()),
        Err(AppError::Validation(list)) => schemes_view(&st, &ctx, "settings", list).await,
        Err(e) => Err(e),
    }
}

async fn scheme_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(role): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let (kpis, weights, targets, rules) = (form.all("kpi"), form.all("weight"), form.all("target"), form.all("rule"));
    let mut items = vec![];
    for (i, kpi) in kpis.iter().enumerate() {
        if kpi.trim().is_empty() {
            continue;
        }
        let num = |list: &Vec<String>| list.get(i).and_then(|v| v.trim().parse::<f64>().ok()).unwrap_or(f64::NAN);
        items.push(Item {
            kpi: kpi.clone(),
            weight: num(&weights),
            target: num(&targets),
            rule: rules.get(i).cloned().unwrap_or_default(),
        });
    }
    let input = SchemeInput { version: version(&form), items };
    match svc::save_scheme(&st.db, &ctx.actor()?, &role, &input).await {
        Ok(_) => Ok(Redirect::to("/appraisal/schemes").into_response()),
        Err(AppError::Validation(list)) => schemes_view(&st, &ctx, &role, list).await,
        Err(e) => Err(e),
    }
}
