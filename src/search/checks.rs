//! Filters that move with the clock or with the user: time ranges ("created
//! more than three days ago"), reply windows about to close, and what the
//! user has not read. Unlike the lasting filters (cached as sets), these
//! differ from one search to the next, so they are tested per document on
//! its columns, and only for the documents the lasting set and the words
//! let through: a range query would instead walk the whole segment's
//! column on every search.

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::columnar::Column;
use tantivy::{DateTime, DocId, SegmentReader};

use super::schema::{names, sort_key};
use crate::domain::case::CaseNumber;

/// One per-document test.
#[derive(Debug, Clone)]
pub enum DocCheck {
    /// The date in `field` is within the bounds (seconds; the lower bound
    /// included, the upper one as `upper_inclusive` says). A case without
    /// that date fails.
    Dates {
        field: &'static str,
        from: Option<DateTime>,
        to: Option<DateTime>,
        upper_inclusive: bool,
    },
    /// The customer's last message is within its channel's window: by
    /// channel, the earliest and latest such time (both included).
    ReplyWindows(Vec<(u64, DateTime, DateTime)>),
    /// Never opened by the user, or news since they last did (read markers:
    /// case number → seconds).
    Unread(Arc<HashMap<CaseNumber, u64>>),
}

/// A date as the index keeps it: whole seconds.
fn seconds(date: DateTime) -> i64 {
    date.into_timestamp_secs()
}

/// The checks of a request, opened on one segment's columns.
pub(super) struct SegmentChecks(Vec<Opened>);

enum Opened {
    Dates {
        column: Column<DateTime>,
        from: Option<i64>,
        to: Option<i64>,
        upper_inclusive: bool,
    },
    ReplyWindows {
        channel: Column<u64>,
        last_customer: Column<DateTime>,
        windows: Vec<(u64, i64, i64)>,
    },
    Unread {
        key: Column<u64>,
        markers: Arc<HashMap<CaseNumber, u64>>,
    },
}

impl SegmentChecks {
    pub(super) fn open(checks: &[DocCheck], reader: &SegmentReader) -> tantivy::Result<Self> {
        let fast = reader.fast_fields();
        let opened = checks
            .iter()
            .map(|check| {
                Ok(match check {
                    DocCheck::Dates {
                        field,
                        from,
                        to,
                        upper_inclusive,
                    } => Opened::Dates {
                        column: fast.date(field)?,
                        from: from.map(seconds),
                        to: to.map(seconds),
                        upper_inclusive: *upper_inclusive,
                    },
                    DocCheck::ReplyWindows(windows) => Opened::ReplyWindows {
                        channel: fast.u64(names::CHANNEL)?,
                        last_customer: fast.date(names::LAST_CUSTOMER)?,
                        windows: windows
                            .iter()
                            .map(|(channel, from, to)| (*channel, seconds(*from), seconds(*to)))
                            .collect(),
                    },
                    DocCheck::Unread(markers) => Opened::Unread {
                        key: fast.u64(names::UNREAD_KEY)?,
                        markers: markers.clone(),
                    },
                })
            })
            .collect::<tantivy::Result<Vec<_>>>()?;
        Ok(SegmentChecks(opened))
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the document passes every check.
    pub(super) fn pass(&self, doc: DocId) -> bool {
        self.0.iter().all(|check| check.passes(doc))
    }
}

impl Opened {
    fn passes(&self, doc: DocId) -> bool {
        match self {
            Opened::Dates {
                column,
                from,
                to,
                upper_inclusive,
            } => column.first(doc).map(seconds).is_some_and(|at| {
                from.is_none_or(|from| at >= from)
                    && to.is_none_or(|to| if *upper_inclusive { at <= to } else { at < to })
            }),
            Opened::ReplyWindows {
                channel,
                last_customer,
                windows,
            } => {
                let (Some(channel), Some(at)) = (channel.first(doc), last_customer.first(doc))
                else {
                    return false;
                };
                let at = seconds(at);
                windows
                    .iter()
                    .any(|(c, from, to)| *c == channel && (*from..=*to).contains(&at))
            }
            Opened::Unread { key, markers } => key.first(doc).is_some_and(|key| {
                let (news, number) = sort_key::split(key);
                markers.get(&number).is_none_or(|read| *read < news)
            }),
        }
    }
}
