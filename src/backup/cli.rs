//! The operator's commands: `docket backup`, `restore`, `verify` and
//! `compact`. Progress goes to stderr, results to stdout.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Progress;
use crate::config::Config;
use crate::store::Store;

/// Prints progress at most every two seconds.
struct Reporter {
    what: &'static str,
    last: Instant,
}

impl Reporter {
    fn new(what: &'static str) -> Reporter {
        Reporter {
            what,
            last: Instant::now(),
        }
    }

    fn report(&mut self, progress: Progress) {
        if self.last.elapsed() < Duration::from_secs(2) {
            return;
        }
        self.last = Instant::now();
        let percent = (progress.done_bytes * 100)
            .checked_div(progress.total_bytes)
            .unwrap_or(0)
            .min(100);
        eprintln!(
            "{}: {percent}% ({} of {})",
            self.what,
            mib(progress.done_bytes),
            mib(progress.total_bytes)
        );
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Syncs the whole backup and renames it into place.
fn finish_file(file: File, partial: &Path, target: &Path) -> Result<u64, String> {
    file.sync_all()
        .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    drop(file);
    std::fs::rename(partial, target)
        .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
    Ok(size)
}

/// `docket backup FILE` on a stopped server's data directory.
pub async fn backup_offline(
    config: &Config,
    target: &Path,
    with_index: bool,
) -> Result<(), String> {
    let store = Store::open(&config.data_dir)
        .map_err(|e| format!("{e}\nTo back up a running server, pass --url URL --token TOKEN."))?;
    let started = Instant::now();
    let data_dir = config.data_dir.clone();
    let include = super::Include {
        config_file: config.config_file.clone(),
        index: with_index,
    };
    let target_path = target.to_owned();
    let (summary, size) = tokio::task::spawn_blocking(move || {
        let mut reporter = Reporter::new("backup");
        super::write_backup_file(&store, &data_dir, &include, &target_path, &mut |p| {
            reporter.report(p)
        })
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("the backup failed: {e}"))?;
    for sha in &summary.missing_blobs {
        eprintln!("warning: blob {sha} is named by a file record but missing; run docket verify");
    }
    for sha in &summary.damaged_blobs {
        eprintln!("warning: blob {sha} is damaged on disk; run docket verify");
    }
    println!(
        "Backed up {} cases and {} files ({}) into {} ({}) in {:.1} s.",
        summary.cases,
        summary.blobs,
        mib(summary.bytes),
        target.display(),
        mib(size),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `docket backup FILE --url URL --token TOKEN`: the running server writes
/// the backup and this streams it into FILE.
pub async fn backup_remote(url: &str, token: Option<&str>, target: &Path) -> Result<(), String> {
    let token = token.ok_or("pass an administrator's API token with --token or DOCKET_TOKEN")?;
    let endpoint = format!("{}/api/v1/admin/backup", url.trim_end_matches('/'));
    let started = Instant::now();
    let response = reqwest::Client::new()
        .post(&endpoint)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| format!("cannot reach the server at {url}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let detail = body["detail"].as_str().unwrap_or("no detail");
        return Err(format!("the server refused ({status}): {detail}"));
    }
    let partial = super::archive::partial_path(target);
    let mut file = super::restore::private_file(&partial)
        .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
    let mut response = response;
    let mut received = 0u64;
    let mut last = Instant::now();
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                return Err(format!(
                    "the backup was cut off after {}: {e}",
                    mib(received)
                ));
            }
        };
        if let Err(e) = file.write_all(&chunk) {
            let _ = std::fs::remove_file(&partial);
            return Err(format!("cannot write {}: {e}", partial.display()));
        }
        received += chunk.len() as u64;
        if last.elapsed() >= Duration::from_secs(2) {
            last = Instant::now();
            eprintln!("backup: {} received", mib(received));
        }
    }
    let size = finish_file(file, &partial, target)?;
    println!(
        "Backed up the server at {url} into {} ({}) in {:.1} s.",
        target.display(),
        mib(size),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `docket restore FILE`: unpack and check, then rebuild the index.
pub async fn restore(config: &Config, backup: &Path, force: bool) -> Result<(), String> {
    let started = Instant::now();
    let data_dir = config.data_dir.clone();
    let file = backup.to_owned();
    let summary = tokio::task::spawn_blocking(move || {
        let mut reporter = Reporter::new("restore");
        super::restore(&file, &data_dir, force, &mut |p| reporter.report(p))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("nothing was restored: {e}"))?;
    println!(
        "Restored {} cases ({} entries, {}) taken {} by docket {}.",
        summary.manifest.cases,
        summary.entries,
        mib(summary.bytes),
        summary.manifest.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
        summary.manifest.docket_version
    );
    for sha in &summary.manifest.missing_blobs {
        eprintln!(
            "warning: the backup lacks blob {sha}, which a file record names; docket verify lists the file"
        );
    }
    for sha in &summary.manifest.damaged_blobs {
        eprintln!(
            "warning: blob {sha} was already damaged when backed up; docket verify lists the file"
        );
    }
    if let Some(path) = &summary.config {
        println!(
            "The backup's configuration is in {}; compare it with yours.",
            path.display()
        );
    }
    let store = Store::open(&config.data_dir).map_err(|e| e.to_string())?;
    let language = crate::search::language(&config.search.language)
        .ok_or("search.language is not supported")?;
    let (index, needs_rebuild) =
        crate::search::SearchIndex::open(&config.data_dir.join("index"), language)
            .map_err(|e| e.to_string())?;
    if !needs_rebuild {
        println!(
            "The backup's search index is in place (the server brings it up to date as it starts). Done in {:.1} s; start the server.",
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let cases = crate::search::indexer::rebuild_from_store(Arc::new(index), store)
        .await
        .map_err(|e| format!("restored, but the search index could not be built: {e}"))?;
    println!(
        "Rebuilt the search index ({cases} cases). Done in {:.1} s; start the server.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `docket verify`: prints each finding; fails on any problem.
pub async fn verify(config: &Config) -> Result<(), String> {
    let language = crate::search::language(&config.search.language)
        .ok_or("search.language is not supported")?;
    let findings = super::verify(&config.data_dir, language, &mut |step| eprintln!("{step}"))
        .await
        .map_err(|e| e.to_string())?;
    let problems = findings.iter().filter(|f| f.failed).count();
    for finding in &findings {
        let mark = if finding.failed { "PROBLEM" } else { "ok" };
        println!("{mark}: {}", finding.text);
    }
    if problems == 0 {
        println!("No problems found in {}.", config.data_dir.display());
        Ok(())
    } else {
        Err(format!("{problems} problem(s) found"))
    }
}

/// `docket compact`: events older releases stored as JSON compressed with
/// the store's dictionary, then the store's free pages given back to the
/// disk.
pub async fn compact(config: &Config) -> Result<(), String> {
    let db = config.data_dir.join(crate::store::DB_FILE);
    if !db.exists() {
        return Err(format!("{} has no store", config.data_dir.display()));
    }
    let started = Instant::now();
    let before = std::fs::metadata(&db).map_err(|e| e.to_string())?.len();
    let store = crate::store::Store::open(&config.data_dir).map_err(|e| e.to_string())?;
    let compressed = store
        .compress_stored_events()
        .await
        .map_err(|e| e.to_string())?;
    drop(store);
    if compressed > 0 {
        println!("Compressed {compressed} stored events.");
    }
    let _lock = crate::store::hold_data_dir(&config.data_dir).map_err(|e| e.to_string())?;
    let (_, after) = crate::store::backup::compact_file(&db).map_err(|e| e.to_string())?;
    println!(
        "Compacted the store from {} to {} in {:.1} s.",
        mib(before),
        mib(after),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
