//! Admins' scripts: default plugins, hot reload, broken and runaway
//! scripts, categories, case profiles, milestones, Slack notifications and
//! the plugin checker.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::harness::{Client, Org, Server, docket_bin};

/// Polls `check` for up to five seconds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

async fn open_case(client: &Client, channel: u64, body: Value) -> Value {
    let mut body = body;
    body["channel"] = json!(channel);
    let answer = client.post("/api/v1/cases", body).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.body
}

fn write_plugin(server: &Server, name: &str, text: &str) {
    let path = server.data.join("plugins").join(name);
    std::fs::write(path, text).expect("plugin written");
}

#[tokio::test]
async fn default_plugins_categorise_route_auto_resolve_and_set_milestones() {
    let org = Org::on(Server::start_fresh(&[])).await;
    let plugins = org.admin.get("/api/v1/plugins").await;
    assert_eq!(plugins.status, 200, "{}", plugins.text);
    let files: Vec<&str> = plugins.body["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["status"], "loaded", "{p}");
            p["file"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        files,
        [
            "10-spam.rhai",
            "20-billing.rhai",
            "30-milestones.rhai",
            "40-profiles.rhai"
        ]
    );

    // Spam closes itself, by the rules' hand.
    let spam = open_case(
        &org.amy,
        org.support,
        json!({"subject": "[SPAM] Limited time offer", "description": "buy now"}),
    )
    .await;
    assert_eq!(spam["category"], "spam");
    assert_eq!(spam["status"], "resolved");
    assert_eq!(spam["auto_resolved"], true);
    assert_eq!(spam["closed_by"], "docket");

    // A billing question goes to the agent with the fewest open cases.
    open_case(&org.amy, org.support, json!({"subject": "Printer jam"})).await;
    let billing = open_case(
        &org.amy,
        org.support,
        json!({"subject": "Where is my refund?", "priority": "high"}),
    )
    .await;
    assert_eq!(billing["category"], "billing");
    let number = billing["number"].as_u64().unwrap();
    let activity = org
        .amy
        .get(&format!("/api/v1/cases/{number}/activity"))
        .await;
    let assigned = activity
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "assigned");
    assert_eq!(assigned.expect("an assignment event")["actor"], "docket");
    assert!(billing["assignee"].is_string(), "{billing}");

    // With a user named "billing" among the channel's agents, it goes there.
    org.admin.create_user("billing", "user").await;
    org.admin.add_member(org.support, "billing", "agent").await;
    let routed = open_case(
        &org.amy,
        org.support,
        json!({"subject": "Invoice is wrong"}),
    )
    .await;
    assert_eq!(routed["assignee"], "billing");

    // High priority: first reply in 2 hours, resolution in 2 days.
    let milestones = org
        .amy
        .get(&format!("/api/v1/cases/{number}/milestones"))
        .await;
    assert_eq!(milestones.status, 200, "{}", milestones.text);
    let list = milestones.body.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["name"], "First reply");
    assert_eq!(list[0]["state"], "current");
    let created =
        chrono::DateTime::parse_from_rfc3339(billing["created_at"].as_str().unwrap()).unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(list[0]["due_at"].as_str().unwrap()).unwrap();
    assert_eq!((due - created).num_minutes(), 120);

    // A reply completes the first milestone.
    org.amy
        .post(
            &format!("/api/v1/cases/{number}/messages"),
            json!({"body": "Looking into it", "direction": "outbound"}),
        )
        .await;
    let after = org
        .amy
        .get(&format!("/api/v1/cases/{number}/milestones"))
        .await;
    assert_eq!(after.body[0]["state"], "completed");
    assert_eq!(after.body[0]["met"], true);
    assert_eq!(after.body[1]["state"], "current");

    // Only administrators see plugin internals.
    assert_eq!(org.amy.get("/api/v1/plugins").await.status, 403);
}

