//! Registers (R9.3) and the service handbook (R10.2) as their users meet them: the calls and
//! letters register holds requests and feedback by channel, newest first, page by page and in a
//! spreadsheet, a region's dispatcher sees his region's; the dispatch records hold every
//! assignment; the handbook is drafted by the service manager, checked, issued by the general
//! manager with the year's objectives frozen into it, revised, and every revision kept — on both
//! databases.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::TestApp;

both!(
    the_calls_register_lists_requests_and_feedback,
    the_dispatch_records_hold_every_assignment,
    the_handbook_is_drafted_issued_and_revised,
    handbook_pages_edit_the_matrix_and_issue,
);

fn fields(v: &Value) -> Vec<String> {
    let mut f: Vec<String> = v["error"]["fields"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    f.sort();
    f
}

/// Registers a request on the demo unit `serial` through the API.
async fn request(app: &TestApp, token: &str, serial: &str, channel: &str, problem: &str) -> Value {
    let (status, units) = app.api(Method::GET, &format!("/api/v1/units?number={serial}"), token, None).await;
    assert_eq!(status, 200, "{units}");
    let u = &units["items"][0];
    let body = json!({"channel": channel, "kind": "maintenance", "priority": "normal", "customer_id": u["customer_id"],
        "unit_id": u["id"], "problem": problem});
    let (status, v) = app.api(Method::POST, "/api/v1/work-orders", token, Some(body)).await;
    assert_eq!(status, 201, "{v}");
    v
}

fn ids_of(page: &Value, source: &str) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == source)
        .map(|e| e["id"].as_i64().unwrap())
        .collect()
}

async fn the_calls_register_lists_requests_and_feedback(app: &TestApp) {
    let manager = app.token("manager").await;
    // A letter from an East China customer, one from South China, and a complaint by letter.
    let east = request(app, &manager, "LG120B0007", "letter", "来函：空调每年保养").await;
    let south = request(app, &manager, "LHXEV01A5N0000123", "letter", "来函：电池检测").await;
    let body = json!({"kind": "suggestion", "channel": "letter", "subject": "希望增加周末上门服务",
        "contact_name": "周先生", "contact_phone": "13800138000"});
    let (status, fb) = app.api(Method::POST, "/api/v1/complaints", &manager, Some(body)).await;
    assert_eq!(status, 201, "{fb}");
    let (east_id, south_id) = (east["order"]["id"].as_i64().unwrap(), south["order"]["id"].as_i64().unwrap());
    let fb_id = fb["complaint"]["id"].as_i64().unwrap();

    let (status, page) = app.api(Method::GET, "/api/v1/reports/calls?channel=letter", &manager, None).await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "only this session's letters: {page}");
    assert_eq!(
        (items[0]["source"].as_str(), items[0]["id"].as_i64()),
        (Some("suggestion"), Some(fb_id)),
        "newest first"
    );
    assert_eq!(ids_of(&page, "order"), [south_id, east_id]);
    assert_eq!(items[1]["subject"], "来函：电池检测");
    assert_eq!(items[0]["handler"], "service", "a suggestion goes to the service department");
    assert!(!items[1]["registered_by"].as_str().unwrap().is_empty());
    assert!(page["next_before"].is_null());

    // Page by page: every line once.
    let (_, p1) = app.api(Method::GET, "/api/v1/reports/calls?channel=letter&limit=2", &manager, None).await;
    let cursor = p1["next_before"].as_str().unwrap().to_string();
    let (_, p2) = app
        .api(
            Method::GET,
            &format!("/api/v1/reports/calls?channel=letter&limit=2&before={}", aftersales::http::urlencode(&cursor)),
            &manager,
            None,
        )
        .await;
    assert_eq!(p2["items"].as_array().unwrap().len(), 1, "{p2}");
    assert_eq!(p2["items"][0]["id"].as_i64(), Some(east_id));
    assert!(p2["next_before"].is_null());

    // All channels hold the demo's calls too; a region's dispatcher sees his region's only.
    let (_, all) = app.api(Method::GET, "/api/v1/reports/calls?limit=500", &manager, None).await;
    assert!(all["items"].as_array().unwrap().len() > 3, "{all}");
    let dispatcher = app.token("dispatcher").await;
    let (_, mine) = app.api(Method::GET, "/api/v1/reports/calls?channel=letter", &dispatcher, None).await;
    assert_eq!(ids_of(&mine, "order"), [east_id], "{mine}");
    assert!(mine["items"].as_array().unwrap().iter().all(|e| e["region_code"] == "east"), "{mine}");

    // A period before today holds none of them; bad input is named; engineers read no register.
    let (_, old) = app.api(Method::GET, "/api/v1/reports/calls?from=2020-01-01&to=2020-03-31", &manager, None).await;
    assert_eq!(old["items"].as_array().unwrap().len(), 0);
    let (status, v) =
        app.api(Method::GET, "/api/v1/reports/calls?channel=pigeon&before=yesterday", &manager, None).await;
    assert_eq!((status, fields(&v)), (422, vec!["before".to_string(), "channel".to_string()]), "{v}");
    let (status, v) = app.api(Method::GET, "/api/v1/reports/calls?from=2026-03-01&to=2026-02-01", &manager, None).await;
    assert_eq!((status, fields(&v)), (422, vec!["to".to_string()]));
    let engineer = app.token("engineer").await;
    let (status, _) = app.api(Method::GET, "/api/v1/reports/calls", &engineer, None).await;
    assert_eq!(status, 403);

    // The page and its spreadsheet.
    let web = app.login("manager", "demo1234").await;
    let html = web.get(app.url("/reports/calls?channel=letter")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("希望增加周末上门服务") && html.contains("来函：电池检测"), "{html}");
    assert!(html.contains(&format!("/complaints/{fb_id}")));
    let csv = web.get(app.url("/reports/calls?channel=letter&format=csv")).send().await.unwrap();
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.lines().count(), 4, "a header and three lines: {csv}");
    assert!(csv.contains("13800138000"));
    let xlsx = web.get(app.url("/reports/calls?format=xlsx")).send().await.unwrap();
    assert_eq!(xlsx.status(), 200);
    assert_eq!(&xlsx.bytes().await.unwrap()[..2], b"PK");
    let index = web.get(app.url("/reports")).send().await.unwrap().text().await.unwrap();
    assert!(index.contains("/reports/dispatches") && index.contains("/reports/costs"));
}

