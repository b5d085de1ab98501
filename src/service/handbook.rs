//! The service handbook (售后服务手册, R10.2): philosophy, commitments, the year's objectives,
//! the process–department responsibility matrix and its revision history, kept in the system
//! and printable. The service manager (管理者代表) drafts a revision; the general manager issues
//! it (颁布), which numbers it, freezes the approved objectives of its year into it and keeps it
//! unchanged. What a draft needs before it is issued is `rules::handbook`.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rules::FieldError;
use rules::handbook::{self, Chapter, Matrix, Problem};
use serde::{Deserialize, Serialize};

use super::{Actor, audit};
use crate::db::Db;
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::store;
use crate::store::handbook::{Content, Issue, Revision};

const MAX_TITLE: usize = 200;
const MAX_BODY: usize = 20_000;
const MAX_ROWS: usize = 60;
const MAX_NAME: usize = 100;

/// Everyone at work reads the handbook (it is what they work to).
fn may_read(actor: &Actor) -> bool {
    !actor.roles.is_empty()
}

/// The management representative (service manager) drafts; the general manager may too.
pub fn may_edit(actor: &Actor) -> bool {
    actor.roles.iter().any(|r| matches!(r, Role::GeneralManager | Role::ServiceManager))
}

/// Only the general manager puts a revision into force (seed 000: 颁布令, 总经理批准).
pub fn may_issue(actor: &Actor) -> bool {
    actor.roles.contains(&Role::GeneralManager)
}

/// A chapter's text.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChapterText {
    /// rules::handbook::Chapter code (promulgation, philosophy, commitments, …).
    pub code: String,
    /// The heading; empty takes the chapter's standard name.
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: String,
}

/// An approved objective as the revision froze it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FrozenObjective {
    pub year: i32,
    pub metric: String,
    pub name_zh: String,
    pub name_en: String,
    pub department: String,
    pub target: f64,
    /// percent | count | yuan
    pub unit: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RevisionView {
    pub id: i64,
    /// draft | issued
    pub status: String,
    pub revision_no: Option<i64>,
    pub title: String,
    /// Every chapter in the handbook's order (unwritten ones with an empty body).
    pub chapters: Vec<ChapterText>,
    /// {departments: [name], processes: [{name, cells: [approve | lead | support | null]}]}
    #[schema(value_type = Object)]
    pub matrix: Matrix,
    /// Frozen at issue; a draft shows the approved objectives of the current year.
    pub objectives: Vec<FrozenObjective>,
    pub change_summary: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub effective_on: Option<NaiveDate>,
    pub drafted_by_name: String,
    pub drafted_at: DateTime<Utc>,
    pub issued_by_name: String,
    pub issued_at: Option<DateTime<Utc>>,
    pub version: i64,
}