#[tokio::test]
async fn an_edit_takes_effect_without_restart_and_a_broken_edit_keeps_the_old_script() {
    let org = Org::new().await;
    write_plugin(&org.server, "route.rhai", "fn route(t) { \"amy\" }\n");
    let amy = &org.amy;
    let support = org.support;
    eventually("the new routing rule to apply", || async move {
        let case = open_case(amy, support, json!({"subject": "Hello"})).await;
        case["assignee"] == "amy"
    })
    .await;

    // A syntax error: reported with file, line and column; amy still gets
    // the cases.
    write_plugin(
        &org.server,
        "route.rhai",
        "fn route(t) {\n    \"max\"\n    let = ;\n}\n",
    );
    let admin = &org.admin;
    eventually("the compile error to be reported", || async move {
        let plugins = admin.get("/api/v1/plugins").await;
        plugins.body["plugins"][0]["status"] == "failed"
    })
    .await;
    let plugins = org.admin.get("/api/v1/plugins").await;
    let error = &plugins.body["plugins"][0]["error"];
    assert_eq!(error["file"], "route.rhai");
    assert_eq!(error["line"], 3, "{error}");
    assert!(error["column"].as_u64().unwrap() > 0);
    assert!(!error["message"].as_str().unwrap().is_empty());
    let case = open_case(&org.amy, org.support, json!({"subject": "Still routed"})).await;
    assert_eq!(case["assignee"], "amy");

    // Fixed: the new version runs.
    write_plugin(&org.server, "route.rhai", "fn route(t) { \"max\" }\n");
    eventually("the fixed rule to apply", || async move {
        let case = open_case(amy, support, json!({"subject": "Hello again"})).await;
        case["assignee"] == "max"
    })
    .await;
}

#[tokio::test]
async fn a_runaway_or_failing_script_is_cut_off_and_intake_completes() {
    let org = Org::new().await;
    write_plugin(
        &org.server,
        "loop.rhai",
        "fn categorize(t) { loop { } }\nfn route(t) { throw \"no agent today\" }\nfn milestones(t) { 42 }\n",
    );
    let admin = &org.admin;
    eventually("the plugin to load", || async move {
        let plugins = admin.get("/api/v1/plugins").await;
        plugins.body["plugins"][0]["status"] == "loaded"
    })
    .await;
    let case = open_case(&org.amy, org.support, json!({"subject": "Anyone there?"})).await;
    assert_eq!(case["status"], "open");
    assert!(case["category"].is_null());
    assert!(case["assignee"].is_null());
    let number = case["number"].as_u64().unwrap();
    let milestones = org
        .amy
        .get(&format!("/api/v1/cases/{number}/milestones"))
        .await;
    assert_eq!(milestones.body, json!([]));

    let plugins = org.admin.get("/api/v1/plugins").await;
    let hooks = plugins.body["hooks"].as_array().unwrap();
    for name in ["categorize", "route", "milestones"] {
        let hook = hooks.iter().find(|h| h["hook"] == name).unwrap();
        assert_eq!(hook["failures"], 1, "{hook}");
    }
    let failures: Vec<String> = plugins.body["recent_failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}", f["error"]["hook"], f["error"]["message"]))
        .collect();
    let all = failures.join("\n");
    assert!(
        all.contains("categorize") && (all.contains("budget") || all.contains("operations")),
        "{all}"
    );
    assert!(all.contains("no agent today"), "{all}");
    assert!(all.contains("array of milestones"), "{all}");

    // The same figures on /metrics, for administrators only.
    let metrics = reqwest::Client::new()
        .get(org.server.url("/metrics"))
        .bearer_auth(admin_token(&org).await)
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains("docket_hook_failures_total{hook=\"categorize\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("docket_hook_duration_p99_seconds{hook=\"route\"}"),
        "{text}"
    );
    let anonymous = reqwest::get(org.server.url("/metrics")).await.unwrap();
    assert_eq!(anonymous.status(), 401);
}

