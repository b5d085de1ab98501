//! The work-order flow (R3; seeds 002 篇四 3.3 and 篇六): registered → (quality review) → open
//! for dispatch → assigned → accepted → travelling → on site → completed with the signed
//! report → closed, with side states for a customer's answer to a quote and a manager's
//! decision on an extension or another solution.
//!
//! [`next`] is the only place that says which action may follow which status and who may take
//! it; the application asks it before every change and writes what it answers. A refusal names
//! the action, the status and the reason in both languages.

use serde::{Deserialize, Serialize};

coded! {
    /// Where an order is in its life.
    Status {
        /// 质量部评审: waiting for the quality department's assessment and plan.
        Review = "review", "待评审", "in review";
        /// Waiting for an engineer (待派工).
        Open = "open", "待派工", "to dispatch";
        Assigned = "assigned", "已派工", "assigned";
        Accepted = "accepted", "已接单", "accepted";
        Travelling = "travelling", "在途", "travelling";
        OnSite = "on_site", "现场处理中", "on site";
        /// The customer is asked to approve a quote; the clock waits for the customer.
        WaitingCustomer = "waiting_customer", "待客户确认报价", "waiting for the customer";
        /// An extension or another solution waits for the service manager.
        WaitingApproval = "waiting_approval", "待审批", "waiting for approval";
        /// The report is signed; the office checks it before archiving.
        Completed = "completed", "已完工", "completed";
        /// Archived (归档).
        Closed = "closed", "已关闭", "closed";
        Cancelled = "cancelled", "已取消", "cancelled";
    }
}

coded! {
    /// A change of an order's status.
    Action {
        Review = "review", "评审", "review";
        Assign = "assign", "派工", "assign";
        Accept = "accept", "接单", "accept";
        Decline = "decline", "退单", "decline";
        StartTravel = "start_travel", "出发", "start travel";
        Arrive = "arrive", "到达现场", "arrive";
        SendQuote = "send_quote", "发送报价", "send quote";
        DecideQuote = "decide_quote", "报价确认", "quote decision";
        RequestApproval = "request_approval", "申请延期或变更方案", "ask for approval";
        DecideApproval = "decide_approval", "审批", "approval decision";
        Complete = "complete", "完工", "complete";
        Close = "close", "关闭归档", "close";
        Cancel = "cancel", "取消", "cancel";
        Reopen = "reopen", "重新打开", "reopen";
        /// The customer was answered (by phone, letter, e-mail …): stops the first-reply clock.
        Reply = "reply", "答复客户", "reply to the customer";
        /// Work waits for parts, the customer or a third party: clocks that honour the reason
        /// pause. The status does not change.
        Pause = "pause", "暂停计时", "pause the clock";
        /// The wait is over.
        Resume = "resume", "恢复计时", "resume the clock";
    }
}

coded! {
    /// Who takes an action. The application maps its roles (and the customer's link) to these.
    Party {
        /// 办公室 / 调度: dispatchers and the service office.
        Office = "office", "办公室/调度", "office";
        /// 质量部.
        Quality = "quality", "质量部", "quality department";
        /// The engineer the order is assigned to.
        Engineer = "engineer", "服务工程师", "engineer";
        /// 服务部经理 and above.
        Manager = "manager", "服务经理", "service manager";
        /// The customer, through the tracking link or by signing on site.
        Customer = "customer", "客户", "customer";
    }
}

coded! {
    /// How a request reached the company (R3.1).
    Channel {
        Hotline = "hotline", "服务热线", "hotline";
        Letter = "letter", "信函", "letter";
        Email = "email", "电子邮件", "e-mail";
        Web = "web", "网上报修", "web form";
        WalkIn = "walk_in", "来访", "walk-in";
        Visit = "visit", "走访", "field visit";
    }
}

