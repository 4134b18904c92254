//! Who may see and do what.

use serde_json::json;

use crate::harness::{Client, Org, PASSWORD};

#[tokio::test]
async fn another_channels_case_is_indistinguishable_from_a_missing_one() {
    let org = Org::new().await;
    let number = org.amy.create_case(org.support, "Support only").await;
    let hidden = org.bob.get(&format!("/api/v1/cases/{number}")).await;
    let missing = org.bob.get("/api/v1/cases/999999").await;
    assert_eq!(hidden.status, 404);
    assert_eq!(missing.status, 404);
    assert_eq!(
        hidden.body["detail"],
        json!(format!("case #{number} not found"))
    );
    for (method, path, body) in [
        (
            reqwest::Method::PATCH,
            format!("/api/v1/cases/{number}"),
            Some(json!({"subject": "hijack"})),
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/cases/{number}/close"),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/cases/{number}/reopen"),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/cases/{number}/notes"),
            Some(json!({"body": "hi"})),
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/cases/{number}/messages"),
            Some(json!({"body": "hi"})),
        ),
        (
            reqwest::Method::GET,
            format!("/api/v1/cases/{number}/activity"),
            None,
        ),
    ] {
        let answer = org.bob.send(method.clone(), &path, body).await;
        assert_eq!(answer.status, 404, "{method} {path}: {}", answer.text);
    }
    let listed = org.bob.get("/api/v1/cases?view=all").await;
    assert!(listed.body["items"].as_array().unwrap().is_empty());
    // Bob cannot open a case in a channel he does not belong to.
    let create = org
        .bob
        .post(
            "/api/v1/cases",
            json!({"channel": org.support, "subject": "x"}),
        )
        .await;
    create.problem(422);
    assert_eq!(
        org.amy.get(&format!("/api/v1/cases/{number}")).await.body["subject"],
        "Support only"
    );
}

