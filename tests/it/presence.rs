//! Who else is here: two agents on one case each see the other, and who
//! is typing a reply; partners and outsiders are told nothing.

use thirtyfour::prelude::*;

use crate::browser::{start_browser, wait_for_path};
use crate::harness::{Org, PASSWORD};
use crate::web::{Browser, field};

async fn log_in_as(web: &WebDriver, org: &Org, username: &str) -> WebDriverResult<()> {
    web.goto(org.server.url("/login")).await?;
    web.find(By::Id("username"))
        .await?
        .send_keys(username)
        .await?;
    web.find(By::Id("password"))
        .await?
        .send_keys(PASSWORD)
        .await?;
    web.find(By::Id("login")).await?.click().await?;
    wait_for_path(web, |p| p == "/inbox").await?;
    Ok(())
}

async fn presence_says(web: &WebDriver, wanted: &str) -> String {
    crate::browser::wait_for_containing(web, By::Id("presence"), wanted)
        .await
        .unwrap()
}

#[tokio::test]
async fn two_agents_on_one_case_see_each_other_and_who_is_typing() {
    let org = Org::new().await;
    let number = org.amy.create_case(org.support, "Both of us").await;
    let (_amy_driver, amy) = start_browser().await;
    let (_max_driver, max) = start_browser().await;
    let outcome = async {
        log_in_as(&amy, &org, "amy").await?;
        log_in_as(&max, &org, "max").await?;
        let page = org.server.url(&format!("/cases/{number}"));
        amy.goto(&page).await?;
        max.goto(&page).await?;
        presence_says(&amy, "max").await;
        presence_says(&max, "amy").await;
        max.find(By::Id("tab-note")).await?.click().await?;
        max.find(By::Id("note-body"))
            .await?
            .send_keys("Looking at it")
            .await?;
        presence_says(&amy, "typing a reply").await;
        // Leaving the page says goodbye.
        max.goto(org.server.url("/inbox")).await?;
        let mut gone = false;
        for _ in 0..100 {
            if !amy.find(By::Id("presence")).await?.is_displayed().await? {
                gone = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(gone, "max's leaving is seen");
        Ok::<_, WebDriverError>(())
    }
    .await;
    let _ = amy.quit().await;
    let _ = max.quit().await;
    outcome.unwrap();
}

#[tokio::test]
async fn presence_is_for_the_team_of_the_case_only() {
    let org = Org::new().await;
    let number = org.pat.create_case(org.support, "Partner's case").await;
    let pat = Browser::new(&org.server);
    pat.login("pat", PASSWORD).await;
    let (_, page, _) = pat.get(&format!("/cases/{number}")).await;
    assert!(!page.contains("id=\"presence\""));
    let csrf = field(&page, "csrf");
    let path = format!("/cases/{number}/presence");
    let (status, _, _) = pat
        .post(&path, &[("csrf", &csrf), ("state", "viewing")])
        .await;
    assert_eq!(status, 403, "partners are not told who is here");
    let bob = Browser::new(&org.server);
    bob.login("bob", PASSWORD).await;
    let bob_csrf = bob.csrf().await;
    let (status, _, _) = bob
        .post(&path, &[("csrf", &bob_csrf), ("state", "viewing")])
        .await;
    assert_eq!(status, 404, "a case bob may not see is missing to him");
    let amy = Browser::new(&org.server);
    amy.login("amy", PASSWORD).await;
    let amy_csrf = amy.csrf().await;
    let (status, body, _) = amy
        .post(&path, &[("csrf", &amy_csrf), ("state", "viewing")])
        .await;
    assert_eq!(status, 200);
    assert!(body.contains("\"username\":\"amy\""), "{body}");
    let (status, _, _) = amy
        .post(&path, &[("csrf", &amy_csrf), ("state", "dancing")])
        .await;
    assert_eq!(status, 422);
    let (status, _, _) = amy.post(&path, &[("state", "viewing")]).await;
    assert_eq!(status, 400, "a form without its CSRF field is refused");
    let (status, _, _) = amy
        .post(&path, &[("csrf", "not-the-token"), ("state", "viewing")])
        .await;
    assert_eq!(status, 403, "a wrong CSRF token is refused");
}
