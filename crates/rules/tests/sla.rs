//! SLA clocks on cn-standard: states, pauses, warnings, escalation, policy selection and
//! compliance, with hand-computed instants; and property tests of pauses.

use std::sync::OnceLock;

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use rules::calendar::{Calendar, CompiledCalendar};
use rules::sla::{
    Clock, ClockMode, ClockState, Compliance, EscalationStep, OrderFacts, Pause, PolicyMatch, SlaPolicy, SlaTarget,
    builtin_policies, compliance, default_escalation_chain, due_in_mode, due_steps, reasons, select_policy,
};

fn cn() -> &'static CompiledCalendar {
    static CAL: OnceLock<CompiledCalendar> = OnceLock::new();
    CAL.get_or_init(|| Calendar::cn_standard().compile().unwrap())
}

fn bj(text: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
    chrono_tz::Asia::Shanghai.from_local_datetime(&naive).unwrap().with_timezone(&Utc)
}

fn reply(minutes: i64) -> SlaTarget {
    SlaTarget::new("first_reply", "首次答复", "First reply", minutes, ClockMode::Working)
        .pausing_on(&[reasons::WAITING_CUSTOMER])
}

fn pause(reason: &str, from: &str, to: Option<&str>) -> Pause {
    Pause { reason: reason.into(), from: bj(from), to: to.map(bj) }
}

fn clock<'a>(target: &'a SlaTarget, start: &str, pauses: &'a [Pause]) -> Clock<'a> {
    Clock { target, calendar: cn(), started_at: bj(start), pauses, stopped_at: None, requested_by: None }
}

#[test]
fn running_warning_and_breach_of_a_working_clock() {
    let target = reply(120);
    let c = clock(&target, "2026-03-02 09:00", &[]);

    let r = c.evaluate(bj("2026-03-02 10:00"));
    assert_eq!(r.due_at, Some(bj("2026-03-02 11:00")));
    // 80 % of 120 working minutes = 96 minutes → 10:36.
    assert_eq!(r.warn_at, Some(bj("2026-03-02 10:36")));
    assert_eq!(r.state, ClockState::Running);
    assert_eq!((r.used_minutes, r.left_minutes), (60, 60));
    assert_eq!(r.percent_used, 50.0);
    assert!(r.ticking && !r.paused);

    assert_eq!(c.evaluate(bj("2026-03-02 10:36")).state, ClockState::Warning);
    // Due at 11:00 exactly is not yet a breach; any moment later is.
    assert_eq!(c.evaluate(bj("2026-03-02 11:00")).state, ClockState::Warning);
    let late = c.evaluate(bj("2026-03-02 11:00") + Duration::seconds(1));
    assert_eq!(late.state, ClockState::Breached);

    // In the lunch break the breached clock is not ticking; 30 minutes overdue.
    let lunch = c.evaluate(bj("2026-03-02 12:30"));
    assert_eq!(lunch.state, ClockState::Breached);
    assert_eq!((lunch.used_minutes, lunch.left_minutes), (180, -60));
    assert!(!lunch.ticking);
    assert_eq!(lunch.percent_used, 150.0);
}

#[test]
fn clock_started_outside_hours_counts_from_opening() {
    let target = reply(60);
    // Friday 20:00 → due Monday 10:00.
    let c = clock(&target, "2026-03-06 20:00", &[]);
    let r = c.evaluate(bj("2026-03-07 12:00"));
    assert_eq!(r.due_at, Some(bj("2026-03-09 10:00")));
    assert_eq!((r.used_minutes, r.state, r.ticking), (0, ClockState::Running, false));
}

#[test]
fn stopped_clocks_are_met_or_met_late() {
    let target = reply(120);
    let mut c = clock(&target, "2026-03-02 09:00", &[]);
    for (stop, state) in [
        ("2026-03-02 10:59", ClockState::Met),
        ("2026-03-02 11:00", ClockState::Met),
        ("2026-03-02 11:05", ClockState::MetLate),
    ] {
        c.stopped_at = Some(bj(stop));
        let r = c.evaluate(bj("2026-03-05 09:00"));
        assert_eq!(r.state, state, "{stop}");
        assert!(!r.ticking);
    }
    // Used time stops at the stop.
    assert_eq!(c.evaluate(bj("2026-03-09 09:00")).used_minutes, 125);
}

