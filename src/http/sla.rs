//! Service clocks (R4): the compliance report and breach register with exports, recent
//! warnings and escalations, SLA policies (list, versions, editor), service contracts, the
//! calendars of regions and engineers, and the order's clocks and breach notes.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use chrono::{Datelike, Duration, NaiveDate};
use rules::FieldError;
use rules::work_order::{BreachCause, Priority};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::api::{ApiJson, ApiQuery};
use super::archive::{ExportFormat, download, export_format};
use super::web::{FormData, FormErrors, Layout, render, render_status};
use super::{AppState, Ctx};
use crate::domain::Perm;
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::service::sla::{
    self as svc, Assignee, BreachNote, CalendarAssignments, ClockView, ComplianceReport, ContractInput, PolicySave,
    PolicySummary, PolicyView,
};
use crate::service::work_orders::{midnight, today};
use crate::store;
use crate::store::sla::{Alert, Breach, Contract, GroupBy, ReportFilter};
use crate::tabular::{Cell, Table};

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/sla/compliance", get(api_compliance))
        .route("/sla/compliance/export", get(compliance_export))
        .route("/sla/breaches", get(api_breaches))
        .route("/sla/breaches/export", get(breaches_export))
        .route("/sla/alerts", get(api_alerts))
        .route("/sla/policies", get(api_policies).post(api_policy_create))
        .route("/sla/policies/{code}", get(api_policy).put(api_policy_save))
        .route("/sla/contracts", get(api_contracts).post(api_contract_create))
        .route("/sla/contracts/{id}", put(api_contract_save))
        .route("/sla/calendars", get(api_calendars))
        .route("/sla/calendars/default", put(api_default_calendar))
        .route("/regions/{code}/calendar", put(api_region_calendar))
        .route("/engineers/{id}/calendar", put(api_engineer_calendar))
        .route("/work-orders/{id}/clocks", get(api_clocks))
        .route("/work-orders/{id}/clocks/{target}/breach", put(api_breach_note))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/sla", get(report_page))
        .route("/sla/export", get(page_export))
        .route("/sla/policies", get(policies_page).post(policy_create_submit))
        .route("/sla/policies/{code}", get(policy_page).post(policy_save_submit))
        .route("/sla/contracts", get(contracts_page).post(contract_create_submit))
        .route("/sla/contracts/{id}", post(contract_save_submit))
        .route("/sla/calendars", get(calendars_page).post(calendars_submit))
        .route("/work-orders/{id}/clocks/{target}/breach", post(breach_note_submit))
}

// ================================================================ report parameters

#[derive(Deserialize, IntoParams, Default, Clone)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day (YYYY-MM-DD, company time) of the clocks' start; default the quarter's first day.
    #[serde(default)]
    from: String,
    /// Last day, included; default today.
    #[serde(default)]
    to: String,
    /// target (default) | month | region | engineer | policy | priority
    #[serde(default)]
    group: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    engineer_id: Option<i64>,
    /// A team's id: the orders counted for it (its engineer's team when assigned), as on the
    /// dashboard; users who see one region pick a team of their region.
    #[serde(default)]
    team: String,
    /// A target code (first_reply, on_site, resolution …).
    #[serde(default)]
    target: String,
    /// Breaches listed (default 200).
    #[serde(default)]
    limit: Option<i64>,
}

fn quarter_start(d: NaiveDate) -> NaiveDate {
    let month = (d.month0() / 3) * 3 + 1;
    NaiveDate::from_ymd_opt(d.year(), month, 1).unwrap_or(d)
}

struct Period {
    from: NaiveDate,
    to: NaiveDate,
    filter: ReportFilter,
    group: GroupBy,
}

fn report_period(q: &ReportQuery) -> AppResult<Period> {
    let mut errors = vec![];
    let now = today();
    let from = crate::domain::archive::parse_date("from", &q.from, &mut errors).unwrap_or_else(|| quarter_start(now));
    let to = crate::domain::archive::parse_date("to", &q.to, &mut errors).unwrap_or(now);
    if to < from {
        errors.push(field_error("to", "wo.error.period"));
    }
    let group = match q.group.trim() {
        "" => GroupBy::Target,
        g => GroupBy::parse(g).unwrap_or_else(|| {
            errors.push(field_error("group", "sla.error.group"));
            GroupBy::Target
        }),
    };
    let team_id = match q.team.trim() {
        "" => None,
        t => match t.parse::<i64>() {
            Ok(id) if id > 0 => Some(id),
            _ => {
                errors.push(field_error("team", "sla.error.team"));
                None
            }
        },
    };
    AppError::check(errors)?;
    let filter = ReportFilter {
        from: Some(midnight(from)),
        to: Some(midnight(to + Duration::days(1))),
        region: Some(q.region.trim().to_owned()).filter(|r| !r.is_empty()),
        engineer_id: q.engineer_id,
        team_id,
        target: Some(q.target.trim().to_owned()).filter(|t| !t.is_empty()),
    };
    Ok(Period { from, to, filter, group })
}

