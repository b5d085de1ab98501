//! SLA clocks (服务时限): the targets a policy sets on an order (first reply, on-site arrival,
//! resolution, …), their evaluation against a working calendar with pauses, warnings and the
//! escalation chain, and compliance figures.
//!
//! Everything is a pure function of the stored facts (start, pauses, stop, now), so the app can
//! re-evaluate a clock at any time, store `warn_at` / `due_at` as indexed columns, and let a
//! sweeper look only at rows whose instants have passed.
//!
//! Pause semantics: only pauses whose reason the target lists in `pause_on` count. They are
//! clipped to the clock's life (start to stop), an open pause ends at `now` (or at the stop),
//! and overlapping or touching pauses are merged, so a period waiting for both the customer and
//! parts is not subtracted twice. Paused time is measured in the clock's mode: working time
//! for a working clock (a pause over a weekend moves nothing), real time for an elapsed one.
//! The due time moves later by exactly the paused time, so pausing never makes it earlier.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::FieldError;
use crate::calendar::{CompiledCalendar, valid_code};

const SECOND: i64 = 1_000_000;
/// Ten years: any longer target is a typing error, and it bounds every search.
pub const MAX_TARGET_MINUTES: i64 = 10 * 366 * 24 * 60;
pub const DEFAULT_WARN_AT_PERCENT: u8 = 80;

/// Well-known pause reasons; policies may use others (any code).
pub mod reasons {
    pub const WAITING_CUSTOMER: &str = "waiting_customer";
    pub const WAITING_PARTS: &str = "waiting_parts";
    pub const WAITING_THIRD_PARTY: &str = "waiting_third_party";
}

/// Well-known target codes.
pub mod targets {
    pub const FIRST_REPLY: &str = "first_reply";
    pub const ON_SITE: &str = "on_site";
    pub const RESOLUTION: &str = "resolution";
}

/// Roles of the default escalation chain (the app's role codes).
pub mod roles {
    pub const DISPATCHER: &str = "dispatcher";
    pub const SERVICE_MANAGER: &str = "service_manager";
    pub const GENERAL_MANAGER: &str = "general_manager";
}

/// What an order reaches that keeps a promise, in the order an order reaches them. Reaching
/// one implies the earlier ones: an engineer on site has certainly answered the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Milestone {
    /// The customer was answered: a recorded reply, an engineer assigned with the appointment,
    /// or a quote sent.
    Replied,
    /// The engineer arrived on site.
    Arrived,
    /// The work is done and the report signed.
    Completed,
    /// The office archived the order.
    Closed,
}

impl Milestone {
    pub const ALL: [Milestone; 4] = [Milestone::Replied, Milestone::Arrived, Milestone::Completed, Milestone::Closed];

    pub const fn code(self) -> &'static str {
        match self {
            Milestone::Replied => "replied",
            Milestone::Arrived => "arrived",
            Milestone::Completed => "completed",
            Milestone::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Milestone> {
        Self::ALL.into_iter().find(|m| m.code() == s.trim())
    }

    pub const fn name_zh(self) -> &'static str {
        match self {
            Milestone::Replied => "答复客户",
            Milestone::Arrived => "到达现场",
            Milestone::Completed => "完工",
            Milestone::Closed => "关闭归档",
        }
    }

    pub const fn name_en(self) -> &'static str {
        match self {
            Milestone::Replied => "customer answered",
            Milestone::Arrived => "arrived on site",
            Milestone::Completed => "completed",
            Milestone::Closed => "closed",
        }
    }
}

/// How a clock counts time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockMode {
    /// Only working time of the calendar counts ("1 working hour").
    #[default]
    Working,
    /// Every minute counts ("within 24 hours").
    Elapsed,
}

/// One promise on an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaTarget {
    pub code: String,
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
    /// Length of the promise, in the mode's minutes.
    pub minutes: i64,
    #[serde(default)]
    pub mode: ClockMode,
    /// Pause reasons that stop this clock.
    #[serde(default)]
    pub pause_on: BTreeSet<String>,
    /// Share of the target at which the clock turns to warning; `null` for no warning.
    #[serde(default = "default_warn")]
    pub warn_at_percent: Option<u8>,
    /// The rule or commitment the target implements, shown with every breach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
    /// What keeps the promise; unset means the well-known target's own (first reply: replied,
    /// on site: arrived, anything else: completed). See [`SlaTarget::stops_at`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_on: Option<Milestone>,
    /// Whether a visit time the customer asked for replaces the target's length; unset means
    /// only for the on-site target (RULES §5: "within the time the customer asked for").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_time: Option<bool>,
}

