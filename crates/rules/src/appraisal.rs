//! Monthly staff appraisal (员工考核, R9.4, RULES §7): "self-assessment 30 %, manager 70 %;
//! monthly ranking; first place rewarded, last place penalised; three months last → transfer
//! considered". The seeds' 客服绩效管理方案 adds: the last places analyse why they fell behind
//! and hand in an improvement plan within a week of the results.
//!
//! Here is everything that decides: a measured KPI's score against its target under a named
//! scoring rule, the KPI score as the weighted mean of a scheme's items, the final score from the
//! self and manager assessments, when the manager must give a reason for departing from the
//! measured score, the ranking of a role's month with ties, who is rewarded, who must hand in a
//! plan and by when, and when a transfer is to be considered. The application counts the facts
//! (orders, clocks, surveys, visits, picks) per person and month.

use chrono::{NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};

use crate::metrics::Direction;

coded!(
    /// A KPI measured per person and month from the system's data.
    Kpi {
        /// Engineer: his orders' on-site clocks met per on-site clock decided (met, late or breached).
        OnSiteOnTime = "on_site_on_time", "按时到场率", "On site within target";
        /// Engineer: his jobs completed in the month not repeated (same unit and fault) within 30 days.
        FirstTimeFix = "first_time_fix", "一次修复率", "First-time fix rate";
        /// Engineer: satisfied answers (4–5 of 5) per answered survey of his jobs.
        Satisfaction = "satisfaction", "顾客满意率", "Satisfaction rate";
        /// Engineer: orders he completed in the month, against a count.
        CompletedOrders = "completed_orders", "完成工单数", "Orders completed";
        /// Engineer: his jobs of the month that had to be repeated within 30 days (lower is better).
        RepeatRepairRate = "repeat_repair_rate", "返修率", "Repeat-repair rate";
        /// Dispatcher: first-reply clocks of the requests he registered (took the call) met per decided.
        ReplyOnTime = "reply_on_time", "按时答复率", "Replied within target";
        /// Dispatcher: follow-up visits due in the month done by him by their due day, per visit he
        /// did or still has open.
        VisitsOnTime = "visits_on_time", "回访按时完成率", "Follow-up visits on time";
        /// Warehouse: his picks not returned as the wrong part, per pick.
        PickingAccuracy = "picking_accuracy", "拣货准确率", "Picking accuracy";
        /// Quality: corrective actions he owns closed in the month per action due in it.
        ActionsClosed = "actions_closed", "纠正措施按期关闭率", "Corrective actions closed on time";
    }
);

/// How a KPI is shown and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KpiUnit {
    Percent,
    Count,
}

impl Kpi {
    pub const fn direction(self) -> Direction {
        match self {
            Kpi::RepeatRepairRate => Direction::AtMost,
            _ => Direction::AtLeast,
        }
    }

    pub const fn unit(self) -> KpiUnit {
        match self {
            Kpi::CompletedOrders => KpiUnit::Count,
            _ => KpiUnit::Percent,
        }
    }

    /// The seeds' target (RULES §7) where there is one, otherwise a company default.
    pub const fn default_target(self) -> f64 {
        match self {
            Kpi::OnSiteOnTime | Kpi::ReplyOnTime | Kpi::VisitsOnTime | Kpi::ActionsClosed => 100.0,
            Kpi::FirstTimeFix => 95.0,
            Kpi::Satisfaction => 90.0,
            Kpi::CompletedOrders => 40.0,
            Kpi::RepeatRepairRate => 2.0,
            Kpi::PickingAccuracy => 98.0,
        }
    }

    /// The value from counts: a rate in % (None without anything counted) or the count.
    pub fn value(self, numerator: i64, denominator: i64) -> Option<f64> {
        match self.unit() {
            KpiUnit::Count => Some(numerator as f64),
            KpiUnit::Percent => (denominator > 0).then(|| numerator as f64 * 100.0 / denominator as f64),
        }
    }
}

