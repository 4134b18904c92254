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
    pub q: Option<String>,
    pub view: Option<String>,
    pub status: Vec<StatusWire>,
    pub channel: Vec<u64>,
    /// A username, `me` or `none`.
    pub assignee: Option<String>,
    pub creator: Option<String>,
    pub category: Option<String>,
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub case_type: Option<String>,
    pub priority: Option<PriorityWire>,
    pub important: Option<bool>,
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
