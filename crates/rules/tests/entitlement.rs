//! Entitlement vectors. Each test names the article (or seed clause) it checks.

use chrono::{DateTime, FixedOffset, NaiveDate};
use rules::entitlement::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn t(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

const PRICE: i64 = 400_000;

fn policy(code: &str) -> Policy {
    builtin_policy(code).unwrap()
}

fn req(code: &str, invoice: &str, request: &str, kind: FaultKind) -> EvaluateRequest {
    EvaluateRequest::new(code, d(invoice), d(request), PRICE, Fault::new(kind))
}

fn general(request: &str, kind: FaultKind) -> EvaluateRequest {
    req("cn-general-1995", "2026-03-01", request, kind)
}

fn seed(request: &str, kind: FaultKind, grade: Grade) -> EvaluateRequest {
    let mut r = req("seed-company", "2026-03-01", request, kind);
    r.grade = Some(grade);
    r
}

fn car(request: &str, km: u64) -> EvaluateRequest {
    let mut r = req("cn-car-2021", "2026-03-01", request, FaultKind::Performance);
    r.price_cents = 20_000_000;
    r.odometer_km = Some(km);
    r.usage_rate_n = Some(0.005);
    r
}

fn eval(r: &EvaluateRequest) -> Evaluation {
    evaluate(&policy(&r.policy), r).unwrap_or_else(|e| panic!("unexpected errors: {e:?}"))
}

fn errors(r: &EvaluateRequest) -> Vec<String> {
    match evaluate(&policy(&r.policy), r) {
        Ok(e) => panic!("expected errors, got {:?}", e.remedies),
        Err(errs) => errs.into_iter().map(|e| e.field).collect(),
    }
}

fn repair(start: &str, end: &str) -> HistoryEntry {
    let mut h = HistoryEntry::new(HistoryKind::Repair, t(start), Some(t(end)));
    h.same_fault = true;
    h
}

fn day_repair(start: &str, end: &str) -> HistoryEntry {
    repair(&format!("{start}T09:00:00+08:00"), &format!("{end}T17:00:00+08:00"))
}

fn replacement(start: &str, end: &str, system: VehicleSystem, part: Option<&str>) -> HistoryEntry {
    let mut h = HistoryEntry::new(HistoryKind::Replacement, t(start), Some(t(end)));
    h.same_fault = true;
    h.system = Some(system);
    h.main_part = part.map(str::to_owned);
    h
}

fn exchange(date: &str) -> HistoryEntry {
    HistoryEntry::new(HistoryKind::Exchange, t(&format!("{date}T10:00:00+08:00")), None)
}

fn rule(e: &Evaluation, r: Remedy) -> &str {
    &e.decision(r).unwrap().rule
}

use Remedy::*;

// ---------------------------------------------------------------- cn-general-1995

// Art. 9: day 7 (the sale day is day 1) is still inside the 7-day window.
#[test]
fn general_art9_day7_refund_exchange_or_repair() {
    let e = eval(&general("2026-03-07", FaultKind::Performance));
    assert_eq!(e.remedies, vec![Refund, Exchange, FreeRepair]);
    assert_eq!(e.days_since_sale, 7);
    assert_eq!(e.refund_cents, Some(PRICE));
    assert_eq!(e.deduction_cents, Some(0));
    assert_eq!(rule(&e, Refund), "cn-general-1995 art. 9");
    assert_eq!(rule(&e, Exchange), "cn-general-1995 art. 9");
    assert_eq!(e.refund_window_ends, Some(d("2026-03-07")));
    assert_eq!(e.exchange_window_ends, Some(d("2026-03-15")));
    let refund = e.decision(Refund).unwrap();
    assert!(refund.reason_zh().contains("第7天"), "{}", refund.reason_zh());
    assert!(refund.reason_en().contains("day 7"), "{}", refund.reason_en());
    assert!(refund.reason_zh().contains("¥4,000.00"));
}

// Art. 9: day 5 reason wording, as the UI shows it.
#[test]
fn general_art9_reason_text() {
    let e = eval(&general("2026-03-05", FaultKind::Performance));
    let r = e.decision(Refund).unwrap();
    assert!(r.reason_zh().starts_with("购买后第5天（7日内）出现性能故障，可选择退货、换货或免费修理"));
    assert!(r.reason_en().starts_with(
        "Performance fault on day 5 after sale (within 7 days): refund, exchange or free repair at the customer's choice"
    ));
}

// Art. 9/10: day 8 is outside the 7-day window: exchange or repair only.
#[test]
fn general_art9_day8_no_refund() {
    let e = eval(&general("2026-03-08", FaultKind::Performance));
    assert_eq!(e.remedies, vec![Exchange, FreeRepair]);
    assert_eq!(rule(&e, Exchange), "cn-general-1995 art. 10");
    let refund = e.decision(Refund).unwrap();
    assert!(!refund.granted);
    assert_eq!(refund.rule, "cn-general-1995 art. 9");
    assert!(refund.reason_en().contains("past the 7-day refund window"));
    assert_eq!(e.refund_cents, None);
}

// Art. 10: day 15 still gives an exchange, day 16 only repair.
#[test]
fn general_art10_day15_boundary() {
    let e = eval(&general("2026-03-15", FaultKind::Performance));
    assert_eq!(e.remedies, vec![Exchange, FreeRepair]);
    let e = eval(&general("2026-03-16", FaultKind::Performance));
    assert_eq!(e.remedies, vec![FreeRepair]);
    assert_eq!(rule(&e, FreeRepair), "cn-general-1995 art. 8");
    let ex = e.decision(Exchange).unwrap();
    assert!(!ex.granted);
    assert!(ex.reason_en().contains("past the 15-day exchange window"));
}

// Art. 9: only a performance fault opens the window; a cosmetic defect does not.
#[test]
fn general_art9_cosmetic_defect_not_a_performance_fault() {
    let e = eval(&general("2026-03-03", FaultKind::Cosmetic));
    assert_eq!(e.remedies, vec![FreeRepair]);
    let refund = e.decision(Refund).unwrap();
    assert_eq!(refund.reason.code(), "window_fault_kind");
}

// Art. 8: 12 months from the invoice date, the last day inclusive.
#[test]
fn general_art8_warranty_end_inclusive() {
    let e = eval(&general("2027-02-28", FaultKind::General));
    assert_eq!(e.warranty_ends, d("2027-02-28"));
    assert_eq!(e.sanbao_ends, None);
    assert_eq!(e.remedies, vec![FreeRepair]);
    let e = eval(&general("2027-03-01", FaultKind::General));
    assert_eq!(e.remedies, vec![PaidRepair]);
    assert!(!e.in_warranty);
    let paid = e.decision(PaidRepair).unwrap();
    assert_eq!(paid.rule, "cn-general-1995 art. 8");
    assert!(paid.reason_en().contains("ended on 2027-02-28"));
}

// Art. 8 with month clamping: Jan 31 + 1 month has no Feb 31; the period ends Feb 28.
#[test]
fn general_art8_month_clamping() {
    let mut r = req("cn-general-1995", "2026-01-31", "2026-02-28", FaultKind::General);
    r.warranty_months = Some(1);
    let e = eval(&r);
    assert_eq!(e.warranty_ends, d("2026-02-28"));
    assert_eq!(e.remedies, vec![FreeRepair]);
    r.request_date = d("2026-03-01");
    assert_eq!(eval(&r).remedies, vec![PaidRepair]);
}

// Art. 8 with a leap day: sold on Feb 29, one year of warranty ends on Feb 28.
#[test]
fn general_art8_leap_years() {
    let r = req("cn-general-1995", "2028-02-29", "2028-03-10", FaultKind::General);
    assert_eq!(eval(&r).warranty_ends, d("2029-02-28"));
    let r = req("cn-general-1995", "2027-03-01", "2027-03-10", FaultKind::General);
    assert_eq!(eval(&r).warranty_ends, d("2028-02-29"));
}

// Art. 8: days under repair (waiting for parts included) are added to the period.
#[test]
fn general_art8_repair_days_added_back() {
    let mut r = general("2027-03-10", FaultKind::General);
    r.history = vec![
        day_repair("2026-04-01", "2026-04-03"), // 3 days
        day_repair("2026-05-10", "2026-05-19"), // 10 days
    ];
    r.history[1].waiting_for_parts_days = 6;
    let e = eval(&r);
    assert_eq!(e.extension_days, 13);
    assert_eq!(e.repair_days, 13);
    assert_eq!(e.warranty_ends, d("2027-03-13"));
    assert!(e.in_warranty);
    assert!(e.decision(FreeRepair).unwrap().reason_en().contains("13 days added back"));
}

// Art. 8: a repair that starts inside the extended period extends it again (fixed point).
#[test]
fn general_art8_chained_extension() {
    let mut r = general("2027-03-20", FaultKind::General);
    r.history = vec![
        day_repair("2027-02-20", "2027-02-24"), // 5 days: ends Mar 5
        day_repair("2027-03-03", "2027-03-08"), // starts inside the extension: 6 more
    ];
    let e = eval(&r);
    assert_eq!(e.extension_days, 11);
    assert_eq!(e.warranty_ends, d("2027-03-11"));
}

// Art. 11 + 13: repaired twice and still faulty → exchange or refund with depreciation.
#[test]
fn general_art11_two_failed_repairs() {
    let mut r = general("2026-06-09", FaultKind::Performance);
    r.history = vec![day_repair("2026-04-01", "2026-04-03"), day_repair("2026-05-01", "2026-05-05")];
    r.same_model_available = Some(true);
    r.depreciation_per_day = Some(0.001);
    let e = eval(&r);
    assert_eq!(e.remedies, vec![Refund, Exchange, FreeRepair]);
    assert_eq!(rule(&e, Exchange), "cn-general-1995 art. 11");
    assert_eq!(rule(&e, Refund), "cn-general-1995 art. 11, art. 13");
    assert_eq!(e.same_fault_repairs, 2);
    // Day 101; 8 repair days deducted → 93 days used × 0.1 % × ¥4,000 = ¥372.
    assert_eq!(e.days_since_sale, 101);
    assert_eq!(e.deduction_cents, Some(37_200));
    assert_eq!(e.refund_cents, Some(PRICE - 37_200));
    let refund = e.decision(Refund).unwrap();
    assert_eq!(refund.amount.unwrap().basis, AmountBasis::Depreciation { days_used: 93, rate: 0.001 });
    assert!(refund.reason_zh().contains("使用93天"));
}

// Art. 11: one failed repair is not enough; repairs of another fault do not count.
#[test]
fn general_art11_needs_two_of_the_same_fault() {
    let mut r = general("2026-06-09", FaultKind::Performance);
    r.history = vec![day_repair("2026-04-01", "2026-04-03"), day_repair("2026-05-01", "2026-05-05")];
    r.history[1].same_fault = false;
    let e = eval(&r);
    assert_eq!(e.remedies, vec![FreeRepair]);
    assert!(e.decision(Exchange).unwrap().reason_en().contains("repaired 1 of 2 times"));
}

// Art. 11: a repair still in progress has not yet failed; it does not count.
#[test]
fn general_art11_repair_in_progress_not_counted() {
    let mut r = general("2026-05-03", FaultKind::Performance);
    r.history = vec![
        day_repair("2026-04-01", "2026-04-03"),
        HistoryEntry::new(HistoryKind::Repair, t("2026-05-01T09:00:00+08:00"), None),
    ];
    r.history[1].same_fault = true;
    let e = eval(&r);
    assert_eq!(e.same_fault_repairs, 1);
    assert_eq!(e.remedies, vec![FreeRepair]);
    // The open repair counts up to the request date for the extension: May 1–3.
    assert_eq!(e.repair_days, 6);
}

// Art. 13: no same model available → full refund, the exchange is refused.
#[test]
fn general_art13_no_same_model_full_refund() {
    let mut r = general("2026-06-09", FaultKind::Performance);
    r.history = vec![day_repair("2026-04-01", "2026-04-03"), day_repair("2026-05-01", "2026-05-05")];
    r.same_model_available = Some(false);
    r.depreciation_per_day = Some(0.001);
    let e = eval(&r);
    assert_eq!(e.remedies, vec![Refund, FreeRepair]);
    assert_eq!(e.refund_cents, Some(PRICE));
    assert_eq!(e.deduction_cents, Some(0));
    assert_eq!(e.decision(Exchange).unwrap().reason.code(), "no_same_model");
}

// Art. 13: the rate comes from the category when the request gives none.
#[test]
fn general_art13_category_rate() {
    let mut r = general("2026-06-09", FaultKind::Performance);
    r.category = Some("彩电".into());
    r.history = vec![day_repair("2026-04-01", "2026-04-03"), day_repair("2026-05-01", "2026-05-05")];
    let e = eval(&r);
    assert_eq!(e.deduction_cents, Some(37_200)); // colour TV: 0.1 %/day
    r.category = Some("washing_machine".into()); // 0.05 %/day
    assert_eq!(eval(&r).deduction_cents, Some(18_600));
}

// Art. 13: without any rate the amount is unknown — reported, not guessed.
#[test]
fn general_art13_missing_rate_is_a_warning() {
    let mut r = general("2026-06-09", FaultKind::Performance);
    r.history = vec![day_repair("2026-04-01", "2026-04-03"), day_repair("2026-05-01", "2026-05-05")];
    let e = eval(&r);
    assert!(e.grants(Refund));
    assert_eq!(e.refund_cents, None);
    assert_eq!(e.warnings, vec![Warning::MissingDepreciationRate]);
}

// Annex: main components have a longer period (colour TV: 3 years).
#[test]
fn general_annex_main_component_period() {
    let mut r = general("2028-01-10", FaultKind::Performance);
    r.category = Some("colour_tv".into());
    assert_eq!(eval(&r).remedies, vec![PaidRepair]);
    r.fault.main_part = Some("picture tube".into());
    let e = eval(&r);
    assert_eq!(e.warranty_months, 36);
    assert_eq!(e.warranty_ends, d("2029-02-28"));
    assert_eq!(e.remedies, vec![FreeRepair]);
}

// Unknown category: the policy's general period, with a warning.
#[test]
fn general_unknown_category_warns() {
    let mut r = general("2026-05-01", FaultKind::General);
    r.category = Some("toaster".into());
    let e = eval(&r);
    assert_eq!(e.warranty_months, 12);
    assert_eq!(e.warnings, vec![Warning::UnknownCategory("toaster".into())]);
}

// Art. 12: unrepaired more than 90 days after drop-off for lack of parts → free exchange.
#[test]
fn general_art12_parts_waiting_over_90_days() {
    let mut r = general("2026-07-05", FaultKind::Performance);
    let mut h = HistoryEntry::new(HistoryKind::Repair, t("2026-04-01T09:00:00+08:00"), None);
    h.waiting_for_parts_days = 80;
    r.history = vec![h];
    let e = eval(&r);
    assert_eq!(e.repair_days, 96);
    assert!(e.grants(Exchange));
    assert_eq!(rule(&e, Exchange), "cn-general-1995 art. 12");
    assert_eq!(e.decision(Exchange).unwrap().reason.code(), "parts_delay");
    // Art. 13 lets the consumer take a refund instead.
    assert_eq!(rule(&e, Refund), "cn-general-1995 art. 12, art. 13");
    // Exactly 90 days is not "more than 90".
    r.request_date = d("2026-06-29");
    r.history[0].waiting_for_parts_days = 70;
    let e = eval(&r);
    assert_eq!(e.repair_days, 90);
    assert!(!e.grants(Exchange));
}

// Art. 12: the repairer's own delay over 30 days → exchange at the repairer's cost.
#[test]
fn general_art12_repairer_delay_over_30_days() {
    let mut r = general("2026-05-10", FaultKind::Performance);
    r.history = vec![day_repair("2026-04-01", "2026-05-01")]; // 31 days
    let e = eval(&r);
    assert!(e.grants(Exchange));
    assert_eq!(e.decision(Exchange).unwrap().reason.code(), "repairer_delay");
    r.history = vec![day_repair("2026-04-01", "2026-04-30")]; // 30 days
    assert!(!eval(&r).grants(Exchange));
    // Days waiting for parts are not the repairer's delay.
    r.history = vec![day_repair("2026-04-01", "2026-05-05")];
    r.history[0].waiting_for_parts_days = 10;
    assert!(!eval(&r).grants(Exchange));
}

// Art. 14: an exchange starts a new warranty; repairs before it no longer count.
#[test]
fn general_art14_exchange_restarts_periods() {
    let mut r = general("2026-08-01", FaultKind::Performance);
    r.history =
        vec![day_repair("2026-04-01", "2026-04-03"), day_repair("2026-05-01", "2026-05-05"), exchange("2026-06-01")];
    let e = eval(&r);
    assert_eq!(e.warranty_starts, d("2026-06-01"));
    assert_eq!(e.warranty_ends, d("2027-05-31"));
    assert_eq!(e.same_fault_repairs, 0);
    assert_eq!(e.extension_days, 0);
    assert_eq!(e.days_since_sale, 154);
    assert_eq!(e.day_in_period, 62);
    assert_eq!(e.remedies, vec![FreeRepair]);
    assert_eq!(rule(&e, FreeRepair), "cn-general-1995 art. 8, art. 14");
    // The new unit's own warranty covers a date the old one would not have.
    r.request_date = d("2027-05-20");
    assert_eq!(eval(&r).remedies, vec![FreeRepair]);
}

// Art. 6: a repair must hold 30 days, even when the warranty ran out meanwhile.
#[test]
fn general_art6_repair_must_last_30_days() {
    let mut r = general("2027-03-15", FaultKind::Performance);
    r.history = vec![day_repair("2027-02-15", "2027-02-20")];
    let e = eval(&r);
    assert_eq!(e.warranty_ends, d("2027-03-06"));
    assert!(!e.in_warranty);
    assert_eq!(e.remedies, vec![FreeRepair]);
    assert_eq!(rule(&e, FreeRepair), "cn-general-1995 art. 6");
    r.request_date = d("2027-03-23");
    assert_eq!(eval(&r).remedies, vec![PaidRepair]);
}

// Art. 18: each exclusion turns every free remedy into paid repair, citing its item.
#[test]
fn general_art18_each_exclusion_paid_repair() {
    let p = policy("cn-general-1995");
    for x in &p.exclusions {
        let mut r = general("2026-03-03", FaultKind::Performance);
        r.exclusions = vec![x.exclusion];
        let e = evaluate(&p, &r).unwrap();
        assert_eq!(e.remedies, vec![PaidRepair], "{:?}", x.exclusion);
        assert_eq!(e.refund_cents, None);
        for dec in &e.decisions {
            assert_eq!(dec.rule, format!("cn-general-1995 {}", x.clause));
            assert_eq!(dec.reason.code(), "excluded");
        }
    }
}

#[test]
fn general_art18_clause_numbers() {
    let p = policy("cn-general-1995");
    let clause = |x| p.exclusion(x).unwrap().clause.as_str();
    assert_eq!(clause(Exclusion::Misuse), "art. 18(1)");
    assert_eq!(clause(Exclusion::UnauthorisedDisassembly), "art. 18(2)");
    assert_eq!(clause(Exclusion::NoCertificate), "art. 18(3)");
    assert_eq!(clause(Exclusion::CertificateMismatch), "art. 18(4)");
    assert_eq!(clause(Exclusion::ForceMajeure), "art. 18(5)");
}

// Art. 18: several exclusions; the reason counts them.
#[test]
fn general_art18_several_exclusions() {
    let mut r = general("2026-05-01", FaultKind::General);
    r.exclusions = vec![Exclusion::ForceMajeure, Exclusion::Misuse, Exclusion::Misuse];
    let e = eval(&r);
    assert_eq!(e.remedies, vec![PaidRepair]);
    let paid = e.decision(PaidRepair).unwrap();
    assert_eq!(paid.rule, "cn-general-1995 art. 18(5)");
    assert!(paid.reason_en().contains("and 1 more"));
}

// An exclusion the policy does not define is an input error, not a silent no-op.
#[test]
fn general_exclusion_not_in_policy_rejected() {
    let mut r = general("2026-05-01", FaultKind::General);
    r.exclusions = vec![Exclusion::Misuse, Exclusion::CommercialUse];
    assert_eq!(errors(&r), vec!["exclusions[1]"]);
}

// The granted list always matches the decisions; paid repair is refused while free applies.
#[test]
fn general_decisions_cover_every_remedy() {
    let e = eval(&general("2026-05-01", FaultKind::General));
    let remedies: Vec<Remedy> = e.decisions.iter().map(|d| d.remedy).collect();
    assert_eq!(remedies, vec![Refund, Exchange, FreeRepair, PaidRepair]);
    let paid = e.decision(PaidRepair).unwrap();
    assert!(!paid.granted);
    assert_eq!(paid.reason.code(), "free_repair_applies");
}

// ---------------------------------------------------------------- seed-company

// Seed §repair: 2 years for mid and high grade, 1 year for low grade.
#[test]
fn seed_warranty_by_grade() {
    let e = eval(&seed("2026-05-01", FaultKind::General, Grade::High));
    assert_eq!(e.warranty_months, 24);
    assert_eq!(e.warranty_ends, d("2028-02-29"));
    let e = eval(&seed("2026-05-01", FaultKind::General, Grade::Mid));
    assert_eq!(e.warranty_months, 24);
    let e = eval(&seed("2027-03-01", FaultKind::General, Grade::Low));
    assert_eq!(e.warranty_ends, d("2027-02-28"));
    assert_eq!(e.remedies, vec![PaidRepair]);
    assert_eq!(rule(&e, PaidRepair), "seed-company v1 §repair");
    let e = eval(&seed("2027-03-01", FaultKind::General, Grade::Mid));
    assert_eq!(e.remedies, vec![FreeRepair]);
    assert!(e.decision(FreeRepair).unwrap().reason_zh().contains("运输费"));
}

// Seed §repair: the grade decides the period, so it is required.
#[test]
fn seed_grade_required() {
    let mut r = seed("2026-05-01", FaultKind::General, Grade::Low);
    r.grade = None;
    assert_eq!(errors(&r), vec!["grade"]);
    r.warranty_months = Some(18);
    assert_eq!(eval(&r).warranty_months, 18);
}

// Seed §7-day: a quality or performance problem within 7 days → return; not on day 8.
#[test]
fn seed_7_day_return() {
    let e = eval(&seed("2026-03-07", FaultKind::General, Grade::Mid));
    assert_eq!(e.remedies, vec![Refund, FreeRepair]);
    assert_eq!(rule(&e, Refund), "seed-company v1 §7-day");
    assert_eq!(e.refund_cents, Some(PRICE));
    let e = eval(&seed("2026-03-08", FaultKind::General, Grade::Mid));
    assert_eq!(e.remedies, vec![FreeRepair]);
}

// Seed §exchange: two failed repairs within 180 days → exchange (no refund); day 181 → no.
#[test]
fn seed_180_day_exchange() {
    let mut r = seed("2026-08-27", FaultKind::General, Grade::Mid);
    r.history = vec![day_repair("2026-04-01", "2026-04-03"), day_repair("2026-06-01", "2026-06-02")];
    let e = eval(&r);
    assert_eq!(e.days_since_sale, 180);
    assert_eq!(e.remedies, vec![Exchange, FreeRepair]);
    assert_eq!(rule(&e, Exchange), "seed-company v1 §exchange");
    assert!(!e.grants(Refund));
    r.request_date = d("2026-08-28");
    let e = eval(&r);
    assert_eq!(e.remedies, vec![FreeRepair]);
    assert!(e.decision(Exchange).unwrap().reason_en().contains("more than 180 days"));
}

// Seed §exchange: the exchanged product's warranty restarts on the exchange date.
#[test]
fn seed_exchange_restarts_warranty() {
    let mut r = seed("2028-03-10", FaultKind::General, Grade::High);
    r.history = vec![exchange("2026-06-01")];
    let e = eval(&r);
    assert_eq!(e.warranty_ends, d("2028-05-31"));
    assert_eq!(rule(&e, FreeRepair), "seed-company v1 §repair, §exchange");
}

// Seed §return: a safety or health problem within 90 days → return at the purchase price.
#[test]
fn seed_90_day_safety_return() {
    let e = eval(&seed("2026-05-29", FaultKind::Safety, Grade::Mid));
    assert_eq!(e.days_since_sale, 90);
    assert_eq!(e.remedies, vec![Refund, FreeRepair]);
    assert_eq!(rule(&e, Refund), "seed-company v1 §return");
    assert_eq!(e.refund_cents, Some(PRICE));
    let e = eval(&seed("2026-05-30", FaultKind::Safety, Grade::Mid));
    assert_eq!(e.remedies, vec![FreeRepair]);
    assert!(e.decision(Refund).unwrap().reason_en().contains("past the 90-day return window"));
}

// Seed §return: a general problem still failing after two repairs and an exchange.
#[test]
fn seed_return_after_repairs_and_exchange() {
    let mut r = seed("2026-05-20", FaultKind::General, Grade::Mid);
    r.history =
        vec![day_repair("2026-03-10", "2026-03-11"), day_repair("2026-03-20", "2026-03-21"), exchange("2026-04-10")];
    let e = eval(&r);
    assert!(e.grants(Refund));
    assert_eq!(e.decision(Refund).unwrap().reason.code(), "return_after_exchange");
    assert_eq!(e.refund_cents, Some(PRICE));
    // Without the exchange it is the exchange rule that applies, not the return.
    r.history.pop();
    let e = eval(&r);
    assert_eq!(e.remedies, vec![Exchange, FreeRepair]);
}

// Seed §return: found non-conforming on inspection within 90 days.
#[test]
fn seed_nonconforming_return() {
    let mut r = seed("2026-04-01", FaultKind::General, Grade::Low);
    r.found_nonconforming = true;
    let e = eval(&r);
    assert_eq!(e.decision(Refund).unwrap().reason.code(), "nonconforming_return");
}

// Seed §return: no exchange possible → return at the purchase price.
#[test]
fn seed_no_exchange_possible_return() {
    let mut r = seed("2026-07-01", FaultKind::General, Grade::Mid);
    r.history = vec![day_repair("2026-04-01", "2026-04-03"), day_repair("2026-06-01", "2026-06-02")];
    r.same_model_available = Some(false);
    let e = eval(&r);
    assert_eq!(e.remedies, vec![Refund, FreeRepair]);
    assert_eq!(rule(&e, Refund), "seed-company v1 §exchange, §return");
    assert_eq!(e.refund_cents, Some(PRICE));
}

// Seed §exclusions.
#[test]
fn seed_exclusions_paid_repair() {
    let mut r = seed("2026-03-02", FaultKind::Safety, Grade::Mid);
    r.exclusions = vec![Exclusion::UnauthorisedDisassembly];
    let e = eval(&r);
    assert_eq!(e.remedies, vec![PaidRepair]);
    assert_eq!(rule(&e, PaidRepair), "seed-company v1 §exclusions");
}

// ---------------------------------------------------------------- cn-car-2021

// Art. 18: periods start on the delivery date when it differs from the invoice.
#[test]
fn car_art18_delivery_date_starts_periods() {
    let mut r = car("2026-04-01", 500);
    r.delivery_date = Some(d("2026-03-10"));
    let e = eval(&r);
    assert_eq!(e.warranty_starts, d("2026-03-10"));
    assert_eq!(e.warranty_ends, d("2029-03-09"));
    assert_eq!(e.sanbao_ends, Some(d("2028-03-09")));
    assert_eq!(e.warranty_km_limit, Some(60_000));
    assert_eq!(e.sanbao_km_limit, Some(50_000));
    assert_eq!(e.days_since_sale, 23);
    // A request between invoice and delivery is before the periods start.
    r.request_date = d("2026-03-05");
    assert_eq!(errors(&r), vec!["request_date"]);
}

// Art. 18/19: the warranty ends at 3 years or 60,000 km, whichever comes first.
#[test]
fn car_art18_km_or_days_whichever_first() {
    let e = eval(&car("2027-06-01", 60_000));
    assert_eq!(e.remedies, vec![FreeRepair]);
    assert_eq!(rule(&e, FreeRepair), "cn-car-2021 art. 18, 19");
    let e = eval(&car("2027-06-01", 60_001));
    assert_eq!(e.remedies, vec![PaidRepair]);
    assert!(e.decision(PaidRepair).unwrap().reason_en().contains("60,001 km"));
    let e = eval(&car("2029-02-28", 10_000));
    assert_eq!(e.remedies, vec![FreeRepair]);
    let e = eval(&car("2029-03-01", 10_000));
    assert_eq!(e.remedies, vec![PaidRepair]);
}

// Art. 18/24: after the 三包 period (2 years or 50,000 km) no art. 24 exchange.
#[test]
fn car_art24_only_within_sanbao() {
    let mut r = car("2027-06-01", 51_000);
    r.history = (3..=7).map(|m| day_repair(&format!("2026-0{m}-10"), &format!("2026-0{m}-10"))).collect();
    let e = eval(&r);
    assert!(!e.in_sanbao);
    assert!(e.in_warranty);
    assert_eq!(e.remedies, vec![FreeRepair]);
    assert_eq!(e.decision(Exchange).unwrap().reason.code(), "sanbao_ended");
    r.odometer_km = Some(49_000);
    let e = eval(&r);
    assert!(e.grants(Exchange));
    assert_eq!(rule(&e, Exchange), "cn-car-2021 art. 24(4)");
}

fn engine_fault(r: &mut EvaluateRequest) {
    r.fault.system = Some(VehicleSystem::Engine);
    r.fault.main_part = Some("crankshaft".into());
}

// Art. 20: engine main part within 60 days and 3,000 km → free engine replacement.
#[test]
fn car_art20_assembly_swap_60_days_3000_km() {
    let mut r = car("2026-04-29", 3_000);
    engine_fault(&mut r);
    let e = eval(&r);
    assert_eq!(e.day_in_period, 60);
    assert!(e.grants(AssemblyReplacement));
    assert_eq!(rule(&e, AssemblyReplacement), "cn-car-2021 art. 20");
    r.request_date = d("2026-04-30");
    assert!(!eval(&r).grants(AssemblyReplacement));
    r.request_date = d("2026-04-01");
    r.odometer_km = Some(3_001);
    let e = eval(&r);
    assert!(!e.grants(AssemblyReplacement));
    assert!(e.decision(AssemblyReplacement).unwrap().reason_en().contains("3,001 km"));
}

// Art. 20: a fault that is not in a main part of the four assemblies does not qualify.
#[test]
fn car_art20_needs_main_part_of_listed_assembly() {
    let mut r = car("2026-03-10", 100);
    r.fault.system = Some(VehicleSystem::Engine);
    let e = eval(&r);
    assert!(!e.grants(AssemblyReplacement));
    r.fault.system = Some(VehicleSystem::Brakes);
    r.fault.main_part = Some("caliper".into());
    assert!(!eval(&r).grants(AssemblyReplacement));
}

// Art. 21: a single repair over 5 days (parts waiting included) → courtesy car from day 6.
#[test]
fn car_art21_courtesy_car_from_day_6() {
    let mut r = car("2026-06-01", 8_000);
    r.history = vec![repair("2026-05-01T09:00:00+08:00", "2026-05-06T09:00:00+08:00")];
    let e = eval(&r);
    assert!(!e.grants(CourtesyCar)); // exactly 5 × 24 h
    r.history = vec![repair("2026-05-01T09:00:00+08:00", "2026-05-06T09:00:01+08:00")];
    let e = eval(&r);
    assert!(e.grants(CourtesyCar));
    assert_eq!(rule(&e, CourtesyCar), "cn-car-2021 art. 21");
    assert_eq!(e.courtesy_car_days, 1);
    let zh = e.decision(CourtesyCar).unwrap().reason_zh();
    assert!(zh.contains("自第6日（2026-05-06）"), "{zh}");
}

// Art. 21: a repair still in progress counts up to the request date.
#[test]
fn car_art21_repair_in_progress() {
    let mut r = car("2026-05-07", 8_000);
    r.history = vec![HistoryEntry::new(HistoryKind::Repair, t("2026-05-01T09:00:00+08:00"), None)];
    r.history[0].waiting_for_parts_days = 4;
    let e = eval(&r);
    assert!(e.grants(CourtesyCar));
    assert_eq!(e.courtesy_car_days, 2);
    assert!(e.decision(CourtesyCar).unwrap().reason_en().contains("in progress"));
}

// Art. 22: within 7 days an engine/transmission/battery/motor (part) must be replaced →
// free exchange or refund at the full price.
#[test]
fn car_art22_seven_days() {
    let mut r = car("2026-03-07", 400);
    r.fault.system = Some(VehicleSystem::Transmission);
    r.fault.main_part = Some("valve body".into());
    let e = eval(&r);
    assert_eq!(e.remedies, vec![Refund, Exchange, FreeRepair, AssemblyReplacement]);
    assert_eq!(rule(&e, Refund), "cn-car-2021 art. 22");
    assert_eq!(e.refund_cents, Some(20_000_000));
    assert_eq!(e.deduction_cents, Some(0));
    r.request_date = d("2026-03-08");
    let e = eval(&r);
    assert_eq!(e.remedies, vec![FreeRepair, AssemblyReplacement]);
}

// Art. 23: steering/brake failure, body crack, fuel leak, battery fire within 60 days or
// 3,000 km → exchange or refund.
#[test]
fn car_art23_serious_failures() {
    for failure in
        [Failure::SteeringFailure, Failure::BrakeFailure, Failure::BodyCrack, Failure::FuelLeak, Failure::BatteryFire]
    {
        let mut r = car("2026-04-29", 3_000);
        r.fault.failure = Some(failure);
        let e = eval(&r);
        assert_eq!(e.remedies, vec![Refund, Exchange, FreeRepair], "{failure:?}");
        assert_eq!(rule(&e, Exchange), "cn-car-2021 art. 23");
        assert_eq!(e.refund_cents, Some(20_000_000));
    }
    let mut r = car("2026-04-30", 1_000);
    r.fault.failure = Some(Failure::BrakeFailure);
    assert_eq!(eval(&r).remedies, vec![FreeRepair]);
    let mut r = car("2026-04-01", 3_001);
    r.fault.failure = Some(Failure::FuelLeak);
    assert_eq!(eval(&r).remedies, vec![FreeRepair]);
}

// Art. 24(1): a serious safety fault repaired twice and not cured → exchange or refund.
#[test]
fn car_art24_1_serious_safety_repaired_twice() {
    let mut r = car("2026-09-01", 10_000);
    r.fault.serious_safety = true;
    r.history = vec![day_repair("2026-05-01", "2026-05-02"), day_repair("2026-07-01", "2026-07-02")];
    let e = eval(&r);
    assert_eq!(rule(&e, Exchange), "cn-car-2021 art. 24(1)");
    assert!(e.grants(Refund));
    // A new serious safety fault after two repairs of another one also qualifies.
    for h in &mut r.history {
        h.same_fault = false;
        h.serious_safety = true;
    }
    assert_eq!(rule(&eval(&r), Exchange), "cn-car-2021 art. 24(1)");
    r.history.pop();
    assert!(!eval(&r).grants(Exchange));
}

// Art. 24(2): the engine replaced twice and still failing.
#[test]
fn car_art24_2_assembly_replaced_twice() {
    let mut r = car("2026-12-01", 20_000);
    r.fault.system = Some(VehicleSystem::Engine);
    r.history = vec![
        replacement("2026-06-01T09:00:00+08:00", "2026-06-03T09:00:00+08:00", VehicleSystem::Engine, None),
        replacement("2026-09-01T09:00:00+08:00", "2026-09-03T09:00:00+08:00", VehicleSystem::Engine, Some("engine")),
    ];
    let e = eval(&r);
    assert_eq!(rule(&e, Exchange), "cn-car-2021 art. 24(2)");
}

// Art. 24(3): the same main part of a listed system replaced twice; assembly and part
// replacements are not counted together.
#[test]
fn car_art24_3_same_main_part_twice() {
    let mut r = car("2026-12-01", 20_000);
    r.fault.system = Some(VehicleSystem::Brakes);
    r.fault.main_part = Some("caliper".into());
    let cal = |s: &str, e: &str| replacement(s, e, VehicleSystem::Brakes, Some("Caliper"));
    r.history = vec![
        cal("2026-06-01T09:00:00+08:00", "2026-06-01T15:00:00+08:00"),
        cal("2026-09-01T09:00:00+08:00", "2026-09-01T15:00:00+08:00"),
    ];
    assert_eq!(rule(&eval(&r), Exchange), "cn-car-2021 art. 24(3)");
    // One part replacement plus one whole-assembly replacement: neither count reaches 2.
    r.history[1].main_part = None;
    assert!(!eval(&r).grants(Exchange));
    // Fuel is not a system listed in art. 24(3).
    r.fault.system = Some(VehicleSystem::Fuel);
    r.fault.main_part = Some("pump".into());
    for h in &mut r.history {
        h.system = Some(VehicleSystem::Fuel);
        h.main_part = Some("pump".into());
    }
    assert!(!eval(&r).grants(Exchange));
}

// Art. 24(4) + 40: more than 30 repair days in total; 30 days is not enough.
#[test]
fn car_art24_4_total_repair_days_over_30() {
    let mut r = car("2026-12-01", 20_000);
    r.history = vec![
        repair("2026-05-01T09:00:00+08:00", "2026-05-16T09:00:00+08:00"), // 15 days
        repair("2026-08-01T09:00:00+08:00", "2026-08-16T09:00:00+08:00"), // 15 days
    ];
    for h in &mut r.history {
        h.same_fault = false;
    }
    let e = eval(&r);
    assert_eq!(e.counted_repair_days, Some(30));
    assert!(!e.grants(Exchange));
    r.history[1].end = Some(t("2026-08-16T09:30:00+08:00")); // remainder → one more day
    let e = eval(&r);
    assert_eq!(e.counted_repair_days, Some(31));
    assert_eq!(rule(&e, Exchange), "cn-car-2021 art. 24(4)");
    assert_eq!(e.decision(Exchange).unwrap().reason.code(), "repair_days_over");
    // Transport of VIN-specific parts and rescue travel do not count (art. 24, last para.).
    r.history[1].excluded_hours = 1.0;
    let e = eval(&r);
    assert_eq!(e.counted_repair_days, Some(30));
    assert_eq!(e.repair_days, 31);
    assert!(!e.grants(Exchange));
}

// Art. 24(4): the same problem repaired more than 4 times.
#[test]
fn car_art24_4_same_problem_more_than_4_times() {
    let mut r = car("2026-12-01", 20_000);
    r.history = (3..=6).map(|m| day_repair(&format!("2026-0{m}-10"), &format!("2026-0{m}-10"))).collect();
    assert!(!eval(&r).grants(Exchange));
    r.history.push(day_repair("2026-07-10", "2026-07-10"));
    let e = eval(&r);
    assert_eq!(e.same_fault_repairs, 5);
    assert_eq!(e.decision(Exchange).unwrap().reason.code(), "same_fault_repairs_over");
}

// Art. 40: each full 24 h is one day, any remainder one more day.
#[test]
fn car_art40_day_rounding() {
    let mut r = car("2026-12-01", 20_000);
    r.history = vec![repair("2026-05-01T09:00:00+08:00", "2026-05-02T09:00:00+08:00")];
    assert_eq!(eval(&r).counted_repair_days, Some(1));
    r.history = vec![repair("2026-05-01T09:00:00+08:00", "2026-05-02T09:01:00+08:00")];
    assert_eq!(eval(&r).counted_repair_days, Some(2));
    r.history = vec![repair("2026-05-01T09:00:00+08:00", "2026-05-01T10:00:00+08:00")];
    assert_eq!(eval(&r).counted_repair_days, Some(1));
    // Excluded hours are removed before rounding: 25 h − 1 h = 24 h = 1 day.
    r.history = vec![repair("2026-05-01T09:00:00+08:00", "2026-05-02T10:00:00+08:00")];
    r.history[0].excluded_hours = 1.0;
    assert_eq!(eval(&r).counted_repair_days, Some(1));
}

// Art. 27: compensation = price × km / 1000 × n on an art. 24 exchange or refund.
#[test]
fn car_art27_usage_compensation() {
    let mut r = car("2026-12-01", 10_000);
    r.history = (3..=7).map(|m| day_repair(&format!("2026-0{m}-10"), &format!("2026-0{m}-10"))).collect();
    let e = eval(&r);
    // ¥200,000 × 10,000 / 1000 × 0.5 % = ¥10,000.
    assert_eq!(e.deduction_cents, Some(1_000_000));
    assert_eq!(e.refund_cents, Some(19_000_000));
    let refund = e.decision(Refund).unwrap();
    assert_eq!(refund.rule, "cn-car-2021 art. 24(4)");
    assert_eq!(refund.amount.unwrap().basis, AmountBasis::Usage { km: 10_000, n: 0.005 });
    assert!(refund.reason_zh().contains("使用补偿费¥10,000.00"));
    // The exchange carries the same compensation.
    let ex = e.decision(Exchange).unwrap();
    assert_eq!(ex.amount.unwrap().deduction_cents, Some(1_000_000));
    // n missing: the amount is unknown, said so.
    r.usage_rate_n = None;
    let e = eval(&r);
    assert_eq!(e.refund_cents, None);
    assert_eq!(e.warnings, vec![Warning::MissingUsageRate]);
}

// Art. 27: n above 0.5 % is rejected.
#[test]
fn car_art27_n_over_half_percent_rejected() {
    let mut r = car("2026-05-01", 1_000);
    r.usage_rate_n = Some(0.0051);
    assert_eq!(errors(&r), vec!["usage_rate_n"]);
    r.usage_rate_n = Some(0.005);
    assert!(evaluate(&policy("cn-car-2021"), &r).is_ok());
}

// Art. 18: kilometres are part of every vehicle period, so the odometer is required.
#[test]
fn car_odometer_required() {
    let mut r = car("2026-05-01", 1_000);
    r.odometer_km = None;
    assert_eq!(errors(&r), vec!["odometer_km"]);
}

// Art. 29: after an exchange both periods start again.
#[test]
fn car_art29_exchange_restarts_both_periods() {
    let mut r = car("2029-01-10", 30_000);
    r.history = vec![exchange("2027-01-10")];
    let e = eval(&r);
    assert_eq!(e.warranty_starts, d("2027-01-10"));
    assert_eq!(e.sanbao_ends, Some(d("2029-01-09")));
    assert_eq!(e.warranty_ends, d("2030-01-09"));
    assert!(!e.in_sanbao);
    assert_eq!(rule(&e, FreeRepair), "cn-car-2021 art. 18, 19, art. 29");
}

// Art. 32: exclusions for vehicles.
#[test]
fn car_art32_exclusions() {
    for (x, clause) in [
        (Exclusion::DisclosedDefect, "art. 32(1)"),
        (Exclusion::CommercialUse, "art. 32(2)"),
        (Exclusion::ForbiddenModification, "art. 32(3)"),
        (Exclusion::MishandlingAfterFault, "art. 32(4)"),
        (Exclusion::Misuse, "art. 32(5)"),
        (Exclusion::ForceMajeure, "art. 32(6)"),
    ] {
        let mut r = car("2026-03-05", 100);
        r.fault.failure = Some(Failure::BrakeFailure);
        r.exclusions = vec![x];
        let e = eval(&r);
        assert_eq!(e.remedies, vec![PaidRepair]);
        assert_eq!(rule(&e, PaidRepair), format!("cn-car-2021 {clause}"));
        assert_eq!(e.decisions.len(), 6);
        assert!(e.decisions.iter().all(|d| d.reason.code() == "excluded"));
    }
}

// Same-model availability applies to cars too: the refund remains.
#[test]
fn car_no_same_model_refund_only() {
    let mut r = car("2026-03-20", 900);
    r.fault.failure = Some(Failure::BodyCrack);
    r.same_model_available = Some(false);
    let e = eval(&r);
    assert_eq!(e.remedies, vec![Refund, FreeRepair]);
}

// ---------------------------------------------------------------- validation

#[test]
fn validation_repair_ending_before_start() {
    let mut r = general("2026-06-01", FaultKind::General);
    r.history =
        vec![day_repair("2026-04-01", "2026-04-02"), repair("2026-05-03T09:00:00+08:00", "2026-05-01T09:00:00+08:00")];
    assert_eq!(errors(&r), vec!["history[1].end"]);
}

#[test]
fn validation_request_before_sale() {
    let r = general("2026-02-28", FaultKind::General);
    assert_eq!(errors(&r), vec!["request_date"]);
}

#[test]
fn validation_negative_price_and_rate() {
    let mut r = general("2026-04-01", FaultKind::General);
    r.price_cents = -1;
    r.depreciation_per_day = Some(1.5);
    r.warranty_months = Some(0);
    assert_eq!(errors(&r), vec!["price_cents", "warranty_months", "depreciation_per_day"]);
}

#[test]
fn validation_history_outside_sale_and_request() {
    let mut r = general("2026-06-01", FaultKind::General);
    r.history = vec![
        day_repair("2026-02-01", "2026-02-03"),
        day_repair("2026-06-02", "2026-06-03"),
        day_repair("2026-05-30", "2026-06-04"),
    ];
    assert_eq!(errors(&r), vec!["history[0].start", "history[1].start", "history[1].end", "history[2].end"]);
}

#[test]
fn validation_waiting_and_excluded_hours_within_span() {
    let mut r = car("2026-06-01", 1_000);
    r.history = vec![repair("2026-05-01T09:00:00+08:00", "2026-05-02T09:00:00+08:00")];
    r.history[0].waiting_for_parts_days = 3;
    r.history[0].excluded_hours = 25.0;
    assert_eq!(errors(&r), vec!["history[0].waiting_for_parts_days", "history[0].excluded_hours"]);
}

#[test]
fn validation_vehicle_main_part_needs_system() {
    let mut r = car("2026-06-01", 1_000);
    r.fault.main_part = Some("crankshaft".into());
    assert_eq!(errors(&r), vec!["fault.system"]);
}

#[test]
fn validation_implausible_years() {
    let r = req("cn-general-1995", "1800-01-01", "2026-01-01", FaultKind::General);
    assert_eq!(errors(&r), vec!["invoice_date"]);
}

// ---------------------------------------------------------------- JSON contract

fn lookup(code: &str) -> Option<Policy> {
    builtin_policy(code)
}

const EXAMPLE: &str = r#"{
  "policy": "cn-general-1995",
  "invoice_date": "2026-03-01", "delivery_date": null,
  "request_date": "2026-03-07",
  "grade": "high", "category": null,
  "warranty_months": null,
  "odometer_km": null, "price_cents": 400000,
  "fault": { "kind": "performance", "serious_safety": false,
             "system": null, "main_part": null, "failure": null },
  "history": [],
  "exclusions": [],
  "same_model_available": true,
  "depreciation_per_day": 0.001,
  "usage_rate_n": 0.005
}"#;