#[test]
fn honoured_pauses_move_the_due_time_by_the_paused_working_time() {
    let target = reply(120);
    let waiting = [pause(reasons::WAITING_CUSTOMER, "2026-03-02 10:00", Some("2026-03-02 11:00"))];
    let r = clock(&target, "2026-03-02 09:00", &waiting).evaluate(bj("2026-03-02 11:30"));
    assert_eq!(r.due_at, Some(bj("2026-03-02 12:00")));
    assert_eq!((r.used_minutes, r.paused_seconds), (90, 3600));

    // Waiting for parts does not pause a reply clock.
    let parts = [pause(reasons::WAITING_PARTS, "2026-03-02 10:00", Some("2026-03-02 11:00"))];
    let r = clock(&target, "2026-03-02 09:00", &parts).evaluate(bj("2026-03-02 10:30"));
    assert_eq!(r.due_at, Some(bj("2026-03-02 11:00")));
    assert_eq!(r.paused_seconds, 0);
    assert!(!r.paused);
}

#[test]
fn overlapping_pauses_are_merged() {
    let target = reply(120).pausing_on(&[reasons::WAITING_CUSTOMER, reasons::WAITING_PARTS]);
    let pauses = [
        pause(reasons::WAITING_CUSTOMER, "2026-03-02 10:00", Some("2026-03-02 10:45")),
        pause(reasons::WAITING_PARTS, "2026-03-02 10:30", Some("2026-03-02 11:00")),
        pause(reasons::WAITING_CUSTOMER, "2026-03-02 10:40", Some("2026-03-02 10:50")),
    ];
    let r = clock(&target, "2026-03-02 09:00", &pauses).evaluate(bj("2026-03-02 11:30"));
    assert_eq!(r.paused_seconds, 3600);
    assert_eq!(r.due_at, Some(bj("2026-03-02 12:00")));
}

#[test]
fn a_pause_over_lunch_moves_only_by_working_time() {
    let target = reply(240);
    let plain = clock(&target, "2026-03-02 09:00", &[]).evaluate(bj("2026-03-02 09:00"));
    assert_eq!(plain.due_at, Some(bj("2026-03-02 14:00")));
    // 11:30–13:30 holds one working hour (11:30–12:00, 13:00–13:30).
    let pauses = [pause(reasons::WAITING_CUSTOMER, "2026-03-02 11:30", Some("2026-03-02 13:30"))];
    let r = clock(&target, "2026-03-02 09:00", &pauses).evaluate(bj("2026-03-02 14:00"));
    assert_eq!(r.due_at, Some(bj("2026-03-02 15:00")));
    assert_eq!(r.paused_seconds, 3600);
    // A pause over a weekend moves a working clock by nothing.
    let weekend = [pause(reasons::WAITING_CUSTOMER, "2026-03-06 18:00", Some("2026-03-09 09:00"))];
    let r = clock(&target, "2026-03-06 16:00", &weekend).evaluate(bj("2026-03-09 09:30"));
    assert_eq!(r.due_at, Some(bj("2026-03-09 11:00")));
    assert_eq!(r.paused_seconds, 0);
}

#[test]
fn an_open_pause_holds_the_clock_and_pushes_the_due_time() {
    let target = reply(120);
    let pauses = [pause(reasons::WAITING_CUSTOMER, "2026-03-02 10:00", None)];
    let c = clock(&target, "2026-03-02 09:00", &pauses);
    let r = c.evaluate(bj("2026-03-02 10:30"));
    assert_eq!(r.state, ClockState::Paused);
    assert!(r.paused && !r.ticking);
    assert_eq!((r.used_minutes, r.paused_seconds), (60, 1800));
    // As if resumed now: 60 minutes left from 10:30.
    assert_eq!(r.due_at, Some(bj("2026-03-02 11:30")));
    // Still waiting at 14:00: never breached while paused.
    let r = c.evaluate(bj("2026-03-02 14:00"));
    assert_eq!(r.state, ClockState::Paused);
    assert_eq!(r.due_at, Some(bj("2026-03-02 15:00")));
    assert_eq!(r.used_minutes, 60);
}

