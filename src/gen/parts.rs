//! Synthetic spare parts (R8): a catalogue of parts fitting the generated product models, the
//! stock locations (a few central warehouses, one regional warehouse per region, the rest
//! engineers' vans) and two years of stock movements.
//!
//! The movements come from a simulation of the stock, one movement after another: engineers
//! issue parts from their vans to work orders (the part fits the order's product); a van short
//! of the part is restocked from its regional warehouse, a regional warehouse from its central
//! one, and a central warehouse receives a delivery from the part's supplier first. After an
//! issue the faulty piece taken out of the product often comes back into the van's faulty bin
//! (with its batch and supplier, and its serial when the part is tracked), an unused piece
//! sometimes does, and now and then a picked piece turns out to be the wrong one; faulty pieces
//! are disposed of, damaged ones scrapped, and counts adjusted. No bin ever goes below zero, so
//! the stock written at the end equals the sum of the movements.
//!
//! The simulation runs on one thread (each movement depends on the stock the ones before left),
//! handing batches of movements to the writer as it goes; it follows from the seed alone.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::Rng;
use crate::store::bulk::{NewPart, NewStock, NewStockMovement, NewWarehouse, OrderPartsFact};

/// Movements handed to the writer at a time.
pub const MOVEMENT_BATCH: usize = 50_000;
/// Two years of history, as the generated orders have.
const SPAN_DAYS: i64 = 730;

