//! Complaints, suggestions and praise (R5): registration from any channel, routing by
//! severity (major → quality department, general → service), the policy's two promises
//! (acknowledge, answer) on SLA clocks, every step recorded, disputes referred to the
//! inspection body, suggestions forwarded, and the year's "no major complaint" objective.
//!
//! Which step may follow which, and who may take it, is `rules::complaint::next`; this module
//! validates input, applies the step in one transaction with its event and audit entry, and
//! tells the handling department by e-mail.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rules::FieldError;
use rules::complaint::{
    self as flow, Action, AnswerChannel, ClockFacts, ComplaintPolicy, Conclusion, Context, Department, Kind, Party,
    Severity, Status,
};
use rules::sla::{ClockResult, Pause};
use serde::{Deserialize, Serialize};

use super::sla::Sla;
use super::work_orders::{local_day, midnight, today};
use super::{Actor, Idem, audit};
use crate::db::{Db, Tx};
use crate::domain::{Perm, Role};
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::store;
use crate::store::complaints::{Complaint, Event, ListFilter};
use crate::store::outbox::NewMessage;

const MAX_TEXT: usize = 4000;

// ------------------------------------------------------------------ policy

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PolicyView {
    pub version: i64,
    /// `rules::complaint::ComplaintPolicy`: calendar, general and major {department, acknowledge, answer}, major_per_year.
    #[schema(value_type = Object)]
    pub policy: ComplaintPolicy,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

fn parse_policy(p: store::complaints::StoredPolicy) -> AppResult<PolicyView> {
    let policy = serde_json::from_str(&p.policy_json)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored complaint policy v{}: {e}", p.version)))?;
    Ok(PolicyView { version: p.version, policy, created_at: p.created_at, created_by: p.created_by })
}

/// Writes the built-in policy as version 1 the first time.
pub async fn seed_policy(db: &Db) -> AppResult<()> {
    let json = serde_json::to_string(&flow::builtin_policy()).map_err(anyhow::Error::from)?;
    let mut tx = db.begin().await?;
    store::complaints::insert_policy(tx.conn(), 1, &json, Utc::now(), "system").await?;
    tx.commit().await?;
    Ok(())
}

async fn latest_policy(c: crate::db::Conn<'_>) -> AppResult<PolicyView> {
    match store::complaints::latest_policy(c).await? {
        Some(p) => parse_policy(p),
        None => Err(AppError::Internal(anyhow::anyhow!("the complaint policy was not seeded"))),
    }
}

pub async fn policy(db: &Db, actor: &Actor) -> AppResult<PolicyView> {
    actor.require(Perm::Feedback)?;
    let mut c = db.read().await?;
    latest_policy(c.conn()).await
}

async fn policy_version(c: crate::db::Conn<'_>, version: i64) -> AppResult<ComplaintPolicy> {
    let p = store::complaints::policy(c, version).await?.ok_or(AppError::NotFound)?;
    Ok(parse_policy(p)?.policy)
}

/// Saves `policy` as the version after `version` (409 when someone saved first).
pub async fn save_policy(
    db: &Db,
    sla: &Sla,
    actor: &Actor,
    policy: &ComplaintPolicy,
    version: i64,
) -> AppResult<PolicyView> {
    actor.require(Perm::ManageCare)?;
    AppError::check(policy.validate())?;
    if let Some(code) = &policy.calendar
        && let Err(AppError::NotFound) = super::calendars::resolve(db, &sla.calendars, code).await
    {
        return Err(AppError::one("calendar", "complaint.error.calendar"));
    }
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = latest_policy(tx.conn()).await?;
    if before.version != version {
        return Err(AppError::Conflict("error.stale"));
    }
    let json = serde_json::to_string(policy).map_err(anyhow::Error::from)?;
    if !store::complaints::insert_policy(tx.conn(), version + 1, &json, now, &actor.label).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    let after = latest_policy(tx.conn()).await?;
    let id = after.version.to_string();
    audit::record(&mut tx, actor, now, "update", "complaint_policy", &id, Some(&before.policy), Some(&after.policy))
        .await?;
    tx.commit().await?;
    Ok(after)
}

// ------------------------------------------------------------------ who acts

/// The capacities an actor acts in, strongest first.
pub fn parties(actor: &Actor) -> Vec<Party> {
    let has = |r: Role| actor.roles.contains(&r);
    let mut out = vec![];
    if has(Role::Admin) || has(Role::GeneralManager) || has(Role::ServiceManager) {
        out.push(Party::Manager);
    }
    if has(Role::Quality) {
        out.push(Party::Quality);
    }
    if has(Role::Dispatcher) {
        out.push(Party::Office);
    }
    out
}

fn context(k: &Complaint) -> AppResult<(Kind, Severity, Status)> {
    let bad = || AppError::Internal(anyhow::anyhow!("complaint {} has an unknown kind, severity or status", k.id));
    Ok((
        Kind::parse(&k.kind).ok_or_else(bad)?,
        Severity::parse(&k.severity).ok_or_else(bad)?,
        Status::parse(&k.status).ok_or_else(bad)?,
    ))
}

/// The actions this actor may take on `k` now.
pub fn available(actor: &Actor, k: &Complaint) -> Vec<Action> {
    let Ok((kind, severity, status)) = context(k) else { return vec![] };
    let cx = Context { kind, severity, new_severity: None };
    let mut out: Vec<Action> = vec![];
    for p in parties(actor) {
        for a in flow::available(status, p, cx) {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    out.sort_by_key(|a| Action::ALL.iter().position(|x| x == a));
    out
}

fn visible(actor: &Actor, k: &Complaint) -> bool {
    super::archive::visible(actor, &k.region_code)
}

// ------------------------------------------------------------------ clocks

/// A promise to the customer as a page shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Deadline {
    /// acknowledge | answer
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// running | warning | paused | breached | met | met_late
    pub state: String,
    pub due_at: Option<DateTime<Utc>>,
    pub left_minutes: i64,
    pub percent_used: f64,
    pub basis: Option<String>,
}

impl Deadline {
    pub fn name(&self, locale: &str) -> &str {
        if locale.starts_with("en") { &self.name_en } else { &self.name_zh }
    }

    pub fn is_breach(&self) -> bool {
        matches!(self.state.as_str(), "breached" | "met_late")
    }
}

/// Periods at the inspection body, from the steps taken.
fn pauses(events: &[Event]) -> Vec<Pause> {
    let mut out: Vec<Pause> = vec![];
    for e in events {
        if e.action == Action::Refer.code() {
            out.push(Pause { reason: flow::WAITING_INSPECTION.into(), from: e.at, to: None });
        } else if e.action == Action::Finding.code()
            && let Some(open) = out.iter_mut().rev().find(|p| p.to.is_none())
        {
            open.to = Some(e.at);
        }
    }
    out
}

async fn evaluate(
    db: &Db,
    sla: &Sla,
    policy: &ComplaintPolicy,
    k: &Complaint,
    events: &[Event],
    now: DateTime<Utc>,
) -> AppResult<Option<[ClockResult; 2]>> {
    if k.kind != Kind::Complaint.code() {
        return Ok(None);
    }
    let severity = Severity::parse(&k.severity).unwrap_or(Severity::General);
    let code = match &policy.calendar {
        Some(c) => c.clone(),
        None => sla.in_force(db).await?.default_calendar.clone(),
    };
    let cal = sla.calendar(db, &code).await?;
    let pauses = pauses(events);
    let facts = ClockFacts {
        received_at: k.received_at,
        acknowledged_at: k.acknowledged_at,
        answered_at: k.answered_at,
        pauses: &pauses,
    };
    Ok(Some(flow::clocks(policy.terms(severity), &cal.compiled, &facts, now)))
}

fn deadlines(policy: &ComplaintPolicy, k: &Complaint, clocks: Option<[ClockResult; 2]>) -> Vec<Deadline> {
    let Some(clocks) = clocks else { return vec![] };
    let terms = policy.terms(Severity::parse(&k.severity).unwrap_or(Severity::General));
    let cancelled = k.status == Status::Cancelled.code();
    [&terms.acknowledge, &terms.answer]
        .into_iter()
        .zip(clocks)
        .filter(|_| !cancelled)
        .map(|(t, r)| Deadline {
            code: t.code.clone(),
            name_zh: t.name_zh.clone(),
            name_en: t.name_en.clone(),
            state: super::sla::state_code(r.state).to_owned(),
            due_at: r.due_at,
            left_minutes: r.left_minutes,
            percent_used: r.percent_used,
            basis: t.basis.clone(),
        })
        .collect()
}

// ------------------------------------------------------------------ registration

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewComplaintInput {
    /// complaint | suggestion | praise
    #[serde(default)]
    pub kind: String,
    /// general (default) | major; suggestions and praise are always general
    #[serde(default)]
    pub severity: String,
    /// hotline | letter | email | web | walk_in | visit
    #[serde(default)]
    pub channel: String,
    pub customer_id: Option<i64>,
    pub unit_id: Option<i64>,
    /// The work order it is about; its customer, unit and engineer are taken when not given.
    pub order_id: Option<i64>,
    /// The engineer it is about (praise is credited to them).
    pub engineer_id: Option<i64>,
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub contact_phone: String,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub description: String,
    /// When it reached us (a letter received yesterday); default now, never in the future.
    pub received_at: Option<DateTime<Utc>>,
}

/// A record with its steps, promises and what the caller may do next.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ComplaintDetail {
    pub complaint: Complaint,
    pub number: String,
    pub events: Vec<Event>,
    pub deadlines: Vec<Deadline>,
    /// Actions the caller may take now.
    pub actions: Vec<String>,
    /// The policy version whose deadlines apply.
    pub policy_version: i64,
}

struct Links {
    customer_id: Option<i64>,
    unit_id: Option<i64>,
    order_id: Option<i64>,
    engineer_id: Option<i64>,
    region_code: Option<String>,
}

/// Checks the customer, unit, order and engineer named, and fills what the order implies.
async fn links(c: &mut Tx, actor: &Actor, input: &NewComplaintInput, errors: &mut Vec<FieldError>) -> AppResult<Links> {
    let mut l = Links {
        customer_id: input.customer_id,
        unit_id: input.unit_id,
        order_id: input.order_id,
        engineer_id: input.engineer_id,
        region_code: None,
    };
    if let Some(id) = input.order_id {
        match store::work_orders::get(c.conn(), id).await? {
            Some(o) if super::archive::visible(actor, &o.region_code) => {
                if l.customer_id.is_some_and(|c| c != o.customer_id) {
                    errors.push(field_error("order_id", "complaint.error.order_of_other_customer"));
                }
                l.customer_id = Some(o.customer_id);
                l.unit_id = l.unit_id.or(o.unit_id);
                l.engineer_id = l.engineer_id.or(o.engineer_id);
                l.region_code = o.region_code.clone();
            }
            _ => errors.push(field_error("order_id", "complaint.error.no_order")),
        }
    }
    if let Some(id) = input.unit_id {
        match store::units::get(c.conn(), id).await? {
            Some(u) if l.customer_id.is_none_or(|c| c == u.customer_id) => l.customer_id = Some(u.customer_id),
            Some(_) => errors.push(field_error("unit_id", "complaint.error.unit_of_other_customer")),
            None => errors.push(field_error("unit_id", "complaint.error.no_unit")),
        }
    }
    if let Some(id) = l.customer_id {
        match store::customers::get(c.conn(), id).await? {
            Some(cu) if super::archive::visible(actor, &cu.region_code) => {
                l.region_code = cu.region_code.or(l.region_code);
            }
            _ => errors.push(field_error("customer_id", "complaint.error.no_customer")),
        }
    }
    if let Some(id) = input.engineer_id {
        let ok = store::users::get(c.conn(), id).await?.is_some_and(|u| u.roles.contains(&Role::Engineer));
        if !ok {
            errors.push(field_error("engineer_id", "complaint.error.no_engineer"));
        }
    }
    if l.region_code.is_none() {
        l.region_code = actor.region_code.clone();
    }
    Ok(l)
}

fn coded<T>(field: &str, s: &str, parse: fn(&str) -> Option<T>, errors: &mut Vec<FieldError>) -> Option<T> {
    if s.trim().is_empty() {
        errors.push(field_error(field, "error.required"));
        return None;
    }
    let v = parse(s);
    if v.is_none() {
        errors.push(field_error(field, "complaint.error.unknown_value"));
    }
    v
}

/// Registers a complaint, suggestion or praise; the handling department is told by e-mail.
pub async fn create(
    db: &Db,
    sla: &Sla,
    actor: &Actor,
    input: &NewComplaintInput,
    idem: Option<&Idem<'_>>,
) -> AppResult<ComplaintDetail> {
    use crate::domain::archive::{optional, required};
    actor.require(Perm::Feedback)?;
    let now = Utc::now();
    let mut errors = vec![];
    let kind = coded("kind", &input.kind, Kind::parse, &mut errors);
    let severity = if input.severity.trim().is_empty() {
        Some(Severity::General)
    } else {
        coded("severity", &input.severity, Severity::parse, &mut errors)
    };
    if kind.is_some_and(|k| k != Kind::Complaint) && severity == Some(Severity::Major) {
        errors.push(field_error("severity", "complaint.error.major_only_complaints"));
    }
    let channel = coded("channel", &input.channel, rules::work_order::Channel::parse, &mut errors);
    let subject = required("subject", &input.subject, 200, &mut errors);
    let description = optional("description", &input.description, MAX_TEXT, &mut errors);
    let contact_name = optional("contact_name", &input.contact_name, 64, &mut errors);
    let contact_phone = crate::domain::user::parse_phone("contact_phone", &input.contact_phone, &mut errors);
    if input.customer_id.is_none() && input.order_id.is_none() && input.unit_id.is_none() && contact_phone.is_none() {
        errors.push(field_error("contact_phone", "complaint.error.who"));
    }
    let received_at = input.received_at.unwrap_or(now);
    if received_at > now + chrono::Duration::minutes(5) {
        errors.push(field_error("received_at", "complaint.error.future"));
    }
    let mut tx = db.begin().await?;
    let l = links(&mut tx, actor, input, &mut errors).await?;
    AppError::check(errors)?;
    let (Some(kind), Some(severity), Some(channel)) = (kind, severity, channel) else {
        return Err(AppError::Internal(anyhow::anyhow!("validated input without values")));
    };
    let policy = latest_policy(tx.conn()).await?;
    let department = match kind {
        Kind::Complaint => policy.policy.terms(severity).department,
        _ => Department::Service,
    };
    let mut k = Complaint {
        id: 0,
        kind: kind.code().into(),
        severity: severity.code().into(),
        status: Status::Open.code().into(),
        department: department.code().into(),
        channel: channel.code().into(),
        customer_id: l.customer_id,
        customer_name: None,
        unit_id: l.unit_id,
        unit_serial: None,
        order_id: l.order_id,
        engineer_id: l.engineer_id,
        engineer_name: None,
        region_code: l.region_code,
        contact_name,
        contact_phone,
        subject,
        description,
        policy_version: policy.version,
        received_at,
        ack_due_at: None,
        answer_due_at: None,
        acknowledged_at: None,
        answered_at: None,
        answer_channel: None,
        answered_on: None,
        answer_text: String::new(),
        accepted: None,
        root_cause: String::new(),
        inspection_body: String::new(),
        conclusion: None,
        forwarded_to: None,
        valuable: false,
        adopted: None,
        closed_at: None,
        version: 1,
        created_by: actor.user_id,
        created_at: now,
    };
    if let Some([ack, answer]) = evaluate(db, sla, &policy.policy, &k, &[], now).await? {
        k.ack_due_at = ack.due_at;
        k.answer_due_at = answer.due_at;
    }
    let id = store::complaints::insert(tx.conn(), &k).await?;
    let event = Event {
        id: 0,
        complaint_id: id,
        action: "register".into(),
        at: now,
        user_id: actor.user_id,
        user_label: actor.label.clone(),
        status_to: k.status.clone(),
        channel: Some(k.channel.clone()),
        on_day: None,
        text: String::new(),
        detail: format!("{}:{}", k.severity, k.department),
    };
    store::complaints::insert_event(tx.conn(), &event).await?;
    let created = store::complaints::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record::<(), _>(&mut tx, actor, now, "create", "complaint", &id.to_string(), None, Some(&created)).await?;
    notify_department(&mut tx, &created, now).await?;
    let events = store::complaints::events(tx.conn(), id).await?;
    let detail = detail_of(db, sla, actor, &policy.policy, created, events, now).await?;
    if let Some(idem) = idem {
        super::remember(&mut tx, actor, idem, 201, &detail).await?;
    }
    tx.commit().await?;
    Ok(detail)
}

/// E-mails the handling department's staff (of the record's region, or of every region) about
/// a new record; sent later from the outbox.
async fn notify_department(tx: &mut Tx, k: &Complaint, now: DateTime<Utc>) -> AppResult<()> {
    let role = match Department::parse(&k.department) {
        Some(Department::Quality) => Role::Quality,
        _ => Role::ServiceManager,
    };
    let (kind, severity) = (Kind::parse(&k.kind), Severity::parse(&k.severity));
    let subject = format!(
        "新{}（{}）/ New {} ({}) {}：{}",
        kind.map(Kind::name_zh).unwrap_or_default(),
        severity.map(Severity::name_zh).unwrap_or_default(),
        kind.map(Kind::name_en).unwrap_or_default(),
        severity.map(Severity::name_en).unwrap_or_default(),
        k.number(),
        k.subject
    );
    let staff = store::sla::staff(tx.conn()).await?;
    mail_roles(tx, &staff, k, &[role], "complaint_registered", &subject, now).await
}

/// Tells the managers once when a complaint breaks a promise (the acknowledgement or the
/// answer is overdue): the service manager, and the quality department for a major one.
/// Runs with the SLA sweeper on every instance; a claim makes each escalation happen once.
pub async fn escalate(db: &Db, now: DateTime<Utc>) -> AppResult<usize> {
    let mut c = db.read().await?;
    let due = store::complaints::overdue_unescalated(c.conn(), now, 200).await?;
    // Read once for the pass, not once per complaint.
    let staff = if due.is_empty() { vec![] } else { store::sla::staff(c.conn()).await? };
    drop(c);
    let mut done = 0;
    for o in due {
        let mut tx = db.begin().await?;
        if !store::complaints::claim_escalation(tx.conn(), o.id, &o.target, now).await? {
            continue;
        }
        let Some(k) = store::complaints::get(tx.conn(), o.id).await? else { continue };
        let mut roles = vec![Role::ServiceManager];
        if k.department == Department::Quality.code() {
            roles.push(Role::Quality);
        }
        let what = if o.target == flow::ACKNOWLEDGE {
            "受理联系已超期 / acknowledgement overdue"
        } else {
            "答复已超期 / answer overdue"
        };
        let subject = format!("投诉{what} {}：{}", k.number(), k.subject);
        mail_roles(&mut tx, &staff, &k, &roles, "complaint_overdue", &subject, now).await?;
        let event = Event {
            id: 0,
            complaint_id: k.id,
            action: "escalate".into(),
            at: now,
            user_id: None,
            user_label: "system".into(),
            status_to: k.status.clone(),
            channel: None,
            on_day: None,
            text: String::new(),
            detail: o.target.clone(),
        };
        store::complaints::insert_event(tx.conn(), &event).await?;
        tx.commit().await?;
        done += 1;
    }
    Ok(done)
}

/// Queues an e-mail about `k` to the active staff with one of `roles`, of its region or of none.
async fn mail_roles(
    tx: &mut Tx,
    staff: &[store::sla::Staff],
    k: &Complaint,
    roles: &[Role],
    event: &'static str,
    subject: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let due = k
        .answer_due_at
        .map(|t| {
            format!("\n答复期限 / answer by: {}", t.with_timezone(&chrono_tz::Asia::Shanghai).format("%Y-%m-%d %H:%M"))
        })
        .unwrap_or_default();
    let body = format!(
        "{subject}\n客户 / customer: {}\n{}{due}\n\n{}/complaints/{}",
        k.customer_name.clone().unwrap_or_else(|| k.contact_name.clone()),
        k.description,
        super::notifications::BASE,
        k.id
    );
    let to: Vec<&str> = staff
        .iter()
        .filter(|s| roles.iter().any(|r| s.role == r.code()))
        .filter(|s| s.region_code.is_none() || s.region_code == k.region_code)
        .filter_map(|s| s.email.as_deref().filter(|e| !e.is_empty()))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    let msgs: Vec<NewMessage<'_>> = to
        .into_iter()
        .filter(|e| seen.insert(*e))
        .map(|recipient| NewMessage {
            event,
            order_id: None,
            channel: "email",
            recipient,
            webhook_id: None,
            subject,
            body: &body,
        })
        .collect();
    if !msgs.is_empty() {
        let backend = tx.backend();
        store::outbox::enqueue(tx.conn(), backend, &msgs, now).await?;
    }
    Ok(())
}

async fn detail_of(
    db: &Db,
    sla: &Sla,
    actor: &Actor,
    policy: &ComplaintPolicy,
    complaint: Complaint,
    events: Vec<Event>,
    now: DateTime<Utc>,
) -> AppResult<ComplaintDetail> {
    let clocks = evaluate(db, sla, policy, &complaint, &events, now).await?;
    let deadlines = deadlines(policy, &complaint, clocks);
    let actions = available(actor, &complaint).into_iter().map(|a| a.code().to_owned()).collect();
    Ok(ComplaintDetail {
        number: complaint.number(),
        policy_version: complaint.policy_version,
        complaint,
        events,
        deadlines,
        actions,
    })
}

async fn visible_complaint(c: crate::db::Conn<'_>, actor: &Actor, id: i64) -> AppResult<Complaint> {
    actor.require(Perm::Feedback)?;
    let k = store::complaints::get(c, id).await?.ok_or(AppError::NotFound)?;
    if !visible(actor, &k) {
        return Err(AppError::NotFound);
    }
    Ok(k)
}

pub async fn get(db: &Db, sla: &Sla, actor: &Actor, id: i64) -> AppResult<ComplaintDetail> {
    let mut c = db.read().await?;
    let k = visible_complaint(c.conn(), actor, id).await?;
    let events = store::complaints::events(c.conn(), id).await?;
    let policy = policy_version(c.conn(), k.policy_version).await?;
    drop(c);
    detail_of(db, sla, actor, &policy, k, events, Utc::now()).await
}

// ------------------------------------------------------------------ steps

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ActionInput {
    /// contact | investigate | reclassify | answer | accept | reject | refer | finding | forward | conclude | acknowledge | cancel
    #[serde(default)]
    pub action: String,
    /// The version read (409 when it changed meanwhile).
    pub version: i64,
    /// The note, the answer's text, the finding, the reason (required where the action needs words).
    #[serde(default)]
    pub text: String,
    /// contact, answer: letter | phone | email | on_site
    #[serde(default)]
    pub channel: String,
    /// answer: the day the letter went or the call was made (default today)
    pub on_day: Option<NaiveDate>,
    /// reclassify: general | major
    #[serde(default)]
    pub severity: String,
    /// investigate: the root cause once known
    #[serde(default)]
    pub root_cause: String,
    /// refer: the inspection body named in the contract
    #[serde(default)]
    pub inspection_body: String,
    /// finding: conforming | nonconforming
    #[serde(default)]
    pub conclusion: String,
    /// forward: quality | service | sales
    #[serde(default)]
    pub department: String,
    /// forward: a valuable suggestion (counted in the suggestions forwarded)
    pub valuable: Option<bool>,
    /// conclude: whether the suggestion was adopted
    pub adopted: Option<bool>,
}

/// Takes one step on a record, in one transaction with its event and audit entry.
pub async fn act(db: &Db, sla: &Sla, actor: &Actor, id: i64, input: &ActionInput) -> AppResult<ComplaintDetail> {
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = visible_complaint(tx.conn(), actor, id).await?;
    let (kind, severity, status) = context(&before)?;
    let Some(action) = Action::parse(&input.action) else {
        return Err(AppError::one(
            "action",
            if input.action.trim().is_empty() { "error.required" } else { "complaint.error.unknown_value" },
        ));
    };
    let mut errors = vec![];
    let text = crate::domain::archive::optional("text", &input.text, MAX_TEXT, &mut errors);
    let need_text = |errors: &mut Vec<FieldError>| {
        if text.is_empty() {
            errors.push(field_error("text", "error.required"));
        }
    };
    let mut k = before.clone();
    let mut channel = None;
    let mut on_day = None;
    let mut detail = String::new();
    let mut new_severity = None;
    match action {
        Action::Contact => {
            channel = coded("channel", &input.channel, AnswerChannel::parse, &mut errors);
        }
        Action::Investigate => {
            need_text(&mut errors);
            let cause = crate::domain::archive::optional("root_cause", &input.root_cause, MAX_TEXT, &mut errors);
            if !cause.is_empty() {
                detail = cause.clone();
                k.root_cause = cause;
            }
        }
        Action::Reclassify => {
            need_text(&mut errors);
            new_severity = coded("severity", &input.severity, Severity::parse, &mut errors);
            if new_severity == Some(severity) {
                errors.push(field_error("severity", "complaint.error.same_severity"));
            }
        }
        Action::Answer => {
            need_text(&mut errors);
            channel = coded("channel", &input.channel, AnswerChannel::parse, &mut errors);
            let day = input.on_day.unwrap_or_else(today);
            if day > today() {
                errors.push(field_error("on_day", "complaint.error.future"));
            } else if day < local_day(before.received_at) {
                errors.push(field_error("on_day", "complaint.error.before_received"));
            }
            on_day = Some(day);
        }
        Action::Reject | Action::Cancel => need_text(&mut errors),
        Action::Refer => {
            let body = crate::domain::archive::required("inspection_body", &input.inspection_body, 200, &mut errors);
            detail = body.clone();
            k.inspection_body = body;
        }
        Action::Finding => {
            need_text(&mut errors);
            if let Some(c) = coded("conclusion", &input.conclusion, Conclusion::parse, &mut errors) {
                k.conclusion = Some(c.code().into());
                detail = c.code().into();
            }
        }
        Action::Forward => {
            if let Some(d) = coded("department", &input.department, Department::parse, &mut errors) {
                k.forwarded_to = Some(d.code().into());
                detail = d.code().into();
            }
            k.valuable = input.valuable.unwrap_or(false);
        }
        Action::Conclude => match input.adopted {
            Some(a) => {
                k.adopted = Some(a);
                detail = if a { "adopted" } else { "not_adopted" }.into();
            }
            None => errors.push(field_error("adopted", "error.required")),
        },
        Action::Accept | Action::Acknowledge => {}
    }
    // Who may act comes after the input's own checks so a user sees every problem at once.
    let cx = Context { kind, severity, new_severity };
    let mut outcome = Err(None);
    for p in parties(actor) {
        match flow::next(status, action, p, cx) {
            Ok(s) => {
                outcome = Ok(s);
                break;
            }
            Err(r) if outcome.as_ref().is_err_and(Option::is_none) => outcome = Err(Some(r)),
            Err(_) => {}
        }
    }
    let to = match outcome {
        Ok(s) => s,
        Err(Some(r)) => {
            errors.push(r.refusal_error());
            return Err(AppError::Validation(errors));
        }
        Err(None) => return Err(AppError::Forbidden),
    };
    AppError::check(errors)?;
    if k.version != input.version {
        return Err(AppError::Conflict("error.stale"));
    }
    k.status = to.code().into();
    let mut policy = policy_version(tx.conn(), k.policy_version).await?;
    match action {
        Action::Contact => {
            k.acknowledged_at = k.acknowledged_at.or(Some(now));
        }
        Action::Answer => {
            // The promise was kept by the first answer; a later one (after the customer did
            // not accept) replaces the text but not the time the promise was met.
            k.answered_at = k.answered_at.or(Some(now));
            k.answer_channel = channel.map(|c| c.code().into());
            k.answered_on = on_day;
            k.answer_text = text.clone();
            k.accepted = None;
        }
        Action::Accept => k.accepted = Some(true),
        Action::Reject => k.accepted = Some(false),
        Action::Reclassify => {
            if let Some(s) = new_severity {
                // A new severity takes the deadlines of the policy in force now.
                let latest = latest_policy(tx.conn()).await?;
                k.policy_version = latest.version;
                policy = latest.policy;
                k.severity = s.code().into();
                k.department = policy.terms(s).department.code().into();
                detail = format!("{}→{}:{}", severity.code(), s.code(), k.department);
            }
        }
        _ => {}
    }
    if to.is_final() {
        k.closed_at = Some(now);
    }
    let event = Event {
        id: 0,
        complaint_id: id,
        action: action.code().into(),
        at: now,
        user_id: actor.user_id,
        user_label: actor.label.clone(),
        status_to: k.status.clone(),
        channel: channel.map(|c| c.code().into()),
        on_day,
        text,
        detail,
    };
    let mut events = store::complaints::events(tx.conn(), id).await?;
    events.push(event.clone());
    if let Some([ack, answer]) = evaluate(db, sla, &policy, &k, &events, now).await? {
        k.ack_due_at = ack.due_at;
        k.answer_due_at = answer.due_at;
    }
    if !store::complaints::save(tx.conn(), &k).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    store::complaints::insert_event(tx.conn(), &event).await?;
    let after = store::complaints::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record(&mut tx, actor, now, action.code(), "complaint", &id.to_string(), Some(&before), Some(&after))
        .await?;
    if action == Action::Reclassify && after.department != before.department {
        notify_department(&mut tx, &after, now).await?;
    }
    let events = store::complaints::events(tx.conn(), id).await?;
    tx.commit().await?;
    detail_of(db, sla, actor, &policy, after, events, now).await
}

// ------------------------------------------------------------------ lists and figures

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Not closed or cancelled.
    Open,
    /// Open complaints past a promise.
    Overdue,
    All,
}

