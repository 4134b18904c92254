//! What the classifiers see of a case: the terms of its subject and first
//! customer message (by the search index's analyser), the sender's
//! domain, the channel and the source, counted into one shared vocabulary.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::search::Analyzer;

/// Characters of the first message read; the opening says what a case is
/// about, and long bodies are mostly quotes and signatures.
pub const BODY_CHARS: usize = 2_000;
/// A term must occur in this many training cases to be a feature.
const MIN_CASES: u32 = 2;
/// The most features a vocabulary keeps (the most widespread terms).
const MAX_FEATURES: usize = 40_000;

/// A case as the classifiers read it.
#[derive(Debug, Clone, Default)]
pub struct Document {
    pub subject: String,
    /// The first customer message, or the description.
    pub body: String,
    /// The domain of the customer's address (`example.com`).
    pub sender_domain: Option<String>,
    pub channel: String,
    pub source: String,
}

/// Turns documents into terms. Each worker thread keeps its own.
#[derive(Clone)]
pub struct Featurizer {
    analyzer: Analyzer,
}

impl Featurizer {
    pub fn new(analyzer: Analyzer) -> Featurizer {
        Featurizer { analyzer }
    }

    /// The document's terms. Subject terms count twice: a subject says in
    /// a few words what a body says in many.
    pub fn terms(&mut self, doc: &Document) -> Vec<String> {
        let mut terms = Vec::new();
        for _ in 0..2 {
            self.analyzer
                .terms(&doc.subject, |t| terms.push(t.to_owned()));
        }
        let body: String = doc.body.chars().take(BODY_CHARS).collect();
        self.analyzer.terms(&body, |t| terms.push(t.to_owned()));
        if let Some(domain) = &doc.sender_domain {
            terms.push(format!("@{}", domain.to_ascii_lowercase()));
        }
        terms.push(format!("#channel:{}", doc.channel.to_lowercase()));
        terms.push(format!("#source:{}", doc.source));
        terms
    }
}

/// Many documents' terms, each term stored once: a document is a list of
/// term numbers. Holding a large archive's terms as strings would take
/// gigabytes.
#[derive(Debug, Default)]
pub struct Corpus {
    names: Vec<String>,
    numbers: HashMap<String, u32>,
    docs: Vec<Vec<u32>>,
}

impl Corpus {
    /// Adds a document; returns its index.
    pub fn push(&mut self, terms: impl IntoIterator<Item = String>) -> usize {
        let doc = terms
            .into_iter()
            .map(|term| match self.numbers.get(&term) {
                Some(&n) => n,
                None => {
                    let n = self.names.len() as u32;
                    self.names.push(term.clone());
                    self.numbers.insert(term, n);
                    n
                }
            })
            .collect();
        self.docs.push(doc);
        self.docs.len() - 1
    }

    /// Appends another corpus's documents, in order.
    pub fn extend(&mut self, other: Corpus) {
        let Corpus { names, docs, .. } = other;
        let renumber: Vec<u32> = names
            .into_iter()
            .map(|name| match self.numbers.get(&name) {
                Some(&n) => n,
                None => {
                    let n = self.names.len() as u32;
                    self.names.push(name.clone());
                    self.numbers.insert(name, n);
                    n
                }
            })
            .collect();
        self.docs.extend(
            docs.into_iter()
                .map(|doc| doc.into_iter().map(|t| renumber[t as usize]).collect()),
        );
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    pub fn doc(&self, index: usize) -> &[u32] {
        &self.docs[index]
    }
}

/// Feature numbers of the terms a model knows.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Vocabulary {
    index: HashMap<String, u32>,
}

/// A document as counts of known features, sorted by feature.
pub type Counts = Vec<(u32, f32)>;

