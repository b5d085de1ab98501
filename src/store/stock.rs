//! Stock per location and the movements that change it (R8). A bin is only changed together
//! with the movement that explains it, in the same transaction (service::stock).

use chrono::{DateTime, Utc};
use rules::parts::Bin;
use serde::Serialize;
use sqlx::AssertSqlSafe;

use crate::db::{Backend, Conn};
use crate::{from_row, on_conn};

// ------------------------------------------------------------------ movements

/// A movement about to be written.
#[derive(Debug, Default)]
pub struct NewMovement<'a> {
    pub kind: &'a str,
    pub part_id: i64,
    pub qty: i64,
    pub from_id: Option<i64>,
    pub to_id: Option<i64>,
    pub order_id: Option<i64>,
    pub ref_id: Option<i64>,
    pub serial: Option<&'a str>,
    pub old_serial: Option<&'a str>,
    pub batch: Option<&'a str>,
    pub supplier: Option<&'a str>,
    pub unit_cost_cents: i64,
    pub price_cents: i64,
    pub note: &'a str,
    pub actor_id: Option<i64>,
}

/// A location's levels of one part, as a movement left them.
#[derive(Debug, Clone)]
pub struct Levels {
    pub on_hand: i64,
    pub faulty: i64,
    pub reorder_point: i64,
    pub reorder_qty: i64,
    pub updated_at: DateTime<Utc>,
}

/// A stock row's levels with its keys, as a group of movements reads them.
pub struct KeyedLevels {
    pub warehouse_id: i64,
    pub part_id: i64,
    pub on_hand: i64,
    pub faulty: i64,
    pub reorder_point: i64,
    pub reorder_qty: i64,
    pub updated_at: DateTime<Utc>,
}
from_row!(KeyedLevels { warehouse_id: i64, part_id: i64, on_hand: i64, faulty: i64, reorder_point: i64,
    reorder_qty: i64, updated_at: DateTime<Utc> });

impl KeyedLevels {
    pub fn levels(&self) -> Levels {
        Levels {
            on_hand: self.on_hand,
            faulty: self.faulty,
            reorder_point: self.reorder_point,
            reorder_qty: self.reorder_qty,
            updated_at: self.updated_at,
        }
    }
}

/// The stock rows of these (location, part) pairs that exist. On PostgreSQL they are locked
/// until the transaction ends, in location order (as every movement takes them, so two
/// movements cannot deadlock), and the rows of the pairs in `gaining` are created empty first
/// where missing, so that they are locked too (two receipts into a new row would otherwise
/// both find it empty). SQLite's write transaction holds the whole database already.
pub async fn levels_of(
    mut c: Conn<'_>,
    keys: &[(i64, i64)],
    gaining: &[(i64, i64)],
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<KeyedLevels>> {
    if keys.is_empty() {
        return Ok(vec![]);
    }
    let backend = backend_of(&c);
    if backend == Backend::Postgres && !gaining.is_empty() {
        let sql = format!(
            "INSERT INTO stock (warehouse_id, part_id, on_hand, faulty, updated_at) VALUES {} \
             ON CONFLICT (warehouse_id, part_id) DO NOTHING",
            super::bulk::values(backend, gaining.len(), 2, 2, ", 0, 0, $1")
        );
        on_conn!(&mut c, |e| {
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(now);
            for (w, p) in gaining {
                q = q.bind(w).bind(p);
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }
    let lock = if backend == Backend::Postgres { " FOR UPDATE OF s" } else { "" };
    let sql = format!(
        "SELECT s.warehouse_id, s.part_id, s.on_hand, s.faulty, s.reorder_point, s.reorder_qty, s.updated_at \
         FROM (VALUES {}) AS k JOIN stock s ON s.warehouse_id = k.column1 AND s.part_id = k.column2 \
         ORDER BY s.warehouse_id, s.part_id{lock}",
        super::bulk::values(backend, keys.len(), 2, 1, "")
    );
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        for (w, p) in keys {
            q = q.bind(w).bind(p);
        }
        q.fetch_all(&mut *e).await
    })
}

fn backend_of(c: &Conn<'_>) -> Backend {
    match c {
        Conn::Sqlite(_) => Backend::Sqlite,
        Conn::Pg(_) => Backend::Postgres,
    }
}

/// Ids for `n` new movements, in order. SQLite: after the highest ever given (the caller holds
/// the write transaction, so no one else takes them); PostgreSQL: from the sequence.
pub async fn reserve_movement_ids(c: Conn<'_>, n: usize) -> sqlx::Result<Vec<i64>> {
    match c {
        Conn::Pg(e) => {
            sqlx::query_scalar(
                "SELECT nextval(pg_get_serial_sequence('stock_movements', 'id')) FROM generate_series(1, $1::BIGINT) g \
                 ORDER BY g",
            )
            .bind(n as i64)
            .fetch_all(&mut *e)
            .await
        }
        Conn::Sqlite(e) => {
            let top: i64 = sqlx::query_scalar(
                "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'stock_movements'), 0), \
                 COALESCE((SELECT MAX(id) FROM stock_movements), 0))",
            )
            .fetch_one(&mut *e)
            .await?;
            Ok((top + 1..=top + n as i64).collect())
        }
    }
}

/// What one location's stock of a part changes by in a group (the sum of its movements').
pub struct StockChange {
    pub warehouse_id: i64,
    pub part_id: i64,
    pub on_hand: i64,
    pub faulty: i64,
    /// No row was read for it: it is inserted (or, should one have appeared meanwhile on
    /// PostgreSQL, added to), and only gains.
    pub new_row: bool,
}

/// An order's parts cost and charge added by a group's issues (negative: returned).
pub struct OrderParts {
    pub order_id: i64,
    pub cost_cents: i64,
    pub charge_cents: i64,
}

/// Everything a group of checked movements writes.
pub struct Group<'a> {
    pub changes: &'a [StockChange],
    pub movements: &'a [(i64, NewMovement<'a>)],
    pub orders: &'a [OrderParts],
    pub events: &'a [super::work_orders::NewEvent<'a>],
    pub audit: &'a [super::audit::NewEntry<'a>],
    pub remembered: &'a [super::intake::Remembered<'a>],
}

