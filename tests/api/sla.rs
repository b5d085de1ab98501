//! Service clocks (R4) as their users meet them: the promises an order starts with, how the
//! flow stops and pauses them, the sweeper's warnings, breaches and escalations (once, with
//! several instances), the figures and the breach register, and the policies, contracts and
//! calendars behind them — on both databases.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Backend, TestApp};
use aftersales::service::calendars::CalendarCache;
use aftersales::service::sla::Sla;

both!(
    clocks_follow_an_order_from_the_call_to_the_signed_report,
    key_customers_and_requested_times_set_their_own_promises,
    the_sweeper_warns_records_breaches_and_escalates_once,
    policies_contracts_and_calendars_are_data,
    lists_sort_by_urgency_and_pages_show_the_clocks,
    several_sweepers_send_each_step_exactly_once,
);

async fn unit(app: &TestApp, token: &str, serial: &str) -> Value {
    let (status, v) = app.api(Method::GET, &format!("/api/v1/units?number={serial}"), token, None).await;
    assert_eq!(status, 200, "{v}");
    v["items"][0].clone()
}

async fn register(app: &TestApp, token: &str, serial: &str, extra: Value) -> Value {
    let u = unit(app, token, serial).await;
    let mut body = json!({"channel": "hotline", "kind": "repair", "customer_id": u["customer_id"],
        "unit_id": u["id"], "problem": "空调不制冷"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, v) = app.api(Method::POST, "/api/v1/work-orders", token, Some(body)).await;
    assert_eq!(status, 201, "{v}");
    v
}

async fn step(app: &TestApp, token: &str, order: &Value, action: &str, mut body: Value) -> Value {
    let id = order["order"]["id"].as_i64().unwrap();
    body["version"] = order["order"]["version"].clone();
    let (status, v) =
        app.api(Method::POST, &format!("/api/v1/work-orders/{id}/actions/{action}"), token, Some(body)).await;
    assert_eq!(status, 200, "{action}: {v}");
    v
}

fn clock<'a>(order: &'a Value, target: &str) -> &'a Value {
    order["clocks"].as_array().unwrap().iter().find(|c| c["target"] == target).unwrap_or_else(|| panic!("{target}"))
}

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}"))).unwrap().with_timezone(&Utc)
}

async fn user_id(app: &TestApp, login: &str) -> i64 {
    let admin = app.token("admin").await;
    let (_, v) = app.api(Method::GET, &format!("/api/v1/users?q={login}"), &admin, None).await;
    v["items"].as_array().unwrap().iter().find(|u| u["login"] == login).unwrap()["id"].as_i64().unwrap()
}

fn sweeper() -> Sla {
    Sla::new(Arc::new(CalendarCache::new()))
}

/// As if the order had come in `ago` and no sweeper had run since: its clocks started then
/// and their next check has long come.
async fn backdate(app: &TestApp, order_id: i64, ago: Duration) {
    let now = Utc::now();
    let mut tx = app.db.begin().await.unwrap();
    aftersales::on_conn!(tx.conn(), |e| {
        sqlx::query("UPDATE work_order_clocks SET started_at = $1, next_check_at = $2 WHERE order_id = $3")
            .bind(now - ago)
            .bind(now - Duration::minutes(1))
            .bind(order_id)
            .execute(&mut *e)
            .await
            .unwrap();
    });
    tx.commit().await.unwrap();
}

async fn escalations(app: &TestApp, order_id: i64) -> Vec<(String, String, String)> {
    let mut c = app.db.read().await.unwrap();
    let mut rows: Vec<(String, String, String)> = aftersales::on_conn!(c.conn(), |e| {
        sqlx::query_as("SELECT target, step_key, kind FROM sla_escalations WHERE order_id = $1")
            .bind(order_id)
            .fetch_all(&mut *e)
            .await
            .unwrap()
    });
    rows.sort();
    rows
}

/// The order's SLA e-mails as (recipient, subject), from its notification list.
async fn sla_mails(app: &TestApp, token: &str, order_id: i64) -> Vec<(String, String)> {
    let (status, v) = app.api(Method::GET, &format!("/api/v1/work-orders/{order_id}/notifications"), token, None).await;
    assert_eq!(status, 200, "{v}");
    let mut out: Vec<(String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["event"].as_str().unwrap().starts_with("sla_") && m["channel"] == "email")
        .map(|m| (m["recipient"].as_str().unwrap().to_string(), m["subject"].as_str().unwrap().to_string()))
        .collect();
    out.sort();
    out
}

