//! After the job: follow-up visit schedules (回访, RULES §6) and satisfaction (满意度, RULES §7).
//!
//! The schedule is a pure function of the visit rules (data the company edits), a customer's
//! facts and a date window. Every planned visit has a key (rule, period start) that names it
//! for good, so the application stores it under a unique constraint: planning the same window
//! twice, or on several instances at once, or again after downtime, yields the same keys and
//! creates nothing twice.

use chrono::{Datelike, Months, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::FieldError;

/// What a visit rule is about. Periodic conditions plan visits in every period while they
/// hold; event conditions plan one visit a fixed number of days after the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    ClassA,
    ClassB,
    ClassC,
    KeyCustomer,
    /// A customer for at least `min_years`.
    LongTerm,
    /// At least one unit still in its warranty period.
    InWarranty,
    /// Units, none of them in warranty any more.
    AfterWarranty,
    /// A completed work order.
    AfterJob,
    /// A survey answered with a low score.
    LowScore,
    /// A unit's routine service falls due (R6.3): the customer is reminded `after_days` days
    /// before.
    ServiceDue,
}

impl Condition {
    pub const ALL: [Condition; 10] = [
        Condition::ClassA,
        Condition::ClassB,
        Condition::ClassC,
        Condition::KeyCustomer,
        Condition::LongTerm,
        Condition::InWarranty,
        Condition::AfterWarranty,
        Condition::AfterJob,
        Condition::LowScore,
        Condition::ServiceDue,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Condition::ClassA => "class_a",
            Condition::ClassB => "class_b",
            Condition::ClassC => "class_c",
            Condition::KeyCustomer => "key_customer",
            Condition::LongTerm => "long_term",
            Condition::InWarranty => "in_warranty",
            Condition::AfterWarranty => "after_warranty",
            Condition::AfterJob => "after_job",
            Condition::LowScore => "low_score",
            Condition::ServiceDue => "service_due",
        }
    }

    pub fn parse(s: &str) -> Option<Condition> {
        Condition::ALL.into_iter().find(|c| c.code() == s.trim())
    }

    /// Conditions triggered by an event (or a unit's due date) rather than holding over a period.
    pub fn is_event(self) -> bool {
        matches!(self, Condition::AfterJob | Condition::LowScore | Condition::ServiceDue)
    }
}

/// How often a periodic rule plans a visit. Periods are aligned to the calendar (weeks from
/// Monday, months from January) so a period's start names it the same way on every run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "unit", content = "n")]
pub enum Every {
    Weeks(u32),
    /// 1, 2, 3, 4, 6 or 12: a divisor of the year, so periods start on the same months each year.
    Months(u32),
}

impl Every {
    /// Approximate length in days, to tell the more frequent of two rules.
    pub fn approx_days(self) -> u32 {
        match self {
            Every::Weeks(n) => n * 7,
            Every::Months(n) => n * 30 + n / 2,
        }
    }
}

/// One visit rule, as stored and edited by the company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitRule {
    pub code: String,
    pub condition: Condition,
    /// Periodic rules only.
    #[serde(default)]
    pub every: Option<Every>,
    /// Event rules only: the visit is due this many days after the event (`service_due`: this
    /// many days before the service is due).
    #[serde(default)]
    pub after_days: u32,
    /// `long_term` only: a customer for at least this many years.
    #[serde(default)]
    pub min_years: u32,
    pub active: bool,
    /// Where the rule comes from (regulation, seed document or company decision).
    #[serde(default)]
    pub basis: String,
}

