//! Property tests of the working-time engine: algebraic laws on `cn-standard`, and agreement
//! with a slow, obviously-correct reference (chrono-tz conversion of every period boundary)
//! on random calendars in zones with DST, half-hour shifts and midnight transitions.

use std::sync::OnceLock;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use proptest::prelude::*;
use rules::calendar::{Calendar, CompiledCalendar, SpecialDay, WeeklyHours, WorkInterval};

fn cn() -> &'static CompiledCalendar {
    static CAL: OnceLock<CompiledCalendar> = OnceLock::new();
    CAL.get_or_init(|| Calendar::cn_standard().compile().unwrap())
}

/// Instants from 2024-12-01 to 2027-01-31, at microsecond precision.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (1_733_011_200_000_000i64..1_801_353_600_000_000).prop_map(|us| DateTime::from_timestamp_micros(us).unwrap())
}

/// Up to 30 working days of cn-standard.
fn span() -> impl Strategy<Value = i64> {
    prop_oneof![0i64..=600, 0i64..=30 * 480]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn due_is_monotonic_in_minutes(from in instant(), a in span(), extra in 0i64..2000) {
        let early = cn().due(from, a).unwrap();
        let late = cn().due(from, a + extra).unwrap();
        prop_assert!(early <= late);
        prop_assert!(early >= from);
    }

    #[test]
    fn working_minutes_to_due_equal_the_minutes(from in instant(), m in span()) {
        let due = cn().due(from, m).unwrap();
        prop_assert_eq!(cn().working_minutes(from, due), m);
        prop_assert_eq!(cn().working_time(from, due), Duration::minutes(m));
    }

    #[test]
    fn due_is_the_earliest_such_instant(from in instant(), m in 1i64..=30 * 480) {
        let due = cn().due(from, m).unwrap();
        let just_before = due - Duration::microseconds(1);
        prop_assert!(cn().working_time(from, just_before) < Duration::minutes(m));
        // The last microsecond before the due instant is working time.
        prop_assert!(cn().is_working_time(just_before));
    }

    #[test]
    fn due_composes(from in instant(), a in span(), b in span()) {
        let direct = cn().due(from, a + b).unwrap();
        let stepped = cn().due(cn().due(from, a).unwrap(), b).unwrap();
        prop_assert_eq!(direct, stepped);
    }

    #[test]
    fn working_time_is_additive(x in instant(), y in instant(), z in instant()) {
        let mut v = [x, y, z];
        v.sort();
        let [a, b, c] = v;
        prop_assert_eq!(
            cn().working_time(a, b) + cn().working_time(b, c),
            cn().working_time(a, c)
        );
        prop_assert_eq!(cn().working_minutes(c, a), 0);
    }
}

// ---------------------------------------------------------------------------------------
// Reference implementation.

const ZONES: &[&str] = &[
    "Asia/Shanghai",
    "Europe/London",
    "America/New_York",
    // DST changes of 30 minutes.
    "Australia/Lord_Howe",
    // Transitions at local midnight (a day without 00:00–01:00, a day with 23:00 twice).
    "America/Santiago",
    // Suspends DST for Ramadan: two transitions about a month apart.
    "Africa/Casablanca",
    "Asia/Kolkata",
    "Pacific/Chatham",
];

const WEEK: [Weekday; 7] =
    [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];

fn hhmm(half_hours: u32) -> String {
    format!("{:02}:{:02}", half_hours / 2, half_hours % 2 * 30)
}

/// Sorted, disjoint intervals on half-hour marks; up to three a day.
fn day_hours() -> impl Strategy<Value = Vec<WorkInterval>> {
    proptest::collection::btree_set(0u32..=48, 0..=6).prop_map(|marks| {
        let marks: Vec<u32> = marks.into_iter().collect();
        marks.chunks_exact(2).map(|p| WorkInterval::new(&hhmm(p[0]), &hhmm(p[1]))).collect()
    })
}

/// Dates of 2026 around DST changes of the zones above and Ramadan.
fn special_date() -> impl Strategy<Value = NaiveDate> {
    prop_oneof![
        (0i64..80).prop_map(|d| NaiveDate::from_ymd_opt(2026, 2, 10).unwrap() + Duration::days(d)),
        (0i64..70).prop_map(|d| NaiveDate::from_ymd_opt(2026, 8, 25).unwrap() + Duration::days(d)),
    ]
}

fn random_calendar() -> impl Strategy<Value = Calendar> {
    (
        proptest::sample::select(ZONES),
        proptest::collection::vec(day_hours(), 7),
        proptest::collection::btree_set(special_date(), 0..8),
        proptest::collection::btree_set(special_date(), 0..5),
    )
        .prop_map(|(zone, mut days, holidays, makeup)| {
            if days[0].is_empty() {
                days[0] = vec![WorkInterval::new("09:00", "17:00")];
            }
            let mut week = WeeklyHours::default();
            for (day, hours) in WEEK.iter().zip(days) {
                *week.day_mut(*day) = hours;
            }
            Calendar {
                code: "random".into(),
                name_zh: "随机".into(),
                name_en: "Random".into(),
                time_zone: zone.into(),
                week,
                makeup_days: makeup
                    .iter()
                    .filter(|d| !holidays.contains(d))
                    .map(|d| SpecialDay::new(*d, None))
                    .collect(),
                holidays: holidays.iter().map(|d| SpecialDay::new(*d, Some("假"))).collect(),
                makeup_hours_of: Weekday::Mon,
            }
        })
}

