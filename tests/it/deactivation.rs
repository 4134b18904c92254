//! Deactivating an account: it cannot log in, its sessions and tokens stop
//! working, nobody can assign it cases, and its cases stay; reactivating
//! brings it back.

use serde_json::json;

use crate::harness::{Client, Org, PASSWORD};
use crate::web::Browser;

#[tokio::test]
async fn a_deactivated_account_is_locked_out_and_its_cases_stay() {
    let org = Org::new().await;
    let number = org.amy.create_case(org.support, "Amy's case").await;
    let amy_browser = Browser::new(&org.server);
    amy_browser.login("amy", PASSWORD).await;

    // Only administrators, never oneself.
    let by_agent = org
        .max
        .patch("/api/v1/users/amy", json!({"active": false}))
        .await;
    assert_eq!(by_agent.status, 403);
    let myself = org
        .admin
        .patch("/api/v1/users/admin", json!({"active": false}))
        .await;
    assert_eq!(myself.status, 409, "{}", myself.text);

    let off = org
        .admin
        .patch("/api/v1/users/amy", json!({"active": false}))
        .await;
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(off.body["active"], false);
    assert!(off.body["deactivated_at"].is_string());
    assert_eq!(
        org.amy.get("/api/v1/me").await.status,
        401,
        "her API token stopped working"
    );
    let (status, _, location) = amy_browser.get("/inbox").await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/login?next=/inbox")),
        "her session ended"
    );
    let login = Client::anonymous(&org.server)
        .post(
            "/api/v1/auth/login",
            json!({"username": "amy", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status, 403);
    assert!(login.text.contains("deactivated"), "{}", login.text);
    // Her cases stay; nobody can give her new ones.
    let case = org.max.get(&format!("/api/v1/cases/{number}")).await;
    assert_eq!(case.status, 200);
    assert_eq!(case.body["created_by"], "amy");
    let assign = org
        .max
        .patch(
            &format!("/api/v1/cases/{number}"),
            json!({"assignee": "amy"}),
        )
        .await;
    assert_eq!(assign.status, 422, "{}", assign.text);

    // The users page shows it and brings her back.
    let admin = Browser::new(&org.server);
    admin.login("admin", crate::harness::ADMIN_PASSWORD).await;
    let (_, page, _) = admin.get("/users").await;
    assert!(page.contains("id=\"reactivate-amy\""), "{page}");
    let csrf = admin.csrf().await;
    let (status, _, _) = admin
        .post("/users/amy/reactivate", &[("csrf", &csrf)])
        .await;
    assert_eq!(status, 303);
    let amy = Client::login(&org.server, "amy", PASSWORD).await;
    assert_eq!(amy.get("/api/v1/me").await.status, 200);
    let (_, page, _) = admin.get("/users").await;
    assert!(page.contains("id=\"deactivate-amy\""));
    let (status, _, _) = admin
        .post("/users/amy/deactivate", &[("csrf", &csrf)])
        .await;
    assert_eq!(status, 303);
    assert_eq!(amy.get("/api/v1/me").await.status, 401);
}

#[tokio::test]
async fn the_last_active_administrator_stays_and_a_deactivated_assignee_stays_shown() {
    let org = Org::new().await;
    org.admin.create_user("boss", "admin").await;
    let off = org
        .admin
        .patch("/api/v1/users/boss", json!({"active": false}))
        .await;
    assert_eq!(off.status, 200);
    // Boss is an administrator, but a deactivated one: admin is the last.
    let demoted = org
        .admin
        .patch("/api/v1/users/admin", json!({"role": "user"}))
        .await;
    assert_eq!(demoted.status, 409, "{}", demoted.text);

    let number = org.amy.create_case(org.support, "Amy's own").await;
    org.amy
        .patch(
            &format!("/api/v1/cases/{number}"),
            json!({"assignee": "amy"}),
        )
        .await;
    org.admin
        .patch("/api/v1/users/amy", json!({"active": false}))
        .await;
    let max = Browser::new(&org.server);
    max.login("max", PASSWORD).await;
    let (_, page, _) = max.get(&format!("/cases/{number}")).await;
    assert!(
        page.contains("<option value=\"amy\" selected>amy (cannot take new cases)</option>"),
        "the case still shows who holds it: {page}"
    );
}
