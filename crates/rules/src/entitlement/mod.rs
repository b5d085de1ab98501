//! Entitlement: what a customer is entitled to for a fault — refund, exchange, free or paid
//! repair, and for vehicles assembly replacement and a courtesy car — under a policy that is
//! data (a regulation such as 国经贸[1995]458号 or 总局令第43号, or a company's own terms).
//!
//! Every remedy considered comes back as a [`Decision`], granted or refused, citing the policy
//! and clause that decided it, with the reason in Chinese and English. The engine is pure: no
//! I/O, no clock ("today" is the request's `request_date`).
//!
//! Day counting: the day of sale is day 1. A period of N months ends the day before the same
//! date N months later (the month's last day when that date does not exist), plus the days the
//! policy adds back for repairs. An exchange starts fresh periods on its date, and history
//! before it no longer counts toward repair counts.
//!
//! ```
//! use rules::entitlement::{Remedy, builtin_policy, evaluate_json};
//!
//! let input = r#"{"policy": "cn-general-1995", "invoice_date": "2026-03-01",
//!                 "request_date": "2026-03-07", "price_cents": 400000,
//!                 "fault": {"kind": "performance"}}"#;
//! let e = evaluate_json(input, builtin_policy).unwrap();
//! assert_eq!(e.remedies, [Remedy::Refund, Remedy::Exchange, Remedy::FreeRepair]);
//! assert_eq!(e.decisions[0].rule, "cn-general-1995 art. 9");
//! assert_eq!(e.refund_cents, Some(400000));
//! ```

mod citation;
mod dates;
mod engine;
mod input;
mod output;
mod policy;
mod prepared;
mod reason;
mod types;
mod validate;

pub use citation::Citation;
pub use output::{Decision, Evaluation, Warning};
pub use policy::{
    CategoryTerms, CompensationTerms, CourtesyTerms, DaysKmTerms, DelayTerms, ExclusionTerms, FailedRepairTerms,
    LEGAL_MAX_USAGE_RATE_N, MonthsByGrade, PeriodStart, Policy, PolicyFamily, PostRepairTerms, RefundTerms,
    RepairDayCounting, RepeatFailureTerms, ReturnTerms, SanbaoTerms, SeriousFailureTerms, VehicleTerms, WarrantyTerms,
    WindowTerms, builtin_policies, builtin_policy,
};
pub use reason::{Amount, AmountBasis, Reason};
pub use types::{
    EvaluateRequest, Exclusion, Failure, Fault, FaultKind, Grade, HistoryEntry, HistoryKind, Remedy, RemedySet,
    VehicleSystem,
};

use crate::FieldError;

/// Decides `req` under `policy`. The caller has resolved `req.policy` to `policy`; the
/// request is checked against it (e.g. the odometer and n for vehicles) and every problem is
/// returned at once.
pub fn evaluate(policy: &Policy, req: &EvaluateRequest) -> Result<Evaluation, Vec<FieldError>> {
    let category = validate::resolve_category(policy, req);
    prepared::with_prepared(req, |pre| {
        let errors = validate::validate_request(policy, req, pre, category);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(engine::run(policy, req, pre, category))
    })
}

/// Parses the JSON contract, resolves its `policy` with `lookup`, validates and decides.
/// Syntax errors are reported on `body` with line and column, everything else with the path
/// of the field. Unknown fields are rejected. Never panics.
pub fn evaluate_json(input: &str, lookup: impl Fn(&str) -> Option<Policy>) -> Result<Evaluation, Vec<FieldError>> {
    let value: serde_json::Value = serde_json::from_str(input).map_err(|e| vec![input::syntax_error(&e)])?;
    let (code, parsed) = input::parse_request(&value);
    let mut errors = parsed.as_ref().err().cloned().unwrap_or_default();

    let policy = code.as_deref().and_then(|code| {
        let found = lookup(code);
        if found.is_none() {
            errors.push(FieldError::new(
                "policy",
                format!("未知的政策代码“{code}”"),
                format!("unknown policy code \"{code}\""),
            ));
        }
        found
    });
    if let Some(p) = &policy
        && let Err(problems) = p.validate()
    {
        errors.extend(problems.into_iter().map(|e| {
            FieldError::new(
                "policy",
                format!("政策{} v{}无效：{}：{}", p.code, p.version, e.field, e.message_zh),
                format!("policy {} v{} is invalid: {}: {}", p.code, p.version, e.field, e.message_en),
            )
        }));
    }
    match (policy, parsed) {
        (Some(policy), Ok(req)) if errors.is_empty() => evaluate(&policy, &req),
        _ => Err(errors),
    }
}

/// Last day of the whole-product warranty of a unit whose period starts on `start`, with no
/// repair history: the model's own months when set, else its category's terms, else the
/// policy's months for the grade (the order `evaluate` uses). Visit schedules use it to tell
/// customers with units in warranty from the others.
pub fn warranty_end(
    policy: &Policy,
    start: chrono::NaiveDate,
    grade: Option<Grade>,
    category: Option<&str>,
    model_months: Option<u32>,
) -> chrono::NaiveDate {
    let months = model_months
        .or_else(|| category.and_then(|c| policy.category(c)).and_then(|c| c.warranty_months))
        .or(policy.warranty.months.for_grade(grade))
        .unwrap_or(1);
    dates::period_end(start, months)
}

#[cfg(test)]
mod warranty_end_tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn model_months_win_then_the_policy_grade() {
        let p = builtin_policy("cn-general-1995").expect("general policy");
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(warranty_end(&p, d("2026-01-15"), None, None, Some(24)), d("2028-01-14"));
        let by_policy = warranty_end(&p, d("2026-01-15"), Some(Grade::High), None, None);
        assert_eq!(by_policy, d("2027-01-14"));
        assert_eq!(warranty_end(&p, d("2026-01-15"), None, Some("空调"), None), d("2027-01-14"));
    }
}
