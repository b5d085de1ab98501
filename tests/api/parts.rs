//! The parts catalogue and the stock locations (R8.1) as their users meet them: a part added
//! once (idempotent), found by number or name, edited over its version and deactivated; a
//! duplicate part number pointing at the part that has it; bad input refused field by field;
//! engineers reading but not writing; warehouses with one van per engineer; reorder points and
//! the replenishment list with its exports; the catalogue imported from a spreadsheet; the
//! pages — on both databases.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::TestApp;
use crate::work_orders::user_id;

both!(
    a_part_is_added_found_edited_and_deactivated,
    bad_input_is_refused_field_by_field_and_engineers_only_read,
    warehouses_one_van_per_engineer_and_reorder_points,
    the_replenishment_list_and_its_exports,
    pages_add_edit_and_deactivate_a_part_and_keep_a_warehouse,
    the_catalogue_is_imported_with_row_errors_then_clean,
    opening_stock_is_imported_as_receipts_with_reorder_points,
);

fn fields(v: &Value) -> Vec<String> {
    let mut f: Vec<String> = v["error"]["fields"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    f.sort();
    f
}

fn field_message(v: &Value, field: &str) -> String {
    v["error"]["fields"][field][0].as_str().unwrap_or_default().to_string()
}

async fn model_id(app: &TestApp, token: &str, code: &str) -> i64 {
    let (_, v) = app.api(Method::GET, "/api/v1/product-models", token, None).await;
    let list = v.as_array().or_else(|| v["items"].as_array()).unwrap_or_else(|| panic!("{v}"));
    list.iter().find(|m| m["code"] == code).unwrap()["id"].as_i64().unwrap()
}

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

async fn part_no(app: &TestApp, token: &str, no: &str) -> Option<Value> {
    let (_, v) = app.api(Method::GET, &format!("/api/v1/parts?active=any&q={no}"), token, None).await;
    let found = v["items"].as_array().unwrap().iter().find(|p| p["part_no"] == no)?.clone();
    let (_, d) = app.api(Method::GET, &format!("/api/v1/parts/{}", found["id"]), token, None).await;
    Some(d)
}

async fn warehouse_by_code(app: &TestApp, token: &str, code: &str) -> Value {
    let (status, v) = app.api(Method::GET, "/api/v1/warehouses", token, None).await;
    assert_eq!(status, 200, "{v}");
    v.as_array().unwrap().iter().find(|w| w["code"] == code).unwrap_or_else(|| panic!("{code}: {v}")).clone()
}

/// Puts pieces on a shelf directly (stock movements are another module's; here only the reading
/// of quantities is tested).
async fn shelve(app: &TestApp, warehouse: i64, part: i64, on_hand: i64, faulty: i64) {
    let mut tx = app.db.begin().await.unwrap();
    aftersales::on_conn!(tx.conn(), |e| {
        sqlx::query(
            "INSERT INTO stock (warehouse_id, part_id, on_hand, faulty, reorder_point, reorder_qty, updated_at) \
             VALUES ($1, $2, $3, $4, 0, 0, $5) ON CONFLICT (warehouse_id, part_id) DO UPDATE SET \
             on_hand = excluded.on_hand, faulty = excluded.faulty",
        )
        .bind(warehouse)
        .bind(part)
        .bind(on_hand)
        .bind(faulty)
        .bind(chrono::Utc::now())
        .execute(&mut *e)
        .await
        .unwrap();
    });
    tx.commit().await.unwrap();
}

async fn a_part_is_added_found_edited_and_deactivated(app: &TestApp) {
    let clerk = app.token("warehouse").await;
    let kf35 = model_id(app, &clerk, "HX-KF35").await;
    let lg120 = model_id(app, &clerk, "HX-LG120").await;

    // Added once, even when the request is sent twice.
    let body = json!({"part_no": "cp-kf35-b", "name_zh": "压缩机（B 批）", "name_en": "Compressor (batch B)",
        "key_part": true, "serial_tracked": true, "unit_cost_cents": 70000, "price_cents": 130000,
        "supplier": "上海海立电器有限公司", "model_ids": [kf35]});
    let send = || {
        reqwest::Client::new()
            .post(app.url("/api/v1/parts"))
            .bearer_auth(&clerk)
            .header("Idempotency-Key", "part-cp-kf35-b")
            .json(&body)
            .send()
    };
    let res = send().await.unwrap();
    assert_eq!(res.status(), 201);
    let d: Value = res.json().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["part"]["id"], d["part"]["id"]);
    let id = d["part"]["id"].as_i64().unwrap();
    assert_eq!(d["part"]["part_no"], "CP-KF35-B", "part numbers are kept in upper case");
    assert_eq!((d["part"]["key_part"].as_bool(), d["part"]["serial_tracked"].as_bool()), (Some(true), Some(true)));
    assert_eq!(d["part"]["version"], 1);
    assert_eq!(d["models"][0]["code"], "HX-KF35");
    assert_eq!(d["stock"], json!([]));

    // A part number in use is refused, naming the part that has it.
    let (status, v) =
        app.api(Method::POST, "/api/v1/parts", &clerk, Some(json!({"part_no": "CP-KF35-B", "name_zh": "重复"}))).await;
    assert_eq!((status, fields(&v)), (422, vec!["part_no".to_string()]), "{v}");
    let msg = field_message(&v, "part_no");
    assert!(msg.contains("CP-KF35-B") && msg.contains(&format!("#{id}")) && msg.contains("压缩机（B 批）"), "{msg}");

    // Found by the start of its number, or a word of either name.
    for q in ["CP-KF35-", "cp-kf35-b", "B 批", "batch b"] {
        let (status, v) = app.api(Method::GET, &format!("/api/v1/parts?q={}", urlencode(q)), &clerk, None).await;
        assert_eq!(status, 200, "{v}");
        let nos: Vec<&str> = v["items"].as_array().unwrap().iter().map(|p| p["part_no"].as_str().unwrap()).collect();
        assert!(nos.contains(&"CP-KF35-B"), "{q}: {nos:?}");
    }
    let (_, v) = app.api(Method::GET, "/api/v1/parts?q=KF35-B", &clerk, None).await;
    assert_eq!(v["items"], json!([]), "the number is matched from its start only");
    let (_, v) = app.api(Method::GET, "/api/v1/parts?q=%25", &clerk, None).await;
    assert_eq!(v["items"], json!([]), "a % is a character, not a wildcard");

    // Keyset pages by part number.
    let (_, first) = app.api(Method::GET, "/api/v1/parts?limit=3", &clerk, None).await;
    let after = first["next_after"].as_str().unwrap().to_string();
    let (_, second) = app.api(Method::GET, &format!("/api/v1/parts?limit=3&after={after}"), &clerk, None).await;
    let a: Vec<&str> = first["items"].as_array().unwrap().iter().map(|p| p["part_no"].as_str().unwrap()).collect();
    let b: Vec<&str> = second["items"].as_array().unwrap().iter().map(|p| p["part_no"].as_str().unwrap()).collect();
    assert_eq!(a.len(), 3);
    assert!(a.windows(2).all(|w| w[0] < w[1]) && b[0] > a[2], "{a:?} then {b:?}");
    let (_, keys) = app.api(Method::GET, "/api/v1/parts?key=1&limit=200", &clerk, None).await;
    assert!(keys["items"].as_array().unwrap().iter().all(|p| p["key_part"] == true));
    let (_, fits) = app.api(Method::GET, &format!("/api/v1/parts?model_id={lg120}&limit=200"), &clerk, None).await;
    let nos: Vec<&str> = fits["items"].as_array().unwrap().iter().map(|p| p["part_no"].as_str().unwrap()).collect();
    assert!(nos.contains(&"CP-LG120") && !nos.contains(&"CP-KF35-B"), "{nos:?}");

    // Edited over its version; fields left out keep their value.
    let path = format!("/api/v1/parts/{id}");
    let (status, d) = app
        .api(Method::PUT, &path, &clerk, Some(json!({"version": 1, "price_cents": 135000, "model_ids": [kf35, lg120]})))
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!((d["part"]["version"].as_i64(), d["part"]["price_cents"].as_i64()), (Some(2), Some(135000)));
    assert_eq!(d["part"]["supplier"], "上海海立电器有限公司");
    assert_eq!(d["models"].as_array().unwrap().len(), 2);
    let (status, v) = app.api(Method::PUT, &path, &clerk, Some(json!({"version": 1, "price_cents": 1}))).await;
    assert_eq!(status, 409, "a stale edit: {v}");
    let (_, d) = app.api(Method::GET, &path, &clerk, None).await;
    assert_eq!(d["part"]["price_cents"], 135000, "the stale edit changed nothing");
    let (status, v) = app.api(Method::PUT, &path, &clerk, Some(json!({"version": 2, "part_no": "CP-LG120"}))).await;
    assert_eq!((status, fields(&v)), (422, vec!["part_no".to_string()]), "renamed onto another part: {v}");

    // Its stock per location.
    let central = warehouse_by_code(app, &clerk, "WH-SH").await["id"].as_i64().unwrap();
    let van = warehouse_by_code(app, &clerk, "VAN-ENG1").await["id"].as_i64().unwrap();
    shelve(app, central, id, 7, 1).await;
    shelve(app, van, id, 2, 0).await;
    let (_, d) = app.api(Method::GET, &path, &clerk, None).await;
    let at: Vec<(&str, i64, i64)> = d["stock"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["warehouse_code"].as_str().unwrap(), s["on_hand"].as_i64().unwrap(), s["faulty"].as_i64().unwrap()))
        .collect();
    assert_eq!(at, [("WH-SH", 7, 1), ("VAN-ENG1", 2, 0)], "central first, then the vans");

    // Deactivated: gone from the default list, still there with active=any; reactivated.
    let (status, d) = app.api(Method::PUT, &path, &clerk, Some(json!({"version": 2, "active": false}))).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["part"]["active"], false);
    let (_, v) = app.api(Method::GET, "/api/v1/parts?q=CP-KF35-B", &clerk, None).await;
    assert_eq!(v["items"], json!([]));
    let (_, v) = app.api(Method::GET, "/api/v1/parts?q=CP-KF35-B&active=inactive", &clerk, None).await;
    assert_eq!(v["items"][0]["id"], id);
    let (_, v) = app.api(Method::GET, "/api/v1/parts?active=sometimes", &clerk, None).await;
    assert_eq!(fields(&v), vec!["active".to_string()]);
    let (status, d) = app.api(Method::PUT, &path, &clerk, Some(json!({"version": 3, "active": true}))).await;
    assert_eq!((status, d["part"]["active"].as_bool()), (200, Some(true)), "{d}");

    // Every change is in the audit trail.
    let admin = app.token("admin").await;
    let (_, audit) =
        app.api(Method::GET, &format!("/api/v1/audit?entity_type=part&entity_id={id}"), &admin, None).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["reactivate", "deactivate", "update", "create"], "{audit}");

    // In the OpenAPI document.
    let (_, doc) = app.api(Method::GET, "/api/v1/openapi.json", &admin, None).await;
    for p in ["/api/v1/parts", "/api/v1/parts/{id}", "/api/v1/parts/replenishment", "/api/v1/warehouses"] {
        assert!(doc["paths"][p].is_object(), "{p} documented");
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn bad_input_is_refused_field_by_field_and_engineers_only_read(app: &TestApp) {
    let manager = app.token("manager").await;
    let body = json!({"part_no": "压缩机 1", "name_zh": " ", "unit_cost_cents": -1, "price_cents": 20_000_000_000i64,
        "name_en": "x".repeat(201), "model_ids": [999_999]});
    let (status, v) = app.api(Method::POST, "/api/v1/parts", &manager, Some(body)).await;
    assert_eq!(status, 422);
    assert_eq!(
        fields(&v),
        ["model_ids", "name_en", "name_zh", "part_no", "price_cents", "unit_cost_cents"].map(String::from).to_vec(),
        "{v}"
    );
    assert_eq!(field_message(&v, "name_zh"), "必填", "in the user's language");
    assert!(field_message(&v, "part_no").contains("字母、数字"), "{v}");
    assert!(field_message(&v, "price_cents").contains("不小于 0"), "{v}");
    let (status, v) = app.api(Method::POST, "/api/v1/parts", &manager, Some(json!({"name_zh": "缺编号"}))).await;
    assert_eq!((status, fields(&v)), (422, vec!["part_no".to_string()]));
    let (status, v) = app.api(Method::POST, "/api/v1/parts", &manager, Some(json!({"part_no": 5}))).await;
    assert_eq!((status, fields(&v)), (422, vec!["body".to_string()]), "a number where text belongs: {v}");

    // An English-speaking user reads English.
    let c = app.login("quality", aftersales::demo::DEMO_PASSWORD).await;
    let res = c.post(app.url("/lang")).form(&[("locale", "en")]).send().await.unwrap();
    assert!(res.status().is_redirection() || res.status().is_success(), "{}", res.status());
    let res = c.post(app.url("/api/v1/parts")).json(&json!({"part_no": "X-1"})).send().await.unwrap();
    assert_eq!(res.status(), 403, "quality does not keep the catalogue");
    let res = c.get(app.url("/api/v1/parts?active=maybe")).send().await.unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["fields"]["active"][0], "Invalid parameter", "{v}");

    // Engineers read the catalogue and the locations but change nothing.
    let engineer = app.token("engineer").await;
    let (status, v) =
        app.api(Method::POST, "/api/v1/parts", &engineer, Some(json!({"part_no": "X-1", "name_zh": "试"}))).await;
    assert_eq!(status, 403, "{v}");
    let (status, list) = app.api(Method::GET, "/api/v1/parts", &engineer, None).await;
    assert_eq!(status, 200);
    let first = list["items"][0]["id"].as_i64().unwrap();
    let (status, d) = app.api(Method::GET, &format!("/api/v1/parts/{first}"), &engineer, None).await;
    assert_eq!(status, 200, "{d}");
    let (status, v) = app
        .api(Method::PUT, &format!("/api/v1/parts/{first}"), &engineer, Some(json!({"version": 1, "active": false})))
        .await;
    assert_eq!(status, 403, "{v}");
    let (status, _) = app.api(Method::GET, "/api/v1/warehouses", &engineer, None).await;
    assert_eq!(status, 200);
    let body = json!({"code": "X", "name": "X", "kind": "central"});
    let (status, _) = app.api(Method::POST, "/api/v1/warehouses", &engineer, Some(body)).await;
    assert_eq!(status, 403);
    let van = warehouse_by_code(app, &engineer, "VAN-ENG1").await["id"].as_i64().unwrap();
    let body = json!({"part_no": "FL-KF35", "reorder_point": 9});
    let (status, _) = app.api(Method::PUT, &format!("/api/v1/warehouses/{van}/reorder"), &engineer, Some(body)).await;
    assert_eq!(status, 403);
    let (status, _) = app.api(Method::GET, "/api/v1/parts/replenishment", &engineer, None).await;
    assert_eq!(status, 200);
    let (status, _) = app.api(Method::GET, "/api/v1/parts/999999", &engineer, None).await;
    assert_eq!(status, 404);
    let res = reqwest::Client::new().get(app.url("/api/v1/parts")).send().await.unwrap();
    assert_eq!(res.status(), 401, "signed in only");
}