/// (code, 中文, English, categories it fits, key part, serial-tracked, cost range ¥, weight)
type Component = (&'static str, &'static str, &'static str, &'static [&'static str], bool, bool, (u64, u64), u64);

const AC: &[&str] = &["air_conditioner"];
const AC_CMP: &[&str] = &["air_conditioner", "compressor"];
const AC_FAN: &[&str] = &["air_conditioner", "fan"];
const CMP: &[&str] = &["compressor"];
const EV: &[&str] = &["vehicle"];
const FAN: &[&str] = &["fan"];
const ALL: &[&str] = &["air_conditioner", "compressor", "vehicle", "fan"];
const MOTORS: &[&str] = &["air_conditioner", "compressor", "fan"];

/// Common consumables weigh most; key parts (motors, controllers, compressors, batteries,
/// bearings, rotors) come to about a tenth of the catalogue.
const COMPONENTS: &[Component] = &[
    ("CMP", "压缩机", "Compressor", AC_CMP, true, true, (800, 6000), 3),
    ("PCB", "主控板", "Main control board", ALL, true, true, (150, 1200), 3),
    ("FMO", "室外风机电机", "Outdoor fan motor", MOTORS, true, false, (120, 600), 2),
    ("BRG", "轴承", "Bearing", &["compressor", "fan", "vehicle"], true, false, (30, 800), 2),
    ("EDM", "驱动电机", "Drive motor", EV, true, true, (5000, 20000), 1),
    ("BAT", "动力电池模组", "Battery module", EV, true, true, (3000, 15000), 1),
    ("MCU", "电机控制器", "Motor controller", EV, true, true, (2000, 8000), 1),
    ("ROT", "螺杆转子", "Screw rotor", CMP, true, true, (8000, 40000), 1),
    ("IFM", "室内风机电机", "Indoor fan motor", AC, false, false, (100, 500), 6),
    ("FWV", "四通阀", "Four-way valve", AC, false, false, (60, 300), 6),
    ("EXV", "电子膨胀阀", "Electronic expansion valve", AC_CMP, false, false, (80, 450), 6),
    ("TSN", "温度传感器", "Temperature sensor", ALL, false, false, (8, 40), 10),
    ("PSN", "压力传感器", "Pressure sensor", AC_CMP, false, false, (80, 400), 6),
    ("CAP", "启动电容", "Start capacitor", MOTORS, false, false, (5, 30), 10),
    ("RMC", "遥控器", "Remote control", AC_FAN, false, false, (15, 60), 8),
    ("FLT", "过滤网", "Air filter", AC_FAN, false, false, (10, 50), 10),
    ("DPM", "排水泵", "Drain pump", AC, false, false, (60, 200), 5),
    ("DSP", "显示板", "Display board", ALL, false, false, (40, 260), 8),
    ("RLY", "继电器", "Relay", ALL, false, false, (6, 45), 8),
    ("SEL", "密封圈", "Seal ring", ALL, false, false, (2, 20), 10),
    ("CND", "冷凝器", "Condenser", AC_CMP, false, false, (500, 4000), 4),
    ("EVP", "蒸发器", "Evaporator", AC_CMP, false, false, (400, 3500), 4),
    ("BRK", "刹车片", "Brake pads", EV, false, false, (150, 600), 6),
    ("CHG", "充电枪", "Charging gun", EV, false, false, (400, 1500), 4),
    ("WPR", "雨刮片", "Wiper blade", EV, false, false, (30, 120), 6),
    ("LVB", "12V蓄电池", "12 V battery", EV, false, false, (300, 900), 4),
    ("BLD", "扇叶", "Fan blade", AC_FAN, false, false, (10, 80), 8),
    ("OSC", "摆头电机", "Oscillation motor", FAN, false, false, (20, 60), 5),
    ("CRD", "电源线", "Power cord", AC_FAN, false, false, (10, 40), 6),
    ("OSP", "油分离器", "Oil separator", CMP, false, false, (1500, 6000), 3),
];

/// Suppliers: (name, short code used in batch numbers).
const SUPPLIERS: &[(&str, &str)] = &[
    ("华东电机厂", "HDDJ"),
    ("苏州精密电子有限公司", "SZJM"),
    ("宁波恒力阀门有限公司", "NBHL"),
    ("广东粤顺压缩机有限公司", "GDYS"),
    ("深圳联创电子科技有限公司", "SZLC"),
    ("天津北方轴承厂", "TJBF"),
    ("常州动力电池有限公司", "CZDL"),
    ("重庆渝安汽车零部件有限公司", "CQYA"),
    ("佛山顺德塑料制品厂", "FSSD"),
    ("青岛海川传感器有限公司", "QDHC"),
    ("杭州中泰密封件有限公司", "HZZT"),
    ("无锡锡能热交换器有限公司", "WXXN"),
];

/// A product model parts can fit: (id, code, category).
pub type PartModel = (i64, &'static str, &'static str);

/// A van's engineer: (user id, name, region).
pub type VanEngineer = (i64, String, Option<String>);

pub struct PartsPlan {
    pub seed: u64,
    pub first_part_id: i64,
    pub parts: u64,
    pub first_warehouse_id: i64,
    pub warehouses: u64,
    pub first_movement_id: i64,
    pub movements: u64,
    pub now: DateTime<Utc>,
    pub models: Vec<PartModel>,
    /// Region codes with their names (zh), for regional warehouses.
    pub regions: Vec<(String, String)>,
    /// Engineers who get a van, in order (as many as there are vans, or fewer).
    pub engineers: Vec<VanEngineer>,
    /// Orders parts can be issued to, oldest first.
    pub orders: Arc<Vec<OrderPartsFact>>,
    /// Who books receipts and the warehouses' transfers.
    pub warehouse_user: Option<i64>,
}

/// The catalogue as the simulation needs it.
struct SimPart {
    id: i64,
    component: usize,
    serial_tracked: bool,
    cost: i64,
    price: i64,
    supplier: usize,
    /// A second source for some parts (batches of faulty pieces name either).
    alt_supplier: Option<usize>,
}

impl PartsPlan {
    /// The catalogue: part numbers `CODE-NNNNNN` after the part's id, names in both languages
    /// naming the first model the part fits.
    pub fn catalogue(&self) -> Vec<NewPart> {
        let mut rng = Rng::for_batch(self.seed, 20, 0);
        let total: u64 = COMPONENTS.iter().map(|c| c.7).sum();
        (0..self.parts as i64)
            .map(|k| {
                let id = self.first_part_id + k;
                let ci = self.component(&mut rng, total);
                let (code, zh, en, cats, key, tracked, (lo, hi), _) = COMPONENTS[ci];
                let fitting: Vec<&PartModel> = self.models.iter().filter(|m| cats.contains(&m.2)).collect();
                let mut models: Vec<i64> = vec![];
                let mut first = None;
                for _ in 0..rng.range(1, 3) {
                    if fitting.is_empty() {
                        break;
                    }
                    let m = *rng.pick(&fitting);
                    if !models.contains(&m.0) {
                        models.push(m.0);
                        first.get_or_insert(m.1);
                    }
                }
                let variant =
                    format!("{}{}", ["A", "B", "C", "D", "E", "F", "G", "H"][rng.below(8) as usize], rng.range(1, 99));
                let (name_zh, name_en) = match first {
                    Some(m) => (format!("{zh} {variant}（{m} 用）"), format!("{en} {variant} for {m}")),
                    None => (format!("{zh} {variant}"), format!("{en} {variant}")),
                };
                let cost = rng.range(lo, hi) as i64 * 100 + rng.below(100) as i64;
                // Key parts a little more often tracked than their kind says, a few others too.
                let serial_tracked = tracked || (key && rng.percent(30)) || rng.percent(2);
                NewPart {
                    id,
                    part_no: format!("{code}-{id:06}"),
                    name_zh,
                    name_en,
                    key_part: key,
                    serial_tracked,
                    unit_cost_cents: cost,
                    price_cents: cost * rng.range(130, 180) as i64 / 100,
                    supplier: SUPPLIERS[self.supplier_of(ci, id, 0)].0,
                    models,
                }
            })
            .collect()
    }

    fn component(&self, rng: &mut Rng, total: u64) -> usize {
        let mut n = rng.below(total);
        for (i, c) in COMPONENTS.iter().enumerate() {
            if n < c.7 {
                return i;
            }
            n -= c.7;
        }
        COMPONENTS.len() - 1
    }

    /// A part's supplier (which = 0) or second source (1), fixed by its kind and id.
    fn supplier_of(&self, component: usize, id: i64, which: usize) -> usize {
        (component * 7 + id as usize * (1 + which * 4) + which * 5) % SUPPLIERS.len()
    }

    /// The locations: central warehouses (one for every 40 locations, at most three), one
    /// regional warehouse per region while there is room, and the rest vans, one per engineer
    /// given (vans beyond them have no engineer).
    pub fn warehouses(&self) -> Vec<NewWarehouse> {
        let w = self.warehouses as usize;
        let centrals = (w / 40).clamp(1, 3).min(w);
        let regionals = self.regions.len().min(w.saturating_sub(centrals + 1));
        let cities = ["上海", "北京", "广州"];
        let mut out = vec![];
        let mut id = self.first_warehouse_id;
        for zh in cities.iter().take(centrals) {
            out.push(NewWarehouse {
                id,
                code: format!("C{id:03}"),
                name: format!("{zh}中心仓"),
                kind: "central",
                region_code: None,
                engineer_id: None,
            });
            id += 1;
        }
        for (code, name) in self.regions.iter().take(regionals) {
            out.push(NewWarehouse {
                id,
                code: format!("R{id:03}"),
                name: format!("{}仓库", name.trim_end_matches('区')),
                kind: "regional",
                region_code: Some(code.clone()),
                engineer_id: None,
            });
            id += 1;
        }
        for k in 0..w - centrals - regionals {
            let eng = self.engineers.get(k);
            out.push(NewWarehouse {
                id,
                code: format!("V{id:04}"),
                name: match eng {
                    Some((_, name, _)) => format!("车载库-{name}"),
                    None => format!("车载库{id:04}"),
                },
                kind: "van",
                region_code: eng
                    .and_then(|e| e.2.clone())
                    .or_else(|| (!self.regions.is_empty()).then(|| self.regions[k % self.regions.len()].0.clone())),
                engineer_id: eng.map(|e| e.0),
            });
            id += 1;
        }
        out
    }

    /// Runs the simulation: hands each batch of movements to `emit` and returns the stock it
    /// left (every location and part a movement touched).
    pub fn simulate(
        &self,
        parts: &[NewPart],
        warehouses: &[NewWarehouse],
        mut emit: impl FnMut(Vec<NewStockMovement>) -> bool,
    ) -> Vec<NewStock> {
        let mut sim = Sim::new(self, parts, warehouses);
        let mut batch = Vec::with_capacity(MOVEMENT_BATCH);
        // Near the end a step may find nothing it has room for; give up after many such.
        let mut idle = 0;
        while sim.next_id < self.first_movement_id + self.movements as i64 && idle < 100_000 {
            let before = sim.next_id;
            sim.step(&mut batch);
            idle = if sim.next_id == before { idle + 1 } else { 0 };
            if batch.len() >= MOVEMENT_BATCH && !emit(std::mem::replace(&mut batch, Vec::with_capacity(MOVEMENT_BATCH)))
            {
                return vec![];
            }
        }
        if !batch.is_empty() && !emit(batch) {
            return vec![];
        }
        sim.stock()
    }
}

/// One location's and one part's bins, and when they last changed.
#[derive(Clone, Copy, Default)]
struct Cell {
    usable: i64,
    faulty: i64,
    at: Option<DateTime<Utc>>,
}

struct Sim<'a> {
    plan: &'a PartsPlan,
    rng: Rng,
    parts: Vec<SimPart>,
    /// Part indices fitting each model, most used first (the catalogue's order is random).
    by_model: HashMap<i64, Vec<usize>>,
    wh_ids: Vec<i64>,
    centrals: Vec<usize>,
    regionals: Vec<usize>,
    vans: Vec<usize>,
    is_van: Vec<bool>,
    /// Where each location is restocked from (None: receives from suppliers).
    source: Vec<Option<usize>>,
    /// A van's engineer.
    engineer: Vec<Option<i64>>,
    van_of: HashMap<i64, usize>,
    /// (location × part) → bins.
    cells: Vec<Cell>,
    /// Parts each location has held, to pick from for scrap and counts.
    held: Vec<Vec<usize>>,
    /// (location, part) cells holding faulty pieces.
    faulty: Vec<(usize, usize)>,
    next_id: i64,
    /// Serial numbers handed out.
    serials: u64,
    start: DateTime<Utc>,
    step_secs: f64,
}

impl<'a> Sim<'a> {
    fn new(plan: &'a PartsPlan, parts: &[NewPart], warehouses: &[NewWarehouse]) -> Sim<'a> {
        let mut rng = Rng::for_batch(plan.seed, 21, 0);
        let sim_parts: Vec<SimPart> = parts
            .iter()
            .map(|p| {
                let component = COMPONENTS.iter().position(|c| p.part_no.starts_with(c.0)).unwrap_or(0);
                SimPart {
                    id: p.id,
                    component,
                    serial_tracked: p.serial_tracked,
                    cost: p.unit_cost_cents,
                    price: p.price_cents,
                    supplier: plan.supplier_of(component, p.id, 0),
                    alt_supplier: rng.percent(30).then(|| plan.supplier_of(component, p.id, 1)),
                }
            })
            .collect();
        let mut by_model: HashMap<i64, Vec<usize>> = HashMap::new();
        for (i, p) in parts.iter().enumerate() {
            for m in &p.models {
                by_model.entry(*m).or_default().push(i);
            }
        }
        let kind_of = |k: &str| warehouses.iter().enumerate().filter(|(_, w)| w.kind == k).map(|(i, _)| i).collect();
        let centrals: Vec<usize> = kind_of("central");
        let regionals: Vec<usize> = kind_of("regional");
        let vans: Vec<usize> = kind_of("van");
        let mut source = vec![None; warehouses.len()];
        for (k, &r) in regionals.iter().enumerate() {
            source[r] = centrals.get(k % centrals.len().max(1)).copied();
        }
        for &v in &vans {
            let region = warehouses[v].region_code.as_deref();
            let regional = regionals.iter().copied().find(|&r| warehouses[r].region_code.as_deref() == region);
            source[v] = regional.or_else(|| regionals.first().copied()).or_else(|| centrals.first().copied());
        }
        let van_of = vans.iter().filter_map(|&v| warehouses[v].engineer_id.map(|e| (e, v))).collect();
        let start = plan.now - Duration::days(SPAN_DAYS);
        Sim {
            plan,
            rng,
            parts: sim_parts,
            by_model,
            wh_ids: warehouses.iter().map(|w| w.id).collect(),
            centrals,
            regionals,
            is_van: (0..warehouses.len()).map(|w| vans.contains(&w)).collect(),
            vans,
            source,
            engineer: warehouses.iter().map(|w| w.engineer_id).collect(),
            van_of,
            cells: vec![Cell::default(); warehouses.len() * parts.len()],
            held: vec![vec![]; warehouses.len()],
            faulty: vec![],
            next_id: plan.first_movement_id,
            serials: 0,
            start,
            step_secs: (SPAN_DAYS * 86_400) as f64 / plan.movements.max(1) as f64,
        }
    }

    fn cell(&mut self, w: usize, p: usize) -> &mut Cell {
        &mut self.cells[w * self.parts.len() + p]
    }

    /// The time of the next movement: the two years spread evenly over the movements.
    fn time(&self) -> DateTime<Utc> {
        let k = (self.next_id - self.plan.first_movement_id) as f64;
        self.start + Duration::milliseconds((k * self.step_secs * 1000.0) as i64)
    }

    fn remaining(&self) -> i64 {
        self.plan.first_movement_id + self.plan.movements as i64 - self.next_id
    }

    /// Writes one movement into the bins (never below zero: callers check) and the batch.
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        out: &mut Vec<NewStockMovement>,
        kind: &'static str,
        p: usize,
        qty: i64,
        from: Option<usize>,
        to: Option<usize>,
        order: Option<i64>,
        reference: Option<i64>,
    ) -> i64 {
        let at = self.time();
        let (from_bin, to_bin) = match kind {
            "return_faulty" => (None, Some(true)),
            "dispose_faulty" => (Some(true), None),
            _ => (Some(false), Some(false)),
        };
        if let (Some(w), Some(faulty)) = (from, from_bin) {
            let c = self.cell(w, p);
            if faulty {
                c.faulty -= qty
            } else {
                c.usable -= qty
            }
            debug_assert!(c.usable >= 0 && c.faulty >= 0, "{kind} took a bin below zero");
            c.at = Some(at);
        }
        if let (Some(w), Some(faulty)) = (to, to_bin) {
            let first = self.cells[w * self.parts.len() + p].at.is_none();
            let c = self.cell(w, p);
            let was_faulty = c.faulty;
            if faulty {
                c.faulty += qty
            } else {
                c.usable += qty
            }
            c.at = Some(at);
            if first {
                self.held[w].push(p);
            }
            if faulty && was_faulty == 0 {
                self.faulty.push((w, p));
            }
        }
        let part = &self.parts[p];
        let id = self.next_id;
        self.next_id += 1;
        let actor = match (from, to) {
            (Some(w), _) | (None, Some(w)) if self.engineer[w].is_some() => self.engineer[w],
            _ => self.plan.warehouse_user,
        };
        out.push(NewStockMovement {
            id,
            kind,
            part_id: part.id,
            qty,
            from_id: from.map(|w| self.wh_ids[w]),
            to_id: to.map(|w| self.wh_ids[w]),
            order_id: order,
            ref_id: reference,
            serial: None,
            old_serial: None,
            batch: None,
            supplier: None,
            unit_cost_cents: part.cost,
            price_cents: 0,
            actor_id: actor,
            created_at: at,
        });
        id
    }

    /// Makes sure location `w` holds `qty` usable pieces of part `p`, pulling them down the
    /// chain supplier → central → regional → van; returns false when there is no room left
    /// in the run for the movements that takes.
    fn ensure(&mut self, out: &mut Vec<NewStockMovement>, w: usize, p: usize, qty: i64, order: Option<i64>) -> bool {
        let have = self.cells[w * self.parts.len() + p].usable;
        if have >= qty {
            return true;
        }
        // Room for the restock chain and what follows it.
        // (at most nine: a receipt, two transfers each with a wrong pick sent back, the issue and
        // what comes back after it).
        if self.remaining() < 10 {
            return false;
        }
        let cost = self.parts[p].cost;
        let cheap = cost < 10_000;
        match self.source[w] {
            None => {
                // A delivery from the supplier: bigger lots of cheap parts.
                let lot = if cheap { self.rng.range(100, 500) } else { self.rng.range(20, 120) } as i64;
                let amount = lot.max(qty - have);
                let id = self.push(out, "receipt", p, amount, None, Some(w), None, None);
                let supplier = self.parts[p].supplier;
                let at = self.time();
                let m = out.last_mut().expect("pushed");
                m.supplier = Some(SUPPLIERS[supplier].0);
                m.batch = Some(format!("{}-{}", SUPPLIERS[supplier].1, at.format("%y%m")));
                // Deliveries cost a little more or less than the catalogue says.
                m.unit_cost_cents = cost * (95 + (id % 11)) / 100;
                true
            }
            Some(src) => {
                let is_van = self.is_van[w];
                let want = if is_van {
                    if cheap { self.rng.range(3, 8) } else { self.rng.range(1, 3) }
                } else if cheap {
                    self.rng.range(20, 80)
                } else {
                    self.rng.range(4, 15)
                } as i64;
                let amount = want.max(qty - have);
                if !self.ensure(out, src, p, amount, None) {
                    return false;
                }
                // A transfer into a van for one job names the order.
                let for_order = if is_van { order } else { None };
                let t = self.push(out, "transfer", p, amount, Some(src), Some(w), for_order, None);
                // About one pick in 150 is the wrong piece: it goes back, and the right one comes.
                if self.rng.below(150) == 0 && self.remaining() > 4 {
                    self.push(out, "return_wrong", p, amount, Some(w), Some(src), None, Some(t));
                    self.push(out, "transfer", p, amount, Some(src), Some(w), for_order, None);
                }
                true
            }
        }
    }

    /// A work order near the current time: one of the last 50 registered before it.
    fn order_near(&mut self) -> Option<OrderPartsFact> {
        let orders = &self.plan.orders;
        if orders.is_empty() {
            return None;
        }
        let t = self.time();
        // Before the first order (or with only recent ones) there is nothing to issue to yet.
        let end = orders.partition_point(|o| o.2 <= t);
        if end == 0 {
            return None;
        }
        let start = end.saturating_sub(50);
        Some(orders[start + self.rng.below((end - start) as u64) as usize])
    }

    fn serial(&mut self, p: usize) -> String {
        self.serials += 1;
        format!("SN{}{:08}", self.parts[p].id, self.serials)
    }

    fn step(&mut self, out: &mut Vec<NewStockMovement>) {
        let roll = self.rng.below(1000);
        match roll {
            0..10 => self.scrap(out),
            10..20 => self.adjust(out),
            20..45 => self.dispose(out),
            45..50 => self.send_back(out),
            _ => self.issue(out),
        }
    }

    fn issue(&mut self, out: &mut Vec<NewStockMovement>) {
        let Some((order_id, engineer, _, paid, model)) = self.order_near() else {
            // Without orders there is nothing to issue to: vans are stocked and send pieces back.
            return self.stock_a_van(out);
        };
        let Some(candidates) = self.by_model.get(&model).filter(|c| !c.is_empty()) else {
            return self.stock_a_van(out);
        };
        // A skew towards the first parts of the model's list: a few parts are used most.
        let n = candidates.len() as u64;
        let p = candidates[self.rng.below(n).min(self.rng.below(n)).min(self.rng.below(n)) as usize];
        let van = match self.van_of.get(&engineer) {
            Some(&v) => v,
            None => match self.vans.is_empty() {
                true => self.regionals.first().or(self.centrals.first()).copied().unwrap_or(0),
                false => self.vans[(engineer as usize) % self.vans.len()],
            },
        };
        let part = &self.parts[p];
        let qty = if part.serial_tracked || part.cost >= 10_000 { 1 } else { self.rng.range(1, 3) as i64 };
        if !self.ensure(out, van, p, qty, Some(order_id)) || self.remaining() < 1 {
            return;
        }
        let issue = self.push(out, "issue", p, qty, Some(van), None, Some(order_id), None);
        let tracked = self.parts[p].serial_tracked;
        let serial = tracked.then(|| self.serial(p));
        let (price, component) = (self.parts[p].price, self.parts[p].component);
        let m = out.last_mut().expect("pushed");
        m.serial = serial;
        if paid {
            m.price_cents = price;
        }
        // Consumables are not sent back; most other replaced pieces are.
        let consumable = matches!(COMPONENTS[component].0, "FLT" | "SEL" | "WPR" | "BRK" | "CRD");
        if !consumable && self.rng.percent(55) && self.remaining() > 0 {
            let at = self.time();
            self.push(out, "return_faulty", p, qty.min(1), None, Some(van), Some(order_id), Some(issue));
            let part = &self.parts[p];
            let supplier = match part.alt_supplier {
                Some(alt) if self.rng.percent(40) => alt,
                _ => part.supplier,
            };
            // The faulty piece was made some months before: its production batch.
            let made = at - Duration::days(self.rng.range(60, 900) as i64);
            let old_serial = tracked.then(|| format!("SN{}{}", part.id, made.format("%y%m%d")));
            let m = out.last_mut().expect("pushed");
            m.supplier = Some(SUPPLIERS[supplier].0);
            m.batch = Some(format!("{}-{}", SUPPLIERS[supplier].1, made.format("%y%m")));
            m.old_serial = old_serial;
        } else if self.rng.percent(8) && self.remaining() > 0 {
            // Not needed after all.
            let back = self.rng.range(1, qty as u64) as i64;
            self.push(out, "return_unused", p, back, None, Some(van), Some(order_id), Some(issue));
            let m = out.last_mut().expect("pushed");
            m.price_cents = if paid { price } else { 0 };
        } else if self.rng.below(300) == 0 && self.remaining() > 0 {
            // The wrong piece was fitted and taken off again: back from the order into the van.
            self.push(out, "return_wrong", p, qty, None, Some(van), Some(order_id), Some(issue));
            let m = out.last_mut().expect("pushed");
            m.price_cents = if paid { price } else { 0 };
        }
    }

    /// Without orders: a van takes a few pieces of a part from its warehouse.
    fn stock_a_van(&mut self, out: &mut Vec<NewStockMovement>) {
        let Some(&van) = (!self.vans.is_empty()).then(|| self.rng.pick(&self.vans)) else {
            return self.scrap(out);
        };
        let n = self.parts.len() as u64;
        let p = self.rng.below(n).min(self.rng.below(n)) as usize;
        let have = self.cells[van * self.parts.len() + p].usable;
        self.ensure(out, van, p, have + 1, None);
    }

    /// A location's pick: a random part it has held (None if it held nothing).
    fn held_part(&mut self, w: usize) -> Option<usize> {
        let list = &self.held[w];
        (!list.is_empty()).then(|| list[self.rng.below(list.len() as u64) as usize])
    }

    fn any_location(&mut self) -> usize {
        self.rng.below(self.wh_ids.len() as u64) as usize
    }

    fn scrap(&mut self, out: &mut Vec<NewStockMovement>) {
        let w = self.any_location();
        if let Some(p) = self.held_part(w) {
            let have = self.cells[w * self.parts.len() + p].usable;
            if have > 0 {
                let q = self.rng.range(1, have.min(3) as u64) as i64;
                self.push(out, "scrap", p, q, Some(w), None, None, None);
            }
        }
    }

    /// A count finds one or two pieces more or fewer.
    fn adjust(&mut self, out: &mut Vec<NewStockMovement>) {
        let w = self.any_location();
        if let Some(p) = self.held_part(w) {
            let have = self.cells[w * self.parts.len() + p].usable;
            let d = self.rng.range(1, 2) as i64;
            let delta = if have >= d && self.rng.percent(60) { -d } else { d };
            self.push(out, "adjust", p, delta, None, Some(w), None, None);
        }
    }

    /// Faulty pieces held somewhere go back to the supplier (or are scrapped) all at once.
    fn dispose(&mut self, out: &mut Vec<NewStockMovement>) {
        if self.faulty.is_empty() {
            return self.issue(out);
        }
        let k = self.rng.below(self.faulty.len() as u64) as usize;
        let (w, p) = self.faulty.swap_remove(k);
        let n = self.cells[w * self.parts.len() + p].faulty;
        if n > 0 {
            self.push(out, "dispose_faulty", p, n, Some(w), None, None, None);
        }
    }

    /// A van sends pieces it holds back to its warehouse.
    fn send_back(&mut self, out: &mut Vec<NewStockMovement>) {
        let Some(&van) = (!self.vans.is_empty()).then(|| self.rng.pick(&self.vans)) else { return };
        let Some(src) = self.source[van] else { return };
        if let Some(p) = self.held_part(van) {
            let have = self.cells[van * self.parts.len() + p].usable;
            if have > 1 {
                self.push(out, "transfer", p, have - 1, Some(van), Some(src), None, None);
            }
        }
    }

    /// Every bin a movement touched, with a reorder point for what locations keep in stock.
    fn stock(&mut self) -> Vec<NewStock> {
        let n = self.parts.len();
        let mut out = vec![];
        for w in 0..self.wh_ids.len() {
            let van = self.is_van[w];
            for &p in &self.held[w] {
                let c = self.cells[w * n + p];
                let Some(at) = c.at else { continue };
                let cheap = self.parts[p].cost < 10_000;
                let reorder_point = match (van, self.source[w].is_some(), cheap) {
                    (true, _, true) => 2,
                    (true, _, false) => 1,
                    (false, true, true) => 15,
                    (false, true, false) => 3,
                    (false, false, true) => 60,
                    (false, false, false) => 10,
                };
                out.push(NewStock {
                    warehouse_id: self.wh_ids[w],
                    part_id: self.parts[p].id,
                    on_hand: c.usable,
                    faulty: c.faulty,
                    reorder_point,
                    updated_at: at,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(orders: usize) -> PartsPlan {
        let now = Utc::now();
        let models = vec![(1, "HX-KF35", "air_conditioner"), (2, "HX-EV01", "vehicle"), (3, "HX-FS10", "fan")];
        let facts = (0..orders as i64)
            .map(|k| {
                (k + 1, 100 + k % 12, now - Duration::days(SPAN_DAYS) + Duration::hours(k * 3), k % 4 == 0, 1 + k % 3)
            })
            .collect();
        PartsPlan {
            seed: 3,
            first_part_id: 1,
            parts: 300,
            first_warehouse_id: 1,
            warehouses: 20,
            first_movement_id: 1,
            movements: 30_000,
            now,
            models,
            regions: vec![("east".into(), "华东区".into()), ("south".into(), "华南区".into())],
            engineers: (0..10).map(|k| (100 + k, format!("工程师{k}"), Some("east".into()))).collect(),
            orders: Arc::new(facts),
            warehouse_user: Some(7),
        }
    }

    /// The bins the movements add up to, kept apart from the simulation's own bookkeeping.
    fn replay(ms: &[NewStockMovement]) -> HashMap<(i64, i64), (i64, i64)> {
        let mut bins: HashMap<(i64, i64), (i64, i64)> = HashMap::new();
        for m in ms {
            let kind = rules::parts::MovementKind::parse(m.kind).expect("a known kind");
            let input = rules::parts::MovementInput {
                qty: m.qty,
                from: m.from_id,
                to: m.to_id,
                order: m.order_id,
                reference: m.ref_id,
                serial_tracked: false,
                serial: m.serial.clone(),
                old_serial: m.old_serial.clone(),
            };
            assert!(rules::parts::check(kind, &input).is_empty(), "{} {:?}", m.kind, rules::parts::check(kind, &input));
            for e in rules::parts::effects(kind, &input) {
                let b = bins.entry((e.warehouse, m.part_id)).or_default();
                match e.bin {
                    rules::parts::Bin::Usable => b.0 += e.delta,
                    rules::parts::Bin::Faulty => b.1 += e.delta,
                }
                assert!(b.0 >= 0 && b.1 >= 0, "movement {} took a bin below zero", m.id);
            }
        }
        bins
    }

    #[test]
    fn movements_add_up_to_the_stock_and_follow_the_seed() {
        let p = plan(2_000);
        let parts = p.catalogue();
        let key = parts.iter().filter(|x| x.key_part).count();
        assert!((10..70).contains(&key), "about a tenth are key parts: {key} of 300");
        let whs = p.warehouses();
        assert_eq!(whs.len(), 20);
        assert_eq!(whs.iter().filter(|w| w.kind == "van").count(), 17);
        assert_eq!(whs.iter().filter(|w| w.engineer_id.is_some()).count(), 10);
        let mut all = vec![];
        let stock = p.simulate(&parts, &whs, |b| {
            all.extend(b);
            true
        });
        assert_eq!(all.len(), 30_000);
        assert!(all.windows(2).all(|w| w[1].id == w[0].id + 1 && w[1].created_at >= w[0].created_at));
        let bins = replay(&all);
        for s in &stock {
            assert_eq!(bins.get(&(s.warehouse_id, s.part_id)).copied().unwrap_or_default(), (s.on_hand, s.faulty));
        }
        assert_eq!(stock.len(), bins.len());
        let count = |k: &str| all.iter().filter(|m| m.kind == k).count();
        assert!(count("issue") > 10_000, "issues: {}", count("issue"));
        for k in [
            "receipt",
            "transfer",
            "return_faulty",
            "return_unused",
            "return_wrong",
            "scrap",
            "adjust",
            "dispose_faulty",
        ] {
            assert!(count(k) > 0, "no {k}");
        }
        let again: Vec<(i64, i64, i64)> = {
            let mut v = vec![];
            p.simulate(&parts, &whs, |b| {
                v.extend(b.iter().map(|m| (m.part_id, m.qty, m.from_id.unwrap_or(0))));
                true
            });
            v
        };
        assert!(again.iter().zip(&all).all(|(a, m)| *a == (m.part_id, m.qty, m.from_id.unwrap_or(0))));
    }

    #[test]
    fn without_orders_vans_are_stocked_instead() {
        let p = plan(0);
        let parts = p.catalogue();
        let whs = p.warehouses();
        let mut all = vec![];
        p.simulate(&parts, &whs, |b| {
            all.extend(b);
            true
        });
        assert!(!all.is_empty() && all.iter().all(|m| m.kind != "issue"));
        replay(&all);
    }
}
