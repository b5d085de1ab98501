//! Hand-computed working-time cases on the built-in `cn-standard` calendar (Mon–Fri
//! 09:00–12:00, 13:00–18:00, Asia/Shanghai, 2025/2026 holidays and make-up days) and on
//! calendars in DST zones. Expected values are written out, never computed by the engine.

use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use rules::calendar::{
    ALWAYS, CN_STANDARD, Calendar, CompiledCalendar, DayKind, WeeklyHours, WorkInterval, builtin_calendar,
    builtin_calendars,
};

fn cn() -> &'static CompiledCalendar {
    static CAL: OnceLock<CompiledCalendar> = OnceLock::new();
    CAL.get_or_init(|| Calendar::cn_standard().compile().unwrap())
}

/// Beijing wall-clock time `"2026-02-14 17:00"` as UTC.
fn bj(text: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
    chrono_tz::Asia::Shanghai.from_local_datetime(&naive).unwrap().with_timezone(&Utc)
}

fn due(from: &str, minutes: i64) -> DateTime<Utc> {
    cn().due(bj(from), minutes).unwrap()
}

fn minutes(from: &str, to: &str) -> i64 {
    cn().working_minutes(bj(from), bj(to))
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn contract_example_make_up_saturday_then_spring_festival() {
    // 1 h left on Sat 2026-02-14 (make-up day), Feb 15–23 holidays, 1 h on Tue Feb 24.
    let from = DateTime::parse_from_rfc3339("2026-02-14T17:00:00+08:00").unwrap();
    let got = cn().due(from.with_timezone(&Utc), 120).unwrap();
    assert_eq!(got.with_timezone(&chrono_tz::Asia::Shanghai).to_rfc3339(), "2026-02-24T10:00:00+08:00");
    assert_eq!(minutes("2026-02-14 17:00", "2026-02-24 10:00"), 120);
}

#[test]
fn lunch_break_is_not_counted() {
    assert_eq!(due("2026-03-02 11:30", 60), bj("2026-03-02 13:30"));
    assert_eq!(due("2026-03-02 11:00", 180), bj("2026-03-02 15:00"));
    assert_eq!(minutes("2026-03-02 11:00", "2026-03-02 14:00"), 120);
    assert_eq!(minutes("2026-03-02 12:00", "2026-03-02 13:00"), 0);
    assert_eq!(minutes("2026-03-02 09:00", "2026-03-02 18:00"), 480);
}

#[test]
fn completing_at_the_end_of_a_period_is_due_at_that_end() {
    assert_eq!(due("2026-03-02 11:00", 60), bj("2026-03-02 12:00"));
    assert_eq!(due("2026-03-02 17:00", 60), bj("2026-03-02 18:00"));
    assert_eq!(due("2026-03-02 09:00", 480), bj("2026-03-02 18:00"));
    // Friday's end, not Monday's start.
    assert_eq!(due("2026-03-06 17:30", 30), bj("2026-03-06 18:00"));
    // One more minute moves past the weekend.
    assert_eq!(due("2026-03-06 17:30", 31), bj("2026-03-09 09:01"));
}

#[test]
fn starting_outside_working_hours() {
    // Inside the lunch break, before opening, after closing, on a weekend.
    assert_eq!(due("2026-03-02 12:30", 30), bj("2026-03-02 13:30"));
    assert_eq!(due("2026-03-02 12:00", 60), bj("2026-03-02 14:00"));
    assert_eq!(due("2026-03-02 07:00", 30), bj("2026-03-02 09:30"));
    assert_eq!(due("2026-03-02 19:00", 30), bj("2026-03-03 09:30"));
    assert_eq!(due("2026-03-02 18:00", 1), bj("2026-03-03 09:01"));
    assert_eq!(due("2026-03-07 10:00", 60), bj("2026-03-09 10:00"));
    assert_eq!(due("2026-03-08 23:59", 480), bj("2026-03-09 18:00"));
}

#[test]
fn weekends_are_skipped() {
    assert_eq!(due("2026-03-06 17:00", 120), bj("2026-03-09 10:00"));
    assert_eq!(minutes("2026-03-06 17:00", "2026-03-09 10:00"), 120);
    assert_eq!(minutes("2026-03-07 00:00", "2026-03-09 00:00"), 0);
    // Three full weeks of March 2026 (no holidays): 15 days × 480.
    assert_eq!(minutes("2026-03-02 00:00", "2026-03-23 00:00"), 15 * 480);
    assert_eq!(due("2026-03-02 09:00", 15 * 480), bj("2026-03-20 18:00"));
    assert_eq!(due("2026-03-02 09:00", 15 * 480 + 1), bj("2026-03-23 09:01"));
}

#[test]
fn zero_minutes_is_the_start_and_negative_is_refused() {
    for from in ["2026-03-02 10:17", "2026-03-07 03:00", "2026-02-17 12:30"] {
        assert_eq!(due(from, 0), bj(from));
    }
    assert_eq!(cn().due(bj("2026-03-02 10:00"), -5), None);
    assert_eq!(minutes("2026-03-02 11:00", "2026-03-02 10:00"), 0);
}

/// `(last working evening before the block, first working morning after it)` for every
/// holiday block of 2025 and 2026: 120 minutes from 17:00 are due at 10:00 after the block.
#[test]
fn every_holiday_block_of_2025_and_2026_is_skipped() {
    let cases = [
        // 元旦 2025-01-01 (Wed)
        ("2024-12-31 17:00", "2025-01-02 10:00"),
        // 春节 2025-01-28..02-04 (Tue–Tue); Jan 27 is a Monday.
        ("2025-01-27 17:00", "2025-02-05 10:00"),
        // 清明 2025-04-04..06 (Fri–Sun)
        ("2025-04-03 17:00", "2025-04-07 10:00"),
        // 劳动节 2025-05-01..05 (Thu–Mon)
        ("2025-04-30 17:00", "2025-05-06 10:00"),
        // 端午 2025-05-31..06-02 (Sat–Mon)
        ("2025-05-30 17:00", "2025-06-03 10:00"),
        // 国庆、中秋 2025-10-01..08 (Wed–Wed)
        ("2025-09-30 17:00", "2025-10-09 10:00"),
        // 元旦 2026-01-01..03 (Thu–Sat); Sun Jan 4 is a make-up day.
        ("2025-12-31 17:00", "2026-01-04 10:00"),
        // 春节 2026-02-15..23 (Sun–Mon); Sat Feb 14 is a make-up day.
        ("2026-02-14 17:00", "2026-02-24 10:00"),
        // 清明 2026-04-04..06 (Sat–Mon)
        ("2026-04-03 17:00", "2026-04-07 10:00"),
        // 劳动节 2026-05-01..05 (Fri–Tue)
        ("2026-04-30 17:00", "2026-05-06 10:00"),
        // 端午 2026-06-19..21 (Fri–Sun)
        ("2026-06-18 17:00", "2026-06-22 10:00"),
        // 中秋 2026-09-25..27 (Fri–Sun)
        ("2026-09-24 17:00", "2026-09-28 10:00"),
        // 国庆 2026-10-01..07 (Thu–Wed)
        ("2026-09-30 17:00", "2026-10-08 10:00"),
    ];
    for (from, expected) in cases {
        assert_eq!(due(from, 120), bj(expected), "from {from}");
        assert_eq!(minutes(from, expected), 120, "from {from}");
    }
}

/// Every make-up working day counts as a full Monday; a clock from the Friday evening before
/// it (or the working day before, for Sunday ones) is due on it.
#[test]
fn every_make_up_day_of_2025_and_2026_is_a_working_day() {
    let cases = [
        // (make-up day, weekday, 17:00 start two hours before its 10:00)
        ((2025, 1, 26), Weekday::Sun, "2025-01-24 17:00"),
        ((2025, 2, 8), Weekday::Sat, "2025-02-07 17:00"),
        ((2025, 4, 27), Weekday::Sun, "2025-04-25 17:00"),
        ((2025, 9, 28), Weekday::Sun, "2025-09-26 17:00"),
        ((2025, 10, 11), Weekday::Sat, "2025-10-10 17:00"),
        ((2026, 1, 4), Weekday::Sun, "2025-12-31 17:00"),
        ((2026, 2, 14), Weekday::Sat, "2026-02-13 17:00"),
        ((2026, 2, 28), Weekday::Sat, "2026-02-27 17:00"),
        ((2026, 5, 9), Weekday::Sat, "2026-05-08 17:00"),
        ((2026, 9, 20), Weekday::Sun, "2026-09-18 17:00"),
        ((2026, 10, 10), Weekday::Sat, "2026-10-09 17:00"),
    ];
    let cal = Calendar::cn_standard();
    assert_eq!(cal.makeup_days.len(), cases.len());
    for ((y, m, d), weekday, from) in cases {
        let day = date(y, m, d);
        assert_eq!(day.weekday(), weekday, "{day}");
        assert!(cal.makeup_days.iter().any(|x| x.date == day), "{day} listed");
        assert_eq!(cn().day_kind(day), DayKind::MakeupDay);
        let ymd = format!("{y:04}-{m:02}-{d:02}");
        assert_eq!(minutes(&format!("{ymd} 00:00"), &format!("{ymd} 23:59")), 480, "{day}");
        assert_eq!(due(from, 120), bj(&format!("{ymd} 10:00")), "{day}");
    }
}

#[test]
fn every_holiday_date_has_no_working_time() {
    let cal = Calendar::cn_standard();
    let expected: Vec<(NaiveDate, &str)> = [
        ((2025, 1, 1), (2025, 1, 1), "元旦"),
        ((2025, 1, 28), (2025, 2, 4), "春节"),
        ((2025, 4, 4), (2025, 4, 6), "清明节"),
        ((2025, 5, 1), (2025, 5, 5), "劳动节"),
        ((2025, 5, 31), (2025, 6, 2), "端午节"),
        ((2025, 10, 1), (2025, 10, 8), "国庆节、中秋节"),
        ((2026, 1, 1), (2026, 1, 3), "元旦"),
        ((2026, 2, 15), (2026, 2, 23), "春节"),
        ((2026, 4, 4), (2026, 4, 6), "清明节"),
        ((2026, 5, 1), (2026, 5, 5), "劳动节"),
        ((2026, 6, 19), (2026, 6, 21), "端午节"),
        ((2026, 9, 25), (2026, 9, 27), "中秋节"),
        ((2026, 10, 1), (2026, 10, 7), "国庆节"),
    ]
    .into_iter()
    .flat_map(|((y1, m1, d1), (y2, m2, d2), name)| {
        let last = date(y2, m2, d2);
        date(y1, m1, d1).iter_days().take_while(move |d| *d <= last).map(move |d| (d, name))
    })
    .collect();
    // 2025: 1 + 8 + 3 + 5 + 3 + 8 = 28 days; 2026: 3 + 9 + 3 + 5 + 3 + 3 + 7 = 33 days.
    assert_eq!(expected.len(), 61);
    assert_eq!(cal.holidays.len(), 61);
    for (day, name) in expected {
        assert_eq!(cal.holiday_name(day), Some(name), "{day}");
        assert_eq!(cn().day_kind(day), DayKind::Holiday, "{day}");
        assert!(cn().working_periods(day).is_empty(), "{day}");
        let start = bj(&format!("{day} 00:00"));
        assert_eq!(cn().working_minutes(start, start + TimeDelta::days(1)), 0, "{day}");
    }
}

#[test]
fn whole_holiday_months_add_up() {
    // February 2026: 20 weekdays, minus Feb 16–20 and 23 (6 weekday holidays), plus the
    // make-up Saturdays Feb 14 and 28 → 16 working days.
    assert_eq!(minutes("2026-02-01 00:00", "2026-03-01 00:00"), 16 * 480);
    // October 2025: 23 weekdays, minus Oct 1–3 and 6–8 (6), plus Sat Oct 11 → 18 days.
    assert_eq!(minutes("2025-10-01 00:00", "2025-11-01 00:00"), 18 * 480);
    // Whole of 2026: 261 weekdays − 19 weekday holidays (Jan 1–2, Feb 16–20 and 23, Apr 6,
    // May 1 and 4–5, Jun 19, Sep 25, Oct 1–2 and 5–7) + 6 make-up days = 248 days.
    assert_eq!(minutes("2026-01-01 00:00", "2027-01-01 00:00"), 248 * 480);
    // Whole of 2025: 261 weekdays − 18 weekday holidays (Jan 1, Jan 28–31, Feb 3–4, Apr 4,
    // May 1–2 and 5, Jun 2, Oct 1–3 and 6–8) + 5 make-up days = 248 days.
    assert_eq!(minutes("2025-01-01 00:00", "2026-01-01 00:00"), 248 * 480);
}

#[test]
fn year_end_2025_into_2026() {
    // Dec 31 (Wed) 17:00: 1 h that day; Jan 1–3 holidays; Sun Jan 4 make-up (8 h); so 600
    // minutes end at Mon Jan 5 10:00 and 540 at the end of the make-up Sunday.
    assert_eq!(due("2025-12-31 17:00", 540), bj("2026-01-04 18:00"));
    assert_eq!(due("2025-12-31 17:00", 600), bj("2026-01-05 10:00"));
    assert_eq!(minutes("2025-12-31 17:00", "2026-01-05 10:00"), 600);
    // From the holiday itself.
    assert_eq!(due("2026-01-02 10:00", 60), bj("2026-01-04 10:00"));
    // Year end 2026 into 2027 (no 2027 notice loaded): an ordinary Thursday/Friday.
    assert_eq!(due("2026-12-31 17:00", 120), bj("2027-01-01 10:00"));
}

#[test]
fn thirty_working_days() {
    // From Mon 2026-03-02 09:00: 22 days (Mar 2–31) + 3 (Apr 1–3) + 4 (Apr 7–10, Apr 6 being
    // 清明) = 29, so the 30th working day is Mon Apr 13.
    assert_eq!(due("2026-03-02 09:00", 30 * 480), bj("2026-04-13 18:00"));
    assert_eq!(minutes("2026-03-02 09:00", "2026-04-13 18:00"), 30 * 480);
}

#[test]
fn sub_minute_precision_is_kept() {
    let from = bj("2026-03-02 10:00") + TimeDelta::milliseconds(12_345);
    let due = cn().due(from, 60).unwrap();
    assert_eq!(due, bj("2026-03-02 11:00") + TimeDelta::milliseconds(12_345));
    assert_eq!(cn().working_minutes(from, due), 60);
    assert_eq!(cn().working_minutes(from, due - TimeDelta::microseconds(1)), 59);
    assert_eq!(cn().working_seconds(from, due), 3600);
    assert_eq!(cn().working_time(from, due), TimeDelta::minutes(60));
}

#[test]
fn working_time_queries() {
    assert!(cn().is_working_time(bj("2026-03-02 09:00")));
    assert!(!cn().is_working_time(bj("2026-03-02 12:00")));
    assert!(!cn().is_working_time(bj("2026-03-02 18:00")));
    assert!(cn().is_working_time(bj("2026-02-14 10:00")));
    assert!(!cn().is_working_time(bj("2026-02-16 10:00")));
    assert_eq!(cn().next_working_instant(bj("2026-02-14 18:00")), Some(bj("2026-02-24 09:00")));
    assert_eq!(cn().next_working_instant(bj("2026-03-02 10:30")), Some(bj("2026-03-02 10:30")));
    assert_eq!(
        cn().working_periods(date(2026, 3, 2)),
        [(bj("2026-03-02 09:00"), bj("2026-03-02 12:00")), (bj("2026-03-02 13:00"), bj("2026-03-02 18:00"))]
    );
    assert_eq!(cn().day_kind(date(2026, 3, 7)), DayKind::RestDay);
    assert_eq!(cn().day_kind(date(2026, 3, 6)), DayKind::Workday);
}

#[test]
fn builtins_and_always() {
    let codes: Vec<_> = builtin_calendars().into_iter().map(|c| c.code).collect();
    assert_eq!(codes, [CN_STANDARD, ALWAYS]);
    assert_eq!(builtin_calendar("cn-standard"), Some(Calendar::cn_standard()));
    assert_eq!(builtin_calendar("nope"), None);
    let always = Calendar::always().compile().unwrap();
    let from = bj("2026-02-14 17:00");
    assert_eq!(always.due(from, 120), Some(bj("2026-02-14 19:00")));
    assert_eq!(always.due(from, 7 * 24 * 60), Some(bj("2026-02-21 17:00")));
    assert_eq!(always.working_minutes(from, bj("2026-02-24 10:00")), 9 * 1440 + 17 * 60);
}

#[test]
fn imported_next_year_notice_is_used() {
    let mut cal = Calendar::cn_standard();
    cal.import_date_list("2027-01-01 元旦\n2027-01-02 补班").unwrap();
    let cal = cal.compile().unwrap();
    // Thu 2026-12-31 17:00 → 1 h, Fri Jan 1 off, Sat Jan 2 a make-up day.
    assert_eq!(cal.due(bj("2026-12-31 17:00"), 120), Some(bj("2027-01-02 10:00")));
}

#[test]
fn make_up_days_take_the_configured_weekdays_hours() {
    let mut cal = Calendar::cn_standard();
    cal.week.fri = vec![WorkInterval::new("09:00", "12:00")];
    cal.makeup_hours_of = Weekday::Fri;
    let cal = cal.compile().unwrap();
    let sat = bj("2026-02-14 00:00");
    assert_eq!(cal.working_minutes(sat, sat + TimeDelta::days(1)), 180);
}

fn local(tz: Tz, text: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
    tz.from_local_datetime(&naive).earliest().unwrap().with_timezone(&Utc)
}

fn zone_calendar(tz: &str, hours: &[(&str, &str)], days: &[Weekday]) -> CompiledCalendar {
    let intervals: Vec<_> = hours.iter().map(|(s, e)| WorkInterval::new(s, e)).collect();
    Calendar {
        code: "zone-test".into(),
        name_zh: "测试".into(),
        name_en: "Test".into(),
        time_zone: tz.into(),
        week: WeeklyHours::uniform(days, &intervals),
        holidays: vec![],
        makeup_days: vec![],
        makeup_hours_of: Weekday::Mon,
    }
    .compile()
    .unwrap()
}

#[test]
fn office_hours_follow_wall_clock_across_dst() {
    let tz = chrono_tz::Europe::London;
    let cal = zone_calendar("Europe/London", &[("09:00", "17:00")], &chrono_weekdays());
    // Fri 2026-03-27 16:00 GMT + 2 h → Mon 2026-03-30 10:00 BST (clocks changed on Sunday).
    let from = local(tz, "2026-03-27 16:00");
    assert_eq!(cal.due(from, 120), Some(local(tz, "2026-03-30 10:00")));
    assert_eq!(local(tz, "2026-03-30 10:00").to_rfc3339(), "2026-03-30T09:00:00+00:00");
}

#[test]
fn round_the_clock_days_are_23_and_25_hours_on_dst_sundays() {
    let tz = chrono_tz::America::New_York;
    let cal = zone_calendar("America/New_York", &[("00:00", "24:00")], &[Weekday::Sun]);
    let spring = local(tz, "2026-03-08 00:00");
    let autumn = local(tz, "2026-11-01 00:00");
    assert_eq!(cal.working_minutes(spring, spring + TimeDelta::days(2)), 23 * 60);
    assert_eq!(cal.working_minutes(autumn, autumn + TimeDelta::days(2)), 25 * 60);
    // 24 working hours from the start of the spring-forward Sunday end at the end of the
    // next Sunday's first hour.
    assert_eq!(cal.due(spring, 24 * 60), Some(local(tz, "2026-03-15 01:00")));
    // A period inside the skipped hour is empty.
    let gap = zone_calendar("America/New_York", &[("02:00", "02:30"), ("09:00", "10:00")], &[Weekday::Sun]);
    assert_eq!(gap.working_periods(date(2026, 3, 8)).len(), 1);
    assert_eq!(gap.working_minutes(spring, spring + TimeDelta::days(1)), 60);
}

fn chrono_weekdays() -> Vec<Weekday> {
    vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri]
}

#[test]
fn far_future_and_huge_amounts_terminate() {
    let from = bj("2026-03-02 09:00");
    // About 3,800 years of working days: still computed, by whole-week arithmetic.
    let far = cn().due(from, 480 * 1_000_000).unwrap();
    assert!(far.year() > 5800);
    // Beyond chrono's range (≈ 1.1 million years): refused, after whole-week skipping.
    assert_eq!(cn().due(from, 480 * 300_000_000), None);
    assert_eq!(cn().due(from, i64::MAX / 60), None);
    assert_eq!(cn().due(from, i64::MAX), None);
    let end = DateTime::<Utc>::MAX_UTC;
    assert!(cn().working_minutes(from, end) > 0);
}
