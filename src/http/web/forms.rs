//! Form posts: each checks the session's CSRF token, calls one service
//! command and redirects back (POST, redirect, GET).

use chrono::{NaiveDateTime, TimeZone, Utc};
use poem::web::{Form, Path, Redirect};
use poem::{Request, handler};
use serde::Deserialize;

use super::session::{CsrfForm, WebError, app, require_form_session, urlencode};
use crate::domain::Timestamp;
use crate::domain::activity::Direction;
use crate::domain::case::{CaseEdit, CaseNumber, Priority, Status};
use crate::domain::channel::{ChannelId, ChannelSettings, MemberRole};
use crate::domain::user::Role;
use crate::service::{CaseChange, ChannelChange, NewChannel, NewMessage, NewUser, UserChange};

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

fn parse_channel(text: &str) -> Result<ChannelId, WebError> {
    text.trim()
        .parse()
        .map_err(|_| WebError::BadInput("choose a channel".into()))
}

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

fn to_case(number: CaseNumber) -> Redirect {
    Redirect::see_other(format!("/cases/{number}"))
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
    let sources = form
        .sources
        .split([',', ' '])
        .filter(|s| !s.trim().is_empty())
        .map(parse_number)
        .collect::<Result<Vec<_>, _>>()?;
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
pub struct ChannelForm {
    csrf: String,
    name: String,
    #[serde(default)]
    email_address: String,
    time_tracking: Option<String>,
    #[serde(default)]
    reply_window_hours: String,
    #[serde(default)]
    slack_webhook_url: String,
}

fn reply_window(text: &str) -> Result<Option<u32>, WebError> {
    filled(text)
        .map(|t| {
            t.parse()
                .map_err(|_| WebError::BadInput(format!("'{t}' is not a number of hours")))
        })
        .transpose()
}

#[handler]
pub async fn create_channel(
    req: &Request,
    Form(form): Form<ChannelForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let settings = ChannelSettings {
        time_tracking: checked(&form.time_tracking),
        reply_window_hours: reply_window(&form.reply_window_hours)?,
        slack_webhook_url: filled(&form.slack_webhook_url),
        ..Default::default()
    };
    let new = NewChannel {
        name: form.name,
        email_address: filled(&form.email_address),
        settings,
        imap: None,
        integrations: Default::default(),
    };
    let channel = app(req).service.create_channel(&session.user, new).await?;
    Ok(Redirect::see_other(format!("/channels/{}", channel.id)))
}

#[handler]
pub async fn update_channel(
    req: &Request,
    Path(id): Path<String>,
    Form(form): Form<ChannelForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let id = parse_channel(&id)?;
    let change = ChannelChange {
        name: Some(form.name),
        email_address: Some(filled(&form.email_address)),
        time_tracking: Some(checked(&form.time_tracking)),
        reply_window_hours: Some(reply_window(&form.reply_window_hours)?),
        slack_webhook_url: Some(filled(&form.slack_webhook_url)),
        ..Default::default()
    };
    app(req)
        .service
        .update_channel(&session.user, id, change)
        .await?;
    Ok(Redirect::see_other(format!("/channels/{id}")))
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

#[derive(Deserialize)]
pub struct ChannelEmailForm {
    csrf: String,
    personal_from: Option<String>,
    auto_acknowledge: Option<String>,
    #[serde(default)]
    imap_host: String,
    #[serde(default)]
    imap_port: String,
    #[serde(default)]
    imap_security: String,
    #[serde(default)]
    imap_username: String,
    #[serde(default)]
    imap_password: String,
    #[serde(default)]
    imap_folder: String,
    #[serde(default)]
    imap_move_to: String,
}

/// The channel's email settings: IMAP intake (an empty host turns it off)
/// and who updates are sent from.
#[handler]
pub async fn update_channel_email(
    req: &Request,
    Path(id): Path<String>,
    Form(form): Form<ChannelEmailForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let id = parse_channel(&id)?;
    let imap = match filled(&form.imap_host) {
        None => None,
        Some(host) => {
            let security =
                crate::domain::channel::ImapSecurity::parse("imap.security", &form.imap_security)?;
            let port = match filled(&form.imap_port) {
                Some(p) => p
                    .parse()
                    .map_err(|_| WebError::BadInput(format!("'{p}' is not a port number")))?,
                None if security == crate::domain::channel::ImapSecurity::Tls => 993,
                None => 143,
            };
            Some(crate::service::ImapChange {
                host,
                port,
                security,
                username: form.imap_username.trim().to_owned(),
                password: filled(&form.imap_password),
                folder: filled(&form.imap_folder).unwrap_or_else(|| "INBOX".into()),
                move_to: filled(&form.imap_move_to),
            })
        }
    };
    let change = ChannelChange {
        personal_from: Some(checked(&form.personal_from)),
        auto_acknowledge: Some(checked(&form.auto_acknowledge)),
        imap: Some(imap),
        ..Default::default()
    };
    app(req)
        .service
        .update_channel(&session.user, id, change)
        .await?;
    Ok(Redirect::see_other(format!("/channels/{id}#email")))
}

#[derive(Deserialize)]
pub struct MemberForm {
    csrf: String,
    username: String,
    role: String,
}

#[handler]
pub async fn put_member(
    req: &Request,
    Path(id): Path<String>,
    Form(form): Form<MemberForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let id = parse_channel(&id)?;
    let role = MemberRole::parse("role", &form.role)?;
    app(req)
        .service
        .put_member(&session.user, id, form.username.trim(), role)
        .await?;
    Ok(Redirect::see_other(format!("/channels/{id}")))
}

#[handler]
pub async fn remove_member(
    req: &Request,
    Path((id, username)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let id = parse_channel(&id)?;
    app(req)
        .service
        .remove_member(&session.user, id, &username)
        .await?;
    Ok(Redirect::see_other(format!("/channels/{id}#members")))
}

#[derive(Deserialize)]
pub struct UserForm {
    csrf: String,
    username: String,
    password: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    role: String,
}

#[handler]
pub async fn create_user(req: &Request, Form(form): Form<UserForm>) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let role = Role::parse("role", &form.role)?;
    let new = NewUser {
        username: form.username,
        password: form.password,
        display_name: filled(&form.display_name),
        email: filled(&form.email),
        role,
    };
    let user = app(req).service.create_user(&session.user, new).await?;
    Ok(Redirect::see_other(format!(
        "/users#user-{}",
        urlencode(&user.username)
    )))
}

#[derive(Deserialize)]
pub struct UserEditForm {
    csrf: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    role: String,
    #[serde(default)]
    password: String,
}

/// Deactivates (`/deactivate`) or reactivates (`/reactivate`) an account.
pub async fn set_active(
    req: &Request,
    username: &str,
    csrf: &str,
    active: bool,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, csrf)?;
    let change = UserChange {
        display_name: None,
        email: None,
        role: None,
        password: None,
        active: Some(active),
    };
    let user = app(req)
        .service
        .update_user(&session.user, username, change)
        .await?;
    Ok(Redirect::see_other(format!(
        "/users#user-{}",
        urlencode(&user.username)
    )))
}

#[handler]
pub async fn deactivate_user(
    req: &Request,
    Path(username): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect, WebError> {
    set_active(req, &username, &form.csrf, false).await
}

#[handler]
pub async fn reactivate_user(
    req: &Request,
    Path(username): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect, WebError> {
    set_active(req, &username, &form.csrf, true).await
}

#[handler]
pub async fn update_user(
    req: &Request,
    Path(username): Path<String>,
    Form(form): Form<UserEditForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let change = UserChange {
        display_name: filled(&form.display_name),
        email: Some(filled(&form.email)),
        role: Some(Role::parse("role", &form.role)?),
        // Passwords are taken exactly as typed, spaces included.
        password: (!form.password.is_empty()).then_some(form.password),
        active: None,
    };
    let user = app(req)
        .service
        .update_user(&session.user, &username, change)
        .await?;
    Ok(Redirect::see_other(format!(
        "/users#user-{}",
        urlencode(&user.username)
    )))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: String,
    current_password: String,
    new_password: String,
    confirm_password: String,
}

#[handler]
pub async fn change_password(
    req: &Request,
    Form(form): Form<PasswordForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    if form.new_password != form.confirm_password {
        return Err(WebError::BadInput(
            "the new password and its confirmation differ".into(),
        ));
    }
    app(req)
        .service
        .change_own_password(
            &session.user,
            &form.current_password,
            form.new_password,
            super::session::session_token(req),
        )
        .await?;
    Ok(Redirect::see_other("/account?changed=1"))
}
