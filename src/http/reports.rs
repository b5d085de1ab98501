//! The cost report page and its export (R9.3), and its JSON form.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use super::api::ApiQuery;
use super::archive::{download, export_format};
use super::web::{Layout, render};
use super::work_orders::OrderLabels;
use super::{AppState, Ctx};
use crate::error::{AppError, AppResult};
use crate::service::reports::{self as svc, CostReport, RegisterPage, RegisterQuery};
use crate::service::work_orders::{today, yuan};
use crate::store::reports::{CallEntry, CostGroup, CostLine, DispatchEntry};
use crate::tabular::{Cell, Table};

#[derive(OpenApi)]
#[openapi(
    paths(api_costs, api_calls, api_dispatches),
    components(schemas(CostReport, CostLine, CallEntry, DispatchEntry, CallsPage, DispatchesPage)),
    tags((name = "reports", description = "Registers and reports (R9.3)"))
)]
pub struct ApiDoc;

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/reports/costs", get(api_costs))
        .route("/reports/calls", get(api_calls))
        .route("/reports/dispatches", get(api_dispatches))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/reports", get(index_page))
        .route("/reports/costs", get(costs_page))
        .route("/reports/calls", get(calls_page))
        .route("/reports/dispatches", get(dispatches_page))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct CostParams {
    /// First day (default: the first day of this quarter).
    from: Option<NaiveDate>,
    /// Last day (default today).
    to: Option<NaiveDate>,
    /// engineer (default) | region | month | category
    #[serde(default)]
    by: String,
    /// xlsx | csv (the page only): the report as a spreadsheet.
    #[serde(default)]
    format: String,
}

fn params(p: &CostParams) -> AppResult<(NaiveDate, NaiveDate, CostGroup)> {
    let to = p.to.unwrap_or_else(today);
    let quarter_start = NaiveDate::from_ymd_opt(to.year(), (to.month0() / 3) * 3 + 1, 1).unwrap_or(to);
    let from = p.from.unwrap_or(quarter_start);
    let by = if p.by.trim().is_empty() {
        CostGroup::Engineer
    } else {
        CostGroup::parse(&p.by).ok_or_else(|| AppError::one("by", "error.bad_parameter"))?
    };
    Ok((from, to, by))
}

/// Completed orders' costs and charges of a period, grouped.
#[utoipa::path(get, path = "/api/v1/reports/costs", params(CostParams),
    responses((status = 200, body = CostReport), (status = 403), (status = 422)), tag = "reports")]
async fn api_costs(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<CostParams>,
) -> AppResult<axum::Json<CostReport>> {
    let (from, to, by) = params(&p)?;
    Ok(axum::Json(svc::costs(&st.db, &ctx.actor()?, from, to, by).await?))
}

#[derive(Template)]
#[template(path = "reports/costs.html")]
struct CostsPage {
    l: Layout,
    r: CostReport,
}
impl CostsPage {
    fn money(&self, c: &i64) -> String {
        yuan(*c)
    }
    fn hours(&self, m: &i64) -> String {
        format!("{:.1}", *m as f64 / 60.0)
    }
    fn average(&self, l: &CostLine) -> String {
        if l.orders == 0 {
            return "—".into();
        }
        yuan((l.parts_cost_cents + l.labour_cents + l.travel_cents) / l.orders)
    }
    fn label<'a>(&self, l: &'a CostLine) -> &'a str {
        if l.label.is_empty() { &l.key } else { &l.label }
    }
}

fn table(ctx: &Ctx, r: &CostReport) -> Table {
    let money = |c: i64| Cell::Number(c as f64 / 100.0);
    let row = |l: &CostLine, name: String| {
        vec![
            name.into(),
            Some(l.orders).into(),
            money(l.parts_cost_cents),
            money(l.parts_cents),
            Cell::Number(l.labour_minutes as f64 / 60.0),
            money(l.labour_cents),
            Some(l.travel_km).into(),
            money(l.travel_cents),
            money(l.collected_cents),
        ]
    };
    let mut rows: Vec<Vec<Cell>> =
        r.lines.iter().map(|l| row(l, if l.label.is_empty() { l.key.clone() } else { l.label.clone() })).collect();
    rows.push(row(&r.total, ctx.t("report.total")));
    let keys = [
        "report.group",
        "report.orders",
        "report.parts_cost",
        "report.parts_charged",
        "report.labour_hours",
        "report.labour_fee",
        "report.travel_km",
        "report.travel_fee",
        "report.collected",
    ];
    Table { headers: keys.iter().map(|k| ctx.t(k)).collect(), rows }
}

