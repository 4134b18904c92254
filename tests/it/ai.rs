//! The AI agent against the real binary: it learns from an imported
//! archive whose categories people chose, scores itself on held-out
//! cases, files what it is sure of (recorded as its own), suggests the
//! rest, learns from corrections, and never swaps in a worse model.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::harness::{ADMIN_PASSWORD, Client, Server, docket_bin, run_cli};

/// A data directory holding a generated archive of `cases` cases.
fn imported(dir: &Path, cases: u32, seed: u32) -> PathBuf {
    let data = dir.join("data");
    let archive = dir.join("archive.ndjson");
    let output = std::process::Command::new(docket_bin())
        .args([
            "gen",
            "--cases",
            &cases.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    std::fs::write(&archive, output.stdout).unwrap();
    let (ok, _, err) = run_cli(&data, &["import", archive.to_str().unwrap()], None);
    assert!(ok, "{err}");
    data
}

fn label<'a>(model: &'a Value, name: &str) -> &'a Value {
    model["labels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["label"] == name)
        .unwrap_or_else(|| panic!("no label {name} in {model}"))
}

#[test]
fn cross_validation_on_the_archive_beats_the_keyword_plugins() {
    let dir = tempfile::tempdir().unwrap();
    let data = imported(dir.path(), 2_000, 11);
    let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins");
    let (ok, out, err) = run_cli(
        &data,
        &[
            "ai",
            "evaluate",
            "--folds",
            "5",
            "--json",
            "--plugins",
            plugins.to_str().unwrap(),
        ],
        None,
    );
    assert!(ok, "{err}");
    let figures: Value = serde_json::from_str(&out).unwrap();
    let category = &figures["models"]["category"];
    let accuracy = category["accuracy"].as_f64().unwrap();
    assert!(accuracy >= 0.9, "category accuracy {accuracy}: {category}");
    let spam = &figures["models"]["spam"];
    let spam_recall = label(spam, "spam")["recall"].as_f64().unwrap();
    let ham_kept = label(spam, "ham")["recall"].as_f64().unwrap();
    assert!(spam_recall >= 0.95, "spam recall {spam_recall}");
    assert!(ham_kept >= 0.99, "{:.3} of ham marked spam", 1.0 - ham_kept);
    // The keyword plugins it replaces do worse on the same cases.
    let rules = &figures["rules"];
    assert!(
        rules["category_accuracy"].as_f64().unwrap() < accuracy,
        "{rules}"
    );
    assert!(
        rules["spam_recall"].as_f64().unwrap() < spam_recall,
        "{rules}"
    );
    // The human-readable form says the same.
    let (ok, out, _) = run_cli(&data, &["ai", "evaluate", "--plugins", "none"], None);
    assert!(ok);
    assert!(
        out.contains("category: accuracy") && out.contains("spam"),
        "{out}"
    );
    // Bad folds are refused in words.
    let (ok, _, err) = run_cli(&data, &["ai", "evaluate", "--folds", "1"], None);
    assert!(!ok && err.contains("folds"), "{err}");
}

async fn channel_id(admin: &Client, name: &str) -> u64 {
    admin
        .get("/api/v1/channels")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()["id"]
        .as_u64()
        .unwrap()
}

async fn open_case(admin: &Client, channel: u64, subject: &str, description: &str) -> Value {
    let created = admin
        .post(
            "/api/v1/cases",
            json!({"channel": channel, "subject": subject, "description": description,
                   "customer": {"email": "jane@example.net"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.body
}

#[tokio::test]
async fn the_agent_files_what_it_is_sure_of_suggests_the_rest_and_learns_from_people() {
    let dir = tempfile::tempdir().unwrap();
    let data = imported(dir.path(), 1_500, 5);
    let server = Server::start_in(&data, &[("DOCKET_ADMIN_PASSWORD", ADMIN_PASSWORD)]);
    let admin = server.admin().await;

    let trained = admin.post("/api/v1/ai/train", json!({})).await;
    assert_eq!(trained.status, 200, "{}", trained.text);
    assert!(
        trained.body["category_accuracy"].as_f64().unwrap() >= 0.9,
        "{}",
        trained.text
    );
    let status = admin.get("/api/v1/ai").await;
    assert_eq!(status.status, 200, "{}", status.text);
    assert_eq!(status.body["held_out_every"], 5);
    assert!(status.body["trained_at"].is_string());
    let billing = label(&status.body["category"], "billing");
    assert!(billing["examples"].as_u64().unwrap() > 50, "{billing}");
    assert!(billing["precision"].as_f64().is_some(), "{billing}");

    // Billing it applies itself above 50 %; login it only suggests.
    let patched = admin
        .patch("/api/v1/categories/billing", json!({"ai_threshold": 0.5}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let refused = admin
        .patch("/api/v1/categories/billing", json!({"ai_threshold": 1.5}))
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    let support = channel_id(&admin, "Support").await;

    // A rule that decides overrules the agent: the billing plugin knows
    // the word "invoice".
    let ruled = open_case(
        &admin,
        support,
        "Question about my invoice",
        "The invoice for my subscription renewal shows the wrong VAT amount.",
    )
    .await;
    assert_eq!(ruled["category"], "billing", "{ruled}");
    assert_eq!(ruled["category_by"], "rules");
    assert!(ruled["ai"]["applied"].is_null(), "{ruled}");
    assert!(
        ruled["ai"]["suggestion"].is_null(),
        "it has the category: {ruled}"
    );
    let billed = open_case(
        &admin,
        support,
        "Question about my subscription",
        "The statement for my subscription renewal shows the wrong VAT amount and monthly fee.",
    )
    .await;
    assert_eq!(billed["category"], "billing", "{billed}");
    assert_eq!(billed["category_by"], "ai");
    assert_eq!(billed["ai"]["applied"], "billing");
    let number = billed["number"].as_u64().unwrap();
    // Saving the case with its category unchanged decides nothing.
    let resaved = admin
        .patch(
            &format!("/api/v1/cases/{number}"),
            json!({"subject": "Question about my subscription renewal", "category": "billing", "priority": "normal"}),
        )
        .await;
    assert_eq!(resaved.status, 200, "{}", resaved.text);
    assert_eq!(resaved.body["category_by"], "ai", "{}", resaved.text);
    assert_eq!(admin.get("/api/v1/ai").await.body["new_labels"], 0);
    let activity = admin
        .get(&format!("/api/v1/cases/{number}/activity"))
        .await
        .body;
    assert!(
        activity
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor"] == "AI agent" && e["kind"] == "fields_changed"),
        "{activity}"
    );

    let locked = open_case(
        &admin,
        support,
        "Help, I am locked out",
        "The password reset link has expired and the login page keeps asking for the two-factor code.",
    )
    .await;
    assert!(locked["category"].is_null(), "{locked}");
    assert_eq!(locked["ai"]["suggestion"], "login", "{locked}");
    let number = locked["number"].as_u64().unwrap();
    let accepted = admin
        .post(&format!("/api/v1/cases/{number}/ai/accept"), json!({}))
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(accepted.body["category"], "login");
    assert_eq!(accepted.body["category_by"], "person");
    let again = admin
        .post(&format!("/api/v1/cases/{number}/ai/accept"), json!({}))
        .await;
    assert_eq!(again.status, 409, "nothing left to accept: {}", again.text);
    // Correcting the AI counts as a decision to learn from.
    let corrected = admin
        .patch(
            &format!("/api/v1/cases/{}", billed["number"]),
            json!({"category": "refund"}),
        )
        .await;
    assert_eq!(corrected.status, 200, "{}", corrected.text);
    assert_eq!(corrected.body["category_by"], "person");
    assert_eq!(admin.get("/api/v1/ai").await.body["new_labels"], 2);

    // Spam over the spam category's threshold is filed and closed at once.
    let spam = open_case(
        &admin,
        support,
        "Congratulations winner",
        "Claim your free crypto bonus prize now, limited exclusive offer, click here, unsubscribe anytime.",
    )
    .await;
    assert_eq!(spam["category"], "spam", "{spam}");
    assert_eq!(spam["status"], "resolved");
    assert_eq!(spam["auto_resolved"], true);
    let applied = admin.get("/api/v1/ai").await.body;
    let spam_row = applied["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "spam")
        .unwrap()
        .clone();
    assert_eq!(spam_row["applied_last_week"], 1, "{applied}");

    // Only admins train; partners see no figures.
    admin.create_user("amy", "user").await;
    let amy = Client::login(&server, "amy", crate::harness::PASSWORD).await;
    assert_eq!(amy.post("/api/v1/ai/train", json!({})).await.status, 403);
    assert_eq!(amy.get("/api/v1/ai").await.status, 200);
    admin.create_user("pat", "partner").await;
    admin.add_member(support, "pat", "agent").await;
    let pat = Client::login(&server, "pat", crate::harness::PASSWORD).await;
    assert_eq!(pat.get("/api/v1/ai").await.status, 403);
    // Partners see nothing of what the agent said about their cases.
    let theirs = pat
        .post(
            "/api/v1/cases",
            json!({"channel": support, "subject": "Locked out of my login",
                   "description": "The password reset link expired."}),
        )
        .await;
    assert_eq!(theirs.status, 201, "{}", theirs.text);
    assert!(
        theirs.body["ai"].is_null() && theirs.body["category_by"].is_null(),
        "{}",
        theirs.text
    );
    let number = theirs.body["number"].as_u64().unwrap();
    let seen = pat.get(&format!("/api/v1/cases/{number}")).await;
    assert!(seen.body["ai"].is_null(), "{}", seen.text);
    assert!(
        admin.get(&format!("/api/v1/cases/{number}")).await.body["ai"].is_object(),
        "staff see it"
    );
}

#[tokio::test]
async fn a_retraining_that_scores_worse_is_not_swapped_in() {
    let dir = tempfile::tempdir().unwrap();
    let data = imported(dir.path(), 1_000, 8);
    let server = Server::start_in(&data, &[("DOCKET_ADMIN_PASSWORD", ADMIN_PASSWORD)]);
    let admin = server.admin().await;
    let first = admin.post("/api/v1/ai/train", json!({})).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let trained_at = admin.get("/api/v1/ai").await.body["trained_at"].clone();

    // People "decide" nonsense on most cases it learns from (never on the
    // held-out ones, every fifth by number).
    let numbers: Vec<u64> = (1..=1_000u64).filter(|n| n % 5 != 0).take(600).collect();
    let bulk = admin
        .post(
            "/api/v1/cases/bulk",
            json!({"numbers": numbers, "action": "set_category", "category": "feedback"}),
        )
        .await;
    assert_eq!(bulk.status, 200, "{}", bulk.text);
    assert!(
        bulk.body["succeeded"].as_array().unwrap().len() > 500,
        "{}",
        bulk.text
    );
    let second = admin.post("/api/v1/ai/train", json!({})).await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(second.body["swapped"], false, "{}", second.text);
    let (new, old) = (
        second.body["category_accuracy"]
            .as_f64()
            .expect("a category model"),
        second.body["previous_category_accuracy"]
            .as_f64()
            .expect("the old one scored"),
    );
    assert!(new < old, "{}", second.text);
    assert_eq!(admin.get("/api/v1/ai").await.body["trained_at"], trained_at);
}

#[tokio::test]
async fn a_fresh_install_says_it_has_nothing_to_learn_from() {
    let server = Server::start();
    let admin = server.admin().await;
    let status = admin.get("/api/v1/ai").await;
    assert_eq!(status.status, 200);
    assert!(status.body["trained_at"].is_null());
    assert!(
        status.body["note"]
            .as_str()
            .unwrap()
            .contains("not learned"),
        "{}",
        status.text
    );
    let train = admin.post("/api/v1/ai/train", json!({})).await;
    assert_eq!(train.status, 409, "{}", train.text);
    // Cases still arrive, without a verdict.
    let channel = admin.create_channel("Support").await;
    let case = admin.create_case(channel, "Hello").await;
    let shown = admin.get(&format!("/api/v1/cases/{case}")).await;
    assert!(shown.body["ai"].is_null(), "{}", shown.text);
}

#[tokio::test]
async fn the_case_page_shows_the_suggestion_and_the_automation_page_the_figures() {
    let dir = tempfile::tempdir().unwrap();
    let data = imported(dir.path(), 1_000, 3);
    let server = Server::start_in(&data, &[("DOCKET_ADMIN_PASSWORD", ADMIN_PASSWORD)]);
    let admin = server.admin().await;
    let web = crate::web::Browser::new(&server);
    web.login("admin", ADMIN_PASSWORD).await;
    let csrf = web.csrf().await;
    let (status, _, location) = web.post("/admin/ai/train", &[("csrf", &csrf)]).await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    assert!(location.starts_with("/admin/plugins?ai="), "{location}");
    let (_, page, _) = web.get(&location).await;
    assert!(page.contains("id=\"ai-summary\""), "{page}");
    assert!(page.contains("id=\"ai-labels\""), "{page}");
    assert!(page.contains("<td>billing</td>"), "{page}");

    // A threshold typed as a percentage; nonsense is refused by its label.
    let (status, _, _) = web
        .post(
            "/admin/categories/billing",
            &[("csrf", &csrf), ("ai_threshold", "60")],
        )
        .await;
    assert_eq!(status, 303);
    let categories = admin.get("/api/v1/categories").await.body;
    let billing = categories
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "billing")
        .unwrap();
    assert!((billing["ai_threshold"].as_f64().unwrap() - 0.6).abs() < 1e-6);
    let (status, page, _) = web
        .post(
            "/admin/categories/billing",
            &[("csrf", &csrf), ("ai_threshold", "lots")],
        )
        .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("AI threshold"), "{page}");

    let support = channel_id(&admin, "Support").await;
    let locked = open_case(
        &admin,
        support,
        "Locked out of my login",
        "The password reset link expired and the two-factor code is refused.",
    )
    .await;
    let number = locked["number"].as_u64().unwrap();
    let (_, page, _) = web.get(&format!("/cases/{number}")).await;
    assert!(page.contains("id=\"ai-suggestion\""), "{page}");
    assert!(page.contains("suggests <strong>login</strong>"), "{page}");
    let (status, _, _) = web
        .post(&format!("/cases/{number}/ai/accept"), &[("csrf", &csrf)])
        .await;
    assert_eq!(status, 303);
    let (_, page, _) = web.get(&format!("/cases/{number}")).await;
    assert!(!page.contains("id=\"ai-suggestion\""), "{page}");
    assert_eq!(
        admin.get(&format!("/api/v1/cases/{number}")).await.body["category"],
        "login"
    );
    // Without the form's token nothing happens.
    let (status, _, _) = web
        .post(&format!("/cases/{number}/ai/accept"), &[("csrf", "forged")])
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn in_the_browser_a_suggestion_is_one_click_and_the_figures_fit_a_phone() {
    use thirtyfour::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let data = imported(dir.path(), 1_000, 4);
    let server = Server::start_in(&data, &[("DOCKET_ADMIN_PASSWORD", ADMIN_PASSWORD)]);
    let admin = server.admin().await;
    assert_eq!(admin.post("/api/v1/ai/train", json!({})).await.status, 200);
    let support = channel_id(&admin, "Support").await;
    let locked = open_case(
        &admin,
        support,
        "Locked out of my login",
        "The password reset link expired and the two-factor code is refused.",
    )
    .await;
    let number = locked["number"].as_u64().unwrap();
    let (_driver, web) = crate::browser::start_browser().await;
    let outcome = async {
        web.set_window_rect(0, 0, 1440, 900).await?;
        web.goto(server.url("/inbox")).await?;
        crate::browser::log_in(&web).await?;
        web.goto(server.url(&format!("/cases/{number}"))).await?;
        let suggestion = web.find(By::Id("ai-suggestion")).await?;
        assert!(suggestion.text().await?.contains("login"));
        crate::workspace::screenshot(&web, "ai-suggestion-1440").await;
        // On a phone the conversation comes first and the suggestion fits.
        web.set_window_rect(0, 0, 390, 844).await?;
        web.refresh().await?;
        web.find(By::Id("ai-suggestion"))
            .await?
            .scroll_into_view()
            .await?;
        assert!(!crate::workspace::scrolls_sideways(&web).await);
        crate::workspace::screenshot(&web, "ai-suggestion-390").await;
        web.set_window_rect(0, 0, 1440, 900).await?;
        let accept = web.find(By::Id("accept-ai-button")).await?;
        accept.click().await?;
        // The page reloads on the same path: wait for the old one to go.
        accept.wait_until().stale().await?;
        crate::browser::wait_for_path(&web, |p| p == format!("/cases/{number}")).await?;
        let category = web.find(By::Id("category")).await?;
        assert_eq!(category.value().await?.as_deref(), Some("login"));
        assert!(web.find(By::Id("ai-suggestion")).await.is_err());
        for (width, height) in [(1440, 900), (390, 844)] {
            web.set_window_rect(0, 0, width, height).await?;
            web.goto(server.url("/admin/plugins")).await?;
            web.find(By::Id("ai-h")).await?.scroll_into_view().await?;
            assert!(
                !crate::workspace::scrolls_sideways(&web).await,
                "the automation page scrolls sideways at {width}"
            );
            crate::workspace::screenshot(&web, &format!("ai-figures-{width}")).await;
        }
        Ok::<_, WebDriverError>(())
    }
    .await;
    let _ = web.quit().await;
    outcome.unwrap();
    assert_eq!(
        admin.get(&format!("/api/v1/cases/{number}")).await.body["category_by"],
        "person"
    );
}
