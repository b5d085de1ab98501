//! The management dashboard's figures (R9.5): facts counted from orders, clocks and surveys
//! over a time range (the aggregation job stores those of closed days in
//! `dashboard_day_stats`; today's are counted live with the same queries), sums of the stored
//! days, the open orders now, and the aggregation's state and lease.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::AssertSqlSafe;

use crate::db::Conn;
use crate::on_conn;
use crate::store::work_orders::OPEN_STATUSES;

/// One counted fact: `n` (and `ok`) of `measure`/`item` for a region and category, of all
/// orders (`team` 0) or of one team's orders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fact {
    pub measure: &'static str,
    pub team: i64,
    pub region: String,
    pub category: String,
    pub item: String,
    pub n: i64,
    pub ok: i64,
}

pub const MEASURES: [&str; 6] = ["channel", "kind", "completed", "fault", "sla", "survey"];

/// Every fact of `[start, end)`: orders created (by channel and by kind), completed (and by
/// fault), clocks started and since stopped (met in time or not), survey answers (satisfied
/// from `satisfied_from`). Each query walks a time index over the range only. Every fact comes
/// once as a total (team 0) and once more for the team of its orders, if they have one.
pub async fn facts(
    mut c: Conn<'_>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    satisfied_from: i32,
) -> sqlx::Result<Vec<Fact>> {
    let mut out = vec![];
    let created: Vec<(String, String, String, String, i64, i64)> = on_conn!(&mut c, |e| {
        sqlx::query_as(
            "SELECT COALESCE(region_code, '') AS r, COALESCE(category_code, '') AS c, channel, kind, \
             COALESCE(team_id, 0) AS t, COUNT(*) AS n \
             FROM work_orders WHERE created_at >= $1 AND created_at < $2 GROUP BY 1, 2, 3, 4, 5",
        )
        .bind(start)
        .bind(end)
        .fetch_all(&mut **e)
        .await
    })?;
    for (r, c, channel, kind, t, n) in created {
        push(
            &mut out,
            t,
            Fact { measure: "channel", team: 0, region: r.clone(), category: c.clone(), item: channel, n, ok: 0 },
        );
        push(&mut out, t, Fact { measure: "kind", team: 0, region: r, category: c, item: kind, n, ok: 0 });
    }
    let completed: Vec<(String, String, String, i64, i64)> = on_conn!(&mut c, |e| {
        sqlx::query_as(
            "SELECT COALESCE(region_code, '') AS r, COALESCE(category_code, '') AS c, COALESCE(fault_code, '') AS f, \
             COALESCE(team_id, 0) AS t, COUNT(*) AS n FROM work_orders WHERE completed_at >= $1 AND completed_at < $2 \
             GROUP BY 1, 2, 3, 4",
        )
        .bind(start)
        .bind(end)
        .fetch_all(&mut **e)
        .await
    })?;
    for (r, c, f, t, n) in completed {
        if !f.is_empty() {
            push(
                &mut out,
                t,
                Fact { measure: "fault", team: 0, region: r.clone(), category: c.clone(), item: f, n, ok: 0 },
            );
        }
        push(
            &mut out,
            t,
            Fact { measure: "completed", team: 0, region: r, category: c, item: String::new(), n, ok: 0 },
        );
    }
    // The same definitions as `store::sla::compliance`: cancelled clocks do not count; a stopped
    // clock without a recorded breach was met.
    let clocks: Vec<(String, String, String, i64, i64, i64)> = on_conn!(&mut c, |e| {
        sqlx::query_as(
            "SELECT COALESCE(o.region_code, '') AS r, COALESCE(o.category_code, '') AS c, k.target, \
             COALESCE(o.team_id, 0) AS t, COUNT(*) AS n, \
             CAST(SUM(CASE WHEN k.breached_at IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS ok \
             FROM work_order_clocks k JOIN work_orders o ON o.id = k.order_id \
             WHERE k.started_at >= $1 AND k.started_at < $2 AND k.stopped_at IS NOT NULL AND k.state <> 'cancelled' \
             GROUP BY 1, 2, 3, 4",
        )
        .bind(start)
        .bind(end)
        .fetch_all(&mut **e)
        .await
    })?;
    for (r, c, target, t, n, ok) in clocks {
        push(&mut out, t, Fact { measure: "sla", team: 0, region: r, category: c, item: target, n, ok });
    }
    // A survey's team is its order's.
    let surveys: Vec<(String, String, i64, i64, i64)> = on_conn!(&mut c, |e| {
        sqlx::query_as(
            "SELECT COALESCE(s.region_code, '') AS r, COALESCE(s.category_code, '') AS c, COALESCE(o.team_id, 0) AS t, \
             COUNT(*) AS n, CAST(SUM(CASE WHEN s.overall >= $3 THEN 1 ELSE 0 END) AS BIGINT) AS ok \
             FROM surveys s LEFT JOIN work_orders o ON o.id = s.order_id \
             WHERE s.answered_at >= $1 AND s.answered_at < $2 GROUP BY 1, 2, 3",
        )
        .bind(start)
        .bind(end)
        .bind(satisfied_from)
        .fetch_all(&mut **e)
        .await
    })?;
    for (r, c, t, n, ok) in surveys {
        push(&mut out, t, Fact { measure: "survey", team: 0, region: r, category: c, item: String::new(), n, ok });
    }
    Ok(merge(out))
}

