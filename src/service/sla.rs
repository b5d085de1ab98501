//! Service clocks (R4, RULES §5): every order carries one clock per promise of the SLA policy
//! that matches it (first reply, on-site arrival, resolution, and whatever a company adds).
//!
//! - A new order gets its clocks in the intake's transaction ([`Sla::new_clocks`]).
//! - Every order change re-evaluates them in its own transaction ([`Sla::on_action`]):
//!   milestones stop clocks, quotes, approvals and recorded waits pause them, an approved
//!   extension moves their deadline, cancelling ends them.
//! - A sweeper in every instance ([`Sla::sweep`]) looks only at clocks whose `next_check_at`
//!   has come (an indexed column), records warnings and breaches and sends each escalation of
//!   the policy's chain once: the step's row is the proof that it was sent, and on PostgreSQL
//!   the clocks are claimed with `FOR UPDATE SKIP LOCKED`, so several instances share the work.
//!
//! Policies are data: the built-ins of `rules::sla` (version 1) and stored versions, the
//! latest of a code in force. A clock keeps the policy version it started with, so a later
//! edit never changes a promise already made, and every figure cites the version.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Utc};
use rules::FieldError;
use rules::sla::{self, Clock, ClockResult, ClockState, Milestone, OrderFacts, Pause, SlaPolicy, SlaTarget};
use rules::work_order::{Action, BreachCause, Status};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::calendars::{CalendarCache, Resolved};
use super::notifications::Outgoing;
use super::{Actor, Idem, audit};
use crate::db::{Db, Tx};
use crate::domain::{Perm, Role};
use crate::error::{AppError, AppResult};
use crate::i18n::{field_error, tr_args};
use crate::store;
use crate::store::outbox::NewMessage;
use crate::store::sla::{ClockRow, PauseRow};
use crate::store::work_orders::WorkOrder;

/// The company's calendar when neither the policy nor the region names one (setting `sla_calendar`).
pub const DEFAULT_CALENDAR: &str = "cn-standard";
/// How long an instance answers from the policies in force it read; a save on this instance
/// drops them at once, another instance may use the previous ones for up to this long.
const CACHE_TTL: StdDuration = StdDuration::from_secs(5);
/// Clocks one sweep claims (one transaction).
pub const SWEEP_BATCH: i64 = 500;
const NOTE_MAX: usize = 500;
/// Targets one policy may set (each is a clock on every order; the intake writes 64 orders' at once).
pub const MAX_TARGETS: usize = 16;

/// Pause reasons a user may record (the flow adds `waiting_customer` for quotes and
/// `waiting_approval` for approvals itself).
pub const PAUSE_REASONS: [&str; 3] =
    [sla::reasons::WAITING_PARTS, sla::reasons::WAITING_CUSTOMER, sla::reasons::WAITING_THIRD_PARTY];
pub const WAITING_APPROVAL: &str = "waiting_approval";

/// The policies in force and the company's default calendar.
pub struct InForce {
    pub policies: Vec<SlaPolicy>,
    pub default_calendar: String,
}

#[derive(Default)]
struct PolicyCache {
    in_force: RwLock<Option<(Arc<InForce>, Instant)>>,
    /// Versions never change once saved, so they are kept for the life of the instance.
    versions: RwLock<HashMap<(String, i64), Arc<SlaPolicy>>>,
}

/// The SLA service of one instance: its caches of policies and calendars.
#[derive(Clone)]
pub struct Sla {
    pub calendars: Arc<CalendarCache>,
    cache: Arc<PolicyCache>,
}

fn builtin(code: &str) -> Option<SlaPolicy> {
    sla::builtin_policies().into_iter().find(|p| p.code == code)
}

fn parse_stored(v: &store::sla::PolicyVersion) -> AppResult<SlaPolicy> {
    serde_json::from_str(&v.policy_json)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored SLA policy {} v{}: {e}", v.code, v.version)))
}

/// The stored state of an evaluated clock.
pub fn state_code(s: ClockState) -> &'static str {
    match s {
        ClockState::Running => "running",
        ClockState::Paused => "paused",
        ClockState::Warning => "warning",
        ClockState::Breached => "breached",
        ClockState::Met => "met",
        ClockState::MetLate => "met_late",
    }
}

pub const CANCELLED: &str = "cancelled";

fn as_pauses(rows: &[PauseRow]) -> Vec<Pause> {
    rows.iter().map(|p| Pause { reason: p.reason.clone(), from: p.from_at, to: p.to_at }).collect()
}

/// The facts of a new order that select its policy and calendar (read with the customer).
pub struct NewOrderFacts<'a> {
    pub customer_class: &'a str,
    pub contract_code: Option<&'a str>,
    pub region_calendar: Option<&'a str>,
}

/// A clock with what it means now, for pages and the API.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ClockView {
    pub target: String,
    pub name_zh: String,
    pub name_en: String,
    /// The policy and version that made the promise (`standard v1`).
    pub policy_code: String,
    pub policy_version: i64,
    /// The rule or commitment behind the target.
    pub basis: Option<String>,
    pub calendar_code: String,
    /// working | elapsed (a customer's requested time or an approved extension runs elapsed).
    pub mode: String,
    /// running | paused | warning | breached | met | met_late | cancelled
    pub state: String,
    /// What stops it: replied | arrived | completed | closed
    pub stops_at: String,
    pub started_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
    /// The customer's requested time or an approved extension, when it replaces the length.
    pub deadline: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub warn_at: Option<DateTime<Utc>>,
    pub target_minutes: i64,
    pub used_minutes: i64,
    /// Negative when overdue.
    pub left_minutes: i64,
    pub paused_minutes: i64,
    pub percent_used: f64,
    pub paused: bool,
    /// Counting right now (inside working hours, not paused, not stopped).
    pub ticking: bool,
    pub breached_at: Option<DateTime<Utc>>,
    pub breach_cause: Option<String>,
    pub breach_note: String,
}

impl ClockView {
    pub fn name(&self, locale: &str) -> &str {
        if locale.starts_with("en") && !self.name_en.is_empty() { &self.name_en } else { &self.name_zh }
    }

    pub fn is_breach(&self) -> bool {
        self.breached_at.is_some() || matches!(self.state.as_str(), "breached" | "met_late")
    }
}

/// What a change of an order means for its clocks, besides the action's milestone.
#[derive(Clone, Debug, Default)]
pub struct ClockChange {
    /// The reason of a pause the user opens ([`Action::Pause`]).
    pub pause_reason: Option<String>,
    pub note: String,
    /// An approved extension's new date.
    pub extended_to: Option<DateTime<Utc>>,
}

