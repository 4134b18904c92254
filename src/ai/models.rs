//! The agent's three classifiers (category, spam, priority) over one
//! vocabulary: trained together on the cases people decided, scored on
//! held-out cases, and asked together at intake.

use serde::{Deserialize, Serialize};

use super::AiError;
use super::classifier::{Classifier, Example};
use super::evaluate::Confusion;
use super::features::{Corpus, Counts, Document, Featurizer, Vocabulary};
use crate::domain::Timestamp;
pub use crate::domain::ai::Prediction;
use crate::search::Analyzer;

/// Cases whose number is a multiple of this are held out: never learned
/// from, only scored on. Fixed by number, so every training holds out the
/// same cases and two models can be compared fairly.
pub const HELD_OUT_EVERY: u64 = 5;
/// A label needs this many training cases to be learned.
const MIN_EXAMPLES: usize = 3;
/// Spam and ham, as the spam classifier's labels.
const HAM: &str = "ham";
const SPAM: &str = "spam";

pub fn is_held_out(number: u64) -> bool {
    number.is_multiple_of(HELD_OUT_EVERY)
}

/// A case with what people decided about it.
#[derive(Debug, Clone, Default)]
pub struct LabeledCase {
    pub number: u64,
    pub doc: Document,
    /// The category a person chose, when it is not the spam category.
    pub category: Option<String>,
    /// A person said it is spam (true) or not (false).
    pub spam: Option<bool>,
    /// The priority a person chose.
    pub priority: Option<String>,
}

/// What one classifier learned from and how it did on held-out cases.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelReport {
    /// Training cases per label, in label order.
    pub examples: Vec<(String, u32)>,
    pub held_out: Confusion,
}

impl ModelReport {
    pub fn accuracy(&self) -> Option<f32> {
        self.held_out.accuracy()
    }
}

/// The trained agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Models {
    pub trained_at: Timestamp,
    vocabulary: Vocabulary,
    category: Option<(Classifier, ModelReport)>,
    spam: Option<(Classifier, ModelReport)>,
    priority: Option<(Classifier, ModelReport)>,
}

/// Held-out accuracy of the two classifiers that decide (priority is only
/// ever suggested).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scores {
    pub category: Option<f32>,
    pub spam: Option<f32>,
}

impl Scores {
    /// Whether these scores are at least as good as `old` on each
    /// classifier `old` has.
    pub fn at_least(&self, old: &Scores) -> bool {
        let holds = |new: Option<f32>, old: Option<f32>| match (new, old) {
            (_, None) => true,
            (Some(new), Some(old)) => new + 1e-6 >= old,
            (None, Some(_)) => false,
        };
        holds(self.category, old.category) && holds(self.spam, old.spam)
    }
}

/// Every case's terms, in case order, read on as many threads as there
/// are cores.
pub fn terms_of(cases: &[LabeledCase], analyzer: &Analyzer) -> Corpus {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = cases.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = cases
            .chunks(chunk)
            .map(|part| {
                let mut featurizer = Featurizer::new(analyzer.clone());
                scope.spawn(move || {
                    let mut corpus = Corpus::default();
                    for case in part {
                        corpus.push(featurizer.terms(&case.doc));
                    }
                    corpus
                })
            })
            .collect();
        let mut all = Corpus::default();
        for worker in workers {
            all.extend(worker.join().expect("a feature thread panicked"));
        }
        all
    })
}

