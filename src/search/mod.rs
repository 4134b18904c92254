//! Full-text search and listing over a tantivy index derived from the store.
//!
//! The index lives in `DATA/index`. It is fed only by the indexer (an
//! outbox consumer), which records in every tantivy commit the outbox
//! sequence it reached. A missing, unreadable or old-format index is moved
//! aside and rebuilt from the store in the background; until the new one is ready
//! the service answers plain listings from the store.

mod compile;
mod document;
mod facets;
pub mod indexer;
mod schema;
pub mod syntax;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, EnableScoring, Occur, Query};
use tantivy::snippet::SnippetGenerator;
/// The engine under the index, named in benchmark reports.
pub const ENGINE: &str = "tantivy";

/// The stemming languages the index knows.
pub use tantivy::tokenizer::Language;
use tantivy::{
    DocAddress, DocSet, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher, TERMINATED,
    TantivyDocument, Term,
};
use tokio::sync::watch;

pub use facets::Facets;
use schema::{Fields, names};
pub use syntax::{ParsedQuery, SyntaxError};

use crate::domain::Timestamp;
use crate::domain::case::{CaseNumber, Priority, Status};
use crate::domain::channel::ChannelId;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    #[error("the search index is being built; try again in a moment")]
    NotReady,
    #[error("the cursor is not one this server issued for this sort; start without one")]
    BadCursor,
    #[error("search index error: {0}")]
    Index(String),
}

impl From<tantivy::TantivyError> for SearchError {
    fn from(err: tantivy::TantivyError) -> Self {
        SearchError::Index(err.to_string())
    }
}

/// Which cases a user may see at all; the index narrows by it, and every
/// hit is still checked against the store.
#[derive(Debug, Clone)]
pub enum Scope {
    Everything,
    Channels {
        channels: Vec<ChannelId>,
        creator: Option<String>,
    },
}

/// Structured filters; every one that is set must match.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub archived: Option<bool>,
    /// In the trash or not (both when `None`).
    pub deleted: Option<bool>,
    pub resolved: Option<bool>,
    pub statuses: Vec<Status>,
    pub channels: Vec<ChannelId>,
    /// `Some(None)`: unassigned.
    pub assignee: Option<Option<String>>,
    pub creator: Option<String>,
    /// Someone who changed the case.
    pub updated_by: Option<String>,
    pub category: Option<String>,
    pub case_type: Option<String>,
    pub source: Option<String>,
    pub priority: Option<Priority>,
    pub important: Option<bool>,
    pub created_from: Option<Timestamp>,
    pub created_to: Option<Timestamp>,
    pub updated_from: Option<Timestamp>,
    pub updated_to: Option<Timestamp>,
    pub closed_from: Option<Timestamp>,
    pub closed_to: Option<Timestamp>,
    pub deadline_before: Option<Timestamp>,
    /// Only cases with news since the user last opened them: the user's
    /// read markers (case number → seconds).
    pub unread_since: Option<Arc<HashMap<CaseNumber, u64>>>,
    /// Cases whose reply window (per channel, in hours) closes between
    /// `now` and `warn_until`, with the customer still waiting for an answer.
    pub reply_window_closing: Option<ReplyWindows>,
}

#[derive(Debug, Clone)]
pub struct ReplyWindows {
    pub channels: Vec<(ChannelId, u32)>,
    pub now: Timestamp,
    pub warn_until: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Relevance,
    Updated,
    Created,
    Priority,
    Deadline,
    Number,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

impl Sort {
    /// `relevance`, `updated`, `created`, `priority`, `deadline`, `number`,
    /// each with a leading `-` for descending.
    pub fn parse(text: &str) -> Option<Sort> {
        let (descending, name) = match text.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, text),
        };
        let key = match name {
            "relevance" => SortKey::Relevance,
            "updated" => SortKey::Updated,
            "created" => SortKey::Created,
            "priority" => SortKey::Priority,
            "deadline" => SortKey::Deadline,
            "number" => SortKey::Number,
            _ => return None,
        };
        Some(Sort { key, descending })
    }

    fn field_name(self) -> Option<&'static str> {
        match self.key {
            SortKey::Relevance => None,
            SortKey::Updated => Some(names::SORT_UPDATED),
            SortKey::Created | SortKey::Number => Some(names::NUMBER),
            SortKey::Priority => Some(names::SORT_PRIORITY),
            SortKey::Deadline => Some(names::SORT_DEADLINE),
        }
    }
}

