//! The case: the unit of work of the help desk, and the rules for changing it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::activity::FieldChange;
use super::ai::{AiVerdict, Decider};
use super::channel::ChannelId;
use super::milestone::Milestone;
use super::profile::ProfileValues;
use super::validate;
use super::{RuleError, Timestamp};

/// The case's id everywhere: unique, sequential and never reused.
pub type CaseNumber = u64;

pub const SUBJECT_MAX: usize = 300;
pub const DESCRIPTION_MAX: usize = 100_000;
pub const LABEL_MAX: usize = 100;

/// Declares a string-backed enum with its wire names, parsing and display.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            #[allow(dead_code)]
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Parses the wire name, with an error listing the accepted ones.
            #[allow(dead_code)]
            pub fn parse(field: &str, value: &str) -> Result<Self, RuleError> {
                match value.trim() {
                    $($wire => Ok($name::$variant),)+
                    other => Err(RuleError::invalid(
                        field,
                        format!(
                            "'{}' is not a {}; use one of: {}",
                            other,
                            $what,
                            [$($wire),+].join(", ")
                        ),
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use wire_enum;

wire_enum!(
    /// Where a case is in its lifecycle.
    Status, "status" {
        Open => "open",
        InProgress => "in_progress",
        WaitingForCustomer => "waiting_for_customer",
        Resolved => "resolved",
    }
);

wire_enum!(
    /// How urgent a case is, lowest first.
    Priority, "priority" {
        Low => "low",
        Normal => "normal",
        High => "high",
        Urgent => "urgent",
    }
);

wire_enum!(
    /// Where a case came from.
    Source, "source" {
        Email => "email",
        Instagram => "instagram",
        Facebook => "facebook",
        Phone => "phone",
        Widget => "widget",
        Partner => "partner",
        Manual => "manual",
        Api => "api",
    }
);

impl Status {
    pub fn is_resolved(self) -> bool {
        self == Status::Resolved
    }

    /// Human label for pages.
    pub fn label(self) -> &'static str {
        match self {
            Status::Open => "Open",
            Status::InProgress => "In progress",
            Status::WaitingForCustomer => "Waiting for customer",
            Status::Resolved => "Resolved",
        }
    }

    /// Whether a case may move from `self` to `to` by a status change.
    /// A resolved case leaves that state only by being reopened, so that the
    /// close/reopen history stays explicit.
    pub fn check_transition(self, to: Status) -> Result<(), RuleError> {
        match (self, to) {
            (Status::Resolved, Status::Open) => Ok(()),
            (Status::Resolved, _) => Err(RuleError::Conflict(format!(
                "the case is resolved; reopen it before setting it to {}",
                to.as_str()
            ))),
            _ => Ok(()),
        }
    }
}

impl Priority {
    pub fn label(self) -> &'static str {
        match self {
            Priority::Low => "Low",
            Priority::Normal => "Normal",
            Priority::High => "High",
            Priority::Urgent => "Urgent",
        }
    }
}

/// The end user who initiated contact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Social handles by network, e.g. `instagram` → `@jane`.
    #[serde(default)]
    pub handles: BTreeMap<String, String>,
}

impl Customer {
    /// Validates and normalises every field; `None` when nothing is left.
    pub fn validated(self) -> Result<Option<Customer>, RuleError> {
        let name = validate::optional_label("customer.name", self.name.as_deref(), 200)?;
        let email = validate::optional_email("customer.email", self.email.as_deref())?;
        let phone = validate::optional_label("customer.phone", self.phone.as_deref(), 50)?;
        let mut handles = BTreeMap::new();
        for (network, handle) in self.handles {
            let network = validate::optional_label("customer.handles", Some(&network), 50)?
                .ok_or_else(|| {
                    RuleError::invalid("customer.handles", "network names must not be empty")
                })?;
            if let Some(handle) = validate::optional_label("customer.handles", Some(&handle), 200)?
            {
                handles.insert(network.to_lowercase(), handle);
            }
        }
        if handles.len() > 20 {
            return Err(RuleError::invalid("customer.handles", "at most 20 handles"));
        }
        let customer = Customer {
            name,
            email,
            phone,
            handles,
        };
        Ok((customer != Customer::default()).then_some(customer))
    }

    /// One line for history entries and lists.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        parts.extend(self.name.clone());
        parts.extend(self.email.as_ref().map(|e| format!("<{e}>")));
        parts.extend(self.phone.clone());
        parts.extend(self.handles.iter().map(|(n, h)| format!("{n}:{h}")));
        parts.join(" ")
    }
}