async fn the_dispatch_records_hold_every_assignment(app: &TestApp) {
    let dispatcher = app.token("dispatcher").await;
    let manager = app.token("manager").await;
    let o = request(app, &dispatcher, "LG120B0007", "hotline", "保养").await;
    let id = o["order"]["id"].as_i64().unwrap();
    let engineer_id = crate::work_orders::user_id(app, "engineer").await;
    let path = format!("/api/v1/work-orders/{id}/actions/assign");
    let (status, o) = app
        .api(
            Method::POST,
            &path,
            &dispatcher,
            Some(json!({"version": o["order"]["version"], "engineer_id": engineer_id, "note": "带上冷媒"})),
        )
        .await;
    assert_eq!(status, 200, "{o}");
    // A new appointment with the same engineer is a second dispatch.
    let (status, o) = app
        .api(
            Method::POST,
            &path,
            &manager,
            Some(json!({"version": o["order"]["version"], "engineer_id": engineer_id, "scheduled_at": "2026-12-20T09:00"})),
        )
        .await;
    assert_eq!(status, 200, "{o}");

    let (status, page) = app.api(Method::GET, "/api/v1/reports/dispatches", &manager, None).await;
    assert_eq!(status, 200, "{page}");
    let mine: Vec<&Value> = page["items"].as_array().unwrap().iter().filter(|e| e["order_id"] == id).collect();
    assert_eq!(mine.len(), 2, "{page}");
    assert_eq!(mine[0]["reassigned"], true, "the newest first, and it changed an assigned order");
    assert_eq!(mine[1]["reassigned"], false);
    assert_eq!(mine[1]["note"], "张伟 — 带上冷媒");
    assert_eq!(mine[0]["engineer_now"], "张伟");
    assert!(mine[0]["scheduled_at"].as_str().unwrap().starts_with("2026-12-20T01:00"), "{}", mine[0]);
    assert_eq!(mine[1]["dispatcher"], "陈静");

    // By engineer: another engineer's records hold none of them.
    let other = crate::work_orders::user_id(app, "engineer2").await;
    let (_, theirs) =
        app.api(Method::GET, &format!("/api/v1/reports/dispatches?engineer_id={other}"), &manager, None).await;
    assert!(theirs["items"].as_array().unwrap().iter().all(|e| e["order_id"] != id), "{theirs}");

    let web = app.login("dispatcher", "demo1234").await;
    let html = web.get(app.url("/reports/dispatches")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&format!("/work-orders/{id}")) && html.contains("带上冷媒"), "{html}");
    let csv = web.get(app.url("/reports/dispatches?format=csv")).send().await.unwrap().text().await.unwrap();
    assert!(csv.contains("带上冷媒"));
}

