//! Pages and API of the customer and sold-product archive.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{NaiveDate, Utc};
use rules::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::api::{ApiJson, ApiQuery};
use super::web::{FormData, FormErrors, Layout};
use super::{AppState, Ctx};
use crate::domain::Perm;
use crate::error::{AppError, AppResult};
use crate::service::archive::{self as svc, CustomerInput, CustomerQuery, ModelInput, UnitInput, UnitQuery};
use crate::service::{Idem, replay};
use crate::store;
use crate::store::customers::{Contact, Customer, Sort};
use crate::store::units::Unit;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/search", get(search_page))
        .route("/customers", get(customers_page).post(customer_create))
        .route("/customers/new", get(customer_new))
        .route("/customers/export", get(customers_export))
        .route("/units/export", get(units_export))
        .route("/customers/{id}", get(customer_page).post(customer_update))
        .route("/customers/{id}/edit", get(customer_edit))
        .route("/customers/{id}/delete", post(customer_delete))
        .route("/units/new", get(unit_new))
        .route("/units", post(unit_create))
        .route("/units/{id}", get(unit_page).post(unit_update))
        .route("/units/{id}/edit", get(unit_edit))
        .route("/units/{id}/transfer", post(unit_transfer))
        .route("/units/{id}/card", get(unit_card))
        .route("/u/{token}", get(public_unit))
        .route("/products", get(products_page).post(model_create))
        .route("/products/{id}", post(model_update))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/search", get(api_search))
        .route("/customers", get(api_customers).post(api_customer_create))
        .route("/customers/export", get(customers_export))
        .route("/units/export", get(units_export))
        .route("/customers/{id}", get(api_customer).put(api_customer_update).delete(api_customer_delete))
        .route("/units", get(api_units).post(api_unit_create))
        .route("/units/{id}", get(api_unit).put(api_unit_update).delete(api_unit_delete))
        .route("/units/{id}/transfer", post(api_unit_transfer))
        .route("/units/{id}/warranty", get(api_unit_warranty))
        .route("/product-categories", get(api_categories))
        .route("/product-models", get(api_models).post(api_model_create))
        .route("/product-models/{id}", axum::routing::put(api_model_update))
}

fn today() -> NaiveDate {
    Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive()
}

fn render<T: Template>(t: &T) -> Response {
    super::web::render(t)
}

fn render_status<T: Template>(status: StatusCode, t: &T) -> Response {
    super::web::render_status(status, t)
}

/// Human labels shared by the archive templates.
pub trait ArchiveLabels {
    fn layout(&self) -> &Layout;

    fn class_label(&self, class: &str) -> String {
        self.layout().t(&format!("archive.class_{}", class.to_ascii_lowercase()))
    }
    fn kind_label(&self, kind: &str) -> String {
        self.layout().t(&format!("archive.kind_{kind}"))
    }
    fn grade_label(&self, grade: &str) -> String {
        self.layout().t(&format!("archive.grade_{grade}"))
    }
    fn date(&self, d: &Option<NaiveDate>) -> String {
        d.map(|d| d.to_string()).unwrap_or_else(|| "—".into())
    }
}

// ------------------------------------------------------------------ search

#[derive(Template)]
#[template(path = "archive/search.html")]
struct SearchPage {
    l: Layout,
    q: String,
    customers: Vec<Customer>,
    units: Vec<Unit>,
}
impl ArchiveLabels for SearchPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SearchQuery {
    /// Words (Chinese is segmented), a phone prefix, or a serial/invoice/certificate number prefix.
    #[serde(default)]
    q: String,
}

pub(crate) async fn search_both(st: &AppState, ctx: &Ctx, q: &str) -> AppResult<(Vec<Customer>, Vec<Unit>)> {
    let actor = ctx.actor()?;
    if q.trim().is_empty() {
        return Ok((vec![], vec![]));
    }
    let cq = CustomerQuery { q: q.into(), limit: 20, ..Default::default() };
    let uq = UnitQuery { number: q.into(), limit: 20, ..Default::default() };
    let (customers, units) =
        tokio::join!(svc::list_customers(&st.db, &actor, &cq), svc::list_units(&st.db, &actor, &uq));
    Ok((customers?, units?))
}

async fn search_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<SearchQuery>) -> AppResult<Response> {
    let (customers, units) = search_both(&st, &ctx, &q.q).await?;
    Ok(render(&SearchPage { l: Layout::new(&ctx, "archive.search"), q: q.q, customers, units }))
}

#[derive(Serialize, ToSchema)]
struct SearchResult {
    customers: Vec<Customer>,
    units: Vec<Unit>,
}

