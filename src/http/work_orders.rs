//! Pages and API of service requests and work orders: intake, the order with its actions,
//! lists and export, the dispatch board, the engineer's phone view, the printable report, and
//! the customer's tracking link and request form (no account).

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rules::FieldError;
use rules::work_order::{Action, Channel, Kind, Priority, Status};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::api::{ApiJson, ApiQuery};
use super::web::{FormData, FormErrors, Layout};
use super::{AppState, Ctx};
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::service::work_orders::{self as svc, ActionInput, IntakeInput, OrderDetail};
use crate::service::{Idem, replay};
use crate::store;
use crate::store::work_orders::{Summary, Visit};

const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;
/// A photo from a phone camera, with the multipart overhead.
const PHOTO_LIMIT: usize = svc::MAX_PHOTO_BYTES + 64 * 1024;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/work-orders", get(list_page).post(create_submit))
        .route("/work-orders/new", get(new_page))
        .route("/work-orders/new/customer", post(intake_customer_submit))
        .route("/work-orders/new/unit", post(intake_unit_submit))
        .route("/work-orders/export", get(export))
        .route("/work-orders/views", post(view_save))
        .route("/work-orders/views/{id}/delete", post(view_delete))
        .route("/work-orders/{id}", get(order_page))
        .route("/work-orders/{id}/act/{action}", post(act_submit))
        .route("/work-orders/{id}/photos", post(photo_submit).layer(DefaultBodyLimit::max(PHOTO_LIMIT)))
        .route("/work-orders/{id}/report", get(report_page))
        .route("/work-orders/{id}/parts", post(parts_submit))
        .route("/attachments/{id}", get(attachment))
        .route("/my", get(my_page))
        .route("/dispatch", get(dispatch_page))
        .route("/quality/feedback", get(feedback_page))
        .route("/work-orders/setup", get(setup_page))
        .route("/work-orders/setup/fault-codes", post(setup_fault_code))
        .route("/work-orders/setup/skills/{id}", post(setup_skills))
        .route("/t/{token}", get(track_page))
        .route("/t/{token}/quote", post(track_quote))
        .route("/t/{token}/attachments/{id}", get(track_attachment))
        .route("/u/{token}/request", get(public_request_page).post(public_request_submit))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/work-orders", get(api_list).post(api_create))
        .route("/work-orders/export", get(export))
        .route("/work-orders/views", get(api_views).post(api_view_save))
        .route("/work-orders/views/{id}", axum::routing::delete(api_view_delete))
        .route("/work-orders/{id}", get(api_get))
        .route("/work-orders/{id}/actions/{action}", post(api_act))
        .route("/work-orders/{id}/suggestions", get(api_suggestions))
        .route("/work-orders/{id}/photos", post(api_photo).layer(DefaultBodyLimit::max(PHOTO_LIMIT)))
        .route("/attachments/{id}", get(attachment))
        .route("/work-orders/{id}/notifications", get(api_notifications))
        .route("/quality/feedback", get(api_feedback))
        .route("/fault-codes", get(api_fault_codes))
        .route("/engineers", get(api_engineers))
        .route("/engineers/{id}/skills", axum::routing::put(api_skills))
        .route("/fault-codes/{category}/{code}", axum::routing::put(api_fault_code_save))
        .route("/webhooks", get(api_webhooks).post(api_webhook_create))
        .route("/webhooks/{id}", axum::routing::delete(api_webhook_delete))
}

/// The e-mails and webhook calls of one order, with their delivery state.
#[utoipa::path(get, path = "/api/v1/work-orders/{id}/notifications", responses((status = 200, body = [store::outbox::Message])), tag = "work orders")]
async fn api_notifications(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<Vec<store::outbox::Message>>> {
    Ok(axum::Json(crate::service::notifications::of_order(&st.db, &ctx.actor()?, id).await?))
}

/// Registered webhooks (administrators).
#[utoipa::path(get, path = "/api/v1/webhooks", responses((status = 200, body = [store::outbox::Webhook])), tag = "work orders")]
async fn api_webhooks(State(st): State<AppState>, ctx: Ctx) -> AppResult<axum::Json<Vec<store::outbox::Webhook>>> {
    Ok(axum::Json(crate::service::notifications::list_webhooks(&st.db, &ctx.actor()?).await?))
}

/// Registers a webhook (administrators). Each subscribed event is POSTed as JSON with
/// `X-Aftersales-Event` and `X-Aftersales-Signature: sha256=HMAC(secret, body)`; the secret is
/// in this answer only.
#[utoipa::path(post, path = "/api/v1/webhooks", request_body = crate::service::notifications::WebhookInput,
    responses((status = 201, body = crate::service::notifications::CreatedWebhook), (status = 422)), tag = "work orders")]
async fn api_webhook_create(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiJson(input): ApiJson<crate::service::notifications::WebhookInput>,
) -> AppResult<Response> {
    let created = crate::service::notifications::create_webhook(&st.db, &ctx.actor()?, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(created)).into_response())
}

/// Stops a webhook (administrators); calls still queued for it are skipped.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", responses((status = 204), (status = 404)), tag = "work orders")]
async fn api_webhook_delete(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<StatusCode> {
    crate::service::notifications::delete_webhook(&st.db, &ctx.actor()?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn render<T: Template>(t: &T) -> Response {
    super::web::render(t)
}

fn render_status<T: Template>(status: StatusCode, t: &T) -> Response {
    super::web::render_status(status, t)
}

/// Human labels shared by the work-order templates.
pub trait OrderLabels {
    fn layout(&self) -> &Layout;

    fn status_name(&self, code: &str) -> String {
        Status::parse(code).map(|s| s.name(self.layout().locale).to_string()).unwrap_or_else(|| code.into())
    }
    fn kind_name(&self, code: &str) -> String {
        Kind::parse(code).map(|s| s.name(self.layout().locale).to_string()).unwrap_or_else(|| code.into())
    }
    fn channel_name(&self, code: &str) -> String {
        Channel::parse(code).map(|s| s.name(self.layout().locale).to_string()).unwrap_or_else(|| code.into())
    }
    fn priority_name(&self, code: &str) -> String {
        Priority::parse(code).map(|s| s.name(self.layout().locale).to_string()).unwrap_or_else(|| code.into())
    }
    fn action_name(&self, code: &str) -> String {
        Action::parse(code)
            .map(|a| a.name(self.layout().locale).to_string())
            .unwrap_or_else(|| self.layout().t(&format!("wo.event_{code}")))
    }
    /// A time-line note as the reader's language has it: the stored note holds codes where
    /// the system wrote it (the channel of a registration, a quote's or an approval's answer).
    fn event_note(&self, e: &store::work_orders::Event) -> String {
        let (head, rest) = match e.note.split_once(" — ") {
            Some((h, r)) => (h, format!(" — {r}")),
            None => (e.note.as_str(), String::new()),
        };
        match e.action.as_str() {
            "create" => self.channel_name(head),
            "decide_quote" => format!("{}{rest}", self.label("wo.quote_", head)),
            "pause" => format!("{}{rest}", self.label("sla.reason.", head)),
            "decide_approval" => match head.split_once(' ') {
                Some((kind, status)) => {
                    format!("{} {}{rest}", self.label("wo.kind_", kind), self.label("wo.approval_", status))
                }
                None => e.note.clone(),
            },
            _ => e.note.clone(),
        }
    }
    fn entitlement_name(&self, code: &str) -> String {
        self.layout().t(&format!("wo.ent_{code}"))
    }
    fn money<C: std::borrow::Borrow<i64>>(&self, cents: C) -> String {
        format!("¥{}", svc::yuan(*cents.borrow()))
    }
    fn number<C: std::borrow::Borrow<i64>>(&self, id: C) -> String {
        store::work_orders::number(*id.borrow())
    }
    /// The label under `prefix` + `code` (payment methods, quote states, …).
    fn label(&self, prefix: &str, code: &str) -> String {
        self.layout().t(&format!("{prefix}{code}"))
    }
    /// The agreed visit time, else the one the customer asked for.
    fn visit<O: Visit>(&self, o: &O) -> String {
        self.layout().time_opt(&o.visit_at())
    }
    fn visit_input<O: Visit>(&self, o: &O) -> String {
        self.local_input(o.visit_at())
    }
    fn opt<'a>(&self, s: &'a Option<String>) -> &'a str {
        s.as_deref().filter(|s| !s.is_empty()).unwrap_or("—")
    }
    /// The colour of an order's most urgent running clock now: breached, warning, running, or
    /// empty when no clock runs.
    fn sla_state<D: std::borrow::Borrow<Option<DateTime<Utc>>>>(&self, due: D, warn: D) -> &'static str {
        let now = Utc::now();
        match (*due.borrow(), *warn.borrow()) {
            (None, _) => "",
            (Some(d), _) if now > d => "breached",
            (_, Some(w)) if now >= w => "warning",
            _ => "running",
        }
    }
    fn sla_label(&self, state: &str) -> String {
        self.layout().t(&format!("sla.state_{state}"))
    }
    /// The local time for a `datetime-local` input.
    fn local_input<T: std::borrow::Borrow<Option<DateTime<Utc>>>>(&self, t: T) -> String {
        t.borrow().map(|t| t.with_timezone(&ZONE).format("%Y-%m-%dT%H:%M").to_string()).unwrap_or_default()
    }
}

