//! Service requests and work orders as their users meet them: intake with the entitlement
//! decision, dispatch, the engineer's steps and the signed report, quotes answered from the
//! customer's link, review, approvals, repeat repairs, access, conflicts — on both databases.

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::TestApp;

both!(
    a_call_becomes_a_signed_report,
    paid_work_waits_for_the_customers_answer_to_the_quote,
    returns_go_to_quality_review_first,
    extensions_are_approved_by_the_service_manager,
    repeat_repairs_are_flagged_and_fed_to_the_entitlement,
    bad_requests_change_nothing_and_creates_are_idempotent,
    engineers_see_only_their_own_orders,
    two_dispatchers_assigning_at_once_get_one_conflict,
    photos_are_checked_and_stored_outside_the_database,
    a_customer_reports_a_problem_from_the_warranty_card,
    lists_filter_and_export,
    the_fault_catalogue_and_skills_are_maintained,
    requests_arriving_together_are_each_written_whole,
    a_caller_not_in_the_archive_is_created_at_intake,
);

/// The dispatcher on the intake page: the caller is not in the archive, so the customer and
/// then the product are created right there (with the archive's checks), and the request goes on.
async fn a_caller_not_in_the_archive_is_created_at_intake(app: &TestApp) {
    let web = app.login("dispatcher", aftersales::demo::DEMO_PASSWORD).await;
    let origin = app.url("");
    let page = web.get(app.url("/work-orders/new?q=13955550001")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"intake-new-customer\" open"), "nothing found: the form is open");
    assert!(page.contains("value=\"13955550001\""), "the searched phone is filled in");
    let post = |path: &str, form: Vec<(&str, &str)>| {
        let req = web.post(app.url(path)).header("origin", &origin).form(&form);
        async move { req.send().await.unwrap() }
    };
    // The phone of a customer already there: a possible duplicate, nothing created.
    let res = post(
        "/work-orders/new/customer",
        vec![
            ("q", "13912345678"),
            ("name", "张晓明"),
            ("kind", "person"),
            ("phone", "13912345678"),
            ("region", "east"),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("intake-confirm-duplicate") && page.contains("张晓明"), "offers to create anyway");
    let new_customer = vec![
        ("q", "13955550001"),
        ("name", "苏州园区 陈先生"),
        ("kind", "person"),
        ("phone", "13955550001"),
        ("region", "east"),
        ("province", "江苏省"),
        ("city", "苏州市"),
        ("address", "星湖街 1 号"),
    ];
    let res = post("/work-orders/new/customer", new_customer).await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/work-orders/new?customer_id="), "{to}");
    let customer_id: i64 = to.rsplit('=').next().unwrap().parse().unwrap();
    // A bad serial keeps what was typed; a good one registers the unit and picks it.
    let cid = customer_id.to_string();
    let res = post(
        "/work-orders/new/unit",
        vec![("customer_id", cid.as_str()), ("serial", "x"), ("model", "HX-KF35"), ("sale_date", "2026-11-30")],
    )
    .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("id=\"intake-new-unit\" open") && page.contains("2026-11-30"),
        "the unit form keeps its values"
    );
    let res = post(
        "/work-orders/new/unit",
        vec![
            ("customer_id", cid.as_str()),
            ("serial", "KF35Z9001"),
            ("model", "HX-KF35"),
            ("sale_date", "2026-11-30"),
            ("invoice_date", "2026-11-30"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/work-orders/new?unit_id="), "{to}");
    let page = web.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"intake-form\"") && page.contains("苏州园区 陈先生") && page.contains("KF35Z9001"));
    assert!(page.contains("id=\"intake-entitlement\""), "the new unit's warranty is shown at once");
    // The request itself.
    let unit_id = to.rsplit('=').next().unwrap();
    let res = post(
        "/work-orders",
        vec![
            ("customer_id", cid.as_str()),
            ("unit_id", unit_id),
            ("channel", "hotline"),
            ("kind", "repair"),
            ("priority", "normal"),
            ("problem", "新装空调不制冷"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let token = app.token("dispatcher").await;
    let (_, list) = app.api(Method::GET, &format!("/api/v1/work-orders?customer_id={customer_id}"), &token, None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let admin = app.token("admin").await;
    let (_, audit) = app
        .api(Method::GET, &format!("/api/v1/audit?entity_type=customer&entity_id={customer_id}"), &admin, None)
        .await;
    assert_eq!(audit["items"][0]["action"], "create", "created through the archive's own use case: {audit}");
}

async fn the_fault_catalogue_and_skills_are_maintained(app: &TestApp) {
    let quality = app.token("quality").await;
    let engineer = app.token("engineer").await;
    let manager = app.token("manager").await;
    let body = json!({"name_zh": "电源板烧毁", "name_en": "power board burnt"});
    let (status, v) =
        app.api(Method::PUT, "/api/v1/fault-codes/air_conditioner/ac-e9", &quality, Some(body.clone())).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["code"], "AC-E9", "codes are upper-case");
    let (status, _) =
        app.api(Method::PUT, "/api/v1/fault-codes/air_conditioner/AC-E8", &engineer, Some(body.clone())).await;
    assert_eq!(status, 403);
    let (status, v) =
        app.api(Method::PUT, "/api/v1/fault-codes/boats/A%20B", &quality, Some(json!({"name_zh": ""}))).await;
    assert_eq!(status, 422);
    for f in ["code", "name_zh", "category"] {
        assert!(v["error"]["fields"][f][0].is_string(), "{f}: {v}");
    }
    let (_, codes) = app.api(Method::GET, "/api/v1/fault-codes?category=air_conditioner", &engineer, None).await;
    assert!(codes.as_array().unwrap().iter().any(|c| c["code"] == "AC-E9" && c["name_zh"] == "电源板烧毁"));

    // Skills decide the suggestions: engineer2 learns compressors, engineer forgets them.
    let (e1, e2) = (user_id(app, "engineer").await, user_id(app, "engineer2").await);
    let (status, v) = app
        .api(
            Method::PUT,
            &format!("/api/v1/engineers/{e2}/skills"),
            &manager,
            Some(json!({"categories": ["compressor"]})),
        )
        .await;
    assert_eq!((status, v.clone()), (200, json!(["compressor"])));
    app.api(Method::PUT, &format!("/api/v1/engineers/{e1}/skills"), &manager, Some(json!({"categories": []}))).await;
    let (status, _) = app
        .api(Method::PUT, &format!("/api/v1/engineers/{e1}/skills"), &manager, Some(json!({"categories": ["boats"]})))
        .await;
    assert_eq!(status, 422);
    let (status, _) = app
        .api(Method::PUT, &format!("/api/v1/engineers/{e1}/skills"), &quality, Some(json!({"categories": []})))
        .await;
    assert_eq!(status, 403);
    let o = register(app, &manager, "LG120B0008", "repair", "油压低").await;
    let (_, s) =
        app.api(Method::GET, &format!("/api/v1/work-orders/{}/suggestions", o["order"]["id"]), &manager, None).await;
    assert_eq!(s[0]["engineer"]["user_id"], e2, "skill outweighs the empty region match: {s}");
    let web = app.login("manager", aftersales::demo::DEMO_PASSWORD).await;
    let page = web.get(app.url("/work-orders/setup")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("电源板烧毁") && page.contains("刘洋"), "the setup page lists codes and engineers");
    let res = web
        .post(app.url(&format!("/work-orders/setup/skills/{e1}")))
        .header("origin", app.url(""))
        .form(&[("skill", "fan"), ("skill", "vehicle")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (_, list) = app.api(Method::GET, "/api/v1/engineers", &manager, None).await;
    let me = list.as_array().unwrap().iter().find(|e| e["user_id"] == e1).unwrap();
    assert_eq!(me["skills"], "fan,vehicle");
}

/// A PNG as the signature pad sends it (a real 1×1 image).
pub fn signature_data_url() -> String {
    let png: [u8; 67] = [
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00,
        0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d,
        0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png))
}

async fn unit(app: &TestApp, token: &str, serial: &str) -> Value {
    let (status, v) = app.api(Method::GET, &format!("/api/v1/units?number={serial}"), token, None).await;
    assert_eq!(status, 200, "{v}");
    v["items"][0].clone()
}

pub async fn user_id(app: &TestApp, login: &str) -> i64 {
    let admin = app.token("admin").await;
    let (_, v) = app.api(Method::GET, &format!("/api/v1/users?q={login}"), &admin, None).await;
    v["items"].as_array().unwrap().iter().find(|u| u["login"] == login).unwrap()["id"].as_i64().unwrap()
}

/// Registers a request for the unit with `serial` and returns the order.
async fn register(app: &TestApp, token: &str, serial: &str, kind: &str, problem: &str) -> Value {
    let u = unit(app, token, serial).await;
    let body = json!({"channel": "hotline", "kind": kind, "priority": "high", "customer_id": u["customer_id"],
        "unit_id": u["id"], "problem": problem, "requested_at": "2026-12-03T10:00"});
    let (status, v) = app.api(Method::POST, "/api/v1/work-orders", token, Some(body)).await;
    assert_eq!(status, 201, "{v}");
    v
}

async fn act(app: &TestApp, token: &str, order: &Value, action: &str, mut body: Value) -> (u16, Value) {
    let id = order["order"]["id"].as_i64().unwrap();
    body["version"] = order["order"]["version"].clone();
    app.api(Method::POST, &format!("/api/v1/work-orders/{id}/actions/{action}"), token, Some(body)).await
}

/// Takes the action and expects it to work; returns the order afterwards.
async fn step(app: &TestApp, token: &str, order: &Value, action: &str, body: Value) -> Value {
    let (status, v) = act(app, token, order, action, body).await;
    assert_eq!(status, 200, "{action}: {v}");
    v
}

async fn a_call_becomes_a_signed_report(app: &TestApp) {
    let dispatcher = app.token("dispatcher").await;
    let engineer = app.token("engineer").await;
    let quality = app.token("quality").await;
    // KF35A0001 was sold 5 days ago: the entitlement decision is made at intake, and a refund
    // within 7 days sends the request to the quality department first (seeds 篇四 3.3).
    let o = register(app, &dispatcher, "KF35A0001", "repair", "空调不制冷，室外机有异响").await;
    assert_eq!(o["order"]["entitlement"], "refund", "within 7 days a refund is possible: {o}");
    assert_eq!(
        (o["order"]["status"].as_str(), o["order"]["review_reason"].as_str()),
        (Some("review"), Some("exchange_or_refund"))
    );
    assert!(o["order"]["decision_id"].is_i64());
    assert!(o["order"]["repeat_of"].is_i64(), "the demo's call about the same unit not cooling: {o}");
    let o = step(
        app,
        &quality,
        &o,
        "review",
        json!({"assessment": "冷媒泄漏可修复，客户同意维修", "plan": "上门检漏补冷媒"}),
    )
    .await;
    assert_eq!(o["order"]["status"], "open");
    assert!(o["number"].as_str().unwrap().starts_with("WO"));
    assert_eq!(o["order"]["contact_name"], "杭州西溪花园业主 张晓明", "defaults to the customer");
    assert!(o["order"]["address"].as_str().unwrap().contains("西溪花园"));
    let id = o["order"]["id"].as_i64().unwrap();
    let (_, decision) = app
        .api(Method::GET, &format!("/api/v1/entitlement/decisions/{}", o["order"]["decision_id"]), &dispatcher, None)
        .await;
    assert_eq!(decision["work_order_id"], id, "the decision points back at the order: {decision}");

    // Dispatch suggests the east-China engineer skilled in air conditioners first.
    let engineer_id = user_id(app, "engineer").await;
    let (status, s) = app.api(Method::GET, &format!("/api/v1/work-orders/{id}/suggestions"), &dispatcher, None).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s[0]["engineer"]["user_id"], engineer_id, "{s}");
    assert_eq!((s[0]["skilled"].as_bool(), s[0]["same_region"].as_bool()), (Some(true), Some(true)));
    // The engineer may not assign; the dispatcher may not accept for the engineer.
    let (status, v) = act(app, &engineer, &o, "assign", json!({"engineer_id": engineer_id})).await;
    assert!(status == 404 || status == 403, "an unassigned order is not the engineer's: {status} {v}");
    let o =
        step(app, &dispatcher, &o, "assign", json!({"engineer_id": engineer_id, "scheduled_at": "2026-12-03T14:00"}))
            .await;
    assert_eq!(o["order"]["status"], "assigned");
    assert_eq!(o["order"]["scheduled_at"], "2026-12-03T06:00:00Z", "local time, stored in UTC");
    let (status, v) = act(app, &dispatcher, &o, "accept", json!({})).await;
    assert_eq!(status, 422, "{v}");
    assert!(v["error"]["fields"]["action"][0].as_str().unwrap().contains("接单"), "{v}");

    // The engineer's steps; a skipped step is refused with the reason.
    let (_, mine) = app.api(Method::GET, &format!("/api/v1/work-orders/{id}"), &engineer, None).await;
    // Besides the flow's steps, the engineer may record an answer to the customer or a wait.
    assert_eq!(mine["actions"], json!(["accept", "decline", "send_quote", "reply", "pause"]), "{mine}");
    let (status, v) = act(app, &engineer, &mine, "complete", json!({})).await;
    assert_eq!(status, 422);
    assert!(v["error"]["fields"]["action"][0].as_str().unwrap().contains("已派工"), "{v}");
    let o = step(app, &engineer, &mine, "accept", json!({})).await;
    // A stale version is a conflict, not a silent overwrite.
    let (status, _) = act(app, &engineer, &mine, "start_travel", json!({})).await;
    assert_eq!(status, 409);
    let o = step(app, &engineer, &o, "start_travel", json!({})).await;
    let o = step(app, &engineer, &o, "arrive", json!({})).await;
    assert_eq!(o["order"]["status"], "on_site");
    assert!(o["order"]["arrived_at"].is_string());

    // The report: missing work, signature and an unknown fault code are named together.
    let (status, v) = act(
        app,
        &engineer,
        &o,
        "complete",
        json!({"fault_code": "XX-9", "signature": "data:image/png;base64,PHN2Zz4="}),
    )
    .await;
    assert_eq!(status, 422);
    for f in ["work_done", "signed_by", "signature", "fault_code"] {
        assert!(v["error"]["fields"][f][0].is_string(), "{f}: {v}");
    }
    let (_, still) = app.api(Method::GET, &format!("/api/v1/work-orders/{id}"), &engineer, None).await;
    assert_eq!(still["order"]["status"], "on_site", "a refused report changes nothing");
    let report = json!({"fault_code": "AC-E1", "diagnosis": "冷媒不足", "work_done": "补充冷媒 R32，检漏", "labour_minutes": 90,
        "travel_km": 12, "signed_by": "张晓明", "signature": signature_data_url(), "rating": 5, "rating_comment": "很及时"});
    let o = step(app, &engineer, &o, "complete", report).await;
    assert_eq!(o["order"]["status"], "completed");
    let sig = o["order"]["signature_id"].as_i64().expect("the signature is stored");
    assert_eq!(o["order"]["rating"], 5);

    // The signature is served to staff, from the file store, as the PNG it was.
    let res = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/attachments/{sig}")))
        .bearer_auth(&dispatcher)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "image/png");
    assert!(res.bytes().await.unwrap().starts_with(b"\x89PNG"));
    let stored: Vec<_> = walk(&app.files_dir);
    assert_eq!(stored.len(), 1, "one file, outside the database: {stored:?}");

    // The printable report and the customer's tracking page.
    let web = app.login("dispatcher", aftersales::demo::DEMO_PASSWORD).await;
    let html = web.get(app.url(&format!("/work-orders/{id}/report"))).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains("售后服务报告单")
            && html.contains("补充冷媒")
            && html.contains("张晓明")
            && html.contains("不制冷/制冷差")
    );
    let tracking = o["tracking_url"].as_str().unwrap().to_string();
    assert!(tracking.starts_with(&app.url("/t/")), "{tracking}");
    let page = reqwest::get(&tracking).await.unwrap().text().await.unwrap();
    assert!(page.contains("已完工") && page.contains("张伟") && page.contains("补充冷媒"), "{page}");
    assert!(!page.contains("nav-customers"), "no staff navigation on the customer's page");
    let bad = reqwest::get(app.url("/t/0123456789abcdef0123456789abcdef")).await.unwrap();
    assert_eq!(bad.status(), 404);

    // Close; every transition is on the time line and in the audit trail with who.
    let o = step(app, &dispatcher, &o, "close", json!({})).await;
    let actions: Vec<&str> = o["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "review", "assign", "accept", "start_travel", "arrive", "complete", "close"]);
    assert_eq!(o["events"][3]["actor_label"], "engineer");
    let manager = app.token("manager").await;
    let (_, audit) =
        app.api(Method::GET, &format!("/api/v1/audit?entity_type=work_order&entity_id={id}"), &manager, None).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 8, "{audit}");
    let (status, v) = act(app, &dispatcher, &o, "cancel", json!({"note": "x"})).await;
    assert_eq!(status, 422, "a closed order cannot be cancelled: {v}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
        }
    }
    out
}

