//! The activity stream: every change to a case is an event, and the case
//! record is the projection of its events.

use serde::{Deserialize, Serialize};

use super::Timestamp;
use super::case::{Source, Status};

pub const NOTE_MAX: usize = 100_000;

/// One field's value before and after an edit, as display strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Which way a message travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the customer to the help desk.
    Inbound,
    /// From the help desk to the customer.
    Outbound,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    Created {
        source: Source,
        subject: String,
    },
    FieldsChanged {
        changes: Vec<FieldChange>,
    },
    StatusChanged {
        from: Status,
        to: Status,
    },
    Assigned {
        from: Option<String>,
        to: Option<String>,
    },
    Closed {
        from: Status,
    },
    Reopened,
    Archived,
    Unarchived,
    Note {
        body: String,
    },
    Message {
        direction: Direction,
        from: Option<String>,
        /// Plain text: what search indexes and pages show first.
        body: String,
        /// Set when the message travelled by email.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<Box<super::mail::EmailPart>>,
        /// Outbound replies sent through another service's API (Meta):
        /// how far delivery got. (Email keeps its own in `email`.)
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delivery: Option<super::mail::DeliveryReport>,
    },
    /// A milestone became overdue.
    Escalated {
        milestone: String,
    },
    /// Another case's conversation was merged into this one.
    Merged {
        source: u64,
        /// Messages and notes copied.
        items: u32,
    },
    /// This case was merged into another.
    MergedInto {
        target: u64,
    },
    /// A merge into this case was undone.
    Unmerged {
        source: u64,
    },
    /// A message of this case was split out into a new case.
    SplitOut {
        into: u64,
    },
    /// Moved to the trash.
    Deleted,
    /// Taken out of the trash.
    Restored,
    /// Moved to another channel.
    Moved {
        from: u64,
        to: u64,
    },
    /// A link to another case was added.
    Linked {
        /// What the other case is to this one (`parent`, `duplicate_of`...).
        link: String,
        target: u64,
    },
    Unlinked {
        link: String,
        target: u64,
    },
    /// The customer rated a resolution (the sequence of its `closed`
    /// event), or added a comment to their rating.
    Rated {
        resolution: u64,
        rating: super::satisfaction::Rating,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// A phone call with the customer; later callbacks of the same call
    /// update it (status, duration, recording).
    Call {
        direction: Direction,
        /// The customer's number.
        number: String,
        /// The provider's status: `ringing`, `in-progress`, `completed`,
        /// `busy`, `no-answer`, `failed`...
        status: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_secs: Option<u32>,
        call_sid: String,
        /// The recording, among the case's files.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recording: Option<u64>,
    },
    /// The AI agent stopped answering a chat and the team has it.
    HandedOver {
        /// Why: the visitor asked for a person, the model could not help,
        /// a person took over.
        reason: String,
        /// The status the case went to (`open`, for the team to pick it
        /// up), when it changed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<Status>,
    },
    /// Time was logged on the case.
    TimeLogged {
        minutes: u32,
        #[serde(rename = "type")]
        kind: String,
    },
}

/// The name of what happened to a case, as filters, the outbox and live
/// updates carry it. One per kind of event, and `delivery` for the
/// delivery state of an outbound message rewritten in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventName {
    Created,
    FieldsChanged,
    StatusChanged,
    Assigned,
    Closed,
    Reopened,
    Archived,
    Unarchived,
    Note,
    Message,
    Call,
    Escalated,
    TimeLogged,
    HandedOver,
    Linked,
    Deleted,
    Merged,
    MergedInto,
    Unmerged,
    SplitOut,
    Restored,
    Moved,
    Unlinked,
    Rated,
    /// The delivery state of an outbound message, rewritten in place.
    Delivery,
    /// An event copied from a case merged into this one: old news.
    Copied,
    /// The case was deleted for good, with its whole history.
    Purged,
}

