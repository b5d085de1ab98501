//! Stock movements (R8.1): receipts, transfers, issues to work orders, returns of unused,
//! faulty and wrongly picked parts, scrap, disposal of faulty parts and count adjustments.
//!
//! What a movement needs and what it does to the stock of the locations it names is
//! `rules::parts`; here each one is checked against the catalogue, the locations, the order and
//! the earlier movement it refers to, and written in one transaction with its stock changes,
//! the order's parts cost and charge, the order's time line and the audit trail. A movement that
//! would take a bin below zero fails whole, naming the location and what it holds, so of two
//! engineers taking the last piece exactly one succeeds.
//!
//! Warehouse staff and managers (`Perm::MoveStock`) move stock anywhere. An engineer moves only
//! his own van's stock: he issues from it to his own orders, returns unused and faulty pieces
//! into it, and sends pieces back from it to a warehouse.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use rules::FieldError;
use rules::parts::{Bin, MovementInput, MovementKind};
use serde::{Deserialize, Serialize};

use super::{Actor, Idem, audit};
use crate::db::{Db, Tx};
use crate::domain::{Perm, Role};
use crate::error::{AppError, AppResult};
use crate::i18n::{field_error, tr_args};
use crate::store;
use crate::store::parts::{Part, Warehouse};
use crate::store::stock::{Movement, NewMovement, StockRow};
use crate::store::work_orders::WorkOrder;

const MAX_TEXT: usize = 200;
const MAX_NOTE: usize = 1000;

/// A movement as a user or a client enters it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct MovementRequest {
    /// rules::parts::MovementKind: receipt | transfer | issue | return_unused | return_faulty |
    /// return_wrong | scrap | dispose_faulty | adjust
    #[serde(default)]
    pub kind: String,
    pub part_id: Option<i64>,
    /// Instead of `part_id`: the part number.
    pub part_no: Option<String>,
    /// Pieces; an adjustment's signed change (or give `counted`).
    pub qty: Option<i64>,
    /// Adjustments: the quantity counted; the change is computed from the stock.
    pub counted: Option<i64>,
    pub from_id: Option<i64>,
    pub to_id: Option<i64>,
    pub order_id: Option<i64>,
    /// The issue a return undoes; the pick (transfer or issue) a wrong part came from.
    pub ref_id: Option<i64>,
    pub serial: Option<String>,
    pub old_serial: Option<String>,
    pub batch: Option<String>,
    pub supplier: Option<String>,
    /// Receipts: what a piece of this delivery cost (default the catalogue's).
    pub unit_cost_cents: Option<i64>,
    #[serde(default)]
    pub note: String,
}

/// A written movement and the stock it left at the locations it touched.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Posted {
    pub movement: Movement,
    pub stock: Vec<StockRow>,
}

fn text(field: &str, v: &Option<String>, max: usize, errors: &mut Vec<FieldError>) -> Option<String> {
    let t = v.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
    if t.chars().count() > max {
        errors.push(field_error(field, "error.too_long"));
    }
    Some(t.to_string())
}

fn may_move_anything(actor: &Actor) -> bool {
    actor.can(Perm::MoveStock)
}

/// What movements read before they write: the parts, locations, orders and actors' names
/// they name. The group writer reads them once for a whole group (four statements instead of
/// four per movement: on SQLite every statement is a round trip to the connection's thread);
/// anything not read ahead is read on demand. Movements change none of the fields used from
/// them (an order's status, engineer and entitlement; a part; a location), and a group reads
/// them inside its own write transaction.
#[derive(Default)]
struct Lookups {
    parts: HashMap<i64, Part>,
    warehouses: HashMap<i64, Warehouse>,
    orders: HashMap<i64, WorkOrder>,
    names: HashMap<i64, String>,
}

