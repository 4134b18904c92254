//! The chat widget's endpoints: the script, and the JSON calls it makes
//! from pages on the channel's allowed origins (CORS). Visitors carry a
//! signed session token, never a cookie.

use std::sync::Arc;
use std::time::Duration;

use poem::http::{HeaderValue, StatusCode};
use poem::web::{Data, Json, Path, Query};
use poem::{IntoResponse, Request, Response, Route, get, handler, post};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use crate::domain::channel::ChannelId;
use crate::http::AppState;

const SCRIPT: &str = include_str!("../../assets/widget/widget.js");

pub fn routes() -> Route {
    Route::new()
        .at("/:channel/sessions", post(start).options(preflight))
        .at("/:channel/messages", post(message).options(preflight))
        .at("/:channel/escalate", post(escalate).options(preflight))
        .at("/:channel/updates", get(updates).options(preflight))
}

/// `GET /widget.js`: the embeddable script.
#[handler]
pub fn script() -> Response {
    Response::builder()
        .content_type("application/javascript; charset=utf-8")
        .header("Cache-Control", "public, max-age=300")
        .body(SCRIPT)
}

fn channel_id(text: &str) -> Result<ChannelId, ApiError> {
    text.parse()
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, format!("'{text}' is not a channel")))
}

/// The request's origin when the channel allows it; a request from any
/// other page is refused, and one without `Origin` (not from a browser
/// page) is let through without CORS headers.
fn checked_origin(
    state: &AppState,
    req: &Request,
    channel: ChannelId,
) -> Result<Option<String>, ApiError> {
    let Some(origin) = req.headers().get("origin").and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    if state.service.widget_allows(channel, origin) {
        Ok(Some(origin.to_owned()))
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("pages of {origin} may not use this chat"),
        ))
    }
}

/// The answer, or the problem, with CORS headers for an allowed page, so
/// that the page can read why it was refused.
fn answer(
    result: Result<Json<serde_json::Value>, crate::service::ServiceError>,
    origin: Option<String>,
) -> Response {
    let response = match result {
        Ok(json) => json.into_response(),
        Err(e) => ApiError::from(e).into_response(),
    };
    with_cors(response, origin)
}

/// The visitor's address, as sign-in limits see it: what a trusted proxy
/// says, else the peer's. A visitor's own `X-Forwarded-For` would let them
/// slip the per-address limits.
fn visitor_address(req: &Request) -> String {
    super::api::auth::client_address(req).unwrap_or_default()
}

fn with_cors(mut response: Response, origin: Option<String>) -> Response {
    if let Some(origin) = origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
        let headers = response.headers_mut();
        headers.insert("access-control-allow-origin", origin);
        headers.insert("vary", HeaderValue::from_static("Origin"));
    }
    response
}

#[handler]
fn preflight(
    req: &Request,
    state: Data<&Arc<AppState>>,
    Path(channel): Path<String>,
) -> Result<Response, ApiError> {
    let channel = channel_id(&channel)?;
    let origin = checked_origin(&state, req, channel)?;
    let response = Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header("access-control-allow-methods", "GET, POST")
        .header("access-control-allow-headers", "content-type")
        .header("access-control-max-age", "600")
        .finish();
    Ok(with_cors(response, origin))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StartBody {
    name: Option<String>,
    email: Option<String>,
}

#[handler]
async fn start(
    req: &Request,
    state: Data<&Arc<AppState>>,
    Path(channel): Path<String>,
    body: Option<Json<StartBody>>,
) -> Result<Response, ApiError> {
    let channel = channel_id(&channel)?;
    let origin = checked_origin(&state, req, channel)?;
    let body = body.map(|b| b.0).unwrap_or_default();
    let client = visitor_address(req);
    let result = state
        .service
        .widget_start(channel, &client, body.name, body.email)
        .await
        .map(|started| Json(json!({"token": started.token, "expires_at": started.expires_at})));
    Ok(answer(result, origin))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    token: String,
    text: String,
}

#[handler]
async fn message(
    req: &Request,
    state: Data<&Arc<AppState>>,
    Path(channel): Path<String>,
    body: Json<MessageBody>,
) -> Result<Response, ApiError> {
    let channel = channel_id(&channel)?;
    let origin = checked_origin(&state, req, channel)?;
    let result = state
        .service
        .widget_message(channel, &body.token, &body.text)
        .await
        .map(|answer| {
            // `from` says who wrote a reply: a plugin's bot or the model.
            let from = if answer.from_model { "ai" } else { "bot" };
            let replies: Vec<_> = answer
                .replies
                .iter()
                .map(|l| json!({"text": l.text, "at": l.at, "from": from}))
                .collect();
            Json(json!({
                "replies": replies,
                "case": answer.case,
                "handed_over": answer.handed_over,
            }))
        });
    Ok(answer(result, origin))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EscalateBody {
    token: String,
    email: Option<String>,
}

#[handler]
async fn escalate(
    req: &Request,
    state: Data<&Arc<AppState>>,
    Path(channel): Path<String>,
    body: Json<EscalateBody>,
) -> Result<Response, ApiError> {
    let channel = channel_id(&channel)?;
    let origin = checked_origin(&state, req, channel)?;
    let result = state
        .service
        .widget_escalate(channel, &body.token, body.0.email.clone())
        .await
        .map(|case| Json(json!({"case": case})));
    Ok(answer(result, origin))
}

#[derive(Deserialize)]
struct UpdatesQuery {
    token: String,
    #[serde(default)]
    after: u64,
}

/// Long-polls for the team's replies (up to 25 seconds).
#[handler]
async fn updates(
    req: &Request,
    state: Data<&Arc<AppState>>,
    Path(channel): Path<String>,
    Query(query): Query<UpdatesQuery>,
) -> Result<Response, ApiError> {
    let channel = channel_id(&channel)?;
    let origin = checked_origin(&state, req, channel)?;
    let result = state
        .service
        .widget_updates(channel, &query.token, query.after, Duration::from_secs(25))
        .await
        .map(|(case, lines)| {
            let replies: Vec<_> = lines
                .iter()
                .map(|l| json!({"seq": l.seq, "text": l.text, "at": l.at}))
                .collect();
            Json(json!({"case": case, "replies": replies}))
        });
    Ok(answer(result, origin))
}
