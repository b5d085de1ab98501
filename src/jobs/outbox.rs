//! Sends what the outbox holds: e-mails over SMTP and signed webhook calls. Due messages are
//! claimed under a lease (see `store::outbox::claim`), so several instances share the work
//! and none sends a message another is sending; failures are retried with growing pauses.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use hmac::{KeyInit, Mac};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::watch;

use crate::config::Config;
use crate::db::Db;
use crate::store;
use crate::store::outbox::Message;

/// How long a claimed message belongs to this worker.
const LEASE_SECONDS: i64 = 120;
const BATCH: i64 = 20;
/// After this many failed attempts a message is given up (and shown as failed).
pub const MAX_ATTEMPTS: i32 = 8;

pub struct Sender {
    mailer: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: lettre::message::Mailbox,
    http: reqwest::Client,
    public_url: String,
}

impl Sender {
    pub fn new(config: &Config) -> anyhow::Result<Sender> {
        // One process-wide TLS provider for webhook calls; a second install is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mailer = match &config.smtp_url {
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| anyhow::anyhow!("smtp_url is not a valid SMTP address: {e}"))?
                    .timeout(Some(Duration::from_secs(20)))
                    .build(),
            ),
            None => None,
        };
        let from = config
            .mail_from
            .parse()
            .map_err(|e| anyhow::anyhow!("mail_from {:?} is not an e-mail address: {e}", config.mail_from))?;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
        Ok(Sender { mailer, from, http, public_url: config.public_url.clone() })
    }

    fn fill(&self, text: &str) -> String {
        text.replace(crate::service::notifications::BASE, &self.public_url)
    }

    /// Ok(true) sent, Ok(false) skipped (nothing to send it with), Err to retry.
    async fn send(&self, db: &Db, m: &Message) -> anyhow::Result<bool> {
        match m.channel.as_str() {
            "email" => {
                let Some(mailer) = &self.mailer else { return Ok(false) };
                let email = lettre::Message::builder()
                    .from(self.from.clone())
                    .to(m.recipient.parse()?)
                    .subject(self.fill(&m.subject))
                    .header(lettre::message::header::ContentType::TEXT_PLAIN)
                    .body(self.fill(&m.body))?;
                mailer.send(email).await?;
                Ok(true)
            }
            "webhook" => {
                let secret = {
                    let mut c = db.read().await?;
                    let hook = store::outbox::webhook(c.conn(), m.webhook_id.unwrap_or_default()).await?;
                    match hook {
                        Some(h) if h.active => h.secret,
                        _ => return Ok(false),
                    }
                };
                let body = self.fill(&m.body);
                let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())?;
                mac.update(body.as_bytes());
                let sig = crate::service::hex(&mac.finalize().into_bytes());
                let res = self
                    .http
                    .post(&m.recipient)
                    .header("content-type", "application/json")
                    .header("x-aftersales-event", &m.event)
                    .header("x-aftersales-delivery", m.id.to_string())
                    .header("x-aftersales-signature", format!("sha256={sig}"))
                    .body(body)
                    .send()
                    .await?;
                anyhow::ensure!(res.status().is_success(), "the webhook answered {}", res.status());
                Ok(true)
            }
            other => anyhow::bail!("unknown channel {other}"),
        }
    }
}

/// One pass: claims due messages, sends them, records each outcome. Returns how many it handled.
pub async fn run_once(db: &Db, sender: &Sender) -> anyhow::Result<usize> {
    let now = Utc::now();
    let claimed = {
        let mut tx = db.begin().await?;
        let rows = store::outbox::claim(tx.conn(), now, now + chrono::Duration::seconds(LEASE_SECONDS), BATCH).await?;
        tx.commit().await?;
        rows
    };
    for m in &claimed {
        // Never inside a transaction: the send happens between two short ones.
        let outcome = sender.send(db, m).await;
        let now = Utc::now();
        let mut tx = db.begin().await?;
        match outcome {
            Ok(true) => store::outbox::finish(tx.conn(), m.id, "sent", now, None, None).await?,
            Ok(false) => {
                let why = if m.channel == "email" { "no SMTP server is configured" } else { "the webhook was removed" };
                store::outbox::finish(tx.conn(), m.id, "skipped", now, None, Some(why)).await?
            }
            Err(e) => {
                let error = format!("{e:#}");
                tracing::warn!(id = m.id, channel = %m.channel, attempts = m.attempts, error = %error, "notification failed");
                if m.attempts >= MAX_ATTEMPTS {
                    store::outbox::finish(tx.conn(), m.id, "failed", now, None, Some(&error)).await?;
                } else {
                    // 1, 2, 4 … minutes, at most six hours.
                    let wait = chrono::Duration::minutes((1i64 << (m.attempts - 1).clamp(0, 9)).min(360));
                    store::outbox::finish(tx.conn(), m.id, "pending", now, Some(now + wait), Some(&error)).await?;
                }
            }
        }
        tx.commit().await?;
    }
    Ok(claimed.len())
}

/// Runs until `stop` changes; catches up on everything due after a downtime.
pub async fn run(db: Db, sender: Arc<Sender>, poll: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        let handled = match run_once(&db, &sender).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = ?e, "the notification worker could not claim messages");
                0
            }
        };
        // A full batch means more may be waiting: go on at once.
        if handled as i64 >= BATCH {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = stop.changed() => break,
        }
    }
}