/// Movements per group at most, so each statement stays within the bound-parameter limits.
pub const MAX_GROUP: usize = 64;

/// Writes a group inside the caller's transaction, one statement per table; on SQLite all of
/// them go as one multi-statement query (one hand-over to the connection's thread). Stock
/// changes are added to the rows (created when missing); a bin taken below zero breaks the
/// table's CHECK and fails the whole write, so the caller checks the levels first. Orders get
/// their parts cost and charge added and their version bumped (a report form opened before
/// the parts were picked must be reloaded). Fails on an idempotency key already stored.
pub async fn write_group(c: Conn<'_>, g: &Group<'_>, now: DateTime<Utc>) -> sqlx::Result<()> {
    assert!(
        g.movements.len() <= MAX_GROUP
            && g.changes.len() <= 2 * MAX_GROUP
            && g.orders.len() <= MAX_GROUP
            && g.events.len() <= MAX_GROUP
            && g.audit.len() <= MAX_GROUP
            && g.remembered.len() <= MAX_GROUP,
        "group too large"
    );
    let backend = backend_of(&c);
    let n = |len: usize, cols: usize| (len > 0).then(|| super::bulk::values(backend, len, cols, 1, ""));
    // A CHECK holds for the row an INSERT proposes before any conflict is found, so rows
    // that lose pieces are updated and only new ones inserted.
    let (added, updated): (Vec<&StockChange>, Vec<&StockChange>) = g.changes.iter().partition(|c| c.new_row);
    let sqls: [Option<String>; 7] = [
        n(updated.len(), 5).map(|v| {
            format!(
                "UPDATE stock SET on_hand = on_hand + v.column3, faulty = faulty + v.column4, updated_at = v.column5 \
                 FROM (VALUES {v}) AS v WHERE stock.warehouse_id = v.column1 AND stock.part_id = v.column2"
            )
        }),
        n(added.len(), 5).map(|v| {
            format!(
                "INSERT INTO stock (warehouse_id, part_id, on_hand, faulty, updated_at) VALUES {v} \
                 ON CONFLICT (warehouse_id, part_id) DO UPDATE SET on_hand = stock.on_hand + excluded.on_hand, \
                 faulty = stock.faulty + excluded.faulty, updated_at = excluded.updated_at"
            )
        }),
        n(g.movements.len(), 17).map(|v| {
            format!(
                "INSERT INTO stock_movements (id, kind, part_id, qty, from_id, to_id, order_id, ref_id, serial, \
                 old_serial, batch, supplier, unit_cost_cents, price_cents, note, actor_id, created_at) VALUES {v}"
            )
        }),
        n(g.orders.len(), 4).map(|v| {
            format!(
                "UPDATE work_orders SET parts_cost_cents = parts_cost_cents + v.column2, \
                 parts_cents = parts_cents + v.column3, version = version + 1, updated_at = v.column4 \
                 FROM (VALUES {v}) AS v WHERE work_orders.id = v.column1"
            )
        }),
        n(g.events.len(), 8)
            .map(|v| format!("INSERT INTO work_order_events ({}) VALUES {v}", super::work_orders::EVENT_COLUMNS)),
        (!g.audit.is_empty()).then(|| super::audit::insert_sql(backend, g.audit.len())),
        (!g.remembered.is_empty()).then(|| super::intake::remembered_sql(backend, g.remembered.len())),
    ];
    // Binds the rows of statement `i` of `sqls`.
    macro_rules! bind {
        ($q:expr, $i:expr) => {{
            let mut q = $q;
            match $i {
                0 | 1 => {
                    for s in if $i == 0 { &updated } else { &added } {
                        q = q.bind(s.warehouse_id).bind(s.part_id).bind(s.on_hand).bind(s.faulty).bind(now);
                    }
                    q
                }
                2 => {
                    for (id, m) in g.movements {
                        q = q
                            .bind(id)
                            .bind(m.kind)
                            .bind(m.part_id)
                            .bind(m.qty)
                            .bind(m.from_id)
                            .bind(m.to_id)
                            .bind(m.order_id)
                            .bind(m.ref_id)
                            .bind(m.serial)
                            .bind(m.old_serial)
                            .bind(m.batch)
                            .bind(m.supplier)
                            .bind(m.unit_cost_cents)
                            .bind(m.price_cents)
                            .bind(m.note)
                            .bind(m.actor_id)
                            .bind(now);
                    }
                    q
                }
                3 => {
                    for o in g.orders {
                        q = q.bind(o.order_id).bind(o.cost_cents).bind(o.charge_cents).bind(now);
                    }
                    q
                }
                4 => {
                    for ev in g.events {
                        q = super::work_orders::bind_event!(q, ev);
                    }
                    q
                }
                5 => super::audit::bind_entries!(q, g.audit),
                _ => super::intake::bind_remembered!(q, g.remembered, now),
            }
        }};
    }
    super::bulk::execute_all!(c, sqls, bind)
}

