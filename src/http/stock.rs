//! Stock (R8): a location's stock with the form that moves it, the history of movements,
//! picking accuracy per location and month, key-part failures with their alerts, and the JSON
//! API for all of it. Parts on a work order are posted from the order's page (work_orders.rs
//! calls [`order_parts`]).

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use chrono::{Datelike, Months, NaiveDate};
use rules::FieldError;
use rules::parts::MovementKind;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use super::api::{ApiJson, ApiQuery};
use super::archive::{download, export_format};
use super::web::{FormData, FormErrors, Layout, render, render_status};
use super::{AppState, Ctx};
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::service::part_requests::{self as requests, CloseInput, RequestInput};
use crate::service::stock::{
    self as svc, AccuracyReport, AccuracyRow, AlertUpdate, FailureReport, MovementPage, MovementRequest, PartFailures,
    Posted, StockPage,
};
use crate::service::work_orders::{today, yuan};
use crate::store::part_requests::PartRequest;
use crate::store::parts::Warehouse;
use crate::store::stock::{Movement, MovementFilter, PartAlert, StockRow, StockTotals};
use crate::tabular::Table;

#[derive(OpenApi)]
#[openapi(
    paths(api_post, api_movements, api_movement, api_stock, api_accuracy, api_accuracy_target, api_failures,
        api_policy, api_set_policy, api_alert, api_requests, api_request_create, api_request_fulfil,
        api_request_cancel),
    components(schemas(MovementRequest, Posted, Movement, MovementPage, StockRow, StockPage, StockTotals,
        AccuracyReport, AccuracyRow, FailureReport, PartFailures, PartAlert, AlertUpdate, TargetInput, PartRequest,
        RequestInput, CloseInput, VersionInput)),
    tags((name = "stock", description = "Stock per location, movements, picking accuracy, key-part failures (R8)"))
)]
pub struct ApiDoc;

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/stock", get(api_stock))
        .route("/stock/movements", get(api_movements).post(api_post))
        .route("/stock/movements/{id}", get(api_movement))
        .route("/stock/accuracy", get(api_accuracy))
        .route("/stock/accuracy-target", put(api_accuracy_target))
        .route("/stock/failures", get(api_failures))
        .route("/stock/failure-policy", get(api_policy).put(api_set_policy))
        .route("/stock/alerts/{id}", put(api_alert))
        .route("/stock/requests", get(api_requests).post(api_request_create))
        .route("/stock/requests/{id}/fulfil", post(api_request_fulfil))
        .route("/stock/requests/{id}/cancel", post(api_request_cancel))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/stock", get(stock_page))
        .route("/stock/movements", get(movements_page).post(post_submit))
        .route("/stock/accuracy", get(accuracy_page))
        .route("/stock/failures", get(failures_page))
        .route("/stock/alerts/{id}", post(alert_submit))
        .route("/stock/requests", get(requests_page))
        .route("/stock/requests/{id}/{action}", post(request_submit))
}

/// Names of the codes a page shows, in its language.
pub trait StockLabels {
    fn layout(&self) -> &Layout;

    fn kind_name(&self, code: &str) -> String {
        MovementKind::parse(code).map(|k| k.name(self.layout().locale).to_string()).unwrap_or_else(|| code.into())
    }
    fn money(&self, cents: &i64) -> String {
        yuan(*cents)
    }
    fn pct(&self, p: &Option<f64>) -> String {
        p.map(|p| format!("{p:.1} %")).unwrap_or_else(|| "—".into())
    }
    fn opt(&self, s: &Option<String>) -> String {
        s.clone().unwrap_or_default()
    }
}

// ================================================================ stock of a location

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct StockParams {
    /// The location (default: the caller's van, else the first central warehouse).
    warehouse_id: Option<i64>,
    /// Part number prefix or a piece of the name.
    #[serde(default)]
    q: String,
    /// 1: only parts held (usable or faulty).
    #[serde(default)]
    held: String,
    /// `next_after` of the previous page (a part number).
    #[serde(default)]
    after: String,
    /// Default 50, at most 500.
    limit: Option<i64>,
}

