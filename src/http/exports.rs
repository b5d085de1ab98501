//! Export of the remaining lists (product models, users, the audit trail) to .xlsx or .csv,
//! with the same filters as their pages; customers and units export from `archive`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use super::api::ApiQuery;
use super::archive::{ExportFormat, download, export_format};
use super::{AppState, Ctx};
use crate::domain::Role;
use crate::error::AppResult;
use crate::service::{audit as audit_service, users};
use crate::store;
use crate::tabular::{Cell, Table, render};

/// The audit trail is the largest list; one export holds at most this many entries (newest).
const AUDIT_EXPORT_MAX: i64 = 200_000;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/products/export", get(models_export))
        .route("/admin/users/export", get(users_export))
        .route("/audit/export", get(audit_export))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/product-models/export", get(models_export))
        .route("/users/export", get(users_export))
        .route("/audit/export", get(audit_export))
}

fn headers(ctx: &Ctx, keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| ctx.t(k)).collect()
}

/// The product catalogue as a spreadsheet (it reads back through the model import).
#[utoipa::path(get, path = "/api/v1/product-models/export", params(ExportFormat),
    responses((status = 200, description = "The spreadsheet")), tag = "archive")]
async fn models_export(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(f): ApiQuery<ExportFormat>,
) -> AppResult<Response> {
    ctx.user()?;
    let format = export_format(&f.format)?;
    let models = {
        let mut c = st.db.read().await?;
        store::products::models(c.conn()).await?
    };
    let rows = models
        .into_iter()
        .map(|m| {
            vec![
                m.code.into(),
                m.name.into(),
                m.category_code.into(),
                m.grade.into(),
                m.policy_code.into(),
                m.warranty_months.map(i64::from).into(),
                m.key_parts.into(),
                m.service_interval_months.map(i64::from).into(),
            ]
        })
        .collect();
    let keys = [
        "archive.model_code",
        "field.name",
        "import.field_category",
        "import.field_grade",
        "import.field_policy",
        "import.field_warranty_months",
        "import.field_key_parts",
        "import.field_service_interval_months",
    ];
    let table = Table { headers: headers(&ctx, &keys), rows };
    Ok(download(render(table, format, "models").await?, format, "models"))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UsersFilter {
    #[serde(default)]
    q: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    region: String,
}

/// The user list (administrators), with the page's filters.
#[utoipa::path(get, path = "/api/v1/users/export", params(UsersFilter, ExportFormat),
    responses((status = 200, description = "The spreadsheet"), (status = 403)), tag = "accounts")]
async fn users_export(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<UsersFilter>,
    ApiQuery(f): ApiQuery<ExportFormat>,
) -> AppResult<Response> {
    let format = export_format(&f.format)?;
    let filter = store::users::ListFilter {
        q: Some(q.q.clone()).filter(|s| !s.trim().is_empty()),
        role: Role::parse(&q.role),
        region: Some(q.region.clone()).filter(|s| !s.is_empty()),
        active: None,
        after_id: None,
        limit: 100_000,
    };
    let list = users::list(&st.db, &ctx.actor()?, &filter).await?;
    // Teams by id, for the team column (deactivated teams have no members, so no user names one).
    let teams: std::collections::HashMap<i64, String> = {
        let mut c = st.db.read().await?;
        store::teams::names(c.conn()).await?.into_iter().map(|(id, name, _, _)| (id, name)).collect()
    };
    let rows = list
        .into_iter()
        .map(|u| {
            let roles: Vec<String> = u.roles.iter().map(|r| ctx.t(&r.label_key())).collect();
            vec![
                u.login.into(),
                u.display_name.into(),
                roles.join("、").into(),
                u.region_code.into(),
                u.team_id.and_then(|t| teams.get(&t).cloned()).into(),
                u.email.into(),
                u.phone.into(),
                ctx.t(if u.active { "users.active" } else { "users.disabled" }).into(),
                Cell::Text(u.created_at.to_rfc3339()),
            ]
        })
        .collect();
    let keys = [
        "field.login",
        "field.display_name",
        "field.roles",
        "field.region",
        "field.team",
        "field.email",
        "field.phone",
        "field.status",
        "field.created_at",
    ];
    let table = Table { headers: headers(&ctx, &keys), rows };
    Ok(download(render(table, format, "users").await?, format, "users"))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditFilter {
    #[serde(default)]
    entity_type: String,
    #[serde(default)]
    entity_id: String,
}

/// The audit trail, newest first, with the page's filters (at most 200,000 entries).
#[utoipa::path(get, path = "/api/v1/audit/export", params(AuditFilter, ExportFormat),
    responses((status = 200, description = "The spreadsheet"), (status = 403)), tag = "accounts")]
async fn audit_export(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<AuditFilter>,
    ApiQuery(f): ApiQuery<ExportFormat>,
) -> AppResult<Response> {
    let format = export_format(&f.format)?;
    let filter = store::audit::Filter {
        entity_type: Some(q.entity_type).filter(|s| !s.is_empty()),
        entity_id: Some(q.entity_id).filter(|s| !s.is_empty()),
        actor_id: None,
        before_id: None,
        limit: AUDIT_EXPORT_MAX,
    };
    let entries = audit_service::list(&st.db, &ctx.actor()?, &filter).await?;
    let rows = entries
        .into_iter()
        .map(|e| {
            vec![
                Cell::Text(e.at.to_rfc3339()),
                e.actor_label.into(),
                e.action.into(),
                e.entity_type.into(),
                e.entity_id.into(),
                e.before_json.into(),
                e.after_json.into(),
                e.ip.into(),
            ]
        })
        .collect();
    let keys = [
        "audit.at",
        "audit.actor",
        "audit.action",
        "audit.entity",
        "audit.entity_id",
        "audit.before",
        "audit.after",
        "audit.ip",
    ];
    let table = Table { headers: headers(&ctx, &keys), rows };
    Ok(download(render(table, format, "audit").await?, format, "audit"))
}

#[derive(OpenApi)]
#[openapi(paths(models_export, users_export, audit_export))]
pub struct ApiDoc;
