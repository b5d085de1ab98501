//! What the customer, the engineer and integrations are told when an order moves: messages are
//! written to the outbox inside the change's transaction and sent later by `jobs::outbox`.

use chrono::{DateTime, Utc};

use crate::db::Tx;
use crate::error::AppResult;
use crate::i18n::tr_args;
use crate::store;
use crate::store::outbox::NewMessage;
use crate::store::work_orders::WorkOrder;

/// The events an order sends notifications for (and webhooks may subscribe to); the SLA
/// sweeper sends the last two (`service::sla`).
pub const EVENTS: [&str; 6] =
    ["order_created", "order_assigned", "quote_sent", "order_completed", "sla_warning", "sla_breach"];

/// Placeholder for the public address, filled in by the sender (the service does not know it).
pub const BASE: &str = "%{base}";

fn local(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.with_timezone(&chrono_tz::Asia::Shanghai).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "—".into())
}

/// A message about to be queued.
pub struct Outgoing {
    pub event: &'static str,
    pub order_id: i64,
    pub channel: &'static str,
    pub recipient: String,
    pub webhook_id: Option<i64>,
    pub subject: String,
    pub body: String,
}

impl Outgoing {
    pub fn as_new(&self) -> NewMessage<'_> {
        NewMessage {
            event: self.event,
            order_id: Some(self.order_id),
            channel: self.channel,
            recipient: &self.recipient,
            webhook_id: self.webhook_id,
            subject: &self.subject,
            body: &self.body,
        }
    }
}

/// Queues the e-mails and webhook calls for `event` on `o`, inside the caller's transaction.
pub async fn order_event(tx: &mut Tx, event: &'static str, o: &WorkOrder, now: DateTime<Utc>) -> AppResult<()> {
    let r = store::outbox::recipients(tx.conn(), o.customer_id, o.engineer_id).await?;
    let hooks = if r.active_webhooks > 0 { store::outbox::webhooks(tx.conn()).await? } else { vec![] };
    let out = compose(event, o, &r, &hooks, now);
    let msgs: Vec<NewMessage<'_>> = out.iter().map(Outgoing::as_new).collect();
    let backend = tx.backend();
    store::outbox::enqueue(tx.conn(), backend, &msgs, now).await?;
    Ok(())
}

/// The e-mails and webhook calls `event` on `o` sends, given who receives them and the
/// registered webhooks (those not subscribed to `event` are skipped).
pub fn compose(
    event: &'static str,
    o: &WorkOrder,
    r: &store::outbox::Recipients,
    hooks: &[store::outbox::Webhook],
    now: DateTime<Utc>,
) -> Vec<Outgoing> {
    debug_assert!(EVENTS.contains(&event));
    let company = r.company.clone().unwrap_or_default();
    let customer_email = r.customer_email.as_ref().filter(|e| !e.is_empty());
    let number = o.number();
    let track = format!("{BASE}/t/{}", o.public_token);
    let name = r.engineer_name.clone().unwrap_or_default();
    let when = local(o.scheduled_at.or(o.requested_at));
    let args = [
        ("number", number.as_str()),
        ("company", company.as_str()),
        ("track", track.as_str()),
        ("problem", o.problem.as_str()),
        ("work_done", o.work_done.as_str()),
        ("engineer", name.as_str()),
        ("when", when.as_str()),
    ];
    // The customer's language is not known: every message is in Chinese, then in English.
    let both = |key: &str| (tr_args("zh-CN", key, &args), tr_args("en", key, &args));
    let mut out = vec![];
    let mail = |to: String, subject: String, body: String| Outgoing {
        event,
        order_id: o.id,
        channel: "email",
        recipient: to,
        webhook_id: None,
        subject,
        body,
    };
    let customer_key = match event {
        "order_created" => Some("created"),
        "order_assigned" => Some("assigned"),
        "quote_sent" => Some("quote"),
        "order_completed" => Some("completed"),
        _ => None,
    };
    if let (Some(key), Some(to)) = (customer_key, customer_email) {
        let (subject_zh, subject_en) = both(&format!("wo.mail.{key}_subject"));
        let (zh, en) = both(&format!("wo.mail.{key}"));
        let (track_zh, track_en) = both("wo.mail.track");
        out.push(mail(
            to.clone(),
            format!("【{company}】{subject_zh} {number} / {subject_en}"),
            format!("{zh}\n{track_zh}\n\n{en}\n{track_en}\n\n{company}"),
        ));
    }
    if event == "order_assigned"
        && let Some(to) = r.engineer_email.clone().filter(|e| !e.is_empty())
    {
        let (subject_zh, subject_en) = both("wo.mail.new_order_subject");
        let (label_zh, label_en) = both("wo.mail.appointment");
        out.push(mail(
            to,
            format!("{subject_zh} {number} / {subject_en}"),
            format!(
                "{number} · {}\n{}\n{} {}\n{}\n{label_zh} / {label_en}: {when}\n{BASE}/work-orders/{}",
                o.customer_name, o.address, o.contact_name, o.contact_phone, o.problem, o.id
            ),
        ));
    }
    if hooks.iter().any(|w| w.wants(event)) {
        let payload = serde_json::json!({
            "event": event,
            "at": now,
            "order": {
                "id": o.id, "number": number, "status": o.status, "kind": o.kind, "priority": o.priority,
                "customer_id": o.customer_id, "unit_id": o.unit_id, "engineer_id": o.engineer_id,
                "scheduled_at": o.scheduled_at, "entitlement": o.entitlement, "completed_at": o.completed_at,
                "url": format!("{BASE}/api/v1/work-orders/{}", o.id),
            },
        })
        .to_string();
        out.extend(webhook_calls(event, o.id, hooks, &payload));
    }
    out
}

