//! The web UI over plain HTTP: sessions, CSRF, forms and escaping.

use serde_json::json;

use crate::harness::{ADMIN_PASSWORD, Org, PASSWORD, Server};

/// A browser-like client with a cookie jar that does not follow redirects.
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
}

pub fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in page"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// Status, body and redirect target of a request.
pub async fn answer(request: reqwest::RequestBuilder) -> (u16, String, Option<String>) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    (status, response.text().await.unwrap(), location)
}

impl Browser {
    pub fn new(server: &Server) -> Browser {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser {
            http,
            base: server.base.clone(),
        }
    }

    pub async fn get(&self, path: &str) -> (u16, String, Option<String>) {
        answer(self.http.get(format!("{}{path}", self.base))).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String, Option<String>) {
        answer(self.http.post(format!("{}{path}", self.base)).form(form)).await
    }

    pub async fn login(&self, username: &str, password: &str) -> (u16, String, Option<String>) {
        let (_, page, _) = self.get("/login?next=/inbox").await;
        let csrf = field(&page, "csrf");
        self.post(
            "/login",
            &[
                ("username", username),
                ("password", password),
                ("csrf", &csrf),
                ("next", "/inbox"),
            ],
        )
        .await
    }

    /// The CSRF token of the logged-in session, read from a page.
    pub async fn csrf(&self) -> String {
        let (_, page, _) = self.get("/inbox").await;
        field(&page, "csrf")
    }
}

#[tokio::test]
async fn pages_require_login_and_redirect_back() {
    let server = Server::start();
    let browser = Browser::new(&server);
    let (status, _, location) = browser.get("/cases/1").await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some("/login?next=/cases/1"));
    let (status, _, location) = browser.get("/").await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some("/inbox"));

    let (status, page, _) = browser.login("admin", "wrong-password").await;
    assert_eq!(status, 401);
    assert!(page.contains("The username or password is wrong"));
    let (status, _, location) = browser.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some("/inbox"));
    let (status, page, _) = browser.get("/inbox").await;
    assert_eq!(status, 200);
    assert!(page.contains("Inbox"));

    // An address with no page gets a page a person reads, not bare text;
    // the API keeps its problem documents.
    let (status, page, _) = browser.get("/no-such-page").await;
    assert_eq!(status, 404);
    assert!(page.contains("There is no page at this address"), "{page}");
    assert!(page.contains("href=\"/inbox\""), "{page}");
    let (status, body, _) = browser.get("/api/v1/no-such-thing").await;
    assert_eq!(status, 404);
    assert!(body.contains("\"status\":404"), "{body}");
}

#[tokio::test]
async fn session_cookie_is_http_only_and_same_site() {
    let server = Server::start();
    let browser = Browser::new(&server);
    let (_, page, _) = browser.get("/login").await;
    let csrf = field(&page, "csrf");
    let response = browser
        .http
        .post(format!("{}/login", server.base))
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("docket_session="))
        .expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP on loopback must not mark it Secure: {cookie}"
    );
}