// The contract example: art. 9 on day 7.
#[test]
fn json_contract_example() {
    let e = evaluate_json(EXAMPLE, lookup).unwrap();
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["remedies"], serde_json::json!(["refund", "exchange", "free_repair"]));
    assert_eq!(v["warranty_ends"], "2027-02-28");
    assert_eq!(v["sanbao_ends"], serde_json::Value::Null);
    assert_eq!(v["refund_cents"], 400_000);
    assert_eq!(v["deduction_cents"], 0);
    assert_eq!(v["policy"], "cn-general-1995");
    assert_eq!(v["policy_version"], 1);
    assert_eq!(v["days_since_sale"], 7);
    let d0 = &v["decisions"][0];
    assert_eq!(d0["remedy"], "refund");
    assert_eq!(d0["granted"], true);
    assert_eq!(d0["rule"], "cn-general-1995 art. 9");
    assert!(d0["reason_zh"].as_str().unwrap().contains("第7天"));
    assert!(d0["reason_en"].as_str().unwrap().contains("day 7"));
    let granted: Vec<&str> = v["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["granted"] == true)
        .map(|d| d["remedy"].as_str().unwrap())
        .collect();
    assert_eq!(granted, vec!["refund", "exchange", "free_repair"]);
}

// Lenient input: optional fields may be missing; history `end` may be null.
#[test]
fn json_minimal_and_lenient() {
    let input = r#"{"policy":"cn-car-2021","invoice_date":"2026-03-01","request_date":"2026-03-20",
        "odometer_km":900,"price_cents":15000000.0,"fault":{"kind":"safety","failure":"brake_failure"},
        "history":[{"kind":"repair","start":"2026-03-15T09:00:00+08:00","end":null}]}"#;
    let e = evaluate_json(input, lookup).unwrap();
    assert_eq!(e.remedies, vec![Refund, Exchange, FreeRepair, CourtesyCar]);
}