fn draft(title: &str, commitments: &str, cells: Value) -> Value {
    json!({
        "title": title,
        "chapters": [
            {"code": "philosophy", "body": "顾客第一，质量第一。"},
            {"code": "commitments", "title": "我们的承诺", "body": commitments},
        ],
        "matrix": {"departments": ["总经理", "服务部", "质量部"],
                   "processes": [{"name": "服务目标", "cells": cells}, {"name": "投诉处理", "cells": [null, "lead", "support"]}]},
    })
}

async fn the_handbook_is_drafted_issued_and_revised(app: &TestApp) {
    let manager = app.token("manager").await;
    let gm = app.token("gm").await;
    let engineer = app.token("engineer").await;

    // The demo company issued its first revision.
    let (status, h) = app.api(Method::GET, "/api/v1/handbook", &engineer, None).await;
    assert_eq!(status, 200, "{h}");
    assert_eq!(
        (h["current"]["revision_no"].as_i64(), h["current"]["issued_by_name"].as_str()),
        (Some(1), Some("王建国"))
    );
    assert!(h["draft"].is_null());
    let (status, _) = app
        .api(Method::PUT, "/api/v1/handbook/draft", &engineer, Some(draft("手册", "", json!([null, null, null]))))
        .await;
    assert_eq!(status, 403);

    // Field by field: a title, a cell per department.
    let (status, v) =
        app.api(Method::PUT, "/api/v1/handbook/draft", &manager, Some(draft(" ", "", json!(["lead"])))).await;
    assert_eq!((status, fields(&v)), (422, vec!["matrix".to_string(), "title".to_string()]), "{v}");

    // An incomplete draft is kept; what it lacks is listed.
    let (status, d) = app
        .api(
            Method::PUT,
            "/api/v1/handbook/draft",
            &manager,
            Some(draft("售后服务手册", "", json!(["approve", "support", null]))),
        )
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!((d["status"].as_str(), d["version"].as_i64()), (Some("draft"), Some(1)));
    assert_eq!(d["chapters"].as_array().unwrap().len(), 15, "every chapter, written or not");
    let (_, h) = app.api(Method::GET, "/api/v1/handbook", &manager, None).await;
    let problems: Vec<&str> =
        h["draft_problems"].as_array().unwrap().iter().map(|p| p["field"].as_str().unwrap()).collect();
    assert_eq!(problems, ["chapters.commitments", "matrix"], "{h}");
    let (_, h) = app.api(Method::GET, "/api/v1/handbook", &engineer, None).await;
    assert!(h["draft"].is_null(), "staff read what is in force, not the draft");

    // Only the general manager issues, and only a complete draft with a summary.
    let issue = json!({"version": 1, "change_summary": "首次发布"});
    let (status, _) = app.api(Method::POST, "/api/v1/handbook/draft/issue", &manager, Some(issue.clone())).await;
    assert_eq!(status, 403);
    let (status, v) = app
        .api(Method::POST, "/api/v1/handbook/draft/issue", &gm, Some(json!({"version": 1, "change_summary": " "})))
        .await;
    assert_eq!(
        (status, fields(&v)),
        (422, vec!["change_summary".into(), "chapters.commitments".into(), "matrix".into()])
    );
    assert!(v["error"]["fields"]["matrix"][0].as_str().unwrap().contains("服务目标"), "{v}");

    let fixed = draft("售后服务手册", "上班时间 1 小时内答复。", json!(["approve", "lead", "support"]));
    let mut stale = fixed.clone();
    stale["version"] = json!(1);
    let (status, d) = app.api(Method::PUT, "/api/v1/handbook/draft", &manager, Some(stale.clone())).await;
    assert_eq!((status, d["version"].as_i64()), (200, Some(2)), "{d}");
    let (status, _) = app.api(Method::PUT, "/api/v1/handbook/draft", &manager, Some(stale)).await;
    assert_eq!(status, 409, "a stale draft is not overwritten");
    let (status, _) = app.api(Method::PUT, "/api/v1/handbook/draft", &manager, Some(fixed.clone())).await;
    assert_eq!(status, 409, "one draft at a time");

    // An approved objective of the year is frozen into the revision.
    let (status, o) =
        app.api(Method::POST, "/api/v1/objectives", &manager, Some(json!({"metric": "satisfaction"}))).await;
    assert_eq!(status, 201, "{o}");
    let oid = o["view"]["objective"]["id"].as_i64().unwrap();
    let (status, _) = app
        .api(Method::PUT, &format!("/api/v1/objectives/{oid}"), &gm, Some(json!({"version": 1, "action": "approve"})))
        .await;
    assert_eq!(status, 200);
    let (status, r1) = app
        .api(
            Method::POST,
            "/api/v1/handbook/draft/issue",
            &gm,
            Some(json!({"version": 2, "change_summary": "首次发布"})),
        )
        .await;
    assert_eq!(status, 201, "{r1}");
    assert_eq!((r1["revision_no"].as_i64(), r1["status"].as_str()), (Some(2), Some("issued")));
    assert_eq!(r1["issued_by_name"], "王建国");
    assert_eq!(r1["objectives"][0]["metric"], "satisfaction");
    assert_eq!(r1["objectives"][0]["target"], 90.0);
    assert_eq!(r1["chapters"][6]["title"], "我们的承诺");

    // Everyone reads revision 2; the next draft starts; revision 3 keeps 2 unchanged.
    let (_, h) = app.api(Method::GET, "/api/v1/handbook", &engineer, None).await;
    assert_eq!(h["current"]["revision_no"], 2, "{h}");
    let (status, d) = app
        .api(
            Method::PUT,
            "/api/v1/handbook/draft",
            &manager,
            Some(draft("售后服务手册", "24 小时上门。", json!(["approve", "lead", null]))),
        )
        .await;
    assert_eq!(status, 200, "{d}");
    let (status, r2) = app
        .api(
            Method::POST,
            "/api/v1/handbook/draft/issue",
            &gm,
            Some(json!({"version": d["version"], "change_summary": "承诺改为 24 小时上门", "effective_on": "2027-01-01"})),
        )
        .await;
    assert_eq!(status, 201, "{r2}");
    assert_eq!((r2["revision_no"].as_i64(), r2["effective_on"].as_str()), (Some(3), Some("2027-01-01")));
    assert_eq!(r2["objectives"].as_array().unwrap().len(), 0, "no approved objective for 2027");
    // Revision 3 waits for its date; 2 stays in force until then.
    let (_, h) = app.api(Method::GET, "/api/v1/handbook", &engineer, None).await;
    assert_eq!((h["current"]["revision_no"].as_i64(), h["upcoming"]["revision_no"].as_i64()), (Some(2), Some(3)));
    let (_, old) = app.api(Method::GET, "/api/v1/handbook/revisions/2", &engineer, None).await;
    assert_eq!(old["chapters"][6]["body"], "上班时间 1 小时内答复。");
    let (_, h) = app.api(Method::GET, "/api/v1/handbook", &manager, None).await;
    let history: Vec<i64> =
        h["history"].as_array().unwrap().iter().map(|x| x["revision_no"].as_i64().unwrap()).collect();
    assert_eq!(history, [3, 2, 1]);
    assert_eq!(h["history"][0]["change_summary"], "承诺改为 24 小时上门");
    let (status, _) = app.api(Method::GET, "/api/v1/handbook/revisions/4", &engineer, None).await;
    assert_eq!(status, 404);

    // A draft can be thrown away (over its version).
    let (_, d) = app.api(Method::PUT, "/api/v1/handbook/draft", &manager, Some(fixed)).await;
    let (status, _) = app.api(Method::DELETE, "/api/v1/handbook/draft?version=9", &manager, None).await;
    assert_eq!(status, 409);
    let (status, _) =
        app.api(Method::DELETE, &format!("/api/v1/handbook/draft?version={}", d["version"]), &manager, None).await;
    assert_eq!(status, 204);
    let (_, h) = app.api(Method::GET, "/api/v1/handbook", &manager, None).await;
    assert!(h["draft"].is_null());
}

