//! Working-time calendars (R4): the built-ins (`cn-standard`, `always`) ship with the program
//! as version 0; administrators and managers edit them or create their own, and every save
//! inserts the next version. Due times and working minutes are answered from a compiled form
//! kept per instance for a few seconds.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, Utc};
use rules::FieldError;
use rules::calendar::{Calendar, CompiledCalendar, ImportSummary, builtin_calendar, builtin_calendars};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Actor, Idem, audit};
use crate::db::Db;
use crate::domain::Perm;
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::store;
use crate::store::calendars::CalendarVersion;

/// How long an instance answers from a calendar it compiled; a save on this instance drops it
/// at once, another instance may use the previous version for up to this long.
const CACHE_TTL: Duration = Duration::from_secs(5);
const NOTE_MAX: usize = 500;
/// Clocks longer than ten years of working time are a typing error, not a promise.
pub const MAX_MINUTES: i64 = 10 * 366 * 24 * 60;

/// A calendar in force: its definition, version and compiled form.
pub struct Resolved {
    pub calendar: Calendar,
    pub version: i64,
    pub compiled: CompiledCalendar,
}

#[derive(Default)]
pub struct CalendarCache {
    map: RwLock<HashMap<String, (Arc<Resolved>, Instant)>>,
}

impl CalendarCache {
    pub fn new() -> CalendarCache {
        CalendarCache::default()
    }

    fn get(&self, code: &str) -> Option<Arc<Resolved>> {
        let map = self.map.read().ok()?;
        let (r, at) = map.get(code)?;
        (at.elapsed() < CACHE_TTL).then(|| r.clone())
    }

    fn put(&self, code: &str, r: Arc<Resolved>) {
        if let Ok(mut m) = self.map.write() {
            m.insert(code.to_owned(), (r, Instant::now()));
        }
    }

    pub fn invalidate(&self, code: &str) {
        if let Ok(mut m) = self.map.write() {
            m.remove(code);
        }
    }
}

fn from_stored(v: &CalendarVersion) -> AppResult<Calendar> {
    serde_json::from_str(&v.calendar_json).map_err(|e| AppError::Internal(e.into()))
}

/// The latest definition of `code` (stored, else built-in) and its version, read now.
async fn latest(db: &Db, code: &str) -> AppResult<Option<(Calendar, i64)>> {
    let mut c = db.read().await?;
    if let Some(v) = store::calendars::latest(c.conn(), code).await? {
        return Ok(Some((from_stored(&v)?, v.version)));
    }
    Ok(builtin_calendar(code).map(|cal| (cal, 0)))
}

