//! Search and filtered listing through the index.

use serde_json::{Value, json};

use crate::harness::{ADMIN_PASSWORD, Client, Org, Server};

fn numbers(answer: &Value) -> Vec<u64> {
    answer["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["number"].as_u64().unwrap())
        .collect()
}

async fn search(client: &Client, query: &str) -> Value {
    let answer = client.get(&format!("/api/v1/cases?view=all&{query}")).await;
    assert_eq!(answer.status, 200, "{query}: {}", answer.text);
    answer.body
}

async fn find(client: &Client, query: &str) -> Vec<u64> {
    numbers(&search(client, &q(query)).await)
}

async fn list(client: &Client, query: &str) -> Vec<u64> {
    numbers(&search(client, query).await)
}

fn q(text: &str) -> String {
    let encoded: String = text
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect();
    format!("q={encoded}")
}

/// Four cases with distinct words in different places.
async fn archive(org: &Org) -> [u64; 4] {
    let a = &org.amy;
    let printer = a
        .post(
            "/api/v1/cases",
            json!({"channel": org.support, "subject": "Printer jams on every page", "category": "hardware",
                   "priority": "high", "customer": {"name": "Jane Roe", "email": "jane@example.org"},
                   "description": "The office printer in room 4 stopped working"}),
        )
        .await
        .body["number"]
        .as_u64()
        .unwrap();
    let invoice = a
        .post(
            "/api/v1/cases",
            json!({"channel": org.support, "subject": "Question about invoices", "category": "billing",
                   "important": true, "deadline": "2030-01-01T00:00:00Z"}),
        )
        .await
        .body["number"]
        .as_u64()
        .unwrap();
    let login = a
        .create_case(org.support, "Cannot log in to the portal")
        .await;
    a.post(
        &format!("/api/v1/cases/{login}/notes"),
        json!({"body": "Reset the password via the admin console"}),
    )
    .await;
    a.post(
        &format!("/api/v1/cases/{login}/messages"),
        json!({"body": "I get error E-4711 when I try", "direction": "inbound", "from": "Max Mustermann"}),
    )
    .await;
    let sales = org
        .bob
        .create_case(org.sales, "Printer quote for the new office")
        .await;
    [printer, invoice, login, sales]
}

#[tokio::test]
async fn words_phrases_fields_and_typos_find_the_right_cases() {
    let org = Org::new().await;
    let [printer, invoice, login, sales] = archive(&org).await;
    let admin = &org.admin;
    let mut both = find(admin, "printer").await;
    both.sort();
    assert_eq!(both, vec![printer, sales]);
    assert_eq!(
        find(admin, "printer room").await,
        vec![printer],
        "every word must match"
    );
    assert_eq!(
        find(admin, "invoice").await,
        vec![invoice],
        "stemming: invoice finds invoices"
    );
    assert_eq!(find(admin, "\"log in\"").await, vec![login]);
    assert_eq!(
        find(admin, "password").await,
        vec![login],
        "notes are searched"
    );
    assert_eq!(
        find(admin, "E-4711").await,
        vec![login],
        "messages are searched"
    );
    assert_eq!(find(admin, "printer -quote").await, vec![printer]);
    let mut either = find(admin, "invoice OR portal").await;
    either.sort();
    assert_eq!(either, vec![invoice, login]);
    assert_eq!(find(admin, "subject:invoices").await, vec![invoice]);
    assert_eq!(find(admin, "from:jane@example.org").await, vec![printer]);
    assert_eq!(find(admin, "from:Mustermann").await, vec![login]);
    assert_eq!(find(admin, "category:billing").await, vec![invoice]);
    assert_eq!(find(admin, "channel:Sales").await, vec![sales]);
    assert_eq!(find(admin, &format!("number:{login}")).await, vec![login]);
    assert_eq!(find(admin, &format!("#{invoice}")).await, vec![invoice]);
    assert_eq!(find(admin, "portl*").await, Vec::<u64>::new());
    assert_eq!(find(admin, "port*").await, vec![login]);
    let mut printers = find(admin, "printers*").await;
    printers.sort();
    assert_eq!(
        printers,
        vec![printer, sales],
        "a prefix is analysed like the words it meets"
    );
    assert_eq!(
        find(admin, "pritner").await.len(),
        2,
        "a typo still finds the printers"
    );
    // Only a word that finds nothing alone is taken for a typo: two real
    // words that never meet find nothing, though "cat" is one letter
    // from "car".
    let cat = org.amy.create_case(org.support, "Cat food order").await;
    let car = org.amy.create_case(org.support, "Car repair quote").await;
    assert_eq!(find(admin, "cat repair").await, Vec::<u64>::new());
    assert_eq!(find(admin, "catt food").await, vec![cat]);
    assert_eq!(find(admin, "repiar car").await, vec![car]);
    assert_eq!(find(admin, "priority:high").await, vec![printer]);
    assert_eq!(
        find(admin, "after:2000-01-01 invoices").await,
        vec![invoice]
    );
    assert!(find(admin, "before:2000-01-01").await.is_empty());
}

#[tokio::test]
async fn phrases_of_common_words_match_exactly_and_are_shown() {
    let org = Org::new().await;
    let a = &org.amy;
    let broken = a
        .create_case(org.support, "The scanner is not working at all")
        .await;
    let reordered = a
        .create_case(org.support, "Not working: is the scanner at all on?")
        .await;
    let fine = a
        .create_case(org.support, "It is fine, the scanner works")
        .await;
    let admin = &org.admin;
    // Two common words: one pair term.
    assert_eq!(find(admin, "\"is not\"").await, vec![broken]);
    assert_eq!(find(admin, "\"it is\"").await, vec![fine]);
    // A common word between others: pairs in sequence, order kept.
    assert_eq!(find(admin, "\"is not working\"").await, vec![broken]);
    assert_eq!(find(admin, "\"scanner is not\"").await, vec![broken]);
    assert_eq!(find(admin, "\"the scanner is\"").await, vec![broken]);
    let mut scanners = find(admin, "\"the scanner\"").await;
    scanners.sort();
    assert_eq!(scanners, vec![broken, reordered, fine]);
    assert_eq!(find(admin, "\"working is not\"").await, Vec::<u64>::new());
    // Words alone and prefixes still find every case beside the pairs.
    let mut all = find(admin, "not").await;
    all.sort();
    assert_eq!(all, vec![broken, reordered]);
    let mut prefixed = find(admin, "scann*").await;
    prefixed.sort();
    assert_eq!(prefixed, vec![broken, reordered, fine]);
    // The excerpt marks the phrase's words.
    let body = search(admin, &q("\"is not working\"")).await;
    let snippet = body["items"][0]["snippet"].as_str().expect("a snippet");
    assert!(
        snippet.contains("<b>is</b> <b>not</b> <b>working</b>"),
        "{snippet}"
    );
}

#[tokio::test]
async fn results_carry_snippets_totals_and_facets() {
    let org = Org::new().await;
    let [printer, _, _, _] = archive(&org).await;
    let body = search(&org.admin, &q("office")).await;
    assert_eq!(body["total"], 2);
    let hit = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["number"] == printer)
        .unwrap();
    let snippet = hit["snippet"].as_str().expect("a snippet");
    assert!(snippet.contains("<b>office</b>"), "{snippet}");
    let all = search(&org.admin, "limit=1").await;
    assert_eq!(all["total"], 4);
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    assert_eq!(all["facets"]["status"]["open"], 4);
    assert_eq!(all["facets"]["channel"][org.support.to_string()], 3);
    assert_eq!(all["facets"]["channel"][org.sales.to_string()], 1);
    assert_eq!(all["facets"]["category"]["hardware"], 1);
    assert_eq!(all["facets"]["category"]["billing"], 1);
}

