//! Instagram and Facebook through Meta's webhooks: the handshake, signed
//! deliveries, conversations as cases, replays, and who may see the
//! integration's settings.

use serde_json::{Value, json};

use crate::harness::{Client, Org, Server};
use crate::receiver::Receiver;

const SECRET: &str = "meta-app-secret";
const VERIFY: &str = "verify-me";

/// The signature Meta sends: HMAC-SHA256 of the raw body, hex.
fn sign(body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn meta_org() -> Org {
    meta_org_with(None).await
}

/// With a stand-in for the Graph API when given.
async fn meta_org_with(graph: Option<&Receiver>) -> Org {
    let server = match graph {
        None => Server::start(),
        Some(graph) => {
            let allow = format!("hooks.slack.com,{}", graph.address);
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join("data/plugins")).unwrap();
            let mut server = Server::start_in(
                &dir.path().join("data"),
                &[
                    ("DOCKET_ADMIN_PASSWORD", crate::harness::ADMIN_PASSWORD),
                    ("DOCKET_WEBHOOK_ALLOW", allow.as_str()),
                ],
            );
            server.keep_dir(dir);
            server
        }
    };
    let org = Org::on(server).await;
    let mut meta =
        json!({"app_secret": SECRET, "verify_token": VERIFY, "page_access_token": "page-token"});
    if let Some(graph) = graph {
        meta["api_base"] = json!(format!("{}/v21.0", graph.url()));
    }
    let answer = org
        .max
        .patch(
            &format!("/api/v1/channels/{}", org.support),
            json!({"settings": {"integrations": {"meta": meta}}}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    org
}

async fn post_hook(org: &Org, body: &[u8], signature: Option<String>) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(org.server.url(&format!("/hooks/meta/{}", org.support)))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("x-hub-signature-256", signature);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn dm(mid: &str, sender: &str, text: &str) -> Vec<u8> {
    json!({"object": "instagram", "entry": [{"id": "17841400", "time": 1700000000,
        "messaging": [{"sender": {"id": sender}, "recipient": {"id": "17841400"},
                       "timestamp": 1_700_000_000_000_i64, "message": {"mid": mid, "text": text}}]}]})
    .to_string()
    .into_bytes()
}

fn comment(id: &str, post: &str, parent: Option<&str>, from: &str, text: &str) -> Vec<u8> {
    let mut value = json!({"item": "comment", "verb": "add", "comment_id": id, "post_id": post,
        "from": {"id": from, "name": "Jo Commenter"}, "message": text, "created_time": 1700000000});
    if let Some(parent) = parent {
        value["parent_id"] = json!(parent);
    }
    json!({"object": "page", "entry": [{"id": "page1", "time": 1700000000,
        "changes": [{"field": "feed", "value": value}]}]})
    .to_string()
    .into_bytes()
}

async fn cases(client: &Client) -> Vec<Value> {
    let mut found = Vec::new();
    for _ in 0..100 {
        found = client.get("/api/v1/cases?view=all").await.body["items"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    found
}

#[tokio::test]
async fn the_subscription_handshake_echoes_the_challenge_only_for_the_token() {
    let org = meta_org().await;
    let http = reqwest::Client::new();
    let url = |token: &str, channel: u64| {
        org.server.url(&format!(
            "/hooks/meta/{channel}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"
        ))
    };
    let ok = http.get(url(VERIFY, org.support)).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    let wrong = http.get(url("guess", org.support)).send().await.unwrap();
    assert_eq!(wrong.status(), 403);
    let unset = http.get(url(VERIFY, org.sales)).send().await.unwrap();
    assert_eq!(
        unset.status(),
        404,
        "a channel without Meta answers nothing"
    );
}

#[tokio::test]
async fn signed_messages_become_one_case_per_conversation_and_replays_store_nothing() {
    let org = meta_org().await;
    let first = dm("m_1", "IGSID1", "Where is my order 4411?");
    assert_eq!(post_hook(&org, &first, None).await.0, 401, "no signature");
    let mut wrong = sign(&first);
    wrong.replace_range(10..12, "00");
    assert_eq!(
        post_hook(&org, &first, Some(wrong)).await.0,
        401,
        "wrong signature"
    );
    let mut changed = first.clone();
    changed.extend_from_slice(b" ");
    assert_eq!(
        post_hook(&org, &changed, Some(sign(&first))).await.0,
        401,
        "body changed after signing"
    );
    assert_eq!(
        post_hook(&org, b"{not json", Some(sign(b"{not json")))
            .await
            .0,
        400
    );

    let (status, text) = post_hook(&org, &first, Some(sign(&first))).await;
    assert_eq!((status, text.as_str()), (200, "{\"stored\":1}"));
    let (status, text) = post_hook(&org, &first, Some(sign(&first))).await;
    assert_eq!(
        (status, text.as_str()),
        (200, "{\"stored\":0}"),
        "a replay stores nothing"
    );

    let listed = cases(&org.amy).await;
    assert_eq!(listed.len(), 1);
    let number = listed[0]["number"].as_u64().unwrap();
    let case = org.amy.get(&format!("/api/v1/cases/{number}")).await.body;
    assert_eq!(case["source"], "instagram");
    assert_eq!(case["customer"]["handles"]["instagram"], "IGSID1");
    assert_eq!(case["thread"], "instagram:dm:17841400:IGSID1");

    // Control characters and oversized names never refuse a delivery.
    let odd = dm("m_odd", "IGSID7", "esc \u{1b} and \u{85} inside");
    assert_eq!(post_hook(&org, &odd, Some(sign(&odd))).await.0, 200);
    let second = dm("m_2", "IGSID1", "Any news?");
    post_hook(&org, &second, Some(sign(&second))).await;
    org.amy
        .post_empty(&format!("/api/v1/cases/{number}/close"))
        .await;
    let third = dm("m_3", "IGSID1", "Still nothing arrived");
    post_hook(&org, &third, Some(sign(&third))).await;
    let case = org.amy.get(&format!("/api/v1/cases/{number}")).await.body;
    assert_eq!(
        case["status"], "open",
        "a message on a resolved case reopens it"
    );
    let activity = org
        .amy
        .get(&format!("/api/v1/cases/{number}/activity?filter=messages"))
        .await;
    assert_eq!(activity.array_len(), 3);

    let other = dm("m_4", "IGSID2", "Hello from someone else");
    post_hook(&org, &other, Some(sign(&other))).await;
    assert_eq!(
        org.amy.get("/api/v1/cases?view=all").await.body["total"],
        json!(3),
        "IGSID1, the one with odd text, and IGSID2"
    );
}

#[tokio::test]
async fn one_comment_thread_on_a_post_is_one_case() {
    let org = meta_org().await;
    for body in [
        comment(
            "c1",
            "post9",
            Some("post9"),
            "u1",
            "Does this come in blue?",
        ),
        comment("c2", "post9", Some("c1"), "u2", "I want to know too"),
        comment("c3", "post9", Some("post9"), "u3", "Shipping to Norway?"),
    ] {
        let (status, text) = post_hook(&org, &body, Some(sign(&body))).await;
        assert_eq!(status, 200, "{text}");
    }
    let listed = org.amy.get("/api/v1/cases?view=all&sort=number").await;
    assert_eq!(listed.body["total"], json!(2), "{}", listed.text);
    let first = listed.body["items"][0]["number"].as_u64().unwrap();
    let case = org.amy.get(&format!("/api/v1/cases/{first}")).await.body;
    assert_eq!(case["source"], "facebook");
    assert_eq!(case["thread"], "facebook:comments:post9:c1");
    let messages = org
        .amy
        .get(&format!("/api/v1/cases/{first}/activity?filter=messages"))
        .await;
    assert_eq!(messages.array_len(), 2);
}

#[tokio::test]
async fn integration_secrets_are_write_only_and_for_managers() {
    let org = meta_org().await;
    let path = format!("/api/v1/channels/{}", org.support);
    let as_manager = org.max.get(&path).await;
    let meta = &as_manager.body["settings"]["integrations"]["meta"];
    assert_eq!(meta["app_secret_set"], json!(true));
    assert_eq!(meta["api_base"], "https://graph.facebook.com/v21.0");
    assert!(!as_manager.text.contains(SECRET) && !as_manager.text.contains(VERIFY));
    let as_agent = org.amy.get(&path).await;
    assert_eq!(as_agent.body["settings"]["integrations"], Value::Null);
    org.amy
        .patch(
            &path,
            json!({"settings": {"integrations": {"widget": {"allowed_origins": []}}}}),
        )
        .await
        .problem(403);
    // A secret left out keeps the stored one; other changes go through.
    let changed = org
        .max
        .patch(
            &path,
            json!({"settings": {"integrations": {"meta": {"verify_token": "new-token"},
                   "widget": {"allowed_origins": ["https://Shop.Example.com/"]}}}}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(
        changed.body["settings"]["integrations"]["widget"]["allowed_origins"],
        json!(["https://shop.example.com"])
    );
    let body = dm("m_9", "IGSID9", "still signed with the kept secret");
    assert_eq!(post_hook(&org, &body, Some(sign(&body))).await.0, 200);
    // API bases must be on the outbound allow-list; origins must be origins.
    org.max
        .patch(
            &path,
            json!({"settings": {"integrations": {"meta": {"api_base": "https://evil.example"}}}}),
        )
        .await
        .problem(422);
    // The stored page token never goes to a new API base unless given again.
    let moved = org
        .max
        .patch(
            &path,
            json!({"settings": {"integrations": {"meta": {"api_base": "https://graph.facebook.com/v22.0"}}}}),
        )
        .await;
    let detail = moved.problem(422);
    assert!(detail.contains("page_access_token"), "{detail}");
    org.max
        .patch(
            &path,
            json!({"settings": {"integrations": {"widget": {"allowed_origins": ["*"]}}}}),
        )
        .await
        .problem(422);
    org.max
        .patch(&path, json!({"settings": {"integrations": {"phone": {}}}}))
        .await
        .problem(422);
}

async fn wait_for_delivery(client: &Client, case: u64, state: &str) -> Value {
    for _ in 0..200 {
        let activity = client
            .get(&format!("/api/v1/cases/{case}/activity?filter=messages"))
            .await;
        if let Some(reply) = activity
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["direction"] == "outbound" && e["delivery"]["state"] == state)
        {
            return reply.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no reply reached the state {state}");
}

#[tokio::test]
async fn replies_go_out_through_the_graph_api_and_show_their_delivery() {
    let graph = Receiver::start().await;
    *graph.answer.lock().unwrap() = (
        200,
        "application/json",
        br#"{"recipient_id":"IGSID1","message_id":"m_out"}"#.to_vec(),
    );
    let org = meta_org_with(Some(&graph)).await;
    let body = dm("m_1", "IGSID1", "Is my parcel lost?");
    post_hook(&org, &body, Some(sign(&body))).await;
    let case = cases(&org.amy).await[0]["number"].as_u64().unwrap();

    let sent = org
        .amy
        .post(
            &format!("/api/v1/cases/{case}/replies"),
            json!({"body": "It left our warehouse today."}),
        )
        .await;
    assert_eq!(sent.status, 202, "{}", sent.text);
    assert_eq!(sent.body["delivery"]["state"], "pending");
    let requests = graph.wait_for(1).await;
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v21.0/17841400/messages");
    assert_eq!(
        request.headers.get("authorization").map(String::as_str),
        Some("Bearer page-token")
    );
    assert!(
        request
            .headers
            .get("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let json = request.json();
    assert_eq!(json["recipient"]["id"], "IGSID1");
    assert_eq!(json["messaging_type"], "RESPONSE");
    assert_eq!(json["message"]["text"], "It left our warehouse today.");
    wait_for_delivery(&org.amy, case, "sent").await;

    // A refusal by the API is final and shown.
    *graph.answer.lock().unwrap() = (
        400,
        "application/json",
        br#"{"error":{"message":"(#10) outside the allowed window","code":10}}"#.to_vec(),
    );
    org.amy
        .post(
            &format!("/api/v1/cases/{case}/replies"),
            json!({"body": "Second try"}),
        )
        .await;
    let failed = wait_for_delivery(&org.amy, case, "failed").await;
    assert!(
        failed["delivery"]["last_error"]
            .as_str()
            .unwrap()
            .contains("outside the allowed window")
    );

    // Comment threads are answered in the thread.
    *graph.answer.lock().unwrap() = (200, "application/json", br#"{"id":"c9"}"#.to_vec());
    let comment_body = comment("c1", "post9", Some("post9"), "u1", "Blue?");
    post_hook(&org, &comment_body, Some(sign(&comment_body))).await;
    let listed = org.amy.get("/api/v1/cases?view=all&sort=-number").await;
    let comment_case = listed.body["items"][0]["number"].as_u64().unwrap();
    assert_ne!(comment_case, case);
    org.amy
        .post(
            &format!("/api/v1/cases/{comment_case}/replies"),
            json!({"body": "Yes, blue too"}),
        )
        .await;
    let requests = graph.wait_for(3).await;
    assert_eq!(requests[2].path, "/v21.0/c1/comments");
    assert_eq!(requests[2].json()["message"], "Yes, blue too");

    // Who may reply, and to what.
    org.bob
        .post(
            &format!("/api/v1/cases/{case}/replies"),
            json!({"body": "x"}),
        )
        .await
        .problem(404);
    let manual = org.amy.create_case(org.support, "By hand").await;
    org.amy
        .post(
            &format!("/api/v1/cases/{manual}/replies"),
            json!({"body": "x"}),
        )
        .await
        .problem(422);
    org.amy
        .post(
            &format!("/api/v1/cases/{case}/replies"),
            json!({"body": ""}),
        )
        .await
        .problem(422);
}

#[tokio::test]
async fn the_case_page_counts_down_the_reply_window() {
    let org = meta_org().await;
    let body = dm("m_1", "IGSID1", "Quick question");
    post_hook(&org, &body, Some(sign(&body))).await;
    let case = cases(&org.amy).await[0]["number"].as_u64().unwrap();
    let manual = org.amy.create_case(org.support, "By hand").await;
    let browser = crate::web::Browser::new(&org.server);
    browser.login("amy", crate::harness::PASSWORD).await;
    let (_, page, _) = browser.get(&format!("/cases/{case}")).await;
    assert!(
        page.contains("id=\"reply-window\""),
        "Meta messages have a 24-hour window"
    );
    assert!(
        page.contains("23 h 59 min") || page.contains("24 h 00 min"),
        "{}",
        &page[page.find("reply-window").unwrap()..][..200]
    );
    assert!(page.contains("Reply on Instagram"));
    let (_, page, _) = browser.get(&format!("/cases/{manual}")).await;
    assert!(!page.contains("id=\"reply-window\""));
    // The inbox offers the time-sensitive filter only where windows exist.
    let (_, inbox, _) = browser.get("/inbox").await;
    assert!(
        !inbox.contains("Time sensitive"),
        "no channel has a reply window yet"
    );
    org.max
        .patch(
            &format!("/api/v1/channels/{}", org.support),
            json!({"settings": {"reply_window_hours": 24}}),
        )
        .await;
    let (_, inbox, _) = browser.get("/inbox").await;
    assert!(inbox.contains("Time sensitive"));
}
