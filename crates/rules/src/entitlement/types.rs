//! The input vocabulary of the entitlement engine: the request and its enums.
//!
//! Every enum is spelt in `snake_case` on the wire, exactly as in the API contract.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize};

/// `null` is accepted wherever a field has a default, so clients may send `"history": null`.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// What the customer may be entitled to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Remedy {
    Refund,
    Exchange,
    FreeRepair,
    PaidRepair,
    AssemblyReplacement,
    CourtesyCar,
}

impl Remedy {
    /// Every remedy, in the order used for `remedies` and `decisions`.
    pub const ALL: [Remedy; 6] = [
        Remedy::Refund,
        Remedy::Exchange,
        Remedy::FreeRepair,
        Remedy::PaidRepair,
        Remedy::AssemblyReplacement,
        Remedy::CourtesyCar,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            Remedy::Refund => "refund",
            Remedy::Exchange => "exchange",
            Remedy::FreeRepair => "free_repair",
            Remedy::PaidRepair => "paid_repair",
            Remedy::AssemblyReplacement => "assembly_replacement",
            Remedy::CourtesyCar => "courtesy_car",
        }
    }

    pub const fn name_zh(self) -> &'static str {
        match self {
            Remedy::Refund => "退货",
            Remedy::Exchange => "换货",
            Remedy::FreeRepair => "免费修理",
            Remedy::PaidRepair => "收费修理",
            Remedy::AssemblyReplacement => "免费更换总成",
            Remedy::CourtesyCar => "备用车或交通费补偿",
        }
    }

    pub const fn name_en(self) -> &'static str {
        match self {
            Remedy::Refund => "refund",
            Remedy::Exchange => "exchange",
            Remedy::FreeRepair => "free repair",
            Remedy::PaidRepair => "paid repair",
            Remedy::AssemblyReplacement => "assembly replacement",
            Remedy::CourtesyCar => "courtesy car or transport allowance",
        }
    }

    /// Everything but paid repair is a 三包 remedy the seller pays for; exclusions remove them.
    pub const fn is_free(self) -> bool {
        !matches!(self, Remedy::PaidRepair)
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

/// A small set of remedies (bit mask), used in reasons such as "refund, exchange or repair".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RemedySet(u8);

impl RemedySet {
    pub const EMPTY: RemedySet = RemedySet(0);

    pub fn from_slice(remedies: &[Remedy]) -> Self {
        let mut set = RemedySet::EMPTY;
        for r in remedies {
            set.insert(*r);
        }
        set
    }

    pub fn insert(&mut self, r: Remedy) {
        self.0 |= 1 << r.index();
    }

    pub fn contains(self, r: Remedy) -> bool {
        self.0 & (1 << r.index()) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Remedy> {
        Remedy::ALL.into_iter().filter(move |r| self.contains(*r))
    }
}

impl Serialize for RemedySet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// Product grade of the model (中高档 = high/mid, 低档 = low).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    High,
    #[serde(alias = "medium")]
    Mid,
    Low,
}

impl Grade {
    pub const fn code(self) -> &'static str {
        match self {
            Grade::High => "high",
            Grade::Mid => "mid",
            Grade::Low => "low",
        }
    }
}

/// Nature of the reported fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// 性能故障: the product does not perform as specified.
    Performance,
    /// A problem endangering safety or health (危及人身财产安全、健康).
    Safety,
    /// A general (repairable) quality problem (一般质量问题).
    General,
    /// Appearance only (外观).
    Cosmetic,
}

impl FaultKind {
    pub const fn code(self) -> &'static str {
        match self {
            FaultKind::Performance => "performance",
            FaultKind::Safety => "safety",
            FaultKind::General => "general",
            FaultKind::Cosmetic => "cosmetic",
        }
    }

    pub const fn name_zh(self) -> &'static str {
        match self {
            FaultKind::Performance => "性能故障",
            FaultKind::Safety => "危及安全健康的质量问题",
            FaultKind::General => "一般质量问题",
            FaultKind::Cosmetic => "外观问题",
        }
    }

    pub const fn name_en(self) -> &'static str {
        match self {
            FaultKind::Performance => "performance fault",
            FaultKind::Safety => "safety or health problem",
            FaultKind::General => "general quality problem",
            FaultKind::Cosmetic => "cosmetic defect",
        }
    }
}

