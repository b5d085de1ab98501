//! Stock movements (R8) as their users meet them: receipts, transfers, scrap and counts keeping
//! stock equal to the sum of its movements; a short bin refused whole with the location and
//! what it holds; an engineer issuing from his van to his order and returning unused, wrong and
//! faulty pieces, with the order's cost and charge following; concurrent issues of the last
//! pieces; picking accuracy; key-part failure alerts handed to quality once; pages — on both
//! databases.

use chrono::Utc;
use reqwest::Method;
use serde_json::{Value, json};

use aftersales::error::AppError;
use aftersales::service::Actor;
use aftersales::service::stock::{MovementRequest, Poster};

use crate::both;
use crate::helpers::TestApp;
use crate::work_orders::user_id;

both!(
    movements_keep_stock_equal_to_their_sum,
    an_engineer_issues_from_his_van_and_returns_pieces,
    concurrent_issues_of_the_last_pieces,
    a_group_of_movements_answers_each_as_stored,
    picking_accuracy_and_key_part_failure_alerts,
    pages_show_stock_and_post_movements,
    an_engineer_asks_the_warehouse_for_parts,
);

fn fields(v: &Value) -> Vec<String> {
    let mut f: Vec<String> = v["error"]["fields"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    f.sort();
    f
}

async fn exec(app: &TestApp, sql: &str, binds: &[Value]) -> i64 {
    let mut tx = app.db.begin().await.unwrap();
    let id: i64 = aftersales::on_conn!(tx.conn(), |e| {
        let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()));
        for b in binds {
            q = match b {
                Value::Number(n) => q.bind(n.as_i64().unwrap()),
                Value::Bool(v) => q.bind(*v),
                Value::Null => q.bind(None::<i64>),
                other => q.bind(other.as_str().unwrap().to_string()),
            };
        }
        q.bind(Utc::now()).fetch_one(&mut *e).await.unwrap()
    });
    tx.commit().await.unwrap();
    id
}

/// A part in the catalogue (cost ¥80, price ¥120).
async fn part(app: &TestApp, no: &str, key: bool, serial: bool) -> i64 {
    let sql = "INSERT INTO parts (part_no, name_zh, name_en, key_part, serial_tracked, unit_cost_cents, price_cents, \
               supplier, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 8000, 12000, '华东电机厂', $6, $6) RETURNING id";
    exec(app, sql, &[json!(no), json!(format!("配件{no}")), json!(format!("Part {no}")), json!(key), json!(serial)])
        .await
}

async fn location(app: &TestApp, code: &str, kind: &str, engineer: Option<i64>) -> i64 {
    // The demo gives each engineer a van already: that one is taken over (one van per engineer).
    let sql = "INSERT INTO warehouses (code, name, kind, engineer_id, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (engineer_id) WHERE engineer_id IS NOT NULL \
               DO UPDATE SET code = excluded.code, name = excluded.name RETURNING id";
    exec(app, sql, &[json!(code), json!(format!("库位{code}")), json!(kind), json!(engineer)]).await
}

async fn post(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    app.api(Method::POST, "/api/v1/stock/movements", token, Some(body)).await
}

async fn ok(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, v) = post(app, token, body.clone()).await;
    assert_eq!(status, 201, "{body} → {v}");
    v
}

async fn on_hand(app: &TestApp, token: &str, warehouse: i64, part: i64) -> (i64, i64) {
    let (status, v) = app.api(Method::GET, &format!("/api/v1/stock?warehouse_id={warehouse}"), token, None).await;
    assert_eq!(status, 200, "{v}");
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["part_id"] == part)
        .map(|r| (r["on_hand"].as_i64().unwrap(), r["faulty"].as_i64().unwrap()))
        .unwrap_or((0, 0))
}

async fn ledger_is_balanced(app: &TestApp) {
    let mut c = app.db.read().await.unwrap();
    let off = aftersales::store::stock::ledger_mismatches(c.conn()).await.unwrap();
    assert!(off.is_empty(), "stock differs from the sum of its movements: {off:?}");
    let totals = aftersales::store::stock::totals_mismatches(c.conn()).await.unwrap();
    assert!(totals.is_empty(), "kept location totals differ from their stock rows: {totals:?}");
}