async fn warehouses_one_van_per_engineer_and_reorder_points(app: &TestApp) {
    let clerk = app.token("warehouse").await;
    let engineer = user_id(app, "engineer").await;
    let engineer2 = user_id(app, "engineer2").await;
    let dispatcher = user_id(app, "dispatcher").await;

    let (_, list) = app.api(Method::GET, "/api/v1/warehouses", &clerk, None).await;
    let kinds: Vec<&str> = list.as_array().unwrap().iter().map(|w| w["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"central"));
    assert_eq!(kinds.last(), Some(&"van"), "central, regional, then vans: {kinds:?}");
    let van1 = warehouse_by_code(app, &clerk, "VAN-ENG1").await;
    assert_eq!((van1["engineer_id"].as_i64(), van1["engineer_name"].as_str()), (Some(engineer), Some("张伟")));
    assert_eq!(van1["region_code"], "east", "a van takes its engineer's region");

    // Field by field: kind, a regional warehouse's region, a van's engineer, codes in use.
    let post = |body: Value| app.api(Method::POST, "/api/v1/warehouses", &clerk, Some(body));
    let (status, v) = post(json!({"code": "wh sh", "name": "", "kind": "shop"})).await;
    assert_eq!((status, fields(&v)), (422, ["code", "kind", "name"].map(String::from).to_vec()), "{v}");
    let (status, v) = post(json!({"code": "RW-WEST", "name": "西部分仓", "kind": "regional"})).await;
    assert_eq!((status, fields(&v)), (422, vec!["region_code".to_string()]), "{v}");
    let (status, v) =
        post(json!({"code": "RW-WEST", "name": "西部分仓", "kind": "regional", "region_code": "mars"})).await;
    assert_eq!((status, fields(&v)), (422, vec!["region_code".to_string()]), "{v}");
    let (status, v) = post(json!({"code": "RW-EAST", "name": "又一个", "kind": "central"})).await;
    assert_eq!((status, fields(&v)), (422, vec!["code".to_string()]), "{v}");
    assert!(field_message(&v, "code").contains("华东分仓（杭州）"), "points at the location that has it: {v}");
    let (status, v) = post(json!({"code": "VAN-X", "name": "车", "kind": "van"})).await;
    assert_eq!((status, fields(&v)), (422, vec!["engineer_id".to_string()]), "{v}");
    let (status, v) = post(json!({"code": "VAN-X", "name": "车", "kind": "van", "engineer_id": dispatcher})).await;
    assert_eq!((status, fields(&v)), (422, vec!["engineer_id".to_string()]), "not an engineer: {v}");
    let (status, v) = post(json!({"code": "WH-X", "name": "仓", "kind": "central", "engineer_id": engineer})).await;
    assert_eq!((status, fields(&v)), (422, vec!["engineer_id".to_string()]), "only vans have engineers: {v}");

    // One van per engineer: a second one is refused, naming the first.
    let (status, v) =
        post(json!({"code": "VAN-ZW2", "name": "张伟的第二辆车", "kind": "van", "engineer_id": engineer})).await;
    assert_eq!((status, fields(&v)), (422, vec!["engineer_id".to_string()]), "{v}");
    let msg = field_message(&v, "engineer_id");
    assert!(msg.contains("张伟") && msg.contains("VAN-ENG1"), "{msg}");
    let van2 = warehouse_by_code(app, &clerk, "VAN-ENG2").await;
    let path2 = format!("/api/v1/warehouses/{}", van2["id"]);
    let (status, v) =
        app.api(Method::PUT, &path2, &clerk, Some(json!({"version": van2["version"], "engineer_id": engineer}))).await;
    assert_eq!((status, fields(&v)), (422, vec!["engineer_id".to_string()]), "moved onto a taken engineer: {v}");

    // A new regional warehouse, renamed over its version; 409 when stale.
    let (status, d) =
        post(json!({"code": "rw-west", "name": "西部分仓", "kind": "regional", "region_code": "southwest"})).await;
    assert_eq!(status, 201, "{d}");
    let w = &d["warehouse"];
    assert_eq!((w["code"].as_str(), w["region_name"].as_str()), (Some("RW-WEST"), Some("西南区")));
    let wid = w["id"].as_i64().unwrap();
    let path = format!("/api/v1/warehouses/{wid}");
    let (status, d) =
        app.api(Method::PUT, &path, &clerk, Some(json!({"version": 1, "name": "西部分仓（重庆）"}))).await;
    assert_eq!((status, d["warehouse"]["name"].as_str()), (200, Some("西部分仓（重庆）")), "{d}");
    let (status, _) = app.api(Method::PUT, &path, &clerk, Some(json!({"version": 1, "name": "旧"}))).await;
    assert_eq!(status, 409);

    // Reorder points: by part number; the row holds nothing until pieces are received.
    let reorder = format!("{path}/reorder");
    let (status, v) = app
        .api(
            Method::PUT,
            &reorder,
            &clerk,
            Some(json!({"part_no": "NOPE", "reorder_point": -1, "reorder_qty": 100_001})),
        )
        .await;
    assert_eq!(
        (status, fields(&v)),
        (422, ["part_no", "reorder_point", "reorder_qty"].map(String::from).to_vec()),
        "{v}"
    );
    let (status, s) = app
        .api(Method::PUT, &reorder, &clerk, Some(json!({"part_no": "mt-fs10", "reorder_point": 4, "reorder_qty": 0})))
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        (s["on_hand"].as_i64(), s["reorder_point"].as_i64(), s["part_no"].as_str()),
        (Some(0), Some(4), Some("MT-FS10"))
    );
    let part = s["part_id"].as_i64().unwrap();
    shelve(app, wid, part, 3, 0).await;
    let (status, s) = app
        .api(Method::PUT, &reorder, &clerk, Some(json!({"part_id": part, "reorder_point": 2, "reorder_qty": 6})))
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        (s["on_hand"].as_i64(), s["reorder_point"].as_i64(), s["reorder_qty"].as_i64()),
        (Some(3), Some(2), Some(6)),
        "the quantity held is left alone"
    );
    let (_, d) = app.api(Method::GET, &path, &clerk, None).await;
    assert_eq!((d["pieces"].as_i64(), d["stock"][0]["part_no"].as_str()), (Some(3), Some("MT-FS10")), "{d}");

    // A location holding pieces is not deactivated; an empty one is, and reactivated.
    let (status, v) = app.api(Method::PUT, &path, &clerk, Some(json!({"version": 2, "active": false}))).await;
    assert_eq!((status, fields(&v)), (422, vec!["active".to_string()]), "{v}");
    shelve(app, wid, part, 0, 0).await;
    let (status, d) = app.api(Method::PUT, &path, &clerk, Some(json!({"version": 2, "active": false}))).await;
    assert_eq!((status, d["warehouse"]["active"].as_bool()), (200, Some(false)), "{d}");
    let (status, v) = app.api(Method::PUT, &reorder, &clerk, Some(json!({"part_id": part, "reorder_point": 1}))).await;
    assert_eq!((status, fields(&v)), (422, vec!["warehouse".to_string()]), "an inactive location: {v}");
    let (_, active) = app.api(Method::GET, "/api/v1/warehouses?active=active", &clerk, None).await;
    assert!(active.as_array().unwrap().iter().all(|w| w["id"] != wid));

    // A van handed to an engineer without one.
    let admin = app.token("admin").await;
    let body = json!({"login": "engineer3", "display_name": "王磊", "password": "demo1234", "roles": ["engineer"],
        "region": "north", "email": "", "phone": "", "locale": "zh-CN"});
    let (status, v) = app.api(Method::POST, "/api/v1/users", &admin, Some(body)).await;
    assert_eq!(status, 201, "{v}");
    let engineer3 = v["id"].as_i64().unwrap();
    let (status, d) =
        app.api(Method::PUT, &path2, &clerk, Some(json!({"version": van2["version"], "engineer_id": engineer3}))).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["warehouse"]["engineer_name"], "王磊");
    let (status, d) =
        post(json!({"code": "VAN-LY", "name": "刘洋的新车", "kind": "van", "engineer_id": engineer2})).await;
    assert_eq!(status, 201, "刘洋 has no van now: {d}");

    let (_, audit) =
        app.api(Method::GET, &format!("/api/v1/audit?entity_type=warehouse&entity_id={wid}"), &admin, None).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["deactivate", "update", "create"], "{audit}");
    let (_, audit) =
        app.api(Method::GET, "/api/v1/audit?entity_type=stock&entity_id=RW-WEST:MT-FS10", &admin, None).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "each reorder point audited: {audit}");
}

