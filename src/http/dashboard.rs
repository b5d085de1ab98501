//! The management dashboard page (charts drawn here as inline SVG, each with its data table,
//! spreadsheet export and links to the orders behind every figure) and its JSON API (R9.5).

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use super::api::ApiQuery;
use super::archive::{download, export_format};
use super::svg::{self, Bar, Series};
use super::web::{Layout, render_status};
use super::{AppState, Ctx, urlencode};
use crate::error::{AppError, AppResult};
use crate::service::dashboard::{
    self as svc, Count, Dashboard, FaultCount, Headline, Load, MonthRate, OpenStatus, PeriodView, Satisfaction, SlaLine,
};
use crate::service::work_orders::{local_day, today};
use crate::store;
use crate::tabular::{Cell, Table};

#[derive(OpenApi)]
#[openapi(
    paths(api_dashboard),
    components(schemas(Dashboard, PeriodView, Headline, Count, OpenStatus, SlaLine, Satisfaction, MonthRate, FaultCount, Load)),
    tags((name = "dashboard", description = "The management dashboard's figures (R9.5)"))
)]
pub struct ApiDoc;

pub fn api() -> Router<AppState> {
    Router::new().route("/dashboard", get(api_dashboard))
}

pub fn pages() -> Router<AppState> {
    Router::new().route("/dashboard", get(page)).route("/dashboard/export", get(export))
}

/// The charts, in the page's order (the `chart` of an export).
pub const CHARTS: [&str; 7] = ["summary", "volumes", "open", "sla", "satisfaction", "faults", "load"];

#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Params {
    /// A quarter such as 2026Q3 (default: the current quarter).
    #[serde(default)]
    quarter: String,
    /// A month such as 2026-07 (instead of a quarter).
    #[serde(default)]
    month: String,
    /// First day (YYYY-MM-DD, company time; instead of a quarter or month).
    #[serde(default)]
    from: String,
    /// Last day, included (default today).
    #[serde(default)]
    to: String,
    /// A region code (users who see one region always get theirs).
    #[serde(default)]
    region: String,
    /// A product category code.
    #[serde(default)]
    category: String,
    /// A team's id: the orders its engineers were assigned (users who see one region pick a
    /// team of their region).
    #[serde(default)]
    team: String,
    /// The export's table: summary | volumes | open | sla | satisfaction | faults | load.
    #[serde(default)]
    chart: String,
    /// xlsx | csv
    #[serde(default)]
    format: String,
}

fn query(p: &Params) -> AppResult<svc::Query> {
    let mut errors = vec![];
    let from = crate::domain::archive::parse_date("from", &p.from, &mut errors);
    let to = crate::domain::archive::parse_date("to", &p.to, &mut errors);
    let team = match p.team.trim() {
        "" => None,
        t => match t.parse::<i64>() {
            Ok(id) if id > 0 => Some(id),
            _ => {
                errors.push(crate::i18n::field_error("team", "dashboard.error.team"));
                None
            }
        },
    };
    AppError::check(errors)?;
    let period = rules::period::resolve(Some(&p.quarter), Some(&p.month), from, to, today())
        .map_err(|e| AppError::one(e.field, &format!("dashboard.error.{}", e.field)))?;
    let some = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    Ok(svc::Query { period, region: some(&p.region), category: some(&p.category), team })
}

/// Every chart's figures for a period, region and product category: request volumes by
/// channel and kind, open and overdue orders now, SLA compliance per target, satisfaction with
/// its monthly trend, top faults and engineers' load. Past days come from the daily figures
/// (`past_days_as_of`), today live.
#[utoipa::path(get, path = "/api/v1/dashboard", params(Params),
    responses((status = 200, body = Dashboard), (status = 403), (status = 422)), tag = "dashboard")]
async fn api_dashboard(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<Params>,
) -> AppResult<axum::Json<Dashboard>> {
    let q = query(&p)?;
    let d = svc::dashboard(&st.db, &ctx.actor()?, &q).await?;
    Ok(axum::Json(Arc::unwrap_or_clone(d)))
}

// ------------------------------------------------------------------ links and names

struct View<'a> {
    d: &'a Dashboard,
    locale: &'static str,
}