/// Signs in and lets the customer (no account) post the quote form of the tracking page.
async fn answer_quote(app: &TestApp, tracking: &str, approve: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{tracking}/quote"))
        .header("origin", app.url(""))
        .form(&[("approve", approve), ("name", "王建华")])
        .send()
        .await
        .unwrap()
}

async fn paid_work_waits_for_the_customers_answer_to_the_quote(app: &TestApp) {
    // The Beijing customer is outside the east-China dispatcher's region: the manager registers.
    let dispatcher = app.token("manager").await;
    let engineer = app.token("engineer").await;
    let engineer_id = user_id(app, "engineer").await;
    // LG120B0008 was sold 800 days ago: out of warranty, paid service.
    let o = register(app, &dispatcher, "LG120B0008", "repair", "螺杆机排气温度高报警").await;
    assert_eq!(o["order"]["entitlement"], "paid", "{o}");
    let o = step(app, &dispatcher, &o, "assign", json!({"engineer_id": engineer_id})).await;
    let (_, o) = app.api(Method::GET, &format!("/api/v1/work-orders/{}", o["order"]["id"]), &engineer, None).await;
    let o = step(app, &engineer, &o, "accept", json!({})).await;
    let o = step(app, &engineer, &o, "arrive", json!({})).await;
    let report = json!({"fault_code": "CP-E1", "work_done": "清洗冷凝器", "signed_by": "王建华", "signature": signature_data_url()});
    let (status, v) = act(app, &engineer, &o, "complete", report.clone()).await;
    assert_eq!(status, 422);
    assert!(v["error"]["fields"]["action"][0].as_str().unwrap().contains("报价"), "{v}");
    let (status, v) = act(app, &engineer, &o, "send_quote", json!({"description": "清洗冷凝器"})).await;
    assert_eq!(status, 422, "an all-zero quote: {v}");
    let o = step(app, &engineer, &o, "send_quote", json!({"parts_cents": 120000, "labour_cents": 30000, "travel_cents": 5000, "description": "更换排气温度传感器，清洗冷凝器"})).await;
    assert_eq!(o["order"]["status"], "waiting_customer");
    assert_eq!(o["quotes"][0]["status"], "pending");

    // The customer sees the quote on the tracking link and approves it there.
    let tracking = o["tracking_url"].as_str().unwrap().to_string();
    let page = reqwest::get(&tracking).await.unwrap().text().await.unwrap();
    assert!(page.contains("¥1550.00") && page.contains("更换排气温度传感器"), "{page}");
    let res = answer_quote(app, &tracking, "yes").await;
    assert_eq!(res.status(), 303);
    let (_, o) = app.api(Method::GET, &format!("/api/v1/work-orders/{}", o["order"]["id"]), &engineer, None).await;
    assert_eq!(o["order"]["status"], "on_site", "back where the quote was sent: {o}");
    assert_eq!(o["quotes"][0]["status"], "approved");
    assert_eq!(
        (o["quotes"][0]["decided_via"].as_str(), o["quotes"][0]["decided_by"].as_str()),
        (Some("link"), Some("王建华"))
    );
    let last = o["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["action"].as_str(), last["actor_label"].as_str()),
        (Some("decide_quote"), Some("customer: 王建华"))
    );
    // Answering twice changes nothing.
    let again = answer_quote(app, &tracking, "no").await;
    assert_eq!(again.status(), 422);
    let o = step(app, &engineer, &o, "complete", report).await;
    assert_eq!(o["order"]["status"], "completed");
}

