//! Mail as it really arrives, through the mail endpoint: East Asian
//! charsets, undeclared 8-bit text, broken MIME, replies before their
//! parents, mailing lists, upstream spam verdicts and a spammer's next
//! message, each readable on its case and in search, on the right case.

use serde_json::{Value, json};

use crate::harness::{Client, Org, Server};

const DESK: &str = "support@desk.test";

async fn deliver(client: &Client, channel: u64, raw: &[u8]) -> Value {
    let answer = client
        .raw(
            reqwest::Method::POST,
            &format!("/api/v1/channels/{channel}/mail"),
            "message/rfc822",
            raw.to_vec(),
        )
        .await;
    assert!(
        matches!(answer.status, 200 | 201),
        "{}: {}",
        answer.status,
        answer.text
    );
    answer.body
}

async fn mail_org() -> Org {
    let org = Org::on(Server::start()).await;
    let answer = org
        .admin
        .patch(
            &format!("/api/v1/channels/{}", org.support),
            json!({"email_address": DESK, "settings": {"auto_acknowledge": true}}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    org
}

/// The first message's text and the case's subject.
async fn read_back(client: &Client, case: u64) -> (String, String) {
    let subject = client.get(&format!("/api/v1/cases/{case}")).await.body["subject"]
        .as_str()
        .unwrap()
        .to_owned();
    let activity = client
        .get(&format!("/api/v1/cases/{case}/activity?filter=messages"))
        .await
        .body;
    let body = activity[0]["body"].as_str().unwrap_or_default().to_owned();
    (subject, body)
}

fn headed(from: &str, id: &str, more: &str) -> Vec<u8> {
    format!("From: {from}\r\nTo: {DESK}\r\nMessage-ID: <{id}>\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n{more}")
        .into_bytes()
}

#[tokio::test]
async fn every_charset_and_broken_shape_reads_as_mail_clients_show_it() {
    let org = mail_org().await;
    let corpus: Vec<(Vec<u8>, &str, &str)> = vec![
        (
            [headed("kenji@example.jp", "jp@x", "Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n\r\n").as_slice(), b"\x1b$BF|K\\8l\x1b(B\r\n"].concat(),
            "日本語",
            "日本語",
        ),
        (
            [headed("li@example.cn", "cn@x", "Subject: =?gb2312?B?xOO6ww==?=\r\nContent-Type: text/plain; charset=gb2312\r\n\r\n").as_slice(), b"\xc4\xe3\xba\xc3\r\n"].concat(),
            "你好",
            "你好",
        ),
        (
            [headed("wang@example.tw", "tw@x", "Subject: =?big5?B?p0Gmbg==?=\r\nContent-Type: text/plain; charset=big5\r\n\r\n").as_slice(), b"\xa7A\xa6n\r\n"].concat(),
            "你好",
            "你好",
        ),
        (
            [headed("kim@example.kr", "kr@x", "Subject: =?ks_c_5601-1987?B?vsiz5w==?=\r\nContent-Type: text/plain; charset=ks_c_5601-1987\r\n\r\n").as_slice(), b"\xbe\xc8\xb3\xe7\r\n"].concat(),
            "안녕",
            "안녕",
        ),
        (
            [headed("rene@example.fr", "fr@x", "Subject: ").as_slice(), b"Caf\xe9 cr\xe8me\r\n\r\nCaf\xe9 cr\xe8me br\xfbl\xe9e\r\n"].concat(),
            "Café crème",
            "Café crème brûlée",
        ),
        (
            headed("a@example.com", "unclosed@x", "Subject: Unclosed\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nVGhlIHByaW50ZXIgaXMgYnJva2Vu\r\n"),
            "Unclosed",
            "The printer is broken",
        ),
        (
            headed("b@example.com", "semicolon@x", "Subject: No semicolon\r\nContent-Type: TEXT/PLAIN charset=US-ASCII\r\n\r\nMy screen flickers\r\n"),
            "No semicolon",
            "My screen flickers",
        ),
        (
            headed("c@example.com", "subtype@x", "Subject: No subtype\r\nContent-Type: text\r\n\r\nThe fan is loud\r\n"),
            "No subtype",
            "The fan is loud",
        ),
        (
            headed("d@example.com", "blank@x", "Subject: No blank line\r\nThe keyboard lost a key\r\n"),
            "No blank line",
            "The keyboard lost a key",
        ),
    ];
    let page = crate::web::Browser::new(&org.server);
    page.login("admin", crate::harness::ADMIN_PASSWORD).await;
    for (raw, subject, body) in &corpus {
        let answer = deliver(&org.admin, org.support, raw).await;
        let case = answer["case"].as_u64().unwrap();
        let (read_subject, read_body) = read_back(&org.amy, case).await;
        assert_eq!(&read_subject, subject);
        assert_eq!(&read_body, body);
        // The case page shows the same text.
        let (status, html, _) = page.get(&format!("/cases/{case}")).await;
        assert_eq!(status, 200);
        assert!(html.contains(body), "case #{case} does not show {body}");
        // Nothing became a stray file: only the message as it arrived.
        let files = org
            .amy
            .get(&format!("/api/v1/cases/{case}/files"))
            .await
            .body;
        let files = files.as_array().unwrap();
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(files[0]["origin"], "original");
        assert_eq!(files[0]["name"], "message.eml");
        let original = org
            .amy
            .http
            .get(format!("{}/api/v1/files/{}", org.amy.base, files[0]["id"]))
            .bearer_auth(org.amy.token.as_deref().unwrap())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(
            original.as_ref(),
            raw.as_slice(),
            "the original is kept as it came"
        );
    }
    // Search reads what the case page reads.
    for word in ["brûlée", "flickers", "keyboard"] {
        let mut total = Value::Null;
        for _ in 0..50 {
            total = org.amy.get(&format!("/api/v1/cases?q={word}")).await.body["total"].clone();
            if total == json!(1) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(total, json!(1), "searching {word}");
    }
}

#[tokio::test]
async fn order_lists_and_spam_do_not_decide_the_wrong_case() {
    let org = mail_org().await;
    let support = org.support;

    // A reply that arrives before its parent: the parent joins it.
    let reply = deliver(
        &org.admin,
        support,
        &headed("jane@example.com", "r1@x", "Subject: Re: Broken hinge\r\nIn-Reply-To: <p1@x>\r\nReferences: <p1@x>\r\n\r\nAlso the lid creaks.\r\n"),
    )
    .await;
    let parent = deliver(
        &org.admin,
        support,
        &headed(
            "jane@example.com",
            "p1@x",
            "Subject: Broken hinge\r\n\r\nThe hinge broke.\r\n",
        ),
    )
    .await;
    assert_eq!(parent["case"], reply["case"], "{parent}");
    assert_eq!(parent["threaded_by"], "references");

    // A person writing through a list is a person: their reply reopens,
    // but a new case from a list is never acknowledged.
    let listed = deliver(
        &org.admin,
        support,
        &headed("member@example.org", "l1@x", "Subject: Our group's order\r\nList-Id: <buyers.example.org>\r\nPrecedence: list\r\n\r\nWhere is our order?\r\n"),
    )
    .await;
    let listed_case = listed["case"].as_u64().unwrap();
    assert_eq!(listed["noise"], Value::Null, "a person wrote it: {listed}");
    let person = deliver(
        &org.admin,
        support,
        &headed(
            "solo@example.org",
            "s1@x",
            "Subject: My order\r\n\r\nWhere is my order?\r\n",
        ),
    )
    .await;
    let outbound = |events: &Value| {
        events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["direction"] == "outbound")
            .count()
    };
    let person_events = org
        .amy
        .get(&format!("/api/v1/cases/{}/activity", person["case"]))
        .await
        .body;
    assert_eq!(outbound(&person_events), 1, "the person is acknowledged");
    let list_events = org
        .amy
        .get(&format!("/api/v1/cases/{listed_case}/activity"))
        .await
        .body;
    assert_eq!(outbound(&list_events), 0, "a list is not: {list_events}");
    org.amy
        .post(&format!("/api/v1/cases/{listed_case}/close"), json!({}))
        .await;
    deliver(
        &org.admin,
        support,
        &headed("member@example.org", "l2@x", "Subject: Re: Our group's order\r\nIn-Reply-To: <l1@x>\r\nList-Id: <buyers.example.org>\r\nPrecedence: list\r\n\r\nStill nothing.\r\n"),
    )
    .await;
    let reopened = org
        .amy
        .get(&format!("/api/v1/cases/{listed_case}"))
        .await
        .body;
    assert_eq!(reopened["status"], "open", "{reopened}");

    // Upstream spam goes to spam, closed; the spammer's next message stays
    // there without reopening it.
    let spam = deliver(
        &org.admin,
        support,
        &headed("win@prizes.example", "sp1@x", "Subject: You won\r\nX-Spam-Flag: YES\r\nX-Spam-Status: Yes, score=12.3\r\n\r\nClaim now.\r\n"),
    )
    .await;
    let spam_case = spam["case"].as_u64().unwrap();
    let case = org
        .amy
        .get(&format!("/api/v1/cases/{spam_case}"))
        .await
        .body;
    assert_eq!(case["category"], "spam", "{case}");
    assert_eq!(case["status"], "resolved");
    assert_eq!(case["auto_resolved"], true);
    let again = deliver(
        &org.admin,
        support,
        &headed(
            "win@prizes.example",
            "sp2@x",
            "Subject: Re: You won\r\nIn-Reply-To: <sp1@x>\r\n\r\nLast chance.\r\n",
        ),
    )
    .await;
    assert_eq!(again["case"].as_u64(), Some(spam_case));
    let case = org
        .amy
        .get(&format!("/api/v1/cases/{spam_case}"))
        .await
        .body;
    assert_eq!(case["status"], "resolved", "the spam stays closed: {case}");
    assert_eq!(case["auto_resolved"], true);

    // A channel behind someone else's filter believes no headers.
    let trusting = org
        .admin
        .patch(
            &format!("/api/v1/channels/{}", org.sales),
            json!({"settings": {"trust_spam_headers": false}}),
        )
        .await;
    assert_eq!(trusting.status, 200, "{}", trusting.text);
    assert_eq!(trusting.body["settings"]["trust_spam_headers"], false);
    let marked = deliver(
        &org.admin,
        org.sales,
        &headed(
            "buyer@example.com",
            "sales1@x",
            "Subject: Quote\r\nX-Spam: Yes\r\n\r\nA quote for 40 chairs, please.\r\n",
        ),
    )
    .await;
    let case = org
        .admin
        .get(&format!("/api/v1/cases/{}", marked["case"]))
        .await
        .body;
    assert_eq!(case["status"], "open", "{case}");

    // Sender and subject join by when mail was written, not when it came:
    // two messages written two months apart open two cases.
    let old = deliver(
        &org.admin,
        support,
        b"From: tom@example.com\r\nTo: support@desk.test\r\nMessage-ID: <old@x>\r\nDate: Mon, 05 Oct 2026 09:00:00 +0000\r\nSubject: Printer\r\n\r\nIt jams.\r\n",
    )
    .await;
    let new = deliver(
        &org.admin,
        support,
        b"From: tom@example.com\r\nTo: support@desk.test\r\nMessage-ID: <new@x>\r\nDate: Fri, 04 Dec 2026 09:00:00 +0000\r\nSubject: Printer\r\n\r\nIt jams again.\r\n",
    )
    .await;
    assert_ne!(old["case"], new["case"], "{new}");
}

/// An mbox of `threads` conversations of `replies + 1` messages each,
/// written a day apart per thread and stored out of order.
fn mailbox(threads: usize, replies: usize) -> String {
    let start = chrono::DateTime::parse_from_rfc3339("2025-01-01T09:00:00Z").unwrap();
    let mut messages = Vec::new();
    for t in 0..threads {
        for r in 0..=replies {
            let at =
                start + chrono::Duration::hours((t * 3) as i64) + chrono::Duration::days(r as i64);
            let id = format!("t{t}m{r}@shop.example");
            let parent = if r > 0 {
                format!("In-Reply-To: <t{t}m{}@shop.example>\n", r - 1)
            } else {
                String::new()
            };
            let re = if r > 0 { "Re: " } else { "" };
            messages.push(format!(
                "From customer{t}@example.com {}\nFrom: Customer {t} <customer{t}@example.com>\nTo: support@desk.test\nMessage-ID: <{id}>\n{parent}Date: {}\nSubject: {re}Order {t} arrived damaged\n\nMessage {r} about order {t}.\n>From the warehouse, nothing.\n",
                at.format("%a %b %e %H:%M:%S %Y"),
                at.to_rfc2822()
            ));
        }
    }
    // A mailbox is seldom in order: replies before their parents.
    messages.reverse();
    messages.join("\n")
}

#[tokio::test]
async fn a_mailbox_is_taken_in_once_with_its_history_across_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, _, err) = crate::harness::run_cli(&data, &["channel", "add", "Support"], None);
    assert!(ok, "{err}");
    let (threads, replies) = (1000, 4);
    let path = dir.path().join("support.mbox");
    std::fs::write(&path, mailbox(threads, replies)).unwrap();
    let import = || {
        std::process::Command::new(crate::harness::docket_bin())
            .args(["import-mail", "--channel", "Support", "--mbox"])
            .arg(&path)
            .arg("--data")
            .arg(&data)
            .env("DOCKET_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Killed in the middle of it, then run again to the end.
    let mut first = import();
    {
        // Killed once its progress shows the first messages taken in.
        use std::io::Read;
        let mut stderr = first.stderr.take().unwrap();
        let mut seen = Vec::new();
        let mut chunk = [0u8; 256];
        while !String::from_utf8_lossy(&seen).contains("taken in") {
            let n = stderr.read(&mut chunk).unwrap();
            assert!(n > 0, "the import ended before showing progress");
            seen.extend_from_slice(&chunk[..n]);
        }
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let second = import().wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&second.stdout);
    assert!(
        second.status.success(),
        "{out} {}",
        String::from_utf8_lossy(&second.stderr)
    );
    let total = threads * (replies + 1);
    assert!(out.starts_with(&format!("{total} messages")), "{out}");
    assert!(out.contains("0 set aside"), "{out}");
    assert!(
        !out.contains(" 0 were already here"),
        "the kill came too late to test resuming: {out}"
    );
    // Once more: everything is already here.
    let third = import().wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&third.stdout);
    assert!(out.contains(&format!("{total} were already here")), "{out}");

    let server = Server::start_in(
        &data,
        &[("DOCKET_ADMIN_PASSWORD", crate::harness::ADMIN_PASSWORD)],
    );
    let admin = server.admin().await;
    // The server indexes what the import wrote as it starts.
    let mut cases = Value::Null;
    for _ in 0..200 {
        cases = admin.get("/api/v1/cases?view=all").await.body;
        if cases["total"] == json!(threads) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        cases["total"],
        json!(threads),
        "every thread is one case: {cases}"
    );
    for t in [0, 499, 999] {
        let mut found = Value::Null;
        for _ in 0..100 {
            found = admin
                .get(&format!(
                    "/api/v1/cases?view=all&q=%22order%20{t}%20arrived%22"
                ))
                .await
                .body;
            if found["total"] == json!(1) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(found["total"], json!(1), "thread {t}: {found}");
        let number = found["items"][0]["number"].as_u64().unwrap();
        let case = admin.get(&format!("/api/v1/cases/{number}")).await.body;
        let written = chrono::DateTime::parse_from_rfc3339("2025-01-01T09:00:00Z").unwrap()
            + chrono::Duration::hours(t * 3);
        let created =
            chrono::DateTime::parse_from_rfc3339(case["created_at"].as_str().unwrap()).unwrap();
        assert_eq!(created, written, "the case is dated by its first mail");
        let messages = admin
            .get(&format!("/api/v1/cases/{number}/activity?filter=messages"))
            .await
            .body;
        let bodies: Vec<&str> = messages
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["body"].as_str().unwrap())
            .collect();
        assert_eq!(bodies.len(), replies + 1, "{bodies:?}");
        assert!(
            bodies[0].starts_with(&format!("Message 0 about order {t}.")),
            "{bodies:?}"
        );
        assert!(bodies[0].contains("\nFrom the warehouse"), "{bodies:?}");
        // Nothing was acknowledged.
        assert!(
            messages
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["direction"] == "inbound")
        );
    }
}

