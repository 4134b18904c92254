//! Actions on many cases at once, and the trash.

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::json_body::JsonBody;
use super::types::{PriorityWire, StatusWire};
use super::{ApiTags, TokenAuth, state};
use crate::http::error::{ApiError, status_of};
use crate::service::{
    AssigneeFilter, BulkAction, BulkTarget, CaseQuery, QuickFilter, ServiceError, View,
};

pub struct BulkApi;

/// The same filters as `GET /api/v1/cases`.
#[derive(Debug, Object, Deserialize, Default)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields, default)]
struct BulkQuery {
    q: Option<String>,
    view: Option<String>,
    status: Vec<StatusWire>,
    channel: Vec<u64>,
    /// A username, `me` or `none`.
    assignee: Option<String>,
    creator: Option<String>,
    category: Option<String>,
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    case_type: Option<String>,
    priority: Option<PriorityWire>,
    important: Option<bool>,
    quick: Option<String>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct BulkBody {
    /// The cases to act on; or give `query`.
    numbers: Option<Vec<u64>>,
    /// Act on every case this filter lists for you (at most 100,000).
    query: Option<BulkQuery>,
    /// `assign`, `move`, `close`, `delete`, `restore`, `set_category`,
    /// `set_priority` or `set_important`.
    action: String,
    /// For `assign`: a username, or `null` to unassign.
    #[serde(default)]
    assignee: MaybeUndefined<String>,
    /// For `move`: the channel id.
    channel: Option<u64>,
    /// For `set_category`: a name, or `null` to clear.
    #[serde(default)]
    category: MaybeUndefined<String>,
    /// For `set_priority`.
    priority: Option<PriorityWire>,
    /// For `set_important`.
    important: Option<bool>,
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
        "delete" => BulkAction::Delete,
        "restore" => BulkAction::Restore,
        "set_category" => match &b.category {
            MaybeUndefined::Undefined => return Err(missing("category", action)),
            MaybeUndefined::Null => BulkAction::SetCategory(None),
            MaybeUndefined::Value(name) => BulkAction::SetCategory(Some(name.clone())),
        },
        "set_priority" => BulkAction::SetPriority(required(b.priority, "priority", action)?.into()),
        "set_important" => BulkAction::SetImportant(required(b.important, "important", action)?),
        other => {
            return Err(ServiceError::invalid(
                "action",
                format!(
                    "'{other}' is not an action; use assign, move, close, delete, restore, set_category, set_priority or set_important"
                ),
            )
            .into());
        }
    })
}

fn query_of(q: BulkQuery) -> Result<CaseQuery, ApiError> {
    Ok(CaseQuery {
        q: q.q,
        view: q
            .view
            .as_deref()
            .map(View::parse)
            .transpose()?
            .unwrap_or_default(),
        statuses: q.status.into_iter().map(Into::into).collect(),
        channels: q.channel,
        assignee: q.assignee.as_deref().map(AssigneeFilter::parse),
        creator: q.creator,
        category: q.category,
        case_type: q.case_type,
        priority: q.priority.map(Into::into),
        important: q.important,
        quick: q.quick.as_deref().map(QuickFilter::parse).transpose()?,
        ..CaseQuery::default()
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
            (None, Some(query)) => BulkTarget::Query(Box::new(query_of(query)?)),
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
