//! Server-rendered pages. Every string comes from the locale files; forms show field errors
//! inline and keep what the user typed.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rules::FieldError;
use serde::Deserialize;

use super::{AppState, Ctx, LANG_COOKIE, SESSION_COOKIE};
use crate::domain::{Perm, Role};
use crate::error::{AppError, AppResult};
use crate::i18n::tr;
use crate::service::auth::{self, CurrentUser};
use crate::service::{audit as audit_service, tokens, users};
use crate::store;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/lang", post(set_lang))
        .route("/account", get(account_page))
        .route("/account/password", post(account_password))
        .route("/account/tokens", post(account_token_create))
        .route("/account/tokens/{id}/revoke", post(account_token_revoke))
        .route("/admin/users", get(users_page).post(user_create))
        .route("/admin/users/new", get(user_new_page))
        .route("/admin/users/{id}", get(user_edit_page).post(user_update))
        .route("/admin/users/{id}/password", post(user_reset_password))
        .route("/audit", get(audit_page))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
}

/// What the shared layout needs on every page.
pub struct Layout {
    pub locale: &'static str,
    pub user: Option<CurrentUser>,
    pub path: String,
    pub title: String,
}

impl Layout {
    pub fn new(ctx: &Ctx, title_key: &str) -> Layout {
        Layout { locale: ctx.locale, user: ctx.user.clone(), path: ctx.path.clone(), title: ctx.t(title_key) }
    }

    pub fn t(&self, key: &str) -> String {
        tr(self.locale, key)
    }

    /// A translation with its `%{name}` placeholder filled in.
    pub fn t_name(&self, key: &str, name: &str) -> String {
        crate::i18n::tr_args(self.locale, key, &[("name", name)])
    }

    pub fn can(&self, perm: &str) -> bool {
        let p = match perm {
            "users" => Perm::ManageUsers,
            "audit" => Perm::ViewAudit,
            "calendars" => Perm::ManageCalendars,
            "care" => Perm::FollowUp,
            "feedback" => Perm::Feedback,
            "manage_parts" => Perm::ManageParts,
            "move_stock" => Perm::MoveStock,
            "certification" => Perm::ManagePolicies,
            // Everyone signed in has his own appraisal page; managers run the months.
            "appraisal" => return self.user.is_some(),
            "appraise" => Perm::Appraise,
            // Office staff read the service figures (engineers and the warehouse do not).
            "sla_reports" => {
                return self.user.as_ref().is_some_and(|u| {
                    u.roles.iter().any(|r| {
                        matches!(
                            r,
                            crate::domain::Role::Admin
                                | crate::domain::Role::GeneralManager
                                | crate::domain::Role::ServiceManager
                                | crate::domain::Role::Dispatcher
                                | crate::domain::Role::Quality
                        )
                    })
                });
            }
            // Managers, quality, admin; dispatchers see their region's (service::dashboard).
            "dashboard" => {
                return self.user.as_ref().is_some_and(|u| {
                    u.roles.iter().any(|r| {
                        matches!(
                            r,
                            crate::domain::Role::Admin
                                | crate::domain::Role::GeneralManager
                                | crate::domain::Role::ServiceManager
                                | crate::domain::Role::Dispatcher
                                | crate::domain::Role::Quality
                        )
                    })
                });
            }
            _ => return false,
        };
        self.user.as_ref().is_some_and(|u| u.can(p))
    }

    pub fn has_role(&self, code: &str) -> bool {
        self.user.as_ref().is_some_and(|u| u.roles.iter().any(|r| r.code() == code))
    }

