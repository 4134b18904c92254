//! How background work that failed is tried again: one policy type for
//! every queue (outgoing mail, Slack and Meta posts, call recordings) and
//! for reconnecting IMAP intake. Each kind of work has its own pace; the
//! rule is the same: a first delay that doubles after each failure up to a
//! cap, and a number of attempts after which the work is given up.

/// A retry schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Seconds to wait after the first failure.
    pub first_delay_secs: i64,
    /// The longest wait between two attempts.
    pub max_delay_secs: i64,
    /// Attempts before giving up; `None` never gives up.
    pub max_attempts: Option<u32>,
}

impl RetryPolicy {
    /// Outgoing mail: 30 s doubling to an hour, ten attempts.
    pub const MAIL: RetryPolicy = RetryPolicy::limited(30, 3600, 10);
    /// Posts to Slack and replies through Meta's Graph API: 2 s doubling
    /// to ten minutes, ten attempts (about seventeen minutes in all).
    pub const POST: RetryPolicy = RetryPolicy::limited(2, 600, 10);
    /// Call recordings: 20 s doubling to about three quarters of an hour,
    /// ten attempts.
    pub const RECORDING: RetryPolicy = RetryPolicy::limited(20, 2560, 10);
    /// Reconnecting a channel's IMAP intake: 4 s doubling to five
    /// minutes, for as long as the channel has IMAP settings.
    pub const IMAP: RetryPolicy = RetryPolicy {
        first_delay_secs: 4,
        max_delay_secs: 300,
        max_attempts: None,
    };

    const fn limited(first_delay_secs: i64, max_delay_secs: i64, attempts: u32) -> RetryPolicy {
        RetryPolicy {
            first_delay_secs,
            max_delay_secs,
            max_attempts: Some(attempts),
        }
    }

    /// Seconds to wait after `failures` failed attempts (1 or more).
    pub fn delay_secs(&self, failures: u32) -> i64 {
        let doublings = failures.saturating_sub(1).min(30);
        self.first_delay_secs
            .saturating_mul(1_i64 << doublings)
            .min(self.max_delay_secs)
    }

    /// Whether work that failed `failures` times is given up.
    pub fn gives_up(&self, failures: u32) -> bool {
        self.max_attempts.is_some_and(|max| failures >= max)
    }

    /// What to do after a failure: `Some(delay)` to try again, `None` to
    /// give up (the failure was permanent, or the attempts are spent).
    pub fn after_failure(&self, failures: u32, permanent: bool) -> Option<i64> {
        (!permanent && !self.gives_up(failures)).then(|| self.delay_secs(failures))
    }
}

#[cfg(test)]
mod tests {
    use super::RetryPolicy;

    #[test]
    fn delays_double_up_to_the_cap() {
        let mail = RetryPolicy::MAIL;
        assert_eq!(mail.delay_secs(1), 30);
        assert_eq!(mail.delay_secs(2), 60);
        assert_eq!(mail.delay_secs(3), 120);
        assert_eq!(mail.delay_secs(8), 3600);
        assert_eq!(mail.delay_secs(40), 3600);
        assert_eq!(RetryPolicy::POST.delay_secs(1), 2);
        assert_eq!(RetryPolicy::POST.delay_secs(30), 600);
        let recording: Vec<i64> = (1..=10)
            .map(|n| RetryPolicy::RECORDING.delay_secs(n))
            .collect();
        assert_eq!(
            recording,
            [20, 40, 80, 160, 320, 640, 1280, 2560, 2560, 2560]
        );
        assert_eq!(RetryPolicy::IMAP.delay_secs(1), 4);
        assert_eq!(RetryPolicy::IMAP.delay_secs(9), 300);
    }

    #[test]
    fn work_is_given_up_when_permanent_or_out_of_attempts() {
        let post = RetryPolicy::POST;
        assert!(post.delay_secs(1) < post.delay_secs(2));
        assert!(post.delay_secs(3) < post.delay_secs(5));
        assert_eq!(post.after_failure(1, false), Some(2));
        assert_eq!(post.after_failure(1, true), None);
        assert_eq!(post.after_failure(9, false), Some(512));
        assert_eq!(post.after_failure(10, false), None);
        assert_eq!(RetryPolicy::IMAP.after_failure(1000, false), Some(300));
    }
}
