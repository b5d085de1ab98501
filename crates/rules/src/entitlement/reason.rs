//! Why a remedy was granted or refused, as data. The Chinese and English sentences are
//! rendered only when asked for (serialisation or `Decision::reason_zh`), which keeps
//! `evaluate` free of string formatting.

use std::fmt::{self, Write};

use chrono::NaiveDate;
use serde::Serialize;

use super::types::{Exclusion, Failure, FaultKind, RemedySet, VehicleSystem};

/// The facts behind one decision. Article numbers are not repeated here: the decision's
/// `rule` carries the citation, the reason the numbers that were compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reason {
    /// A fault inside a window counted from the sale (458号 art. 9/10, seed §7-day).
    Window {
        day: u32,
        days: u32,
        kind: FaultKind,
        grants: RemedySet,
    },
    /// Inside a window's days, but the fault kind does not open it.
    WindowKind {
        day: u32,
        days: u32,
        kind: FaultKind,
    },
    RefundNotDue {
        day: u32,
        window: Option<u32>,
        repairs: u32,
        needed: Option<u32>,
        return_days: Option<u32>,
    },
    ExchangeNotDue {
        day: u32,
        window: Option<u32>,
        repairs: u32,
        needed: Option<u32>,
        within: Option<u32>,
    },
    Warranty {
        day: u32,
        months: u32,
        ends: NaiveDate,
        extension_days: u32,
        restarted: Option<NaiveDate>,
        km: Option<u64>,
        km_limit: Option<u64>,
    },
    WarrantyEnded {
        day: u32,
        ends: NaiveDate,
        km: Option<u64>,
        km_limit: Option<u64>,
    },
    /// 458号 art. 6: the repair must last this many days.
    PostRepair {
        repaired: NaiveDate,
        until: NaiveDate,
        days: u32,
    },
    FailedRepairs {
        day: u32,
        repairs: u32,
        needed: u32,
        within: Option<u32>,
        grants: RemedySet,
    },
    PartsDelay {
        started: NaiveDate,
        days: u32,
        limit: u32,
        waiting: u32,
    },
    RepairerDelay {
        started: NaiveDate,
        days: u32,
        limit: u32,
    },
    RefundInsteadOfExchange,
    NoSameModelExchange,
    NoSameModelRefund,
    SafetyReturn {
        day: u32,
        within: u32,
    },
    NonconformingReturn {
        day: u32,
        within: u32,
    },
    ReturnAfterExchange {
        day: u32,
        within: u32,
        repairs: u32,
    },
    Excluded {
        exclusion: Exclusion,
        count: u8,
    },
    FreeRepairApplies,
    AssemblySwap {
        day: u32,
        km: u64,
        days: u32,
        km_limit: Option<u64>,
        system: VehicleSystem,
    },
    AssemblySwapNotDue {
        day: u32,
        km: u64,
        days: u32,
        km_limit: Option<u64>,
        qualifies: bool,
    },
    CourtesyCar {
        days: u32,
        after: u32,
        from: NaiveDate,
        in_progress: bool,
    },
    CourtesyNotDue {
        longest: u32,
        after: u32,
    },
    EarlyAssemblyFault {
        day: u32,
        days: u32,
        system: VehicleSystem,
    },
    SeriousFailure {
        day: u32,
        km: u64,
        days: u32,
        km_limit: Option<u64>,
        failure: Failure,
    },
    SeriousSafetyRepairs {
        repairs: u32,
        needed: u32,
    },
    AssemblyReplaced {
        system: VehicleSystem,
        times: u32,
        needed: u32,
    },
    MainPartReplaced {
        system: VehicleSystem,
        times: u32,
        needed: u32,
    },
    RepairDaysOver {
        days: u32,
        limit: u32,
    },
    SameFaultRepairsOver {
        repairs: u32,
        limit: u32,
    },
    VehicleNotDue {
        day: u32,
        km: u64,
        serious: u32,
        assembly: u32,
        part: u32,
        repair_days: u32,
        same_fault: u32,
    },
    SanbaoEnded {
        ends: NaiveDate,
        km: Option<u64>,
        km_limit: Option<u64>,
    },
}

