//! After the job (R6, R7): the customer's survey page behind its link, the agents' visit
//! queue and the visit page, the visit rules, the satisfaction figures with exports, and
//! the JSON API for all of it.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use chrono::{Datelike, NaiveDate};
use rules::care::{Condition, Every, VisitRule};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::api::{ApiJson, ApiQuery};
use super::archive::{ExportFormat, download, export_format};
use super::web::{FormData, FormErrors, Layout, render, render_status};
use super::{AppState, Ctx};
use crate::domain::Perm;
use crate::error::{AppError, AppResult};
use crate::i18n::{field_error, tr};
use crate::service::care::{
    self as svc, AnswerInput, OutcomeInput, PlanOutcome, PublicSurvey, Queue, RateRow, RevisitRate, RuleView,
    Satisfaction, View,
};
use crate::service::work_orders::today;
use crate::store;
use crate::store::care::{GroupBy, Survey, VisitTask};
use crate::tabular::{Cell, Table};

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/visits", get(api_queue))
        .route("/visits/export", get(api_queue_export))
        .route("/visits/plan", post(api_plan))
        .route("/visits/{id}", get(api_task))
        .route("/visits/{id}/outcome", post(api_outcome))
        .route("/visits/{id}/assign", post(api_assign))
        .route("/visit-rules", get(api_rules))
        .route("/visit-rules/{code}", put(api_rule_save))
        .route("/satisfaction", get(api_satisfaction))
        .route("/satisfaction/export", get(api_satisfaction_export))
        .route("/satisfaction/quarters", get(api_quarters))
        .route("/satisfaction/target", put(api_target))
        .route("/surveys", get(api_answers))
        .route("/revisit-rate", get(api_revisit_rate))
        .route("/work-orders/{id}/surveys", get(api_order_surveys))
        .route("/public/surveys/{token}", get(api_public_survey).post(api_public_answer))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/s/{token}", get(survey_page).post(survey_submit))
        .route("/visits", get(queue_page))
        .route("/visits/rules", get(rules_page))
        .route("/visits/rules/{code}", post(rule_submit))
        .route("/visits/{id}", get(task_page).post(task_submit))
        .route("/visits/{id}/assign", post(task_assign))
        .route("/satisfaction", get(satisfaction_page))
        .route("/satisfaction/target", post(target_submit))
}

// ================================================================ labels

/// Names of conditions, periods, channels and outcomes in the page's language.
pub trait CareLabels {
    fn layout(&self) -> &Layout;

    fn rule_label(&self, code: &str) -> String {
        let l = self.layout();
        let key = format!("care.rule.{code}");
        let name = tr(l.locale, &key);
        if name == key { code.to_string() } else { name }
    }
    fn condition_label(&self, c: &Condition) -> String {
        self.layout().t(&format!("care.condition.{}", c.code()))
    }
    fn every_label(&self, r: &VisitRule) -> String {
        let l = self.layout();
        match r.every {
            Some(Every::Weeks(n)) => format!("{n} {}", l.t("care.weeks")),
            Some(Every::Months(n)) => format!("{n} {}", l.t("care.months")),
            None if r.condition == Condition::ServiceDue => format!("{} {}", r.after_days, l.t("care.days_before")),
            None => format!("{} {}", r.after_days, l.t("care.days_after")),
        }
    }
    fn channel_label(&self, c: &str) -> String {
        self.layout().t(&format!("care.channel.{c}"))
    }
    fn outcome_label(&self, c: &str) -> String {
        self.layout().t(&format!("care.outcome.{c}"))
    }
    fn status_label(&self, s: &str) -> String {
        self.layout().t(&format!("care.status.{s}"))
    }
    fn opt_channel(&self, c: &Option<String>) -> String {
        c.as_deref().map(|c| self.channel_label(c)).unwrap_or_default()
    }
    fn opt_outcome(&self, c: &Option<String>) -> String {
        c.as_deref().map(|c| self.outcome_label(c)).unwrap_or_default()
    }
    fn order_id(&self, id: &Option<i64>) -> i64 {
        id.unwrap_or_default()
    }
    fn order_no(&self, id: &Option<i64>) -> String {
        id.map(store::work_orders::number).unwrap_or_default()
    }
    fn pct(&self, p: &Option<f64>) -> String {
        p.map(|p| format!("{p:.1} %")).unwrap_or_else(|| "—".into())
    }
    fn stars(&self, n: &Option<i32>) -> String {
        match n {
            Some(n) => {
                format!("{}{} {n}/5", "★".repeat((*n).clamp(0, 5) as usize), "☆".repeat((5 - *n).clamp(0, 5) as usize))
            }
            None => "—".into(),
        }
    }
}

