//! The language model's help against a local stand-in for an
//! OpenAI-compatible chat endpoint: every request is checked as the real
//! API reads it, and a failing or missing model changes nothing else.

use serde_json::{Value, json};

use crate::harness::{ADMIN_PASSWORD, Client, PASSWORD, Server};
use crate::receiver::{Receiver, Request};

/// What the chat completions API answers.
pub(crate) fn completion(text: &str) -> Vec<u8> {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": "desk-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}
    })
    .to_string()
    .into_bytes()
}

/// The request as the real API requires it: POST to
/// `/v1/chat/completions`, JSON, the key as a bearer token, a model, and
/// messages with known roles and text content.
fn checked(request: &Request) -> (String, String) {
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(
        request.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    assert_eq!(
        request.headers.get("authorization").map(String::as_str),
        Some("Bearer sk-desk-test")
    );
    let body = request.json();
    assert_eq!(body["model"], "desk-model");
    assert_eq!(body["stream"], false);
    assert!(body["max_tokens"].as_u64().is_some_and(|n| n > 0), "{body}");
    let messages = body["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 2, "{body}");
    for m in messages {
        assert!(
            matches!(m["role"].as_str(), Some("system" | "user" | "assistant")),
            "{m}"
        );
        assert!(m["content"].is_string(), "{m}");
    }
    assert_eq!(messages[0]["role"], "system");
    assert_eq!(messages[1]["role"], "user");
    (
        messages[0]["content"].as_str().unwrap().to_owned(),
        messages[1]["content"].as_str().unwrap().to_owned(),
    )
}

pub(crate) fn with_model(dir: &std::path::Path, model: &Receiver) -> Server {
    with_model_and(dir, model, None)
}

/// As [`with_model`], with one more service (a Slack stand-in) allowed.
pub(crate) fn with_model_and(
    dir: &std::path::Path,
    model: &Receiver,
    other: Option<&Receiver>,
) -> Server {
    let allow = match other {
        Some(other) => format!("{},{}", model.address, other.address),
        None => model.address.clone(),
    };
    let config = dir.join("docket.toml");
    std::fs::write(
        &config,
        format!(
            "[llm]\nurl = \"{}/v1\"\nmodel = \"desk-model\"\nmax_tokens = 300\n",
            model.url()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("data/plugins")).unwrap();
    Server::start_in(
        &dir.join("data"),
        &[
            ("DOCKET_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("DOCKET_CONFIG", config.to_str().unwrap()),
            ("DOCKET_LLM_API_KEY", "sk-desk-test"),
            ("DOCKET_WEBHOOK_ALLOW", &allow),
        ],
    )
}

async fn case_with_conversation(admin: &Client) -> (u64, u64) {
    let channel = admin.create_channel("Support").await;
    let number = admin
        .create_case(channel, "Printer prints blank pages")
        .await;
    admin
        .post(
            &format!("/api/v1/cases/{number}/messages"),
            json!({"direction": "inbound", "from": "jane@example.com",
                   "body": "Every page comes out blank since Monday."}),
        )
        .await;
    admin
        .post(
            &format!("/api/v1/cases/{number}/notes"),
            json!({"body": "Internal: Jane is on the gold plan."}),
        )
        .await;
    (channel, number)
}

#[tokio::test]
async fn summary_and_draft_come_from_the_model_and_drafts_read_no_notes() {
    let model = Receiver::start().await;
    *model.answer.lock().unwrap() = (
        200,
        "application/json",
        completion("- Jane's printer prints blank pages since Monday."),
    );
    let dir = tempfile::tempdir().unwrap();
    let server = with_model(dir.path(), &model);
    let admin = server.admin().await;
    let (channel, number) = case_with_conversation(&admin).await;
    let before = admin
        .get(&format!("/api/v1/cases/{number}/activity"))
        .await
        .body;

    let summary = admin
        .post(&format!("/api/v1/cases/{number}/summary"), json!({}))
        .await;
    assert_eq!(summary.status, 200, "{}", summary.text);
    assert_eq!(summary.body["model"], "desk-model");
    assert_eq!(
        summary.body["text"],
        "- Jane's printer prints blank pages since Monday."
    );
    let (instructions, text) = checked(&model.wait_for(1).await[0]);
    assert!(instructions.contains("Summarise"), "{instructions}");
    assert!(text.contains("Printer prints blank pages"), "{text}");
    assert!(text.contains("Every page comes out blank"), "{text}");
    assert!(
        text.contains("gold plan"),
        "a summary for colleagues reads notes: {text}"
    );

    *model.answer.lock().unwrap() = (
        200,
        "application/json",
        completion("Hello Jane, could you print a test page from the printer's menu?"),
    );
    let draft = admin
        .post(&format!("/api/v1/cases/{number}/draft"), json!({}))
        .await;
    assert_eq!(draft.status, 200, "{}", draft.text);
    assert!(
        draft.body["text"]
            .as_str()
            .unwrap()
            .starts_with("Hello Jane")
    );
    let (instructions, text) = checked(&model.wait_for(2).await[1]);
    assert!(instructions.contains("reply"), "{instructions}");
    assert!(text.contains("Every page comes out blank"), "{text}");
    assert!(
        !text.contains("gold plan"),
        "a draft for the customer reads no notes: {text}"
    );
    // Nothing was stored or sent.
    let after = admin
        .get(&format!("/api/v1/cases/{number}/activity"))
        .await
        .body;
    assert_eq!(before, after);

    // Who may ask: staff who see the case; partners get no summary and
    // cannot answer cases; someone outside the channel sees nothing.
    admin.create_user("pat", "partner").await;
    admin.add_member(channel, "pat", "agent").await;
    let pat = Client::login(&server, "pat", PASSWORD).await;
    let pat_case = pat.create_case(channel, "From a partner").await;
    assert_eq!(
        pat.post(&format!("/api/v1/cases/{pat_case}/summary"), json!({}))
            .await
            .status,
        403
    );
    assert_eq!(
        pat.post(&format!("/api/v1/cases/{pat_case}/draft"), json!({}))
            .await
            .status,
        403
    );
    admin.create_user("bob", "user").await;
    let bob = Client::login(&server, "bob", PASSWORD).await;
    assert_eq!(
        bob.post(&format!("/api/v1/cases/{number}/summary"), json!({}))
            .await
            .status,
        404
    );
    assert_eq!(
        model.received().len(),
        2,
        "refused requests never reach the model"
    );

    // The model refusing (a wrong key) is reported, and nothing else changes.
    *model.answer.lock().unwrap() = (
        401,
        "application/json",
        json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
            .to_string()
            .into_bytes(),
    );
    let refused = admin
        .post(&format!("/api/v1/cases/{number}/summary"), json!({}))
        .await;
    assert_eq!(refused.status, 502, "{}", refused.text);
    assert!(
        refused.text.contains("Incorrect API key"),
        "{}",
        refused.text
    );
    let other = admin.create_case(channel, "Still works").await;
    assert!(other > number);
}

#[tokio::test]
async fn without_a_model_nothing_is_offered_and_nothing_else_changes() {
    let server = Server::start();
    let admin = server.admin().await;
    let (_, number) = case_with_conversation(&admin).await;
    let summary = admin
        .post(&format!("/api/v1/cases/{number}/summary"), json!({}))
        .await;
    assert_eq!(summary.status, 409, "{}", summary.text);
    assert!(
        summary.text.contains("no language model"),
        "{}",
        summary.text
    );
    let web = crate::web::Browser::new(&server);
    web.login("admin", ADMIN_PASSWORD).await;
    let (_, page, _) = web.get(&format!("/cases/{number}")).await;
    assert!(!page.contains("id=\"summarize\""), "{page}");
    assert!(!page.contains("id=\"draft-reply\""));
}

#[tokio::test]
async fn a_model_address_off_the_allow_list_stops_the_server_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("docket.toml");
    std::fs::write(&config, "[llm]\nurl = \"https://llm.example.net/v1\"\n").unwrap();
    let output = std::process::Command::new(crate::harness::docket_bin())
        .args(["serve", "--bind", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .env("DOCKET_CONFIG", &config)
        .env("DOCKET_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("DOCKET_LOG", "warn")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("llm.example.net") && err.contains("not allowed"),
        "{err}"
    );
}

#[tokio::test]
async fn in_the_browser_the_summary_and_the_draft_say_where_they_came_from() {
    use thirtyfour::prelude::*;
    let model = Receiver::start().await;
    *model.answer.lock().unwrap() = (
        200,
        "application/json",
        completion("Jane's printer prints blank pages; nothing tried yet."),
    );
    let dir = tempfile::tempdir().unwrap();
    let server = with_model(dir.path(), &model);
    let admin = server.admin().await;
    let (channel, number) = case_with_conversation(&admin).await;
    admin
        .patch(
            &format!("/api/v1/channels/{channel}"),
            json!({"email_address": "help@desk.example"}),
        )
        .await;
    let (_driver, web) = crate::browser::start_browser().await;
    let outcome = async {
        web.set_window_rect(0, 0, 1440, 900).await?;
        web.goto(server.url("/inbox")).await?;
        crate::browser::log_in(&web).await?;
        web.goto(server.url(&format!("/cases/{number}"))).await?;
        web.find(By::Id("summarize")).await?.click().await?;
        let summary =
            crate::browser::wait_for_containing(&web, By::Id("summary-panel"), "nothing tried yet")
                .await?;
        assert!(summary.contains("Summary by desk-model"), "{summary}");
        assert!(summary.contains("language model"), "{summary}");
        *model.answer.lock().unwrap() = (
            200,
            "application/json",
            completion("Hello Jane, please print a test page."),
        );
        let body = web.find(By::Id("update-body")).await?;
        body.send_keys("Thanks for writing.").await?;
        web.find(By::Id("draft-reply")).await?.click().await?;
        crate::browser::wait_for_containing(&web, By::Id("draft-note"), "Drafted by desk-model")
            .await?;
        let value = body.value().await?.unwrap_or_default();
        assert_eq!(
            value,
            "Thanks for writing.\n\nHello Jane, please print a test page."
        );
        crate::workspace::screenshot(&web, "assist-1440").await;
        web.set_window_rect(0, 0, 390, 844).await?;
        web.find(By::Id("summary-panel"))
            .await?
            .scroll_into_view()
            .await?;
        assert!(
            !crate::workspace::scrolls_sideways(&web).await,
            "the summary scrolls sideways on a phone"
        );
        crate::workspace::screenshot(&web, "assist-390").await;
        Ok::<_, WebDriverError>(())
    }
    .await;
    let _ = web.quit().await;
    outcome.unwrap();
    // The draft was never sent.
    let activity = admin
        .get(&format!("/api/v1/cases/{number}/activity?filter=messages"))
        .await
        .body;
    assert_eq!(activity.as_array().unwrap().len(), 1, "{activity}");
    let _: Value = activity;
}