// ------------------------------------------------------------------ lists

#[derive(Deserialize, IntoParams, Default, Clone)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// One or more status codes, comma-separated.
    #[serde(default)]
    status: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    region: String,
    engineer_id: Option<i64>,
    /// A team's id: orders counted for it (its engineer's team when assigned).
    team: Option<i64>,
    customer_id: Option<i64>,
    unit_id: Option<i64>,
    /// Product category code.
    #[serde(default)]
    category: String,
    #[serde(default)]
    fault_code: String,
    /// How the request came in: hotline, letter, email, web, walk_in, visit.
    #[serde(default)]
    channel: String,
    /// Product model code.
    #[serde(default)]
    model: String,
    /// Completed on or after this day (YYYY-MM-DD, company time).
    #[serde(default)]
    completed_from: String,
    /// Completed on or before this day.
    #[serde(default)]
    completed_to: String,
    /// Created on or after this day (YYYY-MM-DD, company time).
    #[serde(default)]
    from: String,
    /// Created on or before this day.
    #[serde(default)]
    to: String,
    /// Only orders past due: a promise of a running SLA clock is broken.
    #[serde(default)]
    overdue: Option<String>,
    /// `due`: open orders with a running SLA clock, most urgent first; default newest first.
    #[serde(default)]
    sort: String,
    /// Cursor: the `next_before` of the previous page.
    before: Option<i64>,
    /// Cursor of `sort=due`: the `next_after` of the previous page.
    #[serde(default)]
    after: String,
    limit: Option<i64>,
}

/// `sort=due`'s cursor: `RFC3339~ID`.
fn parse_after(s: &str, errors: &mut Vec<FieldError>) -> Option<(DateTime<Utc>, i64)> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let parsed = s
        .rsplit_once('~')
        .and_then(|(t, id)| Some((DateTime::parse_from_rfc3339(t).ok()?.with_timezone(&Utc), id.parse::<i64>().ok()?)));
    if parsed.is_none() {
        errors.push(field_error("after", "error.bad_parameter"));
    }
    parsed
}

fn day_start(field: &str, s: &str, errors: &mut Vec<FieldError>) -> Option<DateTime<Utc>> {
    crate::domain::archive::parse_date(field, s, errors).map(svc::midnight)
}

fn list_query(p: &ListParams, limit: i64) -> AppResult<svc::ListQuery> {
    let mut errors = vec![];
    let from = day_start("from", &p.from, &mut errors);
    let to = day_start("to", &p.to, &mut errors).map(|t| t + Duration::days(1));
    let completed_from = day_start("completed_from", &p.completed_from, &mut errors);
    let completed_to = day_start("completed_to", &p.completed_to, &mut errors).map(|t| t + Duration::days(1));
    let some = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let q = svc::ListQuery {
        statuses: p.status.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect(),
        kind: some(&p.kind),
        region: some(&p.region),
        engineer_id: p.engineer_id,
        team_id: p.team,
        customer_id: p.customer_id,
        unit_id: p.unit_id,
        category: some(&p.category),
        fault_code: some(&p.fault_code),
        channel: some(&p.channel),
        model: some(&p.model),
        completed_from,
        completed_to,
        created_from: from,
        created_to: to,
        overdue: p.overdue.as_deref().is_some_and(|v| matches!(v, "1" | "true" | "on")),
        before_id: p.before,
        by_due: match p.sort.trim() {
            "" | "new" => false,
            "due" => true,
            _ => {
                errors.push(field_error("sort", "wo.error.unknown_value"));
                false
            }
        },
        after_due: parse_after(&p.after, &mut errors),
        limit,
        ..Default::default()
    };
    q.check(&mut errors);
    AppError::check(errors)?;
    Ok(q)
}

#[derive(Serialize, ToSchema)]
struct OrderPageJson {
    items: Vec<Summary>,
    /// The next page of the default order: `before=…`.
    next_before: Option<i64>,
    /// The next page of `sort=due`: `after=…`.
    next_after: Option<String>,
}

/// The next page's cursor: `before=ID`, or `after=DUE~ID` for `sort=due`.
enum Cursor {
    Before(i64),
    After(String),
}

impl Cursor {
    fn param(&self) -> String {
        match self {
            Cursor::Before(id) => format!("before={id}"),
            Cursor::After(a) => format!("after={}", super::urlencode(a)),
        }
    }
}

async fn page_of(st: &AppState, ctx: &Ctx, p: &ListParams) -> AppResult<(Vec<Summary>, Option<Cursor>)> {
    let limit = super::api::page_limit(p.limit)?;
    let q = list_query(p, limit + 1)?;
    let mut items = svc::list(&st.db, &ctx.actor()?, &q).await?;
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|o| match (q.by_due, o.sla_due_at) {
            (true, Some(due)) => Cursor::After(format!("{}~{}", due.to_rfc3339(), o.id)),
            _ => Cursor::Before(o.id),
        })
    } else {
        None
    };
    Ok((items, next))
}

/// Lists work orders the caller may see (engineers: their own), newest first, with filters.
#[utoipa::path(get, path = "/api/v1/work-orders", params(ListParams), responses((status = 200, body = OrderPageJson), (status = 422)), tag = "work orders")]
async fn api_list(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<ListParams>,
) -> AppResult<axum::Json<OrderPageJson>> {
    let (items, next) = page_of(&st, &ctx, &p).await?;
    let (next_before, next_after) = match next {
        Some(Cursor::Before(id)) => (Some(id), None),
        Some(Cursor::After(a)) => (None, Some(a)),
        None => (None, None),
    };
    Ok(axum::Json(OrderPageJson { items, next_before, next_after }))
}

#[derive(Template)]
#[template(path = "work_orders/list.html")]
struct ListPage {
    l: Layout,
    p: ListParams,
    items: Vec<Summary>,
    next: Option<String>,
    export_query: String,
    statuses: Vec<(&'static str, &'static str)>,
    kinds: Vec<(&'static str, &'static str)>,
    regions: Vec<store::settings::Region>,
    engineers: Vec<store::work_orders::Engineer>,
    can_register: bool,
    can_feedback: bool,
    can_setup: bool,
    views: Vec<store::work_orders::SavedView>,
    errors: FormErrors,
}
impl OrderLabels for ListPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

/// The filters as a query string (for the next page and the export links).
fn query_string(p: &ListParams) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("status", &p.status),
        ("kind", &p.kind),
        ("region", &p.region),
        ("category", &p.category),
        ("from", &p.from),
        ("to", &p.to),
    ] {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    for (k, v) in
        [("engineer_id", p.engineer_id), ("team", p.team), ("customer_id", p.customer_id), ("unit_id", p.unit_id)]
    {
        if let Some(v) = v {
            s.append_pair(k, &v.to_string());
        }
    }
    if p.overdue.as_deref().is_some_and(|v| !v.is_empty()) {
        s.append_pair("overdue", "1");
    }
    if p.sort == "due" {
        s.append_pair("sort", "due");
    }
    s.finish()
}

pub(crate) fn codes<T: Copy>(
    all: &[T],
    code: fn(T) -> &'static str,
    name: fn(T, &str) -> &'static str,
    locale: &str,
) -> Vec<(&'static str, &'static str)> {
    all.iter().map(|v| (code(*v), name(*v, locale))).collect()
}

async fn list_page(State(st): State<AppState>, ctx: Ctx, Query(p): Query<ListParams>) -> AppResult<Response> {
    list_view(&st, &ctx, p, vec![]).await
}

