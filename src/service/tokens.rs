//! Personal API tokens: shown once when created, stored only as a hash, revocable.

use chrono::Utc;
use serde::Serialize;

use super::auth::AuthCache;
use super::{Actor, Idem, audit, new_secret};
use crate::db::Db;
use crate::domain::Perm;
use crate::error::{AppError, AppResult};
use crate::store;
use crate::store::auth::ApiToken;

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub id: i64,
    pub name: String,
    /// The secret itself: shown this once, never again.
    pub token: String,
}

/// Creates a token for `user_id` (oneself, or anyone for an administrator).
pub async fn create(
    db: &Db,
    actor: &Actor,
    user_id: i64,
    name: &str,
    idem: Option<&Idem<'_>>,
) -> AppResult<CreatedToken> {
    if actor.user_id != Some(user_id) {
        actor.require(Perm::ManageUsers)?;
    }
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::one("name", "error.required"));
    }
    if name.chars().count() > 64 {
        return Err(AppError::one("name", "error.too_long"));
    }
    let (token, hash) = new_secret();
    let now = Utc::now();
    let mut tx = db.begin().await?;
    store::users::get(tx.conn(), user_id).await?.ok_or(AppError::NotFound)?;
    let id = store::auth::insert_token(tx.conn(), user_id, name, &hash, &token[..8], now).await?;
    audit::record::<(), _>(
        &mut tx,
        actor,
        now,
        "create",
        "api_token",
        &id.to_string(),
        None,
        Some(&serde_json::json!({ "user_id": user_id, "name": name, "prefix": &token[..8] })),
    )
    .await?;
    let created = CreatedToken { id, name: name.to_string(), token };
    if let Some(idem) = idem {
        super::remember(&mut tx, actor, idem, 201, &created).await?;
    }
    tx.commit().await?;
    Ok(created)
}

pub async fn list(db: &Db, actor: &Actor, user_id: i64) -> AppResult<Vec<ApiToken>> {
    if actor.user_id != Some(user_id) {
        actor.require(Perm::ManageUsers)?;
    }
    let mut c = db.read().await?;
    Ok(store::auth::tokens_of(c.conn(), user_id).await?)
}

pub async fn revoke(db: &Db, cache: &AuthCache, actor: &Actor, token_id: i64) -> AppResult<()> {
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let t = store::auth::get_token(tx.conn(), token_id).await?.ok_or(AppError::NotFound)?;
    if actor.user_id != Some(t.user_id) && !actor.can(Perm::ManageUsers) {
        // Someone else's token is "not found", not "forbidden": its existence is not theirs to know.
        return Err(AppError::NotFound);
    }
    if store::auth::revoke_token(tx.conn(), token_id, now).await? {
        audit::record::<(), _>(
            &mut tx,
            actor,
            now,
            "revoke",
            "api_token",
            &token_id.to_string(),
            None,
            Some(&serde_json::json!({ "user_id": t.user_id, "name": t.name })),
        )
        .await?;
    }
    tx.commit().await?;
    cache.clear();
    Ok(())
}
