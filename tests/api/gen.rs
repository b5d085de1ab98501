//! `aftersales gen`: synthetic data that the archive's own search finds, on both databases.

use std::collections::HashSet;

use aftersales::db::{Db, SqliteSync};
use aftersales::r#gen::{self, Options};
use aftersales::store;
use aftersales::store::customers::Customer;
use aftersales::store::units::Unit;
use chrono::{DateTime, Datelike, Utc};
use reqwest::Method;
use serde_json::Value;

use crate::both;
use crate::helpers::TestApp;

both!(
    gen_fills_a_searchable_archive_deterministically,
    gen_adds_work_orders_the_app_reads,
    gen_adds_spare_parts_whose_stock_is_the_sum_of_their_movements
);

/// Spare parts: a catalogue, locations and movements whose stock equals their sum, which the
/// stock API shows and which a new issue continues from.
async fn gen_adds_spare_parts_whose_stock_is_the_sum_of_their_movements(app: &TestApp) {
    let opts = Options {
        customers: 50,
        units: 100,
        orders: 600,
        engineers: 3,
        backlog: 60,
        parts: 200,
        warehouses: 12,
        movements: 20_000,
        seed: 5,
        append: true,
        progress: false,
    };
    let report = r#gen::run(&app.db, &opts).await.unwrap();
    assert_eq!((report.parts, report.warehouses, report.movements), (200, 12, 20_000));
    assert!(report.stock_rows > 200, "{} stock rows", report.stock_rows);
    type Kinds = Vec<(String, i64)>;
    type Vans = Vec<(i64, Option<i64>)>;
    let (mismatches, kinds, key, vans, cost): (_, Kinds, i64, Vans, i64) = {
        let mut c = app.db.read().await.unwrap();
        let m = store::stock::ledger_mismatches(c.conn()).await.unwrap();
        aftersales::on_conn!(c.conn(), |e| {
            let kinds = sqlx::query_as("SELECT kind, COUNT(*) FROM stock_movements GROUP BY kind ORDER BY kind")
                .fetch_all(&mut *e)
                .await
                .unwrap();
            let key = sqlx::query_scalar("SELECT COUNT(*) FROM parts WHERE key_part").fetch_one(&mut *e).await.unwrap();
            let vans = sqlx::query_as("SELECT id, engineer_id FROM warehouses WHERE kind = 'van' ORDER BY id")
                .fetch_all(&mut *e)
                .await
                .unwrap();
            let cost = sqlx::query_scalar("SELECT CAST(COALESCE(SUM(parts_cost_cents), 0) AS BIGINT) FROM work_orders")
                .fetch_one(&mut *e)
                .await
                .unwrap();
            (m, kinds, key, vans, cost)
        })
    };
    assert!(mismatches.is_empty(), "stock differs from the sum of its movements: {mismatches:?}");
    let count = |k: &str| kinds.iter().find(|(kind, _)| kind == k).map(|(_, n)| *n).unwrap_or(0);
    assert!(count("issue") > 8_000, "most movements issue parts to orders: {kinds:?}");
    for k in
        ["receipt", "transfer", "return_unused", "return_faulty", "return_wrong", "scrap", "dispose_faulty", "adjust"]
    {
        assert!(count(k) > 0, "no {k}: {kinds:?}");
    }
    assert!(count("return_wrong") * 50 < count("issue") + count("transfer"), "picking is mostly right: {kinds:?}");
    assert!((5..=50).contains(&key), "about a tenth key parts: {key} of 200");
    // One central, one regional warehouse per demo region, the rest vans each with an engineer.
    assert!(vans.len() >= 6 && vans.iter().all(|v| v.1.is_some()), "{vans:?}");
    assert!(cost > 0, "issued parts are costed to their orders");

    // The warehouse sees a van's stock, and can issue from it to an order in progress.
    let token = app.token("warehouse").await;
    let (status, page) =
        app.api(Method::GET, &format!("/api/v1/stock?warehouse_id={}&held=1", vans[0].0), &token, None).await;
    assert_eq!(status, 200, "{page}");
    let row = page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["on_hand"].as_i64().unwrap() > 0 && r["serial_tracked"] == false)
        .cloned()
        .expect("a van holds untracked parts");
    assert!(page["totals"]["pieces"].as_i64().unwrap() >= row["on_hand"].as_i64().unwrap());
    let order: i64 = {
        let mut c = app.db.read().await.unwrap();
        aftersales::on_conn!(c.conn(), |e| sqlx::query_scalar(
            "SELECT MIN(id) FROM work_orders WHERE status IN ('assigned', 'accepted', 'on_site')"
        )
        .fetch_one(&mut *e)
        .await
        .unwrap())
    };
    let body = serde_json::json!({"kind": "issue", "part_id": row["part_id"], "qty": 1, "from_id": vans[0].0, "order_id": order});
    let (status, posted) = app.api(Method::POST, "/api/v1/stock/movements", &token, Some(body)).await;
    assert_eq!(status, 201, "{posted}");
    assert!(posted["movement"]["id"].as_i64().unwrap() > 20_000);
    assert_eq!(posted["stock"][0]["on_hand"].as_i64().unwrap(), row["on_hand"].as_i64().unwrap() - 1);
    let mut c = app.db.read().await.unwrap();
    assert!(store::stock::ledger_mismatches(c.conn()).await.unwrap().is_empty());
    assert!(store::stock::totals_mismatches(c.conn()).await.unwrap().is_empty(), "generated stock has its totals");

    // A van's history, filtered and paged, is its newest movements of that kind in or out.
    let van = vans[0].0;
    let expected: Vec<(i64, String)> = aftersales::on_conn!(c.conn(), |e| sqlx::query_as(
        "SELECT id, kind FROM stock_movements WHERE (from_id = $1 OR to_id = $1) ORDER BY id DESC LIMIT 400"
    )
    .bind(van)
    .fetch_all(&mut *e)
    .await
    .unwrap());
    drop(c);
    for kind in ["issue", "transfer", "return_faulty", ""] {
        let want: Vec<i64> = expected.iter().filter(|m| kind.is_empty() || m.1 == kind).map(|m| m.0).take(6).collect();
        let mut got = vec![];
        let mut before = String::new();
        while got.len() < 6 {
            let url = format!("/api/v1/stock/movements?warehouse_id={van}&kind={kind}&limit=3{before}");
            let (status, page) = app.api(Method::GET, &url, &token, None).await;
            assert_eq!(status, 200, "{page}");
            got.extend(page["items"].as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()));
            let Some(next) = page["next_before"].as_i64() else { break };
            before = format!("&before_id={next}");
        }
        assert_eq!(got, want, "the van's newest {kind} movements");
    }
}