fn default_warn() -> Option<u8> {
    Some(DEFAULT_WARN_AT_PERCENT)
}

/// Which orders a policy applies to; `None` matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_code: Option<String>,
}

/// A versioned set of targets and the escalation chain for matching orders. A decision made
/// with it cites `code` and `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaPolicy {
    pub code: String,
    pub version: u32,
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
    /// Calendar for working-time targets; `None` means the company's default calendar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
    #[serde(default)]
    pub applies_to: PolicyMatch,
    pub targets: Vec<SlaTarget>,
    #[serde(default = "default_escalation_chain")]
    pub escalation: Vec<EscalationStep>,
}

/// The facts of an order that select its policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderFacts<'a> {
    pub customer_class: Option<&'a str>,
    pub request_type: Option<&'a str>,
    pub priority: Option<&'a str>,
    pub contract_code: Option<&'a str>,
}

/// One escalation: notify a role once the clock has used `after_percent` % of its target, or
/// once it is `after_minutes_past_due` minutes (in the clock's mode) overdue; `0` means on
/// breach. Exactly one of the two is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_percent: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_minutes_past_due: Option<i64>,
    pub notify_role: String,
}

/// The default chain: dispatcher at 80 % (warning), service manager on breach, general
/// manager one working day (480 minutes of the cn-standard day) past due.
pub fn default_escalation_chain() -> Vec<EscalationStep> {
    vec![
        EscalationStep::at_percent(80, roles::DISPATCHER),
        EscalationStep::past_due(0, roles::SERVICE_MANAGER),
        EscalationStep::past_due(480, roles::GENERAL_MANAGER),
    ]
}

/// A pause on an order; `to == None` while it lasts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub reason: String,
    pub from: DateTime<Utc>,
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
}

/// Where a clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    Running,
    /// Inside a pause the target honours (and not yet breached).
    Paused,
    /// Past the warning threshold, not yet due.
    Warning,
    /// Past due and not stopped.
    Breached,
    /// Stopped at or before the due time.
    Met,
    /// Stopped after the due time (a breach that has been resolved).
    MetLate,
}

impl ClockState {
    pub fn is_breach(self) -> bool {
        matches!(self, Self::Breached | Self::MetLate)
    }

    pub fn is_stopped(self) -> bool {
        matches!(self, Self::Met | Self::MetLate)
    }
}

/// Inputs of one clock on one order.
#[derive(Debug, Clone, Copy)]
pub struct Clock<'a> {
    pub target: &'a SlaTarget,
    /// Used for working-mode targets; ignored by elapsed ones.
    pub calendar: &'a CompiledCalendar,
    pub started_at: DateTime<Utc>,
    /// All pauses of the order, any reason; the target picks the ones it honours.
    pub pauses: &'a [Pause],
    /// When the promise was met (reply sent, engineer arrived, order resolved).
    pub stopped_at: Option<DateTime<Utc>>,
    /// A deadline the customer asked for ("come on Friday at 10:00"). It replaces the target's
    /// length: the clock then runs in elapsed time to that instant (moved by pauses). Ignored
    /// unless after `started_at`.
    pub requested_by: Option<DateTime<Utc>>,
}

/// A clock evaluated at `now`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClockResult {
    pub target: String,
    pub mode: ClockMode,
    pub state: ClockState,
    pub started_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
    pub evaluated_at: DateTime<Utc>,
    /// When the target is used up, given the pauses known so far. An open pause is taken to
    /// end now, so while it lasts this moves later with `now`; nothing can fire while paused,
    /// so a sweeper may skip paused clocks and re-evaluate when the pause ends. `None` only if
    /// the instant is unreachable (no working time ahead).
    pub due_at: Option<DateTime<Utc>>,
    /// When the warning threshold is (or was) reached; `None` without a warning threshold.
    pub warn_at: Option<DateTime<Utc>>,
    /// Length of the target in seconds of the clock's mode.
    pub target_seconds: i64,
    /// Counted time from start to stop (or now), pauses excluded, rounded down.
    pub used_seconds: i64,
    /// Time in honoured pauses, in the clock's mode, rounded down.
    pub paused_seconds: i64,
    pub used_minutes: i64,
    /// `target - used`, rounded up so that a clock shows a minute left until it is really
    /// over; negative when overdue.
    pub left_minutes: i64,
    pub percent_used: f64,
    /// Inside an honoured pause right now.
    pub paused: bool,
    /// Counting right now: not stopped, not paused, and (working mode) inside working hours.
    pub ticking: bool,
}

