//! Entitlement (三包): the evaluate endpoint and form, stored decisions, and the policy list,
//! history and editor. The decisions themselves come from `rules::entitlement`.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use rules::FieldError;
use rules::entitlement::{Exclusion, Failure, FaultKind, Remedy, VehicleSystem};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::api::{ApiJson, ApiQuery};
use super::web::{FormData, FormErrors, Layout};
use super::{AppState, Ctx};
use crate::domain::Perm;
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::service::entitlement::{
    self as svc, CopyPolicyInput, EvaluateOptions, NewPolicyInput, NewVersionInput, PolicyDetail, PolicySummary,
    VersionView,
};
use crate::store::entitlement::StoredDecision;

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/entitlement/evaluate", post(api_evaluate))
        .route("/entitlement/decisions", get(api_decisions))
        .route("/entitlement/decisions/{id}", get(api_decision))
        .route("/entitlement/policies", get(api_policies).post(api_create_policy))
        .route("/entitlement/policies/{code}", get(api_policy))
        .route("/entitlement/policies/{code}/versions", post(api_new_version))
        .route("/entitlement/policies/{code}/versions/{version}", get(api_version))
        .route("/entitlement/policies/{code}/copy", post(api_copy_policy))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/entitlement", get(evaluate_page).post(evaluate_submit))
        .route("/entitlement/decisions/{id}", get(decision_page))
        .route("/entitlement/policies", get(policies_page).post(policy_copy_submit))
        .route("/entitlement/policies/new", get(policy_new_page))
        .route("/entitlement/policies/{code}", get(policy_page))
        .route("/entitlement/policies/{code}/edit", get(policy_edit_page).post(policy_edit_submit))
}

// ================================================================ API

/// The evaluate contract's request, for the OpenAPI document (the engine reads the JSON itself).
#[allow(dead_code)]
#[derive(ToSchema)]
struct EvaluateRequestDoc {
    /// cn-general-1995, cn-car-2021, seed-company or a company policy code.
    policy: String,
    invoice_date: NaiveDate,
    delivery_date: Option<NaiveDate>,
    /// The day the fault is reported.
    request_date: NaiveDate,
    /// high, mid or low.
    grade: Option<String>,
    category: Option<String>,
    /// Overrides the policy when given.
    warranty_months: Option<u32>,
    odometer_km: Option<u64>,
    price_cents: i64,
    fault: FaultDoc,
    history: Vec<HistoryDoc>,
    /// misuse, unauthorised_disassembly, no_certificate, certificate_mismatch, force_majeure,
    /// disclosed_defect, forbidden_modification, commercial_use, mishandling_after_fault.
    exclusions: Vec<String>,
    same_model_available: Option<bool>,
    found_nonconforming: Option<bool>,
    /// Fraction of the price per day of use.
    depreciation_per_day: Option<f64>,
    /// Cars: compensation = price × km / 1000 × n, n ≤ 0.005.
    usage_rate_n: Option<f64>,
}

#[allow(dead_code)]
#[derive(ToSchema)]
struct FaultDoc {
    /// performance, safety, general or cosmetic.
    kind: String,
    serious_safety: Option<bool>,
    /// engine, transmission, traction_battery, drive_motor, steering, brakes, suspension,
    /// drivetrain, emission, body, fuel.
    system: Option<String>,
    main_part: Option<String>,
    /// steering_failure, brake_failure, body_crack, fuel_leak, battery_fire.
    failure: Option<String>,
}

#[allow(dead_code)]
#[derive(ToSchema)]
struct HistoryDoc {
    /// repair, replacement or exchange.
    kind: String,
    same_fault: Option<bool>,
    serious_safety: Option<bool>,
    system: Option<String>,
    main_part: Option<String>,
    /// RFC 3339 with offset.
    start: DateTime<chrono::FixedOffset>,
    end: Option<DateTime<chrono::FixedOffset>>,
    waiting_for_parts_days: Option<u32>,
    excluded_hours: Option<f64>,
}

/// The evaluate contract's answer.
#[allow(dead_code)]
#[derive(ToSchema)]
struct EvaluationDoc {
    policy: String,
    policy_version: u32,
    /// general or vehicle.
    family: String,
    /// Granted: refund, exchange, free_repair, paid_repair, assembly_replacement, courtesy_car.
    remedies: Vec<String>,
    warranty_starts: NaiveDate,
    /// Last covered day, inclusive.
    warranty_ends: NaiveDate,
    warranty_months: u32,
    warranty_km_limit: Option<u64>,
    sanbao_ends: Option<NaiveDate>,
    sanbao_km_limit: Option<u64>,
    refund_window_ends: Option<NaiveDate>,
    exchange_window_ends: Option<NaiveDate>,
    in_warranty: bool,
    in_sanbao: bool,
    days_since_sale: u32,
    day_in_period: u32,
    repair_days: u32,
    counted_repair_days: Option<u32>,
    extension_days: u32,
    same_fault_repairs: u32,
    courtesy_car_days: u32,
    refund_cents: Option<i64>,
    deduction_cents: Option<i64>,
    decisions: Vec<DecisionDoc>,
    #[schema(value_type = Vec<Object>)]
    warnings: Vec<Value>,
    /// Only with `record=true`: the id of the stored decision.
    decision_id: Option<i64>,
}

#[allow(dead_code)]
#[derive(ToSchema)]
struct DecisionDoc {
    remedy: String,
    granted: bool,
    /// e.g. "cn-general-1995 art. 9" or "acme v3 §exchange".
    rule: String,
    reason_zh: String,
    reason_en: String,
    reason_code: String,
    #[schema(value_type = Option<Object>)]
    amount: Option<Value>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct EvaluateQuery {
    /// Store the request and answer as a decision (default false: evaluate only).
    record: Option<bool>,
    /// Decide with this version of the policy instead of its latest.
    policy_version: Option<u32>,
}

#[derive(Serialize)]
struct RecordedEvaluation<'a> {
    #[serde(flatten)]
    evaluation: &'a rules::entitlement::Evaluation,
    decision_id: i64,
}

