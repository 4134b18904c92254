//! Filters as cached per-segment doc sets. What a list is narrowed to (the
//! view, the trash, the channels a user may see, status, assignee...) is
//! the same for every search of an inbox, so its documents are found once
//! per segment and kept as a bitset; a search then scores only its words
//! (keeping block-max WAND's top-k pruning) and skips documents outside the
//! set as they come. Segments never change once written, so a set is valid
//! for its segment's life; deletions are applied from the segment's live
//! documents (a cached set of them where a whole set is taken), and sets
//! of merged-away segments are dropped on reload.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};

use tantivy::index::SegmentId;
use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED};

use super::checks::{DocCheck, SegmentChecks};

/// A set of documents of one segment, one bit each.
#[derive(Debug, Clone)]
pub(super) struct DocBits {
    words: Vec<u64>,
    max_doc: u32,
}

impl DocBits {
    pub(super) fn new(max_doc: u32) -> DocBits {
        DocBits {
            words: vec![0; (max_doc as usize).div_ceil(64)],
            max_doc,
        }
    }

    pub(super) fn insert(&mut self, doc: DocId) {
        self.words[(doc / 64) as usize] |= 1 << (doc % 64);
    }

    pub(super) fn contains(&self, doc: DocId) -> bool {
        self.words
            .get((doc / 64) as usize)
            .is_some_and(|word| word & (1 << (doc % 64)) != 0)
    }

    /// The memory the set takes.
    fn bytes(&self) -> usize {
        self.words.len() * 8
    }

    pub(super) fn len(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// How many documents both sets hold.
    pub(super) fn count_both(&self, other: &DocBits) -> u64 {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("popcnt")
        {
            // SAFETY: the processor has both features, checked just above.
            return unsafe { count_both_vectorised(&self.words, &other.words) };
        }
        count_both_in(&self.words, &other.words)
    }

    /// Keeps only the documents `keep` says yes to.
    fn retain(&mut self, keep: impl Fn(DocId) -> bool) {
        for (index, word) in self.words.iter_mut().enumerate() {
            let mut bits = *word;
            while bits != 0 {
                let bit = bits.trailing_zeros();
                bits &= bits - 1;
                if !keep(index as u32 * 64 + bit) {
                    *word &= !(1 << bit);
                }
            }
        }
    }

    /// The documents of both sets, as a new set.
    fn both(&self, other: &DocBits) -> DocBits {
        DocBits {
            words: self
                .words
                .iter()
                .zip(&other.words)
                .map(|(a, b)| a & b)
                .collect(),
            max_doc: self.max_doc,
        }
    }

    /// Keeps only the documents `other` holds too.
    fn keep_only(&mut self, other: &DocBits) {
        for (word, keep) in self.words.iter_mut().zip(&other.words) {
            *word &= keep;
        }
    }

    /// The live documents of a segment with deletions.
    fn alive(alive: &tantivy::fastfield::AliveBitSet, max_doc: u32) -> DocBits {
        let mut bits = DocBits::new(max_doc);
        for (index, word) in bits.words.iter_mut().enumerate() {
            let first = index as u32 * 64;
            for doc in first..(first + 64).min(max_doc) {
                if alive.is_alive(doc) {
                    *word |= 1 << (doc - first);
                }
            }
        }
        bits
    }

    /// The documents of the set, in order.
    pub(super) fn iter(&self) -> impl Iterator<Item = DocId> + '_ {
        let mut next = self.next_from(0);
        std::iter::from_fn(move || {
            let doc = next;
            if doc == TERMINATED {
                return None;
            }
            next = self.next_from(doc + 1);
            Some(doc)
        })
    }

    /// The first document at or after `from` in the set.
    fn next_from(&self, from: DocId) -> DocId {
        if from >= self.max_doc {
            return TERMINATED;
        }
        let mut index = (from / 64) as usize;
        let mut word = self.words[index] & (u64::MAX << (from % 64));
        loop {
            if word != 0 {
                let doc = index as u32 * 64 + word.trailing_zeros();
                return if doc < self.max_doc { doc } else { TERMINATED };
            }
            index += 1;
            match self.words.get(index) {
                Some(next) => word = *next,
                None => return TERMINATED,
            }
        }
    }
}

// Always inlined, so that the copy in `count_both_vectorised` is compiled
// with that function's instructions.
#[inline(always)]
fn count_both_in(a: &[u64], b: &[u64]) -> u64 {
    a.iter()
        .zip(b)
        .map(|(a, b)| u64::from((a & b).count_ones()))
        .sum()
}