/// An escalation step that is due for a clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DueStep<'a> {
    /// Position in the chain.
    pub index: usize,
    /// Stable key to record the step once per clock ([`EscalationStep::key`]).
    pub key: String,
    pub step: &'a EscalationStep,
}

/// Met and breached counts of a set of clocks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Compliance {
    pub total: usize,
    pub met: usize,
    /// Stopped late.
    pub met_late: usize,
    /// Overdue and still open.
    pub breached_open: usize,
    /// `met_late + breached_open`.
    pub breached: usize,
    /// Open and not yet due: not decided, so not in the rate.
    pub open: usize,
    /// `met / (met + breached)` in percent; `None` when nothing is decided yet.
    pub rate_percent: Option<f64>,
}

impl EscalationStep {
    pub fn at_percent(percent: u32, role: &str) -> Self {
        Self { after_percent: Some(percent), after_minutes_past_due: None, notify_role: role.to_owned() }
    }

    pub fn past_due(minutes: i64, role: &str) -> Self {
        Self { after_percent: None, after_minutes_past_due: Some(minutes), notify_role: role.to_owned() }
    }

    /// A key that stays the same when steps are reordered or the policy gets a new version,
    /// so a step already sent for a clock is not sent again.
    pub fn key(&self) -> String {
        match (self.after_percent, self.after_minutes_past_due) {
            (Some(p), _) => format!("pct{p}:{}", self.notify_role),
            (None, Some(m)) => format!("due+{m}:{}", self.notify_role),
            (None, None) => format!("none:{}", self.notify_role),
        }
    }

    /// Counted seconds at which the step fires, for a target of `target_seconds`.
    fn threshold_seconds(&self, target_seconds: i64) -> Option<i64> {
        match (self.after_percent, self.after_minutes_past_due) {
            (Some(p), None) => Some(percent_of(target_seconds, i64::from(p))),
            (None, Some(m)) => Some(target_seconds.saturating_add(m.saturating_mul(60))),
            _ => None,
        }
    }

    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        match (self.after_percent, self.after_minutes_past_due) {
            (Some(p), None) if !(1..=1000).contains(&p) => errors.push(FieldError::new(
                format!("{path}.after_percent"),
                "百分比须在 1–1000 之间",
                "percent must be 1–1000",
            )),
            (None, Some(m)) if !(0..=MAX_TARGET_MINUTES).contains(&m) => errors.push(FieldError::new(
                format!("{path}.after_minutes_past_due"),
                "超时分钟数须为 0 或正数",
                "minutes past due must be 0 or more",
            )),
            (Some(_), None) | (None, Some(_)) => {}
            _ => errors.push(FieldError::new(
                path.to_owned(),
                "请设置 after_percent 或 after_minutes_past_due 中的一项",
                "set exactly one of after_percent and after_minutes_past_due",
            )),
        }
        if !valid_code(&self.notify_role) {
            errors.push(FieldError::new(
                format!("{path}.notify_role"),
                "请填写要通知的角色代码",
                "notify_role must be a role code",
            ));
        }
    }
}

/// `ceil(seconds × percent / 100)`: thresholds are whole seconds, so a threshold instant and
/// the check on `used_seconds` agree exactly.
fn percent_of(seconds: i64, percent: i64) -> i64 {
    let scaled = i128::from(seconds) * i128::from(percent);
    i64::try_from(-(-scaled).div_euclid(100)).unwrap_or(i64::MAX)
}

/// `ceil(a / b)` for `b > 0`; the signed `div_ceil` is not stable.
fn ceil_div(a: i64, b: i64) -> i64 {
    -(-a).div_euclid(b)
}

impl SlaTarget {
    pub fn new(code: &str, name_zh: &str, name_en: &str, minutes: i64, mode: ClockMode) -> Self {
        Self {
            code: code.to_owned(),
            name_zh: name_zh.to_owned(),
            name_en: name_en.to_owned(),
            minutes,
            mode,
            pause_on: BTreeSet::new(),
            warn_at_percent: default_warn(),
            basis: None,
            stop_on: None,
            requested_time: None,
        }
    }

