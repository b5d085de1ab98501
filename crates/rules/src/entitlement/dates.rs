//! Day counting shared by every rule. The day of sale is day 1, so "within 7 days" covers
//! that date and the six after it.

use chrono::{DateTime, Datelike, FixedOffset, Months, NaiveDate, NaiveTime, TimeDelta};

/// Day number of `d` in a period whose day 1 is `start`.
pub(crate) fn day_number(start: NaiveDate, d: NaiveDate) -> i64 {
    (d - start).num_days() + 1
}

/// `d` plus `n` days, saturating at chrono's range instead of panicking.
pub(crate) fn add_days(d: NaiveDate, n: i64) -> NaiveDate {
    TimeDelta::try_days(n).and_then(|delta| d.checked_add_signed(delta)).unwrap_or(if n < 0 {
        NaiveDate::MIN
    } else {
        NaiveDate::MAX
    })
}

/// Last day (inclusive) of a period of `months` whose day 1 is `start`: the day before the
/// same date `months` later. When that date does not exist (Jan 31 + 1 month) the period ends
/// on the last day of that month, as the Civil Code (art. 202) does for periods in months.
pub(crate) fn period_end(start: NaiveDate, months: u32) -> NaiveDate {
    match start.checked_add_months(Months::new(months)) {
        // chrono clamps a missing day to the month's end: then that end is the last day.
        Some(same) if same.day() < start.day() => same,
        Some(same) => same.pred_opt().unwrap_or(same),
        None => NaiveDate::MAX,
    }
}

/// Local calendar date of an instant, in its own offset.
pub(crate) fn local_date(t: DateTime<FixedOffset>) -> NaiveDate {
    t.naive_local().date()
}

/// Seconds from `start` until `end`, or until the end of `until` (a repair still in progress
/// counts through the whole request day).
pub(crate) fn span_seconds(start: DateTime<FixedOffset>, end: Option<DateTime<FixedOffset>>, until: NaiveDate) -> i64 {
    match end {
        Some(end) => (end - start).num_seconds(),
        None => {
            let next_midnight = add_days(until, 1).and_time(NaiveTime::MIN);
            (next_midnight - start.naive_local()).num_seconds()
        }
    }
}

/// Art. 40 of 43号: each full 24 h is one day and any remainder one more day.
pub(crate) fn per24h_days(seconds: i64) -> i64 {
    if seconds <= 0 { 0 } else { (seconds + 86_399) / 86_400 }
}

/// Calendar days from the start date to the end date, both included.
pub(crate) fn calendar_days(start: NaiveDate, end: NaiveDate) -> i64 {
    ((end - start).num_days() + 1).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    // Day counting: the day of sale is day 1 (458号 art. 9 "自售出之日起7日内").
    #[test]
    fn sale_day_is_day_one() {
        assert_eq!(day_number(d(2026, 3, 1), d(2026, 3, 1)), 1);
        assert_eq!(day_number(d(2026, 3, 1), d(2026, 3, 7)), 7);
        assert_eq!(day_number(d(2026, 3, 1), d(2026, 3, 8)), 8);
    }

    // Period of N months ends the day before the same date N months later (458号 art. 8).
    #[test]
    fn period_end_plain() {
        assert_eq!(period_end(d(2026, 3, 1), 12), d(2027, 2, 28));
        assert_eq!(period_end(d(2026, 3, 15), 24), d(2028, 3, 14));
        assert_eq!(period_end(d(2026, 12, 31), 1), d(2027, 1, 30));
    }

    // Month clamping: Jan 31 + 1 month has no Feb 31, so the period ends on the month's last day.
    #[test]
    fn period_end_clamps_to_month_end() {
        assert_eq!(period_end(d(2026, 1, 31), 1), d(2026, 2, 28));
        assert_eq!(period_end(d(2026, 1, 30), 1), d(2026, 2, 28));
        assert_eq!(period_end(d(2026, 1, 28), 1), d(2026, 2, 27));
        assert_eq!(period_end(d(2028, 1, 31), 1), d(2028, 2, 29));
        assert_eq!(period_end(d(2028, 1, 29), 1), d(2028, 2, 28));
    }

    // Leap years: a unit sold on Feb 29 with a one-year warranty is covered through Feb 28.
    #[test]
    fn period_end_leap_day() {
        assert_eq!(period_end(d(2028, 2, 29), 12), d(2029, 2, 28));
        assert_eq!(period_end(d(2028, 2, 29), 48), d(2032, 2, 28));
        assert_eq!(period_end(d(2027, 3, 1), 12), d(2028, 2, 29));
    }

    // Art. 40 of 43号: 24 h = 1 day, 24 h 1 s = 2 days, 1 s = 1 day.
    #[test]
    fn per24h_rounding() {
        assert_eq!(per24h_days(0), 0);
        assert_eq!(per24h_days(1), 1);
        assert_eq!(per24h_days(86_400), 1);
        assert_eq!(per24h_days(86_401), 2);
        assert_eq!(per24h_days(-5), 0);
    }

    #[test]
    fn in_progress_counts_through_request_day() {
        let start = DateTime::parse_from_rfc3339("2026-04-01T09:00:00+08:00").unwrap();
        let s = span_seconds(start, None, d(2026, 4, 1));
        assert_eq!(s, 15 * 3600);
        assert_eq!(calendar_days(d(2026, 4, 1), d(2026, 4, 3)), 3);
    }

    #[test]
    fn add_days_saturates() {
        assert_eq!(add_days(NaiveDate::MAX, 5), NaiveDate::MAX);
        assert_eq!(add_days(d(2026, 1, 1), i64::MAX), NaiveDate::MAX);
        assert_eq!(add_days(d(2026, 1, 1), -1), d(2025, 12, 31));
    }
}
