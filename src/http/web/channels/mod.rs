//! Channels: the list, a channel's page and the forms that change its
//! settings, mail intake and members.

pub(super) mod calendar;
pub(super) mod integrations;

use askama::Template;
use poem::web::{Form, Path, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use crate::domain::channel::{ChannelId, ChannelSettings, MemberRole};
use crate::domain::user::User;
use crate::http::web::session::{CsrfForm, WebError, app, require_form_session, require_session};
use crate::http::web::shared::{Choice, Nav, checked, filled, html, parse_channel};
use crate::service::{ChannelChange, NewChannel, ServiceError};

#[handler]
pub fn channels_page(req: &Request) -> Result<Response, WebError> {
    let session = require_session(req)?;
    let channels = app(req).service.list_channels(&session.user)?;
    let rows = channels
        .into_iter()
        .map(|c| ChannelRow {
            id: c.id,
            role: c
                .rights
                .role
                .map(|r| r.as_str().to_owned())
                .unwrap_or_else(|| "—".into()),
            email: c.email_address.clone().unwrap_or_else(|| "—".into()),
            members: c.members.len(),
            name: c.name,
        })
        .collect();
    html(ChannelsPage {
        can_create: app(req)
            .service
            .viewer_rights(&session.user)?
            .can_create_channels,
        nav: Nav::new(&session, "channels"),
        rows,
    })
}

#[handler]
pub fn channel_page(req: &Request, Path(id): Path<String>) -> Result<Response, WebError> {
    let session = require_session(req)?;
    let id: ChannelId = id
        .parse()
        .map_err(|_| WebError::BadInput(format!("'{id}' is not a channel id")))?;
    render_channel(req, &session, id, None)
}

/// Email settings that were refused: shown again as typed (never the
/// password), with the reason beside the server field.
pub struct RefusedEmailForm {
    imap: crate::service::ShownImap,
    error: String,
}

/// A form of the page that was refused, to show again as typed.
pub enum Refused {
    Email(RefusedEmailForm),
    Calendar(calendar::CalendarFields),
}

fn render_channel(
    req: &Request,
    session: &crate::service::Session,
    id: ChannelId,
    refused: Option<Refused>,
) -> Result<Response, WebError> {
    let (refused, calendar_typed) = match refused {
        Some(Refused::Email(form)) => (Some(form), None),
        Some(Refused::Calendar(fields)) => (None, Some(fields)),
        None => (None, None),
    };
    let service = &app(req).service;
    let channel = service.get_channel(&session.user, id)?;
    let can_manage = channel.rights.can_manage;
    let mut members = Vec::new();
    for (name, role) in &channel.members {
        members.push(ChannelPage::member_row(
            name,
            *role,
            service.find_user(name)?.as_ref(),
        ));
    }
    // Managers who are not admins add members by username.
    let candidates = if service.viewer_rights(&session.user)?.can_pick_members {
        service
            .list_users(&session.user)?
            .into_iter()
            .filter(|u| !channel.members.contains_key(&u.username))
            .map(|u| Choice {
                label: format!("{} ({})", u.username, u.role),
                value: u.username,
                selected: false,
            })
            .collect()
    } else {
        Vec::new()
    };
    html(ChannelPage {
        nav: Nav::new(session, "channels"),
        reply_window: channel
            .reply_window_hours
            .map(|h| h.to_string())
            .unwrap_or_default(),
        slack_set: channel
            .managed
            .as_ref()
            .is_some_and(|m| m.slack_webhook_set),
        imap: match &refused {
            Some(form) => Some(form.imap.clone()),
            None => channel.managed.as_ref().and_then(|m| m.imap.clone()),
        },
        imap_error: refused.as_ref().map(|form| form.error.clone()),
        calendar: calendar_typed
            .unwrap_or_else(|| calendar::CalendarFields::of(channel.calendar.as_ref())),
        mail_status: channel.managed.as_ref().and_then(|m| m.mail_status.clone()),
        saved_replies: if session.user.is_partner() {
            Vec::new()
        } else {
            service.list_saved_replies(&session.user, Some(id))?
        },
        placeholders: crate::domain::saved_reply::PLACEHOLDERS,
        llm_model: service.llm_model().map(str::to_owned),
        channel,
        members,
        candidates,
        can_manage,
    })
}

pub struct ChannelRow {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub members: usize,
    pub role: String,
}

#[derive(Template)]
#[template(path = "channels/channels.html")]
pub struct ChannelsPage {
    pub nav: Nav,
    pub rows: Vec<ChannelRow>,
    pub can_create: bool,
}

pub struct MemberRow {
    pub username: String,
    pub role: &'static str,
    pub is_partner: bool,
}

#[derive(Template)]
#[template(path = "channels/channel.html")]
pub struct ChannelPage {
    pub nav: Nav,
    pub channel: crate::service::ShownChannel,
    pub members: Vec<MemberRow>,
    pub candidates: Vec<Choice>,
    pub can_manage: bool,
    pub reply_window: String,
    pub slack_set: bool,
    /// IMAP intake as set (never the password) and what it last did.
    pub imap: Option<crate::service::ShownImap>,
    /// Why the email form just sent was refused.
    pub imap_error: Option<String>,
    /// The business-hours form.
    pub calendar: calendar::CalendarFields,
    /// The channel's saved replies (managers keep them here).
    pub saved_replies: Vec<crate::domain::saved_reply::SavedReply>,
    /// Placeholders a saved reply may use, with what they stand for.
    pub placeholders: &'static [(&'static str, &'static str)],
    pub mail_status: Option<crate::service::MailStatus>,
    /// The configured language model, which may answer the widget.
    pub llm_model: Option<String>,
}

impl ChannelPage {
    pub fn member_row(username: &str, role: MemberRole, user: Option<&User>) -> MemberRow {
        MemberRow {
            username: username.to_owned(),
            role: role.as_str(),
            is_partner: user.is_some_and(User::is_partner),
        }
    }
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
    /// Ticked to turn Slack notifications off (the URL is never shown, so
    /// an empty field keeps it).
    slack_off: Option<String>,
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
        slack_webhook_url: match filled(&form.slack_webhook_url) {
            Some(url) => Some(Some(url)),
            None if checked(&form.slack_off) => Some(None),
            None => None,
        },
        ..Default::default()
    };
    app(req)
        .service
        .update_channel(&session.user, id, change)
        .await?;
    Ok(Redirect::see_other(format!("/channels/{id}")))
}

