//! After the job: what a completed generated order leaves behind, as the live app would have
//! written it — the survey link of `service::care::on_completed` (about 60 % answered some
//! hours or days later, mostly satisfied), the on-site rating as an answered survey, and now
//! and then a complaint (a few major ones, routed to the quality department by the complaint
//! policy), a suggestion or a praise of the engineer, each with the steps taken on it so far
//! and its deadlines on the policy's clocks.
//!
//! Survey tokens are filled in by the caller from the operating system's random source: a
//! token is the only secret of a survey link.

use chrono::{DateTime, Duration, Utc};
use rules::calendar::CompiledCalendar;
use rules::complaint::{
    self as flow, Action, AnswerChannel, ClockFacts, ComplaintPolicy, Context, Department, Kind, Party, Severity,
    Status,
};

use super::Rng;
use super::orders::weighted;
use crate::service::work_orders::local_day;
use crate::store::bulk::{NewComplaint, NewComplaintEvent, NewOrder, NewSurvey};

/// How generated steps are signed in the complaints' time lines.
const USER_LABEL: &str = "gen";

/// Answers of the survey link, by overall score (RULES §7 counts 4 and 5 as satisfied).
const SCORES: &[(i32, u64)] = &[(5, 55), (4, 30), (3, 8), (2, 4), (1, 3)];
const GOOD: &[&str] = &[
    "师傅很专业，讲解也很耐心",
    "上门准时，修好了，满意",
    "服务态度好，处理及时",
    "维修很快，现场收拾得很干净",
    "电话预约很方便，点赞",
];
const FAIR: &[&str] = &["修好了，但等了比较久", "还可以，希望下次能更快上门", "收费有点高"];
const POOR: &[&str] = &["约好的时间没来，也没提前通知", "修完没两天又坏了", "师傅态度一般，问题没解释清楚"];

const COMPLAINTS: &[&str] = &[
    "维修后同一故障再次出现",
    "工程师上门迟到，未提前告知",
    "维修收费与报价不符",
    "工程师服务态度差",
    "更换配件后仍有异响",
    "多次报修未能解决",
];
const MAJOR: &[&str] = &["维修后设备冒烟，存在安全隐患", "同一故障三次维修未修好，要求退换", "上门维修时损坏客户财物"];
const SUGGESTIONS: &[&str] = &[
    "建议增加微信预约维修",
    "建议上门前短信告知工程师姓名和电话",
    "建议提供夜间和周末上门服务",
    "建议保养提醒提前一周",
];
const PRAISE: &[&str] =
    &["感谢工程师冒雨上门抢修", "工程师技术过硬，一次修好", "服务周到，主动讲解保养知识", "节假日加班维修，非常感谢"];
const INVESTIGATION: &[&str] =
    &["已调取工单记录并与工程师核实经过", "已安排质检人员上门复查设备", "已核对收费明细与配件出库记录"];
const ROOT_CAUSES: &[&str] =
    &["配件质量问题", "工程师未按规范操作", "派工时间安排不合理", "收费标准解释不清", "设备安装环境不符合要求"];
const ANSWERS: &[&str] = &[
    "经核查情况属实，已安排工程师重新上门免费维修，并向客户致歉。",
    "已向客户说明收费标准，退还多收费用，并致歉。",
    "已更换整机，并对相关工程师进行培训考核。",
    "已对工程师进行批评教育，后续由班组长回访跟进。",
];

/// Between `lo` and `hi` minutes.
fn minutes(rng: &mut Rng, lo: u64, hi: u64) -> Duration {
    Duration::minutes(rng.range(lo, hi) as i64)
}

pub struct AfterPlan<'a> {
    pub now: DateTime<Utc>,
    pub policy: &'a ComplaintPolicy,
    pub policy_version: i64,
    pub calendar: &'a CompiledCalendar,
}