async fn returns_go_to_quality_review_first(app: &TestApp) {
    let dispatcher = app.token("dispatcher").await;
    let quality = app.token("quality").await;
    let o = register(app, &dispatcher, "KF35A0002", "return", "客户要求退货").await;
    assert_eq!(o["order"]["status"], "review", "{o}");
    assert_eq!(o["order"]["review_reason"], "kind:return");
    let (status, v) = act(app, &dispatcher, &o, "review", json!({"assessment": "a", "plan": "b"})).await;
    assert_eq!(status, 422, "the office does not review: {v}");
    let (status, v) = act(app, &dispatcher, &o, "assign", json!({"engineer_id": user_id(app, "engineer").await})).await;
    assert_eq!(status, 422, "no dispatch before the review: {v}");
    let (status, v) = act(app, &quality, &o, "review", json!({"assessment": "", "plan": ""})).await;
    assert_eq!(status, 422);
    assert!(v["error"]["fields"]["assessment"][0].is_string() && v["error"]["fields"]["plan"][0].is_string());
    let o = step(
        app,
        &quality,
        &o,
        "review",
        json!({"assessment": "外观完好，压缩机异响属实", "plan": "上门检测后按三包换货"}),
    )
    .await;
    assert_eq!(o["order"]["status"], "open");
    assert_eq!(o["order"]["review_plan"], "上门检测后按三包换货");
}