/// Trains one classifier on the training cases `label_of` labels, and
/// scores it on the held-out ones; none when fewer than two labels have
/// enough cases.
fn train_one(
    cases: &[LabeledCase],
    counts: &[Counts],
    features: usize,
    label_of: impl Fn(&LabeledCase) -> Option<String>,
) -> Result<Option<(Classifier, ModelReport)>, AiError> {
    let labelled: Vec<(usize, String)> = cases
        .iter()
        .enumerate()
        .filter_map(|(i, c)| label_of(c).map(|l| (i, l)))
        .collect();
    let mut tally: std::collections::BTreeMap<&str, u32> = Default::default();
    for (i, label) in &labelled {
        if !is_held_out(cases[*i].number) {
            *tally.entry(label).or_default() += 1;
        }
    }
    let labels: Vec<String> = tally
        .iter()
        .filter(|(_, n)| **n as usize >= MIN_EXAMPLES)
        .map(|(l, _)| (*l).to_owned())
        .collect();
    if labels.len() < 2 {
        return Ok(None);
    }
    let index = |label: &str| labels.iter().position(|l| l == label);
    let (mut train, mut held_out): (Vec<Example>, Vec<Example>) = (Vec::new(), Vec::new());
    for (i, label) in &labelled {
        let Some(label) = index(label) else { continue };
        if is_held_out(cases[*i].number) {
            held_out.push((&counts[*i], label));
        } else {
            train.push((&counts[*i], label));
        }
    }
    let mut classifier = Classifier::train(labels.clone(), features, &train)?;
    classifier.calibrate(&held_out);
    // Held-out cases of a label too rare to learn still count, as misses,
    // so these figures agree with how models are compared.
    let mut shown = labels.clone();
    for (i, label) in &labelled {
        if is_held_out(cases[*i].number) && !shown.contains(label) {
            shown.push(label.clone());
        }
    }
    let mut confusion = Confusion::new(shown.clone());
    for (i, label) in &labelled {
        if is_held_out(cases[*i].number)
            && let Some(actual) = shown.iter().position(|l| l == label)
        {
            confusion.record(actual, classifier.predict(&counts[*i]).0);
        }
    }
    let examples = shown
        .iter()
        .map(|l| (l.clone(), tally.get(l.as_str()).copied().unwrap_or(0)))
        .collect();
    Ok(Some((
        classifier,
        ModelReport {
            examples,
            held_out: confusion,
        },
    )))
}

/// How a classifier reads a case's label.
type LabelOf = dyn Fn(&LabeledCase) -> Option<String>;

fn spam_label(case: &LabeledCase) -> Option<String> {
    case.spam.map(|s| if s { SPAM } else { HAM }.to_owned())
}

impl Models {
    /// Learns from `cases`; an error when there is nothing to learn.
    pub fn train(
        cases: &[LabeledCase],
        analyzer: &Analyzer,
        now: Timestamp,
    ) -> Result<Models, AiError> {
        let terms = terms_of(cases, analyzer);
        Self::train_on_terms(cases, &terms, now)
    }

    /// As [`Models::train`], with every case's terms already read.
    pub fn train_on_terms(
        cases: &[LabeledCase],
        terms: &Corpus,
        now: Timestamp,
    ) -> Result<Models, AiError> {
        let vocabulary = Vocabulary::build(
            terms,
            (0..cases.len()).filter(|&i| !is_held_out(cases[i].number)),
        );
        let mapping = vocabulary.mapping(terms);
        let counts: Vec<Counts> = (0..cases.len())
            .map(|i| Vocabulary::counts_of(terms.doc(i), &mapping))
            .collect();
        let features = vocabulary.len();
        let models = Models {
            trained_at: now,
            category: train_one(cases, &counts, features, |c| c.category.clone())?,
            spam: train_one(cases, &counts, features, spam_label)?,
            priority: train_one(cases, &counts, features, |c| c.priority.clone())?,
            vocabulary,
        };
        if models.category.is_none() && models.spam.is_none() && models.priority.is_none() {
            return Err(AiError::NotEnoughExamples);
        }
        Ok(models)
    }

    /// What the agent says about `doc`.
    pub fn predict(&self, featurizer: &mut Featurizer, doc: &Document) -> Prediction {
        let counts = self.vocabulary.counts(&featurizer.terms(doc));
        let best = |model: &Option<(Classifier, ModelReport)>| {
            model.as_ref().map(|(c, _)| {
                let (label, p) = c.predict(&counts);
                (c.labels()[label].clone(), p)
            })
        };
        Prediction {
            category: best(&self.category),
            spam: self.spam.as_ref().map(|(c, _)| {
                let p = c.probabilities(&counts);
                c.labels()
                    .iter()
                    .position(|l| l == SPAM)
                    .map_or(0.0, |i| p[i])
            }),
            priority: best(&self.priority),
        }
    }

