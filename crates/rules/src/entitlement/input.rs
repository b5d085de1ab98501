//! Reads the JSON contract field by field, so that every problem is reported with its path
//! (`history[1].end`) and all of them at once; serde's derive stops at the first error and
//! does not say where. Unknown fields are rejected: a misspelt `exclusion` silently ignored
//! would grant a free remedy that is not due.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::de::DeserializeOwned;
use serde::de::value::{Error as ValueError, StrDeserializer};
use serde_json::{Map, Value};

use super::types::{EvaluateRequest, Fault, HistoryEntry};
use crate::FieldError;

const REQUEST_KEYS: &[&str] = &[
    "policy",
    "invoice_date",
    "delivery_date",
    "request_date",
    "grade",
    "category",
    "warranty_months",
    "odometer_km",
    "price_cents",
    "fault",
    "history",
    "exclusions",
    "same_model_available",
    "found_nonconforming",
    "depreciation_per_day",
    "usage_rate_n",
];
const FAULT_KEYS: &[&str] = &["kind", "serious_safety", "system", "main_part", "failure"];
const HISTORY_KEYS: &[&str] = &[
    "kind",
    "same_fault",
    "serious_safety",
    "system",
    "main_part",
    "start",
    "end",
    "waiting_for_parts_days",
    "excluded_hours",
];
const GRADES: &[&str] = &["high", "mid", "low"];
const FAULT_KINDS: &[&str] = &["performance", "safety", "general", "cosmetic"];
const SYSTEMS: &[&str] = &[
    "engine",
    "transmission",
    "traction_battery",
    "drive_motor",
    "steering",
    "brakes",
    "suspension",
    "drivetrain",
    "emission",
    "body",
    "fuel",
];
const FAILURES: &[&str] = &["steering_failure", "brake_failure", "body_crack", "fuel_leak", "battery_fire"];
const HISTORY_KINDS: &[&str] = &["repair", "replacement", "exchange"];
const EXCLUSIONS: &[&str] = &[
    "misuse",
    "unauthorised_disassembly",
    "no_certificate",
    "certificate_mismatch",
    "force_majeure",
    "disclosed_defect",
    "forbidden_modification",
    "commercial_use",
    "mishandling_after_fault",
];

/// A JSON syntax error, located by line and column.
pub(crate) fn syntax_error(e: &serde_json::Error) -> FieldError {
    if e.is_eof() {
        FieldError::new("body", "JSON不完整（意外结束）", "the JSON ends unexpectedly")
    } else {
        FieldError::new(
            "body",
            format!("JSON格式错误（第{}行第{}列）：{e}", e.line(), e.column()),
            format!("invalid JSON at line {} column {}: {e}", e.line(), e.column()),
        )
    }
}

#[derive(Default)]
struct Reader {
    errors: Vec<FieldError>,
}

/// `null` and a missing key mean the same: not given.
fn given<'v>(m: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    m.get(key).filter(|v| !v.is_null())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

impl Reader {
    fn err(&mut self, field: String, zh: impl Into<String>, en: impl Into<String>) {
        self.errors.push(FieldError::new(field, zh, en));
    }

    fn type_err(&mut self, field: String, zh: &str, en: &str) {
        self.err(field, format!("须为{zh}"), format!("must be {en}"));
    }

