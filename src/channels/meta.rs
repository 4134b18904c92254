//! Instagram and Facebook through Meta's webhooks: the signature check and
//! the payload's events, as Meta documents them (Messenger Platform and
//! Instagram Messaging `entry[].messaging[]`, page feed and Instagram
//! comment `entry[].changes[]`). No I/O here.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// Checks `X-Hub-Signature-256: sha256=<hex>` against the raw body, in
/// constant time, before anything parses the body.
pub fn signature_is_valid(app_secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_signature) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_signature) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The signature Meta would send for `body` (for the bench and tests).
pub fn sign(app_secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Which of Meta's networks an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    Instagram,
    Facebook,
}

impl Network {
    pub fn as_str(self) -> &'static str {
        match self {
            Network::Instagram => "instagram",
            Network::Facebook => "facebook",
        }
    }
}

/// One thing a customer said, from a webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocialEvent {
    pub network: Network,
    /// The page or Instagram account that received it.
    pub page: String,
    /// Who wrote it (a page-scoped or Instagram-scoped id).
    pub sender: String,
    /// Their name or @handle, when the payload carries one.
    pub sender_name: Option<String>,
    /// Unique per message or comment: what makes a replay harmless.
    pub external_id: String,
    /// The conversation it belongs to: one case per conversation.
    pub conversation: String,
    pub text: String,
    /// Links to attached media.
    pub attachments: Vec<String>,
    /// Milliseconds since the epoch, as Meta sends it.
    pub timestamp_ms: i64,
    pub kind: SocialKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocialKind {
    /// A direct message; replies go through the Send API.
    Message,
    /// A comment on a post; replies are comment replies to `reply_to`.
    Comment { post: String, reply_to: String },
}

#[derive(Debug, thiserror::Error)]
#[error("the payload is not a Meta webhook delivery: {0}")]
pub struct PayloadError(String);

#[derive(Deserialize)]
struct Payload {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    id: String,
    #[serde(default)]
    messaging: Vec<Messaging>,
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Party {
    id: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Messaging {
    sender: Party,
    recipient: Party,
    #[serde(default)]
    timestamp: i64,
    message: Option<InboundMessage>,
}

#[derive(Deserialize)]
struct InboundMessage {
    mid: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    attachments: Vec<Attachment>,
    /// Messages the page itself sent (echoes) are not the customer's.
    #[serde(default)]
    is_echo: bool,
}

#[derive(Deserialize)]
struct Attachment {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    payload: Option<AttachmentPayload>,
}

#[derive(Deserialize)]
struct AttachmentPayload {
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
struct Change {
    field: String,
    value: serde_json::Value,
}

/// Reads a delivery into the customer's messages and comments; what Docket
/// does not handle (reads, reactions, echoes of the page's own messages,
/// edits and removals) is skipped.
pub fn events(body: &[u8]) -> Result<Vec<SocialEvent>, PayloadError> {
    let payload: Payload = serde_json::from_slice(body).map_err(|e| PayloadError(e.to_string()))?;
    let network = match payload.object.as_str() {
        "instagram" => Network::Instagram,
        "page" => Network::Facebook,
        other => return Err(PayloadError(format!("unknown object '{other}'"))),
    };
    let mut found = Vec::new();
    for entry in payload.entry {
        if !plain_id(&entry.id) {
            continue;
        }
        for item in entry.messaging {
            if let Some(event) = message_event(network, &entry.id, item) {
                found.push(event);
            }
        }
        for change in entry.changes {
            if let Some(event) = comment_event(network, &entry.id, &change) {
                found.push(event);
            }
        }
    }
    Ok(found)
}

fn message_event(network: Network, page: &str, item: Messaging) -> Option<SocialEvent> {
    let message = item.message?;
    if message.is_echo
        || item.sender.id == page
        || !plain_id(&item.sender.id)
        || !plain_id(&message.mid)
        || !(item.recipient.id.is_empty() || plain_id(&item.recipient.id))
    {
        return None;
    }
    let attachments: Vec<String> = message
        .attachments
        .iter()
        .filter_map(|a| a.payload.as_ref()?.url.clone())
        .collect();
    let mut text = clean_text(&message.text.unwrap_or_default());
    if text.is_empty() {
        let kinds: Vec<&str> = message
            .attachments
            .iter()
            .filter_map(|a| a.kind.as_deref())
            .collect();
        text = format!(
            "[{}]",
            if kinds.is_empty() {
                "attachment".to_owned()
            } else {
                kinds.join(", ")
            }
        );
    }
    let page = if item.recipient.id.is_empty() {
        page.to_owned()
    } else {
        item.recipient.id
    };
    Some(SocialEvent {
        network,
        conversation: format!("{}:dm:{page}:{}", network.as_str(), item.sender.id),
        page,
        sender_name: clean_name(item.sender.username.or(item.sender.name)),
        sender: item.sender.id,
        external_id: format!("mid:{}", message.mid),
        text,
        attachments,
        timestamp_ms: item.timestamp,
        kind: SocialKind::Message,
    })
}

/// Longest text kept from one message or comment.
const TEXT_MAX: usize = 20_000;

/// Text as Docket stores it: no control characters but line breaks and
/// tabs, bounded.
fn clean_text(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .take(TEXT_MAX)
        .collect()
}

/// A name or handle: one line, bounded.
fn clean_name(name: Option<String>) -> Option<String> {
    name.map(|n| {
        n.chars()
            .filter(|c| !c.is_control())
            .take(100)
            .collect::<String>()
            .trim()
            .to_owned()
    })
    .filter(|n| !n.is_empty())
}

/// An id from the payload: used in keys and API paths, so short and plain.
fn plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '='))
}