/// What one bin of a location holds (0 without a row), for a count. On PostgreSQL the row stays
/// locked until the transaction ends, created empty first when missing (so a receipt creating
/// it meanwhile is waited for and seen): the change computed from it is the change made.
pub async fn held(c: Conn<'_>, warehouse_id: i64, part_id: i64, bin: Bin, now: DateTime<Utc>) -> sqlx::Result<i64> {
    let key = [(warehouse_id, part_id)];
    let row = levels_of(c, &key, &key, now).await?.pop();
    Ok(row.map_or(0, |r| match bin {
        Bin::Usable => r.on_hand,
        Bin::Faulty => r.faulty,
    }))
}

/// A movement with the names a page shows.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Movement {
    pub id: i64,
    /// rules::parts::MovementKind code
    pub kind: String,
    pub part_id: i64,
    pub part_no: String,
    pub part_name_zh: String,
    pub part_name_en: String,
    pub qty: i64,
    pub from_id: Option<i64>,
    pub from_name: Option<String>,
    pub to_id: Option<i64>,
    pub to_name: Option<String>,
    pub order_id: Option<i64>,
    pub ref_id: Option<i64>,
    pub serial: Option<String>,
    pub old_serial: Option<String>,
    pub batch: Option<String>,
    pub supplier: Option<String>,
    pub unit_cost_cents: i64,
    pub price_cents: i64,
    pub note: String,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub created_at: DateTime<Utc>,
}
from_row!(Movement { id: i64, kind: String, part_id: i64, part_no: String, part_name_zh: String,
    part_name_en: String, qty: i64, from_id: Option<i64>, from_name: Option<String>, to_id: Option<i64>,
    to_name: Option<String>, order_id: Option<i64>, ref_id: Option<i64>, serial: Option<String>,
    old_serial: Option<String>, batch: Option<String>, supplier: Option<String>, unit_cost_cents: i64,
    price_cents: i64, note: String, actor_id: Option<i64>, actor_name: Option<String>, created_at: DateTime<Utc> });

