//! Finding cases: the inbox's lists, filters, quick filters and full-text
//! search are one query, answered from the search index and checked against
//! the store. While the index is first being built, plain lists are answered by
//! scanning the store.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as Span;

use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::Timestamp;
use crate::domain::access;
use crate::domain::case::{Case, CaseNumber, Priority, Status};
use crate::domain::channel::{Channel, ChannelId};
use crate::domain::user::{Role, User};
use crate::search::{self, Facets, Filters, Scope, SearchIndex, SearchRequest, Sort, SortKey};
use crate::store::Reads;

/// How long a search waits for the index to catch up with the changes
/// committed before it, so that a save followed by a search finds the save.
const FRESHNESS_WAIT: Duration = Duration::from_secs(1);

/// More cases than a trash ever holds at once: the purge takes them all.
const TRASH_LIMIT: usize = 100_000_000;

/// Which cases a list shows, as an inbox does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// Unresolved: open, in progress, waiting for customer.
    #[default]
    Open,
    /// Resolved and not archived.
    Closed,
    /// Everything not archived.
    All,
    Archived,
    /// The trash (channel managers and administrators).
    Deleted,
}

impl View {
    pub fn parse(value: &str) -> ServiceResult<View> {
        match value {
            "open" => Ok(View::Open),
            "closed" => Ok(View::Closed),
            "all" => Ok(View::All),
            "archived" => Ok(View::Archived),
            "deleted" => Ok(View::Deleted),
            other => Err(ServiceError::invalid(
                "view",
                format!("'{other}' is not a view; use open, closed, all, archived or deleted"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            View::Open => "open",
            View::Closed => "closed",
            View::All => "all",
            View::Archived => "archived",
            View::Deleted => "deleted",
        }
    }

    fn includes(self, case: &Case) -> bool {
        if (self == View::Deleted) != case.deleted_at.is_some() {
            return false;
        }
        match self {
            View::Open => case.is_unresolved(),
            View::Closed => case.status.is_resolved() && !case.archived,
            View::All => !case.archived,
            View::Archived => case.archived,
            View::Deleted => true,
        }
    }

    fn apply(self, filters: &mut Filters) {
        match self {
            View::Open => filters.resolved = Some(false),
            View::Closed => {
                filters.resolved = Some(true);
                filters.archived = Some(false);
            }
            View::All => filters.archived = Some(false),
            View::Archived => filters.archived = Some(true),
            View::Deleted => {}
        }
        filters.deleted = Some(self == View::Deleted);
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeFilter {
    Me,
    Nobody,
    User(String),
}

impl AssigneeFilter {
    pub fn parse(value: &str) -> AssigneeFilter {
        match value {
            "me" => AssigneeFilter::Me,
            "none" => AssigneeFilter::Nobody,
            other => AssigneeFilter::User(other.to_lowercase()),
        }
    }
}

/// The inbox sidebar's one-click filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuickFilter {
    AssignedToMe,
    Unassigned,
    CreatedByMe,
    UpdatedByMe,
    Important,
    NeedsAttention,
    TimeSensitive,
    Unread,
}

impl QuickFilter {
    pub const ALL: [QuickFilter; 8] = [
        QuickFilter::AssignedToMe,
        QuickFilter::Unassigned,
        QuickFilter::CreatedByMe,
        QuickFilter::UpdatedByMe,
        QuickFilter::Important,
        QuickFilter::NeedsAttention,
        QuickFilter::TimeSensitive,
        QuickFilter::Unread,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            QuickFilter::AssignedToMe => "assigned_to_me",
            QuickFilter::Unassigned => "unassigned",
            QuickFilter::CreatedByMe => "created_by_me",
            QuickFilter::UpdatedByMe => "updated_by_me",
            QuickFilter::Important => "important",
            QuickFilter::NeedsAttention => "needs_attention",
            QuickFilter::TimeSensitive => "time_sensitive",
            QuickFilter::Unread => "unread",
        }
    }

    pub fn parse(value: &str) -> ServiceResult<QuickFilter> {
        QuickFilter::ALL
            .into_iter()
            .find(|q| q.as_str() == value)
            .ok_or_else(|| {
                let names: Vec<&str> = QuickFilter::ALL.iter().map(|q| q.as_str()).collect();
                ServiceError::invalid(
                    "quick",
                    format!(
                        "'{value}' is not a quick filter; use one of: {}",
                        names.join(", ")
                    ),
                )
            })
    }
}

/// Everything a list or search may ask for.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    pub q: Option<String>,
    pub sort: Option<String>,
    pub view: View,
    pub statuses: Vec<Status>,
    pub channels: Vec<ChannelId>,
    pub assignee: Option<AssigneeFilter>,
    pub creator: Option<String>,
    pub category: Option<String>,
    pub case_type: Option<String>,
    pub priority: Option<Priority>,
    pub source: Option<String>,
    pub important: Option<bool>,
    pub created_from: Option<Timestamp>,
    pub created_to: Option<Timestamp>,
    pub updated_from: Option<Timestamp>,
    pub updated_to: Option<Timestamp>,
    pub closed_from: Option<Timestamp>,
    pub closed_to: Option<Timestamp>,
    pub deadline_before: Option<Timestamp>,
    pub quick: Option<QuickFilter>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
    /// Count matches per status, channel, category and assignee.
    pub facets: bool,
}

impl CaseQuery {
    /// Whether only what a plain store scan can answer is asked for (facets
    /// and totals are then simply absent).
    fn is_plain_listing(&self) -> bool {
        self.q.as_deref().is_none_or(|q| q.trim().is_empty())
            && self.sort.is_none()
            && self.creator.is_none()
            && self.category.is_none()
            && self.case_type.is_none()
            && self.priority.is_none()
            && self.source.is_none()
            && self.important.is_none()
            && self.statuses.len() <= 1
            && [
                self.created_from,
                self.created_to,
                self.updated_from,
                self.updated_to,
            ]
            .iter()
            .chain([self.closed_from, self.closed_to, self.deadline_before].iter())
            .all(Option::is_none)
            && self.quick.is_none()
    }
}

pub struct ListedCase {
    pub case: Case,
    /// Where the query matched.
    pub snippet: Option<search::Snippet>,
}

pub struct CasePage {
    pub items: Vec<ListedCase>,
    pub next_cursor: Option<String>,
    /// How many cases match in all (when answered from the index); a
    /// lower bound when `total_capped`.
    pub total: Option<usize>,
    pub total_capped: bool,
    pub facets: Option<Facets>,
}

/// Where the query matched a case: its messages and description, then
/// internal notes (staff only), then the subject; cut from the short
/// sources the index keeps, so a page of hits reads no conversation.
fn excerpt(
    highlighter: &search::Highlighter,
    source: &search::ExcerptSource,
    subject: &str,
    staff: bool,
) -> Option<search::Snippet> {
    highlighter
        .in_text(&source.text)
        .or_else(|| staff.then(|| highlighter.in_note(&source.notes)).flatten())
        .or_else(|| highlighter.in_subject(subject))
}

/// What the actor may see, as the index narrows it. The trash is for the
/// channels one manages.
fn scope_for(actor: &User, channels: &[Channel], view: View) -> Scope {
    if view == View::Deleted && !actor.is_admin() {
        return Scope::Channels {
            channels: channels
                .iter()
                .filter(|c| access::can_manage_channel(actor, c))
                .map(|c| c.id)
                .collect(),
            creator: None,
        };
    }
    match actor.role {
        Role::Admin => Scope::Everything,
        Role::User => Scope::Channels {
            channels: channels
                .iter()
                .filter(|c| c.is_member(&actor.username))
                .map(|c| c.id)
                .collect(),
            creator: None,
        },
        Role::Partner => Scope::Channels {
            channels: channels
                .iter()
                .filter(|c| c.is_member(&actor.username))
                .map(|c| c.id)
                .collect(),
            creator: Some(actor.username.clone()),
        },
    }
}

/// The query's words, parsed, and the order it asks for: relevance
/// (always best first) when it has words and names none, else the most
/// recently updated first.
fn words_and_sort(query: &CaseQuery) -> ServiceResult<(search::ParsedQuery, Sort)> {
    let parsed = match query.q.as_deref() {
        Some(q) => search::syntax::parse(q).map_err(search::SearchError::from)?,
        None => search::ParsedQuery::default(),
    };
    let sort = match query.sort.as_deref() {
        Some(text) => Sort::parse(text).ok_or_else(|| {
            ServiceError::invalid(
                "sort",
                format!("'{text}' is not a sort; use relevance, updated, created, priority, deadline or number, with '-' for descending"),
            )
        })?,
        None if !parsed.is_empty() => Sort { key: SortKey::Relevance, descending: true },
        None => Sort { key: SortKey::Updated, descending: true },
    };
    let sort = if sort.key == SortKey::Relevance {
        Sort {
            descending: true,
            ..sort
        }
    } else {
        sort
    };
    Ok((parsed, sort))
}

/// What a list asks the index for, before the actor's scope is added.
struct Asked<'a> {
    parsed: &'a search::ParsedQuery,
    filters: Filters,
    sort: Sort,
    limit: usize,
    cursor: Option<&'a str>,
    facets: bool,
    view: View,
}

/// Runs `run` with the index request for `asked` as the actor makes it:
/// narrowed to what they may see, with `channel:` naming only channels
/// they may see.
fn with_request<T>(
    actor: &User,
    channels: &[Channel],
    asked: Asked<'_>,
    run: impl FnOnce(&SearchRequest) -> T,
) -> T {
    let by_name: HashMap<String, u64> = channels
        .iter()
        .filter(|c| access::can_see_channel(actor, c))
        .map(|c| (c.name.to_lowercase(), c.id))
        .collect();
    let lookup = |name: &str| {
        by_name.get(&name.to_lowercase()).copied().or_else(|| {
            name.parse::<u64>()
                .ok()
                .filter(|id| by_name.values().any(|v| v == id))
        })
    };
    let request = SearchRequest {
        query: Some(asked.parsed),
        scope: scope_for(actor, channels, asked.view),
        filters: asked.filters,
        sort: asked.sort,
        limit: asked.limit,
        cursor: asked.cursor,
        facets: asked.facets,
        me: &actor.username,
        channel_lookup: &lookup,
        staff: !actor.is_partner(),
    };
    run(&request)
}

pub(super) fn channels_by_id(channels: &[Channel]) -> HashMap<ChannelId, &Channel> {
    channels.iter().map(|c| (c.id, c)).collect()
}

/// The case as a list shows it to the actor, or `None` when they may not
/// see it: the index narrows, the store decides.
pub(super) fn listed_case(
    actor: &User,
    channel_of: &HashMap<ChannelId, &Channel>,
    case: Case,
) -> Option<Case> {
    let visible = channel_of.get(&case.channel).is_some_and(|ch| {
        access::can_see_case(actor, ch, &case)
            && (case.deleted_at.is_none() || access::can_manage_channel(actor, ch))
    });
    visible.then(|| super::visibility::shown_case(actor, case))
}

impl Service {
    fn page_limit(&self, asked: Option<usize>) -> ServiceResult<usize> {
        let limits = &self.config.limits;
        let limit = asked.unwrap_or(limits.default_page_size);
        if limit == 0 || limit > limits.max_page_size {
            return Err(ServiceError::invalid(
                "limit",
                format!("must be between 1 and {}", limits.max_page_size),
            ));
        }
        Ok(limit)
    }

