//! Writing and reading the audit trail.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Actor;
use crate::db::{Db, Tx};
use crate::domain::Perm;
use crate::error::AppResult;
use crate::store;

/// Records one change inside the caller's transaction, so the change and its audit entry
/// commit or roll back together.
#[allow(clippy::too_many_arguments)]
pub async fn record<B: Serialize, A: Serialize>(
    tx: &mut Tx,
    actor: &Actor,
    at: DateTime<Utc>,
    action: &str,
    entity_type: &str,
    entity_id: &str,
    before: Option<&B>,
    after: Option<&A>,
) -> AppResult<()> {
    store::audit::insert(
        tx.conn(),
        &store::audit::NewEntry {
            at,
            actor_id: actor.user_id,
            actor_label: &actor.label,
            action,
            entity_type,
            entity_id,
            before: before.map(|b| serde_json::to_string(b).unwrap_or_default()),
            after: after.map(|a| serde_json::to_string(a).unwrap_or_default()),
            ip: actor.ip.as_deref(),
            request_id: actor.request_id.as_deref(),
        },
    )
    .await?;
    Ok(())
}

/// Records the creation of many records at once (imports), each with its state after, with
/// multi-row statements inside the caller's transaction.
pub async fn record_created<A: Serialize>(
    tx: &mut Tx,
    backend: crate::db::Backend,
    actor: &Actor,
    at: DateTime<Utc>,
    entity_type: &str,
    created: impl IntoIterator<Item = (i64, A)>,
) -> AppResult<()> {
    let (ids, afters): (Vec<String>, Vec<String>) = created
        .into_iter()
        .map(|(id, after)| (id.to_string(), serde_json::to_string(&after).unwrap_or_default()))
        .unzip();
    let entries: Vec<store::audit::NewEntry<'_>> = ids
        .iter()
        .zip(afters)
        .map(|(id, after)| store::audit::NewEntry {
            at,
            actor_id: actor.user_id,
            actor_label: &actor.label,
            action: "create",
            entity_type,
            entity_id: id,
            before: None,
            after: Some(after),
            ip: actor.ip.as_deref(),
            request_id: actor.request_id.as_deref(),
        })
        .collect();
    store::audit::insert_many(tx.conn(), backend, &entries).await?;
    Ok(())
}

pub async fn list(db: &Db, actor: &Actor, filter: &store::audit::Filter) -> AppResult<Vec<store::audit::Entry>> {
    actor.require(Perm::ViewAudit)?;
    let mut c = db.read().await?;
    Ok(store::audit::list(c.conn(), filter).await?)
}