coded! {
    /// What the customer asks for (R3.2).
    Kind {
        Repair = "repair", "维修", "repair";
        Installation = "installation", "安装调试", "installation and commissioning";
        Maintenance = "maintenance", "保养", "maintenance";
        Training = "training", "培训", "training";
        Consultation = "consultation", "咨询", "consultation";
        Return = "return", "退货", "return";
        Exchange = "exchange", "换货", "exchange";
    }
}

coded! {
    Priority {
        Low = "low", "低", "low";
        Normal = "normal", "普通", "normal";
        High = "high", "紧急", "high";
        Urgent = "urgent", "特急", "urgent";
    }
}

coded! {
    /// A quote's state; an order has at most one quote waiting at a time.
    QuoteState {
        Pending = "pending", "待确认", "waiting";
        Approved = "approved", "已同意", "approved";
        Declined = "declined", "已拒绝", "declined";
    }
}

impl Status {
    /// No action but reopening (completed, closed) or none at all (cancelled).
    pub const fn is_final(self) -> bool {
        matches!(self, Status::Completed | Status::Closed | Status::Cancelled)
    }

    /// The SLA pause reason this status stands for (see [`crate::sla::reasons`]).
    pub const fn pause_reason(self) -> Option<&'static str> {
        match self {
            Status::WaitingCustomer => Some(crate::sla::reasons::WAITING_CUSTOMER),
            _ => None,
        }
    }

    /// Why a clock that runs out in this status was breached.
    pub const fn breach_cause(self) -> BreachCause {
        match self {
            Status::Review => BreachCause::Review,
            Status::Open => BreachCause::Dispatch,
            Status::Assigned => BreachCause::Acceptance,
            Status::Accepted | Status::Travelling => BreachCause::Travel,
            Status::OnSite => BreachCause::Repair,
            Status::WaitingCustomer => BreachCause::Customer,
            Status::WaitingApproval => BreachCause::Approval,
            Status::Completed | Status::Closed | Status::Cancelled => BreachCause::Other,
        }
    }

    /// Statuses in which the assigned engineer is working on the order.
    pub const fn with_engineer(self) -> bool {
        matches!(
            self,
            Status::Assigned
                | Status::Accepted
                | Status::Travelling
                | Status::OnSite
                | Status::WaitingCustomer
                | Status::WaitingApproval
        )
    }
}

impl Action {
    /// Who may take the action. Managers may also do what the office does.
    pub const fn parties(self) -> &'static [Party] {
        use Party::*;
        match self {
            Action::Review => &[Quality, Manager],
            Action::Assign | Action::Close | Action::Reopen => &[Office, Manager],
            Action::Cancel => &[Office, Manager],
            Action::Accept | Action::Decline | Action::StartTravel | Action::Arrive | Action::Complete => &[Engineer],
            Action::RequestApproval => &[Engineer],
            Action::SendQuote => &[Engineer, Office, Manager],
            // The customer from the link; the engineer when the customer signs on site; the
            // office when the customer answers by phone.
            Action::DecideQuote => &[Customer, Engineer, Office, Manager],
            Action::DecideApproval => &[Manager],
            Action::Reply => &[Office, Manager, Quality, Engineer],
            Action::Pause | Action::Resume => &[Office, Manager, Engineer],
        }
    }

    /// The SLA milestone the action reaches (see [`crate::sla::Milestone`]): assigning an
    /// engineer tells the customer who comes and when, and a quote answers the request too.
    pub const fn milestone(self) -> Option<crate::sla::Milestone> {
        use crate::sla::Milestone;
        match self {
            Action::Reply | Action::Assign | Action::SendQuote => Some(Milestone::Replied),
            Action::Arrive => Some(Milestone::Arrived),
            Action::Complete => Some(Milestone::Completed),
            Action::Close => Some(Milestone::Closed),
            _ => None,
        }
    }
}

