//! Milestones: the service targets a case must meet (a first reply within
//! four hours, resolution within two days), as a policy script sets them
//! at intake. Each is completed, current or overdue; an overdue one is
//! escalated once.

use serde::{Deserialize, Serialize};

use super::Timestamp;
use super::activity::{Direction, EventKind};
use super::calendar::Calendar;
use super::case::{Case, Status};

/// What completes a milestone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "on", content = "field")]
pub enum Completion {
    /// The first message from the help desk to the customer.
    FirstReply,
    /// The case is resolved.
    Resolved,
    /// A field has a value: `category`, `type`, `assignee`, `deadline`,
    /// `customer` or `profile.NAME`.
    FieldSet(String),
}

impl Completion {
    /// Parses `first_reply`, `resolved` or `field:NAME`.
    pub fn parse(text: &str) -> Result<Completion, String> {
        match text.trim() {
            "first_reply" => Ok(Completion::FirstReply),
            "resolved" => Ok(Completion::Resolved),
            other => match other.strip_prefix("field:").map(str::trim) {
                Some(field) if is_known_field(field) => Ok(Completion::FieldSet(field.to_owned())),
                Some(field) => Err(format!(
                    "'{field}' is not a case field; use category, type, assignee, deadline, customer or profile.NAME"
                )),
                None => Err(format!(
                    "'{other}' is not a completion; use first_reply, resolved or field:NAME"
                )),
            },
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Completion::FirstReply => "first_reply".into(),
            Completion::Resolved => "resolved".into(),
            Completion::FieldSet(field) => format!("field:{field}"),
        }
    }
}

fn is_known_field(field: &str) -> bool {
    matches!(
        field,
        "category" | "type" | "assignee" | "deadline" | "customer"
    ) || field
        .strip_prefix("profile.")
        .is_some_and(|n| !n.is_empty())
}

/// When a milestone is due, as a policy states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// Seconds after the case was created.
    After(i64),
    At(Timestamp),
}

impl Due {
    /// Parses a duration such as `90` (minutes), `"45m"`, `"4h"`, `"2d"`.
    pub fn parse_duration(text: &str) -> Result<Due, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (amount, unit) = text.split_at(split);
        let amount: i64 = amount
            .parse()
            .map_err(|_| format!("'{text}' is not a duration such as 45m, 4h or 2d"))?;
        let unit_seconds = match unit.trim() {
            "" | "m" | "min" | "minutes" => 60,
            "h" | "hours" => 3_600,
            "d" | "days" => 86_400,
            _ => return Err(format!("'{text}' is not a duration such as 45m, 4h or 2d")),
        };
        // Ten years is more than any service target.
        if amount <= 0 || amount.saturating_mul(unit_seconds) > 10 * 365 * 86_400 {
            return Err(format!(
                "'{text}' must be more than zero and at most ten years"
            ));
        }
        Ok(Due::After(amount * unit_seconds))
    }
}

/// A milestone as a policy declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneSpec {
    pub name: String,
    pub due: Due,
    pub completes_on: Completion,
    /// `due_in` counts the channel's business hours (when it has a
    /// calendar) rather than the clock.
    pub business: bool,
    /// The clock stops while the case waits for the customer.
    pub pauses: bool,
}

/// A milestone of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestone {
    pub name: String,
    pub due_at: Timestamp,
    pub completes_on: Completion,
    #[serde(default)]
    pub completed_at: Option<Timestamp>,
    /// When the overdue milestone was escalated (once).
    #[serde(default)]
    pub escalated_at: Option<Timestamp>,
    /// For `due_in` targets: the target in seconds, kept to reckon the
    /// due time again (a calendar changed, a pause ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_seconds: Option<i64>,
    /// The target counts business hours.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub business: bool,
    /// The clock stops while the case waits for the customer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pauses: bool,
    /// Since when the clock is stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_since: Option<Timestamp>,
    /// How long the clock stood still so far (business seconds for a
    /// business target), added to the target.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub paused_seconds: i64,
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MilestoneState {
    Completed,
    /// Not yet met and not yet due.
    Current,
    Overdue,
    /// Its clock stands still while the case waits for the customer.
    Paused,
}

impl MilestoneState {
    pub fn as_str(self) -> &'static str {
        match self {
            MilestoneState::Completed => "completed",
            MilestoneState::Current => "current",
            MilestoneState::Overdue => "overdue",
            MilestoneState::Paused => "paused",
        }
    }
}

impl Milestone {
    /// The milestone a policy asks for on a case created at `created_at`
    /// in a channel with `calendar`.
    pub fn from_spec(
        spec: MilestoneSpec,
        created_at: Timestamp,
        calendar: Option<&Calendar>,
    ) -> Milestone {
        let (due_at, target_seconds) = match spec.due {
            Due::After(seconds) => (
                created_at + chrono::Duration::seconds(seconds),
                Some(seconds),
            ),
            Due::At(at) => (at, None),
        };
        let mut milestone = Milestone {
            name: spec.name,
            due_at,
            completes_on: spec.completes_on,
            completed_at: None,
            escalated_at: None,
            target_seconds,
            business: spec.business,
            pauses: spec.pauses,
            paused_since: None,
            paused_seconds: 0,
        };
        milestone.reckon_due(created_at, calendar);
        milestone
    }

    /// Works out the due time again from the target, the pauses so far and
    /// the channel's calendar (business targets without one count the
    /// clock). A fixed `due_at` stays as it is.
    pub fn reckon_due(&mut self, created_at: Timestamp, calendar: Option<&Calendar>) {
        let Some(target) = self.target_seconds else {
            return;
        };
        let total = chrono::Duration::seconds(target + self.paused_seconds);
        self.due_at = match calendar.filter(|_| self.business) {
            Some(calendar) => calendar
                .add_business_time(created_at, total)
                .unwrap_or(created_at + total),
            None => created_at + total,
        };
    }

