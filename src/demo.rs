//! The demo company: regions, a company name and one user of every role, so that a newcomer
//! can sign in and look around. Each step is idempotent, so an interrupted load completes on
//! the next start. Later capabilities add their own demo records here.

use crate::db::Db;
use crate::domain::Role;
use crate::error::AppError;
use crate::service::{Actor, users};
use crate::{on_conn, store};

pub const DEMO_PASSWORD: &str = "demo1234";

/// (login, display name, roles, region)
pub const DEMO_USERS: &[(&str, &str, &[Role], Option<&str>)] = &[
    ("admin", "系统管理员", &[Role::Admin], None),
    ("gm", "王建国", &[Role::GeneralManager], None),
    ("manager", "李明", &[Role::ServiceManager], None),
    ("dispatcher", "陈静", &[Role::Dispatcher], Some("east")),
    ("quality", "赵强", &[Role::Quality], None),
    ("engineer", "张伟", &[Role::Engineer], Some("east")),
    ("engineer2", "刘洋", &[Role::Engineer], Some("south")),
    ("warehouse", "孙丽", &[Role::Warehouse], None),
];

const REGIONS: &[(&str, &str, &str)] = &[
    ("east", "华东区", "East China"),
    ("south", "华南区", "South China"),
    ("north", "华北区", "North China"),
    ("southwest", "西南区", "Southwest China"),
];

/// Loads the demo company into an empty database; does nothing where users already exist
/// unless they are the demo's own (an interrupted load).
pub async fn load(db: &Db) -> anyhow::Result<bool> {
    {
        let mut c = db.read().await?;
        let n = store::users::count(c.conn()).await?;
        let done = store::settings::get(c.conn(), "demo_loaded").await?.is_some();
        if done || (n > 0 && store::users::by_login(c.conn(), "admin").await?.is_none()) {
            return Ok(false);
        }
    }
    let mut tx = db.begin().await?;
    for (code, zh, en) in REGIONS {
        on_conn!(tx.conn(), |e| {
            sqlx::query(
                "INSERT INTO regions (code, name_zh, name_en) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING",
            )
            .bind(code)
            .bind(zh)
            .bind(en)
            .execute(&mut *e)
            .await
            .map(|_| ())
        })?;
    }
    store::settings::set(tx.conn(), "company_name", "华信机电设备有限公司").await?;
    tx.commit().await?;

    let actor = Actor::system("demo");
    for (login, name, roles, region) in DEMO_USERS {
        let input = users::NewUserInput {
            login: login.to_string(),
            display_name: name.to_string(),
            password: DEMO_PASSWORD.into(),
            email: format!("{login}@demo.example.cn"),
            phone: String::new(),
            roles: roles.iter().map(|r| r.code().to_string()).collect(),
            region: region.unwrap_or("").to_string(),
            locale: "zh-CN".into(),
        };
        match users::create(db, &actor, &input, None).await {
            Ok(_) => {}
            Err(AppError::Validation(v)) if v.iter().any(|f| f.field == "login") => {} // already there
            Err(e) => anyhow::bail!("loading the demo user {login} failed: {e:?}"),
        }
    }
    let mut tx = db.begin().await?;
    store::settings::set(tx.conn(), "demo_loaded", &chrono::Utc::now().to_rfc3339()).await?;
    tx.commit().await?;
    Ok(true)
}

pub fn describe(public_url: &str) -> String {
    let mut s = format!("Demo company loaded. Open {public_url}/ and sign in with password {DEMO_PASSWORD} as:\n");
    for (login, name, roles, _) in DEMO_USERS {
        let roles: Vec<&str> = roles.iter().map(|r| r.code()).collect();
        s.push_str(&format!("  {login:<11} {name} ({})\n", roles.join(", ")));
    }
    s
}
