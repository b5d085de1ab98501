//! The parts catalogue and the stock locations (R8.1): the catalogue with its search, a part's
//! page with its stock per location and its edit form, the warehouses with the reorder points
//! of their parts, the replenishment list with its exports, and the JSON API for all of it.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use rules::FieldError;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use super::api::{ApiJson, ApiQuery};
use super::archive::{ExportFormat, download, export_format};
use super::web::{FormData, FormErrors, Layout, render, render_status};
use super::{AppState, Ctx};
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::service::parts::{
    self as svc, PartDetail, PartInput, PartPage, PartQuery, PartUpdate, ReorderInput, ReplenishmentItem,
    ReplenishmentPage, ReplenishmentQuery, WarehouseDetail, WarehouseInput, WarehouseUpdate, yuan,
};
use crate::store::parts::{FittedModel, LowStock, Part, StockAt, WarehouseView};
use crate::store::products::Model;
use crate::tabular::{Cell, Table};

#[derive(OpenApi)]
#[openapi(
    paths(api_list, api_create, api_get, api_update, api_replenishment, api_replenishment_export,
        api_warehouses, api_create_warehouse, api_get_warehouse, api_update_warehouse, api_reorder),
    components(schemas(Part, FittedModel, StockAt, PartDetail, PartPage, PartInput, PartUpdate, LowStock,
        ReplenishmentItem, ReplenishmentPage, WarehouseView, WarehouseDetail, WarehouseInput, WarehouseUpdate,
        ReorderInput)),
    tags((name = "parts", description = "The parts catalogue, stock locations, reorder points and replenishment (R8.1)"))
)]
pub struct ApiDoc;

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/parts", get(api_list).post(api_create))
        .route("/parts/replenishment", get(api_replenishment))
        .route("/parts/replenishment/export", get(api_replenishment_export))
        .route("/parts/{id}", get(api_get).put(api_update))
        .route("/warehouses", get(api_warehouses).post(api_create_warehouse))
        .route("/warehouses/{id}", get(api_get_warehouse).put(api_update_warehouse))
        .route("/warehouses/{id}/reorder", put(api_reorder))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/parts", get(list_page))
        .route("/parts/new", get(new_page).post(new_submit))
        .route("/parts/replenishment", get(replenishment_page))
        .route("/parts/{id}", get(show_page).post(edit_submit))
        .route("/warehouses", get(warehouses_page))
        .route("/warehouses/new", get(new_warehouse_page).post(new_warehouse_submit))
        .route("/warehouses/{id}", get(warehouse_page).post(warehouse_submit))
        .route("/warehouses/{id}/reorder", post(reorder_submit))
}

/// Names of the codes and amounts a page shows, in its language.
pub trait PartLabels {
    fn layout(&self) -> &Layout;

    fn money<C: std::borrow::Borrow<i64>>(&self, cents: C) -> String {
        format!("¥{}", yuan(*cents.borrow()))
    }
    fn kind_label(&self, kind: &str) -> String {
        self.layout().t(&format!("warehouse.kind.{kind}"))
    }
    fn part_name(&self, p: &Part) -> String {
        p.name(self.layout().locale).to_string()
    }
    fn stock_name(&self, s: &StockAt) -> String {
        s.name(self.layout().locale).to_string()
    }
    /// How many to order when at or below the reorder point, else "—".
    fn to_order(&self, s: &StockAt) -> String {
        s.to_order().map(|n| n.to_string()).unwrap_or_else(|| "—".into())
    }
}

/// Amounts typed in yuan into a page form, as cents (empty is 0).
fn cents_of(form: &FormData, name: &str, field: &str, errors: &mut Vec<FieldError>) -> i64 {
    match svc::parse_yuan(&form.get(name)) {
        Ok(v) => v.unwrap_or(0),
        Err(svc::BadAmount) => {
            errors.push(field_error(field, "part.error.amount"));
            0
        }
    }
}

/// A whole number typed into a page form (empty is 0).
fn int_of(form: &FormData, field: &str, errors: &mut Vec<FieldError>) -> i64 {
    match form.get(field).trim() {
        "" => 0,
        t => t.parse().unwrap_or_else(|_| {
            errors.push(field_error(field, "error.number"));
            0
        }),
    }
}

