//! Time tracking: entries of time spent on a case (by timer or by hand),
//! in whole minutes, and the running timers of users.

use serde::{Deserialize, Serialize};

use super::case::CaseNumber;
use super::{RuleError, Timestamp, validate};

/// The longest single entry: a fortnight of round-the-clock work.
pub const ENTRY_MAX_MINUTES: u32 = 14 * 24 * 60;
pub const NOTE_MAX: usize = 2_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeEntry {
    pub id: u64,
    pub case: CaseNumber,
    pub username: String,
    pub minutes: u32,
    /// One of the configured time types ("Work", "Travel"...).
    #[serde(rename = "type")]
    pub kind: String,
    /// The day the work was done.
    pub date: chrono::NaiveDate,
    pub note: Option<String>,
    pub created_at: Timestamp,
    /// From a timer rather than typed in.
    #[serde(default)]
    pub from_timer: bool,
}

/// A user's running timer (at most one per user).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    pub case: CaseNumber,
    pub started_at: Timestamp,
}

impl Timer {
    /// Whole minutes from the start to `now`, at least one.
    pub fn minutes_until(&self, now: Timestamp) -> u32 {
        let seconds = (now - self.started_at).num_seconds().max(0);
        ((seconds + 59) / 60).clamp(1, i64::from(ENTRY_MAX_MINUTES)) as u32
    }
}

/// Parses a duration as people write it: `"90m"`, `"1.5h"`, `"2d"`, or a
/// bare number of minutes. A day is `hours_per_day` hours of work.
pub fn parse_duration(field: &str, text: &str, hours_per_day: u32) -> Result<u32, RuleError> {
    let text = text.trim().to_ascii_lowercase();
    let invalid = || {
        RuleError::invalid(
            field,
            format!(
                "'{text}' is not a duration; write minutes, hours or days such as 90m, 1.5h or 2d"
            ),
        )
    };
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (amount, unit) = text.split_at(split);
    let amount: f64 = amount.parse().map_err(|_| invalid())?;
    let per_unit = match unit.trim() {
        "" | "m" | "min" | "mins" | "minutes" => 1.0,
        "h" | "hr" | "hrs" | "hours" => 60.0,
        "d" | "day" | "days" => 60.0 * f64::from(hours_per_day),
        _ => return Err(invalid()),
    };
    let minutes = (amount * per_unit).round();
    if !minutes.is_finite() || minutes < 1.0 {
        return Err(RuleError::invalid(field, "must be at least one minute"));
    }
    if minutes > f64::from(ENTRY_MAX_MINUTES) {
        return Err(RuleError::invalid(
            field,
            format!("must be at most {} days", ENTRY_MAX_MINUTES / (24 * 60)),
        ));
    }
    Ok(minutes as u32)
}

/// Checks a time type against the configured ones (case-insensitively)
/// and returns its configured spelling.
pub fn time_type(value: &str, types: &[String]) -> Result<String, RuleError> {
    types
        .iter()
        .find(|t| t.eq_ignore_ascii_case(value.trim()))
        .cloned()
        .ok_or_else(|| {
            RuleError::invalid(
                "type",
                format!(
                    "'{}' is not a time type; use one of: {}",
                    value.trim(),
                    types.join(", ")
                ),
            )
        })
}

pub fn note(value: Option<&str>) -> Result<Option<String>, RuleError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(text) => validate::bounded_text("note", text, NOTE_MAX).map(Some),
    }
}

/// Sum of entries, in minutes.
pub fn total_minutes(entries: &[TimeEntry]) -> u64 {
    entries.iter().map(|e| u64::from(e.minutes)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_minutes_hours_and_days() {
        assert_eq!(parse_duration("duration", "90m", 8).unwrap(), 90);
        assert_eq!(parse_duration("duration", "1.5h", 8).unwrap(), 90);
        assert_eq!(parse_duration("duration", "2d", 8).unwrap(), 960);
        assert_eq!(parse_duration("duration", "45", 8).unwrap(), 45);
        assert_eq!(parse_duration("duration", " 2 H ", 8).unwrap(), 120);
        for bad in ["", "0m", "soon", "1.5.2h", "-3h", "3w", "100d"] {
            assert!(parse_duration("duration", bad, 8).is_err(), "{bad}");
        }
    }

    #[test]
    fn timers_count_started_minutes() {
        let start = chrono::Utc::now();
        let timer = Timer {
            case: 1,
            started_at: start,
        };
        assert_eq!(timer.minutes_until(start), 1);
        assert_eq!(
            timer.minutes_until(start + chrono::Duration::seconds(61)),
            2
        );
        assert_eq!(
            timer.minutes_until(start + chrono::Duration::minutes(30)),
            30
        );
    }

    #[test]
    fn time_types_are_matched_without_case() {
        let types = vec!["Work".to_owned(), "Travel".to_owned()];
        assert_eq!(time_type("travel", &types).unwrap(), "Travel");
        assert!(time_type("Lunch", &types).is_err());
    }
}
