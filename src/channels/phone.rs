//! Phone calls through a Twilio-compatible provider: the signature of its
//! callbacks and the call they describe, as Twilio documents them. No I/O.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Twilio's `X-Twilio-Signature`: Base64 of HMAC-SHA1, keyed with the auth
/// token, over the full URL followed by every form field's name and value,
/// sorted by name.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac =
        Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Compares in constant time.
pub fn signature_is_valid(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    header: Option<&str>,
) -> bool {
    use subtle::ConstantTimeEq;
    let Some(given) = header else {
        return false;
    };
    let expected = signature(auth_token, url, params);
    bool::from(expected.as_bytes().ct_eq(given.trim().as_bytes()))
}

/// One status callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEvent {
    pub sid: String,
    /// Set on a child leg (a call forwarded or dialled out from another):
    /// the call it belongs to.
    pub parent: Option<String>,
    pub account: Option<String>,
    pub from: String,
    pub to: String,
    /// `queued`, `ringing`, `in-progress`, `completed`, `busy`, `failed`,
    /// `no-answer`, `canceled`.
    pub status: String,
    pub outbound: bool,
    pub duration_secs: Option<u32>,
    pub recording_url: Option<String>,
    pub recording_sid: Option<String>,
}

impl CallEvent {
    /// The customer's number: the caller of an inbound call, the callee of
    /// an outbound one.
    pub fn customer_number(&self) -> &str {
        if self.outbound { &self.to } else { &self.from }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("not a call status callback: {0}")]
pub struct CallbackError(String);

/// Reads a callback's form fields.
pub fn call_event(params: &[(String, String)]) -> Result<CallEvent, CallbackError> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let required =
        |name: &str| get(name).ok_or_else(|| CallbackError(format!("{name} is missing")));
    let bounded = |value: String, name: &str| {
        if value.len() > 200 || value.chars().any(char::is_control) {
            Err(CallbackError(format!("{name} is not a plausible value")))
        } else {
            Ok(value)
        }
    };
    let number = |name: &str| {
        let value = required(name)?;
        if value.chars().count() > 50 || value.chars().any(char::is_control) {
            return Err(CallbackError(format!("{name} is not a phone number")));
        }
        Ok(value)
    };
    Ok(CallEvent {
        sid: bounded(required("CallSid")?, "CallSid")?,
        account: get("AccountSid"),
        parent: get("ParentCallSid"),
        from: number("From")?,
        to: number("To")?,
        status: bounded(required("CallStatus")?, "CallStatus")?,
        outbound: get("Direction").is_some_and(|d| d.starts_with("outbound")),
        duration_secs: get("CallDuration").and_then(|d| d.parse().ok()),
        recording_url: get("RecordingUrl"),
        recording_sid: get("RecordingSid"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_documented_example_signature_matches() {
        // The example of Twilio's security documentation.
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let fields = params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(
            signature("12345", url, &fields),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
        assert!(signature_is_valid(
            "12345",
            url,
            &fields,
            Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
        ));
        assert!(!signature_is_valid(
            "other",
            url,
            &fields,
            Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
        ));
        assert!(!signature_is_valid("12345", url, &fields, None));
    }

    #[test]
    fn callbacks_name_the_customer_by_direction() {
        let inbound = call_event(&params(&[
            ("CallSid", "CA1"),
            ("From", "+15550100"),
            ("To", "+15550999"),
            ("CallStatus", "completed"),
            ("Direction", "inbound"),
            ("CallDuration", "125"),
        ]))
        .unwrap();
        assert_eq!(inbound.customer_number(), "+15550100");
        assert_eq!(inbound.duration_secs, Some(125));
        let outbound = call_event(&params(&[
            ("CallSid", "CA2"),
            ("From", "+15550999"),
            ("To", "+15550100"),
            ("CallStatus", "ringing"),
            ("Direction", "outbound-api"),
        ]))
        .unwrap();
        assert_eq!(outbound.customer_number(), "+15550100");
        assert!(call_event(&params(&[("From", "+1")])).is_err());
        assert_eq!(crate::domain::activity::format_seconds(125), "2m 05s");
    }
}
