//! What a search asks for: the viewer's scope, filters, sort and page,
//! and what it answers.

use super::*;

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

    pub(super) fn field_name(self) -> Option<&'static str> {
        match self.key {
            SortKey::Relevance => None,
            SortKey::Updated => Some(names::SORT_UPDATED),
            SortKey::Created | SortKey::Number => Some(names::NUMBER),
            SortKey::Priority => Some(names::SORT_PRIORITY),
            SortKey::Deadline => Some(names::SORT_DEADLINE),
        }
    }
}

#[derive(Clone)]
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
    /// Where excerpts of each hit are cut from, beside `numbers`, when the
    /// request had words to highlight.
    pub sources: Vec<ExcerptSource>,
    /// How many cases match; a lower bound when `total_capped`.
    pub total: usize,
    /// Counting stopped at [`EXACT_TOTAL_LIMIT`]: more cases match.
    pub total_capped: bool,
    pub next_cursor: Option<String>,
    pub facets: Option<Facets>,
}

/// The short texts a hit's excerpt is cut from.
#[derive(Debug, Clone, Default)]
pub struct ExcerptSource {
    /// The heads of its messages and its description.
    pub text: String,
    /// The heads of its internal notes (staff only).
    pub notes: String,
}