// ================================================================ the customer's survey

#[derive(Template)]
#[template(path = "care/survey.html")]
struct SurveyPage {
    l: Layout,
    s: PublicSurvey,
    company: String,
    form: FormData,
    errors: FormErrors,
    /// Just answered (a thank-you) rather than found answered.
    thanks: bool,
}
impl CareLabels for SurveyPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl SurveyPage {
    fn checked(&self, field: &str, n: &i32) -> bool {
        self.form.get(field) == n.to_string()
    }
}

async fn survey_view(
    st: &AppState,
    ctx: &Ctx,
    token: &str,
    form: FormData,
    errors: Vec<rules::FieldError>,
    thanks: bool,
) -> AppResult<Response> {
    let s = svc::public_survey(&st.db, token).await?;
    let mut c = st.db.read().await?;
    let company = store::settings::get(c.conn(), "company_name").await?.unwrap_or_default();
    let mut l = Layout::new(ctx, "care.survey_title");
    l.user = None; // the customer's page shows no staff navigation
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = SurveyPage { l, s, company, form, errors: FormErrors::new(errors, ctx.locale), thanks };
    let mut res = render_status(status, &page);
    res.headers_mut().insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(res)
}

async fn survey_page(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> AppResult<Response> {
    survey_view(&st, &ctx, &token, FormData::default(), vec![], false).await
}

fn score(form: &FormData, field: &str) -> Option<i32> {
    form.get(field).trim().parse().ok()
}

async fn survey_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let input = AnswerInput {
        overall: score(&form, "overall"),
        timeliness: score(&form, "timeliness"),
        attitude: score(&form, "attitude"),
        quality: score(&form, "quality"),
        comment: form.get("comment"),
    };
    match svc::answer(&st.db, &token, &input, &ctx.ip).await {
        Ok(()) => survey_view(&st, &ctx, &token, form, vec![], true).await,
        Err(AppError::Validation(list)) => survey_view(&st, &ctx, &token, form, list, false).await,
        // Answered already (another tab, or twice): the page says so.
        Err(AppError::Conflict(_)) => survey_view(&st, &ctx, &token, form, vec![], false).await,
        Err(e) => Err(e),
    }
}

/// What a survey link shows: the job it is about and whether it has been answered.
#[utoipa::path(get, path = "/api/v1/public/surveys/{token}", params(("token" = String, Path)),
    responses((status = 200, body = PublicSurvey), (status = 404)), tag = "care")]
async fn api_public_survey(
    State(st): State<AppState>,
    Path(token): Path<String>,
) -> AppResult<axum::Json<PublicSurvey>> {
    Ok(axum::Json(svc::public_survey(&st.db, &token).await?))
}

/// Answers a survey link, once (409 when answered already; 404 for a link that does not exist).
#[utoipa::path(post, path = "/api/v1/public/surveys/{token}", params(("token" = String, Path)), request_body = AnswerInput,
    responses((status = 200, body = Done), (status = 404), (status = 409), (status = 422)), tag = "care")]
async fn api_public_answer(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    ApiJson(input): ApiJson<AnswerInput>,
) -> AppResult<axum::Json<Done>> {
    svc::answer(&st.db, &token, &input, &ctx.ip).await?;
    Ok(axum::Json(Done { ok: true }))
}

