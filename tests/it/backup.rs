//! Backups: a restore drill (eight writers keep writing while the running
//! server is backed up; everything acknowledged before the backup began is
//! in the restored server, searchable, and `docket verify` passes), damaged
//! and cut-off backups refused, who may take one, and the offline commands.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Client, Org, Server, run_cli};

const WRITERS: usize = 8;

/// A word found only in the subject of writer `w`'s case `k`.
fn marker(w: usize, k: usize) -> String {
    format!("drillw{w}k{k}")
}

async fn upload(client: &Client, server: &Server, case: u64, name: &str, bytes: &[u8]) -> u64 {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes.to_vec())
            .file_name(name.to_owned())
            .mime_str("text/plain")
            .unwrap(),
    );
    let answer = client
        .http
        .post(format!("{}/api/v1/cases/{case}/files", server.base))
        .bearer_auth(client.token.as_ref().unwrap())
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    answer.json::<Value>().await.unwrap()["id"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn a_backup_taken_under_load_restores_every_acknowledged_write() {
    let server = Server::start();
    let admin = server.admin().await;
    let channel = admin.create_channel("Support").await;
    let first = admin.create_case(channel, "Has a file").await;
    let file = upload(
        &admin,
        &server,
        first,
        "steps.txt",
        b"step 1: open the tray",
    )
    .await;

    // Eight writers open cases until told to stop; each acknowledged case
    // is recorded with the moment its answer arrived.
    let acknowledged: Arc<Mutex<Vec<(std::time::Instant, u64, String)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let client = Client::with_token(&server, admin.token.as_deref().unwrap());
        let acknowledged = acknowledged.clone();
        let stop = stop.clone();
        writers.push(tokio::spawn(async move {
            let mut k = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let word = marker(w, k);
                let answer = client
                    .post(
                        "/api/v1/cases",
                        json!({"channel": channel, "subject": format!("Printer {word}")}),
                    )
                    .await;
                assert_eq!(answer.status, 201, "{:?}", answer.body);
                let number = answer.body["number"].as_u64().unwrap();
                acknowledged
                    .lock()
                    .unwrap()
                    .push((std::time::Instant::now(), number, word));
                k += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let began = std::time::Instant::now();
    let backup_dir = tempfile::tempdir().unwrap();
    let backup = backup_dir.path().join("drill.tar.zst");
    let token = admin.token.clone().unwrap();
    let (url, target) = (server.base.clone(), backup.clone());
    let (ok, out, err) = tokio::task::spawn_blocking(move || {
        run_cli(
            std::path::Path::new("/nonexistent"),
            &[
                "backup",
                target.to_str().unwrap(),
                "--url",
                &url,
                "--token",
                &token,
            ],
            None,
        )
    })
    .await
    .unwrap();
    assert!(ok, "backup failed: {out}{err}");
    // It holds every secret: only its owner may read it.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&backup).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    // Writes go on during and after the backup.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let before: Vec<(u64, String)> = acknowledged
        .iter()
        .filter(|(at, _, _)| *at < began)
        .map(|(_, n, w)| (*n, w.clone()))
        .collect();
    assert!(
        before.len() >= WRITERS,
        "the writers wrote before the backup"
    );
    assert!(
        acknowledged.len() > before.len(),
        "the writers also wrote during the backup"
    );
    drop(admin);
    drop(server);

    // Restore into a fresh directory and check it.
    let restored_dir = tempfile::tempdir().unwrap();
    let data = restored_dir.path().join("data");
    let (ok, out, err) = run_cli(&data, &["restore", backup.to_str().unwrap()], None);
    assert!(ok, "restore failed: {out}{err}");
    assert!(out.contains("Rebuilt the search index"), "{out}");
    let (ok, out, err) = run_cli(&data, &["verify"], None);
    assert!(ok, "verify failed: {out}{err}");
    assert!(out.contains("No problems found"), "{out}");

    let server = Server::start_in(&data, &[]);
    let admin = Client::login(&server, "admin", crate::harness::ADMIN_PASSWORD).await;
    let listed = admin.get("/api/v1/cases?limit=1").await;
    assert_eq!(listed.status, 200);
    for (number, _) in &before {
        let case = admin.get(&format!("/api/v1/cases/{number}")).await;
        assert_eq!(
            case.status, 200,
            "case #{number} acknowledged before the backup"
        );
    }
    // A sample of them found by search in the restored server.
    let step = (before.len() / 20).max(1);
    for (number, word) in before.iter().step_by(step) {
        let found = admin.get(&format!("/api/v1/cases?view=all&q={word}")).await;
        let numbers: Vec<u64> = found.body["items"]
            .as_array()
            .unwrap_or_else(|| panic!("{:?}", found.body))
            .iter()
            .map(|c| c["number"].as_u64().unwrap())
            .collect();
        assert_eq!(numbers, vec![*number], "searching {word}");
    }
    // The file's contents came back too.
    let download = admin
        .http
        .get(format!("{}/api/v1/files/{file}", server.base))
        .bearer_auth(admin.token.as_ref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(
        download.bytes().await.unwrap().as_ref(),
        b"step 1: open the tray"
    );
    // New cases continue the numbering of the backup.
    let highest = before.iter().map(|(n, _)| *n).max().unwrap();
    let next = admin.create_case(1, "After the restore").await;
    assert!(next > highest, "{next} after {highest}");
}

#[tokio::test]
async fn damaged_or_cut_off_backups_are_refused_and_nothing_is_written() {
    let server = Server::start();
    let admin = server.admin().await;
    let channel = admin.create_channel("Support").await;
    for k in 0..20 {
        admin.create_case(channel, &format!("Case {k}")).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("good.tar.zst");
    let (ok, out, err) = run_cli(
        std::path::Path::new("/nonexistent"),
        &[
            "backup",
            backup.to_str().unwrap(),
            "--url",
            &server.base,
            "--token",
            admin.token.as_deref().unwrap(),
        ],
        None,
    );
    assert!(ok, "{out}{err}");
    let good = std::fs::read(&backup).unwrap();

    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x55;
    let cut = good[..good.len() * 2 / 3].to_vec();
    for (name, bytes) in [
        ("flipped", flipped),
        ("cut", cut),
        ("junk", b"not a backup".to_vec()),
    ] {
        let path = dir.path().join(format!("{name}.tar.zst"));
        std::fs::write(&path, bytes).unwrap();
        let target = dir.path().join(format!("restored-{name}"));
        let (ok, out, err) = run_cli(&target, &["restore", path.to_str().unwrap()], None);
        assert!(!ok, "{name}: a damaged backup was restored: {out}");
        assert!(
            err.contains("nothing was restored") && err.contains("damaged"),
            "{name}: {err}"
        );
        assert!(
            !target.join("docket.redb").exists(),
            "{name}: a store was written"
        );
        // A refused restore leaves nothing that makes the next try need --force.
        let (ok, out, err) = run_cli(&target, &["restore", backup.to_str().unwrap()], None);
        assert!(ok, "{name}: {out}{err}");
    }

    // A token the server refuses leaves no file behind.
    let refused = dir.path().join("refused.tar.zst");
    let (ok, _, err) = run_cli(
        std::path::Path::new("/nonexistent"),
        &[
            "backup",
            refused.to_str().unwrap(),
            "--url",
            &server.base,
            "--token",
            "dkt_not-a-token",
        ],
        None,
    );
    assert!(!ok);
    assert!(err.contains("the server refused (401"), "{err}");
    assert!(!refused.exists());
    assert!(!dir.path().join("refused.tar.zst.partial").exists());

    // A directory with data in it is not replaced unless asked.
    let full = dir.path().join("full");
    std::fs::create_dir_all(&full).unwrap();
    std::fs::write(full.join("something"), b"x").unwrap();
    let (ok, _, err) = run_cli(&full, &["restore", backup.to_str().unwrap()], None);
    assert!(!ok);
    assert!(err.contains("pass --force"), "{err}");
    let (ok, out, err) = run_cli(
        &full,
        &["restore", backup.to_str().unwrap(), "--force"],
        None,
    );
    assert!(ok, "{out}{err}");

    // Offline commands need the server stopped.
    let (ok, _, err) = run_cli(&server.data, &["backup", "x.tar.zst"], None);
    assert!(!ok);
    assert!(err.contains("in use") && err.contains("--url"), "{err}");
    let (ok, _, err) = run_cli(&server.data, &["verify"], None);
    assert!(!ok);
    assert!(err.contains("in use"), "{err}");
}

#[tokio::test]
async fn only_administrators_take_backups() {
    let org = Org::new().await;
    for client in [&org.max, &org.amy, &org.pat] {
        let answer = org_post_backup(client).await;
        assert_eq!(answer, 403);
    }
    let anonymous = Client::anonymous(&org.server);
    assert_eq!(org_post_backup(&anonymous).await, 401);
    assert_eq!(org_post_backup(&org.admin).await, 200);
}

async fn org_post_backup(client: &Client) -> u16 {
    let mut request = client
        .http
        .post(format!("{}/api/v1/admin/backup", client.base));
    if let Some(token) = &client.token {
        request = request.bearer_auth(token);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status().as_u16();
    let body = answer.bytes().await.unwrap();
    if status == 200 {
        // A whole archive: zstd's magic number first.
        assert_eq!(&body[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
    }
    status
}

#[tokio::test]
async fn verify_finds_a_damaged_and_a_missing_file_and_compact_reports_sizes() {
    let mut server = Server::start();
    let admin = server.admin().await;
    let channel = admin.create_channel("Support").await;
    let case = admin.create_case(channel, "Has a file").await;
    upload(&admin, &server, case, "notes.txt", b"original contents").await;
    server.terminate();
    let data = server.data.clone();
    let (ok, out, err) = run_cli(&data, &["verify"], None);
    assert!(ok, "{out}{err}");

    // Damage the blob on disk.
    let blob = crate::harness::files_under(&data.join("blobs"))
        .into_iter()
        .next()
        .expect("a blob");
    std::fs::write(&blob, b"tampered").unwrap();
    let (ok, out, _) = run_cli(&data, &["verify"], None);
    assert!(!ok);
    assert!(
        out.contains("PROBLEM") && out.contains("notes.txt") && out.contains("damaged"),
        "{out}"
    );
    // A backup of it says so, and so does its restore.
    let copy = tempfile::tempdir().unwrap();
    let backup = copy.path().join("damaged.tar.zst");
    let (ok, out, err) = run_cli(&data, &["backup", backup.to_str().unwrap()], None);
    assert!(ok, "{out}{err}");
    assert!(err.contains("damaged on disk"), "{err}");
    let restored = copy.path().join("restored");
    let (ok, out, err) = run_cli(&restored, &["restore", backup.to_str().unwrap()], None);
    assert!(ok, "{out}{err}");
    assert!(err.contains("already damaged when backed up"), "{err}");
    std::fs::remove_file(&blob).unwrap();
    let (ok, out, _) = run_cli(&data, &["verify"], None);
    assert!(!ok);
    assert!(out.contains("missing"), "{out}");

    let (ok, out, err) = run_cli(&data, &["compact"], None);
    assert!(ok, "{out}{err}");
    assert!(out.contains("Compacted the store from"), "{out}");
}

#[tokio::test]
async fn scheduled_backups_are_taken_and_the_oldest_removed() {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    for day in ["20000101", "20000102", "20000103"] {
        let old = backups.join(format!("docket-{day}T000000Z.tar.zst"));
        std::fs::write(&old, b"an old backup").unwrap();
        let touched = std::process::Command::new("touch")
            .args(["-d", "2000-01-04"])
            .arg(&old)
            .status()
            .unwrap();
        assert!(touched.success());
    }
    let config = dir.path().join("docket.toml");
    std::fs::write(
        &config,
        format!(
            "[backup]\nevery = \"24h\"\nkeep = 2\ndir = \"{}\"\n",
            backups.display()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let server = Server::start_in(
        &data,
        &[
            ("DOCKET_CONFIG", config.to_str().unwrap()),
            ("DOCKET_ADMIN_PASSWORD", crate::harness::ADMIN_PASSWORD),
        ],
    );
    let mut kept = Vec::new();
    for _ in 0..100 {
        kept = listing(&backups);
        if kept.len() == 2
            && kept[0] == "docket-20000103T000000Z.tar.zst"
            && !kept[1].starts_with("docket-2000")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert_eq!(kept[0], "docket-20000103T000000Z.tar.zst", "{kept:?}");
    assert!(
        !kept[1].starts_with("docket-2000"),
        "a new backup: {kept:?}"
    );
    drop(server);
    // The scheduled backup restores.
    let restored = dir.path().join("restored");
    let (ok, out, err) = run_cli(
        &restored,
        &["restore", backups.join(&kept[1]).to_str().unwrap()],
        None,
    );
    assert!(ok, "{out}{err}");

    // A schedule that cannot be read is refused before anything starts.
    for (schedule, named) in [
        ("every = \"soon\"\ndir = \"/tmp\"", "soon"),
        ("every = \"24h\"", "every needs dir"),
        (
            "every = \"24h\"\ndir = \"/tmp\"\nkeep = 0",
            "keep must be at least 1",
        ),
    ] {
        std::fs::write(&config, format!("[backup]\n{schedule}\n")).unwrap();
        let output = std::process::Command::new(crate::harness::docket_bin())
            // Any command reads the configuration first (serve would not
            // return if the schedule were accepted).
            .args(["verify", "--data"])
            .arg(&data)
            .env("DOCKET_CONFIG", &config)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{schedule}");
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(err.contains(named), "{schedule}: {err}");
    }
}

fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_stopped_servers_backup_may_hold_the_index_and_its_restore_keeps_it() {
    let mut server = Server::start();
    let admin = server.admin().await;
    let channel = admin.create_channel("Support").await;
    let number = admin.create_case(channel, "Toner smudges").await;
    let token = admin.token.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("with-index.tar.zst");
    // A running server's index changes under the copy: refused, with why.
    let (ok, _, err) = run_cli(
        std::path::Path::new("/nonexistent"),
        &[
            "backup",
            backup.to_str().unwrap(),
            "--with-index",
            "--url",
            &server.base,
            "--token",
            &token,
        ],
        None,
    );
    assert!(!ok);
    assert!(err.contains("needs the server stopped"), "{err}");
    server.terminate();

    let (ok, out, err) = run_cli(
        &server.data,
        &["backup", backup.to_str().unwrap(), "--with-index"],
        None,
    );
    assert!(ok, "{out}{err}");
    let listing = std::process::Command::new("tar")
        .args(["--zstd", "-tf"])
        .arg(&backup)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.contains("index/meta.json"), "{listing}");
    assert!(!listing.contains(".lock"), "{listing}");

    let data = dir.path().join("restored");
    let (ok, out, err) = run_cli(&data, &["restore", backup.to_str().unwrap()], None);
    assert!(ok, "{out}{err}");
    assert!(out.contains("search index is in place"), "{out}");
    let server = Server::start_in(&data, &[]);
    let admin = Client::login(&server, "admin", crate::harness::ADMIN_PASSWORD).await;
    let found = admin.get("/api/v1/cases?view=all&q=smudges").await;
    assert_eq!(found.body["items"][0]["number"], number, "{}", found.text);
}
