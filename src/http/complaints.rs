//! Complaints, suggestions and praise (R5): the register with the year's objective, the
//! registration form, a record's page with its promises, steps and the forms of the steps the
//! user may take, the complaint policy, exports, and the JSON API for all of it.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::NaiveDate;
use rules::FieldError;
use rules::complaint::{Action, AnswerChannel, ComplaintPolicy, Conclusion, Department, Kind, Severity, Status};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::api::{ApiJson, ApiQuery};
use super::archive::{ExportFormat, download, export_format};
use super::web::{FormData, FormErrors, Layout, render, render_status};
use super::work_orders::codes;
use super::{AppState, Ctx};
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::service::complaints::{
    self as svc, ActionInput, ComplaintDetail, Deadline, ListQuery, NewComplaintInput, Objective, Page, PolicyView,
    View,
};
use crate::store::complaints::{Complaint, Event};
use crate::store::customers::Customer;
use crate::store::units::Unit;
use crate::tabular::{Cell, Table};

#[derive(OpenApi)]
#[openapi(
    paths(api_list, api_create, api_export, api_objective, api_get, api_act, api_policy, api_policy_save),
    components(schemas(Complaint, Event, ComplaintDetail, Deadline, Page, NewComplaintInput, ActionInput, Objective,
        PolicyView, PolicyInput, crate::store::complaints::Summary)),
    tags((name = "complaints", description = "Complaints, suggestions and praise (R5)"))
)]
pub struct ApiDoc;

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/complaints", get(api_list).post(api_create))
        .route("/complaints/export", get(api_export))
        .route("/complaints/objective", get(api_objective))
        .route("/complaints/{id}", get(api_get))
        .route("/complaints/{id}/actions", axum::routing::post(api_act))
        .route("/complaint-policy", get(api_policy).put(api_policy_save))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/complaints", get(list_page))
        .route("/complaints/new", get(new_page).post(new_submit))
        .route("/complaints/policy", get(policy_page).post(policy_submit))
        .route("/complaints/{id}", get(show_page).post(act_submit))
}

/// Names of the codes a page shows, in its language.
pub trait ComplaintLabels {
    fn layout(&self) -> &Layout;

    fn kind_name(&self, code: &str) -> &'static str {
        Kind::parse(code).map(|v| v.name(self.layout().locale)).unwrap_or("—")
    }
    fn severity_name(&self, code: &str) -> &'static str {
        Severity::parse(code).map(|v| v.name(self.layout().locale)).unwrap_or("—")
    }
    fn status_name(&self, code: &str) -> &'static str {
        Status::parse(code).map(|v| v.name(self.layout().locale)).unwrap_or("—")
    }
    fn department_name(&self, code: &str) -> &'static str {
        Department::parse(code).map(|v| v.name(self.layout().locale)).unwrap_or("—")
    }
    fn channel_name(&self, code: &str) -> &'static str {
        rules::work_order::Channel::parse(code).map(|v| v.name(self.layout().locale)).unwrap_or("—")
    }
    fn answer_channel_name(&self, code: &Option<String>) -> &'static str {
        code.as_deref().and_then(AnswerChannel::parse).map(|v| v.name(self.layout().locale)).unwrap_or("")
    }
    fn action_name(&self, code: &str) -> String {
        match Action::parse(code) {
            Some(a) => a.name(self.layout().locale).to_string(),
            None => self.layout().t(&format!("complaint.action_{code}")),
        }
    }
}

// ================================================================ list

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// open (default) | overdue | all
    #[serde(default)]
    view: String,
    /// complaint | suggestion | praise
    #[serde(default)]
    kind: String,
    /// general | major
    #[serde(default)]
    severity: String,
    /// quality | service | sales
    #[serde(default)]
    department: String,
    customer_id: Option<i64>,
    order_id: Option<i64>,
    /// Received on or after this day (company time).
    from: Option<NaiveDate>,
    /// Received on or before this day.
    to: Option<NaiveDate>,
    /// `next_before` of the previous page.
    #[serde(default)]
    before: String,
    /// Default 50, at most 200.
    limit: Option<i64>,
}