impl Movement {
    pub fn part_name(&self, locale: &str) -> &str {
        if locale.starts_with("en") && !self.part_name_en.is_empty() { &self.part_name_en } else { &self.part_name_zh }
    }
}

const MOVEMENT_SELECT: &str = "SELECT m.id, m.kind, m.part_id, p.part_no, p.name_zh AS part_name_zh, \
    p.name_en AS part_name_en, m.qty, m.from_id, wf.name AS from_name, m.to_id, wt.name AS to_name, m.order_id, \
    m.ref_id, m.serial, m.old_serial, m.batch, m.supplier, m.unit_cost_cents, m.price_cents, m.note, m.actor_id, \
    u.display_name AS actor_name, m.created_at FROM stock_movements m JOIN parts p ON p.id = m.part_id \
    LEFT JOIN warehouses wf ON wf.id = m.from_id LEFT JOIN warehouses wt ON wt.id = m.to_id \
    LEFT JOIN users u ON u.id = m.actor_id";

pub async fn get_movement(c: Conn<'_>, id: i64) -> sqlx::Result<Option<Movement>> {
    let sql = format!("{MOVEMENT_SELECT} WHERE m.id = $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

/// Which movements a history lists, newest first.
#[derive(Debug, Default, Clone)]
pub struct MovementFilter {
    /// In or out of this location.
    pub warehouse_id: Option<i64>,
    pub part_id: Option<i64>,
    pub order_id: Option<i64>,
    pub kind: Option<String>,
    pub before_id: Option<i64>,
    pub limit: i64,
}

pub async fn movements(c: Conn<'_>, f: &MovementFilter) -> sqlx::Result<Vec<Movement>> {
    // Each filter reads its own index newest first.
    let mut conds: Vec<String> = vec![];
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    let (mut p, mut o, mut k, mut b) = (None, None, None, None);
    let w = f.warehouse_id;
    let at = w.map(|_| next());
    if f.part_id.is_some() {
        conds.push(format!("part_id = {}", next()));
        p = f.part_id;
    }
    if f.order_id.is_some() {
        conds.push(format!("order_id = {}", next()));
        o = f.order_id;
    }
    if f.kind.is_some() {
        conds.push(format!("kind = {}", next()));
        k = f.kind.clone();
    }
    if f.before_id.is_some() {
        conds.push(format!("id < {}", next()));
        b = f.before_id;
    }
    let limit = next();
    let wh = match &at {
        // A location's history is its outs and its ins. Each side walks its index newest first
        // with every other filter and stops at a page; the page is the newest of the two. (As
        // `id IN (outs UNION ALL ins)` it read every movement the location ever had before
        // sorting: a regional warehouse's transfers at 5 M movements took 0.5 s.)
        // A kind that never names a location on one side skips that side's walk (an issue has
        // no destination: looking for a van's issues among its 20,000 arrivals took 30 ms).
        Some(a) => {
            use rules::parts::{MovementKind, Need};
            let extra: String = conds.iter().map(|c| format!(" AND {c}")).collect();
            let shape = f.kind.as_deref().and_then(MovementKind::parse).map(MovementKind::shape);
            let sides: Vec<String> = [("from_id", shape.map(|s| s.from)), ("to_id", shape.map(|s| s.to))]
                .into_iter()
                .filter(|(_, need)| *need != Some(Need::Forbidden))
                .map(|(col, _)| {
                    format!(
                        "SELECT id FROM (SELECT id FROM stock_movements WHERE {col} = {a}{extra} \
                         ORDER BY id DESC LIMIT {limit}) AS side"
                    )
                })
                .collect();
            format!(" WHERE m.id IN ({})", sides.join(" UNION ALL "))
        }
        None if conds.is_empty() => String::new(),
        None => format!(" WHERE {}", conds.iter().map(|c| format!("m.{c}")).collect::<Vec<_>>().join(" AND ")),
    };
    let sql = format!("{MOVEMENT_SELECT}{wh} ORDER BY m.id DESC LIMIT {limit}");
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        if let Some(v) = w {
            q = q.bind(v);
        }
        if let Some(v) = p {
            q = q.bind(v);
        }
        if let Some(v) = o {
            q = q.bind(v);
        }
        if let Some(v) = k.clone() {
            q = q.bind(v);
        }
        if let Some(v) = b {
            q = q.bind(v);
        }
        q.bind(f.limit).fetch_all(&mut *e).await
    })
}