    /// Registers requests and dispatches: anyone but an engineer or warehouse clerk alone.
    pub fn is_office(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.roles.iter().any(|r| !matches!(r, Role::Engineer | Role::Warehouse)))
    }

    pub fn other_locale(&self) -> &'static str {
        if self.locale == "en" { "zh-CN" } else { "en" }
    }

    pub fn role_name(&self, role: &Role) -> String {
        self.t(&role.label_key())
    }

    pub fn roles(&self) -> String {
        self.user
            .as_ref()
            .map(|u| u.roles.iter().map(|r| self.role_name(r)).collect::<Vec<_>>().join("、"))
            .unwrap_or_default()
    }

    /// A UTC instant in the company's time zone (Asia/Shanghai), minute precision.
    pub fn time(&self, t: &chrono::DateTime<chrono::Utc>) -> String {
        t.with_timezone(&chrono_tz::Asia::Shanghai).format("%Y-%m-%d %H:%M").to_string()
    }

    /// `n` of `of` as a percentage with one decimal, "—" when there is nothing to count.
    pub fn percent(&self, n: &i64, of: &i64) -> String {
        if *of == 0 { "—".into() } else { format!("{:.1} %", *n as f64 * 100.0 / *of as f64) }
    }

    pub fn time_opt(&self, t: &Option<chrono::DateTime<chrono::Utc>>) -> String {
        t.as_ref().map(|t| self.time(t)).unwrap_or_else(|| "—".into())
    }
}

/// Field errors of a submitted form, in the page's language.
#[derive(Default)]
pub struct FormErrors {
    list: Vec<FieldError>,
    locale: &'static str,
}

impl FormErrors {
    pub fn new(list: Vec<FieldError>, locale: &'static str) -> Self {
        FormErrors { list, locale }
    }

    pub fn get(&self, field: &str) -> String {
        self.list.iter().filter(|f| f.field == field).map(|f| f.message(self.locale)).collect::<Vec<_>>().join("；")
    }

    pub fn any(&self) -> bool {
        !self.list.is_empty()
    }

    /// Every error of row `i` of a repeated group (`contacts[1].phone` …), field names included.
    pub fn row(&self, list: &str, i: &usize) -> String {
        let prefix = format!("{list}[{i}].");
        self.list
            .iter()
            .filter_map(|f| f.field.strip_prefix(&prefix).map(|rest| format!("{rest}: {}", f.message(self.locale))))
            .collect::<Vec<_>>()
            .join("；")
    }
}

/// A submitted form, keeping repeated keys (checkbox groups).
#[derive(Default)]
pub struct FormData(Vec<(String, String)>);

impl FormData {
    pub fn parse(body: &Bytes) -> FormData {
        FormData(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    pub fn get(&self, name: &str) -> String {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    /// A positive id typed or chosen in the form, else None.
    pub fn id(&self, name: &str) -> Option<i64> {
        self.get(name).trim().parse().ok().filter(|id| *id > 0)
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }

    /// Sets one value (a form shown with what the server knows, or what the user typed).
    pub fn set(&mut self, name: &str, value: &str) {
        self.0.retain(|(k, _)| k != name);
        self.0.push((name.to_owned(), value.to_owned()));
    }
}

pub(crate) fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => AppError::Internal(e.into()).into_response(),
    }
}

pub(crate) fn render_status<T: Template>(status: StatusCode, t: &T) -> Response {
    let mut r = render(t);
    if r.status() == StatusCode::OK {
        *r.status_mut() = status;
    }
    r
}

/// Only local paths: an open redirect to another site after login would help phishing.
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') { next } else { "/" }
}

