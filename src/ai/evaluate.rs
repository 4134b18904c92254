//! How well a classifier does on cases it did not learn from: a confusion
//! matrix, and accuracy, precision and recall read from it.

use serde::{Deserialize, Serialize};

/// Counts of (actual, predicted) label pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confusion {
    pub labels: Vec<String>,
    /// `counts[actual][predicted]`.
    pub counts: Vec<Vec<u32>>,
}

/// One label's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelScore {
    pub label: String,
    /// Of the cases predicted as this label, the share that were; none
    /// when nothing was predicted as it.
    pub precision: Option<f32>,
    /// Of the cases that were this label, the share predicted so; none
    /// when no held-out case was.
    pub recall: Option<f32>,
    /// Held-out cases of this label.
    pub held_out: u32,
}

impl Confusion {
    pub fn new(labels: Vec<String>) -> Confusion {
        let n = labels.len();
        Confusion {
            labels,
            counts: vec![vec![0; n]; n],
        }
    }

    pub fn record(&mut self, actual: usize, predicted: usize) {
        self.counts[actual][predicted] += 1;
    }

    /// Adds another matrix over the same labels (the folds of a
    /// cross-validation).
    pub fn add(&mut self, other: &Confusion) {
        for (row, other_row) in self.counts.iter_mut().zip(&other.counts) {
            for (cell, other_cell) in row.iter_mut().zip(other_row) {
                *cell += other_cell;
            }
        }
    }

    pub fn total(&self) -> u32 {
        self.counts.iter().flatten().sum()
    }

    /// The share of cases predicted right; none without cases.
    pub fn accuracy(&self) -> Option<f32> {
        let total = self.total();
        let right: u32 = (0..self.labels.len()).map(|i| self.counts[i][i]).sum();
        (total > 0).then(|| right as f32 / total as f32)
    }

    pub fn scores(&self) -> Vec<LabelScore> {
        (0..self.labels.len())
            .map(|i| {
                let predicted: u32 = self.counts.iter().map(|row| row[i]).sum();
                let actual: u32 = self.counts[i].iter().sum();
                let right = self.counts[i][i];
                LabelScore {
                    label: self.labels[i].clone(),
                    precision: (predicted > 0).then(|| right as f32 / predicted as f32),
                    recall: (actual > 0).then(|| right as f32 / actual as f32),
                    held_out: actual,
                }
            })
            .collect()
    }

    /// The matrix as a table for a terminal: a row per actual label, a
    /// column per predicted one.
    pub fn render(&self) -> String {
        let width = self
            .labels
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0)
            .max(6);
        let mut out = format!("{:width$}  predicted →\n", "actual ↓");
        out.push_str(&format!("{:width$}", ""));
        for label in &self.labels {
            out.push_str(&format!(" {:>width$}", label));
        }
        out.push('\n');
        for (label, row) in self.labels.iter().zip(&self.counts) {
            out.push_str(&format!("{label:width$}"));
            for cell in row {
                out.push_str(&format!(" {cell:>width$}"));
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_from_the_matrix() {
        let mut m = Confusion::new(vec!["spam".into(), "ham".into()]);
        for _ in 0..9 {
            m.record(0, 0);
        }
        m.record(0, 1);
        for _ in 0..89 {
            m.record(1, 1);
        }
        m.record(1, 0);
        assert_eq!(m.accuracy(), Some(0.98));
        let spam = &m.scores()[0];
        assert_eq!(spam.recall, Some(0.9));
        assert_eq!(spam.precision, Some(0.9));
        assert_eq!(spam.held_out, 10);
        assert!(m.render().contains("spam"));
        assert_eq!(Confusion::new(vec!["a".into()]).accuracy(), None);
    }
}