    /// The filters a query asks for, as the index applies them. `channels`
    /// are those whose reply windows the time-sensitive filter reads (all
    /// of them may be given: the scope narrows to the user's own).
    fn filters_for(
        &self,
        actor: &User,
        query: &CaseQuery,
        channels: &[Channel],
    ) -> ServiceResult<Filters> {
        let mut filters = Filters {
            statuses: query.statuses.clone(),
            channels: query.channels.clone(),
            assignee: query.assignee.as_ref().map(|a| match a {
                AssigneeFilter::Me => Some(actor.username.clone()),
                AssigneeFilter::Nobody => None,
                AssigneeFilter::User(name) => Some(name.clone()),
            }),
            creator: query.creator.as_ref().map(|c| c.to_lowercase()),
            category: query.category.clone(),
            case_type: query.case_type.clone(),
            source: query.source.clone(),
            priority: query.priority,
            important: query.important,
            created_from: query.created_from,
            created_to: query.created_to,
            updated_from: query.updated_from,
            updated_to: query.updated_to,
            closed_from: query.closed_from,
            closed_to: query.closed_to,
            deadline_before: query.deadline_before,
            ..Filters::default()
        };
        query.view.apply(&mut filters);
        let me = Some(actor.username.clone());
        match query.quick {
            None => {}
            Some(QuickFilter::AssignedToMe) => filters.assignee = Some(me),
            Some(QuickFilter::Unassigned) => filters.assignee = Some(None),
            Some(QuickFilter::CreatedByMe) => filters.creator = me,
            Some(QuickFilter::UpdatedByMe) => filters.updated_by = me,
            Some(QuickFilter::Important) => filters.important = Some(true),
            Some(QuickFilter::NeedsAttention) => {
                filters.resolved = Some(false);
                let days = i64::from(self.config.search.needs_attention_days);
                let cutoff = now() - Span::days(days);
                filters.created_to = Some(filters.created_to.map_or(cutoff, |to| to.min(cutoff)));
            }
            Some(QuickFilter::TimeSensitive) => {
                let at = now();
                let warning = Span::hours(i64::from(self.config.search.reply_warning_hours));
                filters.resolved = Some(false);
                filters.reply_window_closing = Some(search::ReplyWindows {
                    channels: channels
                        .iter()
                        .filter_map(|c| c.settings.reply_window_hours.map(|h| (c.id, h)))
                        .collect(),
                    now: at,
                    warn_until: at + warning,
                });
            }
            Some(QuickFilter::Unread) => {
                let markers = self.store.read()?.read_markers(&actor.username)?;
                filters.unread_since = Some(Arc::new(markers));
            }
        }
        Ok(filters)
    }