impl View<'_> {
    fn name<'b>(&self, zh: &'b str, en: &'b str) -> &'b str {
        if self.locale.starts_with("en") { en } else { zh }
    }
    /// `&region=…&category=…` of the figures' scope.
    fn scope(&self) -> String {
        let mut s = String::new();
        if let Some(r) = &self.d.region {
            s.push_str(&format!("&region={}", urlencode(r)));
        }
        if let Some(c) = &self.d.category {
            s.push_str(&format!("&category={}", urlencode(c)));
        }
        if let Some(t) = self.d.team {
            s.push_str(&format!("&team={t}"));
        }
        s
    }
    fn created(&self, extra: &str) -> String {
        format!("/work-orders?from={}&to={}{}{extra}", self.d.period.from, self.d.period.to, self.scope())
    }
    fn completed(&self, extra: &str) -> String {
        format!(
            "/work-orders?completed_from={}&completed_to={}{}{extra}",
            self.d.period.from,
            self.d.period.to,
            self.scope()
        )
    }
    fn open(&self, extra: &str) -> String {
        let statuses = store::work_orders::OPEN_STATUSES.join(",");
        format!("/work-orders?status={statuses}{}{extra}", self.scope())
    }
    fn status(&self, status: &str, overdue: bool) -> String {
        format!("/work-orders?status={status}{}{}", self.scope(), if overdue { "&overdue=1" } else { "" })
    }
    /// The SLA report of the figures' period, region and team (`target` empty: every target).
    fn sla(&self, target: &str) -> String {
        let mut s = format!("/sla?from={}&to={}", self.d.period.from, self.d.period.to);
        if !target.is_empty() {
            s.push_str(&format!("&target={}", urlencode(target)));
        }
        if let Some(r) = &self.d.region {
            s.push_str(&format!("&region={}", urlencode(r)));
        }
        if let Some(t) = self.d.team {
            s.push_str(&format!("&team={t}"));
        }
        s
    }
    fn month(&self, m: &str) -> String {
        let first = chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok();
        match first.and_then(|f| Some((f, f.checked_add_months(chrono::Months::new(1))?.pred_opt()?))) {
            Some((a, b)) => format!("/satisfaction?from={a}&to={b}"),
            None => "/satisfaction".into(),
        }
    }
    fn fault(&self, f: &FaultCount) -> String {
        let mut region = self.d.region.as_deref().map(|r| format!("&region={}", urlencode(r))).unwrap_or_default();
        if let Some(t) = self.d.team {
            region.push_str(&format!("&team={t}"));
        }
        format!(
            "/work-orders?completed_from={}&completed_to={}&category={}&fault_code={}{region}",
            self.d.period.from,
            self.d.period.to,
            urlencode(&f.category),
            urlencode(&f.code)
        )
    }
    fn engineer(&self, id: i64) -> String {
        self.open(&format!("&engineer_id={id}"))
    }
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1} %")).unwrap_or_else(|| "—".into())
}

// ------------------------------------------------------------------ tables (the exports)

