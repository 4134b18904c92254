//! Counts matching cases per status, channel, category and assignee for the
//! inbox sidebar, from per-segment sets of each value built from fast
//! (columnar) fields: no stored document is read.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tantivy::SegmentReader;
use tantivy::columnar::StrColumn;

use super::narrow::DocBits;
use super::schema::names;
use tantivy::index::SegmentId;

/// Matches per value, for each faceted field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    pub status: BTreeMap<String, u64>,
    pub channel: BTreeMap<u64, u64>,
    pub category: BTreeMap<String, u64>,
    pub assignee: BTreeMap<String, u64>,
}

/// One segment's documents per facet value, one set each, so the counts of
/// a list are its matches intersected with each set and counted: the cost
/// grows with the values and the segment's size in words, not with the
/// matches.
pub(super) struct SegmentFacetBits {
    status: Vec<(String, DocBits)>,
    category: Vec<(String, DocBits)>,
    assignee: Vec<(String, DocBits)>,
    channel: Vec<(u64, DocBits)>,
}

fn sets_by_ord(column: &Option<StrColumn>, max_doc: u32) -> Vec<(String, DocBits)> {
    let Some(column) = column else {
        return Vec::new();
    };
    let mut sets: Vec<DocBits> = (0..column.num_terms())
        .map(|_| DocBits::new(max_doc))
        .collect();
    for doc in 0..max_doc {
        for ord in column.term_ords(doc) {
            if let Some(set) = sets.get_mut(ord as usize) {
                set.insert(doc);
            }
        }
    }
    sets.into_iter()
        .enumerate()
        .map(|(ord, set)| {
            let mut name = String::new();
            let _ = column.ord_to_str(ord as u64, &mut name);
            (name, set)
        })
        .collect()
}

impl SegmentFacetBits {
    fn build(reader: &SegmentReader) -> tantivy::Result<SegmentFacetBits> {
        let fast = reader.fast_fields();
        let max_doc = reader.max_doc();
        let channel_column = fast.u64(names::CHANNEL)?;
        let mut channels: HashMap<u64, DocBits> = HashMap::new();
        for doc in 0..max_doc {
            if let Some(channel) = channel_column.first(doc) {
                channels
                    .entry(channel)
                    .or_insert_with(|| DocBits::new(max_doc))
                    .insert(doc);
            }
        }
        Ok(SegmentFacetBits {
            status: sets_by_ord(&fast.str(names::STATUS)?, max_doc),
            category: sets_by_ord(&fast.str(names::CATEGORY)?, max_doc),
            assignee: sets_by_ord(&fast.str(names::ASSIGNEE)?, max_doc),
            channel: channels.into_iter().collect(),
        })
    }

    /// Adds the counts of `matches` (live documents of this segment).
    pub(super) fn count(&self, matches: &DocBits, into: &mut Facets) {
        let named = |sets: &[(String, DocBits)], into: &mut BTreeMap<String, u64>| {
            for (name, set) in sets {
                let count = matches.count_both(set);
                if count > 0 {
                    *into.entry(name.clone()).or_default() += count;
                }
            }
        };
        named(&self.status, &mut into.status);
        named(&self.category, &mut into.category);
        named(&self.assignee, &mut into.assignee);
        for (channel, set) in &self.channel {
            let count = matches.count_both(set);
            if count > 0 {
                *into.channel.entry(*channel).or_default() += count;
            }
        }
    }
}

/// The facet sets of each segment, built once per segment.
#[derive(Default)]
pub(super) struct FacetBitsCache {
    segments: Mutex<HashMap<SegmentId, Arc<SegmentFacetBits>>>,
}

impl FacetBitsCache {
    pub(super) fn of(&self, reader: &SegmentReader) -> tantivy::Result<Arc<SegmentFacetBits>> {
        let id = reader.segment_id();
        if let Some(bits) = self.lock().get(&id) {
            return Ok(bits.clone());
        }
        let bits = Arc::new(SegmentFacetBits::build(reader)?);
        self.lock().insert(id, bits.clone());
        Ok(bits)
    }

    pub(super) fn keep_segments(&self, live: &HashSet<SegmentId>) {
        self.lock().retain(|id, _| live.contains(id));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SegmentId, Arc<SegmentFacetBits>>> {
        self.segments.lock().unwrap_or_else(|p| p.into_inner())
    }
}
