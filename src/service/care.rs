//! After the job (R6, R7): the follow-up visit schedule and the agents' queue, and
//! satisfaction surveys answered from a link (no account) or on site, with their rates.
//!
//! The schedule's decisions are `rules::care`; this module feeds it the customers' facts,
//! stores what it plans under a unique key (idempotent on every instance) and moves a
//! watermark so a pass after downtime plans the days that were missed.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rules::care::{self, CustomerFacts, PlannedVisit, VisitRule};
use serde::{Deserialize, Serialize};

use super::work_orders::{local_day, today};
use super::{Actor, audit};
use crate::db::{Db, Tx};
use crate::domain::Perm;
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::store;
use crate::store::care::{GroupBy, NewTask, QueueFilter, Scope, Survey, VisitTask};
use crate::store::work_orders::WorkOrder;

// ------------------------------------------------------------------ rules

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleView {
    pub code: String,
    pub position: i64,
    pub version: i64,
    /// `rules::care::VisitRule`: condition, every {unit: weeks|months, n}, after_days, min_years, active, basis.
    #[schema(value_type = Object)]
    pub rule: VisitRule,
    pub updated_at: DateTime<Utc>,
}

/// Writes the built-in rules the first time (and any built-in added later); edits stay.
pub async fn seed_rules(db: &Db) -> AppResult<()> {
    let now = Utc::now();
    let mut tx = db.begin().await?;
    for (i, r) in care::builtin_rules().iter().enumerate() {
        let json = serde_json::to_string(r).map_err(anyhow::Error::from)?;
        store::care::insert_rule(tx.conn(), &r.code, i as i64 + 1, &json, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

fn parse_rules(rows: Vec<store::care::StoredRule>) -> Vec<RuleView> {
    rows.into_iter()
        .filter_map(|r| {
            let rule = serde_json::from_str(&r.rule_json).ok()?;
            Some(RuleView { code: r.code, position: r.position, version: r.version, rule, updated_at: r.updated_at })
        })
        .collect()
}

async fn stored_rules(c: crate::db::Conn<'_>) -> AppResult<Vec<VisitRule>> {
    Ok(parse_rules(store::care::rules(c).await?).into_iter().map(|r| r.rule).collect())
}

pub async fn rules(db: &Db, actor: &Actor) -> AppResult<Vec<RuleView>> {
    actor.require(Perm::FollowUp)?;
    let mut c = db.read().await?;
    Ok(parse_rules(store::care::rules(c.conn()).await?))
}

/// Saves an edited rule over `version` (the code and condition stay what they are).
pub async fn update_rule(db: &Db, actor: &Actor, code: &str, mut rule: VisitRule, version: i64) -> AppResult<RuleView> {
    actor.require(Perm::ManageCare)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = parse_rules(store::care::rules(tx.conn()).await?)
        .into_iter()
        .find(|r| r.code == code)
        .ok_or(AppError::NotFound)?;
    rule.code = before.code.clone();
    if rule.condition != before.rule.condition {
        return Err(AppError::one("condition", "care.error.condition_fixed"));
    }
    let errors = rule.validate();
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let json = serde_json::to_string(&rule).map_err(anyhow::Error::from)?;
    if !store::care::update_rule(tx.conn(), code, &json, version, now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    audit::record(&mut tx, actor, now, "update", "visit_rule", code, Some(&before.rule), Some(&rule)).await?;
    let after = parse_rules(store::care::rules(tx.conn()).await?)
        .into_iter()
        .find(|r| r.code == code)
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(after)
}

// ------------------------------------------------------------------ planning

#[derive(Debug, Clone, Copy, Default, Serialize, utoipa::ToSchema)]
pub struct PlanOutcome {
    pub customers: u64,
    /// Visits the rules ask for in the window.
    pub planned: u64,
    /// Of those, the ones not stored before (a second run adds none).
    pub added: u64,
}

/// Customers read and written per transaction.
const PLAN_BATCH: i64 = 10_000;

/// Plans the periodic visits due in `from..=to` for every customer. Safe to repeat and to run
/// on several instances at once: a visit already stored is skipped by its key.
pub async fn plan(db: &Db, from: NaiveDate, to: NaiveDate, progress: impl Fn(u64)) -> AppResult<PlanOutcome> {
    if to < from {
        return Ok(PlanOutcome::default());
    }
    let mut c = db.read().await?;
    let rules = stored_rules(c.conn()).await?;
    drop(c);
    // A large window writes into most of the table's index pages: keep them cached while it
    // runs (1 GB at most) and checkpoint seldom, then give the memory and the WAL back.
    let big = (to - from).num_days() > 31;
    if big {
        let mut tx = db.begin().await?;
        store::care::set_large_plan(tx.conn(), true).await?;
        tx.commit().await?;
    }
    let result = plan_customers(db, &rules, from, to, &progress).await;
    if big {
        let mut tx = db.begin().await?;
        store::care::set_large_plan(tx.conn(), false).await?;
        if result.as_ref().is_ok_and(|o| o.added > 0) {
            store::care::analyze_tasks(tx.conn()).await?;
        }
        tx.commit().await?;
        let mut c = db.hold_writer().await?;
        store::maintenance::truncate_wal(c.conn()).await?;
    }
    result
}

/// Reads, plans and encodes the next batch of customers while the previous batch is being
/// written: the planning runs on one core while the database writes on the other. PostgreSQL
/// writes with two connections at once (its server process does the work of an insert, so
/// one connection left a core idle); the unique key keeps them, and other instances, from
/// writing a visit twice. SQLite has one writer.
async fn plan_customers(
    db: &Db,
    rules: &[VisitRule],
    from: NaiveDate,
    to: NaiveDate,
    progress: &impl Fn(u64),
) -> AppResult<PlanOutcome> {
    let writers = match db.backend() {
        crate::db::Backend::Sqlite => 1,
        crate::db::Backend::Postgres => PG_PLAN_WRITERS,
    };
    let (send, batches) = tokio::sync::mpsc::channel::<Batch>(writers + 1);
    let producer = tokio::spawn(plan_batches(db.clone(), rules.to_vec(), from, to, send));
    let batches = tokio::sync::Mutex::new(batches);
    let out = std::sync::Mutex::new(PlanOutcome::default());
    let write = || async {
        loop {
            let Some(batch) = batches.lock().await.recv().await else { return AppResult::Ok(()) };
            let mut tx = db.begin().await?;
            store::care::plan_write_settings(tx.conn()).await?;
            let added = store::care::insert_encoded(tx.conn(), batch.tasks).await?;
            tx.commit().await?;
            let customers = {
                let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
                o.customers += batch.customers;
                o.planned += batch.planned;
                o.added += added;
                o.customers
            };
            progress(customers);
        }
    };
    let written = futures_util::future::try_join_all((0..writers).map(|_| write())).await;
    // On an error the receiver goes here, so the producer stops at its next batch.
    drop(batches);
    let planned = producer.await.map_err(anyhow::Error::from)?;
    written?;
    planned?;
    Ok(out.into_inner().unwrap_or_else(|e| e.into_inner()))
}

/// Connections writing planned visits at once on PostgreSQL.
const PG_PLAN_WRITERS: usize = 2;

/// A batch of customers' visits, encoded for the database.
struct Batch {
    customers: u64,
    planned: u64,
    tasks: store::care::EncodedTasks,
}

/// The visits of every customer, a batch at a time, sent to `send` (stops when it is closed).
async fn plan_batches(
    db: Db,
    rules: Vec<VisitRule>,
    from: NaiveDate,
    to: NaiveDate,
    send: tokio::sync::mpsc::Sender<Batch>,
) -> AppResult<()> {
    let backend = db.backend();
    let in_warranty: Vec<&str> =
        rules.iter().filter(|r| r.condition == care::Condition::InWarranty).map(|r| r.code.as_str()).collect();
    let mut policies: HashMap<String, Option<rules::entitlement::Policy>> = HashMap::new();
    let mut after = 0;
    let mut planned = vec![];
    loop {
        let mut c = db.read().await?;
        let customers = store::care::customers_after(c.conn(), after, PLAN_BATCH).await?;
        let (Some(first), Some(last)) = (customers.first(), customers.last()) else { break };
        let units = store::care::unit_terms(c.conn(), first.id, last.id).await?;
        drop(c);
        after = last.id;
        let mut until: HashMap<i64, NaiveDate> = HashMap::new();
        let mut serviced: HashMap<i64, Vec<care::UnitService>> = HashMap::new();
        for u in units {
            if let (Some(m), Some(base)) = (u.service_interval_months, u.service_base)
                && let Ok(interval_months) = u32::try_from(m)
            {
                let s = care::UnitService { unit_id: u.id, base, interval_months };
                serviced.entry(u.customer_id).or_default().push(s);
            }
            let Some(start) = u.start else { continue };
            if !policies.contains_key(&u.policy_code) {
                let p = super::entitlement::latest_policy(&db, &u.policy_code).await?;
                policies.insert(u.policy_code.clone(), p);
            }
            let Some(Some(policy)) = policies.get(&u.policy_code) else { continue };
            let grade = match u.grade.as_str() {
                "high" => Some(rules::entitlement::Grade::High),
                "mid" => Some(rules::entitlement::Grade::Mid),
                "low" => Some(rules::entitlement::Grade::Low),
                _ => None,
            };
            let months = u.warranty_months.and_then(|m| u32::try_from(m).ok());
            let end = rules::entitlement::warranty_end(policy, start, grade, Some(&u.category_code), months);
            until.entry(u.customer_id).and_modify(|d| *d = (*d).max(end)).or_insert(end);
        }
        let mut tasks = Vec::with_capacity(customers.len() * 12);
        for cu in &customers {
            let facts = CustomerFacts {
                id: cu.id,
                class: cu.class.chars().next().unwrap_or('C'),
                key_customer: cu.key_customer,
                since: local_day(cu.created_at),
                warranty_until: until.get(&cu.id).copied(),
            };
            planned.clear();
            care::plan_into(&rules, &facts, from, to, &mut planned);
            for s in serviced.get(&cu.id).into_iter().flatten() {
                care::service_reminders_into(&rules, s, from, to, &mut planned);
            }
            tasks.extend(planned.drain(..).map(|p| {
                let warranty = in_warranty.contains(&p.rule_code.as_str());
                NewTask { in_warranty: warranty, ..new_task(cu.id, cu.region_code.clone(), p, None, None) }
            }));
        }
        // In region and due order, the queue index is written page after page rather than
        // all over (the unique key is in customer order within the batch anyway).
        tasks.sort_unstable_by(|a, b| (&a.region_code, a.due_on).cmp(&(&b.region_code, b.due_on)));
        let planned = tasks.len() as u64;
        let tasks = store::care::encode_bulk(backend, tasks, Utc::now()).map_err(sqlx::Error::Encode)?;
        if send.send(Batch { customers: customers.len() as u64, planned, tasks }).await.is_err() {
            break; // the writer stopped (its error is reported)
        }
    }
    Ok(())
}

fn new_task(
    customer_id: i64,
    region_code: Option<String>,
    p: PlannedVisit,
    order_id: Option<i64>,
    survey_id: Option<i64>,
) -> NewTask {
    NewTask {
        customer_id,
        region_code,
        rule_code: p.rule_code,
        period_key: p.period_key,
        due_on: p.due_on,
        order_id,
        survey_id,
        in_warranty: false,
        unit_id: p.unit_id,
    }
}

/// After planning `from..=to` by hand: when the window reaches back to where the planner
/// would start (the day after its watermark, or today on a first run), the planner need not
/// plan those days again.
pub async fn mark_planned(db: &Db, from: NaiveDate, to: NaiveDate) -> AppResult<()> {
    let mut c = db.read().await?;
    let start = match store::care::planned_to(c.conn()).await? {
        Some(d) => d + TimeDelta::days(1),
        None => today(),
    };
    drop(c);
    if from <= start && to >= start {
        let mut tx = db.begin().await?;
        store::care::set_planned_to(tx.conn(), to, Utc::now()).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Plans from the day after the watermark (today on the first run) to `lookahead_days`
/// ahead, then moves the watermark. Days missed while every instance was down are planned on
/// the first pass after a start; their visits show as missed.
pub async fn catch_up(db: &Db, now: DateTime<Utc>, lookahead_days: i64) -> AppResult<Option<PlanOutcome>> {
    let today = local_day(now);
    let to = today + TimeDelta::days(lookahead_days.max(0));
    let mut c = db.read().await?;
    let from = match store::care::planned_to(c.conn()).await? {
        Some(d) => d + TimeDelta::days(1),
        None => today,
    };
    drop(c);
    if from > to {
        return Ok(None);
    }
    let out = plan(db, from, to, |_| {}).await?;
    let mut tx = db.begin().await?;
    store::care::set_planned_to(tx.conn(), to, Utc::now()).await?;
    tx.commit().await?;
    Ok(Some(out))
}

// ------------------------------------------------------------------ after a job

/// Inside the completing transaction: the survey link for the customer, the engineer's
/// on-site rating as an answered survey, and the follow-up visit after the job (and after a
/// low on-site score). A job completed again keeps its first survey and visit.
pub async fn on_completed(tx: &mut Tx, o: &WorkOrder, now: DateTime<Utc>) -> AppResult<()> {
    let rules = stored_rules(tx.conn()).await?;
    let base = Survey {
        id: 0,
        token: super::new_secret().0[..32].to_owned(),
        kind: "job".into(),
        order_id: Some(o.id),
        customer_id: o.customer_id,
        engineer_id: o.engineer_id,
        region_code: o.region_code.clone(),
        category_code: o.category_code.clone(),
        request_kind: Some(o.kind.clone()),
        created_at: now,
        answered_at: None,
        overall: None,
        timeliness: None,
        attitude: None,
        quality: None,
        comment: String::new(),
    };
    store::care::insert_survey(tx.conn(), &base).await?;
    let today = local_day(now);
    let mut tasks = vec![];
    if let Some(p) = care::after_job(&rules, o.id, today) {
        tasks.push(new_task(o.customer_id, o.region_code.clone(), p, Some(o.id), None));
    }
    if let Some(score) = o.rating {
        let on_site = Survey {
            token: super::new_secret().0[..32].to_owned(),
            kind: "on_site".into(),
            answered_at: Some(now),
            overall: Some(score),
            comment: o.rating_comment.clone(),
            ..base
        };
        if let Some(id) = store::care::insert_survey(tx.conn(), &on_site).await?
            && care::is_low(score as u8)
            && let Some(p) = care::after_low_score(&rules, id, today)
        {
            tasks.push(new_task(o.customer_id, o.region_code.clone(), p, Some(o.id), Some(id)));
        }
    }
    let backend = tx.backend();
    store::care::insert_tasks(tx.conn(), backend, &tasks, now).await?;
    // A maintenance job resets the unit's service interval and settles its reminders.
    if o.kind == rules::work_order::Kind::Maintenance.code()
        && let Some(unit) = o.unit_id
    {
        store::care::set_last_service(tx.conn(), unit, today).await?;
        let note = format!("{} {}", store::work_orders::number(o.id), "已完成保养 / serviced");
        store::care::close_unit_reminders(tx.conn(), unit, &note, now).await?;
    }
    Ok(())
}

/// Tells the customers of maintenance reminders that came due (14 days before the service) by
/// e-mail from the outbox, once each; a customer without an address is marked so the agent
/// knows to call. Reminders planned further ahead wait for their day. Safe on several
/// instances: a reminder is marked before its message is queued, in one transaction.
pub async fn notify_service_due(db: &Db, now: DateTime<Utc>) -> AppResult<u64> {
    let mut sent = 0;
    let due_by = local_day(now);
    loop {
        let mut c = db.read().await?;
        let batch = store::care::reminders_to_notify(c.conn(), due_by, 200).await?;
        drop(c);
        if batch.is_empty() {
            return Ok(sent);
        }
        let mut tx = db.begin().await?;
        for r in &batch {
            let how = if r.email.is_some() { "email" } else { "none" };
            if !store::care::mark_notified(tx.conn(), r.id, how).await? {
                continue;
            }
            let Some(email) = &r.email else { continue };
            let due = r.period_key.rsplit(':').next().unwrap_or_default();
            let subject = format!("保养提醒 / Service reminder: {} {}", r.model_name, r.serial);
            let body = format!(
                "尊敬的{}：\n您的 {}（序列号 {}）将于 {due} 到期保养，我们将与您联系预约上门时间。\n\n\
                 Dear {}, your {} (serial {}) is due for its routine service on {due}; we will call you to \
                 arrange a visit.",
                r.customer_name, r.model_name, r.serial, r.customer_name, r.model_name, r.serial
            );
            let msg = store::outbox::NewMessage {
                event: "service_due",
                order_id: None,
                channel: "email",
                recipient: email,
                webhook_id: None,
                subject: &subject,
                body: &body,
            };
            let backend = tx.backend();
            store::outbox::enqueue(tx.conn(), backend, &[msg], now).await?;
            sent += 1;
        }
        tx.commit().await?;
    }
}

// ------------------------------------------------------------------ the customer's survey

/// What the customer sees behind a survey link.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicSurvey {
    pub order_number: Option<String>,
    pub engineer: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    pub answered: bool,
    pub overall: Option<i32>,
    /// The periodic survey this link belongs to.
    pub campaign: Option<String>,
}

fn valid_token(token: &str) -> bool {
    token.len() == 32 && token.chars().all(|c| c.is_ascii_hexdigit())
}

async fn survey_for_token(db: &Db, token: &str) -> AppResult<Survey> {
    if !valid_token(token) {
        return Err(AppError::NotFound);
    }
    let mut c = db.read().await?;
    let s = store::care::survey_by_token(c.conn(), token).await?.ok_or(AppError::NotFound)?;
    // Only the links sent (after a job, or by a campaign) answer; the on-site rating has its
    // own token, never sent.
    if s.kind != "job" && s.kind != "campaign" {
        return Err(AppError::NotFound);
    }
    Ok(s)
}

pub async fn public_survey(db: &Db, token: &str) -> AppResult<PublicSurvey> {
    let s = survey_for_token(db, token).await?;
    let mut c = db.read().await?;
    let order = match s.order_id {
        Some(id) => store::work_orders::get(c.conn(), id).await?,
        None => None,
    };
    let engineer = match s.engineer_id {
        Some(id) => store::users::get(c.conn(), id).await?.map(|u| u.display_name),
        None => None,
    };
    let campaign = if s.kind == "campaign" { store::campaigns::name_of_survey(c.conn(), s.id).await? } else { None };
    Ok(PublicSurvey {
        campaign,
        order_number: order.as_ref().map(WorkOrder::number),
        engineer,
        completed_at: order.and_then(|o| o.completed_at),
        answered: s.answered_at.is_some(),
        overall: s.overall,
    })
}

/// The customer's answer: every score 1–5 (only the overall one required).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct AnswerInput {
    pub overall: Option<i32>,
    #[serde(default)]
    pub timeliness: Option<i32>,
    #[serde(default)]
    pub attitude: Option<i32>,
    #[serde(default)]
    pub quality: Option<i32>,
    #[serde(default)]
    pub comment: String,
}

/// Records the answer of a survey link, once. A low score opens a follow-up visit.
pub async fn answer(db: &Db, token: &str, input: &AnswerInput, ip: &str) -> AppResult<()> {
    let s = survey_for_token(db, token).await?;
    let mut errors = vec![];
    let score = |field: &str, v: Option<i32>, required: bool, errors: &mut Vec<_>| match v {
        None if required => errors.push(field_error(field, "care.error.score")),
        Some(n) if !(1..=5).contains(&n) => errors.push(field_error(field, "care.error.score")),
        _ => {}
    };
    score("overall", input.overall, true, &mut errors);
    score("timeliness", input.timeliness, false, &mut errors);
    score("attitude", input.attitude, false, &mut errors);
    score("quality", input.quality, false, &mut errors);
    let comment = input.comment.trim();
    if comment.chars().count() > 1000 {
        errors.push(field_error("comment", "error.too_long"));
    }
    AppError::check(errors)?;
    if s.answered_at.is_some() {
        return Err(AppError::Conflict("care.error.answered"));
    }
    let overall = input.overall.unwrap_or_default();
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let a = store::care::Answer {
        overall,
        timeliness: input.timeliness,
        attitude: input.attitude,
        quality: input.quality,
        comment,
    };
    if !store::care::answer(tx.conn(), s.id, &a, now).await? {
        return Err(AppError::Conflict("care.error.answered"));
    }
    if care::is_low(overall as u8) {
        let rules = stored_rules(tx.conn()).await?;
        if let Some(p) = care::after_low_score(&rules, s.id, local_day(now)) {
            let task = new_task(s.customer_id, s.region_code.clone(), p, s.order_id, Some(s.id));
            let backend = tx.backend();
            store::care::insert_tasks(tx.conn(), backend, &[task], now).await?;
        }
    }
    let actor = Actor {
        user_id: None,
        label: "customer (survey link)".into(),
        roles: vec![],
        region_code: None,
        ip: Some(ip.to_string()),
        request_id: None,
    };
    let after = store::care::survey(tx.conn(), s.id).await?;
    audit::record(&mut tx, &actor, now, "answer", "survey", &s.id.to_string(), Some(&s), after.as_ref()).await?;
    tx.commit().await?;
    Ok(())
}

/// The surveys of an order, for whoever may see the order.
pub async fn surveys_of_order(db: &Db, order_id: i64) -> AppResult<Vec<Survey>> {
    let mut c = db.read().await?;
    Ok(store::care::surveys_of_order(c.conn(), order_id).await?)
}

// ------------------------------------------------------------------ satisfaction

pub const TARGET_KEY: &str = "satisfaction_target_pct";
/// RULES §7: satisfaction ≥ 90 % per quarter unless the company sets another target.
pub const DEFAULT_TARGET: f64 = 90.0;

pub async fn target(db: &Db) -> AppResult<f64> {
    let mut c = db.read().await?;
    Ok(store::settings::get(c.conn(), TARGET_KEY).await?.and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_TARGET))
}

pub async fn set_target(db: &Db, actor: &Actor, pct: f64) -> AppResult<()> {
    actor.require(Perm::ManageCare)?;
    if !(pct.is_finite() && (1.0..=100.0).contains(&pct)) {
        return Err(AppError::one("target", "care.error.target"));
    }
    let before = target(db).await?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    store::settings::set(tx.conn(), TARGET_KEY, &pct.to_string()).await?;
    audit::record(&mut tx, actor, now, "update", "setting", TARGET_KEY, Some(&before), Some(&pct)).await?;
    tx.commit().await?;
    Ok(())
}

/// A group's satisfaction against the target.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RateRow {
    /// The group's key (engineer id, region code, category, request kind, or the quarter `2026-Q4`).
    pub key: Option<String>,
    pub responses: u64,
    pub satisfied: u64,
    /// Satisfied answers per 100 (4 or 5 out of 5); none without answers.
    pub percent: Option<f64>,
    pub meets_target: Option<bool>,
}

fn rate_row(key: Option<String>, responses: i64, satisfied: i64, target: f64) -> RateRow {
    let r = care::Rate { responses: responses.max(0) as u64, satisfied: satisfied.max(0) as u64 };
    RateRow { key, responses: r.responses, satisfied: r.satisfied, percent: r.percent(), meets_target: r.meets(target) }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Satisfaction {
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    pub target: f64,
    /// The rule applied: which scores count as satisfied, and where the target comes from.
    pub basis: String,
    pub total: RateRow,
    pub groups: Vec<RateRow>,
}

pub fn parse_group(s: &str) -> Option<GroupBy> {
    Some(match s {
        "" | "all" => GroupBy::All,
        "engineer" => GroupBy::Engineer,
        "region" => GroupBy::Region,
        "category" => GroupBy::Category,
        "kind" => GroupBy::RequestKind,
        _ => return None,
    })
}

/// Satisfaction of surveys answered on `from..=to` (company days), grouped by `by`.
pub async fn satisfaction(
    db: &Db,
    actor: &Actor,
    from: NaiveDate,
    to: NaiveDate,
    by: GroupBy,
) -> AppResult<Satisfaction> {
    actor.require(Perm::FollowUp)?;
    if to < from {
        return Err(AppError::one("to", "care.error.period"));
    }
    let target = target(db).await?;
    let (start, end) = (super::work_orders::midnight(from), super::work_orders::midnight(to + TimeDelta::days(1)));
    let threshold = i32::from(care::SATISFIED_FROM);
    let mut c = db.read().await?;
    let total = store::care::rates(c.conn(), start, end, GroupBy::All, threshold).await?;
    let (n, s) = total.first().map(|t| (t.1, t.2)).unwrap_or_default();
    let groups = if by == GroupBy::All {
        vec![]
    } else {
        store::care::rates(c.conn(), start, end, by, threshold)
            .await?
            .into_iter()
            .map(|(k, n, s)| rate_row(k, n, s, target))
            .collect()
    };
    Ok(Satisfaction {
        from,
        to,
        target,
        basis: format!("RULES §7: {}–5 / 5 = satisfied; target {target} %", care::SATISFIED_FROM),
        total: rate_row(None, n, s, target),
        groups,
    })
}

/// The four quarters of `year`, each against the target.
pub async fn quarters(db: &Db, actor: &Actor, year: i32) -> AppResult<Vec<RateRow>> {
    actor.require(Perm::FollowUp)?;
    let target = target(db).await?;
    let threshold = i32::from(care::SATISFIED_FROM);
    let mut c = db.read().await?;
    let mut out = vec![];
    for q in 1..=4 {
        let (first, last) = care::quarter_range(year, q).ok_or_else(|| AppError::one("year", "care.error.period"))?;
        let rows = store::care::rates(
            c.conn(),
            super::work_orders::midnight(first),
            super::work_orders::midnight(last + TimeDelta::days(1)),
            GroupBy::All,
            threshold,
        )
        .await?;
        let (n, s) = rows.first().map(|t| (t.1, t.2)).unwrap_or_default();
        out.push(rate_row(Some(format!("{year}-Q{q}")), n, s, target));
    }
    Ok(out)
}

/// Answered surveys of a period, newest first.
pub async fn answers(db: &Db, actor: &Actor, from: NaiveDate, to: NaiveDate, limit: i64) -> AppResult<Vec<Survey>> {
    actor.require(Perm::FollowUp)?;
    let mut c = db.read().await?;
    let rows = store::care::answered_between(
        c.conn(),
        super::work_orders::midnight(from),
        super::work_orders::midnight(to + TimeDelta::days(1)),
        limit.clamp(1, 500),
    )
    .await?;
    Ok(rows.into_iter().filter(|s| super::archive::visible(actor, &s.region_code)).collect())
}

// ------------------------------------------------------------------ the visit queue

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Open tasks due today or within the week, of the agent's region.
    Due,
    /// Open tasks assigned to the agent.
    Mine,
    /// Open tasks whose due day has passed.
    Missed,
}

impl View {
    pub fn parse(s: &str) -> Option<View> {
        Some(match s {
            "" | "due" => View::Due,
            "mine" => View::Mine,
            "missed" => View::Missed,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Queue {
    pub tasks: Vec<VisitTask>,
    /// Pass as `after` for the next page.
    pub next_after: Option<String>,
    /// Open tasks past their due day in the agent's scope (counted up to 1,000).
    pub missed: i64,
}

/// Days ahead the "due" view shows.
pub const QUEUE_DAYS: i64 = 7;

pub async fn queue(db: &Db, actor: &Actor, view: View, after: Option<&str>, limit: i64) -> AppResult<Queue> {
    actor.require(Perm::FollowUp)?;
    let today = today();
    let after = match after.filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => {
            let parsed = a.split_once('~').and_then(|(d, id)| Some((d.parse().ok()?, id.parse().ok()?)));
            Some(parsed.ok_or_else(|| AppError::one("after", "error.invalid"))?)
        }
    };
    let limit = limit.clamp(1, 200);
    let mut c = db.read().await?;
    // A region user's queue is their region's; everyone else's merges every region's.
    let regions: Arc<Vec<Option<String>>> = match super::archive::region_scope(actor) {
        Some(r) => Arc::new(vec![Some(r)]),
        None => all_regions(db, &mut c).await?,
    };
    // One agent's or one region's queue walks its own index; several regions are merged.
    let scope = match (view, &regions[..]) {
        (View::Mine, _) => Some(Scope::Assignee(actor.user_id.ok_or(AppError::Forbidden)?)),
        (View::Due | View::Missed, [region]) => Some(Scope::Region(region.clone())),
        (View::Due | View::Missed, _) => None,
    };
    let due_to = match view {
        View::Due => today + TimeDelta::days(QUEUE_DAYS),
        View::Mine => today + TimeDelta::days(3660),
        View::Missed => today - TimeDelta::days(1),
    };
    // Missed visits of the whole scope, counted up to a cap, in the page's own statement.
    let m = store::care::Missed { regions: &regions, day: today, cap: 1000 };
    let (mut tasks, missed) = if let Some(scope) = scope {
        let f = QueueFilter { scope, due_to, after, limit: limit + 1 };
        store::care::queue(c.conn(), &f, &m).await?
    } else {
        store::care::queue_of_regions(c.conn(), &regions, due_to, after, limit + 1, &m).await?
    };
    let next_after = if tasks.len() as i64 > limit {
        tasks.truncate(limit as usize);
        tasks.last().map(|t| format!("{}~{}", t.due_on, t.id))
    } else {
        None
    };
    let missed = match missed {
        Some(n) => n,
        None => store::care::count_missed(c.conn(), &m).await?,
    };
    Ok(Queue { tasks, next_after, missed })
}

/// Every region and "no region", the scope of a user not limited to one. Read again every
/// minute per database: the merged queue needs them on every page, and regions are only added
/// by `aftersales demo` and `gen`, so another instance sees a new one within a minute.
async fn all_regions(db: &Db, c: &mut crate::db::ReadConn) -> AppResult<Arc<Vec<Option<String>>>> {
    static CACHE: LazyLock<super::Cached<String, Vec<Option<String>>>> =
        LazyLock::new(|| super::Cached::new(Duration::from_secs(60)));
    CACHE
        .get_or(db.identity(), || async {
            let codes = store::settings::regions(c.conn()).await?.into_iter().map(|r| Some(r.code));
            Ok(std::iter::once(None).chain(codes).collect())
        })
        .await
}

async fn visible_task(db: &Db, actor: &Actor, id: i64) -> AppResult<VisitTask> {
    actor.require(Perm::FollowUp)?;
    let mut c = db.read().await?;
    let t = store::care::get_task(c.conn(), id).await?.ok_or(AppError::NotFound)?;
    if !super::archive::visible(actor, &t.region_code) && t.assignee_id != actor.user_id {
        return Err(AppError::NotFound);
    }
    Ok(t)
}

pub async fn task(db: &Db, actor: &Actor, id: i64) -> AppResult<VisitTask> {
    visible_task(db, actor, id).await
}

pub const CHANNELS: [&str; 4] = ["phone", "letter", "email", "on_site"];
pub const OUTCOMES: [&str; 3] = ["reached", "unreachable", "declined"];

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct OutcomeInput {
    pub version: i64,
    /// phone | letter | email | on_site
    #[serde(default)]
    pub channel: String,
    /// reached | unreachable | declined
    #[serde(default)]
    pub outcome: String,
    /// What the customer needs (new requests are opened from the task).
    #[serde(default)]
    pub needs: String,
    #[serde(default)]
    pub note: String,
}

/// Records a visit's outcome; the task is done.
pub async fn record(db: &Db, actor: &Actor, id: i64, input: &OutcomeInput) -> AppResult<VisitTask> {
    let before = visible_task(db, actor, id).await?;
    let mut errors = vec![];
    if !CHANNELS.contains(&input.channel.as_str()) {
        errors.push(field_error("channel", "care.error.channel"));
    }
    if !OUTCOMES.contains(&input.outcome.as_str()) {
        errors.push(field_error("outcome", "care.error.outcome"));
    }
    for (field, v) in [("needs", &input.needs), ("note", &input.note)] {
        if v.chars().count() > 2000 {
            errors.push(field_error(field, "error.too_long"));
        }
    }
    AppError::check(errors)?;
    if before.status != "open" {
        return Err(AppError::Conflict("care.error.task_closed"));
    }
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let o = store::care::Outcome {
        id,
        version: input.version,
        channel: &input.channel,
        outcome: &input.outcome,
        needs: input.needs.trim(),
        note: input.note.trim(),
        done_by: actor.user_id,
        done_on: local_day(now),
    };
    if !store::care::record_outcome(tx.conn(), &o, now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    let after = store::care::get_task(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record(&mut tx, actor, now, "visit", "visit_task", &id.to_string(), Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

/// Takes a task into one's own queue (`take`) or gives it back.
pub async fn assign(db: &Db, actor: &Actor, id: i64, version: i64, take: bool) -> AppResult<VisitTask> {
    let before = visible_task(db, actor, id).await?;
    let assignee = if take { Some(actor.user_id.ok_or(AppError::Forbidden)?) } else { None };
    let now = Utc::now();
    let mut tx = db.begin().await?;
    if !store::care::assign(tx.conn(), id, version, assignee).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    let after = store::care::get_task(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record(&mut tx, actor, now, "assign", "visit_task", &id.to_string(), Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

/// The revisit rate of the in-warranty rules over `from..=to` (days up to today).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RevisitRate {
    pub due: i64,
    pub done_on_time: i64,
    pub percent: Option<f64>,
    /// RULES §7: in-warranty revisit rate 100 %.
    pub target: f64,
    pub rules: Vec<String>,
}

pub async fn revisit_rate(db: &Db, actor: &Actor, from: NaiveDate, to: NaiveDate) -> AppResult<RevisitRate> {
    actor.require(Perm::FollowUp)?;
    let today = today();
    let to = to.min(today);
    let mut c = db.read().await?;
    let codes: Vec<String> = stored_rules(c.conn())
        .await?
        .into_iter()
        .filter(|r| r.condition == care::Condition::InWarranty)
        .map(|r| r.code)
        .collect();
    let (due, done) = if from <= to { store::care::revisit_counts(c.conn(), from, to).await? } else { (0, 0) };
    Ok(RevisitRate {
        due,
        done_on_time: done,
        percent: (due > 0).then(|| done as f64 * 100.0 / due as f64),
        target: 100.0,
        rules: codes,
    })
}

/// A customer's surveys and visits, for the time line.
pub async fn of_customer(db: &Db, customer_id: i64) -> AppResult<(Vec<Survey>, Vec<VisitTask>)> {
    let mut c = db.read().await?;
    let surveys = store::care::surveys_of_customer(c.conn(), customer_id, 50).await?;
    let tasks = store::care::tasks_of_customer(c.conn(), customer_id, 50).await?;
    Ok((surveys, tasks))
}
