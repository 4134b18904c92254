//! The AI agent in the service: what it reads of a case, what it learns
//! from (people's decisions only), when it learns again, the swap of a
//! new model (only when it scores at least as well on held-out cases),
//! and the figures it shows.

use std::sync::{Arc, RwLock};

use super::{Service, ServiceError, ServiceResult, now};
use crate::ai::{Document, Featurizer, LabeledCase, Models, Prediction, Scores};
use crate::domain::Timestamp;
use crate::domain::ai::{AiVerdict, Decider, Threshold, decide};
use crate::domain::case::{Case, CaseNumber};
use crate::domain::category::Category;
use crate::domain::user::User;
use crate::search::Analyzer;
use crate::store::{AiReads, AiWrites, Reads};

/// The most cases one training learns from, the newest first: recent
/// decisions say most about how the team works now, and memory stays
/// bounded on a very large archive.
const MAX_TRAINING_CASES: usize = 200_000;

/// The actor the AI agent's own decisions are recorded under. It has a
/// space, so no username can ever be the same.
pub const AI_ACTOR: &str = "AI agent";

/// The agent's current models, swapped whole when a better one is learned.
pub struct Agent {
    models: RwLock<Option<Arc<Models>>>,
    analyzer: Analyzer,
    /// One training at a time.
    training: tokio::sync::Mutex<()>,
    /// When this process last tried to learn.
    attempted: std::sync::Mutex<Option<Timestamp>>,
}

impl Agent {
    pub fn new(analyzer: Analyzer) -> Agent {
        Agent {
            models: RwLock::new(None),
            analyzer,
            training: tokio::sync::Mutex::new(()),
            attempted: std::sync::Mutex::new(None),
        }
    }

