//! Certification self-assessment (售后服务体系认证自评, R10.1): the indicator tree of
//! GB/T 27922-2011 商品售后服务评价体系 and of the older SB/T 10401-2006, and the scoring of an
//! assessment (RULES §8).
//!
//! GB/T 27922-2011 has three top-level indicators — 售后服务体系 40, 商品服务 35, 顾客服务 25 —
//! each split into second-level indicators whose points are company configuration (the
//! defaults below are unverified and sum to their parent). SB/T 10401-2006, the structure of
//! the service handbook in seed 000, has eight headings scored on their own.
//!
//! Scoring ([`evaluate`]): a met indicator earns its points, a partly met one its points × the
//! fraction met (e.g. the share of sampled records that conform), an unmet one nothing; a
//! not-applicable one is dropped, and the score is earned ÷ applicable × 100. Then −1 for each
//! special deduction (a breach of law, of the company's own rules or of industry requirements)
//! and +1 for at most one special bonus, kept inside 0–100. The score is rounded to two
//! decimals and the level is read from the rounded score, so what is shown is what is judged.
//! GB/T 27922: five or more special deductions, or below 70 → not passed; ≥ 70 达标; ≥ 80 三星;
//! ≥ 90 四星; ≥ 95 五星. SB/T 10401: passed at ≥ 70 with every heading at ≥ 50 % of its
//! applicable points (RULES §8 names no star levels for it, so none are given).
//!
//! Indicators a request does not list are "not assessed": they are not counted, and the
//! outcome names them so a half-finished assessment is not mistaken for a finished one.
//!
//! Some indicators can be suggested from the system's own figures ([`suggest_complaints`],
//! [`suggest_customer_relations`], [`suggest_repair`]); a suggestion is only ever a proposal
//! the assessor accepts or overrides.

use serde::{Deserialize, Serialize};

use crate::FieldError;

coded! {
    /// The evaluation scheme.
    Scheme {
        Gbt27922 = "gbt27922-2011", "GB/T 27922-2011 商品售后服务评价体系",
            "GB/T 27922-2011 Evaluation system of after-sales service of commodities";
        Sbt10401 = "sbt10401-2006", "SB/T 10401-2006 商品售后服务评价体系（旧）",
            "SB/T 10401-2006 Evaluation system of after-sales service (former)";
    }
}

coded! {
    /// How far an indicator is met.
    Status {
        Met = "met", "符合", "met";
        Partial = "partial", "部分符合", "partly met";
        NotMet = "not_met", "不符合", "not met";
        NotApplicable = "not_applicable", "不适用", "not applicable";
    }
}

coded! {
    /// The level reached.
    Level {
        Fail = "fail", "未通过", "not passed";
        Pass = "pass", "达标", "pass";
        ThreeStar = "three_star", "三星", "three stars";
        FourStar = "four_star", "四星", "four stars";
        FiveStar = "five_star", "五星", "five stars";
    }
}

coded! {
    /// What a suggestion from the system's own data is about.
    Topic {
        /// The complaint register (`complaints` in both schemes).
        Complaints = "complaints", "投诉处理", "complaint handling";
        /// Satisfaction surveys and follow-up visits.
        CustomerRelations = "customer_relations", "顾客关系", "customer relations";
        /// Work orders and their service clocks.
        Repair = "repair", "维修", "repair";
    }
}

/// A scored (leaf) indicator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Indicator {
    pub code: &'static str,
    /// Its number in the tree (`2.4`).
    pub number: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    /// Default points (company configuration; unverified).
    pub points: f64,
    /// What an assessor looks for.
    pub about_zh: &'static str,
    pub about_en: &'static str,
}

impl Indicator {
    pub fn name(&self, locale: &str) -> &'static str {
        if locale.starts_with("en") { self.name_en } else { self.name_zh }
    }
    pub fn about(&self, locale: &str) -> &'static str {
        if locale.starts_with("en") { self.about_en } else { self.about_zh }
    }
}

/// A top-level indicator (GB/T 27922) or a heading (SB/T 10401) with the indicators it holds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Group {
    pub code: &'static str,
    pub number: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    /// The standard's points, which the default points of its indicators add up to.
    pub points: f64,
    pub indicators: &'static [Indicator],
}

impl Group {
    pub fn name(&self, locale: &str) -> &'static str {
        if locale.starts_with("en") { self.name_en } else { self.name_zh }
    }
}

macro_rules! ind {
    ($code:literal, $no:literal, $zh:literal, $en:literal, $pts:literal, $azh:literal, $aen:literal) => {
        Indicator { code: $code, number: $no, name_zh: $zh, name_en: $en, points: $pts, about_zh: $azh, about_en: $aen }
    };
}

const GBT_SYSTEM: &[Indicator] = &[
    ind!(
        "organization",
        "1.1",
        "组织架构",
        "organisation",
        6.0,
        "设有售后服务管理部门，职责和权限明确，有组织架构图和过程职责分配表",
        "An after-sales department with defined duties and authority, an organisation chart and a process–department responsibility matrix"
    ),
    ind!(
        "staffing",
        "1.2",
        "人员配置",
        "staffing",
        6.0,
        "服务人员数量和能力满足服务需要，经培训考核上岗",
        "Enough service staff with the skills needed, trained and assessed before working alone"
    ),
    ind!(
        "resources",
        "1.3",
        "资源配置",
        "resources",
        6.0,
        "服务网点、工具设备、备件和信息系统满足服务需要",
        "Service points, tools, spare parts and information systems that meet the service's needs"
    ),
    ind!(
        "norms",
        "1.4",
        "规范要求",
        "norms and procedures",
        6.0,
        "服务承诺、服务制度、服务流程和服务标准形成文件并执行",
        "Service commitments, rules, processes and standards written down and followed"
    ),
    ind!(
        "supervision",
        "1.5",
        "监督",
        "supervision",
        5.0,
        "对服务过程和服务质量定期检查、考核并记录",
        "Service processes and quality checked and appraised regularly, with records"
    ),
    ind!(
        "improvement",
        "1.6",
        "改进",
        "improvement",
        5.0,
        "分析服务数据和顾客意见，采取纠正预防措施并验证效果",
        "Service data and customers' views analysed; corrective and preventive actions taken and verified"
    ),
    ind!(
        "culture",
        "1.7",
        "服务文化",
        "service culture",
        6.0,
        "服务理念和服务承诺明确，对内宣贯、对外公示",
        "A stated service philosophy and commitments, made known to staff and published to customers"
    ),
];

