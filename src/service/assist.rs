//! What the language model writes for an agent: a summary of a case and a
//! draft reply. Both are only text for the agent to read or edit: nothing
//! is stored or sent, and each says it came from the model.

use std::sync::Arc;

use super::cases::{visible_case, workable_case};
use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::Timestamp;
use crate::domain::activity::{ActivityEvent, Direction, EventKind};
use crate::domain::case::{Case, CaseNumber};
use crate::domain::user::User;
use crate::llm::{LanguageModel, LlmError};
use crate::store::Reads;

/// The most conversation sent to the model, in characters: the first
/// message and as many of the latest as fit.
const TRANSCRIPT_CHARS: usize = 12_000;
/// The most of any one message or the description sent.
const PART_CHARS: usize = 3_000;

/// `text` cut to `PART_CHARS`, saying so.
fn clipped(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= PART_CHARS {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(PART_CHARS).collect();
    cut.push_str(" [...]");
    cut
}

const SUMMARY_INSTRUCTIONS: &str = "You help support agents. Summarise the support case below for a colleague who is about to take it over: what the customer wants, what has been tried or promised, and what is still open. Use at most five short bullet points. Do not invent facts.";

const DRAFT_INSTRUCTIONS: &str = "You help support agents. Write the agent's next reply to the customer in the conversation below: polite, short and concrete, in the customer's language. Only promise what the conversation supports. Write only the reply's text, with no subject line and no placeholders.";

/// Text the model wrote, with which model wrote it and when.
#[derive(Debug, Clone)]
pub struct ModelText {
    pub text: String,
    pub model: String,
    pub at: Timestamp,
}

/// The case as the model reads it. Internal notes only when `notes` (a
/// summary for colleagues, never a reply a customer reads).
fn transcript(case: &Case, events: &[ActivityEvent], notes: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    for event in events {
        let when = event.at.format("%Y-%m-%d %H:%M");
        match &event.kind {
            EventKind::Message {
                direction,
                from,
                body,
                ..
            } => {
                let who = match direction {
                    Direction::Inbound => format!(
                        "Customer{}",
                        from.as_ref().map(|f| format!(" ({f})")).unwrap_or_default()
                    ),
                    Direction::Outbound => format!("Agent {}", event.actor),
                };
                parts.push(format!("{who}, {when}:\n{}", clipped(body)));
            }
            EventKind::Note { body, .. } if notes => {
                parts.push(format!(
                    "Internal note by {}, {when}:\n{}",
                    event.actor,
                    clipped(body)
                ));
            }
            _ => {}
        }
    }
    let head = format!(
        "Case #{}: {}\nStatus: {}\n{}\n",
        case.number,
        case.subject,
        case.status.label(),
        if case.description.trim().is_empty() {
            String::new()
        } else {
            format!("Description:\n{}\n", clipped(&case.description))
        }
    );
    // The first message, then the latest that fit.
    let mut kept: Vec<&String> = Vec::new();
    let mut size = head.len();
    if let Some(first) = parts.first() {
        size += first.len();
        kept.push(first);
    }
    let mut latest: Vec<&String> = Vec::new();
    for part in parts.iter().skip(1).rev() {
        if size + part.len() > TRANSCRIPT_CHARS {
            break;
        }
        size += part.len();
        latest.push(part);
    }
    let skipped = parts.len().saturating_sub(1 + latest.len());
    latest.reverse();
    let mut text = head;
    for (i, part) in kept.iter().chain(latest.iter()).enumerate() {
        if i == 1 && skipped > 0 {
            text.push_str(&format!("\n[{skipped} earlier messages left out]\n"));
        }
        text.push('\n');
        text.push_str(part);
        text.push('\n');
    }
    text
}

impl Service {
    /// Uses `model` for summaries and drafts.
    pub fn with_llm(mut self, model: Option<Arc<LanguageModel>>) -> Service {
        self.llm = model;
        self
    }

    /// The configured model's name, for pages to offer its help.
    pub fn llm_model(&self) -> Option<&str> {
        self.llm.as_deref().map(LanguageModel::model)
    }

    fn model(&self) -> ServiceResult<Arc<LanguageModel>> {
        self.llm
            .clone()
            .ok_or(ServiceError::Model(LlmError::NotConfigured))
    }

    /// A summary of the case for staff who may see it (notes included).
    pub async fn summarize_case(
        &self,
        actor: &User,
        number: CaseNumber,
    ) -> ServiceResult<ModelText> {
        if actor.is_partner() {
            return Err(ServiceError::Forbidden(
                "partners cannot ask for a summary".into(),
            ));
        }
        let model = self.model()?;
        let text = {
            let txn = self.store.read()?;
            let (case, _) = visible_case(&txn, actor, number)?;
            transcript(&case, &txn.activity(number)?, true)
        };
        let answer = model.complete(SUMMARY_INSTRUCTIONS, &text).await?;
        Ok(ModelText {
            text: answer,
            model: model.model().to_owned(),
            at: now(),
        })
    }

    /// A draft of the next reply, for someone who may answer the case. It
    /// is never sent: the agent edits it in the composer and sends it.
    pub async fn draft_reply(&self, actor: &User, number: CaseNumber) -> ServiceResult<ModelText> {
        let model = self.model()?;
        let text = {
            let txn = self.store.read()?;
            let (case, _) = workable_case(&txn, actor, number)?;
            // The customer will read the reply: no internal notes go in.
            transcript(&case, &txn.activity(number)?, false)
        };
        let answer = model.complete(DRAFT_INSTRUCTIONS, &text).await?;
        Ok(ModelText {
            text: answer,
            model: model.model().to_owned(),
            at: now(),
        })
    }
}
