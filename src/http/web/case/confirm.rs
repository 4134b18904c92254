//! Confirming a merge, a split, a move or a close-as-duplicate: a GET of
//! the action's own address shows what it would do (the cases involved,
//! the message that moves) and a button that posts it. The case page's
//! script shows the same part in a dialog (`?part=1`); without script it
//! is a page of its own. A refusal is shown beside the number typed, which
//! stays in its box.

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Html, Path, Query};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use crate::domain::activity::format_minutes;
use crate::domain::case::CaseNumber;
use crate::http::web::session::{WebError, app, require_session};
use crate::http::web::shared::{Nav, When, filled, parse_number};
use crate::service::{
    CaseSummary, DuplicatePreview, MergePreview, MessageSummary, ServiceError, Session,
    SplitPreview,
};

/// One case in a preview, with its part in the action.
pub struct SummaryRow {
    /// `Into`, `Merged`, `Closed`, `Duplicate of`, `From`, `To`.
    pub role: &'static str,
    pub number: CaseNumber,
    pub subject: String,
    pub status: &'static str,
    pub channel: String,
    pub customer: String,
    pub assignee: String,
    /// "3 messages · 1 note · 2 files · 1h 30m logged"
    pub contents: String,
}

fn plural(count: u32, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

impl SummaryRow {
    fn new(role: &'static str, s: &CaseSummary) -> SummaryRow {
        let mut contents = vec![
            plural(s.messages, "message", "messages"),
            plural(s.notes, "note", "notes"),
        ];
        if s.files > 0 {
            contents.push(plural(s.files, "file", "files"));
        }
        if s.time_minutes > 0 {
            contents.push(format!("{} logged", format_minutes(s.time_minutes)));
        }
        SummaryRow {
            role,
            number: s.number,
            subject: s.subject.clone(),
            status: s.status.label(),
            channel: s.channel.clone(),
            customer: s.customer.clone().unwrap_or_else(|| "—".into()),
            assignee: s.assignee.clone().unwrap_or_else(|| "nobody".into()),
            contents: contents.join(" · "),
        }
    }
}

/// The message a split or move takes.
pub struct MessageRow {
    pub from: String,
    pub at: When,
    pub excerpt: String,
    pub files: String,
}

impl MessageRow {
    fn new(m: &MessageSummary) -> MessageRow {
        MessageRow {
            from: m.from.clone(),
            at: When::new(m.at),
            excerpt: m.excerpt.clone(),
            files: if m.files > 0 {
                format!("{}, which go with it", plural(m.files, "file", "files"))
            } else {
                String::new()
            },
        }
    }
}

/// The number box of the action, shown again so a refused number can be
/// corrected where it was typed.
pub struct NumberField {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
}

/// A confirmation: what the action does, or why it cannot.
pub struct ConfirmView {
    pub number: CaseNumber,
    pub title: String,
    pub explanation: String,
    pub cases: Vec<SummaryRow>,
    pub message: Option<MessageRow>,
    /// Where the confirming form posts, and what it sends.
    pub action: String,
    pub hidden: Vec<(&'static str, String)>,
    pub button: String,
    /// The number the person typed, for correcting it.
    pub field: Option<NumberField>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "case/confirm.html")]
struct ConfirmPage {
    nav: Nav,
    csrf: String,
    view: ConfirmView,
}

#[derive(Template)]
#[template(path = "case/confirm_part.html")]
struct ConfirmPart {
    csrf: String,
    view: ConfirmView,
}

/// Whether the page's script asked for the dialog's part only.
#[derive(Deserialize, Default)]
pub struct PartQuery {
    #[serde(default)]
    part: String,
}

fn render(
    session: &Session,
    part: bool,
    status: StatusCode,
    view: ConfirmView,
) -> Result<Response, WebError> {
    let csrf = session.csrf.clone();
    let body = if part {
        ConfirmPart { csrf, view }.render()
    } else {
        ConfirmPage {
            nav: Nav::new(session, "inbox"),
            csrf,
            view,
        }
        .render()
    };
    let body =
        body.map_err(|e| WebError::Internal(format!("the page could not be rendered: {e}")))?;
    Ok((status, Html(body)).into_response())
}

/// Shows a preview, or the refusal beside the field (with the status the
/// action itself would answer).
fn show(
    req: &Request,
    part: bool,
    outcome: Result<ConfirmView, WebError>,
    refused: ConfirmView,
) -> Result<Response, WebError> {
    let session = require_session(req)?;
    match outcome {
        Ok(view) => render(&session, part, StatusCode::OK, view),
        Err(error @ (WebError::LoginRequired { .. } | WebError::Internal(_))) => Err(error),
        // A fault of the server gets the server's apology (and is logged).
        Err(error) if poem::error::ResponseError::status(&error).is_server_error() => Err(error),
        Err(error) => {
            let status = poem::error::ResponseError::status(&error);
            // The field is beside the message: no need to name it.
            let text = match &error {
                WebError::Service(ServiceError::Invalid { message, .. }) => message.clone(),
                other => other.to_string(),
            };
            let view = ConfirmView {
                error: Some(sentence(&text)),
                ..refused
            };
            render(&session, part, status, view)
        }
    }
}

fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// Case numbers typed as `12, 13 #14`.
pub(super) fn parse_sources(text: &str) -> Result<Vec<CaseNumber>, WebError> {
    text.split([',', ' '])
        .filter(|s| !s.trim().is_empty())
        .map(parse_number)
        .collect()
}

fn refused(
    number: CaseNumber,
    title: &str,
    action: &str,
    field: Option<NumberField>,
) -> ConfirmView {
    ConfirmView {
        number,
        title: title.to_owned(),
        explanation: String::new(),
        cases: Vec::new(),
        message: None,
        action: format!("/cases/{number}/{action}"),
        hidden: Vec::new(),
        button: String::new(),
        field,
        error: None,
    }
}

#[derive(Deserialize)]
pub struct MergeQuery {
    #[serde(default)]
    sources: String,
}

fn merge_view(number: CaseNumber, sources: &str, preview: MergePreview) -> ConfirmView {
    let count = preview.sources.len() as u32;
    let mut cases = vec![SummaryRow::new("Into", &preview.target)];
    cases.extend(preview.sources.iter().map(|s| SummaryRow::new("Merged", s)));
    let numbers: Vec<String> = preview
        .sources
        .iter()
        .map(|s| format!("#{}", s.number))
        .collect();
    ConfirmView {
        number,
        title: format!("Merge {} into #{number}?", numbers.join(", ")),
        explanation: format!(
            "The messages, notes and logged time of {} move to #{number}, with their authors and times. {} resolved and linked as merged. The merge can be undone from Linked cases.",
            numbers.join(", "),
            if count == 1 { "It is" } else { "Each is" }
        ),
        cases,
        message: None,
        action: format!("/cases/{number}/merge"),
        hidden: vec![("sources", sources.to_owned())],
        button: format!("Merge {}", plural(count, "case", "cases")),
        field: Some(NumberField {
            name: "sources",
            label: "Cases to merge into this one",
            value: sources.to_owned(),
        }),
        error: None,
    }
}

#[handler]
pub fn merge(
    req: &Request,
    Path(number): Path<String>,
    Query(query): Query<MergeQuery>,
    Query(part): Query<PartQuery>,
) -> Result<Response, WebError> {
    let session = require_session(req)?;
    let number = parse_number(&number)?;
    let field = || NumberField {
        name: "sources",
        label: "Cases to merge into this one",
        value: query.sources.clone(),
    };
    let outcome = parse_sources(&query.sources).and_then(|sources| {
        let preview = app(req)
            .service
            .preview_merge(&session.user, number, &sources)?;
        Ok(merge_view(number, query.sources.trim(), preview))
    });
    show(
        req,
        !part.part.is_empty(),
        outcome,
        refused(number, "Merge cases into this one", "merge", Some(field())),
    )
}

#[derive(Deserialize)]
pub struct SplitQuery {
    #[serde(default)]
    event: String,
    #[serde(default)]
    to: String,
}

fn split_view(number: CaseNumber, event: u64, preview: SplitPreview) -> ConfirmView {
    let message = Some(MessageRow::new(&preview.message));
    let mut cases = vec![SummaryRow::new("From", &preview.from)];
    match (&preview.to, &preview.new_subject) {
        (Some(to), _) => {
            cases.push(SummaryRow::new("To", to));
            ConfirmView {
                number,
                title: format!("Move this message to #{}?", to.number),
                explanation: format!(
                    "The message leaves #{number} with its files; replies to it will thread onto #{}. #{number} keeps everything else.",
                    to.number
                ),
                cases,
                message,
                action: format!("/cases/{number}/split"),
                hidden: vec![("event", event.to_string()), ("to", to.number.to_string())],
                button: format!("Move to #{}", to.number),
                field: Some(NumberField {
                    name: "to",
                    label: "Move to case #",
                    value: to.number.to_string(),
                }),
                error: None,
            }
        }
        (None, subject) => ConfirmView {
            number,
            title: "Split this message into a new case?".into(),
            explanation: format!(
                "A new case “{}” opens in the same channel with this message and its files, linked to #{number} as related. Replies to the message will thread onto the new case.",
                subject.clone().unwrap_or_default()
            ),
            cases,
            message,
            action: format!("/cases/{number}/split"),
            hidden: vec![("event", event.to_string())],
            button: "Split into a new case".into(),
            field: None,
            error: None,
        },
    }
}

#[handler]
pub fn split(
    req: &Request,
    Path(number): Path<String>,
    Query(query): Query<SplitQuery>,
    Query(part): Query<PartQuery>,
) -> Result<Response, WebError> {
    let session = require_session(req)?;
    let number = parse_number(&number)?;
    let to_field = filled(&query.to).map(|to| NumberField {
        name: "to",
        label: "Move to case #",
        value: to,
    });
    let outcome = (|| {
        let event: u64 = query
            .event
            .trim()
            .parse()
            .map_err(|_| WebError::BadInput("choose a message to move".into()))?;
        let to = filled(&query.to).map(|t| parse_number(&t)).transpose()?;
        let preview = app(req)
            .service
            .preview_split(&session.user, number, event, to)?;
        Ok(split_view(number, event, preview))
    })();
    let title = if to_field.is_some() {
        "Move this message"
    } else {
        "Split this message"
    };
    let mut refusal = refused(number, title, "split", to_field);
    refusal.hidden = vec![("event", query.event.trim().to_owned())];
    show(req, !part.part.is_empty(), outcome, refusal)
}

#[derive(Deserialize)]
pub struct DuplicateQuery {
    #[serde(default)]
    duplicate_of: String,
}

fn duplicate_view(number: CaseNumber, preview: DuplicatePreview) -> ConfirmView {
    let original = preview.original.number;
    let mut explanation = format!(
        "#{number} is resolved and linked to #{original} as its duplicate. Its customer is told nothing; #{original} stays as it is."
    );
    if preview.replaces_related_link {
        explanation
            .push_str(" The two are linked as related now; that link becomes the duplicate link.");
    }
    ConfirmView {
        number,
        title: format!("Close #{number} as a duplicate of #{original}?"),
        explanation,
        cases: vec![
            SummaryRow::new("Closed", &preview.case),
            SummaryRow::new("Duplicate of", &preview.original),
        ],
        message: None,
        action: format!("/cases/{number}/duplicate"),
        hidden: vec![("duplicate_of", original.to_string())],
        button: "Close as duplicate".into(),
        field: Some(NumberField {
            name: "duplicate_of",
            label: "Close as duplicate of case #",
            value: original.to_string(),
        }),
        error: None,
    }
}

#[handler]
pub fn duplicate(
    req: &Request,
    Path(number): Path<String>,
    Query(query): Query<DuplicateQuery>,
    Query(part): Query<PartQuery>,
) -> Result<Response, WebError> {
    let session = require_session(req)?;
    let number = parse_number(&number)?;
    let outcome = parse_number(&query.duplicate_of).and_then(|original| {
        let preview = app(req)
            .service
            .preview_duplicate(&session.user, number, original)?;
        Ok(duplicate_view(number, preview))
    });
    let field = NumberField {
        name: "duplicate_of",
        label: "Close as duplicate of case #",
        value: query.duplicate_of.clone(),
    };
    show(
        req,
        !part.part.is_empty(),
        outcome,
        refused(number, "Close as a duplicate", "duplicate", Some(field)),
    )
}
