//! The quarterly fault analysis and corrective actions (R9.2) as quality meets them: the faults
//! of completed orders in Pareto order by count and by cost, by fault code and by model; a
//! corrective action opened on the main problem with its baseline, done, found not effective,
//! done again and verified; stale versions, bad input and the wrong roles refused; pages and
//! export — on both databases.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::TestApp;
use aftersales::service::work_orders::today;

both!(faults_are_ranked_and_acted_on);

fn fields(v: &Value) -> Vec<String> {
    let mut f: Vec<String> = v["error"]["fields"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    f.sort();
    f
}

async fn faults_are_ranked_and_acted_on(app: &TestApp) {
    // The demo's three orders completed today: two with fault E1 (cheap), one with E2 (dear).
    let mut tx = app.db.begin().await.unwrap();
    let ids: Vec<i64> = aftersales::on_conn!(tx.conn(), |e| {
        sqlx::query_scalar("SELECT id FROM work_orders ORDER BY id LIMIT 3").fetch_all(&mut *e).await.unwrap()
    });
    assert_eq!(ids.len(), 3);
    for (i, id) in ids.iter().enumerate() {
        let (fault, cost) = if i < 2 { ("E1", 1000) } else { ("E2", 50000) };
        aftersales::on_conn!(tx.conn(), |e| {
            sqlx::query(
                "UPDATE work_orders SET status = 'completed', completed_at = $1, fault_code = $2, \
                 category_code = 'air_conditioner', parts_cost_cents = $3 WHERE id = $4",
            )
            .bind(chrono::Utc::now())
            .bind(fault)
            .bind(cost as i64)
            .bind(*id)
            .execute(&mut *e)
            .await
            .map(|_| ())
            .unwrap()
        });
    }
    tx.commit().await.unwrap();

    let quality = app.token("quality").await;
    let (status, a) = app.api(Method::GET, "/api/v1/analysis/faults", &quality, None).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["total_count"], 3);
    let g = &a["groups"];
    assert_eq!((g[0]["key"].as_str(), g[0]["count"].as_i64()), (Some("air_conditioner/E1"), Some(2)), "{a}");
    assert!((g[0]["share"].as_f64().unwrap() - 66.67).abs() < 0.01);
    assert_eq!((g[0]["vital"].as_bool(), g[1]["vital"].as_bool()), (Some(true), Some(true)), "E1 alone is below 80 %");
    let (_, by_cost) = app.api(Method::GET, "/api/v1/analysis/faults?rank=cost", &quality, None).await;
    assert_eq!(by_cost["groups"][0]["key"], "air_conditioner/E2");
    assert_eq!(by_cost["groups"][1]["vital"], false, "E2 is 96 % of the cost");
    let (status, by_model) = app.api(Method::GET, "/api/v1/analysis/faults?by=model", &quality, None).await;
    assert_eq!(status, 200, "{by_model}");
    let (status, _) = app.api(Method::GET, "/api/v1/analysis/faults?by=colour", &quality, None).await;
    assert_eq!(status, 422);
    let engineer = app.token("engineer").await;
    let (status, _) = app.api(Method::GET, "/api/v1/analysis/faults", &engineer, None).await;
    assert_eq!(status, 403);

    // Quality opens an action on E1; bad input is refused field by field.
    let today = today();
    let (status, v) = app
        .api(
            Method::POST,
            "/api/v1/corrective-actions",
            &quality,
            Some(json!({"dimension": "fault",
            "key": "air_conditioner/E1", "period_from": today, "period_to": today, "due_on": "2000-01-01"})),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(fields(&v), ["action", "due_on", "problem"]);
    let body = json!({"dimension": "fault", "key": "air_conditioner/E1", "period_from": today, "period_to": today,
        "problem": "室外机电容批次不良", "action": "更换供应商并对库存电容全检", "due_on": today + chrono::Duration::days(30)});
    let (status, v) = app.api(Method::POST, "/api/v1/corrective-actions", &quality, Some(body.clone())).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!((v["action"]["baseline"].as_i64(), v["action"]["status"].as_str()), (Some(2), Some("open")));
    let id = v["action"]["id"].as_i64().unwrap();
    let (status, _) = app.api(Method::POST, "/api/v1/corrective-actions", &engineer, Some(body)).await;
    assert_eq!(status, 403);

    // Done, verified not effective (open again), done again, verified effective.
    let path = format!("/api/v1/corrective-actions/{id}");
    let put = |body: Value| {
        let (app, path, token) = (app, path.clone(), quality.clone());
        async move { app.api(Method::PUT, &path, &token, Some(body)).await }
    };
    let (status, _) = put(json!({"version": 1, "step": "verify", "effective": true, "note": "x"})).await;
    assert_eq!(status, 409, "not done yet");
    let (status, v) = put(json!({"version": 1, "step": "done", "note": "已更换供应商"})).await;
    assert_eq!((status, v["action"]["status"].as_str()), (200, Some("done")), "{v}");
    let (status, v) = put(json!({"version": 2, "step": "verify", "note": "本月仍有 2 次"})).await;
    assert_eq!((status, fields(&v)), (422, vec!["effective".to_string()]));
    let (status, v) = put(json!({"version": 2, "step": "verify", "effective": false, "note": "本月仍有 2 次"})).await;
    assert_eq!((status, v["action"]["status"].as_str()), (200, Some("open")), "{v}");
    let (status, _) = put(json!({"version": 2, "step": "done", "note": "again"})).await;
    assert_eq!(status, 409, "stale");
    put(json!({"version": 3, "step": "done", "note": "库存电容全部更换"})).await;
    let (status, v) = put(json!({"version": 4, "step": "verify", "effective": true, "note": "下季度未再发生"})).await;
    assert_eq!(
        (status, v["action"]["status"].as_str(), v["action"]["effective"].as_bool()),
        (200, Some("verified"), Some(true))
    );
    let (_, list) = app.api(Method::GET, "/api/v1/corrective-actions", &quality, None).await;
    assert!(list.as_array().unwrap().is_empty(), "verified actions leave the open list: {list}");
    let (_, list) = app.api(Method::GET, "/api/v1/corrective-actions?status=all", &quality, None).await;
    assert_eq!((list[0]["action"]["id"].as_i64(), &list[0]["since"]), (Some(id), &Value::Null), "lists skip the count");
    let (_, one) = app.api(Method::GET, &path, &quality, None).await;
    assert_eq!(one["since"], 2, "the group's count since it was done: {one}");

    // Pages and export.
    let page = app.login("quality", "demo1234").await;
    let html = page.get(app.url("/analysis/faults")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("action-form") && html.contains("fault_code=E1"), "{html}");
    let html = page.get(app.url("/analysis/actions?status=all")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&format!("action-{id}")), "{html}");
    let r = page.get(app.url("/analysis/faults?format=xlsx")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}
