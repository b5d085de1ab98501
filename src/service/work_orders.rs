//! Service requests and work orders (R3): intake with the entitlement decision and the repeat
//! check, quality review, dispatch, the engineer's steps on site, the signed report, quotes
//! the customer answers from a link, approvals of extensions, and the customer's tracking page.
//!
//! Every change goes through [`act`]: the rules crate's state machine decides whether the
//! action may follow the status and whether this actor may take it; the change, its time-line
//! event and its audit entry commit together, and a stale `version` is a conflict.

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use rules::FieldError;
use rules::work_order::{self as flow, Action, Channel, Kind, Party, Priority, QuoteState, Status};
use serde::{Deserialize, Serialize};

use super::intake::Intake;
use super::{Actor, Idem, audit};
use crate::db::{Db, Tx};
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::files::Files;
use crate::i18n::field_error;
use crate::store;
use crate::store::work_orders::{Approval, Attachment, Event, Quote, WorkOrder};

const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;
const MAX_TEXT: usize = 4000;
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_SIGNATURE_BYTES: usize = 512 * 1024;
/// ¥100 million: a larger amount on a service order is a typing error.
const MAX_CENTS: i64 = 10_000_000_000;

// ------------------------------------------------------------------ who may do what

/// The parties the actor acts as on this order (an engineer only on orders assigned to them).
pub fn parties(actor: &Actor, order: Option<&WorkOrder>) -> Vec<Party> {
    let mut out = vec![];
    let has = |r: Role| actor.roles.contains(&r);
    if has(Role::Dispatcher) || has(Role::Admin) {
        out.push(Party::Office);
    }
    if has(Role::ServiceManager) || has(Role::GeneralManager) || has(Role::Admin) {
        out.push(Party::Manager);
    }
    if has(Role::Quality) {
        out.push(Party::Quality);
    }
    if has(Role::Engineer) && order.is_some_and(|o| o.engineer_id.is_some() && o.engineer_id == actor.user_id) {
        out.push(Party::Engineer);
    }
    out
}

/// Engineers without an office role see only the orders assigned to them.
fn engineer_only(actor: &Actor) -> bool {
    actor.roles.contains(&Role::Engineer)
        && !actor.roles.iter().any(|r| {
            matches!(r, Role::Dispatcher | Role::Admin | Role::ServiceManager | Role::GeneralManager | Role::Quality)
        })
}

fn can_see(actor: &Actor, o: &WorkOrder) -> bool {
    if engineer_only(actor) {
        return o.engineer_id.is_some() && o.engineer_id == actor.user_id;
    }
    if actor.roles.contains(&Role::Warehouse) && actor.roles.len() == 1 {
        return false;
    }
    super::archive::visible(actor, &o.region_code)
}

/// Registering requests is office work (and managers' and quality's).
fn may_register(actor: &Actor) -> bool {
    !parties(actor, None).is_empty()
}

fn refusal(r: flow::Refusal) -> AppError {
    AppError::Validation(vec![FieldError::new("action", r.message_zh(), r.message_en())])
}

fn status_of(o: &WorkOrder) -> AppResult<Status> {
    Status::parse(&o.status)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order {} has status {}", o.id, o.status)))
}

/// The first instant of `day` in the company's time zone. (Shanghai has no daylight saving,
/// so midnight always exists; the fallback only guards against a changed zone.)
pub fn midnight(day: chrono::NaiveDate) -> DateTime<Utc> {
    ZONE.from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight is a valid time"))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| day.and_hms_opt(0, 0, 0).expect("valid").and_utc())
}

/// The company's today.
pub fn today() -> chrono::NaiveDate {
    local_day(Utc::now())
}

/// The company's day of an instant.
pub fn local_day(t: DateTime<Utc>) -> chrono::NaiveDate {
    t.with_timezone(&ZONE).date_naive()
}

// ------------------------------------------------------------------ parsing helpers

fn text(field: &str, s: &str, required: bool, errors: &mut Vec<FieldError>) -> String {
    use crate::domain::archive::{optional, required as needed};
    if required { needed(field, s, MAX_TEXT, errors) } else { optional(field, s, MAX_TEXT, errors) }
}

/// An instant typed by a user: RFC 3339, or a local `2026-12-02T14:00` / `2026-12-02 14:00`
/// read in the company's time zone. Empty is None.
pub fn parse_instant(field: &str, s: &str, errors: &mut Vec<FieldError>) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(local) = NaiveDateTime::parse_from_str(s, fmt)
            && let Some(t) = ZONE.from_local_datetime(&local).earliest()
        {
            return Some(t.with_timezone(&Utc));
        }
    }
    errors.push(field_error(field, "wo.error.datetime"));
    None
}

fn money(field: &str, v: Option<i64>, errors: &mut Vec<FieldError>) -> i64 {
    match v {
        Some(n) if n < 0 => {
            errors.push(field_error(field, "error.negative"));
            0
        }
        Some(n) if n > MAX_CENTS => {
            errors.push(field_error(field, "wo.error.amount_too_large"));
            0
        }
        Some(n) => n,
        None => 0,
    }
}

fn coded<T>(
    field: &str,
    s: &str,
    default: Option<T>,
    parse: fn(&str) -> Option<T>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    if s.trim().is_empty() {
        if default.is_none() {
            errors.push(field_error(field, "error.required"));
        }
        return default;
    }
    let v = parse(s);
    if v.is_none() {
        errors.push(field_error(field, "wo.error.unknown_value"));
    }
    v
}

// ------------------------------------------------------------------ intake

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct IntakeInput {
    /// hotline | letter | email | web | walk_in | visit
    #[serde(default)]
    pub channel: String,
    /// repair | installation | maintenance | training | consultation | return | exchange
    #[serde(default)]
    pub kind: String,
    /// low | normal | high | urgent (default normal)
    #[serde(default)]
    pub priority: String,
    #[serde(default)]
    pub customer_id: i64,
    #[serde(default)]
    pub unit_id: Option<i64>,
    /// Default: the customer's first contact, else the customer.
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub contact_phone: String,
    /// Default: the customer's address.
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub problem: String,
    /// The visit time the customer asks for: RFC 3339 or local `2026-12-02T14:00`.
    #[serde(default)]
    pub requested_at: String,
}

/// The order as a page or the API shows it, with everything attached to it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderDetail {
    pub number: String,
    pub order: WorkOrder,
    pub events: Vec<Event>,
    pub quotes: Vec<Quote>,
    pub approvals: Vec<Approval>,
    pub attachments: Vec<Attachment>,
    /// Actions the caller may take now (action codes).
    pub actions: Vec<String>,
    /// The customer's tracking link (staff only).
    pub tracking_url: String,
    /// The SLA clocks: each promise with its due time, time used and left, and state.
    pub clocks: Vec<super::sla::ClockView>,
    /// Recorded waits (parts, customer, approval) that pause clocks.
    pub pauses: Vec<store::sla::PauseRow>,
}

/// The entitlement of a request: the code shown on lists and the stored decision.
struct Entitled {
    code: &'static str,
    note: String,
    decision: Option<super::intake::Decision>,
}

fn summary(e: &rules::entitlement::Evaluation) -> &'static str {
    use rules::entitlement::Remedy;
    if e.remedies.contains(&Remedy::Refund) {
        "refund"
    } else if e.remedies.contains(&Remedy::Exchange) {
        "exchange"
    } else if e.remedies.contains(&Remedy::FreeRepair) || e.remedies.contains(&Remedy::AssemblyReplacement) {
        "free"
    } else {
        "paid"
    }
}