coded!(
    /// How a measured value becomes a 0–100 item score.
    ScoreRule {
        /// In proportion: actual ÷ target × 100 (at-least), or 100 less the overrun in % of the
        /// target (at-most), capped to 0–100.
        Linear = "linear", "按比例计分", "Proportional";
        /// 100 when the target is met, 0 otherwise.
        Threshold = "threshold", "达标计分", "Met or not";
        /// 100 when met; 20 points off for every started 5 points (percent) or 5 % of the target
        /// (counts) short of it.
        Stepped = "stepped", "分档计分", "Stepped";
    }
);

/// Round to two decimals (scores are shown and compared at this precision).
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Whether `actual` meets `target` in the KPI's direction.
pub fn meets(kpi: Kpi, actual: f64, target: f64) -> bool {
    match kpi.direction() {
        Direction::AtLeast => actual >= target - 1e-9,
        Direction::AtMost => actual <= target + 1e-9,
    }
}

/// The item score (0–100) of a measured value under a rule; None without a value.
pub fn item_score(kpi: Kpi, rule: ScoreRule, actual: Option<f64>, target: f64) -> Option<f64> {
    let a = actual?;
    if meets(kpi, a, target) {
        return Some(100.0);
    }
    let s = match rule {
        ScoreRule::Threshold => 0.0,
        ScoreRule::Linear => match kpi.direction() {
            Direction::AtLeast => {
                if target <= 0.0 {
                    100.0
                } else {
                    a / target * 100.0
                }
            }
            Direction::AtMost => {
                if target <= 0.0 {
                    0.0
                } else {
                    100.0 - (a - target) / target * 100.0
                }
            }
        },
        ScoreRule::Stepped => {
            let short = match kpi.direction() {
                Direction::AtLeast => target - a,
                Direction::AtMost => a - target,
            };
            let step = match kpi.unit() {
                KpiUnit::Percent => 5.0,
                KpiUnit::Count => (target.abs() * 0.05).max(1.0),
            };
            100.0 - 20.0 * (short / step - 1e-9).ceil()
        }
    };
    Some(round2(s.clamp(0.0, 100.0)))
}

/// One scheme item as scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemScore {
    pub weight: f64,
    /// None: nothing to measure this month (the item is left out and the others reweighted).
    pub score: Option<f64>,
}

/// The KPI score: the weighted mean of the items that have a score (the items without data are
/// left out and the remaining weights count in full). None when no item has data.
pub fn kpi_score(items: &[ItemScore]) -> Option<f64> {
    let (mut sum, mut weights) = (0.0, 0.0);
    for i in items {
        if let Some(s) = i.score
            && i.weight > 0.0
        {
            sum += s * i.weight;
            weights += i.weight;
        }
    }
    (weights > 0.0).then(|| round2(sum / weights))
}

/// Company settings of the appraisal (kept in the settings table, editable by managers).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// % of the final score from the self-assessment (RULES §7: 30).
    pub self_weight: f64,
    /// % from the manager (RULES §7: 70).
    pub manager_weight: f64,
    /// Points the manager may depart from the measured KPI score without a reason.
    pub margin: f64,
    /// How many places from the bottom need a reason and an improvement plan.
    pub last_places: usize,
    /// Days after the results to hand the plan in (the seeds: one week).
    pub plan_days: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { self_weight: 30.0, manager_weight: 70.0, margin: 10.0, last_places: 1, plan_days: 7 }
    }
}

pub const RULE_WEIGHTS: &str = "RULES §7 自评 30 % / 上级 70 % · self 30 % / manager 70 %";
pub const RULE_RANKING: &str = "RULES §7 月度排名 · monthly ranking";
pub const RULE_REWARD: &str = "RULES §7 第一名奖励 · first place rewarded";
pub const RULE_LAST: &str =
    "RULES §7 末位处罚，一周内提交整改方案 · last place penalised, improvement plan within a week";
