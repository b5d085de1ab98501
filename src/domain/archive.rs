//! Parsing of archive input: customers, product models and sold units.

use chrono::NaiveDate;
use rules::FieldError;
use serde::{Deserialize, Serialize};

use crate::i18n::field_error;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerKind {
    Company,
    Person,
}

impl CustomerKind {
    pub fn code(self) -> &'static str {
        match self {
            CustomerKind::Company => "company",
            CustomerKind::Person => "person",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "company" | "企业" | "单位" => Some(CustomerKind::Company),
            "person" | "个人" => Some(CustomerKind::Person),
            _ => None,
        }
    }
}

/// Importance class A/B/C; it drives the revisit schedule (RULES.md §6).
pub fn parse_class(raw: &str, errors: &mut Vec<FieldError>) -> String {
    let c = raw.trim().to_ascii_uppercase();
    match c.as_str() {
        "A" | "B" | "C" => c,
        "" => "C".into(),
        _ => {
            errors.push(field_error("class", "error.customer_class"));
            c
        }
    }
}

pub fn required(field: &str, raw: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let v = raw.trim().to_string();
    if v.is_empty() {
        errors.push(field_error(field, "error.required"));
    } else if v.chars().count() > max {
        errors.push(field_error(field, "error.too_long"));
    }
    v
}

pub fn optional(field: &str, raw: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let v = raw.trim().to_string();
    if v.chars().count() > max {
        errors.push(field_error(field, "error.too_long"));
    }
    v
}

/// An optional date: ISO `2026-03-01`, `2026/3/1`, `2026.3.1` or `2026年3月1日`.
pub fn parse_date(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    let norm: String = t.replace(['/', '.', '年', '月'], "-").trim_end_matches('日').to_string();
    match NaiveDate::parse_from_str(&norm, "%Y-%m-%d") {
        Ok(d) if d.year_ce().1 >= 1900 && d.year_ce().1 <= 2200 => Some(d),
        _ => {
            errors.push(field_error(field, "error.date"));
            None
        }
    }
}

use chrono::Datelike;

/// A serial number or VIN: kept as typed (leading zeros matter), without surrounding spaces,
/// letters upper-cased; 3–64 of letters, digits and `-_/.`.
pub fn parse_serial(raw: &str, errors: &mut Vec<FieldError>) -> String {
    let s = raw.trim().to_ascii_uppercase();
    if s.is_empty() {
        errors.push(field_error("serial", "error.required"));
    } else if s.len() < 3
        || s.len() > 64
        || !s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.'))
    {
        errors.push(field_error("serial", "error.serial"));
    }
    s
}

pub fn parse_grade(raw: &str, errors: &mut Vec<FieldError>) -> String {
    match raw.trim() {
        "high" | "中高档" | "高档" => "high".into(),
        "mid" | "中档" => "mid".into(),
        "low" | "低档" => "low".into(),
        _ => {
            errors.push(field_error("grade", "error.grade"));
            raw.trim().into()
        }
    }
}

/// Tags typed as `a, b；c` become `a,b,c` (deduplicated, order kept).
pub fn parse_tags(raw: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for t in raw.split([',', '，', ';', '；', '、']).map(str::trim).filter(|t| !t.is_empty()) {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_chinese_habits() {
        let mut e = vec![];
        let d = NaiveDate::from_ymd_opt(2026, 3, 1);
        assert_eq!(parse_date("d", "2026-03-01", &mut e), d);
        assert_eq!(parse_date("d", "2026/3/1", &mut e), d);
        assert_eq!(parse_date("d", "2026年3月1日", &mut e), d);
        assert_eq!(parse_date("d", "", &mut e), None);
        assert!(e.is_empty());
        parse_date("d", "2026-02-30", &mut e);
        parse_date("d", "yesterday", &mut e);
        assert_eq!(e.len(), 2);
    }

    #[test]
    fn serials_keep_leading_zeros() {
        let mut e = vec![];
        assert_eq!(parse_serial(" 00123abc ", &mut e), "00123ABC");
        assert!(e.is_empty());
        parse_serial("a b", &mut e);
        parse_serial("", &mut e);
        assert_eq!(e.len(), 2);
    }

    #[test]
    fn tags_and_classes() {
        assert_eq!(parse_tags("经销商， 重点；经销商、华东"), "经销商,重点,华东");
        let mut e = vec![];
        assert_eq!(parse_class("a", &mut e), "A");
        assert_eq!(parse_class("", &mut e), "C");
        parse_class("D", &mut e);
        assert_eq!(e.len(), 1);
    }
}
