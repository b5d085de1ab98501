//! Complaints, suggestions and praise (客户投诉 / 建议 / 表扬, R5).
//!
//! The seeds' procedure (seed 002 §4.3, seed 001 第3条): a customer's complaint or suggestion
//! is registered from any channel; a major one goes to the quality department on an
//! information sheet, a general one is handled by the service (or sales) department; the
//! result is told to the customer in writing or by phone and recorded. Quality disputes go to
//! the inspection body named in the contract, whose finding is final. Valuable suggestions are
//! forwarded. The company's yearly objective is "no major complaint" (seed 000 5.4.3).
//!
//! [`next`] is the only place that says which action may follow which status and who may take
//! it; deadlines are [`ComplaintPolicy`] data evaluated with the SLA clocks of [`crate::sla`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::FieldError;
use crate::calendar::{CompiledCalendar, valid_code};
use crate::sla::{Clock, ClockMode, ClockResult, Pause, SlaTarget};

coded! {
    /// What the customer told us.
    Kind {
        Complaint = "complaint", "投诉", "complaint";
        Suggestion = "suggestion", "建议", "suggestion";
        Praise = "praise", "表扬", "praise";
    }
}

coded! {
    /// How serious a complaint is (情节重大者 / 一般性质者).
    Severity {
        General = "general", "一般", "general";
        Major = "major", "重大", "major";
    }
}

coded! {
    /// Who handles it.
    Department {
        Quality = "quality", "质量部", "quality department";
        Service = "service", "售后服务部", "service department";
        Sales = "sales", "销售部", "sales department";
    }
}

coded! {
    /// Where a complaint, suggestion or praise is in its life.
    Status {
        /// Registered, nobody has spoken to the customer yet.
        Open = "open", "待受理", "open";
        /// The customer was contacted; the facts are being established.
        Investigating = "investigating", "调查处理中", "investigating";
        /// A quality dispute waits for the inspection body's finding.
        Referred = "referred", "送检中", "at the inspection body";
        /// The answer was given; waiting for the customer's acceptance.
        Answered = "answered", "已答复", "answered";
        /// A suggestion was passed to the department that can act on it.
        Forwarded = "forwarded", "已转交", "forwarded";
        Closed = "closed", "已关闭", "closed";
        /// Registered by mistake (a duplicate, not a complaint).
        Cancelled = "cancelled", "已撤销", "cancelled";
    }
}

coded! {
    /// What a user records.
    Action {
        /// First contact with the customer: the complaint is acknowledged.
        Contact = "contact", "联系客户", "contact the customer";
        /// An investigation note, and the root cause once known.
        Investigate = "investigate", "调查记录", "record the investigation";
        /// Change the severity (and with it the department and the deadlines).
        Reclassify = "reclassify", "调整级别", "change the severity";
        /// The answer given to the customer (letter, phone, e-mail, on site).
        Answer = "answer", "答复客户", "answer the customer";
        /// The customer accepts the answer.
        Accept = "accept", "客户接受", "record the customer's acceptance";
        /// The customer does not accept the answer: handling goes on.
        Reject = "reject", "客户不接受", "record that the customer does not accept";
        /// Refer a quality dispute to the inspection body named in the contract.
        Refer = "refer", "提交检验机构", "refer to the inspection body";
        /// The inspection body's finding.
        Finding = "finding", "检验结论", "record the inspection finding";
        /// Pass a suggestion to the department that can act on it.
        Forward = "forward", "转交建议", "forward the suggestion";
        /// Whether a suggestion was adopted; it is closed.
        Conclude = "conclude", "建议结论", "conclude the suggestion";
        /// Acknowledge a praise (credited to the engineer named); it is closed.
        Acknowledge = "acknowledge", "登记表扬", "acknowledge the praise";
        /// Withdraw a record entered by mistake.
        Cancel = "cancel", "撤销", "cancel";
    }
}

