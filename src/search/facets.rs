//! Counts matching cases per status, channel, category and assignee for the
//! inbox sidebar, from fast (columnar) fields: no stored document is read.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

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

pub struct FacetCollector;

pub struct SegmentFacets {
    status: Option<StrColumn>,
    category: Option<StrColumn>,
    assignee: Option<StrColumn>,
    channel: Column<u64>,
    status_counts: Vec<u64>,
    category_counts: Vec<u64>,
    assignee_counts: Vec<u64>,
    channel_counts: HashMap<u64, u64>,
}

fn count_ords(column: &Option<StrColumn>, counts: &mut [u64], doc: DocId) {
    if let Some(column) = column {
        for ord in column.term_ords(doc) {
            if let Some(slot) = counts.get_mut(ord as usize) {
                *slot += 1;
            }
        }
    }
}

fn named(column: &Option<StrColumn>, counts: &[u64]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let Some(column) = column else { return out };
    let mut name = String::new();
    for (ord, count) in counts.iter().enumerate().filter(|(_, c)| **c > 0) {
        name.clear();
        if column.ord_to_str(ord as u64, &mut name).unwrap_or(false) {
            *out.entry(name.clone()).or_default() += count;
        }
    }
    out
}

impl Collector for FacetCollector {
    type Fruit = Facets;
    type Child = SegmentFacets;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentFacets> {
        let fast = reader.fast_fields();
        let status = fast.str(names::STATUS)?;
        let category = fast.str(names::CATEGORY)?;
        let assignee = fast.str(names::ASSIGNEE)?;
        let slots = |c: &Option<StrColumn>| vec![0; c.as_ref().map_or(0, |c| c.num_terms())];
        Ok(SegmentFacets {
            status_counts: slots(&status),
            category_counts: slots(&category),
            assignee_counts: slots(&assignee),
            channel: fast.u64(names::CHANNEL)?,
            channel_counts: HashMap::new(),
            status,
            category,
            assignee,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Facets>) -> tantivy::Result<Facets> {
        let mut total = Facets::default();
        for fruit in fruits {
            fruit
                .status
                .into_iter()
                .for_each(|(k, v)| *total.status.entry(k).or_default() += v);
            fruit
                .channel
                .into_iter()
                .for_each(|(k, v)| *total.channel.entry(k).or_default() += v);
            fruit
                .category
                .into_iter()
                .for_each(|(k, v)| *total.category.entry(k).or_default() += v);
            fruit
                .assignee
                .into_iter()
                .for_each(|(k, v)| *total.assignee.entry(k).or_default() += v);
        }
        Ok(total)
    }
}

impl SegmentCollector for SegmentFacets {
    type Fruit = Facets;

    fn collect(&mut self, doc: DocId, _: Score) {
        count_ords(&self.status, &mut self.status_counts, doc);
        count_ords(&self.category, &mut self.category_counts, doc);
        count_ords(&self.assignee, &mut self.assignee_counts, doc);
        if let Some(channel) = self.channel.first(doc) {
            *self.channel_counts.entry(channel).or_default() += 1;
        }
    }

    fn harvest(self) -> Facets {
        Facets {
            status: named(&self.status, &self.status_counts),
            category: named(&self.category, &self.category_counts),
            assignee: named(&self.assignee, &self.assignee_counts),
            channel: self.channel_counts.into_iter().collect(),
        }
    }
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
