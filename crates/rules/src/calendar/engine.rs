//! The compiled calendar and its two core operations: adding working time to an instant
//! ([`CompiledCalendar::due`]) and measuring working time between two instants
//! ([`CompiledCalendar::working_minutes`]).
//!
//! Both walk local days, not minutes. A day's working intervals are microseconds of the local
//! day; when no DST change touches the day (almost always), they map to UTC by subtracting one
//! offset, and a day that is consumed whole is skipped using its precomputed total. Runs of
//! whole weeks without special dates or DST changes are skipped arithmetically, so the cost
//! depends on the number of holidays and transitions in the span, not on its length, and the
//! search is bounded even for absurd inputs.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::zone::{self, DAY, SECOND, ZoneTable};
use super::{Calendar, WEEKDAYS, parse_hhmm};

/// Beyond this many days from 1970 (≈ 273,000 years, past chrono's range) a search gives up;
/// it also keeps `day * DAY` far from overflow.
const MAX_DAY: i64 = 100_000_000;
const MINUTE: i64 = 60 * SECOND;
/// Index of the empty plan used for holidays; weekday plans are 0..7, make-up days use 8.
const HOLIDAY: u8 = 7;
const MAKEUP: u8 = 8;

/// What kind of day a date is in a calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A weekday with working hours.
    Workday,
    /// A weekday without working hours (a weekend).
    RestDay,
    Holiday,
    /// A make-up working day (调休上班).
    MakeupDay,
}

#[derive(Debug, Clone)]
struct Plan {
    /// `[start, end)` in µs of the local day, sorted and disjoint.
    intervals: Box<[(i64, i64)]>,
    total: i64,
}

/// A validated calendar in the form the engine computes with. Cheap to share (`Clone` copies
/// a few small vectors; the zone table is reference-counted) and `Send + Sync`.
#[derive(Debug, Clone)]
pub struct CompiledCalendar {
    code: String,
    tz: Tz,
    plans: [Plan; 9],
    /// Sum of the seven weekday totals: the working time of a week without special dates.
    week_total: i64,
    /// `(days since 1970-01-01, plan)` sorted by day, one entry per date.
    specials: Vec<(i64, u8)>,
    zone: Arc<ZoneTable>,
}

fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - 719_163
}

/// Monday = 0; 1970-01-01 was a Thursday.
fn weekday_index(day: i64) -> u8 {
    (day + 3).rem_euclid(7) as u8
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn instant(us: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us)
}

/// Walking state: the current local day, its weekday and cursors into the special dates and
/// the zone's transitions, so each day costs a few comparisons.
struct Cursor<'a> {
    cal: &'a CompiledCalendar,
    day: i64,
    weekday: u8,
    special: usize,
    transition: usize,
}

impl<'a> Cursor<'a> {
    fn at_utc(cal: &'a CompiledCalendar, utc: i64) -> Option<Self> {
        let local = utc.checked_add(cal.zone.offset_at_utc(utc))?;
        Some(Self::at_day(cal, local.div_euclid(DAY)))
    }

    fn at_day(cal: &'a CompiledCalendar, day: i64) -> Self {
        Self {
            cal,
            day,
            weekday: weekday_index(day),
            special: cal.specials.partition_point(|&(d, _)| d < day),
            transition: cal.zone.first_after_local(day * DAY),
        }
    }

    fn next_day(&mut self) {
        self.day += 1;
        self.weekday = if self.weekday == 6 { 0 } else { self.weekday + 1 };
        while self.transitions_left().first().is_some_and(|t| t.local_hi <= self.day * DAY) {
            self.transition += 1;
        }
    }

    fn transitions_left(&self) -> &'a [zone::Transition] {
        &self.cal.zone.transitions[self.transition..]
    }

    fn next_special_day(&self) -> Option<i64> {
        self.cal.specials.get(self.special).map(|&(d, _)| d)
    }

    /// The plan of the current day; consumes its special-date entry.
    fn take_plan(&mut self) -> &'a Plan {
        let index = match self.cal.specials.get(self.special) {
            Some(&(d, plan)) if d == self.day => {
                self.special += 1;
                plan
            }
            _ => self.weekday,
        };
        &self.cal.plans[usize::from(index)]
    }

    /// No DST change touches the current local day (including its 24:00 end), so one offset
    /// maps all of it; returns that offset.
    fn clean_offset(&self) -> Option<i64> {
        match self.transitions_left().first() {
            Some(t) if t.local_lo <= (self.day + 1) * DAY => None,
            _ => Some(self.cal.zone.offset_before(self.transition)),
        }
    }

    /// How many whole weeks from the current day are free of special dates and DST changes.
    fn plain_weeks(&self) -> i64 {
        let by_special = self.next_special_day().map_or(i64::MAX, |d| (d - self.day) / 7);
        let by_transition =
            self.transitions_left().first().map_or(i64::MAX, |t| (t.local_lo - self.day * DAY - 1).div_euclid(7 * DAY));
        by_special.min(by_transition).max(0)
    }

    fn skip_weeks(&mut self, weeks: i64) {
        self.day += 7 * weeks;
    }

    /// UTC bounds of a local interval of the current day.
    fn to_utc(&self, (start, end): (i64, i64), clean: Option<i64>) -> (i64, i64) {
        let base = self.day * DAY;
        match clean {
            Some(offset) => (base + start - offset, base + end - offset),
            None => (
                self.cal.zone.local_to_utc(base + start, self.transition),
                self.cal.zone.local_to_utc(base + end, self.transition),
            ),
        }
    }
}

