//! The live feed for open pages (server-sent events): case changes and
//! who has a case open.

use futures_util::StreamExt;
use poem::web::sse::{Event, SSE};
use poem::{IntoResponse, Request, Response, handler};

use super::session::{WebError, app, require_session};

/// Who has a case open, for the team members who may see the case.
fn presence_events(
    state: std::sync::Arc<crate::http::AppState>,
    credential: crate::service::Credential,
) -> futures_util::stream::BoxStream<'static, Event> {
    let shutting_down = state.live.shutting_down();
    tokio_stream::wrappers::BroadcastStream::new(state.live.subscribe_presence())
        .take_until(shutting_down)
        .filter_map(move |item| {
            let state = state.clone();
            let credential = credential.clone();
            async move {
                let event = item.ok()?;
                let user = state.service.user_for(&credential).ok().flatten()?;
                if !state.service.can_see_presence(&user, event.number) {
                    return None;
                }
                let viewers: Vec<serde_json::Value> = event
                    .viewers
                    .iter()
                    .map(|v| serde_json::json!({"username": v.username, "name": v.name, "typing": v.typing}))
                    .collect();
                Some(
                    Event::message(
                        serde_json::json!({"number": event.number, "viewers": viewers}).to_string(),
                    )
                    .event_type("presence"),
                )
            }
        })
        .boxed()
}

/// Live updates for open pages: one event per change to a visible case,
/// and who has a case open.
#[handler]
pub fn events(req: &Request) -> Result<Response, WebError> {
    require_session(req)?;
    let token = super::session::session_token(req)
        .unwrap_or_default()
        .to_owned();
    let credential = crate::service::Credential::Session(token);
    let cases = crate::http::api::case_events(app(req).clone(), credential.clone()).map(|event| {
        Event::message(
            serde_json::json!({"number": event.number, "event": event.event, "actor": event.actor})
                .to_string(),
        )
        .event_type("case")
    });
    let stream = futures_util::stream::select(cases, presence_events(app(req).clone(), credential));
    Ok(SSE::new(stream)
        .keep_alive(std::time::Duration::from_secs(15))
        .into_response())
}
