//! Synthetic work orders: two years of requests on the generated units, most long closed, the
//! recent ones spread over every state of the flow, each with its time line, engineers of the
//! customer's region, fault codes of the product's category and the report's figures.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};

use super::after::AfterPlan;
use super::{Rng, address, mobile, person_name};
use crate::store::bulk::NewOrder;
use crate::store::sla::{ClockRow, Escalation};
use rules::calendar::CompiledCalendar;
use rules::sla::{Clock, ClockState, Milestone, SlaPolicy};

pub const ORDER_BATCH: u64 = 10_000;
const SPAN_DAYS: i64 = 730;

/// An engineer orders can go to.
pub struct GenEngineer {
    pub id: i64,
    /// How the time line names them.
    pub label: String,
    pub region: Option<String>,
    /// The engineer's team: his orders count for it.
    pub team: Option<i64>,
}

pub struct OrderPlan {
    pub seed: u64,
    pub first_id: i64,
    pub total: u64,
    pub now: DateTime<Utc>,
    /// (unit, customer, region, category)
    pub units: Arc<Vec<crate::store::bulk::UnitFact>>,
    pub engineers: Vec<GenEngineer>,
    pub by_region: HashMap<String, Vec<usize>>,
    pub faults: HashMap<String, Vec<&'static str>>,
    /// Orders from this index on are the open backlog: registered in the last two days and
    /// still in the flow.
    pub backlog_from: u64,
    /// The SLA policy every generated order counts on, and its calendar.
    pub policy: SlaPolicy,
    pub calendar: CompiledCalendar,
    /// The complaint policy complaints about the orders cite, and its version.
    pub complaint_policy: rules::complaint::ComplaintPolicy,
    pub complaint_policy_version: i64,
}

/// A generated order's clocks, the steps already sent for them, and its most urgent instants.
struct Kept {
    clocks: Vec<ClockRow>,
    sent: Vec<Escalation>,
    due: Option<DateTime<Utc>>,
    warn: Option<DateTime<Utc>>,
}

/// Open statuses of the backlog.
const BACKLOG: &[(&str, u64)] = &[
    ("review", 3),
    ("open", 30),
    ("assigned", 25),
    ("accepted", 12),
    ("travelling", 5),
    ("on_site", 15),
    ("waiting_customer", 5),
    ("waiting_approval", 5),
];

pub(super) fn weighted<T: Copy>(rng: &mut Rng, items: &[(T, u64)]) -> T {
    let total: u64 = items.iter().map(|i| i.1).sum();
    let mut n = rng.below(total);
    for &(v, w) in items {
        if n < w {
            return v;
        }
        n -= w;
    }
    items[items.len() - 1].0
}

const KINDS: &[(&str, u64)] = &[
    ("repair", 60),
    ("maintenance", 14),
    ("installation", 12),
    ("consultation", 7),
    ("training", 2),
    ("return", 3),
    ("exchange", 2),
];
const CHANNELS: &[(&str, u64)] =
    &[("hotline", 50), ("web", 15), ("email", 10), ("letter", 5), ("walk_in", 10), ("visit", 10)];
const PRIORITIES: &[(&str, u64)] = &[("normal", 70), ("high", 20), ("low", 5), ("urgent", 5)];
/// Where orders of the last week stand (the older ones are almost all closed).
const RECENT: &[(&str, u64)] = &[
    ("review", 3),
    ("open", 14),
    ("assigned", 14),
    ("accepted", 8),
    ("travelling", 4),
    ("on_site", 7),
    ("waiting_customer", 3),
    ("waiting_approval", 2),
    ("completed", 30),
    ("closed", 10),
    ("cancelled", 5),
];

fn problems(category: &str) -> &'static [&'static str] {
    match category {
        "air_conditioner" => &[
            "空调不制冷，室外机有异响",
            "室内机漏水，滴到地板上",
            "开机几分钟后自动停机，显示故障代码",
            "遥控器失灵，面板无反应",
            "制热效果差，出风不热",
            "运行噪音大，晚上影响休息",
        ],
        "compressor" => &[
            "螺杆机排气温度高报警",
            "机组油压低停机",
            "电机过载保护频繁跳闸",
            "运行时振动大，有金属摩擦声",
            "年度保养：更换油过滤器和油分芯",
        ],
        "vehicle" => &["仪表提示动力电池故障", "快充无法启动，慢充正常", "加速时驱动电机有异响", "续航里程明显下降"],
        _ => &["风扇通电后不转", "摇头功能失灵", "档位开关接触不良", "运行时有焦味"],
    }
}

