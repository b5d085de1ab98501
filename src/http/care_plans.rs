//! Key-customer care plans (R6.3): the list with its overdue actions and exports, the form that
//! draws up a plan for a customer, a plan's page with its actions and their forms, and the
//! JSON API for all of it.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Months, NaiveDate, TimeDelta};
use rules::FieldError;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use super::api::{ApiJson, ApiQuery};
use super::archive::{ExportFormat, download, export_format};
use super::web::{FormData, FormErrors, Layout, render, render_status};
use super::{AppState, Ctx};
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::service::care_plans::{
    self as svc, ActionUpdate, ListQuery, NewActionInput, NewPlanInput, Page, PlanDetail, PlanItem, PlanUpdate, View,
};
use crate::service::work_orders::today;
use crate::store::care_plans::{CarePlan, PlanAction};
use crate::store::customers::Customer;
use crate::tabular::{Cell, Table};

#[derive(OpenApi)]
#[openapi(
    paths(api_list, api_create, api_export, api_get, api_update, api_add_action, api_update_action),
    components(schemas(CarePlan, PlanAction, PlanItem, PlanDetail, Page, NewPlanInput, PlanUpdate, NewActionInput,
        ActionUpdate)),
    tags((name = "care-plans", description = "Key-customer care plans and their actions (R6.3)"))
)]
pub struct ApiDoc;

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/care-plans", get(api_list).post(api_create))
        .route("/care-plans/export", get(api_export))
        .route("/care-plans/{id}", get(api_get).put(api_update))
        .route("/care-plans/{id}/actions", post(api_add_action))
        .route("/care-plans/{id}/actions/{action_id}", axum::routing::put(api_update_action))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/care-plans", get(list_page))
        .route("/care-plans/new", get(new_page).post(new_submit))
        .route("/care-plans/{id}", get(show_page).post(edit_submit))
        .route("/care-plans/{id}/actions", post(add_submit))
        .route("/care-plans/{id}/actions/{action_id}", post(action_submit))
}

/// Names of the codes a page shows, in its language.
pub trait PlanLabels {
    fn layout(&self) -> &Layout;

    fn status_label(&self, s: &str) -> String {
        self.layout().t(&format!("care_plan.status.{s}"))
    }
    fn action_status_label(&self, s: &str) -> String {
        self.layout().t(&format!("care_plan.action_status.{s}"))
    }
    fn class_label(&self, class: &str) -> String {
        self.layout().t(&format!("archive.class_{}", class.to_ascii_lowercase()))
    }
    fn pct(&self, p: &Option<f64>) -> String {
        p.map(|p| format!("{p:.0} %")).unwrap_or_else(|| "—".into())
    }
    /// The progress bar's filled width in pixels (of 120).
    fn bar(&self, p: &Option<f64>) -> String {
        format!("{:.0}", p.unwrap_or(0.0).clamp(0.0, 100.0) * 1.2)
    }
    /// Done of counted (not cancelled) actions, e.g. "2 / 5".
    fn counts(&self, p: &CarePlan) -> String {
        format!("{} / {}", p.actions_done, p.actions_total - p.actions_cancelled)
    }
}

fn opt_date(v: &Option<NaiveDate>) -> String {
    v.map(|d| d.to_string()).unwrap_or_default()
}

// ================================================================ list

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// all (default) | mine (owned by the caller, or with an open action of theirs) | overdue
    /// (active plans with an open action past its due day)
    #[serde(default)]
    view: String,
    /// active (default) | completed | cancelled | any
    #[serde(default)]
    status: String,
    /// 1: key customers' plans only.
    #[serde(default)]
    key: String,
    customer_id: Option<i64>,
    /// `next_after` of the previous page.
    #[serde(default)]
    after: String,
    /// Default 50, at most 200.
    limit: Option<i64>,
}

