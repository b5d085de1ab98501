//! Customer care beyond the single job (R6.3, R7.1): maintenance reminders planned from a
//! model's service interval, mailed once, worked from the visit queue into a maintenance
//! request and settled by the completed job; and periodic surveys sent to a chosen group of
//! customers — on both databases.

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::TestApp;
use crate::work_orders::{signature_data_url, user_id};
use aftersales::service::care;
use aftersales::store::care::VisitTask;

both!(maintenance_reminders_are_planned_mailed_worked_and_settled, a_periodic_survey_goes_to_a_chosen_group);

async fn exec(app: &TestApp, sql: &str) {
    let mut tx = app.db.begin().await.unwrap();
    aftersales::on_conn!(tx.conn(), |e| {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut *e).await.unwrap();
    });
    tx.commit().await.unwrap();
}

async fn reminders(app: &TestApp, customer: i64) -> Vec<VisitTask> {
    let mut c = app.db.read().await.unwrap();
    let all = aftersales::store::care::tasks_of_customer(c.conn(), customer, 1000).await.unwrap();
    all.into_iter().filter(|t| t.rule_code == "service-due").collect()
}

async fn outbox(app: &TestApp, event: &str) -> Vec<(String, String)> {
    let mut c = app.db.read().await.unwrap();
    aftersales::on_conn!(c.conn(), |e| {
        sqlx::query_as("SELECT recipient, body FROM outbox WHERE event = $1 ORDER BY id")
            .bind(event)
            .fetch_all(&mut *e)
            .await
            .unwrap()
    })
}

async fn step(app: &TestApp, token: &str, o: &Value, action: &str, mut body: Value) -> Value {
    let id = o["order"]["id"].as_i64().unwrap();
    body["version"] = o["order"]["version"].clone();
    let (status, v) =
        app.api(Method::POST, &format!("/api/v1/work-orders/{id}/actions/{action}"), token, Some(body)).await;
    assert_eq!(status, 200, "{action}: {v}");
    v
}

