//! Slows down password guessing without letting anyone lock a person out.
//!
//! Failures count per (username, client address): after `max_failures`,
//! each further attempt from that address for that name waits twice as long
//! as the one before (30 s, 1 min, 2 min... at most 15 minutes). Someone guessing
//! elsewhere therefore slows only themselves. Two wider counts catch
//! guessing spread out: one username from many addresses, and one address
//! trying many usernames; they slow only addresses the person has not
//! signed in from before, so a real user at a known address is never kept
//! out. Counts are forgotten a window after their last failure.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::Timestamp;

/// How many keys of each kind are tracked before old ones are swept.
const MAX_TRACKED: usize = 10_000;
/// The first wait once the failures are used up; each further failure
/// doubles it.
const FIRST_WAIT: Duration = Duration::from_secs(30);
/// The longest a single attempt is made to wait.
const LONGEST_WAIT: Duration = Duration::from_secs(15 * 60);
/// One username failing from many addresses: this many times the pair limit
/// before strangers' attempts slow down.
const USER_FACTOR: u32 = 10;
/// One address failing for many usernames.
const ADDRESS_FACTOR: u32 = 20;
/// How long a successful sign-in makes its address known for the user.
const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
/// How many failed sign-ins administrators can look back on.
const RECENT_FAILURES: usize = 1_000;

/// A failed sign-in, as administrators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedSignIn {
    pub at: Timestamp,
    pub username: String,
    pub address: String,
    /// `wrong_password` (or unknown user), `throttled`, `deactivated`,
    /// `second_factor`.
    pub reason: &'static str,
}

#[derive(Debug, Clone, Copy)]
struct Strikes {
    count: u32,
    last: Instant,
}

impl Strikes {
    /// The wait after the last failure, once `count` reached `allowed`:
    /// doubling from [`FIRST_WAIT`].
    fn penalty(&self, allowed: u32) -> Option<Duration> {
        let over = self.count.checked_sub(allowed)?;
        Some((FIRST_WAIT * (1u32 << over.min(10))).min(LONGEST_WAIT))
    }

    /// How long the next attempt must still wait.
    fn wait(&self, allowed: u32, now: Instant) -> Option<Duration> {
        let ready = self.last + self.penalty(allowed)?;
        (now < ready).then(|| ready - now)
    }

    /// Forgotten a window after the last failure, but never before its
    /// wait is over and another window has passed: otherwise waits could
    /// not grow past the window.
    fn forgotten(&self, allowed: u32, window: Duration, now: Instant) -> bool {
        let keep = window + self.penalty(allowed).unwrap_or_default();
        now.duration_since(self.last) >= keep
    }
}

/// The part of a client address that one client controls: an IPv6 client
/// usually holds a whole /64, so counting single addresses would give it
/// endless fresh starts. IPv4-mapped addresses count as IPv4.
pub fn address_key(address: &str) -> String {
    match address
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.to_canonical())
    {
        Ok(std::net::IpAddr::V6(v6)) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
        Ok(v4) => v4.to_string(),
        Err(_) => address.chars().take(64).collect(),
    }
}

#[derive(Default)]
struct Ledger {
    pairs: HashMap<(String, String), Strikes>,
    users: HashMap<String, Strikes>,
    addresses: HashMap<String, Strikes>,
    known: HashMap<(String, String), Instant>,
    recent: VecDeque<FailedSignIn>,
}

pub struct LoginGuard {
    max_failures: u32,
    window: Duration,
    ledger: Mutex<Ledger>,
}

fn fresh<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, Strikes>,
    key: &K,
    allowed: u32,
    window: Duration,
    now: Instant,
) -> Option<Strikes> {
    match map.get(key) {
        Some(s) if s.forgotten(allowed, window, now) => {
            map.remove(key);
            None
        }
        other => other.copied(),
    }
}

