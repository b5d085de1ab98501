//! Service teams as an administrator meets them: the demo's two teams; a team created once
//! for a repeated request, taking its engineer from his former team; bad input refused field
//! by field; a stale edit refused; deactivation releasing the members; every change audited;
//! only administrators change teams, a dispatcher reads his region's; the pages (list, form,
//! the team column of the user list, the teams on the dispatch board); an order shows the
//! team it counts for (page, JSON, list, export) and the user export names each user's team;
//! the SLA report, reached from the dashboard, keeps the dashboard's team, refused to a region
//! user for another region's team — on both databases.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::TestApp;

both!(
    an_admin_manages_teams_and_their_engineers,
    team_pages_and_refusals,
    an_order_shows_its_team_and_the_user_export_names_teams,
    the_sla_report_from_the_dashboard_keeps_the_team,
);

async fn user_id(app: &TestApp, admin: &str, login: &str) -> i64 {
    let (_, v) = app.api(Method::GET, &format!("/api/v1/users?q={login}"), admin, None).await;
    v["items"].as_array().unwrap().iter().find(|u| u["login"] == login).unwrap()["id"].as_i64().unwrap()
}

fn team<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array().unwrap().iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("{name} in {list}"))
}

fn member_ids(t: &Value) -> Vec<i64> {
    t["members"].as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()).collect()
}

