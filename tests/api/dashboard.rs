//! The management dashboard (R9.5) as managers meet it: orders registered through the API
//! are counted by channel and type, completed ones by fault, clocks per promise and survey
//! answers as satisfaction — past days after the aggregation job, today live; an order
//! completed late on a past day is counted at the next run, and one reopened no longer counts
//! as completed on its old day; a team's figures are those of the orders its engineers were
//! assigned, and stay so when an engineer changes team; a dispatcher sees only his region;
//! every chart's table exports as .xlsx and .csv; the API's shape — on both databases.

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::TestApp;
use aftersales::service::work_orders::{midnight, today};

both!(
    figures_count_the_orders_past_and_today,
    exports_pages_and_refusals,
    a_reopened_order_leaves_its_completion_day,
    a_team_sees_the_orders_of_its_engineers
);

async fn register(app: &TestApp, token: &str, serial: &str, channel: &str, kind: &str) -> i64 {
    let (status, u) = app.api(Method::GET, &format!("/api/v1/units?number={serial}"), token, None).await;
    assert_eq!(status, 200, "{u}");
    let u = &u["items"][0];
    let body = json!({"channel": channel, "kind": kind, "priority": "normal", "customer_id": u["customer_id"],
        "unit_id": u["id"], "problem": "不制冷", "requested_at": "2026-12-03T10:00"});
    let (status, v) = app.api(Method::POST, "/api/v1/work-orders", token, Some(body)).await;
    assert_eq!(status, 201, "{v}");
    v["order"]["id"].as_i64().unwrap()
}

/// Moves an order (and its clocks) to `at`, as if registered then.
async fn registered_at(app: &TestApp, id: i64, at: DateTime<Utc>) {
    let mut tx = app.db.begin().await.unwrap();
    aftersales::on_conn!(tx.conn(), |e| {
        sqlx::query("UPDATE work_orders SET created_at = $1, updated_at = $2 WHERE id = $3")
            .bind(at)
            .bind(Utc::now())
            .bind(id)
            .execute(&mut *e)
            .await
            .unwrap();
        sqlx::query("UPDATE work_order_clocks SET started_at = $1 WHERE order_id = $2")
            .bind(at)
            .bind(id)
            .execute(&mut *e)
            .await
            .unwrap();
    });
    tx.commit().await.unwrap();
}

/// Completes an order at `at` with a fault code; its clocks stop then, breached or not.
async fn completed_at(app: &TestApp, id: i64, at: DateTime<Utc>, fault: &str, late: bool) {
    let mut tx = app.db.begin().await.unwrap();
    aftersales::on_conn!(tx.conn(), |e| {
        sqlx::query(
            "UPDATE work_orders SET status = 'completed', completed_at = $1, fault_code = $2, updated_at = $3, \
             sla_due_at = NULL WHERE id = $4",
        )
        .bind(at)
        .bind(fault)
        .bind(Utc::now())
        .bind(id)
        .execute(&mut *e)
        .await
        .unwrap();
        sqlx::query(
            "UPDATE work_order_clocks SET stopped_at = $1, state = $2, breached_at = $3, next_check_at = NULL \
             WHERE order_id = $4",
        )
        .bind(at)
        .bind(if late { "met_late" } else { "met" })
        .bind(late.then_some(at))
        .bind(id)
        .execute(&mut *e)
        .await
        .unwrap();
    });
    tx.commit().await.unwrap();
}

/// A survey answer for the order at `at` with the overall score.
async fn answered(app: &TestApp, id: i64, at: DateTime<Utc>, score: i32) {
    let mut tx = app.db.begin().await.unwrap();
    aftersales::on_conn!(tx.conn(), |e| {
        sqlx::query(
            "INSERT INTO surveys (token, kind, order_id, customer_id, region_code, category_code, request_kind, \
             created_at, answered_at, overall) \
             SELECT $1, 'job', id, customer_id, region_code, category_code, kind, $2, $2, $3 FROM work_orders \
             WHERE id = $4",
        )
        .bind(format!("dash-test-{id}"))
        .bind(at)
        .bind(score)
        .bind(id)
        .execute(&mut *e)
        .await
        .unwrap();
    });
    tx.commit().await.unwrap();
}

fn count(list: &Value, code: &str) -> i64 {
    list.as_array().unwrap().iter().find(|c| c["code"] == code).map(|c| c["count"].as_i64().unwrap()).unwrap_or(-1)
}