#[tokio::test]
async fn nobody_finds_or_counts_what_they_may_not_see() {
    let org = Org::new().await;
    archive(&org).await;
    let bob = search(&org.bob, &q("printer")).await;
    assert_eq!(bob["total"], 1);
    assert_eq!(bob["items"].as_array().unwrap().len(), 1);
    assert_eq!(bob["items"][0]["channel"], org.sales);
    assert_eq!(bob["facets"]["channel"].as_object().unwrap().len(), 1);
    let everything = search(&org.bob, "").await;
    assert_eq!(everything["total"], 1);
    // A partner finds only what they opened.
    let mine = org
        .pat
        .post(
            "/api/v1/cases",
            json!({"channel": org.support, "subject": "Printer toner order"}),
        )
        .await;
    let mine = mine.body["number"].as_u64().unwrap();
    let pat = search(&org.pat, &q("printer")).await;
    assert_eq!(numbers(&pat), vec![mine]);
    assert_eq!(pat["total"], 1);
}

#[tokio::test]
async fn filters_quick_filters_and_sorts() {
    let org = Org::new().await;
    let [printer, invoice, login, _] = archive(&org).await;
    let amy = &org.amy;
    amy.patch(
        &format!("/api/v1/cases/{login}"),
        json!({"assignee": "amy"}),
    )
    .await;
    org.max
        .patch(
            &format!("/api/v1/cases/{printer}"),
            json!({"subject": "Printer jams on every single page"}),
        )
        .await;
    assert_eq!(list(amy, "category=hardware").await, vec![printer]);
    assert_eq!(list(amy, "important=true").await, vec![invoice]);
    assert_eq!(list(amy, "priority=high").await, vec![printer]);
    assert_eq!(list(amy, "deadline_before=2031-01-01").await, vec![invoice]);
    assert_eq!(list(amy, "quick=assigned_to_me").await, vec![login]);
    assert_eq!(
        list(amy, "quick=unassigned&sort=number").await,
        vec![printer, invoice]
    );
    assert_eq!(
        list(amy, "quick=updated_by_me&sort=number").await,
        vec![printer, invoice, login]
    );
    assert_eq!(
        numbers(&search(&org.max, "quick=updated_by_me").await),
        vec![printer]
    );
    assert_eq!(
        list(amy, "quick=created_by_me&sort=number").await,
        vec![printer, invoice, login]
    );
    assert_eq!(list(amy, "quick=important").await, vec![invoice]);
    assert!(
        list(amy, "quick=needs_attention").await.is_empty(),
        "nothing is three days old"
    );
    assert_eq!(
        list(amy, "created_from=2000-01-01&creator=amy&sort=number").await,
        vec![printer, invoice, login]
    );
    assert!(list(amy, "created_to=2000-01-01").await.is_empty());
    assert_eq!(list(amy, "sort=-priority&limit=1").await, vec![printer]);
    assert_eq!(list(amy, "sort=deadline&limit=1").await, vec![invoice]);
    assert_eq!(
        list(amy, "sort=-number").await,
        vec![login, invoice, printer]
    );
    assert_eq!(
        list(amy, "sort=number").await,
        vec![printer, invoice, login]
    );
    assert_eq!(
        list(amy, "status=open&status=in_progress&sort=number").await,
        vec![printer, invoice, login]
    );
    assert_eq!(list(amy, "source=api&sort=number").await.len(), 3);
}