#[derive(Serialize, ToSchema)]
struct Done {
    ok: bool,
}

/// The surveys of an order: the link sent to the customer and the on-site rating.
#[utoipa::path(get, path = "/api/v1/work-orders/{id}/surveys", params(("id" = i64, Path)),
    responses((status = 200, body = [Survey]), (status = 404)), tag = "care")]
async fn api_order_surveys(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<Vec<Survey>>> {
    crate::service::work_orders::visible_order(&st.db, &ctx.actor()?, id).await?;
    Ok(axum::Json(svc::surveys_of_order(&st.db, id).await?))
}

// ================================================================ the visit queue

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
struct QueueQuery {
    /// due (default: today and the coming week) | mine | missed
    #[serde(default)]
    view: String,
    /// `next_after` of the previous page.
    #[serde(default)]
    after: String,
    /// Default 50, at most 200.
    #[serde(default)]
    limit: Option<i64>,
}

fn view_of(q: &QueueQuery) -> AppResult<View> {
    View::parse(q.view.trim()).ok_or_else(|| AppError::one("view", "error.bad_parameter"))
}

/// An agent's open visit tasks by due day (region users see their region's).
#[utoipa::path(get, path = "/api/v1/visits", params(QueueQuery),
    responses((status = 200, body = Queue), (status = 403), (status = 422)), tag = "care")]
async fn api_queue(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> AppResult<axum::Json<Queue>> {
    let view = view_of(&q)?;
    Ok(axum::Json(svc::queue(&st.db, &ctx.actor()?, view, Some(&q.after), q.limit.unwrap_or(50)).await?))
}

#[derive(Template)]
#[template(path = "care/queue.html")]
struct QueuePage {
    l: Layout,
    view: String,
    q: Queue,
    today: NaiveDate,
}
impl CareLabels for QueuePage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

async fn queue_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<QueueQuery>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let view = view_of(&q)?;
    let queue = svc::queue(&st.db, &actor, view, Some(&q.after), 50).await?;
    let view = match view {
        View::Due => "due",
        View::Mine => "mine",
        View::Missed => "missed",
    };
    Ok(render(&QueuePage { l: Layout::new(&ctx, "care.queue_title"), view: view.into(), q: queue, today: today() }))
}

fn task_rows(ctx: &Ctx, tasks: Vec<VisitTask>) -> Table {
    let label = |prefix: &str, v: &Option<String>| v.as_deref().map(|v| ctx.t(&format!("care.{prefix}.{v}")));
    let rows = tasks
        .into_iter()
        .map(|t| {
            vec![
                Some(t.id).into(),
                Some(t.due_on).into(),
                t.customer_name.clone().into(),
                t.customer_class.clone().into(),
                t.customer_phone.clone().into(),
                t.region_code.clone().into(),
                t.rule_code.clone().into(),
                ctx.t(&format!("care.status.{}", t.status)).into(),
                t.assignee_name.clone().into(),
                label("channel", &t.channel).into(),
                label("outcome", &t.outcome).into(),
                t.needs.clone().into(),
            ]
        })
        .collect();
    let keys = [
        "care.task",
        "care.due_on",
        "archive.customer",
        "archive.class",
        "field.phone",
        "field.region",
        "care.rule_title",
        "wo.status",
        "care.assignee",
        "care.channel_title",
        "care.outcome_title",
        "care.needs",
    ];
    Table { headers: keys.iter().map(|k| ctx.t(k)).collect(), rows }
}

/// The queue as a spreadsheet (every page of it, up to 100,000 tasks).
#[utoipa::path(get, path = "/api/v1/visits/export", params(QueueQuery, ExportFormat),
    responses((status = 200, description = "The spreadsheet")), tag = "care")]
