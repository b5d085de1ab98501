//! The calendar facts of each history entry, computed once per evaluation and shared by the
//! validation and the rules (date conversions dominate the cost of an evaluation otherwise).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};

use super::dates::{calendar_days, local_date, per24h_days, span_seconds};
use super::policy::RepairDayCounting;
use super::types::{EvaluateRequest, HistoryEntry};

#[derive(Debug, Clone, Copy)]
pub(crate) struct Prepared {
    pub start: DateTime<FixedOffset>,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    /// Seconds from start to end, or through the request day for a repair in progress.
    pub secs: i64,
    /// Calendar days from the start date to the end (or request) date, both included.
    pub calendar_days: i64,
}

impl Prepared {
    fn new(h: &HistoryEntry, request_date: NaiveDate) -> Self {
        let start_date = local_date(h.start);
        let end_date = h.end.map(local_date);
        Prepared {
            start: h.start,
            start_date,
            end_date,
            secs: span_seconds(h.start, h.end, request_date),
            calendar_days: calendar_days(start_date, end_date.unwrap_or(request_date)),
        }
    }

    /// Days of the repair under the policy's counting, waiting for parts included.
    pub fn days(&self, counting: RepairDayCounting) -> i64 {
        match counting {
            RepairDayCounting::CalendarDays => self.calendar_days,
            RepairDayCounting::Per24h => per24h_days(self.secs),
        }
    }

    /// 43号 art. 24/40: 24-hour days after removing the hours that do not count.
    pub fn counted_days(&self, excluded_hours: f64) -> i64 {
        let excluded = (excluded_hours.max(0.0) * 3600.0).min(i64::MAX as f64) as i64;
        per24h_days(self.secs.saturating_sub(excluded))
    }
}

/// Calls `f` with the prepared entries of `req.history`, on the stack for typical histories.
pub(crate) fn with_prepared<R>(req: &EvaluateRequest, f: impl FnOnce(&[Prepared]) -> R) -> R {
    const INLINE: usize = 8;
    let n = req.history.len();
    let prepare = |h| Prepared::new(h, req.request_date);
    if n <= INLINE {
        let mut buf = [PLACEHOLDER; INLINE];
        for (slot, h) in buf.iter_mut().zip(&req.history) {
            *slot = prepare(h);
        }
        f(&buf[..n])
    } else {
        let v: Vec<Prepared> = req.history.iter().map(prepare).collect();
        f(&v)
    }
}

const PLACEHOLDER: Prepared = Prepared {
    start: DateTime::from_naive_utc_and_offset(NaiveDateTime::MIN, FixedOffset::east_opt(0).unwrap()),
    start_date: NaiveDate::MIN,
    end_date: None,
    secs: 0,
    calendar_days: 0,
};
