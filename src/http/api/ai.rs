//! The AI agent: its figures, training on demand, and accepting what it
//! suggests for a case.

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::types::CaseView;
use super::{ApiTags, TokenAuth, state};
use crate::ai::ModelReport;
use crate::http::error::ApiError;
use crate::service::{AiStatus, TrainingOutcome};

#[derive(Default)]
pub struct AiApi;

/// One label's figures on held-out cases.
#[derive(Debug, Object)]
struct LabelFiguresView {
    label: String,
    /// Cases of this label it learned from.
    examples: u32,
    /// Held-out cases of this label.
    held_out: u32,
    /// Of the held-out cases it gave this label, the share that had it.
    #[oai(nullable)]
    precision: Option<f32>,
    /// Of the held-out cases with this label, the share it found.
    #[oai(nullable)]
    recall: Option<f32>,
}

/// How one classifier did on the held-out cases.
#[derive(Debug, Object)]
struct ModelView {
    /// The share of held-out cases it got right.
    #[oai(nullable)]
    accuracy: Option<f32>,
    held_out: u32,
    labels: Vec<LabelFiguresView>,
    /// `confusion[actual][predicted]`, in the order of `labels`.
    confusion: Vec<Vec<u32>>,
}

impl From<&ModelReport> for ModelView {
    fn from(r: &ModelReport) -> Self {
        let scores = r.held_out.scores();
        ModelView {
            accuracy: r.accuracy(),
            held_out: r.held_out.total(),
            labels: scores
                .into_iter()
                .map(|s| LabelFiguresView {
                    examples: r
                        .examples
                        .iter()
                        .find(|(l, _)| *l == s.label)
                        .map_or(0, |(_, n)| *n),
                    label: s.label,
                    held_out: s.held_out,
                    precision: s.precision,
                    recall: s.recall,
                })
                .collect(),
            confusion: r.held_out.counts.clone(),
        }
    }
}

/// A category as the agent treats it.
#[derive(Debug, Object)]
struct CategoryAiView {
    name: String,
    /// Applied by the agent itself at or above this confidence; absent:
    /// only suggested.
    #[oai(nullable)]
    ai_threshold: Option<f32>,
    /// Cases the agent filed in this category itself in the last 7 days.
    applied_last_week: u32,
}

/// What the AI agent knows and how well it does.
#[derive(Debug, Object)]
struct AiStatusView {
    /// Predicting at intake and learning (`[ai] enabled`).
    enabled: bool,
    /// When it last learned; absent before it has learned anything.
    #[oai(nullable)]
    trained_at: Option<DateTime<Utc>>,
    /// Why it predicts nothing, when it does not.
    #[oai(nullable)]
    note: Option<String>,
    /// The category spam goes to.
    spam_category: String,
    /// Category and priority decisions by people since it last learned.
    new_labels: u64,
    /// Every fifth case (by number) is held out: never learned from, only
    /// scored on.
    held_out_every: u64,
    #[oai(nullable)]
    category: Option<ModelView>,
    #[oai(nullable)]
    spam: Option<ModelView>,
    #[oai(nullable)]
    priority: Option<ModelView>,
    categories: Vec<CategoryAiView>,
}

impl From<AiStatus> for AiStatusView {
    fn from(s: AiStatus) -> Self {
        let models = s.models.as_deref();
        let applied = |name: &str| {
            s.applied_last_week
                .iter()
                .find(|(c, _)| c.eq_ignore_ascii_case(name))
                .map_or(0, |(_, n)| *n)
        };
        AiStatusView {
            enabled: s.enabled,
            trained_at: models.map(|m| m.trained_at),
            note: match (s.enabled, models) {
                (false, _) => Some("the AI agent is switched off ([ai] enabled = false)".into()),
                (true, None) => Some(
                    "the AI agent has not learned yet: it needs cases whose category people chose"
                        .into(),
                ),
                (true, Some(_)) => None,
            },
            spam_category: s.spam_category,
            new_labels: s.new_labels,
            held_out_every: crate::ai::HELD_OUT_EVERY,
            category: models.and_then(|m| m.category_report()).map(Into::into),
            spam: models.and_then(|m| m.spam_report()).map(Into::into),
            priority: models.and_then(|m| m.priority_report()).map(Into::into),
            categories: s
                .categories
                .iter()
                .map(|c| CategoryAiView {
                    name: c.name.clone(),
                    ai_threshold: c.ai_threshold,
                    applied_last_week: applied(&c.name),
                })
                .collect(),
        }
    }
}

