//! Bad input gets a clear 4xx problem and changes nothing.

use reqwest::Method;
use serde_json::json;

use crate::harness::{Client, Org};

#[tokio::test]
async fn case_bodies_are_validated_field_by_field() {
    let org = Org::new().await;
    let amy = &org.amy;
    let support = org.support;
    let cases: Vec<(serde_json::Value, u16, &str)> = vec![
        (
            json!({"channel": support, "subject": "x", "colour": "red"}),
            400,
            "unknown field",
        ),
        (json!({"channel": support}), 400, "subject"),
        (json!({"channel": "one", "subject": "x"}), 400, "channel"),
        (json!({"channel": support, "subject": 5}), 400, "subject"),
        (
            json!({"channel": support, "subject": "x", "priority": "meh"}),
            400,
            "priority",
        ),
        (
            json!({"channel": support, "subject": "x", "deadline": "next tuesday"}),
            400,
            "deadline",
        ),
        (
            json!({"channel": support, "subject": "   "}),
            422,
            "subject",
        ),
        (
            json!({"channel": support, "subject": "x".repeat(301)}),
            422,
            "subject",
        ),
        (
            json!({"channel": support, "subject": "x", "customer": {"email": "not-an-address"}}),
            422,
            "customer.email",
        ),
        (
            json!({"channel": support, "subject": "x", "customer": {"nickname": "j"}}),
            400,
            "unknown field",
        ),
        (json!({"channel": 424242, "subject": "x"}), 422, "channel"),
    ];
    for (body, status, hint) in cases {
        let answer = amy.post("/api/v1/cases", body.clone()).await;
        let detail = answer.problem(status);
        assert!(
            detail.contains(hint),
            "{body}: expected '{hint}' in '{detail}'"
        );
    }
    let invalid = amy
        .post("/api/v1/cases", json!({"channel": support, "subject": ""}))
        .await;
    assert_eq!(invalid.body["errors"][0]["field"], "subject");
    // Nothing was created along the way.
    assert!(
        amy.get("/api/v1/cases?view=all").await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn malformed_json_and_wrong_content_types_are_rejected() {
    let org = Org::new().await;
    let bad_json = org
        .amy
        .raw(
            Method::POST,
            "/api/v1/cases",
            "application/json",
            "{\"channel\": 1,",
        )
        .await;
    bad_json.problem(400);
    let not_json = org
        .amy
        .raw(Method::POST, "/api/v1/cases", "text/plain", "hello")
        .await;
    assert!((400..500).contains(&not_json.status), "{}", not_json.text);
    assert_eq!(
        not_json.header("content-type"),
        Some("application/problem+json")
    );
    let empty = org
        .amy
        .raw(Method::POST, "/api/v1/cases", "application/json", "")
        .await;
    empty.problem(400);
}

#[tokio::test]
async fn patch_rejects_bad_values_and_keeps_the_case() {
    let org = Org::new().await;
    let number = org.amy.create_case(org.support, "Keep me").await;
    let path = format!("/api/v1/cases/{number}");
    let attempts: Vec<(serde_json::Value, u16)> = vec![
        (json!({"number": 5}), 400),
        (json!({"status": "closed"}), 400),
        (json!({"subject": ""}), 422),
        (json!({"assignee": "nobody-here"}), 422),
        (json!({"assignee": "bob"}), 422),
        (json!({"deadline": "2026-13-45"}), 400),
        (json!({"important": "yes"}), 400),
        (json!({"category": "a\nb"}), 422),
        (json!({"subject": "ok", "customer": {"email": "bad"}}), 422),
    ];
    for (body, status) in attempts {
        org.amy.patch(&path, body.clone()).await.problem(status);
    }
    let case = org.amy.get(&path).await.body;
    assert_eq!(case["subject"], "Keep me");
    assert!(case["assignee"].is_null());
    assert_eq!(
        org.amy.get(&format!("{path}/activity")).await.array_len(),
        1
    );
}

#[tokio::test]
async fn path_query_and_paging_parameters_are_checked() {
    let org = Org::new().await;
    org.amy.get("/api/v1/cases/abc").await.problem(400);
    org.amy.get("/api/v1/cases/-1").await.problem(400);
    org.amy
        .get("/api/v1/cases?view=everything")
        .await
        .problem(422);
    org.amy.get("/api/v1/cases?limit=0").await.problem(422);
    org.amy.get("/api/v1/cases?limit=100000").await.problem(422);
    org.amy.get("/api/v1/cases?cursor=zzz").await.problem(422);
    org.amy.get("/api/v1/cases?status=shiny").await.problem(400);
    org.amy.get("/api/v1/cases?channel=x").await.problem(400);
    org.amy.get("/api/v1/no-such-thing").await.problem(404);
    org.amy
        .put("/api/v1/cases/1", serde_json::json!({}))
        .await
        .problem(405);
    org.amy.delete("/api/v1/cases/999").await.problem(404);
    assert!((400..500).contains(&org.amy.delete("/api/v1/cases").await.status));
}

#[tokio::test]
async fn oversized_bodies_get_413_whether_declared_or_streamed() {
    let org = Org::new().await;
    let huge = format!(
        "{{\"channel\": {}, \"subject\": \"{}\"}}",
        org.support,
        "x".repeat(2 * 1024 * 1024)
    );
    // The server may answer before it has read the whole body; the client
    // then sees the connection close instead of the answer. Either way the
    // body is refused.
    let request = org
        .amy
        .http
        .post(format!("{}/api/v1/cases", org.amy.base))
        .bearer_auth(org.amy.token.as_ref().unwrap())
        .header("content-type", "application/json")
        .body(huge);
    match request.send().await {
        Ok(response) => {
            assert_eq!(response.status(), 413);
            let problem: serde_json::Value = response.json().await.unwrap();
            assert!(problem["detail"].as_str().unwrap().contains("limit"));
        }
        Err(e) => assert!(e.is_request(), "unexpected failure: {e}"),
    }
    // A chunked body has no Content-Length; it is counted as it streams.
    // The server may answer 413 before the client has sent everything, and
    // then the client sees the connection close: either way it is refused.
    let over = format!(
        "{{\"channel\": {}, \"subject\": \"{}\"}}",
        org.support,
        "x".repeat(1024 * 1024 + 1024)
    );
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = over
        .into_bytes()
        .chunks(16 * 1024)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let request = org
        .amy
        .http
        .post(format!("{}/api/v1/cases", org.amy.base))
        .bearer_auth(org.amy.token.as_ref().unwrap())
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )));
    match request.send().await {
        Ok(response) => {
            assert_eq!(response.status(), 413);
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json"
            );
        }
        Err(e) => assert!(e.is_request(), "unexpected failure: {e}"),
    }
    assert!(
        org.amy.get("/api/v1/cases?view=all").await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // A long but acceptable note still works.
    let number = org.amy.create_case(org.support, "x").await;
    let note = org
        .amy
        .post(
            &format!("/api/v1/cases/{number}/notes"),
            json!({"body": "y".repeat(50_000)}),
        )
        .await;
    assert_eq!(note.status, 201);
}