#[tokio::test]
async fn an_imap_folder_is_migrated_without_marking_anything_seen() {
    use crate::mailservers::{Dovecot, IMAP_PASSWORD, IMAP_USER};
    let dovecot = Dovecot::start();
    // Stored newest first, as folders often are after a move.
    for raw in [
        "From: ann@example.com\r\nMessage-ID: <a2@x>\r\nIn-Reply-To: <a1@x>\r\nDate: Tue, 03 Mar 2026 09:00:00 +0000\r\nSubject: Re: Refund\r\n\r\nAny news?\r\n",
        "From: bob@example.com\r\nMessage-ID: <b1@x>\r\nDate: Mon, 02 Mar 2026 12:00:00 +0000\r\nSubject: Invoice copy\r\n\r\nPlease resend it.\r\n",
        "From: ann@example.com\r\nMessage-ID: <a1@x>\r\nDate: Mon, 02 Mar 2026 09:00:00 +0000\r\nSubject: Refund\r\n\r\nI want a refund.\r\n",
    ] {
        dovecot.deliver("Archive", raw.as_bytes()).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, _, err) = crate::harness::run_cli(&data, &["channel", "add", "Support"], None);
    assert!(ok, "{err}");
    let run = |url: String, password: &str| {
        std::process::Command::new(crate::harness::docket_bin())
            .args([
                "import-mail",
                "--channel",
                "Support",
                "--imap",
                &url,
                "--folder",
                "Archive",
                "--data",
            ])
            .arg(&data)
            .env("DOCKET_IMAP_PASSWORD", password)
            .env("DOCKET_LOG", "warn")
            .output()
            .unwrap()
    };
    let url = format!("imap+plain://{IMAP_USER}@127.0.0.1:{}", dovecot.port);
    let refused = run(url.clone(), "wrong");
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("IMAP"), "{err}");
    let bad = run("ftp://host".into(), IMAP_PASSWORD);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("imaps, imap or imap+plain"));

    let done = run(url, IMAP_PASSWORD);
    let out = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{out} {}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(out.contains("3 messages"), "{out}");
    assert!(out.contains("2 opened a case, 1 joined one"), "{out}");
    assert_eq!(
        dovecot.counts("Archive").await,
        (3, 3),
        "nothing was marked seen"
    );
}

