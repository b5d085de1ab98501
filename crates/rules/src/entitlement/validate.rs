//! Checks a request against itself and its policy before anything is decided. Missing or
//! contradictory input is reported field by field, all problems at once; nothing is guessed.

use chrono::{Datelike, NaiveDate};

use super::policy::{CategoryTerms, MAX_MONTHS, PeriodStart, Policy, PolicyFamily};
use super::prepared::Prepared;
use super::types::{EvaluateRequest, HistoryKind};
use crate::FieldError;

/// Years the engine accepts; far outside them a date is a typing error, and the bound keeps
/// every period computation inside chrono's range.
const MIN_YEAR: i32 = 1900;
const MAX_YEAR: i32 = 2999;

pub(crate) fn sale_date(policy: &Policy, req: &EvaluateRequest) -> NaiveDate {
    match policy.period_start {
        PeriodStart::InvoiceDate => req.invoice_date,
        PeriodStart::DeliveryDate => req.delivery_date.unwrap_or(req.invoice_date),
    }
}

/// A non-blank part name, trimmed.
pub(crate) fn part_name(p: &Option<String>) -> Option<&str> {
    p.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn year_ok(d: NaiveDate) -> bool {
    (MIN_YEAR..=MAX_YEAR).contains(&d.year())
}

fn bad_year(errors: &mut Vec<FieldError>, field: String) {
    errors.push(FieldError::new(
        field,
        format!("日期须在{MIN_YEAR}年至{MAX_YEAR}年之间"),
        format!("the date must be between the years {MIN_YEAR} and {MAX_YEAR}"),
    ));
}

/// The policy's terms for the request's category, if it names one the policy defines.
pub(crate) fn resolve_category<'p>(policy: &'p Policy, req: &EvaluateRequest) -> Option<&'p CategoryTerms> {
    req.category.as_deref().and_then(|c| policy.category(c))
}

