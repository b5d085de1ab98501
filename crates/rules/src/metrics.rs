//! The built-in metrics of service objectives (R9.1, RULES §7): what each measures, which way is
//! better, the seeds' default target, how actual values are computed from counted facts, and
//! whether an actual meets its target. The application counts the facts (orders, visits,
//! complaints, picks) per period; everything that decides is here, named and tested.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

coded!(
    /// A measured service metric.
    Metric {
        /// Requests answered within the reply target (RULES §7: 1 working hour).
        ReplyOnTime = "reply_on_time", "按时答复率", "Replied within target";
        /// Orders with the engineer on site within the on-site target.
        OnSiteOnTime = "on_site_on_time", "按时到场率", "On site within target";
        /// Satisfied survey answers (4–5 of 5) per answer (RULES §7: ≥ 90 %, another company ≥ 98 %).
        Satisfaction = "satisfaction", "顾客满意率", "Satisfaction rate";
        /// In-warranty visits done per in-warranty visit due (RULES §7: 100 %).
        RevisitRate = "revisit_rate", "保修期内回访率", "In-warranty revisit rate";
        /// Completed jobs that repeat an earlier job on the same unit with the same fault code within N days (RULES §7: < 2 %).
        RepeatRepairRate = "repeat_repair_rate", "返修率", "Repeat-repair rate";
        /// Major complaints registered (RULES §7: none in a year).
        MajorComplaints = "major_complaints", "重大投诉次数", "Major complaints";
        /// Right picks per pick (RULES §7: ≥ 98 %).
        PickingAccuracy = "picking_accuracy", "配件拣货准确率", "Parts picking accuracy";
        /// Service-level promises kept per promise due.
        SlaCompliance = "sla_compliance", "服务时限达成率", "SLA compliance";
        /// Completed jobs not followed by a repeat repair within N days.
        FirstTimeFix = "first_time_fix", "一次修复率", "First-time fix rate";
        /// Parts, labour and travel per completed order, in yuan.
        AverageCost = "average_cost", "单均服务成本", "Average cost per order";
    }
);

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Meets when actual ≥ target.
    AtLeast,
    /// Meets when actual ≤ target.
    AtMost,
}

/// How a value is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Percent,
    Count,
    Yuan,
}

impl Metric {
    pub const fn direction(self) -> Direction {
        use Metric::*;
        match self {
            RepeatRepairRate | MajorComplaints | AverageCost => Direction::AtMost,
            _ => Direction::AtLeast,
        }
    }

    pub const fn unit(self) -> Unit {
        match self {
            Metric::MajorComplaints => Unit::Count,
            Metric::AverageCost => Unit::Yuan,
            _ => Unit::Percent,
        }
    }

    /// The seeds' target (RULES §7) where they name one; a company parameter otherwise.
    pub const fn default_target(self) -> Option<f64> {
        use Metric::*;
        match self {
            ReplyOnTime | OnSiteOnTime | RevisitRate => Some(100.0),
            Satisfaction => Some(90.0),
            RepeatRepairRate => Some(2.0),
            MajorComplaints => Some(0.0),
            PickingAccuracy => Some(98.0),
            SlaCompliance | FirstTimeFix | AverageCost => None,
        }
    }

    /// The rule a figure names.
    pub fn rule(self) -> String {
        match self.default_target() {
            Some(_) => format!("RULES §7 {} / {}", self.name_zh(), self.name_en()),
            None => format!("R9.1 {} / {} (company objective)", self.name_zh(), self.name_en()),
        }
    }
}

/// Counted facts of a metric over a period: `numerator` of `denominator` for rates, the count
/// for counts, the total (in cents) over the orders for averages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub numerator: i64,
    pub denominator: i64,
}

/// A metric's actual value against its target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub metric: Metric,
    /// None without facts to compute it from (no rate rather than 0 %).
    pub actual: Option<f64>,
    pub target: Option<f64>,
    pub meets: Option<bool>,
    pub counts: Counts,
    pub rule: String,
}

/// The actual value of a metric from its counts.
pub fn actual(metric: Metric, c: Counts) -> Option<f64> {
    match metric.unit() {
        Unit::Count => Some(c.numerator as f64),
        Unit::Yuan => (c.denominator > 0).then(|| c.numerator as f64 / 100.0 / c.denominator as f64),
        Unit::Percent => (c.denominator > 0).then(|| c.numerator as f64 * 100.0 / c.denominator as f64),
    }
}

