//! Actions on many cases at once, and the trash.

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::filters::CaseFilters;
use super::json_body::JsonBody;
use super::types::PriorityWire;
use super::{ApiTags, TokenAuth, state};
use crate::http::error::{ApiError, status_of};
use crate::service::{BulkAction, BulkTarget, ServiceError};

#[derive(Default)]
pub struct BulkApi;

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct BulkBody {
    /// The cases to act on; or give `query`.
    #[oai(nullable)]
    numbers: Option<Vec<u64>>,
    /// Act on every case this filter lists for you (at most 100,000).
    #[oai(nullable)]
    query: Option<CaseFilters>,
    /// `assign`, `move`, `merge`, `close`, `delete`, `restore`,
    /// `set_category`, `set_priority`, `set_important` or `accept_ai` (the
    /// category the AI agent suggested).
    action: String,
    /// For `assign`: a username, or `null` to unassign.
    #[serde(default)]
    assignee: MaybeUndefined<String>,
    /// For `move`: the channel id.
    #[oai(nullable)]
    channel: Option<u64>,
    /// For `merge`: the case the others are merged into.
    #[oai(nullable)]
    target: Option<u64>,
    /// For `set_category`: a name, or `null` to clear.
    #[serde(default)]
    category: MaybeUndefined<String>,
    /// For `set_priority`.
    #[oai(nullable)]
    priority: Option<PriorityWire>,
    /// For `set_important`.
    #[oai(nullable)]
    important: Option<bool>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub(super) struct MergeBody {
    /// The cases to merge into this one.
    pub(super) sources: Vec<u64>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct UnmergeBody {
    /// The case to take back out.
    source: u64,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub(super) struct SplitBody {
    /// The message's `seq` in the case's activity.
    pub(super) event: u64,
    /// Move it to this existing case instead of a new one (a message that
    /// landed on the wrong case). Its files and later replies follow it.
    pub(super) to: Option<u64>,
}

#[derive(ApiResponse)]
enum SplitCreated {
    /// The new case.
    #[oai(status = 201)]
    Created(Json<super::types::CaseView>),
    /// Moved to the existing case given as `to`, which is returned.
    #[oai(status = 200)]
    Moved(Json<super::types::CaseView>),
}

#[derive(Debug, Object)]
struct BulkFailure {
    number: u64,
    /// The HTTP status this case alone would have got.
    status: u16,
    detail: String,
}

#[derive(Debug, Object)]
struct BulkAnswer {
    succeeded: Vec<u64>,
    failed: Vec<BulkFailure>,
}

#[derive(ApiResponse)]
enum Done {
    #[oai(status = 204)]
    NoContent,
}

fn missing(field: &str, action: &str) -> ApiError {
    ServiceError::invalid(field, format!("is needed for the action {action}")).into()
}

fn required<T>(value: Option<T>, field: &str, action: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| missing(field, action))
}

fn action_of(b: &BulkBody) -> Result<BulkAction, ApiError> {
    let action = b.action.as_str();
    Ok(match action {
        "assign" => match &b.assignee {
            MaybeUndefined::Undefined => return Err(missing("assignee", action)),
            MaybeUndefined::Null => BulkAction::Assign(None),
            MaybeUndefined::Value(name) => BulkAction::Assign(Some(name.clone())),
        },
        "move" => BulkAction::Move(required(b.channel, "channel", action)?),
        "close" => BulkAction::Close,
        "merge" => BulkAction::Merge(required(b.target, "target", action)?),
        "delete" => BulkAction::Delete,
        "restore" => BulkAction::Restore,
        "set_category" => match &b.category {
            MaybeUndefined::Undefined => return Err(missing("category", action)),
            MaybeUndefined::Null => BulkAction::SetCategory(None),
            MaybeUndefined::Value(name) => BulkAction::SetCategory(Some(name.clone())),
        },
        "set_priority" => BulkAction::SetPriority(required(b.priority, "priority", action)?.into()),
        "set_important" => BulkAction::SetImportant(required(b.important, "important", action)?),
        "accept_ai" => BulkAction::AcceptAiSuggestion,
        other => {
            return Err(ServiceError::invalid(
                "action",
                format!(
                    "'{other}' is not an action; use assign, move, merge, close, delete, restore, set_category, set_priority, set_important or accept_ai"
                ),
            )
            .into());
        }
    })
}

#[OpenApi(tag = "ApiTags::Cases")]
impl BulkApi {
    /// Act on many cases: the listed `numbers`, or every case a `query`
    /// lists. Each case succeeds or fails on its own; the answer lists
    /// both. Delete and move are for channel managers and administrators.
    #[oai(path = "/cases/bulk", method = "post")]
    async fn bulk(
        &self,
        req: &Request,
        auth: TokenAuth,
        body: JsonBody<BulkBody>,
    ) -> Result<Json<BulkAnswer>, ApiError> {
        let mut b = body.0;
        let action = action_of(&b)?;
        let target = match (b.numbers.take(), b.query.take()) {
            (Some(numbers), None) => BulkTarget::Numbers(numbers),
            (None, Some(query)) => BulkTarget::Query(Box::new(query.into_query()?)),
            _ => {
                return Err(
                    ServiceError::invalid("numbers", "give either numbers or query").into(),
                );
            }
        };
        let outcome = state(req).service.bulk(&auth.0, target, action).await?;
        Ok(Json(BulkAnswer {
            succeeded: outcome.succeeded,
            failed: outcome
                .failed
                .into_iter()
                .map(|(number, error)| BulkFailure {
                    number,
                    status: status_of(&error).as_u16(),
                    detail: ApiError::from(error).to_string(),
                })
                .collect(),
        }))
    }

    /// Merge other cases into this one: their messages, notes and time
    /// move here (with their authors and times); each source is resolved
    /// and linked as merged. Undo with `unmerge`.
    #[oai(path = "/cases/:number/merge", method = "post")]
    async fn merge(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
        body: JsonBody<MergeBody>,
    ) -> Result<Json<super::types::CaseView>, ApiError> {
        let case = state(req)
            .service
            .merge_cases(&auth.0, number.0, body.0.sources)
            .await?;
        Ok(Json(case.into()))
    }

    /// Undo a merge into this case: exactly what it moved goes back.
    #[oai(path = "/cases/:number/unmerge", method = "post")]
    async fn unmerge(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
        body: JsonBody<UnmergeBody>,
    ) -> Result<Json<super::types::CaseView>, ApiError> {
        let case = state(req)
            .service
            .unmerge_case(&auth.0, number.0, body.0.source)
            .await?;
        Ok(Json(case.into()))
    }

    /// Move one message out into a new case (linked as related), or with
    /// `to`, onto another existing case.
    #[oai(path = "/cases/:number/split", method = "post")]
    async fn split(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
        body: JsonBody<SplitBody>,
    ) -> Result<SplitCreated, ApiError> {
        let service = &state(req).service;
        Ok(match body.0.to {
            None => SplitCreated::Created(Json(
                service
                    .split_message(&auth.0, number.0, body.0.event)
                    .await?
                    .into(),
            )),
            Some(to) => SplitCreated::Moved(Json(
                service
                    .move_message(&auth.0, number.0, body.0.event, to)
                    .await?
                    .into(),
            )),
        })
    }

    /// Take a case out of the trash.
    #[oai(path = "/cases/:number/restore", method = "post")]
    async fn restore(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
    ) -> Result<Done, ApiError> {
        state(req).service.restore_case(&auth.0, number.0).await?;
        Ok(Done::NoContent)
    }

    /// Erase a case in the trash for good (administrators).
    #[oai(path = "/cases/:number/purge", method = "post")]
    async fn purge(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
    ) -> Result<Done, ApiError> {
        state(req).service.purge_case(&auth.0, number.0).await?;
        Ok(Done::NoContent)
    }
}