async fn the_replenishment_list_and_its_exports(app: &TestApp) {
    let clerk = app.token("warehouse").await;
    let (status, d) = app
        .api(
            Method::POST,
            "/api/v1/warehouses",
            &clerk,
            Some(json!({"code": "RW-TEST", "name": "测试分仓", "kind": "regional", "region_code": "north"})),
        )
        .await;
    assert_eq!(status, 201, "{d}");
    let wid = d["warehouse"]["id"].as_i64().unwrap();
    let reorder = format!("/api/v1/warehouses/{wid}/reorder");
    let mut ids = std::collections::HashMap::new();
    // (part, point, qty, on hand): at the point, below it, above it, and not watched.
    for (no, point, qty, on_hand) in
        [("CB-KF35", 5, 0, 5), ("FL-KF35", 20, 100, 3), ("RC-KF35", 2, 0, 9), ("MT-KF35", 0, 0, 0)]
    {
        let (status, s) = app
            .api(
                Method::PUT,
                &reorder,
                &clerk,
                Some(json!({"part_no": no, "reorder_point": point, "reorder_qty": qty})),
            )
            .await;
        assert_eq!(status, 200, "{s}");
        let part = s["part_id"].as_i64().unwrap();
        ids.insert(no, part);
        shelve(app, wid, part, on_hand, 0).await;
        // `shelve` keeps the reorder settings it finds.
        let mut tx = app.db.begin().await.unwrap();
        aftersales::on_conn!(tx.conn(), |e| {
            sqlx::query(
                "UPDATE stock SET reorder_point = $1, reorder_qty = $2 WHERE warehouse_id = $3 AND part_id = $4",
            )
            .bind(point)
            .bind(qty)
            .bind(wid)
            .bind(part)
            .execute(&mut *e)
            .await
            .unwrap();
        });
        tx.commit().await.unwrap();
    }
    let (status, v) =
        app.api(Method::GET, &format!("/api/v1/parts/replenishment?warehouse_id={wid}"), &clerk, None).await;
    assert_eq!(status, 200, "{v}");
    let rows: Vec<(&str, i64, i64, i64)> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["part_no"].as_str().unwrap(),
                i["on_hand"].as_i64().unwrap(),
                i["to_order"].as_i64().unwrap(),
                i["order_cost_cents"].as_i64().unwrap(),
            )
        })
        .collect();
    // CB-KF35 at its point orders up to twice it (10 − 5); FL-KF35 orders its set 100.
    assert_eq!(rows, [("CB-KF35", 5, 5, 5 * 18_500), ("FL-KF35", 3, 100, 100 * 800)], "{v}");
    assert_eq!(v["items"][0]["supplier"], "深圳拓邦股份有限公司");
    assert_eq!(v["items"][0]["warehouse_code"], "RW-TEST");

    // Every location: the demo's reorder points (nothing received yet) and these, by location.
    let (_, all) = app.api(Method::GET, "/api/v1/parts/replenishment?limit=3", &clerk, None).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    let mut seen = vec![];
    let mut after = String::new();
    loop {
        let (_, page) = app
            .api(Method::GET, &format!("/api/v1/parts/replenishment?limit=3&after={}", urlencode(&after)), &clerk, None)
            .await;
        for i in page["items"].as_array().unwrap() {
            seen.push(format!("{}/{}", i["warehouse_code"].as_str().unwrap(), i["part_no"].as_str().unwrap()));
        }
        match page["next_after"].as_str() {
            Some(n) => after = n.to_string(),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "by location code, then part number");
    assert!(seen.contains(&"WH-SH/FL-KF35".to_string()) && seen.contains(&"RW-TEST/FL-KF35".to_string()), "{seen:?}");
    assert!(!seen.contains(&"RW-TEST/RC-KF35".to_string()), "above its point");

    // A deactivated part leaves the list.
    let cb = ids["CB-KF35"];
    let (_, p) = app.api(Method::GET, &format!("/api/v1/parts/{cb}"), &clerk, None).await;
    let body = json!({"version": p["part"]["version"], "active": false});
    let (status, _) = app.api(Method::PUT, &format!("/api/v1/parts/{cb}"), &clerk, Some(body)).await;
    assert_eq!(status, 200);
    let (_, v) = app.api(Method::GET, &format!("/api/v1/parts/replenishment?warehouse_id={wid}"), &clerk, None).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);

    // The exports: the same rows as a spreadsheet.
    let res = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/parts/replenishment/export?warehouse_id={wid}&format=xlsx")))
        .bearer_auth(&clerk)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains("replenishment.xlsx"));
    let bytes = res.bytes().await.unwrap().to_vec();
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let range = wb.worksheet_range("replenishment").unwrap();
    assert_eq!(range.height(), 2, "header + one row");
    let header: Vec<String> = range.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
    assert!(header.contains(&"建议订货".to_string()) && header.contains(&"供应商".to_string()), "{header:?}");
    let row: Vec<String> = range.rows().nth(1).unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(&row[..4], ["RW-TEST", "测试分仓", "FL-KF35", "空气滤网"]);
    assert!(row.contains(&"100".to_string()) && row.contains(&"800".to_string()), "to order 100, ¥800 in all: {row:?}");
    let res = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/parts/replenishment/export?warehouse_id={wid}&format=csv")))
        .bearer_auth(&clerk)
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    assert!(text.starts_with('\u{feff}'), "BOM for Excel");
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("RW-TEST,测试分仓,FL-KF35,空气滤网"), "{text}");
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/parts/replenishment/export?format=pdf"))
        .bearer_auth(&clerk)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);

    // The page shows the same, with its export links.
    let c = app.login("warehouse", aftersales::demo::DEMO_PASSWORD).await;
    let html =
        c.get(app.url(&format!("/parts/replenishment?warehouse_id={wid}"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("repl-list") && html.contains("FL-KF35") && !html.contains("RC-KF35"), "{html}");
    assert!(html.contains(&format!("/api/v1/parts/replenishment/export?warehouse_id={wid}&amp;format=xlsx")), "{html}");
    assert!(html.contains("¥800.00"), "the order's cost: {html}");
}

async fn pages_add_edit_and_deactivate_a_part_and_keep_a_warehouse(app: &TestApp) {
    let clerk = app.login("warehouse", aftersales::demo::DEMO_PASSWORD).await;
    let get = |path: String| {
        let c = clerk.clone();
        let url = app.url(&path);
        async move {
            let res = c.get(url).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let (status, html) = get("/parts".into()).await;
    assert_eq!(status, 200);
    assert!(html.contains("part-new") && html.contains("CP-KF35") && html.contains("压缩机（KF35 变频）"), "{html}");
    let (_, html) = get("/parts?q=%E6%BB%A4%E7%BD%91".into()).await;
    assert!(html.contains("FL-KF35") && !html.contains("CP-KF35"), "searched 滤网: {html}");

    let (status, html) = get("/parts/new".into()).await;
    assert_eq!(status, 200);
    assert!(html.contains("HX-KF35") && html.contains("name=\"model_id\""), "the models to choose: {html}");
    let idem = html.split("name=\"idem\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let kf35 = html.split("name=\"model_id\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let form = |no: &str, name: &str, cost: &str| -> Vec<(&'static str, String)> {
        vec![
            ("idem", idem.clone()),
            ("part_no", no.into()),
            ("name_zh", name.into()),
            ("name_en", "Drain pump".into()),
            ("unit_cost", cost.into()),
            ("price", "¥1,280.5".into()),
            ("supplier", "宁波水泵厂".into()),
            ("model_id", kf35.clone()),
            ("key_part", "on".into()),
        ]
    };
    let res = clerk.post(app.url("/parts/new")).form(&form("DP-01", "", "12.345")).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("必填") && html.contains("最多两位小数"), "both problems named: {html}");
    assert!(html.contains("value=\"DP-01\"") && html.contains("checked"), "what was typed is kept: {html}");
    let res = clerk.post(app.url("/parts/new")).form(&form("CP-KF35", "排水泵", "35")).send().await.unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("配件编号已存在：CP-KF35 压缩机（KF35 变频）"));
    let good = form("DP-01", "排水泵", "35");
    let res = clerk.post(app.url("/parts/new")).form(&good).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let to_part = res.headers()["location"].to_str().unwrap().to_string();
    let again = clerk.post(app.url("/parts/new")).form(&good).send().await.unwrap();
    assert_eq!(again.headers()["location"].to_str().unwrap(), to_part, "a double click adds one part");

    let (status, html) = get(to_part.clone()).await;
    assert_eq!(status, 200);
    assert!(html.contains("DP-01 排水泵") && html.contains("¥1280.50") && html.contains("¥35.00"), "{html}");
    assert!(html.contains("edit-form") && html.contains("value=\"35.00\""), "the edit form in yuan: {html}");
    let mut edit = good.clone();
    edit.retain(|(k, _)| *k != "idem" && *k != "model_id");
    edit.push(("version", "1".into()));
    edit.push(("op", "save".into()));
    let mut changed = edit.clone();
    changed.retain(|(k, _)| *k != "price");
    changed.push(("price", "1300".into()));
    let res = clerk.post(app.url(&to_part)).form(&changed).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let (_, html) = get(to_part.clone()).await;
    assert!(html.contains("¥1300.00") && !html.contains("HX-KF35</span>"), "no model ticked now: {html}");
    let res = clerk.post(app.url(&to_part)).form(&edit).send().await.unwrap();
    assert_eq!(res.status(), 422, "a stale version");
    let html = res.text().await.unwrap();
    assert!(html.contains("该记录已被他人修改"), "{html}");
    let res = clerk.post(app.url(&to_part)).form(&[("version", "2"), ("op", "deactivate")]).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let (_, html) = get(to_part.clone()).await;
    assert!(html.contains("part-reactivate") && html.contains("已停用"), "{html}");

    // The engineer reads, with no forms.
    let engineer = app.login("engineer", aftersales::demo::DEMO_PASSWORD).await;
    let res = engineer.get(app.url("/parts")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(!res.text().await.unwrap().contains("part-new"));
    let html = engineer.get(app.url(&to_part)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("DP-01") && !html.contains("edit-form"), "{html}");
    assert_eq!(engineer.get(app.url("/parts/new")).send().await.unwrap().status(), 403);
    assert_eq!(engineer.get(app.url("/warehouses/new")).send().await.unwrap().status(), 403);

    // A warehouse: created from its form, a reorder point set on its page.
    let (status, html) = get("/warehouses".into()).await;
    assert_eq!(status, 200);
    assert!(html.contains("VAN-ENG1") && html.contains("张伟") && html.contains("warehouse-new"), "{html}");
    let (_, html) = get("/warehouses/new".into()).await;
    let idem = html.split("name=\"idem\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let wform = |code: &str, kind: &str, region: &str| {
        vec![
            ("idem", idem.clone()),
            ("code", code.to_string()),
            ("name", "宁波前置仓".to_string()),
            ("kind", kind.to_string()),
            ("region_code", region.to_string()),
            ("engineer_id", String::new()),
        ]
    };
    let res = clerk.post(app.url("/warehouses/new")).form(&wform("NB-01", "regional", "")).send().await.unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("区域仓须选择区域"));
    let res = clerk.post(app.url("/warehouses/new")).form(&wform("NB-01", "regional", "east")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let to_wh = res.headers()["location"].to_str().unwrap().to_string();
    let (status, html) = get(to_wh.clone()).await;
    assert_eq!(status, 200);
    assert!(html.contains("NB-01 宁波前置仓") && html.contains("reorder-form"), "{html}");
    let reorder = format!("{to_wh}/reorder");
    let res = clerk
        .post(app.url(&reorder))
        .form(&[("part_no", "NOPE-1"), ("reorder_point", "x"), ("reorder_qty", "0")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("请填写数字"), "{html}");
    let res = clerk
        .post(app.url(&reorder))
        .form(&[("part_no", "fl-kf35"), ("reorder_point", "6"), ("reorder_qty", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (_, html) = get(to_wh.clone()).await;
    assert!(html.contains("FL-KF35") && html.contains("空气滤网") && html.contains("class=\"overdue\""), "{html}");
    let res = clerk
        .post(app.url(&to_wh))
        .form(&[
            ("version", "1"),
            ("op", "save"),
            ("code", "NB-01"),
            ("name", ""),
            ("kind", "regional"),
            ("region_code", "east"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("<details open id=\"wh-edit\">") && html.contains("必填"), "{html}");
    let res = clerk.post(app.url(&to_wh)).form(&[("version", "1"), ("op", "deactivate")]).send().await.unwrap();
    assert_eq!(res.status(), 303, "a location holding nothing");
    let (_, html) = get(to_wh).await;
    assert!(html.contains("wh-reactivate") && !html.contains("reorder-form"), "{html}");
}

async fn the_catalogue_is_imported_with_row_errors_then_clean(app: &TestApp) {
    let clerk = app.token("warehouse").await;
    let csv = "配件编号,名称,英文名称,关键件,序列号管理,单位成本,售价,供应商,适用型号\n\
        px-100,排水泵,Drain pump,是,否,35.5,¥88,宁波水泵厂,HX-KF35、HX-LG120\n\
        PX-101,,,,,abc,,,HX-NOPE\n\
        PX-100,排水泵（重复）,,,,1,2,,\n\
        CP-KF35,压缩机（KF35 变频）,Compressor (KF35 inverter),是,是,700,\"1,300\",格力凌达,HX-KF35\n";
    let (gbk, _, _) = encoding_rs::GB18030.encode(csv);

    // Checked: every problem by row and column; nothing written.
    let (status, report) = import(app, &clerk, "parts", "&dry_run=true", "配件.csv", gbk.to_vec()).await;
    assert_eq!(status, 422, "{report}");
    let errors: Vec<(i64, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_i64().unwrap(), e["column"].as_str().unwrap()))
        .collect();
    assert_eq!(errors, [(3, "名称"), (3, "单位成本"), (3, "适用型号"), (4, "配件编号")], "{report}");
    assert!(report["errors"][2]["message_zh"].as_str().unwrap().contains("HX-NOPE"), "{report}");
    assert!(report["errors"][3]["message_en"].as_str().unwrap().contains("row 2"), "{report}");
    assert_eq!((report["valid"].as_i64(), report["imported"].as_i64()), (Some(2), Some(0)));
    let (status, report) = import(app, &clerk, "parts", "", "配件.csv", gbk.to_vec()).await;
    assert_eq!((status, report["imported"].as_i64()), (422, Some(0)), "one error stops the whole import: {report}");
    assert!(part_no(app, &clerk, "PX-100").await.is_none(), "nothing was imported");

    // Others may not import the catalogue.
    let engineer = app.token("engineer").await;
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/import/parts?filename=p.csv"))
        .bearer_auth(&engineer)
        .body(gbk.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // The valid rows only: a new part, and an existing part number updates its part.
    let (status, report) = import(app, &clerk, "parts", "&only_valid=true", "配件.csv", gbk.to_vec()).await;
    assert_eq!((status, report["imported"].as_i64()), (200, Some(2)), "{report}");
    let d = part_no(app, &clerk, "PX-100").await.expect("imported");
    let p = &d["part"];
    assert_eq!(
        (p["name_en"].as_str(), p["key_part"].as_bool(), p["serial_tracked"].as_bool()),
        (Some("Drain pump"), Some(true), Some(false))
    );
    assert_eq!((p["unit_cost_cents"].as_i64(), p["price_cents"].as_i64()), (Some(3550), Some(8800)));
    let fits: Vec<&str> = d["models"].as_array().unwrap().iter().map(|m| m["code"].as_str().unwrap()).collect();
    assert_eq!(fits, ["HX-KF35", "HX-LG120"]);
    let d = part_no(app, &clerk, "CP-KF35").await.unwrap();
    assert_eq!((d["part"]["supplier"].as_str(), d["part"]["price_cents"].as_i64()), (Some("格力凌达"), Some(130_000)));
    assert_eq!(d["part"]["version"], 2, "updated over its version");
    let admin = app.token("admin").await;
    let path = format!("/api/v1/audit?entity_type=part&entity_id={}", d["part"]["id"]);
    let (_, audit) = app.api(Method::GET, &path, &admin, None).await;
    assert_eq!(audit["items"][0]["action"], "import", "{audit}");
    assert!(
        audit["items"][0]["before_json"].as_str().unwrap().contains("上海海立电器有限公司"),
        "what it was: {audit}"
    );

    // A clean .xlsx with English headers goes in whole.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["Part number", "Chinese name", "Unit cost", "Price", "Models fitted", "Key part"].iter().enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, (no, name, cost, models)) in
        [("PX-200", "门体密封条", 12.0, "HX-KF35"), ("00777", "风叶", 20.5, "HX-FS10; HX-KF35")].iter().enumerate()
    {
        let r = r as u32 + 1;
        ws.write_string(r, 0, *no).unwrap();
        ws.write_string(r, 1, *name).unwrap();
        ws.write_number(r, 2, *cost).unwrap();
        ws.write_number(r, 3, 40).unwrap();
        ws.write_string(r, 4, *models).unwrap();
        ws.write_string(r, 5, "no").unwrap();
    }
    let bytes = wb.save_to_buffer().unwrap();
    let (status, report) = import(app, &clerk, "parts", "", "parts.xlsx", bytes).await;
    assert_eq!((status, report["imported"].as_i64()), (200, Some(2)), "{report}");
    let d = part_no(app, &clerk, "00777").await.expect("the leading zeros kept");
    assert_eq!((d["part"]["unit_cost_cents"].as_i64(), d["part"]["price_cents"].as_i64()), (Some(2050), Some(4000)));
    assert_eq!(d["models"].as_array().unwrap().len(), 2);

    // The pages: the import form offers the parts kinds to the warehouse, the preview maps the
    // headers and the result links to the catalogue.
    let c = app.login("warehouse", aftersales::demo::DEMO_PASSWORD).await;
    let html = c.get(app.url("/import?kind=parts")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("<option value=\"parts\" selected>") && !html.contains("value=\"customers\""), "{html}");
    let file = reqwest::multipart::Part::bytes("配件编号,名称,售价\nPX-300,接水盘,15\n".as_bytes().to_vec())
        .file_name("p.csv");
    let form = reqwest::multipart::Form::new().text("kind", "parts").part("file", file);
    let res = c.post(app.url("/import")).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let at = res.headers()["location"].to_str().unwrap().to_string();
    let html = c.get(app.url(&at)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("<option value=\"part_no\" selected>配件编号</option>"), "{html}");
    let res = c
        .post(app.url(&at))
        .form(&[("map_0", "part_no"), ("map_1", "name_zh"), ("map_2", "price"), ("action", "import")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("import-done") && html.contains("href=\"/parts\""), "{html}");
    assert!(part_no(app, &clerk, "PX-300").await.is_some());
    let manager_of_archive = app.login("dispatcher", aftersales::demo::DEMO_PASSWORD).await;
    let html = manager_of_archive.get(app.url("/import")).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains("value=\"customers\"") && !html.contains("value=\"parts\""),
        "the dispatcher keeps the archive, not the catalogue: {html}"
    );
}

async fn opening_stock_is_imported_as_receipts_with_reorder_points(app: &TestApp) {
    let clerk = app.token("warehouse").await;
    let csv = "配件编号,库位,期初数量,再订货点,订货量\n\
        FL-KF35,WH-SH,120,50,200\n\
        cp-kf35,rw-east,3,,\n\
        MT-FS10,VAN-ENG1,0,1,\n\
        NOPE,WH-SH,1,,\n\
        FL-KF35,NOWHERE,-2,x,\n\
        FL-KF35,WH-SH,5,,\n";
    let (status, report) = import(app, &clerk, "stock", "&dry_run=true", "期初库存.csv", csv.as_bytes().to_vec()).await;
    assert_eq!(status, 422, "{report}");
    let errors: Vec<(i64, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_i64().unwrap(), e["column"].as_str().unwrap()))
        .collect();
    assert_eq!(errors, [(5, "配件编号"), (6, "库位"), (6, "期初数量"), (6, "再订货点"), (7, "配件编号")], "{report}");
    assert_eq!(report["valid"], 3);

    let engineer = app.token("engineer").await;
    let (status, _) = import(app, &engineer, "stock", "&only_valid=true", "s.csv", csv.as_bytes().to_vec()).await;
    assert_eq!(status, 403, "engineers do not load opening stock");
    let count = || async {
        let mut c = app.db.read().await.unwrap();
        let n: (i64, i64) = aftersales::on_conn!(c.conn(), |e| {
            sqlx::query_as(
                "SELECT COUNT(*), CAST(COALESCE(SUM(qty), 0) AS BIGINT) FROM stock_movements WHERE kind = 'receipt'",
            )
            .fetch_one(&mut *e)
            .await
            .unwrap()
        });
        n
    };
    let before = count().await;

    // The valid rows: two receipts, three reorder settings (one row sets only its point).
    let (status, report) =
        import(app, &clerk, "stock", "&only_valid=true", "期初库存.csv", csv.as_bytes().to_vec()).await;
    assert_eq!((status, report["imported"].as_i64()), (200, Some(3)), "{report}");
    assert_eq!(count().await, (before.0 + 2, before.1 + 123), "a receipt movement per row with pieces");
    let (_, list) = app.api(Method::GET, "/api/v1/parts?q=FL-KF35", &clerk, None).await;
    let filter = list["items"][0]["id"].as_i64().unwrap();
    let (_, d) = app.api(Method::GET, &format!("/api/v1/parts/{filter}"), &clerk, None).await;
    let sh = d["stock"].as_array().unwrap().iter().find(|s| s["warehouse_code"] == "WH-SH").unwrap();
    assert_eq!(
        (sh["on_hand"].as_i64(), sh["reorder_point"].as_i64(), sh["reorder_qty"].as_i64()),
        (Some(150), Some(50), Some(200)),
        "the demo's 30 and 120 more"
    );
    let (_, d) = app.api(Method::GET, "/api/v1/parts?q=MT-FS10", &clerk, None).await;
    let (_, d) = app.api(Method::GET, &format!("/api/v1/parts/{}", d["items"][0]["id"]), &clerk, None).await;
    let van = d["stock"].as_array().unwrap().iter().find(|s| s["warehouse_code"] == "VAN-ENG1").unwrap();
    assert_eq!(
        (van["warehouse_code"].as_str(), van["on_hand"].as_i64(), van["reorder_point"].as_i64()),
        (Some("VAN-ENG1"), Some(0), Some(1))
    );

    // Received above its point, the central filters leave the replenishment list.
    let (_, v) = app.api(Method::GET, "/api/v1/parts/replenishment?limit=500", &clerk, None).await;
    let rows: Vec<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| format!("{}/{}", i["warehouse_code"].as_str().unwrap(), i["part_no"].as_str().unwrap()))
        .collect();
    assert!(!rows.contains(&"WH-SH/FL-KF35".to_string()) && rows.contains(&"VAN-ENG1/MT-FS10".to_string()), "{rows:?}");
    let admin = app.token("admin").await;
    let (_, audit) =
        app.api(Method::GET, "/api/v1/audit?entity_type=stock&entity_id=WH-SH:FL-KF35", &admin, None).await;
    assert_eq!(audit["items"][0]["action"], "reorder", "{audit}");
}
