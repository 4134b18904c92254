//! The store: redb tables, their encodings, the single writer, the outbox and
//! schema migrations. redb is the truth; everything else is derived from it.

mod ai;
pub mod backup;
pub mod blobs;
mod codec;
mod conversations;
mod dictionary;
mod files;
pub mod mail;
mod migrate;
pub mod outbox;
mod queue;
pub mod records;
mod reports;
mod saved_replies;
pub mod space;
mod tables;
mod widget;
mod writer;

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, Key, ReadOnlyTable, Table, TableDefinition, TableError, Value};
use tokio::sync::watch;

pub use ai::{AiReads, AiWrites};
pub use conversations::{ConversationReads, ConversationWrites};
pub use dictionary::{RECOMPRESS_CASES_PER_STEP, Recompressed};
pub use files::{FileReads, FileWrites};
pub use mail::{MailReads, MailWrites};
pub use outbox::{Consumer, OutboxEvent};
pub use queue::{Delivery, MailboxImport, QueueReads, QueueWrites, RecordingJob};
pub use records::{Reads, TokenKind, TokenRecord, Writes};
pub use reports::{ReportGrain, ReportReads, ReportWrites, zone_code};
pub use saved_replies::{SavedReplyReads, SavedReplyWrites};
pub use widget::{WidgetReads, WidgetWrites};

/// Failures of the storage layer. Cloneable because one commit failure is
/// reported to every request in its batch.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the data directory {path} is in use by another docket process{holder}; \
         stop that process first, or point --data at another directory"
    )]
    Locked { path: PathBuf, holder: String },
    #[error("cannot use the data directory {path}: {reason}")]
    DataDir { path: PathBuf, reason: String },
    #[error(
        "the data directory was written by a newer docket (schema {found}; this binary knows up to {known}); \
         run the newer docket binary"
    )]
    SchemaTooNew { found: u32, known: u32 },
    #[error("storage error: {0}")]
    Backend(String),
    #[error("a stored record could not be read: {0}")]
    Corrupt(String),
    #[error("the store is shutting down")]
    Closed,
    /// Writes are refused while the data directory's disk is (nearly) full.
    #[error(
        "the disk holding the data directory is full or nearly full ({free_mib} MiB free, \
         {reserve_mib} MiB kept in reserve); nothing was saved. Writes resume by \
         themselves once space is freed"
    )]
    DiskFull { free_mib: u64, reserve_mib: u64 },
    /// The database file is being reopened after a failed write.
    #[error("the database is being reopened after a disk error; retry shortly")]
    Reopening,
    #[error("internal error while writing: {0}")]
    Panicked(String),
}

macro_rules! backend_errors {
    ($($ty:ty),+) => {
        $(impl From<$ty> for StoreError {
            fn from(err: $ty) -> Self {
                StoreError::from_engine(err.into())
            }
        })+
    };
}
backend_errors!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::CompactionError
);

impl From<redb::Error> for StoreError {
    fn from(err: redb::Error) -> Self {
        StoreError::from_engine(err)
    }
}

impl StoreError {
    /// A write the disk refused leaves the open file answering every read
    /// with "previous I/O error" until the writer has reopened it; a read
    /// caught in that moment is told to retry, not that the server failed.
    fn from_engine(err: redb::Error) -> Self {
        match err {
            redb::Error::PreviousIo | redb::Error::DatabaseClosed => StoreError::Reopening,
            other => StoreError::Backend(other.to_string()),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// redb's own page cache. Its default (1 GiB) made the heap the largest
/// part of the server's memory; pages it does not keep are read again
/// through the kernel's file cache, which a busy VM shares with the index.
const PAGE_CACHE_BYTES: usize = 256 << 20;

/// Opens (or creates) the database file with Docket's cache size.
pub(crate) fn open_database(path: &Path) -> Result<Database, redb::DatabaseError> {
    Database::builder()
        .set_cache_size(PAGE_CACHE_BYTES)
        .create(path)
}

/// The database file inside the data directory.
pub const DB_FILE: &str = "docket.redb";
/// The data directory's lock file (see `lock_data_dir`).
pub const LOCK_FILE: &str = "docket.lock";

/// A write transaction, as the service's changes receive it. The store's
/// engine stays behind this type: callers use the `Writes` and `MailWrites`
/// methods, never its tables.
pub struct WriteTxn(redb::WriteTransaction);

/// A consistent snapshot for reading, through the `Reads` and `MailReads`
/// methods.
pub struct ReadTxn {
    txn: redb::ReadTransaction,
    channels: Arc<records::ChannelCache>,
}

impl WriteTxn {
    fn open_table<'txn, K: Key + 'static, V: Value + 'static>(
        &'txn self,
        definition: TableDefinition<K, V>,
    ) -> Result<Table<'txn, K, V>, TableError> {
        self.0.open_table(definition)
    }

    /// A change reads the channels it may itself have changed: never cached.
    fn channel_cache(&self) -> Option<&records::ChannelCache> {
        None
    }
}

impl ReadTxn {
    fn open_table<K: Key + 'static, V: Value + 'static>(
        &self,
        definition: TableDefinition<K, V>,
    ) -> Result<ReadOnlyTable<K, V>, TableError> {
        self.txn.open_table(definition)
    }

