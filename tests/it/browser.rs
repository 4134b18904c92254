//! End to end in headless Chromium: log in, create a case, find it in the
//! inbox, close it.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use thirtyfour::prelude::*;

use crate::harness::{ADMIN_PASSWORD, Server};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub(crate) struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) async fn start_browser() -> (Driver, WebDriver) {
    assert!(
        std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists(),
        "the browser test needs Debian's chromium and chromium-driver; scripts/test installs them"
    );
    let port = free_port();
    let driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(CHROMIUM).unwrap();
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
    ] {
        caps.add_arg(arg).unwrap();
    }
    let url = format!("http://127.0.0.1:{port}");
    let mut last_error = None;
    for _ in 0..50 {
        match WebDriver::new(&url, caps.clone()).await {
            Ok(web) => return (driver, web),
            Err(e) => last_error = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("could not start a browser session: {last_error:?}");
}

#[tokio::test]
async fn log_in_create_a_case_see_it_in_the_inbox_and_close_it() {
    let server = Server::start();
    let admin = server.admin().await;
    let channel = admin.create_channel("Support").await;
    admin.add_member(channel, "admin", "manager").await;

    let (_driver, web) = start_browser().await;
    let result = scenario(&server, &web).await;
    if result.is_err()
        && let Ok(png) = web.screenshot_as_png().await
    {
        let path = std::env::temp_dir().join("docket-browser-failure.png");
        let _ = std::fs::write(&path, png);
        eprintln!("screenshot of the failure: {}", path.display());
    }
    web.quit().await.unwrap();
    result.unwrap();
}

/// Polls until the page's path satisfies `wanted` (navigation finished).
pub(crate) async fn wait_for_path(
    web: &WebDriver,
    wanted: impl Fn(&str) -> bool,
) -> WebDriverResult<String> {
    for _ in 0..100 {
        let url = web.current_url().await?;
        if wanted(url.path()) {
            return Ok(url.path().to_owned());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the page did not reach the expected path; it is at {}",
        web.current_url().await?
    );
}

/// Polls until the element's text is `expected`, riding out page loads
/// (an element found on the old page goes stale when the new one arrives).
pub(crate) async fn wait_for_text(web: &WebDriver, by: By, expected: &str) -> WebDriverResult<()> {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(element) = web.find(by.clone()).await
            && let Ok(text) = element.text().await
        {
            if text == expected {
                return Ok(());
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("expected the text {expected:?}, last saw {last:?}");
}

/// Fills in and sends the login form on the page that is showing.
pub(crate) async fn log_in(web: &WebDriver) -> WebDriverResult<()> {
    wait_for_path(web, |p| p == "/login").await?;
    web.find(By::Id("username"))
        .await?
        .send_keys("admin")
        .await?;
    web.find(By::Id("password"))
        .await?
        .send_keys(ADMIN_PASSWORD)
        .await?;
    web.find(By::Id("login")).await?.click().await?;
    wait_for_path(web, |p| p == "/inbox").await?;
    Ok(())
}

async fn scenario(server: &Server, web: &WebDriver) -> WebDriverResult<()> {
    // Not logged in: the login page, which returns to the inbox.
    web.goto(server.url("/inbox")).await?;
    log_in(web).await?;
    wait_for_text(web, By::Css("main h1"), "Inbox").await?;

    web.find(By::Css("main a[href='/cases/new']"))
        .await?
        .click()
        .await?;
    wait_for_path(web, |p| p == "/cases/new").await?;
    web.find(By::Id("subject"))
        .await?
        .send_keys("Printer is on fire")
        .await?;
    web.find(By::Id("description"))
        .await?
        .send_keys("Smoke from tray 2")
        .await?;
    web.find(By::Id("create-case")).await?.click().await?;
    let case_path = wait_for_path(web, |p| p.starts_with("/cases/") && p != "/cases/new").await?;
    wait_for_text(web, By::Id("case-subject"), "Printer is on fire").await?;
    wait_for_text(web, By::Id("case-status"), "Open").await?;

    web.find(By::Css("nav a[href='/inbox']"))
        .await?
        .click()
        .await?;
    wait_for_path(web, |p| p == "/inbox").await?;
    web.find(By::LinkText("Printer is on fire"))
        .await?
        .click()
        .await?;
    wait_for_path(web, |p| p == case_path).await?;

    web.find(By::Id("close")).await?.click().await?;
    wait_for_text(web, By::Id("case-status"), "Resolved").await?;
    web.find(By::Id("reopen")).await?;

    // Gone from the open inbox, present under Closed.
    web.goto(server.url("/inbox")).await?;
    wait_for_text(web, By::Css("main h1"), "Inbox").await?;
    assert!(
        web.find_all(By::LinkText("Printer is on fire"))
            .await?
            .is_empty()
    );
    web.goto(server.url("/inbox?view=closed")).await?;
    web.find(By::LinkText("Printer is on fire")).await?;
    Ok(())
}

#[tokio::test]
async fn the_inbox_searches_as_you_type_and_updates_itself() {
    let server = Server::start();
    let admin = server.admin().await;
    let channel = admin.create_channel("Support").await;
    admin.add_member(channel, "admin", "manager").await;
    admin.create_case(channel, "Router keeps rebooting").await;
    let mine = admin
        .create_case(channel, "Invoice shows the wrong address")
        .await;
    admin
        .patch(
            &format!("/api/v1/cases/{mine}"),
            serde_json::json!({"assignee": "admin"}),
        )
        .await;

    let (_driver, web) = start_browser().await;
    let result = inbox_scenario(&server, &web, &admin, channel).await;
    if result.is_err()
        && let Ok(png) = web.screenshot_as_png().await
    {
        let path = std::env::temp_dir().join("docket-inbox-failure.png");
        let _ = std::fs::write(&path, png);
        eprintln!("screenshot of the failure: {}", path.display());
    }
    web.quit().await.unwrap();
    result.unwrap();
}

async fn inbox_scenario(
    server: &Server,
    web: &WebDriver,
    admin: &crate::harness::Client,
    channel: u64,
) -> WebDriverResult<()> {
    web.goto(server.url("/login")).await?;
    log_in(web).await?;
    wait_for_text(web, By::Id("total"), "2").await?;

    // Typing filters the list in place; the URL follows.
    web.find(By::Id("q")).await?.send_keys("rebooting").await?;
    wait_for_text(web, By::Id("total"), "1").await?;
    web.find(By::LinkText("Router keeps rebooting")).await?;
    let url = web.current_url().await?;
    assert!(url.query().unwrap_or("").contains("q=rebooting"), "{url}");
    assert_eq!(
        web.find(By::Id("q")).await?.value().await?.as_deref(),
        Some("rebooting"),
        "the typed text stays"
    );

    // A quick filter, with its count.
    web.goto(server.url("/inbox")).await?;
    let quick = web
        .find(By::XPath(
            "//ul[@id='quick-filters']//a[contains(., 'Assigned to me')]",
        ))
        .await?;
    assert!(quick.text().await?.contains('1'), "{}", quick.text().await?);
    quick.click().await?;
    wait_for_path(web, |p| p == "/inbox").await?;
    wait_for_text(web, By::Id("total"), "1").await?;
    web.find(By::LinkText("Invoice shows the wrong address"))
        .await?;

    // A case arriving elsewhere appears without a reload.
    web.goto(server.url("/inbox")).await?;
    wait_for_text(web, By::Id("total"), "2").await?;
    admin.create_case(channel, "Printer out of toner").await;
    wait_for_text(web, By::Id("total"), "3").await?;
    web.find(By::LinkText("Printer out of toner")).await?;
    Ok(())
}

/// Ticks cases in the inbox and closes them in one go, confirming the
/// browser's dialog; the ticks survive a live refresh in between.
#[tokio::test]
async fn bulk_close_from_the_inbox_with_confirmation() {
    let server = Server::start();
    let admin = server.admin().await;
    let channel = admin.create_channel("Support").await;
    admin.add_member(channel, "admin", "manager").await;
    let first = admin.create_case(channel, "First to close").await;
    let second = admin.create_case(channel, "Second to close").await;
    let kept = admin.create_case(channel, "Stays open").await;

    let (_driver, web) = start_browser().await;
    let result = async {
        web.goto(server.url("/inbox")).await?;
        log_in(&web).await?;
        for number in [first, second] {
            web.find(By::Css(format!("input[name='numbers'][value='{number}']")))
                .await?
                .click()
                .await?;
        }
        wait_for_text(&web, By::Css("[data-selected-count]"), "2").await?;
        // A case arriving refreshes the list; the ticks stay.
        admin.create_case(channel, "Arrives meanwhile").await;
        for _ in 0..50 {
            if web.find_all(By::Css("tr[data-number]")).await?.len() == 4 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        wait_for_text(&web, By::Css("[data-selected-count]"), "2").await?;
        web.find(By::Css("#bulk-action option[value='close']"))
            .await?
            .click()
            .await?;
        web.find(By::Id("bulk-apply")).await?.click().await?;
        web.accept_alert().await?;
        wait_for_text(&web, By::Id("bulk-notice"), "Done for 2 case(s).").await?;
        Ok::<_, WebDriverError>(())
    }
    .await;
    if result.is_err()
        && let Ok(png) = web.screenshot_as_png().await
    {
        let _ = std::fs::write(std::env::temp_dir().join("docket-browser-failure.png"), png);
    }
    web.quit().await.unwrap();
    result.unwrap();
    for (number, status) in [(first, "resolved"), (second, "resolved"), (kept, "open")] {
        let case = admin.get(&format!("/api/v1/cases/{number}")).await;
        assert_eq!(case.body["status"], status, "#{number}");
    }
}

/// Polls until the element's text contains `wanted`.
pub(crate) async fn wait_for_containing(
    web: &WebDriver,
    by: By,
    wanted: &str,
) -> WebDriverResult<String> {
    let mut last = String::new();
    for _ in 0..150 {
        if let Ok(element) = web.find(by.clone()).await
            && let Ok(text) = element.text().await
        {
            if text.contains(wanted) {
                return Ok(text);
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("expected text containing {wanted:?}, last saw {last:?}");
}

#[tokio::test]
async fn a_visitor_on_another_site_chats_escalates_and_sees_the_reply() {
    let server = Server::start();
    let org = crate::harness::Org::on(server).await;
    // The customer's website: another origin, serving a page that embeds
    // the widget.
    let site = crate::receiver::Receiver::start().await;
    let page = format!(
        "<!doctype html><html><head><title>Shop</title></head><body><h1>Shop</h1>\
         <script src=\"{}/widget.js?channel={}\"></script></body></html>",
        org.server.base, org.support
    );
    *site.answer.lock().unwrap() = (200, "text/html; charset=utf-8", page.into_bytes());
    let answer = org
        .max
        .patch(
            &format!("/api/v1/channels/{}", org.support),
            serde_json::json!({"settings": {"integrations": {"widget": {"allowed_origins": [site.url()]}}}}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);

    let (_driver, web) = start_browser().await;
    let result = widget_scenario(&org, &site, &web).await;
    let _ = web.quit().await;
    result.unwrap();
}

async fn widget_scenario(
    org: &crate::harness::Org,
    site: &crate::receiver::Receiver,
    web: &WebDriver,
) -> WebDriverResult<()> {
    web.goto(format!("{}/", site.url())).await?;
    web.find(By::Id("docket-chat-open")).await?.click().await?;
    let input = web.find(By::Id("docket-chat-input")).await?;
    input
        .send_keys("My parcel never came, I want to talk to a person")
        .await?;
    web.find(By::Id("docket-chat-send")).await?.click().await?;
    let log = wait_for_containing(web, By::Id("docket-chat-log"), "case #").await?;
    let number: u64 = log
        .split("case #")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|n| n.parse().ok())
        .expect("the page names the case");
    let transcript = org
        .amy
        .get(&format!("/api/v1/cases/{number}/activity?filter=messages"))
        .await;
    assert!(
        transcript.text.contains("My parcel never came"),
        "{}",
        transcript.text
    );
    let reply = org
        .amy
        .post(
            &format!("/api/v1/cases/{number}/messages"),
            serde_json::json!({"body": "Sorry! Sending a new one today.", "direction": "outbound"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    wait_for_containing(
        web,
        By::Id("docket-chat-log"),
        "Team: Sorry! Sending a new one today.",
    )
    .await?;
    Ok(())
}
