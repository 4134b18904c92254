//! The chat widget's conversations before and after a person takes over.

use serde::{Deserialize, Serialize};

use super::Timestamp;
use super::case::CaseNumber;
use super::channel::ChannelId;

/// Longest message a visitor may send at once.
pub const CHAT_TEXT_MAX: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatSide {
    Visitor,
    Bot,
    Agent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatLine {
    pub from: ChatSide,
    pub text: String,
    pub at: Timestamp,
}

/// A visitor's chat, stored from its first message so nothing is lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WidgetSession {
    pub channel: ChannelId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub name: Option<String>,
    pub email: Option<String>,
    pub transcript: Vec<ChatLine>,
    /// The case opened when the chat was handed to a person.
    pub case: Option<CaseNumber>,
}

/// Visitor text as stored: no control characters but line breaks, trimmed,
/// bounded; `None` when nothing is left.
pub fn clean_chat_text(text: &str) -> Option<String> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .take(CHAT_TEXT_MAX)
        .collect();
    let cleaned = cleaned.trim().to_owned();
    (!cleaned.is_empty()).then_some(cleaned)
}

/// What the widget's language model answers, on its own, when it cannot
/// help; its instructions tell it so.
pub const HANDOVER_MARKER: &str = "HANDOVER";

/// Whether the model's answer hands the chat to the team: the marker as a
/// word of its own, anywhere (models often add a polite sentence to it).
pub fn model_hands_over(answer: &str) -> bool {
    answer
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .any(|word| word == HANDOVER_MARKER)
}

/// Whether a visitor asks for a person in so many words.
pub fn asks_for_a_person(text: &str) -> bool {
    let text = text.to_lowercase();
    [
        "human",
        "person",
        "agent",
        "someone real",
        "talk to someone",
        "operator",
    ]
    .iter()
    .any(|w| text.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_hands_over_only_as_a_word_of_its_own() {
        assert!(model_hands_over("HANDOVER"));
        assert!(model_hands_over("I am not sure. [HANDOVER]"));
        assert!(model_hands_over("HANDOVER."));
        assert!(!model_hands_over("The handover of your order is tomorrow."));
        assert!(!model_hands_over("HANDOVERS happen daily"));
        assert!(!model_hands_over("Your parcel left the depot."));
    }

    #[test]
    fn chat_text_is_trimmed_bounded_and_never_empty() {
        assert_eq!(clean_chat_text("  hi\u{7}  "), Some("hi".into()));
        assert_eq!(clean_chat_text(" \n "), None);
        assert_eq!(
            clean_chat_text(&"x".repeat(CHAT_TEXT_MAX + 10)).map(|t| t.len()),
            Some(CHAT_TEXT_MAX)
        );
    }
}
