//! Fuzzing `evaluate_json` with proptest: arbitrary text, and arbitrary JSON documents built
//! from the contract's keys with values of random types. It must never panic; whatever it
//! accepts must serialise.

use proptest::prelude::*;
use rules::entitlement::{Policy, builtin_policy, evaluate_json};
use serde_json::{Map, Value};

const TOP_KEYS: &[&str] = &[
    "policy",
    "invoice_date",
    "delivery_date",
    "request_date",
    "grade",
    "category",
    "warranty_months",
    "odometer_km",
    "price_cents",
    "fault",
    "history",
    "exclusions",
    "same_model_available",
    "found_nonconforming",
    "depreciation_per_day",
    "usage_rate_n",
    "unknown_key",
];
const FAULT_KEYS: &[&str] = &["kind", "serious_safety", "system", "main_part", "failure"];
const HISTORY_KEYS: &[&str] = &[
    "kind",
    "same_fault",
    "serious_safety",
    "system",
    "main_part",
    "start",
    "end",
    "waiting_for_parts_days",
    "excluded_hours",
];
/// Strings that are meaningful somewhere in the contract, plus troublemakers.
const WORDS: &[&str] = &[
    "cn-general-1995",
    "cn-car-2021",
    "seed-company",
    "2026-03-01",
    "2026-03-07",
    "2026-02-30",
    "1900-01-01",
    "2999-12-31",
    "0001-01-01",
    "+262143-12-31",
    "2026-04-01T09:00:00+08:00",
    "2026-04-03T10:00:00+08:00",
    "2026-03-01T00:00:00-23:59",
    "9999-12-31T23:59:59+14:00",
    "high",
    "mid",
    "low",
    "performance",
    "safety",
    "general",
    "cosmetic",
    "engine",
    "brakes",
    "fuel",
    "brake_failure",
    "battery_fire",
    "repair",
    "replacement",
    "exchange",
    "misuse",
    "force_majeure",
    "commercial_use",
    "colour_tv",
    "",
    " ",
    "彩电",
    "\u{0}",
];

fn lookup(code: &str) -> Option<Policy> {
    builtin_policy(code)
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1_000i64..200_000).prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1.0e300f64..1.0e300).prop_map(Value::from),
        (-0.01f64..0.02).prop_map(Value::from),
        proptest::sample::select(WORDS).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ]
}

fn any_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn object_of(keys: &'static [&'static str], value: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    proptest::collection::vec((proptest::sample::select(keys), value), 0..keys.len() + 2)
        .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>()))
        .boxed()
}

/// A document shaped like the contract, with any value type under each key.
fn contract_like() -> impl Strategy<Value = Value> {
    let fault = object_of(FAULT_KEYS, leaf().boxed());
    let entry = object_of(HISTORY_KEYS, leaf().boxed());
    let field = prop_oneof![
        4 => leaf(),
        1 => fault.clone(),
        1 => proptest::collection::vec(entry, 0..6).prop_map(Value::Array),
        1 => any_value(),
    ]
    .boxed();
    (object_of(TOP_KEYS, field), fault).prop_map(|(mut doc, fault)| {
        // Usually give a real policy and a fault object so the deeper checks are reached.
        if let Value::Object(m) = &mut doc {
            m.entry("fault").or_insert(fault);
        }
        doc
    })
}

/// A valid request with one field replaced by a random value.
fn mutated_valid() -> impl Strategy<Value = Value> {
    let base = serde_json::json!({
        "policy": "cn-car-2021",
        "invoice_date": "2026-03-01",
        "request_date": "2026-06-07",
        "odometer_km": 2000,
        "price_cents": 15_000_000,
        "usage_rate_n": 0.004,
        "fault": {"kind": "safety", "serious_safety": true, "system": "engine", "main_part": "block"},
        "history": [
            {"kind": "repair", "same_fault": true, "start": "2026-04-01T09:00:00+08:00",
             "end": "2026-04-03T10:00:00+08:00", "waiting_for_parts_days": 1, "excluded_hours": 2},
            {"kind": "replacement", "same_fault": true, "system": "engine",
             "start": "2026-05-01T09:00:00+08:00", "end": null}
        ]
    });
    let paths: &[&[&str]] = &[
        &["policy"],
        &["invoice_date"],
        &["request_date"],
        &["odometer_km"],
        &["price_cents"],
        &["usage_rate_n"],
        &["fault", "kind"],
        &["fault", "system"],
        &["history", "0", "end"],
        &["history", "0", "excluded_hours"],
        &["history", "1", "start"],
        &["history", "1", "waiting_for_parts_days"],
        &["delivery_date"],
        &["exclusions"],
    ];
    (proptest::sample::select(paths), leaf()).prop_map(move |(path, v)| {
        let mut doc = base.clone();
        let mut cur = &mut doc;
        for (i, key) in path.iter().enumerate() {
            let last = i + 1 == path.len();
            cur = match cur {
                Value::Array(a) => &mut a[key.parse::<usize>().unwrap()],
                Value::Object(m) => {
                    if last {
                        m.entry(*key).or_insert(Value::Null)
                    } else {
                        m.get_mut(*key).unwrap()
                    }
                }
                _ => unreachable!(),
            };
        }
        *cur = v;
        doc
    })
}

fn check(input: &str) {
    if let Ok(e) = evaluate_json(input, lookup) {
        serde_json::to_string(&e).unwrap();
        assert!(!e.decisions.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn arbitrary_text_never_panics(s in any::<String>()) {
        check(&s);
    }

    #[test]
    fn json_looking_text_never_panics(s in r#"[{}\[\]":,0-9a-z_ .+\-TtrueflsnN]{0,160}"#) {
        check(&s);
    }

    #[test]
    fn contract_shaped_json_never_panics(doc in contract_like()) {
        check(&doc.to_string());
    }

    #[test]
    fn mutated_valid_request_never_panics(doc in mutated_valid()) {
        check(&doc.to_string());
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(evaluate_json(&deep, lookup).is_err());
    let deep_obj =
        format!("{{\"policy\":\"cn-general-1995\",\"fault\":{}1{}}}", "{\"a\":".repeat(5_000), "}".repeat(5_000));
    assert!(evaluate_json(&deep_obj, lookup).is_err());
}

#[test]
fn mutated_base_is_valid() {
    // The base document of `mutated_valid` must itself be accepted, so that mutations
    // explore the engine and not only the parser.
    let base = r#"{"policy":"cn-car-2021","invoice_date":"2026-03-01","request_date":"2026-06-07",
        "odometer_km":2000,"price_cents":15000000,"usage_rate_n":0.004,
        "fault":{"kind":"safety","serious_safety":true,"system":"engine","main_part":"block"},
        "history":[{"kind":"repair","same_fault":true,"start":"2026-04-01T09:00:00+08:00",
        "end":"2026-04-03T10:00:00+08:00","waiting_for_parts_days":1,"excluded_hours":2},
        {"kind":"replacement","same_fault":true,"system":"engine","start":"2026-05-01T09:00:00+08:00","end":null}]}"#;
    let e = evaluate_json(base, lookup).unwrap();
    assert!(e.grants(rules::entitlement::Remedy::CourtesyCar));
}