const WORK_DONE: &[&str] = &[
    "检查并更换故障部件，试运行正常",
    "清洗保养，紧固接线，测试各项参数正常",
    "补充冷媒，检漏，试机正常",
    "更换控制板，恢复出厂设置后运行正常",
    "调整安装位置，重新固定，噪音消除",
    "现场讲解正确使用方法，客户确认无故障",
];

impl OrderPlan {
    pub fn batch(&self, b: u64) -> anyhow::Result<Vec<NewOrder>> {
        let mut rng = Rng::for_batch(self.seed, 3, b);
        let start = b * ORDER_BATCH;
        let end = (start + ORDER_BATCH).min(self.total);
        let n = (end - start) as usize;
        let mut secret = vec![[0u8; 12]; n];
        getrandom::fill(secret.as_flattened_mut()).context("the operating system's random source failed")?;
        let mut orders: Vec<NewOrder> = (0..n).map(|k| self.order(&mut rng, start + k as u64, &secret[k])).collect();
        // After the job, from a generator of its own: the orders stay what they were before
        // surveys and complaints were generated.
        let mut rng = Rng::for_batch(self.seed, 5, b);
        let after = AfterPlan {
            now: self.now,
            policy: &self.complaint_policy,
            policy_version: self.complaint_policy_version,
            calendar: &self.calendar,
        };
        for o in &mut orders {
            after.fill(&mut rng, o);
        }
        let surveys: usize = orders.iter().map(|o| o.surveys.len()).sum();
        let mut secret = vec![0u8; surveys * 16];
        getrandom::fill(&mut secret).context("the operating system's random source failed")?;
        for (k, s) in orders.iter_mut().flat_map(|o| o.surveys.iter_mut()).enumerate() {
            s.token = super::hex(&secret[k * 16..k * 16 + 16]);
        }
        Ok(orders)
    }