fn optional<T>(field: &str, s: &str, parse: fn(&str) -> Option<T>) -> AppResult<Option<T>> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    parse(s).map(Some).ok_or_else(|| AppError::one(field, "error.bad_parameter"))
}

fn query_of(p: &ListParams, limit: i64) -> AppResult<ListQuery> {
    Ok(ListQuery {
        view: Some(View::parse(&p.view).ok_or_else(|| AppError::one("view", "error.bad_parameter"))?),
        kind: optional("kind", &p.kind, Kind::parse)?,
        severity: optional("severity", &p.severity, Severity::parse)?,
        department: optional("department", &p.department, Department::parse)?,
        customer_id: p.customer_id,
        order_id: p.order_id,
        from: p.from,
        to: p.to,
        before: Some(p.before.clone()).filter(|s| !s.is_empty()),
        limit,
    })
}

/// Complaints, suggestions and praise, newest first (region users see their region's).
#[utoipa::path(get, path = "/api/v1/complaints", params(ListParams),
    responses((status = 200, body = Page), (status = 403), (status = 422)), tag = "complaints")]
async fn api_list(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<ListParams>,
) -> AppResult<axum::Json<Page>> {
    let q = query_of(&p, p.limit.unwrap_or(50))?;
    Ok(axum::Json(svc::list(&st.db, &ctx.actor()?, &q).await?))
}

#[derive(Template)]
#[template(path = "complaints/list.html")]
struct ListPage {
    l: Layout,
    page: Page,
    objective: Objective,
    view: String,
    kind: String,
    severity: String,
    department: String,
    kinds: Vec<(&'static str, &'static str)>,
    severities: Vec<(&'static str, &'static str)>,
    departments: Vec<(&'static str, &'static str)>,
    /// The filters as a query string (without view and cursor), for tabs, pages and exports.
    filters: String,
}
impl ComplaintLabels for ListPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl ListPage {
    fn is_overdue(&self, k: &Complaint) -> bool {
        let now = chrono::Utc::now();
        let open = !matches!(k.status.as_str(), "closed" | "cancelled");
        let ack = k.acknowledged_at.is_none() && k.answered_at.is_none() && k.ack_due_at.is_some_and(|d| d < now);
        let answer = k.answered_at.is_none() && k.status != "referred" && k.answer_due_at.is_some_and(|d| d < now);
        open && k.kind == "complaint" && (ack || answer)
    }
}

async fn list_page(State(st): State<AppState>, ctx: Ctx, Query(p): Query<ListParams>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let q = query_of(&p, 50)?;
    let page = svc::list(&st.db, &actor, &q).await?;
    let objective = svc::objective(&st.db, &actor, None).await?;
    let mut filters = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [("kind", &p.kind), ("severity", &p.severity), ("department", &p.department)] {
        if !v.is_empty() {
            filters.append_pair(k, v);
        }
    }
    let locale = ctx.locale;
    Ok(render(&ListPage {
        l: Layout::new(&ctx, "complaint.title"),
        page,
        objective,
        view: q.view.unwrap_or(View::Open).code().into(),
        kind: p.kind,
        severity: p.severity,
        department: p.department,
        kinds: codes(Kind::ALL, Kind::code, Kind::name, locale),
        severities: codes(Severity::ALL, Severity::code, Severity::name, locale),
        departments: codes(Department::ALL, Department::code, Department::name, locale),
        filters: filters.finish(),
    }))
}

