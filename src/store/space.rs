//! Free space on the data directory's disk. Below a reserve the store
//! refuses writes before they start, so a filling disk ends in clear
//! refusals instead of a database write failing half way; reads go on, and
//! writes resume by themselves once space is freed.

use std::path::Path;

/// Bytes an unprivileged process may still write on the filesystem holding
/// `path`; `None` when the system cannot say.
pub fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is a valid NUL-terminated string and `stats` points
    // to writable memory of the right type; statvfs fills it on success.
    let answer = unsafe { libc::statvfs(c_path.as_ptr(), stats.as_mut_ptr()) };
    if answer != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it initialised `stats`.
    let stats = unsafe { stats.assume_init() };
    // The field types differ between platforms (u32 on some 32-bit ones).
    #[allow(clippy::unnecessary_cast)]
    Some((stats.f_bavail as u64).saturating_mul(stats.f_frsize as u64))
}

/// The reserve a data directory keeps, and the check against it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reserve {
    pub bytes: u64,
}

impl Reserve {
    /// `Err` with what is free when `path`'s disk has less than the reserve
    /// plus `needed` bytes free.
    pub fn check(self, path: &Path, needed: u64) -> Result<(), super::StoreError> {
        if self.bytes == 0 && needed == 0 {
            return Ok(());
        }
        match free_bytes(path) {
            Some(free) if free < self.bytes.saturating_add(needed) => {
                Err(super::StoreError::DiskFull {
                    free_mib: free >> 20,
                    reserve_mib: self.bytes >> 20,
                })
            }
            _ => Ok(()),
        }
    }

    /// The refusal for a write the disk itself turned down (ENOSPC).
    pub fn full(self, path: &Path) -> super::StoreError {
        super::StoreError::DiskFull {
            free_mib: free_bytes(path).unwrap_or(0) >> 20,
            reserve_mib: self.bytes >> 20,
        }
    }
}