/// Vehicle systems named by 总局令第43号 art. 20–24.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VehicleSystem {
    Engine,
    Transmission,
    TractionBattery,
    DriveMotor,
    Steering,
    Brakes,
    Suspension,
    Drivetrain,
    Emission,
    Body,
    Fuel,
}

impl VehicleSystem {
    pub const fn code(self) -> &'static str {
        match self {
            VehicleSystem::Engine => "engine",
            VehicleSystem::Transmission => "transmission",
            VehicleSystem::TractionBattery => "traction_battery",
            VehicleSystem::DriveMotor => "drive_motor",
            VehicleSystem::Steering => "steering",
            VehicleSystem::Brakes => "brakes",
            VehicleSystem::Suspension => "suspension",
            VehicleSystem::Drivetrain => "drivetrain",
            VehicleSystem::Emission => "emission",
            VehicleSystem::Body => "body",
            VehicleSystem::Fuel => "fuel",
        }
    }

    pub const fn name_zh(self) -> &'static str {
        match self {
            VehicleSystem::Engine => "发动机",
            VehicleSystem::Transmission => "变速器",
            VehicleSystem::TractionBattery => "动力蓄电池",
            VehicleSystem::DriveMotor => "行驶驱动电机",
            VehicleSystem::Steering => "转向系统",
            VehicleSystem::Brakes => "制动系统",
            VehicleSystem::Suspension => "悬架系统",
            VehicleSystem::Drivetrain => "传动系统",
            VehicleSystem::Emission => "污染控制装置",
            VehicleSystem::Body => "车身",
            VehicleSystem::Fuel => "燃油系统",
        }
    }

    pub const fn name_en(self) -> &'static str {
        match self {
            VehicleSystem::Engine => "engine",
            VehicleSystem::Transmission => "transmission",
            VehicleSystem::TractionBattery => "traction battery",
            VehicleSystem::DriveMotor => "drive motor",
            VehicleSystem::Steering => "steering system",
            VehicleSystem::Brakes => "brake system",
            VehicleSystem::Suspension => "suspension",
            VehicleSystem::Drivetrain => "drivetrain",
            VehicleSystem::Emission => "emission control",
            VehicleSystem::Body => "body",
            VehicleSystem::Fuel => "fuel system",
        }
    }
}

/// The failures of 总局令第43号 art. 23.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    SteeringFailure,
    BrakeFailure,
    BodyCrack,
    FuelLeak,
    BatteryFire,
}

impl Failure {
    pub const fn code(self) -> &'static str {
        match self {
            Failure::SteeringFailure => "steering_failure",
            Failure::BrakeFailure => "brake_failure",
            Failure::BodyCrack => "body_crack",
            Failure::FuelLeak => "fuel_leak",
            Failure::BatteryFire => "battery_fire",
        }
    }

    pub const fn name_zh(self) -> &'static str {
        match self {
            Failure::SteeringFailure => "转向系统失效",
            Failure::BrakeFailure => "制动系统失效",
            Failure::BodyCrack => "车身开裂",
            Failure::FuelLeak => "燃油泄漏",
            Failure::BatteryFire => "动力蓄电池起火",
        }
    }

    pub const fn name_en(self) -> &'static str {
        match self {
            Failure::SteeringFailure => "steering failure",
            Failure::BrakeFailure => "brake failure",
            Failure::BodyCrack => "body cracking",
            Failure::FuelLeak => "fuel leak",
            Failure::BatteryFire => "traction battery fire",
        }
    }
}

/// What happened to the unit in one service-history entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryKind {
    /// A repair without replacing a listed part or assembly.
    Repair,
    /// A repair that replaced a part (`main_part`) or a whole assembly (`main_part` null).
    Replacement,
    /// The unit was exchanged for a new one: periods start again on its date.
    Exchange,
}

