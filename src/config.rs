//! Configuration: command-line flags override `AFTERSALES_…` environment variables, which
//! override an optional TOML file (`--config FILE` / `AFTERSALES_CONFIG`), which overrides
//! the defaults. Secrets (the database password) are never logged.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

use crate::db::SqliteSync;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/aftersales.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    /// The address users reach the server at; links in e-mails and QR codes use it, and
    /// cookies get the `Secure` flag when it is https.
    pub public_url: String,
    pub sqlite_sync: SqliteSync,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy you control).
    pub trust_forwarded_for: bool,
    /// Idle sessions expire after this many minutes.
    pub session_idle_minutes: i64,
    /// Failed logins allowed per account and per address within 15 minutes.
    pub login_max_failures_per_account: i64,
    pub login_max_failures_per_address: i64,
    /// Where photos and signatures are kept; default: `files` beside a SQLite database, else
    /// `./data/files`. Several instances need a folder they all share.
    pub files_dir: std::path::PathBuf,
    /// Where e-mail goes out: `smtp://host:port` (STARTTLS when offered), `smtps://…`, with
    /// `user:password@` when the server wants it. None: e-mails are recorded as skipped.
    pub smtp_url: Option<String>,
    /// The sender of notification e-mails.
    pub mail_from: String,
    /// How often the notification worker looks for due messages.
    pub outbox_poll_ms: u64,
    /// How often the SLA sweeper looks for clocks whose warning, due time or escalation has come.
    pub sla_sweep_ms: u64,
    /// Clocks the sweeper claims per transaction.
    pub sla_sweep_batch: i64,
    /// How often the visit planner looks whether the schedule needs more days (0: never).
    pub visit_plan_ms: u64,
    /// How many days ahead follow-up visits are planned.
    pub visit_lookahead_days: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            database_url: DEFAULT_DATABASE_URL.into(),
            public_url: format!("http://{DEFAULT_LISTEN}"),
            sqlite_sync: SqliteSync::Normal,
            trust_forwarded_for: false,
            session_idle_minutes: 12 * 60,
            login_max_failures_per_account: 5,
            login_max_failures_per_address: 30,
            files_dir: "./data/files".into(),
            smtp_url: None,
            mail_from: "售后服务 <noreply@localhost>".into(),
            outbox_poll_ms: 1000,
            sla_sweep_ms: 30_000,
            sla_sweep_batch: crate::service::sla::SWEEP_BATCH,
            visit_plan_ms: 3_600_000,
            visit_lookahead_days: 14,
        }
    }
}

/// The keys a config file may hold; every one optional.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub public_url: Option<String>,
    pub sqlite_sync: Option<SqliteSync>,
    pub trust_forwarded_for: Option<bool>,
    pub session_idle_minutes: Option<i64>,
    pub login_max_failures_per_account: Option<i64>,
    pub login_max_failures_per_address: Option<i64>,
    pub files_dir: Option<String>,
    pub smtp_url: Option<String>,
    pub mail_from: Option<String>,
    pub sla_sweep_seconds: Option<u64>,
    pub visit_lookahead_days: Option<i64>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> anyhow::Result<FileConfig> {
        let Some(path) = path else { return Ok(FileConfig::default()) };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("the configuration file {} is not valid", path.display()))
    }
}

/// Values given on the command line or in the environment (clap reads both).
#[derive(Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub public_url: Option<String>,
    pub sqlite_sync: Option<SqliteSync>,
    pub files_dir: Option<String>,
}

fn env_parse<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => {
            v.trim().parse().map(Some).map_err(|_| anyhow::anyhow!("{name}={v} is not a valid value"))
        }
        _ => Ok(None),
    }
}

/// `files` in the SQLite database's folder, so one data folder holds everything to back up.
fn default_files_dir(database_url: &str) -> std::path::PathBuf {
    if database_url.starts_with("postgres") {
        return "./data/files".into();
    }
    let rest =
        database_url.strip_prefix("sqlite://").or_else(|| database_url.strip_prefix("sqlite:")).unwrap_or(database_url);
    let rest = rest.split('?').next().unwrap_or(rest);
    match Path::new(rest).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("files"),
        _ => "./files".into(),
    }
}

