//! Entitlement (三包) as users and other systems meet it: the evaluate contract, field errors,
//! company policies with versions, recorded decisions, permissions, the CLI and the pages —
//! on both databases.

use std::io::Write;
use std::process::{Command, Stdio};

use aftersales::demo::DEMO_PASSWORD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{TestApp, drop_pg_database, fresh_pg_database, pg_admin_url};

both!(
    evaluate_contract_follows_the_regulations,
    bad_input_is_422_naming_each_field,
    company_policies_are_versioned_audited_and_guarded,
    recorded_decisions_keep_their_policy_version,
    engineers_evaluate_but_cannot_edit_policies,
    evaluate_form_shows_decisions_and_keeps_input,
    policy_pages_edit_history_and_conflicts,
    evaluate_on_a_phone_in_a_real_browser,
);

const EVALUATE: &str = "/api/v1/entitlement/evaluate";

fn general(request_date: &str, kind: &str) -> Value {
    json!({
        "policy": "cn-general-1995", "invoice_date": "2026-03-01", "delivery_date": null,
        "request_date": request_date, "grade": null, "category": null, "warranty_months": null,
        "odometer_km": null, "price_cents": 400000,
        "fault": {"kind": kind, "serious_safety": false, "system": null, "main_part": null, "failure": null},
        "history": [], "exclusions": [], "same_model_available": true,
        "depreciation_per_day": 0.001, "usage_rate_n": null
    })
}

fn repair(start: &str, end: &str) -> Value {
    json!({"kind": "repair", "same_fault": true, "system": null, "main_part": null,
           "start": format!("{start}T09:00:00+08:00"), "end": format!("{end}T17:00:00+08:00"),
           "waiting_for_parts_days": 0, "excluded_hours": 0})
}

fn decision<'a>(v: &'a Value, remedy: &str) -> &'a Value {
    v["decisions"].as_array().unwrap().iter().find(|d| d["remedy"] == remedy).unwrap_or_else(|| panic!("{v}"))
}

fn fields(v: &Value) -> Vec<String> {
    v["error"]["fields"].as_object().unwrap_or_else(|| panic!("{v}")).keys().cloned().collect()
}

async fn evaluate(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, v) = app.api(Method::POST, EVALUATE, token, Some(body)).await;
    assert_eq!(status, 200, "{v}");
    v
}

