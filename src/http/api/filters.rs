//! The case filters that listing, bulk actions and exports share.

use poem_openapi::Object;
use serde::Deserialize;

use super::types::{PriorityWire, StatusWire};
use crate::http::error::ApiError;
use crate::service::{AssigneeFilter, CaseQuery, QuickFilter, View};

/// The same filters as `GET /api/v1/cases`.
#[derive(Debug, Object, Deserialize, Default)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields, default)]
pub struct CaseFilters {
    #[oai(nullable)]
    pub q: Option<String>,
    #[oai(nullable)]
    pub view: Option<String>,
    pub status: Vec<StatusWire>,
    pub channel: Vec<u64>,
    /// A username, `me` or `none`.
    #[oai(nullable)]
    pub assignee: Option<String>,
    #[oai(nullable)]
    pub creator: Option<String>,
    #[oai(nullable)]
    pub category: Option<String>,
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    #[oai(nullable)]
    pub case_type: Option<String>,
    #[oai(nullable)]
    pub priority: Option<PriorityWire>,
    #[oai(nullable)]
    pub important: Option<bool>,
    #[oai(nullable)]
    pub quick: Option<String>,
}

impl CaseFilters {
    /// The service's query, with everything these filters do not say left
    /// at its default.
    pub fn into_query(self) -> Result<CaseQuery, ApiError> {
        Ok(CaseQuery {
            q: self.q,
            view: self
                .view
                .as_deref()
                .map(View::parse)
                .transpose()?
                .unwrap_or_default(),
            statuses: self.status.into_iter().map(Into::into).collect(),
            channels: self.channel,
            assignee: self.assignee.as_deref().map(AssigneeFilter::parse),
            creator: self.creator,
            category: self.category,
            case_type: self.case_type,
            priority: self.priority.map(Into::into),
            important: self.important,
            quick: self.quick.as_deref().map(QuickFilter::parse).transpose()?,
            ..CaseQuery::default()
        })
    }
}