async fn figures_count_the_orders_past_and_today(app: &TestApp) {
    let manager = app.token("manager").await;
    let dispatcher = app.token("dispatcher").await; // region east
    let today = today();
    let (d5, d4, d3) = (today - TimeDelta::days(5), today - TimeDelta::days(4), today - TimeDelta::days(3));
    let at = |d: chrono::NaiveDate, h: i64| midnight(d) + TimeDelta::hours(h);

    // Three requests of five days ago (east, north, southwest), one of today (south); the demo's
    // three orders are today's too (east: hotline, e-mail, walk-in).
    let a = register(app, &dispatcher, "KF35A0002", "web", "repair").await; // east, air conditioner
    let b = register(app, &manager, "LG120B0008", "hotline", "maintenance").await; // north, compressor
    let c = register(app, &manager, "KF35A0010", "web", "repair").await; // southwest, air conditioner
    let d = register(app, &manager, "LHXEV01A5N0000123", "letter", "installation").await; // south, vehicle
    assert!(d > c);
    for id in [a, b, c] {
        registered_at(app, id, at(d5, 9)).await;
    }
    completed_at(app, a, at(d4, 10), "AC-E1", false).await;
    completed_at(app, b, at(d4, 11), "CP-E2", true).await;
    answered(app, a, at(d4, 15), 5).await;
    answered(app, b, at(d4, 16), 2).await;
    aftersales::service::dashboard::refresh_now(&app.db).await.unwrap();

    // Past days: from the stored figures.
    let past = format!("/api/v1/dashboard?from={}&to={}", today - TimeDelta::days(6), today - TimeDelta::days(1));
    let (status, v) = app.api(Method::GET, &past, &manager, None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["period"]["kind"], "range");
    assert_eq!(v["stored_until"], json!(today), "every closed day is stored: {v}");
    assert!(v["past_days_as_of"].is_string());
    let h = &v["headline"];
    assert_eq!((h["created"].as_i64(), h["completed"].as_i64()), (Some(3), Some(2)), "{v}");
    assert_eq!((count(&v["by_channel"], "web"), count(&v["by_channel"], "hotline")), (2, 1));
    assert_eq!(count(&v["by_channel"], "letter"), 0);
    assert_eq!((count(&v["by_kind"], "repair"), count(&v["by_kind"], "maintenance")), (2, 1));
    let faults = v["top_faults"].as_array().unwrap();
    assert_eq!(faults.len(), 2, "{v}");
    let ac = faults.iter().find(|f| f["code"] == "AC-E1").unwrap();
    assert_eq!((ac["count"].as_i64(), ac["name_zh"].as_str()), (Some(1), Some("不制冷/制冷差")));
    assert_eq!((v["satisfaction"]["answers"].as_i64(), v["satisfaction"]["satisfied"].as_i64()), (Some(2), Some(1)));
    assert_eq!(v["satisfaction"]["pct"], 50.0);
    assert_eq!(v["satisfaction"]["months"].as_array().unwrap().len(), 12);
    // SLA per promise: the same figures as the SLA report of the same days (stored clocks of
    // A and B, C's still running counted live).
    let (_, report) = app
        .api(
            Method::GET,
            &format!("/api/v1/sla/compliance?from={}&to={}", today - TimeDelta::days(6), today - TimeDelta::days(1)),
            &manager,
            None,
        )
        .await;
    let lines = report["lines"].as_array().unwrap();
    assert!(!lines.is_empty(), "{report}");
    for l in lines {
        let mine = v["sla"].as_array().unwrap().iter().find(|s| s["target"] == l["key"]).expect("every promise");
        for k in ["met", "met_late", "breached_open", "open"] {
            assert_eq!(mine[k], l[k], "{k} of {}: {v} vs {report}", l["key"]);
        }
    }
    let first_reply = v["sla"].as_array().unwrap().iter().find(|s| s["target"] == "first_reply").unwrap();
    assert_eq!((first_reply["met"].as_i64(), first_reply["met_late"].as_i64()), (Some(1), Some(1)), "{v}");

    // Today: counted live — D and the demo's three.
    let day = format!("/api/v1/dashboard?from={today}&to={today}");
    let (_, t) = app.api(Method::GET, &day, &manager, None).await;
    assert_eq!(t["headline"]["created"], 4, "{t}");
    assert_eq!(count(&t["by_channel"], "letter"), 1);
    assert_eq!(count(&t["by_kind"], "installation"), 1);
    // Both together: stored and live add up.
    let week = format!("/api/v1/dashboard?from={}&to={today}", today - TimeDelta::days(6));
    let (_, w) = app.api(Method::GET, &week, &manager, None).await;
    assert_eq!(w["headline"]["created"], 7, "{w}");
    assert_eq!(count(&w["by_channel"], "web"), 2);
    // Open now: everything but A and B; the demo's assigned order is an engineer's load.
    assert_eq!(w["headline"]["open"], 5, "{w}");
    let open: i64 = w["open_by_status"].as_array().unwrap().iter().map(|s| s["open"].as_i64().unwrap()).sum();
    assert_eq!(open, 5);
    let load = w["engineer_load"].as_array().unwrap();
    assert_eq!(load.len(), 1, "{w}");
    assert_eq!((load[0]["name"].as_str(), load[0]["open"].as_i64()), (Some("张伟"), Some(1)), "{w}");

    // A dispatcher sees his region only, whatever he asks for: A of the past days, the demo's
    // three today.
    let (_, e) = app
        .api(Method::GET, &format!("/api/v1/dashboard?from={}&to={today}&region=north", d5), &dispatcher, None)
        .await;
    assert_eq!(e["region"], "east", "{e}");
    assert_eq!(e["headline"]["created"], 4, "{e}");
    assert_eq!(e["headline"]["completed"], 1);
    assert_eq!(count(&e["by_channel"], "hotline"), 1, "the demo's hotline call, not B");
    assert_eq!(e["satisfaction"]["answers"], 1);
    // Its promises, the demo's running clocks included, are those of his SLA report.
    let (_, report) =
        app.api(Method::GET, &format!("/api/v1/sla/compliance?from={d5}&to={today}"), &dispatcher, None).await;
    let lines = report["lines"].as_array().unwrap();
    assert!(lines.iter().any(|l| l["open"].as_i64() > Some(0)), "running clocks in the east: {report}");
    for l in lines {
        let mine = e["sla"].as_array().unwrap().iter().find(|s| s["target"] == l["key"]).expect("every promise");
        for k in ["met", "met_late", "breached_open", "open"] {
            assert_eq!(mine[k], l[k], "{k} of {} in the east: {e} vs {report}", l["key"]);
        }
    }
    // A manager may pick a region.
    let (_, n) = app
        .api(
            Method::GET,
            &format!("/api/v1/dashboard?from={d5}&to={today}&region=north&category=compressor"),
            &manager,
            None,
        )
        .await;
    assert_eq!((n["headline"]["created"].as_i64(), n["headline"]["completed"].as_i64()), (Some(1), Some(1)), "{n}");

    // C completed late on a past day: counted again at the next run.
    completed_at(app, c, at(d3, 12), "AC-E1", false).await;
    let o = aftersales::service::dashboard::refresh_now(&app.db).await.unwrap();
    assert!(o.recounted >= 2, "the days of C's registration and completion: {o:?}");
    let (_, v) = app.api(Method::GET, &past, &manager, None).await;
    assert_eq!(v["headline"]["completed"], 3, "{v}");
    let ac = v["top_faults"].as_array().unwrap().iter().find(|f| f["code"] == "AC-E1").cloned().unwrap();
    assert_eq!(ac["count"], 2);
    assert_eq!(v["top_faults"][0]["code"], "AC-E1", "most frequent first");

    // Running it again changes nothing.
    aftersales::service::dashboard::refresh_now(&app.db).await.unwrap();
    let (_, again) = app.api(Method::GET, &past, &manager, None).await;
    assert_eq!(again["headline"], v["headline"]);
    assert_eq!(again["by_channel"], v["by_channel"]);
}

