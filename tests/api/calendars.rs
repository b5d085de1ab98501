//! Working-time calendars as their users meet them: the due/working-minutes contract, edits as
//! versions, the import of a holiday notice and the calendar page — on both databases.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::TestApp;

both!(
    due_and_working_minutes_follow_the_contract,
    managers_edit_and_import_a_notice_as_versions,
    calendar_page_calculates_and_keeps_bad_input,
);

fn due_path(code: &str, from: &str, minutes: &str, mode: &str) -> String {
    format!("/api/v1/calendars/{code}/due?from={}&minutes={minutes}&mode={mode}", from.replace('+', "%2B"))
}

async fn due_and_working_minutes_follow_the_contract(app: &TestApp) {
    let token = app.token("engineer").await;
    // The example: Saturday 14 Feb 2026 is a make-up working day; the Spring Festival
    // holiday runs 15–23 Feb; two working hours from 17:00 end on the 24th at 10:00.
    let (status, v) = app
        .api(Method::GET, &due_path("cn-standard", "2026-02-14T17:00:00+08:00", "120", "working"), &token, None)
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["due"], "2026-02-24T10:00:00+08:00");
    assert_eq!(v["version"], 0, "the built-in as shipped");
    let (_, v) = app
        .api(Method::GET, &due_path("cn-standard", "2026-02-14T17:00:00+08:00", "120", "elapsed"), &token, None)
        .await;
    assert_eq!(v["due"], "2026-02-14T19:00:00+08:00");
    // A clock that completes exactly at the end of a working period is due at that end; an
    // instant in UTC is answered in the calendar's zone; lunch does not count.
    let (_, v) =
        app.api(Method::GET, &due_path("cn-standard", "2026-03-02T09:00:00Z", "60", "working"), &token, None).await;
    assert_eq!(v["due"], "2026-03-02T18:00:00+08:00");
    let (_, v) =
        app.api(Method::GET, &due_path("cn-standard", "2026-03-02T11:30:00+08:00", "60", ""), &token, None).await;
    assert_eq!(v["due"], "2026-03-02T13:30:00+08:00", "working is the default mode");
    let (_, v) = app
        .api(
            Method::GET,
            "/api/v1/calendars/cn-standard/working-minutes?from=2026-02-14T17:00:00%2B08:00&to=2026-02-24T10:00:00%2B08:00",
            &token,
            None,
        )
        .await;
    assert_eq!(v["minutes"], 120, "{v}");

    // Bad parameters: 422 naming each one.
    let (status, v) = app.api(Method::GET, &due_path("cn-standard", "yesterday", "-5", "fast"), &token, None).await;
    assert_eq!(status, 422);
    for field in ["from", "minutes", "mode"] {
        assert!(v["error"]["fields"][field][0].is_string(), "{field}: {v}");
    }
    let (status, v) = app.api(Method::GET, "/api/v1/calendars/cn-standard/due?minutes=10", &token, None).await;
    assert_eq!((status, v["error"]["fields"]["from"][0].is_string()), (422, true), "{v}");
    let (status, v) = app
        .api(
            Method::GET,
            "/api/v1/calendars/cn-standard/working-minutes?from=2026-02-24T10:00:00%2B08:00&to=2026-02-14T17:00:00%2B08:00",
            &token,
            None,
        )
        .await;
    assert_eq!((status, v["error"]["fields"]["to"][0].is_string()), (422, true), "{v}");
    let (status, _) =
        app.api(Method::GET, &due_path("no-such-calendar", "2026-02-14T17:00:00+08:00", "1", ""), &token, None).await;
    assert_eq!(status, 404);
    // Listed with their years; the OpenAPI document describes the endpoints.
    let (_, list) = app.api(Method::GET, "/api/v1/calendars", &token, None).await;
    let cn = list.as_array().unwrap().iter().find(|c| c["code"] == "cn-standard").unwrap();
    assert_eq!(cn["years"], json!([2025, 2026]), "{cn}");
    let doc: Value = app.client().get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["paths"]["/api/v1/calendars/{code}/due"]["get"].is_object());
}