async fn admin_token(org: &Org) -> String {
    let answer = org
        .admin
        .post(
            "/api/v1/auth/login",
            json!({"username": "admin", "password": crate::harness::ADMIN_PASSWORD}),
        )
        .await;
    answer.body["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn categories_are_managed_by_admins() {
    let org = Org::on(Server::start_fresh(&[])).await;
    let listed = org.amy.get("/api/v1/categories").await;
    assert_eq!(listed.status, 200);
    let spam = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "spam")
        .cloned();
    assert_eq!(spam.expect("spam is seeded")["auto_resolve"], true);

    let created = org
        .admin
        .post(
            "/api/v1/categories",
            json!({"name": "Out of office", "auto_resolve": true}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let again = org
        .admin
        .post("/api/v1/categories", json!({"name": "out of OFFICE"}))
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(
        org.amy
            .post("/api/v1/categories", json!({"name": "Mine"}))
            .await
            .status,
        403
    );
    assert_eq!(org.pat.get("/api/v1/categories").await.status, 403);
    let blank = org
        .admin
        .post("/api/v1/categories", json!({"name": "  "}))
        .await;
    assert_eq!(blank.status, 422);
    assert_eq!(blank.body["errors"][0]["field"], "name");

    // A category flagged auto-resolve closes a case given it by hand.
    let case = open_case(
        &org.amy,
        org.support,
        json!({"subject": "Away until Monday", "category": "Out of office"}),
    )
    .await;
    assert_eq!(case["status"], "resolved");
    assert_eq!(case["auto_resolved"], true);

    let renamed = org
        .admin
        .patch(
            "/api/v1/categories/Out%20of%20office",
            json!({"name": "Autoreply", "auto_resolve": false}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["auto_resolve"], false);
    assert_eq!(
        org.admin
            .delete("/api/v1/categories/Autoreply")
            .await
            .status,
        204
    );
    assert_eq!(
        org.admin
            .delete("/api/v1/categories/Autoreply")
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn profile_values_are_checked_against_the_case_type() {
    let org = Org::on(Server::start_fresh(&[])).await;
    let profiles = org.amy.get("/api/v1/profiles").await;
    assert_eq!(profiles.body[0]["case_type"], "complaint");
    let case = open_case(&org.amy, org.support, json!({"subject": "Broken kettle"})).await;
    let path = format!("/api/v1/cases/{}", case["number"]);

    // The complaint profile needs an order number.
    let missing = org.amy.patch(&path, json!({"type": "complaint"})).await;
    assert_eq!(missing.status, 422, "{}", missing.text);
    assert_eq!(missing.body["errors"][0]["field"], "profile.order_number");

    let bad = org
        .amy
        .patch(
            &path,
            json!({"type": "complaint", "profile": {
                "order_number": "A-1",
                "amount": "lots",
                "purchased_on": "last week",
                "resolution": "money",
                "escalated_to_legal": "yes",
                "colour": "red"
            }}),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in [
        "profile.amount",
        "profile.purchased_on",
        "profile.resolution",
        "profile.escalated_to_legal",
        "profile.colour",
    ] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    // Nothing was saved.
    assert!(org.amy.get(&path).await.body["type"].is_null());

    let good = org
        .amy
        .patch(
            &path,
            json!({"type": "complaint", "profile": {
                "order_number": "A-1",
                "amount": 19.5,
                "purchased_on": "2026-10-01",
                "resolution": "refund"
            }}),
        )
        .await;
    assert_eq!(good.status, 200, "{}", good.text);
    assert_eq!(good.body["profile"]["order_number"], "A-1");
    assert_eq!(good.body["profile"]["amount"], 19.5);

    // Clearing a required value is refused; clearing an optional one works.
    let clear = org
        .amy
        .patch(&path, json!({"profile": {"order_number": null}}))
        .await;
    assert_eq!(clear.status, 422);
    let optional = org
        .amy
        .patch(&path, json!({"profile": {"amount": null}}))
        .await;
    assert_eq!(optional.status, 200, "{}", optional.text);
    assert!(optional.body["profile"].get("amount").is_none());

    // A type without a profile takes no values.
    let other = org
        .amy
        .patch(
            &path,
            json!({"type": "question", "profile": {"order_number": "B"}}),
        )
        .await;
    assert_eq!(other.status, 422);
}

/// What a local stand-in for Slack's incoming webhook received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    text: String,
}

/// A local HTTP receiver that checks requests as Slack's incoming
/// webhooks do: a POST with a JSON body whose `text` is a non-empty
/// string. Anything else gets Slack's `400 invalid_payload`.
async fn slack_receiver() -> (String, Arc<Mutex<Vec<Received>>>, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let rejected = Arc::new(Mutex::new(Vec::new()));
    let (ok, bad) = (received.clone(), rejected.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let (ok, bad) = (ok.clone(), bad.clone());
            tokio::spawn(async move {
                let mut data = Vec::new();
                let mut buffer = [0u8; 4096];
                let (head, body) = loop {
                    let n = socket.read(&mut buffer).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    data.extend_from_slice(&buffer[..n]);
                    if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&data[..end]).to_string();
                        let length: usize = head
                            .lines()
                            .find_map(|l| {
                                let (name, value) = l.split_once(':')?;
                                name.eq_ignore_ascii_case("content-length")
                                    .then(|| value.trim().parse().ok())?
                            })
                            .unwrap_or(0);
                        while data.len() < end + 4 + length {
                            let n = socket.read(&mut buffer).await.unwrap_or(0);
                            if n == 0 {
                                break;
                            }
                            data.extend_from_slice(&buffer[..n]);
                        }
                        break (head, data[end + 4..].to_vec());
                    }
                };
                let request_line = head.lines().next().unwrap_or("").to_owned();
                let json_type = head.lines().any(|l| {
                    l.to_ascii_lowercase().starts_with("content-type:")
                        && l.to_ascii_lowercase().contains("application/json")
                });
                let text = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| v["text"].as_str().map(str::to_owned))
                    .filter(|t| !t.trim().is_empty());
                let valid = request_line.starts_with("POST ") && json_type;
                let reply = match (valid, text) {
                    (true, Some(text)) => {
                        let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
                        ok.lock().unwrap().push(Received { path, text });
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                    }
                    _ => {
                        bad.lock().unwrap().push(head.clone());
                        "HTTP/1.1 400 Bad Request\r\nContent-Length: 15\r\nConnection: close\r\n\r\ninvalid_payload"
                    }
                };
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    (
        format!("http://{address}/services/T1/B1/secret"),
        received,
        rejected,
    )
}

#[tokio::test]
async fn slack_hears_of_new_cases_and_replies_but_never_of_spam() {
    let (url, received, rejected) = slack_receiver().await;
    // The relay is allowed with its port, as an operator would.
    let relay = url.trim_start_matches("http://").split('/').next().unwrap();
    let allow = format!("hooks.slack.com,{relay}");
    let org = Org::on(Server::start_fresh(&[("DOCKET_WEBHOOK_ALLOW", &allow)])).await;
    // Internal addresses are refused unless allowed.
    for wrong in [
        "https://169.254.169.254/latest/meta-data",
        "http://hooks.slack.com/services/x",
        "https://user:pw@hooks.slack.com/x",
        "not a url",
    ] {
        let answer = org
            .admin
            .patch(
                &format!("/api/v1/channels/{}", org.support),
                json!({"settings": {"slack_webhook_url": wrong}}),
            )
            .await;
        assert_eq!(answer.status, 422, "{wrong}: {}", answer.text);
        assert_eq!(answer.body["errors"][0]["field"], "slack_webhook_url");
    }
    let set = org
        .admin
        .patch(
            &format!("/api/v1/channels/{}", org.support),
            json!({"settings": {"slack_webhook_url": url}}),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);

    open_case(
        &org.amy,
        org.support,
        json!({"subject": "[SPAM] crypto giveaway", "description": "buy now"}),
    )
    .await;
    let real = open_case(
        &org.amy,
        org.support,
        json!({"subject": "Printer <b>on fire</b>", "customer": {"name": "Jane Roe"}}),
    )
    .await;
    let number = real["number"].as_u64().unwrap();
    let inbox = received.clone();
    eventually("Slack to hear of the new case", || {
        let inbox = inbox.clone();
        async move { !inbox.lock().unwrap().is_empty() }
    })
    .await;
    org.amy
        .post(
            &format!("/api/v1/cases/{number}/messages"),
            json!({"body": "Any news?", "direction": "inbound", "from": "Jane Roe"}),
        )
        .await;
    org.amy
        .post(
            &format!("/api/v1/cases/{number}/messages"),
            json!({"body": "Tomorrow", "direction": "outbound"}),
        )
        .await;
    org.amy
        .post_empty(&format!("/api/v1/cases/{number}/close"))
        .await;
    let inbox = received.clone();
    eventually("Slack to hear of the reply and the closing", || {
        let inbox = inbox.clone();
        async move { inbox.lock().unwrap().len() >= 3 }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let messages = received.lock().unwrap().clone();
    assert!(
        rejected.lock().unwrap().is_empty(),
        "{:?}",
        rejected.lock().unwrap()
    );
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages.iter().all(|m| m.path == "/services/T1/B1/secret"));
    assert!(
        messages.iter().all(|m| !m.text.contains("SPAM")),
        "{messages:?}"
    );
    assert!(
        messages[0]
            .text
            .starts_with("New case in Support from Jane Roe"),
        "{messages:?}"
    );
    // Slack markup in the subject is escaped.
    assert!(
        messages[0].text.contains("&lt;b&gt;on fire&lt;/b&gt;"),
        "{messages:?}"
    );
    assert!(
        messages[1].text.contains("Jane Roe replied"),
        "{messages:?}"
    );
    assert!(messages[2].text.contains("closed the case"), "{messages:?}");
}

#[tokio::test]
async fn a_failing_webhook_never_blocks_a_case_change() {
    let org = Org::on(Server::start_fresh(&[(
        "DOCKET_WEBHOOK_ALLOW",
        "127.0.0.1:9",
    )]))
    .await;
    // Nothing listens on port 9: every attempt fails.
    let set = org
        .admin
        .patch(
            &format!("/api/v1/channels/{}", org.support),
            json!({"settings": {"slack_webhook_url": "http://127.0.0.1:9/hook"}}),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    let case = open_case(&org.amy, org.support, json!({"subject": "Still works"})).await;
    let number = case["number"].as_u64().unwrap();
    let closed = org
        .amy
        .post_empty(&format!("/api/v1/cases/{number}/close"))
        .await;
    assert_eq!(closed.status, 200, "{}", closed.text);
    assert_eq!(
        org.amy.get(&format!("/api/v1/cases/{number}")).await.body["status"],
        "resolved"
    );
}

#[tokio::test]
async fn check_plugins_reports_errors_and_replays_without_changing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::write(
        plugins.join("good.rhai"),
        "fn categorize(t) { \"billing\" }\n",
    )
    .unwrap();
    std::fs::write(plugins.join("bad.rhai"), "fn route(t) {\n  let x = ;\n}\n").unwrap();
    let output = std::process::Command::new(docket_bin())
        .args(["check-plugins"])
        .arg(&plugins)
        .arg("--data")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(errors.contains("bad.rhai:2:"), "{errors}");

    std::fs::remove_file(plugins.join("bad.rhai")).unwrap();
    let output = std::process::Command::new(docket_bin())
        .args(["check-plugins"])
        .arg(&plugins)
        .arg("--data")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Replay: a stored case, run against the scripts, left as it is.
    let data = dir.path().join("data");
    {
        let server = Server::start_in(
            &data,
            &[("DOCKET_ADMIN_PASSWORD", crate::harness::ADMIN_PASSWORD)],
        );
        let admin = server.admin().await;
        let channel = admin.create_channel("Support").await;
        admin.create_case(channel, "Hello there").await;
    }
    let output = std::process::Command::new(docket_bin())
        .args(["check-plugins", "--replay", "5"])
        .arg(&plugins)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(printed.contains("#1 Hello there"), "{printed}");
    assert!(printed.contains("would be billing"), "{printed}");
    assert!(printed.contains("nothing was changed"), "{printed}");
    let server = Server::start_in(&data, &[]);
    let admin = server.admin().await;
    assert!(admin.get("/api/v1/cases/1").await.body["category"].is_null());
}

#[tokio::test]
async fn managers_see_milestones_nearing_or_past_a_breach() {
    let org = Org::new().await;
    write_plugin(
        &org.server,
        "targets.rhai",
        r#"fn milestones(t) {
            [
                #{ name: "Acknowledge", due_at: "2020-01-01T00:00:00Z", completes_on: "first_reply" },
                #{ name: "Resolution", due_in: "2h", completes_on: "resolved" },
                #{ name: "Review", due_in: "3d", completes_on: "field:category" },
            ]
        }"#,
    );
    let admin = &org.admin;
    eventually("the policy to load", || async move {
        admin.get("/api/v1/plugins").await.body["plugins"][0]["status"] == "loaded"
    })
    .await;
    let first = org.amy.create_case(org.support, "First").await;
    let second = org.amy.create_case(org.support, "Second").await;
    org.bob.create_case(org.sales, "Not Max's channel").await;

    let rows = org.max.get("/api/v1/milestones").await;
    assert_eq!(rows.status, 200, "{}", rows.text);
    let listed: Vec<(u64, String, String)> = rows
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["case"].as_u64().unwrap(),
                r["milestone"].as_str().unwrap().to_owned(),
                r["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (first, "Acknowledge".into(), "overdue".into()),
            (second, "Acknowledge".into(), "overdue".into()),
            (first, "Resolution".into(), "current".into()),
            (second, "Resolution".into(), "current".into()),
        ]
    );
    // A week ahead includes the review; a reply and a resolution take the
    // first case off the list.
    let week = org.max.get("/api/v1/milestones?within_hours=168").await;
    assert_eq!(week.body.as_array().unwrap().len(), 6);
    org.amy
        .post(
            &format!("/api/v1/cases/{first}/messages"),
            json!({"body": "Hi", "direction": "outbound"}),
        )
        .await;
    org.amy
        .post_empty(&format!("/api/v1/cases/{first}/close"))
        .await;
    let rows = org.max.get("/api/v1/milestones?within_hours=168").await;
    assert!(
        rows.body
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["case"] == second),
        "{}",
        rows.text
    );
    // Administrators see every channel; agents are not managers.
    assert_eq!(
        org.admin
            .get("/api/v1/milestones")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2 + 2
    );
    assert_eq!(org.amy.get("/api/v1/milestones").await.status, 403);
    assert_eq!(
        org.max
            .get("/api/v1/milestones?within_hours=99999")
            .await
            .status,
        422
    );
}
