//! Policies are data: a regulation or a company's own terms, versioned, stored as JSON by the
//! application and edited in a form. The engine only reads them.
//!
//! Each rule block is optional; a block that is absent simply never grants its remedy. Every
//! block carries the `clause` it cites, so a decision names "cn-general-1995 art. 9" or
//! "seed-company v1 §exchange" without the engine knowing which document it reads.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::types::{Exclusion, Failure, FaultKind, Grade, Remedy, VehicleSystem};
use crate::FieldError;

/// Which rule set applies: general consumer goods or household vehicles (days and km).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyFamily {
    General,
    Vehicle,
}

/// Which date is day 1 of the periods.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodStart {
    /// Always the invoice date (general goods, 458号 art. 8).
    #[default]
    InvoiceDate,
    /// The delivery date when given, else the invoice date (vehicles, 43号 art. 18).
    DeliveryDate,
}

/// How the days of one repair are counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepairDayCounting {
    /// Every calendar day the unit spent at the repairer counts, drop-off and hand-back included.
    #[default]
    CalendarDays,
    /// Each full 24 h is one day and any remainder one more day (43号 art. 40).
    Per24h,
}

/// Warranty length in months; the grade-specific value wins over `default`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthsByGrade {
    #[serde(default)]
    pub default: Option<u32>,
    #[serde(default)]
    pub high: Option<u32>,
    #[serde(default)]
    pub mid: Option<u32>,
    #[serde(default)]
    pub low: Option<u32>,
}

impl MonthsByGrade {
    pub fn for_grade(&self, grade: Option<Grade>) -> Option<u32> {
        let specific = match grade {
            Some(Grade::High) => self.high,
            Some(Grade::Mid) => self.mid,
            Some(Grade::Low) => self.low,
            None => None,
        };
        specific.or(self.default)
    }
}

/// 包修: free repair within the warranty period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarrantyTerms {
    pub months: MonthsByGrade,
    /// Vehicles: the period also ends at this odometer reading, whichever comes first.
    #[serde(default)]
    pub km_limit: Option<u64>,
    /// Days under repair (waiting for parts included) are added to the periods (458号 art. 8).
    #[serde(default)]
    pub extend_by_repair_days: bool,
    #[serde(default)]
    pub repair_day_counting: RepairDayCounting,
    pub clause: String,
    /// Cited when an exchange restarted the periods (458号 art. 14, 43号 art. 29).
    #[serde(default)]
    pub exchange_restart_clause: Option<String>,
}

/// Per-category overrides (the annex of 458号: whole unit / main components, depreciation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryTerms {
    pub category: String,
    /// Other names that select this category (e.g. Chinese names).
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub warranty_months: Option<u32>,
    /// Period for faults of a main component (`fault.main_part` given).
    #[serde(default)]
    pub main_parts_months: Option<u32>,
    #[serde(default)]
    pub depreciation_per_day: Option<f64>,
    /// Free text, e.g. where a value comes from or that it is unverified.
    #[serde(default)]
    pub note: Option<String>,
}

impl CategoryTerms {
    /// Whether `name` (trimmed, ASCII case ignored) names this category or one of its aliases.
    pub fn matches(&self, name: &str) -> bool {
        self.matches_trimmed(name.trim())
    }

    fn matches_trimmed(&self, name: &str) -> bool {
        self.category.eq_ignore_ascii_case(name) || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }
}

/// 三包有效期 when it differs from the warranty (vehicles: 2 years / 50,000 km).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SanbaoTerms {
    pub months: u32,
    #[serde(default)]
    pub km_limit: Option<u64>,
    pub clause: String,
}

/// A window counted from the sale: "within 7 days a performance fault → …".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowTerms {
    pub days: u32,
    /// Fault kinds that open the window.
    pub fault_kinds: Vec<FaultKind>,
    /// What it grants: refund (at the full invoice price), exchange and/or free repair.
    pub grants: Vec<Remedy>,
    pub clause: String,
}

