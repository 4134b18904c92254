//! The case page as a workspace: properties that save as they change
//! (over HTTP and in headless Chromium), field errors in words, the
//! profile of a type shown before it is saved, and the layout promises at
//! desk and phone sizes.

use serde_json::{Value, json};
use thirtyfour::prelude::*;

use crate::browser::{log_in, start_browser, wait_for_text};
use crate::harness::{Org, PASSWORD, Server};
use crate::web::{Browser, field};

/// Posts to the properties endpoint as the page's script does.
async fn save(browser: &Browser, number: u64, form: &[(&str, &str)]) -> (u16, Value) {
    let response = browser
        .http
        .post(format!("{}/cases/{number}/properties", browser.base))
        .header("x-docket-fetch", "1")
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn properties_save_one_at_a_time_and_refusals_name_the_field_in_words() {
    // The default plugins: the complaint type's profile needs an order number.
    let org = Org::on(Server::start_fresh(&[])).await;
    let number = org.amy.create_case(org.support, "Invoice twice").await;
    let browser = Browser::new(&org.server);
    browser.login("amy", PASSWORD).await;
    let csrf = browser.csrf().await;

    let (status, answer) = save(
        &browser,
        number,
        &[("csrf", &csrf), ("status", "in_progress")],
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["message"], "Status saved.");
    let (status, answer) = save(
        &browser,
        number,
        &[("csrf", &csrf), ("priority", "high"), ("assignee", "amy")],
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["message"], "Priority, Assignee saved.");
    let case = org.amy.get(&format!("/api/v1/cases/{number}")).await.body;
    assert_eq!(case["status"], "in_progress");
    assert_eq!(case["priority"], "high");
    assert_eq!(case["assignee"], "amy");
    // Only what was posted changed.
    assert_eq!(case["subject"], "Invoice twice");
    let activity = org
        .amy
        .get(&format!("/api/v1/cases/{number}/activity"))
        .await
        .body;
    let kinds: Vec<&str> = activity
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"status_changed") && kinds.contains(&"assigned"),
        "{kinds:?}"
    );

    // A bad value: its field, its label, a sentence; nothing saved.
    let (status, answer) = save(
        &browser,
        number,
        &[("csrf", &csrf), ("priority", "whenever")],
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["errors"][0]["field"], "priority");
    assert_eq!(answer["errors"][0]["label"], "Priority");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .starts_with("Priority: "),
        "{answer}"
    );
    let (status, answer) = save(&browser, number, &[("csrf", &csrf), ("assignee", "bob")]).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["errors"][0]["label"], "Assignee");
    assert!(
        !answer["message"].as_str().unwrap().contains("assignee:"),
        "{answer}"
    );

    // A type whose profile requires a field: refused until it is given,
    // with the field's own label.
    let (status, answer) = save(
        &browser,
        number,
        &[("csrf", &csrf), ("case_type", "complaint")],
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["errors"][0]["field"], "profile.order_number");
    assert_eq!(answer["errors"][0]["label"], "Order number");
    assert_eq!(
        org.amy.get(&format!("/api/v1/cases/{number}")).await.body["type"],
        Value::Null
    );
    let (status, answer) = save(
        &browser,
        number,
        &[
            ("csrf", &csrf),
            ("case_type", "complaint"),
            ("profile.order_number", "A-1001"),
            ("profile.amount", ""),
        ],
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let case = org.amy.get(&format!("/api/v1/cases/{number}")).await.body;
    assert_eq!(case["type"], "complaint");
    assert_eq!(case["profile"]["order_number"], "A-1001");

    // The panel's fields of a type, before anything is saved.
    let (status, fragment, _) = browser
        .get(&format!("/cases/{number}/profile-fields?type=complaint"))
        .await;
    assert_eq!(status, 200);
    assert!(
        fragment.contains("Order number") && fragment.contains("name=\"profile.order_number\"")
    );
    assert!(fragment.contains(" required"), "{fragment}");

    // Unknown fields, a missing CSRF token, and someone who may not see it.
    let (status, answer) = save(&browser, number, &[("csrf", &csrf), ("owner", "x")]).await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = save(&browser, number, &[("status", "open")]).await;
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("reload"),
        "{answer}"
    );
    let outsider = Browser::new(&org.server);
    outsider.login("bob", PASSWORD).await;
    let bob_csrf = outsider.csrf().await;
    let (status, _) = save(
        &outsider,
        number,
        &[("csrf", &bob_csrf), ("status", "open")],
    )
    .await;
    assert_eq!(status, 404, "a case bob may not see is missing to him");
    assert_eq!(
        org.amy.get(&format!("/api/v1/cases/{number}")).await.body["status"],
        "in_progress"
    );

    // Without script the same form posts and comes back to the case.
    let (status, _, location) = browser
        .post(
            &format!("/cases/{number}/properties"),
            &[("csrf", &csrf), ("status", "waiting_for_customer")],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(
        location.as_deref(),
        Some(format!("/cases/{number}").as_str())
    );
    let (status, page, _) = browser
        .post(
            &format!("/cases/{number}/properties"),
            &[("csrf", &csrf), ("priority", "whenever")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        page.contains("priority"),
        "the error page says what was wrong"
    );
}

#[tokio::test]
async fn partners_get_no_properties_panel_and_cannot_save_one() {
    let org = Org::new().await;
    let number = org.pat.create_case(org.support, "Partner asks").await;
    let browser = Browser::new(&org.server);
    browser.login("pat", PASSWORD).await;
    let (_, page, _) = browser.get(&format!("/cases/{number}")).await;
    assert!(
        !page.contains("id=\"properties\""),
        "no properties panel for partners"
    );
    let csrf = field(&page, "csrf");
    let (status, _) = save(&browser, number, &[("csrf", &csrf), ("status", "resolved")]).await;
    assert_eq!(status, 403);
    assert_eq!(
        org.pat.get(&format!("/api/v1/cases/{number}")).await.body["status"],
        "open"
    );
}

/// Where an element's top edge is on the page, in CSS pixels.
async fn top_of(web: &WebDriver, css: &str) -> f64 {
    let value = web
        .execute(
            "const el = document.querySelector(arguments[0]); return el ? el.getBoundingClientRect().top + window.scrollY : -1;",
            vec![json!(css)],
        )
        .await
        .unwrap();
    value.json().as_f64().unwrap()
}

pub(crate) async fn scrolls_sideways(web: &WebDriver) -> bool {
    web.execute(
        "return document.documentElement.scrollWidth > window.innerWidth;",
        vec![],
    )
    .await
    .unwrap()
    .json()
    .as_bool()
    .unwrap()
}

/// Saves a screenshot when `DOCKET_SCREENSHOTS` names a folder
/// (`scripts/screenshots` does, for the README).
pub(crate) async fn screenshot(web: &WebDriver, name: &str) {
    if let Ok(dir) = std::env::var("DOCKET_SCREENSHOTS") {
        std::fs::create_dir_all(&dir).unwrap();
        web.screenshot(&std::path::Path::new(&dir).join(format!("{name}.png")))
            .await
            .unwrap();
    }
}

/// Polls until the element `css` names says `wanted`.
async fn wait_for_containing(web: &WebDriver, css: &str, wanted: &str) -> String {
    crate::browser::wait_for_containing(web, By::Css(css), wanted)
        .await
        .unwrap()
}

async fn choose(web: &WebDriver, select: &str, value: &str) {
    web.execute(
        "const el = document.getElementById(arguments[0]); el.value = arguments[1]; el.dispatchEvent(new Event('change', {bubbles: true}));",
        vec![json!(select), json!(value)],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn the_case_page_is_a_workspace_at_desk_and_phone_sizes() {
    let server = Server::start_fresh(&[]);
    let admin = server.admin().await;
    let channel = admin.create_channel("Support").await;
    admin
        .patch(
            &format!("/api/v1/channels/{channel}"),
            json!({"email_address": "help@desk.example"}),
        )
        .await;
    let number = admin
        .post(
            "/api/v1/cases",
            json!({"channel": channel, "subject": "The printer prints only blank pages",
                   "customer": {"name": "Jane Doe", "email": "jane@example.com"}}),
        )
        .await
        .body["number"]
        .as_u64()
        .unwrap();
    let path = format!("/api/v1/cases/{number}");
    for (direction, from, body) in [
        (
            "inbound",
            "Jane Doe",
            "Since Monday every page comes out blank. I replaced the toner already.",
        ),
        (
            "outbound",
            "",
            "Thanks Jane. Could you print the test page from the printer's menu and tell me what it shows?",
        ),
        ("inbound", "Jane Doe", "The test page is blank too."),
    ] {
        let mut message = json!({"direction": direction, "body": body});
        if !from.is_empty() {
            message["from"] = json!(from);
        }
        assert_eq!(
            admin
                .post(&format!("{path}/messages"), message)
                .await
                .status,
            201
        );
    }
    admin
        .post(
            &format!("{path}/notes"),
            json!({"body": "Probably the fuser. Log said <title>Error 500</title>."}),
        )
        .await;

    let (_driver, web) = start_browser().await;
    let outcome = async {
        web.set_window_rect(0, 0, 1440, 900).await?;
        web.goto(server.url("/inbox")).await?;
        log_in(&web).await?;
        web.goto(server.url(&format!("/cases/{number}"))).await?;
        wait_for_text(&web, By::Id("case-status"), "Open").await?;
        let first = top_of(&web, ".thread .side-inbound, .thread .side-outbound").await;
        assert!(
            (0.0..450.0).contains(&first),
            "the first message starts at {first}px"
        );
        assert!(!scrolls_sideways(&web).await);
        // Markup in a note is shown as typed.
        let note = web
            .find(By::Css(".side-note .markdown"))
            .await?
            .text()
            .await?;
        assert!(note.contains("<title>Error 500</title>"), "{note}");
        screenshot(&web, "case-1440").await;

        // Each property saves without a page load and says so.
        web.execute("window.__samePage = true;", vec![]).await?;
        choose(&web, "status", "in_progress").await;
        wait_for_containing(&web, "#save-state", "Status saved.").await;
        wait_for_text(&web, By::Id("case-status"), "In progress").await?;
        choose(&web, "assignee", "admin").await;
        wait_for_containing(&web, "#save-state", "Assignee saved.").await;
        choose(&web, "priority", "high").await;
        wait_for_containing(&web, "#save-state", "Priority saved.").await;
        let same = web
            .execute("return window.__samePage === true;", vec![])
            .await?;
        assert_eq!(same.json(), &json!(true), "no full page load");
        let case = admin.get(&path).await.body;
        assert_eq!(
            (
                case["status"].as_str(),
                case["assignee"].as_str(),
                case["priority"].as_str()
            ),
            (Some("in_progress"), Some("admin"), Some("high"))
        );
        let activity = admin.get(&format!("{path}/activity")).await.body;
        let kinds: Vec<String> = activity
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect();
        for kind in ["status_changed", "assigned", "fields_changed"] {
            assert!(
                kinds.iter().any(|k| k == kind),
                "{kind} recorded: {kinds:?}"
            );
        }

        // Choosing a type shows its fields at once; a required one is
        // marked and nothing is saved until it has a value.
        let kind = web.find(By::Id("case-type")).await?;
        kind.send_keys("complaint").await?;
        kind.send_keys(Key::Tab).await?;
        wait_for_containing(&web, "#profile-fields", "Order number").await;
        wait_for_containing(&web, "#save-state", "needs 1 more field").await;
        let marked = web
            .find(By::Css("[data-field='profile.order_number'] .field-error"))
            .await?
            .text()
            .await?;
        assert!(marked.contains("Required"), "{marked}");
        assert_eq!(
            admin.get(&path).await.body["type"],
            Value::Null,
            "not saved yet"
        );
        let order = web.find(By::Id("profile-order_number")).await?;
        order.send_keys("A-1001").await?;
        order.send_keys(Key::Tab).await?;
        wait_for_containing(&web, "#save-state", "saved").await;
        let case = admin.get(&path).await.body;
        assert_eq!(case["type"], "complaint");
        assert_eq!(case["profile"]["order_number"], "A-1001");
        assert_eq!(
            web.find(By::Id("case-type"))
                .await?
                .value()
                .await?
                .as_deref(),
            Some("complaint"),
            "what was typed stays"
        );

        // A refused value is shown beside its field, in words.
        let estimate = web.find(By::Id("estimate")).await?;
        estimate.send_keys("soon").await?;
        estimate.send_keys(Key::Tab).await?;
        let error =
            wait_for_containing(&web, "[data-field='estimate'] .field-error", "duration").await;
        assert!(!error.contains("estimate:"), "{error}");
        assert_eq!(
            web.find(By::Id("estimate"))
                .await?
                .value()
                .await?
                .as_deref(),
            Some("soon"),
            "nothing typed is lost"
        );

        // A note's Markdown is previewed as it will show.
        web.find(By::Id("tab-note")).await?.click().await?;
        web.find(By::Id("note-body"))
            .await?
            .send_keys("Try **the fuser** first <b>")
            .await?;
        web.find(By::Id("preview-note")).await?.click().await?;
        let preview = wait_for_containing(&web, "#note-preview", "the fuser").await;
        assert!(preview.contains("<b>"), "markup shows as typed: {preview}");
        let bold = web.find(By::Css("#note-preview strong")).await?.text().await?;
        assert_eq!(bold, "the fuser");
        web.find(By::Id("tab-reply")).await?.click().await?;

        // A file dropped on the reply attaches it.
        let attached = web
            .execute(
                "const form = document.getElementById('send-update');
                 const drop = (...names) => {
                   const data = new DataTransfer();
                   for (const name of names) data.items.add(new File(['printer log'], name, { type: 'text/plain' }));
                   form.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
                 };
                 drop('printer.log', 'photo.jpg');
                 drop('settings.txt');
                 return [...document.getElementById('update-file').files].map((f) => f.name);",
                vec![],
            )
            .await?;
        // Several files at once, and a later drop adds to them.
        assert_eq!(
            attached.json(),
            &json!(["printer.log", "photo.jpg", "settings.txt"])
        );

        // On a phone: nothing wider than the screen, the conversation first.
        web.set_window_rect(0, 0, 390, 844).await?;
        web.goto(server.url(&format!("/cases/{number}"))).await?;
        wait_for_text(&web, By::Id("case-status"), "In progress").await?;
        assert!(
            !scrolls_sideways(&web).await,
            "the case page scrolls sideways on a phone"
        );
        let thread = top_of(&web, ".thread").await;
        let properties = top_of(&web, "#properties").await;
        assert!(
            thread < properties,
            "conversation ({thread}) before properties ({properties})"
        );
        screenshot(&web, "case-390").await;
        Ok::<_, WebDriverError>(())
    }
    .await;
    let _ = web.quit().await;
    outcome.unwrap();
}

#[tokio::test]
async fn a_form_over_the_size_limit_gets_a_page_a_person_reads() {
    let org = Org::new().await;
    let number = org.amy.create_case(org.support, "Long log").await;
    let browser = Browser::new(&org.server);
    browser.login("amy", PASSWORD).await;
    let csrf = browser.csrf().await;
    let huge = "x".repeat(1_200_000);
    let (status, page, _) = browser
        .post(
            &format!("/cases/{number}/notes"),
            &[("csrf", &csrf), ("body", &huge)],
        )
        .await;
    assert_eq!(status, 413);
    assert!(page.contains("<!doctype html>"), "a page, not problem JSON");
    assert!(
        page.contains("larger than this desk takes (1 MB)")
            && page.contains("attach long logs as a file"),
        "{page}"
    );
    // The API keeps its problem documents (tests/it/bad_input.rs).
}

#[tokio::test]
async fn a_refused_new_case_comes_back_with_everything_typed_and_the_problem_beside_its_field() {
    let org = Org::on(Server::start_fresh(&[])).await;
    let browser = Browser::new(&org.server);
    browser.login("amy", PASSWORD).await;
    let csrf = browser.csrf().await;
    let support = org.support.to_string();
    let form = [
        ("csrf", csrf.as_str()),
        ("channel", support.as_str()),
        ("subject", "Refund for the kettle"),
        ("description", "It leaks <badly>."),
        ("case_type", "complaint"),
        ("customer_name", "Jane"),
        ("customer_email", "jane@example.com"),
    ];
    let (status, page, _) = browser.post("/cases", &form).await;
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains("The case was not created. Order number is required."),
        "{page}"
    );
    assert!(
        page.contains("value=\"Refund for the kettle\""),
        "the subject typed stays"
    );
    assert!(
        page.contains("It leaks &#60;badly&#62;.") || page.contains("It leaks &lt;badly&gt;."),
        "the description typed stays"
    );
    assert!(page.contains("value=\"jane@example.com\""));
    assert!(
        page.contains("name=\"profile.order_number\""),
        "the type's fields are there"
    );
    assert!(
        page.contains("id=\"profile-order_number-error\">Order number is required</p>"),
        "the problem is beside its field: {page}"
    );
    assert!(!page.contains("profile.order_number:"), "no internal keys");
    assert_eq!(
        org.amy.get("/api/v1/cases?view=all").await.body["items"],
        json!([]),
        "nothing was created"
    );

    // A bad address is named by its label beside its field.
    let mut bad = form.to_vec();
    bad.retain(|(k, _)| *k != "case_type");
    bad.retain(|(k, _)| *k != "customer_email");
    bad.push(("customer_email", "not-an-address"));
    let (status, page, _) = browser.post("/cases", &bad).await;
    assert_eq!(status, 422);
    assert!(page.contains("Customer email:"), "{page}");
    assert!(page.contains("id=\"customer_email-error\""), "{page}");

    // Given the order number, the case is created.
    let mut good = form.to_vec();
    good.push(("profile.order_number", "K-1"));
    let (status, _, location) = browser.post("/cases", &good).await;
    assert_eq!(status, 303);
    let number: u64 = location
        .unwrap()
        .trim_start_matches("/cases/")
        .parse()
        .unwrap();
    let case = org.amy.get(&format!("/api/v1/cases/{number}")).await.body;
    assert_eq!(case["profile"]["order_number"], "K-1");

    // The form asks for a type's fields before anything is saved.
    let (status, fragment, _) = browser
        .get("/cases/new/profile-fields?type=complaint")
        .await;
    assert_eq!(status, 200);
    assert!(fragment.contains("Order number"));
}

#[tokio::test]
async fn a_note_preview_is_sanitised_and_only_for_those_who_see_the_case() {
    let org = Org::new().await;
    let number = org.amy.create_case(org.support, "Preview").await;
    let amy = Browser::new(&org.server);
    amy.login("amy", PASSWORD).await;
    let csrf = amy.csrf().await;
    let path = format!("/cases/{number}/preview");
    let (status, html, _) = amy
        .post(
            &path,
            &[
                ("csrf", &csrf),
                (
                    "body",
                    "**x** <script>alert(1)</script> [a](javascript:alert(1))",
                ),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("<strong>x</strong>"), "{html}");
    assert!(
        !html.contains("<script") && !html.contains("href=\"javascript"),
        "{html}"
    );
    let bob = Browser::new(&org.server);
    bob.login("bob", PASSWORD).await;
    let bob_csrf = bob.csrf().await;
    let (status, _, _) = bob.post(&path, &[("csrf", &bob_csrf), ("body", "x")]).await;
    assert_eq!(status, 404);
    let (status, _, _) = amy.post(&path, &[("body", "x")]).await;
    assert_eq!(status, 400, "no CSRF field, no preview");
    let (status, _, _) = amy
        .post(&path, &[("csrf", "not-the-token"), ("body", "x")])
        .await;
    assert_eq!(status, 403, "a wrong CSRF token, no preview");
}

#[tokio::test]
async fn merging_from_the_case_page_shows_a_preview_and_a_bad_number_stays_in_its_box() {
    let server = Server::start_fresh(&[]);
    let admin = server.admin().await;
    let channel = admin.create_channel("Support").await;
    let target = admin.create_case(channel, "Printer broken").await;
    let source = admin.create_case(channel, "Printer still broken").await;
    admin
        .post(
            &format!("/api/v1/cases/{source}/messages"),
            json!({"direction": "inbound", "body": "It jams on page two"}),
        )
        .await;
    let (_driver, web) = start_browser().await;
    let outcome = async {
        web.set_window_rect(0, 0, 1440, 900).await?;
        web.goto(server.url("/inbox")).await?;
        log_in(&web).await?;
        web.goto(server.url(&format!("/cases/{target}"))).await?;
        wait_for_text(&web, By::Id("case-status"), "Open").await?;
        web.find(By::Css("#case-menu summary"))
            .await?
            .click()
            .await?;
        let sources = web.find(By::Id("merge-sources")).await?;
        sources.send_keys("99999").await?;
        web.find(By::Id("merge")).await?.click().await?;
        wait_for_containing(&web, "#merge-sources-error", "Case #99999 not found").await;
        assert_eq!(sources.value().await?.as_deref(), Some("99999"));
        assert_eq!(sources.attr("aria-invalid").await?.as_deref(), Some("true"));
        sources.clear().await?;
        sources.send_keys(source.to_string()).await?;
        web.find(By::Id("merge")).await?.click().await?;
        let dialog = wait_for_containing(&web, "#confirm-dialog", "Printer still broken").await;
        assert!(
            dialog.contains(&format!("Merge #{source} into #{target}?")),
            "{dialog}"
        );
        assert!(dialog.contains("1 message"), "{dialog}");
        assert!(
            !web.find(By::Id("merge-sources-error"))
                .await?
                .is_displayed()
                .await?,
            "the old refusal is gone"
        );
        screenshot(&web, "merge-preview-1440").await;
        // Shortcuts do not act on the page behind the dialog: `e` would
        // close the case.
        web.active_element().await?.send_keys("e").await?;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(
            admin.get(&format!("/api/v1/cases/{target}")).await.body["status"],
            "open"
        );
        // Cancel closes the dialog and changes nothing.
        web.find(By::Css("#confirm-dialog [data-dismiss]"))
            .await?
            .click()
            .await?;
        assert!(
            !web.find(By::Id("confirm-dialog"))
                .await?
                .is_displayed()
                .await?
        );
        assert_eq!(
            admin.get(&format!("/api/v1/cases/{source}")).await.body["status"],
            "open"
        );
        // On a phone the dialog fits the screen.
        web.set_window_rect(0, 0, 390, 844).await?;
        // The menu closed when its dialog opened.
        web.find(By::Css("#case-menu summary"))
            .await?
            .click()
            .await?;
        web.find(By::Id("merge")).await?.click().await?;
        wait_for_containing(&web, "#confirm-dialog", "Printer still broken").await;
        assert!(
            !scrolls_sideways(&web).await,
            "the preview scrolls sideways on a phone"
        );
        let right = web
            .execute(
                "return document.getElementById('confirm-dialog').getBoundingClientRect().right;",
                vec![],
            )
            .await?;
        assert!(right.json().as_f64().unwrap() <= 390.0, "{right:?}");
        screenshot(&web, "merge-preview-390").await;
        web.find(By::Id("confirm-action")).await?.click().await?;
        wait_for_containing(&web, ".thread", "It jams on page two").await;
        // Without script the preview is a page: a refused number comes back
        // in its box, beside the reason, at both sizes.
        for (width, height) in [(1440, 900), (390, 844)] {
            web.set_window_rect(0, 0, width, height).await?;
            web.goto(server.url(&format!("/cases/{target}/merge?sources=99999")))
                .await?;
            let field = web.find(By::Id("confirm-field")).await?;
            assert_eq!(field.value().await?.as_deref(), Some("99999"));
            assert!(
                web.find(By::Id("confirm-error"))
                    .await?
                    .text()
                    .await?
                    .contains("not found")
            );
            assert!(
                !scrolls_sideways(&web).await,
                "the preview page scrolls sideways at {width}"
            );
            screenshot(&web, &format!("confirm-page-{width}")).await;
        }
        Ok::<_, WebDriverError>(())
    }
    .await;
    let _ = web.quit().await;
    outcome.unwrap();
    assert_eq!(
        admin.get(&format!("/api/v1/cases/{source}")).await.body["status"],
        "resolved"
    );
}