fn set_cookie(res: &mut Response, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn session_cookie(st: &AppState, token: &str, max_age: i64) -> String {
    let secure = if st.config.secure_cookies() { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

fn lang_cookie(st: &AppState, locale: &str) -> String {
    let secure = if st.config.secure_cookies() { "; Secure" } else { "" };
    format!("{LANG_COOKIE}={locale}; Path=/; SameSite=Lax; Max-Age=31536000{secure}")
}

// ---------------------------------------------------------------- error page

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    l: Layout,
    status: u16,
    message: String,
    details: Vec<String>,
    request_id: String,
}

pub fn error_page(ctx: &Ctx, status: StatusCode, message: &str, err: &AppError) -> Response {
    let details = match err {
        AppError::Validation(list) => list.iter().map(|f| format!("{}: {}", f.field, f.message(ctx.locale))).collect(),
        _ => vec![],
    };
    let page = ErrorPage {
        l: Layout::new(ctx, "error.title"),
        status: status.as_u16(),
        message: message.to_string(),
        details,
        request_id: ctx.request_id.clone(),
    };
    render_status(status, &page)
}

// ---------------------------------------------------------------- login, logout, language

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    l: Layout,
    next: String,
    login: String,
    error: String,
}

#[derive(Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

async fn login_page(ctx: Ctx, Query(q): Query<NextQuery>) -> Response {
    if ctx.user.is_some() {
        return Redirect::to(safe_next(&q.next)).into_response();
    }
    render(&LoginPage { l: Layout::new(&ctx, "login.title"), next: q.next, login: String::new(), error: String::new() })
}

async fn login_submit(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    let (login, password, next) = (form.get("login"), form.get("password"), form.get("next"));
    let ua = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    match auth::login(&st.db, &st.config, &login, &password, &ctx.ip, ua).await {
        Ok(ok) => {
            let mut res = Redirect::to(safe_next(&next)).into_response();
            set_cookie(&mut res, session_cookie(&st, &ok.session_token, st.config.session_idle_minutes * 60));
            set_cookie(&mut res, lang_cookie(&st, &ok.user.locale));
            res
        }
        Err(e @ (AppError::Validation(_) | AppError::TooManyRequests(..))) => {
            let status = e.status();
            let page = LoginPage { l: Layout::new(&ctx, "login.title"), next, login, error: ctx.t(e.message_key()) };
            let page = match &e {
                AppError::Validation(list) => LoginPage {
                    error: list.first().map(|f| f.message(ctx.locale).to_string()).unwrap_or_default(),
                    ..page
                },
                _ => page,
            };
            render_status(status, &page)
        }
        Err(e) => e.into_response(),
    }
}

async fn logout(State(st): State<AppState>, ctx: Ctx) -> Response {
    if let Some(hash) = ctx.user.as_ref().and_then(|u| u.session.as_deref())
        && let Err(e) = auth::logout(&st.db, &st.auth_cache, hash).await
    {
        return e.into_response();
    }
    let mut res = Redirect::to("/login").into_response();
    set_cookie(&mut res, session_cookie(&st, "", 0));
    res
}

async fn set_lang(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    let locale = crate::i18n::normalize(&form.get("locale"));
    if let Some(u) = &ctx.user
        && let Err(e) = users::set_own_locale(&st.db, &st.auth_cache, &u.actor(&ctx.ip, &ctx.request_id), locale).await
    {
        return e.into_response();
    }
    let mut res = Redirect::to(safe_next(&form.get("next"))).into_response();
    set_cookie(&mut res, lang_cookie(&st, locale));
    res
}

// ---------------------------------------------------------------- home

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    l: Layout,
    company: String,
    region: String,
    backend: &'static str,
    version: &'static str,
}

async fn home(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let user = ctx.user()?;
    let mut c = st.db.read().await?;
    let company = store::settings::get(c.conn(), "company_name").await?.unwrap_or_default();
    let regions = store::settings::regions(c.conn()).await?;
    let region = match &user.region_code {
        Some(code) => {
            regions.iter().find(|r| &r.code == code).map(|r| r.name(ctx.locale).to_string()).unwrap_or_default()
        }
        None => ctx.t("home.all_regions"),
    };
    let backend = match st.db.backend() {
        crate::db::Backend::Sqlite => "SQLite",
        crate::db::Backend::Postgres => "PostgreSQL",
    };
    Ok(render(&HomePage {
        l: Layout::new(&ctx, "home.title"),
        company,
        region,
        backend,
        version: env!("CARGO_PKG_VERSION"),
    }))
}

// ---------------------------------------------------------------- own account

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    l: Layout,
    tokens: Vec<store::auth::ApiToken>,
    new_token: Option<String>,
    errors: FormErrors,
    notice: String,
}