fn table(ctx: &Ctx, d: &Dashboard, chart: &str) -> Option<Table> {
    let v = View { d, locale: ctx.locale };
    let t = |k: &str| ctx.t(k);
    let n = |x: i64| Cell::Number(x as f64);
    let p = |x: Option<f64>| x.map(Cell::Number).unwrap_or(Cell::Empty);
    let (headers, rows): (Vec<String>, Vec<Vec<Cell>>) = match chart {
        "summary" => {
            let h = &d.headline;
            (
                vec![t("dashboard.figure"), t("dashboard.value")],
                vec![
                    vec![t("dashboard.created").into(), n(h.created)],
                    vec![t("dashboard.completed").into(), n(h.completed)],
                    vec![t("dashboard.open").into(), n(h.open)],
                    vec![t("dashboard.overdue").into(), n(h.overdue)],
                    vec![t("dashboard.satisfaction").into(), p(h.satisfaction_pct)],
                    vec![t("dashboard.sla").into(), p(h.sla_pct)],
                ],
            )
        }
        "volumes" => (
            vec![t("dashboard.dimension"), t("dashboard.code"), t("dashboard.name"), t("dashboard.count")],
            d.by_channel
                .iter()
                .map(|c| (t("dashboard.by_channel"), c))
                .chain(d.by_kind.iter().map(|c| (t("dashboard.by_kind"), c)))
                .map(|(dim, c)| {
                    vec![
                        dim.into(),
                        c.code.clone().into(),
                        v.name(&c.name_zh, &c.name_en).to_string().into(),
                        n(c.count),
                    ]
                })
                .collect(),
        ),
        "open" => (
            vec![t("dashboard.code"), t("dashboard.status"), t("dashboard.open"), t("dashboard.overdue")],
            d.open_by_status
                .iter()
                .map(|s| {
                    vec![
                        s.status.clone().into(),
                        v.name(&s.name_zh, &s.name_en).to_string().into(),
                        n(s.open),
                        n(s.overdue),
                    ]
                })
                .collect(),
        ),
        "sla" => (
            vec![
                t("dashboard.code"),
                t("dashboard.target"),
                t("dashboard.met"),
                t("dashboard.met_late"),
                t("dashboard.breached_open"),
                t("dashboard.running"),
                t("dashboard.compliance"),
            ],
            d.sla
                .iter()
                .map(|l| {
                    vec![
                        l.target.clone().into(),
                        v.name(&l.name_zh, &l.name_en).to_string().into(),
                        n(l.met),
                        n(l.met_late),
                        n(l.breached_open),
                        n(l.open),
                        p(l.compliance_pct),
                    ]
                })
                .collect(),
        ),
        "satisfaction" => (
            vec![t("dashboard.month"), t("dashboard.answers"), t("dashboard.satisfied"), t("dashboard.rate")],
            d.satisfaction
                .months
                .iter()
                .map(|m| vec![m.month.clone().into(), n(m.answers), n(m.satisfied), p(m.pct)])
                .collect(),
        ),
        "faults" => (
            vec![t("dashboard.category"), t("dashboard.code"), t("dashboard.name"), t("dashboard.count")],
            d.top_faults
                .iter()
                .map(|f| {
                    vec![
                        f.category.clone().into(),
                        f.code.clone().into(),
                        v.name(&f.name_zh, &f.name_en).to_string().into(),
                        n(f.count),
                    ]
                })
                .collect(),
        ),
        "load" => (
            vec![t("dashboard.engineer"), t("dashboard.open"), t("dashboard.overdue")],
            d.engineer_load.iter().map(|l| vec![l.name.clone().into(), n(l.open), n(l.overdue)]).collect(),
        ),
        _ => return None,
    };
    Some(Table { headers, rows })
}

/// One chart's table as .xlsx or .csv, with the page's filters.
async fn export(State(st): State<AppState>, ctx: Ctx, Query(p): Query<Params>) -> AppResult<Response> {
    let format = export_format(&p.format)?;
    if !CHARTS.contains(&p.chart.trim()) {
        return Err(AppError::one("chart", "error.bad_parameter"));
    }
    let q = query(&p)?;
    let d = svc::dashboard(&st.db, &ctx.actor()?, &q).await?;
    let t = table(&ctx, &d, p.chart.trim()).ok_or_else(|| AppError::one("chart", "error.bad_parameter"))?;
    let name = format!("dashboard-{}-{}", p.chart.trim(), d.period.label.replace("..", "_"));
    Ok(download(crate::tabular::render(t, format, "dashboard").await?, format, &name))
}

// ------------------------------------------------------------------ the page

#[derive(Template)]
#[template(path = "dashboard/show.html")]
struct Page {
    l: Layout,
    d: Arc<Dashboard>,
    regions: Vec<store::settings::Region>,
    categories: Vec<store::products::Category>,
    /// The teams the user may pick: (id, name).
    teams: Vec<(i64, String)>,
    quarters: Vec<String>,
    all_regions: bool,
    /// The SVG of each chart, in [`CHARTS`] order after the summary.
    volumes_channel: String,
    volumes_kind: String,
    open_svg: String,
    sla_svg: String,
    satisfaction_svg: String,
    faults_svg: String,
    load_svg: String,
}

