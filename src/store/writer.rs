//! The single writer thread. redb allows one write transaction at a time and
//! `begin_write` blocks, so every change is sent here; changes that arrive
//! together share one transaction and one fsync.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use redb::Database;
use tokio::sync::{mpsc, oneshot, watch};

use super::{StoreError, WriteTxn};

/// Most changes committed together in one transaction.
const MAX_BATCH: usize = 64;

trait Job: Send {
    /// Applies the change; false when it failed (its error is kept).
    fn apply(&mut self, txn: &WriteTxn) -> bool;
    /// Reports the outcome: the change's own, or the commit's failure.
    fn finish(self: Box<Self>, commit: Result<(), StoreError>);
}

struct TypedJob<F, T, E> {
    change: F,
    outcome: Option<Result<T, E>>,
    reply: oneshot::Sender<Result<T, E>>,
}

impl<F, T, E> Job for TypedJob<F, T, E>
where
    F: Fn(&WriteTxn) -> Result<T, E> + Send,
    T: Send,
    E: From<StoreError> + Send,
{
    fn apply(&mut self, txn: &WriteTxn) -> bool {
        let outcome =
            catch_unwind(AssertUnwindSafe(|| (self.change)(txn))).unwrap_or_else(|panic| {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a change panicked".into());
                tracing::error!(%message, "write job panicked");
                Err(StoreError::Panicked(message).into())
            });
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<(), StoreError>) {
        let result = match (commit, self.outcome) {
            (Err(e), _) => Err(e.into()),
            (Ok(()), Some(outcome)) => outcome,
            (Ok(()), None) => Err(StoreError::Closed.into()),
        };
        // The requester may have gone away; the change is committed anyway.
        let _ = self.reply.send(result);
    }
}

pub struct WriterHandle {
    /// `None` once closing.
    jobs: Option<mpsc::UnboundedSender<Box<dyn Job>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for WriterHandle {
    /// Lets the writer finish what it was given and waits for it, so the
    /// database is closed when the store is: a new `Store::open` of the
    /// same directory in this process then succeeds.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take()
            // A change holding the last handle ends on the writer itself.
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

impl WriterHandle {
    pub async fn submit<T, E, F>(&self, change: F) -> Result<T, E>
    where
        F: Fn(&WriteTxn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(TypedJob {
            change,
            outcome: None,
            reply,
        });
        let jobs = self.jobs.as_ref().ok_or(StoreError::Closed)?;
        jobs.send(job).map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

pub fn spawn(db: Arc<Database>, commits: watch::Sender<u64>) -> WriterHandle {
    let (jobs, mut queue) = mpsc::unbounded_channel::<Box<dyn Job>>();
    let thread = std::thread::Builder::new()
        .name("docket-store-writer".into())
        .spawn(move || {
            while let Some(first) = queue.blocking_recv() {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match queue.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                run_batch(&db, batch, &commits);
            }
        })
        .expect("the store writer thread could not be started");
    WriterHandle {
        jobs: Some(jobs),
        thread: Some(thread),
    }
}

/// Commits the batch in one transaction. If any change fails, nothing of the
/// batch is kept and each change is retried alone, so one bad request never
/// takes others down with it.
fn run_batch(db: &Database, mut batch: Vec<Box<dyn Job>>, commits: &watch::Sender<u64>) {
    let txn = match db.begin_write() {
        Ok(txn) => WriteTxn(txn),
        Err(e) => {
            let err = StoreError::from(e);
            batch
                .into_iter()
                .for_each(|job| job.finish(Err(err.clone())));
            return;
        }
    };
    let all_applied = batch.iter_mut().all(|job| job.apply(&txn));
    if all_applied {
        let committed = txn.0.commit().map_err(StoreError::from);
        if committed.is_ok() {
            commits.send_modify(|n| *n += 1);
        }
        batch
            .into_iter()
            .for_each(|job| job.finish(committed.clone()));
    } else if batch.len() == 1 {
        drop(txn.0.abort());
        batch.into_iter().for_each(|job| job.finish(Ok(())));
    } else {
        drop(txn.0.abort());
        for job in batch {
            run_batch(db, vec![job], commits);
        }
    }
}