    pub fn category_report(&self) -> Option<&ModelReport> {
        self.category.as_ref().map(|(_, r)| r)
    }

    pub fn spam_report(&self) -> Option<&ModelReport> {
        self.spam.as_ref().map(|(_, r)| r)
    }

    pub fn priority_report(&self) -> Option<&ModelReport> {
        self.priority.as_ref().map(|(_, r)| r)
    }

    /// Held-out accuracy on `cases` (whose terms are `terms`): how a
    /// retrained agent is compared with the one it would replace.
    pub fn scores_on(&self, cases: &[LabeledCase], terms: &Corpus) -> Scores {
        let mapping = self.vocabulary.mapping(terms);
        let accuracy = |model: &Option<(Classifier, ModelReport)>,
                        label_of: &dyn Fn(&LabeledCase) -> Option<String>| {
            let (classifier, _) = model.as_ref()?;
            let (mut right, mut total) = (0u32, 0u32);
            for (i, case) in cases.iter().enumerate() {
                if !is_held_out(case.number) {
                    continue;
                }
                let Some(label) = label_of(case) else {
                    continue;
                };
                total += 1;
                let counts = Vocabulary::counts_of(terms.doc(i), &mapping);
                let (predicted, _) = classifier.predict(&counts);
                if classifier.labels()[predicted] == label {
                    right += 1;
                }
            }
            (total > 0).then(|| right as f32 / total as f32)
        };
        Scores {
            category: accuracy(&self.category, &|c| c.category.clone()),
            spam: accuracy(&self.spam, &spam_label),
        }
    }
}