fn query_of(p: &ListParams, limit: i64) -> AppResult<ListQuery> {
    let mut errors = vec![];
    let view = View::parse(&p.view).unwrap_or_else(|| {
        errors.push(field_error("view", "error.bad_parameter"));
        View::All
    });
    let status = svc::parse_status_filter(&p.status).unwrap_or_else(|| {
        errors.push(field_error("status", "error.bad_parameter"));
        None
    });
    let key_only = super::api::flag_param("key", &p.key, &mut errors);
    AppError::check(errors)?;
    Ok(ListQuery {
        view,
        status,
        key_only,
        customer_id: p.customer_id,
        after: Some(p.after.clone()).filter(|s| !s.is_empty()),
        limit,
    })
}

/// Care plans, key customers' first, then class A, newest first within each (region users see
/// their region's), with the count of overdue actions.
#[utoipa::path(get, path = "/api/v1/care-plans", params(ListParams),
    responses((status = 200, body = Page), (status = 403), (status = 422)), tag = "care-plans")]
async fn api_list(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<ListParams>,
) -> AppResult<axum::Json<Page>> {
    let q = query_of(&p, p.limit.unwrap_or(50))?;
    Ok(axum::Json(svc::list(&st.db, &ctx.actor()?, &q).await?))
}

#[derive(Template)]
#[template(path = "care_plans/list.html")]
struct ListPage {
    l: Layout,
    page: Page,
    view: String,
    status: String,
    key_only: bool,
    /// The filters as a query string (without view and cursor), for tabs, pages and exports.
    filters: String,
    today: NaiveDate,
}
impl PlanLabels for ListPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

async fn list_page(State(st): State<AppState>, ctx: Ctx, Query(p): Query<ListParams>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let q = query_of(&p, 50)?;
    let page = svc::list(&st.db, &actor, &q).await?;
    let mut filters = form_urlencoded::Serializer::new(String::new());
    if !p.status.is_empty() {
        filters.append_pair("status", &p.status);
    }
    if q.key_only {
        filters.append_pair("key", "1");
    }
    Ok(render(&ListPage {
        l: Layout::new(&ctx, "care_plan.title"),
        page,
        view: q.view.code().into(),
        status: if p.status.is_empty() { "active".into() } else { p.status.clone() },
        key_only: q.key_only,
        filters: filters.finish(),
        today: today(),
    }))
}

fn table(ctx: &Ctx, items: Vec<PlanItem>) -> Table {
    let rows = items
        .into_iter()
        .map(|i| {
            let p = i.plan;
            vec![
                Some(p.id).into(),
                p.customer_name.clone().into(),
                p.customer_class.clone().into(),
                (if p.key_customer { ctx.t("archive.yes") } else { String::new() }).into(),
                p.region_code.clone().into(),
                p.title.clone().into(),
                ctx.t(&format!("care_plan.status.{}", p.status)).into(),
                p.owner_name.clone().into(),
                Some(p.period_from).into(),
                Some(p.period_to).into(),
                Some(p.actions_total).into(),
                Some(p.actions_done).into(),
                Some(p.actions_cancelled).into(),
                i.progress.map(Cell::Number).unwrap_or(Cell::Empty),
                Some(p.actions_overdue).into(),
                p.next_due_on.into(),
                p.next_action.clone().into(),
                p.goals.clone().into(),
            ]
        })
        .collect();
    let keys = [
        "care_plan.number",
        "archive.customer",
        "archive.class",
        "archive.key_customer",
        "field.region",
        "care_plan.plan_title",
        "wo.status",
        "care_plan.owner",
        "care_plan.period_from",
        "care_plan.period_to",
        "care_plan.actions_total",
        "care_plan.actions_done",
        "care_plan.actions_cancelled",
        "care_plan.progress_pct",
        "care_plan.actions_overdue",
        "care_plan.next_due",
        "care_plan.next_action",
        "care_plan.goals",
    ];
    Table { headers: keys.iter().map(|k| ctx.t(k)).collect(), rows }
}

/// The list with its filters (every page, up to 100,000 plans) as a spreadsheet.
#[utoipa::path(get, path = "/api/v1/care-plans/export", params(ListParams, ExportFormat),
    responses((status = 200, description = "The spreadsheet")), tag = "care-plans")]