/// One pass of the sweeper.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SweepOutcome {
    /// Clocks looked at.
    pub clocks: usize,
    /// Warnings and escalations recorded by this pass.
    pub escalations: usize,
    /// E-mails and webhook calls queued for them.
    pub messages: usize,
}

impl Sla {
    pub fn new(calendars: Arc<CalendarCache>) -> Sla {
        Sla { calendars, cache: Arc::new(PolicyCache::default()) }
    }

    /// The policies in force: built-ins unless a stored version replaced (or switched off)
    /// their code, and the company's own.
    pub async fn in_force(&self, db: &Db) -> AppResult<Arc<InForce>> {
        if let Ok(guard) = self.cache.in_force.read()
            && let Some((f, at)) = guard.as_ref()
            && at.elapsed() < CACHE_TTL
        {
            return Ok(f.clone());
        }
        let (stored, default_calendar) = {
            let mut c = db.read().await?;
            let stored = store::sla::latest_policies(c.conn()).await?;
            let cal = store::settings::get(c.conn(), "sla_calendar").await?;
            (stored, cal.filter(|c| !c.is_empty()).unwrap_or_else(|| DEFAULT_CALENDAR.to_owned()))
        };
        let mut policies: Vec<SlaPolicy> =
            sla::builtin_policies().into_iter().filter(|b| !stored.iter().any(|s| s.code == b.code)).collect();
        for s in stored.iter().filter(|s| s.active) {
            policies.push(parse_stored(s)?);
        }
        let f = Arc::new(InForce { policies, default_calendar });
        if let Ok(mut guard) = self.cache.in_force.write() {
            *guard = Some((f.clone(), Instant::now()));
        }
        Ok(f)
    }

    fn forget_in_force(&self) {
        if let Ok(mut guard) = self.cache.in_force.write() {
            *guard = None;
        }
    }