/// Whether `actual` meets `target` in the metric's direction (rates cross-multiplied with a
/// hair of tolerance, so 49 of 50 meets 98 % exactly).
pub fn meets(metric: Metric, actual: Option<f64>, target: Option<f64>) -> Option<bool> {
    let (a, t) = (actual?, target?);
    Some(match metric.direction() {
        Direction::AtLeast => a >= t - 1e-9,
        Direction::AtMost => a <= t + 1e-9,
    })
}

pub fn evaluate(metric: Metric, c: Counts, target: Option<f64>) -> Evaluation {
    let a = actual(metric, c);
    Evaluation { metric, actual: a, target, meets: meets(metric, a, target), counts: c, rule: metric.rule() }
}

/// Where a series of actual values is going, read in the metric's direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    Better,
    Worse,
    Steady,
    /// Fewer than two periods with a value.
    Unknown,
}

/// Compares the last period with a value to the one before it (a change under half a unit of
/// the metric is steady).
pub fn trend(metric: Metric, series: &[Option<f64>]) -> Trend {
    let mut values = series.iter().rev().filter_map(|v| *v);
    let (Some(last), Some(before)) = (values.next(), values.next()) else { return Trend::Unknown };
    let d = last - before;
    if d.abs() < 0.5 {
        return Trend::Steady;
    }
    match (metric.direction(), d > 0.0) {
        (Direction::AtLeast, true) | (Direction::AtMost, false) => Trend::Better,
        _ => Trend::Worse,
    }
}

/// One completed job as repeat-repair counting sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub order_id: i64,
    pub unit_id: Option<i64>,
    pub fault_code: Option<String>,
    pub completed_on: NaiveDate,
}

/// The jobs that repeat an earlier job on the same unit with the same fault code completed at
/// most `within_days` before (the repeat-repair rate's numerator; jobs without a unit or fault
/// code never repeat). Returns the repeating jobs' order ids with the order each repeats.
pub fn repeats(jobs: &[Job], within_days: i64) -> Vec<(i64, i64)> {
    let mut sorted: Vec<&Job> = jobs.iter().filter(|j| j.unit_id.is_some() && j.fault_code.is_some()).collect();
    sorted.sort_by_key(|j| (j.completed_on, j.order_id));
    let mut last: HashMap<(i64, &str), (NaiveDate, i64)> = HashMap::new();
    let mut out = vec![];
    for j in sorted {
        let key = (j.unit_id.unwrap_or_default(), j.fault_code.as_deref().unwrap_or_default());
        if let Some((day, order)) = last.get(&key)
            && (j.completed_on - *day).num_days() <= within_days
        {
            out.push((j.order_id, *order));
        }
        last.insert(key, (j.completed_on, j.order_id));
    }
    out
}

