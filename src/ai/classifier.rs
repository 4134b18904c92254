//! One classifier: multinomial naive Bayes (linfa) over a vocabulary's
//! counts, trained in chunks so memory stays bounded however many cases
//! there are, with a softmax temperature fitted on held-out cases so its
//! confidences mean what they say.

use linfa::DatasetView;
use linfa::prelude::*;
use linfa_bayes::{MultinomialNb, NaiveBayes};
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use super::AiError;
use super::features::Counts;

/// Cases per training chunk: a dense chunk is this many rows by the
/// vocabulary's size.
const CHUNK: usize = 256;
/// Additive smoothing: how much an unseen word counts against a label.
const SMOOTHING: f32 = 0.3;
/// Temperatures tried when calibrating: naive Bayes is overconfident, the
/// more so the longer the text.
const TEMPERATURES: &[f32] = &[1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0];

/// A trained classifier over labels `labels`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Classifier {
    labels: Vec<String>,
    features: usize,
    model: MultinomialNb<f32, usize>,
    temperature: f32,
}

/// A training example: a document's counts and its label's index.
pub type Example<'a> = (&'a Counts, usize);

fn dense(rows: &[&Counts], features: usize) -> Array2<f32> {
    let mut x = Array2::<f32>::zeros((rows.len(), features));
    for (row, counts) in rows.iter().enumerate() {
        for &(feature, count) in counts.iter() {
            x[[row, feature as usize]] = count;
        }
    }
    x
}

impl Classifier {
    /// Trains on `examples` (at least one of each label is not required,
    /// but a label never seen is never predicted).
    pub fn train(
        labels: Vec<String>,
        features: usize,
        examples: &[Example],
    ) -> Result<Classifier, AiError> {
        if examples.is_empty() || features == 0 {
            return Err(AiError::NotEnoughExamples);
        }
        let params = MultinomialNb::<f32, usize>::params()
            .alpha(SMOOTHING)
            .check()
            .map_err(|e| AiError::Training(e.to_string()))?;
        let mut model = None;
        for chunk in examples.chunks(CHUNK) {
            let rows: Vec<&Counts> = chunk.iter().map(|(c, _)| *c).collect();
            let x = dense(&rows, features);
            let y: Array1<usize> = chunk.iter().map(|(_, label)| *label).collect();
            let dataset = DatasetView::new(x.view(), y.view());
            model = Some(
                params
                    .fit_with(model, &dataset)
                    .map_err(|e| AiError::Training(e.to_string()))?,
            );
        }
        Ok(Classifier {
            labels,
            features,
            model: model.ok_or(AiError::NotEnoughExamples)?,
            temperature: 1.0,
        })
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Each label's log-likelihood for the document (minus infinity for a
    /// label the training never saw).
    fn log_likelihoods(&self, counts: &Counts) -> Vec<f32> {
        let x = dense(&[counts], self.features);
        let mut out = vec![f32::NEG_INFINITY; self.labels.len()];
        for (label, value) in self.model.joint_log_likelihood(x.view()) {
            if let Some(slot) = out.get_mut(*label) {
                *slot = value[0];
            }
        }
        out
    }

    fn softmax(scores: &[f32], temperature: f32) -> Vec<f32> {
        let top = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f32> = scores
            .iter()
            .map(|s| ((s - top) / temperature).exp())
            .collect();
        let sum: f32 = exps.iter().sum();
        exps.into_iter().map(|e| e / sum).collect()
    }

    /// Each label's probability for the document, in label order.
    pub fn probabilities(&self, counts: &Counts) -> Vec<f32> {
        Self::softmax(&self.log_likelihoods(counts), self.temperature)
    }

    /// The most likely label's index and its probability.
    pub fn predict(&self, counts: &Counts) -> (usize, f32) {
        self.probabilities(counts)
            .into_iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, 0.0))
    }

    /// Chooses the temperature that makes the held-out cases' labels most
    /// likely (least log loss); without held-out cases it stays 1.
    pub fn calibrate(&mut self, held_out: &[Example]) {
        if held_out.is_empty() {
            return;
        }
        let scores: Vec<(Vec<f32>, usize)> = held_out
            .iter()
            .map(|(counts, label)| (self.log_likelihoods(counts), *label))
            .collect();
        let loss = |temperature: f32| -> f32 {
            scores
                .iter()
                .map(|(s, label)| -Self::softmax(s, temperature)[*label].max(1e-9).ln())
                .sum()
        };
        self.temperature = TEMPERATURES
            .iter()
            .copied()
            .min_by(|a, b| loss(*a).total_cmp(&loss(*b)))
            .unwrap_or(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_which_words_go_with_which_label() {
        // Features: 0 invoice, 1 refund, 2 password, 3 login, 4 hello.
        let docs: Vec<(Counts, usize)> = vec![
            (vec![(0, 1.0), (1, 1.0), (4, 1.0)], 0),
            (vec![(0, 2.0), (4, 1.0)], 0),
            (vec![(1, 1.0)], 0),
            (vec![(2, 1.0), (3, 1.0), (4, 1.0)], 1),
            (vec![(3, 2.0)], 1),
            (vec![(2, 1.0), (4, 1.0)], 1),
        ];
        let examples: Vec<Example> = docs.iter().map(|(c, l)| (c, *l)).collect();
        let mut classifier =
            Classifier::train(vec!["billing".into(), "login".into()], 5, &examples).unwrap();
        classifier.calibrate(&examples);
        let (label, confidence) = classifier.predict(&vec![(0, 1.0)]);
        assert_eq!(classifier.labels()[label], "billing");
        assert!(confidence > 0.5, "{confidence}");
        let (label, _) = classifier.predict(&vec![(3, 1.0), (4, 1.0)]);
        assert_eq!(classifier.labels()[label], "login");
        let total: f32 = classifier.probabilities(&vec![(4, 1.0)]).iter().sum();
        assert!((total - 1.0).abs() < 1e-5);
    }

    #[test]
    fn nothing_to_learn_from_is_an_error() {
        assert!(matches!(
            Classifier::train(vec!["a".into()], 3, &[]),
            Err(AiError::NotEnoughExamples)
        ));
    }
}
