//! Service objectives (R9.1): a year's objectives by department with their actual values per
//! quarter against the target, the forms that propose, revise, approve and withdraw them, an
//! objective's revisions, copying a year into the next, and the JSON API.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Datelike;
use rules::FieldError;
use rules::metrics::Metric;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use super::api::{ApiJson, ApiQuery};
use super::web::{FormData, FormErrors, Layout, render_status};
use super::{AppState, Ctx};
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::service::objectives::{
    self as svc, Actual, DEPARTMENTS, ObjectiveDetail, ObjectiveInput, ObjectiveUpdate, ObjectiveView, YearView,
};
use crate::service::work_orders::today;
use crate::store::objectives::{Objective, Revision};

#[derive(OpenApi)]
#[openapi(
    paths(api_year, api_propose, api_get, api_update, api_copy),
    components(schemas(YearView, ObjectiveView, ObjectiveDetail, Objective, Revision, Actual, ObjectiveInput,
        ObjectiveUpdate, CopyInput)),
    tags((name = "objectives", description = "Service objectives with actual values against their targets (R9.1)"))
)]
pub struct ApiDoc;

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/objectives", get(api_year).post(api_propose))
        .route("/objectives/copy", post(api_copy))
        .route("/objectives/{id}", get(api_get).put(api_update))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/objectives", get(year_page).post(propose_submit))
        .route("/objectives/copy", post(copy_submit))
        .route("/objectives/{id}", get(show_page).post(update_submit))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct YearParams {
    /// Default: this year.
    year: Option<i32>,
}

/// A year's objectives with their actual values per quarter and for the year.
#[utoipa::path(get, path = "/api/v1/objectives", params(YearParams),
    responses((status = 200, body = YearView), (status = 403)), tag = "objectives")]
async fn api_year(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<YearParams>,
) -> AppResult<axum::Json<YearView>> {
    let year = p.year.unwrap_or_else(|| today().year());
    Ok(axum::Json(svc::year(&st.db, &ctx.actor()?, year).await?))
}

/// Proposes an objective (service manager, general manager); it waits for the general manager's approval.
#[utoipa::path(post, path = "/api/v1/objectives", request_body = ObjectiveInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried proposal return the first answer")),
    responses((status = 201, body = ObjectiveDetail), (status = 403), (status = 422)), tag = "objectives")]
async fn api_propose(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<ObjectiveInput>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    super::api::create_once(&st, &actor, &headers, "objectives.create", async |idem| {
        svc::propose(&st.db, &actor, &input, idem).await
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/objectives/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = ObjectiveDetail), (status = 403), (status = 404)), tag = "objectives")]
async fn api_get(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<axum::Json<ObjectiveDetail>> {
    Ok(axum::Json(svc::get(&st.db, &ctx.actor()?, id).await?))
}

/// Revises (back to proposed), approves (general manager) or withdraws an objective over its
/// `version` (409 when it changed meanwhile).
#[utoipa::path(put, path = "/api/v1/objectives/{id}", params(("id" = i64, Path)), request_body = ObjectiveUpdate,
    responses((status = 200, body = ObjectiveDetail), (status = 403), (status = 404), (status = 409), (status = 422)),
    tag = "objectives")]
