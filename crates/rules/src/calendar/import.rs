//! Import of a year's holiday notice as a plain date list, one date (or range) per line:
//!
//! ```text
//! # 2027 notice
//! 2027-01-01 元旦
//! 2027-02-06..2027-02-12 春节        (also `~`; both ends included)
//! 2027-02-14 补班                    (make-up working day; also workday / 上班 / makeup)
//! 2027-02-20 workday 春节调休上班     (a name may follow the keyword)
//! 2027-05-01 holiday 劳动节          (explicit holiday keyword; also 休 / 放假)
//! ```
//!
//! Blank lines and lines starting with `#` are skipped; the date may be followed by a space,
//! tab or comma (spreadsheet exports). Errors name the 1-based line as `line[N]`, and nothing
//! is imported unless every line is good.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::{Calendar, SpecialDay};
use crate::FieldError;

const MAKEUP_WORDS: &[&str] = &["workday", "work", "makeup", "make-up", "补班", "上班", "调休上班", "班"];
const HOLIDAY_WORDS: &[&str] = &["holiday", "off", "休", "假", "休息", "放假"];
/// The longest national holiday block is 9 days; a longer range is most likely a typo.
const MAX_RANGE_DAYS: i64 = 31;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DateListKind {
    Holiday,
    MakeupDay,
}

/// One date of an imported list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DateListEntry {
    pub date: NaiveDate,
    pub kind: DateListKind,
    pub name: Option<String>,
    /// 1-based line it came from.
    pub line: usize,
}

/// What an import changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub holidays: usize,
    pub makeup_days: usize,
    /// Dates that were already in the calendar and now follow the list.
    pub replaced: usize,
}

fn line_error(line: usize, zh: impl std::fmt::Display, en: impl std::fmt::Display) -> FieldError {
    FieldError::new(format!("line[{line}]"), format!("第 {line} 行：{zh}"), format!("line {line}: {en}"))
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// Parses a date list; every bad line is reported.
pub fn parse_date_list(text: &str) -> Result<Vec<DateListEntry>, Vec<FieldError>> {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<NaiveDate, usize> = HashMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim().trim_start_matches('\u{feff}');
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let split = trimmed.find(|c: char| c.is_whitespace() || c == ',' || c == '，').unwrap_or(trimmed.len());
        let (dates, rest) = trimmed.split_at(split);
        let rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',' || c == '，');
        let (first, last) = match dates.split_once("..").or_else(|| dates.split_once('~')) {
            Some((a, b)) => (parse_date(a), parse_date(b)),
            None => (parse_date(dates), parse_date(dates)),
        };
        let (Some(first), Some(last)) = (first, last) else {
            errors.push(line_error(
                line,
                format!("日期“{dates}”无效，应为 YYYY-MM-DD 或 YYYY-MM-DD..YYYY-MM-DD"),
                format!("bad date `{dates}`, expected YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD"),
            ));
            continue;
        };
        let span = (last - first).num_days();
        if !(0..MAX_RANGE_DAYS).contains(&span) {
            errors.push(line_error(
                line,
                format!("日期范围须从早到晚且不超过 {MAX_RANGE_DAYS} 天"),
                format!("a range must run forwards and span at most {MAX_RANGE_DAYS} days"),
            ));
            continue;
        }
        let (keyword, after_keyword) =
            rest.split_once(|c: char| c.is_whitespace() || c == ',' || c == '，').unwrap_or((rest, ""));
        let keyword = keyword.to_lowercase();
        let (kind, name) = if MAKEUP_WORDS.contains(&keyword.as_str()) {
            (DateListKind::MakeupDay, after_keyword.trim())
        } else if HOLIDAY_WORDS.contains(&keyword.as_str()) {
            (DateListKind::Holiday, after_keyword.trim())
        } else {
            (DateListKind::Holiday, rest.trim())
        };
        let name = (!name.is_empty()).then(|| name.to_owned());
        for date in first.iter_days().take_while(|d| *d <= last) {
            if let Some(earlier) = seen.insert(date, line) {
                errors.push(line_error(
                    line,
                    format!("{date} 已在第 {earlier} 行出现"),
                    format!("{date} is already listed on line {earlier}"),
                ));
                continue;
            }
            entries.push(DateListEntry { date, kind, name: name.clone(), line });
        }
    }
    if errors.is_empty() { Ok(entries) } else { Err(errors) }
}

