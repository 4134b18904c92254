//! The inbox: quick filters with counts, status, channel and category
//! filters, search, sort and paging. The whole state lives in the URL, so a
//! view can be bookmarked or shared; the page script refreshes the list in
//! place as the agent types or as cases change.

use askama::Template;
use poem::web::{Form, Html, Query, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;
use std::collections::HashMap;

use super::session::{WebError, app, require_form_session, require_session, urlencode};
use super::shared::{Nav, When};
use crate::domain::Timestamp;
use crate::domain::case::{Case, Priority, Status};
use crate::domain::channel::ChannelId;
use crate::domain::user::User;
use crate::search::SearchError;
use crate::service::{
    BulkAction, BulkTarget, CasePage, CaseQuery, QuickFilter, Service, ServiceError, View,
};

/// The inbox's state as it appears in the URL.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InboxState {
    #[serde(default)]
    q: String,
    #[serde(default)]
    view: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    quick: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    cursor: String,
    /// The position of this page's first case (1-based), for "51–100 of 293".
    #[serde(default)]
    from: Option<usize>,
    /// After a bulk action: how many cases it changed, and failed on, and
    /// why each failed ("7: reason" a line).
    #[serde(default)]
    done: Option<usize>,
    #[serde(default)]
    failed: Option<usize>,
    #[serde(default)]
    why: String,
}

/// Failures a bulk notice names; more are counted.
const WHY_SHOWN: usize = 10;

impl InboxState {
    /// The URL of this state with one parameter changed (empty removes it);
    /// any change but paging starts again from the first page.
    fn with(&self, key: &str, value: &str) -> String {
        let mut next = self.clone();
        next.cursor.clear();
        next.from = None;
        match key {
            "q" => next.q = value.into(),
            "view" => next.view = value.into(),
            "status" => next.status = value.into(),
            "channel" => next.channel = value.into(),
            "category" => next.category = value.into(),
            "quick" => next.quick = value.into(),
            "sort" => next.sort = value.into(),
            "cursor" => next.cursor = value.into(),
            _ => {}
        }
        next.href()
    }

    fn href(&self) -> String {
        let pairs = [
            ("q", &self.q),
            ("view", &self.view),
            ("status", &self.status),
            ("channel", &self.channel),
            ("category", &self.category),
            ("quick", &self.quick),
            ("sort", &self.sort),
            ("cursor", &self.cursor),
        ];
        let mut query: Vec<String> = pairs
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{k}={}", urlencode(v.trim())))
            .collect();
        if let Some(from) = self.from.filter(|_| !self.cursor.is_empty()) {
            query.push(format!("from={from}"));
        }
        if query.is_empty() {
            "/inbox".into()
        } else {
            format!("/inbox?{}", query.join("&"))
        }
    }

    fn query(&self) -> Result<CaseQuery, WebError> {
        let blank = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        Ok(CaseQuery {
            q: blank(&self.q),
            sort: blank(&self.sort),
            view: match blank(&self.view) {
                Some(view) => View::parse(&view)?,
                None => View::Open,
            },
            statuses: match blank(&self.status) {
                Some(status) => vec![Status::parse("status", &status)?],
                None => Vec::new(),
            },
            channels: match blank(&self.channel) {
                Some(id) => vec![
                    id.parse()
                        .map_err(|_| WebError::BadInput(format!("'{id}' is not a channel")))?,
                ],
                None => Vec::new(),
            },
            category: blank(&self.category),
            quick: blank(&self.quick)
                .map(|q| QuickFilter::parse(&q))
                .transpose()?,
            cursor: blank(&self.cursor),
            facets: true,
            ..CaseQuery::default()
        })
    }
}

/// A sidebar entry: a link that applies a filter, with its count.
pub struct SideLink {
    pub label: String,
    pub href: String,
    pub count: Option<String>,
    pub current: bool,
}