/// Searches customers (names, addresses, notes, contacts; phones by prefix) and units
/// (serial, invoice or certificate number by prefix), within the caller's regions.
#[utoipa::path(get, path = "/api/v1/search", params(SearchQuery), responses((status = 200, body = SearchResult)), tag = "archive")]
async fn api_search(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> AppResult<axum::Json<SearchResult>> {
    let (customers, units) = search_both(&st, &ctx, &q.q).await?;
    Ok(axum::Json(SearchResult { customers, units }))
}

// ------------------------------------------------------------------ customer list and page

#[derive(Template)]
#[template(path = "archive/customers.html")]
struct CustomersPage {
    l: Layout,
    customers: Vec<Customer>,
    regions: Vec<store::settings::Region>,
    q: String,
    class: String,
    region: String,
    key_only: bool,
    sort: String,
    next: Option<String>,
    can_edit: bool,
}
impl ArchiveLabels for CustomersPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
struct CustomerListQuery {
    /// Words or a phone prefix.
    #[serde(default)]
    q: String,
    /// A, B or C.
    #[serde(default)]
    class: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    city: String,
    /// Only key customers (重点客户).
    #[serde(default)]
    key: Option<String>,
    /// newest (default) or name.
    #[serde(default)]
    sort: String,
    /// Cursor from the previous page's `next`.
    #[serde(default)]
    after: String,
    limit: Option<i64>,
}

fn encode_cursor(c: &Customer, sort: Sort) -> String {
    match sort {
        Sort::Newest => c.id.to_string(),
        Sort::Name => format!("{}:{}", c.id, c.name),
    }
}

fn decode_cursor(raw: &str) -> Option<(String, i64)> {
    if raw.is_empty() {
        return None;
    }
    match raw.split_once(':') {
        Some((id, name)) => Some((name.to_string(), id.parse().ok()?)),
        None => Some((String::new(), raw.parse().ok()?)),
    }
}

fn customer_query(q: &CustomerListQuery, limit: i64) -> AppResult<CustomerQuery> {
    let after = decode_cursor(&q.after);
    if !q.after.is_empty() && after.is_none() {
        return Err(AppError::one("after", "error.bad_parameter"));
    }
    let class = Some(q.class.trim().to_ascii_uppercase()).filter(|c| !c.is_empty());
    if class.as_deref().is_some_and(|c| !matches!(c, "A" | "B" | "C")) {
        return Err(AppError::one("class", "error.customer_class"));
    }
    Ok(CustomerQuery {
        q: q.q.clone(),
        region: Some(q.region.clone()).filter(|r| !r.is_empty()),
        class,
        city: Some(q.city.trim().to_string()).filter(|c| !c.is_empty()),
        key_only: q.key.as_deref().is_some_and(|k| matches!(k, "on" | "true" | "1")),
        sort: if q.sort == "name" { Sort::Name } else { Sort::Newest },
        after,
        limit: limit + 1,
    })
}

/// One page and the cursor of the next (None on the last page, and for ranked searches).
fn paginate(mut list: Vec<Customer>, query: &CustomerQuery, limit: i64) -> (Vec<Customer>, Option<String>) {
    let more = list.len() as i64 > limit;
    list.truncate(limit as usize);
    let searching = !query.q.trim().is_empty();
    let next = if more && !searching { list.last().map(|c| encode_cursor(c, query.sort)) } else { None };
    (list, next)
}

async fn customers_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<CustomerListQuery>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let query = customer_query(&q, 50)?;
    let list = svc::list_customers(&st.db, &actor, &query).await?;
    let (customers, next) = paginate(list, &query, 50);
    let mut c = st.db.read().await?;
    Ok(render(&CustomersPage {
        l: Layout::new(&ctx, "archive.customers"),
        customers,
        regions: store::settings::regions(c.conn()).await?,
        key_only: query.key_only,
        q: q.q,
        class: q.class,
        region: q.region,
        sort: q.sort,
        next,
        can_edit: actor.can(Perm::EditArchive),
    }))
}

/// One thing that happened to a customer or one of its units, for the time line.
struct Event {
    at: chrono::DateTime<Utc>,
    who: String,
    what: String,
    link: String,
}

#[derive(Template)]
#[template(path = "archive/customer.html")]
struct CustomerPage {
    l: Layout,
    c: Customer,
    contacts: Vec<Contact>,
    units: Vec<Unit>,
    region: String,
    events: Vec<Event>,
    /// The customer's care plans (for users who work them).
    plans: Vec<crate::service::care_plans::PlanItem>,
    can_plan: bool,
    can_edit: bool,
    can_register: bool,
}
impl ArchiveLabels for CustomerPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl CustomerPage {
    fn plan_bar(&self, p: &Option<f64>) -> String {
        format!("{:.0}", p.unwrap_or(0.0).clamp(0.0, 100.0) * 1.2)
    }
    fn plan_pct(&self, p: &Option<f64>) -> String {
        p.map(|p| format!("{p:.0} %")).unwrap_or_else(|| "—".into())
    }
}