/// The same loop compiled with the popcount instruction and AVX2: the
/// sidebar counts every facet value this way, and without them the count
/// of bits is a dozen instructions a word (measured: about three times
/// slower over a million documents).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
fn count_both_vectorised(a: &[u64], b: &[u64]) -> u64 {
    count_both_in(a, b)
}

/// Memory for cached sets across segments and filters; the least recently
/// used go first. A set takes a bit per document of its segment (125 KB
/// for a million cases), so this holds about five hundred of the largest
/// segments' sets and many more of the small ones live writes make: the
/// views of each distinct set of channels people work in.
const CACHE_BYTES: usize = 64 << 20;

/// The cached sets, by segment and by what the filter says.
#[derive(Default)]
pub struct FilterCache {
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    entries: HashMap<(SegmentId, String), (Arc<DocBits>, u64)>,
    /// Each segment's live documents, for the deletions it had when built.
    alive: HashMap<SegmentId, (u32, Arc<DocBits>)>,
    clock: u64,
    bytes: usize,
}

impl fmt::Debug for FilterCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FilterCache")
    }
}

impl FilterCache {
    /// The set of `key` in `reader`'s segment, built by `build` when not
    /// cached. Built outside the lock: two searches may build the same set
    /// at once, and both get a correct one.
    pub(super) fn get_or_build(
        &self,
        reader: &SegmentReader,
        key: &str,
        build: impl FnOnce() -> tantivy::Result<DocBits>,
    ) -> tantivy::Result<Arc<DocBits>> {
        let entry_key = (reader.segment_id(), key.to_owned());
        {
            let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            inner.clock += 1;
            let now = inner.clock;
            if let Some((bits, used)) = inner.entries.get_mut(&entry_key) {
                *used = now;
                return Ok(bits.clone());
            }
        }
        let bits = Arc::new(build()?);
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = inner.clock;
        if let Some((old, _)) = inner.entries.insert(entry_key, (bits.clone(), now)) {
            inner.bytes -= old.bytes();
        }
        inner.bytes += bits.bytes();
        if inner.bytes > CACHE_BYTES {
            let mut ages: Vec<u64> = inner.entries.values().map(|(_, used)| *used).collect();
            ages.sort_unstable();
            let cutoff = ages[ages.len() / 4];
            inner.entries.retain(|_, (_, used)| *used > cutoff);
            inner.bytes = inner.entries.values().map(|(bits, _)| bits.bytes()).sum();
        }
        Ok(bits)
    }

    /// The segment's live documents as a set, when it has deletions:
    /// checking a set word by word against it is far cheaper than asking
    /// the segment about each document. Deletions in a segment only grow,
    /// so their count tells whether a cached set is still the segment's.
    pub(super) fn alive(&self, reader: &SegmentReader) -> Option<Arc<DocBits>> {
        let alive = reader.alive_bitset()?;
        if let Some(bits) = self.cached_alive(reader) {
            return Some(bits);
        }
        let (segment, deleted) = (reader.segment_id(), reader.num_deleted_docs());
        let bits = Arc::new(DocBits::alive(alive, reader.max_doc()));
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match inner.alive.get(&segment) {
            // A search of a newer reader got there first.
            Some((built_with, _)) if *built_with > deleted => {}
            _ => {
                inner.alive.insert(segment, (deleted, bits.clone()));
            }
        }
        Some(bits)
    }

    fn cached_alive(&self, reader: &SegmentReader) -> Option<Arc<DocBits>> {
        let (segment, deleted) = (reader.segment_id(), reader.num_deleted_docs());
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner
            .alive
            .get(&segment)
            .filter(|(built_with, _)| *built_with == deleted)
            .map(|(_, bits)| bits.clone())
    }

    /// Takes the deleted documents out of `matches`: word by word with the
    /// segment's live set when it is cached for these deletions or
    /// `matches` is dense enough to pay for building it (a pass over the
    /// segment), else document by document, as a few matches of a segment
    /// that changes often are best.
    pub(super) fn drop_deleted(&self, reader: &SegmentReader, matches: &mut DocBits) {
        let Some(alive) = reader.alive_bitset() else {
            return;
        };
        let dense = matches.len() * 64 >= u64::from(reader.max_doc());
        let live = match self.cached_alive(reader) {
            Some(live) => Some(live),
            None if dense => self.alive(reader),
            None => None,
        };
        match live {
            Some(live) => matches.keep_only(&live),
            None => matches.retain(|doc| alive.is_alive(doc)),
        }
    }

