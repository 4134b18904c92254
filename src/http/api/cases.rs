use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::{Deserialize, Serialize};

use super::filters::CaseFilters;
use super::json_body::{JsonBody, MaybeJsonBody};
use super::json_reply::JsonReply;
use super::types::{
    ActivityView, CaseView, CustomerWire, DeviceWire, DirectionWire, PriorityWire, SourceWire,
    StatusWire, tri_state,
};
use super::{ApiTags, TokenAuth, state};
use crate::domain::activity::ActivityFilter;
use crate::domain::case::{CaseDraft, CaseEdit, Source};
use crate::domain::link::LinkKind;
use crate::http::error::ApiError;
use crate::service::{CaseChange, CaseQuery, NewMessage, ServiceError};

#[derive(Default)]
pub struct CasesApi;

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct NewCaseBody {
    /// The channel's id.
    channel: u64,
    subject: String,
    #[oai(nullable)]
    description: Option<String>,
    #[oai(nullable)]
    priority: Option<PriorityWire>,
    #[oai(nullable)]
    deadline: Option<DateTime<Utc>>,
    #[oai(nullable)]
    category: Option<String>,
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    #[oai(nullable)]
    case_type: Option<String>,
    #[oai(nullable)]
    important: Option<bool>,
    #[oai(nullable)]
    customer: Option<CustomerWire>,
    #[oai(nullable)]
    device: Option<DeviceWire>,
    /// External conversation reference.
    #[oai(nullable)]
    thread: Option<String>,
    /// Values of the profile fields of the case's `type` (see
    /// `GET /api/v1/profiles`).
    #[oai(nullable)]
    profile: Option<BTreeMap<String, serde_json::Value>>,
}

/// Fields to change; omitted fields stay, `null` clears a clearable one.
#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct CasePatchBody {
    #[oai(nullable)]
    subject: Option<String>,
    #[oai(nullable)]
    description: Option<String>,
    #[oai(rename = "type")]
    #[serde(rename = "type", default)]
    case_type: MaybeUndefined<String>,
    #[oai(nullable)]
    priority: Option<PriorityWire>,
    #[serde(default)]
    deadline: MaybeUndefined<DateTime<Utc>>,
    /// A resolved case only goes back to `open` (or use `/reopen`).
    #[oai(nullable)]
    status: Option<StatusWire>,
    /// A username, or `null` to unassign.
    #[serde(default)]
    assignee: MaybeUndefined<String>,
    #[serde(default)]
    category: MaybeUndefined<String>,
    #[oai(nullable)]
    important: Option<bool>,
    #[serde(default)]
    customer: MaybeUndefined<CustomerWire>,
    #[serde(default)]
    device: MaybeUndefined<DeviceWire>,
    /// Estimated work (`"4h"`, `"2d"`); `null` clears it. Channel managers
    /// only.
    #[serde(default)]
    estimate: MaybeUndefined<String>,
    /// Profile values to set, by field name; `null` clears one. Changing
    /// `type` checks the values against the new type's profile.
    #[oai(nullable)]
    profile: Option<BTreeMap<String, serde_json::Value>>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    /// Close as a duplicate of this case.
    #[oai(nullable)]
    duplicate_of: Option<u64>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    /// `related`, `parent` (the target is this case's parent) or `child`.
    kind: String,
    target: u64,
}

#[derive(Debug, Object)]
struct LinkedCaseView {
    /// What the linked case is to this one: `related`, `parent`, `child`,
    /// `duplicate_of` or `duplicate`.
    kind: String,
    target: u64,
    subject: String,
    status: StatusWire,
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
    #[oai(nullable)]
    direction: Option<DirectionWire>,
    /// Who wrote it, when not the user recording it.
    #[oai(nullable)]
    from: Option<String>,
}

