//! People who log in, and their organisation-wide role.

use serde::{Deserialize, Serialize};

use super::case::wire_enum;
use super::{RuleError, Timestamp, validate};

pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 1024;

wire_enum!(
    /// Organisation-wide role.
    Role, "role" {
        Admin => "admin",
        User => "user",
        Partner => "partner",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    /// PHC string of an argon2id hash.
    pub password_hash: String,
    pub created_at: Timestamp,
    /// Set while the account is deactivated: no login, no working token;
    /// its cases and history stay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deactivated_at: Option<Timestamp>,
    /// Two-factor sign-in, once enrolled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_factor: Option<super::second_factor::SecondFactor>,
    /// A secret being enrolled: it becomes the second factor with its
    /// first correct code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_second_factor: Option<String>,
}

impl User {
    pub fn is_active(&self) -> bool {
        self.deactivated_at.is_none()
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn is_partner(&self) -> bool {
        self.role == Role::Partner
    }
}

/// Usernames are lowercase ASCII letters, digits, `.`, `_` and `-`, starting
/// with a letter or digit: safe in URLs, mail addresses and filter syntax.
pub fn username(value: &str) -> Result<String, RuleError> {
    let value = value.trim();
    let valid = (1..=64).contains(&value.len())
        && value.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    // Reserved words in the API's filter parameters.
    if valid && !matches!(value, "me" | "none") {
        Ok(value.to_owned())
    } else {
        Err(RuleError::invalid(
            "username",
            format!(
                "'{value}' is not a valid username: use 1 to 64 lowercase letters, digits, '.', '_' or '-', \
                 starting with a letter or digit ('me' and 'none' are reserved)"
            ),
        ))
    }
}

pub fn password(value: &str) -> Result<(), RuleError> {
    let length = value.chars().count();
    if length < PASSWORD_MIN {
        return Err(RuleError::invalid(
            "password",
            format!("must be at least {PASSWORD_MIN} characters"),
        ));
    }
    if length > PASSWORD_MAX {
        return Err(RuleError::invalid(
            "password",
            format!("must be at most {PASSWORD_MAX} characters"),
        ));
    }
    Ok(())
}

pub fn display_name(value: Option<&str>, username: &str) -> Result<String, RuleError> {
    Ok(
        validate::optional_label("display_name", value, 200)?
            .unwrap_or_else(|| username.to_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_url_safe_and_not_reserved() {
        assert_eq!(username(" jane.doe ").unwrap(), "jane.doe");
        for bad in ["", "Jane", "-jane", "jane doe", "me", "none", "ja/ne"] {
            assert!(username(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn passwords_have_a_minimum_length() {
        assert!(password("short").is_err());
        assert!(password("long enough").is_ok());
    }
}
