//! Working-time calendars (工作日历): weekly working hours with breaks, public holidays and
//! make-up working days (调休), in an IANA time zone.
//!
//! A [`Calendar`] is plain data: it is stored as JSON, edited in a form and checked with
//! [`Calendar::validate`]. Computations run on a [`CompiledCalendar`], built once with
//! [`Calendar::compile`] and cached by the application, because the hot paths (due times for
//! every open order, the dispatch board) need integer arithmetic, not string parsing.
//!
//! Instants are `DateTime<Utc>`; the engine works at microsecond precision (PostgreSQL's), so
//! sub-microsecond parts of an input are dropped. Working hours are wall-clock times in the
//! calendar's zone, so a clock keeps following "09:00–18:00 local" across DST changes.

mod builtin;
mod engine;
mod import;
mod zone;

use std::collections::HashMap;

use chrono::{NaiveDate, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::FieldError;

pub use builtin::{ALWAYS, CN_STANDARD, builtin_calendar, builtin_calendars};
pub use engine::{CompiledCalendar, DayKind};
pub use import::{DateListEntry, DateListKind, ImportSummary, parse_date_list};

/// Zone used when a calendar does not name one.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";

/// A working-time calendar as stored and edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calendar {
    /// Stable identifier used in URLs and by SLA policies (`cn-standard`).
    pub code: String,
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
    /// IANA zone name; the working hours below are wall-clock times in it.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    pub week: WeeklyHours,
    /// Days off although the weekday would be a working day.
    #[serde(default)]
    pub holidays: Vec<SpecialDay>,
    /// Make-up working days (调休上班): working days although the weekday is not one.
    #[serde(default)]
    pub makeup_days: Vec<SpecialDay>,
    /// Whose hours a make-up day has; the State Council's notices say "上班" without hours, so
    /// an ordinary full day (Monday's) is the default.
    #[serde(default = "default_makeup_weekday", with = "weekday_code")]
    pub makeup_hours_of: Weekday,
}

/// Working intervals of each weekday; the gaps between them are breaks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyHours {
    #[serde(default)]
    pub mon: Vec<WorkInterval>,
    #[serde(default)]
    pub tue: Vec<WorkInterval>,
    #[serde(default)]
    pub wed: Vec<WorkInterval>,
    #[serde(default)]
    pub thu: Vec<WorkInterval>,
    #[serde(default)]
    pub fri: Vec<WorkInterval>,
    #[serde(default)]
    pub sat: Vec<WorkInterval>,
    #[serde(default)]
    pub sun: Vec<WorkInterval>,
}

/// One working period of a day, `start` inclusive to `end` exclusive, as `"HH:MM"` wall-clock
/// times; `end` may be `"24:00"`. Kept as text so a form can hold what the user typed and
/// validation can point at the bad field. A night shift is two intervals: `22:00–24:00` on one
/// day and `00:00–06:00` on the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkInterval {
    pub start: String,
    pub end: String,
}

/// A dated exception: a holiday or a make-up working day, optionally named (`春节`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialDay {
    pub date: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

fn default_time_zone() -> String {
    DEFAULT_TIME_ZONE.to_owned()
}

fn default_makeup_weekday() -> Weekday {
    Weekday::Mon
}

impl WorkInterval {
    pub fn new(start: &str, end: &str) -> Self {
        Self { start: start.to_owned(), end: end.to_owned() }
    }
}

impl SpecialDay {
    pub fn new(date: NaiveDate, name: Option<&str>) -> Self {
        Self { date, name: name.map(str::to_owned) }
    }
}

impl WeeklyHours {
    /// The same intervals on each of the given weekdays, nothing on the others.
    pub fn uniform(days: &[Weekday], intervals: &[WorkInterval]) -> Self {
        let mut week = Self::default();
        for &day in days {
            *week.day_mut(day) = intervals.to_vec();
        }
        week
    }