    fn order(&self, rng: &mut Rng, index: u64, secret: &[u8; 12]) -> NewOrder {
        let id = self.first_id + index as i64;
        // Ids grow with time, as they do in a live system: order `index` of `total` is that far
        // through the two years, give or take an hour.
        let span = Duration::days(SPAN_DAYS).num_seconds();
        let backlog = index >= self.backlog_from;
        let created_at = if backlog {
            // The backlog came in over the last two days, in id order.
            let n = (self.total - self.backlog_from).max(1) as i64;
            self.now - Duration::seconds(2 * 86_400 - 2 * 86_400 * (index - self.backlog_from) as i64 / n)
        } else {
            let offset = span * index as i64 / self.backlog_from.max(1) as i64 - rng.below(3600) as i64;
            self.now - Duration::seconds(span) + Duration::seconds(offset.max(0))
        };
        let age_days = (self.now - created_at).num_days();
        let &(unit_id, customer_id, ref region, ref category) = rng.pick(&self.units[..]);
        let kind = weighted(rng, KINDS);
        let status = if backlog {
            weighted(rng, BACKLOG)
        } else if age_days > 30 {
            weighted(rng, &[("closed", 90), ("completed", 4), ("cancelled", 6)])
        } else if age_days > 7 {
            weighted(
                rng,
                &[
                    ("closed", 60),
                    ("completed", 25),
                    ("cancelled", 5),
                    ("on_site", 4),
                    ("waiting_approval", 3),
                    ("assigned", 3),
                ],
            )
        } else {
            weighted(rng, RECENT)
        };
        let english = rng.percent(3);
        let (contact_name, _) = person_name(rng, english);
        let contact_phone = mobile(rng);
        let home = rng.percent(40);
        let address = address(rng, home);
        let problem = *rng.pick(problems(category));
        let entitlement = match kind {
            "repair" | "return" | "exchange" => {
                weighted(rng, &[("free", 55), ("paid", 35), ("exchange", 5), ("none", 5)])
            }
            _ => weighted(rng, &[("none", 50), ("free", 30), ("paid", 20)]),
        };
        let requested_at = rng.percent(40).then(|| created_at + Duration::hours(rng.range(4, 72) as i64));
        // How far along the flow the order got.
        let reached = |s: &str| -> bool {
            let order = ["open", "assigned", "accepted", "travelling", "on_site", "completed", "closed"];
            let at = |x: &str| order.iter().position(|o| *o == x);
            match (at(status), at(s)) {
                (Some(a), Some(b)) => a >= b,
                _ => matches!(status, "waiting_customer" | "waiting_approval") && at(s).is_some_and(|b| b <= 4),
            }
        };
        let engineer = if reached("assigned") && status != "cancelled" {
            let pool = region.as_ref().and_then(|r| self.by_region.get(r)).filter(|p| !p.is_empty());
            let i = match pool {
                Some(p) => *rng.pick(p),
                None => rng.below(self.engineers.len() as u64) as usize,
            };
            self.engineers.get(i)
        } else {
            None
        };
        let engineer = if self.engineers.is_empty() { None } else { engineer };
        let mut t = created_at;
        fn step(rng: &mut Rng, t: &mut DateTime<Utc>, min_minutes: u64, max_minutes: u64) -> DateTime<Utc> {
            *t += Duration::minutes(rng.range(min_minutes, max_minutes) as i64);
            *t
        }
        let assigned_at = engineer.map(|_| step(rng, &mut t, 10, 240));
        let scheduled_at = assigned_at.map(|a| requested_at.unwrap_or(a + Duration::hours(20)));
        let accepted_at = (engineer.is_some() && reached("accepted")).then(|| step(rng, &mut t, 5, 60));
        let arrived_at = (engineer.is_some() && reached("on_site")).then(|| step(rng, &mut t, 60, 1440));
        let completed_at = (engineer.is_some() && reached("completed")).then(|| step(rng, &mut t, 30, 240));
        let closed_at = (engineer.is_some() && reached("closed")).then(|| step(rng, &mut t, 600, 4320));
        let cancelled_at = (status == "cancelled").then(|| step(rng, &mut t, 30, 2880));
        let status = if engineer.is_none() && reached("assigned") && status != "cancelled" { "open" } else { status };
        let fault_code = completed_at.and_then(|_| {
            if kind == "repair" { self.faults.get(category.as_str()).map(|f| *rng.pick(f)) } else { None }
        });
        let done = completed_at.is_some();
        let paid = entitlement == "paid";
        let labour_minutes = done.then(|| rng.range(20, 240) as i64);
        let parts_cents = if done && paid { rng.range(50, 3000) as i64 * 100 } else { 0 };
        let labour_cents = if done && paid { rng.range(1, 8) as i64 * 5000 } else { 0 };
        let who = engineer.map(|e| e.label.clone()).unwrap_or_default();
        let mut events = vec![(
            "create",
            None,
            if status == "review" { "review" } else { "open" },
            created_at,
            "dispatcher".to_string(),
        )];
        let mut from = "open";
        for (action, to, at, actor) in [
            ("assign", "assigned", assigned_at, "dispatcher"),
            ("accept", "accepted", accepted_at, who.as_str()),
            ("arrive", "on_site", arrived_at, who.as_str()),
            ("complete", "completed", completed_at, who.as_str()),
            ("close", "closed", closed_at, "dispatcher"),
        ] {
            if let Some(at) = at {
                events.push((action, Some(from), to, at, actor.to_string()));
                from = to;
            }
        }
        if matches!(status, "travelling" | "waiting_customer" | "waiting_approval") {
            let action = match status {
                "travelling" => "start_travel",
                "waiting_customer" => "send_quote",
                _ => "request_approval",
            };
            events.push((action, Some(from), status, step(rng, &mut t, 10, 120), who.clone()));
        }
        if let Some(at) = cancelled_at {
            events.push(("cancel", Some(from), "cancelled", at, "dispatcher".to_string()));
        }
        let kept = self.clocks(id, created_at, requested_at, &events);
        NewOrder {
            clocks: kept.clocks,
            escalations: kept.sent,
            sla_due_at: kept.due,
            sla_warn_at: kept.warn,
            id,
            status,
            channel: weighted(rng, CHANNELS),
            kind,
            priority: weighted(rng, PRIORITIES),
            customer_id,
            unit_id,
            region_code: region.clone(),
            category_code: category.clone(),
            contact_name,
            contact_phone,
            address,
            problem,
            requested_at,
            entitlement,
            engineer_id: engineer.map(|e| e.id),
            team_id: engineer.and_then(|e| e.team),
            scheduled_at,
            assigned_at,
            accepted_at,
            arrived_at,
            completed_at,
            closed_at,
            cancelled_at,
            fault_code,
            work_done: if done { WORK_DONE[rng.below(WORK_DONE.len() as u64) as usize] } else { "" },
            labour_minutes,
            travel_km: done.then(|| rng.range(1, 120) as i64),
            parts_cents,
            labour_cents,
            collected_cents: parts_cents + labour_cents,
            rating: done.then(|| weighted(rng, &[(5, 70), (4, 20), (3, 6), (2, 2), (1, 2)])),
            public_token: crate::service::tracking_token_from(created_at, secret),
            created_at,
            events,
            surveys: vec![],
            complaints: vec![],
        }
    }