fn table(ctx: &Ctx, items: Vec<Complaint>) -> Table {
    let name = |code: Option<&'static str>| code.unwrap_or("").to_string();
    let l = ctx.locale;
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.with_timezone(&chrono_tz::Asia::Shanghai).format("%Y-%m-%d %H:%M").to_string())
    };
    let rows = items
        .into_iter()
        .map(|k| {
            vec![
                k.number().into(),
                time(Some(k.received_at)).into(),
                name(Kind::parse(&k.kind).map(|v| v.name(l))).into(),
                name(Severity::parse(&k.severity).map(|v| v.name(l))).into(),
                name(Status::parse(&k.status).map(|v| v.name(l))).into(),
                name(Department::parse(&k.department).map(|v| v.name(l))).into(),
                name(rules::work_order::Channel::parse(&k.channel).map(|v| v.name(l))).into(),
                k.customer_name.clone().unwrap_or_else(|| k.contact_name.clone()).into(),
                k.contact_phone.clone().into(),
                k.unit_serial.clone().into(),
                k.order_id.map(crate::store::work_orders::number).into(),
                k.engineer_name.clone().into(),
                k.subject.clone().into(),
                time(k.answer_due_at).into(),
                time(k.answered_at).into(),
                name(k.answer_channel.as_deref().and_then(AnswerChannel::parse).map(|v| v.name(l))).into(),
                k.answer_text.clone().into(),
                k.accepted.map(|a| ctx.t(if a { "complaint.yes" } else { "complaint.no" })).into(),
                k.root_cause.clone().into(),
                k.inspection_body.clone().into(),
                name(k.conclusion.as_deref().and_then(Conclusion::parse).map(|v| v.name(l))).into(),
                time(k.closed_at).into(),
            ]
        })
        .collect::<Vec<Vec<Cell>>>();
    let keys = [
        "complaint.number",
        "complaint.received_at",
        "complaint.kind",
        "complaint.severity",
        "wo.status",
        "complaint.department",
        "complaint.channel",
        "archive.customer",
        "field.phone",
        "archive.serial",
        "wo.number",
        "complaint.engineer",
        "complaint.subject",
        "complaint.answer_due",
        "complaint.answered_at",
        "complaint.answer_channel",
        "complaint.answer_text",
        "complaint.accepted",
        "complaint.root_cause",
        "complaint.inspection_body",
        "complaint.conclusion",
        "complaint.closed_at",
    ];
    Table { headers: keys.iter().map(|k| ctx.t(k)).collect(), rows }
}

/// The register (列表 with its filters, every page up to 100,000 rows) as a spreadsheet.
#[utoipa::path(get, path = "/api/v1/complaints/export", params(ListParams, ExportFormat),
    responses((status = 200, description = "The spreadsheet")), tag = "complaints")]
async fn api_export(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<ListParams>,
    ApiQuery(f): ApiQuery<ExportFormat>,
) -> AppResult<Response> {
    let format = export_format(&f.format)?;
    let actor = ctx.actor()?;
    let (q, db, actor) = (&query_of(&p, 200)?, &st.db, &actor);
    let all = super::archive::every_page(|before| async move {
        let page = svc::list(db, actor, &ListQuery { before, ..q.clone() }).await?;
        Ok((page.items, page.next_before))
    })
    .await?;
    let t = table(&ctx, all);
    Ok(download(crate::tabular::render(t, format, "complaints").await?, format, "complaints"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct YearParams {
    /// Default: this year.
    year: Option<i32>,
}

/// The year's "no major complaint" objective and the year's figures.
#[utoipa::path(get, path = "/api/v1/complaints/objective", params(YearParams),
    responses((status = 200, body = Objective), (status = 403)), tag = "complaints")]
async fn api_objective(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<YearParams>,
) -> AppResult<axum::Json<Objective>> {
    Ok(axum::Json(svc::objective(&st.db, &ctx.actor()?, p.year).await?))
}

// ================================================================ registration

/// Registers a complaint, suggestion or praise; the handling department is told by e-mail.
#[utoipa::path(post, path = "/api/v1/complaints", request_body = NewComplaintInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first answer")),
    responses((status = 201, body = ComplaintDetail), (status = 403), (status = 422)), tag = "complaints")]