async fn customer_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let detail = svc::get_customer(&st.db, &actor, id).await?;
    let units =
        svc::list_units(&st.db, &actor, &UnitQuery { customer_id: Some(id), limit: 200, ..Default::default() }).await?;
    let mut c = st.db.read().await?;
    let regions = store::settings::regions(c.conn()).await?;
    let region = match &detail.customer.region_code {
        Some(r) => regions.iter().find(|x| &x.code == r).map(|x| x.name(ctx.locale).to_string()).unwrap_or_default(),
        None => "—".into(),
    };
    // The time line grows as capabilities arrive (visits, complaints, surveys): today the
    // archive's own changes from the audit trail and the customer's service requests.
    let mut events = vec![];
    drop(c);
    let orders = crate::service::work_orders::list(
        &st.db,
        &actor,
        &crate::service::work_orders::ListQuery { customer_id: Some(id), limit: 100, ..Default::default() },
    )
    .await?;
    for o in &orders {
        let kind = rules::work_order::Kind::parse(&o.kind).map(|k| k.name(ctx.locale)).unwrap_or_default();
        let status = rules::work_order::Status::parse(&o.status).map(|s| s.name(ctx.locale)).unwrap_or_default();
        let unit = o.unit_serial.as_deref().map(|s| format!(" · {s}")).unwrap_or_default();
        let what = format!("{} {} · {kind}{unit} · {status}", ctx.t("archive.event_work_order"), o.number());
        // The channel stands where a person would: who came to us, and how.
        let who = rules::work_order::Channel::parse(&o.channel).map(|c| c.name(ctx.locale)).unwrap_or_default().into();
        events.push(Event { at: o.created_at, who, what, link: format!("/work-orders/{}", o.id) });
    }
    let (surveys, visits) = crate::service::care::of_customer(&st.db, id).await?;
    let order_link = |o: Option<i64>| o.map(|o| format!("/work-orders/{o}")).unwrap_or_default();
    for s in surveys.iter().filter(|s| s.answered_at.is_some()) {
        let score = s.overall.map(|n| format!("{n}/5")).unwrap_or_default();
        let mut what = format!("{} {score} · {}", ctx.t("care.survey_score"), ctx.t(&format!("care.kind.{}", s.kind)));
        if let Some(o) = s.order_id {
            what.push_str(&format!(" · {}", store::work_orders::number(o)));
        }
        if !s.comment.is_empty() {
            what.push_str(&format!(" · “{}”", s.comment));
        }
        let at = s.answered_at.unwrap_or(s.created_at);
        events.push(Event { at, who: detail.customer.name.clone(), what, link: order_link(s.order_id) });
    }
    for v in visits.iter().filter(|v| v.status == "done") {
        let outcome = v.outcome.as_deref().map(|o| ctx.t(&format!("care.outcome.{o}"))).unwrap_or_default();
        let channel = v.channel.as_deref().map(|o| ctx.t(&format!("care.channel.{o}"))).unwrap_or_default();
        let what = format!("{} · {channel} · {outcome}", ctx.t("care.visit_event"));
        let who = v.assignee_name.clone().unwrap_or_default();
        events.push(Event { at: v.done_at.unwrap_or(v.created_at), who, what, link: format!("/visits/{}", v.id) });
    }
    let can_plan = actor.can(Perm::FollowUp);
    let mut plans = vec![];
    if can_plan {
        let (list, done) = crate::service::care_plans::of_customer(&st.db, &actor, id).await?;
        for i in &list {
            let p = &i.plan;
            let status = ctx.t(&format!("care_plan.status.{}", p.status));
            let what = format!("{} · {} · {status}", ctx.t("care_plan.event"), p.title);
            let link = format!("/care-plans/{}", p.id);
            events.push(Event { at: p.created_at, who: p.owner_name.clone(), what, link });
        }
        for a in done {
            let mut what = format!("{} · {}", ctx.t("care_plan.action_event"), a.what);
            if !a.note.is_empty() {
                what.push_str(&format!(" · {}", a.note));
            }
            let link = format!("/care-plans/{}", a.plan_id);
            events.push(Event { at: a.done_at.unwrap_or(a.updated_at), who: a.owner_name, what, link });
        }
        plans = list;
    }
    if actor.can(Perm::Feedback) {
        for k in crate::service::complaints::of_customer(&st.db, id).await? {
            let kind = rules::complaint::Kind::parse(&k.kind).map(|v| v.name(ctx.locale)).unwrap_or_default();
            let status = rules::complaint::Status::parse(&k.status).map(|v| v.name(ctx.locale)).unwrap_or_default();
            let major = if k.severity == "major" {
                format!(" · {}", rules::complaint::Severity::Major.name(ctx.locale))
            } else {
                String::new()
            };
            let what = format!("{kind} {}{major} · {} · {status}", k.number(), k.subject);
            let who =
                rules::work_order::Channel::parse(&k.channel).map(|c| c.name(ctx.locale)).unwrap_or_default().into();
            events.push(Event { at: k.received_at, who, what, link: format!("/complaints/{}", k.id) });
        }
    }
    let mut c = st.db.read().await?;
    let unit_ids: Vec<String> = units.iter().map(|u| u.id.to_string()).collect();
    let customer = store::audit::of_records(c.conn(), "customer", &[id.to_string()], 100).await?;
    let of_units = store::audit::of_records(c.conn(), "unit", &unit_ids, 100).await?;
    for e in customer.into_iter().chain(of_units) {
        let link = if e.entity_type == "unit" { format!("/units/{}", e.entity_id) } else { String::new() };
        let what = format!(
            "{} · {}",
            ctx.t(&format!("archive.event_{}", e.entity_type)),
            ctx.t(&format!("archive.action_{}", e.action))
        );
        events.push(Event { at: e.at, who: e.actor_label, what, link });
    }
    events.sort_by_key(|e| std::cmp::Reverse(e.at));
    events.truncate(100);
    Ok(render(&CustomerPage {
        l: Layout::new(&ctx, "archive.customer"),
        c: detail.customer,
        contacts: detail.contacts,
        units,
        region,
        events,
        plans,
        can_plan,
        can_edit: actor.can(Perm::EditArchive),
        can_register: !crate::service::work_orders::parties(&actor, None).is_empty(),
    }))
}

// ------------------------------------------------------------------ customer form

#[derive(Template)]
#[template(path = "archive/customer_form.html")]
struct CustomerForm {
    l: Layout,
    id: Option<i64>,
    f: CustomerInput,
    regions: Vec<store::settings::Region>,
    errors: FormErrors,
    duplicates: bool,
    notice: String,
}

impl CustomerForm {
    /// Existing contacts plus two empty rows to fill in.
    fn contact_rows(&self) -> Vec<Contact> {
        let mut rows = self.f.contacts.clone();
        rows.extend((0..2).map(|_| Contact { name: String::new(), phone: None, email: None, position: String::new() }));
        rows
    }
}

async fn customer_form(st: &AppState, ctx: &Ctx, id: Option<i64>, f: CustomerInput) -> AppResult<CustomerForm> {
    ctx.actor()?.require(Perm::EditArchive)?;
    let mut c = st.db.read().await?;
    Ok(CustomerForm {
        l: Layout::new(ctx, if id.is_some() { "archive.edit_customer" } else { "archive.new_customer" }),
        id,
        f,
        regions: store::settings::regions(c.conn()).await?,
        errors: FormErrors::default(),
        duplicates: false,
        notice: String::new(),
    })
}

pub(crate) fn customer_input_from(form: &FormData) -> CustomerInput {
    let names = form.all("contact_name");
    let phones = form.all("contact_phone");
    let emails = form.all("contact_email");
    let positions = form.all("contact_position");
    let contacts = names
        .iter()
        .enumerate()
        .map(|(i, n)| Contact {
            name: n.clone(),
            phone: phones.get(i).cloned(),
            email: emails.get(i).cloned(),
            position: positions.get(i).cloned().unwrap_or_default(),
        })
        .collect();
    CustomerInput {
        kind: form.get("kind"),
        name: form.get("name"),
        class: form.get("class"),
        key_customer: form.get("key_customer") == "on",
        region: form.get("region"),
        province: form.get("province"),
        city: form.get("city"),
        district: form.get("district"),
        address: form.get("address"),
        phone: form.get("phone"),
        email: form.get("email"),
        tags: form.get("tags"),
        notes: form.get("notes"),
        contacts,
        confirm_duplicate: form.get("confirm_duplicate") == "on",
        version: form.get("version").parse().ok(),
    }
}

async fn customer_new(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let f = CustomerInput { kind: "company".into(), class: "C".into(), ..Default::default() };
    Ok(render(&customer_form(&st, &ctx, None, f).await?))
}

async fn customer_create(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let input = customer_input_from(&FormData::parse(&body));
    match svc::create_customer(&st.db, &ctx.actor()?, &input, None).await {
        Ok(d) => Ok(Redirect::to(&format!("/customers/{}", d.customer.id)).into_response()),
        Err(AppError::Validation(list)) => {
            let duplicates = list.iter().any(|e| e.message_en.starts_with("Possible duplicate"));
            let mut form = customer_form(&st, &ctx, None, input).await?;
            form.errors = FormErrors::new(list, ctx.locale);
            form.duplicates = duplicates;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &form))
        }
        Err(e) => Err(e),
    }
}

