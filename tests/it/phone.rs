//! Phone calls: Twilio-format status callbacks, their signature, the
//! caller's case, and the recording fetched from a local server.

use serde_json::{Value, json};

use crate::harness::{ADMIN_PASSWORD, Org, Server};
use crate::receiver::Receiver;

const TOKEN: &str = "twilio-auth-token";

/// Twilio's signature: Base64 HMAC-SHA1 of the URL and the sorted fields.
fn sign(url: &str, params: &[(&str, &str)]) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(TOKEN.as_bytes()).unwrap();
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

async fn phone_org(recordings: &Receiver) -> Org {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data/plugins")).unwrap();
    let allow = format!("api.twilio.com,{}", recordings.address);
    let mut server = Server::start_in(
        &dir.path().join("data"),
        &[
            ("DOCKET_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("DOCKET_WEBHOOK_ALLOW", allow.as_str()),
        ],
    );
    server.keep_dir(dir);
    let org = Org::on(server).await;
    let answer = org
        .max
        .patch(
            &format!("/api/v1/channels/{}", org.support),
            json!({"settings": {"integrations": {"phone": {"auth_token": TOKEN}}}}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    org
}

async fn callback(org: &Org, params: &[(&str, &str)], signature: Option<String>) -> u16 {
    let url = org.server.url(&format!("/hooks/phone/{}", org.support));
    let mut request = reqwest::Client::new().post(&url).form(params);
    if let Some(signature) = signature {
        request = request.header("x-twilio-signature", signature);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn signed(org: &Org, params: &[(&str, &str)]) -> u16 {
    let url = org.server.url(&format!("/hooks/phone/{}", org.support));
    callback(org, params, Some(sign(&url, params))).await
}

async fn calls(org: &Org, case: u64) -> Vec<Value> {
    let activity = org
        .amy
        .get(&format!("/api/v1/cases/{case}/activity?filter=messages"))
        .await;
    activity
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "call")
        .cloned()
        .collect()
}

#[tokio::test]
async fn calls_create_or_update_the_callers_case_and_bring_their_recording() {
    let recordings = Receiver::start().await;
    *recordings.answer.lock().unwrap() = (
        200,
        "audio/wav",
        b"RIFF\x24\x00\x00\x00WAVEfmt fake recording".to_vec(),
    );
    let org = phone_org(&recordings).await;
    let ringing = [
        ("AccountSid", "AC123"),
        ("CallSid", "CA100"),
        ("From", "+15550100"),
        ("To", "+15550999"),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
    ];
    assert_eq!(callback(&org, &ringing, None).await, 403, "unsigned");
    let url = org.server.url(&format!("/hooks/phone/{}", org.support));
    assert_eq!(
        callback(&org, &ringing, Some(sign(&url, &ringing[..5]))).await,
        403,
        "a field added after signing"
    );
    assert_eq!(
        callback(&org, &ringing, Some("bm90IGl0".into())).await,
        403,
        "a wrong signature"
    );
    assert_eq!(signed(&org, &[("From", "+1")]).await, 400, "not a call");
    assert_eq!(signed(&org, &ringing).await, 200);
    assert_eq!(signed(&org, &ringing).await, 200, "a replay is harmless");

    let listed = org.amy.get("/api/v1/cases?view=all").await;
    assert_eq!(listed.body["total"], json!(1));
    let case = listed.body["items"][0]["number"].as_u64().unwrap();
    let details = org.amy.get(&format!("/api/v1/cases/{case}")).await.body;
    assert_eq!(details["source"], "phone");
    assert_eq!(details["customer"]["phone"], "+15550100");
    assert_eq!(calls(&org, case).await.len(), 1);

    let recording_url = format!(
        "{}/2010-04-01/Accounts/AC123/Recordings/RE1",
        recordings.url()
    );
    let completed = [
        ("AccountSid", "AC123"),
        ("CallSid", "CA100"),
        ("From", "+15550100"),
        ("To", "+15550999"),
        ("CallStatus", "completed"),
        ("Direction", "inbound"),
        ("CallDuration", "125"),
        ("RecordingUrl", recording_url.as_str()),
        ("RecordingSid", "RE1"),
    ];
    assert_eq!(signed(&org, &completed).await, 200);
    let shown = calls(&org, case).await;
    assert_eq!(shown.len(), 1, "the same call is updated, not repeated");
    assert_eq!(shown[0]["call"]["status"], "completed");
    assert_eq!(shown[0]["call"]["duration_secs"], 125);
    assert_eq!(shown[0]["direction"], "inbound");
    assert!(shown[0]["summary"].as_str().unwrap().contains("2m 05s"));

    // The recording is fetched with the account's credentials into the files.
    let requests = recordings.wait_for(1).await;
    assert_eq!(
        requests[0].path,
        "/2010-04-01/Accounts/AC123/Recordings/RE1"
    );
    assert!(
        requests[0]
            .headers
            .get("authorization")
            .unwrap()
            .starts_with("Basic ")
    );
    let mut file = Value::Null;
    for _ in 0..100 {
        let files = org.amy.get(&format!("/api/v1/cases/{case}/files")).await;
        if files.array_len() == 1 {
            file = files.body[0].clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(file["content_type"], "audio/wav", "{file}");
    let played = org.amy.get(&format!("/api/v1/files/{}", file["id"])).await;
    assert!(
        played
            .header("content-disposition")
            .unwrap()
            .starts_with("inline")
    );
    assert_eq!(calls(&org, case).await[0]["call"]["recording"], file["id"]);

    // A late callback does not undo a later one.
    let late = [
        ("AccountSid", "AC123"),
        ("CallSid", "CA100"),
        ("From", "+15550100"),
        ("To", "+15550999"),
        ("CallStatus", "in-progress"),
        ("Direction", "inbound"),
    ];
    assert_eq!(signed(&org, &late).await, 200);
    let shown = calls(&org, case).await;
    assert_eq!(shown[0]["call"]["status"], "completed");
    assert_eq!(shown[0]["call"]["duration_secs"], 125);
    // The leg that forwards the call to an agent's phone is no new call.
    let leg = [
        ("CallSid", "CA150"),
        ("ParentCallSid", "CA100"),
        ("From", "+15550999"),
        ("To", "+15550444"),
        ("CallStatus", "ringing"),
        ("Direction", "outbound-dial"),
    ];
    assert_eq!(signed(&org, &leg).await, 200);
    assert_eq!(
        org.amy.get("/api/v1/cases?view=all").await.body["total"],
        json!(1)
    );

    // Another call from the same number joins the open case; a call we
    // make to a new number opens that person's case.
    let again = [
        ("CallSid", "CA101"),
        ("From", "+15550100"),
        ("To", "+15550999"),
        ("CallStatus", "completed"),
        ("Direction", "inbound"),
    ];
    assert_eq!(signed(&org, &again).await, 200);
    assert_eq!(calls(&org, case).await.len(), 2);
    let outbound = [
        ("CallSid", "CA200"),
        ("From", "+15550999"),
        ("To", "+15550777"),
        ("CallStatus", "in-progress"),
        ("Direction", "outbound-api"),
    ];
    assert_eq!(signed(&org, &outbound).await, 200);
    let listed = org.amy.get("/api/v1/cases?view=all&sort=-number").await;
    assert_eq!(listed.body["total"], json!(2));
    let newest = listed.body["items"][0]["number"].as_u64().unwrap();
    let details = org.amy.get(&format!("/api/v1/cases/{newest}")).await.body;
    assert_eq!(details["customer"]["phone"], "+15550777");
    assert_eq!(calls(&org, newest).await[0]["direction"], "outbound");

    // A channel without the integration takes no callbacks.
    let other = reqwest::Client::new()
        .post(org.server.url(&format!("/hooks/phone/{}", org.sales)))
        .form(&ringing)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}