/// "Repaired N times and still faulty → exchange or refund".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailedRepairTerms {
    /// Completed repairs of the same fault needed.
    pub repairs: u32,
    /// Only within this many days of the sale; null = within the 三包 period.
    #[serde(default)]
    pub within_days: Option<u32>,
    pub fault_kinds: Vec<FaultKind>,
    /// Exchange and/or refund (refunds follow `RefundTerms`).
    pub grants: Vec<Remedy>,
    pub clause: String,
}

/// 458号 art. 12: a repair that takes too long gives an exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelayTerms {
    pub days: u32,
    pub clause: String,
}

/// How refunds outside the full-price windows are computed (458号 art. 13).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundTerms {
    /// Deduct price × rate × days used when the same model is available.
    #[serde(default)]
    pub deduct_depreciation: bool,
    /// Default daily rate when neither the request nor the category gives one.
    #[serde(default)]
    pub depreciation_per_day: Option<f64>,
    /// Whenever an exchange is due, the consumer may take a refund instead.
    #[serde(default)]
    pub on_exchange_grounds: bool,
    /// An exchange is due but no same-model product exists → full refund.
    #[serde(default)]
    pub when_no_same_model: bool,
    pub clause: String,
}

/// The seed company's return rule: within N days, at the purchase price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnTerms {
    pub within_days: u32,
    /// A problem endangering safety or health.
    #[serde(default)]
    pub safety: bool,
    /// The unit was found non-conforming on inspection.
    #[serde(default)]
    pub nonconforming: bool,
    /// Still failing after this many repairs and an exchange.
    #[serde(default)]
    pub after_repairs_and_exchange: Option<u32>,
    pub clause: String,
}

/// 458号 art. 6: a repaired product must then work for this many days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostRepairTerms {
    pub days: u32,
    pub clause: String,
}

/// Days and kilometres, whichever comes first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaysKmTerms {
    pub days: u32,
    #[serde(default)]
    pub km: Option<u64>,
    pub clause: String,
}

/// 43号 art. 21.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourtesyTerms {
    /// A single repair longer than this many days gives a courtesy car from the next day.
    pub after_days: u32,
    pub clause: String,
}

/// 43号 art. 23.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriousFailureTerms {
    pub days: u32,
    #[serde(default)]
    pub km: Option<u64>,
    pub failures: Vec<Failure>,
    pub clause: String,
}

/// 43号 art. 24; items are cited as `clause` + "(1)" … "(4)".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatFailureTerms {
    /// (1) serious safety fault repaired this many times.
    pub serious_safety_repairs: u32,
    /// (2) assembly replaced this many times.
    pub assembly_replacements: u32,
    /// (3) the same main part replaced this many times …
    pub main_part_replacements: u32,
    /// … in one of these systems.
    pub main_part_systems: Vec<VehicleSystem>,
    /// (4) total repair days over this …
    pub total_repair_days_over: u32,
    /// … or the same problem repaired more than this many times.
    pub same_fault_repairs_over: u32,
    pub clause: String,
}

/// 43号 art. 27: compensation = price × km / 1000 × n.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompensationTerms {
    pub max_n: f64,
    #[serde(default)]
    pub default_n: Option<f64>,
    pub clause: String,
}

/// Rules only household vehicles have.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VehicleTerms {
    /// Engine, transmission, traction battery, drive motor (art. 20, 22, 24(2)).
    pub assembly_systems: Vec<VehicleSystem>,
    #[serde(default)]
    pub assembly_swap: Option<DaysKmTerms>,
    #[serde(default)]
    pub courtesy_car: Option<CourtesyTerms>,
    #[serde(default)]
    pub early_assembly_fault: Option<DaysKmTerms>,
    #[serde(default)]
    pub serious_failure: Option<SeriousFailureTerms>,
    #[serde(default)]
    pub repeat_failure: Option<RepeatFailureTerms>,
    pub compensation: CompensationTerms,
    /// Cited for the repair-day counting (art. 40).
    #[serde(default)]
    pub repair_days_clause: Option<String>,
}

