//! The HTTP edge: the REST API, the web UI, health checks and static assets.
//! Handlers are thin: they parse, call the service layer, and render.

pub mod api;
mod error;
mod hooks;
mod limits;

mod web;
mod widget;

use std::sync::Arc;

use poem::http::StatusCode;
use poem::{
    Endpoint, EndpointExt, IntoEndpoint, IntoResponse, Response, Route, get, handler, web::Data,
};

use crate::live::LiveFeed;
use crate::service::Service;

/// What every request handler shares.
pub struct AppState {
    pub service: Service,
    pub live: LiveFeed,
}

/// Serves every route on `listener` until `shutdown` resolves, then lets
/// requests in flight finish for up to ten seconds. Tests and benchmarks
/// may call this with a listener of their own.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let acceptor = poem::listener::TcpAcceptor::from_tokio(listener)?;
    poem::Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(
            routes(state),
            shutdown,
            Some(std::time::Duration::from_secs(10)),
        )
        .await
}

/// Every route of the server.
pub fn routes(state: Arc<AppState>) -> impl Endpoint {
    let config = state.service.config();
    let max_body = config.limits.max_body_bytes;
    // Room for multipart framing around the largest file or message.
    let max_large = config
        .mail
        .max_message_bytes
        .max(config.mail.max_upload_bytes)
        + 64 * 1024;
    let api = api::service();
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    Route::new()
        .at("/healthz", get(healthz))
        .at("/readyz", get(readyz))
        .at("/metrics", get(metrics))
        .nest(
            "/api/v1",
            api.into_endpoint()
                .with(api::SecondFactorGate)
                .catch_all_error(error::problem_for_poem_error),
        )
        .nest("/hooks", hooks::routes())
        .nest("/widget", widget::routes())
        .at("/widget.js", get(widget::script))
        .at("/api/openapi.json", spec)
        .nest("/api/docs", docs)
        .nest(
            "/",
            web::routes().catch_error(|_: poem::error::NotFoundError| async {
                web::error_page(
                    StatusCode::NOT_FOUND,
                    "There is no page at this address. It may have moved, or the link was mistyped.".into(),
                )
            }),
        )
        .with(limits::BodyLimit::new(
            max_body,
            max_large.max(max_body),
            config.mail.max_mailbox_bytes.max(max_body),
        ))
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
    if !state.service.is_ready() {
        return (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response();
    }
    match state.service.write_refusal() {
        None => "ready".into_response(),
        // Reads are served, but a balancer should know writes are refused.
        Some(refusal) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {refusal}"),
        )
            .into_response(),
    }
}

/// Prometheus metrics (text format 0.0.4): plugin hook calls, failures
/// and p99 time. Scraped with an administrator's API token.
#[handler]
fn metrics(req: &poem::Request, state: Data<&Arc<AppState>>) -> Response {
    let service = &state.service;
    let user = api::bearer_token(req)
        .and_then(|token| service.authenticate_api_token(token).ok().flatten());
    let report = match user.map(|u| service.plugin_report(&u)) {
        Some(Ok(report)) => report,
        Some(Err(_)) => {
            return (
                StatusCode::FORBIDDEN,
                "an administrator's token is needed\n",
            )
                .into_response();
        }
        None => {
            return Response::builder()
                .status(StatusCode::UNAUTHORIZED)
                .header("WWW-Authenticate", "Bearer")
                .body("send an administrator's API token as a bearer token\n");
        }
    };
    let mut text = String::new();
    let mut family =
        |name: &str,
         kind: &str,
         help: &str,
         value: &dyn Fn(&crate::scripting::HookFigures) -> String| {
            text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for hook in &report.hooks {
                text.push_str(&format!(
                    "{name}{{hook=\"{}\"}} {}\n",
                    hook.hook,
                    value(hook)
                ));
            }
        };
    family(
        "docket_hook_calls_total",
        "counter",
        "Plugin hook calls.",
        &|h| h.calls.to_string(),
    );
    family(
        "docket_hook_failures_total",
        "counter",
        "Plugin hook calls that failed (the default applied).",
        &|h| h.failures.to_string(),
    );
    family(
        "docket_hook_duration_p99_seconds",
        "gauge",
        "99th percentile time of the last 1024 calls.",
        &|h| format!("{:.6}", h.p99.as_secs_f64()),
    );
    let broken = report.plugins.iter().filter(|p| p.error.is_some()).count();
    text.push_str(&format!(
        "# HELP docket_plugins_failing Plugin files on disk that do not compile.\n# TYPE docket_plugins_failing gauge\ndocket_plugins_failing {broken}\n"
    ));
    Response::builder()
        .header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        .body(text)
}

/// The OpenAPI document, as the API serves it; `docket gen openapi` prints
/// it so the committed copy can be checked against the code.
pub fn openapi_json() -> String {
    api::service().spec()
}
