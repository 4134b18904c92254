//! axe-core (from its npm package, which `scripts/test` installs) checks
//! the pages agents and admins use all day: no serious or critical
//! accessibility violations.

use serde_json::{Value, json};
use thirtyfour::prelude::*;

use crate::browser::{log_in, start_browser};
use crate::harness::Server;

/// Where `scripts/test` puts axe-core.
fn axe_source() -> String {
    let path = std::env::var("DOCKET_AXE").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/target/npm/node_modules/axe-core/axe.min.js"
        )
        .to_owned()
    });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("axe-core is needed at {path} ({e}); scripts/test installs it with npm")
    })
}

async fn violations(web: &WebDriver, axe: &str) -> Vec<Value> {
    web.execute(axe, vec![]).await.unwrap();
    let result = web
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => ({ id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5) }))))
               .catch(e => done([{ id: 'axe-failed', help: String(e), nodes: [] }]));",
            vec![],
        )
        .await
        .unwrap();
    result.json().as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn the_main_pages_have_no_serious_accessibility_violations() {
    let axe = axe_source();
    let server = Server::start_fresh(&[]);
    let admin = server.admin().await;
    let channel = admin.create_channel("Support").await;
    let number = admin
        .create_case(channel, "Printer jams on every second page")
        .await;
    admin
        .post(
            &format!("/api/v1/cases/{number}/messages"),
            json!({"direction": "inbound", "from": "Jane Doe", "body": "It jams again."}),
        )
        .await;
    admin
        .post(
            &format!("/api/v1/cases/{number}/notes"),
            json!({"body": "Check the **rollers**."}),
        )
        .await;
    let (_driver, web) = start_browser().await;
    let outcome = async {
        web.goto(server.url("/inbox")).await?;
        log_in(&web).await?;
        let mut found = Vec::new();
        for page in [
            "/inbox".to_owned(),
            format!("/cases/{number}"),
            "/cases/new".to_owned(),
            format!("/channels/{channel}"),
            "/users".to_owned(),
            "/reports".to_owned(),
        ] {
            web.goto(server.url(&page)).await?;
            for violation in violations(&web, &axe).await {
                found.push(format!("{page}: {violation}"));
            }
        }
        assert!(
            found.is_empty(),
            "serious or critical violations:\n{}",
            found.join("\n")
        );
        // The check itself works: an unlabelled field is caught.
        web.execute(
            "document.querySelector('main').insertAdjacentHTML('beforeend', '<input type=text>');",
            vec![],
        )
        .await?;
        let caught = violations(&web, &axe).await;
        assert!(
            caught.iter().any(|v| v["id"] == "label"),
            "axe did not catch an unlabelled field: {caught:?}"
        );
        Ok::<_, WebDriverError>(())
    }
    .await;
    let _ = web.quit().await;
    outcome.unwrap();
}