coded! {
    /// In what capacity a user acts.
    Party {
        /// 客服 / service and sales office: registers everything, handles general complaints.
        Office = "office", "客服", "office";
        /// 质量部: handles major complaints and disputes.
        Quality = "quality", "质量部", "quality department";
        /// Service manager, general manager, administrator.
        Manager = "manager", "经理", "manager";
    }
}

coded! {
    /// How an answer reached the customer (以书面或电话通知该客户).
    AnswerChannel {
        Letter = "letter", "书面函件", "letter";
        Phone = "phone", "电话", "phone";
        Email = "email", "电子邮件", "e-mail";
        OnSite = "on_site", "上门面谈", "in person";
    }
}

coded! {
    /// What the inspection body found.
    Conclusion {
        /// The product meets its standard: the complaint is not upheld.
        Conforming = "conforming", "产品合格", "the product conforms";
        /// The product fails its standard: the company owes the remedy.
        Nonconforming = "nonconforming", "产品不合格", "the product does not conform";
    }
}

/// Pause reason of the answer clock while a dispute is at the inspection body.
pub const WAITING_INSPECTION: &str = "waiting_inspection";
/// Target codes of a complaint's two promises.
pub const ACKNOWLEDGE: &str = "acknowledge";
pub const ANSWER: &str = "answer";

impl Status {
    pub fn is_final(self) -> bool {
        matches!(self, Status::Closed | Status::Cancelled)
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The action does not apply to this kind of record.
    NotForKind { action: Action, kind: Kind },
    /// The action does not follow the status.
    NotFrom { action: Action, from: Status },
    /// The party may not take the action here.
    NotAllowed { action: Action, party: Party },
}

impl Refusal {
    pub fn message_zh(&self) -> String {
        match self {
            Refusal::NotForKind { action, kind } => format!("{}不能执行“{}”。", kind.name_zh(), action.name_zh()),
            Refusal::NotFrom { action, from } => {
                format!("当前为“{}”，不能执行“{}”。", from.name_zh(), action.name_zh())
            }
            Refusal::NotAllowed { action, party } => {
                let why =
                    if *action == Action::Reclassify { "（重大投诉降级须经质量部或经理）" } else { "" };
                format!("{}不能执行“{}”{why}；重大投诉由质量部处理（R5.1）。", party.name_zh(), action.name_zh())
            }
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            Refusal::NotForKind { action, kind } => format!("A {} cannot {}.", kind.name_en(), action.name_en()),
            Refusal::NotFrom { action, from } => {
                format!("It is {}; you cannot {} now.", from.name_en(), action.name_en())
            }
            Refusal::NotAllowed { action, party } => format!(
                "The {} may not {} here; major complaints are handled by the quality department (R5.1).",
                party.name_en(),
                action.name_en()
            ),
        }
    }

    pub fn refusal_error(&self) -> FieldError {
        FieldError::new("action", self.message_zh(), self.message_en())
    }
}

/// What an action needs to know besides kind and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    pub kind: Kind,
    pub severity: Severity,
    /// For [`Action::Reclassify`]: the severity asked for.
    pub new_severity: Option<Severity>,
}

/// Who may take `action` on a record in `cx`: the office registers and handles what is
/// general; major complaints, and downgrading one, belong to quality and the managers;
/// cancelling belongs to the managers.
fn allowed(action: Action, party: Party, cx: Context) -> bool {
    let handler = party != Party::Office || cx.severity == Severity::General || cx.kind != Kind::Complaint;
    match action {
        Action::Cancel => party == Party::Manager,
        // Anyone may escalate; only quality or a manager may downgrade a major complaint.
        Action::Reclassify => match cx.new_severity {
            Some(Severity::Major) => true,
            _ => party != Party::Office,
        },
        // Acknowledging receipt is the office's job whatever the severity.
        Action::Contact => true,
        _ => handler,
    }
}