    /// One version of a policy (stored, else the built-in as shipped).
    pub async fn policy(&self, db: &Db, code: &str, version: i64) -> AppResult<Arc<SlaPolicy>> {
        let key = (code.to_owned(), version);
        if let Some(p) = self.cache.versions.read().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(p);
        }
        let stored = {
            let mut c = db.read().await?;
            store::sla::policy_version(c.conn(), code, version).await?
        };
        let policy = match stored {
            Some(v) => parse_stored(&v)?,
            None => builtin(code)
                .filter(|b| i64::from(b.version) == version)
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("SLA policy {code} v{version} is missing")))?,
        };
        let p = Arc::new(policy);
        if let Ok(mut m) = self.cache.versions.write() {
            m.insert(key, p.clone());
        }
        Ok(p)
    }

    /// The calendar of a clock; one that no longer resolves (a typing error in a region's
    /// setting) falls back to the built-in standard rather than stopping every clock.
    pub(crate) async fn calendar(&self, db: &Db, code: &str) -> AppResult<Arc<Resolved>> {
        match super::calendars::resolve(db, &self.calendars, code).await {
            Err(AppError::NotFound) if code != DEFAULT_CALENDAR => {
                tracing::warn!(calendar = code, "SLA calendar not found; counting on {DEFAULT_CALENDAR}");
                super::calendars::resolve(db, &self.calendars, DEFAULT_CALENDAR).await
            }
            other => other,
        }
    }

    /// Whether a calendar (an engineer's own, else the company default) has working time on `day`.
    pub async fn works_on(&self, db: &Db, calendar: Option<&str>, day: chrono::NaiveDate) -> AppResult<bool> {
        let code = match calendar {
            Some(c) => c.to_owned(),
            None => self.in_force(db).await?.default_calendar.clone(),
        };
        let cal = self.calendar(db, &code).await?;
        let from = super::work_orders::midnight(day);
        Ok(cal.compiled.working_minutes(from, from + chrono::Duration::days(1)) > 0)
    }

    /// The clocks a new order starts with, and its most urgent due and warning instants.
    /// `order.id` may still be 0: the writer sets `order_id` when it has reserved the ids.
    pub async fn new_clocks(
        &self,
        db: &Db,
        order: &WorkOrder,
        f: &NewOrderFacts<'_>,
    ) -> AppResult<(Vec<ClockRow>, Option<DateTime<Utc>>, Option<DateTime<Utc>>)> {
        let in_force = self.in_force(db).await?;
        let facts = OrderFacts {
            customer_class: Some(f.customer_class),
            request_type: Some(order.kind.as_str()),
            priority: Some(order.priority.as_str()),
            contract_code: f.contract_code,
        };
        let Some(policy) = sla::select_policy(&in_force.policies, &facts) else {
            return Ok((vec![], None, None));
        };
        let calendar_code =
            policy.calendar.as_deref().or(f.region_calendar).unwrap_or(&in_force.default_calendar).to_owned();
        let cal = self.calendar(db, &calendar_code).await?;
        let now = order.created_at;
        let status = Status::parse(&order.status).unwrap_or(Status::Open);
        let mut rows = vec![];
        let mut results = vec![];
        for target in &policy.targets {
            let mut row = ClockRow {
                order_id: order.id,
                target: target.code.clone(),
                policy_code: policy.code.clone(),
                policy_version: i64::from(policy.version),
                calendar_code: calendar_code.clone(),
                started_at: now,
                stopped_at: None,
                deadline: order.requested_at.filter(|r| target.honours_requested_time() && *r > now),
                state: state_code(ClockState::Running).to_owned(),
                due_at: None,
                warn_at: None,
                next_check_at: None,
                used_seconds: 0,
                target_seconds: 0,
                breached_at: None,
                breach_cause: None,
                breach_note: String::new(),
            };
            let r = refresh(&mut row, target, &cal, &[], &policy.escalation, &[], status, now);
            results.push(r);
            rows.push(row);
        }
        let (due, warn) = most_urgent(rows.iter().zip(&results));
        Ok((rows, due, warn))
    }

    /// Re-evaluates the order's clocks inside the transaction of a change (`after` is the order
    /// as saved; `from` the status it had): stops, pauses, deadlines, breaches, and the order's
    /// most urgent instants. Call after the order is saved.
    #[allow(clippy::too_many_arguments)]
    pub async fn on_action(
        &self,
        db: &Db,
        tx: &mut Tx,
        actor: &Actor,
        after: &WorkOrder,
        from: Status,
        action: Action,
        change: &ClockChange,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let id = after.id;
        // Locks the clocks first: a sweeper holding them finishes, and what it recorded is read below.
        let mut clocks = store::sla::clocks_of(tx.conn(), id, true).await?;
        let pause = |reason: &str, source: &str, note: &str| PauseRow {
            id: 0,
            order_id: id,
            reason: reason.to_owned(),
            source: source.to_owned(),
            from_at: now,
            to_at: None,
            note: note.to_owned(),
            created_by: actor.user_id,
        };
        let mut opened = None;
        let mut close: Option<Option<&str>> = None;
        match action {
            Action::SendQuote => opened = Some(pause(sla::reasons::WAITING_CUSTOMER, "quote", "")),
            Action::DecideQuote => close = Some(Some("quote")),
            Action::RequestApproval => opened = Some(pause(WAITING_APPROVAL, "approval", "")),
            Action::DecideApproval => close = Some(Some("approval")),
            Action::Pause => {
                let reason = change.pause_reason.as_deref().unwrap_or(sla::reasons::WAITING_PARTS);
                opened = Some(pause(reason, "manual", &change.note));
            }
            Action::Resume => close = Some(Some("manual")),
            Action::Complete | Action::Close | Action::Cancel => close = Some(None),
            _ => {}
        }
        if let Some(source) = close {
            store::sla::close_pauses(tx.conn(), id, source, now).await?;
        }
        if let Some(p) = &opened {
            store::sla::open_pause(tx.conn(), p).await?;
            store::work_orders::mark_pauses(tx.conn(), id).await?;
        }
        if clocks.is_empty() {
            return Ok(());
        }
        let has_pauses = opened.is_some() || after.extras & store::work_orders::HAS_PAUSES != 0;
        let pauses = if has_pauses { store::sla::pauses_of(tx.conn(), id).await? } else { vec![] };
        let pauses = as_pauses(&pauses);
        let sent_rows = store::sla::sent_keys(tx.conn(), &[id]).await?;
        let mut results = vec![];
        for (i, row) in clocks.iter_mut().enumerate() {
            let policy = self.policy(db, &row.policy_code, row.policy_version).await?;
            let Some(target) = policy.target(&row.target) else { continue };
            let before = row.clone();
            if row.state != CANCELLED {
                if action == Action::Cancel && row.stopped_at.is_none() {
                    row.stopped_at = Some(now);
                    row.state = CANCELLED.to_owned();
                }
                if let Some(m) = action.milestone()
                    && row.stopped_at.is_none()
                    && target.stops_at() <= m
                {
                    row.stopped_at = Some(now);
                }
                // A reopened order is not resolved: its resolution runs on from its start.
                if action == Action::Reopen && target.stops_at() >= Milestone::Completed {
                    row.stopped_at = None;
                }
                if let Some(to) = change.extended_to
                    && row.stopped_at.is_none()
                    && row.breached_at.is_none()
                    && target.stops_at() > Milestone::Replied
                {
                    row.deadline = Some(to);
                }
            }
            let sent: Vec<&str> =
                sent_rows.iter().filter(|(_, t, _)| *t == row.target).map(|(_, _, k)| k.as_str()).collect();
            let cal = self.calendar(db, &row.calendar_code).await?;
            // A breach found now happened under the status the order had before this change.
            let r = refresh(row, target, &cal, &pauses, &policy.escalation, &sent, from, now);
            if *row != before {
                store::sla::update_clock(tx.conn(), row).await?;
            }
            results.push((i, r));
        }
        let (due, warn) = most_urgent(results.iter().map(|(i, r)| (&clocks[*i], r)));
        if due != after.sla_due_at || warn != after.sla_warn_at {
            store::sla::set_order_sla(tx.conn(), id, due, warn).await?;
        }
        Ok(())
    }

    /// Clocks (of one order, with its pauses) as they stand at `now`, in the policy's order.
    pub async fn views_of(
        &self,
        db: &Db,
        rows: &[ClockRow],
        pauses: &[PauseRow],
        now: DateTime<Utc>,
    ) -> AppResult<Vec<ClockView>> {
        let pauses = as_pauses(pauses);
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let policy = self.policy(db, &row.policy_code, row.policy_version).await?;
            let Some(index) = policy.targets.iter().position(|t| t.code == row.target) else { continue };
            let cal = self.calendar(db, &row.calendar_code).await?;
            out.push((index, view(row, &policy.targets[index], &cal, &pauses, now)));
        }
        out.sort_by_key(|(i, _)| *i);
        Ok(out.into_iter().map(|(_, v)| v).collect())
    }

    /// One pass of the sweeper: claims the clocks whose check has come, records warnings and
    /// breaches, and queues each escalation step's notifications once.
    pub async fn sweep(&self, db: &Db, now: DateTime<Utc>, batch: i64) -> AppResult<SweepOutcome> {
        // Most passes find nothing: they look on a reader and take no write transaction.
        let due = {
            let mut c = db.read().await?;
            store::sla::any_due(c.conn(), now).await?
        };
        if !due {
            return Ok(SweepOutcome::default());
        }
        let mut tx = db.begin().await?;
        let mut rows = store::sla::claim_due(tx.conn(), now, batch).await?;
        let mut outcome = SweepOutcome { clocks: rows.len(), ..Default::default() };
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(outcome);
        }
        let mut ids: Vec<i64> = rows.iter().map(|r| r.order_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let orders = store::work_orders::get_many(tx.conn(), &ids).await?;
        let pauses = store::sla::pauses_of_many(tx.conn(), &ids).await?;
        let mut sent = store::sla::sent_keys(tx.conn(), &ids).await?;
        let mut staff: Option<Vec<store::sla::Staff>> = None;
        let mut hooks: Option<Vec<store::outbox::Webhook>> = None;
        let mut messages: Vec<Outgoing> = vec![];
        for row in rows.iter_mut() {
            let Some(order) = orders.iter().find(|o| o.id == row.order_id) else { continue };
            let status = Status::parse(&order.status).unwrap_or(Status::Open);
            let policy = self.policy(db, &row.policy_code, row.policy_version).await?;
            let Some(target) = policy.target(&row.target) else {
                row.next_check_at = None;
                store::sla::update_clock(tx.conn(), row).await?;
                continue;
            };
            let cal = self.calendar(db, &row.calendar_code).await?;
            let order_pauses: Vec<PauseRow> = pauses.iter().filter(|p| p.order_id == row.order_id).cloned().collect();
            let order_pauses = as_pauses(&order_pauses);
            let clock = clock_of(row, target, &cal, &order_pauses);
            let r = clock.evaluate(now);
            let already: Vec<String> = sent
                .iter()
                .filter(|(o, t, _)| *o == row.order_id && *t == row.target)
                .map(|(_, _, k)| k.clone())
                .collect();
            for step in sla::due_steps(&r, &policy.escalation) {
                if already.contains(&step.key) {
                    continue;
                }
                let kind = step_kind(step.step);
                // Catching up after a downtime: a warning whose promise is already broken is
                // recorded (so it is not sent later) but nobody is told twice.
                let superseded = kind == "warning" && r.state == ClockState::Breached;
                let staff = match &staff {
                    Some(s) => s,
                    None => staff.insert(store::sla::staff(tx.conn()).await?),
                };
                let to: Vec<&store::sla::Staff> =
                    if superseded { vec![] } else { recipients(staff, &step.step.notify_role, order) };
                let hooks = match &hooks {
                    Some(h) => h,
                    None => hooks.insert(store::outbox::webhooks(tx.conn()).await?),
                };
                let record = store::sla::Escalation {
                    order_id: row.order_id,
                    target: row.target.clone(),
                    step_key: step.key.clone(),
                    notify_role: step.step.notify_role.clone(),
                    kind: kind.to_owned(),
                    at: now,
                    percent_used: r.percent_used.floor() as i64,
                    recipients: to.iter().filter(|s| s.email.as_deref().is_some_and(|e| !e.is_empty())).count() as i64,
                };
                if store::sla::insert_escalation(tx.conn(), &record).await? {
                    outcome.escalations += 1;
                    if !superseded {
                        messages.extend(compose(order, target, &r, &record, &to, hooks, now));
                    }
                }
                sent.push((row.order_id, row.target.clone(), step.key.clone()));
            }
            let keys: Vec<&str> = sent
                .iter()
                .filter(|(o, t, _)| *o == row.order_id && *t == row.target)
                .map(|(_, _, k)| k.as_str())
                .collect();
            refresh(row, target, &cal, &order_pauses, &policy.escalation, &keys, status, now);
            // An instant that has come but fires nothing yet (due exactly now) is looked at
            // again a moment later, not in a loop.
            if let Some(next) = row.next_check_at
                && next <= now
            {
                row.next_check_at = Some(now + chrono::Duration::seconds(1));
            }
            store::sla::update_clock(tx.conn(), row).await?;
        }
        if !messages.is_empty() {
            let msgs: Vec<NewMessage<'_>> = messages.iter().map(Outgoing::as_new).collect();
            let backend = tx.backend();
            store::outbox::enqueue(tx.conn(), backend, &msgs, now).await?;
            outcome.messages = msgs.len();
        }
        tx.commit().await?;
        Ok(outcome)
    }
}

