//! Per-hook counts and timings, for the admin page and `/metrics`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// How many recent call times a percentile is computed over.
const WINDOW: usize = 1024;

#[derive(Debug, Default)]
struct HookStats {
    calls: u64,
    failures: u64,
    recent: VecDeque<Duration>,
}

/// What is shown for one hook.
#[derive(Debug, Clone, PartialEq)]
pub struct HookFigures {
    pub hook: String,
    pub calls: u64,
    pub failures: u64,
    /// Over the last 1,024 calls.
    pub p99: Duration,
}

#[derive(Debug, Default)]
pub struct Metrics {
    hooks: Mutex<BTreeMap<&'static str, HookStats>>,
}

impl Metrics {
    pub fn record(&self, hook: &'static str, took: Duration, failed: bool) {
        let mut hooks = self.hooks.lock().unwrap_or_else(|e| e.into_inner());
        let stats = hooks.entry(hook).or_default();
        stats.calls += 1;
        if failed {
            stats.failures += 1;
        }
        if stats.recent.len() == WINDOW {
            stats.recent.pop_front();
        }
        stats.recent.push_back(took);
    }

    pub fn figures(&self) -> Vec<HookFigures> {
        let hooks = self.hooks.lock().unwrap_or_else(|e| e.into_inner());
        super::HOOKS
            .iter()
            .map(|hook| {
                let stats = hooks.get(hook);
                HookFigures {
                    hook: (*hook).to_owned(),
                    calls: stats.map_or(0, |s| s.calls),
                    failures: stats.map_or(0, |s| s.failures),
                    p99: stats.map_or(Duration::ZERO, |s| percentile(&s.recent, 0.99)),
                }
            })
            .collect()
    }
}

fn percentile(samples: &VecDeque<Duration>, quantile: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted: Vec<Duration> = samples.iter().copied().collect();
    sorted.sort_unstable();
    let rank = ((sorted.len() as f64) * quantile).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_p99() {
        let metrics = Metrics::default();
        for ms in 1..=100 {
            metrics.record("route", Duration::from_millis(ms), ms == 100);
        }
        let route = metrics
            .figures()
            .into_iter()
            .find(|f| f.hook == "route")
            .unwrap();
        assert_eq!(route.calls, 100);
        assert_eq!(route.failures, 1);
        assert_eq!(route.p99, Duration::from_millis(99));
    }
}
