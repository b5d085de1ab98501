//! Calendars shipped with the system. `cn-standard` carries the national holidays and make-up
//! working days of 2025 and 2026 (State Council notices; RULES.md §5); an administrator adds
//! later years by importing the next notice as a date list.

use chrono::{NaiveDate, Weekday};

use super::{Calendar, DEFAULT_TIME_ZONE, SpecialDay, WeeklyHours, WorkInterval};

pub const CN_STANDARD: &str = "cn-standard";
pub const ALWAYS: &str = "always";

/// `(year, month, day)`.
type Ymd = (i32, u32, u32);

/// Holiday blocks `(first, last, name)`, inclusive.
const CN_HOLIDAYS: &[(Ymd, Ymd, &str)] = &[
    // 国务院办公厅关于2025年部分节假日安排的通知
    ((2025, 1, 1), (2025, 1, 1), "元旦"),
    ((2025, 1, 28), (2025, 2, 4), "春节"),
    ((2025, 4, 4), (2025, 4, 6), "清明节"),
    ((2025, 5, 1), (2025, 5, 5), "劳动节"),
    ((2025, 5, 31), (2025, 6, 2), "端午节"),
    ((2025, 10, 1), (2025, 10, 8), "国庆节、中秋节"),
    // 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04)
    ((2026, 1, 1), (2026, 1, 3), "元旦"),
    ((2026, 2, 15), (2026, 2, 23), "春节"),
    ((2026, 4, 4), (2026, 4, 6), "清明节"),
    ((2026, 5, 1), (2026, 5, 5), "劳动节"),
    ((2026, 6, 19), (2026, 6, 21), "端午节"),
    ((2026, 9, 25), (2026, 9, 27), "中秋节"),
    ((2026, 10, 1), (2026, 10, 7), "国庆节"),
];

const CN_MAKEUP_DAYS: &[(Ymd, &str)] = &[
    ((2025, 1, 26), "春节调休上班"),
    ((2025, 2, 8), "春节调休上班"),
    ((2025, 4, 27), "劳动节调休上班"),
    ((2025, 9, 28), "国庆节调休上班"),
    ((2025, 10, 11), "国庆节调休上班"),
    ((2026, 1, 4), "元旦调休上班"),
    ((2026, 2, 14), "春节调休上班"),
    ((2026, 2, 28), "春节调休上班"),
    ((2026, 5, 9), "劳动节调休上班"),
    ((2026, 9, 20), "国庆节调休上班"),
    ((2026, 10, 10), "国庆节调休上班"),
];

fn date((y, m, d): Ymd) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("built-in dates are valid")
}

impl Calendar {
    /// Monday–Friday 09:00–12:00 and 13:00–18:00 in Asia/Shanghai, with China's 2025 and 2026
    /// public holidays and make-up working days.
    pub fn cn_standard() -> Self {
        let holidays = CN_HOLIDAYS
            .iter()
            .flat_map(|&(first, last, name)| {
                date(first)
                    .iter_days()
                    .take_while(move |d| *d <= date(last))
                    .map(move |d| SpecialDay::new(d, Some(name)))
            })
            .collect();
        let makeup_days = CN_MAKEUP_DAYS.iter().map(|&(d, name)| SpecialDay::new(date(d), Some(name))).collect();
        Self {
            code: CN_STANDARD.to_owned(),
            name_zh: "中国标准工作日历".to_owned(),
            name_en: "China standard working calendar".to_owned(),
            time_zone: DEFAULT_TIME_ZONE.to_owned(),
            week: WeeklyHours::uniform(
                &[Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
                &[WorkInterval::new("09:00", "12:00"), WorkInterval::new("13:00", "18:00")],
            ),
            holidays,
            makeup_days,
            makeup_hours_of: Weekday::Mon,
        }
    }

    /// Every hour of every day: the calendar of elapsed-time clocks ("within 24 hours").
    pub fn always() -> Self {
        Self {
            code: ALWAYS.to_owned(),
            name_zh: "全天候（7×24 小时）".to_owned(),
            name_en: "Always (24×7)".to_owned(),
            time_zone: DEFAULT_TIME_ZONE.to_owned(),
            week: WeeklyHours::uniform(&super::WEEKDAYS, &[WorkInterval::new("00:00", "24:00")]),
            holidays: Vec::new(),
            makeup_days: Vec::new(),
            makeup_hours_of: Weekday::Mon,
        }
    }
}

/// All built-in calendars, `cn-standard` first.
pub fn builtin_calendars() -> Vec<Calendar> {
    vec![Calendar::cn_standard(), Calendar::always()]
}

pub fn builtin_calendar(code: &str) -> Option<Calendar> {
    match code {
        CN_STANDARD => Some(Calendar::cn_standard()),
        ALWAYS => Some(Calendar::always()),
        _ => None,
    }
}
