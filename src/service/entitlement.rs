//! Entitlement (三包) decisions and the policies that make them.
//!
//! Policies: the three built-ins (`cn-general-1995`, `cn-car-2021`, `seed-company`) ship with
//! the program in the rules crate and are read-only; they change only with a release, which
//! bumps their `version`. Company policies live in `entitlement_policy_versions`, one row per
//! version, never updated: a change inserts the next version, and the unique (code, version)
//! key makes a stale editor fail with 409. A company starts a policy by copying any policy.
//!
//! Resolution and caching: built-ins cost nothing. A pinned company version (`policy_version`)
//! is immutable, so it is cached for good. The latest version of a company policy is cached
//! for [`LATEST_TTL`]; the instance that saves a version drops its entry at once, other
//! instances see it within the TTL. Every answer names the version it used, and recorded
//! decisions always read the latest version from the database, never from the cache.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rules::FieldError;
use rules::entitlement::{Evaluation, Policy, builtin_policies, builtin_policy, evaluate_json};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Actor, Idem, audit};
use crate::db::Db;
use crate::domain::Perm;
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::store;
use crate::store::entitlement::{NewDecision, NewVersion, PolicyVersion, StoredDecision};

/// How long another instance may keep answering with the previous latest version.
pub const LATEST_TTL: Duration = Duration::from_secs(5);
/// Pinned versions kept in memory; the map is cleared when it grows past this.
const PINNED_MAX: usize = 1024;
const NOTE_MAX: usize = 500;

/// Company policies in memory, per application instance.
#[derive(Default)]
pub struct PolicyCache {
    latest: RwLock<HashMap<String, (Arc<Policy>, Instant)>>,
    pinned: RwLock<HashMap<(String, u32), Arc<Policy>>>,
}

impl PolicyCache {
    pub fn new() -> PolicyCache {
        PolicyCache::default()
    }

    fn get(&self, code: &str, version: Option<u32>) -> Option<Arc<Policy>> {
        match version {
            Some(v) => self.pinned.read().ok()?.get(&(code.to_owned(), v)).cloned(),
            None => {
                let map = self.latest.read().ok()?;
                let (p, at) = map.get(code)?;
                (at.elapsed() < LATEST_TTL).then(|| p.clone())
            }
        }
    }

    fn put(&self, policy: Arc<Policy>, pinned: bool) {
        if pinned {
            if let Ok(mut m) = self.pinned.write() {
                if m.len() >= PINNED_MAX {
                    m.clear();
                }
                m.insert((policy.code.clone(), policy.version), policy);
            }
        } else if let Ok(mut m) = self.latest.write() {
            m.insert(policy.code.clone(), (policy, Instant::now()));
        }
    }

    /// Called after this instance saved a version of `code`.
    pub fn invalidate(&self, code: &str) {
        if let Ok(mut m) = self.latest.write() {
            m.remove(code);
        }
    }
}

pub fn is_builtin(code: &str) -> bool {
    builtin_policy(code).is_some()
}

enum Resolved {
    Found(Arc<Policy>),
    NoCode,
    NoVersion,
}

fn parse_stored(row: &PolicyVersion) -> AppResult<Policy> {
    serde_json::from_str(&row.policy_json).map_err(|e| {
        AppError::Internal(anyhow::anyhow!("stored policy {} v{} does not parse: {e}", row.code, row.version))
    })
}

async fn resolve(db: &Db, code: &str, version: Option<u32>) -> AppResult<Resolved> {
    if let Some(p) = builtin_policy(code) {
        return Ok(match version {
            Some(v) if v != p.version => Resolved::NoVersion,
            _ => Resolved::Found(Arc::new(p)),
        });
    }
    let mut c = db.read().await?;
    let row = match version {
        Some(v) => store::entitlement::version(c.conn(), code, i64::from(v)).await?,
        None => store::entitlement::latest(c.conn(), code).await?,
    };
    match row {
        Some(row) => Ok(Resolved::Found(Arc::new(parse_stored(&row)?))),
        None if version.is_some() && store::entitlement::latest(c.conn(), code).await?.is_some() => {
            Ok(Resolved::NoVersion)
        }
        None => Ok(Resolved::NoCode),
    }
}

