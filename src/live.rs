//! Live updates: the first outbox consumer. It turns committed case events
//! into a broadcast that pages and API clients subscribe to (server-sent
//! events), each subscriber filtered by what its user may see.

use std::time::Duration;

use tokio::sync::{broadcast, watch};

use crate::domain::case::CaseNumber;
use crate::domain::channel::ChannelId;
use crate::store::{OutboxEvent, Reads, Store, StoreError, Writes};

pub const CONSUMER_NAME: &str = "live";

/// Entries handled per batch.
const BATCH: usize = 256;
/// How many events a slow subscriber may fall behind before it misses some.
const BUFFER: usize = 1024;

#[derive(Debug, Clone)]
pub struct LiveEvent {
    pub number: CaseNumber,
    pub channel: ChannelId,
    pub event_seq: u64,
    pub event: String,
    pub actor: String,
}

#[derive(Clone)]
pub struct LiveFeed {
    sender: broadcast::Sender<LiveEvent>,
    shutdown: watch::Receiver<bool>,
}

impl LiveFeed {
    /// A feed whose subscriptions end when `shutdown` turns true, so open
    /// event streams do not hold up a graceful shutdown.
    pub fn new(shutdown: watch::Receiver<bool>) -> LiveFeed {
        LiveFeed {
            sender: broadcast::channel(BUFFER).0,
            shutdown,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.sender.subscribe()
    }

    /// Resolves when the server begins shutting down.
    pub fn shutting_down(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut shutdown = self.shutdown.clone();
        async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        }
    }

    /// Consumes the outbox until `shutdown` turns true.
    pub async fn run(self, store: Store, mut shutdown: watch::Receiver<bool>) {
        let mut commits = store.commits();
        loop {
            match self.drain(&store).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "live feed could not read the outbox; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            tokio::select! {
                changed = commits.changed() => {
                    // The store is gone: nothing more will arrive.
                    if changed.is_err() {
                        break;
                    }
                }
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                // A safety net: never sleep on a missed wake-up for long.
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
            if *shutdown.borrow() {
                break;
            }
        }
    }

    /// Publishes one batch and acknowledges it; true when there may be more.
    async fn drain(&self, store: &Store) -> Result<bool, StoreError> {
        let batch = {
            let txn = store.read()?;
            let cursor = txn.outbox_cursor(CONSUMER_NAME)?;
            txn.outbox_after(cursor, BATCH)?
        };
        let Some((last, _)) = batch.last() else {
            return Ok(false);
        };
        let last = *last;
        for (_, entry) in &batch {
            match entry {
                OutboxEvent::CaseChanged {
                    number,
                    channel,
                    event_seq,
                    event,
                    actor,
                } => {
                    // No subscribers is fine: nobody is watching.
                    let _ = self.sender.send(LiveEvent {
                        number: *number,
                        channel: *channel,
                        event_seq: *event_seq,
                        event: event.clone(),
                        actor: actor.clone(),
                    });
                }
            }
        }
        store
            .write(move |txn| txn.ack_outbox(CONSUMER_NAME, last))
            .await?;
        Ok(batch.len() == BATCH)
    }
}
