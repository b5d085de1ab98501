//! JSON API under `/api/v1`, described by the OpenAPI document at `/api/v1/openapi.json`.
//! Errors have one shape: `{"error": {"code", "message", "fields", "request_id"}}`.

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{AppState, Ctx};
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::service::{Idem, audit, replay, tokens, users};
use crate::store;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/me", get(me))
        .route("/regions", get(regions))
        .route("/users", get(list_users).post(create_user))
        .route("/users/{id}", get(get_user).put(update_user))
        .route("/users/{id}/password", post(reset_password))
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{id}", delete(revoke_token))
        .route("/audit", get(list_audit))
        .fallback(|| async { AppError::NotFound })
}

/// A JSON body whose syntax or shape errors come back in our error format.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => {
                let mut e = field_error("body", "error.bad_json");
                let detail = match &rejection {
                    JsonRejection::JsonDataError(d) => d.body_text(),
                    JsonRejection::JsonSyntaxError(d) => d.body_text(),
                    other => other.body_text(),
                };
                e.message_zh = format!("{}：{detail}", e.message_zh);
                e.message_en = format!("{}: {detail}", e.message_en);
                Err(AppError::Validation(vec![e]))
            }
        }
    }
}

/// Query strings get the same treatment: a bad parameter is named.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, s: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, s).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(rejection) => {
                let mut e = field_error("query", "error.bad_parameter");
                let detail = rejection.body_text();
                e.message_zh = format!("{}：{detail}", e.message_zh);
                e.message_en = format!("{}: {detail}", e.message_en);
                Err(AppError::Validation(vec![e]))
            }
        }
    }
}

pub(crate) fn idempotency_key(headers: &HeaderMap) -> AppResult<Option<String>> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => match v.to_str() {
            Ok(s) if !s.trim().is_empty() && s.len() <= 255 => Ok(Some(s.trim().to_string())),
            _ => Err(AppError::one("Idempotency-Key", "error.bad_parameter")),
        },
    }
}

/// A stored answer replayed for a repeated `Idempotency-Key`.
/// An API create that takes an `Idempotency-Key`: a key seen before replays the first answer;
/// otherwise `create` runs with it (and stores its answer in its own transaction), answering 201.
pub(crate) async fn create_once<T: Serialize>(
    st: &AppState,
    actor: &crate::service::Actor,
    headers: &HeaderMap,
    scope: &'static str,
    create: impl AsyncFnOnce(Option<&Idem<'_>>) -> AppResult<T>,
) -> AppResult<Response> {
    let key = idempotency_key(headers)?;
    let idem = key.as_deref().map(|key| Idem { key, scope });
    if let Some(idem) = &idem
        && let Some((status, body)) = replay(&st.db, actor, idem).await?
    {
        return Ok(replayed(status, body));
    }
    let created = create(idem.as_ref()).await?;
    Ok((StatusCode::CREATED, axum::Json(created)).into_response())
}

/// The key a page form carries (made when the form was shown, so a double click creates once),
/// and the id of what an earlier submission with it created, read at `pointer` (a JSON pointer
/// such as `/complaint/id`) in the answer stored then.
pub(crate) async fn page_idem<'k>(
    st: &AppState,
    actor: &crate::service::Actor,
    key: &'k str,
    scope: &'static str,
    pointer: &str,
) -> AppResult<(Option<Idem<'k>>, Option<i64>)> {
    let idem = (!key.trim().is_empty()).then(|| Idem { key: key.trim(), scope });
    let done = match &idem {
        Some(idem) => replay(&st.db, actor, idem)
            .await?
            .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok()?.pointer(pointer)?.as_i64()),
        None => None,
    };
    Ok((idem, done))
}

pub(crate) fn replayed(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut res = (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response();
    res.headers_mut().insert("idempotent-replayed", axum::http::HeaderValue::from_static("true"));
    res
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    id: i64,
    login: String,
    display_name: String,
    roles: Vec<Role>,
    region_code: Option<String>,
    locale: String,
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = Me), (status = 401)), tag = "accounts")]
async fn me(ctx: Ctx) -> AppResult<axum::Json<Me>> {
    let u = ctx.user()?;
    Ok(axum::Json(Me {
        id: u.id,
        login: u.login.clone(),
        display_name: u.display_name.clone(),
        roles: u.roles.clone(),
        region_code: u.region_code.clone(),
        locale: u.locale.clone(),
    }))
}