/// The latest version of a policy, built-in or the company's (None when the code is unknown).
pub async fn latest_policy(db: &Db, code: &str) -> AppResult<Option<Policy>> {
    Ok(match resolve(db, code, None).await? {
        Resolved::Found(p) => Some((*p).clone()),
        Resolved::NoCode | Resolved::NoVersion => None,
    })
}

/// How an evaluation is asked for.
pub struct EvaluateOptions {
    /// Use this version of the policy rather than the latest.
    pub policy_version: Option<u32>,
    /// Store the request and the answer as a decision.
    pub record: bool,
    /// web, api or cli.
    pub source: &'static str,
}

pub struct Evaluated {
    pub evaluation: Evaluation,
    pub decision_id: Option<i64>,
}

/// Decides the JSON contract `body`. Any signed-in user may ask. Bad input is a validation
/// error naming each field; nothing is stored then.
pub async fn evaluate(
    db: &Db,
    cache: &PolicyCache,
    actor: &Actor,
    body: &str,
    opts: &EvaluateOptions,
) -> AppResult<Evaluated> {
    let version = opts.policy_version;
    // The engine resolves the code synchronously; a policy not at hand is noted and fetched
    // below, then the request is decided again (only on a cache miss).
    let missed: RefCell<Option<String>> = RefCell::new(None);
    let first = evaluate_json(body, |code| {
        let found = match builtin_policy(code) {
            Some(p) => version.is_none_or(|v| v == p.version).then_some(p),
            None if opts.record => None,
            None => cache.get(code, version).map(|p| Policy::clone(&p)),
        };
        if found.is_none() {
            *missed.borrow_mut() = Some(code.to_owned());
        }
        found
    });
    let result = match (first, missed.into_inner()) {
        (Err(mut errors), Some(code)) => match resolve(db, &code, version).await? {
            Resolved::Found(p) => {
                if !is_builtin(&code) {
                    cache.put(p.clone(), version.is_some());
                }
                evaluate_json(body, |c| (c == code).then(|| Policy::clone(&p)))
            }
            Resolved::NoVersion => {
                errors.retain(|e| e.field != "policy");
                errors.push(field_error("policy_version", "entitlement.error.no_version"));
                Err(errors)
            }
            Resolved::NoCode => Err(errors),
        },
        (r, _) => r,
    };
    let evaluation = result.map_err(AppError::Validation)?;
    let decision_id = if opts.record { Some(record(db, actor, body, &evaluation, opts.source).await?) } else { None };
    Ok(Evaluated { evaluation, decision_id })
}

