//! What the AI agent may decide on its own: a category whose confidence
//! clears the threshold an admin set for it, and spam whose probability
//! clears the spam category's threshold. Anything less is a suggestion a
//! person accepts or ignores.

use serde::{Deserialize, Serialize};

/// Who chose a case's category or priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decider {
    /// A person (agent, manager, admin, partner or an API client).
    Person,
    /// An intake rule (a plugin script).
    Rules,
    /// The AI agent.
    Ai,
}

impl Decider {
    pub fn as_str(self) -> &'static str {
        match self {
            Decider::Person => "person",
            Decider::Rules => "rules",
            Decider::Ai => "ai",
        }
    }
}

/// What the agent's classifiers said about a case.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prediction {
    pub category: Option<(String, f32)>,
    /// The probability that the case is spam.
    pub spam: Option<f32>,
    pub priority: Option<(String, f32)>,
}

/// What the agent said at intake, kept on the case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AiVerdict {
    /// The category it thinks most likely, with its confidence (0–1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// The probability that the case is spam.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spam: Option<f32>,
    /// The priority it suggests (never applied on its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// The category it set itself, when it cleared the threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<String>,
}

impl AiVerdict {
    /// The category it suggests but did not set, unless the case already
    /// has it (`current`).
    pub fn suggestion(&self, current: Option<&str>) -> Option<&str> {
        match (&self.category, &self.applied) {
            (Some(category), None)
                if !current.is_some_and(|c| c.eq_ignore_ascii_case(category)) =>
            {
                Some(category)
            }
            _ => None,
        }
    }
}

/// A category's threshold as the decision needs it.
pub struct Threshold<'a> {
    pub category: &'a str,
    /// Confidence above which the agent applies it; none: only suggest.
    pub apply_above: Option<f32>,
}

/// What the agent does with a prediction for a case that has no
/// category yet: spam at or over the spam category's threshold goes to the spam
/// category; otherwise the most likely category is applied when its
/// confidence is at or over its own threshold, and suggested when not.
pub fn decide(prediction: &Prediction, spam_category: &str, thresholds: &[Threshold]) -> AiVerdict {
    let threshold = |name: &str| {
        thresholds
            .iter()
            .find(|t| t.category.eq_ignore_ascii_case(name))
            .and_then(|t| t.apply_above)
    };
    let mut verdict = AiVerdict {
        category: prediction.category.as_ref().map(|(c, _)| c.clone()),
        confidence: prediction.category.as_ref().map(|(_, p)| *p),
        spam: prediction.spam,
        priority: prediction.priority.as_ref().map(|(p, _)| p.clone()),
        applied: None,
    };
    if let (Some(spam), Some(above)) = (prediction.spam, threshold(spam_category))
        && spam >= above
    {
        verdict.applied = Some(spam_category.to_owned());
        return verdict;
    }
    if let Some((category, confidence)) = &prediction.category
        && let Some(above) = threshold(category)
        && *confidence >= above
    {
        verdict.applied = Some(category.clone());
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prediction(category: &str, confidence: f32, spam: f32) -> Prediction {
        Prediction {
            category: Some((category.into(), confidence)),
            spam: Some(spam),
            priority: Some(("high".into(), 0.6)),
        }
    }

    const THRESHOLDS: &[Threshold] = &[
        Threshold {
            category: "billing",
            apply_above: Some(0.8),
        },
        Threshold {
            category: "login",
            apply_above: None,
        },
        Threshold {
            category: "spam",
            apply_above: Some(0.95),
        },
    ];

    #[test]
    fn applies_over_the_threshold_and_suggests_under_it() {
        let sure = decide(&prediction("billing", 0.9, 0.01), "spam", THRESHOLDS);
        assert_eq!(sure.applied.as_deref(), Some("billing"));
        assert_eq!(sure.suggestion(None), None);
        let unsure = decide(&prediction("billing", 0.7, 0.01), "spam", THRESHOLDS);
        assert_eq!(unsure.applied, None);
        assert_eq!(unsure.suggestion(None), Some("billing"));
        assert_eq!(
            unsure.suggestion(Some("Billing")),
            None,
            "it has it already"
        );
        assert_eq!(unsure.priority.as_deref(), Some("high"));
    }

    #[test]
    fn a_category_without_a_threshold_is_only_ever_suggested() {
        let verdict = decide(&prediction("login", 0.999, 0.0), "spam", THRESHOLDS);
        assert_eq!(verdict.applied, None);
        assert_eq!(verdict.suggestion(None), Some("login"));
        let unknown = decide(&prediction("warranty", 0.999, 0.0), "spam", THRESHOLDS);
        assert_eq!(unknown.applied, None);
    }

    #[test]
    fn spam_over_its_threshold_wins_over_any_category() {
        let verdict = decide(&prediction("billing", 0.99, 0.97), "spam", THRESHOLDS);
        assert_eq!(verdict.applied.as_deref(), Some("spam"));
        let below = decide(&prediction("billing", 0.99, 0.9), "spam", THRESHOLDS);
        assert_eq!(below.applied.as_deref(), Some("billing"));
        let nothing = decide(&Prediction::default(), "spam", THRESHOLDS);
        assert_eq!(nothing.applied, None);
        assert_eq!(nothing.suggestion(None), None);
    }
}