/// Decides warranty and 三包 remedies for a fault. Any signed-in user. Nothing is stored
/// unless `record=true`; the answer always names the policy version used. The latest version
/// of a company policy may be up to 5 s old on another instance; recorded decisions always
/// use the latest.
#[utoipa::path(post, path = "/api/v1/entitlement/evaluate", params(EvaluateQuery),
    request_body(content = EvaluateRequestDoc, description = "The evaluate contract; unknown fields are refused"),
    responses((status = 200, body = EvaluationDoc), (status = 422, description = "Bad input; `fields` names each field"), (status = 401)),
    tag = "entitlement")]
async fn api_evaluate(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<EvaluateQuery>,
    body: Bytes,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let text = std::str::from_utf8(&body).map_err(|_| AppError::one("body", "error.bad_json"))?;
    let opts = EvaluateOptions { policy_version: q.policy_version, record: q.record == Some(true), source: "api" };
    let out = svc::evaluate(&st.db, &st.policies, &actor, text, &opts).await?;
    Ok(match out.decision_id {
        None => axum::Json(out.evaluation).into_response(),
        Some(id) => axum::Json(RecordedEvaluation { evaluation: &out.evaluation, decision_id: id }).into_response(),
    })
}

/// A stored decision as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct DecisionOut {
    id: i64,
    policy_code: String,
    policy_version: i64,
    #[schema(value_type = Object)]
    request: Value,
    #[schema(value_type = Object)]
    result: Value,
    remedies: Vec<String>,
    source: String,
    unit_id: Option<i64>,
    work_order_id: Option<i64>,
    decided_by: String,
    decided_at: DateTime<Utc>,
}

impl From<StoredDecision> for DecisionOut {
    fn from(d: StoredDecision) -> Self {
        DecisionOut {
            id: d.id,
            request: serde_json::from_str(&d.request_json).unwrap_or(Value::Null),
            result: serde_json::from_str(&d.result_json).unwrap_or(Value::Null),
            remedies: d.remedies.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            policy_code: d.policy_code,
            policy_version: d.policy_version,
            source: d.source,
            unit_id: d.unit_id,
            work_order_id: d.work_order_id,
            decided_by: d.decided_by_label,
            decided_at: d.decided_at,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DecisionsQuery {
    /// Cursor: the `next_before` of the previous page.
    before: Option<i64>,
    /// 1–200, default 50.
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DecisionPage {
    items: Vec<DecisionOut>,
    next_before: Option<i64>,
}

/// Recorded decisions, newest first.
#[utoipa::path(get, path = "/api/v1/entitlement/decisions", params(DecisionsQuery),
    responses((status = 200, body = DecisionPage)), tag = "entitlement")]
async fn api_decisions(
    State(st): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<DecisionsQuery>,
) -> AppResult<axum::Json<DecisionPage>> {
    let limit = match q.limit {
        None => 50,
        Some(n) if (1..=200).contains(&n) => n,
        Some(_) => return Err(AppError::one("limit", "error.bad_parameter")),
    };
    let mut items = svc::recent_decisions(&st.db, &ctx.actor()?, q.before, limit + 1).await?;
    let next_before = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|d| d.id)
    } else {
        None
    };
    Ok(axum::Json(DecisionPage { items: items.into_iter().map(DecisionOut::from).collect(), next_before }))
}

/// One recorded decision, with the request and the answer as they were.
#[utoipa::path(get, path = "/api/v1/entitlement/decisions/{id}",
    responses((status = 200, body = DecisionOut), (status = 404)), tag = "entitlement")]
async fn api_decision(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<axum::Json<DecisionOut>> {
    Ok(axum::Json(svc::decision(&st.db, &ctx.actor()?, id).await?.into()))
}

/// Built-in and company policies (newest version of each).
#[utoipa::path(get, path = "/api/v1/entitlement/policies",
    responses((status = 200, body = [PolicySummary])), tag = "entitlement")]
async fn api_policies(State(st): State<AppState>, ctx: Ctx) -> AppResult<axum::Json<Vec<PolicySummary>>> {
    Ok(axum::Json(svc::list_policies(&st.db, &ctx.actor()?).await?))
}

/// A policy with every version, newest first.
#[utoipa::path(get, path = "/api/v1/entitlement/policies/{code}",
    responses((status = 200, body = PolicyDetail), (status = 404)), tag = "entitlement")]
async fn api_policy(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
) -> AppResult<axum::Json<PolicyDetail>> {
    Ok(axum::Json(svc::get_policy(&st.db, &ctx.actor()?, &code).await?))
}

/// One version of a policy.
#[utoipa::path(get, path = "/api/v1/entitlement/policies/{code}/versions/{version}",
    responses((status = 200, body = VersionView), (status = 404)), tag = "entitlement")]
async fn api_version(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((code, version)): Path<(String, String)>,
) -> AppResult<axum::Json<VersionView>> {
    let version: u32 = version.parse().map_err(|_| AppError::NotFound)?;
    Ok(axum::Json(svc::get_version(&st.db, &ctx.actor()?, &code, version).await?))
}

/// Creates a company policy from its JSON (service managers, general managers, administrators).
#[utoipa::path(post, path = "/api/v1/entitlement/policies", request_body = NewPolicyInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first answer")),
    responses((status = 201, body = VersionView), (status = 422), (status = 403)), tag = "entitlement")]
async fn api_create_policy(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<NewPolicyInput>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    super::api::create_once(&st, &actor, &headers, "entitlement.policies.create", async |idem| {
        svc::create_policy(&st.db, &actor, &input, idem).await
    })
    .await
}

/// Copies any policy (a built-in or a company one) into a new company policy.
#[utoipa::path(post, path = "/api/v1/entitlement/policies/{code}/copy", request_body = CopyPolicyInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first answer")),
    responses((status = 201, body = VersionView), (status = 422), (status = 403), (status = 404)), tag = "entitlement")]