async fn api_export(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<ListParams>,
    ApiQuery(f): ApiQuery<ExportFormat>,
) -> AppResult<Response> {
    let format = export_format(&f.format)?;
    let actor = ctx.actor()?;
    let (q, db, actor) = (&query_of(&p, 200)?, &st.db, &actor);
    let all = super::archive::every_page(|after| async move {
        let page = svc::list(db, actor, &svc::ListQuery { after, ..q.clone() }).await?;
        Ok((page.items, page.next_after))
    })
    .await?;
    let t = table(&ctx, all);
    Ok(download(crate::tabular::render(t, format, "care-plans").await?, format, "care-plans"))
}

// ================================================================ a new plan

/// Draws up a care plan for a customer (the caller owns it unless `owner_id` names another).
#[utoipa::path(post, path = "/api/v1/care-plans", request_body = NewPlanInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first answer")),
    responses((status = 201, body = PlanDetail), (status = 403), (status = 422)), tag = "care-plans")]
async fn api_create(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<NewPlanInput>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    super::api::create_once(&st, &actor, &headers, "care_plans.create", async |idem| {
        svc::create(&st.db, &actor, &input, idem).await
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
struct NewQuery {
    #[serde(default)]
    q: String,
    customer_id: Option<i64>,
}

#[derive(Template)]
#[template(path = "care_plans/new.html")]
struct NewPage {
    l: Layout,
    q: String,
    /// Search results, or the key customers when nothing was searched.
    customers: Vec<Customer>,
    customer: Option<Customer>,
    owners: Vec<(i64, String)>,
    form: FormData,
    errors: FormErrors,
}
impl PlanLabels for NewPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

async fn new_view(
    st: &AppState,
    ctx: &Ctx,
    q: NewQuery,
    mut form: FormData,
    errors: Vec<FieldError>,
) -> AppResult<Response> {
    use crate::service::archive as arch;
    let actor = ctx.actor()?;
    let owners = svc::owners(&st.db, &actor).await?;
    let customer_id = q.customer_id.or_else(|| form.get("customer_id").trim().parse().ok());
    let customer = match customer_id {
        Some(id) => Some(arch::get_customer(&st.db, &actor, id).await?.customer),
        None => None,
    };
    let customers = if customer.is_some() {
        vec![]
    } else {
        let key_only = q.q.trim().is_empty();
        let cq = arch::CustomerQuery { q: q.q.clone(), key_only, limit: 30, ..Default::default() };
        arch::list_customers(&st.db, &actor, &cq).await?
    };
    if form.get("idem").is_empty() {
        form.set("idem", &crate::service::new_secret().0[..32]);
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = NewPage {
        l: Layout::new(ctx, "care_plan.new_title"),
        q: q.q,
        customers,
        customer,
        owners,
        form,
        errors: FormErrors::new(errors, ctx.locale),
    };
    Ok(render_status(status, &page))
}

async fn new_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<NewQuery>) -> AppResult<Response> {
    let mut form = FormData::default();
    let from = today();
    let to = from.checked_add_months(Months::new(12)).map(|d| d - TimeDelta::days(1)).unwrap_or(from);
    form.set("period_from", &from.to_string());
    form.set("period_to", &to.to_string());
    if let Some(me) = ctx.user.as_ref().map(|u| u.id) {
        form.set("owner_id", &me.to_string());
    }
    new_view(&st, &ctx, q, form, vec![]).await
}

fn date_of(form: &FormData, field: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    crate::domain::archive::parse_date(field, &form.get(field), errors)
}

/// Parse errors first; the service's own checks for the fields that parsed.
fn merge(mut parsed: Vec<FieldError>, checks: Vec<FieldError>) -> Vec<FieldError> {
    let failed: Vec<String> = parsed.iter().map(|e| e.field.clone()).collect();
    parsed.extend(checks.into_iter().filter(|e| !failed.contains(&e.field)));
    parsed
}

async fn new_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let actor = ctx.actor()?;
    let mut errors = vec![];
    let input = NewPlanInput {
        customer_id: form.id("customer_id"),
        title: form.get("title"),
        goals: form.get("goals"),
        period_from: date_of(&form, "period_from", &mut errors),
        period_to: date_of(&form, "period_to", &mut errors),
        owner_id: form.id("owner_id"),
    };
    // The form carries a key made when it was shown, so a double click creates one plan.
    let key = form.get("idem");
    let (idem, done) = super::api::page_idem(&st, &actor, &key, "care_plans.create.page", "/plan/id").await?;
    if let Some(id) = done {
        return Ok(Redirect::to(&format!("/care-plans/{id}")).into_response());
    }
    let result = if errors.is_empty() {
        svc::create(&st.db, &actor, &input, idem.as_ref()).await
    } else {
        Err(AppError::Validation(merge(errors, svc::new_plan_errors(&input))))
    };
    match result {
        Ok(d) => Ok(Redirect::to(&format!("/care-plans/{}", d.plan.id)).into_response()),
        Err(AppError::Validation(list)) => new_view(&st, &ctx, NewQuery::default(), form, list).await,
        Err(e) => Err(e),
    }
}

// ================================================================ one plan

/// A plan with its actions and progress.
#[utoipa::path(get, path = "/api/v1/care-plans/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = PlanDetail), (status = 403), (status = 404)), tag = "care-plans")]
async fn api_get(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<axum::Json<PlanDetail>> {
    Ok(axum::Json(svc::get(&st.db, &ctx.actor()?, id).await?))
}

/// Changes a plan over its `version` (fields left out keep their value): title, goals, period,
/// owner, status. 409 when it changed meanwhile.
#[utoipa::path(put, path = "/api/v1/care-plans/{id}", params(("id" = i64, Path)), request_body = PlanUpdate,
    responses((status = 200, body = PlanDetail), (status = 403), (status = 404), (status = 409), (status = 422)),
    tag = "care-plans")]
async fn api_update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<PlanUpdate>,
) -> AppResult<axum::Json<PlanDetail>> {
    Ok(axum::Json(svc::update(&st.db, &ctx.actor()?, id, &input).await?))
}