impl Calendar {
    /// Adds the dates of a list (see the module docs) as holidays and make-up days. A date
    /// already in the calendar, of either kind, is replaced by the list's entry. All or
    /// nothing: on any error the calendar is unchanged.
    pub fn import_date_list(&mut self, text: &str) -> Result<ImportSummary, Vec<FieldError>> {
        let entries = parse_date_list(text)?;
        let mut summary = ImportSummary::default();
        for entry in entries {
            let before = self.holidays.len() + self.makeup_days.len();
            self.holidays.retain(|h| h.date != entry.date);
            self.makeup_days.retain(|m| m.date != entry.date);
            summary.replaced += before - self.holidays.len() - self.makeup_days.len();
            let day = SpecialDay { date: entry.date, name: entry.name };
            match entry.kind {
                DateListKind::Holiday => {
                    summary.holidays += 1;
                    self.holidays.push(day);
                }
                DateListKind::MakeupDay => {
                    summary.makeup_days += 1;
                    self.makeup_days.push(day);
                }
            }
        }
        self.holidays.sort_by_key(|h| h.date);
        self.makeup_days.sort_by_key(|m| m.date);
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn parses_names_keywords_ranges_and_separators() {
        let text = "\u{feff}# 2027\n\n2027-01-01 元旦\n2027-02-06..2027-02-08 春节\n\
                    2027-02-14 补班\n2027-02-20,workday,春节调休上班\n2027-05-01\tholiday 劳动节\n\
                    2027-05-02~2027-05-03\n2027-05-08 WORKDAY\n";
        let entries = parse_date_list(text).unwrap();
        let view: Vec<_> = entries.iter().map(|e| (e.date, e.kind, e.name.as_deref(), e.line)).collect();
        use DateListKind::*;
        assert_eq!(
            view,
            [
                (d(2027, 1, 1), Holiday, Some("元旦"), 3),
                (d(2027, 2, 6), Holiday, Some("春节"), 4),
                (d(2027, 2, 7), Holiday, Some("春节"), 4),
                (d(2027, 2, 8), Holiday, Some("春节"), 4),
                (d(2027, 2, 14), MakeupDay, None, 5),
                (d(2027, 2, 20), MakeupDay, Some("春节调休上班"), 6),
                (d(2027, 5, 1), Holiday, Some("劳动节"), 7),
                (d(2027, 5, 2), Holiday, None, 8),
                (d(2027, 5, 3), Holiday, None, 8),
                (d(2027, 5, 8), MakeupDay, None, 9),
            ]
        );
    }

    #[test]
    fn reports_every_bad_line_by_number() {
        let text = "2027-01-01 元旦\n2027-13-01 x\n2027-02-10..2027-02-01\n2027-01-01 补班\nhello";
        let errors = parse_date_list(text).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["line[2]", "line[3]", "line[4]", "line[5]"]);
        assert!(errors[0].message_zh.starts_with("第 2 行"));
        assert_eq!(errors[2].message_en, "line 4: 2027-01-01 is already listed on line 1");
    }

    #[test]
    fn import_replaces_same_dates_and_is_all_or_nothing() {
        let mut cal = Calendar::cn_standard();
        let before = cal.clone();
        assert!(cal.import_date_list("2027-01-01 元旦\nbad line").is_err());
        assert_eq!(cal, before);

        // 2026-01-04 was a make-up day; the list turns it into a holiday.
        let summary = cal.import_date_list("2027-01-01 元旦\n2026-01-04 holiday\n2027-02-20 补班").unwrap();
        assert_eq!(summary, ImportSummary { holidays: 2, makeup_days: 1, replaced: 1 });
        assert_eq!(cal.holiday_name(d(2027, 1, 1)), Some("元旦"));
        assert_eq!(cal.holiday_name(d(2026, 1, 4)), Some(""));
        assert!(cal.makeup_days.iter().all(|m| m.date != d(2026, 1, 4)));
        assert_eq!(cal.makeup_days.last().unwrap().date, d(2027, 2, 20));
        assert!(cal.holidays.windows(2).all(|w| w[0].date < w[1].date));
        assert_eq!(cal.validate(), Ok(()));
    }
}