async fn api_create(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<NewComplaintInput>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    super::api::create_once(&st, &actor, &headers, "complaints.create", async |idem| {
        svc::create(&st.db, &st.sla, &actor, &input, idem).await
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
struct NewQuery {
    #[serde(default)]
    q: String,
    customer_id: Option<i64>,
    unit_id: Option<i64>,
    order_id: Option<i64>,
    #[serde(default)]
    kind: String,
}

#[derive(Template)]
#[template(path = "complaints/new.html")]
struct NewPage {
    l: Layout,
    q: String,
    customers: Vec<Customer>,
    units: Vec<Unit>,
    customer: Option<Customer>,
    customer_units: Vec<Unit>,
    form: FormData,
    errors: FormErrors,
    kinds: Vec<(&'static str, &'static str)>,
    severities: Vec<(&'static str, &'static str)>,
    channels: Vec<(&'static str, &'static str)>,
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
    actor.require(crate::domain::Perm::Feedback)?;
    let (customers, units) = super::archive::search_both(st, ctx, &q.q).await?;
    let order = match q.order_id.or_else(|| form.get("order_id").parse().ok()) {
        Some(id) => crate::service::work_orders::get(&st.db, &st.sla, &actor, id).await.ok(),
        None => None,
    };
    if let Some(o) = &order {
        form.set("order_id", &o.order.id.to_string());
    }
    let unit_id =
        q.unit_id.or_else(|| form.get("unit_id").parse().ok()).or(order.as_ref().and_then(|o| o.order.unit_id));
    let unit = match unit_id {
        Some(id) => arch::get_unit(&st.db, &actor, id).await.ok(),
        None => None,
    };
    let customer_id = unit
        .as_ref()
        .map(|u| u.customer_id)
        .or(order.as_ref().map(|o| o.order.customer_id))
        .or(q.customer_id)
        .or_else(|| form.get("customer_id").parse().ok());
    let (customer, customer_units) = super::archive::customer_with_units(st, &actor, customer_id).await?;
    if let Some(u) = &unit {
        form.set("unit_id", &u.id.to_string());
    }
    if form.get("idem").is_empty() {
        form.set("idem", &crate::service::new_secret().0[..32]);
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let locale = ctx.locale;
    let page = NewPage {
        l: Layout::new(ctx, "complaint.new_title"),
        q: q.q,
        customers,
        units,
        customer,
        customer_units,
        form,
        errors: FormErrors::new(errors, locale),
        kinds: codes(Kind::ALL, Kind::code, Kind::name, locale),
        severities: codes(Severity::ALL, Severity::code, Severity::name, locale),
        channels: codes(
            rules::work_order::Channel::ALL,
            rules::work_order::Channel::code,
            rules::work_order::Channel::name,
            locale,
        ),
    };
    Ok(render_status(status, &page))
}

async fn new_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<NewQuery>) -> AppResult<Response> {
    let mut form = FormData::default();
    form.set("kind", if q.kind.is_empty() { "complaint" } else { &q.kind });
    form.set("severity", "general");
    form.set("channel", "hotline");
    new_view(&st, &ctx, q, form, vec![]).await
}

async fn new_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let actor = ctx.actor()?;
    let mut errors = vec![];
    let received_at = crate::service::work_orders::parse_instant("received_at", &form.get("received_at"), &mut errors);
    let input = NewComplaintInput {
        kind: form.get("kind"),
        severity: form.get("severity"),
        channel: form.get("channel"),
        customer_id: form.id("customer_id"),
        unit_id: form.id("unit_id"),
        order_id: form.id("order_id"),
        engineer_id: None,
        contact_name: form.get("contact_name"),
        contact_phone: form.get("contact_phone"),
        subject: form.get("subject"),
        description: form.get("description"),
        received_at,
    };
    // The form carries a key made when it was shown, so a double click registers once.
    let key = form.get("idem");
    let (idem, done) = super::api::page_idem(&st, &actor, &key, "complaints.create.page", "/complaint/id").await?;
    if let Some(id) = done {
        return Ok(Redirect::to(&format!("/complaints/{id}")).into_response());
    }
    let result = if errors.is_empty() {
        svc::create(&st.db, &st.sla, &actor, &input, idem.as_ref()).await
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(d) => Ok(Redirect::to(&format!("/complaints/{}", d.complaint.id)).into_response()),
        Err(AppError::Validation(list)) => new_view(&st, &ctx, NewQuery::default(), form, list).await,
        Err(e) => Err(e),
    }
}

// ================================================================ one record

/// A record with its steps, promises and the actions the caller may take.
#[utoipa::path(get, path = "/api/v1/complaints/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = ComplaintDetail), (status = 404)), tag = "complaints")]
async fn api_get(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<axum::Json<ComplaintDetail>> {
    Ok(axum::Json(svc::get(&st.db, &st.sla, &ctx.actor()?, id).await?))
}

/// Takes one step (contact, investigate, reclassify, answer, accept, reject, refer, finding,
/// forward, conclude, acknowledge, cancel). 422 names the fields, or `action` when the step
/// does not follow or is not the caller's; 409 when the record changed meanwhile.
#[utoipa::path(post, path = "/api/v1/complaints/{id}/actions", params(("id" = i64, Path)), request_body = ActionInput,
    responses((status = 200, body = ComplaintDetail), (status = 404), (status = 409), (status = 422)), tag = "complaints")]
async fn api_act(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ActionInput>,
) -> AppResult<axum::Json<ComplaintDetail>> {
    Ok(axum::Json(svc::act(&st.db, &st.sla, &ctx.actor()?, id, &input).await?))
}

#[derive(Template)]
#[template(path = "complaints/show.html")]
struct ShowPage {
    l: Layout,
    d: ComplaintDetail,
    /// The form that failed, with what was typed.
    failed: String,
    form: FormData,
    errors: FormErrors,
    answer_channels: Vec<(&'static str, &'static str)>,
    conclusions: Vec<(&'static str, &'static str)>,
    departments: Vec<(&'static str, &'static str)>,
}
impl ComplaintLabels for ShowPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl ShowPage {
    fn can(&self, action: &str) -> bool {
        self.d.actions.iter().any(|a| a == action)
    }
    /// What was typed into `action`'s form when it failed, else empty.
    fn value(&self, action: &str, field: &str) -> String {
        if self.failed == action { self.form.get(field) } else { String::new() }
    }
    fn error(&self, action: &str, field: &str) -> String {
        if self.failed == action { self.errors.get(field) } else { String::new() }
    }
    fn span(&self, minutes: &i64) -> String {
        super::sla::span(self.l.locale, *minutes)
    }
    fn bar(&self, k: &Deadline) -> i64 {
        (k.percent_used.round() as i64).clamp(0, 100)
    }
    fn clock_state(&self, state: &str) -> String {
        self.l.t(&format!("sla.state_{state}"))
    }
    fn event_detail(&self, e: &Event) -> String {
        let l = self.l.locale;
        match e.action.as_str() {
            "register" | "reclassify" => {
                // severity:department, or from→to:department
                let (sev, dept) = e.detail.rsplit_once(':').unwrap_or((&e.detail, ""));
                let sev = sev.rsplit('→').next().unwrap_or(sev);
                let sev = Severity::parse(sev).map(|s| s.name(l)).unwrap_or("");
                let dept = Department::parse(dept).map(|d| d.name(l)).unwrap_or("");
                format!("{sev} → {dept}")
            }
            "finding" => Conclusion::parse(&e.detail).map(|c| c.name(l).to_string()).unwrap_or_default(),
            "forward" => Department::parse(&e.detail).map(|d| d.name(l).to_string()).unwrap_or_default(),
            "conclude" => self.l.t(&format!("complaint.{}", e.detail)),
            "escalate" => self.l.t(&format!("complaint.target_{}", e.detail)),
            _ => e.detail.clone(),
        }
    }
    fn event_channel(&self, e: &Event) -> &'static str {
        let l = self.l.locale;
        match e.channel.as_deref() {
            Some(c) if e.action == "register" => rules::work_order::Channel::parse(c).map(|v| v.name(l)).unwrap_or(""),
            Some(c) => AnswerChannel::parse(c).map(|v| v.name(l)).unwrap_or(""),
            None => "",
        }
    }
    fn conclusion_name(&self, c: &Option<String>) -> &'static str {
        c.as_deref().and_then(Conclusion::parse).map(|v| v.name(self.l.locale)).unwrap_or("—")
    }
    fn yes_no(&self, v: &Option<bool>) -> String {
        match v {
            Some(true) => self.l.t("complaint.yes"),
            Some(false) => self.l.t("complaint.no"),
            None => "—".into(),
        }
    }
    fn other_severity(&self) -> &'static str {
        if self.d.complaint.severity == "major" { "general" } else { "major" }
    }
    fn order_no(&self, id: &i64) -> String {
        crate::store::work_orders::number(*id)
    }
    fn today(&self) -> NaiveDate {
        crate::service::work_orders::today()
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
    let d = svc::get(&st.db, &st.sla, &ctx.actor()?, id).await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let locale = ctx.locale;
    let page = ShowPage {
        l: Layout::new(ctx, "complaint.title"),
        d,
        failed: failed.into(),
        form,
        errors: FormErrors::new(errors, locale),
        answer_channels: codes(AnswerChannel::ALL, AnswerChannel::code, AnswerChannel::name, locale),
        conclusions: codes(Conclusion::ALL, Conclusion::code, Conclusion::name, locale),
        departments: codes(Department::ALL, Department::code, Department::name, locale),
    };
    Ok(render_status(status, &page))
}