async fn an_admin_manages_teams_and_their_engineers(app: &TestApp) {
    let admin = app.token("admin").await;
    let (eng, eng2, dispatcher) = (
        user_id(app, &admin, "engineer").await,
        user_id(app, &admin, "engineer2").await,
        user_id(app, &admin, "dispatcher").await,
    );
    // The demo's teams: one per engineer's region, led by him.
    let (status, list) = app.api(Method::GET, "/api/v1/teams", &admin, None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    let east = team(&list, "华东维修一组").clone();
    let south = team(&list, "华南服务组").clone();
    assert_eq!((east["region_code"].as_str(), east["leader_name"].as_str()), (Some("east"), Some("张伟")));
    assert_eq!(member_ids(&east), vec![eng]);
    assert_eq!(member_ids(&south), vec![eng2]);

    // Created once for a repeated request; 刘洋 leaves his former team for it.
    let body = json!({"name": "华东安装组", "region": "east", "leader_id": dispatcher, "members": [eng2]});
    let send = || {
        reqwest::Client::new()
            .post(app.url("/api/v1/teams"))
            .bearer_auth(&admin)
            .header("Idempotency-Key", "team-east-install")
            .json(&body)
            .send()
    };
    let res = send().await.unwrap();
    assert_eq!(res.status(), 201);
    let t: Value = res.json().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], t["id"]);
    let id = t["id"].as_i64().unwrap();
    assert_eq!((t["leader_name"].as_str(), t["active"].as_bool()), (Some("陈静"), Some(true)), "{t}");
    assert_eq!(member_ids(&t), vec![eng2]);
    let (_, s) = app.api(Method::GET, &format!("/api/v1/teams/{}", south["id"]), &admin, None).await;
    assert!(member_ids(&s).is_empty(), "an engineer is in one team at most: {s}");
    let (_, u) = app.api(Method::GET, &format!("/api/v1/users/{eng2}"), &admin, None).await;
    assert_eq!(u["team_id"], id, "{u}");

    // Bad input, field by field; a name taken.
    let (status, e) = app
        .api(
            Method::POST,
            "/api/v1/teams",
            &admin,
            Some(json!({"name": " ", "region": "atlantis", "leader_id": 999999, "members": [dispatcher]})),
        )
        .await;
    assert_eq!(status, 422, "{e}");
    for f in ["name", "region", "leader_id", "members"] {
        assert!(e["error"]["fields"][f].is_array(), "{f}: {e}");
    }
    let (status, e) = app.api(Method::POST, "/api/v1/teams", &admin, Some(json!({"name": "华南服务组"}))).await;
    assert_eq!(status, 422);
    assert!(e["error"]["fields"]["name"].is_array(), "{e}");

    // Edited with the version read; a stale version is refused and changes nothing.
    let edit = json!({"version": t["version"], "name": "华东安装一组", "region": "east", "leader_id": dispatcher,
        "members": [eng2], "active": true});
    let (status, t2) = app.api(Method::PUT, &format!("/api/v1/teams/{id}"), &admin, Some(edit.clone())).await;
    assert_eq!(status, 200, "{t2}");
    assert_eq!(t2["name"], "华东安装一组");
    assert_eq!(t2["version"].as_i64(), t["version"].as_i64().map(|v| v + 1));
    let (status, _) = app.api(Method::PUT, &format!("/api/v1/teams/{id}"), &admin, Some(edit)).await;
    assert_eq!(status, 409);

    // Deactivated: its engineer leaves it; lists show active teams unless asked for all.
    let (status, d) = app
        .api(Method::POST, &format!("/api/v1/teams/{id}/deactivate"), &admin, Some(json!({"version": t2["version"]})))
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["active"], false);
    assert!(member_ids(&d).is_empty());
    let (_, u) = app.api(Method::GET, &format!("/api/v1/users/{eng2}"), &admin, None).await;
    assert!(u["team_id"].is_null(), "{u}");
    let (_, active) = app.api(Method::GET, "/api/v1/teams", &admin, None).await;
    assert_eq!(active.as_array().unwrap().len(), 2, "{active}");
    let (_, all) = app.api(Method::GET, "/api/v1/teams?all=1", &admin, None).await;
    assert_eq!(all.as_array().unwrap().len(), 3, "{all}");

    // Every change is audited with the members before and after.
    let (_, audit) =
        app.api(Method::GET, &format!("/api/v1/audit?entity_type=team&entity_id={id}"), &admin, None).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["deactivate", "update", "create"], "{audit}");
    let last = &audit["items"][0];
    assert!(last["before_json"].as_str().unwrap().contains(&format!("[{eng2}]")), "{last}");
    assert!(last["after_json"].as_str().unwrap().contains("\"members\":[]"), "{last}");

    // The dispatcher (east) reads his region's teams; only administrators change them.
    let disp = app.token("dispatcher").await;
    let (status, mine) = app.api(Method::GET, "/api/v1/teams", &disp, None).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = mine.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["华东维修一组"], "{mine}");
    let (status, _) = app.api(Method::GET, &format!("/api/v1/teams/{}", south["id"]), &disp, None).await;
    assert_eq!(status, 404);
    for login in ["manager", "dispatcher"] {
        let t = app.token(login).await;
        let (status, _) = app.api(Method::POST, "/api/v1/teams", &t, Some(json!({"name": "X"}))).await;
        assert_eq!(status, 403, "{login}");
    }
    let (status, _) = app.api(Method::GET, "/api/v1/teams", &app.token("engineer").await, None).await;
    assert_eq!(status, 403);
    let (_, doc) = app.api(Method::GET, "/api/v1/openapi.json", &admin, None).await;
    assert!(doc["paths"]["/api/v1/teams/{id}/deactivate"]["post"].is_object());
}