impl EventName {
    /// The name on the wire (`created`, `status_changed`...).
    pub fn as_str(self) -> &'static str {
        match self {
            EventName::Created => "created",
            EventName::FieldsChanged => "fields_changed",
            EventName::StatusChanged => "status_changed",
            EventName::Assigned => "assigned",
            EventName::Closed => "closed",
            EventName::Reopened => "reopened",
            EventName::Archived => "archived",
            EventName::Unarchived => "unarchived",
            EventName::Note => "note",
            EventName::Message => "message",
            EventName::Call => "call",
            EventName::Escalated => "escalated",
            EventName::TimeLogged => "time_logged",
            EventName::HandedOver => "handed_over",
            EventName::Linked => "linked",
            EventName::Deleted => "deleted",
            EventName::Merged => "merged",
            EventName::MergedInto => "merged_into",
            EventName::Unmerged => "unmerged",
            EventName::SplitOut => "split_out",
            EventName::Restored => "restored",
            EventName::Moved => "moved",
            EventName::Unlinked => "unlinked",
            EventName::Rated => "rated",
            EventName::Delivery => "delivery",
            EventName::Copied => "copied",
            EventName::Purged => "purged",
        }
    }
}

impl std::fmt::Display for EventName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl EventKind {
    /// Events partners never see: internal notes and the team's own
    /// bookkeeping (time, escalations, links, merges, moves, the trash).
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            EventKind::Note { .. }
                | EventKind::TimeLogged { .. }
                | EventKind::Escalated { .. }
                | EventKind::Linked { .. }
                | EventKind::Unlinked { .. }
                | EventKind::Rated { .. }
                | EventKind::Merged { .. }
                | EventKind::MergedInto { .. }
                | EventKind::Unmerged { .. }
                | EventKind::SplitOut { .. }
                | EventKind::Moved { .. }
                | EventKind::Deleted
                | EventKind::Restored
        )
    }

    /// A short machine name, used by filters and live updates.
    pub fn name(&self) -> &'static str {
        self.event_name().as_str()
    }

    /// What kind of event this is.
    pub fn event_name(&self) -> EventName {
        match self {
            EventKind::Created { .. } => EventName::Created,
            EventKind::FieldsChanged { .. } => EventName::FieldsChanged,
            EventKind::StatusChanged { .. } => EventName::StatusChanged,
            EventKind::Assigned { .. } => EventName::Assigned,
            EventKind::Closed { .. } => EventName::Closed,
            EventKind::Reopened => EventName::Reopened,
            EventKind::Archived => EventName::Archived,
            EventKind::Unarchived => EventName::Unarchived,
            EventKind::Note { .. } => EventName::Note,
            EventKind::Message { .. } => EventName::Message,
            EventKind::Call { .. } => EventName::Call,
            EventKind::Escalated { .. } => EventName::Escalated,
            EventKind::TimeLogged { .. } => EventName::TimeLogged,
            EventKind::HandedOver { .. } => EventName::HandedOver,
            EventKind::Linked { .. } => EventName::Linked,
            EventKind::Deleted => EventName::Deleted,
            EventKind::Merged { .. } => EventName::Merged,
            EventKind::MergedInto { .. } => EventName::MergedInto,
            EventKind::Unmerged { .. } => EventName::Unmerged,
            EventKind::SplitOut { .. } => EventName::SplitOut,
            EventKind::Restored => EventName::Restored,
            EventKind::Moved { .. } => EventName::Moved,
            EventKind::Unlinked { .. } => EventName::Unlinked,
            EventKind::Rated { .. } => EventName::Rated,
        }
    }

    /// One line a person can read, for pages and notifications.
    pub fn describe(&self) -> String {
        let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "nobody".into());
        match self {
            EventKind::Created { source, .. } => format!("opened the case ({source})"),
            EventKind::Call {
                direction,
                number,
                status,
                duration_secs,
                ..
            } => {
                let what = match direction {
                    Direction::Inbound => format!("took a call from {number}"),
                    Direction::Outbound => format!("called {number}"),
                };
                match duration_secs {
                    Some(seconds) => format!("{what} ({status}, {})", format_seconds(*seconds)),
                    None => format!("{what} ({status})"),
                }
            }
            EventKind::FieldsChanged { changes } => {
                let parts: Vec<String> = changes
                    .iter()
                    .map(|c| {
                        format!(
                            "{} from “{}” to “{}”",
                            c.field,
                            c.before.as_deref().unwrap_or("—"),
                            c.after.as_deref().unwrap_or("—")
                        )
                    })
                    .collect();
                format!("changed {}", parts.join("; "))
            }
            EventKind::StatusChanged { from, to } => {
                format!("changed the status from {} to {}", from.label(), to.label())
            }
            EventKind::Assigned { from, to } => match to {
                Some(_) => format!(
                    "assigned the case to {} (was {})",
                    or_none(to),
                    or_none(from)
                ),
                None => format!("unassigned the case (was {})", or_none(from)),
            },
            EventKind::Closed { .. } => "closed the case".into(),
            EventKind::Reopened => "reopened the case".into(),
            EventKind::Archived => "archived the case".into(),
            EventKind::Unarchived => "took the case out of the archive".into(),
            EventKind::Note { .. } => "added an internal note".into(),
            EventKind::Message {
                direction: Direction::Inbound,
                ..
            } => "received a message".into(),
            EventKind::Message {
                direction: Direction::Outbound,
                ..
            } => "sent a message".into(),
            EventKind::Deleted => "deleted the case".into(),
            EventKind::Merged { source, items } => {
                format!("merged #{source} into this case ({items} messages and notes)")
            }
            EventKind::MergedInto { target } => format!("merged this case into #{target}"),
            EventKind::Unmerged { source } => format!("undid the merge of #{source}"),
            EventKind::SplitOut { into } => format!("split a message out into #{into}"),
            EventKind::Restored => "restored the case from the trash".into(),
            EventKind::Moved { from, to } => format!("moved the case from channel {from} to {to}"),
            EventKind::Linked { link, target } => match link.as_str() {
                "duplicate_of" => format!("closed the case as a duplicate of #{target}"),
                "duplicate" => format!("marked #{target} as a duplicate of this case"),
                "related" => format!("linked #{target} as related"),
                other => format!("linked #{target} as its {other}"),
            },
            EventKind::Unlinked { link, target } => {
                format!("removed the link to #{target} ({})", link.replace('_', " "))
            }
            EventKind::Rated {
                rating,
                comment: None,
                ..
            } => format!("rated the answer {}", rating.as_str()),
            EventKind::Rated {
                comment: Some(comment),
                ..
            } => format!("commented on their rating: “{comment}”"),
            EventKind::TimeLogged { minutes, kind } => {
                format!(
                    "logged {} of {}",
                    format_minutes(*minutes),
                    kind.to_lowercase()
                )
            }
            EventKind::Escalated { milestone } => {
                format!("escalated the case: the milestone “{milestone}” is overdue")
            }
            EventKind::HandedOver { reason, .. } => {
                format!("handed the chat from the AI agent to the team: {reason}")
            }
        }
    }
}