/// The status after `action` taken by `party`, or why not.
pub fn next(from: Status, action: Action, party: Party, cx: Context) -> Result<Status, Refusal> {
    use Status::*;
    let kinds: &[Kind] = match action {
        Action::Contact
        | Action::Investigate
        | Action::Reclassify
        | Action::Answer
        | Action::Accept
        | Action::Reject
        | Action::Refer
        | Action::Finding => &[Kind::Complaint],
        Action::Forward | Action::Conclude => &[Kind::Suggestion],
        Action::Acknowledge => &[Kind::Praise],
        Action::Cancel => Kind::ALL,
    };
    if !kinds.contains(&cx.kind) {
        return Err(Refusal::NotForKind { action, kind: cx.kind });
    }
    let not_from = || Refusal::NotFrom { action, from };
    let to = match (action, from) {
        (_, Closed | Cancelled) => return Err(not_from()),
        (Action::Contact, Open) => Investigating,
        (Action::Investigate, Open) => Investigating,
        (Action::Investigate, s) => s,
        (Action::Reclassify, s) if cx.new_severity.is_some_and(|n| n != cx.severity) => s,
        (Action::Answer, Open | Investigating) => Answered,
        (Action::Accept, Answered) => Closed,
        (Action::Reject, Answered) => Investigating,
        (Action::Refer, Open | Investigating | Answered) => Referred,
        (Action::Finding, Referred) => Investigating,
        (Action::Forward, Open) => Forwarded,
        (Action::Conclude, Open | Forwarded) => Closed,
        (Action::Acknowledge, Open) => Closed,
        (Action::Cancel, _) => Cancelled,
        _ => return Err(not_from()),
    };
    if !allowed(action, party, cx) {
        return Err(Refusal::NotAllowed { action, party });
    }
    Ok(to)
}

/// The actions `party` may take now, in the order a page offers them.
pub fn available(from: Status, party: Party, cx: Context) -> Vec<Action> {
    Action::ALL
        .iter()
        .copied()
        .filter(|&a| {
            let cx = Context {
                new_severity: Some(match cx.severity {
                    Severity::General => Severity::Major,
                    Severity::Major => Severity::General,
                }),
                ..cx
            };
            next(from, a, party, cx).is_ok()
        })
        .collect()
}

/// How one severity is handled: the department, and the two promises to the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityTerms {
    pub department: Department,
    /// First contact with the customer (stops when the complaint is acknowledged or answered).
    pub acknowledge: SlaTarget,
    /// The answer to the customer (stops when the answer is recorded; pauses while a dispute
    /// is at the inspection body when `pause_on` lists `waiting_inspection`).
    pub answer: SlaTarget,
}

/// The company's complaint policy: a decision made with it cites its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplaintPolicy {
    /// Calendar of working-time targets; `None` means the company's default calendar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
    pub general: SeverityTerms,
    pub major: SeverityTerms,
    /// Major complaints allowed per year before the objective is missed (seed 000 5.4.3: 0).
    #[serde(default)]
    pub major_per_year: u32,
}

impl ComplaintPolicy {
    pub fn terms(&self, severity: Severity) -> &SeverityTerms {
        match severity {
            Severity::General => &self.general,
            Severity::Major => &self.major,
        }
    }

    /// Field-by-field problems (`general.answer.minutes`, `calendar`).
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = vec![];
        if let Some(c) = &self.calendar
            && !valid_code(c)
        {
            errors.push(FieldError::new("calendar", "日历代码无效", "calendar must be a calendar code"));
        }
        for (name, t) in [("general", &self.general), ("major", &self.major)] {
            t.acknowledge.validate(&format!("{name}.acknowledge"), &mut errors);
            t.answer.validate(&format!("{name}.answer"), &mut errors);
            if t.acknowledge.code != ACKNOWLEDGE {
                errors.push(FieldError::new(
                    format!("{name}.acknowledge.code"),
                    "代码须为 acknowledge",
                    "code must be acknowledge",
                ));
            }
            if t.answer.code != ANSWER {
                errors.push(FieldError::new(format!("{name}.answer.code"), "代码须为 answer", "code must be answer"));
            }
        }
        if self.major_per_year > 1000 {
            errors.push(FieldError::new("major_per_year", "须在 0–1000 之间", "must be 0–1000"));
        }
        errors
    }
}

