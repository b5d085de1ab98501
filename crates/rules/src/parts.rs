//! Spare parts (R8): what each kind of stock movement needs and what it does to the stock of the
//! locations it names, picking accuracy (RULES §7: ≥ 98 %), replenishment at the reorder point,
//! and the key-part failure alert (R8.2: catch batch problems early).
//!
//! Stock is kept in two bins per location: usable pieces and faulty pieces taken out of
//! customers' products (waiting to go back to the supplier or to be scrapped). No movement may
//! take a bin below zero; the application checks that with the stock row locked.

use serde::{Deserialize, Serialize};

use crate::FieldError;

coded!(
    /// The kinds of stock movement.
    MovementKind {
        /// Pieces arrive from a supplier (or opening stock).
        Receipt = "receipt", "入库", "Receipt";
        /// From one location to another, e.g. a warehouse picks an engineer's request into his van.
        Transfer = "transfer", "调拨", "Transfer";
        /// Taken from a location and fitted on a work order.
        Issue = "issue", "领用出库", "Issue to order";
        /// Issued to an order but not used: back into a location.
        ReturnUnused = "return_unused", "退回未用件", "Unused part returned";
        /// The faulty piece taken out of the customer's product: into a location's faulty bin.
        ReturnFaulty = "return_faulty", "旧件返回", "Faulty part returned";
        /// A wrong piece was picked: it goes back, and the pick counts as wrong.
        ReturnWrong = "return_wrong", "错发退回", "Wrong part returned";
        /// Usable pieces written off (damaged, expired).
        Scrap = "scrap", "报废", "Scrap";
        /// Faulty pieces sent back to the supplier or scrapped.
        DisposeFaulty = "dispose_faulty", "旧件处理", "Faulty parts disposed";
        /// A stock count found a different number: the signed difference.
        Adjust = "adjust", "盘点调整", "Count adjustment";
    }
);

/// Whether a movement names something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Required,
    Optional,
    Forbidden,
}

/// Which of a movement's fields a kind needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub from: Need,
    pub to: Need,
    pub order: Need,
    /// The earlier movement it refers to: the issue a return undoes, the pick a wrong part came from.
    pub reference: Need,
}

/// The stock of a location is split into usable and faulty pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bin {
    Usable,
    Faulty,
}

/// What one movement does to one bin of one location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Effect {
    pub warehouse: i64,
    pub bin: Bin,
    pub delta: i64,
}

impl MovementKind {
    pub const fn shape(self) -> Shape {
        use MovementKind::*;
        use Need::*;
        let (from, to, order, reference) = match self {
            Receipt => (Forbidden, Required, Forbidden, Forbidden),
            Transfer => (Required, Required, Optional, Forbidden),
            Issue => (Required, Forbidden, Required, Forbidden),
            ReturnUnused => (Forbidden, Required, Required, Required),
            ReturnFaulty => (Forbidden, Required, Required, Optional),
            // The wrong piece comes back from where it is now (a van) or from the order it was
            // issued to (no location), into a location.
            ReturnWrong => (Optional, Required, Optional, Required),
            Scrap | DisposeFaulty => (Required, Forbidden, Forbidden, Forbidden),
            Adjust => (Forbidden, Required, Forbidden, Forbidden),
        };
        Shape { from, to, order, reference }
    }

    /// Picks are what picking accuracy counts: pieces a location hands out.
    pub const fn is_pick(self) -> bool {
        matches!(self, MovementKind::Transfer | MovementKind::Issue)
    }

    /// Kinds a user posts directly; the others come from a work order or a request.
    pub const fn is_manual(self) -> bool {
        !matches!(self, MovementKind::Issue | MovementKind::ReturnUnused | MovementKind::ReturnFaulty)
    }
}

/// A movement as entered: the quantity and which references it carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MovementInput {
    pub qty: i64,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub order: Option<i64>,
    pub reference: Option<i64>,
    /// The part is serial-tracked: an issue names the piece fitted, a faulty return the piece taken out.
    pub serial_tracked: bool,
    pub serial: Option<String>,
    pub old_serial: Option<String>,
}

/// The most pieces one movement may carry (a typing slip of 1000000 is refused).
pub const MAX_QTY: i64 = 100_000;

fn need_error(field: &str, need: Need, present: bool, errors: &mut Vec<FieldError>) {
    match (need, present) {
        (Need::Required, false) => errors.push(FieldError::new(field, "必填", "Required")),
        (Need::Forbidden, true) => {
            errors.push(FieldError::new(field, "此类出入库不填写此项", "Not used by this kind of movement"))
        }
        _ => {}
    }
}

fn blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(|s| s.trim().is_empty())
}

