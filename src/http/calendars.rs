//! Working-time calendars: the due-time and working-minutes API that SLA clocks and other
//! systems call, the calendar list, a calendar's page (week, holidays by year, history, a due
//! calculator) and, for managers, its editor and the import of a holiday notice.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc, Weekday};
use rules::FieldError;
use rules::calendar::{Calendar, DateListKind, SpecialDay, WorkInterval, parse_date_list, weekday_code};
use serde::Serialize;
use serde_json::json;
use utoipa::{OpenApi, ToSchema};

use super::api::ApiJson;
use super::web::{FormData, FormErrors, Layout};
use super::{AppState, Ctx};
use crate::domain::Perm;
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::service::calendars::{
    self as svc, CalendarSummary, CalendarView, CreateInput, ImportInput, ImportOutcome, MAX_MINUTES, Mode, Resolved,
    SaveInput,
};

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/calendars", get(api_list).post(api_create))
        .route("/calendars/{code}", get(api_get).put(api_save))
        .route("/calendars/{code}/import", post(api_import))
        .route("/calendars/{code}/due", get(api_due))
        .route("/calendars/{code}/working-minutes", get(api_working_minutes))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/calendars", get(list_page).post(create_submit))
        .route("/calendars/{code}", get(calendar_page))
        .route("/calendars/{code}/edit", post(edit_submit))
        .route("/calendars/{code}/import", post(import_submit))
}

// ================================================================ parameters

/// An instant with its offset (`2026-02-14T17:00:00+08:00`), or a wall-clock time read in
/// the calendar's zone. A `+` sent unencoded arrives as a space; it is taken back.
fn parse_instant(r: &Resolved, name: &str, raw: Option<&String>) -> Result<DateTime<Utc>, FieldError> {
    let raw = raw.map(|s| s.trim()).filter(|s| !s.is_empty()).ok_or_else(|| field_error(name, "error.required"))?;
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Some(i) = raw.rfind(' ')
        && i > 10
        && let Ok(t) = DateTime::parse_from_rfc3339(&format!("{}+{}", &raw[..i], &raw[i + 1..]))
    {
        return Ok(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(raw, f)
            && let Some(t) = r.compiled.time_zone().from_local_datetime(&naive).earliest()
        {
            return Ok(t.with_timezone(&Utc));
        }
    }
    Err(field_error(name, "calendar.error.instant"))
}

fn parse_minutes(raw: Option<&String>) -> Result<i64, FieldError> {
    let raw =
        raw.map(|s| s.trim()).filter(|s| !s.is_empty()).ok_or_else(|| field_error("minutes", "error.required"))?;
    match raw.parse::<i64>() {
        Ok(m) if (0..=MAX_MINUTES).contains(&m) => Ok(m),
        _ => Err(field_error("minutes", "calendar.error.minutes")),
    }
}

fn parse_mode(raw: Option<&String>) -> Result<Mode, FieldError> {
    match raw.map(|s| s.trim()).unwrap_or("") {
        "" | "working" => Ok(Mode::Working),
        "elapsed" => Ok(Mode::Elapsed),
        _ => Err(field_error("mode", "calendar.error.mode")),
    }
}

fn due_of(r: &Resolved, q: &HashMap<String, String>) -> AppResult<(DateTime<Utc>, i64, Mode, DateTime<FixedOffset>)> {
    let from = parse_instant(r, "from", q.get("from"));
    let minutes = parse_minutes(q.get("minutes"));
    let mode = parse_mode(q.get("mode"));
    match (from, minutes, mode) {
        (Ok(from), Ok(minutes), Ok(mode)) => Ok((from, minutes, mode, svc::due(r, from, minutes, mode)?)),
        (from, minutes, mode) => {
            Err(AppError::Validation([from.err(), minutes.err(), mode.err()].into_iter().flatten().collect()))
        }
    }
}

fn working_minutes_of(r: &Resolved, q: &HashMap<String, String>) -> AppResult<i64> {
    let from = parse_instant(r, "from", q.get("from"));
    let to = parse_instant(r, "to", q.get("to"));
    match (from, to) {
        (Ok(from), Ok(to)) if to < from => Err(AppError::one("to", "calendar.error.to_before_from")),
        (Ok(from), Ok(to)) => Ok(r.compiled.working_minutes(from, to)),
        (from, to) => Err(AppError::Validation([from.err(), to.err()].into_iter().flatten().collect())),
    }
}

// ================================================================ API

#[derive(Serialize, ToSchema)]
struct DueOut {
    /// The earliest instant at which `minutes` have passed, in the calendar's zone.
    due: String,
    calendar: String,
    version: i64,
    mode: &'static str,
}

#[derive(Serialize, ToSchema)]
struct MinutesOut {
    /// Whole working minutes in [from, to).
    minutes: i64,
    calendar: String,
    version: i64,
}

/// When a clock of `minutes` started at `from` is due: `mode=working` (default) counts only
/// working time under the calendar, `mode=elapsed` plain minutes. 422 names a bad parameter.
#[utoipa::path(get, path = "/api/v1/calendars/{code}/due",
    params(("code" = String, Path), ("from" = String, Query, description = "RFC 3339, e.g. 2026-02-14T17:00:00+08:00"),
        ("minutes" = i64, Query), ("mode" = Option<String>, Query, description = "working | elapsed")),
    responses((status = 200, body = DueOut), (status = 404), (status = 422)), tag = "calendars")]
