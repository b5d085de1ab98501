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
use chrono::{DateTime, Utc};

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
    .map_err(|e| stored_answer_error(e, true))
}

/// The error of a write that stored idempotent answers (`keyed`): a unique violation then means
/// a concurrent request with the same key won, and this one is told to retry (and then gets
/// the stored answer).
pub(crate) fn stored_answer_error(e: sqlx::Error, keyed: bool) -> AppError {
    match &e {
        sqlx::Error::Database(d) if keyed && d.is_unique_violation() => {
            AppError::Conflict("error.idempotency_in_progress")
        }
        _ => e.into(),
    }
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
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// An order's tracking-link token: 32 lower-case hex digits, the second it was made (8 digits)
/// then 96 bits from the operating system's random source (24 digits), which are the secret.
/// Time first makes each new token sort after the earlier ones, so the unique index grows at
/// its end: a random token changed a page somewhere in the index for every new order (13 % of
/// the pages a create wrote). The tracking page shows when the order was made anyway.
pub fn tracking_token(at: DateTime<Utc>) -> String {
    let mut random = [0u8; 12];
    getrandom::fill(&mut random).expect("the operating system's random source works");
    tracking_token_from(at, &random)
}

/// [`tracking_token`] with the random part given (the generator draws many at once).
pub(crate) fn tracking_token_from(at: DateTime<Utc>, random: &[u8; 12]) -> String {
    // Seconds from 1970 fit 32 bits until 2106; earlier instants are not made here.
    let seconds = u32::try_from(at.timestamp().max(0)).unwrap_or(u32::MAX);
    let mut token = hex(&seconds.to_be_bytes());
    token.push_str(&hex(random));
    token
}

/// Values read from the database and kept for `ttl` per key (per database: `Db::identity`,
/// as one process serves several in the tests; another instance's change shows within `ttl`).
/// A value is computed once for all who ask while it is being computed: when a busy page's
/// value expires, its waiting requests share one computation instead of each running the
/// statements (16 dashboards at once, at 5 M orders, took the p99 to 1.4 s). A failed
/// computation is kept by nobody; the next request (or the next waiting one) tries again.
pub(crate) struct Cached<K, V> {
    map: std::sync::Mutex<std::collections::HashMap<K, (std::time::Instant, Slot<V>)>>,
    ttl: std::time::Duration,
}

type Slot<V> = std::sync::Arc<tokio::sync::OnceCell<std::sync::Arc<V>>>;

/// Keys kept before the expired ones are swept out.
const CACHED_KEYS: usize = 500;

impl<K: std::hash::Hash + Eq, V> Cached<K, V> {
    pub fn new(ttl: std::time::Duration) -> Cached<K, V> {
        Cached { map: Default::default(), ttl }
    }

    /// The value kept for `key` if younger than the cache's `ttl`, else `make`'s.
    pub async fn get_or<F, Fut>(&self, key: K, make: F) -> AppResult<std::sync::Arc<V>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = AppResult<V>>,
    {
        let fresh = |at: &std::time::Instant| at.elapsed() < self.ttl;
        let slot = {
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            match map.get(&key) {
                Some((at, slot)) if fresh(at) => slot.clone(),
                _ => {
                    if map.len() > CACHED_KEYS {
                        map.retain(|_, (at, _)| fresh(at));
                    }
                    let slot = Slot::default();
                    map.insert(key, (std::time::Instant::now(), slot.clone()));
                    slot
                }
            }
        };
        slot.get_or_try_init(|| async { make().await.map(std::sync::Arc::new) }).await.cloned()
    }

    /// Forgets every value.
    pub fn clear(&self) {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).clear();
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

    /// Tracking tokens keep the 32-hex shape of the links already sent, sort by the second
    /// they were made, and differ within one second.
    #[test]
    fn tracking_tokens_sort_by_time_and_stay_secret() {
        use chrono::TimeZone;
        let at = Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap();
        let a = tracking_token(at);
        let b = tracking_token(at);
        let later = tracking_token(at + chrono::Duration::seconds(1));
        for t in [&a, &b, &later] {
            assert_eq!(t.len(), 32);
            assert!(t.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)), "{t}");
        }
        assert_ne!(a, b);
        assert_eq!(a[..8], b[..8]);
        assert!(a < later && b < later);
        assert_eq!(&a[..8], format!("{:08x}", at.timestamp()));
        assert_eq!(tracking_token_from(at, &[0xab; 12]), format!("{:08x}{}", at.timestamp(), "ab".repeat(12)));
    }

    /// Requests arriving while a value is computed share that computation; a failed one is
    /// not kept.
    #[tokio::test]
    async fn one_computation_for_requests_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let cache: Cached<&str, usize> = Cached::new(std::time::Duration::from_secs(30));
        let runs = AtomicUsize::new(0);
        let make = || async {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            Ok(7)
        };
        let all = futures_util::future::join_all((0..8).map(|_| cache.get_or("k", make))).await;
        assert!(all.iter().all(|v| v.as_deref().ok() == Some(&7)));
        assert_eq!(runs.load(Ordering::SeqCst), 1);

        let failed = cache.get_or("e", || async { Err::<usize, _>(AppError::NotFound) }).await;
        assert!(failed.is_err());
        let v = cache.get_or("e", || async { Ok(3) }).await.unwrap();
        assert_eq!(*v, 3);
    }
}