const GBT_GOODS: &[Indicator] = &[
    ind!(
        "product_info",
        "2.1",
        "商品信息",
        "product information",
        5.0,
        "提供真实完整的商品说明、保修凭证和售后服务信息",
        "True and complete product descriptions, warranty documents and service information"
    ),
    ind!(
        "tech_support",
        "2.2",
        "技术支持",
        "technical support",
        5.0,
        "为顾客提供使用指导、咨询和培训",
        "Guidance, advice and training for customers on using the product"
    ),
    ind!(
        "delivery",
        "2.3",
        "配送",
        "delivery and installation",
        5.0,
        "按约定时间配送、安装调试",
        "Delivery, installation and commissioning at the agreed time"
    ),
    ind!(
        "repair",
        "2.4",
        "维修",
        "repair",
        10.0,
        "维修及时，服务时限达标，返修受控",
        "Repairs on time, service promises kept, repeat repairs under control"
    ),
    ind!(
        "quality_assurance",
        "2.5",
        "质量保证",
        "quality assurance",
        6.0,
        "履行三包和质量承诺，备件供应有保障",
        "三包 and quality commitments honoured, spare parts available"
    ),
    ind!(
        "recycling",
        "2.6",
        "废弃商品回收",
        "take-back of discarded products",
        4.0,
        "废旧商品和包装的回收处理",
        "Discarded products and packaging taken back and disposed of properly"
    ),
];

const GBT_CUSTOMER: &[Indicator] = &[
    ind!(
        "customer_relations",
        "3.1",
        "顾客关系",
        "customer relations",
        12.0,
        "顾客档案完整，定期回访，满意度调查达到目标",
        "Complete customer records, regular follow-up visits, satisfaction surveys meeting the target"
    ),
    ind!(
        "complaints",
        "3.2",
        "投诉处理",
        "complaint handling",
        13.0,
        "投诉渠道畅通，按时受理答复，无重大投诉",
        "Open complaint channels, complaints acknowledged and answered on time, no major complaint"
    ),
];

const GBT: &[Group] = &[
    Group {
        code: "service_system",
        number: "1",
        name_zh: "售后服务体系",
        name_en: "after-sales service system",
        points: 40.0,
        indicators: GBT_SYSTEM,
    },
    Group {
        code: "goods_service",
        number: "2",
        name_zh: "商品服务",
        name_en: "service of the goods",
        points: 35.0,
        indicators: GBT_GOODS,
    },
    Group {
        code: "customer_service",
        number: "3",
        name_zh: "顾客服务",
        name_en: "customer service",
        points: 25.0,
        indicators: GBT_CUSTOMER,
    },
];

/// SB/T 10401-2006: each heading is scored as one indicator.
macro_rules! heading {
    ($code:literal, $no:literal, $zh:literal, $en:literal, $pts:literal, $azh:literal, $aen:literal) => {
        Group {
            code: $code,
            number: $no,
            name_zh: $zh,
            name_en: $en,
            points: $pts,
            indicators: &[ind!($code, $no, $zh, $en, $pts, $azh, $aen)],
        }
    };
}

const SBT: &[Group] = &[
    heading!(
        "culture",
        "1",
        "服务文化",
        "service culture",
        6.0,
        "服务理念、服务承诺、服务策略和服务目标",
        "Service philosophy, commitments, strategy and objectives"
    ),
    heading!(
        "regime",
        "2",
        "服务制度",
        "service rules",
        6.0,
        "售后服务管理制度、考核和奖惩",
        "After-sales rules, appraisal, rewards and penalties"
    ),
    heading!(
        "system",
        "3",
        "服务体系",
        "service system",
        8.0,
        "组织机构、人员、网点和服务手册",
        "Organisation, staff, service points and the service handbook"
    ),
    heading!(
        "delivery_installation",
        "4",
        "配送安装",
        "delivery and installation",
        10.0,
        "按约定配送、安装调试和使用指导",
        "Delivery, installation, commissioning and instruction as agreed"
    ),
    heading!(
        "repair",
        "5",
        "维修服务",
        "repair service",
        20.0,
        "维修及时、三包履行、备件保障",
        "Timely repairs, 三包 honoured, spare parts available"
    ),
    heading!(
        "complaints",
        "6",
        "客户投诉",
        "customer complaints",
        30.0,
        "投诉受理、处理、答复和记录",
        "Complaints received, handled, answered and recorded"
    ),
    heading!(
        "customer_management",
        "7",
        "客户管理",
        "customer management",
        10.0,
        "客户档案、回访和满意度",
        "Customer records, follow-up visits and satisfaction"
    ),
    heading!(
        "improvement",
        "8",
        "服务改进",
        "service improvement",
        10.0,
        "数据分析、纠正预防措施和持续改进",
        "Analysis, corrective and preventive actions, continual improvement"
    ),
];

/// The rule cited by every outcome.
pub const GBT_RULE_ZH: &str = "GB/T 27922-2011 商品售后服务评价体系：得分 = 实得分 ÷ 适用分值 × 100 − 特别扣分（每项 1 分）+ 特别加分（至多 1 分）；\
    低于 70 分或特别扣分 5 项及以上为未通过，≥ 70 达标，≥ 80 三星，≥ 90 四星，≥ 95 五星";
pub const GBT_RULE_EN: &str = "GB/T 27922-2011: score = earned ÷ applicable points × 100 − 1 per special deduction + at most 1 special bonus; \
    below 70 or 5 or more special deductions: not passed; ≥ 70 pass; ≥ 80 three stars; ≥ 90 four stars; ≥ 95 five stars";
pub const SBT_RULE_ZH: &str = "SB/T 10401-2006 商品售后服务评价体系：得分 = 实得分 ÷ 适用分值 × 100 − 特别扣分 + 特别加分；\
    总分 ≥ 70 且每一大项得分率 ≥ 50 % 为达标，特别扣分 5 项及以上为未通过";
pub const SBT_RULE_EN: &str = "SB/T 10401-2006: score = earned ÷ applicable points × 100 − special deductions + bonus; \
    passed at ≥ 70 with every heading at ≥ 50 % of its points; 5 or more special deductions: not passed";

/// Special deductions from which the assessment is not passed whatever the score.
pub const FAIL_DEDUCTIONS: u32 = 5;
/// At most this many special bonuses.
pub const MAX_BONUS: u32 = 1;