async fn api_due(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<axum::Json<DueOut>> {
    ctx.user()?;
    let r = svc::resolve(&st.db, &st.calendars, &code).await?;
    let (_, _, mode, due) = due_of(&r, &q)?;
    Ok(axum::Json(DueOut {
        due: due.to_rfc3339(),
        calendar: code,
        version: r.version,
        mode: if mode == Mode::Working { "working" } else { "elapsed" },
    }))
}

/// Working minutes between two instants under the calendar.
#[utoipa::path(get, path = "/api/v1/calendars/{code}/working-minutes",
    params(("code" = String, Path), ("from" = String, Query), ("to" = String, Query)),
    responses((status = 200, body = MinutesOut), (status = 404), (status = 422)), tag = "calendars")]
async fn api_working_minutes(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<axum::Json<MinutesOut>> {
    ctx.user()?;
    let r = svc::resolve(&st.db, &st.calendars, &code).await?;
    let minutes = working_minutes_of(&r, &q)?;
    Ok(axum::Json(MinutesOut { minutes, calendar: code, version: r.version }))
}

#[utoipa::path(get, path = "/api/v1/calendars", responses((status = 200, body = Vec<CalendarSummary>)), tag = "calendars")]
async fn api_list(State(st): State<AppState>, ctx: Ctx) -> AppResult<axum::Json<Vec<CalendarSummary>>> {
    ctx.user()?;
    Ok(axum::Json(svc::list(&st.db).await?))
}

#[utoipa::path(get, path = "/api/v1/calendars/{code}", params(("code" = String, Path)),
    responses((status = 200, body = CalendarView), (status = 404)), tag = "calendars")]
async fn api_get(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
) -> AppResult<axum::Json<CalendarView>> {
    ctx.user()?;
    Ok(axum::Json(svc::get(&st.db, &code).await?.0))
}

/// A new company calendar from its JSON (as `GET` shows one).
#[utoipa::path(post, path = "/api/v1/calendars", request_body = CreateInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first answer")),
    responses((status = 201, body = CalendarView), (status = 403), (status = 422)), tag = "calendars")]
async fn api_create(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<CreateInput>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    super::api::create_once(&st, &actor, &headers, "calendars.create", async |idem| {
        svc::create(&st.db, &actor, &input, idem).await
    })
    .await
}

/// Saves the next version of a calendar (built-ins too: their edits are versions 1, 2 …).
#[utoipa::path(put, path = "/api/v1/calendars/{code}", params(("code" = String, Path)), request_body = SaveInput,
    responses((status = 200, body = CalendarView), (status = 403), (status = 404), (status = 409), (status = 422)),
    tag = "calendars")]
async fn api_save(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<SaveInput>,
) -> AppResult<axum::Json<CalendarView>> {
    Ok(axum::Json(svc::save(&st.db, &st.calendars, &ctx.actor()?, &code, &input).await?))
}