    /// The milestone that stops this clock.
    pub fn stops_at(&self) -> Milestone {
        self.stop_on.unwrap_or(match self.code.as_str() {
            targets::FIRST_REPLY => Milestone::Replied,
            targets::ON_SITE => Milestone::Arrived,
            _ => Milestone::Completed,
        })
    }

    /// Whether the customer's requested visit time sets this clock's deadline.
    pub fn honours_requested_time(&self) -> bool {
        self.requested_time.unwrap_or(self.code == targets::ON_SITE)
    }

    pub fn pausing_on(mut self, reasons: &[&str]) -> Self {
        self.pause_on = reasons.iter().map(|r| (*r).to_owned()).collect();
        self
    }

    pub fn with_basis(mut self, basis: &str) -> Self {
        self.basis = Some(basis.to_owned());
        self
    }

    /// Checks the target, reporting fields under `path` (`policy.targets[0]`).
    pub fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        if !valid_code(&self.code) {
            errors.push(FieldError::new(
                format!("{path}.code"),
                "代码须为 1–64 位字母、数字、- 或 _",
                "code must be 1–64 letters, digits, - or _",
            ));
        }
        if self.name_zh.trim().is_empty() {
            errors.push(FieldError::new(format!("{path}.name_zh"), "请填写中文名称", "Chinese name is required"));
        }
        if !(1..=MAX_TARGET_MINUTES).contains(&self.minutes) {
            errors.push(FieldError::new(
                format!("{path}.minutes"),
                format!("时限须在 1–{MAX_TARGET_MINUTES} 分钟之间"),
                format!("minutes must be 1–{MAX_TARGET_MINUTES}"),
            ));
        }
        if self.warn_at_percent.is_some_and(|p| !(1..=99).contains(&p)) {
            errors.push(FieldError::new(
                format!("{path}.warn_at_percent"),
                "预警百分比须在 1–99 之间",
                "warn_at_percent must be 1–99",
            ));
        }
        for reason in &self.pause_on {
            if !valid_code(reason) {
                errors.push(FieldError::new(
                    format!("{path}.pause_on"),
                    format!("暂停原因代码“{reason}”无效"),
                    format!("bad pause reason code `{reason}`"),
                ));
            }
        }
    }
}

impl SlaPolicy {
    pub fn target(&self, code: &str) -> Option<&SlaTarget> {
        self.targets.iter().find(|t| t.code == code)
    }

    /// Every problem at once, each naming its field (`targets[1].minutes`).
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if !valid_code(&self.code) {
            errors.push(FieldError::new(
                "code",
                "代码须为 1–64 位字母、数字、- 或 _",
                "code must be 1–64 letters, digits, - or _",
            ));
        }
        if self.version == 0 {
            errors.push(FieldError::new("version", "版本号从 1 开始", "version starts at 1"));
        }
        if self.name_zh.trim().is_empty() {
            errors.push(FieldError::new("name_zh", "请填写中文名称", "Chinese name is required"));
        }
        if self.calendar.as_deref().is_some_and(|c| !valid_code(c)) {
            errors.push(FieldError::new("calendar", "日历代码无效", "bad calendar code"));
        }
        if self.targets.is_empty() {
            errors.push(FieldError::new("targets", "至少需要一个时限目标", "at least one target is required"));
        }
        for (i, target) in self.targets.iter().enumerate() {
            let path = format!("targets[{i}]");
            target.validate(&path, &mut errors);
            if self.targets[..i].iter().any(|t| t.code == target.code) {
                errors.push(FieldError::new(
                    format!("{path}.code"),
                    format!("目标代码“{}”重复", target.code),
                    format!("target code `{}` is used twice", target.code),
                ));
            }
        }
        for (i, step) in self.escalation.iter().enumerate() {
            step.validate(&format!("escalation[{i}]"), &mut errors);
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    /// `None` if the policy does not apply; otherwise how specific it is, ordered so that
    /// more conditions win and, among as many, contract > customer class > request type >
    /// priority (a contract is a promise to one customer; priority is the weakest signal).
    fn specificity(&self, facts: &OrderFacts) -> Option<(u32, u32)> {
        let m = &self.applies_to;
        let conditions = [
            (&m.contract_code, facts.contract_code, 8),
            (&m.customer_class, facts.customer_class, 4),
            (&m.request_type, facts.request_type, 2),
            (&m.priority, facts.priority, 1),
        ];
        let (mut count, mut weight) = (0, 0);
        for (wanted, actual, bit) in conditions {
            if let Some(wanted) = wanted {
                if actual != Some(wanted.as_str()) {
                    return None;
                }
                count += 1;
                weight |= bit;
            }
        }
        Some((count, weight))
    }
}

/// The most specific policy matching the order: most conditions met, then the stronger
/// conditions (see above), then the highest version, then the smallest code (so the choice
/// never depends on list order). `None` if none matches; a policy without conditions matches
/// every order and serves as the default.
pub fn select_policy<'p>(policies: &'p [SlaPolicy], facts: &OrderFacts) -> Option<&'p SlaPolicy> {
    policies
        .iter()
        .filter_map(|p| Some((p.specificity(facts)?, p)))
        .max_by(|(a, p), (b, q)| a.cmp(b).then(p.version.cmp(&q.version)).then(q.code.cmp(&p.code)))
        .map(|(_, p)| p)
}