/// "1 h 30 min", "45 min".
pub fn format_minutes(minutes: u32) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// Which events an activity view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActivityFilter {
    #[default]
    All,
    /// The conversation with the customer.
    Messages,
    /// Internal notes.
    Notes,
    /// Everything else: status, assignment, field changes, rules.
    System,
}

impl ActivityFilter {
    pub const ALL: [ActivityFilter; 4] = [
        ActivityFilter::All,
        ActivityFilter::Messages,
        ActivityFilter::Notes,
        ActivityFilter::System,
    ];

    pub fn parse(value: &str) -> Option<ActivityFilter> {
        ActivityFilter::ALL
            .into_iter()
            .find(|f| f.as_str() == value)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityFilter::All => "all",
            ActivityFilter::Messages => "messages",
            ActivityFilter::Notes => "notes",
            ActivityFilter::System => "system",
        }
    }

    pub fn matches(self, kind: &EventKind) -> bool {
        match self {
            ActivityFilter::All => true,
            ActivityFilter::Messages => {
                matches!(kind, EventKind::Message { .. } | EventKind::Call { .. })
            }
            ActivityFilter::Notes => matches!(kind, EventKind::Note { .. }),
            ActivityFilter::System => !matches!(
                kind,
                EventKind::Message { .. } | EventKind::Call { .. } | EventKind::Note { .. }
            ),
        }
    }
}

/// A call's length for people: "45s", "2m 05s", "1h 02m".
pub fn format_seconds(seconds: u32) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// One entry of a case's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityEvent {
    /// Position in the case's stream, starting at 1.
    pub seq: u64,
    pub at: Timestamp,
    /// Username of whoever made the change.
    pub actor: String,
    #[serde(flatten)]
    pub kind: EventKind,
}