/// The pieces already moved back against an earlier movement (returns of an issue, wrong-part
/// returns of a pick).
pub async fn returned(c: Conn<'_>, ref_id: i64, kinds: &[&str]) -> sqlx::Result<i64> {
    let list = kinds.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(qty), 0) AS BIGINT) FROM stock_movements WHERE ref_id = $1 AND kind IN ({list})"
    );
    let v: i64 = on_conn!(c, |e| sqlx::query_scalar(AssertSqlSafe(sql)).bind(ref_id).fetch_one(&mut *e).await)?;
    Ok(v)
}

// ------------------------------------------------------------------ stock

/// A part held at a location.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct StockRow {
    pub warehouse_id: i64,
    pub warehouse_code: String,
    pub warehouse_name: String,
    pub part_id: i64,
    pub part_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub key_part: bool,
    pub serial_tracked: bool,
    pub on_hand: i64,
    pub faulty: i64,
    pub reorder_point: i64,
    pub reorder_qty: i64,
    pub unit_cost_cents: i64,
    pub updated_at: DateTime<Utc>,
}
from_row!(StockRow { warehouse_id: i64, warehouse_code: String, warehouse_name: String, part_id: i64,
    part_no: String, name_zh: String, name_en: String, key_part: bool, serial_tracked: bool, on_hand: i64,
    faulty: i64, reorder_point: i64, reorder_qty: i64, unit_cost_cents: i64, updated_at: DateTime<Utc> });

impl StockRow {
    pub fn name(&self, locale: &str) -> &str {
        if locale.starts_with("en") && !self.name_en.is_empty() { &self.name_en } else { &self.name_zh }
    }
    /// How many to order, if at or below the reorder point (rules::parts::reorder).
    pub fn reorder(&self) -> Option<i64> {
        rules::parts::reorder(self.on_hand, self.reorder_point, self.reorder_qty)
    }
}

const STOCK_SELECT: &str = "SELECT s.warehouse_id, w.code AS warehouse_code, w.name AS warehouse_name, s.part_id, \
    p.part_no, p.name_zh, p.name_en, p.key_part, p.serial_tracked, s.on_hand, s.faulty, s.reorder_point, \
    s.reorder_qty, p.unit_cost_cents, s.updated_at FROM stock s JOIN warehouses w ON w.id = s.warehouse_id \
    JOIN parts p ON p.id = s.part_id";

/// A location's stock by part number, a page at a time (keyset on part_no).
#[derive(Debug, Default, Clone)]
pub struct StockFilter {
    pub warehouse_id: i64,
    /// Part number prefix or name fragment.
    pub q: Option<String>,
    /// Only rows holding something (usable or faulty).
    pub held_only: bool,
    pub after_part_no: Option<String>,
    pub limit: i64,
}

/// A page of a location's stock with the location's totals, in two statements.
pub async fn stock_page(mut c: Conn<'_>, f: &StockFilter) -> sqlx::Result<(Vec<StockRow>, StockTotals)> {
    let (totals, parts) = totals_and_catalogue(c.reborrow(), f.warehouse_id).await?;
    let rows = stock_of(c, f, totals.lines, parts).await?;
    Ok((rows, totals))
}

