//! Accounts: created, edited, disabled and reset by administrators; each user changes their
//! own password and language.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::auth::AuthCache;
use super::{Actor, Idem, audit};
use crate::db::Db;
use crate::domain::user::{
    check_password, parse_display_name, parse_email, parse_locale, parse_login, parse_phone, parse_roles,
};
use crate::domain::{Perm, Role};
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::store;
use crate::store::users::User;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewUserInput {
    pub login: String,
    pub display_name: String,
    pub password: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    /// Role codes: general_manager, service_manager, dispatcher, quality, engineer, warehouse, admin.
    pub roles: Vec<String>,
    /// A region code, or empty for none (all regions, for roles that may see them).
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub locale: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct UpdateUserInput {
    /// The version read before editing; a stale one is refused with 409.
    pub version: i64,
    pub display_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    pub roles: Vec<String>,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub locale: String,
    pub active: bool,
}

/// What the audit trail keeps of a user (never the password hash).
#[derive(Serialize)]
struct Snapshot<'a> {
    login: &'a str,
    display_name: &'a str,
    email: &'a Option<String>,
    phone: &'a Option<String>,
    roles: &'a [Role],
    region_code: &'a Option<String>,
    locale: &'a str,
    active: bool,
}

fn snapshot(u: &User) -> Snapshot<'_> {
    Snapshot {
        login: &u.login,
        display_name: &u.display_name,
        email: &u.email,
        phone: &u.phone,
        roles: &u.roles,
        region_code: &u.region_code,
        locale: &u.locale,
        active: u.active,
    }
}

async fn check_region(db: &Db, region: &str, errors: &mut Vec<rules::FieldError>) -> AppResult<Option<String>> {
    let region = region.trim();
    if region.is_empty() {
        return Ok(None);
    }
    let mut c = db.read().await?;
    let known = store::settings::regions(c.conn()).await?;
    if !known.iter().any(|r| r.code == region) {
        errors.push(field_error("region", "error.unknown_region"));
    }
    Ok(Some(region.to_string()))
}

pub async fn create(db: &Db, actor: &Actor, input: &NewUserInput, idem: Option<&Idem<'_>>) -> AppResult<User> {
    actor.require(Perm::ManageUsers)?;
    let mut errors = vec![];
    let login = parse_login(&input.login, &mut errors);
    let name = parse_display_name(&input.display_name, &mut errors);
    let email = parse_email(&input.email, &mut errors);
    let phone = parse_phone("phone", &input.phone, &mut errors);
    check_password("password", &input.password, &mut errors);
    let roles = parse_roles(input.roles.iter().map(String::as_str), &mut errors);
    let region = check_region(db, &input.region, &mut errors).await?;
    let locale = parse_locale(&input.locale, &mut errors);
    AppError::check(errors)?;
    let hash = crate::service::auth::hash_password(&input.password).await?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    if store::users::by_login(tx.conn(), &login).await?.is_some() {
        return Err(AppError::one("login", "error.login_taken"));
    }
    let new = store::users::NewUser {
        login: &login,
        display_name: &name,
        email: email.as_deref(),
        phone: phone.as_deref(),
        password_hash: &hash,
        region_code: region.as_deref(),
        locale: &locale,
        roles: &roles,
    };
    let id = store::users::insert(tx.conn(), &new, now).await?;
    let user = store::users::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record::<(), _>(&mut tx, actor, now, "create", "user", &id.to_string(), None, Some(&snapshot(&user)))
        .await?;
    if let Some(idem) = idem {
        super::remember(&mut tx, actor, idem, 201, &user).await?;
    }
    tx.commit().await?;
    Ok(user)
}