/// Parse errors first; the service's own checks for the fields that parsed.
fn merge(mut parsed: Vec<FieldError>, checks: Vec<FieldError>) -> Vec<FieldError> {
    let failed: Vec<String> = parsed.iter().map(|e| e.field.clone()).collect();
    parsed.extend(checks.into_iter().filter(|e| !failed.contains(&e.field)));
    parsed
}

fn version_of(form: &FormData) -> i64 {
    form.get("version").trim().parse().unwrap_or(0)
}

// ================================================================ the catalogue

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Part number prefix, or a word of the Chinese or English name.
    #[serde(default)]
    q: String,
    /// 1: key parts only.
    #[serde(default)]
    key: String,
    /// active (default) | inactive | any
    #[serde(default)]
    active: String,
    /// Parts that fit this product model.
    model_id: Option<i64>,
    /// `next_after` of the previous page.
    #[serde(default)]
    after: String,
    /// Default 50, at most 200.
    limit: Option<i64>,
}

fn query_of(p: &ListParams, limit: i64) -> AppResult<PartQuery> {
    let mut errors = vec![];
    let key_only = super::api::flag_param("key", &p.key, &mut errors);
    let active = svc::parse_active(&p.active).unwrap_or_else(|| {
        errors.push(field_error("active", "error.bad_parameter"));
        None
    });
    AppError::check(errors)?;
    Ok(PartQuery {
        q: p.q.trim().to_string(),
        key_only,
        active,
        model_id: p.model_id,
        after: Some(p.after.clone()).filter(|s| !s.is_empty()),
        limit,
    })
}

/// The catalogue by part number: search by part number prefix or a word of the name, key parts
/// only, active or not, parts fitting a model.
#[utoipa::path(get, path = "/api/v1/parts", params(ListParams),
    responses((status = 200, body = PartPage), (status = 401), (status = 422)), tag = "parts")]
async fn api_list(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<ListParams>,
) -> AppResult<axum::Json<PartPage>> {
    let q = query_of(&p, p.limit.unwrap_or(50))?;
    Ok(axum::Json(svc::list(&st.db, &ctx.actor()?, &q).await?))
}

#[derive(Template)]
#[template(path = "parts/list.html")]
struct ListPage {
    l: Layout,
    page: PartPage,
    q: String,
    key_only: bool,
    active: String,
    /// The filters as a query string (without the cursor), for the next page.
    filters: String,
}
impl PartLabels for ListPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

async fn list_page(State(st): State<AppState>, ctx: Ctx, Query(p): Query<ListParams>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let q = query_of(&p, 50)?;
    let page = svc::list(&st.db, &actor, &q).await?;
    let mut filters = form_urlencoded::Serializer::new(String::new());
    filters.append_pair("q", &q.q);
    if q.key_only {
        filters.append_pair("key", "1");
    }
    if !p.active.is_empty() {
        filters.append_pair("active", &p.active);
    }
    Ok(render(&ListPage {
        l: Layout::new(&ctx, "part.title"),
        page,
        q: q.q,
        key_only: q.key_only,
        active: if p.active.is_empty() { "active".into() } else { p.active.clone() },
        filters: filters.finish(),
    }))
}

/// Adds a part to the catalogue (warehouse, managers). A part number in use is refused,
/// naming the part that has it.
#[utoipa::path(post, path = "/api/v1/parts", request_body = PartInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first answer")),
    responses((status = 201, body = PartDetail), (status = 403), (status = 422)), tag = "parts")]
async fn api_create(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<PartInput>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    super::api::create_once(&st, &actor, &headers, "parts.create", async |idem| {
        svc::create(&st.db, &actor, &input, idem).await
    })
    .await
}

/// A part with the models it fits and its stock at every location.
#[utoipa::path(get, path = "/api/v1/parts/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = PartDetail), (status = 401), (status = 404)), tag = "parts")]
async fn api_get(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<axum::Json<PartDetail>> {
    Ok(axum::Json(svc::get(&st.db, &ctx.actor()?, id).await?))
}

/// Changes a part over its `version` (fields left out keep their value); `active` false
/// deactivates it, true reactivates it. 409 when it changed meanwhile.
#[utoipa::path(put, path = "/api/v1/parts/{id}", params(("id" = i64, Path)), request_body = PartUpdate,
    responses((status = 200, body = PartDetail), (status = 403), (status = 404), (status = 409), (status = 422)),
    tag = "parts")]
