//! Spreadsheet import pages and API: upload, preview with column mapping, check, import.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use super::api::ApiQuery;
use super::web::{FormData, FormErrors, Layout};
use super::{AppState, Ctx};
use crate::error::{AppError, AppResult};
use crate::service::import::{self, Grid, Kind, Options, Report};

/// Spreadsheets of 100,000 rows run to tens of megabytes.
const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/import", get(upload_page).post(upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)))
        .route("/import/{id}", get(preview_page).post(preview_submit))
}

pub fn api() -> Router<AppState> {
    Router::new().route("/import/{kind}", post(api_import).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)))
}

#[derive(Template)]
#[template(path = "archive/import.html")]
struct UploadPage {
    l: Layout,
    kind: String,
    /// The kinds the user may import: code and label.
    kinds: Vec<(&'static str, String)>,
    errors: FormErrors,
}

const KINDS: [(Kind, &str); 5] = [
    (Kind::Customers, "archive.customers"),
    (Kind::Units, "archive.units"),
    (Kind::Models, "archive.products"),
    (Kind::Parts, "part.title"),
    (Kind::Stock, "part.opening_stock"),
];

/// What the user may import, or 403 when nothing.
fn kinds_for(ctx: &Ctx) -> AppResult<Vec<(&'static str, String)>> {
    let actor = ctx.actor()?;
    let kinds: Vec<(&'static str, String)> =
        KINDS.iter().filter(|(k, _)| k.allowed(&actor)).map(|(k, label)| (k.code(), ctx.t(label))).collect();
    if kinds.is_empty() { Err(AppError::Forbidden) } else { Ok(kinds) }
}

#[derive(Deserialize)]
struct KindQuery {
    #[serde(default)]
    kind: String,
}

async fn upload_page(ctx: Ctx, Query(q): Query<KindQuery>) -> AppResult<Response> {
    let kinds = kinds_for(&ctx)?;
    let kind = Kind::parse(&q.kind).map(Kind::code).filter(|k| kinds.iter().any(|(c, _)| c == k)).unwrap_or(kinds[0].0);
    let page =
        UploadPage { l: Layout::new(&ctx, "import.title"), kind: kind.into(), kinds, errors: FormErrors::default() };
    Ok(super::web::render(&page))
}

async fn upload(State(st): State<AppState>, ctx: Ctx, mut mp: Multipart) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let (mut kind, mut file): (String, Option<(String, Bytes)>) = (String::new(), None);
    while let Some(field) = mp.next_field().await.map_err(|_| AppError::one("file", "import.error_unreadable"))? {
        match field.name() {
            Some("kind") => kind = field.text().await.unwrap_or_default(),
            Some("file") => {
                let name = field.file_name().unwrap_or("upload").to_string();
                let bytes = field.bytes().await.map_err(|_| AppError::one("file", "import.error_too_large"))?;
                file = Some((name, bytes));
            }
            _ => {}
        }
    }
    let kind_parsed = Kind::parse(&kind);
    let result = match (&file, kind_parsed) {
        (Some((name, bytes)), Some(k)) if !bytes.is_empty() => {
            let (name, bytes) = (name.clone(), bytes.clone());
            let parsed = tokio::task::spawn_blocking(move || import::parse_file(&name, &bytes))
                .await
                .map_err(anyhow::Error::from)?;
            parsed.map(|g| (k, g))
        }
        (_, None) => Err(crate::i18n::field_error("kind", "error.bad_parameter")),
        _ => Err(crate::i18n::field_error("file", "error.required")),
    };
    match result {
        Ok((k, grid)) => {
            let filename = file.map(|f| f.0).unwrap_or_default();
            let id = import::store_upload(&st.db, &actor, k, &filename, &grid).await?;
            Ok(Redirect::to(&format!("/import/{id}")).into_response())
        }
        Err(e) => {
            let kinds = kinds_for(&ctx)?;
            let errors = FormErrors::new(vec![e], ctx.locale);
            let page = UploadPage { l: Layout::new(&ctx, "import.title"), kind, kinds, errors };
            Ok(super::web::render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// Rows shown in the preview.
const PREVIEW_ROWS: usize = 10;
/// Errors listed on the page (all are counted).
const SHOWN_ERRORS: usize = 500;

#[derive(Template)]
#[template(path = "archive/import_preview.html")]
struct PreviewPage {
    l: Layout,
    id: i64,
    kind: Kind,
    filename: String,
    grid: Grid,
    mapping: Vec<Option<&'static str>>,
    report: Option<Report>,
    done: bool,
    allow_duplicates: bool,
    only_valid: bool,
    errors: FormErrors,
}

impl PreviewPage {
    fn preview_rows(&self) -> &[Vec<String>] {
        &self.grid.rows[..self.grid.rows.len().min(PREVIEW_ROWS)]
    }

    fn fields(&self) -> Vec<&'static str> {
        self.kind.fields().iter().map(|(f, _)| *f).collect()
    }

    fn is_mapped(&self, col: &usize, field: &str) -> bool {
        self.mapping.get(*col).copied().flatten() == Some(field)
    }

    fn field_label(&self, f: &str) -> String {
        self.l.t(&format!("import.field_{f}"))
    }

    fn shown_errors(&self) -> &[import::RowError] {
        self.report.as_ref().map(|r| &r.errors[..r.errors.len().min(SHOWN_ERRORS)]).unwrap_or(&[])
    }

    /// Where the imported records are seen.
    fn view_link(&self) -> &'static str {
        match self.kind {
            Kind::Models => "/products",
            Kind::Parts => "/parts",
            Kind::Stock => "/warehouses",
            Kind::Customers | Kind::Units => "/customers",
        }
    }

    fn message(&self, e: &import::RowError) -> String {
        if self.l.locale == "en" { e.message_en.clone() } else { e.message_zh.clone() }
    }
}

async fn preview_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let (kind, filename, grid) = import::load_upload(&st.db, &ctx.actor()?, id).await?;
    let mapping = import::guess_mapping(kind, &grid.headers);
    Ok(super::web::render(&PreviewPage {
        l: Layout::new(&ctx, "import.title"),
        id,
        kind,
        filename,
        grid,
        mapping,
        report: None,
        done: false,
        allow_duplicates: false,
        only_valid: false,
        errors: FormErrors::default(),
    }))
}

async fn preview_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let (kind, filename, grid) = import::load_upload(&st.db, &actor, id).await?;
    let form = FormData::parse(&body);
    let chosen: Vec<Option<String>> =
        (0..grid.headers.len()).map(|i| Some(form.get(&format!("map_{i}"))).filter(|s| !s.is_empty())).collect();
    let opts = Options {
        allow_duplicates: form.get("allow_duplicates") == "on",
        only_valid: form.get("only_valid") == "on",
        commit: form.get("action") == "import",
    };
    let mut page = PreviewPage {
        l: Layout::new(&ctx, "import.title"),
        id,
        kind,
        filename,
        mapping: chosen
            .iter()
            .map(|c| kind.fields().iter().map(|(f, _)| *f).find(|f| Some(*f) == c.as_deref()))
            .collect(),
        grid,
        report: None,
        done: false,
        allow_duplicates: opts.allow_duplicates,
        only_valid: opts.only_valid,
        errors: FormErrors::default(),
    };
    let mapping = match import::check_mapping(kind, &chosen) {
        Ok(m) => m,
        Err(e) => {
            page.errors = FormErrors::new(vec![e], ctx.locale);
            return Ok(super::web::render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    if headers.contains_key(PROGRESS_HEADER) {
        return Ok(with_progress(st, actor, page, mapping, opts, ctx.locale));
    }
    let report = import::run(&st.db, &actor, kind, &page.grid, &mapping, opts, &|_, _, _| {}).await?;
    let status = finish(&st, &mut page, report).await?;
    Ok(super::web::render_status(status, &page))
}

/// Sent by the page's script, which then reads the answer as it comes: lines
/// `progress PHASE DONE TOTAL`, then a line `page` followed by the result page's HTML
/// (or a line `error MESSAGE`). Without it the answer is the page, as a plain form post gets.
const PROGRESS_HEADER: &str = "x-import-progress";

async fn finish(st: &AppState, page: &mut PreviewPage, report: Report) -> AppResult<StatusCode> {
    page.done = report.imported > 0;
    if page.done {
        import::forget_upload(&st.db, page.id).await?;
    }
    let status = if report.errors.is_empty() || page.done { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    page.report = Some(report);
    Ok(status)
}

/// Runs the import in its own task and streams its progress. The task finishes even if the
/// browser goes away, so an import once started is never left half done.
fn with_progress(
    st: AppState,
    actor: crate::service::Actor,
    mut page: PreviewPage,
    mapping: Vec<Option<&'static str>>,
    opts: Options,
    locale: &'static str,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        let grid = std::mem::take(&mut page.grid);
        let report = {
            let send = |phase: import::Phase, done: usize, total: usize| {
                let _ = tx.send(format!("progress {} {done} {total}\n", phase.code()));
            };
            import::run(&st.db, &actor, page.kind, &grid, &mapping, opts, &send).await
        };
        page.grid = grid;
        let html = match report {
            Ok(report) => match finish(&st, &mut page, report).await {
                Ok(_) => page.render().map_err(|e| AppError::Internal(e.into())),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        let _ = tx.send(match html {
            Ok(html) => format!("page\n{html}"),
            Err(e) => {
                if let AppError::Internal(inner) = &e {
                    tracing::error!(error = ?inner, "import failed");
                }
                format!("error {}\n", crate::i18n::tr(locale, e.message_key()))
            }
        });
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|line| (Ok::<_, std::convert::Infallible>(Bytes::from(line)), rx))
    });
    let mut res = Response::new(axum::body::Body::from_stream(stream));
    res.headers_mut()
        .insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("text/plain; charset=utf-8"));
    res.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    res
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ImportQuery {
    /// Only check and report; write nothing.
    #[serde(default)]
    dry_run: bool,
    /// Write the valid rows even when others have errors.
    #[serde(default)]
    only_valid: bool,
    /// Accept rows that look like existing customers.
    #[serde(default)]
    allow_duplicates: bool,
    /// File name, for its extension (.xlsx or .csv); otherwise guessed from the content.
    #[serde(default)]
    filename: String,
}

/// Imports customers, units, product models, parts (an existing part number updates its part)
/// or opening stock (a receipt per row, and the reorder point when given) from the request
/// body (.xlsx or .csv, headers in the first row, mapped by their names in Chinese or English).
/// Errors are reported per row and column; unless `only_valid`, one error means nothing is
/// written (422).
#[utoipa::path(post, path = "/api/v1/import/{kind}", params(("kind" = String, Path, description = "customers, units, models, parts or stock"), ImportQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Report), (status = 422, body = Report)), tag = "archive")]
async fn api_import(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(kind): Path<String>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let kind = Kind::parse(&kind).ok_or_else(|| AppError::one("kind", "error.bad_parameter"))?;
    let name = if q.filename.is_empty() {
        let ct = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if ct.contains("csv") { "upload.csv".to_string() } else { "upload".to_string() }
    } else {
        q.filename.clone()
    };
    let started = std::time::Instant::now();
    let grid = tokio::task::spawn_blocking(move || import::parse_file(&name, &body))
        .await
        .map_err(anyhow::Error::from)?
        .map_err(|e| AppError::Validation(vec![e]))?;
    tracing::info!(rows = grid.rows.len(), seconds = started.elapsed().as_secs_f64(), "import file parsed");
    let mapping = import::guess_mapping(kind, &grid.headers);
    let chosen: Vec<Option<String>> = mapping.iter().map(|m| m.map(str::to_string)).collect();
    let mapping = import::check_mapping(kind, &chosen).map_err(|e| AppError::Validation(vec![e]))?;
    let opts = Options { allow_duplicates: q.allow_duplicates, only_valid: q.only_valid, commit: !q.dry_run };
    let report = import::run(&st.db, &actor, kind, &grid, &mapping, opts, &|_, _, _| {}).await?;
    let status = if report.errors.is_empty() || (q.only_valid && !q.dry_run) {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, axum::Json(report)).into_response())
}

#[derive(OpenApi)]
#[openapi(paths(api_import))]
pub struct ApiDoc;