async fn list_view(st: &AppState, ctx: &Ctx, p: ListParams, view_errors: Vec<FieldError>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let (items, next, mut errors) = match page_of(st, ctx, &p).await {
        Ok((items, next)) => (items, next, vec![]),
        Err(AppError::Validation(list)) => (vec![], None, list),
        Err(e) => return Err(e),
    };
    errors.extend(view_errors);
    let qs = query_string(&p);
    let next = next.map(|n| format!("/work-orders?{qs}{}{}", if qs.is_empty() { "" } else { "&" }, n.param()));
    let mut c = st.db.read().await?;
    let regions = store::settings::regions(c.conn()).await?;
    drop(c);
    let can_register = !svc::parties(&actor, None).is_empty();
    let engineers = if can_register { svc::engineers(&st.db, &actor).await? } else { vec![] };
    let page = ListPage {
        statuses: codes(Status::ALL, Status::code, Status::name, ctx.locale),
        kinds: codes(Kind::ALL, Kind::code, Kind::name, ctx.locale),
        l: Layout::new(ctx, "wo.list_title"),
        export_query: qs,
        p,
        items,
        next,
        regions,
        engineers,
        can_register,
        can_feedback: svc::parties(&actor, None)
            .iter()
            .any(|p| matches!(p, rules::work_order::Party::Quality | rules::work_order::Party::Manager)),
        can_setup: actor.can(crate::domain::Perm::ManageFaultCodes) || actor.can(crate::domain::Perm::ManageEngineers),
        views: svc::views(&st.db, &actor).await?,
        errors: FormErrors::new(errors, ctx.locale),
    };
    Ok(render(&page))
}

async fn export(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<ListParams>,
    ApiQuery(f): ApiQuery<super::archive::ExportFormat>,
) -> AppResult<Response> {
    use crate::tabular::{Cell, Table};
    let format = super::archive::export_format(&f.format)?;
    let mut q = list_query(&p, 1_000_000)?;
    q.before_id = None;
    q.after_due = None;
    let list = svc::list_full(&st.db, &ctx.actor()?, &q).await?;
    let t = |t: Option<DateTime<Utc>>| -> Cell {
        t.map(|t| Cell::Text(t.with_timezone(&ZONE).format("%Y-%m-%d %H:%M").to_string())).unwrap_or(Cell::Empty)
    };
    let name = |code: Option<&'static str>| -> Cell { code.map(Cell::from).unwrap_or(Cell::Empty) };
    let loc = ctx.locale;
    let headers = [
        "wo.number",
        "wo.created_at",
        "wo.status",
        "wo.kind",
        "wo.channel",
        "wo.priority",
        "archive.customer",
        "wo.contact",
        "wo.phone",
        "archive.address",
        "archive.serial",
        "archive.model",
        "wo.problem",
        "wo.entitlement",
        "wo.engineer",
        "field.team",
        "wo.scheduled_at",
        "wo.arrived_at",
        "wo.completed_at",
        "wo.fault_code",
        "wo.labour_minutes",
        "wo.travel_km",
        "wo.parts_fee",
        "wo.labour_fee",
        "wo.travel_fee",
        "wo.collected",
        "wo.rating",
    ];
    let yuan = |c: i64| Cell::Number(c as f64 / 100.0);
    let rows = list
        .into_iter()
        .map(|o| {
            vec![
                o.number().into(),
                t(Some(o.created_at)),
                name(Status::parse(&o.status).map(|s| s.name(loc))),
                name(Kind::parse(&o.kind).map(|s| s.name(loc))),
                name(Channel::parse(&o.channel).map(|s| s.name(loc))),
                name(Priority::parse(&o.priority).map(|s| s.name(loc))),
                o.customer_name.into(),
                o.contact_name.into(),
                o.contact_phone.into(),
                o.address.into(),
                o.unit_serial.into(),
                o.model_name.into(),
                o.problem.into(),
                ctx.t(&format!("wo.ent_{}", o.entitlement)).into(),
                o.engineer_name.into(),
                o.team_name.into(),
                t(o.scheduled_at),
                t(o.arrived_at),
                t(o.completed_at),
                o.fault_code.into(),
                o.labour_minutes.into(),
                o.travel_km.into(),
                yuan(o.parts_cents),
                yuan(o.labour_cents),
                yuan(o.travel_cents),
                yuan(o.collected_cents),
                o.rating.map(i64::from).into(),
            ]
        })
        .collect();
    let table = Table { headers: headers.iter().map(|k| ctx.t(k)).collect(), rows };
    Ok(super::archive::download(crate::tabular::render(table, format, "work_orders").await?, format, "work_orders"))
}

// ------------------------------------------------------------------ intake

/// Registers a request. The answer has the entitlement decision and the repeat flag. Send
/// `Idempotency-Key` to make retries safe.
#[utoipa::path(post, path = "/api/v1/work-orders", request_body = IntakeInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first answer")),
    responses((status = 201, body = OrderDetail), (status = 422), (status = 403)), tag = "work orders")]
async fn api_create(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<IntakeInput>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let key = super::api::idempotency_key(&headers)?;
    let idem = key.as_deref().map(|key| Idem { key, scope: "work_orders.create" });
    if let Some(idem) = &idem
        && let Some((_, body)) = replay(&st.db, &actor, idem).await?
    {
        // The stored answer names the order; show it as it is now.
        let id = serde_json::from_str::<serde_json::Value>(&body).ok().and_then(|v| v["id"].as_i64()).unwrap_or(0);
        let d = svc::get_with_link(&st.db, &st.sla, &actor, id, &st.config.public_url).await?;
        let mut res = (StatusCode::CREATED, axum::Json(d)).into_response();
        res.headers_mut().insert("idempotent-replayed", axum::http::HeaderValue::from_static("true"));
        return Ok(res);
    }
    let d = svc::create(&st.db, &st.intake, &actor, &input, idem.as_ref(), &st.config.public_url).await?;
    Ok((StatusCode::CREATED, axum::Json(d)).into_response())
}

#[derive(Deserialize, Default)]
struct NewQuery {
    #[serde(default)]
    q: String,
    customer_id: Option<i64>,
    unit_id: Option<i64>,
    /// Preselects the request type (a maintenance reminder opens a maintenance request).
    #[serde(default)]
    kind: String,
}

#[derive(Template)]
#[template(path = "work_orders/new.html")]
struct NewPage {
    l: Layout,
    q: String,
    customers: Vec<store::customers::Customer>,
    units: Vec<store::units::Unit>,
    customer: Option<store::customers::Customer>,
    customer_units: Vec<store::units::Unit>,
    unit: Option<store::units::Unit>,
    status: Option<rules::entitlement::Evaluation>,
    status_problem: String,
    f: IntakeInput,
    channels: Vec<(&'static str, &'static str)>,
    kinds: Vec<(&'static str, &'static str)>,
    priorities: Vec<(&'static str, &'static str)>,
    errors: FormErrors,
    /// Creating the caller's customer or unit right here: regions, models, the form as typed
    /// and its errors, and which of the two failed ("customer" or "unit").
    regions: Vec<store::settings::Region>,
    models: Vec<store::products::Model>,
    inline: FormData,
    inline_form: String,
    inline_errors: FormErrors,
    /// The new customer looks like one already in the archive: offer to create it anyway.
    duplicates: bool,
}
impl OrderLabels for NewPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl NewPage {
    /// The inline form's value as typed, or a default from the search (a phone number or a name).
    fn inline_value(&self, form: &str, field: &str) -> String {
        if self.inline_form == form {
            return self.inline.get(field);
        }
        let digits = !self.q.trim().is_empty() && self.q.trim().chars().all(|c| c.is_ascii_digit() || c == '-');
        match field {
            "phone" if digits => self.q.trim().to_string(),
            "name" if !digits => self.q.trim().to_string(),
            "region" => self.l.user.as_ref().and_then(|u| u.region_code.clone()).unwrap_or_default(),
            _ => String::new(),
        }
    }
    fn remedy_label(&self, r: &rules::entitlement::Remedy) -> String {
        if self.l.locale == "en" { r.name_en().to_string() } else { r.name_zh().to_string() }
    }
}

/// A failed inline creation: which form, what was typed, what is wrong.
struct Inline {
    form: &'static str,
    data: FormData,
    errors: Vec<FieldError>,
}