#[test]
fn elapsed_clocks_count_every_minute_and_pauses_in_real_time() {
    let target = SlaTarget::new("first_reply", "首次答复", "First reply", 24 * 60, ClockMode::Elapsed)
        .pausing_on(&[reasons::WAITING_CUSTOMER]);
    // Sat 2026-02-14 17:00 + 24 h, holidays or not.
    let c = clock(&target, "2026-02-14 17:00", &[]);
    let r = c.evaluate(bj("2026-02-15 09:00"));
    assert_eq!(r.due_at, Some(bj("2026-02-15 17:00")));
    assert_eq!(r.used_minutes, 16 * 60);
    assert!(r.ticking);
    let pauses = [pause(reasons::WAITING_CUSTOMER, "2026-02-14 22:00", Some("2026-02-15 00:30"))];
    let r = clock(&target, "2026-02-14 17:00", &pauses).evaluate(bj("2026-02-15 09:00"));
    assert_eq!(r.due_at, Some(bj("2026-02-15 19:30")));
    assert_eq!(r.paused_seconds, 150 * 60);
    assert_eq!(due_in_mode(cn(), ClockMode::Elapsed, bj("2026-02-14 17:00"), 120), Some(bj("2026-02-14 19:00")));
    assert_eq!(due_in_mode(cn(), ClockMode::Working, bj("2026-02-14 17:00"), 120), Some(bj("2026-02-24 10:00")));
}

#[test]
fn a_customer_requested_time_replaces_the_target() {
    let target = SlaTarget::new("on_site", "到达现场", "On site", 2 * 24 * 60, ClockMode::Working);
    let mut c = clock(&target, "2026-03-02 09:00", &[]);
    c.requested_by = Some(bj("2026-03-06 10:00"));
    let r = c.evaluate(bj("2026-03-02 10:00"));
    assert_eq!(r.mode, ClockMode::Elapsed);
    assert_eq!(r.due_at, Some(bj("2026-03-06 10:00")));
    assert_eq!(r.target_seconds, (4 * 24 + 1) * 3600);
    // A requested time in the past is ignored.
    c.requested_by = Some(bj("2026-03-01 10:00"));
    assert_eq!(c.evaluate(bj("2026-03-02 10:00")).mode, ClockMode::Working);
}

#[test]
fn escalation_steps_fire_in_order_and_once_per_key() {
    let target = reply(120);
    let chain = default_escalation_chain();
    let c = clock(&target, "2026-03-02 09:00", &[]);
    let keys =
        |at: &str| -> Vec<String> { due_steps(&c.evaluate(bj(at)), &chain).into_iter().map(|s| s.key).collect() };
    assert!(keys("2026-03-02 10:35").is_empty());
    assert_eq!(keys("2026-03-02 10:36"), ["pct80:dispatcher"]);
    assert_eq!(keys("2026-03-02 11:00"), ["pct80:dispatcher"]);
    assert_eq!(keys("2026-03-02 11:01"), ["pct80:dispatcher", "due+0:service_manager"]);
    // One working day (480 min) past the 11:00 due time is Tue 11:00.
    assert_eq!(keys("2026-03-03 10:59").len(), 2);
    assert_eq!(keys("2026-03-03 11:00"), ["pct80:dispatcher", "due+0:service_manager", "due+480:general_manager"]);
    assert_eq!(
        c.step_instants(&chain, bj("2026-03-02 09:00")),
        [Some(bj("2026-03-02 10:36")), Some(bj("2026-03-02 11:00")), Some(bj("2026-03-03 11:00"))]
    );
    // A met clock asks for nothing, even if it was late.
    let mut stopped = c;
    stopped.stopped_at = Some(bj("2026-03-02 11:30"));
    assert!(due_steps(&stopped.evaluate(bj("2026-03-03 12:00")), &chain).is_empty());
    // A paused clock does not creep towards the next step.
    let pauses = [pause(reasons::WAITING_CUSTOMER, "2026-03-02 10:00", None)];
    let paused = clock(&target, "2026-03-02 09:00", &pauses);
    assert!(due_steps(&paused.evaluate(bj("2026-03-04 09:00")), &chain).is_empty());
}

#[test]
fn compliance_counts_met_and_breached() {
    let c = Compliance::from_states([
        ClockState::Met,
        ClockState::MetLate,
        ClockState::Breached,
        ClockState::Running,
        ClockState::Warning,
        ClockState::Met,
        ClockState::Met,
    ]);
    assert_eq!((c.total, c.met, c.met_late, c.breached_open), (7, 3, 1, 1));
    assert_eq!((c.breached, c.open), (2, 2));
    assert_eq!(c.rate_percent, Some(60.0));
    assert_eq!(Compliance::from_states([ClockState::Running]).rate_percent, None);

    let target = reply(60);
    let mut early = clock(&target, "2026-03-02 09:00", &[]);
    early.stopped_at = Some(bj("2026-03-02 09:30"));
    let results = [
        early.evaluate(bj("2026-03-02 12:00")),
        clock(&target, "2026-03-02 09:00", &[]).evaluate(bj("2026-03-02 12:00")),
    ];
    let c = compliance(&results);
    assert_eq!((c.met, c.breached, c.rate_percent), (1, 1, Some(50.0)));
}