    /// Rebuilds the search index from the store in the background (admins);
    /// searches use the current index until the new one is ready.
    /// Asks for the search index and the report figures to be rebuilt from
    /// the store, in the background.
    pub async fn request_reindex(&self, actor: &User) -> ServiceResult<()> {
        if !actor.is_admin() {
            return Err(ServiceError::Forbidden(
                "only administrators can rebuild the search index".into(),
            ));
        }
        // The report consumer rebuilds figures not marked built.
        self.store
            .write(|txn| {
                use crate::store::ReportWrites;
                txn.request_report_rebuild()
            })
            .await?;
        match &self.search {
            Some(index) => {
                index.request_rebuild();
                Ok(())
            }
            None => Err(search::SearchError::NotReady.into()),
        }
    }

    /// Lists or searches the cases the actor may see.
    pub async fn list_cases(&self, actor: &User, query: &CaseQuery) -> ServiceResult<CasePage> {
        if query.view == View::Deleted && actor.is_partner() {
            return Err(ServiceError::Forbidden(
                "the trash is for channel managers and administrators".into(),
            ));
        }
        let limit = self.page_limit(query.limit)?;
        let (parsed, sort) = words_and_sort(query)?;
        match self.search.as_ref().filter(|s| s.engine().is_some()) {
            Some(index) => {
                self.search_cases(actor, index.clone(), query, parsed, sort, limit)
                    .await
            }
            None if query.is_plain_listing() => self.scan_cases(actor, query, limit),
            None => Err(search::SearchError::NotReady.into()),
        }
    }