async fn gen_adds_work_orders_the_app_reads(app: &TestApp) {
    let opts = Options {
        customers: 100,
        units: 200,
        orders: 2_000,
        engineers: 8,
        backlog: 300,
        parts: 0,
        warehouses: 0,
        movements: 0,
        // A seed whose two years of jobs draw a few major complaints (about one in 2,000 jobs does).
        seed: 1,
        append: true,
        progress: false,
    };
    let token = app.token("manager").await;
    let today = aftersales::service::work_orders::today();
    let satisfaction = format!("/api/v1/satisfaction?from={}&to={today}", today - chrono::Duration::days(800));
    let (_, before) = app.api(Method::GET, &satisfaction, &token, None).await;
    let last_order = {
        let mut c = app.db.read().await.unwrap();
        store::bulk::max_order_id(c.conn()).await.unwrap()
    };
    let report = r#gen::run(&app.db, &opts).await.unwrap();
    assert_eq!(report.orders, 2_300);
    let (_, all) = app.api(Method::GET, "/api/v1/work-orders?limit=200", &token, None).await;
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 200);
    // Orders copy their unit's customer, region and category; closed ones carry a report.
    let units: std::collections::HashMap<i64, Unit> = {
        let mut c = app.db.read().await.unwrap();
        let f = store::units::Filter { limit: 10_000, ..Default::default() };
        store::units::list(c.conn(), &f).await.unwrap().into_iter().map(|u| (u.id, u)).collect()
    };
    for o in items {
        let u = &units[&o["unit_id"].as_i64().unwrap()];
        assert_eq!(o["customer_id"], u.customer_id);
        assert_eq!(o["category_code"], u.category_code.as_str());
        if o["status"] == "closed" {
            assert!(o["completed_at"].is_string() && o["engineer_id"].is_i64(), "{o}");
        }
    }
    let (_, closed) = app.api(Method::GET, "/api/v1/work-orders?status=closed&limit=200", &token, None).await;
    assert!(closed["items"].as_array().unwrap().len() > 100, "most generated orders are long closed");
    let id = closed["items"][0]["id"].as_i64().unwrap();
    let (status, o) = app.api(Method::GET, &format!("/api/v1/work-orders/{id}"), &token, None).await;
    assert_eq!(status, 200);
    let actions: Vec<&str> = o["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "assign", "accept", "arrive", "complete", "close"], "{o}");
    assert!(!o["order"]["work_done"].as_str().unwrap().is_empty() && o["order"]["rating"].is_i64(), "a report: {o}");
    // Its service clocks were kept by the flow: all stopped, cited to the standard policy.
    let clocks = o["clocks"].as_array().unwrap();
    assert_eq!(clocks.len(), 3, "{o}");
    assert!(
        clocks
            .iter()
            .all(|c| matches!(c["state"].as_str(), Some("met" | "met_late")) && c["policy_code"] == "standard")
    );
    // The backlog is open, newest, and its clocks run: sorted by due time, with no step of
    // the past left for a sweeper (generated history counts as handled).
    let (_, urgent) = app.api(Method::GET, "/api/v1/work-orders?sort=due&limit=100", &token, None).await;
    let urgent = urgent["items"].as_array().unwrap();
    assert_eq!(urgent.len(), 100);
    assert!(urgent.iter().all(|o| o["sla_due_at"].is_string() && o["completed_at"].is_null()), "open orders only");
    let (_, open) = app.api(Method::GET, "/api/v1/work-orders?status=open&limit=200", &token, None).await;
    assert!(open["items"].as_array().unwrap().len() >= 50, "the backlog waits for dispatch");
    let due = {
        let mut c = app.db.read().await.unwrap();
        store::sla::due_count(c.conn(), chrono::Utc::now()).await.unwrap()
    };
    assert_eq!(due, 0, "nothing generated is due for the sweeper now");
    // The engineers exist, and a new order takes the id after the generated ones.
    let (_, engineers) = app.api(Method::GET, "/api/v1/engineers", &token, None).await;
    assert!(engineers.as_array().unwrap().len() >= 8 + 2);
    // Generated engineers are in teams of their region, and their orders count for their team.
    let in_teams: Vec<&Value> = engineers.as_array().unwrap().iter().filter(|e| e["team_id"].is_i64()).collect();
    assert!(in_teams.len() >= 8, "{engineers}");
    let team =
        in_teams.iter().find(|e| e["team_name"].as_str().is_some_and(|n| n.contains("服务"))).unwrap()["team_id"]
            .as_i64()
            .unwrap();
    let members: Vec<&Value> = in_teams.iter().copied().filter(|e| e["team_id"] == team).collect();
    assert!(members.iter().all(|e| e["region_code"] == members[0]["region_code"]), "one region: {members:?}");
    let (_, of_team) = app.api(Method::GET, &format!("/api/v1/work-orders?team={team}&limit=200"), &token, None).await;
    let of_team = of_team["items"].as_array().unwrap();
    assert!(!of_team.is_empty());
    assert!(of_team.iter().all(|o| members.iter().any(|m| m["user_id"] == o["engineer_id"])), "{of_team:?}");
    let u = units.values().next().unwrap();
    let body = serde_json::json!({"channel": "hotline", "kind": "repair", "customer_id": u.customer_id, "unit_id": u.id, "problem": "不制冷"});
    let (status, created) = app.api(Method::POST, "/api/v1/work-orders", &token, Some(body)).await;
    assert_eq!(status, 201, "{created}");
    assert!(created["order"]["id"].as_i64().unwrap() > 2_300);
    let web = app.login("manager", aftersales::demo::DEMO_PASSWORD).await;
    let board = web.get(app.url("/dispatch")).send().await.unwrap();
    assert_eq!(board.status(), 200);

    after_the_job(app, &token, &report, last_order, &satisfaction, &before).await;
}