    pub fn state(&self, now: Timestamp) -> MilestoneState {
        match self.completed_at {
            Some(_) => MilestoneState::Completed,
            None if self.paused_since.is_some() => MilestoneState::Paused,
            None if now >= self.due_at => MilestoneState::Overdue,
            None => MilestoneState::Current,
        }
    }

    /// Whether it was completed by its due time.
    pub fn met(&self) -> Option<bool> {
        self.completed_at.map(|at| at <= self.due_at)
    }

    /// Whether the case, as it is after `event`, completes this milestone.
    fn completed_by(&self, case: &Case, event: &EventKind) -> bool {
        match &self.completes_on {
            Completion::FirstReply => matches!(
                event,
                EventKind::Message {
                    direction: Direction::Outbound,
                    ..
                }
            ),
            Completion::Resolved => case.status.is_resolved(),
            Completion::FieldSet(field) => match field.as_str() {
                "category" => case.category.is_some(),
                "type" => case.case_type.is_some(),
                "assignee" => case.assignee.is_some(),
                "deadline" => case.deadline.is_some(),
                "customer" => case.customer.is_some(),
                other => other
                    .strip_prefix("profile.")
                    .is_some_and(|name| case.profile.contains_key(name)),
            },
        }
    }
}

/// Marks the case's open milestones that `event` completes; returns their
/// names.
pub fn complete(case: &mut Case, event: &EventKind, at: Timestamp) -> Vec<String> {
    let snapshot = case.clone();
    let mut completed = Vec::new();
    for milestone in &mut case.milestones {
        if milestone.completed_at.is_none() && milestone.completed_by(&snapshot, event) {
            milestone.completed_at = Some(at);
            completed.push(milestone.name.clone());
        }
    }
    completed
}

/// Stops the clocks of milestones that pause while the case waits for the
/// customer, and starts them again when it no longer waits, moving their
/// due times by the (business) time that passed. Returns the new due times
/// of those started again.
pub fn follow_status(
    case: &mut Case,
    at: Timestamp,
    calendar: Option<&Calendar>,
) -> Vec<Timestamp> {
    let waiting = case.status == Status::WaitingForCustomer;
    let created_at = case.created_at;
    let mut resumed = Vec::new();
    for milestone in case
        .milestones
        .iter_mut()
        .filter(|m| m.pauses && m.completed_at.is_none())
    {
        match (waiting, milestone.paused_since) {
            (true, None) => milestone.paused_since = Some(at),
            (false, Some(since)) => {
                let stood = match calendar.filter(|_| milestone.business) {
                    Some(calendar) => calendar.business_time_between(since, at),
                    None => at - since,
                };
                milestone.paused_seconds += stood.num_seconds().max(0);
                milestone.paused_since = None;
                milestone.reckon_due(created_at, calendar);
                resumed.push(milestone.due_at);
            }
            _ => {}
        }
    }
    resumed
}

/// The (due time in seconds, case number) of each milestone still to be
/// met: what a manager's view of looming breaches lists. Resolved,
/// archived and deleted cases have none, and paused milestones loom not.
pub fn pending_keys(case: &Case) -> Vec<(u64, u64)> {
    if case.status.is_resolved() || case.archived || case.deleted_at.is_some() {
        return Vec::new();
    }
    let mut keys: Vec<(u64, u64)> = case
        .milestones
        .iter()
        .filter(|m| m.completed_at.is_none() && m.paused_since.is_none())
        .map(|m| (m.due_at.timestamp().max(0) as u64, case.number))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The names of milestones that are overdue and not yet escalated.
pub fn due_for_escalation(case: &Case, now: Timestamp) -> Vec<String> {
    if case.status.is_resolved() || case.archived || case.deleted_at.is_some() {
        return Vec::new();
    }
    case.milestones
        .iter()
        .filter(|m| m.escalated_at.is_none() && m.state(now) == MilestoneState::Overdue)
        .map(|m| m.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32) -> Timestamp {
        chrono::Utc
            .with_ymd_and_hms(2026, 3, 2, hour, 0, 0)
            .unwrap()
    }

    #[test]
    fn durations_parse() {
        assert_eq!(Due::parse_duration("90").unwrap(), Due::After(5_400));
        assert_eq!(Due::parse_duration("4h").unwrap(), Due::After(14_400));
        assert_eq!(Due::parse_duration("2d").unwrap(), Due::After(172_800));
        assert!(Due::parse_duration("0m").is_err());
        assert!(Due::parse_duration("soon").is_err());
        assert!(Due::parse_duration("4w").is_err());
    }

    #[test]
    fn completions_parse() {
        assert_eq!(Completion::parse("resolved").unwrap(), Completion::Resolved);
        assert_eq!(
            Completion::parse("field:profile.order").unwrap(),
            Completion::FieldSet("profile.order".into())
        );
        assert!(Completion::parse("field:colour").is_err());
        assert!(Completion::parse("lunch").is_err());
    }

    #[test]
    fn states_follow_the_clock() {
        let spec = MilestoneSpec {
            name: "First response".into(),
            due: Due::After(4 * 3_600),
            completes_on: Completion::FirstReply,
            business: false,
            pauses: false,
        };
        let mut milestone = Milestone::from_spec(spec, at(8), None);
        assert_eq!(milestone.due_at, at(12));
        assert_eq!(milestone.state(at(11)), MilestoneState::Current);
        assert_eq!(milestone.state(at(12)), MilestoneState::Overdue);
        milestone.completed_at = Some(at(13));
        assert_eq!(milestone.state(at(14)), MilestoneState::Completed);
        assert_eq!(milestone.met(), Some(false));
    }
}
