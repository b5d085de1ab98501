//! Reporting periods of the management dashboard (R9.5): a quarter (`2026Q3`), a month
//! (`2026-07`) or a range of days, each resolved to its first and last day; and the monthly
//! buckets of a trend. Pure: "today" is an argument.

use chrono::{Datelike, Months, NaiveDate};

/// The longest range of days a dashboard covers (a little over two years).
pub const MAX_DAYS: i64 = 800;

/// A resolved period: its days `from..=to`, how it was asked for and its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// quarter | month | range
    pub kind: &'static str,
    /// `2026Q3`, `2026-07` or `2026-07-01..2026-08-15`.
    pub label: String,
}

/// Why a period was refused, with the field to mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodError {
    pub field: &'static str,
    pub rule: &'static str,
}

/// The quarter of a day: `(year, 1..=4)`.
pub fn quarter_of(day: NaiveDate) -> (i32, u32) {
    (day.year(), day.month0() / 3 + 1)
}

/// `2026Q3`, `2026-Q3` or `2026q3` → the quarter's first and last day.
pub fn parse_quarter(s: &str) -> Option<(i32, u32)> {
    let s = s.trim();
    let (y, q) = s.split_once(['Q', 'q'])?;
    let y = y.trim_end_matches('-');
    if y.len() != 4 || q.len() != 1 {
        return None;
    }
    let year: i32 = y.parse().ok()?;
    let q: u32 = q.parse().ok()?;
    ((1..=4).contains(&q) && (2000..=2100).contains(&year)).then_some((year, q))
}

pub fn quarter_days(year: i32, q: u32) -> Option<(NaiveDate, NaiveDate)> {
    let first = NaiveDate::from_ymd_opt(year, (q - 1) * 3 + 1, 1)?;
    let last = first.checked_add_months(Months::new(3))?.pred_opt()?;
    Some((first, last))
}

/// `2026-07` → the month's first and last day.
pub fn parse_month(s: &str) -> Option<(NaiveDate, NaiveDate)> {
    let (y, m) = s.trim().split_once('-')?;
    if y.len() != 4 || m.is_empty() || m.len() > 2 {
        return None;
    }
    let year: i32 = y.parse().ok()?;
    if !(2000..=2100).contains(&year) {
        return None;
    }
    let first = NaiveDate::from_ymd_opt(year, m.parse().ok()?, 1)?;
    Some((first, first.checked_add_months(Months::new(1))?.pred_opt()?))
}