async fn clocks_follow_an_order_from_the_call_to_the_signed_report(app: &TestApp) {
    let dispatcher = app.token("dispatcher").await;
    let engineer = app.token("engineer").await;
    // 张晓明 is a class C customer: the standard policy (RULES §5).
    let before = Utc::now();
    let o = register(app, &dispatcher, "KF35A0001", json!({})).await;
    let reply = clock(&o, "first_reply");
    assert_eq!((reply["policy_code"].as_str(), reply["policy_version"].as_i64()), (Some("standard"), Some(1)));
    assert_eq!((reply["mode"].as_str(), reply["state"].as_str()), (Some("elapsed"), Some("running")));
    let due = at(&reply["due_at"]);
    let started = at(&reply["started_at"]);
    assert_eq!(due - started, Duration::hours(24), "reply within 24 hours");
    assert!(started >= before - Duration::seconds(1));
    assert!(reply["basis"].as_str().unwrap().contains("24"));
    assert_eq!(at(&clock(&o, "on_site")["due_at"]) - started, Duration::hours(48), "on site within 2 days");
    assert_eq!(at(&clock(&o, "resolution")["due_at"]) - started, Duration::days(30));
    assert_eq!(at(&o["order"]["sla_due_at"]), due, "the order carries its most urgent due time");
    let id = o["order"]["id"].as_i64().unwrap();

    // Answering the customer stops the first clock, and only it.
    let (status, v) = app
        .api(
            Method::POST,
            &format!("/api/v1/work-orders/{id}/actions/reply"),
            &dispatcher,
            Some(json!({"version": o["order"]["version"]})),
        )
        .await;
    assert_eq!(status, 422, "a reply says how: {v}");
    assert!(v["error"]["fields"]["note"][0].is_string());
    // The unit was sold five days ago: an exchange is possible, so quality reviews it first.
    assert_eq!(o["order"]["status"], "review");
    let o = step(app, &dispatcher, &o, "reply", json!({"note": "电话告知客户明天上午上门"})).await;
    assert_eq!(o["order"]["status"], "review", "a reply keeps the status");
    assert_eq!(clock(&o, "first_reply")["state"], "met");
    assert_eq!(clock(&o, "on_site")["state"], "running");
    assert_eq!(at(&o["order"]["sla_due_at"]), at(&clock(&o, "on_site")["due_at"]));

    let quality = app.token("quality").await;
    let o = step(app, &quality, &o, "review", json!({"assessment": "压缩机故障", "plan": "上门维修"})).await;
    let eid = user_id(app, "engineer").await;
    let o = step(app, &dispatcher, &o, "assign", json!({"engineer_id": eid})).await;
    let o = step(app, &engineer, &o, "accept", json!({})).await;
    let o = step(app, &engineer, &o, "arrive", json!({})).await;
    assert_eq!(clock(&o, "on_site")["state"], "met");
    assert_eq!(clock(&o, "resolution")["state"], "running");

    // Waiting for parts pauses the resolution clock (the policy honours waiting_customer only:
    // so a wait for parts is recorded but does not stop the 30 days); waiting for the
    // customer does.
    let (status, v) = app
        .api(
            Method::POST,
            &format!("/api/v1/work-orders/{id}/actions/pause"),
            &engineer,
            Some(json!({"version": o["order"]["version"], "pause_reason": "coffee"})),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    assert!(v["error"]["fields"]["pause_reason"][0].is_string());
    let o = step(app, &engineer, &o, "pause", json!({"pause_reason": "waiting_parts", "note": "压缩机缺货"})).await;
    assert_eq!(clock(&o, "resolution")["paused"], false, "the standard policy does not pause for parts");
    let (status, v) = app
        .api(
            Method::POST,
            &format!("/api/v1/work-orders/{id}/actions/pause"),
            &engineer,
            Some(json!({"version": o["order"]["version"], "pause_reason": "waiting_customer"})),
        )
        .await;
    assert_eq!(status, 422, "one open pause at a time: {v}");
    assert!(v["error"]["message"].is_string());
    let o = step(app, &engineer, &o, "resume", json!({})).await;
    let o = step(app, &engineer, &o, "pause", json!({"pause_reason": "waiting_customer", "note": "客户出差"})).await;
    let res = clock(&o, "resolution");
    assert_eq!((res["paused"].as_bool(), res["state"].as_str()), (Some(true), Some("paused")));
    assert!(o["order"]["sla_due_at"].is_null(), "a paused clock's due time moves with time: {}", o["order"]);
    let pauses = o["pauses"].as_array().unwrap();
    assert_eq!(pauses.len(), 2);
    assert_eq!((pauses[0]["reason"].as_str(), pauses[0]["source"].as_str()), (Some("waiting_parts"), Some("manual")));
    assert!(pauses[0]["to_at"].is_string() && pauses[1]["to_at"].is_null());
    let o = step(app, &engineer, &o, "resume", json!({})).await;
    let res = clock(&o, "resolution");
    assert_eq!(res["state"], "running");
    assert!(at(&res["due_at"]) - started >= Duration::days(30), "paused time moves the due time later");

    let o = step(
        app,
        &engineer,
        &o,
        "complete",
        json!({"fault_code": "AC-E1", "work_done": "更换压缩机", "signed_by": "张晓明",
               "signature": crate::work_orders::signature_data_url()}),
    )
    .await;
    assert!(o["clocks"].as_array().unwrap().iter().all(|c| c["state"] == "met"), "{}", o["clocks"]);
    assert!(o["order"]["sla_due_at"].is_null());
    let actions: Vec<&str> = o["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["reply", "pause", "resume"] {
        assert!(actions.contains(&a), "{a} is on the time line: {actions:?}");
    }
    // The clocks are also their own resource.
    let (status, v) = app.api(Method::GET, &format!("/api/v1/work-orders/{id}/clocks"), &dispatcher, None).await;
    assert_eq!((status, v.as_array().unwrap().len()), (200, 3));
    let (status, _) =
        app.api(Method::GET, &format!("/api/v1/work-orders/{id}/clocks"), &app.token("engineer2").await, None).await;
    assert_eq!(status, 404, "another region's engineer does not see the order");

    // Reopened work is not resolved: the resolution clock runs on from its start.
    let o = step(app, &dispatcher, &o, "reopen", json!({"note": "客户反映仍不制冷"})).await;
    assert_eq!(clock(&o, "resolution")["state"], "running");
    assert_eq!(clock(&o, "on_site")["state"], "met");
    // Cancelling ends every running clock; cancelled clocks count in no figure.
    let o = step(app, &dispatcher, &o, "cancel", json!({"note": "客户取消"})).await;
    assert_eq!(clock(&o, "resolution")["state"], "cancelled");
    assert!(o["order"]["sla_due_at"].is_null());
}

async fn key_customers_and_requested_times_set_their_own_promises(app: &TestApp) {
    let dispatcher = app.token("dispatcher").await;
    let manager = app.token("manager").await;
    // 华联商厦 is class A: reply within one working hour (RULES §7), on cn-standard.
    let requested = Utc::now() + Duration::hours(30);
    let o = register(app, &dispatcher, "KF35A0002", json!({"requested_at": requested.to_rfc3339()})).await;
    let reply = clock(&o, "first_reply");
    assert_eq!((reply["policy_code"].as_str(), reply["mode"].as_str()), (Some("key-customer"), Some("working")));
    assert_eq!(reply["target_minutes"], 60);
    assert_eq!(reply["calendar_code"], "cn-standard");
    // The working hour ends inside working time, whenever the call came.
    let due = at(&reply["due_at"]);
    let (status, cal) = app
        .api(
            Method::GET,
            &format!(
                "/api/v1/calendars/cn-standard/working-minutes?from={}&to={}",
                urlenc(&reply["started_at"]),
                urlenc(&reply["due_at"])
            ),
            &dispatcher,
            None,
        )
        .await;
    assert_eq!((status, cal["minutes"].as_i64()), (200, Some(60)), "{cal}");
    assert!(due > at(&reply["started_at"]));
    // The customer asked for a visit in 30 hours: that is the on-site promise.
    let on_site = clock(&o, "on_site");
    assert_eq!(at(&on_site["deadline"]).timestamp(), requested.timestamp());
    assert_eq!(at(&on_site["due_at"]).timestamp(), requested.timestamp());
    assert_eq!(on_site["mode"], "elapsed");

    // An approved extension moves the promise it is about.
    let engineer = app.token("engineer").await;
    let eid = user_id(app, "engineer").await;
    let o = step(app, &dispatcher, &o, "assign", json!({"engineer_id": eid})).await;
    let o = step(app, &engineer, &o, "accept", json!({})).await;
    let o = step(app, &engineer, &o, "arrive", json!({})).await;
    let later = Utc::now() + Duration::days(40);
    let o = step(
        app,
        &engineer,
        &o,
        "request_approval",
        json!({"approval_kind": "extension", "note": "进口配件到货需 6 周", "new_due": later.to_rfc3339()}),
    )
    .await;
    assert_eq!(o["pauses"][0]["reason"], "waiting_approval");
    assert_eq!(clock(&o, "resolution")["paused"], false, "no built-in policy pauses for an approval");
    let o = step(app, &manager, &o, "decide_approval", json!({"approve": true})).await;
    let res = clock(&o, "resolution");
    assert_eq!(at(&res["due_at"]).timestamp(), later.timestamp(), "{res}");
    assert!(o["pauses"][0]["to_at"].is_string(), "the decision ends the wait");
}

fn urlenc(v: &Value) -> String {
    v.as_str().unwrap().replace('+', "%2B").replace(':', "%3A")
}

async fn the_sweeper_warns_records_breaches_and_escalates_once(app: &TestApp) {
    let dispatcher = app.token("dispatcher").await;
    let manager = app.token("manager").await;
    let sla = sweeper();
    // Three days without an answer: the reply (24 h) and the visit (48 h) are both broken, each
    // for more than the eight hours after which the general manager hears of it.
    let late = register(app, &dispatcher, "KF35A0001", json!({})).await;
    let late_id = late["order"]["id"].as_i64().unwrap();
    backdate(app, late_id, Duration::hours(72)).await;
    // Twenty hours: the reply's warning (80 %) has come, nothing else.
    let warned = register(app, &dispatcher, "FS10C0100", json!({})).await;
    let warned_id = warned["order"]["id"].as_i64().unwrap();
    backdate(app, warned_id, Duration::hours(20)).await;

    let mut done = 0;
    for _ in 0..5 {
        done += sla.sweep(&app.db, Utc::now(), 500).await.unwrap().escalations;
    }
    let keys = |rows: Vec<(String, String, String)>| -> Vec<String> {
        rows.into_iter().map(|(t, k, kind)| format!("{t} {k} {kind}")).collect()
    };
    assert_eq!(
        keys(escalations(app, late_id).await),
        [
            "first_reply due+0:service_manager breach",
            "first_reply due+480:general_manager escalation",
            "first_reply pct80:dispatcher warning",
            "on_site due+0:service_manager breach",
            "on_site due+480:general_manager escalation",
            "on_site pct80:dispatcher warning",
        ]
    );
    assert_eq!(keys(escalations(app, warned_id).await), ["first_reply pct80:dispatcher warning"]);
    assert!(
        done <= 7,
        "at most the seven steps were recorded by the test's sweeps ({done}); the rest by the server's own"
    );
    // Who was told: the warning of a promise already broken (caught up after downtime) goes to
    // nobody; the manager and the general manager hear of each breach once.
    let mails = sla_mails(app, &manager, late_id).await;
    let to: Vec<&str> = mails.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        to,
        ["gm@demo.example.cn", "gm@demo.example.cn", "manager@demo.example.cn", "manager@demo.example.cn"],
        "{mails:?}"
    );
    assert!(mails.iter().any(|(_, s)| s.contains("服务超时") && s.contains("Breached")), "{mails:?}");
    let warned_mails = sla_mails(app, &manager, warned_id).await;
    assert_eq!(warned_mails.len(), 1, "{warned_mails:?}");
    assert_eq!(warned_mails[0].0, "dispatcher@demo.example.cn", "the region's dispatcher is warned");
    assert!(warned_mails[0].1.contains("时限预警"));

    // A second pass finds nothing more to send.
    let again = sla.sweep(&app.db, Utc::now(), 500).await.unwrap();
    assert_eq!((again.escalations, again.messages), (0, 0));
    assert_eq!(sla_mails(app, &manager, late_id).await.len(), 4);

    // The order shows its broken promises, with the cause the status stood for.
    let (_, o) = app.api(Method::GET, &format!("/api/v1/work-orders/{late_id}"), &manager, None).await;
    let reply = clock(&o, "first_reply");
    // The order was in quality review (a five-day-old unit) when its clocks ran out.
    assert_eq!((reply["state"].as_str(), reply["breach_cause"].as_str()), (Some("breached"), Some("review")));
    assert!(reply["left_minutes"].as_i64().unwrap() < -47 * 60);
    assert_eq!(clock(&o, "resolution")["state"], "running");

    // The figures: both broken promises of the late order are overdue and open.
    let (status, r) = app.api(Method::GET, "/api/v1/sla/compliance?group=target", &manager, None).await;
    assert_eq!(status, 200, "{r}");
    let line = |r: &Value, key: &str| r["lines"].as_array().unwrap().iter().find(|l| l["key"] == key).cloned().unwrap();
    assert!(line(&r, "first_reply")["breached_open"].as_i64().unwrap() >= 1);
    assert!(line(&r, "on_site")["breached_open"].as_i64().unwrap() >= 1);
    let (_, b) = app.api(Method::GET, "/api/v1/sla/breaches", &manager, None).await;
    let mine: Vec<&Value> = b.as_array().unwrap().iter().filter(|x| x["order_id"] == late_id).collect();
    assert_eq!(mine.len(), 2, "{b}");
    let (_, alerts) = app.api(Method::GET, "/api/v1/sla/alerts", &manager, None).await;
    assert!(alerts.as_array().unwrap().iter().any(|a| a["order_id"] == late_id && a["kind"] == "escalation"));
    let (_, mine) = app.api(Method::GET, "/api/v1/sla/alerts", &dispatcher, None).await;
    assert!(
        mine.as_array().unwrap().iter().all(|a| a["notify_role"] == "dispatcher"),
        "a dispatcher reads the warnings sent to dispatchers: {mine}"
    );

    // The service manager corrects a cause; anyone else may not.
    let note = json!({"cause": "customer", "note": "客户电话无法接通"});
    let path = format!("/api/v1/work-orders/{late_id}/clocks/first_reply/breach");
    let (status, _) = app.api(Method::PUT, &path, &dispatcher, Some(note.clone())).await;
    assert_eq!(status, 403);
    let (status, v) = app.api(Method::PUT, &path, &manager, Some(json!({"cause": "weather"}))).await;
    assert_eq!(status, 422, "{v}");
    let (status, _) = app.api(Method::PUT, &path, &manager, Some(note)).await;
    assert_eq!(status, 200);
    let (status, _) = app
        .api(
            Method::PUT,
            &format!("/api/v1/work-orders/{late_id}/clocks/resolution/breach"),
            &manager,
            Some(json!({"cause": "other"})),
        )
        .await;
    assert_eq!(status, 404, "no breach to explain");
    let (_, o) = app.api(Method::GET, &format!("/api/v1/work-orders/{late_id}"), &manager, None).await;
    assert_eq!(
        (clock(&o, "first_reply")["breach_cause"].as_str(), clock(&o, "first_reply")["breach_note"].as_str()),
        (Some("customer"), Some("客户电话无法接通"))
    );
    let admin = app.token("admin").await;
    let (_, audit) =
        app.api(Method::GET, &format!("/api/v1/audit?entity_type=work_order&entity_id={late_id}"), &admin, None).await;
    assert!(audit["items"].as_array().unwrap().iter().any(|e| e["action"] == "annotate_breach"), "{audit}");

    // Kept late: the reply now counts as met late, and nothing more is sent about it.
    let late = step(app, &dispatcher, &o, "reply", json!({"note": "终于联系上"})).await;
    assert_eq!(clock(&late, "first_reply")["state"], "met_late");
    let (_, r) = app.api(Method::GET, "/api/v1/sla/compliance?group=target", &manager, None).await;
    assert!(line(&r, "first_reply")["met_late"].as_i64().unwrap() >= 1);
    let (status, x) = app.api(Method::GET, "/api/v1/sla/breaches/export?format=csv", &manager, None).await;
    assert_eq!(status, 200);
    assert!(x.as_str().unwrap().contains(&format!("WO{late_id:08}")), "{x}");
    let (status, x) =
        app.api(Method::GET, "/api/v1/sla/compliance/export?format=csv&group=month", &manager, None).await;
    assert_eq!(status, 200);
    assert!(x.as_str().unwrap().lines().count() >= 2, "{x}");
    let (status, v) = app.api(Method::GET, "/api/v1/sla/compliance?group=color&from=2026-13-01", &manager, None).await;
    assert_eq!(status, 422);
    for f in ["group", "from"] {
        assert!(v["error"]["fields"][f][0].is_string(), "{f}: {v}");
    }
    let (status, _) = app.api(Method::GET, "/api/v1/sla/compliance", &app.token("engineer").await, None).await;
    assert_eq!(status, 403, "engineers read their own clocks on their orders, not the figures");
}

