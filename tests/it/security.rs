//! The findings of the security review, each shown fixed: connections
//! inward, secrets in answers and logs, caching, the docs page's policy.

use serde_json::json;

use crate::harness::{ADMIN_PASSWORD, Org, Server};
use crate::receiver::Receiver;

/// A TCP service that is not IMAP: it greets like an SSH server would.
async fn ssh_lookalike() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut socket, _)) = listener.accept().await {
            let _ = socket.write_all(b"SSH-2.0-OpenSSH_9.0\r\n").await;
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    });
    port
}

fn imap_at(host: &str, port: u16) -> serde_json::Value {
    json!({"settings": {"imap": {
        "host": host, "port": port, "security": "plain",
        "username": "support", "password": "secret"
    }}})
}

#[tokio::test]
async fn imap_servers_inside_the_network_are_refused_and_never_read_back() {
    let port = ssh_lookalike().await;
    let allowed = format!("127.0.0.1:{port}");
    let org = Org::on(Server::start_fresh(&[("DOCKET_INTERNAL_ALLOW", &allowed)])).await;
    let path = format!("/api/v1/channels/{}", org.support);

    // The cloud's metadata service and a loopback port nobody allowed.
    for (host, port) in [
        ("169.254.169.254", 80),
        ("127.0.0.1", 22),
        ("localhost", 6379),
    ] {
        let refused = org.max.patch(&path, imap_at(host, port)).await;
        let detail = refused.problem(422);
        assert_eq!(
            refused.body["errors"][0]["field"], "imap.host",
            "{}",
            refused.text
        );
        assert!(detail.contains("inside this server's network"), "{detail}");
    }
    let channel = org.max.get(&path).await;
    assert!(
        channel.body["settings"]["imap"].is_null(),
        "nothing was saved"
    );

    // Allowed by the administrator, but not an IMAP server: the failure is
    // shown without a byte of what the remote sent.
    let saved = org.max.patch(&path, imap_at("127.0.0.1", port)).await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    let mut shown = json!(null);
    for _ in 0..150 {
        shown = org.max.get(&path).await.body["mail_status"].clone();
        if shown["last_error"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let error = shown["last_error"]
        .as_str()
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(
        !error.contains("SSH") && !error.contains("OpenSSH"),
        "{error}"
    );
}

#[tokio::test]
async fn the_slack_webhook_url_never_reaches_a_log_or_an_answer() {
    let slack = Receiver::start().await;
    *slack.answer.lock().unwrap() = (500, "text/plain", b"echo: internal detail".to_vec());
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("docket.log");
    let server = Server::start_logged_to(
        &dir.path().join("data"),
        &[
            ("DOCKET_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("DOCKET_WEBHOOK_ALLOW", &slack.address),
        ],
        &log,
    );
    let org = Org::on(server).await;
    let path = format!("/api/v1/channels/{}", org.support);
    let url = format!("http://{}/services/T0/B0/hooksecret", slack.address);
    let set = org
        .max
        .patch(&path, json!({"settings": {"slack_webhook_url": url}}))
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert!(!set.text.contains("hooksecret"));
    for viewer in [&org.max, &org.admin, &org.amy] {
        let seen = viewer.get(&path).await;
        assert!(!seen.text.contains("hooksecret"), "{}", seen.text);
    }
    let opened = org
        .amy
        .post(
            "/api/v1/cases",
            json!({"channel": org.support, "subject": "Printer on fire"}),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.text);
    // Slack refused, and the retry was logged.
    let mut logged = String::new();
    for _ in 0..150 {
        logged = std::fs::read_to_string(&log).unwrap_or_default();
        if logged.contains("will retry") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(logged.contains("will retry"), "{logged}");
    assert!(!slack.requests.lock().unwrap().is_empty());
    assert!(!logged.contains("hooksecret"), "{logged}");
    assert!(!logged.contains("services/T0"), "{logged}");
}

#[tokio::test]
async fn authenticated_answers_are_not_kept_and_every_page_has_a_policy() {
    let org = Org::new().await;
    for path in ["/api/v1/cases", "/api/v1/me", "/api/v1/channels"] {
        let answer = org.amy.get(path).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text);
        assert_eq!(answer.header("cache-control"), Some("no-store"), "{path}");
    }
    let web = crate::web::Browser::new(&org.server);
    web.login("amy", crate::harness::PASSWORD).await;
    let inbox = web.http.get(org.server.url("/inbox")).send().await.unwrap();
    assert_eq!(inbox.status(), 200);
    assert_eq!(inbox.headers()["cache-control"], "no-store");

    let docs = reqwest::get(org.server.url("/api/docs")).await.unwrap();
    assert_eq!(docs.status(), 200);
    let policy = docs.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let scripts = policy
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .unwrap_or_else(|| panic!("{policy}"));
    assert!(scripts.contains("'sha256-"), "{policy}");
    assert!(!scripts.contains("unsafe"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    // Unchanging public assets may still be cached.
    let style = reqwest::get(org.server.url("/static/docket.css"))
        .await
        .unwrap();
    assert!(
        style.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public"),
    );
}

/// A client whose requests leave from `local` (another loopback address)
/// and claim to be forwarded for `client`.
fn forwarded(local: &str, client: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", client.parse().unwrap());
    reqwest::Client::builder()
        .local_address(local.parse::<std::net::IpAddr>().unwrap())
        .default_headers(headers)
        .build()
        .unwrap()
}

async fn sign_in(server: &Server, http: &reqwest::Client, password: &str) -> u16 {
    http.post(server.url("/api/v1/auth/login"))
        .json(&json!({"username": "amy", "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn guessing_from_elsewhere_never_locks_the_real_user_out() {
    let org = Org::on(Server::start_fresh(&[(
        "DOCKET_TRUSTED_PROXIES",
        "127.0.0.1",
    )]))
    .await;
    let server = &org.server;
    let proxy = "127.0.0.1";
    let amy_home = forwarded(proxy, "198.51.100.7");
    assert_eq!(
        sign_in(server, &amy_home, crate::harness::PASSWORD).await,
        200
    );

    // One address hammering amy's account is slowed down itself.
    let attacker = forwarded(proxy, "203.0.113.9");
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(sign_in(server, &attacker, "guess-guess").await);
    }
    assert_eq!(&statuses[..5], [401; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    // A first sign-in from yet another address still works.
    let amy_office = forwarded(proxy, "192.0.2.44");
    assert_eq!(
        sign_in(server, &amy_office, crate::harness::PASSWORD).await,
        200
    );

    // Guessing spread over many addresses slows strangers, not amy at an
    // address she signed in from before.
    for n in 0..60 {
        let bot = forwarded(proxy, &format!("203.0.113.{}", 100 + n));
        sign_in(server, &bot, "guess-guess").await;
    }
    assert_eq!(
        sign_in(server, &forwarded(proxy, "203.0.113.200"), "guess-guess").await,
        429
    );
    assert_eq!(
        sign_in(server, &amy_home, crate::harness::PASSWORD).await,
        200
    );

    // The header of a client that is not a trusted proxy is not believed:
    // 127.0.0.2 claiming to forward amy's home address counts as itself.
    let liar = forwarded("127.0.0.2", "198.51.100.7");
    let status = liar
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"username": "bob", "password": "guess-guess"}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);

    // Administrators see the failures; others may not.
    let failures = org
        .admin
        .get("/api/v1/admin/failed-sign-ins?limit=500")
        .await;
    assert_eq!(failures.status, 200, "{}", failures.text);
    let rows = failures.body.as_array().unwrap();
    assert!(
        rows.iter()
            .any(|r| r["address"] == "203.0.113.9" && r["reason"] == "throttled")
    );
    assert!(
        rows.iter()
            .any(|r| r["address"] == "127.0.0.2" && r["reason"] == "wrong_password")
    );
    assert!(!rows.iter().any(|r| r["address"] == "198.51.100.7"));
    org.amy
        .get("/api/v1/admin/failed-sign-ins")
        .await
        .problem(403);
    let web = crate::web::Browser::new(server);
    web.login("admin", ADMIN_PASSWORD).await;
    let (_, page, _) = web.get("/users").await;
    assert!(
        page.contains("id=\"failed-sign-ins\"") && page.contains("127.0.0.2"),
        "{page}"
    );
}