/// The rules' clock of a stored row.
fn clock_of<'a>(row: &ClockRow, target: &'a SlaTarget, cal: &'a Resolved, pauses: &'a [Pause]) -> Clock<'a> {
    Clock {
        target,
        calendar: &cal.compiled,
        started_at: row.started_at,
        pauses,
        stopped_at: row.stopped_at,
        requested_by: row.deadline,
    }
}

/// Evaluates `row` at `now` and writes what the evaluation found into it: due and warning
/// instants, time used, state, a breach (with the cause `status` stands for) the first time
/// one is seen, and the next instant a sweeper must look at it.
#[allow(clippy::too_many_arguments)]
fn refresh(
    row: &mut ClockRow,
    target: &SlaTarget,
    cal: &Resolved,
    pauses: &[Pause],
    chain: &[sla::EscalationStep],
    sent: &[&str],
    status: Status,
    now: DateTime<Utc>,
) -> ClockResult {
    let clock = clock_of(row, target, cal, pauses);
    let r = clock.evaluate(now);
    row.due_at = r.due_at;
    row.warn_at = r.warn_at;
    row.used_seconds = r.used_seconds;
    row.target_seconds = r.target_seconds;
    if row.state == CANCELLED {
        row.next_check_at = None;
        return r;
    }
    row.state = state_code(r.state).to_owned();
    if r.state.is_breach() && row.breached_at.is_none() {
        row.breached_at = r.due_at;
        row.breach_cause = Some(status.breach_cause().code().to_owned());
    }
    row.next_check_at = sla::next_check(&clock, &r, chain, sent);
    r
}

/// The earliest due and warning instants of the running clocks (a paused clock's due moves
/// with time, so it is left out unless it is already broken).
fn most_urgent<'a>(
    clocks: impl Iterator<Item = (&'a ClockRow, &'a ClockResult)>,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let mut due: Option<DateTime<Utc>> = None;
    let mut warn: Option<DateTime<Utc>> = None;
    for (row, r) in clocks {
        if row.stopped_at.is_some() || row.state == CANCELLED || (r.paused && r.state != ClockState::Breached) {
            continue;
        }
        if let Some(d) = r.due_at {
            due = Some(due.map_or(d, |x| x.min(d)));
        }
        if let Some(w) = r.warn_at {
            warn = Some(warn.map_or(w, |x| x.min(w)));
        }
    }
    (due, warn)
}

fn view(row: &ClockRow, target: &SlaTarget, cal: &Resolved, pauses: &[Pause], now: DateTime<Utc>) -> ClockView {
    let clock = clock_of(row, target, cal, pauses);
    let r = clock.evaluate(now);
    let cancelled = row.state == CANCELLED;
    ClockView {
        target: row.target.clone(),
        name_zh: target.name_zh.clone(),
        name_en: target.name_en.clone(),
        policy_code: row.policy_code.clone(),
        policy_version: row.policy_version,
        basis: target.basis.clone(),
        calendar_code: row.calendar_code.clone(),
        mode: match r.mode {
            sla::ClockMode::Working => "working",
            sla::ClockMode::Elapsed => "elapsed",
        }
        .to_owned(),
        state: if cancelled { CANCELLED.to_owned() } else { state_code(r.state).to_owned() },
        stops_at: target.stops_at().code().to_owned(),
        started_at: row.started_at,
        stopped_at: row.stopped_at,
        deadline: row.deadline,
        due_at: r.due_at,
        warn_at: r.warn_at,
        target_minutes: r.target_seconds / 60,
        used_minutes: r.used_minutes,
        left_minutes: r.left_minutes,
        paused_minutes: r.paused_seconds / 60,
        percent_used: (r.percent_used * 10.0).round() / 10.0,
        paused: r.paused,
        ticking: r.ticking && !cancelled,
        breached_at: row.breached_at,
        breach_cause: row.breach_cause.clone(),
        breach_note: row.breach_note.clone(),
    }
}

/// warning (before the due time), breach (at it) or escalation (after it).
pub fn step_kind(step: &sla::EscalationStep) -> &'static str {
    match (step.after_percent, step.after_minutes_past_due) {
        (Some(p), _) if p < 100 => "warning",
        (Some(100), _) | (_, Some(0)) => "breach",
        _ => "escalation",
    }
}