async fn account_view(
    st: &AppState,
    ctx: &Ctx,
    new_token: Option<String>,
    errors: Vec<FieldError>,
    notice: &str,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let user_id = ctx.user()?.id;
    let list = tokens::list(&st.db, &actor, user_id).await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = AccountPage {
        l: Layout::new(ctx, "account.title"),
        tokens: list,
        new_token,
        errors: FormErrors::new(errors, ctx.locale),
        notice: if notice.is_empty() { String::new() } else { ctx.t(notice) },
    };
    Ok(render_status(status, &page))
}

#[derive(Deserialize)]
struct NoticeQuery {
    #[serde(default)]
    ok: String,
}

fn notice_key(ok: &str) -> &'static str {
    match ok {
        "saved" => "notice.saved",
        "password" => "notice.password_changed",
        "revoked" => "notice.token_revoked",
        "created" => "notice.created",
        _ => "",
    }
}

async fn account_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<NoticeQuery>) -> AppResult<Response> {
    account_view(&st, &ctx, None, vec![], notice_key(&q.ok)).await
}

async fn account_password(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let actor = ctx.actor()?;
    let (new, confirm) = (form.get("new_password"), form.get("confirm_password"));
    if new != confirm {
        return account_view(
            &st,
            &ctx,
            None,
            vec![crate::i18n::field_error("confirm_password", "error.password_mismatch")],
            "",
        )
        .await;
    }
    match users::change_own_password(&st.db, &actor, &form.get("current_password"), &new).await {
        Ok(()) => Ok(Redirect::to("/account?ok=password").into_response()),
        Err(AppError::Validation(list)) => account_view(&st, &ctx, None, list, "").await,
        Err(e) => Err(e),
    }
}

async fn account_token_create(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let actor = ctx.actor()?;
    match tokens::create(&st.db, &actor, ctx.user()?.id, &form.get("name"), None).await {
        // Shown on this response only: the secret is not stored and cannot be shown again.
        Ok(created) => account_view(&st, &ctx, Some(created.token), vec![], "notice.token_created").await,
        Err(AppError::Validation(list)) => account_view(&st, &ctx, None, list, "").await,
        Err(e) => Err(e),
    }
}

async fn account_token_revoke(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    tokens::revoke(&st.db, &st.auth_cache, &ctx.actor()?, id).await?;
    Ok(Redirect::to("/account?ok=revoked").into_response())
}

// ---------------------------------------------------------------- user administration

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    l: Layout,
    users: Vec<store::users::User>,
    regions: Vec<store::settings::Region>,
    /// Every team's (id, name), for the team column.
    teams: Vec<(i64, String)>,
    all_roles: Vec<Role>,
    q: String,
    role: String,
    region: String,
    next_after: Option<i64>,
    notice: String,
}

impl UsersPage {
    fn team_name(&self, id: &Option<i64>) -> String {
        id.and_then(|id| self.teams.iter().find(|(t, _)| *t == id)).map(|(_, n)| n.clone()).unwrap_or_default()
    }
    fn region_name(&self, code: &Option<String>) -> String {
        match code {
            Some(c) => self
                .regions
                .iter()
                .find(|r| &r.code == c)
                .map(|r| r.name(self.l.locale).to_string())
                .unwrap_or(c.clone()),
            None => self.l.t("home.all_regions"),
        }
    }
}

#[derive(Deserialize)]
struct UsersQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    region: String,
    after: Option<i64>,
    #[serde(default)]
    ok: String,
}

const PAGE_SIZE: i64 = 50;