coded! {
    /// Why a promise was broken, from where the order stood when its clock ran out: the
    /// breach register groups by it and the service manager may add a note.
    BreachCause {
        Review = "review", "质量评审耗时", "quality review took too long";
        Dispatch = "dispatch", "未及时派工", "not dispatched in time";
        Acceptance = "acceptance", "工程师未及时接单", "engineer did not accept in time";
        Travel = "travel", "未及时到达", "engineer did not arrive in time";
        Repair = "repair", "现场处理超时", "work on site took too long";
        Customer = "customer", "等待客户", "waiting for the customer";
        Approval = "approval", "等待审批", "waiting for approval";
        Other = "other", "其他", "other";
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The action does not follow the status.
    NotFrom { action: Action, from: Status },
    /// The party may not take the action.
    NotAllowed { action: Action, party: Party },
    /// A side state ended but the order does not know where to go back to (bad data).
    NoResume { action: Action },
    /// A paid order cannot be completed before the customer answered its quote (R3.4).
    QuoteNeeded,
    /// A paid order whose quote waits for an answer.
    QuotePending,
    /// A pause is already open; resume it first.
    AlreadyPaused,
    /// There is no open pause to end.
    NotPaused,
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotFrom { .. } => "not_from_status",
            Refusal::NotAllowed { .. } => "not_allowed",
            Refusal::NoResume { .. } => "no_resume",
            Refusal::QuoteNeeded => "quote_needed",
            Refusal::QuotePending => "quote_pending",
            Refusal::AlreadyPaused => "already_paused",
            Refusal::NotPaused => "not_paused",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            Refusal::NotFrom { action, from } => {
                format!("工单当前为“{}”，不能执行“{}”。", from.name_zh(), action.name_zh())
            }
            Refusal::NotAllowed { action, party } => format!("{}不能执行“{}”。", party.name_zh(), action.name_zh()),
            Refusal::NoResume { action } => format!("“{}”后不知道应返回哪个状态，请联系管理员。", action.name_zh()),
            Refusal::QuoteNeeded => "有费服务须先向客户报价，客户确认后才能完工（R3.4）。".into(),
            Refusal::QuotePending => "报价尚待客户确认，不能完工（R3.4）。".into(),
            Refusal::AlreadyPaused => "计时已暂停，请先恢复计时。".into(),
            Refusal::NotPaused => "计时没有暂停。".into(),
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            Refusal::NotFrom { action, from } => {
                format!("The order is {}; it cannot {} now.", from.name_en(), action.name_en())
            }
            Refusal::NotAllowed { action, party } => {
                format!("The {} may not {} an order.", party.name_en(), action.name_en())
            }
            Refusal::NoResume { action } => {
                format!("After “{}” the order does not know where to return; ask an administrator.", action.name_en())
            }
            Refusal::QuoteNeeded => {
                "A paid service needs a quote the customer has answered before it can be completed (R3.4).".into()
            }
            Refusal::QuotePending => "The quote still waits for the customer's answer (R3.4).".into(),
            Refusal::AlreadyPaused => "The clock is already paused; resume it first.".into(),
            Refusal::NotPaused => "The clock is not paused.".into(),
        }
    }
}

/// What an action needs to know besides the status.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context {
    /// The status to return to when a side state (quote, approval) ends.
    pub resume: Option<Status>,
    /// The entitlement decision made the service paid (有费).
    pub paid: bool,
    /// The order's latest quote.
    pub quote: Option<QuoteState>,
    /// A pause recorded with [`Action::Pause`] is open.
    pub paused: bool,
}

