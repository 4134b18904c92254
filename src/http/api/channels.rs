use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::json_body::JsonBody;
use super::types::{CalendarWire, ChannelView, ImapSecurityWire, MemberRoleWire, tri_state};
use super::{ApiTags, TokenAuth, state};
use crate::domain::channel::ChannelSettings;
use crate::http::error::ApiError;
use crate::service::{ChannelChange, NewChannel};

#[derive(Default)]
pub struct ChannelsApi;

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    #[oai(nullable)]
    time_tracking: Option<bool>,
    /// For time-sensitive channels; `null` for none.
    #[serde(default)]
    reply_window_hours: MaybeUndefined<u32>,
    /// An https:// Slack incoming-webhook URL; `null` for none.
    #[serde(default)]
    slack_webhook_url: MaybeUndefined<String>,
    /// Agents may send updates from their own address.
    #[oai(nullable)]
    personal_from: Option<bool>,
    /// Confirm new cases from email to their sender.
    #[oai(nullable)]
    auto_acknowledge: Option<bool>,
    /// Ask the customer to rate the answer (good or bad, by a signed link)
    /// when a person resolves a case. Needs the channel's email address
    /// and `notify.public_url`.
    #[oai(nullable)]
    satisfaction: Option<bool>,
    /// Believe the spam verdict in mail headers (`X-Spam-Flag: YES`,
    /// `X-Spam-Status: Yes`, `X-Spam: Yes`): mail so marked goes to the
    /// spam category. Default: on (right behind your own filtering MTA).
    #[oai(nullable)]
    trust_spam_headers: Option<bool>,
    /// IMAP intake; `null` turns it off.
    #[serde(default)]
    imap: MaybeUndefined<ImapBody>,
    /// Meta, phone and widget connections. Secrets are write-only: leave
    /// one out to keep the stored value.
    #[oai(nullable)]
    integrations: Option<IntegrationsBody>,
    /// Business hours, for service targets counted in them; `null`
    /// removes them. Changing them moves the due times of open milestones.
    #[serde(default)]
    calendar: MaybeUndefined<CalendarWire>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct IntegrationsBody {
    /// Instagram and Facebook; `null` removes it.
    #[serde(default)]
    meta: MaybeUndefined<MetaBody>,
    /// Phone calls (Twilio-compatible callbacks); `null` removes it.
    #[serde(default)]
    phone: MaybeUndefined<PhoneBody>,
    /// The chat widget; `null` removes it.
    #[serde(default)]
    widget: MaybeUndefined<WidgetBody>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct MetaBody {
    /// The Meta app's secret, which signs deliveries.
    #[oai(nullable)]
    app_secret: Option<String>,
    /// The token the subscription handshake must echo.
    #[oai(nullable)]
    verify_token: Option<String>,
    /// The page token replies are sent with.
    #[oai(nullable)]
    page_access_token: Option<String>,
    /// Default: Meta's Graph API. Must be on the outbound allow-list.
    #[oai(nullable)]
    api_base: Option<String>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct PhoneBody {
    /// The provider's auth token, which signs callbacks.
    #[oai(nullable)]
    auth_token: Option<String>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct WidgetBody {
    /// Origins of the pages that may embed the widget.
    allowed_origins: Vec<String>,
    /// The language model answers visitors first (needs `[llm]`); each
    /// chat is then a case in progress by the AI agent until it hands
    /// over. Left out: unchanged.
    #[oai(nullable)]
    model_answers: Option<bool>,
    /// What the model should know when answering (opening hours,
    /// policies), at most 4,000 characters. Left out: unchanged.
    #[oai(nullable)]
    model_instructions: Option<String>,
}

impl From<IntegrationsBody> for crate::service::IntegrationsChange {
    fn from(b: IntegrationsBody) -> Self {
        crate::service::IntegrationsChange {
            meta: tri_state(b.meta, |m| crate::service::MetaChange {
                app_secret: m.app_secret,
                verify_token: m.verify_token,
                page_access_token: m.page_access_token,
                api_base: m.api_base,
            }),
            phone: tri_state(b.phone, |p| crate::service::PhoneChange {
                auth_token: p.auth_token,
            }),
            widget: tri_state(b.widget, |w| crate::service::WidgetChange {
                allowed_origins: w.allowed_origins,
                model_answers: w.model_answers,
                model_instructions: w.model_instructions,
            }),
        }
    }
}

/// Where a channel fetches mail from.
#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct ImapBody {
    host: String,
    /// Default: 993 for `tls`, 143 otherwise.
    #[oai(nullable)]
    port: Option<u16>,
    security: ImapSecurityWire,
    username: String,
    /// Write-only. Leave out to keep the stored one.
    #[oai(nullable)]
    password: Option<String>,
    /// Default `INBOX`.
    #[oai(nullable)]
    folder: Option<String>,
    /// Move taken-in messages to this folder instead of marking them seen.
    #[oai(nullable)]
    move_to: Option<String>,
}

impl From<ImapBody> for crate::service::ImapChange {
    fn from(b: ImapBody) -> Self {
        let security: crate::domain::channel::ImapSecurity = b.security.into();
        crate::service::ImapChange {
            port: b.port.unwrap_or(match security {
                crate::domain::channel::ImapSecurity::Tls => 993,
                _ => 143,
            }),
            host: b.host,
            security,
            username: b.username,
            password: b.password,
            folder: b.folder.unwrap_or_else(|| "INBOX".into()),
            move_to: b.move_to,
        }
    }
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct NewChannelBody {
    name: String,
    #[oai(nullable)]
    email_address: Option<String>,
    #[oai(nullable)]
    settings: Option<SettingsBody>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct ChannelPatchBody {
    #[oai(nullable)]
    name: Option<String>,
    #[serde(default)]
    email_address: MaybeUndefined<String>,
    #[oai(nullable)]
    settings: Option<SettingsBody>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct MemberBody {
    role: MemberRoleWire,
}

#[derive(ApiResponse)]
enum ChannelCreated {
    /// Created; the body is the new record.
    #[oai(status = 201)]
    Created(Json<ChannelView>),
}

#[derive(ApiResponse)]
enum MemberRemoved {
    #[oai(status = 204)]
    Done,
}

#[OpenApi(tag = "ApiTags::Channels")]
impl ChannelsApi {
    /// The channels the user belongs to (every channel for administrators).
    #[oai(path = "/channels", method = "get")]
    async fn list(
        &self,
        req: &Request,
        auth: TokenAuth,
    ) -> Result<Json<Vec<ChannelView>>, ApiError> {
        let channels = state(req).service.list_channels(&auth.0)?;
        Ok(Json(channels.into_iter().map(ChannelView::new).collect()))
    }

    /// Create a channel (administrators).
    #[oai(path = "/channels", method = "post")]
    async fn create(
        &self,
        req: &Request,
        auth: TokenAuth,
        body: JsonBody<NewChannelBody>,
    ) -> Result<ChannelCreated, ApiError> {
        let body = body.0;
        let mut settings = ChannelSettings::default();
        let mut imap = None;
        let mut integrations = crate::service::IntegrationsChange::default();
        if let Some(s) = body.settings {
            settings.time_tracking = s.time_tracking.unwrap_or(false);
            settings.reply_window_hours = s.reply_window_hours.take();
            settings.slack_webhook_url = s.slack_webhook_url.take();
            settings.calendar = s.calendar.take().map(Into::into);
            settings.personal_from = s.personal_from.unwrap_or(false);
            settings.auto_acknowledge = s.auto_acknowledge.unwrap_or(false);
            settings.satisfaction = s.satisfaction.unwrap_or(false);
            settings.trust_spam_headers = s.trust_spam_headers.unwrap_or(true);
            imap = s.imap.take().map(Into::into);
            integrations = s.integrations.map(Into::into).unwrap_or_default();
        }
        let new = NewChannel {
            name: body.name,
            email_address: body.email_address,
            settings,
            imap,
            integrations,
        };
        let channel = state(req).service.create_channel(&auth.0, new).await?;
        Ok(ChannelCreated::Created(Json(ChannelView::new(channel))))
    }

    /// One channel.
    #[oai(path = "/channels/:id", method = "get")]
    async fn get(
        &self,
        req: &Request,
        auth: TokenAuth,
        id: Path<u64>,
    ) -> Result<Json<ChannelView>, ApiError> {
        let channel = state(req).service.get_channel(&auth.0, id.0)?;
        Ok(Json(ChannelView::new(channel)))
    }

    /// Change a channel's name, address or settings (managers and administrators).
    #[oai(path = "/channels/:id", method = "patch")]
    async fn update(
        &self,
        req: &Request,
        auth: TokenAuth,
        id: Path<u64>,
        body: JsonBody<ChannelPatchBody>,
    ) -> Result<Json<ChannelView>, ApiError> {
        let body = body.0;
        let mut change = ChannelChange {
            name: body.name,
            email_address: tri_state(body.email_address, |e| e),
            ..Default::default()
        };
        if let Some(s) = body.settings {
            change.time_tracking = s.time_tracking;
            change.reply_window_hours = tri_state(s.reply_window_hours, |h| h);
            change.slack_webhook_url = tri_state(s.slack_webhook_url, |u| u);
            change.personal_from = s.personal_from;
            change.auto_acknowledge = s.auto_acknowledge;
            change.satisfaction = s.satisfaction;
            change.trust_spam_headers = s.trust_spam_headers;
            change.imap = tri_state(s.imap, Into::into);
            change.calendar = tri_state(s.calendar, Into::into);
            change.integrations = s.integrations.map(Into::into).unwrap_or_default();
        }
        let channel = state(req)
            .service
            .update_channel(&auth.0, id.0, change)
            .await?;
        Ok(Json(ChannelView::new(channel)))
    }

    /// Add a member or change their role (managers and administrators).
    #[oai(path = "/channels/:id/members/:username", method = "put")]
    async fn put_member(
        &self,
        req: &Request,
        auth: TokenAuth,
        id: Path<u64>,
        username: Path<String>,
        body: JsonBody<MemberBody>,
    ) -> Result<Json<ChannelView>, ApiError> {
        let channel = state(req)
            .service
            .put_member(&auth.0, id.0, &username.0, body.0.role.into())
            .await?;
        Ok(Json(ChannelView::new(channel)))
    }

    /// Remove a member (managers and administrators).
    #[oai(path = "/channels/:id/members/:username", method = "delete")]
    async fn remove_member(
        &self,
        req: &Request,
        auth: TokenAuth,
        id: Path<u64>,
        username: Path<String>,
    ) -> Result<MemberRemoved, ApiError> {
        state(req)
            .service
            .remove_member(&auth.0, id.0, &username.0)
            .await?;
        Ok(MemberRemoved::Done)
    }
}
