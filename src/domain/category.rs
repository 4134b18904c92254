//! Categories: the organisation's labels for kinds of cases. A category
//! flagged auto-resolve (spam, out-of-office replies) closes a new case at
//! once and keeps it from notifying anyone.

use serde::{Deserialize, Serialize};

use super::{RuleError, Timestamp, validate};

pub const NAME_MAX: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    pub name: String,
    #[serde(default)]
    pub auto_resolve: bool,
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