impl Scheme {
    pub fn groups(self) -> &'static [Group] {
        match self {
            Scheme::Gbt27922 => GBT,
            Scheme::Sbt10401 => SBT,
        }
    }

    /// Whether the tree has second-level indicators under its groups (GB/T) or scores the
    /// headings themselves (SB/T).
    pub fn two_levels(self) -> bool {
        self == Scheme::Gbt27922
    }

    pub fn indicators(self) -> impl Iterator<Item = (&'static Group, &'static Indicator)> {
        self.groups().iter().flat_map(|g| g.indicators.iter().map(move |i| (g, i)))
    }

    /// An indicator by its code, its number (`2.4`) or its Chinese or English name.
    pub fn find(self, s: &str) -> Option<(&'static Group, &'static Indicator)> {
        let s = s.trim();
        self.indicators().find(|(_, i)| i.code == s).or_else(|| {
            self.indicators().find(|(_, i)| i.number == s || i.name_zh == s || i.name_en.eq_ignore_ascii_case(s))
        })
    }

    pub fn rule(self, locale: &str) -> &'static str {
        match (self, locale.starts_with("en")) {
            (Scheme::Gbt27922, false) => GBT_RULE_ZH,
            (Scheme::Gbt27922, true) => GBT_RULE_EN,
            (Scheme::Sbt10401, false) => SBT_RULE_ZH,
            (Scheme::Sbt10401, true) => SBT_RULE_EN,
        }
    }

    /// The indicator a suggestion about `topic` fills in.
    pub fn indicator_for(self, topic: Topic) -> &'static str {
        match (self, topic) {
            (_, Topic::Complaints) => "complaints",
            (Scheme::Gbt27922, Topic::CustomerRelations) => "customer_relations",
            (Scheme::Sbt10401, Topic::CustomerRelations) => "customer_management",
            (_, Topic::Repair) => "repair",
        }
    }
}

/// Checks a company's configured points for a scheme: every indicator known, none negative,
/// and each group's indicators adding up to the group's points (so the total stays 100).
/// Field names are `points.CODE` and `points.GROUP`.
pub fn check_points(scheme: Scheme, points: &[(String, f64)]) -> Vec<FieldError> {
    let mut errors = vec![];
    for (code, p) in points {
        if scheme.indicators().all(|(_, i)| i.code != code) {
            errors.push(unknown_code(&format!("points.{code}"), scheme));
        } else if !p.is_finite() || *p < 0.0 || *p > 100.0 {
            errors.push(bad_points(&format!("points.{code}")));
        }
    }
    if !errors.is_empty() {
        return errors;
    }
    for g in scheme.groups() {
        let sum: f64 = g
            .indicators
            .iter()
            .map(|i| points.iter().find(|(c, _)| c == i.code).map(|(_, p)| *p).unwrap_or(i.points))
            .sum();
        if (sum - g.points).abs() > 1e-6 {
            errors.push(FieldError::new(
                format!("points.{}", g.code),
                format!("“{}”各项分值之和为 {}，应为 {}", g.name_zh, trim_num(sum), trim_num(g.points)),
                format!(
                    "The points of “{}” add up to {}; they must add up to {}",
                    g.name_en,
                    trim_num(sum),
                    trim_num(g.points)
                ),
            ));
        }
    }
    errors
}

// ------------------------------------------------------------------ input

/// One indicator as assessed.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct IndicatorInput {
    pub code: String,
    /// Overrides the configured points for this evaluation.
    pub points: Option<f64>,
    /// met | partial | not_met | not_applicable
    pub status: Option<String>,
    /// Share met, 0..1; required when partial.
    pub fraction: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct ScoreInput {
    pub scheme: String,
    pub indicators: Vec<IndicatorInput>,
    pub special_deductions: i64,
    pub special_bonus: i64,
}

/// An indicator after its checks.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Assessed {
    group: &'static Group,
    indicator: &'static Indicator,
    points: f64,
    status: Status,
    fraction: Option<f64>,
}

fn unknown_code(field: &str, scheme: Scheme) -> FieldError {
    FieldError::new(
        field,
        format!("{}中没有这项指标", scheme.name_zh()),
        format!("{} has no such indicator", scheme.name_en()),
    )
}

fn bad_points(field: &str) -> FieldError {
    FieldError::new(field, "分值应在 0 到 100 之间（不能为负数）", "Points must be between 0 and 100 (not negative)")
}

fn trim_num(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn check(input: &ScoreInput) -> Result<(Scheme, Vec<Assessed>, u32, u32), Vec<FieldError>> {
    let mut errors = vec![];
    let scheme = Scheme::parse(&input.scheme);
    if scheme.is_none() {
        errors.push(if input.scheme.trim().is_empty() {
            FieldError::new("scheme", "必填", "Required")
        } else {
            FieldError::new(
                "scheme",
                "评价体系应为 gbt27922-2011 或 sbt10401-2006",
                "The scheme must be gbt27922-2011 or sbt10401-2006",
            )
        });
    }
    if input.indicators.is_empty() {
        errors.push(FieldError::new("indicators", "至少列出一项指标", "List at least one indicator"));
    }
    let mut out = vec![];
    let mut seen: Vec<&str> = vec![];
    for (n, i) in input.indicators.iter().enumerate() {
        let f = |name: &str| format!("indicators[{n}].{name}");
        let found = match scheme {
            _ if i.code.trim().is_empty() => {
                errors.push(FieldError::new(f("code"), "必填", "Required"));
                None
            }
            Some(s) => match s.find(&i.code) {
                Some((_, ind)) if seen.contains(&ind.code) => {
                    errors.push(FieldError::new(
                        f("code"),
                        format!("“{}”重复列出", ind.name_zh),
                        format!("“{}” is listed twice", ind.name_en),
                    ));
                    None
                }
                Some((g, ind)) => {
                    seen.push(ind.code);
                    Some((g, ind))
                }
                None => {
                    errors.push(unknown_code(&f("code"), s));
                    None
                }
            },
            None => None,
        };
        let points_ok = match i.points {
            Some(p) if !p.is_finite() || !(0.0..=100.0).contains(&p) => {
                errors.push(bad_points(&f("points")));
                false
            }
            _ => true,
        };
        let status = match i.status.as_deref().map(str::trim) {
            None | Some("") => {
                errors.push(FieldError::new(f("status"), "必填", "Required"));
                None
            }
            Some(s) => Status::parse(s).or_else(|| {
                errors.push(FieldError::new(
                    f("status"),
                    "状态应为 met、partial、not_met 或 not_applicable",
                    "The status must be met, partial, not_met or not_applicable",
                ));
                None
            }),
        };
        let fraction_ok = match i.fraction {
            Some(x) if !x.is_finite() || !(0.0..=1.0).contains(&x) => {
                errors.push(FieldError::new(
                    f("fraction"),
                    "符合比例应在 0 到 1 之间",
                    "The fraction must be between 0 and 1",
                ));
                false
            }
            None if status == Some(Status::Partial) => {
                errors.push(FieldError::new(
                    f("fraction"),
                    "部分符合须给出符合比例（0 到 1）",
                    "A partly met indicator needs the fraction met (0 to 1)",
                ));
                false
            }
            _ => true,
        };
        if let (Some((g, ind)), Some(status), true, true) = (found, status, points_ok, fraction_ok) {
            out.push(Assessed {
                group: g,
                indicator: ind,
                points: i.points.unwrap_or(ind.points),
                status,
                fraction: if status == Status::Partial { i.fraction } else { None },
            });
        }
    }
    let deductions = match u32::try_from(input.special_deductions) {
        Ok(d) if d <= 100 => d,
        _ => {
            errors.push(FieldError::new(
                "special_deductions",
                "特别扣分项数应为 0 到 100 的整数",
                "Special deductions must be a whole number from 0 to 100",
            ));
            0
        }
    };
    let bonus = match u32::try_from(input.special_bonus) {
        Ok(b) if b <= MAX_BONUS => b,
        _ => {
            errors.push(FieldError::new(
                "special_bonus",
                "特别加分至多一项（0 或 1）",
                "At most one special bonus (0 or 1)",
            ));
            0
        }
    };
    if errors.is_empty() {
        let applicable: f64 = out.iter().filter(|a| a.status != Status::NotApplicable).map(|a| a.points).sum();
        if applicable <= 0.0 {
            errors.push(FieldError::new(
                "indicators",
                "没有适用的分值：至少一项指标须适用且分值大于 0",
                "No applicable points: at least one indicator must apply and carry points",
            ));
        }
    }
    match scheme {
        Some(s) if errors.is_empty() => Ok((s, out, deductions, bonus)),
        _ => Err(errors),
    }
}

// ------------------------------------------------------------------ outcome

/// A group's (top-level indicator's or heading's) share.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupOutcome {
    pub code: &'static str,
    pub number: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    /// Points of its applicable, assessed indicators.
    pub applicable: f64,
    pub earned: f64,
    /// earned ÷ applicable in percent; none when nothing applies.
    pub percent: Option<f64>,
}