/// A `folds`-fold cross-validation of the category and spam classifiers:
/// each fold (by case number) is predicted by a model trained on the
/// others. Returns the summed matrices by classifier name.
pub fn cross_validate(
    cases: &[LabeledCase],
    analyzer: &Analyzer,
    folds: u64,
) -> Result<Vec<(&'static str, Confusion)>, AiError> {
    let folds = folds.max(2);
    let terms = terms_of(cases, analyzer);
    let category_of = |c: &LabeledCase| c.category.clone();
    let classifiers: [(&'static str, &LabelOf); 2] =
        [("category", &category_of), ("spam", &spam_label)];
    // One label set over every fold: a label some fold could not learn is
    // still in the matrix, and every case of it a miss there.
    let mut totals: Vec<(&'static str, Confusion)> = classifiers
        .iter()
        .map(|(name, label_of)| {
            let mut labels: Vec<String> = cases.iter().filter_map(label_of).collect();
            labels.sort();
            labels.dedup();
            (*name, Confusion::new(labels))
        })
        .collect();
    let mut trained_any = [false; 2];
    for fold in 0..folds {
        let in_fold = |n: u64| n % folds == fold;
        let train_idx: Vec<usize> = (0..cases.len())
            .filter(|&i| !in_fold(cases[i].number))
            .collect();
        let vocabulary = Vocabulary::build(&terms, train_idx.iter().copied());
        let mapping = vocabulary.mapping(&terms);
        let counts: Vec<Counts> = (0..cases.len())
            .map(|i| Vocabulary::counts_of(terms.doc(i), &mapping))
            .collect();
        for (which, (_, label_of)) in classifiers.iter().enumerate() {
            let mut tally: std::collections::BTreeMap<String, u32> = Default::default();
            for &i in &train_idx {
                if let Some(l) = label_of(&cases[i]) {
                    *tally.entry(l).or_default() += 1;
                }
            }
            let labels: Vec<String> = tally
                .into_iter()
                .filter(|(_, n)| *n as usize >= MIN_EXAMPLES)
                .map(|(l, _)| l)
                .collect();
            if labels.len() < 2 {
                continue;
            }
            let train: Vec<Example> = train_idx
                .iter()
                .filter_map(|&i| {
                    let label = label_of(&cases[i])?;
                    Some((&counts[i], labels.iter().position(|l| *l == label)?))
                })
                .collect();
            let classifier = Classifier::train(labels.clone(), vocabulary.len(), &train)?;
            trained_any[which] = true;
            let confusion = &mut totals[which].1;
            for (i, case) in cases.iter().enumerate() {
                if !in_fold(case.number) {
                    continue;
                }
                let Some(label) = label_of(case) else {
                    continue;
                };
                let position = |name: &str| confusion.labels.iter().position(|l| l == name);
                let predicted = &classifier.labels()[classifier.predict(&counts[i]).0];
                // Both are in the one label set, which holds every label.
                if let (Some(actual), Some(p)) = (position(&label), position(predicted)) {
                    confusion.record(actual, p);
                }
            }
        }
    }
    Ok(totals
        .into_iter()
        .zip(trained_any)
        .filter_map(|((name, c), trained)| trained.then_some((name, c)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::generate::Generator;
    use crate::search::Language;

    /// The generated archive's cases as the service would label them.
    fn generated(cases: usize, seed: u64) -> Vec<LabeledCase> {
        let mut generator = Generator::new(seed);
        (0..cases)
            .map(|_| {
                let record = generator.next_case();
                let first = record
                    .messages
                    .iter()
                    .find(|m| m.direction == "inbound")
                    .map(|m| m.body.clone())
                    .unwrap_or_else(|| record.description.clone());
                let email = record.customer.as_ref().and_then(|c| c.email.clone());
                LabeledCase {
                    number: record.number.unwrap_or_default(),
                    doc: Document {
                        subject: record.subject.clone(),
                        body: first,
                        sender_domain: email.and_then(|e| e.split('@').nth(1).map(str::to_owned)),
                        channel: record.channel.clone(),
                        source: record.source.clone(),
                    },
                    category: record.category.clone().filter(|c| c != "spam"),
                    spam: record.category.as_ref().map(|c| c == "spam"),
                    priority: Some(record.priority.clone()),
                }
            })
            .collect()
    }

    #[test]
    fn the_generated_archive_is_learnable_and_scored_on_held_out_cases() {
        let cases = generated(3_000, 7);
        let analyzer = Analyzer::new(Language::English);
        let models = Models::train(&cases, &analyzer, chrono::Utc::now()).unwrap();
        let category = models.category_report().unwrap();
        let accuracy = category.accuracy().unwrap();
        assert!(
            accuracy >= 0.9,
            "category accuracy {accuracy}\n{}",
            category.held_out.render()
        );
        let spam = models.spam_report().unwrap();
        let scores = spam.held_out.scores();
        let spam_row = scores.iter().find(|s| s.label == "spam").unwrap();
        let ham_row = scores.iter().find(|s| s.label == "ham").unwrap();
        assert!(
            spam_row.recall.unwrap() >= 0.95,
            "{}",
            spam.held_out.render()
        );
        assert!(
            ham_row.recall.unwrap() >= 0.99,
            "{}",
            spam.held_out.render()
        );
        // The held-out cases were not learned from: their count is a fifth.
        let held_out = category.held_out.total() as f32;
        let labelled = cases.iter().filter(|c| c.category.is_some()).count() as f32;
        assert!(
            (held_out / labelled - 0.2).abs() < 0.03,
            "{held_out} of {labelled}"
        );
        // A model compared with itself is at least as good.
        let terms = terms_of(&cases, &analyzer);
        let own = models.scores_on(&cases, &terms);
        assert!(own.at_least(&own));
        assert_eq!(own.category, Some(accuracy));
        eprintln!("category {accuracy:.3}\n{}", category.held_out.render());
        eprintln!("spam\n{}", spam.held_out.render());
        eprintln!(
            "priority {:?}",
            models.priority_report().and_then(|r| r.accuracy())
        );
    }
}
