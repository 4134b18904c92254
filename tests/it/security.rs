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

/// What an authenticator app shows for `secret` now, `offset` steps of 30
/// seconds away.
fn app_code(secret: &str, offset: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .unwrap();
    let totp = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        None,
        String::new(),
    )
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    totp.generate((now + offset * 30) as u64)
}

/// Turns on amy's second factor through the API; her secret and recovery
/// codes.
async fn enrol(client: &crate::harness::Client) -> (String, Vec<String>) {
    let wrong = client
        .post(
            "/api/v1/me/second-factor",
            json!({"password": "not-the-password"}),
        )
        .await;
    assert!(wrong.problem(422).contains("password"));
    let password = if client.get("/api/v1/me").await.body["username"] == "admin" {
        ADMIN_PASSWORD
    } else {
        crate::harness::PASSWORD
    };
    let started = client
        .post("/api/v1/me/second-factor", json!({"password": password}))
        .await;
    assert_eq!(started.status, 201, "{}", started.text);
    let secret = started.body["secret"].as_str().unwrap().to_owned();
    assert!(
        started.body["otpauth_url"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let wrong = client
        .post(
            "/api/v1/me/second-factor/confirm",
            json!({"code": "000000"}),
        )
        .await;
    assert!(wrong.problem(422).contains("not right"));
    let confirmed = client
        .post(
            "/api/v1/me/second-factor/confirm",
            json!({"code": app_code(&secret, 0)}),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let codes: Vec<String> = confirmed.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

async fn api_login(server: &Server, code: Option<&str>) -> crate::harness::Answer {
    let mut body = json!({"username": "amy", "password": crate::harness::PASSWORD});
    if let Some(code) = code {
        body["code"] = json!(code);
    }
    crate::harness::Client::anonymous(server)
        .post("/api/v1/auth/login", body)
        .await
}

#[tokio::test]
async fn two_factor_sign_in_through_the_api_and_the_rule_that_requires_it() {
    let org = Org::new().await;
    let (secret, recovery) = enrol(&org.amy).await;
    assert_eq!(org.amy.get("/api/v1/me").await.body["second_factor"], true);

    // The password alone is not enough; a code works once; a recovery
    // code works once.
    let detail = api_login(&org.server, None).await.problem(401);
    assert!(detail.contains("code"), "{detail}");
    api_login(&org.server, Some("123456")).await.problem(422);
    let code = app_code(&secret, 1);
    let signed_in = api_login(&org.server, Some(&code)).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    api_login(&org.server, Some(&code)).await.problem(422);
    assert_eq!(api_login(&org.server, Some(&recovery[0])).await.status, 200);
    api_login(&org.server, Some(&recovery[0]))
        .await
        .problem(422);

    // Tokens: listed, created (shown once), revoked; never someone else's.
    let created = org
        .amy
        .post(
            "/api/v1/me/tokens",
            json!({"label": "reporting script", "days": 30}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let script =
        crate::harness::Client::with_token(&org.server, created.body["token"].as_str().unwrap());
    assert_eq!(script.get("/api/v1/me").await.status, 200);
    let listed = org.amy.get("/api/v1/me/tokens").await;
    assert!(
        !listed
            .text
            .contains(created.body["token"].as_str().unwrap()),
        "never the token"
    );
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(
        listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str() && t["label"] == "reporting script")
    );
    assert!(
        listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["current"] == true)
    );
    org.max
        .delete(&format!("/api/v1/me/tokens/{id}"))
        .await
        .problem(404);
    let revoked = org.amy.delete(&format!("/api/v1/me/tokens/{id}")).await;
    assert_eq!(revoked.status, 204, "{}", revoked.text);
    assert_eq!(script.get("/api/v1/me").await.status, 401);
    org.amy
        .post("/api/v1/me/tokens", json!({"label": "", "days": 0}))
        .await
        .problem(422);

    // Required for staff: max (no second factor) can only enrol; the
    // partner and amy (who has one) go on working.
    org.amy
        .put(
            "/api/v1/admin/sign-in-policy",
            json!({"require_second_factor": true}),
        )
        .await
        .problem(403);
    let unprotected = org
        .admin
        .put(
            "/api/v1/admin/sign-in-policy",
            json!({"require_second_factor": true}),
        )
        .await;
    assert!(unprotected.problem(409).contains("yourself first"));
    enrol(&org.admin).await;
    let set = org
        .admin
        .put(
            "/api/v1/admin/sign-in-policy",
            json!({"require_second_factor": true}),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    let refused = org.max.get("/api/v1/cases").await;
    assert!(refused.problem(403).contains("two-factor"));
    let me = org.max.get("/api/v1/me").await;
    assert_eq!(me.body["must_set_up_second_factor"], true, "{}", me.text);
    assert_eq!(org.pat.get("/api/v1/cases").await.status, 200);
    assert_eq!(org.amy.get("/api/v1/cases").await.status, 200);
    // While required, it cannot be turned off.
    let off = org
        .amy
        .post(
            "/api/v1/me/second-factor/disable",
            json!({"code": app_code(&secret, -1)}),
        )
        .await;
    off.problem(409);
    let (max_secret, max_recovery) = enrol(&org.max).await;
    assert_eq!(org.max.get("/api/v1/cases").await.status, 200);
    // New recovery codes take a current code and replace the old ones.
    let renew = "/api/v1/me/second-factor/recovery-codes";
    org.max
        .post(renew, json!({"code": "000000"}))
        .await
        .problem(422);
    let renewed = org
        .max
        .post(renew, json!({"code": app_code(&max_secret, 1)}))
        .await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    assert_eq!(renewed.body["recovery_codes"].as_array().unwrap().len(), 10);
    let old_code = crate::harness::Client::anonymous(&org.server)
        .post(
            "/api/v1/auth/login",
            json!({"username": "max", "password": crate::harness::PASSWORD, "code": max_recovery[0]}),
        )
        .await;
    old_code.problem(422);
    // An administrator resets a lost phone (amy's sessions end with it),
    // but not their own: that takes a code.
    org.admin
        .delete("/api/v1/users/admin/second-factor")
        .await
        .problem(409);
    let reset = org.admin.delete("/api/v1/users/amy/second-factor").await;
    assert_eq!(reset.status, 204, "{}", reset.text);
    assert_eq!(org.amy.get("/api/v1/me").await.status, 401);
    let amy = crate::harness::Client::login(&org.server, "amy", crate::harness::PASSWORD).await;
    assert_eq!(amy.get("/api/v1/me").await.body["second_factor"], false);
    org.max
        .delete("/api/v1/users/amy/second-factor")
        .await
        .problem(403);
}

#[tokio::test]
async fn two_factor_sign_in_in_the_browser_with_a_code_and_a_recovery_code() {
    use crate::browser::{start_browser, wait_for_containing, wait_for_path};
    use thirtyfour::prelude::*;
    let org = Org::new().await;
    let (_driver, web) = start_browser().await;
    let outcome = async {
        let sign_in = |password: &'static str| {
            let web = &web;
            let base = org.server.url("/login");
            async move {
                web.goto(&base).await?;
                web.find(By::Id("username")).await?.send_keys("amy").await?;
                web.find(By::Id("password"))
                    .await?
                    .send_keys(password)
                    .await?;
                web.find(By::Id("login")).await?.click().await?;
                WebDriverResult::Ok(())
            }
        };
        // Enrol on the account page: the key, then the first code.
        sign_in(crate::harness::PASSWORD).await?;
        wait_for_path(&web, |p| p == "/inbox").await?;
        web.goto(&org.server.url("/account")).await?;
        web.find(By::Id("enrol-password"))
            .await?
            .send_keys(crate::harness::PASSWORD)
            .await?;
        web.find(By::Id("start-second-factor"))
            .await?
            .click()
            .await?;
        // The page after the password check: wait for it.
        let secret = wait_for_containing(&web, By::Id("second-factor-secret"), "").await?;
        assert!(
            web.find(By::Css(".qr svg")).await.is_ok(),
            "a QR code to scan"
        );
        web.find(By::Id("confirm-code"))
            .await?
            .send_keys("999999")
            .await?;
        web.find(By::Id("confirm-second-factor"))
            .await?
            .click()
            .await?;
        wait_for_containing(&web, By::Id("second-factor-error"), "not right").await?;
        web.find(By::Id("confirm-code"))
            .await?
            .send_keys(app_code(&secret, 0))
            .await?;
        web.find(By::Id("confirm-second-factor"))
            .await?
            .click()
            .await?;
        let codes = wait_for_containing(&web, By::Id("recovery-codes"), "recovery codes").await?;
        let recovery: Vec<String> = codes
            .split_whitespace()
            .filter(|w| w.len() == 11 && w.as_bytes()[5] == b'-')
            .map(str::to_owned)
            .collect();
        assert_eq!(recovery.len(), 10, "{codes}");
        web.find(By::Css("form[action='/logout'] button"))
            .await?
            .click()
            .await?;
        wait_for_path(&web, |p| p == "/login").await?;

        // Sign in: password, then the code; a wrong code is said so.
        sign_in(crate::harness::PASSWORD).await?;
        wait_for_path(&web, |p| p == "/login/second-factor").await?;
        web.find(By::Id("code")).await?.send_keys("000000").await?;
        web.find(By::Id("verify")).await?.click().await?;
        wait_for_containing(&web, By::Id("code-error"), "not right").await?;
        web.find(By::Id("code"))
            .await?
            .send_keys(app_code(&secret, 1))
            .await?;
        web.find(By::Id("verify")).await?.click().await?;
        wait_for_path(&web, |p| p == "/inbox").await?;
        web.find(By::Css("form[action='/logout'] button"))
            .await?
            .click()
            .await?;
        wait_for_path(&web, |p| p == "/login").await?;

        // A recovery code instead of the phone.
        sign_in(crate::harness::PASSWORD).await?;
        wait_for_path(&web, |p| p == "/login/second-factor").await?;
        web.find(By::Id("code"))
            .await?
            .send_keys(&recovery[2])
            .await?;
        web.find(By::Id("verify")).await?.click().await?;
        wait_for_path(&web, |p| p == "/inbox").await?;
        web.find(By::Css("form[action='/logout'] button"))
            .await?
            .click()
            .await?;
        wait_for_path(&web, |p| p == "/login").await?;

        // Required of staff: max, without a second factor, reaches nothing
        // but his account page until he sets one up.
        enrol(&org.admin).await;
        let set = org
            .admin
            .put(
                "/api/v1/admin/sign-in-policy",
                json!({"require_second_factor": true}),
            )
            .await;
        assert_eq!(set.status, 200);
        web.goto(&org.server.url("/login")).await?;
        web.find(By::Id("username")).await?.send_keys("max").await?;
        web.find(By::Id("password"))
            .await?
            .send_keys(crate::harness::PASSWORD)
            .await?;
        web.find(By::Id("login")).await?.click().await?;
        wait_for_path(&web, |p| p == "/account").await?;
        assert!(web.find(By::Id("must-enrol")).await.is_ok());
        for page in ["/inbox", "/cases/new", "/channels"] {
            web.goto(&org.server.url(page)).await?;
            wait_for_path(&web, |p| p == "/account").await?;
        }
        web.find(By::Id("enrol-password"))
            .await?
            .send_keys(crate::harness::PASSWORD)
            .await?;
        web.find(By::Id("start-second-factor"))
            .await?
            .click()
            .await?;
        // The page after the password check: wait for it.
        let secret = wait_for_containing(&web, By::Id("second-factor-secret"), "").await?;
        web.find(By::Id("confirm-code"))
            .await?
            .send_keys(app_code(&secret, 0))
            .await?;
        web.find(By::Id("confirm-second-factor"))
            .await?
            .click()
            .await?;
        wait_for_containing(&web, By::Id("recovery-codes"), "recovery codes").await?;
        web.goto(&org.server.url("/inbox")).await?;
        wait_for_path(&web, |p| p == "/inbox").await?;
        WebDriverResult::Ok(())
    }
    .await;
    if outcome.is_err()
        && let Ok(png) = web.screenshot_as_png().await
    {
        let _ = std::fs::write(std::env::temp_dir().join("docket-2fa-failure.png"), png);
    }
    web.quit().await.unwrap();
    outcome.unwrap();
}
