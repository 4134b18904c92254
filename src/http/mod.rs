//! The HTTP edge: the REST API, the web UI, health checks and static assets.
//! Handlers are thin: they parse, call the service layer, and render.

pub mod api;
mod error;
mod limits;
mod web;

use std::sync::Arc;

use poem::http::StatusCode;
use poem::{
    Endpoint, EndpointExt, IntoEndpoint, IntoResponse, Response, Route, get, handler, web::Data,
};

use crate::app::AppState;

/// Every route of the server.
pub fn routes(state: Arc<AppState>) -> impl Endpoint {
    let max_body = state.service.config().limits.max_body_bytes;
    let api = api::service();
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    Route::new()
        .at("/healthz", get(healthz))
        .at("/readyz", get(readyz))
        .nest(
            "/api/v1",
            api.into_endpoint()
                .catch_all_error(error::problem_for_poem_error),
        )
        .at("/api/openapi.json", spec)
        .nest("/api/docs", docs)
        .nest("/", web::routes())
        .with(limits::BodyLimit::new(max_body))
        .with(limits::SecurityHeaders)
        .data(state)
}

/// The process is alive.
#[handler]
fn healthz() -> &'static str {
    "ok"
}

/// The store answers: ready for traffic.
#[handler]
fn readyz(state: Data<&Arc<AppState>>) -> Response {
    if state.service.is_ready() {
        "ready".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response()
    }
}

/// The OpenAPI document, as the API serves it; `docket gen openapi` prints
/// it so the committed copy can be checked against the code.
pub fn openapi_json() -> String {
    api::service().spec()
}
