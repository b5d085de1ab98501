//! Property tests of the entitlement engine over generated, well-shaped requests.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeDelta};
use proptest::prelude::*;
use proptest::sample::subsequence;
use rules::entitlement::*;

fn base_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
}

fn at(d: NaiveDate, hour: u32) -> DateTime<FixedOffset> {
    let offset = FixedOffset::east_opt(8 * 3600).unwrap();
    d.and_hms_opt(hour, 0, 0).unwrap().and_local_timezone(offset).unwrap()
}

fn kind() -> impl Strategy<Value = FaultKind> {
    prop_oneof![
        Just(FaultKind::Performance),
        Just(FaultKind::Safety),
        Just(FaultKind::General),
        Just(FaultKind::Cosmetic),
    ]
}

fn system() -> impl Strategy<Value = Option<VehicleSystem>> {
    proptest::option::of(prop_oneof![
        Just(VehicleSystem::Engine),
        Just(VehicleSystem::Transmission),
        Just(VehicleSystem::TractionBattery),
        Just(VehicleSystem::Brakes),
        Just(VehicleSystem::Steering),
        Just(VehicleSystem::Fuel),
    ])
}

fn part() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop_oneof![
        Just("crankshaft".to_owned()),
        Just("caliper".to_owned()),
        Just("engine".to_owned()),
    ])
}

fn failure() -> impl Strategy<Value = Option<Failure>> {
    proptest::option::of(prop_oneof![
        Just(Failure::SteeringFailure),
        Just(Failure::BrakeFailure),
        Just(Failure::BodyCrack),
        Just(Failure::FuelLeak),
        Just(Failure::BatteryFire),
    ])
}

/// One history entry as offsets: (kind, same fault, serious, system, part, start day,
/// start hour, duration hours or open, waiting fraction, excluded fraction).
type RawEntry = (HistoryKind, bool, bool, Option<VehicleSystem>, Option<String>, (u32, u32), Option<u32>, (f64, f64));

fn raw_entry() -> impl Strategy<Value = RawEntry> {
    (
        prop_oneof![
            6 => Just(HistoryKind::Repair),
            3 => Just(HistoryKind::Replacement),
            1 => Just(HistoryKind::Exchange),
        ],
        any::<bool>(),
        any::<bool>(),
        system(),
        part(),
        (0u32..1200, 0u32..24),
        proptest::option::weighted(0.85, 0u32..1500),
        (0.0f64..1.0, 0.0f64..1.0),
    )
}

/// Builds a request that satisfies the input rules, so that `evaluate` reaches the engine.
fn request() -> impl Strategy<Value = (Policy, EvaluateRequest)> {
    let policies = builtin_policies();
    (
        (0usize..3, 0u32..1500, 0u32..1300, 0u32..40),
        (
            kind(),
            any::<bool>(),
            system(),
            part(),
            failure(),
            proptest::option::of(prop_oneof![Just(Grade::High), Just(Grade::Mid), Just(Grade::Low)]),
        ),
        (
            proptest::option::of(prop_oneof![
                Just("colour_tv".to_owned()),
                Just("冰箱".to_owned()),
                Just("toaster".to_owned()),
            ]),
            proptest::option::weighted(0.2, 1u32..60),
            0u64..120_000,
            0i64..1_000_000_000,
        ),
        proptest::collection::vec(raw_entry(), 0..8),
        (
            proptest::option::of(any::<bool>()),
            any::<bool>(),
            proptest::option::of(0.0f64..0.01),
            proptest::option::of(0.0f64..=0.005),
        ),
    )
        .prop_map(move |(a, b, c, raw, e)| {
            let (pi, sale_off, req_off, delivery_off) = a;
            let policy = policies[pi].clone();
            let invoice = base_date() + TimeDelta::days(i64::from(sale_off));
            let mut r = EvaluateRequest::new(
                policy.code.clone(),
                invoice,
                invoice + TimeDelta::days(i64::from(delivery_off + req_off)),
                c.3,
                Fault::new(b.0),
            );
            if delivery_off > 0 && pi == 1 {
                r.delivery_date = Some(invoice + TimeDelta::days(i64::from(delivery_off)));
            }
            r.fault.serious_safety = b.1;
            r.fault.system = b.2;
            r.fault.main_part = b.3;
            r.fault.failure = b.4;
            r.grade = b.5.or(Some(Grade::Mid));
            r.category = c.0;
            r.warranty_months = c.1;
            r.odometer_km = Some(c.2);
            if r.fault.main_part.is_some() && r.fault.system.is_none() {
                r.fault.system = Some(VehicleSystem::Engine);
            }
            let days = i64::from(delivery_off + req_off);
            for (kind, same, serious, system, main_part, (sd, sh), dur, (wf, xf)) in raw {
                let start_day = i64::from(sd) % (days + 1);
                let start = at(invoice + TimeDelta::days(start_day), sh);
                let request_end = at(r.request_date, 23);
                let end = dur.map(|h| (start + TimeDelta::hours(i64::from(h))).min(request_end));
                let span_end = end.unwrap_or(request_end);
                let span_hours = (span_end - start).num_hours().max(0) as f64;
                let span_days = (span_end.date_naive() - start.date_naive()).num_days() + 1;
                let mut h = HistoryEntry::new(kind, start, end);
                h.same_fault = same;
                h.serious_safety = serious;
                h.system = system.or(main_part.as_ref().map(|_| VehicleSystem::Brakes));
                h.main_part = main_part;
                h.waiting_for_parts_days = (wf * span_days.max(0) as f64) as u32;
                h.excluded_hours = (xf * span_hours).floor();
                r.history.push(h);
            }
            r.same_model_available = e.0;
            r.found_nonconforming = e.1;
            r.depreciation_per_day = e.2;
            r.usage_rate_n = e.3;
            (policy, r)
        })
}