impl Lookups {
    /// Everything the requests name, read in four statements.
    async fn read_ahead(tx: &mut Tx, jobs: &[&MovementRequest], actors: &[&Actor]) -> AppResult<Lookups> {
        let ids = |f: &dyn Fn(&MovementRequest) -> Vec<Option<i64>>| {
            let mut v: Vec<i64> = jobs.iter().flat_map(|r| f(r)).flatten().collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let parts = ids(&|r| vec![r.part_id]);
        let warehouses = ids(&|r| vec![r.from_id, r.to_id]);
        let orders = ids(&|r| vec![r.order_id]);
        let mut users: Vec<i64> = actors.iter().filter_map(|a| a.user_id).collect();
        users.sort_unstable();
        users.dedup();
        Ok(Lookups {
            parts: store::parts::get_parts(tx.conn(), &parts).await?.into_iter().map(|p| (p.id, p)).collect(),
            warehouses: store::parts::get_warehouses(tx.conn(), &warehouses)
                .await?
                .into_iter()
                .map(|w| (w.id, w))
                .collect(),
            orders: store::work_orders::get_many(tx.conn(), &orders).await?.into_iter().map(|o| (o.id, o)).collect(),
            names: store::users::display_names(tx.conn(), &users).await?.into_iter().collect(),
        })
    }

    async fn part(&self, tx: &mut Tx, id: i64) -> AppResult<Option<Part>> {
        match self.parts.get(&id) {
            Some(p) => Ok(Some(p.clone())),
            None => Ok(store::parts::get_part(tx.conn(), id).await?),
        }
    }

    async fn warehouse(&self, tx: &mut Tx, id: i64) -> AppResult<Option<Warehouse>> {
        match self.warehouses.get(&id) {
            Some(w) => Ok(Some(w.clone())),
            None => Ok(store::parts::get_warehouse(tx.conn(), id).await?),
        }
    }

    async fn order(&self, tx: &mut Tx, id: i64) -> AppResult<Option<WorkOrder>> {
        match self.orders.get(&id) {
            Some(o) => Ok(Some(o.clone())),
            None => Ok(store::work_orders::get(tx.conn(), id).await?),
        }
    }

    async fn name(&self, tx: &mut Tx, user_id: Option<i64>) -> AppResult<Option<String>> {
        let Some(id) = user_id else { return Ok(None) };
        if let Some(n) = self.names.get(&id) {
            return Ok(Some(n.clone()));
        }
        Ok(store::users::display_names(tx.conn(), &[id]).await?.pop().map(|(_, n)| n))
    }
}

/// The engineer's own van, for an engineer without the warehouse's rights.
async fn own_van(tx: &mut Tx, actor: &Actor) -> AppResult<Option<Warehouse>> {
    if !actor.roles.contains(&Role::Engineer) {
        return Ok(None);
    }
    let Some(uid) = actor.user_id else { return Ok(None) };
    Ok(store::parts::van_of(tx.conn(), uid).await?)
}

/// Checks and writes one movement inside the caller's transaction; returns its id. Used by
/// the API and pages ([`post`]), the opening-stock import ([`receive_in_tx`]) and the picking
/// of requests.
pub async fn post_in_tx(tx: &mut Tx, actor: &Actor, r: &MovementRequest, now: DateTime<Utc>) -> AppResult<i64> {
    Ok(write(tx, actor, r, now, &Lookups::default()).await?.0.id)
}

/// [`post_in_tx`], also handing back the movement as stored and the stock rows of the
/// locations it touched, built from what it read and what its writes returned rather than
/// read again (on SQLite every statement is a round trip to the connection's thread, and an
/// issue's transaction was 14 of them).
async fn write(
    tx: &mut Tx,
    actor: &Actor,
    r: &MovementRequest,
    now: DateTime<Utc>,
    look: &Lookups,
) -> AppResult<(Movement, Vec<StockRow>)> {
    // As stored: PostgreSQL keeps microseconds.
    let now = now.trunc_subsecs(6);
    let mut errors = vec![];
    let Some(kind) = MovementKind::parse(&r.kind) else {
        return Err(AppError::one("kind", "stock.error.kind"));
    };
    let note = r.note.trim();
    if note.chars().count() > MAX_NOTE {
        errors.push(field_error("note", "error.too_long"));
    }
    let serial = text("serial", &r.serial, MAX_TEXT, &mut errors);
    let old_serial = text("old_serial", &r.old_serial, MAX_TEXT, &mut errors);
    let batch = text("batch", &r.batch, MAX_TEXT, &mut errors);
    let supplier_in = text("supplier", &r.supplier, MAX_TEXT, &mut errors);
    if r.unit_cost_cents.is_some_and(|c| !(0..=100_000_000_000).contains(&c)) {
        errors.push(field_error("unit_cost_cents", "stock.error.cost"));
    }

    // The catalogue's part.
    let part: Option<Part> = match (r.part_id, r.part_no.as_deref().map(str::trim).filter(|s| !s.is_empty())) {
        (Some(id), _) => look.part(tx, id).await?,
        (None, Some(no)) => store::parts::part_by_no(tx.conn(), no).await?,
        (None, None) => None,
    };
    let part_named = r.part_id.or(part.as_ref().map(|p| p.id)).or(r.part_no.as_ref().map(|_| 0));
    match (&part, part_named) {
        (_, None) => errors.push(field_error("part_id", "error.required")),
        (None, Some(_)) => errors.push(field_error("part_id", "stock.error.no_part")),
        (Some(p), _)
            if !p.active && matches!(kind, MovementKind::Receipt | MovementKind::Issue | MovementKind::Transfer) =>
        {
            errors.push(field_error("part_id", "stock.error.inactive_part"))
        }
        _ => {}
    }

    // The locations.
    let mut from = None;
    let mut to = None;
    for (field, id, slot) in [("from_id", r.from_id, &mut from), ("to_id", r.to_id, &mut to)] {
        if let Some(id) = id {
            match look.warehouse(tx, id).await? {
                Some(w) if w.active || field == "from_id" => *slot = Some(w),
                Some(_) => errors.push(field_error(field, "stock.error.inactive_location")),
                None => errors.push(field_error(field, "stock.error.no_location")),
            }
        }
    }

    // An adjustment may give the counted quantity instead of the change.
    let mut qty = r.qty;
    if kind == MovementKind::Adjust
        && let (None, Some(counted), Some(w), Some(p)) = (qty, r.counted, &to, &part)
    {
        if counted < 0 {
            errors.push(field_error("counted", "stock.error.counted"));
        } else {
            let held = store::stock::held(tx.conn(), w.id, p.id, Bin::Usable).await?;
            if counted == held {
                errors.push(field_error("counted", "stock.error.count_matches"));
                return Err(AppError::Validation(errors));
            }
            qty = Some(counted - held);
        }
    }
    let Some(qty) = qty else {
        errors.push(field_error("qty", "error.required"));
        return Err(AppError::Validation(errors));
    };

    let input = MovementInput {
        qty,
        from: r.from_id,
        to: r.to_id,
        order: r.order_id,
        reference: r.ref_id,
        serial_tracked: part.as_ref().is_some_and(|p| p.serial_tracked),
        serial: serial.clone(),
        old_serial: old_serial.clone(),
    };
    errors.extend(rules::parts::check(kind, &input));

    // The order it concerns.
    let order: Option<WorkOrder> = match r.order_id {
        Some(id) if kind.shape().order != rules::parts::Need::Forbidden => {
            let o = look.order(tx, id).await?;
            if o.is_none() {
                errors.push(field_error("order_id", "stock.error.no_order"));
            }
            o
        }
        _ => None,
    };
    if kind == MovementKind::Issue
        && let Some(o) = &order
        && !rules::work_order::Status::parse(&o.status).is_some_and(rules::parts::order_takes_parts)
    {
        errors.push(field_error("order_id", "stock.error.order_status"));
    }

    // The earlier movement it refers to.
    let mut reference: Option<Movement> = None;
    if let Some(ref_id) = r.ref_id.filter(|_| kind.shape().reference != rules::parts::Need::Forbidden) {
        match store::stock::get_movement(tx.conn(), ref_id).await? {
            None => errors.push(field_error("ref_id", "stock.error.no_ref")),
            Some(m) => {
                let same_part = Some(m.part_id) == part.as_ref().map(|p| p.id);
                let fits = match kind {
                    MovementKind::ReturnUnused | MovementKind::ReturnFaulty => {
                        m.kind == MovementKind::Issue.code() && m.order_id == r.order_id
                    }
                    MovementKind::ReturnWrong => {
                        MovementKind::parse(&m.kind).is_some_and(MovementKind::is_pick)
                            && (r.order_id.is_none() || m.order_id == r.order_id)
                    }
                    _ => false,
                };
                if !same_part || !fits {
                    errors.push(field_error("ref_id", "stock.error.ref_mismatch"));
                } else if matches!(kind, MovementKind::ReturnUnused | MovementKind::ReturnWrong) {
                    // Pieces of one issue or pick come back once, whichever way.
                    let back = store::stock::returned(
                        tx.conn(),
                        m.id,
                        &[MovementKind::ReturnUnused.code(), MovementKind::ReturnWrong.code()],
                    )
                    .await?;
                    if qty > m.qty - back {
                        let args = [("left", (m.qty - back).max(0).to_string())];
                        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
                        errors.push(FieldError::new(
                            "qty",
                            tr_args("zh-CN", "stock.error.more_than_issued", &args),
                            tr_args("en", "stock.error.more_than_issued", &args),
                        ));
                    }
                }
                reference = Some(m);
            }
        }
    }

    // Who may move what.
    if !may_move_anything(actor) {
        let van = own_van(tx, actor).await?;
        let Some(van) = van else { return Err(AppError::Forbidden) };
        let own_order = order.as_ref().is_none_or(|o| o.engineer_id.is_some() && o.engineer_id == actor.user_id);
        let allowed = own_order
            && match kind {
                MovementKind::Issue => r.from_id == Some(van.id),
                MovementKind::ReturnUnused | MovementKind::ReturnFaulty => r.to_id == Some(van.id),
                MovementKind::Transfer => r.from_id == Some(van.id),
                // A wrong piece leaves his van, or comes back from his order into it.
                MovementKind::ReturnWrong => {
                    r.from_id == Some(van.id)
                        || (r.from_id.is_none() && r.order_id.is_some() && r.to_id == Some(van.id))
                }
                _ => false,
            };
        if !allowed {
            return Err(AppError::Forbidden);
        }
    }
    AppError::check(errors)?;
    let (Some(part), Some(kind)) = (part, Some(kind)) else {
        return Err(AppError::Internal(anyhow::anyhow!("validated movement without a part")));
    };

    // Cost and charge per piece.
    let (unit_cost, price) = match (kind, &reference) {
        (MovementKind::ReturnUnused, Some(m)) => (m.unit_cost_cents, m.price_cents),
        (MovementKind::ReturnWrong, Some(m)) if m.kind == MovementKind::Issue.code() => {
            (m.unit_cost_cents, m.price_cents)
        }
        (MovementKind::Receipt, _) => (r.unit_cost_cents.unwrap_or(part.unit_cost_cents), 0),
        (MovementKind::Issue, _) => {
            let paid = order.as_ref().is_some_and(|o| o.entitlement == "paid");
            (part.unit_cost_cents, if paid { part.price_cents } else { 0 })
        }
        _ => (part.unit_cost_cents, 0),
    };

    // The stock, before the movement is written: a short bin fails the whole transaction.
    let mut low = vec![];
    // The levels each location was left with (the last change's, when one has two).
    let mut levels: Vec<(i64, store::stock::Levels)> = vec![];
    // In location order, so concurrent movements lock stock and totals rows in one order.
    let mut effects = rules::parts::effects(kind, &input);
    effects.sort_by_key(|e| e.warehouse);
    for e in effects {
        let Some(left) = store::stock::apply(tx.conn(), e.warehouse, part.id, e.bin, e.delta, now).await? else {
            let held = store::stock::held(tx.conn(), e.warehouse, part.id, e.bin).await?;
            let w = if Some(e.warehouse) == r.from_id { from.as_ref() } else { to.as_ref() };
            let name = w.map(|w| w.name.clone()).unwrap_or_default();
            let args = [("location", name.as_str()), ("held", &held.to_string())];
            let key = if e.bin == Bin::Usable { "stock.error.short" } else { "stock.error.short_faulty" };
            return Err(AppError::Validation(vec![FieldError::new(
                if kind == MovementKind::Adjust { "counted" } else { "qty" },
                tr_args("zh-CN", key, &args),
                tr_args("en", key, &args),
            )]));
        };
        if e.bin == Bin::Usable && e.delta < 0 {
            low.push((e, left.clone()));
        }
        levels.retain(|(w, _)| *w != e.warehouse);
        levels.push((e.warehouse, left));
    }
    let supplier = supplier_in.or_else(|| {
        matches!(kind, MovementKind::Receipt | MovementKind::ReturnFaulty)
            .then(|| part.supplier.clone())
            .filter(|s| !s.is_empty())
    });
    let new = NewMovement {
        kind: kind.code(),
        part_id: part.id,
        qty,
        from_id: r.from_id,
        to_id: r.to_id,
        order_id: r.order_id,
        ref_id: r.ref_id,
        serial: serial.as_deref(),
        old_serial: old_serial.as_deref(),
        batch: batch.as_deref(),
        supplier: supplier.as_deref(),
        unit_cost_cents: unit_cost,
        price_cents: price,
        note,
        actor_id: actor.user_id,
    };
    let id = store::stock::insert_movement(tx.conn(), &new, now).await?;

    // The order's parts cost and charge, and its time line.
    if let Some(o) = &order {
        let sign = match kind {
            MovementKind::Issue => 1,
            MovementKind::ReturnUnused => -1,
            MovementKind::ReturnWrong if reference.as_ref().is_some_and(|m| m.kind == MovementKind::Issue.code()) => -1,
            _ => 0,
        };
        if sign != 0 {
            store::stock::add_to_order(tx.conn(), o.id, sign * qty * unit_cost, sign * qty * price, now).await?;
        }
        let ev = store::work_orders::NewEvent {
            order_id: o.id,
            at: now,
            actor_id: actor.user_id,
            actor_label: &actor.label,
            action: match kind {
                MovementKind::Issue => "stock_issue",
                MovementKind::ReturnUnused => "stock_return_unused",
                MovementKind::ReturnFaulty => "stock_return_faulty",
                MovementKind::ReturnWrong => "stock_return_wrong",
                _ => "stock_transfer",
            },
            from_status: None,
            to_status: None,
            note: &format!("{} ×{qty}", part.part_no),
        };
        store::work_orders::insert_event(tx.conn(), &ev).await?;
    }

    // The movement as stored, and the stock it left where it was taken from and put.
    let name_of = |id: Option<i64>| id.and_then(|id| [&from, &to].into_iter().flatten().find(|w| w.id == id));
    let m = Movement {
        id,
        kind: new.kind.to_string(),
        part_id: part.id,
        part_no: part.part_no.clone(),
        part_name_zh: part.name_zh.clone(),
        part_name_en: part.name_en.clone(),
        qty,
        from_id: r.from_id,
        from_name: name_of(r.from_id).map(|w| w.name.clone()),
        to_id: r.to_id,
        to_name: name_of(r.to_id).map(|w| w.name.clone()),
        order_id: r.order_id,
        ref_id: r.ref_id,
        serial,
        old_serial,
        batch,
        supplier,
        unit_cost_cents: unit_cost,
        price_cents: price,
        note: note.to_string(),
        actor_id: actor.user_id,
        actor_name: look.name(tx, actor.user_id).await?,
        created_at: now,
    };
    let rows: Vec<StockRow> =
        levels.into_iter().filter_map(|(w, l)| name_of(Some(w)).map(|w| stock_row(w, &part, l))).collect();

    // A location that just reached its reorder point tells the warehouse.
    for (e, left) in low {
        if left.reorder_point > 0
            && left.on_hand <= left.reorder_point
            && left.on_hand - e.delta > left.reorder_point
            && let Some(row) = rows.iter().find(|r| r.warehouse_id == e.warehouse)
        {
            notify_low(tx, row, now).await?;
        }
    }
    audit::record::<(), _>(tx, actor, now, "create", "stock_movement", &id.to_string(), None, Some(&m)).await?;
    Ok((m, rows))
}

/// A location's stock row of a part from what a movement read and its write returned.
fn stock_row(w: &Warehouse, p: &Part, l: store::stock::Levels) -> StockRow {
    StockRow {
        warehouse_id: w.id,
        warehouse_code: w.code.clone(),
        warehouse_name: w.name.clone(),
        part_id: p.id,
        part_no: p.part_no.clone(),
        name_zh: p.name_zh.clone(),
        name_en: p.name_en.clone(),
        key_part: p.key_part,
        serial_tracked: p.serial_tracked,
        on_hand: l.on_hand,
        faulty: l.faulty,
        reorder_point: l.reorder_point,
        reorder_qty: l.reorder_qty,
        unit_cost_cents: p.unit_cost_cents,
        updated_at: l.updated_at,
    }
}

/// E-mails the warehouse staff that a location reached its reorder point (sent from the outbox).
async fn notify_low(tx: &mut Tx, row: &StockRow, now: DateTime<Utc>) -> AppResult<()> {
    let subject =
        format!("配件低于补货点 / Part at its reorder point: {} {} @ {}", row.part_no, row.name_zh, row.warehouse_name);
    let body = format!(
        "{subject}\n现有 / on hand: {}\n补货点 / reorder point: {}\n建议订货 / suggested order: {}\n\n{}/parts/replenishment",
        row.on_hand,
        row.reorder_point,
        row.reorder().unwrap_or_default(),
        super::notifications::BASE
    );
    super::notifications::mail_role(tx, Role::Warehouse, "stock_low", None, &subject, &body, now).await
}

/// Posts one movement: one transaction, idempotent with a key.
pub async fn post(db: &Db, actor: &Actor, r: &MovementRequest, idem: Option<&Idem<'_>>) -> AppResult<Posted> {
    let mut tx = db.begin().await?;
    let posted = post_on(&mut tx, actor, r, idem, Utc::now(), &Lookups::default()).await?;
    tx.commit().await?;
    Ok(posted)
}

/// One movement's writes and answer inside the caller's transaction (or savepoint).
async fn post_on(
    tx: &mut Tx,
    actor: &Actor,
    r: &MovementRequest,
    idem: Option<&Idem<'_>>,
    now: DateTime<Utc>,
    look: &Lookups,
) -> AppResult<Posted> {
    let (movement, rows) = write(tx, actor, r, now, look).await?;
    let posted = posted(tx, movement, rows).await?;
    if let Some(idem) = idem {
        super::remember(tx, actor, idem, 201, &posted).await?;
    }
    Ok(posted)
}

/// Where movements are posted: on SQLite by a group writer that posts whatever has queued up
/// in one transaction (a refused movement changes nothing and its caller gets its own error;
/// see [`post_group`]), so a busy store pays one commit per group
/// instead of per movement (SQLite has one writer, and its commits, not the statements,
/// were most of an issue's cost). On PostgreSQL each post is its own transaction: they run
/// side by side there, and one transaction taking several locations' rows in whatever order
/// its movements come could deadlock with another.
#[derive(Clone)]
pub struct Poster {
    db: Db,
    queue: Option<tokio::sync::mpsc::Sender<PostJob>>,
}

struct PostJob {
    actor: Actor,
    request: MovementRequest,
    idem: Option<(String, &'static str)>,
    reply: tokio::sync::oneshot::Sender<AppResult<Posted>>,
}

/// Movements per group at most (a group holds the write lock while it runs).
const MAX_GROUP: usize = 64;

impl Poster {
    /// Each post in the caller's own transaction.
    pub fn direct(db: &Db) -> Poster {
        Poster { db: db.clone(), queue: None }
    }

