//! The indexer: what the search consumer of the outbox does to keep the
//! index in step with the store, and rebuilding it from the store when it
//! is missing or behind. `workers` runs it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Engine, SearchError, SearchIndex, TantivyDocument, case_document};
use crate::store::{Consumer, OutboxEvent, Reads, Store, StoreError, Writes};

/// Outbox entries handled per commit.
pub const BATCH: usize = 2000;
/// How long a failed rebuild waits before the next try.
const REBUILD_RETRY: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the indexing task stopped: {0}")]
    Join(String),
}

/// Keeps the index in step with the outbox entries it is handed, and
/// rebuilds it whole when it is missing, behind, or asked to.
pub struct Indexer {
    search: Arc<SearchIndex>,
    rebuild: bool,
    /// Whether the index as opened was checked for cases held twice.
    checked_at_start: bool,
    /// After a failed rebuild: not before then.
    retry_at: Option<Instant>,
}

impl Indexer {
    /// `rebuild` asks for a full rebuild first.
    pub fn new(search: Arc<SearchIndex>, rebuild: bool) -> Indexer {
        Indexer {
            search,
            rebuild,
            checked_at_start: false,
            retry_at: None,
        }
    }

    /// Rebuilds the index when it must be; false while it cannot take
    /// entries (a rebuild failed and waits to be tried again).
    pub async fn catch_up(&mut self, store: &Store) -> bool {
        if self.retry_at.is_some_and(|at| Instant::now() < at) {
            return false;
        }
        if self.rebuild || self.search.take_rebuild_request() || self.is_behind(store) {
            match rebuild_from_store(self.search.clone(), store.clone()).await {
                Ok(_) => {
                    self.rebuild = false;
                    self.retry_at = None;
                }
                Err(e) => {
                    tracing::error!(error = %e, "rebuilding the search index failed; retrying in 10 seconds");
                    self.rebuild = true;
                    self.retry_at = Some(Instant::now() + REBUILD_RETRY);
                    return false;
                }
            }
        }
        if !self.checked_at_start {
            self.checked_at_start = true;
            self.check_as_opened(store).await;
        }
        true
    }

    /// The index as a stopped (or killed) process left it is checked once,
    /// before changes arrive: a case held twice is replaced.
    async fn check_as_opened(&self, store: &Store) {
        let Some(engine) = self.search.engine() else {
            return;
        };
        let store = store.clone();
        let seq = engine.indexed_seq();
        let checked =
            tokio::task::spawn_blocking(move || repair_duplicates(&engine, &store, seq)).await;
        match checked {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => self.search.request_rebuild(),
            Ok(Err(e)) => tracing::warn!(error = %e, "could not check the search index"),
            Err(e) => tracing::warn!(error = %e, "could not check the search index"),
        }
    }

    /// The index misses changes the outbox no longer holds: rebuild.
    fn is_behind(&self, store: &Store) -> bool {
        let Some(engine) = self.search.engine() else {
            return true;
        };
        let cursor = store
            .read()
            .and_then(|txn| txn.outbox_cursor(Consumer::Search))
            .unwrap_or(0);
        engine.indexed_seq() < cursor
    }

    /// The last outbox entry the index holds (recorded in its own commit,
    /// so a crash between the commit and the store's cursor replays
    /// nothing twice); `None` before the first build.
    pub fn position(&self) -> Option<u64> {
        self.search.engine().map(|engine| engine.indexed_seq())
    }

    /// Indexes the cases `entries` name, up to the last entry's sequence.
    pub async fn index(
        &self,
        store: &Store,
        entries: &[(u64, OutboxEvent)],
    ) -> Result<(), IndexerError> {
        let (Some(engine), Some(&(last, _))) = (self.search.engine(), entries.last()) else {
            return Ok(());
        };
        let mut numbers: Vec<u64> = entries.iter().map(|(_, event)| event.case()).collect();
        numbers.sort_unstable();
        numbers.dedup();
        let store = store.clone();
        let sound =
            tokio::task::spawn_blocking(move || index_cases(&engine, &store, numbers, last))
                .await
                .map_err(|e| IndexerError::Join(e.to_string()))??;
        if !sound {
            self.search.request_rebuild();
        }
        self.search.set_indexed(last);
        Ok(())
    }
}