async fn api_queue_export(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<QueueQuery>,
    ApiQuery(f): ApiQuery<ExportFormat>,
) -> AppResult<Response> {
    let format = export_format(&f.format)?;
    let actor = ctx.actor()?;
    let view = view_of(&q)?;
    let (db, actor) = (&st.db, &actor);
    let all = super::archive::every_page(|after: Option<String>| async move {
        let page = svc::queue(db, actor, view, after.as_deref(), 200).await?;
        Ok((page.tasks, page.next_after))
    })
    .await?;
    let table = task_rows(&ctx, all);
    Ok(download(crate::tabular::render(table, format, "visits").await?, format, "visits"))
}

// ================================================================ one visit

/// A visit task.
#[utoipa::path(get, path = "/api/v1/visits/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = VisitTask), (status = 404)), tag = "care")]
async fn api_task(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<axum::Json<VisitTask>> {
    Ok(axum::Json(svc::task(&st.db, &ctx.actor()?, id).await?))
}

/// Records the visit's channel, outcome and the customer's needs; the task is done (409 when
/// it changed meanwhile or was done already).
#[utoipa::path(post, path = "/api/v1/visits/{id}/outcome", params(("id" = i64, Path)), request_body = OutcomeInput,
    responses((status = 200, body = VisitTask), (status = 404), (status = 409), (status = 422)), tag = "care")]
async fn api_outcome(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<OutcomeInput>,
) -> AppResult<axum::Json<VisitTask>> {
    Ok(axum::Json(svc::record(&st.db, &ctx.actor()?, id, &input).await?))
}

#[derive(Deserialize, ToSchema)]
struct AssignInput {
    version: i64,
    /// true: into the caller's own queue; false: back to the region's.
    take: bool,
}

/// Takes a visit task into one's own queue, or gives it back.
#[utoipa::path(post, path = "/api/v1/visits/{id}/assign", params(("id" = i64, Path)), request_body = AssignInput,
    responses((status = 200, body = VisitTask), (status = 404), (status = 409)), tag = "care")]
async fn api_assign(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<AssignInput>,
) -> AppResult<axum::Json<VisitTask>> {
    Ok(axum::Json(svc::assign(&st.db, &ctx.actor()?, id, input.version, input.take).await?))
}

#[derive(Template)]
#[template(path = "care/task.html")]
struct TaskPage {
    l: Layout,
    t: VisitTask,
    rule: Option<VisitRule>,
    form: FormData,
    errors: FormErrors,
    channels: &'static [&'static str],
    outcomes: &'static [&'static str],
    can_register: bool,
}
impl CareLabels for TaskPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

async fn task_view(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    form: FormData,
    errors: Vec<rules::FieldError>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let t = svc::task(&st.db, &actor, id).await?;
    let rule = svc::rules(&st.db, &actor).await?.into_iter().find(|r| r.code == t.rule_code).map(|r| r.rule);
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = TaskPage {
        l: Layout::new(ctx, "care.task"),
        t,
        rule,
        form,
        errors: FormErrors::new(errors, ctx.locale),
        channels: &svc::CHANNELS,
        outcomes: &svc::OUTCOMES,
        can_register: !crate::service::work_orders::parties(&actor, None).is_empty(),
    };
    Ok(render_status(status, &page))
}

async fn task_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let mut form = FormData::default();
    form.set("channel", "phone");
    form.set("outcome", "reached");
    task_view(&st, &ctx, id, form, vec![]).await
}

async fn task_submit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let input = OutcomeInput {
        version: form.get("version").trim().parse().unwrap_or(0),
        channel: form.get("channel"),
        outcome: form.get("outcome"),
        needs: form.get("needs"),
        note: form.get("note"),
    };
    match svc::record(&st.db, &ctx.actor()?, id, &input).await {
        Ok(t) if form.get("then") == "request" => {
            let to = match t.unit_id {
                Some(unit) => format!("/work-orders/new?unit_id={unit}&kind=maintenance"),
                None => format!("/work-orders/new?customer_id={}", t.customer_id),
            };
            Ok(Redirect::to(&to).into_response())
        }
        Ok(_) => Ok(Redirect::to("/visits").into_response()),
        Err(AppError::Validation(list)) => task_view(&st, &ctx, id, form, list).await,
        Err(AppError::Conflict(key)) => task_view(&st, &ctx, id, form, vec![field_error("version", key)]).await,
        Err(e) => Err(e),
    }
}