async fn handbook_pages_edit_the_matrix_and_issue(app: &TestApp) {
    let web = app.login("manager", "demo1234").await;
    let page = web.get(app.url("/handbook")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"handbook-revision\"") && page.contains("首次发布"), "the demo's revision 1: {page}");
    // The next draft starts from the revision in force (the standard chapters and matrix).
    let edit = web.get(app.url("/handbook/edit")).send().await.unwrap().text().await.unwrap();
    assert!(edit.contains("顾客第一") && edit.contains("顾客投诉处理"), "{edit}");
    // Saving with a department added and one process renamed: the grid follows by name.
    let form = [
        ("title", "售后服务手册"),
        ("body_philosophy", "顾客第一。"),
        ("body_commitments", "1 小时内答复。"),
        ("old_departments", "总经理\n服务部"),
        ("old_processes", "服务目标\n回访"),
        ("cell_0_0", "approve"),
        ("cell_0_1", "lead"),
        ("cell_1_1", "lead"),
        ("departments", "总经理\n服务部\n质量部"),
        ("processes", "服务目标\n回访与满意度调查"),
    ];
    let res = web.post(app.url("/handbook/edit")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let manager = app.token("manager").await;
    let (_, h) = app.api(Method::GET, "/api/v1/handbook", &manager, None).await;
    let m = &h["draft"]["matrix"];
    assert_eq!(m["departments"], json!(["总经理", "服务部", "质量部"]));
    assert_eq!(m["processes"][0]["cells"], json!(["approve", "lead", null]));
    assert_eq!(m["processes"][1]["cells"], json!([null, null, null]), "a renamed process starts empty");
    // The general manager's issue form names what is missing and keeps what he typed.
    let gm = app.login("gm", "demo1234").await;
    let version = h["draft"]["version"].as_i64().unwrap().to_string();
    let res = gm
        .post(app.url("/handbook/issue"))
        .form(&[("version", version.as_str()), ("change_summary", "首次发布")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("回访与满意度调查") && html.contains("首次发布"), "{html}");
    // Fixed on the edit page, then issued; the printed handbook shows the revision.
    let form = [
        ("version", version.as_str()),
        ("title", "售后服务手册"),
        ("body_philosophy", "顾客第一。"),
        ("body_commitments", "1 小时内答复。"),
        ("old_departments", "总经理\n服务部\n质量部"),
        ("old_processes", "服务目标\n回访与满意度调查"),
        ("cell_0_0", "approve"),
        ("cell_0_1", "lead"),
        ("cell_1_1", "lead"),
        ("cell_1_2", "support"),
        ("departments", "总经理\n服务部\n质量部"),
        ("processes", "服务目标\n回访与满意度调查"),
    ];
    assert_eq!(web.post(app.url("/handbook/edit")).form(&form).send().await.unwrap().status(), 303);
    let next = (h["draft"]["version"].as_i64().unwrap() + 1).to_string();
    let res = gm
        .post(app.url("/handbook/issue"))
        .form(&[("version", next.as_str()), ("change_summary", "职责分配表增加质量部")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let doc = web.get(app.url("/handbook/revisions/2")).send().await.unwrap().text().await.unwrap();
    assert!(
        doc.contains("id=\"handbook-revision\"") && doc.contains("职责分配表增加质量部") && doc.contains("●"),
        "{doc}"
    );
    let old = web.get(app.url("/handbook/revisions/1")).send().await.unwrap().text().await.unwrap();
    assert!(old.contains("id=\"superseded\"") && old.contains("顾客投诉处理"), "{old}");
    let engineer = app.login("engineer", "demo1234").await;
    let page = engineer.get(app.url("/handbook")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("1 小时内答复。") && !page.contains("id=\"handbook-edit\""), "{page}");
}
