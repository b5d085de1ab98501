//! Service teams: the administrators' pages (list, create, edit with members, deactivate) and
//! the JSON API.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rules::FieldError;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use super::api::{ApiJson, ApiQuery, create_once};
use super::web::{FormData, FormErrors, Layout, render_status};
use super::{AppState, Ctx};
use crate::domain::Perm;
use crate::error::{AppError, AppResult};
use crate::service::teams::{self as svc, TeamInput, UpdateTeamInput, VersionInput};
use crate::service::users;
use crate::store;
use crate::store::teams::{Member, Team};

#[derive(OpenApi)]
#[openapi(
    paths(api_list, api_create, api_get, api_update, api_deactivate),
    components(schemas(Team, Member, TeamInput, UpdateTeamInput, VersionInput)),
    tags((name = "teams", description = "Service teams of engineers (the dashboard's team filter)"))
)]
pub struct ApiDoc;

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/teams", get(api_list).post(api_create))
        .route("/teams/{id}", get(api_get).put(api_update))
        .route("/teams/{id}/deactivate", post(api_deactivate))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/admin/teams", get(list_page).post(create_submit))
        .route("/admin/teams/new", get(new_page))
        .route("/admin/teams/{id}", get(edit_page).post(update_submit))
        .route("/admin/teams/{id}/deactivate", post(deactivate_submit))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// 1: deactivated teams too.
    #[serde(default)]
    all: String,
}

/// The teams with their engineers, by name (administrators: all; dashboard readers who see one
/// region: those of their region).
#[utoipa::path(get, path = "/api/v1/teams", params(ListParams),
    responses((status = 200, body = [Team]), (status = 403)), tag = "teams")]
async fn api_list(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<ListParams>,
) -> AppResult<axum::Json<Vec<Team>>> {
    let mut errors = vec![];
    let all = super::api::flag_param("all", &p.all, &mut errors);
    AppError::check(errors)?;
    Ok(axum::Json(svc::list(&st.db, &ctx.actor()?, all).await?))
}

/// Creates a team (administrators); its members leave their former teams. Send
/// `Idempotency-Key` to make retries safe.
#[utoipa::path(post, path = "/api/v1/teams", request_body = TeamInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first answer")),
    responses((status = 201, body = Team), (status = 403), (status = 422)), tag = "teams")]
async fn api_create(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<TeamInput>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    create_once(&st, &actor, &headers, "teams.create", async |idem| svc::create(&st.db, &actor, &input, idem).await)
        .await
}

/// One team with its engineers.
#[utoipa::path(get, path = "/api/v1/teams/{id}", responses((status = 200, body = Team), (status = 404)), tag = "teams")]
async fn api_get(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<axum::Json<Team>> {
    Ok(axum::Json(svc::get(&st.db, &ctx.actor()?, id).await?))
}

/// Replaces a team's name, region, leader, members and state; `version` must be the one read,
/// else 409. `active: false` deactivates it (its members leave it).
#[utoipa::path(put, path = "/api/v1/teams/{id}", request_body = UpdateTeamInput,
    responses((status = 200, body = Team), (status = 403), (status = 404), (status = 409), (status = 422)), tag = "teams")]
async fn api_update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<UpdateTeamInput>,
) -> AppResult<axum::Json<Team>> {
    Ok(axum::Json(svc::update(&st.db, &ctx.actor()?, id, &input).await?))
}

/// Deactivates a team: its members leave it; the orders it handled keep counting for it.
#[utoipa::path(post, path = "/api/v1/teams/{id}/deactivate", request_body = VersionInput,
    responses((status = 200, body = Team), (status = 403), (status = 404), (status = 409)), tag = "teams")]
async fn api_deactivate(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<VersionInput>,
) -> AppResult<axum::Json<Team>> {
    Ok(axum::Json(svc::deactivate(&st.db, &ctx.actor()?, id, input.version).await?))
}

// ------------------------------------------------------------------ pages

#[derive(Template)]
#[template(path = "teams/list.html")]
struct ListPage {
    l: Layout,
    teams: Vec<Team>,
    regions: Vec<store::settings::Region>,
    notice: String,
}

impl ListPage {
    fn region_name(&self, code: &Option<String>) -> String {
        region_name(&self.regions, self.l.locale, code)
    }
    fn member_names(&self, t: &Team) -> String {
        t.members.iter().map(|m| m.display_name.as_str()).collect::<Vec<_>>().join("、")
    }
}

fn region_name(regions: &[store::settings::Region], locale: &str, code: &Option<String>) -> String {
    match code {
        Some(c) => regions.iter().find(|r| &r.code == c).map(|r| r.name(locale).to_string()).unwrap_or(c.clone()),
        None => "—".into(),
    }
}

#[derive(Deserialize, Default)]
struct NoticeParams {
    #[serde(default)]
    ok: String,
}

fn notice(ctx: &Ctx, ok: &str) -> String {
    match ok {
        "created" => ctx.t("team.created"),
        "saved" => ctx.t("team.saved"),
        "deactivated" => ctx.t("team.deactivated"),
        _ => String::new(),
    }
}

async fn list_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<NoticeParams>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    actor.require(Perm::ManageUsers)?;
    let teams = svc::list(&st.db, &actor, true).await?;
    let regions = {
        let mut c = st.db.read().await?;
        store::settings::regions(c.conn()).await?
    };
    let page = ListPage { l: Layout::new(&ctx, "team.title"), teams, regions, notice: notice(&ctx, &q.ok) };
    Ok(render_status(StatusCode::OK, &page))
}