fn input_of(d: &svc::CustomerDetail) -> CustomerInput {
    let c = &d.customer;
    CustomerInput {
        kind: c.kind.clone(),
        name: c.name.clone(),
        class: c.class.clone(),
        key_customer: c.key_customer,
        region: c.region_code.clone().unwrap_or_default(),
        province: c.province.clone(),
        city: c.city.clone(),
        district: c.district.clone(),
        address: c.address.clone(),
        phone: c.phone.clone().unwrap_or_default(),
        email: c.email.clone().unwrap_or_default(),
        tags: c.tags.clone(),
        notes: c.notes.clone(),
        contacts: d.contacts.clone(),
        confirm_duplicate: false,
        version: Some(c.version),
    }
}

async fn customer_edit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let d = svc::get_customer(&st.db, &ctx.actor()?, id).await?;
    Ok(render(&customer_form(&st, &ctx, Some(id), input_of(&d)).await?))
}

async fn customer_update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    let input = customer_input_from(&FormData::parse(&body));
    let actor = ctx.actor()?;
    match svc::update_customer(&st.db, &actor, id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/customers/{id}")).into_response()),
        Err(AppError::Validation(list)) => {
            let mut form = customer_form(&st, &ctx, Some(id), input).await?;
            form.errors = FormErrors::new(list, ctx.locale);
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &form))
        }
        Err(AppError::Conflict(key)) => {
            // Keep what was typed; take the current version so a second save is deliberate.
            let current = svc::get_customer(&st.db, &actor, id).await?;
            let mut form =
                customer_form(&st, &ctx, Some(id), CustomerInput { version: Some(current.customer.version), ..input })
                    .await?;
            form.notice = ctx.t(key);
            Ok(render_status(StatusCode::CONFLICT, &form))
        }
        Err(e) => Err(e),
    }
}

async fn customer_delete(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let version = form.get("version").parse().map_err(|_| AppError::one("version", "error.required"))?;
    svc::delete_customer(&st.db, &ctx.actor()?, id, version).await?;
    Ok(Redirect::to("/customers").into_response())
}

// ------------------------------------------------------------------ units

#[derive(Template)]
#[template(path = "archive/unit.html")]
struct UnitPage {
    l: Layout,
    u: Unit,
    owners: Vec<store::units::Ownership>,
    orders: Vec<store::work_orders::Summary>,
    can_register: bool,
    status: Option<rules::entitlement::Evaluation>,
    status_problem: String,
    public_url: String,
    can_edit: bool,
    errors: FormErrors,
}
impl ArchiveLabels for UnitPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

impl UnitPage {
    fn status_name(&self, code: &str) -> &'static str {
        rules::work_order::Status::parse(code).map(|s| s.name(self.l.locale)).unwrap_or_default()
    }
    fn order_kind(&self, code: &str) -> &'static str {
        rules::work_order::Kind::parse(code).map(|s| s.name(self.l.locale)).unwrap_or_default()
    }

    fn remedy_label(&self, r: &rules::entitlement::Remedy) -> String {
        if self.l.locale == "en" { r.name_en().to_string() } else { r.name_zh().to_string() }
    }
}

async fn unit_view(st: &AppState, ctx: &Ctx, id: i64, errors: Vec<FieldError>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let u = svc::get_unit(&st.db, &actor, id).await?;
    let owners = svc::unit_owners(&st.db, &actor, id).await?;
    let oq = crate::service::work_orders::ListQuery { unit_id: Some(id), limit: 50, ..Default::default() };
    let orders = crate::service::work_orders::list(&st.db, &actor, &oq).await?;
    let (status, status_problem) = match svc::warranty_status(&st.db, &u, today()).await? {
        Ok(e) => (Some(e), String::new()),
        Err(key) if key.starts_with("archive.") => (None, ctx.t(&key)),
        Err(text) => (None, text),
    };
    let status_code = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = UnitPage {
        l: Layout::new(ctx, "archive.unit"),
        public_url: format!("{}/u/{}", st.config.public_url, u.public_token),
        u,
        owners,
        orders,
        can_register: !crate::service::work_orders::parties(&actor, None).is_empty(),
        status,
        status_problem,
        can_edit: actor.can(Perm::EditArchive),
        errors: FormErrors::new(errors, ctx.locale),
    };
    Ok(render_status(status_code, &page))
}

async fn unit_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    unit_view(&st, &ctx, id, vec![]).await
}

#[derive(Template)]
#[template(path = "archive/unit_form.html")]
struct UnitForm {
    l: Layout,
    id: Option<i64>,
    f: UnitInput,
    customer_name: String,
    models: Vec<store::products::Model>,
    errors: FormErrors,
    notice: String,
}

async fn unit_form(st: &AppState, ctx: &Ctx, id: Option<i64>, f: UnitInput) -> AppResult<UnitForm> {
    let actor = ctx.actor()?;
    actor.require(Perm::EditArchive)?;
    let customer_name =
        svc::get_customer(&st.db, &actor, f.customer_id).await.map(|d| d.customer.name).unwrap_or_default();
    let mut c = st.db.read().await?;
    Ok(UnitForm {
        l: Layout::new(ctx, if id.is_some() { "archive.edit_unit" } else { "archive.new_unit" }),
        id,
        f,
        customer_name,
        models: store::products::models(c.conn()).await?,
        errors: FormErrors::default(),
        notice: String::new(),
    })
}

/// The form's unit, and an error when the odometer is not a number (kept out of the input).
pub(crate) fn unit_input_from(form: &FormData) -> (UnitInput, Vec<FieldError>) {
    let raw = form.get("odometer_km");
    let (odometer_km, errors) = match raw.trim() {
        "" => (None, vec![]),
        t => match t.parse() {
            Ok(n) => (Some(n), vec![]),
            Err(_) => (None, vec![crate::i18n::field_error("odometer_km", "error.number")]),
        },
    };
    let input = UnitInput {
        serial: form.get("serial"),
        model: form.get("model"),
        customer_id: form.get("customer_id").parse().unwrap_or(0),
        dealer: form.get("dealer"),
        sale_date: form.get("sale_date"),
        invoice_no: form.get("invoice_no"),
        invoice_date: form.get("invoice_date"),
        delivery_date: form.get("delivery_date"),
        install_date: form.get("install_date"),
        certificate_no: form.get("certificate_no"),
        odometer_km,
        version: form.get("version").parse().ok(),
    };
    (input, errors)
}