async fn extensions_are_approved_by_the_service_manager(app: &TestApp) {
    let dispatcher = app.token("dispatcher").await;
    let engineer = app.token("engineer").await;
    let manager = app.token("manager").await;
    let o = register(app, &dispatcher, "FS10C0100", "repair", "遥控失灵").await;
    let o = step(app, &dispatcher, &o, "assign", json!({"engineer_id": user_id(app, "engineer").await})).await;
    let (_, o) = app.api(Method::GET, &format!("/api/v1/work-orders/{}", o["order"]["id"]), &engineer, None).await;
    let o = step(app, &engineer, &o, "accept", json!({})).await;
    let o = step(app, &engineer, &o, "arrive", json!({})).await;
    let (status, v) = act(app, &engineer, &o, "request_approval", json!({"approval_kind": "extension"})).await;
    assert_eq!(status, 422);
    assert!(v["error"]["fields"]["note"][0].is_string() && v["error"]["fields"]["new_due"][0].is_string(), "{v}");
    let o = step(
        app,
        &engineer,
        &o,
        "request_approval",
        json!({"approval_kind": "extension", "note": "控制器需返厂", "new_due": "2030-01-10T10:00"}),
    )
    .await;
    assert_eq!(o["order"]["status"], "waiting_approval");
    let (status, _) = act(app, &dispatcher, &o, "decide_approval", json!({"approve": true})).await;
    assert_eq!(status, 422, "only managers decide");
    let (_, o) = app.api(Method::GET, &format!("/api/v1/work-orders/{}", o["order"]["id"]), &manager, None).await;
    assert!(o["actions"].as_array().unwrap().contains(&json!("decide_approval")), "{o}");
    let o = step(app, &manager, &o, "decide_approval", json!({"approve": true, "note": "同意"})).await;
    assert_eq!(o["order"]["status"], "on_site");
    assert_eq!(o["approvals"][0]["status"], "approved");
    assert_eq!(o["order"]["scheduled_at"], "2030-01-10T02:00:00Z", "the visit moves to the approved date");
}