pub struct SearchRequest<'a> {
    pub query: Option<&'a ParsedQuery>,
    pub scope: Scope,
    pub filters: Filters,
    pub sort: Sort,
    pub limit: usize,
    pub cursor: Option<&'a str>,
    pub facets: bool,
    /// The searching user, for `assignee:me`.
    pub me: &'a str,
    /// Whether internal notes are searched and shown (staff, not partners).
    pub staff: bool,
    pub channel_lookup: &'a dyn Fn(&str) -> Option<u64>,
}

pub struct SearchHits {
    pub numbers: Vec<CaseNumber>,
    /// How many cases match; a lower bound when `total_capped`.
    pub total: usize,
    /// Counting stopped at [`EXACT_TOTAL_LIMIT`]: more cases match.
    pub total_capped: bool,
    pub next_cursor: Option<String>,
    pub facets: Option<Facets>,
}

/// Totals are counted exactly up to this many matches; beyond it a list
/// says "10,000+" instead of walking every match of a common word.
pub const EXACT_TOTAL_LIMIT: usize = 10_000;

/// Counts the matches of `query`, stopping once more than `limit` are
/// found: the count is then `limit` and the second value is true.
fn count_up_to(
    searcher: &Searcher,
    query: &dyn Query,
    limit: usize,
) -> tantivy::Result<(usize, bool)> {
    let weight = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
    let mut count = 0;
    for reader in searcher.segment_readers() {
        if reader.alive_bitset().is_none() && count + reader.max_doc() as usize <= limit {
            // Without deletions, many queries count without visiting docs.
            count += weight.count(reader)? as usize;
            continue;
        }
        let alive = reader.alive_bitset();
        let mut scorer = weight.scorer(reader, 1.0)?;
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            if alive.is_none_or(|bits| bits.is_alive(doc)) {
                count += 1;
                if count > limit {
                    return Ok((limit, true));
                }
            }
            doc = scorer.advance();
        }
    }
    Ok((count, false))
}

/// Runs `collector`, keeping only unread cases when the request asks so.
fn collect<C>(
    searcher: &Searcher,
    query: &dyn Query,
    collector: C,
    request: &SearchRequest,
) -> tantivy::Result<C::Fruit>
where
    C: tantivy::collector::Collector + Send + Sync,
{
    match &request.filters.unread_since {
        None => searcher.search(query, &collector),
        Some(markers) => {
            let markers = markers.clone();
            // Unread: never opened, or news (creation, a customer message)
            // since the user last opened it.
            let unread = move |key: u64| {
                let (news, number) = schema::sort_key::split(key);
                markers.get(&number).is_none_or(|read| *read < news)
            };
            let filtered = tantivy::collector::FilterCollector::new(
                names::UNREAD_KEY.to_owned(),
                unread,
                collector,
            );
            searcher.search(query, &filtered)
        }
    }
}

/// An excerpt as pieces of text, each marked as a match or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub parts: Vec<(String, bool)>,
}

impl Snippet {
    fn from_ranges(fragment: &str, highlighted: &[std::ops::Range<usize>]) -> Snippet {
        let mut parts = Vec::new();
        let mut at = 0;
        let mut ranges: Vec<_> = highlighted.to_vec();
        ranges.sort_by_key(|r| r.start);
        for range in ranges {
            if range.start < at || range.end > fragment.len() {
                continue;
            }
            if range.start > at {
                parts.push((fragment[at..range.start].to_owned(), false));
            }
            parts.push((fragment[range.clone()].to_owned(), true));
            at = range.end;
        }
        if at < fragment.len() {
            parts.push((fragment[at..].to_owned(), false));
        }
        Snippet { parts }
    }

