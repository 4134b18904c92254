use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use poem::Request;
use poem_openapi::payload::EventStream;
use poem_openapi::{Object, OpenApi};
use tokio_stream::wrappers::BroadcastStream;

use super::{ApiTags, TokenAuth, state};
use crate::http::AppState;
use crate::live::LiveEvent;
use crate::service::Credential;

#[derive(Default)]
pub struct EventsApi;

/// A change to a case the user may see.
#[derive(Debug, Clone, Object)]
pub struct CaseEvent {
    pub number: u64,
    pub channel: u64,
    /// The activity entry's position in the case's stream.
    pub seq: u64,
    /// The activity entry's kind (`created`, `note`, `status_changed`...).
    pub event: String,
    pub actor: String,
}

/// The live feed for whoever holds `credential`: only events of cases they
/// may see. The credential is checked again for every event, so a revoked
/// token or a changed role takes effect at once; the stream ends when the
/// credential no longer works.
pub fn case_events(state: Arc<AppState>, credential: Credential) -> BoxStream<'static, CaseEvent> {
    let shutting_down = state.live.shutting_down();
    BroadcastStream::new(state.live.subscribe())
        .take_until(shutting_down)
        // A lagging subscriber skips what it missed; it can reload.
        .filter_map(|item| async move { item.ok() })
        .map(move |event: LiveEvent| {
            let user = match state.service.user_for(&credential) {
                Ok(Some(user)) => user,
                // Revoked: the stream ends.
                Ok(None) => return None,
                // The store cannot say for a moment: this event is skipped.
                Err(_) => return Some(None),
            };
            let visible = state
                .service
                .can_see_live_event(&user, event.number, event.event);
            Some(visible.then(|| CaseEvent {
                number: event.number,
                channel: event.channel,
                seq: event.event_seq,
                event: event.event.as_str().to_owned(),
                actor: event.actor,
            }))
        })
        .take_while(|still_valid| std::future::ready(still_valid.is_some()))
        .filter_map(|event| std::future::ready(event.flatten()))
        .boxed()
}

#[OpenApi(tag = "ApiTags::Events")]
impl EventsApi {
    /// Server-sent events: one `CaseEvent` per change to a visible case.
    #[oai(path = "/events", method = "get")]
    async fn events(
        &self,
        req: &Request,
        _auth: TokenAuth,
    ) -> Result<EventStream<BoxStream<'static, CaseEvent>>, crate::http::error::ApiError> {
        let token = super::bearer_token(req).unwrap_or_default().to_owned();
        Ok(
            EventStream::new(case_events(state(req).clone(), Credential::ApiToken(token)))
                .keep_alive(std::time::Duration::from_secs(15)),
        )
    }
}