/// Sales and service regions (used for dispatch and access).
#[utoipa::path(get, path = "/api/v1/regions", responses((status = 200, body = [store::settings::Region])), tag = "accounts")]
async fn regions(State(st): State<AppState>, ctx: Ctx) -> AppResult<axum::Json<Vec<store::settings::Region>>> {
    ctx.user()?;
    let mut c = st.db.read().await?;
    Ok(axum::Json(store::settings::regions(c.conn()).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UserListQuery {
    /// Substring of login, name, e-mail or phone.
    q: Option<String>,
    role: Option<String>,
    region: Option<String>,
    active: Option<bool>,
    /// Cursor: the `next_after` of the previous page.
    after: Option<i64>,
    /// 1–200, default 50.
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct UserPage {
    items: Vec<store::users::User>,
    /// Pass as `after` to get the next page; null on the last page.
    next_after: Option<i64>,
}

/// A yes/no query parameter (`1`, `true`, `on` / empty, `0`, `false`); anything else is a
/// field error on `field` and counts as no.
pub(crate) fn flag_param(field: &str, raw: &str, errors: &mut Vec<rules::FieldError>) -> bool {
    match raw.trim() {
        "" | "0" | "false" => false,
        "1" | "true" | "on" => true,
        _ => {
            errors.push(crate::i18n::field_error(field, "error.bad_parameter"));
            false
        }
    }
}

pub(crate) fn page_limit(limit: Option<i64>) -> AppResult<i64> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=200).contains(&n) => Ok(n),
        Some(_) => Err(AppError::one("limit", "error.bad_parameter")),
    }
}

/// Lists users (administrators).
#[utoipa::path(get, path = "/api/v1/users", params(UserListQuery), responses((status = 200, body = UserPage), (status = 403)), tag = "accounts")]
async fn list_users(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<UserListQuery>,
) -> AppResult<axum::Json<UserPage>> {
    let limit = page_limit(q.limit)?;
    let role = match q.role.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => Some(Role::parse(r).ok_or_else(|| AppError::one("role", "error.unknown_role"))?),
        None => None,
    };
    let filter = store::users::ListFilter {
        q: q.q.filter(|s| !s.trim().is_empty()),
        role,
        region: q.region.filter(|s| !s.is_empty()),
        active: q.active,
        after_id: q.after,
        limit: limit + 1,
    };
    let mut items = users::list(&st.db, &ctx.actor()?, &filter).await?;
    let next_after = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|u| u.id)
    } else {
        None
    };
    Ok(axum::Json(UserPage { items, next_after }))
}

/// Creates a user (administrators). Send `Idempotency-Key` to make retries safe.
#[utoipa::path(post, path = "/api/v1/users", request_body = users::NewUserInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first answer")),
    responses((status = 201, body = store::users::User), (status = 422), (status = 403)), tag = "accounts")]
async fn create_user(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<users::NewUserInput>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    create_once(&st, &actor, &headers, "users.create", async |idem| users::create(&st.db, &actor, &input, idem).await)
        .await
}

/// One user (administrators, or oneself).
#[utoipa::path(get, path = "/api/v1/users/{id}", responses((status = 200, body = store::users::User), (status = 404)), tag = "accounts")]
async fn get_user(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<store::users::User>> {
    Ok(axum::Json(users::get(&st.db, &ctx.actor()?, id).await?))
}

/// Replaces a user's editable fields; `version` must be the one read, else 409.
#[utoipa::path(put, path = "/api/v1/users/{id}", request_body = users::UpdateUserInput,
    responses((status = 200, body = store::users::User), (status = 409), (status = 422)), tag = "accounts")]
async fn update_user(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<users::UpdateUserInput>,
) -> AppResult<axum::Json<store::users::User>> {
    Ok(axum::Json(users::update(&st.db, &st.auth_cache, &ctx.actor()?, id, &input).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordInput {
    password: String,
}

/// Sets a new password (administrators); the user's sessions end.
#[utoipa::path(post, path = "/api/v1/users/{id}/password", request_body = PasswordInput,
    responses((status = 204), (status = 422)), tag = "accounts")]
async fn reset_password(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<PasswordInput>,
) -> AppResult<StatusCode> {
    users::reset_password(&st.db, &st.auth_cache, &ctx.actor()?, id, &input.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's API tokens (never the secrets).
#[utoipa::path(get, path = "/api/v1/tokens", responses((status = 200, body = [store::auth::ApiToken])), tag = "accounts")]
async fn list_tokens(State(st): State<AppState>, ctx: Ctx) -> AppResult<axum::Json<Vec<store::auth::ApiToken>>> {
    let u = ctx.user()?;
    Ok(axum::Json(tokens::list(&st.db, &ctx.actor()?, u.id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct TokenInput {
    name: String,
}

/// Creates an API token for the caller; the secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/tokens", request_body = TokenInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first answer")),
    responses((status = 201, body = tokens::CreatedToken), (status = 422)), tag = "accounts")]
async fn create_token(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<TokenInput>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    create_once(&st, &actor, &headers, "tokens.create", async |idem| {
        tokens::create(&st.db, &actor, ctx.user()?.id, &input.name, idem).await
    })
    .await
}

/// Revokes one of the caller's tokens (administrators: anyone's).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", responses((status = 204), (status = 404)), tag = "accounts")]
async fn revoke_token(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<StatusCode> {
    tokens::revoke(&st.db, &st.auth_cache, &ctx.actor()?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    entity_type: Option<String>,
    entity_id: Option<String>,
    actor_id: Option<i64>,
    /// Cursor: the `next_before` of the previous page.
    before: Option<i64>,
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    items: Vec<store::audit::Entry>,
    next_before: Option<i64>,
}

/// The audit trail, newest first (managers and administrators).
#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery), responses((status = 200, body = AuditPage), (status = 403)), tag = "audit")]
async fn list_audit(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> AppResult<axum::Json<AuditPage>> {
    let limit = page_limit(q.limit)?;
    let filter = store::audit::Filter {
        entity_type: q.entity_type,
        entity_id: q.entity_id,
        actor_id: q.actor_id,
        before_id: q.before,
        limit: limit + 1,
    };
    let mut items = audit::list(&st.db, &ctx.actor()?, &filter).await?;
    let next_before = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|e| e.id)
    } else {
        None
    };
    Ok(axum::Json(AuditPage { items, next_before }))
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Aftersales API", description = "售后服务管理系统 — JSON API. Authenticate with `Authorization: Bearer TOKEN` (create tokens on the account page or with `aftersales token create`)."),
    paths(me, regions, list_users, create_user, get_user, update_user, reset_password, list_tokens, create_token, revoke_token, list_audit),
    tags((name = "accounts"), (name = "audit"))
)]
pub struct ApiDoc;

async fn openapi() -> impl IntoResponse {
    axum::Json(super::openapi_doc())
}
