//! `docket verify`: the data directory of a stopped server checked from the
//! database file's own pages up to the search index.

use std::path::Path;

use super::BackupError;
use super::archive::Hashing;
use crate::store::blobs::BlobStore;
use crate::store::{Consumer, Reads, Store};

/// One thing found wrong (or worth knowing, when not `failed`).
#[derive(Debug, Clone)]
pub struct Finding {
    pub failed: bool,
    pub text: String,
}

impl Finding {
    fn problem(text: impl Into<String>) -> Finding {
        Finding {
            failed: true,
            text: text.into(),
        }
    }

    fn note(text: impl Into<String>) -> Finding {
        Finding {
            failed: false,
            text: text.into(),
        }
    }
}

/// How many differences between the store and the index are named one by
/// one before the rest are counted.
const NAMED: usize = 10;

/// Checks `data_dir`, whose server must be stopped. Returns what it found;
/// a finding with `failed` means the directory is not sound.
pub async fn verify(
    data_dir: &Path,
    language: crate::search::Language,
    say: &mut (dyn FnMut(&str) + Send),
) -> Result<Vec<Finding>, BackupError> {
    let mut findings = Vec::new();
    let db = data_dir.join(crate::store::DB_FILE);
    if !db.exists() {
        return Ok(vec![Finding::problem(format!(
            "{} has no store ({} is missing)",
            data_dir.display(),
            crate::store::DB_FILE
        ))]);
    }
    say("Checking the store's pages...");
    {
        let _lock = crate::store::hold_data_dir(data_dir)?;
        let path = db.clone();
        let sound = tokio::task::spawn_blocking(move || crate::store::backup::check_file(&path))
            .await
            .map_err(|e| BackupError::Index(e.to_string()))??;
        if !sound {
            findings.push(Finding::problem(
                "the store's pages were damaged (the check repaired what it could; restore from a backup)",
            ));
        }
    }
    let store = Store::open(data_dir)?;

    say("Checking every file's contents...");
    let blobs_store = store.clone();
    let dir = data_dir.to_owned();
    findings.extend(
        tokio::task::spawn_blocking(move || check_blobs(&blobs_store, &dir))
            .await
            .map_err(|e| BackupError::Index(e.to_string()))??,
    );

    say("Checking the outbox...");
    let txn = store.read()?;
    let head = txn.outbox_head()?;
    for consumer in Consumer::ALL {
        let at = txn.outbox_cursor(consumer)?;
        if at > head {
            findings.push(Finding::problem(format!(
                "the {} consumer is at entry {at}, past the outbox's last entry {head}",
                consumer.name()
            )));
        }
    }

    say("Comparing the search index with the store...");
    let stored = txn.case_numbers()?;
    drop(txn);
    findings.extend(check_index(data_dir, language, head, &stored)?);
    Ok(findings)
}

/// Every file record's blob exists and still hashes to its name.
fn check_blobs(store: &Store, data_dir: &Path) -> Result<Vec<Finding>, BackupError> {
    let blobs = BlobStore::new(data_dir);
    let txn = store.read()?;
    let mut findings = Vec::new();
    for file in txn.all_files()? {
        let (id, name, sha) = (file.id, file.name, file.sha256);
        let path = blobs.path_of(&sha)?;
        let Ok(contents) = std::fs::File::open(&path) else {
            findings.push(Finding::problem(format!(
                "file {id} ({name}) has no contents: blob {sha} is missing"
            )));
            continue;
        };
        let mut reader = Hashing::new(contents);
        if let Err(e) = std::io::copy(&mut reader, &mut std::io::sink()) {
            findings.push(Finding::problem(format!(
                "file {id} ({name}): blob {sha} cannot be read: {e}"
            )));
        } else if reader.finish() != sha {
            findings.push(Finding::problem(format!(
                "file {id} ({name}): blob {sha} is damaged (its contents no longer match)"
            )));
        }
    }
    Ok(findings)
}

/// The index holds exactly the store's cases, once it has caught up.
fn check_index(
    data_dir: &Path,
    language: crate::search::Language,
    head: u64,
    stored: &std::collections::BTreeSet<u64>,
) -> Result<Vec<Finding>, BackupError> {
    let dir = data_dir.join("index");
    if !dir.exists() {
        return Ok(vec![Finding::note(
            "there is no search index; the server builds it when it starts",
        )]);
    }
    let engine = match crate::search::Engine::open_read_only(&dir, language) {
        Ok(engine) => engine,
        Err(e) => {
            return Ok(vec![Finding::problem(format!(
                "the search index cannot be opened ({e}); `docket reindex` rebuilds it"
            ))]);
        }
    };
    let indexed = engine
        .case_numbers()
        .map_err(|e| BackupError::Index(e.to_string()))?;
    let at = engine.indexed_seq();
    if at < head {
        return Ok(vec![Finding::note(format!(
            "the search index is {} outbox entries behind the store; the server catches up when it starts",
            head - at
        ))]);
    }
    let mut findings = Vec::new();
    let missing: Vec<u64> = stored.difference(&indexed).copied().collect();
    let extra: Vec<u64> = indexed.difference(stored).copied().collect();
    for (numbers, what) in [
        (missing, "in the store but not in the search index"),
        (extra, "in the search index but not in the store"),
    ] {
        if numbers.is_empty() {
            continue;
        }
        let named: Vec<String> = numbers
            .iter()
            .take(NAMED)
            .map(|n| format!("#{n}"))
            .collect();
        let more = numbers.len().saturating_sub(NAMED);
        findings.push(Finding::problem(format!(
            "{} case(s) {what}: {}{}; `docket reindex` rebuilds the index",
            numbers.len(),
            named.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )));
    }
    if findings.is_empty() {
        findings.push(Finding::note(format!(
            "the search index holds exactly the store's {} cases",
            stored.len()
        )));
    }
    Ok(findings)
}
