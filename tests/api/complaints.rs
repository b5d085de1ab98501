//! Complaints, suggestions and praise (R5) as their users meet them: a major complaint routed to
//! the quality department with its deadlines, answered in writing, disputed before the
//! inspection body and accepted; field-by-field errors, region scope and the overdue list;
//! suggestions forwarded, praise credited, severities changed by the right people, the policy
//! as versioned data, exports and pages — on both databases.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::care::completed_job;
use crate::helpers::TestApp;
use crate::work_orders::user_id;

both!(
    a_major_complaint_goes_to_quality_is_answered_disputed_and_accepted,
    bad_input_is_refused_field_by_field_and_regions_limit_what_is_seen,
    suggestions_praise_severity_changes_and_the_policy_as_data,
    pages_register_a_complaint_once_and_take_its_steps,
);

async fn act(app: &TestApp, token: &str, d: &Value, mut body: Value) -> (u16, Value) {
    let id = d["complaint"]["id"].as_i64().unwrap();
    body["version"] = d["complaint"]["version"].clone();
    app.api(Method::POST, &format!("/api/v1/complaints/{id}/actions"), token, Some(body)).await
}

async fn ok(app: &TestApp, token: &str, d: &Value, body: Value) -> Value {
    let (status, v) = act(app, token, d, body.clone()).await;
    assert_eq!(status, 200, "{body}: {v}");
    v
}