/// Adds an action to an active plan (`version` is the plan's; 409 when it changed meanwhile).
#[utoipa::path(post, path = "/api/v1/care-plans/{id}/actions", params(("id" = i64, Path)),
    request_body = NewActionInput,
    responses((status = 201, body = PlanDetail), (status = 403), (status = 404), (status = 409), (status = 422)),
    tag = "care-plans")]
async fn api_add_action(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<NewActionInput>,
) -> AppResult<Response> {
    let d = svc::add_action(&st.db, &ctx.actor()?, id, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(d)).into_response())
}

/// Marks an action done (with the day and what it achieved) or cancelled, opens it again, or
/// edits it, over the action's `version` (409 when it changed meanwhile).
#[utoipa::path(put, path = "/api/v1/care-plans/{id}/actions/{action_id}",
    params(("id" = i64, Path), ("action_id" = i64, Path)), request_body = ActionUpdate,
    responses((status = 200, body = PlanDetail), (status = 403), (status = 404), (status = 409), (status = 422)),
    tag = "care-plans")]
async fn api_update_action(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, action_id)): Path<(i64, i64)>,
    ApiJson(input): ApiJson<ActionUpdate>,
) -> AppResult<axum::Json<PlanDetail>> {
    Ok(axum::Json(svc::update_action(&st.db, &ctx.actor()?, id, action_id, &input).await?))
}

#[derive(Template)]
#[template(path = "care_plans/show.html")]
struct ShowPage {
    l: Layout,
    d: PlanDetail,
    owners: Vec<(i64, String)>,
    statuses: &'static [&'static str],
    /// The form that failed (edit, add or action-ID), with what was typed.
    failed: String,
    form: FormData,
    errors: FormErrors,
}
impl PlanLabels for ShowPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl ShowPage {
    /// What was typed into `which`'s form when it failed, else `default`.
    fn value(&self, which: &str, field: &str, default: &str) -> String {
        if self.failed == which { self.form.get(field) } else { default.to_string() }
    }
    fn error(&self, which: &str, field: &str) -> String {
        if self.failed == which { self.errors.get(field) } else { String::new() }
    }
    fn action_form(&self, a: &PlanAction) -> String {
        format!("action-{}", a.id)
    }
    fn is_active(&self) -> bool {
        self.d.plan.status == "active"
    }
    /// The add form's due day: today inside the period, else the nearest end of it.
    fn default_due(&self) -> String {
        self.d.today.clamp(self.d.plan.period_from, self.d.plan.period_to).to_string()
    }
    fn done_on(&self, a: &PlanAction) -> String {
        opt_date(&a.done_on)
    }
}