#[tokio::test]
async fn cursors_page_through_results_without_repeats() {
    let org = Org::new().await;
    for i in 0..7 {
        org.amy
            .create_case(org.support, &format!("Router reboot loop {i}"))
            .await;
    }
    for query in ["sort=-updated", "sort=number", &q("router")] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page_query = match &cursor {
                Some(c) => format!("{query}&limit=3&cursor={c}"),
                None => format!("{query}&limit=3"),
            };
            let page = search(&org.amy, &page_query).await;
            seen.extend(numbers(&page));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 7, "{query}: {seen:?}");
        assert_eq!(seen.len(), 7, "{query}: {seen:?}");
    }
}

#[tokio::test]
async fn malformed_queries_say_where_they_fail() {
    let org = Org::new().await;
    let bad = org
        .amy
        .get(&format!("/api/v1/cases?{}", q("printer \"paper jam")))
        .await;
    let detail = bad.problem(400);
    assert!(detail.contains("character 9"), "{detail}");
    org.amy
        .get(&format!("/api/v1/cases?{}", q("status:shiny")))
        .await
        .problem(400);
    // An unknown channel and one the user cannot see look alike: no match.
    assert!(find(&org.amy, "channel:Nowhere").await.is_empty());
    assert!(find(&org.bob, "channel:Support").await.is_empty());
    org.amy
        .get(&format!("/api/v1/cases?{}", q("after:yesterday")))
        .await
        .problem(400);
    org.amy.get("/api/v1/cases?sort=colour").await.problem(422);
    org.amy
        .get("/api/v1/cases?quick=everything")
        .await
        .problem(422);
    org.amy
        .get("/api/v1/cases?created_from=last-week")
        .await
        .problem(422);
    org.amy
        .get("/api/v1/cases?cursor=k:notanumber")
        .await
        .problem(422);
    org.amy
        .get(&format!(
            "/api/v1/cases?{}&cursor=r:100000000000",
            q("printer")
        ))
        .await
        .problem(422);
    // Far-future dates are accepted and simply match nothing, and a case
    // with one is still indexed.
    assert!(
        find(&org.amy, "before:3000-01-01 after:2999-01-01")
            .await
            .is_empty()
    );
    let far = org
        .amy
        .create_case(org.support, "Deadline in the far future")
        .await;
    let patched = org
        .amy
        .patch(
            &format!("/api/v1/cases/{far}"),
            json!({"deadline": "9999-12-31T00:00:00Z"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(find(&org.amy, "future").await, vec![far]);
    org.amy
        .get("/api/v1/cases?priority=extreme")
        .await
        .problem(400);
}

#[tokio::test]
async fn a_change_is_found_by_the_very_next_search() {
    let org = Org::new().await;
    for i in 0..20 {
        let number = org
            .amy
            .create_case(org.support, &format!("Unique gizmo{i} failure"))
            .await;
        let found = search(&org.amy, &q(&format!("gizmo{i}"))).await;
        assert_eq!(numbers(&found), vec![number], "round {i}");
    }
}

#[tokio::test]
async fn a_deleted_or_corrupt_index_is_rebuilt_at_start() {
    let mut server = Server::start();
    let dir = server.take_dir().unwrap();
    let admin = server.admin().await;
    let channel = admin.create_channel("Support").await;
    let number = admin.create_case(channel, "Flux capacitor overheats").await;
    drop(admin);
    server.terminate();

    let data = dir.path().join("data");
    std::fs::remove_dir_all(data.join("index")).unwrap();
    let restarted = Server::start_in(&data, &[]);
    let admin = Client::login(&restarted, "admin", ADMIN_PASSWORD).await;
    let found = wait_until_found(&admin, "capacitor").await;
    assert_eq!(numbers(&found), vec![number]);
    drop(restarted);

    // A garbled index is moved aside and rebuilt, never a crash.
    std::fs::write(data.join("index").join("meta.json"), b"{ not json").unwrap();
    let restarted = Server::start_in(&data, &[]);
    let admin = Client::login(&restarted, "admin", ADMIN_PASSWORD).await;
    let found = wait_until_found(&admin, "capacitor").await;
    assert_eq!(numbers(&found), vec![number]);
    let aside = std::fs::read_dir(&data)
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().starts_with("index.broken-"));
    assert!(aside, "the broken index is kept aside for inspection");
    drop(dir);
}

/// A search, retried while the index is first being built (503).
async fn wait_until_found(client: &Client, word: &str) -> Value {
    for _ in 0..100 {
        let answer = client
            .get(&format!("/api/v1/cases?view=all&q={word}"))
            .await;
        if answer.status == 200 && answer.body["total"].as_u64() > Some(0) {
            return answer.body;
        }
        assert!(
            answer.status == 200 || answer.status == 503,
            "{}",
            answer.text
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("'{word}' was not found after the rebuild");
}

#[tokio::test]
async fn reindex_rebuilds_while_searches_keep_working() {
    let org = Org::new().await;
    let [printer, _, _, _] = archive(&org).await;
    org.amy
        .post_empty("/api/v1/admin/reindex")
        .await
        .problem(403);
    let started = org.admin.post_empty("/api/v1/admin/reindex").await;
    assert_eq!(started.status, 202, "{}", started.text);
    // Searches answer throughout and after the swap.
    for _ in 0..30 {
        let found = search(&org.admin, &q("jams")).await;
        assert_eq!(numbers(&found), vec![printer]);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let later = org.amy.create_case(org.support, "Scanner jams too").await;
    let mut found = find(&org.admin, "jams").await;
    found.sort();
    assert_eq!(found, vec![printer, later]);
}

#[tokio::test]
async fn the_reindex_command_works_offline_and_against_a_running_server() {
    let mut server = Server::start();
    let dir = server.take_dir().unwrap();
    let data = dir.path().join("data");
    let admin = server.admin().await;
    let channel = admin.create_channel("Support").await;
    admin.create_case(channel, "Warp core breach").await;
    let token = admin.token.clone().unwrap();

    let (ok, _, err) = crate::harness::run_cli(&data, &["reindex"], None);
    assert!(!ok);
    assert!(err.contains("--url"), "{err}");
    let (ok, out, err) = crate::harness::run_cli(
        &data,
        &["reindex", "--url", &server.base, "--token", &token],
        None,
    );
    assert!(ok, "{err}");
    assert!(out.contains("being rebuilt"), "{out}");
    let (ok, _, err) = crate::harness::run_cli(
        &data,
        &["reindex", "--url", &server.base, "--token", "dkt_wrong"],
        None,
    );
    assert!(!ok);
    assert!(err.contains("401"), "{err}");
    drop(admin);
    server.terminate();

    let (ok, out, err) = crate::harness::run_cli(&data, &["reindex"], None);
    assert!(ok, "{err}");
    assert!(out.contains("Rebuilt the search index: 1 cases"), "{out}");
    let restarted = Server::start_in(&data, &[]);
    let admin = Client::login(&restarted, "admin", ADMIN_PASSWORD).await;
    assert_eq!(find(&admin, "warp").await.len(), 1);
    drop(dir);
}

#[tokio::test]
async fn partners_cannot_search_internal_notes() {
    let org = Org::new().await;
    let number = org
        .pat
        .post(
            "/api/v1/cases",
            json!({"channel": org.support, "subject": "Partner request"}),
        )
        .await
        .body["number"]
        .as_u64()
        .unwrap();
    org.amy
        .post(
            &format!("/api/v1/cases/{number}/notes"),
            json!({"body": "confidential pricing exception"}),
        )
        .await;
    assert!(
        find(&org.pat, "confidential").await.is_empty(),
        "a note's words must not find the case for a partner"
    );
    let staff = search(&org.amy, &q("confidential")).await;
    assert_eq!(numbers(&staff), vec![number]);
    assert!(
        staff["items"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<b>confidential</b>")
    );
    let partner_view = search(&org.pat, &q("partner")).await;
    assert!(
        !partner_view.to_string().contains("confidential"),
        "{partner_view}"
    );
}

#[tokio::test]
async fn time_sensitive_lists_unanswered_messages_in_windowed_channels() {
    let org = Org::new().await;
    let instagram = org
        .admin
        .post(
            "/api/v1/channels",
            json!({"name": "Instagram", "settings": {"reply_window_hours": 24}}),
        )
        .await
        .body["id"]
        .as_u64()
        .unwrap();
    org.admin.add_member(instagram, "amy", "agent").await;
    let waiting = org.amy.create_case(instagram, "DM about my order").await;
    let answered = org.amy.create_case(instagram, "DM about returns").await;
    let email = org
        .amy
        .create_case(org.support, "Mail about my order")
        .await;
    for number in [waiting, answered, email] {
        org.amy
            .post(
                &format!("/api/v1/cases/{number}/messages"),
                json!({"body": "Hello?", "direction": "inbound"}),
            )
            .await;
    }
    org.amy
        .post(
            &format!("/api/v1/cases/{answered}/messages"),
            json!({"body": "Hi! On it."}),
        )
        .await;
    // A 24-hour window closes within the 4-hour warning only near its end,
    // so nothing is due yet...
    assert!(list(&org.amy, "quick=time_sensitive").await.is_empty());
    // ...but with a one-hour window, the unanswered message is.
    org.admin
        .patch(
            &format!("/api/v1/channels/{instagram}"),
            json!({"settings": {"reply_window_hours": 1}}),
        )
        .await;
    assert_eq!(list(&org.amy, "quick=time_sensitive").await, vec![waiting]);
}

#[tokio::test]
async fn unread_tracks_what_each_user_has_opened_since_the_customer_wrote() {
    let org = Org::new().await;
    let first = org.amy.create_case(org.support, "First").await;
    let second = org.amy.create_case(org.support, "Second").await;
    assert_eq!(
        list(&org.amy, "quick=unread&sort=number").await,
        vec![first, second],
        "never opened: unread"
    );

    assert_eq!(
        org.amy.get(&format!("/api/v1/cases/{first}")).await.status,
        200
    );
    let mut unread = Vec::new();
    for _ in 0..50 {
        unread = list(&org.amy, "quick=unread").await;
        if unread == vec![second] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(unread, vec![second], "opening a case marks it read");
    assert_eq!(
        list(&org.max, "quick=unread&sort=number").await,
        vec![first, second],
        "markers are per user"
    );

    // Our own reply keeps it read; the customer's next message does not.
    org.amy
        .post(
            &format!("/api/v1/cases/{first}/messages"),
            json!({"body": "We are on it"}),
        )
        .await;
    assert_eq!(list(&org.amy, "quick=unread").await, vec![second]);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    org.amy
        .post(
            &format!("/api/v1/cases/{first}/messages"),
            json!({"body": "Any news?", "direction": "inbound"}),
        )
        .await;
    assert_eq!(
        list(&org.amy, "quick=unread&sort=number").await,
        vec![first, second]
    );
}