/// Decides free or paid service for the unit, counting its completed repairs as history.
async fn entitle(
    db: &Db,
    unit: &store::units::Unit,
    past: &[&store::work_orders::PastOrder],
    repeat_of: Option<i64>,
) -> AppResult<Entitled> {
    use rules::entitlement::{HistoryEntry, HistoryKind};
    let day = Utc::now().with_timezone(&ZONE).date_naive();
    let (policy, mut req) = match super::archive::entitlement_request(db, unit, day).await? {
        Ok(found) => found,
        Err(key) => return Ok(Entitled { code: "none", note: key, decision: None }),
    };
    let offset = |t: DateTime<Utc>| t.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("+08:00"));
    for p in past.iter().filter(|p| p.status == "completed" || p.status == "closed") {
        if !matches!(p.kind.as_str(), "repair" | "maintenance") {
            continue;
        }
        let start = offset(p.arrived_at.unwrap_or(p.created_at));
        let mut h = HistoryEntry::new(HistoryKind::Repair, start, p.completed_at.map(offset));
        h.same_fault = Some(p.id) == repeat_of;
        req.history.push(h);
    }
    req.history.sort_by_key(|h| h.start);
    let eval = match rules::entitlement::evaluate(&policy, &req) {
        Ok(e) => e,
        Err(errs) => {
            let note = errs.first().map(|e| format!("{}: {}", e.field, e.message_en)).unwrap_or_default();
            return Ok(Entitled { code: "none", note, decision: None });
        }
    };
    let code = summary(&eval);
    let rule = eval.decisions.iter().find(|d| d.granted).map(|d| d.rule.to_string()).unwrap_or_default();
    let remedies: Vec<&str> = eval.remedies.iter().map(|r| r.code()).collect();
    Ok(Entitled {
        code,
        note: rule,
        decision: Some(super::intake::Decision {
            policy_code: eval.policy.clone(),
            policy_version: i64::from(eval.policy_version),
            request_json: serde_json::to_string(&req).map_err(anyhow::Error::from)?,
            result_json: serde_json::to_string(&eval).map_err(anyhow::Error::from)?,
            remedies: remedies.join(","),
        }),
    })
}

/// Registers a request (dispatchers, managers, quality; or the public form with `public`).
pub async fn create(
    db: &Db,
    intake: &Intake,
    actor: &Actor,
    input: &IntakeInput,
    idem: Option<&Idem<'_>>,
    public_url: &str,
) -> AppResult<OrderDetail> {
    if !may_register(actor) {
        return Err(AppError::Forbidden);
    }
    let written = register(db, intake, actor, input, idem).await?;
    // A new order has its creation on the time line and nothing attached: no need to read it back.
    let clocks = intake.sla().views_of(db, &written.clocks, &[], Utc::now()).await?;
    let mut parts = Parts::new(written.order);
    parts.events = vec![written.event];
    detail(actor, parts, clocks, public_url)
}

async fn register(
    db: &Db,
    intake: &Intake,
    actor: &Actor,
    input: &IntakeInput,
    idem: Option<&Idem<'_>>,
) -> AppResult<super::intake::Written> {
    let mut errors = vec![];
    let channel = coded("channel", &input.channel, None, Channel::parse, &mut errors);
    let kind = coded("kind", &input.kind, None, Kind::parse, &mut errors);
    let priority = coded("priority", &input.priority, Some(Priority::Normal), Priority::parse, &mut errors);
    let problem = text("problem", &input.problem, true, &mut errors);
    let requested_at = parse_instant("requested_at", &input.requested_at, &mut errors);
    let contact_name = text("contact_name", &input.contact_name, false, &mut errors);
    let contact_phone =
        crate::domain::user::parse_phone("contact_phone", &input.contact_phone, &mut errors).unwrap_or_default();
    let address = text("address", &input.address, false, &mut errors);
    if !errors.is_empty() {
        // The answer names everything wrong at once, the customer and unit included.
        let mut c = db.read().await?;
        let found = store::intake::customers(c.conn(), &[input.customer_id], today()).await?;
        let unit = match input.unit_id {
            Some(id) => store::units::get(c.conn(), id).await?,
            None => None,
        };
        check_parties(actor, found.first(), input.unit_id, unit.as_ref(), &mut errors);
        return Err(AppError::Validation(errors));
    }
    let request = Request {
        actor: actor.clone(),
        channel: channel.expect("checked"),
        kind: kind.expect("checked"),
        priority: priority.expect("checked"),
        customer_id: input.customer_id,
        unit_id: input.unit_id,
        problem,
        requested_at,
        contact_name,
        contact_phone,
        address,
        idem: idem.map(|i| (i.key.to_string(), i.scope)),
    };
    intake.write(request).await
}

/// A request whose fields are valid; what it says about the customer and the unit is checked
/// by the writer (`service::intake`), which reads them for all requests arriving together.
pub struct Request {
    pub actor: Actor,
    pub channel: Channel,
    pub kind: Kind,
    pub priority: Priority,
    pub customer_id: i64,
    pub unit_id: Option<i64>,
    pub problem: String,
    pub requested_at: Option<DateTime<Utc>>,
    pub contact_name: String,
    pub contact_phone: String,
    pub address: String,
    /// `Idempotency-Key` and its scope.
    pub idem: Option<(String, &'static str)>,
}

/// What the archive holds about a request's customer and unit.
pub struct Facts<'a> {
    pub customer: Option<&'a store::intake::IntakeCustomer>,
    pub unit: Option<&'a store::units::Unit>,
    /// The unit's earlier orders, newest first.
    pub past: Vec<&'a store::work_orders::PastOrder>,
}

/// The customer must exist and be visible to the actor; the unit must be the customer's.
fn check_parties(
    actor: &Actor,
    customer: Option<&store::intake::IntakeCustomer>,
    unit_id: Option<i64>,
    unit: Option<&store::units::Unit>,
    errors: &mut Vec<FieldError>,
) {
    let customer =
        customer.filter(|f| super::archive::visible(actor, &f.customer.region_code) || actor.user_id.is_none());
    if customer.is_none() {
        errors.push(field_error("customer_id", "error.unknown_customer"));
    }
    match (unit_id, unit) {
        (None, _) => {}
        (Some(_), None) => errors.push(field_error("unit_id", "wo.error.unknown_unit")),
        (Some(_), Some(u)) => {
            if customer.is_some_and(|f| f.customer.id != u.customer_id) {
                errors.push(field_error("unit_id", "wo.error.unit_not_customers"));
            }
        }
    }
}