/// An exclusion the policy recognises and the clause that makes it paid repair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExclusionTerms {
    pub exclusion: Exclusion,
    pub clause: String,
}

/// A versioned entitlement policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Stable code (`cn-general-1995`, `seed-company`, a company's own code).
    pub code: String,
    /// Every change makes a new version; decisions keep the version that made them.
    pub version: u32,
    pub name_zh: String,
    pub name_en: String,
    pub family: PolicyFamily,
    /// Label used in rule citations; defaults to `code`.
    #[serde(default)]
    pub citation: Option<String>,
    /// Cite as "label vN §…" (company policies) rather than "label art. …" (regulations).
    #[serde(default)]
    pub cite_version: bool,
    #[serde(default)]
    pub period_start: PeriodStart,
    pub warranty: WarrantyTerms,
    #[serde(default)]
    pub categories: Vec<CategoryTerms>,
    #[serde(default)]
    pub sanbao: Option<SanbaoTerms>,
    #[serde(default)]
    pub refund_window: Option<WindowTerms>,
    #[serde(default)]
    pub exchange_window: Option<WindowTerms>,
    /// Windows and `within_days` limits count from the exchange rather than the sale.
    #[serde(default)]
    pub windows_restart_on_exchange: bool,
    #[serde(default)]
    pub failed_repairs: Option<FailedRepairTerms>,
    #[serde(default)]
    pub parts_delay: Option<DelayTerms>,
    #[serde(default)]
    pub repairer_delay: Option<DelayTerms>,
    pub refund: RefundTerms,
    #[serde(default)]
    pub return_terms: Option<ReturnTerms>,
    #[serde(default)]
    pub post_repair: Option<PostRepairTerms>,
    #[serde(default)]
    pub vehicle: Option<VehicleTerms>,
    #[serde(default)]
    pub exclusions: Vec<ExclusionTerms>,
}

/// Longest period a policy or request may name (100 years): keeps date arithmetic in range.
pub(crate) const MAX_MONTHS: u32 = 1200;
/// Longest window in days.
pub(crate) const MAX_DAYS: u32 = 36_600;
/// Ceiling for n fixed by 43号 art. 27.
pub const LEGAL_MAX_USAGE_RATE_N: f64 = 0.005;

impl Policy {
    /// "cn-general-1995" or "seed-company v1": what precedes the clause in a rule citation.
    pub fn citation_label(&self) -> String {
        let label = self.citation.as_deref().unwrap_or(&self.code);
        if self.cite_version { format!("{label} v{}", self.version) } else { label.to_owned() }
    }

    pub fn category(&self, name: &str) -> Option<&CategoryTerms> {
        let name = name.trim();
        self.categories.iter().find(|c| c.matches_trimmed(name))
    }

    pub fn exclusion(&self, e: Exclusion) -> Option<&ExclusionTerms> {
        self.exclusions.iter().find(|t| t.exclusion == e)
    }

    /// Checks the policy as a whole; every problem is reported, with a path into the policy.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::default();
        let code_ok = !self.code.is_empty()
            && self.code.len() <= 64
            && self.code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
        if !code_ok {
            v.err(
                "code",
                "代码须为1–64个小写字母、数字或 - _ .",
                "code must be 1–64 lowercase letters, digits or - _ .",
            );
        }
        if self.version == 0 {
            v.err("version", "版本号从1开始", "version starts at 1");
        }
        v.text("name_zh", &self.name_zh);
        v.text("name_en", &self.name_en);
        if let Some(c) = &self.citation {
            v.text("citation", c);
        }