/// The period asked for, in order of precedence: explicit days (`from`/`to`, either may be
/// left out: from the quarter's first day, to today), a month, a quarter; none of them: the
/// current quarter. Rule `dashboard.period`: at most [`MAX_DAYS`] days, `from` not after `to`.
pub fn resolve(
    quarter: Option<&str>,
    month: Option<&str>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<Period, PeriodError> {
    let quarter = quarter.map(str::trim).filter(|s| !s.is_empty());
    let month = month.map(str::trim).filter(|s| !s.is_empty());
    let p = if from.is_some() || to.is_some() {
        let (y, q) = quarter_of(today);
        let to = to.unwrap_or(today);
        let from = from.unwrap_or_else(|| quarter_days(y, q).map(|d| d.0).unwrap_or(today).min(to));
        Period { from, to, kind: "range", label: format!("{from}..{to}") }
    } else if let Some(m) = month {
        let (from, to) = parse_month(m).ok_or(PeriodError { field: "month", rule: "dashboard.period.month" })?;
        Period { from, to, kind: "month", label: from.format("%Y-%m").to_string() }
    } else {
        let (year, q) = match quarter {
            Some(s) => parse_quarter(s).ok_or(PeriodError { field: "quarter", rule: "dashboard.period.quarter" })?,
            None => quarter_of(today),
        };
        let (from, to) =
            quarter_days(year, q).ok_or(PeriodError { field: "quarter", rule: "dashboard.period.quarter" })?;
        Period { from, to, kind: "quarter", label: format!("{year}Q{q}") }
    };
    if p.from > p.to {
        return Err(PeriodError { field: "from", rule: "dashboard.period.order" });
    }
    if (p.to - p.from).num_days() + 1 > MAX_DAYS {
        return Err(PeriodError { field: "to", rule: "dashboard.period.length" });
    }
    Ok(p)
}

/// The quarters before and after a quarter label, for the picker's arrows.
pub fn neighbours(year: i32, q: u32) -> (String, String) {
    let prev = if q == 1 { (year - 1, 4) } else { (year, q - 1) };
    let next = if q == 4 { (year + 1, 1) } else { (year, q + 1) };
    (format!("{}Q{}", prev.0, prev.1), format!("{}Q{}", next.0, next.1))
}

/// The `n` months ending with the month of `last` (oldest first), as their first days.
pub fn months_ending(last: NaiveDate, n: u32) -> Vec<NaiveDate> {
    let Some(end) = last.with_day(1) else { return vec![] };
    (0..n).rev().filter_map(|k| end.checked_sub_months(Months::new(k))).collect()
}

/// Sums per-day `(day, a, b)` values into the months given (first days, oldest first); days
/// outside every month are ignored.
pub fn by_month(days: &[(NaiveDate, i64, i64)], months: &[NaiveDate]) -> Vec<(NaiveDate, i64, i64)> {
    let mut out: Vec<(NaiveDate, i64, i64)> = months.iter().map(|m| (*m, 0, 0)).collect();
    for &(d, a, b) in days {
        if let Some(first) = d.with_day(1)
            && let Some(slot) = out.iter_mut().find(|s| s.0 == first)
        {
            slot.1 += a;
            slot.2 += b;
        }
    }
    out
}

/// A share in percent with one decimal, or None when nothing was counted.
pub fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn quarters_parse_in_their_usual_spellings() {
        assert_eq!(parse_quarter("2026Q3"), Some((2026, 3)));
        assert_eq!(parse_quarter("2026-q1"), Some((2026, 1)));
        assert_eq!(parse_quarter("2026Q5"), None);
        assert_eq!(parse_quarter("26Q1"), None);
        assert_eq!(parse_quarter("Q1"), None);
        assert_eq!(quarter_days(2026, 4), Some((d("2026-10-01"), d("2026-12-31"))));
        assert_eq!(quarter_days(2024, 1), Some((d("2024-01-01"), d("2024-03-31"))));
    }

    #[test]
    fn the_default_is_the_current_quarter() {
        let p = resolve(None, None, None, None, d("2026-12-06")).unwrap();
        assert_eq!((p.from, p.to, p.kind, p.label.as_str()), (d("2026-10-01"), d("2026-12-31"), "quarter", "2026Q4"));
        let p = resolve(Some(""), Some(" "), None, None, d("2026-02-28")).unwrap();
        assert_eq!(p.label, "2026Q1");
    }

    #[test]
    fn days_win_over_a_month_which_wins_over_a_quarter() {
        let today = d("2026-12-06");
        let p = resolve(Some("2026Q1"), Some("2026-02"), None, None, today).unwrap();
        assert_eq!((p.from, p.to, p.kind), (d("2026-02-01"), d("2026-02-28"), "month"));
        let p = resolve(Some("2026Q1"), Some("2026-02"), Some(d("2026-11-01")), None, today).unwrap();
        assert_eq!((p.from, p.to, p.kind), (d("2026-11-01"), today, "range"));
        let p = resolve(None, None, None, Some(d("2026-11-15")), today).unwrap();
        assert_eq!((p.from, p.to), (d("2026-10-01"), d("2026-11-15")));
    }

    #[test]
    fn bad_periods_name_the_field_and_rule() {
        let today = d("2026-12-06");
        assert_eq!(resolve(Some("2026Q9"), None, None, None, today).unwrap_err().field, "quarter");
        assert_eq!(resolve(None, Some("2026-13"), None, None, today).unwrap_err().field, "month");
        let e = resolve(None, None, Some(d("2026-12-07")), Some(d("2026-12-01")), today).unwrap_err();
        assert_eq!((e.field, e.rule), ("from", "dashboard.period.order"));
        let e = resolve(None, None, Some(d("2020-01-01")), Some(d("2026-12-01")), today).unwrap_err();
        assert_eq!(e.rule, "dashboard.period.length");
    }

    #[test]
    fn months_and_buckets() {
        let m = months_ending(d("2026-02-14"), 3);
        assert_eq!(m, vec![d("2025-12-01"), d("2026-01-01"), d("2026-02-01")]);
        let days = [(d("2025-12-31"), 2, 1), (d("2026-01-01"), 3, 3), (d("2026-01-31"), 1, 0), (d("2026-03-01"), 9, 9)];
        assert_eq!(
            by_month(&days, &m),
            vec![(d("2025-12-01"), 2, 1), (d("2026-01-01"), 4, 3), (d("2026-02-01"), 0, 0)]
        );
        assert_eq!(neighbours(2026, 1), ("2025Q4".to_string(), "2026Q2".to_string()));
        assert_eq!(neighbours(2026, 4).1, "2027Q1");
    }

    #[test]
    fn percent_rounds_to_one_decimal_and_needs_a_whole() {
        assert_eq!(percent(2, 3), Some(66.7));
        assert_eq!(percent(0, 0), None);
        assert_eq!(percent(5, 5), Some(100.0));
    }
}