/// A generated survey: (token, kind, order, answered at, overall).
type SurveyRow = (String, String, i64, Option<DateTime<Utc>>, Option<i32>);

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap_or_else(|| panic!("not a time: {v}")).parse().unwrap()
}

/// Surveys and complaints of the generated orders, read through the app's own API.
async fn after_the_job(
    app: &TestApp,
    token: &str,
    report: &r#gen::Report,
    last_order: i64,
    satisfaction: &str,
    before: &Value,
) {
    let (surveys, done): (Vec<SurveyRow>, Vec<i64>) = {
        let mut c = app.db.read().await.unwrap();
        aftersales::on_conn!(c.conn(), |e| {
            let s = sqlx::query_as(
                "SELECT token, kind, order_id, answered_at, overall FROM surveys WHERE order_id > $1 ORDER BY id",
            )
            .bind(last_order)
            .fetch_all(&mut *e)
            .await
            .unwrap();
            let d =
                sqlx::query_scalar("SELECT id FROM work_orders WHERE id > $1 AND completed_at IS NOT NULL ORDER BY id")
                    .bind(last_order)
                    .fetch_all(&mut *e)
                    .await
                    .unwrap();
            (s, d)
        })
    };
    assert_eq!(report.surveys, surveys.len() as u64);
    // Every completed job sent its link, and its on-site rating is an answered survey.
    let jobs: Vec<&SurveyRow> = surveys.iter().filter(|s| s.1 == "job").collect();
    let on_site: Vec<&SurveyRow> = surveys.iter().filter(|s| s.1 == "on_site").collect();
    assert_eq!(jobs.iter().map(|s| s.2).collect::<Vec<_>>(), done, "one link per completed job");
    assert_eq!(on_site.len(), done.len(), "every generated job was rated on site");
    assert!(on_site.iter().all(|s| s.3.is_some() && s.4.is_some()));
    let tokens: HashSet<&str> = surveys.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(tokens.len(), surveys.len(), "survey tokens are unique");
    assert!(tokens.iter().all(|t| t.len() == 32 && t.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))));
    let answered = jobs.iter().filter(|s| s.3.is_some()).count();
    let share = answered * 100 / jobs.len();
    assert!((50..=70).contains(&share), "about 60 % of the links were answered: {share} %");
    // The satisfaction figures count every generated answer; most customers are satisfied.
    let (status, after) = app.api(Method::GET, satisfaction, token, None).await;
    assert_eq!(status, 200, "{after}");
    let responses = |v: &Value| v["total"]["responses"].as_i64().unwrap();
    // (Up to the end of today: the generator completes a few of the newest orders later today
    // or in the next days, and their on-site ratings come with the completion.)
    let tomorrow =
        aftersales::service::work_orders::midnight(aftersales::service::work_orders::today().succ_opt().unwrap());
    let counted = surveys.iter().filter(|s| s.3.is_some_and(|t| t < tomorrow)).count();
    assert_eq!(responses(&after) - responses(before), counted as i64, "{after}");
    assert!(after["total"]["percent"].as_f64().unwrap() > 80.0, "{after}");
    let (_, by_engineer) = app.api(Method::GET, &format!("{satisfaction}&by=engineer"), token, None).await;
    assert!(by_engineer["groups"].as_array().unwrap().len() >= 8, "{by_engineer}");

    // A link not answered yet takes one answer; an answered one refuses a second.
    let open = jobs.iter().find(|s| s.3.is_none()).unwrap();
    let path = format!("/api/v1/public/surveys/{}", open.0);
    let (status, p) = app.api(Method::GET, &path, "", None).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["answered"], false);
    assert_eq!(p["order_number"], store::work_orders::number(open.2));
    assert!(p["engineer"].is_string() && p["completed_at"].is_string(), "{p}");
    let answer = serde_json::json!({"overall": 4, "timeliness": 5, "comment": "不错"});
    let (status, v) = app.api(Method::POST, &path, "", Some(answer.clone())).await;
    assert_eq!(status, 200, "{v}");
    let (status, _) = app.api(Method::POST, &path, "", Some(answer.clone())).await;
    assert_eq!(status, 409, "answered once");
    let done_one = jobs.iter().find(|s| s.3.is_some()).unwrap();
    let path = format!("/api/v1/public/surveys/{}", done_one.0);
    let (status, p) = app.api(Method::GET, &path, "", None).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!((p["answered"].as_bool(), p["overall"].as_i64()), (Some(true), done_one.4.map(i64::from)));
    let (status, _) = app.api(Method::POST, &path, "", Some(answer.clone())).await;
    assert_eq!(status, 409, "a generated answer counts as the one answer");
    let (status, _) =
        app.api(Method::POST, &format!("/api/v1/public/surveys/{}", on_site[0].0), "", Some(answer)).await;
    assert_eq!(status, 404, "the on-site rating is no link");

    // Complaints, suggestions and praise: all listed, each with its steps and deadlines.
    let (status, list) = app.api(Method::GET, "/api/v1/complaints?view=all&limit=200", token, None).await;
    assert_eq!(status, 200, "{list}");
    let items: Vec<&Value> =
        list["items"].as_array().unwrap().iter().filter(|k| k["order_id"].as_i64() > Some(last_order)).collect();
    assert_eq!(items.len() as u64, report.complaints, "{list}");
    assert!(list["next_before"].is_null());
    let kinds = |kind: &str| items.iter().filter(|k| k["kind"] == kind).count();
    assert!(kinds("complaint") > kinds("praise") && kinds("praise") > 0 && kinds("suggestion") > 0, "{list}");
    assert!(items.iter().filter(|k| k["kind"] == "complaint").count() * 100 / done.len() <= 2, "about 1 % of jobs");
    let (mut closed, mut last_event) = (0, 0);
    for item in &items {
        let id = item["id"].as_i64().unwrap();
        let (status, d) = app.api(Method::GET, &format!("/api/v1/complaints/{id}"), token, None).await;
        assert_eq!(status, 200, "{d}");
        let k = &d["complaint"];
        assert_eq!(d["policy_version"], 1);
        assert!(k["engineer_id"].is_i64() && k["customer_id"].is_i64() && k["unit_id"].is_i64(), "{d}");
        let events = d["events"].as_array().unwrap();
        last_event = events.iter().filter_map(|e| e["id"].as_i64()).fold(last_event, i64::max);
        assert_eq!(events[0]["action"], "register", "{d}");
        assert_eq!(
            events[0]["detail"],
            format!("{}:{}", k["severity"].as_str().unwrap(), k["department"].as_str().unwrap())
        );
        assert_eq!(events[0]["status_to"], "open");
        assert_eq!(events.last().unwrap()["status_to"], k["status"], "{d}");
        assert_eq!(k["version"].as_u64(), Some(events.len() as u64), "one save per step: {d}");
        let at: Vec<DateTime<Utc>> = events.iter().map(|e| time(&e["at"])).collect();
        assert!(at.windows(2).all(|w| w[0] <= w[1]) && time(&k["received_at"]) <= at[0], "{d}");
        let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
        if k["status"] == "closed" {
            closed += 1;
            assert_eq!(time(&k["closed_at"]), *at.last().unwrap(), "{d}");
        } else {
            assert!(k["closed_at"].is_null(), "{d}");
        }
        match k["kind"].as_str().unwrap() {
            "complaint" => {
                let major = k["severity"] == "major";
                assert_eq!(k["department"], if major { "quality" } else { "service" }, "{d}");
                // The deadlines as stored are the ones the app evaluates, and were kept or missed.
                let deadlines = d["deadlines"].as_array().unwrap();
                assert_eq!(deadlines.len(), 2, "{d}");
                assert_eq!(time(&deadlines[0]["due_at"]), time(&k["ack_due_at"]), "{d}");
                assert_eq!(time(&deadlines[1]["due_at"]), time(&k["answer_due_at"]), "{d}");
                if k["status"] == "closed" {
                    assert!(
                        actions.starts_with(&["register", "contact"]) && actions.ends_with(&["answer", "accept"]),
                        "{d}"
                    );
                    assert_eq!(k["accepted"], true);
                    assert!(!k["answer_text"].as_str().unwrap().is_empty() && k["answer_channel"].is_string(), "{d}");
                    assert_eq!(time(&k["answered_at"]), at[actions.len() - 2]);
                    assert_eq!(time(&k["acknowledged_at"]), at[1]);
                    let day = time(&k["answered_at"]).with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
                    assert_eq!(k["answered_on"], day.to_string(), "{d}");
                    assert!(deadlines.iter().all(|x| matches!(x["state"].as_str(), Some("met" | "met_late"))), "{d}");
                }
            }
            "suggestion" => {
                assert!(d["deadlines"].as_array().unwrap().is_empty());
                if k["status"] == "closed" {
                    assert_eq!(actions, ["register", "forward", "conclude"], "{d}");
                    assert!(k["forwarded_to"].is_string() && k["adopted"].is_boolean(), "{d}");
                }
            }
            _ => {
                if k["status"] == "closed" {
                    assert_eq!(actions, ["register", "acknowledge"], "{d}");
                }
                // Praise is credited to the engineer who did the job.
                let order = k["order_id"].as_i64().unwrap();
                let (_, o) = app.api(Method::GET, &format!("/api/v1/work-orders/{order}"), token, None).await;
                assert_eq!(k["engineer_id"], o["order"]["engineer_id"], "{d}");
            }
        }
    }
    assert!(closed * 10 >= items.len() * 7, "most generated complaints are long closed: {closed} of {}", items.len());

    // The year's "no major complaint" objective counts the generated major ones.
    let year_of = |k: &Value| time(&k["received_at"]).with_timezone(&chrono_tz::Asia::Shanghai).year();
    let this_year = chrono::Datelike::year(&aftersales::service::work_orders::today());
    let mut majors = 0;
    for year in this_year - 2..=this_year {
        let (status, o) = app.api(Method::GET, &format!("/api/v1/complaints/objective?year={year}"), token, None).await;
        assert_eq!(status, 200, "{o}");
        let expected =
            items.iter().filter(|k| k["kind"] == "complaint" && k["severity"] == "major" && year_of(k) == year).count();
        assert_eq!(o["major"].as_u64(), Some(expected as u64), "{year}: {o}");
        assert_eq!(o["met"], expected == 0, "{o}");
        let complaints = items.iter().filter(|k| k["kind"] == "complaint" && year_of(k) == year).count();
        assert_eq!(o["summary"]["complaints"].as_u64(), Some(complaints as u64), "{o}");
        majors += expected;
    }
    assert!(majors > 0, "a few complaints are major");

    // A record registered now takes the ids after the generated ones.
    let top = items.iter().filter_map(|k| k["id"].as_i64()).max().unwrap();
    let body = serde_json::json!({"kind": "suggestion", "channel": "web", "order_id": items[0]["order_id"],
        "subject": "建议增加周末上门服务"});
    let (status, created) = app.api(Method::POST, "/api/v1/complaints", token, Some(body)).await;
    assert_eq!(status, 201, "{created}");
    assert!(created["complaint"]["id"].as_i64().unwrap() > top, "{created}");
    assert!(created["events"][0]["id"].as_i64().unwrap() > last_event, "{created}");
}