#[derive(Deserialize)]
pub struct ChannelEmailForm {
    csrf: String,
    personal_from: Option<String>,
    auto_acknowledge: Option<String>,
    satisfaction: Option<String>,
    trust_spam_headers: Option<String>,
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
) -> Result<Response, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let id = parse_channel(&id)?;
    match save_channel_email(req, &session, id, &form).await {
        Ok(()) => Ok(Redirect::see_other(format!("/channels/{id}#email")).into_response()),
        // Refusals of what was typed come back on the page, as typed.
        Err(
            refused @ (WebError::BadInput(_) | WebError::Service(ServiceError::Invalid { .. })),
        ) if filled(&form.imap_host).is_some() => {
            let security =
                crate::domain::channel::ImapSecurity::parse("imap.security", &form.imap_security)
                    .unwrap_or(crate::domain::channel::ImapSecurity::Tls);
            let typed = RefusedEmailForm {
                imap: crate::service::ShownImap {
                    host: form.imap_host.trim().to_owned(),
                    // An empty port was the default one, as saving reads it.
                    port: form
                        .imap_port
                        .trim()
                        .parse()
                        .unwrap_or_else(|_| default_imap_port(security)),
                    security,
                    username: form.imap_username.trim().to_owned(),
                    password_set: false,
                    folder: form.imap_folder.trim().to_owned(),
                    move_to: filled(&form.imap_move_to),
                },
                error: match &refused {
                    WebError::Service(e) => crate::http::web::session::in_words(e),
                    other => other.to_string(),
                },
            };
            let mut page = render_channel(req, &session, id, Some(Refused::Email(typed)))?;
            page.set_status(poem::http::StatusCode::UNPROCESSABLE_ENTITY);
            Ok(page)
        }
        Err(other) => Err(other),
    }
}

async fn save_channel_email(
    req: &Request,
    session: &crate::service::Session,
    id: ChannelId,
    form: &ChannelEmailForm,
) -> Result<(), WebError> {
    let imap = match filled(&form.imap_host) {
        None => None,
        Some(host) => {
            let security =
                crate::domain::channel::ImapSecurity::parse("imap.security", &form.imap_security)?;
            let port = match filled(&form.imap_port) {
                Some(p) => p
                    .parse()
                    .map_err(|_| WebError::BadInput(format!("'{p}' is not a port number")))?,
                None => default_imap_port(security),
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
        satisfaction: Some(checked(&form.satisfaction)),
        trust_spam_headers: Some(checked(&form.trust_spam_headers)),
        imap: Some(imap),
        ..Default::default()
    };
    app(req)
        .service
        .update_channel(&session.user, id, change)
        .await?;
    Ok(())
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

/// The IMAP port when none is given: 993 for TLS, else 143.
fn default_imap_port(security: crate::domain::channel::ImapSecurity) -> u16 {
    match security {
        crate::domain::channel::ImapSecurity::Tls => 993,
        _ => 143,
    }
}
