//! The real server started in-process on a listener the test owns, as a
//! benchmark or a test that needs no process boundary can do.

use std::time::Duration;

use docket::config::FileConfig;
use serde_json::{Value, json};

#[tokio::test]
async fn the_server_runs_in_process_on_a_given_listener_and_stops_cleanly() {
    docket::install_tls_provider();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = FileConfig::default()
        .resolve(Some(data.clone()), Some("127.0.0.1:0".into()))
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(docket::app::serve_on(
        listener,
        config,
        Some("in-process-password".into()),
        async {
            let _ = stopped.await;
        },
    ));

    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "the in-process server never became ready");

    let login: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": "in-process-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().expect("a token").to_owned();
    let channel: Value = http
        .post(format!("{base}/api/v1/channels"))
        .bearer_auth(&token)
        .json(&json!({"name": "Support"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let created = http
        .post(format!("{base}/api/v1/cases"))
        .bearer_auth(&token)
        .json(&json!({"channel": channel["id"], "subject": "Printer on fire"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let wrong = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": "not it"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        wrong.status(),
        401,
        "the in-process server checks passwords"
    );

    stop.send(()).unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("the server stops when asked")
        .unwrap();
    assert!(stopped.is_ok(), "{stopped:?}");
    // The data directory is free again, with the case in it.
    let store = docket::store::Store::open(&data).unwrap();
    use docket::store::Reads;
    let case = store.read().unwrap().case(1).unwrap();
    assert_eq!(case.unwrap().subject, "Printer on fire");
}