async fn api_update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<PartUpdate>,
) -> AppResult<axum::Json<PartDetail>> {
    Ok(axum::Json(svc::update(&st.db, &ctx.actor()?, id, &input).await?))
}

/// The part form as typed: amounts in yuan, the models ticked.
fn part_input(form: &FormData) -> (PartInput, Vec<FieldError>) {
    let mut errors = vec![];
    let input = PartInput {
        part_no: form.get("part_no"),
        name_zh: form.get("name_zh"),
        name_en: form.get("name_en"),
        key_part: form.get("key_part") == "on",
        serial_tracked: form.get("serial_tracked") == "on",
        unit_cost_cents: cents_of(form, "unit_cost", "unit_cost_cents", &mut errors),
        price_cents: cents_of(form, "price", "price_cents", &mut errors),
        supplier: form.get("supplier"),
        model_ids: form.all("model_id").iter().filter_map(|s| s.trim().parse().ok()).collect(),
    };
    (input, errors)
}

/// The form's values of a part (for the edit form).
fn form_of(p: &PartDetail) -> FormData {
    let mut f = FormData::default();
    let part = &p.part;
    f.set("part_no", &part.part_no);
    f.set("name_zh", &part.name_zh);
    f.set("name_en", &part.name_en);
    f.set("supplier", &part.supplier);
    f.set("unit_cost", &yuan(part.unit_cost_cents));
    f.set("price", &yuan(part.price_cents));
    if part.key_part {
        f.set("key_part", "on");
    }
    if part.serial_tracked {
        f.set("serial_tracked", "on");
    }
    f
}

#[derive(Template)]
#[template(path = "parts/new.html")]
struct NewPage {
    l: Layout,
    models: Vec<Model>,
    form: FormData,
    errors: FormErrors,
}
impl NewPage {
    fn ticked(&self, id: &i64) -> bool {
        self.form.all("model_id").contains(&id.to_string())
    }
}

async fn new_view(st: &AppState, ctx: &Ctx, mut form: FormData, errors: Vec<FieldError>) -> AppResult<Response> {
    ctx.actor()?.require(crate::domain::Perm::ManageParts)?;
    if form.get("idem").is_empty() {
        form.set("idem", &crate::service::new_secret().0[..32]);
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = NewPage {
        l: Layout::new(ctx, "part.new_title"),
        models: svc::models(&st.db).await?,
        form,
        errors: FormErrors::new(errors, ctx.locale),
    };
    Ok(render_status(status, &page))
}

async fn new_page(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    new_view(&st, &ctx, FormData::default(), vec![]).await
}

async fn new_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let actor = ctx.actor()?;
    let (input, errors) = part_input(&form);
    // The form carries a key made when it was shown, so a double click adds one part.
    let key = form.get("idem");
    let (idem, done) = super::api::page_idem(&st, &actor, &key, "parts.create.page", "/part/id").await?;
    if let Some(id) = done {
        return Ok(Redirect::to(&format!("/parts/{id}")).into_response());
    }
    let result = if errors.is_empty() {
        svc::create(&st.db, &actor, &input, idem.as_ref()).await
    } else {
        Err(AppError::Validation(merge(errors, svc::part_errors(&input).1)))
    };
    match result {
        Ok(d) => Ok(Redirect::to(&format!("/parts/{}", d.part.id)).into_response()),
        Err(AppError::Validation(list)) => new_view(&st, &ctx, form, list).await,
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "parts/show.html")]
struct ShowPage {
    l: Layout,
    d: PartDetail,
    models: Vec<Model>,
    /// What was typed into the edit form when it failed, else the part's values.
    form: FormData,
    failed: bool,
    errors: FormErrors,
}
impl PartLabels for ShowPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl ShowPage {
    fn ticked(&self, id: &i64) -> bool {
        if self.failed { self.form.all("model_id").contains(&id.to_string()) } else { self.d.fits(id) }
    }
}