/// An indicator not met or partly met, with the points it lost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Missing {
    pub code: &'static str,
    pub number: &'static str,
    pub group: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    pub status: Status,
    pub points: f64,
    pub fraction: Option<f64>,
    pub lost: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// The scheme's code (`gbt27922-2011`).
    pub scheme: &'static str,
    /// The rule applied, in both languages.
    pub rule: &'static str,
    pub rule_zh: &'static str,
    /// Earned ÷ applicable × 100, adjusted by the special deductions and bonus, 0–100, two
    /// decimals.
    pub score: f64,
    /// Before the special deductions and bonus.
    pub base_score: f64,
    pub level: Level,
    pub passed: bool,
    pub earned: f64,
    pub applicable: f64,
    /// Points of every assessed indicator, applicable or not.
    pub assessed: f64,
    pub special_deductions: u32,
    pub special_bonus: u32,
    pub groups: Vec<GroupOutcome>,
    /// Indicators not met or partly met, most points lost first.
    pub missing: Vec<Missing>,
    /// Codes of the scheme's indicators not listed (not counted in the score).
    pub not_assessed: Vec<&'static str>,
    /// Why the level is not higher, in both languages (empty at five stars).
    pub reasons_zh: Vec<String>,
    pub reasons_en: Vec<String>,
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Checks and scores an assessment; every problem of the input is named by its field.
pub fn evaluate(input: &ScoreInput) -> Result<Outcome, Vec<FieldError>> {
    let (scheme, assessed, deductions, bonus) = check(input)?;
    let applies = |a: &&Assessed| a.status != Status::NotApplicable;
    let earned_of = |a: &Assessed| match a.status {
        Status::Met => a.points,
        Status::Partial => a.points * a.fraction.unwrap_or(0.0),
        Status::NotMet | Status::NotApplicable => 0.0,
    };
    // Sums start at +0 (an empty `Iterator::sum` of f64 is −0, shown as "-0").
    let sum = |it: &mut dyn Iterator<Item = f64>| it.fold(0.0, |a, b| a + b);
    let applicable = sum(&mut assessed.iter().filter(applies).map(|a| a.points));
    let earned = sum(&mut assessed.iter().filter(applies).map(earned_of));
    let base = earned * 100.0 / applicable;
    let score = round2((base - f64::from(deductions) + f64::from(bonus)).clamp(0.0, 100.0));

    let groups: Vec<GroupOutcome> = scheme
        .groups()
        .iter()
        .map(|g| {
            let mine = || assessed.iter().filter(|a| a.group.code == g.code).filter(applies);
            let applicable = sum(&mut mine().map(|a| a.points));
            let earned = sum(&mut mine().map(earned_of));
            GroupOutcome {
                code: g.code,
                number: g.number,
                name_zh: g.name_zh,
                name_en: g.name_en,
                applicable,
                earned: round2(earned),
                percent: (applicable > 0.0).then(|| round2(earned * 100.0 / applicable)),
            }
        })
        .collect();

    let mut missing: Vec<Missing> = assessed
        .iter()
        .filter(|a| matches!(a.status, Status::NotMet | Status::Partial))
        .map(|a| Missing {
            code: a.indicator.code,
            number: a.indicator.number,
            group: a.group.code,
            name_zh: a.indicator.name_zh,
            name_en: a.indicator.name_en,
            status: a.status,
            points: a.points,
            fraction: a.fraction,
            lost: round2(a.points - earned_of(a)),
        })
        .filter(|m| m.lost > 0.0 || m.status == Status::NotMet)
        .collect();
    let order = |code: &str| scheme.indicators().position(|(_, i)| i.code == code).unwrap_or(usize::MAX);
    missing.sort_by(|a, b| b.lost.total_cmp(&a.lost).then_with(|| order(a.code).cmp(&order(b.code))));
    let not_assessed: Vec<&'static str> =
        scheme.indicators().map(|(_, i)| i.code).filter(|c| assessed.iter().all(|a| a.indicator.code != *c)).collect();

    let mut zh = vec![];
    let mut en = vec![];
    if deductions >= FAIL_DEDUCTIONS {
        zh.push(format!("特别扣分 {deductions} 项（5 项及以上不予通过）"));
        en.push(format!("{deductions} special deductions (5 or more: not passed)"));
    }
    let level = match scheme {
        Scheme::Gbt27922 => {
            let by_score = if score >= 95.0 {
                Level::FiveStar
            } else if score >= 90.0 {
                Level::FourStar
            } else if score >= 80.0 {
                Level::ThreeStar
            } else if score >= 70.0 {
                Level::Pass
            } else {
                Level::Fail
            };
            if by_score == Level::Fail {
                zh.push(format!("得分 {} 低于 70", trim_num(score)));
                en.push(format!("score {} is below 70", trim_num(score)));
            } else if by_score != Level::FiveStar {
                let next = match by_score {
                    Level::Pass => (80, Level::ThreeStar),
                    Level::ThreeStar => (90, Level::FourStar),
                    _ => (95, Level::FiveStar),
                };
                zh.push(format!("得分 {} 未达到{}所需的 {}", trim_num(score), next.1.name_zh(), next.0));
                en.push(format!("score {} is below the {} needed for {}", trim_num(score), next.0, next.1.name_en()));
            }
            if deductions >= FAIL_DEDUCTIONS { Level::Fail } else { by_score }
        }
        Scheme::Sbt10401 => {
            let mut ok = score >= 70.0;
            if !ok {
                zh.push(format!("得分 {} 低于 70", trim_num(score)));
                en.push(format!("score {} is below 70", trim_num(score)));
            }
            for g in &groups {
                if let Some(p) = g.percent
                    && p < 50.0
                {
                    ok = false;
                    zh.push(format!("“{}”得分率 {} % 低于 50 %", g.name_zh, trim_num(p)));
                    en.push(format!("“{}” reached {} %, below 50 %", g.name_en, trim_num(p)));
                }
            }
            if ok && deductions < FAIL_DEDUCTIONS { Level::Pass } else { Level::Fail }
        }
    };
    Ok(Outcome {
        scheme: scheme.code(),
        rule: scheme.rule("en"),
        rule_zh: scheme.rule("zh-CN"),
        score,
        base_score: round2(base),
        level,
        passed: level != Level::Fail,
        earned: round2(earned),
        applicable: round2(applicable),
        assessed: round2(sum(&mut assessed.iter().map(|a| a.points))),
        special_deductions: deductions,
        special_bonus: bonus,
        groups,
        missing,
        not_assessed,
        reasons_zh: zh,
        reasons_en: en,
    })
}

