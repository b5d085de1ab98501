//! Passwords, logins, sessions and the resolution of a request's user.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use chrono::{Duration, Utc};

use super::{Actor, hash_secret, new_secret};
use crate::config::Config;
use crate::db::Db;
use crate::domain::{Perm, Role};
use crate::error::{AppError, AppResult};
use crate::store;

/// How long a failed-login window lasts; limits count failures inside it.
pub const FAILURE_WINDOW_MINUTES: i64 = 15;
/// Absolute lifetime of a session, however active.
const SESSION_MAX_DAYS: i64 = 7;
/// Refresh `last_seen_at` at most this often, so reading pages does not write every time.
const TOUCH_EVERY_MINUTES: i64 = 5;

/// The signed-in user of a request.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub id: i64,
    pub login: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub region_code: Option<String>,
    pub locale: String,
    /// The hash of the session cookie, when signed in through the web.
    pub session: Option<String>,
}

impl CurrentUser {
    pub fn can(&self, p: Perm) -> bool {
        self.roles.iter().any(|r| r.allows(p))
    }

    pub fn actor(&self, ip: &str, request_id: &str) -> Actor {
        Actor {
            user_id: Some(self.id),
            label: self.login.clone(),
            roles: self.roles.clone(),
            region_code: self.region_code.clone(),
            ip: Some(ip.to_string()),
            request_id: Some(request_id.to_string()),
        }
    }
}

impl From<store::users::User> for CurrentUser {
    fn from(u: store::users::User) -> Self {
        CurrentUser {
            id: u.id,
            login: u.login,
            display_name: u.display_name,
            roles: u.roles,
            region_code: u.region_code,
            locale: u.locale,
            session: None,
        }
    }
}

/// Argon2id with the crate's default (OWASP) parameters, off the async threads.
pub async fn hash_password(password: &str) -> anyhow::Result<String> {
    let pw = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(pw.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
    })
    .await?
}

pub async fn verify_password(password: &str, hash: &str) -> bool {
    let (pw, hash) = (password.to_owned(), hash.to_owned());
    tokio::task::spawn_blocking(move || Argon2::default().verify_password(pw.as_bytes(), hash.as_str()).is_ok())
        .await
        .unwrap_or(false)
}

/// A hash of a password nobody has, verified when the login does not exist so that the
/// answer takes as long as for a real account (no user enumeration by timing).
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

pub struct LoginOk {
    pub session_token: String,
    pub user: store::users::User,
}

/// Checks the password and opens a session. Every failure gives the same message, and both
/// the account and the address are rate-limited with counts kept in the database (so the
/// limit holds across app instances).
pub async fn login(
    db: &Db,
    cfg: &Config,
    login: &str,
    password: &str,
    ip: &str,
    user_agent: Option<&str>,
) -> AppResult<LoginOk> {
    let login = login.trim().to_lowercase();
    if login.is_empty() || password.is_empty() {
        return Err(AppError::one("login", "error.bad_login"));
    }
    let now = Utc::now();
    let since = now - Duration::minutes(FAILURE_WINDOW_MINUTES);
    let (user, (by_login, by_ip)) = {
        let mut c = db.read().await?;
        let user = store::users::by_login(c.conn(), &login).await?;
        let failures = store::auth::recent_failures(c.conn(), &login, ip, since).await?;
        (user, failures)
    };
    if by_login >= cfg.login_max_failures_per_account || by_ip >= cfg.login_max_failures_per_address {
        return Err(AppError::TooManyRequests("error.too_many_logins", (FAILURE_WINDOW_MINUTES * 60) as u64));
    }
    let ok = match &user {
        Some(u) => verify_password(password, &u.password_hash).await && u.active,
        None => {
            let dummy = match DUMMY_HASH.get() {
                Some(h) => h.clone(),
                None => {
                    let h = hash_password("no such account").await?;
                    DUMMY_HASH.get_or_init(|| h).clone()
                }
            };
            verify_password(password, &dummy).await;
            false
        }
    };
    let mut tx = db.begin().await?;
    store::auth::record_attempt(tx.conn(), &login, ip, ok, now).await?;
    let Some(user) = user.filter(|_| ok) else {
        tx.commit().await?;
        return Err(AppError::one("login", "error.bad_login"));
    };
    let (token, hash) = new_secret();
    let expires = now + Duration::minutes(cfg.session_idle_minutes);
    store::auth::insert_session(tx.conn(), &hash, user.id, now, expires, ip, user_agent).await?;
    let actor = Actor {
        user_id: Some(user.id),
        label: user.login.clone(),
        roles: user.roles.clone(),
        region_code: user.region_code.clone(),
        ip: Some(ip.to_string()),
        request_id: None,
    };
    super::audit::record::<(), ()>(&mut tx, &actor, now, "login", "user", &user.id.to_string(), None, None).await?;
    tx.commit().await?;
    Ok(LoginOk { session_token: token, user })
}

