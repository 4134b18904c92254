//! Service levels in business hours: a channel's calendar moves due times
//! past closed hours and holidays, and a clock that pauses while the case
//! waits for the customer. The server runs under libfaketime, started on
//! a Friday afternoon.

use serde_json::{Value, json};

use crate::harness::{ADMIN_PASSWORD, Server};

const FAKETIME_LIBRARY: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

const POLICY: &str = r#"
fn milestones(t) {
    [
        #{ name: "First reply", due_in: "4h", business: true, pause_while_waiting: true, completes_on: "first_reply" },
        #{ name: "Triage", due_in: "4h", completes_on: "field:category" },
    ]
}
"#;

fn office(holidays: Value) -> Value {
    let hours: Vec<Value> = ["mon", "tue", "wed", "thu", "fri"]
        .iter()
        .map(|day| json!({"day": day, "open": "09:00", "close": "17:00"}))
        .collect();
    json!({"settings": {"calendar": {"time_zone": "Europe/Berlin", "hours": hours, "holidays": holidays}}})
}

async fn milestone(admin: &crate::harness::Client, number: u64, name: &str) -> Value {
    let all = admin
        .get(&format!("/api/v1/cases/{number}/milestones"))
        .await;
    assert_eq!(all.status, 200, "{}", all.text);
    all.body
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no {name}: {}", all.text))
        .clone()
}

/// `due` is `expected`, give or take the seconds the faked clock ran on
/// since it started (the case was not created at 16:00:00 sharp).
fn about(due: chrono::DateTime<chrono::Utc>, expected: &str) -> bool {
    let expected = chrono::DateTime::parse_from_rfc3339(expected).unwrap();
    (0..30).contains(&(due - expected.with_timezone(&chrono::Utc)).num_seconds())
}

fn at(value: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc)
}

#[tokio::test]
async fn business_hours_skip_the_weekend_and_holidays_and_waiting_stops_the_clock() {
    assert!(
        std::path::Path::new(FAKETIME_LIBRARY).exists(),
        "this test needs Debian's faketime; scripts/test installs it"
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("plugins")).unwrap();
    std::fs::write(data.join("plugins").join("levels.rhai"), POLICY).unwrap();
    // Friday 6 March 2026, 16:00 in Berlin (15:00 UTC); the clock runs on.
    let server = Server::start_in(
        &data,
        &[
            ("DOCKET_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("LD_PRELOAD", FAKETIME_LIBRARY),
            ("FAKETIME", "@2026-03-06 15:00:00"),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ],
    );
    let admin = server.admin().await;
    let channel = admin.create_channel("Support").await;
    let path = format!("/api/v1/channels/{channel}");

    let refused = admin
        .patch(
            &path,
            json!({"settings": {"calendar": {"time_zone": "Mars/Olympus", "hours": []}}}),
        )
        .await;
    assert!(
        refused.problem(422).contains("time zone"),
        "{}",
        refused.text
    );
    let set = admin.patch(&path, office(json!([]))).await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(
        set.body["settings"]["calendar"]["time_zone"],
        "Europe/Berlin"
    );

    let opened = admin
        .post(
            "/api/v1/cases",
            json!({"channel": channel, "subject": "Parcel lost"}),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.text);
    let number = opened.body["number"].as_u64().unwrap();
    let created = at(&opened.body["created_at"]);
    assert_eq!(
        created.date_naive().to_string(),
        "2026-03-06",
        "the clock is faked"
    );

    // Four business hours from Friday 16:00: one on Friday, three on
    // Monday, so Monday 12:00 in Berlin. The clock target is Friday 19:00.
    let reply = milestone(&admin, number, "First reply").await;
    assert_eq!(reply["business"], true);
    assert!(
        about(at(&reply["due_at"]), "2026-03-09T11:00:00Z"),
        "{reply}"
    );
    let triage = milestone(&admin, number, "Triage").await;
    assert_eq!(at(&triage["due_at"]), created + chrono::Duration::hours(4));

    // A holiday on Monday moves it to Tuesday 12:00.
    let holiday = admin
        .patch(
            &path,
            office(json!([{"date": "2026-03-09", "name": "Closed"}])),
        )
        .await;
    assert_eq!(holiday.status, 200, "{}", holiday.text);
    let reply = milestone(&admin, number, "First reply").await;
    assert!(
        about(at(&reply["due_at"]), "2026-03-10T11:00:00Z"),
        "{reply}"
    );
    let before_waiting = at(&reply["due_at"]);

    // Waiting for the customer stops the clock; the wait is added after.
    let waiting = admin
        .patch(
            &format!("/api/v1/cases/{number}"),
            json!({"status": "waiting_for_customer"}),
        )
        .await;
    assert_eq!(waiting.status, 200, "{}", waiting.text);
    assert_eq!(
        milestone(&admin, number, "First reply").await["state"],
        "paused"
    );
    assert_eq!(
        milestone(&admin, number, "Triage").await["state"],
        "current"
    );
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let open = admin
        .patch(
            &format!("/api/v1/cases/{number}"),
            json!({"status": "open"}),
        )
        .await;
    assert_eq!(open.status, 200, "{}", open.text);
    let reply = milestone(&admin, number, "First reply").await;
    assert_eq!(reply["state"], "current");
    let moved = at(&reply["due_at"]) - before_waiting;
    assert!(
        (2..=30).contains(&moved.num_seconds()),
        "the {moved} of waiting were added to the business clock"
    );
}