// ================================================================ API: figures

/// SLA compliance of the clocks started in a period, grouped (R4.2): met, met late, overdue
/// and running clocks and the rate `met / (met + breached)`. Region users see their region.
#[utoipa::path(get, path = "/api/v1/sla/compliance", params(ReportQuery),
    responses((status = 200, body = ComplianceReport), (status = 403), (status = 422)), tag = "sla")]
async fn api_compliance(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> AppResult<axum::Json<ComplianceReport>> {
    let p = report_period(&q)?;
    Ok(axum::Json(svc::compliance(&st.db, &ctx.actor()?, &p.filter, p.group).await?))
}

/// The breach register: every clock that ran out in the period, newest first, with its cause.
#[utoipa::path(get, path = "/api/v1/sla/breaches", params(ReportQuery),
    responses((status = 200, body = [Breach]), (status = 403), (status = 422)), tag = "sla")]
async fn api_breaches(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> AppResult<axum::Json<Vec<Breach>>> {
    let p = report_period(&q)?;
    Ok(axum::Json(svc::breaches(&st.db, &ctx.actor()?, &p.filter, q.limit.unwrap_or(200)).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AlertQuery {
    /// How many days back (default 7).
    #[serde(default)]
    days: Option<i64>,
}

/// Warnings and escalations of the last days for the caller's roles (managers see all).
#[utoipa::path(get, path = "/api/v1/sla/alerts", params(AlertQuery),
    responses((status = 200, body = [Alert]), (status = 403)), tag = "sla")]
async fn api_alerts(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> AppResult<axum::Json<Vec<Alert>>> {
    Ok(axum::Json(svc::alerts(&st.db, &ctx.actor()?, q.days.unwrap_or(7)).await?))
}

fn headers(ctx: &Ctx, keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| ctx.t(k)).collect()
}

fn rate_cell(r: Option<f64>) -> Cell {
    r.map(Cell::Number).unwrap_or(Cell::Empty)
}

async fn compliance_table(st: &AppState, ctx: &Ctx, q: &ReportQuery) -> AppResult<Table> {
    let p = report_period(q)?;
    let report = svc::compliance(&st.db, &ctx.actor()?, &p.filter, p.group).await?;
    let label = |l: &svc::ComplianceLine| group_label(ctx.locale, p.group, &l.key, &l.label);
    let mut rows: Vec<Vec<Cell>> = report
        .lines
        .iter()
        .map(|l| {
            vec![
                label(l).into(),
                Some(l.total).into(),
                Some(l.met).into(),
                Some(l.met_late).into(),
                Some(l.breached_open).into(),
                Some(l.open).into(),
                rate_cell(l.rate_percent),
            ]
        })
        .collect();
    let t = &report.total;
    rows.push(vec![
        ctx.t("sla.total").into(),
        Some(t.total).into(),
        Some(t.met).into(),
        Some(t.met_late).into(),
        Some(t.breached_open).into(),
        Some(t.open).into(),
        rate_cell(t.rate_percent),
    ]);
    let keys = ["sla.group_by", "sla.total", "sla.met", "sla.met_late", "sla.breached_open", "sla.open", "sla.rate"];
    Ok(Table { headers: headers(ctx, &keys), rows })
}

async fn breaches_table(st: &AppState, ctx: &Ctx, q: &ReportQuery) -> AppResult<Table> {
    let p = report_period(q)?;
    let list = svc::breaches(&st.db, &ctx.actor()?, &p.filter, 100_000).await?;
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.with_timezone(&chrono_tz::Asia::Shanghai).format("%Y-%m-%d %H:%M").to_string())
    };
    let rows = list
        .into_iter()
        .map(|b| {
            vec![
                store::work_orders::number(b.order_id).into(),
                b.customer_name.into(),
                b.target.into(),
                format!("{} v{}", b.policy_code, b.policy_version).into(),
                time(Some(b.started_at)).into(),
                time(b.due_at).into(),
                time(b.stopped_at).into(),
                b.breach_cause.as_deref().and_then(BreachCause::parse).map(|c| c.name(ctx.locale).to_owned()).into(),
                b.breach_note.into(),
                b.engineer_name.into(),
                b.region_code.into(),
            ]
        })
        .collect();
    let keys = [
        "wo.number",
        "archive.customer",
        "sla.target",
        "sla.policy",
        "wo.created_at",
        "sla.due",
        "wo.completed_at",
        "sla.breach_cause",
        "sla.breach_note",
        "wo.engineer",
        "sla.region",
    ];
    Ok(Table { headers: headers(ctx, &keys), rows })
}

/// The compliance figures as a spreadsheet (the same parameters as `/api/v1/sla/compliance`).
#[utoipa::path(get, path = "/api/v1/sla/compliance/export", params(ReportQuery, ExportFormat),
    responses((status = 200, description = "The spreadsheet")), tag = "sla")]