/// How a refund or compensation amount was computed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "basis", rename_all = "snake_case")]
pub enum AmountBasis {
    /// The full invoice / purchase price.
    FullPrice,
    /// 458号 art. 13: price × rate × days used.
    Depreciation { days_used: u32, rate: f64 },
    /// 43号 art. 27: price × km / 1000 × n.
    Usage { km: u64, n: f64 },
    /// Depreciation applies but no rate was given by the request, category or policy.
    MissingRate,
    /// Compensation applies but no n was given by the request or policy.
    MissingN,
}

/// Money attached to a refund (or an exchange that owes usage compensation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Amount {
    pub price_cents: i64,
    pub refund_cents: Option<i64>,
    pub deduction_cents: Option<i64>,
    #[serde(flatten)]
    pub basis: AmountBasis,
}

/// ¥4,000.00
struct Money(i64);

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let c = self.0.unsigned_abs();
        write!(f, "{sign}¥{}.{:02}", Thousands(c / 100), c % 100)
    }
}

/// 60,000
struct Thousands(u64);

impl fmt::Display for Thousands {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Largest power of 1000 not above the number, then groups of three digits.
        let mut div = 1u64;
        while self.0 / div >= 1000 {
            div *= 1000;
        }
        write!(f, "{}", self.0 / div)?;
        while div > 1 {
            div /= 1000;
            write!(f, ",{:03}", (self.0 / div) % 1000)?;
        }
        Ok(())
    }
}

/// 0.1%: the rate in percent, without trailing zeros.
struct Percent(f64);

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = String::with_capacity(24);
        write!(buf, "{:.4}", self.0 * 100.0)?;
        let s = buf.trim_end_matches('0').trim_end_matches('.');
        write!(f, "{s}%")
    }
}

/// "退货、换货或免费修理" / "refund, exchange or free repair".
struct Joined {
    set: RemedySet,
    zh: bool,
}

impl fmt::Display for Joined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.set.iter().count();
        for (i, r) in self.set.iter().enumerate() {
            let sep = match (i, self.zh) {
                (0, _) => "",
                (i, true) if i + 1 == n => "或",
                (_, true) => "、",
                (i, false) if i + 1 == n => " or ",
                (_, false) => ", ",
            };
            let name = if self.zh { r.name_zh() } else { r.name_en() };
            write!(f, "{sep}{name}")?;
        }
        Ok(())
    }
}

fn join_zh(set: RemedySet) -> Joined {
    Joined { set, zh: true }
}

fn join_en(set: RemedySet) -> Joined {
    Joined { set, zh: false }
}

/// A name with its first letter in upper case.
struct Capitalised(&'static str);

impl fmt::Display for Capitalised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars();
        if let Some(first) = chars.next() {
            write!(f, "{}{}", first.to_ascii_uppercase(), chars.as_str())?;
        }
        Ok(())
    }
}

fn money(cents: i64) -> Money {
    Money(cents)
}

fn thousands(n: u64) -> Thousands {
    Thousands(n)
}

fn percent(rate: f64) -> Percent {
    Percent(rate)
}

fn capitalise(s: &'static str) -> Capitalised {
    Capitalised(s)
}

fn km_over(km: Option<u64>, limit: Option<u64>) -> Option<(u64, u64)> {
    match (km, limit) {
        (Some(km), Some(limit)) if km > limit => Some((km, limit)),
        _ => None,
    }
}

/// "或3,000公里" / " or 3,000 km" when there is a km limit.
struct Limit {
    km: Option<u64>,
    zh: bool,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.km, self.zh) {
            (None, _) => Ok(()),
            (Some(l), true) => write!(f, "或{}公里", Thousands(l)),
            (Some(l), false) => write!(f, " or {} km", Thousands(l)),
        }
    }
}

fn limit_zh(km: Option<u64>) -> Limit {
    Limit { km, zh: true }
}

