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
/// the opening-stock import ([`receive_in_tx`]) and the picking of requests.
pub async fn post_in_tx(tx: &mut Tx, actor: &Actor, r: &MovementRequest, now: DateTime<Utc>) -> AppResult<i64> {
    let look = Lookups::default();
    let checked = check(tx, actor, r, &look).await?;
    let item = Item { actor, checked, idem: None };
    Ok(one(write_all(tx, vec![item], now, &look).await?)?.movement.id)
}

fn one<T>(mut answers: Vec<AppResult<T>>) -> AppResult<T> {
    answers.pop().expect("one answer")
}

/// A movement that passed its checks, with everything its writing needs.
struct Checked {
    kind: MovementKind,
    part: Part,
    qty: i64,
    input: MovementInput,
    /// Its stock changes, in location order (so concurrent movements lock stock and totals
    /// rows in one order).
    effects: Vec<rules::parts::Effect>,
    from: Option<Warehouse>,
    to: Option<Warehouse>,
    order: Option<WorkOrder>,
    /// The earlier movement it refers to.
    reference: Option<Movement>,
    serial: Option<String>,
    old_serial: Option<String>,
    batch: Option<String>,
    supplier: Option<String>,
    /// Cost and charge per piece.
    unit_cost: i64,
    price: i64,
    note: String,
}

impl Checked {
    fn location(&self, id: i64) -> Option<&Warehouse> {
        [&self.from, &self.to].into_iter().flatten().find(|w| w.id == id)
    }

    /// What it adds to its order's parts cost and charge: issued pieces, and returned ones
    /// taken off again.
    fn order_parts(&self) -> Option<(i64, i64)> {
        self.order.as_ref()?;
        let sign = match self.kind {
            MovementKind::Issue => 1,
            MovementKind::ReturnUnused => -1,
            MovementKind::ReturnWrong
                if self.reference.as_ref().is_some_and(|m| m.kind == MovementKind::Issue.code()) =>
            {
                -1
            }
            _ => return None,
        };
        Some((sign * self.qty * self.unit_cost, sign * self.qty * self.price))
    }

    /// Its entry on the order's time line.
    fn action(&self) -> &'static str {
        match self.kind {
            MovementKind::Issue => "stock_issue",
            MovementKind::ReturnUnused => "stock_return_unused",
            MovementKind::ReturnFaulty => "stock_return_faulty",
            MovementKind::ReturnWrong => "stock_return_wrong",
            _ => "stock_transfer",
        }
    }
}

/// Whether a movement's checks read only what no other movement changes (parts, locations,
/// orders and earlier movements), so that a group's checks may all run before any of it is
/// written. Returns of unused or wrong pieces count what came back before; an adjustment to a
/// counted quantity reads the stock.
fn checked_apart(r: &MovementRequest) -> bool {
    match MovementKind::parse(&r.kind) {
        Some(MovementKind::ReturnUnused | MovementKind::ReturnWrong) => r.ref_id.is_none(),
        Some(MovementKind::Adjust) => r.qty.is_some(),
        _ => true,
    }
}

/// Checks a movement against the catalogue, the locations, the order, the earlier movement it
/// refers to and who may move what; nothing is written. Its stock is checked when it is
/// written ([`write_all`]).
async fn check(tx: &mut Tx, actor: &Actor, r: &MovementRequest, look: &Lookups) -> AppResult<Checked> {
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
            let held = store::stock::held(tx.conn(), w.id, p.id, Bin::Usable, Utc::now().trunc_subsecs(6)).await?;
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

    let supplier = supplier_in.or_else(|| {
        matches!(kind, MovementKind::Receipt | MovementKind::ReturnFaulty)
            .then(|| part.supplier.clone())
            .filter(|s| !s.is_empty())
    });
    let mut effects = rules::parts::effects(kind, &input);
    effects.sort_by_key(|e| e.warehouse);
    Ok(Checked {
        kind,
        part,
        qty,
        input,
        effects,
        from,
        to,
        order,
        reference,
        serial,
        old_serial,
        batch,
        supplier,
        unit_cost,
        price,
        note: note.to_string(),
    })
}

/// A checked movement to write, with who asked for it and its idempotency key.
struct Item<'a> {
    actor: &'a Actor,
    checked: Checked,
    idem: Option<Idem<'a>>,
}