async fn policies_contracts_and_calendars_are_data(app: &TestApp) {
    let manager = app.token("manager").await;
    let dispatcher = app.token("dispatcher").await;
    let (status, list) = app.api(Method::GET, "/api/v1/sla/policies", &dispatcher, None).await;
    assert_eq!(status, 200);
    let codes: Vec<&str> = list.as_array().unwrap().iter().map(|p| p["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["key-customer", "standard"]);

    // A contract's own promise: on site within 4 working hours, escalated to the engineer first.
    let policy = json!({"code": "ht-24", "name_zh": "成都锦江宾馆维保合同", "applies_to": {"contract_code": "HT-2026-007"},
        "targets": [{"code": "on_site", "name_zh": "到达现场", "minutes": 240, "pause_on": ["waiting_customer"],
                     "basis": "合同第 5 条"},
                    {"code": "resolution", "name_zh": "修复", "minutes": 1440, "mode": "elapsed"}],
        "escalation": [{"after_percent": 50, "notify_role": "engineer"}, {"after_minutes_past_due": 0, "notify_role": "service_manager"}]});
    let (status, _) =
        app.api(Method::POST, "/api/v1/sla/policies", &dispatcher, Some(json!({"policy": policy.clone()}))).await;
    assert_eq!(status, 403, "dispatchers do not write policies");
    let mut bad = policy.clone();
    bad["targets"][0]["minutes"] = json!(0);
    bad["escalation"][0]["notify_role"] = json!("boss");
    bad["calendar"] = json!("no-such-calendar");
    let (status, v) = app.api(Method::POST, "/api/v1/sla/policies", &manager, Some(json!({"policy": bad}))).await;
    assert_eq!(status, 422, "{v}");
    for f in ["policy.targets[0].minutes", "policy.escalation[0].notify_role", "policy.calendar"] {
        assert!(v["error"]["fields"][f][0].is_string(), "{f}: {v}");
    }
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/sla/policies"))
        .bearer_auth(&manager)
        .header("idempotency-key", "ht-24-create")
        .json(&json!({"policy": policy.clone(), "note": "签约"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!((created["code"].as_str(), created["version"].as_i64()), (Some("ht-24"), Some(1)));
    let again = reqwest::Client::new()
        .post(app.url("/api/v1/sla/policies"))
        .bearer_auth(&manager)
        .header("idempotency-key", "ht-24-create")
        .json(&json!({"policy": policy.clone()}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 201, "a retried create answers the same");
    let (status, v) =
        app.api(Method::POST, "/api/v1/sla/policies", &manager, Some(json!({"policy": policy.clone()}))).await;
    assert_eq!(status, 422, "the code is taken: {v}");

    // The contract ties the customer to it while valid.
    let u = unit(app, &manager, "KF35A0010").await;
    let today = Utc::now().date_naive();
    let contract = json!({"code": "HT-2026-007", "customer_id": u["customer_id"], "name": "年度维保",
        "valid_from": (today - Duration::days(10)).to_string(), "valid_to": (today + Duration::days(355)).to_string()});
    let mut wrong = contract.clone();
    wrong["valid_to"] = json!((today - Duration::days(20)).to_string());
    wrong["customer_id"] = json!(999_999);
    let (status, v) = app.api(Method::POST, "/api/v1/sla/contracts", &manager, Some(wrong)).await;
    assert_eq!(status, 422, "{v}");
    for f in ["valid_to", "customer_id"] {
        assert!(v["error"]["fields"][f][0].is_string(), "{f}: {v}");
    }
    let (status, k) = app.api(Method::POST, "/api/v1/sla/contracts", &manager, Some(contract.clone())).await;
    assert_eq!(status, 201, "{k}");
    let o = register(app, &manager, "KF35A0010", json!({})).await;
    let on_site = clock(&o, "on_site");
    assert_eq!((on_site["policy_code"].as_str(), on_site["target_minutes"].as_i64()), (Some("ht-24"), Some(240)));
    assert_eq!(on_site["mode"], "working");
    assert!(
        o["clocks"].as_array().unwrap().iter().all(|c| c["target"] != "first_reply"),
        "the contract sets no reply clock"
    );

    // A new version does not change promises already made.
    let (_, view) = app.api(Method::GET, "/api/v1/sla/policies/ht-24", &manager, None).await;
    let mut next = view["policy"].clone();
    next["targets"][0]["minutes"] = json!(120);
    let (status, v) = app
        .api(Method::PUT, "/api/v1/sla/policies/ht-24", &manager, Some(json!({"version": 1, "policy": next.clone()})))
        .await;
    assert_eq!((status, v["version"].as_i64()), (200, Some(2)), "{v}");
    let (status, _) =
        app.api(Method::PUT, "/api/v1/sla/policies/ht-24", &manager, Some(json!({"version": 1, "policy": next}))).await;
    assert_eq!(status, 409, "a stale edit is refused");
    let id = o["order"]["id"].as_i64().unwrap();
    let (_, same) = app.api(Method::GET, &format!("/api/v1/work-orders/{id}"), &manager, None).await;
    assert_eq!(
        (clock(&same, "on_site")["policy_version"].as_i64(), clock(&same, "on_site")["target_minutes"].as_i64()),
        (Some(1), Some(240))
    );
    let o2 = register(app, &manager, "KF35A0010", json!({"problem": "出风口结霜"})).await;
    assert_eq!(
        (clock(&o2, "on_site")["policy_version"].as_i64(), clock(&o2, "on_site")["target_minutes"].as_i64()),
        (Some(2), Some(120))
    );

    // Switching the built-in standard off leaves class C customers without promises.
    let (_, std) = app.api(Method::GET, "/api/v1/sla/policies/standard", &manager, None).await;
    let (status, v) = app
        .api(
            Method::PUT,
            "/api/v1/sla/policies/standard",
            &manager,
            Some(json!({"version": 1, "policy": std["policy"], "active": false, "note": "试运行"})),
        )
        .await;
    assert_eq!((status, v["version"].as_i64(), v["active"].as_bool()), (200, Some(2), Some(false)), "{v}");
    let o3 = register(app, &dispatcher, "KF35A0001", json!({})).await;
    assert!(o3["clocks"].as_array().unwrap().is_empty(), "{}", o3["clocks"]);

    // Calendars of regions and engineers.
    let (status, v) =
        app.api(Method::PUT, "/api/v1/regions/southwest/calendar", &manager, Some(json!({"calendar": "nope"}))).await;
    assert_eq!(status, 422, "{v}");
    assert!(v["error"]["fields"]["calendar"][0].is_string());
    let (status, _) =
        app.api(Method::PUT, "/api/v1/regions/nowhere/calendar", &manager, Some(json!({"calendar": "always"}))).await;
    assert_eq!(status, 404);
    let (status, _) = app
        .api(Method::PUT, "/api/v1/regions/southwest/calendar", &dispatcher, Some(json!({"calendar": "always"})))
        .await;
    assert_eq!(status, 403);
    let (status, _) =
        app.api(Method::PUT, "/api/v1/regions/southwest/calendar", &manager, Some(json!({"calendar": "always"}))).await;
    assert_eq!(status, 200);
    let mut p3 = policy.clone();
    p3["code"] = json!("region-test");
    p3["applies_to"] = json!({"contract_code": "HT-2026-007", "priority": "urgent"});
    let (status, _) = app.api(Method::POST, "/api/v1/sla/policies", &manager, Some(json!({"policy": p3}))).await;
    assert_eq!(status, 201);
    let o4 = register(app, &manager, "KF35A0010", json!({"priority": "urgent"})).await;
    let c4 = clock(&o4, "on_site");
    assert_eq!(
        (c4["policy_code"].as_str(), c4["calendar_code"].as_str()),
        (Some("region-test"), Some("always")),
        "{c4}"
    );
    assert_eq!(at(&c4["due_at"]) - at(&c4["started_at"]), Duration::minutes(240), "every minute works on `always`");

    let e2 = user_id(app, "engineer2").await;
    let (status, _) = app
        .api(Method::PUT, &format!("/api/v1/engineers/{e2}/calendar"), &manager, Some(json!({"calendar": "always"})))
        .await;
    assert_eq!(status, 200);
    let gm = user_id(app, "gm").await;
    let (status, _) = app
        .api(Method::PUT, &format!("/api/v1/engineers/{gm}/calendar"), &manager, Some(json!({"calendar": "always"})))
        .await;
    assert_eq!(status, 404, "only engineers have a dispatch calendar");
    let (_, a) = app.api(Method::GET, "/api/v1/sla/calendars", &manager, None).await;
    assert_eq!(a["default_calendar"], "cn-standard");
    let sw = a["regions"].as_array().unwrap().iter().find(|r| r["key"] == "southwest").unwrap();
    assert_eq!(sw["calendar_code"], "always");
    let key = e2.to_string();
    let me = a["engineers"].as_array().unwrap().iter().find(|r| r["key"] == key.as_str()).unwrap();
    assert_eq!(me["calendar_code"], "always");
    let admin = app.token("admin").await;
    let (_, audit) = app.api(Method::GET, "/api/v1/audit?entity_type=sla_policy", &admin, None).await;
    assert!(audit["items"].as_array().unwrap().len() >= 4, "{audit}");
    let (_, audit) = app.api(Method::GET, "/api/v1/audit?entity_type=service_contract", &admin, None).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);
    let (status, list) = app.api(Method::GET, "/api/v1/sla/contracts", &dispatcher, None).await;
    assert_eq!(status, 200);
    assert!(list.as_array().unwrap().is_empty(), "the east dispatcher does not see a southwest customer's contract");
    let (_, list) = app.api(Method::GET, "/api/v1/sla/contracts", &manager, None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

async fn lists_sort_by_urgency_and_pages_show_the_clocks(app: &TestApp) {
    let dispatcher = app.token("dispatcher").await;
    let a = register(app, &dispatcher, "KF35A0001", json!({})).await;
    let b = register(app, &dispatcher, "FS10C0100", json!({})).await;
    let c = register(app, &dispatcher, "KF35A0001", json!({"problem": "遥控器失灵"})).await;
    let (a_id, b_id, c_id) =
        (a["order"]["id"].as_i64().unwrap(), b["order"]["id"].as_i64().unwrap(), c["order"]["id"].as_i64().unwrap());
    // b came in (as far as its clocks know) two days ago and is overdue.
    backdate(app, b_id, Duration::hours(30)).await;
    {
        let mut tx = app.db.begin().await.unwrap();
        aftersales::on_conn!(tx.conn(), |e| {
            sqlx::query("UPDATE work_orders SET sla_due_at = $1 WHERE id = $2")
                .bind(Utc::now() - Duration::hours(6))
                .bind(b_id)
                .execute(&mut *e)
                .await
                .unwrap();
        });
        tx.commit().await.unwrap();
    }
    let (status, v) = app.api(Method::GET, "/api/v1/work-orders?sort=due&limit=2", &dispatcher, None).await;
    assert_eq!(status, 200, "{v}");
    let ids: Vec<i64> = v["items"].as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect();
    assert_eq!(ids[0], b_id, "the overdue order first: {v}");
    let next = v["next_after"].as_str().unwrap().to_string();
    let (_, page2) = app
        .api(
            Method::GET,
            &format!(
                "/api/v1/work-orders?sort=due&limit=50&after={}",
                next.replace('+', "%2B").replace(':', "%3A").replace('~', "%7E")
            ),
            &dispatcher,
            None,
        )
        .await;
    let later: Vec<i64> = page2["items"].as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect();
    assert!(!later.contains(&ids[0]) && !later.contains(&ids[1]), "pages do not overlap: {ids:?} {later:?}");
    let all: HashSet<i64> = ids.iter().chain(&later).copied().collect();
    assert!(all.contains(&a_id) && all.contains(&c_id));
    let dues: Vec<DateTime<Utc>> = page2["items"].as_array().unwrap().iter().map(|o| at(&o["sla_due_at"])).collect();
    assert!(dues.windows(2).all(|w| w[0] <= w[1]), "most urgent first");
    let (status, v) = app.api(Method::GET, "/api/v1/work-orders?sort=sideways", &dispatcher, None).await;
    assert_eq!(status, 422, "{v}");
    let (_, overdue) = app.api(Method::GET, "/api/v1/work-orders?overdue=1&limit=200", &dispatcher, None).await;
    let overdue: Vec<i64> = overdue["items"].as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect();
    assert!(overdue.contains(&b_id) && !overdue.contains(&a_id), "{overdue:?}");

    // The pages: the order's clocks, the list's colour, the board, the report and the setup pages.
    let web = app.login("manager", aftersales::demo::DEMO_PASSWORD).await;
    let get = |path: String| {
        let web = web.clone();
        async move {
            let res = web.get(app.url(&path)).send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            res.text().await.unwrap()
        }
    };
    let page = get(format!("/work-orders/{a_id}")).await;
    assert!(
        page.contains("id=\"clock-first_reply\"") && page.contains("首次答复") && page.contains("standard v1"),
        "order page"
    );
    assert!(page.contains("id=\"form-reply\"") && page.contains("id=\"form-pause\""));
    let page = get("/work-orders?sort=due".into()).await;
    assert!(page.contains("clock-breached"), "the overdue order is red in the list");
    let page = get("/dispatch".into()).await;
    assert!(page.contains("clock-breached"));
    let page = get("/sla".into()).await;
    assert!(page.contains("id=\"sla-compliance\"") && page.contains("id=\"sla-breaches\""));
    let page = get("/sla?group=month".into()).await;
    assert!(page.contains("id=\"sla-total\""));
    for path in ["/sla/policies", "/sla/policies/standard", "/sla/contracts", "/sla/calendars"] {
        let page = get(path.into()).await;
        assert!(page.contains("<h1"), "{path}");
    }
    let res = web.get(app.url("/sla/export?what=breaches&format=xlsx")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.bytes().await.unwrap().starts_with(b"PK"), "an .xlsx is a zip");
    // The policy editor names what is wrong and keeps what was typed.
    let res = web
        .post(app.url("/sla/policies/standard"))
        .header("origin", app.url(""))
        .form(&[("version", "1"), ("policy", "{\"name_zh\": \"标准\", \"targets\": []}"), ("active", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("policy.targets") && page.contains("标准"), "errors by field, text kept");
    // Engineers do not see the report.
    let eng = app.login("engineer", aftersales::demo::DEMO_PASSWORD).await;
    let res = eng.get(app.url("/sla")).send().await.unwrap();
    assert_eq!(res.status(), 403);
}

async fn several_sweepers_send_each_step_exactly_once(app: &TestApp) {
    // Two more instances on the same database sweep every 50 ms in batches of 4, and four
    // sweepers run here at once: every clock is claimed by one of them at a time.
    let fast = |c: &mut aftersales::config::Config| {
        c.sla_sweep_ms = 50;
        c.sla_sweep_batch = 4;
    };
    let one = app.another_instance_with(fast).await;
    let two = app.another_instance_with(fast).await;
    let dispatcher = app.token("dispatcher").await;
    let manager = app.token("manager").await;
    let n = if app.backend == Backend::Postgres { 24 } else { 12 };
    let mut ids = vec![];
    for i in 0..n {
        let serial = if i % 2 == 0 { "KF35A0001" } else { "FS10C0100" };
        let o = register(app, &dispatcher, serial, json!({"problem": format!("第 {i} 台不制冷")})).await;
        ids.push(o["order"]["id"].as_i64().unwrap());
    }
    for id in &ids {
        backdate(app, *id, Duration::hours(72)).await;
    }
    let mut tasks = vec![];
    for _ in 0..4 {
        let db = app.db.clone();
        tasks.push(tokio::spawn(async move {
            let sla = sweeper();
            let mut recorded = 0;
            for _ in 0..40 {
                recorded += sla.sweep(&db, Utc::now(), 3).await.unwrap().escalations;
            }
            recorded
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // Whatever is left is the instances' work; wait until no clock of these orders is due.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let mut due = 0;
        for id in &ids {
            due += escalations(app, *id).await.len();
        }
        if due == ids.len() * 6 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "only {due} of {} steps recorded", ids.len() * 6);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut per: BTreeMap<(String, String), usize> = BTreeMap::new();
    for id in &ids {
        assert_eq!(escalations(app, *id).await.len(), 6);
        for (to, subject) in sla_mails(app, &manager, *id).await {
            *per.entry((to, subject)).or_default() += 1;
        }
    }
    assert_eq!(per.len(), ids.len() * 4, "two breaches and two escalations each, to the manager and the GM");
    assert!(per.values().all(|&c| c == 1), "no message twice: {per:?}");
    one.stop().await;
    two.stop().await;
}