impl AfterPlan<'_> {
    /// Fills `o.surveys` and `o.complaints` (survey tokens left empty for the caller).
    pub fn fill(&self, rng: &mut Rng, o: &mut NewOrder) {
        let Some(done) = o.completed_at else { return };
        o.surveys.push(self.job_survey(rng, done));
        if let Some(score) = o.rating {
            o.surveys.push(NewSurvey {
                token: String::new(),
                kind: "on_site",
                created_at: done,
                answered_at: Some(done),
                overall: Some(score),
                timeliness: None,
                attitude: None,
                quality: None,
                comment: "",
            });
        }
        // About 1 % of jobs draw a complaint, fewer a suggestion or a praise.
        let kind = match rng.below(10_000) {
            0..100 => Kind::Complaint,
            100..130 => Kind::Suggestion,
            130..180 => Kind::Praise,
            _ => return,
        };
        if let Some(k) = self.complaint(rng, kind, o.id, done) {
            o.complaints.push(k);
        }
    }

    fn job_survey(&self, rng: &mut Rng, done: DateTime<Utc>) -> NewSurvey {
        let mut s = NewSurvey {
            token: String::new(),
            kind: "job",
            created_at: done,
            answered_at: None,
            overall: None,
            timeliness: None,
            attitude: None,
            quality: None,
            comment: "",
        };
        if !rng.percent(60) {
            return s;
        }
        let delay = match rng.below(100) {
            0..40 => minutes(rng, 30, 12 * 60),
            40..75 => minutes(rng, 12 * 60, 48 * 60),
            _ => minutes(rng, 48 * 60, 7 * 24 * 60),
        };
        let overall = weighted(rng, SCORES);
        let near = |rng: &mut Rng| {
            let d = match rng.below(10) {
                0 => -1,
                1 => 1,
                _ => 0,
            };
            Some((overall + d).clamp(1, 5))
        };
        let (timeliness, attitude, quality) = (near(rng), near(rng), near(rng));
        let comment = if rng.percent(30) {
            rng.pick(match overall {
                4..=5 => GOOD,
                3 => FAIR,
                _ => POOR,
            })
        } else {
            ""
        };
        // Not answered yet when that moment is still ahead.
        let at = done + delay;
        if at <= self.now {
            s = NewSurvey {
                answered_at: Some(at),
                overall: Some(overall),
                timeliness,
                attitude,
                quality,
                comment,
                ..s
            };
        }
        s
    }

    /// A record about order `order_id` completed at `done`, with the steps taken on it by now
    /// (none when it would arrive after now).
    fn complaint(&self, rng: &mut Rng, kind: Kind, order_id: i64, done: DateTime<Utc>) -> Option<NewComplaint> {
        let major = kind == Kind::Complaint && rng.percent(5);
        let severity = if major { Severity::Major } else { Severity::General };
        let department = match kind {
            Kind::Complaint => self.policy.terms(severity).department,
            _ => Department::Service,
        };
        let channel = weighted(
            rng,
            &[("hotline", 50), ("web", 15), ("email", 10), ("letter", 10), ("walk_in", 5), ("visit", 10)],
        );
        let subject = match kind {
            Kind::Complaint if major => *rng.pick(MAJOR),
            Kind::Complaint => *rng.pick(COMPLAINTS),
            Kind::Suggestion => *rng.pick(SUGGESTIONS),
            Kind::Praise => *rng.pick(PRAISE),
        };
        let received_at = done
            + match kind {
                Kind::Praise => minutes(rng, 30, 3 * 24 * 60),
                _ => minutes(rng, 60, 10 * 24 * 60),
            };
        // A letter is registered some hours after it arrived; a call or a visit at once.
        let created_at = received_at + if channel == "letter" { minutes(rng, 30, 8 * 60) } else { minutes(rng, 0, 10) };
        if created_at > self.now {
            return None;
        }
        let number = crate::store::work_orders::number(order_id);
        let mut k = NewComplaint {
            id: 0,
            kind: kind.code(),
            severity: severity.code(),
            status: Status::Open.code(),
            department: department.code(),
            channel,
            subject,
            description: format!("客户反映（工单 {number}）：{subject}。"),
            policy_version: self.policy_version,
            received_at,
            ack_due_at: None,
            answer_due_at: None,
            acknowledged_at: None,
            answered_at: None,
            answer_channel: None,
            answered_on: None,
            answer_text: "",
            accepted: None,
            root_cause: "",
            forwarded_to: None,
            valuable: false,
            adopted: None,
            closed_at: None,
            created_at,
            events: vec![NewComplaintEvent {
                id: 0,
                action: "register",
                at: created_at,
                user_label: USER_LABEL,
                status_to: Status::Open.code(),
                channel: Some(channel),
                on_day: None,
                text: "",
                detail: format!("{}:{}", severity.code(), department.code()),
            }],
        };
        let mut f = Flow {
            t: created_at,
            status: Status::Open,
            party: if major { Party::Quality } else { Party::Office },
            cx: Context { kind, severity, new_severity: None },
            now: self.now,
        };
        match kind {
            Kind::Complaint => {
                // First contact: a major one within the working hour, a general one within the
                // day (now and then late).
                let contact = if major {
                    minutes(rng, 5, 50)
                } else if rng.percent(90) {
                    minutes(rng, 10, 20 * 60)
                } else {
                    minutes(rng, 25 * 60, 48 * 60)
                };
                let how = weighted(
                    rng,
                    &[(AnswerChannel::Phone, 85), (AnswerChannel::Email, 10), (AnswerChannel::OnSite, 5)],
                );
                let investigate = rng.percent(50).then(|| (minutes(rng, 60, 48 * 60), *rng.pick(INVESTIGATION)));
                let cause = *rng.pick(ROOT_CAUSES);
                // The answer: within the policy's working days, a few late.
                let answer =
                    if major { minutes(rng, 8 * 60, 6 * 24 * 60) } else { minutes(rng, 24 * 60, 15 * 24 * 60) };
                let answer_how = if major {
                    weighted(rng, &[(AnswerChannel::Letter, 70), (AnswerChannel::OnSite, 30)])
                } else {
                    weighted(
                        rng,
                        &[(AnswerChannel::Phone, 70), (AnswerChannel::Email, 15), (AnswerChannel::Letter, 15)],
                    )
                };
                let answer_text = *rng.pick(ANSWERS);
                let accept = minutes(rng, 60, 3 * 24 * 60);
                'flow: {
                    if !f.take(&mut k, Action::Contact, contact, event(Some(how.code()), "", "")) {
                        break 'flow;
                    }
                    k.acknowledged_at = Some(f.t);
                    if let Some((after, note)) = investigate {
                        if !f.take(&mut k, Action::Investigate, after, event(None, note, cause)) {
                            break 'flow;
                        }
                        k.root_cause = cause;
                    }
                    if !f.take(&mut k, Action::Answer, answer, event(Some(answer_how.code()), answer_text, "")) {
                        break 'flow;
                    }
                    // The day the letter went or the call was made.
                    let day = local_day(f.t);
                    if let Some(ev) = k.events.last_mut() {
                        ev.on_day = Some(day);
                    }
                    k.answered_at = Some(f.t);
                    k.answer_channel = Some(answer_how.code());
                    k.answered_on = Some(day);
                    k.answer_text = answer_text;
                    if f.take(&mut k, Action::Accept, accept, event(None, "", "")) {
                        k.accepted = Some(true);
                    }
                }
                let facts = ClockFacts {
                    received_at,
                    acknowledged_at: k.acknowledged_at,
                    answered_at: k.answered_at,
                    pauses: &[],
                };
                let [ack, answer] = flow::clocks(self.policy.terms(severity), self.calendar, &facts, self.now);
                k.ack_due_at = ack.due_at;
                k.answer_due_at = answer.due_at;
            }
            Kind::Suggestion => {
                let to =
                    weighted(rng, &[(Department::Service, 50), (Department::Sales, 30), (Department::Quality, 20)]);
                let valuable = rng.percent(40);
                let adopted = rng.percent(if valuable { 60 } else { 10 });
                let (forward, conclude) = (minutes(rng, 60, 3 * 24 * 60), minutes(rng, 3 * 24 * 60, 30 * 24 * 60));
                if f.take(&mut k, Action::Forward, forward, event(None, "", to.code())) {
                    k.forwarded_to = Some(to.code());
                    k.valuable = valuable;
                    let detail = if adopted { "adopted" } else { "not_adopted" };
                    if f.take(&mut k, Action::Conclude, conclude, event(None, "", detail)) {
                        k.adopted = Some(adopted);
                    }
                }
            }
            Kind::Praise => {
                let after = minutes(rng, 30, 2 * 24 * 60);
                f.take(&mut k, Action::Acknowledge, after, event(None, "", ""));
            }
        }
        Some(k)
    }
}