async fn movements_keep_stock_equal_to_their_sum(app: &TestApp) {
    let wh = app.token("warehouse").await;
    let p = part(app, "M-100", false, false).await;
    let central = location(app, "C1", "central", None).await;
    let east = location(app, "E1", "regional", None).await;

    // Receipt of 10 (idempotent with a key), transfer of 4, scrap 1, count 2 at the region.
    let body = json!({"kind": "receipt", "part_id": p, "qty": 10, "to_id": central, "batch": "B2026-11"});
    let first = app
        .client()
        .post(app.url("/api/v1/stock/movements"))
        .bearer_auth(&wh)
        .header("Idempotency-Key", "receipt-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let again = app
        .client()
        .post(app.url("/api/v1/stock/movements"))
        .bearer_auth(&wh)
        .header("Idempotency-Key", "receipt-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    let (a, b): (Value, Value) = (first.json().await.unwrap(), again.json().await.unwrap());
    assert_eq!(a["movement"]["id"], b["movement"]["id"], "a retried receipt is posted once");
    assert_eq!(a["stock"][0]["on_hand"], 10);
    assert_eq!(a["movement"]["unit_cost_cents"], 8000, "the catalogue's cost");
    assert_eq!(a["movement"]["supplier"], "华东电机厂");

    let t = ok(app, &wh, json!({"kind": "transfer", "part_id": p, "qty": 4, "from_id": central, "to_id": east})).await;
    // The answer is built from what the movement read and wrote: it matches what is stored.
    let id = t["movement"]["id"].as_i64().unwrap();
    let (status, stored) = app.api(Method::GET, &format!("/api/v1/stock/movements/{id}"), &wh, None).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(t["movement"], stored, "the posted movement is the stored one");
    for (w, row) in [(central, &t["stock"][0]), (east, &t["stock"][1])] {
        let (status, page) = app.api(Method::GET, &format!("/api/v1/stock?warehouse_id={w}"), &wh, None).await;
        assert_eq!(status, 200, "{page}");
        let listed = page["rows"].as_array().unwrap().iter().find(|r| r["part_id"] == p).unwrap();
        assert_eq!(row, listed, "the answer's stock row is the listed one");
    }
    ok(app, &wh, json!({"kind": "scrap", "part_id": p, "qty": 1, "from_id": east, "note": "运输损坏"})).await;
    let v = ok(app, &wh, json!({"kind": "adjust", "part_id": p, "counted": 2, "to_id": east})).await;
    assert_eq!(v["movement"]["qty"], -1, "the count found one piece fewer");
    assert_eq!(on_hand(app, &wh, central, p).await, (6, 0));
    assert_eq!(on_hand(app, &wh, east, p).await, (2, 0));

    // Taking more than a location holds is refused whole, naming the location and what it has.
    let (status, v) =
        post(app, &wh, json!({"kind": "transfer", "part_id": p, "qty": 7, "from_id": central, "to_id": east})).await;
    assert_eq!(status, 422, "{v}");
    let msg = v["error"]["fields"]["qty"][0].as_str().unwrap_or_default().to_string();
    assert!(msg.contains("库位C1") && msg.contains('6'), "{v}");
    assert_eq!(on_hand(app, &wh, east, p).await, (2, 0), "nothing moved");
    let (status, v) = post(app, &wh, json!({"kind": "dispose_faulty", "part_id": p, "qty": 1, "from_id": east})).await;
    assert_eq!((status, fields(&v)), (422, vec!["qty".to_string()]), "no faulty pieces there: {v}");
    let (status, v) = post(app, &wh, json!({"kind": "adjust", "part_id": p, "counted": 2, "to_id": east})).await;
    assert_eq!((status, fields(&v)), (422, vec!["counted".to_string()]), "the count matches: {v}");

    // Field by field, in the user's language.
    let (status, v) = post(app, &wh, json!({"kind": "receipt", "part_id": p, "qty": 0, "from_id": central})).await;
    assert_eq!(status, 422);
    assert_eq!(fields(&v), ["from_id", "qty", "to_id"]);
    let (status, v) = post(app, &wh, json!({"kind": "steal", "part_id": p, "qty": 1})).await;
    assert_eq!((status, fields(&v)), (422, vec!["kind".to_string()]));
    let (status, v) =
        post(app, &wh, json!({"kind": "transfer", "part_id": p, "qty": 1, "from_id": east, "to_id": east})).await;
    assert_eq!((status, fields(&v)), (422, vec!["to_id".to_string()]));
    let (status, v) = post(app, &wh, json!({"kind": "receipt", "part_no": "NOPE", "qty": 1, "to_id": east})).await;
    assert_eq!((status, fields(&v)), (422, vec!["part_id".to_string()]));
    let v =
        ok(app, &wh, json!({"kind": "receipt", "part_no": "M-100", "qty": 1, "to_id": east, "unit_cost_cents": 7500}))
            .await;
    assert_eq!(v["movement"]["unit_cost_cents"], 7500, "this delivery's cost");

    // Only the warehouse and managers move stock; engineers only their van's.
    let engineer = app.token("engineer").await;
    let (status, _) = post(app, &engineer, json!({"kind": "receipt", "part_id": p, "qty": 1, "to_id": east})).await;
    assert_eq!(status, 403);
    let dispatcher = app.token("dispatcher").await;
    let (status, _) = post(app, &dispatcher, json!({"kind": "scrap", "part_id": p, "qty": 1, "from_id": east})).await;
    assert_eq!(status, 403);

    // The history, newest first, per location; every movement in the audit trail.
    let (_, v) = app.api(Method::GET, &format!("/api/v1/stock/movements?warehouse_id={east}"), &wh, None).await;
    let kinds: Vec<&str> = v["items"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["receipt", "adjust", "scrap", "transfer"]);
    let admin = app.token("admin").await;
    let (_, audit) = app.api(Method::GET, "/api/v1/audit?entity_type=stock_movement", &admin, None).await;
    assert!(audit.to_string().matches("stock_movement").count() >= 5, "{audit}");
    ledger_is_balanced(app).await;

    // The location's totals follow a new catalogue cost (7 pieces at C1 and E1 together).
    let (_, before) = app.api(Method::GET, &format!("/api/v1/stock?warehouse_id={central}"), &wh, None).await;
    assert_eq!(
        (before["totals"]["pieces"].as_i64(), before["totals"]["value_cents"].as_i64()),
        (Some(6), Some(48_000))
    );
    let manager = app.token("manager").await;
    let (status, v) = app
        .api(Method::PUT, &format!("/api/v1/parts/{p}"), &manager, Some(json!({"version": 1, "unit_cost_cents": 9000})))
        .await;
    assert_eq!(status, 200, "{v}");
    let (_, after) = app.api(Method::GET, &format!("/api/v1/stock?warehouse_id={central}"), &wh, None).await;
    assert_eq!(after["totals"]["value_cents"], 54_000);
    ledger_is_balanced(app).await;
}

/// The demo's maintenance request assigned to `engineer`.
async fn engineers_order(app: &TestApp, engineer: i64) -> Value {
    let mut c = app.db.read().await.unwrap();
    let id: i64 = aftersales::on_conn!(c.conn(), |e| {
        sqlx::query_scalar("SELECT id FROM work_orders WHERE engineer_id = $1 ORDER BY id LIMIT 1")
            .bind(engineer)
            .fetch_one(&mut *e)
            .await
            .unwrap()
    });
    drop(c);
    let token = app.token("engineer").await;
    let (status, v) = app.api(Method::GET, &format!("/api/v1/work-orders/{id}"), &token, None).await;
    assert_eq!(status, 200, "{v}");
    v
}

async fn an_engineer_issues_from_his_van_and_returns_pieces(app: &TestApp) {
    let wh = app.token("warehouse").await;
    let engineer = app.token("engineer").await;
    let me = user_id(app, "engineer").await;
    let other = user_id(app, "engineer2").await;
    let central = location(app, "C1", "central", None).await;
    let van = location(app, "VAN-ZW", "van", Some(me)).await;
    let other_van = location(app, "VAN-LY", "van", Some(other)).await;
    let filter = part(app, "F-1", false, false).await;
    let compressor = part(app, "K-1", true, true).await;
    for p in [filter, compressor] {
        ok(app, &wh, json!({"kind": "receipt", "part_id": p, "qty": 5, "to_id": central})).await;
        ok(app, &wh, json!({"kind": "transfer", "part_id": p, "qty": 3, "from_id": central, "to_id": van})).await;
    }
    ok(app, &wh, json!({"kind": "receipt", "part_id": filter, "qty": 2, "to_id": other_van})).await;
    let o = engineers_order(app, me).await;
    let order = o["order"]["id"].as_i64().unwrap();
    let paid = o["order"]["entitlement"] == "paid";
    let version = o["order"]["version"].as_i64().unwrap();

    // He issues two filters from his van; not from a colleague's van, not from the warehouse.
    let v =
        ok(app, &engineer, json!({"kind": "issue", "part_id": filter, "qty": 2, "from_id": van, "order_id": order}))
            .await;
    let issue = v["movement"]["id"].as_i64().unwrap();
    assert_eq!(v["stock"][0]["on_hand"], 1);
    for from in [other_van, central] {
        let (status, _) = post(
            app,
            &engineer,
            json!({"kind": "issue", "part_id": filter, "qty": 1, "from_id": from, "order_id": order}),
        )
        .await;
        assert_eq!(status, 403, "from {from}");
    }
    // A serial-tracked compressor names the piece fitted.
    let (status, v) = post(
        app,
        &engineer,
        json!({"kind": "issue", "part_id": compressor, "qty": 1, "from_id": van, "order_id": order}),
    )
    .await;
    assert_eq!((status, fields(&v)), (422, vec!["serial".to_string()]), "{v}");
    ok(
        app,
        &engineer,
        json!({"kind": "issue", "part_id": compressor, "qty": 1, "from_id": van, "order_id": order,
        "serial": "CMP-2026-0001"}),
    )
    .await;

    // The order carries the parts' cost (always) and charge (paid work only), on its time line.
    let (_, o2) = app.api(Method::GET, &format!("/api/v1/work-orders/{order}"), &engineer, None).await;
    assert!(o2["order"]["version"].as_i64().unwrap() > version, "a report form opened before must reload");
    let charged = o2["order"]["parts_cents"].as_i64().unwrap() - o["order"]["parts_cents"].as_i64().unwrap();
    assert_eq!(charged, if paid { 3 * 12000 } else { 0 }, "{o2}");
    let events = o2["events"].to_string();
    assert!(events.contains("stock_issue") && events.contains("F-1 ×2"), "{events}");

    // One filter was not needed, the other one is returned as the wrong part: the charge goes;
    // no more than was issued comes back.
    let v = ok(
        app,
        &engineer,
        json!({"kind": "return_unused", "part_id": filter, "qty": 1, "to_id": van,
        "order_id": order, "ref_id": issue}),
    )
    .await;
    assert_eq!(v["stock"][0]["on_hand"], 2);
    let (status, v) = post(
        app,
        &engineer,
        json!({"kind": "return_unused", "part_id": filter, "qty": 2, "to_id": van,
        "order_id": order, "ref_id": issue}),
    )
    .await;
    assert_eq!((status, fields(&v)), (422, vec!["qty".to_string()]), "{v}");
    ok(
        app,
        &engineer,
        json!({"kind": "return_wrong", "part_id": filter, "qty": 1, "to_id": van, "order_id": order,
        "ref_id": issue}),
    )
    .await;
    let (status, v) = post(
        app,
        &engineer,
        json!({"kind": "return_unused", "part_id": compressor, "qty": 1,
        "to_id": van, "order_id": order, "ref_id": issue}),
    )
    .await;
    assert_eq!((status, fields(&v)), (422, vec!["ref_id".to_string()]), "another part's issue: {v}");
    let (_, o3) = app.api(Method::GET, &format!("/api/v1/work-orders/{order}"), &engineer, None).await;
    let charged = o3["order"]["parts_cents"].as_i64().unwrap() - o["order"]["parts_cents"].as_i64().unwrap();
    assert_eq!(charged, if paid { 12000 } else { 0 }, "only the compressor remains: {o3}");

    // The old compressor goes into the van's faulty bin with its serial.
    let (status, v) = post(
        app,
        &engineer,
        json!({"kind": "return_faulty", "part_id": compressor, "qty": 1,
        "to_id": van, "order_id": order}),
    )
    .await;
    assert_eq!((status, fields(&v)), (422, vec!["old_serial".to_string()]));
    ok(
        app,
        &engineer,
        json!({"kind": "return_faulty", "part_id": compressor, "qty": 1, "to_id": van,
        "order_id": order, "old_serial": "CMP-2019-7788", "batch": "2019-W12"}),
    )
    .await;
    assert_eq!(on_hand(app, &wh, van, compressor).await, (2, 1));
    // He sends the faulty piece back to the warehouse? Faulty pieces are disposed of by the
    // warehouse only.
    let (status, _) = post(
        app,
        &engineer,
        json!({"kind": "dispose_faulty", "part_id": compressor, "qty": 1,
        "from_id": van}),
    )
    .await;
    assert_eq!(status, 403);
    ok(
        app,
        &wh,
        json!({"kind": "dispose_faulty", "part_id": compressor, "qty": 1, "from_id": van,
        "note": "退回供应商"}),
    )
    .await;
    assert_eq!(on_hand(app, &wh, van, compressor).await, (2, 0));

    // A completed order takes no more parts.
    let mut tx = app.db.begin().await.unwrap();
    aftersales::on_conn!(tx.conn(), |e| {
        sqlx::query("UPDATE work_orders SET status = 'completed' WHERE id = $1")
            .bind(order)
            .execute(&mut *e)
            .await
            .map(|_| ())
            .unwrap()
    });
    tx.commit().await.unwrap();
    let (status, v) =
        post(app, &engineer, json!({"kind": "issue", "part_id": filter, "qty": 1, "from_id": van, "order_id": order}))
            .await;
    assert_eq!((status, fields(&v)), (422, vec!["order_id".to_string()]), "{v}");
    let (_, v) = app.api(Method::GET, &format!("/api/v1/stock/movements?order_id={order}"), &wh, None).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 5, "two issues and three returns: {v}");
    ledger_is_balanced(app).await;
}

async fn concurrent_issues_of_the_last_pieces(app: &TestApp) {
    let wh = app.token("warehouse").await;
    let engineer = app.token("engineer").await;
    let me = user_id(app, "engineer").await;
    let van = location(app, "VAN-ZW", "van", Some(me)).await;
    let p = part(app, "L-1", false, false).await;
    ok(app, &wh, json!({"kind": "receipt", "part_id": p, "qty": 3, "to_id": van})).await;
    let order = engineers_order(app, me).await["order"]["id"].as_i64().unwrap();
    // Ten issues of one piece at once (and a second instance serving half of them): exactly
    // three succeed, the others are told the van is empty.
    let other = app.another_instance().await;
    let mut tasks = vec![];
    for i in 0..10 {
        let url = if i % 2 == 0 { app.url("/api/v1/stock/movements") } else { other.url("/api/v1/stock/movements") };
        let (client, token) = (app.client(), engineer.clone());
        let body = json!({"kind": "issue", "part_id": p, "qty": 1, "from_id": van, "order_id": order});
        tasks.push(tokio::spawn(async move {
            let r = client.post(url).bearer_auth(token).json(&body).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }));
    }
    let mut statuses = vec![];
    for t in tasks {
        let (status, v) = t.await.unwrap();
        if status == 422 {
            assert_eq!(fields(&v), ["qty"], "{v}");
        }
        statuses.push(status);
    }
    statuses.sort();
    assert_eq!(statuses, [201, 201, 201, 422, 422, 422, 422, 422, 422, 422]);
    assert_eq!(on_hand(app, &wh, van, p).await, (0, 0));
    ledger_is_balanced(app).await;

    // Through the group writer itself, so the posts queue up and are written in groups:
    // transfers into a location with the lower id put their piece in before taking it out
    // (location order), so a refused one must undo its first write; issues from the van are
    // refused before writing anything. Exactly three of each succeed.
    let into = location(app, "R-IN", "regional", None).await;
    let out = location(app, "R-OUT", "regional", None).await;
    assert!(into < out);
    ok(app, &wh, json!({"kind": "receipt", "part_id": p, "qty": 3, "to_id": out})).await;
    ok(app, &wh, json!({"kind": "receipt", "part_id": p, "qty": 3, "to_id": van})).await;
    let poster = Poster::spawn(&app.db);
    let actor = Actor::system("test");
    let request = |from: i64, to: Option<i64>, order: Option<i64>| MovementRequest {
        kind: if to.is_some() { "transfer" } else { "issue" }.into(),
        part_id: Some(p),
        qty: Some(1),
        from_id: Some(from),
        to_id: to,
        order_id: order,
        ..Default::default()
    };
    let posts = (0..20).map(|i| {
        let (poster, actor) = (poster.clone(), actor.clone());
        let r = if i % 2 == 0 { request(out, Some(into), None) } else { request(van, None, Some(order)) };
        async move { (r.to_id.is_some(), poster.post(&actor, &r, None).await) }
    });
    let (mut moved, mut issued) = (0, 0);
    for (transfer, answer) in futures_util::future::join_all(posts).await {
        match answer {
            Ok(_) if transfer => moved += 1,
            Ok(_) => issued += 1,
            Err(AppError::Validation(f)) => assert_eq!(f[0].field, "qty", "{f:?}"),
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!((moved, issued), (3, 3));
    assert_eq!(on_hand(app, &wh, out, p).await, (0, 0));
    assert_eq!(on_hand(app, &wh, into, p).await, (3, 0), "refused transfers put nothing in");
    assert_eq!(on_hand(app, &wh, van, p).await, (0, 0));
    ledger_is_balanced(app).await;
    other.stop().await;
}

/// What an order's parts cost the company (not shown by the API).
async fn parts_cost(app: &TestApp, order: i64) -> i64 {
    let mut c = app.db.read().await.unwrap();
    aftersales::on_conn!(c.conn(), |e| {
        sqlx::query_scalar("SELECT parts_cost_cents FROM work_orders WHERE id = $1")
            .bind(order)
            .fetch_one(&mut *e)
            .await
            .unwrap()
    })
}

/// Many movements posted at once through the group writer (on SQLite they are checked and
/// written together; on PostgreSQL each is its own transaction): each answer is what is
/// stored, with the stock that movement left; refused ones change nothing; the orders, time
/// lines, audit trail and stored idempotent answers follow.
async fn a_group_of_movements_answers_each_as_stored(app: &TestApp) {
    let wh = app.token("warehouse").await;
    let me = user_id(app, "engineer").await;
    let keeper = user_id(app, "warehouse").await;
    let van = location(app, "VAN-ZW", "van", Some(me)).await;
    let central = location(app, "C1", "central", None).await;
    let p = part(app, "G-1", false, false).await;
    ok(app, &wh, json!({"kind": "receipt", "part_id": p, "qty": 10, "to_id": van})).await;
    let o = engineers_order(app, me).await;
    let order = o["order"]["id"].as_i64().unwrap();
    let cost_before = parts_cost(app, order).await;
    let first = ok(app, &wh, json!({"kind": "issue", "part_id": p, "qty": 2, "from_id": van, "order_id": order})).await;
    let first_id = first["movement"]["id"].as_i64().unwrap();

    let poster = Poster::spawn(&app.db);
    let keeper_actor = Actor {
        user_id: Some(keeper),
        label: "warehouse".into(),
        roles: vec![aftersales::domain::Role::Warehouse],
        region_code: None,
        ip: None,
        request_id: None,
    };
    let movement = |kind: &str, qty: Option<i64>| MovementRequest {
        kind: kind.into(),
        part_id: Some(p),
        qty,
        ..Default::default()
    };
    // Fifteen issues of one piece from a van holding eight; three receipts of two into the
    // central warehouse, with keys; one piece of the first issue back unused and a count at
    // the central warehouse, both checked against what the others wrote.
    let mut requests = vec![];
    for i in 0..20 {
        let r = match i {
            3 | 9 | 15 => MovementRequest { to_id: Some(central), ..movement("receipt", Some(2)) },
            7 => MovementRequest {
                to_id: Some(van),
                order_id: Some(order),
                ref_id: Some(first_id),
                ..movement("return_unused", Some(1))
            },
            12 => MovementRequest { to_id: Some(central), counted: Some(7), ..movement("adjust", None) },
            _ => MovementRequest { from_id: Some(van), order_id: Some(order), ..movement("issue", Some(1)) },
        };
        requests.push((i, r));
    }
    let keys: Vec<String> = (0..20).map(|i| format!("group-{i}")).collect();
    let posts = requests.iter().map(|(i, r)| {
        let (poster, actor, key) = (poster.clone(), keeper_actor.clone(), keys[*i].as_str());
        async move {
            let idem = (r.kind == "receipt").then_some(aftersales::service::Idem { key, scope: "stock_movement" });
            (*i, r.kind.clone(), poster.post(&actor, r, idem.as_ref()).await)
        }
    });
    let answers = futures_util::future::join_all(posts).await;
    // (movement id, kind, level it left) at the van and at the central warehouse.
    let mut at_van = vec![];
    let mut at_central = vec![];
    let (mut issued, mut refused) = (0, 0);
    for (i, kind, answer) in &answers {
        let posted = match answer {
            Ok(p) => serde_json::to_value(p).unwrap(),
            Err(AppError::Validation(f)) => {
                assert_eq!((kind.as_str(), f[0].field.as_str()), ("issue", "qty"), "{f:?}");
                refused += 1;
                continue;
            }
            Err(e) => panic!("{i} {kind}: {e:?}"),
        };
        let id = posted["movement"]["id"].as_i64().unwrap();
        let (status, stored) = app.api(Method::GET, &format!("/api/v1/stock/movements/{id}"), &wh, None).await;
        assert_eq!(status, 200, "{stored}");
        assert_eq!(posted["movement"], stored, "movement {i} ({kind}) is answered as stored");
        let level = posted["stock"][0]["on_hand"].as_i64().unwrap();
        match kind.as_str() {
            "issue" | "return_unused" => at_van.push((id, kind.clone(), level)),
            _ => at_central.push((id, kind.clone(), level)),
        }
        if kind == "issue" {
            issued += 1;
        }
        if kind == "receipt" {
            let idem = aftersales::service::Idem { key: &keys[*i], scope: "stock_movement" };
            let (status, body) =
                aftersales::service::replay(&app.db, &keeper_actor, &idem).await.unwrap().expect("stored");
            assert_eq!(status, 201);
            assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), posted, "the stored answer is the answer");
        }
    }
    // The van held eight, and nine once the unused piece was back (whenever that was).
    assert!(issued == 8 || issued == 9, "{issued} issued");
    assert_eq!(issued + refused, 15);
    // Each movement answered with the level it left, in the order they were written.
    at_van.sort();
    let mut level = 8;
    for (id, kind, left) in &at_van {
        level += if kind == "issue" { -1 } else { 1 };
        assert_eq!(*left, level, "movement {id} ({kind}) left {left}: {at_van:?}");
    }
    at_central.sort();
    let mut level = 0;
    for (id, kind, left) in &at_central {
        level = if kind == "adjust" { 7 } else { level + 2 };
        assert_eq!(*left, level, "movement {id} ({kind}) left {left}: {at_central:?}");
    }
    assert_eq!(on_hand(app, &wh, van, p).await, (9 - issued as i64, 0));
    ledger_is_balanced(app).await;

    // The order's cost, its time line and the audit trail follow every movement written.
    let engineer = app.token("engineer").await;
    let (status, o2) = app.api(Method::GET, &format!("/api/v1/work-orders/{order}"), &engineer, None).await;
    assert_eq!(status, 200, "{o2}");
    assert_eq!(parts_cost(app, order).await - cost_before, (2 + issued as i64 - 1) * 8000);
    let events = o2["events"].as_array().unwrap();
    let count = |action: &str| events.iter().filter(|e| e["action"] == action).count();
    assert_eq!((count("stock_issue"), count("stock_return_unused")), (1 + issued, 1));
    let mut c = app.db.read().await.unwrap();
    let (audited, movements): (i64, i64) = aftersales::on_conn!(c.conn(), |e| {
        sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM audit_log WHERE entity_type = 'stock_movement' \
             AND entity_id IN (SELECT CAST(id AS TEXT) FROM stock_movements WHERE part_id = $1)), \
             (SELECT COUNT(*) FROM stock_movements WHERE part_id = $1)",
        )
        .bind(p)
        .fetch_one(&mut *e)
        .await
        .unwrap()
    });
    assert_eq!((audited, movements), (movements, 2 + 5 + issued as i64), "one audit entry per movement");
}