#[derive(Deserialize)]
struct NewUnitQuery {
    #[serde(default)]
    customer_id: i64,
}

async fn unit_new(State(st): State<AppState>, ctx: Ctx, Query(q): Query<NewUnitQuery>) -> AppResult<Response> {
    let f = UnitInput { customer_id: q.customer_id, ..Default::default() };
    Ok(render(&unit_form(&st, &ctx, None, f).await?))
}

async fn unit_form_errors(
    st: &AppState,
    ctx: &Ctx,
    id: Option<i64>,
    input: UnitInput,
    list: Vec<FieldError>,
) -> AppResult<Response> {
    let mut form = unit_form(st, ctx, id, input).await?;
    form.errors = FormErrors::new(list, ctx.locale);
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &form))
}

async fn unit_create(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let (input, errors) = unit_input_from(&FormData::parse(&body));
    if !errors.is_empty() {
        return unit_form_errors(&st, &ctx, None, input, errors).await;
    }
    match svc::create_unit(&st.db, &ctx.actor()?, &input, None).await {
        Ok(u) => Ok(Redirect::to(&format!("/units/{}", u.id)).into_response()),
        Err(AppError::Validation(list)) => unit_form_errors(&st, &ctx, None, input, list).await,
        Err(e) => Err(e),
    }
}

fn unit_input_of(u: &Unit) -> UnitInput {
    let d = |d: &Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    UnitInput {
        serial: u.serial.clone(),
        model: u.model_code.clone(),
        customer_id: u.customer_id,
        dealer: u.dealer.clone(),
        sale_date: d(&u.sale_date),
        invoice_no: u.invoice_no.clone().unwrap_or_default(),
        invoice_date: d(&u.invoice_date),
        delivery_date: d(&u.delivery_date),
        install_date: d(&u.install_date),
        certificate_no: u.certificate_no.clone().unwrap_or_default(),
        odometer_km: u.odometer_km,
        version: Some(u.version),
    }
}

async fn unit_edit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let u = svc::get_unit(&st.db, &ctx.actor()?, id).await?;
    Ok(render(&unit_form(&st, &ctx, Some(id), unit_input_of(&u)).await?))
}

async fn unit_update(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let actor = ctx.actor()?;
    let current = svc::get_unit(&st.db, &actor, id).await?;
    let (input, errors) = unit_input_from(&form);
    let input = UnitInput { customer_id: current.customer_id, ..input };
    if !errors.is_empty() {
        return unit_form_errors(&st, &ctx, Some(id), input, errors).await;
    }
    match svc::update_unit(&st.db, &actor, id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/units/{id}")).into_response()),
        Err(AppError::Validation(list)) => unit_form_errors(&st, &ctx, Some(id), input, list).await,
        Err(AppError::Conflict(key)) => {
            let mut form =
                unit_form(&st, &ctx, Some(id), UnitInput { version: Some(current.version), ..input }).await?;
            form.notice = ctx.t(key);
            Ok(render_status(StatusCode::CONFLICT, &form))
        }
        Err(e) => Err(e),
    }
}

async fn unit_transfer(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let version = form.get("version").parse().unwrap_or(-1);
    let to = form.get("customer_id").trim().parse().unwrap_or(0);
    match svc::transfer_unit(&st.db, &ctx.actor()?, id, version, to, &form.get("note")).await {
        Ok(_) => Ok(Redirect::to(&format!("/units/{id}")).into_response()),
        Err(AppError::Validation(list)) => unit_view(&st, &ctx, id, list).await,
        Err(e) => Err(e),
    }
}

/// The warranty card (三包凭证 / 保修卡): A6, printable, with a QR code to the unit's public page.
#[derive(Template)]
#[template(path = "archive/card.html")]
struct CardPage {
    l: Layout,
    u: Unit,
    company: String,
    qr_svg: String,
    public_url: String,
    warranty_ends: String,
    sanbao_ends: String,
}
impl ArchiveLabels for CardPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

fn qr_svg(url: &str) -> AppResult<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(|e| AppError::Internal(anyhow::anyhow!("QR code: {e}")))?;
    Ok(code.render::<qrcode::render::svg::Color>().min_dimensions(160, 160).quiet_zone(true).build())
}

async fn unit_card(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let u = svc::get_unit(&st.db, &ctx.actor()?, id).await?;
    let public_url = format!("{}/u/{}", st.config.public_url, u.public_token);
    let status = svc::warranty_status(&st.db, &u, u.invoice_date.or(u.sale_date).unwrap_or_else(today)).await?.ok();
    let mut c = st.db.read().await?;
    let company = store::settings::get(c.conn(), "company_name").await?.unwrap_or_default();
    Ok(render(&CardPage {
        l: Layout::new(&ctx, "archive.card"),
        qr_svg: qr_svg(&public_url)?,
        public_url,
        warranty_ends: status.as_ref().map(|s| s.warranty_ends.to_string()).unwrap_or_else(|| "—".into()),
        sanbao_ends: status.as_ref().and_then(|s| s.sanbao_ends).map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
        company,
        u,
    }))
}

/// What a customer sees after scanning the card: this unit only, no account needed.
#[derive(Template)]
#[template(path = "archive/public_unit.html")]
struct PublicUnitPage {
    l: Layout,
    u: Unit,
    company: String,
    hotline: String,
    status: Option<rules::entitlement::Evaluation>,
}
impl ArchiveLabels for PublicUnitPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