/// Local wall-clock time to UTC the slow way: the first occurrence of a repeated time, and
/// for a skipped time the first existing minute after it.
fn to_utc(tz: Tz, mut local: NaiveDateTime) -> DateTime<Utc> {
    loop {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
            LocalResult::None => local += Duration::minutes(1),
        }
    }
}

/// Every working period, in UTC, of the local days `first..=last`.
fn periods(cal: &Calendar, first: NaiveDate, last: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let tz: Tz = cal.time_zone.parse().unwrap();
    let mut out = Vec::new();
    for day in first.iter_days().take_while(|d| *d <= last) {
        let hours = if cal.holidays.iter().any(|h| h.date == day) {
            &[][..]
        } else if cal.makeup_days.iter().any(|m| m.date == day) {
            cal.week.day(cal.makeup_hours_of)
        } else {
            cal.week.day(day.weekday())
        };
        for interval in hours {
            let at = |text: &str| {
                let (h, m) = text.split_once(':').unwrap();
                let minutes = h.parse::<i64>().unwrap() * 60 + m.parse::<i64>().unwrap();
                to_utc(tz, day.and_hms_opt(0, 0, 0).unwrap() + Duration::minutes(minutes))
            };
            let (a, b) = (at(&interval.start), at(&interval.end));
            if a < b {
                out.push((a, b));
            }
        }
    }
    out
}

fn local_day(cal: &Calendar, t: DateTime<Utc>) -> NaiveDate {
    let tz: Tz = cal.time_zone.parse().unwrap();
    t.with_timezone(&tz).date_naive()
}

fn reference_working(cal: &Calendar, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    if to <= from {
        return Duration::zero();
    }
    let first = local_day(cal, from) - Duration::days(1);
    let last = local_day(cal, to) + Duration::days(1);
    periods(cal, first, last)
        .into_iter()
        .map(|(a, b)| (a.max(from), b.min(to)))
        .filter(|(a, b)| a < b)
        .map(|(a, b)| b - a)
        .sum()
}

fn reference_due(cal: &Calendar, from: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
    if minutes == 0 {
        return from;
    }
    let mut left = Duration::minutes(minutes);
    let first = local_day(cal, from) - Duration::days(1);
    // Day by day, as a week may hold as little as half an hour.
    for day in first.iter_days().take(3000) {
        for (a, b) in periods(cal, day, day) {
            if b <= from {
                continue;
            }
            let start = a.max(from);
            if left <= b - start {
                return start + left;
            }
            left -= b - start;
        }
    }
    panic!("reference search ran out of days");
}

/// Instants of 2026, biased towards the DST weeks of the zones above.
fn instant_2026() -> impl Strategy<Value = DateTime<Utc>> {
    let at = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let within = move |start: DateTime<Utc>, days: i64| {
        (0..days * 86_400_000_000).prop_map(move |us| start + Duration::microseconds(us))
    };
    prop_oneof![within(at(2026, 3, 1), 45), within(at(2026, 9, 1), 70), within(at(2026, 1, 1), 365),]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn matches_reference_on_random_calendars(
        cal in random_calendar(),
        from in instant_2026(),
        minutes in prop_oneof![0i64..=600, 0i64..=6000],
        length in 0i64..40 * 86_400,
    ) {
        let compiled = cal.compile().unwrap();
        let expected_due = reference_due(&cal, from, minutes);
        prop_assert_eq!(compiled.due(from, minutes), Some(expected_due), "zone {}", cal.time_zone);
        let to = from + Duration::seconds(length);
        prop_assert_eq!(compiled.working_time(from, to), reference_working(&cal, from, to));
        prop_assert_eq!(compiled.working_time(from, expected_due), Duration::minutes(minutes));
    }
}

/// Offset changes of a zone during 2026, found by scanning with chrono-tz.
fn transitions_2026(tz: Tz) -> Vec<DateTime<Utc>> {
    use chrono::Offset;
    let offset = |t: DateTime<Utc>| t.with_timezone(&tz).offset().fix();
    let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let mut found = Vec::new();
    let mut t = start;
    while t.year() == 2026 {
        let next = t + Duration::hours(1);
        if offset(next) != offset(t) {
            found.push(next);
        }
        t = next;
    }
    found
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    /// Same hours every day, clocks starting in the days before a DST change, so period
    /// boundaries fall into skipped and repeated hours.
    #[test]
    fn matches_reference_around_dst_changes(
        zone in proptest::sample::select(&ZONES[1..6]),
        hours in day_hours().prop_filter("some hours", |h| !h.is_empty()),
        which in any::<proptest::sample::Index>(),
        before in 0i64..4 * 86_400,
        minutes in 0i64..=3000,
        length in 0i64..6 * 86_400,
    ) {
        let tz: Tz = zone.parse().unwrap();
        let changes = transitions_2026(tz);
        prop_assume!(!changes.is_empty());
        let change = changes[which.index(changes.len())];
        let cal = Calendar {
            code: "dst".into(),
            name_zh: "夏令时".into(),
            name_en: "DST".into(),
            time_zone: zone.into(),
            week: WeeklyHours::uniform(&WEEK, &hours),
            holidays: vec![],
            makeup_days: vec![],
            makeup_hours_of: Weekday::Mon,
        };
        let compiled = cal.compile().unwrap();
        let from = change - Duration::seconds(before);
        prop_assert_eq!(compiled.due(from, minutes), Some(reference_due(&cal, from, minutes)));
        let to = from + Duration::seconds(length);
        prop_assert_eq!(compiled.working_time(from, to), reference_working(&cal, from, to));
    }
}