impl CompiledCalendar {
    /// Builds from a calendar that passed [`Calendar::validate`].
    pub(super) fn build(cal: &Calendar) -> Self {
        let tz = cal.tz().unwrap_or(chrono_tz::Asia::Shanghai);
        let plan = |day| {
            let intervals: Box<[(i64, i64)]> = cal
                .week
                .day(day)
                .iter()
                .filter_map(|i| {
                    let start = i64::from(parse_hhmm(&i.start, false)?) * MINUTE;
                    let end = i64::from(parse_hhmm(&i.end, true)?) * MINUTE;
                    (start < end).then_some((start, end))
                })
                .collect();
            let total = intervals.iter().map(|(s, e)| e - s).sum();
            Plan { intervals, total }
        };
        let empty = Plan { intervals: Box::new([]), total: 0 };
        let plans = [
            plan(WEEKDAYS[0]),
            plan(WEEKDAYS[1]),
            plan(WEEKDAYS[2]),
            plan(WEEKDAYS[3]),
            plan(WEEKDAYS[4]),
            plan(WEEKDAYS[5]),
            plan(WEEKDAYS[6]),
            empty,
            plan(cal.makeup_hours_of),
        ];
        let week_total = plans[..7].iter().map(|p| p.total).sum();
        let mut specials: Vec<(i64, u8)> = cal
            .holidays
            .iter()
            .map(|h| (day_number(h.date), HOLIDAY))
            .chain(cal.makeup_days.iter().map(|m| (day_number(m.date), MAKEUP)))
            .collect();
        specials.sort_unstable();
        specials.dedup_by_key(|s| s.0);
        Self { code: cal.code.clone(), tz, plans, week_total, specials, zone: zone::table(tz) }
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// The earliest instant at which `minutes` of working time have passed since `from`.
    /// Time outside working hours does not count; a clock that completes exactly at the end of
    /// a working period is due at that end, not at the start of the next one. `minutes == 0`
    /// gives `from` itself. `None` if `minutes` is negative or the time is never reached
    /// (no working time ahead, or beyond chrono's date range).
    pub fn due(&self, from: DateTime<Utc>, minutes: i64) -> Option<DateTime<Utc>> {
        if minutes == 0 {
            return Some(from);
        }
        self.add_micros(micros(from), minutes.checked_mul(MINUTE)?).and_then(instant)
    }

    /// Like [`Self::due`] for any amount of working time (microsecond precision).
    pub fn add_working(&self, from: DateTime<Utc>, amount: TimeDelta) -> Option<DateTime<Utc>> {
        if amount.is_zero() {
            return Some(from);
        }
        self.add_micros(micros(from), amount.num_microseconds()?).and_then(instant)
    }

    /// Working time in `[from, to)`; zero if `to <= from`.
    pub fn working_time(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> TimeDelta {
        TimeDelta::microseconds(self.working_micros(micros(from), micros(to)))
    }

    /// Whole working seconds in `[from, to)`, rounded down.
    pub fn working_seconds(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        self.working_micros(micros(from), micros(to)) / SECOND
    }

    /// Whole working minutes in `[from, to)`, rounded down (59.9 minutes are 59), so that
    /// `working_minutes(from, due(from, m)) == m`.
    pub fn working_minutes(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        self.working_micros(micros(from), micros(to)) / MINUTE
    }

    /// Whether `at` lies inside a working period (start inclusive, end exclusive).
    pub fn is_working_time(&self, at: DateTime<Utc>) -> bool {
        let t = micros(at);
        self.working_micros(t, t + 1) == 1
    }

    /// `at` itself if it is working time, else the start of the next working period: where a
    /// clock started at `at` begins to count. `None` if there is no working time ahead.
    pub fn next_working_instant(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.add_micros(micros(at), 1).and_then(|t| instant(t - 1))
    }

    pub fn day_kind(&self, date: NaiveDate) -> DayKind {
        let day = day_number(date);
        match self.specials.binary_search_by_key(&day, |s| s.0) {
            Ok(i) if self.specials[i].1 == HOLIDAY => DayKind::Holiday,
            Ok(_) => DayKind::MakeupDay,
            Err(_) if self.plans[usize::from(weekday_index(day))].total > 0 => DayKind::Workday,
            Err(_) => DayKind::RestDay,
        }
    }

    /// The working periods of a local date as UTC instants (for a day view or a dispatch
    /// board). Periods swallowed by a DST gap are left out.
    pub fn working_periods(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut cursor = Cursor::at_day(self, day_number(date));
        let clean = cursor.clean_offset();
        let plan = cursor.take_plan();
        plan.intervals
            .iter()
            .map(|&i| cursor.to_utc(i, clean))
            .filter(|(a, b)| a < b)
            .filter_map(|(a, b)| Some((instant(a)?, instant(b)?)))
            .collect()
    }

    /// Adds `amount` µs of working time to the UTC instant `from` (µs).
    pub(crate) fn add_micros(&self, from: i64, amount: i64) -> Option<i64> {
        if amount <= 0 {
            return (amount == 0).then_some(from);
        }
        let mut cursor = Cursor::at_utc(self, from)?;
        let mut remaining = amount;
        let mut first = true;
        loop {
            if cursor.day > MAX_DAY {
                return None;
            }
            if !first {
                if self.week_total == 0 {
                    // Only make-up days can hold working time; jump to the next one.
                    cursor = Cursor::at_day(self, cursor.next_special_day()?);
                } else if remaining > self.week_total {
                    // Strictly greater: the week that finishes the clock is walked day by day
                    // so that a clock ending at a period's end is due at that end.
                    let limit = (MAX_DAY - cursor.day) / 7 + 1;
                    let weeks = cursor.plain_weeks().min((remaining - 1) / self.week_total).min(limit);
                    cursor.skip_weeks(weeks);
                    remaining -= weeks * self.week_total;
                }
            }
            let clean = cursor.clean_offset();
            let plan = cursor.take_plan();
            match clean {
                Some(_) if !first && remaining > plan.total => remaining -= plan.total,
                _ => {
                    for &interval in plan.intervals.iter() {
                        let (a, b) = cursor.to_utc(interval, clean);
                        if b <= from {
                            continue;
                        }
                        let start = a.max(from);
                        let available = b - start;
                        if remaining <= available {
                            return Some(start + remaining);
                        }
                        remaining -= available;
                    }
                }
            }
            first = false;
            cursor.next_day();
        }
    }

    /// Working µs in `[from, to)`.
    pub(crate) fn working_micros(&self, from: i64, to: i64) -> i64 {
        if to <= from {
            return 0;
        }
        let (Some(mut cursor), Some(last)) = (Cursor::at_utc(self, from), Cursor::at_utc(self, to)) else {
            return 0;
        };
        let (first_day, last_day) = (cursor.day, last.day);
        let mut total = 0;
        while cursor.day <= last_day {
            if cursor.day > first_day {
                // Whole weeks strictly before the last day.
                let weeks = cursor.plain_weeks().min((last_day - cursor.day) / 7);
                cursor.skip_weeks(weeks);
                total += weeks * self.week_total;
            }
            let clean = cursor.clean_offset();
            let plan = cursor.take_plan();
            if clean.is_some() && cursor.day > first_day && cursor.day < last_day {
                total += plan.total;
            } else {
                for &interval in plan.intervals.iter() {
                    let (a, b) = cursor.to_utc(interval, clean);
                    let (lo, hi) = (a.max(from), b.min(to));
                    if hi > lo {
                        total += hi - lo;
                    }
                }
            }
            cursor.next_day();
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{SpecialDay, WeeklyHours};
    use chrono::TimeZone;

    /// Validation rejects an empty week, but the engine must still terminate on one (a
    /// calendar whose only working time is a few make-up days, or none at all).
    #[test]
    fn a_week_without_hours_ends_the_search_instead_of_looping() {
        let mut cal = Calendar::cn_standard();
        cal.week = WeeklyHours::default();
        let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let nothing = CompiledCalendar::build(&cal);
        assert_eq!(nothing.due(from, 1), None);
        assert_eq!(nothing.next_working_instant(from), None);
        assert_eq!(nothing.working_minutes(from, from + TimeDelta::days(3650)), 0);

        // One make-up day with one hour: due on it, and nothing after it.
        let day = NaiveDate::from_ymd_opt(2026, 2, 14).unwrap();
        cal.holidays.clear();
        cal.makeup_days = vec![SpecialDay::new(day, None)];
        let mut one_hour = CompiledCalendar::build(&cal);
        one_hour.plans[usize::from(MAKEUP)] =
            Plan { intervals: Box::new([(9 * 3600 * SECOND, 10 * 3600 * SECOND)]), total: 3600 * SECOND };
        let ten = chrono_tz::Asia::Shanghai.with_ymd_and_hms(2026, 2, 14, 10, 0, 0).unwrap().with_timezone(&Utc);
        assert_eq!(one_hour.due(from, 60), Some(ten));
        assert_eq!(one_hour.due(from, 61), None);
        assert_eq!(one_hour.day_kind(day), DayKind::MakeupDay);
    }
}