    /// HTML-escaped text with each match in `<b>`.
    pub fn to_html(&self) -> String {
        let mut html = String::new();
        for (text, matched) in &self.parts {
            let escaped = text
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
                .replace('\'', "&#39;");
            if *matched {
                html.push_str("<b>");
                html.push_str(&escaped);
                html.push_str("</b>");
            } else {
                html.push_str(&escaped);
            }
        }
        html
    }
}

/// What the indexer records in each commit.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Payload {
    schema: u32,
    outbox_seq: u64,
}

/// One open tantivy index with its single long-lived writer.
pub struct Engine {
    index: Index,
    reader: IndexReader,
    /// Absent when opened only to read (another process writes).
    writer: Mutex<Option<IndexWriter<TantivyDocument>>>,
    fields: Fields,
}

/// How deep relevance pages go; past it, a narrower query or a sort serves
/// better than page 400 of "best matches".
const MAX_RELEVANCE_OFFSET: usize = 10_000;

/// Memory for the live writer's indexing buffer.
const WRITER_MEMORY: usize = 100 * 1024 * 1024;
/// Indexing threads and memory for imports and rebuilds.
const BULK_THREADS: usize = 2;
const BULK_MEMORY: usize = 300 * 1024 * 1024;

impl Engine {
    fn create(dir: &Path, language: Language) -> Result<Engine, SearchError> {
        std::fs::create_dir_all(dir).map_err(|e| SearchError::Index(e.to_string()))?;
        let (schema, _) = schema::build();
        let index = Index::create_in_dir(dir, schema)?;
        Engine::wrap(index, language, true)
    }

    /// A new index for bulk building: more indexing threads and memory
    /// than the live writer needs.
    fn create_for_bulk(dir: &Path, language: Language) -> Result<Engine, SearchError> {
        let mut engine = Engine::create(dir, language)?;
        // Only one writer may exist per index: give up the small one first.
        engine.writer = Mutex::new(None);
        engine.writer = Mutex::new(Some(
            engine
                .index
                .writer_with_num_threads(BULK_THREADS, BULK_MEMORY)?,
        ));
        Ok(engine)
    }

    fn open(dir: &Path, language: Language) -> Result<Engine, SearchError> {
        let index = Index::open_in_dir(dir)?;
        let (expected, _) = schema::build();
        if index.schema() != expected {
            return Err(SearchError::Index(
                "the index was written with another schema".into(),
            ));
        }
        Engine::wrap(index, language, true)
    }

    /// Opens an index another process writes, to search it in place.
    pub fn open_read_only(dir: &Path, language: Language) -> Result<Engine, SearchError> {
        Engine::wrap(Index::open_in_dir(dir)?, language, false)
    }

    /// Runs `work` with the writer; an index opened read-only, or retired
    /// by a swap, has none.
    fn with_writer<T>(
        &self,
        work: impl FnOnce(&mut IndexWriter<TantivyDocument>) -> Result<T, SearchError>,
    ) -> Result<T, SearchError> {
        let mut slot = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let writer = slot
            .as_mut()
            .ok_or_else(|| SearchError::Index("the index is not open for writing".into()))?;
        work(writer)
    }

    /// Stops writing: waits for running merges and drops the writer, so
    /// nothing writes into the folder once it is moved.
    fn retire(&self) -> Result<(), SearchError> {
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(writer) = writer {
            writer.wait_merging_threads()?;
        }
        Ok(())
    }

    fn wrap(index: Index, language: Language, writable: bool) -> Result<Engine, SearchError> {
        schema::register_tokenizer(&index, language);
        let (_, fields) = schema::build();
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let writer = Mutex::new(if writable {
            Some(index.writer_with_num_threads(1, WRITER_MEMORY)?)
        } else {
            None
        });
        Ok(Engine {
            index,
            reader,
            writer,
            fields,
        })
    }

