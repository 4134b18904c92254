//! Operator commands on the data directory.

use serde_json::json;

use crate::harness::{Client, Server, run_cli};

#[tokio::test]
async fn users_tokens_and_channels_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let (ok, out, err) = run_cli(
        &data,
        &[
            "user",
            "add",
            "carol",
            "--role",
            "admin",
            "--email",
            "carol@example.org",
            "--password-stdin",
        ],
        Some("carol-password\n"),
    );
    assert!(ok, "{err}");
    assert!(out.contains("Created admin 'carol'"), "{out}");
    let (ok, out, _) = run_cli(&data, &["user", "add", "dave"], None);
    assert!(ok);
    let dave_password = out
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("generated password")
        .to_owned();

    let (ok, _, err) = run_cli(&data, &["user", "add", "carol"], None);
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");
    let (ok, _, err) = run_cli(&data, &["user", "add", "Bad Name"], None);
    assert!(!ok);
    assert!(err.contains("not a valid username"), "{err}");

    let (ok, out, _) = run_cli(&data, &["user", "list"], None);
    assert!(ok);
    assert!(
        out.contains("carol") && out.contains("carol@example.org") && out.contains("dave"),
        "{out}"
    );

    let (ok, out, err) = run_cli(
        &data,
        &[
            "channel",
            "add",
            "Support",
            "--email",
            "help@example.org",
            "--time-tracking",
            "--member",
            "dave",
            "--member",
            "carol:manager",
        ],
        None,
    );
    assert!(ok, "{err}");
    assert!(out.contains("Created channel 1 'Support'"), "{out}");
    let (ok, _, err) = run_cli(
        &data,
        &["channel", "add", "Other", "--member", "ghost"],
        None,
    );
    assert!(!ok);
    assert!(err.contains("ghost"), "{err}");

    let (ok, _, err) = run_cli(&data, &["token", "create", "--user", "nobody"], None);
    assert!(!ok);
    assert!(err.contains("docket user add nobody"), "{err}");

    let (ok, out, err) = run_cli(
        &data,
        &["user", "passwd", "dave", "--password-stdin"],
        Some("new-dave-password\n"),
    );
    assert!(ok, "{err}");
    assert!(out.contains("changed"));
    // Tokens made before a password change end with it, so make one after.
    let (ok, token, err) = run_cli(&data, &["token", "create", "--user", "dave"], None);
    assert!(ok, "{err}");
    let token = token.trim().to_owned();

    let server = Server::start_in(&data, &[]);
    // The first admin is only created on an empty store.
    assert!(!server.banner.iter().any(|l| l.contains("password")));
    let dave = Client::with_token(&server, &token);
    let me = dave.get("/api/v1/me").await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["channels"][0]["name"], "Support");
    assert_eq!(me.body["channels"][0]["role"], "agent");
    let channel = dave.get("/api/v1/channels/1").await.body;
    assert_eq!(channel["email_address"], "help@example.org");
    assert_eq!(channel["settings"]["time_tracking"], true);
    Client::login(&server, "dave", "new-dave-password").await;
    let old = Client::anonymous(&server)
        .post(
            "/api/v1/auth/login",
            json!({"username": "dave", "password": dave_password}),
        )
        .await;
    assert_eq!(old.status, 401);
    Client::login(&server, "carol", "carol-password").await;

    // While the server runs, the CLI refuses the locked directory clearly.
    let (ok, _, err) = run_cli(&data, &["user", "list"], None);
    assert!(!ok);
    assert!(err.contains("in use by another docket process"), "{err}");
}

#[test]
fn help_is_available_everywhere_and_bad_flags_explain_themselves() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["user", "--help"],
        vec!["user", "add", "--help"],
        vec!["token", "create", "--help"],
        vec!["channel", "add", "--help"],
    ] {
        let output = std::process::Command::new(crate::harness::docket_bin())
            .args(&args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("Usage"),
            "{args:?}"
        );
    }
    let output = std::process::Command::new(crate::harness::docket_bin())
        .args(["user", "add", "x", "--role", "king"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("possible values"));

    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(crate::harness::docket_bin())
        .args(["serve", "--bind", "not-an-address", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("IP:PORT"));

    let config = dir.path().join("docket.toml");
    std::fs::write(&config, "colour = \"blue\"\n").unwrap();
    let output = std::process::Command::new(crate::harness::docket_bin())
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("docket.toml") && stderr.contains("colour"),
        "{stderr}"
    );
}

#[tokio::test]
async fn configuration_file_sets_limits_and_address() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("docket.toml");
    std::fs::write(
        &config,
        "[limits]\nmax_page_size = 3\ndefault_page_size = 2\n",
    )
    .unwrap();
    let server = Server::start_in(
        &dir.path().join("data"),
        &[
            ("DOCKET_CONFIG", config.to_str().unwrap()),
            ("DOCKET_ADMIN_PASSWORD", "config-admin-1"),
        ],
    );
    let admin = Client::login(&server, "admin", "config-admin-1").await;
    let channel = admin.create_channel("Support").await;
    for i in 0..3 {
        admin.create_case(channel, &format!("c{i}")).await;
    }
    assert_eq!(
        admin.get("/api/v1/cases").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    admin.get("/api/v1/cases?limit=4").await.problem(422);
}