async fn stock_of(st: &AppState, ctx: &Ctx, p: &StockParams, limit: i64) -> AppResult<(Vec<Warehouse>, StockPage)> {
    let actor = ctx.actor()?;
    let mut errors = vec![];
    let held = super::api::flag_param("held", &p.held, &mut errors);
    AppError::check(errors)?;
    let (all, first) = svc::locations(&st.db, &actor).await?;
    let Some(id) = p.warehouse_id.or(first) else { return Err(AppError::NotFound) };
    let q = Some(p.q.clone()).filter(|s| !s.trim().is_empty());
    let after = Some(p.after.clone()).filter(|s| !s.is_empty());
    let known = all.iter().find(|w| w.id == id).cloned();
    let page = svc::stock_page(&st.db, &actor, id, known, q, held, after, limit).await?;
    Ok((all, page))
}

/// A location's stock by part number: on hand, faulty pieces, reorder point, with the totals.
#[utoipa::path(get, path = "/api/v1/stock", params(StockParams),
    responses((status = 200, body = StockPage), (status = 404), (status = 422)), tag = "stock")]
async fn api_stock(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<StockParams>,
) -> AppResult<axum::Json<StockPage>> {
    Ok(axum::Json(stock_of(&st, &ctx, &p, p.limit.unwrap_or(50)).await?.1))
}

#[derive(Template)]
#[template(path = "stock/stock.html")]
struct StockHtml {
    l: Layout,
    locations: Vec<Warehouse>,
    page: StockPage,
    q: String,
    held: bool,
    kinds: Vec<(&'static str, String)>,
    form: FormData,
    errors: FormErrors,
}
impl StockLabels for StockHtml {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

async fn stock_view(
    st: &AppState,
    ctx: &Ctx,
    p: StockParams,
    mut form: FormData,
    errors: Vec<FieldError>,
) -> AppResult<Response> {
    let (locations, page) = stock_of(st, ctx, &p, 50).await?;
    // stock_of refused anything but a yes or a no already.
    let held = super::api::flag_param("held", &p.held, &mut vec![]);
    if form.get("idem").is_empty() {
        form.set("idem", &crate::service::new_secret().0[..32]);
    }
    let kinds = MovementKind::ALL
        .iter()
        .filter(|k| k.is_manual())
        .map(|k| (k.code(), k.name(ctx.locale).to_string()))
        .collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render_status(
        status,
        &StockHtml {
            l: Layout::new(ctx, "stock.title"),
            locations,
            page,
            q: p.q,
            held,
            kinds,
            form,
            errors: FormErrors::new(errors, ctx.locale),
        },
    ))
}

async fn stock_page(State(st): State<AppState>, ctx: Ctx, Query(p): Query<StockParams>) -> AppResult<Response> {
    stock_view(&st, &ctx, p, FormData::default(), vec![]).await
}

// ================================================================ movements

/// Posts a stock movement (receipt, transfer, issue to an order, returns, scrap, disposal of
/// faulty parts, count adjustment). Taking more than a location holds is refused whole (422
/// on `qty`, naming the location and what it holds).
#[utoipa::path(post, path = "/api/v1/stock/movements", request_body = MovementRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried post return the first answer")),
    responses((status = 201, body = Posted), (status = 403), (status = 422)), tag = "stock")]
async fn api_post(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<MovementRequest>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    super::api::create_once(&st, &actor, &headers, "stock.post", async |idem| st.stock.post(&actor, &input, idem).await)
        .await
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct MovementParams {
    /// In or out of this location.
    warehouse_id: Option<i64>,
    part_id: Option<i64>,
    order_id: Option<i64>,
    /// A movement kind code.
    #[serde(default)]
    kind: String,
    /// `next_before` of the previous page.
    before_id: Option<i64>,
    /// Default 50, at most 500.
    limit: Option<i64>,
}

fn filter_of(p: &MovementParams, limit: i64) -> AppResult<MovementFilter> {
    let kind = match p.kind.trim() {
        "" => None,
        k => Some(MovementKind::parse(k).ok_or_else(|| AppError::one("kind", "error.bad_parameter"))?.code().into()),
    };
    Ok(MovementFilter {
        warehouse_id: p.warehouse_id,
        part_id: p.part_id,
        order_id: p.order_id,
        kind,
        before_id: p.before_id,
        limit,
    })
}

/// Movements, newest first, filtered by location, part, order or kind.
#[utoipa::path(get, path = "/api/v1/stock/movements", params(MovementParams),
    responses((status = 200, body = MovementPage), (status = 422)), tag = "stock")]
