//! Amounts of money: kept as fen (cents) everywhere, typed and shown in yuan.

/// An amount that is not yuan with at most two decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadAmount;

/// Yuan as typed (`120`, `120.5`, `¥1,200.00`, `.5`) to fen; None when empty, Err when not a
/// number of yuan with at most two decimals (negative amounts are not numbers here).
pub fn parse_yuan(s: &str) -> Result<Option<i64>, BadAmount> {
    let t: String = s.trim().trim_start_matches(['¥', '￥']).chars().filter(|c| *c != ',' && *c != ' ').collect();
    if t.is_empty() {
        return Ok(None);
    }
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    if whole.is_empty() && frac.is_empty()
        || frac.len() > 2
        || !whole.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return Err(BadAmount);
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| BadAmount)? };
    let frac: i64 = format!("{frac:0<2}").parse().map_err(|_| BadAmount)?;
    whole.checked_mul(100).and_then(|w| w.checked_add(frac)).map(Some).ok_or(BadAmount)
}

/// Fen as yuan with two decimals (`12345` → `123.45`, `-5` → `-0.05`).
pub fn yuan(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_as_typed() {
        assert_eq!(parse_yuan("120"), Ok(Some(12000)));
        assert_eq!(parse_yuan("120.5"), Ok(Some(12050)));
        assert_eq!(parse_yuan("¥1,200.05"), Ok(Some(120005)));
        assert_eq!(parse_yuan("￥1 280.5"), Ok(Some(128050)));
        assert_eq!(parse_yuan(".5"), Ok(Some(50)));
        assert_eq!(parse_yuan(""), Ok(None));
        for bad in ["1.234", "abc", "-5", ".", "99999999999999999999"] {
            assert_eq!(parse_yuan(bad), Err(BadAmount), "{bad}");
        }
    }

    #[test]
    fn fen_shown_as_yuan() {
        assert_eq!(yuan(12050), "120.50");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(-5), "-0.05");
        assert_eq!(yuan(-12345), "-123.45");
    }
}