/// One line of the revision history (手册修改记录).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryLine {
    pub revision_no: i64,
    pub change_summary: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub effective_on: Option<NaiveDate>,
    pub drafted_by_name: String,
    pub issued_by_name: String,
    pub issued_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HandbookView {
    /// The revision in force: the newest issued whose effective date has come.
    pub current: Option<RevisionView>,
    /// A revision issued to take effect later, if any.
    pub upcoming: Option<RevisionView>,
    /// The draft being prepared, for those who may edit or issue it.
    pub draft: Option<RevisionView>,
    pub history: Vec<HistoryLine>,
    /// What keeps the draft from being issued now (empty when it may be issued): field and
    /// message in both languages.
    #[schema(value_type = Vec<Object>)]
    pub draft_problems: Vec<FieldError>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct DraftInput {
    /// The draft's version when editing it; absent to start a draft (from the revision in force).
    pub version: Option<i64>,
    pub title: String,
    #[serde(default)]
    pub chapters: Vec<ChapterText>,
    #[schema(value_type = Object)]
    pub matrix: Matrix,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct IssueInput {
    pub version: i64,
    pub change_summary: String,
    /// Default: today.
    #[schema(value_type = Option<String>, format = Date)]
    pub effective_on: Option<NaiveDate>,
}

fn chapters_of(json: &str) -> Vec<ChapterText> {
    let stored: Vec<ChapterText> = serde_json::from_str(json).unwrap_or_default();
    Chapter::ALL
        .iter()
        .map(|c| {
            let s = stored.iter().find(|s| s.code == c.code());
            ChapterText {
                code: c.code().into(),
                title: s.map(|s| s.title.clone()).filter(|t| !t.trim().is_empty()).unwrap_or(c.name_zh().into()),
                body: s.map(|s| s.body.clone()).unwrap_or_default(),
            }
        })
        .collect()
}

fn view(r: Revision, live_objectives: Option<&[FrozenObjective]>) -> RevisionView {
    let objectives = match live_objectives {
        Some(list) => list.to_vec(),
        None => serde_json::from_str(&r.objectives).unwrap_or_default(),
    };
    RevisionView {
        id: r.id,
        chapters: chapters_of(&r.chapters),
        matrix: serde_json::from_str(&r.matrix).unwrap_or_default(),
        objectives,
        status: r.status,
        revision_no: r.revision_no,
        title: r.title,
        change_summary: r.change_summary,
        effective_on: r.effective_on,
        drafted_by_name: r.drafted_by_name,
        drafted_at: r.drafted_at,
        issued_by_name: r.issued_by_name,
        issued_at: r.issued_at,
        version: r.version,
    }
}

/// The approved objectives of `year`, as the handbook quotes them.
async fn approved_objectives(c: crate::db::Conn<'_>, year: i32) -> AppResult<Vec<FrozenObjective>> {
    let list = store::objectives::of_year(c, year).await?;
    Ok(list
        .into_iter()
        .filter(|o| o.status == "approved")
        .filter_map(|o| {
            let m = rules::metrics::Metric::parse(&o.metric)?;
            let unit = match m.unit() {
                rules::metrics::Unit::Percent => "percent",
                rules::metrics::Unit::Count => "count",
                rules::metrics::Unit::Yuan => "yuan",
            };
            Some(FrozenObjective {
                year: o.year,
                metric: o.metric,
                name_zh: m.name_zh().into(),
                name_en: m.name_en().into(),
                department: o.department,
                target: o.target,
                unit: unit.into(),
            })
        })
        .collect())
}

fn problems_of(draft: &RevisionView, change_summary: &str) -> Vec<Problem> {
    let chapters: Vec<(Chapter, &str)> =
        draft.chapters.iter().filter_map(|c| Some((Chapter::parse(&c.code)?, c.body.as_str()))).collect();
    handbook::check_issue(&chapters, &draft.matrix, change_summary)
}

fn field_errors(problems: &[Problem]) -> Vec<FieldError> {
    problems.iter().map(|p| FieldError::new(p.field(), p.message("zh-CN"), p.message("en"))).collect()
}

/// The handbook in force, the draft (for its editors) and the revision history.
pub async fn get(db: &Db, actor: &Actor) -> AppResult<HandbookView> {
    if !may_read(actor) {
        return Err(AppError::Forbidden);
    }
    let mut c = db.read().await?;
    let issued = store::handbook::issued(c.conn()).await?;
    let history = issued
        .iter()
        .map(|r| HistoryLine {
            revision_no: r.revision_no.unwrap_or_default(),
            change_summary: r.change_summary.clone(),
            effective_on: r.effective_on,
            drafted_by_name: r.drafted_by_name.clone(),
            issued_by_name: r.issued_by_name.clone(),
            issued_at: r.issued_at,
        })
        .collect();
    let today = super::work_orders::today();
    let (mut current, mut upcoming) = (None, None);
    for r in issued {
        if r.effective_on.is_none_or(|d| d <= today) {
            current = Some(view(r, None));
            break;
        }
        upcoming.get_or_insert_with(|| view(r, None));
    }
    let (draft, draft_problems) = if may_edit(actor) {
        match store::handbook::draft(c.conn()).await? {
            Some(d) => {
                let live = approved_objectives(c.conn(), today.year()).await?;
                let d = view(d, Some(&live));
                // The summary is asked for when issuing; list only what the text lacks.
                let problems = field_errors(
                    &problems_of(&d, "-").into_iter().filter(|p| *p != Problem::NoChangeSummary).collect::<Vec<_>>(),
                );
                (Some(d), problems)
            }
            None => (None, vec![]),
        }
    } else {
        (None, vec![])
    };
    Ok(HandbookView { current, upcoming, draft, history, draft_problems })
}

/// One issued revision.
pub async fn revision(db: &Db, actor: &Actor, no: i64) -> AppResult<RevisionView> {
    if !may_read(actor) {
        return Err(AppError::Forbidden);
    }
    let mut c = db.read().await?;
    let r = store::handbook::by_no(c.conn(), no).await?.ok_or(AppError::NotFound)?;
    Ok(view(r, None))
}

/// Validates a draft's content field by field and gives it back cleaned, as stored JSON.
fn clean(input: &DraftInput) -> AppResult<(String, String, String)> {
    let mut errors = vec![];
    let title = input.title.trim().to_string();
    if title.is_empty() {
        errors.push(field_error("title", "error.required"));
    } else if title.chars().count() > MAX_TITLE {
        errors.push(field_error("title", "error.too_long"));
    }
    let mut chapters = vec![];
    for ch in &input.chapters {
        let Some(code) = Chapter::parse(&ch.code) else {
            errors.push(field_error(&format!("chapters.{}", ch.code), "handbook.error.chapter"));
            continue;
        };
        if ch.body.chars().count() > MAX_BODY || ch.title.chars().count() > MAX_TITLE {
            errors.push(field_error(&format!("chapters.{}", code.code()), "error.too_long"));
        }
        if chapters.iter().any(|c: &ChapterText| c.code == code.code()) {
            errors.push(field_error(&format!("chapters.{}", code.code()), "handbook.error.chapter_twice"));
        }
        chapters.push(ChapterText { code: code.code().into(), title: ch.title.trim().into(), body: ch.body.clone() });
    }
    let m = &input.matrix;
    let names = m.departments.iter().chain(m.processes.iter().map(|p| &p.name));
    if m.departments.len() > MAX_ROWS || m.processes.len() > MAX_ROWS {
        errors.push(field_error("matrix", "handbook.error.matrix_size"));
    }
    if names.clone().any(|n| n.trim().is_empty()) {
        errors.push(field_error("matrix", "handbook.error.matrix_blank"));
    }
    if names.clone().any(|n| n.chars().count() > MAX_NAME) {
        errors.push(field_error("matrix", "error.too_long"));
    }
    if m.processes.iter().any(|p| p.cells.len() != m.departments.len()) {
        errors.push(field_error("matrix", "handbook.error.matrix_cells"));
    }
    AppError::check(errors)?;
    let matrix = Matrix {
        departments: m.departments.iter().map(|d| d.trim().to_string()).collect(),
        processes: m
            .processes
            .iter()
            .map(|p| handbook::Process { name: p.name.trim().into(), cells: p.cells.clone() })
            .collect(),
    };
    let json = |r: serde_json::Result<String>| r.map_err(|e| AppError::Internal(e.into()));
    Ok((title, json(serde_json::to_string(&chapters))?, json(serde_json::to_string(&matrix))?))
}

/// The name a revision records for the actor: the user's display name, not his login.
async fn name_of(c: crate::db::Conn<'_>, actor: &Actor) -> AppResult<String> {
    let user = match actor.user_id {
        Some(id) => store::users::get(c, id).await?,
        None => None,
    };
    Ok(user.map_or_else(|| actor.label.clone(), |u| u.display_name))
}

/// Starts a draft (no `version`) or saves the one being edited (over its `version`, 409 when
/// stale). A draft may be incomplete; it is checked when issued.
pub async fn save_draft(db: &Db, actor: &Actor, input: &DraftInput) -> AppResult<RevisionView> {
    if !may_edit(actor) {
        return Err(AppError::Forbidden);
    }
    let (title, chapters, matrix) = clean(input)?;
    let content = Content { title: &title, chapters: &chapters, matrix: &matrix };
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = store::handbook::draft(tx.conn()).await?;
    let name = name_of(tx.conn(), actor).await?;
    let id = match (&before, input.version) {
        (Some(d), Some(v)) => {
            if !store::handbook::update_draft(tx.conn(), d.id, v, &content, actor.user_id, &name, now).await? {
                return Err(AppError::Conflict("error.stale"));
            }
            d.id
        }
        // Someone started a draft meanwhile, or the draft edited was issued or discarded.
        (Some(_), None) | (None, Some(_)) => return Err(AppError::Conflict("handbook.error.draft_changed")),
        (None, None) => store::handbook::insert_draft(tx.conn(), &content, actor.user_id, &name, now)
            .await?
            .ok_or(AppError::Conflict("handbook.error.draft_changed"))?,
    };
    let after = store::handbook::draft(tx.conn()).await?.ok_or(AppError::NotFound)?;
    let after = view(after, Some(&[]));
    let before = before.map(|b| view(b, Some(&[])));
    let action = if before.is_some() { "update" } else { "create" };
    audit::record(&mut tx, actor, now, action, "handbook_draft", &id.to_string(), before.as_ref(), Some(&after))
        .await?;
    tx.commit().await?;
    Ok(after)
}

/// Issues the draft (general manager): checks it is complete, numbers it, freezes the approved
/// objectives of the effective year into it.
pub async fn issue(db: &Db, actor: &Actor, input: &IssueInput) -> AppResult<RevisionView> {
    if !may_issue(actor) {
        return Err(AppError::Forbidden);
    }
    let now = Utc::now();
    let effective_on = input.effective_on.unwrap_or_else(super::work_orders::today);
    let mut tx = db.begin().await?;
    let draft = store::handbook::draft(tx.conn()).await?.ok_or(AppError::Conflict("handbook.error.no_draft"))?;
    if draft.version != input.version {
        return Err(AppError::Conflict("error.stale"));
    }
    let before = view(draft.clone(), Some(&[]));
    let mut errors = field_errors(&problems_of(&before, &input.change_summary));
    if input.change_summary.chars().count() > MAX_BODY {
        errors.push(field_error("change_summary", "error.too_long"));
    }
    AppError::check(errors)?;
    let objectives = approved_objectives(tx.conn(), effective_on.year()).await?;
    let objectives = serde_json::to_string(&objectives).unwrap_or_else(|_| "[]".into());
    let no = handbook::next_revision(store::handbook::last_no(tx.conn()).await?);
    let name = name_of(tx.conn(), actor).await?;
    let i = Issue {
        revision_no: no,
        objectives: &objectives,
        change_summary: input.change_summary.trim(),
        effective_on,
        by: actor.user_id,
        by_name: &name,
    };
    if !store::handbook::issue(tx.conn(), draft.id, input.version, &i, now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    let after = view(store::handbook::by_no(tx.conn(), no).await?.ok_or(AppError::NotFound)?, None);
    audit::record(&mut tx, actor, now, "issue", "handbook", &no.to_string(), Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

/// Throws the draft away (over its `version`).
pub async fn discard(db: &Db, actor: &Actor, version: i64) -> AppResult<()> {
    if !may_edit(actor) {
        return Err(AppError::Forbidden);
    }
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let draft = store::handbook::draft(tx.conn()).await?.ok_or(AppError::Conflict("handbook.error.no_draft"))?;
    if !store::handbook::discard(tx.conn(), draft.id, version).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    let before = view(draft, Some(&[]));
    audit::record::<_, ()>(
        &mut tx,
        actor,
        now,
        "delete",
        "handbook_draft",
        &before.id.to_string(),
        Some(&before),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The content a first draft starts from: the revision in force, or the standard chapters with
/// the seeds' philosophy and commitments and a matrix of the usual processes and departments.
pub async fn starting_content(db: &Db) -> AppResult<DraftInput> {
    let mut c = db.read().await?;
    if let Some(r) = store::handbook::issued(c.conn()).await?.into_iter().next() {
        let v = view(r, None);
        return Ok(DraftInput { version: None, title: v.title, chapters: v.chapters, matrix: v.matrix });
    }
    Ok(template())
}

/// The standard handbook a company starts from (its own words replace these).
pub fn template() -> DraftInput {
    use rules::handbook::Duty::{Approve as A, Lead as L, Support as S};
    let text = |c: Chapter| -> &'static str {
        match c {
            Chapter::Promulgation => {
                "本手册依据 GB/T 27922《商品售后服务评价体系》编制，规定了本公司的售后服务理念、承诺、目标、组织职责和服务过程要求，是公司售后服务工作的纲领性文件。现予颁布，自生效之日起全体员工遵照执行。"
            }
            Chapter::Appointment => {
                "任命服务部经理为管理者代表，负责售后服务体系的建立、实施和持续改进，向总经理报告体系运行情况，并就服务体系有关事宜与外部联络。"
            }
            Chapter::About => {
                "本手册由服务部（管理者代表）组织编写，总经理批准颁布。手册的修改须填写修订内容，经总经理批准后以新版次发布；旧版次留存备查。"
            }
            Chapter::Philosophy => "顾客第一，质量第一。提供质量超过国家标准的产品，提供客户想要得到的服务。",
            Chapter::Commitments => {
                "对顾客提出的要求反映快，解决问题效率高，达到顾客满意：上班时间内 1 小时内答复顾客反馈；按约定时间上门服务；严格执行国家三包规定。"
            }
            Chapter::Complaints => {
                "投诉按级别处理：重大投诉转质量部，一般投诉由服务部处理；在承诺期限内给予书面或电话答复，并记录顾客对处理结果的意见。"
            }
            Chapter::Customers => {
                "建立客户档案，按客户类别定期回访：A 类每周、B 类每月、C 类至少每半年；重要客户至少每半年、长期客户至少每年回访一次。"
            }
            Chapter::Improvement => {
                "每季度分析维修内容和顾客意见，对主要问题开立纠正措施并验证效果；每年评审服务目标和承诺。"
            }
            _ => "",
        }
    };
    let chapters = Chapter::ALL
        .iter()
        .map(|c| ChapterText { code: c.code().into(), title: c.name_zh().into(), body: text(*c).into() })
        .collect();
    let departments = ["总经理", "服务部", "质量部", "售后仓库", "销售部"];
    let rows: [(&str, [Option<rules::handbook::Duty>; 5]); 9] = [
        ("服务理念与承诺", [Some(A), Some(L), Some(S), None, Some(S)]),
        ("服务目标的制定与考核", [Some(A), Some(L), Some(S), Some(S), Some(S)]),
        ("来电来函登记与派工", [None, Some(L), None, None, Some(S)]),
        ("配送与安装", [None, Some(L), None, Some(S), Some(S)]),
        ("维修服务", [None, Some(L), Some(S), Some(S), None]),
        ("配件供应", [None, Some(S), None, Some(L), None]),
        ("顾客投诉处理", [Some(A), Some(L), Some(S), None, Some(S)]),
        ("回访与满意度调查", [None, Some(L), None, None, Some(S)]),
        ("服务改进与纠正措施", [Some(A), Some(S), Some(L), None, None]),
    ];
    let matrix = Matrix {
        departments: departments.iter().map(|d| d.to_string()).collect(),
        processes: rows.iter().map(|(n, c)| handbook::Process { name: n.to_string(), cells: c.to_vec() }).collect(),
    };
    DraftInput { version: None, title: "售后服务手册".into(), chapters, matrix }
}
