//! The case lifecycle over the REST API.

use serde_json::json;

use crate::harness::{Client, Org, Server};

#[tokio::test]
async fn health_readiness_spec_and_docs_are_served() {
    let server = Server::start();
    let anon = Client::anonymous(&server);
    assert_eq!(anon.get("/healthz").await.status, 200);
    assert_eq!(anon.get("/readyz").await.text, "ready");
    let spec = anon.get("/api/openapi.json").await;
    assert_eq!(spec.status, 200);
    assert!(
        spec.body["paths"]["/cases/{number}"]["patch"].is_object(),
        "spec lacks PATCH /cases/{{number}}"
    );
    assert_eq!(spec.body["servers"][0]["url"], json!("/api/v1"));
    let docs = anon.get("/api/docs").await;
    assert_eq!(docs.status, 200);
    assert!(
        docs.text.contains("swagger"),
        "docs page: {}",
        &docs.text[..200.min(docs.text.len())]
    );
}

#[tokio::test]
async fn a_case_moves_through_its_whole_lifecycle() {
    let org = Org::new().await;
    let amy = &org.amy;
    let created = amy
        .post(
            "/api/v1/cases",
            json!({
                "channel": org.support,
                "subject": "Printer on fire",
                "description": "Smoke everywhere",
                "priority": "high",
                "deadline": "2030-01-02T03:04:05Z",
                "category": "hardware",
                "type": "incident",
                "customer": {"name": "Jane Roe", "email": "jane@example.org", "phone": "+1 555 0100",
                             "handles": {"instagram": "@jane"}},
                "device": {"identifier": "SN-42", "model": "LaserJet 9"}
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let case = &created.body;
    let number = case["number"].as_u64().unwrap();
    assert_eq!(case["status"], "open");
    assert_eq!(case["priority"], "high");
    assert_eq!(case["source"], "api");
    assert_eq!(case["type"], "incident");
    assert_eq!(case["created_by"], "amy");
    assert_eq!(case["customer"]["handles"]["instagram"], "@jane");
    assert_eq!(case["device"]["model"], "LaserJet 9");
    let deadline: chrono::DateTime<chrono::Utc> =
        case["deadline"].as_str().unwrap().parse().unwrap();
    assert_eq!(deadline.to_rfc3339(), "2030-01-02T03:04:05+00:00");

    let path = format!("/api/v1/cases/{number}");
    let progressed = amy
        .patch(
            &path,
            json!({"status": "in_progress", "assignee": "max", "important": true}),
        )
        .await;
    assert_eq!(progressed.status, 200, "{}", progressed.text);
    assert_eq!(progressed.body["status"], "in_progress");
    assert_eq!(progressed.body["assignee"], "max");
    assert_eq!(progressed.body["assigned_by"], "amy");
    assert!(progressed.body["assigned_at"].is_string());

    let waiting = amy
        .patch(
            &path,
            json!({"status": "waiting_for_customer", "assignee": null}),
        )
        .await;
    assert_eq!(waiting.body["status"], "waiting_for_customer");
    assert!(waiting.body["assignee"].is_null());

    let closed = amy.post_empty(&format!("{path}/close")).await;
    assert_eq!(closed.status, 200, "{}", closed.text);
    assert_eq!(closed.body["status"], "resolved");
    assert_eq!(closed.body["closed_by"], "amy");
    assert!(closed.body["closed_at"].is_string());

    let again = amy.post_empty(&format!("{path}/close")).await;
    assert!(again.problem(409).contains("already resolved"));

    let archived = amy.post_empty(&format!("{path}/archive")).await;
    assert_eq!(archived.body["archived"], true);

    let reopened = amy.post_empty(&format!("{path}/reopen")).await;
    assert_eq!(reopened.status, 200);
    assert_eq!(reopened.body["status"], "open");
    assert_eq!(reopened.body["archived"], false);
    assert!(reopened.body["closed_at"].is_null());

    let kinds: Vec<String> = amy
        .get(&format!("{path}/activity"))
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "fields_changed",
            "status_changed",
            "assigned",
            "status_changed",
            "assigned",
            "closed",
            "archived",
            "reopened"
        ]
    );
}

#[tokio::test]
async fn activity_records_who_did_what_with_before_and_after() {
    let org = Org::new().await;
    let number = org.amy.create_case(org.support, "Old subject").await;
    let path = format!("/api/v1/cases/{number}");
    org.max
        .patch(
            &path,
            json!({"subject": "New subject", "priority": "urgent"}),
        )
        .await;
    let note = org
        .amy
        .post(
            &format!("{path}/notes"),
            json!({"body": "Called the customer"}),
        )
        .await;
    assert_eq!(note.status, 201, "{}", note.text);
    assert_eq!(note.body["kind"], "note");
    assert_eq!(note.body["body"], "Called the customer");

    let events = org.amy.get(&format!("{path}/activity")).await.body;
    let edit = &events[1];
    assert_eq!(edit["actor"], "max");
    assert_eq!(edit["kind"], "fields_changed");
    assert_eq!(
        edit["changes"][0],
        json!({"field": "subject", "before": "Old subject", "after": "New subject"})
    );
    assert_eq!(
        edit["changes"][1],
        json!({"field": "priority", "before": "normal", "after": "urgent"})
    );
    assert_eq!(events[2]["actor"], "amy");
    assert_eq!(events[2]["seq"], 3);

    // A no-op edit records nothing.
    org.amy
        .patch(&path, json!({"subject": "New subject"}))
        .await;
    assert_eq!(
        org.amy.get(&format!("{path}/activity")).await.array_len(),
        3
    );
}

#[tokio::test]
async fn customer_messages_reopen_resolved_cases() {
    let org = Org::new().await;
    let number = org.amy.create_case(org.support, "Refund").await;
    let path = format!("/api/v1/cases/{number}");
    org.amy.post_empty(&format!("{path}/close")).await;
    let reply = org
        .amy
        .post(
            &format!("{path}/messages"),
            json!({"body": "It broke again", "direction": "inbound", "from": "Jane"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.body["direction"], "inbound");
    let case = org.amy.get(&path).await.body;
    assert_eq!(case["status"], "open");
    let kinds: Vec<_> = org
        .amy
        .get(&format!("{path}/activity"))
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        [
            json!("created"),
            json!("closed"),
            json!("message"),
            json!("reopened")
        ]
    );

    // An outbound message leaves the status alone.
    org.amy
        .patch(&path, json!({"status": "waiting_for_customer"}))
        .await;
    org.amy
        .post(&format!("{path}/messages"), json!({"body": "Any news?"}))
        .await;
    assert_eq!(
        org.amy.get(&path).await.body["status"],
        "waiting_for_customer"
    );
}

#[tokio::test]
async fn resolved_cases_must_be_reopened_and_only_resolved_ones_archived() {
    let org = Org::new().await;
    let number = org.amy.create_case(org.support, "x").await;
    let path = format!("/api/v1/cases/{number}");
    let early = org.amy.post_empty(&format!("{path}/archive")).await;
    assert!(early.problem(409).contains("only resolved"));
    let reopen = org.amy.post_empty(&format!("{path}/reopen")).await;
    reopen.problem(409);
    org.amy.post_empty(&format!("{path}/close")).await;
    let sideways = org.amy.patch(&path, json!({"status": "in_progress"})).await;
    assert!(sideways.problem(409).contains("reopen"));
    let via_patch = org.amy.patch(&path, json!({"status": "open"})).await;
    assert_eq!(via_patch.body["status"], "open");
}

#[tokio::test]
async fn listing_views_filters_and_cursor_pages() {
    let org = Org::new().await;
    let amy = &org.amy;
    let mut numbers = Vec::new();
    for i in 0..7 {
        numbers.push(amy.create_case(org.support, &format!("case {i}")).await);
    }
    amy.post_empty(&format!("/api/v1/cases/{}/close", numbers[0]))
        .await;
    amy.post_empty(&format!("/api/v1/cases/{}/close", numbers[1]))
        .await;
    amy.post_empty(&format!("/api/v1/cases/{}/archive", numbers[1]))
        .await;
    amy.patch(
        &format!("/api/v1/cases/{}", numbers[2]),
        json!({"status": "waiting_for_customer", "assignee": "amy"}),
    )
    .await;
    amy.patch(
        &format!("/api/v1/cases/{}", numbers[3]),
        json!({"status": "in_progress"}),
    )
    .await;

    let list = |query: &'static str| {
        let amy = amy.clone();
        async move {
            let separator = if query.contains('?') { '&' } else { '?' };
            let answer = amy
                .get(&format!("/api/v1/cases{query}{separator}sort=-number"))
                .await;
            assert_eq!(answer.status, 200, "{query}: {}", answer.text);
            answer.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["number"].as_u64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    let unresolved: Vec<u64> = numbers[2..].iter().rev().copied().collect();
    assert_eq!(
        list("").await,
        unresolved,
        "the default view lists every unresolved case, newest first"
    );
    assert_eq!(list("?view=open").await, unresolved);
    assert_eq!(list("?view=closed").await, vec![numbers[0]]);
    assert_eq!(list("?view=archived").await, vec![numbers[1]]);
    assert_eq!(list("?view=all").await.len(), 6);
    assert_eq!(list("?status=in_progress").await, vec![numbers[3]]);
    assert_eq!(list("?assignee=me").await, vec![numbers[2]]);
    assert_eq!(list("?assignee=amy").await, vec![numbers[2]]);
    assert_eq!(list("?assignee=none").await.len(), 4);

    let sales_case = org.admin.create_case(org.sales, "sales").await;
    let both = org
        .admin
        .get(&format!(
            "/api/v1/cases?sort=-number&channel={}&channel={}",
            org.support, org.sales
        ))
        .await;
    assert_eq!(both.body["items"].as_array().unwrap().len(), 6);
    let only_sales = org
        .admin
        .get(&format!("/api/v1/cases?channel={}", org.sales))
        .await;
    assert_eq!(only_sales.body["items"][0]["number"], json!(sales_case));

    // Pages of two: a case created meanwhile does not shift later pages.
    let first = amy
        .get("/api/v1/cases?view=all&limit=2&sort=-number")
        .await
        .body;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    amy.create_case(org.support, "arrived meanwhile").await;
    let second = amy
        .get(&format!(
            "/api/v1/cases?view=all&limit=2&sort=-number&cursor={cursor}"
        ))
        .await
        .body;
    let second_numbers: Vec<u64> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["number"].as_u64().unwrap())
        .collect();
    assert_eq!(second_numbers, vec![numbers[4], numbers[3]]);
    let mut cursor = second["next_cursor"].as_str().map(str::to_owned);
    let mut seen = 4;
    while let Some(c) = cursor {
        let page = amy
            .get(&format!(
                "/api/v1/cases?view=all&limit=2&sort=-number&cursor={c}"
            ))
            .await
            .body;
        seen += page["items"].as_array().unwrap().len();
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, 6);
}

#[tokio::test]
async fn case_numbers_are_unique_and_sequential_under_concurrent_creates() {
    let org = Org::new().await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let client = if i % 2 == 0 {
            org.amy.clone()
        } else {
            org.admin.clone()
        };
        let channel = org.support;
        tasks.push(tokio::spawn(async move {
            client.create_case(channel, &format!("parallel {i}")).await
        }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.unwrap());
    }
    numbers.sort();
    assert_eq!(numbers, (1..=40).collect::<Vec<u64>>());
}

#[tokio::test]
async fn live_events_stream_changes_of_visible_cases_only() {
    let org = Org::new().await;
    let mut response = reqwest::Client::new()
        .get(org.server.url("/api/v1/events"))
        .bearer_auth(org.bob.token.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // Bob (Sales) must not hear of a Support case, only of the Sales one.
    org.amy
        .create_case(org.support, "secret support case")
        .await;
    let sales = org.admin.create_case(org.sales, "sales case").await;
    let mut received = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !received.contains("\"number\":") || !received.contains("created") {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .expect("an event within 10s")
            .unwrap()
            .unwrap();
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        received.contains(&format!("\"number\":{sales}")),
        "{received}"
    );
    assert!(
        !received.contains("\"number\":1,"),
        "bob saw a Support case: {received}"
    );
}

#[tokio::test]
async fn activity_is_filtered_and_ordered_and_notes_are_safe_markdown() {
    let org = Org::new().await;
    let number = org.amy.create_case(org.support, "Router down").await;
    let path = format!("/api/v1/cases/{number}");
    org.amy
        .post(
            &format!("{path}/notes"),
            json!({"body": "**Call** the ISP <script>alert(1)</script>"}),
        )
        .await;
    org.amy
        .post(
            &format!("{path}/messages"),
            json!({"body": "On it", "direction": "outbound"}),
        )
        .await;
    org.amy.patch(&path, json!({"priority": "high"})).await;
    let kinds = |answer: &crate::harness::Answer| -> Vec<String> {
        answer
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = org.amy.get(&format!("{path}/activity")).await;
    assert_eq!(
        kinds(&all),
        ["created", "note", "message", "fields_changed"]
    );
    let newest = org.amy.get(&format!("{path}/activity?order=newest")).await;
    assert_eq!(
        kinds(&newest),
        ["fields_changed", "message", "note", "created"]
    );
    let notes = org.amy.get(&format!("{path}/activity?filter=notes")).await;
    assert_eq!(kinds(&notes), ["note"]);
    let html = notes.body[0]["body_html"].as_str().unwrap();
    assert!(html.contains("<strong>Call</strong>"), "{html}");
    // Markup in a note is shown as typed, never run.
    assert!(!html.contains("<script"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    // The note keeps exactly what was written.
    assert!(notes.body[0]["body"].as_str().unwrap().contains("<script>"));
    let messages = org
        .amy
        .get(&format!("{path}/activity?filter=messages"))
        .await;
    assert_eq!(kinds(&messages), ["message"]);
    let system = org
        .amy
        .get(&format!("{path}/activity?filter=system&order=newest"))
        .await;
    assert_eq!(kinds(&system), ["fields_changed", "created"]);
    assert_eq!(system.body[0]["changes"][0]["before"], "normal");
    assert_eq!(system.body[0]["changes"][0]["after"], "high");
    for bad in ["filter=everything", "order=sideways"] {
        let answer = org.amy.get(&format!("{path}/activity?{bad}")).await;
        assert_eq!(answer.status, 422, "{bad}: {}", answer.text);
    }
    // Partners never see notes, whatever the filter.
    let own = org.pat.create_case(org.support, "Partner case").await;
    org.amy
        .post(
            &format!("/api/v1/cases/{own}/notes"),
            json!({"body": "internal"}),
        )
        .await;
    let theirs = org
        .pat
        .get(&format!("/api/v1/cases/{own}/activity?filter=notes"))
        .await;
    assert_eq!(theirs.body, json!([]));
}
