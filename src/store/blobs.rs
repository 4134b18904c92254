//! The blob store: file contents under `DATA/blobs/`, named by their
//! SHA-256, so the same file is stored once. A blob is written to a
//! temporary file, synced and renamed into place before any record names it;
//! a crash can leave an unnamed blob behind, never a record without its blob.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use super::{StoreError, StoreResult};

#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
    data_dir: PathBuf,
    reserve: super::space::Reserve,
}

impl BlobStore {
    /// The store under `data_dir`; folders are made on the first write.
    pub fn new(data_dir: &Path) -> BlobStore {
        BlobStore {
            dir: data_dir.join("blobs"),
            data_dir: data_dir.to_owned(),
            reserve: super::space::Reserve::default(),
        }
    }

    /// Refuses to store a file that would leave less than `reserve` free.
    pub fn with_reserve(mut self, reserve: super::space::Reserve) -> BlobStore {
        self.reserve = reserve;
        self
    }

    /// Stores `bytes` durably and returns their hash (hex). Blocking.
    pub fn put(&self, bytes: &[u8]) -> StoreResult<String> {
        let sha = hex::encode(Sha256::digest(bytes));
        let path = self.path_of(&sha)?;
        if path.exists() {
            return Ok(sha);
        }
        self.reserve.check(&self.data_dir, bytes.len() as u64)?;
        let parent = path.parent().expect("blob paths have a parent");
        fs::create_dir_all(parent).map_err(|e| self.write_error(e))?;
        // Each writer its own temporary file: the same content may be
        // stored by several requests at once.
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let temp = parent.join(format!(
            ".{sha}.{}.{}.tmp",
            std::process::id(),
            WRITES.fetch_add(1, Ordering::Relaxed)
        ));
        let written = File::create(&temp).and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(self.write_error(e));
        }
        // Renaming over an identical blob written meanwhile is harmless.
        fs::rename(&temp, &path).map_err(|e| self.write_error(e))?;
        File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(|e| self.write_error(e))?;
        Ok(sha)
    }

    /// A full disk is said as such; other failures as they are.
    fn write_error(&self, e: std::io::Error) -> StoreError {
        if e.kind() == std::io::ErrorKind::StorageFull {
            self.reserve.full(&self.data_dir)
        } else {
            io_error(e)
        }
    }

    /// Opens a stored blob for reading.
    pub fn open_blob(&self, sha: &str) -> StoreResult<File> {
        File::open(self.path_of(sha)?).map_err(io_error)
    }

    pub fn read(&self, sha: &str) -> StoreResult<Vec<u8>> {
        fs::read(self.path_of(sha)?).map_err(io_error)
    }

    /// Where a blob lives (it may not exist).
    pub fn path_of(&self, sha: &str) -> StoreResult<PathBuf> {
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::Corrupt(format!("not a blob name: {sha:?}")));
        }
        Ok(self.dir.join(&sha[..2]).join(sha))
    }
}

/// The server's signing key (`DATA/server.key`, made on first use): signs
/// tokens that grant something, such as chat widget sessions.
pub fn server_key(data_dir: &Path) -> StoreResult<[u8; 32]> {
    let path = data_dir.join("server.key");
    if let Ok(bytes) = fs::read(&path)
        && let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice())
    {
        return Ok(key);
    }
    let key: [u8; 32] = rand::random();
    fs::create_dir_all(data_dir).map_err(io_error)?;
    let temp = data_dir.join(format!(".server.key.{}.tmp", std::process::id()));
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)
            .map_err(io_error)?;
        file.write_all(&key).map_err(io_error)?;
        file.sync_all().map_err(io_error)?;
    }
    fs::rename(&temp, &path).map_err(io_error)?;
    // Whoever renamed last wins; everyone uses what is on disk.
    let bytes = fs::read(&path).map_err(io_error)?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| StoreError::Corrupt("server.key is not 32 bytes".into()))
}

fn io_error(err: std::io::Error) -> StoreError {
    StoreError::Backend(format!("blob store: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_content_is_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::new(dir.path());
        let a = blobs.put(b"hello").unwrap();
        let b = blobs.put(b"hello").unwrap();
        assert_eq!(a, b);
        assert_eq!(blobs.read(&a).unwrap(), b"hello");
        let files: Vec<_> = walk(&dir.path().join("blobs"));
        assert_eq!(files.len(), 1, "{files:?}");
        assert!(blobs.read("../../etc/passwd").is_err());
    }

    #[test]
    fn the_same_content_stored_at_once_by_many_writers_is_one_blob() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::new(dir.path());
        let content = vec![7u8; 64 * 1024];
        std::thread::scope(|scope| {
            for _ in 0..16 {
                scope.spawn(|| blobs.put(&content).unwrap());
            }
        });
        let files = walk(&dir.path().join("blobs"));
        assert_eq!(files.len(), 1, "no temporary files left: {files:?}");
        assert_eq!(
            blobs
                .read(&files[0].file_name().unwrap().to_string_lossy())
                .unwrap(),
            content
        );
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                found.extend(walk(&path));
            } else {
                found.push(path);
            }
        }
        found
    }
}