async fn new_form(
    st: &AppState,
    ctx: &Ctx,
    q: NewQuery,
    f: IntakeInput,
    errors: Vec<FieldError>,
    inline: Option<Inline>,
) -> AppResult<NewPage> {
    use crate::service::archive as arch;
    let actor = ctx.actor()?;
    if svc::parties(&actor, None).is_empty() {
        return Err(AppError::Forbidden);
    }
    let (customers, units) = super::archive::search_both(st, ctx, &q.q).await?;
    let unit = match f.unit_id.or(q.unit_id) {
        Some(id) => arch::get_unit(&st.db, &actor, id).await.ok(),
        None => None,
    };
    let customer_id =
        unit.as_ref().map(|u| u.customer_id).or(Some(f.customer_id).filter(|id| *id > 0)).or(q.customer_id);
    let (customer, customer_units) = super::archive::customer_with_units(st, &actor, customer_id).await?;
    let today = svc::today();
    let (status, status_problem) = match &unit {
        Some(u) => match arch::warranty_status(&st.db, u, today).await? {
            Ok(e) => (Some(e), String::new()),
            Err(key) if key.starts_with("archive.") => (None, ctx.t(&key)),
            Err(text) => (None, text),
        },
        None => (None, String::new()),
    };
    let f = IntakeInput {
        customer_id: customer.as_ref().map(|c| c.id).unwrap_or(0),
        unit_id: unit.as_ref().map(|u| u.id),
        ..f
    };
    let (regions, models) = {
        let mut c = st.db.read().await?;
        (store::settings::regions(c.conn()).await?, store::products::models(c.conn()).await?)
    };
    let inline = inline.unwrap_or(Inline { form: "", data: FormData::default(), errors: vec![] });
    let duplicates = inline.errors.iter().any(|e| e.message_en.starts_with("Possible duplicate"));
    Ok(NewPage {
        regions,
        models,
        inline_form: inline.form.to_string(),
        inline: inline.data,
        inline_errors: FormErrors::new(inline.errors, ctx.locale),
        duplicates,
        l: Layout::new(ctx, "wo.new_title"),
        q: q.q,
        customers,
        units,
        customer,
        customer_units,
        unit,
        status,
        status_problem,
        f,
        channels: codes(Channel::ALL, Channel::code, Channel::name, ctx.locale),
        kinds: codes(Kind::ALL, Kind::code, Kind::name, ctx.locale),
        priorities: codes(Priority::ALL, Priority::code, Priority::name, ctx.locale),
        errors: FormErrors::new(errors, ctx.locale),
    })
}

async fn new_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<NewQuery>) -> AppResult<Response> {
    let f = IntakeInput {
        channel: "hotline".into(),
        kind: if Kind::parse(&q.kind).is_some() { q.kind.clone() } else { "repair".into() },
        priority: "normal".into(),
        customer_id: q.customer_id.unwrap_or(0),
        unit_id: q.unit_id,
        ..Default::default()
    };
    Ok(render(&new_form(&st, &ctx, q, f, vec![], None).await?))
}

/// A caller not yet in the archive: the dispatcher creates the customer on the intake page
/// (the archive's own checks, duplicates included) and goes on with the request.
async fn intake_customer_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let mut input = super::archive::customer_input_from(&form);
    if input.class.trim().is_empty() {
        input.class = "C".into();
    }
    match crate::service::archive::create_customer(&st.db, &ctx.actor()?, &input, None).await {
        Ok(d) => Ok(Redirect::to(&format!("/work-orders/new?customer_id={}", d.customer.id)).into_response()),
        Err(AppError::Validation(list)) => {
            let q = NewQuery { q: form.get("q"), customer_id: None, unit_id: None, kind: String::new() };
            let inline = Inline { form: "customer", data: form, errors: list };
            let page = new_form(&st, &ctx, q, IntakeInput::default(), vec![], Some(inline)).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e),
    }
}

/// A product the customer's records lack: registered on the intake page, then chosen.
async fn intake_unit_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let (input, mut errors) = super::archive::unit_input_from(&form);
    let created = if errors.is_empty() {
        crate::service::archive::create_unit(&st.db, &ctx.actor()?, &input, None).await
    } else {
        Err(AppError::Validation(vec![]))
    };
    match created {
        Ok(u) => Ok(Redirect::to(&format!("/work-orders/new?unit_id={}", u.id)).into_response()),
        Err(AppError::Validation(list)) => {
            errors.extend(list);
            let q =
                NewQuery { q: String::new(), customer_id: Some(input.customer_id), unit_id: None, kind: String::new() };
            let inline = Inline { form: "unit", data: form, errors };
            let page = new_form(&st, &ctx, q, IntakeInput::default(), vec![], Some(inline)).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e),
    }
}

fn intake_from(form: &FormData) -> IntakeInput {
    IntakeInput {
        channel: form.get("channel"),
        kind: form.get("kind"),
        priority: form.get("priority"),
        customer_id: form.get("customer_id").trim().parse().unwrap_or(0),
        unit_id: form.get("unit_id").trim().parse().ok(),
        contact_name: form.get("contact_name"),
        contact_phone: form.get("contact_phone"),
        address: form.get("address"),
        problem: form.get("problem"),
        requested_at: form.get("requested_at"),
    }
}

async fn create_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let input = intake_from(&form);
    match svc::create(&st.db, &st.intake, &ctx.actor()?, &input, None, "").await {
        Ok(d) => Ok(Redirect::to(&format!("/work-orders/{}", d.order.id)).into_response()),
        Err(AppError::Validation(list)) => {
            let q = NewQuery {
                q: String::new(),
                customer_id: Some(input.customer_id),
                unit_id: input.unit_id,
                kind: String::new(),
            };
            let page = new_form(&st, &ctx, q, input, list, None).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e),
    }
}

// ------------------------------------------------------------------ one order

/// One order with its time line, quotes, approvals, attachments and the caller's actions.
#[utoipa::path(get, path = "/api/v1/work-orders/{id}", responses((status = 200, body = OrderDetail), (status = 404)), tag = "work orders")]
async fn api_get(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<axum::Json<OrderDetail>> {
    Ok(axum::Json(svc::get_with_link(&st.db, &st.sla, &ctx.actor()?, id, &st.config.public_url).await?))
}

fn parse_action(code: &str) -> AppResult<Action> {
    Action::parse(code).ok_or_else(|| AppError::one("action", "wo.error.unknown_action"))
}

/// Takes an action (assign, accept, arrive, complete, …). An action that cannot follow the
/// order's status, or that the caller may not take, is refused with 422 naming why; a stale
/// `version` is 409. 204 when the caller no longer sees the order afterwards (an engineer
/// who declined it).
#[utoipa::path(post, path = "/api/v1/work-orders/{id}/actions/{action}", request_body = ActionInput,
    responses((status = 200, body = OrderDetail), (status = 204), (status = 409), (status = 422)), tag = "work orders")]
async fn api_act(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, action)): Path<(i64, String)>,
    ApiJson(input): ApiJson<ActionInput>,
) -> AppResult<Response> {
    let action = parse_action(&action)?;
    let actor = ctx.actor()?;
    if svc::act(&st.db, &st.sla, &st.files, &actor, id, action, &input).await?.is_none() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(axum::Json(svc::get_with_link(&st.db, &st.sla, &actor, id, &st.config.public_url).await?).into_response())
}

/// Engineers ranked for the order by skill, region and load on the visit's day.
#[utoipa::path(get, path = "/api/v1/work-orders/{id}/suggestions", responses((status = 200, body = [svc::Suggested])), tag = "work orders")]
async fn api_suggestions(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<Vec<svc::Suggested>>> {
    Ok(axum::Json(svc::suggestions(&st.db, &st.sla, &ctx.actor()?, id).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct FaultQuery {
    category: Option<String>,
}

/// The fault catalogue, of one product category or all.
#[utoipa::path(get, path = "/api/v1/fault-codes", params(FaultQuery), responses((status = 200, body = [store::work_orders::FaultCode])), tag = "work orders")]
async fn api_fault_codes(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<FaultQuery>,
) -> AppResult<axum::Json<Vec<store::work_orders::FaultCode>>> {
    ctx.user()?;
    Ok(axum::Json(svc::fault_codes(&st.db, q.category.as_deref().filter(|c| !c.is_empty())).await?))
}

/// Active engineers with skills and today's load (office and managers).
#[utoipa::path(get, path = "/api/v1/engineers", responses((status = 200, body = [store::work_orders::Engineer])), tag = "work orders")]
async fn api_engineers(
    State(st): State<AppState>,
    ctx: Ctx,
) -> AppResult<axum::Json<Vec<store::work_orders::Engineer>>> {
    Ok(axum::Json(svc::engineers(&st.db, &ctx.actor()?).await?))
}

async fn read_photo(mut mp: Multipart) -> AppResult<(String, Vec<u8>)> {
    while let Some(field) = mp.next_field().await.map_err(|_| AppError::one("photo", "wo.error.file_too_large"))? {
        if field.name() == Some("photo") {
            let name = field.file_name().unwrap_or("photo").to_string();
            let bytes = field.bytes().await.map_err(|_| AppError::one("photo", "wo.error.file_too_large"))?;
            return Ok((name, bytes.to_vec()));
        }
    }
    Err(AppError::one("photo", "error.required"))
}

/// Adds a photo (JPEG, PNG or WebP, at most 10 MiB) as multipart field `photo`.
#[utoipa::path(post, path = "/api/v1/work-orders/{id}/photos", responses((status = 201, body = store::work_orders::Attachment), (status = 422)), tag = "work orders")]
async fn api_photo(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, mp: Multipart) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let (name, bytes) = read_photo(mp).await?;
    let a = svc::add_photo(&st.db, &st.files, &actor, id, &name, bytes).await?;
    Ok((StatusCode::CREATED, axum::Json(a)).into_response())
}

async fn photo_submit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, mp: Multipart) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let result = match read_photo(mp).await {
        Ok((name, bytes)) => svc::add_photo(&st.db, &st.files, &actor, id, &name, bytes).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/work-orders/{id}#photos")).into_response()),
        Err(AppError::Validation(list)) => order_view(&st, &ctx, id, list, FormData::default(), None).await,
        Err(e) => Err(e),
    }
}

fn image(a: store::work_orders::Attachment, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, a.content_type),
            (header::CACHE_CONTROL, "private, max-age=3600".into()),
            (header::CONTENT_DISPOSITION, "inline".into()),
        ],
        bytes,
    )
        .into_response()
}

