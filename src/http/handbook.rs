//! The service handbook pages (R10.2): the revision in force with its history, the printable
//! handbook of any revision, the draft's editor (chapters and the responsibility matrix) and
//! the general manager's issue form; and the JSON API.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rules::FieldError;
use rules::handbook::{Chapter, Duty, Matrix, Process};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use super::api::{ApiJson, ApiQuery};
use super::web::{FormData, FormErrors, Layout, render, render_status};
use super::{AppState, Ctx};
use crate::error::{AppError, AppResult};
use crate::service::handbook::{
    self as svc, ChapterText, DraftInput, FrozenObjective, HandbookView, HistoryLine, IssueInput, RevisionView,
};
use crate::service::work_orders::today;

#[derive(OpenApi)]
#[openapi(
    paths(api_get, api_revision, api_save_draft, api_issue, api_discard),
    components(schemas(HandbookView, RevisionView, HistoryLine, ChapterText, FrozenObjective, DraftInput, IssueInput)),
    tags((name = "handbook", description = "The service handbook and its revisions (R10.2)"))
)]
pub struct ApiDoc;

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/handbook", get(api_get))
        .route("/handbook/revisions/{no}", get(api_revision))
        .route("/handbook/draft", axum::routing::put(api_save_draft).delete(api_discard))
        .route("/handbook/draft/issue", post(api_issue))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/handbook", get(handbook_page))
        .route("/handbook/edit", get(edit_page).post(edit_submit))
        .route("/handbook/issue", post(issue_submit))
        .route("/handbook/discard", post(discard_submit))
        .route("/handbook/draft", get(draft_print))
        .route("/handbook/revisions/{no}", get(revision_print))
}

// ------------------------------------------------------------------ API

/// The handbook in force, the draft (for the service and general managers) with what keeps it
/// from being issued, and the revision history.
#[utoipa::path(get, path = "/api/v1/handbook", responses((status = 200, body = HandbookView)), tag = "handbook")]
async fn api_get(State(st): State<AppState>, ctx: Ctx) -> AppResult<axum::Json<HandbookView>> {
    Ok(axum::Json(svc::get(&st.db, &ctx.actor()?).await?))
}

/// One issued revision, as it was issued.
#[utoipa::path(get, path = "/api/v1/handbook/revisions/{no}",
    responses((status = 200, body = RevisionView), (status = 404)), tag = "handbook")]
async fn api_revision(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(no): Path<i64>,
) -> AppResult<axum::Json<RevisionView>> {
    Ok(axum::Json(svc::revision(&st.db, &ctx.actor()?, no).await?))
}

/// Starts the draft (without `version`) or saves it over its `version` (409 when stale).
#[utoipa::path(put, path = "/api/v1/handbook/draft", request_body = DraftInput,
    responses((status = 200, body = RevisionView), (status = 403), (status = 409), (status = 422)), tag = "handbook")]
async fn api_save_draft(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiJson(input): ApiJson<DraftInput>,
) -> AppResult<axum::Json<RevisionView>> {
    Ok(axum::Json(svc::save_draft(&st.db, &ctx.actor()?, &input).await?))
}

/// Issues the draft as the next revision (general manager); 422 names every missing piece.
#[utoipa::path(post, path = "/api/v1/handbook/draft/issue", request_body = IssueInput,
    responses((status = 201, body = RevisionView), (status = 403), (status = 409), (status = 422)), tag = "handbook")]
async fn api_issue(State(st): State<AppState>, ctx: Ctx, ApiJson(input): ApiJson<IssueInput>) -> AppResult<Response> {
    let r = svc::issue(&st.db, &ctx.actor()?, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(r)).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct VersionParam {
    /// The draft's version.
    version: i64,
}

/// Throws the draft away.
#[utoipa::path(delete, path = "/api/v1/handbook/draft", params(VersionParam),
    responses((status = 204), (status = 403), (status = 409)), tag = "handbook")]
