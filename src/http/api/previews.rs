//! What a merge, a split, a move or a close-as-duplicate would do, before
//! it is done: the same body as the action, sent to its `/preview`,
//! changes nothing and answers with the cases involved, or with the error
//! the action would give.

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;

use super::bulk::{MergeBody, SplitBody};
use super::json_body::JsonBody;
use super::types::StatusWire;
use super::{ApiTags, TokenAuth, state};
use crate::http::error::ApiError;
use crate::service::{CaseSummary, DuplicatePreview, MergePreview, MessageSummary, SplitPreview};

#[derive(Default)]
pub struct PreviewsApi;

/// One case as a preview names it.
#[derive(Debug, Object)]
struct CaseSummaryView {
    number: u64,
    subject: String,
    status: StatusWire,
    /// The channel's name.
    channel: String,
    /// The customer's name, else their address or phone.
    #[oai(nullable)]
    customer: Option<String>,
    #[oai(nullable)]
    assignee: Option<String>,
    /// Messages on the case.
    messages: u32,
    /// Internal notes on the case.
    notes: u32,
    /// Files on the case.
    files: u32,
    /// Time logged on the case, in minutes.
    time_minutes: u32,
}

impl From<CaseSummary> for CaseSummaryView {
    fn from(s: CaseSummary) -> Self {
        CaseSummaryView {
            number: s.number,
            subject: s.subject,
            status: s.status.into(),
            channel: s.channel,
            customer: s.customer,
            assignee: s.assignee,
            messages: s.messages,
            notes: s.notes,
            files: s.files,
            time_minutes: s.time_minutes,
        }
    }
}

/// What merging would do: every source's messages, notes and time move to
/// the target, and each source not yet resolved is resolved.
#[derive(Debug, Object)]
struct MergePreviewView {
    target: CaseSummaryView,
    sources: Vec<CaseSummaryView>,
}

impl From<MergePreview> for MergePreviewView {
    fn from(p: MergePreview) -> Self {
        MergePreviewView {
            target: p.target.into(),
            sources: p.sources.into_iter().map(Into::into).collect(),
        }
    }
}

/// The message a split or a move would take.
#[derive(Debug, Object)]
struct MessageSummaryView {
    /// Its `seq` in the case's activity.
    seq: u64,
    /// The sender's address, or the agent who sent it.
    from: String,
    at: chrono::DateTime<chrono::Utc>,
    /// Its first 200 characters, on one line.
    excerpt: String,
    /// Files it carries, which go with it.
    files: u32,
}

impl From<MessageSummary> for MessageSummaryView {
    fn from(m: MessageSummary) -> Self {
        MessageSummaryView {
            seq: m.seq,
            from: m.from,
            at: m.at,
            excerpt: m.excerpt,
            files: m.files,
        }
    }
}

/// What a split or a move would do.
#[derive(Debug, Object)]
struct SplitPreviewView {
    /// The case the message leaves.
    from: CaseSummaryView,
    message: MessageSummaryView,
    /// The case it would move to; absent when it would open a new case.
    #[oai(nullable)]
    to: Option<CaseSummaryView>,
    /// The new case's subject, when it would open one.
    #[oai(nullable)]
    new_subject: Option<String>,
}

impl From<SplitPreview> for SplitPreviewView {
    fn from(p: SplitPreview) -> Self {
        SplitPreviewView {
            from: p.from.into(),
            message: p.message.into(),
            to: p.to.map(Into::into),
            new_subject: p.new_subject,
        }
    }
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct DuplicateBody {
    /// The case this one duplicates.
    duplicate_of: u64,
}

/// What closing as a duplicate would do: the case is resolved and linked
/// to the original, which stays as it is.
#[derive(Debug, Object)]
struct DuplicatePreviewView {
    case: CaseSummaryView,
    original: CaseSummaryView,
    /// The two are linked as related now; that link would become the
    /// duplicate link.
    replaces_related_link: bool,
}

impl From<DuplicatePreview> for DuplicatePreviewView {
    fn from(p: DuplicatePreview) -> Self {
        DuplicatePreviewView {
            case: p.case.into(),
            original: p.original.into(),
            replaces_related_link: p.replaces_related_link,
        }
    }
}

#[OpenApi(tag = "ApiTags::Cases")]
impl PreviewsApi {
    /// What `merge` with the same body would do; changes nothing.
    #[oai(path = "/cases/:number/merge/preview", method = "post")]
    async fn merge_preview(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
        body: JsonBody<MergeBody>,
    ) -> Result<Json<MergePreviewView>, ApiError> {
        let preview = state(req)
            .service
            .preview_merge(&auth.0, number.0, &body.0.sources)?;
        Ok(Json(preview.into()))
    }

    /// What `split` with the same body would do; changes nothing.
    #[oai(path = "/cases/:number/split/preview", method = "post")]
    async fn split_preview(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
        body: JsonBody<SplitBody>,
    ) -> Result<Json<SplitPreviewView>, ApiError> {
        let preview =
            state(req)
                .service
                .preview_split(&auth.0, number.0, body.0.event, body.0.to)?;
        Ok(Json(preview.into()))
    }

    /// What `close` with `duplicate_of` would do; changes nothing.
    #[oai(path = "/cases/:number/duplicate/preview", method = "post")]
    async fn duplicate_preview(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
        body: JsonBody<DuplicateBody>,
    ) -> Result<Json<DuplicatePreviewView>, ApiError> {
        let preview =
            state(req)
                .service
                .preview_duplicate(&auth.0, number.0, body.0.duplicate_of)?;
        Ok(Json(preview.into()))
    }
}
