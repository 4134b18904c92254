//! Consistent copies of the store while it serves, and the checks of a
//! store file. A copy reads every table from one snapshot into a fresh
//! database file, so writes go on meanwhile and the copy holds exactly what
//! was committed when it began. Blobs are never deleted or rewritten, so the
//! ones the copy names can be read from `DATA/blobs` at leisure afterwards.

use std::collections::BTreeSet;
use std::path::Path;

use redb::{
    Database, Key, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
    TableHandle, Value,
};

use super::queue::Job;
use super::records::decode;
use super::tables::*;
use super::{Store, StoreError, StoreResult};
use crate::domain::file::FileRecord;

/// What a snapshot holds, as the backup's manifest reports it.
#[derive(Debug, Clone, Default)]
pub struct SnapshotSummary {
    pub schema_version: u64,
    pub cases: u64,
    pub entries: u64,
    /// The blobs the copied records name (files, mailbox imports, mail
    /// waiting to be sent).
    pub blobs: BTreeSet<String>,
}

impl Store {
    /// Writes a consistent copy of the store to `dest` (a new file) while
    /// the store keeps serving. Blocking: run it off the async workers.
    pub fn snapshot_to(&self, dest: &Path) -> StoreResult<SnapshotSummary> {
        let snapshot = self.inner.db.get()?.begin_read()?;
        copy_into(&snapshot, dest)
    }
}

/// Copies every table of `source` into a fresh database at `dest`.
fn copy_into(source: &redb::ReadTransaction, dest: &Path) -> StoreResult<SnapshotSummary> {
    if dest.exists() {
        return Err(StoreError::DataDir {
            path: dest.to_owned(),
            reason: "a file is already there".into(),
        });
    }
    // The copy is written once and never read here: a small cache keeps
    // the backup's memory apart from the size of the store.
    let target = Database::builder()
        .set_cache_size(COPY_CACHE_BYTES)
        .create(dest)?;
    let mut summary = SnapshotSummary::default();
    let mut copied = BTreeSet::new();
    macro_rules! copy {
        ($($table:expr),+ $(,)?) => {
            $(
                summary.entries += copy_table(source, &target, $table)?;
                copied.insert($table.name().to_owned());
            )+
        };
    }
    copy!(
        META,
        USERS,
        CHANNELS,
        CASES,
        ACTIVITY,
        OUTBOX,
        OUTBOX_CURSORS,
        READ_MARKERS,
        TOKENS,
        CATEGORIES,
        DELIVERIES,
        MILESTONES_DUE,
        OPEN_MILESTONES,
        TIME_ENTRIES,
        TIMERS,
        FILES,
        CASE_FILES,
        MESSAGE_IDS,
        CITED_MESSAGE_IDS,
        MAIL_SEEN,
        SUBJECT_THREADS,
        MAIL_JOBS,
        CONVERSATIONS,
        RECORDING_JOBS,
        WIDGET_SESSIONS,
        JOBS,
        RECORDING_JOB_IDS,
        SAVED_REPLIES,
        AI_MODELS,
        REPORT_DAYS,
        REPORT_CHANNEL_DAYS,
        REPORT_CONTRIBUTIONS,
        EVENT_DICTIONARIES,
    );
    // A table this list does not know would be silently missing from every
    // backup: refuse instead, so the omission is found at once.
    for table in source.list_tables()? {
        if !copied.contains(table.name()) {
            return Err(StoreError::Corrupt(format!(
                "the table {} is not known to the backup",
                table.name()
            )));
        }
    }
    summary.schema_version = source
        .open_table(META)?
        .get(KEY_SCHEMA_VERSION)?
        .map(|v| v.value())
        .unwrap_or(0);
    summary.cases = source.open_table(CASES)?.len()?;
    summary.blobs = named_blobs(source)?;
    Ok(summary)
}

/// Bytes written to the copy per transaction: redb keeps a transaction's
/// pages in memory until it commits, so a large table is copied in parts
/// and memory stays bounded whatever the store's size.
const COPY_CHUNK_BYTES: usize = 32 << 20;
const COPY_CACHE_BYTES: usize = 64 << 20;