fn policy(code: &str, version: u32, applies_to: PolicyMatch) -> SlaPolicy {
    SlaPolicy {
        code: code.into(),
        version,
        name_zh: code.into(),
        name_en: code.into(),
        calendar: None,
        applies_to,
        targets: vec![reply(60)],
        escalation: default_escalation_chain(),
    }
}

#[test]
fn the_most_specific_matching_policy_is_selected() {
    let some = |s: &str| Some(s.to_owned());
    let policies = [
        policy("default", 1, PolicyMatch::default()),
        policy("default", 2, PolicyMatch::default()),
        policy("class-a", 1, PolicyMatch { customer_class: some("A"), ..Default::default() }),
        policy("urgent", 1, PolicyMatch { priority: some("urgent"), ..Default::default() }),
        policy("contract", 1, PolicyMatch { contract_code: some("HT-7"), ..Default::default() }),
        policy(
            "a-repair",
            1,
            PolicyMatch { customer_class: some("A"), request_type: some("repair"), ..Default::default() },
        ),
    ];
    let pick = |facts: OrderFacts| select_policy(&policies, &facts).map(|p| (p.code.as_str(), p.version));
    assert_eq!(pick(OrderFacts::default()), Some(("default", 2)));
    assert_eq!(pick(OrderFacts { customer_class: Some("B"), ..Default::default() }), Some(("default", 2)));
    assert_eq!(
        pick(OrderFacts { customer_class: Some("A"), request_type: Some("install"), ..Default::default() }),
        Some(("class-a", 1))
    );
    assert_eq!(
        pick(OrderFacts { customer_class: Some("A"), request_type: Some("repair"), ..Default::default() }),
        Some(("a-repair", 1))
    );
    // One condition each: the contract outranks the class, the class outranks the priority.
    assert_eq!(
        pick(OrderFacts {
            customer_class: Some("A"),
            priority: Some("urgent"),
            contract_code: Some("HT-7"),
            ..Default::default()
        }),
        Some(("contract", 1))
    );
    assert_eq!(
        pick(OrderFacts { customer_class: Some("A"), priority: Some("urgent"), ..Default::default() }),
        Some(("class-a", 1))
    );
    assert_eq!(select_policy(&policies[2..3], &OrderFacts::default()), None);
}

#[test]
fn builtin_policies_are_valid_and_cite_their_basis() {
    let policies = builtin_policies();
    for p in &policies {
        assert_eq!(p.validate(), Ok(()), "{}", p.code);
        assert!(p.targets.iter().all(|t| t.basis.is_some()));
    }
    let key = select_policy(&policies, &OrderFacts { customer_class: Some("A"), ..Default::default() }).unwrap();
    assert_eq!(key.code, "key-customer");
    let reply = key.target("first_reply").unwrap();
    assert_eq!((reply.minutes, reply.mode), (60, ClockMode::Working));
    let standard = select_policy(&policies, &OrderFacts::default()).unwrap();
    assert_eq!(standard.target("first_reply").unwrap().minutes, 24 * 60);
    assert_eq!(standard.target("on_site").unwrap().minutes, 2 * 24 * 60);
}

#[test]
fn policy_validation_names_fields() {
    let mut p = policy("bad code", 0, PolicyMatch::default());
    p.targets.push(reply(0));
    p.targets[1].warn_at_percent = Some(100);
    p.targets[1].pause_on.insert("".into());
    p.escalation.push(EscalationStep {
        after_percent: Some(50),
        after_minutes_past_due: Some(10),
        notify_role: "boss".into(),
    });
    p.escalation.push(EscalationStep::past_due(-1, ""));
    let fields: Vec<String> = p.validate().unwrap_err().into_iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        [
            "code",
            "version",
            "targets[1].minutes",
            "targets[1].warn_at_percent",
            "targets[1].pause_on",
            "targets[1].code",
            "escalation[3]",
            "escalation[4].after_minutes_past_due",
            "escalation[4].notify_role",
        ]
    );
    let empty = SlaPolicy { targets: vec![], ..policy("x", 1, PolicyMatch::default()) };
    assert_eq!(empty.validate().unwrap_err()[0].field, "targets");
}

