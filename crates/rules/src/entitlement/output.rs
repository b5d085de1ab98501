//! The engine's answer.

use chrono::NaiveDate;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use super::citation::Citation;
use super::policy::PolicyFamily;
use super::reason::{Amount, Reason};
use super::types::Remedy;

/// The verdict on one remedy, granted or refused, with the rule that decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub remedy: Remedy,
    pub granted: bool,
    /// Policy and clause, e.g. "cn-general-1995 art. 9" or "seed-company v1 §exchange".
    pub rule: Citation,
    pub reason: Reason,
    /// Refund or usage compensation, when money is involved.
    pub amount: Option<Amount>,
}

impl Decision {
    pub fn reason_zh(&self) -> String {
        let mut s = self.reason.zh();
        if let Some(a) = &self.amount {
            a.write_zh(&mut s).expect("writing to a String cannot fail");
        }
        s
    }

    pub fn reason_en(&self) -> String {
        let mut s = self.reason.en();
        if let Some(a) = &self.amount {
            a.write_en(&mut s).expect("writing to a String cannot fail");
        }
        s
    }
}

impl Serialize for Decision {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Decision", 7)?;
        st.serialize_field("remedy", &self.remedy)?;
        st.serialize_field("granted", &self.granted)?;
        st.serialize_field("rule", &self.rule)?;
        st.serialize_field("reason_zh", &self.reason_zh())?;
        st.serialize_field("reason_en", &self.reason_en())?;
        st.serialize_field("reason_code", self.reason.code())?;
        if let Some(a) = &self.amount {
            st.serialize_field("amount", a)?;
        } else {
            st.skip_field("amount")?;
        }
        st.end()
    }
}

/// Something the engine could not work out from the input; the decisions still stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// A depreciated refund is due but no daily rate is known.
    MissingDepreciationRate,
    /// Usage compensation is due but no n is known.
    MissingUsageRate,
    /// The category is not defined by the policy; its general periods were used.
    UnknownCategory(String),
}

impl Warning {
    pub fn field(&self) -> &'static str {
        match self {
            Warning::MissingDepreciationRate => "depreciation_per_day",
            Warning::MissingUsageRate => "usage_rate_n",
            Warning::UnknownCategory(_) => "category",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            Warning::MissingDepreciationRate => "退货须收取折旧费，但请求、类别和政策都没有给出日折旧率".to_owned(),
            Warning::MissingUsageRate => "换车或退车须支付使用补偿费，但没有给出使用补偿系数n（见三包凭证）".to_owned(),
            Warning::UnknownCategory(c) => {
                format!("政策未定义类别“{c}”，已按政策的一般期限计算")
            }
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            Warning::MissingDepreciationRate => {
                "A refund with depreciation is due, but no daily rate is given by the request, category or policy"
                    .to_owned()
            }
            Warning::MissingUsageRate => {
                "Usage compensation is due, but no coefficient n is given (see the 三包 certificate)".to_owned()
            }
            Warning::UnknownCategory(c) => {
                format!("The policy does not define category \"{c}\"; its general periods were used")
            }
        }
    }
}

impl Serialize for Warning {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Warning", 3)?;
        st.serialize_field("field", self.field())?;
        st.serialize_field("message_zh", &self.message_zh())?;
        st.serialize_field("message_en", &self.message_en())?;
        st.end()
    }
}

/// `POST /api/v1/entitlement/evaluate` output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub policy: String,
    pub policy_version: u32,
    pub family: PolicyFamily,
    /// The granted remedies, in contract order.
    pub remedies: Vec<Remedy>,
    /// Day 1 of the current periods (the sale, or the last exchange).
    pub warranty_starts: NaiveDate,
    /// Last covered day, inclusive, days added back included.
    pub warranty_ends: NaiveDate,
    pub warranty_months: u32,
    pub warranty_km_limit: Option<u64>,
    /// Last day of a separate 三包 period (vehicles); null where it is the warranty itself.
    pub sanbao_ends: Option<NaiveDate>,
    pub sanbao_km_limit: Option<u64>,
    /// Last day of the refund / exchange windows, where the policy has them.
    pub refund_window_ends: Option<NaiveDate>,
    pub exchange_window_ends: Option<NaiveDate>,
    pub in_warranty: bool,
    pub in_sanbao: bool,
    /// Day number of the request counted from the sale (the sale is day 1).
    pub days_since_sale: u32,
    /// Day number of the request in the current periods (after an exchange: from it).
    pub day_in_period: u32,
    /// Days under repair in the current periods (policy's counting, waiting included).
    pub repair_days: u32,
    /// Vehicles: the art. 24(4) total (art. 40 rounding, excluded hours removed).
    pub counted_repair_days: Option<u32>,
    /// Days added to the warranty for repairs.
    pub extension_days: u32,
    /// Completed repairs of the reported fault in the current periods.
    pub same_fault_repairs: u32,
    /// Vehicles: days of courtesy car or allowance owed (art. 21), summed over repairs.
    pub courtesy_car_days: u32,
    pub refund_cents: Option<i64>,
    /// Depreciation (general goods) or usage compensation (vehicles) kept from the price.
    pub deduction_cents: Option<i64>,
    pub decisions: Vec<Decision>,
    pub warnings: Vec<Warning>,
}

impl Evaluation {
    pub fn grants(&self, r: Remedy) -> bool {
        self.remedies.contains(&r)
    }

    pub fn decision(&self, r: Remedy) -> Option<&Decision> {
        self.decisions.iter().find(|d| d.remedy == r)
    }
}