/// One call of `payload` to each registered webhook subscribed to `event`.
pub fn webhook_calls(
    event: &'static str,
    order_id: i64,
    hooks: &[store::outbox::Webhook],
    payload: &str,
) -> Vec<Outgoing> {
    hooks
        .iter()
        .filter(|w| w.wants(event))
        .map(|w| Outgoing {
            event,
            order_id,
            channel: "webhook",
            recipient: w.url.clone(),
            webhook_id: Some(w.id),
            subject: String::new(),
            body: payload.to_owned(),
        })
        .collect()
}

// ------------------------------------------------------------------ webhooks (administrators)

use super::Actor;
use crate::db::Db;
use crate::domain::Perm;
use crate::error::AppError;
use crate::i18n::field_error;

#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct WebhookInput {
    /// http:// or https:// address that receives a POST per event.
    #[serde(default)]
    pub url: String,
    /// Event codes (order_created, order_assigned, quote_sent, order_completed, sla_warning,
    /// sla_breach) or `*`.
    #[serde(default)]
    pub events: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    pub webhook: store::outbox::Webhook,
    /// The signing secret, shown once: each call carries
    /// `X-Aftersales-Signature: sha256=HMAC-SHA256(secret, body)` in hex.
    pub secret: String,
}

pub async fn create_webhook(db: &Db, actor: &Actor, input: &WebhookInput) -> AppResult<CreatedWebhook> {
    actor.require(Perm::ManageUsers)?;
    let mut errors = vec![];
    let url = input.url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://"))
        || url.len() > 2000
        || url.contains(char::is_whitespace)
    {
        errors.push(field_error("url", "wo.error.webhook_url"));
    }
    let events: Vec<&str> = input.events.iter().map(|e| e.trim()).filter(|e| !e.is_empty()).collect();
    if events.is_empty() || events.iter().any(|e| *e != "*" && !EVENTS.contains(e)) {
        errors.push(field_error("events", "wo.error.webhook_events"));
    }
    AppError::check(errors)?;
    let (secret, _) = super::new_secret();
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let id = store::outbox::insert_webhook(tx.conn(), url, &events.join(","), &secret, actor.user_id, now).await?;
    let webhook = store::outbox::webhook(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    super::audit::record::<(), _>(&mut tx, actor, now, "create", "webhook", &id.to_string(), None, Some(&webhook))
        .await?;
    tx.commit().await?;
    Ok(CreatedWebhook { webhook, secret })
}

pub async fn list_webhooks(db: &Db, actor: &Actor) -> AppResult<Vec<store::outbox::Webhook>> {
    actor.require(Perm::ManageUsers)?;
    let mut c = db.read().await?;
    Ok(store::outbox::webhooks(c.conn()).await?)
}

pub async fn delete_webhook(db: &Db, actor: &Actor, id: i64) -> AppResult<()> {
    actor.require(Perm::ManageUsers)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = store::outbox::webhook(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    if !store::outbox::deactivate_webhook(tx.conn(), id).await? {
        return Err(AppError::NotFound);
    }
    super::audit::record::<_, ()>(&mut tx, actor, now, "delete", "webhook", &id.to_string(), Some(&before), None)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The notifications of one order (staff who see the order).
pub async fn of_order(db: &Db, actor: &Actor, order_id: i64) -> AppResult<Vec<store::outbox::Message>> {
    let order = super::work_orders::visible_order(db, actor, order_id).await?;
    of_shown_order(db, &order).await
}

/// The same for an order the caller has already read as visible to the user (the order's
/// page), without reading it again.
pub async fn of_shown_order(db: &Db, order: &WorkOrder) -> AppResult<Vec<store::outbox::Message>> {
    let mut c = db.read().await?;
    Ok(store::outbox::of_order(c.conn(), order.id).await?)
}

/// Queues one e-mail to every active staff member of `role` who has an address (each address
/// once), to be sent from the outbox after the transaction commits.
pub async fn mail_role(
    tx: &mut Tx,
    role: crate::domain::Role,
    event: &str,
    order_id: Option<i64>,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let staff = store::sla::staff(tx.conn()).await?;
    let mut seen = std::collections::BTreeSet::new();
    let msgs: Vec<NewMessage<'_>> = staff
        .iter()
        .filter(|s| s.role == role.code())
        .filter_map(|s| s.email.as_deref().filter(|e| !e.is_empty()))
        .filter(|e| seen.insert(*e))
        .map(|recipient| NewMessage { event, order_id, channel: "email", recipient, webhook_id: None, subject, body })
        .collect();
    if !msgs.is_empty() {
        let backend = tx.backend();
        store::outbox::enqueue(tx.conn(), backend, &msgs, now).await?;
    }
    Ok(())
}