async fn show_view(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    failed: Option<(FormData, Vec<FieldError>)>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let d = svc::get(&st.db, &actor, id).await?;
    let (form, errors, is_failed) = match failed {
        Some((form, errors)) => (form, errors, true),
        None => (form_of(&d), vec![], false),
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ShowPage {
        l: Layout::new(ctx, "part.title"),
        d,
        models: svc::models(&st.db).await?,
        form,
        failed: is_failed,
        errors: FormErrors::new(errors, ctx.locale),
    };
    Ok(render_status(status, &page))
}

async fn show_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    show_view(&st, &ctx, id, None).await
}

/// The part page's forms: `op` save (the edit form), deactivate or reactivate.
async fn edit_submit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let actor = ctx.actor()?;
    let version = version_of(&form);
    let result = match form.get("op").as_str() {
        "deactivate" | "reactivate" => {
            let upd = PartUpdate { version, active: Some(form.get("op") == "reactivate"), ..Default::default() };
            svc::update(&st.db, &actor, id, &upd).await
        }
        "save" => {
            let (input, errors) = part_input(&form);
            if errors.is_empty() {
                let upd = PartUpdate {
                    version,
                    part_no: Some(input.part_no),
                    name_zh: Some(input.name_zh),
                    name_en: Some(input.name_en),
                    key_part: Some(input.key_part),
                    serial_tracked: Some(input.serial_tracked),
                    unit_cost_cents: Some(input.unit_cost_cents),
                    price_cents: Some(input.price_cents),
                    supplier: Some(input.supplier),
                    model_ids: Some(input.model_ids),
                    active: None,
                };
                svc::update(&st.db, &actor, id, &upd).await
            } else {
                Err(AppError::Validation(merge(errors, svc::part_errors(&input).1)))
            }
        }
        _ => return Err(AppError::one("op", "error.bad_parameter")),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/parts/{id}")).into_response()),
        Err(AppError::Validation(list)) => show_view(&st, &ctx, id, Some((form, list))).await,
        Err(AppError::Conflict(key)) => show_view(&st, &ctx, id, Some((form, vec![field_error("version", key)]))).await,
        Err(e) => Err(e),
    }
}

// ================================================================ replenishment

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ReplenishmentParams {
    /// One location only.
    warehouse_id: Option<i64>,
    /// `next_after` of the previous page.
    #[serde(default)]
    after: String,
    /// Default 200, at most 500.
    limit: Option<i64>,
}

fn replenishment_query(p: &ReplenishmentParams, limit: i64) -> ReplenishmentQuery {
    ReplenishmentQuery { warehouse_id: p.warehouse_id, after: Some(p.after.clone()).filter(|s| !s.is_empty()), limit }
}

/// Every active part at an active location at or below its reorder point, by location code
/// and part number, with the quantity to order (the reorder quantity, or else up to twice the
/// point) and what it costs.
#[utoipa::path(get, path = "/api/v1/parts/replenishment", params(ReplenishmentParams),
    responses((status = 200, body = ReplenishmentPage), (status = 401), (status = 422)), tag = "parts")]
async fn api_replenishment(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<ReplenishmentParams>,
) -> AppResult<axum::Json<ReplenishmentPage>> {
    let q = replenishment_query(&p, p.limit.unwrap_or(200));
    Ok(axum::Json(svc::replenishment(&st.db, &ctx.actor()?, &q).await?))
}

fn replenishment_table(ctx: &Ctx, items: Vec<ReplenishmentItem>) -> Table {
    let rows = items
        .into_iter()
        .map(|i| {
            let name = i.name(ctx.locale).to_string();
            let r = i.row;
            vec![
                r.warehouse_code.into(),
                r.warehouse_name.into(),
                r.part_no.into(),
                name.into(),
                (if r.key_part { ctx.t("archive.yes") } else { String::new() }).into(),
                Some(r.on_hand).into(),
                Some(r.reorder_point).into(),
                Some(r.reorder_qty).into(),
                Some(i.to_order).into(),
                r.supplier.into(),
                Cell::Number(r.unit_cost_cents as f64 / 100.0),
                Cell::Number(i.order_cost_cents as f64 / 100.0),
            ]
        })
        .collect();
    let keys = [
        "warehouse.code",
        "warehouse.name",
        "part.part_no",
        "part.name",
        "part.key_part",
        "part.on_hand",
        "part.reorder_point",
        "part.reorder_qty",
        "part.to_order",
        "part.supplier",
        "part.unit_cost",
        "part.order_cost",
    ];
    Table { headers: keys.iter().map(|k| ctx.t(k)).collect(), rows }
}