/// The fact as a total, and once more as its team's (`team` 0: the orders have none).
fn push(out: &mut Vec<Fact>, team: i64, total: Fact) {
    if team != 0 {
        out.push(Fact { team, ..total.clone() });
    }
    out.push(total);
}

/// One fact per (measure, team, region, category, item), counts added (completed orders
/// arrive split by fault code, totals by team).
fn merge(facts: Vec<Fact>) -> Vec<Fact> {
    type Key = (&'static str, i64, String, String, String);
    let mut map: std::collections::BTreeMap<Key, (i64, i64)> = Default::default();
    for f in facts {
        let e = map.entry((f.measure, f.team, f.region, f.category, f.item)).or_default();
        e.0 += f.n;
        e.1 += f.ok;
    }
    map.into_iter()
        .map(|((measure, team, region, category, item), (n, ok))| Fact { measure, team, region, category, item, n, ok })
        .collect()
}

/// Replaces the stored facts of one day (inside the caller's transaction).
pub async fn replace_day(mut c: Conn<'_>, day: NaiveDate, facts: &[Fact]) -> sqlx::Result<()> {
    on_conn!(&mut c, |e| {
        sqlx::query("DELETE FROM dashboard_day_stats WHERE measure IN ('channel', 'kind', 'completed', 'fault', 'sla', 'survey') AND day = $1")
            .bind(day)
            .execute(&mut **e)
            .await
            .map(|_| ())
    })?;
    // Rows in chunks (SQLite allows 32,766 parameters; PostgreSQL 65,535).
    let per = 8;
    for chunk in facts.chunks(500) {
        let mut sql = String::from(
            "INSERT INTO dashboard_day_stats (measure, team_id, day, region_code, category_code, item, n, ok) VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * per;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8
            ));
        }
        on_conn!(&mut c, |e| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for f in chunk {
                q = q
                    .bind(f.measure)
                    .bind(f.team)
                    .bind(day)
                    .bind(&f.region)
                    .bind(&f.category)
                    .bind(&f.item)
                    .bind(f.n)
                    .bind(f.ok);
            }
            q.execute(&mut **e).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Which stored rows a sum reads: days `from..=to` (only those before `done_to` are stored),
/// optionally one region, one category and one team.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub region: Option<String>,
    pub category: Option<String>,
    pub team: Option<i64>,
}

/// The scope's conditions on region and category, numbered from `first` (bound in that order).
fn scope_sql(s: &Scope, first: usize) -> String {
    let mut out = String::new();
    let mut n = first;
    if s.region.is_some() {
        out.push_str(&format!(" AND region_code = ${n}"));
        n += 1;
    }
    if s.category.is_some() {
        out.push_str(&format!(" AND category_code = ${n}"));
    }
    out
}

/// The scope's conditions on the orders themselves (open now): region, category, team.
fn orders_scope_sql(s: &Scope, prefix: &str, first: usize) -> String {
    let mut out = String::new();
    let mut n = first;
    if s.region.is_some() {
        out.push_str(&format!(" AND {prefix}region_code = ${n}"));
        n += 1;
    }
    if s.category.is_some() {
        out.push_str(&format!(" AND {prefix}category_code = ${n}"));
        n += 1;
    }
    if s.team.is_some() {
        out.push_str(&format!(" AND {prefix}team_id = ${n}"));
    }
    out
}

/// (category, item, n, ok) of a measure over the stored days `from..=to`.
pub async fn sums(
    c: Conn<'_>,
    measure: &str,
    from: NaiveDate,
    to: NaiveDate,
    s: &Scope,
) -> sqlx::Result<Vec<(String, String, i64, i64)>> {
    let sql = format!(
        "SELECT category_code, item, CAST(SUM(n) AS BIGINT) AS n, CAST(SUM(ok) AS BIGINT) AS ok \
         FROM dashboard_day_stats WHERE measure = $1 AND team_id = $4 AND day >= $2 AND day <= $3{} \
         GROUP BY category_code, item",
        scope_sql(s, 5)
    );
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql)).bind(measure).bind(from).bind(to).bind(s.team.unwrap_or(0));
        if let Some(r) = &s.region {
            q = q.bind(r);
        }
        if let Some(k) = &s.category {
            q = q.bind(k);
        }
        q.fetch_all(&mut *e).await
    })
}