/// Decides everything about a new order from the request and the archive's facts: contact
/// and address defaults, repeat repair, entitlement, review. Only the order's ids are left to
/// the writer.
pub async fn prepare(db: &Db, sla: &super::sla::Sla, r: &Request, f: Facts<'_>) -> AppResult<super::intake::Pending> {
    let mut errors = vec![];
    check_parties(&r.actor, f.customer, r.unit_id, f.unit, &mut errors);
    AppError::check(errors)?;
    let found = f.customer.expect("checked");
    let unit = f.unit.filter(|_| r.unit_id.is_some());
    let (kind, channel, priority) = (r.kind, r.channel, r.priority);
    let customer = &found.customer;
    let mut contact_name = r.contact_name.clone();
    let mut contact_phone = r.contact_phone.clone();
    let mut address = r.address.clone();
    if contact_name.is_empty() {
        contact_name = found.contact_name.clone().unwrap_or_else(|| customer.name.clone());
    }
    if contact_phone.is_empty() {
        contact_phone = found.contact_phone.clone().or(customer.phone.clone()).unwrap_or_default();
    }
    if address.is_empty() {
        address = [customer.province.as_str(), &customer.city, &customer.district, &customer.address]
            .iter()
            .filter(|s| !s.is_empty())
            .fold(String::new(), |mut acc, s| {
                if !acc.ends_with(*s) {
                    acc.push_str(s);
                }
                acc
            });
    }
    // Repeat repair (R3.7) and entitlement, both from the unit's earlier orders.
    let (repeat_of, entitled) = match unit {
        Some(u) => {
            let now = Utc::now();
            let earlier: Vec<flow::Earlier<'_>> = f
                .past
                .iter()
                .filter_map(|p| {
                    Some(flow::Earlier {
                        id: p.id,
                        days_ago: (now - p.created_at).num_days(),
                        kind: Kind::parse(&p.kind)?,
                        cancelled: p.status == "cancelled",
                        fault_code: p.fault_code.as_deref(),
                        problem: &p.problem,
                    })
                })
                .collect();
            let words = crate::search::query_terms(&r.problem);
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            let repeat = flow::repeat_of(kind, None, &words, &earlier, flow::REPEAT_WINDOW_DAYS);
            (repeat, entitle(db, u, &f.past, repeat).await?)
        }
        None => (None, Entitled { code: "none", note: String::new(), decision: None }),
    };
    let review_kinds = match &found.review_kinds {
        Some(s) => flow::parse_kinds(s),
        None => flow::DEFAULT_REVIEW_KINDS.to_vec(),
    };
    let review = flow::review_needed(kind, &review_kinds, matches!(entitled.code, "exchange" | "refund"));
    let status = if review.is_some() { Status::Review } else { Status::Open };
    let review_reason = review.map(|r| match r {
        flow::ReviewReason::Kind(k) => format!("kind:{}", k.code()),
        flow::ReviewReason::ExchangeOrRefund => "exchange_or_refund".to_string(),
    });
    // Microseconds, as both databases keep them: the clocks count from exactly this instant.
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
    // What the insert writes, as a read would return it (the answer needs no read back).
    let text = |s: &str| s.to_string();
    let order = WorkOrder {
        id: 0,
        status: text(status.code()),
        resume_status: None,
        channel: text(channel.code()),
        kind: text(kind.code()),
        priority: text(priority.code()),
        customer_id: customer.id,
        customer_name: customer.name.clone(),
        unit_id: unit.map(|u| u.id),
        unit_serial: unit.map(|u| u.serial.clone()),
        model_name: unit.map(|u| u.model_name.clone()),
        region_code: customer.region_code.clone(),
        category_code: unit.map(|u| u.category_code.clone()),
        contact_name,
        contact_phone,
        address,
        problem: r.problem.clone(),
        requested_at: r.requested_at,
        entitlement: text(entitled.code),
        entitlement_note: entitled.note.clone(),
        decision_id: None,
        repeat_of,
        review_reason,
        review_assessment: None,
        review_plan: None,
        reviewed_by: None,
        reviewed_at: None,
        engineer_id: None,
        engineer_name: None,
        team_id: None,
        team_name: None,
        scheduled_at: None,
        assigned_at: None,
        accepted_at: None,
        travel_started_at: None,
        arrived_at: None,
        completed_at: None,
        closed_at: None,
        cancelled_at: None,
        cancel_reason: None,
        fault_code: None,
        diagnosis: String::new(),
        work_done: String::new(),
        parts_used: String::new(),
        labour_minutes: None,
        travel_km: None,
        parts_cents: 0,
        labour_cents: 0,
        travel_cents: 0,
        collected_cents: 0,
        payment_method: None,
        signed_by: None,
        signature_id: None,
        rating: None,
        rating_comment: String::new(),
        public_token: super::tracking_token(now),
        extras: 0,
        created_by: r.actor.user_id,
        version: 1,
        created_at: now,
        updated_at: now,
        sla_due_at: None,
        sla_warn_at: None,
    };
    let facts = super::sla::NewOrderFacts {
        customer_class: &customer.class,
        contract_code: found.contract_code.as_deref(),
        region_calendar: found.region_calendar.as_deref(),
    };
    let (clocks, due, warn) = sla.new_clocks(db, &order, &facts).await?;
    let mut order = order;
    order.sla_due_at = due;
    order.sla_warn_at = warn;
    Ok(super::intake::Pending {
        actor: r.actor.clone(),
        order,
        clocks,
        decision: entitled.decision,
        recipients: found.recipients.clone(),
        idem: r.idem.clone(),
    })
}

#[allow(clippy::too_many_arguments)]
async fn event(
    tx: &mut Tx,
    actor: &Actor,
    order_id: i64,
    at: DateTime<Utc>,
    action: &str,
    from: Option<Status>,
    to: Option<Status>,
    note: &str,
) -> AppResult<i64> {
    let id = store::work_orders::insert_event(
        tx.conn(),
        &store::work_orders::NewEvent {
            order_id,
            at,
            actor_id: actor.user_id,
            actor_label: &actor.label,
            action,
            from_status: from.map(Status::code),
            to_status: to.map(Status::code),
            note,
        },
    )
    .await?;
    Ok(id)
}

// ------------------------------------------------------------------ reading

async fn load(db: &Db, id: i64) -> AppResult<WorkOrder> {
    let mut c = db.read().await?;
    store::work_orders::get(c.conn(), id).await?.ok_or(AppError::NotFound)
}

fn context(o: &WorkOrder, quotes: &[Quote], paused: bool) -> flow::Context {
    flow::Context {
        resume: o.resume_status.as_deref().and_then(Status::parse),
        paid: o.entitlement == "paid",
        quote: quotes.last().and_then(|q| QuoteState::parse(&q.status)),
        paused,
    }
}

