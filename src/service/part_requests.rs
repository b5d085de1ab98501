//! Engineers' requests for parts (R8.1): an engineer asks a warehouse for pieces for an order
//! (delivered to his van); the warehouse sees its open requests oldest first and picks each one
//! — a transfer from the warehouse to the van, which counts as a pick for accuracy — or cancels
//! it with a reason. The requester may cancel his own open request.

use chrono::Utc;
use rules::FieldError;
use serde::Deserialize;

use super::stock::MovementRequest;
use super::{Actor, Idem, audit};
use crate::db::Db;
use crate::domain::{Perm, Role};
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::store;
use crate::store::part_requests::{Closing, Filter, NewRequest, PartRequest};

const MAX_NOTE: usize = 1000;

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RequestInput {
    pub part_id: Option<i64>,
    /// Instead of `part_id`: the part number.
    pub part_no: Option<String>,
    pub qty: Option<i64>,
    /// The warehouse asked.
    pub warehouse_id: Option<i64>,
    /// The van to deliver to (default: the caller's van).
    pub van_id: Option<i64>,
    pub order_id: Option<i64>,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CloseInput {
    pub version: i64,
    /// Why it is cancelled (cancelling needs it).
    #[serde(default)]
    pub note: String,
}

fn mover(actor: &Actor) -> bool {
    actor.can(Perm::MoveStock)
}

/// Asks a warehouse for parts: an engineer for his own van (and his own order), the office for
/// any van.
pub async fn create(db: &Db, actor: &Actor, input: &RequestInput, idem: Option<&Idem<'_>>) -> AppResult<PartRequest> {
    if actor.roles.is_empty() {
        return Err(AppError::Forbidden);
    }
    let mut errors: Vec<FieldError> = vec![];
    let note = input.note.trim();
    if note.chars().count() > MAX_NOTE {
        errors.push(field_error("note", "error.too_long"));
    }
    match input.qty {
        None => errors.push(field_error("qty", "error.required")),
        Some(q) if !(1..=rules::parts::MAX_QTY).contains(&q) => errors.push(field_error("qty", "stock.error.qty")),
        _ => {}
    }
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let part = match (input.part_id, input.part_no.as_deref().map(str::trim).filter(|s| !s.is_empty())) {
        (Some(id), _) => store::parts::get_part(tx.conn(), id).await?,
        (None, Some(no)) => store::parts::part_by_no(tx.conn(), no).await?,
        (None, None) => {
            errors.push(field_error("part_id", "error.required"));
            None
        }
    };
    if part.as_ref().is_none_or(|p| !p.active) && !errors.iter().any(|e| e.field == "part_id") {
        errors.push(field_error("part_id", "stock.error.no_part"));
    }
    let own_van = match actor.user_id {
        Some(uid) => store::parts::van_of(tx.conn(), uid).await?,
        None => None,
    };
    let van_id = input.van_id.or(own_van.as_ref().map(|v| v.id));
    let van = match van_id {
        Some(id) => store::parts::get_warehouse(tx.conn(), id).await?,
        None => None,
    };
    match &van {
        Some(v) if v.kind == "van" && v.active => {}
        _ => errors.push(field_error("van_id", "stock.error.no_van")),
    }
    let source = match input.warehouse_id {
        Some(id) => store::parts::get_warehouse(tx.conn(), id).await?,
        None => None,
    };
    match &source {
        None => errors.push(field_error("warehouse_id", "stock.error.no_location")),
        Some(w) if !w.active => errors.push(field_error("warehouse_id", "stock.error.inactive_location")),
        Some(w) if Some(w.id) == van_id => errors.push(field_error("warehouse_id", "stock.error.same_location")),
        _ => {}
    }
    let order = match input.order_id {
        Some(id) => {
            let o = store::work_orders::get(tx.conn(), id).await?;
            if o.is_none() {
                errors.push(field_error("order_id", "stock.error.no_order"));
            }
            o
        }
        None => None,
    };
    // An engineer asks for his own van and his own orders only.
    if !mover(actor) && !actor.roles.iter().any(|r| matches!(r, Role::Dispatcher | Role::ServiceManager)) {
        let own = own_van.as_ref().is_some_and(|v| Some(v.id) == van_id)
            && order.as_ref().is_none_or(|o| o.engineer_id.is_some() && o.engineer_id == actor.user_id);
        if !own {
            return Err(AppError::Forbidden);
        }
    }
    AppError::check(errors)?;
    let (Some(part), Some(source), Some(van), Some(qty)) = (part, source, van, input.qty) else {
        return Err(AppError::Internal(anyhow::anyhow!("validated request without values")));
    };
    let new = NewRequest {
        order_id: input.order_id,
        part_id: part.id,
        qty,
        warehouse_id: source.id,
        van_id: van.id,
        note,
        requested_by: actor.user_id,
    };
    let id = store::part_requests::insert(tx.conn(), &new, now).await?;
    let r = store::part_requests::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record::<(), _>(&mut tx, actor, now, "create", "part_request", &id.to_string(), None, Some(&r)).await?;
    // The warehouse staff hear of it (sent from the outbox).
    let subject = format!("配件申请 / Parts request #{id}: {} {} ×{qty} → {}", r.part_no, r.name_zh, r.van_name);
    let body = format!(
        "{subject}\n{} · {}\n\n{}/stock/requests?warehouse_id={}",
        r.requested_by_name.clone().unwrap_or_default(),
        r.note,
        super::notifications::BASE,
        r.warehouse_id
    );
    super::notifications::mail_role(&mut tx, Role::Warehouse, "part_request", r.order_id, &subject, &body, now).await?;
    if let Some(idem) = idem {
        super::remember(&mut tx, actor, idem, 201, &r).await?;
    }
    tx.commit().await?;
    Ok(r)
}

pub async fn list(db: &Db, actor: &Actor, f: &Filter) -> AppResult<Vec<PartRequest>> {
    if actor.roles.is_empty() {
        return Err(AppError::Forbidden);
    }
    let mut f = f.clone();
    f.limit = f.limit.clamp(1, 500);
    let mut c = db.read().await?;
    Ok(store::part_requests::list(c.conn(), &f).await?)
}

/// The warehouse picks an open request: the pieces move from the warehouse into the van (a
/// transfer naming the order), in the same transaction as the request closes. Not enough
/// stock is a field error and leaves the request open.
pub async fn fulfil(db: &Db, actor: &Actor, id: i64, version: i64) -> AppResult<PartRequest> {
    actor.require(Perm::MoveStock)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let r = store::part_requests::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    if r.status != "open" || r.version != version {
        return Err(AppError::Conflict("error.stale"));
    }
    let m = MovementRequest {
        kind: rules::parts::MovementKind::Transfer.code().into(),
        part_id: Some(r.part_id),
        qty: Some(r.qty),
        from_id: Some(r.warehouse_id),
        to_id: Some(r.van_id),
        order_id: r.order_id,
        note: format!("#{id}"),
        ..Default::default()
    };
    let movement = super::stock::post_in_tx(&mut tx, actor, &m, now).await?;
    let k = Closing { status: "fulfilled", movement_id: Some(movement), note: &r.note, by: actor.user_id };
    if !store::part_requests::close(tx.conn(), id, version, &k, now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    let after = store::part_requests::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record(&mut tx, actor, now, "fulfil", "part_request", &id.to_string(), Some(&r), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

/// Cancels an open request with a reason: the warehouse, or whoever asked.
pub async fn cancel(db: &Db, actor: &Actor, id: i64, input: &CloseInput) -> AppResult<PartRequest> {
    let note = input.note.trim();
    if note.is_empty() {
        return Err(AppError::one("note", "stock.error.cancel_note"));
    }
    if note.chars().count() > MAX_NOTE {
        return Err(AppError::one("note", "error.too_long"));
    }
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let r = store::part_requests::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    if !(mover(actor) || (r.requested_by.is_some() && r.requested_by == actor.user_id)) {
        return Err(AppError::Forbidden);
    }
    let k = Closing { status: "cancelled", movement_id: None, note, by: actor.user_id };
    if !store::part_requests::close(tx.conn(), id, input.version, &k, now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    let after = store::part_requests::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record(&mut tx, actor, now, "cancel", "part_request", &id.to_string(), Some(&r), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}