async fn attachment(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let (a, bytes) = svc::attachment(&st.db, &st.files, Some(&actor), id, None).await?;
    Ok(image(a, bytes))
}

#[derive(Template)]
#[template(path = "work_orders/order.html")]
struct OrderPage {
    l: Layout,
    parts: super::stock::OrderParts,
    d: OrderDetail,
    customer_region: String,
    decision: Option<super::entitlement::ResultView>,
    fault_codes: Vec<store::work_orders::FaultCode>,
    suggestions: Vec<svc::Suggested>,
    notifications: Vec<store::outbox::Message>,
    /// The form last submitted (kept when refused) and which action it was.
    f: FormData,
    failed_action: String,
    errors: FormErrors,
    /// Service managers correct the cause of a breach.
    can_note_breach: bool,
    /// The survey link sent after the job and the on-site rating.
    surveys: Vec<store::care::Survey>,
}
impl OrderLabels for OrderPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl OrderPage {
    fn can(&self, action: &str) -> bool {
        self.d.actions.iter().any(|a| a == action)
    }
    /// The caller may post parts on this order: its engineer (from his van) or the warehouse.
    fn may_move_parts(&self) -> bool {
        self.l.can("move_stock")
            || (self.d.order.engineer_id.is_some() && self.d.order.engineer_id == self.l.user.as_ref().map(|u| u.id))
    }
    fn takes_parts(&self) -> bool {
        rules::work_order::Status::parse(&self.d.order.status).is_some_and(rules::parts::order_takes_parts)
    }
    /// A fresh key for one of the page's parts forms (a double click posts once).
    fn idem(&self) -> String {
        crate::service::new_secret().0[..32].to_string()
    }
    fn parts_cost(&self) -> i64 {
        self.parts.issues().iter().map(|(m, left)| m.unit_cost_cents * left).sum()
    }
    fn parts_charge(&self) -> i64 {
        self.parts.issues().iter().map(|(m, left)| m.price_cents * left).sum()
    }
    fn movement_kind(&self, code: &str) -> String {
        rules::parts::MovementKind::parse(code)
            .map(|k| k.name(self.l.locale).to_string())
            .unwrap_or_else(|| code.into())
    }
    fn photos(&self) -> Vec<&store::work_orders::Attachment> {
        self.d.attachments.iter().filter(|a| a.kind == "photo").collect()
    }
    fn pending_quote(&self) -> Option<&store::work_orders::Quote> {
        self.d.quotes.last().filter(|q| q.status == "pending")
    }
    fn pending_approval(&self) -> Option<&store::work_orders::Approval> {
        self.d.approvals.iter().rev().find(|a| a.status == "pending")
    }
    fn value(&self, action: &str, field: &str) -> String {
        if self.failed_action == action { self.f.get(field) } else { String::new() }
    }
    fn fault_name(&self, code: &str) -> String {
        self.fault_codes.iter().find(|f| f.code == code).map(|f| f.name(self.l.locale).to_string()).unwrap_or_default()
    }
    /// A promise kept by answering the customer is still running.
    fn reply_open(&self) -> bool {
        self.d.clocks.iter().any(|k| k.stops_at == "replied" && k.stopped_at.is_none() && k.state != "cancelled")
    }
    fn span(&self, minutes: &i64) -> String {
        super::sla::span(self.l.locale, *minutes)
    }
    fn mode_name(&self, mode: &str) -> String {
        self.l.t(&format!("sla.mode_{mode}"))
    }
    fn clock_state(&self, state: &str) -> String {
        self.l.t(&format!("sla.state_{state}"))
    }
    fn clock_bar(&self, k: &crate::service::sla::ClockView) -> i64 {
        (k.percent_used.round() as i64).clamp(0, 100)
    }
    fn cause_name(&self, code: &str) -> String {
        rules::work_order::BreachCause::parse(code).map(|c| c.name(self.l.locale).to_string()).unwrap_or_default()
    }
    fn causes(&self) -> Vec<(&'static str, &'static str)> {
        rules::work_order::BreachCause::ALL.iter().map(|c| (c.code(), c.name(self.l.locale))).collect()
    }
}

async fn order_view(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    errors: Vec<FieldError>,
    f: FormData,
    failed_action: Option<&str>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let d = svc::get_with_link(&st.db, &st.sla, &actor, id, &st.config.public_url).await?;
    let mut c = st.db.read().await?;
    let decision = match d.order.decision_id {
        Some(did) => store::entitlement::decision(c.conn(), did).await?.map(|stored| {
            let v: serde_json::Value = serde_json::from_str(&stored.result_json).unwrap_or_default();
            super::entitlement::ResultView::from_json(&v, ctx.locale)
        }),
        None => None,
    };
    let fault_codes = store::work_orders::fault_codes(c.conn(), d.order.category_code.as_deref()).await?;
    let customer_region = match &d.order.region_code {
        Some(code) => store::settings::regions(c.conn())
            .await?
            .into_iter()
            .find(|r| &r.code == code)
            .map(|r| r.name(ctx.locale).to_string())
            .unwrap_or_default(),
        None => String::new(),
    };
    drop(c);
    let suggestions = if d.actions.iter().any(|a| a == "assign") {
        svc::suggestions(&st.db, &st.sla, &actor, id).await?
    } else {
        vec![]
    };
    let notifications = crate::service::notifications::of_shown_order(&st.db, &d.order).await?;
    let surveys = crate::service::care::surveys_of_order(&st.db, id).await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let parts = super::stock::order_parts(st, ctx, id, d.order.engineer_id).await?;
    let page = OrderPage {
        parts,
        surveys,
        l: Layout::new(ctx, "wo.order_title"),
        d,
        customer_region,
        decision,
        fault_codes,
        suggestions,
        notifications,
        f,
        failed_action: failed_action.unwrap_or_default().to_string(),
        errors: FormErrors::new(errors, ctx.locale),
        can_note_breach: actor.roles.iter().any(|r| {
            matches!(
                r,
                crate::domain::Role::Admin | crate::domain::Role::GeneralManager | crate::domain::Role::ServiceManager
            )
        }),
    };
    Ok(render_status(status, &page))
}

/// Parts issued to the order or returned from it (the order page's parts forms).
async fn parts_submit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let actor = ctx.actor()?;
    svc::visible_order(&st.db, &actor, id).await?;
    if form.get("kind") == "request" {
        return match super::stock::order_request(&st, &ctx, id, &form).await {
            Ok(()) => Ok(Redirect::to(&format!("/work-orders/{id}#parts")).into_response()),
            Err(AppError::Validation(list)) => order_view(&st, &ctx, id, list, form, Some("parts")).await,
            Err(e) => Err(e),
        };
    }
    let mut errors = vec![];
    let mut r = super::stock::request_of(&form, &mut errors);
    r.order_id = Some(id);
    let key = form.get("idem");
    let (idem, done) = super::api::page_idem(&st, &actor, &key, "stock.order.page", "/movement/id").await?;
    if done.is_some() {
        return Ok(Redirect::to(&format!("/work-orders/{id}#parts")).into_response());
    }
    let result = if errors.is_empty() {
        st.stock.post(&actor, &r, idem.as_ref()).await.map(|_| ())
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/work-orders/{id}#parts")).into_response()),
        Err(AppError::Validation(list)) => order_view(&st, &ctx, id, list, form, Some("parts")).await,
        Err(e) => Err(e),
    }
}

