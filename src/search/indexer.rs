//! The indexer: the outbox consumer that keeps the search index in step
//! with redb, and rebuilds it from redb when it is missing or behind.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{Engine, SearchError, SearchIndex, case_document};
use crate::store::{OutboxEvent, Reads, Store, StoreError, Writes};

pub const CONSUMER_NAME: &str = "search";

/// Outbox entries handled per commit.
const BATCH: usize = 2000;

#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the indexing task stopped: {0}")]
    Join(String),
}

/// Runs until `shutdown` turns true. `rebuild` asks for a full rebuild first.
pub async fn run(
    search: Arc<SearchIndex>,
    store: Store,
    mut rebuild: bool,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut commits = store.commits();
    loop {
        if rebuild || search.take_rebuild_request() || is_behind(&search, &store) {
            match rebuild_from_store(search.clone(), store.clone()).await {
                Ok(_) => rebuild = false,
                Err(e) => {
                    tracing::error!(error = %e, "rebuilding the search index failed; retrying in 10 seconds");
                    rebuild = true;
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(10)) => continue,
                        _ = shutdown.wait_for(|stop| *stop) => return,
                    }
                }
            }
        }
        match drain(&search, &store).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "indexing failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        tokio::select! {
            changed = commits.changed() => if changed.is_err() { return },
            _ = shutdown.wait_for(|stop| *stop) => return,
            // Also the pace at which a requested rebuild is noticed.
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// The index misses changes the outbox no longer holds: rebuild.
fn is_behind(search: &SearchIndex, store: &Store) -> bool {
    let Some(engine) = search.engine() else {
        return true;
    };
    let cursor = store
        .read()
        .and_then(|txn| txn.outbox_cursor(CONSUMER_NAME))
        .unwrap_or(0);
    engine.indexed_seq() < cursor
}

/// Indexes one batch of outbox entries; true when there may be more.
async fn drain(search: &Arc<SearchIndex>, store: &Store) -> Result<bool, IndexerError> {
    let Some(engine) = search.engine() else {
        return Ok(false);
    };
    let batch_store = store.clone();
    let (last, more) = tokio::task::spawn_blocking(move || index_batch(&engine, &batch_store))
        .await
        .map_err(|e| IndexerError::Join(e.to_string()))??;
    if let Some(last) = last {
        search.set_indexed(last);
        store
            .write(move |txn| txn.ack_outbox(CONSUMER_NAME, last))
            .await?;
    }
    Ok(more)
}

fn index_batch(engine: &Engine, store: &Store) -> Result<(Option<u64>, bool), IndexerError> {
    let txn = store.read()?;
    let entries = txn.outbox_after(engine.indexed_seq(), BATCH)?;
    let Some((last, _)) = entries.last() else {
        return Ok((None, false));
    };
    let last = *last;
    let mut numbers: Vec<u64> = entries
        .iter()
        .map(|(_, event)| match event {
            OutboxEvent::CaseChanged { number, .. } => *number,
        })
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    let mut changes = Vec::with_capacity(numbers.len());
    for number in numbers {
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
    drop(txn);
    engine.apply(changes, last)?;
    Ok((Some(last), entries.len() == BATCH))
}

/// Builds a complete index from a redb snapshot beside the current one, then
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
        .write(move |txn| txn.ack_outbox(CONSUMER_NAME, seq))
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