/// A case in a list, with where a search matched it.
#[derive(Debug, Object, Serialize)]
struct ListedCaseView {
    #[oai(flatten)]
    #[serde(flatten)]
    case: CaseView,
    /// Where the words matched: HTML-escaped text with each match in
    /// `<b>...</b>`. Present for searches with `q`.
    #[oai(nullable)]
    snippet: Option<String>,
}

/// Matching cases per value, for the inbox sidebar.
#[derive(Debug, Object, Serialize)]
struct FacetsView {
    status: BTreeMap<String, u64>,
    /// Keyed by channel id.
    channel: BTreeMap<String, u64>,
    category: BTreeMap<String, u64>,
    assignee: BTreeMap<String, u64>,
}

#[derive(Debug, Object, Serialize)]
struct CaseList {
    items: Vec<ListedCaseView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[oai(nullable)]
    next_cursor: Option<String>,
    /// How many cases match in all (absent while the search index is first
    /// being built).
    #[oai(nullable)]
    total: Option<u64>,
    /// True when more than `total` cases match: exact counting stops at
    /// 10,000 (except with facets, which count all).
    total_capped: bool,
    /// Counts per status, channel, category and assignee of all matches.
    #[oai(nullable)]
    facets: Option<FacetsView>,
}

/// A time filter: RFC 3339, or a date (`2026-01-31`), which means the
/// start of that day for `_from` and its end for `_to`.
fn parse_time(
    field: &str,
    text: Option<String>,
    end_of_day: bool,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    if let Ok(at) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(Some(at.with_timezone(&Utc)));
    }
    let day = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        ApiError::from(ServiceError::invalid(
            field,
            format!("'{text}' is not a date (2026-01-31) or a time (2026-01-31T17:00:00Z)"),
        ))
    })?;
    let time = if end_of_day {
        chrono::NaiveTime::from_hms_opt(23, 59, 59).expect("a valid time")
    } else {
        chrono::NaiveTime::MIN
    };
    Ok(Some(day.and_time(time).and_utc()))
}

