//! Use cases: each user action is one function, one transaction, a permission check and an
//! audit entry. Pages, the API and the CLI all call these.

pub mod analysis;
pub mod appraisal;
pub mod archive;
pub mod audit;
pub mod auth;
pub mod calendars;
pub mod campaigns;
pub mod care;
pub mod care_plans;
pub mod certification;
pub mod complaints;
pub mod dashboard;
pub mod entitlement;
pub mod handbook;
pub mod import;
pub mod intake;
pub mod notifications;
pub mod objectives;
pub mod part_requests;
pub mod parts;
pub mod reports;
pub mod sla;
pub mod stock;
pub mod teams;
pub mod tokens;
pub mod users;
pub mod work_orders;

use crate::domain::{Perm, Role};
use crate::error::{AppError, AppResult};

/// Who is acting, for permission checks and the audit trail.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub label: String,
    pub roles: Vec<Role>,
    pub region_code: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

impl Actor {
    /// The command line: an operator at the server's shell, allowed everything.
    pub fn system(label: &str) -> Actor {
        Actor {
            user_id: None,
            label: label.into(),
            roles: vec![Role::Admin],
            region_code: None,
            ip: None,
            request_id: None,
        }
    }

    pub fn can(&self, p: Perm) -> bool {
        self.roles.iter().any(|r| r.allows(p))
    }

    pub fn require(&self, p: Perm) -> AppResult<()> {
        if self.can(p) { Ok(()) } else { Err(AppError::Forbidden) }
    }
}

/// An `Idempotency-Key` sent with an API create, scoped to the operation so a key reused
/// for another operation is refused rather than answered with the wrong thing.
pub struct Idem<'a> {
    pub key: &'a str,
    pub scope: &'static str,
}

/// The stored answer for a repeated key, if the operation already ran.
pub async fn replay(db: &crate::db::Db, actor: &Actor, idem: &Idem<'_>) -> AppResult<Option<(u16, String)>> {
    let Some(user_id) = actor.user_id else { return Ok(None) };
    let mut c = db.read().await?;
    match crate::store::auth::idempotent_response(c.conn(), user_id, idem.key).await? {
        Some((scope, _, _)) if scope != idem.scope => Err(AppError::Conflict("error.idempotency_reused")),
        Some((_, status, body)) => Ok(Some((status as u16, body))),
        None => Ok(None),
    }
}

/// Stores the answer inside the operation's transaction. A concurrent request with the same
/// key loses on the primary key and is told to retry, which then replays this answer.
pub async fn remember<T: serde::Serialize>(
    tx: &mut crate::db::Tx,
    actor: &Actor,
    idem: &Idem<'_>,
    status: u16,
    body: &T,
) -> AppResult<()> {
    let Some(user_id) = actor.user_id else { return Ok(()) };
    let body = serde_json::to_string(body).map_err(anyhow::Error::from)?;
    crate::store::auth::save_idempotent_response(
        tx.conn(),
        user_id,
        idem.key,
        idem.scope,
        status as i32,
        &body,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => AppError::Conflict("error.idempotency_in_progress"),
        _ => e.into(),
    })
}

/// A random secret as 64 hex characters (256 bits) and its SHA-256 hash, which is what the
/// database keeps: a leaked table gives away no live session or token.
pub fn new_secret() -> (String, String) {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    let secret = hex(&bytes);
    let hash = hash_secret(&secret);
    (secret, hash)
}

pub fn hash_secret(secret: &str) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(secret.as_bytes()))
}

/// Bytes as lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A value read from the database and kept for `ttl`, one per database (one process serves
/// several in the tests). Another instance's change shows here within `ttl`.
pub(crate) struct PerDb<V> {
    map: std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, std::sync::Arc<V>)>>,
    ttl: std::time::Duration,
}

impl<V> PerDb<V> {
    pub fn new(ttl: std::time::Duration) -> PerDb<V> {
        PerDb { map: Default::default(), ttl }
    }

    pub fn get(&self, db: &crate::db::Db) -> Option<std::sync::Arc<V>> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&db.identity()).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, v)| v.clone())
    }

    pub fn put(&self, db: &crate::db::Db, v: std::sync::Arc<V>) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(db.identity(), (std::time::Instant::now(), v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_hashed() {
        let (a, ha) = new_secret();
        let (b, _) = new_secret();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(hash_secret(&a), ha);
        assert_ne!(a, ha);
    }
}