/// Writes checked movements inside the caller's transaction and answers each in turn. Reads
/// (on PostgreSQL locks) the stock rows they touch, takes each movement's stock changes from
/// what is left (one finding a bin short is refused whole, naming the location and what it
/// holds), and writes everything in one statement per table ([`store::stock::write_group`]):
/// a movement is five statements less than written one by one, and a group of them as many
/// statements as one. The outer error (a failed statement, or an idempotency key stored
/// meanwhile) means the transaction must not be committed.
async fn write_all(
    tx: &mut Tx,
    items: Vec<Item<'_>>,
    now: DateTime<Utc>,
    look: &Lookups,
) -> AppResult<Vec<AppResult<Posted>>> {
    // As stored: PostgreSQL keeps microseconds.
    let now = now.trunc_subsecs(6);
    let mut keys: Vec<(i64, i64)> =
        items.iter().flat_map(|i| i.checked.effects.iter().map(|e| (e.warehouse, i.checked.part.id))).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut gaining: Vec<(i64, i64)> = items
        .iter()
        .flat_map(|i| i.checked.effects.iter().filter(|e| e.delta > 0).map(|e| (e.warehouse, i.checked.part.id)))
        .collect();
    gaining.sort_unstable();
    gaining.dedup();
    let mut levels: HashMap<(i64, i64), store::stock::Levels> =
        store::stock::levels_of(tx.conn(), &keys, &gaining, now)
            .await?
            .into_iter()
            .map(|k| ((k.warehouse_id, k.part_id), k.levels()))
            .collect();
    let read: std::collections::HashSet<(i64, i64)> = levels.keys().copied().collect();

    // Each movement's changes in turn; the sums per stock row, in location order.
    let mut changes: std::collections::BTreeMap<(i64, i64), (i64, i64)> = Default::default();
    let mut answers: Vec<Option<AppResult<Posted>>> = Vec::with_capacity(items.len());
    let mut taken = vec![];
    for (i, item) in items.iter().enumerate() {
        let c = &item.checked;
        match take(&mut levels, c, now) {
            Ok(left) => {
                for e in &c.effects {
                    let sums = changes.entry((e.warehouse, c.part.id)).or_default();
                    match e.bin {
                        Bin::Usable => sums.0 += e.delta,
                        Bin::Faulty => sums.1 += e.delta,
                    }
                }
                taken.push((i, left));
                answers.push(None);
            }
            Err(e) => answers.push(Some(Err(e))),
        }
    }
    if taken.is_empty() {
        return Ok(answers.into_iter().flatten().collect());
    }

    // The movements as they will be stored, and the stock each left where it was taken from
    // and put.
    let ids = store::stock::reserve_movement_ids(tx.conn(), taken.len()).await?;
    let mut posted: Vec<(usize, Posted)> = Vec::with_capacity(taken.len());
    for ((i, left), id) in taken.iter().zip(ids) {
        let (c, actor) = (&items[*i].checked, items[*i].actor);
        let name = |w: Option<i64>| w.and_then(|w| c.location(w)).map(|w| w.name.clone());
        let movement = Movement {
            id,
            kind: c.kind.code().to_string(),
            part_id: c.part.id,
            part_no: c.part.part_no.clone(),
            part_name_zh: c.part.name_zh.clone(),
            part_name_en: c.part.name_en.clone(),
            qty: c.qty,
            from_id: c.input.from,
            from_name: name(c.input.from),
            to_id: c.input.to,
            to_name: name(c.input.to),
            order_id: c.input.order,
            ref_id: c.input.reference,
            serial: c.serial.clone(),
            old_serial: c.old_serial.clone(),
            batch: c.batch.clone(),
            supplier: c.supplier.clone(),
            unit_cost_cents: c.unit_cost,
            price_cents: c.price,
            note: c.note.clone(),
            actor_id: actor.user_id,
            actor_name: look.name(tx, actor.user_id).await?,
            created_at: now,
        };
        let stock = [c.input.from, c.input.to]
            .into_iter()
            .flatten()
            .filter_map(|w| {
                let l = left.iter().find(|(at, _)| *at == w)?;
                Some(stock_row(c.location(w)?, &c.part, l.1.clone()))
            })
            .collect();
        posted.push((*i, Posted { movement, stock }));
    }

    // Everything they write.
    let new: Vec<(i64, NewMovement<'_>)> = posted
        .iter()
        .map(|(i, p)| {
            let (c, m) = (&items[*i].checked, &p.movement);
            let new = NewMovement {
                kind: c.kind.code(),
                part_id: c.part.id,
                qty: c.qty,
                from_id: c.input.from,
                to_id: c.input.to,
                order_id: c.input.order,
                ref_id: c.input.reference,
                serial: c.serial.as_deref(),
                old_serial: c.old_serial.as_deref(),
                batch: c.batch.as_deref(),
                supplier: c.supplier.as_deref(),
                unit_cost_cents: c.unit_cost,
                price_cents: c.price,
                note: &c.note,
                actor_id: m.actor_id,
            };
            (m.id, new)
        })
        .collect();
    let stock: Vec<store::stock::StockChange> = changes
        .into_iter()
        .map(|((warehouse_id, part_id), (on_hand, faulty))| store::stock::StockChange {
            warehouse_id,
            part_id,
            on_hand,
            faulty,
            new_row: !read.contains(&(warehouse_id, part_id)),
        })
        .collect();
    let mut orders: Vec<store::stock::OrderParts> = vec![];
    for (i, _) in &posted {
        let c = &items[*i].checked;
        if let (Some(o), Some((cost, charge))) = (&c.order, c.order_parts()) {
            match orders.iter_mut().find(|x| x.order_id == o.id) {
                Some(x) => {
                    x.cost_cents += cost;
                    x.charge_cents += charge;
                }
                None => {
                    orders.push(store::stock::OrderParts { order_id: o.id, cost_cents: cost, charge_cents: charge })
                }
            }
        }
    }
    let notes: Vec<String> =
        posted.iter().map(|(i, p)| format!("{} ×{}", items[*i].checked.part.part_no, p.movement.qty)).collect();
    let events: Vec<store::work_orders::NewEvent<'_>> = posted
        .iter()
        .zip(&notes)
        .filter_map(|((i, _), note)| {
            let (c, actor) = (&items[*i].checked, items[*i].actor);
            Some(store::work_orders::NewEvent {
                order_id: c.order.as_ref()?.id,
                at: now,
                actor_id: actor.user_id,
                actor_label: &actor.label,
                action: c.action(),
                from_status: None,
                to_status: None,
                note,
            })
        })
        .collect();
    let afters: Vec<(String, String)> = posted
        .iter()
        .map(|(_, p)| (p.movement.id.to_string(), serde_json::to_string(&p.movement).unwrap_or_default()))
        .collect();
    let audit: Vec<store::audit::NewEntry<'_>> = posted
        .iter()
        .zip(&afters)
        .map(|((i, _), (id, after))| {
            let actor = items[*i].actor;
            store::audit::NewEntry {
                at: now,
                actor_id: actor.user_id,
                actor_label: &actor.label,
                action: "create",
                entity_type: "stock_movement",
                entity_id: id,
                before: None,
                after: Some(after.clone()),
                ip: actor.ip.as_deref(),
                request_id: actor.request_id.as_deref(),
            }
        })
        .collect();
    let remembered: Vec<store::intake::Remembered<'_>> = posted
        .iter()
        .filter_map(|(i, p)| {
            let (idem, actor) = (items[*i].idem.as_ref()?, items[*i].actor);
            Some(store::intake::Remembered {
                user_id: actor.user_id?,
                key: idem.key,
                scope: idem.scope,
                status: 201,
                body: serde_json::to_string(p).unwrap_or_default(),
            })
        })
        .collect();
    let group = store::stock::Group {
        changes: &stock,
        movements: &new,
        orders: &orders,
        events: &events,
        audit: &audit,
        remembered: &remembered,
    };
    store::stock::write_group(tx.conn(), &group, now)
        .await
        .map_err(|e| super::stored_answer_error(e, !remembered.is_empty()))?;

    // A location that just reached its reorder point tells the warehouse.
    for (i, p) in &posted {
        for e in &items[*i].checked.effects {
            if let Some(row) = p.stock.iter().find(|r| r.warehouse_id == e.warehouse)
                && e.bin == Bin::Usable
                && e.delta < 0
                && row.reorder_point > 0
                && row.on_hand <= row.reorder_point
                && row.on_hand - e.delta > row.reorder_point
            {
                notify_low(tx, row, now).await?;
            }
        }
    }
    for (i, p) in posted {
        answers[i] = Some(Ok(p));
    }
    Ok(answers.into_iter().map(|a| a.expect("every movement answered")).collect())
}

/// Takes a movement's stock changes from `levels` (a row not there holds nothing) and returns
/// the levels it leaves at each location: all of them, or none when a bin is short, with the
/// error naming the location and what it holds.
fn take(
    levels: &mut HashMap<(i64, i64), store::stock::Levels>,
    c: &Checked,
    now: DateTime<Utc>,
) -> AppResult<Vec<(i64, store::stock::Levels)>> {
    let mut left: Vec<(i64, store::stock::Levels)> = vec![];
    for e in &c.effects {
        let mut l = match left.iter().find(|(w, _)| *w == e.warehouse) {
            Some((_, l)) => l.clone(),
            None => levels.get(&(e.warehouse, c.part.id)).cloned().unwrap_or(store::stock::Levels {
                on_hand: 0,
                faulty: 0,
                reorder_point: 0,
                reorder_qty: 0,
                updated_at: now,
            }),
        };
        let bin = match e.bin {
            Bin::Usable => &mut l.on_hand,
            Bin::Faulty => &mut l.faulty,
        };
        if *bin + e.delta < 0 {
            let name = c.location(e.warehouse).map(|w| w.name.clone()).unwrap_or_default();
            let args = [("location", name.as_str()), ("held", &bin.to_string())];
            let key = if e.bin == Bin::Usable { "stock.error.short" } else { "stock.error.short_faulty" };
            return Err(AppError::Validation(vec![FieldError::new(
                if c.kind == MovementKind::Adjust { "counted" } else { "qty" },
                tr_args("zh-CN", key, &args),
                tr_args("en", key, &args),
            )]));
        }
        *bin += e.delta;
        l.updated_at = now;
        left.retain(|(w, _)| *w != e.warehouse);
        left.push((e.warehouse, l));
    }
    for (w, l) in &left {
        levels.insert((*w, c.part.id), l.clone());
    }
    Ok(left)
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
    let look = Lookups::default();
    let checked = check(&mut tx, actor, r, &look).await?;
    let idem = idem.map(|i| Idem { key: i.key, scope: i.scope });
    let posted = one(write_all(&mut tx, vec![Item { actor, checked, idem }], Utc::now(), &look).await?)?;
    tx.commit().await?;
    Ok(posted)
}

/// Where movements are posted: on SQLite by a group writer that checks and writes whatever
/// has queued up in one transaction ([`write_jobs`]; a refused movement changes nothing and
/// its caller gets its own error), so a busy store pays one commit and one set of statements
/// per group instead of per movement (SQLite has one writer, and every statement is a round
/// trip to its connection's thread). On PostgreSQL each post is its own transaction: they run
/// side by side there.
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
const MAX_GROUP: usize = store::stock::MAX_GROUP;

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

/// Posts a group in one transaction and answers after the commit ([`write_jobs`]). When a
/// statement or the commit fails, the group is rolled back and its movements are posted one
/// by one.
async fn post_group(db: &Db, jobs: Vec<PostJob>) {
    if jobs.len() == 1 {
        // Alone in the queue: its own transaction.
        return post_each(db, jobs).await;
    }
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
    let answers = match write_jobs(&mut tx, &jobs, Utc::now()).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(movements = jobs.len(), error = ?e, "stock group failed; posting one by one");
            drop(tx);
            return post_each(db, jobs).await;
        }
    };
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

