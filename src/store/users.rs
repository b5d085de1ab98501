use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

use crate::db::Conn;
use crate::domain::Role;
use crate::{from_row, on_conn};

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub login: String,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[serde(skip)]
    pub password_hash: String,
    pub region_code: Option<String>,
    pub locale: String,
    pub active: bool,
    /// The service team (set on the team's page).
    pub team_id: Option<i64>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub roles: Vec<Role>,
}

struct UserRow {
    id: i64,
    login: String,
    display_name: String,
    email: Option<String>,
    phone: Option<String>,
    password_hash: String,
    region_code: Option<String>,
    locale: String,
    active: bool,
    team_id: Option<i64>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}
from_row!(UserRow { id: i64, login: String, display_name: String, email: Option<String>,
    phone: Option<String>, password_hash: String, region_code: Option<String>, locale: String,
    active: bool, team_id: Option<i64>, version: i64, created_at: DateTime<Utc>, updated_at: DateTime<Utc> });

impl UserRow {
    fn into_user(self, roles: Vec<Role>) -> User {
        User {
            id: self.id,
            login: self.login,
            display_name: self.display_name,
            email: self.email,
            phone: self.phone,
            password_hash: self.password_hash,
            region_code: self.region_code,
            locale: self.locale,
            active: self.active,
            team_id: self.team_id,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
            roles,
        }
    }
}

const COLUMNS: &str = "id, login, display_name, email, phone, password_hash, region_code, locale, \
                       active, team_id, version, created_at, updated_at";

pub struct NewUser<'a> {
    pub login: &'a str,
    pub display_name: &'a str,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub password_hash: &'a str,
    pub region_code: Option<&'a str>,
    pub locale: &'a str,
    pub roles: &'a [Role],
}

pub async fn insert(mut c: Conn<'_>, u: &NewUser<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    let id: i64 = on_conn!(&mut c, |e| {
        sqlx::query_scalar(
            "INSERT INTO users (login, display_name, email, phone, password_hash, region_code, \
             locale, active, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, 1, $8, $8) RETURNING id",
        )
        .bind(u.login)
        .bind(u.display_name)
        .bind(u.email)
        .bind(u.phone)
        .bind(u.password_hash)
        .bind(u.region_code)
        .bind(u.locale)
        .bind(now)
        .fetch_one(&mut **e)
        .await
    })?;
    set_roles(c, id, u.roles).await?;
    Ok(id)
}

pub async fn set_roles(mut c: Conn<'_>, user_id: i64, roles: &[Role]) -> sqlx::Result<()> {
    on_conn!(&mut c, |e| {
        sqlx::query("DELETE FROM user_roles WHERE user_id = $1").bind(user_id).execute(&mut **e).await.map(|_| ())
    })?;
    for r in roles {
        on_conn!(&mut c, |e| {
            sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
                .bind(user_id)
                .bind(r.code())
                .execute(&mut **e)
                .await
                .map(|_| ())
        })?;
    }
    Ok(())
}

async fn roles_of(c: &mut Conn<'_>, ids: &[i64]) -> sqlx::Result<Vec<(i64, String)>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT user_id, role FROM user_roles WHERE user_id IN ({}) ORDER BY user_id, role",
        super::placeholders(1, ids.len())
    );
    on_conn!(c, |e| {
        let mut q = sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(id);
        }
        q.fetch_all(&mut **e).await
    })
}

async fn with_roles(mut c: Conn<'_>, rows: Vec<UserRow>) -> sqlx::Result<Vec<User>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let roles = roles_of(&mut c, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mine = roles.iter().filter(|(id, _)| *id == r.id).filter_map(|(_, role)| Role::parse(role)).collect();
            r.into_user(mine)
        })
        .collect())
}

pub async fn get(mut c: Conn<'_>, id: i64) -> sqlx::Result<Option<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    let row: Option<UserRow> =
        on_conn!(&mut c, |e| { sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut **e).await })?;
    Ok(with_roles(c, row.into_iter().collect()).await?.pop())
}

/// Users' display names by id (those that exist).
pub async fn display_names(c: Conn<'_>, ids: &[i64]) -> sqlx::Result<Vec<(i64, String)>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!("SELECT id, display_name FROM users WHERE id IN ({})", super::placeholders(1, ids.len()));
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(id);
        }
        q.fetch_all(&mut *e).await
    })
}

pub async fn by_login(mut c: Conn<'_>, login: &str) -> sqlx::Result<Option<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE login = $1");
    let row: Option<UserRow> =
        on_conn!(&mut c, |e| { sqlx::query_as(AssertSqlSafe(sql)).bind(login).fetch_optional(&mut **e).await })?;
    Ok(with_roles(c, row.into_iter().collect()).await?.pop())
}