/// Adds a holiday notice (a date list, e.g. next year's State Council notice) as the next version.
#[utoipa::path(post, path = "/api/v1/calendars/{code}/import", params(("code" = String, Path)), request_body = ImportInput,
    responses((status = 200, body = ImportOutcome), (status = 403), (status = 404), (status = 409), (status = 422)),
    tag = "calendars")]
async fn api_import(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<ImportInput>,
) -> AppResult<axum::Json<ImportOutcome>> {
    Ok(axum::Json(svc::import_dates(&st.db, &st.calendars, &ctx.actor()?, &code, &input).await?))
}

#[derive(OpenApi)]
#[openapi(
    paths(api_due, api_working_minutes, api_list, api_get, api_create, api_save, api_import),
    tags((name = "calendars", description = "Working-time calendars: holidays, make-up days, due times"))
)]
pub struct ApiDoc;

// ================================================================ pages

const WEEK: [Weekday; 7] =
    [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];

fn hours_text(intervals: &[WorkInterval]) -> String {
    intervals.iter().map(|i| format!("{}-{}", i.start, i.end)).collect::<Vec<_>>().join(" ")
}

/// `09:00-12:00 13:00-18:00` (commas, `–` or `~` also do) into intervals; an unreadable piece
/// is kept as typed so validation names it.
fn parse_hours(text: &str) -> Vec<WorkInterval> {
    text.split([' ', ',', '，', ';', '；'])
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let p = p.trim();
            match p.split_once(['-', '–', '~']) {
                Some((a, b)) => WorkInterval::new(a.trim(), b.trim()),
                None => WorkInterval::new(p, ""),
            }
        })
        .collect()
}

