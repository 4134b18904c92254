use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use poem::Request;
use poem_openapi::payload::EventStream;
use poem_openapi::{Object, OpenApi};
use tokio_stream::wrappers::BroadcastStream;

use super::{ApiTags, TokenAuth, state};
use crate::app::AppState;
use crate::domain::user::User;
use crate::live::LiveEvent;

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

/// The live feed for `user`: only events of cases they may see.
pub fn case_events(state: Arc<AppState>, user: User) -> BoxStream<'static, CaseEvent> {
    let shutting_down = state.live.shutting_down();
    BroadcastStream::new(state.live.subscribe())
        .take_until(shutting_down)
        // A lagging subscriber skips what it missed; it can reload.
        .filter_map(|item| async move { item.ok() })
        .filter_map(move |event: LiveEvent| {
            let state = state.clone();
            let user = user.clone();
            async move {
                state
                    .service
                    .can_see_case(&user, event.number)
                    .then_some(CaseEvent {
                        number: event.number,
                        channel: event.channel,
                        seq: event.event_seq,
                        event: event.event,
                        actor: event.actor,
                    })
            }
        })
        .boxed()
}

#[OpenApi(tag = "ApiTags::Events")]
impl EventsApi {
    /// Server-sent events: one `CaseEvent` per change to a visible case.
    #[oai(path = "/events", method = "get")]
    async fn events(
        &self,
        req: &Request,
        auth: TokenAuth,
    ) -> EventStream<BoxStream<'static, CaseEvent>> {
        EventStream::new(case_events(state(req).clone(), auth.0))
            .keep_alive(std::time::Duration::from_secs(15))
    }
}