    fn last_attempt(&self) -> Option<Timestamp> {
        *self.attempted.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn note_attempt(&self) {
        *self.attempted.lock().unwrap_or_else(|e| e.into_inner()) = Some(now());
    }

    pub fn current(&self) -> Option<Arc<Models>> {
        self.models
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn swap(&self, models: Arc<Models>) {
        *self.models.write().unwrap_or_else(|e| e.into_inner()) = Some(models);
    }

    /// What the current models say about `doc`; none before any training.
    pub fn predict(&self, doc: &Document) -> Option<Prediction> {
        let models = self.current()?;
        let mut featurizer = Featurizer::new(self.analyzer.clone());
        Some(models.predict(&mut featurizer, doc))
    }
}

/// What the agent reads of a case: its description and the customer's
/// first message (for mail they are the same text, read once).
pub(super) fn document_of(case: &Case, channel: &str, first_message: Option<&str>) -> Document {
    let description = case.description.trim();
    let body = match first_message.map(str::trim) {
        None => description.to_owned(),
        Some(first) if first == description || description.is_empty() => first.to_owned(),
        Some(first) => format!("{description}\n\n{first}"),
    };
    // The classifiers read no further; a large archive's bodies would
    // otherwise all be held in memory while it learns.
    let body: String = body.chars().take(crate::ai::BODY_CHARS).collect();
    Document {
        subject: case.subject.clone(),
        body,
        sender_domain: case
            .customer
            .as_ref()
            .and_then(|c| c.email.as_deref())
            .and_then(|e| e.rsplit_once('@'))
            .map(|(_, domain)| domain.to_owned()),
        channel: channel.to_owned(),
        source: case.source.as_str().to_owned(),
    }
}

/// The agent's verdict on a case about to be opened, with what it decides
/// itself under the categories' thresholds.
pub(super) fn verdict(
    prediction: &Prediction,
    spam_category: &str,
    categories: &[Category],
) -> AiVerdict {
    let thresholds: Vec<Threshold> = categories
        .iter()
        .map(|c| Threshold {
            category: &c.name,
            apply_above: c.ai_threshold,
        })
        .collect();
    decide(prediction, spam_category, &thresholds)
}

/// What people decided about a case, as labels; rules' and the agent's
/// own decisions teach it nothing.
fn labels_of(case: &Case, spam_category: &str) -> (Option<String>, Option<bool>, Option<String>) {
    let by_people = |by: Option<Decider>| matches!(by, None | Some(Decider::Person));
    let mut category = None;
    let mut spam = None;
    if by_people(case.category_by) {
        match &case.category {
            Some(c) if c.eq_ignore_ascii_case(spam_category) => spam = Some(true),
            Some(c) => {
                category = Some(c.clone());
                spam = Some(false);
            }
            // A person cleared it: whatever it is, it is not spam.
            None if case.category_by == Some(Decider::Person) => spam = Some(false),
            None => {}
        }
    }
    let priority = by_people(case.priority_by).then(|| case.priority.as_str().to_owned());
    (category, spam, priority)
}

fn encode(models: &Models) -> ServiceResult<Vec<u8>> {
    serde_json::to_vec(models)
        .map_err(|e| ServiceError::Output(format!("the learned models could not be stored: {e}")))
}

fn decode(bytes: &[u8]) -> Result<Models, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// What a training did.
#[derive(Debug, Clone)]
pub struct TrainingOutcome {
    /// Whether the new models replaced the old ones.
    pub swapped: bool,
    /// Held-out accuracy of the new models and of the ones they would
    /// replace, on the same held-out cases.
    pub new_scores: Scores,
    pub old_scores: Option<Scores>,
    pub labelled_cases: usize,
    pub seconds: f64,
}

/// What the agent shows on the Automation page and at `GET /api/v1/ai`.
#[derive(Debug, Clone)]
pub struct AiStatus {
    pub enabled: bool,
    pub models: Option<Arc<Models>>,
    pub categories: Vec<Category>,
    pub spam_category: String,
    /// Decisions by people since the last training.
    pub new_labels: u64,
    /// What the agent applied itself in the last seven days, by category.
    pub applied_last_week: Vec<(String, u32)>,
}

impl Service {
    /// Loads what the agent learned earlier from the store.
    pub(super) fn load_ai(&self) {
        let stored = self.store.read().and_then(|txn| txn.ai_models());
        match stored {
            Ok(Some(bytes)) => match decode(&bytes) {
                Ok(models) => self.ai.swap(Arc::new(models)),
                Err(e) => tracing::warn!(
                    "the AI agent's stored models could not be read ({e}); it predicts nothing until it learns again"
                ),
            },
            Ok(None) => {}
            Err(e) => tracing::warn!("the AI agent's models could not be loaded: {e}"),
        }
    }

    pub(super) fn ai_agent(&self) -> Option<Arc<Agent>> {
        self.config.ai.enabled.then(|| self.ai.clone())
    }

    /// Every case people decided something about, with what they decided.
    pub fn ai_labelled_cases(&self) -> ServiceResult<Vec<LabeledCase>> {
        let txn = self.store.read()?;
        let channels: std::collections::HashMap<_, _> = txn
            .channels()?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        let spam_category = self.config.ai.spam_category.clone();
        let mut cases = Vec::new();
        let mut failure = None;
        txn.scan_cases_desc(None, &mut |case| {
            if case.deleted_at.is_some() {
                return true;
            }
            let (category, spam, priority) = labels_of(&case, &spam_category);
            if category.is_none() && spam.is_none() && priority.is_none() {
                return true;
            }
            let first = match first_customer_message(&txn, case.number) {
                Ok(text) => text,
                Err(e) => {
                    failure = Some(e);
                    return false;
                }
            };
            let channel = channels.get(&case.channel).cloned().unwrap_or_default();
            cases.push(LabeledCase {
                number: case.number,
                doc: document_of(&case, &channel, first.as_deref()),
                category,
                spam,
                priority,
            });
            cases.len() < MAX_TRAINING_CASES
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        cases.reverse();
        Ok(cases)
    }

    /// Learns from every labelled case and swaps the new models in when
    /// they score at least as well as the current ones on the held-out
    /// cases. `actor` is an administrator asking, or none for the
    /// scheduled training.
    pub async fn train_ai(&self, actor: Option<&User>) -> ServiceResult<TrainingOutcome> {
        if let Some(actor) = actor {
            Self::require_admin(actor, "train the AI agent")?;
        }
        let _one_at_a_time = self.ai.training.lock().await;
        self.ai.note_attempt();
        let started = std::time::Instant::now();
        let (labels, _) = self.store.read()?.ai_label_counts()?;
        // Reading a large archive takes seconds: off the async workers.
        let service = self.clone();
        let cases = tokio::task::spawn_blocking(move || service.ai_labelled_cases())
            .await
            .map_err(|e| ServiceError::Output(format!("training was interrupted: {e}")))??;
        let agent = self.ai.clone();
        let trained = tokio::task::spawn_blocking(move || {
            let terms = crate::ai::terms_of(&cases, &agent.analyzer);
            let models = Models::train_on_terms(&cases, &terms, now())?;
            let new_scores = models.scores_on(&cases, &terms);
            let old_scores = agent.current().map(|old| old.scores_on(&cases, &terms));
            Ok::<_, crate::ai::AiError>((models, new_scores, old_scores, cases.len()))
        })
        .await
        .map_err(|e| ServiceError::Output(format!("training was interrupted: {e}")))?;
        let trained = match trained {
            Err(crate::ai::AiError::NotEnoughExamples) => {
                // Not again until people have decided more.
                self.store
                    .write(move |txn| Ok::<_, ServiceError>(txn.note_ai_labels_seen(labels)?))
                    .await?;
                return Err(ServiceError::Conflict(
                    crate::ai::AiError::NotEnoughExamples.to_string(),
                ));
            }
            other => other.map_err(|e| ServiceError::Output(e.to_string()))?,
        };
        let (models, new_scores, old_scores, labelled_cases) = trained;
        let swapped = old_scores.is_none_or(|old| new_scores.at_least(&old));
        if swapped {
            let bytes = encode(&models)?;
            self.store
                .write(move |txn| Ok::<_, ServiceError>(txn.put_ai_models(&bytes, labels)?))
                .await?;
            self.ai.swap(Arc::new(models));
        } else {
            // Not better: keep the current models, but do not retry the
            // same decisions until more arrive.
            self.store
                .write(move |txn| Ok::<_, ServiceError>(txn.note_ai_labels_seen(labels)?))
                .await?;
            tracing::info!(
                ?new_scores,
                ?old_scores,
                "the AI agent's retraining scored worse on held-out cases; the current models stay"
            );
        }
        Ok(TrainingOutcome {
            swapped,
            new_scores,
            old_scores,
            labelled_cases,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Trains when enough new decisions have been made, or some and the
    /// retraining interval has passed (the schedule asks every few
    /// minutes). Returns what it did, if it trained.
    pub async fn retrain_ai_if_due(&self) -> ServiceResult<Option<TrainingOutcome>> {
        if !self.config.ai.enabled {
            return Ok(None);
        }
        let (labels, trained) = self.store.read()?.ai_label_counts()?;
        let new = labels.saturating_sub(trained);
        // The last try counts, swapped in or not, so a model that keeps
        // losing is not retrained on every new decision.
        let last = self
            .ai
            .last_attempt()
            .or_else(|| self.ai.current().map(|m| m.trained_at));
        let stale = last.is_none_or(|at| {
            now() - at > chrono::Duration::hours(self.config.ai.retrain_hours as i64)
        });
        let due = new >= self.config.ai.retrain_after_labels
            || (new > 0 && stale)
            // A fresh install learns from an imported archive once, at start.
            || (last.is_none() && trained == 0 && labels == 0);
        if !due {
            return Ok(None);
        }
        match self.train_ai(None).await {
            Ok(outcome) => Ok(Some(outcome)),
            Err(ServiceError::Conflict(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The agent's figures, for staff.
    pub fn ai_status(&self, actor: &User) -> ServiceResult<AiStatus> {
        if actor.is_partner() {
            return Err(ServiceError::Forbidden(
                "partners cannot see the AI agent's figures".into(),
            ));
        }
        let txn = self.store.read()?;
        let (labels, trained) = txn.ai_label_counts()?;
        let since: Timestamp = now() - chrono::Duration::days(7);
        let mut applied: std::collections::BTreeMap<String, u32> = Default::default();
        txn.scan_cases_desc(None, &mut |case| {
            if case.created_at < since {
                // Cases are numbered in order of arrival.
                return false;
            }
            if case.category_by == Some(Decider::Ai)
                && let Some(c) = &case.category
            {
                *applied.entry(c.clone()).or_default() += 1;
            }
            true
        })?;
        Ok(AiStatus {
            enabled: self.config.ai.enabled,
            models: self.ai.current(),
            categories: txn.categories()?,
            spam_category: self.config.ai.spam_category.clone(),
            new_labels: labels.saturating_sub(trained),
            applied_last_week: applied.into_iter().collect(),
        })
    }

    /// Sets a case's category to what the agent suggested, as the person's
    /// own decision (so it teaches the agent).
    pub async fn accept_ai_suggestion(
        &self,
        actor: &User,
        number: CaseNumber,
    ) -> ServiceResult<Case> {
        let case = self.get_case(actor, number)?;
        let suggestion = case
            .ai
            .as_ref()
            .and_then(|v| v.suggestion(case.category.as_deref()))
            .map(str::to_owned)
            .ok_or_else(|| {
                ServiceError::Conflict(format!("the AI agent suggests nothing for case #{number}"))
            })?;
        let change = super::CaseChange {
            edit: crate::domain::case::CaseEdit {
                category: Some(Some(suggestion)),
                ..Default::default()
            },
            ..Default::default()
        };
        self.update_case(actor, number, change).await
    }
}

/// The first message a customer sent on a case.
pub(super) fn first_customer_message(
    txn: &impl Reads,
    number: CaseNumber,
) -> ServiceResult<Option<String>> {
    use crate::domain::activity::{Direction, EventKind};
    let mut found = None;
    txn.visit_activity(number, &mut |event| {
        if let EventKind::Message {
            direction: Direction::Inbound,
            body,
            ..
        } = event.kind
        {
            found = Some(body);
            return false;
        }
        true
    })?;
    Ok(found)
}

/// How the rules (the plugins' `categorize`) do on the same labelled
/// cases, for comparison.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RulesScore {
    /// Of the cases with a category label, the share the rules gave it.
    pub category_accuracy: Option<f32>,
    /// Of the spam, the share the rules filed as spam.
    pub spam_recall: Option<f32>,
    /// Of the cases that are not spam, the share the rules filed as spam.
    pub ham_marked_spam: Option<f32>,
}

/// A cross-validation of the agent on the stored cases.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub cases: usize,
    pub folds: u64,
    /// Summed over the folds, by classifier (`category`, `spam`).
    pub confusions: Vec<(&'static str, crate::ai::Confusion)>,
    pub rules: Option<RulesScore>,
    pub seconds: f64,
}

fn share(hits: u32, of: u32) -> Option<f32> {
    (of > 0).then(|| hits as f32 / of as f32)
}

impl Service {
    /// `docket ai evaluate`: a `folds`-fold cross-validation on every
    /// labelled case, and, given a plugin host, how its rules do on them.
    pub fn evaluate_ai(
        &self,
        folds: u64,
        host: Option<&crate::scripting::ScriptHost>,
    ) -> ServiceResult<Evaluation> {
        let started = std::time::Instant::now();
        let cases = self.ai_labelled_cases()?;
        let confusions = crate::ai::cross_validate(&cases, &self.ai.analyzer, folds)
            .map_err(|e| ServiceError::Output(e.to_string()))?;
        let rules = host.map(|host| self.rules_score(host, &cases));
        Ok(Evaluation {
            cases: cases.len(),
            folds,
            confusions,
            rules,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    fn rules_score(
        &self,
        host: &crate::scripting::ScriptHost,
        cases: &[LabeledCase],
    ) -> RulesScore {
        let spam_category = &self.config.ai.spam_category;
        let (mut right, mut labelled) = (0, 0);
        let (mut spam_caught, mut spam) = (0, 0);
        let (mut ham_flagged, mut ham) = (0, 0);
        for case in cases {
            let view = crate::scripting::CaseView {
                number: case.number,
                subject: case.doc.subject.clone(),
                description: case.doc.body.clone(),
                body: case.doc.body.clone(),
                channel: case.doc.channel.clone(),
                source: case.doc.source.clone(),
                customer_email: case
                    .doc
                    .sender_domain
                    .as_ref()
                    .map(|d| format!("customer@{d}")),
                ..Default::default()
            };
            let decided = host.intake(&view, None).category;
            let said_spam = decided
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(spam_category));
            if let Some(label) = &case.category {
                labelled += 1;
                if decided
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(label))
                {
                    right += 1;
                }
            }
            match case.spam {
                Some(true) => {
                    spam += 1;
                    spam_caught += u32::from(said_spam);
                }
                Some(false) => {
                    ham += 1;
                    ham_flagged += u32::from(said_spam);
                }
                None => {}
            }
        }
        RulesScore {
            category_accuracy: share(right, labelled),
            spam_recall: share(spam_caught, spam),
            ham_marked_spam: share(ham_flagged, ham),
        }
    }
}
