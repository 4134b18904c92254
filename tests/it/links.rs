//! Links between cases and closing as a duplicate.

use serde_json::json;

use crate::harness::Org;

#[tokio::test]
async fn links_show_on_both_cases_and_refuse_cycles() {
    let org = Org::new().await;
    let amy = &org.amy;
    let mut n = Vec::new();
    for subject in ["One", "Two", "Three", "Four"] {
        n.push(amy.create_case(org.support, subject).await);
    }
    let link = |from: u64, kind: &str, target: u64| {
        let amy = amy.clone();
        let kind = kind.to_owned();
        async move {
            amy.post(
                &format!("/api/v1/cases/{from}/links"),
                json!({"kind": kind, "target": target}),
            )
            .await
        }
    };
    let related = link(n[0], "related", n[1]).await;
    assert_eq!(related.status, 200, "{}", related.text);
    let of = |number: u64| {
        let amy = amy.clone();
        async move { amy.get(&format!("/api/v1/cases/{number}/links")).await.body }
    };
    assert_eq!(of(n[0]).await[0]["kind"], "related");
    assert_eq!(of(n[0]).await[0]["target"], n[1]);
    assert_eq!(of(n[0]).await[0]["subject"], "Two");
    assert_eq!(of(n[1]).await[0]["target"], n[0]);
    assert_eq!(link(n[1], "related", n[0]).await.status, 409);

    // Three is Two's parent, Four is Three's parent.
    assert_eq!(link(n[1], "parent", n[2]).await.status, 200);
    assert_eq!(of(n[2]).await[0]["kind"], "child");
    assert_eq!(link(n[2], "parent", n[3]).await.status, 200);
    // Two as Four's parent would close a loop.
    let cycle = link(n[3], "parent", n[1]).await;
    assert_eq!(cycle.status, 409, "{}", cycle.text);
    assert!(cycle.body["detail"].as_str().unwrap().contains("cycle"));
    let cycle = link(n[1], "child", n[3]).await;
    assert_eq!(cycle.status, 409);
    // One parent each.
    assert_eq!(link(n[1], "parent", n[0]).await.status, 409);

    for (body, field) in [
        (json!({"kind": "cousin", "target": n[0]}), "kind"),
        (json!({"kind": "related", "target": n[0]}), "target"),
        (json!({"kind": "related", "target": 99999}), "target"),
    ] {
        let answer = amy
            .post(&format!("/api/v1/cases/{}/links", n[0]), body.clone())
            .await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.text);
        assert_eq!(answer.body["errors"][0]["field"], field);
    }
    // A case in a channel Amy cannot see looks like a missing one.
    let sales = org.bob.create_case(org.sales, "Sales only").await;
    let hidden = link(n[0], "related", sales).await;
    assert_eq!(hidden.status, 422);
    assert_eq!(
        hidden.body["detail"],
        format!("target: case #{sales} not found")
    );
    // Partners cannot link; outsiders cannot see.
    let pats = org.pat.create_case(org.support, "Partner's").await;
    assert_eq!(
        org.pat
            .post(
                &format!("/api/v1/cases/{pats}/links"),
                json!({"kind": "related", "target": n[0]})
            )
            .await
            .status,
        403
    );
    assert_eq!(
        org.bob
            .get(&format!("/api/v1/cases/{}/links", n[0]))
            .await
            .status,
        404
    );

    let removed = amy
        .delete(&format!("/api/v1/cases/{}/links/{}", n[0], n[1]))
        .await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(of(n[0]).await, json!([]));
    assert_eq!(of(n[1]).await[0]["kind"], "parent");
    assert_eq!(
        amy.delete(&format!("/api/v1/cases/{}/links/{}", n[0], n[1]))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn close_as_duplicate_links_and_records_on_both() {
    let org = Org::new().await;
    let amy = &org.amy;
    let original = amy.create_case(org.support, "Printer broken").await;
    let copy = amy.create_case(org.support, "Printer broken again").await;
    let closed = amy
        .post(
            &format!("/api/v1/cases/{copy}/close"),
            json!({"duplicate_of": original}),
        )
        .await;
    assert_eq!(closed.status, 200, "{}", closed.text);
    assert_eq!(closed.body["status"], "resolved");
    let links = amy.get(&format!("/api/v1/cases/{copy}/links")).await.body;
    assert_eq!(
        links,
        json!([{"kind": "duplicate_of", "target": original, "subject": "Printer broken", "status": "open"}])
    );
    let back = amy
        .get(&format!("/api/v1/cases/{original}/links"))
        .await
        .body;
    assert_eq!(back[0]["kind"], "duplicate");
    let summaries = |number: u64| {
        let amy = amy.clone();
        async move {
            amy.get(&format!("/api/v1/cases/{number}/activity?filter=system"))
                .await
                .body
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["summary"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert!(
        summaries(copy)
            .await
            .iter()
            .any(|s| s == &format!("closed the case as a duplicate of #{original}"))
    );
    assert!(
        summaries(original)
            .await
            .iter()
            .any(|s| s.contains(&format!("#{copy} as a duplicate")))
    );

    // Already resolved; itself; unknown.
    let again = amy
        .post(
            &format!("/api/v1/cases/{copy}/close"),
            json!({"duplicate_of": original}),
        )
        .await;
    assert_eq!(again.status, 409);
    let third = amy.create_case(org.support, "Third").await;
    let itself = amy
        .post(
            &format!("/api/v1/cases/{third}/close"),
            json!({"duplicate_of": third}),
        )
        .await;
    assert_eq!(itself.status, 422);
    assert_eq!(itself.body["errors"][0]["field"], "duplicate_of");
    let unknown = amy
        .post(
            &format!("/api/v1/cases/{third}/close"),
            json!({"duplicate_of": 424242}),
        )
        .await;
    assert_eq!(unknown.status, 422);
    let bad = amy
        .post(
            &format!("/api/v1/cases/{third}/close"),
            json!({"duplicate": 1}),
        )
        .await;
    assert_eq!(bad.status, 400);
    // A plain close still takes no body, or an empty object.
    assert_eq!(
        amy.post_empty(&format!("/api/v1/cases/{third}/close"))
            .await
            .status,
        200
    );
    let fourth = amy.create_case(org.support, "Fourth").await;
    assert_eq!(
        amy.post(&format!("/api/v1/cases/{fourth}/close"), json!({}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_related_case_can_then_be_closed_as_its_duplicate() {
    let org = Org::new().await;
    let amy = &org.amy;
    let original = amy.create_case(org.support, "Printer broken").await;
    let copy = amy.create_case(org.support, "Printer still broken").await;
    let linked = amy
        .post(
            &format!("/api/v1/cases/{copy}/links"),
            json!({"kind": "related", "target": original}),
        )
        .await;
    assert_eq!(linked.status, 200, "{}", linked.text);
    let closed = amy
        .post(
            &format!("/api/v1/cases/{copy}/close"),
            json!({"duplicate_of": original}),
        )
        .await;
    assert_eq!(closed.status, 200, "{}", closed.text);
    assert_eq!(closed.body["status"], "resolved");
    let links = amy.get(&format!("/api/v1/cases/{copy}/links")).await.body;
    assert_eq!(links.as_array().unwrap().len(), 1, "{links}");
    assert_eq!(links[0]["kind"], "duplicate_of");
    let back = amy
        .get(&format!("/api/v1/cases/{original}/links"))
        .await
        .body;
    assert_eq!(back.as_array().unwrap().len(), 1, "{back}");
    assert_eq!(back[0]["kind"], "duplicate");

    // A parent is not a duplicate: that link has to go first.
    let child = amy
        .create_case(org.support, "Part of the printer fleet")
        .await;
    amy.post(
        &format!("/api/v1/cases/{child}/links"),
        json!({"kind": "parent", "target": original}),
    )
    .await;
    let refused = amy
        .post(
            &format!("/api/v1/cases/{child}/close"),
            json!({"duplicate_of": original}),
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(
        amy.get(&format!("/api/v1/cases/{child}")).await.body["status"],
        "open"
    );
}
