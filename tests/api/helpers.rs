//! Starts the real server on port 0 against a temporary SQLite file or a fresh PostgreSQL
//! database, with the demo company loaded.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use aftersales::config::{Config, FileConfig, Overrides};
use aftersales::db::Db;
use aftersales::http::AppState;
use reqwest::redirect::Policy;
use serde_json::Value;
use tokio::sync::oneshot;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub db: Db,
    pub database_url: String,
    pub backend: Backend,
    pub files_dir: std::path::PathBuf,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

pub fn pg_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map(|(b, q)| (b, Some(q))).unwrap_or((url, None));
    let cut = base.rfind('/').expect("database URL has a path");
    let mut out = format!("{}/{}", &base[..cut], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh PostgreSQL database, or `None` (with a note) when PostgreSQL is not reachable
/// outside CI. Under `CI=true` an unreachable server fails the test.
pub async fn fresh_pg_database() -> Option<String> {
    use sqlx::Connection;
    let admin = pg_admin_url();
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL at {admin} is unreachable under CI=true: {e}");
            }
            eprintln!("note: skipping the PostgreSQL case, {admin} is unreachable: {e}");
            return None;
        }
    };
    let name = format!("as_test_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst));
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).execute(&mut conn).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
    Some(name)
}

/// Drops a database made by [`fresh_pg_database`] (tests that make one themselves call it at
/// their end; `TestApp::stop` does it for the apps).
pub async fn drop_pg_database(name: &str) {
    use sqlx::Connection;
    if let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
            .execute(&mut conn)
            .await;
    }
}

impl TestApp {
    /// A server with the demo company on the given backend; `None` only for PostgreSQL outside CI
    /// when no server is reachable.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        TestApp::spawn_with(backend, |_| {}).await
    }

    /// As [`spawn`](Self::spawn), with the configuration adjusted first (SMTP, polling …).
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
        let (url, dir, pg_name) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}/test.db", dir.path().display());
                (url, Some(dir), None)
            }
            Backend::Postgres => {
                let name = fresh_pg_database().await?;
                (replace_db_name(&pg_admin_url(), &name), Some(tempfile::tempdir().unwrap()), Some(name))
            }
        };
        let files_dir = dir.as_ref().expect("a folder for each app").path().join("files");
        let app = TestApp::start(backend, &url, files_dir, dir, pg_name, adjust).await;
        aftersales::demo::load(&app.db).await.expect("demo loads");
        Some(app)
    }

    /// A second instance on the same database (for scale-out tests).
    pub async fn another_instance(&self) -> TestApp {
        self.another_instance_with(|_| {}).await
    }

    /// A second instance on the same database, with its configuration adjusted first.
    pub async fn another_instance_with(&self, adjust: impl FnOnce(&mut Config)) -> TestApp {
        TestApp::start(self.backend, &self.database_url, self.files_dir.clone(), None, None, adjust).await
    }

    async fn start(
        backend: Backend,
        url: &str,
        files_dir: std::path::PathBuf,
        dir: Option<tempfile::TempDir>,
        pg_name: Option<String>,
        adjust: impl FnOnce(&mut Config),
    ) -> TestApp {
        let config = Config::resolve(
            FileConfig::default(),
            Overrides {
                listen: Some("127.0.0.1:0".into()),
                database_url: Some(url.into()),
                files_dir: Some(files_dir.display().to_string()),
                ..Default::default()
            },
        )
        .unwrap();
        let db = aftersales::startup::open_database(&config).await.expect("database opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = Config { public_url: format!("http://{addr}"), outbox_poll_ms: 100, ..config };
        adjust(&mut config);
        let (tx, rx) = oneshot::channel::<()>();
        let state = AppState::new(db.clone(), config).expect("state");
        let server = tokio::spawn(aftersales::startup::serve(state, listener, async {
            let _ = rx.await;
        }));
        TestApp {
            addr,
            db,
            files_dir,
            database_url: url.to_string(),
            backend,
            stop: Some(tx),
            server: Some(server),
            pg_name,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder().cookie_store(true).redirect(Policy::none()).build().unwrap()
    }

    /// Signs in through the login form and returns the client holding the session.
    pub async fn login(&self, login: &str, password: &str) -> reqwest::Client {
        let c = self.client();
        let res = c.post(self.url("/login")).form(&[("login", login), ("password", password)]).send().await.unwrap();
        assert_eq!(res.status(), 303, "login of {login} should redirect");
        c
    }

    pub async fn token(&self, login: &str) -> String {
        let c = self.login(login, aftersales::demo::DEMO_PASSWORD).await;
        let res = c.post(self.url("/api/v1/tokens")).json(&serde_json::json!({"name": "test"})).send().await.unwrap();
        assert_eq!(res.status(), 201);
        let v: Value = res.json().await.unwrap();
        v["token"].as_str().unwrap().to_string()
    }

    pub async fn api(&self, method: reqwest::Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let mut rb = reqwest::Client::new().request(method, self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let res = rb.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            h.await.unwrap().unwrap();
        }
        if let Some(name) = self.pg_name.take() {
            drop_pg_database(&name).await;
        }
    }
}

/// Generates `sqlite` and `postgres` test cases for an `async fn(&TestApp)`.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await.unwrap();
                super::$name(&app).await;
                app.stop().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await else { return };
                super::$name(&app).await;
                app.stop().await;
            }
        }
    )*};
}