impl Config {
    pub fn resolve(file: FileConfig, o: Overrides) -> anyhow::Result<Config> {
        let d = Config::default();
        let listen_raw = o.listen.or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.into());
        let listen: SocketAddr = listen_raw
            .parse()
            .with_context(|| format!("listen address {listen_raw} is not of the form IP:PORT (e.g. 127.0.0.1:8080)"))?;
        let public_url = o.public_url.or(file.public_url).unwrap_or_else(|| format!("http://{listen}"));
        let database_url = o.database_url.or(file.database_url).unwrap_or(d.database_url);
        let files_dir = match o.files_dir.or(file.files_dir) {
            Some(dir) => dir.into(),
            None => default_files_dir(&database_url),
        };
        let c = Config {
            listen,
            database_url,
            files_dir,
            smtp_url: env_parse::<String>("AFTERSALES_SMTP_URL")?.or(file.smtp_url).filter(|s| !s.trim().is_empty()),
            mail_from: env_parse::<String>("AFTERSALES_MAIL_FROM")?.or(file.mail_from).unwrap_or(d.mail_from),
            outbox_poll_ms: d.outbox_poll_ms,
            sla_sweep_ms: env_parse::<u64>("AFTERSALES_SLA_SWEEP_SECONDS")?
                .or(file.sla_sweep_seconds)
                .map(|s| s.clamp(1, 3600) * 1000)
                .unwrap_or(d.sla_sweep_ms),
            sla_sweep_batch: d.sla_sweep_batch,
            visit_plan_ms: d.visit_plan_ms,
            visit_lookahead_days: env_parse::<i64>("AFTERSALES_VISIT_LOOKAHEAD_DAYS")?
                .or(file.visit_lookahead_days)
                .map(|d| d.clamp(0, 366))
                .unwrap_or(d.visit_lookahead_days),
            public_url: public_url.trim_end_matches('/').to_string(),
            sqlite_sync: o.sqlite_sync.or(file.sqlite_sync).unwrap_or_default(),
            trust_forwarded_for: env_parse("AFTERSALES_TRUST_FORWARDED_FOR")?
                .or(file.trust_forwarded_for)
                .unwrap_or(d.trust_forwarded_for),
            session_idle_minutes: env_parse("AFTERSALES_SESSION_IDLE_MINUTES")?
                .or(file.session_idle_minutes)
                .unwrap_or(d.session_idle_minutes),
            login_max_failures_per_account: file
                .login_max_failures_per_account
                .unwrap_or(d.login_max_failures_per_account),
            login_max_failures_per_address: file
                .login_max_failures_per_address
                .unwrap_or(d.login_max_failures_per_address),
        };
        anyhow::ensure!(c.session_idle_minutes > 0, "session_idle_minutes must be positive");
        Ok(c)
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_file_beats_default() {
        let file: FileConfig =
            toml::from_str("listen = \"127.0.0.1:9000\"\ndatabase_url = \"sqlite://x.db\"\nsqlite_sync = \"full\"")
                .unwrap();
        let c =
            Config::resolve(file, Overrides { listen: Some("127.0.0.1:7000".into()), ..Default::default() }).unwrap();
        assert_eq!(c.listen.port(), 7000);
        assert_eq!(c.database_url, "sqlite://x.db");
        assert_eq!(c.sqlite_sync, SqliteSync::Full);
        assert_eq!(c.public_url, "http://127.0.0.1:7000");
        assert!(!c.secure_cookies());
    }

    #[test]
    fn bad_values_are_explained() {
        let err =
            Config::resolve(FileConfig::default(), Overrides { listen: Some("8080".into()), ..Default::default() })
                .unwrap_err();
        assert!(err.to_string().contains("IP:PORT"));
        assert!(toml::from_str::<FileConfig>("lisen = \"x\"").is_err(), "unknown keys are refused");
    }
}
