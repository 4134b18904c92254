//! The case list as a spreadsheet.

use poem::{Body, Request};
use poem_openapi::param::Query;
use poem_openapi::payload::Binary;
use poem_openapi::{ApiResponse, OpenApi};

use super::filters::CaseFilters;
use super::types::{PriorityWire, StatusWire};
use super::{ApiTags, TokenAuth, state};
use crate::export::Column;
use crate::http::error::ApiError;
use crate::service::{CaseQuery, ServiceError};

#[derive(Default)]
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
        let filters = CaseFilters {
            q: q.0,
            view: view.0,
            status: status.0,
            channel: channel.0,
            assignee: assignee.0,
            category: category.0,
            case_type: case_type.0,
            priority: priority.0,
            important: important.0,
            quick: quick.0,
            ..CaseFilters::default()
        };
        let query = CaseQuery {
            sort: sort.0,
            ..filters.into_query()?
        };
        let columns = columns_of(columns.0.as_deref())?;
        let file = state(req)
            .service
            .export_cases(
                &auth.0,
                query,
                columns,
                messages.0.unwrap_or(false),
                limit.0,
            )
            .await?;
        Ok(ExportFile::File(
            Binary(Body::from_async_read(tokio::fs::File::from_std(file))),
            "attachment; filename=\"cases.xlsx\"".into(),
            "nosniff".into(),
        ))
    }
}
