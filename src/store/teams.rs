//! Service teams: a name, optionally a region and a leader, active or not, and their members
//! (an engineer belongs to at most one team: `users.team_id`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

use crate::db::Conn;
use crate::{from_row, on_conn};

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub id: i64,
    pub login: String,
    pub display_name: String,
    pub region_code: Option<String>,
    pub active: bool,
}
from_row!(Member { id: i64, login: String, display_name: String, region_code: Option<String>, active: bool });

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Team {
    pub id: i64,
    pub name: String,
    pub region_code: Option<String>,
    pub leader_id: Option<i64>,
    pub leader_name: Option<String>,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The engineers of the team, by name.
    pub members: Vec<Member>,
}

struct TeamRow {
    id: i64,
    name: String,
    region_code: Option<String>,
    leader_id: Option<i64>,
    leader_name: Option<String>,
    active: bool,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}
from_row!(TeamRow { id: i64, name: String, region_code: Option<String>, leader_id: Option<i64>,
    leader_name: Option<String>, active: bool, version: i64, created_at: DateTime<Utc>, updated_at: DateTime<Utc> });

const SELECT: &str = "SELECT t.id, t.name, t.region_code, t.leader_id, l.display_name AS leader_name, t.active, \
    t.version, t.created_at, t.updated_at FROM teams t LEFT JOIN users l ON l.id = t.leader_id";

async fn with_members(mut c: Conn<'_>, rows: Vec<TeamRow>) -> sqlx::Result<Vec<Team>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut members: Vec<(i64, Member)> = vec![];
    if !ids.is_empty() {
        let sql = format!(
            "SELECT team_id, id, login, display_name, region_code, active FROM users WHERE team_id IN ({}) \
             ORDER BY display_name, id",
            super::placeholders(1, ids.len())
        );
        let rows: Vec<(i64, i64, String, String, Option<String>, bool)> = on_conn!(&mut c, |e| {
            let mut q = sqlx::query_as(AssertSqlSafe(sql));
            for id in &ids {
                q = q.bind(id);
            }
            q.fetch_all(&mut **e).await
        })?;
        members = rows
            .into_iter()
            .map(|(t, id, login, display_name, region_code, active)| {
                (t, Member { id, login, display_name, region_code, active })
            })
            .collect();
    }
    Ok(rows
        .into_iter()
        .map(|r| Team {
            members: members.iter().filter(|(t, _)| *t == r.id).map(|(_, m)| m.clone()).collect(),
            id: r.id,
            name: r.name,
            region_code: r.region_code,
            leader_id: r.leader_id,
            leader_name: r.leader_name,
            active: r.active,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect())
}

pub async fn get(mut c: Conn<'_>, id: i64) -> sqlx::Result<Option<Team>> {
    let sql = format!("{SELECT} WHERE t.id = $1");
    let row: Option<TeamRow> =
        on_conn!(&mut c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut **e).await)?;
    Ok(with_members(c, row.into_iter().collect()).await?.pop())
}

/// Teams by name: of one region (None: all), active ones only or all.
pub async fn list(mut c: Conn<'_>, region: Option<&str>, active_only: bool) -> sqlx::Result<Vec<Team>> {
    let mut sql = format!("{SELECT} WHERE 1 = 1");
    if region.is_some() {
        sql.push_str(" AND t.region_code = $1");
    }
    if active_only {
        sql.push_str(" AND t.active = TRUE");
    }
    sql.push_str(" ORDER BY t.name, t.id");
    let rows: Vec<TeamRow> = on_conn!(&mut c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        if let Some(r) = region {
            q = q.bind(r);
        }
        q.fetch_all(&mut **e).await
    })?;
    with_members(c, rows).await
}

/// (id, name, region) of every team, for pickers and labels (no members).
pub async fn names(c: Conn<'_>) -> sqlx::Result<Vec<(i64, String, Option<String>, bool)>> {
    on_conn!(c, |e| {
        sqlx::query_as("SELECT id, name, region_code, active FROM teams ORDER BY name, id").fetch_all(&mut *e).await
    })
}

