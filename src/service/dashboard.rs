//! The management dashboard (R9.5): request volumes, open and overdue orders, SLA compliance,
//! satisfaction with its monthly trend, top faults and engineers' load, for a period, a region
//! and a product category.
//!
//! Speed at millions of orders: the figures of closed days (before the company's today) are
//! summed from `dashboard_day_stats`, which [`refresh`] fills: it catches up every closed day
//! not yet stored (the first run after the migration is the backfill), and recounts the days of
//! orders changed since its last run (a late completion, an edit, a clock stopped, and the
//! completion day a reopened order no longer names, marked by the reopening) — so a past
//! day is at most one run (five minutes) stale, and the page says as of when. Days from the
//! stored end to today, and the orders open now and the clocks still running, are counted live
//! from indexed rows. One instance works at a time (a lease in `dashboard_state`); a day is
//! replaced in one transaction, so running it again changes nothing. Results are kept for
//! [`CACHE_SECONDS`] per (period, region, category, team) in each instance.
//!
//! Teams: an order counts for the team its engineer was in when it was assigned to him
//! (`work_orders.team_id`, written by the assignment), so a team's past figures do not move
//! when engineers change teams. The day figures hold every fact twice — in the totals and in
//! its team's rows — so a team's dashboard reads its own rows only.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rules::period::{self, Period};
use rules::work_order::{Channel, Kind, Status};
use serde::Serialize;

use super::Actor;
use super::work_orders::{local_day, midnight};
use crate::db::Db;
use crate::domain::{Perm, Role};
use crate::error::{AppError, AppResult};
use crate::store;
use crate::store::dashboard::{Fact, Scope};

/// How long an instance reuses a computed dashboard.
pub const CACHE_SECONDS: u64 = 30;
/// How often the aggregation runs on each instance (the lease lets one work at a time).
pub const REFRESH_EVERY: Duration = Duration::from_secs(300);
/// Top faults and busiest engineers shown.
pub const TOP: usize = 10;
/// Months in the satisfaction trend.
pub const TREND_MONTHS: u32 = 12;
/// A lease older than this is taken over (its holder died).
const LEASE_SECONDS: i64 = 600;
/// Orders changed this long before the last run's start are looked at again (a transaction
/// that began before the run may commit after it).
const CHANGE_MARGIN_SECONDS: i64 = 120;

/// Who sees the dashboard: managers, quality, admin, and dispatchers (their region only).
pub fn may_read(actor: &Actor) -> bool {
    actor.roles.iter().any(|r| {
        matches!(r, Role::Admin | Role::GeneralManager | Role::ServiceManager | Role::Quality | Role::Dispatcher)
    })
}