impl Page {
    fn view(&self) -> View<'_> {
        View { d: &self.d, locale: self.l.locale }
    }
    fn name<'b>(&self, zh: &'b str, en: &'b str) -> &'b str {
        if self.l.locale.starts_with("en") { en } else { zh }
    }
    fn pct(&self, v: &Option<f64>) -> String {
        pct(*v)
    }
    /// The filters as a query string (exports and the quarter arrows keep them).
    fn filters(&self) -> String {
        let d = &self.d;
        let period = match d.period.kind.as_str() {
            "quarter" => format!("quarter={}", d.period.label),
            "month" => format!("month={}", d.period.label),
            _ => format!("from={}&to={}", d.period.from, d.period.to),
        };
        format!("{period}{}", self.view().scope())
    }
    fn export(&self, chart: &str, format: &str) -> String {
        format!("/dashboard/export?chart={chart}&format={format}&{}", self.filters())
    }
    fn quarter_link(&self, q: &str) -> String {
        format!("/dashboard?quarter={q}{}", self.view().scope())
    }
    fn created_link(&self) -> String {
        self.view().created("")
    }
    fn completed_link(&self) -> String {
        self.view().completed("")
    }
    fn open_link(&self) -> String {
        self.view().open("")
    }
    fn overdue_link(&self) -> String {
        format!("/work-orders?overdue=1{}", self.view().scope())
    }
    fn channel_link(&self, c: &Count) -> String {
        self.view().created(&format!("&channel={}", c.code))
    }
    fn kind_link(&self, c: &Count) -> String {
        self.view().created(&format!("&kind={}", c.code))
    }
    fn status_link(&self, s: &OpenStatus, overdue: bool) -> String {
        self.view().status(&s.status, overdue)
    }
    fn sla_link(&self, l: &SlaLine) -> String {
        self.view().sla(&l.target)
    }
    /// The SLA report of the figures' period, region and team.
    fn sla_report(&self) -> String {
        self.view().sla("")
    }
    fn month_link(&self, m: &MonthRate) -> String {
        self.view().month(&m.month)
    }
    fn fault_link(&self, f: &FaultCount) -> String {
        self.view().fault(f)
    }
    fn engineer_link(&self, l: &Load) -> String {
        self.view().engineer(l.engineer_id)
    }
    fn as_of(&self) -> String {
        use chrono::TimeZone;
        match self.d.past_days_as_of {
            Some(t) => chrono_tz::Asia::Shanghai
                .from_utc_datetime(&t.naive_utc())
                .format(if local_day(t) == today() { "%H:%M" } else { "%Y-%m-%d %H:%M" })
                .to_string(),
            None => "—".into(),
        }
    }
    fn is_region(&self, code: &str) -> bool {
        self.d.region.as_deref() == Some(code)
    }
    fn is_category(&self, code: &str) -> bool {
        self.d.category.as_deref() == Some(code)
    }
    fn is_team(&self, id: &i64) -> bool {
        self.d.team == Some(*id)
    }
    fn is_quarter(&self, q: &str) -> bool {
        self.d.period.kind == "quarter" && self.d.period.label == q
    }
    fn month_value(&self) -> String {
        if self.d.period.kind == "month" { self.d.period.label.clone() } else { String::new() }
    }
    fn range_value(&self, end: &str) -> String {
        if self.d.period.kind != "range" {
            return String::new();
        }
        if end == "from" { self.d.period.from.to_string() } else { self.d.period.to.to_string() }
    }
}