async fn api_movements(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<MovementParams>,
) -> AppResult<axum::Json<MovementPage>> {
    let f = filter_of(&p, p.limit.unwrap_or(50))?;
    Ok(axum::Json(svc::movements(&st.db, &ctx.actor()?, f).await?))
}

#[utoipa::path(get, path = "/api/v1/stock/movements/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = Movement), (status = 404)), tag = "stock")]
async fn api_movement(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<axum::Json<Movement>> {
    Ok(axum::Json(svc::movement(&st.db, &ctx.actor()?, id).await?))
}

#[derive(Template)]
#[template(path = "stock/movements.html")]
struct MovementsHtml {
    l: Layout,
    locations: Vec<Warehouse>,
    page: MovementPage,
    warehouse_id: Option<i64>,
    kind: String,
    kinds: Vec<(&'static str, String)>,
    /// The filters as a query string (without the cursor).
    filters: String,
}
impl StockLabels for MovementsHtml {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl MovementsHtml {
    fn is_location(&self, id: &i64) -> bool {
        self.warehouse_id == Some(*id)
    }
}

#[derive(Debug, Default, Deserialize)]
struct FormatQuery {
    /// xlsx | csv: the whole filtered history as a spreadsheet.
    #[serde(default)]
    format: String,
}

async fn movements_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(p): Query<MovementParams>,
    Query(q): Query<FormatQuery>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    if !q.format.is_empty() {
        let format = export_format(&q.format)?;
        let (f, db, actor) = (&filter_of(&p, 500)?, &st.db, &actor);
        let all = super::archive::every_page(|after: Option<String>| async move {
            let before_id = after.and_then(|a| a.parse().ok()).or(f.before_id);
            let page = svc::movements(db, actor, MovementFilter { before_id, ..f.clone() }).await?;
            Ok((page.items, page.next_before.map(|b| b.to_string())))
        })
        .await?;
        let t = movement_table(&ctx, all);
        return Ok(download(crate::tabular::render(t, format, "stock-movements").await?, format, "stock-movements"));
    }
    let page = svc::movements(&st.db, &actor, filter_of(&p, 50)?).await?;
    let (locations, _) = svc::locations(&st.db, &actor).await?;
    let mut filters = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [("warehouse_id", p.warehouse_id), ("part_id", p.part_id), ("order_id", p.order_id)] {
        if let Some(v) = v {
            filters.append_pair(k, &v.to_string());
        }
    }
    if !p.kind.is_empty() {
        filters.append_pair("kind", &p.kind);
    }
    let kinds = MovementKind::ALL.iter().map(|k| (k.code(), k.name(ctx.locale).to_string())).collect();
    Ok(render(&MovementsHtml {
        l: Layout::new(&ctx, "stock.movements_title"),
        locations,
        page,
        warehouse_id: p.warehouse_id,
        kind: p.kind.clone(),
        kinds,
        filters: filters.finish(),
    }))
}

fn movement_table(ctx: &Ctx, items: Vec<Movement>) -> Table {
    let kind = |c: &str| MovementKind::parse(c).map(|k| k.name(ctx.locale).to_string()).unwrap_or_else(|| c.into());
    let rows = items
        .into_iter()
        .map(|m| {
            vec![
                Some(m.id).into(),
                m.created_at.with_timezone(&chrono_tz::Asia::Shanghai).format("%Y-%m-%d %H:%M").to_string().into(),
                kind(&m.kind).into(),
                m.part_no.clone().into(),
                m.part_name(ctx.locale).to_string().into(),
                Some(m.qty).into(),
                m.from_name.clone().into(),
                m.to_name.clone().into(),
                m.order_id.into(),
                m.serial.clone().into(),
                m.old_serial.clone().into(),
                m.batch.clone().into(),
                m.supplier.clone().into(),
                crate::tabular::Cell::Number(m.unit_cost_cents as f64 / 100.0),
                crate::tabular::Cell::Number(m.price_cents as f64 / 100.0),
                m.actor_name.clone().into(),
                m.note.clone().into(),
            ]
        })
        .collect();
    let keys = [
        "stock.number",
        "stock.at",
        "stock.kind",
        "stock.part_no",
        "stock.part_name",
        "stock.qty",
        "stock.from",
        "stock.to",
        "stock.order",
        "stock.serial",
        "stock.old_serial",
        "stock.batch",
        "stock.supplier",
        "stock.unit_cost",
        "stock.price",
        "stock.by",
        "stock.note",
    ];
    Table { headers: keys.iter().map(|k| ctx.t(k)).collect(), rows }
}

/// A movement from a form's fields (the page's and the order page's).
pub fn request_of(form: &FormData, errors: &mut Vec<FieldError>) -> MovementRequest {
    let num = |field: &str, errors: &mut Vec<FieldError>| -> Option<i64> {
        let v = form.get(field);
        let v = v.trim();
        if v.is_empty() {
            return None;
        }
        v.parse().map(Some).unwrap_or_else(|_| {
            errors.push(field_error(field, "stock.error.number"));
            None
        })
    };
    let opt = |field: &str| Some(form.get(field).trim().to_string()).filter(|s| !s.is_empty());
    let unit_cost_cents = crate::domain::money::parse_yuan(&form.get("unit_cost")).unwrap_or_else(|_| {
        errors.push(field_error("unit_cost_cents", "stock.error.cost"));
        None
    });
    MovementRequest {
        kind: form.get("kind"),
        part_id: form.id("part_id"),
        part_no: opt("part_no"),
        qty: num("qty", errors),
        counted: num("counted", errors),
        from_id: form.id("from_id"),
        to_id: form.id("to_id"),
        order_id: num("order_id", errors),
        ref_id: form.id("ref_id"),
        serial: opt("serial"),
        old_serial: opt("old_serial"),
        batch: opt("batch"),
        supplier: opt("supplier"),
        unit_cost_cents,
        note: form.get("note"),
    }
}

/// The stock page's movement form.
async fn post_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let actor = ctx.actor()?;
    let mut errors = vec![];
    let r = request_of(&form, &mut errors);
    let back = form.id("warehouse_id");
    let key = form.get("idem");
    let (idem, done) = super::api::page_idem(&st, &actor, &key, "stock.post.page", "/movement/id").await?;
    let params = StockParams { warehouse_id: back, ..Default::default() };
    if done.is_some() {
        return Ok(Redirect::to(&format!("/stock?warehouse_id={}", back.unwrap_or_default())).into_response());
    }
    let result = if errors.is_empty() {
        st.stock.post(&actor, &r, idem.as_ref()).await
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(_) => {
            Ok(Redirect::to(&format!("/stock?warehouse_id={}&posted=1", back.unwrap_or_default())).into_response())
        }
        Err(AppError::Validation(list)) => stock_view(&st, &ctx, params, form, list).await,
        Err(e) => Err(e),
    }
}

// ================================================================ picking accuracy

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PeriodParams {
    /// First day (default: the first day of the month eleven months ago).
    from: Option<NaiveDate>,
    /// Last day (default today).
    to: Option<NaiveDate>,
}

fn period(p: &PeriodParams) -> (NaiveDate, NaiveDate) {
    let to = p.to.unwrap_or_else(today);
    let first = to.with_day(1).unwrap_or(to);
    let from = p.from.unwrap_or_else(|| first.checked_sub_months(Months::new(11)).unwrap_or(first));
    (from, to)
}

/// Picking accuracy per location and month: picks (transfers and issues), those that came back
/// as wrong parts, the rate against the target (RULES §7: ≥ 98 %).
#[utoipa::path(get, path = "/api/v1/stock/accuracy", params(PeriodParams),
    responses((status = 200, body = AccuracyReport), (status = 422)), tag = "stock")]