fn options(append: bool) -> Options {
    Options {
        customers: 300,
        units: 600,
        orders: 0,
        engineers: 0,
        backlog: 0,
        parts: 0,
        warehouses: 0,
        movements: 0,
        seed: 42,
        append,
        progress: false,
    }
}

async fn everything(db: &Db) -> (Vec<Customer>, Vec<Unit>) {
    let mut c = db.read().await.unwrap();
    let f = store::customers::Filter { limit: 10_000, ..Default::default() };
    let customers = store::customers::list(c.conn(), db.backend(), &f).await.unwrap();
    let units =
        store::units::list(c.conn(), &store::units::Filter { limit: 10_000, ..Default::default() }).await.unwrap();
    (customers, units)
}

fn ids(res: &Value, key: &str) -> Vec<i64> {
    res[key].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect()
}

async fn gen_fills_a_searchable_archive_deterministically(app: &TestApp) {
    let counts = || async {
        let mut c = app.db.read().await.unwrap();
        store::bulk::counts(c.conn()).await.unwrap()
    };
    let before = counts().await;
    assert!(before.customers > 0, "the demo has customers");
    let refused = r#gen::run(&app.db, &options(false)).await.unwrap_err();
    assert!(refused.to_string().contains("--append"), "{refused}");
    assert_eq!(counts().await, before, "a refused run writes nothing");

    let report = r#gen::run(&app.db, &options(true)).await.unwrap();
    let after = counts().await;
    assert_eq!(after.customers, before.customers + 300);
    assert_eq!(after.units, before.units + 600);
    assert_eq!(after.owners, before.owners + 600, "one owner row per unit");
    assert_eq!(after.search, after.customers, "every customer is indexed");
    assert!(after.phones - before.phones >= 300, "customers and their contacts have phones");
    assert!(after.contacts - before.contacts >= 200);
    assert_eq!(report.totals, after);
    assert_eq!(
        report.rows as i64,
        (after.customers + after.contacts + after.phones + after.search + after.units + after.owners)
            - (before.customers + before.contacts + before.phones + before.search + before.units + before.owners)
    );
    assert!(r#gen::run(&app.db, &options(false)).await.is_err(), "still refused without --append");

    let (customers, units) = everything(&app.db).await;
    let generated: Vec<&Customer> = customers.iter().filter(|c| c.id > 5).collect();
    assert_eq!(generated.len(), 300);
    let serials: HashSet<&str> = units.iter().map(|u| u.serial.as_str()).collect();
    assert_eq!(serials.len(), units.len(), "serials are unique");
    let tokens: HashSet<&str> = units.iter().map(|u| u.public_token.as_str()).collect();
    assert_eq!(tokens.len(), units.len());
    assert!(units.iter().all(|u| u.public_token.len() == 32 && u.public_token.chars().all(|c| c.is_ascii_hexdigit())));
    let classes = |k: &str| generated.iter().filter(|c| c.class == k).count();
    assert!(classes("C") > classes("B") && classes("B") > classes("A") && classes("A") > 0);

    // The app's own search finds generated customers by a word of their notes and by a phone prefix.
    let token = app.token("manager").await;
    let mut found_by_note = 0;
    for word in ["异响", "漏水", "保养", "维修"] {
        let Some(c) = generated.iter().find(|c| c.notes.contains(word)) else { continue };
        let q = aftersales::http::urlencode(&format!("{word} {}", c.district));
        let (status, res) = app.api(Method::GET, &format!("/api/v1/search?q={q}"), &token, None).await;
        assert_eq!(status, 200);
        assert!(ids(&res, "customers").contains(&c.id), "{word} {} → {res}", c.district);
        let (_, res) = app
            .api(Method::GET, &format!("/api/v1/search?q={}", aftersales::http::urlencode(word)), &token, None)
            .await;
        let hits = res["customers"].as_array().unwrap();
        assert!(!hits.is_empty());
        assert!(hits.iter().all(|h| h["notes"].as_str().unwrap().contains(word)), "{word} → {res}");
        found_by_note += 1;
    }
    assert!(found_by_note >= 3, "notes use the after-sales vocabulary");
    // A search window keeps to the newest customers, and the name-first ranking holds inside it.
    {
        let newest = generated.iter().map(|c| c.id).max().unwrap();
        let words = vec!["维修".to_string()];
        let mut c = app.db.read().await.unwrap();
        let mut f = store::customers::Filter { words: words.clone(), limit: 1000, ..Default::default() };
        let all = store::customers::list(c.conn(), app.db.backend(), &f).await.unwrap();
        f.newer_than = Some(newest - 100);
        let recent = store::customers::list(c.conn(), app.db.backend(), &f).await.unwrap();
        assert!(!recent.is_empty() && recent.len() < all.len(), "{} of {}", recent.len(), all.len());
        assert!(recent.iter().all(|r| r.id > newest - 100));
        let expected: Vec<i64> = all.iter().filter(|r| r.id > newest - 100).map(|r| r.id).collect();
        assert_eq!(recent.iter().map(|r| r.id).collect::<Vec<_>>(), expected, "same order as without a window");
    }
    for c in generated.iter().filter(|c| c.phone.is_some()).take(5) {
        let prefix = &c.phone.as_deref().unwrap()[..7];
        let (_, res) = app.api(Method::GET, &format!("/api/v1/search?q={prefix}"), &token, None).await;
        assert!(ids(&res, "customers").contains(&c.id), "{prefix} → {res}");
    }
    let unit = units.iter().find(|u| u.id > 7).unwrap();
    let (_, res) = app
        .api(Method::GET, &format!("/api/v1/search?q={}", &unit.serial[..unit.serial.len() - 3]), &token, None)
        .await;
    assert!(ids(&res, "units").contains(&unit.id), "{} → {res}", unit.serial);

    // The same seed on the same starting point (a demo database) gives the same data, on any backend.
    let dir = tempfile::tempdir().unwrap();
    let other = Db::connect(&format!("sqlite://{}/other.db", dir.path().display()), SqliteSync::Normal).await.unwrap();
    other.migrate().await.unwrap();
    aftersales::demo::load(&other).await.unwrap();
    r#gen::run(&other, &options(true)).await.unwrap();
    let (customers2, units2) = everything(&other).await;
    other.close().await;
    let key =
        |c: &Customer| (c.id, c.kind.clone(), c.name.clone(), c.class.clone(), c.key_customer, c.region_code.clone());
    assert_eq!(customers.iter().map(key).collect::<Vec<_>>(), customers2.iter().map(key).collect::<Vec<_>>());
    let text = |c: &Customer| {
        [&c.province, &c.city, &c.district, &c.address, &c.tags, &c.notes].map(|s| s.to_string()).join("|")
            + &format!("|{:?}|{:?}", c.phone, c.email)
    };
    assert_eq!(customers.iter().map(text).collect::<Vec<_>>(), customers2.iter().map(text).collect::<Vec<_>>());
    let unit_key = |u: &Unit| {
        format!(
            "{} {} {} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            u.id,
            u.serial,
            u.model_code,
            u.customer_id,
            u.sale_date,
            u.invoice_no,
            u.invoice_date,
            u.delivery_date,
            u.install_date,
            u.certificate_no,
            u.odometer_km
        ) + &u.dealer
    };
    assert_eq!(units.iter().map(unit_key).collect::<Vec<_>>(), units2.iter().map(unit_key).collect::<Vec<_>>());
    let tokens2: HashSet<&str> = units2.iter().map(|u| u.public_token.as_str()).collect();
    assert!(tokens.is_disjoint(&tokens2), "public tokens are never derived from the seed");
}
