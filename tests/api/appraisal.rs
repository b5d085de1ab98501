//! Monthly staff appraisal (R9.4, RULES §7) as its users meet it: the service manager sets the
//! engineers' scheme and opens a month (once), KPIs are measured from orders completed through
//! the API, each engineer enters his self-assessment and sees only his own row, the manager
//! enters his (a large departure from the measured score needs a reason), closing is refused
//! while a score is missing, then ranks: self 30 % + manager 70 %, first rewarded, last with a
//! plan due in 7 days, three months last in a row → transfer considered; the ranking exports.
//! The last places and those who follow them up are e-mailed when the ranking is made, and
//! reminded once when the plan is overdue. On both databases.

use chrono::Datelike;
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::TestApp;
use crate::work_orders::{signature_data_url, user_id};
use aftersales::service::work_orders::today;

both!(
    a_month_is_measured_scored_closed_and_ranked,
    pages_show_each_person_his_own_appraisal,
    an_engineer_assesses_himself_on_a_phone_and_the_manager_sees_it,
    every_role_s_scheme_is_measured,
    last_places_are_mailed_once_and_reminded_once_when_overdue,
);

fn fields(v: &Value) -> Vec<String> {
    let mut f: Vec<String> = v["error"]["fields"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    f.sort();
    f
}

async fn step(app: &TestApp, token: &str, order: &Value, action: &str, mut body: Value) -> Value {
    let id = order["order"]["id"].as_i64().unwrap();
    body["version"] = order["order"]["version"].clone();
    let (status, v) =
        app.api(Method::POST, &format!("/api/v1/work-orders/{id}/actions/{action}"), token, Some(body)).await;
    assert_eq!(status, 200, "{action}: {v}");
    v
}

/// A repair registered by the dispatcher and completed by `engineer` through the API.
async fn complete_an_order(app: &TestApp, engineer_login: &str) -> i64 {
    // The manager registers: the unit's customer may be outside the dispatcher's region.
    let dispatcher = app.token("manager").await;
    let engineer = app.token(engineer_login).await;
    let (_, u) = app.api(Method::GET, "/api/v1/units?number=KF35A0010", &dispatcher, None).await;
    let u = &u["items"][0];
    let body = json!({"channel": "hotline", "kind": "repair", "priority": "normal", "customer_id": u["customer_id"],
        "unit_id": u["id"], "problem": "不制冷"});
    let (status, o) = app.api(Method::POST, "/api/v1/work-orders", &dispatcher, Some(body)).await;
    assert_eq!(status, 201, "{o}");
    let o = step(app, &dispatcher, &o, "assign", json!({"engineer_id": user_id(app, engineer_login).await})).await;
    let (_, o) = app.api(Method::GET, &format!("/api/v1/work-orders/{}", o["order"]["id"]), &engineer, None).await;
    let o = step(app, &engineer, &o, "accept", json!({})).await;
    let o = step(app, &engineer, &o, "arrive", json!({})).await;
    let report = json!({"fault_code": "AC-E1", "work_done": "补充冷媒", "signed_by": "王先生",
        "signature": signature_data_url()});
    let o = step(app, &engineer, &o, "complete", report).await;
    assert_eq!(o["order"]["status"], "completed");
    o["order"]["id"].as_i64().unwrap()
}

fn row_of(month: &Value, user: i64) -> &Value {
    month["rows"].as_array().unwrap().iter().find(|r| r["row"]["user_id"] == user).expect("a row for the user")
}

/// Opens `month` for engineers and returns (month id, version, row of engineer 1, row of engineer 2).
async fn open(app: &TestApp, manager: &str, month: &str, e1: i64, e2: i64) -> (i64, i64, Value, Value) {
    let (status, v) = app
        .api(Method::POST, "/api/v1/appraisal/months", manager, Some(json!({"month": month, "role": "engineer"})))
        .await;
    assert!(status == 201 || status == 200, "{v}");
    let id = v["month"]["id"].as_i64().unwrap();
    (id, v["month"]["version"].as_i64().unwrap(), row_of(&v, e1).clone(), row_of(&v, e2).clone())
}

async fn put(app: &TestApp, token: &str, row: &Value, what: &str, mut body: Value) -> (u16, Value) {
    let id = row["row"]["id"].as_i64().unwrap();
    let (_, fresh) = app.api(Method::GET, &format!("/api/v1/appraisal/rows/{id}"), token, None).await;
    body["version"] = fresh["row"]["version"].clone();
    app.api(Method::PUT, &format!("/api/v1/appraisal/rows/{id}/{what}"), token, Some(body)).await
}

/// A past month in which engineer 2 ends last (nothing measured: KPI 0 for both).
async fn a_month_engineer2_ends_last(app: &TestApp, month: &str, e1: i64, e2: i64) {
    let manager = app.token("manager").await;
    let (t1, t2) = (app.token("engineer").await, app.token("engineer2").await);
    let (id, version, r1, r2) = open(app, &manager, month, e1, e2).await;
    assert_eq!((r1["row"]["kpi_score"].as_f64(), r2["row"]["kpi_score"].as_f64()), (Some(0.0), Some(0.0)));
    assert_eq!(put(app, &t1, &r1, "self", json!({"score": 80})).await.0, 200);
    assert_eq!(put(app, &t2, &r2, "self", json!({"score": 60})).await.0, 200);
    assert_eq!(put(app, &manager, &r1, "manager", json!({"score": 10})).await.0, 200);
    assert_eq!(put(app, &manager, &r2, "manager", json!({})).await.0, 200, "the measured 0 by default");
    let (status, v) = app
        .api(Method::POST, &format!("/api/v1/appraisal/months/{id}/close"), &manager, Some(json!({"version": version})))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(row_of(&v, e2)["row"]["last_place"], true);
}

async fn a_month_is_measured_scored_closed_and_ranked(app: &TestApp) {
    let manager = app.token("manager").await;
    let t1 = app.token("engineer").await;
    let t2 = app.token("engineer2").await;
    let (e1, e2) = (user_id(app, "engineer").await, user_id(app, "engineer2").await);
    let this = today().format("%Y-%m").to_string();
    let prev1 = (today().with_day(1).unwrap() - chrono::TimeDelta::days(1)).format("%Y-%m").to_string();
    let prev2 = (today().with_day(1).unwrap() - chrono::TimeDelta::days(40)).format("%Y-%m").to_string();

    // The scheme is data: the manager keeps two items; bad items are refused field by field.
    let (status, schemes) = app.api(Method::GET, "/api/v1/appraisal/schemes", &manager, None).await;
    assert_eq!(status, 200);
    let eng = schemes.as_array().unwrap().iter().find(|s| s["scheme"]["role"] == "engineer").unwrap();
    assert_eq!(eng["items"].as_array().unwrap().len(), 5, "the default engineer scheme: {eng}");
    let version = eng["scheme"]["version"].as_i64().unwrap();
    let bad = json!({"version": version, "items": [{"kpi": "speed", "weight": 0, "target": 150, "rule": "x"}]});
    let (status, v) = app.api(Method::PUT, "/api/v1/appraisal/schemes/engineer", &manager, Some(bad)).await;
    assert_eq!(status, 422);
    assert_eq!(fields(&v), ["items[0].kpi", "items[0].rule", "items[0].weight"]);
    let scheme = json!({"version": version, "items": [
        {"kpi": "completed_orders", "weight": 60, "target": 2, "rule": "linear"},
        {"kpi": "first_time_fix", "weight": 40, "target": 95, "rule": "linear"}]});
    let (status, v) = app.api(Method::PUT, "/api/v1/appraisal/schemes/engineer", &manager, Some(scheme.clone())).await;
    assert_eq!(status, 200, "{v}");
    let (status, _) = app.api(Method::PUT, "/api/v1/appraisal/schemes/engineer", &manager, Some(scheme)).await;
    assert_eq!(status, 409, "a stale scheme version");
    let (status, _) = app.api(Method::GET, "/api/v1/appraisal/schemes", &t1, None).await;
    assert_eq!(status, 403);

    // Two earlier months with engineer 2 last.
    a_month_engineer2_ends_last(app, &prev2, e1, e2).await;
    a_month_engineer2_ends_last(app, &prev1, e1, e2).await;

    // This month engineer 1 completes an order, engineer 2 none.
    let order = complete_an_order(app, "engineer").await;
    let (status, v) = app
        .api(Method::POST, "/api/v1/appraisal/months", &manager, Some(json!({"month": "2026-13", "role": "boss"})))
        .await;
    assert_eq!((status, fields(&v)), (422, vec!["month".to_string(), "role".to_string()]));
    let (status, _) =
        app.api(Method::POST, "/api/v1/appraisal/months", &t1, Some(json!({"month": this, "role": "engineer"}))).await;
    assert_eq!(status, 403);
    let (status, first) = app
        .api(Method::POST, "/api/v1/appraisal/months", &manager, Some(json!({"month": this, "role": "engineer"})))
        .await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = app
        .api(Method::POST, "/api/v1/appraisal/months", &manager, Some(json!({"month": this, "role": "engineer"})))
        .await;
    assert_eq!(status, 200, "opening twice creates nothing");
    assert_eq!(again["month"]["id"], first["month"]["id"]);
    assert_eq!(again["rows"].as_array().unwrap().len(), 2, "one row per active engineer");
    let id = first["month"]["id"].as_i64().unwrap();
    let (r1, r2) = (row_of(&first, e1).clone(), row_of(&first, e2).clone());
    // By hand: engineer 1 — 1 of 2 orders → 50, fixed first time 1/1 → 100: (50×60 + 100×40)/100 = 70.
    // Engineer 2 — 0 orders → 0; no job to fix first time: left out → 0.
    assert_eq!(r1["row"]["kpi_score"], 70.0, "{r1}");
    assert_eq!(r2["row"]["kpi_score"], 0.0, "{r2}");
    let done = r1["items"].as_array().unwrap().iter().find(|i| i["kpi"] == "completed_orders").unwrap();
    assert_eq!((done["numerator"].as_i64(), done["score"].as_f64()), (Some(1), Some(50.0)));
    assert_eq!(done["counted"], json!([order]), "the figure lists the order it counted");
    let ftf = r2["items"].as_array().unwrap().iter().find(|i| i["kpi"] == "first_time_fix").unwrap();
    assert!(ftf["score"].is_null() && ftf["value"].is_null(), "{ftf}");

    // Each engineer sees only his own row.
    let (status, mine) = app.api(Method::GET, &format!("/api/v1/appraisal/months/{id}"), &t1, None).await;
    assert_eq!(status, 200);
    assert_eq!(mine["rows"].as_array().unwrap().len(), 1);
    assert_eq!(mine["rows"][0]["row"]["user_id"], e1);
    let r2_id = r2["row"]["id"].as_i64().unwrap();
    let (status, _) = app.api(Method::GET, &format!("/api/v1/appraisal/rows/{r2_id}"), &t1, None).await;
    assert_eq!(status, 404, "another's row does not exist for him");
    let body = json!({"version": r2["row"]["version"], "score": 100});
    let (status, _) = app.api(Method::PUT, &format!("/api/v1/appraisal/rows/{r2_id}/self"), &t1, Some(body)).await;
    assert_eq!(status, 404, "nor may he assess for him");

    // Self-assessments, field by field.
    let (status, v) = put(app, &t2, &r2, "self", json!({"score": 150})).await;
    assert_eq!((status, fields(&v)), (422, vec!["score".to_string()]));
    assert_eq!(put(app, &t1, &r1, "self", json!({"score": 90, "comment": "本月完成维修及时"})).await.0, 200);
    // Closing with scores missing names each.
    let (_, m) = app.api(Method::GET, &format!("/api/v1/appraisal/months/{id}"), &manager, None).await;
    let version = m["month"]["version"].as_i64().unwrap();
    let close = json!({"version": version});
    let (status, v) =
        app.api(Method::POST, &format!("/api/v1/appraisal/months/{id}/close"), &manager, Some(close.clone())).await;
    assert_eq!(status, 422);
    let (i1, i2) = (r1["row"]["id"].as_i64().unwrap(), r2_id);
    let mut expected = vec![
        format!("rows[{i1}].manager_score"),
        format!("rows[{i2}].manager_score"),
        format!("rows[{i2}].self_score"),
    ];
    expected.sort();
    assert_eq!(fields(&v), expected);
    assert!(v["error"]["fields"][format!("rows[{i2}].self_score")][0].as_str().unwrap().contains("刘洋"), "{v}");
    assert_eq!(put(app, &t2, &r2, "self", json!({"score": 80})).await.0, 200);

    // The manager starts from the measured score; a departure beyond 10 points needs a reason.
    let (_, row) = app.api(Method::GET, &format!("/api/v1/appraisal/rows/{i1}"), &manager, None).await;
    assert_eq!(row["manager_start"], 70.0);
    assert_eq!(put(app, &manager, &r1, "manager", json!({})).await.0, 200, "taking the measured 70");
    let (status, v) = put(app, &manager, &r2, "manager", json!({"score": 50})).await;
    assert_eq!((status, fields(&v)), (422, vec!["reason".to_string()]));
    let (status, v) = put(app, &manager, &r2, "manager", json!({"score": 101, "reason": "x"})).await;
    assert_eq!((status, fields(&v)), (422, vec!["score".to_string()]));
    let (status, v) =
        put(app, &manager, &r2, "manager", json!({"score": 50, "reason": "南区工单少，本月支援仓库盘点"})).await;
    assert_eq!(status, 200, "{v}");
    let (status, _) = put(app, &t1, &r1, "manager", json!({"score": 100})).await;
    assert_eq!(status, 403);

    // Closing ranks: 90×30 % + 70×70 % = 76; 80×30 % + 50×70 % = 59.
    let (status, _) = app
        .api(
            Method::POST,
            &format!("/api/v1/appraisal/months/{id}/close"),
            &manager,
            Some(json!({"version": version + 7})),
        )
        .await;
    assert_eq!(status, 409, "a stale month version");
    let (status, m) =
        app.api(Method::POST, &format!("/api/v1/appraisal/months/{id}/close"), &manager, Some(close)).await;
    assert_eq!(status, 200, "{m}");
    let (a, b) = (row_of(&m, e1)["row"].clone(), row_of(&m, e2)["row"].clone());
    assert_eq!(
        (a["final_score"].as_f64(), a["place"].as_i64(), a["reward"].as_bool()),
        (Some(76.0), Some(1), Some(true))
    );
    assert_eq!(
        (b["final_score"].as_f64(), b["place"].as_i64(), b["last_place"].as_bool()),
        (Some(59.0), Some(2), Some(true))
    );
    assert!(a["rank_rule"].as_str().unwrap().contains("RULES §7"));
    let due = (today() + chrono::TimeDelta::days(7)).to_string();
    assert_eq!(b["plan_due"], due.as_str());
    // Third month in a row last: a transfer is to be considered.
    assert_eq!((b["last_streak"].as_i64(), b["transfer"].as_bool()), (Some(3), Some(true)), "{b}");
    assert!(b["rank_rule"].as_str().unwrap().contains("transfer"));
    assert_eq!(a["transfer"], false);
    let (status, _) = put(app, &t1, &r1, "self", json!({"score": 100})).await;
    assert_eq!(status, 409, "a closed month is frozen");

    // The last place hands in his reason and plan; the first has none to give.
    let (status, v) = put(app, &t2, &r2, "plan", json!({})).await;
    assert_eq!((status, fields(&v)), (422, vec!["plan".to_string(), "reason".to_string()]));
    let (status, v) = put(app, &t2, &r2, "plan", json!({"reason": "区域工单少", "plan": "跟师傅学习压缩机维修"})).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["row"]["plan_at"].is_string());
    let (status, _) = put(app, &t1, &r1, "plan", json!({"reason": "a", "plan": "b"})).await;
    assert_eq!(status, 409);

    // The plans not in: the earlier months' ones; one made overdue is flagged.
    let mut tx = app.db.begin().await.unwrap();
    aftersales::on_conn!(tx.conn(), |e| {
        sqlx::query("UPDATE appraisal_rows SET plan_due = $1 WHERE plan_at IS NULL AND last_place")
            .bind(today() - chrono::TimeDelta::days(1))
            .execute(&mut *e)
            .await
            .map(|_| ())
            .unwrap()
    });
    tx.commit().await.unwrap();
    let (_, o) = app.api(Method::GET, "/api/v1/appraisal", &manager, None).await;
    let plans = o["plans"].as_array().unwrap();
    assert_eq!(plans.len(), 2, "{o}");
    assert!(plans.iter().all(|p| p["overdue"] == true && p["plan"]["user_id"] == e2));
    let (_, own) = app.api(Method::GET, "/api/v1/appraisal", &t1, None).await;
    assert!(own["plans"].as_array().unwrap().is_empty(), "not his to see");
    assert_eq!(own["months"].as_array().unwrap().len(), 3);

    // The ranking exports.
    let c = app.client();
    let res = c
        .get(app.url(&format!("/api/v1/appraisal/months/{id}/export?format=csv")))
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csv = res.text().await.unwrap();
    assert!(csv.contains("张伟") && csv.contains("刘洋") && csv.contains("76"), "{csv}");
    let res = c
        .get(app.url(&format!("/api/v1/appraisal/months/{id}/export?format=xlsx")))
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.bytes().await.unwrap().starts_with(b"PK"));
    let res = c
        .get(app.url(&format!("/api/v1/appraisal/months/{id}/export?format=csv")))
        .bearer_auth(&t1)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // Every change is in the audit trail.
    let admin = app.token("admin").await;
    let (_, audit) = app.api(Method::GET, "/api/v1/audit?entity_type=appraisal_row", &admin, None).await;
    let n = audit["items"].as_array().map(|a| a.len()).unwrap_or_default();
    assert!(n >= 4, "{audit}");
}