/// `lines` held at the location and `parts` in the catalogue (its highest id) pick the plan.
async fn stock_of(mut c: Conn<'_>, f: &StockFilter, lines: i64, parts: i64) -> sqlx::Result<Vec<StockRow>> {
    let q = f.q.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| {
        let esc = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        (format!("{esc}%"), format!("%{esc}%"))
    });
    // A page of a location holding a good share of the catalogue (a central warehouse holds
    // most of it) is found fastest by walking the parts in part-number order and looking up each
    // one's stock row: a page of 50 costs about 50 × (parts ÷ lines held) lookups. Reading all
    // the location's rows and sorting them cost 2 ms at 7,000 lines on SQLite, 20× the walk. A
    // sparse location (a van holding a few hundred of 10,000 parts) is still read and sorted,
    // and so is a search, which a walk could take through the whole catalogue to fill a page.
    // (CROSS JOIN fixes the order of the loops on SQLite; PostgreSQL plans either text alike.)
    let walk = q.is_none() && lines * 20 >= parts;
    let mut sql = if walk {
        STOCK_SELECT.replace(
            "FROM stock s JOIN warehouses w ON w.id = s.warehouse_id JOIN parts p ON p.id = s.part_id",
            "FROM parts p CROSS JOIN stock s JOIN warehouses w ON w.id = s.warehouse_id WHERE s.part_id = p.id \
             AND s.warehouse_id = $1",
        )
    } else {
        format!("{STOCK_SELECT} WHERE s.warehouse_id = $1")
    };
    if f.held_only {
        sql.push_str(" AND (s.on_hand > 0 OR s.faulty > 0)");
    }
    if q.is_some() {
        sql.push_str(
            " AND (p.part_no LIKE $2 ESCAPE '\\' OR p.name_zh LIKE $3 ESCAPE '\\' OR p.name_en LIKE $3 ESCAPE '\\')",
        );
    } else {
        sql.push_str(" AND CAST($2 AS TEXT) IS NULL AND CAST($3 AS TEXT) IS NULL");
    }
    // The cursor as a plain range when there is one, so a walk starts where the last page ended.
    sql.push_str(if f.after_part_no.is_some() { " AND p.part_no > $4" } else { " AND CAST($4 AS TEXT) IS NULL" });
    sql.push_str(" ORDER BY p.part_no LIMIT $5");
    let (prefix, contains) = q.unzip();
    on_conn!(&mut c, |e| {
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(f.warehouse_id)
            .bind(prefix.clone())
            .bind(contains.clone())
            .bind(f.after_part_no.clone())
            .bind(f.limit)
            .fetch_all(&mut **e)
            .await
    })
}

/// Totals of a location: lines held, pieces, faulty pieces, value at cost, lines to reorder.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StockTotals {
    pub lines: i64,
    pub pieces: i64,
    pub faulty: i64,
    pub value_cents: i64,
    pub low: i64,
}
from_row!(StockTotals { lines: i64, pieces: i64, faulty: i64, value_cents: i64, low: i64 });

/// The location's totals as the triggers of migration 0021 keep them (one row), and the
/// catalogue's highest part id.
async fn totals_and_catalogue(c: Conn<'_>, warehouse_id: i64) -> sqlx::Result<(StockTotals, i64)> {
    #[derive(Clone, Debug)]
    struct Row {
        lines: i64,
        pieces: i64,
        faulty: i64,
        value_cents: i64,
        low: i64,
        parts: i64,
    }
    from_row!(Row { lines: i64, pieces: i64, faulty: i64, value_cents: i64, low: i64, parts: i64 });
    let r: Row = on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT COALESCE(t.lines, 0) AS lines, COALESCE(t.pieces, 0) AS pieces, COALESCE(t.faulty, 0) AS faulty, \
             COALESCE(t.value_cents, 0) AS value_cents, COALESCE(t.low, 0) AS low, \
             COALESCE((SELECT MAX(id) FROM parts), 0) AS parts \
             FROM (SELECT 1 AS one) x LEFT JOIN stock_totals t ON t.warehouse_id = $1",
        )
        .bind(warehouse_id)
        .fetch_one(&mut *e)
        .await
    })?;
    let totals =
        StockTotals { lines: r.lines, pieces: r.pieces, faulty: r.faulty, value_cents: r.value_cents, low: r.low };
    Ok((totals, r.parts))
}

const RECOUNT: &str = "SELECT s.warehouse_id, \
     CAST(COALESCE(SUM(CASE WHEN s.on_hand > 0 OR s.faulty > 0 OR s.reorder_point > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS lines, \
     CAST(COALESCE(SUM(s.on_hand), 0) AS BIGINT) AS pieces, CAST(COALESCE(SUM(s.faulty), 0) AS BIGINT) AS faulty, \
     CAST(COALESCE(SUM(s.on_hand * p.unit_cost_cents), 0) AS BIGINT) AS value_cents, \
     CAST(COALESCE(SUM(CASE WHEN s.reorder_point > 0 AND s.on_hand <= s.reorder_point THEN 1 ELSE 0 END), 0) AS BIGINT) AS low \
     FROM stock s JOIN parts p ON p.id = s.part_id GROUP BY s.warehouse_id";

