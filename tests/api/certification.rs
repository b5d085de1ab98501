//! Certification self-assessment (R10.1) as its users meet it: the score contract at several
//! levels with deductions and not-applicable indicators, bad input refused field by field; a
//! saved assessment begun once (idempotent), edited twice, a stale save refused; who may read
//! and who may save; the company's points; suggestions from the complaint register; and the
//! pages — on both databases.

use chrono::Datelike;
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::TestApp;
use aftersales::service::work_orders::today;

both!(
    the_score_contract_levels_deductions_and_not_applicable,
    bad_input_is_refused_field_by_field,
    a_saved_assessment_is_edited_over_its_version,
    suggestions_come_from_the_complaint_register,
    pages_assess_save_preview_and_print,
);

fn fields(v: &Value) -> Vec<String> {
    let mut f: Vec<String> = v["error"]["fields"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    f.sort();
    f
}

const GBT: [&str; 15] = [
    "organization",
    "staffing",
    "resources",
    "norms",
    "supervision",
    "improvement",
    "culture",
    "product_info",
    "tech_support",
    "delivery",
    "repair",
    "quality_assurance",
    "recycling",
    "customer_relations",
    "complaints",
];

/// Every GB/T indicator met at its default points, with `changes` (code → indicator) applied.
fn all_met(changes: &[(&str, Value)]) -> Vec<Value> {
    GBT.iter()
        .map(|c| {
            changes.iter().find(|(x, _)| x == c).map(|(_, v)| v.clone()).unwrap_or(json!({"code": c, "status": "met"}))
        })
        .collect()
}

async fn score(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    app.api(Method::POST, "/api/v1/certification/score", token, Some(body)).await
}

async fn the_score_contract_levels_deductions_and_not_applicable(app: &TestApp) {
    let manager = app.token("manager").await;

    // The contract's own shape: points given, statuses, a fraction.
    let body = json!({"scheme": "gbt27922-2011", "indicators": [
        {"code": "complaints", "points": 50, "status": "met"},
        {"code": "repair", "points": 50, "status": "partial", "fraction": 0.9}],
        "special_deductions": 0, "special_bonus": 0});
    let (status, v) = score(app, &manager, body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!((v["score"].as_f64(), v["level"].as_str()), (Some(95.0), Some("five_star")), "{v}");
    assert!(v["rule"].as_str().unwrap().starts_with("GB/T 27922-2011"), "{v}");
    assert_eq!(v["missing"][0]["code"], "repair");
    assert_eq!(v["missing"][0]["lost"].as_f64(), Some(5.0));
    assert_eq!(v["not_assessed"].as_array().unwrap().len(), 13, "the rest are named, not counted");

    // The whole tree at its default points (40 / 35 / 25).
    let (_, v) = score(app, &manager, json!({"scheme": "gbt27922-2011", "indicators": all_met(&[])})).await;
    assert_eq!((v["score"].as_f64(), v["level"].as_str()), (Some(100.0), Some("five_star")));
    // Repair (10) not met: 90, four stars.
    let repair = ("repair", json!({"code": "repair", "status": "not_met"}));
    let (_, v) =
        score(app, &manager, json!({"scheme": "gbt27922-2011", "indicators": all_met(std::slice::from_ref(&repair))}))
            .await;
    assert_eq!((v["score"].as_f64(), v["level"].as_str()), (Some(90.0), Some("four_star")), "{v}");
    // And two special deductions: 88, three stars.
    let body = json!({"scheme": "gbt27922-2011", "indicators": all_met(std::slice::from_ref(&repair)), "special_deductions": 2});
    let (_, v) = score(app, &manager, body).await;
    assert_eq!((v["score"].as_f64(), v["level"].as_str()), (Some(88.0), Some("three_star")), "{v}");
    assert_eq!(v["base_score"].as_f64(), Some(90.0));
    // Five deductions fail whatever the score.
    let body = json!({"scheme": "gbt27922-2011", "indicators": all_met(&[]), "special_deductions": 5});
    let (_, v) = score(app, &manager, body).await;
    assert_eq!(
        (v["score"].as_f64(), v["level"].as_str(), v["passed"].as_bool()),
        (Some(95.0), Some("fail"), Some(false))
    );
    // Complaints (13) and customer relations (12) not met: 75, pass; with the bonus, 76.
    let weak = [
        ("complaints", json!({"code": "complaints", "status": "not_met"})),
        ("customer_relations", json!({"code": "customer_relations", "status": "not_met"})),
    ];
    let body = json!({"scheme": "gbt27922-2011", "indicators": all_met(&weak), "special_bonus": 1});
    let (_, v) = score(app, &manager, body).await;
    assert_eq!((v["score"].as_f64(), v["level"].as_str()), (Some(76.0), Some("pass")), "{v}");
    // Not applicable is dropped: without recycling (4) and delivery (5), losing repair (10)
    // leaves 81 of 91 = 89.01.
    let na = [
        ("recycling", json!({"code": "recycling", "status": "not_applicable"})),
        ("delivery", json!({"code": "delivery", "status": "not_applicable"})),
        repair,
    ];
    let (_, v) = score(app, &manager, json!({"scheme": "gbt27922-2011", "indicators": all_met(&na)})).await;
    assert_eq!((v["score"].as_f64(), v["level"].as_str()), (Some(89.01), Some("three_star")), "{v}");
    assert_eq!(v["applicable"].as_f64(), Some(91.0));
    // Below 70: fail, with the reason.
    let body = json!({"scheme": "gbt27922-2011", "indicators": [
        {"code": "3.2", "points": 69.99, "status": "met"}, {"code": "顾客关系", "points": 30.01, "status": "not_met"}]});
    let (_, v) = score(app, &manager, body).await;
    assert_eq!((v["score"].as_f64(), v["level"].as_str()), (Some(69.99), Some("fail")), "{v}");
    assert_eq!(v["reasons_en"][0], "score 69.99 is below 70");

    // The older scheme: pass at 70 with every heading at half.
    let body = json!({"scheme": "sbt10401-2006", "indicators": [
        {"code": "complaints", "status": "partial", "fraction": 0.5},
        {"code": "repair", "status": "met"}, {"code": "culture", "status": "met"}]});
    let (_, v) = score(app, &manager, body).await;
    // 15 + 20 + 6 of 56.
    assert_eq!((v["score"].as_f64(), v["level"].as_str()), (Some(73.21), Some("pass")), "{v}");
    assert!(v["rule"].as_str().unwrap().starts_with("SB/T 10401-2006"));
    let body = json!({"scheme": "sbt10401-2006", "indicators": [
        {"code": "complaints", "status": "partial", "fraction": 0.4}, {"code": "repair", "status": "met"},
        {"code": "culture", "status": "met"}, {"code": "system", "status": "met"}, {"code": "regime", "status": "met"}]});
    let (_, v) = score(app, &manager, body).await;
    // 12 + 20 + 6 + 8 + 6 of 70, and 客户投诉 at 40 %.
    assert_eq!((v["score"].as_f64(), v["level"].as_str()), (Some(74.29), Some("fail")), "{v}");
    assert!(v["reasons_zh"][0].as_str().unwrap().contains("客户投诉"), "{v}");

    // The trees are published; anyone signed in may use the calculator, nobody else.
    let engineer = app.token("engineer").await;
    let (status, v) = app.api(Method::GET, "/api/v1/certification/schemes", &engineer, None).await;
    assert_eq!(status, 200);
    assert_eq!(v[0]["groups"][2]["indicators"][1]["code"], "complaints");
    assert_eq!(v[1]["groups"].as_array().unwrap().len(), 8);
    let (status, _) = score(app, &engineer, json!({"scheme": "gbt27922-2011", "indicators": all_met(&[])})).await;
    assert_eq!(status, 200);
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/certification/score"))
        .json(&json!({"scheme": "gbt27922-2011", "indicators": all_met(&[])}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // The API document describes it.
    let (_, doc) = app.api(Method::GET, "/api/v1/openapi.json", &manager, None).await;
    for path in [
        "/api/v1/certification/score",
        "/api/v1/certification/assessments/{id}",
        "/api/v1/certification/points/{scheme}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
}

async fn bad_input_is_refused_field_by_field(app: &TestApp) {
    let manager = app.token("manager").await;
    let body = json!({"scheme": "gbt27922-2011", "indicators": [
        {"code": "nonsense", "status": "met"},
        {"code": "complaints", "points": -5, "status": "met"},
        {"code": "repair", "status": "partial", "fraction": 1.5},
        {"code": "delivery", "status": "half"},
        {"code": "staffing", "status": "partial"}],
        "special_deductions": -1, "special_bonus": 2});
    let (status, v) = score(app, &manager, body).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(
        fields(&v),
        [
            "indicators[0].code",
            "indicators[1].points",
            "indicators[2].fraction",
            "indicators[3].status",
            "indicators[4].fraction",
            "special_bonus",
            "special_deductions"
        ],
        "{v}"
    );
    assert!(v["error"]["fields"]["special_bonus"][0].as_str().unwrap().contains("至多一项"), "{v}");
    let (status, v) = score(app, &manager, json!({"scheme": "iso9001", "indicators": []})).await;
    assert_eq!(status, 422);
    assert_eq!(fields(&v), ["indicators", "scheme"]);
    let (status, v) = score(app, &manager, json!({"scheme": "gbt27922-2011", "indicators": "all"})).await;
    assert_eq!((status, fields(&v)), (422, vec!["body".to_string()]));

    // Assessments and points: field by field too.
    let (status, v) = app
        .api(Method::POST, "/api/v1/certification/assessments", &manager, Some(json!({"year": 1990, "scheme": "x"})))
        .await;
    assert_eq!(status, 422);
    assert_eq!(fields(&v), ["scheme", "year"]);
    let body = json!({"version": 0, "points": {"complaints": 15, "unknown": 1}});
    let (status, v) = app.api(Method::PUT, "/api/v1/certification/points/gbt27922-2011", &manager, Some(body)).await;
    assert_eq!((status, fields(&v)), (422, vec!["points.unknown".to_string()]));
    let body = json!({"version": 0, "points": {"complaints": 15}});
    let (status, v) = app.api(Method::PUT, "/api/v1/certification/points/gbt27922-2011", &manager, Some(body)).await;
    assert_eq!((status, fields(&v)), (422, vec!["points.customer_service".to_string()]), "13 + 12 must stay 25");
}

async fn create(app: &TestApp, token: &str, year: i32, scheme: &str) -> (u16, Value) {
    app.api(Method::POST, "/api/v1/certification/assessments", token, Some(json!({"year": year, "scheme": scheme})))
        .await
}

fn item<'a>(d: &'a Value, code: &str) -> &'a Value {
    d["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["items"].as_array().unwrap())
        .find(|i| i["code"] == code)
        .unwrap_or_else(|| panic!("{code}: {d}"))
}

async fn a_saved_assessment_is_edited_over_its_version(app: &TestApp) {
    let manager = app.token("manager").await;
    let gm = app.token("gm").await;
    let quality = app.token("quality").await;
    let engineer = app.token("engineer").await;
    let year = today().year() - 1;
    let (_, me) = app.api(Method::GET, "/api/v1/me", &manager, None).await;
    let manager_name = me["display_name"].as_str().unwrap().to_string();

    // The company's points first: complaints weigh 15, customer relations 10.
    let (_, p) = app.api(Method::GET, "/api/v1/certification/points/gbt27922-2011", &manager, None).await;
    assert_eq!(p["version"], 0);
    let body = json!({"version": 0, "points": {"complaints": 15, "customer_relations": 10}});
    let (status, p) =
        app.api(Method::PUT, "/api/v1/certification/points/gbt27922-2011", &manager, Some(body.clone())).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["version"], 1);
    let (status, _) = app.api(Method::PUT, "/api/v1/certification/points/gbt27922-2011", &gm, Some(body.clone())).await;
    assert_eq!(status, 409, "the general manager read version 0");
    let (status, _) = app.api(Method::PUT, "/api/v1/certification/points/gbt27922-2011", &engineer, Some(body)).await;
    assert_eq!(status, 403);

    // Begun once, with those points; a retry answers the first; a second of the year is refused.
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/certification/assessments"))
        .bearer_auth(&manager)
        .header("Idempotency-Key", "cert-2025")
        .json(&json!({"year": year, "scheme": "gbt27922-2011"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let d: Value = res.json().await.unwrap();
    let id = d["assessment"]["id"].as_i64().unwrap();
    assert_eq!(item(&d, "complaints")["points"].as_f64(), Some(15.0));
    assert_eq!(item(&d, "complaints")["status"], Value::Null, "not assessed yet");
    assert!(d["outcome"].is_null());
    let again = reqwest::Client::new()
        .post(app.url("/api/v1/certification/assessments"))
        .bearer_auth(&manager)
        .header("Idempotency-Key", "cert-2025")
        .json(&json!({"year": year, "scheme": "gbt27922-2011"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let (status, v) = create(app, &gm, year, "gbt27922-2011").await;
    assert_eq!((status, fields(&v)), (422, vec!["year".to_string()]), "{v}");
    let (status, _) = create(app, &gm, year, "sbt10401-2006").await;
    assert_eq!(status, 201, "another scheme of the same year");
    let (status, _) = create(app, &engineer, year + 1, "gbt27922-2011").await;
    assert_eq!(status, 403);

    // Who reads: managers and quality; engineers do not.
    let path = format!("/api/v1/certification/assessments/{id}");
    let (status, _) = app.api(Method::GET, &path, &quality, None).await;
    assert_eq!(status, 200);
    let (status, _) = app.api(Method::GET, &path, &engineer, None).await;
    assert_eq!(status, 403);
    let (status, _) = app.api(Method::GET, "/api/v1/certification/assessments", &engineer, None).await;
    assert_eq!(status, 403);

    // First save: everything met but recycling, complaints partly; a deduction.
    let mut items: Vec<Value> = GBT.iter().map(|c| json!({"code": c, "status": "met"})).collect();
    items[12] = json!({"code": "recycling", "status": "not_met", "evidence": "未建立废旧商品回收渠道"});
    items[14] =
        json!({"code": "complaints", "status": "partial", "fraction": 0.8, "evidence": "抽查 10 件，8 件按时答复"});
    let body = json!({"version": 1, "items": items, "special_deductions": [{"reason": "三包凭证未按规定填写"}],
        "notes": "第一轮自评"});
    let (status, _) = app.api(Method::PUT, &path, &engineer, Some(body.clone())).await;
    assert_eq!(status, 403, "an engineer may not save");
    let (status, _) = app.api(Method::PUT, &path, &quality, Some(body.clone())).await;
    assert_eq!(status, 403, "quality reads, managers save");
    let (status, d) = app.api(Method::PUT, &path, &manager, Some(body.clone())).await;
    assert_eq!(status, 200, "{d}");
    // 100 − 4 − 3 = 93, − 1 = 92: four stars.
    assert_eq!(d["outcome"]["score"].as_f64(), Some(92.0), "{d}");
    assert_eq!(d["outcome"]["level"], "four_star");
    assert_eq!(d["assessment"]["version"], 2);
    assert_eq!(d["assessment"]["level"], "four_star");
    assert_eq!(item(&d, "complaints")["evidence"], "抽查 10 件，8 件按时答复");
    assert_eq!(item(&d, "complaints")["assessed_by_name"], manager_name.as_str());
    let missing: Vec<&str> =
        d["outcome"]["missing"].as_array().unwrap().iter().map(|m| m["code"].as_str().unwrap()).collect();
    assert_eq!(missing, ["recycling", "complaints"]);
    assert_eq!(d["deductions"][0]["reason"], "三包凭证未按规定填写");

    // The same body again is stale; the general manager's save over version 2 goes through.
    let (status, v) = app.api(Method::PUT, &path, &gm, Some(body)).await;
    assert_eq!(status, 409, "{v}");
    let body = json!({"version": 2, "items": [{"code": "recycling", "status": "not_applicable"}],
        "special_deductions": [], "bonus_reason": "获省级服务质量奖"});
    let (status, d) = app.api(Method::PUT, &path, &gm, Some(body)).await;
    assert_eq!(status, 200, "{d}");
    // Recycling dropped: 93 of 96 = 96.875 → 96.88, + 1 = 97.88.
    assert_eq!(d["outcome"]["score"].as_f64(), Some(97.88), "{d}");
    assert_eq!(d["outcome"]["level"], "five_star");
    assert_eq!(d["assessment"]["version"], 3);
    assert_eq!(d["assessment"]["notes"], "第一轮自评", "left out, kept");
    assert_eq!(item(&d, "complaints")["assessed_by_name"], manager_name.as_str(), "unchanged, still the manager's");
    assert_ne!(item(&d, "recycling")["assessed_by_name"], manager_name.as_str(), "changed by the general manager");
    assert!(d["deductions"].as_array().unwrap().is_empty());
    // A bad save changes nothing.
    let body = json!({"version": 3, "items": [{"code": "repair", "status": "partial"}, {"code": "x", "status": "met"}],
        "special_deductions": [{"reason": ""}], "accept_suggestions": ["culture"]});
    let (status, v) = app.api(Method::PUT, &path, &gm, Some(body)).await;
    assert_eq!(status, 422);
    assert_eq!(
        fields(&v),
        ["accept_suggestions[0]", "items[0].fraction", "items[1].code", "special_deductions[0].reason"],
        "{v}"
    );
    let (_, d) = app.api(Method::GET, &path, &quality, None).await;
    assert_eq!(d["assessment"]["version"], 3);

    // Listed, and in the audit trail.
    let (_, list) =
        app.api(Method::GET, &format!("/api/v1/certification/assessments?year={year}"), &quality, None).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (_, audit) =
        app.api(Method::GET, &format!("/api/v1/audit?entity_type=certification&entity_id={id}"), &manager, None).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["update", "update", "create"], "{audit}");

    // New points reach an assessment only when asked.
    let body = json!({"version": 1, "points": {"complaints": 13, "customer_relations": 12}});
    let (status, _) = app.api(Method::PUT, "/api/v1/certification/points/gbt27922-2011", &manager, Some(body)).await;
    assert_eq!(status, 200);
    let (_, d) = app.api(Method::PUT, &path, &manager, Some(json!({"version": 3}))).await;
    assert_eq!(item(&d, "complaints")["points"].as_f64(), Some(15.0));
    let (_, d) = app.api(Method::PUT, &path, &manager, Some(json!({"version": 4, "refresh_points": true}))).await;
    assert_eq!(item(&d, "complaints")["points"].as_f64(), Some(13.0), "{d}");
}

/// The figure "N complaints" of the complaint suggestion.
fn complaints_figure(d: &Value) -> i64 {
    let s = item(d, "complaints")["suggestion"]["evidence_en"].as_str().unwrap_or_else(|| panic!("{d}"));
    s.split(": ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap()
}

async fn suggestions_come_from_the_complaint_register(app: &TestApp) {
    let manager = app.token("manager").await;
    let dispatcher = app.token("dispatcher").await;
    let (status, d) = create(app, &manager, today().year(), "gbt27922-2011").await;
    assert_eq!(status, 201, "{d}");
    let id = d["assessment"]["id"].as_i64().unwrap();
    let before = complaints_figure(&d);
    let s = &item(&d, "customer_relations")["suggestion"];
    assert!(s.is_null() || s["evidence_zh"].as_str().unwrap().contains("满意率"), "{s}");

    let body = json!({"kind": "complaint", "severity": "major", "channel": "hotline", "subject": "维修后再次漏水",
        "contact_phone": "13912345678", "description": "客户来电投诉：维修后第二天再次漏水。"});
    let (status, v) = app.api(Method::POST, "/api/v1/complaints", &dispatcher, Some(body)).await;
    assert_eq!(status, 201, "{v}");

    let path = format!("/api/v1/certification/assessments/{id}");
    let (_, d) = app.api(Method::GET, &path, &manager, None).await;
    assert_eq!(complaints_figure(&d), before + 1, "{d}");
    let s = &item(&d, "complaints")["suggestion"];
    assert!(s["evidence_zh"].as_str().unwrap().contains("重大投诉"), "{s}");
    assert!(s["evidence_en"].as_str().unwrap().contains("not met"), "a major complaint breaks the objective: {s}");
    assert_ne!(s["status"], "met");
    // Shown, never applied by itself.
    assert_eq!(item(&d, "complaints")["status"], Value::Null);

    // Accepted: its status and figures become the indicator's.
    let body = json!({"version": d["assessment"]["version"], "accept_suggestions": ["complaints"],
        "items": [{"code": "complaints", "evidence": "投诉登记簿"}]});
    let (status, d) = app.api(Method::PUT, &path, &manager, Some(body)).await;
    assert_eq!(status, 200, "{d}");
    let i = item(&d, "complaints");
    assert_eq!(i["status"], s["status"]);
    assert_eq!(i["fraction"], s["fraction"]);
    let evidence = i["evidence"].as_str().unwrap();
    assert!(evidence.starts_with("投诉登记簿\n") && evidence.contains("重大投诉"), "{evidence}");
    assert!(d["outcome"]["score"].as_f64().is_some());
}

async fn pages_assess_save_preview_and_print(app: &TestApp) {
    let manager = app.login("manager", aftersales::demo::DEMO_PASSWORD).await;
    let get = |c: &reqwest::Client, path: &str| {
        let c = c.clone();
        let url = app.url(path);
        async move {
            let res = c.get(url).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let (status, html) = get(&manager, "/certification").await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"nav-certification\"") && html.contains("售后服务体系认证自评"), "{html}");
    let idem = html.split("name=\"idem\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let year = (today().year() - 2).to_string();
    let form = [("idem", idem.as_str()), ("year", year.as_str()), ("scheme", "gbt27922-2011")];
    let res = manager.post(app.url("/certification")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let again = manager.post(app.url("/certification")).form(&form).send().await.unwrap();
    assert_eq!(again.headers()["location"].to_str().unwrap(), to, "a double click begins one assessment");
    let res = manager
        .post(app.url("/certification"))
        .form(&[("year", "abc"), ("scheme", "gbt27922-2011")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("年度应在 2000 到 2100 之间"));

    let (status, html) = get(&manager, &to).await;
    assert_eq!(status, 200);
    for text in [
        "售后服务体系",
        "商品服务",
        "顾客服务",
        "投诉处理",
        "废弃商品回收",
        "status-complaints",
        "cert-no-score",
        "尚有 15 项指标未评定",
    ] {
        assert!(html.contains(text), "{text}: {html}");
    }
    assert!(html.contains("id=\"suggest-complaints\""), "the complaint register's suggestion is shown");

    // Every indicator met but repair partly (0.5): 95, five stars — first previewed, then saved.
    let mut fields: Vec<(String, String)> = GBT.iter().map(|c| (format!("status.{c}"), "met".to_string())).collect();
    fields.retain(|(k, _)| k != "status.repair");
    fields.push(("status.repair".into(), "partial".into()));
    fields.push(("fraction.repair".into(), "0.5".into()));
    fields.push(("evidence.repair".into(), "抽查 20 单，10 单按时".into()));
    fields.push(("version".into(), "1".into()));
    fields.push(("deductions".into(), String::new()));
    let mut preview = fields.clone();
    preview.push(("op".into(), "preview".into()));
    let res = manager.post(app.url(&to)).form(&preview).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"cert-preview\"") && html.contains("id=\"cert-score\">95<"), "{html}");
    assert!(html.contains("data-level=\"five_star\"") && html.contains("五星"), "{html}");
    assert!(html.contains("抽查 20 单，10 单按时"), "what was typed stays");
    let (_, html) = get(&manager, &to).await;
    assert!(html.contains("cert-no-score"), "a preview saves nothing");

    let mut bad = fields.clone();
    bad.retain(|(k, _)| k != "fraction.repair");
    bad.push(("op".into(), "save".into()));
    let res = manager.post(app.url(&to)).form(&bad).send().await.unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("部分符合须给出符合比例"));
    let mut save = fields.clone();
    save.push(("op".into(), "save".into()));
    save.retain(|(k, _)| k != "deductions");
    save.push(("deductions".into(), "未按规定公示服务承诺\n\n".into()));
    let res = manager.post(app.url(&to)).form(&save).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let (_, html) = get(&manager, &to).await;
    assert!(html.contains("id=\"cert-score\">94<") && html.contains("四星"), "one deduction: {html}");
    assert!(html.contains("cert-missing") && html.contains("−5"), "repair lost 5: {html}");
    let res = manager.post(app.url(&to)).form(&save).send().await.unwrap();
    assert_eq!(res.status(), 422, "the page read version 1");
    assert!(res.text().await.unwrap().contains("该记录已被他人修改"));

    // Printable, and in English.
    let (status, html) = get(&manager, &format!("{to}/print")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("body class=\"print\"") && html.contains("cert-report") && html.contains("未按规定公示服务承诺")
    );
    let res = manager.post(app.url("/lang")).form(&[("locale", "en"), ("next", "/")]).send().await.unwrap();
    assert!(res.status().is_redirection());
    let (_, html) = get(&manager, &to).await;
    assert!(html.contains("complaint handling") && html.contains("four stars"), "{html}");
    let (status, html) = get(&manager, "/certification/points").await;
    assert_eq!(status, 200);
    assert!(html.contains("points-complaints") && html.contains("Points per indicator"));

    // Engineers have no link and no access.
    let engineer = app.login("engineer", aftersales::demo::DEMO_PASSWORD).await;
    let (_, home) = get(&engineer, "/").await;
    assert!(!home.contains("nav-certification"));
    let (status, _) = get(&engineer, "/certification").await;
    assert_eq!(status, 403);
}