async fn show_view(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    failed: &str,
    form: FormData,
    errors: Vec<FieldError>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let d = svc::get(&st.db, &actor, id).await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ShowPage {
        l: Layout::new(ctx, "care_plan.title"),
        d,
        owners: svc::owners(&st.db, &actor).await?,
        statuses: &svc::STATUSES,
        failed: failed.into(),
        form,
        errors: FormErrors::new(errors, ctx.locale),
    };
    Ok(render_status(status, &page))
}

async fn show_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    show_view(&st, &ctx, id, "", FormData::default(), vec![]).await
}

fn version_of(form: &FormData) -> i64 {
    form.get("version").trim().parse().unwrap_or(0)
}

/// Renders the outcome of a form on the plan's page: back to the page, or the page again with
/// the form's errors and what was typed.
async fn after_submit(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    which: &str,
    form: FormData,
    result: AppResult<PlanDetail>,
) -> AppResult<Response> {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/care-plans/{id}")).into_response()),
        Err(AppError::Validation(list)) => show_view(st, ctx, id, which, form, list).await,
        Err(AppError::Conflict(key)) => show_view(st, ctx, id, which, form, vec![field_error("version", key)]).await,
        Err(e) => Err(e),
    }
}

async fn edit_submit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let mut errors = vec![];
    let input = PlanUpdate {
        version: version_of(&form),
        title: Some(form.get("title")),
        goals: Some(form.get("goals")),
        period_from: date_of(&form, "period_from", &mut errors),
        period_to: date_of(&form, "period_to", &mut errors),
        owner_id: form.id("owner_id"),
        status: Some(form.get("status")),
    };
    for field in ["period_from", "period_to"] {
        if form.get(field).trim().is_empty() {
            errors.push(field_error(field, "error.required"));
        }
    }
    let result = if errors.is_empty() {
        svc::update(&st.db, &ctx.actor()?, id, &input).await
    } else {
        Err(AppError::Validation(errors))
    };
    after_submit(&st, &ctx, id, "edit", form, result).await
}

async fn add_submit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let mut errors = vec![];
    let input = NewActionInput {
        version: version_of(&form),
        what: form.get("what"),
        due_on: date_of(&form, "due_on", &mut errors),
        owner_id: form.id("owner_id"),
    };
    let result = if errors.is_empty() {
        svc::add_action(&st.db, &ctx.actor()?, id, &input).await
    } else {
        Err(AppError::Validation(errors))
    };
    after_submit(&st, &ctx, id, "add", form, result).await
}

/// The forms of one action: `op` is done, cancel or reopen.
async fn action_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, action_id)): Path<(i64, i64)>,
    body: Bytes,
) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let mut errors = vec![];
    let status = match form.get("op").as_str() {
        "done" => "done",
        "cancel" => "cancelled",
        "reopen" => "open",
        _ => return Err(AppError::one("op", "error.bad_parameter")),
    };
    let note = form.get("note");
    let input = ActionUpdate {
        version: version_of(&form),
        status: Some(status.into()),
        done_on: date_of(&form, "done_on", &mut errors),
        note: (status != "open").then_some(note),
        what: None,
        due_on: None,
        owner_id: None,
    };
    let result = if errors.is_empty() {
        svc::update_action(&st.db, &ctx.actor()?, id, action_id, &input).await
    } else {
        Err(AppError::Validation(errors))
    };
    after_submit(&st, &ctx, id, &format!("action-{action_id}"), form, result).await
}