async fn task_assign(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let version = form.get("version").trim().parse().unwrap_or(0);
    match svc::assign(&st.db, &ctx.actor()?, id, version, form.get("take") == "1").await {
        Ok(_) => Ok(Redirect::to(&format!("/visits/{id}")).into_response()),
        Err(AppError::Conflict(key)) => task_view(&st, &ctx, id, form, vec![field_error("version", key)]).await,
        Err(e) => Err(e),
    }
}

// ================================================================ rules and planning

/// The follow-up visit rules (data: edit them with PUT).
#[utoipa::path(get, path = "/api/v1/visit-rules", responses((status = 200, body = [RuleView]), (status = 403)), tag = "care")]
async fn api_rules(State(st): State<AppState>, ctx: Ctx) -> AppResult<axum::Json<Vec<RuleView>>> {
    Ok(axum::Json(svc::rules(&st.db, &ctx.actor()?).await?))
}

#[derive(Deserialize, ToSchema)]
struct RuleSave {
    version: i64,
    #[schema(value_type = Object)]
    rule: VisitRule,
}

/// Saves a visit rule over its version (period, days, active; the condition stays). Visits
/// already planned stay; the next planning uses the new rule.
#[utoipa::path(put, path = "/api/v1/visit-rules/{code}", params(("code" = String, Path)), request_body = RuleSave,
    responses((status = 200, body = RuleView), (status = 403), (status = 404), (status = 409), (status = 422)), tag = "care")]
async fn api_rule_save(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<RuleSave>,
) -> AppResult<axum::Json<RuleView>> {
    Ok(axum::Json(svc::update_rule(&st.db, &ctx.actor()?, &code, input.rule, input.version).await?))
}

#[derive(Deserialize, ToSchema)]
struct PlanInput {
    #[schema(value_type = String, format = Date)]
    from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    to: NaiveDate,
}

/// Plans the visits due in a window now (the planner does the coming weeks by itself).
/// Repeating it adds nothing.
#[utoipa::path(post, path = "/api/v1/visits/plan", request_body = PlanInput,
    responses((status = 200, body = PlanOutcome), (status = 403), (status = 422)), tag = "care")]
async fn api_plan(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiJson(input): ApiJson<PlanInput>,
) -> AppResult<axum::Json<PlanOutcome>> {
    ctx.actor()?.require(Perm::ManageCare)?;
    if input.to < input.from || (input.to - input.from).num_days() > 400 {
        return Err(AppError::one("to", "care.error.period"));
    }
    let out = svc::plan(&st.db, input.from, input.to, |_| {}).await?;
    svc::mark_planned(&st.db, input.from, input.to).await?;
    Ok(axum::Json(out))
}

#[derive(Template)]
#[template(path = "care/rules.html")]
struct RulesPage {
    l: Layout,
    rules: Vec<RuleView>,
    can_manage: bool,
    errors: FormErrors,
    failed: String,
}
impl CareLabels for RulesPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl RulesPage {
    fn unit(&self, r: &VisitRule) -> &'static str {
        match r.every {
            Some(Every::Weeks(_)) => "weeks",
            _ => "months",
        }
    }
    fn n(&self, r: &VisitRule) -> u32 {
        match r.every {
            Some(Every::Weeks(n) | Every::Months(n)) => n,
            None => 0,
        }
    }
}

async fn rules_view(st: &AppState, ctx: &Ctx, failed: &str, errors: Vec<rules::FieldError>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render_status(
        status,
        &RulesPage {
            l: Layout::new(ctx, "care.rules_title"),
            rules: svc::rules(&st.db, &actor).await?,
            can_manage: actor.can(Perm::ManageCare),
            errors: FormErrors::new(errors, ctx.locale),
            failed: failed.to_string(),
        },
    ))
}