fn strike<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Strikes>, key: K, now: Instant) {
    let entry = map.entry(key).or_insert(Strikes {
        count: 0,
        last: now,
    });
    entry.count += 1;
    entry.last = now;
}

fn take_back<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Strikes>, key: &K) {
    if let Some(entry) = map.get_mut(key) {
        entry.count = entry.count.saturating_sub(1);
        if entry.count == 0 {
            map.remove(key);
        }
    }
}

impl LoginGuard {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        LoginGuard {
            max_failures: max_failures.max(1),
            window,
            ledger: Mutex::new(Ledger::default()),
        }
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a login attempt: `Err(seconds)` when the caller must wait.
    /// The attempt counts as a failure until [`LoginGuard::succeeded`] says
    /// otherwise, so that parallel guesses cannot all slip past the check
    /// while their passwords are being verified.
    pub fn begin(&self, username: &str, address: &str) -> Result<(), u64> {
        let now = Instant::now();
        let window = self.window;
        let address = &address_key(address);
        let (pair_limit, user_limit, address_limit) = (
            self.max_failures,
            self.max_failures * USER_FACTOR,
            self.max_failures * ADDRESS_FACTOR,
        );
        let mut ledger = self.ledger();
        if ledger.pairs.len() + ledger.users.len() + ledger.addresses.len() >= MAX_TRACKED {
            ledger
                .pairs
                .retain(|_, s| !s.forgotten(pair_limit, window, now));
            ledger
                .users
                .retain(|_, s| !s.forgotten(user_limit, window, now));
            ledger
                .addresses
                .retain(|_, s| !s.forgotten(address_limit, window, now));
            ledger
                .known
                .retain(|_, at| now.duration_since(*at) < KNOWN_FOR);
        }
        let pair = (username.to_owned(), address.to_owned());
        let known = ledger
            .known
            .get(&pair)
            .is_some_and(|at| now.duration_since(*at) < KNOWN_FOR);
        let mut waits = Vec::new();
        if let Some(s) = fresh(&mut ledger.pairs, &pair, pair_limit, window, now) {
            waits.push(s.wait(pair_limit, now));
        }
        if !known {
            let user = username.to_owned();
            if let Some(s) = fresh(&mut ledger.users, &user, user_limit, window, now) {
                waits.push(s.wait(user_limit, now));
            }
            let from = address.to_owned();
            if let Some(s) = fresh(&mut ledger.addresses, &from, address_limit, window, now) {
                waits.push(s.wait(address_limit, now));
            }
        }
        if let Some(wait) = waits.into_iter().flatten().max() {
            drop(ledger);
            self.record(username, address, "throttled");
            return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
        }
        strike(&mut ledger.pairs, pair, now);
        strike(&mut ledger.users, username.to_owned(), now);
        strike(&mut ledger.addresses, address.to_owned(), now);
        Ok(())
    }

    /// The attempt begun by [`LoginGuard::begin`] succeeded: the pair's
    /// failures are forgotten, the attempt taken back from the wider counts,
    /// and the address becomes known for the user.
    pub fn succeeded(&self, username: &str, address: &str) {
        let address = &address_key(address);
        let mut ledger = self.ledger();
        let pair = (username.to_owned(), address.to_owned());
        ledger.pairs.remove(&pair);
        take_back(&mut ledger.users, &username.to_owned());
        take_back(&mut ledger.addresses, &address.to_owned());
        ledger.known.insert(pair, Instant::now());
    }

    /// Notes a failed sign-in for administrators to see.
    pub fn record(&self, username: &str, address: &str, reason: &'static str) {
        let mut ledger = self.ledger();
        if ledger.recent.len() >= RECENT_FAILURES {
            ledger.recent.pop_front();
        }
        ledger.recent.push_back(FailedSignIn {
            at: chrono::Utc::now(),
            username: username.chars().take(100).collect(),
            address: address.to_owned(),
            reason,
        });
    }

