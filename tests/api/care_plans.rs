//! Key-customer care plans (R6.3) as their users meet them: a plan drawn up for a key customer
//! once (idempotent), its actions done and cancelled with the progress moving, completed and
//! reopened; changes over stale versions refused; bad input refused field by field; overdue
//! actions counted and listed; regions and roles limiting who sees what; key customers first;
//! exports and pages — on both databases.

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::TestApp;
use crate::work_orders::user_id;
use aftersales::service::work_orders::today;

both!(
    a_key_customer_plan_is_drawn_up_worked_and_completed,
    bad_input_is_refused_field_by_field,
    overdue_actions_regions_roles_and_the_list,
    pages_draw_up_a_plan_and_work_its_actions,
);

fn fields(v: &Value) -> Vec<String> {
    let mut f: Vec<String> = v["error"]["fields"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    f.sort();
    f
}

async fn customer_named(app: &TestApp, name: &str) -> i64 {
    let mut c = app.db.read().await.unwrap();
    aftersales::on_conn!(c.conn(), |e| {
        sqlx::query_scalar("SELECT id FROM customers WHERE name LIKE $1 ORDER BY id LIMIT 1")
            .bind(format!("{name}%"))
            .fetch_one(&mut *e)
            .await
            .unwrap()
    })
}

fn day(offset: i64) -> String {
    (today() + Duration::days(offset)).to_string()
}

async fn create(app: &TestApp, token: &str, customer: i64, title: &str, from: i64, to: i64) -> Value {
    let body = json!({"customer_id": customer, "title": title, "goals": "了解设备使用情况和客户需求",
        "period_from": day(from), "period_to": day(to)});
    let (status, v) = app.api(Method::POST, "/api/v1/care-plans", token, Some(body)).await;
    assert_eq!(status, 201, "{v}");
    v
}

fn plan_id(d: &Value) -> i64 {
    d["plan"]["id"].as_i64().unwrap()
}

async fn add(app: &TestApp, token: &str, d: &Value, what: &str, due: i64) -> Value {
    let body = json!({"version": d["plan"]["version"], "what": what, "due_on": day(due)});
    let (status, v) =
        app.api(Method::POST, &format!("/api/v1/care-plans/{}/actions", plan_id(d)), token, Some(body)).await;
    assert_eq!(status, 201, "{v}");
    v
}

/// The action of `d` whose text is `what`.
fn action<'a>(d: &'a Value, what: &str) -> &'a Value {
    d["actions"].as_array().unwrap().iter().find(|a| a["what"] == what).unwrap_or_else(|| panic!("{what}: {d}"))
}

async fn change(app: &TestApp, token: &str, d: &Value, what: &str, mut body: Value) -> (u16, Value) {
    let a = action(d, what);
    if body.get("version").is_none() {
        body["version"] = a["version"].clone();
    }
    let path = format!("/api/v1/care-plans/{}/actions/{}", plan_id(d), a["id"]);
    app.api(Method::PUT, &path, token, Some(body)).await
}

async fn update(app: &TestApp, token: &str, d: &Value, mut body: Value) -> (u16, Value) {
    if body.get("version").is_none() {
        body["version"] = d["plan"]["version"].clone();
    }
    app.api(Method::PUT, &format!("/api/v1/care-plans/{}", plan_id(d)), token, Some(body)).await
}

