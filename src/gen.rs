//! `aftersales gen`: realistic synthetic data at scale for benchmarks and demos — customers
//! (Chinese and some English names, addresses across provinces, contacts, phones, classes,
//! tags, after-sales notes, search terms), sold units with their first owner, and work orders
//! (`gen/orders.rs`) with their time lines and SLA clocks and what follows the job
//! (`gen/after.rs`): the survey link of every completed job (about 60 % answered, mostly
//! satisfied) and its on-site rating as an answered survey, and complaints (about 1 % of jobs,
//! a few of them major and routed to the quality department), suggestions and praise, each with
//! its steps and its deadlines under version 1 of the complaint policy. Spare parts
//! (`gen/parts.rs`): a parts catalogue fitting the models, central and regional warehouses and
//! engineers' vans, and the stock movements of two years with the stock they add up to.
//!
//! Everything but the public tokens follows from the seed, the sizes and the ids the database
//! hands out next (and the moment of the run, which dates count back from). Tokens — of units,
//! orders and surveys — come from the operating system: a token derived from a seed would be
//! guessable by anyone who knows the seed, and the token is the only secret of a public page
//! or a survey link.
//!
//! Batches are built on the blocking pool (jieba segmentation is the expensive part) a few
//! ahead of the one being written, each from its own generator seeded by (seed, batch), so
//! the order threads finish in never changes the data.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use crate::db::Db;
use crate::service::hex;
use crate::store;
use crate::store::bulk::{Counts, NewCustomer, NewUnit};
use crate::store::customers::{Contact, CustomerData};
use crate::store::units::UnitData;

mod after;
mod orders;
mod parts;

#[derive(Debug, Clone)]
pub struct Options {
    pub customers: u64,
    pub units: u64,
    /// Work orders on the units (of this run, or those already there).
    pub orders: u64,
    /// Engineers to create for the orders (they go to engineers already there otherwise).
    pub engineers: u64,
    /// Open orders registered in the last two days, on top of `orders` (a dispatch backlog).
    pub backlog: u64,
    /// Spare parts in the catalogue, stock locations, and stock movements among them.
    pub parts: u64,
    pub warehouses: u64,
    pub movements: u64,
    pub seed: u64,
    /// Add to a database that already has customers.
    pub append: bool,
    /// Print a progress line on stderr every 5 %.
    pub progress: bool,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub customers: u64,
    pub units: u64,
    pub orders: u64,
    /// Surveys of the completed orders (the link sent and the on-site rating).
    pub surveys: u64,
    /// Complaints, suggestions and praise about the orders.
    pub complaints: u64,
    /// Spare parts, stock locations, stock movements and the stock rows they left.
    pub parts: u64,
    pub warehouses: u64,
    pub movements: u64,
    pub stock_rows: u64,
    /// Rows written in all tables (contacts, phones, search terms, owners, order time lines,
    /// clocks and complaint steps included).
    pub rows: u64,
    pub elapsed: Duration,
    /// Counts of the archive tables after the run.
    pub totals: Counts,
}

const CUSTOMER_BATCH: u64 = 5_000;
const UNIT_BATCH: u64 = 10_000;
/// Batches being built while one is written; bounds memory to a few batches.
const LOOKAHEAD: usize = 3;

/// Fills the database. Refuses a database that already has customers unless `append`.
pub async fn run(db: &Db, opts: &Options) -> anyhow::Result<Report> {
    let started = Instant::now();
    let backend = db.backend();
    let before = {
        let mut c = db.read().await?;
        store::bulk::counts(c.conn()).await?
    };
    if before.customers > 0 && !opts.append {
        bail!("the database already has {} customers; add --append to generate more into it", before.customers);
    }
    let catalogue = Arc::new(prepare_catalogue(db).await?);
    let (max_customer, max_unit) = {
        let mut c = db.read().await?;
        store::bulk::max_ids(c.conn()).await?
    };
    let owners = if opts.customers > 0 {
        Owners::Range(max_customer + 1, opts.customers as i64)
    } else if opts.units > 0 {
        let mut c = db.read().await?;
        let ids = store::bulk::customer_ids(c.conn()).await?;
        if ids.is_empty() {
            bail!("units need customers: give --customers, or generate into a database that has some");
        }
        Owners::List(ids)
    } else {
        Owners::List(vec![])
    };
    let today = Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
    let now = Utc::now();
    let mut progress = Progress::new(
        opts.progress,
        opts.customers + opts.units + opts.orders + opts.backlog + opts.parts + opts.warehouses + opts.movements,
    );
    let parts_before = {
        let mut c = db.read().await?;
        store::bulk::parts_counts(c.conn()).await?
    };
    let orders_before = {
        let mut c = db.read().await?;
        store::bulk::order_counts(c.conn()).await?
    };
    let after_before = {
        let mut c = db.read().await?;
        store::bulk::after_job_counts(c.conn()).await?
    };

    let result = async {
        let plan = Arc::new(CustomerPlan {
            seed: opts.seed,
            first_id: max_customer + 1,
            total: opts.customers,
            catalogue: catalogue.clone(),
        });
        let batches = opts.customers.div_ceil(CUSTOMER_BATCH);
        let mut pending = VecDeque::new();
        for b in 0..batches {
            let p = plan.clone();
            pending.push_back(tokio::task::spawn_blocking(move || p.batch(b)));
            if pending.len() > LOOKAHEAD {
                write_customers(db, pending.pop_front().expect("queued"), now, &mut progress).await?;
            }
        }
        while let Some(job) = pending.pop_front() {
            write_customers(db, job, now, &mut progress).await?;
        }

        let plan = Arc::new(UnitPlan {
            seed: opts.seed,
            first_id: max_unit + 1,
            total: opts.units,
            today,
            owners,
            catalogue: catalogue.clone(),
        });
        let batches = opts.units.div_ceil(UNIT_BATCH);
        let mut pending = VecDeque::new();
        for b in 0..batches {
            let p = plan.clone();
            pending.push_back(tokio::task::spawn_blocking(move || p.batch(b)));
            if pending.len() > LOOKAHEAD {
                write_units(db, pending.pop_front().expect("queued"), now, &mut progress).await?;
            }
        }
        while let Some(job) = pending.pop_front() {
            write_units(db, job, now, &mut progress).await?;
        }
        if opts.orders + opts.backlog > 0 {
            generate_orders(db, opts, now, &mut progress).await?;
        }
        if opts.parts + opts.warehouses + opts.movements > 0 {
            generate_parts(db, opts, &catalogue, now, &mut progress).await?;
        }
        let mut tx = db.begin().await?;
        store::bulk::sync_sequences(tx.conn(), backend).await?;
        tx.commit().await?;
        anyhow::Ok(())
    }
    .await;
    // Back to the server's cache size whether or not the run finished.
    if let Ok(mut tx) = db.begin().await
        && store::bulk::bulk_settings(tx.conn(), backend, true).await.is_ok()
    {
        let _ = tx.commit().await;
    }
    result?;
    progress.finish();
    // Fresh planner statistics: right after a bulk load PostgreSQL still believes the tables
    // are small and picks plans (sorting every match) that take seconds at a million rows.
    {
        let mut tx = db.begin().await?;
        store::bulk::analyze(tx.conn(), backend).await?;
        tx.commit().await?;
    }

    let totals = {
        let mut c = db.read().await?;
        store::bulk::counts(c.conn()).await?
    };
    let rows = [
        totals.customers - before.customers,
        totals.contacts - before.contacts,
        totals.phones - before.phones,
        totals.search - before.search,
        totals.units - before.units,
        totals.owners - before.owners,
    ]
    .iter()
    .sum::<i64>() as u64;
    let orders_after = {
        let mut c = db.read().await?;
        store::bulk::order_counts(c.conn()).await?
    };
    let after_after = {
        let mut c = db.read().await?;
        store::bulk::after_job_counts(c.conn()).await?
    };
    let parts_after = {
        let mut c = db.read().await?;
        store::bulk::parts_counts(c.conn()).await?
    };
    let surveys = (after_after.0 - after_before.0) as u64;
    let complaints = (after_after.1 - after_before.1) as u64;
    let rows = rows
        + (orders_after.0 - orders_before.0 + orders_after.1 - orders_before.1 + orders_after.2 - orders_before.2
            + orders_after.3
            - orders_before.3) as u64
        + surveys
        + complaints
        + (after_after.2 - after_before.2) as u64
        + (parts_after.0 - parts_before.0 + parts_after.1 - parts_before.1 + parts_after.2 - parts_before.2
            + parts_after.3
            - parts_before.3) as u64;
    Ok(Report {
        customers: opts.customers,
        units: opts.units,
        orders: opts.orders + opts.backlog,
        surveys,
        complaints,
        parts: (parts_after.0 - parts_before.0) as u64,
        warehouses: (parts_after.1 - parts_before.1) as u64,
        movements: (parts_after.3 - parts_before.3) as u64,
        stock_rows: (parts_after.2 - parts_before.2) as u64,
        rows,
        elapsed: started.elapsed(),
        totals,
    })
}

