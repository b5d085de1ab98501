//! The service handbook (售后服务手册, R10.2): the chapters seed 000's handbook is made of, the
//! process–department responsibility matrix (售后服务体系过程职责分配表) and what a revision
//! needs before the general manager may issue it (手册修改控制). The text itself is the
//! company's; these rules only decide whether a draft is complete and consistent.

use serde::{Deserialize, Serialize};

coded!(
    /// A chapter of the handbook, in the order of seed 000's table of contents. The objectives
    /// and the responsibility matrix are chapters of their own, kept as data (not text).
    Chapter {
        /// 颁布令: the general manager puts the handbook into force.
        Promulgation = "promulgation", "颁布令", "Promulgation";
        /// 任命书: the management representative (管理者代表) and his authority.
        Appointment = "appointment", "任命书", "Appointment of the management representative";
        About = "about", "手册说明", "About this handbook";
        Company = "company", "公司概况", "The company";
        Organisation = "organisation", "组织架构", "Organisation";
        /// 服务文化 with the service philosophy (服务理念) the general manager approved.
        Philosophy = "philosophy", "服务文化与服务理念", "Service culture and philosophy";
        Commitments = "commitments", "服务承诺", "Service commitments";
        Strategy = "strategy", "服务策略", "Service strategy";
        Regime = "regime", "服务制度", "Service rules";
        System = "system", "服务体系", "Service system";
        Delivery = "delivery", "配送与安装", "Delivery and installation";
        Repair = "repair", "维修服务", "Repair service";
        Complaints = "complaints", "客户投诉", "Customer complaints";
        Customers = "customers", "客户管理", "Customer management";
        Improvement = "improvement", "服务改进", "Service improvement";
    }
);

coded!(
    /// What a department does in a process of the responsibility matrix.
    Duty {
        /// 批准: decides or approves (the general manager approves objectives and commitments).
        Approve = "approve", "批准", "approves";
        /// 主责 (●): carries the process and answers for it.
        Lead = "lead", "主责", "leads";
        /// 协助 (○): takes part.
        Support = "support", "协助", "supports";
    }
);

impl Chapter {
    /// The chapters R10.2 names: a handbook without them is not issued.
    pub const fn required(self) -> bool {
        matches!(self, Chapter::Philosophy | Chapter::Commitments)
    }
}

impl Duty {
    pub const fn symbol(self) -> &'static str {
        match self {
            Duty::Approve => "△",
            Duty::Lead => "●",
            Duty::Support => "○",
        }
    }
}

/// One process (row) of the matrix: its duty per department, in the departments' order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    pub name: String,
    pub cells: Vec<Option<Duty>>,
}

/// The process–department responsibility matrix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matrix {
    pub departments: Vec<String>,
    pub processes: Vec<Process>,
}

/// Why a draft may not be issued yet. Each names the rule and the field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A chapter R10.2 requires is empty.
    MissingChapter(Chapter),
    NoDepartments,
    NoProcesses,
    DuplicateDepartment(String),
    DuplicateProcess(String),
    /// Every process has exactly one department that leads it (no gap, no shared blame).
    NoLead(String),
    SeveralLeads {
        process: String,
        departments: Vec<String>,
    },
    /// A revision says what changed (手册修改控制); the first issue says "first issue".
    NoChangeSummary,
}

pub const RULE: &str = "R10.2 售后服务手册 / service handbook";

impl Problem {
    /// The form field the problem belongs to.
    pub fn field(&self) -> String {
        match self {
            Problem::MissingChapter(c) => format!("chapters.{}", c.code()),
            Problem::NoChangeSummary => "change_summary".into(),
            _ => "matrix".into(),
        }
    }