async fn pages_show_each_person_his_own_appraisal(app: &TestApp) {
    let manager = app.token("manager").await;
    let (e1, e2) = (user_id(app, "engineer").await, user_id(app, "engineer2").await);
    let this = today().format("%Y-%m").to_string();
    let (id, _, r1, _) = open(app, &manager, &this, e1, e2).await;
    let origin = app.url("");
    // The engineer: the nav link, his month leads to his own row; a bad score keeps what he typed.
    let web = app.login("engineer", aftersales::demo::DEMO_PASSWORD).await;
    let home = web.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("id=\"nav-appraisal\"") && home.contains("id=\"tile-appraisal\""));
    let res = web.get(app.url(&format!("/appraisal/{id}"))).send().await.unwrap();
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(to, format!("/appraisal/rows/{}", r1["row"]["id"]));
    let page = web.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"self-form\"") && !page.contains("id=\"manager-form\"") && !page.contains("刘洋"));
    let path = format!("/appraisal/rows/{}/self", r1["row"]["id"]);
    let version = r1["row"]["version"].to_string();
    let res = web
        .post(app.url(&path))
        .header("origin", &origin)
        .form(&[("version", version.as_str()), ("score", "120"), ("comment", "很努力")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("value=\"120\"") && page.contains("很努力"), "keeps what he typed");
    // The manager's month page lists both with the close form; closing is refused by name.
    let boss = app.login("manager", aftersales::demo::DEMO_PASSWORD).await;
    let page = boss.get(app.url(&format!("/appraisal/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("张伟") && page.contains("刘洋") && page.contains("id=\"close-form\""));
    let res = boss
        .post(app.url(&format!("/appraisal/{id}/close")))
        .header("origin", &origin)
        .form(&[("version", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"close-errors\"") && page.contains("张伟：未自评"), "{page}");
    let page = boss.get(app.url("/appraisal/schemes")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"scheme-engineer\"") && page.contains("id=\"settings-form\""));
    let res = boss
        .post(app.url("/appraisal/schemes"))
        .header("origin", &origin)
        .form(&[("self_weight", "40"), ("manager_weight", "70")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "weights must add up to 100");
}

/// In Chromium: the engineer enters his self-assessment on a 360 px phone; the manager sees it on
/// the month's page.
async fn an_engineer_assesses_himself_on_a_phone_and_the_manager_sees_it(app: &TestApp) {
    use crate::browser::{browser, click, driver, fill, text_of, wait_contains};
    let Some(driver) = driver() else { return };
    let manager = app.token("manager").await;
    let (e1, e2) = (user_id(app, "engineer").await, user_id(app, "engineer2").await);
    let this = today().format("%Y-%m").to_string();
    let (id, _, r1, _) = open(app, &manager, &this, e1, e2).await;
    let row = r1["row"]["id"].as_i64().unwrap();

    let phone = browser(&driver, 360, 740).await;
    phone.goto(&app.url("/login?next=/appraisal")).await.unwrap();
    fill(&phone, "input[name=login]", "engineer").await;
    fill(&phone, "input[name=password]", aftersales::demo::DEMO_PASSWORD).await;
    click(&phone, "#login-submit").await;
    click(&phone, &format!("#month-{id} a")).await;
    fill(&phone, "#self-score", "85").await;
    fill(&phone, "#self-comment", "按时完成全部工单").await;
    click(&phone, "#self-save").await;
    assert!(wait_contains(&phone, "#row-self", "85.0").await.contains("按时完成全部工单"));
    shot(&phone, app, "appraisal-self-phone").await;
    phone.close().await.unwrap();

    let desk = browser(&driver, 1280, 900).await;
    desk.goto(&app.url(&format!("/login?next=/appraisal/{id}"))).await.unwrap();
    fill(&desk, "input[name=login]", "manager").await;
    fill(&desk, "input[name=password]", aftersales::demo::DEMO_PASSWORD).await;
    click(&desk, "#login-submit").await;
    assert_eq!(text_of(&desk, &format!("#row-{row} .self")).await, "85.0");
    shot(&desk, app, "appraisal-month-desk").await;
    desk.close().await.unwrap();
}

/// The dispatchers', warehouse's and quality's schemes measure from their own data; a person
/// alone in his role is neither rewarded nor penalised.
async fn every_role_s_scheme_is_measured(app: &TestApp) {
    let manager = app.token("manager").await;
    let this = today().format("%Y-%m").to_string();
    // The dispatcher takes a call and dispatches it: his first reply is in time.
    let dispatcher = app.token("dispatcher").await;
    let (_, u) = app.api(Method::GET, "/api/v1/units?number=LG120B0007", &dispatcher, None).await;
    let u = &u["items"][0];
    let body = json!({"channel": "hotline", "kind": "repair", "priority": "normal", "customer_id": u["customer_id"],
        "unit_id": u["id"], "problem": "油压低报警"});
    let (status, o) = app.api(Method::POST, "/api/v1/work-orders", &dispatcher, Some(body)).await;
    assert_eq!(status, 201, "{o}");
    let o = step(app, &dispatcher, &o, "assign", json!({"engineer_id": user_id(app, "engineer").await})).await;
    let order = o["order"]["id"].as_i64().unwrap();
    let mut reply = Value::Null;
    for (role, kpis) in [
        ("dispatcher", vec!["reply_on_time", "visits_on_time"]),
        ("warehouse", vec!["picking_accuracy"]),
        ("quality", vec!["actions_closed"]),
    ] {
        let (status, v) = app
            .api(Method::POST, "/api/v1/appraisal/months", &manager, Some(json!({"month": this, "role": role})))
            .await;
        assert_eq!(status, 201, "{role}: {v}");
        let rows = v["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{role}: {v}");
        let got: Vec<&str> = rows[0]["items"].as_array().unwrap().iter().map(|i| i["kpi"].as_str().unwrap()).collect();
        assert_eq!(got, kpis);
        if role == "dispatcher" {
            reply = rows[0]["items"][0].clone();
        }
    }
    assert_eq!((reply["numerator"].as_i64(), reply["denominator"].as_i64()), (Some(1), Some(1)), "{reply}");
    assert_eq!((reply["score"].as_f64(), &reply["counted"]), (Some(100.0), &json!([order])));
    let (_, o) = app.api(Method::GET, "/api/v1/appraisal", &manager, None).await;
    assert_eq!(o["months"].as_array().unwrap().len(), 3);
    let (status, v) = app
        .api(Method::POST, "/api/v1/appraisal/months", &manager, Some(json!({"month": this, "role": "admin"})))
        .await;
    assert_eq!((status, fields(&v)), (422, vec!["role".to_string()]));
    let next = (today() + chrono::TimeDelta::days(40)).format("%Y-%m").to_string();
    let (status, v) = app
        .api(Method::POST, "/api/v1/appraisal/months", &manager, Some(json!({"month": next, "role": "engineer"})))
        .await;
    assert_eq!((status, fields(&v)), (422, vec!["month".to_string()]), "a month to come");
}

async fn shot(c: &fantoccini::Client, app: &TestApp, name: &str) {
    if let Ok(png) = c.screenshot().await {
        let _ = std::fs::write(std::env::temp_dir().join(format!("aftersales-{name}-{:?}.png", app.backend)), png);
    }
}

async fn sql(app: &TestApp, statement: &'static str) {
    let mut tx = app.db.begin().await.unwrap();
    aftersales::on_conn!(tx.conn(), |e| {
        sqlx::query(statement).execute(&mut *e).await.unwrap();
    });
    tx.commit().await.unwrap();
}

/// (recipient, subject, body) of the outbox's messages of `event`, by recipient.
async fn mails(app: &TestApp, event: &str) -> Vec<(String, String, String)> {
    let mut c = app.db.read().await.unwrap();
    aftersales::on_conn!(c.conn(), |e| {
        sqlx::query_as("SELECT recipient, subject, body FROM outbox WHERE event = $1 ORDER BY recipient, id")
            .bind(event)
            .fetch_all(&mut *e)
            .await
            .unwrap()
    })
}

fn to(list: &[(String, String, String)]) -> Vec<&str> {
    list.iter().map(|m| m.0.as_str()).collect()
}

fn mail_to<'a>(list: &'a [(String, String, String)], who: &str) -> &'a (String, String, String) {
    list.iter().find(|m| m.0 == who).unwrap_or_else(|| panic!("no mail to {who}: {list:?}"))
}

