//! The `aftersales` command as an operator uses it: migrate, users, tokens, clear start-up
//! errors, and a graceful stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::{drop_pg_database, fresh_pg_database, pg_admin_url};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aftersales"));
    c.env_remove("DATABASE_URL").env_remove("AFTERSALES_LISTEN").env("AFTERSALES_LOG", "warn");
    c
}

fn run(args: &[&str], db: &str) -> (bool, String, String) {
    let out = bin().args(args).arg("--database").arg(db).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn users_and_tokens_from_the_shell(db: &str) {
    let (ok, out, err) = run(&["migrate"], db);
    assert!(ok, "{err}");
    assert!(out.contains("migrated"));
    let (ok, _, err) = run(
        &["user", "add", "--login", "Ops.Admin", "--password", "longpassword", "--role", "admin,service_manager"],
        db,
    );
    assert!(ok, "{err}");
    let (ok, _, err) = run(&["user", "add", "--login", "x", "--password", "short", "--role", "boss"], db);
    assert!(!ok);
    assert!(err.contains("login: A login has 2 to 32 characters"), "{err}");
    assert!(err.contains("password: A password needs at least 8 characters"), "{err}");
    assert!(err.contains("roles: Unknown role"), "{err}");
    let (ok, out, _) = run(&["user", "list"], db);
    assert!(ok);
    assert!(out.contains("ops.admin") && out.contains("admin,service_manager"), "{out}");
    let (ok, token, err) = run(&["token", "create", "--login", "ops.admin"], db);
    assert!(ok, "{err}");
    assert_eq!(token.trim().len(), 64, "only the token is printed: {token}");
    let (ok, _, err) = run(&["user", "reset-password", "--login", "ops.admin", "--password", "another-password"], db);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&["token", "create", "--login", "ghost"], db);
    assert!(!ok);
    assert!(err.contains("no user with login ghost"));
}

#[test]
fn cli_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    users_and_tokens_from_the_shell(&format!("sqlite://{}/cli.db", dir.path().display()));
}

#[tokio::test]
async fn cli_on_postgres() {
    let Some(name) = fresh_pg_database().await else { return };
    let admin = pg_admin_url();
    let url = format!("{}/{}", &admin[..admin.rfind('/').unwrap()], name);
    tokio::task::spawn_blocking(move || users_and_tokens_from_the_shell(&url)).await.unwrap();
    drop_pg_database(&name).await;
}

#[test]
fn unusable_databases_stop_startup_with_advice() {
    let (ok, _, err) = run(&["migrate"], "sqlite:///etc/passwd/sub/x.db");
    assert!(!ok);
    assert!(err.contains("cannot create the data folder"), "{err}");
    let (ok, _, err) = run(&["migrate"], "postgres://postgres:secret@127.0.0.1:1/none");
    assert!(!ok);
    assert!(err.contains("cannot connect to PostgreSQL") && err.contains("Check DATABASE_URL"), "{err}");
    assert!(!err.contains("secret"), "passwords are not printed: {err}");
    let (ok, _, err) = run(&["migrate"], "mysql://x/y");
    assert!(!ok);
    assert!(err.contains("unsupported DATABASE_URL"), "{err}");
}

#[test]
fn serve_with_demo_then_stop_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = bin()
        .current_dir(dir.path())
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    let addr = loop {
        let line = lines.next().expect("server prints its address").unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if let Some(rest) = line.strip_prefix("Aftersales is serving http://") {
            break rest.split('/').next().unwrap().to_string();
        }
    };
    assert!(printed.contains("admin") && printed.contains("demo1234"), "demo logins are printed: {printed}");
    assert!(dir.path().join("data/aftersales.db").exists(), "the default SQLite file is created");
    let body = reqwest::blocking_get(&format!("http://{addr}/healthz"));
    assert!(body.contains("\"ok\""), "{body}");
    send_sigterm(child.id());
    let status = wait_timeout(&mut child, Duration::from_secs(15)).expect("the server stops on SIGTERM");
    assert!(status.success(), "exit status {status:?}");
}

fn send_sigterm(pid: u32) {
    let ok = Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success();
    assert!(ok);
}

fn wait_timeout(child: &mut std::process::Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    None
}

mod reqwest {
    /// A blocking GET without pulling reqwest's blocking feature into the build.
    pub fn blocking_get(url: &str) -> String {
        let url = url.to_string();
        // reqwest is built without a default TLS provider; the app installs one when its
        // outbox starts, which may not have happened yet in this test process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async { ::reqwest::get(url).await.unwrap().text().await.unwrap() })
        })
        .join()
        .unwrap()
    }
}