#[tokio::test]
async fn partners_see_only_the_cases_they_opened_and_change_nothing() {
    let org = Org::new().await;
    let theirs = org
        .pat
        .post(
            "/api/v1/cases",
            json!({"channel": org.support, "subject": "Partner request"}),
        )
        .await;
    assert_eq!(theirs.status, 201, "{}", theirs.text);
    assert_eq!(theirs.body["source"], "partner");
    let theirs = theirs.body["number"].as_u64().unwrap();
    let agents = org.amy.create_case(org.support, "Internal").await;

    assert_eq!(
        org.pat.get(&format!("/api/v1/cases/{theirs}")).await.status,
        200
    );
    assert_eq!(
        org.pat.get(&format!("/api/v1/cases/{agents}")).await.status,
        404
    );
    let listed: Vec<u64> = org.pat.get("/api/v1/cases?view=all").await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["number"].as_u64().unwrap())
        .collect();
    assert_eq!(listed, vec![theirs]);

    let edit = org
        .pat
        .patch(
            &format!("/api/v1/cases/{theirs}"),
            json!({"subject": "changed"}),
        )
        .await;
    edit.problem(403);
    org.pat
        .post_empty(&format!("/api/v1/cases/{theirs}/close"))
        .await
        .problem(403);
    org.pat
        .post(
            &format!("/api/v1/cases/{theirs}/notes"),
            json!({"body": "n"}),
        )
        .await
        .problem(403);
    // They reply to their own cases, always as the customer's side and
    // under their own name, and to nobody else's.
    let reply = org
        .pat
        .post(
            &format!("/api/v1/cases/{theirs}/messages"),
            json!({"body": "More details", "direction": "outbound", "from": "The Team"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.body["direction"], "inbound");
    assert_ne!(reply.body["from"], "The Team");
    org.pat
        .post(
            &format!("/api/v1/cases/{agents}/messages"),
            json!({"body": "sneaky"}),
        )
        .await
        .problem(404);
    // The agents see and work the partner's case.
    assert_eq!(
        org.amy.get(&format!("/api/v1/cases/{theirs}")).await.status,
        200
    );
    // Partners cannot be assigned or made managers.
    let assign = org
        .amy
        .patch(
            &format!("/api/v1/cases/{theirs}"),
            json!({"assignee": "pat"}),
        )
        .await;
    assert!(assign.problem(422).contains("not an agent"));
    let manager = org
        .admin
        .put(
            &format!("/api/v1/channels/{}/members/pat", org.support),
            json!({"role": "manager"}),
        )
        .await;
    manager.problem(422);
}

#[tokio::test]
async fn only_admins_manage_users_and_create_channels() {
    let org = Org::new().await;
    org.amy.get("/api/v1/users").await.problem(403);
    org.amy
        .post(
            "/api/v1/users",
            json!({"username": "eve", "password": PASSWORD, "role": "admin"}),
        )
        .await
        .problem(403);
    org.amy
        .post("/api/v1/channels", json!({"name": "Mine"}))
        .await
        .problem(403);
    org.pat.get("/api/v1/users").await.problem(403);
    assert_eq!(org.admin.get("/api/v1/users").await.array_len(), 5);
}

#[tokio::test]
async fn only_managers_and_admins_change_a_channel() {
    let org = Org::new().await;
    let path = format!("/api/v1/channels/{}", org.support);
    org.amy
        .patch(&path, json!({"name": "Amy's"}))
        .await
        .problem(403);
    org.amy
        .put(&format!("{path}/members/bob"), json!({"role": "agent"}))
        .await
        .problem(403);
    let renamed = org.max.patch(&path, json!({"name": "Customer Support", "settings": {"slack_webhook_url": "https://hooks.slack.com/services/T/B/X"}})).await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["name"], "Customer Support");
    // The webhook URL is a credential: write-only, even for managers.
    assert_eq!(renamed.body["settings"]["slack_webhook_set"], true);
    assert!(!renamed.text.contains("services/T/B/X"), "{}", renamed.text);
    let seen_by_manager = org.max.get(&path).await;
    assert!(!seen_by_manager.text.contains("services/T/B/X"));
    assert_eq!(seen_by_manager.body["settings"]["slack_webhook_set"], true);
    // Agents see the channel, but not even whether a webhook is set.
    let seen_by_agent = org.amy.get(&path).await;
    assert_eq!(seen_by_agent.status, 200);
    assert!(seen_by_agent.body["settings"]["slack_webhook_url"].is_null());
    assert!(seen_by_agent.body["settings"]["slack_webhook_set"].is_null());
    // Outsiders do not see it at all.
    org.bob.get(&path).await.problem(404);
    let bob_channels = org.bob.get("/api/v1/channels").await.body;
    assert_eq!(bob_channels.as_array().unwrap().len(), 1);
    assert_eq!(bob_channels[0]["name"], "Sales");
    // A manager adds and removes members.
    assert_eq!(
        org.max
            .put(&format!("{path}/members/bob"), json!({"role": "agent"}))
            .await
            .status,
        200
    );
    assert_eq!(org.bob.get(&path).await.status, 200);
    assert_eq!(
        org.max.delete(&format!("{path}/members/bob")).await.status,
        204
    );
    org.bob.get(&path).await.problem(404);
}

#[tokio::test]
async fn tokens_are_checked_and_logout_revokes() {
    let org = Org::new().await;
    Client::with_token(&org.server, "dkt_not-a-real-token")
        .get("/api/v1/me")
        .await
        .problem(401);
    Client::with_token(&org.server, "garbage")
        .get("/api/v1/me")
        .await
        .problem(401);
    Client::anonymous(&org.server)
        .get("/api/v1/cases")
        .await
        .problem(401);
    let me = org.amy.get("/api/v1/me").await;
    assert_eq!(me.body["username"], "amy");
    assert_eq!(me.body["channels"][0]["role"], "agent");
    assert!(me.body.get("password_hash").is_none());
    assert_eq!(org.amy.post_empty("/api/v1/auth/logout").await.status, 204);
    org.amy.get("/api/v1/me").await.problem(401);
}

