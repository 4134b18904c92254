//! The index's lifecycle: opened at start, moved aside when unusable,
//! rebuilt beside the live one and swapped in.

use super::*;

/// The index and its lifecycle: opened at start, replaced by a rebuild.
pub struct SearchIndex {
    dir: PathBuf,
    language: Language,
    engine: RwLock<Option<Arc<Engine>>>,
    indexed: watch::Sender<u64>,
    rebuild_requested: std::sync::atomic::AtomicBool,
    /// Set while a full rebuild runs: incremental indexing waits for it.
    rebuilding: std::sync::atomic::AtomicBool,
}

impl SearchIndex {
    /// Opens the index in `dir`. An index that cannot be used is moved aside
    /// (and logged); the returned flag says whether a rebuild is needed.
    pub fn open(dir: &Path, language: Language) -> Result<(SearchIndex, bool), SearchError> {
        let (engine, needs_rebuild) = match Engine::open(dir, language) {
            Ok(engine) if engine.payload().is_some() => (Some(engine), false),
            Ok(engine) => {
                tracing::warn!(dir = %dir.display(), "the search index has no usable commit; rebuilding it");
                drop(engine);
                move_aside(dir);
                (None, true)
            }
            Err(e) => {
                if dir.exists() {
                    tracing::warn!(dir = %dir.display(), error = %e, "the search index cannot be opened; rebuilding it");
                    move_aside(dir);
                }
                (None, true)
            }
        };
        let indexed = engine.as_ref().map_or(0, Engine::indexed_seq);
        let index = SearchIndex {
            dir: dir.to_owned(),
            language,
            engine: RwLock::new(engine.map(Arc::new)),
            indexed: watch::channel(indexed).0,
            rebuild_requested: std::sync::atomic::AtomicBool::new(false),
            rebuilding: std::sync::atomic::AtomicBool::new(false),
        };
        Ok((index, needs_rebuild))
    }

    /// The engine to search, unless the first build is still running.
    pub fn engine(&self) -> Option<Arc<Engine>> {
        self.engine
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Waits (at most `timeout`) until the index reflects `seq`, so that a
    /// change is found by the search that follows it.
    pub async fn wait_for(&self, seq: u64, timeout: std::time::Duration) -> bool {
        // During a rebuild the live index does not move: waiting would only
        // slow every search down by the whole timeout.
        if self.rebuilding.load(std::sync::atomic::Ordering::SeqCst) {
            return false;
        }
        let mut indexed = self.indexed.subscribe();
        tokio::time::timeout(timeout, indexed.wait_for(|at| *at >= seq))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Marks a full rebuild as running (or finished).
    pub fn set_rebuilding(&self, running: bool) {
        self.rebuilding
            .store(running, std::sync::atomic::Ordering::SeqCst);
    }

    pub(super) fn set_indexed(&self, seq: u64) {
        self.indexed.send_modify(|at| *at = (*at).max(seq));
    }

    /// Asks the indexer to rebuild from the store; searches use the current index
    /// until the new one replaces it.
    pub fn request_rebuild(&self) {
        self.rebuild_requested
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub(super) fn take_rebuild_request(&self) -> bool {
        self.rebuild_requested
            .swap(false, std::sync::atomic::Ordering::SeqCst)
    }

    fn staging_dir(&self) -> PathBuf {
        self.dir.with_extension("new")
    }

    /// Puts a freshly built index in place of the current one.
    fn swap_in(&self, staged: Engine, seq: u64) -> Result<(), SearchError> {
        // Let the merges the last commit started finish before the folder
        // moves: they write into it, and fewer segments search faster.
        staged.retire()?;
        drop(staged);
        let retired = self
            .dir
            .with_extension(format!("old-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&retired);
        let mut slot = self.engine.write().unwrap_or_else(|p| p.into_inner());
        // The live index's writer writes by path: once the folder is
        // renamed, its late merges would land in the new index.
        if let Some(live) = slot.as_ref() {
            live.retire()?;
        }
        if self.dir.exists() {
            std::fs::rename(&self.dir, &retired).map_err(|e| SearchError::Index(e.to_string()))?;
        }
        std::fs::rename(self.staging_dir(), &self.dir)
            .map_err(|e| SearchError::Index(e.to_string()))?;
        let engine = Engine::open(&self.dir, self.language)?;
        *slot = Some(Arc::new(engine));
        drop(slot);
        self.indexed.send_replace(seq);
        let _ = std::fs::remove_dir_all(&retired);
        Ok(())
    }
}

/// Builds a whole new index beside the live one, for imports and rebuilds.
pub struct BulkBuilder {
    engine: Engine,
    added: u64,
}

impl BulkBuilder {
    pub fn add(
        &mut self,
        case: &crate::domain::case::Case,
        activity: &[crate::domain::activity::ActivityEvent],
    ) -> Result<(), SearchError> {
        let document = case_document(self.engine.fields(), case, activity);
        self.engine
            .with_writer(|writer| Ok(writer.add_document(document)?))?;
        self.added += 1;
        Ok(())
    }

    pub fn added(&self) -> u64 {
        self.added
    }
}

impl SearchIndex {
    /// Starts building a replacement index in the staging folder.
    pub fn bulk_builder(&self) -> Result<BulkBuilder, SearchError> {
        let staging = self.staging_dir();
        let _ = std::fs::remove_dir_all(&staging);
        Ok(BulkBuilder {
            engine: Engine::create_for_bulk(&staging, self.language)?,
            added: 0,
        })
    }

    /// Commits the built index as reflecting outbox sequence `seq` and puts
    /// it in place of the live one.
    pub fn finish_bulk(&self, builder: BulkBuilder, seq: u64) -> Result<u64, SearchError> {
        builder.engine.apply(Vec::new(), seq)?;
        let added = builder.added;
        self.swap_in(builder.engine, seq)?;
        Ok(added)
    }
}

/// Keeps an unusable index for inspection instead of deleting it.
fn move_aside(dir: &Path) {
    let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S");
    let aside = dir.with_extension(format!("broken-{stamp}"));
    if let Err(e) = std::fs::rename(dir, &aside) {
        tracing::warn!(error = %e, "could not move the unusable index aside; deleting it");
        let _ = std::fs::remove_dir_all(dir);
    }
}