fn text_of(value: &serde_json::Value, key: &str) -> Option<String> {
    match &value[key] {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A new comment: Facebook page `feed` changes with `item: comment`,
/// `verb: add`; Instagram `comments` changes.
fn comment_event(network: Network, page: &str, change: &Change) -> Option<SocialEvent> {
    let value = &change.value;
    let (id, post, parent, from_id, from_name, text) = match (network, change.field.as_str()) {
        (Network::Facebook, "feed") => {
            if value["item"] != "comment" || value["verb"] != "add" {
                return None;
            }
            (
                text_of(value, "comment_id")?,
                text_of(value, "post_id")?,
                text_of(value, "parent_id"),
                text_of(&value["from"], "id")?,
                text_of(&value["from"], "name"),
                text_of(value, "message").unwrap_or_default(),
            )
        }
        (Network::Instagram, "comments") => (
            text_of(value, "id")?,
            text_of(&value["media"], "id")?,
            text_of(value, "parent_id"),
            text_of(&value["from"], "id")?,
            text_of(&value["from"], "username").map(|u| format!("@{u}")),
            text_of(value, "text").unwrap_or_default(),
        ),
        _ => return None,
    };
    if from_id == page || ![&id, &post, &from_id].iter().all(|i| plain_id(i)) {
        return None;
    }
    if parent.as_deref().is_some_and(|p| !plain_id(p)) {
        return None;
    }
    let text = clean_text(&text);
    let from_name = clean_name(from_name);
    // A reply to a comment belongs to the thread its top comment started
    // (a Facebook reply to a post names the post as its parent).
    let root = match parent {
        Some(parent) if parent != post => parent,
        _ => id.clone(),
    };
    Some(SocialEvent {
        network,
        page: page.to_owned(),
        sender: from_id,
        sender_name: from_name,
        external_id: format!("comment:{id}"),
        conversation: format!("{}:comments:{post}:{root}", network.as_str()),
        text,
        attachments: Vec::new(),
        timestamp_ms: value["created_time"]
            .as_i64()
            .unwrap_or_default()
            .saturating_mul(1000),
        kind: SocialKind::Comment {
            post,
            reply_to: root,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_against_the_raw_body() {
        let body = br#"{"object":"page","entry":[]}"#;
        let header = sign("s3cret", body);
        assert!(signature_is_valid("s3cret", body, Some(&header)));
        assert!(!signature_is_valid("other", body, Some(&header)));
        assert!(!signature_is_valid("s3cret", b"{}", Some(&header)));
        assert!(!signature_is_valid("s3cret", body, None));
        assert!(!signature_is_valid("s3cret", body, Some("sha256=zz")));
        assert!(!signature_is_valid("s3cret", body, Some("sha1=abc")));
    }

    #[test]
    fn messages_comments_and_replies_become_events() {
        let body = br#"{"object":"instagram","entry":[{"id":"17841400","time":1,
          "messaging":[{"sender":{"id":"IGSID1"},"recipient":{"id":"17841400"},"timestamp":1700000000000,
                        "message":{"mid":"m_1","text":"Where is my order?"}},
                       {"sender":{"id":"17841400"},"recipient":{"id":"IGSID1"},"timestamp":1,
                        "message":{"mid":"m_2","text":"echo","is_echo":true}},
                       {"sender":{"id":"IGSID1"},"recipient":{"id":"17841400"},"timestamp":2,"read":{"mid":"m_1"}}],
          "changes":[{"field":"comments","value":{"id":"c1","text":"Nice!","from":{"id":"IGSID2","username":"jane"},"media":{"id":"post9"}}},
                     {"field":"comments","value":{"id":"c2","text":"Me too","parent_id":"c1","from":{"id":"IGSID3","username":"joe"},"media":{"id":"post9"}}}]}]}"#;
        let found = events(body).unwrap();
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(found[0].conversation, "instagram:dm:17841400:IGSID1");
        assert_eq!(found[0].external_id, "mid:m_1");
        assert_eq!(found[1].sender_name.as_deref(), Some("@jane"));
        assert_eq!(
            found[1].conversation, found[2].conversation,
            "a reply joins its thread"
        );
        assert!(events(b"not json").is_err());
        assert!(events(br#"{"object":"whatsapp","entry":[]}"#).is_err());
    }
}