async fn compliance_export(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<ReportQuery>,
    ApiQuery(f): ApiQuery<ExportFormat>,
) -> AppResult<Response> {
    let format = export_format(&f.format)?;
    let table = compliance_table(&st, &ctx, &q).await?;
    Ok(download(crate::tabular::render(table, format, "sla").await?, format, "sla-compliance"))
}

/// The breach register as a spreadsheet.
#[utoipa::path(get, path = "/api/v1/sla/breaches/export", params(ReportQuery, ExportFormat),
    responses((status = 200, description = "The spreadsheet")), tag = "sla")]
async fn breaches_export(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<ReportQuery>,
    ApiQuery(f): ApiQuery<ExportFormat>,
) -> AppResult<Response> {
    let format = export_format(&f.format)?;
    let table = breaches_table(&st, &ctx, &q).await?;
    Ok(download(crate::tabular::render(table, format, "breaches").await?, format, "sla-breaches"))
}

#[derive(Deserialize)]
struct PageExport {
    #[serde(default)]
    what: String,
    #[serde(default)]
    format: String,
    #[serde(flatten)]
    q: ReportQueryForm,
}

/// The report page's form (all text, as a browser sends it).
#[derive(Deserialize, Default, Clone)]
struct ReportQueryForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    engineer_id: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    target: String,
}

impl ReportQueryForm {
    fn query(&self) -> AppResult<ReportQuery> {
        let engineer_id = match self.engineer_id.trim() {
            "" => None,
            s => Some(s.parse().map_err(|_| AppError::one("engineer_id", "error.number"))?),
        };
        Ok(ReportQuery {
            from: self.from.clone(),
            to: self.to.clone(),
            group: self.group.clone(),
            region: self.region.clone(),
            engineer_id,
            team: self.team.clone(),
            target: self.target.clone(),
            limit: None,
        })
    }
}

async fn page_export(State(st): State<AppState>, ctx: Ctx, Query(e): Query<PageExport>) -> AppResult<Response> {
    let format = export_format(&e.format)?;
    let q = e.q.query()?;
    let (table, name) = if e.what == "breaches" {
        (breaches_table(&st, &ctx, &q).await?, "sla-breaches")
    } else {
        (compliance_table(&st, &ctx, &q).await?, "sla-compliance")
    };
    Ok(download(crate::tabular::render(table, format, "sla").await?, format, name))
}

/// How a group's key reads: targets and priorities by name, months as they are, engineers
/// and regions by the label the query found.
fn group_label(locale: &str, group: GroupBy, key: &str, label: &str) -> String {
    match group {
        GroupBy::Target => rules::sla::builtin_policies()
            .iter()
            .flat_map(|p| p.targets.iter())
            .find(|t| t.code == key)
            .map(|t| if locale.starts_with("en") { t.name_en.clone() } else { t.name_zh.clone() })
            .unwrap_or_else(|| key.to_owned()),
        GroupBy::Priority => Priority::parse(key).map(|p| p.name(locale).to_owned()).unwrap_or_else(|| key.to_owned()),
        GroupBy::Engineer | GroupBy::Region if key.is_empty() => "—".to_owned(),
        GroupBy::Engineer | GroupBy::Region => label.to_owned(),
        GroupBy::Month | GroupBy::Policy => key.to_owned(),
    }
}

// ================================================================ API: policies

#[utoipa::path(get, path = "/api/v1/sla/policies", responses((status = 200, body = [PolicySummary])), tag = "sla")]
async fn api_policies(State(st): State<AppState>, ctx: Ctx) -> AppResult<axum::Json<Vec<PolicySummary>>> {
    ctx.user()?;
    Ok(axum::Json(svc::list_policies(&st.db).await?))
}

#[utoipa::path(get, path = "/api/v1/sla/policies/{code}", params(("code" = String, Path)),
    responses((status = 200, body = PolicyView), (status = 404)), tag = "sla")]
async fn api_policy(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
) -> AppResult<axum::Json<PolicyView>> {
    ctx.user()?;
    Ok(axum::Json(svc::get_policy(&st.db, &code).await?.0))
}

/// A new company SLA policy (its JSON as `GET` shows one; `version` is ignored).
#[utoipa::path(post, path = "/api/v1/sla/policies", request_body = PolicySave,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first answer")),
    responses((status = 201, body = PolicyView), (status = 403), (status = 422)), tag = "sla")]
async fn api_policy_create(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<PolicySave>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    super::api::create_once(&st, &actor, &headers, "sla.policies.create", async |idem| {
        svc::save_policy(&st.db, &st.sla, &actor, None, &input, idem).await
    })
    .await
}

/// Saves the next version of a policy (built-ins too: their first edit is version 2). Orders
/// already counting keep the version they started with.
#[utoipa::path(put, path = "/api/v1/sla/policies/{code}", params(("code" = String, Path)), request_body = PolicySave,
    responses((status = 200, body = PolicyView), (status = 403), (status = 404), (status = 409), (status = 422)),
    tag = "sla")]