/// The status after `action` taken by `party` on an order in `from`, or why not.
pub fn next(from: Status, action: Action, party: Party, cx: Context) -> Result<Status, Refusal> {
    use Status::*;
    if !action.parties().contains(&party) {
        return Err(Refusal::NotAllowed { action, party });
    }
    let not_from = || Refusal::NotFrom { action, from };
    let resume = || cx.resume.filter(|r| !matches!(r, WaitingCustomer | WaitingApproval) && !r.is_final());
    match action {
        Action::Review => matches!(from, Review).then_some(Open).ok_or_else(not_from),
        Action::Assign => matches!(from, Open | Assigned | Accepted).then_some(Assigned).ok_or_else(not_from),
        Action::Accept => matches!(from, Assigned).then_some(Accepted).ok_or_else(not_from),
        Action::Decline => matches!(from, Assigned | Accepted).then_some(Open).ok_or_else(not_from),
        Action::StartTravel => matches!(from, Accepted).then_some(Travelling).ok_or_else(not_from),
        Action::Arrive => matches!(from, Accepted | Travelling).then_some(OnSite).ok_or_else(not_from),
        Action::SendQuote => {
            matches!(from, Open | Assigned | Accepted | OnSite).then_some(WaitingCustomer).ok_or_else(not_from)
        }
        Action::RequestApproval => {
            matches!(from, Accepted | Travelling | OnSite).then_some(WaitingApproval).ok_or_else(not_from)
        }
        Action::DecideQuote | Action::DecideApproval => {
            let side = if action == Action::DecideQuote { WaitingCustomer } else { WaitingApproval };
            if from != side {
                return Err(not_from());
            }
            resume().ok_or(Refusal::NoResume { action })
        }
        Action::Complete => {
            if from != OnSite {
                return Err(not_from());
            }
            match (cx.paid, cx.quote) {
                (true, None) => Err(Refusal::QuoteNeeded),
                (true, Some(QuoteState::Pending)) => Err(Refusal::QuotePending),
                _ => Ok(Completed),
            }
        }
        Action::Close => matches!(from, Completed).then_some(Closed).ok_or_else(not_from),
        Action::Cancel => (!from.is_final()).then_some(Cancelled).ok_or_else(not_from),
        Action::Reopen => matches!(from, Completed | Closed).then_some(Open).ok_or_else(not_from),
        Action::Reply => (!from.is_final()).then_some(from).ok_or_else(not_from),
        Action::Pause if cx.paused => Err(Refusal::AlreadyPaused),
        Action::Pause => (!from.is_final()).then_some(from).ok_or_else(not_from),
        Action::Resume if !cx.paused => Err(Refusal::NotPaused),
        Action::Resume => (!from.is_final()).then_some(from).ok_or_else(not_from),
    }
}

/// The actions `party` could take now, in the order a page offers them.
pub fn available(from: Status, party: Party, cx: Context) -> Vec<Action> {
    Action::ALL
        .iter()
        .copied()
        .filter(|a| match a {
            // Offered on the quote or the approval itself, not as a bare button.
            Action::DecideQuote | Action::DecideApproval => false,
            // A paid order offers completion, which then explains what is missing.
            Action::Complete => from == Status::OnSite && a.parties().contains(&party),
            _ => next(from, *a, party, cx).is_ok(),
        })
        .collect()
}

/// Why a new request goes to the quality department first (seeds 002 篇四 3.3), or None.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewReason {
    /// The company's settings send every request of this type to review.
    Kind(Kind),
    /// The entitlement decision grants an exchange or a refund: the quality department confirms
    /// the fault before the company replaces or takes back the product.
    ExchangeOrRefund,
}

impl ReviewReason {
    pub fn message_zh(self) -> String {
        match self {
            ReviewReason::Kind(k) => format!("“{}”类请求须经质量部评审（公司设置）。", k.name_zh()),
            ReviewReason::ExchangeOrRefund => "三包判定可换货或退货，须经质量部评审确认故障。".into(),
        }
    }

    pub fn message_en(self) -> String {
        match self {
            ReviewReason::Kind(k) => {
                format!("Requests of type {} go to quality review (company setting).", k.name_en())
            }
            ReviewReason::ExchangeOrRefund => {
                "The entitlement grants an exchange or refund: quality review confirms the fault first.".into()
            }
        }
    }
}

/// An exchange or refund counts only for a reported fault (repair, return, exchange), not for
/// installation, maintenance, training or advice on a unit that happens to be new.
pub fn review_needed(kind: Kind, review_kinds: &[Kind], exchange_or_refund: bool) -> Option<ReviewReason> {
    if review_kinds.contains(&kind) {
        Some(ReviewReason::Kind(kind))
    } else if exchange_or_refund && matches!(kind, Kind::Repair | Kind::Return | Kind::Exchange) {
        Some(ReviewReason::ExchangeOrRefund)
    } else {
        None
    }
}