async fn api_discard(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<VersionParam>,
) -> AppResult<StatusCode> {
    svc::discard(&st.db, &ctx.actor()?, p.version).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------------ pages

/// What the handbook's templates show, shared by the overview and the printed document.
pub trait HandbookLabels {
    fn layout(&self) -> &Layout;

    fn duty(&self, d: &Option<Duty>) -> &'static str {
        d.map(|d| d.symbol()).unwrap_or("")
    }
    fn duty_name(&self, d: &Duty) -> &'static str {
        d.name(self.layout().locale)
    }
    fn duties(&self) -> &'static [Duty] {
        Duty::ALL
    }
    fn objective_name(&self, o: &FrozenObjective) -> String {
        if self.layout().locale == "en" { o.name_en.clone() } else { o.name_zh.clone() }
    }
    fn objective_target(&self, o: &FrozenObjective) -> String {
        match o.unit.as_str() {
            "percent" => format!("{}%", o.target),
            "yuan" => format!("¥{}", o.target),
            _ => o.target.to_string(),
        }
    }
    fn department_name(&self, code: &str) -> String {
        self.layout().t(&format!("objective.department_{code}"))
    }
    /// Chapters worth printing (written ones).
    fn written<'a>(&self, doc: &'a RevisionView) -> Vec<&'a ChapterText> {
        doc.chapters.iter().filter(|c| !c.body.trim().is_empty()).collect()
    }
}

#[derive(Template)]
#[template(path = "handbook/show.html")]
struct ShowPage {
    l: Layout,
    h: HandbookView,
    can_edit: bool,
    can_issue: bool,
    issue_form: FormData,
    errors: FormErrors,
    today: chrono::NaiveDate,
}
impl HandbookLabels for ShowPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

async fn show(st: &AppState, ctx: &Ctx, issue_form: FormData, errors: Vec<FieldError>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let h = svc::get(&st.db, &actor).await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ShowPage {
        l: Layout::new(ctx, "handbook.title"),
        h,
        can_edit: svc::may_edit(&actor),
        can_issue: svc::may_issue(&actor),
        issue_form,
        errors: FormErrors::new(errors, ctx.locale),
        today: today(),
    };
    Ok(render_status(status, &page))
}

async fn handbook_page(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    show(&st, &ctx, FormData::default(), vec![]).await
}

#[derive(Template)]
#[template(path = "handbook/document.html")]
struct DocumentPage {
    l: Layout,
    doc: RevisionView,
    history: Vec<HistoryLine>,
    /// The newest issued revision, when this one is older (superseded).
    current_no: Option<i64>,
}
impl DocumentPage {
    fn superseded_by(&self) -> Option<i64> {
        self.current_no.filter(|cur| self.doc.revision_no.is_some_and(|n| n < *cur))
    }
}
impl HandbookLabels for DocumentPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

async fn revision_print(State(st): State<AppState>, ctx: Ctx, Path(no): Path<i64>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let doc = svc::revision(&st.db, &actor, no).await?;
    let h = svc::get(&st.db, &actor).await?;
    // The history as it stood when this revision was issued.
    let history = h.history.into_iter().filter(|x| x.revision_no <= no).collect();
    let current_no = h.current.and_then(|c| c.revision_no);
    Ok(render(&DocumentPage { l: Layout::new(&ctx, "handbook.title"), doc, history, current_no }))
}

async fn draft_print(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let h = svc::get(&st.db, &ctx.actor()?).await?;
    let doc = h.draft.ok_or(AppError::NotFound)?;
    let current_no = h.current.and_then(|c| c.revision_no);
    Ok(render(&DocumentPage { l: Layout::new(&ctx, "handbook.title"), doc, history: h.history, current_no }))
}