/// The active owner of a live API token, with the token's id and last use, in one query
/// plus the roles (authentication runs on every API request).
pub async fn by_token_hash(
    mut c: Conn<'_>,
    token_hash: &str,
) -> sqlx::Result<Option<(i64, Option<DateTime<Utc>>, User)>> {
    let cols: String = COLUMNS.split(", ").map(|col| format!("u.{col}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT {cols}, t.id AS token_id, t.last_used_at AS token_last_used FROM api_tokens t \
         JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active = TRUE"
    );
    let row = on_conn!(&mut c, |e| {
        use sqlx::Row;
        let r = sqlx::query(AssertSqlSafe(sql)).bind(token_hash).fetch_optional(&mut **e).await?;
        r.map(|r| -> sqlx::Result<_> {
            let token_id: i64 = r.try_get("token_id")?;
            let last: Option<DateTime<Utc>> = r.try_get("token_last_used")?;
            Ok((token_id, last, <UserRow as sqlx::FromRow<_>>::from_row(&r)?))
        })
        .transpose()
    })?;
    let Some((token_id, last, user)) = row else { return Ok(None) };
    let user = with_roles(c, vec![user]).await?.pop();
    Ok(user.map(|u| (token_id, last, u)))
}

/// The live session with this hash and its active user, roles included, in one statement (every
/// page a signed-in user opens starts here): (session created, last seen, user).
pub async fn by_session_hash(
    c: Conn<'_>,
    token_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<(DateTime<Utc>, DateTime<Utc>, User)>> {
    let cols: String = COLUMNS.split(", ").map(|col| format!("u.{col}")).collect::<Vec<_>>().join(", ");
    let roles = match c {
        Conn::Sqlite(_) => "group_concat(role, ',')",
        Conn::Pg(_) => "string_agg(role, ',')",
    };
    let sql = format!(
        "SELECT {cols}, s.created_at AS session_created, s.last_seen_at AS session_seen, \
         (SELECT {roles} FROM user_roles WHERE user_id = u.id) AS role_list FROM sessions s \
         JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active = TRUE"
    );
    on_conn!(c, |e| {
        use sqlx::Row;
        let r = sqlx::query(AssertSqlSafe(sql)).bind(token_hash).bind(now).fetch_optional(&mut *e).await?;
        r.map(|r| -> sqlx::Result<_> {
            let created: DateTime<Utc> = r.try_get("session_created")?;
            let seen: DateTime<Utc> = r.try_get("session_seen")?;
            let list: Option<String> = r.try_get("role_list")?;
            let mut roles: Vec<Role> = list.iter().flat_map(|l| l.split(',')).filter_map(Role::parse).collect();
            roles.sort_by_key(|r| r.code());
            Ok((created, seen, <UserRow as sqlx::FromRow<_>>::from_row(&r)?.into_user(roles)))
        })
        .transpose()
    })
}

pub async fn count(c: Conn<'_>) -> sqlx::Result<i64> {
    on_conn!(c, |e| sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&mut *e).await)
}

#[derive(Default, Debug, Clone)]
pub struct ListFilter {
    /// Matches login, display name, e-mail or phone (case-insensitive substring).
    pub q: Option<String>,
    pub role: Option<Role>,
    pub region: Option<String>,
    pub active: Option<bool>,
    /// Keyset pagination: only users with a larger id.
    pub after_id: Option<i64>,
    pub limit: i64,
}

pub async fn list(mut c: Conn<'_>, f: &ListFilter) -> sqlx::Result<Vec<User>> {
    let mut sql = format!("SELECT {COLUMNS} FROM users u WHERE 1 = 1");
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    if f.q.is_some() {
        let i = next();
        sql.push_str(&format!(
            " AND (lower(login) LIKE ${i} OR lower(display_name) LIKE ${i} OR lower(COALESCE(email, '')) LIKE ${i} \
             OR COALESCE(phone, '') LIKE ${i})"
        ));
    }
    if f.role.is_some() {
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = ${})",
            next()
        ));
    }
    if f.region.is_some() {
        sql.push_str(&format!(" AND region_code = ${}", next()));
    }
    if f.active.is_some() {
        sql.push_str(&format!(" AND active = ${}", next()));
    }
    if f.after_id.is_some() {
        sql.push_str(&format!(" AND id > ${}", next()));
    }
    sql.push_str(&format!(" ORDER BY id LIMIT ${}", next()));
    let like = f.q.as_ref().map(|q| format!("%{}%", q.trim().to_lowercase()));
    let rows: Vec<UserRow> = on_conn!(&mut c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        if let Some(l) = &like {
            q = q.bind(l);
        }
        if let Some(r) = f.role {
            q = q.bind(r.code());
        }
        if let Some(r) = &f.region {
            q = q.bind(r);
        }
        if let Some(a) = f.active {
            q = q.bind(a);
        }
        if let Some(a) = f.after_id {
            q = q.bind(a);
        }
        q.bind(f.limit).fetch_all(&mut **e).await
    })?;
    with_roles(c, rows).await
}

pub struct UserChanges<'a> {
    pub display_name: &'a str,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub region_code: Option<&'a str>,
    pub locale: &'a str,
    pub active: bool,
}

/// Update when `version` still matches; returns false on a stale version.
pub async fn update(
    c: Conn<'_>,
    id: i64,
    version: i64,
    ch: &UserChanges<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let r = on_conn!(c, |e| {
        sqlx::query(
            "UPDATE users SET display_name = $1, email = $2, phone = $3, region_code = $4, locale = $5, \
             active = $6, version = version + 1, updated_at = $7 WHERE id = $8 AND version = $9",
        )
        .bind(ch.display_name)
        .bind(ch.email)
        .bind(ch.phone)
        .bind(ch.region_code)
        .bind(ch.locale)
        .bind(ch.active)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(r == 1)
}

pub async fn set_password(c: Conn<'_>, id: i64, hash: &str, now: DateTime<Utc>) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query("UPDATE users SET password_hash = $1, version = version + 1, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(now)
            .bind(id)
            .execute(&mut *e)
            .await
            .map(|_| ())
    })
}

pub async fn set_locale(c: Conn<'_>, id: i64, locale: &str, now: DateTime<Utc>) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query("UPDATE users SET locale = $1, updated_at = $2 WHERE id = $3")
            .bind(locale)
            .bind(now)
            .bind(id)
            .execute(&mut *e)
            .await
            .map(|_| ())
    })
}