/// The replenishment list (every page, one location or all) as a spreadsheet.
#[utoipa::path(get, path = "/api/v1/parts/replenishment/export", params(ReplenishmentParams, ExportFormat),
    responses((status = 200, description = "The spreadsheet")), tag = "parts")]
async fn api_replenishment_export(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<ReplenishmentParams>,
    ApiQuery(f): ApiQuery<ExportFormat>,
) -> AppResult<Response> {
    let format = export_format(&f.format)?;
    let actor = ctx.actor()?;
    let (q, db, actor) = (&replenishment_query(&p, 500), &st.db, &actor);
    let all = super::archive::every_page(|after| async move {
        let page = svc::replenishment(db, actor, &ReplenishmentQuery { after, ..q.clone() }).await?;
        Ok((page.items, page.next_after))
    })
    .await?;
    let t = replenishment_table(&ctx, all);
    Ok(download(crate::tabular::render(t, format, "replenishment").await?, format, "replenishment"))
}

#[derive(Template)]
#[template(path = "parts/replenishment.html")]
struct ReplenishmentPageView {
    l: Layout,
    page: ReplenishmentPage,
    warehouses: Vec<WarehouseView>,
    warehouse_id: Option<i64>,
    /// `warehouse_id=…` or empty, for the export links and the next page.
    filters: String,
}
impl PartLabels for ReplenishmentPageView {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl ReplenishmentPageView {
    fn item_name(&self, i: &ReplenishmentItem) -> String {
        i.name(self.l.locale).to_string()
    }
    fn is_chosen(&self, id: &i64) -> bool {
        self.warehouse_id == Some(*id)
    }
    fn total_cost(&self) -> i64 {
        self.page.items.iter().map(|i| i.order_cost_cents).sum()
    }
}

async fn replenishment_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(p): Query<ReplenishmentParams>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let page = svc::replenishment(&st.db, &actor, &replenishment_query(&p, 200)).await?;
    let filters = p.warehouse_id.map(|w| format!("warehouse_id={w}")).unwrap_or_default();
    Ok(render(&ReplenishmentPageView {
        l: Layout::new(&ctx, "part.replenishment"),
        page,
        warehouses: svc::list_warehouses(&st.db, &actor, Some(true)).await?,
        warehouse_id: p.warehouse_id,
        filters,
    }))
}

// ================================================================ warehouses

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct WarehouseListParams {
    /// active | inactive | any (default)
    #[serde(default)]
    active: String,
}

/// Every location: central, regional, then vans, by code.
#[utoipa::path(get, path = "/api/v1/warehouses", params(WarehouseListParams),
    responses((status = 200, body = Vec<WarehouseView>), (status = 401)), tag = "parts")]
async fn api_warehouses(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<WarehouseListParams>,
) -> AppResult<axum::Json<Vec<WarehouseView>>> {
    let active = match p.active.trim() {
        "" | "any" => None,
        other => svc::parse_active(other).ok_or_else(|| AppError::one("active", "error.bad_parameter"))?,
    };
    Ok(axum::Json(svc::list_warehouses(&st.db, &ctx.actor()?, active).await?))
}

/// Adds a location: central, regional (with its region) or an engineer's van (one each).
#[utoipa::path(post, path = "/api/v1/warehouses", request_body = WarehouseInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first answer")),
    responses((status = 201, body = WarehouseDetail), (status = 403), (status = 422)), tag = "parts")]
async fn api_create_warehouse(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<WarehouseInput>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    super::api::create_once(&st, &actor, &headers, "warehouses.create", async |idem| {
        svc::create_warehouse(&st.db, &actor, &input, idem).await
    })
    .await
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct StockParams {
    /// `stock_next_after` of the previous page of stock rows.
    #[serde(default)]
    after: String,
}

/// A location with its stock rows by part number (200 a page).
#[utoipa::path(get, path = "/api/v1/warehouses/{id}", params(("id" = i64, Path), StockParams),
    responses((status = 200, body = WarehouseDetail), (status = 401), (status = 404)), tag = "parts")]