    /// The numbers of every case a query lists for the actor, in the
    /// list's order, at most `max`: what an export or a bulk change walks
    /// through. The index finds them in one pass; the caller reads each
    /// case and keeps it only when [`listed_case`] does, as a page does.
    pub(super) async fn listed_numbers(
        &self,
        actor: &User,
        query: &CaseQuery,
        max: usize,
    ) -> ServiceResult<Vec<CaseNumber>> {
        if query.view == View::Deleted && actor.is_partner() {
            return Err(ServiceError::Forbidden(
                "the trash is for channel managers and administrators".into(),
            ));
        }
        let (parsed, sort) = words_and_sort(query)?;
        let Some(index) = self.search.clone().filter(|s| s.engine().is_some()) else {
            return self.scanned_numbers(actor, query, max).await;
        };
        let (head, channels) = {
            let txn = self.store.read()?;
            (txn.outbox_head()?, txn.shared_channels()?)
        };
        index.wait_for(head, FRESHNESS_WAIT).await;
        let filters = self.filters_for(actor, query, &channels)?;
        let actor = actor.clone();
        let view = query.view;
        tokio::task::spawn_blocking(move || -> ServiceResult<Vec<CaseNumber>> {
            let engine = index.engine().ok_or(search::SearchError::NotReady)?;
            let asked = Asked {
                parsed: &parsed,
                filters,
                sort,
                limit: max,
                cursor: None,
                facets: false,
                view,
            };
            with_request(&actor, &channels, asked, |request| {
                Ok(engine.numbers_in_order(request)?)
            })
        })
        .await
        .map_err(|e| ServiceError::BadRequest(format!("the search was interrupted: {e}")))?
    }