/// Where a generated record stands while its steps are taken.
struct Flow {
    /// The time of the last step.
    t: DateTime<Utc>,
    status: Status,
    party: Party,
    cx: Context,
    now: DateTime<Utc>,
}

impl Flow {
    /// Takes `action` `after` the last step, as `rules::complaint::next` allows, unless that
    /// moment is still ahead; false then (and the record stays where it is).
    fn take(&mut self, k: &mut NewComplaint, action: Action, after: Duration, ev: NewComplaintEvent) -> bool {
        let at = self.t + after;
        let Ok(to) = flow::next(self.status, action, self.party, self.cx) else { return false };
        if at > self.now {
            return false;
        }
        self.t = at;
        self.status = to;
        k.status = to.code();
        if to.is_final() {
            k.closed_at = Some(at);
        }
        k.events.push(NewComplaintEvent { action: action.code(), at, status_to: to.code(), ..ev });
        true
    }
}

/// A step's particulars; `Flow::take` fills in the action, time and status.
fn event(channel: Option<&'static str>, text: &'static str, detail: &str) -> NewComplaintEvent {
    NewComplaintEvent {
        id: 0,
        action: "",
        at: DateTime::<Utc>::MIN_UTC,
        user_label: USER_LABEL,
        status_to: "",
        channel,
        on_day: None,
        text,
        detail: detail.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::sync::Arc;

    use chrono::TimeZone;

    use super::super::orders::{GenEngineer, ORDER_BATCH, OrderPlan};
    use super::*;

    fn plan(seed: u64) -> OrderPlan {
        let units =
            (1..=500).map(|i| (i, i / 2 + 1, Some("east".to_string()), "air_conditioner".to_string())).collect();
        let engineers: Vec<GenEngineer> = (1..=6)
            .map(|i| GenEngineer { id: i, label: format!("工程师{i}"), region: Some("east".into()), team: None })
            .collect();
        OrderPlan {
            seed,
            first_id: 1,
            total: ORDER_BATCH,
            now: Utc.with_ymd_and_hms(2026, 3, 10, 2, 0, 0).unwrap(),
            units: Arc::new(units),
            engineers,
            by_region: HashMap::from([("east".to_string(), (0..6).collect())]),
            faults: HashMap::new(),
            backlog_from: ORDER_BATCH,
            policy: rules::sla::builtin_policies().into_iter().find(|p| p.code == "standard").unwrap(),
            calendar: rules::calendar::Calendar::cn_standard().compile().unwrap(),
            complaint_policy: flow::builtin_policy(),
            complaint_policy_version: 1,
        }
    }

    /// Everything of a batch's after-job data but the tokens.
    fn key(orders: &[NewOrder]) -> Vec<String> {
        orders
            .iter()
            .flat_map(|o| {
                let s = o.surveys.iter().map(|s| {
                    format!(
                        "{} {} {:?} {:?} {:?} {:?} {:?} {}",
                        o.id, s.kind, s.answered_at, s.overall, s.timeliness, s.attitude, s.quality, s.comment
                    )
                });
                let k = o.complaints.iter().map(|k| {
                    let steps: Vec<String> = k
                        .events
                        .iter()
                        .map(|e| format!("{}@{}>{}:{}", e.action, e.at, e.status_to, e.detail))
                        .collect();
                    format!(
                        "{} {} {} {} {:?} {:?} {}",
                        o.id,
                        k.kind,
                        k.severity,
                        k.status,
                        k.ack_due_at,
                        k.answer_due_at,
                        steps.join(",")
                    )
                });
                s.chain(k).collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn completed_jobs_leave_surveys_and_now_and_then_a_complaint() {
        let p = plan(3);
        let a = p.batch(0).unwrap();
        let done: Vec<&NewOrder> = a.iter().filter(|o| o.completed_at.is_some()).collect();
        assert!(done.len() > 8_000, "{}", done.len());
        assert!(a.iter().filter(|o| o.completed_at.is_none()).all(|o| o.surveys.is_empty() && o.complaints.is_empty()));
        let mut jobs = vec![];
        for o in &done {
            let kinds: Vec<&str> = o.surveys.iter().map(|s| s.kind).collect();
            assert_eq!(kinds, if o.rating.is_some() { vec!["job", "on_site"] } else { vec!["job"] });
            let job = &o.surveys[0];
            assert_eq!(job.created_at, o.completed_at.unwrap());
            if let Some(at) = job.answered_at {
                assert!(at > job.created_at && at <= p.now);
                assert!(
                    [job.timeliness, job.attitude, job.quality].iter().all(|s| s.is_some_and(|s| (1..=5).contains(&s)))
                );
            }
            if let Some(r) = o.surveys.get(1) {
                assert_eq!((r.overall, r.answered_at), (o.rating, o.completed_at));
            }
            jobs.push(job);
        }
        let answered: Vec<i32> = jobs.iter().filter_map(|s| s.overall).collect();
        let pct = |n: usize, of: usize| n * 100 / of.max(1);
        assert!((55..=65).contains(&pct(answered.len(), jobs.len())), "answered {}", pct(answered.len(), jobs.len()));
        let share = |score: i32| pct(answered.iter().filter(|&&s| s == score).count(), answered.len());
        assert!((50..=60).contains(&share(5)) && (26..=34).contains(&share(4)), "5: {} %, 4: {} %", share(5), share(4));
        assert!((4..=11).contains(&(share(1) + share(2))), "low scores {} %", share(1) + share(2));
        let tokens: HashSet<&str> = a.iter().flat_map(|o| o.surveys.iter().map(|s| s.token.as_str())).collect();
        assert_eq!(tokens.len(), a.iter().map(|o| o.surveys.len()).sum::<usize>());
        assert!(
            tokens.iter().all(|t| t.len() == 32 && t.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        );

        // Complaints follow the flow: registered first, each step later, the status of the last.
        let all: Vec<&NewComplaint> = a.iter().flat_map(|o| &o.complaints).collect();
        let complaints = all.iter().filter(|k| k.kind == "complaint").count();
        assert!((50..=150).contains(&complaints), "about 1 % of {} jobs: {complaints}", done.len());
        assert!(all.iter().any(|k| k.kind == "praise") && all.iter().any(|k| k.kind == "suggestion"));
        for k in &all {
            assert_eq!(k.events[0].action, "register");
            assert_eq!(k.events[0].detail, format!("{}:{}", k.severity, k.department));
            assert!(k.events.windows(2).all(|w| w[0].at <= w[1].at) && k.received_at <= k.events[0].at);
            assert_eq!(k.events.last().unwrap().status_to, k.status);
            assert!(k.events.last().unwrap().at <= p.now);
            assert_eq!(k.closed_at.is_some(), k.status == "closed");
            if k.kind == "complaint" {
                assert_eq!(k.department, if k.severity == "major" { "quality" } else { "service" });
                assert!(k.ack_due_at.is_some_and(|d| d > k.received_at) && k.answer_due_at > k.ack_due_at);
                if k.status == "closed" {
                    let actions: Vec<&str> = k.events.iter().map(|e| e.action).collect();
                    assert!(actions.starts_with(&["register", "contact"]) && actions.ends_with(&["answer", "accept"]));
                    assert_eq!(k.answered_on, k.answered_at.map(local_day));
                    assert_eq!(k.accepted, Some(true));
                }
            } else {
                assert_eq!((k.severity, k.department, k.ack_due_at), ("general", "service", None));
            }
        }
        let closed = all.iter().filter(|k| k.status == "closed").count();
        assert!(closed * 10 >= all.len() * 8, "older ones are closed: {closed} of {}", all.len());

        // The seed decides everything but the tokens.
        let b = p.batch(0).unwrap();
        assert_eq!(key(&a), key(&b));
        assert!(
            a[..100].iter().zip(&b).all(|(x, y)| x.surveys.iter().zip(&y.surveys).all(|(s, t)| s.token != t.token))
        );
        assert_ne!(key(&a), key(&plan(4).batch(0).unwrap()));
    }
}
