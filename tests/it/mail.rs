//! Email in and out against real servers: the MTA pipe endpoint and
//! command, Dovecot IMAP intake, an SMTP server for Send Update, threading,
//! loop protection, attachments and files.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{ADMIN_PASSWORD, Client, Org, Server, docket_bin};
use crate::mailservers::{Dovecot, SmtpSink};
use crate::web::{Browser, field};

const DESK: &str = "support@desk.test";

/// A plain message; `extra` are more header lines.
fn message(from: &str, subject: &str, id: Option<&str>, extra: &[&str], body: &str) -> Vec<u8> {
    let mut out = format!("From: {from}\r\nTo: {DESK}\r\nSubject: {subject}\r\n");
    if let Some(id) = id {
        out.push_str(&format!("Message-ID: <{id}>\r\n"));
    }
    for line in extra {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

/// A message with a text part, an HTML part with an inline image and a
/// remote one, and a PDF attachment.
fn rich_message(id: &str) -> Vec<u8> {
    format!(
        "From: Jane Doe <jane@example.com>\r\nTo: {DESK}\r\nSubject: Printer jam\r\nMessage-ID: <{id}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=outer\r\n\r\n\
         --outer\r\nContent-Type: multipart/related; boundary=rel\r\n\r\n\
         --rel\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n\
         --alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMy printer jams on every page.\r\n\
         --alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
         <p onclick=\"steal()\">My printer <b>jams</b><script>alert(1)</script></p>\
         <img src=\"cid:logo@example.com\"><img src=\"https://tracker.example/pixel.gif\">\r\n\
         --alt--\r\n\
         --rel\r\nContent-Type: image/png\r\nContent-ID: <logo@example.com>\r\n\
         Content-Disposition: inline; filename=\"logo.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==\r\n\
         --rel--\r\n\
         --outer\r\nContent-Type: application/pdf; name=\"invoice.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"invoice.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         JVBERi0xLjQKJcfsj6IK\r\n--outer--\r\n"
    )
    .into_bytes()
}

async fn deliver(client: &Client, channel: u64, raw: Vec<u8>) -> crate::harness::Answer {
    client
        .raw(
            reqwest::Method::POST,
            &format!("/api/v1/channels/{channel}/mail"),
            "message/rfc822",
            raw,
        )
        .await
}

/// Support with an address, mail from the admin's token.
async fn mail_org(server: Server) -> Org {
    let org = Org::on(server).await;
    let answer = org
        .admin
        .patch(
            &format!("/api/v1/channels/{}", org.support),
            json!({"email_address": DESK}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    org
}

async fn activity(client: &Client, case: u64) -> Vec<Value> {
    let answer = client.get(&format!("/api/v1/cases/{case}/activity")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body.as_array().unwrap().clone()
}

fn messages(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| e["kind"] == "message").collect()
}

async fn status_of(client: &Client, case: u64) -> String {
    let answer = client.get(&format!("/api/v1/cases/{case}")).await;
    answer.body["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn delivered_mail_opens_a_case_with_its_files_and_html_made_safe() {
    let org = mail_org(Server::start()).await;
    let answer = deliver(&org.admin, org.support, rich_message("m1@example.com")).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.body["created"], json!(true));
    let case = answer.body["case"].as_u64().unwrap();

    let got = org.amy.get(&format!("/api/v1/cases/{case}")).await;
    assert_eq!(got.body["subject"], "Printer jam");
    assert_eq!(got.body["source"], "email");
    assert_eq!(got.body["customer"]["email"], "jane@example.com");
    assert_eq!(got.body["customer"]["name"], "Jane Doe");

    let events = activity(&org.amy, case).await;
    let mail = messages(&events)[0];
    assert_eq!(mail["direction"], "inbound");
    assert_eq!(mail["body"], "My printer jams on every page.");
    assert_eq!(mail["email"]["message_id"], "m1@example.com");
    let html = mail["email"]["html"].as_str().unwrap();
    assert!(html.contains("<b>jams</b>"), "{html}");
    assert!(
        !html.contains("script") && !html.contains("onclick"),
        "{html}"
    );
    assert!(
        !html.contains("tracker.example"),
        "remote images never load: {html}"
    );
    assert!(html.contains("cid:logo@example.com"), "{html}");

    let files = org.amy.get(&format!("/api/v1/cases/{case}/files")).await;
    // The two attachments, and the message as it arrived.
    assert_eq!(files.array_len(), 3, "{}", files.text);
    assert_eq!(files.body[2]["origin"], "original", "{}", files.text);
    let names: Vec<&str> = files
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"logo.png") && names.contains(&"invoice.pdf"),
        "{names:?}"
    );
    for file in &files.body.as_array().unwrap()[..2] {
        assert_eq!(file["origin"], "incoming");
        assert_eq!(file["event"], mail["seq"]);
    }
    let logo = files
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "logo.png")
        .unwrap();
    assert_eq!(logo["content_id"], "logo@example.com");
    let mut attached: Vec<u64> = mail["email"]["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    attached.sort();
    let mut listed: Vec<u64> = files
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["origin"] != "original")
        .map(|f| f["id"].as_u64().unwrap())
        .collect();
    listed.sort();
    assert_eq!(attached, listed);

    // The plain text is searchable at once.
    let mut found = false;
    for _ in 0..100 {
        let hits = org.amy.get("/api/v1/cases?q=jams").await;
        if hits.body["total"] == json!(1) {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(found, "the message text is indexed");

    // Delivering the same message again stores nothing new.
    let again = deliver(&org.admin, org.support, rich_message("m1@example.com")).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["duplicate"], json!(true));
    assert_eq!(again.body["case"], json!(case));
    assert_eq!(messages(&activity(&org.amy, case).await).len(), 1);
    assert_eq!(
        org.amy
            .get(&format!("/api/v1/cases/{case}/files"))
            .await
            .array_len(),
        3
    );
}

#[tokio::test]
async fn replies_thread_by_references_token_plus_address_and_subject() {
    let org = mail_org(Server::start()).await;
    let first = deliver(
        &org.admin,
        org.support,
        message(
            "jane@example.com",
            "Broken screen",
            Some("s1@example.com"),
            &[],
            "It broke.",
        ),
    )
    .await;
    let case = first.body["case"].as_u64().unwrap();

    let by_reference = deliver(
        &org.admin,
        org.support,
        message(
            "Jane <jane@example.com>",
            "Something else entirely",
            Some("s2@example.com"),
            &[
                "In-Reply-To: <unknown@elsewhere>",
                "References: <s1@example.com> <unknown@elsewhere>",
            ],
            "More detail.",
        ),
    )
    .await;
    assert_eq!(by_reference.status, 200, "{}", by_reference.text);
    assert_eq!(by_reference.body["case"], json!(case));
    assert_eq!(by_reference.body["threaded_by"], "references");

    let by_token = deliver(
        &org.admin,
        org.support,
        message(
            "colleague@example.com",
            &format!("Re: [#{case}] Broken screen"),
            Some("s3@example.com"),
            &[],
            "Me too.",
        ),
    )
    .await;
    assert_eq!(by_token.body["case"], json!(case));
    assert_eq!(by_token.body["threaded_by"], "subject_token");

    let mut plus = message(
        "other@example.com",
        "A different subject",
        Some("s4@example.com"),
        &[],
        "Via plus.",
    );
    let text = String::from_utf8(plus).unwrap().replace(
        &format!("To: {DESK}"),
        &format!("To: support+{case}@desk.test"),
    );
    plus = text.into_bytes();
    let by_plus = deliver(&org.admin, org.support, plus).await;
    assert_eq!(by_plus.body["case"], json!(case));
    assert_eq!(by_plus.body["threaded_by"], "plus_address");

    for (subject, id) in [
        ("AW: Broken screen", "s5@example.com"),
        ("回复: Broken  screen", "s6@example.com"),
        ("Réf. : Broken screen", "s7@example.com"),
    ] {
        let by_subject = deliver(
            &org.admin,
            org.support,
            message("jane@example.com", subject, Some(id), &[], "Any news?"),
        )
        .await;
        assert_eq!(
            by_subject.body["case"],
            json!(case),
            "{subject}: {}",
            by_subject.text
        );
        assert_eq!(by_subject.body["threaded_by"], "sender_subject");
    }

    // Another sender with the same subject is another case.
    let stranger = deliver(
        &org.admin,
        org.support,
        message(
            "stranger@example.com",
            "Re: Broken screen",
            Some("s8@example.com"),
            &[],
            "Mine too",
        ),
    )
    .await;
    assert_eq!(stranger.status, 201, "{}", stranger.text);
    assert_ne!(stranger.body["case"], json!(case));

    // A token for a case of another channel does not cross over.
    let sales_case = org.admin.create_case(org.sales, "Sales thing").await;
    let crossing = deliver(
        &org.admin,
        org.support,
        message(
            "jane@example.com",
            &format!("[#{sales_case}] hello"),
            Some("s9@example.com"),
            &[],
            "x",
        ),
    )
    .await;
    assert_eq!(crossing.status, 201, "{}", crossing.text);
    assert_ne!(crossing.body["case"], json!(sales_case));
}

#[tokio::test]
async fn people_reopen_resolved_cases_and_machines_never_do() {
    let org = mail_org(Server::start()).await;
    let first = deliver(
        &org.admin,
        org.support,
        message(
            "jane@example.com",
            "Invoice",
            Some("i1@example.com"),
            &[],
            "Wrong amount.",
        ),
    )
    .await;
    let case = first.body["case"].as_u64().unwrap();
    let close = |client: Client| async move {
        let answer = client
            .post_empty(&format!("/api/v1/cases/{case}/close"))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    };
    close(org.amy.clone()).await;

    let out_of_office = deliver(
        &org.admin,
        org.support,
        message(
            "jane@example.com",
            "Out of office: Invoice",
            Some("i2@example.com"),
            &[
                "In-Reply-To: <i1@example.com>",
                "Auto-Submitted: auto-replied",
            ],
            "I am away.",
        ),
    )
    .await;
    assert_eq!(out_of_office.body["case"], json!(case));
    assert_eq!(out_of_office.body["noise"], "auto_reply");
    assert_eq!(status_of(&org.amy, case).await, "resolved");

    let bounce = format!(
        "From: MAILER-DAEMON@mx.example.com\r\nTo: {DESK}\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <b1@mx.example.com>\r\nReturn-Path: <>\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n\
         --r\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver it.\r\n\
         --r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\nFinal-Recipient: rfc822; jane@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n\
         --r\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <i1@example.com>\r\nSubject: Invoice\r\n\r\n--r--\r\n"
    );
    let bounced = deliver(&org.admin, org.support, bounce.into_bytes()).await;
    assert_eq!(
        bounced.body["case"],
        json!(case),
        "a bounce finds its case from the returned headers: {}",
        bounced.text
    );
    assert_eq!(bounced.body["noise"], "bounce");
    assert_eq!(
        status_of(&org.amy, case).await,
        "resolved",
        "a bounce does not reopen"
    );

    let bounce_in_thread = format!(
        "From: MAILER-DAEMON@mx.example.com\r\nTo: {DESK}\r\nSubject: Undelivered: [#{case}] Invoice\r\n\
         Message-ID: <b2@mx.example.com>\r\nReturn-Path: <>\r\n\r\nCould not deliver.\r\n"
    );
    let bounced = deliver(&org.admin, org.support, bounce_in_thread.into_bytes()).await;
    assert_eq!(bounced.body["case"], json!(case));
    assert_eq!(bounced.body["noise"], "bounce");
    assert_eq!(
        status_of(&org.amy, case).await,
        "resolved",
        "a bounce does not reopen"
    );

    let reply = deliver(
        &org.admin,
        org.support,
        message(
            "jane@example.com",
            "Re: Invoice",
            Some("i3@example.com"),
            &["In-Reply-To: <i1@example.com>"],
            "Still wrong.",
        ),
    )
    .await;
    assert_eq!(reply.body["case"], json!(case));
    assert_eq!(reply.body["noise"], Value::Null);
    assert_eq!(
        status_of(&org.amy, case).await,
        "open",
        "a person's reply reopens"
    );
    let events = activity(&org.amy, case).await;
    assert!(events.iter().any(|e| e["kind"] == "reopened"), "{events:?}");
}

#[tokio::test]
async fn only_channel_managers_deliver_and_bad_messages_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("docket.toml");
    std::fs::write(
        &config,
        "[mail]\nmax_message_bytes = 4096\nsender_max_messages = 3\nsender_window_seconds = 600\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("data/plugins")).unwrap();
    let server = Server::start_in(
        &dir.path().join("data"),
        &[
            ("DOCKET_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("DOCKET_CONFIG", config.to_str().unwrap()),
        ],
    );
    let org = mail_org(server).await;
    let raw = || {
        message(
            "jane@example.com",
            "Hello",
            Some("p1@example.com"),
            &[],
            "Hi",
        )
    };

    deliver(&org.amy, org.support, raw()).await.problem(403);
    deliver(&org.bob, org.support, raw()).await.problem(404);
    deliver(&org.pat, org.support, raw()).await.problem(403);
    let anonymous = Client::anonymous(&org.server);
    assert_eq!(deliver(&anonymous, org.support, raw()).await.status, 401);
    deliver(&org.admin, 999, raw()).await.problem(404);
    // A channel manager's token is enough.
    assert_eq!(deliver(&org.max, org.support, raw()).await.status, 201);

    let detail = deliver(&org.admin, org.support, Vec::new())
        .await
        .problem(400);
    assert!(detail.contains("empty"), "{detail}");
    deliver(&org.admin, org.support, b"\r\n\r\n".to_vec())
        .await
        .problem(400);
    let huge = message(
        "jane@example.com",
        "Big",
        Some("big@example.com"),
        &[],
        &"x".repeat(5000),
    );
    let detail = deliver(&org.admin, org.support, huge).await.problem(413);
    assert!(detail.contains("4096"), "{detail}");

    // A flood from one sender is held back with a temporary failure.
    for i in 0..2 {
        let ok = deliver(
            &org.admin,
            org.support,
            message(
                "flood@example.com",
                &format!("n{i}"),
                Some(&format!("f{i}@x")),
                &[],
                "x",
            ),
        )
        .await;
        assert!(ok.status == 201 || ok.status == 200, "{}", ok.text);
    }
    deliver(
        &org.admin,
        org.support,
        message("flood@example.com", "n2", Some("f2@x"), &[], "x"),
    )
    .await;
    let held = deliver(
        &org.admin,
        org.support,
        message("flood@example.com", "n3", Some("f3@x"), &[], "x"),
    )
    .await;
    held.problem(429);
    assert!(held.header("retry-after").is_some());
    // Others are not affected.
    let other = deliver(
        &org.admin,
        org.support,
        message("calm@example.com", "n4", Some("f4@x"), &[], "x"),
    )
    .await;
    assert_eq!(other.status, 201, "{}", other.text);
}

/// Runs `docket mailgate` and returns (exit code, stdout, stderr).
fn mailgate(url: &str, token: &str, channel: &str, input: &[u8]) -> (i32, String, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(docket_bin())
        .args(["mailgate", "--channel", channel, "--url", url])
        .env("DOCKET_TOKEN", token)
        .env("DOCKET_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("docket runs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_mailgate_command_tells_the_mta_to_retry_or_bounce() {
    let org = mail_org(Server::start()).await;
    let token = org.admin.token.clone().unwrap();
    let base = org.server.base.clone();
    let raw = message(
        "jane@example.com",
        "Via pipe",
        Some("g1@example.com"),
        &[],
        "Piped in.",
    );
    let run = move |token: String, channel: &'static str, input: Vec<u8>, url: Option<String>| {
        let url = url.unwrap_or_else(|| base.clone());
        tokio::task::spawn_blocking(move || mailgate(&url, &token, channel, &input))
    };

    let (code, out, _) = run(token.clone(), "support", raw.clone(), None)
        .await
        .unwrap();
    assert_eq!(code, 0);
    assert!(out.starts_with("opened case #"), "{out}");
    let (code, out, _) = run(token.clone(), "Support", raw.clone(), None)
        .await
        .unwrap();
    assert_eq!(code, 0);
    assert!(out.starts_with("already delivered to case #"), "{out}");

    let (code, _, err) = run(token.clone(), "Nowhere", raw.clone(), None)
        .await
        .unwrap();
    assert_eq!(code, 67, "{err}");
    // A refused token keeps the mail at the MTA, to retry: never a bounce.
    let (code, _, err) = run("wrong-token".into(), "Support", raw.clone(), None)
        .await
        .unwrap();
    assert_eq!(code, 75, "{err}");
    assert!(err.contains("refused the token"), "{err}");
    let (code, _, err) = run(token.clone(), "Support", Vec::new(), None)
        .await
        .unwrap();
    assert_eq!(code, 65, "{err}");
    let (code, _, err) = run(token.clone(), "Support", b"\r\n\r\n".to_vec(), None)
        .await
        .unwrap();
    assert_eq!(code, 65, "{err}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let (code, _, err) = run(token.clone(), "Support", raw.clone(), Some(dead_url))
        .await
        .unwrap();
    assert_eq!(
        code, 75,
        "a server that is down means try again later: {err}"
    );
    let (code, _, err) = run(token, "Support", raw, Some("not a url".into()))
        .await
        .unwrap();
    assert_eq!(code, 78, "{err}");
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn case_count(client: &Client) -> u64 {
    client.get("/api/v1/cases?view=all&limit=1").await.body["total"]
        .as_u64()
        .unwrap_or_default()
}

#[tokio::test]
async fn imap_intake_takes_mail_in_once_and_marks_it_seen() {
    let dovecot = Dovecot::start();
    let allowed = format!("127.0.0.1:{}", dovecot.port);
    let org = mail_org(Server::start_fresh(&[("DOCKET_INTERNAL_ALLOW", &allowed)])).await;
    let answer = org
        .max
        .patch(
            &format!("/api/v1/channels/{}", org.support),
            json!({"settings": {"imap": dovecot.settings()}}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["settings"]["imap"]["password_set"], json!(true));
    assert!(
        !answer.text.contains("desk-password"),
        "the password is never shown"
    );
    // Agents do not see the IMAP settings at all.
    let as_agent = org
        .amy
        .get(&format!("/api/v1/channels/{}", org.support))
        .await;
    assert_eq!(as_agent.body["settings"]["imap"], Value::Null);

    dovecot
        .deliver(
            "INBOX",
            &message(
                "jane@example.com",
                "Via IMAP",
                Some("imap1@example.com"),
                &[],
                "Fetched.",
            ),
        )
        .await;
    wait_until("the first case", || async {
        case_count(&org.amy).await == 1
    })
    .await;
    let case = org.amy.get("/api/v1/cases?view=all").await.body["items"][0]["number"]
        .as_u64()
        .expect("the case is listed");
    wait_until("the message to be marked seen", || async {
        dovecot.counts("INBOX").await.0 == 0
    })
    .await;

    // A reply arrives while IDLE waits: it threads onto the case.
    dovecot
        .deliver(
            "INBOX",
            &message(
                "jane@example.com",
                "Re: Via IMAP",
                Some("imap2@example.com"),
                &["In-Reply-To: <imap1@example.com>"],
                "Reply.",
            ),
        )
        .await;
    wait_until("the reply", || async {
        messages(&activity(&org.amy, case).await).len() == 2
    })
    .await;

    // Tricky messages each become a case or are set aside; none stops the
    // poller, which takes the ordinary message after them.
    let deep = {
        let mut m =
            String::from("From: deep@example.com\r\nSubject: deep\r\nMessage-ID: <deep@x>\r\n");
        for level in 0..30 {
            m.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=b{level}\r\n\r\n--b{level}\r\n"
            ));
        }
        m.push_str("Content-Type: text/plain\r\n\r\ndeep inside\r\n");
        m.into_bytes()
    };
    let corpus: Vec<Vec<u8>> = vec![
        b"From: a@example.com\r\nSubject: =?x-unknown?q?broken?=\r\nMessage-ID: <c1@x>\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n\r\nbody \xff\xfe text\r\n".to_vec(),
        b"From: b@example.com\r\nSubject: 8bit \xe9t\xe9\r\nMessage-ID: <c2@x>\r\n\r\nCaf\xe9 cr\xe8me\r\n".to_vec(),
        deep,
        format!("From: c@example.com\r\nSubject: {}\r\nMessage-ID: <c4@x>\r\n\r\nhuge header\r\n", "long ".repeat(20_000)).into_bytes(),
        b"From: d@example.com\r\nSubject: no id\r\n\r\nno message id\r\n".to_vec(),
        b"From: e@example.com\r\nSubject: empty body\r\nMessage-ID: <c6@x>\r\n\r\n".to_vec(),
        b"From: f@example.com\r\nSubject: only a file\r\nMessage-ID: <c7@x>\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\nContent-Disposition: attachment; filename=\"data.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQF\r\n".to_vec(),
        b"\r\n\r\n".to_vec(),
    ];
    for raw in &corpus {
        dovecot.deliver("INBOX", raw).await;
    }
    dovecot
        .deliver(
            "INBOX",
            &message(
                "last@example.com",
                "After the corpus",
                Some("last@example.com"),
                &[],
                "Still here.",
            ),
        )
        .await;
    wait_until("the message after the corpus", || async {
        org.amy.get("/api/v1/cases?q=corpus").await.body["total"] == json!(1)
    })
    .await;
    wait_until("every message to be handled", || async {
        dovecot.counts("INBOX").await.0 == 0
    })
    .await;
    let total = case_count(&org.amy).await;
    assert!(total >= 8, "the corpus became cases: {total}");
    let status = org
        .max
        .get(&format!("/api/v1/channels/{}", org.support))
        .await;
    let mail_status = &status.body["mail_status"];
    assert!(
        mail_status["messages_taken_in"].as_u64().unwrap() >= 9,
        "{mail_status}"
    );
    assert!(
        matches!(mail_status["state"].as_str(), Some("idle" | "polling")),
        "{mail_status}"
    );
    assert!(dovecot.log().contains("imap"), "dovecot served the intake");
}

#[tokio::test]
async fn imap_intake_loses_nothing_across_a_crash_and_shows_failures() {
    let dovecot = Dovecot::start();
    // A port nothing listens on, for the failure shown at the end.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let allowed = format!("127.0.0.1:{},127.0.0.1:{closed_port}", dovecot.port);
    let allow = [("DOCKET_INTERNAL_ALLOW", allowed.as_str())];
    let mut server = Server::start_fresh(&allow);
    let dir = server.take_dir();
    let data = server.data.clone();
    let org = mail_org(server).await;
    org.admin
        .patch(
            &format!("/api/v1/channels/{}", org.support),
            json!({"settings": {"imap": dovecot.settings()}}),
        )
        .await;
    dovecot
        .deliver(
            "INBOX",
            &message(
                "jane@example.com",
                "Before",
                Some("k1@example.com"),
                &[],
                "one",
            ),
        )
        .await;
    wait_until("the first case", || async {
        case_count(&org.admin).await == 1
    })
    .await;
    let Org { mut server, .. } = org;
    server.kill_hard();

    // Mail arrives while Docket is down; and the first message is made
    // unseen again, as if the crash had come before it was marked.
    dovecot
        .deliver(
            "INBOX",
            &message(
                "jane@example.com",
                "While down",
                Some("k2@example.com"),
                &[],
                "two",
            ),
        )
        .await;
    {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", dovecot.port))
            .await
            .unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap();
        let mut session = client
            .login(
                crate::mailservers::IMAP_USER,
                crate::mailservers::IMAP_PASSWORD,
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
        session.select("INBOX").await.unwrap();
        use futures_util::TryStreamExt;
        let _: Vec<_> = session
            .store("1", "-FLAGS (\\Seen)")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        session.logout().await.unwrap();
    }
    assert_eq!(dovecot.counts("INBOX").await.0, 2);

    let server = Server::start_in(&data, &allow);
    let admin = Client::login(&server, "admin", ADMIN_PASSWORD).await;
    wait_until("both messages handled", || async {
        dovecot.counts("INBOX").await.0 == 0
    })
    .await;
    assert_eq!(
        case_count(&admin).await,
        2,
        "one case per message, none twice"
    );

    // A server that cannot be reached shows on the channel, with a retry.
    let mut settings = dovecot.settings();
    settings["port"] = json!(closed_port);
    let channels = admin.get("/api/v1/channels").await;
    let support = channels
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Support")
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    admin
        .patch(
            &format!("/api/v1/channels/{support}"),
            json!({"settings": {"imap": settings}}),
        )
        .await;
    wait_until("the failure to show", || async {
        let channel = admin.get(&format!("/api/v1/channels/{support}")).await;
        channel.body["mail_status"]["state"] == "failing"
            && channel.body["mail_status"]["last_error"].is_string()
            && channel.body["mail_status"]["retry_at"].is_string()
    })
    .await;
    // Plain IMAP to another machine is refused.
    let mut remote = dovecot.settings();
    remote["host"] = json!("imap.example.com");
    admin
        .patch(
            &format!("/api/v1/channels/{support}"),
            json!({"settings": {"imap": remote}}),
        )
        .await
        .problem(422);
    drop(dir);
}

#[tokio::test]
async fn updates_reach_the_smtp_server_with_threading_and_replies_come_back() {
    let sink = SmtpSink::start();
    let url = sink.url();
    let server = Server::start_fresh(&[("DOCKET_SMTP_URL", url.as_str())]);
    let org = mail_org(server).await;
    let first = deliver(&org.admin, org.support, rich_message("t1@example.com")).await;
    let case = first.body["case"].as_u64().unwrap();
    let files = org.amy.get(&format!("/api/v1/cases/{case}/files")).await;
    let invoice = files
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "invoice.pdf")
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"step 1: open the tray".to_vec())
            .file_name("steps.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let uploaded = org
        .amy
        .http
        .post(format!("{}/api/v1/cases/{case}/files", org.server.base))
        .bearer_auth(org.amy.token.as_ref().unwrap())
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 201);
    let uploaded: Value = uploaded.json().await.unwrap();
    let steps = uploaded["id"].as_u64().unwrap();

    let sent = org
        .amy
        .post(
            &format!("/api/v1/cases/{case}/updates"),
            json!({
                "to": ["jane@example.com"],
                "cc": ["Boss@Example.com"],
                "bcc": ["audit@desk.test"],
                "body": "Please open the tray.",
                "attachments": [invoice, steps],
            }),
        )
        .await;
    assert_eq!(sent.status, 202, "{}", sent.text);
    assert_eq!(sent.body["email"]["delivery"]["state"], "pending");
    let received = sink.wait_for(1).await;
    let mail = &received[0];
    let mut rcpt = mail.rcpt_tos.clone();
    rcpt.sort();
    assert_eq!(
        rcpt,
        vec!["audit@desk.test", "boss@example.com", "jane@example.com"]
    );
    assert_eq!(mail.mail_from, DESK);
    assert!(mail.header("From").unwrap().contains(DESK));
    assert!(mail.header("Bcc").is_none(), "blind copies stay blind");
    assert!(
        mail.header("Subject")
            .unwrap()
            .contains(&format!("[#{case}]"))
    );
    assert_eq!(
        mail.header("In-Reply-To").as_deref(),
        Some("<t1@example.com>")
    );
    assert!(
        mail.header("References")
            .unwrap()
            .contains("<t1@example.com>")
    );
    assert!(
        mail.header("Auto-Submitted").is_none(),
        "a person's update is not automatic"
    );
    let message_id = mail.header("Message-ID").unwrap();
    assert_eq!(
        format!("<{}>", sent.body["email"]["message_id"].as_str().unwrap()),
        message_id
    );
    assert!(
        mail.data.contains("invoice.pdf") && mail.data.contains("steps.txt"),
        "both files attached"
    );
    assert!(mail.data.contains("Please open the tray."));

    wait_until("the delivery to show as sent", || async {
        let events = activity(&org.amy, case).await;
        events
            .iter()
            .any(|e| e["email"]["delivery"]["state"] == "sent")
    })
    .await;
    let files = org.amy.get(&format!("/api/v1/cases/{case}/files")).await;
    let outgoing: Vec<&Value> = files
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["origin"] == "outgoing")
        .collect();
    assert_eq!(outgoing.len(), 2, "{}", files.text);

    // Close it; the customer's reply to the update threads back and reopens.
    org.amy
        .post_empty(&format!("/api/v1/cases/{case}/close"))
        .await;
    let reply = deliver(
        &org.admin,
        org.support,
        message(
            "jane@example.com",
            "Re: Printer jam",
            Some("t2@example.com"),
            &[&format!("In-Reply-To: {message_id}")],
            "Did that, still jams.",
        ),
    )
    .await;
    assert_eq!(reply.body["case"], json!(case));
    assert_eq!(reply.body["threaded_by"], "references");
    assert_eq!(status_of(&org.amy, case).await, "open");

    // Bad updates are refused with the field named.
    let bad = |body: Value| {
        let amy = org.amy.clone();
        async move {
            amy.post(&format!("/api/v1/cases/{case}/updates"), body)
                .await
        }
    };
    let problem = bad(json!({"to": [], "body": "x"})).await;
    problem.problem(422);
    assert_eq!(problem.body["errors"][0]["field"], "to");
    let problem = bad(json!({"to": ["not an address"], "body": "x"})).await;
    problem.problem(422);
    let other = org.admin.create_case(org.sales, "Elsewhere").await;
    let foreign_file = {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("x.txt"),
        );
        let r: Value = org
            .admin
            .http
            .post(format!("{}/api/v1/cases/{other}/files", org.server.base))
            .bearer_auth(org.admin.token.as_ref().unwrap())
            .multipart(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["id"].as_u64().unwrap()
    };
    let problem =
        bad(json!({"to": ["a@example.com"], "body": "x", "attachments": [foreign_file]})).await;
    problem.problem(422);
    assert_eq!(
        bad(json!({"to": ["a@example.com"], "body": "x", "extra": 1}))
            .await
            .status,
        400
    );
    let problem = bad(json!({"from": "me", "to": ["a@example.com"], "body": "x"})).await;
    problem.problem(403);
    org.bob
        .post(
            &format!("/api/v1/cases/{case}/updates"),
            json!({"to": ["a@example.com"], "body": "x"}),
        )
        .await
        .problem(404);

    // Where the channel allows it, agents send from their own address.
    org.admin
        .patch(
            &format!("/api/v1/channels/{}", org.support),
            json!({"settings": {"personal_from": true}}),
        )
        .await;
    org.admin
        .patch("/api/v1/users/amy", json!({"email": "amy@desk.test"}))
        .await;
    let amy = Client::login(&org.server, "amy", crate::harness::PASSWORD).await;
    let mine = amy
        .post(
            &format!("/api/v1/cases/{case}/updates"),
            json!({"from": "me", "to": ["jane@example.com"], "body": "From me."}),
        )
        .await;
    assert_eq!(mine.status, 202, "{}", mine.text);
    let received = sink.wait_for(2).await;
    assert!(
        received[1]
            .header("From")
            .unwrap()
            .contains("amy@desk.test"),
        "{:?}",
        received[1].header("From")
    );
    assert_eq!(received[1].mail_from, "amy@desk.test");
}

#[tokio::test]
async fn acknowledgements_go_to_people_and_never_to_machines() {
    let sink = SmtpSink::start();
    let url = sink.url();
    let org = mail_org(Server::start_fresh(&[("DOCKET_SMTP_URL", url.as_str())])).await;
    org.admin
        .patch(
            &format!("/api/v1/channels/{}", org.support),
            json!({"settings": {"auto_acknowledge": true}}),
        )
        .await;
    deliver(
        &org.admin,
        org.support,
        message(
            "robot@example.com",
            "Vacation",
            Some("a1@example.com"),
            &["Auto-Submitted: auto-replied"],
            "Away",
        ),
    )
    .await;
    deliver(
        &org.admin,
        org.support,
        message(
            "list@example.com",
            "Digest",
            Some("a2@example.com"),
            &["Precedence: bulk"],
            "News",
        ),
    )
    .await;
    let person = deliver(
        &org.admin,
        org.support,
        message(
            "jane@example.com",
            "Help please",
            Some("a3@example.com"),
            &[],
            "Help",
        ),
    )
    .await;
    let case = person.body["case"].as_u64().unwrap();
    let received = sink.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let received_later = sink.received();
    assert_eq!(
        received_later.len(),
        1,
        "only the person is answered: {received:?}"
    );
    let ack = &received_later[0];
    assert_eq!(ack.rcpt_tos, vec!["jane@example.com"]);
    assert_eq!(
        ack.header("Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    assert!(
        ack.header("Subject")
            .unwrap()
            .contains(&format!("[#{case}]"))
    );
    assert_eq!(
        ack.header("In-Reply-To").as_deref(),
        Some("<a3@example.com>")
    );
    // The acknowledgement is nobody's reply: the first-reply target stays open.
    let milestones = org
        .amy
        .get(&format!("/api/v1/cases/{case}/milestones"))
        .await;
    let first_reply = milestones
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["completes_on"] == "first_reply")
        .expect("the default plugins set a first-reply milestone")
        .clone();
    assert_ne!(first_reply["state"], "completed", "{first_reply}");
    // Our own acknowledgement coming back (a loop) is treated as machine mail.
    let looped = format!(
        "{}\r\n",
        ack.data
            .replace("To: jane@example.com", &format!("To: {DESK}"))
    );
    let back = deliver(&org.admin, org.support, looped.into_bytes()).await;
    assert_eq!(back.body["noise"], "auto_reply", "{}", back.text);
}

#[tokio::test]
async fn an_unreachable_smtp_server_means_retries_not_loss() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("smtp://{}", closed.local_addr().unwrap());
    drop(closed);
    let org = mail_org(Server::start_fresh(&[("DOCKET_SMTP_URL", url.as_str())])).await;
    let case = org.amy.create_case(org.support, "Call me").await;
    let sent = org
        .amy
        .post(
            &format!("/api/v1/cases/{case}/updates"),
            json!({"to": ["jane@example.com"], "body": "Hello"}),
        )
        .await;
    assert_eq!(sent.status, 202, "{}", sent.text);
    wait_until("a failed attempt to show", || async {
        let events = activity(&org.amy, case).await;
        events.iter().any(|e| {
            let d = &e["email"]["delivery"];
            d["state"] == "pending"
                && d["attempts"].as_u64() >= Some(1)
                && d["last_error"].is_string()
        })
    })
    .await;
}

#[tokio::test]
async fn files_are_served_safely_and_only_to_those_who_may_read_the_case() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("docket.toml");
    std::fs::write(&config, "[mail]\nmax_upload_bytes = 2048\n").unwrap();
    std::fs::create_dir_all(dir.path().join("data/plugins")).unwrap();
    let server = Server::start_in(
        &dir.path().join("data"),
        &[
            ("DOCKET_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("DOCKET_CONFIG", config.to_str().unwrap()),
        ],
    );
    let org = mail_org(server).await;
    let case = org.amy.create_case(org.support, "Files").await;
    let upload = |client: &Client, name: &str, mime: &str, bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(name.to_owned())
                .mime_str(mime)
                .unwrap(),
        );
        client
            .http
            .post(format!("{}/api/v1/cases/{case}/files", client.base))
            .bearer_auth(client.token.clone().unwrap())
            .multipart(form)
            .send()
    };
    let png = upload(
        &org.amy,
        "shot.png",
        "image/png",
        b"\x89PNG\r\n\x1a\nrest".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(png.status(), 201);
    let png: Value = png.json().await.unwrap();
    let html = upload(
        &org.amy,
        "../../evil page.html",
        "text/html",
        b"<script>alert(1)</script>".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(html.status(), 201);
    let html: Value = html.json().await.unwrap();
    assert_eq!(html["name"], "evil page.html", "no path survives");
    // The same content twice is stored once on disk.
    upload(
        &org.amy,
        "copy.png",
        "image/png",
        b"\x89PNG\r\n\x1a\nrest".to_vec(),
    )
    .await
    .unwrap();
    let blobs = crate::harness::files_under(&org.server.data.join("blobs"));
    assert_eq!(blobs.len(), 2, "{blobs:?}");

    let too_big = upload(
        &org.amy,
        "big.bin",
        "application/octet-stream",
        vec![0; 4096],
    )
    .await
    .unwrap();
    assert_eq!(too_big.status(), 413);
    let no_file = org
        .amy
        .http
        .post(format!("{}/api/v1/cases/{case}/files", org.server.base))
        .bearer_auth(org.amy.token.clone().unwrap())
        .multipart(reqwest::multipart::Form::new().text("other", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_file.status(), 400);

    async fn get(client: &Client, id: &Value) -> crate::harness::Answer {
        client
            .get(&format!("/api/v1/files/{}", id.as_u64().unwrap()))
            .await
    }
    let answer = get(&org.amy, &png["id"]).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("image/png"));
    assert!(
        answer
            .header("content-disposition")
            .unwrap()
            .starts_with("inline")
    );
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
    let answer = get(&org.amy, &html["id"]).await;
    assert!(
        answer
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment"),
        "html is never shown in place"
    );
    assert!(
        answer
            .header("content-security-policy")
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(answer.text, "<script>alert(1)</script>");

    // Others: the same 404 as a file that does not exist.
    get(&org.bob, &png["id"]).await.problem(404);
    get(&org.pat, &png["id"]).await.problem(404);
    get(&org.amy, &json!(9999)).await.problem(404);
    org.bob
        .get(&format!("/api/v1/cases/{case}/files"))
        .await
        .problem(404);
    assert_eq!(
        Client::anonymous(&org.server)
            .get(&format!("/api/v1/files/{}", png["id"]))
            .await
            .status,
        401
    );
    let partner_upload = upload(&org.pat, "p.txt", "text/plain", b"x".to_vec())
        .await
        .unwrap();
    assert_eq!(
        partner_upload.status(),
        404,
        "a partner cannot see another's case"
    );
}

#[tokio::test]
async fn the_case_page_shows_mail_and_sends_updates_with_files() {
    let sink = SmtpSink::start();
    let url = sink.url();
    let org = mail_org(Server::start_fresh(&[("DOCKET_SMTP_URL", url.as_str())])).await;
    let first = deliver(&org.admin, org.support, rich_message("w1@example.com")).await;
    let case = first.body["case"].as_u64().unwrap();
    deliver(
        &org.admin,
        org.support,
        message(
            "jane@example.com",
            "Re: Printer jam",
            Some("w2@example.com"),
            &["In-Reply-To: <w1@example.com>"],
            "New words here.\n\nOn Mon, 1 Jan 2026, Support wrote:\n> old words\n",
        ),
    )
    .await;
    let browser = Browser::new(&org.server);
    browser.login("amy", crate::harness::PASSWORD).await;
    let (status, page, _) = browser.get(&format!("/cases/{case}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("invoice.pdf") && page.contains("logo.png"),
        "files are listed"
    );
    assert!(page.contains("Show quoted text"), "quoted text is folded");
    assert!(!page.contains("tracker.example"));
    assert!(!page.contains("<script>alert(1)"));
    assert!(
        page.contains("/files/"),
        "inline images point at the case's files"
    );
    let csrf = field(&page, "csrf");

    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("from", "channel")
        .text("to", "jane@example.com, second@example.com")
        .text("cc", "")
        .text("bcc", "")
        .text("subject", "")
        .text("body", "Sent from the page.")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"notes".to_vec())
                .file_name("notes.txt")
                .mime_str("text/plain")
                .unwrap(),
        );
    let response = browser
        .http
        .post(format!("{}/cases/{case}/updates", browser.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let received = sink.wait_for(1).await;
    assert_eq!(received[0].rcpt_tos.len(), 2);
    assert!(received[0].data.contains("notes.txt"));
    assert!(received[0].data.contains("Sent from the page."));

    // A forged form sends nothing.
    let forged = reqwest::multipart::Form::new()
        .text("csrf", "forged")
        .text("to", "jane@example.com")
        .text("body", "x");
    let response = browser
        .http
        .post(format!("{}/cases/{case}/updates", browser.base))
        .multipart(forged)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    // Uploading from the page, and downloading with the session.
    let form = reqwest::multipart::Form::new().text("csrf", csrf).part(
        "file",
        reqwest::multipart::Part::bytes(b"hello".to_vec())
            .file_name("hello.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let response = browser
        .http
        .post(format!("{}/cases/{case}/files", browser.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let files = org.amy.get(&format!("/api/v1/cases/{case}/files")).await;
    let hello = files
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "hello.txt")
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    let (status, body, _) = browser.get(&format!("/files/{hello}")).await;
    assert_eq!((status, body.as_str()), (200, "hello"));
    let other = Browser::new(&org.server);
    other.login("bob", crate::harness::PASSWORD).await;
    let (status, _, _) = other.get(&format!("/files/{hello}")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_message_on_the_wrong_case_moves_with_its_files_and_its_thread() {
    let org = mail_org(Server::start()).await;
    let wrong = deliver(&org.admin, org.support, rich_message("x1@example.com"))
        .await
        .body["case"]
        .as_u64()
        .unwrap();
    let right = deliver(
        &org.admin,
        org.support,
        message(
            "jane@example.com",
            "The real case",
            Some("x2@example.com"),
            &[],
            "Here.",
        ),
    )
    .await
    .body["case"]
        .as_u64()
        .unwrap();
    let seq = messages(&activity(&org.amy, wrong).await)[0]["seq"]
        .as_u64()
        .unwrap();

    let path = format!("/api/v1/cases/{wrong}/split");
    org.bob
        .post(&path, json!({"event": seq, "to": right}))
        .await
        .problem(404);
    org.amy
        .post(&path, json!({"event": seq, "to": 9999}))
        .await
        .problem(422);
    org.amy
        .post(&path, json!({"event": seq, "to": wrong}))
        .await
        .problem(422);
    let partners = org.pat.create_case(org.support, "Partner's own").await;
    org.amy
        .post(&path, json!({"event": seq, "to": partners}))
        .await
        .problem(403);
    let moved = org
        .amy
        .post(&path, json!({"event": seq, "to": right}))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.body["number"], json!(right));

    assert_eq!(
        org.amy
            .get(&format!("/api/v1/cases/{wrong}/files"))
            .await
            .array_len(),
        0
    );
    assert_eq!(
        org.amy
            .get(&format!("/api/v1/cases/{right}/files"))
            .await
            .array_len(),
        // Its own message as it arrived, and the moved one's file and
        // original.
        4
    );
    assert_eq!(messages(&activity(&org.amy, wrong).await).len(), 0);
    assert_eq!(messages(&activity(&org.amy, right).await).len(), 2);
    let reply = deliver(
        &org.admin,
        org.support,
        message(
            "jane@example.com",
            "Re: Printer jam",
            Some("x3@example.com"),
            &["In-Reply-To: <x1@example.com>"],
            "Follow-up",
        ),
    )
    .await;
    assert_eq!(
        reply.body["case"],
        json!(right),
        "replies follow the moved message"
    );

    // Merging brings the source's files along in the target's list.
    // (another sender: the same one on the same subject would join `right`)
    let from_other = String::from_utf8(rich_message("x4@example.com"))
        .unwrap()
        .replace("jane@example.com", "other@example.com");
    let other = deliver(&org.admin, org.support, from_other.into_bytes())
        .await
        .body["case"]
        .as_u64()
        .unwrap();
    let merged = org
        .amy
        .post(
            &format!("/api/v1/cases/{right}/merge"),
            json!({"sources": [other]}),
        )
        .await;
    assert_eq!(merged.status, 200, "{}", merged.text);
    let files = org.amy.get(&format!("/api/v1/cases/{right}/files")).await;
    // Four messages as they arrived, and two attachments of two of them.
    assert_eq!(files.array_len(), 8, "{}", files.text);
    // The merged case is a stub: messages go to the case it went into.
    org.amy
        .post(
            &format!("/api/v1/cases/{other}/messages"),
            json!({"body": "lost?"}),
        )
        .await
        .problem(409);
    for file in files.body.as_array().unwrap() {
        let download = org.amy.get(&format!("/api/v1/files/{}", file["id"])).await;
        assert_eq!(download.status, 200);
    }
}

#[tokio::test]
async fn managers_set_up_mail_on_the_channel_page() {
    // Port 1 on this machine is inside the network: the administrator
    // allowed it.
    let org = mail_org(Server::start_fresh(&[(
        "DOCKET_INTERNAL_ALLOW",
        "127.0.0.1:1",
    )]))
    .await;
    let path = format!("/channels/{}/email", org.support);
    let form = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("imap_host", "127.0.0.1".to_owned()),
            ("imap_port", "1".to_owned()),
            ("imap_security", "plain".to_owned()),
            ("imap_username", "desk".to_owned()),
            ("imap_password", "secret-imap".to_owned()),
            ("imap_folder", "".to_owned()),
            ("auto_acknowledge", "on".to_owned()),
        ]
    };

    let agent = Browser::new(&org.server);
    agent.login("amy", crate::harness::PASSWORD).await;
    let csrf = agent.csrf().await;
    let (page_status, page, _) = agent.get(&format!("/channels/{}", org.support)).await;
    assert_eq!(page_status, 200);
    assert!(!page.contains("imap_host"), "agents see no mail settings");
    let fields = form(&csrf);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, _) = agent.post(&path, &pairs).await;
    assert_eq!(status, 403);

    let manager = Browser::new(&org.server);
    manager.login("max", crate::harness::PASSWORD).await;
    let csrf = manager.csrf().await;
    let fields = form(&csrf);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, location) = manager.post(&path, &pairs).await;
    assert_eq!(status, 303, "{location:?}");
    let channel = org
        .max
        .get(&format!("/api/v1/channels/{}", org.support))
        .await;
    assert_eq!(channel.body["settings"]["imap"]["folder"], "INBOX");
    assert_eq!(channel.body["settings"]["imap"]["port"], 1);
    assert_eq!(channel.body["settings"]["auto_acknowledge"], json!(true));
    // Nothing listens on port 1: the page shows the failure.
    let mut shown = false;
    for _ in 0..100 {
        let (_, page, _) = manager.get(&format!("/channels/{}", org.support)).await;
        if page.contains("id=\"imap-error\"") {
            assert!(!page.contains("secret-imap"), "the password is never shown");
            shown = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(shown, "the intake's failure shows on the channel page");

    // Saving again without a password keeps the stored one; an empty host
    // turns intake off.
    let mut fields = form(&csrf);
    fields.retain(|(k, _)| *k != "imap_password");
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(manager.post(&path, &pairs).await.0, 303);
    let channel = org
        .max
        .get(&format!("/api/v1/channels/{}", org.support))
        .await;
    assert_eq!(
        channel.body["settings"]["imap"]["password_set"],
        json!(true)
    );
    let (status, _, _) = manager
        .post(&path, &[("csrf", csrf.as_str()), ("imap_host", "")])
        .await;
    assert_eq!(status, 303);
    let channel = org
        .max
        .get(&format!("/api/v1/channels/{}", org.support))
        .await;
    assert_eq!(channel.body["settings"]["imap"], Value::Null);

    // A server inside the network that nobody allowed is refused beside
    // its field, with what was typed kept.
    let mut fields = form(&csrf);
    fields[1].1 = "169.254.169.254".to_owned();
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, page, _) = manager.post(&path, &pairs).await;
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains("is inside this server&#39;s network"),
        "{page}"
    );
    assert!(page.contains("value=\"169.254.169.254\""), "{page}");
    assert!(
        page.contains("name=\"imap_port\" inputmode=\"numeric\" value=\"1\""),
        "the port typed is kept: {page}"
    );
}