/// Who a step notifies: the staff with the role, of the order's region or of none; for the
/// engineer role, the order's engineer only.
fn recipients<'a>(staff: &'a [store::sla::Staff], role: &str, order: &WorkOrder) -> Vec<&'a store::sla::Staff> {
    let mut out: Vec<&store::sla::Staff> = staff
        .iter()
        .filter(|s| s.role == role)
        .filter(|s| {
            if role == Role::Engineer.code() {
                order.engineer_id == Some(s.id)
            } else {
                s.region_code.is_none() || s.region_code == order.region_code
            }
        })
        .collect();
    out.dedup_by_key(|s| s.id);
    out
}

fn local(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.with_timezone(&chrono_tz::Asia::Shanghai).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "—".into())
}

/// The e-mails (to staff, in both languages) and webhook calls of one escalation.
fn compose(
    o: &WorkOrder,
    target: &SlaTarget,
    r: &ClockResult,
    x: &store::sla::Escalation,
    to: &[&store::sla::Staff],
    hooks: &[store::outbox::Webhook],
    now: DateTime<Utc>,
) -> Vec<Outgoing> {
    let event: &'static str = if x.kind == "warning" { "sla_warning" } else { "sla_breach" };
    let number = o.number();
    let due = local(r.due_at);
    let percent = x.percent_used.to_string();
    let cause = Status::parse(&o.status).map(|s| s.breach_cause()).unwrap_or(BreachCause::Other);
    let link = format!("{}/work-orders/{}", super::notifications::BASE, o.id);
    let args = |locale: &str| {
        let target_name = if locale == "en" && !target.name_en.is_empty() { &target.name_en } else { &target.name_zh };
        let status = Status::parse(&o.status).map(|s| s.name(locale)).unwrap_or("");
        let args = [
            ("number", number.as_str()),
            ("target", target_name.as_str()),
            ("due", due.as_str()),
            ("percent", percent.as_str()),
            ("customer", o.customer_name.as_str()),
            ("status", status),
            ("cause", cause.name(locale)),
            ("link", link.as_str()),
        ];
        let key = format!("sla.mail.{}", x.kind);
        (tr_args(locale, &format!("{key}_subject"), &args), tr_args(locale, &key, &args))
    };
    let (subject_zh, body_zh) = args("zh-CN");
    let (subject_en, body_en) = args("en");
    let mut out = vec![];
    for s in to {
        let Some(email) = s.email.as_ref().filter(|e| !e.is_empty()) else { continue };
        out.push(Outgoing {
            event,
            order_id: o.id,
            channel: "email",
            recipient: email.clone(),
            webhook_id: None,
            subject: format!("{subject_zh} / {subject_en}"),
            body: format!("{body_zh}\n\n{body_en}"),
        });
    }
    if hooks.iter().any(|w| w.wants(event)) {
        let payload = serde_json::json!({
            "event": event,
            "at": now,
            "clock": {
                "target": x.target, "kind": x.kind, "step": x.step_key, "notify_role": x.notify_role,
                "due_at": r.due_at, "percent_used": x.percent_used, "state": state_code(r.state),
            },
            "order": {
                "id": o.id, "number": number, "status": o.status, "priority": o.priority,
                "customer_id": o.customer_id, "engineer_id": o.engineer_id, "region_code": o.region_code,
                "url": format!("{}/api/v1/work-orders/{}", super::notifications::BASE, o.id),
            },
        })
        .to_string();
        out.extend(super::notifications::webhook_calls(event, o.id, hooks, &payload));
    }
    out
}

// ------------------------------------------------------------------ policies (managers)

/// A policy as the pages and the API list it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PolicySummary {
    pub code: String,
    pub version: i64,
    pub name_zh: String,
    pub name_en: String,
    pub builtin: bool,
    /// Orders get it when it is the most specific match; a switched-off code is kept for its history.
    pub active: bool,
    /// Conditions (`customer_class`, `request_type`, `priority`, `contract_code`); empty: every order.
    #[schema(value_type = Object)]
    pub applies_to: Value,
    pub calendar: Option<String>,
    pub targets: usize,
}

fn summarize(p: &SlaPolicy, active: bool) -> PolicySummary {
    PolicySummary {
        code: p.code.clone(),
        version: i64::from(p.version),
        name_zh: p.name_zh.clone(),
        name_en: p.name_en.clone(),
        builtin: builtin(&p.code).is_some(),
        active,
        applies_to: serde_json::to_value(&p.applies_to).unwrap_or(Value::Null),
        calendar: p.calendar.clone(),
        targets: p.targets.len(),
    }
}