    /// The outbox sequence of the last commit, if it is of this schema.
    fn payload(&self) -> Option<Payload> {
        let meta = self.index.load_metas().ok()?;
        let payload: Payload = serde_json::from_str(meta.payload.as_deref()?).ok()?;
        (payload.schema == schema::SCHEMA_VERSION).then_some(payload)
    }

    pub fn indexed_seq(&self) -> u64 {
        self.payload().map_or(0, |p| p.outbox_seq)
    }

    /// Replaces the documents of the given cases (`None`: remove it) and
    /// commits, recording `outbox_seq`; then makes them visible to searches.
    pub fn apply(
        &self,
        changes: Vec<(CaseNumber, Option<TantivyDocument>)>,
        outbox_seq: u64,
    ) -> Result<(), SearchError> {
        self.with_writer(|writer| {
            for (number, document) in changes {
                writer.delete_term(Term::from_field_u64(self.fields.number, number));
                if let Some(document) = document {
                    writer.add_document(document)?;
                }
            }
            let mut commit = writer.prepare_commit()?;
            let payload = Payload {
                schema: schema::SCHEMA_VERSION,
                outbox_seq,
            };
            commit.set_payload(&serde_json::to_string(&payload).expect("payload serialises"));
            commit.commit()?;
            Ok(())
        })?;
        self.reader.reload()?;
        Ok(())
    }

    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    fn build_query(
        &self,
        request: &SearchRequest,
        typos: bool,
    ) -> Result<Box<dyn Query>, SearchError> {
        let mut clauses: Vec<compile::Clause> = Vec::new();
        if let Some(parsed) = request.query.filter(|q| !q.is_empty()) {
            let mut context = compile::Context {
                fields: &self.fields,
                analyzer: self.index.tokenizer_for_field(self.fields.subject)?,
                me: request.me,
                channel: request.channel_lookup,
                staff: request.staff,
                typos,
            };
            clauses.extend(context.query(parsed)?);
        }
        clauses.extend(compile::filters(
            &self.fields,
            &request.filters,
            &request.scope,
        ));
        if clauses.is_empty() || clauses.iter().all(|(occur, _)| *occur == Occur::MustNot) {
            clauses.push((Occur::Must, Box::new(AllQuery)));
        }
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

    /// Runs the request. When the words find nothing, the search is run
    /// again tolerating typos: deciding that from the user's own results,
    /// not from the whole index, reveals nothing about cases they cannot
    /// see, and keeps fuzzy matching off the common path.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchHits, SearchError> {
        let exact = self.search_with(request, false)?;
        let has_words = request.query.is_some_and(|q| {
            q.groups.iter().flat_map(|g| &g.alternatives).any(|t| {
                !t.negated && matches!(t.clause, syntax::Clause::Word { prefix: false, .. })
            })
        });
        if exact.total == 0 && has_words {
            return self.search_with(request, true);
        }
        Ok(exact)
    }

    fn search_with(&self, request: &SearchRequest, typos: bool) -> Result<SearchHits, SearchError> {
        let searcher = self.reader.searcher();
        let query = self.build_query(request, typos)?;
        let (total, total_capped, facets) = if request.facets {
            let (total, facets) =
                collect(&searcher, &*query, (Count, facets::FacetCollector), request)?;
            (total, false, Some(facets))
        } else if request.filters.unread_since.is_some() {
            (collect(&searcher, &*query, Count, request)?, false, None)
        } else {
            let (total, capped) = count_up_to(&searcher, &*query, EXACT_TOTAL_LIMIT)?;
            (total, capped, None)
        };
        let (numbers, next_cursor) = match request.sort.field_name() {
            None => self.by_relevance(&searcher, &*query, request)?,
            Some(field) => self.by_key(&searcher, query, field, request)?,
        };
        Ok(SearchHits {
            numbers,
            total,
            total_capped,
            next_cursor,
            facets,
        })
    }

