//! Merging cases, undoing a merge, splitting a message out.

use serde_json::json;

use crate::harness::{Client, Org};

async fn kinds_and_bodies(client: &Client, number: u64) -> Vec<(String, String)> {
    client
        .get(&format!("/api/v1/cases/{number}/activity"))
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["body"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn merge_moves_the_conversation_and_unmerge_puts_it_back() {
    let org = Org::new().await;
    org.admin
        .patch(
            &format!("/api/v1/channels/{}", org.support),
            json!({"settings": {"time_tracking": true}}),
        )
        .await;
    let amy = &org.amy;
    let target = amy.create_case(org.support, "Printer broken").await;
    let source = amy.create_case(org.support, "Printer still broken").await;
    amy.post(
        &format!("/api/v1/cases/{source}/messages"),
        json!({"body": "It jams", "direction": "inbound", "from": "Jane"}),
    )
    .await;
    amy.post(
        &format!("/api/v1/cases/{source}/notes"),
        json!({"body": "Same as the other one"}),
    )
    .await;
    amy.post(
        &format!("/api/v1/cases/{source}/time"),
        json!({"duration": "30m"}),
    )
    .await;
    let before = kinds_and_bodies(amy, target).await;

    let merged = amy
        .post(
            &format!("/api/v1/cases/{target}/merge"),
            json!({"sources": [source]}),
        )
        .await;
    assert_eq!(merged.status, 200, "{}", merged.text);
    let after = kinds_and_bodies(amy, target).await;
    assert!(
        after.contains(&("message".into(), "It jams".into())),
        "{after:?}"
    );
    assert!(after.contains(&("note".into(), "Same as the other one".into())));
    assert_eq!(after.last().unwrap().0, "merged");
    let time = amy.get(&format!("/api/v1/cases/{target}/time")).await;
    assert_eq!(time.body["total_minutes"], 30);
    let source_case = amy.get(&format!("/api/v1/cases/{source}")).await.body;
    assert_eq!(source_case["status"], "resolved");
    let links = amy.get(&format!("/api/v1/cases/{source}/links")).await.body;
    assert_eq!(links[0]["kind"], "merged_into");
    assert_eq!(links[0]["target"], target);
    // The message is findable on the target.
    let found = amy.get("/api/v1/cases?view=all&q=jams").await;
    let numbers: Vec<u64> = found.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_u64().unwrap())
        .collect();
    assert!(numbers.contains(&target), "{numbers:?}");

    // Twice, into itself, unknown: refused.
    assert_eq!(
        amy.post(
            &format!("/api/v1/cases/{target}/merge"),
            json!({"sources": [source]})
        )
        .await
        .status,
        409
    );
    assert_eq!(
        amy.post(
            &format!("/api/v1/cases/{target}/merge"),
            json!({"sources": [target]})
        )
        .await
        .status,
        422
    );
    assert_eq!(
        amy.post(
            &format!("/api/v1/cases/{target}/merge"),
            json!({"sources": [98765]})
        )
        .await
        .status,
        422
    );
    assert_eq!(
        amy.post(
            &format!("/api/v1/cases/{target}/merge"),
            json!({"sources": []})
        )
        .await
        .status,
        422
    );

    let undone = amy
        .post(
            &format!("/api/v1/cases/{target}/unmerge"),
            json!({"source": source}),
        )
        .await;
    assert_eq!(undone.status, 200, "{}", undone.text);
    let restored = kinds_and_bodies(amy, target).await;
    let without_events: Vec<_> = restored
        .iter()
        .filter(|(k, _)| k != "merged" && k != "unmerged")
        .cloned()
        .collect();
    assert_eq!(without_events, before);
    assert_eq!(
        amy.get(&format!("/api/v1/cases/{source}")).await.body["status"],
        "open"
    );
    assert_eq!(
        amy.get(&format!("/api/v1/cases/{source}/time")).await.body["total_minutes"],
        30
    );
    assert_eq!(
        amy.get(&format!("/api/v1/cases/{target}/time")).await.body["total_minutes"],
        0
    );
    assert_eq!(
        amy.get(&format!("/api/v1/cases/{source}/links")).await.body,
        json!([])
    );
    assert_eq!(
        amy.post(
            &format!("/api/v1/cases/{target}/unmerge"),
            json!({"source": source})
        )
        .await
        .status,
        409
    );
    // No chains: a case with merges into it is not merged on, nor deleted.
    let third = amy.create_case(org.support, "Third").await;
    amy.post(
        &format!("/api/v1/cases/{target}/merge"),
        json!({"sources": [source]}),
    )
    .await;
    let chain = amy
        .post(
            &format!("/api/v1/cases/{third}/merge"),
            json!({"sources": [target]}),
        )
        .await;
    assert_eq!(chain.status, 409, "{}", chain.text);
    assert_eq!(
        org.max
            .delete(&format!("/api/v1/cases/{target}"))
            .await
            .status,
        409
    );
    // Another customer's conversation never lands in a partner's case.
    let partners = org.pat.create_case(org.support, "Partner's own").await;
    let into_partner = amy
        .post(
            &format!("/api/v1/cases/{partners}/merge"),
            json!({"sources": [third]}),
        )
        .await;
    assert_eq!(into_partner.status, 403, "{}", into_partner.text);
    // Partners may not merge.
    let pats = org.pat.create_case(org.support, "Partner").await;
    assert_eq!(
        org.pat
            .post(
                &format!("/api/v1/cases/{pats}/merge"),
                json!({"sources": [source]})
            )
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn bulk_merge_and_split() {
    let org = Org::new().await;
    let amy = &org.amy;
    let target = amy.create_case(org.support, "Main").await;
    let a = amy.create_case(org.support, "Also").await;
    let b = amy.create_case(org.support, "And this").await;
    let answer = amy
        .post(
            "/api/v1/cases/bulk",
            json!({"numbers": [target, a, b], "action": "merge", "target": target}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["failed"], json!([]));
    assert_eq!(
        amy.get(&format!("/api/v1/cases/{a}")).await.body["status"],
        "resolved"
    );

    amy.post(
        &format!("/api/v1/cases/{target}/messages"),
        json!({"body": "A different problem", "direction": "inbound"}),
    )
    .await;
    let activity = amy
        .get(&format!("/api/v1/cases/{target}/activity?filter=messages"))
        .await;
    let seq = activity.body[0]["seq"].as_u64().unwrap();
    let split = amy
        .post(
            &format!("/api/v1/cases/{target}/split"),
            json!({"event": seq}),
        )
        .await;
    assert_eq!(split.status, 201, "{}", split.text);
    let new_case = split.body["number"].as_u64().unwrap();
    assert!(
        split.body["subject"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Split from #{target}"))
    );
    let moved = kinds_and_bodies(amy, new_case).await;
    assert!(
        moved.contains(&("message".into(), "A different problem".into())),
        "{moved:?}"
    );
    let left = amy
        .get(&format!("/api/v1/cases/{target}/activity?filter=messages"))
        .await;
    assert_eq!(left.body, json!([]));
    let links = amy
        .get(&format!("/api/v1/cases/{new_case}/links"))
        .await
        .body;
    assert_eq!(links[0]["target"], target);
    let not_a_message = amy
        .post(
            &format!("/api/v1/cases/{target}/split"),
            json!({"event": 1}),
        )
        .await;
    assert_eq!(not_a_message.status, 422);
}

#[tokio::test]
async fn previews_say_what_merge_split_and_duplicate_would_do_and_change_nothing() {
    let org = Org::new().await;
    org.admin
        .patch(
            &format!("/api/v1/channels/{}", org.support),
            json!({"settings": {"time_tracking": true}}),
        )
        .await;
    let amy = &org.amy;
    let target = amy.create_case(org.support, "Printer broken").await;
    let source = amy.create_case(org.support, "Printer still broken").await;
    amy.patch(
        &format!("/api/v1/cases/{source}"),
        json!({"customer": {"name": "Jane Doe", "email": "jane@example.com"}}),
    )
    .await;
    let message = amy
        .post(
            &format!("/api/v1/cases/{source}/messages"),
            json!({"body": "It jams\n\non every   second page", "direction": "inbound", "from": "jane@example.com"}),
        )
        .await;
    assert_eq!(message.status, 201, "{}", message.text);
    amy.post(
        &format!("/api/v1/cases/{source}/notes"),
        json!({"body": "Same as the other one"}),
    )
    .await;
    amy.post(
        &format!("/api/v1/cases/{source}/time"),
        json!({"duration": "30m"}),
    )
    .await;
    let activity_before = kinds_and_bodies(amy, source).await;

    let merge = amy
        .post(
            &format!("/api/v1/cases/{target}/merge/preview"),
            json!({"sources": [source]}),
        )
        .await;
    assert_eq!(merge.status, 200, "{}", merge.text);
    assert_eq!(merge.body["target"]["number"], target);
    assert_eq!(merge.body["target"]["messages"], 0);
    let shown = &merge.body["sources"][0];
    assert_eq!(shown["number"], source);
    assert_eq!(shown["subject"], "Printer still broken");
    assert_eq!(shown["status"], "open");
    assert_eq!(shown["customer"], "Jane Doe");
    assert_eq!(shown["channel"], "Support");
    assert_eq!(
        (&shown["messages"], &shown["notes"], &shown["time_minutes"]),
        (&json!(1), &json!(1), &json!(30))
    );
    // Nothing happened.
    assert_eq!(kinds_and_bodies(amy, source).await, activity_before);
    assert_eq!(
        amy.get(&format!("/api/v1/cases/{source}")).await.body["status"],
        "open"
    );

    // A preview refuses what the action would refuse, the same way, and
    // the refused action changed nothing.
    for (body, status, field) in [
        (json!({"sources": [target]}), 422, "sources"),
        (json!({"sources": []}), 422, "sources"),
        (json!({"sources": [99999]}), 422, "sources"),
        (json!({"sources": [source, source]}), 422, "sources"),
    ] {
        let previewed = amy
            .post(
                &format!("/api/v1/cases/{target}/merge/preview"),
                body.clone(),
            )
            .await;
        assert_eq!(previewed.status, status, "{}", previewed.text);
        assert!(previewed.text.contains(field), "{}", previewed.text);
        let done = amy
            .post(&format!("/api/v1/cases/{target}/merge"), body)
            .await;
        assert_eq!(done.status, previewed.status, "{}", done.text);
        assert_eq!(done.body["detail"], previewed.body["detail"]);
    }
    assert_eq!(
        amy.get(&format!("/api/v1/cases/{source}")).await.body["status"],
        "open"
    );
    let unknown_field = amy
        .post(
            &format!("/api/v1/cases/{target}/merge/preview"),
            json!({"sources": [source], "dry": true}),
        )
        .await;
    assert_eq!(unknown_field.status, 400, "{}", unknown_field.text);

    let seq = amy
        .get(&format!("/api/v1/cases/{source}/activity?filter=messages"))
        .await
        .body[0]["seq"]
        .as_u64()
        .unwrap();
    let split = amy
        .post(
            &format!("/api/v1/cases/{source}/split/preview"),
            json!({"event": seq}),
        )
        .await;
    assert_eq!(split.status, 200, "{}", split.text);
    assert_eq!(
        split.body["message"]["excerpt"],
        "It jams on every second page"
    );
    assert_eq!(split.body["message"]["from"], "jane@example.com");
    assert_eq!(
        split.body["new_subject"],
        format!("Split from #{source}: Printer still broken")
    );
    assert!(split.body.get("to").is_none_or(|v| v.is_null()));
    let moved = amy
        .post(
            &format!("/api/v1/cases/{source}/split/preview"),
            json!({"event": seq, "to": target}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.body["to"]["number"], target);
    assert!(moved.body.get("new_subject").is_none_or(|v| v.is_null()));
    let not_a_message = amy
        .post(
            &format!("/api/v1/cases/{source}/split/preview"),
            json!({"event": 1}),
        )
        .await;
    assert_eq!(not_a_message.status, 422, "{}", not_a_message.text);
    assert_eq!(kinds_and_bodies(amy, source).await, activity_before);

    let duplicate = amy
        .post(
            &format!("/api/v1/cases/{source}/duplicate/preview"),
            json!({"duplicate_of": target}),
        )
        .await;
    assert_eq!(duplicate.status, 200, "{}", duplicate.text);
    assert_eq!(duplicate.body["case"]["number"], source);
    assert_eq!(duplicate.body["original"]["number"], target);
    assert_eq!(duplicate.body["replaces_related_link"], false);
    amy.post(
        &format!("/api/v1/cases/{source}/links"),
        json!({"kind": "related", "target": target}),
    )
    .await;
    let related = amy
        .post(
            &format!("/api/v1/cases/{source}/duplicate/preview"),
            json!({"duplicate_of": target}),
        )
        .await;
    assert_eq!(
        related.body["replaces_related_link"], true,
        "{}",
        related.text
    );
    amy.post(&format!("/api/v1/cases/{target}/close"), json!({}))
        .await;
    let already = amy
        .post(
            &format!("/api/v1/cases/{target}/duplicate/preview"),
            json!({"duplicate_of": source}),
        )
        .await;
    assert_eq!(already.status, 409, "{}", already.text);
}

#[tokio::test]
async fn previews_tell_outsiders_no_more_than_the_actions_do() {
    let org = Org::new().await;
    let support_case = org.amy.create_case(org.support, "Support only").await;
    let sales_case = org.bob.create_case(org.sales, "Sales only").await;
    // Bob is not in Support: the case does not exist for him.
    let hidden = org
        .bob
        .post(
            &format!("/api/v1/cases/{support_case}/merge/preview"),
            json!({"sources": [sales_case]}),
        )
        .await;
    assert_eq!(hidden.status, 404, "{}", hidden.text);
    // A case he cannot see, named as a source, is "not found" too, and
    // its subject is not in the answer.
    let source_hidden = org
        .bob
        .post(
            &format!("/api/v1/cases/{sales_case}/merge/preview"),
            json!({"sources": [support_case]}),
        )
        .await;
    assert_eq!(source_hidden.status, 422, "{}", source_hidden.text);
    assert!(!source_hidden.text.contains("Support only"));
    let original_hidden = org
        .bob
        .post(
            &format!("/api/v1/cases/{sales_case}/duplicate/preview"),
            json!({"duplicate_of": support_case}),
        )
        .await;
    assert_eq!(original_hidden.status, 422, "{}", original_hidden.text);
    assert!(!original_hidden.text.contains("Support only"));
    // A partner reads cases but changes none.
    let pat_case = org.pat.create_case(org.support, "From a partner").await;
    let partner = org
        .pat
        .post(
            &format!("/api/v1/cases/{pat_case}/merge/preview"),
            json!({"sources": [support_case]}),
        )
        .await;
    assert_eq!(partner.status, 403, "{}", partner.text);
    let anonymous = crate::harness::Client::anonymous(&org.server)
        .post(
            &format!("/api/v1/cases/{support_case}/merge/preview"),
            json!({"sources": [sales_case]}),
        )
        .await;
    assert_eq!(anonymous.status, 401);
}