#[test]
fn policy_json_shape_and_defaults() {
    let json = r#"{
        "code": "vip", "version": 3, "name_zh": "贵宾",
        "applies_to": {"customer_class": "A", "contract_code": "HT-7"},
        "targets": [
            {"code": "first_reply", "name_zh": "首次答复", "minutes": 60},
            {"code": "on_site", "name_zh": "到达现场", "minutes": 2880, "mode": "elapsed",
             "pause_on": ["waiting_customer"], "warn_at_percent": null}
        ]
    }"#;
    let p: SlaPolicy = serde_json::from_str(json).unwrap();
    assert_eq!(p.validate(), Ok(()));
    assert_eq!(p.targets[0].mode, ClockMode::Working);
    assert_eq!(p.targets[0].warn_at_percent, Some(80));
    assert_eq!(p.targets[1].warn_at_percent, None);
    assert_eq!(p.escalation, default_escalation_chain());
    let value = serde_json::to_value(&p).unwrap();
    assert_eq!(value["escalation"][0], serde_json::json!({"after_percent": 80, "notify_role": "dispatcher"}));
    assert_eq!(value["applies_to"], serde_json::json!({"customer_class": "A", "contract_code": "HT-7"}));
    assert_eq!(serde_json::from_value::<SlaPolicy>(value).unwrap(), p);

    let target = reply(120);
    let r = clock(&target, "2026-03-02 09:00", &[]).evaluate(bj("2026-03-02 10:00"));
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["state"], "running");
    assert_eq!(v["mode"], "working");
    assert_eq!(v["due_at"], "2026-03-02T03:00:00Z");
}

fn reason() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(reasons::WAITING_CUSTOMER), Just(reasons::WAITING_PARTS), Just("other"),]
}