    /// Drops the sets of segments no longer searched (merged or deleted).
    pub(super) fn keep_segments(&self, live: &HashSet<SegmentId>) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.alive.retain(|segment, _| live.contains(segment));
        inner
            .entries
            .retain(|(segment, _), _| live.contains(segment));
        inner.bytes = inner.entries.values().map(|(bits, _)| bits.bytes()).sum();
    }
}

/// `words` (or every document, when `None`) narrowed to the documents of
/// `filter`, whose per-segment sets are cached under `key`.
pub(super) struct Narrowed {
    pub words: Option<Box<dyn Query>>,
    pub filter: Box<dyn Query>,
    pub key: String,
    pub cache: Arc<FilterCache>,
    /// Tested per document on what the filter and the words let through.
    pub checks: Vec<DocCheck>,
}

impl Clone for Narrowed {
    fn clone(&self) -> Self {
        Narrowed {
            words: self.words.as_ref().map(|words| words.box_clone()),
            filter: self.filter.box_clone(),
            key: self.key.clone(),
            cache: self.cache.clone(),
            checks: self.checks.clone(),
        }
    }
}

impl fmt::Debug for Narrowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Narrowed({:?} within {}, checking {:?})",
            self.words, self.key, self.checks
        )
    }
}

impl Narrowed {
    pub(super) fn narrowed_weight(
        &self,
        scoring: EnableScoring<'_>,
    ) -> tantivy::Result<NarrowedWeight> {
        let filter = self
            .filter
            .weight(EnableScoring::disabled_from_schema(scoring.schema()))?;
        let words = match &self.words {
            Some(words) => Some(words.weight(scoring)?),
            None => None,
        };
        Ok(NarrowedWeight {
            words,
            filter,
            key: self.key.clone(),
            cache: self.cache.clone(),
            checks: self.checks.clone(),
        })
    }
}

/// Counts the live documents a narrowed query matches, segment by segment,
/// stopping once more than `limit` are found (then `None`). The words'
/// matches are read in blocks (a union of a word's fields fills a block
/// from its own bitsets) and checked against the filter's set, rather than
/// stepped through one by one behind the narrowing scorer: counting was
/// the largest part of a search.
pub(super) fn count_up_to(
    searcher: &tantivy::Searcher,
    narrowed: &Narrowed,
    limit: usize,
) -> tantivy::Result<Option<usize>> {
    let weight = narrowed.narrowed_weight(EnableScoring::disabled_from_searcher(searcher))?;
    let mut count = 0;
    for reader in searcher.segment_readers() {
        let bits = weight.bits(reader)?;
        let alive = reader.alive_bitset();
        let checks = weight.checks(reader)?;
        let Some(words) = &weight.words else {
            let live = weight.cache.alive(reader);
            count += match &live {
                _ if !checks.is_empty() => {
                    // Tested one by one: stop once past the limit.
                    let live = live.as_deref();
                    let passing = bits
                        .iter()
                        .filter(|doc| live.is_none_or(|l| l.contains(*doc)) && checks.pass(*doc));
                    passing.take(limit + 1 - count).count()
                }
                None => bits.len() as usize,
                Some(live) => bits.count_both(live) as usize,
            };
            if count > limit {
                return Ok(None);
            }
            continue;
        };
        let mut scorer = words.scorer(reader, 1.0)?;
        let mut block = [0; tantivy::COLLECT_BLOCK_BUFFER_LEN];
        loop {
            let filled = scorer.fill_buffer(&mut block);
            count += block[..filled]
                .iter()
                .filter(|doc| {
                    bits.contains(**doc)
                        && alive.is_none_or(|a| a.is_alive(**doc))
                        && checks.pass(**doc)
                })
                .count();
            if count > limit {
                return Ok(None);
            }
            if filled < block.len() {
                break;
            }
        }
    }
    Ok(Some(count))
}

