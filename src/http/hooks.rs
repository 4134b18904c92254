//! Webhooks from other services: Meta (Instagram and Facebook) now, phone
//! calls and the chat widget beside it. They carry no user: each proves
//! itself by a signature over the request, checked before anything is
//! parsed, and is acknowledged only once what it carried is stored.

use std::collections::HashMap;
use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::{Data, Path, Query};
use poem::{Request, Response, Route, get, handler, post};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use crate::channels::{meta, phone};
use crate::domain::channel::ChannelId;
use crate::http::AppState;

pub fn routes() -> Route {
    Route::new()
        .at("/meta/:channel", get(meta_handshake).post(meta_delivery))
        .at("/phone/:channel", post(phone_callback))
}

/// The URL the provider called, as it signed it: the configured public
/// address when there is one (behind a proxy), else what the request says.
fn public_url(state: &AppState, req: &Request) -> String {
    // The URI as it arrived, before routing took the `/hooks` prefix off.
    let path = req
        .original_uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    if let Some(base) = &state.service.config().notify.public_url {
        return format!("{}{path}", base.trim_end_matches('/'));
    }
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let scheme = header("x-forwarded-proto").unwrap_or("http");
    let host = header("host").unwrap_or_default();
    format!("{scheme}://{host}{path}")
}

/// A call status callback in Twilio's form format, signed with
/// `X-Twilio-Signature`. Answered with empty TwiML once stored.
#[handler]
async fn phone_callback(
    req: &Request,
    state: Data<&Arc<AppState>>,
    Path(channel): Path<String>,
    body: Vec<u8>,
) -> Result<Response, ApiError> {
    let channel = channel_id(&channel)?;
    let settings = state
        .service
        .channel_integrations(channel)
        .ok()
        .and_then(|i| i.phone)
        .ok_or_else(|| {
            problem(
                StatusCode::NOT_FOUND,
                format!("channel {channel} has no phone integration"),
            )
        })?;
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let signature = req
        .headers()
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok());
    let url = public_url(&state, req);
    if !phone::signature_is_valid(&settings.auth_token, &url, &params, signature) {
        return Err(problem(
            StatusCode::FORBIDDEN,
            "missing or wrong X-Twilio-Signature",
        ));
    }
    let call =
        phone::call_event(&params).map_err(|e| problem(StatusCode::BAD_REQUEST, e.to_string()))?;
    // A child leg (the call forwarded to an agent's phone) is part of its
    // parent call, not a call with a new customer.
    if call.parent.is_some() {
        return Ok(twiml());
    }
    let receipt = state.service.take_in_call(channel, call).await?;
    tracing::debug!(
        case = receipt.case,
        event = receipt.event,
        duplicate = receipt.duplicate,
        "stored a call callback"
    );
    Ok(twiml())
}

/// An empty TwiML answer: nothing more to do with the call.
fn twiml() -> Response {
    Response::builder()
        .content_type("text/xml")
        .body("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>")
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