/// Due instant of a plain (pause-free) clock in either mode, as the calendar API's `mode`
/// parameter asks: working minutes on the calendar, or plain minutes.
pub fn due_in_mode(
    calendar: &CompiledCalendar,
    mode: ClockMode,
    from: DateTime<Utc>,
    minutes: i64,
) -> Option<DateTime<Utc>> {
    match mode {
        ClockMode::Working => calendar.due(from, minutes),
        ClockMode::Elapsed if minutes >= 0 => from.checked_add_signed(chrono::TimeDelta::try_minutes(minutes)?),
        ClockMode::Elapsed => None,
    }
}

/// Counting helpers of one clock in µs.
struct Counter<'a> {
    mode: ClockMode,
    calendar: &'a CompiledCalendar,
    start: i64,
    /// Honoured pauses, clipped, merged and sorted; all start at or after `start`.
    pauses: Vec<(i64, i64)>,
}

impl Counter<'_> {
    fn span(&self, from: i64, to: i64) -> i64 {
        match self.mode {
            ClockMode::Working => self.calendar.working_micros(from, to),
            ClockMode::Elapsed => to.saturating_sub(from).max(0),
        }
    }

    fn advance(&self, from: i64, amount: i64) -> Option<i64> {
        match self.mode {
            ClockMode::Working => self.calendar.add_micros(from, amount),
            ClockMode::Elapsed => from.checked_add(amount),
        }
    }

    /// Counted time in `[start, until)`, without the pauses.
    fn used(&self, until: i64) -> i64 {
        let mut used = 0;
        let mut segment = self.start;
        for &(from, to) in &self.pauses {
            if from >= until {
                break;
            }
            used += self.span(segment, from);
            segment = segment.max(to);
        }
        used + self.span(segment, until)
    }

    fn paused(&self, until: i64) -> i64 {
        self.pauses.iter().take_while(|(from, _)| *from < until).map(|&(from, to)| self.span(from, to.min(until))).sum()
    }

    /// The earliest instant at which `amount` µs have been counted.
    fn reach(&self, amount: i64) -> Option<i64> {
        let mut left = amount;
        let mut segment = self.start;
        for &(from, to) in &self.pauses {
            if left <= 0 {
                break;
            }
            let available = self.span(segment, from);
            if left <= available {
                return self.advance(segment, left);
            }
            left -= available;
            segment = segment.max(to);
        }
        self.advance(segment, left)
    }
}

fn to_instant(us: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us)
}