/// The calendar in force for `code`, compiled; 404 when there is none.
pub async fn resolve(db: &Db, cache: &CalendarCache, code: &str) -> AppResult<Arc<Resolved>> {
    if let Some(r) = cache.get(code) {
        return Ok(r);
    }
    let (calendar, version) = latest(db, code).await?.ok_or(AppError::NotFound)?;
    let compiled =
        calendar.compile().map_err(|e| AppError::Internal(anyhow::anyhow!("stored calendar {code}: {e:?}")))?;
    let r = Arc::new(Resolved { calendar, version, compiled });
    cache.put(code, r.clone());
    Ok(r)
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CalendarSummary {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub time_zone: String,
    /// 0: the built-in as shipped.
    pub version: i64,
    /// Ships with the program (edits are stored as versions of the same code).
    pub builtin: bool,
    pub holidays: usize,
    pub makeup_days: usize,
    /// Years that have holidays listed (a year missing here has only weekly hours).
    pub years: Vec<i32>,
}

fn summary(cal: &Calendar, version: i64) -> CalendarSummary {
    let mut years: Vec<i32> = cal.holidays.iter().map(|h| chrono::Datelike::year(&h.date)).collect();
    years.sort_unstable();
    years.dedup();
    CalendarSummary {
        code: cal.code.clone(),
        name_zh: cal.name_zh.clone(),
        name_en: cal.name_en.clone(),
        time_zone: cal.time_zone.clone(),
        version,
        builtin: builtin_calendar(&cal.code).is_some(),
        holidays: cal.holidays.len(),
        makeup_days: cal.makeup_days.len(),
        years,
    }
}

/// Every calendar: the built-ins (or their latest edit) and the company's own.
pub async fn list(db: &Db) -> AppResult<Vec<CalendarSummary>> {
    let stored = {
        let mut c = db.read().await?;
        store::calendars::list_latest(c.conn()).await?
    };
    let mut out: Vec<CalendarSummary> = builtin_calendars()
        .into_iter()
        .filter(|b| !stored.iter().any(|s| s.code == b.code))
        .map(|b| summary(&b, 0))
        .collect();
    for s in &stored {
        out.push(summary(&from_stored(s)?, s.version));
    }
    out.sort_by(|a, b| (!a.builtin, &a.code).cmp(&(!b.builtin, &b.code)));
    Ok(out)
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct VersionInfo {
    pub version: i64,
    pub note: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CalendarView {
    pub code: String,
    pub version: i64,
    pub builtin: bool,
    /// The calendar (`code`, `name_zh`, `name_en`, `time_zone`, `week`, `holidays`,
    /// `makeup_days`, `makeup_hours_of`): send it back, changed, to save the next version.
    #[schema(value_type = Object)]
    pub calendar: Value,
    /// Stored versions, newest first (empty for a built-in never edited).
    pub history: Vec<VersionInfo>,
}

pub async fn get(db: &Db, code: &str) -> AppResult<(CalendarView, Calendar)> {
    let versions = {
        let mut c = db.read().await?;
        store::calendars::versions(c.conn(), code).await?
    };
    let (calendar, version) = match versions.first() {
        Some(v) => (from_stored(v)?, v.version),
        None => (builtin_calendar(code).ok_or(AppError::NotFound)?, 0),
    };
    let view = CalendarView {
        code: code.to_owned(),
        version,
        builtin: builtin_calendar(code).is_some(),
        calendar: serde_json::to_value(&calendar).map_err(anyhow::Error::from)?,
        history: versions
            .iter()
            .map(|v| VersionInfo {
                version: v.version,
                note: v.note.clone(),
                created_by: v.created_by_label.clone(),
                created_at: v.created_at,
            })
            .collect(),
    };
    Ok((view, calendar))
}

/// Reads a calendar from JSON with every problem named by its path under `calendar.`; the
/// code is the one of the URL when given.
pub fn parse_calendar(value: &Value, code: Option<&str>) -> Result<Calendar, Vec<FieldError>> {
    let Some(obj) = value.as_object() else {
        return Err(vec![field_error("calendar", "calendar.error.object")]);
    };
    let mut obj = obj.clone();
    if let Some(code) = code {
        match obj.get("code") {
            Some(Value::String(c)) if c != code => {
                return Err(vec![field_error("calendar.code", "calendar.error.code_mismatch")]);
            }
            _ => {
                obj.insert("code".into(), Value::String(code.to_owned()));
            }
        }
    }
    let cal: Calendar = serde_path_to_error::deserialize(Value::Object(obj)).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "calendar".to_owned() } else { format!("calendar.{path}") };
        let inner = e.into_inner().to_string();
        vec![FieldError::new(field, format!("格式不正确：{inner}"), format!("not valid: {inner}"))]
    })?;
    cal.validate().map_err(|list| {
        list.into_iter().map(|f| FieldError { field: format!("calendar.{}", f.field), ..f }).collect::<Vec<_>>()
    })?;
    Ok(cal)
}

fn check_note(note: &str, errors: &mut Vec<FieldError>) -> String {
    let note = note.trim();
    if note.chars().count() > NOTE_MAX {
        errors.push(field_error("note", "error.too_long"));
    }
    note.to_owned()
}

/// The calendar and the note of a save, with every problem of both at once.
fn parse_input(value: &Value, code: Option<&str>, note: &str) -> AppResult<(Calendar, String)> {
    let mut errors = vec![];
    let note = check_note(note, &mut errors);
    match parse_calendar(value, code) {
        Ok(cal) => AppError::check(errors).map(|_| (cal, note)),
        Err(list) => {
            errors.extend(list);
            Err(AppError::Validation(errors))
        }
    }
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct SaveInput {
    /// The version the edit started from (0 for a built-in never edited); 409 when another
    /// version was saved meanwhile.
    pub version: i64,
    #[schema(value_type = Object)]
    pub calendar: Value,
    #[serde(default)]
    pub note: String,
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateInput {
    #[schema(value_type = Object)]
    pub calendar: Value,
    #[serde(default)]
    pub note: String,
}

#[derive(Serialize)]
struct Snapshot<'a> {
    version: i64,
    note: &'a str,
    calendar: &'a Calendar,
}

/// Inserts `version` of `cal` (after checking `expected` is still the latest) and audits it.
async fn insert_version(
    db: &Db,
    actor: &Actor,
    cal: &Calendar,
    expected: Option<i64>,
    note: &str,
    action: &str,
    idem: Option<&Idem<'_>>,
) -> AppResult<CalendarView> {
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let stored = store::calendars::latest(tx.conn(), &cal.code).await?;
    let before: Option<(Calendar, i64)> = match &stored {
        Some(v) => Some((from_stored(v)?, v.version)),
        None => builtin_calendar(&cal.code).map(|b| (b, 0)),
    };
    let version = match (expected, &before) {
        (None, Some(_)) => return Err(AppError::one("calendar.code", "calendar.error.code_taken")),
        (None, None) => 1,
        (Some(_), None) => return Err(AppError::NotFound),
        (Some(e), Some((_, v))) if e != *v => return Err(AppError::Conflict("error.stale")),
        (Some(_), Some((_, v))) => v + 1,
    };
    let row = CalendarVersion {
        code: cal.code.clone(),
        version,
        calendar_json: serde_json::to_string(cal).map_err(anyhow::Error::from)?,
        name_zh: cal.name_zh.clone(),
        name_en: cal.name_en.clone(),
        note: note.to_owned(),
        created_by: actor.user_id,
        created_by_label: actor.label.clone(),
        created_at: now,
    };
    store::calendars::insert(tx.conn(), &row).await.map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => AppError::Conflict("error.stale"),
        _ => e.into(),
    })?;
    let before_snap = before.as_ref().map(|(c, v)| Snapshot { version: *v, note: "", calendar: c });
    let after_snap = Snapshot { version, note, calendar: cal };
    audit::record(&mut tx, actor, now, action, "calendar", &cal.code, before_snap.as_ref(), Some(&after_snap)).await?;
    let view = CalendarView {
        code: cal.code.clone(),
        version,
        builtin: builtin_calendar(&cal.code).is_some(),
        calendar: serde_json::to_value(cal).map_err(anyhow::Error::from)?,
        history: vec![],
    };
    if let Some(idem) = idem {
        super::remember(&mut tx, actor, idem, 201, &view).await?;
    }
    tx.commit().await?;
    Ok(view)
}

