use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::json_body::JsonBody;
use super::types::{
    ActivityView, CaseView, CustomerWire, DeviceWire, DirectionWire, PriorityWire, StatusWire,
    tri_state,
};
use super::{ApiTags, TokenAuth, state};
use crate::domain::case::{CaseDraft, CaseEdit, Source};
use crate::http::error::ApiError;
use crate::service::{AssigneeFilter, CaseChange, CaseQuery, NewMessage, View};

pub struct CasesApi;

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct NewCaseBody {
    /// The channel's id.
    channel: u64,
    subject: String,
    description: Option<String>,
    priority: Option<PriorityWire>,
    deadline: Option<DateTime<Utc>>,
    category: Option<String>,
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    case_type: Option<String>,
    important: Option<bool>,
    customer: Option<CustomerWire>,
    device: Option<DeviceWire>,
    /// External conversation reference.
    thread: Option<String>,
}

/// Fields to change; omitted fields stay, `null` clears a clearable one.
#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct CasePatchBody {
    subject: Option<String>,
    description: Option<String>,
    #[oai(rename = "type")]
    #[serde(rename = "type", default)]
    case_type: MaybeUndefined<String>,
    priority: Option<PriorityWire>,
    #[serde(default)]
    deadline: MaybeUndefined<DateTime<Utc>>,
    /// A resolved case only goes back to `open` (or use `/reopen`).
    status: Option<StatusWire>,
    /// A username, or `null` to unassign.
    #[serde(default)]
    assignee: MaybeUndefined<String>,
    #[serde(default)]
    category: MaybeUndefined<String>,
    important: Option<bool>,
    #[serde(default)]
    customer: MaybeUndefined<CustomerWire>,
    #[serde(default)]
    device: MaybeUndefined<DeviceWire>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    /// The note's text (internal: never sent to the customer).
    body: String,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    body: String,
    /// `outbound` (to the customer) when omitted.
    direction: Option<DirectionWire>,
    /// Who wrote it, when not the user recording it.
    from: Option<String>,
}

#[derive(Debug, Object)]
struct CaseList {
    items: Vec<CaseView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<String>,
}

#[derive(ApiResponse)]
enum CaseCreated {
    /// Created; the body is the new record.
    #[oai(status = 201)]
    Created(Json<CaseView>),
}

#[derive(ApiResponse)]
enum EventCreated {
    /// Created; the body is the new record.
    #[oai(status = 201)]
    Created(Json<ActivityView>),
}

#[OpenApi(tag = "ApiTags::Cases")]
impl CasesApi {
    /// Open a case in a channel.
    #[oai(path = "/cases", method = "post")]
    async fn create(
        &self,
        req: &Request,
        auth: TokenAuth,
        body: JsonBody<NewCaseBody>,
    ) -> Result<CaseCreated, ApiError> {
        let b = body.0;
        let draft = CaseDraft {
            subject: b.subject,
            description: b.description.unwrap_or_default(),
            priority: b.priority.map(Into::into),
            deadline: b.deadline,
            category: b.category,
            case_type: b.case_type,
            important: b.important.unwrap_or(false),
            source: None,
            customer: b.customer.map(Into::into),
            device: b.device.map(Into::into),
            thread: b.thread,
        };
        let case = state(req)
            .service
            .create_case(&auth.0, b.channel, draft, Source::Api)
            .await?;
        Ok(CaseCreated::Created(Json(case.into())))
    }