    /// The case numbers of hits, read from the `number` column rather than
    /// the document store (which decompresses a whole block per hit).
    fn numbers_of(
        searcher: &Searcher,
        addresses: impl Iterator<Item = DocAddress>,
    ) -> Result<Vec<CaseNumber>, SearchError> {
        let mut columns = HashMap::new();
        let mut numbers = Vec::new();
        for address in addresses {
            let column = match columns.entry(address.segment_ord) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => entry.insert(
                    searcher
                        .segment_reader(address.segment_ord)
                        .fast_fields()
                        .u64(names::NUMBER)?,
                ),
            };
            let number = column
                .first(address.doc_id)
                .ok_or_else(|| SearchError::Index("a document has no case number".into()))?;
            numbers.push(number);
        }
        Ok(numbers)
    }

    /// Relevance pages by offset (`r:OFFSET`): scores are not stable keys.
    fn by_relevance(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        request: &SearchRequest,
    ) -> Result<(Vec<CaseNumber>, Option<String>), SearchError> {
        let offset = match request.cursor {
            None => 0,
            Some(cursor) => cursor
                .strip_prefix("r:")
                .and_then(|o| o.parse::<usize>().ok())
                // The collector reserves room for every skipped hit.
                .filter(|o| *o <= MAX_RELEVANCE_OFFSET)
                .ok_or(SearchError::BadCursor)?,
        };
        let collector = TopDocs::with_limit(request.limit + 1)
            .and_offset(offset)
            .order_by_score();
        let top = collect(searcher, query, collector, request)?;
        let more = top.len() > request.limit;
        let numbers = Self::numbers_of(
            searcher,
            top.into_iter().take(request.limit).map(|(_, a)| a),
        )?;
        let next = more.then(|| format!("r:{}", offset + request.limit));
        Ok((numbers, next))
    }

    /// Sorted listings page by key (`k:KEY`): every key is unique, so a page
    /// boundary holds while cases change.
    fn by_key(
        &self,
        searcher: &Searcher,
        query: Box<dyn Query>,
        field_name: &'static str,
        request: &SearchRequest,
    ) -> Result<(Vec<CaseNumber>, Option<String>), SearchError> {
        let descending = request.sort.descending;
        let field = self.index.schema().get_field(field_name)?;
        let query: Box<dyn Query> = match request.cursor {
            None => query,
            Some(cursor) => {
                let key = cursor
                    .strip_prefix("k:")
                    .and_then(|k| k.parse::<u64>().ok())
                    .ok_or(SearchError::BadCursor)?;
                Box::new(BooleanQuery::new(vec![
                    (Occur::Must, query),
                    compile::after_key(field, key, descending),
                ]))
            }
        };
        let order = if descending { Order::Desc } else { Order::Asc };
        let collector =
            TopDocs::with_limit(request.limit + 1).order_by_fast_field::<u64>(field_name, order);
        let mut top = collect(searcher, &*query, collector, request)?;
        let more = top.len() > request.limit;
        top.truncate(request.limit);
        let last_key = top.last().and_then(|(key, _)| *key);
        let numbers = Self::numbers_of(searcher, top.into_iter().map(|(_, a)| a))?;
        let next = if more {
            last_key.map(|k| format!("k:{k}"))
        } else {
            None
        };
        Ok((numbers, next))
    }

    /// Prepares excerpts for a search's hits: the query is compiled and
    /// the per-field highlighters built once, not once per hit.
    pub fn highlighter(&self, request: &SearchRequest) -> Option<Highlighter> {
        let parsed = request.query.filter(|q| !q.is_empty())?;
        let searcher = self.reader.searcher();
        let mut context = compile::Context {
            fields: &self.fields,
            analyzer: self.index.tokenizer_for_field(self.fields.text).ok()?,
            me: request.me,
            channel: request.channel_lookup,
            staff: request.staff,
            typos: false,
        };
        let query = BooleanQuery::new(context.query(parsed).ok()?);
        let generator = |field| {
            SnippetGenerator::create(&searcher, &query, field)
                .ok()
                .map(|mut generator| {
                    generator.set_max_num_chars(200);
                    generator
                })
        };
        let mut terms: Vec<String> = Vec::new();
        query.query_terms(&mut |term, _| {
            if let Some(text) = term.value().as_str()
                && text.len() >= 2
            {
                terms.push(text.to_owned());
            }
        });
        terms.sort();
        terms.dedup();
        Some(Highlighter {
            terms,
            text: generator(self.fields.text),
            notes: if request.staff {
                generator(self.fields.notes)
            } else {
                None
            },
            subject: generator(self.fields.subject),
        })
    }
}