async fn costs_page(State(st): State<AppState>, ctx: Ctx, Query(p): Query<CostParams>) -> AppResult<Response> {
    let (from, to, by) = params(&p)?;
    let r = svc::costs(&st.db, &ctx.actor()?, from, to, by).await?;
    if !p.format.is_empty() {
        let format = export_format(&p.format)?;
        let t = table(&ctx, &r);
        return Ok(download(crate::tabular::render(t, format, "costs").await?, format, "costs"));
    }
    Ok(render(&CostsPage { l: Layout::new(&ctx, "report.costs_title"), r }))
}

// ------------------------------------------------------------------ registers

/// A page of the calls and letters register.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct CallsPage(RegisterPage<CallEntry>);
/// A page of the dispatch records.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct DispatchesPage(RegisterPage<DispatchEntry>);

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct RegisterParams {
    /// First day (default: the first day of this quarter).
    from: Option<NaiveDate>,
    /// Last day (default today).
    to: Option<NaiveDate>,
    /// Calls register only: hotline | letter | email | web | walk_in | visit.
    #[serde(default)]
    channel: String,
    /// Dispatch records only: the engineer's user id.
    engineer_id: Option<i64>,
    /// The cursor of the next page (`next_before` of the last answer).
    #[serde(default)]
    before: String,
    /// 1–500, default 100.
    limit: Option<i64>,
    /// xlsx | csv (the pages only): every line of the period, up to 100,000.
    #[serde(default)]
    format: String,
}

fn register_query(p: &RegisterParams) -> RegisterQuery {
    let to = p.to.unwrap_or_else(today);
    let quarter_start = NaiveDate::from_ymd_opt(to.year(), (to.month0() / 3) * 3 + 1, 1).unwrap_or(to);
    RegisterQuery {
        from: p.from.unwrap_or(quarter_start),
        to,
        channel: Some(p.channel.trim().to_string()).filter(|c| !c.is_empty()),
        engineer_id: p.engineer_id,
        before: Some(p.before.clone()).filter(|b| !b.is_empty()),
        limit: p.limit.unwrap_or(100),
    }
}

/// Requests and complaints, suggestions and praise received in a period, newest first, with
/// where each went (来电来函登记). Region users see their region's.
#[utoipa::path(get, path = "/api/v1/reports/calls", params(RegisterParams),
    responses((status = 200, body = CallsPage), (status = 403), (status = 422)), tag = "reports")]
async fn api_calls(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<RegisterParams>,
) -> AppResult<axum::Json<RegisterPage<CallEntry>>> {
    Ok(axum::Json(svc::calls(&st.db, &ctx.actor()?, &register_query(&p)).await?))
}

/// Assignments of engineers in a period, newest first, with how each visit went (派遣记录).
#[utoipa::path(get, path = "/api/v1/reports/dispatches", params(RegisterParams),
    responses((status = 200, body = DispatchesPage), (status = 403), (status = 422)), tag = "reports")]
async fn api_dispatches(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<RegisterParams>,
) -> AppResult<axum::Json<RegisterPage<DispatchEntry>>> {
    Ok(axum::Json(svc::dispatches(&st.db, &ctx.actor()?, &register_query(&p)).await?))
}

/// Names of the codes a register line holds, in the reader's language.
fn source_name(l: &Layout, source: &str) -> String {
    match rules::complaint::Kind::parse(source) {
        Some(k) => k.name(l.locale).to_string(),
        None => l.t("report.source_order"),
    }
}

fn call_kind_name(l: &Layout, e: &CallEntry) -> String {
    if e.source == "order" {
        rules::work_order::Kind::parse(&e.kind).map(|k| k.name(l.locale).to_string()).unwrap_or(e.kind.clone())
    } else {
        rules::complaint::Severity::parse(&e.kind).map(|k| k.name(l.locale).to_string()).unwrap_or(e.kind.clone())
    }
}

fn call_status_name(l: &Layout, e: &CallEntry) -> String {
    if e.source == "order" {
        rules::work_order::Status::parse(&e.status).map(|k| k.name(l.locale).to_string()).unwrap_or(e.status.clone())
    } else {
        rules::complaint::Status::parse(&e.status).map(|k| k.name(l.locale).to_string()).unwrap_or(e.status.clone())
    }
}