async fn maintenance_reminders_are_planned_mailed_worked_and_settled(app: &TestApp) {
    let manager = app.token("manager").await;
    let today = aftersales::service::work_orders::today();
    let (_, u) = app.api(Method::GET, "/api/v1/units?number=LG120B0007", &manager, None).await;
    let unit = u["items"][0]["id"].as_i64().unwrap();
    let customer = u["items"][0]["customer_id"].as_i64().unwrap();
    exec(app, &format!("UPDATE customers SET email = 'plant@example.cn' WHERE id = {customer}")).await;

    // The demo's compressor model is serviced every 6 months from its installation (400 days ago).
    let s = rules::care::UnitService { unit_id: unit, base: today - Duration::days(400), interval_months: 6 };
    let service = s.next_due(today + Duration::days(14)).unwrap();
    let out = care::plan(&app.db, today, service, |_| {}).await.unwrap();
    assert!(out.added >= 1);
    let r = reminders(app, customer).await;
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].due_on, service - Duration::days(14), "14 days before the service");
    assert_eq!(r[0].period_key, format!("unit:{unit}:{service}"));
    assert_eq!((r[0].unit_id, r[0].unit_serial.as_deref()), (Some(unit), Some("LG120B0007")));
    let again = care::plan(&app.db, today, service, |_| {}).await.unwrap();
    assert_eq!(again.added, 0, "planned once");

    // Planned months ahead, mailed on the reminder's day (14 days before the service), not before.
    let on_the_day = chrono::Utc::now() + Duration::days((r[0].due_on - today).num_days());
    let day_before = on_the_day - Duration::days(1);
    assert_eq!(care::notify_service_due(&app.db, chrono::Utc::now()).await.unwrap(), 0, "not due yet");
    assert_eq!(care::notify_service_due(&app.db, day_before).await.unwrap(), 0, "not due yet");
    assert!(outbox(app, "service_due").await.is_empty());
    // The customer is told once, by e-mail from the outbox.
    assert_eq!(care::notify_service_due(&app.db, on_the_day).await.unwrap(), 1);
    assert_eq!(care::notify_service_due(&app.db, on_the_day).await.unwrap(), 0);
    let mails = outbox(app, "service_due").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].0, "plant@example.cn");
    assert!(mails[0].1.contains("LG120B0007") && mails[0].1.contains(&service.to_string()), "{}", mails[0].1);
    let id = r[0].id;
    let (_, t) = app.api(Method::GET, &format!("/api/v1/visits/{id}"), &manager, None).await;
    assert_eq!(t["notified"], "email", "{t}");

    // The agent calls and goes on to the maintenance request, preset for the unit.
    let office = app.login("dispatcher", aftersales::demo::DEMO_PASSWORD).await;
    let page = office.get(app.url(&format!("/visits/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("task-unit") && page.contains("LG120B0007"), "the task names the unit");
    let version = t["version"].to_string();
    let res = office
        .post(app.url(&format!("/visits/{id}")))
        .form(&[
            ("version", version.as_str()),
            ("channel", "phone"),
            ("outcome", "reached"),
            ("needs", "约下周二保养"),
            ("then", "request"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(to, format!("/work-orders/new?unit_id={unit}&kind=maintenance"));
    let page = office.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"value="maintenance" selected"#), "the request type is preset");

    // The next reminder is planned; the maintenance job settles it and restarts the interval.
    let s2 = s.next_due(service + Duration::days(1)).unwrap();
    care::plan(&app.db, service, s2, |_| {}).await.unwrap();
    let open: Vec<VisitTask> = reminders(app, customer).await.into_iter().filter(|t| t.status == "open").collect();
    assert_eq!(open.len(), 1, "{open:?}");
    let dispatcher = app.token("dispatcher").await;
    let engineer = app.token("engineer").await;
    let body = json!({"channel": "hotline", "kind": "maintenance", "customer_id": customer, "unit_id": unit, "problem": "定期保养"});
    let (status, o) = app.api(Method::POST, "/api/v1/work-orders", &dispatcher, Some(body)).await;
    assert_eq!(status, 201, "{o}");
    let o = step(app, &dispatcher, &o, "assign", json!({"engineer_id": user_id(app, "engineer").await})).await;
    let (_, o) = app.api(Method::GET, &format!("/api/v1/work-orders/{}", o["order"]["id"]), &engineer, None).await;
    let o = step(app, &engineer, &o, "accept", json!({})).await;
    let o = step(app, &engineer, &o, "arrive", json!({})).await;
    let report = json!({"work_done": "更换润滑油和滤芯", "signed_by": "王建华", "signature": signature_data_url()});
    let o = step(app, &engineer, &o, "complete", report).await;
    let settled: Vec<VisitTask> = reminders(app, customer).await.into_iter().filter(|t| t.id == open[0].id).collect();
    assert_eq!(settled[0].status, "cancelled");
    assert!(settled[0].note.contains(o["number"].as_str().unwrap()), "{:?}", settled[0]);
    let fresh = rules::care::UnitService { base: today, ..s };
    let next = fresh.next_due(today + Duration::days(1)).unwrap();
    care::plan(&app.db, today, next, |_| {}).await.unwrap();
    let keys: Vec<String> = reminders(app, customer).await.into_iter().map(|t| t.period_key).collect();
    assert!(keys.contains(&format!("unit:{unit}:{next}")), "counted from the service just done: {keys:?}");

    // The interval is the model's, edited on the products page and checked.
    let res = office
        .post(app.url("/products"))
        .form(&[
            ("code", "HX-TEST"),
            ("name", "测试机组"),
            ("category", "compressor"),
            ("grade", "high"),
            ("policy", "seed-company"),
            ("service_interval_months", "0"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("保养周期须在 1 到 120 个月之间"));
}

async fn a_periodic_survey_goes_to_a_chosen_group(app: &TestApp) {
    let manager = app.token("manager").await;
    let dispatcher = app.token("dispatcher").await;
    let count_of = |sql: &'static str| async move {
        let mut c = app.db.read().await.unwrap();
        let n: i64 = aftersales::on_conn!(c.conn(), |e| sqlx::query_scalar(sql).fetch_one(&mut *e).await.unwrap());
        n
    };
    let ab = count_of("SELECT COUNT(*) FROM customers WHERE class IN ('A', 'B') AND deleted_at IS NULL").await;
    assert!(ab >= 2, "the demo has A and B customers");
    exec(
        app,
        "UPDATE customers SET email = 'buyer@example.cn' WHERE id = (SELECT MIN(id) FROM customers WHERE class = 'A')",
    )
    .await;

    let group = json!({"classes": ["A", "B"]});
    let (status, _) = app.api(Method::POST, "/api/v1/survey-campaigns/preview", &dispatcher, Some(group.clone())).await;
    assert_eq!(status, 403, "managers send surveys");
    let (_, p) = app.api(Method::POST, "/api/v1/survey-campaigns/preview", &manager, Some(group.clone())).await;
    assert_eq!(p["customers"], ab);
    let bad = json!({"classes": ["D"], "region": "mars", "category": "rockets"});
    let (status, v) = app.api(Method::POST, "/api/v1/survey-campaigns/preview", &manager, Some(bad)).await;
    assert_eq!(status, 422);
    let mut fields: Vec<&String> = v["error"]["fields"].as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(fields, ["group.category", "group.classes", "group.region"]);
    exec(app, "INSERT INTO regions (code, name_zh, name_en) VALUES ('xinjiang', '新疆', 'Xinjiang')").await;
    let (status, v) = app
        .api(
            Method::POST,
            "/api/v1/survey-campaigns",
            &manager,
            Some(json!({"name": "空", "group": {"region": "xinjiang"}})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(v["error"]["fields"]["group"].is_array(), "an empty group: {v}");
    let (status, v) = app.api(Method::POST, "/api/v1/survey-campaigns", &manager, Some(json!({"group": group}))).await;
    assert_eq!((status, v["error"]["fields"]["name"].is_array()), (422, true), "{v}");

    let body = json!({"name": "2026 年第四季度满意度调查", "group": group});
    let send = || {
        reqwest::Client::new()
            .post(app.url("/api/v1/survey-campaigns"))
            .bearer_auth(&manager)
            .header("Idempotency-Key", "q4-2026")
            .json(&body)
            .send()
    };
    let res = send().await.unwrap();
    assert_eq!(res.status(), 201);
    let k: Value = res.json().await.unwrap();
    assert_eq!((k["surveys"].as_i64(), k["emailed"].as_i64()), (Some(ab), Some(1)), "{k}");
    let again: Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(again["id"], k["id"], "a retried send sends nothing twice");
    let mails = outbox(app, "survey_campaign").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].0, "buyer@example.cn");

    let id = k["id"].as_i64().unwrap();
    let (_, d) = app.api(Method::GET, &format!("/api/v1/survey-campaigns/{id}?limit=500"), &manager, None).await;
    let links = d["links"].as_array().unwrap();
    assert_eq!(links.len() as i64, ab);
    let link = links.iter().find(|l| l["email"] == "buyer@example.cn").unwrap();
    let token = link["token"].as_str().unwrap();
    assert!(mails[0].1.contains(&format!("/s/{token}")), "the mail carries the customer's own link");
    let (status, s) = app.api(Method::GET, &format!("/api/v1/public/surveys/{token}"), "", None).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["campaign"], "2026 年第四季度满意度调查");
    let today = aftersales::service::work_orders::today();
    let q = format!("/api/v1/satisfaction?from={today}&to={today}");
    let (_, before) = app.api(Method::GET, &q, &manager, None).await;
    let answer = json!({"overall": 5, "comment": "服务很好"});
    let (status, _) = app.api(Method::POST, &format!("/api/v1/public/surveys/{token}"), "", Some(answer.clone())).await;
    assert_eq!(status, 200);
    let (status, _) = app.api(Method::POST, &format!("/api/v1/public/surveys/{token}"), "", Some(answer)).await;
    assert_eq!(status, 409, "one answer per link");
    let (_, after) = app.api(Method::GET, &q, &manager, None).await;
    assert_eq!(after["total"]["responses"].as_i64().unwrap(), before["total"]["responses"].as_i64().unwrap() + 1);
    let (_, list) = app.api(Method::GET, "/api/v1/survey-campaigns", &dispatcher, None).await;
    assert_eq!((list[0]["answered"].as_i64(), list[0]["satisfied"].as_i64()), (Some(1), Some(1)), "{list}");

    // An agent of a region works the links of that region's customers.
    let (_, mine) = app.api(Method::GET, &format!("/api/v1/survey-campaigns/{id}?limit=500"), &dispatcher, None).await;
    let east = count_of("SELECT COUNT(*) FROM customers WHERE class IN ('A', 'B') AND region_code = 'east'").await;
    assert_eq!(mine["links"].as_array().unwrap().len() as i64, east);

    let res = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/survey-campaigns/{id}/export?format=csv")))
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csv = res.text().await.unwrap();
    assert!(csv.contains(&format!("/s/{token}")), "{csv}");
    assert_eq!(csv.lines().count() as i64, ab + 1, "a header and a line a customer");

    // The pages: count first, then send once.
    let c = app.login("manager", aftersales::demo::DEMO_PASSWORD).await;
    let page = c.get(app.url("/surveys/campaigns")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("campaign-form") && page.contains(&format!("campaign-{id}")));
    let idem = page.split("name=\"idem\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let form = [("idem", idem.as_str()), ("name", "重点客户回访调查"), ("key_only", "1")];
    let res = c
        .post(app.url("/surveys/campaigns"))
        .form(&[form[0], form[1], form[2], ("then", "count")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("campaign-count"));
    let res = c.post(app.url("/surveys/campaigns")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let again = c.post(app.url("/surveys/campaigns")).form(&form).send().await.unwrap();
    assert_eq!(again.headers()["location"].to_str().unwrap(), to);
    let page = c.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("campaign-link-list") && page.contains("重点客户回访调查"));
}
