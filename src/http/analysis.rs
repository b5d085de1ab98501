//! The quarterly fault analysis page (Pareto by fault, model, region or part, with drill-down
//! to the orders), the corrective actions opened from it, and their JSON API (R9.2).

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Datelike, NaiveDate};
use rules::FieldError;
use rules::analysis::{RankBy, Ranked};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use super::api::{ApiJson, ApiQuery};
use super::archive::{download, export_format};
use super::web::{FormData, FormErrors, Layout, render_status};
use super::{AppState, Ctx};
use crate::error::{AppError, AppResult};
use crate::service::analysis::{self as svc, ActionInput, ActionView, FaultAnalysis, StepInput};
use crate::service::work_orders::{today, yuan};
use crate::store::analysis::{CorrectiveAction, Dimension};
use crate::tabular::{Cell, Table};

#[derive(OpenApi)]
#[openapi(
    paths(api_faults, api_actions, api_open, api_action, api_step),
    components(schemas(FaultAnalysis, ActionView, CorrectiveAction, ActionInput, StepInput)),
    tags((name = "analysis", description = "Quarterly fault analysis and corrective actions (R9.2)"))
)]
pub struct ApiDoc;

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/analysis/faults", get(api_faults))
        .route("/corrective-actions", get(api_actions).post(api_open))
        .route("/corrective-actions/{id}", get(api_action).put(api_step))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/analysis/faults", get(faults_page))
        .route("/analysis/actions", get(actions_page).post(open_submit))
        .route("/analysis/actions/{id}", post(step_submit))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct FaultParams {
    /// First day (default: the first day of this quarter).
    from: Option<NaiveDate>,
    /// Last day (default today).
    to: Option<NaiveDate>,
    /// fault (default) | model | region | part
    #[serde(default)]
    by: String,
    /// count (default) | cost
    #[serde(default)]
    rank: String,
    /// xlsx | csv (the page only).
    #[serde(default)]
    format: String,
}

fn params(p: &FaultParams) -> AppResult<(NaiveDate, NaiveDate, Dimension, RankBy)> {
    let to = p.to.unwrap_or_else(today);
    let from = p.from.unwrap_or_else(|| NaiveDate::from_ymd_opt(to.year(), (to.month0() / 3) * 3 + 1, 1).unwrap_or(to));
    let by = if p.by.trim().is_empty() {
        Dimension::Fault
    } else {
        Dimension::parse(&p.by).ok_or_else(|| AppError::one("by", "error.bad_parameter"))?
    };
    let rank = match p.rank.trim() {
        "" | "count" => RankBy::Count,
        "cost" => RankBy::Cost,
        _ => return Err(AppError::one("rank", "error.bad_parameter")),
    };
    Ok((from, to, by, rank))
}

/// The faults of completed orders (or the faulty parts returned) of a period in Pareto order.
#[utoipa::path(get, path = "/api/v1/analysis/faults", params(FaultParams),
    responses((status = 200, body = FaultAnalysis), (status = 403), (status = 422)), tag = "analysis")]
async fn api_faults(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<FaultParams>,
) -> AppResult<axum::Json<FaultAnalysis>> {
    let (from, to, by, rank) = params(&p)?;
    Ok(axum::Json(svc::faults(&st.db, &ctx.actor()?, from, to, by, rank).await?))
}