/// `tokens` is this instance's token cache: roles, region, locale or the account itself may
/// change, so API tokens are resolved afresh.
pub async fn update(db: &Db, cache: &AuthCache, actor: &Actor, id: i64, input: &UpdateUserInput) -> AppResult<User> {
    actor.require(Perm::ManageUsers)?;
    let mut errors = vec![];
    let name = parse_display_name(&input.display_name, &mut errors);
    let email = parse_email(&input.email, &mut errors);
    let phone = parse_phone("phone", &input.phone, &mut errors);
    let roles = parse_roles(input.roles.iter().map(String::as_str), &mut errors);
    let region = check_region(db, &input.region, &mut errors).await?;
    let locale = parse_locale(&input.locale, &mut errors);
    if actor.user_id == Some(id) && (!input.active || !roles.contains(&Role::Admin)) {
        // An administrator cannot lock themselves out by accident.
        errors.push(field_error("active", "error.self_lockout"));
    }
    AppError::check(errors)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = store::users::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    let changes = store::users::UserChanges {
        display_name: &name,
        email: email.as_deref(),
        phone: phone.as_deref(),
        region_code: region.as_deref(),
        locale: &locale,
        active: input.active,
    };
    if !store::users::update(tx.conn(), id, input.version, &changes, now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    store::users::set_roles(tx.conn(), id, &roles).await?;
    if !input.active {
        store::auth::delete_user_sessions(tx.conn(), id).await?;
    }
    let after = store::users::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record(
        &mut tx,
        actor,
        now,
        "update",
        "user",
        &id.to_string(),
        Some(&snapshot(&before)),
        Some(&snapshot(&after)),
    )
    .await?;
    tx.commit().await?;
    cache.clear();
    Ok(after)
}

/// An administrator sets a new password; the user's sessions end.
pub async fn reset_password(db: &Db, cache: &AuthCache, actor: &Actor, id: i64, password: &str) -> AppResult<()> {
    actor.require(Perm::ManageUsers)?;
    let mut errors = vec![];
    check_password("password", password, &mut errors);
    AppError::check(errors)?;
    set_password(db, actor, id, password, "reset_password").await?;
    cache.clear();
    Ok(())
}

/// A user changes their own password, proving they know the current one.
pub async fn change_own_password(db: &Db, actor: &Actor, current: &str, new: &str) -> AppResult<()> {
    let id = actor.user_id.ok_or(AppError::Unauthorized)?;
    let mut errors = vec![];
    check_password("new_password", new, &mut errors);
    let user = {
        let mut c = db.read().await?;
        store::users::get(c.conn(), id).await?.ok_or(AppError::NotFound)?
    };
    if !crate::service::auth::verify_password(current, &user.password_hash).await {
        errors.push(field_error("current_password", "error.wrong_password"));
    }
    AppError::check(errors)?;
    set_password(db, actor, id, new, "change_password").await
}

async fn set_password(db: &Db, actor: &Actor, id: i64, password: &str, action: &str) -> AppResult<()> {
    let hash = crate::service::auth::hash_password(password).await?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    store::users::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    store::users::set_password(tx.conn(), id, &hash, now).await?;
    if action == "reset_password" {
        store::auth::delete_user_sessions(tx.conn(), id).await?;
    }
    audit::record::<(), ()>(&mut tx, actor, now, action, "user", &id.to_string(), None, None).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn set_own_locale(db: &Db, cache: &AuthCache, actor: &Actor, locale: &str) -> AppResult<()> {
    let id = actor.user_id.ok_or(AppError::Unauthorized)?;
    let mut errors = vec![];
    let locale = parse_locale(locale, &mut errors);
    AppError::check(errors)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = store::users::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    store::users::set_locale(tx.conn(), id, &locale, now).await?;
    audit::record(
        &mut tx,
        actor,
        now,
        "set_locale",
        "user",
        &id.to_string(),
        Some(&serde_json::json!({ "locale": before.locale })),
        Some(&serde_json::json!({ "locale": locale })),
    )
    .await?;
    tx.commit().await?;
    cache.clear();
    Ok(())
}

pub async fn get(db: &Db, actor: &Actor, id: i64) -> AppResult<User> {
    if actor.user_id != Some(id) {
        actor.require(Perm::ManageUsers)?;
    }
    let mut c = db.read().await?;
    store::users::get(c.conn(), id).await?.ok_or(AppError::NotFound)
}

pub async fn list(db: &Db, actor: &Actor, filter: &store::users::ListFilter) -> AppResult<Vec<User>> {
    actor.require(Perm::ManageUsers)?;
    let mut c = db.read().await?;
    Ok(store::users::list(c.conn(), filter).await?)
}

/// The active users (of one role, if given) as (id, display name) by name, for the owner and
/// engineer pickers of forms; the caller checks that the actor may pick.
pub async fn active_names(db: &Db, role: Option<Role>) -> AppResult<Vec<(i64, String)>> {
    let mut c = db.read().await?;
    let f = store::users::ListFilter { q: None, role, region: None, active: Some(true), after_id: None, limit: 10_000 };
    let mut list: Vec<(i64, String)> =
        store::users::list(c.conn(), &f).await?.into_iter().map(|u| (u.id, u.display_name)).collect();
    list.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(list)
}