async fn write_customers(
    db: &Db,
    job: tokio::task::JoinHandle<Vec<NewCustomer>>,
    now: DateTime<Utc>,
    progress: &mut Progress,
) -> anyhow::Result<()> {
    let rows = job.await.context("a generator thread failed")?;
    let mut tx = db.begin().await?;
    store::bulk::bulk_settings(tx.conn(), db.backend(), false).await?;
    store::bulk::insert_customers(tx.conn(), db.backend(), &rows, now).await?;
    tx.commit().await?;
    progress.add(rows.len() as u64, "customers");
    Ok(())
}

async fn write_units(
    db: &Db,
    job: tokio::task::JoinHandle<anyhow::Result<Vec<NewUnit>>>,
    now: DateTime<Utc>,
    progress: &mut Progress,
) -> anyhow::Result<()> {
    let rows = job.await.context("a generator thread failed")??;
    let mut tx = db.begin().await?;
    store::bulk::bulk_settings(tx.conn(), db.backend(), false).await?;
    store::bulk::insert_units(tx.conn(), db.backend(), &rows, now).await?;
    tx.commit().await?;
    progress.add(rows.len() as u64, "units");
    Ok(())
}

/// Engineers (created here when asked), the fault catalogue, then the orders in batches.
async fn generate_orders(db: &Db, opts: &Options, now: DateTime<Utc>, progress: &mut Progress) -> anyhow::Result<()> {
    use std::collections::HashMap;
    let units = {
        let mut c = db.read().await?;
        store::bulk::unit_facts(c.conn()).await?
    };
    if units.is_empty() {
        bail!("orders need units: give --units, or generate into a database that has some");
    }
    let mut tx = db.begin().await?;
    crate::demo::install_fault_codes(&mut tx).await?;
    let categories: Vec<String> = store::products::categories(tx.conn()).await?.into_iter().map(|c| c.code).collect();
    let regions = store::settings::regions(tx.conn()).await?;
    if opts.engineers > 0 {
        create_engineers(&mut tx, Rng::for_batch(opts.seed, 4, 0), opts.engineers, &regions, &categories, now).await?;
    }
    let day = (now, now + chrono::Duration::days(1));
    let engineers: Vec<orders::GenEngineer> = store::work_orders::engineers(tx.conn(), day)
        .await?
        .into_iter()
        .map(|e| orders::GenEngineer { id: e.user_id, label: e.display_name, region: e.region_code, team: e.team_id })
        .collect();
    let first_id = store::bulk::max_order_id(tx.conn()).await? + 1;
    let faults = store::work_orders::fault_codes(tx.conn(), None).await?;
    let (max_complaint, max_complaint_event) = store::bulk::max_complaint_ids(tx.conn()).await?;
    tx.commit().await?;
    // Complaints cite the first version of the complaint policy: the built-in one, written at
    // start-up (and here, for a database that was only migrated).
    crate::service::complaints::seed_policy(db).await.map_err(|e| anyhow::anyhow!("the complaint policy: {e:?}"))?;
    let complaint_policy: rules::complaint::ComplaintPolicy = {
        let mut c = db.read().await?;
        let stored = store::complaints::policy(c.conn(), 1).await?.context("complaint policy version 1")?;
        serde_json::from_str(&stored.policy_json).context("complaint policy version 1")?
    };
    let mut by_region: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, e) in engineers.iter().enumerate() {
        if let Some(r) = &e.region {
            by_region.entry(r.clone()).or_default().push(i);
        }
    }
    let mut fault_map: HashMap<String, Vec<&'static str>> = HashMap::new();
    for f in faults {
        // Codes live as long as the run; leaking a few dozen short strings keeps batches 'static.
        fault_map.entry(f.category_code).or_default().push(Box::leak(f.code.into_boxed_str()));
    }
    let standard =
        rules::sla::builtin_policies().into_iter().find(|p| p.code == "standard").context("standard policy")?;
    let calendar =
        rules::calendar::Calendar::cn_standard().compile().map_err(|e| anyhow::anyhow!("cn-standard: {e:?}"))?;
    let plan = Arc::new(orders::OrderPlan {
        seed: opts.seed,
        first_id,
        total: opts.orders + opts.backlog,
        now,
        units: Arc::new(units),
        engineers,
        by_region,
        faults: fault_map,
        backlog_from: opts.orders,
        policy: standard,
        calendar,
        complaint_policy,
        complaint_policy_version: 1,
    });
    let batches = (opts.orders + opts.backlog).div_ceil(orders::ORDER_BATCH);
    // Complaints and their steps take the ids after the highest ones, in order of the batches
    // written (so the ids follow from the seed too).
    let mut ids = ComplaintIds { complaint: max_complaint, event: max_complaint_event };
    let mut pending = VecDeque::new();
    for b in 0..batches {
        let p = plan.clone();
        pending.push_back(tokio::task::spawn_blocking(move || p.batch(b)));
        if pending.len() > LOOKAHEAD {
            write_orders(db, pending.pop_front().expect("queued"), &mut ids, progress).await?;
        }
    }
    while let Some(job) = pending.pop_front() {
        write_orders(db, job, &mut ids, progress).await?;
    }
    Ok(())
}

/// Engineers per generated team.
const TEAM_SIZE: usize = 8;

