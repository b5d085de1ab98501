//! Service teams (R9.5's team filter): administrators — whoever manages users — create teams,
//! rename them, give them a region and a leader, set their engineers and deactivate them.
//! An engineer is in at most one team; putting him in a team takes him out of his former one.
//! A deactivated team keeps its name and its past figures but no members. Every change is
//! audited with the members before and after.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::{Actor, Idem, audit};
use crate::db::Db;
use crate::domain::Perm;
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::store;
use crate::store::teams::{Team, TeamData};

/// Longest team name, in characters.
pub const MAX_NAME: usize = 60;

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct TeamInput {
    pub name: String,
    /// A region code, or empty for none.
    #[serde(default)]
    pub region: String,
    /// The leader's user id (any active user).
    #[serde(default)]
    pub leader_id: Option<i64>,
    /// The engineers of the team (user ids); each leaves his former team.
    #[serde(default)]
    pub members: Vec<i64>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct UpdateTeamInput {
    /// The version read before editing; a stale one is refused with 409.
    pub version: i64,
    pub name: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub leader_id: Option<i64>,
    #[serde(default)]
    pub members: Vec<i64>,
    /// false deactivates the team (its members leave it).
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct VersionInput {
    pub version: i64,
}

/// What the audit trail keeps of a team.
#[derive(Serialize)]
struct Snapshot<'a> {
    name: &'a str,
    region_code: &'a Option<String>,
    leader_id: Option<i64>,
    active: bool,
    members: Vec<i64>,
}

fn snapshot(t: &Team) -> Snapshot<'_> {
    Snapshot {
        name: &t.name,
        region_code: &t.region_code,
        leader_id: t.leader_id,
        active: t.active,
        members: t.members.iter().map(|m| m.id).collect(),
    }
}

/// Who reads the teams: administrators, and whoever reads the dashboard (its team picker); a
/// user who sees one region reads the teams of his region.
fn may_read(actor: &Actor) -> bool {
    actor.can(Perm::ManageUsers) || super::dashboard::may_read(actor)
}

/// Checked input: (name, region, leader, members).
struct Checked {
    name: String,
    region: Option<String>,
    leader_id: Option<i64>,
    members: Vec<i64>,
}

async fn check(
    db: &Db,
    id: Option<i64>,
    name: &str,
    region: &str,
    leader_id: Option<i64>,
    members: &[i64],
    active: bool,
) -> AppResult<Checked> {
    let mut errors = vec![];
    let name = name.trim().to_string();
    if name.is_empty() {
        errors.push(field_error("name", "error.required"));
    } else if name.chars().count() > MAX_NAME {
        errors.push(field_error("name", "error.too_long"));
    }
    let region = Some(region.trim().to_string()).filter(|r| !r.is_empty());
    // An inactive team has no members.
    let mut members: Vec<i64> = if active { members.to_vec() } else { vec![] };
    members.sort_unstable();
    members.dedup();
    let mut c = db.read().await?;
    if let Some(other) = store::teams::id_by_name(c.conn(), &name).await?
        && Some(other) != id
    {
        errors.push(field_error("name", "team.error.name_taken"));
    }
    if let Some(r) = &region
        && !store::settings::regions(c.conn()).await?.iter().any(|x| &x.code == r)
    {
        errors.push(field_error("region", "error.unknown_region"));
    }
    if let Some(l) = leader_id {
        let ok = store::teams::candidates(c.conn(), &[l]).await?;
        if !ok.iter().any(|(_, active, _)| *active) {
            errors.push(field_error("leader_id", "team.error.unknown_user"));
        }
    }
    let found = store::teams::candidates(c.conn(), &members).await?;
    if members.iter().any(|m| !found.iter().any(|(id, active, engineer)| id == m && *active && *engineer)) {
        errors.push(field_error("members", "team.error.not_engineer"));
    }
    AppError::check(errors)?;
    Ok(Checked { name, region, leader_id, members })
}