    /// The group writer on SQLite (on a thread of its own, as `intake`'s); direct posts on
    /// PostgreSQL. The writer ends when the last clone of the handle is dropped.
    pub fn spawn(db: &Db) -> Poster {
        // AFTERSALES_STOCK_GROUPS=off posts each movement alone (to compare, or to rule it out).
        let off = std::env::var("AFTERSALES_STOCK_GROUPS").is_ok_and(|v| v == "off");
        if db.backend() != crate::db::Backend::Sqlite || off {
            return Poster::direct(db);
        }
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let writer = db.clone();
        std::thread::Builder::new()
            .name("stock-writer".into())
            .spawn(move || match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt.block_on(run_writer(writer, rx)),
                Err(e) => tracing::error!(error = %e, "cannot start the stock writer"),
            })
            .expect("the stock writer's thread starts");
        Poster { db: db.clone(), queue: Some(tx) }
    }

    pub async fn post(&self, actor: &Actor, r: &MovementRequest, idem: Option<&Idem<'_>>) -> AppResult<Posted> {
        let Some(queue) = &self.queue else {
            return post(&self.db, actor, r, idem).await;
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = PostJob {
            actor: actor.clone(),
            request: r.clone(),
            idem: idem.map(|i| (i.key.to_string(), i.scope)),
            reply,
        };
        let stopped = || AppError::Internal(anyhow::anyhow!("the stock writer has stopped"));
        queue.send(job).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run_writer(db: Db, mut rx: tokio::sync::mpsc::Receiver<PostJob>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        metrics::histogram!("stock_group_movements").record(jobs.len() as f64);
        post_group(&db, jobs).await;
    }
}

async fn savepoint(tx: &mut Tx, sql: &'static str) -> sqlx::Result<()> {
    crate::on_conn!(tx.conn(), |e| sqlx::query(sql).execute(&mut *e).await.map(|_| ()))
}

/// Posts a group in one transaction and answers after the commit. A movement between two
/// locations runs in a savepoint of its own (its second location may be short after the first
/// was written); any other movement is refused, if at all, before its first write, so it needs
/// none. When the commit fails, or a movement fails after writing, the group is rolled back
/// and its movements are posted one by one.
async fn post_group(db: &Db, jobs: Vec<PostJob>) {
    if jobs.len() == 1 {
        // Alone in the queue: its own transaction, no savepoint.
        return post_each(db, jobs).await;
    }
    let now = Utc::now();
    let mut tx = match db.begin().await {
        Ok(t) => t,
        Err(e) => {
            let msg = e.to_string();
            for j in jobs {
                let _ = j.reply.send(Err(AppError::Internal(anyhow::anyhow!("{msg}"))));
            }
            return;
        }
    };
    let requests: Vec<&MovementRequest> = jobs.iter().map(|j| &j.request).collect();
    let actors: Vec<&Actor> = jobs.iter().map(|j| &j.actor).collect();
    let look = match Lookups::read_ahead(&mut tx, &requests, &actors).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = ?e, "stock group: reading ahead failed; reading per movement");
            Lookups::default()
        }
    };
    let mut answers = Vec::with_capacity(jobs.len());
    for j in &jobs {
        let idem = j.idem.as_ref().map(|(key, scope)| Idem { key, scope });
        let guarded = j.request.from_id.is_some() && j.request.to_id.is_some();
        let answer = if guarded {
            match savepoint(&mut tx, "SAVEPOINT movement").await {
                Err(e) => Err(e.into()),
                Ok(()) => {
                    let answer = post_on(&mut tx, &j.actor, &j.request, idem.as_ref(), now, &look).await;
                    let end = if answer.is_ok() { "RELEASE movement" } else { "ROLLBACK TO movement" };
                    match savepoint(&mut tx, end).await {
                        Ok(()) if answer.is_err() => {
                            savepoint(&mut tx, "RELEASE movement").await.map_err(Into::into).and(answer)
                        }
                        Ok(()) => answer,
                        Err(e) => Err(e.into()),
                    }
                }
            }
        } else {
            post_on(&mut tx, &j.actor, &j.request, idem.as_ref(), now, &look).await
        };
        if let Err(e) = &answer
            && !guarded
            && !matches!(e, AppError::Validation(_) | AppError::Forbidden | AppError::NotFound)
        {
            tracing::warn!(movements = jobs.len(), error = ?e, "stock group: a movement failed; posting one by one");
            drop(tx);
            return post_each(db, jobs).await;
        }
        answers.push(answer);
    }
    match tx.commit().await {
        Ok(()) => {
            for (j, a) in jobs.into_iter().zip(answers) {
                let _ = j.reply.send(a);
            }
        }
        Err(e) => {
            tracing::warn!(movements = jobs.len(), error = %e, "stock group commit failed; posting one by one");
            post_each(db, jobs).await
        }
    }
}

