//! Service objectives (R9.1) as their users meet them: the service manager proposes, the
//! general manager approves, a revised target needs approval again, every step is a revision;
//! actual values per quarter come from the data (here: complaints, survey answers, picks);
//! stale versions, bad input and the wrong roles are refused; a year is copied into the next;
//! pages — on both databases.

use chrono::Datelike;
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::TestApp;
use aftersales::service::work_orders::today;

both!(objectives_are_proposed_approved_revised_and_measured, pages_propose_and_approve_objectives);

fn fields(v: &Value) -> Vec<String> {
    let mut f: Vec<String> = v["error"]["fields"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    f.sort();
    f
}

async fn objectives_are_proposed_approved_revised_and_measured(app: &TestApp) {
    let manager = app.token("manager").await;
    let gm = app.token("gm").await;
    let engineer = app.token("engineer").await;
    let year = today().year();

    // Proposing: field by field; engineers may not.
    let (status, v) = app
        .api(
            Method::POST,
            "/api/v1/objectives",
            &manager,
            Some(json!({"metric": "speed", "department": "moon", "target": 101})),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(fields(&v), ["department", "metric"]);
    let (status, v) = app
        .api(Method::POST, "/api/v1/objectives", &manager, Some(json!({"metric": "satisfaction", "target": 120})))
        .await;
    assert_eq!((status, fields(&v)), (422, vec!["target".to_string()]));
    let (status, _) =
        app.api(Method::POST, "/api/v1/objectives", &engineer, Some(json!({"metric": "satisfaction"}))).await;
    assert_eq!(status, 403);

    // The rules' target by default: no major complaint, satisfaction ≥ 90 %.
    let (status, major) = app
        .api(
            Method::POST,
            "/api/v1/objectives",
            &manager,
            Some(json!({"metric": "major_complaints", "department": "quality"})),
        )
        .await;
    assert_eq!(status, 201, "{major}");
    assert_eq!(major["view"]["objective"]["target"], 0.0);
    assert_eq!(major["view"]["objective"]["status"], "proposed");
    let (status, sat) =
        app.api(Method::POST, "/api/v1/objectives", &manager, Some(json!({"metric": "satisfaction"}))).await;
    assert_eq!(status, 201, "{sat}");
    assert_eq!(sat["view"]["objective"]["target"], 90.0);
    let (status, v) = app
        .api(
            Method::POST,
            "/api/v1/objectives",
            &manager,
            Some(json!({"metric": "satisfaction", "department": "company"})),
        )
        .await;
    assert_eq!((status, fields(&v)), (422, vec!["metric".to_string()]), "one per metric and department a year");

    // The general manager approves; the service manager may not; a stale version is refused.
    let id = major["view"]["objective"]["id"].as_i64().unwrap();
    let path = format!("/api/v1/objectives/{id}");
    let (status, _) = app.api(Method::PUT, &path, &manager, Some(json!({"version": 1, "action": "approve"}))).await;
    assert_eq!(status, 403);
    let (status, v) = app.api(Method::PUT, &path, &gm, Some(json!({"version": 1, "action": "approve"}))).await;
    assert_eq!((status, v["view"]["objective"]["status"].as_str()), (200, Some("approved")), "{v}");
    let (status, _) =
        app.api(Method::PUT, &path, &manager, Some(json!({"version": 1, "action": "revise", "target": 1}))).await;
    assert_eq!(status, 409);
    // A revised target needs approval again; every step is kept.
    let (status, v) = app
        .api(
            Method::PUT,
            &path,
            &manager,
            Some(json!({"version": 2, "action": "revise", "target": 1, "note": "新产品线投产"})),
        )
        .await;
    assert_eq!((status, v["view"]["objective"]["status"].as_str()), (200, Some("proposed")), "{v}");
    let actions: Vec<&str> = v["revisions"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["propose", "approve", "revise"]);

    // Actual values come from the data: a major complaint this quarter breaks a target of 0.
    let (_, c) = app.api(Method::GET, "/api/v1/customers?limit=1", &manager, None).await;
    let customer = c["items"][0]["id"].as_i64().unwrap();
    let body = json!({"kind": "complaint", "severity": "major", "channel": "hotline", "customer_id": customer,
        "subject": "维修后再次漏水", "description": "第三次上门仍未修好"});
    let (status, v) = app.api(Method::POST, "/api/v1/complaints", &manager, Some(body)).await;
    assert_eq!(status, 201, "{v}");
    let (status, y) = app.api(Method::GET, &format!("/api/v1/objectives?year={year}"), &gm, None).await;
    assert_eq!(status, 200, "{y}");
    let m =
        y["objectives"].as_array().unwrap().iter().find(|x| x["objective"]["metric"] == "major_complaints").unwrap();
    let whole_year = m["actuals"].as_array().unwrap().last().unwrap();
    assert_eq!(
        (whole_year["period"].as_str(), whole_year["value"].as_f64()),
        (Some(year.to_string().as_str()), Some(1.0))
    );
    assert_eq!(whole_year["meets"], true, "1 ≤ the revised target of 1");
    assert!(y["missing"].as_array().unwrap().iter().any(|x| x == "picking_accuracy"));
    let (status, _) = app.api(Method::GET, "/api/v1/objectives", &engineer, None).await;
    assert_eq!(status, 403);

    // Copied into next year as proposals, once.
    let copy = json!({"from_year": year, "to_year": year + 1});
    let (status, n) = app.api(Method::POST, "/api/v1/objectives/copy", &manager, Some(copy.clone())).await;
    assert_eq!((status, n.as_i64()), (200, Some(2)));
    let (_, n) = app.api(Method::POST, "/api/v1/objectives/copy", &manager, Some(copy)).await;
    assert_eq!(n, 0);
    let (_, next) = app.api(Method::GET, &format!("/api/v1/objectives?year={}", year + 1), &gm, None).await;
    assert!(next["objectives"].as_array().unwrap().iter().all(|x| x["objective"]["status"] == "proposed"));
    let admin = app.token("admin").await;
    let (_, audit) = app.api(Method::GET, "/api/v1/audit?entity_type=objective", &admin, None).await;
    assert!(audit.to_string().matches("\"objective\"").count() >= 5, "{audit}");
}

async fn pages_propose_and_approve_objectives(app: &TestApp) {
    let manager = app.login("manager", "demo1234").await;
    let html = manager.get(app.url("/objectives")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("propose-form"), "{html}");
    let idem = html.split("name=\"idem\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let year = today().year().to_string();
    let form = [
        ("idem", idem.as_str()),
        ("year", year.as_str()),
        ("metric", "picking_accuracy"),
        ("department", "warehouse"),
        ("target", ""),
    ];
    let r = manager.post(app.url("/objectives")).form(&form).send().await.unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    manager.post(app.url("/objectives")).form(&form).send().await.unwrap();
    let html = manager.get(app.url("/objectives")).send().await.unwrap().text().await.unwrap();
    assert_eq!(html.matches("<tr id=\"objective-").count(), 1, "a double click proposes once: {html}");
    assert!(html.contains("≥ 98.0 %"), "{html}");
    let bad = [
        ("idem", "x2"),
        ("year", year.as_str()),
        ("metric", "satisfaction"),
        ("department", "company"),
        ("target", "abc"),
    ];
    let r = manager.post(app.url("/objectives")).form(&bad).send().await.unwrap();
    assert_eq!(r.status(), 422);

    let gm = app.login("gm", "demo1234").await;
    let html = gm.get(app.url("/objectives")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("objectives-waiting"), "{html}");
    let id: i64 = html.split("<tr id=\"objective-").nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
    let page = gm.get(app.url(&format!("/objectives/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"approve\""), "{page}");
    let r = gm
        .post(app.url(&format!("/objectives/{id}")))
        .form(&[("version", "1"), ("action", "approve"), ("target", "98"), ("note", "")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let page = gm.get(app.url(&format!("/objectives/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("已批准") && page.contains("objective-actuals"), "{page}");
}
