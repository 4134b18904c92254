//! Exporting the case list to .xlsx, read back with an xlsx reader.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use serde_json::json;

use crate::harness::{Client, Org};

async fn export(client: &Client, query: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/cases/export.xlsx?{query}", client.base))
        .bearer_auth(client.token.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

pub fn rows(bytes: Vec<u8>) -> Vec<Vec<String>> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("a valid xlsx file");
    let range = book.worksheet_range("Cases").expect("a Cases sheet");
    range
        .rows()
        .map(|row| {
            row.iter()
                .map(|cell| match cell {
                    Data::Float(f) => f.to_string(),
                    Data::Bool(b) => b.to_string(),
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn the_list_exports_with_its_filters_sort_and_columns() {
    let org = Org::new().await;
    let amy = &org.amy;
    let printer = amy.create_case(org.support, "Printer <on> fire").await;
    let _login = amy.create_case(org.support, "Login fails").await;
    let invoice = amy.create_case(org.support, "Printer invoice").await;
    amy.post(
        &format!("/api/v1/cases/{printer}/messages"),
        json!({"body": "Smoke everywhere", "direction": "inbound"}),
    )
    .await;
    amy.post(
        &format!("/api/v1/cases/{printer}/messages"),
        json!({"body": "Technician on the way", "direction": "outbound"}),
    )
    .await;
    // Bob's channel never shows up in Amy's export.
    org.bob.create_case(org.sales, "Printer in sales").await;

    let (status, headers, bytes) = export(
        amy,
        "q=printer&sort=number&columns=number,subject,channel,important&messages=true",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let table = rows(bytes);
    assert_eq!(
        table[0],
        ["Case", "Subject", "Channel", "Important", "Messages"]
    );
    assert_eq!(table.len(), 3, "{table:?}");
    assert_eq!(table[1][0], printer.to_string());
    assert_eq!(table[1][1], "Printer <on> fire");
    assert_eq!(table[1][2], "Support");
    assert_eq!(table[1][3], "false");
    assert!(
        table[1][4].contains("Smoke everywhere") && table[1][4].contains("Technician"),
        "{table:?}"
    );
    assert_eq!(table[2][0], invoice.to_string());

    // Default columns, every case of the view.
    let (_, _, bytes) = export(amy, "view=open").await;
    let table = rows(bytes);
    assert_eq!(table[0][0..3], ["Case", "Subject", "Status"]);
    assert_eq!(table.len(), 4);

    let (status, _, bytes) = export(amy, "columns=number,colour").await;
    assert_eq!(status, 422);
    let problem: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(problem["errors"][0]["field"], "columns");
    let (status, _, _) = export(amy, "view=sideways").await;
    assert_eq!(status, 422);
    let (status, _, _) = export(amy, "limit=0").await;
    assert_eq!(status, 422);
    // Repeated columns count once.
    let (_, _, bytes) = export(amy, "columns=number,number,subject&limit=1").await;
    let table = rows(bytes);
    assert_eq!(table[0], ["Case", "Subject"]);
    assert_eq!(table.len(), 2);
    let anonymous = reqwest::get(org.server.url("/api/v1/cases/export.xlsx"))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

/// An export longer than a page holds every case the list does, in its
/// order, whichever way it is sorted; a word with a typo finds what the
/// list finds; other channels stay out.
#[tokio::test]
async fn an_export_longer_than_a_page_keeps_the_lists_order_and_scope() {
    use futures_util::StreamExt;
    let org = Org::new().await;
    let amy = &org.amy;
    // More than the largest page (200), so the list is walked past it.
    let mut mine: Vec<u64> = futures_util::stream::iter(0..230)
        .map(|i| {
            let subject = if i % 10 == 0 {
                format!("Scanner jammed {i}")
            } else {
                format!("Question {i}")
            };
            async move { amy.create_case(org.support, &subject).await }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    mine.sort_unstable();
    for i in 0..3 {
        org.bob
            .create_case(org.sales, &format!("Scanner in sales {i}"))
            .await;
    }
    let numbers = |table: Vec<Vec<String>>| -> Vec<u64> {
        table[1..]
            .iter()
            .map(|row| row[0].parse().unwrap())
            .collect()
    };

    let (status, _, bytes) = export(amy, "view=all&sort=number&columns=number").await;
    assert_eq!(status, 200);
    assert_eq!(numbers(rows(bytes)), mine);

    let (_, _, bytes) = export(amy, "view=all&sort=-number&columns=number&limit=210").await;
    let newest_first: Vec<u64> = mine.iter().rev().take(210).copied().collect();
    assert_eq!(numbers(rows(bytes)), newest_first);

    // "scaner" finds nothing as written, so it is read as a typo, as the
    // list reads it; Bob's scanners stay out.
    let listed = amy.get("/api/v1/cases?view=all&q=scaner&limit=100").await;
    let mut from_list: Vec<u64> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["number"].as_u64().unwrap())
        .collect();
    assert_eq!(from_list.len(), 23, "{}", listed.text);
    let (_, _, bytes) = export(amy, "view=all&q=scaner&columns=number").await;
    let mut exported = numbers(rows(bytes));
    exported.sort_unstable();
    from_list.sort_unstable();
    assert_eq!(exported, from_list);
}