/// The review kinds the product ships with: returns and exchanges.
pub const DEFAULT_REVIEW_KINDS: [Kind; 2] = [Kind::Return, Kind::Exchange];

/// Parses a comma-separated list of kind codes (a company setting); unknown codes are skipped.
pub fn parse_kinds(s: &str) -> Vec<Kind> {
    s.split(',').filter_map(Kind::parse).collect()
}

/// The repeat-repair window of R3.7 (days between two orders on one unit for the same fault).
pub const REPEAT_WINDOW_DAYS: i64 = 90;

/// An earlier order of the same unit, as far as a repeat check needs it.
#[derive(Debug, Clone)]
pub struct Earlier<'a> {
    pub id: i64,
    pub days_ago: i64,
    pub kind: Kind,
    pub cancelled: bool,
    pub fault_code: Option<&'a str>,
    pub problem: &'a str,
}

/// Whether a new repair looks like a repeat of an earlier order of the same unit (R3.7): a
/// repair or maintenance order in the window, not cancelled, with the same fault code, or
/// (when no code is known yet) sharing a problem word with the new description. The newest
/// match wins. `words` are the segmented words of the new problem.
pub fn repeat_of(
    kind: Kind,
    fault_code: Option<&str>,
    words: &[&str],
    earlier: &[Earlier<'_>],
    window_days: i64,
) -> Option<i64> {
    if !matches!(kind, Kind::Repair | Kind::Return | Kind::Exchange) {
        return None;
    }
    earlier
        .iter()
        .filter(|e| !e.cancelled && e.days_ago <= window_days && matches!(e.kind, Kind::Repair | Kind::Maintenance))
        .filter(|e| match (fault_code, e.fault_code) {
            (Some(a), Some(b)) => a == b,
            _ => words.iter().any(|w| w.chars().count() >= 2 && e.problem.contains(w)),
        })
        .min_by_key(|e| e.days_ago)
        .map(|e| e.id)
}

/// One engineer as dispatch sees them.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub user_id: i64,
    pub region: Option<&'a str>,
    pub skills: &'a [String],
    /// Orders with the engineer now (assigned … waiting).
    pub open_orders: u32,
    /// Orders scheduled on the visit's day.
    pub day_orders: u32,
    /// The engineer's working calendar has working time on the visit's day.
    pub works_that_day: bool,
}

/// A suggestion with its score and the reasons that make it up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub user_id: i64,
    pub score: i32,
    pub same_region: bool,
    pub skilled: bool,
    pub open_orders: u32,
    pub day_orders: u32,
    pub works_that_day: bool,
}