/// Repeat-repair and first-time-fix counts of the jobs completed in `[from, to]`: a job in the
/// period repeats when an earlier job (possibly before the period) fits [`repeats`]; a job is
/// fixed first time when no later job (possibly after the period) repeats it.
pub fn repair_counts(jobs: &[Job], within_days: i64, from: NaiveDate, to: NaiveDate) -> (Counts, Counts) {
    let pairs = repeats(jobs, within_days);
    let in_period: Vec<&Job> = jobs.iter().filter(|j| j.completed_on >= from && j.completed_on <= to).collect();
    let n = in_period.len() as i64;
    let repeating: std::collections::HashSet<i64> = pairs.iter().map(|(r, _)| *r).collect();
    let repeated: std::collections::HashSet<i64> = pairs.iter().map(|(_, o)| *o).collect();
    let rep = in_period.iter().filter(|j| repeating.contains(&j.order_id)).count() as i64;
    let ftf = in_period.iter().filter(|j| !repeated.contains(&j.order_id)).count() as i64;
    (Counts { numerator: rep, denominator: n }, Counts { numerator: ftf, denominator: n })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    fn job(order_id: i64, unit: i64, fault: &str, d: u32) -> Job {
        Job { order_id, unit_id: Some(unit), fault_code: Some(fault.into()), completed_on: day(d) }
    }

    #[test]
    fn codes_round_trip_with_names_and_rules() {
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.code()), Some(*m));
            assert!(m.rule().contains(m.name_zh()));
        }
        assert!(Metric::Satisfaction.rule().starts_with("RULES §7"));
        assert!(Metric::FirstTimeFix.rule().contains("company objective"));
    }

    #[test]
    fn rates_counts_and_averages() {
        let c = Counts { numerator: 49, denominator: 50 };
        assert_eq!(actual(Metric::PickingAccuracy, c), Some(98.0));
        assert_eq!(evaluate(Metric::PickingAccuracy, c, Some(98.0)).meets, Some(true));
        assert_eq!(actual(Metric::Satisfaction, Counts::default()), None, "no answers, no rate");
        assert_eq!(evaluate(Metric::Satisfaction, Counts::default(), Some(90.0)).meets, None);
        assert_eq!(actual(Metric::MajorComplaints, Counts { numerator: 0, denominator: 0 }), Some(0.0));
        assert_eq!(actual(Metric::AverageCost, Counts { numerator: 30_000, denominator: 2 }), Some(150.0));
    }

    #[test]
    fn lower_is_better_for_repeats_complaints_and_cost() {
        let e = evaluate(Metric::RepeatRepairRate, Counts { numerator: 1, denominator: 50 }, Some(2.0));
        assert_eq!(e.meets, Some(true), "2 % is not above 2 %");
        let e = evaluate(Metric::RepeatRepairRate, Counts { numerator: 2, denominator: 50 }, Some(2.0));
        assert_eq!(e.meets, Some(false));
        let e = evaluate(Metric::MajorComplaints, Counts { numerator: 1, denominator: 0 }, Some(0.0));
        assert_eq!(e.meets, Some(false), "one major complaint breaks the year's objective");
        assert_eq!(evaluate(Metric::SlaCompliance, Counts { numerator: 1, denominator: 1 }, None).meets, None);
    }

    #[test]
    fn trends_read_in_the_metrics_direction() {
        assert_eq!(trend(Metric::Satisfaction, &[Some(88.0), None, Some(92.0)]), Trend::Better);
        assert_eq!(trend(Metric::RepeatRepairRate, &[Some(1.0), Some(3.0)]), Trend::Worse);
        assert_eq!(trend(Metric::RepeatRepairRate, &[Some(3.0), Some(1.0)]), Trend::Better);
        assert_eq!(trend(Metric::Satisfaction, &[Some(90.0), Some(90.2)]), Trend::Steady);
        assert_eq!(trend(Metric::Satisfaction, &[None, Some(90.0)]), Trend::Unknown);
    }

    #[test]
    fn a_repeat_is_the_same_unit_and_fault_within_the_window() {
        let jobs = vec![
            job(1, 10, "E1", 1),
            job(2, 10, "E1", 20), // 19 days later: repeats 1
            job(3, 10, "E2", 21), // another fault
            job(4, 11, "E1", 21), // another unit
            job(5, 10, "E1", 31), // 11 days after 2: repeats 2
            Job { order_id: 6, unit_id: None, fault_code: Some("E1".into()), completed_on: day(2) },
        ];
        assert_eq!(repeats(&jobs, 30), vec![(2, 1), (5, 2)]);
        assert_eq!(repeats(&jobs, 10), vec![], "windows of 10 days: 19 and 11 days apart are not repeats");
    }

    #[test]
    fn repeat_and_first_time_fix_counts_of_a_period() {
        // Job 1 completed before the period is repeated by job 2 inside it; job 3 inside is
        // repeated by job 4 after it.
        let jobs = vec![job(1, 10, "E1", 1), job(2, 10, "E1", 10), job(3, 11, "E3", 12), job(4, 11, "E3", 25)];
        let (rep, ftf) = repair_counts(&jobs, 30, day(5), day(20));
        assert_eq!(rep, Counts { numerator: 1, denominator: 2 }, "job 2 repeats");
        assert_eq!(ftf, Counts { numerator: 1, denominator: 2 }, "job 3 was not fixed first time");
        assert_eq!(actual(Metric::RepeatRepairRate, rep), Some(50.0));
    }
}