/// The live documents `query` matches in each segment, as sets: from the
/// cached filter sets when the query is narrowed, else by walking it.
pub(super) fn matches_by_segment(
    searcher: &tantivy::Searcher,
    query: &dyn Query,
    cache: &FilterCache,
) -> tantivy::Result<Vec<DocBits>> {
    let scoring = EnableScoring::disabled_from_searcher(searcher);
    if let Some(narrowed) = query.downcast_ref::<Narrowed>() {
        let weight = narrowed.narrowed_weight(scoring)?;
        return searcher
            .segment_readers()
            .iter()
            .map(|reader| weight.matches(reader))
            .collect();
    }
    let weight = query.weight(scoring)?;
    searcher
        .segment_readers()
        .iter()
        .map(|reader| {
            let mut matches = DocBits::new(reader.max_doc());
            weight.for_each_no_score(reader, &mut |docs| {
                docs.iter().for_each(|doc| matches.insert(*doc));
            })?;
            cache.drop_deleted(reader, &mut matches);
            Ok(matches)
        })
        .collect()
}

impl Query for Narrowed {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.narrowed_weight(scoring)?))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a tantivy::Term, bool)) {
        if let Some(words) = &self.words {
            words.query_terms(visitor);
        }
    }
}

pub(super) struct NarrowedWeight {
    words: Option<Box<dyn Weight>>,
    filter: Box<dyn Weight>,
    key: String,
    cache: Arc<FilterCache>,
    checks: Vec<DocCheck>,
}

impl NarrowedWeight {
    /// The filter's set in this segment, from the cache or built now.
    fn bits(&self, reader: &SegmentReader) -> tantivy::Result<Arc<DocBits>> {
        self.cache.get_or_build(reader, &self.key, || {
            let mut bits = DocBits::new(reader.max_doc());
            self.filter.for_each_no_score(reader, &mut |docs| {
                for doc in docs {
                    bits.insert(*doc);
                }
            })?;
            Ok(bits)
        })
    }

    pub(super) fn checks(&self, reader: &SegmentReader) -> tantivy::Result<SegmentChecks> {
        SegmentChecks::open(&self.checks, reader)
    }

    /// The live documents matching the words, the filter and the checks,
    /// as a set.
    pub(super) fn matches(&self, reader: &SegmentReader) -> tantivy::Result<DocBits> {
        let checks = self.checks(reader)?;
        let mut matches = self.unchecked_matches(reader)?;
        if !checks.is_empty() {
            matches.retain(|doc| checks.pass(doc));
        }
        Ok(matches)
    }

    /// The live documents matching the words and the filter, before the
    /// checks.
    pub(super) fn unchecked_matches(&self, reader: &SegmentReader) -> tantivy::Result<DocBits> {
        let bits = self.bits(reader)?;
        let Some(words) = &self.words else {
            return Ok(match self.cache.alive(reader) {
                None => (*bits).clone(),
                Some(alive) => bits.both(&alive),
            });
        };
        let mut matches = DocBits::new(reader.max_doc());
        words.for_each_no_score(reader, &mut |docs| {
            for doc in docs {
                if bits.contains(*doc) {
                    matches.insert(*doc);
                }
            }
        })?;
        self.cache.drop_deleted(reader, &mut matches);
        Ok(matches)
    }
}

impl Weight for NarrowedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let bits = self.bits(reader)?;
        let checks = self.checks(reader)?;
        Ok(match &self.words {
            None if checks.is_empty() => Box::new(BitsScorer::new(bits)),
            None => {
                let every = Box::new(BitsScorer::new(bits.clone()));
                Box::new(NarrowedScorer::new(every, bits, checks))
            }
            Some(words) => {
                let inner = words.scorer(reader, boost)?;
                Box::new(NarrowedScorer::new(inner, bits, checks))
            }
        })
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        if !self.bits(reader)?.contains(doc) {
            return Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} is outside the filter"
            )));
        }
        match &self.words {
            Some(words) => words.explain(reader, doc),
            None => Ok(Explanation::new("within the filter", 1.0)),
        }
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        match &self.words {
            None if reader.alive_bitset().is_none() && self.checks.is_empty() => {
                Ok(self.bits(reader)?.len() as u32)
            }
            _ => Ok(self.matches(reader)?.len() as u32),
        }
    }

    /// The words' own pruning (block-max WAND for a word's fields) runs
    /// unchanged; documents outside the filter are passed over without
    /// raising the threshold.
    fn for_each_pruning(
        &self,
        threshold: Score,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score) -> Score,
    ) -> tantivy::Result<()> {
        let bits = self.bits(reader)?;
        let checks = self.checks(reader)?;
        match &self.words {
            None => {
                let mut scorer = BitsScorer::new(bits);
                let mut doc = scorer.doc();
                let mut threshold = threshold;
                while doc != TERMINATED {
                    if 1.0 > threshold && checks.pass(doc) {
                        threshold = callback(doc, 1.0);
                    }
                    doc = scorer.advance();
                }
                Ok(())
            }
            Some(words) => {
                let mut current = threshold;
                words.for_each_pruning(threshold, reader, &mut |doc, score| {
                    if bits.contains(doc) && checks.pass(doc) {
                        current = callback(doc, score);
                    }
                    current
                })
            }
        }
    }
}

