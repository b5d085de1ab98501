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
use super::{AppState, Ctx};
use crate::error::{AppError, AppResult};
use crate::service::reports::{self as svc, CostReport};
use crate::service::work_orders::{today, yuan};
use crate::store::reports::{CostGroup, CostLine};
use crate::tabular::{Cell, Table};

#[derive(OpenApi)]
#[openapi(
    paths(api_costs),
    components(schemas(CostReport, CostLine)),
    tags((name = "reports", description = "Registers and reports (R9.3)"))
)]
pub struct ApiDoc;

pub fn api() -> Router<AppState> {
    Router::new().route("/reports/costs", get(api_costs))
}

pub fn pages() -> Router<AppState> {
    Router::new().route("/reports/costs", get(costs_page))
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