/// The rules of RULES §6 as the company starts with them.
pub fn builtin_rules() -> Vec<VisitRule> {
    let periodic = |code: &str, condition, every, basis: &str| VisitRule {
        code: code.into(),
        condition,
        every: Some(every),
        after_days: 0,
        min_years: if condition == Condition::LongTerm { 3 } else { 0 },
        active: true,
        basis: basis.into(),
    };
    let event = |code: &str, condition, days, basis: &str| VisitRule {
        code: code.into(),
        condition,
        every: None,
        after_days: days,
        min_years: 0,
        active: true,
        basis: basis.into(),
    };
    vec![
        periodic("class-a", Condition::ClassA, Every::Weeks(1), "RULES §6: A 类客户每周回访"),
        periodic("class-b", Condition::ClassB, Every::Months(1), "RULES §6: B 类客户每月回访"),
        periodic("class-c", Condition::ClassC, Every::Months(6), "RULES §6: C 类客户至少每半年回访"),
        periodic("key-customer", Condition::KeyCustomer, Every::Months(6), "RULES §6: 重点客户至少每半年回访"),
        periodic("long-term", Condition::LongTerm, Every::Months(12), "RULES §6: 长期客户至少每年回访"),
        periodic("in-warranty", Condition::InWarranty, Every::Months(3), "RULES §6: 保修期内每季度回访（工程类）"),
        periodic("after-warranty", Condition::AfterWarranty, Every::Months(12), "RULES §6: 保修期后每年回访"),
        event("after-job", Condition::AfterJob, 3, "RULES §6: 每次服务完成后回访"),
        event("low-score", Condition::LowScore, 1, "RULES §7: 满意度低分跟进"),
        event("service-due", Condition::ServiceDue, 14, "R6.3: 保养到期前 14 天提醒客户并预约"),
    ]
}

impl VisitRule {
    /// Field-by-field problems, in both languages; empty when the rule can be used.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = vec![];
        let code_ok = !self.code.is_empty()
            && self.code.len() <= 40
            && self.code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !code_ok {
            errs.push(FieldError::new(
                "code",
                "代码只能包含小写字母、数字和连字符（最多 40 个）",
                "Use lower-case letters, digits and hyphens (at most 40)",
            ));
        }
        if self.condition.is_event() {
            if self.every.is_some() {
                errs.push(FieldError::new("every", "事件触发的规则没有周期", "An event rule has no period"));
            }
            if self.after_days > 365 {
                errs.push(FieldError::new("after_days", "天数应在 0 到 365 之间", "Days must be between 0 and 365"));
            }
        } else {
            match self.every {
                None => errs.push(FieldError::new("every", "周期性规则需要周期", "A periodic rule needs a period")),
                Some(Every::Weeks(n)) if !(1..=52).contains(&n) => {
                    errs.push(FieldError::new("every.n", "周数应在 1 到 52 之间", "Weeks must be between 1 and 52"))
                }
                Some(Every::Months(n)) if ![1, 2, 3, 4, 6, 12].contains(&n) => errs.push(FieldError::new(
                    "every.n",
                    "月数应为 1、2、3、4、6 或 12（按年对齐）",
                    "Months must be 1, 2, 3, 4, 6 or 12 (aligned to the year)",
                )),
                Some(_) => {}
            }
        }
        if self.condition == Condition::LongTerm && !(1..=50).contains(&self.min_years) {
            errs.push(FieldError::new("min_years", "年数应在 1 到 50 之间", "Years must be between 1 and 50"));
        }
        errs
    }

    /// Whether this periodic rule holds for `c` on `day`.
    fn holds(&self, c: &CustomerFacts, day: NaiveDate) -> bool {
        match self.condition {
            Condition::ClassA => c.class == 'A',
            Condition::ClassB => c.class == 'B',
            Condition::ClassC => c.class == 'C',
            Condition::KeyCustomer => c.key_customer,
            Condition::LongTerm => {
                c.since.checked_add_months(Months::new(12 * self.min_years)).is_some_and(|d| d <= day)
            }
            Condition::InWarranty => c.warranty_until.is_some_and(|w| w >= day),
            Condition::AfterWarranty => c.warranty_until.is_some_and(|w| w < day),
            Condition::AfterJob | Condition::LowScore | Condition::ServiceDue => false,
        }
    }
}

/// What the schedule needs to know about a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerFacts {
    pub id: i64,
    /// 'A', 'B' or 'C'.
    pub class: char,
    pub key_customer: bool,
    /// The day the customer entered the archive.
    pub since: NaiveDate,
    /// The last day any of the customer's units is in warranty; None without units.
    pub warranty_until: Option<NaiveDate>,
}

/// A visit the rules ask for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedVisit {
    pub rule_code: String,
    /// With the customer and the rule, names the visit for good: `2026-12-07` for the period
    /// starting that day, `order:42` after job 42, `survey:7` after survey 7.
    pub period_key: String,
    pub due_on: NaiveDate,
    /// The unit a maintenance reminder is about.
    pub unit_id: Option<i64>,
}