async fn last_places_are_mailed_once_and_reminded_once_when_overdue(app: &TestApp) {
    use aftersales::service::appraisal::remind_overdue_plans;
    let admin = app.token("admin").await;
    let manager = app.token("manager").await;
    let (e1, e2) = (user_id(app, "engineer").await, user_id(app, "engineer2").await);
    let prev1 = (today().with_day(1).unwrap() - chrono::TimeDelta::days(1)).format("%Y-%m").to_string();
    let prev2 = (today().with_day(1).unwrap() - chrono::TimeDelta::days(40)).format("%Y-%m").to_string();
    let due = (today() + chrono::TimeDelta::days(7)).to_string();
    // 王建国 (general manager) has no e-mail address; 陈静 reads English.
    sql(app, "UPDATE users SET email = NULL WHERE login = 'gm'").await;
    sql(app, "UPDATE users SET locale = 'en' WHERE login = 'dispatcher'").await;

    // 刘洋 leads his own team: the ranking tells him and those who appraise (but not 王建国).
    a_month_engineer2_ends_last(app, &prev2, e1, e2).await;
    let (_, o) = app.api(Method::GET, "/api/v1/appraisal", &manager, None).await;
    let row_of_month = |o: &Value, month: &str| -> i64 {
        let plans = o["plans"].as_array().unwrap();
        plans.iter().find(|p| p["plan"]["month"] == month).unwrap_or_else(|| panic!("{o}"))["plan"]["row_id"]
            .as_i64()
            .unwrap()
    };
    let row2 = row_of_month(&o, &prev2);
    let first = mails(app, "appraisal_plan_due").await;
    assert_eq!(to(&first), ["admin@demo.example.cn", "engineer2@demo.example.cn", "manager@demo.example.cn"]);
    let own = mail_to(&first, "engineer2@demo.example.cn");
    assert_eq!(own.1, format!("【员工考核】{prev2} 售后服务工程师：请于 {due} 前提交改进计划"));
    assert!(own.2.starts_with(&format!("刘洋，您在 {prev2} 售后服务工程师月度考核中排名第 2 名")), "{}", own.2);
    assert!(own.2.contains(&format!("/appraisal/rows/{row2}")), "{}", own.2);
    let boss = mail_to(&first, "manager@demo.example.cn");
    assert!(boss.1.contains(&format!("刘洋 须于 {due} 前提交改进计划")), "{}", boss.1);
    assert!(boss.2.starts_with(&format!("刘洋 在 {prev2} 售后服务工程师月度考核中排名第 2 名")), "{}", boss.2);

    // The south team gets a leader, 陈静: the next ranking tells her instead, in English.
    let (_, list) = app.api(Method::GET, "/api/v1/teams", &admin, None).await;
    let south = list.as_array().unwrap().iter().find(|t| t["name"] == "华南服务组").unwrap().clone();
    let dispatcher = user_id(app, "dispatcher").await;
    let edit = json!({"version": south["version"], "name": south["name"], "region": "south",
        "leader_id": dispatcher, "members": [e2], "active": true});
    let (status, t) = app.api(Method::PUT, &format!("/api/v1/teams/{}", south["id"]), &admin, Some(edit)).await;
    assert_eq!(status, 200, "{t}");
    a_month_engineer2_ends_last(app, &prev1, e1, e2).await;
    let (_, o) = app.api(Method::GET, "/api/v1/appraisal", &manager, None).await;
    let row1 = row_of_month(&o, &prev1);
    let all = mails(app, "appraisal_plan_due").await;
    assert_eq!(all.len(), 5, "the first ranking's three, once: {all:?}");
    let second: Vec<_> = all.into_iter().filter(|m| m.2.contains(&format!("/appraisal/rows/{row1}"))).collect();
    assert_eq!(to(&second), ["dispatcher@demo.example.cn", "engineer2@demo.example.cn"]);
    let leader = mail_to(&second, "dispatcher@demo.example.cn");
    assert_eq!(leader.1, format!("[Appraisal] {prev1} Field engineer: 刘洋's improvement plan is due by {due}"));
    assert!(leader.2.starts_with(&format!("刘洋 ranked 2 in the Field engineer appraisal of {prev1}")), "{}", leader.2);
    assert!(mail_to(&second, "engineer2@demo.example.cn").2.starts_with("刘洋，您在"), "his own language");

    // Not overdue yet: no reminder. The earlier month's plan is handed in on time.
    assert_eq!(remind_overdue_plans(&app.db, chrono::Utc::now()).await.unwrap(), 0);
    let t2 = app.token("engineer2").await;
    let (status, v) =
        put(app, &t2, &json!({"row": {"id": row2}}), "plan", json!({"reason": "区域工单少", "plan": "跟班学习"})).await;
    assert_eq!(status, 200, "{v}");

    // A day after the due day two instances remind at once: the plan still missing, once.
    let later = chrono::Utc::now() + chrono::TimeDelta::days(8);
    let (a, b) = tokio::join!(remind_overdue_plans(&app.db, later), remind_overdue_plans(&app.db, later));
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(remind_overdue_plans(&app.db, later).await.unwrap(), 0, "never twice");
    let overdue = mails(app, "appraisal_plan_overdue").await;
    assert_eq!(to(&overdue), ["dispatcher@demo.example.cn", "engineer2@demo.example.cn"]);
    assert!(overdue.iter().all(|m| m.2.contains(&format!("/appraisal/rows/{row1}"))), "{overdue:?}");
    let leader = mail_to(&overdue, "dispatcher@demo.example.cn");
    assert_eq!(leader.1, format!("[Appraisal] {prev1} Field engineer: 刘洋's improvement plan is overdue"));
    assert!(leader.2.contains(&format!("were due by {due} and are not in yet")), "{}", leader.2);
    let own = mail_to(&overdue, "engineer2@demo.example.cn");
    assert!(own.2.contains(&format!("应于 {due} 前提交，至今未交")), "{}", own.2);
    assert_eq!(mails(app, "appraisal_plan_due").await.len(), 5, "the ranking's mails are not sent again");
}