async fn repeat_repairs_are_flagged_and_fed_to_the_entitlement(app: &TestApp) {
    let dispatcher = app.token("dispatcher").await;
    let engineer = app.token("engineer").await;
    let engineer_id = user_id(app, "engineer").await;
    let first = register(app, &dispatcher, "LG120B0007", "repair", "压缩机不启动").await;
    assert!(first["order"]["repeat_of"].is_null());
    let o = step(app, &dispatcher, &first, "assign", json!({"engineer_id": engineer_id})).await;
    let (_, o) = app.api(Method::GET, &format!("/api/v1/work-orders/{}", o["order"]["id"]), &engineer, None).await;
    let o = step(app, &engineer, &o, "accept", json!({})).await;
    let o = step(app, &engineer, &o, "arrive", json!({})).await;
    let report = json!({"fault_code": "CP-E3", "work_done": "更换热继电器", "signed_by": "王建华", "signature": signature_data_url()});
    step(app, &engineer, &o, "complete", report).await;
    let second = register(app, &dispatcher, "LG120B0007", "repair", "压缩机又不启动了").await;
    assert_eq!(second["order"]["repeat_of"], first["order"]["id"], "{second}");
    let (_, d) = app
        .api(
            Method::GET,
            &format!("/api/v1/entitlement/decisions/{}", second["order"]["decision_id"]),
            &dispatcher,
            None,
        )
        .await;
    let history = &d["request"]["history"];
    assert_eq!(history.as_array().map(Vec::len), Some(1), "the completed repair is history: {d}");
    assert_eq!(history[0]["same_fault"], true);
    let other = register(app, &dispatcher, "LG120B0007", "repair", "机组外壳掉漆").await;
    assert!(other["order"]["repeat_of"].is_null(), "another problem is no repeat");
    let web = app.login("dispatcher", aftersales::demo::DEMO_PASSWORD).await;
    let html = web
        .get(app.url(&format!("/work-orders/{}", second["order"]["id"])))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("疑似重复维修"), "the order page warns");

    // The completed repair reaches quality as product feedback, per model and fault code.
    let quality = app.token("quality").await;
    let (status, fb) = app.api(Method::GET, "/api/v1/quality/feedback", &quality, None).await;
    assert_eq!(status, 200, "{fb}");
    let row = fb.as_array().unwrap().iter().find(|r| r["fault_code"] == "CP-E3").cloned().unwrap();
    assert_eq!(
        (row["model_code"].as_str(), row["orders"].as_i64(), row["units"].as_i64()),
        (Some("HX-LG120"), Some(1), Some(1))
    );
    let (_, drill) = app.api(Method::GET, "/api/v1/work-orders?model=HX-LG120&fault_code=CP-E3", &quality, None).await;
    let ids: Vec<&Value> = drill["items"].as_array().unwrap().iter().map(|o| &o["id"]).collect();
    assert_eq!(ids, [&first["order"]["id"]], "{drill}");
    let (status, _) = app.api(Method::GET, "/api/v1/quality/feedback", &dispatcher, None).await;
    assert_eq!(status, 403, "the office does not read quality's figures");
    let (status, _) =
        app.api(Method::GET, "/api/v1/quality/feedback?from=2026-12-01&to=2026-01-01", &quality, None).await;
    assert_eq!(status, 422);
    let qweb = app.login("quality", aftersales::demo::DEMO_PASSWORD).await;
    let page = qweb.get(app.url("/quality/feedback")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("HX-LG120") && page.contains("电机过载保护"), "{page}");
}

async fn bad_requests_change_nothing_and_creates_are_idempotent(app: &TestApp) {
    let dispatcher = app.token("dispatcher").await;
    let (_, before) = app.api(Method::GET, "/api/v1/work-orders?limit=200", &dispatcher, None).await;
    let u = unit(app, &dispatcher, "KF35A0001").await;
    let other = unit(app, &dispatcher, "LG120B0007").await;
    let body = json!({"channel": "pigeon", "kind": "repair", "customer_id": u["customer_id"], "unit_id": other["id"],
        "problem": " ", "requested_at": "soon", "contact_phone": "12"});
    let (status, v) = app.api(Method::POST, "/api/v1/work-orders", &dispatcher, Some(body)).await;
    assert_eq!(status, 422);
    for f in ["channel", "problem", "requested_at", "unit_id", "contact_phone"] {
        assert!(v["error"]["fields"][f][0].is_string(), "{f}: {v}");
    }
    let (_, after) = app.api(Method::GET, "/api/v1/work-orders?limit=200", &dispatcher, None).await;
    assert_eq!(before["items"].as_array().unwrap().len(), after["items"].as_array().unwrap().len());
    let (status, _) = app.api(Method::POST, "/api/v1/work-orders/1/actions/fly", &dispatcher, Some(json!({}))).await;
    assert_eq!(status, 422);

    let body = json!({"channel": "email", "kind": "maintenance", "customer_id": u["customer_id"], "unit_id": u["id"], "problem": "年度保养"});
    let send = || async {
        let res = reqwest::Client::new()
            .post(app.url("/api/v1/work-orders"))
            .bearer_auth(&dispatcher)
            .header("idempotency-key", "wo-123")
            .json(&body)
            .send()
            .await
            .unwrap();
        let replayed = res.headers().get("idempotent-replayed").is_some();
        (res.status().as_u16(), replayed, res.json::<Value>().await.unwrap())
    };
    let (s1, r1, a) = send().await;
    let (s2, r2, b) = send().await;
    assert_eq!((s1, r1, s2, r2), (201, false, 201, true));
    assert_eq!(a["order"]["id"], b["order"]["id"]);
    // The warehouse has no business with orders.
    let warehouse = app.token("warehouse").await;
    let (status, _) = app.api(Method::POST, "/api/v1/work-orders", &warehouse, Some(body.clone())).await;
    assert_eq!(status, 403);
}