#[derive(Template)]
#[template(path = "handbook/edit.html")]
struct EditPage {
    l: Layout,
    d: DraftInput,
    errors: FormErrors,
    notice: bool,
}
impl EditPage {
    fn chapter_name(&self, code: &str) -> &'static str {
        Chapter::parse(code).map(|c| c.name(self.l.locale)).unwrap_or("")
    }
    fn required(&self, code: &str) -> bool {
        Chapter::parse(code).is_some_and(|c| c.required())
    }
    fn chapter_error(&self, code: &str) -> String {
        self.errors.get(&format!("chapters.{code}"))
    }
    fn lines(&self, list: &[String]) -> String {
        list.join("\n")
    }
    fn process_lines(&self) -> String {
        self.d.matrix.processes.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join("\n")
    }
    fn cell_is(&self, cell: &Option<Duty>, code: &str) -> bool {
        cell.map(|d| d.code()) == Some(code)
    }
    fn duties(&self) -> &'static [Duty] {
        Duty::ALL
    }
    fn duty_label(&self, d: &Duty) -> String {
        format!("{} {}", d.symbol(), d.name(self.l.locale))
    }
}

async fn edit_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<EditQuery>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    if !svc::may_edit(&actor) {
        return Err(AppError::Forbidden);
    }
    let h = svc::get(&st.db, &actor).await?;
    let d = match h.draft {
        Some(d) => DraftInput { version: Some(d.version), title: d.title, chapters: d.chapters, matrix: d.matrix },
        None => svc::starting_content(&st.db).await?,
    };
    Ok(render(&EditPage {
        l: Layout::new(&ctx, "handbook.edit_title"),
        d,
        errors: FormErrors::new(vec![], ctx.locale),
        notice: q.saved.is_some(),
    }))
}

#[derive(Debug, Deserialize)]
struct EditQuery {
    saved: Option<String>,
}

fn names(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect()
}

/// The draft as the form posted it: the grid is read against the rows and columns it was drawn
/// with, then laid onto the (possibly edited) department and process lists.
fn draft_of(form: &FormData) -> DraftInput {
    let old_departments = names(&form.get("old_departments"));
    let old_processes = names(&form.get("old_processes"));
    let drawn = Matrix {
        processes: old_processes
            .iter()
            .enumerate()
            .map(|(pi, name)| Process {
                name: name.clone(),
                cells: (0..old_departments.len())
                    .map(|di| Duty::parse(&form.get(&format!("cell_{pi}_{di}"))))
                    .collect(),
            })
            .collect(),
        departments: old_departments,
    };
    let matrix = rules::handbook::relayout(&drawn, names(&form.get("departments")), names(&form.get("processes")));
    let chapters = Chapter::ALL
        .iter()
        .map(|c| ChapterText {
            code: c.code().into(),
            title: form.get(&format!("title_{}", c.code())),
            body: form.get(&format!("body_{}", c.code())),
        })
        .collect();
    DraftInput { version: form.get("version").trim().parse().ok(), title: form.get("title"), chapters, matrix }
}

async fn edit_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let actor = ctx.actor()?;
    let d = draft_of(&form);
    match svc::save_draft(&st.db, &actor, &d).await {
        Ok(_) => Ok(Redirect::to("/handbook/edit?saved=1").into_response()),
        Err(AppError::Validation(list)) => {
            let page = EditPage {
                l: Layout::new(&ctx, "handbook.edit_title"),
                d,
                errors: FormErrors::new(list, ctx.locale),
                notice: false,
            };
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e),
    }
}

async fn issue_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let mut errors = vec![];
    let effective_on = match form.get("effective_on").trim() {
        "" => None,
        s => match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(crate::i18n::field_error("effective_on", "error.date"));
                None
            }
        },
    };
    let input = IssueInput {
        version: form.get("version").trim().parse().unwrap_or_default(),
        change_summary: form.get("change_summary"),
        effective_on,
    };
    let result = if errors.is_empty() {
        svc::issue(&st.db, &ctx.actor()?, &input).await.map(|_| ())
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(()) => Ok(Redirect::to("/handbook").into_response()),
        Err(AppError::Validation(list)) => show(&st, &ctx, form, list).await,
        Err(e) => Err(e),
    }
}

async fn discard_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let version = form.get("version").trim().parse().unwrap_or_default();
    svc::discard(&st.db, &ctx.actor()?, version).await?;
    Ok(Redirect::to("/handbook").into_response())
}