async fn api_accuracy(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<PeriodParams>,
) -> AppResult<axum::Json<AccuracyReport>> {
    let (from, to) = period(&p);
    Ok(axum::Json(svc::accuracy(&st.db, &ctx.actor()?, from, to).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct TargetInput {
    /// Per cent, 50–100.
    target: f64,
}

/// Sets the picking accuracy target (managers and the warehouse; 98 % by default).
#[utoipa::path(put, path = "/api/v1/stock/accuracy-target", request_body = TargetInput,
    responses((status = 200, body = f64), (status = 403), (status = 422)), tag = "stock")]
async fn api_accuracy_target(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiJson(t): ApiJson<TargetInput>,
) -> AppResult<axum::Json<f64>> {
    Ok(axum::Json(svc::set_accuracy_target(&st.db, &ctx.actor()?, t.target).await?))
}

#[derive(Template)]
#[template(path = "stock/accuracy.html")]
struct AccuracyHtml {
    l: Layout,
    r: AccuracyReport,
}
impl StockLabels for AccuracyHtml {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

async fn accuracy_page(State(st): State<AppState>, ctx: Ctx, Query(p): Query<PeriodParams>) -> AppResult<Response> {
    let (from, to) = period(&p);
    let r = svc::accuracy(&st.db, &ctx.actor()?, from, to).await?;
    Ok(render(&AccuracyHtml { l: Layout::new(&ctx, "stock.accuracy_title"), r }))
}

// ================================================================ key-part failures

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct FailureParams {
    /// First month, YYYY-MM (default: eleven months before `to`).
    #[serde(default)]
    from: String,
    /// Last month, YYYY-MM (default this month).
    #[serde(default)]
    to: String,
    /// 1: every part, not only key parts.
    #[serde(default)]
    all: String,
}

fn months_of(p: &FailureParams) -> AppResult<(String, String, bool)> {
    let mut errors = vec![];
    let all = super::api::flag_param("all", &p.all, &mut errors);
    AppError::check(errors)?;
    let this = today().with_day(1).unwrap_or_else(today);
    let to = if p.to.trim().is_empty() { this.format("%Y-%m").to_string() } else { p.to.trim().to_string() };
    let from = if p.from.trim().is_empty() {
        NaiveDate::parse_from_str(&format!("{to}-01"), "%Y-%m-%d")
            .ok()
            .and_then(|d| d.checked_sub_months(Months::new(11)))
            .map(|d| d.format("%Y-%m").to_string())
            .ok_or_else(|| AppError::one("to", "error.bad_parameter"))?
    } else {
        p.from.trim().to_string()
    };
    Ok((from, to, all))
}

/// Faulty parts returned per part and month, by model, batch and supplier (key parts unless
/// `all=1`), with the open alerts and the alert policy.
#[utoipa::path(get, path = "/api/v1/stock/failures", params(FailureParams),
    responses((status = 200, body = FailureReport), (status = 422)), tag = "stock")]
