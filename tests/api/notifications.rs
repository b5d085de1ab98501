//! Notifications leave through the outbox: e-mails to a local SMTP sink and signed webhook
//! calls to a local receiver, each once, after the change committed — on both databases.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::helpers::{Backend, TestApp};

type Mails = Arc<Mutex<Vec<String>>>;

/// A minimal SMTP server that accepts every message and keeps it (envelope and data).
async fn smtp_sink() -> (SocketAddr, Mails) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mails: Mails = Arc::default();
    let keep = mails.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut envelope = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        w.write_all(b"250-sink\r\n250 8BITMIME\r\n").await.unwrap();
                    } else if upper.starts_with("MAIL") || upper.starts_with("RCPT") {
                        envelope.push_str(&line);
                        envelope.push('\n');
                        w.write_all(b"250 OK\r\n").await.unwrap();
                    } else if upper.starts_with("DATA") {
                        w.write_all(b"354 go on\r\n").await.unwrap();
                        let mut data = envelope.clone();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(&l);
                            data.push('\n');
                        }
                        keep.lock().unwrap().push(data);
                        envelope.clear();
                        w.write_all(b"250 queued\r\n").await.unwrap();
                    } else if upper.starts_with("QUIT") {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        w.write_all(b"250 OK\r\n").await.unwrap();
                    }
                }
            });
        }
    });
    (addr, mails)
}

type Calls = Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>;

/// A webhook receiver that answers 200 and keeps every call.
async fn receiver() -> (SocketAddr, Calls) {
    let calls: Calls = Arc::default();
    let keep = calls.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, calls)
}

/// The mail with its base64 body decoded, so the test can read what the customer reads.
fn readable(raw: &str) -> String {
    use base64::Engine;
    let Some((head, body)) = raw.split_once("\n\n") else { return raw.to_string() };
    let joined: String = body.lines().collect();
    match base64::engine::general_purpose::STANDARD.decode(joined.trim()) {
        Ok(bytes) => format!("{head}\n\n{}", String::from_utf8_lossy(&bytes)),
        Err(_) => raw.to_string(),
    }
}

