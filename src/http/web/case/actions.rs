//! Form posts on a case: each checks the session's CSRF token, calls one
//! service command and redirects back (POST, redirect, GET).

use chrono::Utc;
use poem::web::{Form, Path, Redirect};
use poem::{Request, handler};
use serde::Deserialize;

use crate::domain::activity::Direction;
use crate::domain::case::{CaseEdit, CaseNumber, Priority, Status};
use crate::http::web::session::{CsrfForm, WebError, app, require_form_session};
use crate::http::web::shared::{checked, filled, parse_deadline, parse_number, to_case};
use crate::service::{CaseChange, NewMessage};

/// Applies a case change from a form and returns to the case.
async fn apply_change(
    req: &Request,
    session: &crate::service::Session,
    number: CaseNumber,
    change: CaseChange,
) -> Result<Redirect, WebError> {
    app(req)
        .service
        .update_case(&session.user, number, change)
        .await?;
    Ok(to_case(number))
}

/// What the language model wrote, or why it could not, as JSON for the
/// case page's script.
async fn model_answer(
    req: &Request,
    number: &str,
    csrf: &str,
    wants_draft: bool,
) -> poem::Response {
    use poem::IntoResponse;
    let outcome = async {
        let session = require_form_session(req, csrf)?;
        let number = parse_number(number)?;
        let service = &app(req).service;
        Ok::<_, WebError>(if wants_draft {
            service.draft_reply(&session.user, number).await?
        } else {
            service.summarize_case(&session.user, number).await?
        })
    }
    .await;
    match outcome {
        Ok(text) => poem::web::Json(serde_json::json!({
            "text": text.text,
            "model": text.model,
        }))
        .into_response(),
        Err(error) => {
            let status = poem::error::ResponseError::status(&error);
            let message = match &error {
                WebError::Service(crate::service::ServiceError::Model(e)) => e.to_string(),
                WebError::Internal(_) => {
                    "something went wrong on the server; the server log has details".into()
                }
                other => other.to_string(),
            };
            (
                status,
                poem::web::Json(serde_json::json!({ "error": message })),
            )
                .into_response()
        }
    }
}

/// A summary of the case by the language model (`POST`, for the script).
#[handler]
pub async fn summary(
    req: &Request,
    Path(number): Path<String>,
    Form(form): Form<CsrfForm>,
) -> poem::Response {
    model_answer(req, &number, &form.csrf, false).await
}

/// A draft reply by the language model (`POST`, for the script).
#[handler]
pub async fn draft(
    req: &Request,
    Path(number): Path<String>,
    Form(form): Form<CsrfForm>,
) -> poem::Response {
    model_answer(req, &number, &form.csrf, true).await
}

#[derive(Deserialize)]
pub struct EditCaseForm {
    csrf: String,
    /// The case's `updated_at` when the form was rendered.
    #[serde(default)]
    version: String,
    subject: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    case_type: String,
    #[serde(default)]
    category: String,
    priority: String,
    #[serde(default)]
    deadline: String,
    important: Option<String>,
}

#[handler]
pub async fn edit_case(
    req: &Request,
    Path(number): Path<String>,
    Form(form): Form<EditCaseForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let number = parse_number(&number)?;
    let edit = CaseEdit {
        subject: Some(form.subject),
        description: Some(form.description),
        case_type: Some(filled(&form.case_type)),
        priority: Some(Priority::parse("priority", &form.priority)?),
        deadline: Some(parse_deadline(&form.deadline)?),
        category: Some(filled(&form.category)),
        important: Some(checked(&form.important)),
        customer: None,
        device: None,
    };
    let expected = chrono::DateTime::parse_from_rfc3339(&form.version)
        .map(|v| v.with_timezone(&Utc))
        .ok();
    let change = CaseChange {
        edit,
        unchanged_since: expected,
        ..Default::default()
    };
    apply_change(req, &session, number, change).await
}