fn charts(ctx: &Ctx, d: &Dashboard) -> [String; 7] {
    let v = View { d, locale: ctx.locale };
    let count_bars = |items: &[Count], link: &dyn Fn(&Count) -> String| -> Vec<Bar> {
        items
            .iter()
            .map(|c| Bar {
                label: v.name(&c.name_zh, &c.name_en).into(),
                value: c.count as f64,
                shown: c.count.to_string(),
                class: "c0",
                href: Some(link(c)),
            })
            .collect()
    };
    let channel = svg::hbars(
        "chart-channel",
        &ctx.t("dashboard.by_channel"),
        &count_bars(&d.by_channel, &|c| v.created(&format!("&channel={}", c.code))),
        None,
    );
    let kind = svg::hbars(
        "chart-kind",
        &ctx.t("dashboard.by_kind"),
        &count_bars(&d.by_kind, &|c| v.created(&format!("&kind={}", c.code))),
        None,
    );
    let statuses: Vec<String> = d.open_by_status.iter().map(|s| v.name(&s.name_zh, &s.name_en).to_string()).collect();
    let open = svg::stacked(
        "chart-open",
        &ctx.t("dashboard.open_now"),
        &statuses,
        &[
            Series {
                name: ctx.t("dashboard.in_time"),
                class: "c0",
                values: d.open_by_status.iter().map(|s| (s.open - s.overdue) as f64).collect(),
            },
            Series {
                name: ctx.t("dashboard.overdue"),
                class: "bad",
                values: d.open_by_status.iter().map(|s| s.overdue as f64).collect(),
            },
        ],
    );
    let sla = svg::hbars(
        "chart-sla",
        &ctx.t("dashboard.sla"),
        &d.sla
            .iter()
            .map(|l| Bar {
                label: v.name(&l.name_zh, &l.name_en).into(),
                value: l.compliance_pct.unwrap_or(0.0),
                shown: pct(l.compliance_pct),
                class: if l.compliance_pct.is_some_and(|p| p >= 90.0) { "ok" } else { "bad" },
                href: Some(v.sla(&l.target)),
            })
            .collect::<Vec<_>>(),
        Some(100.0),
    );
    let points: Vec<(String, Option<f64>)> = d.satisfaction.months.iter().map(|m| (m.month.clone(), m.pct)).collect();
    let low = points.iter().filter_map(|p| p.1).fold(100.0f64, f64::min);
    let min = if low >= 80.0 { 80.0 } else { (low / 10.0).floor() * 10.0 };
    let satisfaction = svg::line(
        "chart-satisfaction",
        &ctx.t("dashboard.satisfaction_trend"),
        &points,
        min,
        100.0,
        d.satisfaction.target_pct,
        " %",
    );
    let faults = svg::hbars(
        "chart-faults",
        &ctx.t("dashboard.top_faults"),
        &d.top_faults
            .iter()
            .map(|f| Bar {
                label: v.name(&f.name_zh, &f.name_en).into(),
                value: f.count as f64,
                shown: f.count.to_string(),
                class: "c1",
                href: Some(v.fault(f)),
            })
            .collect::<Vec<_>>(),
        None,
    );
    let load = svg::stacked(
        "chart-load",
        &ctx.t("dashboard.load"),
        &d.engineer_load.iter().map(|l| l.name.clone()).collect::<Vec<_>>(),
        &[
            Series {
                name: ctx.t("dashboard.in_time"),
                class: "c2",
                values: d.engineer_load.iter().map(|l| (l.open - l.overdue) as f64).collect(),
            },
            Series {
                name: ctx.t("dashboard.overdue"),
                class: "bad",
                values: d.engineer_load.iter().map(|l| l.overdue as f64).collect(),
            },
        ],
    );
    [channel, kind, open, sla, satisfaction, faults, load]
}

async fn page(State(st): State<AppState>, ctx: Ctx, Query(p): Query<Params>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let q = query(&p)?;
    let d = svc::dashboard(&st.db, &actor, &q).await?;
    let (regions, categories, all_teams) = {
        let mut c = st.db.read().await?;
        (
            store::settings::regions(c.conn()).await?,
            store::products::categories(c.conn()).await?,
            store::teams::names(c.conn()).await?,
        )
    };
    // Active teams of the user's region (all, for those who see every region), and the one
    // shown even if deactivated since.
    let mine = crate::service::archive::region_scope(&actor);
    let teams = all_teams
        .into_iter()
        .filter(|(id, _, region, active)| {
            (*active || d.team == Some(*id)) && mine.as_ref().is_none_or(|m| region.as_ref() == Some(m))
        })
        .map(|(id, name, _, _)| (id, name))
        .collect();
    let (y, qn) = rules::period::quarter_of(today());
    let mut quarters = vec![];
    let (mut yy, mut qq) = (y, qn);
    for _ in 0..8 {
        quarters.push(format!("{yy}Q{qq}"));
        (yy, qq) = if qq == 1 { (yy - 1, 4) } else { (yy, qq - 1) };
    }
    let [volumes_channel, volumes_kind, open_svg, sla_svg, satisfaction_svg, faults_svg, load_svg] = charts(&ctx, &d);
    let page = Page {
        l: Layout::new(&ctx, "dashboard.title"),
        all_regions: svc::sees_all_regions(&actor),
        d,
        regions,
        categories,
        teams,
        quarters,
        volumes_channel,
        volumes_kind,
        open_svg,
        sla_svg,
        satisfaction_svg,
        faults_svg,
        load_svg,
    };
    Ok(render_status(StatusCode::OK, &page))
}
