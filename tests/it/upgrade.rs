//! Upgrades: the current binary serves a data directory written by the
//! previous release (tests/fixtures) as it was, and keeps going from there.

use std::path::Path;

use serde_json::Value;

use crate::harness::{ADMIN_PASSWORD, Client, PASSWORD, Server, run_cli};

/// Unpacks a release's data directory into `into`.
fn unpack(fixture: &str, into: &Path) {
    let archive = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    std::fs::create_dir_all(into).unwrap();
    let status = std::process::Command::new("tar")
        .arg("xzf")
        .arg(&archive)
        .arg("-C")
        .arg(into)
        .status()
        .expect("tar runs");
    assert!(status.success(), "cannot unpack {}", archive.display());
}

fn texts(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|item| item[key].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn the_previous_releases_data_directory_is_served_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    unpack("release-2026-12-04.tar.gz", &data);
    let mut server = Server::start_in(&data, &[]);
    let admin = Client::login(&server, "admin", ADMIN_PASSWORD).await;
    let amy = Client::login(&server, "amy", PASSWORD).await;

    let first = admin.get("/api/v1/cases/1").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["subject"], "Printer prints blank pages");
    let activity = admin.get("/api/v1/cases/1/activity").await.body;
    let kinds = texts(&activity, "kind");
    for kind in ["created", "message", "note"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    let time = admin.get("/api/v1/cases/1/time").await;
    assert_eq!(time.status, 200, "{}", time.text);
    assert!(time.text.contains("Remote session"), "{}", time.text);
    let files = admin.get("/api/v1/cases/1/files").await.body;
    let file = files.as_array().unwrap()[0]["id"].as_u64().unwrap();
    let download = admin
        .http
        .get(format!("{}/api/v1/files/{file}", server.base))
        .bearer_auth(admin.token.as_ref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        download.bytes().await.unwrap().as_ref(),
        b"step 1: open the tray"
    );

    let assigned = amy.get("/api/v1/cases/2").await.body;
    assert_eq!(assigned["assignee"], "amy");
    assert_eq!(assigned["priority"], "high");
    assert_eq!(
        admin.get("/api/v1/cases/4").await.body["status"],
        "resolved"
    );
    assert_eq!(
        admin.get("/api/v1/cases/5").await.body["subject"],
        "Toner empty"
    );
    let replies = admin.get("/api/v1/saved-replies").await;
    assert!(
        replies.text.contains("Thanks {{customer.name}}"),
        "{}",
        replies.text
    );

    // The old index answers, or is rebuilt, and finds the old cases.
    let mut found = Vec::new();
    for _ in 0..50 {
        let answer = admin.get("/api/v1/cases?view=all&q=blank").await;
        if answer.status == 200 {
            found = answer.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["number"].as_u64().unwrap())
                .collect();
            if !found.is_empty() {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(found, vec![1]);

    // Work goes on: numbering continues, and the directory stays sound.
    assert_eq!(admin.create_case(1, "After the upgrade").await, 6);
    server.terminate();
    let (ok, out, err) = run_cli(&data, &["verify"], None);
    assert!(ok, "{out}{err}");
}

/// Every case's history as the API shows it.
async fn histories(client: &Client, cases: u64) -> Vec<String> {
    let mut all = Vec::new();
    for number in 1..=cases {
        let answer = client
            .get(&format!("/api/v1/cases/{number}/activity"))
            .await;
        assert_eq!(answer.status, 200, "case {number}: {}", answer.text);
        all.push(answer.text);
    }
    all
}

/// Every text (bodies, notes) each case's history holds in the store as
/// the older release wrote it: JSON values read straight from the file.
fn stored_texts(store: &Path) -> std::collections::BTreeMap<u64, Vec<String>> {
    use redb::{ReadableDatabase, ReadableTable};
    let db = redb::Database::open(store).unwrap();
    let txn = db.begin_read().unwrap();
    let table = txn
        .open_table(redb::TableDefinition::<(u64, u64), &[u8]>::new(
            "activity_v1",
        ))
        .unwrap();
    let mut texts = std::collections::BTreeMap::<u64, Vec<String>>::new();
    for entry in table.iter().unwrap() {
        let (key, value) = entry.unwrap();
        let event: Value = serde_json::from_slice(value.value()).expect("JSON as written");
        let found = texts.entry(key.value().0).or_default();
        collect_bodies(&event, found);
    }
    texts
}

/// Every string under a `body` or `text` key, in order.
fn collect_bodies(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match inner {
                    Value::String(text) if key == "body" || key == "text" => {
                        into.push(text.clone())
                    }
                    other => collect_bodies(other, into),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_bodies(item, into)),
        _ => {}
    }
}

/// A log line as a reader sees it, without terminal colour codes.
fn without_colours(log: &str) -> String {
    let mut plain = String::with_capacity(log.len());
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            plain.push(c);
        }
    }
    plain
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

