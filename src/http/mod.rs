//! The web server: routes, the request context (id, address, language, user) and the
//! rendering of errors. Handlers stay thin: extract, parse, call one service, render.

pub mod analysis;
pub mod api;
pub mod appraisal;
pub mod archive;
pub mod calendars;
pub mod campaigns;
pub mod care;
pub mod care_plans;
pub mod certification;
pub mod complaints;
pub mod dashboard;
pub mod entitlement;
pub mod exports;
pub mod handbook;
pub mod import;
pub mod objectives;
pub mod parts;
pub mod reports;
pub mod sla;
pub mod stock;
pub mod svg;
pub mod teams;
pub mod web;
pub mod work_orders;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Config;
use crate::db::Db;
use crate::error::{AppError, PendingError};
use crate::i18n::{self, tr};
use crate::service::Actor;
use crate::service::auth::{self, CurrentUser};

pub const SESSION_COOKIE: &str = "as_sid";
pub const LANG_COOKIE: &str = "as_lang";

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub metrics: PrometheusHandle,
    pub started: Instant,
    /// Company entitlement policies resolved recently (see `service::entitlement`).
    pub policies: Arc<crate::service::entitlement::PolicyCache>,
    /// Tokens and sessions resolved recently (see `service::auth::AuthCache`).
    pub auth_cache: Arc<auth::AuthCache>,
    /// Calendars compiled recently (see `service::calendars`).
    pub calendars: Arc<crate::service::calendars::CalendarCache>,
    /// Photos and signatures (see `files`).
    pub files: crate::files::Files,
    /// Writes new orders in groups (see `service::intake`).
    pub intake: crate::service::intake::Intake,
    /// SLA policies and clocks (see `service::sla`).
    pub sla: crate::service::sla::Sla,
    /// Posts stock movements (in groups on SQLite, see `service::stock::Poster`).
    pub stock: crate::service::stock::Poster,
    /// Requests begun since the start: the idle job (`jobs::idle`) watches it.
    pub requests: Arc<AtomicU64>,
}

impl AppState {
    /// Fails when the files folder cannot be created.
    pub fn new(db: Db, config: Config) -> anyhow::Result<AppState> {
        let files = crate::files::Files::local(&config.files_dir)?;
        let calendars = Arc::new(crate::service::calendars::CalendarCache::new());
        let sla = crate::service::sla::Sla::new(calendars.clone());
        Ok(AppState {
            files,
            intake: crate::service::intake::Intake::spawn(&db, &sla),
            stock: crate::service::stock::Poster::spawn(&db),
            sla,
            db,
            config: Arc::new(config),
            metrics: metrics_handle(),
            started: Instant::now(),
            policies: Arc::new(crate::service::entitlement::PolicyCache::new()),
            auth_cache: Arc::new(auth::AuthCache::new()),
            calendars,
            requests: Arc::new(AtomicU64::new(0)),
        })
    }
}

/// The Prometheus recorder is process-wide; tests start several servers in one process.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (e.g. by an embedding program); then our
            // metrics go there and /metrics shows an empty page rather than failing.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// What every handler may know about its request. Set by [`context`] before the handler runs.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub request_id: String,
    pub ip: String,
    pub locale: &'static str,
    pub user: Option<CurrentUser>,
    pub path: String,
}

impl Ctx {
    pub fn t(&self, key: &str) -> String {
        tr(self.locale, key)
    }

    /// The signed-in user, or 401 (the web turns that into a redirect to the login).
    pub fn user(&self) -> Result<&CurrentUser, AppError> {
        self.user.as_ref().ok_or(AppError::Unauthorized)
    }

    pub fn actor(&self) -> Result<Actor, AppError> {
        Ok(self.user()?.actor(&self.ip, &self.request_id))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("request context missing")))
    }
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn request_id() -> String {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("random source");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn client_ip(req: &Request, cfg: &Config) -> String {
    if cfg.trust_forwarded_for
        && let Some(first) =
            req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok()).and_then(|v| v.split(',').next())
    {
        return first.trim().to_string();
    }
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()).unwrap_or_else(|| "unknown".into())
}

/// Builds the [`Ctx`]: who is asking (session cookie or bearer token), from where, in which
/// language. Then renders any error the handler returned, and counts the request.
async fn context(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    st.requests.fetch_add(1, Ordering::Relaxed);
    let rid = request_id();
    let ip = client_ip(&req, &st.config);
    let path = req.uri().path().to_string();
    let is_api = path.starts_with("/api/");
    let route =
        req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let headers = req.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let session = cookie(headers, SESSION_COOKIE).map(str::to_string);
    let lang_cookie = cookie(headers, LANG_COOKIE).map(i18n::normalize);
    let accept =
        headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(i18n::from_accept_language);

    let user = match (&bearer, &session) {
        (Some(t), _) => auth::from_token(&st.db, &st.auth_cache, t).await,
        (None, Some(s)) => auth::from_session(&st.db, &st.config, &st.auth_cache, s).await,
        (None, None) => Ok(None),
    };
    let (user, failure) = match user {
        Ok(u) => (u, None),
        Err(e) => (None, Some(e)),
    };
    // A bearer token that matches nothing is an error, not an anonymous request.
    let bad_token = bearer.is_some() && user.is_none() && failure.is_none();
    let locale = match &user {
        Some(u) => i18n::normalize(&u.locale),
        None => lang_cookie.or(accept).unwrap_or(i18n::DEFAULT_LOCALE),
    };
    let ctx = Ctx { request_id: rid.clone(), ip, locale, user, path: path.clone() };
    req.extensions_mut().insert(ctx.clone());

    let mut res = if let Some(e) = failure {
        e.into_response()
    } else if bad_token {
        AppError::Unauthorized.into_response()
    } else {
        next.run(req).await
    };
    if let Some(PendingError(err)) = res.extensions_mut().remove::<PendingError>() {
        res = render_error(&ctx, is_api, &err);
    }
    if let Ok(v) = HeaderValue::from_str(&rid) {
        res.headers_mut().insert("x-request-id", v);
    }
    let status = res.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    res
}

