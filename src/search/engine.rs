//! One open index with its single long-lived writer: indexing batches,
//! searching, counting and faceting.

use super::*;

/// Totals are counted exactly up to this many matches; beyond it a list
/// says "10,000+" instead of walking every match of a common word.
pub const EXACT_TOTAL_LIMIT: usize = 10_000;

/// Counts the matches of `query`, stopping once more than `limit` are
/// found: the count is then `limit` and the second value is true.
pub(super) fn count_up_to(
    searcher: &Searcher,
    query: &dyn Query,
    limit: usize,
) -> tantivy::Result<(usize, bool)> {
    if let Some(narrowed) = query.downcast_ref::<narrow::Narrowed>() {
        return Ok(match narrow::count_up_to(searcher, narrowed, limit)? {
            Some(count) => (count, false),
            None => (limit, true),
        });
    }
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

/// What the indexer records in each commit.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) struct Payload {
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
    /// Per-segment sets of the filters searches use (see `narrow`).
    filter_cache: Arc<narrow::FilterCache>,
    /// Per-segment sets of each facet value (see `facets`).
    facet_sets: facets::FacetBitsCache,
    /// Segments whose documents were checked for cases held twice.
    checked_segments: Mutex<std::collections::HashSet<tantivy::index::SegmentId>>,
    /// Per-segment document orders by each sort key (see `order`).
    orders: order::OrderCache,
    /// How queries analyse words: as the index, without pairs.
    query_analyzer: tantivy::tokenizer::TextAnalyzer,
    /// The words the index pairs with their neighbours (see `grams`).
    common: super::grams::CommonWords,
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
    pub(super) fn create_for_bulk(dir: &Path, language: Language) -> Result<Engine, SearchError> {
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

    pub(super) fn open(dir: &Path, language: Language) -> Result<Engine, SearchError> {
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
    pub(super) fn with_writer<T>(
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
    pub(super) fn retire(&self) -> Result<(), SearchError> {
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
            filter_cache: Arc::default(),
            facet_sets: facets::FacetBitsCache::default(),
            orders: order::OrderCache::default(),
            checked_segments: Mutex::default(),
            query_analyzer: schema::text_analyzer(language),
            common: schema::common_words(language),
        })
    }

    /// The outbox sequence of the last commit, if it is of this schema.
    pub(super) fn payload(&self) -> Option<Payload> {
        let meta = self.index.load_metas().ok()?;
        let payload: Payload = serde_json::from_str(meta.payload.as_deref()?).ok()?;
        (payload.schema == schema::SCHEMA_VERSION).then_some(payload)
    }

    /// Every case number the index holds, for `docket verify`.
    pub fn case_numbers(&self) -> Result<std::collections::BTreeSet<u64>, SearchError> {
        let searcher = self.reader.searcher();
        let mut numbers = std::collections::BTreeSet::new();
        for segment in searcher.segment_readers() {
            let column = segment.fast_fields().u64(names::NUMBER)?;
            let alive = segment.alive_bitset();
            for doc in 0..segment.max_doc() {
                if alive.is_none_or(|a| a.is_alive(doc))
                    && let Some(number) = column.first(doc)
                {
                    numbers.insert(number);
                }
            }
        }
        Ok(numbers)
    }

    /// Every case number more than one live document carries, in what
    /// searches see now. A duplicate needs a document of a segment not yet
    /// checked: documents are only ever taken out of a checked segment, so
    /// two live ones found unique there stay so. The documents of new
    /// segments (a commit's few) are looked up by number; the first check,
    /// or one whose new segments hold more than one document in 4,096 of the
    /// index (most merges), takes one pass over the number column of every
    /// segment instead.
    pub(super) fn duplicated_anywhere(&self) -> Result<Vec<CaseNumber>, SearchError> {
        let searcher = self.reader.searcher();
        let checked = self
            .checked_segments
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let fresh: Vec<&tantivy::SegmentReader> = searcher
            .segment_readers()
            .iter()
            .filter(|segment| !checked.contains(&segment.segment_id()))
            .collect();
        let fresh_docs: u64 = fresh.iter().map(|s| u64::from(s.num_docs())).sum();
        // A lookup by number costs about as much as passing over a few
        // thousand documents' numbers.
        let twice = if checked.is_empty() || fresh_docs * 4096 > searcher.num_docs() {
            Self::duplicated_in_columns(&searcher)?
        } else {
            let mut numbers = Vec::new();
            for segment in fresh {
                let column = segment.fast_fields().u64(names::NUMBER)?;
                let alive = segment.alive_bitset();
                numbers.extend(
                    (0..segment.max_doc())
                        .filter(|doc| alive.is_none_or(|a| a.is_alive(*doc)))
                        .filter_map(|doc| column.first(doc)),
                );
            }
            numbers.sort_unstable();
            numbers.dedup();
            self.duplicated_in(&searcher, &numbers)?
        };
        if twice.is_empty() {
            *self
                .checked_segments
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = searcher
                .segment_readers()
                .iter()
                .map(|segment| segment.segment_id())
                .collect();
        }
        Ok(twice)
    }

    /// Numbers held twice, by a bitmap by number for the dense numbers
    /// cases have (a million cases: 16 KB and a pass over one column).
    fn duplicated_in_columns(searcher: &Searcher) -> Result<Vec<CaseNumber>, SearchError> {
        const BITMAP_LIMIT: u64 = 1 << 26;
        let mut seen_small: Vec<u64> = Vec::new();
        let mut seen_large = std::collections::HashSet::new();
        let mut twice = Vec::new();
        for segment in searcher.segment_readers() {
            let column = segment.fast_fields().u64(names::NUMBER)?;
            let alive = segment.alive_bitset();
            for doc in 0..segment.max_doc() {
                if !alive.is_none_or(|a| a.is_alive(doc)) {
                    continue;
                }
                let Some(number) = column.first(doc) else {
                    continue;
                };
                let first_time = if number < BITMAP_LIMIT {
                    let (word, bit) = ((number / 64) as usize, number % 64);
                    if word >= seen_small.len() {
                        seen_small.resize(word + 1, 0);
                    }
                    let fresh = seen_small[word] & (1 << bit) == 0;
                    seen_small[word] |= 1 << bit;
                    fresh
                } else {
                    seen_large.insert(number)
                };
                if !first_time {
                    twice.push(number);
                }
            }
        }
        twice.sort_unstable();
        twice.dedup();
        Ok(twice)
    }

    /// The numbers among `numbers` that more than one live document
    /// carries: each case must be in the index once.
    pub(super) fn duplicated(
        &self,
        numbers: &[CaseNumber],
    ) -> Result<Vec<CaseNumber>, SearchError> {
        self.duplicated_in(&self.reader.searcher(), numbers)
    }

    fn duplicated_in(
        &self,
        searcher: &Searcher,
        numbers: &[CaseNumber],
    ) -> Result<Vec<CaseNumber>, SearchError> {
        let mut duplicated = Vec::new();
        for &number in numbers {
            let term = Term::from_field_u64(self.fields.number, number);
            let query =
                tantivy::query::TermQuery::new(term, tantivy::schema::IndexRecordOption::Basic);
            if count_up_to(searcher, &query, 2)?.0 > 1 {
                duplicated.push(number);
            }
        }
        Ok(duplicated)
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
        let live = self
            .reader
            .searcher()
            .segment_readers()
            .iter()
            .map(|segment| segment.segment_id())
            .collect();
        self.filter_cache.keep_segments(&live);
        self.facet_sets.keep_segments(&live);
        self.orders.keep_segments(&live);
        Ok(())
    }

    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    fn build_query(
        &self,
        request: &SearchRequest,
        typos: Option<&std::collections::HashSet<String>>,
    ) -> Result<Box<dyn Query>, SearchError> {
        let mut clauses: Vec<compile::Clause> = Vec::new();
        if let Some(parsed) = request.query.filter(|q| !q.is_empty()) {
            let mut context = compile::Context {
                fields: &self.fields,
                analyzer: self.query_analyzer.clone(),
                common: &self.common,
                me: request.me,
                channel: request.channel_lookup,
                staff: request.staff,
                typos,
            };
            clauses.extend(context.query(parsed)?);
        }
        let filters = compile::filters(&self.fields, &request.filters, &request.scope);
        let words: Option<Box<dyn Query>> = if clauses.is_empty() {
            None
        } else {
            if clauses.iter().all(|(occur, _)| *occur == Occur::MustNot) {
                clauses.push((Occur::Must, Box::new(AllQuery)));
            }
            Some(Box::new(BooleanQuery::new(clauses)))
        };
        if filters.lasting.is_empty() && filters.checks.is_empty() {
            return Ok(words.unwrap_or_else(|| Box::new(AllQuery)));
        }
        // The clauses' own description names the set: equal filters,
        // equal key.
        let key = format!("{:?}", filters.lasting);
        let filter: Box<dyn Query> = if filters.lasting.is_empty() {
            Box::new(AllQuery)
        } else {
            Box::new(BooleanQuery::new(filters.lasting))
        };
        Ok(Box::new(narrow::Narrowed {
            words,
            filter,
            key,
            cache: self.filter_cache.clone(),
            checks: filters.checks,
        }))
    }

    /// Runs the request. When the words find nothing, the search is run
    /// again tolerating typos in the words that find nothing alone among
    /// the cases the user may see: a word that does is spelt as someone
    /// spells it. Deciding that from the user's own results, not from the
    /// whole index, reveals nothing about cases they cannot see, and keeps
    /// fuzzy matching off the common path.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchHits, SearchError> {
        let exact = self.search_with(request, None)?;
        if exact.total > 0 {
            return Ok(exact);
        }
        match self.misspelt_words(request)? {
            None => Ok(exact),
            Some(unknown) => self.search_with(request, Some(&unknown)),
        }
    }

    /// Every match's case number in the request's order, at most
    /// `request.limit`, in one pass: what an export or a bulk change walks
    /// through. Paging by cursor would visit every match once per page,
    /// which at a million cases is most of the cost. Words that find
    /// nothing are tolerated as typos, as [`Engine::search`] does; no total,
    /// facets or excerpts are worked out.
    pub fn numbers_in_order(
        &self,
        request: &SearchRequest,
    ) -> Result<Vec<CaseNumber>, SearchError> {
        let request = SearchRequest {
            cursor: None,
            ..request.clone()
        };
        let exact = self.ordered(&request, None)?;
        if !exact.is_empty() {
            return Ok(exact);
        }
        match self.misspelt_words(&request)? {
            None => Ok(exact),
            Some(unknown) => self.ordered(&request, Some(&unknown)),
        }
    }

    fn ordered(
        &self,
        request: &SearchRequest,
        typos: Option<&std::collections::HashSet<String>>,
    ) -> Result<Vec<CaseNumber>, SearchError> {
        let searcher = self.reader.searcher();
        let query = self.build_query(request, typos)?;
        let (addresses, _) = match request.sort.field_name() {
            None => self.by_relevance(&searcher, &*query, request)?,
            Some(field) => self.by_key(&searcher, query, field, request)?,
        };
        Self::numbers_of(&searcher, addresses.into_iter())
    }

    /// The words of a request that find nothing alone among the cases the
    /// user may see, when there are any: the ones to match tolerating typos.
    fn misspelt_words(
        &self,
        request: &SearchRequest,
    ) -> Result<Option<std::collections::HashSet<String>>, SearchError> {
        let Some(parsed) = request.query else {
            return Ok(None);
        };
        let searcher = self.reader.searcher();
        let mut unknown = std::collections::HashSet::new();
        for term in parsed.groups.iter().flat_map(|g| &g.alternatives) {
            let syntax::Clause::Word {
                text,
                prefix: false,
            } = &term.clause
            else {
                continue;
            };
            if term.negated || unknown.contains(text) {
                continue;
            }
            let alone = syntax::ParsedQuery {
                groups: vec![syntax::Group {
                    alternatives: vec![term.clone()],
                }],
            };
            let single = SearchRequest {
                query: Some(&alone),
                limit: 1,
                cursor: None,
                facets: false,
                ..request.clone()
            };
            let query = self.build_query(&single, None)?;
            if count_up_to(&searcher, &*query, 1)?.0 == 0 {
                unknown.insert(text.clone());
            }
        }
        Ok((!unknown.is_empty()).then_some(unknown))
    }

    fn search_with(
        &self,
        request: &SearchRequest,
        typos: Option<&std::collections::HashSet<String>>,
    ) -> Result<SearchHits, SearchError> {
        let searcher = self.reader.searcher();
        let query = self.build_query(request, typos)?;
        let (total, total_capped, facets) = if request.facets {
            let (total, facets) = self.count_by_sets(&searcher, &*query)?;
            (total, false, Some(facets))
        } else {
            let (total, capped) = count_up_to(&searcher, &*query, EXACT_TOTAL_LIMIT)?;
            (total, capped, None)
        };
        let (addresses, next_cursor) = match request.sort.field_name() {
            None => self.by_relevance(&searcher, &*query, request)?,
            Some(field) => self.by_key(&searcher, query, field, request)?,
        };
        let numbers = Self::numbers_of(&searcher, addresses.iter().copied())?;
        let has_words = request.query.is_some_and(|q| !q.is_empty());
        let sources = if has_words {
            self.sources_of(&searcher, &addresses)?
        } else {
            Vec::new()
        };
        Ok(SearchHits {
            numbers,
            sources,
            total,
            total_capped,
            next_cursor,
            facets,
        })
    }

    /// The total and the sidebar's counts from sets: each segment's
    /// matches intersected with its per-value facet sets.
    fn count_by_sets(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
    ) -> Result<(usize, Facets), SearchError> {
        let matches = narrow::matches_by_segment(searcher, query, &self.filter_cache)?;
        let mut facets = Facets::default();
        let mut total = 0;
        for (reader, matches) in searcher.segment_readers().iter().zip(&matches) {
            total += matches.len() as usize;
            self.facet_sets.of(reader)?.count(matches, &mut facets);
        }
        Ok((total, facets))
    }

    /// How many cases searches see.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Words of the text field whose share of all documents lies in each
    /// band (`low < share <= high`), up to `per_band` each, nearest the
    /// band's middle first: what the bench searches for, chosen by document
    /// frequency. Only words a person types as indexed (letters, three or
    /// more, their own stem) are taken.
    pub fn words_by_share(
        &self,
        bands: &[(f64, f64)],
        per_band: usize,
    ) -> Result<Vec<Vec<(String, f64)>>, SearchError> {
        use tantivy::tokenizer::TokenStream;
        let searcher = self.reader.searcher();
        let total = searcher.num_docs().max(1) as f64;
        let mut analyzer = self.query_analyzer.clone();
        let mut is_own_stem = |word: &str| {
            let mut stream = analyzer.token_stream(word);
            let mut tokens = Vec::new();
            while stream.advance() {
                tokens.push(stream.token().text.clone());
            }
            tokens.len() == 1 && tokens[0] == word
        };
        let Some(largest) = searcher
            .segment_readers()
            .iter()
            .max_by_key(|r| r.num_docs())
        else {
            return Ok(vec![Vec::new(); bands.len()]);
        };
        let segment_docs = largest.num_docs().max(1) as f64;
        let inverted = largest.inverted_index(self.fields.text)?;
        let mut terms = inverted
            .terms()
            .stream()
            .map_err(|e| SearchError::Index(e.to_string()))?;
        let mut candidates: Vec<Vec<String>> = vec![Vec::new(); bands.len()];
        while terms.advance() {
            let Ok(word) = std::str::from_utf8(terms.key()) else {
                continue;
            };
            if word.len() < 3 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
                continue;
            }
            let share = f64::from(terms.value().doc_freq) / segment_docs;
            for (band, (low, high)) in bands.iter().enumerate() {
                // A little room either side: the segment is a sample.
                if share > low * 0.8 && share <= high * 1.2 && candidates[band].len() < 400 {
                    candidates[band].push(word.to_owned());
                }
            }
        }
        let mut picked = Vec::new();
        for (band, (low, high)) in bands.iter().enumerate() {
            let middle = if *low > 0.0 {
                (low * high).sqrt()
            } else {
                high / 2.0
            };
            let mut found: Vec<(String, f64)> = Vec::new();
            for word in &candidates[band] {
                let term = Term::from_field_text(self.fields.text, word);
                let share = searcher.doc_freq(&term)? as f64 / total;
                if share > *low && share <= *high && is_own_stem(word) {
                    found.push((word.clone(), share));
                }
            }
            found.sort_by(|a, b| {
                let distance = |share: f64| (share.ln() - middle.ln()).abs();
                distance(a.1).total_cmp(&distance(b.1)).then(a.0.cmp(&b.0))
            });
            found.truncate(per_band);
            picked.push(found);
        }
        Ok(picked)
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

    /// The stored excerpt sources of hits: one small document-store read
    /// each, where a conversation from the store would be many.
    fn sources_of(
        &self,
        searcher: &Searcher,
        addresses: &[DocAddress],
    ) -> Result<Vec<ExcerptSource>, SearchError> {
        let text_of = |doc: &TantivyDocument, field| {
            doc.get_first(field)
                .and_then(|value| tantivy::schema::Value::as_str(&value))
                .unwrap_or_default()
                .to_owned()
        };
        addresses
            .iter()
            .map(|address| {
                let doc: TantivyDocument = searcher.doc(*address)?;
                Ok(ExcerptSource {
                    text: text_of(&doc, self.fields.excerpt),
                    notes: text_of(&doc, self.fields.excerpt_notes),
                })
            })
            .collect()
    }

    /// Relevance pages by offset (`r:OFFSET`): scores are not stable keys.
    fn by_relevance(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        request: &SearchRequest,
    ) -> Result<(Vec<DocAddress>, Option<String>), SearchError> {
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
        let top = searcher.search(query, &collector)?;
        let more = top.len() > request.limit;
        let addresses = top.into_iter().take(request.limit).map(|(_, a)| a);
        let next = more.then(|| format!("r:{}", offset + request.limit));
        Ok((addresses.collect(), next))
    }

    /// Sorted listings page by key (`k:KEY`): every key is unique, so a page
    /// boundary holds while cases change.
    fn by_key(
        &self,
        searcher: &Searcher,
        query: Box<dyn Query>,
        field_name: &'static str,
        request: &SearchRequest,
    ) -> Result<(Vec<DocAddress>, Option<String>), SearchError> {
        let after = match request.cursor {
            None => None,
            Some(cursor) => Some(
                cursor
                    .strip_prefix("k:")
                    .and_then(|k| k.parse::<u64>().ok())
                    .ok_or(SearchError::BadCursor)?,
            ),
        };
        let page = order::PageOfKeys {
            descending: request.sort.descending,
            after,
            limit: request.limit + 1,
        };
        let mut top = match query.downcast_ref::<narrow::Narrowed>() {
            Some(narrowed) => self.first_by_key(searcher, narrowed, field_name, &page)?,
            None => self.ranked_by_key(searcher, query, field_name, &page)?,
        };
        let more = top.len() > request.limit;
        top.truncate(request.limit);
        let next = if more {
            top.last().map(|(key, _)| format!("k:{key}"))
        } else {
            None
        };
        Ok((top.into_iter().map(|(_, a)| a).collect(), next))
    }

    /// The first page by key of a narrowed query, from each segment's
    /// matches as a set: by walking the segment's documents in key order
    /// when the set is dense, else by ranking its matches.
    fn first_by_key(
        &self,
        searcher: &Searcher,
        narrowed: &narrow::Narrowed,
        field_name: &'static str,
        page: &order::PageOfKeys,
    ) -> Result<Vec<order::Keyed>, SearchError> {
        let weight = narrowed.narrowed_weight(EnableScoring::disabled_from_searcher(searcher))?;
        let mut found = Vec::new();
        for (ord, reader) in searcher.segment_readers().iter().enumerate() {
            // Checks are tested only on the documents the page looks at.
            let matches = weight.unchecked_matches(reader)?;
            let checks = weight.checks(reader)?;
            let column = reader.fast_fields().u64(field_name)?;
            found.extend(page.first_in_segment(
                ord as u32,
                (&matches, |doc| checks.pass(doc)),
                &column,
                || self.orders.of(reader, field_name, &column),
                reader.max_doc(),
            ));
        }
        page.keep_first(&mut found);
        Ok(found)
    }

    /// The first page by key, ranking every match (queries without
    /// filters).
    fn ranked_by_key(
        &self,
        searcher: &Searcher,
        query: Box<dyn Query>,
        field_name: &'static str,
        page: &order::PageOfKeys,
    ) -> Result<Vec<order::Keyed>, SearchError> {
        let field = self.index.schema().get_field(field_name)?;
        let query: Box<dyn Query> = match page.after {
            None => query,
            Some(key) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, query),
                compile::after_key(field, key, page.descending),
            ])),
        };
        let order = if page.descending {
            Order::Desc
        } else {
            Order::Asc
        };
        let collector =
            TopDocs::with_limit(page.limit).order_by_fast_field::<u64>(field_name, order);
        let top = searcher.search(&*query, &collector)?;
        Ok(top
            .into_iter()
            .filter_map(|(key, address)| key.map(|key| (key, address)))
            .collect())
    }

    /// Prepares excerpts for a search's hits: the query is compiled and
    /// its terms gathered per field once, not once per hit.
    pub fn highlighter(&self, request: &SearchRequest) -> Option<Highlighter> {
        let parsed = request.query.filter(|q| !q.is_empty())?;
        let mut context = compile::Context {
            fields: &self.fields,
            analyzer: self.query_analyzer.clone(),
            common: &self.common,
            me: request.me,
            channel: request.channel_lookup,
            staff: request.staff,
            typos: None,
        };
        let query = BooleanQuery::new(context.query(parsed).ok()?);
        let (mut text, mut notes, mut subject) = (Vec::new(), Vec::new(), Vec::new());
        query.query_terms(&mut |term, _| {
            let into = match term.field() {
                f if f == self.fields.text => &mut text,
                f if f == self.fields.notes && request.staff => &mut notes,
                f if f == self.fields.subject => &mut subject,
                _ => return,
            };
            // A pair of common words is shown as its two words.
            let value = term.value();
            let words = value.as_str().into_iter();
            for word in words.flat_map(|text| text.split(super::grams::JOINER)) {
                if word.len() >= 2 {
                    into.push(word.to_owned());
                }
            }
        });
        for terms in [&mut text, &mut notes, &mut subject] {
            terms.sort();
            terms.dedup();
        }
        Some(Highlighter {
            text,
            notes,
            subject,
            analyzer: std::cell::RefCell::new(context.analyzer),
        })
    }
}
