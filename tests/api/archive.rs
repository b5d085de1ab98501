//! The customer and sold-product archive as its users meet it, on both databases.

use aftersales::demo::DEMO_PASSWORD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::TestApp;

both!(
    customers_validate_detect_duplicates_and_version,
    search_finds_chinese_words_phones_and_serials,
    common_and_rare_words_find_the_newest_matches,
    regions_limit_what_users_see,
    units_serials_transfer_and_warranty_status,
    warranty_card_and_public_page,
    archive_pages_keep_input_and_show_history,
);

fn new_customer(name: &str, city: &str, phone: &str) -> Value {
    json!({"name": name, "kind": "company", "class": "B", "region": "east", "province": "江苏省", "city": city,
           "address": "工业园区星湖街 328 号", "phone": phone, "notes": "冷水机组压缩机异响，需要定期维修保养",
           "contacts": [{"name": "孙工", "phone": "13585001234", "position": "设备科"}]})
}

/// PostgreSQL finds a common word's newest matches by walking the customers newest first and a
/// rarer word's through the word index (it tells them apart by its statistics, read here after
/// ANALYZE); both ways give the newest matches, as SQLite does.
async fn common_and_rare_words_find_the_newest_matches(app: &TestApp) {
    let token = app.token("manager").await;
    let mut ids = vec![];
    for i in 0..30 {
        let notes = if i % 10 == 3 { "压缩机异响，离心机待检" } else { "压缩机异响" };
        let body = json!({"name": format!("星河制冷{i}号站"), "city": "苏州", "region": "east", "notes": notes});
        let (status, c) = app.api(Method::POST, "/api/v1/customers", &token, Some(body)).await;
        assert_eq!(status, 201, "{c}");
        ids.push(c["id"].as_i64().unwrap());
    }
    if app.backend == crate::helpers::Backend::Postgres {
        let mut tx = app.db.begin().await.unwrap();
        aftersales::on_conn!(tx.conn(), |e| {
            sqlx::query("ANALYZE customer_search").execute(&mut *e).await.unwrap();
        });
        tx.commit().await.unwrap();
        let mut c = app.db.read().await.unwrap();
        let freq = aftersales::store::customers::word_frequencies(c.conn()).await.unwrap();
        assert!(freq.get("压缩机").is_some_and(|f| *f > 0.5), "a common word: {:?}", freq.get("压缩机"));
        assert!(freq.get("离心机").is_none_or(|f| *f < 0.2), "a rarer one: {:?}", freq.get("离心机"));
    }
    let ids_of = |v: &Value| -> Vec<i64> {
        v["customers"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect()
    };
    let (_, common) = app.api(Method::GET, &format!("/api/v1/search?q={}", urlencode("压缩机")), &token, None).await;
    let newest: Vec<i64> = ids.iter().rev().take(20).copied().collect();
    assert_eq!(ids_of(&common), newest, "the 20 newest of 30+ matches");
    let (_, rare) =
        app.api(Method::GET, &format!("/api/v1/search?q={}", urlencode("离心机 压缩机")), &token, None).await;
    assert_eq!(ids_of(&rare), vec![ids[23], ids[13], ids[3]]);
}

async fn customers_validate_detect_duplicates_and_version(app: &TestApp) {
    let token = app.token("dispatcher").await;
    let (status, body) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &token,
            Some(json!({"name": "", "class": "D", "phone": "12345", "email": "x@", "region": "south",
                         "contacts": [{"name": "", "phone": "999"}]})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let fields = &body["error"]["fields"];
    for f in ["name", "class", "phone", "email", "region", "contacts[0].name", "contacts[0].phone"] {
        assert!(fields[f].is_array(), "no error on {f}: {body}");
    }

    let (status, created) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &token,
            Some(new_customer("苏州星湖冷链有限公司", "苏州市", "0512-62881234")),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["phone"], "051262881234");
    assert_eq!(created["region_code"], "east");
    assert_eq!(created["contacts"][0]["phone"], "13585001234");
    let id = created["id"].as_i64().unwrap();

    // Same name in the same city, or a shared phone: refused until confirmed.
    let (status, dup) = app
        .api(Method::POST, "/api/v1/customers", &token, Some(new_customer("苏州星湖冷链有限公司", "苏州市", "")))
        .await;
    assert_eq!(status, 422);
    assert!(dup["error"]["fields"]["name"][0].as_str().unwrap().contains(&format!("#{id}")), "{dup}");
    let (status, _) = app
        .api(Method::POST, "/api/v1/customers", &token, Some(new_customer("另一家公司", "无锡市", "13585001234")))
        .await;
    assert_eq!(status, 422, "a contact's phone counts too");
    let mut confirmed = new_customer("另一家公司", "无锡市", "13585001234");
    confirmed["confirm_duplicate"] = json!(true);
    assert_eq!(app.api(Method::POST, "/api/v1/customers", &token, Some(confirmed)).await.0, 201);

    // Optimistic concurrency on edits.
    let mut edit = new_customer("苏州星湖冷链股份有限公司", "苏州市", "0512-62881234");
    edit["version"] = created["version"].clone();
    let (status, updated) = app.api(Method::PUT, &format!("/api/v1/customers/{id}"), &token, Some(edit.clone())).await;
    assert_eq!(status, 200, "{updated}");
    let (status, _) = app.api(Method::PUT, &format!("/api/v1/customers/{id}"), &token, Some(edit)).await;
    assert_eq!(status, 409);

    // Audited with before and after.
    let admin = app.token("admin").await;
    let (_, audit) =
        app.api(Method::GET, &format!("/api/v1/audit?entity_type=customer&entity_id={id}"), &admin, None).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["update", "create"]);

    // Soft delete hides it from lists and search but needs the current version.
    let v = updated["version"].as_i64().unwrap();
    assert_eq!(
        app.api(Method::DELETE, &format!("/api/v1/customers/{id}?version={}", v - 1), &token, None).await.0,
        409
    );
    assert_eq!(app.api(Method::DELETE, &format!("/api/v1/customers/{id}?version={v}"), &token, None).await.0, 204);
    assert_eq!(app.api(Method::GET, &format!("/api/v1/customers/{id}"), &token, None).await.0, 404);
    let (_, found) = app.api(Method::GET, "/api/v1/search?q=星湖冷链", &token, None).await;
    assert_eq!(found["customers"].as_array().unwrap().len(), 0);

    // Engineers read the archive but do not edit it.
    let eng = app.token("engineer").await;
    assert_eq!(app.api(Method::POST, "/api/v1/customers", &eng, Some(new_customer("x", "y", ""))).await.0, 403);
}