async fn users_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<UsersQuery>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let filter = store::users::ListFilter {
        q: Some(q.q.clone()).filter(|s| !s.trim().is_empty()),
        role: Role::parse(&q.role),
        region: Some(q.region.clone()).filter(|s| !s.is_empty()),
        active: None,
        after_id: q.after,
        limit: PAGE_SIZE + 1,
    };
    let mut list = users::list(&st.db, &actor, &filter).await?;
    let next_after = if list.len() as i64 > PAGE_SIZE {
        list.truncate(PAGE_SIZE as usize);
        list.last().map(|u| u.id)
    } else {
        None
    };
    let mut c = st.db.read().await?;
    let regions = store::settings::regions(c.conn()).await?;
    let teams = store::teams::names(c.conn()).await?.into_iter().map(|(id, name, _, _)| (id, name)).collect();
    Ok(render(&UsersPage {
        l: Layout::new(&ctx, "users.title"),
        users: list,
        regions,
        teams,
        all_roles: Role::ALL.to_vec(),
        q: q.q,
        role: q.role,
        region: q.region,
        next_after,
        notice: match notice_key(&q.ok) {
            "" => String::new(),
            k => ctx.t(k),
        },
    }))
}

/// The create and edit form share one template.
#[derive(Template)]
#[template(path = "user_form.html")]
struct UserForm {
    l: Layout,
    /// None when creating.
    id: Option<i64>,
    version: i64,
    login: String,
    display_name: String,
    email: String,
    phone: String,
    roles: Vec<String>,
    region: String,
    locale: String,
    active: bool,
    regions: Vec<store::settings::Region>,
    all_roles: Vec<Role>,
    errors: FormErrors,
    notice: String,
}

impl UserForm {
    fn has_role(&self, r: &Role) -> bool {
        self.roles.iter().any(|x| x == r.code())
    }
}

async fn blank_form(st: &AppState, ctx: &Ctx) -> AppResult<UserForm> {
    ctx.actor()?.require(Perm::ManageUsers)?;
    let mut c = st.db.read().await?;
    Ok(UserForm {
        l: Layout::new(ctx, "users.new"),
        id: None,
        version: 0,
        login: String::new(),
        display_name: String::new(),
        email: String::new(),
        phone: String::new(),
        roles: vec![],
        region: String::new(),
        locale: "zh-CN".into(),
        active: true,
        regions: store::settings::regions(c.conn()).await?,
        all_roles: Role::ALL.to_vec(),
        errors: FormErrors::default(),
        notice: String::new(),
    })
}

async fn user_new_page(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    Ok(render(&blank_form(&st, &ctx).await?))
}

async fn user_create(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let f = FormData::parse(&body);
    let actor = ctx.actor()?;
    let input = users::NewUserInput {
        login: f.get("login"),
        display_name: f.get("display_name"),
        password: f.get("password"),
        email: f.get("email"),
        phone: f.get("phone"),
        roles: f.all("roles"),
        region: f.get("region"),
        locale: f.get("locale"),
    };
    match users::create(&st.db, &actor, &input, None).await {
        Ok(u) => Ok(Redirect::to(&format!("/admin/users/{}?ok=created", u.id)).into_response()),
        Err(AppError::Validation(list)) => {
            let form = UserForm {
                login: input.login,
                display_name: input.display_name,
                email: input.email,
                phone: input.phone,
                roles: input.roles,
                region: input.region,
                locale: input.locale,
                errors: FormErrors::new(list, ctx.locale),
                ..blank_form(&st, &ctx).await?
            };
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &form))
        }
        Err(e) => Err(e),
    }
}

async fn user_edit_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let u = users::get(&st.db, &actor, id).await?;
    let form = UserForm {
        l: Layout::new(&ctx, "users.edit"),
        id: Some(u.id),
        version: u.version,
        login: u.login,
        display_name: u.display_name,
        email: u.email.unwrap_or_default(),
        phone: u.phone.unwrap_or_default(),
        roles: u.roles.iter().map(|r| r.code().to_string()).collect(),
        region: u.region_code.unwrap_or_default(),
        locale: u.locale,
        active: u.active,
        notice: match notice_key(&q.ok) {
            "" => String::new(),
            k => ctx.t(k),
        },
        ..blank_form(&st, &ctx).await?
    };
    Ok(render(&form))
}

