//! Writing a backup: the store's snapshot, the blobs it names, plugins, the
//! server key and the configuration, then the manifest, as one tar stream
//! compressed with zstd.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{
    BackupError, CONFIG_ENTRY, FORMAT, FORMAT_VERSION, KEY_ENTRY, MANIFEST, Manifest,
    ManifestEntry, Progress, STORE_ENTRY,
};
use crate::store::Store;
use crate::store::blobs::BlobStore;

/// What a finished backup holds.
#[derive(Debug, Clone)]
pub struct BackupSummary {
    pub cases: u64,
    pub blobs: usize,
    /// Bytes before compression.
    pub bytes: u64,
    pub missing_blobs: Vec<String>,
    /// Blobs whose content no longer matches their name (damaged on disk).
    pub damaged_blobs: Vec<String>,
}

/// The store's copy waits in `DATA/tmp` under this name while it is archived.
const SCRATCH_PREFIX: &str = "backup-";
const SCRATCH_SUFFIX: &str = ".store";

/// Removes the scratch copies a backup cut off by a crash left behind. Call
/// it only while holding the data directory, when no backup can be running.
pub fn remove_stale_scratch(data_dir: &Path) {
    for entry in std::fs::read_dir(data_dir.join("tmp"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(SCRATCH_PREFIX) && name.ends_with(SCRATCH_SUFFIX) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// One file of the data directory to put in the archive.
struct Source {
    entry: String,
    path: PathBuf,
    size: u64,
}

/// What a backup holds besides the store, its files, plugins and key.
#[derive(Debug, Clone, Default)]
pub struct Include {
    /// The configuration file.
    pub config_file: Option<PathBuf>,
    /// The search index, as it is on disk: only while no server runs, since
    /// a running server's index changes under the copy. A restore without
    /// it rebuilds the index instead.
    pub index: bool,
}

/// Writes a backup of `data_dir` (whose store is `store`, open and possibly
/// serving) to `out`. Blocking; memory stays constant whatever the size.
pub fn write_backup<W: Write>(
    store: &Store,
    data_dir: &Path,
    include: &Include,
    out: W,
    progress: &mut dyn FnMut(Progress),
) -> Result<(W, BackupSummary), BackupError> {
    let scratch = data_dir.join("tmp");
    std::fs::create_dir_all(&scratch).map_err(BackupError::io("cannot make DATA/tmp"))?;
    let snapshot_path = scratch.join(format!(
        "{SCRATCH_PREFIX}{}-{}{SCRATCH_SUFFIX}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    let _cleanup = RemoveOnDrop(snapshot_path.clone());
    let snapshot = store.snapshot_to(&snapshot_path)?;

    let blobs = BlobStore::new(data_dir);
    let mut sources = vec![Source {
        entry: STORE_ENTRY.into(),
        size: size_of(&snapshot_path)?,
        path: snapshot_path.clone(),
    }];
    let mut missing_blobs = Vec::new();
    for sha in &snapshot.blobs {
        let path = blobs.path_of(sha)?;
        match std::fs::metadata(&path) {
            Ok(meta) => sources.push(Source {
                entry: format!("blobs/{}/{sha}", &sha[..2]),
                path,
                size: meta.len(),
            }),
            Err(_) => missing_blobs.push(sha.clone()),
        }
    }
    sources.extend(folder_sources(&data_dir.join("plugins"), "plugins")?);
    let key = data_dir.join("server.key");
    if key.exists() {
        sources.push(Source {
            entry: KEY_ENTRY.into(),
            size: size_of(&key)?,
            path: key,
        });
    }
    if let Some(config) = include.config_file.as_deref().filter(|p| p.exists()) {
        sources.push(Source {
            entry: CONFIG_ENTRY.into(),
            size: size_of(config)?,
            path: config.to_owned(),
        });
    }
    if include.index {
        sources.extend(folder_sources(&data_dir.join("index"), "index")?);
    }

    let total_bytes: u64 = sources.iter().map(|s| s.size).sum();
    let mut encoder = zstd::Encoder::new(out, 3).map_err(BackupError::io("cannot compress"))?;
    // A checksum per frame, so any damaged byte is found on restore.
    encoder
        .include_checksum(true)
        .map_err(BackupError::io("cannot compress"))?;
    let mut tar = tar::Builder::new(encoder);
    let mut entries = Vec::with_capacity(sources.len());
    let mut damaged_blobs = Vec::new();
    let mut done_bytes = 0;
    for source in &sources {
        let file = File::open(&source.path).map_err(BackupError::io(format!(
            "cannot read {}",
            source.path.display()
        )))?;
        // The size is fixed in the tar header: read exactly that many bytes
        // even if a plugin file is edited meanwhile.
        let mut reader = Hashing::new(file.take(source.size));
        let mut header = tar_header(source.size);
        tar.append_data(&mut header, &source.entry, &mut reader)
            .map_err(BackupError::io("cannot write the backup"))?;
        if reader.bytes != source.size {
            return Err(BackupError::Io {
                what: format!("{} changed size while it was read", source.path.display()),
                source: std::io::ErrorKind::UnexpectedEof.into(),
            });
        }
        let sha256 = reader.finish();
        if let Some(name) = source.entry.strip_prefix("blobs/").map(|p| &p[3..])
            && name != sha256
        {
            damaged_blobs.push(name.to_owned());
        }
        entries.push(ManifestEntry {
            path: source.entry.clone(),
            size: source.size,
            sha256,
        });
        done_bytes += source.size;
        progress(Progress {
            done_bytes,
            total_bytes,
        });
    }

    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        created_at: chrono::Utc::now(),
        docket_version: crate::VERSION.into(),
        schema_version: snapshot.schema_version,
        cases: snapshot.cases,
        entries,
        missing_blobs: missing_blobs.clone(),
        damaged_blobs: damaged_blobs.clone(),
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest).expect("the manifest serialises");
    let mut header = tar_header(manifest_json.len() as u64);
    tar.append_data(&mut header, MANIFEST, manifest_json.as_slice())
        .map_err(BackupError::io("cannot write the backup"))?;
    let encoder = tar
        .into_inner()
        .map_err(BackupError::io("cannot write the backup"))?;
    let mut out = encoder
        .finish()
        .map_err(BackupError::io("cannot write the backup"))?;
    out.flush()
        .map_err(BackupError::io("cannot write the backup"))?;
    Ok((
        out,
        BackupSummary {
            cases: snapshot.cases,
            blobs: snapshot.blobs.len() - missing_blobs.len(),
            bytes: total_bytes,
            missing_blobs,
            damaged_blobs,
        },
    ))
}

/// The plain files of `dir` a backup may hold, as entries under `folder`.
fn folder_sources(dir: &Path, folder: &str) -> Result<Vec<Source>, BackupError> {
    let mut found = Vec::new();
    let Ok(listing) = std::fs::read_dir(dir) else {
        return Ok(found);
    };
    let unreadable = || BackupError::io(format!("cannot list {}", dir.display()));
    for item in listing {
        let item = item.map_err(unreadable())?;
        let meta = item.metadata().map_err(unreadable())?;
        let name = item.file_name().to_string_lossy().into_owned();
        let entry = format!("{folder}/{name}");
        if meta.is_file() && super::allowed_entry(&entry) {
            found.push(Source {
                entry,
                path: item.path(),
                size: meta.len(),
            });
        }
    }
    found.sort_by(|a, b| a.entry.cmp(&b.entry));
    Ok(found)
}

fn tar_header(size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o600);
    header.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
    header.set_entry_type(tar::EntryType::Regular);
    header
}

fn size_of(path: &Path) -> Result<u64, BackupError> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(BackupError::io(format!("cannot read {}", path.display())))
}

/// A reader that hashes and counts what passes through it.
pub(super) struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    pub bytes: u64,
}

impl<R: Read> Hashing<R> {
    pub fn new(inner: R) -> Hashing<R> {
        Hashing {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    pub fn finish(self) -> String {
        hex::encode(self.hasher.finalize())
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Removes a scratch file however the backup ends.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The name scheduled backups are written under; they sort by time.
pub const SCHEDULED_PREFIX: &str = "docket-";
pub const SCHEDULED_SUFFIX: &str = ".tar.zst";

/// Writes a backup to `target` through `target.partial`, synced and then
/// renamed, so `target` is only ever a whole backup. Returns its size.
pub fn write_backup_file(
    store: &Store,
    data_dir: &Path,
    include: &Include,
    target: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<(BackupSummary, u64), BackupError> {
    let partial = partial_path(target);
    let file = super::restore::private_file(&partial).map_err(BackupError::io(format!(
        "cannot write {}",
        partial.display()
    )))?;
    let written = write_backup(
        store,
        data_dir,
        include,
        std::io::BufWriter::with_capacity(1 << 20, file),
        progress,
    )
    .and_then(|(out, summary)| {
        let file = out
            .into_inner()
            .map_err(|e| BackupError::io("cannot write the backup")(e.into_error()))?;
        file.sync_all()
            .map_err(BackupError::io("cannot write the backup"))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok((summary, size))
    });
    match written {
        Ok(done) => {
            std::fs::rename(&partial, target).map_err(BackupError::io(format!(
                "cannot write {}",
                target.display()
            )))?;
            Ok(done)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// Where a backup is written until it is whole: `FILE.partial`.
pub(super) fn partial_path(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// The scheduled backups in `dir`, oldest first.
pub fn scheduled_backups(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(SCHEDULED_PREFIX) && n.ends_with(SCHEDULED_SUFFIX))
        })
        .collect();
    found.sort();
    found
}

/// Deletes all but the newest `keep` scheduled backups in `dir`.
pub fn prune_scheduled(dir: &Path, keep: usize) -> Vec<PathBuf> {
    let all = scheduled_backups(dir);
    let excess = all.len().saturating_sub(keep);
    all.into_iter()
        .take(excess)
        .filter(|path| std::fs::remove_file(path).is_ok())
        .collect()
}