#[tokio::test]
async fn events_an_older_release_stored_as_json_are_compressed_and_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    unpack("release-2026-12-07.tar.gz", &data);
    let admin_env = [("DOCKET_ADMIN_PASSWORD", ADMIN_PASSWORD)];

    // What the older release wrote, read before the server starts.
    let written = stored_texts(&data.join("docket.redb"));
    assert!(written.values().map(Vec::len).sum::<usize>() > 300);

    // Served and compressed in the background while the server runs.
    let log = dir.path().join("server.log");
    let mut server = Server::start_logged_to(&data, &admin_env, &log);
    let admin = Client::login(&server, "admin", ADMIN_PASSWORD).await;
    let served = histories(&admin, 150).await;
    assert!(served[0].contains("\"kind\":\"created\""), "{}", served[0]);
    let mut compressed = false;
    for _ in 0..300 {
        let text = without_colours(&std::fs::read_to_string(&log).unwrap_or_default());
        if text.contains("compressed stored events") {
            assert!(text.contains("events=1164"), "{text}");
            compressed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(compressed, "the server did not compress the stored events");
    assert_eq!(histories(&admin, 150).await, served);
    // Every text written as JSON is served from the compressed values.
    for (number, texts) in &written {
        let history: Value = serde_json::from_str(&served[*number as usize - 1]).unwrap();
        let mut shown = Vec::new();
        collect_bodies(&history, &mut shown);
        assert_eq!(&shown, texts, "case {number}");
    }

    // New events are written compressed beside the old ones.
    let number = admin.create_case(1, "After the compression").await;
    let added = admin
        .post(
            &format!("/api/v1/cases/{number}/notes"),
            serde_json::json!({"body": "A note kept compressed"}),
        )
        .await;
    assert!(added.status < 300, "{}", added.text);
    server.terminate();

    // Nothing is left to compress.
    let (ok, out, err) = run_cli(&data, &["compact"], None);
    assert!(ok, "{out}{err}");
    assert!(!out.contains("Compressed"), "{out}");
    let (ok, out, err) = run_cli(&data, &["verify"], None);
    assert!(ok, "{out}{err}");

    let mut server = Server::start_in(&data, &admin_env);
    let admin = Client::login(&server, "admin", ADMIN_PASSWORD).await;
    assert_eq!(histories(&admin, 150).await, served);
    let note = admin.get(&format!("/api/v1/cases/{number}/activity")).await;
    assert!(
        note.text.contains("A note kept compressed"),
        "{}",
        note.text
    );
    server.terminate();
}

#[tokio::test]
async fn docket_compact_compresses_what_the_server_has_not_yet() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    unpack("release-2026-12-07.tar.gz", &data);
    let store = data.join("docket.redb");
    let before = file_size(&store);
    let (ok, out, err) = run_cli(&data, &["compact"], None);
    assert!(ok, "{out}{err}");
    assert!(out.contains("Compressed 1164 stored events."), "{out}");
    let after = file_size(&store);
    assert!(
        after * 3 <= before,
        "the store went from {before} to {after} bytes"
    );
    let (ok, out, err) = run_cli(&data, &["compact"], None);
    assert!(ok, "{out}{err}");
    assert!(!out.contains("Compressed"), "{out}");
}