async fn api_policy_save(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<PolicySave>,
) -> AppResult<axum::Json<PolicyView>> {
    Ok(axum::Json(svc::save_policy(&st.db, &st.sla, &ctx.actor()?, Some(&code), &input, None).await?))
}

// ================================================================ API: contracts, calendars, clocks

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ContractQuery {
    #[serde(default)]
    customer_id: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/sla/contracts", params(ContractQuery),
    responses((status = 200, body = [Contract]), (status = 403)), tag = "sla")]
async fn api_contracts(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<ContractQuery>,
) -> AppResult<axum::Json<Vec<Contract>>> {
    Ok(axum::Json(svc::contracts(&st.db, &ctx.actor()?, q.customer_id).await?))
}

#[utoipa::path(post, path = "/api/v1/sla/contracts", request_body = ContractInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first answer")),
    responses((status = 201, body = Contract), (status = 403), (status = 422)), tag = "sla")]
async fn api_contract_create(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<ContractInput>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    super::api::create_once(&st, &actor, &headers, "sla.contracts.create", async |idem| {
        svc::save_contract(&st.db, &actor, None, &input, idem).await
    })
    .await
}

/// Edits a contract (send the `version` read; 409 when someone saved first).
#[utoipa::path(put, path = "/api/v1/sla/contracts/{id}", params(("id" = i64, Path)), request_body = ContractInput,
    responses((status = 200, body = Contract), (status = 403), (status = 404), (status = 409), (status = 422)), tag = "sla")]
async fn api_contract_save(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ContractInput>,
) -> AppResult<axum::Json<Contract>> {
    Ok(axum::Json(svc::save_contract(&st.db, &ctx.actor()?, Some(id), &input, None).await?))
}

#[utoipa::path(get, path = "/api/v1/sla/calendars", responses((status = 200, body = CalendarAssignments)), tag = "sla")]
async fn api_calendars(State(st): State<AppState>, ctx: Ctx) -> AppResult<axum::Json<CalendarAssignments>> {
    Ok(axum::Json(svc::calendar_assignments(&st.db, &st.sla, &ctx.actor()?).await?))
}

#[derive(Deserialize, ToSchema)]
struct CalendarChoice {
    /// A calendar code; empty clears the region's or engineer's own calendar.
    #[serde(default)]
    calendar: String,
}

#[derive(Serialize, ToSchema)]
struct Done {
    ok: bool,
}

/// The company's default calendar for SLA clocks.
#[utoipa::path(put, path = "/api/v1/sla/calendars/default", request_body = CalendarChoice,
    responses((status = 200, body = Done), (status = 403), (status = 422)), tag = "sla")]
async fn api_default_calendar(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiJson(c): ApiJson<CalendarChoice>,
) -> AppResult<axum::Json<Done>> {
    svc::assign_calendar(&st.db, &st.sla, &ctx.actor()?, &Assignee::Company, &c.calendar).await?;
    Ok(axum::Json(Done { ok: true }))
}

/// The calendar a region's clocks count on (unless the policy names one).
#[utoipa::path(put, path = "/api/v1/regions/{code}/calendar", params(("code" = String, Path)), request_body = CalendarChoice,
    responses((status = 200, body = Done), (status = 403), (status = 404), (status = 422)), tag = "sla")]
async fn api_region_calendar(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    ApiJson(c): ApiJson<CalendarChoice>,
) -> AppResult<axum::Json<Done>> {
    svc::assign_calendar(&st.db, &st.sla, &ctx.actor()?, &Assignee::Region(code), &c.calendar).await?;
    Ok(axum::Json(Done { ok: true }))
}

/// An engineer's working calendar (dispatch ranks engineers not working that day lower).
#[utoipa::path(put, path = "/api/v1/engineers/{id}/calendar", params(("id" = i64, Path)), request_body = CalendarChoice,
    responses((status = 200, body = Done), (status = 403), (status = 404), (status = 422)), tag = "sla")]
async fn api_engineer_calendar(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(c): ApiJson<CalendarChoice>,
) -> AppResult<axum::Json<Done>> {
    svc::assign_calendar(&st.db, &st.sla, &ctx.actor()?, &Assignee::Engineer(id), &c.calendar).await?;
    Ok(axum::Json(Done { ok: true }))
}

/// The order's SLA clocks as they stand now (also part of the order itself).
#[utoipa::path(get, path = "/api/v1/work-orders/{id}/clocks", params(("id" = i64, Path)),
    responses((status = 200, body = [ClockView]), (status = 404)), tag = "sla")]