pub struct SortChoice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "inbox/inbox.html")]
pub struct InboxPage {
    pub nav: Nav,
    pub state: InboxState,
    pub view: &'static str,
    pub tabs: Vec<SideLink>,
    pub quick: Vec<SideLink>,
    pub statuses: Vec<SideLink>,
    pub channels: Vec<SideLink>,
    pub categories: Vec<SideLink>,
    pub sorts: Vec<SortChoice>,
    pub rows: Vec<CaseRow>,
    /// The number ("42", "10000+") and the noun after it.
    pub total: Option<(String, &'static str)>,
    pub next_href: Option<String>,
    pub clear_href: Option<String>,
    pub empty_hint: &'static str,
    /// Channels a case may be moved to (those the user manages).
    pub move_targets: Vec<SideLink>,
    pub can_manage: bool,
    /// This list as an .xlsx download.
    pub export_href: String,
    /// The outcome of a bulk action just applied, and each case it could
    /// not change with why (and how many more there were).
    pub notice: Option<String>,
    pub failures: Vec<(String, String)>,
    pub more_failures: usize,
    /// "51–100": where this page is in the list.
    pub range: Option<String>,
    /// Pickers for bulk actions.
    pub agents: Vec<String>,
    pub category_names: Vec<String>,
    /// The trash, for those who manage a channel.
    pub trash_href: Option<String>,
    /// Why the query could not be read, shown beside the box.
    pub query_error: Option<String>,
}

/// Applies a bulk action from the inbox to the ticked cases or to every
/// case the current filter lists, then returns to the inbox.
#[handler]
pub async fn bulk(
    req: &Request,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let session = require_form_session(req, &field("csrf"))?;
    let state = InboxState {
        q: field("q"),
        view: field("view"),
        status: field("status"),
        channel: field("channel"),
        category: field("category"),
        quick: field("quick"),
        sort: field("sort"),
        ..InboxState::default()
    };
    let target = if field("scope") == "all" {
        BulkTarget::Query(Box::new(CaseQuery {
            facets: false,
            ..state.query()?
        }))
    } else {
        let numbers = form
            .iter()
            .filter(|(k, _)| k == "numbers")
            .map(|(_, v)| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| WebError::BadInput(format!("'{v}' is not a case number")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if numbers.is_empty() {
            return Err(WebError::BadInput(
                "tick the cases to change first, or choose all matching cases".into(),
            ));
        }
        BulkTarget::Numbers(numbers)
    };
    let action = match field("action").as_str() {
        "assign" => BulkAction::Assign(Some(field("assignee")).filter(|a| !a.is_empty())),
        "set_priority" => BulkAction::SetPriority(Priority::parse("priority", &field("priority"))?),
        "set_category" => {
            BulkAction::SetCategory(Some(field("category_value")).filter(|c| !c.is_empty()))
        }
        "set_important" => BulkAction::SetImportant(field("important") == "yes"),
        "accept_ai" => BulkAction::AcceptAiSuggestion,
        "close" => BulkAction::Close,
        "restore" => BulkAction::Restore,
        "delete" => BulkAction::Delete,
        "move" => BulkAction::Move(
            field("move_to")
                .parse()
                .map_err(|_| WebError::BadInput("choose the channel to move to".into()))?,
        ),
        other => return Err(WebError::BadInput(format!("'{other}' is not an action"))),
    };
    let irreversible = matches!(
        action,
        BulkAction::Close | BulkAction::Delete | BulkAction::Move(_)
    );
    if irreversible && field("confirm") != "yes" {
        return Err(WebError::BadInput(
            "closing, moving and deleting cases needs the confirmation ticked".into(),
        ));
    }
    let outcome = app(req).service.bulk(&session.user, target, action).await?;
    let why: Vec<String> = outcome
        .failed
        .iter()
        .take(WHY_SHOWN)
        .map(|(number, error)| {
            let reason: String = super::session::in_words(error).chars().take(160).collect();
            format!("{number}: {reason}")
        })
        .collect();
    let mut href = state.href();
    href.push_str(if href.contains('?') { "&" } else { "?" });
    href.push_str(&format!(
        "done={}&failed={}",
        outcome.succeeded.len(),
        outcome.failed.len()
    ));
    if !why.is_empty() {
        href.push_str(&format!("&why={}", urlencode(&why.join("\n"))));
    }
    Ok(Redirect::see_other(href).into_response())
}

/// The inbox as it is filtered, as an .xlsx download (every matching case,
/// the default columns; `messages=on` adds the conversation).
#[handler]
pub async fn export(req: &Request, Query(state): Query<InboxState>) -> Result<Response, WebError> {
    let session = require_session(req)?;
    let with_messages = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|pair| pair == "messages=on"));
    let query = CaseQuery {
        cursor: None,
        facets: false,
        ..state.query()?
    };
    let file = app(req)
        .service
        .export_cases(
            &session.user,
            query,
            crate::export::Column::DEFAULT.to_vec(),
            with_messages,
            None,
        )
        .await?;
    Ok(Response::builder()
        .header(
            "Content-Type",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .header("Content-Disposition", "attachment; filename=\"cases.xlsx\"")
        .body(poem::Body::from_async_read(tokio::fs::File::from_std(file))))
}

/// Counts for each quick filter with everything else as it is.
async fn quick_counts(
    service: &Service,
    user: &User,
    base: &CaseQuery,
) -> HashMap<&'static str, String> {
    let mut counts = HashMap::new();
    let mut query = CaseQuery {
        limit: Some(1),
        facets: false,
        cursor: None,
        ..base.clone()
    };
    query.quick = None;
    if let Ok(page) = service.list_cases(user, &query).await {
        counts.insert("", count_label(&page));
    }
    for quick in QuickFilter::ALL {
        query.quick = Some(quick);
        if let Ok(page) = service.list_cases(user, &query).await {
            counts.insert(quick.as_str(), count_label(&page));
        }
    }
    counts
}

/// A page's total for the sidebar: "10000+" when counting stopped.
fn count_label(page: &CasePage) -> String {
    let total = page.total.unwrap_or(0);
    if page.total_capped {
        format!("{total}+")
    } else {
        total.to_string()
    }
}

fn quick_label(quick: &str) -> &'static str {
    match quick {
        "assigned_to_me" => "Assigned to me",
        "unassigned" => "Unassigned",
        "created_by_me" => "Created by me",
        "updated_by_me" => "Updated by me",
        "important" => "Important",
        "needs_attention" => "Needs attention",
        "time_sensitive" => "Time sensitive",
        "unread" => "Unread",
        _ => "All cases",
    }
}