/// The built-in policy. Basis of each number: RULES §5 (reply within 24 hours, one company
/// within 1 working hour) and 总局令第43号 第28条 (answer within 10 working days); the major
/// answer time is a company parameter (unverified default).
pub fn builtin_policy() -> ComplaintPolicy {
    let ack = |minutes, mode, basis| {
        SlaTarget::new(ACKNOWLEDGE, "受理并联系客户", "Acknowledge to the customer", minutes, mode).with_basis(basis)
    };
    let answer = |minutes, basis| {
        SlaTarget::new(ANSWER, "答复客户", "Answer the customer", minutes, ClockMode::Working)
            .pausing_on(&[WAITING_INSPECTION])
            .with_basis(basis)
    };
    ComplaintPolicy {
        calendar: None,
        general: SeverityTerms {
            department: Department::Service,
            acknowledge: ack(24 * 60, ClockMode::Elapsed, "RULES §5: 24 小时内答复 / reply within 24 hours"),
            answer: answer(10 * 8 * 60, "总局令第43号 第28条: 10 个工作日内答复 / answer within 10 working days"),
        },
        major: SeverityTerms {
            department: Department::Quality,
            acknowledge: ack(60, ClockMode::Working, "RULES §7: 1 个工作小时内答复 / reply within 1 working hour"),
            answer: answer(5 * 8 * 60, "公司参数（未核实）: 5 个工作日内书面答复 / company parameter: 5 working days"),
        },
        major_per_year: 0,
    }
}

/// The facts of a complaint its clocks read.
#[derive(Debug, Clone, Copy)]
pub struct ClockFacts<'a> {
    pub received_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    /// Periods at the inspection body (reason [`WAITING_INSPECTION`]).
    pub pauses: &'a [Pause],
}

/// The two clocks of a complaint at `now`: acknowledge, then answer. The acknowledgement is
/// met by the answer too (answering the customer certainly contacted them).
pub fn clocks(
    terms: &SeverityTerms,
    calendar: &CompiledCalendar,
    f: &ClockFacts,
    now: DateTime<Utc>,
) -> [ClockResult; 2] {
    let clock = |target: &SlaTarget, stopped_at| {
        Clock { target, calendar, started_at: f.received_at, pauses: f.pauses, stopped_at, requested_by: None }
            .evaluate(now)
    };
    let acknowledged = match (f.acknowledged_at, f.answered_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    [clock(&terms.acknowledge, acknowledged), clock(&terms.answer, f.answered_at)]
}

/// The year's "no major complaint" objective (seed 000 5.4.3 不发生重大投诉事件（按年）).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MajorObjective {
    pub year: i32,
    /// Major complaints received in the year and not cancelled.
    pub count: u32,
    pub allowed: u32,
    pub met: bool,
}

pub const OBJECTIVE_BASIS: &str = "seed 000 5.4.3 不发生重大投诉事件（按年）/ no major complaint per year";