async fn a_key_customer_plan_is_drawn_up_worked_and_completed(app: &TestApp) {
    let manager = app.token("manager").await;
    let customer = customer_named(app, "上海浦东华联商厦").await;
    let dispatcher_id = user_id(app, "dispatcher").await;

    // Drawn up once, even when the request is sent twice.
    let body = json!({"customer_id": customer, "title": "2026 年度重点客户关怀", "goals": "夏季高峰前完成两台螺杆机保养",
        "period_from": day(0), "period_to": day(90)});
    let send = || {
        reqwest::Client::new()
            .post(app.url("/api/v1/care-plans"))
            .bearer_auth(&manager)
            .header("Idempotency-Key", "plan-2026-hualian")
            .json(&body)
            .send()
    };
    let res = send().await.unwrap();
    assert_eq!(res.status(), 201);
    let d: Value = res.json().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["plan"]["id"], d["plan"]["id"]);
    let (_, all) = app.api(Method::GET, "/api/v1/care-plans", &manager, None).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1, "one plan: {all}");

    let p = &d["plan"];
    assert_eq!(p["status"], "active");
    assert_eq!(p["key_customer"], true);
    assert_eq!(p["customer_class"], "A");
    assert_eq!(p["region_code"], "east");
    assert_eq!(p["owner_name"], "李明", "the caller owns it");
    assert_eq!(d["actions"], json!([]));
    assert!(d["progress"].is_null(), "no progress without actions: {d}");

    // Three actions; the plan's owner owns them unless another is named.
    let d = add(app, &manager, &d, "上门走访，了解设备使用情况", 10).await;
    let d = add(app, &manager, &d, "赠送夏季保养套餐", 20).await;
    let body = json!({"version": d["plan"]["version"], "what": "机房操作人员培训", "due_on": day(30),
        "owner_id": dispatcher_id});
    let (status, d) =
        app.api(Method::POST, &format!("/api/v1/care-plans/{}/actions", plan_id(&d)), &manager, Some(body)).await;
    assert_eq!(status, 201, "{d}");
    let whats: Vec<&str> = d["actions"].as_array().unwrap().iter().map(|a| a["what"].as_str().unwrap()).collect();
    assert_eq!(whats, ["上门走访，了解设备使用情况", "赠送夏季保养套餐", "机房操作人员培训"], "by due day");
    assert_eq!(action(&d, "赠送夏季保养套餐")["owner_name"], "李明");
    assert_eq!(action(&d, "机房操作人员培训")["owner_name"], "陈静");
    assert_eq!(d["progress"], 0.0);
    assert_eq!(d["plan"]["next_action"], "上门走访，了解设备使用情况");
    assert_eq!(d["plan"]["next_due_on"], day(10));

    // Done with what it achieved; cancelled ones leave the count.
    let (status, d) = change(
        app,
        &manager,
        &d,
        "上门走访，了解设备使用情况",
        json!({"status": "done", "note": "客户希望增加夜间值班"}),
    )
    .await;
    assert_eq!(status, 200, "{d}");
    let visit = action(&d, "上门走访，了解设备使用情况");
    assert_eq!((visit["status"].as_str(), visit["done_on"].as_str()), (Some("done"), Some(day(0).as_str())));
    assert!(visit["done_at"].is_string());
    assert!((d["progress"].as_f64().unwrap() - 100.0 / 3.0).abs() < 0.01, "1 of 3: {d}");
    let (status, stale) = change(app, &manager, &d, "赠送夏季保养套餐", json!({"status": "done", "version": 99})).await;
    assert_eq!(status, 409, "{stale}");
    let (status, d) =
        change(app, &manager, &d, "赠送夏季保养套餐", json!({"status": "cancelled", "note": "预算取消"})).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["progress"], 50.0, "1 of 2 once one is cancelled: {d}");
    assert_eq!((d["plan"]["actions_total"].as_i64(), d["plan"]["actions_cancelled"].as_i64()), (Some(3), Some(1)));

    // The plan's own changes: over its version, 409 when stale.
    let (status, d) = update(app, &manager, &d, json!({"title": "2026 年度重点客户关怀（华联）"})).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["plan"]["version"], 2);
    assert_eq!(d["plan"]["goals"], "夏季高峰前完成两台螺杆机保养", "fields left out keep their value");
    let (status, v) = update(app, &manager, &d, json!({"version": 1, "title": "x"})).await;
    assert_eq!(status, 409, "{v}");
    let body = json!({"version": 1, "what": "回访", "due_on": day(5)});
    let (status, _) =
        app.api(Method::POST, &format!("/api/v1/care-plans/{}/actions", plan_id(&d)), &manager, Some(body)).await;
    assert_eq!(status, 409, "an action added over a stale plan version");

    // Completing waits for the open action.
    let (status, v) = update(app, &manager, &d, json!({"status": "completed"})).await;
    assert_eq!((status, fields(&v)), (422, vec!["status".to_string()]), "{v}");
    let (status, d) = change(app, &manager, &d, "机房操作人员培训", json!({"status": "done"})).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["progress"], 100.0);
    assert!(d["plan"]["next_action"].is_null());
    let (status, d) = update(app, &manager, &d, json!({"status": "completed"})).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["plan"]["status"], "completed");
    assert!(d["plan"]["closed_at"].is_string());

    // A closed plan takes no new actions and no changes to them.
    let body = json!({"version": d["plan"]["version"], "what": "新年问候", "due_on": day(40)});
    let (status, v) =
        app.api(Method::POST, &format!("/api/v1/care-plans/{}/actions", plan_id(&d)), &manager, Some(body)).await;
    assert_eq!((status, fields(&v)), (422, vec!["plan".to_string()]), "{v}");
    assert!(v["error"]["fields"]["plan"][0].as_str().unwrap().contains("已完成或已取消"), "{v}");
    let (status, v) = change(app, &manager, &d, "赠送夏季保养套餐", json!({"status": "open"})).await;
    assert_eq!((status, fields(&v)), (422, vec!["plan".to_string()]), "{v}");
    let (_, list) = app.api(Method::GET, "/api/v1/care-plans", &manager, None).await;
    assert_eq!(list["items"], json!([]), "the list shows active plans by default");
    let (_, list) = app.api(Method::GET, "/api/v1/care-plans?status=completed", &manager, None).await;
    assert_eq!(list["items"][0]["id"], d["plan"]["id"]);
    assert_eq!(list["items"][0]["progress"], 100.0);

    // Reopened, a cancelled action opens again.
    let (status, d) = update(app, &manager, &d, json!({"status": "active"})).await;
    assert_eq!(status, 200, "{d}");
    assert!(d["plan"]["closed_at"].is_null());
    let (status, d) = change(app, &manager, &d, "赠送夏季保养套餐", json!({"status": "open"})).await;
    assert_eq!(status, 200, "{d}");
    let gift = action(&d, "赠送夏季保养套餐");
    assert_eq!(gift["status"], "open");
    assert!(gift["done_on"].is_null());
    assert!((d["progress"].as_f64().unwrap() - 200.0 / 3.0).abs() < 0.01, "2 of 3: {d}");

    // Cancelling the plan cancels what is still open.
    let (status, d) = update(app, &manager, &d, json!({"status": "cancelled"})).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(action(&d, "赠送夏季保养套餐")["status"], "cancelled");
    assert_eq!(d["progress"], 100.0);

    // The API is described.
    let (_, doc) = app.api(Method::GET, "/api/v1/openapi.json", &manager, None).await;
    for path in ["/api/v1/care-plans", "/api/v1/care-plans/{id}", "/api/v1/care-plans/{id}/actions/{action_id}"] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    assert!(doc["components"]["schemas"]["PlanDetail"].is_object());

    // Every change is in the audit trail.
    let (_, audit) = app.api(Method::GET, "/api/v1/audit?entity_type=care_plan", &manager, None).await;
    let plan_entries = audit["items"].as_array().unwrap().len();
    assert_eq!(plan_entries, 5, "create, update, complete, reopen, cancel: {audit}");
    let (_, audit) = app.api(Method::GET, "/api/v1/audit?entity_type=care_plan_action", &manager, None).await;
    let steps: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(steps.len(), 8, "three added, done, cancelled, done, reopened, cancelled with the plan: {steps:?}");
}