fn json_errors(input: &str) -> Vec<String> {
    match evaluate_json(input, lookup) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.into_iter().map(|e| e.field).collect(),
    }
}

#[test]
fn json_unknown_policy() {
    let input = EXAMPLE.replace("cn-general-1995", "acme-1");
    assert_eq!(json_errors(&input), vec!["policy"]);
}

#[test]
fn json_field_paths_all_at_once() {
    let input = r#"{"policy":"nope","invoice_date":"2026-02-30","request_date":"2026-03-07",
        "price_cents":-5,"grade":"premium","fault":{"kind":"noise","colour":"red"},
        "history":[{"kind":"repair","start":"2026-03-02T09:00:00+08:00"},
                   {"kind":"repair","start":"yesterday","waiting_for_parts_days":-1}],
        "exclusions":["misuse","acts_of_god"],"warranty_month":12}"#;
    assert_eq!(
        json_errors(input),
        vec![
            "warranty_month",
            "invoice_date",
            "grade",
            "price_cents",
            "fault.colour",
            "fault.kind",
            "history[1].start",
            "history[1].waiting_for_parts_days",
            "exclusions[1]",
            "policy",
        ]
    );
}

#[test]
fn json_semantic_errors_with_paths() {
    let input = r#"{"policy":"cn-car-2021","invoice_date":"2026-03-01","request_date":"2026-03-07",
        "price_cents":100,"odometer_km":10,"usage_rate_n":0.01,"fault":{"kind":"general"},
        "history":[{"kind":"repair","start":"2026-03-05T09:00:00+08:00","end":"2026-03-04T09:00:00+08:00"}]}"#;
    assert_eq!(json_errors(input), vec!["usage_rate_n", "history[0].end"]);
}

