//! Webhooks from other services: Meta (Instagram and Facebook) now, phone
//! calls and the chat widget beside it. They carry no user: each proves
//! itself by a signature over the request, checked before anything is
//! parsed, and is acknowledged only once what it carried is stored.

use std::collections::HashMap;
use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::{Data, Path, Query};
use poem::{Request, Response, Route, get, handler};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use crate::app::AppState;
use crate::channels::meta;
use crate::domain::channel::ChannelId;

pub fn routes() -> Route {
    Route::new().at("/meta/:channel", get(meta_handshake).post(meta_delivery))
}

fn problem(status: StatusCode, detail: impl Into<String>) -> ApiError {
    ApiError::new(status, detail.into())
}

fn channel_id(text: &str) -> Result<ChannelId, ApiError> {
    text.parse()
        .map_err(|_| problem(StatusCode::NOT_FOUND, format!("'{text}' is not a channel")))
}

fn meta_settings(
    state: &AppState,
    channel: ChannelId,
) -> Result<crate::domain::channel::MetaIntegration, ApiError> {
    let missing = || {
        problem(
            StatusCode::NOT_FOUND,
            format!("channel {channel} has no Meta integration"),
        )
    };
    state
        .service
        .channel_integrations(channel)
        .map_err(|_| missing())?
        .meta
        .ok_or_else(missing)
}

/// The subscription handshake: echo `hub.challenge` when the verify token
/// matches (compared in constant time), 403 otherwise.
#[handler]
fn meta_handshake(
    state: Data<&Arc<AppState>>,
    Path(channel): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let settings = meta_settings(&state, channel_id(&channel)?)?;
    let given = params
        .get("hub.verify_token")
        .map(String::as_bytes)
        .unwrap_or_default();
    let matches = bool::from(given.ct_eq(settings.verify_token.as_bytes()));
    match (
        params.get("hub.mode").map(String::as_str),
        params.get("hub.challenge"),
    ) {
        (Some("subscribe"), Some(challenge)) if matches => Ok(Response::builder()
            .content_type("text/plain")
            .body(challenge.clone())),
        _ => Err(problem(
            StatusCode::FORBIDDEN,
            "the verify token does not match",
        )),
    }
}

/// A delivery of messaging and comment events.
#[handler]
async fn meta_delivery(
    req: &Request,
    state: Data<&Arc<AppState>>,
    Path(channel): Path<String>,
    body: Vec<u8>,
) -> Result<Response, ApiError> {
    let channel = channel_id(&channel)?;
    let settings = meta_settings(&state, channel)?;
    let signature = req
        .headers()
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if !meta::signature_is_valid(&settings.app_secret, &body, signature) {
        return Err(problem(
            StatusCode::UNAUTHORIZED,
            "missing or wrong X-Hub-Signature-256",
        ));
    }
    let events =
        meta::events(&body).map_err(|e| problem(StatusCode::BAD_REQUEST, e.to_string()))?;
    let stored = state.service.take_in_social(channel, events).await?;
    Ok(Response::builder()
        .content_type("application/json")
        .body(format!("{{\"stored\":{stored}}}")))
}