    pub fn day(&self, day: Weekday) -> &[WorkInterval] {
        match day {
            Weekday::Mon => &self.mon,
            Weekday::Tue => &self.tue,
            Weekday::Wed => &self.wed,
            Weekday::Thu => &self.thu,
            Weekday::Fri => &self.fri,
            Weekday::Sat => &self.sat,
            Weekday::Sun => &self.sun,
        }
    }

    pub fn day_mut(&mut self, day: Weekday) -> &mut Vec<WorkInterval> {
        match day {
            Weekday::Mon => &mut self.mon,
            Weekday::Tue => &mut self.tue,
            Weekday::Wed => &mut self.wed,
            Weekday::Thu => &mut self.thu,
            Weekday::Fri => &mut self.fri,
            Weekday::Sat => &mut self.sat,
            Weekday::Sun => &mut self.sun,
        }
    }
}

/// Monday-first order, matching `Weekday::num_days_from_monday`.
pub(crate) const WEEKDAYS: [Weekday; 7] =
    [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];

/// The JSON key of a weekday in [`WeeklyHours`] and in `makeup_hours_of`.
pub fn weekday_code(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

/// Serde for a weekday as the same lowercase code the week's keys use (`"mon"`).
mod weekday_code {
    use chrono::Weekday;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(day: &Weekday, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(super::weekday_code(*day))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Weekday, D::Error> {
        let text = String::deserialize(d)?;
        super::WEEKDAYS
            .into_iter()
            .find(|&w| super::weekday_code(w) == text.to_ascii_lowercase())
            .ok_or_else(|| D::Error::custom(format!("unknown weekday `{text}`, expected mon..sun")))
    }
}

/// Parses `"HH:MM"` (or `"H:MM"`) into minutes of the day; `"24:00"` only when `allow_24`.
pub(crate) fn parse_hhmm(text: &str, allow_24: bool) -> Option<u32> {
    let (h, m) = text.trim().split_once(':')?;
    let numeric = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !(1..=2).contains(&h.len()) || m.len() != 2 || !numeric(h) || !numeric(m) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) if allow_24 => Some(24 * 60),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// Codes appear in URLs and JSON keys: ASCII letters, digits, `-` and `_`, at most 64.
pub fn valid_code(code: &str) -> bool {
    !code.is_empty() && code.len() <= 64 && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Calendar {
    /// The parsed zone, if the name is a known IANA zone.
    pub fn tz(&self) -> Option<Tz> {
        self.time_zone.trim().parse().ok()
    }

    /// Every problem at once, each naming its field (`week.mon[1].end`, `holidays[3].date`).
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if !valid_code(&self.code) {
            errors.push(FieldError::new(
                "code",
                "代码须为 1–64 位字母、数字、- 或 _",
                "code must be 1–64 letters, digits, - or _",
            ));
        }
        if self.name_zh.trim().is_empty() {
            errors.push(FieldError::new("name_zh", "请填写中文名称", "Chinese name is required"));
        }
        if self.tz().is_none() {
            errors.push(FieldError::new(
                "time_zone",
                format!("未知时区“{}”，请使用 IANA 名称，如 Asia/Shanghai", self.time_zone),
                format!("unknown time zone `{}`; use an IANA name such as Asia/Shanghai", self.time_zone),
            ));
        }
        let mut any_hours = false;
        for day in WEEKDAYS {
            let intervals = self.week.day(day);
            any_hours |= !intervals.is_empty();
            validate_day(&format!("week.{}", weekday_code(day)), intervals, &mut errors);
        }
        if !any_hours {
            // An empty week would make every due time unreachable.
            errors.push(FieldError::new(
                "week",
                "每周至少需要一个工作时段",
                "the week needs at least one working period",
            ));
        }
        let mut seen: HashMap<NaiveDate, String> = HashMap::new();
        for (list, entries) in [("holidays", &self.holidays), ("makeup_days", &self.makeup_days)] {
            for (i, entry) in entries.iter().enumerate() {
                let field = format!("{list}[{i}].date");
                if let Some(first) = seen.get(&entry.date) {
                    let (zh, en) = if first.starts_with(list) {
                        ("日期重复", "date is listed twice")
                    } else {
                        (
                            "同一天不能既是节假日又是调休上班日",
                            "a date cannot be both a holiday and a make-up working day",
                        )
                    };
                    errors.push(FieldError::new(
                        field,
                        format!("{zh}：{}（另见 {first}）", entry.date),
                        format!("{en}: {} (see {first})", entry.date),
                    ));
                } else {
                    seen.insert(entry.date, field);
                }
            }
        }
        if !self.makeup_days.is_empty() && self.week.day(self.makeup_hours_of).is_empty() {
            errors.push(FieldError::new(
                "makeup_hours_of",
                "调休上班日采用的星期没有工作时段",
                "make-up working days take the hours of a weekday that has none",
            ));
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    /// Validates and builds the fast form used for all computations.
    pub fn compile(&self) -> Result<CompiledCalendar, Vec<FieldError>> {
        self.validate()?;
        Ok(CompiledCalendar::build(self))
    }

    /// The name of the holiday on `date`, or `Some("")` for an unnamed one.
    pub fn holiday_name(&self, date: NaiveDate) -> Option<&str> {
        self.holidays.iter().find(|h| h.date == date).map(|h| h.name.as_deref().unwrap_or(""))
    }
}

fn validate_day(path: &str, intervals: &[WorkInterval], errors: &mut Vec<FieldError>) {
    let mut previous: Option<(u32, u32)> = None;
    for (i, interval) in intervals.iter().enumerate() {
        let field = format!("{path}[{i}]");
        let start = parse_hhmm(&interval.start, false);
        let end = parse_hhmm(&interval.end, true);
        if start.is_none() {
            errors.push(FieldError::new(
                format!("{field}.start"),
                format!("时间“{}”无效，应为 00:00–23:59", interval.start),
                format!("bad time `{}`, expected 00:00–23:59", interval.start),
            ));
        }
        if end.is_none() {
            errors.push(FieldError::new(
                format!("{field}.end"),
                format!("时间“{}”无效，应为 00:01–24:00", interval.end),
                format!("bad time `{}`, expected 00:01–24:00", interval.end),
            ));
        }
        let (Some(start), Some(end)) = (start, end) else {
            previous = None;
            continue;
        };
        if start >= end {
            errors.push(FieldError::new(format!("{field}.end"), "结束时间须晚于开始时间", "end must be after start"));
            continue;
        }
        if let Some((prev_start, prev_end)) = previous {
            if start < prev_start {
                errors.push(FieldError::new(
                    format!("{field}.start"),
                    "时段须按时间先后排列",
                    "periods must be in time order",
                ));
            } else if start < prev_end {
                errors.push(FieldError::new(
                    format!("{field}.start"),
                    "与前一时段重叠",
                    "overlaps the previous period",
                ));
            }
        }
        previous = Some((start, end));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Calendar {
        Calendar::cn_standard()
    }

    fn fields(cal: &Calendar) -> Vec<String> {
        cal.validate().err().unwrap_or_default().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn parses_clock_times() {
        assert_eq!(parse_hhmm("09:00", false), Some(540));
        assert_eq!(parse_hhmm("9:05", false), Some(545));
        assert_eq!(parse_hhmm("23:59", false), Some(1439));
        assert_eq!(parse_hhmm("24:00", true), Some(1440));
        for bad in ["24:00", "9", "09:60", "09:5", "-1:00", "25:00", "09:000", "ab:cd", ""] {
            assert_eq!(parse_hhmm(bad, false), None, "{bad}");
        }
        assert_eq!(parse_hhmm("24:01", true), None);
    }

    #[test]
    fn builtin_calendars_are_valid() {
        for cal in builtin_calendars() {
            assert_eq!(cal.validate(), Ok(()), "{}", cal.code);
        }
    }

    #[test]
    fn rejects_bad_and_reversed_times() {
        let mut cal = base();
        cal.week.mon = vec![WorkInterval::new("9:00", "25:00"), WorkInterval::new("14:00", "13:00")];
        cal.week.tue = vec![WorkInterval::new("x", "12:00")];
        assert_eq!(fields(&cal), ["week.mon[0].end", "week.mon[1].end", "week.tue[0].start"]);
    }

    #[test]
    fn rejects_overlapping_and_unsorted_periods() {
        let mut cal = base();
        cal.week.wed = vec![WorkInterval::new("09:00", "12:00"), WorkInterval::new("11:00", "18:00")];
        cal.week.thu = vec![WorkInterval::new("13:00", "18:00"), WorkInterval::new("09:00", "12:00")];
        let errors = cal.validate().unwrap_err();
        assert_eq!(errors[0].field, "week.wed[1].start");
        assert_eq!(errors[0].message_en, "overlaps the previous period");
        assert_eq!(errors[1].field, "week.thu[1].start");
        assert_eq!(errors[1].message_en, "periods must be in time order");
    }

    #[test]
    fn touching_periods_and_midnight_end_are_fine() {
        let mut cal = base();
        cal.week.sat = vec![WorkInterval::new("00:00", "12:00"), WorkInterval::new("12:00", "24:00")];
        assert_eq!(cal.validate(), Ok(()));
    }

    #[test]
    fn rejects_a_date_both_holiday_and_makeup_day_and_duplicates() {
        let mut cal = base();
        let day = NaiveDate::from_ymd_opt(2026, 1, 4).unwrap();
        cal.holidays.push(SpecialDay::new(day, None));
        let dup = cal.holidays[0].clone();
        cal.holidays.push(dup);
        let errors = cal.validate().unwrap_err();
        let n = cal.holidays.len();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].field, format!("holidays[{}].date", n - 1));
        assert_eq!(errors[0].message_en.split(':').next(), Some("date is listed twice"));
        assert!(errors[1].field.starts_with("makeup_days["));
        assert!(errors[1].message_zh.contains("既是节假日又是调休上班日"));
    }

    #[test]
    fn rejects_unknown_zone_empty_week_bad_code_and_hourless_makeup_weekday() {
        let mut cal = base();
        cal.code = "cn standard".into();
        cal.name_zh = " ".into();
        cal.time_zone = "Asia/Beijing".into();
        cal.week = WeeklyHours::default();
        assert_eq!(fields(&cal), ["code", "name_zh", "time_zone", "week", "makeup_hours_of"]);
        let mut cal = base();
        cal.makeup_hours_of = Weekday::Sun;
        assert_eq!(fields(&cal), ["makeup_hours_of"]);
        assert!(cal.compile().is_err());
    }

    #[test]
    fn json_shape_round_trips_with_defaults() {
        let json = r#"{
            "code": "plant-2", "name_zh": "二厂",
            "week": {"mon": [{"start": "08:00", "end": "16:00"}]},
            "holidays": [{"date": "2027-01-01", "name": "元旦"}],
            "makeup_days": [{"date": "2027-01-02"}]
        }"#;
        let cal: Calendar = serde_json::from_str(json).unwrap();
        assert_eq!(cal.time_zone, "Asia/Shanghai");
        assert_eq!(cal.makeup_hours_of, Weekday::Mon);
        assert_eq!(cal.validate(), Ok(()));
        let value = serde_json::to_value(&cal).unwrap();
        assert_eq!(value["makeup_hours_of"], "mon");
        assert_eq!(value["week"]["tue"], serde_json::json!([]));
        assert_eq!(value["makeup_days"][0], serde_json::json!({"date": "2027-01-02"}));
        let back: Calendar = serde_json::from_value(value).unwrap();
        assert_eq!(back, cal);
        let bad = json.replace(r#""code""#, r#""makeup_hours_of": "someday", "code""#);
        assert!(serde_json::from_str::<Calendar>(&bad).is_err());
    }
}