async fn api_get_warehouse(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiQuery(p): ApiQuery<StockParams>,
) -> AppResult<axum::Json<WarehouseDetail>> {
    let after = Some(p.after.as_str()).filter(|s| !s.is_empty());
    Ok(axum::Json(svc::get_warehouse(&st.db, &ctx.actor()?, id, after).await?))
}

/// Changes a location over its `version`; `active` false deactivates it (only when it holds
/// no pieces), true reactivates it. 409 when it changed meanwhile.
#[utoipa::path(put, path = "/api/v1/warehouses/{id}", params(("id" = i64, Path)), request_body = WarehouseUpdate,
    responses((status = 200, body = WarehouseDetail), (status = 403), (status = 404), (status = 409), (status = 422)),
    tag = "parts")]
async fn api_update_warehouse(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<WarehouseUpdate>,
) -> AppResult<axum::Json<WarehouseDetail>> {
    Ok(axum::Json(svc::update_warehouse(&st.db, &ctx.actor()?, id, &input).await?))
}

/// Sets a part's reorder point and reorder quantity at the location (the quantities held are
/// not changed: only stock movements do that).
#[utoipa::path(put, path = "/api/v1/warehouses/{id}/reorder", params(("id" = i64, Path)), request_body = ReorderInput,
    responses((status = 200, body = StockAt), (status = 403), (status = 404), (status = 422)), tag = "parts")]
async fn api_reorder(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ReorderInput>,
) -> AppResult<axum::Json<StockAt>> {
    Ok(axum::Json(svc::set_reorder(&st.db, &ctx.actor()?, id, &input).await?))
}

#[derive(Template)]
#[template(path = "parts/warehouses.html")]
struct WarehousesPage {
    l: Layout,
    list: Vec<WarehouseView>,
}
impl PartLabels for WarehousesPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

async fn warehouses_page(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let list = svc::list_warehouses(&st.db, &actor, None).await?;
    Ok(render(&WarehousesPage { l: Layout::new(&ctx, "warehouse.title"), list }))
}

/// What the warehouse forms offer.
struct Choices {
    regions: Vec<crate::store::settings::Region>,
    engineers: Vec<(i64, String)>,
}

async fn choices(st: &AppState) -> AppResult<Choices> {
    let regions = {
        let mut c = st.db.read().await?;
        crate::store::settings::regions(c.conn()).await?
    };
    Ok(Choices { regions, engineers: svc::engineers(&st.db).await? })
}

fn warehouse_input(form: &FormData) -> WarehouseInput {
    WarehouseInput {
        code: form.get("code"),
        name: form.get("name"),
        kind: form.get("kind"),
        region_code: Some(form.get("region_code")),
        engineer_id: if form.get("kind") == "van" { form.id("engineer_id") } else { None },
    }
}

#[derive(Template)]
#[template(path = "parts/warehouse_new.html")]
struct NewWarehousePage {
    l: Layout,
    c: Choices,
    kinds: &'static [&'static str],
    wf: FormData,
    errors: FormErrors,
}
impl PartLabels for NewWarehousePage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

async fn new_warehouse_view(
    st: &AppState,
    ctx: &Ctx,
    mut form: FormData,
    errors: Vec<FieldError>,
) -> AppResult<Response> {
    ctx.actor()?.require(crate::domain::Perm::ManageParts)?;
    if form.get("idem").is_empty() {
        form.set("idem", &crate::service::new_secret().0[..32]);
    }
    if form.get("kind").is_empty() {
        form.set("kind", "regional");
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = NewWarehousePage {
        l: Layout::new(ctx, "warehouse.new_title"),
        c: choices(st).await?,
        kinds: &svc::KINDS,
        wf: form,
        errors: FormErrors::new(errors, ctx.locale),
    };
    Ok(render_status(status, &page))
}

async fn new_warehouse_page(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    new_warehouse_view(&st, &ctx, FormData::default(), vec![]).await
}

async fn new_warehouse_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let actor = ctx.actor()?;
    let key = form.get("idem");
    let (idem, done) = super::api::page_idem(&st, &actor, &key, "warehouses.create.page", "/warehouse/id").await?;
    if let Some(id) = done {
        return Ok(Redirect::to(&format!("/warehouses/{id}")).into_response());
    }
    match svc::create_warehouse(&st.db, &actor, &warehouse_input(&form), idem.as_ref()).await {
        Ok(d) => Ok(Redirect::to(&format!("/warehouses/{}", d.warehouse.id)).into_response()),
        Err(AppError::Validation(list)) => new_warehouse_view(&st, &ctx, form, list).await,
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "parts/warehouse.html")]
struct WarehousePage {
    l: Layout,
    d: WarehouseDetail,
    c: Choices,
    kinds: &'static [&'static str],
    /// The form that failed (edit, state or reorder), with what was typed.
    failed: String,
    form: FormData,
    /// The edit form's values: what was typed when it failed, else the location's.
    wf: FormData,
    errors: FormErrors,
}
impl PartLabels for WarehousePage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl WarehousePage {
    /// What was typed into `which`'s form when it failed, else `default`.
    fn value(&self, which: &str, field: &str, default: &str) -> String {
        if self.failed == which { self.form.get(field) } else { default.to_string() }
    }
    fn error(&self, which: &str, field: &str) -> String {
        if self.failed == which { self.errors.get(field) } else { String::new() }
    }
}