async fn show_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    show_view(&st, &ctx, id, "", FormData::default(), vec![]).await
}

async fn act_submit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let flag = |field: &str| match form.get(field).as_str() {
        "1" | "true" | "on" => Some(true),
        "0" | "false" => Some(false),
        _ => None,
    };
    let input = ActionInput {
        action: form.get("action"),
        version: form.get("version").trim().parse().unwrap_or(0),
        text: form.get("text"),
        channel: form.get("channel"),
        on_day: form.get("on_day").trim().parse().ok(),
        severity: form.get("severity"),
        root_cause: form.get("root_cause"),
        inspection_body: form.get("inspection_body"),
        conclusion: form.get("conclusion"),
        department: form.get("department"),
        valuable: flag("valuable"),
        adopted: flag("adopted"),
    };
    let mut errors = vec![];
    if !form.get("on_day").trim().is_empty() && input.on_day.is_none() {
        errors.push(field_error("on_day", "error.bad_parameter"));
    }
    let result = if errors.is_empty() {
        svc::act(&st.db, &st.sla, &ctx.actor()?, id, &input).await
    } else {
        Err(AppError::Validation(errors))
    };
    let action = input.action.clone();
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/complaints/{id}")).into_response()),
        Err(AppError::Validation(list)) => show_view(&st, &ctx, id, &action, form, list).await,
        Err(AppError::Conflict(key)) => {
            show_view(&st, &ctx, id, &action, form, vec![field_error("version", key)]).await
        }
        Err(e) => Err(e),
    }
}