/// Posts each movement in its own transaction.
async fn post_each(db: &Db, jobs: Vec<PostJob>) {
    for j in jobs {
        let idem = j.idem.as_ref().map(|(key, scope)| Idem { key, scope });
        let _ = j.reply.send(post(db, &j.actor, &j.request, idem.as_ref()).await);
    }
}

/// The answer to a post: the movement and the stock it left at its locations (rows read
/// after the writes by [`write`] are taken as they are).
async fn posted(tx: &mut Tx, movement: Movement, mut read: Vec<StockRow>) -> AppResult<Posted> {
    let mut stock = vec![];
    for w in [movement.from_id, movement.to_id].into_iter().flatten() {
        if let Some(k) = read.iter().position(|r| r.warehouse_id == w) {
            stock.push(read.swap_remove(k));
        } else if let Some(row) = store::stock::row(tx.conn(), w, movement.part_id).await? {
            stock.push(row);
        }
    }
    Ok(Posted { movement, stock })
}

/// Receives `qty` pieces of a part into a location (opening stock, deliveries) inside the
/// caller's transaction, as a `receipt` movement with its audit entry; returns its id. The
/// caller needs `Perm::MoveStock`; errors are field errors on `qty`, `part_id`, `to_id`.
pub async fn receive_in_tx(
    tx: &mut Tx,
    actor: &Actor,
    part_id: i64,
    warehouse_id: i64,
    qty: i64,
    note: &str,
    now: DateTime<Utc>,
) -> AppResult<i64> {
    actor.require(Perm::MoveStock)?;
    let r = MovementRequest {
        kind: MovementKind::Receipt.code().into(),
        part_id: Some(part_id),
        qty: Some(qty),
        to_id: Some(warehouse_id),
        note: note.into(),
        ..Default::default()
    };
    post_in_tx(tx, actor, &r, now).await
}