pub fn major_objective(year: i32, count: u32, allowed: u32) -> MajorObjective {
    MajorObjective { year, count, allowed, met: count <= allowed }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::calendar::Calendar;
    use crate::sla::ClockState;

    fn cx(kind: Kind, severity: Severity) -> Context {
        Context { kind, severity, new_severity: None }
    }

    const GENERAL: Context = Context { kind: Kind::Complaint, severity: Severity::General, new_severity: None };
    const MAJOR: Context = Context { kind: Kind::Complaint, severity: Severity::Major, new_severity: None };

    #[test]
    fn a_complaint_goes_from_contact_to_answer_to_acceptance() {
        let s = next(Status::Open, Action::Contact, Party::Office, GENERAL).unwrap();
        assert_eq!(s, Status::Investigating);
        let s = next(s, Action::Investigate, Party::Office, GENERAL).unwrap();
        let s = next(s, Action::Answer, Party::Office, GENERAL).unwrap();
        assert_eq!(s, Status::Answered);
        assert_eq!(next(s, Action::Reject, Party::Office, GENERAL), Ok(Status::Investigating));
        assert_eq!(next(s, Action::Accept, Party::Office, GENERAL), Ok(Status::Closed));
        assert!(matches!(
            next(Status::Closed, Action::Investigate, Party::Manager, GENERAL),
            Err(Refusal::NotFrom { .. })
        ));
        assert!(matches!(next(Status::Open, Action::Accept, Party::Office, GENERAL), Err(Refusal::NotFrom { .. })));
    }

    #[test]
    fn major_complaints_belong_to_quality_but_the_office_may_acknowledge_them() {
        assert_eq!(next(Status::Open, Action::Contact, Party::Office, MAJOR), Ok(Status::Investigating));
        for a in [Action::Investigate, Action::Answer, Action::Refer] {
            assert_eq!(
                next(Status::Investigating, a, Party::Office, MAJOR),
                Err(Refusal::NotAllowed { action: a, party: Party::Office }),
                "{a:?}"
            );
            assert!(next(Status::Investigating, a, Party::Quality, MAJOR).is_ok());
            assert!(next(Status::Investigating, a, Party::Manager, MAJOR).is_ok());
        }
        let e = next(Status::Investigating, Action::Answer, Party::Office, MAJOR).unwrap_err();
        assert!(e.message_zh().contains("质量部"), "{}", e.message_zh());
    }

    #[test]
    fn anyone_escalates_only_quality_or_a_manager_downgrades() {
        let up = Context { new_severity: Some(Severity::Major), ..GENERAL };
        assert_eq!(next(Status::Investigating, Action::Reclassify, Party::Office, up), Ok(Status::Investigating));
        let down = Context { new_severity: Some(Severity::General), ..MAJOR };
        assert!(matches!(next(Status::Open, Action::Reclassify, Party::Office, down), Err(Refusal::NotAllowed { .. })));
        assert_eq!(next(Status::Open, Action::Reclassify, Party::Quality, down), Ok(Status::Open));
        let same = Context { new_severity: Some(Severity::Major), ..MAJOR };
        assert!(next(Status::Open, Action::Reclassify, Party::Manager, same).is_err(), "no change is no action");
    }

    #[test]
    fn disputes_go_to_the_inspection_body_and_come_back_with_a_finding() {
        let s = next(Status::Answered, Action::Refer, Party::Quality, MAJOR).unwrap();
        assert_eq!(s, Status::Referred);
        assert!(next(s, Action::Answer, Party::Quality, MAJOR).is_err(), "wait for the finding");
        assert_eq!(next(s, Action::Finding, Party::Quality, MAJOR), Ok(Status::Investigating));
    }

    #[test]
    fn suggestions_are_forwarded_and_concluded_praise_is_acknowledged() {
        let sug = cx(Kind::Suggestion, Severity::General);
        assert_eq!(next(Status::Open, Action::Forward, Party::Office, sug), Ok(Status::Forwarded));
        assert_eq!(next(Status::Forwarded, Action::Conclude, Party::Quality, sug), Ok(Status::Closed));
        assert!(matches!(next(Status::Open, Action::Answer, Party::Office, sug), Err(Refusal::NotForKind { .. })));
        let praise = cx(Kind::Praise, Severity::General);
        assert_eq!(next(Status::Open, Action::Acknowledge, Party::Office, praise), Ok(Status::Closed));
        assert!(next(Status::Open, Action::Forward, Party::Office, praise).is_err());
    }

    #[test]
    fn only_managers_cancel() {
        assert!(next(Status::Open, Action::Cancel, Party::Office, GENERAL).is_err());
        assert!(next(Status::Open, Action::Cancel, Party::Quality, MAJOR).is_err());
        assert_eq!(next(Status::Answered, Action::Cancel, Party::Manager, MAJOR), Ok(Status::Cancelled));
    }

    #[test]
    fn the_page_offers_what_next_allows() {
        let office = available(Status::Investigating, Party::Office, MAJOR);
        assert!(office.is_empty(), "{office:?}");
        let quality = available(Status::Investigating, Party::Quality, MAJOR);
        assert_eq!(quality, vec![Action::Investigate, Action::Reclassify, Action::Answer, Action::Refer]);
        let office_general = available(Status::Open, Party::Office, GENERAL);
        assert_eq!(
            office_general,
            vec![Action::Contact, Action::Investigate, Action::Reclassify, Action::Answer, Action::Refer]
        );
    }

    #[test]
    fn the_builtin_policy_is_valid_and_a_bad_one_is_reported_field_by_field() {
        let p = builtin_policy();
        assert!(p.validate().is_empty());
        assert_eq!(p.terms(Severity::Major).department, Department::Quality);
        assert_eq!(p.terms(Severity::General).department, Department::Service);
        let mut bad = p.clone();
        bad.general.answer.minutes = 0;
        bad.major.acknowledge.code = "ack".into();
        bad.calendar = Some("no such code!".into());
        let fields: Vec<String> = bad.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["calendar", "general.answer.minutes", "major.acknowledge.code"]);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<ComplaintPolicy>(&json).unwrap(), p);
    }

    fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        // Shanghai is UTC+8: 2026-03-0d h:m local.
        chrono::FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 3, d, h, m, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_major_complaint_must_be_acknowledged_within_a_working_hour_and_answered_in_five_days() {
        let cal = Calendar::cn_standard().compile().unwrap();
        let p = builtin_policy();
        // Friday 2026-03-06 17:30: the working hour ends Monday 09:30.
        let f = ClockFacts { received_at: at(6, 17, 30), acknowledged_at: None, answered_at: None, pauses: &[] };
        let [ack, answer] = clocks(p.terms(Severity::Major), &cal, &f, at(9, 9, 20));
        assert_eq!(ack.due_at, Some(at(9, 9, 30)));
        assert_eq!(ack.state, ClockState::Warning);
        // 5 working days of 8 hours from Fri 17:30: Fri 0.5 h, then Mon–Thu 32 h, Fri 7.5 h → Fri 13 17:30.
        assert_eq!(answer.due_at, Some(at(13, 17, 30)));
        let late = ClockFacts { acknowledged_at: Some(at(9, 10, 0)), ..f };
        let [ack, _] = clocks(p.terms(Severity::Major), &cal, &late, at(9, 11, 0));
        assert_eq!(ack.state, ClockState::MetLate);
    }

    #[test]
    fn the_answer_waits_while_the_inspection_body_examines_the_product() {
        let cal = Calendar::cn_standard().compile().unwrap();
        let p = builtin_policy();
        let pauses = [Pause { reason: WAITING_INSPECTION.into(), from: at(9, 9, 0), to: Some(at(16, 9, 0)) }];
        let f = ClockFacts {
            received_at: at(6, 17, 30),
            acknowledged_at: Some(at(9, 8, 0)),
            answered_at: None,
            pauses: &pauses,
        };
        let [ack, answer] = clocks(p.terms(Severity::Major), &cal, &f, at(17, 9, 0));
        assert_eq!(ack.state, ClockState::Met);
        // A week of working time at the inspection body moves the deadline a week later.
        assert_eq!(answer.due_at, Some(at(20, 17, 30)));
        assert_eq!(answer.state, ClockState::Running);
        let answered = ClockFacts { answered_at: Some(at(18, 10, 0)), acknowledged_at: None, ..f };
        let [ack, answer] = clocks(p.terms(Severity::Major), &cal, &answered, at(19, 9, 0));
        assert_eq!(answer.state, ClockState::Met);
        assert_eq!(ack.state, ClockState::MetLate, "the answer acknowledged it, late");
    }

    #[test]
    fn no_major_complaint_is_the_objective() {
        assert!(major_objective(2026, 0, 0).met);
        assert!(!major_objective(2026, 1, 0).met);
        assert!(major_objective(2026, 1, 1).met);
    }
}