/// Copies one table (tables missing from an older store are skipped).
/// Returns the number of entries.
fn copy_table<K: Key + 'static, V: Value + 'static>(
    source: &redb::ReadTransaction,
    target: &Database,
    definition: TableDefinition<K, V>,
) -> StoreResult<u64> {
    let from = match source.open_table(definition) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut entries = from.iter()?.peekable();
    let mut count = 0;
    loop {
        let txn = target.begin_write()?;
        {
            // Opening it creates it, so even an empty table is copied.
            let mut to = txn.open_table(definition)?;
            let mut bytes = 0;
            while bytes < COPY_CHUNK_BYTES {
                let Some(entry) = entries.next() else { break };
                let (key, value) = entry?;
                bytes += K::as_bytes(&key.value()).as_ref().len()
                    + V::as_bytes(&value.value()).as_ref().len();
                to.insert(key.value(), value.value())?;
                count += 1;
            }
        }
        txn.commit()?;
        if entries.peek().is_none() {
            return Ok(count);
        }
    }
}

/// Every blob a record of the snapshot names.
fn named_blobs(source: &redb::ReadTransaction) -> StoreResult<BTreeSet<String>> {
    let mut blobs = BTreeSet::new();
    for entry in source.open_table(FILES)?.iter()? {
        let (_, value) = entry?;
        let file: FileRecord = decode("file", value.value())?;
        blobs.insert(file.sha256);
    }
    if let Ok(jobs) = source.open_table(JOBS) {
        for entry in jobs.iter()? {
            let (_, value) = entry?;
            match decode::<Job>("job", value.value()) {
                Ok(Job::MailboxImport(import)) => {
                    blobs.insert(import.sha256);
                }
                // Mail waiting to be sent names its attachments by blob.
                Ok(Job::Mail(mail)) => {
                    blobs.extend(mail.attachments.into_iter().map(|a| a.sha256));
                }
                _ => {}
            }
        }
    }
    Ok(blobs)
}

impl super::ReadTxn {
    /// Every file record (for `docket verify`: each must have its blob).
    pub fn all_files(&self) -> StoreResult<Vec<FileRecord>> {
        let mut found = Vec::new();
        for entry in self.open_table(FILES)?.iter()? {
            found.push(decode("file", entry?.1.value())?);
        }
        Ok(found)
    }

    /// Every case number the store holds, for comparing with the index.
    pub fn case_numbers(&self) -> StoreResult<BTreeSet<u64>> {
        let mut numbers = BTreeSet::new();
        for entry in self.open_table(CASES)?.iter()? {
            numbers.insert(entry?.0.value());
        }
        Ok(numbers)
    }
}

/// Checks the database file's own structure (its pages and checksums).
/// Needs the file to itself: call it before the store is opened.
/// Returns whether it was sound; redb repairs what it can on the way.
pub fn check_file(path: &Path) -> StoreResult<bool> {
    let mut db = Database::open(path)?;
    Ok(db.check_integrity()?)
}

/// Compacts the database file in place; returns its size before and after.
/// Needs the file to itself, like `check_file`.
pub fn compact_file(path: &Path) -> StoreResult<(u64, u64)> {
    let before = file_size(path)?;
    let mut db = Database::open(path)?;
    while db.compact()? {}
    drop(db);
    Ok((before, file_size(path)?))
}

fn file_size(path: &Path) -> StoreResult<u64> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| StoreError::DataDir {
            path: path.to_owned(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::mail::{DeliveryState, OutgoingAttachment, OutgoingMail};
    use crate::store::QueueWrites;

    #[tokio::test]
    async fn a_snapshot_names_the_attachments_of_mail_waiting_to_be_sent() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("data")).unwrap();
        let sha = "ab".repeat(32);
        let mail = OutgoingMail {
            case: 1,
            event: 1,
            from: "help@desk.example".into(),
            reply_to: None,
            to: vec!["jane@example.com".into()],
            cc: vec![],
            bcc: vec![],
            subject: "Your invoice".into(),
            body: "Attached.".into(),
            message_id: "<1@desk.example>".into(),
            in_reply_to: None,
            references: vec![],
            attachments: vec![OutgoingAttachment {
                sha256: sha.clone(),
                name: "invoice.pdf".into(),
                content_type: "application/pdf".into(),
            }],
            automatic: false,
            html: None,
            state: DeliveryState::Pending { next_attempt: 0 },
            attempts: 0,
            last_error: None,
        };
        store
            .write(move |txn| txn.add_outgoing_mail(&mail))
            .await
            .unwrap();
        let copy = dir.path().join("copy.store");
        let summary = store.snapshot_to(&copy).unwrap();
        assert!(summary.blobs.contains(&sha), "{:?}", summary.blobs);
        assert!(copy.exists());
        assert!(
            store.snapshot_to(&copy).is_err(),
            "an existing file is never overwritten"
        );
    }
}