#[derive(Template)]
#[template(path = "analysis/faults.html")]
struct FaultsPage {
    l: Layout,
    a: FaultAnalysis,
    owners: Vec<(i64, String)>,
    can_manage: bool,
    idem: String,
}
impl FaultsPage {
    fn is_me(&self, id: &i64) -> bool {
        self.l.user.as_ref().is_some_and(|u| u.id == *id)
    }
    fn money(&self, c: &i64) -> String {
        yuan(*c)
    }
    fn pct(&self, v: &f64) -> String {
        format!("{v:.1} %")
    }
    /// A bar's width in pixels (of 160) for a group's share.
    fn bar(&self, g: &Ranked) -> String {
        format!("{:.0}", g.share.clamp(0.0, 100.0) * 1.6)
    }
    /// The orders a group counts (the drill-down), or the part's faulty returns.
    fn orders(&self, g: &Ranked) -> String {
        let (f, t, k) = (self.a.from, self.a.to, &g.item.key);
        let base = format!("/work-orders?completed_from={f}&completed_to={t}");
        match self.a.by.as_str() {
            "fault" => {
                let (cat, code) = k.split_once('/').unwrap_or(("", k));
                format!("{base}&category={}&fault_code={}", super::urlencode(cat), super::urlencode(code))
            }
            "model" => format!("{base}&model={}", super::urlencode(k)),
            "region" => format!("{base}&region={}", super::urlencode(k)),
            _ => "/stock/failures?all=1".into(),
        }
    }
}

fn table(ctx: &Ctx, a: &FaultAnalysis) -> Table {
    let rows = a
        .groups
        .iter()
        .map(|g| {
            vec![
                g.item.key.clone().into(),
                g.item.label.clone().into(),
                Some(g.item.count).into(),
                Cell::Number(g.item.cost_cents as f64 / 100.0),
                Cell::Number(g.share),
                Cell::Number(g.cumulative),
                (if g.vital { ctx.t("archive.yes") } else { String::new() }).into(),
            ]
        })
        .collect();
    let keys = [
        "analysis.key",
        "analysis.label",
        "analysis.count",
        "analysis.cost",
        "analysis.share",
        "analysis.cumulative",
        "analysis.vital",
    ];
    Table { headers: keys.iter().map(|k| ctx.t(k)).collect(), rows }
}

async fn owners(st: &AppState) -> AppResult<Vec<(i64, String)>> {
    crate::service::users::active_names(&st.db, None).await
}

fn can_manage(ctx: &Ctx) -> bool {
    use crate::domain::Role::*;
    ctx.user
        .as_ref()
        .is_some_and(|u| u.roles.iter().any(|r| matches!(r, Admin | GeneralManager | ServiceManager | Quality)))
}

async fn faults_page(State(st): State<AppState>, ctx: Ctx, Query(p): Query<FaultParams>) -> AppResult<Response> {
    let (from, to, by, rank) = params(&p)?;
    let a = svc::faults(&st.db, &ctx.actor()?, from, to, by, rank).await?;
    if !p.format.is_empty() {
        let format = export_format(&p.format)?;
        let t = table(&ctx, &a);
        return Ok(download(crate::tabular::render(t, format, "faults").await?, format, "faults"));
    }
    let page = FaultsPage {
        l: Layout::new(&ctx, "analysis.title"),
        a,
        owners: owners(&st).await?,
        can_manage: can_manage(&ctx),
        idem: crate::service::new_secret().0[..32].to_string(),
    };
    Ok(render_status(StatusCode::OK, &page))
}

// ================================================================ corrective actions

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ActionParams {
    /// open (default: open and done, awaiting verification) | all
    #[serde(default)]
    status: String,
}

fn open_only(p: &ActionParams) -> AppResult<bool> {
    match p.status.trim() {
        "" | "open" => Ok(true),
        "all" => Ok(false),
        _ => Err(AppError::one("status", "error.bad_parameter")),
    }
}

/// Corrective actions: open and done ones first by due day, with the group's count since.
#[utoipa::path(get, path = "/api/v1/corrective-actions", params(ActionParams),
    responses((status = 200, body = [ActionView]), (status = 403)), tag = "analysis")]
async fn api_actions(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<ActionParams>,
) -> AppResult<axum::Json<Vec<ActionView>>> {
    Ok(axum::Json(svc::actions(&st.db, &ctx.actor()?, open_only(&p)?).await?))
}

