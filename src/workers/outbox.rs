//! The one loop that drives every consumer of the outbox: read the entries
//! after the consumer's position, let it handle them, then move its cursor
//! in one transaction with whatever it asked to write. A consumer that
//! fails is tried again; a crash replays from its cursor.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::NotifyConfig;
use crate::live::LiveFeed;
use crate::search::indexer::{self, Indexer};
use crate::store::{
    Consumer, OutboxEvent, QueueWrites, ReadTxn, Reads, ReportReads, Store, StoreError,
    StoreResult, WriteTxn, Writes,
};

/// What a consumer asks to be written in the transaction that acknowledges
/// its batch, so its work and its cursor move together.
pub type WriteWithAck = Box<dyn Fn(&WriteTxn) -> StoreResult<()> + Send>;

#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] indexer::IndexerError),
}

/// One consumer of the outbox.
pub trait OutboxConsumer: Send + 'static {
    /// Whose cursor it moves.
    const CONSUMER: Consumer;
    /// Entries handled per round.
    const BATCH: usize;
    /// The longest pause between rounds when no commit wakes it.
    const IDLE: Duration = Duration::from_secs(5);

    /// Work before each round; false when it cannot take entries now.
    fn prepare(&mut self, _store: &Store) -> impl Future<Output = bool> + Send {
        async { true }
    }

    /// Where its next batch starts: the stored cursor, unless the consumer
    /// keeps its own position; `None` while it has none.
    fn position(&self, txn: &ReadTxn) -> StoreResult<Option<u64>> {
        txn.outbox_cursor(Self::CONSUMER).map(Some)
    }

    /// Handles a batch, oldest first.
    fn handle(
        &mut self,
        store: &Store,
        entries: &[(u64, OutboxEvent)],
    ) -> impl Future<Output = Result<Option<WriteWithAck>, ConsumerError>> + Send;
}

/// Runs `consumer` until `stopping` turns true.
pub async fn run<C: OutboxConsumer>(
    mut consumer: C,
    store: Store,
    mut stopping: watch::Receiver<bool>,
) {
    let mut commits = store.commits();
    loop {
        if *stopping.borrow() {
            return;
        }
        match round(&mut consumer, &store).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => {
                let consumer = C::CONSUMER.name();
                tracing::warn!(consumer, error = %e, "an outbox consumer failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stopping.wait_for(|stop| *stop) => return,
                }
            }
        }
        tokio::select! {
            changed = commits.changed() => if changed.is_err() { return },
            _ = stopping.wait_for(|stop| *stop) => return,
            // A safety net against a missed wake-up, and the pace at which
            // a consumer's own conditions (a requested rebuild) are seen.
            _ = tokio::time::sleep(C::IDLE) => {}
        }
    }
}

/// Handles one batch and acknowledges it; true when there may be more.
async fn round<C: OutboxConsumer>(consumer: &mut C, store: &Store) -> Result<bool, ConsumerError> {
    if !consumer.prepare(store).await {
        return Ok(false);
    }
    let entries = {
        let txn = store.read()?;
        let Some(position) = consumer.position(&txn)? else {
            return Ok(false);
        };
        txn.outbox_after(position, C::BATCH)?
    };
    let Some(&(last, _)) = entries.last() else {
        return Ok(false);
    };
    let with_ack = consumer.handle(store, &entries).await?;
    store
        .write(move |txn| {
            if let Some(write) = &with_ack {
                write(txn)?;
            }
            txn.ack_outbox(C::CONSUMER, last)
        })
        .await?;
    Ok(entries.len() == C::BATCH)
}

/// Live updates: each entry is broadcast to the pages and API clients
/// watching.
impl OutboxConsumer for LiveFeed {
    const CONSUMER: Consumer = Consumer::Live;
    const BATCH: usize = 256;

    async fn handle(
        &mut self,
        _store: &Store,
        entries: &[(u64, OutboxEvent)],
    ) -> Result<Option<WriteWithAck>, ConsumerError> {
        self.publish(entries);
        Ok(None)
    }
}

/// The search index: the cases entries name are indexed again. The index
/// keeps its own position in its commits.
impl OutboxConsumer for Indexer {
    const CONSUMER: Consumer = Consumer::Search;
    const BATCH: usize = indexer::BATCH;
    const IDLE: Duration = Duration::from_secs(1);

    async fn prepare(&mut self, store: &Store) -> bool {
        self.catch_up(store).await
    }

    fn position(&self, _txn: &ReadTxn) -> StoreResult<Option<u64>> {
        Ok(Indexer::position(self))
    }

    async fn handle(
        &mut self,
        store: &Store,
        entries: &[(u64, OutboxEvent)],
    ) -> Result<Option<WriteWithAck>, ConsumerError> {
        self.index(store, entries).await?;
        Ok(None)
    }
}

/// Slack notifications: the messages entries call for become deliveries,
/// stored with the acknowledgement and posted by the retry queue.
pub struct Notifier {
    pub config: Arc<NotifyConfig>,
}

impl OutboxConsumer for Notifier {
    const CONSUMER: Consumer = Consumer::Notify;
    const BATCH: usize = 256;

    async fn handle(
        &mut self,
        store: &Store,
        entries: &[(u64, OutboxEvent)],
    ) -> Result<Option<WriteWithAck>, ConsumerError> {
        let deliveries = crate::notify::deliveries_for(&store.read()?, entries, &self.config)?;
        if deliveries.is_empty() {
            return Ok(None);
        }
        Ok(Some(Box::new(move |txn| {
            for delivery in &deliveries {
                txn.add_delivery(delivery)?;
            }
            Ok(())
        })))
    }
}

/// Report figures: each case an entry names files its contribution again,
/// in the transaction that moves the cursor. A store without figures (new,
/// upgraded, or asked to rebuild) is built from the cases first.
pub struct ReportFigures {
    pub zone: chrono_tz::Tz,
}

impl OutboxConsumer for ReportFigures {
    const CONSUMER: Consumer = Consumer::Reports;
    const BATCH: usize = 256;

    async fn prepare(&mut self, store: &Store) -> bool {
        let zone = crate::store::zone_code(self.zone);
        match store.read().and_then(|txn| txn.reports_built(zone)) {
            Ok(true) => return true,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot tell whether report figures are built");
                return false;
            }
        }
        let started = std::time::Instant::now();
        match crate::service::reports::rebuild_reports(store, self.zone).await {
            Ok(cases) => {
                let seconds = started.elapsed().as_secs_f64();
                tracing::info!(cases, seconds, "built the report figures from the cases");
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "building the report figures failed; retrying");
                false
            }
        }
    }

    async fn handle(
        &mut self,
        _store: &Store,
        entries: &[(u64, OutboxEvent)],
    ) -> Result<Option<WriteWithAck>, ConsumerError> {
        let mut cases: Vec<_> = entries.iter().map(|(_, e)| e.case()).collect();
        cases.sort_unstable();
        cases.dedup();
        let zone = self.zone;
        Ok(Some(Box::new(move |txn| {
            crate::service::reports::refresh_contributions(txn, &cases, zone)
        })))
    }
}