/// The special days as an editable date list (the import format), by date.
fn special_days_text(cal: &Calendar) -> String {
    let mut all: Vec<(&SpecialDay, &str)> =
        cal.holidays.iter().map(|h| (h, "放假")).chain(cal.makeup_days.iter().map(|m| (m, "补班"))).collect();
    all.sort_by_key(|(d, _)| d.date);
    all.iter()
        .map(|(d, kw)| match &d.name {
            Some(n) if !n.is_empty() => format!("{} {kw} {n}", d.date),
            _ => format!("{} {kw}", d.date),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

struct DayRow {
    date: String,
    weekday: &'static str,
    makeup: bool,
    name: String,
}

#[derive(Template)]
#[template(path = "calendars/list.html")]
struct ListPage {
    l: Layout,
    calendars: Vec<CalendarSummary>,
    can_manage: bool,
    errors: FormErrors,
    form: FormData,
}

async fn list_view(st: &AppState, ctx: &Ctx, form: FormData, errors: Vec<FieldError>) -> AppResult<ListPage> {
    ctx.user()?;
    Ok(ListPage {
        l: Layout::new(ctx, "calendar.title"),
        calendars: svc::list(&st.db).await?,
        can_manage: ctx.actor()?.can(Perm::ManageCalendars),
        errors: FormErrors::new(errors, ctx.locale),
        form,
    })
}

async fn list_page(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    Ok(super::web::render(&list_view(&st, &ctx, FormData::default(), vec![]).await?))
}

/// "New calendar": a copy of an existing one under a new code and names.
async fn create_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let form = FormData::parse(&body);
    let source = form.get("copy_from");
    let mut value = match svc::get(&st.db, &source).await {
        Ok((_, cal)) => serde_json::to_value(&cal).map_err(anyhow::Error::from)?,
        Err(AppError::NotFound) => {
            let page = list_view(&st, &ctx, form, vec![field_error("copy_from", "error.required")]).await?;
            return Ok(super::web::render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
        Err(e) => return Err(e),
    };
    value["code"] = json!(form.get("code").trim());
    value["name_zh"] = json!(form.get("name_zh").trim());
    value["name_en"] = json!(form.get("name_en").trim());
    let input = CreateInput { calendar: value, note: format!("{} {source}", ctx.t("calendar.copied_from")) };
    match svc::create(&st.db, &actor, &input, None).await {
        Ok(v) => Ok(Redirect::to(&format!("/calendars/{}?ok=created", super::urlencode(&v.code))).into_response()),
        Err(AppError::Validation(list)) => {
            let list = list.into_iter().map(|f| FieldError { field: f.field.replace("calendar.", ""), ..f }).collect();
            let page = list_view(&st, &ctx, form, list).await?;
            Ok(super::web::render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "calendars/calendar.html")]
struct CalendarPage {
    l: Layout,
    view: CalendarView,
    cal: Calendar,
    years: Vec<(i32, Vec<DayRow>)>,
    week: Vec<(&'static str, String)>,
    can_manage: bool,
    notice: String,
    /// The edit form as shown (typed values kept after an error).
    edit: FormData,
    edit_errors: FormErrors,
    import_text: String,
    import_errors: FormErrors,
    /// The due calculator: its inputs and answer.
    calc: FormData,
    calc_errors: FormErrors,
    calc_due: Option<String>,
    calc_minutes: Option<i64>,
}

impl CalendarPage {
    fn weekday_label(&self, code: &str) -> String {
        self.l.t(&format!("calendar.day_{code}"))
    }
}

fn edit_form(cal: &Calendar) -> FormData {
    let mut f = FormData::default();
    f.set("name_zh", &cal.name_zh);
    f.set("name_en", &cal.name_en);
    f.set("time_zone", &cal.time_zone);
    f.set("makeup_hours_of", weekday_code(cal.makeup_hours_of));
    for d in WEEK {
        f.set(&format!("week_{}", weekday_code(d)), &hours_text(cal.week.day(d)));
    }
    f.set("special_days", &special_days_text(cal));
    f
}

async fn calendar_view(st: &AppState, ctx: &Ctx, code: &str) -> AppResult<CalendarPage> {
    let actor = ctx.actor()?;
    let (view, cal) = svc::get(&st.db, code).await?;
    let mut years: Vec<(i32, Vec<DayRow>)> = vec![];
    let mut days: Vec<(&SpecialDay, bool)> =
        cal.holidays.iter().map(|h| (h, false)).chain(cal.makeup_days.iter().map(|m| (m, true))).collect();
    days.sort_by_key(|(d, _)| d.date);
    for (d, makeup) in days {
        let year = chrono::Datelike::year(&d.date);
        if years.last().is_none_or(|(y, _)| *y != year) {
            years.push((year, vec![]));
        }
        if let Some((_, rows)) = years.last_mut() {
            rows.push(DayRow {
                date: d.date.to_string(),
                weekday: weekday_code(chrono::Datelike::weekday(&d.date)),
                makeup,
                name: d.name.clone().unwrap_or_default(),
            });
        }
    }
    years.reverse();
    let week = WEEK.iter().map(|d| (weekday_code(*d), hours_text(cal.week.day(*d)))).collect();
    Ok(CalendarPage {
        l: Layout::new(ctx, "calendar.title"),
        edit: edit_form(&cal),
        view,
        cal,
        years,
        week,
        can_manage: actor.can(Perm::ManageCalendars),
        notice: String::new(),
        edit_errors: FormErrors::default(),
        import_text: String::new(),
        import_errors: FormErrors::default(),
        calc: FormData::default(),
        calc_errors: FormErrors::default(),
        calc_due: None,
        calc_minutes: None,
    })
}

async fn calendar_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let mut page = calendar_view(&st, &ctx, &code).await?;
    page.notice = match q.get("ok").map(String::as_str) {
        Some("created") => ctx.t("notice.created"),
        Some("saved") => ctx.t("notice.saved"),
        Some("imported") => ctx.t("calendar.imported"),
        _ => String::new(),
    };
    // The calculator submits by GET, so its answer can be bookmarked and shared.
    if q.contains_key("from") {
        let r = svc::resolve(&st.db, &st.calendars, &code).await?;
        for k in ["from", "minutes", "mode", "to"] {
            page.calc.set(k, q.get(k).map(String::as_str).unwrap_or(""));
        }
        let mut errors = vec![];
        match due_of(&r, &q) {
            Ok((_, _, _, due)) => page.calc_due = Some(due.format("%Y-%m-%d %H:%M (%:z)").to_string()),
            Err(AppError::Validation(list)) => errors.extend(list),
            Err(e) => return Err(e),
        }
        if q.get("to").is_some_and(|t| !t.trim().is_empty()) {
            match working_minutes_of(&r, &q) {
                Ok(m) => page.calc_minutes = Some(m),
                Err(AppError::Validation(list)) => errors.extend(list.into_iter().filter(|f| f.field != "from")),
                Err(e) => return Err(e),
            }
        }
        page.calc_errors = FormErrors::new(errors, ctx.locale);
    }
    Ok(super::web::render(&page))
}

/// The editor's fields into a calendar; a bad line of the date list is named by its number.
fn calendar_from_form(code: &str, f: &FormData) -> Result<Calendar, Vec<FieldError>> {
    let mut cal = Calendar {
        code: code.to_owned(),
        name_zh: f.get("name_zh").trim().to_owned(),
        name_en: f.get("name_en").trim().to_owned(),
        time_zone: f.get("time_zone").trim().to_owned(),
        week: Default::default(),
        holidays: vec![],
        makeup_days: vec![],
        makeup_hours_of: WEEK
            .into_iter()
            .find(|d| weekday_code(*d) == f.get("makeup_hours_of"))
            .unwrap_or(Weekday::Mon),
    };
    for d in WEEK {
        *cal.week.day_mut(d) = parse_hours(&f.get(&format!("week_{}", weekday_code(d))));
    }
    let entries = parse_date_list(&f.get("special_days")).map_err(|list| {
        list.into_iter().map(|e| FieldError { field: "special_days".into(), ..e }).collect::<Vec<_>>()
    })?;
    for e in entries {
        let day = SpecialDay { date: e.date, name: e.name };
        match e.kind {
            DateListKind::Holiday => cal.holidays.push(day),
            DateListKind::MakeupDay => cal.makeup_days.push(day),
        }
    }
    cal.validate().map(|_| cal).map_err(|list| {
        // Form fields: week.mon[0].end → week_mon; holidays[3].date → special_days.
        list.into_iter()
            .map(|e| {
                let field = if let Some(rest) = e.field.strip_prefix("week.") {
                    format!("week_{}", &rest[..rest.find('[').unwrap_or(rest.len())])
                } else if e.field.starts_with("holidays") || e.field.starts_with("makeup_days") {
                    "special_days".to_owned()
                } else {
                    e.field.clone()
                };
                FieldError { field, ..e }
            })
            .collect()
    })
}

async fn edit_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    actor.require(Perm::ManageCalendars)?;
    let form = FormData::parse(&body);
    let version: i64 = form.get("version").parse().unwrap_or(-1);
    let result = match calendar_from_form(&code, &form) {
        Ok(cal) => {
            let input = SaveInput {
                version,
                calendar: serde_json::to_value(&cal).map_err(anyhow::Error::from)?,
                note: form.get("note"),
            };
            svc::save(&st.db, &st.calendars, &actor, &code, &input).await.map(|_| ())
        }
        Err(list) => Err(AppError::Validation(list)),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/calendars/{}?ok=saved", super::urlencode(&code))).into_response()),
        Err(e @ (AppError::Validation(_) | AppError::Conflict(_))) => {
            let mut page = calendar_view(&st, &ctx, &code).await?;
            let status = e.status();
            let list = match e {
                AppError::Validation(list) => list,
                other => vec![field_error("version", other.message_key())],
            };
            page.edit = form;
            page.edit.set("version", &page.view.version.to_string());
            page.edit_errors = FormErrors::new(list, ctx.locale);
            Ok(super::web::render_status(status, &page))
        }
        Err(e) => Err(e),
    }
}

async fn import_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let form = FormData::parse(&body);
    let input = ImportInput { version: form.get("version").parse().unwrap_or(-1), text: form.get("text") };
    match svc::import_dates(&st.db, &st.calendars, &actor, &code, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/calendars/{}?ok=imported", super::urlencode(&code))).into_response()),
        Err(e @ (AppError::Validation(_) | AppError::Conflict(_))) => {
            let mut page = calendar_view(&st, &ctx, &code).await?;
            let status = e.status();
            let list = match e {
                AppError::Validation(list) => {
                    list.into_iter().map(|f| FieldError { field: "text".into(), ..f }).collect()
                }
                other => vec![field_error("text", other.message_key())],
            };
            page.import_text = input.text;
            page.import_errors = FormErrors::new(list, ctx.locale);
            Ok(super::web::render_status(status, &page))
        }
        Err(e) => Err(e),
    }
}
