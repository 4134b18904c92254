//! The case page's properties panel: each property saves as it changes.
//! The page's script posts the changed fields here and reads a JSON answer
//! (what was saved, or each refused field with a message a person reads);
//! without script the same form posts and redirects back.

use poem::http::StatusCode;
use poem::web::{Form, Json, Path, Query, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::{Deserialize, Serialize};

use super::view::ProfileInput;
use crate::domain::case::{CaseEdit, Priority, Status};
use crate::domain::profile::{FieldKind, ProfileField, ProfileValues};
use crate::http::web::session::{WebError, app, require_form_session, require_session};
use crate::http::web::shared::{checked, filled, parse_deadline, parse_number};
use crate::service::{CaseChange, ServiceError};

/// A refused field, for the page to show beside it.
#[derive(Debug, Serialize)]
struct FieldMessage {
    /// The form field's name (`status`, `profile.order_number`).
    field: String,
    /// What the person sees as the field's label.
    label: String,
    message: String,
}

#[derive(Debug, Serialize)]
struct Refusal {
    message: String,
    errors: Vec<FieldMessage>,
}

#[derive(Debug, Serialize)]
struct Saved {
    saved: Vec<String>,
    message: String,
}

/// The label people know a case field by.
pub(in crate::http::web) fn label_of(field: &str, profile: &[ProfileField]) -> String {
    if let Some(name) = field.strip_prefix("profile.") {
        return profile
            .iter()
            .find(|f| f.name == name)
            .map_or_else(|| name.replace('_', " "), |f| f.label.clone());
    }
    match field {
        "case_type" | "type" => "Type".into(),
        "slack_webhook_url" | "settings.slack_webhook_url" => "Slack webhook URL".into(),
        "reply_window_hours" | "settings.reply_window_hours" => "Reply window".into(),
        "email_address" => "Email address".into(),
        "imap.host" => "IMAP server".into(),
        "imap.port" => "IMAP port".into(),
        "imap.username" => "IMAP user name".into(),
        "imap.password" => "IMAP password".into(),
        "imap.folder" => "IMAP folder".into(),
        "imap.move_to" => "Folder to move taken-in mail to".into(),
        "display_name" => "Display name".into(),
        "duplicate_of" => "Duplicate of".into(),
        "api_base" | "meta.api_base" | "integrations.meta.api_base" => "Graph API address".into(),
        "allowed_origins" | "widget.allowed_origins" | "integrations.widget.allowed_origins" => {
            "Sites that may embed the widget".into()
        }
        "integrations.meta.app_secret" => "App secret".into(),
        "integrations.meta.verify_token" => "Verify token".into(),
        "integrations.meta.page_access_token" => "Page access token".into(),
        "integrations.phone.auth_token" => "Auth token".into(),
        "integrations.widget.model_answers" => "The language model answers visitors".into(),
        "integrations.widget.model_instructions" => "What the model should know".into(),
        "assignee" => "Assignee".into(),
        "estimate" | "estimate_minutes" => "Estimate".into(),
        "customer.email" => "Customer email".into(),
        "customer.name" => "Customer name".into(),
        "customer.phone" => "Customer phone".into(),
        other => {
            let mut words = other.replace(['_', '.'], " ");
            if let Some(first) = words.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            words
        }
    }
}

/// Turns a refusal into messages per field, in words a person reads.
fn refusal(error: &WebError, profile: &[ProfileField]) -> (StatusCode, Refusal) {
    let status = poem::error::ResponseError::status(error);
    let field_message = |field: &str, message: &str| FieldMessage {
        field: field.to_owned(),
        label: label_of(field, profile),
        message: message.to_owned(),
    };
    let errors = match error {
        WebError::Service(ServiceError::Invalid { field, message }) => {
            vec![field_message(field, message)]
        }
        WebError::Service(ServiceError::InvalidFields(problems)) => problems
            .iter()
            .map(|p| field_message(&p.field, &p.message))
            .collect(),
        _ => Vec::new(),
    };
    let message = match errors.as_slice() {
        [] => {
            let text = error.to_string();
            let mut chars = text.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
        [one] => format!("{}: {}", one.label, one.message),
        many => format!("{} fields need attention.", many.len()),
    };
    (status, Refusal { message, errors })
}

/// Whether the page's script asked (it reads JSON, not a redirect).
fn wants_json(req: &Request) -> bool {
    req.headers()
        .get("x-docket-fetch")
        .is_some_and(|v| v.as_bytes() == b"1")
}

/// The change the posted fields ask for; only fields present change.
fn change_from(
    form: &[(String, String)],
    profile: &[ProfileField],
) -> Result<(CaseChange, Vec<String>), WebError> {
    let mut edit = CaseEdit::default();
    let mut change = CaseChange::default();
    let mut values = ProfileValues::new();
    let mut saved = Vec::new();
    for (key, value) in form {
        match key.as_str() {
            "csrf" => continue,
            "subject" => edit.subject = Some(value.clone()),
            "category" => edit.category = Some(filled(value)),
            "case_type" => edit.case_type = Some(filled(value)),
            "priority" => edit.priority = Some(Priority::parse("priority", value)?),
            "deadline" => edit.deadline = Some(parse_deadline(value)?),
            "important" => edit.important = Some(checked(&Some(value.clone()))),
            "status" => change.status = Some(Status::parse("status", value)?),
            "assignee" => change.assignee = Some(filled(value)),
            "estimate" => change.estimate = Some(filled(value)),
            "version" => {
                change.unchanged_since = chrono::DateTime::parse_from_rfc3339(value)
                    .map(|v| v.with_timezone(&chrono::Utc))
                    .ok();
                continue;
            }
            other => {
                let Some(name) = other.strip_prefix("profile.") else {
                    return Err(WebError::BadInput(format!(
                        "'{other}' is not a case property"
                    )));
                };
                // A form posted without script after the type changed
                // still carries the old type's fields: they are not asked.
                if !profile.iter().any(|f| f.name == name) {
                    continue;
                }
                values.insert(name.to_owned(), profile_value(profile, name, value));
            }
        }
        if !saved.contains(key) {
            saved.push(key.clone());
        }
    }
    if !values.is_empty() {
        change.profile = Some(values);
    }
    change.edit = edit;
    Ok((change, saved))
}

/// A profile value typed by its field's kind; blank clears it.
pub(super) fn profile_value(profile: &[ProfileField], name: &str, text: &str) -> serde_json::Value {
    let text = text.trim();
    let kind = profile.iter().find(|f| f.name == name).map(|f| f.kind);
    match kind {
        _ if text.is_empty() => serde_json::Value::Null,
        Some(FieldKind::Boolean) => match text {
            "true" => serde_json::Value::Bool(true),
            "false" => serde_json::Value::Bool(false),
            other => serde_json::Value::String(other.to_owned()),
        },
        _ => serde_json::Value::String(text.to_owned()),
    }
}

/// Saves the posted properties of a case.
#[handler]
pub async fn save(
    req: &Request,
    Path(number): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let json = wants_json(req);
    let csrf = form
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let service = &app(req).service;
    // The fields of the type the case will have, to type and label them.
    let new_type = form
        .iter()
        .find(|(k, _)| k == "case_type")
        .map(|(_, v)| filled(v));
    let mut profile = Vec::new();
    let outcome = async {
        let session = require_form_session(req, &csrf)?;
        let number = parse_number(&number)?;
        let case = service.get_case(&session.user, number)?;
        let case_type = new_type.unwrap_or(case.case_type);
        profile = service.profile_fields(case_type.as_deref());
        let (change, saved) = change_from(&form, &profile)?;
        service.update_case(&session.user, number, change).await?;
        Ok::<_, WebError>((number, saved))
    }
    .await;
    match (outcome, json) {
        (Ok((_, saved)), true) => {
            let labels: Vec<String> = saved.iter().map(|f| label_of(f, &profile)).collect();
            let message = match labels.as_slice() {
                [] => "Nothing to save.".to_owned(),
                [one] => format!("{one} saved."),
                many => format!("{} saved.", many.join(", ")),
            };
            Json(Saved { saved, message }).into_response()
        }
        (Ok((number, _)), false) => Redirect::see_other(format!("/cases/{number}")).into_response(),
        (Err(WebError::LoginRequired { .. }), true) => (
            StatusCode::UNAUTHORIZED,
            Json(Refusal {
                message: "Your session has ended; log in again in another tab, then save.".into(),
                errors: Vec::new(),
            }),
        )
            .into_response(),
        (Err(error), true) => {
            let (status, body) = refusal(&error, &profile);
            (status, Json(body)).into_response()
        }
        (Err(error), false) => poem::error::ResponseError::as_response(&error),
    }
}

#[derive(Deserialize)]
pub struct FieldsQuery {
    #[serde(default, rename = "type")]
    pub(super) case_type: String,
}

/// The profile inputs of a case type, as the panel shows them: the page
/// asks for them the moment a type is chosen, before anything is saved.
#[handler]
pub fn profile_fields(
    req: &Request,
    Path(number): Path<String>,
    Query(query): Query<FieldsQuery>,
) -> Result<Response, WebError> {
    let session = require_session(req)?;
    let number = parse_number(&number)?;
    let service = &app(req).service;
    let case = service.get_case(&session.user, number)?;
    let fields = service.profile_fields(filled(&query.case_type).as_deref());
    let inputs: Vec<ProfileInput> = fields
        .iter()
        .map(|field| ProfileInput::new(field, case.profile.get(&field.name)))
        .collect();
    crate::http::web::case::view::render_profile_inputs(inputs)
}

#[derive(Deserialize)]
pub struct PresenceForm {
    csrf: String,
    state: String,
}

#[derive(Serialize)]
struct ViewerJson {
    username: String,
    name: String,
    typing: bool,
}

/// A page's heartbeat: its agent views the case, is typing, or has left.
/// Everyone with the case open hears who is there.
#[handler]
pub fn presence(
    req: &Request,
    Path(number): Path<String>,
    Form(form): Form<PresenceForm>,
) -> Result<Json<Vec<ViewerJson>>, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let number = parse_number(&number)?;
    let state = crate::service::Presence::parse(&form.state)?;
    let app = app(req);
    let viewers = app.service.note_presence(&session.user, number, state)?;
    app.live.publish_presence(number, viewers.clone());
    Ok(Json(
        viewers
            .into_iter()
            .map(|v| ViewerJson {
                username: v.username,
                name: v.name,
                typing: v.typing,
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
pub struct PreviewForm {
    csrf: String,
    #[serde(default)]
    body: String,
}

/// A note's Markdown as it will show, for the composer's preview.
#[handler]
pub fn preview(
    req: &Request,
    Path(number): Path<String>,
    Form(form): Form<PreviewForm>,
) -> Result<poem::web::Html<String>, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let number = parse_number(&number)?;
    // Only someone who may read the case previews notes on it.
    app(req).service.get_case(&session.user, number)?;
    Ok(poem::web::Html(crate::markdown::note_html(&form.body)))
}