/// The checks of a movement that need no database; empty when it may be posted (the stock it
/// takes is checked when it is written).
pub fn check(kind: MovementKind, m: &MovementInput) -> Vec<FieldError> {
    let mut errors = vec![];
    let shape = kind.shape();
    need_error("from_id", shape.from, m.from.is_some(), &mut errors);
    need_error("to_id", shape.to, m.to.is_some(), &mut errors);
    need_error("order_id", shape.order, m.order.is_some(), &mut errors);
    need_error("ref_id", shape.reference, m.reference.is_some(), &mut errors);
    if kind == MovementKind::Adjust {
        if m.qty == 0 || m.qty.abs() > MAX_QTY {
            errors.push(FieldError::new(
                "qty",
                format!("调整数量须为非零整数，绝对值不超过 {MAX_QTY}"),
                format!("The change must be a whole number other than 0, at most {MAX_QTY} either way"),
            ));
        }
    } else if !(1..=MAX_QTY).contains(&m.qty) {
        errors.push(FieldError::new(
            "qty",
            format!("数量须为 1 到 {MAX_QTY} 的整数"),
            format!("The quantity must be a whole number from 1 to {MAX_QTY}"),
        ));
    }
    if let (Some(f), Some(t)) = (m.from, m.to)
        && f == t
    {
        errors.push(FieldError::new(
            "to_id",
            "调入与调出不能是同一库位",
            "The destination must differ from the source",
        ));
    }
    if m.serial_tracked {
        let one = |errors: &mut Vec<FieldError>| {
            if m.qty != 1 {
                errors.push(FieldError::new(
                    "qty",
                    "序列号管理的配件每次一件",
                    "A serial-tracked part moves one piece at a time",
                ));
            }
        };
        match kind {
            MovementKind::Issue => {
                one(&mut errors);
                if blank(&m.serial) {
                    errors.push(FieldError::new(
                        "serial",
                        "请填写装上配件的序列号",
                        "Enter the serial number of the piece fitted",
                    ));
                }
            }
            MovementKind::ReturnFaulty => {
                one(&mut errors);
                if blank(&m.old_serial) {
                    errors.push(FieldError::new(
                        "old_serial",
                        "请填写拆下旧件的序列号",
                        "Enter the serial number of the piece taken out",
                    ));
                }
            }
            _ => {}
        }
    }
    errors
}

/// What a checked movement does to the stock of the locations it names. Unchecked input (a
/// required location missing) simply has fewer effects; call [`check`] first.
pub fn effects(kind: MovementKind, m: &MovementInput) -> Vec<Effect> {
    use Bin::*;
    use MovementKind::*;
    let q = m.qty;
    let mut out = vec![];
    let mut push = |w: Option<i64>, bin, delta| {
        if let Some(warehouse) = w {
            out.push(Effect { warehouse, bin, delta });
        }
    };
    match kind {
        Receipt | ReturnUnused | Adjust => push(m.to, Usable, q),
        Transfer | ReturnWrong => {
            push(m.from, Usable, -q);
            push(m.to, Usable, q);
        }
        Issue | Scrap => push(m.from, Usable, -q),
        ReturnFaulty => push(m.to, Faulty, q),
        DisposeFaulty => push(m.from, Faulty, -q),
    }
    out
}

/// Whether parts may be issued to an order in this status: from assignment until the job is
/// done (returns of unused or faulty pieces are taken at any time after).
pub fn order_takes_parts(status: crate::work_order::Status) -> bool {
    use crate::work_order::Status::*;
    matches!(status, Assigned | Accepted | Travelling | OnSite | WaitingCustomer | WaitingApproval)
}

/// Picking accuracy of a location over a period: the pieces' lines it picked and how many of
/// them turned out wrong (RULES §7, seed 001: 配件拣货准确率 ≥ 98 %).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Accuracy {
    pub picks: u64,
    pub wrong: u64,
}

pub const ACCURACY_RULE: &str = "RULES §7 配件拣货准确率 / parts picking accuracy";

impl Accuracy {
    /// Right picks per 100; None without picks.
    pub fn percent(&self) -> Option<f64> {
        (self.picks > 0).then(|| self.picks.saturating_sub(self.wrong) as f64 * 100.0 / self.picks as f64)
    }

    /// Whether it reaches `target` per cent (98 by default; a setting).
    pub fn meets(&self, target: f64) -> Option<bool> {
        (self.picks > 0)
            .then(|| self.picks.saturating_sub(self.wrong) as f64 * 100.0 >= target * self.picks as f64 - 1e-9)
    }
}

/// How many pieces to order for a location whose stock reached its reorder point: the set
/// reorder quantity, or else up to twice the point. None while above the point (or without one).
pub fn reorder(on_hand: i64, reorder_point: i64, reorder_qty: i64) -> Option<i64> {
    if reorder_point <= 0 || on_hand > reorder_point {
        return None;
    }
    Some(if reorder_qty > 0 { reorder_qty } else { 2 * reorder_point - on_hand })
}