#[tokio::test]
async fn failed_logins_are_rate_limited() {
    let org = Org::new().await;
    let anon = Client::anonymous(&org.server);
    for _ in 0..5 {
        let wrong = anon
            .post(
                "/api/v1/auth/login",
                json!({"username": "amy", "password": "wrong-password"}),
            )
            .await;
        assert!(wrong.problem(401).contains("wrong"));
    }
    let limited = anon
        .post(
            "/api/v1/auth/login",
            json!({"username": "amy", "password": PASSWORD}),
        )
        .await;
    limited.problem(429);
    let retry: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry));
    // Unknown users get the same answer as wrong passwords.
    let unknown = anon
        .post(
            "/api/v1/auth/login",
            json!({"username": "nobody", "password": "whatever1"}),
        )
        .await;
    assert_eq!(unknown.problem(401), "the username or password is wrong");
}

#[tokio::test]
async fn partners_never_see_internal_notes() {
    let org = Org::new().await;
    let number = org
        .pat
        .post(
            "/api/v1/cases",
            json!({"channel": org.support, "subject": "Partner asks"}),
        )
        .await
        .body["number"]
        .as_u64()
        .unwrap();
    let mut stream = reqwest::Client::new()
        .get(org.server.url("/api/v1/events"))
        .bearer_auth(org.pat.token.clone().unwrap())
        .send()
        .await
        .unwrap();
    org.amy
        .post(
            &format!("/api/v1/cases/{number}/notes"),
            json!({"body": "staff only: partner is difficult"}),
        )
        .await;
    org.amy
        .post(
            &format!("/api/v1/cases/{number}/messages"),
            json!({"body": "We are on it"}),
        )
        .await;
    let activity = org
        .pat
        .get(&format!("/api/v1/cases/{number}/activity"))
        .await;
    assert!(!activity.text.contains("staff only"), "{}", activity.text);
    assert!(activity.text.contains("We are on it"));
    assert!(
        org.amy
            .get(&format!("/api/v1/cases/{number}/activity"))
            .await
            .text
            .contains("staff only")
    );
    // The live feed tells the partner of the message but not of the note.
    let mut received = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !received.contains("\"event\":\"message\"") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("an event")
            .unwrap()
            .unwrap();
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!received.contains("\"event\":\"note\""), "{received}");
}

#[tokio::test]
async fn a_password_change_ends_every_other_session_and_token() {
    let org = Org::new().await;
    let other_device = Client::login(&org.server, "amy", PASSWORD).await;
    let changed = org
        .amy
        .post(
            "/api/v1/me/password",
            json!({"current_password": PASSWORD, "new_password": "fresh-password-1"}),
        )
        .await;
    assert_eq!(changed.status, 204);
    assert_eq!(
        org.amy.get("/api/v1/me").await.status,
        200,
        "the token making the change keeps working"
    );
    other_device.get("/api/v1/me").await.problem(401);

    // An admin reset ends all of them.
    org.admin
        .patch("/api/v1/users/amy", json!({"password": "reset-by-admin-1"}))
        .await;
    org.amy.get("/api/v1/me").await.problem(401);
}

#[tokio::test]
async fn revoking_a_token_ends_its_event_stream() {
    let org = Org::new().await;
    let watcher = Client::login(&org.server, "amy", PASSWORD).await;
    let mut stream = reqwest::Client::new()
        .get(org.server.url("/api/v1/events"))
        .bearer_auth(watcher.token.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(watcher.post_empty("/api/v1/auth/logout").await.status, 204);
    org.amy.create_case(org.support, "after logout").await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("the stream ends")
            .unwrap();
        match chunk {
            None => break,
            Some(bytes) => assert!(
                !String::from_utf8_lossy(&bytes).contains("\"number\""),
                "an event after logout"
            ),
        }
    }
}

