//! What every page and form shares: the header, timestamps as shown,
//! choices for selects, and reading form values.

use askama::Template;
use chrono::{NaiveDateTime, TimeZone, Utc};
use poem::web::{Html, Redirect};
use poem::{IntoResponse, Response, handler};

use super::session::WebError;
use crate::domain::Timestamp;
use crate::domain::case::{CaseNumber, Priority, Status};
use crate::domain::channel::ChannelId;
use crate::service::Session;

pub(super) fn html(page: impl Template) -> Result<Response, WebError> {
    page.render()
        .map(|body| Html(body).into_response())
        .map_err(|e| WebError::Internal(format!("the page could not be rendered: {e}")))
}

#[handler]
pub fn home() -> Redirect {
    Redirect::see_other("/inbox")
}

/// The header every logged-in page shows.
pub struct Nav {
    pub username: String,
    pub display_name: String,
    pub is_admin: bool,
    pub csrf: String,
    /// Which section is current: `inbox`, `new`, `channels`, `users`.
    pub section: &'static str,
}

impl Nav {
    pub fn new(session: &Session, section: &'static str) -> Nav {
        Nav {
            username: session.user.username.clone(),
            display_name: session.user.display_name.clone(),
            is_admin: session.user.is_admin(),
            csrf: session.csrf.clone(),
            section,
        }
    }

    /// `aria-current` for the nav link of `section`.
    pub fn current(&self, section: &str) -> &'static str {
        if self.section == section {
            "page"
        } else {
            "false"
        }
    }
}

/// A timestamp as shown: readable text plus the machine value, which the
/// page script turns into the reader's local time.
pub struct When {
    pub iso: String,
    pub text: String,
}

impl When {
    pub fn new(at: Timestamp) -> When {
        When {
            iso: at.to_rfc3339(),
            text: at.format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }

    pub fn maybe(at: Option<Timestamp>) -> Option<When> {
        at.map(When::new)
    }
}

/// A `<select>` option.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub fn status_choices(current: Option<Status>) -> Vec<Choice> {
    Status::ALL
        .iter()
        .map(|s| Choice {
            value: s.as_str().into(),
            label: s.label().into(),
            selected: Some(*s) == current,
        })
        .collect()
}

pub fn priority_choices(current: Priority) -> Vec<Choice> {
    Priority::ALL
        .iter()
        .map(|p| Choice {
            value: p.as_str().into(),
            label: p.label().into(),
            selected: *p == current,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub title: String,
    pub message: String,
}

/// Blank form fields mean "none".
pub(super) fn filled(value: &str) -> Option<String> {
    let trimmed = value.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

pub(super) fn checked(value: &Option<String>) -> bool {
    value
        .as_deref()
        .is_some_and(|v| !v.is_empty() && v != "false" && v != "off")
}

/// A `datetime-local` value (taken as UTC) or RFC 3339; blank is none.
pub(super) fn parse_deadline(value: &str) -> Result<Option<Timestamp>, WebError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(value) {
        return Ok(Some(at.with_timezone(&Utc)));
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
        .map(|naive| Some(Utc.from_utc_datetime(&naive)))
        .ok_or_else(|| {
            WebError::BadInput(format!(
                "'{value}' is not a date and time like 2026-12-31T17:00"
            ))
        })
}

pub(super) fn parse_number(text: &str) -> Result<CaseNumber, WebError> {
    text.trim()
        .trim_start_matches('#')
        .parse()
        .map_err(|_| WebError::BadInput(format!("'{text}' is not a case number")))
}

pub(super) fn parse_channel(text: &str) -> Result<ChannelId, WebError> {
    text.trim()
        .parse()
        .map_err(|_| WebError::BadInput("choose a channel".into()))
}

pub(super) fn to_case(number: CaseNumber) -> Redirect {
    Redirect::see_other(format!("/cases/{number}"))
}
