//! Quarterly analysis of repair content (R9.2): which faults occur most and cost most. A
//! Pareto ordering puts the largest first with each one's share and the running share, and
//! marks the "vital few" that together make up the first 80 % (the classic cut; a parameter).

use serde::Serialize;

/// One group's count and cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub key: String,
    pub label: String,
    pub count: i64,
    pub cost_cents: i64,
}

/// An item in Pareto order with its share of the whole and the running share.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked {
    #[serde(flatten)]
    pub item: Item,
    pub share: f64,
    pub cumulative: f64,
    /// Within the first `cut` per cent (the item that crosses the cut is included).
    pub vital: bool,
}

/// What the order ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RankBy {
    Count,
    Cost,
}

pub const DEFAULT_CUT: f64 = 80.0;

/// Ranks `items` by count or cost, largest first (ties by key), with shares in per cent.
pub fn pareto(mut items: Vec<Item>, by: RankBy, cut: f64) -> Vec<Ranked> {
    let value = |i: &Item| match by {
        RankBy::Count => i.count,
        RankBy::Cost => i.cost_cents,
    };
    items.sort_by(|a, b| value(b).cmp(&value(a)).then_with(|| a.key.cmp(&b.key)));
    let total: i64 = items.iter().map(value).sum();
    let mut running = 0;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let v = value(&item);
        let before = if total > 0 { running as f64 * 100.0 / total as f64 } else { 0.0 };
        running += v;
        let (share, cumulative) = if total > 0 {
            (v as f64 * 100.0 / total as f64, running as f64 * 100.0 / total as f64)
        } else {
            (0.0, 0.0)
        };
        out.push(Ranked { item, share, cumulative, vital: total > 0 && v > 0 && before < cut - 1e-9 });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(key: &str, count: i64, cost: i64) -> Item {
        Item { key: key.into(), label: key.into(), count, cost_cents: cost }
    }

    #[test]
    fn the_vital_few_make_up_the_first_80_per_cent() {
        let items = vec![item("E3", 10, 100), item("E1", 60, 1000), item("E2", 25, 9000), item("E4", 5, 50)];
        let r = pareto(items.clone(), RankBy::Count, DEFAULT_CUT);
        let keys: Vec<&str> = r.iter().map(|x| x.item.key.as_str()).collect();
        assert_eq!(keys, ["E1", "E2", "E3", "E4"]);
        assert_eq!((r[0].share, r[1].cumulative), (60.0, 85.0));
        let vital: Vec<bool> = r.iter().map(|x| x.vital).collect();
        assert_eq!(vital, [true, true, false, false], "E2 crosses 80 % and is included");
        // By cost another fault leads.
        let r = pareto(items, RankBy::Cost, DEFAULT_CUT);
        assert_eq!(r[0].item.key, "E2");
        assert!(r[0].vital && !r[1].vital, "E2 alone is {:.1} % of the cost", r[0].share);
    }

    #[test]
    fn empty_and_zero_totals_have_no_vital_items() {
        assert!(pareto(vec![], RankBy::Count, DEFAULT_CUT).is_empty());
        let r = pareto(vec![item("A", 0, 0)], RankBy::Count, DEFAULT_CUT);
        assert_eq!((r[0].share, r[0].vital), (0.0, false));
    }

    #[test]
    fn ties_are_ordered_by_key() {
        let r = pareto(vec![item("B", 5, 0), item("A", 5, 0)], RankBy::Count, DEFAULT_CUT);
        assert_eq!(r[0].item.key, "A");
        assert_eq!(r[1].cumulative, 100.0);
    }
}