    fn object<'v>(&mut self, v: &'v Value, path: &str, keys: &[&str]) -> Option<&'v Map<String, Value>> {
        let Some(m) = v.as_object() else {
            let field = if path.is_empty() { "body" } else { path };
            self.type_err(field.to_owned(), "JSON对象", "a JSON object");
            return None;
        };
        for k in m.keys() {
            if !keys.contains(&k.as_str()) {
                self.err(
                    join(path, k),
                    format!("未知字段；可用字段：{}", keys.join("、")),
                    format!("unknown field; known fields: {}", keys.join(", ")),
                );
            }
        }
        Some(m)
    }

    fn required<'v>(&mut self, m: &'v Map<String, Value>, key: &str, path: &str) -> Option<&'v Value> {
        let v = given(m, key);
        if v.is_none() {
            self.err(join(path, key), "必填", "required");
        }
        v
    }

    fn string(&mut self, v: &Value, field: String) -> Option<String> {
        match v.as_str() {
            Some(s) => Some(s.trim().to_owned()),
            None => {
                self.type_err(field, "字符串", "a string");
                None
            }
        }
    }

    /// A blank string is the same as not given.
    fn opt_string(&mut self, m: &Map<String, Value>, key: &str, path: &str) -> Option<String> {
        let v = given(m, key)?;
        self.string(v, join(path, key)).filter(|s| !s.is_empty())
    }

    fn date(&mut self, v: &Value, field: String) -> Option<NaiveDate> {
        let parsed = v.as_str().and_then(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok());
        if parsed.is_none() {
            self.err(field, "须为YYYY-MM-DD格式的有效日期", "must be a valid date in the form YYYY-MM-DD");
        }
        parsed
    }

    fn datetime(&mut self, v: &Value, field: String) -> Option<DateTime<FixedOffset>> {
        let parsed = v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok());
        if parsed.is_none() {
            self.err(
                field,
                "须为带时区的日期时间，如2026-04-01T09:00:00+08:00",
                "must be a date-time with an offset (RFC 3339), e.g. 2026-04-01T09:00:00+08:00",
            );
        }
        parsed
    }

    /// An integer; a float with no fractional part is accepted (`400000.0`).
    fn integer(&mut self, v: &Value, field: String, min: i64, max: i64) -> Option<i64> {
        let n = match v {
            Value::Number(n) => {
                n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64))
            }
            _ => None,
        };
        match n {
            Some(n) if (min..=max).contains(&n) => Some(n),
            Some(_) => {
                self.err(field, format!("须在{min}到{max}之间"), format!("must be between {min} and {max}"));
                None
            }
            None => {
                self.type_err(field, "整数", "an integer");
                None
            }
        }
    }

    fn float(&mut self, v: &Value, field: String) -> Option<f64> {
        let f = v.as_f64();
        if f.is_none() {
            self.type_err(field, "数字", "a number");
        }
        f
    }

    fn boolean(&mut self, v: &Value, field: String) -> Option<bool> {
        let b = v.as_bool();
        if b.is_none() {
            self.type_err(field, "true或false", "true or false");
        }
        b
    }

    fn opt_bool(&mut self, m: &Map<String, Value>, key: &str, path: &str) -> bool {
        given(m, key).and_then(|v| self.boolean(v, join(path, key))).unwrap_or(false)
    }

    fn enumeration<T: DeserializeOwned>(&mut self, v: &Value, field: String, allowed: &[&str]) -> Option<T> {
        let parsed = v.as_str().and_then(|s| T::deserialize(StrDeserializer::<ValueError>::new(s.trim())).ok());
        if parsed.is_none() {
            self.err(
                field,
                format!("须为以下之一：{}", allowed.join("、")),
                format!("must be one of: {}", allowed.join(", ")),
            );
        }
        parsed
    }

    fn opt_enum<T: DeserializeOwned>(
        &mut self,
        m: &Map<String, Value>,
        key: &str,
        path: &str,
        allowed: &[&str],
    ) -> Option<T> {
        let v = given(m, key)?;
        self.enumeration(v, join(path, key), allowed)
    }

    fn fault(&mut self, v: &Value) -> Option<Fault> {
        let path = "fault";
        let m = self.object(v, path, FAULT_KEYS)?;
        let kind = self.required(m, "kind", path).and_then(|v| self.enumeration(v, join(path, "kind"), FAULT_KINDS));
        let serious_safety = self.opt_bool(m, "serious_safety", path);
        let system = self.opt_enum(m, "system", path, SYSTEMS);
        let main_part = self.opt_string(m, "main_part", path);
        let failure = self.opt_enum(m, "failure", path, FAILURES);
        Some(Fault { kind: kind?, serious_safety, system, main_part, failure })
    }

    fn history_entry(&mut self, v: &Value, i: usize) -> Option<HistoryEntry> {
        let path = format!("history[{i}]");
        let m = self.object(v, &path, HISTORY_KEYS)?;
        let kind =
            self.required(m, "kind", &path).and_then(|v| self.enumeration(v, join(&path, "kind"), HISTORY_KINDS));
        let same_fault = self.opt_bool(m, "same_fault", &path);
        let serious_safety = self.opt_bool(m, "serious_safety", &path);
        let system = self.opt_enum(m, "system", &path, SYSTEMS);
        let main_part = self.opt_string(m, "main_part", &path);
        let start = self.required(m, "start", &path).and_then(|v| self.datetime(v, join(&path, "start")));
        let end = given(m, "end").map(|v| self.datetime(v, join(&path, "end")));
        let waiting = given(m, "waiting_for_parts_days")
            .map(|v| self.integer(v, join(&path, "waiting_for_parts_days"), 0, 1_000_000));
        let excluded = given(m, "excluded_hours").map(|v| {
            let field = join(&path, "excluded_hours");
            self.float(v, field.clone()).filter(|h| {
                let ok = *h >= 0.0;
                if !ok {
                    self.err(field, "不能为负数", "cannot be negative");
                }
                ok
            })
        });
        Some(HistoryEntry {
            kind: kind?,
            same_fault,
            serious_safety,
            system,
            main_part,
            start: start?,
            end: match end {
                Some(e) => Some(e?),
                None => None,
            },
            waiting_for_parts_days: match waiting {
                Some(w) => u32::try_from(w?).ok()?,
                None => 0,
            },
            excluded_hours: match excluded {
                Some(h) => h?,
                None => 0.0,
            },
        })
    }
}