/// The create and edit form.
#[derive(Template)]
#[template(path = "teams/form.html")]
struct FormPage {
    l: Layout,
    /// None when creating.
    id: Option<i64>,
    active: bool,
    form: FormData,
    /// The members checked.
    members: Vec<i64>,
    regions: Vec<store::settings::Region>,
    users: Vec<(i64, String)>,
    /// Active engineers: (id, name, region, team).
    engineers: Vec<(i64, String, Option<String>, Option<i64>)>,
    /// Every team's (id, name), to say where an engineer is now.
    team_names: Vec<(i64, String)>,
    errors: FormErrors,
    notice: String,
}

impl FormPage {
    fn is_member(&self, id: &i64) -> bool {
        self.members.contains(id)
    }
    fn current_team(&self, team: &Option<i64>) -> String {
        match team {
            Some(t) if Some(*t) != self.id => {
                self.team_names.iter().find(|(id, _)| id == t).map(|(_, n)| n.clone()).unwrap_or_default()
            }
            _ => String::new(),
        }
    }
    fn region_name(&self, code: &Option<String>) -> String {
        region_name(&self.regions, self.l.locale, code)
    }
    fn selected(&self, field: &str, value: &str) -> bool {
        self.form.get(field) == value
    }
}

async fn form_page(
    st: &AppState,
    ctx: &Ctx,
    id: Option<i64>,
    active: bool,
    form: FormData,
    members: Vec<i64>,
    errors: Vec<FieldError>,
) -> AppResult<FormPage> {
    ctx.actor()?.require(Perm::ManageUsers)?;
    let users = users::active_names(&st.db, None).await?;
    let mut c = st.db.read().await?;
    let regions = store::settings::regions(c.conn()).await?;
    let engineers = store::teams::engineers(c.conn()).await?;
    let team_names = store::teams::names(c.conn()).await?.into_iter().map(|(id, name, _, _)| (id, name)).collect();
    Ok(FormPage {
        l: Layout::new(ctx, if id.is_some() { "team.edit" } else { "team.new" }),
        id,
        active,
        form,
        members,
        regions,
        users,
        engineers,
        team_names,
        errors: FormErrors::new(errors, ctx.locale),
        notice: String::new(),
    })
}

async fn new_page(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let mut form = FormData::default();
    form.set("idem", &crate::service::new_secret().0[..32]);
    Ok(render_status(StatusCode::OK, &form_page(&st, &ctx, None, true, form, vec![], vec![]).await?))
}

fn members_of(form: &FormData) -> Vec<i64> {
    form.all("members").iter().filter_map(|m| m.trim().parse().ok()).collect()
}

async fn create_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let actor = ctx.actor()?;
    let input = TeamInput {
        name: form.get("name"),
        region: form.get("region"),
        leader_id: form.id("leader_id"),
        members: members_of(&form),
    };
    let key = form.get("idem");
    let (idem, done) = super::api::page_idem(&st, &actor, &key, "teams.create.page", "/id").await?;
    if let Some(id) = done {
        return Ok(Redirect::to(&format!("/admin/teams/{id}?ok=created")).into_response());
    }
    match svc::create(&st.db, &actor, &input, idem.as_ref()).await {
        Ok(t) => Ok(Redirect::to(&format!("/admin/teams/{}?ok=created", t.id)).into_response()),
        Err(AppError::Validation(list)) => {
            let page = form_page(&st, &ctx, None, true, form, input.members, list).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e),
    }
}

fn team_form(t: &Team) -> FormData {
    let mut form = FormData::default();
    form.set("name", &t.name);
    form.set("region", t.region_code.as_deref().unwrap_or(""));
    form.set("leader_id", &t.leader_id.map(|l| l.to_string()).unwrap_or_default());
    form.set("version", &t.version.to_string());
    form
}

async fn edit_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<NoticeParams>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    actor.require(Perm::ManageUsers)?;
    let t = svc::get(&st.db, &actor, id).await?;
    let members = t.members.iter().map(|m| m.id).collect();
    let mut page = form_page(&st, &ctx, Some(id), t.active, team_form(&t), members, vec![]).await?;
    page.notice = notice(&ctx, &q.ok);
    Ok(render_status(StatusCode::OK, &page))
}

async fn update_submit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let actor = ctx.actor()?;
    let input = UpdateTeamInput {
        version: form.get("version").trim().parse().unwrap_or(-1),
        name: form.get("name"),
        region: form.get("region"),
        leader_id: form.id("leader_id"),
        members: members_of(&form),
        active: form.get("active") == "on",
    };
    match svc::update(&st.db, &actor, id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/teams/{id}?ok=saved")).into_response()),
        Err(AppError::Validation(list)) => {
            let page = form_page(&st, &ctx, Some(id), input.active, form, input.members, list).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(AppError::Conflict(key)) => {
            // Keep what was typed, say why, and take the current version.
            let current = svc::get(&st.db, &actor, id).await?;
            let mut form = form;
            form.set("version", &current.version.to_string());
            let mut page = form_page(&st, &ctx, Some(id), input.active, form, input.members, vec![]).await?;
            page.notice = ctx.t(key);
            Ok(render_status(StatusCode::CONFLICT, &page))
        }
        Err(e) => Err(e),
    }
}

async fn deactivate_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let version = form.get("version").trim().parse().unwrap_or(-1);
    svc::deactivate(&st.db, &ctx.actor()?, id, version).await?;
    Ok(Redirect::to(&format!("/admin/teams/{id}?ok=deactivated")).into_response())
}