fn render_error(ctx: &Ctx, is_api: bool, err: &AppError) -> Response {
    if let AppError::Internal(e) = err {
        tracing::error!(request_id = %ctx.request_id, error = ?e, "internal error");
    }
    let status = err.status();
    let message = ctx.t(err.message_key());
    if is_api {
        let mut fields = serde_json::Map::new();
        if let AppError::Validation(list) = err {
            for f in list {
                let entry = fields.entry(f.field.clone()).or_insert_with(|| serde_json::json!([]));
                if let Some(a) = entry.as_array_mut() {
                    a.push(f.message(ctx.locale).into());
                }
            }
        }
        let body = serde_json::json!({"error": {
            "code": err.code(), "message": message, "fields": fields, "request_id": ctx.request_id,
        }});
        let mut res = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        return res;
    }
    if matches!(err, AppError::Unauthorized) {
        let next = urlencode(&ctx.path);
        return Redirect::to(&format!("/login?next={next}")).into_response();
    }
    web::error_page(ctx, status, &message, err)
}

/// Percent-encodes everything but unreserved characters and `/`.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn healthz(State(st): State<AppState>) -> Response {
    let backend = match st.db.backend() {
        crate::db::Backend::Sqlite => "sqlite",
        crate::db::Backend::Postgres => "postgres",
    };
    match st.db.ping().await {
        Ok(()) => axum::Json(serde_json::json!({"status": "ok", "database": backend})).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({"status": "unavailable", "database": backend})),
            )
                .into_response()
        }
    }
}

async fn metrics_page(State(st): State<AppState>) -> Response {
    let mut body = st.metrics.render();
    body.push_str(&format!(
        "# HELP aftersales_uptime_seconds Seconds since this instance started.\n\
         # TYPE aftersales_uptime_seconds gauge\naftersales_uptime_seconds {}\n",
        st.started.elapsed().as_secs()
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// The OpenAPI document: each capability's module contributes its own `ApiDoc`.
pub fn openapi_doc() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    // Capability modules merge their documents here, one line each.
    let mut doc = api::ApiDoc::openapi();
    doc.merge(archive::ApiDoc::openapi());
    doc.merge(import::ApiDoc::openapi());
    doc.merge(entitlement::ApiDoc::openapi());
    doc.merge(calendars::ApiDoc::openapi());
    doc.merge(exports::ApiDoc::openapi());
    doc.merge(work_orders::ApiDoc::openapi());
    doc.merge(sla::ApiDoc::openapi());
    doc.merge(care::ApiDoc::openapi());
    doc.merge(campaigns::ApiDoc::openapi());
    doc.merge(complaints::ApiDoc::openapi());
    doc.merge(parts::ApiDoc::openapi());
    doc.merge(care_plans::ApiDoc::openapi());
    doc.merge(certification::ApiDoc::openapi());
    doc.merge(stock::ApiDoc::openapi());
    doc.merge(objectives::ApiDoc::openapi());
    doc.merge(reports::ApiDoc::openapi());
    doc.merge(analysis::ApiDoc::openapi());
    doc.merge(handbook::ApiDoc::openapi());
    doc.merge(appraisal::ApiDoc::openapi());
    doc.merge(dashboard::ApiDoc::openapi());
    doc.merge(teams::ApiDoc::openapi());
    doc
}

pub fn router(state: AppState) -> Router {
    // Capability modules add their page routes to `pages` and API routes to `api`, one line each.
    let pages = web::routes()
        .merge(archive::pages())
        .merge(import::pages())
        .merge(entitlement::pages())
        .merge(calendars::pages())
        .merge(exports::pages())
        .merge(work_orders::pages())
        .merge(sla::pages())
        .merge(care::pages())
        .merge(campaigns::pages())
        .merge(complaints::pages())
        .merge(parts::pages())
        .merge(care_plans::pages())
        .merge(stock::pages())
        .merge(objectives::pages())
        .merge(reports::pages())
        .merge(analysis::pages())
        .merge(certification::pages())
        .merge(handbook::pages())
        .merge(appraisal::pages())
        .merge(dashboard::pages())
        .merge(teams::pages());
    let api = api::routes()
        .merge(archive::api())
        .merge(import::api())
        .merge(entitlement::api())
        .merge(calendars::api())
        .merge(exports::api())
        .merge(work_orders::api())
        .merge(sla::api())
        .merge(care::api())
        .merge(campaigns::api())
        .merge(complaints::api())
        .merge(parts::api())
        .merge(care_plans::api())
        .merge(stock::api())
        .merge(objectives::api())
        .merge(reports::api())
        .merge(analysis::api())
        .merge(certification::api())
        .merge(handbook::api())
        .merge(appraisal::api())
        .merge(dashboard::api())
        .merge(teams::api());
    Router::new()
        .merge(pages)
        .nest("/api/v1", api)
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_page))
        .layer(middleware::from_fn_with_state(state.clone(), context))
        .layer(CsrfLayer::new())
        // 1 MiB for every body; the upload routes raise it for themselves.
        .layer(axum::extract::DefaultBodyLimit::max(1024 * 1024))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'",
            ),
        ))
        .layer(CatchPanicLayer::new())
        .with_state(state)
}