/// Whether an error refuses one movement (and leaves the transaction usable).
fn refused(e: &AppError) -> bool {
    matches!(e, AppError::Validation(_) | AppError::Forbidden | AppError::NotFound)
}

/// Checks and writes a group's movements in the open transaction. Those checked apart from
/// the others ([`checked_apart`], nearly all) are checked first and written together; each of
/// the others is checked and written after everything before it. The outer error means the
/// transaction must be dropped.
async fn write_jobs(tx: &mut Tx, jobs: &[PostJob], now: DateTime<Utc>) -> AppResult<Vec<AppResult<Posted>>> {
    let requests: Vec<&MovementRequest> = jobs.iter().map(|j| &j.request).collect();
    let actors: Vec<&Actor> = jobs.iter().map(|j| &j.actor).collect();
    let look = Lookups::read_ahead(tx, &requests, &actors).await?;
    let mut answers: Vec<Option<AppResult<Posted>>> = jobs.iter().map(|_| None).collect();
    let (apart, after): (Vec<usize>, Vec<usize>) = (0..jobs.len()).partition(|&i| checked_apart(&jobs[i].request));
    let mut items = vec![];
    let mut at = vec![];
    for i in apart {
        match check(tx, &jobs[i].actor, &jobs[i].request, &look).await {
            Ok(checked) => {
                items.push(Item { actor: &jobs[i].actor, checked, idem: job_idem(&jobs[i]) });
                at.push(i);
            }
            Err(e) if refused(&e) => answers[i] = Some(Err(e)),
            Err(e) => return Err(e),
        }
    }
    if !items.is_empty() {
        for (i, a) in at.into_iter().zip(write_all(tx, items, now, &look).await?) {
            answers[i] = Some(a);
        }
    }
    for i in after {
        let j = &jobs[i];
        answers[i] = Some(match check(tx, &j.actor, &j.request, &look).await {
            Ok(checked) => {
                one(write_all(tx, vec![Item { actor: &j.actor, checked, idem: job_idem(j) }], now, &look).await?)
            }
            Err(e) if refused(&e) => Err(e),
            Err(e) => return Err(e),
        });
    }
    Ok(answers.into_iter().map(|a| a.expect("every movement answered")).collect())
}

fn job_idem(j: &PostJob) -> Option<Idem<'_>> {
    j.idem.as_ref().map(|(key, scope)| Idem { key, scope })
}

/// Posts each movement in its own transaction.
async fn post_each(db: &Db, jobs: Vec<PostJob>) {
    for j in jobs {
        let answer = post(db, &j.actor, &j.request, job_idem(&j).as_ref()).await;
        let _ = j.reply.send(answer);
    }
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