/// First day (a Monday) of the `n`-week period that contains `day`, counted from 2001-01-01.
fn week_period_start(day: NaiveDate, n: u32) -> NaiveDate {
    let epoch = NaiveDate::from_ymd_opt(2001, 1, 1).expect("valid date");
    let weeks = (day - epoch).num_days().div_euclid(7);
    let start_week = weeks - weeks.rem_euclid(i64::from(n));
    epoch + chrono::TimeDelta::days(start_week * 7)
}

/// First day of the `n`-month period (aligned to January) that contains `day`.
fn month_period_start(day: NaiveDate, n: u32) -> NaiveDate {
    let m0 = day.month0() - day.month0() % n;
    NaiveDate::from_ymd_opt(day.year(), m0 + 1, 1).expect("valid date")
}

fn next_period(start: NaiveDate, every: Every) -> NaiveDate {
    match every {
        Every::Weeks(n) => start + chrono::TimeDelta::days(i64::from(n) * 7),
        Every::Months(n) => start.checked_add_months(Months::new(n)).unwrap_or(NaiveDate::MAX),
    }
}

/// The customer's day in a period: spread by id over working days (Monday–Friday) so a
/// company's visits do not all fall on the period's first day, and one customer's visits stay
/// one period apart.
fn due_in_period(start: NaiveDate, every: Every, id: i64) -> NaiveDate {
    let id = id.unsigned_abs();
    let day = match every {
        Every::Weeks(n) => {
            let n = u64::from(n);
            start + chrono::TimeDelta::days(((id % n) * 7 + (id / n) % 5) as i64)
        }
        Every::Months(n) => {
            let n = u64::from(n);
            let month = start.checked_add_months(Months::new((id % n) as u32)).unwrap_or(start);
            month + chrono::TimeDelta::days(((id / n) % 28) as i64)
        }
    };
    // A weekend day moves to Monday; day 28 + 2 is still inside the month.
    match day.weekday() {
        Weekday::Sat => day + chrono::TimeDelta::days(2),
        Weekday::Sun => day + chrono::TimeDelta::days(1),
        _ => day,
    }
}

/// The periodic visits `rules` ask for `c` with a due day in `from..=to`. Where several rules
/// hold on a day, the most frequent one governs (the others say "at least"), so a class A key
/// customer gets weekly visits, not weekly plus half-yearly ones. Ties go to the earlier rule.
pub fn plan(rules: &[VisitRule], c: &CustomerFacts, from: NaiveDate, to: NaiveDate) -> Vec<PlannedVisit> {
    let mut out = vec![];
    plan_into(rules, c, from, to, &mut out);
    out
}

/// `plan`, appending to `out` (the generator reuses one buffer for a million customers).
pub fn plan_into(rules: &[VisitRule], c: &CustomerFacts, from: NaiveDate, to: NaiveDate, out: &mut Vec<PlannedVisit>) {
    if to < from {
        return;
    }
    let periodic: Vec<(usize, &VisitRule, Every)> =
        rules.iter().enumerate().filter(|(_, r)| r.active).filter_map(|(i, r)| r.every.map(|e| (i, r, e))).collect();
    let governs = |i: usize, every: Every, day: NaiveDate| {
        periodic.iter().filter(|(_, r, _)| r.holds(c, day)).all(|&(j, _, e)| {
            let (mine, theirs) = (every.approx_days(), e.approx_days());
            mine < theirs || (mine == theirs && i <= j)
        })
    };
    for &(i, rule, every) in &periodic {
        let mut start = match every {
            Every::Weeks(n) => week_period_start(from, n),
            Every::Months(n) => month_period_start(from, n),
        };
        while start <= to {
            let due = due_in_period(start, every, c.id);
            if due >= from && due <= to && rule.holds(c, due) && governs(i, every, due) {
                out.push(PlannedVisit {
                    rule_code: rule.code.clone(),
                    period_key: start.to_string(),
                    due_on: due,
                    unit_id: None,
                });
            }
            start = next_period(start, every);
        }
    }
}

/// The visit after a completed job (order `order_id`, completed on `completed_on`), when an
/// active `after_job` rule exists.
pub fn after_job(rules: &[VisitRule], order_id: i64, completed_on: NaiveDate) -> Option<PlannedVisit> {
    event_visit(rules, Condition::AfterJob, format!("order:{order_id}"), completed_on)
}

/// The follow-up of a low survey score (survey `survey_id`, answered on `answered_on`).
pub fn after_low_score(rules: &[VisitRule], survey_id: i64, answered_on: NaiveDate) -> Option<PlannedVisit> {
    event_visit(rules, Condition::LowScore, format!("survey:{survey_id}"), answered_on)
}