    /// List cases the user may see, newest first.
    ///
    /// `view=open` (the default) lists unresolved cases: open, in progress and
    /// waiting for customer; `closed` resolved ones; `all` both; `archived`
    /// archived ones.
    #[oai(path = "/cases", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        req: &Request,
        auth: TokenAuth,
        view: Query<Option<String>>,
        /// A channel id; repeat for several.
        channel: Query<Vec<u64>>,
        status: Query<Option<StatusWire>>,
        /// A username, `me` or `none`.
        assignee: Query<Option<String>>,
        limit: Query<Option<usize>>,
        cursor: Query<Option<String>>,
    ) -> Result<Json<CaseList>, ApiError> {
        let query = CaseQuery {
            view: view
                .0
                .as_deref()
                .map(View::parse)
                .transpose()?
                .unwrap_or_default(),
            channels: channel.0,
            status: status.0.map(Into::into),
            assignee: assignee.0.as_deref().map(AssigneeFilter::parse),
            limit: limit.0,
            cursor: cursor.0,
        };
        let page = state(req).service.list_cases(&auth.0, &query)?;
        Ok(Json(CaseList {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor: page.next_cursor,
        }))
    }

    /// One case.
    #[oai(path = "/cases/:number", method = "get")]
    async fn get(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
    ) -> Result<Json<CaseView>, ApiError> {
        Ok(Json(state(req).service.get_case(&auth.0, number.0)?.into()))
    }

    /// Change fields, status and assignee.
    #[oai(path = "/cases/:number", method = "patch")]
    async fn update(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
        body: JsonBody<CasePatchBody>,
    ) -> Result<Json<CaseView>, ApiError> {
        let b = body.0;
        let change = CaseChange {
            edit: CaseEdit {
                subject: b.subject,
                description: b.description,
                case_type: tri_state(b.case_type, |t| t),
                priority: b.priority.map(Into::into),
                deadline: tri_state(b.deadline, |d| d),
                category: tri_state(b.category, |c| c),
                important: b.important,
                customer: tri_state(b.customer, Into::into),
                device: tri_state(b.device, Into::into),
            },
            status: b.status.map(Into::into),
            assignee: tri_state(b.assignee, |a| a),
            unchanged_since: None,
        };
        Ok(Json(
            state(req)
                .service
                .update_case(&auth.0, number.0, change)
                .await?
                .into(),
        ))
    }

    /// Resolve the case.
    #[oai(path = "/cases/:number/close", method = "post")]
    async fn close(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
    ) -> Result<Json<CaseView>, ApiError> {
        Ok(Json(
            state(req)
                .service
                .close_case(&auth.0, number.0)
                .await?
                .into(),
        ))
    }

    /// Reopen a resolved case.
    #[oai(path = "/cases/:number/reopen", method = "post")]
    async fn reopen(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
    ) -> Result<Json<CaseView>, ApiError> {
        Ok(Json(
            state(req)
                .service
                .reopen_case(&auth.0, number.0)
                .await?
                .into(),
        ))
    }

    /// Archive a resolved case.
    #[oai(path = "/cases/:number/archive", method = "post")]
    async fn archive(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
    ) -> Result<Json<CaseView>, ApiError> {
        Ok(Json(
            state(req)
                .service
                .archive_case(&auth.0, number.0)
                .await?
                .into(),
        ))
    }

    /// Take a case out of the archive.
    #[oai(path = "/cases/:number/unarchive", method = "post")]
    async fn unarchive(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
    ) -> Result<Json<CaseView>, ApiError> {
        Ok(Json(
            state(req)
                .service
                .unarchive_case(&auth.0, number.0)
                .await?
                .into(),
        ))
    }

    /// The case's activity stream, oldest first.
    #[oai(path = "/cases/:number/activity", method = "get")]
    async fn activity(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
    ) -> Result<Json<Vec<ActivityView>>, ApiError> {
        let events = state(req).service.activity(&auth.0, number.0)?;
        Ok(Json(events.into_iter().map(Into::into).collect()))
    }

    /// Add an internal note.
    #[oai(path = "/cases/:number/notes", method = "post")]
    async fn add_note(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
        body: JsonBody<NoteBody>,
    ) -> Result<EventCreated, ApiError> {
        let event = state(req)
            .service
            .add_note(&auth.0, number.0, &body.0.body)
            .await?;
        Ok(EventCreated::Created(Json(event.into())))
    }

    /// Record a message of the conversation (e.g. a phone call's content).
    /// An inbound message reopens a resolved case.
    #[oai(path = "/cases/:number/messages", method = "post")]
    async fn add_message(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
        body: JsonBody<MessageBody>,
    ) -> Result<EventCreated, ApiError> {
        let b = body.0;
        let message = NewMessage {
            direction: b
                .direction
                .map(Into::into)
                .unwrap_or(crate::domain::activity::Direction::Outbound),
            from: b.from,
            body: b.body,
        };
        let event = state(req)
            .service
            .add_message(&auth.0, number.0, message)
            .await?;
        Ok(EventCreated::Created(Json(event.into())))
    }
}
