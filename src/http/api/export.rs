//! The case list as a spreadsheet.

use poem::{Body, Request};
use poem_openapi::param::Query;
use poem_openapi::payload::Binary;
use poem_openapi::{ApiResponse, OpenApi};

use super::types::{PriorityWire, StatusWire};
use super::{ApiTags, TokenAuth, state};
use crate::export::Column;
use crate::http::error::ApiError;
use crate::service::{AssigneeFilter, CaseQuery, QuickFilter, ServiceError, View};

pub struct ExportApi;

#[derive(ApiResponse)]
enum ExportFile {
    /// The spreadsheet, one row per case.
    #[oai(
        status = 200,
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )]
    File(
        Binary<Body>,
        #[oai(header = "Content-Disposition")] String,
        #[oai(header = "X-Content-Type-Options")] String,
    ),
}

fn columns_of(text: Option<&str>) -> Result<Vec<Column>, ApiError> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(Column::DEFAULT.to_vec());
    };
    let mut chosen: Vec<Column> = Vec::new();
    for name in text.split(',') {
        let column = Column::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Column::ALL.iter().map(|c| c.name()).collect();
            ApiError::from(ServiceError::invalid(
                "columns",
                format!(
                    "'{}' is not a column; use {}",
                    name.trim(),
                    known.join(", ")
                ),
            ))
        })?;
        if !chosen.contains(&column) {
            chosen.push(column);
        }
    }
    Ok(chosen)
}

#[OpenApi(tag = "ApiTags::Cases")]
impl ExportApi {
    /// The list as an .xlsx file: the same search, filters and sort as
    /// `GET /api/v1/cases`, every matching case (not just a page), with the
    /// chosen `columns` (comma separated: number, subject, status,
    /// priority, channel, assignee, category, type, customer, source,
    /// important, created, updated, closed, deadline) and, with
    /// `messages=true`, the conversation's text in a last column.
    #[oai(path = "/cases/export.xlsx", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn export(
        &self,
        req: &Request,
        auth: TokenAuth,
        q: Query<Option<String>>,
        sort: Query<Option<String>>,
        view: Query<Option<String>>,
        status: Query<Vec<StatusWire>>,
        channel: Query<Vec<u64>>,
        assignee: Query<Option<String>>,
        category: Query<Option<String>>,
        #[oai(name = "type")] case_type: Query<Option<String>>,
        priority: Query<Option<PriorityWire>>,
        important: Query<Option<bool>>,
        quick: Query<Option<String>>,
        columns: Query<Option<String>>,
        messages: Query<Option<bool>>,
        /// At most this many rows (default: every matching case).
        limit: Query<Option<usize>>,
    ) -> Result<ExportFile, ApiError> {
        let query = CaseQuery {
            q: q.0,
            sort: sort.0,
            view: view
                .0
                .as_deref()
                .map(View::parse)
                .transpose()?
                .unwrap_or_default(),
            statuses: status.0.into_iter().map(Into::into).collect(),
            channels: channel.0,
            assignee: assignee.0.as_deref().map(AssigneeFilter::parse),
            category: category.0,
            case_type: case_type.0,
            priority: priority.0.map(Into::into),
            important: important.0,
            quick: quick.0.as_deref().map(QuickFilter::parse).transpose()?,
            ..CaseQuery::default()
        };
        let columns = columns_of(columns.0.as_deref())?;
        let path = state(req)
            .service
            .export_cases(
                &auth.0,
                query,
                columns,
                messages.0.unwrap_or(false),
                limit.0,
            )
            .await?;
        let file = tokio::fs::File::open(&path).await.map_err(|e| {
            ApiError::from(ServiceError::Output(format!(
                "the export could not be read: {e}"
            )))
        })?;
        // The open file stays readable; the name goes at once.
        let _ = tokio::fs::remove_file(&path).await;
        Ok(ExportFile::File(
            Binary(Body::from_async_read(file)),
            "attachment; filename=\"cases.xlsx\"".into(),
            "nosniff".into(),
        ))
    }
}