async fn imports(admin: &Client, channel: u64) -> Value {
    admin
        .get(&format!("/api/v1/channels/{channel}/mailbox-imports"))
        .await
        .body
}

/// Which customers' threads came out as more than one case, to tell a
/// thread split in the store from a document counted twice by the index.
async fn split_threads(admin: &Client, threads: usize) -> String {
    let mut by_customer: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    let mut path = "/api/v1/cases?view=all&limit=100&sort=number".to_owned();
    loop {
        let page = admin.get(&path).await.body;
        for case in page["items"].as_array().into_iter().flatten() {
            by_customer
                .entry(case["customer"]["email"].as_str().unwrap_or("?").to_owned())
                .or_default()
                .push(case["number"].as_u64().unwrap_or(0));
        }
        match page["next_cursor"].as_str() {
            Some(next) => {
                path = format!("/api/v1/cases?view=all&limit=100&sort=number&cursor={next}")
            }
            None => break,
        }
    }
    let split: Vec<_> = by_customer
        .iter()
        .filter(|(_, cases)| cases.len() > 1)
        .collect();
    let listed: usize = by_customer.values().map(Vec::len).sum();
    format!(
        "{listed} listed page by page for {} customers (of {threads}); split threads: {split:?}",
        by_customer.len()
    )
}

