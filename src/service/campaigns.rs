//! Periodic satisfaction surveys (R7.1): a manager chooses a group of customers (classes, key
//! customers, a region, owners of a product category); each gets a survey link, by e-mail
//! where the archive has an address and otherwise listed for the agents to send or read out.
//! Answers count in the satisfaction figures under the kind `campaign`.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::{Actor, Idem, audit};
use crate::db::Db;
use crate::domain::Perm;
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::store;
use crate::store::campaigns::{Campaign, Group, Link, NewLink};
use crate::store::outbox::NewMessage;

/// A campaign asks at most this many customers (a larger group is a typing error, and the
/// links are written in one transaction).
pub const MAX_MEMBERS: i64 = 200_000;
const BATCH: i64 = 5_000;

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupInput {
    /// A, B, C; none: every class
    #[serde(default)]
    pub classes: Vec<String>,
    #[serde(default)]
    pub key_only: bool,
    /// A region code; empty: every region
    #[serde(default)]
    pub region: String,
    /// A product category code: customers owning such a unit; empty: all
    #[serde(default)]
    pub category: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CampaignInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub group: GroupInput,
}

async fn parse_group(db: &Db, g: &GroupInput) -> AppResult<Group> {
    let mut errors = vec![];
    let mut classes = vec![];
    for c in &g.classes {
        let c = c.trim().to_ascii_uppercase();
        if !["A", "B", "C"].contains(&c.as_str()) {
            errors.push(field_error("group.classes", "campaign.error.class"));
        } else if !classes.contains(&c) {
            classes.push(c);
        }
    }
    let mut c = db.read().await?;
    let region = Some(g.region.trim().to_string()).filter(|r| !r.is_empty());
    if let Some(r) = &region
        && !store::settings::regions(c.conn()).await?.iter().any(|x| &x.code == r)
    {
        errors.push(field_error("group.region", "campaign.error.region"));
    }
    let category = Some(g.category.trim().to_string()).filter(|r| !r.is_empty());
    if let Some(k) = &category
        && !store::products::categories(c.conn()).await?.iter().any(|x| &x.code == k)
    {
        errors.push(field_error("group.category", "campaign.error.category"));
    }
    AppError::check(errors)?;
    Ok(Group { classes, key_only: g.key_only, region, category })
}

/// How many customers the group holds now (up to one more than the limit).
pub async fn preview(db: &Db, actor: &Actor, g: &GroupInput) -> AppResult<i64> {
    actor.require(Perm::ManageCare)?;
    let group = parse_group(db, g).await?;
    let mut c = db.read().await?;
    Ok(store::campaigns::count(c.conn(), &group, MAX_MEMBERS + 1).await?)
}

/// Creates the campaign: a survey link per customer of the group and an e-mail to each who
/// has an address, all in one transaction.
pub async fn create(db: &Db, actor: &Actor, input: &CampaignInput, idem: Option<&Idem<'_>>) -> AppResult<Campaign> {
    actor.require(Perm::ManageCare)?;
    let mut errors = vec![];
    let name = crate::domain::archive::required("name", &input.name, 100, &mut errors);
    let group = match parse_group(db, &input.group).await {
        Ok(g) => Some(g),
        Err(AppError::Validation(list)) => {
            errors.extend(list);
            None
        }
        Err(e) => return Err(e),
    };
    AppError::check(errors)?;
    let group = group.ok_or_else(|| AppError::Internal(anyhow::anyhow!("validated group missing")))?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let n = store::campaigns::count(tx.conn(), &group, MAX_MEMBERS + 1).await?;
    if n == 0 {
        return Err(AppError::one("group", "campaign.error.empty"));
    }
    if n > MAX_MEMBERS {
        return Err(AppError::one("group", "campaign.error.too_many"));
    }
    let filter_json = serde_json::to_string(&input.group).map_err(anyhow::Error::from)?;
    let id = store::campaigns::insert(tx.conn(), &name, &filter_json, actor.user_id, now).await?;
    let backend = tx.backend();
    let (mut surveys, mut emailed, mut after) = (0, 0, 0);
    loop {
        let members = store::campaigns::members(tx.conn(), &group, after, BATCH).await?;
        let Some(last) = members.last() else { break };
        after = last.id;
        let tokens: Vec<String> = members.iter().map(|_| super::new_secret().0[..32].to_owned()).collect();
        let links: Vec<NewLink<'_>> = members
            .iter()
            .zip(&tokens)
            .map(|(m, t)| NewLink { token: t, customer_id: m.id, region_code: m.region_code.as_deref() })
            .collect();
        store::campaigns::insert_links(tx.conn(), backend, id, &links, now).await?;
        surveys += links.len() as i64;
        let subject = format!("客户满意度调查 / Satisfaction survey: {name}");
        let bodies: Vec<(String, &str)> = members
            .iter()
            .zip(&tokens)
            .filter_map(|(m, t)| {
                let email = m.email.as_deref().filter(|e| !e.is_empty())?;
                let body = format!(
                    "尊敬的{}：\n感谢您一直以来的信任。请花一分钟为我们的售后服务打分：\n{}/s/{t}\n\n\
                     Dear {}, please take a minute to rate our after-sales service: {}/s/{t}",
                    m.name,
                    super::notifications::BASE,
                    m.name,
                    super::notifications::BASE
                );
                Some((body, email))
            })
            .collect();
        let msgs: Vec<NewMessage<'_>> = bodies
            .iter()
            .map(|(body, email)| NewMessage {
                event: "survey_campaign",
                order_id: None,
                channel: "email",
                recipient: email,
                webhook_id: None,
                subject: &subject,
                body,
            })
            .collect();
        store::outbox::enqueue(tx.conn(), backend, &msgs, now).await?;
        emailed += msgs.len() as i64;
    }
    store::campaigns::set_counts(tx.conn(), id, surveys, emailed).await?;
    let created = store::campaigns::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record::<(), _>(&mut tx, actor, now, "create", "survey_campaign", &id.to_string(), None, Some(&created))
        .await?;
    if let Some(idem) = idem {
        super::remember(&mut tx, actor, idem, 201, &created).await?;
    }
    tx.commit().await?;
    Ok(created)
}

pub async fn list(db: &Db, actor: &Actor) -> AppResult<Vec<Campaign>> {
    actor.require(Perm::FollowUp)?;
    let mut c = db.read().await?;
    Ok(store::campaigns::list(c.conn(), 200).await?)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CampaignDetail {
    pub campaign: Campaign,
    pub group: GroupInput,
    /// The links, in survey order, after `after`.
    pub links: Vec<Link>,
    /// Pass as `after` for the next page; absent on the last.
    pub next_after: Option<i64>,
}

pub async fn get(db: &Db, actor: &Actor, id: i64, after: i64, limit: i64) -> AppResult<CampaignDetail> {
    actor.require(Perm::FollowUp)?;
    let limit = limit.clamp(1, 500);
    let mut c = db.read().await?;
    let campaign = store::campaigns::get(c.conn(), id).await?.ok_or(AppError::NotFound)?;
    let group = serde_json::from_str(&campaign.filter_json).unwrap_or_default();
    // Agents of a region call their region's customers; the figures stay the company's.
    let region = super::archive::region_scope(actor);
    let mut links = store::campaigns::links(c.conn(), id, region.as_deref(), after, limit + 1).await?;
    let next_after = if links.len() as i64 > limit {
        links.truncate(limit as usize);
        links.last().map(|l| l.survey_id)
    } else {
        None
    };
    Ok(CampaignDetail { campaign, group, links, next_after })
}