/// The hardware device related to the issue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub identifier: Option<String>,
    pub model: Option<String>,
}

impl Device {
    pub fn validated(self) -> Result<Option<Device>, RuleError> {
        let identifier =
            validate::optional_label("device.identifier", self.identifier.as_deref(), 200)?;
        let model = validate::optional_label("device.model", self.model.as_deref(), 200)?;
        let device = Device { identifier, model };
        Ok((device != Device::default()).then_some(device))
    }

    pub fn summary(&self) -> String {
        [self.model.as_deref(), self.identifier.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Deadlines are kept to the second: that is what people set and see, and
/// it makes a value shown in a form round-trip unchanged.
fn whole_seconds(at: Timestamp) -> Timestamp {
    use chrono::Timelike;
    at.with_nanosecond(0).unwrap_or(at)
}

/// A case as stored: the projection of its activity stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub number: CaseNumber,
    pub channel: ChannelId,
    pub subject: String,
    pub description: String,
    pub status: Status,
    pub archived: bool,
    pub priority: Priority,
    pub deadline: Option<Timestamp>,
    pub category: Option<String>,
    pub case_type: Option<String>,
    pub important: bool,
    pub source: Source,
    pub assignee: Option<String>,
    pub customer: Option<Customer>,
    pub device: Option<Device>,
    /// External conversation reference (email thread, DM conversation...).
    pub thread: Option<String>,
    pub created_at: Timestamp,
    pub created_by: String,
    pub updated_at: Timestamp,
    pub updated_by: String,
    pub assigned_at: Option<Timestamp>,
    pub assigned_by: Option<String>,
    pub closed_at: Option<Timestamp>,
    pub closed_by: Option<String>,
    /// Values of the profile fields of the case's type.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub profile: ProfileValues,
    /// Closed at intake by an auto-resolve rule (spam): no notifications
    /// while it stays so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_resolved: bool,
    /// In the trash since then (restorable until purged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_by: Option<String>,
    /// Set while this case is merged into another: what the merge moved,
    /// so that it can be undone exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<MergeRecord>,
    /// Links to other cases (each also stored on the other case).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<super::link::CaseLink>,
    /// Estimated work, in minutes (set by channel managers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate_minutes: Option<u32>,
    /// Service targets set at intake by the milestone policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub milestones: Vec<Milestone>,
    /// Who chose the category. None for cases from before this was kept
    /// and for imported ones, whose categories count as people's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_by: Option<Decider>,
    /// Who chose the priority, as for the category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_by: Option<Decider>,
    /// What the AI agent said at intake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai: Option<AiVerdict>,
    /// The AI agent is answering (a widget chat): the case is in progress
    /// by the AI until it hands over or a person takes over.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held_by_ai: bool,
    /// When the AI agent's hold ended: what happened in the chat before
    /// then is not news for the team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_released_at: Option<Timestamp>,
    /// What the customer said of each resolution they rated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ratings: Vec<super::satisfaction::SatisfactionRating>,
}

/// What merging a case into another did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeRecord {
    /// The case it was merged into; replies to its thread go there.
    pub into: CaseNumber,
    /// The copies of its messages and notes in the target's stream.
    pub copied_events: Vec<u64>,
    /// Its time entries, now on the target.
    pub time_entries: Vec<u64>,
    /// Its status before the merge resolved it.
    pub status_before: Status,
}

/// What a person supplies to open a case; validated into a [`Case`].
#[derive(Debug, Clone, Default)]
pub struct CaseDraft {
    pub subject: String,
    pub description: String,
    pub priority: Option<Priority>,
    pub deadline: Option<Timestamp>,
    pub category: Option<String>,
    pub case_type: Option<String>,
    pub important: bool,
    pub source: Option<Source>,
    pub customer: Option<Customer>,
    pub device: Option<Device>,
    pub thread: Option<String>,
    /// Profile values for the case's type; checked by the service layer
    /// against what plugins declare.
    pub profile: ProfileValues,
}

impl CaseDraft {
    /// Builds the new case after checking every field.
    pub fn into_case(
        self,
        number: CaseNumber,
        channel: ChannelId,
        actor: &str,
        default_source: Source,
        now: Timestamp,
    ) -> Result<Case, RuleError> {
        let category = validate::optional_label("category", self.category.as_deref(), LABEL_MAX)?;
        Ok(Case {
            category_by: category.is_some().then_some(Decider::Person),
            priority_by: self.priority.is_some().then_some(Decider::Person),
            ai: None,
            held_by_ai: false,
            ai_released_at: None,
            ratings: Vec::new(),
            number,
            channel,
            subject: validate::required_text("subject", &self.subject, SUBJECT_MAX)?
                .replace(['\n', '\r'], " "),
            description: validate::bounded_text(
                "description",
                self.description.trim(),
                DESCRIPTION_MAX,
            )?,
            status: Status::Open,
            archived: false,
            priority: self.priority.unwrap_or(Priority::Normal),
            deadline: self.deadline.map(whole_seconds),
            category,
            case_type: validate::optional_label("type", self.case_type.as_deref(), LABEL_MAX)?,
            important: self.important,
            source: self.source.unwrap_or(default_source),
            assignee: None,
            customer: self
                .customer
                .map(Customer::validated)
                .transpose()?
                .flatten(),
            device: self.device.map(Device::validated).transpose()?.flatten(),
            thread: validate::optional_label("thread", self.thread.as_deref(), 500)?,
            created_at: now,
            created_by: actor.to_owned(),
            updated_at: now,
            updated_by: actor.to_owned(),
            assigned_at: None,
            assigned_by: None,
            closed_at: None,
            closed_by: None,
            auto_resolved: false,
            deleted_at: None,
            deleted_by: None,
            merge: None,
            links: Vec::new(),
            estimate_minutes: None,
            profile: ProfileValues::new(),
            milestones: Vec::new(),
        })
    }
}

/// Field edits; `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct CaseEdit {
    pub subject: Option<String>,
    pub description: Option<String>,
    pub case_type: Option<Option<String>>,
    pub priority: Option<Priority>,
    pub deadline: Option<Option<Timestamp>>,
    pub category: Option<Option<String>>,
    pub important: Option<bool>,
    pub customer: Option<Option<Customer>>,
    pub device: Option<Option<Device>>,
}