/// When a key part fails "above its normal rate" (R8.2). Company data, versioned: the normal
/// rate is the mean of the previous `baseline_months` months; a month alerts when its failures
/// reach `min_failures` and exceed `factor` × that mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailurePolicy {
    #[serde(default)]
    pub version: i64,
    pub baseline_months: u32,
    pub factor: f64,
    pub min_failures: u32,
}

impl Default for FailurePolicy {
    fn default() -> Self {
        FailurePolicy { version: 1, baseline_months: 6, factor: 2.0, min_failures: 3 }
    }
}

impl FailurePolicy {
    pub fn errors(&self) -> Vec<FieldError> {
        let mut errors = vec![];
        if !(1..=36).contains(&self.baseline_months) {
            errors.push(FieldError::new("baseline_months", "须为 1 到 36 个月", "Must be 1 to 36 months"));
        }
        if !(self.factor.is_finite() && (1.0..=100.0).contains(&self.factor)) {
            errors.push(FieldError::new("factor", "须为 1 到 100 之间的倍数", "Must be a factor from 1 to 100"));
        }
        if !(1..=10_000).contains(&self.min_failures) {
            errors.push(FieldError::new("min_failures", "须为 1 到 10000 次", "Must be 1 to 10,000 failures"));
        }
        errors
    }

    /// The rule a decision names.
    pub fn rule(&self) -> String {
        format!(
            "R8.2 关键件故障监控 / key-part failure monitoring, policy v{}: > {}× the mean of {} months and ≥ {}",
            self.version, self.factor, self.baseline_months, self.min_failures
        )
    }
}

/// A month in which a part failed above its normal rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureAlert {
    pub failures: u64,
    /// Failures per month normally (the mean of the baseline months).
    pub baseline: f64,
    pub rule: String,
}