/// What a training did.
#[derive(Debug, Object)]
struct TrainingView {
    /// The new models replaced the old ones (they scored at least as well
    /// on the held-out cases).
    swapped: bool,
    labelled_cases: u64,
    seconds: f64,
    /// Held-out accuracy of the new models.
    #[oai(nullable)]
    category_accuracy: Option<f32>,
    #[oai(nullable)]
    spam_accuracy: Option<f32>,
    /// Held-out accuracy, on the same cases, of the models they replace.
    #[oai(nullable)]
    previous_category_accuracy: Option<f32>,
    #[oai(nullable)]
    previous_spam_accuracy: Option<f32>,
}

impl From<TrainingOutcome> for TrainingView {
    fn from(t: TrainingOutcome) -> Self {
        TrainingView {
            swapped: t.swapped,
            labelled_cases: t.labelled_cases as u64,
            seconds: t.seconds,
            category_accuracy: t.new_scores.category,
            spam_accuracy: t.new_scores.spam,
            previous_category_accuracy: t.old_scores.and_then(|s| s.category),
            previous_spam_accuracy: t.old_scores.and_then(|s| s.spam),
        }
    }
}

/// Text a language model wrote; nothing was stored or sent.
#[derive(Debug, Object)]
struct ModelTextView {
    text: String,
    /// The model that wrote it (`[llm] model`).
    model: String,
    generated_at: DateTime<Utc>,
}

impl From<crate::service::ModelText> for ModelTextView {
    fn from(t: crate::service::ModelText) -> Self {
        ModelTextView {
            text: t.text,
            model: t.model,
            generated_at: t.at,
        }
    }
}

#[OpenApi(tag = "ApiTags::Cases")]
impl AssistApi {
    /// A summary of the case by the configured language model, for staff
    /// (internal notes are part of what it reads). 503 when no model is
    /// configured, 502 when it fails.
    #[oai(path = "/cases/:number/summary", method = "post")]
    async fn summary(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
    ) -> Result<Json<ModelTextView>, ApiError> {
        let text = state(req).service.summarize_case(&auth.0, number.0).await?;
        Ok(Json(text.into()))
    }

    /// A draft of the next reply by the configured language model, for
    /// someone who may answer the case (it reads no internal notes). It is
    /// not sent: send it, edited, as an update or reply.
    #[oai(path = "/cases/:number/draft", method = "post")]
    async fn draft(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
    ) -> Result<Json<ModelTextView>, ApiError> {
        let text = state(req).service.draft_reply(&auth.0, number.0).await?;
        Ok(Json(text.into()))
    }
}

#[derive(Default)]
pub struct AssistApi;

#[OpenApi(tag = "ApiTags::Automation")]
impl AiApi {
    /// What the AI agent learned and how well it does on held-out cases
    /// (staff).
    #[oai(path = "/ai", method = "get")]
    async fn status(&self, req: &Request, auth: TokenAuth) -> Result<Json<AiStatusView>, ApiError> {
        Ok(Json(state(req).service.ai_status(&auth.0)?.into()))
    }

    /// Learn from the cases people decided now, rather than on schedule
    /// (administrators). The new models replace the old ones only if they
    /// score at least as well on the held-out cases; 409 when there is not
    /// enough to learn from.
    #[oai(path = "/ai/train", method = "post")]
    async fn train(&self, req: &Request, auth: TokenAuth) -> Result<Json<TrainingView>, ApiError> {
        Ok(Json(
            state(req).service.train_ai(Some(&auth.0)).await?.into(),
        ))
    }

    /// Set the case's category to the one the AI agent suggested, as your
    /// own decision (it teaches the agent). 409 when it suggests nothing.
    #[oai(path = "/cases/:number/ai/accept", method = "post")]
    async fn accept(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
    ) -> Result<Json<CaseView>, ApiError> {
        let case = state(req)
            .service
            .accept_ai_suggestion(&auth.0, number.0)
            .await?;
        Ok(Json(case.into()))
    }

    /// Take a chat from the AI agent, which stops answering the visitor;
    /// the case becomes yours when nobody has it yet (staff who work the
    /// case). 409 when the AI agent is not answering it.
    #[oai(path = "/cases/:number/take-over", method = "post")]
    async fn take_over(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
    ) -> Result<Json<CaseView>, ApiError> {
        let case = state(req)
            .service
            .take_over_from_ai(&auth.0, number.0)
            .await?;
        Ok(Json(case.into()))
    }
}