/// Locations whose kept totals differ from their stock rows summed again: (location, kept,
/// recounted). Empty when the triggers kept them right — the ledger check's second half.
pub async fn totals_mismatches(c: Conn<'_>) -> sqlx::Result<Vec<(i64, StockTotals, StockTotals)>> {
    #[derive(Clone, Debug)]
    struct Row {
        warehouse_id: i64,
        lines: i64,
        pieces: i64,
        faulty: i64,
        value_cents: i64,
        low: i64,
    }
    from_row!(Row { warehouse_id: i64, lines: i64, pieces: i64, faulty: i64, value_cents: i64, low: i64 });
    let totals = |r: &Row| StockTotals {
        lines: r.lines,
        pieces: r.pieces,
        faulty: r.faulty,
        value_cents: r.value_cents,
        low: r.low,
    };
    let kept_sql = "SELECT warehouse_id, lines, pieces, faulty, value_cents, low FROM stock_totals";
    let (kept, counted): (Vec<Row>, Vec<Row>) = on_conn!(c, |e| {
        let kept = sqlx::query_as(kept_sql).fetch_all(&mut *e).await?;
        let counted = sqlx::query_as(RECOUNT).fetch_all(&mut *e).await?;
        Ok::<_, sqlx::Error>((kept, counted))
    })?;
    let mut off = vec![];
    for k in &kept {
        let c = counted.iter().find(|c| c.warehouse_id == k.warehouse_id).map(totals).unwrap_or_default();
        if totals(k) != c {
            off.push((k.warehouse_id, totals(k), c));
        }
    }
    Ok(off)
}

/// Every (location, part, usable, faulty) and the same sums recomputed from the movements,
/// where they differ: the ledger check (empty when stock equals the sum of its movements).
/// Stock rows look their sums up by key, then sums without a stock row are added: as a FULL
/// OUTER JOIN, SQLite compared every row with every sum (over 13 minutes at 5 M movements).
pub async fn ledger_mismatches(c: Conn<'_>) -> sqlx::Result<Vec<(i64, i64, i64, i64, i64, i64)>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "WITH eff AS ( \
               SELECT to_id AS w, part_id, \
                 CASE WHEN kind = 'return_faulty' THEN 0 ELSE qty END AS u, \
                 CASE WHEN kind = 'return_faulty' THEN qty ELSE 0 END AS f \
               FROM stock_movements WHERE to_id IS NOT NULL \
               UNION ALL \
               SELECT from_id, part_id, \
                 CASE WHEN kind = 'dispose_faulty' THEN 0 ELSE -qty END, \
                 CASE WHEN kind = 'dispose_faulty' THEN -qty ELSE 0 END \
               FROM stock_movements WHERE from_id IS NOT NULL), \
             sums AS (SELECT w, part_id, CAST(SUM(u) AS BIGINT) AS u, CAST(SUM(f) AS BIGINT) AS f FROM eff GROUP BY w, part_id) \
             SELECT s.warehouse_id, s.part_id, s.on_hand, s.faulty, COALESCE(x.u, 0), COALESCE(x.f, 0) \
             FROM stock s LEFT JOIN sums x ON x.w = s.warehouse_id AND x.part_id = s.part_id \
             WHERE s.on_hand <> COALESCE(x.u, 0) OR s.faulty <> COALESCE(x.f, 0) \
             UNION ALL \
             SELECT x.w, x.part_id, 0, 0, x.u, x.f FROM sums x WHERE (x.u <> 0 OR x.f <> 0) \
             AND NOT EXISTS (SELECT 1 FROM stock s WHERE s.warehouse_id = x.w AND s.part_id = x.part_id)",
        )
        .fetch_all(&mut *e)
        .await
    })
}

// ------------------------------------------------------------------ reports

/// `YYYY-MM` of a timestamp column in company time (Asia/Shanghai, no daylight saving).
fn month_of(c: &Conn<'_>, col: &str) -> String {
    match c {
        Conn::Sqlite(_) => format!("strftime('%Y-%m', {col}, '+8 hours')"),
        Conn::Pg(_) => format!("to_char({col} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"),
    }
}

/// Picks (transfers and issues) per location and month in `[from, to)`, and how many of them
/// came back as wrong parts.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PickCount {
    pub warehouse_id: i64,
    pub month: String,
    pub picks: i64,
    pub wrong: i64,
}
from_row!(PickCount { warehouse_id: i64, month: String, picks: i64, wrong: i64 });

pub async fn pick_counts(c: Conn<'_>, from: DateTime<Utc>, to: DateTime<Utc>) -> sqlx::Result<Vec<PickCount>> {
    let month = month_of(&c, "p.created_at");
    let sql = format!(
        "SELECT p.from_id AS warehouse_id, {month} AS month, COUNT(*) AS picks, \
         CAST(COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM stock_movements w WHERE w.ref_id = p.id \
         AND w.kind = 'return_wrong') THEN 1 ELSE 0 END), 0) AS BIGINT) AS wrong \
         FROM stock_movements p WHERE p.kind IN ('transfer', 'issue') AND p.created_at >= $1 AND p.created_at < $2 \
         AND p.from_id IS NOT NULL GROUP BY p.from_id, {month} ORDER BY 2, 1"
    );
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(from).bind(to).fetch_all(&mut *e).await)
}