async fn api_copy_policy(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<CopyPolicyInput>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    super::api::create_once(&st, &actor, &headers, "entitlement.policies.copy", async |idem| {
        svc::copy_policy(&st.db, &actor, &code, &input, idem).await
    })
    .await
}

/// Saves a new version of a company policy. `version` is the one the edit started from:
/// 409 when another version was saved meanwhile. Built-ins are read-only (copy them).
#[utoipa::path(post, path = "/api/v1/entitlement/policies/{code}/versions", request_body = NewVersionInput,
    responses((status = 201, body = VersionView), (status = 409), (status = 422), (status = 403)), tag = "entitlement")]
async fn api_new_version(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<NewVersionInput>,
) -> AppResult<Response> {
    let v = svc::new_version(&st.db, &st.policies, &ctx.actor()?, &code, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

#[derive(OpenApi)]
#[openapi(
    paths(api_evaluate, api_decisions, api_decision, api_policies, api_policy, api_version, api_create_policy,
        api_copy_policy, api_new_version),
    tags((name = "entitlement", description = "Warranty and 三包 decisions under versioned policies"))
)]
pub struct ApiDoc;

// ================================================================ pages

fn render<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => AppError::Internal(e.into()).into_response(),
    }
}

fn notice(ctx: &Ctx, ok: &str) -> String {
    match ok {
        "created" => ctx.t("notice.created"),
        "saved" => ctx.t("notice.saved"),
        _ => String::new(),
    }
}

#[derive(Deserialize)]
struct OkQuery {
    #[serde(default)]
    ok: String,
}

/// ¥4,000.00
pub fn yuan(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    let digits = (c / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}¥{grouped}.{:02}", c % 100)
}

/// Yuan as typed ("4000", "4,000.50", "¥4000") to cents; None when empty or not an amount.
fn parse_yuan(s: &str) -> Option<i64> {
    crate::domain::money::parse_yuan(s).ok().flatten()
}

/// A choice in a select: its code and its label in the page language.
pub struct Choice {
    pub code: &'static str,
    pub label: String,
}

fn choices<T: Copy>(
    all: &[T],
    code: fn(T) -> &'static str,
    zh: fn(T) -> &'static str,
    en: fn(T) -> &'static str,
    locale: &str,
) -> Vec<Choice> {
    all.iter()
        .map(|&x| Choice { code: code(x), label: if locale == "en" { en(x) } else { zh(x) }.to_owned() })
        .collect()
}

const FAULT_KINDS: [FaultKind; 4] =
    [FaultKind::Performance, FaultKind::Safety, FaultKind::General, FaultKind::Cosmetic];
const SYSTEMS: [VehicleSystem; 11] = [
    VehicleSystem::Engine,
    VehicleSystem::Transmission,
    VehicleSystem::TractionBattery,
    VehicleSystem::DriveMotor,
    VehicleSystem::Steering,
    VehicleSystem::Brakes,
    VehicleSystem::Suspension,
    VehicleSystem::Drivetrain,
    VehicleSystem::Emission,
    VehicleSystem::Body,
    VehicleSystem::Fuel,
];
const FAILURES: [Failure; 5] =
    [Failure::SteeringFailure, Failure::BrakeFailure, Failure::BodyCrack, Failure::FuelLeak, Failure::BatteryFire];

fn remedy_name(code: &str, locale: &str) -> String {
    match serde_json::from_value::<Remedy>(Value::String(code.to_owned())) {
        Ok(r) if locale == "en" => r.name_en().to_owned(),
        Ok(r) => r.name_zh().to_owned(),
        Err(_) => code.to_owned(),
    }
}

// ---------------------------------------------------------------- the evaluate form

/// One history row of the form, as typed.
#[derive(Default, Clone)]
pub struct HistRow {
    pub kind: String,
    pub same_fault: bool,
    pub serious_safety: bool,
    pub system: String,
    pub main_part: String,
    pub start: String,
    pub end: String,
    pub waiting: String,
    pub excluded_hours: String,
}

/// The evaluate form as typed; money in yuan, rates in percent.
#[derive(Default, Clone)]
pub struct EvalForm {
    pub policy: String,
    pub invoice_date: String,
    pub delivery_date: String,
    pub request_date: String,
    pub grade: String,
    pub category: String,
    pub warranty_months: String,
    pub odometer_km: String,
    pub price: String,
    pub fault_kind: String,
    pub serious_safety: bool,
    pub system: String,
    pub main_part: String,
    pub failure: String,
    pub exclusions: Vec<String>,
    pub same_model: String,
    pub nonconforming: bool,
    pub depreciation: String,
    pub usage_n: String,
    pub history: Vec<HistRow>,
}

const MIN_HISTORY_ROWS: usize = 3;
const MAX_HISTORY_ROWS: usize = 30;

impl EvalForm {
    fn parse(f: &FormData) -> EvalForm {
        let mut history = Vec::new();
        for i in 0..MAX_HISTORY_ROWS {
            let g = |k: &str| f.get(&format!("history[{i}].{k}"));
            history.push(HistRow {
                kind: g("kind"),
                same_fault: g("same_fault") == "on",
                serious_safety: g("serious_safety") == "on",
                system: g("system"),
                main_part: g("main_part"),
                start: g("start"),
                end: g("end"),
                waiting: g("waiting_for_parts_days"),
                excluded_hours: g("excluded_hours"),
            });
        }
        // Keep the rows up to the last one used, then one blank row to add another.
        let used = history.iter().rposition(HistRow::used).map_or(0, |i| i + 1);
        history.truncate((used + 1).clamp(MIN_HISTORY_ROWS, MAX_HISTORY_ROWS));
        EvalForm {
            policy: f.get("policy"),
            invoice_date: f.get("invoice_date"),
            delivery_date: f.get("delivery_date"),
            request_date: f.get("request_date"),
            grade: f.get("grade"),
            category: f.get("category"),
            warranty_months: f.get("warranty_months"),
            odometer_km: f.get("odometer_km"),
            price: f.get("price"),
            fault_kind: f.get("fault.kind"),
            serious_safety: f.get("fault.serious_safety") == "on",
            system: f.get("fault.system"),
            main_part: f.get("fault.main_part"),
            failure: f.get("fault.failure"),
            exclusions: f.all("exclusions"),
            same_model: f.get("same_model_available"),
            nonconforming: f.get("found_nonconforming") == "on",
            depreciation: f.get("depreciation"),
            usage_n: f.get("usage_n"),
            history,
        }
    }