impl Case {
    pub fn is_unresolved(&self) -> bool {
        !self.status.is_resolved()
    }

    /// Ends the AI agent's hold, if it had one; whether it did.
    pub fn release_from_ai(&mut self, at: Timestamp) -> bool {
        if !self.held_by_ai {
            return false;
        }
        self.held_by_ai = false;
        self.ai_released_at = Some(at);
        true
    }

    /// The status as people read it, saying when the AI agent holds it.
    pub fn status_label(&self) -> &'static str {
        if self.held_by_ai {
            "In progress · AI"
        } else {
            self.status.label()
        }
    }

    fn touch(&mut self, actor: &str, now: Timestamp) {
        self.updated_at = now;
        self.updated_by = actor.to_owned();
    }

    /// Applies field edits and reports each field that really changed.
    pub fn apply_edit(
        &mut self,
        edit: CaseEdit,
        actor: &str,
        now: Timestamp,
    ) -> Result<Vec<FieldChange>, RuleError> {
        let mut changes = Vec::new();
        let mut record = |field: &str, before: Option<String>, after: Option<String>| {
            if before != after {
                changes.push(FieldChange {
                    field: field.to_owned(),
                    before,
                    after,
                });
            }
        };
        if let Some(subject) = edit.subject {
            let subject = validate::required_text("subject", &subject, SUBJECT_MAX)?
                .replace(['\n', '\r'], " ");
            record("subject", Some(self.subject.clone()), Some(subject.clone()));
            self.subject = subject;
        }
        if let Some(description) = edit.description {
            let description =
                validate::bounded_text("description", description.trim(), DESCRIPTION_MAX)?;
            record(
                "description",
                Some(self.description.clone()),
                Some(description.clone()),
            );
            self.description = description;
        }
        if let Some(case_type) = edit.case_type {
            let case_type = validate::optional_label("type", case_type.as_deref(), LABEL_MAX)?;
            record("type", self.case_type.clone(), case_type.clone());
            self.case_type = case_type;
        }
        if let Some(priority) = edit.priority {
            record(
                "priority",
                Some(self.priority.to_string()),
                Some(priority.to_string()),
            );
            // Only a change is a decision: a form that posts every field
            // back unchanged decides nothing.
            if priority != self.priority {
                self.priority_by = Some(Decider::Person);
            }
            self.priority = priority;
        }
        if let Some(deadline) = edit.deadline {
            let deadline = deadline.map(whole_seconds);
            record(
                "deadline",
                self.deadline.map(|d| d.to_rfc3339()),
                deadline.map(|d| d.to_rfc3339()),
            );
            self.deadline = deadline;
        }
        if let Some(category) = edit.category {
            let category = validate::optional_label("category", category.as_deref(), LABEL_MAX)?;
            record("category", self.category.clone(), category.clone());
            if category != self.category {
                self.category_by = Some(Decider::Person);
            }
            self.category = category;
        }
        if let Some(important) = edit.important {
            record(
                "important",
                Some(self.important.to_string()),
                Some(important.to_string()),
            );
            self.important = important;
        }
        if let Some(customer) = edit.customer {
            let customer = customer.map(Customer::validated).transpose()?.flatten();
            record(
                "customer",
                self.customer.as_ref().map(Customer::summary),
                customer.as_ref().map(Customer::summary),
            );
            self.customer = customer;
        }
        if let Some(device) = edit.device {
            let device = device.map(Device::validated).transpose()?.flatten();
            record(
                "device",
                self.device.as_ref().map(Device::summary),
                device.as_ref().map(Device::summary),
            );
            self.device = device;
        }
        if !changes.is_empty() {
            self.touch(actor, now);
        }
        Ok(changes)
    }

    /// Moves the case to `to`; `Ok(None)` when it already is there. Resolving
    /// records who closed it; leaving resolved (reopen) clears that and the
    /// archived flag.
    pub fn change_status(
        &mut self,
        to: Status,
        actor: &str,
        now: Timestamp,
    ) -> Result<Option<Status>, RuleError> {
        let from = self.status;
        if from == to {
            return Ok(None);
        }
        from.check_transition(to)?;
        self.status = to;
        // Whoever changes the status has the case now, not the AI agent.
        self.release_from_ai(now);
        if to.is_resolved() {
            self.closed_at = Some(now);
            self.closed_by = Some(actor.to_owned());
        } else if from.is_resolved() {
            self.closed_at = None;
            self.closed_by = None;
            self.archived = false;
            // Reopened (a customer wrote back): no longer treated as spam.
            self.auto_resolved = false;
        }
        self.touch(actor, now);
        Ok(Some(from))
    }

    /// Resolves the case. Closing a resolved case is a conflict, so a double
    /// submit is visible rather than silently recorded twice.
    pub fn close(&mut self, actor: &str, now: Timestamp) -> Result<Status, RuleError> {
        if self.status.is_resolved() {
            return Err(RuleError::Conflict("the case is already resolved".into()));
        }
        let from = self.status;
        self.change_status(Status::Resolved, actor, now)?;
        Ok(from)
    }

    pub fn reopen(&mut self, actor: &str, now: Timestamp) -> Result<(), RuleError> {
        if !self.status.is_resolved() {
            return Err(RuleError::Conflict(
                "the case is not resolved, so it cannot be reopened".into(),
            ));
        }
        self.change_status(Status::Open, actor, now)?;
        Ok(())
    }

    /// Sets or clears the assignee; `Ok(None)` when nothing changes.
    pub fn assign(
        &mut self,
        assignee: Option<String>,
        actor: &str,
        now: Timestamp,
    ) -> Result<Option<Option<String>>, RuleError> {
        if self.assignee == assignee {
            return Ok(None);
        }
        let before = std::mem::replace(&mut self.assignee, assignee);
        if self.assignee.is_some() {
            self.assigned_at = Some(now);
            self.assigned_by = Some(actor.to_owned());
        } else {
            self.assigned_at = None;
            self.assigned_by = None;
        }
        self.touch(actor, now);
        Ok(Some(before))
    }

    /// Archives a resolved case, to keep active lists clean.
    pub fn archive(&mut self, actor: &str, now: Timestamp) -> Result<(), RuleError> {
        if !self.status.is_resolved() {
            return Err(RuleError::Conflict(
                "only resolved cases can be archived".into(),
            ));
        }
        if self.archived {
            return Err(RuleError::Conflict("the case is already archived".into()));
        }
        self.archived = true;
        self.touch(actor, now);
        Ok(())
    }

    /// Moves the case to the trash: hidden everywhere but the trash until
    /// restored or purged.
    pub fn soft_delete(&mut self, actor: &str, now: Timestamp) -> Result<(), RuleError> {
        if self.deleted_at.is_some() {
            return Err(RuleError::Conflict("the case is already deleted".into()));
        }
        self.deleted_at = Some(now);
        self.deleted_by = Some(actor.to_owned());
        self.touch(actor, now);
        Ok(())
    }

    pub fn restore(&mut self, actor: &str, now: Timestamp) -> Result<(), RuleError> {
        if self.deleted_at.is_none() {
            return Err(RuleError::Conflict("the case is not deleted".into()));
        }
        self.deleted_at = None;
        self.deleted_by = None;
        self.touch(actor, now);
        Ok(())
    }

    /// Moves the case to another channel.
    pub fn move_to(
        &mut self,
        channel: ChannelId,
        actor: &str,
        now: Timestamp,
    ) -> Option<ChannelId> {
        if self.channel == channel {
            return None;
        }
        let from = std::mem::replace(&mut self.channel, channel);
        self.touch(actor, now);
        Some(from)
    }

    pub fn unarchive(&mut self, actor: &str, now: Timestamp) -> Result<(), RuleError> {
        if !self.archived {
            return Err(RuleError::Conflict("the case is not archived".into()));
        }
        self.archived = false;
        self.touch(actor, now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn sample() -> Case {
        CaseDraft {
            subject: "Printer on fire".into(),
            ..Default::default()
        }
        .into_case(1, 1, "alice", Source::Manual, Utc::now())
        .unwrap()
    }

    #[test]
    fn new_cases_start_open_with_normal_priority() {
        let case = sample();
        assert_eq!(case.status, Status::Open);
        assert_eq!(case.priority, Priority::Normal);
        assert_eq!(case.created_by, "alice");
        assert!(case.closed_at.is_none());
    }

    #[test]
    fn draft_rejects_blank_subject_and_bad_customer_email() {
        let blank = CaseDraft {
            subject: " ".into(),
            ..Default::default()
        };
        assert!(
            blank
                .into_case(1, 1, "a", Source::Manual, Utc::now())
                .is_err()
        );
        let bad = CaseDraft {
            subject: "x".into(),
            customer: Some(Customer {
                email: Some("nope".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let err = bad
            .into_case(1, 1, "a", Source::Manual, Utc::now())
            .unwrap_err();
        assert!(matches!(err, RuleError::Invalid { ref field, .. } if field == "customer.email"));
    }

    #[test]
    fn resolved_case_must_be_reopened_before_other_statuses() {
        let mut case = sample();
        case.close("bob", Utc::now()).unwrap();
        assert_eq!(case.closed_by.as_deref(), Some("bob"));
        assert!(
            case.change_status(Status::InProgress, "bob", Utc::now())
                .is_err()
        );
        assert!(case.close("bob", Utc::now()).is_err());
        case.reopen("bob", Utc::now()).unwrap();
        assert_eq!(case.status, Status::Open);
        assert!(case.closed_at.is_none());
        assert!(case.reopen("bob", Utc::now()).is_err());
    }

    #[test]
    fn archive_only_resolved_and_reopen_unarchives() {
        let mut case = sample();
        assert!(case.archive("a", Utc::now()).is_err());
        case.close("a", Utc::now()).unwrap();
        case.archive("a", Utc::now()).unwrap();
        assert!(case.archived);
        case.reopen("a", Utc::now()).unwrap();
        assert!(!case.archived);
    }

    #[test]
    fn edit_reports_only_real_changes() {
        let mut case = sample();
        let changes = case
            .apply_edit(
                CaseEdit {
                    subject: Some("Printer on fire".into()),
                    priority: Some(Priority::Urgent),
                    category: Some(Some("hardware".into())),
                    ..Default::default()
                },
                "bob",
                Utc::now(),
            )
            .unwrap();
        let fields: Vec<_> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["priority", "category"]);
        assert_eq!(case.updated_by, "bob");
    }

    #[test]
    fn assign_tracks_who_and_when() {
        let mut case = sample();
        assert_eq!(
            case.assign(Some("bob".into()), "alice", Utc::now())
                .unwrap(),
            Some(None)
        );
        assert_eq!(case.assigned_by.as_deref(), Some("alice"));
        assert_eq!(
            case.assign(Some("bob".into()), "alice", Utc::now())
                .unwrap(),
            None
        );
        case.assign(None, "alice", Utc::now()).unwrap();
        assert!(case.assigned_at.is_none());
    }

    #[test]
    fn wire_names_round_trip() {
        for status in Status::ALL {
            assert_eq!(Status::parse("status", status.as_str()).unwrap(), *status);
        }
        let err = Priority::parse("priority", "meh").unwrap_err().to_string();
        assert!(err.contains("low, normal, high, urgent"), "{err}");
    }
}