impl View {
    pub fn parse(s: &str) -> Option<View> {
        match s.trim() {
            "" | "open" => Some(View::Open),
            "overdue" => Some(View::Overdue),
            "all" => Some(View::All),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            View::Open => "open",
            View::Overdue => "overdue",
            View::All => "all",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub view: Option<View>,
    pub kind: Option<Kind>,
    pub severity: Option<Severity>,
    pub department: Option<Department>,
    pub customer_id: Option<i64>,
    pub order_id: Option<i64>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// `next_before` of the previous page.
    pub before: Option<String>,
    pub limit: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page {
    pub items: Vec<Complaint>,
    /// Pass as `before` for the next page; absent on the last.
    pub next_before: Option<String>,
}

fn cursor(s: &str) -> AppResult<(DateTime<Utc>, i64)> {
    let bad = || AppError::one("before", "error.bad_parameter");
    let (at, id) = s.split_once('~').ok_or_else(bad)?;
    let at = DateTime::parse_from_rfc3339(at).map_err(|_| bad())?.with_timezone(&Utc);
    Ok((at, id.parse().map_err(|_| bad())?))
}

pub async fn list(db: &Db, actor: &Actor, q: &ListQuery) -> AppResult<Page> {
    actor.require(Perm::Feedback)?;
    let limit = q.limit.clamp(1, 200);
    let view = q.view.unwrap_or(View::Open);
    let f = ListFilter {
        kind: q.kind.map(|k| k.code().into()),
        severity: q.severity.map(|s| s.code().into()),
        department: q.department.map(|d| d.code().into()),
        open: view == View::Open,
        overdue_at: (view == View::Overdue).then(Utc::now),
        customer_id: q.customer_id,
        order_id: q.order_id,
        region: super::archive::region_scope(actor),
        received_from: q.from.map(midnight),
        received_to: q.to.and_then(|d| d.succ_opt()).map(midnight),
        before: q.before.as_deref().filter(|s| !s.is_empty()).map(cursor).transpose()?,
        limit: limit + 1,
    };
    let mut c = db.read().await?;
    let mut items = store::complaints::list(c.conn(), &f).await?;
    let next_before = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|k| format!("{}~{}", k.received_at.to_rfc3339(), k.id))
    } else {
        None
    };
    Ok(Page { items, next_before })
}

/// The year's "no major complaint" objective and the year's figures.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Objective {
    pub year: i32,
    /// Major complaints received in the year (company time) and not cancelled.
    pub major: u32,
    pub allowed: u32,
    pub met: bool,
    pub basis: String,
    pub policy_version: i64,
    pub summary: store::complaints::Summary,
}

