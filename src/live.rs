//! Live updates: committed case events, fed by the live consumer of the
//! outbox, become a broadcast that pages and API clients subscribe to
//! (server-sent events), each subscriber filtered by what its user may see.

use tokio::sync::{broadcast, watch};

use crate::domain::activity::EventName;
use crate::domain::case::CaseNumber;
use crate::domain::channel::ChannelId;
use crate::store::OutboxEvent;

/// How many events a slow subscriber may fall behind before it misses some.
const BUFFER: usize = 1024;

#[derive(Debug, Clone)]
pub struct LiveEvent {
    pub number: CaseNumber,
    pub channel: ChannelId,
    pub event_seq: u64,
    pub event: EventName,
    pub actor: String,
}

/// Who has a case open now; not stored, only passed on.
#[derive(Debug, Clone)]
pub struct PresenceEvent {
    pub number: CaseNumber,
    pub viewers: Vec<crate::service::Viewer>,
}

#[derive(Clone)]
pub struct LiveFeed {
    sender: broadcast::Sender<LiveEvent>,
    presence: broadcast::Sender<PresenceEvent>,
    shutdown: watch::Receiver<bool>,
}

impl LiveFeed {
    /// A feed whose subscriptions end when `shutdown` turns true, so open
    /// event streams do not hold up a graceful shutdown.
    pub fn new(shutdown: watch::Receiver<bool>) -> LiveFeed {
        LiveFeed {
            sender: broadcast::channel(BUFFER).0,
            presence: broadcast::channel(BUFFER).0,
            shutdown,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.sender.subscribe()
    }

    pub fn subscribe_presence(&self) -> broadcast::Receiver<PresenceEvent> {
        self.presence.subscribe()
    }

    /// Tells open pages who has case `number` open.
    pub fn publish_presence(&self, number: CaseNumber, viewers: Vec<crate::service::Viewer>) {
        let _ = self.presence.send(PresenceEvent { number, viewers });
    }

    /// Resolves when the server begins shutting down.
    pub fn shutting_down(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut shutdown = self.shutdown.clone();
        async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        }
    }

    /// Announces committed outbox entries to every subscriber.
    pub fn publish(&self, entries: &[(u64, OutboxEvent)]) {
        for (_, entry) in entries {
            let OutboxEvent::CaseChanged {
                number,
                channel,
                event_seq,
                event,
                actor,
            } = entry;
            // No subscribers is fine: nobody is watching.
            let _ = self.sender.send(LiveEvent {
                number: *number,
                channel: *channel,
                event_seq: *event_seq,
                event: *event,
                actor: actor.clone(),
            });
        }
    }
}
