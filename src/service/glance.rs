//! What an inbox row shows of a case beyond its record: the requester, a
//! line of the latest message, whether the viewer has seen its news, how
//! long the customer has been waiting for the team, and the state of its
//! next milestone. Computed for the cases of one page only.

use std::collections::HashMap;

use super::{Service, ServiceResult, now};
use crate::domain::Timestamp;
use crate::domain::activity::{Direction, EventKind};
use crate::domain::case::{Case, CaseNumber};
use crate::domain::milestone::MilestoneState;
use crate::domain::user::User;
use crate::store::Reads;

/// Characters of the latest message a row shows.
const PREVIEW_CHARS: usize = 140;
/// A milestone due within this many minutes is due soon.
const DUE_SOON_MINUTES: i64 = 60;

#[derive(Debug, Clone, Default)]
pub struct Glance {
    /// The customer's name or address, or who opened the case.
    pub requester: String,
    /// The start of the latest message, on one line.
    pub preview: String,
    /// News (a new case, a customer's message) the viewer has not seen.
    pub unread: bool,
    /// When the customer wrote last, if no one has answered since.
    pub waiting_since: Option<Timestamp>,
    /// The next milestone still to be met: `overdue`, `soon` or `current`,
    /// with its name.
    pub milestone: Option<(&'static str, String)>,
}

fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= PREVIEW_CHARS {
        line
    } else {
        let cut: String = line.chars().take(PREVIEW_CHARS).collect();
        format!("{}…", cut.trim_end())
    }
}

fn next_milestone(case: &Case, at: Timestamp) -> Option<(&'static str, String)> {
    if case.status.is_resolved() {
        return None;
    }
    let next = case
        .milestones
        .iter()
        .filter(|m| m.completed_at.is_none())
        .min_by_key(|m| m.due_at)?;
    let state = match next.state(at) {
        MilestoneState::Overdue => "overdue",
        MilestoneState::Current
            if next.due_at - at < chrono::Duration::minutes(DUE_SOON_MINUTES) =>
        {
            "soon"
        }
        _ => "current",
    };
    Some((state, next.name.clone()))
}

impl Service {
    /// A glance at each of `cases` for `actor`'s inbox rows.
    pub fn glance(
        &self,
        actor: &User,
        cases: &[&Case],
    ) -> ServiceResult<HashMap<CaseNumber, Glance>> {
        let txn = self.store.read()?;
        let read = txn.read_markers(&actor.username)?;
        let at = now();
        let mut glances = HashMap::with_capacity(cases.len());
        for case in cases {
            let mut latest = None;
            let mut last_customer = None;
            let mut answered_after = false;
            txn.visit_activity(case.number, &mut |event| {
                if let EventKind::Message {
                    direction, body, ..
                } = &event.kind
                {
                    // Partners see no notes, and rows show messages only.
                    latest = Some(body.clone());
                    match direction {
                        Direction::Inbound => {
                            last_customer = Some(event.at);
                            answered_after = false;
                        }
                        Direction::Outbound => answered_after = true,
                    }
                }
                true
            })?;
            let news = last_customer.map_or(case.created_at, |t: Timestamp| t.max(case.created_at));
            let seen = read.get(&case.number).copied().unwrap_or(0);
            let requester = case
                .customer
                .as_ref()
                .and_then(|c| {
                    c.name
                        .clone()
                        .or_else(|| c.email.clone())
                        .or_else(|| c.phone.clone())
                })
                .unwrap_or_else(|| case.created_by.clone());
            glances.insert(
                case.number,
                Glance {
                    requester,
                    preview: latest
                        .as_deref()
                        .map(one_line)
                        .unwrap_or_else(|| one_line(&case.description)),
                    unread: (news.timestamp().max(0) as u64) > seen,
                    waiting_since: last_customer
                        .filter(|_| !answered_after && !case.status.is_resolved()),
                    milestone: next_milestone(case, at),
                },
            );
        }
        Ok(glances)
    }
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn a_preview_is_one_line_and_cut_on_a_character() {
        assert_eq!(one_line("Hello\n\n  there"), "Hello there");
        let long = "ä".repeat(200);
        let cut = one_line(&long);
        assert_eq!(cut.chars().count(), 141);
        assert!(cut.ends_with('…'));
    }
}
