//! Crashes, restarts and a second process on the same data directory.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;

use crate::harness::{ADMIN_PASSWORD, Client, Server};

#[tokio::test]
async fn kill_during_writes_loses_no_acknowledged_case() {
    let mut server = Server::start();
    let dir = server.take_dir().unwrap();
    let admin = server.admin().await;
    let channel = admin.create_channel("Support").await;

    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let mut writers = Vec::new();
    for w in 0..8 {
        let admin = admin.clone();
        let acknowledged = acknowledged.clone();
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let body = json!({"channel": channel, "subject": format!("writer {w} case {i}")});
                let request = admin
                    .http
                    .post(format!("{}/api/v1/cases", admin.base))
                    .bearer_auth(admin.token.as_ref().unwrap())
                    .json(&body);
                match request.send().await {
                    Ok(response) if response.status() == 201 => {
                        let case: serde_json::Value = match response.json().await {
                            Ok(case) => case,
                            Err(_) => return,
                        };
                        acknowledged.lock().unwrap().insert((
                            case["number"].as_u64().unwrap(),
                            case["subject"].as_str().unwrap().to_owned(),
                        ));
                    }
                    _ => return,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill_hard();
    for writer in writers {
        let _ = writer.await;
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 20,
        "too few writes before the kill: {}",
        acknowledged.len()
    );

    let restarted = Server::start_in(&dir.path().join("data"), &[]);
    let admin = Client::login(&restarted, "admin", ADMIN_PASSWORD).await;
    for (number, subject) in &acknowledged {
        let case = admin.get(&format!("/api/v1/cases/{number}")).await;
        assert_eq!(case.status, 200, "acknowledged case #{number} was lost");
        assert_eq!(case.body["subject"], json!(subject));
    }
    // Numbers carry on after the highest one ever handed out.
    let highest = acknowledged.iter().map(|(n, _)| *n).max().unwrap();
    let next = admin.create_case(channel, "after the crash").await;
    assert!(
        next > highest,
        "case number {next} reused (highest before: {highest})"
    );
    drop(dir);
}

#[tokio::test]
async fn a_second_process_on_the_same_data_dir_gets_a_clear_error() {
    let server = Server::start();
    let output = std::process::Command::new(crate::harness::docket_bin())
        .args(["serve", "--bind", "127.0.0.1:0", "--data"])
        .arg(&server.data)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("in use by another docket process"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("pid {}", server.pid())),
        "{stderr}"
    );
    // The running server is unharmed.
    assert_eq!(server.admin().await.get("/api/v1/me").await.status, 200);
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully_and_data_survives() {
    let mut server = Server::start();
    let dir = server.take_dir().unwrap();
    let admin = server.admin().await;
    let channel = admin.create_channel("Support").await;
    let number = admin.create_case(channel, "survives a restart").await;
    // An open event stream must not hold up the shutdown.
    let events = reqwest::Client::new()
        .get(server.url("/api/v1/events"))
        .bearer_auth(admin.token.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let started = std::time::Instant::now();
    let status = server.terminate();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        started.elapsed()
    );
    drop(events);

    // The first admin is created once; a restart keeps the same password.
    let restarted = Server::start_in(
        &dir.path().join("data"),
        &[("DOCKET_ADMIN_PASSWORD", "ignored-now-1")],
    );
    assert!(
        !restarted.banner.iter().any(|l| l.contains("password")),
        "{:?}",
        restarted.banner
    );
    let admin = Client::login(&restarted, "admin", ADMIN_PASSWORD).await;
    assert_eq!(
        admin.get(&format!("/api/v1/cases/{number}")).await.body["subject"],
        "survives a restart"
    );
    drop(dir);
}

#[tokio::test]
async fn first_start_without_a_password_prints_a_generated_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_in(&dir.path().join("data"), &[]);
    let password = server
        .banner
        .iter()
        .find_map(|line| line.trim().strip_prefix("password: "))
        .expect("the generated password is printed")
        .to_owned();
    assert!(password.len() >= 16);
    let admin = Client::login(&server, "admin", &password).await;
    assert_eq!(admin.get("/api/v1/me").await.body["role"], "admin");
}