pub const RULE_TRANSFER: &str = "RULES §7 连续三个月末位，考虑调岗 · three months last → transfer considered";
pub const RULE_DEPARTURE: &str = "R9.4 偏离测评分需说明理由 · departing from the measured score needs a reason";

impl Settings {
    /// Field errors of settings a manager typed (weights 0–100 summing to 100, margin 0–100,
    /// last places 0–10, plan days 1–60).
    pub fn errors(&self) -> Vec<(&'static str, &'static str)> {
        let mut out = vec![];
        let pct = |x: f64| x.is_finite() && (0.0..=100.0).contains(&x);
        if !pct(self.self_weight) {
            out.push(("self_weight", "appraisal.error.weight"));
        }
        if !pct(self.manager_weight) {
            out.push(("manager_weight", "appraisal.error.weight"));
        } else if pct(self.self_weight) && (self.self_weight + self.manager_weight - 100.0).abs() > 1e-6 {
            out.push(("manager_weight", "appraisal.error.weights_sum"));
        }
        if !pct(self.margin) {
            out.push(("margin", "appraisal.error.margin"));
        }
        if self.last_places > 10 {
            out.push(("last_places", "appraisal.error.last_places"));
        }
        if !(1..=60).contains(&self.plan_days) {
            out.push(("plan_days", "appraisal.error.plan_days"));
        }
        out
    }

    /// final = self × self weight + manager × manager weight (RULES §7).
    pub fn final_score(&self, self_score: f64, manager_score: f64) -> f64 {
        round2((self_score * self.self_weight + manager_score * self.manager_weight) / 100.0)
    }

    /// Whether the manager's score departs from the measured KPI score by more than the margin,
    /// so that he must say why (no measured score: nothing to depart from).
    pub fn needs_reason(&self, kpi: Option<f64>, manager_score: f64) -> bool {
        kpi.is_some_and(|k| (manager_score - k).abs() > self.margin + 1e-9)
    }
}

/// Whether a score typed by a person is a valid 0–100 score.
pub fn valid_score(s: f64) -> bool {
    s.is_finite() && (0.0..=100.0).contains(&s)
}

/// A person's scores in a closed month, to rank.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub user_id: i64,
    pub final_score: f64,
    pub kpi_score: Option<f64>,
    pub manager_score: f64,
}

/// A person's place in the month's ranking and what follows from it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Placed {
    pub user_id: i64,
    /// 1 = best; tied people share the better place (1, 2, 2, 4).
    pub rank: usize,
    /// First place (RULES §7): rewarded.
    pub reward: bool,
    /// Among the last places: penalised, reason and improvement plan due.
    pub last: bool,
    /// How the place was decided, with the rules named.
    pub rule: String,
}

/// Ranks a role's month: by final score; equal final scores by the measured KPI score, then by
/// the manager's score; people equal on all three share the place. Place 1 is rewarded; the
/// people whose place counted from the bottom is within `last_places` are the last places.
/// Nobody is rewarded or penalised when fewer than two are ranked or everyone ties.
pub fn rank(entries: &[Entry], last_places: usize) -> Vec<Placed> {
    let key = |e: &Entry| (round2(e.final_score), e.kpi_score.map(round2).unwrap_or(-1.0), round2(e.manager_score));
    let mut order: Vec<&Entry> = entries.iter().collect();
    order.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        kb.0.total_cmp(&ka.0).then(kb.1.total_cmp(&ka.1)).then(kb.2.total_cmp(&ka.2)).then(a.user_id.cmp(&b.user_id))
    });
    let n = order.len();
    let all_tied = n > 0 && order.iter().all(|e| key(e) == key(order[0]));
    let consequences = n >= 2 && !all_tied;
    let mut out = Vec::with_capacity(n);
    for e in &order {
        let k = key(e);
        let better = order.iter().filter(|o| key(o) > k).count();
        let worse = order.iter().filter(|o| key(o) < k).count();
        let rank = better + 1;
        let from_bottom = worse + 1;
        let tied_final = order.iter().filter(|o| key(o).0 == k.0).count() > 1;
        let reward = consequences && rank == 1;
        let last = consequences && !reward && from_bottom <= last_places;
        let mut rule = format!("{RULE_RANKING}: {} / {n}", rank);
        if tied_final {
            let shared = order.iter().filter(|o| key(o) == k).count() > 1;
            rule.push_str(if shared {
                " · 总分、测评分和上级评分均相同，名次并列 · equal on final, KPI and manager scores: shared place"
            } else {
                " · 总分相同，按测评分、再按上级评分排序 · equal final score: decided by KPI score, then manager score"
            });
        }
        if !consequences && n > 0 {
            rule.push_str(" · 不足两人或全部并列，不奖不罚 · fewer than two or all tied: no reward, no penalty");
        }
        if reward {
            rule.push_str(&format!(" · {RULE_REWARD}"));
        }
        if last {
            rule.push_str(&format!(" · {RULE_LAST}"));
        }
        out.push(Placed { user_id: e.user_id, rank, reward, last, rule });
    }
    out
}

