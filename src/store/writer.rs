//! The single writer thread. redb allows one write transaction at a time and
//! `begin_write` blocks, so every change is sent here; changes that arrive
//! together share one transaction and one fsync.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use redb::{CommitError, Database, StorageError, TransactionError};
use tokio::sync::{mpsc, oneshot, watch};

use super::space::Reserve;
use super::{StoreError, WriteTxn};

/// The database, shared by readers and the writer. A write that fails with
/// an I/O error (a full disk) leaves redb refusing everything until the
/// file is opened again, so the writer then reopens it here: once space is
/// freed, writes resume without a restart.
pub struct SharedDb {
    current: RwLock<Option<Arc<Database>>>,
    path: PathBuf,
    reserve: Reserve,
    /// Free bytes on the disk when it last refused a write, and when:
    /// writes wait until space is freed beyond that (see `check_space`).
    refused_at: Mutex<Option<(u64, Instant)>>,
    /// When a read last tried to open a database a failed reopen left
    /// closed.
    read_reopen_at: Mutex<Option<Instant>>,
}

/// Space to be freed beyond what was free when the disk refused a write
/// before writes are tried again.
const REFUSAL_HEADROOM: u64 = 1 << 20;
/// After this long a write is tried again anyway: space may have been
/// freed before the refusal was measured, and one more refused write costs
/// only a moment of failed reads.
const REFUSAL_LIFETIME: Duration = Duration::from_secs(10);
/// How often reads try to open a database that a failed reopen left
/// closed.
const READ_REOPEN_PAUSE: Duration = Duration::from_secs(1);

/// How often a reopen is tried while readers still hold the old file.
const REOPEN_TRIES: u32 = 40;
const REOPEN_PAUSE: Duration = Duration::from_millis(50);

impl SharedDb {
    pub fn new(db: Database, path: PathBuf, reserve: Reserve) -> SharedDb {
        SharedDb {
            current: RwLock::new(Some(Arc::new(db))),
            path,
            reserve,
            refused_at: Mutex::new(None),
            read_reopen_at: Mutex::new(None),
        }
    }

    /// The open database. When a failed reopen left it closed, reads try
    /// to open it again (once a second), so a desk that only reads recovers
    /// without waiting for a write.
    pub fn get(&self) -> Result<Arc<Database>, StoreError> {
        if let Some(db) = self
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            return Ok(db);
        }
        {
            let mut last = self
                .read_reopen_at
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|at| at.elapsed() < READ_REOPEN_PAUSE) {
                return Err(StoreError::Reopening);
            }
            *last = Some(Instant::now());
        }
        let mut slot = self.current.write().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            match super::open_database(&self.path) {
                Ok(db) => {
                    *slot = Some(Arc::new(db));
                    tracing::warn!("reopened the database for reading after a disk error");
                }
                Err(e) => tracing::warn!(error = %e, "the database could not be opened yet"),
            }
        }
        slot.clone().ok_or(StoreError::Reopening)
    }

    /// Room for `bytes` beyond the reserve on the database's disk. Once the
    /// disk itself has refused a write, writes are refused up front until
    /// space is freed: every refused write poisons the open file for the
    /// reads running beside it, so trying again on a still-full disk would
    /// fail reads too.
    pub fn check_space(&self, bytes: u64) -> Result<(), StoreError> {
        let mut refused_at = self.refused_at.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((free_then, when)) = *refused_at {
            let free_now = super::space::free_bytes(&self.path).unwrap_or(u64::MAX);
            if free_now < free_then.saturating_add(REFUSAL_HEADROOM)
                && when.elapsed() < REFUSAL_LIFETIME
            {
                return Err(self.reserve.full(&self.path));
            }
            *refused_at = None;
        }
        drop(refused_at);
        self.reserve.check(&self.path, bytes)
    }

    /// Remembers that the disk refused a write, with what was free then.
    fn note_disk_refused(&self) {
        let free = super::space::free_bytes(&self.path).unwrap_or(0);
        *self.refused_at.lock().unwrap_or_else(|p| p.into_inner()) = Some((free, Instant::now()));
    }

    /// Closes and opens the database file again. Readers finishing with
    /// the old file may hold it a moment; the open is retried meanwhile.
    fn reopen(&self) -> Result<(), StoreError> {
        let mut slot = self.current.write().unwrap_or_else(|p| p.into_inner());
        drop(slot.take());
        let mut last = StoreError::Reopening;
        for _ in 0..REOPEN_TRIES {
            match super::open_database(&self.path) {
                Ok(db) => {
                    *slot = Some(Arc::new(db));
                    tracing::warn!("reopened the database after a disk error");
                    return Ok(());
                }
                Err(e) => last = StoreError::from(e),
            }
            std::thread::sleep(REOPEN_PAUSE);
        }
        tracing::error!(error = %last, "could not reopen the database; writes wait");
        Err(last)
    }

    /// The database, reopening it first if an earlier failure closed it.
    fn get_or_reopen(&self) -> Result<Arc<Database>, StoreError> {
        match self.get() {
            Ok(db) => Ok(db),
            Err(_) => self.reopen().and_then(|()| self.get()),
        }
    }
}

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

