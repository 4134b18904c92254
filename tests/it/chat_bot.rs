//! The widget's answering bot through the language model, against the
//! local stand-in for an OpenAI-compatible chat endpoint: a chat is a case
//! in progress by the AI agent from its first line until the AI hands over
//! or a person takes over, and the model is never asked after that.

use serde_json::{Value, json};

use crate::assist::{completion, with_model, with_model_and};
use crate::harness::{Client, Server};
use crate::receiver::{Receiver, Request};

const SHOP: &str = "http://shop.test:8000";

/// Sets what the model answers next.
fn model_says(model: &Receiver, text: &str) {
    *model.answer.lock().unwrap() = (200, "application/json", completion(text));
}

/// The roles and texts of one request, checked as the real API reads it.
fn conversation(request: &Request) -> Vec<(String, String)> {
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(
        request.headers.get("authorization").map(String::as_str),
        Some("Bearer sk-desk-test")
    );
    let body = request.json();
    assert_eq!(body["model"], "desk-model");
    assert_eq!(body["stream"], false);
    body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            let role = m["role"].as_str().expect("role").to_owned();
            assert!(matches!(role.as_str(), "system" | "user" | "assistant"));
            (
                role,
                m["content"].as_str().expect("text content").to_owned(),
            )
        })
        .collect()
}

