//! Saved replies: kept by a channel's managers, used by its agents, filled
//! in for a case; in the browser, inserted with `/` and a few letters and
//! sent to the customer filled in (through the SMTP sink).

use serde_json::{Value, json};
use thirtyfour::prelude::*;

use crate::browser::{start_browser, wait_for_path};
use crate::harness::{Org, PASSWORD, Server};
use crate::mailservers::SmtpSink;

#[tokio::test]
async fn managers_keep_saved_replies_and_agents_use_them_filled_in() {
    let org = Org::new().await;
    let body = json!({"channel": org.support, "name": "thanks", "body": "Hi {{customer.name}}, thanks for case #{{case.number}}. {{agent.name}}"});
    // Agents and partners cannot add one; the channel's manager can.
    assert_eq!(
        org.amy
            .post("/api/v1/saved-replies", body.clone())
            .await
            .status,
        403
    );
    assert_eq!(
        org.pat
            .post("/api/v1/saved-replies", body.clone())
            .await
            .status,
        403
    );
    let created = org.max.post("/api/v1/saved-replies", body.clone()).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_u64().unwrap();
    assert_eq!(created.body["updated_by"], "max");
    // Someone outside the channel cannot add one there, nor see it.
    let elsewhere = org.bob.post("/api/v1/saved-replies", body.clone()).await;
    assert_eq!(
        elsewhere.status, 422,
        "a channel bob cannot see is not found: {}",
        elsewhere.text
    );
    assert_eq!(
        org.bob
            .get(&format!("/api/v1/saved-replies/{id}"))
            .await
            .status,
        404
    );
    assert_eq!(org.bob.get("/api/v1/saved-replies").await.body, json!([]));
    assert_eq!(org.pat.get("/api/v1/saved-replies").await.status, 403);

    // A typo in a placeholder never reaches a customer.
    let typo = org
        .max
        .post(
            "/api/v1/saved-replies",
            json!({"channel": org.support, "name": "x", "body": "Hi {{customer.nmae}}"}),
        )
        .await;
    assert_eq!(typo.status, 422, "{}", typo.text);
    assert!(
        typo.text.contains("customer.nmae") && typo.text.contains("{{customer.name}}"),
        "{}",
        typo.text
    );
    let unknown = org
        .max
        .post(
            "/api/v1/saved-replies",
            json!({"channel": org.support, "name": "x", "body": "y", "owner": "me"}),
        )
        .await;
    assert_eq!(unknown.status, 400);

    // Agents list them and get them filled in for a case.
    let listed = org
        .amy
        .get(&format!("/api/v1/saved-replies?channel={}", org.support))
        .await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    let number = org
        .amy
        .post(
            "/api/v1/cases",
            json!({"channel": org.support, "subject": "Help", "customer": {"name": "Jane", "email": "jane@example.com"}}),
        )
        .await
        .body["number"]
        .as_u64()
        .unwrap();
    let filled = org
        .amy
        .get(&format!("/api/v1/cases/{number}/saved-replies"))
        .await;
    assert_eq!(filled.status, 200, "{}", filled.text);
    assert_eq!(
        filled.body[0]["text"],
        format!("Hi Jane, thanks for case #{number}. amy")
    );
    let other = org.bob.create_case(org.sales, "Elsewhere").await;
    assert_eq!(
        org.amy
            .get(&format!("/api/v1/cases/{other}/saved-replies"))
            .await
            .status,
        404
    );

    // Only managers change or delete them; to someone outside the channel
    // the reply does not exist.
    let path = format!("/api/v1/saved-replies/{id}");
    assert_eq!(org.bob.patch(&path, json!({"name": "x"})).await.status, 404);
    assert_eq!(org.bob.delete(&path).await.status, 404);
    assert_eq!(
        org.amy.patch(&path, json!({"name": "mine"})).await.status,
        403
    );
    let renamed = org.max.patch(&path, json!({"name": "thank-you"})).await;
    assert_eq!(renamed.status, 200);
    assert_eq!(renamed.body["name"], "thank-you");
    assert_eq!(
        renamed.body["body"], body["body"],
        "what was not sent stays"
    );
    assert_eq!(org.amy.delete(&path).await.status, 403);
    assert_eq!(org.max.delete(&path).await.status, 204);
    assert_eq!(org.max.get(&path).await.status, 404);
}