    fn blank(today: NaiveDate) -> EvalForm {
        EvalForm {
            policy: "cn-general-1995".into(),
            request_date: today.format("%Y-%m-%d").to_string(),
            fault_kind: "performance".into(),
            history: vec![HistRow::default(); MIN_HISTORY_ROWS],
            ..EvalForm::default()
        }
    }

    /// Back from a stored request, so a decision can be re-run and adjusted.
    fn from_request(v: &Value) -> EvalForm {
        let s = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let b = |v: &Value| v.as_bool().unwrap_or(false);
        let pct = |v: &Value| v.as_f64().map(|f| format_pct(f * 100.0)).unwrap_or_default();
        let mut history: Vec<HistRow> = v["history"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|h| HistRow {
                        kind: s(&h["kind"]),
                        same_fault: b(&h["same_fault"]),
                        serious_safety: b(&h["serious_safety"]),
                        system: s(&h["system"]),
                        main_part: s(&h["main_part"]),
                        start: local_datetime(&s(&h["start"])),
                        end: local_datetime(&s(&h["end"])),
                        waiting: s(&h["waiting_for_parts_days"]),
                        excluded_hours: s(&h["excluded_hours"]),
                    })
                    .collect()
            })
            .unwrap_or_default();
        history.push(HistRow::default());
        while history.len() < MIN_HISTORY_ROWS {
            history.push(HistRow::default());
        }
        EvalForm {
            policy: s(&v["policy"]),
            invoice_date: s(&v["invoice_date"]),
            delivery_date: s(&v["delivery_date"]),
            request_date: s(&v["request_date"]),
            grade: s(&v["grade"]),
            category: s(&v["category"]),
            warranty_months: s(&v["warranty_months"]),
            odometer_km: s(&v["odometer_km"]),
            price: v["price_cents"]
                .as_i64()
                .map(|c| yuan(c).trim_start_matches('¥').replace(',', ""))
                .unwrap_or_default(),
            fault_kind: s(&v["fault"]["kind"]),
            serious_safety: b(&v["fault"]["serious_safety"]),
            system: s(&v["fault"]["system"]),
            main_part: s(&v["fault"]["main_part"]),
            failure: s(&v["fault"]["failure"]),
            exclusions: v["exclusions"].as_array().map(|a| a.iter().map(s).collect()).unwrap_or_default(),
            same_model: match v["same_model_available"].as_bool() {
                Some(true) => "yes".into(),
                Some(false) => "no".into(),
                None => String::new(),
            },
            nonconforming: b(&v["found_nonconforming"]),
            depreciation: pct(&v["depreciation_per_day"]),
            usage_n: pct(&v["usage_rate_n"]),
            history,
        }
    }

    /// The contract JSON, the errors found before the engine sees it, and for each history
    /// entry sent the form row it came from.
    fn to_request(&self) -> (Value, Vec<FieldError>, Vec<usize>) {
        let mut errors = Vec::new();
        let mut m = Map::new();
        let text = |s: &str| if s.trim().is_empty() { Value::Null } else { Value::String(s.trim().to_owned()) };
        // A number that does not parse goes to the engine as text, which names the field.
        let int = |s: &str| match s.trim() {
            "" => Value::Null,
            t => t.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(t.to_owned())),
        };
        let float = |s: &str| match s.trim() {
            "" => Value::Null,
            t => t
                .parse::<f64>()
                .ok()
                .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
                .unwrap_or_else(|| Value::String(t.to_owned())),
        };
        m.insert("policy".into(), text(&self.policy));
        m.insert("invoice_date".into(), text(&self.invoice_date));
        m.insert("delivery_date".into(), text(&self.delivery_date));
        m.insert("request_date".into(), text(&self.request_date));
        m.insert("grade".into(), text(&self.grade));
        m.insert("category".into(), text(&self.category));
        m.insert("warranty_months".into(), int(&self.warranty_months));
        m.insert("odometer_km".into(), int(&self.odometer_km));
        match self.price.trim() {
            "" => {}
            p => match parse_yuan(p) {
                Some(c) => {
                    m.insert("price_cents".into(), Value::from(c));
                }
                None => {
                    errors.push(field_error("price", "entitlement.error.yuan"));
                    m.insert("price_cents".into(), Value::from(0));
                }
            },
        }
        for (field, typed, key) in
            [("depreciation", &self.depreciation, "depreciation_per_day"), ("usage_n", &self.usage_n, "usage_rate_n")]
        {
            match typed.trim() {
                "" => {}
                t => match t.trim_end_matches('%').trim().parse::<f64>() {
                    Ok(p) if p.is_finite() => {
                        m.insert(key.into(), json!(p / 100.0));
                    }
                    _ => errors.push(field_error(field, "entitlement.error.percent")),
                },
            }
        }
        m.insert(
            "fault".into(),
            json!({
                "kind": text(&self.fault_kind),
                "serious_safety": self.serious_safety,
                "system": text(&self.system),
                "main_part": text(&self.main_part),
                "failure": text(&self.failure),
            }),
        );
        let mut rows = Vec::new();
        let mut history = Vec::new();
        for (i, h) in self.history.iter().enumerate().filter(|(_, h)| h.used()) {
            rows.push(i);
            history.push(json!({
                "kind": text(&h.kind),
                "same_fault": h.same_fault,
                "serious_safety": h.serious_safety,
                "system": text(&h.system),
                "main_part": text(&h.main_part),
                "start": with_offset(&h.start),
                "end": with_offset(&h.end),
                "waiting_for_parts_days": int(&h.waiting),
                "excluded_hours": float(&h.excluded_hours),
            }));
        }
        m.insert("history".into(), Value::Array(history));
        m.insert("exclusions".into(), json!(self.exclusions));
        m.insert(
            "same_model_available".into(),
            match self.same_model.as_str() {
                "yes" => Value::Bool(true),
                "no" => Value::Bool(false),
                _ => Value::Null,
            },
        );
        m.insert("found_nonconforming".into(), Value::Bool(self.nonconforming));
        (Value::Object(m), errors, rows)
    }
}