    /// Every case in the trash, whoever's, as the index has them: `None`
    /// while the index is first being built. Found from the index so that
    /// the hourly purge does not read every case of the store.
    pub(super) async fn trashed_numbers(&self) -> ServiceResult<Option<Vec<CaseNumber>>> {
        let Some(index) = self.search.clone().filter(|s| s.engine().is_some()) else {
            return Ok(None);
        };
        let head = self.store.read()?.outbox_head()?;
        index.wait_for(head, FRESHNESS_WAIT).await;
        tokio::task::spawn_blocking(move || -> ServiceResult<Option<Vec<CaseNumber>>> {
            let engine = index.engine().ok_or(search::SearchError::NotReady)?;
            let no_channel_names = |_: &str| None;
            let request = SearchRequest {
                query: None,
                scope: Scope::Everything,
                filters: Filters {
                    deleted: Some(true),
                    ..Filters::default()
                },
                sort: Sort {
                    key: SortKey::Number,
                    descending: false,
                },
                limit: TRASH_LIMIT,
                cursor: None,
                facets: false,
                me: super::RULES_ACTOR,
                channel_lookup: &no_channel_names,
                staff: true,
            };
            Ok(Some(engine.numbers_in_order(&request)?))
        })
        .await
        .map_err(|e| ServiceError::BadRequest(format!("the search was interrupted: {e}")))?
    }

    /// [`Service::listed_numbers`] while the index is first being built:
    /// plain listings page through the store.
    async fn scanned_numbers(
        &self,
        actor: &User,
        query: &CaseQuery,
        max: usize,
    ) -> ServiceResult<Vec<CaseNumber>> {
        let mut query = query.clone();
        query.limit = Some(self.config.limits.max_page_size);
        query.facets = false;
        query.cursor = None;
        let mut numbers = Vec::new();
        loop {
            let page = self.list_cases(actor, &query).await?;
            numbers.extend(page.items.iter().map(|i| i.case.number));
            if numbers.len() >= max {
                numbers.truncate(max);
                return Ok(numbers);
            }
            match page.next_cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => return Ok(numbers),
            }
        }
    }