pub async fn objective(db: &Db, actor: &Actor, year: Option<i32>) -> AppResult<Objective> {
    actor.require(Perm::Feedback)?;
    let year = year.unwrap_or_else(|| today().year());
    let start = NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(|| AppError::one("year", "error.bad_parameter"))?;
    let end = NaiveDate::from_ymd_opt(year + 1, 1, 1).ok_or_else(|| AppError::one("year", "error.bad_parameter"))?;
    let (from, to) = (midnight(start), midnight(end));
    let mut c = db.read().await?;
    let policy = latest_policy(c.conn()).await?;
    // The objective is the company's: every region counts.
    let major = store::complaints::count_major(c.conn(), from, to).await?;
    let summary = store::complaints::summary(c.conn(), from, to, Utc::now()).await?;
    let o = flow::major_objective(year, u32::try_from(major).unwrap_or(u32::MAX), policy.policy.major_per_year);
    Ok(Objective {
        year,
        major: o.count,
        allowed: o.allowed,
        met: o.met,
        basis: flow::OBJECTIVE_BASIS.into(),
        policy_version: policy.version,
        summary,
    })
}

/// The customer's records, newest first, for the time line.
pub async fn of_customer(db: &Db, customer_id: i64) -> AppResult<Vec<Complaint>> {
    let mut c = db.read().await?;
    let f = ListFilter { customer_id: Some(customer_id), limit: 50, ..ListFilter::default() };
    Ok(store::complaints::list(c.conn(), &f).await?)
}
