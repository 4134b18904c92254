//! Sorted lists without visiting every match. A list sorted by a key (the
//! inbox's "updated, newest first") wants the first 25 of perhaps a million
//! matches; ranking them all reads the key of each. Instead, each segment
//! keeps its documents in the order of the key, built once per segment and
//! key (segments never change once written), and the first page of a dense
//! list is the first documents of that order that the list holds. Sparse
//! lists, where that walk would be long, still rank their matches.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tantivy::columnar::Column;
use tantivy::index::SegmentId;
use tantivy::{DocAddress, DocId, SegmentReader};

use super::narrow::DocBits;

/// A key and where its document is.
pub(super) type Keyed = (u64, DocAddress);

/// What a sorted page asks of one segment.
pub(super) struct PageOfKeys {
    pub descending: bool,
    /// Only keys past this one (a cursor: the last key of the page before).
    pub after: Option<u64>,
    /// How many to find.
    pub limit: usize,
}

impl PageOfKeys {
    fn is_past(&self, key: u64) -> bool {
        self.after.is_none_or(|after| {
            if self.descending {
                key < after
            } else {
                key > after
            }
        })
    }

    /// Whether walking the segment's order beats ranking the matches: a
    /// walk visits about `limit × docs / matches` documents, ranking visits
    /// every match.
    fn walks(&self, matches: u64, docs: u32) -> bool {
        matches.saturating_mul(matches) > (self.limit as u64).saturating_mul(u64::from(docs))
    }

    /// The first `limit` documents by the key in `column` of those in
    /// `matches` that `passes`, with their keys; `order` gives the
    /// segment's documents by key, ascending, when the walk is chosen.
    pub(super) fn first_in_segment(
        &self,
        segment_ord: u32,
        (matches, passes): (&DocBits, impl Fn(DocId) -> bool),
        column: &Column<u64>,
        order: impl FnOnce() -> Arc<[DocId]>,
        docs: u32,
    ) -> Vec<Keyed> {
        let key_of = |doc: DocId| column.first(doc).unwrap_or(0);
        let keyed = |doc: DocId| (key_of(doc), DocAddress::new(segment_ord, doc));
        let count = matches.len();
        if count == 0 || self.limit == 0 {
            return Vec::new();
        }
        if !self.walks(count, docs) {
            let mut found: Vec<Keyed> = matches
                .iter()
                .filter(|doc| passes(*doc))
                .map(keyed)
                .filter(|(key, _)| self.is_past(*key))
                .collect();
            self.keep_first(&mut found);
            return found;
        }
        let order = order();
        let wanted = |doc: &&DocId| matches.contains(**doc) && passes(**doc);
        if self.descending {
            let end = match self.after {
                None => order.len(),
                Some(after) => order.partition_point(|doc| key_of(*doc) < after),
            };
            order[..end]
                .iter()
                .rev()
                .filter(wanted)
                .take(self.limit)
                .map(|doc| keyed(*doc))
                .collect()
        } else {
            let start = match self.after {
                None => 0,
                Some(after) => order.partition_point(|doc| key_of(*doc) <= after),
            };
            order[start..]
                .iter()
                .filter(wanted)
                .take(self.limit)
                .map(|doc| keyed(*doc))
                .collect()
        }
    }

    /// Sorts `found` in the page's order and keeps the first `limit`.
    pub(super) fn keep_first(&self, found: &mut Vec<Keyed>) {
        if self.descending {
            found.sort_unstable_by_key(|(key, _)| std::cmp::Reverse(*key));
        } else {
            found.sort_unstable_by_key(|(key, _)| *key);
        }
        found.truncate(self.limit);
    }
}

/// Segments' documents by key, ascending, per segment and key field.
type Orders = HashMap<(SegmentId, &'static str), Arc<[DocId]>>;

/// Each segment's documents in the order of each sort key asked for.
#[derive(Default)]
pub(super) struct OrderCache {
    segments: Mutex<Orders>,
}

impl OrderCache {
    /// The documents of `reader`'s segment by the key in `column` (named
    /// `field`), ascending; built on first use. Two searches may build the
    /// same order at once; both get a correct one.
    pub(super) fn of(
        &self,
        reader: &SegmentReader,
        field: &'static str,
        column: &Column<u64>,
    ) -> Arc<[DocId]> {
        let key = (reader.segment_id(), field);
        if let Some(order) = self.lock().get(&key) {
            return order.clone();
        }
        let mut keyed: Vec<(u64, DocId)> = (0..reader.max_doc())
            .map(|doc| (column.first(doc).unwrap_or(0), doc))
            .collect();
        keyed.sort_unstable();
        let order: Arc<[DocId]> = keyed.into_iter().map(|(_, doc)| doc).collect();
        self.lock().insert(key, order.clone());
        order
    }

    /// Drops the orders of segments no longer searched (merged or deleted).
    pub(super) fn keep_segments(&self, live: &HashSet<SegmentId>) {
        self.lock().retain(|(segment, _), _| live.contains(segment));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Orders> {
        self.segments.lock().unwrap_or_else(|p| p.into_inner())
    }
}