async fn record(db: &Db, actor: &Actor, body: &str, e: &Evaluation, source: &str) -> AppResult<i64> {
    // The body parsed as JSON moments ago; store it compactly.
    let request: Value = serde_json::from_str(body).map_err(anyhow::Error::from)?;
    let result = serde_json::to_string(e).map_err(anyhow::Error::from)?;
    let remedies: Vec<&str> = e.remedies.iter().map(|r| r.code()).collect();
    let mut tx = db.begin().await?;
    let id = store::entitlement::insert_decision(
        tx.conn(),
        &NewDecision {
            policy_code: &e.policy,
            policy_version: i64::from(e.policy_version),
            request_json: &request.to_string(),
            result_json: &result,
            remedies: &remedies.join(","),
            source,
            unit_id: None,
            work_order_id: None,
            decided_by: actor.user_id,
            decided_by_label: &actor.label,
            decided_at: Utc::now(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Decisions hold no personal data yet: every signed-in user may read them.
pub async fn decision(db: &Db, _actor: &Actor, id: i64) -> AppResult<StoredDecision> {
    let mut c = db.read().await?;
    store::entitlement::decision(c.conn(), id).await?.ok_or(AppError::NotFound)
}

pub async fn recent_decisions(
    db: &Db,
    _actor: &Actor,
    before_id: Option<i64>,
    limit: i64,
) -> AppResult<Vec<StoredDecision>> {
    let mut c = db.read().await?;
    Ok(store::entitlement::recent_decisions(c.conn(), before_id, limit).await?)
}

// ---------------------------------------------------------------- policies

/// A policy in a list: its newest version.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PolicySummary {
    pub code: String,
    pub version: u32,
    pub name_zh: String,
    pub name_en: String,
    /// general or vehicle.
    pub family: String,
    /// Shipped with the program, read-only.
    pub builtin: bool,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
}

impl PolicySummary {
    pub fn name(&self, locale: &str) -> &str {
        if locale == "en" { &self.name_en } else { &self.name_zh }
    }
}

/// One version of a policy, built-in or stored.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct VersionView {
    pub code: String,
    pub version: u32,
    pub builtin: bool,
    /// The policy (`rules::entitlement::Policy`).
    #[schema(value_type = Object)]
    pub policy: Value,
    pub note: String,
    pub copied_from: Option<String>,
    pub created_by: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PolicyDetail {
    pub code: String,
    pub builtin: bool,
    /// Newest first.
    pub versions: Vec<VersionView>,
}

fn family_code(p: &Policy) -> String {
    serde_json::to_value(p.family).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn builtin_view(p: &Policy) -> VersionView {
    VersionView {
        code: p.code.clone(),
        version: p.version,
        builtin: true,
        policy: serde_json::to_value(p).unwrap_or(Value::Null),
        note: String::new(),
        copied_from: None,
        created_by: None,
        created_at: None,
    }
}

fn stored_view(row: PolicyVersion) -> VersionView {
    VersionView {
        policy: serde_json::from_str(&row.policy_json).unwrap_or(Value::Null),
        code: row.code,
        version: u32::try_from(row.version).unwrap_or(0),
        builtin: false,
        note: row.note,
        copied_from: row.copied_from,
        created_by: Some(row.created_by_label),
        created_at: Some(row.created_at),
    }
}

/// Built-ins first, then company policies by code. Everyone signed in may read policies.
pub async fn list_policies(db: &Db, _actor: &Actor) -> AppResult<Vec<PolicySummary>> {
    let mut out: Vec<PolicySummary> = builtin_policies()
        .iter()
        .map(|p| PolicySummary {
            code: p.code.clone(),
            version: p.version,
            name_zh: p.name_zh.clone(),
            name_en: p.name_en.clone(),
            family: family_code(p),
            builtin: true,
            updated_at: None,
            updated_by: None,
        })
        .collect();
    let mut c = db.read().await?;
    for row in store::entitlement::list_latest(c.conn()).await? {
        out.push(PolicySummary {
            version: u32::try_from(row.version).unwrap_or(0),
            code: row.code,
            name_zh: row.name_zh,
            name_en: row.name_en,
            family: row.family,
            builtin: false,
            updated_at: Some(row.created_at),
            updated_by: Some(row.created_by_label),
        });
    }
    Ok(out)
}

pub async fn get_policy(db: &Db, _actor: &Actor, code: &str) -> AppResult<PolicyDetail> {
    if let Some(p) = builtin_policy(code) {
        return Ok(PolicyDetail { code: p.code.clone(), builtin: true, versions: vec![builtin_view(&p)] });
    }
    let mut c = db.read().await?;
    let rows = store::entitlement::versions(c.conn(), code).await?;
    if rows.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok(PolicyDetail { code: code.to_owned(), builtin: false, versions: rows.into_iter().map(stored_view).collect() })
}

pub async fn get_version(db: &Db, _actor: &Actor, code: &str, version: u32) -> AppResult<VersionView> {
    if let Some(p) = builtin_policy(code) {
        return if p.version == version { Ok(builtin_view(&p)) } else { Err(AppError::NotFound) };
    }
    let mut c = db.read().await?;
    let row = store::entitlement::version(c.conn(), code, i64::from(version)).await?.ok_or(AppError::NotFound)?;
    Ok(stored_view(row))
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewPolicyInput {
    /// The whole policy (`rules::entitlement::Policy`); `version` is set to 1.
    #[schema(value_type = Object)]
    pub policy: Value,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewVersionInput {
    /// The version the edit started from; 409 when another version was saved meanwhile.
    pub version: i64,
    /// The whole policy; its `code` must be the policy's, its `version` is set by the server.
    #[schema(value_type = Object)]
    pub policy: Value,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CopyPolicyInput {
    /// Code of the new company policy.
    pub code: String,
    /// Names of the copy; empty keeps the source's.
    #[serde(default)]
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
    /// Copy this version of the source rather than its latest.
    #[serde(default)]
    pub from_version: Option<u32>,
    #[serde(default)]
    pub note: String,
}

/// What the audit trail keeps of a version.
#[derive(Serialize)]
struct Snapshot<'a> {
    version: u32,
    note: &'a str,
    policy: &'a Value,
}

fn check_note(note: &str, errors: &mut Vec<FieldError>) -> String {
    let note = note.trim();
    if note.chars().count() > NOTE_MAX {
        errors.push(field_error("note", "error.too_long"));
    }
    note.to_owned()
}

/// Reads a policy from JSON with every problem named by its path under `policy.`. `code`
/// is checked (or filled in) when given; `version` is always the server's; company policies
/// always cite their version, since a decision must name the version that made it.
pub fn parse_policy(value: &Value, code: Option<&str>, version: u32) -> Result<Policy, Vec<FieldError>> {
    let Some(obj) = value.as_object() else {
        return Err(vec![field_error("policy", "entitlement.error.policy_object")]);
    };
    let mut obj = obj.clone();
    if let Some(code) = code {
        match obj.get("code") {
            Some(Value::String(c)) if c != code => {
                return Err(vec![field_error("policy.code", "entitlement.error.code_mismatch")]);
            }
            _ => {
                obj.insert("code".into(), Value::String(code.to_owned()));
            }
        }
    }
    obj.insert("version".into(), Value::from(version));
    obj.insert("cite_version".into(), Value::Bool(true));
    let policy: Policy = serde_path_to_error::deserialize(Value::Object(obj)).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "policy".to_owned() } else { format!("policy.{path}") };
        let inner = e.into_inner().to_string();
        vec![FieldError::new(field, format!("格式不正确：{inner}"), format!("not valid: {inner}"))]
    })?;
    policy.validate().map_err(|list| {
        list.into_iter().map(|f| FieldError { field: format!("policy.{}", f.field), ..f }).collect::<Vec<_>>()
    })?;
    Ok(policy)
}

fn unique_to_conflict(e: sqlx::Error, key: &'static str) -> AppError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => AppError::Conflict(key),
        _ => e.into(),
    }
}

async fn insert_first_version(
    db: &Db,
    actor: &Actor,
    policy: &Policy,
    note: &str,
    copied_from: Option<&str>,
    action: &str,
    idem: Option<&Idem<'_>>,
) -> AppResult<VersionView> {
    let now = Utc::now();
    let json = serde_json::to_value(policy).map_err(anyhow::Error::from)?;
    let text = json.to_string();
    let family = family_code(policy);
    let mut tx = db.begin().await?;
    if store::entitlement::latest(tx.conn(), &policy.code).await?.is_some() {
        return Err(AppError::one("code", "entitlement.error.code_taken"));
    }
    store::entitlement::insert_version(
        tx.conn(),
        &NewVersion {
            code: &policy.code,
            version: 1,
            policy_json: &text,
            name_zh: &policy.name_zh,
            name_en: &policy.name_en,
            family: &family,
            note,
            copied_from,
            created_by: actor.user_id,
            created_by_label: &actor.label,
            created_at: now,
        },
    )
    .await
    .map_err(|e| unique_to_conflict(e, "entitlement.error.code_taken"))?;
    let view = VersionView {
        code: policy.code.clone(),
        version: 1,
        builtin: false,
        policy: json,
        note: note.to_owned(),
        copied_from: copied_from.map(str::to_owned),
        created_by: Some(actor.label.clone()),
        created_at: Some(now),
    };
    let after = Snapshot { version: 1, note, policy: &view.policy };
    audit::record::<(), _>(&mut tx, actor, now, action, "entitlement_policy", &policy.code, None, Some(&after)).await?;
    if let Some(idem) = idem {
        super::remember(&mut tx, actor, idem, 201, &view).await?;
    }
    tx.commit().await?;
    Ok(view)
}

fn check_new_code(code: &str, errors: &mut Vec<FieldError>) {
    if is_builtin(code) {
        errors.push(field_error("code", "entitlement.error.code_builtin"));
    }
}

/// A new company policy from its JSON.
pub async fn create_policy(
    db: &Db,
    actor: &Actor,
    input: &NewPolicyInput,
    idem: Option<&Idem<'_>>,
) -> AppResult<VersionView> {
    actor.require(Perm::ManagePolicies)?;
    let mut errors = vec![];
    let note = check_note(&input.note, &mut errors);
    match parse_policy(&input.policy, None, 1) {
        Ok(policy) => {
            check_new_code(&policy.code, &mut errors);
            AppError::check(errors)?;
            insert_first_version(db, actor, &policy, &note, None, "create", idem).await
        }
        Err(list) => {
            errors.extend(list);
            Err(AppError::Validation(errors))
        }
    }
}

/// A new company policy copied from any policy (a built-in or another company policy).
pub async fn copy_policy(
    db: &Db,
    actor: &Actor,
    from: &str,
    input: &CopyPolicyInput,
    idem: Option<&Idem<'_>>,
) -> AppResult<VersionView> {
    actor.require(Perm::ManagePolicies)?;
    let source = match input.from_version {
        Some(v) => get_version(db, actor, from, v).await?,
        None => get_policy(db, actor, from).await?.versions.into_iter().next().ok_or(AppError::NotFound)?,
    };
    let mut errors = vec![];
    let note = check_note(&input.note, &mut errors);
    let code = input.code.trim();
    check_new_code(code, &mut errors);
    let mut value = source.policy.clone();
    if let Some(obj) = value.as_object_mut() {
        obj.insert("code".into(), Value::String(code.to_owned()));
        // The copy is cited under its own code, not the source's label.
        obj.insert("citation".into(), Value::Null);
        for (key, name) in [("name_zh", &input.name_zh), ("name_en", &input.name_en)] {
            if !name.trim().is_empty() {
                obj.insert(key.into(), Value::String(name.trim().to_owned()));
            }
        }
    }
    match parse_policy(&value, Some(code), 1) {
        Ok(policy) => {
            AppError::check(errors)?;
            let copied_from = format!("{} v{}", source.code, source.version);
            insert_first_version(db, actor, &policy, &note, Some(&copied_from), "copy", idem).await
        }
        Err(list) => {
            // The source was valid, so what is wrong here is what the user typed.
            errors.extend(
                list.into_iter()
                    .map(|f| FieldError { field: f.field.strip_prefix("policy.").unwrap_or(&f.field).to_owned(), ..f }),
            );
            Err(AppError::Validation(errors))
        }
    }
}

/// Saves the next version of a company policy, if `input.version` is still the latest.
pub async fn new_version(
    db: &Db,
    cache: &PolicyCache,
    actor: &Actor,
    code: &str,
    input: &NewVersionInput,
) -> AppResult<VersionView> {
    actor.require(Perm::ManagePolicies)?;
    if is_builtin(code) {
        return Err(AppError::one("code", "entitlement.error.builtin_readonly"));
    }
    let next =
        u32::try_from(input.version.saturating_add(1)).map_err(|_| AppError::one("version", "error.bad_parameter"))?;
    let mut errors = vec![];
    let note = check_note(&input.note, &mut errors);
    let policy = match parse_policy(&input.policy, Some(code), next) {
        Ok(p) => p,
        Err(list) => {
            errors.extend(list);
            return Err(AppError::Validation(errors));
        }
    };
    AppError::check(errors)?;
    let now = Utc::now();
    let json = serde_json::to_value(&policy).map_err(anyhow::Error::from)?;
    let mut tx = db.begin().await?;
    let before = store::entitlement::latest(tx.conn(), code).await?.ok_or(AppError::NotFound)?;
    if before.version != input.version {
        return Err(AppError::Conflict("error.stale"));
    }
    store::entitlement::insert_version(
        tx.conn(),
        &NewVersion {
            code,
            version: i64::from(next),
            policy_json: &json.to_string(),
            name_zh: &policy.name_zh,
            name_en: &policy.name_en,
            family: &family_code(&policy),
            note: &note,
            copied_from: None,
            created_by: actor.user_id,
            created_by_label: &actor.label,
            created_at: now,
        },
    )
    .await
    .map_err(|e| unique_to_conflict(e, "error.stale"))?;
    let before_json: Value = serde_json::from_str(&before.policy_json).unwrap_or(Value::Null);
    let before_snap =
        Snapshot { version: u32::try_from(before.version).unwrap_or(0), note: &before.note, policy: &before_json };
    let after_snap = Snapshot { version: next, note: &note, policy: &json };
    audit::record(
        &mut tx,
        actor,
        now,
        "new_version",
        "entitlement_policy",
        code,
        Some(&before_snap),
        Some(&after_snap),
    )
    .await?;
    tx.commit().await?;
    cache.invalidate(code);
    Ok(VersionView {
        code: code.to_owned(),
        version: next,
        builtin: false,
        policy: json,
        note,
        copied_from: None,
        created_by: Some(actor.label.clone()),
        created_at: Some(now),
    })
}