pub async fn logout(db: &Db, cache: &AuthCache, session_hash: &str) -> AppResult<()> {
    let mut tx = db.begin().await?;
    store::auth::delete_session(tx.conn(), session_hash).await?;
    tx.commit().await?;
    cache.remove(session_hash);
    Ok(())
}

/// The user behind a session cookie, sliding its idle expiry now and then.
pub async fn from_session(db: &Db, cfg: &Config, cache: &AuthCache, cookie: &str) -> AppResult<Option<CurrentUser>> {
    let hash = hash_secret(cookie);
    if let Some(user) = cache.get(&hash) {
        return Ok(Some(user));
    }
    let now = Utc::now();
    let mut c = db.read().await?;
    let Some((created, last_seen, user)) = store::users::by_session_hash(c.conn(), &hash, now).await? else {
        return Ok(None);
    };
    drop(c);
    if now - last_seen > Duration::minutes(TOUCH_EVERY_MINUTES) {
        let expires =
            (now + Duration::minutes(cfg.session_idle_minutes)).min(created + Duration::days(SESSION_MAX_DAYS));
        let mut tx = db.begin().await?;
        store::auth::touch_session(tx.conn(), &hash, now, expires).await?;
        tx.commit().await?;
    }
    let mut cu = CurrentUser::from(user);
    cu.session = Some(hash.clone());
    cache.put(hash, cu.clone());
    Ok(Some(cu))
}

/// How long an instance trusts a token or session it has already checked. Revoking a token,
/// signing out, disabling a user, resetting their password or changing their roles clears
/// this instance's cache at once; another instance may accept the token or session for up to
/// this long afterwards (and an idle session for this long past its expiry).
pub const AUTH_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);
/// Past this many live entries the cache starts again from empty (bounded memory).
const AUTH_CACHE_MAX: usize = 4096;

/// Tokens and session cookies this instance resolved recently, by the SHA-256 of the secret
/// (never the secret; a token's and a cookie's hashes cannot meet). API clients send the same
/// token on every call, and a page in the browser is often followed by the next within
/// seconds; without this each costs a database round trip before any work is done.
#[derive(Default)]
pub struct AuthCache {
    map: std::sync::RwLock<std::collections::HashMap<String, (CurrentUser, std::time::Instant)>>,
}

impl AuthCache {
    pub fn new() -> AuthCache {
        AuthCache::default()
    }

    fn get(&self, hash: &str) -> Option<CurrentUser> {
        let map = self.map.read().ok()?;
        let (user, at) = map.get(hash)?;
        (at.elapsed() < AUTH_CACHE_TTL).then(|| user.clone())
    }

    fn put(&self, hash: String, user: CurrentUser) {
        if let Ok(mut m) = self.map.write() {
            if m.len() >= AUTH_CACHE_MAX {
                m.retain(|_, (_, at)| at.elapsed() < AUTH_CACHE_TTL);
                if m.len() >= AUTH_CACHE_MAX {
                    m.clear();
                }
            }
            m.insert(hash, (user, std::time::Instant::now()));
        }
    }

    /// Forget one secret (a session signed out).
    pub fn remove(&self, hash: &str) {
        if let Ok(mut m) = self.map.write() {
            m.remove(hash);
        }
    }

    /// Forget everything: called after any change to tokens, users or roles on this instance.
    pub fn clear(&self) {
        if let Ok(mut m) = self.map.write() {
            m.clear();
        }
    }
}

/// The user behind an API token (`Authorization: Bearer …`).
pub async fn from_token(db: &Db, cache: &AuthCache, token: &str) -> AppResult<Option<CurrentUser>> {
    let hash = hash_secret(token.trim());
    if let Some(user) = cache.get(&hash) {
        return Ok(Some(user));
    }
    let now = Utc::now();
    let mut c = db.read().await?;
    let Some((token_id, last_used, user)) = store::users::by_token_hash(c.conn(), &hash).await? else {
        return Ok(None);
    };
    drop(c);
    if last_used.is_none_or(|t| now - t > Duration::minutes(TOUCH_EVERY_MINUTES)) {
        let mut tx = db.begin().await?;
        store::auth::touch_token(tx.conn(), token_id, now).await?;
        tx.commit().await?;
    }
    let user = CurrentUser::from(user);
    cache.put(hash, user.clone());
    Ok(Some(user))
}

/// Deletes expired sessions and old login attempts. Safe to run on every instance at once.
pub async fn purge_expired(db: &Db) -> AppResult<u64> {
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let n = store::auth::purge(tx.conn(), now, now - Duration::days(1)).await?;
    tx.commit().await?;
    Ok(n)
}