/// (day, n, ok) of a measure per stored day `from..=to`.
pub async fn per_day(
    c: Conn<'_>,
    measure: &str,
    from: NaiveDate,
    to: NaiveDate,
    s: &Scope,
) -> sqlx::Result<Vec<(NaiveDate, i64, i64)>> {
    let sql = format!(
        "SELECT day, CAST(SUM(n) AS BIGINT) AS n, CAST(SUM(ok) AS BIGINT) AS ok \
         FROM dashboard_day_stats WHERE measure = $1 AND team_id = $4 AND day >= $2 AND day <= $3{} \
         GROUP BY day ORDER BY day",
        scope_sql(s, 5)
    );
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql)).bind(measure).bind(from).bind(to).bind(s.team.unwrap_or(0));
        if let Some(r) = &s.region {
            q = q.bind(r);
        }
        if let Some(k) = &s.category {
            q = q.bind(k);
        }
        q.fetch_all(&mut *e).await
    })
}

fn open_in() -> String {
    OPEN_STATUSES.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
}

/// Open orders now: (status, engineer, orders, overdue) — overdue as the order lists count it:
/// the most urgent running clock's due time has passed (`sla_due_at`). Read from the covering
/// index `work_orders_open` alone, whatever the scope.
pub async fn open_now(
    c: Conn<'_>,
    s: &Scope,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<(String, Option<i64>, i64, i64)>> {
    let sql = format!(
        "SELECT status, engineer_id, COUNT(*) AS n, \
         CAST(SUM(CASE WHEN sla_due_at < $1 THEN 1 ELSE 0 END) AS BIGINT) AS overdue \
         FROM work_orders WHERE status IN ({}){} GROUP BY status, engineer_id",
        open_in(),
        orders_scope_sql(s, "", 2)
    );
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql)).bind(now);
        if let Some(r) = &s.region {
            q = q.bind(r);
        }
        if let Some(k) = &s.category {
            q = q.bind(k);
        }
        if let Some(t) = s.team {
            q = q.bind(t);
        }
        q.fetch_all(&mut *e).await
    })
}