pub async fn create(db: &Db, actor: &Actor, input: &TeamInput, idem: Option<&Idem<'_>>) -> AppResult<Team> {
    actor.require(Perm::ManageUsers)?;
    let v = check(db, None, &input.name, &input.region, input.leader_id, &input.members, true).await?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let data = TeamData { name: &v.name, region_code: v.region.as_deref(), leader_id: v.leader_id, active: true };
    let id = match store::teams::insert(tx.conn(), &data, now).await {
        Ok(id) => id,
        // Two creates of one name at once: the unique index decides.
        Err(e) if is_unique_violation(&e) => return Err(AppError::one("name", "team.error.name_taken")),
        Err(e) => return Err(e.into()),
    };
    store::teams::set_members(tx.conn(), id, &v.members).await?;
    let team = store::teams::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record::<(), _>(&mut tx, actor, now, "create", "team", &id.to_string(), None, Some(&snapshot(&team)))
        .await?;
    if let Some(idem) = idem {
        super::remember(&mut tx, actor, idem, 201, &team).await?;
    }
    tx.commit().await?;
    Ok(team)
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// Replaces a team's name, region, leader, members and state; `version` must be the one read.
pub async fn update(db: &Db, actor: &Actor, id: i64, input: &UpdateTeamInput) -> AppResult<Team> {
    actor.require(Perm::ManageUsers)?;
    let v = check(db, Some(id), &input.name, &input.region, input.leader_id, &input.members, input.active).await?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = store::teams::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    let data =
        TeamData { name: &v.name, region_code: v.region.as_deref(), leader_id: v.leader_id, active: input.active };
    match store::teams::update(tx.conn(), id, input.version, &data, now).await {
        Ok(true) => {}
        Ok(false) => return Err(AppError::Conflict("error.stale")),
        Err(e) if is_unique_violation(&e) => return Err(AppError::one("name", "team.error.name_taken")),
        Err(e) => return Err(e.into()),
    }
    store::teams::set_members(tx.conn(), id, &v.members).await?;
    let after = store::teams::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    let action = if before.active && !after.active { "deactivate" } else { "update" };
    audit::record(
        &mut tx,
        actor,
        now,
        action,
        "team",
        &id.to_string(),
        Some(&snapshot(&before)),
        Some(&snapshot(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Deactivates a team: its members leave it; its orders keep counting for it.
pub async fn deactivate(db: &Db, actor: &Actor, id: i64, version: i64) -> AppResult<Team> {
    actor.require(Perm::ManageUsers)?;
    let t = get(db, actor, id).await?;
    let input = UpdateTeamInput {
        version,
        name: t.name,
        region: t.region_code.unwrap_or_default(),
        leader_id: t.leader_id,
        members: vec![],
        active: false,
    };
    update(db, actor, id, &input).await
}

pub async fn get(db: &Db, actor: &Actor, id: i64) -> AppResult<Team> {
    if !may_read(actor) {
        return Err(AppError::Forbidden);
    }
    let mut c = db.read().await?;
    let t = store::teams::get(c.conn(), id).await?.ok_or(AppError::NotFound)?;
    if !actor.can(Perm::ManageUsers) && !super::archive::visible(actor, &t.region_code) {
        return Err(AppError::NotFound);
    }
    Ok(t)
}

/// The teams the actor may see (administrators: all; others: of their region if they see
/// one), active ones only unless `all`.
pub async fn list(db: &Db, actor: &Actor, all: bool) -> AppResult<Vec<Team>> {
    if !may_read(actor) {
        return Err(AppError::Forbidden);
    }
    let region = if actor.can(Perm::ManageUsers) { None } else { super::archive::region_scope(actor) };
    let mut c = db.read().await?;
    Ok(store::teams::list(c.conn(), region.as_deref(), !all).await?)
}

/// The team a report is asked to show (the dashboard, the SLA report), if the actor may pick
/// it: users who see one region pick among the teams of their region; None when there is no
/// such team or it is not his to pick.
pub async fn pickable(db: &Db, actor: &Actor, id: i64) -> AppResult<Option<Team>> {
    let team = {
        let mut c = db.read().await?;
        store::teams::get(c.conn(), id).await?
    };
    Ok(team.filter(|t| {
        super::archive::region_scope(actor).is_none_or(|mine| t.region_code.as_deref() == Some(mine.as_str()))
    }))
}
