//! Satisfaction ratings by signed link, and reports whose figures are
//! checked against figures computed here from the cases themselves.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Answer, Client, Org, Server};
use crate::mailservers::SmtpSink;

const DESK: &str = "help@desk.test";

fn message(from: &str, subject: &str, id: &str, extra: &[&str]) -> Vec<u8> {
    let mut out =
        format!("From: {from}\r\nTo: {DESK}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n");
    for line in extra {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("\r\nPlease help.\r\n");
    out.into_bytes()
}

async fn deliver(client: &Client, channel: u64, raw: Vec<u8>) -> u64 {
    let answer = client
        .raw(
            reqwest::Method::POST,
            &format!("/api/v1/channels/{channel}/mail"),
            "message/rfc822",
            raw,
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.body["case"].as_u64().unwrap()
}

async fn resolve(client: &Client, number: u64) {
    let answer = client
        .patch(
            &format!("/api/v1/cases/{number}"),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

/// The rating link's token in a rating request.
fn rating_token(body: &str) -> String {
    let start = body.find("/rate/").expect("a rating link") + "/rate/".len();
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

async fn open_link(server: &Server, path: &str) -> (u16, String) {
    let answer = reqwest::get(server.url(path)).await.unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

/// Polls the report until `ready` holds (the figures follow the outbox).
async fn report_when(client: &Client, query: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let mut last = None;
    for _ in 0..100 {
        let answer = client.get(&format!("/api/v1/reports{query}")).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        if ready(&answer.body) {
            return answer.body;
        }
        last = Some(answer.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the report never got there: {last:?}");
}

#[tokio::test]
async fn a_rating_link_counts_once_refuses_forgeries_and_shows_in_the_report() {
    let sink = SmtpSink::start();
    let url = sink.url();
    let server = Server::start_fresh(&[
        ("DOCKET_SMTP_URL", url.as_str()),
        ("DOCKET_PUBLIC_URL", "https://help.example.com/"),
    ]);
    let org = Org::on(server).await;
    let support = format!("/api/v1/channels/{}", org.support);
    // Ratings go by email: a channel without an address cannot ask.
    let refused = org
        .admin
        .patch(&support, json!({"settings": {"satisfaction": true}}))
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.text.contains("email address"), "{}", refused.text);
    let on = org
        .admin
        .patch(
            &support,
            json!({"email_address": DESK, "settings": {"satisfaction": true}}),
        )
        .await;
    assert_eq!(on.status, 200, "{}", on.text);
    assert_eq!(on.body["settings"]["satisfaction"], json!(true));

    let person = deliver(
        &org.admin,
        org.support,
        message("jane@example.com", "Printer", "p1@example.com", &[]),
    )
    .await;
    let robot = deliver(
        &org.admin,
        org.support,
        message(
            "robot@example.com",
            "Out of office",
            "r1@example.com",
            &["Auto-Submitted: auto-replied"],
        ),
    )
    .await;
    resolve(&org.amy, robot).await;
    resolve(&org.amy, person).await;
    let received = sink.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let received = {
        let later = sink.received();
        assert_eq!(later.len(), 1, "machines are not asked: {received:?}");
        later
    };
    let request = &received[0];
    assert_eq!(request.rcpt_tos, vec!["jane@example.com"]);
    assert_eq!(
        request.header("Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    assert!(
        request.data.contains("https://help.example.com/rate/"),
        "{}",
        request.data
    );
    let token = rating_token(&request.data);

    // A forged link: the same case, another signature.
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    let (status, page) = open_link(&org.server, &format!("/rate/{forged}?rating=bad")).await;
    assert_eq!(status, 404, "{page}");
    assert!(page.contains("not valid"), "{page}");
    let other_case = token.replacen(&format!("{person}-"), &format!("{robot}-"), 1);
    let (status, _) = open_link(&org.server, &format!("/rate/{other_case}?rating=bad")).await;
    assert_eq!(status, 404);

    // Without a choice the page offers one and records nothing.
    let (status, page) = open_link(&org.server, &format!("/rate/{token}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("rate-good"), "{page}");

    let (status, page) = open_link(&org.server, &format!("/rate/{token}?rating=good")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Thank you"), "{page}");
    // Used again, whatever it says now: refused, the first rating stands.
    let (status, page) = open_link(&org.server, &format!("/rate/{token}?rating=bad")).await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("rated good already"), "{page}");

    let web = reqwest::Client::new();
    let comment = |text: &str| {
        web.post(org.server.url(&format!("/rate/{token}")))
            .form(&[("comment", text)])
            .send()
    };
    let empty = comment("   ").await.unwrap();
    assert_eq!(empty.status(), 422);
    let kept = comment("Quick and kind").await.unwrap();
    assert_eq!(kept.status(), 200);
    let again = comment("Changed my mind").await.unwrap();
    assert_eq!(again.status(), 409);

    let case = org.admin.get(&format!("/api/v1/cases/{person}")).await;
    let ratings = case.body["ratings"].as_array().unwrap();
    assert_eq!(ratings.len(), 1, "{}", case.text);
    assert_eq!(ratings[0]["rating"], "good");
    assert_eq!(ratings[0]["comment"], "Quick and kind");
    // The team's to read: a partner sees their own case, not its rating.
    let theirs = org
        .pat
        .post(
            "/api/v1/cases",
            json!({"channel": org.support, "subject": "Partner order",
                   "customer": {"email": "kim@example.com"}}),
        )
        .await;
    assert_eq!(theirs.status, 201, "{}", theirs.text);
    let theirs = theirs.body["number"].as_u64().unwrap();
    resolve(&org.amy, theirs).await;
    let asked = sink.wait_for(2).await;
    let kim = asked
        .iter()
        .find(|m| m.rcpt_tos == vec!["kim@example.com"])
        .expect("the partner's customer is asked");
    let kim_token = rating_token(&kim.data);
    let (status, page) = open_link(&org.server, &format!("/rate/{kim_token}?rating=bad")).await;
    assert_eq!(status, 200, "{page}");
    let staff_view = org.amy.get(&format!("/api/v1/cases/{theirs}")).await;
    assert_eq!(staff_view.body["ratings"][0]["rating"], "bad");
    let partner_view = org.pat.get(&format!("/api/v1/cases/{theirs}")).await;
    assert_eq!(partner_view.status, 200, "{}", partner_view.text);
    assert_eq!(partner_view.body["ratings"], json!([]));
    let listed = org.pat.get("/api/v1/cases?view=all").await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let items = listed.body["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(
        items.iter().all(|c| c["ratings"] == json!([])),
        "{}",
        listed.text
    );
    let partner_web = crate::web::Browser::new(&org.server);
    partner_web.login("pat", crate::harness::PASSWORD).await;
    let (status, page, _) = partner_web.get(&format!("/cases/{theirs}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(!page.contains("id=\"ratings\""), "{page}");
    let staff_web = crate::web::Browser::new(&org.server);
    staff_web.login("amy", crate::harness::PASSWORD).await;
    let (_, page, _) = staff_web.get(&format!("/cases/{theirs}")).await;
    assert!(page.contains("id=\"ratings\""), "{page}");

    let report = report_when(&org.admin, "", |r| {
        r["satisfaction"]["good"] == json!(1) && r["satisfaction"]["bad"] == json!(1)
    })
    .await;
    assert_eq!(report["satisfaction"]["percent"], json!(50.0));

    // Reports are for managers and administrators.
    assert_eq!(org.amy.get("/api/v1/reports").await.status, 403);
    assert_eq!(org.pat.get("/api/v1/reports").await.status, 403);
    let managed = org.max.get("/api/v1/reports").await;
    assert_eq!(managed.status, 200, "{}", managed.text);
    let names: Vec<&str> = managed.body["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Support"]);
    let not_theirs = org
        .max
        .get(&format!("/api/v1/reports?channel={}", org.sales))
        .await;
    assert_eq!(not_theirs.status, 422, "{}", not_theirs.text);
}

/// What the test computes from the cases and their histories.
#[derive(Debug, Default)]
struct Expected {
    created: u32,
    resolved: u32,
    first_responses: Vec<i64>,
    resolutions: Vec<i64>,
    /// Cases not resolved now: the backlog at the end of today.
    open: i64,
    minutes: BTreeMap<(String, String), u64>,
}

fn at(value: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc)
}

/// The nearest-rank percentile, written out again here.
fn percentile(values: &[i64], percent: f64) -> Value {
    if values.is_empty() {
        return Value::Null;
    }
    let mut sorted = values.to_vec();
    sorted.sort();
    let rank = ((percent / 100.0) * sorted.len() as f64).ceil() as usize;
    json!(sorted[rank.max(1) - 1])
}

async fn expected_for(client: &Client, numbers: &[u64], agent: Option<&str>) -> Expected {
    let mut expected = Expected::default();
    for number in numbers {
        let case = client.get(&format!("/api/v1/cases/{number}")).await.body;
        let activity = client
            .get(&format!("/api/v1/cases/{number}/activity"))
            .await
            .body;
        let time = client
            .get(&format!("/api/v1/cases/{number}/time"))
            .await
            .body;
        for entry in time["entries"].as_array().unwrap() {
            let who = entry["username"].as_str().unwrap().to_owned();
            if agent.is_none_or(|a| a == who) {
                *expected
                    .minutes
                    .entry((entry["type"].as_str().unwrap().to_owned(), who))
                    .or_default() += entry["minutes"].as_u64().unwrap();
            }
        }
        if agent.is_some_and(|a| case["assignee"].as_str() != Some(a)) {
            continue;
        }
        let created = at(&case["created_at"]);
        expected.created += 1;
        let events = activity.as_array().unwrap();
        expected.resolved += events.iter().filter(|e| e["kind"] == "closed").count() as u32;
        if let Some(reply) = events
            .iter()
            .find(|e| e["kind"] == "message" && e["direction"] == "outbound")
        {
            expected
                .first_responses
                .push((at(&reply["at"]) - created).num_seconds());
        }
        if case["status"] != "resolved" {
            expected.open += 1;
        }
        if case["status"] == "resolved" {
            expected
                .resolutions
                .push((at(&case["closed_at"]) - created).num_seconds());
        }
    }
    expected
}

fn check(report: &Value, expected: &Expected) {
    assert_eq!(report["created"], json!(expected.created), "{report}");
    assert_eq!(report["resolved"], json!(expected.resolved), "{report}");
    let durations = [
        ("first_response", &expected.first_responses),
        ("resolution", &expected.resolutions),
    ];
    for (name, values) in durations {
        assert_eq!(
            report[name]["count"],
            json!(values.len()),
            "{name}: {report}"
        );
        assert_eq!(
            report[name]["median_seconds"],
            percentile(values, 50.0),
            "{name}"
        );
        assert_eq!(
            report[name]["p90_seconds"],
            percentile(values, 90.0),
            "{name}"
        );
    }
    let logged: BTreeMap<(String, String), u64> = report["time_logged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                (
                    t["type"].as_str().unwrap().to_owned(),
                    t["agent"].as_str().unwrap().to_owned(),
                ),
                t["minutes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(logged, expected.minutes);
    let days = report["days"].as_array().unwrap();
    let created: u64 = days.iter().map(|d| d["created"].as_u64().unwrap()).sum();
    assert_eq!(created, u64::from(expected.created));
    assert_eq!(
        days.last().unwrap()["backlog"],
        json!(expected.open),
        "{report}"
    );
    let by_hour: u64 = report["busiest_hours"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d.as_array().unwrap().iter())
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(by_hour, u64::from(expected.created));
}

async fn note(answer: Answer) {
    assert!(
        (200..300).contains(&answer.status),
        "{} {}",
        answer.status,
        answer.text
    );
}

#[tokio::test]
async fn report_figures_equal_figures_computed_from_the_cases() {
    let org = Org::new().await;
    note(
        org.admin
            .patch(
                &format!("/api/v1/channels/{}", org.support),
                json!({"settings": {"time_tracking": true}}),
            )
            .await,
    )
    .await;
    // Nine cases at once, then answered and resolved over a few seconds,
    // so that first responses and resolutions take different times.
    let mut numbers = Vec::new();
    for i in 0..9u64 {
        let number = org
            .admin
            .post(
                "/api/v1/cases",
                json!({"channel": org.support, "subject": format!("Case {i}")}),
            )
            .await
            .body["number"]
            .as_u64()
            .unwrap();
        let assignee = if i % 3 == 0 { "max" } else { "amy" };
        let path = format!("/api/v1/cases/{number}");
        note(org.admin.patch(&path, json!({"assignee": assignee})).await).await;
        numbers.push(number);
    }
    for round in 0..4u64 {
        tokio::time::sleep(Duration::from_millis(1050)).await;
        for (i, number) in (0u64..).zip(numbers.iter().copied()) {
            let path = format!("/api/v1/cases/{number}");
            // Answered in round i % 3; case 8 never.
            if i % 3 == round && i != 8 {
                note(
                    org.amy
                        .post(
                            &format!("{path}/messages"),
                            json!({"direction": "outbound", "body": "We are on it."}),
                        )
                        .await,
                )
                .await;
            }
            // Even cases resolved a round after their answer.
            if i % 2 == 0 && i % 3 + 1 == round {
                resolve(&org.amy, number).await;
            }
        }
    }
    // Reopened and resolved again: two resolutions.
    let twice = format!("/api/v1/cases/{}", numbers[4]);
    note(org.amy.post_empty(&format!("{twice}/reopen")).await).await;
    resolve(&org.max, numbers[4]).await;
    for (i, number) in (0u64..).zip(numbers.iter().copied()) {
        let who = if i % 2 == 0 { &org.amy } else { &org.max };
        let kind = if i % 3 == 0 { "Travel" } else { "Work" };
        note(
            who.post(
                &format!("/api/v1/cases/{number}/time"),
                json!({"duration": format!("{}m", 15 * (i + 1)), "type": kind}),
            )
            .await,
        )
        .await;
    }
    // Another channel's cases are not counted where a channel is chosen.
    org.admin.create_case(org.sales, "Elsewhere").await;

    let expected = expected_for(&org.admin, &numbers, None).await;
    let query = format!("?channel={}", org.support);
    let minutes: u64 = expected.minutes.values().sum();
    let report = report_when(&org.admin, &query, |r| {
        let logged: u64 = r["time_logged"]
            .as_array()
            .map(|t| t.iter().filter_map(|l| l["minutes"].as_u64()).sum())
            .unwrap_or(0);
        r["created"] == json!(expected.created)
            && r["resolved"] == json!(expected.resolved)
            && logged == minutes
    })
    .await;
    check(&report, &expected);
    assert_eq!(report["business_hours"], json!(false));

    let amy_only = expected_for(&org.admin, &numbers, Some("amy")).await;
    let report = org
        .admin
        .get(&format!("/api/v1/reports{query}&agent=amy"))
        .await;
    assert_eq!(report.status, 200, "{}", report.text);
    check(&report.body, &amy_only);

    // The numbers behind the charts, as CSV and as a workbook.
    let csv = org
        .admin
        .get(&format!("/api/v1/reports/response-times/csv{query}"))
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines[0], "measure,count,median_seconds,p90_seconds");
    assert!(
        lines[1].starts_with(&format!(
            "first response,{},{}",
            expected.first_responses.len(),
            percentile(&expected.first_responses, 50.0)
        )),
        "{}",
        csv.text
    );
    let xlsx = org
        .admin
        .get(&format!("/api/v1/reports/daily/xlsx{query}"))
        .await;
    assert_eq!(xlsx.status, 200);
    // The page's downloads: the same numbers; other names refused.
    let web = crate::web::Browser::new(&org.server);
    web.login("admin", crate::harness::ADMIN_PASSWORD).await;
    let (status, text, _) = web
        .get(&format!("/reports/response-times.csv{query}"))
        .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(text, csv.text);
    for wrong in ["/reports/response-times.pdf", "/reports/everything.csv"] {
        let (status, text, _) = web.get(wrong).await;
        assert_eq!(status, 400, "{wrong}: {text}");
    }
    let unknown = org.admin.get("/api/v1/reports/everything/csv").await;
    assert_eq!(unknown.status, 422, "{}", unknown.text);
    let backwards = org
        .admin
        .get("/api/v1/reports?from=2026-05-02&to=2026-05-01")
        .await;
    assert_eq!(backwards.status, 422, "{}", backwards.text);
    assert!(backwards.text.contains("from"), "{}", backwards.text);
    let not_a_date = org.admin.get("/api/v1/reports?to=yesterday").await;
    assert_eq!(not_a_date.status, 422, "{}", not_a_date.text);

    // Rebuilt from the store, the figures are the same.
    // The request is stored before the answer: from now on the report
    // says `building` until the figures are built again.
    note(org.admin.post_empty("/api/v1/admin/reindex").await).await;
    let rebuilt = report_when(&org.admin, &query, |r| r["building"] == json!(false)).await;
    check(&rebuilt, &expected);

    // A case in the trash counts no more.
    note(
        org.admin
            .delete(&format!("/api/v1/cases/{}", numbers[1]))
            .await,
    )
    .await;
    let smaller = report_when(&org.admin, &query, |r| {
        r["created"] == json!(expected.created - 1)
    })
    .await;
    assert_eq!(smaller["created"], json!(expected.created - 1));
}

/// The reports page over a generated archive's last three months, as a
/// manager reads it: figures above the fold at a desk, nothing wider than
/// a phone, charts that name themselves, a refused range explained beside
/// its field.
#[tokio::test]
async fn the_reports_page_reads_at_a_glance_at_desk_and_phone_sizes() {
    use thirtyfour::prelude::*;

    let started = std::time::Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, archive, err) = crate::harness::run_cli(&data, &["gen", "--cases", "1500"], None);
    assert!(ok, "{err}");
    let file = dir.path().join("archive.ndjson");
    std::fs::write(&file, archive).unwrap();
    let (ok, _, err) = crate::harness::run_cli(&data, &["import", file.to_str().unwrap()], None);
    assert!(ok, "{err}");
    eprintln!("archive imported after {:?}", started.elapsed());
    let server = Server::start_in(
        &data,
        &[("DOCKET_ADMIN_PASSWORD", crate::harness::ADMIN_PASSWORD)],
    );
    let admin = server.admin().await;
    let range = "?from=2026-08-01&to=2026-10-31";
    let report = report_when(&admin, range, |r| r["building"] == json!(false)).await;
    assert!(report["created"].as_u64() > Some(100), "{report}");

    eprintln!("report ready after {:?}", started.elapsed());
    let (_driver, web) = crate::browser::start_browser().await;
    let outcome = async {
        web.set_window_rect(0, 0, 1440, 900).await?;
        web.goto(server.url("/inbox")).await?;
        crate::browser::log_in(&web).await?;
        web.goto(server.url(&format!("/reports{range}"))).await?;
        let created = web.find(By::Css("#tile-created .tile-value")).await?;
        assert_eq!(created.text().await?, report["created"].to_string());
        let median = web
            .find(By::Css("#tile-first-response .tile-value"))
            .await?
            .text()
            .await?;
        assert!(median.contains(" h") || median.contains(" d"), "{median}");
        let charts = web.find_all(By::Css("svg.chart[role=img]")).await?;
        assert_eq!(charts.len(), 3, "time logged is empty in an archive");
        for chart in &charts {
            let title = chart.find(By::Css("title")).await?;
            assert!(!title.inner_html().await?.is_empty());
        }
        let tiles_bottom = web
            .execute(
                "return document.getElementById('report-tiles').getBoundingClientRect().bottom;",
                vec![],
            )
            .await?
            .json()
            .as_f64()
            .unwrap();
        assert!(
            tiles_bottom < 900.0,
            "the figures are above the fold: {tiles_bottom}"
        );
        assert!(!crate::workspace::scrolls_sideways(&web).await);
        crate::workspace::screenshot(&web, "reports-1440").await;

        web.set_window_rect(0, 0, 390, 844).await?;
        web.goto(server.url(&format!("/reports{range}"))).await?;
        web.find(By::Id("report-tiles")).await?;
        assert!(!crate::workspace::scrolls_sideways(&web).await);
        crate::workspace::screenshot(&web, "reports-390").await;

        web.goto(server.url("/reports?from=2026-05-02&to=2026-05-01"))
            .await?;
        let error = web.find(By::Id("from-error")).await?.text().await?;
        assert!(error.contains("after it ends"), "{error}");
        let kept = web.find(By::Id("from")).await?.prop("value").await?;
        assert_eq!(kept.as_deref(), Some("2026-05-02"));
        WebDriverResult::Ok(())
    }
    .await;
    if outcome.is_err()
        && let Ok(png) = web.screenshot_as_png().await
    {
        let path = std::env::temp_dir().join("docket-reports-failure.png");
        let _ = std::fs::write(&path, png);
        eprintln!("screenshot of the failure: {}", path.display());
    }
    web.quit().await.unwrap();
    outcome.unwrap();
}