async fn api_failures(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<FailureParams>,
) -> AppResult<axum::Json<FailureReport>> {
    let (from, to, all) = months_of(&p)?;
    Ok(axum::Json(svc::failures(&st.db, &ctx.actor()?, &from, &to, all).await?))
}

/// The key-part failure alert policy (rules::parts::FailurePolicy).
#[utoipa::path(get, path = "/api/v1/stock/failure-policy",
    responses((status = 200, description = "version, baseline_months, factor, min_failures")), tag = "stock")]
async fn api_policy(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    Ok(axum::Json(svc::failure_policy(&st.db, &ctx.actor()?).await?).into_response())
}

/// Saves the next version of the alert policy (`version` must be the current one: 409 otherwise).
#[utoipa::path(put, path = "/api/v1/stock/failure-policy",
    request_body(content = Object, description = "version, baseline_months (1–36), factor (1–100), min_failures"),
    responses((status = 200), (status = 403), (status = 409), (status = 422)), tag = "stock")]
async fn api_set_policy(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiJson(p): ApiJson<rules::parts::FailurePolicy>,
) -> AppResult<Response> {
    Ok(axum::Json(svc::set_failure_policy(&st.db, &ctx.actor()?, &p).await?).into_response())
}

/// Quality acknowledges an alert or closes it with what was found (over its `version`).
#[utoipa::path(put, path = "/api/v1/stock/alerts/{id}", params(("id" = i64, Path)), request_body = AlertUpdate,
    responses((status = 200, body = PartAlert), (status = 403), (status = 404), (status = 409), (status = 422)),
    tag = "stock")]