pub(crate) fn validate_request(
    policy: &Policy,
    req: &EvaluateRequest,
    pre: &[Prepared],
    category: Option<&CategoryTerms>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let e = &mut errors;
    let vehicle = policy.family == PolicyFamily::Vehicle;

    let mut dates_ok = true;
    for (field, d) in [
        ("invoice_date", Some(req.invoice_date)),
        ("delivery_date", req.delivery_date),
        ("request_date", Some(req.request_date)),
    ] {
        if let Some(d) = d
            && !year_ok(d)
        {
            bad_year(e, field.to_owned());
            dates_ok = false;
        }
    }
    let sale = sale_date(policy, req);
    let earliest = req.delivery_date.map_or(req.invoice_date, |d| d.min(req.invoice_date));
    if dates_ok && req.request_date < sale {
        let start_name =
            if sale == req.invoice_date { ("开票日期", "invoice date") } else { ("交付日期", "delivery date") };
        e.push(FieldError::new(
            "request_date",
            format!("报修日期{}早于{}{sale}，期限从该日起算", req.request_date, start_name.0),
            format!(
                "the request date {} is before the {} {sale}, where the periods start",
                req.request_date, start_name.1
            ),
        ));
    }

    if req.price_cents < 0 {
        e.push(FieldError::new("price_cents", "价格不能为负数", "the price cannot be negative"));
    }
    if let Some(m) = req.warranty_months
        && (m == 0 || m > MAX_MONTHS)
    {
        e.push(FieldError::new(
            "warranty_months",
            format!("保修月数须在1到{MAX_MONTHS}之间"),
            format!("warranty months must be between 1 and {MAX_MONTHS}"),
        ));
    }
    if let Some(r) = req.depreciation_per_day
        && !(r.is_finite() && (0.0..=1.0).contains(&r))
    {
        e.push(FieldError::new(
            "depreciation_per_day",
            "日折旧率须在0到1之间（价格的比例，如0.001即0.1%）",
            "the daily depreciation rate must be between 0 and 1 (a fraction of the price, 0.001 = 0.1 %)",
        ));
    }
    if let Some(n) = req.usage_rate_n {
        let max = policy.vehicle.as_ref().map_or(1.0, |v| v.compensation.max_n);
        if !(n.is_finite() && n >= 0.0) {
            e.push(FieldError::new(
                "usage_rate_n",
                "使用补偿系数n须为非负数",
                "the usage coefficient n must be a non-negative number",
            ));
        } else if n > max {
            e.push(FieldError::new(
                "usage_rate_n",
                format!("使用补偿系数n为{}%，超过上限{}%", n * 100.0, max * 100.0),
                format!("the usage coefficient n is {} %, above the ceiling of {} %", n * 100.0, max * 100.0),
            ));
        }
    }
    if let Some(km) = req.odometer_km
        && km > 10_000_000
    {
        e.push(FieldError::new(
            "odometer_km",
            "行驶里程不合理（超过1000万公里）",
            "the odometer reading is implausible (over 10,000,000 km)",
        ));
    }
    if vehicle {
        if req.odometer_km.is_none() {
            e.push(FieldError::new(
                "odometer_km",
                "汽车三包期限以日期或里程先到者为准，须填写行驶里程",
                "vehicle periods end at the days or the kilometres, whichever comes first: the odometer reading is required",
            ));
        }
        if part_name(&req.fault.main_part).is_some() && req.fault.system.is_none() {
            e.push(FieldError::new(
                "fault.system",
                "填写了主要零件，须同时填写所属系统",
                "a main part is given: name its system too",
            ));
        }
    }
    if req.category.as_ref().is_some_and(|c| c.len() > 200) {
        e.push(FieldError::new("category", "类别名称过长", "the category name is too long"));
    }

    // The warranty length must be determinable: grade-dependent policies need the grade.
    let category_months = category.and_then(|c| {
        if part_name(&req.fault.main_part).is_some() {
            c.main_parts_months.or(c.warranty_months)
        } else {
            c.warranty_months
        }
    });
    if req.warranty_months.is_none()
        && category_months.is_none()
        && policy.warranty.months.for_grade(req.grade).is_none()
    {
        e.push(FieldError::new(
            "grade",
            format!("政策{}按产品档次确定保修期，须填写档次（high、mid、low）", policy.code),
            format!("policy {} sets the warranty by grade: give the grade (high, mid or low)", policy.code),
        ));
    }

    for (i, x) in req.exclusions.iter().enumerate() {
        if policy.exclusion(*x).is_none() {
            let listed: Vec<&str> = policy.exclusions.iter().map(|t| t.exclusion.code()).collect();
            e.push(FieldError::new(
                format!("exclusions[{i}]"),
                format!("政策{}没有规定除外情形“{}”；可用：{}", policy.code, x.code(), listed.join("、")),
                format!(
                    "policy {} does not define the exclusion {}; it defines: {}",
                    policy.code,
                    x.code(),
                    listed.join(", ")
                ),
            ));
        }
    }

    for (i, (h, pre)) in req.history.iter().zip(pre).enumerate() {
        let p = |f: &str| format!("history[{i}].{f}");
        let start = pre.start_date;
        let end = pre.end_date;
        let mut ok = true;
        if !year_ok(start) {
            bad_year(e, p("start"));
            ok = false;
        }
        if let Some(end) = end
            && !year_ok(end)
        {
            bad_year(e, p("end"));
            ok = false;
        }
        if !ok || !dates_ok {
            continue;
        }
        if start < earliest {
            e.push(FieldError::new(
                p("start"),
                format!("{start}早于销售日期{earliest}"),
                format!("{start} is before the sale on {earliest}"),
            ));
        }
        if start > req.request_date {
            e.push(FieldError::new(
                p("start"),
                format!("{start}晚于报修日期{}", req.request_date),
                format!("{start} is after the request date {}", req.request_date),
            ));
        }
        if let (Some(end_t), Some(end_d)) = (h.end, end) {
            if end_t < h.start {
                e.push(FieldError::new(
                    p("end"),
                    format!("结束时间{end_t}早于开始时间{}", h.start),
                    format!("the end {end_t} is before the start {}", h.start),
                ));
                continue;
            }
            if end_d > req.request_date {
                e.push(FieldError::new(
                    p("end"),
                    format!("{end_d}晚于报修日期{}", req.request_date),
                    format!("{end_d} is after the request date {}", req.request_date),
                ));
            }
        }
        if h.kind == HistoryKind::Exchange {
            continue;
        }
        let span_days = pre.calendar_days;
        if i64::from(h.waiting_for_parts_days) > span_days {
            e.push(FieldError::new(
                p("waiting_for_parts_days"),
                format!(
                    "待件{}天超过了该次修理的{span_days}天（待件天数包含在修理期间内）",
                    h.waiting_for_parts_days
                ),
                format!(
                    "{} days waiting for parts exceed the repair's {span_days} days (waiting is part of the repair span)",
                    h.waiting_for_parts_days
                ),
            ));
        }
        let span_hours = pre.secs as f64 / 3600.0;
        if !(h.excluded_hours.is_finite() && h.excluded_hours >= 0.0) {
            e.push(FieldError::new(
                p("excluded_hours"),
                "不计入的小时数须为非负数",
                "excluded hours must be a non-negative number",
            ));
        } else if h.excluded_hours > span_hours.max(0.0) {
            e.push(FieldError::new(
                p("excluded_hours"),
                format!("不计入的{}小时超过了修理时长", h.excluded_hours),
                format!("{} excluded hours exceed the length of the repair", h.excluded_hours),
            ));
        }
        if vehicle && part_name(&h.main_part).is_some() && h.system.is_none() {
            e.push(FieldError::new(
                p("system"),
                "填写了主要零件，须同时填写所属系统",
                "a main part is given: name its system too",
            ));
        }
    }
    errors
}