async fn public_unit(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> AppResult<Response> {
    let u = svc::public_unit(&st.db, &token).await?;
    let status = svc::warranty_status(&st.db, &u, today()).await?.ok();
    let mut c = st.db.read().await?;
    let company = store::settings::get(c.conn(), "company_name").await?.unwrap_or_default();
    let hotline = store::settings::get(c.conn(), "service_hotline").await?.unwrap_or_default();
    let mut l = Layout::new(&ctx, "archive.public_title");
    l.user = None; // the public page never shows staff navigation
    Ok(render(&PublicUnitPage { l, u, company, hotline, status }))
}

// ------------------------------------------------------------------ products

#[derive(Template)]
#[template(path = "archive/products.html")]
struct ProductsPage {
    l: Layout,
    categories: Vec<store::products::Category>,
    models: Vec<store::products::Model>,
    policies: Vec<String>,
    f: ModelInput,
    edit_id: Option<i64>,
    errors: FormErrors,
    can_edit: bool,
}
impl ArchiveLabels for ProductsPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

impl ProductsPage {
    fn category_name(&self, code: &str) -> String {
        self.categories
            .iter()
            .find(|c| c.code == code)
            .map(|c| c.name(self.l.locale).to_string())
            .unwrap_or(code.into())
    }
}

#[derive(Deserialize)]
struct ProductsQuery {
    edit: Option<i64>,
}

async fn products_view(
    st: &AppState,
    ctx: &Ctx,
    f: Option<ModelInput>,
    edit_id: Option<i64>,
    errors: Vec<FieldError>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    // Before taking a connection: the policies take one of their own.
    let policies =
        crate::service::entitlement::list_policies(&st.db, &actor).await?.into_iter().map(|p| p.code).collect();
    let mut c = st.db.read().await?;
    let models = store::products::models(c.conn()).await?;
    let f = match (f, edit_id) {
        (Some(f), _) => f,
        (None, Some(id)) => {
            let m = models.iter().find(|m| m.id == id).ok_or(AppError::NotFound)?;
            ModelInput {
                code: m.code.clone(),
                name: m.name.clone(),
                category: m.category_code.clone(),
                grade: m.grade.clone(),
                policy: m.policy_code.clone(),
                warranty_months: m.warranty_months,
                key_parts: m.key_parts.clone(),
                service_interval_months: m.service_interval_months,
                version: Some(m.version),
            }
        }
        (None, None) => ModelInput { grade: "high".into(), policy: "seed-company".into(), ..Default::default() },
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ProductsPage {
        l: Layout::new(ctx, "archive.products"),
        categories: store::products::categories(c.conn()).await?,
        models,
        policies,
        f,
        edit_id,
        errors: FormErrors::new(errors, ctx.locale),
        can_edit: actor.can(Perm::EditArchive),
    };
    Ok(render_status(status, &page))
}

async fn products_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<ProductsQuery>) -> AppResult<Response> {
    products_view(&st, &ctx, None, q.edit, vec![]).await
}

fn model_input_from(form: &FormData) -> ModelInput {
    ModelInput {
        code: form.get("code"),
        name: form.get("name"),
        category: form.get("category"),
        grade: form.get("grade"),
        policy: form.get("policy"),
        warranty_months: form.get("warranty_months").trim().parse().ok(),
        key_parts: form.get("key_parts"),
        service_interval_months: form.get("service_interval_months").trim().parse().ok(),
        version: form.get("version").parse().ok(),
    }
}

async fn model_create(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let input = model_input_from(&FormData::parse(&body));
    match svc::create_model(&st.db, &ctx.actor()?, &input).await {
        Ok(_) => Ok(Redirect::to("/products").into_response()),
        Err(AppError::Validation(list)) => products_view(&st, &ctx, Some(input), None, list).await,
        Err(e) => Err(e),
    }
}

async fn model_update(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let input = model_input_from(&FormData::parse(&body));
    match svc::update_model(&st.db, &ctx.actor()?, id, &input).await {
        Ok(_) => Ok(Redirect::to("/products").into_response()),
        Err(AppError::Validation(list)) => products_view(&st, &ctx, Some(input), Some(id), list).await,
        Err(e) => Err(e),
    }
}

// ------------------------------------------------------------------ export

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportFormat {
    /// xlsx (default) or csv
    #[serde(default)]
    pub(crate) format: String,
}

const EXPORT_MAX_ROWS: i64 = 1_000_000;

pub(crate) fn download(bytes: Vec<u8>, format: crate::tabular::Format, name: &str) -> Response {
    let disposition = format!("attachment; filename=\"{name}.{}\"", format.extension());
    (
        [
            (axum::http::header::CONTENT_TYPE, format.content_type().to_string()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

/// Every page of a keyset-paged list, up to 100,000 rows: `page(cursor)` answers one page and
/// the cursor of the next (None on the last).
pub(crate) async fn every_page<T, C, F>(mut page: impl FnMut(Option<C>) -> F) -> AppResult<Vec<T>>
where
    F: std::future::Future<Output = AppResult<(Vec<T>, Option<C>)>>,
{
    let mut all = vec![];
    let mut cursor = None;
    loop {
        let (rows, next) = page(cursor).await?;
        all.extend(rows);
        match next {
            Some(n) if all.len() < 100_000 => cursor = Some(n),
            _ => return Ok(all),
        }
    }
}

/// A customer chosen on a form, and the customer's units to pick from (none when the customer
/// is unknown or another region's).
pub(crate) async fn customer_with_units(
    st: &AppState,
    actor: &crate::service::Actor,
    customer_id: Option<i64>,
) -> AppResult<(Option<Customer>, Vec<Unit>)> {
    let customer = match customer_id {
        Some(id) => svc::get_customer(&st.db, actor, id).await.ok().map(|d| d.customer),
        None => None,
    };
    let units = match &customer {
        Some(c) => {
            let uq = UnitQuery { customer_id: Some(c.id), limit: 50, ..Default::default() };
            svc::list_units(&st.db, actor, &uq).await?
        }
        None => vec![],
    };
    Ok((customer, units))
}

pub(crate) fn export_format(raw: &str) -> AppResult<crate::tabular::Format> {
    crate::tabular::Format::parse(raw).ok_or_else(|| AppError::one("format", "error.bad_parameter"))
}

/// The customer list with its current filters, as .xlsx or .csv.
#[utoipa::path(get, path = "/api/v1/customers/export", params(CustomerListQuery, ExportFormat),
    responses((status = 200, description = "The spreadsheet")), tag = "archive")]
async fn customers_export(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<CustomerListQuery>,
    ApiQuery(f): ApiQuery<ExportFormat>,
) -> AppResult<Response> {
    use crate::tabular::{Cell, Table};
    let format = export_format(&f.format)?;
    let query = CustomerQuery { after: None, ..customer_query(&q, EXPORT_MAX_ROWS)? };
    let list = svc::list_customers(&st.db, &ctx.actor()?, &query).await?;
    let headers = [
        "archive.col_id",
        "field.name",
        "archive.kind",
        "archive.class",
        "archive.key_customer",
        "field.region",
        "archive.province",
        "archive.city",
        "archive.district",
        "archive.address",
        "field.phone",
        "field.email",
        "archive.tags",
        "archive.notes",
    ];
    let yes = ctx.t("archive.yes");
    let rows = list
        .into_iter()
        .map(|c| {
            vec![
                Cell::Number(c.id as f64),
                c.name.into(),
                c.kind.into(),
                c.class.into(),
                if c.key_customer { yes.as_str().into() } else { Cell::Empty },
                c.region_code.into(),
                c.province.into(),
                c.city.into(),
                c.district.into(),
                c.address.into(),
                c.phone.into(),
                c.email.into(),
                c.tags.into(),
                c.notes.into(),
            ]
        })
        .collect();
    let table = Table { headers: headers.iter().map(|k| ctx.t(k)).collect(), rows };
    Ok(download(crate::tabular::render(table, format, "customers").await?, format, "customers"))
}

/// The unit list with its current filters, as .xlsx or .csv.
#[utoipa::path(get, path = "/api/v1/units/export", params(UnitListQuery, ExportFormat),
    responses((status = 200, description = "The spreadsheet")), tag = "archive")]
async fn units_export(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<UnitListQuery>,
    ApiQuery(f): ApiQuery<ExportFormat>,
) -> AppResult<Response> {
    use crate::tabular::{Cell, Table};
    let format = export_format(&f.format)?;
    let query = UnitQuery {
        customer_id: q.customer_id,
        model_id: q.model_id,
        number: q.number,
        before_id: None,
        limit: EXPORT_MAX_ROWS,
    };
    let list = svc::list_units(&st.db, &ctx.actor()?, &query).await?;
    let headers = [
        "archive.serial",
        "archive.model_code",
        "archive.model",
        "archive.col_customer_id",
        "archive.owner",
        "archive.dealer",
        "archive.sale_date",
        "archive.invoice_no",
        "archive.invoice_date",
        "archive.delivery_date",
        "archive.install_date",
        "archive.certificate_no",
        "archive.odometer_km",
    ];
    let rows = list
        .into_iter()
        .map(|u| {
            vec![
                u.serial.into(),
                u.model_code.into(),
                u.model_name.into(),
                Cell::Number(u.customer_id as f64),
                u.customer_name.into(),
                u.dealer.into(),
                u.sale_date.into(),
                u.invoice_no.into(),
                u.invoice_date.into(),
                u.delivery_date.into(),
                u.install_date.into(),
                u.certificate_no.into(),
                u.odometer_km.into(),
            ]
        })
        .collect();
    let table = Table { headers: headers.iter().map(|k| ctx.t(k)).collect(), rows };
    Ok(download(crate::tabular::render(table, format, "units").await?, format, "units"))
}

// ------------------------------------------------------------------ API

fn idem_of(headers: &HeaderMap, scope: &'static str) -> AppResult<Option<(String, &'static str)>> {
    Ok(super::api::idempotency_key(headers)?.map(|k| (k, scope)))
}

#[derive(Serialize, ToSchema)]
struct CustomerPage2 {
    items: Vec<Customer>,
    /// Pass as `after` for the next page; null on the last page and for ranked searches.
    next: Option<String>,
}

/// Lists customers of the caller's regions with filters, sorting and cursor pagination;
/// with `q`, a ranked search (one page).
#[utoipa::path(get, path = "/api/v1/customers", params(CustomerListQuery), responses((status = 200, body = CustomerPage2)), tag = "archive")]
async fn api_customers(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<CustomerListQuery>,
) -> AppResult<axum::Json<CustomerPage2>> {
    let limit = super::api::page_limit(q.limit)?;
    let query = customer_query(&q, limit)?;
    let list = svc::list_customers(&st.db, &ctx.actor()?, &query).await?;
    let (items, next) = paginate(list, &query, limit);
    Ok(axum::Json(CustomerPage2 { items, next }))
}

/// Creates a customer. Possible duplicates (same phone, or same name in the same city) are
/// refused with 422 on `name` unless `confirm_duplicate` is true.
#[utoipa::path(post, path = "/api/v1/customers", request_body = CustomerInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first answer")),
    responses((status = 201, body = svc::CustomerDetail), (status = 422)), tag = "archive")]