async fn rules_page(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    rules_view(&st, &ctx, "", vec![]).await
}

async fn rule_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let form = FormData::parse(&body);
    let current = svc::rules(&st.db, &actor).await?.into_iter().find(|r| r.code == code).ok_or(AppError::NotFound)?;
    let mut rule = current.rule.clone();
    let num = |field: &str, errors: &mut Vec<rules::FieldError>| -> u32 {
        form.get(field).trim().parse().unwrap_or_else(|_| {
            errors.push(field_error(field, "error.number"));
            0
        })
    };
    let mut errors = vec![];
    if rule.condition.is_event() {
        rule.after_days = num("after_days", &mut errors);
    } else {
        let n = num("every.n", &mut errors);
        rule.every = Some(if form.get("every.unit") == "weeks" { Every::Weeks(n) } else { Every::Months(n) });
    }
    if rule.condition == Condition::LongTerm {
        rule.min_years = num("min_years", &mut errors);
    }
    rule.active = form.get("active") == "1";
    if !errors.is_empty() {
        return rules_view(&st, &ctx, &code, errors).await;
    }
    let version = form.get("version").trim().parse().unwrap_or(0);
    match svc::update_rule(&st.db, &actor, &code, rule, version).await {
        Ok(_) => Ok(Redirect::to("/visits/rules").into_response()),
        Err(AppError::Validation(list)) => rules_view(&st, &ctx, &code, list).await,
        Err(AppError::Conflict(key)) => rules_view(&st, &ctx, &code, vec![field_error("version", key)]).await,
        Err(e) => Err(e),
    }
}

// ================================================================ satisfaction

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
struct SatisfactionQuery {
    /// First day answered (YYYY-MM-DD, company time); default the quarter's first day.
    #[serde(default)]
    from: String,
    /// Last day, included; default today.
    #[serde(default)]
    to: String,
    /// all (default) | engineer | region | category | kind
    #[serde(default)]
    by: String,
    /// For the quarters: the year (default this year).
    #[serde(default)]
    year: Option<i32>,
}

struct Window {
    from: NaiveDate,
    to: NaiveDate,
    by: GroupBy,
}

fn window(q: &SatisfactionQuery) -> AppResult<Window> {
    let mut errors = vec![];
    let now = today();
    let quarter_start = rules::care::quarter_of(now);
    let first = rules::care::quarter_range(quarter_start.0, quarter_start.1).map(|r| r.0).unwrap_or(now);
    let from = crate::domain::archive::parse_date("from", &q.from, &mut errors).unwrap_or(first);
    let to = crate::domain::archive::parse_date("to", &q.to, &mut errors).unwrap_or(now);
    let by = svc::parse_group(q.by.trim()).unwrap_or_else(|| {
        errors.push(field_error("by", "error.bad_parameter"));
        GroupBy::All
    });
    AppError::check(errors)?;
    Ok(Window { from, to, by })
}

/// The satisfaction rate of surveys answered in a period (link answers and on-site ratings;
/// 4 or 5 of 5 counts as satisfied), in all and per engineer, region, category or request
/// type, against the company's target (RULES §7: 90 %).
#[utoipa::path(get, path = "/api/v1/satisfaction", params(SatisfactionQuery),
    responses((status = 200, body = Satisfaction), (status = 403), (status = 422)), tag = "care")]
async fn api_satisfaction(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<SatisfactionQuery>,
) -> AppResult<axum::Json<Satisfaction>> {
    let w = window(&q)?;
    Ok(axum::Json(svc::satisfaction(&st.db, &ctx.actor()?, w.from, w.to, w.by).await?))
}

/// The four quarters of a year against the target.
#[utoipa::path(get, path = "/api/v1/satisfaction/quarters", params(SatisfactionQuery),
    responses((status = 200, body = [RateRow]), (status = 403)), tag = "care")]
