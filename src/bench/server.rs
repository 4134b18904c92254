//! The server under test: the real binary started on a loopback port,
//! stopped when dropped.

use super::*;

/// The server under test, stopped when dropped.
pub(super) struct ServerProcess {
    pub(super) child: Child,
    pub(super) base: String,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    pub(super) fn start(data: &Path) -> Result<(ServerProcess, Duration), String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let started = Instant::now();
        let mut child = Command::new(exe)
            .args(["serve", "--bind", "127.0.0.1:0", "--data"])
            .arg(data)
            .env("DOCKET_ADMIN_PASSWORD", PASSWORD)
            .env("DOCKET_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the server: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(address) = line.strip_prefix("docket listening on ") {
                        break address.trim().to_owned();
                    }
                }
                _ => return Err("the server exited before it was ready".into()),
            }
        };
        // Keep draining stdout so the server never blocks on it.
        std::thread::spawn(move || lines.for_each(drop));
        Ok((ServerProcess { child, base }, started.elapsed()))
    }

    /// Resident memory now and at its peak, in MiB.
    pub(super) fn memory(&self) -> (f64, f64) {
        (self.status_mib("VmRSS:"), self.status_mib("VmHWM:"))
    }

    /// Resident memory now in MiB: anonymous (the heap: caches, buffers)
    /// and file-backed (mapped index and store pages, which the kernel
    /// may drop and read again).
    pub(super) fn memory_kinds(&self) -> (f64, f64) {
        (self.status_mib("RssAnon:"), self.status_mib("RssFile:"))
    }

    fn status_mib(&self, name: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}