async fn api_customer_create(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<CustomerInput>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let key = idem_of(&headers, "customers.create")?;
    let idem = key.as_ref().map(|(key, scope)| Idem { key, scope });
    if let Some(idem) = &idem
        && let Some((status, body)) = replay(&st.db, &actor, idem).await?
    {
        return Ok(super::api::replayed(status, body));
    }
    let d = svc::create_customer(&st.db, &actor, &input, idem.as_ref()).await?;
    Ok((StatusCode::CREATED, axum::Json(d)).into_response())
}

/// One customer with contacts (404 for another region's customer).
#[utoipa::path(get, path = "/api/v1/customers/{id}", responses((status = 200, body = svc::CustomerDetail), (status = 404)), tag = "archive")]
async fn api_customer(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<svc::CustomerDetail>> {
    Ok(axum::Json(svc::get_customer(&st.db, &ctx.actor()?, id).await?))
}

/// Replaces a customer's fields and contacts; `version` must be the one read (409 otherwise).
#[utoipa::path(put, path = "/api/v1/customers/{id}", request_body = CustomerInput,
    responses((status = 200, body = svc::CustomerDetail), (status = 409), (status = 422)), tag = "archive")]
async fn api_customer_update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<CustomerInput>,
) -> AppResult<axum::Json<svc::CustomerDetail>> {
    Ok(axum::Json(svc::update_customer(&st.db, &ctx.actor()?, id, &input).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct VersionQuery {
    /// The version that was read.
    version: i64,
}

/// Soft-deletes a customer without units (409 when units are registered to it).
#[utoipa::path(delete, path = "/api/v1/customers/{id}", params(VersionQuery), responses((status = 204), (status = 409)), tag = "archive")]
async fn api_customer_delete(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<VersionQuery>,
) -> AppResult<StatusCode> {
    svc::delete_customer(&st.db, &ctx.actor()?, id, q.version).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UnitListQuery {
    customer_id: Option<i64>,
    model_id: Option<i64>,
    /// Serial, invoice or certificate number, exact or prefix.
    #[serde(default)]
    number: String,
    /// Cursor: the `next_before` of the previous page.
    before: Option<i64>,
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
struct UnitPageJson {
    items: Vec<Unit>,
    next_before: Option<i64>,
}

/// Lists sold units of the caller's regions, newest first.
#[utoipa::path(get, path = "/api/v1/units", params(UnitListQuery), responses((status = 200, body = UnitPageJson)), tag = "archive")]
async fn api_units(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<UnitListQuery>,
) -> AppResult<axum::Json<UnitPageJson>> {
    let limit = super::api::page_limit(q.limit)?;
    let query = UnitQuery {
        customer_id: q.customer_id,
        model_id: q.model_id,
        number: q.number,
        before_id: q.before,
        limit: limit + 1,
    };
    let mut items = svc::list_units(&st.db, &ctx.actor()?, &query).await?;
    let next_before = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|u| u.id)
    } else {
        None
    };
    Ok(axum::Json(UnitPageJson { items, next_before }))
}

/// Registers a sold unit. A serial already registered is refused with a pointer to its unit.
#[utoipa::path(post, path = "/api/v1/units", request_body = UnitInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first answer")),
    responses((status = 201, body = Unit), (status = 422)), tag = "archive")]
async fn api_unit_create(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<UnitInput>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let key = idem_of(&headers, "units.create")?;
    let idem = key.as_ref().map(|(key, scope)| Idem { key, scope });
    if let Some(idem) = &idem
        && let Some((status, body)) = replay(&st.db, &actor, idem).await?
    {
        return Ok(super::api::replayed(status, body));
    }
    let u = svc::create_unit(&st.db, &actor, &input, idem.as_ref()).await?;
    Ok((StatusCode::CREATED, axum::Json(u)).into_response())
}

#[utoipa::path(get, path = "/api/v1/units/{id}", responses((status = 200, body = Unit), (status = 404)), tag = "archive")]
async fn api_unit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<axum::Json<Unit>> {
    Ok(axum::Json(svc::get_unit(&st.db, &ctx.actor()?, id).await?))
}

/// Updates a unit's fields (the owner changes through `/transfer`); 409 on a stale version.
#[utoipa::path(put, path = "/api/v1/units/{id}", request_body = UnitInput, responses((status = 200, body = Unit), (status = 409), (status = 422)), tag = "archive")]
async fn api_unit_update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<UnitInput>,
) -> AppResult<axum::Json<Unit>> {
    Ok(axum::Json(svc::update_unit(&st.db, &ctx.actor()?, id, &input).await?))
}