fn event_visit(rules: &[VisitRule], cond: Condition, key: String, day: NaiveDate) -> Option<PlannedVisit> {
    let r = rules.iter().find(|r| r.active && r.condition == cond)?;
    Some(PlannedVisit {
        rule_code: r.code.clone(),
        period_key: key,
        due_on: day + chrono::TimeDelta::days(i64::from(r.after_days)),
        unit_id: None,
    })
}

/// A unit with a routine service interval (保养周期).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitService {
    pub unit_id: i64,
    /// The last completed service, else the installation, else the sale.
    pub base: NaiveDate,
    pub interval_months: u32,
}

impl UnitService {
    /// The `k`-th service day after the base (counted from the base each time, so a service
    /// due on the 31st stays at month end instead of drifting).
    fn due(&self, k: u32) -> Option<NaiveDate> {
        self.base.checked_add_months(Months::new(k.checked_mul(self.interval_months)?))
    }

    /// The next service day on or after `day`.
    pub fn next_due(&self, day: NaiveDate) -> Option<NaiveDate> {
        if self.interval_months == 0 {
            return None;
        }
        let months = (day.year() - self.base.year()) * 12 + day.month0() as i32 - self.base.month0() as i32;
        let mut k = (months.max(0) as u32 / self.interval_months).max(1);
        // One period early at most, so the loop runs once or twice.
        k = k.saturating_sub(1).max(1);
        loop {
            let d = self.due(k)?;
            if d >= day {
                return Some(d);
            }
            k += 1;
        }
    }
}

/// The maintenance reminders an active `service_due` rule asks for: a call `after_days` days
/// before each service day of `u`, when that call falls in `from..=to`. The key names the unit
/// and its service day, so a later pass never plans the same reminder twice, and a service
/// done early (a new base) starts a new series.
pub fn service_reminders_into(
    rules: &[VisitRule],
    u: &UnitService,
    from: NaiveDate,
    to: NaiveDate,
    out: &mut Vec<PlannedVisit>,
) {
    let Some(rule) = rules.iter().find(|r| r.active && r.condition == Condition::ServiceDue) else { return };
    let lead = chrono::TimeDelta::days(i64::from(rule.after_days));
    let Some(mut service) = u.next_due(from + lead) else { return };
    while service - lead <= to {
        out.push(PlannedVisit {
            rule_code: rule.code.clone(),
            period_key: format!("unit:{}:{service}", u.unit_id),
            due_on: service - lead,
            unit_id: Some(u.unit_id),
        });
        match u.next_due(service + chrono::TimeDelta::days(1)) {
            Some(next) => service = next,
            None => break,
        }
    }
}

// ------------------------------------------------------------------ satisfaction

/// Scores from 1 to 5; 4 and 5 count as satisfied (满意 / 非常满意).
pub const SATISFIED_FROM: u8 = 4;
/// Scores of 2 and below open a follow-up visit.
pub const LOW_UP_TO: u8 = 2;

pub fn is_satisfied(score: u8) -> bool {
    score >= SATISFIED_FROM
}

pub fn is_low(score: u8) -> bool {
    (1..=LOW_UP_TO).contains(&score)
}

/// Counted answers of a group (a quarter, an engineer, a region …).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Rate {
    pub responses: u64,
    pub satisfied: u64,
}

impl Rate {
    pub fn add(&mut self, score: u8) {
        self.responses += 1;
        if is_satisfied(score) {
            self.satisfied += 1;
        }
    }

    /// Satisfied answers per 100; None without answers (no rate, rather than 0 %).
    pub fn percent(&self) -> Option<f64> {
        (self.responses > 0).then(|| self.satisfied as f64 * 100.0 / self.responses as f64)
    }

    /// Whether the rate reaches `target` per cent (RULES §7: ≥ 90 %, another company ≥ 98 %).
    pub fn meets(&self, target: f64) -> Option<bool> {
        // Cross-multiplied (with a hair of tolerance) so 9 of 10 meets 90 % exactly.
        (self.responses > 0).then_some(self.satisfied as f64 * 100.0 >= target * self.responses as f64 - 1e-9)
    }
}

/// The quarter `(year, 1..=4)` of a day.
pub fn quarter_of(day: NaiveDate) -> (i32, u32) {
    (day.year(), day.month0() / 3 + 1)
}