/// The policy code (when readable, so it can be resolved even if other fields are wrong)
/// and the request or every problem found in it.
pub(crate) fn parse_request(v: &Value) -> (Option<String>, Result<EvaluateRequest, Vec<FieldError>>) {
    let mut r = Reader::default();
    let Some(m) = r.object(v, "", REQUEST_KEYS) else {
        return (None, Err(r.errors));
    };
    let policy = r.required(m, "policy", "").and_then(|v| r.string(v, "policy".to_owned())).filter(|s| {
        if s.is_empty() {
            r.errors.push(FieldError::new("policy", "必填", "required"));
        }
        !s.is_empty()
    });
    let invoice_date = r.required(m, "invoice_date", "").and_then(|v| r.date(v, "invoice_date".to_owned()));
    let delivery_date = given(m, "delivery_date").map(|v| r.date(v, "delivery_date".to_owned()));
    let request_date = r.required(m, "request_date", "").and_then(|v| r.date(v, "request_date".to_owned()));
    let grade = r.opt_enum(m, "grade", "", GRADES);
    let category = r.opt_string(m, "category", "");
    let warranty_months = given(m, "warranty_months").map(|v| r.integer(v, "warranty_months".to_owned(), 1, 1200));
    let odometer_km = given(m, "odometer_km").map(|v| r.integer(v, "odometer_km".to_owned(), 0, 10_000_000));
    let price_cents =
        r.required(m, "price_cents", "").and_then(|v| r.integer(v, "price_cents".to_owned(), 0, 1_000_000_000_000_000));
    let fault = r.required(m, "fault", "").and_then(|v| r.fault(v));
    let history: Vec<Option<HistoryEntry>> = match given(m, "history") {
        Some(Value::Array(items)) => items.iter().enumerate().map(|(i, v)| r.history_entry(v, i)).collect(),
        Some(_) => {
            r.type_err("history".to_owned(), "数组", "an array");
            Vec::new()
        }
        None => Vec::new(),
    };
    let exclusions: Vec<Option<_>> = match given(m, "exclusions") {
        Some(Value::Array(items)) => {
            items.iter().enumerate().map(|(i, v)| r.enumeration(v, format!("exclusions[{i}]"), EXCLUSIONS)).collect()
        }
        Some(_) => {
            r.type_err("exclusions".to_owned(), "数组", "an array");
            Vec::new()
        }
        None => Vec::new(),
    };
    let same_model_available =
        given(m, "same_model_available").map(|v| r.boolean(v, "same_model_available".to_owned()));
    let found_nonconforming = r.opt_bool(m, "found_nonconforming", "");
    let depreciation_per_day = given(m, "depreciation_per_day").map(|v| r.float(v, "depreciation_per_day".to_owned()));
    let usage_rate_n = given(m, "usage_rate_n").map(|v| r.float(v, "usage_rate_n".to_owned()));

    if !r.errors.is_empty() {
        return (policy, Err(r.errors));
    }
    // Every `None` above recorded an error, so with no errors every value is present.
    let (Some(policy_code), Some(invoice_date), Some(request_date), Some(price_cents), Some(fault)) =
        (policy.clone(), invoice_date, request_date, price_cents, fault)
    else {
        return (policy, Err(r.errors));
    };
    let request = EvaluateRequest {
        policy: policy_code,
        invoice_date,
        delivery_date: delivery_date.flatten(),
        request_date,
        grade,
        category,
        warranty_months: warranty_months.flatten().and_then(|m| u32::try_from(m).ok()),
        odometer_km: odometer_km.flatten().and_then(|k| u64::try_from(k).ok()),
        price_cents,
        fault,
        history: history.into_iter().flatten().collect(),
        exclusions: exclusions.into_iter().flatten().collect(),
        same_model_available: same_model_available.flatten(),
        found_nonconforming,
        depreciation_per_day: depreciation_per_day.flatten(),
        usage_rate_n: usage_rate_n.flatten(),
    };
    (policy, Ok(request))
}