#[test]
fn json_syntax_and_shape_errors() {
    assert_eq!(json_errors("{\"policy\": "), vec!["body"]);
    assert_eq!(json_errors("[1,2]"), vec!["body"]);
    assert_eq!(json_errors("{\"policy\": 1} x"), vec!["body"]);
    let e = evaluate_json("{\"a\":", lookup).unwrap_err();
    assert!(e[0].message_en.contains("ends unexpectedly"));
    let e = evaluate_json("{\"a\" 1}", lookup).unwrap_err();
    assert!(e[0].message_en.contains("line 1 column"));
}

#[test]
fn json_serde_derive_agrees_with_reader() {
    let r: EvaluateRequest = serde_json::from_str(EXAMPLE).unwrap();
    assert_eq!(r.grade, Some(Grade::High));
    assert_eq!(r.same_model_available, Some(true));
    let e = evaluate(&policy(&r.policy), &r).unwrap();
    assert_eq!(e, evaluate_json(EXAMPLE, lookup).unwrap());
    let back: EvaluateRequest = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back, r);
}

// ---------------------------------------------------------------- policies as data

#[test]
fn builtin_policies_valid_and_round_trip() {
    let all = builtin_policies();
    let codes: Vec<&str> = all.iter().map(|p| p.code.as_str()).collect();
    assert_eq!(codes, vec!["cn-general-1995", "cn-car-2021", "seed-company"]);
    for p in &all {
        p.validate().unwrap();
        let json = serde_json::to_string(p).unwrap();
        let back: Policy = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, p);
    }
    assert!(builtin_policy("unknown").is_none());
}