/// Months in a row ending with this one in which the person was among the last places, given
/// whether he was last in the months before it, most recent first (a month without a closed
/// appraisal breaks the run).
pub fn last_streak(last_now: bool, before: &[Option<bool>]) -> u32 {
    if !last_now {
        return 0;
    }
    1 + before.iter().take_while(|b| **b == Some(true)).count() as u32
}

/// Three months last in a row: a transfer is to be considered (RULES §7).
pub fn transfer_considered(streak: u32) -> bool {
    streak >= 3
}

/// The day the improvement plan is due: `plan_days` after the day the month's results were out.
pub fn plan_due(results_on: NaiveDate, plan_days: i64) -> NaiveDate {
    results_on + TimeDelta::days(plan_days)
}

/// An improvement plan not handed in after its due day.
pub fn plan_overdue(due: Option<NaiveDate>, handed_in: bool, today: NaiveDate) -> bool {
    !handed_in && due.is_some_and(|d| today > d)
}

/// `2026-11` → its first and last day.
pub fn month_range(month: &str) -> Option<(NaiveDate, NaiveDate)> {
    let (y, m) = month.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    let first = NaiveDate::from_ymd_opt(y, m, 1)?;
    let next = if m == 12 { NaiveDate::from_ymd_opt(y + 1, 1, 1)? } else { NaiveDate::from_ymd_opt(y, m + 1, 1)? };
    Some((first, next - TimeDelta::days(1)))
}