/// A channel whose widget the model answers, as its admin set it up.
async fn model_widget(admin: &Client) -> u64 {
    let channel = admin.create_channel("Support").await;
    let answer = admin
        .patch(
            &format!("/api/v1/channels/{channel}"),
            json!({"settings": {"integrations": {"widget": {
                "allowed_origins": [SHOP],
                "model_answers": true,
                "model_instructions": "We open at 9 and ship within two days."
            }}}}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let widget = &answer.body["settings"]["integrations"]["widget"];
    assert_eq!(widget["model_answers"], true, "{}", answer.text);
    channel
}

async fn call(server: &Server, channel: u64, path: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(server.url(&format!("/widget/{channel}{path}")))
        .header("origin", SHOP)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

async fn chat(server: &Server, channel: u64) -> String {
    let (status, session) = call(server, channel, "/sessions", json!({"name": "Vera"})).await;
    assert_eq!(status, 200, "{session}");
    session["token"].as_str().unwrap().to_owned()
}

async fn say(server: &Server, channel: u64, token: &str, text: &str) -> Value {
    let (status, answer) = call(
        server,
        channel,
        "/messages",
        json!({"token": token, "text": text}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    answer
}

async fn activity(admin: &Client, number: u64) -> Vec<Value> {
    admin
        .get(&format!("/api/v1/cases/{number}/activity"))
        .await
        .body
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn the_model_answers_a_chat_in_progress_until_it_hands_over() {
    let model = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = with_model(dir.path(), &model);
    let admin = server.admin().await;
    let channel = model_widget(&admin).await;
    let token = chat(&server, channel).await;

    model_says(&model, "Orders ship within two days of payment.");
    let answer = say(&server, channel, &token, "When will my order ship?").await;
    assert_eq!(
        answer["replies"][0]["text"],
        "Orders ship within two days of payment."
    );
    assert_eq!(answer["replies"][0]["from"], "ai", "{answer}");
    assert_eq!(answer["handed_over"], false);
    let number = answer["case"].as_u64().expect("the chat is a case at once");
    let first = conversation(&model.wait_for(1).await[0]);
    assert_eq!(first.len(), 2, "{first:?}");
    assert_eq!(first[0].0, "system");
    assert!(first[0].1.contains("Support"), "{}", first[0].1);
    assert!(first[0].1.contains("We open at 9"), "{}", first[0].1);
    assert!(first[0].1.contains("HANDOVER"));
    assert_eq!(
        first[1],
        ("user".into(), "When will my order ship?".to_owned())
    );

    // The team sees a case in progress by the AI, with both sides of it.
    let case = admin.get(&format!("/api/v1/cases/{number}")).await.body;
    assert_eq!(case["status"], "in_progress");
    assert_eq!(case["held_by_ai"], true);
    assert_eq!(case["source"], "widget");
    let events = activity(&admin, number).await;
    let answered = events
        .iter()
        .find(|e| e["direction"] == "outbound")
        .expect("the answer is on the case");
    assert_eq!(answered["actor"], "AI agent");
    assert_eq!(answered["body"], "Orders ship within two days of payment.");
    let inbox = admin.get("/api/v1/cases?status=in_progress").await.body;
    assert_eq!(inbox["total"], 1, "{inbox}");

    // The model reads the whole chat and hands over when it cannot help.
    model_says(&model, "HANDOVER");
    let answer = say(&server, channel, &token, "Can you change the address?").await;
    assert_eq!(answer["handed_over"], true, "{answer}");
    assert_eq!(answer["replies"], json!([]));
    let second = conversation(&model.wait_for(2).await[1]);
    let roles: Vec<&str> = second.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"], "{second:?}");
    assert_eq!(second[3].1, "Can you change the address?");
    let case = admin.get(&format!("/api/v1/cases/{number}")).await.body;
    assert_eq!(case["status"], "open");
    assert_eq!(case["held_by_ai"], false);
    let events = activity(&admin, number).await;
    let handed = events
        .iter()
        .find(|e| e["kind"] == "handed_over")
        .expect("the hand-over is recorded");
    assert_eq!(handed["actor"], "AI agent");
    assert_eq!(handed["body"], "the AI agent could not answer");
    assert_eq!(handed["changes"][0]["before"], "in_progress");
    assert_eq!(handed["changes"][0]["after"], "open");

    // From now on the team answers: the model is not asked again.
    let answer = say(&server, channel, &token, "Hello?").await;
    assert_eq!(answer["handed_over"], true);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(model.received().len(), 2);
    let reply = admin
        .post(
            &format!("/api/v1/cases/{number}/messages"),
            json!({"direction": "outbound", "body": "I can change it, one moment."}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    // The visitor's page gets the team's reply, not the AI's again.
    let updates = reqwest::Client::new()
        .get(server.url(&format!("/widget/{channel}/updates?token={token}&after=0")))
        .header("origin", SHOP)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let lines: Vec<&str> = updates["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    assert_eq!(lines, ["I can change it, one moment."], "{updates}");
}

#[tokio::test]
async fn people_take_over_and_a_failing_model_or_a_visitor_hands_over() {
    let model = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = with_model(dir.path(), &model);
    let admin = server.admin().await;
    let channel = model_widget(&admin).await;

    // An agent takes the chat: it becomes theirs, still in progress.
    model_says(&model, "Hello! How can I help?");
    let token = chat(&server, channel).await;
    let number = say(&server, channel, &token, "Hi there").await["case"]
        .as_u64()
        .unwrap();
    let taken = admin
        .post(&format!("/api/v1/cases/{number}/take-over"), json!({}))
        .await;
    assert_eq!(taken.status, 200, "{}", taken.text);
    assert_eq!(taken.body["held_by_ai"], false);
    assert_eq!(taken.body["status"], "in_progress");
    assert_eq!(taken.body["assignee"], "admin");
    let again = admin
        .post(&format!("/api/v1/cases/{number}/take-over"), json!({}))
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
    let asked = model.received().len();
    let answer = say(&server, channel, &token, "Still there?").await;
    assert_eq!(answer["handed_over"], true);
    assert_eq!(model.received().len(), asked, "the model was asked again");

    // A person's reply ends the AI's turn just the same.
    let token = chat(&server, channel).await;
    let replied = say(&server, channel, &token, "Do you ship abroad?").await["case"]
        .as_u64()
        .unwrap();
    admin
        .post(
            &format!("/api/v1/cases/{replied}/messages"),
            json!({"direction": "outbound", "body": "Yes, to 30 countries."}),
        )
        .await;
    let case = admin.get(&format!("/api/v1/cases/{replied}")).await.body;
    assert_eq!(case["held_by_ai"], false, "{case}");
    assert!(
        activity(&admin, replied)
            .await
            .iter()
            .any(|e| e["kind"] == "handed_over" && e["actor"] == "admin")
    );

    // A visitor who asks for a person gets one without the model.
    let asked = model.received().len();
    let token = chat(&server, channel).await;
    let answer = say(&server, channel, &token, "I want to talk to a person").await;
    assert_eq!(answer["handed_over"], true, "{answer}");
    assert_eq!(model.received().len(), asked);
    let number = answer["case"].as_u64().unwrap();
    let case = admin.get(&format!("/api/v1/cases/{number}")).await.body;
    assert_eq!(
        (case["status"].clone(), case["held_by_ai"].clone()),
        (json!("open"), json!(false))
    );

    // *Talk to a person* on a chat the AI holds hands it over too.
    let token = chat(&server, channel).await;
    model_says(&model, "Happy to help.");
    let pressed = say(&server, channel, &token, "Hello").await["case"]
        .as_u64()
        .unwrap();
    let (status, escalated) = call(&server, channel, "/escalate", json!({"token": token})).await;
    assert_eq!((status, escalated["case"].as_u64()), (200, Some(pressed)));
    let case = admin.get(&format!("/api/v1/cases/{pressed}")).await.body;
    assert_eq!(case["status"], "open", "{case}");
    let statuses: Vec<Value> = activity(&admin, pressed)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "status_changed")
        .map(|e| e["changes"][0]["after"].clone())
        .collect();
    assert_eq!(
        statuses,
        [json!("in_progress")],
        "the chat opened in progress"
    );

    // Turning the model off mid-chat gives the chat to the team.
    model_says(&model, "Sure.");
    let token = chat(&server, channel).await;
    let left = say(&server, channel, &token, "Quick question").await["case"]
        .as_u64()
        .unwrap();
    let off = admin
        .patch(
            &format!("/api/v1/channels/{channel}"),
            json!({"settings": {"integrations": {"widget": {
                "allowed_origins": [SHOP], "model_answers": false
            }}}}),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.text);
    let asked = model.received().len();
    let answer = say(&server, channel, &token, "Are you there?").await;
    assert_eq!(answer["handed_over"], true, "{answer}");
    assert_eq!(model.received().len(), asked);
    let case = admin.get(&format!("/api/v1/cases/{left}")).await.body;
    assert_eq!(
        (case["status"].clone(), case["held_by_ai"].clone()),
        (json!("open"), json!(false))
    );
    let on = admin
        .patch(
            &format!("/api/v1/channels/{channel}"),
            json!({"settings": {"integrations": {"widget": {
                "allowed_origins": [SHOP], "model_answers": true
            }}}}),
        )
        .await;
    assert_eq!(on.status, 200, "{}", on.text);
    // No other customer's message can be moved into a chat.
    let other = admin.create_case(channel, "Someone else's question").await;
    let message = admin
        .post(
            &format!("/api/v1/cases/{other}/messages"),
            json!({"direction": "inbound", "body": "My account number is 4471."}),
        )
        .await;
    let moved = admin
        .post(
            &format!("/api/v1/cases/{other}/split"),
            json!({"event": message.body["seq"], "to": left}),
        )
        .await;
    assert_eq!(moved.status, 422, "{}", moved.text);

    // A model that fails hands the chat over; the visitor's line is kept.
    *model.answer.lock().unwrap() = (
        500,
        "application/json",
        br#"{"error": {"message": "model overloaded"}}"#.to_vec(),
    );
    let token = chat(&server, channel).await;
    let answer = say(&server, channel, &token, "My parcel is damaged").await;
    assert_eq!(answer["handed_over"], true, "{answer}");
    let number = answer["case"].as_u64().unwrap();
    let events = activity(&admin, number).await;
    assert!(events.iter().any(|e| e["body"] == "My parcel is damaged"));
    let handed = events.iter().find(|e| e["kind"] == "handed_over").unwrap();
    assert!(
        handed["body"]
            .as_str()
            .unwrap()
            .contains("model overloaded"),
        "{handed}"
    );

    // Outsiders take nothing over; a case the AI does not hold is a 409.
    let bob = {
        admin.create_user("bob", "user").await;
        Client::login(&server, "bob", crate::harness::PASSWORD).await
    };
    let refused = bob
        .post(&format!("/api/v1/cases/{number}/take-over"), json!({}))
        .await;
    assert_eq!(refused.status, 404, "{}", refused.text);
    let refused = admin.post("/api/v1/cases/999/take-over", json!({})).await;
    assert_eq!(refused.status, 404);
}

#[tokio::test]
async fn without_a_model_the_widget_cannot_be_set_to_use_one() {
    let server = Server::start();
    let admin = server.admin().await;
    let channel = admin.create_channel("Support").await;
    let refused = admin
        .patch(
            &format!("/api/v1/channels/{channel}"),
            json!({"settings": {"integrations": {"widget": {
                "allowed_origins": [SHOP], "model_answers": true
            }}}}),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(
        refused.text.contains("integrations.widget.model_answers"),
        "{}",
        refused.text
    );
    let too_long = admin
        .patch(
            &format!("/api/v1/channels/{channel}"),
            json!({"settings": {"integrations": {"widget": {
                "allowed_origins": [SHOP], "model_instructions": "x".repeat(4001)
            }}}}),
        )
        .await;
    assert_eq!(too_long.status, 422, "{}", too_long.text);
    let shown = admin.get(&format!("/api/v1/channels/{channel}")).await.body;
    assert_eq!(shown["settings"]["integrations"]["widget"], Value::Null);
}

#[tokio::test]
async fn in_the_browser_the_ai_answers_the_visitor_and_an_agent_takes_over() {
    use thirtyfour::prelude::*;
    let model = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = with_model(dir.path(), &model);
    let admin = server.admin().await;
    let channel = admin.create_channel("Support").await;
    // The customer's website, on another origin, embeds the widget.
    let site = Receiver::start().await;
    let page = format!(
        "<!doctype html><html><head><title>Shop</title></head><body><h1>Shop</h1>\
         <script src=\"{}/widget.js?channel={channel}\"></script></body></html>",
        server.base
    );
    *site.answer.lock().unwrap() = (200, "text/html; charset=utf-8", page.into_bytes());
    model_says(&model, "Orders ship within two days of payment.");

    let (_driver, web) = crate::browser::start_browser().await;
    let outcome = async {
        web.set_window_rect(0, 0, 1440, 900).await?;
        // The admin turns the model on where people know it: the channel page.
        web.goto(server.url("/inbox")).await?;
        crate::browser::log_in(&web).await?;
        web.goto(server.url(&format!("/channels/{channel}")))
            .await?;
        web.find(By::Id("widget-origins"))
            .await?
            .send_keys(site.url())
            .await?;
        web.find(By::Id("widget-model-answers"))
            .await?
            .click()
            .await?;
        web.find(By::Id("widget-model-instructions"))
            .await?
            .send_keys("We ship within two days.")
            .await?;
        web.find(By::Id("widget-model-answers"))
            .await?
            .scroll_into_view()
            .await?;
        crate::workspace::screenshot(&web, "channel-model-1440").await;
        web.set_window_rect(0, 0, 390, 844).await?;
        web.find(By::Id("widget-model-answers"))
            .await?
            .scroll_into_view()
            .await?;
        assert!(!crate::workspace::scrolls_sideways(&web).await);
        crate::workspace::screenshot(&web, "channel-model-390").await;
        web.set_window_rect(0, 0, 1440, 900).await?;
        let save = web.find(By::Id("save-integrations")).await?;
        save.click().await?;
        // The page comes back on the same path: wait for the old one to go.
        save.wait_until().stale().await?;
        crate::browser::wait_for_path(&web, |p| p == format!("/channels/{channel}")).await?;
        let widget = admin.get(&format!("/api/v1/channels/{channel}")).await.body["settings"]
            ["integrations"]["widget"]
            .clone();
        assert_eq!(widget["model_answers"], true, "{widget}");
        assert_eq!(widget["model_instructions"], "We ship within two days.");

        // A visitor asks; the answer says it is the AI's.
        web.goto(format!("{}/", site.url())).await?;
        web.find(By::Id("docket-chat-open")).await?.click().await?;
        web.find(By::Id("docket-chat-input"))
            .await?
            .send_keys("When will my order ship?")
            .await?;
        web.find(By::Id("docket-chat-send")).await?.click().await?;
        crate::browser::wait_for_containing(
            &web,
            By::Id("docket-chat-log"),
            "AI assistant: Orders ship within two days of payment.",
        )
        .await?;
        let log = web.find(By::Id("docket-chat-log")).await?.text().await?;
        assert!(!log.contains("A person will answer"), "{log}");
        crate::workspace::screenshot(&web, "chat-ai-widget").await;

        // The inbox shows the chat in progress by the AI.
        web.goto(server.url("/inbox?view=all")).await?;
        let row = crate::browser::wait_for_containing(
            &web,
            By::Css("table.cases tbody"),
            "In progress · AI",
        )
        .await?;
        assert!(row.contains("When will my order ship?"), "{row}");
        let number = admin.get("/api/v1/cases?view=all").await.body["items"][0]["number"]
            .as_u64()
            .unwrap();
        web.goto(server.url(&format!("/cases/{number}"))).await?;
        assert_eq!(
            web.find(By::Id("case-status")).await?.text().await?,
            "In progress · AI"
        );
        let thread = web.find(By::Css("ol.thread")).await?.text().await?;
        assert!(thread.contains("Answered by the AI agent"), "{thread}");
        crate::workspace::screenshot(&web, "chat-ai-case-1440").await;
        web.set_window_rect(0, 0, 390, 844).await?;
        web.refresh().await?;
        assert!(!crate::workspace::scrolls_sideways(&web).await);
        crate::workspace::screenshot(&web, "chat-ai-case-390").await;
        web.set_window_rect(0, 0, 1440, 900).await?;

        // Taking over: the AI stops, the case is the agent's.
        let take = web.find(By::Id("take-over")).await?;
        take.click().await?;
        take.wait_until().stale().await?;
        assert_eq!(
            web.find(By::Id("case-status")).await?.text().await?,
            "In progress"
        );
        assert!(web.find(By::Id("take-over")).await.is_err());
        let thread = web.find(By::Css("ol.thread")).await?.text().await?;
        assert!(thread.contains("took over"), "{thread}");
        Ok::<_, WebDriverError>(())
    }
    .await;
    let _ = web.quit().await;
    outcome.unwrap();
    let case = admin.get("/api/v1/cases?view=all").await.body["items"][0].clone();
    assert_eq!(case["held_by_ai"], false);
    assert_eq!(case["assignee"], "admin");
}

#[tokio::test]
async fn slack_hears_nothing_while_the_ai_answers_and_one_message_at_the_hand_over() {
    let model = Receiver::start().await;
    let slack = Receiver::start().await;
    *slack.answer.lock().unwrap() = (200, "text/plain", b"ok".to_vec());
    let dir = tempfile::tempdir().unwrap();
    let server = with_model_and(dir.path(), &model, Some(&slack));
    let admin = server.admin().await;
    let channel = model_widget(&admin).await;
    let hook = format!("http://{}/services/T1/B1/secret", slack.address);
    let set = admin
        .patch(
            &format!("/api/v1/channels/{channel}"),
            json!({"settings": {"slack_webhook_url": hook}}),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);

    model_says(&model, "Orders ship within two days.");
    let token = chat(&server, channel).await;
    say(&server, channel, &token, "When does my order ship?").await;
    say(&server, channel, &token, "And to Norway?").await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        slack.received().len(),
        0,
        "Slack heard of a chat the AI holds"
    );

    let answer = say(&server, channel, &token, "Let me talk to a person").await;
    assert_eq!(answer["handed_over"], true);
    let posts = slack.wait_for(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let posts = if slack.received().len() > posts.len() {
        slack.received()
    } else {
        posts
    };
    assert_eq!(posts.len(), 1, "one message for the hand-over: {posts:?}");
    let text = String::from_utf8_lossy(&posts[0].body).into_owned();
    assert!(text.contains("handed the chat"), "{text}");
}