/// Opens a corrective action on a group of the analysis (quality, managers).
#[utoipa::path(post, path = "/api/v1/corrective-actions", request_body = ActionInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first answer")),
    responses((status = 201, body = ActionView), (status = 403), (status = 422)), tag = "analysis")]
async fn api_open(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<ActionInput>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    super::api::create_once(&st, &actor, &headers, "corrective.create", async |idem| {
        svc::open(&st.db, &actor, &input, idem).await
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/corrective-actions/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = ActionView), (status = 403), (status = 404)), tag = "analysis")]
async fn api_action(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<axum::Json<ActionView>> {
    Ok(axum::Json(svc::action(&st.db, &ctx.actor()?, id).await?))
}

/// Records a step over the action's `version`: done, verify (effective or not), cancel.
#[utoipa::path(put, path = "/api/v1/corrective-actions/{id}", params(("id" = i64, Path)), request_body = StepInput,
    responses((status = 200, body = ActionView), (status = 403), (status = 404), (status = 409), (status = 422)),
    tag = "analysis")]
async fn api_step(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(s): ApiJson<StepInput>,
) -> AppResult<axum::Json<ActionView>> {
    Ok(axum::Json(svc::step(&st.db, &ctx.actor()?, id, &s).await?))
}

#[derive(Template)]
#[template(path = "analysis/actions.html")]
struct ActionsPage {
    l: Layout,
    items: Vec<ActionView>,
    open_only: bool,
    can_manage: bool,
    errors: FormErrors,
}

impl ActionsPage {
    fn is_me(&self, id: &i64) -> bool {
        self.l.user.as_ref().is_some_and(|u| u.id == *id)
    }
}

async fn actions_view(st: &AppState, ctx: &Ctx, open_only: bool, errors: Vec<FieldError>) -> AppResult<Response> {
    let items = svc::actions(&st.db, &ctx.actor()?, open_only).await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ActionsPage {
        l: Layout::new(ctx, "analysis.actions_title"),
        items,
        open_only,
        can_manage: can_manage(ctx),
        errors: FormErrors::new(errors, ctx.locale),
    };
    Ok(render_status(status, &page))
}

async fn actions_page(State(st): State<AppState>, ctx: Ctx, Query(p): Query<ActionParams>) -> AppResult<Response> {
    actions_view(&st, &ctx, open_only(&p)?, vec![]).await
}

/// The fault analysis page's "open a corrective action" form.
async fn open_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let actor = ctx.actor()?;
    let mut errors = vec![];
    let mut date = |field: &str| crate::domain::archive::parse_date(field, &form.get(field), &mut errors);
    let (period_from, period_to, due_on) = (date("period_from"), date("period_to"), date("due_on"));
    let input = ActionInput {
        dimension: form.get("dimension"),
        key: form.get("key"),
        period_from,
        period_to,
        problem: form.get("problem"),
        action: form.get("action"),
        owner_id: form.id("owner_id"),
        due_on,
    };
    let key = form.get("idem");
    let (idem, done) = super::api::page_idem(&st, &actor, &key, "corrective.create.page", "/action/id").await?;
    if done.is_some() {
        return Ok(Redirect::to("/analysis/actions").into_response());
    }
    let result = if errors.is_empty() {
        svc::open(&st.db, &actor, &input, idem.as_ref()).await
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(_) => Ok(Redirect::to("/analysis/actions").into_response()),
        Err(AppError::Validation(list)) => actions_view(&st, &ctx, true, list).await,
        Err(e) => Err(e),
    }
}

async fn step_submit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let s = StepInput {
        version: form.get("version").trim().parse().unwrap_or_default(),
        step: form.get("step"),
        note: form.get("note"),
        effective: match form.get("effective").as_str() {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        },
    };
    match svc::step(&st.db, &ctx.actor()?, id, &s).await {
        Ok(_) => Ok(Redirect::to("/analysis/actions").into_response()),
        Err(AppError::Validation(list)) => actions_view(&st, &ctx, true, list).await,
        Err(e) => Err(e),
    }
}
