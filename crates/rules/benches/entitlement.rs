//! Entitlement throughput. Goal: ≥ 1,000,000 evaluations per second per core for a typical
//! case with a 5-entry history (`evaluate`, validation included). The JSON round trip that
//! the HTTP layer adds is measured separately for reference.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rules::entitlement::{EvaluateRequest, Policy, builtin_policy, evaluate, evaluate_json};

const GENERAL: &str = r#"{
  "policy": "cn-general-1995",
  "invoice_date": "2026-03-01", "request_date": "2026-09-20",
  "grade": "mid", "category": "colour_tv", "price_cents": 400000,
  "fault": { "kind": "performance" },
  "history": [
    { "kind": "repair", "same_fault": false, "start": "2026-03-20T09:00:00+08:00", "end": "2026-03-21T17:00:00+08:00" },
    { "kind": "replacement", "same_fault": false, "main_part": "power board", "start": "2026-04-11T10:00:00+08:00", "end": "2026-04-15T12:00:00+08:00", "waiting_for_parts_days": 2 },
    { "kind": "repair", "same_fault": true, "start": "2026-06-01T09:00:00+08:00", "end": "2026-06-03T10:00:00+08:00" },
    { "kind": "repair", "same_fault": true, "start": "2026-07-10T09:00:00+08:00", "end": "2026-07-12T16:00:00+08:00" },
    { "kind": "repair", "same_fault": true, "start": "2026-08-20T09:00:00+08:00", "end": "2026-08-22T11:00:00+08:00" }
  ],
  "same_model_available": true,
  "depreciation_per_day": 0.001
}"#;

const CAR: &str = r#"{
  "policy": "cn-car-2021",
  "invoice_date": "2026-03-01", "delivery_date": "2026-03-03", "request_date": "2026-11-20",
  "odometer_km": 14200, "price_cents": 15800000, "usage_rate_n": 0.004,
  "fault": { "kind": "performance", "system": "transmission", "main_part": "valve body" },
  "history": [
    { "kind": "repair", "same_fault": true, "start": "2026-05-01T09:00:00+08:00", "end": "2026-05-03T10:00:00+08:00" },
    { "kind": "replacement", "same_fault": true, "system": "transmission", "main_part": "valve body", "start": "2026-06-01T09:00:00+08:00", "end": "2026-06-09T10:00:00+08:00", "waiting_for_parts_days": 5, "excluded_hours": 20 },
    { "kind": "repair", "same_fault": false, "start": "2026-07-01T09:00:00+08:00", "end": "2026-07-01T15:00:00+08:00" },
    { "kind": "replacement", "same_fault": true, "system": "transmission", "main_part": "valve body", "start": "2026-08-15T09:00:00+08:00", "end": "2026-08-20T10:00:00+08:00" },
    { "kind": "repair", "same_fault": true, "start": "2026-10-10T09:00:00+08:00", "end": "2026-10-12T09:00:00+08:00" }
  ]
}"#;

fn case(json: &str) -> (Policy, EvaluateRequest) {
    let req: EvaluateRequest = serde_json::from_str(json).expect("bench input is valid");
    let policy = builtin_policy(&req.policy).expect("built-in policy");
    (policy, req)
}

fn benches(c: &mut Criterion) {
    let (general_policy, general_req) = case(GENERAL);
    let (car_policy, car_req) = case(CAR);
    let e = evaluate(&general_policy, &general_req).expect("valid");
    assert_eq!(e.remedies.len(), 3, "typical case: refund, exchange, free repair");
    let e = evaluate(&car_policy, &car_req).expect("valid");
    assert!(e.grants(rules::entitlement::Remedy::Exchange));

    let mut g = c.benchmark_group("entitlement");
    g.throughput(Throughput::Elements(1));
    g.bench_function("evaluate/general-5-history", |b| {
        b.iter(|| evaluate(black_box(&general_policy), black_box(&general_req)))
    });
    g.bench_function("evaluate/car-5-history", |b| b.iter(|| evaluate(black_box(&car_policy), black_box(&car_req))));
    g.bench_function("evaluate+serialize/general-5-history", |b| {
        b.iter(|| {
            let e = evaluate(black_box(&general_policy), black_box(&general_req)).unwrap();
            serde_json::to_vec(&e).unwrap()
        })
    });
    let lookup = |code: &str| (code == "cn-general-1995").then(|| general_policy.clone());
    g.bench_function("evaluate_json+serialize/general-5-history", |b| {
        b.iter(|| {
            let e = evaluate_json(black_box(GENERAL), lookup).unwrap();
            serde_json::to_vec(&e).unwrap()
        })
    });
    g.finish();
}

criterion_group!(group, benches);
criterion_main!(group);