async fn team_pages_and_refusals(app: &TestApp) {
    let c = app.login("admin", aftersales::demo::DEMO_PASSWORD).await;
    let page = c.get(app.url("/admin/teams")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"teams-table\"") && page.contains("华东维修一组") && page.contains("张伟"), "{page}");
    assert!(page.contains("id=\"nav-teams\""));

    // Created from the form (its key makes a double submission create once).
    let form = c.get(app.url("/admin/teams/new")).send().await.unwrap().text().await.unwrap();
    let idem = form.split("name=\"idem\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert_eq!(idem.len(), 32);
    let admin = app.token("admin").await;
    let eng = user_id(app, &admin, "engineer").await;
    let fields = [
        ("idem", idem.as_str()),
        ("name", "华东夜班组"),
        ("region", "east"),
        ("leader_id", ""),
        ("members", &eng.to_string()),
    ];
    let res = c.post(app.url("/admin/teams")).form(&fields).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let res = c.post(app.url("/admin/teams")).form(&fields).send().await.unwrap();
    assert_eq!(res.headers()["location"].to_str().unwrap(), to, "the same team");
    let (_, all) = app.api(Method::GET, "/api/v1/teams", &admin, None).await;
    assert_eq!(all.as_array().unwrap().len(), 3, "{all}");
    let edit = c.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(edit.contains("华东夜班组") && edit.contains("id=\"team-deactivate\""), "{edit}");
    assert!(edit.contains(&format!("value=\"{eng}\" checked")), "张伟 is a member: {edit}");

    // Refused input keeps what was typed.
    let res = c.post(app.url("/admin/teams")).form(&[("name", ""), ("region", "east")]).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("class=\"alert\""), "{body}");

    // The user list shows each user's team.
    let users = c.get(app.url("/admin/users?q=engineer")).send().await.unwrap().text().await.unwrap();
    assert!(users.contains("华东夜班组") && users.contains("华南服务组"), "{users}");

    // The dispatch board names each engineer's team.
    let m = app.login("manager", aftersales::demo::DEMO_PASSWORD).await;
    let board = m.get(app.url("/dispatch")).send().await.unwrap().text().await.unwrap();
    assert!(board.contains("华东夜班组") && board.contains("华南服务组"), "{board}");

    // Only administrators open the pages.
    let res = m.get(app.url("/admin/teams")).send().await.unwrap();
    assert_eq!(res.status(), 403);
}

/// Registers a repair for the demo unit `serial` (as `token`) and returns its id.
async fn register(app: &TestApp, token: &str, serial: &str) -> i64 {
    let (status, u) = app.api(Method::GET, &format!("/api/v1/units?number={serial}"), token, None).await;
    assert_eq!(status, 200, "{u}");
    let u = &u["items"][0];
    let body = json!({"channel": "hotline", "kind": "repair", "priority": "normal", "customer_id": u["customer_id"],
        "unit_id": u["id"], "problem": "不制冷"});
    let (status, v) = app.api(Method::POST, "/api/v1/work-orders", token, Some(body)).await;
    assert_eq!(status, 201, "{v}");
    v["order"]["id"].as_i64().unwrap()
}

async fn assign(app: &TestApp, token: &str, order: i64, engineer: i64) -> Value {
    let (_, o) = app.api(Method::GET, &format!("/api/v1/work-orders/{order}"), token, None).await;
    let body = json!({"version": o["order"]["version"], "engineer_id": engineer});
    let (status, o) =
        app.api(Method::POST, &format!("/api/v1/work-orders/{order}/actions/assign"), token, Some(body)).await;
    assert_eq!(status, 200, "{o}");
    o
}