/// Facts that take a case out of 三包 (free remedies become paid repair).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// Damage from use, maintenance or storage against the instructions.
    Misuse,
    /// Disassembled by someone other than the authorised repairer.
    #[serde(alias = "unauthorized_disassembly")]
    UnauthorisedDisassembly,
    /// No 三包 certificate and valid invoice.
    NoCertificate,
    /// The certificate's model does not match the product, or it was altered.
    CertificateMismatch,
    ForceMajeure,
    /// The defect was disclosed in writing at the sale.
    DisclosedDefect,
    /// Modification, adjustment or removal that the manual forbids.
    ForbiddenModification,
    /// Vehicles: used for hire or other commercial purposes.
    CommercialUse,
    /// Improper handling by the consumer after a fault appeared.
    MishandlingAfterFault,
}

impl Exclusion {
    pub const ALL: [Exclusion; 9] = [
        Exclusion::Misuse,
        Exclusion::UnauthorisedDisassembly,
        Exclusion::NoCertificate,
        Exclusion::CertificateMismatch,
        Exclusion::ForceMajeure,
        Exclusion::DisclosedDefect,
        Exclusion::ForbiddenModification,
        Exclusion::CommercialUse,
        Exclusion::MishandlingAfterFault,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            Exclusion::Misuse => "misuse",
            Exclusion::UnauthorisedDisassembly => "unauthorised_disassembly",
            Exclusion::NoCertificate => "no_certificate",
            Exclusion::CertificateMismatch => "certificate_mismatch",
            Exclusion::ForceMajeure => "force_majeure",
            Exclusion::DisclosedDefect => "disclosed_defect",
            Exclusion::ForbiddenModification => "forbidden_modification",
            Exclusion::CommercialUse => "commercial_use",
            Exclusion::MishandlingAfterFault => "mishandling_after_fault",
        }
    }

    pub const fn name_zh(self) -> &'static str {
        match self {
            Exclusion::Misuse => "使用、维护、保管不当造成损坏",
            Exclusion::UnauthorisedDisassembly => "非承担三包的修理者拆动造成损坏",
            Exclusion::NoCertificate => "无三包凭证及有效发票",
            Exclusion::CertificateMismatch => "三包凭证型号与产品不符或者被涂改",
            Exclusion::ForceMajeure => "不可抗力造成损坏",
            Exclusion::DisclosedDefect => "购买时已书面告知存在瑕疵",
            Exclusion::ForbiddenModification => "违反使用说明书自行改装、调整、拆除",
            Exclusion::CommercialUse => "用于出租或者其他营运目的",
            Exclusion::MishandlingAfterFault => "出现质量问题后自行处置不当造成损坏",
        }
    }

    pub const fn name_en(self) -> &'static str {
        match self {
            Exclusion::Misuse => "damage from improper use, maintenance or storage",
            Exclusion::UnauthorisedDisassembly => "disassembled by an unauthorised repairer",
            Exclusion::NoCertificate => "no 三包 certificate and valid invoice",
            Exclusion::CertificateMismatch => "certificate model does not match or was altered",
            Exclusion::ForceMajeure => "damage by force majeure",
            Exclusion::DisclosedDefect => "defect disclosed in writing at the sale",
            Exclusion::ForbiddenModification => "modification forbidden by the manual",
            Exclusion::CommercialUse => "used for hire or other commercial purposes",
            Exclusion::MishandlingAfterFault => "mishandled by the consumer after the fault",
        }
    }
}

/// The fault being reported on `request_date`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub kind: FaultKind,
    /// 严重安全性能故障 (vehicles, art. 24(1)).
    #[serde(default, deserialize_with = "null_default")]
    pub serious_safety: bool,
    #[serde(default)]
    pub system: Option<VehicleSystem>,
    /// The main part (as listed on the 三包 certificate) that failed; may name the assembly
    /// itself. Null means the fault is not in a listed main part. General goods: a non-null
    /// value selects the category's main-component period.
    #[serde(default)]
    pub main_part: Option<String>,
    #[serde(default)]
    pub failure: Option<Failure>,
}

impl Fault {
    pub fn new(kind: FaultKind) -> Self {
        Fault { kind, serious_safety: false, system: None, main_part: None, failure: None }
    }
}