// ------------------------------------------------------------------ suggestions

/// A status proposed from the system's own figures, and those figures in words.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub topic: Topic,
    /// The indicator it is for in the scheme at hand.
    pub code: &'static str,
    pub status: Status,
    pub fraction: Option<f64>,
    /// The figures and how they were read, in both languages (copied into the evidence when
    /// the assessor accepts the suggestion).
    pub evidence_zh: String,
    pub evidence_en: String,
}

/// From a share of 0..1 reached (1 when the target is met): met, not met, or partly met by
/// that share.
fn by_share(share: f64) -> (Status, Option<f64>) {
    let share = (share.clamp(0.0, 1.0) * 10_000.0).round() / 10_000.0;
    if share >= 1.0 {
        (Status::Met, None)
    } else if share <= 0.0 {
        (Status::NotMet, None)
    } else {
        (Status::Partial, Some(share))
    }
}

fn pct(n: i64, of: i64) -> String {
    if of == 0 { "—".into() } else { format!("{:.1} %", n as f64 * 100.0 / of as f64) }
}

/// The year's complaint register (complaints registered in the year, not cancelled).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ComplaintFigures {
    pub year: i32,
    pub complaints: i64,
    /// Answered, and of those within the answer deadline.
    pub answered: i64,
    pub answered_on_time: i64,
    /// Open complaints past a promise now.
    pub overdue: i64,
    pub major: i64,
    /// Major complaints the year's objective allows (the policy's; 0 in the seeds).
    pub major_allowed: i64,
}

/// Complaint handling: the share answered on time, of those answered or overdue now; met when
/// every one was on time and the "no major complaint" objective holds; with the objective
/// broken, at most half of that share. A year without a complaint due is met if the objective
/// holds.
pub fn suggest_complaints(scheme: Scheme, f: &ComplaintFigures) -> Suggestion {
    let due = f.answered + f.overdue;
    let share = if due > 0 { f.answered_on_time as f64 / due as f64 } else { 1.0 };
    let objective = f.major <= f.major_allowed;
    let (status, fraction) = if objective { by_share(share) } else { by_share(share * 0.5) };
    Suggestion {
        topic: Topic::Complaints,
        code: scheme.indicator_for(Topic::Complaints),
        status,
        fraction,
        evidence_zh: format!(
            "{} 年投诉登记：投诉 {} 件，已答复 {} 件，其中按时答复 {} 件，逾期未答复 {} 件，按时率 {}；重大投诉 {} 件（目标 ≤ {} 件，{}）",
            f.year,
            f.complaints,
            f.answered,
            f.answered_on_time,
            f.overdue,
            pct(f.answered_on_time, due),
            f.major,
            f.major_allowed,
            if objective { "达成" } else { "未达成" }
        ),
        evidence_en: format!(
            "Complaint register {}: {} complaints, {} answered, {} of them on time, {} overdue and unanswered, on time {}; \
             {} major (objective ≤ {}, {})",
            f.year,
            f.complaints,
            f.answered,
            f.answered_on_time,
            f.overdue,
            pct(f.answered_on_time, due),
            f.major,
            f.major_allowed,
            if objective { "met" } else { "not met" }
        ),
    }
}

/// The year's satisfaction surveys and in-warranty revisits.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RelationFigures {
    pub year: i32,
    pub responses: i64,
    pub satisfied: i64,
    /// The satisfaction target in percent (90 by default).
    pub target_pct: f64,
    /// In-warranty revisits due in the year (up to today), and done on time.
    pub revisits_due: i64,
    pub revisits_done: i64,
}

/// Customer relations: the mean of satisfaction ÷ target (at most 1) and the in-warranty
/// revisit rate (target 100 %), over the figures that exist; none without any figure.
pub fn suggest_customer_relations(scheme: Scheme, f: &RelationFigures) -> Option<Suggestion> {
    let mut parts = vec![];
    if f.responses > 0 && f.target_pct > 0.0 {
        let p = f.satisfied as f64 * 100.0 / f.responses as f64;
        parts.push((p / f.target_pct).min(1.0));
    }
    if f.revisits_due > 0 {
        parts.push((f.revisits_done as f64 / f.revisits_due as f64).min(1.0));
    }
    if parts.is_empty() {
        return None;
    }
    let (status, fraction) = by_share(parts.iter().sum::<f64>() / parts.len() as f64);
    Some(Suggestion {
        topic: Topic::CustomerRelations,
        code: scheme.indicator_for(Topic::CustomerRelations),
        status,
        fraction,
        evidence_zh: format!(
            "{} 年满意度调查：回复 {} 份，满意 {} 份，满意率 {}（目标 {} %）；保修期内回访应访 {} 次，按时完成 {} 次，回访率 {}（目标 100 %）",
            f.year,
            f.responses,
            f.satisfied,
            pct(f.satisfied, f.responses),
            trim_num(f.target_pct),
            f.revisits_due,
            f.revisits_done,
            pct(f.revisits_done, f.revisits_due)
        ),
        evidence_en: format!(
            "Surveys {}: {} answers, {} satisfied, {} (target {} %); in-warranty revisits due {}, done on time {}, {} (target 100 %)",
            f.year,
            f.responses,
            f.satisfied,
            pct(f.satisfied, f.responses),
            trim_num(f.target_pct),
            f.revisits_due,
            f.revisits_done,
            pct(f.revisits_done, f.revisits_due)
        ),
    })
}

/// The year's service clocks of work orders (every promise: reply, on site, repair …).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RepairFigures {
    pub year: i32,
    /// Clocks started in the year.
    pub clocks: i64,
    /// Stopped within their promise.
    pub met: i64,
    /// Stopped late, or running past their promise.
    pub breached: i64,
}