    /// The most recent failed sign-ins, newest first.
    pub fn recent_failures(&self, limit: usize) -> Vec<FailedSignIn> {
        self.ledger()
            .recent
            .iter()
            .rev()
            .take(limit)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: &str = "198.51.100.7";
    const ATTACKER: &str = "203.0.113.9";

    #[test]
    fn a_pair_slows_down_after_its_failures_and_success_resets_it() {
        let guard = LoginGuard::new(2, Duration::from_secs(60));
        assert!(guard.begin("amy", HOME).is_ok());
        assert!(guard.begin("amy", HOME).is_ok());
        let wait = guard.begin("amy", HOME).unwrap_err();
        assert!((29..=30).contains(&wait), "{wait}");
        assert!(
            guard.begin("bob", HOME).is_ok(),
            "another name is not slowed"
        );
        guard.succeeded("amy", HOME);
        assert!(guard.begin("amy", HOME).is_ok());
    }

    #[test]
    fn waits_double_and_are_capped() {
        let now = Instant::now();
        let strikes = |count| Strikes { count, last: now };
        assert_eq!(strikes(5).wait(5, now), Some(Duration::from_secs(30)));
        assert_eq!(strikes(7).wait(5, now), Some(Duration::from_secs(120)));
        assert_eq!(strikes(40).wait(5, now), Some(LONGEST_WAIT));
        assert_eq!(strikes(4).wait(5, now), None);
    }

    #[test]
    fn guessing_from_elsewhere_never_keeps_the_user_out() {
        let guard = LoginGuard::new(5, Duration::from_secs(300));
        assert!(guard.begin("amy", HOME).is_ok());
        guard.succeeded("amy", HOME);
        // Many addresses guessing amy's password push her count far past
        // every limit.
        for attacker in 0..200 {
            let from = format!("203.0.113.{attacker}");
            let _ = guard.begin("amy", &from);
        }
        assert!(guard.begin("amy", ATTACKER).is_err(), "strangers wait");
        assert!(guard.begin("amy", HOME).is_ok(), "amy at home does not");
        guard.succeeded("amy", HOME);
        let recent = guard.recent_failures(10);
        assert_eq!(recent[0].reason, "throttled");
        assert_eq!(recent[0].address, ATTACKER);
    }

    #[test]
    fn a_wait_outlasts_the_window() {
        let now = Instant::now();
        let window = Duration::from_secs(300);
        let long_ago = |count, seconds| Strikes {
            count,
            last: now - Duration::from_secs(seconds),
        };
        // 8 minutes of wait, plus the window, before the count is dropped.
        assert!(!long_ago(9, 400).forgotten(5, window, now));
        assert!(long_ago(9, 800).forgotten(5, window, now));
        assert!(long_ago(2, 300).forgotten(5, window, now));
    }

    #[test]
    fn an_ipv6_client_counts_as_its_64() {
        assert_eq!(
            address_key("2001:db8:1:2::5"),
            address_key("2001:db8:1:2:ffff::9")
        );
        assert_ne!(
            address_key("2001:db8:1:2::5"),
            address_key("2001:db8:1:3::5")
        );
        assert_eq!(address_key("::ffff:203.0.113.9"), "203.0.113.9");
        let guard = LoginGuard::new(2, Duration::from_secs(60));
        assert!(guard.begin("amy", "2001:db8::1").is_ok());
        assert!(guard.begin("amy", "2001:db8::2").is_ok());
        assert!(guard.begin("amy", "2001:db8::3").is_err());
    }

    #[test]
    fn successful_logins_do_not_use_up_the_address() {
        let guard = LoginGuard::new(1, Duration::from_secs(60));
        for user in ["a", "b", "c", "d", "e", "f"] {
            assert!(guard.begin(user, "10.0.0.1").is_ok(), "{user}");
            guard.succeeded(user, "10.0.0.1");
        }
    }
}
