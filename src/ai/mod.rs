//! The AI agent: classifiers for category, spam and priority learned from
//! the organisation's own decisions, inside the binary and offline. It
//! learns only from cases people decided (never from its own guesses),
//! holds out every fifth case to score itself honestly, and keeps nothing
//! but what it learned from the data directory. linfa and ndarray are
//! named here and nowhere else.

mod classifier;
mod evaluate;
mod features;
mod models;

pub use evaluate::{Confusion, LabelScore};
pub use features::{BODY_CHARS, Corpus, Document, Featurizer};
pub use models::{
    HELD_OUT_EVERY, LabeledCase, ModelReport, Models, Prediction, Scores, cross_validate,
    is_held_out, terms_of,
};

/// The library under the classifiers, named in benchmark reports.
pub const ENGINE: &str = "linfa-bayes";

#[derive(Debug, thiserror::Error)]
pub enum AiError {
    #[error("there are not enough labelled cases to learn from yet")]
    NotEnoughExamples,
    #[error("training failed: {0}")]
    Training(String),
}