/// Saves a case's profile fields. Fields arrive as `profile.NAME`; an
/// empty one clears the value. Values are typed by the field's kind and
/// then checked by the service layer.
#[handler]
pub async fn edit_profile(
    req: &Request,
    Path(number): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Redirect, WebError> {
    let csrf = form
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let session = require_form_session(req, &csrf)?;
    let number = parse_number(&number)?;
    let service = &app(req).service;
    let case = service.get_case(&session.user, number)?;
    let fields = service.profile_fields(case.case_type.as_deref());
    let mut values = crate::domain::profile::ProfileValues::new();
    for (key, text) in &form {
        let Some(name) = key.strip_prefix("profile.") else {
            continue;
        };
        values.insert(
            name.to_owned(),
            super::properties::profile_value(&fields, name, text),
        );
    }
    let change = CaseChange {
        profile: Some(values),
        ..Default::default()
    };
    apply_change(req, &session, number, change)
        .await
        .map_err(|e| match e {
            // Named by the labels the profile form shows.
            WebError::Service(crate::service::ServiceError::InvalidFields(problems)) => {
                WebError::Fields(
                    problems
                        .into_iter()
                        .map(|p| (super::properties::label_of(&p.field, &fields), p.message))
                        .collect(),
                )
            }
            other => other,
        })
}

#[derive(Deserialize)]
pub struct LinkForm {
    csrf: String,
    kind: String,
    target: String,
}

#[handler]
pub async fn add_link(
    req: &Request,
    Path(number): Path<String>,
    Form(form): Form<LinkForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let number = parse_number(&number)?;
    let target = parse_number(&form.target)?;
    let kind = crate::domain::link::LinkKind::parse(&form.kind)
        .ok_or_else(|| WebError::BadInput(format!("'{}' is not a kind of link", form.kind)))?;
    app(req)
        .service
        .link_cases(&session.user, number, kind, target)
        .await?;
    Ok(Redirect::see_other(format!("/cases/{number}#links")))
}

#[handler]
pub async fn remove_link(
    req: &Request,
    Path((number, target)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let number = parse_number(&number)?;
    let target = parse_number(&target)?;
    app(req)
        .service
        .unlink_cases(&session.user, number, target)
        .await?;
    Ok(Redirect::see_other(format!("/cases/{number}#links")))
}

#[derive(Deserialize)]
pub struct MergeForm {
    csrf: String,
    sources: String,
}

#[handler]
pub async fn merge(
    req: &Request,
    Path(number): Path<String>,
    Form(form): Form<MergeForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let number = parse_number(&number)?;
    let sources = super::confirm::parse_sources(&form.sources)?;
    app(req)
        .service
        .merge_cases(&session.user, number, sources)
        .await?;
    Ok(Redirect::see_other(format!("/cases/{number}")))
}

#[derive(Deserialize)]
pub struct UnmergeForm {
    csrf: String,
    source: String,
}

#[handler]
pub async fn unmerge(
    req: &Request,
    Path(number): Path<String>,
    Form(form): Form<UnmergeForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let number = parse_number(&number)?;
    let source = parse_number(&form.source)?;
    app(req)
        .service
        .unmerge_case(&session.user, number, source)
        .await?;
    Ok(Redirect::see_other(format!("/cases/{number}")))
}

#[derive(Deserialize)]
pub struct SplitForm {
    csrf: String,
    event: u64,
    /// A case number to move the message to; empty for a new case.
    #[serde(default)]
    to: String,
}

#[handler]
pub async fn split(
    req: &Request,
    Path(number): Path<String>,
    Form(form): Form<SplitForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let number = parse_number(&number)?;
    let service = &app(req).service;
    let destination = match filled(&form.to) {
        None => {
            service
                .split_message(&session.user, number, form.event)
                .await?
        }
        Some(to) => {
            let to = parse_number(&to)?;
            service
                .move_message(&session.user, number, form.event, to)
                .await?
        }
    };
    Ok(Redirect::see_other(format!(
        "/cases/{}",
        destination.number
    )))
}

#[derive(Deserialize)]
pub struct DuplicateForm {
    csrf: String,
    duplicate_of: String,
}

#[handler]
pub async fn close_duplicate(
    req: &Request,
    Path(number): Path<String>,
    Form(form): Form<DuplicateForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let number = parse_number(&number)?;
    let original = parse_number(&form.duplicate_of)?;
    app(req)
        .service
        .close_as_duplicate(&session.user, number, original)
        .await?;
    Ok(Redirect::see_other(format!("/cases/{number}")))
}

#[derive(Deserialize)]
pub struct TimerForm {
    csrf: String,
    action: String,
}

#[handler]
pub async fn timer(
    req: &Request,
    Path(number): Path<String>,
    Form(form): Form<TimerForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let number = parse_number(&number)?;
    let service = &app(req).service;
    match form.action.as_str() {
        "start" => {
            service.start_timer(&session.user, number).await?;
        }
        "stop" => {
            service.stop_timer(&session.user, number).await?;
        }
        other => {
            return Err(WebError::BadInput(format!(
                "'{other}' is not a timer action"
            )));
        }
    }
    Ok(Redirect::see_other(format!("/cases/{number}#time")))
}

#[derive(Deserialize)]
pub struct TimeForm {
    csrf: String,
    duration: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    note: String,
}

#[handler]
pub async fn log_time(
    req: &Request,
    Path(number): Path<String>,
    Form(form): Form<TimeForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let number = parse_number(&number)?;
    let date = match filled(&form.date) {
        None => None,
        Some(text) => Some(
            chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .map_err(|_| WebError::BadInput(format!("'{text}' is not a date")))?,
        ),
    };
    app(req)
        .service
        .log_time(
            &session.user,
            number,
            crate::service::NewTimeEntry {
                duration: form.duration,
                kind: filled(&form.kind),
                date,
                note: filled(&form.note),
            },
        )
        .await?;
    Ok(Redirect::see_other(format!("/cases/{number}#time")))
}

#[handler]
pub async fn delete_time(
    req: &Request,
    Path((number, id)): Path<(String, u64)>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let number = parse_number(&number)?;
    app(req)
        .service
        .delete_time_entry(&session.user, number, id)
        .await?;
    Ok(Redirect::see_other(format!("/cases/{number}#time")))
}

#[derive(Deserialize)]
pub struct AssignForm {
    csrf: String,
    #[serde(default)]
    assignee: String,
}

#[handler]
pub async fn assign_case(
    req: &Request,
    Path(number): Path<String>,
    Form(form): Form<AssignForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let number = parse_number(&number)?;
    let change = CaseChange {
        assignee: Some(filled(&form.assignee)),
        ..Default::default()
    };
    apply_change(req, &session, number, change).await
}

#[derive(Deserialize)]
pub struct StatusForm {
    csrf: String,
    status: String,
}

#[handler]
pub async fn change_status(
    req: &Request,
    Path(number): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let number = parse_number(&number)?;
    let status = Status::parse("status", &form.status)?;
    let change = CaseChange {
        status: Some(status),
        ..Default::default()
    };
    apply_change(req, &session, number, change).await
}

macro_rules! lifecycle_form {
    ($name:ident, $method:ident) => {
        #[handler]
        pub async fn $name(
            req: &Request,
            Path(number): Path<String>,
            Form(form): Form<CsrfForm>,
        ) -> Result<Redirect, WebError> {
            let session = require_form_session(req, &form.csrf)?;
            let number = parse_number(&number)?;
            app(req).service.$method(&session.user, number).await?;
            Ok(to_case(number))
        }
    };
}

lifecycle_form!(close_case, close_case);

lifecycle_form!(reopen_case, reopen_case);

lifecycle_form!(archive_case, archive_case);

lifecycle_form!(unarchive_case, unarchive_case);

// The category the AI agent suggested, accepted as the person's decision.
lifecycle_form!(accept_ai, accept_ai_suggestion);

// The chat taken from the AI agent.
lifecycle_form!(take_over, take_over_from_ai);

#[derive(Deserialize)]
pub struct NoteForm {
    csrf: String,
    body: String,
}

#[handler]
pub async fn add_note(
    req: &Request,
    Path(number): Path<String>,
    Form(form): Form<NoteForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let number = parse_number(&number)?;
    app(req)
        .service
        .add_note(&session.user, number, &form.body)
        .await?;
    Ok(Redirect::see_other(format!("/cases/{number}#activity")))
}

#[derive(Deserialize)]
pub struct MessageForm {
    csrf: String,
    body: String,
    #[serde(default)]
    direction: String,
    #[serde(default)]
    from: String,
}

#[handler]
pub async fn add_message(
    req: &Request,
    Path(number): Path<String>,
    Form(form): Form<MessageForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let number = parse_number(&number)?;
    let direction = if form.direction == "inbound" {
        Direction::Inbound
    } else {
        Direction::Outbound
    };
    let message = NewMessage {
        direction,
        from: filled(&form.from),
        body: form.body,
    };
    app(req)
        .service
        .add_message(&session.user, number, message)
        .await?;
    Ok(Redirect::see_other(format!("/cases/{number}#activity")))
}

#[derive(Deserialize)]
pub struct ReplyForm {
    csrf: String,
    body: String,
}

/// A reply on Instagram or Facebook.
#[handler]
pub async fn reply(
    req: &Request,
    Path(number): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let number = parse_number(&number)?;
    app(req)
        .service
        .reply_on_social(&session.user, number, &form.body)
        .await?;
    Ok(Redirect::see_other(format!("/cases/{number}#activity")))
}
