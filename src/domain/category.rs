//! Categories: the organisation's labels for kinds of cases. A category
//! flagged auto-resolve (spam, out-of-office replies) closes a new case at
//! once and keeps it from notifying anyone.

use serde::{Deserialize, Serialize};

use super::{RuleError, Timestamp, validate};

pub const NAME_MAX: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    pub name: String,
    #[serde(default)]
    pub auto_resolve: bool,
    /// The AI agent applies this category itself when it is at least this
    /// sure (0–1); below, or when unset, it only suggests it. On the spam
    /// category: the spam probability above which a case is spam.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_threshold: Option<f32>,
    pub created_at: Timestamp,
}

/// A category name as stored: trimmed, one line, bounded.
pub fn valid_name(name: &str) -> Result<String, RuleError> {
    let name = validate::required_text("name", name, NAME_MAX)?;
    if name.contains(['\n', '\r', '/']) {
        return Err(RuleError::invalid("name", "must be one line without '/'"));
    }
    Ok(name)
}

/// An AI threshold: a confidence strictly between 0 and 1.
pub fn valid_threshold(value: f32) -> Result<f32, RuleError> {
    if value.is_finite() && value > 0.0 && value < 1.0 {
        Ok(value)
    } else {
        Err(RuleError::invalid(
            "ai_threshold",
            "must be a confidence between 0 and 1, such as 0.9",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(valid_name("  Spam ").unwrap(), "Spam");
        assert!(valid_name("").is_err());
        assert!(valid_name("a/b").is_err());
        assert!(valid_name(&"x".repeat(NAME_MAX + 1)).is_err());
    }
}
