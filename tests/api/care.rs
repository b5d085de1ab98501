//! After the job (R6, R7) as its users meet it: the survey link a completed job sends, answered
//! once from the link, the on-site rating counted beside it, satisfaction rates against the
//! target, follow-up visits planned by rule (idempotently, on several instances, catching up)
//! and worked from the agents' queue — on both databases.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::TestApp;
use crate::work_orders::{signature_data_url, user_id};
use aftersales::service::care;

both!(
    a_completed_job_sends_a_survey_that_is_answered_once,
    visits_are_planned_by_rule_once_and_worked_from_the_queue,
    rules_and_target_are_data_edited_by_managers,
    pages_of_the_queue_the_visit_and_the_figures,
);

async fn step(app: &TestApp, token: &str, order: &Value, action: &str, mut body: Value) -> Value {
    let id = order["order"]["id"].as_i64().unwrap();
    body["version"] = order["order"]["version"].clone();
    let (status, v) =
        app.api(Method::POST, &format!("/api/v1/work-orders/{id}/actions/{action}"), token, Some(body)).await;
    assert_eq!(status, 200, "{action}: {v}");
    v
}

/// Registers a repair of the unit `serial` and takes it to completion with the on-site `rating`.
pub async fn completed_job(app: &TestApp, serial: &str, rating: Option<i64>) -> Value {
    let dispatcher = app.token("dispatcher").await;
    let engineer = app.token("engineer").await;
    let (_, u) = app.api(Method::GET, &format!("/api/v1/units?number={serial}"), &dispatcher, None).await;
    let u = &u["items"][0];
    let body = json!({"channel": "hotline", "kind": "repair", "customer_id": u["customer_id"], "unit_id": u["id"],
        "problem": "空调不制冷"});
    let (status, o) = app.api(Method::POST, "/api/v1/work-orders", &dispatcher, Some(body)).await;
    assert_eq!(status, 201, "{o}");
    let o = step(app, &dispatcher, &o, "assign", json!({"engineer_id": user_id(app, "engineer").await})).await;
    let (_, o) = app.api(Method::GET, &format!("/api/v1/work-orders/{}", o["order"]["id"]), &engineer, None).await;
    let o = step(app, &engineer, &o, "accept", json!({})).await;
    let o = step(app, &engineer, &o, "arrive", json!({})).await;
    let mut report = json!({"fault_code": "CP-E3", "work_done": "清洗冷凝器，补充冷媒", "signed_by": "王建华", "signature": signature_data_url()});
    if let Some(r) = rating {
        report["rating"] = json!(r);
        report["rating_comment"] = json!("还要再观察");
    }
    step(app, &engineer, &o, "complete", report).await
}

pub async fn survey_token(app: &TestApp, order_id: i64, kind: &str) -> String {
    let mut c = app.db.read().await.unwrap();
    let all = aftersales::store::care::surveys_of_order(c.conn(), order_id).await.unwrap();
    all.into_iter().find(|s| s.kind == kind).unwrap_or_else(|| panic!("no {kind} survey")).token
}

async fn tasks_of(app: &TestApp, customer_id: i64) -> Vec<aftersales::store::care::VisitTask> {
    let mut c = app.db.read().await.unwrap();
    aftersales::store::care::tasks_of_customer(c.conn(), customer_id, 1000).await.unwrap()
}