const SORTS: [(&str, &str); 7] = [
    ("", "Best match / recently updated"),
    ("-updated", "Recently updated"),
    ("-created", "Newest"),
    ("created", "Oldest"),
    ("-priority", "Highest priority"),
    ("deadline", "Deadline soonest"),
    ("-number", "Number"),
];

#[handler]
pub async fn inbox(req: &Request, Query(state): Query<InboxState>) -> Result<Response, WebError> {
    let session = require_session(req)?;
    let service = &app(req).service;
    let user = &session.user;
    let query = state.query()?;
    // A query that does not parse is shown beside the box; the page script
    // keeps the last good results, marked as stale.
    let mut query_error = None;
    let page = match service.list_cases(user, &query).await {
        Ok(page) => page,
        Err(ServiceError::Search(SearchError::Syntax(e))) => {
            query_error = Some(e.to_string());
            CasePage {
                items: Vec::new(),
                next_cursor: None,
                total: None,
                total_capped: false,
                facets: None,
            }
        }
        Err(e) => return Err(e.into()),
    };

    // The sidebar counts each dimension without its own filter, so every
    // choice shows what picking it would give.
    let sideways = CaseQuery {
        statuses: Vec::new(),
        channels: Vec::new(),
        category: None,
        limit: Some(1),
        cursor: None,
        ..query.clone()
    };
    let facets = service
        .list_cases(user, &sideways)
        .await
        .ok()
        .and_then(|p| p.facets)
        .unwrap_or_default();
    let counts = quick_counts(service, user, &query).await;

    let channels = service.list_channels(user)?;
    let rights = service.viewer_rights(user)?;
    let names: HashMap<ChannelId, String> =
        channels.iter().map(|c| (c.id, c.name.clone())).collect();
    let view = query.view.as_str();
    let tabs = [
        ("Open", "open"),
        ("Closed", "closed"),
        ("All", "all"),
        ("Archived", "archived"),
    ]
    .into_iter()
    .map(|(label, value)| SideLink {
        label: label.into(),
        href: state.with("view", if value == "open" { "" } else { value }),
        count: None,
        current: value == view,
    })
    .collect();
    // "Time sensitive" only means something with a channel that has a
    // reply window (social messaging).
    let windowed = channels.iter().any(|c| c.reply_window_hours.is_some());
    let quick = std::iter::once("")
        .chain(QuickFilter::ALL.iter().map(|q| q.as_str()))
        .filter(|q| windowed || *q != "time_sensitive")
        .map(|value| SideLink {
            label: quick_label(value).into(),
            href: state.with("quick", value),
            count: counts.get(value).cloned(),
            current: state.quick.trim() == value,
        })
        .collect();
    let statuses = Status::ALL
        .iter()
        .map(|s| SideLink {
            label: s.label().into(),
            href: state.with(
                "status",
                if state.status == s.as_str() {
                    ""
                } else {
                    s.as_str()
                },
            ),
            count: Some(
                facets
                    .status
                    .get(s.as_str())
                    .copied()
                    .unwrap_or(0)
                    .to_string(),
            ),
            current: state.status == s.as_str(),
        })
        .collect();
    let channel_links = channels
        .iter()
        .map(|c| {
            let id = c.id.to_string();
            SideLink {
                label: c.name.clone(),
                href: state.with("channel", if state.channel == id { "" } else { &id }),
                count: Some(facets.channel.get(&c.id).copied().unwrap_or(0).to_string()),
                current: state.channel == id,
            }
        })
        .collect();
    let mut categories: Vec<(&String, &u64)> = facets.category.iter().collect();
    categories.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let categories = categories
        .into_iter()
        .take(15)
        .map(|(name, count)| SideLink {
            label: name.clone(),
            href: state.with("category", if &state.category == name { "" } else { name }),
            count: Some(count.to_string()),
            current: &state.category == name,
        })
        .collect();
    let sorts = SORTS
        .iter()
        .map(|(value, label)| SortChoice {
            value,
            label,
            selected: state.sort.trim() == *value,
        })
        .collect();
    let cases: Vec<&crate::domain::case::Case> = page.items.iter().map(|i| &i.case).collect();
    let mut glances = service.glance(user, &cases)?;
    let rows: Vec<CaseRow> = page
        .items
        .iter()
        .map(|item| {
            let channel = names
                .get(&item.case.channel)
                .map(String::as_str)
                .unwrap_or("?");
            let row = CaseRow::new(&item.case, channel, item.snippet.as_ref());
            match glances.remove(&item.case.number) {
                Some(glance) => row.with_glance(glance),
                None => row,
            }
        })
        .collect();
    let first = state.from.unwrap_or(1).max(1);
    let range =
        (!rows.is_empty()).then(|| format!("{first}–{}", first.saturating_add(rows.len() - 1)));
    let next_href = page.next_cursor.as_deref().map(|cursor| {
        let mut next = state.clone();
        next.cursor = cursor.to_owned();
        next.from = Some(first.saturating_add(rows.len()));
        next.done = None;
        next.failed = None;
        next.why.clear();
        next.href()
    });
    let mut agents = std::collections::BTreeSet::new();
    if !user.is_partner() {
        for channel in &channels {
            agents.extend(service.assignable_users(channel.id)?);
        }
    }
    let category_names = if user.is_partner() {
        Vec::new()
    } else {
        service
            .list_categories(user)?
            .into_iter()
            .map(|c| c.name)
            .collect()
    };
    let filtered = [
        &state.q,
        &state.status,
        &state.channel,
        &state.category,
        &state.quick,
    ]
    .iter()
    .any(|v| !v.trim().is_empty());
    let empty_hint = if channels.is_empty() {
        "You are not a member of any channel yet. An administrator can add you to one."
    } else if filtered {
        "No cases match. Try fewer filters or other words."
    } else {
        "No cases here."
    };
    let page = InboxPage {
        nav: Nav::new(&session, "inbox"),
        view,
        tabs,
        quick,
        statuses,
        channels: channel_links,
        categories,
        sorts,
        rows,
        total: page.total.map(|total| {
            let noun = if total == 1 && !page.total_capped {
                "case"
            } else {
                "cases"
            };
            (count_label(&page), noun)
        }),
        next_href,
        clear_href: filtered.then(|| {
            InboxState {
                view: state.view.clone(),
                ..InboxState::default()
            }
            .href()
        }),
        empty_hint,
        move_targets: channels
            .iter()
            .filter(|c| c.rights.can_manage)
            .map(|c| SideLink {
                label: c.name.clone(),
                href: c.id.to_string(),
                count: None,
                current: false,
            })
            .collect(),
        export_href: state
            .with("cursor", "")
            .replacen("/inbox", "/inbox/export.xlsx", 1),
        can_manage: rights.manages_a_channel,
        notice: state.done.map(|done| match state.failed.unwrap_or(0) {
            0 => format!("Done for {done} case(s)."),
            failed => format!("Done for {done} case(s); {failed} could not be changed:"),
        }),
        failures: state
            .why
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(WHY_SHOWN)
            .map(|line| match line.split_once(':') {
                Some((number, reason)) if number.trim().parse::<u64>().is_ok() => (
                    number.trim().to_owned(),
                    reason.trim().chars().take(200).collect(),
                ),
                _ => (String::new(), line.trim().chars().take(200).collect()),
            })
            .collect(),
        more_failures: state
            .failed
            .unwrap_or(0)
            .saturating_sub(state.why.lines().filter(|l| !l.trim().is_empty()).count()),
        range,
        agents: agents.into_iter().collect(),
        category_names,
        trash_href: rights
            .manages_a_channel
            .then(|| "/inbox?view=deleted".to_owned()),
        query_error: query_error.clone(),
        state,
    };
    let status = if query_error.is_some() {
        poem::http::StatusCode::BAD_REQUEST
    } else {
        poem::http::StatusCode::OK
    };
    page.render()
        .map(|body| (status, Html(body)).into_response())
        .map_err(|e| WebError::Internal(format!("the page could not be rendered: {e}")))
}