/// Engineers ranked for an order: skill in the product's category first (40), the order's
/// region (30), then the lightest load (3 per open order, 5 per order on the visit's day); an
/// engineer whose calendar has no working time that day loses 60, so comes after everyone
/// who works. Urgent orders (by priority, or because a service clock is about to run out or
/// has run out) weigh load double, so they go to whoever can leave soonest. Ties go to the
/// lower user id, so the order is stable.
pub fn suggest(
    category: Option<&str>,
    region: Option<&str>,
    priority: Priority,
    sla_pressing: bool,
    candidates: &[Candidate<'_>],
) -> Vec<Suggestion> {
    let urgent = sla_pressing || matches!(priority, Priority::High | Priority::Urgent);
    let load_weight = if urgent { 2 } else { 1 };
    let mut out: Vec<Suggestion> = candidates
        .iter()
        .map(|c| {
            let skilled = category.is_some_and(|cat| c.skills.iter().any(|s| s == cat));
            let same_region = region.is_some() && c.region == region;
            let load = (3 * c.open_orders.min(50) + 5 * c.day_orders.min(50)) as i32;
            Suggestion {
                user_id: c.user_id,
                score: 40 * i32::from(skilled) + 30 * i32::from(same_region)
                    - load_weight * load
                    - 60 * i32::from(!c.works_that_day),
                same_region,
                skilled,
                open_orders: c.open_orders,
                day_orders: c.day_orders,
                works_that_day: c.works_that_day,
            }
        })
        .collect();
    out.sort_by(|a, b| b.score.cmp(&a.score).then(a.user_id.cmp(&b.user_id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(from: Status, a: Action, p: Party) -> Result<Status, Refusal> {
        next(from, a, p, Context::default())
    }

    #[test]
    fn the_documented_flow_runs_end_to_end() {
        let mut s = Status::Review;
        for (a, p, want) in [
            (Action::Review, Party::Quality, Status::Open),
            (Action::Assign, Party::Office, Status::Assigned),
            (Action::Accept, Party::Engineer, Status::Accepted),
            (Action::StartTravel, Party::Engineer, Status::Travelling),
            (Action::Arrive, Party::Engineer, Status::OnSite),
            (Action::Complete, Party::Engineer, Status::Completed),
            (Action::Close, Party::Office, Status::Closed),
        ] {
            s = go(s, a, p).unwrap_or_else(|e| panic!("{a:?} from {s:?}: {e:?}"));
            assert_eq!(s, want);
        }
    }

    #[test]
    fn impossible_transitions_are_refused_with_a_message() {
        let e = go(Status::Open, Action::Complete, Party::Engineer).unwrap_err();
        assert_eq!(e, Refusal::NotFrom { action: Action::Complete, from: Status::Open });
        assert!(e.message_zh().contains("待派工") && e.message_zh().contains("完工"));
        assert!(e.message_en().contains("to dispatch"));
        assert!(go(Status::Cancelled, Action::Reopen, Party::Office).is_err());
        assert!(go(Status::Closed, Action::Cancel, Party::Office).is_err());
        assert!(go(Status::Travelling, Action::Assign, Party::Office).is_err());
        assert!(go(Status::Review, Action::Assign, Party::Office).is_err());
    }

    #[test]
    fn each_action_belongs_to_its_parties() {
        assert_eq!(
            go(Status::Assigned, Action::Accept, Party::Office),
            Err(Refusal::NotAllowed { action: Action::Accept, party: Party::Office })
        );
        assert!(go(Status::Review, Action::Review, Party::Engineer).is_err());
        assert!(go(Status::Open, Action::Assign, Party::Engineer).is_err());
        assert!(go(Status::Open, Action::Assign, Party::Manager).is_ok());
        let cx = Context { resume: Some(Status::OnSite), ..Default::default() };
        assert!(next(Status::WaitingApproval, Action::DecideApproval, Party::Office, cx).is_err());
        assert_eq!(next(Status::WaitingApproval, Action::DecideApproval, Party::Manager, cx), Ok(Status::OnSite));
        // Every action has someone who may take it.
        for a in Action::ALL {
            assert!(!a.parties().is_empty(), "{a:?}");
        }
    }

    #[test]
    fn side_states_return_where_they_started() {
        for from in [Status::Open, Status::Assigned, Status::Accepted, Status::OnSite] {
            let waiting = go(from, Action::SendQuote, Party::Office).unwrap();
            assert_eq!(waiting, Status::WaitingCustomer);
            let cx = Context { resume: Some(from), ..Default::default() };
            assert_eq!(next(waiting, Action::DecideQuote, Party::Customer, cx), Ok(from));
        }
        // Without a place to go back to, or with a nonsensical one, the decision is refused.
        assert!(matches!(
            go(Status::WaitingCustomer, Action::DecideQuote, Party::Customer),
            Err(Refusal::NoResume { .. })
        ));
        let cx = Context { resume: Some(Status::Closed), ..Default::default() };
        assert!(next(Status::WaitingCustomer, Action::DecideQuote, Party::Customer, cx).is_err());
        assert_eq!(Status::WaitingCustomer.pause_reason(), Some("waiting_customer"));
    }

    #[test]
    fn paid_orders_complete_only_after_the_quote_is_answered() {
        let paid = |quote| Context { paid: true, quote, ..Default::default() };
        assert_eq!(next(Status::OnSite, Action::Complete, Party::Engineer, paid(None)), Err(Refusal::QuoteNeeded));
        assert_eq!(
            next(Status::OnSite, Action::Complete, Party::Engineer, paid(Some(QuoteState::Pending))),
            Err(Refusal::QuotePending)
        );
        for q in [QuoteState::Approved, QuoteState::Declined] {
            assert_eq!(next(Status::OnSite, Action::Complete, Party::Engineer, paid(Some(q))), Ok(Status::Completed));
        }
        assert_eq!(go(Status::OnSite, Action::Complete, Party::Engineer), Ok(Status::Completed));
    }

    #[test]
    fn pages_offer_only_what_is_possible() {
        let cx = Context::default();
        assert_eq!(
            available(Status::Assigned, Party::Engineer, cx),
            vec![Action::Accept, Action::Decline, Action::SendQuote, Action::Reply, Action::Pause]
        );
        assert_eq!(
            available(Status::Open, Party::Office, cx),
            vec![Action::Assign, Action::SendQuote, Action::Cancel, Action::Reply, Action::Pause]
        );
        let paused = Context { paused: true, ..cx };
        assert_eq!(available(Status::Open, Party::Office, paused).last(), Some(&Action::Resume));
        assert!(available(Status::Cancelled, Party::Office, cx).is_empty());
        assert_eq!(available(Status::Open, Party::Quality, cx), vec![Action::Reply]);
        let paid = Context { paid: true, ..cx };
        assert!(available(Status::OnSite, Party::Engineer, paid).contains(&Action::Complete));
    }

    #[test]
    fn pauses_and_replies_keep_the_status() {
        let cx = Context::default();
        let paused = Context { paused: true, ..cx };
        assert_eq!(next(Status::OnSite, Action::Pause, Party::Engineer, cx), Ok(Status::OnSite));
        assert_eq!(next(Status::OnSite, Action::Pause, Party::Engineer, paused), Err(Refusal::AlreadyPaused));
        assert_eq!(next(Status::OnSite, Action::Resume, Party::Engineer, paused), Ok(Status::OnSite));
        assert_eq!(next(Status::OnSite, Action::Resume, Party::Engineer, cx), Err(Refusal::NotPaused));
        assert!(next(Status::Closed, Action::Pause, Party::Office, cx).is_err());
        assert!(next(Status::Open, Action::Pause, Party::Customer, cx).is_err());
        assert_eq!(next(Status::Review, Action::Reply, Party::Quality, cx), Ok(Status::Review));
        assert!(next(Status::Completed, Action::Reply, Party::Office, cx).is_err());
        assert!(Refusal::AlreadyPaused.message_zh().contains("暂停"));
    }

    #[test]
    fn actions_reach_milestones_and_statuses_name_breach_causes() {
        use crate::sla::Milestone;
        assert_eq!(Action::Assign.milestone(), Some(Milestone::Replied));
        assert_eq!(Action::Reply.milestone(), Some(Milestone::Replied));
        assert_eq!(Action::Arrive.milestone(), Some(Milestone::Arrived));
        assert_eq!(Action::Complete.milestone(), Some(Milestone::Completed));
        assert_eq!(Action::Accept.milestone(), None);
        assert_eq!(Status::Open.breach_cause(), BreachCause::Dispatch);
        assert_eq!(Status::Travelling.breach_cause(), BreachCause::Travel);
        assert_eq!(Status::WaitingCustomer.breach_cause().name_zh(), "等待客户");
    }

    #[test]
    fn codes_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.code()), Some(*s));
        }
        for a in Action::ALL {
            assert_eq!(Action::parse(a.code()), Some(*a));
        }
        assert_eq!(Kind::parse("installation"), Some(Kind::Installation));
        assert_eq!(Channel::parse("walk_in"), Some(Channel::WalkIn));
        assert_eq!(Priority::parse("nope"), None);
        assert_eq!(parse_kinds("return, exchange,bogus"), vec![Kind::Return, Kind::Exchange]);
    }

    #[test]
    fn review_is_needed_by_setting_or_by_an_exchange() {
        assert_eq!(review_needed(Kind::Return, &DEFAULT_REVIEW_KINDS, false), Some(ReviewReason::Kind(Kind::Return)));
        assert_eq!(review_needed(Kind::Repair, &DEFAULT_REVIEW_KINDS, false), None);
        assert_eq!(review_needed(Kind::Repair, &DEFAULT_REVIEW_KINDS, true), Some(ReviewReason::ExchangeOrRefund));
        assert_eq!(review_needed(Kind::Repair, &[Kind::Repair], false), Some(ReviewReason::Kind(Kind::Repair)));
        assert_eq!(review_needed(Kind::Installation, &DEFAULT_REVIEW_KINDS, true), None, "no fault, no review");
    }

    #[test]
    fn repeat_repairs_are_found_by_fault_code_or_shared_words() {
        let e = |id, days_ago, kind, cancelled, fault_code, problem| Earlier {
            id,
            days_ago,
            kind,
            cancelled,
            fault_code,
            problem,
        };
        let earlier = [
            e(1, 200, Kind::Repair, false, Some("E1"), "压缩机 不启动"),
            e(2, 30, Kind::Repair, false, Some("E2"), "噪音 大"),
            e(3, 10, Kind::Repair, true, None, "压缩机 不启动"),
            e(4, 20, Kind::Training, false, None, "压缩机 培训"),
            e(5, 40, Kind::Repair, false, None, "压缩机 不启动 制冷差"),
        ];
        assert_eq!(repeat_of(Kind::Repair, None, &["压缩机", "不启动"], &earlier, 90), Some(5));
        assert_eq!(repeat_of(Kind::Repair, Some("E2"), &[], &earlier, 90), Some(2));
        assert_eq!(repeat_of(Kind::Repair, Some("E1"), &[], &earlier, 90), None, "outside the window");
        assert_eq!(repeat_of(Kind::Repair, None, &["漏水"], &earlier, 90), None);
        assert_eq!(repeat_of(Kind::Repair, None, &["压"], &earlier, 90), None, "one character proves nothing");
        assert_eq!(repeat_of(Kind::Installation, None, &["压缩机"], &earlier, 90), None);
    }

    #[test]
    fn suggestions_rank_skill_region_then_load() {
        let ac = ["air_conditioner".to_string()];
        let none: [String; 0] = [];
        let c = |user_id, region, skills, open_orders, day_orders| Candidate {
            user_id,
            region,
            skills,
            open_orders,
            day_orders,
            works_that_day: true,
        };
        let list = [
            c(1, Some("south"), &none[..], 0, 0),
            c(2, Some("east"), &ac[..], 4, 1),
            c(3, Some("east"), &ac[..], 1, 0),
            c(4, Some("south"), &ac[..], 0, 0),
        ];
        let rank = |priority, pressing, list: &[Candidate<'_>]| -> Vec<i64> {
            suggest(Some("air_conditioner"), Some("east"), priority, pressing, list).iter().map(|s| s.user_id).collect()
        };
        assert_eq!(rank(Priority::Normal, false, &list), vec![3, 2, 4, 1]);
        // An urgent order weighs load double: the busy local engineer drops below the idle one.
        assert_eq!(rank(Priority::Urgent, false, &list), vec![3, 4, 2, 1]);
        // So does a normal order whose service clock is about to run out.
        assert_eq!(rank(Priority::Normal, true, &list), vec![3, 4, 2, 1]);
        // An engineer off work that day (weekend shift, holiday) comes after everyone who works.
        let mut off = list.clone();
        off[2].works_that_day = false;
        assert_eq!(rank(Priority::Normal, false, &off), vec![2, 4, 3, 1]);
    }
}
