//! Filters, permissions and the "10,000+" bound on a generated archive big
//! enough to pass the bound: every list an agent and an administrator can
//! ask for, paged to its end, must hold exactly the cases the archive (as
//! stored: spot-checked against each case's own record) says it should,
//! with totals and sidebar counts to match, also after cases change.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use crate::harness::{ADMIN_PASSWORD, Client, PASSWORD, Server, run_cli};

/// What a list decides by, for one case.
#[derive(Debug, Clone)]
struct Truth {
    channel: u64,
    status: String,
    archived: bool,
    deleted: bool,
    assignee: Option<String>,
    category: Option<String>,
}

impl Truth {
    fn in_view(&self, view: &str) -> bool {
        if self.deleted {
            return false;
        }
        let resolved = self.status == "resolved";
        match view {
            "open" => !resolved,
            "closed" => resolved && !self.archived,
            "all" => !self.archived,
            "archived" => self.archived,
            other => panic!("no view {other}"),
        }
    }
}

/// Every case of a list, by cursor, with the first page's answer.
async fn whole_list(client: &Client, query: &str) -> (BTreeSet<u64>, Value) {
    let first = client
        .get(&format!("/api/v1/cases?{query}&limit=100"))
        .await;
    assert_eq!(first.status, 200, "{query}: {}", first.text);
    let mut numbers = BTreeSet::new();
    let mut page = first.body.clone();
    // Lists without words come newest change first (then highest number),
    // or by number when asked: across pages too.
    let by_number = query.contains("sort=number") || query.contains("sort=-number");
    let ascending = query.contains("sort=number");
    let by_relevance = query.contains("q=");
    let mut last_key: Option<(i64, u64)> = None;
    loop {
        for item in page["items"].as_array().unwrap() {
            let number = item["number"].as_u64().unwrap();
            assert!(numbers.insert(number), "{query}: a case listed twice");
            let key = if by_number {
                (0, number)
            } else {
                let updated = item["updated_at"].as_str().unwrap();
                let seconds = chrono::DateTime::parse_from_rfc3339(updated)
                    .unwrap()
                    .timestamp();
                (seconds, number)
            };
            if let Some(last) = last_key.filter(|_| !by_relevance) {
                let in_order = if ascending { last < key } else { last > key };
                assert!(in_order, "{query}: {key:?} listed after {last:?}");
            }
            last_key = Some(key);
        }
        let Some(cursor) = page["next_cursor"].as_str() else {
            break;
        };
        let next = client
            .get(&format!(
                "/api/v1/cases?{query}&limit=100&facets=false&cursor={cursor}"
            ))
            .await;
        assert_eq!(next.status, 200, "{}", next.text);
        page = next.body;
    }
    (numbers, first.body)
}

fn counts(cases: &[&Truth]) -> Value {
    let mut status: BTreeMap<String, u64> = BTreeMap::new();
    let mut channel: BTreeMap<String, u64> = BTreeMap::new();
    let mut category: BTreeMap<String, u64> = BTreeMap::new();
    let mut assignee: BTreeMap<String, u64> = BTreeMap::new();
    for case in cases {
        *status.entry(case.status.clone()).or_default() += 1;
        *channel.entry(case.channel.to_string()).or_default() += 1;
        if let Some(c) = &case.category {
            *category.entry(c.clone()).or_default() += 1;
        }
        if let Some(a) = &case.assignee {
            *assignee.entry(a.clone()).or_default() += 1;
        }
    }
    json!({"status": status, "channel": channel, "category": category, "assignee": assignee})
}