/// Whether `current` failures in a month are above the normal rate given the failures of the
/// months before it (`history`, any order; only the last `baseline_months` are used, months
/// without failures included as 0).
pub fn failure_alert(policy: &FailurePolicy, history: &[u64], current: u64) -> Option<FailureAlert> {
    let n = (policy.baseline_months as usize).max(1);
    let recent = &history[history.len().saturating_sub(n)..];
    // Months before the part's first failure count as 0: a new part with no history alerts at
    // min_failures.
    let baseline = recent.iter().sum::<u64>() as f64 / n as f64;
    (current >= u64::from(policy.min_failures) && current as f64 > policy.factor * baseline + 1e-9)
        .then(|| FailureAlert { failures: current, baseline, rule: policy.rule() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(qty: i64) -> MovementInput {
        MovementInput { qty, ..Default::default() }
    }

    #[test]
    fn every_kind_round_trips_and_has_names() {
        for k in MovementKind::ALL {
            assert_eq!(MovementKind::parse(k.code()), Some(*k));
            assert!(!k.name_zh().is_empty() && !k.name_en().is_empty());
        }
        assert_eq!(MovementKind::parse("steal"), None);
    }

    #[test]
    fn a_receipt_needs_a_destination_and_nothing_else() {
        let errs = check(MovementKind::Receipt, &input(5));
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "to_id");
        let ok = MovementInput { to: Some(1), ..input(5) };
        assert!(check(MovementKind::Receipt, &ok).is_empty());
        let with_from = MovementInput { from: Some(2), ..ok };
        assert_eq!(check(MovementKind::Receipt, &with_from)[0].field, "from_id");
    }

    #[test]
    fn quantities_are_positive_and_bounded_except_adjustments() {
        let m = |qty| MovementInput { to: Some(1), ..input(qty) };
        for bad in [0, -1, MAX_QTY + 1] {
            assert_eq!(check(MovementKind::Receipt, &m(bad))[0].field, "qty", "{bad}");
        }
        assert!(check(MovementKind::Adjust, &m(-3)).is_empty());
        assert_eq!(check(MovementKind::Adjust, &m(0))[0].field, "qty");
    }

    #[test]
    fn a_transfer_goes_somewhere_else() {
        let m = MovementInput { from: Some(1), to: Some(1), ..input(1) };
        let errs = check(MovementKind::Transfer, &m);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "to_id");
    }

    #[test]
    fn serial_tracked_issues_and_faulty_returns_name_their_piece() {
        let issue = MovementInput { from: Some(1), order: Some(9), serial_tracked: true, ..input(2) };
        let fields: Vec<_> = check(MovementKind::Issue, &issue).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["qty", "serial"]);
        let ok = MovementInput { serial: Some("SN1".into()), ..issue.clone() };
        assert_eq!(check(MovementKind::Issue, &MovementInput { qty: 1, ..ok }).len(), 0);
        let back = MovementInput { to: Some(1), order: Some(9), serial_tracked: true, ..input(1) };
        assert_eq!(check(MovementKind::ReturnFaulty, &back)[0].field, "old_serial");
    }

    #[test]
    fn effects_move_pieces_between_bins() {
        let m = MovementInput { from: Some(1), to: Some(2), ..input(3) };
        assert_eq!(
            effects(MovementKind::Transfer, &m),
            vec![
                Effect { warehouse: 1, bin: Bin::Usable, delta: -3 },
                Effect { warehouse: 2, bin: Bin::Usable, delta: 3 }
            ]
        );
        let back = MovementInput { to: Some(2), order: Some(5), ..input(1) };
        assert_eq!(
            effects(MovementKind::ReturnFaulty, &back),
            vec![Effect { warehouse: 2, bin: Bin::Faulty, delta: 1 }]
        );
        let dispose = MovementInput { from: Some(2), ..input(1) };
        assert_eq!(effects(MovementKind::DisposeFaulty, &dispose)[0].bin, Bin::Faulty);
        // A wrong piece returned from the order it was issued to comes from no location.
        let wrong = MovementInput { to: Some(1), reference: Some(7), ..input(1) };
        assert_eq!(
            effects(MovementKind::ReturnWrong, &wrong),
            vec![Effect { warehouse: 1, bin: Bin::Usable, delta: 1 }]
        );
        let adjust = MovementInput { to: Some(4), ..input(-2) };
        assert_eq!(effects(MovementKind::Adjust, &adjust)[0].delta, -2);
    }

    #[test]
    fn the_effects_of_every_kind_sum_to_what_enters_or_leaves() {
        // Transfers and wrong returns between two locations keep the total; the rest change it
        // by the quantity.
        let m = MovementInput { from: Some(1), to: Some(2), order: Some(3), reference: Some(4), ..input(2) };
        for k in MovementKind::ALL {
            let total: i64 = effects(*k, &m).iter().map(|e| e.delta).sum();
            let expected = match k {
                MovementKind::Transfer | MovementKind::ReturnWrong => 0,
                MovementKind::Receipt
                | MovementKind::ReturnUnused
                | MovementKind::ReturnFaulty
                | MovementKind::Adjust => 2,
                MovementKind::Issue | MovementKind::Scrap | MovementKind::DisposeFaulty => -2,
            };
            assert_eq!(total, expected, "{k:?}");
        }
    }

    #[test]
    fn parts_go_to_orders_being_worked_on() {
        use crate::work_order::Status;
        assert!(order_takes_parts(Status::OnSite));
        assert!(order_takes_parts(Status::Assigned));
        for s in [Status::Review, Status::Open, Status::Completed, Status::Closed, Status::Cancelled] {
            assert!(!order_takes_parts(s), "{s:?}");
        }
    }

    #[test]
    fn accuracy_counts_right_picks() {
        let a = Accuracy { picks: 50, wrong: 1 };
        assert_eq!(a.percent(), Some(98.0));
        assert_eq!(a.meets(98.0), Some(true));
        assert_eq!(Accuracy { picks: 50, wrong: 2 }.meets(98.0), Some(false));
        assert_eq!(Accuracy::default().percent(), None);
        assert_eq!(Accuracy::default().meets(98.0), None);
    }

    #[test]
    fn reorder_at_the_point() {
        assert_eq!(reorder(6, 5, 0), None);
        assert_eq!(reorder(5, 5, 0), Some(5));
        assert_eq!(reorder(1, 5, 20), Some(20));
        assert_eq!(reorder(0, 0, 10), None, "no point, no reorder");
    }

    #[test]
    fn failures_alert_above_the_normal_rate() {
        let p = FailurePolicy::default(); // > 2 × mean of 6 months, at least 3
        // Normally 2 a month: 4 is not above twice that, 5 is.
        assert!(failure_alert(&p, &[2, 2, 2, 2, 2, 2], 4).is_none());
        let a = failure_alert(&p, &[2, 2, 2, 2, 2, 2], 5).unwrap();
        assert_eq!(a.baseline, 2.0);
        assert!(a.rule.contains("v1"));
        // Only the last six months count.
        assert!(failure_alert(&p, &[50, 50, 0, 0, 0, 0, 0, 0], 3).is_some());
        // A new part: nothing before, so the minimum decides.
        assert!(failure_alert(&p, &[], 2).is_none());
        assert!(failure_alert(&p, &[], 3).is_some());
    }

    #[test]
    fn policies_are_checked() {
        assert!(FailurePolicy::default().errors().is_empty());
        let bad = FailurePolicy { version: 1, baseline_months: 0, factor: 0.5, min_failures: 0 };
        let fields: Vec<_> = bad.errors().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["baseline_months", "factor", "min_failures"]);
    }
}
