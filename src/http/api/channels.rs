use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::json_body::JsonBody;
use super::types::{ChannelView, MemberRoleWire, tri_state};
use super::{ApiTags, TokenAuth, state};
use crate::domain::access;
use crate::domain::channel::{Channel, ChannelSettings};
use crate::domain::user::User;
use crate::http::error::ApiError;
use crate::service::{ChannelChange, NewChannel};

#[derive(Default)]
pub struct ChannelsApi;

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    time_tracking: Option<bool>,
    /// For time-sensitive channels; `null` for none.
    #[serde(default)]
    reply_window_hours: MaybeUndefined<u32>,
    /// An https:// Slack incoming-webhook URL; `null` for none.
    #[serde(default)]
    slack_webhook_url: MaybeUndefined<String>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct NewChannelBody {
    name: String,
    email_address: Option<String>,
    settings: Option<SettingsBody>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct ChannelPatchBody {
    name: Option<String>,
    #[serde(default)]
    email_address: MaybeUndefined<String>,
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

fn view(user: &User, channel: Channel) -> ChannelView {
    let manages = access::can_manage_channel(user, &channel);
    ChannelView::new(channel, manages)
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
        Ok(Json(
            channels.into_iter().map(|c| view(&auth.0, c)).collect(),
        ))
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
        if let Some(s) = body.settings {
            settings.time_tracking = s.time_tracking.unwrap_or(false);
            settings.reply_window_hours = s.reply_window_hours.take();
            settings.slack_webhook_url = s.slack_webhook_url.take();
        }
        let new = NewChannel {
            name: body.name,
            email_address: body.email_address,
            settings,
        };
        let channel = state(req).service.create_channel(&auth.0, new).await?;
        Ok(ChannelCreated::Created(Json(view(&auth.0, channel))))
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
        Ok(Json(view(&auth.0, channel)))
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
        }
        let channel = state(req)
            .service
            .update_channel(&auth.0, id.0, change)
            .await?;
        Ok(Json(view(&auth.0, channel)))
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
        Ok(Json(view(&auth.0, channel)))
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