pub fn spawn(db: Arc<SharedDb>, commits: watch::Sender<u64>) -> WriterHandle {
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
                write_batch(&db, batch, &commits);
            }
        })
        .expect("the store writer thread could not be started");
    WriterHandle {
        jobs: Some(jobs),
        thread: Some(thread),
    }
}

/// Writes one batch: refused at once while the disk is below its reserve;
/// after an I/O failure the database is reopened and the batch tried once
/// more (nothing of it was committed, and changes may run again).
fn write_batch(shared: &SharedDb, batch: Vec<Box<dyn Job>>, commits: &watch::Sender<u64>) {
    let mut pending = batch;
    for attempt in 0..2 {
        let ready = shared.check_space(0).and_then(|()| shared.get_or_reopen());
        let db = match ready {
            Ok(db) => db,
            Err(e) => return fail_all(pending, &e),
        };
        match run_batch(&db, pending, commits) {
            Ok(()) => return,
            Err((rest, error)) => {
                drop(db);
                if error.disk_full {
                    shared.note_disk_refused();
                }
                let reopened = shared.reopen();
                if attempt == 1 || reopened.is_err() {
                    return fail_all(rest, &error.as_store_error(shared));
                }
                pending = rest;
            }
        }
    }
}

fn fail_all(batch: Vec<Box<dyn Job>>, error: &StoreError) {
    batch
        .into_iter()
        .for_each(|job| job.finish(Err(error.clone())));
}

/// A write the disk refused: redb accepts nothing more from that file.
struct IoFailure {
    disk_full: bool,
    message: String,
}

impl IoFailure {
    fn of(error: &StorageError) -> Option<IoFailure> {
        match error {
            StorageError::Io(e) => Some(IoFailure {
                disk_full: e.kind() == std::io::ErrorKind::StorageFull,
                message: e.to_string(),
            }),
            StorageError::PreviousIo => Some(IoFailure {
                disk_full: false,
                message: error.to_string(),
            }),
            _ => None,
        }
    }

    fn as_store_error(&self, shared: &SharedDb) -> StoreError {
        if self.disk_full {
            shared.reserve.full(&shared.path)
        } else {
            StoreError::Backend(self.message.clone())
        }
    }
}

type Unfinished = (Vec<Box<dyn Job>>, IoFailure);

/// Commits the batch in one transaction. If any change fails, nothing of the
/// batch is kept and each change is retried alone, so one bad request never
/// takes others down with it. An I/O failure hands back the changes not yet
/// answered, for a retry on the reopened file.
fn run_batch(
    db: &Database,
    mut batch: Vec<Box<dyn Job>>,
    commits: &watch::Sender<u64>,
) -> Result<(), Unfinished> {
    let txn = match db.begin_write() {
        Ok(txn) => WriteTxn(txn),
        Err(e) => {
            if let TransactionError::Storage(storage) = &e
                && let Some(failure) = IoFailure::of(storage)
            {
                return Err((batch, failure));
            }
            fail_all(batch, &StoreError::from(e));
            return Ok(());
        }
    };
    let all_applied = batch.iter_mut().all(|job| job.apply(&txn));
    if all_applied {
        let committed = txn.0.commit();
        if let Err(CommitError::Storage(storage)) = &committed
            && let Some(failure) = IoFailure::of(storage)
        {
            return Err((batch, failure));
        }
        let committed = committed.map_err(StoreError::from);
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
        let mut jobs = batch.into_iter();
        while let Some(job) = jobs.next() {
            if let Err((mut rest, failure)) = run_batch(db, vec![job], commits) {
                rest.extend(jobs);
                return Err((rest, failure));
            }
        }
    }
    Ok(())
}
