//! Who has a case open, and who is typing a reply in it: kept in memory
//! (it is news, not history), refreshed by the pages' heartbeats and
//! forgotten when they stop, so two agents do not answer the same customer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Service, ServiceError, ServiceResult};
use crate::domain::case::CaseNumber;
use crate::domain::user::User;

/// A page that sends no heartbeat for this long has gone.
const GONE_AFTER: Duration = Duration::from_secs(45);

/// What a page says of its agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Viewing,
    Typing,
    Left,
}

impl Presence {
    pub fn parse(text: &str) -> ServiceResult<Presence> {
        match text {
            "viewing" => Ok(Presence::Viewing),
            "typing" => Ok(Presence::Typing),
            "left" => Ok(Presence::Left),
            other => Err(ServiceError::invalid(
                "state",
                format!("'{other}' is not viewing, typing or left"),
            )),
        }
    }
}

/// Someone with the case open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub username: String,
    pub name: String,
    pub typing: bool,
}

/// A case's viewers by username, with when each was last heard of.
type Viewers = HashMap<String, (Viewer, Instant)>;

#[derive(Debug, Default)]
pub struct PresenceBoard {
    cases: Mutex<HashMap<CaseNumber, Viewers>>,
}

impl PresenceBoard {
    /// Records `viewer`'s state on case `number` and returns who is there.
    fn note(&self, number: CaseNumber, viewer: Viewer, presence: Presence) -> Vec<Viewer> {
        let mut cases = self.cases.lock().unwrap_or_else(|e| e.into_inner());
        let here = cases.entry(number).or_default();
        let now = Instant::now();
        here.retain(|_, (_, seen)| now.duration_since(*seen) < GONE_AFTER);
        match presence {
            Presence::Left => {
                here.remove(&viewer.username);
            }
            _ => {
                here.insert(viewer.username.clone(), (viewer, now));
            }
        }
        let mut viewers: Vec<Viewer> = here.values().map(|(v, _)| v.clone()).collect();
        viewers.sort_by(|a, b| a.username.cmp(&b.username));
        if here.is_empty() {
            cases.remove(&number);
        }
        viewers
    }
}

impl Service {
    /// Notes that `actor` views (or types in, or left) case `number`, and
    /// returns everyone who has it open. Staff only: partners are not
    /// shown to the team this way, nor the team to them.
    pub fn note_presence(
        &self,
        actor: &User,
        number: CaseNumber,
        presence: Presence,
    ) -> ServiceResult<Vec<Viewer>> {
        let (_, channel) = super::cases::visible_case(&self.store.read()?, actor, number)?;
        if !crate::domain::access::can_work_case(actor, &channel) {
            return Err(ServiceError::Forbidden(
                "only the team sees who else has a case open".into(),
            ));
        }
        let viewer = Viewer {
            username: actor.username.clone(),
            name: actor.display_name.clone(),
            typing: presence == Presence::Typing,
        };
        Ok(self.presence.note(number, viewer, presence))
    }

    /// Whether `actor` may be told who has case `number` open.
    pub fn can_see_presence(&self, actor: &User, number: CaseNumber) -> bool {
        self.store.read().ok().is_some_and(|txn| {
            super::cases::visible_case(&txn, actor, number)
                .is_ok_and(|(_, channel)| crate::domain::access::can_work_case(actor, &channel))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(name: &str) -> Viewer {
        Viewer {
            username: name.into(),
            name: name.into(),
            typing: false,
        }
    }

    #[test]
    fn viewers_come_and_go() {
        let board = PresenceBoard::default();
        assert_eq!(board.note(1, viewer("amy"), Presence::Viewing).len(), 1);
        let mut typing = viewer("max");
        typing.typing = true;
        let here = board.note(1, typing, Presence::Typing);
        assert_eq!(here.len(), 2);
        assert!(here.iter().any(|v| v.username == "max" && v.typing));
        assert_eq!(
            board.note(1, viewer("max"), Presence::Left),
            vec![viewer("amy")]
        );
        assert!(board.note(2, viewer("amy"), Presence::Left).is_empty());
    }
}