async fn a_completed_job_sends_a_survey_that_is_answered_once(app: &TestApp) {
    let manager = app.token("manager").await;
    let today = aftersales::service::work_orders::today();
    let q = format!("/api/v1/satisfaction?from={today}&to={today}&by=engineer");
    let (_, before) = app.api(Method::GET, &q, &manager, None).await;
    assert_eq!(before["total"]["responses"], 0, "{before}");

    // The customer has an e-mail address, so the completion is mailed to them.
    let (_, u) = app.api(Method::GET, "/api/v1/units?number=LG120B0007", &manager, None).await;
    let mut tx = app.db.begin().await.unwrap();
    aftersales::on_conn!(tx.conn(), |e| {
        sqlx::query("UPDATE customers SET email = 'wang@example.cn' WHERE id = $1")
            .bind(u["items"][0]["customer_id"].as_i64().unwrap())
            .execute(&mut *e)
            .await
            .unwrap();
    });
    tx.commit().await.unwrap();
    let o = completed_job(app, "LG120B0007", Some(2)).await;
    let id = o["order"]["id"].as_i64().unwrap();
    let customer_id = o["order"]["customer_id"].as_i64().unwrap();
    let token = survey_token(app, id, "job").await;
    assert_eq!(token.len(), 32);
    // The completion e-mail asks the customer to rate the job from the tracking link.
    let (_, mails) = app.api(Method::GET, &format!("/api/v1/work-orders/{id}/notifications"), &manager, None).await;
    let done = mails.as_array().unwrap().iter().find(|m| m["event"] == "order_completed" && m["channel"] == "email");
    let body = done.map(|m| m["body"].to_string()).unwrap_or_default();
    assert!(body.contains("评价本次服务") && body.contains("/t/"), "{mails}");

    // The on-site rating counts at once; the low score and the job each open a follow-up visit.
    let (_, s) = app.api(Method::GET, &q, &manager, None).await;
    assert_eq!((s["total"]["responses"].as_i64(), s["total"]["satisfied"].as_i64()), (Some(1), Some(0)), "{s}");
    assert_eq!(s["total"]["meets_target"], false);
    assert!(s["basis"].as_str().unwrap().contains("RULES §7"), "{s}");
    let engineer_id = user_id(app, "engineer").await;
    assert_eq!(s["groups"][0]["key"], engineer_id.to_string(), "{s}");
    let tasks = tasks_of(app, customer_id).await;
    let keys: Vec<&str> = tasks.iter().map(|t| t.period_key.as_str()).collect();
    assert!(keys.contains(&format!("order:{id}").as_str()), "{keys:?}");
    assert!(tasks.iter().any(|t| t.rule_code == "low-score" && t.order_id == Some(id)), "{keys:?}");

    // The link: no account, one answer, only its own job.
    let anon = app.client();
    let (status, p) = app.api(Method::GET, &format!("/api/v1/public/surveys/{token}"), "", None).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["answered"], false);
    assert_eq!(p["order_number"], aftersales::store::work_orders::number(id));
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    for bad in [tampered.as_str(), "not-a-token", &token[..31]] {
        let (status, _) = app.api(Method::GET, &format!("/api/v1/public/surveys/{bad}"), "", None).await;
        assert_eq!(status, 404, "{bad}");
        let (status, _) =
            app.api(Method::POST, &format!("/api/v1/public/surveys/{bad}"), "", Some(json!({"overall": 5}))).await;
        assert_eq!(status, 404, "{bad}");
    }
    // The on-site rating has a token too, but it is never a link a customer can answer.
    let on_site = survey_token(app, id, "on_site").await;
    let (status, _) =
        app.api(Method::POST, &format!("/api/v1/public/surveys/{on_site}"), "", Some(json!({"overall": 5}))).await;
    assert_eq!(status, 404);

    let (status, v) = app
        .api(Method::POST, &format!("/api/v1/public/surveys/{token}"), "", Some(json!({"overall": 7, "quality": 0})))
        .await;
    assert_eq!(status, 422, "{v}");
    let mut fields: Vec<&String> = v["error"]["fields"].as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(fields, ["overall", "quality"], "{v}");
    let (status, _) = app.api(Method::POST, &format!("/api/v1/public/surveys/{token}"), "", Some(json!({}))).await;
    assert_eq!(status, 422, "the overall score is required");
    let answer = json!({"overall": 5, "timeliness": 4, "attitude": 5, "quality": 5, "comment": "师傅很专业"});
    let (status, v) = app.api(Method::POST, &format!("/api/v1/public/surveys/{token}"), "", Some(answer.clone())).await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = app.api(Method::POST, &format!("/api/v1/public/surveys/{token}"), "", Some(answer)).await;
    assert_eq!(status, 409, "answered once: {v}");
    let (_, p) = app.api(Method::GET, &format!("/api/v1/public/surveys/{token}"), "", None).await;
    assert_eq!((p["answered"].as_bool(), p["overall"].as_i64()), (Some(true), Some(5)));

    // Two answers now, one satisfied: 50 % this quarter.
    let (_, s) = app.api(Method::GET, &q, &manager, None).await;
    assert_eq!((s["total"]["responses"].as_i64(), s["total"]["percent"].as_f64()), (Some(2), Some(50.0)), "{s}");
    let (_, quarters) = app.api(Method::GET, "/api/v1/satisfaction/quarters", &manager, None).await;
    let (year, q_now) = rules::care::quarter_of(today);
    let row = &quarters[(q_now - 1) as usize];
    assert_eq!(row["key"], format!("{year}-Q{q_now}"));
    assert_eq!(row["responses"], 2, "{quarters}");
    let (status, answers) = app.api(Method::GET, "/api/v1/surveys", &manager, None).await;
    assert_eq!(status, 200);
    assert!(answers.as_array().unwrap().iter().any(|a| a["comment"] == "师傅很专业"), "{answers}");
    // Engineers do not read the figures.
    let engineer = app.token("engineer").await;
    let (status, _) = app.api(Method::GET, &q, &engineer, None).await;
    assert_eq!(status, 403);

    // The customer's page and the tracking page show the answer; the survey page says it is done.
    let web = app.login("manager", aftersales::demo::DEMO_PASSWORD).await;
    let page = web.get(app.url(&format!("/customers/{customer_id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("5/5") && page.contains("师傅很专业"), "the time line shows the score");
    let track = o["order"]["public_token"].as_str().map(str::to_owned);
    let track = match track {
        Some(t) => t,
        None => {
            let mut c = app.db.read().await.unwrap();
            aftersales::store::work_orders::get(c.conn(), id).await.unwrap().unwrap().public_token
        }
    };
    let page = anon.get(app.url(&format!("/t/{track}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("track-survey"), "the tracking page shows the survey");
    let page = anon.get(app.url(&format!("/s/{token}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("survey-answered") && !page.contains("survey-form"));
    let res = anon.post(app.url(&format!("/s/{tampered}"))).form(&[("overall", "5")]).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let (_, audit) = app.api(Method::GET, "/api/v1/audit?entity_type=survey", &app.token("admin").await, None).await;
    assert!(audit.to_string().contains("answer"), "the answer is in the audit trail: {audit}");

    // A job completed again (after a reopen) keeps its first survey.
    let mut c = app.db.read().await.unwrap();
    assert_eq!(aftersales::store::care::surveys_of_order(c.conn(), id).await.unwrap().len(), 2);
}

async fn visits_are_planned_by_rule_once_and_worked_from_the_queue(app: &TestApp) {
    let manager = app.token("manager").await;
    let dispatcher = app.token("dispatcher").await;
    let today = aftersales::service::work_orders::today();
    let (from, to) = (today, today + Duration::days(60));
    let body = json!({"from": from, "to": to});
    let (status, first) = app.api(Method::POST, "/api/v1/visits/plan", &manager, Some(body.clone())).await;
    assert_eq!(status, 200, "{first}");
    assert!(first["planned"].as_u64().unwrap() > 0, "{first}");
    let (_, again) = app.api(Method::POST, "/api/v1/visits/plan", &manager, Some(body.clone())).await;
    assert_eq!((again["planned"].clone(), again["added"].as_u64()), (first["planned"].clone(), Some(0)), "idempotent");
    let (status, _) = app.api(Method::POST, "/api/v1/visits/plan", &dispatcher, Some(body)).await;
    assert_eq!(status, 403);
    let (status, _) =
        app.api(Method::POST, "/api/v1/visits/plan", &manager, Some(json!({"from": to, "to": from}))).await;
    assert_eq!(status, 422);

    // Two instances planning the same window at once write each visit once.
    let later = (to + Duration::days(1), to + Duration::days(90));
    let other = app.another_instance().await;
    let (a, b) =
        tokio::join!(care::plan(&app.db, later.0, later.1, |_| {}), care::plan(&other.db, later.0, later.1, |_| {}));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.planned, b.planned);
    assert_eq!(a.added + b.added, a.planned, "each visit once: {a:?} {b:?}");
    other.stop().await;

    // After downtime the planner plans the days it missed, from its watermark on.
    let caught = care::catch_up(&app.db, Utc::now() + Duration::days(200), 14).await.unwrap().expect("days to plan");
    assert!(caught.added > 0, "{caught:?}");
    assert!(care::catch_up(&app.db, Utc::now() + Duration::days(200), 14).await.unwrap().is_none(), "nothing twice");

    // The dispatcher's queue: their region's open visits of the coming week, by due day.
    let (status, q) = app.api(Method::GET, "/api/v1/visits?view=due&limit=5", &dispatcher, None).await;
    assert_eq!(status, 200, "{q}");
    let tasks = q["tasks"].as_array().unwrap();
    assert!(!tasks.is_empty(), "{q}");
    let (_, me) = app.api(Method::GET, "/api/v1/me", &dispatcher, None).await;
    let region = me["region_code"].clone();
    for t in tasks {
        assert_eq!(t["region_code"], region, "region users see their region: {t}");
        assert!(t["due_on"].as_str().unwrap() <= (today + Duration::days(7)).to_string().as_str());
    }
    let dues: Vec<&str> = tasks.iter().map(|t| t["due_on"].as_str().unwrap()).collect();
    let mut sorted = dues.clone();
    sorted.sort();
    assert_eq!(dues, sorted);
    // Page by page (a page of one, across every region for the manager), the queue gives the
    // same visits in the same order as all at once.
    let (_, all) = app.api(Method::GET, "/api/v1/visits?view=due&limit=200", &manager, None).await;
    let all: Vec<Value> = all["tasks"].as_array().unwrap().iter().map(|t| t["id"].clone()).collect();
    assert!(all.len() >= 2, "{all:?}");
    let mut paged = vec![];
    let mut after = String::new();
    loop {
        let (_, p) =
            app.api(Method::GET, &format!("/api/v1/visits?view=due&limit=1&after={after}"), &manager, None).await;
        paged.extend(p["tasks"].as_array().unwrap().iter().map(|t| t["id"].clone()));
        match p["next_after"].as_str() {
            Some(n) => after = n.to_string(),
            None => break,
        }
    }
    assert_eq!(paged, all);
    // Missed visits (due before today, still open): the count over every region is the
    // number the list gives, for the manager and for a region's dispatcher.
    let past = care::plan(&app.db, today - Duration::days(60), today - Duration::days(1), |_| {}).await.unwrap();
    assert!(past.added > 0, "{past:?}");
    for who in [&manager, &dispatcher] {
        let (_, m) = app.api(Method::GET, "/api/v1/visits?view=missed&limit=200", who, None).await;
        let listed = m["tasks"].as_array().unwrap().len();
        assert!(listed > 0 && listed < 200 && m["next_after"].is_null(), "{m}");
        assert_eq!(m["missed"].as_u64(), Some(listed as u64), "{m}");
    }
    let (status, _) = app.api(Method::GET, "/api/v1/visits?view=soon", &dispatcher, None).await;
    assert_eq!(status, 422);
    let (status, _) = app.api(Method::GET, "/api/v1/visits", &app.token("engineer").await, None).await;
    assert_eq!(status, 403);

    // Take one, record it; stale versions and a second record are refused.
    let t = &tasks[0];
    let id = t["id"].as_i64().unwrap();
    let (status, taken) = app
        .api(
            Method::POST,
            &format!("/api/v1/visits/{id}/assign"),
            &dispatcher,
            Some(json!({"version": t["version"], "take": true})),
        )
        .await;
    assert_eq!(status, 200, "{taken}");
    assert_eq!(taken["assignee_id"], me["id"]);
    let (status, _) = app
        .api(
            Method::POST,
            &format!("/api/v1/visits/{id}/assign"),
            &dispatcher,
            Some(json!({"version": t["version"], "take": false})),
        )
        .await;
    assert_eq!(status, 409, "stale version");
    let (_, mine) = app.api(Method::GET, "/api/v1/visits?view=mine", &dispatcher, None).await;
    assert!(mine["tasks"].as_array().unwrap().iter().any(|x| x["id"] == id), "{mine}");
    let bad = json!({"version": taken["version"], "channel": "pigeon", "outcome": "maybe"});
    let (status, v) = app.api(Method::POST, &format!("/api/v1/visits/{id}/outcome"), &dispatcher, Some(bad)).await;
    assert_eq!(status, 422);
    let mut fields: Vec<&String> = v["error"]["fields"].as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(fields, ["channel", "outcome"]);
    let good =
        json!({"version": taken["version"], "channel": "phone", "outcome": "reached", "needs": "想加购一台柜机"});
    let (status, done) =
        app.api(Method::POST, &format!("/api/v1/visits/{id}/outcome"), &dispatcher, Some(good.clone())).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!((done["status"].as_str(), done["outcome"].as_str()), (Some("done"), Some("reached")));
    let (status, _) = app.api(Method::POST, &format!("/api/v1/visits/{id}/outcome"), &dispatcher, Some(good)).await;
    assert_eq!(status, 409);

    // A visit of another region is not the dispatcher's to see.
    let mut c = app.db.read().await.unwrap();
    let foreign: Option<i64> = aftersales::on_conn!(c.conn(), |e| {
        sqlx::query_scalar("SELECT id FROM visit_tasks WHERE region_code IS NOT NULL AND region_code <> $1 LIMIT 1")
            .bind(region.as_str().unwrap_or(""))
            .fetch_optional(&mut *e)
            .await
            .unwrap()
    });
    drop(c);
    let f = foreign.expect("visits of another region");
    let (status, _) = app.api(Method::GET, &format!("/api/v1/visits/{f}"), &dispatcher, None).await;
    assert_eq!(status, 404);

    // The revisit rate counts in-warranty visits due up to today.
    let (status, r) = app.api(Method::GET, &format!("/api/v1/revisit-rate?from={from}&to={to}"), &manager, None).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["target"], 100.0);
    assert!(r["due"].as_i64().unwrap() >= r["done_on_time"].as_i64().unwrap());
    let (status, x) = app
        .client()
        .get(app.url("/api/v1/visits/export?view=due&format=xlsx"))
        .bearer_auth(&dispatcher)
        .send()
        .await
        .map(|r| (r.status(), r.headers().clone()))
        .unwrap();
    assert_eq!(status, 200);
    assert!(x[reqwest::header::CONTENT_TYPE].to_str().unwrap().contains("spreadsheet"));

    // A window overlapping one planned before adds only the visits not stored yet (PostgreSQL
    // copies a batch, meets a stored visit and writes the batch again skipping those).
    let overlap = care::plan(&app.db, today - Duration::days(120), today - Duration::days(30), |_| {}).await.unwrap();
    assert!(0 < overlap.added && overlap.added < overlap.planned, "{overlap:?}");
    let whole = care::plan(&app.db, today - Duration::days(120), later.1, |_| {}).await.unwrap();
    assert_eq!(whole.added, 0, "{whole:?}");
    // Every visit the rules plan in that span is stored with its own due day: a day shifted in
    // writing would move visits across the span's ends.
    let mut c = app.db.read().await.unwrap();
    let stored: i64 = aftersales::on_conn!(c.conn(), |e| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM visit_tasks WHERE due_on BETWEEN $1 AND $2 AND order_id IS NULL AND survey_id IS NULL",
        )
        .bind(today - Duration::days(120))
        .bind(later.1)
        .fetch_one(&mut *e)
        .await
        .unwrap()
    });
    drop(c);
    assert_eq!(u64::try_from(stored).unwrap(), whole.planned, "{whole:?}");
    // The planned visits read back as written: due days, region, rule, period, creation time.
    let customer = t["customer_id"].as_i64().unwrap();
    let mine = tasks_of(app, customer).await;
    assert!(mine.len() > 3, "{mine:?}");
    for v in &mine {
        assert_eq!((v.customer_id, v.region_code.as_deref()), (customer, region.as_str()), "{v:?}");
        assert!(today - Duration::days(120) <= v.due_on && v.due_on <= later.1 + Duration::days(200), "{v:?}");
        assert!(!v.rule_code.is_empty() && !v.period_key.is_empty(), "{v:?}");
        assert!((Utc::now() - v.created_at).num_minutes().abs() < 10, "{v:?}");
    }
}

async fn rules_and_target_are_data_edited_by_managers(app: &TestApp) {
    let manager = app.token("manager").await;
    let dispatcher = app.token("dispatcher").await;
    let (status, rules) = app.api(Method::GET, "/api/v1/visit-rules", &dispatcher, None).await;
    assert_eq!(status, 200);
    let codes: Vec<&str> = rules.as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        [
            "class-a",
            "class-b",
            "class-c",
            "key-customer",
            "long-term",
            "in-warranty",
            "after-warranty",
            "after-job",
            "low-score",
            "service-due"
        ]
    );
    let c = rules.as_array().unwrap().iter().find(|r| r["code"] == "class-c").unwrap().clone();
    let mut rule = c["rule"].clone();
    rule["every"] = json!({"unit": "months", "n": 5});
    let (status, v) = app
        .api(Method::PUT, "/api/v1/visit-rules/class-c", &manager, Some(json!({"version": c["version"], "rule": rule})))
        .await;
    assert_eq!(status, 422);
    assert!(v["error"]["fields"]["every.n"].is_array(), "{v}");
    rule["every"] = json!({"unit": "months", "n": 3});
    let (status, _) = app
        .api(
            Method::PUT,
            "/api/v1/visit-rules/class-c",
            &dispatcher,
            Some(json!({"version": c["version"], "rule": rule})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, saved) = app
        .api(Method::PUT, "/api/v1/visit-rules/class-c", &manager, Some(json!({"version": c["version"], "rule": rule})))
        .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!((saved["version"].as_i64(), saved["rule"]["every"]["n"].as_i64()), (Some(2), Some(3)));
    let (status, _) = app
        .api(Method::PUT, "/api/v1/visit-rules/class-c", &manager, Some(json!({"version": c["version"], "rule": rule})))
        .await;
    assert_eq!(status, 409);
    rule["condition"] = json!("class_a");
    let (status, _) =
        app.api(Method::PUT, "/api/v1/visit-rules/class-c", &manager, Some(json!({"version": 2, "rule": rule}))).await;
    assert_eq!(status, 422, "the condition stays");

    // The quarterly class C rule now plans four visits a year for a class C customer.
    let year = chrono::Datelike::year(&aftersales::service::work_orders::today()) + 1;
    let (from, to) = (format!("{year}-01-01"), format!("{year}-12-31"));
    app.api(Method::POST, "/api/v1/visits/plan", &manager, Some(json!({"from": from, "to": to}))).await;
    let mut c = app.db.read().await.unwrap();
    let per_customer: Vec<i64> = aftersales::on_conn!(c.conn(), |e| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM visit_tasks t JOIN customers c ON c.id = t.customer_id \
             WHERE t.rule_code = 'class-c' AND t.period_key >= $1 GROUP BY t.customer_id",
        )
        .bind(&from)
        .fetch_all(&mut *e)
        .await
        .unwrap()
    });
    assert!(!per_customer.is_empty() && per_customer.iter().all(|n| *n <= 4), "{per_customer:?}");
    assert!(per_customer.contains(&4), "{per_customer:?}");

    // The satisfaction target.
    let (status, _) = app.api(Method::PUT, "/api/v1/satisfaction/target", &manager, Some(json!({"target": 120}))).await;
    assert_eq!(status, 422);
    let (status, _) =
        app.api(Method::PUT, "/api/v1/satisfaction/target", &dispatcher, Some(json!({"target": 98}))).await;
    assert_eq!(status, 403);
    let (status, _) = app.api(Method::PUT, "/api/v1/satisfaction/target", &manager, Some(json!({"target": 98}))).await;
    assert_eq!(status, 200);
    let (_, s) = app.api(Method::GET, "/api/v1/satisfaction", &manager, None).await;
    assert_eq!(s["target"], 98.0);
}

async fn pages_of_the_queue_the_visit_and_the_figures(app: &TestApp) {
    let o = completed_job(app, "LG120B0007", None).await;
    let id = o["order"]["id"].as_i64().unwrap();
    let token = survey_token(app, id, "job").await;
    let anon = app.client();
    let page = anon.get(app.url(&format!("/s/{token}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("survey-form") && !page.contains("nav-visits"), "a customer sees the form, no staff menu");
    let res = anon.post(app.url(&format!("/s/{token}"))).form(&[("overall", "9")]).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let res =
        anon.post(app.url(&format!("/s/{token}"))).form(&[("overall", "4"), ("comment", "不错")]).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("survey-thanks"));

    let web = app.login("dispatcher", aftersales::demo::DEMO_PASSWORD).await;
    for path in [
        "/visits",
        "/visits?view=mine",
        "/visits?view=missed",
        "/visits/rules",
        "/satisfaction",
        "/satisfaction?by=region",
    ] {
        let res = web.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
    }
    let page = web.get(app.url("/satisfaction")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("不错"), "recent answers list the comment");
    let page = web.get(app.url(&format!("/work-orders/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("order-survey") && page.contains("4 ★"));
    // The visit after this job is in the queue; record it from its page.
    let task = tasks_of(app, o["order"]["customer_id"].as_i64().unwrap())
        .await
        .into_iter()
        .find(|t| t.period_key == format!("order:{id}"))
        .expect("a visit after the job");
    let page = web.get(app.url("/visits")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("/visits/{}", task.id)), "the visit after the job is due this week");
    let res = web.get(app.url(&format!("/visits/{}", task.id))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let version = task.version.to_string();
    let res = web
        .post(app.url(&format!("/visits/{}", task.id)))
        .form(&[("version", version.as_str()), ("channel", "fax"), ("outcome", "reached")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = web
        .post(app.url(&format!("/visits/{}", task.id)))
        .form(&[("version", version.as_str()), ("channel", "phone"), ("outcome", "reached"), ("then", "request")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let to = res.headers()[reqwest::header::LOCATION].to_str().unwrap().to_string();
    assert!(to.starts_with("/work-orders/new?customer_id="), "one click opens a request: {to}");
    let page =
        web.get(app.url(&format!("/customers/{}", task.customer_id))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("/visits/{}", task.id)), "the visit is on the customer's time line");
}