async fn api_quarters(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<SatisfactionQuery>,
) -> AppResult<axum::Json<Vec<RateRow>>> {
    let year = q.year.unwrap_or_else(|| today().year());
    Ok(axum::Json(svc::quarters(&st.db, &ctx.actor()?, year).await?))
}

#[derive(Deserialize, ToSchema)]
struct TargetInput {
    /// Per cent, 1–100 (RULES §7: 90, another company 98).
    target: f64,
}

/// Sets the satisfaction target.
#[utoipa::path(put, path = "/api/v1/satisfaction/target", request_body = TargetInput,
    responses((status = 200, body = Done), (status = 403), (status = 422)), tag = "care")]
async fn api_target(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiJson(input): ApiJson<TargetInput>,
) -> AppResult<axum::Json<Done>> {
    svc::set_target(&st.db, &ctx.actor()?, input.target).await?;
    Ok(axum::Json(Done { ok: true }))
}

/// Answered surveys of a period, newest first (at most 500).
#[utoipa::path(get, path = "/api/v1/surveys", params(SatisfactionQuery),
    responses((status = 200, body = [Survey]), (status = 403)), tag = "care")]
async fn api_answers(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<SatisfactionQuery>,
) -> AppResult<axum::Json<Vec<Survey>>> {
    let w = window(&q)?;
    Ok(axum::Json(svc::answers(&st.db, &ctx.actor()?, w.from, w.to, 500).await?))
}

/// The in-warranty revisit rate of a period: visits of the in-warranty rules due (up to
/// today) and done by their due day (RULES §7: target 100 %).
#[utoipa::path(get, path = "/api/v1/revisit-rate", params(SatisfactionQuery),
    responses((status = 200, body = RevisitRate), (status = 403)), tag = "care")]
async fn api_revisit_rate(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<SatisfactionQuery>,
) -> AppResult<axum::Json<RevisitRate>> {
    let w = window(&q)?;
    Ok(axum::Json(svc::revisit_rate(&st.db, &ctx.actor()?, w.from, w.to).await?))
}

/// Names of the groups' keys (engineers, regions, categories, request types).
async fn group_names(st: &AppState, ctx: &Ctx, by: GroupBy, rows: &[RateRow]) -> AppResult<Vec<String>> {
    let mut c = st.db.read().await?;
    let regions = store::settings::regions(c.conn()).await?;
    let categories = store::products::categories(c.conn()).await?;
    let mut out = vec![];
    for r in rows {
        let key = r.key.clone().unwrap_or_default();
        let name = match by {
            GroupBy::All => ctx.t("sla.total"),
            GroupBy::Engineer => match key.parse::<i64>() {
                Ok(id) => store::users::get(c.conn(), id).await?.map(|u| u.display_name).unwrap_or(key),
                Err(_) => ctx.t("care.no_engineer"),
            },
            GroupBy::Region => {
                regions.iter().find(|x| x.code == key).map(|x| x.name(ctx.locale).to_string()).unwrap_or(key)
            }
            GroupBy::Category => {
                categories.iter().find(|x| x.code == key).map(|x| x.name(ctx.locale).to_string()).unwrap_or(key)
            }
            GroupBy::RequestKind => {
                rules::work_order::Kind::parse(&key).map(|k| k.name(ctx.locale).to_string()).unwrap_or(key)
            }
        };
        out.push(name);
    }
    Ok(out)
}

async fn satisfaction_table(st: &AppState, ctx: &Ctx, q: &SatisfactionQuery) -> AppResult<Table> {
    let w = window(q)?;
    let s = svc::satisfaction(&st.db, &ctx.actor()?, w.from, w.to, w.by).await?;
    let names = group_names(st, ctx, w.by, &s.groups).await?;
    let row = |name: String, r: &RateRow| -> Vec<Cell> {
        vec![
            name.into(),
            Some(r.responses as i64).into(),
            Some(r.satisfied as i64).into(),
            r.percent.map(Cell::Number).unwrap_or(Cell::Empty),
            r.meets_target.map(|m| ctx.t(if m { "care.met" } else { "care.not_met" })).into(),
        ]
    };
    let mut rows: Vec<Vec<Cell>> = s.groups.iter().zip(names).map(|(r, n)| row(n, r)).collect();
    rows.push(row(ctx.t("sla.total"), &s.total));
    let keys = ["care.group", "care.responses", "care.satisfied", "care.rate", "care.target"];
    Ok(Table { headers: keys.iter().map(|k| ctx.t(k)).collect(), rows })
}

