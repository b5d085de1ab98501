//! Service teams as an administrator meets them: the demo's two teams; a team created once
//! for a repeated request, taking its engineer from his former team; bad input refused field
//! by field; a stale edit refused; deactivation releasing the members; every change audited;
//! only administrators change teams, a dispatcher reads his region's; the pages (list, form,
//! the team column of the user list, the teams on the dispatch board) — on both databases.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::TestApp;

both!(an_admin_manages_teams_and_their_engineers, team_pages_and_refusals);

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