/// Every document of a set, scored alike.
struct BitsScorer {
    bits: Arc<DocBits>,
    doc: DocId,
}

impl BitsScorer {
    fn new(bits: Arc<DocBits>) -> BitsScorer {
        let doc = bits.next_from(0);
        BitsScorer { bits, doc }
    }
}

impl DocSet for BitsScorer {
    fn advance(&mut self) -> DocId {
        if self.doc != TERMINATED {
            self.doc = self.bits.next_from(self.doc + 1);
        }
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc != TERMINATED && target > self.doc {
            self.doc = self.bits.next_from(target);
        }
        self.doc
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.bits.len() as u32
    }
}

impl Scorer for BitsScorer {
    fn score(&mut self) -> Score {
        1.0
    }
}

/// The words' scorer, passing over documents outside the set.
struct NarrowedScorer {
    inner: Box<dyn Scorer>,
    bits: Arc<DocBits>,
    checks: SegmentChecks,
}

impl NarrowedScorer {
    fn new(inner: Box<dyn Scorer>, bits: Arc<DocBits>, checks: SegmentChecks) -> NarrowedScorer {
        let mut scorer = NarrowedScorer {
            inner,
            bits,
            checks,
        };
        scorer.skip_outside();
        scorer
    }

    fn skip_outside(&mut self) -> DocId {
        let mut doc = self.inner.doc();
        while doc != TERMINATED && !(self.bits.contains(doc) && self.checks.pass(doc)) {
            doc = self.inner.advance();
        }
        doc
    }
}

impl DocSet for NarrowedScorer {
    fn advance(&mut self) -> DocId {
        self.inner.advance();
        self.skip_outside()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.inner.doc() >= target {
            return self.inner.doc();
        }
        self.inner.seek(target);
        self.skip_outside()
    }

    fn doc(&self) -> DocId {
        self.inner.doc()
    }

    fn size_hint(&self) -> u32 {
        self.inner.size_hint().min(self.bits.len() as u32)
    }
}

impl Scorer for NarrowedScorer {
    fn score(&mut self) -> Score {
        self.inner.score()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_iterate_in_order_and_count() {
        let mut bits = DocBits::new(200);
        for doc in [0, 3, 63, 64, 130, 199] {
            bits.insert(doc);
        }
        let mut scorer = BitsScorer::new(Arc::new(bits.clone()));
        let mut seen = Vec::new();
        while scorer.doc() != TERMINATED {
            seen.push(scorer.doc());
            scorer.advance();
        }
        assert_eq!(seen, vec![0, 3, 63, 64, 130, 199]);
        assert_eq!(bits.len(), 6);
        let mut scorer = BitsScorer::new(Arc::new(bits.clone()));
        assert_eq!(scorer.seek(65), 130);
        let mut other = DocBits::new(200);
        other.insert(64);
        other.insert(65);
        other.insert(199);
        assert_eq!(bits.count_both(&other), 2);
        let both = bits.both(&other);
        assert_eq!(both.len(), 2);
        assert!(both.contains(64) && both.contains(199) && !both.contains(65));
        bits.keep_only(&other);
        assert_eq!(bits.len(), 2);
        assert!(bits.contains(64) && !bits.contains(0));
        assert_eq!(DocBits::new(0).next_from(0), TERMINATED);
    }

    #[test]
    fn counts_of_large_sets_agree_with_the_plain_loop() {
        let mut a = DocBits::new(100_000);
        let mut b = DocBits::new(100_000);
        for doc in (0..100_000).filter(|d| d % 3 == 0) {
            a.insert(doc);
        }
        for doc in (0..100_000).filter(|d| d % 7 == 0 || d % 11 == 0) {
            b.insert(doc);
        }
        let expected = (0..100_000)
            .filter(|d| d % 3 == 0 && (d % 7 == 0 || d % 11 == 0))
            .count() as u64;
        assert_eq!(a.count_both(&b), expected);
        assert_eq!(count_both_in(&a.words, &b.words), expected);
    }
}
