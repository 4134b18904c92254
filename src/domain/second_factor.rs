//! Two-factor sign-in: time-based one-time codes (RFC 6238, as
//! authenticator apps make them) and single-use recovery codes. Pure: the
//! time is passed in.

use serde::{Deserialize, Serialize};
use sha2::Digest;
use totp_rs::{Algorithm, Secret, TOTP};

use super::Timestamp;

/// Seconds per code, digits per code: what every authenticator app uses.
const STEP: u64 = 30;
const DIGITS: usize = 6;
/// How many recovery codes a person is given at a time.
pub const RECOVERY_CODES: usize = 10;
const ISSUER: &str = "Docket";

/// A user's second factor once enrolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactor {
    /// The shared secret, base32 (what the authenticator app holds).
    pub secret: String,
    pub enabled_at: Timestamp,
    /// SHA-256 (hex) of each unused recovery code.
    pub recovery_hashes: Vec<String>,
    /// The time step of the last code accepted: a code works once.
    pub last_step: u64,
}

/// How a second factor was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// A code from the app, at this time step.
    Code { step: u64 },
    /// The recovery code at this position, now used up.
    Recovery { index: usize },
}

/// A fresh random secret, base32.
pub fn new_secret() -> String {
    match Secret::generate_secret().to_encoded() {
        Secret::Encoded(text) => text,
        Secret::Raw(bytes) => Secret::Raw(bytes).to_encoded().to_string(),
    }
}

fn totp(secret: &str, account: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret.to_owned()).to_bytes().ok()?;
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP,
        bytes,
        Some(ISSUER.to_owned()),
        account.to_owned(),
    )
    .ok()
}

/// The `otpauth://` address an authenticator app reads (as a QR code).
pub fn provisioning_url(secret: &str, account: &str) -> Option<String> {
    totp(secret, account).map(|t| t.get_url())
}

/// The code an app would show at `now` (for tests and the bench).
pub fn code_at(secret: &str, now: Timestamp) -> Option<String> {
    totp(secret, "x").map(|t| t.generate(now.timestamp().max(0) as u64))
}

/// Checks a code typed at `now` against the secret: the current step or
/// one either side (clocks drift), and never a step at or before
/// `last_step` (a code seen once cannot be replayed).
pub fn check_code(secret: &str, code: &str, now: Timestamp, last_step: u64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret, "x")?;
    let current = now.timestamp().max(0) as u64 / STEP;
    [current.saturating_sub(1), current, current + 1]
        .into_iter()
        .filter(|step| *step > last_step)
        .find(|step| {
            let expected = totp.generate(step * STEP);
            constant_time_eq(expected.as_bytes(), code.as_bytes())
        })
}

impl SecondFactor {
    /// A code from the app or an unused recovery code.
    pub fn prove(&self, typed: &str, now: Timestamp) -> Option<Proof> {
        if let Some(step) = check_code(&self.secret, typed, now, self.last_step) {
            return Some(Proof::Code { step });
        }
        let hash = recovery_hash(typed);
        self.recovery_hashes
            .iter()
            .position(|stored| constant_time_eq(stored.as_bytes(), hash.as_bytes()))
            .map(|index| Proof::Recovery { index })
    }

    /// Records a proof: the step is spent, or the recovery code is gone.
    pub fn spend(&mut self, proof: Proof) {
        match proof {
            Proof::Code { step } => self.last_step = self.last_step.max(step),
            Proof::Recovery { index } => {
                if index < self.recovery_hashes.len() {
                    self.recovery_hashes.remove(index);
                }
            }
        }
    }
}

/// Ten new recovery codes (shown once) and their hashes (stored).
pub fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let text: String = (0..10)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect();
            format!("{}-{}", &text[..5], &text[5..])
        })
        .collect();
    let hashes = codes.iter().map(|c| recovery_hash(c)).collect();
    (codes, hashes)
}

/// Recovery codes compare without case, spaces or dashes.
fn recovery_hash(typed: &str) -> String {
    let normal: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex::encode(sha2::Sha256::digest(normal.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    // RFC 6238's SHA-1 test secret, "12345678901234567890", in base32.
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn codes_match_the_rfc_test_vectors() {
        let at = chrono::Utc.timestamp_opt(59, 0).unwrap();
        // RFC 6238 gives 94287082 for eight digits; six digits are its end.
        assert_eq!(code_at(RFC_SECRET, at).unwrap(), "287082");
        let at = chrono::Utc.timestamp_opt(1_111_111_109, 0).unwrap();
        assert_eq!(code_at(RFC_SECRET, at).unwrap(), "081804");
    }

    #[test]
    fn a_code_works_once_and_only_near_its_time() {
        let now = chrono::Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let code = code_at(RFC_SECRET, now).unwrap();
        let step = check_code(RFC_SECRET, &code, now, 0).expect("accepted");
        assert!(
            check_code(RFC_SECRET, &code, now, step).is_none(),
            "no replay"
        );
        let later = now + chrono::Duration::minutes(5);
        assert!(check_code(RFC_SECRET, &code, later, 0).is_none());
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert!(check_code(RFC_SECRET, &spaced, now, 0).is_some());
        assert!(check_code(RFC_SECRET, "12345", now, 0).is_none());
    }

    #[test]
    fn recovery_codes_work_once() {
        let (codes, hashes) = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut factor = SecondFactor {
            secret: new_secret(),
            enabled_at: chrono::Utc::now(),
            recovery_hashes: hashes,
            last_step: 0,
        };
        let typed = codes[3].to_uppercase().replace('-', " ");
        let proof = factor.prove(&typed, chrono::Utc::now()).expect("accepted");
        assert_eq!(proof, Proof::Recovery { index: 3 });
        factor.spend(proof);
        assert_eq!(factor.recovery_hashes.len(), RECOVERY_CODES - 1);
        assert!(factor.prove(&codes[3], chrono::Utc::now()).is_none());
        assert!(
            provisioning_url(&factor.secret, "amy")
                .unwrap()
                .starts_with("otpauth://totp/Docket:amy?")
        );
    }
}