async fn exports_pages_and_refusals(app: &TestApp) {
    let manager = app.token("manager").await;
    let today = today();
    // The default: this quarter.
    let (status, v) = app.api(Method::GET, "/api/v1/dashboard", &manager, None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["period"]["kind"], "quarter");
    let (y, q) = rules::period::quarter_of(today);
    assert_eq!(v["period"]["label"], format!("{y}Q{q}"));
    for key in
        ["headline", "by_channel", "by_kind", "open_by_status", "sla", "satisfaction", "top_faults", "engineer_load"]
    {
        assert!(!v[key].is_null(), "{key} in {v}");
    }
    assert_eq!(v["by_channel"].as_array().unwrap().len(), 6);
    assert_eq!(v["open_by_status"].as_array().unwrap().len(), 8);
    let (_, m) = app.api(Method::GET, "/api/v1/dashboard?month=2026-02", &manager, None).await;
    assert_eq!((m["period"]["from"].as_str(), m["period"]["to"].as_str()), (Some("2026-02-01"), Some("2026-02-28")));

    // Bad input and the wrong roles are refused.
    let (status, e) = app.api(Method::GET, "/api/v1/dashboard?quarter=2026Q5", &manager, None).await;
    assert_eq!(status, 422);
    assert!(e["error"]["fields"]["quarter"].is_array(), "{e}");
    let (status, e) = app.api(Method::GET, "/api/v1/dashboard?from=2026-12-05&to=2026-12-01", &manager, None).await;
    assert_eq!(status, 422);
    assert!(e["error"]["fields"]["from"].is_array(), "{e}");
    for login in ["engineer", "warehouse"] {
        let t = app.token(login).await;
        let (status, _) = app.api(Method::GET, "/api/v1/dashboard", &t, None).await;
        assert_eq!(status, 403, "{login}");
    }
    let (_, doc) = app.api(Method::GET, "/api/v1/openapi.json", &manager, None).await;
    assert!(doc["paths"]["/api/v1/dashboard"]["get"].is_object());

    // Every chart's table as a spreadsheet, with the page's filters.
    let c = app.login("manager", aftersales::demo::DEMO_PASSWORD).await;
    for chart in ["summary", "volumes", "open", "sla", "satisfaction", "faults", "load"] {
        let res = c
            .get(app.url(&format!("/dashboard/export?chart={chart}&format=xlsx&quarter={y}Q{q}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{chart}");
        assert!(res.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
        let bytes = res.bytes().await.unwrap();
        assert_eq!(&bytes[..2], b"PK", "{chart}: a zip file");
    }
    let csv = c
        .get(app.url(&format!("/dashboard/export?chart=volumes&format=csv&from={today}&to={today}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 6 + 7, "{csv}");
    assert!(lines.iter().any(|l| l.contains("hotline") && l.ends_with(",1")), "the demo's hotline call: {csv}");
    let res = c.get(app.url("/dashboard/export?chart=nope&format=csv")).send().await.unwrap();
    assert_eq!(res.status(), 422);

    // The page: charts drawn as SVG, each with its table and exports; the link in the menu.
    let page = c.get(app.url("/dashboard")).send().await.unwrap().text().await.unwrap();
    assert_eq!(page.matches("<svg class=\"chart\"").count(), 7, "seven charts");
    assert!(page.contains("id=\"table-volumes\""));
    assert!(page.contains("/dashboard/export?chart=faults&") && page.contains("format=csv"));
    assert!(page.contains("id=\"nav-dashboard\""));
    assert!(page.contains("/work-orders?from="), "figures link to their orders");
    let home = c.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("id=\"tile-dashboard\""));
    // The channel filter the drill-down uses.
    let (status, list) = app.api(Method::GET, "/api/v1/work-orders?channel=walk_in", &manager, None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "the demo's walk-in: {list}");
    let (status, _) = app.api(Method::GET, "/api/v1/work-orders?channel=pigeon", &manager, None).await;
    assert_eq!(status, 422);
    let eng = app.login("engineer", aftersales::demo::DEMO_PASSWORD).await;
    let res = eng.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(res.status(), 403);
}

async fn a_reopened_order_leaves_its_completion_day(app: &TestApp) {
    let manager = app.token("manager").await;
    let today = today();
    let (d5, d4) = (today - TimeDelta::days(5), today - TimeDelta::days(4));
    let at = |d: chrono::NaiveDate, h: i64| midnight(d) + TimeDelta::hours(h);
    let a = register(app, &manager, "KF35A0002", "web", "repair").await;
    registered_at(app, a, at(d5, 9)).await;
    completed_at(app, a, at(d4, 10), "AC-E1", false).await;
    aftersales::service::dashboard::refresh_now(&app.db).await.unwrap();
    let day = format!("/api/v1/dashboard?from={d4}&to={d4}");
    let (_, v) = app.api(Method::GET, &day, &manager, None).await;
    assert_eq!(v["headline"]["completed"], 1, "{v}");
    assert_eq!(v["top_faults"].as_array().unwrap().len(), 1, "{v}");

    // Reopened today: the order no longer says it was completed on d4, and d4 stops counting it.
    let (_, o) = app.api(Method::GET, &format!("/api/v1/work-orders/{a}"), &manager, None).await;
    let body = json!({"version": o["order"]["version"], "note": "客户反映仍不制冷"});
    let (status, o) =
        app.api(Method::POST, &format!("/api/v1/work-orders/{a}/actions/reopen"), &manager, Some(body)).await;
    assert_eq!(status, 200, "{o}");
    assert!(o["order"]["completed_at"].is_null(), "{o}");
    let out = aftersales::service::dashboard::refresh_now(&app.db).await.unwrap();
    let (_, v) = app.api(Method::GET, &day, &manager, None).await;
    assert_eq!(v["headline"]["completed"], 0, "{v}");
    assert!(v["top_faults"].as_array().unwrap().is_empty(), "{v}");
    assert!(out.recounted >= 2, "the days of the registration and of the old completion: {out:?}");
    let (_, w) = app.api(Method::GET, &format!("/api/v1/dashboard?from={d5}&to={today}"), &manager, None).await;
    assert_eq!(w["headline"]["completed"], 0, "{w}");

    // Completed again today: counted today (live), not on d4.
    completed_at(app, a, at(today, 0), "AC-E1", false).await;
    aftersales::service::dashboard::refresh_now(&app.db).await.unwrap();
    let (_, v) = app.api(Method::GET, &day, &manager, None).await;
    assert_eq!(v["headline"]["completed"], 0, "{v}");
    let (_, w) = app.api(Method::GET, &format!("/api/v1/dashboard?from={d5}&to={today}"), &manager, None).await;
    assert_eq!(w["headline"]["completed"], 1, "{w}");
}

async fn a_team_sees_the_orders_of_its_engineers(app: &TestApp) {
    let admin = app.token("admin").await;
    let manager = app.token("manager").await;
    let dispatcher = app.token("dispatcher").await; // region east
    let today = today();
    let (d5, d4) = (today - TimeDelta::days(5), today - TimeDelta::days(4));
    let at = |d: chrono::NaiveDate, h: i64| midnight(d) + TimeDelta::hours(h);
    let (_, teams) = app.api(Method::GET, "/api/v1/teams", &admin, None).await;
    let team = |name: &str| -> Value {
        teams.as_array().unwrap().iter().find(|t| t["name"] == name).cloned().unwrap_or_else(|| panic!("{teams}"))
    };
    let (east, south) = (team("华东维修一组"), team("华南服务组"));
    let (east_id, south_id) = (east["id"].as_i64().unwrap(), south["id"].as_i64().unwrap());
    let liu = south["members"][0]["id"].as_i64().unwrap(); // 刘洋

    // X: registered five days ago, assigned to 刘洋 (south team), completed four days ago.
    let x = register(app, &manager, "KF35A0002", "web", "repair").await;
    let (_, o) = app.api(Method::GET, &format!("/api/v1/work-orders/{x}"), &manager, None).await;
    let body = json!({"version": o["order"]["version"], "engineer_id": liu});
    let (status, o) =
        app.api(Method::POST, &format!("/api/v1/work-orders/{x}/actions/assign"), &manager, Some(body)).await;
    assert_eq!(status, 200, "{o}");
    registered_at(app, x, at(d5, 9)).await;
    completed_at(app, x, at(d4, 10), "AC-E1", false).await;
    answered(app, x, at(d4, 15), 5).await;
    aftersales::service::dashboard::refresh_now(&app.db).await.unwrap();

    let week = |team: i64| format!("/api/v1/dashboard?from={d5}&to={today}&team={team}");
    let (status, s) = app.api(Method::GET, &week(south_id), &manager, None).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!((s["team"].as_i64(), s["team_name"].as_str()), (Some(south_id), Some("华南服务组")));
    let h = &s["headline"];
    assert_eq!(
        (h["created"].as_i64(), h["completed"].as_i64(), h["open"].as_i64()),
        (Some(1), Some(1), Some(0)),
        "{s}"
    );
    assert_eq!(s["satisfaction"]["answers"], 1, "{s}");
    assert_eq!(count(&s["by_channel"], "web"), 1);
    // The east team: the demo's order assigned to 张伟 today, open, his load.
    let (_, e) = app.api(Method::GET, &week(east_id), &manager, None).await;
    let h = &e["headline"];
    assert_eq!(
        (h["created"].as_i64(), h["completed"].as_i64(), h["open"].as_i64()),
        (Some(1), Some(0), Some(1)),
        "{e}"
    );
    assert_eq!(e["engineer_load"][0]["name"], "张伟", "{e}");
    assert_eq!(e["satisfaction"]["answers"], 0);
    // Without a team: everything (X and the demo's three).
    let (_, all) = app.api(Method::GET, &format!("/api/v1/dashboard?from={d5}&to={today}"), &manager, None).await;
    assert_eq!(all["headline"]["created"], 4, "{all}");
    assert!(all["team"].is_null());

    // 刘洋 moves to the east team: X stays the south team's (its engineer's team when assigned).
    let (_, t) = app.api(Method::GET, &format!("/api/v1/teams/{east_id}"), &admin, None).await;
    let mut members: Vec<i64> = t["members"].as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()).collect();
    members.push(liu);
    let edit = json!({"version": t["version"], "name": t["name"], "region": "east", "leader_id": t["leader_id"],
        "members": members, "active": true});
    let (status, _) = app.api(Method::PUT, &format!("/api/v1/teams/{east_id}"), &admin, Some(edit)).await;
    assert_eq!(status, 200);
    aftersales::service::dashboard::refresh_now(&app.db).await.unwrap();
    let (_, again) = app.api(Method::GET, &week(south_id), &manager, None).await;
    assert_eq!(again["headline"], s["headline"], "{again}");
    // The drill-down: the team's orders.
    let (status, list) = app.api(Method::GET, &format!("/api/v1/work-orders?team={south_id}"), &manager, None).await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<i64> = list["items"].as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![x]);

    // A dispatcher picks only teams of his region.
    let (status, err) = app.api(Method::GET, &week(south_id), &dispatcher, None).await;
    assert_eq!(status, 422, "{err}");
    assert!(err["error"]["fields"]["team"].is_array(), "{err}");
    let (status, mine) = app.api(Method::GET, &week(east_id), &dispatcher, None).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["headline"]["created"], 1);
    let (status, _) = app.api(Method::GET, "/api/v1/dashboard?team=abc", &manager, None).await;
    assert_eq!(status, 422);

    // The exports and the page honour the team.
    let c = app.login("manager", aftersales::demo::DEMO_PASSWORD).await;
    let csv = c
        .get(app.url(&format!("/dashboard/export?chart=summary&format=csv&from={d5}&to={today}&team={south_id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.lines().nth(1).is_some_and(|l| l.ends_with(",1")), "created 1: {csv}");
    assert!(csv.lines().nth(3).is_some_and(|l| l.ends_with(",0")), "open 0: {csv}");
    let page = c.get(app.url(&format!("/dashboard?team={south_id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("<option value=\"{south_id}\" selected>华南服务组</option>")), "{page}");
    assert!(page.contains(&format!("team={south_id}")), "links keep the team");
    let d = app.login("dispatcher", aftersales::demo::DEMO_PASSWORD).await;
    let page = d.get(app.url("/dashboard")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("华东维修一组") && !page.contains("华南服务组"), "his region's teams only");

    // Reopened, X has no engineer and no team until it is assigned again.
    let (_, o) = app.api(Method::GET, &format!("/api/v1/work-orders/{x}"), &manager, None).await;
    let body = json!({"version": o["order"]["version"], "note": "仍不制冷"});
    let (status, o) =
        app.api(Method::POST, &format!("/api/v1/work-orders/{x}/actions/reopen"), &manager, Some(body)).await;
    assert_eq!(status, 200, "{o}");
    let (_, list) = app.api(Method::GET, &format!("/api/v1/work-orders?team={south_id}"), &manager, None).await;
    assert!(list["items"].as_array().unwrap().is_empty(), "{list}");
    aftersales::service::dashboard::refresh_now(&app.db).await.unwrap();
    let (_, s2) = app.api(Method::GET, &week(south_id), &manager, None).await;
    assert_eq!((s2["headline"]["created"].as_i64(), s2["headline"]["completed"].as_i64()), (Some(0), Some(0)), "{s2}");
}