/// Every policy: built-ins (or their latest edit) and the company's own, in force or not.
pub async fn list_policies(db: &Db) -> AppResult<Vec<PolicySummary>> {
    let stored = {
        let mut c = db.read().await?;
        store::sla::latest_policies(c.conn()).await?
    };
    let mut out: Vec<PolicySummary> = sla::builtin_policies()
        .iter()
        .filter(|b| !stored.iter().any(|s| s.code == b.code))
        .map(|b| summarize(b, true))
        .collect();
    for s in &stored {
        out.push(summarize(&parse_stored(s)?, s.active));
    }
    out.sort_by(|a, b| (!a.builtin, &a.code).cmp(&(!b.builtin, &b.code)));
    Ok(out)
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PolicyVersionInfo {
    pub version: i64,
    pub active: bool,
    pub note: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PolicyView {
    pub code: String,
    pub version: i64,
    pub builtin: bool,
    pub active: bool,
    /// The policy (`code`, `version`, `name_zh`, `name_en`, `calendar`, `applies_to`, `targets`,
    /// `escalation`): send it back, changed, to save the next version.
    #[schema(value_type = Object)]
    pub policy: Value,
    /// Stored versions, newest first (empty for a built-in never edited).
    pub history: Vec<PolicyVersionInfo>,
}

pub async fn get_policy(db: &Db, code: &str) -> AppResult<(PolicyView, SlaPolicy)> {
    let versions = {
        let mut c = db.read().await?;
        store::sla::policy_versions(c.conn(), code).await?
    };
    let (policy, active) = match versions.first() {
        Some(v) => (parse_stored(v)?, v.active),
        None => (builtin(code).ok_or(AppError::NotFound)?, true),
    };
    let view = PolicyView {
        code: code.to_owned(),
        version: i64::from(policy.version),
        builtin: builtin(code).is_some(),
        active,
        policy: serde_json::to_value(&policy).map_err(anyhow::Error::from)?,
        history: versions
            .iter()
            .map(|v| PolicyVersionInfo {
                version: v.version,
                active: v.active,
                note: v.note.clone(),
                created_by: v.created_by_label.clone(),
                created_at: v.created_at,
            })
            .collect(),
    };
    Ok((view, policy))
}

/// Reads a policy from JSON, every problem named by its path under `policy.`; the code is the
/// URL's when given, the version is set by the save.
pub fn parse_policy(value: &Value, code: Option<&str>) -> Result<SlaPolicy, Vec<FieldError>> {
    let Some(obj) = value.as_object() else {
        return Err(vec![field_error("policy", "sla.error.object")]);
    };
    let mut obj = obj.clone();
    if let Some(code) = code {
        match obj.get("code") {
            Some(Value::String(c)) if c != code => {
                return Err(vec![field_error("policy.code", "sla.error.code_mismatch")]);
            }
            _ => {
                obj.insert("code".into(), Value::String(code.to_owned()));
            }
        }
    }
    // The save decides the version; a policy typed without one is fine.
    obj.insert("version".into(), Value::from(1));
    let p: SlaPolicy = serde_path_to_error::deserialize(Value::Object(obj)).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "policy".to_owned() } else { format!("policy.{path}") };
        let inner = e.into_inner().to_string();
        vec![FieldError::new(field, format!("格式不正确：{inner}"), format!("not valid: {inner}"))]
    })?;
    let mut errors: Vec<FieldError> = match p.validate() {
        Ok(()) => vec![],
        Err(list) => list.into_iter().map(|f| FieldError { field: format!("policy.{}", f.field), ..f }).collect(),
    };
    if p.targets.len() > MAX_TARGETS {
        errors.push(field_error("policy.targets", "sla.error.too_many_targets"));
    }
    for (i, step) in p.escalation.iter().enumerate() {
        if Role::parse(&step.notify_role).is_none() {
            errors.push(field_error(&format!("policy.escalation[{i}].notify_role"), "sla.error.unknown_role"));
        }
    }
    if errors.is_empty() { Ok(p) } else { Err(errors) }
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct PolicySave {
    /// The version the edit started from (1 for a built-in never edited); 409 when another
    /// version was saved meanwhile. Absent when creating.
    #[serde(default)]
    pub version: Option<i64>,
    #[schema(value_type = Object)]
    pub policy: Value,
    /// False switches the code off: new orders no longer get it (running clocks keep it).
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub note: String,
}

fn yes() -> bool {
    true
}

/// Saves a new company policy (`expected == None`) or the next version of `code`; audited.
pub async fn save_policy(
    db: &Db,
    sla: &Sla,
    actor: &Actor,
    code: Option<&str>,
    input: &PolicySave,
    idem: Option<&Idem<'_>>,
) -> AppResult<PolicyView> {
    actor.require(Perm::ManageSla)?;
    let mut errors = vec![];
    let note = input.note.trim().to_owned();
    if note.chars().count() > NOTE_MAX {
        errors.push(field_error("note", "error.too_long"));
    }
    let mut policy = match parse_policy(&input.policy, code) {
        Ok(p) => Some(p),
        Err(list) => {
            errors.extend(list);
            None
        }
    };
    // Named with the other problems, so read from the JSON as sent.
    if let Some(cal) = input.policy.get("calendar").and_then(Value::as_str)
        && super::calendars::resolve(db, &sla.calendars, cal).await.is_err()
    {
        errors.push(field_error("policy.calendar", "sla.error.unknown_calendar"));
    }
    if code.is_some() && input.version.is_none() {
        errors.push(field_error("version", "error.required"));
    }
    AppError::check(errors)?;
    let policy = policy.as_mut().expect("checked");
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let stored = store::sla::policy_versions(tx.conn(), &policy.code).await?;
    let before: Option<(SlaPolicy, bool)> = match stored.first() {
        Some(v) => Some((parse_stored(v)?, v.active)),
        None => builtin(&policy.code).map(|b| (b, true)),
    };
    let version = match (code, input.version, &before) {
        (None, _, Some(_)) => return Err(AppError::one("policy.code", "sla.error.code_taken")),
        (None, _, None) => 1,
        (Some(_), _, None) => return Err(AppError::NotFound),
        (Some(_), Some(e), Some((p, _))) if e != i64::from(p.version) => return Err(AppError::Conflict("error.stale")),
        (Some(_), _, Some((p, _))) => i64::from(p.version) + 1,
    };
    policy.version = u32::try_from(version).map_err(|_| AppError::Conflict("error.stale"))?;
    let row = store::sla::PolicyVersion {
        code: policy.code.clone(),
        version,
        policy_json: serde_json::to_string(&*policy).map_err(anyhow::Error::from)?,
        active: input.active,
        note: note.clone(),
        created_by: actor.user_id,
        created_by_label: actor.label.clone(),
        created_at: now,
    };
    store::sla::insert_policy(tx.conn(), &row).await.map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => AppError::Conflict("error.stale"),
        _ => e.into(),
    })?;
    #[derive(Serialize)]
    struct Snapshot<'a> {
        active: bool,
        note: &'a str,
        policy: &'a SlaPolicy,
    }
    let before_snap = before.as_ref().map(|(p, a)| Snapshot { active: *a, note: "", policy: p });
    let after_snap = Snapshot { active: input.active, note: &note, policy };
    let action = if code.is_some() { "new_version" } else { "create" };
    audit::record(&mut tx, actor, now, action, "sla_policy", &policy.code, before_snap.as_ref(), Some(&after_snap))
        .await?;
    let view = PolicyView {
        code: policy.code.clone(),
        version,
        builtin: builtin(&policy.code).is_some(),
        active: input.active,
        policy: serde_json::to_value(&*policy).map_err(anyhow::Error::from)?,
        history: vec![],
    };
    if let Some(idem) = idem {
        super::remember(&mut tx, actor, idem, 201, &view).await?;
    }
    tx.commit().await?;
    sla.forget_in_force();
    Ok(view)
}

// ------------------------------------------------------------------ contracts

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ContractInput {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub customer_id: i64,
    #[serde(default)]
    pub name: String,
    /// YYYY-MM-DD
    #[serde(default)]
    pub valid_from: String,
    /// YYYY-MM-DD; empty: open-ended.
    #[serde(default)]
    pub valid_to: String,
    #[serde(default)]
    pub note: String,
    /// For edits: the version read.
    #[serde(default)]
    pub version: Option<i64>,
}