fn call_handler(l: &Layout, e: &CallEntry) -> String {
    if e.source == "order" {
        e.handler.clone()
    } else {
        rules::complaint::Department::parse(&e.handler)
            .map(|k| k.name(l.locale).to_string())
            .unwrap_or(e.handler.clone())
    }
}

fn call_link(e: &CallEntry) -> String {
    if e.source == "order" { format!("/work-orders/{}", e.id) } else { format!("/complaints/{}", e.id) }
}

/// The engineer an assignment named (the time line writes "name — note").
fn dispatch_engineer(e: &DispatchEntry) -> &str {
    e.note.split_once(" — ").map_or(e.note.as_str(), |(name, _)| name)
}

fn dispatch_note(e: &DispatchEntry) -> &str {
    e.note.split_once(" — ").map_or("", |(_, note)| note)
}

/// A page's query string without the cursor (for the next-page and export links).
fn register_link(q: &RegisterQuery) -> String {
    let mut s = format!("from={}&to={}", q.from, q.to);
    if let Some(c) = &q.channel {
        s.push_str(&format!("&channel={c}"));
    }
    if let Some(e) = q.engineer_id {
        s.push_str(&format!("&engineer_id={e}"));
    }
    s
}

#[derive(Template)]
#[template(path = "reports/calls.html")]
struct CallsRegister {
    l: Layout,
    q: RegisterQuery,
    p: RegisterPage<CallEntry>,
}
impl OrderLabels for CallsRegister {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl CallsRegister {
    fn link(&self) -> String {
        register_link(&self.q)
    }
    fn source(&self, e: &CallEntry) -> String {
        source_name(&self.l, &e.source)
    }
    fn kind(&self, e: &CallEntry) -> String {
        call_kind_name(&self.l, e)
    }
    fn status(&self, e: &CallEntry) -> String {
        call_status_name(&self.l, e)
    }
    fn handler(&self, e: &CallEntry) -> String {
        call_handler(&self.l, e)
    }
    fn href(&self, e: &CallEntry) -> String {
        call_link(e)
    }
    fn channel_selected(&self, c: &str) -> bool {
        self.q.channel.as_deref() == Some(c)
    }
    fn channels(&self) -> Vec<(&'static str, String)> {
        rules::work_order::Channel::ALL.iter().map(|c| (c.code(), c.name(self.l.locale).to_string())).collect()
    }
}

fn calls_table(l: &Layout, rows: Vec<CallEntry>) -> Table {
    let keys = [
        "report.received_at",
        "report.channel",
        "report.source",
        "report.number",
        "report.customer",
        "report.contact",
        "report.phone",
        "report.subject",
        "report.kind",
        "report.registered_by",
        "report.handler",
        "report.status",
        "report.done_at",
    ];
    let rows = rows
        .into_iter()
        .map(|e| {
            vec![
                l.time(&e.received_at).into(),
                rules::work_order::Channel::parse(&e.channel)
                    .map(|c| c.name(l.locale).to_string())
                    .unwrap_or(e.channel.clone())
                    .into(),
                source_name(l, &e.source).into(),
                Some(e.id).into(),
                e.customer.clone().into(),
                e.contact_name.clone().into(),
                Cell::Text(e.contact_phone.clone()),
                e.subject.clone().into(),
                call_kind_name(l, &e).into(),
                e.registered_by.clone().into(),
                call_handler(l, &e).into(),
                call_status_name(l, &e).into(),
                l.time_opt(&e.done_at).into(),
            ]
        })
        .collect();
    Table { headers: keys.iter().map(|k| l.t(k)).collect(), rows }
}

async fn calls_page(State(st): State<AppState>, ctx: Ctx, Query(p): Query<RegisterParams>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let q = register_query(&p);
    let l = Layout::new(&ctx, "report.calls_title");
    if !p.format.is_empty() {
        let format = export_format(&p.format)?;
        let (db, actor, base) = (&st.db, &actor, &RegisterQuery { limit: 500, ..q.clone() });
        let all = super::archive::every_page(|before| async move {
            let page = svc::calls(db, actor, &RegisterQuery { before, ..base.clone() }).await?;
            Ok((page.items, page.next_before))
        })
        .await?;
        let t = calls_table(&l, all);
        return Ok(download(crate::tabular::render(t, format, "calls").await?, format, "calls"));
    }
    let page = svc::calls(&st.db, &actor, &q).await?;
    Ok(render(&CallsRegister { l, q, p: page }))
}

#[derive(Template)]
#[template(path = "reports/dispatches.html")]
struct DispatchRegister {
    l: Layout,
    q: RegisterQuery,
    p: RegisterPage<DispatchEntry>,
    engineers: Vec<(i64, String)>,
}
impl OrderLabels for DispatchRegister {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl DispatchRegister {
    fn link(&self) -> String {
        register_link(&self.q)
    }
    fn engineer<'a>(&self, e: &'a DispatchEntry) -> &'a str {
        dispatch_engineer(e)
    }
    fn note<'a>(&self, e: &'a DispatchEntry) -> &'a str {
        dispatch_note(e)
    }
    fn engineer_selected(&self, id: &i64) -> bool {
        self.q.engineer_id == Some(*id)
    }
    fn hours(&self, m: &Option<i64>) -> String {
        m.map(|m| format!("{:.1}", m as f64 / 60.0)).unwrap_or_default()
    }
    fn km(&self, k: &Option<i64>) -> String {
        k.map(|k| k.to_string()).unwrap_or_default()
    }
}

