//! Slows down password guessing: after too many failures for one username or
//! one client address within a window, further attempts are refused until
//! the oldest failure ages out.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many distinct keys are tracked before old ones are swept.
const MAX_TRACKED: usize = 10_000;
/// An address may fail this many times more often than one username, since
/// several people can share an office's address.
const ADDRESS_FACTOR: u32 = 4;

pub struct LoginGuard {
    max_failures: u32,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginGuard {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        LoginGuard {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(username: &str, address: Option<&str>) -> [(String, u32); 2] {
        [
            (format!("user:{username}"), 1),
            (
                format!("addr:{}", address.unwrap_or("unknown")),
                ADDRESS_FACTOR,
            ),
        ]
    }

    /// `Err(seconds)` when the caller must wait before trying again.
    pub fn check(&self, username: &str, address: Option<&str>) -> Result<(), u64> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for (key, factor) in Self::keys(username, address) {
            if let Some(times) = failures.get_mut(&key) {
                times.retain(|t| now.duration_since(*t) < self.window);
                if times.len() as u32 >= self.max_failures * factor {
                    let oldest = times.front().copied().unwrap_or(now);
                    let wait = self.window.saturating_sub(now.duration_since(oldest));
                    return Err(wait.as_secs().max(1));
                }
            }
        }
        Ok(())
    }

    pub fn record_failure(&self, username: &str, address: Option<&str>) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() >= MAX_TRACKED {
            let window = self.window;
            failures.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < window)
            });
        }
        for (key, _) in Self::keys(username, address) {
            failures.entry(key).or_default().push_back(now);
        }
    }

    /// A successful login forgets the username's failures (not the address's).
    pub fn record_success(&self, username: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.remove(&format!("user:{username}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_failures_and_success_resets() {
        let guard = LoginGuard::new(2, Duration::from_secs(60));
        assert!(guard.check("amy", Some("1.2.3.4")).is_ok());
        guard.record_failure("amy", Some("1.2.3.4"));
        guard.record_failure("amy", Some("1.2.3.4"));
        let wait = guard.check("amy", Some("1.2.3.4")).unwrap_err();
        assert!((1..=60).contains(&wait));
        assert!(guard.check("bob", Some("5.6.7.8")).is_ok());
        guard.record_success("amy");
        assert!(guard.check("amy", Some("1.2.3.4")).is_ok());
    }
}