/// Faulty pieces returned in `[from, to)` grouped by part, month, the model of the order's
/// unit, batch and supplier: the raw counts of key-part failure monitoring.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FailureCount {
    pub part_id: i64,
    pub month: String,
    pub model_code: Option<String>,
    pub batch: Option<String>,
    pub supplier: Option<String>,
    pub failures: i64,
}
from_row!(FailureCount { part_id: i64, month: String, model_code: Option<String>, batch: Option<String>,
    supplier: Option<String>, failures: i64 });

pub async fn failure_counts(
    c: Conn<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    key_only: bool,
) -> sqlx::Result<Vec<FailureCount>> {
    let month = month_of(&c, "m.created_at");
    let key = if key_only { " AND p.key_part" } else { "" };
    let sql = format!(
        "SELECT m.part_id, {month} AS month, pm.code AS model_code, m.batch, m.supplier, CAST(SUM(m.qty) AS BIGINT) AS failures \
         FROM stock_movements m JOIN parts p ON p.id = m.part_id \
         LEFT JOIN work_orders o ON o.id = m.order_id LEFT JOIN units u ON u.id = o.unit_id \
         LEFT JOIN product_models pm ON pm.id = u.model_id \
         WHERE m.kind = 'return_faulty' AND m.created_at >= $1 AND m.created_at < $2{key} \
         GROUP BY m.part_id, {month}, pm.code, m.batch, m.supplier"
    );
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(from).bind(to).fetch_all(&mut *e).await)
}

/// A month in which a key part failed above its normal rate.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PartAlert {
    pub id: i64,
    pub part_id: i64,
    pub part_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub month: String,
    pub failures: i64,
    pub baseline: f64,
    pub rule: String,
    /// open | acknowledged | closed
    pub status: String,
    pub note: String,
    pub closed_by: Option<i64>,
    pub closed_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}
from_row!(PartAlert { id: i64, part_id: i64, part_no: String, name_zh: String, name_en: String, month: String,
    failures: i64, baseline: f64, rule: String, status: String, note: String, closed_by: Option<i64>,
    closed_at: Option<DateTime<Utc>>, version: i64, created_at: DateTime<Utc> });

const ALERT_SELECT: &str = "SELECT a.id, a.part_id, p.part_no, p.name_zh, p.name_en, a.month, a.failures, \
    a.baseline, a.rule, a.status, a.note, a.closed_by, a.closed_at, a.version, a.created_at \
    FROM part_alerts a JOIN parts p ON p.id = a.part_id";

/// Records an alert once per part and month; false when another pass (or instance) did.
pub async fn insert_alert(
    c: Conn<'_>,
    part_id: i64,
    month: &str,
    failures: i64,
    baseline: f64,
    rule: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "INSERT INTO part_alerts (part_id, month, failures, baseline, rule, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (part_id, month) DO NOTHING",
        )
        .bind(part_id)
        .bind(month)
        .bind(failures)
        .bind(baseline)
        .bind(rule)
        .bind(now)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

pub async fn alerts(c: Conn<'_>, open_only: bool, limit: i64) -> sqlx::Result<Vec<PartAlert>> {
    let wh = if open_only { " WHERE a.status <> 'closed'" } else { "" };
    let sql = format!("{ALERT_SELECT}{wh} ORDER BY a.id DESC LIMIT $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(limit).fetch_all(&mut *e).await)
}

pub async fn get_alert(c: Conn<'_>, id: i64) -> sqlx::Result<Option<PartAlert>> {
    let sql = format!("{ALERT_SELECT} WHERE a.id = $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

/// Moves an alert on over its version; false when it changed meanwhile.
pub async fn update_alert(
    c: Conn<'_>,
    id: i64,
    version: i64,
    status: &str,
    note: &str,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE part_alerts SET status = $1, note = $2, closed_by = $3, closed_at = $4, version = version + 1 \
             WHERE id = $5 AND version = $6",
        )
        .bind(status)
        .bind(note)
        .bind(by)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}
