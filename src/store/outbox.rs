//! The outbox: work derived from a change, written in the change's own
//! transaction and consumed afterwards by background workers. An entry is
//! deleted once every consumer has finished it, so a crash loses nothing and
//! a restart catches up.

use serde::{Deserialize, Serialize};

use crate::domain::activity::EventName;
use crate::domain::case::CaseNumber;
use crate::domain::channel::ChannelId;

/// Every consumer of the outbox. An entry stays until all have acknowledged
/// it; a consumer added here starts from the oldest entry still stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Consumer {
    /// Live updates for pages and API clients.
    Live,
    /// The search index.
    Search,
    /// Slack notifications.
    Notify,
    /// The daily figures of reports.
    Reports,
}

impl Consumer {
    pub const ALL: [Consumer; 4] = [
        Consumer::Live,
        Consumer::Search,
        Consumer::Notify,
        Consumer::Reports,
    ];

    /// The name its cursor is stored under in `outbox_cursors_v1`.
    pub fn name(self) -> &'static str {
        match self {
            Consumer::Live => "live",
            Consumer::Search => "search",
            Consumer::Notify => "notify",
            Consumer::Reports => "reports",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutboxEvent {
    /// An event was appended to a case's activity stream.
    CaseChanged {
        number: CaseNumber,
        channel: ChannelId,
        event_seq: u64,
        /// What happened (`created`, `note`, ...).
        event: EventName,
        actor: String,
    },
}

impl OutboxEvent {
    /// The case the entry is about.
    pub fn case(&self) -> CaseNumber {
        match self {
            OutboxEvent::CaseChanged { number, .. } => *number,
        }
    }
}