        let w = &self.warranty;
        for (field, m) in [
            ("warranty.months.default", w.months.default),
            ("warranty.months.high", w.months.high),
            ("warranty.months.mid", w.months.mid),
            ("warranty.months.low", w.months.low),
        ] {
            if let Some(m) = m {
                v.months(field, m);
            }
        }
        if w.months.default.is_none() && (w.months.high.is_none() || w.months.mid.is_none() || w.months.low.is_none()) {
            v.err(
                "warranty.months",
                "须给出默认保修月数，或为高、中、低三个档次都给出月数",
                "give a default number of months, or months for all of high, mid and low",
            );
        }
        if let Some(km) = w.km_limit {
            v.km("warranty.km_limit", km);
        }
        v.text("warranty.clause", &w.clause);
        if let Some(c) = &w.exchange_restart_clause {
            v.text("warranty.exchange_restart_clause", c);
        }

        for (i, c) in self.categories.iter().enumerate() {
            let p = |f: &'static str| Idx("categories", i, f);
            if c.category.trim().is_empty() {
                v.err(p("category"), "类别名称不能为空", "category name must not be empty");
            }
            let names = std::iter::once(&c.category).chain(&c.aliases);
            for name in names {
                if self.categories[..i].iter().any(|o| o.matches(name)) {
                    v.err(p("category"), format!("类别“{name}”重复"), format!("category \"{name}\" is defined twice"));
                }
            }
            if let Some(m) = c.warranty_months {
                v.months(p("warranty_months"), m);
            }
            if let Some(m) = c.main_parts_months {
                v.months(p("main_parts_months"), m);
            }
            if let Some(r) = c.depreciation_per_day {
                v.rate(p("depreciation_per_day"), r);
            }
        }

        if let Some(s) = &self.sanbao {
            v.months("sanbao.months", s.months);
            if let Some(km) = s.km_limit {
                v.km("sanbao.km_limit", km);
            }
            v.text("sanbao.clause", &s.clause);
        }
        let window_grants = [Remedy::Refund, Remedy::Exchange, Remedy::FreeRepair];
        for (name, w) in [("refund_window", &self.refund_window), ("exchange_window", &self.exchange_window)] {
            if let Some(w) = w {
                v.days(Sub(name, "days"), w.days);
                v.kinds(Sub(name, "fault_kinds"), &w.fault_kinds);
                v.grants(Sub(name, "grants"), &w.grants, &window_grants);
                v.text(Sub(name, "clause"), &w.clause);
            }
        }
        if let Some(f) = &self.failed_repairs {
            if f.repairs == 0 || f.repairs > 100 {
                v.err("failed_repairs.repairs", "修理次数须在1到100之间", "repairs must be between 1 and 100");
            }
            if let Some(d) = f.within_days {
                v.days("failed_repairs.within_days", d);
            }
            v.kinds("failed_repairs.fault_kinds", &f.fault_kinds);
            v.grants("failed_repairs.grants", &f.grants, &[Remedy::Exchange, Remedy::Refund]);
            v.text("failed_repairs.clause", &f.clause);
        }
        for (name, d) in [("parts_delay", &self.parts_delay), ("repairer_delay", &self.repairer_delay)] {
            if let Some(d) = d {
                v.days(Sub(name, "days"), d.days);
                v.text(Sub(name, "clause"), &d.clause);
            }
        }
        if let Some(r) = self.refund.depreciation_per_day {
            v.rate("refund.depreciation_per_day", r);
        }
        v.text("refund.clause", &self.refund.clause);
        if let Some(r) = &self.return_terms {
            v.days("return_terms.within_days", r.within_days);
            if r.after_repairs_and_exchange == Some(0) {
                v.err("return_terms.after_repairs_and_exchange", "修理次数须至少为1", "repairs must be at least 1");
            }
            v.text("return_terms.clause", &r.clause);
        }
        if let Some(p) = &self.post_repair {
            v.days("post_repair.days", p.days);
            v.text("post_repair.clause", &p.clause);
        }