pub async fn id_by_name(c: Conn<'_>, name: &str) -> sqlx::Result<Option<i64>> {
    on_conn!(c, |e| sqlx::query_scalar("SELECT id FROM teams WHERE name = $1").bind(name).fetch_optional(&mut *e).await)
}

pub struct TeamData<'a> {
    pub name: &'a str,
    pub region_code: Option<&'a str>,
    pub leader_id: Option<i64>,
    pub active: bool,
}

pub async fn insert(c: Conn<'_>, t: &TeamData<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO teams (name, region_code, leader_id, active, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING id",
        )
        .bind(t.name)
        .bind(t.region_code)
        .bind(t.leader_id)
        .bind(t.active)
        .bind(now)
        .fetch_one(&mut *e)
        .await
    })
}

/// Update when `version` still matches; false on a stale version.
pub async fn update(c: Conn<'_>, id: i64, version: i64, t: &TeamData<'_>, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE teams SET name = $1, region_code = $2, leader_id = $3, active = $4, version = version + 1, \
             updated_at = $5 WHERE id = $6 AND version = $7",
        )
        .bind(t.name)
        .bind(t.region_code)
        .bind(t.leader_id)
        .bind(t.active)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Makes `members` the team's members: the others leave it, these leave their former team.
pub async fn set_members(mut c: Conn<'_>, team_id: i64, members: &[i64]) -> sqlx::Result<()> {
    on_conn!(&mut c, |e| {
        sqlx::query("UPDATE users SET team_id = NULL WHERE team_id = $1")
            .bind(team_id)
            .execute(&mut **e)
            .await
            .map(|_| ())
    })?;
    if members.is_empty() {
        return Ok(());
    }
    let sql = format!("UPDATE users SET team_id = $1 WHERE id IN ({})", super::placeholders(2, members.len()));
    on_conn!(&mut c, |e| {
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(team_id);
        for m in members {
            q = q.bind(m);
        }
        q.execute(&mut **e).await.map(|_| ())
    })
}

/// Puts one user in a team (the generator's engineers).
pub async fn add_member(c: Conn<'_>, team_id: i64, user_id: i64) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query("UPDATE users SET team_id = $1 WHERE id = $2")
            .bind(team_id)
            .bind(user_id)
            .execute(&mut *e)
            .await
            .map(|_| ())
    })
}

/// Which of `ids` are users: (id, active, has the engineer role).
pub async fn candidates(c: Conn<'_>, ids: &[i64]) -> sqlx::Result<Vec<(i64, bool, bool)>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT u.id, u.active, EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = 'engineer') \
         AS engineer FROM users u WHERE u.id IN ({})",
        super::placeholders(1, ids.len())
    );
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(id);
        }
        q.fetch_all(&mut *e).await
    })
}

/// The active engineers as (id, display name, region, team) by name: the member picker.
pub async fn engineers(c: Conn<'_>) -> sqlx::Result<Vec<(i64, String, Option<String>, Option<i64>)>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT u.id, u.display_name, u.region_code, u.team_id FROM users u \
             JOIN user_roles r ON r.user_id = u.id AND r.role = 'engineer' WHERE u.active ORDER BY u.display_name, u.id",
        )
        .fetch_all(&mut *e)
        .await
    })
}

/// Sets the team an order counts for to its engineer's team, in one statement (the
/// assignment has just written the engineer; none without one).
pub async fn set_order_team_of_engineer(c: Conn<'_>, order_id: i64) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE work_orders SET team_id = (SELECT u.team_id FROM users u WHERE u.id = work_orders.engineer_id) \
             WHERE id = $1",
        )
        .bind(order_id)
        .execute(&mut *e)
        .await
        .map(|_| ())
    })
}

/// Sets the team an order counts for (none when the order loses its engineer).
pub async fn set_order_team(c: Conn<'_>, order_id: i64, team_id: Option<i64>) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query("UPDATE work_orders SET team_id = $1 WHERE id = $2")
            .bind(team_id)
            .bind(order_id)
            .execute(&mut *e)
            .await
            .map(|_| ())
    })
}
