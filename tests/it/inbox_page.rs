//! The inbox page: what each row shows, the bulk bar's report of the cases
//! it could not change, malformed queries beside the box, paging context,
//! the trash for managers, and the layout at phone size.

use serde_json::json;
use thirtyfour::prelude::*;

use crate::browser::{log_in, start_browser, wait_for_text};
use crate::harness::{Org, PASSWORD, Server};
use crate::web::Browser;

fn decoded(location: &str) -> String {
    let mut out = Vec::new();
    let bytes = location.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&location[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn rows_show_requester_preview_and_unread_and_bulk_failures_are_named() {
    let org = Org::new().await;
    let number = org
        .amy
        .post(
            "/api/v1/cases",
            json!({"channel": org.support, "subject": "Printer jams", "customer": {"name": "Jane Doe", "email": "jane@example.com"}}),
        )
        .await
        .body["number"]
        .as_u64()
        .unwrap();
    org.amy
        .post(
            &format!("/api/v1/cases/{number}/messages"),
            json!({"direction": "inbound", "body": "It jams   on every\\nsecond page."}),
        )
        .await;
    let other = org.bob.create_case(org.sales, "Not amy's").await;
    let amy = Browser::new(&org.server);
    amy.login("amy", PASSWORD).await;
    let (_, page, _) = amy.get("/inbox").await;
    assert!(page.contains("Jane Doe"), "the requester shows");
    assert!(
        page.contains("It jams on every\\nsecond page.") || page.contains("It jams on every"),
        "a preview of the last message"
    );
    assert!(
        page.contains("class=\"unread\""),
        "news amy has not seen is unread"
    );
    assert!(
        page.contains("title=\"The customer wrote last\">waiting <time"),
        "the customer wrote last"
    );
    assert!(!page.contains("id=\"trash-link\""), "agents have no trash");
    // Opening the case reads it.
    amy.get(&format!("/cases/{number}")).await;
    let mut read = false;
    for _ in 0..50 {
        let (_, page, _) = amy.get("/inbox").await;
        if !page.contains("class=\"unread\"") {
            read = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(read, "an opened case is no longer unread");

    // One case of the selection cannot be changed: it is named, with why.
    let csrf = amy.csrf().await;
    let (n, o) = (number.to_string(), other.to_string());
    let (status, _, location) = amy
        .post(
            "/inbox/bulk",
            &[
                ("csrf", &csrf),
                ("scope", "selected"),
                ("numbers", &n),
                ("numbers", &o),
                ("action", "set_priority"),
                ("priority", "high"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    assert!(location.contains("done=1&failed=1"), "{location}");
    assert!(
        decoded(&location).contains(&format!("{other}: Case #{other} not found")),
        "{location}"
    );
    let (_, page, _) = amy.get(&location).await;
    assert!(page.contains("1 could not be changed"), "{page}");
    assert!(
        page.contains(&format!(
            "href=\"/cases/{other}\">#{other}</a>: Case #{other} not found"
        )),
        "{page}"
    );
    assert!(
        page.contains("notice partial"),
        "a partial result is not shown as a plain success"
    );

    // The bulk bar picks agents and categories from lists.
    assert!(
        page.contains("<option value=\"max\">max</option>"),
        "agents to assign to"
    );
    assert!(page.contains("name=\"category_value\""));

    // Managers find the trash.
    let max = Browser::new(&org.server);
    max.login("max", PASSWORD).await;
    let (_, page, _) = max.get("/inbox").await;
    assert!(page.contains("id=\"trash-link\""));
}

#[tokio::test]
async fn a_malformed_query_is_shown_beside_the_box_and_pages_say_where_they_are() {
    let org = Org::new().await;
    for i in 0..55 {
        org.amy
            .create_case(org.support, &format!("Case number {i}"))
            .await;
    }
    let amy = Browser::new(&org.server);
    amy.login("amy", PASSWORD).await;
    let (status, page, _) = amy.get("/inbox?q=printer+%22paper+jam").await;
    assert_eq!(status, 400);
    assert!(
        page.contains("id=\"query-error\" role=\"alert\">The search could not be read"),
        "{page}"
    );
    assert!(page.contains("character 9"), "where it fails");
    assert!(
        page.contains("value=\"printer &#34;paper jam\"")
            || page.contains("printer &quot;paper jam"),
        "what was typed stays in the box"
    );

    let (_, page, _) = amy.get("/inbox").await;
    assert!(
        page.contains("<span id=\"range\">1–50</span> of <span id=\"total\">55</span>"),
        "{page}"
    );
    let next = page
        .split("rel=\"next\"")
        .next()
        .and_then(|before| before.rsplit("href=\"").next())
        .map(|href| {
            href.split('"')
                .next()
                .unwrap()
                .replace("&#38;", "&")
                .replace("&amp;", "&")
        })
        .unwrap();
    assert!(next.contains("from=51"), "{next}");
    let (_, page, _) = amy.get(&next).await;
    assert!(
        page.contains("<span id=\"range\">51–55</span> of <span id=\"total\">55</span>"),
        "{page}"
    );
}

#[tokio::test]
async fn the_inbox_fits_a_phone_and_reports_stale_results_while_typing() {
    let server = Server::start();
    let admin = server.admin().await;
    let channel = admin.create_channel("Support").await;
    admin.add_member(channel, "admin", "manager").await;
    // Cases as an inbox holds them (the README's screenshot shows these).
    for (subject, name, said, change) in [
        (
            "Router keeps rebooting",
            "Somebody With A Long Name",
            "Every evening around eight the router restarts and the whole office loses the line.",
            json!({"priority": "high"}),
        ),
        (
            "Invoice shows the wrong address",
            "Priya Raman",
            "Our invoice for November still shows the old office on Mill Street.",
            json!({"assignee": "admin", "status": "in_progress"}),
        ),
        (
            "Printer out of toner",
            "Jonas Berg",
            "The second floor printer says the toner is empty, but we changed it on Monday.",
            json!({}),
        ),
    ] {
        let number = admin
            .post(
                "/api/v1/cases",
                json!({"channel": channel, "subject": subject, "customer": {"name": name, "email": "somebody.with.a.long.address@example.com"}}),
            )
            .await
            .body["number"]
            .as_u64()
            .unwrap();
        let path = format!("/api/v1/cases/{number}");
        admin
            .post(
                &format!("{path}/messages"),
                json!({"direction": "inbound", "from": name, "body": said}),
            )
            .await;
        if change != json!({}) {
            let answer = admin.patch(&path, change).await;
            assert_eq!(answer.status, 200, "{:?}", answer.body);
        }
    }
    let (_driver, web) = start_browser().await;
    let outcome = async {
        web.set_window_rect(0, 0, 1440, 900).await?;
        web.goto(server.url("/inbox")).await?;
        log_in(&web).await?;
        wait_for_text(&web, By::Id("total"), "3").await?;
        if let Ok(dir) = std::env::var("DOCKET_SCREENSHOTS") {
            web.screenshot(&std::path::Path::new(&dir).join("inbox-1440.png")).await?;
        }
        // Long previews are cut to fit; they never widen the table past the screen.
        let wide = web.execute("return document.documentElement.scrollWidth > window.innerWidth;", vec![]).await?;
        assert_eq!(wide.json(), &json!(false), "the inbox scrolls sideways at 1440");
        // Nothing ticked: no bulk bar.
        assert!(!web.find(By::Id("bulk-form")).await?.is_displayed().await?);
        web.find(By::Css("input[name='numbers']")).await?.click().await?;
        assert!(web.find(By::Id("bulk-form")).await?.is_displayed().await?);

        // A malformed query while typing: the error beside the box, the
        // last good results kept and marked stale.
        let q = web.find(By::Id("q")).await?;
        q.send_keys("router \"").await?;
        let mut shown = false;
        for _ in 0..50 {
            if web.find(By::Id("query-error")).await?.is_displayed().await? {
                shown = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(shown, "the query error shows");
        let stale = web.execute("return document.getElementById('results').classList.contains('stale');", vec![]).await?;
        assert_eq!(stale.json(), &json!(true));
        assert!(!web.find_all(By::Css("tr[data-number]")).await?.is_empty(), "the last results stay");

        web.set_window_rect(0, 0, 390, 844).await?;
        web.goto(server.url("/inbox")).await?;
        wait_for_text(&web, By::Id("total"), "3").await?;
        let wide = web.execute("return document.documentElement.scrollWidth > window.innerWidth;", vec![]).await?;
        assert_eq!(wide.json(), &json!(false), "the inbox scrolls sideways on a phone");
        let top = web
            .execute("const r = document.querySelector('tr[data-number]').getBoundingClientRect(); return r.top;", vec![])
            .await?;
        let inner = web.execute("return window.innerHeight;", vec![]).await?;
        assert!(top.json().as_f64().unwrap() < inner.json().as_f64().unwrap(), "the first case is visible without scrolling ({top:?})");
        if let Ok(dir) = std::env::var("DOCKET_SCREENSHOTS") {
            web.screenshot(&std::path::Path::new(&dir).join("inbox-390.png")).await?;
        }
        // The other pages this work changed fit a phone too.
        for page in ["/cases/new", "/channels/1", "/users", "/cases/1"] {
            web.goto(server.url(page)).await?;
            let wide = web
                .execute("return document.documentElement.scrollWidth > window.innerWidth;", vec![])
                .await?;
            assert_eq!(wide.json(), &json!(false), "{page} scrolls sideways on a phone");
        }
        Ok::<_, WebDriverError>(())
    }
    .await;
    let _ = web.quit().await;
    outcome.unwrap();
}

/// In the browser: a bulk assignment over two channels where the agent
/// works in only one names the case it could not change, and why, and
/// changes the other.
#[tokio::test]
async fn a_bulk_action_in_the_browser_names_the_case_it_could_not_change() {
    let org = Org::new().await;
    let support_case = org.admin.create_case(org.support, "Printer jams").await;
    let sales_case = org
        .admin
        .create_case(org.sales, "Quote for ten seats")
        .await;
    let (_driver, web) = start_browser().await;
    let outcome = async {
        web.set_window_rect(0, 0, 1440, 900).await?;
        web.goto(org.server.url("/inbox")).await?;
        log_in(&web).await?;
        wait_for_text(&web, By::Id("total"), "2").await?;
        for number in [support_case, sales_case] {
            web.find(By::Css(format!("input[name='numbers'][value='{number}']")))
                .await?
                .click()
                .await?;
        }
        wait_for_text(&web, By::Css("[data-selected-count]"), "2").await?;
        web.find(By::Css("#bulk-action option[value='assign']"))
            .await?
            .click()
            .await?;
        web.find(By::Css("select[name='assignee'] option[value='amy']"))
            .await?
            .click()
            .await?;
        web.find(By::Id("bulk-apply")).await?.click().await?;
        let notice = crate::browser::wait_for_containing(
            &web,
            By::Id("bulk-notice"),
            "could not be changed",
        )
        .await?;
        assert!(notice.contains("1 could not be changed"), "{notice}");
        let failed = web
            .find(By::Css(format!(
                "#bulk-notice a[href='/cases/{sales_case}']"
            )))
            .await?;
        let line = failed.find(By::XPath("..")).await?.text().await?;
        assert!(
            line.contains("Assignee: 'amy' is not an agent"),
            "the reason names the field as the page does, and the agent: {line}"
        );
        assert!(
            web.find(By::Css("#bulk-notice.partial")).await.is_ok(),
            "a partial result is not shown as a success"
        );
        Ok::<_, WebDriverError>(())
    }
    .await;
    let _ = web.quit().await;
    outcome.unwrap();
    let changed = org
        .admin
        .get(&format!("/api/v1/cases/{support_case}"))
        .await;
    assert_eq!(changed.body["assignee"], "amy");
    let kept = org.admin.get(&format!("/api/v1/cases/{sales_case}")).await;
    assert!(kept.body["assignee"].is_null(), "{}", kept.body);
}
