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
    for (raw, subject, body) in &corpus {
        let answer = deliver(&org.admin, org.support, raw).await;
        let case = answer["case"].as_u64().unwrap();
        let (read_subject, read_body) = read_back(&org.amy, case).await;
        assert_eq!(&read_subject, subject);
        assert_eq!(&read_body, body);
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