async fn picking_accuracy_and_key_part_failure_alerts(app: &TestApp) {
    let wh = app.token("warehouse").await;
    let quality = app.token("quality").await;
    let engineer = app.token("engineer").await;
    let me = user_id(app, "engineer").await;
    let central = location(app, "C1", "central", None).await;
    let van = location(app, "VAN-ZW", "van", Some(me)).await;
    let motor = part(app, "MOT-1", true, false).await;
    let filter = part(app, "F-2", false, false).await;
    ok(app, &wh, json!({"kind": "receipt", "part_id": motor, "qty": 20, "to_id": central})).await;
    ok(app, &wh, json!({"kind": "receipt", "part_id": filter, "qty": 20, "to_id": central})).await;
    // Four picks from the central warehouse; one of them was the wrong part.
    let mut picks = vec![];
    for p in [motor, motor, filter, filter] {
        let v =
            ok(app, &wh, json!({"kind": "transfer", "part_id": p, "qty": 2, "from_id": central, "to_id": van})).await;
        picks.push(v["movement"]["id"].as_i64().unwrap());
    }
    let (status, v) = post(
        app,
        &engineer,
        json!({"kind": "return_wrong", "part_id": filter, "qty": 1,
        "from_id": van, "to_id": central, "ref_id": picks[0]}),
    )
    .await;
    assert_eq!((status, fields(&v)), (422, vec!["ref_id".to_string()]), "that pick was motors: {v}");
    ok(
        app,
        &engineer,
        json!({"kind": "return_wrong", "part_id": filter, "qty": 2, "from_id": van, "to_id": central,
        "ref_id": picks[2]}),
    )
    .await;
    let (status, r) = app.api(Method::GET, "/api/v1/stock/accuracy", &wh, None).await;
    assert_eq!(status, 200, "{r}");
    let row = r["rows"].as_array().unwrap().iter().find(|x| x["warehouse_id"] == central).unwrap().clone();
    assert_eq!((row["picks"].as_i64(), row["wrong"].as_i64()), (Some(4), Some(1)), "{r}");
    assert_eq!(row["percent"], 75.0);
    assert_eq!(row["meets"], false, "below 98 %");
    assert_eq!(r["target"], 98.0);
    let (status, _) =
        app.api(Method::PUT, "/api/v1/stock/accuracy-target", &engineer, Some(json!({"target": 70}))).await;
    assert_eq!(status, 403);
    let (status, _) = app.api(Method::PUT, "/api/v1/stock/accuracy-target", &wh, Some(json!({"target": 20}))).await;
    assert_eq!(status, 422);

    // Three motors fail this month, none before: above the normal rate (policy v1: ≥ 3 and
    // more than twice the mean of six months) — one alert, to quality, whichever pass finds it.
    let order = engineers_order(app, me).await["order"]["id"].as_i64().unwrap();
    for i in 0..3 {
        ok(
            app,
            &engineer,
            json!({"kind": "return_faulty", "part_id": motor, "qty": 1, "to_id": van,
            "order_id": order, "batch": format!("M-2026-{}", i % 2)}),
        )
        .await;
    }
    let raised = aftersales::service::stock::check_failures(&app.db, Utc::now()).await.unwrap();
    assert_eq!(raised, 1);
    assert_eq!(aftersales::service::stock::check_failures(&app.db, Utc::now()).await.unwrap(), 0, "once");
    let mut c = app.db.read().await.unwrap();
    let mails: i64 = aftersales::on_conn!(c.conn(), |e| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE event = 'part_failure_alert' AND recipient LIKE 'quality@%'",
        )
        .fetch_one(&mut *e)
        .await
        .unwrap()
    });
    drop(c);
    assert_eq!(mails, 1);
    let (status, f) = app.api(Method::GET, "/api/v1/stock/failures", &quality, None).await;
    assert_eq!(status, 200, "{f}");
    let m = f["parts"].as_array().unwrap().iter().find(|p| p["part_id"] == motor).unwrap().clone();
    assert_eq!(m["total"], 3);
    assert_eq!(m["by_batch"][0], json!(["M-2026-0", 2]));
    assert!(f["parts"].as_array().unwrap().iter().all(|p| p["key_part"] == true), "key parts only by default");
    let alert = f["alerts"][0].clone();
    assert_eq!((alert["part_id"].as_i64(), alert["failures"].as_i64()), (Some(motor), Some(3)));
    assert!(alert["rule"].as_str().unwrap().contains("R8.2"));

    // Quality closes it with what was found; a stale version is refused.
    let id = alert["id"].as_i64().unwrap();
    let path = format!("/api/v1/stock/alerts/{id}");
    let (status, v) =
        app.api(Method::PUT, &path, &quality, Some(json!({"version": alert["version"], "status": "closed"}))).await;
    assert_eq!((status, fields(&v)), (422, vec!["note".to_string()]));
    let (status, v) = app
        .api(Method::PUT, &path, &quality, Some(json!({"version": alert["version"], "status": "acknowledged"})))
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, _) = app
        .api(
            Method::PUT,
            &path,
            &quality,
            Some(json!({"version": alert["version"], "status": "closed", "note": "批次 M-2026-0 轴承不良"})),
        )
        .await;
    assert_eq!(status, 409);
    let (status, v) = app
        .api(
            Method::PUT,
            &path,
            &quality,
            Some(json!({"version": v["version"], "status": "closed", "note": "批次 M-2026-0 轴承不良，已通知供应商"})),
        )
        .await;
    assert_eq!((status, v["status"].as_str()), (200, Some("closed")), "{v}");
    let (status, _) = app
        .api(Method::PUT, &path, &engineer, Some(json!({"version": v["version"], "status": "closed", "note": "x"})))
        .await;
    assert_eq!(status, 403);

    // The policy is data: a stale save is refused, a new version saved.
    let (_, p) = app.api(Method::GET, "/api/v1/stock/failure-policy", &quality, None).await;
    assert_eq!(p["version"], 1);
    let (status, v) = app
        .api(
            Method::PUT,
            "/api/v1/stock/failure-policy",
            &wh,
            Some(json!({"version": 1, "baseline_months": 0, "factor": 2.0, "min_failures": 3})),
        )
        .await;
    assert_eq!((status, fields(&v)), (422, vec!["baseline_months".to_string()]));
    let body = json!({"version": 1, "baseline_months": 3, "factor": 1.5, "min_failures": 2});
    let (status, v) = app.api(Method::PUT, "/api/v1/stock/failure-policy", &wh, Some(body.clone())).await;
    assert_eq!((status, v["version"].as_i64()), (200, Some(2)), "{v}");
    let (status, _) = app.api(Method::PUT, "/api/v1/stock/failure-policy", &wh, Some(body)).await;
    assert_eq!(status, 409);
    ledger_is_balanced(app).await;
}