/// Creates (`id == None`) or edits a service contract; audited.
pub async fn save_contract(
    db: &Db,
    actor: &Actor,
    id: Option<i64>,
    input: &ContractInput,
    idem: Option<&Idem<'_>>,
) -> AppResult<store::sla::Contract> {
    actor.require(Perm::ManageSla)?;
    let mut errors = vec![];
    let code = input.code.trim();
    if !rules::calendar::valid_code(code) {
        errors.push(field_error("code", "sla.error.code"));
    }
    let name = crate::domain::archive::required("name", &input.name, 200, &mut errors);
    let note = crate::domain::archive::optional("note", &input.note, NOTE_MAX, &mut errors);
    let from = crate::domain::archive::parse_date("valid_from", &input.valid_from, &mut errors);
    if from.is_none() && input.valid_from.trim().is_empty() {
        errors.push(field_error("valid_from", "error.required"));
    }
    let to = crate::domain::archive::parse_date("valid_to", &input.valid_to, &mut errors);
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        errors.push(field_error("valid_to", "sla.error.ends_before_start"));
    }
    if id.is_some() && input.version.is_none() {
        errors.push(field_error("version", "error.required"));
    }
    {
        let mut c = db.read().await?;
        let customer = store::customers::get(c.conn(), input.customer_id).await?;
        if customer.is_none_or(|c| !super::archive::visible(actor, &c.region_code)) {
            errors.push(field_error("customer_id", "error.unknown_customer"));
        }
    }
    AppError::check(errors)?;
    let data = store::sla::ContractData {
        code,
        customer_id: input.customer_id,
        name: &name,
        valid_from: from.expect("checked"),
        valid_to: to,
        note: &note,
    };
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let taken = store::sla::contract_by_code(tx.conn(), code).await?;
    if taken.is_some_and(|k| Some(k.id) != id) {
        return Err(AppError::one("code", "sla.error.code_taken"));
    }
    let (id, before) = match id {
        None => (store::sla::insert_contract(tx.conn(), &data, now).await?, None),
        Some(id) => {
            let before = store::sla::contract(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
            if !store::sla::update_contract(tx.conn(), id, input.version.unwrap_or_default(), &data, now).await? {
                return Err(AppError::Conflict("error.stale"));
            }
            (id, Some(before))
        }
    };
    let after = store::sla::contract(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    let action = if before.is_some() { "update" } else { "create" };
    audit::record(&mut tx, actor, now, action, "service_contract", &id.to_string(), before.as_ref(), Some(&after))
        .await?;
    if let Some(idem) = idem {
        super::remember(&mut tx, actor, idem, 201, &after).await?;
    }
    tx.commit().await?;
    Ok(after)
}

pub async fn contracts(db: &Db, actor: &Actor, customer_id: Option<i64>) -> AppResult<Vec<store::sla::Contract>> {
    require_reader(actor)?;
    // A region's users see their region's customers' contracts.
    let region = super::archive::region_scope(actor);
    let mut c = db.read().await?;
    Ok(store::sla::contracts(c.conn(), customer_id, region.as_deref(), 500).await?)
}

// ------------------------------------------------------------------ calendars of regions and engineers

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CalendarAssignments {
    /// The company's default (setting `sla_calendar`).
    pub default_calendar: String,
    pub regions: Vec<store::sla::CalendarAssignment>,
    pub engineers: Vec<store::sla::CalendarAssignment>,
}

pub async fn calendar_assignments(db: &Db, sla: &Sla, actor: &Actor) -> AppResult<CalendarAssignments> {
    require_reader(actor)?;
    let default_calendar = sla.in_force(db).await?.default_calendar.clone();
    let mut c = db.read().await?;
    Ok(CalendarAssignments {
        default_calendar,
        regions: store::sla::region_calendars(c.conn()).await?,
        engineers: store::sla::engineer_calendars(c.conn()).await?,
    })
}

/// What a calendar assignment applies to.
#[derive(Clone, Debug)]
pub enum Assignee {
    /// The company's default calendar.
    Company,
    Region(String),
    Engineer(i64),
}

/// Sets (or, with an empty code, clears) a calendar; audited.
pub async fn assign_calendar(db: &Db, sla: &Sla, actor: &Actor, who: &Assignee, calendar: &str) -> AppResult<()> {
    actor.require(Perm::ManageSla)?;
    let calendar = calendar.trim();
    if calendar.is_empty() && matches!(who, Assignee::Company) {
        return Err(AppError::one("calendar", "error.required"));
    }
    if !calendar.is_empty() && super::calendars::resolve(db, &sla.calendars, calendar).await.is_err() {
        return Err(AppError::one("calendar", "sla.error.unknown_calendar"));
    }
    let value = Some(calendar).filter(|c| !c.is_empty());
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let (entity, key, found) = match who {
        Assignee::Company => {
            store::settings::set(tx.conn(), "sla_calendar", calendar).await?;
            ("setting", "sla_calendar".to_owned(), true)
        }
        Assignee::Region(code) => {
            ("region", code.clone(), store::sla::set_region_calendar(tx.conn(), code, value).await?)
        }
        Assignee::Engineer(id) => {
            let u = store::users::get(tx.conn(), *id).await?;
            let ok = match u {
                Some(u) if u.roles.contains(&Role::Engineer) => {
                    store::sla::set_user_calendar(tx.conn(), *id, value).await?
                }
                _ => false,
            };
            ("user", id.to_string(), ok)
        }
    };
    if !found {
        return Err(AppError::NotFound);
    }
    audit::record::<(), _>(
        &mut tx,
        actor,
        now,
        "set_calendar",
        entity,
        &key,
        None,
        Some(&serde_json::json!({ "calendar": value })),
    )
    .await?;
    tx.commit().await?;
    sla.forget_in_force();
    Ok(())
}

// ------------------------------------------------------------------ figures

/// Staff who read the service figures: everyone but engineers on their own and the warehouse.
fn require_reader(actor: &Actor) -> AppResult<()> {
    let ok = actor.roles.iter().any(|r| {
        matches!(r, Role::Admin | Role::GeneralManager | Role::ServiceManager | Role::Dispatcher | Role::Quality)
    });
    if ok { Ok(()) } else { Err(AppError::Forbidden) }
}

/// A group's figures with its rate.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ComplianceLine {
    pub key: String,
    pub label: String,
    pub total: i64,
    pub met: i64,
    pub met_late: i64,
    pub breached_open: i64,
    /// `met_late + breached_open`.
    pub breached: i64,
    /// Running and not yet due: not decided, so not in the rate.
    pub open: i64,
    /// `met / (met + breached)` in percent; absent when nothing is decided.
    pub rate_percent: Option<f64>,
}