async fn bad_input_is_refused_field_by_field(app: &TestApp) {
    let manager = app.token("manager").await;
    let customer = customer_named(app, "北京中关村科技园服务中心").await;

    let (status, v) = app.api(Method::POST, "/api/v1/care-plans", &manager, Some(json!({}))).await;
    assert_eq!(status, 422);
    assert_eq!(fields(&v), ["customer_id", "period_from", "period_to", "title"], "{v}");
    let body = json!({"customer_id": 999_999, "title": "x".repeat(201), "goals": "长".repeat(4001),
        "period_from": day(10), "period_to": day(0), "owner_id": 999_999});
    let (status, v) = app.api(Method::POST, "/api/v1/care-plans", &manager, Some(body)).await;
    assert_eq!(status, 422);
    assert_eq!(fields(&v), ["customer_id", "goals", "owner_id", "period_to", "title"], "{v}");
    assert!(v["error"]["fields"]["period_to"][0].as_str().unwrap().contains("不能早于"), "{v}");
    assert!(v["error"]["fields"]["title"][0].as_str().unwrap().contains("过长"), "{v}");
    let (status, v) = app
        .api(Method::POST, "/api/v1/care-plans", &manager, Some(json!({"customer_id": customer, "period_to": "soon"})))
        .await;
    assert_eq!((status, fields(&v)), (422, vec!["body".to_string()]), "a date that is no date: {v}");
    let (_, list) = app.api(Method::GET, "/api/v1/care-plans?status=any", &manager, None).await;
    assert_eq!(list["items"], json!([]), "nothing was written by the refusals");

    let d = create(app, &manager, customer, "园区年度关怀", 0, 60).await;
    let path = format!("/api/v1/care-plans/{}/actions", plan_id(&d));
    let (status, v) = app
        .api(
            Method::POST,
            &path,
            &manager,
            Some(json!({"version": 1, "what": " ", "due_on": day(61), "owner_id": 999_999})),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(fields(&v), ["due_on", "owner_id", "what"], "{v}");
    assert!(v["error"]["fields"]["due_on"][0].as_str().unwrap().contains("期限内"), "{v}");
    let (status, v) = app.api(Method::POST, &path, &manager, Some(json!({"version": 1, "what": "走访"}))).await;
    assert_eq!((status, fields(&v)), (422, vec!["due_on".to_string()]), "{v}");
    let (status, v) =
        app.api(Method::POST, &path, &manager, Some(json!({"version": 1, "what": "走访", "due_on": day(-1)}))).await;
    assert_eq!((status, fields(&v)), (422, vec!["due_on".to_string()]), "before the period: {v}");

    let d = add(app, &manager, &d, "走访", 30).await;
    let (status, v) =
        change(app, &manager, &d, "走访", json!({"status": "done", "done_on": day(1), "note": "长".repeat(2001)}))
            .await;
    assert_eq!((status, fields(&v)), (422, vec!["done_on".to_string(), "note".to_string()]), "{v}");
    let (status, v) = change(app, &manager, &d, "走访", json!({"status": "finished", "due_on": day(90)})).await;
    assert_eq!((status, fields(&v)), (422, vec!["due_on".to_string(), "status".to_string()]), "{v}");
    let (status, v) = change(app, &manager, &d, "走访", json!({"what": ""})).await;
    assert_eq!((status, fields(&v)), (422, vec!["what".to_string()]), "{v}");

    // The period cannot leave an open action outside, nor end before it starts.
    let (status, v) = update(app, &manager, &d, json!({"period_to": day(20)})).await;
    assert_eq!((status, fields(&v)), (422, vec!["period_to".to_string()]), "{v}");
    assert!(v["error"]["fields"]["period_to"][0].as_str().unwrap().contains("行动"), "{v}");
    let (status, v) = update(
        app,
        &manager,
        &d,
        json!({"period_from": day(70), "title": "", "status": "done",
        "owner_id": 999_999}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(fields(&v), ["owner_id", "period_from", "period_to", "status", "title"], "{v}");
    let (_, same) = app.api(Method::GET, &format!("/api/v1/care-plans/{}", plan_id(&d)), &manager, None).await;
    assert_eq!(same["plan"]["version"], 1, "nothing changed: {same}");
    assert_eq!(same["plan"]["period_to"], day(60));
    let (status, _) = app.api(Method::GET, "/api/v1/care-plans/999999", &manager, None).await;
    assert_eq!(status, 404);
    let (status, _) = app.api(Method::GET, "/api/v1/care-plans?view=soon", &manager, None).await;
    assert_eq!(status, 422);
    let (status, _) = app.api(Method::GET, "/api/v1/care-plans?after=nonsense", &manager, None).await;
    assert_eq!(status, 422);
}

async fn overdue_actions_regions_roles_and_the_list(app: &TestApp) {
    let manager = app.token("manager").await;
    let dispatcher = app.token("dispatcher").await;
    let engineer = app.token("engineer").await;
    let hualian = customer_named(app, "上海浦东华联商厦").await; // east, A, key
    let hangzhou = customer_named(app, "杭州西溪花园业主").await; // east, C
    let guangzhou = customer_named(app, "广州天河宏远物业").await; // south, B
    let beijing = customer_named(app, "北京中关村科技园服务中心").await; // north, A, key

    // An action past its due day is overdue until it is done.
    let east = create(app, &dispatcher, hualian, "华联关怀", -60, 60).await;
    let east = add(app, &dispatcher, &east, "季度走访", -10).await;
    let east = add(app, &dispatcher, &east, "节日问候", 10).await;
    assert_eq!(east["plan"]["actions_overdue"], 1, "{east}");
    assert_eq!(east["plan"]["next_due_on"], day(-10));
    let south = create(app, &manager, guangzhou, "宏远物业关怀", -30, 30).await;
    let south = add(app, &manager, &south, "物业经理座谈", -1).await;
    let (_, all) = app.api(Method::GET, "/api/v1/care-plans?view=overdue", &manager, None).await;
    assert_eq!(all["overdue_actions"], 2, "{all}");
    let ids: Vec<&Value> = all["items"].as_array().unwrap().iter().map(|p| &p["id"]).collect();
    assert_eq!(ids, [&east["plan"]["id"], &south["plan"]["id"]], "key customers first: {all}");

    // The east office sees the east only; another region's plan is not found.
    let (_, mine) = app.api(Method::GET, "/api/v1/care-plans?view=overdue", &dispatcher, None).await;
    assert_eq!(mine["overdue_actions"], 1, "{mine}");
    let ids: Vec<&Value> = mine["items"].as_array().unwrap().iter().map(|p| &p["id"]).collect();
    assert_eq!(ids, [&east["plan"]["id"]]);
    let south_path = format!("/api/v1/care-plans/{}", plan_id(&south));
    let (status, _) = app.api(Method::GET, &south_path, &dispatcher, None).await;
    assert_eq!(status, 404);
    let (status, _) = app.api(Method::PUT, &south_path, &dispatcher, Some(json!({"version": 1, "title": "x"}))).await;
    assert_eq!(status, 404);
    let (status, _) = app
        .api(
            Method::POST,
            &format!("{south_path}/actions"),
            &dispatcher,
            Some(json!({"version": 1, "what": "x", "due_on": day(1)})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = change(app, &dispatcher, &south, "物业经理座谈", json!({"status": "done"})).await;
    assert_eq!(status, 404);
    let body = json!({"customer_id": guangzhou, "title": "x", "period_from": day(0), "period_to": day(1)});
    let (status, v) = app.api(Method::POST, "/api/v1/care-plans", &dispatcher, Some(body)).await;
    assert_eq!((status, fields(&v)), (422, vec!["customer_id".to_string()]), "{v}");

    // Engineers do not work care plans.
    let (status, _) = app.api(Method::GET, "/api/v1/care-plans", &engineer, None).await;
    assert_eq!(status, 403);
    let (status, _) = app.api(Method::GET, &format!("/api/v1/care-plans/{}", plan_id(&east)), &engineer, None).await;
    assert_eq!(status, 403);
    let body = json!({"customer_id": hualian, "title": "x", "period_from": day(0), "period_to": day(1)});
    let (status, _) = app.api(Method::POST, "/api/v1/care-plans", &engineer, Some(body)).await;
    assert_eq!(status, 403);

    // Done, the action is no longer overdue.
    let (status, east) =
        change(app, &dispatcher, &east, "季度走访", json!({"status": "done", "done_on": day(-3)})).await;
    assert_eq!(status, 200, "{east}");
    assert_eq!(action(&east, "季度走访")["done_on"], day(-3));
    assert_eq!(east["plan"]["actions_overdue"], 0);
    let (_, mine) = app.api(Method::GET, "/api/v1/care-plans?view=overdue", &dispatcher, None).await;
    assert_eq!((mine["overdue_actions"].as_i64(), mine["items"].as_array().map(Vec::len)), (Some(0), Some(0)));

    // "Mine": the plans one owns, and those with an open action of one's own.
    let c_plan = create(app, &manager, hangzhou, "业主关怀", 0, 30).await;
    let body =
        json!({"version": 1, "what": "电话问候", "due_on": day(5), "owner_id": user_id(app, "dispatcher").await});
    let (status, _) =
        app.api(Method::POST, &format!("/api/v1/care-plans/{}/actions", plan_id(&c_plan)), &manager, Some(body)).await;
    assert_eq!(status, 201);
    let north = create(app, &manager, beijing, "园区关怀", 0, 30).await;
    let (_, mine) = app.api(Method::GET, "/api/v1/care-plans?view=mine", &dispatcher, None).await;
    let ids: Vec<&Value> = mine["items"].as_array().unwrap().iter().map(|p| &p["id"]).collect();
    assert_eq!(ids, [&east["plan"]["id"], &c_plan["plan"]["id"]], "{mine}");
    let (_, mine) = app.api(Method::GET, "/api/v1/care-plans?view=mine", &manager, None).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 3, "{mine}");

    // Key customers first (newest first among them), then class A, then the rest; a page at a time.
    let mut seen = vec![];
    let mut after = String::new();
    loop {
        let (status, page) =
            app.api(Method::GET, &format!("/api/v1/care-plans?limit=1&after={after}"), &manager, None).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(page["items"].as_array().unwrap().iter().map(|p| p["id"].clone()));
        match page["next_after"].as_str() {
            Some(n) => after = n.to_string(),
            None => break,
        }
    }
    let expected = [&north, &east, &c_plan, &south].map(|d| d["plan"]["id"].clone());
    assert_eq!(seen, expected);
    let (_, key) = app.api(Method::GET, "/api/v1/care-plans?key=1", &manager, None).await;
    let ids: Vec<&Value> = key["items"].as_array().unwrap().iter().map(|p| &p["id"]).collect();
    assert_eq!(ids, [&north["plan"]["id"], &east["plan"]["id"]]);
    let (_, of_customer) =
        app.api(Method::GET, &format!("/api/v1/care-plans?customer_id={hangzhou}"), &manager, None).await;
    assert_eq!(of_customer["items"].as_array().unwrap().len(), 1);

    // The list exports with its filters.
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/care-plans/export?key=1&format=csv"))
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains("care-plans.csv"));
    let csv = res.text().await.unwrap();
    assert_eq!(csv.lines().count(), 3, "a header and the two key customers' plans: {csv}");
    assert!(csv.contains("华联关怀") && csv.contains("园区关怀") && !csv.contains("业主关怀"), "{csv}");
    assert!(csv.contains("季度走访") || csv.contains("节日问候"), "the next action: {csv}");
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/care-plans/export?format=xlsx"))
        .bearer_auth(&dispatcher)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.bytes().await.unwrap().starts_with(b"PK"), "an .xlsx is a zip");
}

async fn pages_draw_up_a_plan_and_work_its_actions(app: &TestApp) {
    let office = app.login("dispatcher", aftersales::demo::DEMO_PASSWORD).await;
    let customer = customer_named(app, "上海浦东华联商厦").await;
    let get = |path: String| {
        let c = office.clone();
        let url = app.url(&path);
        async move {
            let res = c.get(url).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };

    // The form without a customer offers the key customers of the region.
    let (status, html) = get("/care-plans/new".into()).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("/care-plans/new?customer_id={customer}")), "{html}");
    assert!(!html.contains("北京中关村"), "another region's key customer is not offered");
    let (status, html) = get(format!("/care-plans/new?customer_id={customer}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("plan-customer") && html.contains("上海浦东华联商厦"));
    let idem = html.split("name=\"idem\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert_eq!(idem.len(), 32);

    let form = |title: &'static str, from: &str, to: &str| -> Vec<(&'static str, String)> {
        vec![
            ("idem", idem.clone()),
            ("customer_id", customer.to_string()),
            ("title", title.into()),
            ("goals", "了解机房设备运行情况".into()),
            ("period_from", from.into()),
            ("period_to", to.into()),
        ]
    };
    let (from, to) = (day(-30), day(60));
    let res = office.post(app.url("/care-plans/new")).form(&form("", &from, "明年")).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("必填") && html.contains("日期格式不正确"), "both problems are named: {html}");
    let res = office.post(app.url("/care-plans/new")).form(&form("华联年度关怀", &to, &from)).send().await.unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("结束日期不能早于开始日期"));
    let good = form("华联年度关怀", &from, &to);
    let res = office.post(app.url("/care-plans/new")).form(&good).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let to_plan = res.headers()["location"].to_str().unwrap().to_string();
    let again = office.post(app.url("/care-plans/new")).form(&good).send().await.unwrap();
    assert_eq!(again.headers()["location"].to_str().unwrap(), to_plan, "a double click creates one plan");
    let plan: i64 = to_plan.trim_start_matches("/care-plans/").parse().unwrap();

    let (status, html) = get(to_plan.clone()).await;
    assert_eq!(status, 200);
    assert!(html.contains("华联年度关怀") && html.contains("action-form"), "{html}");
    let actions = format!("{to_plan}/actions");
    let res = office
        .post(app.url(&actions))
        .form(&[("version", "1"), ("what", ""), ("due_on", day(61).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("必填") && html.contains("到期日须在计划期限内"), "{html}");
    for (what, due) in [("季度走访", day(-5)), ("节日问候", day(20))] {
        let res = office
            .post(app.url(&actions))
            .form(&[("version", "1"), ("what", what), ("due_on", due.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
    }
    let (_, html) = get(to_plan.clone()).await;
    assert!(html.contains("季度走访") && html.contains("class=\"overdue\""), "the overdue action stands out");
    assert!(html.contains("plan-overdue"));
    let d = {
        let mut c = app.db.read().await.unwrap();
        aftersales::store::care_plans::actions(c.conn(), plan).await.unwrap()
    };
    let visit = d.iter().find(|a| a.what == "季度走访").unwrap();
    let one = format!("{to_plan}/actions/{}", visit.id);
    let res = office
        .post(app.url(&one))
        .form(&[("op", "done"), ("version", "1"), ("done_on", day(1).as_str()), ("note", "客户满意")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "not done tomorrow");
    assert!(res.text().await.unwrap().contains("日期不能晚于今天"));
    let res = office
        .post(app.url(&one))
        .form(&[("op", "done"), ("version", "1"), ("done_on", day(0).as_str()), ("note", "客户提出增加夜间值班")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let res = office.post(app.url(&one)).form(&[("op", "done"), ("version", "1")]).send().await.unwrap();
    assert_eq!(res.status(), 422, "a stale form");
    assert!(res.text().await.unwrap().contains("该记录已被他人修改"));
    let (_, html) = get(to_plan.clone()).await;
    assert!(html.contains("50 %") && html.contains("客户提出增加夜间值班"), "{html}");

    // The plan's edit form, field by field.
    let res = office
        .post(app.url(&to_plan))
        .form(&[
            ("version", "1"),
            ("title", ""),
            ("period_from", from.as_str()),
            ("period_to", day(10).as_str()),
            ("status", "completed"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("必填") && html.contains("不在新的期限内") && html.contains("还有未完成的行动"), "{html}");

    // The list, the customer's page and the visit queue lead to it.
    let (status, html) = get("/care-plans".into()).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("plan-{plan}")) && html.contains("50 %"), "{html}");
    assert!(html.contains("id=\"overdue-count\">0<"), "{html}");
    let (_, html) = get(format!("/customers/{customer}")).await;
    assert!(html.contains("customer-plans") && html.contains("customer-new-plan"), "{html}");
    assert!(html.contains("华联年度关怀") && html.contains("关怀行动完成 · 季度走访"), "on the time line: {html}");
    let (_, html) = get("/visits".into()).await;
    assert!(html.contains("href=\"/care-plans\""));

    // Another region's plan is not found; engineers have no care plans.
    let manager = app.token("manager").await;
    let south = create(app, &manager, customer_named(app, "广州天河宏远物业").await, "宏远关怀", 0, 30).await;
    let (status, _) = get(format!("/care-plans/{}", plan_id(&south))).await;
    assert_eq!(status, 404);
    let engineer = app.login("engineer", aftersales::demo::DEMO_PASSWORD).await;
    let res = engineer.get(app.url("/care-plans")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let html = engineer.get(app.url(&format!("/customers/{customer}"))).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("customer-plans"), "no plans on an engineer's customer page");
}