#[tokio::test]
async fn forms_need_the_sessions_csrf_token() {
    let org = Org::new().await;
    let browser = Browser::new(&org.server);
    browser.login("amy", PASSWORD).await;
    let support = org.support.to_string();
    let (status, page, _) = browser
        .post(
            "/cases",
            &[
                ("csrf", "forged"),
                ("channel", &support),
                ("subject", "Forged"),
            ],
        )
        .await;
    assert_eq!(status, 403);
    assert!(page.contains("reload the page"));
    let login_forged = Browser::new(&org.server)
        .post(
            "/login",
            &[("username", "amy"), ("password", PASSWORD), ("csrf", "x")],
        )
        .await;
    assert_eq!(login_forged.0, 403);
    assert!(
        org.amy.get("/api/v1/cases?view=all").await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_case_is_created_worked_and_closed_through_forms() {
    let org = Org::new().await;
    let browser = Browser::new(&org.server);
    browser.login("amy", PASSWORD).await;
    let csrf = browser.csrf().await;
    let support = org.support.to_string();
    let (status, _, location) = browser
        .post(
            "/cases",
            &[
                ("csrf", &csrf),
                ("channel", &support),
                ("subject", "<script>alert(1)</script> Broken login"),
                ("description", "Cannot log in"),
                ("priority", "high"),
                ("deadline", "2030-05-01T09:30"),
                ("customer_name", "Jane"),
                ("customer_email", "jane@example.org"),
                ("important", "on"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    assert_eq!(location, "/cases/1");
    let (status, page, _) = browser.get(&location).await;
    assert_eq!(status, 200);
    assert!(
        !page.contains("<script>alert(1)</script>"),
        "the subject must be escaped"
    );
    assert!(
        page.contains("&#60;script&#62;alert(1)&#60;/script&#62; Broken login"),
        "the subject is shown, escaped"
    );
    assert!(page.contains("2030-05-01 09:30 UTC"));

    let (status, _, _) = browser
        .post("/cases/1/assign", &[("csrf", &csrf), ("assignee", "max")])
        .await;
    assert_eq!(status, 303);
    browser
        .post(
            "/cases/1/status",
            &[("csrf", &csrf), ("status", "in_progress")],
        )
        .await;
    browser
        .post(
            "/cases/1/notes",
            &[
                ("csrf", &csrf),
                (
                    "body",
                    "Looking into it <b>now</b> <script>alert(1)</script>",
                ),
            ],
        )
        .await;
    browser
        .post(
            "/cases/1/edit",
            &[
                ("csrf", &csrf),
                ("subject", "Broken login"),
                ("priority", "urgent"),
                ("category", "auth"),
                ("case_type", ""),
                ("deadline", ""),
            ],
        )
        .await;
    let (status, _, _) = browser.post("/cases/1/close", &[("csrf", &csrf)]).await;
    assert_eq!(status, 303);

    let case = org.amy.get("/api/v1/cases/1").await.body;
    assert_eq!(case["status"], "resolved");
    assert_eq!(case["assignee"], "max");
    assert_eq!(case["priority"], "urgent");
    assert_eq!(case["category"], "auth");
    assert_eq!(case["important"], false);
    assert!(case["deadline"].is_null());
    assert_eq!(case["source"], "manual");
    assert_eq!(case["customer"]["email"], "jane@example.org");

    let (_, page, _) = browser.get("/cases/1").await;
    // Notes are Markdown; markup typed in them shows as typed, never runs.
    assert!(
        page.contains(
            "Looking into it &lt;b&gt;now&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt;"
        ),
        "{page}"
    );
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(page.contains("id=\"reopen\""));
    let (_, page, _) = browser.get("/inbox?view=closed").await;
    assert!(page.contains("Broken login"));
    let (_, page, _) = browser.get("/inbox").await;
    assert!(!page.contains("Broken login"));

    // Closing twice shows a readable error page, not a crash.
    let (status, page, _) = browser.post("/cases/1/close", &[("csrf", &csrf)]).await;
    assert_eq!(status, 409);
    assert!(page.contains("already resolved"));
    let (status, page, _) = browser
        .post("/cases/1/status", &[("csrf", &csrf), ("status", "bogus")])
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("not a status"));
}

#[tokio::test]
async fn pages_respect_permissions() {
    let org = Org::new().await;
    let number = org.amy.create_case(org.support, "Support secret").await;
    let bob = Browser::new(&org.server);
    bob.login("bob", PASSWORD).await;
    let (status, page, _) = bob.get(&format!("/cases/{number}")).await;
    assert_eq!(status, 404);
    assert!(!page.contains("Support secret"));
    let (_, inbox, _) = bob.get("/inbox?view=all").await;
    assert!(!inbox.contains("Support secret"));
    let (status, _, _) = bob.get("/users").await;
    assert_eq!(status, 403);
    let csrf = bob.csrf().await;
    let (status, _, _) = bob
        .post("/channels", &[("csrf", &csrf), ("name", "Bob's")])
        .await;
    assert_eq!(status, 403);

    let pat = Browser::new(&org.server);
    pat.login("pat", PASSWORD).await;
    let (status, page, _) = pat.get(&format!("/cases/{number}")).await;
    assert_eq!(status, 404, "{page}");
}

#[tokio::test]
async fn admins_create_channels_members_and_users_in_the_browser() {
    let server = Server::start();
    let browser = Browser::new(&server);
    browser.login("admin", ADMIN_PASSWORD).await;
    let csrf = browser.csrf().await;
    let (status, _, location) = browser
        .post(
            "/users",
            &[
                ("csrf", &csrf),
                ("username", "zoe"),
                ("password", "zoe-password"),
                ("role", "user"),
                ("email", "zoe@example.org"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{location:?}");
    let (status, _, location) = browser
        .post(
            "/channels",
            &[
                ("csrf", &csrf),
                ("name", "Billing"),
                ("time_tracking", "on"),
                ("reply_window_hours", "24"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let channel_path = location.unwrap();
    browser
        .post(
            &format!("{channel_path}/members"),
            &[("csrf", &csrf), ("username", "zoe"), ("role", "manager")],
        )
        .await;
    let (_, page, _) = browser.get(&channel_path).await;
    assert!(page.contains("zoe") && page.contains("manager"));

    let admin = server.admin().await;
    let channel = &admin.get("/api/v1/channels").await.body[0];
    assert_eq!(channel["name"], "Billing");
    assert_eq!(channel["settings"]["reply_window_hours"], 24);
    assert_eq!(
        channel["members"][0],
        json!({"username": "zoe", "role": "manager", "display_name": "zoe"})
    );
}

#[tokio::test]
async fn logout_ends_the_session() {
    let server = Server::start();
    let browser = Browser::new(&server);
    browser.login("admin", ADMIN_PASSWORD).await;
    let csrf = browser.csrf().await;
    let (status, _, location) = browser.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some("/login"));
    let (status, _, _) = browser.get("/inbox").await;
    assert_eq!(status, 303);
}

#[tokio::test]
async fn users_change_their_password_on_the_account_page() {
    let org = Org::new().await;
    let browser = Browser::new(&org.server);
    browser.login("amy", PASSWORD).await;
    let (status, page, _) = browser.get("/account").await;
    assert_eq!(status, 200);
    let csrf = field(&page, "csrf");
    let (status, page, _) = browser
        .post(
            "/account",
            &[
                ("csrf", &csrf),
                ("current_password", PASSWORD),
                ("new_password", "amy-new-pass"),
                ("confirm_password", "typo-pass"),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert!(page.contains("differ"));
    let (status, _, location) = browser
        .post(
            "/account",
            &[
                ("csrf", &csrf),
                ("current_password", PASSWORD),
                ("new_password", "amy-new-pass"),
                ("confirm_password", "amy-new-pass"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some("/account?changed=1"));
    let (_, page, _) = browser.get("/account?changed=1").await;
    assert!(page.contains("Your password was changed"));
    crate::harness::Client::login(&org.server, "amy", "amy-new-pass").await;
}

#[tokio::test]
async fn the_login_page_only_returns_to_this_site() {
    let server = Server::start();
    let browser = Browser::new(&server);
    for next in [
        "//evil.example",
        "/\n/evil.example",
        "/\t/evil.example",
        "https://evil.example",
        "/\\evil.example",
    ] {
        let (_, page, _) = browser.get("/login").await;
        let csrf = field(&page, "csrf");
        let (status, _, location) = browser
            .post(
                "/login",
                &[
                    ("username", "admin"),
                    ("password", ADMIN_PASSWORD),
                    ("csrf", &csrf),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(status, 303);
        assert_eq!(location.as_deref(), Some("/inbox"), "next={next:?}");
        let csrf = browser.csrf().await;
        browser.post("/logout", &[("csrf", &csrf)]).await;
    }
}

#[tokio::test]
async fn a_stale_edit_form_does_not_overwrite_newer_changes() {
    let org = Org::new().await;
    let number = org.amy.create_case(org.support, "Original").await;
    let browser = Browser::new(&org.server);
    browser.login("max", PASSWORD).await;
    let (_, page, _) = browser.get(&format!("/cases/{number}")).await;
    let csrf = field(&page, "csrf");
    let version = field(&page, "version");
    // Someone else saves first.
    org.amy
        .patch(
            &format!("/api/v1/cases/{number}"),
            json!({"priority": "urgent"}),
        )
        .await;
    let form = [
        ("csrf", csrf.as_str()),
        ("version", version.as_str()),
        ("subject", "Original"),
        ("priority", "normal"),
        ("description", ""),
    ];
    let (status, page, _) = browser.post(&format!("/cases/{number}/edit"), &form).await;
    assert_eq!(status, 409);
    assert!(page.contains("Amy changed this case"), "{page}");
    assert_eq!(
        org.amy.get(&format!("/api/v1/cases/{number}")).await.body["priority"],
        "urgent"
    );
    // Reloaded, the form saves; and saving unchanged values records nothing.
    let (_, page, _) = browser.get(&format!("/cases/{number}")).await;
    let version = field(&page, "version");
    let form = [
        ("csrf", csrf.as_str()),
        ("version", version.as_str()),
        ("subject", "Original"),
        ("priority", "urgent"),
        ("description", ""),
    ];
    let (status, _, _) = browser.post(&format!("/cases/{number}/edit"), &form).await;
    assert_eq!(status, 303);
    assert_eq!(
        org.amy
            .get(&format!("/api/v1/cases/{number}/activity"))
            .await
            .array_len(),
        2
    );
}

#[tokio::test]
async fn automation_page_and_case_profile_and_milestones() {
    let org = Org::on(Server::start_fresh(&[])).await;
    let admin = Browser::new(&org.server);
    admin.login("admin", ADMIN_PASSWORD).await;
    let (status, page, _) = admin.get("/admin/plugins").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("10-spam.rhai") && page.contains("loaded"),
        "{page}"
    );
    assert!(page.contains("categorize"));

    // A category added on the page, then deleted.
    let csrf = admin.csrf().await;
    let (status, _, _) = admin
        .post(
            "/admin/categories",
            &[("csrf", &csrf), ("name", "Warranty")],
        )
        .await;
    assert_eq!(status, 303);
    assert!(admin.get("/admin/plugins").await.1.contains("Warranty"));
    let (status, _, _) = admin
        .post("/admin/categories/Warranty/delete", &[("csrf", &csrf)])
        .await;
    assert_eq!(status, 303);
    assert!(!admin.get("/admin/plugins").await.1.contains("Warranty"));

    let amy = Browser::new(&org.server);
    amy.login("amy", PASSWORD).await;
    assert_eq!(amy.get("/admin/plugins").await.0, 403);

    let case = org
        .amy
        .post(
            "/api/v1/cases",
            json!({"channel": org.support, "subject": "Kettle leaks", "priority": "urgent"}),
        )
        .await;
    let number = case.body["number"].as_u64().unwrap();
    let (_, page, _) = amy.get(&format!("/cases/{number}")).await;
    assert!(
        page.contains("First reply") && page.contains("current"),
        "{page}"
    );
    assert!(!page.contains("name=\"profile.order_number\""));

    org.amy
        .patch(
            &format!("/api/v1/cases/{number}"),
            json!({"type": "complaint", "profile": {"order_number": "K-9"}}),
        )
        .await;
    let (_, page, _) = amy.get(&format!("/cases/{number}")).await;
    assert!(
        page.contains("name=\"profile.order_number\"") && page.contains("value=\"K-9\""),
        "{page}"
    );
    let csrf = amy.csrf().await;
    let path = format!("/cases/{number}/profile");
    let (status, page, _) = amy
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("profile.order_number", "K-9"),
                ("profile.amount", "a lot"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    // The refused field is named as the form shows it, not by its key.
    assert!(page.contains("Amount in dispute:"), "{page}");
    assert!(!page.contains("profile.amount"), "{page}");
    let (status, _, _) = amy
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("profile.order_number", "K-9"),
                ("profile.amount", "12.5"),
                ("profile.escalated_to_legal", "true"),
                ("profile.resolution", ""),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let saved = org.amy.get(&format!("/api/v1/cases/{number}")).await;
    assert_eq!(saved.body["profile"]["amount"], 12.5);
    assert_eq!(saved.body["profile"]["escalated_to_legal"], true);
}

#[tokio::test]
async fn time_is_tracked_from_the_case_page() {
    let org = Org::new().await;
    org.admin
        .patch(
            &format!("/api/v1/channels/{}", org.support),
            json!({"settings": {"time_tracking": true}}),
        )
        .await;
    let number = org.amy.create_case(org.support, "Fix the router").await;
    let amy = Browser::new(&org.server);
    amy.login("amy", PASSWORD).await;
    let page_path = format!("/cases/{number}");
    let (_, page, _) = amy.get(&page_path).await;
    assert!(page.contains("id=\"timer-start\""), "{page}");
    let csrf = amy.csrf().await;
    let (status, _, _) = amy
        .post(
            &format!("{page_path}/timer"),
            &[("csrf", &csrf), ("action", "start")],
        )
        .await;
    assert_eq!(status, 303);
    assert!(amy.get(&page_path).await.1.contains("id=\"timer-stop\""));
    let (status, _, _) = amy
        .post(
            &format!("{page_path}/time"),
            &[
                ("csrf", &csrf),
                ("duration", "1.5h"),
                ("type", "Travel"),
                ("date", "2026-11-20"),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page, _) = amy.get(&page_path).await;
    assert!(
        page.contains("<strong id=\"time-total\">1 h 30 min</strong>"),
        "{page}"
    );
    let (status, page, _) = amy
        .post(
            &format!("{page_path}/time"),
            &[("csrf", &csrf), ("duration", "ages")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("ages"), "{page}");
    let (status, _, _) = amy
        .post(
            &format!("{page_path}/timer"),
            &[("csrf", &csrf), ("action", "stop")],
        )
        .await;
    assert_eq!(status, 303);
    let sheet = org.amy.get(&format!("/api/v1/cases/{number}/time")).await;
    assert_eq!(sheet.body["entries"].as_array().unwrap().len(), 2);
    let id = sheet.body["entries"][0]["id"].as_u64().unwrap();
    let (status, _, _) = amy
        .post(&format!("{page_path}/time/{id}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(status, 303);
    let sheet = org.amy.get(&format!("/api/v1/cases/{number}/time")).await;
    assert_eq!(sheet.body["entries"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bulk_actions_from_the_inbox() {
    let org = Org::new().await;
    let mut numbers = Vec::new();
    for i in 0..3 {
        numbers.push(org.amy.create_case(org.support, &format!("Bulk {i}")).await);
    }
    let amy = Browser::new(&org.server);
    amy.login("amy", PASSWORD).await;
    let (_, page, _) = amy.get("/inbox").await;
    assert!(
        page.contains("id=\"bulk-form\"") && page.contains("name=\"numbers\""),
        "{page}"
    );
    // Agents are offered no delete or move.
    assert!(!page.contains("value=\"delete\""));
    let csrf = amy.csrf().await;
    let (a, b) = (numbers[0].to_string(), numbers[1].to_string());
    let (status, _, location) = amy
        .post(
            "/inbox/bulk",
            &[
                ("csrf", &csrf),
                ("scope", "selected"),
                ("numbers", &a),
                ("numbers", &b),
                ("action", "assign"),
                ("assignee", "max"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    assert!(location.contains("done=2&failed=0"), "{location}");
    let (_, page, _) = amy.get(&location).await;
    assert!(page.contains("Done for 2 case(s)."), "{page}");
    assert_eq!(
        org.amy.get(&format!("/api/v1/cases/{a}")).await.body["assignee"],
        "max"
    );

    // Closing everything listed needs the confirmation.
    let close_all = [
        ("csrf", csrf.as_str()),
        ("scope", "all"),
        ("view", "open"),
        ("action", "close"),
    ];
    let (status, page, _) = amy.post("/inbox/bulk", &close_all).await;
    assert_eq!(status, 400);
    assert!(page.contains("confirmation"), "{page}");
    let mut confirmed = close_all.to_vec();
    confirmed.push(("confirm", "yes"));
    let (status, _, location) = amy.post("/inbox/bulk", &confirmed).await;
    assert_eq!(status, 303);
    assert!(location.unwrap().contains("done=3"));
    let open = org.amy.get("/api/v1/cases?view=open").await;
    assert_eq!(open.body["items"], json!([]));
    let (status, _, _) = amy
        .post(
            "/inbox/bulk",
            &[("csrf", &csrf), ("scope", "selected"), ("action", "close")],
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_inbox_exports_what_it_shows() {
    let org = Org::new().await;
    org.amy.create_case(org.support, "Shown and exported").await;
    let amy = Browser::new(&org.server);
    amy.login("amy", PASSWORD).await;
    let (_, page, _) = amy.get("/inbox?q=exported").await;
    assert!(
        page.contains("href=\"/inbox/export.xlsx?q=exported\""),
        "{page}"
    );
    let response = amy
        .http
        .get(format!("{}/inbox/export.xlsx?q=exported", amy.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap().to_vec();
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let range = book.worksheet_range("Cases").unwrap();
    assert_eq!(range.height(), 2);
    assert_eq!(range.get((1, 1)).unwrap().to_string(), "Shown and exported");
}

#[tokio::test]
async fn the_milestones_page_is_for_managers() {
    let org = Org::new().await;
    let max = Browser::new(&org.server);
    max.login("max", PASSWORD).await;
    let (status, page, _) = max.get("/milestones?within=72").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("id=\"no-milestones\"") && page.contains("72 hours"),
        "{page}"
    );
    let amy = Browser::new(&org.server);
    amy.login("amy", PASSWORD).await;
    assert_eq!(amy.get("/milestones").await.0, 403);
}

#[tokio::test]
async fn links_merge_and_split_from_the_case_page() {
    let org = Org::new().await;
    let target = org.amy.create_case(org.support, "Main case").await;
    let other = org.amy.create_case(org.support, "Other case").await;
    org.amy
        .post(
            &format!("/api/v1/cases/{other}/messages"),
            json!({"body": "Extra detail", "direction": "inbound"}),
        )
        .await;
    let amy = Browser::new(&org.server);
    amy.login("amy", PASSWORD).await;
    let csrf = amy.csrf().await;
    let page_path = format!("/cases/{target}");
    let other_text = format!("#{other}");
    let (status, _, _) = amy
        .post(
            &format!("{page_path}/links"),
            &[
                ("csrf", &csrf),
                ("kind", "related"),
                ("target", &other_text),
            ],
        )
        .await;
    assert_eq!(status, 303);
    assert!(
        amy.get(&page_path)
            .await
            .1
            .contains("Related: <a href=\"/cases/")
    );
    let (status, _, _) = amy
        .post(
            &format!("{page_path}/links/{other}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, 303);

    let (status, _, _) = amy
        .post(
            &format!("{page_path}/merge"),
            &[("csrf", &csrf), ("sources", &other.to_string())],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page, _) = amy.get(&page_path).await;
    assert!(
        page.contains("Extra detail") && page.contains("Undo merge"),
        "{page}"
    );
    let (status, _, location) = amy
        .post(
            &format!("{page_path}/unmerge"),
            &[("csrf", &csrf), ("source", &other.to_string())],
        )
        .await;
    assert_eq!(status, 303, "{location:?}");
    assert!(!amy.get(&page_path).await.1.contains("Extra detail"));

    let messages = org
        .amy
        .get(&format!("/api/v1/cases/{other}/activity?filter=messages"))
        .await;
    let seq = messages.body[0]["seq"].to_string();
    let (status, _, location) = amy
        .post(
            &format!("/cases/{other}/split"),
            &[("csrf", &csrf), ("event", &seq)],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page, _) = amy.get(&location.unwrap()).await;
    assert!(
        page.contains("Split from #") && page.contains("Extra detail"),
        "{page}"
    );
    let (status, _, _) = amy
        .post(
            &format!("/cases/{other}/duplicate"),
            &[("csrf", &csrf), ("duplicate_of", &target.to_string())],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(
        org.amy.get(&format!("/api/v1/cases/{other}")).await.body["status"],
        "resolved"
    );
}

#[tokio::test]
async fn merge_split_and_duplicate_show_what_they_would_do_before_doing_it() {
    let org = Org::new().await;
    let target = org.amy.create_case(org.support, "Main case").await;
    let other = org.amy.create_case(org.support, "Other <b>case</b>").await;
    org.amy
        .post(
            &format!("/api/v1/cases/{other}/messages"),
            json!({"body": "Extra detail", "direction": "inbound", "from": "jane@example.com"}),
        )
        .await;
    let amy = Browser::new(&org.server);
    amy.login("amy", PASSWORD).await;

    let (status, page, _) = amy
        .get(&format!("/cases/{target}/merge?sources=%23{other}"))
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(&format!("Merge #{other} into #{target}?")),
        "{page}"
    );
    // The source's subject is shown, escaped, with what it holds.
    assert!(page.contains("Other &#60;b&#62;case&#60;/b&#62;"), "{page}");
    assert!(page.contains("1 message · 0 notes"), "{page}");
    assert!(
        page.contains(&format!(
            "<form method=\"post\" action=\"/cases/{target}/merge\">"
        )),
        "{page}"
    );
    // Only looking changed nothing.
    assert_eq!(
        org.amy.get(&format!("/api/v1/cases/{other}")).await.body["status"],
        "open"
    );

    // A refused number comes back beside its box, as typed.
    let (status, page, _) = amy
        .get(&format!("/cases/{target}/merge?sources=99999"))
        .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("Case #99999 not found."), "{page}");
    assert!(
        page.contains("name=\"sources\" value=\"99999\" aria-invalid=\"true\""),
        "{page}"
    );
    assert!(!page.contains("id=\"confirm-action\""), "{page}");
    let (status, page, _) = amy
        .get(&format!("/cases/{other}/duplicate?duplicate_of=abc&part=1"))
        .await;
    assert_eq!(status, 400, "{page}");
    assert!(
        !page.contains("<html"),
        "the dialog's part is not a page: {page}"
    );
    assert!(page.contains("id=\"confirm-error\""), "{page}");
    assert!(page.contains("value=\"abc\""), "{page}");

    let messages = org
        .amy
        .get(&format!("/api/v1/cases/{other}/activity?filter=messages"))
        .await;
    let seq = messages.body[0]["seq"].as_u64().unwrap();
    let (status, page, _) = amy.get(&format!("/cases/{other}/split?event={seq}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("Split this message into a new case?"),
        "{page}"
    );
    assert!(page.contains("From jane@example.com"), "{page}");
    assert!(page.contains("Extra detail"), "{page}");
    let (status, page, _) = amy
        .get(&format!("/cases/{other}/split?event={seq}&to={target}"))
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(&format!("Move this message to #{target}?")),
        "{page}"
    );
    let (status, page, _) = amy
        .get(&format!("/cases/{other}/duplicate?duplicate_of={target}"))
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(&format!("Close #{other} as a duplicate of #{target}?")),
        "{page}"
    );
    // Bob is not in Support: no preview tells him the case exists.
    let bob = Browser::new(&org.server);
    bob.login("bob", PASSWORD).await;
    let (status, page, _) = bob
        .get(&format!("/cases/{other}/duplicate?duplicate_of={target}"))
        .await;
    assert_eq!(status, 404, "{page}");
    assert!(
        !page.contains("Main case") && !page.contains("Other"),
        "{page}"
    );
    // Logged out, it asks for a login.
    let (status, _, _) = Browser::new(&org.server)
        .get(&format!("/cases/{other}/merge?sources={target}"))
        .await;
    assert_eq!(status, 303);
}

#[tokio::test]
async fn the_case_page_takes_several_files_at_once() {
    let org = Org::new().await;
    let number = org.amy.create_case(org.support, "Files").await;
    let amy = Browser::new(&org.server);
    amy.login("amy", PASSWORD).await;
    let csrf = amy.csrf().await;
    let part = |name: &str, body: &str| {
        reqwest::multipart::Part::bytes(body.as_bytes().to_vec())
            .file_name(name.to_owned())
            .mime_str("text/plain")
            .unwrap()
    };
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part("file", part("first.txt", "one"))
        .part("file", part("second.txt", "two"));
    let (status, _, location) = crate::web::answer(
        amy.http
            .post(format!("{}/cases/{number}/files", org.server.base))
            .multipart(form),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        location.as_deref(),
        Some(format!("/cases/{number}#files").as_str())
    );
    let files = org.amy.get(&format!("/api/v1/cases/{number}/files")).await;
    let mut names: Vec<&str> = files
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["first.txt", "second.txt"]);
    // None chosen is refused in words, not with an empty upload.
    let form = reqwest::multipart::Form::new().text("csrf", csrf);
    let (status, page, _) = crate::web::answer(
        amy.http
            .post(format!("{}/cases/{number}/files", org.server.base))
            .multipart(form),
    )
    .await;
    assert_eq!(status, 400);
    assert!(page.contains("Choose a file to upload"), "{page}");
}