// ------------------------------------------------------------------ reading

fn require_reader(actor: &Actor) -> AppResult<()> {
    if actor.roles.is_empty() { Err(AppError::Forbidden) } else { Ok(()) }
}

/// A location's stock, a page at a time.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StockPage {
    pub warehouse: Warehouse,
    pub totals: store::stock::StockTotals,
    pub rows: Vec<StockRow>,
    /// Pass as `after` for the next page; null on the last.
    pub next_after: Option<String>,
}

/// `known`: the location when the caller has read it already (from [`locations`]).
#[allow(clippy::too_many_arguments)]
pub async fn stock_page(
    db: &Db,
    actor: &Actor,
    warehouse_id: i64,
    known: Option<Warehouse>,
    q: Option<String>,
    held_only: bool,
    after: Option<String>,
    limit: i64,
) -> AppResult<StockPage> {
    require_reader(actor)?;
    let limit = limit.clamp(1, 500);
    let mut c = db.read().await?;
    let warehouse = match known.filter(|w| w.id == warehouse_id) {
        Some(w) => w,
        None => store::parts::get_warehouse(c.conn(), warehouse_id).await?.ok_or(AppError::NotFound)?,
    };
    let f = store::stock::StockFilter { warehouse_id, q, held_only, after_part_no: after, limit: limit + 1 };
    let (mut rows, totals) = store::stock::stock_page(c.conn(), &f).await?;
    let next_after = (rows.len() as i64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.part_no.clone()).unwrap_or_default()
    });
    Ok(StockPage { warehouse, totals, rows, next_after })
}