/// Soft-deletes a unit registered by mistake (its serial stays taken).
#[utoipa::path(delete, path = "/api/v1/units/{id}", params(VersionQuery), responses((status = 204), (status = 409)), tag = "archive")]
async fn api_unit_delete(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<VersionQuery>,
) -> AppResult<StatusCode> {
    svc::delete_unit(&st.db, &ctx.actor()?, id, q.version).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
struct TransferInput {
    version: i64,
    customer_id: i64,
    #[serde(default)]
    note: String,
}

/// Moves a unit to another owner; the ownership history keeps the previous one.
#[utoipa::path(post, path = "/api/v1/units/{id}/transfer", request_body = TransferInput, responses((status = 200, body = Unit), (status = 409), (status = 422)), tag = "archive")]
async fn api_unit_transfer(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(t): ApiJson<TransferInput>,
) -> AppResult<axum::Json<Unit>> {
    Ok(axum::Json(svc::transfer_unit(&st.db, &ctx.actor()?, id, t.version, t.customer_id, &t.note).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct WarrantyQuery {
    /// The day to decide for (default today, Asia/Shanghai).
    date: Option<NaiveDate>,
}

/// The unit's warranty and 三包 status on a day, by its model's policy (general fault, no history).
#[utoipa::path(get, path = "/api/v1/units/{id}/warranty", params(WarrantyQuery), responses((status = 200), (status = 422)), tag = "archive")]
async fn api_unit_warranty(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<WarrantyQuery>,
) -> AppResult<Response> {
    let u = svc::get_unit(&st.db, &ctx.actor()?, id).await?;
    match svc::warranty_status(&st.db, &u, q.date.unwrap_or_else(today)).await? {
        Ok(e) => Ok(axum::Json(e).into_response()),
        Err(key) if key.starts_with("archive.") => {
            let field = if key.ends_with("no_policy") { "policy" } else { "invoice_date" };
            Err(AppError::one(field, &key))
        }
        Err(text) => Err(AppError::Validation(vec![FieldError::new("unit", text.clone(), text)])),
    }
}

#[utoipa::path(get, path = "/api/v1/product-categories", responses((status = 200, body = [store::products::Category])), tag = "archive")]
async fn api_categories(State(st): State<AppState>, ctx: Ctx) -> AppResult<axum::Json<Vec<store::products::Category>>> {
    ctx.user()?;
    let mut c = st.db.read().await?;
    Ok(axum::Json(store::products::categories(c.conn()).await?))
}

#[utoipa::path(get, path = "/api/v1/product-models", responses((status = 200, body = [store::products::Model])), tag = "archive")]
async fn api_models(State(st): State<AppState>, ctx: Ctx) -> AppResult<axum::Json<Vec<store::products::Model>>> {
    ctx.user()?;
    let mut c = st.db.read().await?;
    Ok(axum::Json(store::products::models(c.conn()).await?))
}

#[utoipa::path(post, path = "/api/v1/product-models", request_body = ModelInput, responses((status = 201, body = store::products::Model), (status = 422)), tag = "archive")]
async fn api_model_create(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiJson(input): ApiJson<ModelInput>,
) -> AppResult<Response> {
    let m = svc::create_model(&st.db, &ctx.actor()?, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(m)).into_response())
}

#[utoipa::path(put, path = "/api/v1/product-models/{id}", request_body = ModelInput, responses((status = 200, body = store::products::Model), (status = 409), (status = 422)), tag = "archive")]
async fn api_model_update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ModelInput>,
) -> AppResult<axum::Json<store::products::Model>> {
    Ok(axum::Json(svc::update_model(&st.db, &ctx.actor()?, id, &input).await?))
}

#[derive(OpenApi)]
#[openapi(
    paths(api_search, customers_export, units_export, api_customers, api_customer_create, api_customer, api_customer_update, api_customer_delete,
          api_units, api_unit_create, api_unit, api_unit_update, api_unit_delete, api_unit_transfer, api_unit_warranty,
          api_categories, api_models, api_model_create, api_model_update),
    tags((name = "archive", description = "Customers, product models and sold units (R1)"))
)]
pub struct ApiDoc;