    /// The order's SLA clocks as the app would have kept them: stopped by the milestones of its
    /// time line, cancelled with the order, breaches recorded with the step the order was at
    /// when the clock ran out, and the warnings and escalations of running clocks recorded as
    /// sent when they came (their notices are not generated), so a sweeper starts with what is
    /// still ahead.
    fn clocks(
        &self,
        id: i64,
        created_at: DateTime<Utc>,
        requested_at: Option<DateTime<Utc>>,
        events: &[crate::store::bulk::GenEvent],
    ) -> Kept {
        let at = |action: &str| events.iter().find(|e| e.0 == action).map(|e| e.3);
        let assigned = at("assign").or_else(|| at("send_quote"));
        let arrived = at("arrive");
        let completed = at("complete");
        let closed = at("close");
        let cancelled = at("cancel");
        let mut rows = vec![];
        let mut sent = vec![];
        let (mut due_min, mut warn_min): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = (None, None);
        for target in &self.policy.targets {
            let stop = match target.stops_at() {
                Milestone::Replied => assigned.or(arrived).or(completed),
                Milestone::Arrived => arrived.or(completed),
                Milestone::Completed => completed,
                Milestone::Closed => closed,
            };
            let was_cancelled = stop.is_none() && cancelled.is_some();
            let stopped_at = stop.or(cancelled);
            let deadline = requested_at.filter(|r| target.honours_requested_time() && *r > created_at);
            let clock = Clock {
                target,
                calendar: &self.calendar,
                started_at: created_at,
                pauses: &[],
                stopped_at,
                requested_by: deadline,
            };
            let r = clock.evaluate(self.now);
            let breached_at = (r.state.is_breach() && !was_cancelled).then_some(r.due_at).flatten();
            // Where the order stood when the clock ran out.
            let cause = breached_at.map(|due| {
                let before = |t: Option<DateTime<Utc>>| t.is_none_or(|t| t > due);
                if before(assigned) {
                    "dispatch"
                } else if before(at("accept")) {
                    "acceptance"
                } else if before(arrived) {
                    "travel"
                } else {
                    "repair"
                }
            });
            let next_check_at = if was_cancelled || r.state.is_stopped() || r.paused {
                None
            } else {
                let steps = clock.step_instants(&self.policy.escalation, self.now);
                for (step, when) in self.policy.escalation.iter().zip(&steps) {
                    if let Some(when) = when.filter(|w| *w <= self.now) {
                        let target_s = r.target_seconds.max(1);
                        let used = (when - created_at).num_seconds();
                        sent.push(Escalation {
                            order_id: id,
                            target: target.code.clone(),
                            step_key: step.key(),
                            notify_role: step.notify_role.clone(),
                            kind: crate::service::sla::step_kind(step).to_owned(),
                            at: when,
                            percent_used: used * 100 / target_s,
                            recipients: 0,
                        });
                    }
                }
                let mut ahead: Vec<DateTime<Utc>> = steps.into_iter().flatten().collect();
                ahead.extend(r.due_at.filter(|_| r.state != ClockState::Breached));
                ahead.extend(r.warn_at.filter(|_| r.state == ClockState::Running));
                ahead.into_iter().filter(|t| *t > self.now).min()
            };
            if stopped_at.is_none() {
                due_min = r.due_at.map(|d| due_min.map_or(d, |m| m.min(d)));
                warn_min = r.warn_at.map(|w| warn_min.map_or(w, |m| m.min(w)));
            }
            let state = if was_cancelled { "cancelled" } else { crate::service::sla::state_code(r.state) };
            rows.push(ClockRow {
                order_id: id,
                target: target.code.clone(),
                policy_code: self.policy.code.clone(),
                policy_version: i64::from(self.policy.version),
                calendar_code: self.calendar_code(),
                started_at: created_at,
                stopped_at,
                deadline,
                state: state.to_owned(),
                due_at: r.due_at,
                warn_at: r.warn_at,
                next_check_at,
                used_seconds: r.used_seconds,
                target_seconds: r.target_seconds,
                breached_at,
                breach_cause: cause.map(str::to_owned),
                breach_note: String::new(),
            });
        }
        Kept { clocks: rows, sent, due: due_min, warn: warn_min }
    }

    fn calendar_code(&self) -> String {
        crate::service::sla::DEFAULT_CALENDAR.to_owned()
    }
}