/// A history of movements, newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MovementPage {
    pub items: Vec<Movement>,
    /// Pass as `before_id` for the next page; null on the last.
    pub next_before: Option<i64>,
}

pub async fn movements(db: &Db, actor: &Actor, mut f: store::stock::MovementFilter) -> AppResult<MovementPage> {
    require_reader(actor)?;
    let limit = f.limit.clamp(1, 500);
    f.limit = limit + 1;
    let mut c = db.read().await?;
    let mut items = store::stock::movements(c.conn(), &f).await?;
    let next_before = (items.len() as i64 > limit).then(|| {
        items.truncate(limit as usize);
        items.last().map(|m| m.id).unwrap_or_default()
    });
    Ok(MovementPage { items, next_before })
}

pub async fn movement(db: &Db, actor: &Actor, id: i64) -> AppResult<Movement> {
    require_reader(actor)?;
    let mut c = db.read().await?;
    store::stock::get_movement(c.conn(), id).await?.ok_or(AppError::NotFound)
}

/// The locations a user picks from, and the one to show first: an engineer's own van, else
/// the first central warehouse.
pub async fn locations(db: &Db, actor: &Actor) -> AppResult<(Vec<Warehouse>, Option<i64>)> {
    require_reader(actor)?;
    let mut c = db.read().await?;
    let all = store::parts::active_warehouses(c.conn()).await?;
    let own = all.iter().find(|w| w.engineer_id.is_some() && w.engineer_id == actor.user_id).map(|w| w.id);
    let first = own.or(all.first().map(|w| w.id));
    Ok((all, first))
}

// ------------------------------------------------------------------ picking accuracy

const ACCURACY_TARGET_KEY: &str = "parts.accuracy_target";
/// RULES §7: parts picking accuracy ≥ 98 % (a setting).
pub const DEFAULT_ACCURACY_TARGET: f64 = 98.0;

/// One location's picks in one month.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccuracyRow {
    pub warehouse_id: i64,
    pub warehouse_name: String,
    /// YYYY-MM (company time)
    pub month: String,
    pub picks: i64,
    pub wrong: i64,
    /// Right picks per 100.
    pub percent: Option<f64>,
    pub meets: Option<bool>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccuracyReport {
    #[schema(value_type = String, format = Date)]
    pub from: chrono::NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: chrono::NaiveDate,
    pub target: f64,
    pub rule: String,
    pub rows: Vec<AccuracyRow>,
    /// All locations together.
    pub total: AccuracyRow,
}

async fn accuracy_target(c: crate::db::Conn<'_>) -> AppResult<f64> {
    Ok(store::settings::get(c, ACCURACY_TARGET_KEY)
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ACCURACY_TARGET))
}