/// The month before `2026-11` (`2026-10`).
pub fn previous_month(month: &str) -> Option<String> {
    let (first, _) = month_range(month)?;
    let prev = first - TimeDelta::days(1);
    Some(prev.format("%Y-%m").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    fn e(user_id: i64, final_score: f64, kpi: Option<f64>, manager: f64) -> Entry {
        Entry { user_id, final_score, kpi_score: kpi, manager_score: manager }
    }

    #[test]
    fn codes_round_trip_and_defaults() {
        for k in Kpi::ALL {
            assert_eq!(Kpi::parse(k.code()), Some(*k));
        }
        for r in ScoreRule::ALL {
            assert_eq!(ScoreRule::parse(r.code()), Some(*r));
        }
        assert_eq!(Kpi::Satisfaction.default_target(), 90.0);
        assert_eq!(Kpi::RepeatRepairRate.direction(), Direction::AtMost);
        assert_eq!(Kpi::Satisfaction.value(9, 10), Some(90.0));
        assert_eq!(Kpi::Satisfaction.value(0, 0), None, "no answers, no rate");
        assert_eq!(Kpi::CompletedOrders.value(0, 0), Some(0.0), "no orders is a count of 0");
    }

    #[test]
    fn item_scores_under_each_rule() {
        use ScoreRule::*;
        // At least: 81 % of a 90 % target.
        assert_eq!(item_score(Kpi::Satisfaction, Linear, Some(81.0), 90.0), Some(90.0));
        assert_eq!(item_score(Kpi::Satisfaction, Threshold, Some(81.0), 90.0), Some(0.0));
        // 9 points short: two started steps of 5 → 60.
        assert_eq!(item_score(Kpi::Satisfaction, Stepped, Some(81.0), 90.0), Some(60.0));
        assert_eq!(item_score(Kpi::Satisfaction, Stepped, Some(85.0), 90.0), Some(80.0), "exactly one step");
        assert_eq!(item_score(Kpi::Satisfaction, Linear, Some(95.0), 90.0), Some(100.0), "capped at 100");
        assert_eq!(item_score(Kpi::Satisfaction, Linear, None, 90.0), None);
        // Counts: 30 of 40 orders.
        assert_eq!(item_score(Kpi::CompletedOrders, Linear, Some(30.0), 40.0), Some(75.0));
        // 10 short, steps of 2 orders → 5 steps → 0.
        assert_eq!(item_score(Kpi::CompletedOrders, Stepped, Some(30.0), 40.0), Some(0.0));
        // At most: 3 % repeats against 2 % is 50 % over.
        assert_eq!(item_score(Kpi::RepeatRepairRate, Linear, Some(3.0), 2.0), Some(50.0));
        assert_eq!(item_score(Kpi::RepeatRepairRate, Threshold, Some(2.0), 2.0), Some(100.0));
        assert_eq!(item_score(Kpi::RepeatRepairRate, Linear, Some(10.0), 2.0), Some(0.0), "never below 0");
    }

    #[test]
    fn kpi_score_is_the_weighted_mean_of_items_with_data() {
        let items = [
            ItemScore { weight: 25.0, score: Some(100.0) },
            ItemScore { weight: 25.0, score: Some(60.0) },
            ItemScore { weight: 50.0, score: Some(80.0) },
        ];
        assert_eq!(kpi_score(&items), Some(80.0));
        // The satisfaction item has no answers this month: the others count in full.
        let items = [ItemScore { weight: 30.0, score: Some(90.0) }, ItemScore { weight: 70.0, score: None }];
        assert_eq!(kpi_score(&items), Some(90.0));
        assert_eq!(kpi_score(&[ItemScore { weight: 10.0, score: None }]), None);
        assert_eq!(kpi_score(&[]), None);
    }

    #[test]
    fn final_score_and_departure_from_the_measured_score() {
        let s = Settings::default();
        assert_eq!((s.self_weight, s.manager_weight, s.last_places, s.plan_days), (30.0, 70.0, 1, 7));
        assert_eq!(s.final_score(90.0, 80.0), 83.0);
        assert_eq!(s.final_score(100.0, 0.0), 30.0);
        let s2 = Settings { self_weight: 20.0, manager_weight: 80.0, ..s };
        assert_eq!(s2.final_score(90.0, 80.0), 82.0);
        assert!(!s.needs_reason(Some(75.0), 85.0), "exactly the margin of 10");
        assert!(s.needs_reason(Some(75.0), 85.5));
        assert!(s.needs_reason(Some(75.0), 60.0));
        assert!(!s.needs_reason(None, 10.0), "nothing measured, nothing to depart from");
        assert!(s.errors().is_empty());
        let bad = Settings { self_weight: 40.0, manager_weight: 70.0, margin: -1.0, last_places: 11, plan_days: 0 };
        let fields: Vec<&str> = bad.errors().iter().map(|e| e.0).collect();
        assert_eq!(fields, ["manager_weight", "margin", "last_places", "plan_days"]);
        assert!(valid_score(0.0) && valid_score(100.0) && !valid_score(100.5) && !valid_score(f64::NAN));
    }

    #[test]
    fn ranking_with_ties() {
        let placed = rank(
            &[
                e(1, 80.0, Some(70.0), 80.0),
                e(2, 90.0, Some(90.0), 90.0),
                e(3, 80.0, Some(75.0), 80.0),
                e(4, 60.0, Some(50.0), 60.0),
            ],
            1,
        );
        let order: Vec<(i64, usize, bool, bool)> =
            placed.iter().map(|p| (p.user_id, p.rank, p.reward, p.last)).collect();
        // 1 and 3 tie on 80: the better KPI score (3) goes first.
        assert_eq!(order, [(2, 1, true, false), (3, 2, false, false), (1, 3, false, false), (4, 4, false, true)]);
        assert!(placed[1].rule.contains("KPI score"));
        assert!(placed[0].rule.contains("RULES §7"));
        // Fully equal people share the place, and both are last.
        let placed =
            rank(&[e(1, 90.0, Some(90.0), 90.0), e(2, 70.0, Some(70.0), 70.0), e(3, 70.0, Some(70.0), 70.0)], 1);
        let order: Vec<(i64, usize, bool, bool)> =
            placed.iter().map(|p| (p.user_id, p.rank, p.reward, p.last)).collect();
        assert_eq!(order, [(1, 1, true, false), (2, 2, false, true), (3, 2, false, true)]);
        assert!(placed[1].rule.contains("shared place"));
        // Two last places; shared first places are all rewarded.
        let placed =
            rank(&[e(1, 90.0, None, 90.0), e(2, 90.0, None, 90.0), e(3, 80.0, None, 80.0), e(4, 70.0, None, 70.0)], 2);
        let flags: Vec<(usize, bool, bool)> = placed.iter().map(|p| (p.rank, p.reward, p.last)).collect();
        assert_eq!(flags, [(1, true, false), (1, true, false), (3, false, true), (4, false, true)]);
        // One person, or everyone tied: no reward, no penalty.
        let one = rank(&[e(1, 50.0, None, 50.0)], 1);
        assert_eq!((one[0].rank, one[0].reward, one[0].last), (1, false, false));
        let tied = rank(&[e(1, 50.0, None, 50.0), e(2, 50.0, None, 50.0)], 1);
        assert!(tied.iter().all(|p| p.rank == 1 && !p.reward && !p.last));
        assert!(rank(&[], 1).is_empty());
        // No last places asked for.
        assert!(rank(&[e(1, 90.0, None, 90.0), e(2, 10.0, None, 10.0)], 0).iter().all(|p| !p.last));
    }

    #[test]
    fn three_months_last_in_a_row() {
        assert_eq!(last_streak(true, &[]), 1);
        assert_eq!(last_streak(true, &[Some(true)]), 2);
        assert_eq!(last_streak(true, &[Some(true), Some(true)]), 3);
        assert!(transfer_considered(last_streak(true, &[Some(true), Some(true)])));
        assert_eq!(last_streak(true, &[Some(true), Some(false), Some(true)]), 2);
        assert_eq!(last_streak(true, &[None, Some(true)]), 1, "a month not appraised breaks the run");
        assert_eq!(last_streak(false, &[Some(true), Some(true)]), 0);
        assert!(!transfer_considered(2));
    }

    #[test]
    fn plan_deadline_and_overdue() {
        let due = plan_due(d(12, 1), 7);
        assert_eq!(due, d(12, 8));
        assert!(!plan_overdue(Some(due), false, d(12, 8)), "due day itself is in time");
        assert!(plan_overdue(Some(due), false, d(12, 9)));
        assert!(!plan_overdue(Some(due), true, d(12, 30)));
        assert!(!plan_overdue(None, false, d(12, 30)));
    }

    #[test]
    fn months() {
        assert_eq!(month_range("2026-02"), Some((d(2, 1), d(2, 28))));
        assert_eq!(month_range("2026-12"), Some((d(12, 1), d(12, 31))));
        assert_eq!(month_range("2026-13"), None);
        assert_eq!(month_range("26-1"), None);
        assert_eq!(previous_month("2026-01").as_deref(), Some("2025-12"));
    }
}