async fn finished_import(admin: &Client, channel: u64) -> Value {
    for _ in 0..600 {
        let listed = imports(admin, channel).await;
        if listed[0]["state"] == "finished" || listed[0]["state"] == "failed" {
            return listed[0].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "the import did not finish: {}",
        imports(admin, channel).await
    );
}

#[tokio::test]
async fn a_running_server_migrates_an_uploaded_mailbox_even_across_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let password = crate::harness::ADMIN_PASSWORD;
    let mut server = Server::start_in(&data, &[("DOCKET_ADMIN_PASSWORD", password)]);
    let admin = server.admin().await;
    let channel = admin.create_channel("Support").await;
    let upload = |admin: &Client, body: Vec<u8>| {
        let admin = admin.clone();
        async move {
            admin
                .raw(
                    reqwest::Method::POST,
                    &format!("/api/v1/channels/{channel}/mailbox-imports"),
                    "application/mbox",
                    body,
                )
                .await
        }
    };
    let refused = upload(&admin, b"Subject: no mbox\n\nhi\n".to_vec()).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    admin.create_user("amy", "user").await;
    admin.add_member(channel, "amy", "agent").await;
    let amy = Client::login(&server, "amy", crate::harness::PASSWORD).await;
    let forbidden = upload(&amy, mailbox(5, 1).into_bytes()).await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.text);

    // Killed while it works, it finishes after the restart.
    let (threads, replies) = (400, 2);
    let queued = upload(&admin, mailbox(threads, replies).into_bytes()).await;
    assert_eq!(queued.status, 202, "{}", queued.text);
    for _ in 0..200 {
        if imports(&admin, channel).await[0]["done"]
            .as_u64()
            .unwrap_or(0)
            > 0
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.kill_hard();
    let server = Server::start_in(&data, &[("DOCKET_ADMIN_PASSWORD", password)]);
    let admin = server.admin().await;
    let done = finished_import(&admin, channel).await;
    let total = threads * (replies + 1);
    assert_eq!(done["total"], json!(total), "{done}");
    assert_eq!(done["set_aside_count"], json!(0), "{done}");
    assert!(
        done["duplicates"].as_u64().unwrap() > 0,
        "the rerun after the kill found what was taken in before: {done}"
    );
    assert_eq!(
        done["opened"].as_u64().unwrap()
            + done["joined"].as_u64().unwrap()
            + done["duplicates"].as_u64().unwrap(),
        total as u64
    );
    let mut cases = Value::Null;
    for _ in 0..100 {
        cases = admin.get("/api/v1/cases?view=all").await.body;
        if cases["total"] == json!(threads) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    if cases["total"] != json!(threads) {
        panic!(
            "each thread is one case, but {} cases are listed; {}",
            cases["total"],
            split_threads(&admin, threads).await
        );
    }
    // History has no service targets to miss.
    let number = cases["items"][0]["number"].as_u64().unwrap();
    let milestones = admin
        .get(&format!("/api/v1/cases/{number}/milestones"))
        .await;
    assert_eq!(milestones.status, 200, "{}", milestones.text);
    assert_eq!(milestones.body, json!([]), "{}", milestones.text);

    // The same mailbox again: everything is already here.
    let again = upload(&admin, mailbox(threads, replies).into_bytes()).await;
    assert_eq!(again.status, 202);
    let done = finished_import(&admin, channel).await;
    assert_eq!(done["duplicates"], json!(total), "{done}");
    assert_eq!(imports(&admin, channel).await.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn in_the_browser_mail_keeps_its_original_and_the_spam_setting_is_one_tick() {
    use thirtyfour::prelude::*;
    let org = mail_org().await;
    let case = deliver(
        &org.admin,
        org.support,
        &[
            headed("rene@example.fr", "page@x", "Subject: ").as_slice(),
            b"Caf\xe9 cr\xe8me\r\n\r\nMa commande est arriv\xe9e ab\xeem\xe9e.\r\n",
        ]
        .concat(),
    )
    .await["case"]
        .as_u64()
        .unwrap();
    let (_driver, web) = crate::browser::start_browser().await;
    let outcome = async {
        web.set_window_rect(0, 0, 1440, 900).await?;
        web.goto(org.server.url("/inbox")).await?;
        crate::browser::log_in(&web).await?;
        for (width, height) in [(1440, 900), (390, 844)] {
            web.set_window_rect(0, 0, width, height).await?;
            web.goto(org.server.url(&format!("/cases/{case}"))).await?;
            let thread = web.find(By::Css("ol.thread")).await?.text().await?;
            assert!(
                thread.contains("Ma commande est arrivée abîmée."),
                "{thread}"
            );
            let files = web.find(By::Id("files")).await?;
            files.scroll_into_view().await?;
            let listed = files.text().await?;
            assert!(
                listed.contains("message.eml") && listed.contains("original message"),
                "{listed}"
            );
            assert!(!crate::workspace::scrolls_sideways(&web).await);
            crate::workspace::screenshot(&web, &format!("mail-original-{width}")).await;

            web.goto(org.server.url(&format!("/channels/{}", org.support)))
                .await?;
            let tick = web.find(By::Id("trust-spam-headers")).await?;
            tick.scroll_into_view().await?;
            assert!(tick.is_selected().await?, "on by default");
            assert!(!crate::workspace::scrolls_sideways(&web).await);
            crate::workspace::screenshot(&web, &format!("channel-spam-headers-{width}")).await;
        }
        web.set_window_rect(0, 0, 1440, 900).await?;
        web.find(By::Id("trust-spam-headers"))
            .await?
            .click()
            .await?;
        let save = web.find(By::Id("save-email")).await?;
        save.click().await?;
        save.wait_until().stale().await?;
        assert!(
            !web.find(By::Id("trust-spam-headers"))
                .await?
                .is_selected()
                .await?
        );
        Ok::<_, WebDriverError>(())
    }
    .await;
    let _ = web.quit().await;
    outcome.unwrap();
    let channel = org
        .admin
        .get(&format!("/api/v1/channels/{}", org.support))
        .await
        .body;
    assert_eq!(
        channel["settings"]["trust_spam_headers"], false,
        "{channel}"
    );
}