        match (self.family, &self.vehicle) {
            (PolicyFamily::Vehicle, None) => {
                v.err("vehicle", "汽车类政策须给出汽车规则", "a vehicle policy needs the vehicle rules")
            }
            (PolicyFamily::General, Some(_)) => {
                v.err("vehicle", "一般商品政策不能包含汽车规则", "a general-goods policy cannot carry vehicle rules")
            }
            (PolicyFamily::Vehicle, Some(vt)) => self.validate_vehicle(vt, &mut v),
            (PolicyFamily::General, None) => {}
        }

        for (i, e) in self.exclusions.iter().enumerate() {
            if self.exclusions[..i].iter().any(|o| o.exclusion == e.exclusion) {
                v.err(
                    Idx("exclusions", i, "exclusion"),
                    format!("除外情形“{}”重复", e.exclusion.code()),
                    format!("exclusion {} is listed twice", e.exclusion.code()),
                );
            }
            v.text(Idx("exclusions", i, "clause"), &e.clause);
        }
        v.finish()
    }

    fn validate_vehicle(&self, vt: &VehicleTerms, v: &mut Validator) {
        if self.warranty.km_limit.is_none() {
            v.err("warranty.km_limit", "汽车类政策须给出保修里程", "a vehicle policy needs a warranty km limit");
        }
        if vt.assembly_systems.is_empty() {
            v.err("vehicle.assembly_systems", "须列出总成系统", "list the assembly systems");
        }
        for (name, t) in
            [("vehicle.assembly_swap", &vt.assembly_swap), ("vehicle.early_assembly_fault", &vt.early_assembly_fault)]
        {
            if let Some(t) = t {
                v.days(Sub(name, "days"), t.days);
                if let Some(km) = t.km {
                    v.km(Sub(name, "km"), km);
                }
                v.text(Sub(name, "clause"), &t.clause);
            }
        }
        if let Some(c) = &vt.courtesy_car {
            v.days("vehicle.courtesy_car.after_days", c.after_days);
            v.text("vehicle.courtesy_car.clause", &c.clause);
        }
        if let Some(s) = &vt.serious_failure {
            v.days("vehicle.serious_failure.days", s.days);
            if let Some(km) = s.km {
                v.km("vehicle.serious_failure.km", km);
            }
            if s.failures.is_empty() {
                v.err("vehicle.serious_failure.failures", "须列出至少一种失效", "list at least one failure");
            }
            v.text("vehicle.serious_failure.clause", &s.clause);
        }
        if let Some(r) = &vt.repeat_failure {
            for (f, n) in [
                ("serious_safety_repairs", r.serious_safety_repairs),
                ("assembly_replacements", r.assembly_replacements),
                ("main_part_replacements", r.main_part_replacements),
                ("total_repair_days_over", r.total_repair_days_over),
                ("same_fault_repairs_over", r.same_fault_repairs_over),
            ] {
                if n == 0 || n > 1000 {
                    v.err(Sub("vehicle.repeat_failure", f), "须在1到1000之间", "must be between 1 and 1000");
                }
            }
            v.text("vehicle.repeat_failure.clause", &r.clause);
        }
        let c = &vt.compensation;
        if !(c.max_n > 0.0 && c.max_n <= LEGAL_MAX_USAGE_RATE_N) {
            v.err(
                "vehicle.compensation.max_n",
                "使用补偿系数上限须大于0且不超过0.5%",
                "the ceiling of n must be above 0 and at most 0.5 %",
            );
        }
        if let Some(n) = c.default_n
            && !(n.is_finite() && n >= 0.0 && n <= c.max_n)
        {
            v.err(
                "vehicle.compensation.default_n",
                "默认使用补偿系数须在0与上限之间",
                "the default n must be between 0 and the ceiling",
            );
        }
        v.text("vehicle.compensation.clause", &c.clause);
        if let Some(c) = &vt.repair_days_clause {
            v.text("vehicle.repair_days_clause", c);
        }
    }
}

/// A field path built only when an error is reported, so validating a valid policy (done on
/// every `evaluate_json`) allocates nothing.
trait Path {
    fn path(self) -> String;
}