async fn names(v: &Value, key: &str) -> Vec<String> {
    v[key].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap_or_default().to_string()).collect()
}

async fn search_finds_chinese_words_phones_and_serials(app: &TestApp) {
    let token = app.token("manager").await;
    // Words inside longer Chinese text: notes "…需安排保养", tags "中央空调", address "张江路".
    for (q, expected) in [
        ("保养", "上海浦东华联商厦有限公司"),
        ("空调 商场", "上海浦东华联商厦有限公司"),
        ("宏远物业", "广州天河宏远物业管理有限公司"),
        ("中关村", "北京中关村科技园服务中心"),
        ("周敏", "成都锦江宾馆"),
    ] {
        let (status, res) = app.api(Method::GET, &format!("/api/v1/search?q={}", urlencode(q)), &token, None).await;
        assert_eq!(status, 200);
        assert!(names(&res, "customers").await.contains(&expected.to_string()), "{q} → {res}");
    }
    // A phone prefix finds the customer through a contact's number.
    let (_, res) = app.api(Method::GET, "/api/v1/search?q=1380013", &token, None).await;
    assert_eq!(names(&res, "customers").await, vec!["上海浦东华联商厦有限公司"]);
    // Landline with dashes, as people type it.
    let (_, res) = app.api(Method::GET, "/api/v1/search?q=020-3876", &token, None).await;
    assert_eq!(names(&res, "customers").await, vec!["广州天河宏远物业管理有限公司"]);
    // Serial prefix, case-insensitive; exact invoice number.
    let (_, res) = app.api(Method::GET, "/api/v1/search?q=kf35a", &token, None).await;
    let serials: Vec<&str> = res["units"].as_array().unwrap().iter().map(|u| u["serial"].as_str().unwrap()).collect();
    assert_eq!(serials.len(), 3, "{res}");
    assert!(serials.iter().all(|s| s.starts_with("KF35A")));
    let invoice = res["units"][0]["invoice_no"].as_str().unwrap().to_string();
    let (_, res) = app.api(Method::GET, &format!("/api/v1/search?q={invoice}"), &token, None).await;
    assert_eq!(res["units"].as_array().unwrap().len(), 1);
    // Ranking: a customer whose name holds the word comes before newer ones that only mention it.
    for body in [
        json!({"name": "冷水机组服务站", "city": "无锡"}),
        json!({"name": "华东宾馆", "city": "无锡", "notes": "冷水机组年检"}),
    ] {
        assert_eq!(app.api(Method::POST, "/api/v1/customers", &token, Some(body)).await.0, 201);
    }
    let (_, res) = app.api(Method::GET, &format!("/api/v1/search?q={}", urlencode("冷水机组")), &token, None).await;
    assert_eq!(names(&res, "customers").await, vec!["冷水机组服务站", "华东宾馆"], "{res}");
    // Nothing matches nonsense.
    let (_, res) = app.api(Method::GET, "/api/v1/search?q=不存在的名字", &token, None).await;
    assert!(res["customers"].as_array().unwrap().is_empty());
    // The list API filters and pages with a cursor.
    let (_, page) = app.api(Method::GET, "/api/v1/customers?sort=name&limit=2", &token, None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let next = page["next"].as_str().unwrap().to_string();
    let (_, page2) = app
        .api(Method::GET, &format!("/api/v1/customers?sort=name&limit=2&after={}", urlencode(&next)), &token, None)
        .await;
    let first: Vec<String> = names(&page, "items").await;
    let second: Vec<String> = names(&page2, "items").await;
    assert_eq!(second.len(), 2);
    assert!(first.iter().all(|n| !second.contains(n)), "pages do not overlap");
    let (_, a_class) = app.api(Method::GET, "/api/v1/customers?class=A&key=true", &token, None).await;
    assert_eq!(a_class["items"].as_array().unwrap().len(), 2);
    let (status, _) = app.api(Method::GET, "/api/v1/customers?class=Z", &token, None).await;
    assert_eq!(status, 422);
}

async fn regions_limit_what_users_see(app: &TestApp) {
    let east = app.token("engineer").await; // 华东
    let (_, list) = app.api(Method::GET, "/api/v1/customers?limit=200", &east, None).await;
    let regions: Vec<&str> =
        list["items"].as_array().unwrap().iter().map(|c| c["region_code"].as_str().unwrap()).collect();
    assert!(!regions.is_empty());
    assert!(regions.iter().all(|r| *r == "east"), "{regions:?}");
    let (_, res) = app.api(Method::GET, "/api/v1/search?q=宏远物业", &east, None).await;
    assert!(res["customers"].as_array().unwrap().is_empty(), "a south customer is not found from the east");
    let manager = app.token("manager").await;
    let (_, res) = app.api(Method::GET, "/api/v1/search?q=宏远物业", &manager, None).await;
    let south_id = res["customers"][0]["id"].as_i64().unwrap();
    assert_eq!(app.api(Method::GET, &format!("/api/v1/customers/{south_id}"), &east, None).await.0, 404);
    let (_, units) = app.api(Method::GET, "/api/v1/units?limit=200", &east, None).await;
    assert!(units["items"].as_array().unwrap().iter().all(|u| u["region_code"] == "east"));
    let (_, all) = app.api(Method::GET, "/api/v1/units?limit=200", &manager, None).await;
    assert!(all["items"].as_array().unwrap().len() > units["items"].as_array().unwrap().len());
    // A dispatcher of the east registers customers in the east only.
    let dispatcher = app.token("dispatcher").await;
    let mut south = new_customer("深圳南山新客户", "深圳市", "");
    south["region"] = json!("south");
    let (status, body) = app.api(Method::POST, "/api/v1/customers", &dispatcher, Some(south)).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["region"].is_array());
    // And the page list of an engineer shows no south customer.
    let c = app.login("engineer", DEMO_PASSWORD).await;
    let html = c.get(app.url("/customers")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("上海浦东华联商厦有限公司") && !html.contains("广州天河宏远物业管理有限公司"));
}

