//! Periodic survey campaigns (R7.1): the list with response figures, the form that chooses a
//! group (with a count before sending), a campaign's links for the agents, and the JSON API.

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

use super::api::{ApiJson, ApiQuery};
use super::archive::{ExportFormat, download, every_page, export_format};
use super::web::{FormData, FormErrors, Layout, render_status};
use super::{AppState, Ctx};
use crate::domain::Perm;
use crate::error::{AppError, AppResult};
use crate::service::campaigns::{self as svc, CampaignDetail, CampaignInput, GroupInput};
use crate::store;
use crate::store::campaigns::{Campaign, Link};
use crate::tabular::Table;

#[derive(OpenApi)]
#[openapi(
    paths(api_list, api_create, api_preview, api_get, api_export),
    components(schemas(Campaign, Link, CampaignDetail, CampaignInput, GroupInput, Preview)),
    tags((name = "care", description = "Follow-up visits, satisfaction surveys and periodic survey campaigns"))
)]
pub struct ApiDoc;

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/survey-campaigns", get(api_list).post(api_create))
        .route("/survey-campaigns/preview", post(api_preview))
        .route("/survey-campaigns/{id}", get(api_get))
        .route("/survey-campaigns/{id}/export", get(api_export))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/surveys/campaigns", get(list_page).post(create_submit))
        .route("/surveys/campaigns/{id}", get(show_page))
}

/// Campaigns, newest first, with links sent, e-mailed, answered and satisfied.
#[utoipa::path(get, path = "/api/v1/survey-campaigns", responses((status = 200, body = [Campaign]), (status = 403)), tag = "care")]
async fn api_list(State(st): State<AppState>, ctx: Ctx) -> AppResult<axum::Json<Vec<Campaign>>> {
    Ok(axum::Json(svc::list(&st.db, &ctx.actor()?).await?))
}

/// Sends a periodic survey to a group of customers (managers): a link each, e-mailed where
/// the archive has an address. 422 for an empty group or one over 200,000 customers.
#[utoipa::path(post, path = "/api/v1/survey-campaigns", request_body = CampaignInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first answer")),
    responses((status = 201, body = Campaign), (status = 403), (status = 422)), tag = "care")]
async fn api_create(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<CampaignInput>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    super::api::create_once(&st, &actor, &headers, "survey_campaigns.create", async |idem| {
        svc::create(&st.db, &actor, &input, idem).await
    })
    .await
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct Preview {
    /// Customers in the group now (up to 200,001).
    customers: i64,
}

/// How many customers a group holds, before sending.
#[utoipa::path(post, path = "/api/v1/survey-campaigns/preview", request_body = GroupInput,
    responses((status = 200, body = Preview), (status = 403), (status = 422)), tag = "care")]
async fn api_preview(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiJson(g): ApiJson<GroupInput>,
) -> AppResult<axum::Json<Preview>> {
    Ok(axum::Json(Preview { customers: svc::preview(&st.db, &ctx.actor()?, &g).await? }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct LinkParams {
    /// `next_after` of the previous page.
    #[serde(default)]
    after: i64,
    /// Default 100, at most 500.
    limit: Option<i64>,
}

/// A campaign with its links (region users see their region's customers).
#[utoipa::path(get, path = "/api/v1/survey-campaigns/{id}", params(("id" = i64, Path), LinkParams),
    responses((status = 200, body = CampaignDetail), (status = 404)), tag = "care")]
async fn api_get(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiQuery(p): ApiQuery<LinkParams>,
) -> AppResult<axum::Json<CampaignDetail>> {
    Ok(axum::Json(svc::get(&st.db, &ctx.actor()?, id, p.after, p.limit.unwrap_or(100)).await?))
}

/// A campaign's customers, links and answers as a spreadsheet (for SMS tools and phone lists).
#[utoipa::path(get, path = "/api/v1/survey-campaigns/{id}/export", params(("id" = i64, Path), ExportFormat),
    responses((status = 200, description = "The spreadsheet"), (status = 404)), tag = "care")]