#[derive(ApiResponse)]
enum Deleted {
    /// Done; nothing to return.
    #[oai(status = 204)]
    NoContent,
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
            profile: b.profile.unwrap_or_default(),
        };
        let case = state(req)
            .service
            .create_case(&auth.0, b.channel, draft, Source::Api)
            .await?;
        Ok(CaseCreated::Created(Json(case.into())))
    }

    /// List and search the cases the user may see.
    ///
    /// Without `q` this is the inbox: `view=open` (the default) lists
    /// unresolved cases (open, in progress, waiting for customer), `closed`
    /// resolved ones, `all` both, `archived` archived ones, most recently
    /// updated first. With `q` the same filters apply and the best matches
    /// come first. Query syntax: words (all must match, typos tolerated),
    /// `"phrases"`, `-excluded`, `a OR b`, `prefix*`, `field:value` for
    /// `subject`, `from`, `status`, `channel`, `assignee`, `category`,
    /// `type`, `priority`, `creator` and `number`, and `before:`/`after:`
    /// dates (`after:2026-01-01`) on the creation date.
    #[oai(path = "/cases", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        req: &Request,
        auth: TokenAuth,
        /// Words to search for, in the syntax above.
        q: Query<Option<String>>,
        /// `relevance` (the default with `q`), `updated` (the default
        /// without), `created`, `priority`, `deadline` or `number`; a leading
        /// `-` sorts descending.
        sort: Query<Option<String>>,
        view: Query<Option<String>>,
        /// Repeat for several.
        status: Query<Vec<StatusWire>>,
        /// A channel id; repeat for several.
        channel: Query<Vec<u64>>,
        /// A username, `me` or `none`.
        assignee: Query<Option<String>>,
        /// Who opened the case.
        creator: Query<Option<String>>,
        category: Query<Option<String>>,
        #[oai(name = "type")] case_type: Query<Option<String>>,
        priority: Query<Option<PriorityWire>>,
        source: Query<Option<SourceWire>>,
        important: Query<Option<bool>>,
        created_from: Query<Option<String>>,
        created_to: Query<Option<String>>,
        updated_from: Query<Option<String>>,
        updated_to: Query<Option<String>>,
        closed_from: Query<Option<String>>,
        closed_to: Query<Option<String>>,
        deadline_before: Query<Option<String>>,
        /// `assigned_to_me`, `unassigned`, `created_by_me`, `updated_by_me`,
        /// `important`, `needs_attention` (unresolved and open for 3 days
        /// or more; configurable) or `time_sensitive` (the reply window of a
        /// channel that has one closes within 4 hours, configurable, and
        /// the customer's last message is unanswered).
        quick: Query<Option<String>>,
        limit: Query<Option<usize>>,
        cursor: Query<Option<String>>,
        /// Count matches per status, channel, category and assignee
        /// (default true).
        facets: Query<Option<bool>>,
    ) -> Result<JsonReply<CaseList>, ApiError> {
        let filters = CaseFilters {
            q: q.0,
            view: view.0,
            status: status.0,
            channel: channel.0,
            assignee: assignee.0,
            creator: creator.0,
            category: category.0,
            case_type: case_type.0,
            priority: priority.0,
            important: important.0,
            quick: quick.0,
        };
        let query = CaseQuery {
            sort: sort.0,
            source: source
                .0
                .map(|s| crate::domain::case::Source::from(s).as_str().to_owned()),
            created_from: parse_time("created_from", created_from.0, false)?,
            created_to: parse_time("created_to", created_to.0, true)?,
            updated_from: parse_time("updated_from", updated_from.0, false)?,
            updated_to: parse_time("updated_to", updated_to.0, true)?,
            closed_from: parse_time("closed_from", closed_from.0, false)?,
            closed_to: parse_time("closed_to", closed_to.0, true)?,
            deadline_before: parse_time("deadline_before", deadline_before.0, false)?,
            limit: limit.0,
            cursor: cursor.0,
            facets: facets.0.unwrap_or(true),
            ..filters.into_query()?
        };
        let page = state(req).service.list_cases(&auth.0, &query).await?;
        Ok(JsonReply(CaseList {
            items: page
                .items
                .into_iter()
                .map(|item| ListedCaseView {
                    case: item.case.into(),
                    snippet: item.snippet.map(|s| s.to_html()),
                })
                .collect(),
            next_cursor: page.next_cursor,
            total: page.total.map(|t| t as u64),
            total_capped: page.total_capped,
            facets: page.facets.map(|f| FacetsView {
                status: f.status,
                channel: f
                    .channel
                    .into_iter()
                    .map(|(id, n)| (id.to_string(), n))
                    .collect(),
                category: f.category,
                assignee: f.assignee,
            }),
        }))
    }

    /// One case. Opening it marks it read for the user.
    #[oai(path = "/cases/:number", method = "get")]
    async fn get(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
    ) -> Result<Json<CaseView>, ApiError> {
        let service = &state(req).service;
        let case = service.get_case(&auth.0, number.0)?;
        service.note_read(&auth.0, number.0);
        Ok(Json(case.into()))
    }

    /// Move a case to the trash (channel managers, administrators). It can
    /// be restored until it is purged (after `limits.trash_days`).
    #[oai(path = "/cases/:number", method = "delete")]
    async fn delete(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
    ) -> Result<Deleted, ApiError> {
        state(req).service.delete_case(&auth.0, number.0).await?;
        Ok(Deleted::NoContent)
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
            profile: b.profile,
            estimate: tri_state(b.estimate, |e| e),
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

    /// Resolve the case. With `{"duplicate_of": N}` it is closed as a
    /// duplicate of case N: both get a link and an activity event.
    #[oai(path = "/cases/:number/close", method = "post")]
    async fn close(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
        body: MaybeJsonBody<CloseBody>,
    ) -> Result<Json<CaseView>, ApiError> {
        let service = &state(req).service;
        let case = match body.0.and_then(|b| b.duplicate_of) {
            Some(original) => {
                service
                    .close_as_duplicate(&auth.0, number.0, original)
                    .await?
            }
            None => service.close_case(&auth.0, number.0).await?,
        };
        Ok(Json(case.into()))
    }

    /// The cases linked to this one (those you may see).
    #[oai(path = "/cases/:number/links", method = "get")]
    async fn links(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
    ) -> Result<Json<Vec<LinkedCaseView>>, ApiError> {
        let linked = state(req).service.linked_cases(&auth.0, number.0)?;
        Ok(Json(
            linked
                .into_iter()
                .map(|(link, case)| LinkedCaseView {
                    kind: link.kind.as_str().to_owned(),
                    target: link.target,
                    subject: case.subject,
                    status: case.status.into(),
                })
                .collect(),
        ))
    }

    /// Link another case: `kind` says what it is to this one (`related`,
    /// `parent` or `child`). Shown on both; parent/child cycles are refused.
    #[oai(path = "/cases/:number/links", method = "post")]
    async fn link(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
        body: JsonBody<LinkBody>,
    ) -> Result<Json<CaseView>, ApiError> {
        let b = body.0;
        let kind = LinkKind::parse(&b.kind).ok_or_else(|| {
            ApiError::from(ServiceError::invalid(
                "kind",
                format!(
                    "'{}' is not a link kind; use related, parent or child",
                    b.kind
                ),
            ))
        })?;
        let case = state(req)
            .service
            .link_cases(&auth.0, number.0, kind, b.target)
            .await?;
        Ok(Json(case.into()))
    }

    /// Remove the link to another case (from both).
    #[oai(path = "/cases/:number/links/:target", method = "delete")]
    async fn unlink(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
        target: Path<u64>,
    ) -> Result<Json<CaseView>, ApiError> {
        let case = state(req)
            .service
            .unlink_cases(&auth.0, number.0, target.0)
            .await?;
        Ok(Json(case.into()))
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

    /// The case's activity stream: messages, internal notes (with
    /// `body_html`, the Markdown rendered and sanitised) and system events
    /// with before and after.
    #[oai(path = "/cases/:number/activity", method = "get")]
    async fn activity(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
        /// `all` (default), `messages`, `notes` or `system`.
        filter: Query<Option<String>>,
        /// `oldest` (default) or `newest` first.
        order: Query<Option<String>>,
    ) -> Result<Json<Vec<ActivityView>>, ApiError> {
        let filter = match filter.0.as_deref() {
            None => ActivityFilter::All,
            Some(text) => ActivityFilter::parse(text).ok_or_else(|| {
                ApiError::from(ServiceError::invalid(
                    "filter",
                    format!("'{text}' is not a filter; use all, messages, notes or system"),
                ))
            })?,
        };
        let newest_first = match order.0.as_deref() {
            None | Some("oldest") => false,
            Some("newest") => true,
            Some(other) => {
                return Err(ServiceError::invalid(
                    "order",
                    format!("'{other}' is not an order; use oldest or newest"),
                )
                .into());
            }
        };
        let events = state(req)
            .service
            .activity_view(&auth.0, number.0, filter, newest_first)?;
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

#[cfg(test)]
mod tests {
    use poem_openapi::types::ToJSON;

    use super::*;
    use crate::http::api::types::{
        AiVerdictWire, CustomerWire, DeviceWire, PriorityWire, RatingView, SourceWire, StatusWire,
    };

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a time")
            .with_timezone(&Utc)
    }

    fn bare_case() -> CaseView {
        CaseView {
            number: 7,
            channel: 2,
            subject: "Printer \"jam\" — 3rd floor".into(),
            description: String::new(),
            status: StatusWire::WaitingForCustomer,
            archived: false,
            priority: PriorityWire::Normal,
            deadline: None,
            category: None,
            case_type: None,
            important: false,
            source: SourceWire::Email,
            assignee: None,
            customer: None,
            device: None,
            thread: None,
            created_at: at("2026-01-02T03:04:05Z"),
            created_by: "system".into(),
            updated_at: at("2026-01-02T03:04:05.123456789Z"),
            updated_by: "system".into(),
            assigned_at: None,
            assigned_by: None,
            closed_at: None,
            closed_by: None,
            auto_resolved: false,
            estimate_minutes: None,
            category_by: None,
            ai: None,
            held_by_ai: false,
            ratings: Vec::new(),
            profile: BTreeMap::new(),
        }
    }

    fn full_case() -> CaseView {
        CaseView {
            description: "Line one\nline \u{2028}two <b>".into(),
            deadline: Some(at("2026-03-01T00:00:00.5Z")),
            category: Some("Hardware".into()),
            case_type: Some("incident".into()),
            important: true,
            assignee: Some("ana".into()),
            customer: Some(CustomerWire {
                name: Some("Jane Roe".into()),
                email: Some("jane@example.com".into()),
                phone: None,
                handles: BTreeMap::from([("instagram".into(), "@jane".into())]),
            }),
            device: Some(DeviceWire {
                identifier: Some("SN-1".into()),
                model: None,
            }),
            thread: Some("<a@b>".into()),
            assigned_at: Some(at("2026-01-03T00:00:00Z")),
            assigned_by: Some("lead".into()),
            closed_at: Some(at("2026-01-04T00:00:00Z")),
            closed_by: Some("ana".into()),
            auto_resolved: true,
            estimate_minutes: Some(90),
            category_by: Some("ai".into()),
            ai: Some(AiVerdictWire {
                category: Some("Hardware".into()),
                confidence: Some(0.9),
                spam: Some(f32::NAN),
                priority: Some("high".into()),
                applied: None,
                suggestion: Some("Hardware".into()),
            }),
            held_by_ai: true,
            ratings: vec![RatingView {
                resolution: 12,
                rating: "good".into(),
                comment: Some("thanks".into()),
                at: at("2026-01-05T06:07:08Z"),
            }],
            profile: BTreeMap::from([
                ("serial".into(), serde_json::json!("X-1")),
                (
                    "units".into(),
                    serde_json::json!([1, 2.5, null, {"a": true}]),
                ),
            ]),
            ..bare_case()
        }
    }

    /// The list is written by serde, not by poem-openapi's `Json`; both
    /// must send the same bytes, the ones the OpenAPI document describes.
    #[test]
    fn a_list_is_sent_as_json_would_send_it() {
        let list = CaseList {
            items: vec![
                ListedCaseView {
                    case: full_case(),
                    snippet: Some("a <b>jam</b>".into()),
                },
                ListedCaseView {
                    case: bare_case(),
                    snippet: None,
                },
            ],
            next_cursor: Some("r:1.5:7".into()),
            total: Some(10_000),
            total_capped: true,
            facets: Some(FacetsView {
                status: BTreeMap::from([("open".into(), 3)]),
                channel: BTreeMap::from([("2".into(), 3)]),
                category: BTreeMap::new(),
                assignee: BTreeMap::from([("ana".into(), 1)]),
            }),
        };
        let by_poem = serde_json::to_string(&list.to_json().expect("a value")).expect("json");
        let by_serde = serde_json::to_string(&list).expect("json");
        assert_eq!(by_serde, by_poem);
        assert!(by_serde.contains("\"confidence\":0.8999999761581421"));
        assert!(!by_serde.contains("\"spam\""));
        assert!(by_serde.contains("\"created_at\":\"2026-01-02T03:04:05+00:00\""));

        let empty = CaseList {
            items: Vec::new(),
            next_cursor: None,
            total: None,
            total_capped: false,
            facets: None,
        };
        let by_poem = serde_json::to_string(&empty.to_json().expect("a value")).expect("json");
        assert_eq!(serde_json::to_string(&empty).expect("json"), by_poem);
    }
}