/// Up to six pauses around a start at the epoch; tests shift them to the real start.
fn pauses() -> impl Strategy<Value = Vec<Pause>> {
    proptest::collection::vec((reason(), -86_400i64..20 * 86_400, 0i64..5 * 86_400, any::<bool>()), 0..6).prop_map(
        |raw| {
            raw.into_iter()
                .map(|(reason, offset, length, open)| Pause {
                    reason: reason.into(),
                    from: DateTime::from_timestamp(offset, 0).unwrap(),
                    to: (!open).then(|| DateTime::from_timestamp(offset + length, 0).unwrap()),
                })
                .collect()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn pausing_never_makes_a_due_time_earlier(
        start in 1_735_660_800i64..1_798_732_800,
        minutes in 1i64..=10 * 480,
        elapsed in any::<bool>(),
        extra in pauses(),
        now_offset in 0i64..30 * 86_400,
    ) {
        let mode = if elapsed { ClockMode::Elapsed } else { ClockMode::Working };
        let target = SlaTarget::new("t", "目标", "Target", minutes, mode)
            .pausing_on(&[reasons::WAITING_CUSTOMER, reasons::WAITING_PARTS]);
        let started_at = DateTime::from_timestamp(start, 0).unwrap();
        let shifted: Vec<Pause> = extra
            .into_iter()
            .map(|p| Pause {
                from: p.from + Duration::seconds(start),
                to: p.to.map(|t| t + Duration::seconds(start)),
                ..p
            })
            .collect();
        let now = started_at + Duration::seconds(now_offset);
        let with = |pauses: &[Pause]| {
            Clock { target: &target, calendar: cn(), started_at, pauses, stopped_at: None, requested_by: None }
                .evaluate(now)
        };
        let none = with(&[]);
        let mut previous = none.due_at.unwrap();
        for n in 1..=shifted.len() {
            let r = with(&shifted[..n]);
            let due = r.due_at.unwrap();
            prop_assert!(due >= previous, "adding pause {} moved due earlier", n);
            previous = due;
            // Used plus honoured paused time never exceeds the plain clock's time.
            prop_assert!(r.used_seconds <= none.used_seconds);
            prop_assert!(r.warn_at.unwrap() <= due);
        }
    }

    #[test]
    fn due_time_is_where_used_time_reaches_the_target(
        start in 1_735_660_800i64..1_798_732_800,
        minutes in 1i64..=10 * 480,
        elapsed in any::<bool>(),
        raw in pauses(),
    ) {
        let mode = if elapsed { ClockMode::Elapsed } else { ClockMode::Working };
        let target = SlaTarget::new("t", "目标", "Target", minutes, mode)
            .pausing_on(&[reasons::WAITING_CUSTOMER]);
        let started_at = DateTime::from_timestamp(start, 0).unwrap();
        // Closed pauses only, so the due time does not depend on `now`.
        let closed: Vec<Pause> = raw
            .into_iter()
            .filter_map(|p| Some(Pause {
                from: p.from + Duration::seconds(start),
                to: Some(p.to? + Duration::seconds(start)),
                reason: p.reason,
            }))
            .collect();
        let c = Clock { target: &target, calendar: cn(), started_at, pauses: &closed, stopped_at: None, requested_by: None };
        let due = c.evaluate(started_at).due_at.unwrap();
        let at_due = c.evaluate(due);
        prop_assert_eq!(at_due.used_seconds, minutes * 60);
        prop_assert_ne!(at_due.state, ClockState::Breached);
        let after = c.evaluate(due + Duration::seconds(1));
        prop_assert_eq!(after.state, ClockState::Breached);
        prop_assert_eq!(after.due_at, Some(due));
    }
}

#[test]
fn targets_know_what_stops_them_and_whether_a_requested_time_counts() {
    use rules::sla::Milestone;
    let policies = builtin_policies();
    let standard = &policies[0];
    assert_eq!(standard.target("first_reply").unwrap().stops_at(), Milestone::Replied);
    assert_eq!(standard.target("on_site").unwrap().stops_at(), Milestone::Arrived);
    assert_eq!(standard.target("resolution").unwrap().stops_at(), Milestone::Completed);
    assert!(standard.target("on_site").unwrap().honours_requested_time());
    assert!(!standard.target("resolution").unwrap().honours_requested_time());
    let mut custom = SlaTarget::new("callback", "回电", "Call back", 30, ClockMode::Working);
    assert_eq!(custom.stops_at(), Milestone::Completed, "a company's own target stops at completion by default");
    custom.stop_on = Some(Milestone::Replied);
    custom.requested_time = Some(true);
    assert_eq!(custom.stops_at(), Milestone::Replied);
    assert!(custom.honours_requested_time());
    let json = serde_json::to_value(&custom).unwrap();
    assert_eq!(json["stop_on"], "replied");
    assert_eq!(serde_json::from_value::<SlaTarget>(json).unwrap(), custom);
    assert!(Milestone::Replied < Milestone::Arrived && Milestone::Arrived < Milestone::Completed);
    assert_eq!(Milestone::parse("arrived"), Some(Milestone::Arrived));
}

#[test]
fn the_next_check_is_the_earliest_unprocessed_instant() {
    use rules::sla::next_check;
    let target = reply(120);
    let chain = default_escalation_chain();
    let c = clock(&target, "2026-03-02 09:00", &[]);
    // Running: the warning threshold (10:36, also the dispatcher's 80 % step) comes first.
    let r = c.evaluate(bj("2026-03-02 10:00"));
    assert_eq!(next_check(&c, &r, &chain, &[]), Some(bj("2026-03-02 10:36")));
    // Warning, with the dispatcher told: the due time is next.
    let r = c.evaluate(bj("2026-03-02 10:40"));
    assert_eq!(r.state, ClockState::Warning);
    assert_eq!(next_check(&c, &r, &chain, &["pct80:dispatcher"]), Some(bj("2026-03-02 11:00")));
    // Breached and the manager told: the general manager a working day (480 min) past due.
    let r = c.evaluate(bj("2026-03-02 11:30"));
    assert_eq!(r.state, ClockState::Breached);
    let sent = ["pct80:dispatcher", "due+0:service_manager"];
    assert_eq!(next_check(&c, &r, &chain, &sent), Some(bj("2026-03-03 11:00")));
    let all = ["pct80:dispatcher", "due+0:service_manager", "due+480:general_manager"];
    assert_eq!(next_check(&c, &r, &chain, &all), None, "nothing left to do");
    // An unsent earlier step is due at once (catching up after downtime).
    assert_eq!(next_check(&c, &r, &chain, &[]), Some(bj("2026-03-02 10:36")));
    // Paused or stopped: nothing until the order changes.
    let paused = [pause(reasons::WAITING_CUSTOMER, "2026-03-02 09:30", None)];
    let p = clock(&target, "2026-03-02 09:00", &paused);
    let r = p.evaluate(bj("2026-03-02 10:00"));
    assert!(r.paused);
    assert_eq!(next_check(&p, &r, &chain, &[]), None);
    let mut stopped = c;
    stopped.stopped_at = Some(bj("2026-03-02 09:30"));
    let r = stopped.evaluate(bj("2026-03-02 10:00"));
    assert_eq!(next_check(&stopped, &r, &chain, &[]), None);
}