/// Creates `n` engineers (login engNNNNN after the users there, the demo password) spread
/// over the regions, each with a random set of skills, each region's in teams of
/// [`TEAM_SIZE`] (named after the region and numbered on from the teams already there).
async fn create_engineers(
    tx: &mut crate::db::Tx,
    mut rng: Rng,
    n: u64,
    regions: &[store::settings::Region],
    categories: &[String],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    // One hash for all: they share the demo password, and argon2 takes a while each.
    let hash = crate::service::auth::hash_password(crate::demo::DEMO_PASSWORD).await?;
    let taken = store::users::count(tx.conn()).await?;
    let mut teams_made = store::teams::names(tx.conn()).await?.len();
    // Per region: the team being filled and how many it has.
    let mut filling: std::collections::HashMap<Option<String>, (i64, usize)> = Default::default();
    for n in 0..n as i64 {
        let login = format!("eng{:05}", taken + n);
        let (name, _) = person_name(&mut rng, false);
        let region = regions.get(n as usize % regions.len().max(1));
        let key = region.map(|r| r.code.clone());
        let team = match filling.get(&key) {
            Some((id, size)) if *size < TEAM_SIZE => *id,
            _ => {
                teams_made += 1;
                let label = region.map(|r| r.name_zh.as_str()).unwrap_or("综合");
                let data = store::teams::TeamData {
                    name: &format!("{label}服务{teams_made}组"),
                    region_code: key.as_deref(),
                    leader_id: None,
                    active: true,
                };
                let id = store::teams::insert(tx.conn(), &data, now).await?;
                filling.insert(key.clone(), (id, 0));
                id
            }
        };
        if let Some(f) = filling.get_mut(&key) {
            f.1 += 1;
        }
        let region = key;
        let u = store::users::NewUser {
            login: &login,
            display_name: &name,
            email: Some(&format!("{login}@gen.example.cn")),
            phone: Some(&mobile(&mut rng)),
            password_hash: &hash,
            region_code: region.as_deref(),
            locale: "zh-CN",
            roles: &[crate::domain::Role::Engineer],
        };
        let id = store::users::insert(tx.conn(), &u, now).await?;
        store::teams::add_member(tx.conn(), team, id).await?;
        let skills: Vec<String> = categories.iter().filter(|_| rng.percent(60)).cloned().collect();
        store::work_orders::set_skills(tx.conn(), id, &skills).await?;
    }
    Ok(())
}

/// The parts catalogue, the stock locations (vans for engineers without one, engineers created
/// when there are too few), then the movements, written while the simulation runs, and the
/// stock they add up to.
async fn generate_parts(
    db: &Db,
    opts: &Options,
    catalogue: &Catalogue,
    now: DateTime<Utc>,
    progress: &mut Progress,
) -> anyhow::Result<()> {
    if opts.movements > 0 && (opts.parts == 0 || opts.warehouses == 0) {
        bail!("stock movements need parts and locations of this run: give --parts and --warehouses");
    }
    // The simulation keeps every location's bins of every part in memory.
    if opts.parts.saturating_mul(opts.warehouses) > 20_000_000 {
        bail!("--parts × --warehouses is at most 20,000,000");
    }
    let backend = db.backend();
    let mut tx = db.begin().await?;
    let regions = store::settings::regions(tx.conn()).await?;
    let mut plan = parts::PartsPlan {
        seed: opts.seed,
        first_part_id: 0,
        parts: opts.parts,
        first_warehouse_id: 0,
        warehouses: opts.warehouses,
        first_movement_id: 0,
        movements: opts.movements,
        now,
        models: catalogue.models.iter().map(|m| (m.id, m.code, m.category)).collect(),
        regions: regions.iter().map(|r| (r.code.clone(), r.name_zh.clone())).collect(),
        engineers: vec![],
        orders: Arc::new(vec![]),
        warehouse_user: store::bulk::warehouse_user(tx.conn()).await?,
    };
    let vans = plan.warehouses().iter().filter(|w| w.kind == "van").count() as u64;
    let mut engineers = store::bulk::engineers_without_van(tx.conn()).await?;
    if (engineers.len() as u64) < vans {
        let categories: Vec<String> =
            store::products::categories(tx.conn()).await?.into_iter().map(|c| c.code).collect();
        let missing = vans - engineers.len() as u64;
        create_engineers(&mut tx, Rng::for_batch(opts.seed, 22, 0), missing, &regions, &categories, now).await?;
        engineers = store::bulk::engineers_without_van(tx.conn()).await?;
    }
    plan.engineers = engineers;
    let (max_part, max_warehouse, max_movement) = store::bulk::max_parts_ids(tx.conn()).await?;
    (plan.first_part_id, plan.first_warehouse_id, plan.first_movement_id) =
        (max_part + 1, max_warehouse + 1, max_movement + 1);
    plan.orders = Arc::new(store::bulk::order_parts_facts(tx.conn()).await?);
    let new_parts = plan.catalogue();
    let warehouses = plan.warehouses();
    store::bulk::bulk_settings(tx.conn(), backend, false).await?;
    store::bulk::insert_parts(tx.conn(), backend, &new_parts, now).await?;
    store::bulk::insert_warehouses(tx.conn(), backend, &warehouses, now).await?;
    tx.commit().await?;
    progress.add(opts.parts + opts.warehouses, "parts");

    // The simulation hands over batches while the last ones are written.
    let (send, mut batches) = tokio::sync::mpsc::channel::<Vec<store::bulk::NewStockMovement>>(LOOKAHEAD);
    let first_movement = plan.first_movement_id;
    let sim = tokio::task::spawn_blocking(move || {
        plan.simulate(&new_parts, &warehouses, |batch| send.blocking_send(batch).is_ok())
    });
    while let Some(batch) = batches.recv().await {
        let mut tx = db.begin().await?;
        store::bulk::bulk_settings(tx.conn(), backend, false).await?;
        store::bulk::insert_movements(tx.conn(), backend, &batch).await?;
        tx.commit().await?;
        progress.add(batch.len() as u64, "stock movements");
    }
    let stock = sim.await.context("the stock simulation failed")?;
    let mut tx = db.begin().await?;
    store::bulk::bulk_settings(tx.conn(), backend, false).await?;
    store::bulk::insert_stock(tx.conn(), backend, &stock).await?;
    store::bulk::add_generated_parts_cost(tx.conn(), first_movement).await?;
    tx.commit().await?;
    Ok(())
}

/// The last complaint and complaint event ids used.
struct ComplaintIds {
    complaint: i64,
    event: i64,
}

async fn write_orders(
    db: &Db,
    job: tokio::task::JoinHandle<anyhow::Result<Vec<store::bulk::NewOrder>>>,
    ids: &mut ComplaintIds,
    progress: &mut Progress,
) -> anyhow::Result<()> {
    let mut rows = job.await.context("a generator thread failed")??;
    for k in rows.iter_mut().flat_map(|o| o.complaints.iter_mut()) {
        ids.complaint += 1;
        k.id = ids.complaint;
        for ev in &mut k.events {
            ids.event += 1;
            ev.id = ids.event;
        }
    }
    let mut tx = db.begin().await?;
    store::bulk::bulk_settings(tx.conn(), db.backend(), false).await?;
    store::bulk::insert_orders(tx.conn(), db.backend(), &rows).await?;
    store::bulk::insert_surveys(tx.conn(), db.backend(), &rows).await?;
    store::bulk::insert_complaints(tx.conn(), db.backend(), &rows).await?;
    tx.commit().await?;
    progress.add(rows.len() as u64, "orders");
    Ok(())
}

struct Progress {
    on: bool,
    total: u64,
    done: u64,
    next_step: u64,
    started: Instant,
}