fn limit_en(km: Option<u64>) -> Limit {
    Limit { km, zh: false }
}

impl Reason {
    /// Stable machine-readable name of the reason.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Window { .. } => "window",
            Reason::WindowKind { .. } => "window_fault_kind",
            Reason::RefundNotDue { .. } => "refund_not_due",
            Reason::ExchangeNotDue { .. } => "exchange_not_due",
            Reason::Warranty { .. } => "in_warranty",
            Reason::WarrantyEnded { .. } => "warranty_ended",
            Reason::PostRepair { .. } => "post_repair_guarantee",
            Reason::FailedRepairs { .. } => "failed_repairs",
            Reason::PartsDelay { .. } => "parts_delay",
            Reason::RepairerDelay { .. } => "repairer_delay",
            Reason::RefundInsteadOfExchange => "refund_instead_of_exchange",
            Reason::NoSameModelExchange => "no_same_model",
            Reason::NoSameModelRefund => "no_same_model_refund",
            Reason::SafetyReturn { .. } => "safety_return",
            Reason::NonconformingReturn { .. } => "nonconforming_return",
            Reason::ReturnAfterExchange { .. } => "return_after_exchange",
            Reason::Excluded { .. } => "excluded",
            Reason::FreeRepairApplies => "free_repair_applies",
            Reason::AssemblySwap { .. } => "assembly_swap",
            Reason::AssemblySwapNotDue { .. } => "assembly_swap_not_due",
            Reason::CourtesyCar { .. } => "courtesy_car",
            Reason::CourtesyNotDue { .. } => "courtesy_car_not_due",
            Reason::EarlyAssemblyFault { .. } => "early_assembly_fault",
            Reason::SeriousFailure { .. } => "serious_failure",
            Reason::SeriousSafetyRepairs { .. } => "serious_safety_repairs",
            Reason::AssemblyReplaced { .. } => "assembly_replaced",
            Reason::MainPartReplaced { .. } => "main_part_replaced",
            Reason::RepairDaysOver { .. } => "repair_days_over",
            Reason::SameFaultRepairsOver { .. } => "same_fault_repairs_over",
            Reason::VehicleNotDue { .. } => "vehicle_not_due",
            Reason::SanbaoEnded { .. } => "sanbao_ended",
        }
    }

    /// The reason in Chinese.
    pub fn zh(&self) -> String {
        let mut o = String::new();
        self.write_zh(&mut o).expect("writing to a String cannot fail");
        o
    }

    /// The reason in English.
    pub fn en(&self) -> String {
        let mut o = String::new();
        self.write_en(&mut o).expect("writing to a String cannot fail");
        o
    }

    fn write_zh(&self, o: &mut String) -> fmt::Result {
        match *self {
            Reason::Window { day, days, kind, grants } => {
                let verb = if grants.iter().count() > 1 { "可选择" } else { "可" };
                write!(o, "购买后第{day}天（{days}日内）出现{}，{verb}{}", kind.name_zh(), join_zh(grants))
            }
            Reason::WindowKind { day, days, kind } => {
                write!(o, "购买后第{day}天，但{}不属于{days}日内可退换的故障", kind.name_zh())
            }
            Reason::RefundNotDue { day, window, repairs, needed, return_days } => {
                write!(o, "购买后第{day}天")?;
                if let Some(w) = window {
                    write!(o, "，已超过{w}日退货期")?;
                }
                if let Some(r) = return_days {
                    if day > r {
                        write!(o, "，已超过{r}日退货期")?;
                    } else {
                        write!(o, "，{r}日内无危及安全健康、检验不合格或换货后仍不合格的情形")?;
                    }
                }
                if let Some(n) = needed {
                    write!(o, "；同一故障已修理{repairs}次，未达到{n}次")?;
                }
                write!(o, "，不符合退货条件")
            }
            Reason::ExchangeNotDue { day, window, repairs, needed, within } => {
                write!(o, "购买后第{day}天")?;
                if let Some(w) = window {
                    write!(o, "，已超过{w}日换货期")?;
                }
                if let Some(w) = within
                    && day > w
                {
                    write!(o, "，已超过购买后{w}日")?;
                }
                if let Some(n) = needed {
                    write!(o, "；同一故障已修理{repairs}次，未达到{n}次")?;
                }
                write!(o, "，不符合换货条件")
            }
            Reason::Warranty { day, months, ends, extension_days, restarted, km, km_limit } => {
                write!(o, "在{months}个月保修期内（第{day}天，至{ends}")?;
                if extension_days > 0 {
                    write!(o, "，含修理顺延{extension_days}天")?;
                }
                if let Some(d) = restarted {
                    write!(o, "，自{d}换货后重新计算")?;
                }
                if let (Some(km), Some(l)) = (km, km_limit) {
                    write!(o, "，已行驶{}公里，限{}公里", thousands(km), thousands(l))?;
                }
                if km_limit.is_some() {
                    write!(o, "），免费修理（免收工时费和材料费）")
                } else {
                    write!(o, "），免费修理（免收材料费、工时费和运输费）")
                }
            }
            Reason::WarrantyEnded { day, ends, km, km_limit } => match km_over(km, km_limit) {
                Some((km, l)) => write!(
                    o,
                    "行驶里程{}公里已超过保修里程{}公里，保修期已结束，只能收费修理",
                    thousands(km),
                    thousands(l)
                ),
                None => write!(o, "保修期已于{ends}结束（报修日为第{day}天），只能收费修理"),
            },
            Reason::PostRepair { repaired, until, days } => write!(
                o,
                "保修期已过，但同一故障于{repaired}修复，修复后应能正常使用{days}日以上（至{until}），免费修理"
            ),
            Reason::FailedRepairs { day, repairs, needed, within, grants } => {
                write!(o, "同一故障已修理{repairs}次仍不能正常使用（标准为{needed}次）")?;
                if let Some(w) = within {
                    write!(o, "，在购买后{w}日内（第{day}天）")?;
                }
                write!(o, "，可{}", join_zh(grants))
            }
            Reason::PartsDelay { started, days, limit, waiting } => write!(
                o,
                "自{started}送修已{days}日仍未修好，超过{limit}日，其中等待零配件{waiting}日，免费调换同型号同规格产品"
            ),
            Reason::RepairerDelay { started, days, limit } => {
                write!(o, "自{started}送修，因修理者自身原因修理期{days}日，超过{limit}日，由修理者负责免费调换")
            }
            Reason::RefundInsteadOfExchange => {
                write!(o, "符合换货条件，消费者不愿调换的可以退货")
            }
            Reason::NoSameModelExchange => {
                write!(o, "符合换货条件，但没有同型号同规格的产品可以调换")
            }
            Reason::NoSameModelRefund => {
                write!(o, "符合换货条件但没有同型号同规格的产品，消费者不愿调换其他型号的，予以退货")
            }
            Reason::SafetyReturn { day, within } => {
                write!(o, "购买后第{day}天（{within}日内）出现危及安全健康的严重质量问题，按原购价退货")
            }
            Reason::NonconformingReturn { day, within } => {
                write!(o, "购买后第{day}天（{within}日内）经检验为不合格品，按原购价退货")
            }
            Reason::ReturnAfterExchange { day, within, repairs } => write!(
                o,
                "购买后第{day}天（{within}日内），一般质量问题经{repairs}次修理及换货后仍不合格，按原购价退货"
            ),
            Reason::Excluded { exclusion, count } => {
                write!(o, "存在除外情形：{}", exclusion.name_zh())?;
                if count > 1 {
                    write!(o, "等{count}项")?;
                }
                write!(o, "，不实行三包，但可以收费修理")
            }
            Reason::FreeRepairApplies => write!(o, "适用免费修理，无需收费"),
            Reason::AssemblySwap { day, km, days, km_limit, system } => write!(
                o,
                "三包有效期第{day}天、行驶{}公里（{days}日{}内，以先到者为准），{}主要零件出现质量问题，可免费更换{}",
                thousands(km),
                limit_zh(km_limit),
                system.name_zh(),
                system.name_zh()
            ),
            Reason::AssemblySwapNotDue { day, km, days, km_limit, qualifies } => {
                if qualifies {
                    write!(
                        o,
                        "第{day}天、行驶{}公里，已超过{days}日{}（以先到者为准），不适用免费更换总成",
                        thousands(km),
                        limit_zh(km_limit)
                    )
                } else {
                    write!(o, "故障不属于发动机、变速器、动力蓄电池或行驶驱动电机的主要零件，不适用免费更换总成")
                }
            }
            Reason::CourtesyCar { days, after, from, in_progress } => {
                write!(
                    o,
                    "单次修理{days}日（含等待零部件时间），超过{after}日，自第{}日（{from}）起提供备用车或合理的交通费用补偿",
                    after + 1
                )?;
                if in_progress {
                    write!(o, "（修理仍在进行）")?;
                }
                Ok(())
            }
            Reason::CourtesyNotDue { longest, after } => {
                write!(o, "单次修理最长{longest}日，未超过{after}日")
            }
            Reason::EarlyAssemblyFault { day, days, system } => write!(
                o,
                "三包有效期第{day}天（{days}日内）因质量问题需要更换{}或其主要零件，可选择免费换车或退车",
                system.name_zh()
            ),
            Reason::SeriousFailure { day, km, days, km_limit, failure } => write!(
                o,
                "第{day}天、行驶{}公里（{days}日{}内，以先到者为准）出现{}，可选择免费换车或退车",
                thousands(km),
                limit_zh(km_limit),
                failure.name_zh()
            ),
            Reason::SeriousSafetyRepairs { repairs, needed } => write!(
                o,
                "三包有效期内严重安全性能故障累计修理{repairs}次（{needed}次起）仍未排除或又出现新的严重安全性能故障，可选择换车或退车"
            ),
            Reason::AssemblyReplaced { system, times, needed } => write!(
                o,
                "三包有效期内{}累计更换{times}次（{needed}次起）仍不能正常使用，可选择换车或退车",
                system.name_zh()
            ),
            Reason::MainPartReplaced { system, times, needed } => write!(
                o,
                "三包有效期内{}的同一主要零件累计更换{times}次（{needed}次起）仍不能正常使用，可选择换车或退车",
                system.name_zh()
            ),
            Reason::RepairDaysOver { days, limit } => write!(
                o,
                "三包有效期内累计修理{days}日（不含特殊零部件运输和外出救援路途时间），超过{limit}日，可选择换车或退车"
            ),
            Reason::SameFaultRepairsOver { repairs, limit } => {
                write!(o, "三包有效期内同一质量问题累计修理{repairs}次，超过{limit}次，可选择换车或退车")
            }
            Reason::VehicleNotDue { day, km, serious, assembly, part, repair_days, same_fault } => write!(
                o,
                "三包有效期第{day}天、{}公里：严重安全性能故障修理{serious}次、总成更换{assembly}次、同一主要零件更换{part}次、累计修理{repair_days}日、同一问题修理{same_fault}次，均未达到换车或退车条件",
                thousands(km)
            ),
            Reason::SanbaoEnded { ends, km, km_limit } => match km_over(km, km_limit) {
                Some((km, l)) => {
                    write!(o, "行驶里程{}公里已超过三包里程{}公里，三包有效期已结束", thousands(km), thousands(l))
                }
                None => write!(o, "三包有效期已于{ends}结束"),
            },
        }
    }

    fn write_en(&self, o: &mut String) -> fmt::Result {
        match *self {
            Reason::Window { day, days, kind, grants } => {
                let tail = if grants.iter().count() > 1 { " at the customer's choice" } else { "" };
                write!(
                    o,
                    "{} on day {day} after sale (within {days} days): {}{tail}",
                    capitalise(kind.name_en()),
                    join_en(grants)
                )
            }
            Reason::WindowKind { day, days, kind } => {
                write!(o, "Day {day} after sale, but a {} does not qualify for the {days}-day rule", kind.name_en())
            }
            Reason::RefundNotDue { day, window, repairs, needed, return_days } => {
                write!(o, "Day {day} after sale")?;
                if let Some(w) = window {
                    write!(o, ", past the {w}-day refund window")?;
                }
                if let Some(r) = return_days {
                    if day > r {
                        write!(o, ", past the {r}-day return window")?;
                    } else {
                        write!(
                            o,
                            ", no safety problem, failed inspection or failure after an exchange within {r} days"
                        )?;
                    }
                }
                if let Some(n) = needed {
                    write!(o, "; the same fault was repaired {repairs} of {n} times")?;
                }
                write!(o, ": no refund")
            }
            Reason::ExchangeNotDue { day, window, repairs, needed, within } => {
                write!(o, "Day {day} after sale")?;
                if let Some(w) = window {
                    write!(o, ", past the {w}-day exchange window")?;
                }
                if let Some(w) = within
                    && day > w
                {
                    write!(o, ", more than {w} days after sale")?;
                }
                if let Some(n) = needed {
                    write!(o, "; the same fault was repaired {repairs} of {n} times")?;
                }
                write!(o, ": no exchange")
            }
            Reason::Warranty { day, months, ends, extension_days, restarted, km, km_limit } => {
                write!(o, "Within the {months}-month warranty (day {day}, ends {ends}")?;
                if extension_days > 0 {
                    write!(o, ", incl. {extension_days} days added back for repairs")?;
                }
                if let Some(d) = restarted {
                    write!(o, ", restarted by the exchange on {d}")?;
                }
                if let (Some(km), Some(l)) = (km, km_limit) {
                    write!(o, ", {} of {} km", thousands(km), thousands(l))?;
                }
                if km_limit.is_some() {
                    write!(o, "): free repair, labour and materials included")
                } else {
                    write!(o, "): free repair, parts, labour and transport included")
                }
            }
            Reason::WarrantyEnded { day, ends, km, km_limit } => match km_over(km, km_limit) {
                Some((km, l)) => write!(
                    o,
                    "Odometer {} km is over the warranty's {} km: repair is chargeable",
                    thousands(km),
                    thousands(l)
                ),
                None => write!(o, "The warranty ended on {ends} (request on day {day}): repair is chargeable"),
            },
            Reason::PostRepair { repaired, until, days } => write!(
                o,
                "Warranty over, but the same fault was repaired on {repaired} and a repair must hold for {days} days (until {until}): free repair"
            ),
            Reason::FailedRepairs { day, repairs, needed, within, grants } => {
                write!(o, "The same fault was repaired {repairs} times and persists (threshold {needed})")?;
                if let Some(w) = within {
                    write!(o, ", within {w} days of sale (day {day})")?;
                }
                write!(o, ": {}", join_en(grants))
            }
            Reason::PartsDelay { started, days, limit, waiting } => write!(
                o,
                "Dropped off on {started} and unrepaired after {days} days (over {limit}), {waiting} of them waiting for parts: free exchange for the same model"
            ),
            Reason::RepairerDelay { started, days, limit } => write!(
                o,
                "Dropped off on {started}: {days} days of repair attributable to the repairer (over {limit}): free exchange at the repairer's cost"
            ),
            Reason::RefundInsteadOfExchange => {
                write!(o, "An exchange is due; a consumer who does not want one may take a refund")
            }
            Reason::NoSameModelExchange => {
                write!(o, "An exchange is due, but no product of the same model and specification is available")
            }
            Reason::NoSameModelRefund => {
                write!(o, "An exchange is due but no product of the same model and specification is available: refund")
            }
            Reason::SafetyReturn { day, within } => write!(
                o,
                "Problem endangering safety or health on day {day} after sale (within {within} days): return at the purchase price"
            ),
            Reason::NonconformingReturn { day, within } => write!(
                o,
                "Found non-conforming on day {day} after sale (within {within} days): return at the purchase price"
            ),
            Reason::ReturnAfterExchange { day, within, repairs } => write!(
                o,
                "Day {day} after sale (within {within} days): the problem persists after {repairs} repairs and an exchange: return at the purchase price"
            ),
            Reason::Excluded { exclusion, count } => {
                write!(o, "Excluded: {}", exclusion.name_en())?;
                if count > 1 {
                    write!(o, " and {} more", count - 1)?;
                }
                write!(o, ": no 三包 remedies, paid repair only")
            }
            Reason::FreeRepairApplies => write!(o, "Free repair applies; nothing to charge"),
            Reason::AssemblySwap { day, km, days, km_limit, system } => write!(
                o,
                "Day {day}, {} km (within {days} days{}, whichever first): a main part of the {} failed: free replacement of the {}",
                thousands(km),
                limit_en(km_limit),
                system.name_en(),
                system.name_en()
            ),
            Reason::AssemblySwapNotDue { day, km, days, km_limit, qualifies } => {
                if qualifies {
                    write!(
                        o,
                        "Day {day}, {} km: beyond {days} days{} (whichever first): no free assembly replacement",
                        thousands(km),
                        limit_en(km_limit)
                    )
                } else {
                    write!(
                        o,
                        "The fault is not in a main part of the engine, transmission, traction battery or drive motor: no assembly replacement"
                    )
                }
            }
            Reason::CourtesyCar { days, after, from, in_progress } => {
                write!(
                    o,
                    "A single repair of {days} days (waiting for parts included) is over {after} days: courtesy car or transport allowance from day {} ({from})",
                    after + 1
                )?;
                if in_progress {
                    write!(o, " (repair still in progress)")?;
                }
                Ok(())
            }
            Reason::CourtesyNotDue { longest, after } => {
                write!(o, "Longest single repair {longest} days, not over {after} days")
            }
            Reason::EarlyAssemblyFault { day, days, system } => write!(
                o,
                "Day {day} (within {days} days): the {} or one of its main parts must be replaced: free exchange or refund at the customer's choice",
                system.name_en()
            ),
            Reason::SeriousFailure { day, km, days, km_limit, failure } => write!(
                o,
                "{} on day {day}, {} km (within {days} days{}, whichever first): free exchange or refund at the customer's choice",
                capitalise(failure.name_en()),
                thousands(km),
                limit_en(km_limit)
            ),
            Reason::SeriousSafetyRepairs { repairs, needed } => write!(
                o,
                "A serious safety fault was repaired {repairs} times (threshold {needed}) and is not cured, or a new one appeared: exchange or refund"
            ),
            Reason::AssemblyReplaced { system, times, needed } => write!(
                o,
                "The {} was replaced {times} times (threshold {needed}) and still fails: exchange or refund",
                system.name_en()
            ),
            Reason::MainPartReplaced { system, times, needed } => write!(
                o,
                "The same main part of the {} was replaced {times} times (threshold {needed}) and still fails: exchange or refund",
                system.name_en()
            ),
            Reason::RepairDaysOver { days, limit } => write!(
                o,
                "{days} days under repair in the 三包 period (parts transport and rescue travel excluded), over {limit}: exchange or refund"
            ),
            Reason::SameFaultRepairsOver { repairs, limit } => write!(
                o,
                "The same problem was repaired {repairs} times in the 三包 period, more than {limit}: exchange or refund"
            ),
            Reason::VehicleNotDue { day, km, serious, assembly, part, repair_days, same_fault } => write!(
                o,
                "Day {day}, {} km: {serious} serious-safety repairs, {assembly} assembly replacements, {part} replacements of the same main part, {repair_days} repair days, same problem repaired {same_fault} times: no ground for exchange or refund",
                thousands(km)
            ),
            Reason::SanbaoEnded { ends, km, km_limit } => match km_over(km, km_limit) {
                Some((km, l)) => write!(
                    o,
                    "Odometer {} km is over the 三包 limit of {} km: the 三包 period is over",
                    thousands(km),
                    thousands(l)
                ),
                None => write!(o, "The 三包 period ended on {ends}"),
            },
        }
    }
}