async fn api_clocks(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<Vec<ClockView>>> {
    let d = crate::service::work_orders::get(&st.db, &st.sla, &ctx.actor()?, id).await?;
    Ok(axum::Json(d.clocks))
}

/// The service manager corrects the cause of a breach or explains it.
#[utoipa::path(put, path = "/api/v1/work-orders/{id}/clocks/{target}/breach",
    params(("id" = i64, Path), ("target" = String, Path)), request_body = BreachNote,
    responses((status = 200, body = Done), (status = 403), (status = 404), (status = 422)), tag = "sla")]
async fn api_breach_note(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, target)): Path<(i64, String)>,
    ApiJson(input): ApiJson<BreachNote>,
) -> AppResult<axum::Json<Done>> {
    let actor = ctx.actor()?;
    crate::service::work_orders::visible_order(&st.db, &actor, id).await?;
    svc::annotate_breach(&st.db, &actor, id, &target, &input).await?;
    Ok(axum::Json(Done { ok: true }))
}

#[derive(OpenApi)]
#[openapi(
    paths(api_compliance, api_breaches, api_alerts, compliance_export, breaches_export, api_policies, api_policy,
        api_policy_create, api_policy_save, api_contracts, api_contract_create, api_contract_save, api_calendars,
        api_default_calendar, api_region_calendar, api_engineer_calendar, api_clocks, api_breach_note),
    tags((name = "sla", description = "Service clocks: SLA policies, contracts, calendars, compliance and breaches (R4)"))
)]
pub struct ApiDoc;

// ================================================================ pages: report