/// First and last day of a quarter; None for a quarter outside 1..=4.
pub fn quarter_range(year: i32, q: u32) -> Option<(NaiveDate, NaiveDate)> {
    if !(1..=4).contains(&q) {
        return None;
    }
    let first = NaiveDate::from_ymd_opt(year, (q - 1) * 3 + 1, 1)?;
    let last = first.checked_add_months(Months::new(3))?.pred_opt()?;
    Some((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn customer(id: i64, class: char) -> CustomerFacts {
        CustomerFacts { id, class, key_customer: false, since: d("2026-01-01"), warranty_until: None }
    }

    #[test]
    fn builtins_are_valid() {
        for r in builtin_rules() {
            assert!(r.validate().is_empty(), "{}: {:?}", r.code, r.validate());
        }
    }

    #[test]
    fn class_a_weekly_on_a_working_day() {
        let v = plan(&builtin_rules(), &customer(7, 'A'), d("2027-01-01"), d("2027-12-31"));
        assert!(v.len() >= 52 && v.len() <= 53, "{}", v.len());
        assert!(v.iter().all(|p| p.rule_code == "class-a"));
        assert!(v.iter().all(|p| p.due_on.weekday().num_days_from_monday() < 5));
        for w in v.windows(2) {
            assert_eq!((w[1].due_on - w[0].due_on).num_days(), 7);
        }
    }

    #[test]
    fn class_b_monthly_class_c_half_yearly() {
        let b = plan(&builtin_rules(), &customer(11, 'B'), d("2027-01-01"), d("2027-12-31"));
        assert_eq!(b.len(), 12);
        let c = plan(&builtin_rules(), &customer(11, 'C'), d("2027-01-01"), d("2027-12-31"));
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].period_key, "2027-01-01");
        assert_eq!(c[1].period_key, "2027-07-01");
    }

    #[test]
    fn the_most_frequent_rule_governs() {
        let mut c = customer(3, 'C');
        c.warranty_until = Some(d("2027-06-30"));
        let v = plan(&builtin_rules(), &c, d("2027-01-01"), d("2027-12-31"));
        let in_w = v.iter().filter(|p| p.rule_code == "in-warranty").count();
        assert_eq!(in_w, 2, "quarterly while in warranty: {v:?}");
        // After the warranty, class C's half-yearly visit governs over the yearly one.
        assert!(v.iter().any(|p| p.rule_code == "class-c" && p.due_on > d("2027-06-30")));
        assert!(!v.iter().any(|p| p.rule_code == "after-warranty"));
        let mut a = customer(3, 'A');
        a.key_customer = true;
        let v = plan(&builtin_rules(), &a, d("2027-01-01"), d("2027-12-31"));
        assert!(v.iter().all(|p| p.rule_code == "class-a"));
    }

    #[test]
    fn planning_is_stable_across_windows() {
        // Planning the year at once or month by month gives the same visits (idempotent keys).
        let rules = builtin_rules();
        let mut c = customer(12345, 'B');
        c.warranty_until = Some(d("2027-04-10"));
        let whole = plan(&rules, &c, d("2027-01-01"), d("2027-12-31"));
        let mut parts = vec![];
        let mut from = d("2027-01-01");
        while from <= d("2027-12-31") {
            let to = from.checked_add_months(Months::new(1)).unwrap().pred_opt().unwrap();
            parts.extend(plan(&rules, &c, from, to));
            from = to.succ_opt().unwrap();
        }
        let key = |p: &PlannedVisit| (p.rule_code.clone(), p.period_key.clone());
        let mut a: Vec<_> = whole.iter().map(key).collect();
        let mut b: Vec<_> = parts.iter().map(key).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }

    #[test]
    fn long_term_after_min_years() {
        let mut c = customer(5, 'X');
        c.since = d("2020-03-01");
        let v = plan(&builtin_rules(), &c, d("2027-01-01"), d("2027-12-31"));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].rule_code, "long-term");
        c.since = d("2026-03-01");
        assert!(plan(&builtin_rules(), &c, d("2027-01-01"), d("2027-12-31")).is_empty());
    }

    #[test]
    fn inactive_rules_plan_nothing_and_events() {
        let mut rules = builtin_rules();
        for r in &mut rules {
            r.active = false;
        }
        assert!(plan(&rules, &customer(1, 'A'), d("2027-01-01"), d("2027-12-31")).is_empty());
        assert!(after_job(&rules, 9, d("2027-01-01")).is_none());
        let rules = builtin_rules();
        let v = after_job(&rules, 9, d("2027-01-01")).unwrap();
        assert_eq!((v.period_key.as_str(), v.due_on), ("order:9", d("2027-01-04")));
        assert_eq!(after_low_score(&rules, 4, d("2027-01-01")).unwrap().period_key, "survey:4");
    }

    #[test]
    fn validation_names_fields() {
        let mut r = builtin_rules()[0].clone();
        r.every = Some(Every::Months(5));
        assert_eq!(r.validate()[0].field, "every.n");
        r.code = "Bad Code".into();
        assert_eq!(r.validate()[0].field, "code");
        let mut e = builtin_rules().pop().unwrap();
        e.every = Some(Every::Weeks(1));
        assert_eq!(e.validate()[0].field, "every");
    }

    #[test]
    fn rates_and_quarters() {
        let mut r = Rate::default();
        assert_eq!(r.percent(), None);
        for s in [5, 5, 4, 5, 5, 4, 5, 5, 5, 2] {
            r.add(s);
        }
        assert_eq!(r.percent(), Some(90.0));
        assert_eq!(r.meets(90.0), Some(true));
        assert_eq!(r.meets(98.0), Some(false));
        assert!(is_low(2) && !is_low(3) && !is_low(0));
        assert_eq!(quarter_of(d("2026-12-06")), (2026, 4));
        assert_eq!(quarter_range(2026, 1), Some((d("2026-01-01"), d("2026-03-31"))));
        assert_eq!(quarter_range(2026, 5), None);
    }

    #[test]
    fn maintenance_reminders_come_lead_days_before_each_service_and_never_twice() {
        let rules = builtin_rules();
        let u = UnitService { unit_id: 7, base: d("2026-01-31"), interval_months: 6 };
        assert_eq!(u.next_due(d("2026-02-01")), Some(d("2026-07-31")));
        assert_eq!(u.next_due(d("2026-07-31")), Some(d("2026-07-31")));
        assert_eq!(u.next_due(d("2026-08-01")), Some(d("2027-01-31")), "month end stays month end");
        let mut out = vec![];
        service_reminders_into(&rules, &u, d("2026-07-01"), d("2026-07-31"), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].due_on, d("2026-07-17"), "14 days before");
        assert_eq!(out[0].period_key, "unit:7:2026-07-31");
        assert_eq!(out[0].unit_id, Some(7));
        // The window's days before and after hold nothing, and a year plans two reminders.
        out.clear();
        service_reminders_into(&rules, &u, d("2026-07-18"), d("2026-12-31"), &mut out);
        assert!(out.is_empty(), "{out:?}");
        service_reminders_into(&rules, &u, d("2026-01-01"), d("2027-06-30"), &mut out);
        let keys: Vec<&str> = out.iter().map(|p| p.period_key.as_str()).collect();
        assert_eq!(keys, ["unit:7:2026-07-31", "unit:7:2027-01-31"]);
        // Splitting the window differently plans the same reminders (the planner's passes).
        let mut parts = vec![];
        for (f, t) in [("2026-01-01", "2026-07-16"), ("2026-07-17", "2026-07-17"), ("2026-07-18", "2027-06-30")] {
            service_reminders_into(&rules, &u, d(f), d(t), &mut parts);
        }
        assert_eq!(parts, out);
        // No interval, or the rule switched off: nothing.
        out.clear();
        service_reminders_into(
            &rules,
            &UnitService { interval_months: 0, ..u },
            d("2026-01-01"),
            d("2027-12-31"),
            &mut out,
        );
        let off: Vec<VisitRule> = rules
            .iter()
            .cloned()
            .map(|mut r| {
                r.active = r.condition != Condition::ServiceDue;
                r
            })
            .collect();
        service_reminders_into(&off, &u, d("2026-01-01"), d("2027-12-31"), &mut out);
        assert!(out.is_empty());
        // A unit far past its base gets its next due service, not the old ones.
        let old = UnitService { unit_id: 8, base: d("2010-03-15"), interval_months: 1 };
        service_reminders_into(&rules, &old, d("2026-12-06"), d("2027-01-05"), &mut out);
        assert_eq!(out.iter().map(|p| p.due_on).collect::<Vec<_>>(), [d("2027-01-01")]);
    }
}