async fn engineers_see_only_their_own_orders(app: &TestApp) {
    let dispatcher = app.token("dispatcher").await;
    let engineer = app.token("engineer").await;
    let engineer2 = app.token("engineer2").await;
    let o = register(app, &dispatcher, "LG120B0007", "repair", "漏水").await;
    let id = o["order"]["id"].as_i64().unwrap();
    step(app, &dispatcher, &o, "assign", json!({"engineer_id": user_id(app, "engineer").await})).await;
    let (status, _) = app.api(Method::GET, &format!("/api/v1/work-orders/{id}"), &engineer2, None).await;
    assert_eq!(status, 404, "another engineer's order does not exist for them");
    let (_, list) = app.api(Method::GET, "/api/v1/work-orders", &engineer2, None).await;
    assert!(list["items"].as_array().unwrap().iter().all(|o| o["id"] != id));
    let (_, list) = app.api(Method::GET, "/api/v1/work-orders", &engineer, None).await;
    assert!(list["items"].as_array().unwrap().iter().any(|o| o["id"] == id));
    let engineer_id = user_id(app, "engineer").await;
    assert!(list["items"].as_array().unwrap().iter().all(|o| o["engineer_id"] == engineer_id));
    // Declining hands the order back to dispatch; the engineer no longer sees it.
    let (_, mine) = app.api(Method::GET, &format!("/api/v1/work-orders/{id}"), &engineer, None).await;
    let (status, v) = act(app, &engineer, &mine, "decline", json!({})).await;
    assert_eq!(status, 422, "a reason is needed: {v}");
    let (status, _) = act(app, &engineer, &mine, "decline", json!({"note": "不在服务区域"})).await;
    assert_eq!(status, 204);
    let (_, o) = app.api(Method::GET, &format!("/api/v1/work-orders/{id}"), &dispatcher, None).await;
    assert_eq!((o["order"]["status"].as_str(), o["order"]["engineer_id"].is_null()), (Some("open"), true));
    // A customer's tracking link shows that order only: another token is nothing.
    let page = reqwest::get(o["tracking_url"].as_str().unwrap()).await.unwrap();
    assert_eq!(page.status(), 200);
}

async fn two_dispatchers_assigning_at_once_get_one_conflict(app: &TestApp) {
    let dispatcher = app.token("dispatcher").await;
    let manager = app.token("manager").await;
    let o = register(app, &dispatcher, "FS10C0100", "repair", "不转").await;
    let (e1, e2) = (user_id(app, "engineer").await, user_id(app, "engineer2").await);
    let (a, b) = tokio::join!(
        act(app, &dispatcher, &o, "assign", json!({"engineer_id": e1})),
        act(app, &manager, &o, "assign", json!({"engineer_id": e2})),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
    let (_, now) = app.api(Method::GET, &format!("/api/v1/work-orders/{}", o["order"]["id"]), &manager, None).await;
    let winner = if a.0 == 200 { e1 } else { e2 };
    assert_eq!(now["order"]["engineer_id"], winner);
    assert_eq!(now["events"].as_array().unwrap().len(), 2, "one assignment recorded");
}

async fn photos_are_checked_and_stored_outside_the_database(app: &TestApp) {
    let dispatcher = app.token("dispatcher").await;
    let o = register(app, &dispatcher, "KF35A0001", "repair", "外壳破损").await;
    let id = o["order"]["id"].as_i64().unwrap();
    let dispatcher = &dispatcher;
    let upload = |name: &'static str, bytes: Vec<u8>| async move {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(name);
        let form = reqwest::multipart::Form::new().part("photo", part);
        let res = reqwest::Client::new()
            .post(app.url(&format!("/api/v1/work-orders/{id}/photos")))
            .bearer_auth(dispatcher)
            .multipart(form)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json::<Value>().await.unwrap())
    };
    let mut jpeg = vec![0xff, 0xd8, 0xff, 0xe0];
    jpeg.extend(std::iter::repeat_n(7u8, 2000));
    let (status, a) = upload("现场.jpg", jpeg.clone()).await;
    assert_eq!(status, 201, "{a}");
    assert_eq!((a["content_type"].as_str(), a["size_bytes"].as_i64()), (Some("image/jpeg"), Some(2004)));
    let (status, v) = upload("evil.jpg", b"<svg onload=alert(1)>".to_vec()).await;
    assert_eq!(status, 422, "named .jpg but not a photo: {v}");
    assert!(v["error"]["fields"]["photo"][0].is_string());
    // Too large: refused (the server may close the connection before the body is sent).
    let mut big = jpeg.clone();
    big.resize(11 * 1024 * 1024, 0);
    let form = reqwest::multipart::Form::new().part("photo", reqwest::multipart::Part::bytes(big).file_name("big.jpg"));
    let sent = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/work-orders/{id}/photos")))
        .bearer_auth(dispatcher)
        .multipart(form)
        .send()
        .await;
    if let Ok(res) = sent {
        assert!(res.status() == 413 || res.status() == 422, "too large: {}", res.status());
    }
    let res = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/attachments/{}", a["id"])))
        .bearer_auth(dispatcher)
        .send()
        .await
        .unwrap();
    assert_eq!(res.bytes().await.unwrap().to_vec(), jpeg);
    let engineer2 = app.token("engineer2").await;
    let res = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/attachments/{}", a["id"])))
        .bearer_auth(&engineer2)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "not their order");
    assert_eq!(walk(&app.files_dir).len(), 1);
}