/// Running clocks started in `[start, end)`: (target, breached or past due, not yet due), as
/// `store::sla::compliance` counts `breached_open` and `open`. Both sides are read from their
/// covering indexes only (migration 0028): the clocks from `work_order_clocks_running`, and,
/// narrowed to a scope, the ids of the scope's open orders from `work_orders_open` (a running
/// clock's order is open: completing, closing and cancelling stop every clock). The `+` keeps
/// SQLite from probing the clocks by order, which read each clock's row (0.6 s cold at 5 M);
/// to PostgreSQL it is a no-op.
pub async fn running_clocks(
    c: Conn<'_>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    s: &Scope,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<(String, i64, i64)>> {
    let cond = orders_scope_sql(s, "", 4);
    let in_scope = if cond.is_empty() {
        String::new()
    } else {
        format!(" AND +k.order_id IN (SELECT id FROM work_orders WHERE status IN ({}){cond})", open_in())
    };
    let sql = format!(
        "SELECT k.target, \
         CAST(SUM(CASE WHEN k.breached_at IS NOT NULL OR k.due_at < $3 THEN 1 ELSE 0 END) AS BIGINT) AS late, \
         CAST(SUM(CASE WHEN k.breached_at IS NULL AND (k.due_at IS NULL OR k.due_at >= $3) THEN 1 ELSE 0 END) AS BIGINT) \
           AS pending \
         FROM work_order_clocks k \
         WHERE k.stopped_at IS NULL AND k.started_at >= $1 AND k.started_at < $2 AND k.state <> 'cancelled'{in_scope} \
         GROUP BY k.target"
    );
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql)).bind(start).bind(end).bind(now);
        if let Some(r) = &s.region {
            q = q.bind(r);
        }
        if let Some(k) = &s.category {
            q = q.bind(k);
        }
        if let Some(t) = s.team {
            q = q.bind(t);
        }
        q.fetch_all(&mut *e).await
    })
}

/// Display names of users.
pub async fn user_names(c: Conn<'_>, ids: &[i64]) -> sqlx::Result<Vec<(i64, String)>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let list = ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
    let sql = format!("SELECT id, display_name FROM users WHERE id IN ({list})");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).fetch_all(&mut *e).await)
}

// ------------------------------------------------------------------ the aggregation's state

#[derive(Clone, Debug, Default)]
pub struct State {
    pub done_to: Option<NaiveDate>,
    pub checked_at: Option<DateTime<Utc>>,
    pub refreshed_at: Option<DateTime<Utc>>,
}

type MaybeTime = Option<DateTime<Utc>>;

pub async fn state(c: Conn<'_>) -> sqlx::Result<State> {
    let row: Option<(Option<NaiveDate>, MaybeTime, MaybeTime)> = on_conn!(c, |e| {
        sqlx::query_as("SELECT done_to, checked_at, refreshed_at FROM dashboard_state WHERE id = 1")
            .fetch_optional(&mut *e)
            .await
    })?;
    Ok(row.map(|(done_to, checked_at, refreshed_at)| State { done_to, checked_at, refreshed_at }).unwrap_or_default())
}

/// Takes the lease until `until` unless another holder's lease is still running.
pub async fn claim(c: Conn<'_>, owner: &str, now: DateTime<Utc>, until: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE dashboard_state SET lease_owner = $1, lease_until = $2 \
             WHERE id = 1 AND (lease_until IS NULL OR lease_until < $3 OR lease_owner = $1)",
        )
        .bind(owner)
        .bind(until)
        .bind(now)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

pub async fn release(c: Conn<'_>, owner: &str) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query("UPDATE dashboard_state SET lease_until = NULL WHERE id = 1 AND lease_owner = $1")
            .bind(owner)
            .execute(&mut *e)
            .await
            .map(|_| ())
    })
}

pub async fn set_done_to(c: Conn<'_>, day: NaiveDate) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query("UPDATE dashboard_state SET done_to = $1 WHERE id = 1").bind(day).execute(&mut *e).await.map(|_| ())
    })
}

pub async fn set_checked(c: Conn<'_>, checked_at: DateTime<Utc>, refreshed_at: DateTime<Utc>) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query("UPDATE dashboard_state SET checked_at = $1, refreshed_at = $2 WHERE id = 1")
            .bind(checked_at)
            .bind(refreshed_at)
            .execute(&mut *e)
            .await
            .map(|_| ())
    })
}

