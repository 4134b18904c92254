//! Users and channels over the REST API.

use serde_json::json;

use crate::harness::{Client, Server};

#[tokio::test]
async fn admins_create_users_who_can_then_log_in() {
    let server = Server::start();
    let admin = server.admin().await;
    let created = admin
        .post(
            "/api/v1/users",
            json!({"username": "jane.doe", "password": "jane-password", "display_name": "Jane Doe",
                   "email": "jane@example.org", "role": "user"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["display_name"], "Jane Doe");
    assert!(created.body.get("password").is_none() && created.body.get("password_hash").is_none());
    let jane = Client::login(&server, "jane.doe", "jane-password").await;
    let me = jane.get("/api/v1/me").await.body;
    assert_eq!(me["username"], "jane.doe");
    assert_eq!(me["role"], "user");
    assert_eq!(me["channels"], json!([]));
    // Usernames are case-insensitive at login.
    Client::login(&server, "Jane.Doe", "jane-password").await;
    let users: Vec<String> = admin
        .get("/api/v1/users")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(users, ["admin", "jane.doe"]);
}

#[tokio::test]
async fn channels_carry_their_settings_and_members() {
    let server = Server::start();
    let admin = server.admin().await;
    admin.create_user("amy", "user").await;
    let created = admin
        .post(
            "/api/v1/channels",
            json!({"name": "Instagram DMs", "email_address": "social@example.org",
                   "settings": {"time_tracking": true, "reply_window_hours": 24}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_u64().unwrap();
    assert_eq!(
        created.body["settings"],
        json!({"time_tracking": true, "reply_window_hours": 24, "slack_webhook_set": false, "calendar": null,
               "personal_from": false, "auto_acknowledge": false, "satisfaction": false, "trust_spam_headers": true, "imap": null,
               "integrations": {"meta": null, "phone": null, "widget": null}})
    );

    let path = format!("/api/v1/channels/{id}");
    let patched = admin
        .patch(&path, json!({"settings": {"reply_window_hours": null, "slack_webhook_url": "https://hooks.slack.com/services/A/B/C"}}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert!(patched.body["settings"]["reply_window_hours"].is_null());
    assert_eq!(
        patched.body["settings"]["time_tracking"], true,
        "fields left out stay as they were"
    );
    assert_eq!(patched.body["email_address"], "social@example.org");

    let member = admin
        .put(&format!("{path}/members/amy"), json!({"role": "agent"}))
        .await;
    assert_eq!(
        member.body["members"],
        json!([{"username": "amy", "role": "agent", "display_name": "amy"}])
    );
    let promoted = admin
        .put(&format!("{path}/members/amy"), json!({"role": "manager"}))
        .await;
    assert_eq!(
        promoted.body["members"],
        json!([{"username": "amy", "role": "manager", "display_name": "amy"}])
    );
    let amy = Client::login(&server, "amy", crate::harness::PASSWORD).await;
    let mine = amy.get("/api/v1/me").await.body;
    assert_eq!(
        mine["channels"][0],
        json!({"id": id, "name": "Instagram DMs", "role": "manager", "can_manage": true})
    );
}

#[tokio::test]
async fn admins_edit_accounts_within_the_rules() {
    let org = crate::harness::Org::new().await;
    let admin = &org.admin;
    let changed = admin
        .patch("/api/v1/users/amy", json!({"display_name": "Amy Pond", "email": "amy@example.org", "password": "amy-new-password"}))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["display_name"], "Amy Pond");
    assert_eq!(changed.body["email"], "amy@example.org");
    let amy = Client::login(&org.server, "amy", "amy-new-password").await;
    let cleared = admin
        .patch("/api/v1/users/amy", json!({"email": null}))
        .await;
    assert!(cleared.body["email"].is_null());

    // The last administrator cannot step down.
    admin
        .patch("/api/v1/users/admin", json!({"role": "user"}))
        .await
        .problem(409);
    // A channel manager must step down before becoming a partner.
    let detail = admin
        .patch("/api/v1/users/max", json!({"role": "partner"}))
        .await
        .problem(409);
    assert!(detail.contains("Support"), "{detail}");
    let promoted = admin
        .patch("/api/v1/users/bob", json!({"role": "admin"}))
        .await;
    assert_eq!(promoted.body["role"], "admin");
    assert_eq!(
        admin
            .patch("/api/v1/users/admin", json!({"role": "user"}))
            .await
            .status,
        200
    );

    amy.patch("/api/v1/users/amy", json!({"role": "admin"}))
        .await
        .problem(403);
    org.bob
        .patch("/api/v1/users/ghost", json!({"display_name": "x"}))
        .await
        .problem(404);
    org.bob
        .patch("/api/v1/users/amy", json!({"role": "emperor"}))
        .await
        .problem(400);
    org.bob
        .patch("/api/v1/users/amy", json!({"password": "short"}))
        .await
        .problem(422);
}

#[tokio::test]
async fn users_change_their_own_password() {
    let org = crate::harness::Org::new().await;
    let wrong = org
        .amy
        .post(
            "/api/v1/me/password",
            json!({"current_password": "not-it", "new_password": "brand-new-password"}),
        )
        .await;
    assert!(wrong.problem(422).contains("current_password"));
    let changed = org
        .amy
        .post("/api/v1/me/password", json!({"current_password": crate::harness::PASSWORD, "new_password": "brand-new-password"}))
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    Client::login(&org.server, "amy", "brand-new-password").await;
    let old = Client::anonymous(&org.server)
        .post(
            "/api/v1/auth/login",
            json!({"username": "amy", "password": crate::harness::PASSWORD}),
        )
        .await;
    old.problem(401);
}