async fn evaluate_contract_follows_the_regulations(app: &TestApp) {
    let token = app.token("dispatcher").await;

    // 458号 art. 9: a performance fault on day 7 (the sale day is day 1) → refund, exchange or repair.
    let v = evaluate(app, &token, general("2026-03-07", "performance")).await;
    assert_eq!(v["remedies"], json!(["refund", "exchange", "free_repair"]));
    assert_eq!(v["refund_cents"], 400000);
    assert_eq!(v["deduction_cents"], 0);
    assert_eq!(v["warranty_ends"], "2027-02-28");
    assert_eq!(v["sanbao_ends"], Value::Null);
    let refund = decision(&v, "refund");
    assert_eq!(refund["granted"], true);
    assert_eq!(refund["rule"], "cn-general-1995 art. 9");
    assert!(refund["reason_zh"].as_str().unwrap().contains("第7天"), "{refund}");
    assert!(refund["reason_en"].as_str().unwrap().contains("day 7"), "{refund}");

    // Art. 10: day 15 → exchange or repair, no refund, and the refusal cites art. 9.
    let v = evaluate(app, &token, general("2026-03-15", "performance")).await;
    assert_eq!(v["remedies"], json!(["exchange", "free_repair"]));
    assert_eq!(decision(&v, "exchange")["rule"], "cn-general-1995 art. 10");
    assert_eq!(decision(&v, "refund")["granted"], false);
    assert_eq!(decision(&v, "refund")["rule"], "cn-general-1995 art. 9");

    // Art. 8: the warranty's last day is covered, the next day is paid repair.
    let v = evaluate(app, &token, general("2027-02-28", "general")).await;
    assert_eq!(v["remedies"], json!(["free_repair"]));
    let v = evaluate(app, &token, general("2027-03-01", "general")).await;
    assert_eq!(v["remedies"], json!(["paid_repair"]));
    assert_eq!(v["in_warranty"], false);
    assert_eq!(decision(&v, "paid_repair")["rule"], "cn-general-1995 art. 8");

    // Art. 11 + 13: repaired twice and still faulty → exchange or refund less depreciation
    // (day 101, 8 repair days not counted: 93 days × 0.1 % × ¥4,000 = ¥372).
    let mut body = general("2026-06-09", "performance");
    body["history"] = json!([repair("2026-04-01", "2026-04-03"), repair("2026-05-01", "2026-05-05")]);
    let v = evaluate(app, &token, body).await;
    assert_eq!(v["remedies"], json!(["refund", "exchange", "free_repair"]));
    assert_eq!(decision(&v, "exchange")["rule"], "cn-general-1995 art. 11");
    assert_eq!(v["deduction_cents"], 37200);
    assert_eq!(v["refund_cents"], 400000 - 37200);
    assert_eq!(v["same_fault_repairs"], 2);

    // 43号 art. 24(4) + 27: the same problem repaired five times → exchange or refund less
    // usage compensation ¥200,000 × 10,000 km / 1000 × 0.5 % = ¥10,000.
    let mut car = general("2026-12-01", "performance");
    car["policy"] = json!("cn-car-2021");
    car["price_cents"] = json!(20_000_000);
    car["odometer_km"] = json!(10_000);
    car["usage_rate_n"] = json!(0.005);
    car["depreciation_per_day"] = Value::Null;
    car["history"] =
        json!((3..=7).map(|m| repair(&format!("2026-0{m}-10"), &format!("2026-0{m}-10"))).collect::<Vec<_>>());
    let v = evaluate(app, &token, car).await;
    assert!(v["remedies"].as_array().unwrap().contains(&json!("exchange")), "{v}");
    assert_eq!(decision(&v, "refund")["rule"], "cn-car-2021 art. 24(4)");
    assert_eq!(v["deduction_cents"], 1_000_000);
    assert_eq!(v["refund_cents"], 19_000_000);
    assert_ne!(v["sanbao_ends"], Value::Null, "cars have a separate 三包 period");

    // Art. 18: misuse turns every free remedy into paid repair, citing the exclusion.
    let mut body = general("2026-03-03", "performance");
    body["exclusions"] = json!(["misuse"]);
    let v = evaluate(app, &token, body).await;
    assert_eq!(v["remedies"], json!(["paid_repair"]));
    assert_eq!(v["refund_cents"], Value::Null);
    assert_eq!(decision(&v, "refund")["granted"], false);
    assert_eq!(decision(&v, "paid_repair")["rule"], "cn-general-1995 art. 18(1)");

    // Evaluating stores nothing unless asked (the demo's requests recorded theirs).
    let (status, page) = app.api(Method::GET, "/api/v1/entitlement/decisions", &token, None).await;
    assert_eq!(status, 200);
    assert!(page["items"].as_array().unwrap().iter().all(|d| d["source"] == "work_order"), "{page}");

    // The contract is described in the OpenAPI document.
    let doc: Value = app.client().get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let op = &doc["paths"]["/api/v1/entitlement/evaluate"]["post"];
    assert!(op.is_object(), "{op}");
    assert!(op["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "record"));
    assert!(doc["paths"]["/api/v1/entitlement/policies/{code}/versions"]["post"].is_object());
}

async fn bad_input_is_422_naming_each_field(app: &TestApp) {
    let token = app.token("engineer").await;
    let check = |body: Value, expected: &'static [&'static str]| {
        let token = token.clone();
        async move {
            let (status, v) = app.api(Method::POST, EVALUATE, &token, Some(body)).await;
            assert_eq!(status, 422, "{v}");
            assert_eq!(v["error"]["code"], "validation");
            let got = fields(&v);
            for f in expected {
                assert!(got.contains(&f.to_string()), "expected {f} in {got:?}: {v}");
            }
            v
        }
    };
    let mut b = general("2026-03-07", "performance");
    b["policy"] = json!("no-such-policy");
    let v = check(b, &["policy"]).await;
    assert!(v["error"]["fields"]["policy"][0].as_str().unwrap().contains("no-such-policy"));

    let mut b = general("2026-02-20", "performance");
    b["history"] =
        json!([{"kind": "repair", "start": "2026-04-03T09:00:00+08:00", "end": "2026-04-01T09:00:00+08:00"}]);
    check(b, &["request_date"]).await;

    let mut b = general("2026-05-07", "performance");
    b["history"] =
        json!([{"kind": "repair", "start": "2026-04-03T09:00:00+08:00", "end": "2026-04-01T09:00:00+08:00"}]);
    check(b, &["history[0].end"]).await;

    let mut b = general("2026-05-07", "performance");
    b["policy"] = json!("cn-car-2021");
    b["odometer_km"] = json!(1000);
    b["usage_rate_n"] = json!(0.006);
    check(b, &["usage_rate_n"]).await;

    // Several problems at once, each named; unknown fields are refused, not ignored.
    let mut b = general("2026-13-07", "broken");
    b["colour"] = json!("red");
    b["exclusions"] = json!(["misuse", "bad_luck"]);
    check(b, &["request_date", "fault.kind", "colour", "exclusions[1]"]).await;

    let mut b = general("2026-03-07", "performance");
    b.as_object_mut().unwrap().remove("fault");
    b.as_object_mut().unwrap().remove("invoice_date");
    check(b, &["fault", "invoice_date"]).await;

    // A version the built-in does not have.
    let (status, v) = app
        .api(Method::POST, &format!("{EVALUATE}?policy_version=7"), &token, Some(general("2026-03-07", "performance")))
        .await;
    assert_eq!(status, 422);
    assert_eq!(fields(&v), ["policy_version"]);

    // Broken JSON: the error says where, in the user's language.
    let res = reqwest::Client::new()
        .post(app.url(EVALUATE))
        .bearer_auth(&token)
        .header("accept-language", "en")
        .body("{\"policy\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let v: Value = res.json().await.unwrap();
    assert_eq!(fields(&v), ["body"]);

    // Not signed in: 401, not an evaluation.
    let res = reqwest::Client::new()
        .post(app.url(EVALUATE))
        .json(&general("2026-03-07", "performance"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

fn seed_copy_body(code: &str) -> Value {
    json!({"code": code, "name_zh": "某公司三包细则", "name_en": "Acme terms", "note": "from the seed"})
}

async fn company_policies_are_versioned_audited_and_guarded(app: &TestApp) {
    let token = app.token("manager").await;

    // Copy a built-in to start from; the copy cites itself and its version.
    let (status, v1) = app
        .api(Method::POST, "/api/v1/entitlement/policies/seed-company/copy", &token, Some(seed_copy_body("acme")))
        .await;
    assert_eq!(status, 201, "{v1}");
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["copied_from"], "seed-company v1");
    assert_eq!(v1["policy"]["code"], "acme");
    assert_eq!(v1["policy"]["name_en"], "Acme terms");

    let (status, v) = app
        .api(Method::POST, "/api/v1/entitlement/policies/seed-company/copy", &token, Some(seed_copy_body("acme")))
        .await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(fields(&v), ["code"]);
    let (status, v) = app
        .api(Method::POST, "/api/v1/entitlement/policies/acme/copy", &token, Some(seed_copy_body("cn-car-2021")))
        .await;
    assert_eq!(status, 422, "a built-in code cannot be taken: {v}");

    // A new version: 90-day return becomes 120 days.
    let mut policy = v1["policy"].clone();
    policy["return_terms"]["within_days"] = json!(120);
    let body = json!({"version": 1, "policy": policy, "note": "longer return period"});
    let (status, v2) =
        app.api(Method::POST, "/api/v1/entitlement/policies/acme/versions", &token, Some(body.clone())).await;
    assert_eq!(status, 201, "{v2}");
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["policy"]["version"], 2);
    assert_eq!(v2["policy"]["return_terms"]["within_days"], 120);

    // Someone who edited version 1 too is told it is stale.
    let (status, v) = app.api(Method::POST, "/api/v1/entitlement/policies/acme/versions", &token, Some(body)).await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"]["code"], "conflict");

    // Policy::validate() errors are named by their path inside the policy.
    let mut bad = v2["policy"].clone();
    bad["warranty"]["months"]["high"] = json!(0);
    bad["refund_window"]["grants"] = json!(["paid_repair"]);
    let (status, v) = app
        .api(
            Method::POST,
            "/api/v1/entitlement/policies/acme/versions",
            &token,
            Some(json!({"version": 2, "policy": bad})),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    let f = fields(&v);
    assert!(f.contains(&"policy.warranty.months.high".to_string()), "{f:?}");
    assert!(f.contains(&"policy.refund_window.grants".to_string()), "{f:?}");
    let mut typo = v2["policy"].clone();
    typo["warranty"]["monthz"] = json!(3);
    let (status, v) = app
        .api(
            Method::POST,
            "/api/v1/entitlement/policies/acme/versions",
            &token,
            Some(json!({"version": 2, "policy": typo})),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    assert!(fields(&v)[0].starts_with("policy.warranty"), "{v}");

    // Built-ins are read-only.
    let (status, _) = app
        .api(
            Method::POST,
            "/api/v1/entitlement/policies/cn-general-1995/versions",
            &token,
            Some(json!({"version": 1, "policy": v2["policy"]})),
        )
        .await;
    assert_eq!(status, 422);

    // Create from JSON, retried with the same Idempotency-Key: one policy, same answer.
    let mut fresh = v2["policy"].clone();
    fresh["code"] = json!("acme-b2b");
    let send = || {
        reqwest::Client::new()
            .post(app.url("/api/v1/entitlement/policies"))
            .bearer_auth(&token)
            .header("idempotency-key", "create-acme-b2b")
            .json(&json!({"policy": fresh, "note": "for dealers"}))
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["version"], 1, "a created policy starts at version 1: {first}");
    let again = send().await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);

    // The list shows built-ins and company policies at their latest version.
    let (_, list) = app.api(Method::GET, "/api/v1/entitlement/policies", &token, None).await;
    let codes: Vec<(String, u64)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["code"].as_str().unwrap().to_owned(), p["version"].as_u64().unwrap()))
        .collect();
    for expected in [("cn-general-1995", 1), ("cn-car-2021", 1), ("seed-company", 1), ("acme", 2), ("acme-b2b", 1)] {
        assert!(codes.contains(&(expected.0.to_owned(), expected.1)), "{codes:?}");
    }
    let (_, detail) = app.api(Method::GET, "/api/v1/entitlement/policies/acme", &token, None).await;
    assert_eq!(detail["versions"].as_array().unwrap().len(), 2);
    assert_eq!(detail["versions"][0]["note"], "longer return period");
    let (status, old) = app.api(Method::GET, "/api/v1/entitlement/policies/acme/versions/1", &token, None).await;
    assert_eq!(status, 200);
    assert_eq!(old["policy"]["return_terms"]["within_days"], 90, "old versions stay as they were");

    // Every change is in the audit trail with before and after.
    let (_, audit) =
        app.api(Method::GET, "/api/v1/audit?entity_type=entitlement_policy&entity_id=acme", &token, None).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["new_version", "copy"]);
    let change = &audit["items"][0];
    assert!(change["before_json"].as_str().unwrap().contains("\"within_days\":90"));
    assert!(change["after_json"].as_str().unwrap().contains("\"within_days\":120"));
    assert_eq!(change["actor_label"], "manager");
}

async fn recorded_decisions_keep_their_policy_version(app: &TestApp) {
    let token = app.token("manager").await;
    let (status, v1) = app
        .api(Method::POST, "/api/v1/entitlement/policies/seed-company/copy", &token, Some(seed_copy_body("acme")))
        .await;
    assert_eq!(status, 201);

    let mut body = general("2026-03-09", "general");
    body["policy"] = json!("acme");
    body["grade"] = json!("mid");
    // Day 9: the seed terms allow a return only within 7 days.
    let (status, first) = app.api(Method::POST, &format!("{EVALUATE}?record=true"), &token, Some(body.clone())).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["policy_version"], 1);
    assert_eq!(first["remedies"], json!(["free_repair"]));
    assert_eq!(decision(&first, "refund")["rule"], "acme v1 §7-day");
    let first_id = first["decision_id"].as_i64().expect("recorded");
    // Both instances now hold version 1 in their caches.
    let other = app.another_instance().await;
    assert_eq!(evaluate(app, &token, body.clone()).await["policy_version"], 1);
    assert_eq!(evaluate(&other, &token, body.clone()).await["policy_version"], 1);

    // Version 2 widens the return window to 10 days.
    let mut policy = v1["policy"].clone();
    policy["refund_window"]["days"] = json!(10);
    let (status, _) = app
        .api(
            Method::POST,
            "/api/v1/entitlement/policies/acme/versions",
            &token,
            Some(json!({"version": 1, "policy": policy})),
        )
        .await;
    assert_eq!(status, 201);

    // The next evaluation on this instance uses version 2 at once, recorded or not.
    let v = evaluate(app, &token, body.clone()).await;
    assert_eq!(v["policy_version"], 2);
    assert_eq!(v["remedies"], json!(["refund", "free_repair"]));
    assert!(v.get("decision_id").is_none());
    let (_, second) = app.api(Method::POST, &format!("{EVALUATE}?record=true"), &token, Some(body.clone())).await;
    assert_eq!(second["policy_version"], 2);
    assert_eq!(decision(&second, "refund")["rule"], "acme v2 §7-day");
    // The other instance: a recorded decision reads the new version at once; an evaluation
    // alone may use the cached one, but never for longer than the cache's lifetime.
    let (_, there) = other.api(Method::POST, &format!("{EVALUATE}?record=true"), &token, Some(body.clone())).await;
    assert_eq!(there["policy_version"], 2, "{there}");
    tokio::time::sleep(aftersales::service::entitlement::LATEST_TTL + std::time::Duration::from_millis(100)).await;
    assert_eq!(evaluate(&other, &token, body.clone()).await["policy_version"], 2);
    other.stop().await;
    // An earlier version can still be asked for by number.
    let (_, pinned) = app.api(Method::POST, &format!("{EVALUATE}?policy_version=1"), &token, Some(body)).await;
    assert_eq!(pinned["policy_version"], 1);
    assert_eq!(pinned["remedies"], json!(["free_repair"]));

    // The first decision still shows what version 1 decided.
    let (status, stored) =
        app.api(Method::GET, &format!("/api/v1/entitlement/decisions/{first_id}"), &token, None).await;
    assert_eq!(status, 200);
    assert_eq!(stored["policy_code"], "acme");
    assert_eq!(stored["policy_version"], 1);
    assert_eq!(stored["result"]["remedies"], json!(["free_repair"]));
    assert_eq!(stored["request"]["request_date"], "2026-03-09");
    assert_eq!(stored["decided_by"], "manager");
    assert_eq!(stored["source"], "api");
    let (_, list) = app.api(Method::GET, "/api/v1/entitlement/decisions", &token, None).await;
    let versions: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["source"] != "work_order")
        .map(|d| d["policy_version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [2, 2, 1]);

    let c = app.login("manager", DEMO_PASSWORD).await;
    let page = c.get(app.url(&format!("/entitlement/decisions/{first_id}"))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("acme v1"), "{html}");
    assert!(html.contains("acme v1 §7-day"));
}

async fn engineers_evaluate_but_cannot_edit_policies(app: &TestApp) {
    let token = app.token("engineer").await;
    evaluate(app, &token, general("2026-03-07", "performance")).await;
    let (status, _) = app.api(Method::GET, "/api/v1/entitlement/policies", &token, None).await;
    assert_eq!(status, 200);
    let (status, _) = app
        .api(Method::POST, "/api/v1/entitlement/policies/seed-company/copy", &token, Some(seed_copy_body("mine")))
        .await;
    assert_eq!(status, 403);
    let policy = serde_json::to_value(rules::entitlement::builtin_policy("seed-company").unwrap()).unwrap();
    let mut own = policy.clone();
    own["code"] = json!("mine");
    let (status, _) = app.api(Method::POST, "/api/v1/entitlement/policies", &token, Some(json!({"policy": own}))).await;
    assert_eq!(status, 403);

    // A manager's policy cannot be changed by the engineer either.
    let manager = app.token("manager").await;
    let (status, _) = app
        .api(Method::POST, "/api/v1/entitlement/policies/seed-company/copy", &manager, Some(seed_copy_body("acme")))
        .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .api(
            Method::POST,
            "/api/v1/entitlement/policies/acme/versions",
            &token,
            Some(json!({"version": 1, "policy": policy})),
        )
        .await;
    assert_eq!(status, 403);

    let c = app.login("engineer", DEMO_PASSWORD).await;
    let list = c.get(app.url("/entitlement/policies")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("seed-company") && list.contains("acme"));
    assert!(!list.contains("id=\"policy-new\""), "no create button for engineers");
    assert_eq!(c.get(app.url("/entitlement/policies/new")).send().await.unwrap().status(), 403);
    assert_eq!(c.get(app.url("/entitlement/policies/acme/edit")).send().await.unwrap().status(), 403);
    let page = c.get(app.url("/entitlement/policies/acme")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("id=\"policy-edit\""));
}

async fn evaluate_form_shows_decisions_and_keeps_input(app: &TestApp) {
    let c = app.login("dispatcher", DEMO_PASSWORD).await;
    let home = c.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("href=\"/entitlement\""), "nav link");
    let form = c.get(app.url("/entitlement")).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let form = form.text().await.unwrap();
    assert!(form.contains("name=\"history[2].start\""), "three history rows");
    assert!(form.contains("value=\"cn-car-2021\"") && form.contains("value=\"seed-company\""));

    // Two failed repairs (rows 0 and 2; row 1 left empty) → exchange or refund less depreciation.
    let res = c
        .post(app.url("/entitlement"))
        .form(&[
            ("policy", "cn-general-1995"),
            ("invoice_date", "2026-03-01"),
            ("request_date", "2026-06-09"),
            ("price", "4,000"),
            ("fault.kind", "performance"),
            ("same_model_available", "yes"),
            ("depreciation", "0.1"),
            ("history[0].kind", "repair"),
            ("history[0].start", "2026-04-01T09:00"),
            ("history[0].end", "2026-04-03T17:00"),
            ("history[0].same_fault", "on"),
            ("history[2].kind", "repair"),
            ("history[2].start", "2026-05-01T09:00"),
            ("history[2].end", "2026-05-05T17:00"),
            ("history[2].same_fault", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"result\""), "{html}");
    assert!(html.contains("cn-general-1995 art. 11"), "the citation is shown");
    assert!(html.contains("cn-general-1995 art. 11, art. 13"));
    assert!(html.contains("¥3,628.00"), "refund in yuan");
    assert!(html.contains("¥372.00"), "deduction in yuan");
    assert!(html.contains("使用93天"), "the reason in Chinese");
    assert!(html.contains("2027-03-08"), "warranty end with 8 repair days added");
    assert!(html.contains("value=\"2026-05-01T09:00\""), "the form keeps what was typed");
    assert!(html.contains("id=\"decision-link\""));

    // The decision was recorded and is listed; its page shows the same.
    let (_, list) = app.api(Method::GET, "/api/v1/entitlement/decisions", &app.token("dispatcher").await, None).await;
    let d = &list["items"][0];
    assert_eq!(d["source"], "web");
    assert_eq!(d["request"]["price_cents"], 400000);
    assert_eq!(d["request"]["history"][1]["start"], "2026-05-01T09:00:00+08:00");
    let page = c.get(app.url("/entitlement")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("/entitlement/decisions/{}", d["id"])), "recent decisions list");
    // Re-running from a decision fills the form back in.
    let again = c.get(app.url(&format!("/entitlement?from={}", d["id"]))).send().await.unwrap().text().await.unwrap();
    assert!(again.contains("value=\"2026-06-09\"") && again.contains("value=\"4000.00\""), "{again}");

    // In English, the reasons are English.
    let res = c.post(app.url("/lang")).form(&[("locale", "en"), ("next", "/entitlement")]).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let html = c
        .post(app.url("/entitlement"))
        .form(&[
            ("policy", "cn-general-1995"),
            ("invoice_date", "2026-03-01"),
            ("request_date", "2026-03-07"),
            ("price", "4000"),
            ("fault.kind", "performance"),
            ("exclusions", "misuse"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("cn-general-1995 art. 18(1)"), "{html}");
    assert!(html.contains("paid repair"));
    assert!(html.contains("refused"));

    // Bad input: errors next to their fields, typed values kept, nothing recorded.
    let res = c
        .post(app.url("/entitlement"))
        .form(&[
            ("policy", "cn-general-1995"),
            ("invoice_date", "2026-03-01"),
            ("request_date", "2026-05-07"),
            ("price", "four thousand"),
            ("fault.kind", "performance"),
            ("history[1].kind", "repair"),
            ("history[1].start", "2026-04-03T09:00"),
            ("history[1].end", "2026-04-01T09:00"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("value=\"four thousand\""), "{html}");
    assert!(html.contains("Not an amount"), "price error inline");
    assert!(html.contains("value=\"2026-04-01T09:00\""));
    assert!(html.contains("is before the start"), "history row error inline: {html}");
    assert!(!html.contains("id=\"result\""));
    let (_, after) = app.api(Method::GET, "/api/v1/entitlement/decisions", &app.token("dispatcher").await, None).await;
    let recorded = after["items"].as_array().unwrap().iter().filter(|d| d["source"] == "web").count();
    assert_eq!(recorded, 2, "only the two good submissions were recorded");
}

async fn policy_pages_edit_history_and_conflicts(app: &TestApp) {
    let c = app.login("manager", DEMO_PASSWORD).await;
    let list = c.get(app.url("/entitlement/policies")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("cn-general-1995") && list.contains("id=\"policy-new\""));
    let builtin = c.get(app.url("/entitlement/policies/cn-car-2021")).send().await.unwrap().text().await.unwrap();
    assert!(builtin.contains("art. 24") && !builtin.contains("id=\"policy-edit\""), "built-ins are read-only");

    // Copy a built-in; a taken code is an inline error.
    let res = c
        .post(app.url("/entitlement/policies"))
        .form(&[
            ("from", "seed-company"),
            ("code", "acme-web"),
            ("name_zh", "网页公司政策"),
            ("name_en", ""),
            ("note", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/entitlement/policies/acme-web?ok=created");
    let res = c
        .post(app.url("/entitlement/policies"))
        .form(&[("from", "seed-company"), ("code", "acme-web"), ("name_zh", ""), ("name_en", ""), ("note", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("该政策代码已存在"));

    let edit = c.get(app.url("/entitlement/policies/acme-web/edit")).send().await.unwrap().text().await.unwrap();
    assert!(edit.contains("name=\"policy_json\"") && edit.contains("网页公司政策"));
    let current = serde_json::to_string_pretty(
        &app.api(Method::GET, "/api/v1/entitlement/policies/acme-web", &app.token("manager").await, None).await.1
            ["versions"][0]["policy"],
    )
    .unwrap();

    // Broken JSON and invalid values are shown, with the typed text kept.
    let res = c
        .post(app.url("/entitlement/policies/acme-web/edit"))
        .form(&[("version", "1"), ("policy_json", "{\"code\": "), ("note", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("JSON格式错误"));
    let invalid = current.replace("\"days\": 7", "\"days\": 0");
    assert_ne!(invalid, current);
    let res = c
        .post(app.url("/entitlement/policies/acme-web/edit"))
        .form(&[("version", "1"), ("policy_json", invalid.as_str()), ("note", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("refund_window.days"), "{html}");
    assert!(unescape(&html).contains("\"days\": 0"), "typed text kept");

    // A valid change makes version 2, and the page shows the change.
    let changed = current.replace("\"days\": 7", "\"days\": 10");
    let res = c
        .post(app.url("/entitlement/policies/acme-web/edit"))
        .form(&[("version", "1"), ("policy_json", changed.as_str()), ("note", "ten-day return")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let page = c.get(app.url("/entitlement/policies/acme-web")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"v2\"") && page.contains("id=\"v1\""));
    assert!(page.contains("ten-day return"));
    let page = unescape(&page);
    assert!(page.contains("<span class=\"removed\">-     \"days\": 7,</span>"), "{page}");
    assert!(page.contains("<span class=\"added\">+     \"days\": 10,</span>"), "{page}");

    // Saving on top of version 1 again is refused, keeping the text.
    let res = c
        .post(app.url("/entitlement/policies/acme-web/edit"))
        .form(&[("version", "1"), ("policy_json", changed.as_str()), ("note", "late")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"form-notice\""));
    assert!(html.contains("name=\"version\" value=\"2\""), "the next save goes on top of version 2");

    // The common parameters as fields: a bad value is named next to its field.
    let edit = c.get(app.url("/entitlement/policies/acme-web/edit")).send().await.unwrap().text().await.unwrap();
    assert!(edit.contains("name=\"warranty.months.low\" value=\"12\""), "{edit}");
    assert!(edit.contains("name=\"refund_window.days\" value=\"10\""));
    assert!(!edit.contains("name=\"exchange_window.days\""), "the seed terms have no exchange window");
    let params = |low: &'static str| {
        [
            ("mode", "params"),
            ("version", "2"),
            ("warranty.months.high", "24"),
            ("warranty.months.mid", "24"),
            ("warranty.months.low", low),
            ("refund_window.days", "10"),
            ("failed_repairs.repairs", "2"),
            ("failed_repairs.within_days", "180"),
            ("return_terms.within_days", "90"),
            ("note", "low grade"),
        ]
    };
    let res = c.post(app.url("/entitlement/policies/acme-web/edit")).form(&params("0")).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("name=\"warranty.months.low\" value=\"0\""), "typed value kept");
    assert!(html.contains("月数须在1到1200之间"), "{html}");
    let res = c.post(app.url("/entitlement/policies/acme-web/edit")).form(&params("18")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let token = app.token("manager").await;
    let (_, v3) = app.api(Method::GET, "/api/v1/entitlement/policies/acme-web/versions/3", &token, None).await;
    assert_eq!(v3["policy"]["warranty"]["months"]["low"], 18);
    assert_eq!(v3["policy"]["refund_window"]["days"], 10);
    assert_eq!(v3["note"], "low grade");
}

/// The text of HTML-escaped quotes, to compare with JSON.
fn unescape(html: &str) -> String {
    html.replace("&#34;", "\"").replace("&quot;", "\"").replace("&#39;", "'").replace("&#x27;", "'")
}

// ---------------------------------------------------------------- CLI

fn cli(db: &str, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aftersales"));
    cmd.env_remove("DATABASE_URL").env("AFTERSALES_LOG", "warn").args(args).arg("--database").arg(db);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let input = stdin.unwrap_or("").to_owned();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn entitlement_from_the_shell(db: String) {
    // A company policy in the database, made through the same use case the API calls.
    let config = aftersales::config::Config::resolve(
        aftersales::config::FileConfig::default(),
        aftersales::config::Overrides { database_url: Some(db.clone()), ..Default::default() },
    )
    .unwrap();
    let pool = aftersales::startup::open_database(&config).await.unwrap();
    let input = aftersales::service::entitlement::CopyPolicyInput {
        code: "acme-cli".into(),
        name_zh: String::new(),
        name_en: String::new(),
        from_version: None,
        note: String::new(),
    };
    let actor = aftersales::service::Actor::system("test");
    aftersales::service::entitlement::copy_policy(&pool, &actor, "seed-company", &input, None).await.unwrap();
    pool.close().await;

    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("req.json");
        std::fs::write(&file, general("2026-03-07", "performance").to_string()).unwrap();
        let (ok, out, err) = cli(&db, &["entitlement", "evaluate", file.to_str().unwrap()], None);
        assert!(ok, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["remedies"], json!(["refund", "exchange", "free_repair"]));
        assert!(out.contains("\n  \"remedies\""), "pretty-printed: {out}");

        let mut company = general("2026-03-05", "general");
        company["policy"] = json!("acme-cli");
        company["grade"] = json!("low");
        let (ok, out, err) = cli(&db, &["entitlement", "evaluate", "-", "--record"], Some(&company.to_string()));
        assert!(ok, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(decision(&v, "refund")["rule"], "acme-cli v1 §7-day");
        assert!(err.contains("Recorded as decision"), "{err}");

        let mut bad = general("2026-02-01", "performance");
        bad["history"] = json!([{"kind": "fix", "start": "yesterday"}]);
        let (ok, out, err) = cli(&db, &["entitlement", "evaluate", "-"], Some(&bad.to_string()));
        assert!(!ok);
        assert!(out.is_empty(), "{out}");
        assert!(err.contains("history[0].kind: must be one of"), "{err}");
        assert!(err.contains("history[0].start"), "{err}");
        let (ok, _, err) = cli(&db, &["entitlement", "evaluate", "-"], Some("not json"));
        assert!(!ok);
        assert!(err.contains("body: invalid JSON"), "{err}");
        let (ok, _, err) = cli(&db, &["entitlement", "evaluate", "/no/such/file.json"], None);
        assert!(!ok);
        assert!(err.contains("cannot read /no/such/file.json"), "{err}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entitlement_cli_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    entitlement_from_the_shell(format!("sqlite://{}/cli.db", dir.path().display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entitlement_cli_on_postgres() {
    let Some(name) = fresh_pg_database().await else { return };
    let admin = pg_admin_url();
    entitlement_from_the_shell(format!("{}/{}", &admin[..admin.rfind('/').unwrap()], name)).await;
    drop_pg_database(&name).await;
}

// ---------------------------------------------------------------- browser

async fn evaluate_on_a_phone_in_a_real_browser(app: &TestApp) {
    use crate::browser::{browser, driver, fill};
    use fantoccini::Locator;
    // Clicking right after a navigation may hit the page being replaced; look again then.
    async fn click(c: &fantoccini::Client, css: &str) {
        for attempt in 0.. {
            let el = c.wait().for_element(Locator::Css(css)).await.unwrap();
            match el.click().await {
                Ok(()) => return,
                Err(e) if attempt < 20 => {
                    let _ = e;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot click {css}: {e}"),
            }
        }
    }
    async fn text_of(c: &fantoccini::Client, css: &str) -> String {
        for attempt in 0.. {
            let el = c.wait().for_element(Locator::Css(css)).await.unwrap();
            match el.text().await {
                Ok(t) => return t,
                Err(e) if attempt < 20 => {
                    let _ = e;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot read {css}: {e}"),
            }
        }
        unreachable!()
    }
    let Some(driver) = driver() else { return };
    let c = browser(&driver, 360, 740).await;
    c.goto(&app.url("/login?next=/entitlement")).await.unwrap();
    fill(&c, "input[name=login]", "engineer").await;
    fill(&c, "input[name=password]", DEMO_PASSWORD).await;
    click(&c, "#login-submit").await;
    c.wait().for_element(Locator::Css("#evaluate-form")).await.unwrap();
    assert_eq!(text_of(&c, "h1").await, "保修与三包判定");

    // "Add a row" (static/app.js) adds a fourth, empty history row with the next index.
    click(&c, "#history-add").await;
    let rows = c.execute("return document.querySelectorAll('#history .history-row').length;", vec![]).await.unwrap();
    assert_eq!(rows, json!(4));
    let name = c
        .execute("return document.querySelectorAll('#history .history-row')[3].querySelector('select').name;", vec![])
        .await
        .unwrap();
    assert_eq!(name, json!("history[3].kind"));

    // Date inputs take their value from script: typing into them depends on the browser's locale.
    c.execute(
        "document.querySelector('[name=invoice_date]').value = '2026-03-01';
         document.querySelector('[name=request_date]').value = '2026-03-07';
         document.querySelector('[name=\"history[3].kind\"]').value = 'repair';
         document.querySelector('[name=\"history[3].start\"]').value = '2026-03-02T09:00';
         document.querySelector('[name=\"history[3].end\"]').value = '2026-03-03T10:00';",
        vec![],
    )
    .await
    .unwrap();
    fill(&c, "input[name=price]", "4000").await;
    click(&c, "#evaluate").await;
    c.wait().for_element(Locator::Css("#result")).await.unwrap();
    let remedies = text_of(&c, "#remedies").await;
    assert!(remedies.contains("退货") && remedies.contains("换货") && remedies.contains("免费修理"), "{remedies}");
    let table = text_of(&c, "#decisions").await;
    assert!(table.contains("cn-general-1995 art. 9"), "{table}");
    assert_eq!(text_of(&c, "#refund").await, "¥4,000.00");
    // The added row was sent and is shown again.
    let kept = c.execute("return document.querySelector('[name=\"history[3].start\"]').value;", vec![]).await.unwrap();
    assert_eq!(kept, json!("2026-03-02T09:00"));
    let overflow = c.execute("return document.documentElement.scrollWidth > window.innerWidth;", vec![]).await.unwrap();
    assert_eq!(overflow, Value::Bool(false), "horizontal scrolling on a phone");
    if let Ok(png) = c.screenshot().await {
        let _ = std::fs::write(std::env::temp_dir().join(format!("aftersales-entitlement-{:?}.png", app.backend)), png);
    }
    c.close().await.unwrap();
}