async fn order_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    order_view(&st, &ctx, id, vec![], FormData::default(), None).await
}

/// The action's input from a page form; amounts typed in yuan.
fn action_from(form: &FormData) -> (ActionInput, Vec<FieldError>) {
    let mut errors = vec![];
    let mut cents = |field: &str, name: &str| match crate::domain::money::parse_yuan(&form.get(name)) {
        Ok(v) => v,
        Err(_) => {
            errors.push(field_error(field, "wo.error.amount"));
            None
        }
    };
    let parts = cents("parts_cents", "parts");
    let labour = cents("labour_cents", "labour");
    let travel = cents("travel_cents", "travel");
    let collected = cents("collected_cents", "collected");
    let mut int = |field: &str| match form.get(field).trim() {
        "" => None,
        t => match t.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(field_error(field, "error.number"));
                None
            }
        },
    };
    let labour_minutes = int("labour_minutes");
    let travel_km = int("travel_km");
    let engineer_id = int("engineer_id");
    let rating = int("rating").map(|r| r.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32);
    let input = ActionInput {
        version: form.get("version").trim().parse().unwrap_or(-1),
        note: form.get("note"),
        assessment: form.get("assessment"),
        plan: form.get("plan"),
        engineer_id,
        scheduled_at: form.get("scheduled_at"),
        parts_cents: parts,
        labour_cents: labour,
        travel_cents: travel,
        description: form.get("description"),
        approve: match form.get("approve").as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        decided_by: form.get("decided_by"),
        approval_kind: form.get("approval_kind"),
        new_due: form.get("new_due"),
        fault_code: form.get("fault_code"),
        diagnosis: form.get("diagnosis"),
        work_done: form.get("work_done"),
        parts_used: form.get("parts_used"),
        labour_minutes,
        travel_km,
        collected_cents: collected,
        payment_method: form.get("payment_method"),
        signed_by: form.get("signed_by"),
        signature: form.get("signature"),
        rating,
        rating_comment: form.get("rating_comment"),
        pause_reason: form.get("pause_reason"),
    };
    (input, errors)
}

async fn act_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, action)): Path<(i64, String)>,
    body: Bytes,
) -> AppResult<Response> {
    let action = parse_action(&action)?;
    let form = FormData::parse(&body);
    let (input, errors) = action_from(&form);
    if !errors.is_empty() {
        return order_view(&st, &ctx, id, errors, form, Some(action.code())).await;
    }
    match svc::act(&st.db, &st.sla, &st.files, &ctx.actor()?, id, action, &input).await {
        Ok(Some(_)) => Ok(Redirect::to(&format!("/work-orders/{id}")).into_response()),
        // An engineer who declined no longer sees the order: back to their list.
        Ok(None) => Ok(Redirect::to("/my").into_response()),
        Err(AppError::Validation(list)) => order_view(&st, &ctx, id, list, form, Some(action.code())).await,
        Err(AppError::Conflict(key)) => {
            let mut resp =
                order_view(&st, &ctx, id, vec![field_error("action", key)], form, Some(action.code())).await?;
            *resp.status_mut() = StatusCode::CONFLICT;
            Ok(resp)
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "work_orders/report.html")]
struct ReportPage {
    l: Layout,
    d: OrderDetail,
    /// The parts issued from stock (what is left on the order after returns) and the faulty
    /// pieces taken out: the report is the basis of expense claims.
    parts: super::stock::OrderParts,
    company: String,
    hotline: String,
    fault_name: String,
}
impl OrderLabels for ReportPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl ReportPage {
    fn total(&self) -> i64 {
        self.d.order.parts_cents + self.d.order.labour_cents + self.d.order.travel_cents
    }
}

/// 售后服务报告单: printable on A4, the basis of expense claims.
async fn report_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let d = svc::get_with_link(&st.db, &st.sla, &ctx.actor()?, id, &st.config.public_url).await?;
    let mut c = st.db.read().await?;
    let company = store::settings::get(c.conn(), "company_name").await?.unwrap_or_default();
    let hotline = store::settings::get(c.conn(), "service_hotline").await?.unwrap_or_default();
    let fault_name = match &d.order.fault_code {
        Some(code) => store::work_orders::fault_codes(c.conn(), d.order.category_code.as_deref())
            .await?
            .into_iter()
            .find(|f| &f.code == code)
            .map(|f| f.name(ctx.locale).to_string())
            .unwrap_or_default(),
        None => String::new(),
    };
    drop(c);
    let parts = super::stock::order_parts(&st, &ctx, id, None).await?;
    Ok(render(&ReportPage { l: Layout::new(&ctx, "wo.report_title"), d, parts, company, hotline, fault_name }))
}

// ------------------------------------------------------------------ the engineer's phone

#[derive(Template)]
#[template(path = "work_orders/my.html")]
struct MyPage {
    l: Layout,
    today: Vec<Summary>,
    later: Vec<Summary>,
    done: Vec<Summary>,
}
impl OrderLabels for MyPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

/// An engineer's orders: today's (and overdue) first, then later ones, then recently finished.
async fn my_page(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let me = ctx.user()?.id;
    let open: Vec<String> = Status::ALL.iter().filter(|s| s.with_engineer()).map(|s| s.code().to_string()).collect();
    let q = svc::ListQuery { engineer_id: Some(me), statuses: open, limit: 200, ..Default::default() };
    let mut open = svc::list(&st.db, &actor, &q).await?;
    let tomorrow = svc::midnight(svc::today() + Duration::days(1));
    open.sort_by_key(|o| (o.scheduled_at.or(o.requested_at).unwrap_or(o.created_at), o.id));
    let (today, later): (Vec<_>, Vec<_>) =
        open.into_iter().partition(|o| o.scheduled_at.or(o.requested_at).is_none_or(|t| t < tomorrow));
    let q = svc::ListQuery {
        engineer_id: Some(me),
        statuses: vec!["completed".into(), "closed".into()],
        limit: 10,
        ..Default::default()
    };
    let done = svc::list(&st.db, &actor, &q).await?;
    Ok(render(&MyPage { l: Layout::new(&ctx, "wo.my_title"), today, later, done }))
}

// ------------------------------------------------------------------ dispatch board

#[derive(Deserialize, Default)]
struct BoardQuery {
    /// The first day of the week shown (YYYY-MM-DD); default today.
    #[serde(default)]
    week: String,
}

struct EngineerWeek {
    e: store::work_orders::Engineer,
    days: Vec<Vec<Summary>>,
    /// The engineer's calendar has working time that day.
    working: Vec<bool>,
}

#[derive(Template)]
#[template(path = "work_orders/dispatch.html")]
struct DispatchPage {
    l: Layout,
    waiting: Vec<Summary>,
    days: Vec<NaiveDate>,
    engineers: Vec<EngineerWeek>,
    prev_week: String,
    next_week: String,
}
impl OrderLabels for DispatchPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl DispatchPage {
    fn day_label(&self, d: &NaiveDate) -> String {
        d.format("%m-%d").to_string()
    }
    fn hm(&self, o: &Summary) -> String {
        o.visit_at().map(|t| t.with_timezone(&ZONE).format("%H:%M").to_string()).unwrap_or_default()
    }
}

fn urgency(p: &str) -> u8 {
    match p {
        "urgent" => 0,
        "high" => 1,
        "normal" => 2,
        _ => 3,
    }
}

