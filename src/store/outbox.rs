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
}

impl Consumer {
    pub const ALL: [Consumer; 3] = [Consumer::Live, Consumer::Search, Consumer::Notify];

    /// The name its cursor is stored under in `outbox_cursors_v1`.
    pub fn name(self) -> &'static str {
        match self {
            Consumer::Live => "live",
            Consumer::Search => "search",
            Consumer::Notify => "notify",
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

/// An outbound notification (a Slack message) waiting to be sent. It is
/// written when the outbox entry is consumed, so sending can be retried
/// without holding up the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub url: String,
    /// The JSON body to POST.
    pub payload: String,
    pub case: CaseNumber,
    pub attempts: u32,
    /// Seconds since the epoch when the next attempt is due.
    pub next_at: i64,
    /// A reply through Meta's Graph API: the channel whose page token is
    /// sent (read at each attempt, so a changed or removed integration
    /// takes effect at once and no token is copied here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_channel: Option<u64>,
    /// The outbound message this delivers, whose delivery state the
    /// activity shows; `None` for notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<u64>,
}