async fn user_update(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> AppResult<Response> {
    let f = FormData::parse(&body);
    let actor = ctx.actor()?;
    let input = users::UpdateUserInput {
        version: f.get("version").parse().unwrap_or(-1),
        display_name: f.get("display_name"),
        email: f.get("email"),
        phone: f.get("phone"),
        roles: f.all("roles"),
        region: f.get("region"),
        locale: f.get("locale"),
        active: f.get("active") == "on",
    };
    let rerender = |list: Vec<FieldError>, login: String| async {
        let form = UserForm {
            l: Layout::new(&ctx, "users.edit"),
            id: Some(id),
            version: input.version,
            login,
            display_name: input.display_name.clone(),
            email: input.email.clone(),
            phone: input.phone.clone(),
            roles: input.roles.clone(),
            region: input.region.clone(),
            locale: input.locale.clone(),
            active: input.active,
            errors: FormErrors::new(list, ctx.locale),
            ..blank_form(&st, &ctx).await?
        };
        AppResult::Ok(form)
    };
    match users::update(&st.db, &st.auth_cache, &actor, id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/users/{id}?ok=saved")).into_response()),
        Err(AppError::Validation(list)) => {
            let login = users::get(&st.db, &actor, id).await?.login;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &rerender(list, login).await?))
        }
        Err(AppError::Conflict(key)) => {
            // Keep what the user typed, say why, and offer the current version to compare.
            let current = users::get(&st.db, &actor, id).await?;
            let mut form = rerender(vec![], current.login).await?;
            form.version = current.version;
            form.notice = ctx.t(key);
            Ok(render_status(StatusCode::CONFLICT, &form))
        }
        Err(e) => Err(e),
    }
}

async fn user_reset_password(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    let f = FormData::parse(&body);
    let actor = ctx.actor()?;
    match users::reset_password(&st.db, &st.auth_cache, &actor, id, &f.get("password")).await {
        Ok(()) => Ok(Redirect::to(&format!("/admin/users/{id}?ok=password")).into_response()),
        Err(AppError::Validation(list)) => {
            let u = users::get(&st.db, &actor, id).await?;
            let form = UserForm {
                l: Layout::new(&ctx, "users.edit"),
                id: Some(u.id),
                version: u.version,
                login: u.login,
                display_name: u.display_name,
                email: u.email.unwrap_or_default(),
                phone: u.phone.unwrap_or_default(),
                roles: u.roles.iter().map(|r| r.code().to_string()).collect(),
                region: u.region_code.unwrap_or_default(),
                locale: u.locale,
                active: u.active,
                errors: FormErrors::new(list, ctx.locale),
                ..blank_form(&st, &ctx).await?
            };
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &form))
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- audit trail

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    l: Layout,
    entries: Vec<store::audit::Entry>,
    entity_type: String,
    entity_id: String,
    next_before: Option<i64>,
}

#[derive(Deserialize)]
struct AuditQuery {
    #[serde(default)]
    entity_type: String,
    #[serde(default)]
    entity_id: String,
    before: Option<i64>,
}

async fn audit_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<AuditQuery>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let filter = store::audit::Filter {
        entity_type: Some(q.entity_type.clone()).filter(|s| !s.is_empty()),
        entity_id: Some(q.entity_id.clone()).filter(|s| !s.is_empty()),
        actor_id: None,
        before_id: q.before,
        limit: PAGE_SIZE + 1,
    };
    let mut entries = audit_service::list(&st.db, &actor, &filter).await?;
    let next_before = if entries.len() as i64 > PAGE_SIZE {
        entries.truncate(PAGE_SIZE as usize);
        entries.last().map(|e| e.id)
    } else {
        None
    };
    Ok(render(&AuditPage {
        l: Layout::new(&ctx, "audit.title"),
        entries,
        entity_type: q.entity_type,
        entity_id: q.entity_id,
        next_before,
    }))
}

// ---------------------------------------------------------------- assets

const CSS: &str = include_str!("../../static/app.css");
const JS: &str = include_str!("../../static/app.js");

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], CSS)
        .into_response()
}

async fn js() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], JS)
        .into_response()
}