#[tokio::test]
async fn parallel_password_guesses_are_limited_too() {
    let org = Org::new().await;
    let mut guesses = Vec::new();
    for i in 0..20 {
        let anon = Client::anonymous(&org.server);
        guesses.push(tokio::spawn(async move {
            anon.post(
                "/api/v1/auth/login",
                json!({"username": "amy", "password": format!("guess-{i}")}),
            )
            .await
            .status
        }));
    }
    let mut statuses = Vec::new();
    for guess in guesses {
        statuses.push(guess.await.unwrap());
    }
    let verified = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        verified <= 5,
        "{verified} guesses were checked: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn partners_reply_from_their_case_page_without_the_teams_tools() {
    let org = Org::new().await;
    let number = org.pat.create_case(org.support, "Partner asks").await;
    let browser = crate::web::Browser::new(&org.server);
    browser.login("pat", PASSWORD).await;
    let (status, page, _) = browser.get(&format!("/cases/{number}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"partner-send\""));
    for tool in [
        "id=\"add-note\"",
        "send-update",
        "Split into a new case",
        "Upload a file",
    ] {
        assert!(!page.contains(tool), "a partner sees no {tool}");
    }
    let csrf = crate::web::field(&page, "csrf");
    let (status, _, _) = browser
        .post(
            &format!("/cases/{number}/messages"),
            &[
                ("csrf", csrf.as_str()),
                ("direction", "inbound"),
                ("body", "Sent from the page"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let activity = org
        .amy
        .get(&format!("/api/v1/cases/{number}/activity?filter=messages"))
        .await;
    assert!(activity.text.contains("Sent from the page"));
}

#[tokio::test]
async fn a_partners_token_reaches_nothing_but_their_own_cases_on_any_operation() {
    let org = Org::new().await;
    let theirs = org.pat.create_case(org.support, "Partner's own").await;
    let other = org.amy.create_case(org.support, "Another customer's").await;
    org.amy
        .post(
            &format!("/api/v1/cases/{other}/notes"),
            json!({"body": "internal"}),
        )
        .await;
    let upload = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"secret".to_vec()).file_name("secret.txt"),
    );
    let file: serde_json::Value = org
        .amy
        .http
        .post(org.server.url(&format!("/api/v1/cases/{other}/files")))
        .bearer_auth(org.amy.token.clone().unwrap())
        .multipart(upload)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let file = file["id"].as_u64().unwrap();
    use reqwest::Method as M;
    let n = other;
    let attempts: Vec<(M, String, Option<serde_json::Value>)> = vec![
        (M::GET, format!("/api/v1/cases/{n}"), None),
        (
            M::PATCH,
            format!("/api/v1/cases/{n}"),
            Some(json!({"subject": "x"})),
        ),
        (M::DELETE, format!("/api/v1/cases/{n}"), None),
        (M::POST, format!("/api/v1/cases/{n}/close"), None),
        (M::POST, format!("/api/v1/cases/{n}/reopen"), None),
        (M::POST, format!("/api/v1/cases/{n}/archive"), None),
        (M::POST, format!("/api/v1/cases/{n}/unarchive"), None),
        (M::GET, format!("/api/v1/cases/{n}/activity"), None),
        (
            M::POST,
            format!("/api/v1/cases/{n}/notes"),
            Some(json!({"body": "x"})),
        ),
        (
            M::POST,
            format!("/api/v1/cases/{n}/messages"),
            Some(json!({"body": "x"})),
        ),
        (M::GET, format!("/api/v1/cases/{n}/links"), None),
        (
            M::POST,
            format!("/api/v1/cases/{n}/links"),
            Some(json!({"target": theirs, "kind": "related"})),
        ),
        (M::GET, format!("/api/v1/cases/{n}/milestones"), None),
        (M::POST, format!("/api/v1/cases/{n}/timer/start"), None),
        (M::GET, format!("/api/v1/cases/{n}/time"), None),
        (
            M::POST,
            format!("/api/v1/cases/{n}/merge"),
            Some(json!({"sources": [theirs]})),
        ),
        (
            M::POST,
            format!("/api/v1/cases/{n}/split"),
            Some(json!({"event": 1})),
        ),
        (M::POST, format!("/api/v1/cases/{n}/restore"), None),
        (
            M::POST,
            format!("/api/v1/cases/{n}/replies"),
            Some(json!({"body": "x"})),
        ),
        (
            M::POST,
            format!("/api/v1/cases/{n}/updates"),
            Some(json!({"to": ["a@example.com"], "body": "x"})),
        ),
        (M::GET, format!("/api/v1/cases/{n}/files"), None),
        (M::GET, format!("/api/v1/files/{file}"), None),
        (
            M::POST,
            format!("/api/v1/channels/{}/mail", org.support),
            None,
        ),
        (M::GET, "/api/v1/plugins".to_owned(), None),
        (
            M::POST,
            "/api/v1/categories".to_owned(),
            Some(json!({"name": "x"})),
        ),
        (
            M::POST,
            "/api/v1/users".to_owned(),
            Some(json!({"username": "x", "password": "password-123"})),
        ),
    ];
    for (method, path, body) in attempts {
        let answer = org.pat.send(method.clone(), &path, body).await;
        assert!(
            matches!(answer.status, 400 | 403 | 404 | 405 | 415 | 422),
            "{method} {path} answered {}: {}",
            answer.status,
            answer.text
        );
        assert!(
            !answer.text.contains("internal") && !answer.text.contains("Another customer"),
            "{method} {path} leaked: {}",
            answer.text
        );
    }
    let bulk = org
        .pat
        .post(
            "/api/v1/cases/bulk",
            json!({"numbers": [other], "action": "close"}),
        )
        .await;
    assert!(
        !bulk.text.contains("\"succeeded\":[")
            || bulk.body["succeeded"].as_array().is_none_or(Vec::is_empty),
        "{}",
        bulk.text
    );
    // Lists, search and exports hold their own case only.
    let listed = org.pat.get("/api/v1/cases?view=all&q=customer").await;
    assert!(!listed.text.contains("Another customer"), "{}", listed.text);
    let export = org
        .pat
        .http
        .get(org.server.url("/api/v1/cases/export.xlsx"))
        .bearer_auth(org.pat.token.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    let exported = crate::export::rows(export.bytes().await.unwrap().to_vec());
    let subjects: Vec<&str> = exported.iter().skip(1).map(|row| row[1].as_str()).collect();
    assert_eq!(
        subjects,
        ["Partner's own"],
        "an export holds the partner's own cases only"
    );
    assert_eq!(
        org.amy.get(&format!("/api/v1/cases/{other}")).await.body["status"],
        "open"
    );
}

#[tokio::test]
async fn partners_see_the_staff_of_their_channel_but_not_other_partners() {
    let org = Org::new().await;
    let pia = org
        .admin
        .post(
            "/api/v1/users",
            json!({"username": "pia", "password": crate::harness::PASSWORD,
                   "role": "partner", "display_name": "Pia of Parcels Ltd"}),
        )
        .await;
    assert_eq!(pia.status, 201, "{}", pia.text);
    org.admin.add_member(org.support, "pia", "agent").await;
    let renamed = org
        .admin
        .patch("/api/v1/users/max", json!({"display_name": "Max Manager"}))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    let path = format!("/api/v1/channels/{}", org.support);
    let names = |answer: &crate::harness::Answer| -> Vec<String> {
        answer.body["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["username"].as_str().unwrap().to_owned())
            .collect()
    };
    let seen_by_partner = org.pat.get(&path).await;
    assert_eq!(seen_by_partner.status, 200, "{}", seen_by_partner.text);
    assert_eq!(names(&seen_by_partner), ["amy", "max"]);
    assert!(!seen_by_partner.text.contains("pia") && !seen_by_partner.text.contains("Parcels"));
    let max = seen_by_partner.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["username"] == "max")
        .unwrap()
        .clone();
    assert_eq!(max["display_name"], "Max Manager");
    let listed = org.pat.get("/api/v1/channels").await;
    assert!(!listed.text.contains("pia"), "{}", listed.text);
    // Staff see everyone.
    let seen_by_agent = org.amy.get(&path).await;
    assert_eq!(names(&seen_by_agent), ["amy", "max", "pat", "pia"]);
}