/// Cuts excerpts of where a query matched out of a case's texts.
pub struct Highlighter {
    /// The query's indexed terms, to skip cheaply texts that cannot match.
    terms: Vec<String>,
    /// Messages and the description.
    text: Option<SnippetGenerator>,
    notes: Option<SnippetGenerator>,
    subject: Option<SnippetGenerator>,
}

impl Highlighter {
    /// An excerpt of a message or the description, if the query matched it.
    pub fn in_text(&self, text: &str) -> Option<Snippet> {
        self.cut(self.text.as_ref(), text)
    }

    /// An excerpt of an internal note (none for partners).
    pub fn in_note(&self, text: &str) -> Option<Snippet> {
        self.cut(self.notes.as_ref(), text)
    }

    pub fn in_subject(&self, text: &str) -> Option<Snippet> {
        self.cut(self.subject.as_ref(), text)
    }

    fn cut(&self, generator: Option<&SnippetGenerator>, text: &str) -> Option<Snippet> {
        let generator = generator?;
        let snippet = generator.snippet(self.window(text)?);
        (!snippet.highlighted().is_empty())
            .then(|| Snippet::from_ranges(snippet.fragment(), snippet.highlighted()))
    }

    /// The part of `text` around the first place a query term appears, or
    /// `None` when none does. Analysing (stemming) a whole long message is
    /// far dearer than finding the terms' letters in it, and an excerpt
    /// needs only the neighbourhood of a match. Stems are prefixes of the
    /// words they come from, so this rarely misses; a word whose accents
    /// were folded away may be passed over, never wrongly shown.
    fn window<'t>(&self, text: &'t str) -> Option<&'t str> {
        const BEFORE: usize = 400;
        const AFTER: usize = 1200;
        if self.terms.is_empty() {
            return Some(&text[..floor_boundary(text, BEFORE + AFTER)]);
        }
        // ASCII lowercasing keeps byte offsets equal to the text's.
        let lower = text.to_ascii_lowercase();
        let at = self
            .terms
            .iter()
            .filter_map(|term| lower.find(term.as_str()))
            .min()?;
        let start = floor_boundary(text, at.saturating_sub(BEFORE));
        let end = floor_boundary(text, at + AFTER);
        Some(&text[start..end])
    }
}

/// The largest char boundary of `text` at or below `at`.
fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

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

    fn set_indexed(&self, seq: u64) {
        self.indexed.send_modify(|at| *at = (*at).max(seq));
    }

    /// Asks the indexer to rebuild from the store; searches use the current index
    /// until the new one replaces it.
    pub fn request_rebuild(&self) {
        self.rebuild_requested
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn take_rebuild_request(&self) -> bool {
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
        let document = case_document(&self.engine.fields, case, activity);
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

/// The stemming language for a configured name.
pub fn language(name: &str) -> Option<Language> {
    schema::language(name)
}

pub use document::case_document;

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::doc;

    #[test]
    fn counting_stops_past_the_limit() {
        let (schema, fields) = schema::build();
        let index = Index::create_in_ram(schema);
        schema::register_tokenizer(&index, Language::English);
        let mut writer: IndexWriter = index.writer(15_000_000).unwrap();
        for number in 1..=30u64 {
            writer.add_document(doc!(fields.number => number)).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        assert_eq!(count_up_to(&searcher, &AllQuery, 10).unwrap(), (10, true));
        assert_eq!(count_up_to(&searcher, &AllQuery, 30).unwrap(), (30, false));
        assert_eq!(count_up_to(&searcher, &AllQuery, 100).unwrap(), (30, false));
    }
}