async fn text(c: &reqwest::Client, url: String) -> (u16, String) {
    let res = c.get(url).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn an_order_shows_its_team_and_the_user_export_names_teams(app: &TestApp) {
    let admin = app.token("admin").await;
    let manager = app.token("manager").await;
    let (_, list) = app.api(Method::GET, "/api/v1/teams", &admin, None).await;
    let east_id = team(&list, "华东维修一组")["id"].as_i64().unwrap();
    let zhang = user_id(app, &admin, "engineer").await;
    let web = app.login("manager", aftersales::demo::DEMO_PASSWORD).await;

    // Not assigned yet: no team.
    let x = register(app, &manager, "KF35A0002").await;
    let (_, o) = app.api(Method::GET, &format!("/api/v1/work-orders/{x}"), &manager, None).await;
    assert!(o["order"]["team_id"].is_null() && o["order"]["team_name"].is_null(), "{o}");
    let (status, page) = text(&web, app.url(&format!("/work-orders/{x}"))).await;
    assert_eq!(status, 200);
    assert!(!page.contains("id=\"order-team\""), "no team before the assignment");

    // Assigned to 张伟: the order counts for his team, shown on the page, in its JSON and the list.
    let o = assign(app, &manager, x, zhang).await;
    assert_eq!(
        (o["order"]["team_id"].as_i64(), o["order"]["team_name"].as_str()),
        (Some(east_id), Some("华东维修一组"))
    );
    let (_, o) = app.api(Method::GET, &format!("/api/v1/work-orders/{x}"), &manager, None).await;
    assert_eq!(
        (o["order"]["team_id"].as_i64(), o["order"]["team_name"].as_str()),
        (Some(east_id), Some("华东维修一组"))
    );
    let (_, page) = text(&web, app.url(&format!("/work-orders/{x}"))).await;
    assert!(page.contains("<dd id=\"order-team\">华东维修一组</dd>"), "{page}");
    let (_, items) = app.api(Method::GET, &format!("/api/v1/work-orders?team={east_id}"), &manager, None).await;
    let item = items["items"].as_array().unwrap().iter().find(|i| i["id"] == x).expect("the order is listed");
    assert_eq!((item["team_id"].as_i64(), item["team_name"].as_str()), (Some(east_id), Some("华东维修一组")));
    let (status, csv) =
        text(&web, app.url(&format!("/work-orders/export?format=csv&team={east_id}&status=assigned"))).await;
    assert_eq!(status, 200, "{csv}");
    let header = csv.lines().next().unwrap();
    assert!(header.contains(",服务工程师,班组,"), "a team column after the engineer: {header}");
    let row = csv.lines().find(|l| l.starts_with(&format!("WO{x:08}"))).unwrap_or_else(|| panic!("{csv}"));
    assert!(row.contains(",张伟,华东维修一组,"), "{row}");
    let (_, doc) = app.api(Method::GET, "/api/v1/openapi.json", &admin, None).await;
    for schema in ["WorkOrder", "Summary"] {
        let props = &doc["components"]["schemas"][schema]["properties"];
        assert!(props["team_id"].is_object() && props["team_name"].is_object(), "{schema}: {props}");
    }

    // The user export names each user's team (none for those without).
    let a = app.login("admin", aftersales::demo::DEMO_PASSWORD).await;
    for path in ["/admin/users/export?format=csv", "/api/v1/users/export?format=csv"] {
        let (status, csv) = if path.starts_with("/api") {
            let res = reqwest::Client::new().get(app.url(path)).bearer_auth(&admin).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        } else {
            text(&a, app.url(path)).await
        };
        assert_eq!(status, 200, "{path}: {csv}");
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        let col = header.iter().position(|h| *h == "班组").unwrap_or_else(|| panic!("a team column: {header:?}"));
        let team_of = |login: &str| -> String {
            let line = csv.lines().find(|l| l.starts_with(&format!("{login},"))).unwrap_or_else(|| panic!("{csv}"));
            line.split(',').nth(col).unwrap_or_default().to_string()
        };
        assert_eq!(team_of("engineer"), "华东维修一组", "{csv}");
        assert_eq!(team_of("engineer2"), "华南服务组", "{csv}");
        assert_eq!(team_of("dispatcher"), "", "{csv}");
    }
    let (status, xlsx) = text(&a, app.url("/admin/users/export?format=xlsx")).await;
    assert_eq!(status, 200, "{xlsx}");
}

async fn the_sla_report_from_the_dashboard_keeps_the_team(app: &TestApp) {
    let admin = app.token("admin").await;
    let manager = app.token("manager").await;
    let dispatcher = app.token("dispatcher").await; // region east
    let (_, list) = app.api(Method::GET, "/api/v1/teams", &admin, None).await;
    let (east, south) = (team(&list, "华东维修一组"), team(&list, "华南服务组"));
    let (east_id, south_id) = (east["id"].as_i64().unwrap(), south["id"].as_i64().unwrap());
    let liu = user_id(app, &admin, "engineer2").await;
    let today = aftersales::service::work_orders::today();
    let from = today - chrono::TimeDelta::days(1);

    // X, registered now and assigned to 刘洋: its clocks are the south team's.
    let x = register(app, &manager, "KF35A0002").await;
    assign(app, &manager, x, liu).await;
    let compliance = |q: String, token: String| async move {
        let (status, v) =
            app.api(Method::GET, &format!("/api/v1/sla/compliance?from={from}&to={today}{q}"), &token, None).await;
        (status, v)
    };
    let (status, all) = compliance(String::new(), manager.clone()).await;
    assert_eq!(status, 200, "{all}");
    let (status, s) = compliance(format!("&team={south_id}"), manager.clone()).await;
    assert_eq!(status, 200, "{s}");
    let (_, by_engineer) = compliance(format!("&engineer_id={liu}"), manager.clone()).await;
    let total = |v: &Value| v["total"]["total"].as_i64().unwrap();
    assert!(total(&s) > 0, "X's clocks: {s}");
    assert_eq!(total(&s), total(&by_engineer), "the south team's orders are 刘洋's");
    assert!(total(&s) < total(&all), "the demo's other orders are not the south team's: {all}");
    let (status, b) = app
        .api(Method::GET, &format!("/api/v1/sla/breaches?from={from}&to={today}&team={south_id}"), &manager, None)
        .await;
    assert_eq!(status, 200, "{b}");

    // As on the dashboard: a region user picks his region's teams only; bad ids are refused.
    let (status, e) = compliance(format!("&team={south_id}"), dispatcher.clone()).await;
    assert_eq!(status, 422, "{e}");
    assert!(e["error"]["fields"]["team"].is_array(), "{e}");
    let (status, e) = app.api(Method::GET, &format!("/api/v1/sla/breaches?team={south_id}"), &dispatcher, None).await;
    assert_eq!(status, 422, "{e}");
    let (status, mine) = compliance(format!("&team={east_id}"), dispatcher.clone()).await;
    assert_eq!(status, 200, "{mine}");
    for bad in ["abc", "0", "999999"] {
        let (status, e) = compliance(format!("&team={bad}"), manager.clone()).await;
        assert_eq!(status, 422, "{bad}: {e}");
        assert!(e["error"]["fields"]["team"].is_array(), "{e}");
    }

    // The exports keep the team: the total line is the team's.
    let web = app.login("manager", aftersales::demo::DEMO_PASSWORD).await;
    let total_line = |csv: &str| -> i64 {
        csv.lines().last().and_then(|l| l.split(',').nth(1)).and_then(|n| n.parse().ok()).unwrap_or(-1)
    };
    let (status, csv) =
        text(&web, app.url(&format!("/sla/export?what=compliance&format=csv&from={from}&to={today}&team={south_id}")))
            .await;
    assert_eq!(status, 200, "{csv}");
    assert_eq!(total_line(&csv), total(&s), "{csv}");
    let res = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/sla/compliance/export?format=csv&from={from}&to={today}&team={south_id}")))
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(total_line(&res.text().await.unwrap()), total(&s));

    // The dashboard links to the report with its team; the report keeps it in its picker and
    // its export links.
    let (status, dash) = text(&web, app.url(&format!("/dashboard?from={from}&to={today}&team={south_id}"))).await;
    assert_eq!(status, 200);
    let fig = dash.split("id=\"fig-sla\"").next().unwrap().rsplit("href=\"").next().unwrap();
    assert_eq!(fig, format!("/sla?from={from}&#38;to={today}&#38;team={south_id}\" "), "{dash}");
    let (status, report) = text(&web, app.url(&format!("/sla?from={from}&to={today}&team={south_id}"))).await;
    assert_eq!(status, 200);
    assert!(report.contains(&format!("<option value=\"{south_id}\" selected>华南服务组</option>")), "{report}");
    assert!(report.contains(&format!("team={south_id}")), "the export links keep the team");
    let line = report.split("<tr id=\"sla-total\">").nth(1).unwrap_or_default();
    assert_eq!(line.split("</th>").nth(1), Some(format!("<th>{}", total(&s)).as_str()), "the team's total: {report}");
    let d = app.login("dispatcher", aftersales::demo::DEMO_PASSWORD).await;
    let (status, report) = text(&d, app.url(&format!("/sla?team={south_id}"))).await;
    assert_eq!(status, 422, "{report}");
    assert!(report.contains("请选择本区域的班组"), "{report}");
    assert!(report.contains("华东维修一组") && !report.contains("华南服务组"), "his region's teams only");
}
