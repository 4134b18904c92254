//! Links between cases, and closing a case as a duplicate of another.

use crate::store::WriteTxn;

use super::cases::{save, visible_case, workable_case};
use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::RuleError;
use crate::domain::activity::EventKind;
use crate::domain::case::{Case, CaseNumber};
use crate::domain::link::{self, CaseLink, LinkKind};
use crate::domain::user::User;
use crate::store::Reads;

/// The other case of a link, which the actor must be able to work on too.
/// A case they cannot see is reported as not found, under `target`.
fn target_case(txn: &impl Reads, actor: &User, target: CaseNumber) -> ServiceResult<Case> {
    match workable_case(txn, actor, target) {
        Ok((case, _)) => Ok(case),
        Err(ServiceError::NotFound(_)) => Err(ServiceError::invalid(
            "target",
            format!("case #{target} not found"),
        )),
        Err(other) => Err(other),
    }
}

/// The case to close and the case it duplicates, or why it may not be
/// closed so. Closing it and its preview both ask this.
pub(super) fn duplicable(
    txn: &impl Reads,
    actor: &User,
    number: CaseNumber,
    original: CaseNumber,
) -> ServiceResult<(Case, Case)> {
    let (case, _) = workable_case(txn, actor, number)?;
    let other = match target_case(txn, actor, original) {
        Err(ServiceError::Invalid { message, .. }) => {
            return Err(ServiceError::invalid("duplicate_of", message));
        }
        other => other?,
    };
    if original == number {
        return Err(ServiceError::invalid(
            "duplicate_of",
            "a case cannot be a duplicate of itself",
        ));
    }
    match case.link_to(original).map(|l| l.kind) {
        None | Some(LinkKind::Related) => {}
        Some(kind) => {
            return Err(ServiceError::Conflict(format!(
                "case #{number} is already linked to #{original} ({}); remove that link first",
                kind.as_str()
            )));
        }
    }
    if case.status.is_resolved() {
        return Err(ServiceError::Conflict(
            "the case is already resolved".into(),
        ));
    }
    Ok((case, other))
}

fn linked_event(kind: LinkKind, target: CaseNumber) -> EventKind {
    EventKind::Linked {
        link: kind.as_str().to_owned(),
        target,
    }
}

/// Adds the link on both cases, with an event on each (after `extra` and
/// `other_extra`, events of the same change), and stores them.
fn add_link(
    txn: &WriteTxn,
    case: &mut Case,
    other: &mut Case,
    kind: LinkKind,
    actor: &str,
    (mut extra_events, mut other_events): (Vec<EventKind>, Vec<EventKind>),
) -> ServiceResult<()> {
    let at = now();
    case.links.push(CaseLink {
        kind,
        target: other.number,
    });
    other.links.push(CaseLink {
        kind: kind.mirrored(),
        target: case.number,
    });
    for touched in [&mut *case, &mut *other] {
        touched.updated_at = at;
        touched.updated_by = actor.to_owned();
    }
    extra_events.push(linked_event(kind, other.number));
    save(txn, case, actor, at, extra_events)?;
    other_events.push(linked_event(kind.mirrored(), case.number));
    save(txn, other, actor, at, other_events)?;
    Ok(())
}

impl Service {
    /// Links `number` to `target`: `kind` says what the target is to it
    /// (`related`, `parent`, `child`).
    pub async fn link_cases(
        &self,
        actor: &User,
        number: CaseNumber,
        kind: LinkKind,
        target: CaseNumber,
    ) -> ServiceResult<Case> {
        if !matches!(kind, LinkKind::Related | LinkKind::Parent | LinkKind::Child) {
            return Err(ServiceError::invalid(
                "kind",
                "use related, parent or child (close a case to mark a duplicate)",
            ));
        }
        let actor = actor.clone();
        self.store
            .write(move |txn| {
                let (mut case, _) = workable_case(txn, &actor, number)?;
                let mut other = target_case(txn, &actor, target)?;
                let mut parent_of = |n: CaseNumber| -> Result<Option<CaseNumber>, RuleError> {
                    txn.case(n)
                        .map(|c| c.and_then(|c| c.parent()))
                        .map_err(|e| RuleError::Conflict(e.to_string()))
                };
                link::check_new_link(&case, kind, &other, &mut parent_of)?;
                add_link(
                    txn,
                    &mut case,
                    &mut other,
                    kind,
                    &actor.username,
                    (Vec::new(), Vec::new()),
                )?;
                Ok(case)
            })
            .await
    }

    /// Removes the link between two cases, on both.
    pub async fn unlink_cases(
        &self,
        actor: &User,
        number: CaseNumber,
        target: CaseNumber,
    ) -> ServiceResult<Case> {
        let actor = actor.clone();
        self.store
            .write(move |txn| {
                let (mut case, _) = workable_case(txn, &actor, number)?;
                let link = case.link_to(target).ok_or_else(|| {
                    ServiceError::NotFound(format!("case #{number} has no link to #{target}"))
                })?;
                let at = now();
                let who = actor.username.as_str();
                case.links.retain(|l| l.target != target);
                case.updated_at = at;
                case.updated_by = who.to_owned();
                let unlinked = |kind: LinkKind, other: CaseNumber| EventKind::Unlinked {
                    link: kind.as_str().to_owned(),
                    target: other,
                };
                save(txn, &mut case, who, at, vec![unlinked(link.kind, target)])?;
                // The other side may be out of the actor's reach (a channel
                // they left); the link still goes from both.
                if let Some(mut other) = txn.case(target)? {
                    other.links.retain(|l| l.target != number);
                    other.updated_at = at;
                    other.updated_by = who.to_owned();
                    save(
                        txn,
                        &mut other,
                        who,
                        at,
                        vec![unlinked(link.kind.mirrored(), number)],
                    )?;
                }
                Ok(case)
            })
            .await
    }

    /// Resolves `number` as a duplicate of `original`, linking the two.
    pub async fn close_as_duplicate(
        &self,
        actor: &User,
        number: CaseNumber,
        original: CaseNumber,
    ) -> ServiceResult<Case> {
        let actor = actor.clone();
        self.store
            .write(move |txn| {
                let (mut case, mut other) = duplicable(txn, &actor, number, original)?;
                let mut events = Vec::new();
                let mut other_events = Vec::new();
                // A related case turns out to be the same one: the link
                // becomes the duplicate link.
                if case.link_to(original).is_some() {
                    case.links.retain(|l| l.target != original);
                    other.links.retain(|l| l.target != number);
                    let related = LinkKind::Related.as_str().to_owned();
                    events.push(EventKind::Unlinked {
                        link: related.clone(),
                        target: original,
                    });
                    other_events.push(EventKind::Unlinked {
                        link: related,
                        target: number,
                    });
                }
                let from = case.close(&actor.username, now())?;
                events.push(EventKind::Closed { from });
                add_link(
                    txn,
                    &mut case,
                    &mut other,
                    LinkKind::DuplicateOf,
                    &actor.username,
                    (events, other_events),
                )?;
                Ok(case)
            })
            .await
    }

    /// The cases linked to a case, as far as the actor may see them.
    pub fn linked_cases(
        &self,
        actor: &User,
        number: CaseNumber,
    ) -> ServiceResult<Vec<(CaseLink, Case)>> {
        let txn = self.store.read()?;
        let (case, _) = visible_case(&txn, actor, number)?;
        let mut linked = Vec::new();
        for link in case.links {
            if let Ok((other, _)) = visible_case(&txn, actor, link.target) {
                linked.push((link, other));
            }
        }
        Ok(linked)
    }
}