#[tokio::test]
async fn user_and_channel_bodies_are_validated() {
    let org = Org::new().await;
    let admin = &org.admin;
    for (body, status) in [
        (
            json!({"username": "Bad Name", "password": "long-enough"}),
            422,
        ),
        (json!({"username": "shorty", "password": "short"}), 422),
        (json!({"username": "me", "password": "long-enough"}), 422),
        (
            json!({"username": "ok", "password": "long-enough", "role": "god"}),
            400,
        ),
        (
            json!({"username": "ok", "password": "long-enough", "email": "nope"}),
            422,
        ),
        (json!({"username": "amy", "password": "long-enough"}), 409),
        (
            json!({"username": "ok", "password": "long-enough", "is_admin": true}),
            400,
        ),
    ] {
        admin
            .post("/api/v1/users", body.clone())
            .await
            .problem(status);
    }
    for (body, status) in [
        (json!({"name": ""}), 422),
        (json!({"name": "support"}), 409),
        (json!({"name": "X", "email_address": "x"}), 422),
        (
            json!({"name": "X", "settings": {"slack_webhook_url": "http://insecure.example"}}),
            422,
        ),
        (
            json!({"name": "X", "settings": {"reply_window_hours": 0}}),
            422,
        ),
        (json!({"name": "X", "settings": {"colour": 1}}), 400),
    ] {
        admin
            .post("/api/v1/channels", body.clone())
            .await
            .problem(status);
    }
    admin
        .put(
            &format!("/api/v1/channels/{}/members/ghost", org.support),
            json!({"role": "agent"}),
        )
        .await
        .problem(404);
    admin
        .put(
            &format!("/api/v1/channels/{}/members/amy", org.support),
            json!({"role": "boss"}),
        )
        .await
        .problem(400);
    admin
        .delete(&format!("/api/v1/channels/{}/members/bob", org.support))
        .await
        .problem(404);
    admin.get("/api/v1/channels/999").await.problem(404);
    let login = Client::anonymous(&org.server)
        .post("/api/v1/auth/login", json!({"username": "amy"}))
        .await;
    login.problem(400);
}

#[tokio::test]
async fn automation_bodies_are_validated() {
    let org = Org::new().await;
    for (method, path, body) in [
        (Method::POST, "/api/v1/categories", "{\"name\": 5}"),
        (
            Method::POST,
            "/api/v1/categories",
            "{\"name\": \"x\", \"colour\": 1}",
        ),
        (Method::POST, "/api/v1/categories", "{\"name\":"),
        (
            Method::PATCH,
            "/api/v1/categories/spam",
            "{\"auto_resolve\": \"yes\"}",
        ),
        (Method::PATCH, "/api/v1/cases/1", "{\"profile\": [1, 2]}"),
    ] {
        let answer = org
            .admin
            .raw(method.clone(), path, "application/json", body)
            .await;
        assert!(
            (400..500).contains(&answer.status),
            "{method} {path} {body}: {}",
            answer.text
        );
        assert_eq!(
            answer.header("content-type"),
            Some("application/problem+json")
        );
    }
    let case = org.amy.create_case(org.support, "Plain").await;
    // A case type without a profile takes no profile values.
    let answer = org
        .amy
        .patch(
            &format!("/api/v1/cases/{case}"),
            json!({"profile": {"anything": 1}}),
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.text);
    assert_eq!(answer.body["errors"][0]["field"], "profile.anything");
    let missing = org.amy.get("/api/v1/cases/999/milestones").await;
    assert_eq!(missing.status, 404);
    let long = "x".repeat(101);
    let answer = org
        .admin
        .post("/api/v1/categories", json!({"name": long}))
        .await;
    assert_eq!(answer.status, 422);
}