impl Amount {
    pub(crate) fn write_zh(&self, o: &mut String) -> fmt::Result {
        let price = money(self.price_cents);
        match self.basis {
            AmountBasis::FullPrice => write!(o, "；按发票价格全额退款{price}"),
            AmountBasis::Depreciation { days_used, rate } => write!(
                o,
                "；退款{}（折旧费{} = {price} × {} × 使用{days_used}天，已扣除修理占用和待修天数）",
                money(self.refund_cents.unwrap_or(0)),
                money(self.deduction_cents.unwrap_or(0)),
                percent(rate)
            ),
            AmountBasis::Usage { km, n } => {
                write!(
                    o,
                    "；使用补偿费{} = {price} × {}公里 ÷ 1000 × {}",
                    money(self.deduction_cents.unwrap_or(0)),
                    thousands(km),
                    percent(n)
                )?;
                if let Some(r) = self.refund_cents {
                    write!(o, "，退款{}", money(r))?;
                }
                Ok(())
            }
            AmountBasis::MissingRate => write!(o, "；未给出日折旧率，无法计算退款金额"),
            AmountBasis::MissingN => write!(o, "；未给出使用补偿系数n，无法计算使用补偿费"),
        }
    }

    pub(crate) fn write_en(&self, o: &mut String) -> fmt::Result {
        let price = money(self.price_cents);
        match self.basis {
            AmountBasis::FullPrice => write!(o, "; full refund of the invoice price {price}"),
            AmountBasis::Depreciation { days_used, rate } => write!(
                o,
                "; refund {} (depreciation {} = {price} × {} × {days_used} days of use, repair and waiting days deducted)",
                money(self.refund_cents.unwrap_or(0)),
                money(self.deduction_cents.unwrap_or(0)),
                percent(rate)
            ),
            AmountBasis::Usage { km, n } => {
                write!(
                    o,
                    "; usage compensation {} = {price} × {} km / 1000 × {}",
                    money(self.deduction_cents.unwrap_or(0)),
                    thousands(km),
                    percent(n)
                )?;
                if let Some(r) = self.refund_cents {
                    write!(o, ", refund {}", money(r))?;
                }
                Ok(())
            }
            AmountBasis::MissingRate => {
                write!(o, "; no daily depreciation rate given: amount unknown")
            }
            AmountBasis::MissingN => {
                write!(o, "; no usage coefficient n given: compensation unknown")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_percent_formatting() {
        assert_eq!(money(400_000).to_string(), "¥4,000.00");
        assert_eq!(money(5).to_string(), "¥0.05");
        assert_eq!(money(123_456_789).to_string(), "¥1,234,567.89");
        assert_eq!(percent(0.001).to_string(), "0.1%");
        assert_eq!(percent(0.0005).to_string(), "0.05%");
        assert_eq!(percent(0.005).to_string(), "0.5%");
        assert_eq!(thousands(999).to_string(), "999");
        assert_eq!(thousands(1000).to_string(), "1,000");
        assert_eq!(thousands(0).to_string(), "0");
        assert_eq!(thousands(1_000_000).to_string(), "1,000,000");
        assert_eq!(thousands(u64::MAX).to_string(), "18,446,744,073,709,551,615");
        assert_eq!(money(-1_050).to_string(), "-¥10.50");
    }

    #[test]
    fn window_reason_reads_naturally() {
        let r = Reason::Window {
            day: 5,
            days: 7,
            kind: FaultKind::Performance,
            grants: RemedySet::from_slice(&[
                super::super::Remedy::Refund,
                super::super::Remedy::Exchange,
                super::super::Remedy::FreeRepair,
            ]),
        };
        assert_eq!(r.zh(), "购买后第5天（7日内）出现性能故障，可选择退货、换货或免费修理");
        assert_eq!(
            r.en(),
            "Performance fault on day 5 after sale (within 7 days): refund, exchange or free repair at the customer's choice"
        );
    }
}
