//! Saved replies: a channel's reply templates, with placeholders filled in
//! from the case, its customer and the agent who inserts one.

use serde::{Deserialize, Serialize};

use super::case::Case;
use super::channel::ChannelId;
use super::user::User;
use super::{RuleError, Timestamp, validate};

pub const NAME_MAX: usize = 100;
pub const BODY_MAX: usize = 20_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedReply {
    pub id: u64,
    pub channel: ChannelId,
    /// What agents type after `/` or `#` to find it.
    pub name: String,
    /// The text, with placeholders such as `{{customer.name}}`.
    pub body: String,
    pub updated_at: Timestamp,
    pub updated_by: String,
}

/// Every placeholder a saved reply may use, with what it stands for.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("customer.name", "the customer's name (or \"there\")"),
    ("customer.email", "the customer's email address"),
    ("case.number", "the case number"),
    ("case.subject", "the case's subject"),
    ("agent.name", "the name of the agent who inserts the reply"),
    ("agent.email", "that agent's email address"),
    ("channel.name", "the case's channel"),
];

/// Checks a saved reply's name and text; unknown placeholders are refused
/// so that a typo never reaches a customer.
pub fn checked(name: &str, body: &str) -> Result<(String, String), RuleError> {
    let name = validate::required_text("name", name, NAME_MAX)?;
    if name.contains(['\n', '\r']) {
        return Err(RuleError::invalid("name", "must be a single line"));
    }
    let body = validate::bounded_text("body", body.trim(), BODY_MAX)?;
    if body.is_empty() {
        return Err(RuleError::invalid("body", "must not be empty"));
    }
    for placeholder in placeholders_in(&body) {
        if !PLACEHOLDERS.iter().any(|(known, _)| *known == placeholder) {
            let known: Vec<String> = PLACEHOLDERS
                .iter()
                .map(|(p, _)| format!("{{{{{p}}}}}"))
                .collect();
            return Err(RuleError::invalid(
                "body",
                format!(
                    "{{{{{placeholder}}}}} is not a placeholder; use {}",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok((name, body))
}

/// The names inside `{{ }}` in `body`, in order.
fn placeholders_in(body: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        found.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    found
}

/// The reply's text for `case`, inserted by `agent`.
pub fn fill(body: &str, case: &Case, agent: &User, channel_name: &str) -> String {
    let customer = case.customer.as_ref();
    let value = |name: &str| -> Option<String> {
        Some(match name {
            "customer.name" => customer
                .and_then(|c| c.name.clone())
                .unwrap_or_else(|| "there".into()),
            "customer.email" => customer.and_then(|c| c.email.clone()).unwrap_or_default(),
            "case.number" => case.number.to_string(),
            "case.subject" => case.subject.clone(),
            "agent.name" => agent.display_name.clone(),
            "agent.email" => agent.email.clone().unwrap_or_default(),
            "channel.name" => channel_name.to_owned(),
            _ => return None,
        })
    };
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        match value(after[..end].trim()) {
            Some(filled) => out.push_str(&filled),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::{CaseDraft, Customer, Source};

    fn case() -> Case {
        CaseDraft {
            subject: "Printer on fire".into(),
            customer: Some(Customer {
                name: Some("Jane".into()),
                email: Some("jane@example.com".into()),
                ..Default::default()
            }),
            ..Default::default()
        }
        .into_case(42, 1, "amy", Source::Manual, chrono::Utc::now())
        .unwrap()
    }

    #[test]
    fn placeholders_are_filled_and_unknown_ones_refused() {
        let agent = User {
            username: "amy".into(),
            display_name: "Amy Agent".into(),
            email: None,
            role: crate::domain::user::Role::User,
            password_hash: String::new(),
            created_at: chrono::Utc::now(),
            deactivated_at: None,
            second_factor: None,
            pending_second_factor: None,
        };
        let text = fill(
            "Hi {{customer.name}}, about #{{ case.number }} ({{case.subject}}): {{agent.name}}, {{channel.name}}",
            &case(),
            &agent,
            "Support",
        );
        assert_eq!(
            text,
            "Hi Jane, about #42 (Printer on fire): Amy Agent, Support"
        );
        assert!(checked("Thanks", "Hi {{customer.nmae}}").is_err());
        assert!(checked("Thanks", "Hi {{customer.name}}").is_ok());
        assert!(checked("", "x").is_err());
        assert!(checked("a\nb", "x").is_err());
        assert!(checked("x", "   ").is_err());
        // An unclosed brace is text.
        assert_eq!(fill("{{ oops", &case(), &agent, "S"), "{{ oops");
    }
}