impl HistRow {
    fn used(&self) -> bool {
        !(self.kind.trim().is_empty() && self.start.trim().is_empty() && self.end.trim().is_empty())
    }
}

fn format_pct(p: f64) -> String {
    let s = format!("{p:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A `datetime-local` value is in the company's time zone, Asia/Shanghai, which has no
/// daylight saving: a fixed +08:00 is exact.
fn with_offset(s: &str) -> Value {
    let t = s.trim();
    if t.is_empty() {
        return Value::Null;
    }
    let has_offset = t.ends_with('Z') || t.get(16..).is_some_and(|tail| tail.contains('+') || tail.contains('-'));
    let t = if t.len() == 16 { format!("{t}:00") } else { t.to_owned() };
    Value::String(if has_offset { t } else { format!("{t}+08:00") })
}

/// The reverse, for a `datetime-local` input.
fn local_datetime(s: &str) -> String {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono_tz::Asia::Shanghai).format("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_else(|_| s.to_owned())
}

/// Engine field paths to the form's input names.
fn form_field(field: &str, rows: &[usize]) -> String {
    match field {
        "price_cents" => return "price".into(),
        "depreciation_per_day" => return "depreciation".into(),
        "usage_rate_n" => return "usage_n".into(),
        _ => {}
    }
    if let Some(rest) = field.strip_prefix("history[")
        && let Some((n, tail)) = rest.split_once(']')
        && let Ok(j) = n.parse::<usize>()
        && let Some(i) = rows.get(j)
    {
        return format!("history[{i}]{tail}");
    }
    field.to_owned()
}

/// Fields that have an input on the form; other errors are listed at the top.
const INLINE_FIELDS: &[&str] = &[
    "policy",
    "invoice_date",
    "delivery_date",
    "request_date",
    "grade",
    "category",
    "warranty_months",
    "odometer_km",
    "price",
    "fault.kind",
    "fault.system",
    "fault.main_part",
    "fault.failure",
    "depreciation",
    "usage_n",
];

/// A decision for the page, read back from the stored answer.
pub struct DecisionRow {
    pub remedy: String,
    pub granted: bool,
    pub rule: String,
    pub reason: String,
}

pub struct ResultView {
    pub policy: String,
    pub policy_version: String,
    pub warranty_starts: String,
    pub warranty_ends: String,
    pub warranty_months: String,
    pub warranty_km_limit: String,
    pub sanbao_ends: String,
    pub sanbao_km_limit: String,
    pub refund_window_ends: String,
    pub exchange_window_ends: String,
    pub in_warranty: bool,
    pub in_sanbao: bool,
    pub days_since_sale: String,
    pub repair_days: String,
    pub extension_days: String,
    pub same_fault_repairs: String,
    pub courtesy_car_days: u64,
    pub remedies: Vec<String>,
    pub refund: String,
    pub deduction: String,
    pub decisions: Vec<DecisionRow>,
    pub warnings: Vec<String>,
}

impl ResultView {
    pub fn from_json(v: &Value, locale: &str) -> ResultView {
        let s = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let msg_key = if locale == "en" { "reason_en" } else { "reason_zh" };
        let warn_key = if locale == "en" { "message_en" } else { "message_zh" };
        ResultView {
            policy: s(&v["policy"]),
            policy_version: s(&v["policy_version"]),
            warranty_starts: s(&v["warranty_starts"]),
            warranty_ends: s(&v["warranty_ends"]),
            warranty_months: s(&v["warranty_months"]),
            warranty_km_limit: s(&v["warranty_km_limit"]),
            sanbao_ends: s(&v["sanbao_ends"]),
            sanbao_km_limit: s(&v["sanbao_km_limit"]),
            refund_window_ends: s(&v["refund_window_ends"]),
            exchange_window_ends: s(&v["exchange_window_ends"]),
            in_warranty: v["in_warranty"].as_bool().unwrap_or(false),
            in_sanbao: v["in_sanbao"].as_bool().unwrap_or(false),
            days_since_sale: s(&v["days_since_sale"]),
            repair_days: s(&v["repair_days"]),
            extension_days: s(&v["extension_days"]),
            same_fault_repairs: s(&v["same_fault_repairs"]),
            courtesy_car_days: v["courtesy_car_days"].as_u64().unwrap_or(0),
            remedies: v["remedies"]
                .as_array()
                .map(|a| a.iter().map(|r| remedy_name(r.as_str().unwrap_or_default(), locale)).collect())
                .unwrap_or_default(),
            refund: v["refund_cents"].as_i64().map(yuan).unwrap_or_default(),
            deduction: v["deduction_cents"].as_i64().map(yuan).unwrap_or_default(),
            decisions: v["decisions"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|d| DecisionRow {
                            remedy: remedy_name(d["remedy"].as_str().unwrap_or_default(), locale),
                            granted: d["granted"].as_bool().unwrap_or(false),
                            rule: s(&d["rule"]),
                            reason: s(&d[msg_key]),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            warnings: v["warnings"].as_array().map(|a| a.iter().map(|w| s(&w[warn_key])).collect()).unwrap_or_default(),
        }
    }
}

/// A recorded decision in the recent list.
pub struct RecentRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub by: String,
    pub policy: String,
    pub remedies: Vec<String>,
}

#[derive(Template)]
#[template(path = "entitlement/evaluate.html")]
struct EvaluatePage {
    l: Layout,
    policies: Vec<PolicySummary>,
    form: EvalForm,
    errors: FormErrors,
    other_errors: Vec<String>,
    result: Option<ResultView>,
    decision_id: Option<i64>,
    recent: Vec<RecentRow>,
    fault_kinds: Vec<Choice>,
    systems: Vec<Choice>,
    failures: Vec<Choice>,
    exclusions: Vec<Choice>,
}

impl EvaluatePage {
    fn herr(&self, i: &usize, field: &str) -> String {
        self.errors.get(&format!("history[{i}].{field}"))
    }

    fn excluded(&self, code: &str) -> bool {
        self.form.exclusions.iter().any(|e| e == code)
    }
}

async fn evaluate_view(
    st: &AppState,
    ctx: &Ctx,
    form: EvalForm,
    errors: Vec<FieldError>,
    result: Option<(ResultView, i64)>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let policies = svc::list_policies(&st.db, &actor).await?;
    let recent = svc::recent_decisions(&st.db, &actor, None, 10)
        .await?
        .into_iter()
        .map(|d| RecentRow {
            id: d.id,
            at: d.decided_at,
            by: d.decided_by_label,
            policy: format!("{} v{}", d.policy_code, d.policy_version),
            remedies: d.remedies.split(',').filter(|r| !r.is_empty()).map(|r| remedy_name(r, ctx.locale)).collect(),
        })
        .collect();
    let other_errors = errors
        .iter()
        .filter(|e| !INLINE_FIELDS.contains(&e.field.as_str()) && !e.field.starts_with("history["))
        .map(|e| format!("{}: {}", e.field, e.message(ctx.locale)))
        .collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let (result, decision_id) = match result {
        Some((r, id)) => (Some(r), Some(id)),
        None => (None, None),
    };
    let loc = ctx.locale;
    let page = EvaluatePage {
        l: Layout::new(ctx, "entitlement.title"),
        policies,
        form,
        errors: FormErrors::new(errors, loc),
        other_errors,
        result,
        decision_id,
        recent,
        fault_kinds: choices(&FAULT_KINDS, FaultKind::code, FaultKind::name_zh, FaultKind::name_en, loc),
        systems: choices(&SYSTEMS, VehicleSystem::code, VehicleSystem::name_zh, VehicleSystem::name_en, loc),
        failures: choices(&FAILURES, Failure::code, Failure::name_zh, Failure::name_en, loc),
        exclusions: choices(&Exclusion::ALL, Exclusion::code, Exclusion::name_zh, Exclusion::name_en, loc),
    };
    Ok(render(status, &page))
}

#[derive(Deserialize)]
struct EvaluateFormQuery {
    /// Start from a recorded decision's request.
    from: Option<i64>,
}

async fn evaluate_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<EvaluateFormQuery>,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let form = match q.from {
        Some(id) => {
            let d = svc::decision(&st.db, &actor, id).await?;
            EvalForm::from_request(&serde_json::from_str(&d.request_json).unwrap_or(Value::Null))
        }
        None => EvalForm::blank(Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive()),
    };
    evaluate_view(&st, &ctx, form, vec![], None).await
}

async fn evaluate_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let form = EvalForm::parse(&FormData::parse(&body));
    let (request, mut errors, rows) = form.to_request();
    let opts = EvaluateOptions { policy_version: None, record: errors.is_empty(), source: "web" };
    match svc::evaluate(&st.db, &st.policies, &actor, &request.to_string(), &opts).await {
        Ok(out) if errors.is_empty() => {
            let result = serde_json::to_value(&out.evaluation).map_err(anyhow::Error::from)?;
            let view = ResultView::from_json(&result, ctx.locale);
            let id = out.decision_id.unwrap_or_default();
            evaluate_view(&st, &ctx, form, vec![], Some((view, id))).await
        }
        Ok(_) => evaluate_view(&st, &ctx, form, errors, None).await,
        Err(AppError::Validation(list)) => {
            for e in list {
                let field = form_field(&e.field, &rows);
                // A value the form already refused is not reported twice.
                if !errors.iter().any(|x| x.field == field) {
                    errors.push(FieldError { field, ..e });
                }
            }
            evaluate_view(&st, &ctx, form, errors, None).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "entitlement/decision.html")]
struct DecisionPageT {
    l: Layout,
    d: StoredDecision,
    result: ResultView,
    request_pretty: String,
}

async fn decision_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let d = svc::decision(&st.db, &ctx.actor()?, id).await?;
    let result: Value = serde_json::from_str(&d.result_json).unwrap_or(Value::Null);
    let request: Value = serde_json::from_str(&d.request_json).unwrap_or(Value::Null);
    let page = DecisionPageT {
        l: Layout::new(&ctx, "entitlement.decision_title"),
        result: ResultView::from_json(&result, ctx.locale),
        request_pretty: serde_json::to_string_pretty(&request).unwrap_or_default(),
        d,
    };
    Ok(render(StatusCode::OK, &page))
}

// ---------------------------------------------------------------- policies

#[derive(Template)]
#[template(path = "entitlement/policies.html")]
struct PoliciesPage {
    l: Layout,
    policies: Vec<PolicySummary>,
    can_manage: bool,
}

fn can_manage(ctx: &Ctx) -> bool {
    ctx.user.as_ref().is_some_and(|u| u.can(Perm::ManagePolicies))
}

async fn policies_page(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let policies = svc::list_policies(&st.db, &ctx.actor()?).await?;
    let page =
        PoliciesPage { l: Layout::new(&ctx, "entitlement.policies_title"), policies, can_manage: can_manage(&ctx) };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "entitlement/policy_new.html")]