    fn channel_cache(&self) -> Option<&records::ChannelCache> {
        Some(&self.channels)
    }
}

/// Handle to the open store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<writer::SharedDb>,
    writer: writer::WriterHandle,
    commits: watch::Receiver<u64>,
    /// The channels as last decoded (see `Reads::shared_channels`).
    channels: Arc<records::ChannelCache>,
    // Held for the life of the store: the OS releases the lock if we die.
    _lock: File,
}

impl Store {
    /// Opens (or creates) the store in `data_dir`, takes the directory lock,
    /// runs migrations and starts the writer thread.
    pub fn open(data_dir: &Path) -> StoreResult<Store> {
        Store::open_with_reserve(data_dir, space::Reserve::default())
    }

    /// Opens the store refusing writes while less than `reserve` is free on
    /// the data directory's disk.
    pub fn open_with_reserve(data_dir: &Path, reserve: space::Reserve) -> StoreResult<Store> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::DataDir {
            path: data_dir.to_owned(),
            reason: e.to_string(),
        })?;
        let lock = lock_data_dir(data_dir)?;
        let db = open_database(&data_dir.join(DB_FILE)).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked {
                path: data_dir.to_owned(),
                holder: String::new(),
            },
            other => StoreError::from(other),
        })?;
        migrate::run(&db)?;
        let db = Arc::new(writer::SharedDb::new(db, data_dir.join(DB_FILE), reserve));
        let (commits_tx, commits) = watch::channel(0);
        let writer = writer::spawn(db.clone(), commits_tx);
        Ok(Store {
            inner: Arc::new(Inner {
                db,
                writer,
                commits,
                channels: Arc::default(),
                _lock: lock,
            }),
        })
    }

    /// A consistent snapshot for reading. Never hold one across an `.await`.
    pub fn read(&self) -> StoreResult<ReadTxn> {
        Ok(ReadTxn {
            txn: redb::ReadableDatabase::begin_read(&*self.inner.db.get()?)?,
            channels: self.inner.channels.clone(),
        })
    }

    /// Whether the store takes writes now: `Err` says why not (a disk
    /// below its reserve, a database being reopened).
    pub fn writable(&self) -> StoreResult<()> {
        self.inner.db.get()?;
        self.inner.db.check_space(0)
    }

    /// Checks there is room for `bytes` more beyond the reserve (a file
    /// about to be stored outside the database).
    pub fn check_space(&self, bytes: u64) -> StoreResult<()> {
        self.inner.db.check_space(bytes)
    }

    /// Runs `change` in a write transaction on the writer thread and returns
    /// once it is durably committed (or failed, with nothing written).
    ///
    /// `change` may run more than once: when another change in the same batch
    /// fails, the batch is retried one change per transaction. It must
    /// therefore derive everything from the transaction it is given.
    pub async fn write<T, E, F>(&self, change: F) -> Result<T, E>
    where
        F: Fn(&WriteTxn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.inner.writer.submit(change).await
    }

    /// Bytes of the database file that hold records. The rest of the file
    /// is free pages, reused before the file grows (`docket compact` gives
    /// them back to the disk).
    pub async fn allocated_bytes(&self) -> StoreResult<u64> {
        self.write(|txn| {
            let stats = txn.0.stats()?;
            Ok::<_, StoreError>(stats.allocated_pages() * stats.page_size() as u64)
        })
        .await
    }

    /// Changes whenever a transaction commits; outbox consumers wait on it.
    pub fn commits(&self) -> watch::Receiver<u64> {
        self.inner.commits.clone()
    }
}

/// The data directory held for maintenance (checking or compacting the
/// database file) without opening the store: no server can start meanwhile.
pub struct DataDirLock {
    _file: File,
}

/// Takes the data directory's lock, as a running server holds it.
pub fn hold_data_dir(data_dir: &Path) -> StoreResult<DataDirLock> {
    lock_data_dir(data_dir).map(|file| DataDirLock { _file: file })
}

