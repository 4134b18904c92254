//! Full-text search and listing over a tantivy index derived from the store.
//!
//! The index lives in `DATA/index`. It is fed only by the indexer (an
//! outbox consumer), which records in every tantivy commit the outbox
//! sequence it reached. A missing, unreadable or old-format index is moved
//! aside and rebuilt from the store in the background; until the new one is ready
//! the service answers plain listings from the store.

mod checks;
mod compile;
mod document;
mod engine;
mod facets;
mod grams;
mod highlight;
mod index;
pub mod indexer;
mod narrow;
mod order;
mod request;
mod schema;
pub mod syntax;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::{AllQuery, BooleanQuery, EnableScoring, Occur, Query};
/// The engine under the index, named in benchmark reports.
pub const ENGINE: &str = "tantivy";

/// The stemming languages the index knows.
pub use tantivy::tokenizer::Language;
use tantivy::{
    DocAddress, DocSet, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher, TERMINATED,
    TantivyDocument, Term,
};
use tokio::sync::watch;

pub use engine::*;
pub use facets::Facets;
pub use highlight::*;
pub use index::*;
pub use request::*;
pub use schema::Analyzer;
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

/// The stemming language for a configured name.
pub fn language(name: &str) -> Option<Language> {
    schema::language(name)
}