fn free_granted(e: &Evaluation) -> Vec<Remedy> {
    e.remedies.iter().copied().filter(|r| r.is_free()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    // evaluate never panics on well-shaped input, and its output always serialises.
    #[test]
    fn evaluate_never_panics((policy, r) in request()) {
        if let Ok(e) = evaluate(&policy, &r) {
            let json = serde_json::to_string(&e).unwrap();
            prop_assert!(json.contains("\"decisions\""));
        }
    }

    // The generator produces requests the engine accepts (otherwise the properties are void).
    #[test]
    fn generated_requests_are_valid((policy, r) in request()) {
        let res = evaluate(&policy, &r);
        prop_assert!(res.is_ok(), "{:?}", res.err());
    }

    // The granted list equals the decisions with granted = true, in order, and exactly one of
    // free and paid repair is granted.
    #[test]
    fn remedies_match_decisions((policy, r) in request()) {
        let e = evaluate(&policy, &r).unwrap();
        let granted: Vec<Remedy> =
            e.decisions.iter().filter(|d| d.granted).map(|d| d.remedy).collect();
        prop_assert_eq!(&granted, &e.remedies);
        prop_assert!(e.grants(Remedy::FreeRepair) != e.grants(Remedy::PaidRepair));
        for d in &e.decisions {
            prop_assert!(d.rule.starts_with(policy.citation.as_deref().unwrap_or(&policy.code)));
            prop_assert!(!d.reason_zh().is_empty() && !d.reason_en().is_empty());
        }
        if !e.grants(Remedy::Refund) {
            prop_assert_eq!(e.refund_cents, None);
        } else if e.warnings.iter().all(|w| matches!(w, Warning::UnknownCategory(_))) {
            prop_assert!(e.refund_cents.is_some());
        }
        if let Some(refund) = e.refund_cents {
            prop_assert!((0..=r.price_cents).contains(&refund));
        }
    }

    // An exclusion never adds a free remedy (it removes them all).
    #[test]
    fn exclusion_never_adds_free_remedy(
        (policy, r) in request(),
        pick in subsequence((0usize..7).collect::<Vec<_>>(), 1..3),
    ) {
        let without = evaluate(&policy, &r).unwrap();
        let mut r2 = r.clone();
        r2.exclusions = pick
            .iter()
            .map(|i| policy.exclusions[i % policy.exclusions.len()].exclusion)
            .collect();
        let with = evaluate(&policy, &r2).unwrap();
        for x in free_granted(&with) {
            prop_assert!(without.grants(x), "{:?} added by an exclusion", x);
        }
        prop_assert_eq!(with.remedies, vec![Remedy::PaidRepair]);
    }

    // More repair days never shorten a warranty: lengthening a repair or adding one.
    #[test]
    fn more_repair_days_never_shorten_warranty(
        (policy, r) in request(),
        which in any::<proptest::sample::Index>(),
        extra_hours in 1i64..2000,
        new_start in 0u32..2000,
        new_len in 1i64..1000,
    ) {
        let before = evaluate(&policy, &r).unwrap();
        let request_end = at(r.request_date, 23);

        let mut longer = r.clone();
        if !longer.history.is_empty() {
            let i = which.index(longer.history.len());
            let h = &longer.history[i];
            if let (Some(end), false) = (h.end, h.kind == HistoryKind::Exchange) {
                longer.history[i].end = Some((end + TimeDelta::hours(extra_hours)).min(request_end));
            }
        }
        let after = evaluate(&policy, &longer).unwrap();
        prop_assert!(after.warranty_ends >= before.warranty_ends);
        prop_assert!(after.repair_days >= before.repair_days);

        let mut more = r.clone();
        let span = (r.request_date - r.invoice_date).num_days();
        let start = at(r.invoice_date + TimeDelta::days(i64::from(new_start) % (span + 1)), 8);
        let end = (start + TimeDelta::hours(new_len)).min(request_end);
        more.history.push(HistoryEntry::new(HistoryKind::Repair, start, Some(end)));
        let after = evaluate(&policy, &more).unwrap();
        prop_assert!(after.warranty_ends >= before.warranty_ends);
        prop_assert!(after.extension_days >= before.extension_days);
    }

    // Day counting: the day of sale is day 1.
    #[test]
    fn sale_day_is_day_one((policy, r) in request()) {
        let e = evaluate(&policy, &r).unwrap();
        let sale = match policy.period_start {
            PeriodStart::InvoiceDate => r.invoice_date,
            PeriodStart::DeliveryDate => r.delivery_date.unwrap_or(r.invoice_date),
        };
        prop_assert_eq!(i64::from(e.days_since_sale), (r.request_date - sale).num_days() + 1);
        prop_assert!(e.day_in_period <= e.days_since_sale);
        prop_assert!(e.warranty_ends >= e.warranty_starts);
    }
}