/// Takes an exclusive lock on the data directory, so a second process gets a
/// clear error instead of a corrupted store. The lock file names the holder.
fn lock_data_dir(data_dir: &Path) -> StoreResult<File> {
    let path = data_dir.join(LOCK_FILE);
    let data_dir_error = |e: std::io::Error| StoreError::DataDir {
        path: data_dir.to_owned(),
        reason: e.to_string(),
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(data_dir_error)?;
    match file.try_lock() {
        Ok(()) => {
            file.set_len(0).map_err(data_dir_error)?;
            file.rewind().map_err(data_dir_error)?;
            writeln!(file, "{}", std::process::id()).map_err(data_dir_error)?;
            Ok(file)
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            Err(StoreError::Locked {
                path: data_dir.to_owned(),
                holder: if pid.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {pid})")
                },
            })
        }
        Err(std::fs::TryLockError::Error(e)) => Err(data_dir_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::activity::EventKind;
    use crate::domain::case::{CaseDraft, Source};
    use chrono::{Duration, Utc};

    fn sample_case(number: u64) -> crate::domain::case::Case {
        CaseDraft {
            subject: format!("case {number}"),
            ..Default::default()
        }
        .into_case(number, 1, "amy", Source::Manual, Utc::now())
        .unwrap()
    }

    #[tokio::test]
    async fn a_failing_change_does_not_take_its_batch_down() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut tasks = Vec::new();
        for i in 1..=20u64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .write(move |txn| {
                        txn.put_case(&sample_case(i))?;
                        if i % 5 == 0 {
                            return Err(StoreError::Corrupt(format!("refused {i}")));
                        }
                        if i == 7 {
                            panic!("change 7 blew up");
                        }
                        Ok(i)
                    })
                    .await
            }));
        }
        let mut committed = Vec::new();
        for task in tasks {
            if let Ok(i) = task.await.unwrap() {
                committed.push(i);
            }
        }
        let expected: Vec<u64> = (1..=20).filter(|i| i % 5 != 0 && *i != 7).collect();
        assert_eq!(committed, expected);
        let txn = store.read().unwrap();
        for i in 1..=20 {
            assert_eq!(
                txn.case(i).unwrap().is_some(),
                expected.contains(&i),
                "case {i}"
            );
        }
    }

    #[tokio::test]
    async fn outbox_entries_are_kept_until_every_consumer_acknowledges() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .write(|txn| {
                let case = sample_case(1);
                txn.put_case(&case)?;
                txn.append_event(&case, "amy", Utc::now(), EventKind::Reopened)?;
                txn.append_event(&case, "amy", Utc::now(), EventKind::Archived)?;
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        let entries = store.read().unwrap().outbox_after(0, 10).unwrap();
        assert_eq!(entries.len(), 2);
        let first = entries[0].0;
        for (i, consumer) in Consumer::ALL.into_iter().enumerate() {
            let before = store.read().unwrap().outbox_after(0, 10).unwrap().len();
            assert_eq!(before, 2, "kept until consumer {i} also acknowledges");
            store
                .write(move |txn| txn.ack_outbox(consumer, first))
                .await
                .unwrap();
        }
        let left = store.read().unwrap().outbox_after(0, 10).unwrap();
        assert_eq!(
            left.len(),
            1,
            "only the entry every consumer acknowledged is deleted"
        );
        assert_eq!(
            store
                .read()
                .unwrap()
                .outbox_cursor(Consumer::ALL[0])
                .unwrap(),
            first
        );
        assert_eq!(store.read().unwrap().activity(1).unwrap().len(), 2);
    }

    #[tokio::test]
    async fn expired_tokens_are_purged_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let record = |expires_at| TokenRecord {
            username: "amy".into(),
            kind: TokenKind::Api,
            label: String::new(),
            created_at: Utc::now(),
            expires_at,
            csrf: None,
        };
        store
            .write(move |txn| {
                txn.put_token(b"old", &record(Some(Utc::now() - Duration::hours(1))))?;
                txn.put_token(b"new", &record(Some(Utc::now() + Duration::hours(1))))?;
                txn.put_token(b"forever", &record(None))
            })
            .await
            .unwrap();
        let removed = store
            .write(|txn| txn.delete_tokens_expired_by(Utc::now()))
            .await
            .unwrap();
        assert_eq!(removed, 1);
        let txn = store.read().unwrap();
        assert!(txn.token(b"old").unwrap().is_none());
        assert!(txn.token(b"new").unwrap().is_some());
        assert!(txn.token(b"forever").unwrap().is_some());
    }

    #[test]
    fn a_second_open_of_the_same_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Store::open(dir.path()).unwrap();
        let err = Store::open(dir.path()).err().expect("second open fails");
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    }

    fn channel_named(id: u64, name: &str) -> crate::domain::channel::Channel {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "name": name,
            "email_address": null,
            "settings": serde_json::to_value(crate::domain::channel::ChannelSettings::default()).unwrap(),
            "members": {"amy": "agent"},
            "created_at": Utc::now(),
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn shared_channels_are_decoded_again_only_when_one_changed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for (id, name) in [(1, "Support"), (2, "Sales")] {
            store
                .write(move |txn| txn.put_channel(&channel_named(id, name)))
                .await
                .unwrap();
        }
        let first = store.read().unwrap().shared_channels().unwrap();
        let names: Vec<&str> = first.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Support", "Sales"]);
        let again = store.read().unwrap().shared_channels().unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "unchanged bytes are not decoded again"
        );

        // A snapshot taken before a change keeps reading its own channels.
        let before = store.read().unwrap();
        store
            .write(|txn| txn.put_channel(&channel_named(2, "Billing")))
            .await
            .unwrap();
        let after = store.read().unwrap().shared_channels().unwrap();
        assert_eq!(after[1].name, "Billing");
        assert_eq!(before.shared_channels().unwrap()[1].name, "Sales");
        assert_eq!(
            store.read().unwrap().shared_channels().unwrap()[1].name,
            "Billing"
        );
        assert_eq!(store.read().unwrap().channels().unwrap()[1].name, "Billing");
    }
}