async fn pages_show_stock_and_post_movements(app: &TestApp) {
    let me = user_id(app, "engineer").await;
    let central = location(app, "C1", "central", None).await;
    let van = location(app, "VAN-ZW", "van", Some(me)).await;
    let p = part(app, "P-9", false, false).await;
    let wh = app.login("warehouse", "demo1234").await;
    let page = |c: &reqwest::Client, path: String| {
        let c = c.clone();
        let url = app.url(&path);
        async move {
            let r = c.get(url).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, html) = page(&wh, format!("/stock?warehouse_id={central}")).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("库位C1") && html.contains("move-form"));
    let idem = html.split("name=\"idem\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let form = [
        ("idem", idem.as_str()),
        ("warehouse_id", &central.to_string()),
        ("kind", "receipt"),
        ("part_no", "P-9"),
        ("qty", "12"),
        ("to_id", &central.to_string()),
        ("unit_cost", "75.50"),
    ];
    let r = wh.post(app.url("/stock/movements")).form(&form).send().await.unwrap();
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    // The same form twice (a double click) posts once.
    wh.post(app.url("/stock/movements")).form(&form).send().await.unwrap();
    let (_, html) = page(&wh, format!("/stock?warehouse_id={central}")).await;
    assert!(html.contains("P-9"), "{html}");
    let (_, html) = page(&wh, format!("/stock/movements?warehouse_id={central}")).await;
    assert_eq!(html.matches("<tr id=\"movement-").count(), 1, "{html}");
    // A short transfer shows the error on the form, in Chinese.
    let form = [
        ("idem", "k2"),
        ("warehouse_id", &central.to_string()),
        ("kind", "transfer"),
        ("part_no", "P-9"),
        ("qty", "13"),
        ("from_id", &central.to_string()),
        ("to_id", &van.to_string()),
    ];
    let r = wh.post(app.url("/stock/movements")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("库存不足"));
    let form = [
        ("idem", "k3"),
        ("warehouse_id", &central.to_string()),
        ("kind", "transfer"),
        ("part_no", "P-9"),
        ("qty", "4"),
        ("from_id", &central.to_string()),
        ("to_id", &van.to_string()),
    ];
    wh.post(app.url("/stock/movements")).form(&form).send().await.unwrap();

    // The engineer issues a piece from his van on the order page.
    let engineer = app.login("engineer", "demo1234").await;
    let order = engineers_order(app, me).await["order"]["id"].as_i64().unwrap();
    let (status, html) = page(&engineer, format!("/work-orders/{order}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("issue-form") && html.contains("P-9"), "{html}");
    let idem = html
        .split("id=\"issue-form\"")
        .nth(1)
        .unwrap()
        .split("name=\"idem\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let form = [
        ("idem", idem.as_str()),
        ("kind", "issue"),
        ("from_id", &van.to_string()),
        ("part_id", &p.to_string()),
        ("qty", "1"),
    ];
    let r = engineer.post(app.url(&format!("/work-orders/{order}/parts"))).form(&form).send().await.unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let (_, html) = page(&engineer, format!("/work-orders/{order}")).await;
    assert!(html.contains("order-movement-") && html.contains("return-"), "{html}");
    let (_, report) = page(&engineer, format!("/work-orders/{order}/report")).await;
    assert!(report.contains("report-part-") && report.contains("P-9"), "the printed report lists the part: {report}");
    let form =
        [("idem", "k4"), ("kind", "issue"), ("from_id", &van.to_string()), ("part_id", &p.to_string()), ("qty", "9")];
    let r = engineer.post(app.url(&format!("/work-orders/{order}/parts"))).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("库存不足"));
    for path in ["/stock/accuracy", "/stock/failures?all=1", "/stock/movements?format=xlsx"] {
        let (status, _) = page(&wh, path.to_string()).await;
        assert_eq!(status, 200, "{path}");
    }
    ledger_is_balanced(app).await;
}

async fn an_engineer_asks_the_warehouse_for_parts(app: &TestApp) {
    let wh = app.token("warehouse").await;
    let engineer = app.token("engineer").await;
    let me = user_id(app, "engineer").await;
    let other = user_id(app, "engineer2").await;
    let central = location(app, "C1", "central", None).await;
    let van = location(app, "VAN-ZW", "van", Some(me)).await;
    let other_van = location(app, "VAN-LY", "van", Some(other)).await;
    let p = part(app, "R-1", false, false).await;
    let order = engineers_order(app, me).await["order"]["id"].as_i64().unwrap();

    // Field by field; only for his own van.
    let (status, v) =
        app.api(Method::POST, "/api/v1/stock/requests", &engineer, Some(json!({"part_no": "NOPE"}))).await;
    assert_eq!(status, 422);
    assert_eq!(fields(&v), ["part_id", "qty", "warehouse_id"]);
    let body = json!({"part_id": p, "qty": 2, "warehouse_id": central, "van_id": other_van, "order_id": order});
    let (status, _) = app.api(Method::POST, "/api/v1/stock/requests", &engineer, Some(body)).await;
    assert_eq!(status, 403);
    let body = json!({"part_no": "R-1", "qty": 2, "warehouse_id": central, "order_id": order, "note": "明早上门前要"});
    let (status, r) = app.api(Method::POST, "/api/v1/stock/requests", &engineer, Some(body)).await;
    assert_eq!(status, 201, "{r}");
    assert_eq!((r["van_id"].as_i64(), r["status"].as_str()), (Some(van), Some("open")), "his own van by default");
    let id = r["id"].as_i64().unwrap();

    // The warehouse's queue; picking without stock leaves the request open.
    let (_, q) = app.api(Method::GET, &format!("/api/v1/stock/requests?warehouse_id={central}"), &wh, None).await;
    assert_eq!(q.as_array().unwrap().len(), 1, "{q}");
    let fulfil = format!("/api/v1/stock/requests/{id}/fulfil");
    let (status, v) = app.api(Method::POST, &fulfil, &engineer, Some(json!({"version": 1}))).await;
    assert_eq!(status, 403, "{v}");
    let (status, v) = app.api(Method::POST, &fulfil, &wh, Some(json!({"version": 1}))).await;
    assert_eq!((status, fields(&v)), (422, vec!["qty".to_string()]), "{v}");
    ok(app, &wh, json!({"kind": "receipt", "part_id": p, "qty": 5, "to_id": central})).await;
    let (status, _) = app.api(Method::POST, &fulfil, &wh, Some(json!({"version": 0}))).await;
    assert_eq!(status, 409);
    let (status, v) = app.api(Method::POST, &fulfil, &wh, Some(json!({"version": 1}))).await;
    assert_eq!((status, v["status"].as_str()), (200, Some("fulfilled")), "{v}");
    assert!(v["movement_id"].is_i64());
    assert_eq!(on_hand(app, &wh, van, p).await, (2, 0));
    let (status, _) = app.api(Method::POST, &fulfil, &wh, Some(json!({"version": 2}))).await;
    assert_eq!(status, 409, "picked once");
    let (_, m) = app.api(Method::GET, &format!("/api/v1/stock/movements?order_id={order}"), &wh, None).await;
    assert_eq!(m["items"][0]["kind"], "transfer", "the pick names the order: {m}");

    // He cancels another request of his, with a reason.
    let body = json!({"part_id": p, "qty": 1, "warehouse_id": central});
    let (_, r2) = app.api(Method::POST, "/api/v1/stock/requests", &engineer, Some(body)).await;
    let cancel = format!("/api/v1/stock/requests/{}/cancel", r2["id"]);
    let (status, v) = app.api(Method::POST, &cancel, &engineer, Some(json!({"version": 1}))).await;
    assert_eq!((status, fields(&v)), (422, vec!["note".to_string()]));
    let (status, v) =
        app.api(Method::POST, &cancel, &engineer, Some(json!({"version": 1, "note": "客户已自行更换"}))).await;
    assert_eq!((status, v["status"].as_str()), (200, Some("cancelled")), "{v}");
    let mut c = app.db.read().await.unwrap();
    let mails: i64 = aftersales::on_conn!(c.conn(), |e| {
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE event = 'part_request'").fetch_one(&mut *e).await.unwrap()
    });
    drop(c);
    assert_eq!(mails, 2, "the warehouse hears of each request");

    // Pages: the queue, and the order page's request form.
    let page = app.login("warehouse", "demo1234").await;
    let html = page.get(app.url("/stock/requests?status=all")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&format!("request-{id}")), "{html}");
    let eng = app.login("engineer", "demo1234").await;
    let html = eng.get(app.url(&format!("/work-orders/{order}"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("request-form") && html.contains("order-requests"), "{html}");
    let form = [
        ("idem", "rq1"),
        ("kind", "request"),
        ("van_id", &van.to_string()),
        ("part_no", "R-1"),
        ("qty", "1"),
        ("warehouse_id", &central.to_string()),
    ];
    let r = eng.post(app.url(&format!("/work-orders/{order}/parts"))).form(&form).send().await.unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    eng.post(app.url(&format!("/work-orders/{order}/parts"))).form(&form).send().await.unwrap();
    let (_, q) = app.api(Method::GET, &format!("/api/v1/stock/requests?order_id={order}&status=all"), &wh, None).await;
    assert_eq!(q.as_array().unwrap().len(), 2, "the first and the page's (a double click asks once): {q}");
    ledger_is_balanced(app).await;
}