#[derive(Template)]
#[template(path = "sla/report.html")]
struct ReportPage {
    l: Layout,
    q: ReportQueryForm,
    from: String,
    to: String,
    group: GroupBy,
    groups: Vec<(&'static str, String)>,
    report: Option<ComplianceReport>,
    breaches: Vec<Breach>,
    alerts: Vec<Alert>,
    regions: Vec<store::settings::Region>,
    /// The teams the user may pick: (id, name).
    teams: Vec<(i64, String)>,
    export_query: String,
    errors: FormErrors,
}

impl ReportPage {
    fn is_team(&self, id: &i64) -> bool {
        self.q.team.trim() == id.to_string()
    }
    fn group_title(&self) -> String {
        self.l.t(&format!("sla.group_{}", self.group.code()))
    }
    fn kind_label(&self, kind: &str) -> String {
        self.l.t(&format!("sla.kind_{kind}"))
    }
    fn role_label(&self, role: &str) -> String {
        self.l.t(&format!("role.{role}"))
    }
    fn label(&self, key: &str, label: &str) -> String {
        group_label(self.l.locale, self.group, key, label)
    }
    fn target_name(&self, code: &str) -> String {
        group_label(self.l.locale, GroupBy::Target, code, code)
    }
    fn cause_name(&self, code: &Option<String>) -> String {
        code.as_deref().and_then(BreachCause::parse).map(|c| c.name(self.l.locale).to_owned()).unwrap_or_default()
    }
    fn rate(&self, r: &Option<f64>) -> String {
        r.map(|r| format!("{r:.1}%")).unwrap_or_else(|| "—".into())
    }
    /// Width of the rate bar (0–100).
    fn bar(&self, r: &Option<f64>) -> i64 {
        r.map(|r| r.round() as i64).unwrap_or(0).clamp(0, 100)
    }
    fn overdue(&self, b: &Breach) -> String {
        let over = (b.used_seconds - b.target_seconds).max(0) / 60;
        span(self.l.locale, over)
    }
}

/// Minutes as `1天2小时5分` / `1 d 2 h 5 min`.
pub fn span(locale: &str, minutes: i64) -> String {
    let t = |k: &str| crate::i18n::tr(locale, k);
    let sep = if locale.starts_with("en") { " " } else { "" };
    let m = minutes.abs();
    let (d, h, mi) = (m / 1440, m % 1440 / 60, m % 60);
    let mut parts = vec![];
    if d > 0 {
        parts.push(format!("{d}{sep}{}", t("sla.span_d")));
    }
    if h > 0 {
        parts.push(format!("{h}{sep}{}", t("sla.span_h")));
    }
    if mi > 0 || parts.is_empty() {
        parts.push(format!("{mi}{sep}{}", t("sla.span_m")));
    }
    let s = parts.join(sep);
    if minutes < 0 { format!("−{s}") } else { s }
}

async fn report_page(State(st): State<AppState>, ctx: Ctx, Query(form): Query<ReportQueryForm>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let (regions, all_teams) = {
        let mut c = st.db.read().await?;
        (store::settings::regions(c.conn()).await?, store::teams::names(c.conn()).await?)
    };
    // Active teams of the user's region (all, for those who see every region), and the one
    // asked for even if deactivated since — as the dashboard's picker.
    let mine = crate::service::archive::region_scope(&actor);
    let teams = all_teams
        .into_iter()
        .filter(|(id, _, region, active)| {
            (*active || form.team.trim() == id.to_string()) && mine.as_ref().is_none_or(|m| region.as_ref() == Some(m))
        })
        .map(|(id, name, _, _)| (id, name))
        .collect();
    let groups = GroupBy::ALL.iter().map(|g| (g.code(), ctx.t(&format!("sla.group_{}", g.code())))).collect();
    let figures = async {
        let q = form.query()?;
        let p = report_period(&q)?;
        let report = svc::compliance(&st.db, &actor, &p.filter, p.group).await?;
        let breaches = svc::breaches(&st.db, &actor, &p.filter, 50).await?;
        AppResult::Ok((p, report, breaches))
    };
    let (from, to, group, report, breaches, errors) = match figures.await {
        Ok((p, report, breaches)) => (p.from, p.to, p.group, Some(report), breaches, vec![]),
        Err(AppError::Validation(list)) => (quarter_start(today()), today(), GroupBy::Target, None, vec![], list),
        Err(e) => return Err(e),
    };
    let alerts = svc::alerts(&st.db, &actor, 7).await?;
    let mut qs = form_urlencoded::Serializer::new(String::new());
    qs.append_pair("from", &from.to_string()).append_pair("to", &to.to_string()).append_pair("group", group.code());
    for (k, v) in
        [("region", &form.region), ("engineer_id", &form.engineer_id), ("team", &form.team), ("target", &form.target)]
    {
        if !v.trim().is_empty() {
            qs.append_pair(k, v.trim());
        }
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ReportPage {
        l: Layout::new(&ctx, "sla.title"),
        export_query: qs.finish(),
        q: form,
        from: from.to_string(),
        to: to.to_string(),
        group,
        groups,
        report,
        breaches,
        alerts,
        regions,
        teams,
        errors: FormErrors::new(errors, ctx.locale),
    };
    Ok(render_status(status, &page))
}

// ================================================================ pages: policies

#[derive(Template)]
#[template(path = "sla/policies.html")]
struct PoliciesPage {
    l: Layout,
    policies: Vec<PolicySummary>,
    can_manage: bool,
    form: FormData,
    errors: FormErrors,
}

impl PoliciesPage {
    fn applies(&self, p: &PolicySummary) -> String {
        applies_text(&self.l, &p.applies_to)
    }
}

fn applies_text(l: &Layout, v: &serde_json::Value) -> String {
    let Some(obj) = v.as_object().filter(|o| !o.is_empty()) else {
        return l.t("sla.applies_all");
    };
    obj.iter().map(|(k, v)| format!("{k} = {}", v.as_str().unwrap_or_default())).collect::<Vec<_>>().join(", ")
}

async fn policies_view(st: &AppState, ctx: &Ctx, form: FormData, errors: Vec<FieldError>) -> AppResult<PoliciesPage> {
    let actor = ctx.actor()?;
    Ok(PoliciesPage {
        l: Layout::new(ctx, "sla.policies"),
        policies: svc::list_policies(&st.db).await?,
        can_manage: actor.can(Perm::ManageSla),
        form,
        errors: FormErrors::new(errors, ctx.locale),
    })
}

async fn policies_page(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    Ok(render(&policies_view(&st, &ctx, FormData::default(), vec![]).await?))
}

/// "New policy": a copy of an existing one under a new code and names.
async fn policy_create_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let form = FormData::parse(&body);
    let source = form.get("copy_from");
    let mut value = match svc::get_policy(&st.db, &source).await {
        Ok((view, _)) => view.policy,
        Err(AppError::NotFound) => {
            let page = policies_view(&st, &ctx, form, vec![field_error("copy_from", "error.required")]).await?;
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
        Err(e) => return Err(e),
    };
    value["code"] = serde_json::json!(form.get("code").trim());
    value["name_zh"] = serde_json::json!(form.get("name_zh").trim());
    value["name_en"] = serde_json::json!(form.get("name_en").trim());
    let input =
        PolicySave { version: None, policy: value, active: true, note: format!("{} {source}", ctx.t("sla.copy_from")) };
    match svc::save_policy(&st.db, &st.sla, &actor, None, &input, None).await {
        Ok(v) => Ok(Redirect::to(&format!("/sla/policies/{}?ok=1", super::urlencode(&v.code))).into_response()),
        Err(AppError::Validation(list)) => {
            let list = list.into_iter().map(|f| FieldError { field: f.field.replace("policy.", ""), ..f }).collect();
            let page = policies_view(&st, &ctx, form, list).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "sla/policy.html")]
struct PolicyPage {
    l: Layout,
    view: PolicyView,
    policy: rules::sla::SlaPolicy,
    can_manage: bool,
    saved: bool,
    /// The JSON in the editor (as typed after an error).
    json: String,
    note: String,
    active: bool,
    errors: Vec<FieldError>,
}

impl PolicyPage {
    fn applies(&self) -> String {
        applies_text(&self.l, &self.view.policy["applies_to"])
    }
    fn target_name<'a>(&self, t: &'a rules::sla::SlaTarget) -> &'a str {
        if self.l.locale.starts_with("en") && !t.name_en.is_empty() { &t.name_en } else { &t.name_zh }
    }
    fn length(&self, t: &rules::sla::SlaTarget) -> String {
        let mode = match t.mode {
            rules::sla::ClockMode::Working => "sla.mode_working",
            rules::sla::ClockMode::Elapsed => "sla.mode_elapsed",
        };
        format!("{} ({})", span(self.l.locale, t.minutes), self.l.t(mode))
    }
    fn stops(&self, t: &rules::sla::SlaTarget) -> String {
        self.l.t(&format!("sla.stop_{}", t.stops_at().code()))
    }
    fn pauses(&self, t: &rules::sla::SlaTarget) -> String {
        t.pause_on.iter().map(|r| self.l.t(&format!("sla.reason.{r}"))).collect::<Vec<_>>().join("、")
    }
    fn step(&self, s: &rules::sla::EscalationStep) -> String {
        let when = match (s.after_percent, s.after_minutes_past_due) {
            (Some(p), _) => crate::i18n::tr_args(self.l.locale, "sla.after_percent", &[("n", &p.to_string())]),
            (None, Some(0)) => self.l.t("sla.on_breach"),
            (None, Some(m)) => crate::i18n::tr_args(self.l.locale, "sla.after_due", &[("n", &m.to_string())]),
            _ => String::new(),
        };
        let role = crate::domain::Role::parse(&s.notify_role)
            .map(|r| self.l.t(&r.label_key()))
            .unwrap_or_else(|| s.notify_role.clone());
        format!("{when} → {role}")
    }
}

async fn policy_view(
    st: &AppState,
    ctx: &Ctx,
    code: &str,
    edit: Option<(String, String, bool, Vec<FieldError>)>,
) -> AppResult<PolicyPage> {
    let actor = ctx.actor()?;
    let (view, policy) = svc::get_policy(&st.db, code).await?;
    let pretty = serde_json::to_string_pretty(&view.policy).map_err(anyhow::Error::from)?;
    let (json, note, active, errors) = edit.unwrap_or((pretty, String::new(), view.active, vec![]));
    Ok(PolicyPage {
        l: Layout::new(ctx, "sla.policy"),
        can_manage: actor.can(Perm::ManageSla),
        saved: false,
        view,
        policy,
        json,
        note,
        active,
        errors,
    })
}

#[derive(Deserialize)]
struct Saved {
    #[serde(default)]
    ok: Option<String>,
}

async fn policy_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(s): Query<Saved>,
) -> AppResult<Response> {
    let mut page = policy_view(&st, &ctx, &code, None).await?;
    page.saved = s.ok.is_some();
    Ok(render(&page))
}