impl ComplianceLine {
    fn from(row: store::sla::ComplianceRow) -> ComplianceLine {
        let breached = row.met_late + row.breached_open;
        let decided = row.met + breached;
        ComplianceLine {
            rate_percent: (decided > 0).then(|| (row.met as f64 * 1000.0 / decided as f64).round() / 10.0),
            key: row.key,
            label: row.label,
            total: row.total,
            met: row.met,
            met_late: row.met_late,
            breached_open: row.breached_open,
            breached,
            open: row.open,
        }
    }
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ComplianceReport {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub group: String,
    pub lines: Vec<ComplianceLine>,
    pub total: ComplianceLine,
}

/// Clocks started in the period, grouped; region users see their region.
pub async fn compliance(
    db: &Db,
    actor: &Actor,
    filter: &store::sla::ReportFilter,
    group: store::sla::GroupBy,
) -> AppResult<ComplianceReport> {
    require_reader(actor)?;
    let f = scoped(actor, filter);
    check_team(db, actor, &f).await?;
    let mut c = db.read().await?;
    let backend = c.backend();
    let rows = store::sla::compliance(c.conn(), backend, &f, group, Utc::now()).await?;
    let lines: Vec<ComplianceLine> = rows.into_iter().map(ComplianceLine::from).collect();
    let sum = |g: fn(&ComplianceLine) -> i64| lines.iter().map(g).sum::<i64>();
    let total = ComplianceLine::from(store::sla::ComplianceRow {
        key: String::new(),
        label: String::new(),
        total: sum(|l| l.total),
        met: sum(|l| l.met),
        met_late: sum(|l| l.met_late),
        breached_open: sum(|l| l.breached_open),
        open: sum(|l| l.open),
    });
    Ok(ComplianceReport { from: f.from, to: f.to, group: group.code().to_owned(), lines, total })
}

/// A team asked for must be one the actor may pick (as on the dashboard: users who see one
/// region pick among its teams); else a field error.
async fn check_team(db: &Db, actor: &Actor, f: &store::sla::ReportFilter) -> AppResult<()> {
    match f.team_id {
        Some(id) if super::teams::pickable(db, actor, id).await?.is_none() => {
            Err(AppError::one("team", "sla.error.team"))
        }
        _ => Ok(()),
    }
}

fn scoped(actor: &Actor, filter: &store::sla::ReportFilter) -> store::sla::ReportFilter {
    let mut f = filter.clone();
    if !actor.can(Perm::AllRegions)
        && let Some(r) = &actor.region_code
    {
        f.region = Some(r.clone());
    }
    f
}

pub async fn breaches(
    db: &Db,
    actor: &Actor,
    filter: &store::sla::ReportFilter,
    limit: i64,
) -> AppResult<Vec<store::sla::Breach>> {
    require_reader(actor)?;
    let f = scoped(actor, filter);
    check_team(db, actor, &f).await?;
    let mut c = db.read().await?;
    Ok(store::sla::breaches(c.conn(), &f, limit.clamp(1, 100_000)).await?)
}

/// The newest warnings and escalations for the actor's roles (managers see all).
pub async fn alerts(db: &Db, actor: &Actor, days: i64) -> AppResult<Vec<store::sla::Alert>> {
    require_reader(actor)?;
    let roles: Vec<String> =
        if actor.can(Perm::AllRegions) { vec![] } else { actor.roles.iter().map(|r| r.code().to_owned()).collect() };
    let region = if actor.can(Perm::AllRegions) { None } else { actor.region_code.clone() };
    let since = Utc::now() - chrono::Duration::days(days.clamp(1, 366));
    let mut c = db.read().await?;
    Ok(store::sla::alerts(c.conn(), &roles, region.as_deref(), since, 200).await?)
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct BreachNote {
    /// review | dispatch | acceptance | travel | repair | customer | approval | other
    #[serde(default)]
    pub cause: String,
    #[serde(default)]
    pub note: String,
}

/// The service manager corrects a breach's cause or explains it; audited.
pub async fn annotate_breach(db: &Db, actor: &Actor, order_id: i64, target: &str, input: &BreachNote) -> AppResult<()> {
    if !actor.roles.iter().any(|r| matches!(r, Role::Admin | Role::GeneralManager | Role::ServiceManager)) {
        return Err(AppError::Forbidden);
    }
    let mut errors = vec![];
    let cause = BreachCause::parse(&input.cause);
    if cause.is_none() {
        errors.push(field_error("cause", "wo.error.unknown_value"));
    }
    let note = crate::domain::archive::optional("note", &input.note, NOTE_MAX, &mut errors);
    AppError::check(errors)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = store::sla::clocks_of(tx.conn(), order_id, true).await?.into_iter().find(|k| k.target == target);
    let Some(before) = before.filter(|k| k.breached_at.is_some()) else {
        return Err(AppError::NotFound);
    };
    let cause = cause.expect("checked").code();
    store::sla::annotate_breach(tx.conn(), order_id, target, cause, &note).await?;
    let after = serde_json::json!({"target": target, "breach_cause": cause, "breach_note": note});
    let before =
        serde_json::json!({"target": target, "breach_cause": before.breach_cause, "breach_note": before.breach_note});
    audit::record(
        &mut tx,
        actor,
        now,
        "annotate_breach",
        "work_order",
        &order_id.to_string(),
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_kinds() {
        assert_eq!(step_kind(&sla::EscalationStep::at_percent(80, "dispatcher")), "warning");
        assert_eq!(step_kind(&sla::EscalationStep::at_percent(100, "dispatcher")), "breach");
        assert_eq!(step_kind(&sla::EscalationStep::past_due(0, "service_manager")), "breach");
        assert_eq!(step_kind(&sla::EscalationStep::past_due(480, "general_manager")), "escalation");
        assert_eq!(step_kind(&sla::EscalationStep::at_percent(150, "general_manager")), "escalation");
    }

    #[test]
    fn policies_from_json_name_every_problem() {
        let bad = serde_json::json!({
            "name_zh": "",
            "targets": [{"code": "first_reply", "name_zh": "答复", "minutes": 0}],
            "escalation": [{"after_percent": 80, "notify_role": "boss"}]
        });
        let errors = parse_policy(&bad, Some("acme")).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"policy.name_zh"), "{fields:?}");
        assert!(fields.contains(&"policy.targets[0].minutes"), "{fields:?}");
        assert!(fields.contains(&"policy.escalation[0].notify_role"), "{fields:?}");
        let other = serde_json::json!({"code": "x", "name_zh": "x", "targets": []});
        assert_eq!(parse_policy(&other, Some("acme")).unwrap_err()[0].field, "policy.code");
        let good =
            serde_json::json!({"name_zh": "合同", "targets": [{"code": "on_site", "name_zh": "到场", "minutes": 240}]});
        let p = parse_policy(&good, Some("acme")).unwrap();
        assert_eq!((p.code.as_str(), p.version), ("acme", 1));
    }
}
