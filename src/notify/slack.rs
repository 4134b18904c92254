//! Slack's incoming-webhook message format: a JSON object whose `text` is
//! mrkdwn, in which `&`, `<` and `>` must be escaped.

use crate::domain::activity::{ActivityEvent, Direction, EventKind};
use crate::domain::case::Case;
use crate::domain::channel::Channel;

/// Escapes the three characters Slack treats as markup.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The message for one event on a case.
pub fn text(
    case: &Case,
    channel: &Channel,
    event: &ActivityEvent,
    public_url: Option<&str>,
) -> String {
    let title = format!("#{} {}", case.number, case.subject);
    let reference = match public_url {
        Some(base) => format!(
            "<{}/cases/{}|{}>",
            base.trim_end_matches('/'),
            case.number,
            escape(&title)
        ),
        None => escape(&title),
    };
    let channel_name = escape(&channel.name);
    match &event.kind {
        EventKind::Created { .. } => {
            let from = case
                .customer
                .as_ref()
                .and_then(|c| c.name.clone().or(c.email.clone()))
                .map(|who| format!(" from {}", escape(&who)))
                .unwrap_or_default();
            format!("New case in {channel_name}{from}: {reference}")
        }
        EventKind::Message {
            direction: Direction::Inbound,
            from,
            ..
        } => {
            let who = from.clone().unwrap_or_else(|| "The customer".into());
            format!("{} replied on {reference}", escape(&who))
        }
        EventKind::Escalated { milestone } => format!(
            ":warning: The milestone “{}” is overdue on {reference} ({channel_name})",
            escape(milestone)
        ),
        other => format!(
            "{reference}: {} {}",
            escape(&event.actor),
            escape(&other.describe())
        ),
    }
}

/// The JSON body Slack accepts.
pub fn payload(text: &str) -> String {
    serde_json::json!({ "text": text }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(escape("a <b> & c"), "a &lt;b&gt; &amp; c");
        let body: serde_json::Value = serde_json::from_str(&payload("hi \"there\"")).unwrap();
        assert_eq!(body["text"], "hi \"there\"");
    }
}