async fn policy_save_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let form = FormData::parse(&body);
    let json = form.get("policy");
    let active = form.get("active") == "on";
    let note = form.get("note");
    let value = match serde_json::from_str::<serde_json::Value>(&json) {
        Ok(v) => v,
        Err(e) => {
            let err = FieldError::new("policy", format!("JSON 格式不正确：{e}"), format!("not valid JSON: {e}"));
            let page = policy_view(&st, &ctx, &code, Some((json, note, active, vec![err]))).await?;
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let input =
        PolicySave { version: form.get("version").trim().parse().ok(), policy: value, active, note: note.clone() };
    match svc::save_policy(&st.db, &st.sla, &actor, Some(&code), &input, None).await {
        Ok(_) => Ok(Redirect::to(&format!("/sla/policies/{}?ok=1", super::urlencode(&code))).into_response()),
        Err(AppError::Validation(list)) => {
            let page = policy_view(&st, &ctx, &code, Some((json, note, active, list))).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e),
    }
}

// ================================================================ pages: contracts

#[derive(Template)]
#[template(path = "sla/contracts.html")]
struct ContractsPage {
    l: Layout,
    contracts: Vec<Contract>,
    can_manage: bool,
    form: FormData,
    errors: FormErrors,
}

async fn contracts_view(st: &AppState, ctx: &Ctx, form: FormData, errors: Vec<FieldError>) -> AppResult<ContractsPage> {
    let actor = ctx.actor()?;
    let customer_id = form.get("customer").trim().parse().ok();
    Ok(ContractsPage {
        l: Layout::new(ctx, "sla.contracts"),
        contracts: svc::contracts(&st.db, &actor, customer_id).await?,
        can_manage: actor.can(Perm::ManageSla),
        form,
        errors: FormErrors::new(errors, ctx.locale),
    })
}

async fn contracts_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> AppResult<Response> {
    let mut form = FormData::default();
    if let Some(c) = q.get("customer") {
        form.set("customer", c);
        form.set("customer_id", c);
    }
    Ok(render(&contracts_view(&st, &ctx, form, vec![]).await?))
}

fn contract_input(form: &FormData) -> ContractInput {
    ContractInput {
        code: form.get("code"),
        customer_id: form.get("customer_id").trim().parse().unwrap_or(0),
        name: form.get("name"),
        valid_from: form.get("valid_from"),
        valid_to: form.get("valid_to"),
        note: form.get("note"),
        version: form.get("version").trim().parse().ok(),
    }
}

async fn contract_create_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    contract_submit(&st, &ctx, None, body).await
}