impl Vocabulary {
    /// The terms found in at least [`MIN_CASES`] of the documents `docs`
    /// of `corpus`, the most widespread first, at most [`MAX_FEATURES`].
    pub fn build(corpus: &Corpus, docs: impl Iterator<Item = usize>) -> Vocabulary {
        let mut cases = vec![0u32; corpus.names.len()];
        let mut seen = Vec::new();
        for doc in docs {
            seen.clear();
            seen.extend_from_slice(corpus.doc(doc));
            seen.sort_unstable();
            seen.dedup();
            for &term in &seen {
                cases[term as usize] += 1;
            }
        }
        let mut kept: Vec<(&str, u32)> = cases
            .iter()
            .enumerate()
            .filter(|(_, count)| **count >= MIN_CASES)
            .map(|(term, count)| (corpus.names[term].as_str(), *count))
            .collect();
        // Ties by term, so the same cases always give the same features.
        kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        kept.truncate(MAX_FEATURES);
        Vocabulary {
            index: kept
                .into_iter()
                .enumerate()
                .map(|(i, (term, _))| (term.to_owned(), i as u32))
                .collect(),
        }
    }

    /// Each of `corpus`'s term numbers as this vocabulary's feature.
    pub fn mapping(&self, corpus: &Corpus) -> Vec<Option<u32>> {
        corpus
            .names
            .iter()
            .map(|name| self.index.get(name).copied())
            .collect()
    }

    /// A corpus document's counts under `mapping` (from [`Self::mapping`]).
    pub fn counts_of(doc: &[u32], mapping: &[Option<u32>]) -> Counts {
        Self::sublinear(doc.iter().filter_map(|t| mapping[*t as usize]))
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// The document's known features with sublinear counts (1 + ln n):
    /// a word said ten times is stronger evidence than one said once, but
    /// not ten times stronger.
    pub fn counts(&self, terms: &[String]) -> Counts {
        Self::sublinear(terms.iter().filter_map(|t| self.index.get(t).copied()))
    }

    fn sublinear(features: impl Iterator<Item = u32>) -> Counts {
        let mut raw: HashMap<u32, u32> = HashMap::new();
        for i in features {
            *raw.entry(i).or_default() += 1;
        }
        let mut counts: Counts = raw
            .into_iter()
            .map(|(i, n)| (i, 1.0 + (n as f32).ln()))
            .collect();
        counts.sort_unstable_by_key(|(i, _)| *i);
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::Language;

    #[test]
    fn terms_are_the_search_terms_plus_sender_channel_and_source() {
        let mut f = Featurizer::new(Analyzer::new(Language::English));
        let terms = f.terms(&Document {
            subject: "Invoices".into(),
            body: "I was charged twice".into(),
            sender_domain: Some("Example.COM".into()),
            channel: "Billing".into(),
            source: "email".into(),
        });
        assert_eq!(
            terms,
            [
                "invoic",
                "invoic",
                "i",
                "was",
                "charg",
                "twice",
                "@example.com",
                "#channel:billing",
                "#source:email"
            ]
        );
    }

    #[test]
    fn the_vocabulary_keeps_terms_seen_in_two_cases_and_counts_sublinearly() {
        let docs: Vec<Vec<String>> = [
            vec!["refund", "refund", "late"],
            vec!["refund", "once"],
            vec!["late"],
        ]
        .iter()
        .map(|d| d.iter().map(|t| t.to_string()).collect())
        .collect();
        let mut corpus = Corpus::default();
        for doc in &docs {
            corpus.push(doc.iter().cloned());
        }
        let vocabulary = Vocabulary::build(&corpus, 0..corpus.len());
        assert_eq!(vocabulary.len(), 2, "'once' is in one case only");
        let counts = vocabulary.counts(&docs[0]);
        assert_eq!(
            Vocabulary::counts_of(corpus.doc(0), &vocabulary.mapping(&corpus)),
            counts,
            "a corpus document counts as its terms do"
        );
        // Corpora merge with their terms renumbered.
        let mut other = Corpus::default();
        other.push(["late".to_string(), "new".to_string()]);
        corpus.extend(other);
        assert_eq!(corpus.len(), 4);
        assert_eq!(corpus.doc(3)[0], corpus.doc(0)[2], "'late' is one term");
        assert_eq!(counts.len(), 2);
        let mut values: Vec<f32> = counts.iter().map(|(_, n)| *n).collect();
        values.sort_by(f32::total_cmp);
        assert_eq!(values[0], 1.0, "'late' once");
        assert!(
            (values[1] - (1.0 + 2f32.ln())).abs() < 1e-6,
            "'refund' twice: {counts:?}"
        );
    }
}