/// One entry of the unit's service history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    pub kind: HistoryKind,
    /// The entry dealt with the same fault as the one now reported.
    #[serde(default, deserialize_with = "null_default")]
    pub same_fault: bool,
    /// The entry dealt with a serious safety fault (vehicles, art. 24(1)).
    #[serde(default, deserialize_with = "null_default")]
    pub serious_safety: bool,
    #[serde(default)]
    pub system: Option<VehicleSystem>,
    /// For a replacement: the main part replaced; null (or the system's own code) means the
    /// whole assembly was replaced.
    #[serde(default)]
    pub main_part: Option<String>,
    /// Drop-off (repairs) or the exchange itself.
    pub start: DateTime<FixedOffset>,
    /// Hand-back; null for a repair still in progress (it then counts up to `request_date`).
    #[serde(default)]
    pub end: Option<DateTime<FixedOffset>>,
    /// Days of the start–end span spent waiting for parts (included in the span).
    #[serde(default, deserialize_with = "null_default")]
    pub waiting_for_parts_days: u32,
    /// Hours of the span that art. 24 does not count (transport of VIN-specific parts and
    /// traction batteries, rescue travel).
    #[serde(default, deserialize_with = "null_default")]
    pub excluded_hours: f64,
}

impl HistoryEntry {
    pub fn new(kind: HistoryKind, start: DateTime<FixedOffset>, end: Option<DateTime<FixedOffset>>) -> Self {
        HistoryEntry {
            kind,
            same_fault: false,
            serious_safety: false,
            system: None,
            main_part: None,
            start,
            end,
            waiting_for_parts_days: 0,
            excluded_hours: 0.0,
        }
    }

    pub(crate) fn is_repair(&self) -> bool {
        matches!(self.kind, HistoryKind::Repair | HistoryKind::Replacement)
    }

    /// The date an exchange took effect: its end when known, else its start.
    pub(crate) fn effective(&self) -> DateTime<FixedOffset> {
        self.end.unwrap_or(self.start)
    }
}

/// `POST /api/v1/entitlement/evaluate` input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluateRequest {
    /// Policy code; resolved by the caller (`evaluate`) or by `evaluate_json`'s lookup.
    pub policy: String,
    pub invoice_date: NaiveDate,
    #[serde(default)]
    pub delivery_date: Option<NaiveDate>,
    /// The day the fault is reported.
    pub request_date: NaiveDate,
    #[serde(default)]
    pub grade: Option<Grade>,
    #[serde(default)]
    pub category: Option<String>,
    /// Overrides the policy's warranty length.
    #[serde(default)]
    pub warranty_months: Option<u32>,
    #[serde(default)]
    pub odometer_km: Option<u64>,
    pub price_cents: i64,
    pub fault: Fault,
    #[serde(default, deserialize_with = "null_default")]
    pub history: Vec<HistoryEntry>,
    #[serde(default, deserialize_with = "null_default")]
    pub exclusions: Vec<Exclusion>,
    /// Whether a product of the same model and specification is available for an exchange.
    /// Null: not stated; exchanges are then assumed possible.
    #[serde(default)]
    pub same_model_available: Option<bool>,
    /// The unit was inspected and found non-conforming (seed policy: return).
    #[serde(default, deserialize_with = "null_default")]
    pub found_nonconforming: bool,
    /// Fraction of the price per day of use; overrides the policy's rate.
    #[serde(default)]
    pub depreciation_per_day: Option<f64>,
    /// Vehicles: usage coefficient n printed on the certificate (≤ 0.5 %).
    #[serde(default)]
    pub usage_rate_n: Option<f64>,
}

impl EvaluateRequest {
    /// A request with every optional field empty.
    pub fn new(
        policy: impl Into<String>,
        invoice_date: NaiveDate,
        request_date: NaiveDate,
        price_cents: i64,
        fault: Fault,
    ) -> Self {
        EvaluateRequest {
            policy: policy.into(),
            invoice_date,
            delivery_date: None,
            request_date,
            grade: None,
            category: None,
            warranty_months: None,
            odometer_km: None,
            price_cents,
            fault,
            history: Vec::new(),
            exclusions: Vec::new(),
            same_model_available: None,
            found_nonconforming: false,
            depreciation_per_day: None,
            usage_rate_n: None,
        }
    }
}