struct PolicyNewPage {
    l: Layout,
    policies: Vec<PolicySummary>,
    from: String,
    code: String,
    name_zh: String,
    name_en: String,
    note: String,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct NewQuery {
    #[serde(default)]
    from: String,
}

async fn policy_new_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<NewQuery>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    actor.require(Perm::ManagePolicies)?;
    let page = PolicyNewPage {
        l: Layout::new(&ctx, "entitlement.new_policy"),
        policies: svc::list_policies(&st.db, &actor).await?,
        from: if q.from.is_empty() { "seed-company".into() } else { q.from },
        code: String::new(),
        name_zh: String::new(),
        name_en: String::new(),
        note: String::new(),
        errors: FormErrors::default(),
    };
    Ok(render(StatusCode::OK, &page))
}

async fn policy_copy_submit(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> AppResult<Response> {
    let actor = ctx.actor()?;
    let f = FormData::parse(&body);
    let input = CopyPolicyInput {
        code: f.get("code"),
        name_zh: f.get("name_zh"),
        name_en: f.get("name_en"),
        from_version: None,
        note: f.get("note"),
    };
    let from = f.get("from");
    match svc::copy_policy(&st.db, &actor, &from, &input, None).await {
        Ok(v) => {
            Ok(Redirect::to(&format!("/entitlement/policies/{}?ok=created", super::urlencode(&v.code))).into_response())
        }
        Err(AppError::Validation(list)) => {
            let page = PolicyNewPage {
                l: Layout::new(&ctx, "entitlement.new_policy"),
                policies: svc::list_policies(&st.db, &actor).await?,
                from,
                code: input.code,
                name_zh: input.name_zh,
                name_en: input.name_en,
                note: input.note,
                errors: FormErrors::new(list, ctx.locale),
            };
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e),
    }
}

/// A line of a version-to-version comparison.
pub struct DiffLine {
    pub sign: &'static str,
    pub text: String,
}

/// Lines removed from and added to `old` to get `new` (longest common subsequence).
pub fn line_diff(old: &str, new: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(DiffLine { sign: "-", text: a[i].to_owned() });
            i += 1;
        } else {
            out.push(DiffLine { sign: "+", text: b[j].to_owned() });
            j += 1;
        }
    }
    out
}