#[test]
fn policy_validation_reports_every_problem() {
    let mut p = policy("cn-car-2021");
    p.version = 0;
    p.code = "Bad Code".into();
    p.warranty.months.default = Some(0);
    p.vehicle.as_mut().unwrap().compensation.max_n = 0.01;
    p.exclusions.push(p.exclusions[0].clone());
    let fields: Vec<String> = p.validate().unwrap_err().into_iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        vec!["code", "version", "warranty.months.default", "vehicle.compensation.max_n", "exclusions[9].exclusion"]
    );
    let mut g = policy("cn-general-1995");
    g.family = PolicyFamily::Vehicle;
    let fields: Vec<String> = g.validate().unwrap_err().into_iter().map(|e| e.field).collect();
    assert_eq!(fields, vec!["vehicle"]);
    let mut s = policy("seed-company");
    s.refund_window.as_mut().unwrap().grants = vec![PaidRepair];
    s.warranty.months.low = None;
    let fields: Vec<String> = s.validate().unwrap_err().into_iter().map(|e| e.field).collect();
    assert_eq!(fields, vec!["warranty.months", "refund_window.grants"]);
}

// A company copies the seed policy, edits it and saves version 3: decisions cite it.
#[test]
fn company_policy_from_seed() {
    let mut p = policy("seed-company");
    p.code = "acme".into();
    p.citation = None;
    p.version = 3;
    p.warranty.months.low = Some(18);
    p.failed_repairs.as_mut().unwrap().within_days = Some(365);
    p.validate().unwrap();
    let stored = serde_json::to_string(&p).unwrap();
    let acme = move |code: &str| (code == "acme").then(|| serde_json::from_str::<Policy>(&stored).unwrap());
    let input = r#"{"policy":"acme","invoice_date":"2026-03-01","request_date":"2027-01-10",
        "grade":"low","price_cents":9900,"fault":{"kind":"general"},
        "history":[{"kind":"repair","same_fault":true,"start":"2026-05-01T09:00:00+08:00","end":"2026-05-02T09:00:00+08:00"},
                   {"kind":"repair","same_fault":true,"start":"2026-08-01T09:00:00+08:00","end":"2026-08-02T09:00:00+08:00"}]}"#;
    let e = evaluate_json(input, acme).unwrap();
    assert_eq!(e.policy, "acme");
    assert_eq!(e.policy_version, 3);
    assert_eq!(e.warranty_months, 18);
    assert_eq!(e.remedies, vec![Exchange, FreeRepair]);
    assert_eq!(rule(&e, Exchange), "acme v3 §exchange");
}

// An invalid stored policy is reported on `policy`, not evaluated.
#[test]
fn invalid_stored_policy_reported() {
    let broken = |_: &str| {
        let mut p = builtin_policy("cn-general-1995").unwrap();
        p.refund.depreciation_per_day = Some(2.0);
        Some(p)
    };
    let e = evaluate_json(EXAMPLE, broken).unwrap_err();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].field, "policy");
    assert!(e[0].message_en.contains("refund.depreciation_per_day"));
}