async fn api_export(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiQuery(f): ApiQuery<ExportFormat>,
) -> AppResult<Response> {
    let format = export_format(&f.format)?;
    let (db, actor) = (&st.db, &ctx.actor()?);
    let links = every_page(|after: Option<i64>| async move {
        let d = svc::get(db, actor, id, after.unwrap_or(0), 500).await?;
        Ok((d.links, d.next_after))
    })
    .await?;
    let base = &st.config.public_url;
    let rows = links
        .into_iter()
        .map(|x| {
            vec![
                x.customer_name.into(),
                x.phone.into(),
                x.email.into(),
                format!("{base}/s/{}", x.token).into(),
                x.answered_at
                    .map(|t| t.with_timezone(&chrono_tz::Asia::Shanghai).format("%Y-%m-%d %H:%M").to_string())
                    .into(),
                x.overall.map(i64::from).into(),
            ]
        })
        .collect();
    let keys = [
        "archive.customer",
        "field.phone",
        "field.email",
        "campaign.link",
        "campaign.answered_at",
        "care.survey_score",
    ];
    let table = Table { headers: keys.iter().map(|k| ctx.t(k)).collect(), rows };
    Ok(download(crate::tabular::render(table, format, "survey-links").await?, format, "survey-links"))
}

#[derive(Template)]
#[template(path = "care/campaigns.html")]
struct ListPage {
    l: Layout,
    campaigns: Vec<Campaign>,
    regions: Vec<store::settings::Region>,
    categories: Vec<store::products::Category>,
    form: FormData,
    errors: FormErrors,
    /// The group's size when the user asked to count first.
    counted: Option<i64>,
    can_create: bool,
}
impl ListPage {
    fn has_class(&self, c: &str) -> bool {
        self.form.all("classes").iter().any(|x| x == c)
    }
}

async fn list_view(
    st: &AppState,
    ctx: &Ctx,
    form: FormData,
    errors: Vec<FieldError>,
    counted: Option<i64>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let campaigns = svc::list(&st.db, &actor).await?;
    let mut c = st.db.read().await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ListPage {
        l: Layout::new(ctx, "campaign.title"),
        campaigns,
        regions: store::settings::regions(c.conn()).await?,
        categories: store::products::categories(c.conn()).await?,
        form,
        errors: FormErrors::new(errors, ctx.locale),
        counted,
        can_create: actor.can(Perm::ManageCare),
    };
    Ok(render_status(status, &page))
}

async fn list_page(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let mut form = FormData::default();
    form.set("idem", &crate::service::new_secret().0[..32]);
    list_view(&st, &ctx, form, vec![], None).await
}

async fn create_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let form = FormData::parse(&body);
    let actor = ctx.actor()?;
    let group = GroupInput {
        classes: form.all("classes"),
        key_only: form.get("key_only") == "1",
        region: form.get("region"),
        category: form.get("category"),
    };
    if form.get("then") == "count" {
        return match svc::preview(&st.db, &actor, &group).await {
            Ok(n) => list_view(&st, &ctx, form, vec![], Some(n)).await,
            Err(AppError::Validation(list)) => list_view(&st, &ctx, form, list, None).await,
            Err(e) => Err(e),
        };
    }
    let input = CampaignInput { name: form.get("name"), group };
    let key = form.get("idem");
    let (idem, done) = super::api::page_idem(&st, &actor, &key, "survey_campaigns.page", "/id").await?;
    if let Some(id) = done {
        return Ok(Redirect::to(&format!("/surveys/campaigns/{id}")).into_response());
    }
    match svc::create(&st.db, &actor, &input, idem.as_ref()).await {
        Ok(c) => Ok(Redirect::to(&format!("/surveys/campaigns/{}", c.id)).into_response()),
        Err(AppError::Validation(list)) => list_view(&st, &ctx, form, list, None).await,
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "care/campaign.html")]
struct ShowPage {
    l: Layout,
    d: CampaignDetail,
}
impl ShowPage {
    fn group_text(&self) -> String {
        let g = &self.d.group;
        let mut parts = vec![];
        if !g.classes.is_empty() {
            parts.push(format!("{} {}", self.l.t("archive.class"), g.classes.join("/")));
        }
        if g.key_only {
            parts.push(self.l.t("archive.key_customer"));
        }
        if !g.region.is_empty() {
            parts.push(format!("{} {}", self.l.t("field.region"), g.region));
        }
        if !g.category.is_empty() {
            parts.push(format!("{} {}", self.l.t("archive.category"), g.category));
        }
        if parts.is_empty() { self.l.t("campaign.everyone") } else { parts.join(" · ") }
    }
}

async fn show_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(p): Query<LinkParams>,
) -> AppResult<Response> {
    let d = svc::get(&st.db, &ctx.actor()?, id, p.after, 100).await?;
    Ok(render_status(StatusCode::OK, &ShowPage { l: Layout::new(&ctx, "campaign.title"), d }))
}