    pub fn message(&self, locale: &str) -> String {
        let en = locale.starts_with("en");
        match self {
            Problem::MissingChapter(c) if en => format!("The chapter “{}” must be written ({RULE}).", c.name_en()),
            Problem::MissingChapter(c) => format!("“{}”一章不能为空（{RULE}）。", c.name_zh()),
            Problem::NoDepartments if en => format!("The responsibility matrix names no department ({RULE})."),
            Problem::NoDepartments => format!("职责分配表没有部门（{RULE}）。"),
            Problem::NoProcesses if en => format!("The responsibility matrix names no process ({RULE})."),
            Problem::NoProcesses => format!("职责分配表没有过程（{RULE}）。"),
            Problem::DuplicateDepartment(d) if en => format!("The department “{d}” appears twice in the matrix."),
            Problem::DuplicateDepartment(d) => format!("部门“{d}”在职责分配表中重复。"),
            Problem::DuplicateProcess(p) if en => format!("The process “{p}” appears twice in the matrix."),
            Problem::DuplicateProcess(p) => format!("过程“{p}”在职责分配表中重复。"),
            Problem::NoLead(p) if en => format!("No department leads the process “{p}”: mark exactly one ● ({RULE})."),
            Problem::NoLead(p) => format!("过程“{p}”没有主责部门：须恰好标一个●（{RULE}）。"),
            Problem::SeveralLeads { process, departments } if en => format!(
                "The process “{process}” has several leading departments ({}): exactly one leads ({RULE}).",
                departments.join(", ")
            ),
            Problem::SeveralLeads { process, departments } => {
                format!("过程“{process}”有多个主责部门（{}）：只能有一个（{RULE}）。", departments.join("、"))
            }
            Problem::NoChangeSummary if en => {
                "Say what this revision changes (handbook revision control, 手册修改控制).".into()
            }
            Problem::NoChangeSummary => "请填写本次修订的内容（手册修改控制）。".into(),
        }
    }
}

/// What is wrong with the matrix, in the order a reader would fix it.
pub fn check_matrix(m: &Matrix) -> Vec<Problem> {
    let mut out = vec![];
    if m.departments.is_empty() {
        out.push(Problem::NoDepartments);
    }
    if m.processes.is_empty() {
        out.push(Problem::NoProcesses);
    }
    for (i, d) in m.departments.iter().enumerate() {
        if m.departments[..i].contains(d) {
            out.push(Problem::DuplicateDepartment(d.clone()));
        }
    }
    for (i, p) in m.processes.iter().enumerate() {
        if m.processes[..i].iter().any(|q| q.name == p.name) {
            out.push(Problem::DuplicateProcess(p.name.clone()));
        }
        let leads: Vec<String> = p
            .cells
            .iter()
            .zip(&m.departments)
            .filter(|(c, _)| **c == Some(Duty::Lead))
            .map(|(_, d)| d.clone())
            .collect();
        match leads.len() {
            0 => out.push(Problem::NoLead(p.name.clone())),
            1 => {}
            _ => out.push(Problem::SeveralLeads { process: p.name.clone(), departments: leads }),
        }
    }
    out
}

/// Everything that keeps a draft from being issued: required chapters, the matrix, the change
/// summary. `chapters` holds each written chapter's text.
pub fn check_issue(chapters: &[(Chapter, &str)], matrix: &Matrix, change_summary: &str) -> Vec<Problem> {
    let mut out: Vec<Problem> = Chapter::ALL
        .iter()
        .filter(|c| c.required())
        .filter(|c| !chapters.iter().any(|(k, body)| k == *c && !body.trim().is_empty()))
        .map(|c| Problem::MissingChapter(*c))
        .collect();
    out.extend(check_matrix(matrix));
    if change_summary.trim().is_empty() {
        out.push(Problem::NoChangeSummary);
    }
    out
}

/// The number the next issued revision gets: one after the last, the first is 1.
pub fn next_revision(last: Option<i64>) -> i64 {
    last.map_or(1, |n| n + 1)
}