fn fields(v: &Value) -> Vec<String> {
    let mut f: Vec<String> = v["error"]["fields"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    f.sort();
    f
}

async fn customer_in(app: &TestApp, region: &str) -> i64 {
    let mut c = app.db.read().await.unwrap();
    aftersales::on_conn!(c.conn(), |e| {
        sqlx::query_scalar("SELECT id FROM customers WHERE region_code = $1 ORDER BY id LIMIT 1")
            .bind(region)
            .fetch_one(&mut *e)
            .await
            .unwrap()
    })
}

async fn mails(app: &TestApp, event: &str) -> Vec<String> {
    let mut c = app.db.read().await.unwrap();
    aftersales::on_conn!(c.conn(), |e| {
        sqlx::query_scalar("SELECT recipient FROM outbox WHERE event = $1 ORDER BY id")
            .bind(event)
            .fetch_all(&mut *e)
            .await
            .unwrap()
    })
}

async fn a_major_complaint_goes_to_quality_is_answered_disputed_and_accepted(app: &TestApp) {
    let dispatcher = app.token("dispatcher").await;
    let quality = app.token("quality").await;
    let manager = app.token("manager").await;
    let order = completed_job(app, "LG120B0007", None).await;
    let order_id = order["order"]["id"].as_i64().unwrap();

    let (_, before) = app.api(Method::GET, "/api/v1/complaints/objective", &manager, None).await;
    assert_eq!(before["major"], 0, "{before}");
    assert_eq!(before["met"], true);

    // Registered from the order: its customer, unit and engineer come with it.
    let body = json!({"kind": "complaint", "severity": "major", "channel": "letter", "order_id": order_id,
        "subject": "维修后压缩机再次停机", "description": "客户来函：维修后第三天再次停机，要求更换整机。"});
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/complaints"))
        .bearer_auth(&dispatcher)
        .header("Idempotency-Key", "letter-2026-001")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let d: Value = res.json().await.unwrap();
    let k = &d["complaint"];
    assert_eq!(k["department"], "quality", "a major complaint goes to quality: {d}");
    assert_eq!(k["status"], "open");
    assert_eq!(k["customer_id"], order["order"]["customer_id"]);
    assert_eq!(k["unit_serial"], "LG120B0007");
    assert_eq!(k["engineer_name"], "张伟");
    assert_eq!(k["region_code"], "east");
    assert_eq!(d["policy_version"], 1);
    assert!(d["number"].as_str().unwrap().starts_with("TS"));
    let codes: Vec<&str> = d["deadlines"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["acknowledge", "answer"]);
    assert!(d["deadlines"][0]["basis"].as_str().unwrap().contains("1 个工作小时"), "{d}");
    assert!(k["answer_due_at"].is_string());
    // The office may acknowledge a major complaint but not handle it.
    assert_eq!(d["actions"], json!(["contact"]), "{d}");

    // A retried create answers the first one.
    let again = reqwest::Client::new()
        .post(app.url("/api/v1/complaints"))
        .bearer_auth(&dispatcher)
        .header("Idempotency-Key", "letter-2026-001")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["complaint"]["id"], k["id"]);

    // The quality department is told by e-mail, from the outbox.
    assert_eq!(mails(app, "complaint_registered").await, ["quality@demo.example.cn"]);

    let d = ok(
        app,
        &dispatcher,
        &d,
        json!({"action": "contact", "channel": "phone", "text": "已致电客户，告知质量部处理"}),
    )
    .await;
    assert_eq!(d["complaint"]["status"], "investigating");
    assert_eq!(d["deadlines"][0]["state"], "met", "{d}");
    let (status, v) = act(app, &dispatcher, &d, json!({"action": "answer", "channel": "letter", "text": "x"})).await;
    assert_eq!(status, 422);
    assert!(v["error"]["fields"]["action"][0].as_str().unwrap().contains("质量部"), "{v}");

    let (status, v) = act(app, &quality, &d, json!({"action": "investigate"})).await;
    assert_eq!((status, fields(&v)), (422, vec!["text".to_string()]), "{v}");
    let d = ok(
        app,
        &quality,
        &d,
        json!({"action": "investigate", "text": "现场复查：冷凝器散热不良", "root_cause": "安装位置通风不足"}),
    )
    .await;
    assert_eq!(d["complaint"]["root_cause"], "安装位置通风不足");
    // Someone else's change in between makes a stale version.
    let mut stale = d.clone();
    stale["complaint"]["version"] = json!(1);
    let (status, _) = act(app, &quality, &stale, json!({"action": "investigate", "text": "again"})).await;
    assert_eq!(status, 409);

    let today = aftersales::service::work_orders::today();
    let (status, v) =
        act(app, &quality, &d, json!({"action": "answer", "channel": "fax", "on_day": today + Duration::days(1)}))
            .await;
    assert_eq!((status, fields(&v)), (422, vec!["channel".into(), "on_day".into(), "text".into()]), "{v}");
    let d = ok(
        app,
        &quality,
        &d,
        json!({"action": "answer", "channel": "letter", "on_day": today, "text": "经检查为安装通风问题，免费改装并延长保修 6 个月。"}),
    )
    .await;
    assert_eq!(d["complaint"]["status"], "answered");
    assert_eq!(d["complaint"]["answer_channel"], "letter");
    assert_eq!(d["deadlines"][1]["state"], "met", "{d}");

    // The customer disputes the product's quality: the inspection body decides.
    let (status, v) = act(app, &quality, &d, json!({"action": "reject"})).await;
    assert_eq!((status, fields(&v)), (422, vec!["text".to_string()]));
    let d = ok(app, &quality, &d, json!({"action": "reject", "text": "客户认为是产品质量问题"})).await;
    assert_eq!(d["complaint"]["accepted"], false);
    let (status, v) = act(app, &quality, &d, json!({"action": "refer"})).await;
    assert_eq!((status, fields(&v)), (422, vec!["inspection_body".to_string()]));
    let d = ok(app, &quality, &d, json!({"action": "refer", "inspection_body": "上海市质量监督检验技术研究院"})).await;
    assert_eq!(d["complaint"]["status"], "referred");
    let (status, _) = act(app, &quality, &d, json!({"action": "answer", "channel": "letter", "text": "x"})).await;
    assert_eq!(status, 422, "no answer while the inspection body examines the product");
    let d = ok(
        app,
        &quality,
        &d,
        json!({"action": "finding", "conclusion": "nonconforming", "text": "压缩机排气温度超出标准"}),
    )
    .await;
    assert_eq!(d["complaint"]["status"], "investigating");
    assert_eq!(d["complaint"]["conclusion"], "nonconforming");
    let d =
        ok(app, &quality, &d, json!({"action": "answer", "channel": "letter", "text": "按检验结论免费更换压缩机组。"}))
            .await;
    let d = ok(app, &manager, &d, json!({"action": "accept", "text": "客户接受"})).await;
    assert_eq!(d["complaint"]["status"], "closed");
    assert_eq!(d["complaint"]["accepted"], true);
    assert!(d["complaint"]["closed_at"].is_string());
    assert_eq!(d["actions"], json!([]), "nothing follows a closed complaint");
    let steps: Vec<&str> = d["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        steps,
        ["register", "contact", "investigate", "answer", "reject", "refer", "finding", "answer", "accept"]
    );

    // The year's objective is missed, and the record is on the customer's time line and in the audit trail.
    let (_, o) = app.api(Method::GET, "/api/v1/complaints/objective", &manager, None).await;
    assert_eq!((o["major"].as_i64(), o["met"].as_bool()), (Some(1), Some(false)), "{o}");
    assert_eq!(o["summary"]["answered"], 1);
    assert_eq!(o["summary"]["answered_on_time"], 1);
    let c = app.login("manager", aftersales::demo::DEMO_PASSWORD).await;
    let customer = d["complaint"]["customer_id"].as_i64().unwrap();
    let html = c.get(app.url(&format!("/customers/{customer}"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(d["number"].as_str().unwrap()), "the time line shows the complaint");
    let (_, audit) = app.api(Method::GET, "/api/v1/audit?entity_type=complaint", &manager, None).await;
    let n = audit["items"].as_array().map(Vec::len).unwrap_or_default();
    assert_eq!(n, 9, "{audit}");
}

async fn bad_input_is_refused_field_by_field_and_regions_limit_what_is_seen(app: &TestApp) {
    let dispatcher = app.token("dispatcher").await;
    let manager = app.token("manager").await;
    let engineer = app.token("engineer").await;

    let (status, v) = app.api(Method::POST, "/api/v1/complaints", &dispatcher, Some(json!({}))).await;
    assert_eq!(status, 422);
    assert_eq!(fields(&v), ["channel", "contact_phone", "kind", "subject"], "{v}");
    let body = json!({"kind": "suggestion", "severity": "major", "channel": "hotline", "subject": "x", "contact_phone": "123"});
    let (_, v) = app.api(Method::POST, "/api/v1/complaints", &dispatcher, Some(body)).await;
    assert_eq!(fields(&v), ["contact_phone", "severity"], "{v}");
    assert!(v["error"]["fields"]["severity"][0].as_str().unwrap().contains("只有投诉"), "{v}");

    let east = customer_in(app, "east").await;
    let south = customer_in(app, "south").await;
    let (_, units) = app.api(Method::GET, "/api/v1/units?number=LG120B0007", &manager, None).await;
    let unit = units["items"][0]["id"].as_i64().unwrap();
    let (status, v) = app
        .api(
            Method::POST,
            "/api/v1/complaints",
            &manager,
            Some(json!({"kind": "complaint", "channel": "hotline", "subject": "x", "customer_id": south, "unit_id": unit})),
        )
        .await;
    assert_eq!((status, fields(&v)), (422, vec!["unit_id".to_string()]), "{v}");
    let future = Utc::now() + Duration::hours(2);
    let (status, v) = app
        .api(
            Method::POST,
            "/api/v1/complaints",
            &manager,
            Some(json!({"kind": "complaint", "channel": "hotline", "subject": "x", "customer_id": east, "received_at": future})),
        )
        .await;
    assert_eq!((status, fields(&v)), (422, vec!["received_at".to_string()]), "{v}");
    let (status, v) = app
        .api(
            Method::POST,
            "/api/v1/complaints",
            &dispatcher,
            Some(json!({"kind": "complaint", "channel": "hotline", "subject": "x", "customer_id": south})),
        )
        .await;
    assert_eq!((status, fields(&v)), (422, vec!["customer_id".to_string()]), "another region's customer: {v}");

    // Nothing was written by the refusals.
    let (_, all) = app.api(Method::GET, "/api/v1/complaints?view=all", &manager, None).await;
    assert_eq!(all["items"], json!([]));

    // A caller who gives only a phone; and a letter received three days ago, now overdue.
    let (status, anon) = app
        .api(
            Method::POST,
            "/api/v1/complaints",
            &dispatcher,
            Some(
                json!({"kind": "complaint", "channel": "hotline", "subject": "电话无人接听", "contact_name": "周先生",
                "contact_phone": "138 0013 8000"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{anon}");
    assert_eq!(anon["complaint"]["contact_phone"], "13800138000");
    assert_eq!(anon["complaint"]["region_code"], "east", "the office's region");
    assert_eq!(anon["complaint"]["department"], "service");
    let three_days = Utc::now() - Duration::days(3);
    let (status, late) = app
        .api(
            Method::POST,
            "/api/v1/complaints",
            &manager,
            Some(json!({"kind": "complaint", "channel": "letter", "subject": "来函投诉服务态度", "customer_id": south,
                "received_at": three_days})),
        )
        .await;
    assert_eq!(status, 201, "{late}");
    assert_eq!(late["deadlines"][0]["state"], "breached", "24 hours have passed: {late}");

    let (_, mine) = app.api(Method::GET, "/api/v1/complaints", &dispatcher, None).await;
    let ids: Vec<&Value> = mine["items"].as_array().unwrap().iter().map(|k| &k["id"]).collect();
    assert_eq!(ids, [&anon["complaint"]["id"]], "the east office sees only east: {mine}");
    let late_id = late["complaint"]["id"].as_i64().unwrap();
    let (status, _) = app.api(Method::GET, &format!("/api/v1/complaints/{late_id}"), &dispatcher, None).await;
    assert_eq!(status, 404);
    let (_, overdue) = app.api(Method::GET, "/api/v1/complaints?view=overdue", &manager, None).await;
    let ids: Vec<i64> = overdue["items"].as_array().unwrap().iter().map(|k| k["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [late_id], "{overdue}");
    // The broken promise is escalated to the service manager once, whichever instance sweeps.
    let now = Utc::now();
    assert_eq!(aftersales::service::complaints::escalate(&app.db, now).await.unwrap(), 1);
    assert_eq!(aftersales::service::complaints::escalate(&app.another_instance().await.db, now).await.unwrap(), 0);
    let told = {
        let mut c = app.db.read().await.unwrap();
        let rows: Vec<String> = aftersales::on_conn!(c.conn(), |e| {
            sqlx::query_scalar("SELECT recipient FROM outbox WHERE event = 'complaint_overdue'")
                .fetch_all(&mut *e)
                .await
                .unwrap()
        });
        rows
    };
    assert_eq!(told, ["manager@demo.example.cn"]);
    let (_, d) = app.api(Method::GET, &format!("/api/v1/complaints/{late_id}"), &manager, None).await;
    let last = d["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["action"].as_str(), last["detail"].as_str()), (Some("escalate"), Some("acknowledge")), "{d}");
    let (_, page) = app.api(Method::GET, "/api/v1/complaints?limit=1", &manager, None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let next = page["next_before"].as_str().unwrap();
    let (_, page2) =
        app.api(Method::GET, &format!("/api/v1/complaints?limit=1&before={}", urlencoding(next)), &manager, None).await;
    assert_eq!(page2["items"][0]["id"], late["complaint"]["id"], "newest first: {page2}");
    assert!(page2["next_before"].is_null());
    let (status, _) = app.api(Method::GET, "/api/v1/complaints?view=soon", &manager, None).await;
    assert_eq!(status, 422);
    let (status, _) = app.api(Method::GET, "/api/v1/complaints", &engineer, None).await;
    assert_eq!(status, 403, "engineers do not work complaints");
}

async fn new(app: &TestApp, token: &str, customer: i64, mut body: Value) -> Value {
    body["customer_id"] = json!(customer);
    body["channel"] = json!("hotline");
    let (status, v) = app.api(Method::POST, "/api/v1/complaints", token, Some(body)).await;
    assert_eq!(status, 201, "{v}");
    v
}

fn urlencoding(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn suggestions_praise_severity_changes_and_the_policy_as_data(app: &TestApp) {
    let dispatcher = app.token("dispatcher").await;
    let quality = app.token("quality").await;
    let manager = app.token("manager").await;
    let east = customer_in(app, "east").await;

    let s = new(app, &dispatcher, east, json!({"kind": "suggestion", "subject": "希望增加微信预约"})).await;
    assert_eq!(s["deadlines"], json!([]), "suggestions carry no deadlines");
    let (status, v) = act(app, &dispatcher, &s, json!({"action": "answer", "channel": "phone", "text": "x"})).await;
    assert_eq!(status, 422);
    assert!(v["error"]["fields"]["action"][0].as_str().unwrap().contains("建议"), "{v}");
    let s = ok(app, &dispatcher, &s, json!({"action": "forward", "department": "service", "valuable": true})).await;
    assert_eq!(s["complaint"]["status"], "forwarded");
    let (status, v) = act(app, &dispatcher, &s, json!({"action": "conclude"})).await;
    assert_eq!((status, fields(&v)), (422, vec!["adopted".to_string()]));
    let s = ok(app, &dispatcher, &s, json!({"action": "conclude", "adopted": true, "text": "下季度上线"})).await;
    assert_eq!(s["complaint"]["status"], "closed");

    let engineer = user_id(app, "engineer").await;
    let (status, p) = app
        .api(
            Method::POST,
            "/api/v1/complaints",
            &dispatcher,
            Some(json!({"kind": "praise", "channel": "letter", "customer_id": east, "engineer_id": engineer,
                "subject": "感谢张工耐心维修"})),
        )
        .await;
    assert_eq!(status, 201, "{p}");
    assert_eq!(p["complaint"]["engineer_name"], "张伟");
    let p = ok(app, &dispatcher, &p, json!({"action": "acknowledge"})).await;
    assert_eq!(p["complaint"]["status"], "closed");
    let (status, v) = app
        .api(
            Method::POST,
            "/api/v1/complaints",
            &dispatcher,
            Some(json!({"kind": "praise", "channel": "letter", "customer_id": east, "engineer_id": user_id(app, "dispatcher").await, "subject": "x"})),
        )
        .await;
    assert_eq!((status, fields(&v)), (422, vec!["engineer_id".to_string()]));

    // Escalation is anyone's; downgrading a major complaint is quality's or a manager's.
    let k = new(app, &dispatcher, east, json!({"kind": "complaint", "subject": "维修人员迟到"})).await;
    assert_eq!(k["complaint"]["department"], "service");
    let k = ok(app, &dispatcher, &k, json!({"action": "reclassify", "severity": "major", "text": "客户已向媒体反映"}))
        .await;
    assert_eq!(
        (k["complaint"]["severity"].as_str(), k["complaint"]["department"].as_str()),
        (Some("major"), Some("quality"))
    );
    let (status, v) =
        act(app, &dispatcher, &k, json!({"action": "reclassify", "severity": "general", "text": "x"})).await;
    assert_eq!(status, 422, "{v}");
    let (status, v) = act(app, &quality, &k, json!({"action": "reclassify", "severity": "major", "text": "x"})).await;
    assert_eq!((status, fields(&v)), (422, vec!["action".to_string(), "severity".to_string()]), "{v}");
    let k =
        ok(app, &quality, &k, json!({"action": "reclassify", "severity": "general", "text": "核实后为一般投诉"})).await;
    assert_eq!(k["complaint"]["department"], "service");
    assert_eq!(
        mails(app, "complaint_registered").await.iter().filter(|r| r.starts_with("quality@")).count(),
        1,
        "quality heard of it when it became major"
    );
    let (status, _) = act(app, &dispatcher, &k, json!({"action": "cancel", "text": "重复登记"})).await;
    assert_eq!(status, 422, "only managers cancel");
    let k = ok(app, &manager, &k, json!({"action": "cancel", "text": "重复登记"})).await;
    assert_eq!(k["complaint"]["status"], "cancelled");
    assert_eq!(k["deadlines"], json!([]));
    let (_, o) = app.api(Method::GET, "/api/v1/complaints/objective", &manager, None).await;
    assert_eq!(o["major"], 0, "a cancelled record does not count: {o}");
    assert_eq!((o["summary"]["valuable"].as_i64(), o["summary"]["adopted"].as_i64()), (Some(1), Some(1)), "{o}");
    assert_eq!(o["summary"]["praise"], 1);

    // The policy is versioned data: managers edit it, records keep the version they started with.
    let (_, p) = app.api(Method::GET, "/api/v1/complaint-policy", &dispatcher, None).await;
    assert_eq!(p["version"], 1);
    let mut policy = p["policy"].clone();
    let (status, _) = app
        .api(Method::PUT, "/api/v1/complaint-policy", &dispatcher, Some(json!({"version": 1, "policy": policy})))
        .await;
    assert_eq!(status, 403);
    policy["general"]["answer"]["minutes"] = json!(0);
    policy["calendar"] = json!("no-such-calendar");
    let (status, v) = app
        .api(Method::PUT, "/api/v1/complaint-policy", &manager, Some(json!({"version": 1, "policy": policy.clone()})))
        .await;
    assert_eq!((status, fields(&v)), (422, vec!["general.answer.minutes".to_string()]), "{v}");
    policy["general"]["answer"]["minutes"] = json!(3 * 480);
    let (status, v) = app
        .api(Method::PUT, "/api/v1/complaint-policy", &manager, Some(json!({"version": 1, "policy": policy.clone()})))
        .await;
    assert_eq!((status, fields(&v)), (422, vec!["calendar".to_string()]), "{v}");
    policy["calendar"] = json!(null);
    policy["major_per_year"] = json!(1);
    let (status, v) = app
        .api(Method::PUT, "/api/v1/complaint-policy", &manager, Some(json!({"version": 1, "policy": policy.clone()})))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["version"], 2);
    let (status, _) =
        app.api(Method::PUT, "/api/v1/complaint-policy", &manager, Some(json!({"version": 1, "policy": policy}))).await;
    assert_eq!(status, 409);
    let newer = new(app, &dispatcher, east, json!({"kind": "complaint", "subject": "上门时间不准"})).await;
    assert_eq!(newer["policy_version"], 2);
    let (_, older) =
        app.api(Method::GET, &format!("/api/v1/complaints/{}", k["complaint"]["id"]), &manager, None).await;
    assert_eq!(older["policy_version"], 1);
    let (_, o) = app.api(Method::GET, "/api/v1/complaints/objective", &manager, None).await;
    assert_eq!(o["allowed"], 1);

    // The register exports with its filters.
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/complaints/export?view=all&kind=suggestion&format=csv"))
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csv = res.text().await.unwrap();
    assert!(csv.contains("希望增加微信预约"), "{csv}");
    assert!(!csv.contains("上门时间不准"), "only suggestions: {csv}");
    assert_eq!(csv.lines().count(), 2, "{csv}");
}

async fn pages_register_a_complaint_once_and_take_its_steps(app: &TestApp) {
    let office = app.login("dispatcher", aftersales::demo::DEMO_PASSWORD).await;
    let east = customer_in(app, "east").await;
    let html = office.get(app.url(&format!("/complaints/new?customer_id={east}"))).send().await.unwrap();
    assert_eq!(html.status(), 200);
    let html = html.text().await.unwrap();
    assert!(html.contains("complaint-customer"), "the customer is chosen");
    let idem = html.split("name=\"idem\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert_eq!(idem.len(), 32);

    let customer = east.to_string();
    let mut form = vec![
        ("idem", idem.as_str()),
        ("customer_id", customer.as_str()),
        ("kind", "complaint"),
        ("severity", "general"),
        ("channel", "walk_in"),
        ("subject", ""),
    ];
    let res = office.post(app.url("/complaints/new")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("必填"), "the missing subject is named");
    form.pop();
    form.push(("subject", "前台接待态度差"));
    let res = office.post(app.url("/complaints/new")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let again = office.post(app.url("/complaints/new")).form(&form).send().await.unwrap();
    assert_eq!(again.headers()["location"].to_str().unwrap(), to, "a double click registers once");
    let id: i64 = to.trim_start_matches("/complaints/").parse().unwrap();

    let page = office.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("前台接待态度差") && page.contains("deadline-acknowledge"), "{page}");
    assert!(page.contains("id=\"do-answer\""), "the office handles a general complaint");
    let res = office
        .post(app.url(&to))
        .form(&[("action", "answer"), ("version", "1"), ("channel", "phone"), ("text", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = office
        .post(app.url(&to))
        .form(&[("action", "answer"), ("version", "1"), ("channel", "phone"), ("text", "已向客户致歉并加强培训")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let page = office.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("已向客户致歉并加强培训") && page.contains("id=\"do-accept\""), "{page}");

    let list = office.get(app.url("/complaints?view=all")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains(&format!("complaint-{id}")) && list.contains("objective-state"));
    let policy = office.get(app.url("/complaints/policy")).send().await.unwrap().text().await.unwrap();
    assert!(policy.contains("policy-terms") && !policy.contains("policy-form"), "the office reads the policy");
    let manager = app.login("manager", aftersales::demo::DEMO_PASSWORD).await;
    let res = manager
        .post(app.url("/complaints/policy"))
        .form(&[("version", "1"), ("policy", "{not json")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let order = completed_job(app, "LG120B0007", None).await;
    let page = manager
        .get(app.url(&format!("/work-orders/{}", order["order"]["id"])))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("order-complaint"), "the order page offers to register a complaint");
}
