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

pub async fn list(db: &Db, actor: &Actor, filter: &store::audit::Filter) -> AppResult<Vec<store::audit::Entry>> {
    actor.require(Perm::ViewAudit)?;
    let mut c = db.read().await?;
    Ok(store::audit::list(c.conn(), filter).await?)
}