/// The satisfaction figures as a spreadsheet (the parameters of `/api/v1/satisfaction`).
#[utoipa::path(get, path = "/api/v1/satisfaction/export", params(SatisfactionQuery, ExportFormat),
    responses((status = 200, description = "The spreadsheet")), tag = "care")]
async fn api_satisfaction_export(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<SatisfactionQuery>,
    ApiQuery(f): ApiQuery<ExportFormat>,
) -> AppResult<Response> {
    let format = export_format(&f.format)?;
    let table = satisfaction_table(&st, &ctx, &q).await?;
    Ok(download(crate::tabular::render(table, format, "satisfaction").await?, format, "satisfaction"))
}

#[derive(Template)]
#[template(path = "care/satisfaction.html")]
struct SatisfactionPage {
    l: Layout,
    year: i32,
    quarters: Vec<RateRow>,
    s: Satisfaction,
    names: Vec<String>,
    by: String,
    answers: Vec<Survey>,
    revisit: RevisitRate,
    can_manage: bool,
    errors: FormErrors,
}
impl CareLabels for SatisfactionPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}
impl SatisfactionPage {
    fn rows(&self) -> Vec<(&String, &RateRow)> {
        self.names.iter().zip(self.s.groups.iter()).collect()
    }
    /// The bar's filled width in pixels (of 120).
    fn bar(&self, p: &Option<f64>) -> String {
        format!("{:.0}", p.unwrap_or(0.0).clamp(0.0, 100.0) * 1.2)
    }
}

async fn satisfaction_view(
    st: &AppState,
    ctx: &Ctx,
    q: SatisfactionQuery,
    errors: Vec<rules::FieldError>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let w = window(&q)?;
    let year = q.year.unwrap_or_else(|| w.to.year());
    let s = svc::satisfaction(&st.db, &actor, w.from, w.to, w.by).await?;
    let names = group_names(st, ctx, w.by, &s.groups).await?;
    let page = SatisfactionPage {
        l: Layout::new(ctx, "care.satisfaction_title"),
        year,
        quarters: svc::quarters(&st.db, &actor, year).await?,
        revisit: svc::revisit_rate(&st.db, &actor, w.from, w.to).await?,
        answers: svc::answers(&st.db, &actor, w.from, w.to, 20).await?,
        s,
        names,
        by: q.by.clone(),
        can_manage: actor.can(Perm::ManageCare),
        errors: FormErrors::new(errors.clone(), ctx.locale),
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render_status(status, &page))
}

async fn satisfaction_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<SatisfactionQuery>,
) -> AppResult<Response> {
    satisfaction_view(&st, &ctx, q, vec![]).await
}

async fn target_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let pct = form.get("target").trim().parse::<f64>().unwrap_or(f64::NAN);
    match svc::set_target(&st.db, &ctx.actor()?, pct).await {
        Ok(()) => Ok(Redirect::to("/satisfaction").into_response()),
        Err(AppError::Validation(list)) => satisfaction_view(&st, &ctx, SatisfactionQuery::default(), list).await,
        Err(e) => Err(e),
    }
}

#[derive(OpenApi)]
#[openapi(
    paths(api_public_survey, api_public_answer, api_order_surveys, api_queue, api_queue_export, api_task, api_outcome,
        api_assign, api_rules, api_rule_save, api_plan, api_satisfaction, api_quarters, api_target, api_answers,
        api_revisit_rate, api_satisfaction_export),
    tags((name = "care", description = "After the job: satisfaction surveys and follow-up visits (R6, R7)"))
)]
pub struct ApiDoc;