/// Replaces the documents of `numbers` and commits the index at `seq`;
/// false when the index must be rebuilt (a case stays in it twice).
fn index_cases(
    engine: &Engine,
    store: &Store,
    numbers: Vec<u64>,
    seq: u64,
) -> Result<bool, IndexerError> {
    engine.apply(documents_of(engine, store, &numbers)?, seq)?;
    repair_duplicates(engine, store, seq)
}

/// Each case's document as the store holds it now; `None` for a case that
/// is gone.
fn documents_of(
    engine: &Engine,
    store: &Store,
    numbers: &[u64],
) -> Result<Vec<(u64, Option<TantivyDocument>)>, IndexerError> {
    let txn = store.read()?;
    let mut changes = Vec::with_capacity(numbers.len());
    for &number in numbers {
        let document = match txn.case(number)? {
            Some(case) => Some(case_document(
                engine.fields(),
                &case,
                &txn.activity(number)?,
            )),
            None => None,
        };
        changes.push((number, document));
    }
    Ok(changes)
}

/// A case must be in the index once. After a crash a case was seen listed
/// twice, not always one just written (a merge may bring it back), so
/// every number is checked each time searches see a new state. A case
/// found twice is replaced once more; if that does not help, the index is
/// rebuilt.
fn repair_duplicates(engine: &Engine, store: &Store, seq: u64) -> Result<bool, IndexerError> {
    let duplicated = engine.duplicated_anywhere()?;
    if duplicated.is_empty() {
        return Ok(true);
    }
    tracing::warn!(cases = ?duplicated, seq, "the search index held a case twice; replacing it");
    engine.apply(documents_of(engine, store, &duplicated)?, seq)?;
    let still = engine.duplicated(&duplicated)?;
    if !still.is_empty() {
        tracing::error!(cases = ?still, "cases stay in the search index twice; rebuilding it");
    }
    Ok(still.is_empty())
}

/// Builds a complete index from a store snapshot beside the current one, then
/// swaps it in; searches use the old index meanwhile.
pub async fn rebuild_from_store(
    search: Arc<SearchIndex>,
    store: Store,
) -> Result<u64, IndexerError> {
    let started = Instant::now();
    tracing::info!("building the search index from the store");
    let builder = search.clone();
    let snapshot_store = store.clone();
    search.set_rebuilding(true);
    let built = tokio::task::spawn_blocking(move || build_snapshot(&builder, &snapshot_store))
        .await
        .map_err(|e| IndexerError::Join(e.to_string()));
    search.set_rebuilding(false);
    let (seq, cases) = built??;
    store
        .write(move |txn| txn.ack_outbox(Consumer::Search, seq))
        .await?;
    tracing::info!(
        cases,
        seconds = started.elapsed().as_secs_f64(),
        "the search index is ready"
    );
    Ok(cases)
}

fn build_snapshot(search: &SearchIndex, store: &Store) -> Result<(u64, u64), IndexerError> {
    let mut builder = search.bulk_builder()?;
    let txn = store.read()?;
    let seq = txn.outbox_head()?;
    let mut failure: Option<IndexerError> = None;
    txn.scan_cases_desc(None, &mut |case| {
        let added = txn
            .activity(case.number)
            .map_err(IndexerError::from)
            .and_then(|activity| builder.add(&case, &activity).map_err(IndexerError::from));
        if let Err(e) = added {
            failure = Some(e);
            return false;
        }
        if builder.added().is_multiple_of(100_000) {
            tracing::info!(cases = builder.added(), "indexing...");
        }
        true
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    drop(txn);
    let cases = search.finish_bulk(builder, seq)?;
    Ok((seq, cases))
}