/// The actions `parties` may take now, each once, in the flow's order.
fn actions_for(status: Status, parties: &[Party], cx: flow::Context) -> Vec<Action> {
    let mut out: Vec<Action> = vec![];
    for p in parties {
        for a in flow::available(status, *p, cx) {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    out.sort();
    out
}

pub async fn get(db: &Db, sla: &super::sla::Sla, actor: &Actor, id: i64) -> AppResult<OrderDetail> {
    get_with_link(db, sla, actor, id, "").await
}

/// The order if the actor may see it (404 otherwise).
pub async fn visible_order(db: &Db, actor: &Actor, id: i64) -> AppResult<WorkOrder> {
    let o = load(db, id).await?;
    if !can_see(actor, &o) {
        return Err(AppError::NotFound);
    }
    Ok(o)
}

/// An order with everything attached to it.
struct Parts {
    order: WorkOrder,
    events: Vec<Event>,
    quotes: Vec<Quote>,
    approvals: Vec<Approval>,
    attachments: Vec<Attachment>,
    clocks: Vec<store::sla::ClockRow>,
    pauses: Vec<store::sla::PauseRow>,
}

impl Parts {
    fn new(order: WorkOrder) -> Parts {
        Parts {
            order,
            events: vec![],
            quotes: vec![],
            approvals: vec![],
            attachments: vec![],
            clocks: vec![],
            pauses: vec![],
        }
    }
}

/// The order with everything attached to it, read on one connection: the order, its time
/// line, its clocks, and only the kinds of attached rows it has (most orders have no quote,
/// approval, photo or pause, so a read is three queries).
async fn fetch(db: &Db, id: i64) -> AppResult<Parts> {
    use store::work_orders::{HAS_APPROVALS, HAS_ATTACHMENTS, HAS_PAUSES, HAS_QUOTES};
    let mut c = db.read().await?;
    let (order, events, clocks) = store::work_orders::with_lines(c.conn(), id).await?.ok_or(AppError::NotFound)?;
    let mut p = Parts::new(order);
    let extras = p.order.extras;
    p.events = events;
    p.clocks = clocks;
    if extras & HAS_QUOTES != 0 {
        p.quotes = store::work_orders::quotes(c.conn(), id).await?;
    }
    if extras & HAS_APPROVALS != 0 {
        p.approvals = store::work_orders::approvals(c.conn(), id).await?;
    }
    if extras & HAS_ATTACHMENTS != 0 {
        p.attachments = store::work_orders::attachments(c.conn(), id).await?;
    }
    if extras & HAS_PAUSES != 0 {
        p.pauses = store::sla::pauses_of(c.conn(), id).await?;
    }
    Ok(p)
}

/// A pause the user recorded is open (the flow's own, for quotes and approvals, end with them).
fn manually_paused(pauses: &[store::sla::PauseRow]) -> bool {
    pauses.iter().any(|p| p.source == "manual" && p.to_at.is_none())
}

fn detail(actor: &Actor, p: Parts, clocks: Vec<super::sla::ClockView>, public_url: &str) -> AppResult<OrderDetail> {
    let status = status_of(&p.order)?;
    let ps = parties(actor, Some(&p.order));
    let mut actions = actions_for(status, &ps, context(&p.order, &p.quotes, manually_paused(&p.pauses)));
    // Answering a quote by phone or on site, and deciding an approval, are offered on them.
    if status == Status::WaitingCustomer && Action::DecideQuote.parties().iter().any(|x| ps.contains(x)) {
        actions.push(Action::DecideQuote);
    }
    if status == Status::WaitingApproval && Action::DecideApproval.parties().iter().any(|x| ps.contains(x)) {
        actions.push(Action::DecideApproval);
    }
    Ok(OrderDetail {
        number: p.order.number(),
        tracking_url: format!("{public_url}/t/{}", p.order.public_token),
        order: p.order,
        events: p.events,
        quotes: p.quotes,
        approvals: p.approvals,
        attachments: p.attachments,
        actions: actions.iter().map(|a| a.code().to_string()).collect(),
        clocks,
        pauses: p.pauses,
    })
}

/// The order page with the tracking link spelled out in full.
pub async fn get_with_link(
    db: &Db,
    sla: &super::sla::Sla,
    actor: &Actor,
    id: i64,
    public_url: &str,
) -> AppResult<OrderDetail> {
    let parts = fetch(db, id).await?;
    if !can_see(actor, &parts.order) {
        return Err(AppError::NotFound);
    }
    let clocks = sla.views_of(db, &parts.clocks, &parts.pauses, Utc::now()).await?;
    detail(actor, parts, clocks, public_url)
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub statuses: Vec<String>,
    pub kind: Option<String>,
    pub region: Option<String>,
    pub engineer_id: Option<i64>,
    pub team_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub category: Option<String>,
    pub fault_code: Option<String>,
    pub channel: Option<String>,
    pub model: Option<String>,
    pub completed_from: Option<DateTime<Utc>>,
    pub completed_to: Option<DateTime<Utc>>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub overdue: bool,
    /// Visits in [from, to) (the dispatch board's week).
    pub visit_from: Option<DateTime<Utc>>,
    pub visit_to: Option<DateTime<Utc>>,
    pub before_id: Option<i64>,
    /// Most urgent first (open orders by their SLA due time), instead of newest first.
    pub by_due: bool,
    /// Cursor of a list by due time: the last row's due time and id.
    pub after_due: Option<(DateTime<Utc>, i64)>,
    pub limit: i64,
}

impl ListQuery {
    /// Unknown status or type codes, by field.
    pub fn check(&self, errors: &mut Vec<FieldError>) {
        if self.statuses.iter().any(|s| Status::parse(s).is_none()) {
            errors.push(field_error("status", "wo.error.unknown_value"));
        }
        if self.kind.as_deref().is_some_and(|k| Kind::parse(k).is_none()) {
            errors.push(field_error("kind", "wo.error.unknown_value"));
        }
        if self.channel.as_deref().is_some_and(|k| rules::work_order::Channel::parse(k).is_none()) {
            errors.push(field_error("channel", "wo.error.unknown_value"));
        }
    }
}

/// Orders the actor may see, as lists show them.
pub async fn list(db: &Db, actor: &Actor, q: &ListQuery) -> AppResult<Vec<store::work_orders::Summary>> {
    let filter = filter_for(actor, q)?;
    let mut c = db.read().await?;
    Ok(store::work_orders::summaries(c.conn(), &filter).await?)
}

/// Orders the actor may see, with everything (exports).
pub async fn list_full(db: &Db, actor: &Actor, q: &ListQuery) -> AppResult<Vec<WorkOrder>> {
    let filter = filter_for(actor, q)?;
    let mut c = db.read().await?;
    Ok(store::work_orders::list(c.conn(), &filter).await?)
}

fn filter_for(actor: &Actor, q: &ListQuery) -> AppResult<store::work_orders::Filter> {
    let mut errors = vec![];
    q.check(&mut errors);
    AppError::check(errors)?;
    if actor.roles.contains(&Role::Warehouse) && actor.roles.len() == 1 {
        return Err(AppError::Forbidden);
    }
    let engineer_id = if engineer_only(actor) { actor.user_id } else { q.engineer_id };
    let filter = store::work_orders::Filter {
        region_scope: if engineer_only(actor) { None } else { super::archive::region_scope(actor) },
        engineer_id,
        team_id: q.team_id,
        statuses: q.statuses.clone(),
        kind: q.kind.clone(),
        region: q.region.clone(),
        customer_id: q.customer_id,
        unit_id: q.unit_id,
        category: q.category.clone(),
        fault_code: q.fault_code.clone(),
        channel: q.channel.clone(),
        model: q.model.clone(),
        completed_from: q.completed_from,
        completed_to: q.completed_to,
        created_from: q.created_from,
        created_to: q.created_to,
        overdue_at: q.overdue.then(Utc::now),
        visit_from: q.visit_from,
        visit_to: q.visit_to,
        before_id: q.before_id,
        by_due: q.by_due,
        after_due: q.after_due,
        limit: q.limit,
    };
    Ok(filter)
}

// ------------------------------------------------------------------ actions

/// What an action carries; each action reads the fields it needs and ignores the rest.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ActionInput {
    /// The order's version as read; a stale one is a conflict (409).
    #[serde(default)]
    pub version: i64,
    /// Reason or remark (decline, cancel, reopen, close, decisions).
    #[serde(default)]
    pub note: String,
    /// review
    #[serde(default)]
    pub assessment: String,
    #[serde(default)]
    pub plan: String,
    /// assign
    #[serde(default)]
    pub engineer_id: Option<i64>,
    /// assign: the agreed visit time (RFC 3339 or local); default the customer's requested time.
    #[serde(default)]
    pub scheduled_at: String,
    /// send_quote, complete: amounts in fen (分).
    #[serde(default)]
    pub parts_cents: Option<i64>,
    #[serde(default)]
    pub labour_cents: Option<i64>,
    #[serde(default)]
    pub travel_cents: Option<i64>,
    /// send_quote: what the work is; request_approval: the proposed solution.
    #[serde(default)]
    pub description: String,
    /// decide_quote, decide_approval
    #[serde(default)]
    pub approve: Option<bool>,
    /// decide_quote: who answered (the customer's name).
    #[serde(default)]
    pub decided_by: String,
    /// request_approval: extension | solution
    #[serde(default)]
    pub approval_kind: String,
    /// request_approval: the new date asked for (extension).
    #[serde(default)]
    pub new_due: String,
    /// complete: the report.
    #[serde(default)]
    pub fault_code: String,
    #[serde(default)]
    pub diagnosis: String,
    #[serde(default)]
    pub work_done: String,
    #[serde(default)]
    pub parts_used: String,
    #[serde(default)]
    pub labour_minutes: Option<i64>,
    #[serde(default)]
    pub travel_km: Option<i64>,
    #[serde(default)]
    pub collected_cents: Option<i64>,
    /// cash | wechat | alipay | card | transfer | none
    #[serde(default)]
    pub payment_method: String,
    /// complete: the name of whoever signed, and the signature as a PNG data URL.
    #[serde(default)]
    pub signed_by: String,
    #[serde(default)]
    pub signature: String,
    /// complete: the customer's on-the-spot rating 1–5, and comment.
    #[serde(default)]
    pub rating: Option<i32>,
    #[serde(default)]
    pub rating_comment: String,
    /// pause: waiting_parts | waiting_customer | waiting_third_party
    #[serde(default)]
    pub pause_reason: String,
}

const PAYMENT_METHODS: [&str; 6] = ["cash", "wechat", "alipay", "card", "transfer", "none"];

/// A drawn signature: a PNG data URL, decoded and checked.
fn signature_png(s: &str, errors: &mut Vec<FieldError>) -> Option<Vec<u8>> {
    use base64::Engine;
    let s = s.trim();
    if s.is_empty() {
        errors.push(field_error("signature", "wo.error.signature_required"));
        return None;
    }
    let Some(b64) = s.strip_prefix("data:image/png;base64,") else {
        errors.push(field_error("signature", "wo.error.signature_format"));
        return None;
    };
    match base64::engine::general_purpose::STANDARD.decode(b64) {
        Ok(bytes) if bytes.len() > MAX_SIGNATURE_BYTES => {
            errors.push(field_error("signature", "wo.error.file_too_large"));
            None
        }
        Ok(bytes) if sniff(&bytes) == Some("image/png") => Some(bytes),
        _ => {
            errors.push(field_error("signature", "wo.error.signature_format"));
            None
        }
    }
}

/// The image type the bytes really are (never trust the name or the declared type).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

fn storage_key(order_id: i64, kind: &str, content_type: &str) -> String {
    let ext = match content_type {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        _ => "webp",
    };
    let (secret, _) = super::new_secret();
    format!("orders/{order_id}/{kind}-{}.{ext}", &secret[..16])
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    super::hex(&sha2::Sha256::digest(bytes))
}

/// Takes `action` on order `id`. Returns the order as it is afterwards, or None when the
/// actor no longer sees it (an engineer who declined it).
pub async fn act(
    db: &Db,
    sla: &super::sla::Sla,
    files: &Files,
    actor: &Actor,
    id: i64,
    action: Action,
    input: &ActionInput,
) -> AppResult<Option<OrderDetail>> {
    let before = load(db, id).await?;
    if !can_see(actor, &before) {
        return Err(AppError::NotFound);
    }
    let ps = parties(actor, Some(&before));
    let party = action.parties().iter().copied().find(|p| ps.contains(p));
    let Some(party) = party else {
        if ps.is_empty() {
            return Err(AppError::Forbidden);
        }
        return Err(refusal(flow::Refusal::NotAllowed { action, party: ps[0] }));
    };
    apply(db, sla, files, actor, before, action, party, input).await?;
    match get(db, sla, actor, id).await {
        Ok(d) => Ok(Some(d)),
        Err(AppError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

#[allow(clippy::too_many_arguments)]
async fn apply(
    db: &Db,
    sla: &super::sla::Sla,
    files: &Files,
    actor: &Actor,
    before: WorkOrder,
    action: Action,
    party: Party,
    input: &ActionInput,
) -> AppResult<()> {
    let id = before.id;
    let from = status_of(&before)?;
    let (quotes, pauses) = if before.extras & (store::work_orders::HAS_QUOTES | store::work_orders::HAS_PAUSES) != 0 {
        let mut c = db.read().await?;
        let quotes = if before.extras & store::work_orders::HAS_QUOTES != 0 {
            store::work_orders::quotes(c.conn(), id).await?
        } else {
            vec![]
        };
        let pauses = if before.extras & store::work_orders::HAS_PAUSES != 0 {
            store::sla::pauses_of(c.conn(), id).await?
        } else {
            vec![]
        };
        (quotes, pauses)
    } else {
        (vec![], vec![])
    };
    let to = flow::next(from, action, party, context(&before, &quotes, manually_paused(&pauses))).map_err(refusal)?;
    let mut clock_change = super::sla::ClockChange::default();
    let now = Utc::now();
    let mut o = before.clone();
    o.status = to.code().to_string();
    let mut errors = vec![];
    let mut note = input.note.trim().to_string();
    if note.chars().count() > MAX_TEXT {
        errors.push(field_error("note", "error.too_long"));
    }
    // Rows written beside the order (quote, approval, file), prepared before the transaction.
    let mut new_quote: Option<Quote> = None;
    let mut decided_quote: Option<Quote> = None;
    let mut new_approval: Option<Approval> = None;
    let mut decided_approval: Option<Approval> = None;
    let mut signature: Option<Vec<u8>> = None;
    match action {
        Action::Review => {
            o.review_assessment = Some(text("assessment", &input.assessment, true, &mut errors));
            o.review_plan = Some(text("plan", &input.plan, true, &mut errors));
            o.reviewed_by = actor.user_id;
            o.reviewed_at = Some(now);
        }
        Action::Assign => {
            let scheduled = parse_instant("scheduled_at", &input.scheduled_at, &mut errors);
            let engineer = match input.engineer_id {
                None => {
                    errors.push(field_error("engineer_id", "error.required"));
                    None
                }
                Some(eid) => {
                    let mut c = db.read().await?;
                    let u = store::users::get(c.conn(), eid).await?;
                    match u {
                        Some(u) if u.active && u.roles.contains(&Role::Engineer) => Some(u),
                        _ => {
                            errors.push(field_error("engineer_id", "wo.error.not_an_engineer"));
                            None
                        }
                    }
                }
            };
            if let Some(u) = &engineer {
                if from != Status::Open && o.engineer_id == Some(u.id) && scheduled.is_none() {
                    errors.push(field_error("engineer_id", "wo.error.same_engineer"));
                }
                o.engineer_id = Some(u.id);
                note = if note.is_empty() { u.display_name.clone() } else { format!("{} — {note}", u.display_name) };
            }
            o.scheduled_at = scheduled.or(o.scheduled_at).or(o.requested_at);
            o.assigned_at = Some(now);
            o.accepted_at = None;
        }
        Action::Accept => o.accepted_at = Some(now),
        Action::Decline => {
            if note.is_empty() {
                errors.push(field_error("note", "wo.error.reason_required"));
            }
            o.engineer_id = None;
            o.accepted_at = None;
            o.assigned_at = None;
        }
        Action::StartTravel => o.travel_started_at = Some(now),
        Action::Arrive => o.arrived_at = Some(now),
        Action::SendQuote => {
            let q = Quote {
                id: 0,
                order_id: id,
                parts_cents: money("parts_cents", input.parts_cents, &mut errors),
                labour_cents: money("labour_cents", input.labour_cents, &mut errors),
                travel_cents: money("travel_cents", input.travel_cents, &mut errors),
                description: text("description", &input.description, true, &mut errors),
                status: "pending".into(),
                created_by: actor.user_id,
                created_at: now,
                decided_at: None,
                decided_via: None,
                decided_by: None,
                decision_note: String::new(),
            };
            if q.total_cents() == 0 && errors.is_empty() {
                errors.push(field_error("parts_cents", "wo.error.quote_empty"));
            }
            note = format!("¥{}", yuan(q.total_cents()));
            new_quote = Some(q);
            o.resume_status = Some(from.code().to_string());
        }
        Action::DecideQuote => {
            let Some(mut q) = quotes.last().cloned().filter(|q| q.status == "pending") else {
                return Err(refusal(flow::Refusal::QuoteNeeded));
            };
            let Some(approve) = input.approve else {
                return Err(AppError::one("approve", "error.required"));
            };
            q.status = if approve { "approved" } else { "declined" }.into();
            q.decided_at = Some(now);
            q.decided_via = Some(
                match party {
                    Party::Customer => "link",
                    Party::Engineer => "on_site",
                    _ => "phone",
                }
                .into(),
            );
            let who = text("decided_by", &input.decided_by, party != Party::Customer, &mut errors);
            q.decided_by = Some(if who.is_empty() { o.contact_name.clone() } else { who });
            q.decision_note = note.clone();
            note = format!("{}{}", q.status, if note.is_empty() { String::new() } else { format!(" — {note}") });
            decided_quote = Some(q);
            o.resume_status = None;
        }
        Action::RequestApproval => {
            let kind = match input.approval_kind.trim() {
                "extension" | "" => "extension",
                "solution" => "solution",
                _ => {
                    errors.push(field_error("approval_kind", "wo.error.unknown_value"));
                    "extension"
                }
            };
            let new_due = parse_instant("new_due", &input.new_due, &mut errors);
            if kind == "extension" && new_due.is_none() && errors.iter().all(|e| e.field != "new_due") {
                errors.push(field_error("new_due", "error.required"));
            }
            if new_due.is_some_and(|d| d <= now) {
                errors.push(field_error("new_due", "wo.error.in_past"));
            }
            let reason = text("note", &input.note, true, &mut errors);
            new_approval = Some(Approval {
                id: 0,
                order_id: id,
                kind: kind.into(),
                reason,
                proposal: text("description", &input.description, kind == "solution", &mut errors),
                new_due,
                status: "pending".into(),
                requested_by: actor.user_id,
                requested_at: now,
                decided_by: None,
                decided_at: None,
                decision_note: String::new(),
            });
            o.resume_status = Some(from.code().to_string());
        }
        Action::DecideApproval => {
            let mut c = db.read().await?;
            let pending =
                store::work_orders::approvals(c.conn(), id).await?.into_iter().rfind(|a| a.status == "pending");
            drop(c);
            let Some(mut a) = pending else {
                return Err(AppError::one("action", "wo.error.no_pending_approval"));
            };
            let Some(approve) = input.approve else {
                return Err(AppError::one("approve", "error.required"));
            };
            a.status = if approve { "approved" } else { "refused" }.into();
            a.decided_by = actor.user_id;
            a.decided_at = Some(now);
            a.decision_note = note.clone();
            if approve && a.kind == "extension" && a.new_due.is_some() {
                o.scheduled_at = a.new_due;
                clock_change.extended_to = a.new_due;
            }
            note = format!(
                "{} {}{}",
                a.kind,
                a.status,
                if note.is_empty() { String::new() } else { format!(" — {note}") }
            );
            decided_approval = Some(a);
            o.resume_status = None;
        }
        Action::Complete => {
            o.diagnosis = text("diagnosis", &input.diagnosis, false, &mut errors);
            o.work_done = text("work_done", &input.work_done, true, &mut errors);
            o.parts_used = text("parts_used", &input.parts_used, false, &mut errors);
            let code = input.fault_code.trim();
            if !code.is_empty() {
                let mut c = db.read().await?;
                let known = store::work_orders::fault_codes(c.conn(), o.category_code.as_deref()).await?;
                if !known.iter().any(|f| f.code == code) {
                    errors.push(field_error("fault_code", "wo.error.unknown_fault_code"));
                }
                o.fault_code = Some(code.to_string());
            } else if o.kind == "repair" {
                errors.push(field_error("fault_code", "error.required"));
            }
            if input.labour_minutes.is_some_and(|m| !(0..=100_000).contains(&m)) {
                errors.push(field_error("labour_minutes", "wo.error.out_of_range"));
            }
            if input.travel_km.is_some_and(|k| !(0..=100_000).contains(&k)) {
                errors.push(field_error("travel_km", "wo.error.out_of_range"));
            }
            o.labour_minutes = input.labour_minutes;
            o.travel_km = input.travel_km;
            // Left empty, the charge of the parts issued from stock stands.
            if input.parts_cents.is_some() {
                o.parts_cents = money("parts_cents", input.parts_cents, &mut errors);
            }
            o.labour_cents = money("labour_cents", input.labour_cents, &mut errors);
            o.travel_cents = money("travel_cents", input.travel_cents, &mut errors);
            o.collected_cents = money("collected_cents", input.collected_cents, &mut errors);
            let method = input.payment_method.trim();
            if !method.is_empty() && !PAYMENT_METHODS.contains(&method) {
                errors.push(field_error("payment_method", "wo.error.unknown_value"));
            }
            if o.collected_cents > 0 && (method.is_empty() || method == "none") {
                errors.push(field_error("payment_method", "error.required"));
            }
            o.payment_method = Some(method.to_string()).filter(|m| !m.is_empty());
            o.signed_by = Some(text("signed_by", &input.signed_by, true, &mut errors));
            signature = signature_png(&input.signature, &mut errors);
            if input.rating.is_some_and(|r| !(1..=5).contains(&r)) {
                errors.push(field_error("rating", "wo.error.rating"));
            }
            o.rating = input.rating;
            o.rating_comment = text("rating_comment", &input.rating_comment, false, &mut errors);
            o.completed_at = Some(now);
        }
        Action::Close => o.closed_at = Some(now),
        Action::Cancel => {
            if note.is_empty() {
                errors.push(field_error("note", "wo.error.reason_required"));
            }
            o.cancelled_at = Some(now);
            o.cancel_reason = Some(note.clone());
        }
        Action::Reply => {
            if note.is_empty() {
                errors.push(field_error("note", "wo.error.reply_required"));
            }
        }
        Action::Pause => {
            let reason = input.pause_reason.trim();
            if !super::sla::PAUSE_REASONS.contains(&reason) {
                errors.push(field_error("pause_reason", "wo.error.unknown_value"));
            }
            clock_change.pause_reason = Some(reason.to_string());
            clock_change.note = note.clone();
            // The reason as a code: the time line shows it in the reader's language.
            note = if note.is_empty() { reason.to_string() } else { format!("{reason} — {note}") };
        }
        Action::Resume => {}
        Action::Reopen => {
            if note.is_empty() {
                errors.push(field_error("note", "wo.error.reason_required"));
            }
            o.completed_at = None;
            o.closed_at = None;
            o.engineer_id = None;
            o.assigned_at = None;
            o.accepted_at = None;
        }
    }
    AppError::check(errors)?;
    // The file goes first: a failed transaction leaves an unreferenced file, never a report
    // pointing at a missing one.
    let mut sig_row = None;
    if let Some(bytes) = signature {
        let key = storage_key(id, "signature", "image/png");
        let row = Attachment {
            id: 0,
            order_id: id,
            kind: "signature".into(),
            content_type: "image/png".into(),
            size_bytes: bytes.len() as i64,
            sha256: sha256_hex(&bytes),
            storage_key: key.clone(),
            filename: "signature.png".into(),
            created_by: actor.user_id,
            created_at: now,
        };
        files.put(&key, bytes).await?;
        sig_row = Some(row);
    }
    let mut tx = db.begin().await?;
    if let Some(row) = &sig_row {
        o.signature_id = Some(store::work_orders::insert_attachment(tx.conn(), row).await?);
    }
    if !store::work_orders::save(tx.conn(), &o, input.version, now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    if let Some(q) = &new_quote {
        store::work_orders::insert_quote(tx.conn(), q).await?;
    }
    if let Some(q) = &decided_quote
        && !store::work_orders::decide_quote(tx.conn(), q).await?
    {
        return Err(AppError::Conflict("error.stale"));
    }
    if let Some(a) = &new_approval {
        store::work_orders::insert_approval(tx.conn(), a).await?;
    }
    if let Some(a) = &decided_approval
        && !store::work_orders::decide_approval(tx.conn(), a).await?
    {
        return Err(AppError::Conflict("error.stale"));
    }
    // The order counts for the team its engineer is in when assigned (dashboard::team filter).
    match action {
        Action::Assign => store::teams::set_order_team_of_engineer(tx.conn(), id).await?,
        Action::Decline | Action::Reopen => store::teams::set_order_team(tx.conn(), id, None).await?,
        _ => {}
    }
    if action == Action::Reopen
        && let Some(done) = before.completed_at
    {
        // The order no longer names its completion day: the dashboard counts that day again.
        store::dashboard::mark_recount(tx.conn(), local_day(done), now).await?;
    }
    event(&mut tx, actor, id, now, action.code(), Some(from), Some(to), &note).await?;
    sla.on_action(db, &mut tx, actor, &o, from, action, &clock_change, now).await?;
    let after = store::work_orders::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record(&mut tx, actor, now, action.code(), "work_order", &id.to_string(), Some(&before), Some(&after))
        .await?;
    let notify = match action {
        Action::Assign => Some("order_assigned"),
        Action::SendQuote => Some("quote_sent"),
        Action::Complete => Some("order_completed"),
        _ => None,
    };
    if let Some(event) = notify {
        super::notifications::order_event(&mut tx, event, &after, now).await?;
    }
    if action == Action::Complete {
        super::care::on_completed(&mut tx, &after, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub use crate::domain::money::yuan;

/// Adds a photo to an order (its engineer, the office, managers), type- and size-checked.
pub async fn add_photo(
    db: &Db,
    files: &Files,
    actor: &Actor,
    id: i64,
    filename: &str,
    bytes: Vec<u8>,
) -> AppResult<Attachment> {
    let order = load(db, id).await?;
    if !can_see(actor, &order) {
        return Err(AppError::NotFound);
    }
    if parties(actor, Some(&order)).iter().all(|p| *p == Party::Quality) {
        return Err(AppError::Forbidden);
    }
    if matches!(status_of(&order)?, Status::Cancelled | Status::Closed) {
        return Err(AppError::one("photo", "wo.error.order_final"));
    }
    if bytes.is_empty() {
        return Err(AppError::one("photo", "error.required"));
    }
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(AppError::one("photo", "wo.error.file_too_large"));
    }
    let Some(content_type) = sniff(&bytes) else {
        return Err(AppError::one("photo", "wo.error.photo_type"));
    };
    let now = Utc::now();
    let key = storage_key(id, "photo", content_type);
    let name: String = filename.chars().filter(|c| !c.is_control() && *c != '/' && *c != '\\').take(200).collect();
    let mut row = Attachment {
        id: 0,
        order_id: id,
        kind: "photo".into(),
        content_type: content_type.into(),
        size_bytes: bytes.len() as i64,
        sha256: sha256_hex(&bytes),
        storage_key: key.clone(),
        filename: name,
        created_by: actor.user_id,
        created_at: now,
    };
    files.put(&key, bytes).await?;
    let mut tx = db.begin().await?;
    row.id = store::work_orders::insert_attachment(tx.conn(), &row).await?;
    event(&mut tx, actor, id, now, "photo", None, None, &row.filename).await?;
    audit::record::<(), _>(&mut tx, actor, now, "photo", "work_order", &id.to_string(), None, Some(&row)).await?;
    tx.commit().await?;
    Ok(row)
}

/// An attachment's bytes, for whoever may see its order (or the order's tracking link).
pub async fn attachment(
    db: &Db,
    files: &Files,
    actor: Option<&Actor>,
    id: i64,
    token: Option<&str>,
) -> AppResult<(Attachment, Vec<u8>)> {
    let mut c = db.read().await?;
    let a = store::work_orders::attachment(c.conn(), id).await?.ok_or(AppError::NotFound)?;
    let order = store::work_orders::get(c.conn(), a.order_id).await?.ok_or(AppError::NotFound)?;
    drop(c);
    let allowed = match (actor, token) {
        (Some(actor), _) => can_see(actor, &order),
        (None, Some(t)) => t == order.public_token,
        _ => false,
    };
    if !allowed {
        return Err(AppError::NotFound);
    }
    let bytes = files.get(&a.storage_key).await?;
    Ok((a, bytes))
}

// ------------------------------------------------------------------ dispatch

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Suggested {
    pub engineer: store::work_orders::Engineer,
    pub score: i32,
    pub same_region: bool,
    pub skilled: bool,
    /// The engineer's calendar has working time on the visit's day.
    pub works_that_day: bool,
}

/// An order's service clock has reached its warning threshold, or runs out within four hours.
pub fn sla_pressing(o: &WorkOrder, now: DateTime<Utc>) -> bool {
    o.sla_warn_at.is_some_and(|w| w <= now) || o.sla_due_at.is_some_and(|d| d <= now + Duration::hours(4))
}

/// Engineers ranked for an order by skill, region, load and working calendar on the visit's
/// day, with the order's SLA urgency.
pub async fn suggestions(db: &Db, sla: &super::sla::Sla, actor: &Actor, id: i64) -> AppResult<Vec<Suggested>> {
    let order = load(db, id).await?;
    if !can_see(actor, &order) {
        return Err(AppError::NotFound);
    }
    if !parties(actor, Some(&order)).iter().any(|p| Action::Assign.parties().contains(p)) {
        return Err(AppError::Forbidden);
    }
    let at = order.scheduled_at.or(order.requested_at).unwrap_or_else(Utc::now);
    let start = midnight(at.with_timezone(&ZONE).date_naive());
    let engineers = {
        let mut c = db.read().await?;
        store::work_orders::engineers(c.conn(), (start, start + Duration::days(1))).await?
    };
    let day = at.with_timezone(&ZONE).date_naive();
    let mut works = Vec::with_capacity(engineers.len());
    let mut by_calendar: Vec<(Option<&str>, bool)> = vec![];
    for e in &engineers {
        let code = e.calendar_code.as_deref();
        let w = match by_calendar.iter().find(|(c, _)| *c == code) {
            Some((_, w)) => *w,
            None => {
                let w = sla.works_on(db, code, day).await?;
                by_calendar.push((code, w));
                w
            }
        };
        works.push(w);
    }
    let skills: Vec<Vec<String>> =
        engineers.iter().map(|e| e.skills.split(',').filter(|s| !s.is_empty()).map(String::from).collect()).collect();
    let candidates: Vec<flow::Candidate<'_>> = engineers
        .iter()
        .zip(&skills)
        .zip(&works)
        .map(|((e, s), works)| flow::Candidate {
            user_id: e.user_id,
            region: e.region_code.as_deref(),
            skills: s,
            open_orders: e.open_orders.max(0) as u32,
            day_orders: e.day_orders.max(0) as u32,
            works_that_day: *works,
        })
        .collect();
    let priority = Priority::parse(&order.priority).unwrap_or(Priority::Normal);
    let pressing = sla_pressing(&order, Utc::now());
    let ranked =
        flow::suggest(order.category_code.as_deref(), order.region_code.as_deref(), priority, pressing, &candidates);
    Ok(ranked
        .into_iter()
        .filter_map(|s| {
            let e = engineers.iter().find(|e| e.user_id == s.user_id)?.clone();
            Some(Suggested {
                engineer: e,
                score: s.score,
                same_region: s.same_region,
                skilled: s.skilled,
                works_that_day: s.works_that_day,
            })
        })
        .collect())
}

// ------------------------------------------------------------------ the customer's side

/// What the customer's tracking link shows: nothing but this order.
#[derive(Debug, Clone)]
pub struct Tracking {
    pub order: WorkOrder,
    pub quotes: Vec<Quote>,
    pub events: Vec<Event>,
}

fn valid_token(token: &str) -> bool {
    token.len() == 32 && token.chars().all(|c| c.is_ascii_hexdigit())
}

pub async fn track(db: &Db, token: &str) -> AppResult<Tracking> {
    if !valid_token(token) {
        return Err(AppError::NotFound);
    }
    let mut c = db.read().await?;
    let order = store::work_orders::by_token(c.conn(), token).await?.ok_or(AppError::NotFound)?;
    let quotes = store::work_orders::quotes(c.conn(), order.id).await?;
    let events = store::work_orders::events(c.conn(), order.id).await?;
    Ok(Tracking { order, quotes, events })
}

fn customer_actor(name: &str, ip: &str) -> Actor {
    Actor {
        user_id: None,
        label: format!("customer: {}", name.chars().take(60).collect::<String>()),
        roles: vec![],
        region_code: None,
        ip: Some(ip.to_string()),
        request_id: None,
    }
}

/// The customer answers the pending quote from the tracking link.
pub async fn decide_quote_by_link(
    db: &Db,
    sla: &super::sla::Sla,
    token: &str,
    approve: bool,
    name: &str,
    ip: &str,
) -> AppResult<()> {
    let t = track(db, token).await?;
    let actor = customer_actor(if name.trim().is_empty() { &t.order.contact_name } else { name }, ip);
    let input = ActionInput {
        version: t.order.version,
        approve: Some(approve),
        decided_by: name.to_string(),
        ..Default::default()
    };
    // A quote decision writes no file.
    apply(db, sla, &Files::none(), &actor, t.order, Action::DecideQuote, Party::Customer, &input).await
}

/// Requests one address may file from warranty cards in an hour.
pub const PUBLIC_REQUESTS_PER_HOUR: i64 = 10;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PublicRequest {
    pub name: String,
    pub phone: String,
    pub problem: String,
    pub requested_at: String,
}

/// A request from the warranty card's public page (no account): returns the tracking token.
pub async fn request_from_card(
    db: &Db,
    intake: &Intake,
    unit_token: &str,
    r: &PublicRequest,
    ip: &str,
) -> AppResult<String> {
    let unit = super::archive::public_unit(db, unit_token).await?;
    let mut errors = vec![];
    let name = text("name", &r.name, true, &mut errors);
    if r.phone.trim().is_empty() {
        errors.push(field_error("phone", "error.required"));
    }
    AppError::check(errors)?;
    // Anyone holding a card's link may write; ten requests an hour from one address is plenty.
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let recent = store::outbox::public_request(tx.conn(), ip, now, now - Duration::hours(1)).await?;
    tx.commit().await?;
    if recent >= PUBLIC_REQUESTS_PER_HOUR {
        return Err(AppError::TooManyRequests("wo.error.too_many_requests", 3600));
    }
    let actor = customer_actor(&name, ip);
    let input = IntakeInput {
        channel: "web".into(),
        kind: "repair".into(),
        priority: "normal".into(),
        customer_id: unit.customer_id,
        unit_id: Some(unit.id),
        contact_name: name,
        contact_phone: r.phone.clone(),
        address: String::new(),
        problem: r.problem.clone(),
        requested_at: r.requested_at.clone(),
    };
    let written = register(db, intake, &actor, &input, None).await?;
    Ok(written.order.public_token)
}

// ------------------------------------------------------------------ saved views

/// Saves the list's current filters under a name (the same name replaces the earlier view).
pub async fn save_view(db: &Db, actor: &Actor, name: &str, query: &str) -> AppResult<store::work_orders::SavedView> {
    let user_id = actor.user_id.ok_or(AppError::Forbidden)?;
    let mut errors = vec![];
    let name = text("name", name, true, &mut errors);
    if name.chars().count() > 60 {
        errors.push(field_error("name", "error.too_long"));
    }
    // Only the list's own parameters, so a view cannot smuggle anything into a link.
    let allowed = [
        "status",
        "kind",
        "region",
        "engineer_id",
        "customer_id",
        "unit_id",
        "category",
        "fault_code",
        "model",
        "completed_from",
        "completed_to",
        "from",
        "to",
        "overdue",
    ];
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
        .filter(|(k, v)| allowed.contains(&k.as_ref()) && !v.is_empty())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if pairs.is_empty() {
        errors.push(field_error("query", "wo.error.empty_view"));
    }
    AppError::check(errors)?;
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let id = store::work_orders::save_view(tx.conn(), user_id, &name, &query, now).await?;
    tx.commit().await?;
    Ok(store::work_orders::SavedView { id, name, query, created_at: now })
}

pub async fn views(db: &Db, actor: &Actor) -> AppResult<Vec<store::work_orders::SavedView>> {
    let Some(user_id) = actor.user_id else { return Ok(vec![]) };
    let mut c = db.read().await?;
    Ok(store::work_orders::views(c.conn(), user_id).await?)
}

pub async fn delete_view(db: &Db, actor: &Actor, id: i64) -> AppResult<()> {
    let user_id = actor.user_id.ok_or(AppError::Forbidden)?;
    let mut tx = db.begin().await?;
    if !store::work_orders::delete_view(tx.conn(), user_id, id).await? {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

// ------------------------------------------------------------------ product feedback

/// Completed repairs per model and fault code in [from, to), for the quality department and
/// managers (R3: failure information flows to quality as product feedback).
pub async fn feedback(
    db: &Db,
    actor: &Actor,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<store::work_orders::Feedback>> {
    let ps = parties(actor, None);
    if !ps.iter().any(|p| matches!(p, Party::Quality | Party::Manager)) {
        return Err(AppError::Forbidden);
    }
    if to <= from {
        return Err(AppError::one("to", "wo.error.period"));
    }
    let region = super::archive::region_scope(actor);
    let mut c = db.read().await?;
    Ok(store::work_orders::feedback(c.conn(), from, to, region.as_deref()).await?)
}

// ------------------------------------------------------------------ catalogue

pub async fn fault_codes(db: &Db, category: Option<&str>) -> AppResult<Vec<store::work_orders::FaultCode>> {
    let mut c = db.read().await?;
    Ok(store::work_orders::fault_codes(c.conn(), category).await?)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct FaultCodeInput {
    #[serde(default)]
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
}

/// Adds a fault code to a category's catalogue, or renames one (codes are never removed:
/// completed orders point at them).
pub async fn save_fault_code(
    db: &Db,
    actor: &Actor,
    category: &str,
    code: &str,
    input: &FaultCodeInput,
) -> AppResult<store::work_orders::FaultCode> {
    actor.require(crate::domain::Perm::ManageFaultCodes)?;
    let mut errors = vec![];
    let code = code.trim().to_ascii_uppercase();
    if code.is_empty() || code.len() > 20 || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        errors.push(field_error("code", "wo.error.fault_code_format"));
    }
    let name_zh = text("name_zh", &input.name_zh, true, &mut errors);
    let name_en = text("name_en", &input.name_en, false, &mut errors);
    let mut c = db.read().await?;
    if !store::products::categories(c.conn()).await?.iter().any(|x| x.code == category) {
        errors.push(field_error("category", "error.unknown_category"));
    }
    drop(c);
    AppError::check(errors)?;
    let f = store::work_orders::FaultCode {
        category_code: category.to_string(),
        code: code.clone(),
        name_en: if name_en.is_empty() { name_zh.clone() } else { name_en },
        name_zh,
    };
    let now = Utc::now();
    let mut tx = db.begin().await?;
    store::work_orders::upsert_fault_code(tx.conn(), &f).await?;
    audit::record::<(), _>(&mut tx, actor, now, "save", "fault_code", &format!("{category}/{code}"), None, Some(&f))
        .await?;
    tx.commit().await?;
    Ok(f)
}

/// Sets the product categories an engineer is skilled in.
pub async fn set_skills(db: &Db, actor: &Actor, user_id: i64, categories: &[String]) -> AppResult<Vec<String>> {
    actor.require(crate::domain::Perm::ManageEngineers)?;
    let mut c = db.read().await?;
    let known: Vec<String> = store::products::categories(c.conn()).await?.into_iter().map(|x| x.code).collect();
    let user = store::users::get(c.conn(), user_id).await?;
    drop(c);
    if !user.is_some_and(|u| u.roles.contains(&Role::Engineer)) {
        return Err(AppError::NotFound);
    }
    let mut list: Vec<String> = categories.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    list.sort();
    list.dedup();
    if list.iter().any(|s| !known.contains(s)) {
        return Err(AppError::one("categories", "error.unknown_category"));
    }
    let now = Utc::now();
    let mut tx = db.begin().await?;
    store::work_orders::set_skills(tx.conn(), user_id, &list).await?;
    audit::record::<(), _>(&mut tx, actor, now, "skills", "user", &user_id.to_string(), None, Some(&list)).await?;
    tx.commit().await?;
    Ok(list)
}

pub async fn engineers(db: &Db, actor: &Actor) -> AppResult<Vec<store::work_orders::Engineer>> {
    if parties(actor, None).is_empty() {
        return Err(AppError::Forbidden);
    }
    let start = midnight(today());
    let mut c = db.read().await?;
    Ok(store::work_orders::engineers(c.conn(), (start, start + Duration::days(1))).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_read_local_time_in_shanghai() {
        let mut e = vec![];
        let t = parse_instant("x", "2026-12-02T14:00", &mut e).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-02T06:00:00+00:00");
        let t = parse_instant("x", "2026-12-02T14:00:00+08:00", &mut e).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-02T06:00:00+00:00");
        assert!(e.is_empty());
        assert_eq!(parse_instant("x", "tomorrow", &mut e), None);
        assert_eq!(e.len(), 1);
        assert_eq!(parse_instant("x", " ", &mut e), None);
    }

    #[test]
    fn files_are_recognised_by_their_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"<svg onload=alert(1)>"), None);
        let mut e = vec![];
        assert!(signature_png("data:image/png;base64,PHN2Zz4=", &mut e).is_none(), "an SVG posing as PNG");
        assert_eq!(e[0].field, "signature");
    }
}