    async fn search_cases(
        &self,
        actor: &User,
        index: Arc<SearchIndex>,
        query: &CaseQuery,
        parsed: search::ParsedQuery,
        sort: Sort,
        limit: usize,
    ) -> ServiceResult<CasePage> {
        let (head, channels) = {
            let txn = self.store.read()?;
            (txn.outbox_head()?, txn.shared_channels()?)
        };
        index.wait_for(head, FRESHNESS_WAIT).await;
        let filters = self.filters_for(actor, query, &channels)?;
        let store = self.store.clone();
        let actor = actor.clone();
        let cursor = query.cursor.clone();
        let want_facets = query.facets;
        let view = query.view;
        let page = tokio::task::spawn_blocking(move || -> ServiceResult<CasePage> {
            let engine = index.engine().ok_or(search::SearchError::NotReady)?;
            let txn = store.read()?;
            let channels = txn.shared_channels()?;
            let asked = Asked {
                parsed: &parsed,
                filters,
                sort,
                limit,
                cursor: cursor.as_deref(),
                facets: want_facets,
                view,
            };
            let (hits, highlighter) = with_request(&actor, &channels, asked, |request| {
                Ok::<_, ServiceError>((engine.search(request)?, engine.highlighter(request)))
            })?;
            let channel_of = channels_by_id(&channels);
            let mut items = Vec::with_capacity(hits.numbers.len());
            let no_source = search::ExcerptSource::default();
            for (at, number) in hits.numbers.into_iter().enumerate() {
                // The index narrows; the store decides. A hit the actor may not
                // see (a membership changed a moment ago) is dropped.
                let Some(case) = txn.case(number)? else {
                    continue;
                };
                let Some(case) = listed_case(&actor, &channel_of, case) else {
                    continue;
                };
                let snippet = highlighter.as_ref().and_then(|highlighter| {
                    let source = hits.sources.get(at).unwrap_or(&no_source);
                    excerpt(highlighter, source, &case.subject, !actor.is_partner())
                });
                items.push(ListedCase { case, snippet });
            }
            Ok(CasePage {
                items,
                next_cursor: hits.next_cursor,
                total: Some(hits.total),
                total_capped: hits.total_capped,
                facets: hits.facets,
            })
        })
        .await
        .map_err(|e| ServiceError::BadRequest(format!("the search was interrupted: {e}")))??;
        Ok(page)
    }

    /// The plain listing straight from the store, newest first, for while the
    /// search index is first being built.
    fn scan_cases(&self, actor: &User, query: &CaseQuery, limit: usize) -> ServiceResult<CasePage> {
        let below = match &query.cursor {
            None => None,
            Some(cursor) => Some(
                cursor
                    .strip_prefix("n:")
                    .and_then(|n| n.parse::<u64>().ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        ServiceError::invalid(
                            "cursor",
                            "is not a cursor this server issued; start without one",
                        )
                    })?,
            ),
        };
        let filters = self.filters_for(actor, query, &[])?;
        let txn = self.store.read()?;
        let channels = txn.shared_channels()?;
        let channel_of = channels_by_id(&channels);
        let mut items = Vec::with_capacity(limit + 1);
        txn.scan_cases_desc(below, &mut |case| {
            let wanted = query.view.includes(&case)
                && (filters.channels.is_empty() || filters.channels.contains(&case.channel))
                && (filters.statuses.is_empty() || filters.statuses.contains(&case.status))
                && filters
                    .assignee
                    .as_ref()
                    .is_none_or(|a| *a == case.assignee);
            if let Some(case) = wanted
                .then(|| listed_case(actor, &channel_of, case))
                .flatten()
            {
                items.push(ListedCase {
                    case,
                    snippet: None,
                });
            }
            items.len() <= limit
        })?;
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|c| format!("n:{}", c.case.number))
        } else {
            None
        };
        Ok(CasePage {
            items,
            next_cursor,
            total: None,
            total_capped: false,
            facets: None,
        })
    }
}