async fn api_update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(u): ApiJson<ObjectiveUpdate>,
) -> AppResult<axum::Json<ObjectiveDetail>> {
    Ok(axum::Json(svc::update(&st.db, &ctx.actor()?, id, &u).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct CopyInput {
    from_year: i32,
    to_year: i32,
}

/// Copies a year's objectives into another year as proposals (the yearly revision).
#[utoipa::path(post, path = "/api/v1/objectives/copy", request_body = CopyInput,
    responses((status = 200, body = usize), (status = 403), (status = 422)), tag = "objectives")]
async fn api_copy(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiJson(c): ApiJson<CopyInput>,
) -> AppResult<axum::Json<usize>> {
    Ok(axum::Json(svc::copy_year(&st.db, &ctx.actor()?, c.from_year, c.to_year).await?))
}

// ================================================================ pages

/// Names and formats a page shows.
pub trait ObjectiveLabels {
    fn layout(&self) -> &Layout;

    fn metric_name(&self, code: &str) -> String {
        Metric::parse(code).map(|m| m.name(self.layout().locale).to_string()).unwrap_or_else(|| code.into())
    }
    fn department_name(&self, code: &str) -> String {
        self.layout().t(&format!("objective.department_{code}"))
    }
    fn status_name(&self, code: &str) -> String {
        self.layout().t(&format!("objective.status_{code}"))
    }
    /// A value in the metric's unit.
    fn value(&self, metric: &str, v: &Option<f64>) -> String {
        let Some(v) = v else { return "—".into() };
        match Metric::parse(metric).map(Metric::unit) {
            Some(rules::metrics::Unit::Percent) => format!("{v:.1} %"),
            Some(rules::metrics::Unit::Yuan) => format!("¥{v:.2}"),
            _ => format!("{v:.0}"),
        }
    }
    fn target(&self, o: &Objective) -> String {
        let sign = match Metric::parse(&o.metric).map(Metric::direction) {
            Some(rules::metrics::Direction::AtMost) => "≤",
            _ => "≥",
        };
        format!("{sign} {}", self.value(&o.metric, &Some(o.target)))
    }
    fn trend_name(&self, t: &rules::metrics::Trend) -> String {
        let code = serde_json::to_value(t).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        self.layout().t(&format!("objective.trend_{code}"))
    }
    /// Where the figures of a metric come from, for the period (the drill-down).
    fn source(&self, metric: &str, a: &Actual) -> String {
        let (f, t) = (a.from, a.to);
        match metric {
            "reply_on_time" | "on_site_on_time" | "sla_compliance" => format!("/sla?from={f}&to={t}"),
            "satisfaction" => format!("/satisfaction?from={f}&to={t}"),
            "revisit_rate" => "/visits?view=missed".into(),
            "major_complaints" => format!("/complaints?severity=major&from={f}&to={t}"),
            "picking_accuracy" => format!("/stock/accuracy?from={f}&to={t}"),
            _ => format!("/work-orders?completed_from={f}&completed_to={t}"),
        }
    }
}

#[derive(Template)]
#[template(path = "objectives/year.html")]
struct YearPage {
    l: Layout,
    v: YearView,
    metrics: Vec<(&'static str, String)>,
    departments: Vec<&'static str>,
    owners: Vec<(i64, String)>,
    form: FormData,
    errors: FormErrors,
    can_propose: bool,
    can_approve: bool,
}
impl ObjectiveLabels for YearPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl YearPage {
    /// Proposals waiting for the general manager.
    fn waiting(&self) -> usize {
        self.v.objectives.iter().filter(|x| x.objective.status == "proposed").count()
    }
}

async fn owners(st: &AppState) -> AppResult<Vec<(i64, String)>> {
    crate::service::users::active_names(&st.db, None).await
}

fn roles(ctx: &Ctx) -> (bool, bool) {
    use crate::domain::Role::*;
    let has = |f: &dyn Fn(&crate::domain::Role) -> bool| ctx.user.as_ref().is_some_and(|u| u.roles.iter().any(f));
    (has(&|r| matches!(r, Admin | GeneralManager | ServiceManager)), has(&|r| matches!(r, Admin | GeneralManager)))
}

async fn year_view(
    st: &AppState,
    ctx: &Ctx,
    year: i32,
    mut form: FormData,
    errors: Vec<FieldError>,
) -> AppResult<Response> {
    let v = svc::year(&st.db, &ctx.actor()?, year).await?;
    if form.get("idem").is_empty() {
        form.set("idem", &crate::service::new_secret().0[..32]);
    }
    let (can_propose, can_approve) = roles(ctx);
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = YearPage {
        l: Layout::new(ctx, "objective.title"),
        metrics: Metric::ALL.iter().map(|m| (m.code(), m.name(ctx.locale).to_string())).collect(),
        departments: DEPARTMENTS.to_vec(),
        owners: owners(st).await?,
        v,
        form,
        errors: FormErrors::new(errors, ctx.locale),
        can_propose,
        can_approve,
    };
    Ok(render_status(status, &page))
}

async fn year_page(State(st): State<AppState>, ctx: Ctx, Query(p): Query<YearParams>) -> AppResult<Response> {
    year_view(&st, &ctx, p.year.unwrap_or_else(|| today().year()), FormData::default(), vec![]).await
}

fn number(form: &FormData, field: &str, errors: &mut Vec<FieldError>) -> Option<f64> {
    let v = form.get(field);
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    v.parse().map(Some).unwrap_or_else(|_| {
        errors.push(field_error(field, "objective.error.target"));
        None
    })
}

async fn propose_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let actor = ctx.actor()?;
    let mut errors = vec![];
    let year = form.get("year").trim().parse().unwrap_or_else(|_| today().year());
    let input = ObjectiveInput {
        year: Some(year),
        metric: form.get("metric"),
        department: form.get("department"),
        target: number(&form, "target", &mut errors),
        owner_id: form.id("owner_id"),
        note: form.get("note"),
    };
    let key = form.get("idem");
    let (idem, done) = super::api::page_idem(&st, &actor, &key, "objectives.create.page", "/view/objective/id").await?;
    if done.is_some() {
        return Ok(Redirect::to(&format!("/objectives?year={year}")).into_response());
    }
    let result = if errors.is_empty() {
        svc::propose(&st.db, &actor, &input, idem.as_ref()).await.map(|_| ())
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/objectives?year={year}")).into_response()),
        Err(AppError::Validation(list)) => year_view(&st, &ctx, year, form, list).await,
        Err(e) => Err(e),
    }
}

async fn copy_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let from = form.get("from_year").trim().parse().unwrap_or_default();
    let to = form.get("to_year").trim().parse().unwrap_or_default();
    match svc::copy_year(&st.db, &ctx.actor()?, from, to).await {
        Ok(_) => Ok(Redirect::to(&format!("/objectives?year={to}")).into_response()),
        Err(AppError::Validation(list)) => year_view(&st, &ctx, from, form, list).await,
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "objectives/show.html")]
struct ShowPage {
    l: Layout,
    d: ObjectiveDetail,
    owners: Vec<(i64, String)>,
    errors: FormErrors,
    can_propose: bool,
    can_approve: bool,
}
impl ObjectiveLabels for ShowPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl ShowPage {
    fn is_owner(&self, id: &i64) -> bool {
        self.d.view.objective.owner_id == Some(*id)
    }
    fn plain(&self, metric: &str, v: &f64) -> String {
        self.value(metric, &Some(*v))
    }
}

async fn show_view(st: &AppState, ctx: &Ctx, id: i64, errors: Vec<FieldError>) -> AppResult<Response> {
    let d = svc::get(&st.db, &ctx.actor()?, id).await?;
    let (can_propose, can_approve) = roles(ctx);
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ShowPage {
        l: Layout::new(ctx, "objective.title"),
        d,
        owners: owners(st).await?,
        errors: FormErrors::new(errors, ctx.locale),
        can_propose,
        can_approve,
    };
    Ok(render_status(status, &page))
}

async fn show_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    show_view(&st, &ctx, id, vec![]).await
}

async fn update_submit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let mut errors = vec![];
    let u = ObjectiveUpdate {
        version: form.get("version").trim().parse().unwrap_or_default(),
        action: form.get("action"),
        target: number(&form, "target", &mut errors),
        owner_id: form.id("owner_id"),
        note: Some(form.get("note")),
    };
    let result = if errors.is_empty() {
        svc::update(&st.db, &ctx.actor()?, id, &u).await.map(|_| ())
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/objectives/{id}")).into_response()),
        Err(AppError::Validation(list)) => show_view(&st, &ctx, id, list).await,
        Err(e) => Err(e),
    }
}