/// Repair: the SLA compliance (met ÷ decided clocks); none before any clock is decided.
pub fn suggest_repair(scheme: Scheme, f: &RepairFigures) -> Option<Suggestion> {
    let decided = f.met + f.breached;
    if decided == 0 {
        return None;
    }
    let (status, fraction) = by_share(f.met as f64 / decided as f64);
    Some(Suggestion {
        topic: Topic::Repair,
        code: scheme.indicator_for(Topic::Repair),
        status,
        fraction,
        evidence_zh: format!(
            "{} 年工单服务时限：计时 {} 项，已判定 {} 项，按时 {} 项，超时 {} 项，达标率 {}",
            f.year,
            f.clocks,
            decided,
            f.met,
            f.breached,
            pct(f.met, decided)
        ),
        evidence_en: format!(
            "Work-order service clocks {}: {} started, {} decided, {} kept, {} broken, compliance {}",
            f.year,
            f.clocks,
            decided,
            f.met,
            f.breached,
            pct(f.met, decided)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ind(code: &str, points: Option<f64>, status: &str, fraction: Option<f64>) -> IndicatorInput {
        IndicatorInput { code: code.into(), points, status: Some(status.into()), fraction }
    }

    fn gbt(indicators: Vec<IndicatorInput>) -> ScoreInput {
        ScoreInput { scheme: "gbt27922-2011".into(), indicators, special_deductions: 0, special_bonus: 0 }
    }

    /// Two indicators worth `earned` and `100 − earned` points (in hundredths), the first met.
    fn split(earned_hundredths: u32) -> ScoreInput {
        let e = f64::from(earned_hundredths) / 100.0;
        gbt(vec![ind("organization", Some(e), "met", None), ind("staffing", Some(100.0 - e), "not_met", None)])
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    /// Every indicator of the scheme met, at its default points.
    fn all_met(scheme: Scheme) -> Vec<IndicatorInput> {
        scheme.indicators().map(|(_, i)| ind(i.code, None, "met", None)).collect()
    }

    #[test]
    fn the_trees_add_up() {
        for scheme in Scheme::ALL.iter().copied() {
            let groups = scheme.groups();
            assert!((groups.iter().map(|g| g.points).sum::<f64>() - 100.0).abs() < 1e-9, "{scheme:?}");
            for g in groups {
                let sum: f64 = g.indicators.iter().map(|i| i.points).sum();
                assert!((sum - g.points).abs() < 1e-9, "{}: {sum} ≠ {}", g.code, g.points);
            }
            let mut codes: Vec<&str> = scheme.indicators().map(|(_, i)| i.code).collect();
            let n = codes.len();
            codes.sort();
            codes.dedup();
            assert_eq!(codes.len(), n, "codes are unique in {scheme:?}");
            assert!(check_points(scheme, &[]).is_empty());
        }
        assert_eq!(Scheme::Gbt27922.groups().iter().map(|g| g.points).collect::<Vec<_>>(), [40.0, 35.0, 25.0]);
        assert_eq!(Scheme::Gbt27922.indicators().count(), 15);
        assert_eq!(Scheme::Sbt10401.groups().len(), 8);
        assert_eq!(Scheme::Sbt10401.find("complaints").unwrap().1.points, 30.0);
    }

    #[test]
    fn indicators_are_found_by_code_number_or_name() {
        let s = Scheme::Gbt27922;
        assert_eq!(s.find("complaints").unwrap().1.code, "complaints");
        assert_eq!(s.find("3.2").unwrap().1.code, "complaints");
        assert_eq!(s.find("投诉处理").unwrap().1.code, "complaints");
        assert_eq!(s.find("Complaint handling").unwrap().1.code, "complaints");
        assert_eq!(s.find("维修").unwrap().0.code, "goods_service");
        assert!(s.find("customer_management").is_none(), "an SB/T heading is not a GB/T indicator");
        assert!(Scheme::Sbt10401.find("customer_management").is_some());
    }

    #[test]
    fn everything_met_is_five_stars_and_names_the_rule() {
        let o = evaluate(&gbt(all_met(Scheme::Gbt27922))).unwrap();
        assert_eq!((o.score, o.level, o.passed), (100.0, Level::FiveStar, true));
        assert!(o.rule.starts_with("GB/T 27922-2011") && o.rule_zh.starts_with("GB/T 27922-2011"));
        assert!(o.missing.is_empty() && o.not_assessed.is_empty() && o.reasons_zh.is_empty());
        assert_eq!(o.groups.iter().map(|g| g.percent).collect::<Vec<_>>(), [Some(100.0); 3]);
    }

    #[test]
    fn level_boundaries() {
        let cases = [
            (6999, Level::Fail),
            (7000, Level::Pass),
            (7999, Level::Pass),
            (8000, Level::ThreeStar),
            (8999, Level::ThreeStar),
            (9000, Level::FourStar),
            (9499, Level::FourStar),
            (9500, Level::FiveStar),
            (10000, Level::FiveStar),
        ];
        for (hundredths, level) in cases {
            let o = evaluate(&split(hundredths)).unwrap();
            assert_eq!(o.score, f64::from(hundredths) / 100.0);
            assert_eq!(o.level, level, "{}", o.score);
            assert_eq!(o.passed, level != Level::Fail);
        }
        let o = evaluate(&split(6999)).unwrap();
        assert_eq!(o.reasons_en, ["score 69.99 is below 70"]);
        let o = evaluate(&split(9400)).unwrap();
        assert_eq!(o.reasons_zh, ["得分 94 未达到五星所需的 95"]);
    }

    #[test]
    fn the_level_is_read_from_the_rounded_score() {
        // 69.996 is shown as 70 and judged as 70.
        let o = evaluate(&gbt(vec![
            ind("organization", Some(69.996), "met", None),
            ind("staffing", Some(30.004), "not_met", None),
        ]))
        .unwrap();
        assert_eq!((o.score, o.level), (70.0, Level::Pass));
    }

    #[test]
    fn an_unmet_indicator_loses_all_its_points_a_partial_one_its_share() {
        let mut list = all_met(Scheme::Gbt27922);
        list.iter_mut().find(|i| i.code == "recycling").unwrap().status = Some("not_met".into());
        let c = list.iter_mut().find(|i| i.code == "complaints").unwrap();
        c.status = Some("partial".into());
        c.fraction = Some(0.5);
        let o = evaluate(&gbt(list)).unwrap();
        // 100 − 4 − 6.5
        assert_eq!(o.score, 89.5);
        assert_eq!(o.level, Level::ThreeStar);
        let lost: Vec<(&str, f64, Status)> = o.missing.iter().map(|m| (m.code, m.lost, m.status)).collect();
        assert_eq!(lost, [("complaints", 6.5, Status::Partial), ("recycling", 4.0, Status::NotMet)]);
        let customer = o.groups.iter().find(|g| g.code == "customer_service").unwrap();
        assert_eq!((customer.earned, customer.percent), (18.5, Some(74.0)));
    }

    #[test]
    fn a_fraction_is_only_read_for_partial() {
        let o = evaluate(&gbt(vec![
            ind("organization", Some(50.0), "met", Some(0.1)),
            ind("staffing", Some(50.0), "not_met", Some(0.9)),
        ]))
        .unwrap();
        assert_eq!(o.score, 50.0);
        assert_eq!(o.missing[0].fraction, None);
        // Partial at 1 loses nothing and is not missing; at 0 it loses everything.
        let o = evaluate(&gbt(vec![
            ind("organization", Some(50.0), "partial", Some(1.0)),
            ind("staffing", Some(50.0), "partial", Some(0.0)),
        ]))
        .unwrap();
        assert_eq!(o.score, 50.0);
        assert_eq!(o.missing.iter().map(|m| m.code).collect::<Vec<_>>(), ["staffing"]);
    }

    #[test]
    fn not_applicable_indicators_are_dropped() {
        let mut list = all_met(Scheme::Gbt27922);
        for i in list.iter_mut() {
            if i.code == "recycling" || i.code == "delivery" {
                i.status = Some("not_applicable".into());
            }
            if i.code == "repair" {
                i.status = Some("not_met".into());
            }
        }
        let o = evaluate(&gbt(list)).unwrap();
        // Applicable: 100 − 4 − 5 = 91; earned 91 − 10 = 81.
        assert_eq!(o.applicable, 91.0);
        assert_eq!(o.earned, 81.0);
        assert_eq!(o.score, 89.01);
        assert_eq!(o.level, Level::ThreeStar);
        assert!(o.missing.iter().all(|m| m.code == "repair"), "N/A is not missing");
        // A group with nothing applicable has no percentage.
        let o =
            evaluate(&gbt(vec![ind("complaints", None, "met", None), ind("recycling", None, "not_applicable", None)]))
                .unwrap();
        let goods = o.groups.iter().find(|g| g.code == "goods_service").unwrap();
        assert_eq!(goods.percent, None);
        assert!(goods.applicable.is_sign_positive() && goods.earned.is_sign_positive(), "no “-0” on the page");
        assert_eq!(o.score, 100.0);
    }

    #[test]
    fn unlisted_indicators_are_named_not_counted() {
        let o = evaluate(&gbt(vec![ind("complaints", Some(5.0), "met", None)])).unwrap();
        assert_eq!(o.score, 100.0);
        assert_eq!(o.not_assessed.len(), 14);
        assert!(o.not_assessed.contains(&"organization") && !o.not_assessed.contains(&"complaints"));
    }

    #[test]
    fn points_given_override_the_defaults() {
        let o = evaluate(&gbt(vec![
            ind("complaints", Some(90.0), "met", None),
            ind("recycling", Some(10.0), "not_met", None),
        ]))
        .unwrap();
        assert_eq!(o.score, 90.0);
        let o = evaluate(&gbt(vec![ind("complaints", None, "met", None), ind("recycling", None, "not_met", None)]))
            .unwrap();
        // Defaults 13 and 4.
        assert_eq!(o.score, 76.47);
        assert_eq!(o.applicable, 17.0);
    }

    #[test]
    fn special_deductions_and_bonus() {
        let o = evaluate(&ScoreInput { special_deductions: 2, ..split(9600) }).unwrap();
        assert_eq!((o.score, o.base_score, o.level), (94.0, 96.0, Level::FourStar));
        let o = evaluate(&ScoreInput { special_bonus: 1, ..split(9450) }).unwrap();
        assert_eq!((o.score, o.level), (95.5, Level::FiveStar));
        // The bonus does not lift above 100; deductions do not go below 0.
        let o = evaluate(&ScoreInput { special_bonus: 1, ..split(10000) }).unwrap();
        assert_eq!(o.score, 100.0);
        let o = evaluate(&ScoreInput { special_deductions: 4, ..split(200) }).unwrap();
        assert_eq!(o.score, 0.0);
        // Four deductions still pass on a high score; five fail whatever the score.
        let o = evaluate(&ScoreInput { special_deductions: 4, ..split(10000) }).unwrap();
        assert_eq!((o.score, o.level), (96.0, Level::FiveStar));
        let o = evaluate(&ScoreInput { special_deductions: 5, special_bonus: 1, ..split(10000) }).unwrap();
        assert_eq!((o.score, o.level, o.passed), (96.0, Level::Fail, false));
        assert!(o.reasons_zh[0].contains("特别扣分 5 项"), "{:?}", o.reasons_zh);
        // A deduction can take a pass below 70.
        let o = evaluate(&ScoreInput { special_deductions: 1, ..split(7050) }).unwrap();
        assert_eq!((o.score, o.level), (69.5, Level::Fail));
    }

    #[test]
    fn sbt_passes_at_70_with_every_heading_at_half() {
        let mut list = all_met(Scheme::Sbt10401);
        let sbt = |list: Vec<IndicatorInput>| ScoreInput {
            scheme: "sbt10401-2006".into(),
            indicators: list,
            ..Default::default()
        };
        let o = evaluate(&sbt(list.clone())).unwrap();
        assert_eq!((o.score, o.level), (100.0, Level::Pass), "no stars in SB/T 10401");
        assert!(o.rule.starts_with("SB/T 10401-2006"));
        // Improvement (10) not met: 90 points, but a heading at 0 % fails the scheme.
        list.iter_mut().find(|i| i.code == "improvement").unwrap().status = Some("not_met".into());
        let o = evaluate(&sbt(list.clone())).unwrap();
        assert_eq!((o.score, o.level), (90.0, Level::Fail));
        assert!(
            o.reasons_en.iter().any(|r| r.contains("service improvement") && r.contains("0 %")),
            "{:?}",
            o.reasons_en
        );
        // Half met is enough for the heading.
        let i = list.iter_mut().find(|i| i.code == "improvement").unwrap();
        i.status = Some("partial".into());
        i.fraction = Some(0.5);
        let o = evaluate(&sbt(list.clone())).unwrap();
        assert_eq!((o.score, o.level), (95.0, Level::Pass));
        // Complaints (30) at 40 %: 82 points, and the heading fails.
        let c = list.iter_mut().find(|i| i.code == "complaints").unwrap();
        c.status = Some("partial".into());
        c.fraction = Some(0.4);
        let o = evaluate(&sbt(list.clone())).unwrap();
        assert_eq!((o.score, o.level), (77.0, Level::Fail));
        // Below 70 with every heading at half or more.
        let half: Vec<IndicatorInput> =
            Scheme::Sbt10401.indicators().map(|(_, i)| ind(i.code, None, "partial", Some(0.6))).collect();
        let o = evaluate(&sbt(half)).unwrap();
        assert_eq!((o.score, o.level), (60.0, Level::Fail));
        assert_eq!(o.reasons_en, ["score 60 is below 70"]);
        // N/A headings are dropped; five deductions fail.
        let mut list = all_met(Scheme::Sbt10401);
        list[0].status = Some("not_applicable".into());
        let o = evaluate(&ScoreInput { special_deductions: 5, ..sbt(list) }).unwrap();
        assert_eq!((o.score, o.level), (95.0, Level::Fail));
    }

    #[test]
    fn invalid_input_is_refused_field_by_field() {
        let e = evaluate(&ScoreInput {
            scheme: "gbt27922-2011".into(),
            indicators: vec![
                ind("nonsense", None, "met", None),
                ind("complaints", Some(-1.0), "met", None),
                ind("repair", None, "partial", Some(1.5)),
                ind("delivery", None, "half", None),
                ind("staffing", None, "partial", None),
                IndicatorInput { code: "".into(), status: None, ..Default::default() },
                ind("3.2", None, "met", None),
            ],
            special_deductions: -1,
            special_bonus: 2,
        })
        .unwrap_err();
        assert_eq!(
            fields(&e),
            [
                "indicators[0].code",
                "indicators[1].points",
                "indicators[2].fraction",
                "indicators[3].status",
                "indicators[4].fraction",
                "indicators[5].code",
                "indicators[5].status",
                "indicators[6].code",
                "special_deductions",
                "special_bonus",
            ]
        );
        assert!(e[0].message_en.contains("no such indicator"));
        assert!(e[6].message_zh.contains("必填"));
        assert!(e[7].message_zh.contains("重复"), "3.2 is complaints again");
        assert!(e[9].message_en.contains("At most one"));

        let e = evaluate(&ScoreInput { scheme: "iso9001".into(), ..Default::default() }).unwrap_err();
        assert_eq!(fields(&e), ["scheme", "indicators"]);
        let e = evaluate(&gbt(vec![ind("complaints", None, "not_applicable", None)])).unwrap_err();
        assert_eq!(fields(&e), ["indicators"], "nothing applicable");
        let e = evaluate(&gbt(vec![ind("complaints", Some(0.0), "met", None)])).unwrap_err();
        assert_eq!(fields(&e), ["indicators"], "no points to earn");
        let e = evaluate(&gbt(vec![ind("complaints", Some(f64::NAN), "partial", Some(f64::INFINITY))])).unwrap_err();
        assert_eq!(fields(&e), ["indicators[0].points", "indicators[0].fraction"]);
        let e = evaluate(&gbt(vec![ind("customer_management", None, "met", None)])).unwrap_err();
        assert_eq!(fields(&e), ["indicators[0].code"], "an SB/T code in GB/T");
    }

    #[test]
    fn configured_points_must_add_up_to_their_group() {
        let ok = [("complaints".to_string(), 15.0), ("customer_relations".to_string(), 10.0)];
        assert!(check_points(Scheme::Gbt27922, &ok).is_empty());
        let e = check_points(Scheme::Gbt27922, &[("complaints".to_string(), 15.0)]);
        assert_eq!(fields(&e), ["points.customer_service"]);
        assert!(e[0].message_zh.contains("27") && e[0].message_zh.contains("25"), "{}", e[0].message_zh);
        let e = check_points(Scheme::Gbt27922, &[("x".to_string(), 1.0), ("repair".to_string(), -2.0)]);
        assert_eq!(fields(&e), ["points.x", "points.repair"]);
        // SB/T headings are fixed by the sum rule (each heading is its own group).
        let e = check_points(Scheme::Sbt10401, &[("repair".to_string(), 25.0)]);
        assert_eq!(fields(&e), ["points.repair"]);
    }

    #[test]
    fn complaint_suggestions() {
        let base = ComplaintFigures { year: 2026, ..Default::default() };
        let s = suggest_complaints(Scheme::Gbt27922, &base);
        assert_eq!((s.status, s.code), (Status::Met, "complaints"), "no complaint due");
        let f = ComplaintFigures { complaints: 10, answered: 8, answered_on_time: 6, overdue: 2, ..base };
        let s = suggest_complaints(Scheme::Gbt27922, &f);
        assert_eq!((s.status, s.fraction), (Status::Partial, Some(0.6)));
        assert!(s.evidence_zh.contains("投诉 10 件") && s.evidence_zh.contains("按时率 60.0 %"), "{}", s.evidence_zh);
        let all = ComplaintFigures { complaints: 3, answered: 3, answered_on_time: 3, ..base };
        assert_eq!(suggest_complaints(Scheme::Gbt27922, &all).status, Status::Met);
        let major = ComplaintFigures { major: 1, ..all };
        let s = suggest_complaints(Scheme::Sbt10401, &major);
        assert_eq!((s.status, s.fraction), (Status::Partial, Some(0.5)), "a major complaint breaks the objective");
        assert!(s.evidence_en.contains("1 major (objective ≤ 0, not met)"), "{}", s.evidence_en);
        let none = ComplaintFigures { complaints: 2, answered: 2, answered_on_time: 0, ..base };
        assert_eq!(suggest_complaints(Scheme::Gbt27922, &none).status, Status::NotMet);
    }

    #[test]
    fn relation_and_repair_suggestions() {
        let f = RelationFigures { year: 2026, target_pct: 90.0, ..Default::default() };
        assert_eq!(suggest_customer_relations(Scheme::Gbt27922, &f), None, "no figures, no suggestion");
        let good = RelationFigures { responses: 10, satisfied: 9, revisits_due: 4, revisits_done: 4, ..f };
        let s = suggest_customer_relations(Scheme::Gbt27922, &good).unwrap();
        assert_eq!((s.status, s.code), (Status::Met, "customer_relations"));
        assert_eq!(suggest_customer_relations(Scheme::Sbt10401, &good).unwrap().code, "customer_management");
        // 72 % against 90 % → 0.8; revisits 1 of 2 → 0.5; mean 0.65.
        let weak = RelationFigures { responses: 25, satisfied: 18, revisits_due: 2, revisits_done: 1, ..f };
        let s = suggest_customer_relations(Scheme::Gbt27922, &weak).unwrap();
        assert_eq!((s.status, s.fraction), (Status::Partial, Some(0.65)));
        assert!(s.evidence_zh.contains("满意率 72.0 %（目标 90 %）"), "{}", s.evidence_zh);

        let r = RepairFigures { year: 2026, clocks: 5, met: 0, breached: 0 };
        assert_eq!(suggest_repair(Scheme::Gbt27922, &r), None);
        let s = suggest_repair(Scheme::Gbt27922, &RepairFigures { met: 19, breached: 1, clocks: 22, ..r }).unwrap();
        assert_eq!((s.status, s.fraction), (Status::Partial, Some(0.95)));
        assert!(s.evidence_en.contains("compliance 95.0 %"));
        let s = suggest_repair(Scheme::Gbt27922, &RepairFigures { met: 3, breached: 0, ..r }).unwrap();
        assert_eq!(s.status, Status::Met);
    }
}