/// Waits (up to 20 s) until `f` holds.
async fn eventually(what: &str, f: impl Fn() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    notifications_are_sent_once_after_commit(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    notifications_are_sent_once_after_commit(Backend::Postgres).await;
}

async fn notifications_are_sent_once_after_commit(backend: Backend) {
    let (smtp, mails) = smtp_sink().await;
    let (hook, calls) = receiver().await;
    let Some(app) = TestApp::spawn_with(backend, |c| {
        c.smtp_url = Some(format!("smtp://{smtp}"));
        c.mail_from = "华信售后 <service@demo.example.cn>".into();
    })
    .await
    else {
        return;
    };
    let admin = app.token("admin").await;
    let (status, v) =
        app.api(Method::POST, "/api/v1/webhooks", &admin, Some(json!({"url": "ftp://x", "events": ["nope"]}))).await;
    assert_eq!(status, 422);
    assert!(v["error"]["fields"]["url"][0].is_string() && v["error"]["fields"]["events"][0].is_string());
    let (status, created) = app
        .api(
            Method::POST,
            "/api/v1/webhooks",
            &admin,
            Some(json!({"url": format!("http://{hook}/hook"), "events": ["order_created", "order_completed"]})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_string();
    // A second integration that is down: its calls wait for a retry, nothing else is held up.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (status, _) = app
        .api(
            Method::POST,
            "/api/v1/webhooks",
            &admin,
            Some(json!({"url": format!("http://{dead}/x"), "events": ["*"]})),
        )
        .await;
    assert_eq!(status, 201);

    // A customer with an e-mail address calls; the dispatcher registers the request.
    let dispatcher = app.token("dispatcher").await;
    let (status, c) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &dispatcher,
            Some(json!({"kind": "person", "name": "周晓雯", "region": "east", "city": "苏州市",
                "phone": "13955550001", "email": "zhou@example.cn"})),
        )
        .await;
    assert_eq!(status, 201, "{c}");
    let customer_id = c["customer"]["id"].as_i64().or(c["id"].as_i64()).unwrap();
    let (status, o) = app
        .api(
            Method::POST,
            "/api/v1/work-orders",
            &dispatcher,
            Some(json!({"channel": "email", "kind": "consultation", "customer_id": customer_id, "problem": "咨询空调保养周期"})),
        )
        .await;
    assert_eq!(status, 201, "{o}");
    let id = o["order"]["id"].as_i64().unwrap();
    let number = o["number"].as_str().unwrap().to_string();

    // (The demo's own assignment mailed its engineer when the server started.)
    let to = |addr: &str| -> Vec<String> {
        let rcpt = format!("RCPT TO:<{addr}>");
        mails.lock().unwrap().iter().filter(|m| m.contains(&rcpt)).map(|m| readable(m)).collect()
    };
    eventually("the receipt e-mail", || to("zhou@example.cn").len() == 1).await;
    let mail = to("zhou@example.cn")[0].clone();
    assert!(mail.contains("zhou@example.cn") && mail.contains("service@demo.example.cn"), "{mail}");
    assert!(mail.contains(&number), "{mail}");
    let tracking = o["tracking_url"].as_str().unwrap();
    assert!(mail.contains(tracking), "the link uses the public address: {mail}");

    eventually("the webhook call", || calls.lock().unwrap().len() == 1).await;
    let (headers, body) = calls.lock().unwrap()[0].clone();
    assert_eq!(headers["x-aftersales-event"], "order_created");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(headers["x-aftersales-signature"], format!("sha256={expected}").as_str(), "signed with the secret");
    let payload: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (payload["order"]["id"].as_i64(), payload["order"]["number"].as_str()),
        (Some(id), Some(number.as_str()))
    );
    assert_eq!(payload["order"]["url"], app.url(&format!("/api/v1/work-orders/{id}")));

    // Assignment: the customer hears who comes and when, the engineer gets the job.
    let (_, users) = app.api(Method::GET, "/api/v1/users?q=engineer", &admin, None).await;
    let engineer = users["items"].as_array().unwrap().iter().find(|u| u["login"] == "engineer").unwrap()["id"].clone();
    let (status, _) = app
        .api(
            Method::POST,
            &format!("/api/v1/work-orders/{id}/actions/assign"),
            &dispatcher,
            Some(
                json!({"version": o["order"]["version"], "engineer_id": engineer, "scheduled_at": "2026-12-04T09:30"}),
            ),
        )
        .await;
    assert_eq!(status, 200);
    eventually("the customer's assignment e-mail", || to("zhou@example.cn").len() == 2).await;
    eventually("the engineer's e-mail", || to("engineer@demo.example.cn").iter().any(|m| m.contains(&number))).await;
    let told = to("zhou@example.cn")[1].clone();
    assert!(told.contains("张伟") && told.contains("2026-12-04 09:30"), "who comes and when, in company time: {told}");
    let job = to("engineer@demo.example.cn").into_iter().find(|m| m.contains(&number)).unwrap();
    assert!(job.contains("周晓雯") && job.contains("咨询空调保养周期"), "{job}");

    // Each message once; the dead webhook's calls wait with their error.
    let before = mails.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(mails.lock().unwrap().len(), before, "nothing sent twice");
    assert_eq!(to("zhou@example.cn").len(), 2);
    assert_eq!(calls.lock().unwrap().len(), 1, "order_assigned is not subscribed by the live hook");
    let (_, list) = app.api(Method::GET, &format!("/api/v1/work-orders/{id}/notifications"), &dispatcher, None).await;
    let list = list.as_array().unwrap();
    let sent = list.iter().filter(|m| m["status"] == "sent").count();
    let waiting: Vec<&Value> = list.iter().filter(|m| m["status"] == "pending").collect();
    assert_eq!(sent, 4, "{list:?}");
    assert_eq!(waiting.len(), 2, "the dead hook's two calls: {list:?}");
    assert!(waiting.iter().all(|m| m["attempts"] == 1 && m["last_error"].is_string()), "{waiting:?}");
    let web = app.login("dispatcher", aftersales::demo::DEMO_PASSWORD).await;
    let page = web.get(app.url(&format!("/work-orders/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("zhou@example.cn") && page.contains("已发送"), "the order page shows its notifications");
    app.stop().await;
}