// ================================================================ policy

/// The complaint policy in force.
#[utoipa::path(get, path = "/api/v1/complaint-policy",
    responses((status = 200, body = PolicyView), (status = 403)), tag = "complaints")]
async fn api_policy(State(st): State<AppState>, ctx: Ctx) -> AppResult<axum::Json<PolicyView>> {
    Ok(axum::Json(svc::policy(&st.db, &ctx.actor()?).await?))
}

#[derive(Deserialize, ToSchema)]
struct PolicyInput {
    /// The version read (409 when someone saved meanwhile).
    version: i64,
    #[schema(value_type = Object)]
    policy: serde_json::Value,
}

fn parse_policy(v: &serde_json::Value) -> AppResult<ComplaintPolicy> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "policy".to_string() } else { path };
        AppError::Validation(vec![FieldError::new(
            field,
            format!("格式错误：{}", e.inner()),
            format!("invalid: {}", e.inner()),
        )])
    })
}

/// Saves the next version of the complaint policy (managers); records keep the version they
/// started with.
#[utoipa::path(put, path = "/api/v1/complaint-policy", request_body = PolicyInput,
    responses((status = 200, body = PolicyView), (status = 403), (status = 409), (status = 422)), tag = "complaints")]
async fn api_policy_save(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiJson(input): ApiJson<PolicyInput>,
) -> AppResult<axum::Json<PolicyView>> {
    let policy = parse_policy(&input.policy)?;
    Ok(axum::Json(svc::save_policy(&st.db, &st.sla, &ctx.actor()?, &policy, input.version).await?))
}