/// The edit form's values of a location.
fn warehouse_form(w: &WarehouseView) -> FormData {
    let mut f = FormData::default();
    f.set("code", &w.code);
    f.set("name", &w.name);
    f.set("kind", &w.kind);
    f.set("region_code", w.region_code.as_deref().unwrap_or(""));
    f.set("engineer_id", &w.engineer_id.map(|id| id.to_string()).unwrap_or_default());
    f
}

async fn warehouse_view(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    after: Option<&str>,
    failed: &str,
    form: FormData,
    errors: Vec<FieldError>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let d = svc::get_warehouse(&st.db, &actor, id, after).await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let (form, wf) = if failed == "edit" { (FormData::default(), form) } else { (form, warehouse_form(&d.warehouse)) };
    let page = WarehousePage {
        l: Layout::new(ctx, "warehouse.title"),
        d,
        c: choices(st).await?,
        kinds: &svc::KINDS,
        failed: failed.into(),
        form,
        wf,
        errors: FormErrors::new(errors, ctx.locale),
    };
    Ok(render_status(status, &page))
}

async fn warehouse_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(p): Query<StockParams>,
) -> AppResult<Response> {
    let after = Some(p.after.as_str()).filter(|s| !s.is_empty());
    warehouse_view(&st, &ctx, id, after, "", FormData::default(), vec![]).await
}

/// The warehouse page's forms: `op` save (the edit form), deactivate or reactivate.
async fn warehouse_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let actor = ctx.actor()?;
    let version = version_of(&form);
    let upd = match form.get("op").as_str() {
        "deactivate" | "reactivate" => {
            WarehouseUpdate { version, active: Some(form.get("op") == "reactivate"), ..Default::default() }
        }
        "save" => {
            let i = warehouse_input(&form);
            WarehouseUpdate {
                version,
                code: Some(i.code),
                name: Some(i.name),
                kind: Some(i.kind),
                region_code: i.region_code,
                engineer_id: i.engineer_id,
                active: None,
            }
        }
        _ => return Err(AppError::one("op", "error.bad_parameter")),
    };
    let which = if form.get("op") == "save" { "edit" } else { "state" };
    match svc::update_warehouse(&st.db, &actor, id, &upd).await {
        Ok(_) => Ok(Redirect::to(&format!("/warehouses/{id}")).into_response()),
        Err(AppError::Validation(list)) => warehouse_view(&st, &ctx, id, None, which, form, list).await,
        Err(AppError::Conflict(key)) => {
            warehouse_view(&st, &ctx, id, None, which, form, vec![field_error("version", key)]).await
        }
        Err(e) => Err(e),
    }
}

async fn reorder_submit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let actor = ctx.actor()?;
    let mut errors = vec![];
    let input = ReorderInput {
        part_id: None,
        part_no: form.get("part_no"),
        reorder_point: int_of(&form, "reorder_point", &mut errors),
        reorder_qty: int_of(&form, "reorder_qty", &mut errors),
    };
    let result = if errors.is_empty() {
        svc::set_reorder(&st.db, &actor, id, &input).await.map(|_| ())
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/warehouses/{id}")).into_response()),
        Err(AppError::Validation(list)) => warehouse_view(&st, &ctx, id, None, "reorder", form, list).await,
        Err(e) => Err(e),
    }
}