#[tokio::test]
async fn a_generated_archive_imports_and_is_searchable_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let archive = dir.path().join("archive.ndjson");
    let output = std::process::Command::new(crate::harness::docket_bin())
        .args(["gen", "--cases", "60", "--seed", "5"])
        .output()
        .unwrap();
    assert!(output.status.success());
    std::fs::write(&archive, &output.stdout).unwrap();
    let again = std::process::Command::new(crate::harness::docket_bin())
        .args(["gen", "--cases", "60", "--seed", "5"])
        .output()
        .unwrap();
    assert_eq!(
        output.stdout, again.stdout,
        "the same seed gives the same archive"
    );

    let (ok, out, err) = run_cli(&data, &["import", archive.to_str().unwrap()], None);
    assert!(ok, "{err}");
    assert!(out.contains("Imported 60 cases"), "{out}");
    // Importing the same cases again is refused, naming the case.
    let (ok, _, err) = run_cli(&data, &["import", archive.to_str().unwrap()], None);
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");

    let server = Server::start_in(&data, &[("DOCKET_ADMIN_PASSWORD", "import-admin-1")]);
    let admin = Client::login(&server, "admin", "import-admin-1").await;
    let all = admin.get("/api/v1/cases?view=all&limit=1").await;
    assert_eq!(all.status, 200, "{}", all.text);
    let archived = admin.get("/api/v1/cases?view=archived&limit=1").await.body["total"]
        .as_u64()
        .unwrap();
    assert_eq!(all.body["total"].as_u64().unwrap() + archived, 60);
    let number = all.body["items"][0]["number"].as_u64().unwrap();
    let activity = admin
        .get(&format!("/api/v1/cases/{number}/activity"))
        .await
        .body;
    assert!(
        activity
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "message")
    );
    let hits = admin.get("/api/v1/cases?view=all&q=refund").await;
    assert!(hits.body["total"].as_u64().unwrap() > 0, "{}", hits.text);
    // New cases continue after the imported numbers.
    let channel = admin.get("/api/v1/channels").await.body[0]["id"]
        .as_u64()
        .unwrap();
    assert_eq!(admin.create_case(channel, "after import").await, 61);
}

#[test]
fn a_bad_archive_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("bad.ndjson");
    std::fs::write(
        &archive,
        "{\"type\":\"channel\",\"name\":\"Support\"}\n{\"type\":\"case\",\"channel\":\"Nowhere\"}\n",
    )
    .unwrap();
    let (ok, _, err) = run_cli(
        &dir.path().join("data"),
        &["import", archive.to_str().unwrap()],
        None,
    );
    assert!(!ok);
    assert!(err.contains("line 2"), "{err}");
}

#[tokio::test]
async fn cases_imported_before_a_bad_line_are_still_searchable() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A data directory that already has an index: a later import adds to
    // it rather than building a fresh one.
    let first = dir.path().join("first.ndjson");
    std::fs::write(
        &first,
        "{\"type\":\"channel\",\"name\":\"Legacy\"}\n\
         {\"type\":\"case\",\"number\":5000,\"channel\":\"Legacy\",\"subject\":\"Old case\",\"status\":\"open\",\
         \"priority\":\"normal\",\"source\":\"email\",\"created_by\":\"intake\",\
         \"created_at\":\"2025-01-01T00:00:00Z\",\"updated_at\":\"2025-01-01T00:00:00Z\"}\n",
    )
    .unwrap();
    let (ok, _, err) = run_cli(&data, &["import", first.to_str().unwrap()], None);
    assert!(ok, "{err}");
    let archive = dir.path().join("archive.ndjson");
    let output = std::process::Command::new(crate::harness::docket_bin())
        .args(["gen", "--cases", "1001", "--seed", "9"])
        .output()
        .unwrap();
    let mut text = output.stdout;
    text.extend_from_slice(b"{\"type\":\"case\",\"oops\":true}\n");
    std::fs::write(&archive, text).unwrap();
    let (ok, _, err) = run_cli(&data, &["import", archive.to_str().unwrap()], None);
    assert!(!ok);
    assert!(err.contains("line"), "{err}");

    let server = Server::start_in(&data, &[("DOCKET_ADMIN_PASSWORD", "partial-admin-1")]);
    let admin = Client::login(&server, "admin", "partial-admin-1").await;
    let mut total = 0;
    for _ in 0..100 {
        let all = admin.get("/api/v1/cases?view=all&limit=1&q=refund").await;
        if all.status == 200 {
            total = all.body["total"].as_u64().unwrap_or(0);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(total > 0, "the committed batch was indexed");
}
