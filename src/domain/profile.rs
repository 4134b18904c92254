//! Case profiles: the extra fields a case of a given type carries (an order
//! number for a complaint, a model for a repair), declared by scripts and
//! checked here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a profile field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Number,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// One of the field's `choices`.
    Choice,
    Boolean,
}

impl FieldKind {
    pub fn parse(value: &str) -> Option<FieldKind> {
        Some(match value {
            "text" => FieldKind::Text,
            "number" => FieldKind::Number,
            "date" => FieldKind::Date,
            "choice" => FieldKind::Choice,
            "boolean" => FieldKind::Boolean,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Date => "date",
            FieldKind::Choice => "choice",
            FieldKind::Boolean => "boolean",
        }
    }
}

/// One field of a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileField {
    /// The key in a case's `profile` object.
    pub name: String,
    /// What people see.
    pub label: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    /// For `choice` fields.
    #[serde(default)]
    pub choices: Vec<String>,
}

/// A case's profile values, by field name.
pub type ProfileValues = BTreeMap<String, serde_json::Value>;

/// The longest text value a profile field takes.
pub const TEXT_MAX: usize = 2_000;

/// A value that was refused, named by its place in the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

fn problem(name: &str, message: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field: format!("profile.{name}"),
        message: message.into(),
    }
}

/// Checks one value against its field; `Ok(None)` clears the field.
fn check_value(
    field: &ProfileField,
    value: &serde_json::Value,
) -> Result<Option<serde_json::Value>, String> {
    use serde_json::Value;
    if value.is_null() {
        return Ok(None);
    }
    let checked = match field.kind {
        FieldKind::Text => match value {
            Value::String(text) => {
                let text = text.trim();
                if text.chars().count() > TEXT_MAX {
                    return Err(format!("is longer than {TEXT_MAX} characters"));
                }
                if text.is_empty() {
                    return Ok(None);
                }
                Value::String(text.to_owned())
            }
            _ => return Err("must be text".into()),
        },
        FieldKind::Number => match value {
            Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => value.clone(),
            Value::String(s) => match s.trim().parse::<f64>() {
                Ok(n) if n.is_finite() => serde_json::json!(n),
                _ => return Err(format!("'{s}' is not a number")),
            },
            _ => return Err("must be a number".into()),
        },
        FieldKind::Date => match value {
            Value::String(s) => match chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
                Ok(day) => Value::String(day.format("%Y-%m-%d").to_string()),
                Err(_) => return Err(format!("'{s}' is not a date (YYYY-MM-DD)")),
            },
            _ => return Err("must be a date (YYYY-MM-DD)".into()),
        },
        FieldKind::Choice => match value {
            Value::String(s) if field.choices.iter().any(|c| c == s) => value.clone(),
            _ => {
                return Err(format!("must be one of: {}", field.choices.join(", ")));
            }
        },
        FieldKind::Boolean => match value {
            Value::Bool(_) => value.clone(),
            _ => return Err("must be true or false".into()),
        },
    };
    Ok(Some(checked))
}

/// Merges `changes` into `current` for a case whose profile has `fields`,
/// reporting every refused value at once. A `null` clears a field. Values
/// of fields the profile does not declare are refused; values kept from
/// before that the profile no longer declares are dropped.
pub fn apply(
    fields: &[ProfileField],
    current: &ProfileValues,
    changes: &ProfileValues,
) -> Result<ProfileValues, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let mut merged = ProfileValues::new();
    for field in fields {
        let value = changes
            .get(&field.name)
            .or_else(|| current.get(&field.name));
        let checked = match value.map(|v| check_value(field, v)) {
            None => None,
            Some(Ok(checked)) => checked,
            Some(Err(message)) => {
                problems.push(problem(&field.name, message));
                continue;
            }
        };
        match checked {
            Some(value) => {
                merged.insert(field.name.clone(), value);
            }
            None if field.required => {
                problems.push(problem(&field.name, format!("{} is required", field.label)))
            }
            None => {}
        }
    }
    for name in changes.keys() {
        if !fields.iter().any(|f| &f.name == name) {
            problems.push(problem(name, "is not a field of this case's profile"));
        }
    }
    if problems.is_empty() {
        Ok(merged)
    } else {
        Err(problems)
    }
}

/// Checks a profile declaration (from a script) for mistakes an admin must
/// fix: empty or repeated names, choice fields without choices.
pub fn check_declaration(case_type: &str, fields: &[ProfileField]) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for field in fields {
        let name = field.name.trim();
        if name.is_empty() || name.len() > 64 {
            return Err(format!(
                "profile '{case_type}': a field name must be 1 to 64 characters"
            ));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "profile '{case_type}': field name '{name}' may use only letters, digits, '_' and '-'"
            ));
        }
        if !seen.insert(name) {
            return Err(format!(
                "profile '{case_type}': field '{name}' is declared twice"
            ));
        }
        if field.kind == FieldKind::Choice && field.choices.is_empty() {
            return Err(format!(
                "profile '{case_type}': choice field '{name}' has no choices"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn complaint() -> Vec<ProfileField> {
        vec![
            ProfileField {
                name: "order".into(),
                label: "Order number".into(),
                kind: FieldKind::Text,
                required: true,
                choices: vec![],
            },
            ProfileField {
                name: "amount".into(),
                label: "Amount".into(),
                kind: FieldKind::Number,
                required: false,
                choices: vec![],
            },
            ProfileField {
                name: "channel".into(),
                label: "Bought in".into(),
                kind: FieldKind::Choice,
                required: false,
                choices: vec!["shop".into(), "online".into()],
            },
            ProfileField {
                name: "bought".into(),
                label: "Bought on".into(),
                kind: FieldKind::Date,
                required: false,
                choices: vec![],
            },
        ]
    }

    fn values(v: serde_json::Value) -> ProfileValues {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn valid_values_are_kept_and_normalised() {
        let merged = apply(
            &complaint(),
            &ProfileValues::new(),
            &values(json!({"order": " A-1 ", "amount": "12.5", "bought": "2026-01-05"})),
        )
        .unwrap();
        assert_eq!(merged["order"], json!("A-1"));
        assert_eq!(merged["amount"], json!(12.5));
        assert_eq!(merged["bought"], json!("2026-01-05"));
    }

    #[test]
    fn every_bad_value_is_named() {
        let problems = apply(
            &complaint(),
            &ProfileValues::new(),
            &values(json!({"amount": "lots", "channel": "phone", "bought": "yesterday", "colour": "red"})),
        )
        .unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "profile.order",
                "profile.amount",
                "profile.channel",
                "profile.bought",
                "profile.colour"
            ]
        );
    }

    #[test]
    fn null_clears_and_required_stays_required() {
        let current = values(json!({"order": "A-1", "amount": 3}));
        let merged = apply(&complaint(), &current, &values(json!({"amount": null}))).unwrap();
        assert!(!merged.contains_key("amount"));
        let problems = apply(&complaint(), &current, &values(json!({"order": null}))).unwrap_err();
        assert_eq!(problems[0].field, "profile.order");
    }

    #[test]
    fn declarations_are_checked() {
        let mut fields = complaint();
        fields[2].choices.clear();
        assert!(check_declaration("complaint", &fields).is_err());
        let mut fields = complaint();
        fields[1].name = "order".into();
        assert!(check_declaration("complaint", &fields).is_err());
        assert!(check_declaration("complaint", &complaint()).is_ok());
    }
}
