//! Backups of a data directory, and checks of one. tar and zstd are named
//! here and nowhere else.
//!
//! A backup is one file: a tar archive compressed with zstd, streamed in
//! constant memory, that any `tar --zstd` can list. It holds a consistent
//! copy of the store (its database file, read from one snapshot while the server
//! keeps writing), the blobs that copy names, the plugins, the server key
//! and the configuration file, and last `manifest.json`: the size and
//! SHA-256 of every other entry. Restoring unpacks into a staging folder,
//! checks every entry against the manifest, and only then moves the store,
//! blobs and plugins into place. The search index is derived, so it is not
//! in the backup; a restore rebuilds it.

mod archive;
pub mod cli;
mod restore;
mod verify;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use archive::{
    BackupSummary, Include, SCHEDULED_PREFIX, SCHEDULED_SUFFIX, prune_scheduled,
    remove_stale_scratch, scheduled_backups, write_backup, write_backup_file,
};
pub use restore::{RestoreSummary, restore};
pub use verify::{Finding, verify};

/// What the manifest's `format` says of every Docket backup.
const FORMAT: &str = "docket-backup";
/// The manifest's layout; a restore refuses one it does not know.
const FORMAT_VERSION: u32 = 1;
const MANIFEST: &str = "manifest.json";
const STORE_ENTRY: &str = crate::store::DB_FILE;
const KEY_ENTRY: &str = "server.key";
const CONFIG_ENTRY: &str = "docket.toml";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the backup file is damaged or not a Docket backup: {0}")]
    Damaged(String),
    #[error("{0} is not empty; pass --force to replace the data there")]
    NotEmpty(PathBuf),
    #[error("the search index could not be rebuilt: {0}")]
    Index(String),
}

impl BackupError {
    fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
        let what = what.into();
        move |source| BackupError::Io { what, source }
    }
}

/// The last entry of every backup: what the others must be.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub created_at: crate::domain::Timestamp,
    pub docket_version: String,
    pub schema_version: u64,
    pub cases: u64,
    pub entries: Vec<ManifestEntry>,
    /// Blobs a record names that were not in the data directory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_blobs: Vec<String>,
    /// Blobs whose contents no longer matched their name when backed up
    /// (kept as they were, for whatever can still be read of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub damaged_blobs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// How far a backup or restore has come, for progress lines.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub done_bytes: u64,
    pub total_bytes: u64,
}

/// Whether `path` is a name a backup may hold, so a crafted archive cannot
/// write outside the staging folder or plant unexpected files.
fn allowed_entry(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        [MANIFEST] | [STORE_ENTRY] | [KEY_ENTRY] | [CONFIG_ENTRY] => true,
        ["blobs", prefix, name] => {
            name.len() == 64
                && name.bytes().all(|b| b.is_ascii_hexdigit())
                && name.starts_with(prefix)
                && prefix.len() == 2
        }
        ["plugins", name] => !name.starts_with('.') && plain_name(name),
        // The index's own files (meta.json, .managed.json, segments), not
        // the locks of a writer.
        ["index", name] => plain_name(name) && !name.ends_with(".lock"),
        _ => false,
    }
}

/// A file name of letters, digits, `-`, `_` and `.`, never `.` or `..`.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::{STORE_ENTRY, allowed_entry};

    #[test]
    fn only_the_names_a_backup_writes_are_allowed() {
        let sha = format!("ab{}", "0".repeat(62));
        for good in [
            "manifest.json".to_owned(),
            STORE_ENTRY.into(),
            "server.key".into(),
            "docket.toml".into(),
            format!("blobs/ab/{sha}"),
            "plugins/route.rhai".into(),
            "index/meta.json".into(),
            "index/.managed.json".into(),
        ] {
            assert!(allowed_entry(&good), "{good}");
        }
        for bad in [
            format!("../{STORE_ENTRY}"),
            "/etc/passwd".into(),
            "plugins/../../x".into(),
            "plugins/.hidden".into(),
            format!("blobs/cd/{sha}"),
            "blobs/ab/short".into(),
            "index/../x".into(),
            "index/.writer.lock".into(),
            "index/sub/x".into(),
            format!("{STORE_ENTRY}/x"),
        ] {
            assert!(!allowed_entry(&bad), "{bad}");
        }
    }
}
