//! Restoring a backup into a data directory: everything is unpacked into a
//! staging folder and checked against the manifest before anything already
//! there is touched; then the store, blobs, plugins and key move into place.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::archive::Hashing;
use super::{
    BackupError, CONFIG_ENTRY, FORMAT, FORMAT_VERSION, KEY_ENTRY, MANIFEST, Manifest, Progress,
    STORE_ENTRY, allowed_entry,
};

const STAGING: &str = ".restore-staging";
/// Where what a forced restore replaces waits until the new data is in place.
const OLD: &str = ".restore-old";
/// A manifest is small; anything larger is not one.
const MAX_MANIFEST_BYTES: u64 = 256 << 20;

#[derive(Debug, Clone)]
pub struct RestoreSummary {
    pub manifest: Manifest,
    pub entries: usize,
    pub bytes: u64,
    /// Where the backup's configuration file was put, if it had one.
    pub config: Option<PathBuf>,
}

/// Restores `backup` into `data_dir`, which must be empty (or missing)
/// unless `force`. The caller rebuilds the search index afterwards.
pub fn restore(
    backup: &Path,
    data_dir: &Path,
    force: bool,
    progress: &mut dyn FnMut(Progress),
) -> Result<RestoreSummary, BackupError> {
    if !force && has_contents(data_dir)? {
        return Err(BackupError::NotEmpty(data_dir.to_owned()));
    }
    fs::create_dir_all(data_dir).map_err(BackupError::io(format!(
        "cannot make {}",
        data_dir.display()
    )))?;
    // No server may start on the directory while it is being replaced.
    let _lock = crate::store::hold_data_dir(data_dir)?;
    let staging = data_dir.join(STAGING);
    let _ = fs::remove_dir_all(&staging);
    let unpacked = unpack(backup, &staging, progress).and_then(|(manifest, seen)| {
        check(&manifest, &seen)?;
        Ok(manifest)
    });
    let manifest = match unpacked {
        Ok(manifest) => manifest,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let config = move_into_place(&staging, data_dir)?;
    let _ = fs::remove_dir_all(&staging);
    Ok(RestoreSummary {
        entries: manifest.entries.len(),
        bytes: manifest.entries.iter().map(|e| e.size).sum(),
        manifest,
        config,
    })
}

fn has_contents(dir: &Path) -> Result<bool, BackupError> {
    match fs::read_dir(dir) {
        // What a restore itself leaves (the lock, a staging folder) is not data.
        Ok(listing) => Ok(listing.flatten().any(|entry| {
            let name = entry.file_name();
            name != crate::store::LOCK_FILE && name != STAGING && name != OLD
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(BackupError::io(format!("cannot read {}", dir.display()))(e)),
    }
}

/// What was unpacked: each entry's size and SHA-256.
type Seen = BTreeMap<String, (u64, String)>;

fn unpack(
    backup: &Path,
    staging: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<(Manifest, Seen), BackupError> {
    let file =
        File::open(backup).map_err(BackupError::io(format!("cannot open {}", backup.display())))?;
    let total_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let counted = Counting::new(file);
    let read_so_far = counted.count.clone();
    let decoder = zstd::Decoder::new(counted).map_err(damaged)?;
    let mut archive = tar::Archive::new(decoder);
    let mut seen = Seen::new();
    let mut manifest = None;
    for entry in archive.entries().map_err(damaged)? {
        let entry = entry.map_err(damaged)?;
        let path = entry
            .path()
            .map_err(damaged)?
            .to_string_lossy()
            .into_owned();
        if !allowed_entry(&path) {
            return Err(BackupError::Damaged(format!("unexpected entry {path:?}")));
        }
        if seen.contains_key(&path) || (path == MANIFEST && manifest.is_some()) {
            return Err(BackupError::Damaged(format!("{path} appears twice")));
        }
        if path == MANIFEST {
            let mut bytes = Vec::new();
            entry
                .take(MAX_MANIFEST_BYTES)
                .read_to_end(&mut bytes)
                .map_err(damaged)?;
            let parsed: Manifest = serde_json::from_slice(&bytes)
                .map_err(|e| BackupError::Damaged(format!("the manifest cannot be read: {e}")))?;
            manifest = Some(parsed);
            continue;
        }
        let target = staging.join(&path);
        fs::create_dir_all(target.parent().expect("entries sit in a folder"))
            .map_err(BackupError::io("cannot write the staging folder"))?;
        let mut reader = Hashing::new(entry);
        let mut out = private_file(&target).map_err(BackupError::io(format!(
            "cannot write {}",
            target.display()
        )))?;
        std::io::copy(&mut reader, &mut out).map_err(damaged)?;
        out.sync_all()
            .map_err(BackupError::io("cannot write the staging folder"))?;
        let bytes = reader.bytes;
        seen.insert(path, (bytes, reader.finish()));
        progress(Progress {
            done_bytes: read_so_far.get(),
            total_bytes,
        });
    }
    let manifest =
        manifest.ok_or_else(|| BackupError::Damaged("it has no manifest (cut short?)".into()))?;
    Ok((manifest, seen))
}

/// Every entry the manifest names is there with its size and checksum, and
/// nothing else is.
fn check(manifest: &Manifest, seen: &Seen) -> Result<(), BackupError> {
    if manifest.format != FORMAT || manifest.format_version != FORMAT_VERSION {
        return Err(BackupError::Damaged(format!(
            "format {} version {} is not one this docket reads",
            manifest.format, manifest.format_version
        )));
    }
    if !manifest.entries.iter().any(|e| e.path == STORE_ENTRY) {
        return Err(BackupError::Damaged("the manifest names no store".into()));
    }
    for entry in &manifest.entries {
        match seen.get(&entry.path) {
            None => {
                return Err(BackupError::Damaged(format!("{} is missing", entry.path)));
            }
            Some((size, sha)) if *size != entry.size || *sha != entry.sha256 => {
                return Err(BackupError::Damaged(format!(
                    "{} does not match its checksum",
                    entry.path
                )));
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = seen
        .keys()
        .find(|path| !manifest.entries.iter().any(|e| &e.path == *path))
    {
        return Err(BackupError::Damaged(format!(
            "{extra} is not in the manifest"
        )));
    }
    Ok(())
}

/// What a restore replaces in the data directory.
const REPLACED: [&str; 5] = [STORE_ENTRY, "blobs", "plugins", KEY_ENTRY, "index"];

/// Replaces the store, blobs, plugins, key and index of `data_dir` with the
/// staged ones. What was there first moves aside into `.restore-old`
/// (renames, so nothing is copied), and comes back if anything fails. The
/// old index goes in any case; without one in the backup the caller
/// rebuilds it.
fn move_into_place(staging: &Path, data_dir: &Path) -> Result<Option<PathBuf>, BackupError> {
    let old = data_dir.join(OLD);
    let _ = fs::remove_dir_all(&old);
    fs::create_dir_all(&old).map_err(BackupError::io("cannot set the old data aside"))?;
    let mut set_aside = Vec::new();
    let mut outcome = Ok(());
    for name in REPLACED {
        let path = data_dir.join(name);
        if path.exists() {
            match fs::rename(&path, old.join(name)) {
                Ok(()) => set_aside.push(name),
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
    }
    let mut moved_in = Vec::new();
    if outcome.is_ok() {
        for name in REPLACED {
            let staged = staging.join(name);
            if staged.exists() {
                if let Err(e) = fs::rename(&staged, data_dir.join(name)) {
                    outcome = Err(e);
                    break;
                }
                moved_in.push(name);
            }
        }
    }
    if let Err(e) = outcome {
        // Put back what was there, so a failed restore changes nothing.
        for name in moved_in {
            let _ = fs::remove_dir_all(data_dir.join(name));
            let _ = fs::remove_file(data_dir.join(name));
        }
        for name in set_aside {
            let _ = fs::rename(old.join(name), data_dir.join(name));
        }
        return Err(BackupError::io(
            "cannot put the restored data in place; the old data is back",
        )(e));
    }
    let io = |what: &str| BackupError::io(format!("cannot put the restored {what} in place"));
    if !data_dir.join("plugins").exists() {
        // An empty plugins folder, so the defaults are not written over an
        // organisation that had removed them all.
        fs::create_dir_all(data_dir.join("plugins")).map_err(io("plugins"))?;
    }
    let config = staging.join(CONFIG_ENTRY);
    let config = if config.exists() {
        let target = data_dir.join("docket.toml.restored");
        fs::rename(&config, &target).map_err(io("configuration"))?;
        Some(target)
    } else {
        None
    };
    File::open(data_dir)
        .and_then(|dir| dir.sync_all())
        .map_err(io("data directory"))?;
    let _ = fs::remove_dir_all(&old);
    Ok(config)
}

/// A new file only its owner may read: backups hold the server key and
/// the configuration's secrets.
pub(super) fn private_file(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

fn damaged(e: std::io::Error) -> BackupError {
    BackupError::Damaged(e.to_string())
}

/// Counts the compressed bytes read, for progress.
struct Counting<R> {
    inner: R,
    count: SharedCount,
}

#[derive(Clone, Default)]
struct SharedCount(std::rc::Rc<std::cell::Cell<u64>>);

impl SharedCount {
    fn get(&self) -> u64 {
        self.0.get()
    }
}

impl<R> Counting<R> {
    fn new(inner: R) -> Counting<R> {
        Counting {
            inner,
            count: SharedCount::default(),
        }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.0.set(self.count.0.get() + n as u64);
        Ok(n)
    }
}