#[tokio::test]
async fn lists_at_scale_show_exactly_what_each_user_may_see() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, archive, err) = run_cli(&data, &["gen", "--cases", "16000", "--seed", "3"], None);
    assert!(ok, "{err}");
    let file = dir.path().join("archive.ndjson");
    std::fs::write(&file, &archive).unwrap();
    let (ok, _, err) = run_cli(&data, &["import", file.to_str().unwrap()], None);
    assert!(ok, "{err}");
    let server = Server::start_in(&data, &[("DOCKET_ADMIN_PASSWORD", ADMIN_PASSWORD)]);
    let admin = server.admin().await;

    let channel_ids: HashMap<String, u64> = admin
        .get("/api/v1/channels")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["id"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut truth: BTreeMap<u64, Truth> = BTreeMap::new();
    for line in archive.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        if record["type"] != "case" {
            continue;
        }
        truth.insert(
            record["number"].as_u64().unwrap(),
            Truth {
                channel: channel_ids[record["channel"].as_str().unwrap()],
                status: record["status"].as_str().unwrap().to_owned(),
                archived: record["archived"].as_bool().unwrap(),
                deleted: false,
                assignee: record["assignee"].as_str().map(str::to_owned),
                category: record["category"].as_str().map(str::to_owned),
            },
        );
    }
    // The archive is what the store holds: checked on a spread of cases,
    // each read from its own record.
    for number in truth.keys().copied().step_by(400) {
        let stored = admin.get(&format!("/api/v1/cases/{number}")).await.body;
        let expected = &truth[&number];
        assert_eq!(stored["channel"].as_u64(), Some(expected.channel));
        assert_eq!(stored["status"].as_str(), Some(expected.status.as_str()));
        assert_eq!(stored["archived"].as_bool(), Some(expected.archived));
    }

    // An agent of three of the eight channels.
    admin.create_user("watcher", "user").await;
    let mine = [
        channel_ids["Billing"],
        channel_ids["Instagram"],
        channel_ids["Phone"],
    ];
    for channel in mine {
        admin.add_member(channel, "watcher", "agent").await;
    }
    let watcher = Client::login(&server, "watcher", PASSWORD).await;

    check(&admin, &watcher, mine, &truth).await;
    let everything = truth.values().filter(|c| c.in_view("all")).count();
    assert!(
        everything > 10_000,
        "the archive passes the bound: {everything}"
    );

    // Words: the agent finds exactly the administrator's hits in the
    // agent's channels.
    for word in ["refund", "router", "warranty", "E1000", "parcel"] {
        let (theirs, _) = whole_list(&watcher, &format!("view=all&q={word}&facets=false")).await;
        let (all, _) = whole_list(&admin, &format!("view=all&q={word}&facets=false")).await;
        let expected: BTreeSet<u64> = all
            .into_iter()
            .filter(|n| mine.contains(&truth[n].channel))
            .collect();
        assert_eq!(theirs, expected, "q={word}");
    }

    // Cases change: resolved, assigned, moved to the trash. The lists follow.
    let open_mine: Vec<u64> = truth
        .iter()
        .filter(|(_, c)| mine.contains(&c.channel) && c.status != "resolved")
        .map(|(n, _)| *n)
        .take(60)
        .collect();
    for (k, number) in open_mine.iter().enumerate() {
        let path = format!("/api/v1/cases/{number}");
        let case = truth.get_mut(number).unwrap();
        match k % 3 {
            0 => {
                let answer = admin.patch(&path, json!({"status": "resolved"})).await;
                assert_eq!(answer.status, 200, "{}", answer.text);
                case.status = "resolved".into();
            }
            1 => {
                let answer = admin.patch(&path, json!({"assignee": "watcher"})).await;
                assert_eq!(answer.status, 200, "{}", answer.text);
                case.assignee = Some("watcher".into());
            }
            _ => {
                let answer = admin.delete(&path).await;
                assert!(answer.status < 300, "{}", answer.text);
                case.deleted = true;
            }
        }
    }
    check(&admin, &watcher, mine, &truth).await;
}

/// Every view with each filter, as the administrator and as the agent of
/// `mine`, against the truth.
async fn check(admin: &Client, watcher: &Client, mine: [u64; 3], truth: &BTreeMap<u64, Truth>) {
    for (who, client, channels) in [("admin", admin, None), ("watcher", watcher, Some(mine))] {
        let may_see = |case: &Truth| channels.is_none_or(|c: [u64; 3]| c.contains(&case.channel));
        for view in ["open", "closed", "all", "archived"] {
            for (filter, keep) in [
                (
                    "",
                    Box::new(|_: &Truth| true) as Box<dyn Fn(&Truth) -> bool>,
                ),
                (
                    "&status=waiting_for_customer",
                    Box::new(|c: &Truth| c.status == "waiting_for_customer"),
                ),
                (
                    "&category=refund",
                    Box::new(|c: &Truth| c.category.as_deref() == Some("refund")),
                ),
                (
                    "&assignee=watcher",
                    Box::new(|c: &Truth| c.assignee.as_deref() == Some("watcher")),
                ),
                ("&channel=1", Box::new(|c: &Truth| c.channel == 1)),
                ("&sort=number", Box::new(|_: &Truth| true)),
                ("&sort=-number", Box::new(|_: &Truth| true)),
            ] {
                let query = format!("view={view}{filter}&facets=true");
                let (listed, first) = whole_list(client, &query).await;
                let expected: Vec<(&u64, &Truth)> = truth
                    .iter()
                    .filter(|(_, c)| may_see(c) && c.in_view(view) && keep(c))
                    .collect();
                let expected_numbers: BTreeSet<u64> = expected.iter().map(|(n, _)| **n).collect();
                let shown_not_visible: Vec<_> =
                    listed.difference(&expected_numbers).take(5).collect();
                let missing: Vec<_> = expected_numbers.difference(&listed).take(5).collect();
                assert!(
                    shown_not_visible.is_empty() && missing.is_empty(),
                    "{who} {query}: shown but not expected {shown_not_visible:?}, missing {missing:?}"
                );
                assert_eq!(
                    first["total"].as_u64(),
                    Some(expected.len() as u64),
                    "{who} {query}"
                );
                assert_eq!(first["total_capped"], json!(false), "{who} {query}");
                let cases: Vec<&Truth> = expected.iter().map(|(_, c)| *c).collect();
                assert_eq!(first["facets"], counts(&cases), "{who} {query}");
            }
        }
        // Without the sidebar, counting stops at the bound and says so.
        let visible_all = truth
            .values()
            .filter(|c| may_see(c) && c.in_view("all"))
            .count();
        let plain = client
            .get("/api/v1/cases?view=all&facets=false&limit=5")
            .await
            .body;
        if visible_all > 10_000 {
            assert_eq!(plain["total"], json!(10_000), "{who}");
            assert_eq!(plain["total_capped"], json!(true), "{who}");
        } else {
            assert_eq!(plain["total"].as_u64(), Some(visible_all as u64), "{who}");
            assert_eq!(plain["total_capped"], json!(false), "{who}");
        }
    }
}