impl Progress {
    fn new(on: bool, total: u64) -> Progress {
        Progress { on, total, done: 0, next_step: 5, started: Instant::now() }
    }

    fn add(&mut self, n: u64, what: &str) {
        self.done += n;
        if !self.on || self.total == 0 {
            return;
        }
        let pct = self.done * 100 / self.total;
        if pct >= self.next_step {
            self.next_step = pct / 5 * 5 + 5;
            eprint!(
                "\rgen: {pct:>3} % ({} of {} rows, now {what}) {:.0} s ",
                self.done,
                self.total,
                self.started.elapsed().as_secs_f64()
            );
        }
    }

    fn finish(&self) {
        if self.on && self.total > 0 {
            eprintln!();
        }
    }
}

// ------------------------------------------------------------------ random numbers

/// splitmix64: tiny, fast, and the same on every platform, which is all synthetic data needs.
struct Rng(u64);

impl Rng {
    /// A generator for one batch of one kind, independent of every other batch.
    fn for_batch(seed: u64, kind: u64, batch: u64) -> Rng {
        let mut r = Rng(seed ^ kind.wrapping_mul(0xA24B_AED4_963E_E407));
        r.0 ^= r.next().wrapping_add(batch.wrapping_mul(0x9FB2_1C65_1E98_DF25));
        r
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    fn range(&mut self, lo: u64, hi_inclusive: u64) -> u64 {
        lo + self.below(hi_inclusive - lo + 1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    fn digits(&mut self, n: usize, out: &mut String) {
        for _ in 0..n {
            out.push(char::from(b'0' + self.below(10) as u8));
        }
    }
}

// ------------------------------------------------------------------ catalogue and regions

struct Catalogue {
    /// Region codes present, sorted.
    regions: Vec<String>,
    models: Vec<GenModel>,
}

struct GenModel {
    id: i64,
    code: &'static str,
    serial_prefix: &'static str,
    category: &'static str,
}

const CATEGORIES: &[(&str, &str, &str)] = &[
    ("air_conditioner", "空调", "Air conditioner"),
    ("compressor", "压缩机组", "Compressor unit"),
    ("vehicle", "家用电动汽车", "Electric car"),
    ("fan", "小家电", "Small appliance"),
];

/// Same regions as the demo company, created when a database has none.
const REGIONS: &[(&str, &str, &str)] = &[
    ("east", "华东区", "East China"),
    ("south", "华南区", "South China"),
    ("north", "华北区", "North China"),
    ("southwest", "西南区", "Southwest China"),
];

/// (code, name, category, grade, policy, warranty months, key parts, serial prefix)
type ModelSpec =
    (&'static str, &'static str, &'static str, &'static str, &'static str, Option<i32>, &'static str, &'static str);
const MODELS: &[ModelSpec] = &[
    (
        "HX-KF26",
        "华信 KF26 壁挂式变频空调",
        "air_conditioner",
        "high",
        "seed-company",
        None,
        "压缩机, 控制器, 电机",
        "KF26",
    ),
    (
        "HX-KF35",
        "华信 KF35 壁挂式变频空调",
        "air_conditioner",
        "high",
        "seed-company",
        None,
        "压缩机, 控制器, 电机",
        "KF35",
    ),
    ("HX-KF50", "华信 KF50 壁挂式定频空调", "air_conditioner", "low", "seed-company", None, "压缩机, 控制器", "KF50"),
    (
        "HX-KFR72",
        "华信 KFR72 立柜式空调",
        "air_conditioner",
        "high",
        "seed-company",
        Some(72),
        "压缩机, 控制器, 电机",
        "KFR72",
    ),
    (
        "HX-MDV280",
        "华信 MDV280 商用多联机",
        "air_conditioner",
        "high",
        "seed-company",
        Some(36),
        "压缩机, 控制器, 电子膨胀阀",
        "MDV",
    ),
    (
        "HX-AH12",
        "华信 AH12 空气源热泵",
        "air_conditioner",
        "high",
        "seed-company",
        None,
        "压缩机, 换热器, 控制器",
        "AH12",
    ),
    (
        "HX-LG120",
        "华信 LG120 螺杆压缩机组",
        "compressor",
        "high",
        "seed-company",
        None,
        "压缩机, 控制器, 电机, 轴承",
        "LG120",
    ),
    (
        "HX-LG200",
        "华信 LG200 螺杆压缩机组",
        "compressor",
        "high",
        "seed-company",
        None,
        "压缩机, 控制器, 电机, 轴承",
        "LG200",
    ),
    (
        "HX-LX500",
        "华信 LX500 离心式冷水机组",
        "compressor",
        "high",
        "seed-company",
        Some(24),
        "压缩机, 冷凝器, 蒸发器",
        "LX500",
    ),
    (
        "HX-EV01",
        "华信 EV01 家用电动汽车",
        "vehicle",
        "high",
        "cn-car-2021",
        None,
        "驱动电机, 动力电池, 控制器",
        "LHXEV01",
    ),
    (
        "HX-EV02",
        "华信 EV02 家用电动SUV",
        "vehicle",
        "high",
        "cn-car-2021",
        None,
        "驱动电机, 动力电池, 控制器",
        "LHXEV02",
    ),
    ("HX-FS10", "华信 FS10 台式电风扇", "fan", "low", "cn-general-1995", None, "电机", "FS10"),
    ("HX-FS16", "华信 FS16 落地电风扇", "fan", "low", "cn-general-1995", None, "电机", "FS16"),
    ("HX-DH20", "华信 DH20 除湿机", "fan", "low", "cn-general-1995", None, "压缩机, 电机", "DH20"),
];

/// Regions, categories and models the data refers to: existing ones are kept, missing ones added.
async fn prepare_catalogue(db: &Db) -> anyhow::Result<Catalogue> {
    let now = Utc::now();
    let mut tx = db.begin().await?;
    if store::settings::regions(tx.conn()).await?.is_empty() {
        for (code, zh, en) in REGIONS {
            let r =
                store::settings::Region { code: code.to_string(), name_zh: zh.to_string(), name_en: en.to_string() };
            store::settings::insert_region(tx.conn(), &r).await?;
        }
    }
    let have: Vec<String> = store::products::categories(tx.conn()).await?.into_iter().map(|c| c.code).collect();
    for (code, zh, en) in CATEGORIES {
        if !have.iter().any(|h| h == code) {
            let cat =
                store::products::Category { code: code.to_string(), name_zh: zh.to_string(), name_en: en.to_string() };
            store::products::upsert_category(tx.conn(), &cat).await?;
        }
    }
    let mut models = vec![];
    for &(code, name, category, grade, policy, months, parts, prefix) in MODELS {
        let id = match store::products::model_by_code(tx.conn(), code).await? {
            Some(m) => m.id,
            None => {
                let d = store::products::ModelData {
                    code: code.into(),
                    name: name.into(),
                    category_code: category.into(),
                    grade: grade.into(),
                    policy_code: policy.into(),
                    warranty_months: months,
                    key_parts: parts.into(),
                    service_interval_months: None,
                };
                store::products::insert_model(tx.conn(), &d, now).await?
            }
        };
        models.push(GenModel { id, code, serial_prefix: prefix, category });
    }
    let regions = store::settings::regions(tx.conn()).await?.into_iter().map(|r| r.code).collect();
    tx.commit().await?;
    Ok(Catalogue { regions, models })
}

// ------------------------------------------------------------------ word lists

/// (province, region it is served from, cities: (city, area code, districts))
type Province = (&'static str, &'static str, &'static [(&'static str, &'static str, &'static [&'static str])]);
const PROVINCES: &[Province] = &[
    ("北京市", "north", &[("北京市", "010", &["朝阳区", "海淀区", "东城区", "西城区", "丰台区", "通州区", "大兴区"])]),
    ("天津市", "north", &[("天津市", "022", &["和平区", "河西区", "南开区", "滨海新区"])]),
    (
        "河北省",
        "north",
        &[
            ("石家庄市", "0311", &["长安区", "桥西区", "裕华区"]),
            ("唐山市", "0315", &["路北区", "路南区"]),
            ("保定市", "0312", &["竞秀区", "莲池区"]),
        ],
    ),
    ("山西省", "north", &[("太原市", "0351", &["小店区", "迎泽区", "杏花岭区"])]),
    ("内蒙古自治区", "north", &[("呼和浩特市", "0471", &["新城区", "赛罕区"])]),
    (
        "辽宁省",
        "north",
        &[("沈阳市", "024", &["和平区", "沈河区", "铁西区"]), ("大连市", "0411", &["中山区", "甘井子区"])],
    ),
    ("吉林省", "north", &[("长春市", "0431", &["朝阳区", "南关区"])]),
    ("黑龙江省", "north", &[("哈尔滨市", "0451", &["南岗区", "道里区", "香坊区"])]),
    ("上海市", "east", &[("上海市", "021", &["浦东新区", "闵行区", "徐汇区", "静安区", "嘉定区", "松江区", "宝山区"])]),
    (
        "江苏省",
        "east",
        &[
            ("南京市", "025", &["玄武区", "鼓楼区", "江宁区"]),
            ("苏州市", "0512", &["姑苏区", "吴中区", "相城区"]),
            ("无锡市", "0510", &["梁溪区", "滨湖区"]),
            ("常州市", "0519", &["天宁区", "武进区"]),
            ("南通市", "0513", &["崇川区", "通州区"]),
        ],
    ),
    (
        "浙江省",
        "east",
        &[
            ("杭州市", "0571", &["西湖区", "上城区", "拱墅区", "滨江区", "萧山区", "余杭区"]),
            ("宁波市", "0574", &["海曙区", "鄞州区"]),
            ("温州市", "0577", &["鹿城区", "瓯海区"]),
            ("嘉兴市", "0573", &["南湖区", "秀洲区"]),
        ],
    ),
    (
        "安徽省",
        "east",
        &[("合肥市", "0551", &["蜀山区", "包河区", "庐阳区"]), ("芜湖市", "0553", &["镜湖区", "鸠江区"])],
    ),
    (
        "山东省",
        "east",
        &[
            ("济南市", "0531", &["历下区", "市中区", "槐荫区"]),
            ("青岛市", "0532", &["市南区", "崂山区", "黄岛区"]),
            ("烟台市", "0535", &["芝罘区", "莱山区"]),
        ],
    ),
    ("江西省", "east", &[("南昌市", "0791", &["东湖区", "西湖区", "红谷滩区"])]),
    (
        "福建省",
        "south",
        &[
            ("福州市", "0591", &["鼓楼区", "台江区"]),
            ("厦门市", "0592", &["思明区", "湖里区"]),
            ("泉州市", "0595", &["丰泽区", "鲤城区"]),
        ],
    ),
    (
        "广东省",
        "south",
        &[
            ("广州市", "020", &["天河区", "越秀区", "海珠区", "白云区", "番禺区"]),
            ("深圳市", "0755", &["福田区", "南山区", "罗湖区", "宝安区", "龙岗区"]),
            ("东莞市", "0769", &["南城街道", "东城街道", "长安镇"]),
            ("佛山市", "0757", &["禅城区", "南海区", "顺德区"]),
            ("珠海市", "0756", &["香洲区", "金湾区"]),
        ],
    ),
    (
        "广西壮族自治区",
        "south",
        &[("南宁市", "0771", &["青秀区", "兴宁区"]), ("桂林市", "0773", &["秀峰区", "七星区"])],
    ),
    ("海南省", "south", &[("海口市", "0898", &["龙华区", "美兰区"])]),
    (
        "湖北省",
        "south",
        &[("武汉市", "027", &["江岸区", "武昌区", "洪山区", "汉阳区"]), ("宜昌市", "0717", &["西陵区", "伍家岗区"])],
    ),
    ("湖南省", "south", &[("长沙市", "0731", &["岳麓区", "芙蓉区", "天心区", "雨花区"])]),
    (
        "河南省",
        "north",
        &[("郑州市", "0371", &["金水区", "中原区", "二七区"]), ("洛阳市", "0379", &["西工区", "洛龙区"])],
    ),
    ("陕西省", "north", &[("西安市", "029", &["雁塔区", "碑林区", "未央区", "长安区"])]),
    ("甘肃省", "north", &[("兰州市", "0931", &["城关区", "七里河区"])]),
    ("宁夏回族自治区", "north", &[("银川市", "0951", &["兴庆区", "金凤区"])]),
    ("新疆维吾尔自治区", "north", &[("乌鲁木齐市", "0991", &["天山区", "沙依巴克区"])]),
    ("重庆市", "southwest", &[("重庆市", "023", &["渝中区", "江北区", "南岸区", "九龙坡区", "渝北区"])]),
    (
        "四川省",
        "southwest",
        &[
            ("成都市", "028", &["锦江区", "武侯区", "青羊区", "成华区", "高新区"]),
            ("绵阳市", "0816", &["涪城区", "游仙区"]),
        ],
    ),
    ("贵州省", "southwest", &[("贵阳市", "0851", &["南明区", "云岩区", "观山湖区"])]),
    (
        "云南省",
        "southwest",
        &[("昆明市", "0871", &["五华区", "盘龙区", "官渡区"]), ("大理白族自治州", "0872", &["大理市"])],
    ),
];

/// (surname, pinyin) — the common ones first, so picking with a skew gives realistic frequencies.
const SURNAMES: &[(&str, &str)] = &[
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("高", "gao"),
    ("林", "lin"),
    ("罗", "luo"),
    ("郑", "zheng"),
    ("梁", "liang"),
    ("谢", "xie"),
    ("宋", "song"),
    ("唐", "tang"),
    ("许", "xu"),
    ("韩", "han"),
    ("冯", "feng"),
    ("邓", "deng"),
    ("曹", "cao"),
    ("彭", "peng"),
    ("曾", "zeng"),
    ("肖", "xiao"),
    ("田", "tian"),
    ("董", "dong"),
    ("袁", "yuan"),
    ("潘", "pan"),
    ("于", "yu"),
    ("蒋", "jiang"),
    ("蔡", "cai"),
    ("余", "yu"),
    ("杜", "du"),
    ("叶", "ye"),
    ("程", "cheng"),
    ("苏", "su"),
    ("魏", "wei"),
    ("吕", "lv"),
    ("丁", "ding"),
    ("任", "ren"),
    ("沈", "shen"),
    ("姚", "yao"),
    ("卢", "lu"),
    ("姜", "jiang"),
    ("崔", "cui"),
    ("钟", "zhong"),
    ("谭", "tan"),
    ("陆", "lu"),
    ("汪", "wang"),
    ("范", "fan"),
    ("金", "jin"),
    ("石", "shi"),
    ("廖", "liao"),
    ("贾", "jia"),
    ("夏", "xia"),
    ("韦", "wei"),
    ("方", "fang"),
    ("白", "bai"),
    ("邹", "zou"),
    ("孟", "meng"),
    ("熊", "xiong"),
    ("秦", "qin"),
    ("邱", "qiu"),
    ("江", "jiang"),
    ("尹", "yin"),
    ("薛", "xue"),
    ("段", "duan"),
    ("雷", "lei"),
    ("侯", "hou"),
    ("龙", "long"),
    ("史", "shi"),
    ("陶", "tao"),
    ("黎", "li"),
    ("贺", "he"),
    ("顾", "gu"),
    ("毛", "mao"),
    ("郝", "hao"),
    ("龚", "gong"),
    ("邵", "shao"),
    ("万", "wan"),
    ("钱", "qian"),
    ("严", "yan"),
    ("覃", "qin"),
    ("武", "wu"),
    ("戴", "dai"),
    ("莫", "mo"),
    ("孔", "kong"),
    ("欧阳", "ouyang"),
    ("司马", "sima"),
    ("上官", "shangguan"),
    ("诸葛", "zhuge"),
];

const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
    "秀兰", "霞", "平", "刚", "桂英", "建华", "建国", "志强", "海燕", "晓明", "文", "华", "玲", "辉", "鹏", "宇", "浩",
    "婷", "雪", "倩", "欣", "俊", "斌", "凯", "鑫", "波", "宁", "琳", "红", "飞", "亮", "峰", "晨", "阳", "颖", "佳",
    "博", "然", "子涵", "梓萱", "浩然", "雨轩", "思远", "嘉怡", "俊杰", "文博", "国强", "德明", "玉兰", "春梅", "志刚",
    "立新", "卫东", "红梅", "建军", "小红", "丹", "慧", "瑶", "昊", "睿", "轩", "琪",
];

const EN_FIRST: &[&str] = &[
    "James",
    "Mary",
    "John",
    "Linda",
    "Michael",
    "David",
    "Sarah",
    "Emma",
    "Oliver",
    "Thomas",
    "Anna",
    "Peter",
    "Robert",
    "Jennifer",
    "William",
    "Elizabeth",
    "Daniel",
    "Sophie",
    "Lucas",
    "Hannah",
    "Kevin",
    "Grace",
];
const EN_LAST: &[&str] = &[
    "Smith", "Johnson", "Brown", "Miller", "Wilson", "Taylor", "Anderson", "Martin", "Clark", "Walker", "Young",
    "Schmidt", "Müller", "Dubois", "Tanaka", "Kim", "Nguyen", "Rossi", "Hughes", "Baker",
];
const EN_COMPANY: &[&str] = &[
    "Pacific",
    "Sino-German",
    "Evergreen",
    "Harbor",
    "Summit",
    "Northstar",
    "Bluewater",
    "Orient",
    "Crown",
    "Keystone",
    "Silverline",
    "Greenfield",
];
const EN_INDUSTRY: &[&str] =
    &["Trading", "Machinery", "Engineering", "Facilities", "Cold Chain", "Hotel Management", "Technology", "Logistics"];

/// (brand word, pinyin for e-mail domains)
const BRANDS: &[(&str, &str)] = &[
    ("华信", "huaxin"),
    ("恒通", "hengtong"),
    ("宏远", "hongyuan"),
    ("金泰", "jintai"),
    ("鑫源", "xinyuan"),
    ("永昌", "yongchang"),
    ("德信", "dexin"),
    ("瑞丰", "ruifeng"),
    ("盛达", "shengda"),
    ("天成", "tiancheng"),
    ("中泰", "zhongtai"),
    ("东方", "dongfang"),
    ("联创", "lianchuang"),
    ("博远", "boyuan"),
    ("三友", "sanyou"),
    ("远航", "yuanhang"),
    ("佳美", "jiamei"),
    ("华联", "hualian"),
    ("新世纪", "xinshiji"),
    ("汇通", "huitong"),
    ("安泰", "antai"),
    ("正大", "zhengda"),
    ("宏达", "hongda"),
    ("兴业", "xingye"),
    ("金桥", "jinqiao"),
    ("广源", "guangyuan"),
    ("同创", "tongchuang"),
    ("长城", "changcheng"),
    ("明珠", "mingzhu"),
    ("华美", "huamei"),
    ("永信", "yongxin"),
    ("海诚", "haicheng"),
    ("嘉禾", "jiahe"),
    ("百川", "baichuan"),
    ("凯达", "kaida"),
];
const INDUSTRIES: &[&str] = &[
    "机电",
    "物业",
    "商贸",
    "科技",
    "制冷设备",
    "机电设备",
    "暖通工程",
    "物业管理",
    "酒店管理",
    "餐饮管理",
    "电子",
    "实业",
    "建设工程",
    "冷链物流",
    "医疗器械",
    "食品",
    "纺织",
    "化工",
    "置业",
    "环保科技",
    "电器",
    "空调工程",
];
const COMPANY_SUFFIX: &[&str] = &["有限公司", "有限公司", "有限公司", "有限责任公司", "股份有限公司", "集团有限公司"];
/// Institutions that are customers too: (prefix kind, suffix)
const INSTITUTIONS: &[&str] = &[
    "大酒店",
    "宾馆",
    "人民医院",
    "中心医院",
    "实验学校",
    "第一中学",
    "购物中心",
    "商厦",
    "体育馆",
    "图书馆",
    "数据中心",
    "冷库",
    "超市",
    "国际会展中心",
];
const STREETS: &[&str] = &[
    "人民路",
    "解放路",
    "中山路",
    "建设路",
    "和平路",
    "新华路",
    "长江路",
    "黄河路",
    "朝阳路",
    "胜利路",
    "工业大道",
    "科技路",
    "高新大道",
    "滨江路",
    "东风路",
    "学府路",
    "迎宾大道",
    "光明路",
    "幸福路",
    "文化路",
    "青年路",
    "花园路",
    "南京路",
    "北京路",
    "延安路",
    "世纪大道",
    "振兴路",
    "开发区纬二路",
    "经济技术开发区创业路",
];
const POSITIONS: &[&str] = &[
    "总经理",
    "工程部经理",
    "设备科长",
    "采购主管",
    "后勤处长",
    "物业经理",
    "设备主管",
    "机电工程师",
    "行政主管",
    "店长",
    "厂长",
    "财务",
    "值班电工",
    "前台",
    "动力科主任",
];
const TAGS: &[&str] = &[
    "经销商",
    "物业",
    "酒店",
    "商场",
    "医院",
    "学校",
    "工厂",
    "政府机关",
    "写字楼",
    "个人用户",
    "重点",
    "中央空调",
    "冷链",
    "数据中心",
    "餐饮",
    "长期合作",
    "年度维保合同",
    "新客户",
    "需回访",
    "VIP",
];
const PRODUCTS: &[&str] =
    &["空调", "中央空调", "螺杆机", "冷水机组", "风机盘管", "多联机", "热泵", "电风扇", "除湿机", "电动汽车"];
/// Sentences of after-sales notes; `{p}` is a product, `{n}` a small number, `{m}` a month.
const NOTES: &[&str] = &[
    "{p}压缩机异响，已安排上门检修。",
    "室内机漏水，排水管堵塞，清理后正常。",
    "每年{m}月前需安排{p}保养。",
    "客户反映{p}制冷效果差，检测为缺氟，已加氟。",
    "机房有{n}台{p}，签有年度维保合同。",
    "外机噪音大，更换风扇电机。",
    "控制器报E{n}故障，更换主板后恢复。",
    "夏季高峰前需提前预约保养。",
    "对维修服务满意，建议定期回访。",
    "保修期内免费更换压缩机一次。",
    "动力电池续航下降，已预约检测。",
    "冷凝器清洗，过滤网更换。",
    "投诉上门不及时，已致歉并安排回访。",
    "{p}不启动，检查为电源板烧坏，已维修。",
    "客户要求开具维修发票。",
    "安装位置高，维修需准备登高设备。",
    "{p}制热慢，四通阀故障，待配件到货。",
    "共{n}台{p}，分布在{n}个楼层。",
    "联系人中午休息，上门请提前电话预约。",
    "三包期内第{n}次维修，注意是否需要换货。",
];
const DEALER_KIND: &[&str] = &["销售公司", "电器商行", "专卖店", "家电城", "机电设备公司", "4S店"];
const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155", "156", "157",
    "158", "159", "166", "173", "177", "180", "181", "182", "183", "185", "186", "187", "188", "189", "198", "199",
];
const MAIL_DOMAINS: &[&str] = &["qq.com", "163.com", "126.com", "sina.com", "foxmail.com"];

// ------------------------------------------------------------------ customers

struct CustomerPlan {
    seed: u64,
    first_id: i64,
    total: u64,
    catalogue: Arc<Catalogue>,
}

impl CustomerPlan {
    fn batch(&self, b: u64) -> Vec<NewCustomer> {
        let mut rng = Rng::for_batch(self.seed, 1, b);
        let start = b * CUSTOMER_BATCH;
        let end = (start + CUSTOMER_BATCH).min(self.total);
        (start..end).map(|i| self.customer(&mut rng, self.first_id + i as i64)).collect()
    }

    fn customer(&self, rng: &mut Rng, id: i64) -> NewCustomer {
        let (province, region_hint, cities) = *rng.pick(PROVINCES);
        let &(city, area, districts) = rng.pick(cities);
        let district = *rng.pick(districts);
        let regions = &self.catalogue.regions;
        let region_code = if regions.is_empty() {
            None
        } else if regions.iter().any(|r| r == region_hint) {
            Some(region_hint.to_string())
        } else {
            Some(regions[(province.len() + city.len()) % regions.len()].clone())
        };
        let class = match rng.below(100) {
            0..10 => "A",
            10..40 => "B",
            _ => "C",
        };
        let key_customer = match class {
            "A" => rng.percent(50),
            "B" => rng.percent(10),
            _ => rng.percent(1),
        };
        let english = rng.percent(4);
        let person = rng.percent(30);
        let (kind, name, brand_pinyin) = if person {
            let (n, py) = person_name(rng, english);
            ("person", n, py)
        } else {
            let (n, py) = company_name(rng, city, district, english);
            ("company", n, py)
        };
        let address = address(rng, person);
        let phone = match (person, rng.below(100)) {
            (_, 0..5) => None,
            (true, _) | (false, 0..30) => Some(mobile(rng)),
            (false, _) => Some(landline(rng, area)),
        };
        let email = if rng.percent(if person { 30 } else { 50 }) {
            Some(if person {
                let mut s = brand_pinyin.clone();
                let n = rng.range(2, 4) as usize;
                rng.digits(n, &mut s);
                format!("{s}@{}", rng.pick(MAIL_DOMAINS))
            } else {
                format!("{}@{}.com.cn", rng.pick(&["service", "info", "admin", "sales", "hr"]), brand_pinyin)
            })
        } else {
            None
        };
        let mut tags: Vec<&str> = vec![];
        for _ in 0..rng.below(4) {
            let t = *rng.pick(TAGS);
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        let notes = notes(rng);
        let n_contacts = if person { rng.below(2) } else { rng.range(1, 3) };
        let mut contacts = Vec::with_capacity(n_contacts as usize);
        for _ in 0..n_contacts {
            let english_contact = english && rng.percent(50);
            let (cname, _) = person_name(rng, english_contact);
            contacts.push(Contact {
                name: cname,
                phone: if rng.percent(90) { Some(mobile(rng)) } else { Some(landline(rng, area)) },
                email: None,
                position: if person { "家属".into() } else { rng.pick(POSITIONS).to_string() },
            });
        }
        let mut phones: Vec<String> = phone.iter().cloned().collect();
        for ct in &contacts {
            if let Some(p) = &ct.phone
                && !phones.contains(p)
            {
                phones.push(p.clone());
            }
        }
        let data = CustomerData {
            kind: kind.into(),
            name,
            class: class.into(),
            key_customer,
            region_code,
            province: province.into(),
            city: city.into(),
            district: district.into(),
            address,
            phone,
            email,
            tags: tags.join(","),
            notes,
        };
        let terms = crate::service::archive::search_terms(&data, &contacts);
        NewCustomer { id, data, contacts, phones, terms }
    }
}

/// A skew towards the first entries, as surnames are (王, 李, 张 are a fifth of China).
fn skewed<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    let a = rng.below(items.len() as u64);
    let b = rng.below(items.len() as u64);
    &items[a.min(b) as usize]
}

/// (name, lower-case latin handle for e-mails)
fn person_name(rng: &mut Rng, english: bool) -> (String, String) {
    if english {
        let first = *rng.pick(EN_FIRST);
        let last = *rng.pick(EN_LAST);
        return (format!("{first} {last}"), format!("{}.{}", first.to_lowercase(), last.to_lowercase()));
    }
    let &(surname, pinyin) = skewed(rng, SURNAMES);
    let given = *rng.pick(GIVEN);
    (format!("{surname}{given}"), pinyin.to_string())
}

fn company_name(rng: &mut Rng, city: &str, district: &str, english: bool) -> (String, String) {
    let &(brand, pinyin) = rng.pick(BRANDS);
    if english {
        let b = *rng.pick(EN_COMPANY);
        let name = format!("{b} {} Co., Ltd.", rng.pick(EN_INDUSTRY));
        return (name, b.to_lowercase().replace('-', ""));
    }
    let place = city.trim_end_matches('市');
    let name = match rng.below(10) {
        0 => format!("{place}{brand}{}", rng.pick(INSTITUTIONS)),
        1 => format!(
            "{}{brand}{}{}",
            district.trim_end_matches(['区', '县']),
            rng.pick(INDUSTRIES),
            rng.pick(COMPANY_SUFFIX)
        ),
        2 => format!("{place}市第{}人民医院", ["一", "二", "三", "四", "五", "六"][rng.below(6) as usize]),
        _ => format!("{place}{brand}{}{}", rng.pick(INDUSTRIES), rng.pick(COMPANY_SUFFIX)),
    };
    (name, format!("{}{}", pinyin, rng.below(100)))
}

fn address(rng: &mut Rng, person: bool) -> String {
    let street = *rng.pick(STREETS);
    let no = rng.range(1, 999);
    match (person, rng.below(3)) {
        (true, _) => format!("{street}{no}号{}幢{}室", rng.range(1, 30), rng.range(1, 33) * 100 + rng.range(1, 4)),
        (false, 0) => format!("{street}{no}号{}楼", rng.range(1, 28)),
        (false, 1) => {
            format!("{street}{no}号工业园{}区{}号厂房", ["A", "B", "C", "D"][rng.below(4) as usize], rng.range(1, 20))
        }
        (false, _) => format!("{street}{no}号"),
    }
}

fn mobile(rng: &mut Rng) -> String {
    let mut s = String::with_capacity(11);
    s.push_str(rng.pick::<&str>(MOBILE_PREFIXES));
    rng.digits(8, &mut s);
    s
}

/// Area code and a local number that does not start with 0 or 1 (7 digits after 4-digit codes
/// in smaller cities, 8 otherwise).
fn landline(rng: &mut Rng, area: &str) -> String {
    let mut s = String::with_capacity(12);
    s.push_str(area);
    s.push(char::from(b'2' + rng.below(7) as u8));
    let n = if area.len() == 4 && rng.percent(30) { 6 } else { 7 };
    rng.digits(n, &mut s);
    s
}

fn notes(rng: &mut Rng) -> String {
    let n = match rng.below(10) {
        0..2 => 0,
        2..6 => 1,
        6..9 => 2,
        _ => 3,
    };
    let mut s = String::new();
    for _ in 0..n {
        let t = *rng.pick(NOTES);
        let filled = t
            .replace("{p}", rng.pick::<&str>(PRODUCTS))
            .replace("{n}", &rng.range(2, 12).to_string())
            .replace("{m}", &rng.range(3, 10).to_string());
        s.push_str(&filled);
    }
    s
}

// ------------------------------------------------------------------ units

enum Owners {
    /// Customers of this run: first id, count.
    Range(i64, i64),
    /// Customers already there.
    List(Vec<i64>),
}

struct UnitPlan {
    seed: u64,
    first_id: i64,
    total: u64,
    today: NaiveDate,
    owners: Owners,
    catalogue: Arc<Catalogue>,
}

impl UnitPlan {
    fn batch(&self, b: u64) -> anyhow::Result<Vec<NewUnit>> {
        let mut rng = Rng::for_batch(self.seed, 2, b);
        let start = b * UNIT_BATCH;
        let end = (start + UNIT_BATCH).min(self.total);
        let n = (end - start) as usize;
        let mut secret = vec![0u8; n * 16];
        getrandom::fill(&mut secret).context("the operating system's random source failed")?;
        Ok((0..n)
            .map(|k| {
                let id = self.first_id + (start as i64) + k as i64;
                self.unit(&mut rng, id, hex(&secret[k * 16..k * 16 + 16]))
            })
            .collect())
    }

    fn unit(&self, rng: &mut Rng, id: i64, public_token: String) -> NewUnit {
        let model = rng.pick(&self.catalogue.models);
        let customer_id = match &self.owners {
            Owners::Range(first, n) => first + rng.below(*n as u64) as i64,
            Owners::List(ids) => *rng.pick(ids),
        };
        let sale = self.today - chrono::Duration::days(rng.below(5 * 365 + 1) as i64);
        let year = chrono::Datelike::year(&sale);
        // Unique by construction: the model's prefix, the sale year and the unit's own id.
        let serial = if model.category == "vehicle" {
            // 17 characters like a VIN: maker+model (7), year letter, 9-digit sequence.
            let year_code = b"ABCDEFGHJKLMNPRSTVWXY123456789"[(year - 2010).rem_euclid(30) as usize] as char;
            format!("{}{year_code}{id:09}", model.serial_prefix)
        } else {
            format!("{}{:02}{id:08}", model.serial_prefix, year % 100)
        };
        let invoice_date = (rng.percent(90)).then(|| sale + chrono::Duration::days(rng.below(4) as i64));
        let invoice_no = invoice_date.map(|d| {
            // 全电发票 numbers (20 digits) since December 2024; 8-digit paper invoices before.
            let mut s = String::new();
            if d >= NaiveDate::from_ymd_opt(2024, 12, 1).expect("valid date") {
                s.push_str(&format!("{:02}", year % 100));
                rng.digits(18, &mut s);
            } else {
                rng.digits(8, &mut s);
            }
            s
        });
        let delivery_date = rng.percent(70).then(|| sale + chrono::Duration::days(rng.below(8) as i64));
        let install_date = match model.category {
            "air_conditioner" | "compressor" => {
                Some(delivery_date.unwrap_or(sale) + chrono::Duration::days(rng.below(6) as i64))
            }
            _ => None,
        };
        let certificate_no = rng.percent(60).then(|| format!("SB{year}{id:09}"));
        let odometer_km = (model.category == "vehicle").then(|| {
            let age = (self.today - sale).num_days().max(0) as u64;
            (age * rng.range(10, 60)) as i64
        });
        let city = rng.pick(PROVINCES).2[0].0.trim_end_matches('市');
        let dealer = format!("{city}{}{}", rng.pick(BRANDS).0, rng.pick(DEALER_KIND));
        let owned_from = chrono_tz::Asia::Shanghai
            .from_local_datetime(&sale.and_hms_opt(10, 0, 0).expect("valid time"))
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(Utc::now);
        NewUnit {
            id,
            data: UnitData {
                serial,
                model_id: model.id,
                customer_id,
                dealer,
                sale_date: Some(sale),
                invoice_no,
                invoice_date,
                delivery_date,
                install_date,
                certificate_no,
                odometer_km,
            },
            public_token,
            owned_from,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(seed: u64) -> CustomerPlan {
        let catalogue = Catalogue { regions: vec!["east".into(), "north".into()], models: vec![] };
        CustomerPlan { seed, first_id: 1, total: 300, catalogue: Arc::new(catalogue) }
    }

    #[test]
    fn customers_are_valid_and_follow_the_seed() {
        let mut errors = vec![];
        let a = plan(7).batch(0);
        assert_eq!(a.len(), 300);
        for c in &a {
            for p in &c.phones {
                crate::domain::user::parse_phone("phone", p, &mut errors);
            }
            if let Some(e) = &c.data.email {
                crate::domain::user::parse_email(e, &mut errors);
            }
            assert!(!c.data.name.is_empty() && c.data.name.chars().count() <= 100, "{}", c.data.name);
            assert!(c.data.region_code.as_deref().is_some_and(|r| r == "east" || r == "north"));
            assert_eq!(c.data.tags, crate::domain::archive::parse_tags(&c.data.tags));
        }
        assert!(errors.is_empty(), "{} invalid phones or e-mails", errors.len());
        let b = plan(7).batch(0);
        assert!(
            a.iter().zip(&b).all(|(x, y)| x.data.name == y.data.name && x.phones == y.phones && x.terms == y.terms)
        );
        let c = plan(8).batch(0);
        assert!(a.iter().zip(&c).filter(|(x, y)| x.data.name == y.data.name).count() < 30);
        let a_share = a.iter().filter(|c| c.data.class == "A").count();
        assert!((10..60).contains(&a_share), "class A is about 10 %: {a_share}");
    }

    #[test]
    fn random_numbers_are_uniform_enough() {
        let mut r = Rng::for_batch(1, 1, 0);
        let mut buckets = [0u32; 10];
        for _ in 0..10_000 {
            buckets[r.below(10) as usize] += 1;
        }
        assert!(buckets.iter().all(|&n| (900..1100).contains(&n)), "{buckets:?}");
        assert_eq!(hex(&[0x0f, 0xa0]), "0fa0");
    }
}