pub struct VersionRow {
    pub version: u32,
    pub note: String,
    pub copied_from: String,
    pub by: String,
    pub at: Option<DateTime<Utc>>,
    pub json: String,
    /// Against the previous version; empty for the first.
    pub diff: Vec<DiffLine>,
}

#[derive(Template)]
#[template(path = "entitlement/policy.html")]
struct PolicyPage {
    l: Layout,
    code: String,
    name: String,
    builtin: bool,
    can_manage: bool,
    latest: u32,
    versions: Vec<VersionRow>,
    notice: String,
}

async fn policy_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(q): Query<OkQuery>,
) -> AppResult<Response> {
    let detail = svc::get_policy(&st.db, &ctx.actor()?, &code).await?;
    let pretty: Vec<String> =
        detail.versions.iter().map(|v| serde_json::to_string_pretty(&v.policy).unwrap_or_default()).collect();
    let versions: Vec<VersionRow> = detail
        .versions
        .iter()
        .enumerate()
        .map(|(i, v)| VersionRow {
            version: v.version,
            note: v.note.clone(),
            copied_from: v.copied_from.clone().unwrap_or_default(),
            by: v.created_by.clone().unwrap_or_default(),
            at: v.created_at,
            json: pretty[i].clone(),
            diff: pretty.get(i + 1).map(|older| line_diff(older, &pretty[i])).unwrap_or_default(),
        })
        .collect();
    let first = &detail.versions[0].policy;
    let name_key = if ctx.locale == "en" { "name_en" } else { "name_zh" };
    let page = PolicyPage {
        l: Layout::new(&ctx, "entitlement.policy_title"),
        name: first[name_key].as_str().unwrap_or_default().to_owned(),
        latest: detail.versions[0].version,
        code: detail.code,
        builtin: detail.builtin,
        can_manage: can_manage(&ctx),
        versions,
        notice: notice(&ctx, &q.ok),
    };
    Ok(render(StatusCode::OK, &page))
}

/// The parameters most often changed, edited as fields: path in the policy, label key.
const PARAMS: [(&str, &str); 10] = [
    ("warranty.months.default", "entitlement.param.months_default"),
    ("warranty.months.high", "entitlement.param.months_high"),
    ("warranty.months.mid", "entitlement.param.months_mid"),
    ("warranty.months.low", "entitlement.param.months_low"),
    ("refund_window.days", "entitlement.param.refund_days"),
    ("exchange_window.days", "entitlement.param.exchange_days"),
    ("failed_repairs.repairs", "entitlement.param.failed_repairs"),
    ("failed_repairs.within_days", "entitlement.param.failed_within"),
    ("return_terms.within_days", "entitlement.param.return_days"),
    ("refund.depreciation_per_day", "entitlement.param.depreciation"),
];

/// One parameter field: shown only when the policy has the rule block it belongs to.
pub struct ParamField {
    pub path: &'static str,
    pub label: String,
    pub value: String,
}

fn pointer(path: &str) -> String {
    format!("/{}", path.replace('.', "/"))
}

/// The block a parameter belongs to, when the policy has it.
fn param_parent<'a>(policy: &'a mut Value, path: &str) -> Option<(&'a mut Map<String, Value>, String)> {
    let (parent, key) = path.rsplit_once('.')?;
    policy.pointer_mut(&pointer(parent))?.as_object_mut().map(|m| (m, key.to_owned()))
}

fn param_fields(policy: &Value, locale: &str, typed: Option<&FormData>) -> Vec<ParamField> {
    let mut copy = policy.clone();
    PARAMS
        .iter()
        .filter_map(|&(path, key)| {
            let (block, field) = param_parent(&mut copy, path)?;
            let value = match typed {
                Some(f) => f.get(path),
                None => match block.get(&field) {
                    None | Some(Value::Null) => String::new(),
                    Some(v) => v.to_string(),
                },
            };
            Some(ParamField { path, label: crate::i18n::tr(locale, key), value })
        })
        .collect()
}

/// Writes the typed parameters into the policy. What does not parse as a number goes in as
/// text, so the policy check names that field.
fn apply_params(policy: &mut Value, f: &FormData) {
    for (path, _) in PARAMS {
        let typed = f.get(path);
        let typed = typed.trim();
        let value = if typed.is_empty() {
            Value::Null
        } else if let Ok(n) = typed.parse::<u64>() {
            Value::from(n)
        } else if let Some(x) = typed.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
            Value::Number(x)
        } else {
            Value::String(typed.to_owned())
        };
        if let Some((block, field)) = param_parent(policy, path) {
            block.insert(field, value);
        }
    }
}