async fn api_alert(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(u): ApiJson<AlertUpdate>,
) -> AppResult<axum::Json<PartAlert>> {
    Ok(axum::Json(svc::update_alert(&st.db, &ctx.actor()?, id, &u).await?))
}

#[derive(Template)]
#[template(path = "stock/failures.html")]
struct FailuresHtml {
    l: Layout,
    r: FailureReport,
    all: bool,
    errors: FormErrors,
}
impl StockLabels for FailuresHtml {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl FailuresHtml {
    fn part_name<'a>(&self, p: &'a PartFailures) -> &'a str {
        if self.l.locale.starts_with("en") && !p.name_en.is_empty() { &p.name_en } else { &p.name_zh }
    }
    fn alert_name<'a>(&self, a: &'a PartAlert) -> &'a str {
        if self.l.locale.starts_with("en") && !a.name_en.is_empty() { &a.name_en } else { &a.name_zh }
    }
    /// A bar's height in pixels (of 40) for a month's count against the part's busiest month.
    fn bar(&self, n: &i64, p: &PartFailures) -> i64 {
        let max = p.by_month.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
        (n * 40 / max).max(if *n > 0 { 2 } else { 0 })
    }
    fn top(&self, v: &[(String, i64)]) -> String {
        v.iter()
            .take(3)
            .map(|(k, n)| format!("{} ×{n}", if k.is_empty() { "—" } else { k }))
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

async fn failures_view(st: &AppState, ctx: &Ctx, p: FailureParams, errors: Vec<FieldError>) -> AppResult<Response> {
    let (from, to, all) = months_of(&p)?;
    let r = svc::failures(&st.db, &ctx.actor()?, &from, &to, all).await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render_status(
        status,
        &FailuresHtml {
            l: Layout::new(ctx, "stock.failures_title"),
            r,
            all,
            errors: FormErrors::new(errors, ctx.locale),
        },
    ))
}

async fn failures_page(State(st): State<AppState>, ctx: Ctx, Query(p): Query<FailureParams>) -> AppResult<Response> {
    failures_view(&st, &ctx, p, vec![]).await
}

async fn alert_submit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let u = AlertUpdate {
        version: form.get("version").trim().parse().unwrap_or_default(),
        status: form.get("status"),
        note: form.get("note"),
    };
    match svc::update_alert(&st.db, &ctx.actor()?, id, &u).await {
        Ok(_) => Ok(Redirect::to("/stock/failures").into_response()),
        Err(AppError::Validation(list)) => failures_view(&st, &ctx, FailureParams::default(), list).await,
        Err(e) => Err(e),
    }
}

// ================================================================ a work order's parts

/// What the order page shows of its parts: the movements, and where its engineer takes pieces
/// from (his van) with what it holds.
pub struct OrderParts {
    pub movements: Vec<Movement>,
    pub requests: Vec<PartRequest>,
    /// The warehouses a request may ask (every active location but vans).
    pub sources: Vec<Warehouse>,
    pub van: Option<Warehouse>,
    pub van_stock: Vec<StockRow>,
}

