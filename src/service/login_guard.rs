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

    /// Starts a login attempt: `Err(seconds)` when the caller must wait.
    /// The attempt counts as a failure until [`LoginGuard::succeeded`] says
    /// otherwise, so that parallel guesses cannot all slip past the check
    /// while their passwords are being verified.
    pub fn begin(&self, username: &str, address: Option<&str>) -> Result<(), u64> {
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
        let keys = Self::keys(username, address);
        for (key, factor) in &keys {
            if let Some(times) = failures.get_mut(key) {
                times.retain(|t| now.duration_since(*t) < self.window);
                if times.len() as u64 >= u64::from(self.max_failures) * u64::from(*factor) {
                    let oldest = times.front().copied().unwrap_or(now);
                    let wait = self.window.saturating_sub(now.duration_since(oldest));
                    return Err(wait.as_secs().max(1));
                }
            }
        }
        for (key, _) in keys {
            failures.entry(key).or_default().push_back(now);
        }
        Ok(())
    }

    /// The attempt begun by [`LoginGuard::begin`] succeeded: forget the
    /// username's failures and take back the attempt from the address.
    pub fn succeeded(&self, username: &str, address: Option<&str>) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let [(user_key, _), (address_key, _)] = Self::keys(username, address);
        failures.remove(&user_key);
        if let Some(times) = failures.get_mut(&address_key) {
            times.pop_back();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_failures_and_success_resets() {
        let guard = LoginGuard::new(2, Duration::from_secs(60));
        assert!(guard.begin("amy", Some("1.2.3.4")).is_ok());
        assert!(guard.begin("amy", Some("1.2.3.4")).is_ok());
        let wait = guard.begin("amy", Some("1.2.3.4")).unwrap_err();
        assert!((1..=60).contains(&wait));
        assert!(guard.begin("bob", Some("5.6.7.8")).is_ok());
        guard.succeeded("amy", Some("1.2.3.4"));
        assert!(guard.begin("amy", Some("1.2.3.4")).is_ok());
    }

    #[test]
    fn successful_logins_do_not_use_up_the_address() {
        let guard = LoginGuard::new(1, Duration::from_secs(60));
        for user in ["a", "b", "c", "d", "e", "f"] {
            assert!(guard.begin(user, Some("10.0.0.1")).is_ok(), "{user}");
            guard.succeeded(user, Some("10.0.0.1"));
        }
    }
}