/// Picking accuracy per location and month over the days `from..=to` (company time).
pub async fn accuracy(
    db: &Db,
    actor: &Actor,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> AppResult<AccuracyReport> {
    require_reader(actor)?;
    if to < from {
        return Err(AppError::one("to", "stock.error.period"));
    }
    let mut c = db.read().await?;
    let target = accuracy_target(c.conn()).await?;
    let counts = store::stock::pick_counts(
        c.conn(),
        super::work_orders::midnight(from),
        super::work_orders::midnight(to + chrono::TimeDelta::days(1)),
    )
    .await?;
    let names: std::collections::HashMap<i64, String> =
        store::parts::active_warehouses(c.conn()).await?.into_iter().map(|w| (w.id, w.name)).collect();
    let row = |warehouse_id: i64, name: String, month: String, picks: i64, wrong: i64| {
        let a = rules::parts::Accuracy { picks: picks as u64, wrong: wrong as u64 };
        AccuracyRow {
            warehouse_id,
            warehouse_name: name,
            month,
            picks,
            wrong,
            percent: a.percent(),
            meets: a.meets(target),
        }
    };
    let (mut picks, mut wrong) = (0, 0);
    let mut rows = vec![];
    for k in counts {
        picks += k.picks;
        wrong += k.wrong;
        let name = names.get(&k.warehouse_id).cloned().unwrap_or_else(|| format!("#{}", k.warehouse_id));
        rows.push(row(k.warehouse_id, name, k.month, k.picks, k.wrong));
    }
    let total = row(0, String::new(), String::new(), picks, wrong);
    Ok(AccuracyReport { from, to, target, rule: rules::parts::ACCURACY_RULE.into(), rows, total })
}

/// Sets the picking accuracy target (per cent, 50–100).
pub async fn set_accuracy_target(db: &Db, actor: &Actor, target: f64) -> AppResult<f64> {
    actor.require(Perm::ManageParts)?;
    if !(target.is_finite() && (50.0..=100.0).contains(&target)) {
        return Err(AppError::one("target", "stock.error.target"));
    }
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = accuracy_target(tx.conn()).await?;
    store::settings::set(tx.conn(), ACCURACY_TARGET_KEY, &target.to_string()).await?;
    audit::record(&mut tx, actor, now, "update", "setting", ACCURACY_TARGET_KEY, Some(&before), Some(&target)).await?;
    tx.commit().await?;
    Ok(target)
}

// ------------------------------------------------------------------ key-part failures

const POLICY_KEY: &str = "parts.failure_policy";

pub async fn failure_policy_in(c: crate::db::Conn<'_>) -> AppResult<rules::parts::FailurePolicy> {
    Ok(store::settings::get(c, POLICY_KEY).await?.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or_default())
}

pub async fn failure_policy(db: &Db, actor: &Actor) -> AppResult<rules::parts::FailurePolicy> {
    require_reader(actor)?;
    let mut c = db.read().await?;
    failure_policy_in(c.conn()).await
}

/// Saves the next version of the failure-alert policy; 409 when `version` is not the current one.
pub async fn set_failure_policy(
    db: &Db,
    actor: &Actor,
    p: &rules::parts::FailurePolicy,
) -> AppResult<rules::parts::FailurePolicy> {
    actor.require(Perm::ManageParts)?;
    AppError::check(p.errors())?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = failure_policy_in(tx.conn()).await?;
    if p.version != before.version {
        return Err(AppError::Conflict("error.stale"));
    }
    let next = rules::parts::FailurePolicy { version: before.version + 1, ..p.clone() };
    let json = serde_json::to_string(&next).map_err(anyhow::Error::from)?;
    store::settings::set(tx.conn(), POLICY_KEY, &json).await?;
    audit::record(&mut tx, actor, now, "update", "setting", POLICY_KEY, Some(&before), Some(&next)).await?;
    tx.commit().await?;
    Ok(next)
}

/// One part's failures over a period: per month, and by model, batch and supplier.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PartFailures {
    pub part_id: i64,
    pub part_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub key_part: bool,
    pub total: i64,
    /// (YYYY-MM, failures), oldest first, months without failures included.
    pub by_month: Vec<(String, i64)>,
    /// (model code or "", failures), most first.
    pub by_model: Vec<(String, i64)>,
    pub by_batch: Vec<(String, i64)>,
    pub by_supplier: Vec<(String, i64)>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FailureReport {
    /// First and last month, YYYY-MM.
    pub from_month: String,
    pub to_month: String,
    pub months: Vec<String>,
    pub parts: Vec<PartFailures>,
    pub alerts: Vec<store::stock::PartAlert>,
    /// rules::parts::FailurePolicy: version, baseline_months, factor, min_failures
    #[schema(value_type = Object)]
    pub policy: rules::parts::FailurePolicy,
}

fn month_start(m: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok()
}

fn months_between(from: chrono::NaiveDate, to: chrono::NaiveDate) -> Vec<String> {
    let mut out = vec![];
    let mut d = from;
    while d <= to && out.len() < 120 {
        out.push(d.format("%Y-%m").to_string());
        d = d.checked_add_months(chrono::Months::new(1)).unwrap_or(to + chrono::TimeDelta::days(1));
    }
    out
}

fn sorted(m: std::collections::HashMap<String, i64>) -> Vec<(String, i64)> {
    let mut v: Vec<_> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// Faulty returns per part over the months `from_month..=to_month` (YYYY-MM), key parts only
/// unless `all`, the parts that fail most first; with the open alerts and the policy.
pub async fn failures(db: &Db, actor: &Actor, from_month: &str, to_month: &str, all: bool) -> AppResult<FailureReport> {
    require_reader(actor)?;
    let (Some(from), Some(to)) = (month_start(from_month), month_start(to_month)) else {
        return Err(AppError::one("from", "error.bad_parameter"));
    };
    if to < from {
        return Err(AppError::one("to", "stock.error.period"));
    }
    let months = months_between(from, to);
    let end = to.checked_add_months(chrono::Months::new(1)).unwrap_or(to);
    let mut c = db.read().await?;
    let counts = store::stock::failure_counts(
        c.conn(),
        super::work_orders::midnight(from),
        super::work_orders::midnight(end),
        !all,
    )
    .await?;
    use std::collections::HashMap;
    #[derive(Default)]
    struct Acc {
        month: HashMap<String, i64>,
        model: HashMap<String, i64>,
        batch: HashMap<String, i64>,
        supplier: HashMap<String, i64>,
    }
    let mut per: HashMap<i64, Acc> = HashMap::new();
    for k in counts {
        let a = per.entry(k.part_id).or_default();
        *a.month.entry(k.month).or_default() += k.failures;
        *a.model.entry(k.model_code.unwrap_or_default()).or_default() += k.failures;
        *a.batch.entry(k.batch.unwrap_or_default()).or_default() += k.failures;
        *a.supplier.entry(k.supplier.unwrap_or_default()).or_default() += k.failures;
    }
    let mut parts = vec![];
    for (part_id, a) in per {
        let Some(p) = store::parts::get_part(c.conn(), part_id).await? else { continue };
        let by_month: Vec<(String, i64)> =
            months.iter().map(|m| (m.clone(), a.month.get(m).copied().unwrap_or(0))).collect();
        parts.push(PartFailures {
            part_id,
            part_no: p.part_no,
            name_zh: p.name_zh,
            name_en: p.name_en,
            key_part: p.key_part,
            total: by_month.iter().map(|(_, n)| n).sum(),
            by_month,
            by_model: sorted(a.model),
            by_batch: sorted(a.batch),
            by_supplier: sorted(a.supplier),
        });
    }
    parts.sort_by(|a, b| b.total.cmp(&a.total).then(a.part_no.cmp(&b.part_no)));
    let alerts = store::stock::alerts(c.conn(), true, 100).await?;
    let policy = failure_policy_in(c.conn()).await?;
    Ok(FailureReport { from_month: from_month.into(), to_month: to_month.into(), months, parts, alerts, policy })
}

/// Checks this month's failures of every key part against its normal rate and hands new
/// alerts to the quality department (an e-mail each). Runs hourly on every instance; the
/// unique (part, month) makes each alert happen once. Returns the alerts raised.
pub async fn check_failures(db: &Db, now: DateTime<Utc>) -> AppResult<usize> {
    let today = super::work_orders::local_day(now);
    let this_month =
        chrono::NaiveDate::from_ymd_opt(chrono::Datelike::year(&today), chrono::Datelike::month(&today), 1)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no first day of the month")))?;
    let mut c = db.read().await?;
    let policy = failure_policy_in(c.conn()).await?;
    let start = this_month.checked_sub_months(chrono::Months::new(policy.baseline_months)).unwrap_or(this_month);
    let counts = store::stock::failure_counts(c.conn(), super::work_orders::midnight(start), now, true).await?;
    drop(c);
    let months = months_between(start, this_month);
    let current = this_month.format("%Y-%m").to_string();
    let mut per: std::collections::HashMap<i64, std::collections::HashMap<String, i64>> = Default::default();
    for k in counts {
        *per.entry(k.part_id).or_default().entry(k.month).or_default() += k.failures;
    }
    let mut raised = 0;
    for (part_id, by_month) in per {
        let now_count = by_month.get(&current).copied().unwrap_or(0) as u64;
        let history: Vec<u64> =
            months.iter().filter(|m| **m != current).map(|m| by_month.get(m).copied().unwrap_or(0) as u64).collect();
        let Some(alert) = rules::parts::failure_alert(&policy, &history, now_count) else { continue };
        let mut tx = db.begin().await?;
        if !store::stock::insert_alert(tx.conn(), part_id, &current, now_count as i64, alert.baseline, &alert.rule, now)
            .await?
        {
            continue;
        }
        if let Some(p) = store::parts::get_part(tx.conn(), part_id).await? {
            notify_quality(&mut tx, &p, &current, now_count, alert.baseline, &alert.rule, now).await?;
        }
        tx.commit().await?;
        raised += 1;
    }
    Ok(raised)
}

async fn notify_quality(
    tx: &mut Tx,
    p: &Part,
    month: &str,
    failures: u64,
    baseline: f64,
    rule: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let subject = format!("关键件故障异常 / Key part failing above normal: {} {} ({month})", p.part_no, p.name_zh);
    let body = format!(
        "{subject}\n本月故障 / failures this month: {failures}\n正常水平 / normal per month: {baseline:.1}\n{rule}\n\n{}/stock/failures",
        super::notifications::BASE
    );
    super::notifications::mail_role(tx, Role::Quality, "part_failure_alert", None, &subject, &body, now).await
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AlertUpdate {
    pub version: i64,
    /// acknowledged | closed
    pub status: String,
    #[serde(default)]
    pub note: String,
}

/// Quality acknowledges an alert (looking into it) or closes it with what was found.
pub async fn update_alert(db: &Db, actor: &Actor, id: i64, u: &AlertUpdate) -> AppResult<store::stock::PartAlert> {
    if !(actor.can(Perm::ManageFaultCodes) || actor.can(Perm::ManageParts)) {
        return Err(AppError::Forbidden);
    }
    let mut errors = vec![];
    if !matches!(u.status.as_str(), "acknowledged" | "closed") {
        errors.push(field_error("status", "error.bad_parameter"));
    }
    if u.note.chars().count() > MAX_NOTE {
        errors.push(field_error("note", "error.too_long"));
    }
    if u.status == "closed" && u.note.trim().is_empty() {
        errors.push(field_error("note", "stock.error.close_note"));
    }
    AppError::check(errors)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = store::stock::get_alert(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    let by = (u.status == "closed").then_some(actor.user_id).flatten();
    let at = (u.status == "closed").then_some(now);
    if !store::stock::update_alert(tx.conn(), id, u.version, &u.status, u.note.trim(), by, at.unwrap_or(now)).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    let after = store::stock::get_alert(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record(&mut tx, actor, now, "update", "part_alert", &id.to_string(), Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}
