//! Satisfaction ratings: after a case is resolved the customer may rate the
//! answer good or bad, once per resolution, through a signed link that needs
//! no sign-in.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::case::CaseNumber;
use super::{RuleError, Timestamp};

/// How the customer found the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    Good,
    Bad,
}

impl Rating {
    pub fn parse(text: &str) -> Result<Rating, RuleError> {
        match text.trim() {
            "good" => Ok(Rating::Good),
            "bad" => Ok(Rating::Bad),
            _ => Err(RuleError::invalid("rating", "use good or bad")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Good => "good",
            Rating::Bad => "bad",
        }
    }
}

/// One rating, of the resolution that `resolution` (the sequence of its
/// `closed` event) names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SatisfactionRating {
    pub resolution: u64,
    pub rating: Rating,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub at: Timestamp,
}

/// The longest comment kept.
pub const COMMENT_MAX: usize = 2000;

/// What a rating link names: a case and one of its resolutions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RatingLink {
    pub case: CaseNumber,
    pub resolution: u64,
}

/// Bytes of the MAC kept in a link: 128 bits cannot be guessed.
const MAC_BYTES: usize = 16;

impl RatingLink {
    /// The link's token: `case-resolution-mac`, the MAC in hex.
    pub fn token(self, key: &[u8]) -> String {
        let mac = self.mac(key);
        format!(
            "{}-{}-{}",
            self.case,
            self.resolution,
            hex::encode(&mac[..MAC_BYTES])
        )
    }

    /// The link a token stands for, if the server signed it.
    pub fn verify(token: &str, key: &[u8]) -> Option<RatingLink> {
        let mut parts = token.trim().splitn(3, '-');
        let case = parts.next()?.parse().ok()?;
        let resolution = parts.next()?.parse().ok()?;
        let given = hex::decode(parts.next()?).ok()?;
        let link = RatingLink { case, resolution };
        link.hasher(key)
            .verify_truncated_left(&given)
            .ok()
            .filter(|_| given.len() == MAC_BYTES)
            .map(|_| link)
    }

    fn hasher(self, key: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(format!("rating:{}:{}", self.case, self.resolution).as_bytes());
        mac
    }

    fn mac(self, key: &[u8]) -> Vec<u8> {
        self.hasher(key).finalize().into_bytes().to_vec()
    }
}

/// Checks a comment: trimmed, not empty, not too long.
pub fn checked_comment(text: &str) -> Result<String, RuleError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(RuleError::invalid(
            "comment",
            "write a comment or leave the page",
        ));
    }
    if text.chars().count() > COMMENT_MAX {
        return Err(RuleError::invalid(
            "comment",
            format!("at most {COMMENT_MAX} characters"),
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_link_verifies_and_a_changed_one_does_not() {
        let key = [7u8; 32];
        let link = RatingLink {
            case: 42,
            resolution: 9,
        };
        let token = link.token(&key);
        assert_eq!(RatingLink::verify(&token, &key), Some(link));
        assert_eq!(RatingLink::verify(&token, &[8u8; 32]), None);
        let other_case = token.replacen("42-", "43-", 1);
        assert_eq!(RatingLink::verify(&other_case, &key), None);
        let other_resolution = token.replacen("-9-", "-10-", 1);
        assert_eq!(RatingLink::verify(&other_resolution, &key), None);
        let short = &token[..token.len() - 2];
        assert_eq!(RatingLink::verify(short, &key), None);
        assert_eq!(RatingLink::verify("42-9-", &key), None);
        assert_eq!(RatingLink::verify("garbage", &key), None);
    }

    #[test]
    fn ratings_and_comments_are_checked() {
        assert_eq!(Rating::parse("good").unwrap(), Rating::Good);
        assert!(Rating::parse("great").is_err());
        assert!(checked_comment("  ").is_err());
        assert!(checked_comment(&"x".repeat(COMMENT_MAX + 1)).is_err());
        assert_eq!(checked_comment(" fine ").unwrap(), "fine");
    }
}
