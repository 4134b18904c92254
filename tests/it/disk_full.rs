//! A full disk, on a small tmpfs the test mounts: writes are refused with
//! 507 while reads go on and `/readyz` says why, and once space is freed
//! writes resume without a restart; nothing acknowledged is lost. Both the
//! reserve (refused before writing) and the disk itself refusing a write
//! (the database reopened afterwards) are covered.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::harness::{ADMIN_PASSWORD, Client, Server};

/// A tmpfs of `mib` MiB mounted for the test's life.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(mib: u64) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "the disk-full test mounts a small tmpfs and needs root"
        );
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Fills the disk until at most `leave` bytes are free (or it is full).
fn fill(path: &Path, leave: u64) -> PathBuf {
    let filler = path.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 1 << 20];
    loop {
        let free = docket::store::space::free_bytes(path).unwrap();
        if free <= leave {
            break;
        }
        let size = (free - leave).min(chunk.len() as u64) as usize;
        if file.write_all(&chunk[..size]).is_err() {
            break;
        }
    }
    let _ = file.sync_all();
    filler
}

async fn new_case(client: &Client, subject: &str) -> (u16, serde_json::Value) {
    let answer = client
        .post("/api/v1/cases", json!({"channel": 1, "subject": subject}))
        .await;
    (answer.status, answer.body)
}

async fn readyz(server: &Server) -> (u16, String) {
    let answer = reqwest::get(server.url("/readyz")).await.unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

fn start(disk: &Tmpfs, reserve_mib: u64) -> Server {
    let config = disk.path().join("docket.toml");
    std::fs::write(&config, format!("[limits]\nmin_free_mb = {reserve_mib}\n")).unwrap();
    std::fs::create_dir_all(disk.path().join("data/plugins")).unwrap();
    Server::start_in(
        &disk.path().join("data"),
        &[
            ("DOCKET_CONFIG", config.to_str().unwrap()),
            ("DOCKET_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ],
    )
}

#[tokio::test]
async fn below_the_reserve_writes_wait_and_reads_go_on() {
    let disk = Tmpfs::mount(64);
    let server = start(&disk, 16);
    let admin = server.admin().await;
    admin.create_channel("Support").await;
    let (status, kept) = new_case(&admin, "Written before the disk filled").await;
    assert_eq!(status, 201);
    let kept = kept["number"].as_u64().unwrap();

    let filler = fill(disk.path(), 8 << 20);
    let (status, body) = new_case(&admin, "Refused").await;
    assert_eq!(status, 507, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("nearly full") && detail.contains("reserve"),
        "{detail}"
    );
    // Reads go on.
    assert_eq!(
        admin.get(&format!("/api/v1/cases/{kept}")).await.status,
        200
    );
    assert_eq!(admin.get("/api/v1/cases?view=all").await.status, 200);
    let (status, text) = readyz(&server).await;
    assert_eq!(status, 503);
    assert!(text.contains("nearly full"), "{text}");

    // Space freed: writes resume without a restart.
    std::fs::remove_file(filler).unwrap();
    let (status, body) = new_case(&admin, "After the space came back").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(readyz(&server).await.0, 200);
    assert_eq!(
        admin.get(&format!("/api/v1/cases/{kept}")).await.status,
        200
    );
}

#[tokio::test]
async fn a_write_the_disk_refuses_is_answered_507_and_the_store_recovers() {
    let disk = Tmpfs::mount(64);
    // No reserve: the disk itself refuses the write.
    let mut server = start(&disk, 0);
    let admin = server.admin().await;
    admin.create_channel("Support").await;
    let mut acknowledged = Vec::new();
    for k in 0..5 {
        let (status, body) = new_case(&admin, &format!("Before {k}")).await;
        assert_eq!(status, 201);
        acknowledged.push(body["number"].as_u64().unwrap());
    }

    let filler = fill(disk.path(), 0);
    // Reads run beside the failing writes: one caught at the moment the
    // disk refuses a write is told to retry (503), never answered 500.
    let reader = admin.clone();
    let first = acknowledged[0];
    let reads = tokio::spawn(async move {
        let mut answers = Vec::new();
        for _ in 0..150 {
            answers.push(reader.get(&format!("/api/v1/cases/{first}")).await.status);
        }
        answers
    });
    // Writes fail now; each is answered, none is acknowledged as saved.
    // The database file may still hold free pages a few writes fit in, so
    // write until the disk has refused several.
    let mut refused = 0;
    for k in 0..200 {
        let (status, body) = new_case(&admin, &format!("During {k}")).await;
        match status {
            201 => acknowledged.push(body["number"].as_u64().unwrap()),
            507 | 503 => refused += 1,
            other => panic!("a full disk answered {other}: {body}"),
        }
        if refused >= 5 {
            break;
        }
    }
    assert!(refused > 0, "the full disk refused no write");
    let answers = reads.await.unwrap();
    assert!(
        answers
            .iter()
            .all(|status| *status == 200 || *status == 503),
        "reads beside a refused write: {answers:?}"
    );
    // Once refused, writes are refused up front and reads are untouched.
    assert!(
        answers.iter().filter(|status| **status == 200).count() >= answers.len() - 2,
        "{answers:?}"
    );
    for number in &acknowledged {
        assert_eq!(
            admin.get(&format!("/api/v1/cases/{number}")).await.status,
            200
        );
    }

    std::fs::remove_file(filler).unwrap();
    let mut resumed = false;
    for k in 0..50 {
        let (status, body) = new_case(&admin, &format!("After {k}")).await;
        if status == 201 {
            acknowledged.push(body["number"].as_u64().unwrap());
            resumed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(resumed, "writes resumed without a restart");

    // Every acknowledged case is there, and still after a restart.
    server.terminate();
    let server = start(&disk, 0);
    let admin = Client::login(&server, "admin", ADMIN_PASSWORD).await;
    for number in &acknowledged {
        assert_eq!(
            admin.get(&format!("/api/v1/cases/{number}")).await.status,
            200,
            "case #{number} was acknowledged"
        );
    }
}
