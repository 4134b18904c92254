//! Errors at the API edge: every failure becomes RFC 9457 problem JSON with
//! a detail a person can act on.

use poem::http::{HeaderValue, StatusCode, header};
use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::{ToJSON, Type};
use poem_openapi::{ApiResponse, Object};

use crate::search::SearchError;
use crate::service::ServiceError;

const PROBLEM_JSON: &str = "application/problem+json";

/// One field that failed validation.
#[derive(Debug, Clone, Object)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Object)]
pub struct Problem {
    /// Always `about:blank`: the status code says what kind of problem it is.
    #[oai(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    /// What went wrong and what to do about it.
    pub detail: String,
    /// For 422: each field that was rejected (absent otherwise).
    #[oai(default, skip_serializing_if_is_empty)]
    pub errors: Vec<FieldProblem>,
}

/// An API failure carrying its problem document.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    detail: String,
    errors: Vec<FieldProblem>,
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    fn problem(&self) -> Problem {
        Problem {
            problem_type: "about:blank".into(),
            title: self.status.canonical_reason().unwrap_or("Error").into(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.detail)
    }
}

impl std::error::Error for ApiError {}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn as_response(&self) -> Response {
        let body = serde_json::to_vec(&self.problem().to_json()).unwrap_or_default();
        let mut response = Response::builder()
            .status(self.status)
            .header(header::CONTENT_TYPE, PROBLEM_JSON)
            .body(body);
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// The HTTP status that answers a service error.
pub fn status_of(err: &ServiceError) -> StatusCode {
    match err {
        ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
        ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
        ServiceError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        ServiceError::Invalid { .. } | ServiceError::InvalidFields(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        ServiceError::Conflict(_) => StatusCode::CONFLICT,
        ServiceError::BadRequest(_) => StatusCode::BAD_REQUEST,
        ServiceError::RateLimited { .. } | ServiceError::SenderThrottled { .. } => {
            StatusCode::TOO_MANY_REQUESTS
        }
        ServiceError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        ServiceError::Search(e) => match e {
            SearchError::Syntax(_) => StatusCode::BAD_REQUEST,
            SearchError::BadCursor => StatusCode::UNPROCESSABLE_ENTITY,
            SearchError::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            SearchError::Index(_) => StatusCode::INTERNAL_SERVER_ERROR,
        },
        ServiceError::Output(_) => StatusCode::INTERNAL_SERVER_ERROR,
        // Not a failure of the server: this desk has no model to ask.
        ServiceError::Model(
            crate::llm::LlmError::NotConfigured | crate::llm::LlmError::NotAllowed(_),
        ) => StatusCode::CONFLICT,
        ServiceError::Model(_) => StatusCode::BAD_GATEWAY,
        ServiceError::Store(
            crate::store::StoreError::Closed | crate::store::StoreError::Reopening,
        ) => StatusCode::SERVICE_UNAVAILABLE,
        ServiceError::Store(crate::store::StoreError::DiskFull { .. }) => {
            StatusCode::INSUFFICIENT_STORAGE
        }
        ServiceError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        let status = status_of(&err);
        let mut api = ApiError::new(status, err.to_string());
        match err {
            ServiceError::Invalid { field, message } => {
                api.errors.push(FieldProblem { field, message });
            }
            ServiceError::InvalidFields(problems) => {
                api.errors
                    .extend(problems.into_iter().map(|p| FieldProblem {
                        field: p.field,
                        message: p.message,
                    }));
            }
            ServiceError::RateLimited { retry_after_secs }
            | ServiceError::SenderThrottled {
                retry_after_secs, ..
            } => api.retry_after = Some(retry_after_secs),
            ServiceError::Search(SearchError::NotReady) => api.retry_after = Some(5),
            ServiceError::Search(SearchError::Index(e)) => {
                tracing::error!(error = %e, "search index failure while serving a request");
                api.detail = "the search failed on the server; the server log has details".into();
            }
            ServiceError::Output(detail) => {
                tracing::error!(%detail, "could not write a file for a request");
            }
            ServiceError::Store(
                store @ (crate::store::StoreError::DiskFull { .. }
                | crate::store::StoreError::Reopening),
            ) => {
                // Said as it is: the operator's remedy is in the words.
                tracing::warn!(error = %store, "a write was refused");
                api.retry_after = Some(30);
            }
            ServiceError::Store(store) => {
                tracing::error!(error = %store, "store failure while serving a request");
                api.detail = if status == StatusCode::SERVICE_UNAVAILABLE {
                    "the server is shutting down; retry shortly".into()
                } else {
                    "an internal error occurred; the change was not saved. The server log has details".into()
                };
            }
            _ => {}
        }
        api
    }
}

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        let problem = |status: u16, description: &'static str| MetaResponse {
            description,
            status: Some(status),
            status_range: None,
            content: vec![MetaMediaType {
                content_type: PROBLEM_JSON,
                schema: Problem::schema_ref(),
            }],
            headers: vec![],
        };
        MetaResponses {
            responses: vec![
                problem(400, "The request is malformed"),
                problem(401, "No valid bearer token"),
                problem(403, "Not allowed for this user"),
                problem(404, "Not found, or not visible to this user"),
                problem(409, "Conflicts with the record's current state"),
                problem(413, "The body is too large"),
                problem(415, "The body is not of a type this endpoint takes"),
                problem(422, "A field failed validation"),
                problem(429, "Too many attempts"),
                problem(500, "The server failed; its log has details"),
                problem(502, "The language model failed to answer"),
                problem(
                    503,
                    "The store is being reopened after a failure; try again shortly",
                ),
                problem(507, "The disk is full; nothing was saved"),
            ],
        }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}

/// Turns any error the API stack raises (our own, or the framework's parse,
/// auth and routing errors) into problem JSON.
pub async fn problem_for_poem_error(err: poem::Error) -> Response {
    if let Some(api) = err.downcast_ref::<ApiError>() {
        return poem::error::ResponseError::as_response(api);
    }
    let status = err.status();
    let detail = match status {
        StatusCode::UNAUTHORIZED => {
            "missing or invalid bearer token; get one from POST /api/v1/auth/login and send it as \
             'Authorization: Bearer TOKEN'"
                .to_owned()
        }
        StatusCode::NOT_FOUND => "there is no such API endpoint; see /api/docs".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => {
            "this endpoint does not accept that method; see /api/docs".to_owned()
        }
        s if s.is_server_error() => {
            tracing::error!(error = %err, "unhandled API error");
            "an internal error occurred; the server log has details".to_owned()
        }
        _ => err.to_string(),
    };
    ApiError::new(status, detail).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        poem::error::ResponseError::as_response(&self)
    }
}
