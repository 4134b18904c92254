//! The chat widget's API as a page on another origin uses it: sessions,
//! the bot's answers from a plugin, the hand-over to a person with the
//! transcript, the team's replies reaching the visitor, CORS and limits.

use serde_json::{Value, json};

use crate::harness::{Org, Server};

const SHOP: &str = "http://shop.test:8000";

const BOT: &str = r#"
fn widget_reply(message) {
    if message.text.contains("hours") { return "We are open 9 to 5."; }
    if message.text.contains("refund") { return #{ reply: "Let me get someone.", escalate: true }; }
    ()
}
"#;

async fn widget_org() -> Org {
    let server = Server::start();
    std::fs::write(server.data.join("plugins").join("50-bot.rhai"), BOT).unwrap();
    let org = Org::on(server).await;
    let answer = org
        .max
        .patch(
            &format!("/api/v1/channels/{}", org.support),
            json!({"settings": {"integrations": {"widget": {"allowed_origins": [SHOP]}}}}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    // The plugin folder is re-read within a second.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    org
}

async fn call(
    org: &Org,
    path: &str,
    origin: Option<&str>,
    body: Value,
) -> (u16, Value, Option<String>) {
    let mut request = reqwest::Client::new()
        .post(org.server.url(&format!("/widget/{}{path}", org.support)))
        .json(&body);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let allowed = response
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, response.json().await.unwrap_or_default(), allowed)
}

#[tokio::test]
async fn a_visitor_chats_with_the_bot_then_a_person_and_sees_the_reply() {
    let org = widget_org().await;
    let (status, _, _) = call(&org, "/sessions", Some("http://evil.test"), json!({})).await;
    assert_eq!(status, 403, "other origins may not use the chat");
    let (status, session, allowed) =
        call(&org, "/sessions", Some(SHOP), json!({"name": "Vera"})).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(allowed.as_deref(), Some(SHOP));
    let token = session["token"].as_str().unwrap().to_owned();

    let (status, answer, _) = call(
        &org,
        "/messages",
        Some(SHOP),
        json!({"token": token, "text": "What are your hours?"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["replies"][0]["text"], "We are open 9 to 5.");
    assert_eq!(answer["case"], Value::Null);
    assert_eq!(
        org.amy.get("/api/v1/cases?view=all").await.body["total"],
        json!(0),
        "no case for a bot chat"
    );

    let mut forged = token.clone();
    forged.replace_range(0..2, "ff");
    let (status, _, _) = call(
        &org,
        "/messages",
        Some(SHOP),
        json!({"token": forged, "text": "hi"}),
    )
    .await;
    assert_eq!(status, 401, "a changed token is refused");
    let (status, _, _) = call(
        &org,
        "/messages",
        Some(SHOP),
        json!({"token": token, "text": "   "}),
    )
    .await;
    assert_eq!(status, 422);

    let (_, answer, _) = call(
        &org,
        "/messages",
        Some(SHOP),
        json!({"token": token, "text": "I want a refund"}),
    )
    .await;
    assert_eq!(answer["replies"][0]["text"], "Let me get someone.");
    let case = answer["case"]
        .as_u64()
        .expect("the bot handed the chat over");
    let details = org.amy.get(&format!("/api/v1/cases/{case}")).await.body;
    assert_eq!(details["source"], "widget");
    assert_eq!(details["customer"]["name"], "Vera");
    let transcript = org
        .amy
        .get(&format!("/api/v1/cases/{case}/activity?filter=messages"))
        .await;
    let texts: Vec<&str> = transcript
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "What are your hours?",
            "We are open 9 to 5.",
            "I want a refund",
            "Let me get someone."
        ]
    );

    // The team answers; the visitor's page gets it.
    let reply = org
        .amy
        .post(
            &format!("/api/v1/cases/{case}/messages"),
            json!({"body": "Hi Vera, which order?", "direction": "outbound"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let updates = reqwest::Client::new()
        .get(org.server.url(&format!(
            "/widget/{}/updates?token={token}&after=0",
            org.support
        )))
        .header("origin", SHOP)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        updates["replies"][0]["text"], "Hi Vera, which order?",
        "{updates}"
    );
    // What the visitor writes now goes to the case.
    call(
        &org,
        "/messages",
        Some(SHOP),
        json!({"token": token, "text": "Order 7788"}),
    )
    .await;
    let transcript = org
        .amy
        .get(&format!("/api/v1/cases/{case}/activity?filter=messages"))
        .await;
    assert!(transcript.text.contains("Order 7788"));

    // Another customer's case is never merged into the chat's case: the
    // visitor would see its replies.
    let other = org.amy.create_case(org.support, "Someone else").await;
    org.amy
        .post(
            &format!("/api/v1/cases/{case}/merge"),
            json!({"sources": [other]}),
        )
        .await
        .problem(403);
    // One poll at a time per chat.
    let poll_url = org.server.url(&format!(
        "/widget/{}/updates?token={token}&after=999",
        org.support
    ));
    let first = tokio::spawn(
        reqwest::Client::new()
            .get(poll_url.clone())
            .header("origin", SHOP)
            .send(),
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let second = reqwest::Client::new()
        .get(poll_url)
        .header("origin", SHOP)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 429);
    assert_eq!(
        second.headers()["access-control-allow-origin"],
        SHOP,
        "refusals are readable by the page"
    );
    first.abort();

    // The browser's preflight is answered for the allowed origin only.
    let preflight = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            org.server.url(&format!("/widget/{}/messages", org.support)),
        )
        .header("origin", SHOP)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["access-control-allow-origin"], SHOP);
    let script = reqwest::get(org.server.url("/widget.js")).await.unwrap();
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/javascript")
    );
}

#[tokio::test]
async fn chats_are_limited_and_channels_without_the_widget_refuse() {
    let org = widget_org().await;
    let (_, session, _) = call(&org, "/sessions", Some(SHOP), json!({})).await;
    let token = session["token"].as_str().unwrap().to_owned();
    let mut last = 0;
    for i in 0..25 {
        let (status, _, _) = call(
            &org,
            "/messages",
            Some(SHOP),
            json!({"token": token, "text": format!("hello {i}")}),
        )
        .await;
        last = status;
        if status == 429 {
            break;
        }
    }
    assert_eq!(last, 429, "a flood from one chat is held back");
    // One address cannot open chats without end either.
    let mut refused = false;
    for _ in 0..40 {
        let (status, _, _) = call(&org, "/sessions", Some(SHOP), json!({})).await;
        if status == 429 {
            refused = true;
            break;
        }
    }
    assert!(refused, "session starts from one address are limited");
    let other = reqwest::Client::new()
        .post(org.server.url(&format!("/widget/{}/sessions", org.sales)))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}

#[tokio::test]
async fn replies_also_go_by_email_when_the_visitor_left_an_address() {
    let sink = crate::mailservers::SmtpSink::start();
    let url = sink.url();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data/plugins")).unwrap();
    let mut server = Server::start_in(
        &dir.path().join("data"),
        &[
            ("DOCKET_ADMIN_PASSWORD", crate::harness::ADMIN_PASSWORD),
            ("DOCKET_SMTP_URL", url.as_str()),
        ],
    );
    server.keep_dir(dir);
    let org = Org::on(server).await;
    org.max
        .patch(
            &format!("/api/v1/channels/{}", org.support),
            json!({"email_address": "support@desk.test",
                   "settings": {"integrations": {"widget": {"allowed_origins": [SHOP]}}}}),
        )
        .await;
    let (_, session, _) = call(
        &org,
        "/sessions",
        Some(SHOP),
        json!({"email": "vera@example.com"}),
    )
    .await;
    let token = session["token"].as_str().unwrap().to_owned();
    call(
        &org,
        "/messages",
        Some(SHOP),
        json!({"token": token, "text": "Where is my order?"}),
    )
    .await;
    let (_, escalated, _) = call(&org, "/escalate", Some(SHOP), json!({"token": token})).await;
    let case = escalated["case"].as_u64().unwrap();
    org.amy
        .post(
            &format!("/api/v1/cases/{case}/messages"),
            json!({"body": "It ships tomorrow.", "direction": "outbound"}),
        )
        .await;
    let received = sink.wait_for(1).await;
    assert_eq!(received[0].rcpt_tos, vec!["vera@example.com"]);
    assert!(received[0].data.contains("It ships tomorrow."));
    let updates = reqwest::Client::new()
        .get(org.server.url(&format!(
            "/widget/{}/updates?token={token}&after=0",
            org.support
        )))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        updates["replies"].as_array().unwrap().len(),
        1,
        "the email copy is not shown twice: {updates}"
    );
}