async fn units_serials_transfer_and_warranty_status(app: &TestApp) {
    let token = app.token("dispatcher").await;
    let (_, res) = app.api(Method::GET, "/api/v1/search?q=浦东华联", &token, None).await;
    let owner = res["customers"][0]["id"].as_i64().unwrap();
    let (_, res) = app.api(Method::GET, "/api/v1/search?q=张晓明", &token, None).await;
    let buyer = res["customers"][0]["id"].as_i64().unwrap();
    let unit = json!({"serial": " 00123kf ", "model": "HX-KF35", "customer_id": owner, "sale_date": "2025-03-01",
                      "invoice_no": "fp0001", "invoice_date": "2025年3月1日", "certificate_no": "sb-1"});
    let (status, u) = app.api(Method::POST, "/api/v1/units", &token, Some(unit.clone())).await;
    assert_eq!(status, 201, "{u}");
    assert_eq!(u["serial"], "00123KF", "leading zeros kept, letters upper-cased");
    assert_eq!(u["invoice_date"], "2025-03-01");
    let id = u["id"].as_i64().unwrap();
    let (status, dup) = app.api(Method::POST, "/api/v1/units", &token, Some(unit)).await;
    assert_eq!(status, 422);
    let msg = dup["error"]["fields"]["serial"][0].as_str().unwrap();
    assert!(msg.contains(&format!("#{id}")) && msg.contains("上海浦东华联商厦有限公司"), "{msg}");
    let (status, bad) = app
        .api(
            Method::POST,
            "/api/v1/units",
            &token,
            Some(json!({"serial": "a b", "model": "NOPE", "customer_id": 999999, "sale_date": "2099-01-01",
                        "install_date": "2026-02-30", "odometer_km": -5})),
        )
        .await;
    assert_eq!(status, 422);
    for f in ["serial", "model", "customer_id", "sale_date", "install_date", "odometer_km"] {
        assert!(bad["error"]["fields"][f].is_array(), "no error on {f}: {bad}");
    }

    // Seed company policy, mid/high grade: 2 years from the invoice date, inclusive.
    let (status, w) = app.api(Method::GET, &format!("/api/v1/units/{id}/warranty?date=2026-03-01"), &token, None).await;
    assert_eq!(status, 200, "{w}");
    assert_eq!(w["warranty_ends"], "2027-02-28");
    assert_eq!(w["in_warranty"], true);
    assert!(w["decisions"].as_array().unwrap().iter().all(|d| d["rule"].as_str().unwrap().starts_with("seed-company")));
    let (_, w) = app.api(Method::GET, &format!("/api/v1/units/{id}/warranty?date=2027-03-01"), &token, None).await;
    assert_eq!(w["in_warranty"], false);
    assert!(w["remedies"].as_array().unwrap().contains(&json!("paid_repair")));

    // A model under a company policy: the unit's status follows that policy and cites it.
    let mgr = app.token("manager").await;
    let (status, _) = app
        .api(Method::POST, "/api/v1/entitlement/policies/seed-company/copy", &mgr, Some(json!({"code": "huaxin-2026"})))
        .await;
    assert_eq!(status, 201);
    let model = json!({"code": "HX-KF72", "name": "华信 KF72", "category": "air_conditioner", "grade": "high",
                       "policy": "huaxin-2026", "warranty_months": 36});
    assert_eq!(app.api(Method::POST, "/api/v1/product-models", &mgr, Some(model)).await.0, 201);
    let (_, u2) = app
        .api(
            Method::POST,
            "/api/v1/units",
            &token,
            Some(json!({"serial": "KF72X1", "model": "HX-KF72", "customer_id": owner, "invoice_date": "2025-03-01"})),
        )
        .await;
    let (_, w) =
        app.api(Method::GET, &format!("/api/v1/units/{}/warranty?date=2026-03-01", u2["id"]), &token, None).await;
    assert_eq!(w["policy"], "huaxin-2026", "{w}");
    assert_eq!(w["warranty_ends"], "2028-02-29", "the model's 36 months override the policy");

    // A change of owner keeps the history; a stale version is refused.
    let t = json!({"version": u["version"], "customer_id": buyer, "note": "转卖"});
    let (status, moved) = app.api(Method::POST, &format!("/api/v1/units/{id}/transfer"), &token, Some(t.clone())).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["customer_id"], buyer);
    assert_eq!(app.api(Method::POST, &format!("/api/v1/units/{id}/transfer"), &token, Some(t)).await.0, 409);
    let c = app.login("dispatcher", DEMO_PASSWORD).await;
    let html = c.get(app.url(&format!("/units/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("上海浦东华联商厦有限公司") && html.contains("转卖"), "previous owner in the history");

    // A unit registered by mistake is soft-deleted; its serial stays taken.
    let v = moved["version"].as_i64().unwrap();
    assert_eq!(app.api(Method::DELETE, &format!("/api/v1/units/{id}?version={v}"), &token, None).await.0, 204);
    assert_eq!(app.api(Method::GET, &format!("/api/v1/units/{id}"), &token, None).await.0, 404);
    let again = json!({"serial": "00123KF", "model": "HX-KF35", "customer_id": owner});
    assert_eq!(app.api(Method::POST, "/api/v1/units", &token, Some(again)).await.0, 422);
}

async fn warranty_card_and_public_page(app: &TestApp) {
    let c = app.login("dispatcher", DEMO_PASSWORD).await;
    let token = app.token("dispatcher").await;
    let (_, res) = app.api(Method::GET, "/api/v1/units?number=KF35A0001", &token, None).await;
    let id = res["items"][0]["id"].as_i64().unwrap();
    let page = c.get(app.url(&format!("/units/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("在保"), "status today on the unit page");
    let link = page.split("/u/").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert_eq!(link.len(), 32, "unguessable 128-bit token");
    let card = c.get(app.url(&format!("/units/{id}/card"))).send().await.unwrap().text().await.unwrap();
    assert!(card.contains("<svg") && card.contains("KF35A0001") && card.contains("保修卡"));

    // The customer's phone, no account: this unit only, no staff navigation.
    let public = app.client().get(app.url(&format!("/u/{link}"))).send().await.unwrap();
    assert_eq!(public.status(), 200);
    let html = public.text().await.unwrap();
    assert!(html.contains("KF35A0001") && html.contains("400-820-8820"));
    assert!(!html.contains("/customers") && !html.contains("上海浦东华联"), "nothing but the unit");
    let mut wrong = link.clone();
    wrong.replace_range(0..1, if link.starts_with('a') { "b" } else { "a" });
    assert_eq!(app.client().get(app.url(&format!("/u/{wrong}"))).send().await.unwrap().status(), 404);
    assert_eq!(app.client().get(app.url("/u/not-a-token")).send().await.unwrap().status(), 404);
}

async fn archive_pages_keep_input_and_show_history(app: &TestApp) {
    let c = app.login("dispatcher", DEMO_PASSWORD).await;
    let res = c
        .post(app.url("/customers"))
        .form(&[
            ("name", "上海浦东华联商厦有限公司"),
            ("city", "上海市"),
            ("phone", "abc"),
            ("region", "east"),
            ("class", "A"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("电话号码格式不正确"));
    assert!(html.contains("value=\"上海浦东华联商厦有限公司\""), "input kept");
    let res = c
        .post(app.url("/customers"))
        .form(&[("name", "上海浦东华联商厦有限公司"), ("city", "上海市"), ("region", "east"), ("class", "A")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("可能与已有客户重复") && html.contains("confirm-duplicate"),
        "duplicate offered for confirmation"
    );
    let res = c
        .post(app.url("/customers"))
        .form(&[
            ("name", "上海浦东华联商厦有限公司"),
            ("city", "上海市"),
            ("region", "east"),
            ("class", "A"),
            ("confirm_duplicate", "on"),
            ("contact_name", "钱工"),
            ("contact_phone", "13900001111"),
            ("contact_position", "电工"),
            ("contact_email", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let page_url = res.headers()["location"].to_str().unwrap().to_string();
    let html = c.get(app.url(&page_url)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("钱工") && html.contains("新建"), "contact and time line shown");
    // Search page in English for an English-speaking user.
    let en = app.login("manager", DEMO_PASSWORD).await;
    en.post(app.url("/lang")).form(&[("locale", "en"), ("next", "/")]).send().await.unwrap();
    let html = en.get(app.url("/search?q=KF35")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Units (sold products)") && html.contains("KF35A0001"));
    let html = en.get(app.url("/products")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("HX-EV01") && html.contains("cn-car-2021"));
}

fn urlencode(s: &str) -> String {
    aftersales::http::urlencode(s)
}

both!(
    import_customers_and_units_with_row_errors_then_clean,
    export_round_trips_through_import,
    import_page_streams_progress_then_the_result,
);

async fn import(app: &TestApp, token: &str, kind: &str, query: &str, filename: &str, body: Vec<u8>) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/import/{kind}?filename={filename}{query}")))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

async fn import_customers_and_units_with_row_errors_then_clean(app: &TestApp) {
    let token = app.token("manager").await;
    let (_, before) = app.api(Method::GET, "/api/v1/customers?limit=200", &token, None).await;
    let before = before["items"].as_array().unwrap().len();
    // GBK-encoded CSV as Excel in China saves it, with two bad rows and a repeated one.
    let csv = "客户名称,城市,电话,等级,区域,联系人,联系人电话\n\
               南京紫金制冷设备有限公司,南京市,025-84561234,A,east,陈工,13905141234\n\
               ,南京市,025-1,B,east,,\n\
               无锡太湖宾馆,无锡市,0510-82731234,Z,east,,\n\
               南京紫金制冷设备有限公司,南京市,,A,east,,\n";
    let (gbk, _, _) = encoding_rs::GB18030.encode(csv);
    let (status, report) = import(app, &token, "customers", "", "客户.csv", gbk.to_vec()).await;
    assert_eq!(status, 422, "{report}");
    assert_eq!(report["imported"], 0);
    assert_eq!(report["valid"], 1);
    let errors = report["errors"].as_array().unwrap();
    let at = |row: i64, column: &str| errors.iter().any(|e| e["row"] == row && e["column"] == column);
    assert!(at(3, "客户名称") && at(3, "电话"), "row 3: no name, bad phone: {report}");
    assert!(at(4, "等级"), "row 4: class Z");
    assert!(at(5, "客户名称"), "row 5 repeats row 2: {report}");
    let (_, now) = app.api(Method::GET, "/api/v1/customers?limit=200", &token, None).await;
    assert_eq!(now["items"].as_array().unwrap().len(), before, "nothing was imported");

    // An unknown region is named by its column (the import checks rows against the regions it
    // read once).
    let csv = "客户名称,区域\n区域测试客户,nowhere\n区域测试客户二,south\n".as_bytes().to_vec();
    let (status, report) = import(app, &token, "customers", "&dry_run=true", "r.csv", csv).await;
    assert_eq!(status, 422, "{report}");
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(
        (errors.len(), errors[0]["row"].as_i64(), errors[0]["column"].as_str()),
        (1, Some(2), Some("区域")),
        "{report}"
    );

    // Only the valid rows, in one go.
    let (status, report) = import(app, &token, "customers", "&only_valid=true", "客户.csv", gbk.to_vec()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["imported"], 1);
    let (_, found) = app.api(Method::GET, "/api/v1/search?q=紫金制冷", &token, None).await;
    let cid = found["customers"][0]["id"].as_i64().unwrap();
    let (_, found) = app.api(Method::GET, "/api/v1/search?q=139051", &token, None).await;
    assert_eq!(found["customers"][0]["id"], cid, "the contact's phone is searchable");

    // Units from .xlsx: serials with leading zeros typed as text, a date typed as an Excel
    // number, the customer by name.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["序列号", "型号编码", "客户名称", "发票日期", "发票号"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "000777").unwrap();
    ws.write_string(1, 1, "HX-LG120").unwrap();
    ws.write_string(1, 2, "南京紫金制冷设备有限公司").unwrap();
    ws.write_number(1, 3, 45352.0).unwrap();
    ws.write_string(1, 4, "FP20240301").unwrap();
    ws.write_string(2, 0, "000778").unwrap();
    ws.write_string(2, 1, "HX-LG120").unwrap();
    ws.write_string(2, 2, "南京紫金制冷设备有限公司").unwrap();
    ws.write_string(2, 3, "2024/3/2").unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    let (status, report) = import(app, &token, "units", "&dry_run=true", "units.xlsx", bytes.clone()).await;
    assert_eq!((status, report["valid"].as_i64(), report["imported"].as_i64()), (200, Some(2), Some(0)), "{report}");
    let (status, report) = import(app, &token, "units", "", "units.xlsx", bytes.clone()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["imported"], 2);
    let (_, units) = app.api(Method::GET, &format!("/api/v1/units?customer_id={cid}"), &token, None).await;
    let mut got: Vec<(String, String)> = units["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["serial"].as_str().unwrap().to_string(), u["invoice_date"].as_str().unwrap().to_string()))
        .collect();
    got.sort();
    assert_eq!(got, vec![("000777".into(), "2024-03-01".into()), ("000778".into(), "2024-03-02".into())]);
    // Written in bulk, each unit is whole: its first owner, a public card token, its own audit entry.
    let unit = units["items"].as_array().unwrap().iter().find(|u| u["serial"] == "000777").unwrap().clone();
    let uid = unit["id"].as_i64().unwrap();
    let (owners, stored) = {
        let mut c = app.db.read().await.unwrap();
        let owners = aftersales::store::units::owners(c.conn(), uid).await.unwrap();
        (owners, aftersales::store::units::get(c.conn(), uid).await.unwrap().unwrap())
    };
    assert_eq!(owners.iter().map(|o| o.customer_id).collect::<Vec<_>>(), vec![cid]);
    assert_eq!(stored.public_token.len(), 32);
    let card = reqwest::get(app.url(&format!("/u/{}", stored.public_token))).await.unwrap();
    assert_eq!(card.status(), 200);
    assert!(card.text().await.unwrap().contains("000777"));
    let (_, audit) = app
        .api(Method::GET, &format!("/api/v1/audit?entity_type=unit&entity_id={uid}"), &app.token("admin").await, None)
        .await;
    assert_eq!(audit["items"][0]["action"], "create", "{audit}");
    assert!(audit["items"][0]["after_json"].as_str().unwrap().contains("000777"));
    // Importing the same file again: every serial is taken.
    let (status, report) = import(app, &token, "units", "", "units.xlsx", bytes).await;
    assert_eq!(status, 422);
    assert_eq!(report["errors"].as_array().unwrap().len(), 2);
    // Product models, the category by its Chinese name and the grade as people write it.
    let csv = "型号编码,名称,类别,档次,三包政策,关键零部件\nHX-KF50,华信 KF50 柜式空调,空调,中高档,seed-company,压缩机\nHX-KF26,华信 KF26,冰柜,低档,nope,\n";
    let (status, report) = import(app, &token, "models", "", "models.csv", csv.as_bytes().to_vec()).await;
    assert_eq!(status, 422);
    let cols: Vec<&str> = report["errors"].as_array().unwrap().iter().map(|e| e["column"].as_str().unwrap()).collect();
    assert_eq!(cols, ["类别", "三包政策"], "{report}");
    let (status, report) =
        import(app, &token, "models", "&only_valid=true", "models.csv", csv.as_bytes().to_vec()).await;
    assert_eq!((status, report["imported"].as_i64()), (200, Some(1)));
    let (_, models) = app.api(Method::GET, "/api/v1/product-models", &token, None).await;
    let kf50 = models.as_array().unwrap().iter().find(|m| m["code"] == "HX-KF50").expect("imported model");
    assert_eq!((kf50["category_code"].as_str(), kf50["grade"].as_str()), (Some("air_conditioner"), Some("high")));
    // Engineers do not import.
    let eng = app.token("engineer").await;
    assert_eq!(import(app, &eng, "customers", "", "c.csv", b"name\nx\n".to_vec()).await.0, 403);

    // The web flow: upload, preview with the guessed mapping, check, import.
    let c = app.login("manager", DEMO_PASSWORD).await;
    let form = reqwest::multipart::Form::new().text("kind", "customers").part(
        "file",
        reqwest::multipart::Part::bytes("名称,城市,电话\n合肥新站物流园,合肥市,0551-63351234\n".as_bytes().to_vec())
            .file_name("c.csv"),
    );
    let res = c.post(app.url("/import")).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let page = res.headers()["location"].to_str().unwrap().to_string();
    let html = c.get(app.url(&page)).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains("合肥新站物流园") && html.contains("<option value=\"name\" selected>"),
        "preview with mapping"
    );
    let res = c
        .post(app.url(&page))
        .form(&[("map_0", "name"), ("map_1", "city"), ("map_2", "phone"), ("action", "import")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("id=\"imported-count\">1<"));
}

async fn export_round_trips_through_import(app: &TestApp) {
    let token = app.token("manager").await;
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/customers/export?format=csv&class=A"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains("customers.csv"));
    let text = res.text().await.unwrap();
    assert!(text.starts_with('\u{feff}'), "BOM for Excel");
    assert_eq!(text.lines().count(), 3, "header + the two class A customers: {text}");
    assert!(text.contains("北京中关村科技园服务中心"));
    let res = reqwest::Client::new().get(app.url("/api/v1/units/export")).bearer_auth(&token).send().await.unwrap();
    let bytes = res.bytes().await.unwrap().to_vec();
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> = calamine::Xlsx::new(std::io::Cursor::new(bytes.clone())).unwrap();
    let range = wb.worksheet_range("units").unwrap();
    assert_eq!(range.height(), 8, "header + the seven demo units");
    // The export reads back as an import: every serial is already there, row by row.
    let (status, report) = import(app, &token, "units", "&dry_run=true", "units.xlsx", bytes).await;
    assert_eq!(status, 422);
    assert_eq!(report["errors"].as_array().unwrap().len(), 7, "{report}");
    assert!(report["errors"][0]["message_en"].as_str().unwrap().contains("registered already"));

    // The product catalogue reads back as a model import (every code already taken).
    let res =
        reqwest::Client::new().get(app.url("/api/v1/product-models/export")).bearer_auth(&token).send().await.unwrap();
    let bytes = res.bytes().await.unwrap().to_vec();
    let (status, report) = import(app, &token, "models", "&dry_run=true", "models.xlsx", bytes).await;
    assert_eq!(status, 422);
    assert_eq!(report["rows"], 4, "{report}");
    assert!(report["errors"].as_array().unwrap().iter().all(|e| e["column"] == "型号编码"), "{report}");
    // Users and the audit trail, with their filters, for those who may read them.
    let admin = app.token("admin").await;
    let get = |path: &'static str, token: String| async move {
        let res = reqwest::Client::new().get(app.url(path)).bearer_auth(token).send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    };
    let (status, users) = get("/api/v1/users/export?format=csv&role=engineer", admin.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(users.lines().count(), 3, "header + two engineers: {users}");
    assert!(users.contains("engineer2") && !users.contains("warehouse"), "{users}");
    let (status, audit) = get("/api/v1/audit/export?format=csv&entity_type=api_token", admin).await;
    assert_eq!(status, 200);
    assert!(audit.lines().count() >= 3 && audit.lines().skip(1).all(|l| l.contains("api_token")), "{audit}");
    assert_eq!(get("/api/v1/users/export", token.clone()).await.0, 403);
    assert_eq!(get("/api/v1/audit/export", app.token("engineer").await).await.0, 403);
}

/// The import page's script asks for progress: the answer streams `progress` lines for both
/// phases, then the result page; a file with an error streams the check and writes nothing.
async fn import_page_streams_progress_then_the_result(app: &TestApp) {
    let c = app.login("manager", aftersales::demo::DEMO_PASSWORD).await;
    let upload = |csv: String| {
        let c = c.clone();
        async move {
            let part = reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("big.csv");
            let form = reqwest::multipart::Form::new().text("kind", "customers").part("file", part);
            let res = c.post(app.url("/import")).multipart(form).send().await.unwrap();
            assert_eq!(res.status(), 303);
            res.headers()["location"].to_str().unwrap().to_string()
        }
    };
    let submit = |at: String| {
        let c = c.clone();
        async move {
            let res = c
                .post(app.url(&at))
                .header("x-import-progress", "1")
                .form(&[("map_0", "name"), ("map_1", "city"), ("map_2", "phone"), ("action", "import")])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            res.text().await.unwrap()
        }
    };
    let rows = 1200;
    let mut csv = String::from("名称,城市,电话\n");
    for i in 0..rows {
        csv.push_str(&format!("进度测试客户{i},苏州,0512-6{i:07}\n"));
    }
    let mut bad = csv.clone();
    bad.push_str("进度测试客户坏行,苏州,12ab\n");

    let body = submit(upload(bad).await).await;
    let lines: Vec<&str> = body.lines().take_while(|l| *l != "page").collect();
    assert_eq!(lines.first(), Some(&"progress check 0 1201"), "{body:.300}");
    assert!(lines.contains(&"progress check 500 1201") && lines.contains(&"progress check 1201 1201"), "{lines:?}");
    assert!(!lines.iter().any(|l| l.starts_with("progress write")), "nothing is written with an error: {lines:?}");
    let page = body.split_once("page\n").map(|(_, p)| p).expect("the result page follows");
    assert!(page.contains("id=\"import-errors\"") && page.contains("1202"), "the bad row is reported by number");

    let body = submit(upload(csv).await).await;
    let lines: Vec<&str> = body.lines().take_while(|l| *l != "page").collect();
    assert!(lines.contains(&"progress write 0 1200") && lines.contains(&"progress write 1200 1200"), "{lines:?}");
    assert!(body.contains("id=\"import-done\"") && body.contains(">1200</strong>"), "{body:.2000}");
    let token = app.token("manager").await;
    let (_, found) = app.api(Method::GET, "/api/v1/customers?q=0512-60001199", &token, None).await;
    assert_eq!(found["items"][0]["name"], "进度测试客户1199", "{found}");
    // Written in bulk, each imported customer is still whole: found by a word, and in the
    // audit trail as its own creation; a customer created afterwards takes the next number.
    let id = found["items"][0]["id"].as_i64().unwrap();
    let (_, words) = app.api(Method::GET, "/api/v1/customers?q=进度测试客户1199", &token, None).await;
    assert!(words["items"].as_array().unwrap().iter().any(|c| c["id"] == id), "{words}");
    let (_, audit) = app
        .api(
            Method::GET,
            &format!("/api/v1/audit?entity_type=customer&entity_id={id}"),
            &app.token("admin").await,
            None,
        )
        .await;
    let entry = &audit["items"][0];
    assert_eq!((entry["action"].as_str(), entry["actor_label"].as_str()), (Some("create"), Some("manager")), "{audit}");
    assert!(entry["after_json"].as_str().unwrap_or_default().contains("60001199"), "{entry}");
    let (status, next) = app
        .api(Method::POST, "/api/v1/customers", &token, Some(json!({"name": "导入之后的客户", "city": "苏州"})))
        .await;
    assert_eq!(status, 201, "{next}");
    assert!(next["id"].as_i64().unwrap() > id, "{next}");
}