pub use document::case_document;

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::doc;

    /// An empty index in memory with the case schema, and its writer.
    fn index_in_memory() -> (Index, schema::Fields, IndexWriter) {
        let (schema, fields) = schema::build();
        let index = Index::create_in_ram(schema);
        schema::register_tokenizer(&index, Language::English);
        let writer = index.writer(15_000_000).unwrap();
        (index, fields, writer)
    }

    #[test]
    fn counting_stops_past_the_limit() {
        let (index, fields, mut writer) = index_in_memory();
        for number in 1..=30u64 {
            writer.add_document(doc!(fields.number => number)).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        assert_eq!(count_up_to(&searcher, &AllQuery, 10).unwrap(), (10, true));
        assert_eq!(count_up_to(&searcher, &AllQuery, 30).unwrap(), (30, false));
        assert_eq!(count_up_to(&searcher, &AllQuery, 100).unwrap(), (30, false));
    }

    /// A page by key is the same whether the segment's order is walked
    /// (dense sets) or the matches are ranked (sparse ones), both ways and
    /// past a cursor, with documents a check refuses left out.
    #[test]
    fn pages_by_key_walk_or_rank_alike() {
        let (index, fields, mut writer) = index_in_memory();
        // Keys out of document order.
        for doc in 0..400u64 {
            writer
                .add_document(doc!(fields.number => (doc * 7919) % 1000))
                .unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let reader = searcher.segment_reader(0);
        let column = reader.fast_fields().u64(schema::names::NUMBER).unwrap();
        let orders = order::OrderCache::default();
        for every in [1u32, 2, 50] {
            let mut matches = narrow::DocBits::new(400);
            (0..400)
                .filter(|d| d % every == 0)
                .for_each(|d| matches.insert(d));
            for descending in [false, true] {
                for after in [None, Some(500)] {
                    let page = order::PageOfKeys {
                        descending,
                        after,
                        limit: 5,
                    };
                    let found: Vec<u64> = page
                        .first_in_segment(
                            0,
                            (&matches, |doc| doc % 3 != 1),
                            &column,
                            || orders.of(reader, schema::names::NUMBER, &column),
                            400,
                        )
                        .into_iter()
                        .map(|(key, _)| key)
                        .collect();
                    let mut expected: Vec<u64> = (0..400u64)
                        .filter(|d| d % u64::from(every) == 0 && d % 3 != 1)
                        .map(|d| (d * 7919) % 1000)
                        .filter(|k| after.is_none_or(|a| if descending { *k < a } else { *k > a }))
                        .collect();
                    expected.sort_unstable();
                    if descending {
                        expected.reverse();
                    }
                    expected.truncate(5);
                    assert_eq!(
                        found, expected,
                        "every {every}, descending {descending}, after {after:?}"
                    );
                }
            }
        }
    }

    /// Time ranges include their start and, when asked, their end; a case
    /// without the date fails; unread means never opened or news since.
    #[test]
    fn checks_test_each_document_on_its_columns() {
        use checks::{DocCheck, SegmentChecks};
        let (index, fields, mut writer) = index_in_memory();
        for (number, created) in [(1u64, Some(100)), (2, Some(200)), (3, Some(300)), (4, None)] {
            let mut document = doc!(
                fields.number => number,
                fields.channel => number % 2,
                fields.unread_key => schema::sort_key::time(created.unwrap_or(50), number),
            );
            if let Some(seconds) = created {
                let at = tantivy::DateTime::from_timestamp_secs(seconds);
                document.add_date(fields.created, at);
                document.add_date(fields.last_customer, at);
            }
            writer.add_document(document).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let reader = searcher.segment_reader(0);
        let passing = |check: DocCheck| -> Vec<u32> {
            let opened = SegmentChecks::open(&[check], reader).unwrap();
            (0..4).filter(|doc| opened.pass(*doc)).collect()
        };
        let between = |upper_inclusive| DocCheck::Dates {
            field: schema::names::CREATED,
            from: Some(tantivy::DateTime::from_timestamp_secs(200)),
            to: Some(tantivy::DateTime::from_timestamp_secs(300)),
            upper_inclusive,
        };
        assert_eq!(passing(between(true)), [1, 2]);
        assert_eq!(passing(between(false)), [1]);
        let since_250 = DocCheck::Dates {
            field: schema::names::CREATED,
            from: Some(tantivy::DateTime::from_timestamp_secs(250)),
            to: None,
            upper_inclusive: true,
        };
        assert_eq!(passing(since_250), [2]);
        // Channel 1 holds cases 1 and 3, whose customers wrote at 100 and
        // 300; case 2 (channel 0) is within the times but not the channel.
        let window = |from, to| {
            DocCheck::ReplyWindows(vec![(
                1,
                tantivy::DateTime::from_timestamp_secs(from),
                tantivy::DateTime::from_timestamp_secs(to),
            )])
        };
        assert_eq!(passing(window(100, 300)), [0, 2]);
        assert_eq!(passing(window(150, 300)), [2]);
        assert!(passing(window(301, 400)).is_empty());
        // Case 1 was read after its news, case 2 before; the rest never.
        let markers = HashMap::from([(1, 150), (2, 150)]);
        assert_eq!(passing(DocCheck::Unread(Arc::new(markers))), [1, 2, 3]);
    }

    /// A case held twice is found when the second copy arrives in a new
    /// segment, after the whole index was checked once: looked up by
    /// number in a small segment, by a pass over the columns in a large one.
    #[test]
    fn a_case_held_twice_is_found_in_the_segment_that_brings_it() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::create_for_bulk(dir.path(), Language::English).unwrap();
        let number = engine.fields().number;
        // Enough cases that two new documents are looked up by number.
        let documents = (1..=10_000u64)
            .map(|n| (n, Some(doc!(number => n))))
            .collect();
        engine.apply(documents, 1).unwrap();
        assert!(engine.duplicated_anywhere().unwrap().is_empty());

        // A second document of case 7 beside the first, committed with
        // case 50's new one.
        engine
            .with_writer(|writer| Ok(writer.add_document(doc!(number => 7u64))?))
            .unwrap();
        engine
            .apply(vec![(50, Some(doc!(number => 50u64)))], 2)
            .unwrap();
        assert_eq!(engine.duplicated_anywhere().unwrap(), [7]);
        assert_eq!(engine.duplicated(&[7, 50]).unwrap(), [7]);

        engine
            .apply(vec![(7, Some(doc!(number => 7u64)))], 3)
            .unwrap();
        assert!(engine.duplicated_anywhere().unwrap().is_empty());

        // A large new segment is checked by a pass over every column.
        engine
            .with_writer(|writer| Ok(writer.add_document(doc!(number => 8u64))?))
            .unwrap();
        let more = (10_001..=13_000u64)
            .map(|n| (n, Some(doc!(number => n))))
            .collect();
        engine.apply(more, 4).unwrap();
        assert_eq!(engine.duplicated_anywhere().unwrap(), [8]);
    }

    /// The live documents of a segment are kept as a set per count of
    /// deletions: a later deletion gives newer readers a new set, and a
    /// reader from before it still sees the document.
    #[test]
    fn matches_leave_out_deleted_documents_as_each_reader_sees_them() {
        let (index, fields, mut writer) = index_in_memory();
        for number in 1..=100u64 {
            writer.add_document(doc!(fields.number => number)).unwrap();
        }
        writer.commit().unwrap();
        let reader = index
            .reader_builder()
            .reload_policy(tantivy::ReloadPolicy::Manual)
            .try_into()
            .unwrap();
        let cache = narrow::FilterCache::default();
        let live = |searcher: &tantivy::Searcher| -> Vec<u64> {
            narrow::matches_by_segment(searcher, &AllQuery, &cache)
                .unwrap()
                .iter()
                .map(|bits| bits.len())
                .collect()
        };
        let all = reader.searcher();
        assert_eq!(live(&all), [100]);

        writer.delete_term(tantivy::Term::from_field_u64(fields.number, 5));
        writer.commit().unwrap();
        reader.reload().unwrap();
        let one_deleted = reader.searcher();
        assert_eq!(live(&one_deleted), [99]);

        writer.delete_term(tantivy::Term::from_field_u64(fields.number, 6));
        writer.commit().unwrap();
        reader.reload().unwrap();
        assert_eq!(live(&reader.searcher()), [98]);
        assert_eq!(live(&one_deleted), [99]);
        assert_eq!(live(&all), [100]);
        assert_eq!(live(&reader.searcher()), [98]);
        assert_eq!(
            count_up_to(&reader.searcher(), &AllQuery, 1000).unwrap(),
            (98, false)
        );
    }
}