fn dispatch_table(l: &Layout, rows: Vec<DispatchEntry>) -> Table {
    let keys = [
        "report.dispatched_at",
        "report.number",
        "report.customer",
        "report.address",
        "report.kind",
        "report.priority",
        "report.engineer",
        "report.reassigned",
        "report.dispatcher",
        "report.note",
        "report.scheduled_at",
        "report.arrived_at",
        "report.completed_at",
        "report.labour_hours",
        "report.travel_km",
        "report.status",
    ];
    let name = |k: Option<&str>| k.unwrap_or_default().to_string();
    let rows = rows
        .into_iter()
        .map(|e| {
            vec![
                l.time(&e.at).into(),
                Some(e.order_id).into(),
                e.customer.clone().into(),
                e.address.clone().into(),
                name(rules::work_order::Kind::parse(&e.kind).map(|k| k.name(l.locale))).into(),
                name(rules::work_order::Priority::parse(&e.priority).map(|k| k.name(l.locale))).into(),
                dispatch_engineer(&e).to_string().into(),
                l.t(if e.reassigned { "report.yes" } else { "report.no" }).into(),
                e.dispatcher.clone().into(),
                dispatch_note(&e).to_string().into(),
                l.time_opt(&e.scheduled_at).into(),
                l.time_opt(&e.arrived_at).into(),
                l.time_opt(&e.completed_at).into(),
                e.labour_minutes.map(|m| Cell::Number(m as f64 / 60.0)).unwrap_or(Cell::Empty),
                e.travel_km.into(),
                name(rules::work_order::Status::parse(&e.status).map(|k| k.name(l.locale))).into(),
            ]
        })
        .collect();
    Table { headers: keys.iter().map(|k| l.t(k)).collect(), rows }
}

async fn dispatches_page(State(st): State<AppState>, ctx: Ctx, Query(p): Query<RegisterParams>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let q = register_query(&p);
    let l = Layout::new(&ctx, "report.dispatches_title");
    if !p.format.is_empty() {
        let format = export_format(&p.format)?;
        let (db, actor, base) = (&st.db, &actor, &RegisterQuery { limit: 500, ..q.clone() });
        let all = super::archive::every_page(|before| async move {
            let page = svc::dispatches(db, actor, &RegisterQuery { before, ..base.clone() }).await?;
            Ok((page.items, page.next_before))
        })
        .await?;
        let t = dispatch_table(&l, all);
        return Ok(download(crate::tabular::render(t, format, "dispatches").await?, format, "dispatches"));
    }
    let page = svc::dispatches(&st.db, &actor, &q).await?;
    let engineers = crate::service::users::active_names(&st.db, Some(crate::domain::Role::Engineer)).await?;
    Ok(render(&DispatchRegister { l, q, p: page, engineers }))
}

#[derive(Template)]
#[template(path = "reports/index.html")]
struct IndexPage {
    l: Layout,
}

/// Every register and report in one place (R9.3), for those who may read them.
async fn index_page(ctx: Ctx) -> AppResult<Response> {
    if !svc::may_read(&ctx.actor()?) {
        return Err(AppError::Forbidden);
    }
    Ok(render(&IndexPage { l: Layout::new(&ctx, "report.index_title") }))
}