pub struct CaseRow {
    pub number: u64,
    pub subject: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub priority: &'static str,
    pub priority_label: &'static str,
    pub important: bool,
    pub assignee: String,
    pub channel: String,
    pub updated: When,
    /// Where a search matched: text pieces, matches marked.
    pub snippet: Vec<(String, bool)>,
    pub requester: String,
    /// The start of the latest message.
    pub preview: String,
    /// News the viewer has not seen yet.
    pub unread: bool,
    /// How long the customer has waited for an answer ("3 h"), and since.
    pub waiting: Option<(String, When)>,
    /// The next milestone: its state (`overdue`, `soon`, `current`) and name.
    pub milestone: Option<(&'static str, String)>,
}

/// "< 1 min", "5 min", "3 h", "2 d": how long ago, roughly.
pub fn age(since: Timestamp, now: Timestamp) -> String {
    let minutes = (now - since).num_minutes().max(0);
    match minutes {
        0 => "< 1 min".to_owned(),
        1..=59 => format!("{minutes} min"),
        60..=2879 => format!("{} h", minutes / 60),
        _ => format!("{} d", minutes / 1440),
    }
}

impl CaseRow {
    pub fn new(
        case: &Case,
        channel_name: &str,
        snippet: Option<&crate::search::Snippet>,
    ) -> CaseRow {
        CaseRow {
            number: case.number,
            subject: case.subject.clone(),
            status: case.status.as_str(),
            status_label: case.status_label(),
            priority: case.priority.as_str(),
            priority_label: case.priority.label(),
            important: case.important,
            assignee: case.assignee.clone().unwrap_or_else(|| "—".into()),
            channel: channel_name.to_owned(),
            updated: When::new(case.updated_at),
            snippet: snippet.map(|s| s.parts.clone()).unwrap_or_default(),
            requester: String::new(),
            preview: String::new(),
            unread: false,
            waiting: None,
            milestone: None,
        }
    }

    /// The next milestone as a badge says it.
    pub fn milestone_text(&self) -> Option<String> {
        self.milestone.as_ref().map(|(state, name)| match *state {
            "overdue" => format!("{name} overdue"),
            "soon" => format!("{name} due soon"),
            _ => name.clone(),
        })
    }

    pub fn milestone_state(&self) -> &'static str {
        self.milestone.as_ref().map_or("", |(state, _)| state)
    }

    /// Adds what a glance at the case shows.
    pub fn with_glance(mut self, glance: crate::service::Glance) -> CaseRow {
        let now = chrono::Utc::now();
        self.requester = glance.requester;
        self.preview = glance.preview;
        self.unread = glance.unread;
        self.waiting = glance
            .waiting_since
            .map(|since| (age(since, now), When::new(since)));
        self.milestone = glance.milestone;
        self
    }
}