/// The dispatch board: orders waiting for review or an engineer by urgency, and each engineer's
/// week of scheduled visits.
async fn dispatch_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<BoardQuery>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let engineers = svc::engineers(&st.db, &actor).await?;
    let today = svc::today();
    let first = NaiveDate::parse_from_str(q.week.trim(), "%Y-%m-%d").unwrap_or(today);
    let days: Vec<NaiveDate> = (0..7).map(|i| first + Duration::days(i)).collect();
    let wq = svc::ListQuery { statuses: vec!["review".into(), "open".into()], limit: 500, ..Default::default() };
    let mut waiting = svc::list(&st.db, &actor, &wq).await?;
    // Broken and nearly broken promises first, then priority, then the earliest due.
    let now = Utc::now();
    let pressure = |o: &Summary| match (o.sla_due_at, o.sla_warn_at) {
        (Some(d), _) if now > d => 0,
        (_, Some(w)) if now >= w => 1,
        _ => 2,
    };
    waiting.sort_by_key(|o| {
        (pressure(o), urgency(&o.priority), o.sla_due_at.or(o.requested_at).unwrap_or(o.created_at), o.id)
    });
    // One query for every engineer's open orders (a few thousand at most), bucketed here.
    let statuses: Vec<String> =
        Status::ALL.iter().filter(|s| s.with_engineer()).map(|s| s.code().to_string()).collect();
    let q = svc::ListQuery {
        statuses,
        visit_from: Some(svc::midnight(first)),
        visit_to: Some(svc::midnight(first + Duration::days(7))),
        limit: 20_000,
        ..Default::default()
    };
    let mut by_engineer: std::collections::HashMap<i64, Vec<Summary>> = std::collections::HashMap::new();
    for o in svc::list(&st.db, &actor, &q).await? {
        if let Some(e) = o.engineer_id {
            by_engineer.entry(e).or_default().push(o);
        }
    }
    let mut weeks = vec![];
    let mut works_cache: std::collections::HashMap<(Option<String>, NaiveDate), bool> = Default::default();
    for e in engineers {
        let mut cols: Vec<Vec<Summary>> = vec![vec![]; 7];
        for o in by_engineer.remove(&e.user_id).unwrap_or_default() {
            let day = o.visit_at().unwrap_or(o.created_at).with_timezone(&ZONE).date_naive();
            if let Some(i) = days.iter().position(|d| *d == day) {
                cols[i].push(o);
            }
        }
        for c in &mut cols {
            c.sort_by_key(|o| o.scheduled_at);
        }
        let mut working = Vec::with_capacity(days.len());
        for d in &days {
            // Most engineers share a calendar: each (calendar, day) is asked once.
            let key = (e.calendar_code.clone(), *d);
            let works = match works_cache.get(&key) {
                Some(w) => *w,
                None => {
                    let w = st.sla.works_on(&st.db, e.calendar_code.as_deref(), *d).await?;
                    works_cache.insert(key, w);
                    w
                }
            };
            working.push(works);
        }
        weeks.push(EngineerWeek { e, days: cols, working });
    }
    Ok(render(&DispatchPage {
        l: Layout::new(&ctx, "wo.dispatch_title"),
        waiting,
        prev_week: (first - Duration::days(7)).to_string(),
        next_week: (first + Duration::days(7)).to_string(),
        days,
        engineers: weeks,
    }))
}

// ------------------------------------------------------------------ the customer's side

#[derive(Template)]
#[template(path = "work_orders/track.html")]
struct TrackPage {
    l: Layout,
    t: svc::Tracking,
    token: String,
    company: String,
    hotline: String,
    errors: FormErrors,
    /// The survey link's token and whether it has been answered (after the job).
    survey: Option<(String, bool)>,
}
impl OrderLabels for TrackPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl TrackPage {
    fn pending_quote(&self) -> Option<&store::work_orders::Quote> {
        self.t.quotes.last().filter(|q| q.status == "pending" && self.t.order.status == "waiting_customer")
    }
    /// Status changes only: what the customer needs, without staff remarks.
    fn steps(&self) -> Vec<&store::work_orders::Event> {
        self.t.events.iter().filter(|e| e.to_status.is_some()).collect()
    }
}

async fn track_view(st: &AppState, ctx: &Ctx, token: &str, errors: Vec<FieldError>) -> AppResult<Response> {
    let t = svc::track(&st.db, token).await?;
    let mut c = st.db.read().await?;
    let company = store::settings::get(c.conn(), "company_name").await?.unwrap_or_default();
    let hotline = store::settings::get(c.conn(), "service_hotline").await?.unwrap_or_default();
    let mut l = Layout::new(ctx, "wo.track_title");
    l.user = None; // the customer's page never shows staff navigation
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    drop(c);
    let survey = crate::service::care::surveys_of_order(&st.db, t.order.id)
        .await?
        .into_iter()
        .find(|s| s.kind == "job")
        .map(|s| (s.token, s.answered_at.is_some()));
    let page = TrackPage {
        l,
        t,
        token: token.to_string(),
        company,
        hotline,
        errors: FormErrors::new(errors, ctx.locale),
        survey,
    };
    let mut res = render_status(status, &page);
    res.headers_mut().insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(res)
}

async fn track_page(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> AppResult<Response> {
    track_view(&st, &ctx, &token, vec![]).await
}

async fn track_quote(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let approve = match form.get("approve").as_str() {
        "yes" => true,
        "no" => false,
        _ => return track_view(&st, &ctx, &token, vec![field_error("approve", "error.required")]).await,
    };
    match svc::decide_quote_by_link(&st.db, &st.sla, &token, approve, &form.get("name"), &ctx.ip).await {
        Ok(()) => Ok(Redirect::to(&format!("/t/{token}")).into_response()),
        Err(AppError::Validation(list)) => track_view(&st, &ctx, &token, list).await,
        Err(AppError::Conflict(_)) => {
            track_view(&st, &ctx, &token, vec![field_error("approve", "wo.error.quote_changed")]).await
        }
        Err(e) => Err(e),
    }
}

async fn track_attachment(State(st): State<AppState>, Path((token, id)): Path<(String, i64)>) -> AppResult<Response> {
    let (a, bytes) = svc::attachment(&st.db, &st.files, None, id, Some(&token)).await?;
    Ok(image(a, bytes))
}

#[derive(Template)]
#[template(path = "work_orders/public_request.html")]
struct PublicRequestPage {
    l: Layout,
    u: store::units::Unit,
    token: String,
    company: String,
    hotline: String,
    f: svc::PublicRequest,
    errors: FormErrors,
}

async fn public_request_view(
    st: &AppState,
    ctx: &Ctx,
    token: &str,
    f: svc::PublicRequest,
    errors: Vec<FieldError>,
) -> AppResult<Response> {
    let u = crate::service::archive::public_unit(&st.db, token).await?;
    let mut c = st.db.read().await?;
    let company = store::settings::get(c.conn(), "company_name").await?.unwrap_or_default();
    let hotline = store::settings::get(c.conn(), "service_hotline").await?.unwrap_or_default();
    let mut l = Layout::new(ctx, "wo.public_request_title");
    l.user = None;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = PublicRequestPage {
        l,
        u,
        token: token.to_string(),
        company,
        hotline,
        f,
        errors: FormErrors::new(errors, ctx.locale),
    };
    Ok(render_status(status, &page))
}

async fn public_request_page(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> AppResult<Response> {
    public_request_view(&st, &ctx, &token, svc::PublicRequest::default(), vec![]).await
}

async fn public_request_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let r = svc::PublicRequest {
        name: form.get("name"),
        phone: form.get("phone"),
        problem: form.get("problem"),
        requested_at: form.get("requested_at"),
    };
    match svc::request_from_card(&st.db, &st.intake, &token, &r, &ctx.ip).await {
        Ok(tracking) => Ok(Redirect::to(&format!("/t/{tracking}")).into_response()),
        Err(AppError::Validation(list)) => public_request_view(&st, &ctx, &token, r, list).await,
        Err(e) => Err(e),
    }
}

// ------------------------------------------------------------------ saved views

#[derive(Deserialize, ToSchema)]
struct ViewInput {
    name: String,
    /// The list's query string, e.g. `status=open&region=east`.
    query: String,
}

/// The caller's saved views of the order list.
#[utoipa::path(get, path = "/api/v1/work-orders/views", responses((status = 200, body = [store::work_orders::SavedView])), tag = "work orders")]
async fn api_views(State(st): State<AppState>, ctx: Ctx) -> AppResult<axum::Json<Vec<store::work_orders::SavedView>>> {
    Ok(axum::Json(svc::views(&st.db, &ctx.actor()?).await?))
}

/// Saves a view (the same name replaces the earlier one).
#[utoipa::path(post, path = "/api/v1/work-orders/views", request_body = ViewInput,
    responses((status = 201, body = store::work_orders::SavedView), (status = 422)), tag = "work orders")]
async fn api_view_save(State(st): State<AppState>, ctx: Ctx, ApiJson(v): ApiJson<ViewInput>) -> AppResult<Response> {
    let saved = svc::save_view(&st.db, &ctx.actor()?, &v.name, &v.query).await?;
    Ok((StatusCode::CREATED, axum::Json(saved)).into_response())
}