async fn a_customer_reports_a_problem_from_the_warranty_card(app: &TestApp) {
    let web = app.login("dispatcher", aftersales::demo::DEMO_PASSWORD).await;
    let token = app.token("dispatcher").await;
    let u = unit(app, &token, "KF35A0002").await;
    let html = web.get(app.url(&format!("/units/{}", u["id"]))).send().await.unwrap().text().await.unwrap();
    let start = html.find("/u/").unwrap();
    let public: String = html[start..].chars().take_while(|c| *c != '"' && *c != '<').collect();
    let anon = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let card = anon.get(app.url(&public)).send().await.unwrap().text().await.unwrap();
    assert!(card.contains(&format!("{public}/request")), "the card's page offers to report a problem");
    let form = anon.get(app.url(&format!("{public}/request"))).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let res = anon
        .post(app.url(&format!("{public}/request")))
        .header("origin", app.url(""))
        .form(&[("name", ""), ("phone", "123"), ("problem", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = anon
        .post(app.url(&format!("{public}/request")))
        .header("origin", app.url(""))
        .form(&[
            ("name", "王建华"),
            ("phone", "13800138001"),
            ("problem", "空调滴水"),
            ("requested_at", "2026-12-05T09:30"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let tracking = res.headers()["location"].to_str().unwrap().to_string();
    assert!(tracking.starts_with("/t/"));
    let page = anon.get(app.url(&tracking)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("待派工") && page.contains("空调滴水"), "{page}");
    let (_, list) = app.api(Method::GET, &format!("/api/v1/work-orders?unit_id={}", u["id"]), &token, None).await;
    let o = &list["items"][0];
    assert_eq!((o["channel"].as_str(), o["contact_name"].as_str()), (Some("web"), Some("王建华")), "{list}");
    // A flood from one address is refused after ten an hour (nothing more is registered).
    for n in 1..=10 {
        let res = anon
            .post(app.url(&format!("{public}/request")))
            .header("origin", app.url(""))
            .form(&[("name", "王建华"), ("phone", "13800138001"), ("problem", "空调滴水")])
            .send()
            .await
            .unwrap();
        let expected = if n < 10 { 303 } else { 429 };
        assert_eq!(res.status(), expected, "request {n}");
    }
    // The request is on the unit's service history and the customer's time line.
    let number = format!("WO{:08}", o["id"].as_i64().unwrap());
    let unit_page = web.get(app.url(&format!("/units/{}", u["id"]))).send().await.unwrap().text().await.unwrap();
    assert!(unit_page.contains(&number) && unit_page.contains("空调滴水"), "unit page lists the request");
    let customer_page =
        web.get(app.url(&format!("/customers/{}", u["customer_id"]))).send().await.unwrap().text().await.unwrap();
    assert!(customer_page.contains(&number) && customer_page.contains("网上报修"), "customer time line");
}

async fn lists_filter_and_export(app: &TestApp) {
    let dispatcher = app.token("dispatcher").await;
    register(app, &dispatcher, "KF35A0001", "installation", "新机安装").await;
    let (status, v) = app.api(Method::GET, "/api/v1/work-orders?kind=installation", &dispatcher, None).await;
    assert_eq!(status, 200);
    assert!(v["items"].as_array().unwrap().iter().all(|o| o["kind"] == "installation"));
    assert!(!v["items"].as_array().unwrap().is_empty());
    let (_, v) = app.api(Method::GET, "/api/v1/work-orders?status=review", &dispatcher, None).await;
    assert!(v["items"].as_array().unwrap().iter().all(|o| o["status"] == "review"));
    let (status, v) = app.api(Method::GET, "/api/v1/work-orders?status=lost&from=yesterday", &dispatcher, None).await;
    assert_eq!(status, 422);
    assert!(v["error"]["fields"]["status"][0].is_string() && v["error"]["fields"]["from"][0].is_string(), "{v}");
    // Paging: one per page, newest first, the cursor moves on.
    let (_, p1) = app.api(Method::GET, "/api/v1/work-orders?limit=1", &dispatcher, None).await;
    let next = p1["next_before"].as_i64().unwrap();
    let (_, p2) = app.api(Method::GET, &format!("/api/v1/work-orders?limit=1&before={next}"), &dispatcher, None).await;
    assert!(p2["items"][0]["id"].as_i64().unwrap() < p1["items"][0]["id"].as_i64().unwrap());
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/work-orders/export?format=csv&kind=installation"))
        .bearer_auth(&dispatcher)
        .send()
        .await
        .unwrap();
    let csv = res.text().await.unwrap();
    assert!(csv.contains("工单号") && csv.contains("新机安装") && csv.contains("安装调试"), "{csv}");
    assert!(!csv.contains("年度保养"), "the filter holds");
    let web = app.login("dispatcher", aftersales::demo::DEMO_PASSWORD).await;
    for path in
        ["/work-orders", "/work-orders?overdue=1", "/dispatch", "/work-orders/new?q=KF35", "/work-orders/new?unit_id=1"]
    {
        let res = web.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
    }
    let html = web.get(app.url("/dispatch")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("张伟") && html.contains("刘洋") && html.contains("待评审/待派工"));

    // Saved views: the user's own, only the list's parameters kept.
    let body = json!({"name": "华东未完成", "query": "status=open&region=east&evil=%3Cscript%3E"});
    let (status, v) = app.api(Method::POST, "/api/v1/work-orders/views", &dispatcher, Some(body)).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["query"], "status=open&region=east");
    let (status, _) = app
        .api(Method::POST, "/api/v1/work-orders/views", &dispatcher, Some(json!({"name": "x", "query": "evil=1"})))
        .await;
    assert_eq!(status, 422);
    let other = app.token("manager").await;
    let (_, theirs) = app.api(Method::GET, "/api/v1/work-orders/views", &other, None).await;
    assert_eq!(theirs, json!([]), "views are personal");
    let html = web.get(app.url("/work-orders")).send().await.unwrap().text().await.unwrap();
    let at = html.find("华东未完成").expect("the list offers the view");
    assert!(html[..at].ends_with("/work-orders?status=open&#38;region=east\">"), "{}", &html[at - 120..at]);
    let res = web
        .post(app.url("/work-orders/views"))
        .header("origin", app.url(""))
        .form(&[("name", "安装单"), ("query", "kind=installation")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        (res.status().as_u16(), res.headers()["location"].to_str().unwrap()),
        (303, "/work-orders?kind=installation")
    );
    let (_, mine) = app.api(Method::GET, "/api/v1/work-orders/views", &dispatcher, None).await;
    assert_eq!(mine.as_array().unwrap().len(), 2);
    let id = mine[0]["id"].as_i64().unwrap();
    let (status, _) = app.api(Method::DELETE, &format!("/api/v1/work-orders/views/{id}"), &other, None).await;
    assert_eq!(status, 404, "not theirs");
    let (status, _) = app.api(Method::DELETE, &format!("/api/v1/work-orders/views/{id}"), &dispatcher, None).await;
    assert_eq!(status, 204);
}

/// Creates that arrive together are written in one group: each still gets its own order, time
/// line, decision, audit entry and notification, and a repeated key still makes one order.
async fn requests_arriving_together_are_each_written_whole(app: &TestApp) {
    let dispatcher = app.token("dispatcher").await;
    let serials = ["KF35A0001", "KF35A0002", "LG120B0007", "FS10C0100"];
    let mut units = vec![];
    for s in serials {
        let u = unit(app, &dispatcher, s).await;
        assert!(u["id"].is_i64(), "{s}");
        units.push(u);
    }
    let client = reqwest::Client::new();
    let send = |i: usize, key: Option<String>| {
        let u = &units[i % units.len()];
        let body = json!({"channel": "hotline", "kind": "repair", "customer_id": u["customer_id"], "unit_id": u["id"],
            "problem": format!("同时来电 {i}")});
        let mut req = client.post(app.url("/api/v1/work-orders")).bearer_auth(&dispatcher).json(&body);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    // 36 different requests, and one request sent four times with the same key.
    let mut calls = vec![];
    for i in 0..36 {
        calls.push(send(i, Some(format!("together-{i}"))));
    }
    for _ in 0..4 {
        calls.push(send(99, Some("together-same".into())));
    }
    let answers = futures_util::future::join_all(calls).await;
    let mut ids = std::collections::BTreeSet::new();
    for (status, v) in &answers[..36] {
        assert_eq!(*status, 201, "{v}");
        assert!(ids.insert(v["order"]["id"].as_i64().unwrap()), "ids are distinct: {v}");
    }
    let repeated: Vec<_> =
        answers[36..].iter().filter(|(s, _)| *s == 201).map(|(_, v)| v["order"]["id"].clone()).collect();
    assert!(!repeated.is_empty() && answers[36..].iter().all(|(s, _)| *s == 201 || *s == 409), "{answers:?}");
    assert!(repeated.iter().all(|id| *id == repeated[0]), "one key, one order: {repeated:?}");
    let path = format!("/api/v1/work-orders?unit_id={}&limit=200", units[99 % units.len()]["id"]);
    let (_, same) = app.api(Method::GET, &path, &dispatcher, None).await;
    let made = same["items"].as_array().unwrap().iter().filter(|o| o["problem"] == "同时来电 99").count();
    assert_eq!(made, 1, "{same}");

    let admin = app.token("admin").await;
    for (i, (_, v)) in answers[..36].iter().enumerate().step_by(5) {
        let o = &v["order"];
        let id = o["id"].as_i64().unwrap();
        let (status, read) = app.api(Method::GET, &format!("/api/v1/work-orders/{id}"), &dispatcher, None).await;
        assert_eq!(status, 200);
        assert_eq!(read["order"]["problem"], format!("同时来电 {i}"));
        assert_eq!(read["order"]["unit_id"], units[i % units.len()]["id"]);
        assert_eq!(read["events"][0]["action"], "create");
        assert_eq!(read["events"][0]["id"], v["events"][0]["id"], "the answer names the stored event");
        assert_eq!(read["order"]["decision_id"], o["decision_id"]);
        let (_, d) = app
            .api(Method::GET, &format!("/api/v1/entitlement/decisions/{}", o["decision_id"]), &dispatcher, None)
            .await;
        assert_eq!(d["work_order_id"], id, "{d}");
        assert_eq!(d["unit_id"], units[i % units.len()]["id"], "{d}");
        let (_, audit) =
            app.api(Method::GET, &format!("/api/v1/audit?entity_type=work_order&entity_id={id}"), &admin, None).await;
        assert_eq!(audit["items"][0]["action"], "create", "{audit}");
        let (_, sent) =
            app.api(Method::GET, &format!("/api/v1/work-orders/{id}/notifications"), &dispatcher, None).await;
        let mails = sent.as_array().unwrap();
        assert!(mails.iter().all(|m| m["event"] == "order_created"), "{sent}");
    }
    // A retry after the answer replays it.
    let (status, again) = send(99, Some("together-same".into())).await;
    assert_eq!((status, again["order"]["id"].clone()), (201, repeated[0].clone()));
}