impl Path for &str {
    fn path(self) -> String {
        self.to_owned()
    }
}

/// `parent.field`
#[derive(Clone, Copy)]
struct Sub<'a>(&'a str, &'a str);

impl Path for Sub<'_> {
    fn path(self) -> String {
        format!("{}.{}", self.0, self.1)
    }
}

/// `list[i].field`
#[derive(Clone, Copy)]
struct Idx<'a>(&'a str, usize, &'a str);

impl Path for Idx<'_> {
    fn path(self) -> String {
        format!("{}[{}].{}", self.0, self.1, self.2)
    }
}

#[derive(Default)]
struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    fn err(&mut self, field: impl Path, zh: impl Into<String>, en: impl Into<String>) {
        self.errors.push(FieldError::new(field.path(), zh, en));
    }

    fn text(&mut self, field: impl Path, s: &str) {
        if s.trim().is_empty() || s.len() > 200 {
            self.err(field, "须为1–200个字符", "must be 1–200 characters");
        }
    }

    fn months(&mut self, field: impl Path, m: u32) {
        if m == 0 || m > MAX_MONTHS {
            self.err(
                field,
                format!("月数须在1到{MAX_MONTHS}之间"),
                format!("months must be between 1 and {MAX_MONTHS}"),
            );
        }
    }

    fn days(&mut self, field: impl Path, d: u32) {
        if d == 0 || d > MAX_DAYS {
            self.err(field, format!("天数须在1到{MAX_DAYS}之间"), format!("days must be between 1 and {MAX_DAYS}"));
        }
    }

    fn km(&mut self, field: impl Path, km: u64) {
        if km == 0 || km > 10_000_000 {
            self.err(field, "里程须在1到10,000,000公里之间", "km must be between 1 and 10,000,000");
        }
    }

    fn rate(&mut self, field: impl Path, r: f64) {
        if !(r.is_finite() && (0.0..=1.0).contains(&r)) {
            self.err(field, "日折旧率须在0到1之间", "daily rate must be between 0 and 1");
        }
    }

    fn kinds(&mut self, field: impl Path, kinds: &[FaultKind]) {
        if kinds.is_empty() {
            self.err(field, "须列出至少一种故障类型", "list at least one fault kind");
        }
    }

    fn grants(&mut self, field: impl Path + Copy, grants: &[Remedy], allowed: &[Remedy]) {
        if grants.is_empty() {
            self.err(field, "须列出至少一种救济", "list at least one remedy");
        }
        for g in grants {
            if !allowed.contains(g) {
                let names: Vec<&str> = allowed.iter().map(|r| r.code()).collect();
                self.err(
                    field,
                    format!("此处只能给予：{}", names.join("、")),
                    format!("only {} can be granted here", names.join(", ")),
                );
            }
        }
    }

    fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() { Ok(()) } else { Err(self.errors) }
    }
}

const BUILTIN_JSON: [&str; 3] = [
    include_str!("../../data/entitlement/cn-general-1995.json"),
    include_str!("../../data/entitlement/cn-car-2021.json"),
    include_str!("../../data/entitlement/seed-company.json"),
];

fn builtins() -> &'static [Policy] {
    static CELL: OnceLock<Vec<Policy>> = OnceLock::new();
    CELL.get_or_init(|| {
        BUILTIN_JSON
            .iter()
            .map(|json| {
                // The files are part of the crate and checked by the tests, so a failure here
                // is a build defect, not user input.
                serde_json::from_str(json).expect("built-in policy JSON is valid")
            })
            .collect()
    })
}

/// The built-in policies, as values the application may copy, edit and store as its own.
pub fn builtin_policies() -> Vec<Policy> {
    builtins().to_vec()
}

/// One built-in policy by code.
pub fn builtin_policy(code: &str) -> Option<Policy> {
    builtins().iter().find(|p| p.code == code).cloned()
}