#[utoipa::path(delete, path = "/api/v1/work-orders/views/{id}", responses((status = 204), (status = 404)), tag = "work orders")]
async fn api_view_delete(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<StatusCode> {
    svc::delete_view(&st.db, &ctx.actor()?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn view_save(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let query = form.get("query");
    match svc::save_view(&st.db, &ctx.actor()?, &form.get("name"), &query).await {
        Ok(v) => Ok(Redirect::to(&format!("/work-orders?{}", v.query)).into_response()),
        Err(AppError::Validation(list)) => {
            // The same list again, with the reason the view was not saved.
            let uri: axum::http::Uri = format!("/work-orders?{}", query.trim_start_matches('?'))
                .parse()
                .unwrap_or_else(|_| axum::http::Uri::from_static("/work-orders"));
            let p = Query::<ListParams>::try_from_uri(&uri).map(|q| q.0).unwrap_or_default();
            let mut res = list_view(&st, &ctx, p, list).await?;
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => Err(e),
    }
}

async fn view_delete(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    svc::delete_view(&st.db, &ctx.actor()?, id).await?;
    Ok(Redirect::to("/work-orders").into_response())
}

// ------------------------------------------------------------------ setup: fault codes, skills

/// Adds or renames a fault code of a product category (quality, managers, administrators).
#[utoipa::path(put, path = "/api/v1/fault-codes/{category}/{code}", request_body = svc::FaultCodeInput,
    responses((status = 200, body = store::work_orders::FaultCode), (status = 422), (status = 403)), tag = "work orders")]
async fn api_fault_code_save(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((category, code)): Path<(String, String)>,
    ApiJson(input): ApiJson<svc::FaultCodeInput>,
) -> AppResult<axum::Json<store::work_orders::FaultCode>> {
    Ok(axum::Json(svc::save_fault_code(&st.db, &ctx.actor()?, &category, &code, &input).await?))
}

#[derive(Deserialize, ToSchema)]
struct SkillsInput {
    /// Product category codes.
    categories: Vec<String>,
}

/// Sets an engineer's skills (product categories) for dispatch (managers, administrators).
#[utoipa::path(put, path = "/api/v1/engineers/{id}/skills", request_body = SkillsInput,
    responses((status = 200, body = [String]), (status = 404), (status = 422)), tag = "work orders")]
async fn api_skills(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<SkillsInput>,
) -> AppResult<axum::Json<Vec<String>>> {
    Ok(axum::Json(svc::set_skills(&st.db, &ctx.actor()?, id, &input.categories).await?))
}

#[derive(Template)]
#[template(path = "work_orders/setup.html")]
struct SetupPage {
    l: Layout,
    categories: Vec<store::products::Category>,
    codes: Vec<store::work_orders::FaultCode>,
    engineers: Vec<store::work_orders::Engineer>,
    can_codes: bool,
    can_skills: bool,
    f: FormData,
    errors: FormErrors,
    notice: String,
}
impl SetupPage {
    fn codes_of(&self, category: &str) -> Vec<&store::work_orders::FaultCode> {
        self.codes.iter().filter(|c| c.category_code == category).collect()
    }
    fn has_skill(&self, e: &store::work_orders::Engineer, category: &str) -> bool {
        e.skills.split(',').any(|s| s == category)
    }
}

async fn setup_view(
    st: &AppState,
    ctx: &Ctx,
    f: FormData,
    errors: Vec<FieldError>,
    notice: &str,
) -> AppResult<Response> {
    use crate::domain::Perm;
    let actor = ctx.actor()?;
    let (can_codes, can_skills) = (actor.can(Perm::ManageFaultCodes), actor.can(Perm::ManageEngineers));
    if !can_codes && !can_skills {
        return Err(AppError::Forbidden);
    }
    let mut c = st.db.read().await?;
    let categories = store::products::categories(c.conn()).await?;
    let codes = store::work_orders::fault_codes(c.conn(), None).await?;
    drop(c);
    let engineers = if can_skills { svc::engineers(&st.db, &actor).await? } else { vec![] };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = SetupPage {
        l: Layout::new(ctx, "wo.setup_title"),
        categories,
        codes,
        engineers,
        can_codes,
        can_skills,
        f,
        errors: FormErrors::new(errors, ctx.locale),
        notice: if notice.is_empty() { String::new() } else { ctx.t(notice) },
    };
    Ok(render_status(status, &page))
}

#[derive(Deserialize, Default)]
struct SetupQuery {
    #[serde(default)]
    saved: String,
}

async fn setup_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<SetupQuery>) -> AppResult<Response> {
    let notice = if q.saved.is_empty() { "" } else { "wo.setup_saved" };
    setup_view(&st, &ctx, FormData::default(), vec![], notice).await
}

async fn setup_fault_code(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let input = svc::FaultCodeInput { name_zh: form.get("name_zh"), name_en: form.get("name_en") };
    match svc::save_fault_code(&st.db, &ctx.actor()?, &form.get("category"), &form.get("code"), &input).await {
        Ok(_) => Ok(Redirect::to("/work-orders/setup?saved=1#fault-codes").into_response()),
        Err(AppError::Validation(list)) => setup_view(&st, &ctx, form, list, "").await,
        Err(e) => Err(e),
    }
}

async fn setup_skills(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    svc::set_skills(&st.db, &ctx.actor()?, id, &form.all("skill")).await?;
    Ok(Redirect::to("/work-orders/setup?saved=1#engineers").into_response())
}

// ------------------------------------------------------------------ product feedback

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
struct PeriodQuery {
    /// First day (YYYY-MM-DD, company time); default 90 days ago.
    #[serde(default)]
    from: String,
    /// Last day, included; default today.
    #[serde(default)]
    to: String,
}

fn period(q: &PeriodQuery) -> AppResult<(NaiveDate, NaiveDate, DateTime<Utc>, DateTime<Utc>)> {
    let mut errors = vec![];
    let today = svc::today();
    let day = |field: &str, s: &str, default: NaiveDate, errors: &mut Vec<FieldError>| {
        crate::domain::archive::parse_date(field, s, errors).unwrap_or(default)
    };
    let from = day("from", &q.from, today - Duration::days(90), &mut errors);
    let to = day("to", &q.to, today, &mut errors);
    AppError::check(errors)?;
    Ok((from, to, svc::midnight(from), svc::midnight(to + Duration::days(1))))
}

/// Completed repairs per product model and fault code in a period (quality, managers).
#[utoipa::path(get, path = "/api/v1/quality/feedback", params(PeriodQuery), responses((status = 200, body = [store::work_orders::Feedback]), (status = 403)), tag = "work orders")]
async fn api_feedback(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> AppResult<axum::Json<Vec<store::work_orders::Feedback>>> {
    let (_, _, from, to) = period(&q)?;
    Ok(axum::Json(svc::feedback(&st.db, &ctx.actor()?, from, to).await?))
}

#[derive(Template)]
#[template(path = "work_orders/feedback.html")]
struct FeedbackPage {
    l: Layout,
    from: NaiveDate,
    to: NaiveDate,
    rows: Vec<store::work_orders::Feedback>,
    fault_names: std::collections::HashMap<(String, String), String>,
    errors: FormErrors,
}
impl OrderLabels for FeedbackPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl FeedbackPage {
    fn fault_name(&self, category: &str, code: &str) -> String {
        self.fault_names.get(&(category.to_string(), code.to_string())).cloned().unwrap_or_default()
    }
}

async fn feedback_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let (from, to, rows, errors) = match period(&q) {
        Ok((from, to, a, b)) => (from, to, svc::feedback(&st.db, &actor, a, b).await?, vec![]),
        Err(AppError::Validation(list)) => {
            let today = svc::today();
            (today - Duration::days(90), today, vec![], list)
        }
        Err(e) => return Err(e),
    };
    let fault_names = svc::fault_codes(&st.db, None)
        .await?
        .into_iter()
        .map(|f| ((f.category_code.clone(), f.code.clone()), f.name(ctx.locale).to_string()))
        .collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = FeedbackPage {
        l: Layout::new(&ctx, "wo.feedback_title"),
        from,
        to,
        rows,
        fault_names,
        errors: FormErrors::new(errors, ctx.locale),
    };
    Ok(render_status(status, &page))
}

#[derive(OpenApi)]
#[openapi(
    paths(api_list, api_create, api_get, api_act, api_suggestions, api_photo, api_fault_codes, api_engineers,
        api_notifications, api_webhooks, api_webhook_create, api_webhook_delete, api_feedback,
        api_fault_code_save, api_skills, api_views, api_view_save, api_view_delete),
    tags((name = "work orders", description = "Service requests and work orders (R3)"))
)]
pub struct ApiDoc;
