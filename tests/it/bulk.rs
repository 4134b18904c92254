//! Bulk actions and the trash.

use serde_json::json;

use crate::harness::Org;

#[tokio::test]
async fn bulk_actions_report_each_case() {
    let org = Org::new().await;
    let mut numbers = Vec::new();
    for i in 0..5 {
        numbers.push(
            org.amy
                .create_case(org.support, &format!("Printer {i}"))
                .await,
        );
    }
    let sales = org.bob.create_case(org.sales, "Sales case").await;
    let mut targets = numbers.clone();
    targets.push(sales);
    let answer = org
        .amy
        .post(
            "/api/v1/cases/bulk",
            json!({"numbers": targets, "action": "assign", "assignee": "max"}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["succeeded"], json!(numbers));
    // Amy cannot see the sales case: it fails alone, as a 404.
    assert_eq!(answer.body["failed"][0]["number"], sales);
    assert_eq!(answer.body["failed"][0]["status"], 404);
    for n in &numbers {
        assert_eq!(
            org.amy.get(&format!("/api/v1/cases/{n}")).await.body["assignee"],
            "max"
        );
    }

    // By query: every open support case with "printer" gets high priority.
    let answer = org
        .amy
        .post(
            "/api/v1/cases/bulk",
            json!({"query": {"q": "printer", "channel": [org.support]}, "action": "set_priority", "priority": "high"}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["succeeded"].as_array().unwrap().len(), 5);
    let answer = org
        .amy
        .post(
            "/api/v1/cases/bulk",
            json!({"numbers": [numbers[0], numbers[1]], "action": "set_category", "category": "hardware"}),
        )
        .await;
    assert_eq!(answer.body["succeeded"].as_array().unwrap().len(), 2);
    let answer = org
        .amy
        .post(
            "/api/v1/cases/bulk",
            json!({"numbers": [numbers[0]], "action": "set_important", "important": true}),
        )
        .await;
    assert_eq!(answer.body["succeeded"], json!([numbers[0]]));
    let case = org
        .amy
        .get(&format!("/api/v1/cases/{}", numbers[0]))
        .await
        .body;
    assert_eq!(
        (
            case["priority"].as_str(),
            case["category"].as_str(),
            case["important"].as_bool()
        ),
        (Some("high"), Some("hardware"), Some(true))
    );

    // Close: a second close fails per case with 409.
    let close = json!({"numbers": [numbers[0], numbers[1]], "action": "close"});
    assert_eq!(
        org.amy.post("/api/v1/cases/bulk", close.clone()).await.body["succeeded"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let again = org.amy.post("/api/v1/cases/bulk", close).await;
    assert_eq!(again.body["failed"][1]["status"], 409);

    // Agents may not delete or move.
    let denied = org
        .amy
        .post(
            "/api/v1/cases/bulk",
            json!({"numbers": [numbers[2]], "action": "delete"}),
        )
        .await;
    assert_eq!(denied.body["failed"][0]["status"], 403);
    let denied = org
        .amy
        .post(
            "/api/v1/cases/bulk",
            json!({"numbers": [numbers[2]], "action": "move", "channel": org.support}),
        )
        .await;
    assert_eq!(denied.body["failed"][0]["status"], 403);
    // A channel she cannot see does not exist for her.
    let hidden = org
        .amy
        .post(
            "/api/v1/cases/bulk",
            json!({"numbers": [numbers[2]], "action": "move", "channel": org.sales}),
        )
        .await;
    assert_eq!(hidden.body["failed"][0]["status"], 422);

    for (body, field) in [
        (json!({"numbers": [1], "action": "explode"}), "action"),
        (json!({"numbers": [1], "action": "move"}), "channel"),
        (json!({"numbers": [1], "action": "assign"}), "assignee"),
        (json!({"action": "close"}), "numbers"),
        (
            json!({"numbers": [1], "query": {}, "action": "close"}),
            "numbers",
        ),
        (
            json!({"query": {"view": "sideways"}, "action": "close"}),
            "view",
        ),
    ] {
        let answer = org.amy.post("/api/v1/cases/bulk", body.clone()).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.text);
        assert_eq!(answer.body["errors"][0]["field"], field, "{body}");
    }
}

#[tokio::test]
async fn the_trash_hides_restores_and_purges() {
    let org = Org::new().await;
    let doomed = org.amy.create_case(org.support, "Doomed").await;
    let kept = org.amy.create_case(org.support, "Kept").await;
    org.amy
        .post(
            &format!("/api/v1/cases/{kept}/links"),
            json!({"kind": "related", "target": doomed}),
        )
        .await;
    // Max manages Support.
    let deleted = org.max.delete(&format!("/api/v1/cases/{doomed}")).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(
        org.amy.get(&format!("/api/v1/cases/{doomed}")).await.status,
        404
    );
    let listed = org.amy.get("/api/v1/cases?view=all").await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    let trash = org.max.get("/api/v1/cases?view=deleted").await;
    assert_eq!(trash.status, 200, "{}", trash.text);
    assert_eq!(trash.body["items"][0]["number"], doomed);
    // Agents see an empty trash; partners none at all.
    assert_eq!(
        org.amy.get("/api/v1/cases?view=deleted").await.body["items"],
        json!([])
    );
    assert_eq!(org.pat.get("/api/v1/cases?view=deleted").await.status, 403);
    assert_eq!(
        org.amy
            .post_empty(&format!("/api/v1/cases/{doomed}/restore"))
            .await
            .status,
        404
    );

    assert_eq!(
        org.max
            .post_empty(&format!("/api/v1/cases/{doomed}/restore"))
            .await
            .status,
        204
    );
    assert_eq!(
        org.amy.get(&format!("/api/v1/cases/{doomed}")).await.status,
        200
    );

    org.max.delete(&format!("/api/v1/cases/{doomed}")).await;
    // Purging is for administrators.
    assert_eq!(
        org.max
            .post_empty(&format!("/api/v1/cases/{doomed}/purge"))
            .await
            .status,
        403
    );
    assert_eq!(
        org.admin
            .post_empty(&format!("/api/v1/cases/{doomed}/purge"))
            .await
            .status,
        204
    );
    assert_eq!(
        org.admin
            .post_empty(&format!("/api/v1/cases/{doomed}/restore"))
            .await
            .status,
        404
    );
    assert_eq!(
        org.admin
            .get(&format!("/api/v1/cases/{doomed}/activity"))
            .await
            .status,
        404
    );
    // The link on the kept case went with it.
    assert_eq!(
        org.amy
            .get(&format!("/api/v1/cases/{kept}/links"))
            .await
            .body,
        json!([])
    );
    let trash = org.admin.get("/api/v1/cases?view=deleted").await;
    assert_eq!(trash.body["items"], json!([]));
}

#[tokio::test]
async fn managers_move_cases_between_their_channels() {
    let org = Org::new().await;
    // Max manages Support; make him manager of Sales too.
    org.admin.add_member(org.sales, "max", "manager").await;
    let number = org.amy.create_case(org.support, "Wrong channel").await;
    org.amy
        .patch(
            &format!("/api/v1/cases/{number}"),
            json!({"assignee": "amy"}),
        )
        .await;
    let moved = org
        .max
        .post(
            "/api/v1/cases/bulk",
            json!({"numbers": [number], "action": "move", "channel": org.sales}),
        )
        .await;
    assert_eq!(moved.body["succeeded"], json!([number]), "{}", moved.text);
    let case = org.bob.get(&format!("/api/v1/cases/{number}")).await;
    assert_eq!(case.status, 200);
    assert_eq!(case.body["channel"], org.sales);
    // Amy does not work in Sales: unassigned on the way.
    assert!(case.body["assignee"].is_null());
    assert_eq!(
        org.amy.get(&format!("/api/v1/cases/{number}")).await.status,
        404
    );
}
