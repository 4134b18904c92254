//! `docket mailgate`: hands one raw message from an MTA's pipe transport to
//! the running server, and answers with the exit status MTAs understand
//! (sysexits.h): 0 delivered, 75 try again later, anything else bounce.

use std::time::Duration;

/// Exit statuses from sysexits.h, as Postfix and Exim read them.
pub mod exit {
    pub const OK: u8 = 0;
    /// The message itself is refused (not a message, too large).
    pub const DATAERR: u8 = 65;
    /// No such channel.
    pub const NOUSER: u8 = 67;
    /// Temporary: the server is down, busy or throttling the sender.
    pub const TEMPFAIL: u8 = 75;
    /// The command line or environment is wrong.
    pub const CONFIG: u8 = 78;
}

/// What to print and how to exit.
pub struct Outcome {
    pub code: u8,
    pub message: String,
}

fn outcome(code: u8, message: impl Into<String>) -> Outcome {
    Outcome {
        code,
        message: message.into(),
    }
}

/// How long the whole delivery may take before the MTA is told to retry.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Delivers `raw` to the channel called (or numbered) `channel`.
pub async fn deliver(url: &str, token: &str, channel: &str, raw: Vec<u8>) -> Outcome {
    let base = url.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return outcome(
            exit::CONFIG,
            format!("'{url}' is not an http(s) URL; set --url or DOCKET_URL"),
        );
    }
    if token.trim().is_empty() {
        return outcome(exit::CONFIG, "no API token; set --token or DOCKET_TOKEN");
    }
    if raw.is_empty() {
        return outcome(exit::DATAERR, "no message on standard input");
    }
    let client = match reqwest::Client::builder().timeout(TIMEOUT).build() {
        Ok(client) => client,
        Err(e) => return outcome(exit::TEMPFAIL, format!("cannot start an HTTP client: {e}")),
    };
    let id = match channel_id(&client, base, token, channel).await {
        Ok(id) => id,
        Err(failed) => return failed,
    };
    let response = client
        .post(format!("{base}/api/v1/channels/{id}/mail"))
        .bearer_auth(token)
        .header("content-type", "message/rfc822")
        .body(raw)
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) => return outcome(exit::TEMPFAIL, format!("cannot reach {base}: {e}")),
    };
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if status.is_success() {
        let case = body["case"].as_u64().unwrap_or_default();
        let what = if body["duplicate"].as_bool() == Some(true) {
            "already delivered to"
        } else if body["created"].as_bool() == Some(true) {
            "opened"
        } else {
            "added to"
        };
        return outcome(exit::OK, format!("{what} case #{case}"));
    }
    let detail = body["detail"].as_str().unwrap_or("no detail").to_owned();
    let code = match status.as_u16() {
        // A refused token (expired, revoked) is the desk's problem, not the
        // customer's: the MTA keeps the mail and retries.
        401 | 403 => {
            return outcome(
                exit::TEMPFAIL,
                format!(
                    "the server refused the token ({status}): {detail}; the mail server will retry, so set a valid DOCKET_TOKEN"
                ),
            );
        }
        404 => exit::NOUSER,
        400 | 413 | 415 | 422 => exit::DATAERR,
        _ => exit::TEMPFAIL,
    };
    outcome(code, format!("refused ({status}): {detail}"))
}

/// The id of the channel named `channel` (a number is taken as an id when
/// no channel has it as its name).
async fn channel_id(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    channel: &str,
) -> Result<u64, Outcome> {
    let response = client
        .get(format!("{base}/api/v1/channels"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| outcome(exit::TEMPFAIL, format!("cannot reach {base}: {e}")))?;
    match response.status().as_u16() {
        200 => {}
        401 | 403 => {
            return Err(outcome(
                exit::TEMPFAIL,
                "the server refused the token (expired or revoked?); the mail server will retry, so set a valid DOCKET_TOKEN",
            ));
        }
        status => {
            return Err(outcome(
                exit::TEMPFAIL,
                format!("the server answered {status} when asked for its channels"),
            ));
        }
    }
    let channels: Vec<serde_json::Value> = response
        .json()
        .await
        .map_err(|e| outcome(exit::TEMPFAIL, format!("unreadable channel list: {e}")))?;
    let wanted = channel.trim();
    channels
        .iter()
        .find(|c| {
            c["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
        })
        .and_then(|c| c["id"].as_u64())
        .or_else(|| {
            wanted
                .parse::<u64>()
                .ok()
                .filter(|id| channels.iter().any(|c| c["id"].as_u64() == Some(*id)))
        })
        .ok_or_else(|| {
            outcome(
                exit::NOUSER,
                format!("there is no channel '{wanted}' that this token can deliver to"),
            )
        })
}