async fn managers_edit_and_import_a_notice_as_versions(app: &TestApp) {
    let manager = app.token("manager").await;
    let engineer = app.token("engineer").await;
    let (status, view) = app.api(Method::GET, "/api/v1/calendars/cn-standard", &manager, None).await;
    assert_eq!(status, 200);
    assert_eq!(view["version"], 0);
    let mut cal = view["calendar"].clone();

    // Saturday work in the east: edits are versions of the same code.
    cal["week"]["sat"] = json!([{"start": "09:00", "end": "12:00"}]);
    let body = json!({"version": 0, "calendar": cal, "note": "周六上午值班"});
    assert_eq!(app.api(Method::PUT, "/api/v1/calendars/cn-standard", &engineer, Some(body.clone())).await.0, 403);
    let (status, saved) = app.api(Method::PUT, "/api/v1/calendars/cn-standard", &manager, Some(body.clone())).await;
    assert_eq!((status, saved["version"].as_i64()), (200, Some(1)), "{saved}");
    // In force at once on this instance: Saturday 7 March 2026, 09:00 + 60 working minutes.
    let (_, v) = app
        .api(Method::GET, &due_path("cn-standard", "2026-03-07T09:00:00+08:00", "60", "working"), &engineer, None)
        .await;
    assert_eq!((v["due"].as_str(), v["version"].as_i64()), (Some("2026-03-07T10:00:00+08:00"), Some(1)), "{v}");
    // Someone who started from version 0 is refused, and nothing changes.
    let (status, v) = app.api(Method::PUT, "/api/v1/calendars/cn-standard", &manager, Some(body)).await;
    assert_eq!(status, 409, "{v}");
    // Bad hours are named by their field.
    let mut bad = cal.clone();
    bad["week"]["mon"] = json!([{"start": "09:00", "end": "25:00"}]);
    let (status, v) = app
        .api(Method::PUT, "/api/v1/calendars/cn-standard", &manager, Some(json!({"version": 1, "calendar": bad})))
        .await;
    assert_eq!(status, 422);
    assert!(v["error"]["fields"]["calendar.week.mon[0].end"][0].is_string(), "{v}");

    // Next year's notice, as a date list. A bad line: nothing is saved.
    let notice = "# 2027\n2027-01-01 元旦\n2027-02-06..2027-02-12 春节\n2027-02-14 补班\n";
    let (status, v) = app
        .api(
            Method::POST,
            "/api/v1/calendars/cn-standard/import",
            &manager,
            Some(json!({"version": 1, "text": format!("{notice}2027-13-01 坏日期\n")})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(v["error"]["fields"]["text.line[5]"][0].as_str().unwrap().contains("5"), "{v}");
    let (status, v) = app
        .api(
            Method::POST,
            "/api/v1/calendars/cn-standard/import",
            &manager,
            Some(json!({"version": 1, "text": notice})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!((v["holidays"].as_i64(), v["makeup_days"].as_i64()), (Some(8), Some(1)));
    assert_eq!(v["calendar"]["version"], 2);
    // Friday 5 Feb 2027 17:00 + 300 working minutes: one hour that Friday, the holiday week
    // skipped, Saturday the 13th's three morning hours (this calendar's Saturday), then Sunday
    // the 14th, a make-up day with Monday's hours: due at 10:00 that Sunday.
    let (_, v) = app
        .api(Method::GET, &due_path("cn-standard", "2027-02-05T17:00:00+08:00", "300", "working"), &engineer, None)
        .await;
    assert_eq!(v["due"], "2027-02-14T10:00:00+08:00", "{v}");
    let (_, view) = app.api(Method::GET, "/api/v1/calendars/cn-standard", &engineer, None).await;
    let versions: Vec<i64> =
        view["history"].as_array().unwrap().iter().map(|h| h["version"].as_i64().unwrap()).collect();
    assert_eq!(versions, vec![2, 1]);
    let (_, audit) = app
        .api(Method::GET, "/api/v1/audit?entity_type=calendar&entity_id=cn-standard", &app.token("admin").await, None)
        .await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["import_dates", "new_version"]);

    // A company calendar of its own, created once however often the request is retried.
    let mut own = view["calendar"].clone();
    own["code"] = json!("south-shift");
    own["name_zh"] = json!("华南值班日历");
    let create = |key: &'static str| {
        let token = manager.clone();
        let url = app.url("/api/v1/calendars");
        let own = own.clone();
        async move {
            let res = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .header("Idempotency-Key", key)
                .json(&json!({"calendar": own}))
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.headers().contains_key("idempotent-replayed"))
        }
    };
    assert_eq!(create("cal-1").await, (201, false));
    assert_eq!(create("cal-1").await, (201, true));
    let (status, v) = app.api(Method::POST, "/api/v1/calendars", &manager, Some(json!({"calendar": own}))).await;
    assert_eq!(status, 422, "a taken code: {v}");
    assert!(v["error"]["fields"]["calendar.code"][0].is_string(), "{v}");
    let (_, list) = app.api(Method::GET, "/api/v1/calendars", &engineer, None).await;
    assert!(list.as_array().unwrap().iter().any(|c| c["code"] == "south-shift" && c["version"] == 1), "{list}");
}

async fn calendar_page_calculates_and_keeps_bad_input(app: &TestApp) {
    let c = app.login("manager", aftersales::demo::DEMO_PASSWORD).await;
    let page = c
        .get(app.url("/calendars/cn-standard?from=2026-02-14+17%3A00&minutes=120&mode=working"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"calc-due\">2026-02-24 10:00 (+08:00)"), "{page}");
    assert!(page.contains("春节") && page.contains("id=\"year-2025\""), "holidays are listed by year");
    let list = c.get(app.url("/calendars")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("cn-standard") && list.contains("id=\"calendar-new\""));

    // A bad period and a bad date line: 422, each named, what was typed kept, nothing saved.
    let form = [
        ("version", "0"),
        ("name_zh", "中国标准工作日历"),
        ("name_en", "China standard"),
        ("time_zone", "Asia/Shanghai"),
        ("week_mon", "09:00-12:00 13:00-1800"),
        ("week_tue", "09:00-18:00"),
        ("makeup_hours_of", "mon"),
        ("special_days", "2026-01-01 放假 元旦\n2026-02-30 放假"),
    ];
    let res = c.post(app.url("/calendars/cn-standard/edit")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("value=\"09:00-12:00 13:00-1800\""), "typed value kept");
    assert!(body.contains("id=\"special-days-error\">第 2 行"), "{body}");
    let mut good = form;
    good[4] = ("week_mon", "09:00-12:00 13:00-18:00");
    good[7] = ("special_days", "2026-01-01 放假 元旦\n2026-01-04 补班");
    let res = c.post(app.url("/calendars/cn-standard/edit")).form(&good).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let token = app.token("manager").await;
    let (_, view) = app.api(Method::GET, "/api/v1/calendars/cn-standard", &token, None).await;
    assert_eq!(view["version"], 1);
    assert_eq!(view["calendar"]["holidays"].as_array().unwrap().len(), 1, "{view}");
    assert_eq!(view["calendar"]["week"]["wed"], json!([]), "an empty day is a day off");
    // Engineers see the calendar but not the editor.
    let e = app.login("engineer", aftersales::demo::DEMO_PASSWORD).await;
    let page = e.get(app.url("/calendars/cn-standard")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"calculator\"") && !page.contains("id=\"calendar-edit\""));
    let res = e.post(app.url("/calendars/cn-standard/edit")).form(&good).send().await.unwrap();
    assert_eq!(res.status(), 403);
}