#[derive(Template)]
#[template(path = "entitlement/policy_edit.html")]
struct PolicyEditPage {
    l: Layout,
    code: String,
    version: i64,
    params: Vec<ParamField>,
    policy_json: String,
    note: String,
    /// Every problem, with its path in the policy, listed at the top.
    errors: Vec<String>,
    /// The same by field, for the inputs that have one.
    field_errors: FormErrors,
    notice: String,
}

impl PolicyEditPage {
    fn new(ctx: &Ctx, code: &str, version: i64, policy: &Value) -> PolicyEditPage {
        PolicyEditPage {
            l: Layout::new(ctx, "entitlement.edit_title"),
            code: code.to_owned(),
            version,
            params: param_fields(policy, ctx.locale, None),
            policy_json: serde_json::to_string_pretty(policy).unwrap_or_default(),
            note: String::new(),
            errors: vec![],
            field_errors: FormErrors::default(),
            notice: String::new(),
        }
    }
}

async fn policy_edit_page(State(st): State<AppState>, ctx: Ctx, Path(code): Path<String>) -> AppResult<Response> {
    let actor = ctx.actor()?;
    actor.require(Perm::ManagePolicies)?;
    let detail = svc::get_policy(&st.db, &actor, &code).await?;
    if detail.builtin {
        return Ok(Redirect::to(&format!("/entitlement/policies/new?from={}", super::urlencode(&code))).into_response());
    }
    let latest = &detail.versions[0];
    let page = PolicyEditPage::new(&ctx, &detail.code, i64::from(latest.version), &latest.policy);
    Ok(render(StatusCode::OK, &page))
}

/// Two forms post here: the parameter fields (`mode=params`, applied to the version the edit
/// started from) and the whole policy as JSON.
async fn policy_edit_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let actor = ctx.actor()?;
    actor.require(Perm::ManagePolicies)?;
    let f = FormData::parse(&body);
    let version: i64 = f.get("version").parse().unwrap_or(-1);
    let note = f.get("note");
    let base_version = u32::try_from(version).map_err(|_| AppError::one("version", "error.bad_parameter"))?;
    let base = svc::get_version(&st.db, &actor, &code, base_version).await?;
    let by_params = f.get("mode") == "params";
    let mut page = PolicyEditPage::new(&ctx, &code, version, &base.policy);
    page.note = note.clone();
    let policy = if by_params {
        page.params = param_fields(&base.policy, ctx.locale, Some(&f));
        let mut p = base.policy.clone();
        apply_params(&mut p, &f);
        p
    } else {
        page.policy_json = f.get("policy_json");
        match serde_json::from_str::<Value>(&page.policy_json) {
            Ok(v) => {
                page.params = param_fields(&v, ctx.locale, None);
                v
            }
            Err(e) => {
                let err = FieldError::new(
                    "policy_json",
                    format!("JSON格式错误（第{}行第{}列）：{e}", e.line(), e.column()),
                    format!("invalid JSON at line {} column {}: {e}", e.line(), e.column()),
                );
                page.field_errors = FormErrors::new(vec![err], ctx.locale);
                return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
            }
        }
    };
    let input = NewVersionInput { version, policy, note };
    match svc::new_version(&st.db, &st.policies, &actor, &code, &input).await {
        Ok(v) => {
            Ok(Redirect::to(&format!("/entitlement/policies/{}?ok=saved#v{}", super::urlencode(&code), v.version))
                .into_response())
        }
        Err(AppError::Validation(list)) => {
            let list: Vec<FieldError> = list
                .into_iter()
                .map(|e| FieldError { field: e.field.strip_prefix("policy.").unwrap_or(&e.field).to_owned(), ..e })
                .collect();
            page.errors = list.iter().map(|e| format!("{}: {}", e.field, e.message(ctx.locale))).collect();
            page.field_errors = FormErrors::new(list, ctx.locale);
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(AppError::Conflict(key)) => {
            // Keep what the user typed and say why; the next save goes on top of the newest.
            let detail = svc::get_policy(&st.db, &actor, &code).await?;
            page.version = i64::from(detail.versions[0].version);
            page.notice = ctx.t(key);
            Ok(render(StatusCode::CONFLICT, &page))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_formats_and_parses() {
        assert_eq!(yuan(400000), "¥4,000.00");
        assert_eq!(yuan(123456789), "¥1,234,567.89");
        assert_eq!(yuan(5), "¥0.05");
        assert_eq!(parse_yuan("4,000.5"), Some(400050));
        assert_eq!(parse_yuan("¥4000"), Some(400000));
        assert_eq!(parse_yuan("12.345"), None);
        assert_eq!(parse_yuan("abc"), None);
        assert_eq!(parse_yuan("-5"), None);
    }

    #[test]
    fn local_times_get_the_company_offset() {
        assert_eq!(with_offset("2026-04-01T09:00"), json!("2026-04-01T09:00:00+08:00"));
        assert_eq!(with_offset("2026-04-01T09:00:00+02:00"), json!("2026-04-01T09:00:00+02:00"));
        assert_eq!(with_offset(""), Value::Null);
        assert_eq!(local_datetime("2026-04-01T01:00:00+00:00"), "2026-04-01T09:00");
    }

    #[test]
    fn history_errors_point_at_the_form_row() {
        assert_eq!(form_field("history[1].end", &[0, 2]), "history[2].end");
        assert_eq!(form_field("price_cents", &[]), "price");
        assert_eq!(form_field("fault.kind", &[]), "fault.kind");
    }

    #[test]
    fn diff_shows_changed_lines_only() {
        let d = line_diff("a\nb\nc", "a\nB\nc\nd");
        let s: Vec<String> = d.iter().map(|l| format!("{}{}", l.sign, l.text)).collect();
        assert_eq!(s, ["-b", "+B", "+d"]);
    }
}