#[tokio::test]
async fn a_saved_reply_is_inserted_in_the_composer_and_the_customer_gets_it_filled_in() {
    let sink = SmtpSink::start();
    let url = sink.url();
    let server = Server::start_fresh(&[("DOCKET_SMTP_URL", url.as_str())]);
    let org = Org::on(server).await;
    org.admin
        .patch(
            &format!("/api/v1/channels/{}", org.support),
            json!({"email_address": "help@desk.example"}),
        )
        .await;
    org.max
        .post(
            "/api/v1/saved-replies",
            json!({"channel": org.support, "name": "thanks", "body": "Hi {{customer.name}}, your case #{{case.number}} is fixed."}),
        )
        .await;
    let number = org
        .amy
        .post(
            "/api/v1/cases",
            json!({"channel": org.support, "subject": "Broken", "customer": {"name": "Jane", "email": "jane@example.com"}}),
        )
        .await
        .body["number"]
        .as_u64()
        .unwrap();

    let (_driver, web) = start_browser().await;
    let outcome = async {
        web.goto(org.server.url("/login")).await?;
        web.find(By::Id("username")).await?.send_keys("amy").await?;
        web.find(By::Id("password"))
            .await?
            .send_keys(PASSWORD)
            .await?;
        web.find(By::Id("login")).await?.click().await?;
        wait_for_path(&web, |p| p == "/inbox").await?;
        web.goto(org.server.url(&format!("/cases/{number}")))
            .await?;
        let body = web.find(By::Id("update-body")).await?;
        body.send_keys("/tha").await?;
        let mut offered = String::new();
        for _ in 0..50 {
            offered = web
                .execute(
                    "const p = document.querySelector('#reply-picker:not([hidden]) li[aria-selected=true]'); return p ? p.textContent : '';",
                    vec![],
                )
                .await?
                .json()
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if !offered.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(offered.contains("thanks"), "the picker offers the reply: {offered:?}");
        body.send_keys(Key::Enter).await?;
        let text = body.value().await?.unwrap_or_default();
        assert_eq!(text, format!("Hi Jane, your case #{number} is fixed."));
        web.find(By::Id("send-update-button"))
            .await?
            .click()
            .await?;
        // The page comes back with the update in the conversation.
        let mut sent = false;
        for _ in 0..100 {
            if let Ok(el) = web.find(By::Css(".thread .side-outbound")).await
                && el.text().await?.contains("is fixed")
            {
                sent = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(sent, "the update shows in the conversation");
        Ok::<_, WebDriverError>(())
    }
    .await;
    let _ = web.quit().await;
    outcome.unwrap();
    let received = sink.wait_for(1).await;
    assert_eq!(received[0].rcpt_tos, ["jane@example.com"]);
    assert!(
        received[0]
            .data
            .contains(&format!("Hi Jane, your case #{number} is fixed.")),
        "{}",
        received[0].data
    );
    // The text as typed, and the same as HTML beside it.
    let data = &received[0].data;
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(
        data.contains("text/plain") && data.contains("text/html"),
        "{data}"
    );
    let activity: Value = org
        .amy
        .get(&format!("/api/v1/cases/{number}/activity"))
        .await
        .body;
    assert!(activity.to_string().contains("is fixed"));
}

#[tokio::test]
async fn the_channel_page_keeps_saved_replies_for_managers_only() {
    let org = Org::new().await;
    let max = crate::web::Browser::new(&org.server);
    max.login("max", PASSWORD).await;
    let page_path = format!("/channels/{}", org.support);
    let (_, page, _) = max.get(&page_path).await;
    assert!(
        page.contains("id=\"new-saved-reply\""),
        "managers add saved replies"
    );
    let csrf = crate::web::field(&page, "csrf");
    let (status, _, location) = max
        .post(
            &format!("/channels/{}/saved-replies", org.support),
            &[
                ("csrf", &csrf),
                ("name", "hello"),
                ("body", "Hello {{customer.name}}"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    assert!(location.unwrap().ends_with("#saved-replies"));
    let id = org.max.get("/api/v1/saved-replies").await.body[0]["id"]
        .as_u64()
        .unwrap();
    let (status, page, _) = max
        .post(
            &format!("/saved-replies/{id}"),
            &[
                ("csrf", &csrf),
                ("name", "hello"),
                ("body", "Hi {{nobody}}"),
            ],
        )
        .await;
    assert_eq!(
        status, 422,
        "a bad placeholder is refused with a readable page"
    );
    assert!(page.contains("nobody"), "{page}");
    let (status, _, _) = max
        .post(
            &format!("/saved-replies/{id}"),
            &[
                ("csrf", &csrf),
                ("name", "hello"),
                ("body", "Hi {{customer.name}}!"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(
        org.max
            .get(&format!("/api/v1/saved-replies/{id}"))
            .await
            .body["body"],
        "Hi {{customer.name}}!"
    );

    let amy = crate::web::Browser::new(&org.server);
    amy.login("amy", PASSWORD).await;
    let (_, page, _) = amy.get(&page_path).await;
    assert!(
        page.contains("Hi {{customer.name}}!") && !page.contains("id=\"new-saved-reply\""),
        "agents read them"
    );
    let amy_csrf = crate::web::field(&page, "csrf");
    let (status, _, _) = amy
        .post(
            &format!("/saved-replies/{id}/delete"),
            &[("csrf", &amy_csrf)],
        )
        .await;
    assert_eq!(status, 403);
    let (status, _, _) = max
        .post(&format!("/saved-replies/{id}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(status, 303);
    assert_eq!(
        org.max.get("/api/v1/saved-replies").await.body,
        serde_json::json!([])
    );
}