/// What the dashboard is asked for (already parsed).
#[derive(Clone, Debug)]
pub struct Query {
    pub period: Period,
    pub region: Option<String>,
    pub category: Option<String>,
    /// A team's id: the orders of its engineers.
    pub team: Option<i64>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PeriodView {
    /// quarter | month | range
    pub kind: String,
    /// 2026Q3, 2026-07 or FROM..TO
    pub label: String,
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// The quarters before and after (for a quarter).
    pub previous: Option<String>,
    pub next: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Headline {
    /// Orders registered in the period.
    pub created: i64,
    /// Orders completed in the period.
    pub completed: i64,
    /// Orders open now (not period-bound).
    pub open: i64,
    /// Open orders whose most urgent running clock ran out, now.
    pub overdue: i64,
    /// Satisfied answers of all answers given in the period, %.
    pub satisfaction_pct: Option<f64>,
    /// Clocks met in time of those decided or overdue, started in the period, %.
    pub sla_pct: Option<f64>,
}

/// A counted item with its names.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Count {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub count: i64,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct OpenStatus {
    pub status: String,
    pub name_zh: String,
    pub name_en: String,
    pub open: i64,
    pub overdue: i64,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SlaLine {
    pub target: String,
    pub name_zh: String,
    pub name_en: String,
    pub met: i64,
    pub met_late: i64,
    pub breached_open: i64,
    pub open: i64,
    /// met / (met + met_late + breached_open), %.
    pub compliance_pct: Option<f64>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MonthRate {
    /// YYYY-MM
    pub month: String,
    pub answers: i64,
    pub satisfied: i64,
    pub pct: Option<f64>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Satisfaction {
    pub answers: i64,
    pub satisfied: i64,
    pub pct: Option<f64>,
    /// Satisfied from this score (of 5).
    pub satisfied_from: i64,
    /// The objective's default target, %.
    pub target_pct: Option<f64>,
    /// The months ending with the period's last month, oldest first.
    pub months: Vec<MonthRate>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FaultCount {
    pub category: String,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub count: i64,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Load {
    pub engineer_id: i64,
    pub name: String,
    pub open: i64,
    pub overdue: i64,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    pub period: PeriodView,
    /// The region shown (a user without all regions always sees his own).
    pub region: Option<String>,
    pub category: Option<String>,
    /// The team shown: orders handled by its engineers (an order belongs to the team its
    /// engineer was in when assigned).
    pub team: Option<i64>,
    pub team_name: Option<String>,
    pub headline: Headline,
    pub by_channel: Vec<Count>,
    pub by_kind: Vec<Count>,
    pub open_by_status: Vec<OpenStatus>,
    pub sla: Vec<SlaLine>,
    pub satisfaction: Satisfaction,
    pub top_faults: Vec<FaultCount>,
    pub engineer_load: Vec<Load>,
    /// Days before this one come from the daily figures; from it on they are counted live.
    #[schema(value_type = Option<String>, format = Date)]
    pub stored_until: Option<NaiveDate>,
    /// When the daily figures were last brought up to date.
    pub past_days_as_of: Option<DateTime<Utc>>,
    /// When these figures were computed (repeats within 30 s are served from memory).
    pub computed_at: DateTime<Utc>,
}

// ------------------------------------------------------------------ caches

/// Dashboards per (database, period, region, category, team).
static RESULTS: LazyLock<super::Cached<String, Dashboard>> =
    LazyLock::new(|| super::Cached::new(Duration::from_secs(CACHE_SECONDS)));

/// Live facts of a day, shared by every filter and user (today's change; past days only while
/// the aggregation catches up).
static DAYS: LazyLock<super::Cached<(String, NaiveDate), Vec<Fact>>> =
    LazyLock::new(|| super::Cached::new(Duration::from_secs(CACHE_SECONDS)));

/// Forgets every cached figure of this instance (after an aggregation run).
pub fn forget() {
    RESULTS.clear();
    DAYS.clear();
}

async fn live_day(db: &Db, day: NaiveDate) -> AppResult<Arc<Vec<Fact>>> {
    DAYS.get_or((db.identity(), day), || async {
        let mut c = db.read().await?;
        let facts = store::dashboard::facts(
            c.conn(),
            midnight(day),
            midnight(day + TimeDelta::days(1)),
            i32::from(rules::care::SATISFIED_FROM),
        )
        .await?;
        Ok(facts)
    })
    .await
}

// ------------------------------------------------------------------ the dashboard

/// The region the actor may see: his own unless he sees all regions.
pub fn scoped_region(actor: &Actor, asked: Option<String>) -> Option<String> {
    match super::archive::region_scope(actor) {
        Some(mine) => Some(mine),
        None => asked,
    }
}

fn matches(f: &Fact, s: &Scope) -> bool {
    f.team == s.team.unwrap_or(0)
        && s.region.as_ref().is_none_or(|r| &f.region == r)
        && s.category.as_ref().is_none_or(|c| &f.category == c)
}

/// The team asked for, if the actor may see it: a user who sees one region picks among the
/// teams of his region.
async fn team_of(db: &Db, actor: &Actor, id: i64) -> AppResult<store::teams::Team> {
    super::teams::pickable(db, actor, id).await?.ok_or_else(|| AppError::one("team", "dashboard.error.team"))
}

/// (category, item) → (n, ok), summed.
type Sums = HashMap<(String, String), (i64, i64)>;

pub async fn dashboard(db: &Db, actor: &Actor, q: &Query) -> AppResult<Arc<Dashboard>> {
    if !may_read(actor) {
        return Err(AppError::Forbidden);
    }
    let team = match q.team {
        Some(id) => Some(team_of(db, actor, id).await?),
        None => None,
    };
    let scope = Scope {
        region: scoped_region(actor, q.region.clone()),
        category: q.category.clone(),
        team: team.as_ref().map(|t| t.id),
    };
    let key = format!(
        "{}|{}|{}|{:?}|{:?}|{:?}",
        db.identity(),
        q.period.from,
        q.period.to,
        scope.region,
        scope.category,
        scope.team
    );
    RESULTS
        .get_or(key, || async {
            let mut d = compute(db, q, &scope, Utc::now()).await?;
            d.team_name = team.map(|t| t.name);
            Ok(d)
        })
        .await
}

async fn compute(db: &Db, q: &Query, scope: &Scope, now: DateTime<Utc>) -> AppResult<Dashboard> {
    let p = &q.period;
    let today = local_day(now);
    let state = store::dashboard::state(db.read().await?.conn()).await?;
    // Stored: days before `done_to`; live: from there to today.
    let stored_end = state.done_to.map(|d| d - TimeDelta::days(1));
    let months = period::months_ending(p.to.min(today), TREND_MONTHS);
    let trend_from = months.first().copied().unwrap_or(p.from);
    let live_from = state.done_to.unwrap_or(NaiveDate::MIN).max(p.from.min(trend_from));
    let live_to = p.to.min(today);
    // Three independent reads, each on a connection of its own: a first view after a start
    // reads its pages from disk, and those waits overlap (at 5 M orders with the file out of
    // memory: 0.70 s one after the other).
    let stored = async {
        let mut c = db.read().await?;
        let mut sums: HashMap<&'static str, Sums> = HashMap::new();
        if let Some(end) = stored_end.map(|e| e.min(p.to))
            && end >= p.from
        {
            for m in ["channel", "kind", "completed", "fault", "sla", "survey"] {
                let rows = store::dashboard::sums(c.conn(), m, p.from, end, scope).await?;
                let s = sums.entry(m).or_default();
                for (cat, item, n, ok) in rows {
                    let e = s.entry((cat, item)).or_default();
                    e.0 += n;
                    e.1 += ok;
                }
            }
        }
        // Survey answers per day for the trend.
        let mut survey_days: Vec<(NaiveDate, i64, i64)> = vec![];
        if let Some(end) = stored_end.map(|e| e.min(p.to.min(today)))
            && end >= trend_from
        {
            survey_days = store::dashboard::per_day(c.conn(), "survey", trend_from, end, scope).await?;
        }
        AppResult::Ok((sums, survey_days))
    };
    let current = async {
        let mut c = db.read().await?;
        let open_rows = store::dashboard::open_now(c.conn(), scope, now).await?;
        let (start, end) = (midnight(p.from), midnight(p.to + TimeDelta::days(1)));
        let running = store::dashboard::running_clocks(c.conn(), start, end, scope, now).await?;
        let catalogue = store::work_orders::fault_codes(c.conn(), None).await?;
        AppResult::Ok((open_rows, running, catalogue))
    };
    let live = async {
        let mut days = vec![];
        let mut day = live_from;
        while day <= live_to {
            days.push((day, live_day(db, day).await?));
            day += TimeDelta::days(1);
        }
        AppResult::Ok(days)
    };
    let ((mut sums, mut survey_days), (open_rows, running, catalogue), live) = tokio::try_join!(stored, current, live)?;
    for (day, facts) in live {
        let in_period = day >= p.from && day <= p.to;
        let (mut answers, mut satisfied) = (0, 0);
        for f in facts.iter().filter(|f| matches(f, scope)) {
            if in_period {
                let e = sums.entry(f.measure).or_default().entry((f.category.clone(), f.item.clone())).or_default();
                e.0 += f.n;
                e.1 += f.ok;
            }
            if f.measure == "survey" {
                answers += f.n;
                satisfied += f.ok;
            }
        }
        if answers > 0 {
            survey_days.push((day, answers, satisfied));
        }
    }

    let by_item = |m: &str| -> Vec<(String, i64, i64)> {
        let mut acc: HashMap<String, (i64, i64)> = HashMap::new();
        for ((_, item), (n, ok)) in sums.get(m).into_iter().flatten() {
            let e = acc.entry(item.clone()).or_default();
            e.0 += n;
            e.1 += ok;
        }
        let mut v: Vec<(String, i64, i64)> = acc.into_iter().map(|(k, (n, ok))| (k, n, ok)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    };
    let by_channel: Vec<Count> = Channel::ALL
        .iter()
        .map(|ch| {
            let n = by_item("channel").iter().find(|r| r.0 == ch.code()).map(|r| r.1).unwrap_or(0);
            Count { code: ch.code().into(), name_zh: ch.name_zh().into(), name_en: ch.name_en().into(), count: n }
        })
        .collect();
    let by_kind: Vec<Count> = Kind::ALL
        .iter()
        .map(|k| {
            let n = by_item("kind").iter().find(|r| r.0 == k.code()).map(|r| r.1).unwrap_or(0);
            Count { code: k.code().into(), name_zh: k.name_zh().into(), name_en: k.name_en().into(), count: n }
        })
        .collect();
    let created: i64 = by_channel.iter().map(|c| c.count).sum();
    let completed: i64 = by_item("completed").iter().map(|r| r.1).sum();

    // Open now, by status and by engineer.
    let mut status_counts: HashMap<String, (i64, i64)> = HashMap::new();
    let mut engineer_counts: HashMap<i64, (i64, i64)> = HashMap::new();
    for (status, engineer, n, overdue) in &open_rows {
        let e = status_counts.entry(status.clone()).or_default();
        e.0 += n;
        e.1 += overdue;
        if let Some(id) = engineer {
            let e = engineer_counts.entry(*id).or_default();
            e.0 += n;
            e.1 += overdue;
        }
    }
    let open_by_status: Vec<OpenStatus> = store::work_orders::OPEN_STATUSES
        .iter()
        .map(|s| {
            let (open, overdue) = status_counts.get(*s).copied().unwrap_or_default();
            let st = Status::parse(s);
            OpenStatus {
                status: (*s).into(),
                name_zh: st.map(|x| x.name_zh()).unwrap_or(s).into(),
                name_en: st.map(|x| x.name_en()).unwrap_or(s).into(),
                open,
                overdue,
            }
        })
        .collect();
    let mut loads: Vec<(i64, i64, i64)> = engineer_counts.into_iter().map(|(id, (n, o))| (id, n, o)).collect();
    loads.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    loads.truncate(TOP);
    let names: HashMap<i64, String> = {
        let mut c = db.read().await?;
        let ids: Vec<i64> = loads.iter().map(|l| l.0).collect();
        store::dashboard::user_names(c.conn(), &ids).await?.into_iter().collect()
    };
    let engineer_load: Vec<Load> = loads
        .into_iter()
        .map(|(id, open, overdue)| Load {
            engineer_id: id,
            name: names.get(&id).cloned().unwrap_or_else(|| format!("#{id}")),
            open,
            overdue,
        })
        .collect();

    // SLA per target: stopped clocks from the facts, running ones live.
    let targets = rules::sla::builtin_policies();
    let target_name = |code: &str| {
        targets
            .iter()
            .flat_map(|p| p.targets.iter())
            .find(|t| t.code == code)
            .map(|t| (t.name_zh.clone(), t.name_en.clone()))
            .unwrap_or_else(|| (code.to_owned(), code.to_owned()))
    };
    let mut sla_map: std::collections::BTreeMap<String, (i64, i64, i64, i64)> = Default::default();
    for (t, n, ok) in by_item("sla") {
        let e = sla_map.entry(t).or_default();
        e.0 += ok;
        e.1 += n - ok;
    }
    for (t, late, pending) in running {
        let e = sla_map.entry(t).or_default();
        e.2 += late;
        e.3 += pending;
    }
    let order = |t: &str| match t {
        rules::sla::targets::FIRST_REPLY => 0,
        rules::sla::targets::ON_SITE => 1,
        rules::sla::targets::RESOLUTION => 2,
        _ => 3,
    };
    let mut sla: Vec<SlaLine> = sla_map
        .into_iter()
        .map(|(target, (met, met_late, breached_open, open))| {
            let (name_zh, name_en) = target_name(&target);
            SlaLine {
                compliance_pct: period::percent(met, met + met_late + breached_open),
                target,
                name_zh,
                name_en,
                met,
                met_late,
                breached_open,
                open,
            }
        })
        .collect();
    sla.sort_by_key(|l| (order(&l.target), l.target.clone()));
    let (sm, sd) = sla.iter().fold((0, 0), |(m, d), l| (m + l.met, d + l.met + l.met_late + l.breached_open));

    // Satisfaction.
    let (answers, satisfied) = by_item("survey").iter().fold((0, 0), |(a, s), r| (a + r.1, s + r.2));
    let months = period::by_month(&survey_days, &months)
        .into_iter()
        .map(|(m, a, s)| MonthRate {
            month: m.format("%Y-%m").to_string(),
            answers: a,
            satisfied: s,
            pct: period::percent(s, a),
        })
        .collect();

    // Top faults with the catalogue's names.
    let mut faults: Vec<FaultCount> = sums
        .get("fault")
        .into_iter()
        .flatten()
        .map(|((cat, code), (n, _))| {
            let f = catalogue.iter().find(|f| &f.category_code == cat && &f.code == code);
            FaultCount {
                category: cat.clone(),
                code: code.clone(),
                name_zh: f.map(|f| f.name_zh.clone()).unwrap_or_else(|| code.clone()),
                name_en: f.map(|f| f.name_en.clone()).unwrap_or_else(|| code.clone()),
                count: *n,
            }
        })
        .collect();
    faults.sort_by(|a, b| b.count.cmp(&a.count).then(a.category.cmp(&b.category)).then(a.code.cmp(&b.code)));
    faults.truncate(TOP);

    let (previous, next) = match (p.kind, period::parse_quarter(&p.label)) {
        ("quarter", Some((y, qn))) => {
            let (a, b) = period::neighbours(y, qn);
            (Some(a), Some(b))
        }
        _ => (None, None),
    };
    Ok(Dashboard {
        period: PeriodView { kind: p.kind.into(), label: p.label.clone(), from: p.from, to: p.to, previous, next },
        region: scope.region.clone(),
        category: scope.category.clone(),
        team: scope.team,
        team_name: None,
        headline: Headline {
            created,
            completed,
            open: open_by_status.iter().map(|s| s.open).sum(),
            overdue: open_by_status.iter().map(|s| s.overdue).sum(),
            satisfaction_pct: period::percent(satisfied, answers),
            sla_pct: period::percent(sm, sd),
        },
        by_channel,
        by_kind,
        open_by_status,
        sla,
        satisfaction: Satisfaction {
            answers,
            satisfied,
            pct: period::percent(satisfied, answers),
            satisfied_from: i64::from(rules::care::SATISFIED_FROM),
            target_pct: rules::metrics::Metric::Satisfaction.default_target(),
            months,
        },
        top_faults: faults,
        engineer_load,
        stored_until: state.done_to,
        past_days_as_of: state.refreshed_at,
        computed_at: now,
    })
}

// ------------------------------------------------------------------ the aggregation

#[derive(Clone, Debug, Default, Serialize)]
pub struct RefreshOutcome {
    /// Closed days stored for the first time.
    pub caught_up: usize,
    /// Stored days counted again because orders of theirs changed.
    pub recounted: usize,
    /// Rows written.
    pub rows: usize,
}

fn owner() -> &'static str {
    static O: OnceLock<String> = OnceLock::new();
    O.get_or_init(|| format!("{}-{}", std::process::id(), &super::new_secret().0[..12]))
}

async fn store_day(db: &Db, day: NaiveDate) -> AppResult<usize> {
    let facts = {
        let mut c = db.read().await?;
        store::dashboard::facts(
            c.conn(),
            midnight(day),
            midnight(day + TimeDelta::days(1)),
            i32::from(rules::care::SATISFIED_FROM),
        )
        .await?
    };
    let mut tx = db.begin().await?;
    store::dashboard::replace_day(tx.conn(), day, &facts).await?;
    tx.commit().await?;
    Ok(facts.len())
}

/// One aggregation run (see the module's notes); `None` when another instance holds the lease.
pub async fn refresh(db: &Db, now: DateTime<Utc>) -> AppResult<Option<RefreshOutcome>> {
    // The lease is per instance; runs inside one instance (the job, the command line, tests)
    // take turns here.
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = TURN.lock().await;
    let me = owner();
    let lease = |t: DateTime<Utc>| t + TimeDelta::seconds(LEASE_SECONDS);
    {
        let mut tx = db.begin().await?;
        if !store::dashboard::claim(tx.conn(), me, now, lease(now)).await? {
            return Ok(None);
        }
        tx.commit().await?;
    }
    let result = run(db, now, me, lease).await;
    let mut tx = db.begin().await?;
    store::dashboard::release(tx.conn(), me).await?;
    tx.commit().await?;
    if result.is_ok() {
        forget();
    }
    result.map(Some)
}

async fn run(
    db: &Db,
    started: DateTime<Utc>,
    me: &str,
    lease: impl Fn(DateTime<Utc>) -> DateTime<Utc>,
) -> AppResult<RefreshOutcome> {
    let today = local_day(started);
    let mut out = RefreshOutcome::default();
    let (state, first) = {
        let mut c = db.read().await?;
        let s = store::dashboard::state(c.conn()).await?;
        let first = if s.done_to.is_none() { store::dashboard::first_instant(c.conn()).await? } else { None };
        (s, first)
    };
    // Days of orders changed since the last run, among those already stored.
    let mut dirty: Vec<NaiveDate> = vec![];
    if let (Some(done_to), Some(checked)) = (state.done_to, state.checked_at) {
        let since = checked - TimeDelta::seconds(CHANGE_MARGIN_SECONDS);
        let mut c = db.read().await?;
        let instants = store::dashboard::changed_instants(c.conn(), since).await?;
        dirty = instants.into_iter().map(local_day).filter(|d| *d < done_to).collect();
        // Days the orders no longer name (a reopened order's completion).
        dirty.extend(store::dashboard::recount_days(c.conn(), since).await?.into_iter().filter(|d| *d < done_to));
        dirty.sort();
        dirty.dedup();
    }
    for day in dirty {
        out.rows += store_day(db, day).await?;
        out.recounted += 1;
    }
    // Closed days not stored yet: from the first day with data (the backfill) or the stored end.
    let mut day = match state.done_to {
        Some(d) => d,
        None => first.map(local_day).unwrap_or(today).min(today),
    };
    while day < today {
        out.rows += store_day(db, day).await?;
        out.caught_up += 1;
        let mut tx = db.begin().await?;
        store::dashboard::set_done_to(tx.conn(), day + TimeDelta::days(1)).await?;
        // Long backfills keep the lease alive.
        store::dashboard::claim(tx.conn(), me, Utc::now(), lease(Utc::now())).await?;
        tx.commit().await?;
        day += TimeDelta::days(1);
    }
    if out.caught_up > 7 {
        let mut c = db.hold_writer().await?;
        store::dashboard::analyze(c.conn()).await?;
    }
    let mut tx = db.begin().await?;
    if state.done_to.is_none() && out.caught_up == 0 {
        store::dashboard::set_done_to(tx.conn(), today).await?;
    }
    store::dashboard::set_checked(tx.conn(), started, Utc::now()).await?;
    if let Some(checked) = state.checked_at {
        store::dashboard::forget_recounts(tx.conn(), checked - TimeDelta::seconds(CHANGE_MARGIN_SECONDS)).await?;
    }
    tx.commit().await?;
    Ok(out)
}

/// Runs [`refresh`] until it gets the lease (another instance's run ends first); for the
/// command line and tests.
pub async fn refresh_now(db: &Db) -> AppResult<RefreshOutcome> {
    for _ in 0..600 {
        if let Some(o) = refresh(db, Utc::now()).await? {
            return Ok(o);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(AppError::Internal(anyhow::anyhow!("the dashboard aggregation's lease stayed taken")))
}

/// Whether the actor sees every region (the page then offers the region picker).
pub fn sees_all_regions(actor: &Actor) -> bool {
    actor.can(Perm::AllRegions)
}