impl Clock<'_> {
    fn counter(&self, now: DateTime<Utc>) -> Counter<'_> {
        let start = self.started_at.timestamp_micros();
        let stop = self.stopped_at.map(|s| s.timestamp_micros().max(start));
        let open_end = stop.unwrap_or_else(|| now.timestamp_micros());
        let mut pauses: Vec<(i64, i64)> = self
            .pauses
            .iter()
            .filter(|p| self.target.pause_on.contains(&p.reason))
            .map(|p| {
                let from = p.from.timestamp_micros().max(start);
                let to = p.to.map_or(open_end, |t| t.timestamp_micros());
                (from, stop.map_or(to, |s| to.min(s)))
            })
            .filter(|(from, to)| from < to)
            .collect();
        pauses.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(pauses.len());
        for (from, to) in pauses {
            match merged.last_mut() {
                Some(last) if from <= last.1 => last.1 = last.1.max(to),
                _ => merged.push((from, to)),
            }
        }
        let requested = self.requested_by.filter(|r| *r > self.started_at).is_some();
        Counter {
            mode: if requested { ClockMode::Elapsed } else { self.target.mode },
            calendar: self.calendar,
            start,
            pauses: merged,
        }
    }

    /// The promise's length in µs: up to the requested instant exactly, else the target's minutes.
    fn target_micros(&self) -> i64 {
        match self.requested_by.filter(|r| *r > self.started_at) {
            Some(r) => (r - self.started_at).num_microseconds().unwrap_or(i64::MAX).max(SECOND),
            None => self.target.minutes.saturating_mul(60).saturating_mul(SECOND),
        }
    }

    /// The length in whole seconds (rounded up), which thresholds are counted in.
    fn target_seconds(&self) -> i64 {
        ceil_div(self.target_micros(), SECOND)
    }

    /// The state of the clock at `now`.
    pub fn evaluate(&self, now: DateTime<Utc>) -> ClockResult {
        let counter = self.counter(now);
        let target_seconds = self.target_seconds();
        let target = self.target_micros();
        let due_at = counter.reach(target).and_then(to_instant);
        let warn_at = self.target.warn_at_percent.and_then(|p| {
            let threshold = percent_of(target_seconds, i64::from(p)).saturating_mul(SECOND);
            counter.reach(threshold).and_then(to_instant)
        });
        let until = self.stopped_at.unwrap_or(now).max(self.started_at).timestamp_micros();
        let used = counter.used(until);
        let paused_time = counter.paused(until);
        let paused = self.stopped_at.is_none()
            && self
                .pauses
                .iter()
                .any(|p| self.target.pause_on.contains(&p.reason) && p.from <= now && p.to.is_none_or(|to| now < to));
        let state = match self.stopped_at {
            Some(stop) if due_at.is_none_or(|due| stop <= due) => ClockState::Met,
            Some(_) => ClockState::MetLate,
            None if due_at.is_some_and(|due| now > due) => ClockState::Breached,
            None if paused => ClockState::Paused,
            None if warn_at.is_some_and(|warn| now >= warn) => ClockState::Warning,
            None => ClockState::Running,
        };
        let ticking = self.stopped_at.is_none()
            && !paused
            && now >= self.started_at
            && (counter.mode == ClockMode::Elapsed || self.calendar.is_working_time(now));
        let used_seconds = used / SECOND;
        ClockResult {
            target: self.target.code.clone(),
            mode: counter.mode,
            state,
            started_at: self.started_at,
            stopped_at: self.stopped_at,
            evaluated_at: now,
            due_at,
            warn_at,
            target_seconds,
            used_seconds,
            paused_seconds: paused_time / SECOND,
            used_minutes: used_seconds / 60,
            left_minutes: ceil_div((target - used).div_euclid(SECOND), 60),
            percent_used: used as f64 * 100.0 / target.max(1) as f64,
            paused,
            ticking,
        }
    }

    /// When each step of `chain` becomes due given the pauses known at `now` (`None` for an
    /// invalid step or an unreachable instant), so the app can store the next one as an
    /// indexed column. A past-due step fires just after its instant.
    pub fn step_instants(&self, chain: &[EscalationStep], now: DateTime<Utc>) -> Vec<Option<DateTime<Utc>>> {
        let counter = self.counter(now);
        let target_seconds = self.target_seconds();
        chain
            .iter()
            .map(|step| {
                let threshold = step.threshold_seconds(target_seconds)?;
                counter.reach(threshold.saturating_mul(SECOND)).and_then(to_instant)
            })
            .collect()
    }
}

/// The steps of `chain` that are due for an evaluated clock, in chain order. A stopped clock
/// has none (nobody needs telling about a promise already kept or closed; its breach is in
/// its state). The caller records each [`DueStep::key`] once per clock and skips keys it has
/// already sent, which also makes catching up after downtime safe.
pub fn due_steps<'a>(result: &ClockResult, chain: &'a [EscalationStep]) -> Vec<DueStep<'a>> {
    if result.state.is_stopped() {
        return Vec::new();
    }
    chain
        .iter()
        .enumerate()
        .filter(|(_, step)| {
            let Some(threshold) = step.threshold_seconds(result.target_seconds) else {
                return false;
            };
            match step.after_minutes_past_due {
                Some(_) => result.state == ClockState::Breached && result.used_seconds >= threshold,
                None => result.used_seconds >= threshold,
            }
        })
        .map(|(index, step)| DueStep { index, key: step.key(), step })
        .collect()
}