/// Refreshes the planner's statistics of the stored figures (after a backfill, so the first
/// sums do not run on a plan made for an empty table).
pub async fn analyze(c: Conn<'_>) -> sqlx::Result<()> {
    on_conn!(c, |e| sqlx::query("ANALYZE dashboard_day_stats").execute(&mut *e).await.map(|_| ()))
}

/// The first instant anything the dashboard counts happened (orders, survey answers).
pub async fn first_instant(c: Conn<'_>) -> sqlx::Result<Option<DateTime<Utc>>> {
    let (o, s): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT (SELECT MIN(created_at) FROM work_orders) AS o, \
             (SELECT MIN(answered_at) FROM surveys WHERE answered_at IS NOT NULL) AS s",
        )
        .fetch_one(&mut *e)
        .await
    })?;
    Ok(match (o, s) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

/// The instants of orders changed since `since` that place facts on days: created, completed,
/// their clocks' starts and their surveys' answers.
pub async fn changed_instants(mut c: Conn<'_>, since: DateTime<Utc>) -> sqlx::Result<Vec<DateTime<Utc>>> {
    let rows: Vec<(DateTime<Utc>, MaybeTime, MaybeTime)> = on_conn!(&mut c, |e| {
        sqlx::query_as(
            "SELECT o.created_at, o.completed_at, k.started_at FROM work_orders o \
             LEFT JOIN work_order_clocks k ON k.order_id = o.id WHERE o.updated_at >= $1",
        )
        .bind(since)
        .fetch_all(&mut **e)
        .await
    })?;
    // Survey answers count for their order's team: a changed team moves them.
    let answers: Vec<DateTime<Utc>> = on_conn!(c, |e| {
        sqlx::query_scalar(
            "SELECT s.answered_at FROM work_orders o JOIN surveys s ON s.order_id = o.id \
             WHERE o.updated_at >= $1 AND s.answered_at IS NOT NULL",
        )
        .bind(since)
        .fetch_all(&mut *e)
        .await
    })?;
    let mut out = Vec::with_capacity(rows.len() * 2 + answers.len());
    for (a, b, k) in rows {
        out.push(a);
        out.extend(b);
        out.extend(k);
    }
    out.extend(answers);
    Ok(out)
}

/// Marks a stored day to be counted again at the next run (inside the caller's transaction):
/// a reopened order's completion day, which the order no longer names.
pub async fn mark_recount(c: Conn<'_>, day: NaiveDate, now: DateTime<Utc>) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query(
            "INSERT INTO dashboard_recount (day, marked_at) VALUES ($1, $2) \
             ON CONFLICT (day) DO UPDATE SET marked_at = excluded.marked_at",
        )
        .bind(day)
        .bind(now)
        .execute(&mut *e)
        .await
        .map(|_| ())
    })
}

/// The days marked since `since`.
pub async fn recount_days(c: Conn<'_>, since: DateTime<Utc>) -> sqlx::Result<Vec<NaiveDate>> {
    on_conn!(c, |e| {
        sqlx::query_scalar("SELECT day FROM dashboard_recount WHERE marked_at >= $1")
            .bind(since)
            .fetch_all(&mut *e)
            .await
    })
}

/// Forgets the marks older than `before` (every run after them has counted their days).
pub async fn forget_recounts(c: Conn<'_>, before: DateTime<Utc>) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query("DELETE FROM dashboard_recount WHERE marked_at < $1")
            .bind(before)
            .execute(&mut *e)
            .await
            .map(|_| ())
    })
}

#[cfg(test)]
mod tests {
    /// The partial index is used only when a statement names the same statuses in the same
    /// order as its definition.
    #[test]
    fn the_open_orders_index_lists_the_open_statuses() {
        let list = format!("status IN ({})", super::open_in());
        for migration in [
            include_str!("../../migrations/sqlite/0028_dashboard_live_indexes.sql"),
            include_str!("../../migrations/postgres/0028_dashboard_live_indexes.sql"),
        ] {
            assert!(migration.contains(&list), "{list} is not in the migration");
        }
    }
}