async fn contract_save_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    contract_submit(&st, &ctx, Some(id), body).await
}

async fn contract_submit(st: &AppState, ctx: &Ctx, id: Option<i64>, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    match svc::save_contract(&st.db, &ctx.actor()?, id, &contract_input(&form), None).await {
        Ok(_) => Ok(Redirect::to("/sla/contracts").into_response()),
        Err(AppError::Validation(list)) => {
            let page = contracts_view(st, ctx, form, list).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e),
    }
}

// ================================================================ pages: calendars

#[derive(Template)]
#[template(path = "sla/calendars.html")]
struct CalendarsPage {
    l: Layout,
    a: CalendarAssignments,
    calendars: Vec<crate::service::calendars::CalendarSummary>,
    can_manage: bool,
    saved: bool,
    errors: FormErrors,
}

impl CalendarsPage {
    fn error_of(&self, kind: &str, key: &str) -> String {
        self.errors.get(&format!("{kind}:{key}"))
    }
    fn selected(&self, current: &Option<String>, code: &str) -> bool {
        current.as_deref() == Some(code)
    }
}

async fn calendars_view(st: &AppState, ctx: &Ctx, saved: bool, errors: Vec<FieldError>) -> AppResult<CalendarsPage> {
    let actor = ctx.actor()?;
    Ok(CalendarsPage {
        l: Layout::new(ctx, "sla.calendars"),
        a: svc::calendar_assignments(&st.db, &st.sla, &actor).await?,
        calendars: crate::service::calendars::list(&st.db).await?,
        can_manage: actor.can(Perm::ManageSla),
        saved,
        errors: FormErrors::new(errors, ctx.locale),
    })
}

async fn calendars_page(State(st): State<AppState>, ctx: Ctx, Query(s): Query<Saved>) -> AppResult<Response> {
    Ok(render(&calendars_view(&st, &ctx, s.ok.is_some(), vec![]).await?))
}

/// Saves every changed choice of the form (`default`, `region:CODE`, `engineer:ID`).
async fn calendars_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let form = FormData::parse(&body);
    let current = svc::calendar_assignments(&st.db, &st.sla, &actor).await?;
    let mut changes = vec![];
    let chosen = form.get("default");
    if !chosen.is_empty() && chosen != current.default_calendar {
        changes.push((Assignee::Company, chosen, "default".to_owned()));
    }
    for r in &current.regions {
        let field = format!("region:{}", r.key);
        let chosen = form.get(&field);
        if chosen != r.calendar_code.clone().unwrap_or_default() {
            changes.push((Assignee::Region(r.key.clone()), chosen, field));
        }
    }
    for e in &current.engineers {
        let field = format!("engineer:{}", e.key);
        let chosen = form.get(&field);
        if let Ok(id) = e.key.parse::<i64>()
            && chosen != e.calendar_code.clone().unwrap_or_default()
        {
            changes.push((Assignee::Engineer(id), chosen, field));
        }
    }
    let mut errors = vec![];
    for (who, calendar, field) in changes {
        match svc::assign_calendar(&st.db, &st.sla, &actor, &who, &calendar).await {
            Ok(()) => {}
            Err(AppError::Validation(list)) => {
                errors.extend(list.into_iter().map(|f| FieldError { field: field.clone(), ..f }));
            }
            Err(e) => return Err(e),
        }
    }
    if errors.is_empty() {
        return Ok(Redirect::to("/sla/calendars?ok=1").into_response());
    }
    let page = calendars_view(&st, &ctx, false, errors).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

// ================================================================ order page: breach notes

async fn breach_note_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, target)): Path<(i64, String)>,
    body: Bytes,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let form = FormData::parse(&body);
    crate::service::work_orders::visible_order(&st.db, &actor, id).await?;
    let input = BreachNote { cause: form.get("cause"), note: form.get("note") };
    svc::annotate_breach(&st.db, &actor, id, &target, &input).await?;
    Ok(Redirect::to(&format!("/work-orders/{id}#clock-{}", super::urlencode(&target))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_in_both_languages() {
        assert_eq!(span("zh-CN", 60), "1小时");
        assert_eq!(span("zh-CN", 2 * 1440 + 90), "2天1小时30分");
        assert_eq!(span("en", 2880), "2 d");
        assert_eq!(span("en", -5), "−5 min");
        assert_eq!(span("en", 0), "0 min");
    }

    #[test]
    fn quarters_start_on_their_first_day() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        assert_eq!(quarter_start(d(2, 14)), d(1, 1));
        assert_eq!(quarter_start(d(6, 30)), d(4, 1));
        assert_eq!(quarter_start(d(12, 6)), d(10, 1));
    }
}