#[derive(Template)]
#[template(path = "complaints/policy.html")]
struct PolicyPage {
    l: Layout,
    p: PolicyView,
    json: String,
    errors: Vec<FieldError>,
    can_edit: bool,
}
impl ComplaintLabels for PolicyPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl PolicyPage {
    fn span(&self, minutes: &i64) -> String {
        super::sla::span(self.l.locale, *minutes)
    }
    fn mode_name(&self, mode: &rules::sla::ClockMode) -> String {
        let code = match mode {
            rules::sla::ClockMode::Working => "working",
            rules::sla::ClockMode::Elapsed => "elapsed",
        };
        self.l.t(&format!("sla.mode_{code}"))
    }
    /// (severity, department, target) for each promise of each severity.
    fn rows(&self) -> Vec<(&'static str, &'static str, &rules::sla::SlaTarget)> {
        let l = self.l.locale;
        [(Severity::General, &self.p.policy.general), (Severity::Major, &self.p.policy.major)]
            .into_iter()
            .flat_map(|(s, t)| [&t.acknowledge, &t.answer].map(|target| (s.name(l), t.department.name(l), target)))
            .collect()
    }
}

async fn policy_view(st: &AppState, ctx: &Ctx, json: Option<String>, errors: Vec<FieldError>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let p = svc::policy(&st.db, &actor).await?;
    let json = json.unwrap_or_else(|| serde_json::to_string_pretty(&p.policy).unwrap_or_default());
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = PolicyPage {
        l: Layout::new(ctx, "complaint.policy_title"),
        p,
        json,
        errors,
        can_edit: actor.can(crate::domain::Perm::ManageCare),
    };
    Ok(render_status(status, &page))
}

async fn policy_page(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    policy_view(&st, &ctx, None, vec![]).await
}

async fn policy_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let json = form.get("policy");
    let version = form.get("version").trim().parse().unwrap_or(0);
    let result = match serde_json::from_str::<serde_json::Value>(&json) {
        Ok(v) => match parse_policy(&v) {
            Ok(p) => svc::save_policy(&st.db, &st.sla, &ctx.actor()?, &p, version).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(AppError::Validation(vec![FieldError::new(
            "policy",
            format!("JSON 格式错误：{e}"),
            format!("invalid JSON: {e}"),
        )])),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/complaints/policy").into_response()),
        Err(AppError::Validation(list)) => policy_view(&st, &ctx, Some(json), list).await,
        Err(AppError::Conflict(key)) => policy_view(&st, &ctx, Some(json), vec![field_error("version", key)]).await,
        Err(e) => Err(e),
    }
}