impl OrderParts {
    /// Issued pieces still on the order per issue (for the return forms).
    pub fn issues(&self) -> Vec<(&Movement, i64)> {
        self.movements
            .iter()
            .filter(|m| m.kind == MovementKind::Issue.code())
            .map(|m| {
                let back: i64 = self
                    .movements
                    .iter()
                    .filter(|r| r.ref_id == Some(m.id) && (r.kind == "return_unused" || r.kind == "return_wrong"))
                    .map(|r| r.qty)
                    .sum();
                (m, m.qty - back)
            })
            .collect()
    }
}

/// The order's movements and its engineer's van stock (empty parts for readers without an order
/// engineer or van).
pub async fn order_parts(st: &AppState, ctx: &Ctx, order_id: i64, engineer_id: Option<i64>) -> AppResult<OrderParts> {
    let actor = ctx.actor()?;
    let f = MovementFilter { order_id: Some(order_id), limit: 200, ..Default::default() };
    let movements = svc::movements(&st.db, &actor, f).await?.items;
    let (locations, _) = svc::locations(&st.db, &actor).await?;
    let f = crate::store::part_requests::Filter { order_id: Some(order_id), limit: 100, ..Default::default() };
    let requests = requests::list(&st.db, &actor, &f).await?;
    let van = locations.iter().find(|w| engineer_id.is_some() && w.engineer_id == engineer_id).cloned();
    let sources = locations.into_iter().filter(|w| w.kind != "van").collect();
    let van_stock = match &van {
        Some(v) => svc::stock_page(&st.db, &actor, v.id, Some(v.clone()), None, true, None, 200).await?.rows,
        None => vec![],
    };
    Ok(OrderParts { movements, requests, sources, van, van_stock })
}

// ================================================================ parts requests

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct RequestParams {
    /// The warehouse asked.
    warehouse_id: Option<i64>,
    order_id: Option<i64>,
    van_id: Option<i64>,
    /// open (default: the picking queue, oldest first) | all (newest first)
    #[serde(default)]
    status: String,
    /// Default 100, at most 500.
    limit: Option<i64>,
}

fn request_filter(p: &RequestParams) -> AppResult<crate::store::part_requests::Filter> {
    let open_only = match p.status.trim() {
        "" | "open" => true,
        "all" => false,
        _ => return Err(AppError::one("status", "error.bad_parameter")),
    };
    Ok(crate::store::part_requests::Filter {
        warehouse_id: p.warehouse_id,
        order_id: p.order_id,
        van_id: p.van_id,
        open_only,
        limit: p.limit.unwrap_or(100),
    })
}

/// Parts requests: a warehouse's picking queue (open, oldest first) or every request.
#[utoipa::path(get, path = "/api/v1/stock/requests", params(RequestParams),
    responses((status = 200, body = [PartRequest]), (status = 422)), tag = "stock")]
async fn api_requests(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<RequestParams>,
) -> AppResult<axum::Json<Vec<PartRequest>>> {
    Ok(axum::Json(requests::list(&st.db, &ctx.actor()?, &request_filter(&p)?).await?))
}

/// Asks a warehouse for parts, delivered to a van (default the caller's) — an engineer for his
/// own van and orders. The warehouse staff are e-mailed.
#[utoipa::path(post, path = "/api/v1/stock/requests", request_body = RequestInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request return the first answer")),
    responses((status = 201, body = PartRequest), (status = 403), (status = 422)), tag = "stock")]
async fn api_request_create(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<RequestInput>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    super::api::create_once(&st, &actor, &headers, "stock.request", async |idem| {
        requests::create(&st.db, &actor, &input, idem).await
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct VersionInput {
    version: i64,
}

/// The warehouse picks a request: a transfer from the warehouse into the van (409 when the
/// request changed or closed meanwhile; 422 on `qty` when the warehouse lacks the pieces).
#[utoipa::path(post, path = "/api/v1/stock/requests/{id}/fulfil", params(("id" = i64, Path)),
    request_body = VersionInput,
    responses((status = 200, body = PartRequest), (status = 403), (status = 409), (status = 422)), tag = "stock")]
async fn api_request_fulfil(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(v): ApiJson<VersionInput>,
) -> AppResult<axum::Json<PartRequest>> {
    Ok(axum::Json(requests::fulfil(&st.db, &ctx.actor()?, id, v.version).await?))
}

/// Cancels an open request with a reason (the warehouse, or whoever asked).
#[utoipa::path(post, path = "/api/v1/stock/requests/{id}/cancel", params(("id" = i64, Path)),
    request_body = CloseInput,
    responses((status = 200, body = PartRequest), (status = 403), (status = 409), (status = 422)), tag = "stock")]
