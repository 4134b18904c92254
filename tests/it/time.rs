//! Time tracking: timers, entries, totals, estimates and who may do what.

use serde_json::json;

use crate::harness::{Client, Org, PASSWORD, Server};

async fn enable_tracking(org: &Org) {
    let answer = org
        .admin
        .patch(
            &format!("/api/v1/channels/{}", org.support),
            json!({"settings": {"time_tracking": true}}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

async fn log(client: &Client, number: u64, body: serde_json::Value) -> crate::harness::Answer {
    client
        .post(&format!("/api/v1/cases/{number}/time"), body)
        .await
}

#[tokio::test]
async fn entries_totals_and_estimates() {
    let org = Org::new().await;
    let number = org
        .amy
        .create_case(org.support, "Install the printer")
        .await;
    // Off until the channel turns it on.
    let off = log(&org.amy, number, json!({"duration": "1h"})).await;
    assert_eq!(off.status, 409, "{}", off.text);
    assert!(
        off.body["detail"]
            .as_str()
            .unwrap()
            .contains("time tracking is off")
    );
    enable_tracking(&org).await;

    let first = log(
        &org.amy,
        number,
        json!({"duration": "1.5h", "type": "travel", "note": "drove over"}),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.body["minutes"], 90);
    assert_eq!(first.body["type"], "Travel");
    assert_eq!(first.body["username"], "amy");
    let second = log(
        &org.max,
        number,
        json!({"duration": "2d", "date": "2026-11-02"}),
    )
    .await;
    assert_eq!(second.body["minutes"], 960);
    assert_eq!(second.body["type"], "Work");
    assert_eq!(second.body["date"], "2026-11-02");
    assert_eq!(
        log(&org.amy, number, json!({"duration": "45"})).await.body["minutes"],
        45
    );

    for (body, field) in [
        (json!({"duration": "soon"}), "duration"),
        (json!({"duration": "0m"}), "duration"),
        (json!({"duration": "1h", "type": "Lunch"}), "type"),
    ] {
        let bad = log(&org.amy, number, body.clone()).await;
        assert_eq!(bad.status, 422, "{body}: {}", bad.text);
        assert_eq!(bad.body["errors"][0]["field"], field);
    }

    let sheet = org.amy.get(&format!("/api/v1/cases/{number}/time")).await;
    assert_eq!(sheet.status, 200);
    assert_eq!(sheet.body["total_minutes"], 90 + 960 + 45);
    assert_eq!(sheet.body["entries"].as_array().unwrap().len(), 3);
    assert_eq!(
        sheet.body["by_type"],
        json!([{"type": "Work", "minutes": 1005}, {"type": "Travel", "minutes": 90}])
    );

    // Own entries only, unless managing the channel.
    let amys = first.body["id"].as_u64().unwrap();
    let maxs = second.body["id"].as_u64().unwrap();
    let not_mine = org
        .amy
        .patch(
            &format!("/api/v1/cases/{number}/time/{maxs}"),
            json!({"duration": "1h"}),
        )
        .await;
    assert_eq!(not_mine.status, 403);
    let edited = org
        .amy
        .patch(
            &format!("/api/v1/cases/{number}/time/{amys}"),
            json!({"duration": "2h", "note": null}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(edited.body["minutes"], 120);
    assert!(edited.body["note"].is_null());
    let by_manager = org
        .max
        .delete(&format!("/api/v1/cases/{number}/time/{amys}"))
        .await;
    assert_eq!(by_manager.status, 204);
    assert_eq!(
        org.amy
            .delete(&format!("/api/v1/cases/{number}/time/{amys}"))
            .await
            .status,
        404
    );
    // Partners and outsiders.
    assert_eq!(
        log(&org.pat, number, json!({"duration": "1h"}))
            .await
            .status,
        404
    );
    let own = org.pat.create_case(org.support, "Partner's case").await;
    assert_eq!(
        log(&org.pat, own, json!({"duration": "1h"})).await.status,
        403
    );
    assert_eq!(
        org.pat
            .post_empty(&format!("/api/v1/cases/{own}/timer/start"))
            .await
            .status,
        403
    );
    // Who logged what on a partner's case is not theirs to read.
    log(&org.amy, own, json!({"duration": "1h"})).await;
    assert_eq!(
        org.pat
            .get(&format!("/api/v1/cases/{own}/time"))
            .await
            .status,
        403
    );
    let activity = org.pat.get(&format!("/api/v1/cases/{own}/activity")).await;
    assert!(
        activity
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["kind"] != "time_logged"),
        "{}",
        activity.text
    );
    assert_eq!(
        log(&org.bob, number, json!({"duration": "1h"}))
            .await
            .status,
        404
    );
    assert_eq!(
        org.bob
            .get(&format!("/api/v1/cases/{number}/time"))
            .await
            .status,
        404
    );

    // Estimates are for managers.
    let path = format!("/api/v1/cases/{number}");
    assert_eq!(
        org.amy.patch(&path, json!({"estimate": "4h"})).await.status,
        403
    );
    let set = org.max.patch(&path, json!({"estimate": "4h"})).await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.body["estimate_minutes"], 240);
    let sheet = org.amy.get(&format!("/api/v1/cases/{number}/time")).await;
    assert_eq!(sheet.body["estimate_minutes"], 240);
    assert_eq!(
        org.max
            .patch(&path, json!({"estimate": "lots"}))
            .await
            .status,
        422
    );

    let activity = org.amy.get(&format!("{path}/activity")).await;
    let logged = activity
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "time_logged")
        .count();
    assert_eq!(logged, 3);
}

#[tokio::test]
async fn one_timer_per_user_that_survives_a_restart() {
    let mut org = Org::new().await;
    enable_tracking(&org).await;
    let first = org.amy.create_case(org.support, "First").await;
    let second = org.amy.create_case(org.support, "Second").await;
    let start = |n: u64| format!("/api/v1/cases/{n}/timer/start");
    let stop = |n: u64| format!("/api/v1/cases/{n}/timer/stop");

    let started = org.amy.post_empty(&start(first)).await;
    assert_eq!(started.status, 200, "{}", started.text);
    assert_eq!(started.body["case"], first);
    assert_eq!(org.amy.post_empty(&start(first)).await.status, 409);
    assert_eq!(org.amy.post_empty(&stop(second)).await.status, 409);
    let sheet = org.amy.get(&format!("/api/v1/cases/{first}/time")).await;
    assert!(sheet.body["running_since"].is_string());

    // Starting on another case stops the first and logs its time.
    org.amy.post_empty(&start(second)).await;
    let sheet = org.amy.get(&format!("/api/v1/cases/{first}/time")).await;
    assert_eq!(sheet.body["entries"][0]["from_timer"], true);
    assert!(sheet.body["running_since"].is_null());

    // Restart: the timer on the second case is still running.
    // Keeps the data directory until the end (dropped after the server).
    let _dir = org.server.take_dir();
    let data = org.server.data.clone();
    org.server.terminate();
    let server = Server::start_in(&data, &[]);
    let amy = Client::login(&server, "amy", PASSWORD).await;
    let stopped = amy.post_empty(&stop(second)).await;
    assert_eq!(stopped.status, 201, "{}", stopped.text);
    assert!(stopped.body["minutes"].as_u64().unwrap() >= 1);
    assert_eq!(stopped.body["type"], "Work");
    assert_eq!(amy.post_empty(&stop(second)).await.status, 409);
}
