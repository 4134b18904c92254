//! Saved replies: reply templates per channel, kept by its managers and
//! administrators, used by its agents (filled in for a case).

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::json_body::JsonBody;
use super::{ApiTags, TokenAuth, state};
use crate::domain::saved_reply::{BODY_MAX, NAME_MAX, SavedReply};
use crate::http::error::ApiError;
use crate::service::FilledReply;

#[derive(Default)]
pub struct SavedRepliesApi;

#[derive(Debug, Object)]
struct SavedReplyView {
    id: u64,
    channel: u64,
    /// What agents type after `/` or `#` in the composer to find it.
    name: String,
    /// The text with its placeholders: `{{customer.name}}`,
    /// `{{customer.email}}`, `{{case.number}}`, `{{case.subject}}`,
    /// `{{agent.name}}`, `{{agent.email}}`, `{{channel.name}}`.
    body: String,
    updated_at: DateTime<Utc>,
    updated_by: String,
}

impl From<SavedReply> for SavedReplyView {
    fn from(r: SavedReply) -> Self {
        SavedReplyView {
            id: r.id,
            channel: r.channel,
            name: r.name,
            body: r.body,
            updated_at: r.updated_at,
            updated_by: r.updated_by,
        }
    }
}

/// A saved reply filled in for one case and the agent asking.
#[derive(Debug, Object)]
struct FilledReplyView {
    id: u64,
    name: String,
    text: String,
}

impl From<FilledReply> for FilledReplyView {
    fn from(r: FilledReply) -> Self {
        FilledReplyView {
            id: r.id,
            name: r.name,
            text: r.text,
        }
    }
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct NewSavedReplyBody {
    channel: u64,
    #[oai(validator(min_length = 1, max_length = 100))]
    name: String,
    #[oai(validator(min_length = 1, max_length = 20000))]
    body: String,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct SavedReplyPatchBody {
    #[oai(validator(min_length = 1, max_length = 100))]
    #[oai(nullable)]
    name: Option<String>,
    #[oai(validator(min_length = 1, max_length = 20000))]
    #[oai(nullable)]
    body: Option<String>,
}

// The limits the schema states are the domain's.
const _: () = assert!(NAME_MAX == 100 && BODY_MAX == 20_000);

#[derive(ApiResponse)]
enum SavedReplyCreated {
    #[oai(status = 201)]
    Created(Json<SavedReplyView>),
}

#[derive(ApiResponse)]
enum Deleted {
    #[oai(status = 204)]
    NoContent,
}

#[OpenApi(tag = "ApiTags::Cases")]
impl SavedRepliesApi {
    /// The saved replies of the channels the user works in (of one channel
    /// with `channel`), by name.
    #[oai(path = "/saved-replies", method = "get")]
    async fn list(
        &self,
        req: &Request,
        auth: TokenAuth,
        channel: Query<Option<u64>>,
    ) -> Result<Json<Vec<SavedReplyView>>, ApiError> {
        let replies = state(req).service.list_saved_replies(&auth.0, channel.0)?;
        Ok(Json(replies.into_iter().map(Into::into).collect()))
    }

    /// Add a saved reply to a channel (its managers and administrators).
    #[oai(path = "/saved-replies", method = "post")]
    async fn create(
        &self,
        req: &Request,
        auth: TokenAuth,
        body: JsonBody<NewSavedReplyBody>,
    ) -> Result<SavedReplyCreated, ApiError> {
        let b = body.0;
        let reply = state(req)
            .service
            .create_saved_reply(&auth.0, b.channel, &b.name, &b.body)
            .await?;
        Ok(SavedReplyCreated::Created(Json(reply.into())))
    }

    /// One saved reply.
    #[oai(path = "/saved-replies/:id", method = "get")]
    async fn get(
        &self,
        req: &Request,
        auth: TokenAuth,
        id: Path<u64>,
    ) -> Result<Json<SavedReplyView>, ApiError> {
        Ok(Json(
            state(req).service.get_saved_reply(&auth.0, id.0)?.into(),
        ))
    }

    /// Change a saved reply's name or text (managers of its channel and
    /// administrators).
    #[oai(path = "/saved-replies/:id", method = "patch")]
    async fn update(
        &self,
        req: &Request,
        auth: TokenAuth,
        id: Path<u64>,
        body: JsonBody<SavedReplyPatchBody>,
    ) -> Result<Json<SavedReplyView>, ApiError> {
        let b = body.0;
        let reply = state(req)
            .service
            .update_saved_reply(&auth.0, id.0, b.name, b.body)
            .await?;
        Ok(Json(reply.into()))
    }

    /// Delete a saved reply (managers of its channel and administrators).
    #[oai(path = "/saved-replies/:id", method = "delete")]
    async fn delete(
        &self,
        req: &Request,
        auth: TokenAuth,
        id: Path<u64>,
    ) -> Result<Deleted, ApiError> {
        state(req).service.delete_saved_reply(&auth.0, id.0).await?;
        Ok(Deleted::NoContent)
    }

    /// The saved replies of a case's channel, filled in for the case and
    /// the user asking (agents of the channel).
    #[oai(path = "/cases/:number/saved-replies", method = "get")]
    async fn for_case(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
    ) -> Result<Json<Vec<FilledReplyView>>, ApiError> {
        let replies = state(req)
            .service
            .saved_replies_for_case(&auth.0, number.0)?;
        Ok(Json(replies.into_iter().map(Into::into).collect()))
    }
}