async fn api_request_cancel(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(c): ApiJson<CloseInput>,
) -> AppResult<axum::Json<PartRequest>> {
    Ok(axum::Json(requests::cancel(&st.db, &ctx.actor()?, id, &c).await?))
}

#[derive(Template)]
#[template(path = "stock/requests.html")]
struct RequestsHtml {
    l: Layout,
    locations: Vec<Warehouse>,
    warehouse_id: Option<i64>,
    open_only: bool,
    items: Vec<PartRequest>,
    errors: FormErrors,
}
impl StockLabels for RequestsHtml {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl RequestsHtml {
    fn is_location(&self, id: &i64) -> bool {
        self.warehouse_id == Some(*id)
    }
}

async fn requests_view(st: &AppState, ctx: &Ctx, p: RequestParams, errors: Vec<FieldError>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let f = request_filter(&p)?;
    let items = requests::list(&st.db, &actor, &f).await?;
    let (locations, _) = svc::locations(&st.db, &actor).await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render_status(
        status,
        &RequestsHtml {
            l: Layout::new(ctx, "stock.requests_title"),
            locations: locations.into_iter().filter(|w| w.kind != "van").collect(),
            warehouse_id: p.warehouse_id,
            open_only: f.open_only,
            items,
            errors: FormErrors::new(errors, ctx.locale),
        },
    ))
}

async fn requests_page(State(st): State<AppState>, ctx: Ctx, Query(p): Query<RequestParams>) -> AppResult<Response> {
    requests_view(&st, &ctx, p, vec![]).await
}

/// The picking queue's buttons (fulfil, cancel) and the order page's request form (`new`).
async fn request_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, action)): Path<(i64, String)>,
    body: Bytes,
) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let actor = ctx.actor()?;
    let version = form.get("version").trim().parse().unwrap_or_default();
    let back = form.get("back");
    let back = if back.starts_with('/') && !back.starts_with("//") { back } else { "/stock/requests".into() };
    let result = match action.as_str() {
        "fulfil" => requests::fulfil(&st.db, &actor, id, version).await.map(|_| ()),
        "cancel" => {
            requests::cancel(&st.db, &actor, id, &CloseInput { version, note: form.get("note") }).await.map(|_| ())
        }
        _ => return Err(AppError::NotFound),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&back).into_response()),
        Err(AppError::Validation(list)) => {
            requests_view(
                &st,
                &ctx,
                RequestParams { warehouse_id: form.id("warehouse_id"), ..Default::default() },
                list,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// The order page's "ask the warehouse" form.
pub async fn order_request(st: &AppState, ctx: &Ctx, order_id: i64, form: &FormData) -> AppResult<()> {
    let actor = ctx.actor()?;
    let mut errors = vec![];
    let qty = match form.get("qty").trim() {
        "" => None,
        v => v.parse().map(Some).unwrap_or_else(|_| {
            errors.push(field_error("qty", "stock.error.number"));
            None
        }),
    };
    let input = RequestInput {
        part_id: None,
        part_no: Some(form.get("part_no")),
        qty,
        warehouse_id: form.id("warehouse_id"),
        van_id: form.id("van_id"),
        order_id: Some(order_id),
        note: form.get("note"),
    };
    AppError::check(errors)?;
    let key = form.get("idem");
    let (idem, done) = super::api::page_idem(st, &actor, &key, "stock.request.page", "/id").await?;
    if done.is_some() {
        return Ok(());
    }
    requests::create(&st.db, &actor, &input, idem.as_ref()).await.map(|_| ())
}
