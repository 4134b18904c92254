//! The bench's report: each figure beside its target, and the arithmetic
//! behind the figures.

use super::*;

/// One measured figure, with its target when the issue sets one.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Figure {
    pub(super) name: String,
    pub(super) value: f64,
    pub(super) unit: &'static str,
    pub(super) target: Option<String>,
    pub(super) met: Option<bool>,
}

#[derive(Default)]
pub(super) struct Report {
    pub(super) figures: Vec<Figure>,
}

impl Report {
    pub(super) fn add(&mut self, name: impl Into<String>, value: f64, unit: &'static str) {
        self.figures.push(Figure {
            name: name.into(),
            value,
            unit,
            target: None,
            met: None,
        });
    }

    /// A figure that should be at most `limit`.
    pub(super) fn at_most(
        &mut self,
        name: impl Into<String>,
        value: f64,
        unit: &'static str,
        limit: f64,
    ) {
        self.figures.push(Figure {
            name: name.into(),
            value,
            unit,
            target: Some(format!("≤ {limit}")),
            met: Some(value <= limit),
        });
    }

    /// A figure that should be at least `limit`.
    pub(super) fn at_least(
        &mut self,
        name: impl Into<String>,
        value: f64,
        unit: &'static str,
        limit: f64,
    ) {
        self.figures.push(Figure {
            name: name.into(),
            value,
            unit,
            target: Some(format!("≥ {limit}")),
            met: Some(value >= limit),
        });
    }

    pub(super) fn print(&self, json: bool) {
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&self.figures).unwrap_or_default()
            );
            return;
        }
        println!(
            "{:<58} {:>12} {:<6} {:>10}",
            "figure", "measured", "unit", "target"
        );
        for f in &self.figures {
            let mark = match f.met {
                Some(true) => "ok",
                Some(false) => "MISSED",
                None => "",
            };
            let value = if f.value >= 100.0 {
                format!("{:.0}", f.value)
            } else {
                format!("{:.3}", f.value)
            };
            println!(
                "{:<58} {:>12} {:<6} {:>10} {}",
                f.name,
                value,
                f.unit,
                f.target.as_deref().unwrap_or(""),
                mark
            );
        }
    }
}

pub(super) fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Latency percentiles in milliseconds.
pub(super) struct Latencies(pub(super) Vec<Duration>);

impl Latencies {
    pub(super) fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort();
        if sorted.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
        millis(sorted[rank.min(sorted.len() - 1)])
    }
}

pub(super) fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    };
    entries
        .filter_map(Result::ok)
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                dir_size(&p)
            } else {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            }
        })
        .sum()
}
