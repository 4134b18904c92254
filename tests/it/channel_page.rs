//! The channel page: what its managers keep there.

use crate::harness::{Org, PASSWORD};
use crate::web::{Browser, field};

#[tokio::test]
async fn managers_connect_meta_phone_and_the_widget_on_the_channel_page() {
    let org = Org::new().await;
    let max = Browser::new(&org.server);
    max.login("max", PASSWORD).await;
    let path = format!("/channels/{}", org.support);
    let (_, page, _) = max.get(&path).await;
    assert!(page.contains("id=\"integrations-form\""));
    let csrf = field(&page, "csrf");
    let save = format!("/channels/{}/integrations", org.support);
    let (status, _, _) = max
        .post(
            &save,
            &[
                ("csrf", &csrf),
                ("meta_app_secret", "app-secret-1"),
                ("meta_verify_token", "verify-1"),
                ("meta_page_access_token", "page-token-1"),
                ("meta_api_base", ""),
                ("phone_auth_token", "twilio-token-1"),
                (
                    "widget_origins",
                    "https://www.example.com\nhttps://shop.example.com",
                ),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let channel = org
        .max
        .get(&format!("/api/v1/channels/{}", org.support))
        .await
        .body;
    let integrations = &channel["settings"]["integrations"];
    assert_eq!(integrations["meta"]["app_secret_set"], true);
    assert_eq!(integrations["phone"]["auth_token_set"], true);
    assert_eq!(
        integrations["widget"]["allowed_origins"],
        serde_json::json!(["https://www.example.com", "https://shop.example.com"])
    );
    // The page never shows a secret.
    let (_, page, _) = max.get(&path).await;
    for secret in ["app-secret-1", "verify-1", "page-token-1", "twilio-token-1"] {
        assert!(!page.contains(secret), "{secret} shown");
    }
    assert!(page.contains("app secret set"));
    // Blank secrets keep what is stored; removing disconnects.
    let (status, _, _) = max
        .post(
            &save,
            &[
                ("csrf", &csrf),
                ("widget_origins", "https://www.example.com"),
                ("phone_remove", "on"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let channel = org
        .max
        .get(&format!("/api/v1/channels/{}", org.support))
        .await
        .body;
    let integrations = &channel["settings"]["integrations"];
    assert_eq!(integrations["meta"]["page_access_token_set"], true, "kept");
    assert!(integrations["phone"].is_null(), "phone disconnected");
    assert_eq!(
        integrations["widget"]["allowed_origins"],
        serde_json::json!(["https://www.example.com"])
    );
    // A bad origin is refused with a readable page; agents cannot change any of it.
    let (status, page, _) = max
        .post(
            &save,
            &[("csrf", &csrf), ("widget_origins", "not an origin")],
        )
        .await;
    assert_eq!(status, 422, "{page}");
    let amy = Browser::new(&org.server);
    amy.login("amy", PASSWORD).await;
    let (_, page, _) = amy.get(&path).await;
    assert!(!page.contains("id=\"integrations-form\""));
    let amy_csrf = field(&page, "csrf");
    let (status, _, _) = amy
        .post(&save, &[("csrf", &amy_csrf), ("phone_auth_token", "x")])
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn refused_channel_settings_name_the_field_as_people_know_it() {
    let org = Org::new().await;
    let max = Browser::new(&org.server);
    max.login("max", PASSWORD).await;
    let (_, page, _) = max.get(&format!("/channels/{}", org.support)).await;
    let csrf = field(&page, "csrf");
    let (status, page, _) = max
        .post(
            &format!("/channels/{}", org.support),
            &[
                ("csrf", &csrf),
                ("name", "Support"),
                ("reply_window_hours", ""),
                ("slack_webhook_url", "http://evil.example/hook"),
            ],
        )
        .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("Slack webhook URL:"), "{page}");
    assert!(
        !page.contains("Slack_webhook_url") && !page.contains("slack_webhook_url:"),
        "{page}"
    );
}

#[tokio::test]
async fn the_slack_webhook_is_write_only_on_the_channel_page() {
    let org = Org::new().await;
    let max = Browser::new(&org.server);
    max.login("max", PASSWORD).await;
    let path = format!("/channels/{}", org.support);
    let save = |extra: Vec<(&'static str, &'static str)>| {
        let max = &max;
        let path = path.clone();
        async move {
            let (_, page, _) = max.get(&path).await;
            let csrf = field(&page, "csrf");
            let mut form = vec![
                ("csrf", csrf.as_str()),
                ("name", "Support"),
                ("reply_window_hours", ""),
            ];
            form.extend(extra);
            let (status, _, _) = max.post(&path, &form).await;
            assert_eq!(status, 303);
        }
    };
    let secret = "https://hooks.slack.com/services/T00/B00/s3cr3t";
    save(vec![("slack_webhook_url", secret)]).await;
    let (_, page, _) = max.get(&path).await;
    assert!(!page.contains("s3cr3t"), "the secret is never shown again");
    assert!(page.contains("Turn Slack notifications off"), "{page}");
    let settings = |org: &Org| {
        let admin = org.admin.clone();
        let path = format!("/api/v1/channels/{}", org.support);
        async move { admin.get(&path).await.body["settings"]["slack_webhook_set"].clone() }
    };
    // Saving other settings with the field left empty keeps the URL.
    save(vec![("slack_webhook_url", "")]).await;
    assert_eq!(settings(&org).await, true);
    save(vec![("slack_webhook_url", ""), ("slack_off", "on")]).await;
    assert_eq!(settings(&org).await, false);
}

#[tokio::test]
async fn managers_keep_business_hours_on_the_channel_page() {
    let org = Org::new().await;
    let max = Browser::new(&org.server);
    max.login("max", PASSWORD).await;
    let path = format!("/channels/{}", org.support);
    let save = format!("{path}/calendar");
    let (_, page, _) = max.get(&path).await;
    assert!(page.contains("id=\"calendar-form\""));
    let csrf = field(&page, "csrf");
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("time_zone", "Mars/Olympus"),
        ("open_mon", "09:00"),
        ("close_mon", "17:00"),
        ("open_fri", "09:00"),
        ("close_fri", "15:30"),
        (
            "holidays",
            "2026-12-25 yearly Christmas\n2026-04-03 Good Friday",
        ),
    ];
    // A wrong time zone is named, and everything typed comes back.
    let (status, page, _) = max.post(&save, &form).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("id=\"calendar-error\""), "{page}");
    assert!(
        page.contains("aria-invalid=\"true\" aria-describedby=\"calendar-error\""),
        "beside the time zone: {page}"
    );
    assert!(
        page.contains("Mars/Olympus") && page.contains("15:30"),
        "{page}"
    );
    assert!(page.contains("2026-04-03 Good Friday"), "{page}");
    form[1].1 = "Europe/Berlin";
    form.push(("open_tue", "09:00"));
    let (status, page, _) = max.post(&save, &form).await;
    assert_eq!(status, 422, "half a day is refused: {page}");
    assert!(page.contains("Tuesday: give both"), "{page}");
    form.pop();
    let (status, _, _) = max.post(&save, &form).await;
    assert_eq!(status, 303);
    let channel = org
        .admin
        .get(&format!("/api/v1/channels/{}", org.support))
        .await;
    let calendar = &channel.body["settings"]["calendar"];
    assert_eq!(calendar["time_zone"], "Europe/Berlin");
    assert_eq!(calendar["hours"].as_array().unwrap().len(), 2);
    assert_eq!(calendar["holidays"][0]["yearly"], true);
    assert_eq!(calendar["holidays"][1]["name"], "Good Friday");
    // Agents see no form; removing the hours takes a tick.
    let amy = Browser::new(&org.server);
    amy.login("amy", PASSWORD).await;
    assert!(!amy.get(&path).await.1.contains("id=\"calendar-form\""));
    let (status, _, _) = max
        .post(&save, &[("csrf", csrf.as_str()), ("remove", "on")])
        .await;
    assert_eq!(status, 303);
    let channel = org
        .admin
        .get(&format!("/api/v1/channels/{}", org.support))
        .await;
    assert!(channel.body["settings"]["calendar"].is_null());
}