/// When a sweeper must look at an evaluated clock again: the warning threshold while it is
/// running, the due time until the breach is recorded, and every step of `chain` whose key is
/// not in `sent`. The earliest of these, which may already have passed (then it is due now).
/// `None` when nothing can happen before the order changes: stopped, paused (a paused clock
/// uses no time, so no threshold comes nearer), or no working time ahead.
pub fn next_check(
    clock: &Clock<'_>,
    result: &ClockResult,
    chain: &[EscalationStep],
    sent: &[&str],
) -> Option<DateTime<Utc>> {
    if result.state.is_stopped() || result.paused {
        return None;
    }
    let mut instants = vec![];
    if result.state == ClockState::Running {
        instants.push(result.warn_at);
    }
    if result.state != ClockState::Breached {
        instants.push(result.due_at);
    }
    let steps = clock.step_instants(chain, result.evaluated_at);
    for (step, at) in chain.iter().zip(steps) {
        if !sent.contains(&step.key().as_str()) {
            instants.push(at);
        }
    }
    instants.into_iter().flatten().min()
}

impl Compliance {
    pub fn from_states(states: impl IntoIterator<Item = ClockState>) -> Self {
        let mut c = Self::default();
        for state in states {
            c.total += 1;
            match state {
                ClockState::Met => c.met += 1,
                ClockState::MetLate => c.met_late += 1,
                ClockState::Breached => c.breached_open += 1,
                ClockState::Running | ClockState::Paused | ClockState::Warning => c.open += 1,
            }
        }
        c.breached = c.met_late + c.breached_open;
        let decided = c.met + c.breached;
        c.rate_percent = (decided > 0).then(|| c.met as f64 * 100.0 / decided as f64);
        c
    }
}

/// Compliance of a set of evaluated clocks.
pub fn compliance<'a>(results: impl IntoIterator<Item = &'a ClockResult>) -> Compliance {
    Compliance::from_states(results.into_iter().map(|r| r.state))
}

/// Policies shipped with the system, from RULES.md §5 and the seeds' objectives. Companies
/// copy and edit them; each names its basis.
pub fn builtin_policies() -> Vec<SlaPolicy> {
    use reasons::WAITING_CUSTOMER;
    let on_site = SlaTarget::new(targets::ON_SITE, "到达现场", "On site", 2 * 24 * 60, ClockMode::Elapsed)
        .pausing_on(&[WAITING_CUSTOMER])
        .with_basis("RULES §5: 按客户要求时间到达，否则 2 天内 / on site at the customer's time, else within 2 days");
    let resolution = SlaTarget::new(targets::RESOLUTION, "修复完成", "Resolution", 30 * 24 * 60, ClockMode::Elapsed)
        .pausing_on(&[WAITING_CUSTOMER])
        .with_basis("国经贸[1995]458号 第12条: 修理超过 30 日 / a repair over 30 days");
    vec![
        SlaPolicy {
            code: "standard".to_owned(),
            version: 1,
            name_zh: "标准服务时限".to_owned(),
            name_en: "Standard service times".to_owned(),
            calendar: None,
            applies_to: PolicyMatch::default(),
            targets: vec![
                SlaTarget::new(targets::FIRST_REPLY, "首次答复", "First reply", 24 * 60, ClockMode::Elapsed)
                    .with_basis("RULES §5: 24 小时内答复 / reply within 24 hours"),
                on_site.clone(),
                resolution.clone(),
            ],
            escalation: default_escalation_chain(),
        },
        SlaPolicy {
            code: "key-customer".to_owned(),
            version: 1,
            name_zh: "重点客户服务时限".to_owned(),
            name_en: "Key customer service times".to_owned(),
            calendar: None,
            applies_to: PolicyMatch { customer_class: Some("A".to_owned()), ..PolicyMatch::default() },
            targets: vec![
                SlaTarget::new(targets::FIRST_REPLY, "首次答复", "First reply", 60, ClockMode::Working)
                    .with_basis("RULES §7 目标: 1 个工作小时内答复 / reply within 1 working hour"),
                on_site,
                resolution,
            ],
            escalation: default_escalation_chain(),
        },
    ]
}