/// The matrix re-laid on new department and process lists (as a user edits them): a cell
/// follows its department and process by name, new rows and columns start empty, and dropped
/// ones disappear.
pub fn relayout(old: &Matrix, departments: Vec<String>, processes: Vec<String>) -> Matrix {
    let processes = processes
        .into_iter()
        .map(|name| {
            let before = old.processes.iter().find(|p| p.name == name);
            let cells = departments
                .iter()
                .map(|d| {
                    let col = old.departments.iter().position(|x| x == d)?;
                    before.and_then(|p| p.cells.get(col).copied().flatten())
                })
                .collect();
            Process { name, cells }
        })
        .collect();
    Matrix { departments, processes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(rows: &[(&str, &[Option<Duty>])]) -> Matrix {
        Matrix {
            departments: vec!["总经理".into(), "服务部".into(), "质量部".into()],
            processes: rows.iter().map(|(n, c)| Process { name: (*n).into(), cells: c.to_vec() }).collect(),
        }
    }

    const A: Option<Duty> = Some(Duty::Approve);
    const L: Option<Duty> = Some(Duty::Lead);
    const S: Option<Duty> = Some(Duty::Support);

    #[test]
    fn a_complete_matrix_has_no_problem() {
        let m = matrix(&[("服务目标", &[A, L, S]), ("投诉处理", &[None, L, S])]);
        assert!(check_matrix(&m).is_empty());
    }

    #[test]
    fn every_process_needs_exactly_one_lead() {
        let m = matrix(&[("服务目标", &[A, S, S]), ("投诉处理", &[None, L, L])]);
        let p = check_matrix(&m);
        assert_eq!(p[0], Problem::NoLead("服务目标".into()));
        assert_eq!(
            p[1],
            Problem::SeveralLeads {
                process: "投诉处理".into(), departments: vec!["服务部".into(), "质量部".into()]
            }
        );
        assert!(p[1].message("zh-CN").contains("服务部、质量部"));
        assert!(p[0].message("en").contains("R10.2"));
        assert_eq!(p[0].field(), "matrix");
    }

    #[test]
    fn empty_and_duplicate_rows_are_named() {
        let empty = Matrix::default();
        assert_eq!(check_matrix(&empty), vec![Problem::NoDepartments, Problem::NoProcesses]);
        let mut m = matrix(&[("回访", &[None, L, None]), ("回访", &[None, L, None])]);
        m.departments[2] = "服务部".into();
        let p = check_matrix(&m);
        assert!(p.contains(&Problem::DuplicateDepartment("服务部".into())));
        assert!(p.contains(&Problem::DuplicateProcess("回访".into())));
    }

    #[test]
    fn issuing_needs_philosophy_commitments_and_a_summary() {
        let m = matrix(&[("服务目标", &[A, L, S])]);
        let p = check_issue(&[(Chapter::Philosophy, "顾客第一"), (Chapter::Commitments, "  ")], &m, "");
        assert_eq!(p, vec![Problem::MissingChapter(Chapter::Commitments), Problem::NoChangeSummary]);
        assert_eq!(p[0].field(), "chapters.commitments");
        assert_eq!(p[1].field(), "change_summary");
        let ok =
            check_issue(&[(Chapter::Philosophy, "顾客第一"), (Chapter::Commitments, "24小时上门")], &m, "首次发布");
        assert!(ok.is_empty());
    }

    #[test]
    fn revisions_are_numbered_from_one() {
        assert_eq!(next_revision(None), 1);
        assert_eq!(next_revision(Some(3)), 4);
    }

    #[test]
    fn relayout_keeps_cells_by_name() {
        let m = matrix(&[("服务目标", &[A, L, S]), ("投诉处理", &[None, L, S])]);
        let n = relayout(
            &m,
            vec!["质量部".into(), "服务部".into(), "仓库".into()],
            vec!["投诉处理".into(), "配件供应".into()],
        );
        assert_eq!(n.processes[0].cells, vec![S, L, None]);
        assert_eq!(n.processes[1].cells, vec![None, None, None]);
        assert_eq!(n.processes.len(), 2);
    }
}
