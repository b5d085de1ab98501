//! The foundation as users meet it: sign-in, language, roles, user administration, API
//! tokens, the audit trail, errors, CSRF, health and metrics — on both databases.

use aftersales::demo::DEMO_PASSWORD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::TestApp;

both!(
    health_metrics_and_openapi,
    login_logout_and_no_user_enumeration,
    login_rate_limit_per_account,
    language_switch_is_remembered_per_user,
    roles_limit_pages_and_api,
    admin_creates_user_with_field_errors_first,
    stale_edit_is_refused_and_disabling_ends_sessions,
    api_tokens_idempotency_and_revocation,
    audit_trail_records_before_and_after,
    csrf_rejects_cross_site_posts,
    sessions_are_shared_between_instances,
    resetting_a_password_ends_sessions_at_once,
    writes_reach_the_database_file_while_serving,
);

async fn health_metrics_and_openapi(app: &TestApp) {
    let c = app.client();
    let h: Value = c.get(app.url("/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(h["status"], "ok");
    assert_eq!(h["database"], if app.backend == crate::helpers::Backend::Sqlite { "sqlite" } else { "postgres" });
    let m = c.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(m.contains("http_requests_total"), "{m}");
    assert!(m.contains("route=\"/healthz\""));
    let doc: Value = c.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["paths"]["/api/v1/users"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/tokens"]["post"].is_object());
    assert!(doc["components"]["schemas"]["User"].is_object());
    // Unknown API paths answer in the API's error shape.
    let (status, body) = app.api(Method::GET, "/api/v1/nothing-here", "x", None).await;
    assert_eq!(status, 401, "a bad token is refused before routing: {body}");
}

async fn login_logout_and_no_user_enumeration(app: &TestApp) {
    let c = app.client();
    // Not signed in: pages redirect to the login, keeping where the user wanted to go.
    let res = c.get(app.url("/admin/users")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login?next=/admin/users");

    let wrong =
        c.post(app.url("/login")).form(&[("login", "admin"), ("password", "wrong-password")]).send().await.unwrap();
    assert_eq!(wrong.status(), 422);
    let wrong_text = wrong.text().await.unwrap();
    let nobody =
        c.post(app.url("/login")).form(&[("login", "nobody"), ("password", "wrong-password")]).send().await.unwrap();
    let nobody_text = nobody.text().await.unwrap();
    assert!(wrong_text.contains("账号或密码不正确"));
    assert!(nobody_text.contains("账号或密码不正确"), "same message whether the account exists or not");
    assert!(wrong_text.contains("value=\"admin\""), "what the user typed is kept");

    let res = c
        .post(app.url("/login"))
        .form(&[("login", "Admin"), ("password", DEMO_PASSWORD), ("next", "/admin/users")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/admin/users");
    let cookie =
        res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect::<Vec<_>>();
    let sid = cookie.iter().find(|c| c.starts_with("as_sid=")).unwrap();
    assert!(sid.contains("HttpOnly") && sid.contains("SameSite=Lax"), "{sid}");
    let home = c.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("欢迎，系统管理员"), "{home}");

    // An open redirect to another site is not followed after login.
    let c2 = app.client();
    let res = c2
        .post(app.url("/login"))
        .form(&[("login", "gm"), ("password", DEMO_PASSWORD), ("next", "//evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/");

    let res = c.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let res = c.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 303, "the session is gone after logout");
}

async fn login_rate_limit_per_account(app: &TestApp) {
    let c = app.client();
    for _ in 0..5 {
        let res =
            c.post(app.url("/login")).form(&[("login", "quality"), ("password", "bad-guess")]).send().await.unwrap();
        assert_eq!(res.status(), 422);
    }
    // Locked now, even with the right password, with the same answer for a non-existent login.
    let res =
        c.post(app.url("/login")).form(&[("login", "quality"), ("password", DEMO_PASSWORD)]).send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.text().await.unwrap().contains("15 分钟"));
    // Another account from the same address still signs in.
    app.login("warehouse", DEMO_PASSWORD).await;
}

async fn language_switch_is_remembered_per_user(app: &TestApp) {
    let c = app.login("dispatcher", DEMO_PASSWORD).await;
    let res = c.post(app.url("/lang")).form(&[("locale", "en"), ("next", "/")]).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let home = c.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("Welcome, 陈静"), "{home}");
    assert!(home.contains("lang=\"en\""));
    // A new session of the same user, from a fresh browser, is in English too.
    let c2 = app.login("dispatcher", DEMO_PASSWORD).await;
    let home = c2.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("Sign out"), "{home}");
    // And the API answers errors in the user's language.
    let token = app.token("dispatcher").await;
    let (status, body) = app.api(Method::GET, "/api/v1/users", &token, None).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["message"], "You are not allowed to do this");
}

async fn roles_limit_pages_and_api(app: &TestApp) {
    let eng = app.login("engineer", DEMO_PASSWORD).await;
    assert_eq!(eng.get(app.url("/admin/users")).send().await.unwrap().status(), 403);
    assert_eq!(eng.get(app.url("/audit")).send().await.unwrap().status(), 403);
    let home = eng.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(!home.contains("/admin/users"), "engineers are not offered user administration");
    assert!(home.contains("华东区"), "the engineer's region is shown");

    let mgr = app.login("manager", DEMO_PASSWORD).await;
    assert_eq!(mgr.get(app.url("/audit")).send().await.unwrap().status(), 200);
    assert_eq!(mgr.get(app.url("/admin/users")).send().await.unwrap().status(), 403);

    let token = app.token("engineer").await;
    let (status, me) = app.api(Method::GET, "/api/v1/me", &token, None).await;
    assert_eq!(status, 200);
    assert_eq!(me["roles"], json!(["engineer"]));
    assert_eq!(me["region_code"], "east");
    let (status, _) = app.api(Method::GET, "/api/v1/audit", &token, None).await;
    assert_eq!(status, 403);
    // An engineer may read himself but not others.
    let id = me["id"].as_i64().unwrap();
    assert_eq!(app.api(Method::GET, &format!("/api/v1/users/{id}"), &token, None).await.0, 200);
    assert_eq!(app.api(Method::GET, "/api/v1/users/1", &token, None).await.0, 403);
}

async fn count_users(app: &TestApp, token: &str) -> usize {
    let (_, page) = app.api(Method::GET, "/api/v1/users?limit=200", token, None).await;
    page["items"].as_array().unwrap().len()
}

async fn admin_creates_user_with_field_errors_first(app: &TestApp) {
    let admin = app.login("admin", DEMO_PASSWORD).await;
    let token = app.token("admin").await;
    let before = count_users(app, &token).await;
    let res = admin
        .post(app.url("/admin/users"))
        .form(&[
            ("login", "王五"),
            ("password", "short"),
            ("display_name", "王五"),
            ("email", "not-an-email"),
            ("phone", "12345"),
            ("region", "east"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    for msg in
        ["账号只能包含小写字母", "密码至少 8 个字符", "电子邮箱格式不正确", "电话号码格式不正确", "至少选择一个角色"]
    {
        assert!(page.contains(msg), "missing {msg}");
    }
    assert!(page.contains("value=\"王五\""), "typed values are kept");
    assert_eq!(count_users(app, &token).await, before, "nothing was created");

    let res = admin
        .post(app.url("/admin/users"))
        .body("login=wang.wu&password=goodpassword&display_name=%E7%8E%8B%E4%BA%94&email=&phone=139-1234-5678&roles=engineer&roles=warehouse&region=south&locale=en")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (_, page) = app.api(Method::GET, "/api/v1/users?q=wang", &token, None).await;
    let u = &page["items"][0];
    assert_eq!(u["login"], "wang.wu");
    assert_eq!(u["phone"], "13912345678");
    assert_eq!(u["roles"], json!(["engineer", "warehouse"]));
    assert_eq!(u["region_code"], "south");
    // The new user can sign in, and sees the English interface chosen for them.
    let c = app.login("wang.wu", "goodpassword").await;
    assert!(c.get(app.url("/")).send().await.unwrap().text().await.unwrap().contains("Welcome"));
    // A duplicate login is refused on its field.
    let (status, body) = app
        .api(
            Method::POST,
            "/api/v1/users",
            &token,
            Some(json!({"login": "WANG.WU", "display_name": "x", "password": "goodpassword", "roles": ["engineer"]})),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["fields"]["login"][0], "该账号已存在");
}

async fn stale_edit_is_refused_and_disabling_ends_sessions(app: &TestApp) {
    let token = app.token("admin").await;
    let (_, page) = app.api(Method::GET, "/api/v1/users?q=engineer2", &token, None).await;
    let u = page["items"][0].clone();
    let id = u["id"].as_i64().unwrap();
    let version = u["version"].as_i64().unwrap();
    let engineer = app.login("engineer2", DEMO_PASSWORD).await;
    assert_eq!(engineer.get(app.url("/")).send().await.unwrap().status(), 200);

    let edit = |v: i64, name: &str, active: bool| json!({"version": v, "display_name": name, "roles": ["engineer"], "region": "south", "active": active, "locale": "zh-CN"});
    let (status, first) =
        app.api(Method::PUT, &format!("/api/v1/users/{id}"), &token, Some(edit(version, "刘洋A", true))).await;
    assert_eq!(status, 200);
    assert_eq!(first["version"], version + 1);
    let (status, body) =
        app.api(Method::PUT, &format!("/api/v1/users/{id}"), &token, Some(edit(version, "刘洋B", true))).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    let (_, now) = app.api(Method::GET, &format!("/api/v1/users/{id}"), &token, None).await;
    assert_eq!(now["display_name"], "刘洋A", "the stale write changed nothing");

    // The web form says the same and keeps the user's input.
    let admin = app.login("admin", DEMO_PASSWORD).await;
    let res = admin
        .post(app.url(&format!("/admin/users/{id}")))
        .form(&[
            ("version", version.to_string().as_str()),
            ("display_name", "刘洋C"),
            ("roles", "engineer"),
            ("region", "south"),
            ("active", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let html = res.text().await.unwrap();
    assert!(html.contains("已被他人修改") && html.contains("value=\"刘洋C\""));

    // Disabling ends the user's sessions and blocks sign-in.
    let (status, _) =
        app.api(Method::PUT, &format!("/api/v1/users/{id}"), &token, Some(edit(version + 1, "刘洋A", false))).await;
    assert_eq!(status, 200);
    assert_eq!(engineer.get(app.url("/")).send().await.unwrap().status(), 303);
    let res = app
        .client()
        .post(app.url("/login"))
        .form(&[("login", "engineer2"), ("password", DEMO_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);

    // An administrator cannot disable themselves.
    let (_, me) = app.api(Method::GET, "/api/v1/me", &token, None).await;
    let my_id = me["id"].as_i64().unwrap();
    let (_, mine) = app.api(Method::GET, &format!("/api/v1/users/{my_id}"), &token, None).await;
    let (status, body) = app
        .api(
            Method::PUT,
            &format!("/api/v1/users/{my_id}"),
            &token,
            Some(json!({"version": mine["version"], "display_name": "x", "roles": ["admin"], "active": false})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["active"].is_array());

    // Reset password: the old one stops working.
    let (status, _) = app
        .api(
            Method::POST,
            &format!("/api/v1/users/{my_id}/password"),
            &token,
            Some(json!({"password": "new-secret-1"})),
        )
        .await;
    assert_eq!(status, 204);
    let res = app
        .client()
        .post(app.url("/login"))
        .form(&[("login", "admin"), ("password", DEMO_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    app.login("admin", "new-secret-1").await;
}

async fn api_tokens_idempotency_and_revocation(app: &TestApp) {
    let token = app.token("gm").await;
    let create = |key: &'static str| {
        let url = app.url("/api/v1/tokens");
        let token = token.clone();
        async move {
            let res = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .header("Idempotency-Key", key)
                .json(&json!({"name": "ERP 对接"}))
                .send()
                .await
                .unwrap();
            let replayed = res.headers().contains_key("idempotent-replayed");
            (res.status().as_u16(), replayed, res.json::<Value>().await.unwrap())
        }
    };
    let (s1, r1, first) = create("key-1").await;
    let (s2, r2, second) = create("key-1").await;
    assert_eq!((s1, r1), (201, false));
    assert_eq!((s2, r2), (201, true));
    assert_eq!(first["id"], second["id"], "a retried create returns the first answer");
    let (_, list) = app.api(Method::GET, "/api/v1/tokens", &token, None).await;
    assert_eq!(list.as_array().unwrap().iter().filter(|t| t["name"] == "ERP 对接").count(), 1);
    assert!(list.to_string().find(first["token"].as_str().unwrap()).is_none(), "secrets are never listed");

    let new_token = first["token"].as_str().unwrap();
    assert_eq!(app.api(Method::GET, "/api/v1/me", new_token, None).await.0, 200);
    let id = first["id"].as_i64().unwrap();
    // Someone else cannot revoke it, and cannot even learn it exists.
    let other = app.token("quality").await;
    assert_eq!(app.api(Method::DELETE, &format!("/api/v1/tokens/{id}"), &other, None).await.0, 404);
    assert_eq!(app.api(Method::DELETE, &format!("/api/v1/tokens/{id}"), &token, None).await.0, 204);
    let (status, body) = app.api(Method::GET, "/api/v1/me", new_token, None).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");

    // A token already checked (and so cached by this instance) follows its user's changes at
    // once: fewer roles take effect on the next call, and a disabled account's token is refused.
    let admin = app.token("admin").await;
    let wh = app.token("warehouse").await;
    assert_eq!(app.api(Method::GET, "/api/v1/me", &wh, None).await.0, 200);
    let (_, page) = app.api(Method::GET, "/api/v1/users?q=warehouse", &admin, None).await;
    let u = page["items"][0].clone();
    let uid = u["id"].as_i64().unwrap();
    let put = |version: &Value, roles: Value, active: bool| json!({"version": version, "display_name": u["display_name"], "roles": roles, "active": active});
    let (status, after) = app
        .api(Method::PUT, &format!("/api/v1/users/{uid}"), &admin, Some(put(&u["version"], json!(["engineer"]), true)))
        .await;
    assert_eq!(status, 200, "{after}");
    let (_, me) = app.api(Method::GET, "/api/v1/me", &wh, None).await;
    assert_eq!(me["roles"], json!(["engineer"]), "{me}");
    let (status, _) = app
        .api(
            Method::PUT,
            &format!("/api/v1/users/{uid}"),
            &admin,
            Some(put(&after["version"], json!(["engineer"]), false)),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.api(Method::GET, "/api/v1/me", &wh, None).await.0,
        401,
        "a disabled user's token is refused at once"
    );

    // A malformed body names the problem.
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/tokens"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let v: Value = res.json().await.unwrap();
    assert!(v["error"]["fields"]["body"][0].as_str().unwrap().contains("JSON"));
}

async fn audit_trail_records_before_and_after(app: &TestApp) {
    let token = app.token("admin").await;
    let (_, page) = app.api(Method::GET, "/api/v1/users?q=warehouse", &token, None).await;
    let u = &page["items"][0];
    let id = u["id"].as_i64().unwrap();
    let body = json!({"version": u["version"], "display_name": "孙丽丽", "roles": ["warehouse"], "active": true});
    assert_eq!(app.api(Method::PUT, &format!("/api/v1/users/{id}"), &token, Some(body)).await.0, 200);
    let (status, audit) =
        app.api(Method::GET, &format!("/api/v1/audit?entity_type=user&entity_id={id}"), &token, None).await;
    assert_eq!(status, 200);
    let update = audit["items"].as_array().unwrap().iter().find(|e| e["action"] == "update").expect("update audited");
    assert_eq!(update["actor_label"], "admin");
    assert!(update["before_json"].as_str().unwrap().contains("孙丽\""));
    assert!(update["after_json"].as_str().unwrap().contains("孙丽丽"));
    assert!(!update["after_json"].as_str().unwrap().contains("argon2"), "no password hash in the trail");
    // The manager reads it on the page as well.
    let mgr = app.login("manager", DEMO_PASSWORD).await;
    let html = mgr
        .get(app.url(&format!("/audit?entity_type=user&entity_id={id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("孙丽丽"));
}

async fn csrf_rejects_cross_site_posts(app: &TestApp) {
    let c = app.login("admin", DEMO_PASSWORD).await;
    let res =
        c.post(app.url("/lang")).header("sec-fetch-site", "cross-site").form(&[("locale", "en")]).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = c
        .post(app.url("/lang"))
        .header("origin", "http://evil.example")
        .form(&[("locale", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = c
        .post(app.url("/lang"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("locale", "en"), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

/// A signed-in page is served from the instance's short-lived session cache; ending the
/// sessions must still take effect on the next request, not seconds later.
async fn resetting_a_password_ends_sessions_at_once(app: &TestApp) {
    let admin = app.token("admin").await;
    let (_, page) = app.api(Method::GET, "/api/v1/users?q=warehouse", &admin, None).await;
    let id = page["items"][0]["id"].as_i64().unwrap();
    let c = app.login("warehouse", DEMO_PASSWORD).await;
    for _ in 0..2 {
        assert_eq!(c.get(app.url("/")).send().await.unwrap().status(), 200);
    }
    let (status, body) = app
        .api(Method::POST, &format!("/api/v1/users/{id}/password"), &admin, Some(json!({"password": "a-new-secret-9"})))
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(c.get(app.url("/")).send().await.unwrap().status(), 303, "the cached session ended with the reset");
    let again = app.login("warehouse", "a-new-secret-9").await;
    assert_eq!(again.get(app.url("/")).send().await.unwrap().status(), 200);
}

async fn sessions_are_shared_between_instances(app: &TestApp) {
    let second = app.another_instance().await;
    let c = app.login("gm", DEMO_PASSWORD).await;
    let html = c.get(second.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("王建国"), "a session made on one instance works on another");
    second.stop().await;
}

/// SQLite: the server copies the WAL back into the database file beside the writer, so a
/// write reaches the file soon, long before the writer's own checkpoint (every 4,000 WAL
/// pages) would. Read with `immutable`, which looks at the file alone and never at the WAL.
async fn writes_reach_the_database_file_while_serving(app: &TestApp) {
    let Some(opts) = app.db.sqlite_write_options() else {
        return; // PostgreSQL checkpoints by itself.
    };
    let token = app.token("admin").await;
    let (status, body) = app.api(Method::POST, "/api/v1/tokens", &token, Some(json!({"name": "WAL check"}))).await;
    assert_eq!(status, 201, "{body}");
    let file_only = opts.read_only(true).immutable(true);
    let started = std::time::Instant::now();
    loop {
        use sqlx::ConnectOptions;
        let mut c = file_only.connect().await.unwrap();
        // Until the first checkpoint the file may not even hold the table.
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens WHERE name = 'WAL check'")
            .fetch_one(&mut c)
            .await
            .unwrap_or(0);
        if n == 1 {
            break;
        }
        assert!(started.elapsed().as_secs() < 10, "the new token never reached the database file");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