/// A new company calendar.
pub async fn create(db: &Db, actor: &Actor, input: &CreateInput, idem: Option<&Idem<'_>>) -> AppResult<CalendarView> {
    actor.require(Perm::ManageCalendars)?;
    let (cal, note) = parse_input(&input.calendar, None, &input.note)?;
    insert_version(db, actor, &cal, None, &note, "create", idem).await
}

/// Saves the next version of `code` (a built-in's first edit is version 1).
pub async fn save(
    db: &Db,
    cache: &CalendarCache,
    actor: &Actor,
    code: &str,
    input: &SaveInput,
) -> AppResult<CalendarView> {
    actor.require(Perm::ManageCalendars)?;
    let (cal, note) = parse_input(&input.calendar, Some(code), &input.note)?;
    let view = insert_version(db, actor, &cal, Some(input.version), &note, "new_version", None).await?;
    cache.invalidate(code);
    Ok(view)
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct ImportInput {
    /// The version the list is added to; 409 when another version was saved meanwhile.
    pub version: i64,
    /// One date or range a line: `2027-01-01 元旦`, `2027-02-06..2027-02-12 春节`,
    /// `2027-02-20 补班` (or `workday`) for a make-up working day; `#` starts a comment.
    pub text: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ImportOutcome {
    pub holidays: usize,
    pub makeup_days: usize,
    /// Dates that were already in the calendar and were replaced by the list's entry.
    pub replaced: usize,
    pub calendar: CalendarView,
}

/// Adds a holiday notice (a date list) to `code` as its next version. All or nothing: any bad
/// line is reported by its number and nothing is saved.
pub async fn import_dates(
    db: &Db,
    cache: &CalendarCache,
    actor: &Actor,
    code: &str,
    input: &ImportInput,
) -> AppResult<ImportOutcome> {
    actor.require(Perm::ManageCalendars)?;
    let (mut cal, _) = latest(db, code).await?.ok_or(AppError::NotFound)?;
    let s: ImportSummary = cal.import_date_list(&input.text).map_err(|list| {
        AppError::Validation(list.into_iter().map(|f| FieldError { field: format!("text.{}", f.field), ..f }).collect())
    })?;
    cal.validate().map_err(AppError::Validation)?;
    let note = format!("+{} / +{} ({})", s.holidays, s.makeup_days, crate::i18n::tr("zh-CN", "calendar.imported_note"));
    let view = insert_version(db, actor, &cal, Some(input.version), &note, "import_dates", None).await?;
    cache.invalidate(code);
    Ok(ImportOutcome { holidays: s.holidays, makeup_days: s.makeup_days, replaced: s.replaced, calendar: view })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Working,
    Elapsed,
}

/// An instant as the calendar's zone shows it (`2026-02-24T10:00:00+08:00`).
pub fn local(r: &Resolved, at: DateTime<Utc>) -> DateTime<FixedOffset> {
    at.with_timezone(&r.compiled.time_zone()).fixed_offset()
}

/// When a clock of `minutes` started at `from` is due under this calendar.
pub fn due(r: &Resolved, from: DateTime<Utc>, minutes: i64, mode: Mode) -> AppResult<DateTime<FixedOffset>> {
    let due = match mode {
        Mode::Working => r.compiled.due(from, minutes),
        Mode::Elapsed => from.checked_add_signed(chrono::TimeDelta::minutes(minutes)),
    };
    due.map(|d| local(r, d)).ok_or_else(|| AppError::one("minutes", "calendar.error.unreachable"))
}
