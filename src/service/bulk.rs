//! Actions on many cases at once, and the trash: soft delete, restore,
//! purge, and moving cases between channels.

use futures_util::StreamExt;

use super::cases::{CaseChange, case_not_found, save, workable_case};
use super::listing::{CaseQuery, channels_by_id, listed_case};
use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::access;
use crate::domain::activity::EventKind;
use crate::domain::case::{CaseEdit, CaseNumber, Priority};
use crate::domain::channel::ChannelId;
use crate::domain::user::User;
use crate::store::{OutboxEvent, Reads, Writes};

/// The most cases one bulk request may touch.
pub const BULK_MAX: usize = 100_000;
/// Changes in flight at once: enough to fill the store writer's batches.
const IN_FLIGHT: usize = 64;

/// Which cases a bulk action applies to.
#[derive(Debug, Clone)]
pub enum BulkTarget {
    Numbers(Vec<CaseNumber>),
    /// Every case the query lists (for the actor), at the moment of asking.
    Query(Box<CaseQuery>),
}

#[derive(Debug, Clone)]
pub enum BulkAction {
    /// `None` unassigns.
    Assign(Option<String>),
    /// To another channel (managers of both, or administrators).
    Move(ChannelId),
    Close,
    /// To the trash (managers and administrators).
    Delete,
    /// Out of the trash (managers and administrators).
    Restore,
    /// Into the given case.
    Merge(CaseNumber),
    SetCategory(Option<String>),
    SetPriority(Priority),
    SetImportant(bool),
    /// The category the AI agent suggested, as the person's decision.
    AcceptAiSuggestion,
}

/// What happened to each case.
#[derive(Debug, Default)]
pub struct BulkOutcome {
    pub succeeded: Vec<CaseNumber>,
    pub failed: Vec<(CaseNumber, ServiceError)>,
}

impl Service {
    /// Applies `action` to every targeted case, each on its own: one
    /// failing case does not stop the others.
    pub async fn bulk(
        &self,
        actor: &User,
        target: BulkTarget,
        action: BulkAction,
    ) -> ServiceResult<BulkOutcome> {
        let mut numbers = match target {
            BulkTarget::Numbers(numbers) => numbers,
            BulkTarget::Query(query) => self.numbers_matching(actor, *query).await?,
        };
        numbers.sort_unstable();
        numbers.dedup();
        if numbers.len() > BULK_MAX {
            return Err(ServiceError::invalid(
                "numbers",
                format!("at most {BULK_MAX} cases at once"),
            ));
        }
        let results: Vec<(CaseNumber, ServiceResult<()>)> = futures_util::stream::iter(numbers)
            .map(|number| {
                let action = action.clone();
                async move { (number, self.apply_one(actor, number, action).await) }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        let mut outcome = BulkOutcome::default();
        for (number, result) in results {
            match result {
                Ok(()) => outcome.succeeded.push(number),
                Err(e) => outcome.failed.push((number, e)),
            }
        }
        outcome.succeeded.sort_unstable();
        outcome.failed.sort_unstable_by_key(|(n, _)| *n);
        Ok(outcome)
    }

    /// Every case a query lists for the actor, in its order.
    async fn numbers_matching(
        &self,
        actor: &User,
        query: CaseQuery,
    ) -> ServiceResult<Vec<CaseNumber>> {
        // A little over the limit from the index, which may hold a case
        // the actor no longer sees: the store decides.
        let found = self
            .listed_numbers(actor, &query, BULK_MAX + BULK_MAX / 10 + 1)
            .await?;
        let txn = self.store.read()?;
        let channels = txn.shared_channels()?;
        let channel_of = channels_by_id(&channels);
        let mut numbers = Vec::with_capacity(found.len());
        for number in found {
            if let Some(case) = txn.case(number)?
                && listed_case(actor, &channel_of, case).is_some()
            {
                numbers.push(number);
            }
        }
        if numbers.len() > BULK_MAX {
            return Err(ServiceError::invalid(
                "query",
                format!("matches more than {BULK_MAX} cases; narrow it down"),
            ));
        }
        Ok(numbers)
    }

    async fn apply_one(
        &self,
        actor: &User,
        number: CaseNumber,
        action: BulkAction,
    ) -> ServiceResult<()> {
        let edit = |edit: CaseEdit| CaseChange {
            edit,
            ..CaseChange::default()
        };
        match action {
            BulkAction::Assign(assignee) => {
                let change = CaseChange {
                    assignee: Some(assignee),
                    ..CaseChange::default()
                };
                self.update_case(actor, number, change).await.map(drop)
            }
            BulkAction::Move(channel) => self.move_case(actor, number, channel).await,
            BulkAction::Close => self.close_case(actor, number).await.map(drop),
            BulkAction::Merge(target) if target == number => Ok(()),
            BulkAction::Merge(target) => self
                .merge_cases(actor, target, vec![number])
                .await
                .map(drop),
            BulkAction::Delete => self.delete_case(actor, number).await,
            BulkAction::Restore => self.restore_case(actor, number).await,
            BulkAction::AcceptAiSuggestion => {
                self.accept_ai_suggestion(actor, number).await.map(drop)
            }
            BulkAction::SetCategory(category) => {
                let change = edit(CaseEdit {
                    category: Some(category),
                    ..CaseEdit::default()
                });
                self.update_case(actor, number, change).await.map(drop)
            }
            BulkAction::SetPriority(priority) => {
                let change = edit(CaseEdit {
                    priority: Some(priority),
                    ..CaseEdit::default()
                });
                self.update_case(actor, number, change).await.map(drop)
            }
            BulkAction::SetImportant(important) => {
                let change = edit(CaseEdit {
                    important: Some(important),
                    ..CaseEdit::default()
                });
                self.update_case(actor, number, change).await.map(drop)
            }
        }
    }

    /// Moves a case to the trash (the channel's managers, administrators).
    pub async fn delete_case(&self, actor: &User, number: CaseNumber) -> ServiceResult<()> {
        let actor = actor.clone();
        self.store
            .write(move |txn| {
                let (mut case, channel) = workable_case(txn, &actor, number)?;
                if !access::can_manage_channel(&actor, &channel) {
                    return Err(ServiceError::Forbidden(
                        "only the channel's managers and administrators delete cases".into(),
                    ));
                }
                if case.links.iter().any(|l| l.kind == crate::domain::link::LinkKind::MergedFrom) {
                    return Err(ServiceError::Conflict(
                        "other cases are merged into this one; undo those merges before deleting it".into(),
                    ));
                }
                let at = now();
                case.soft_delete(&actor.username, at)?;
                save(
                    txn,
                    &mut case,
                    &actor.username,
                    at,
                    vec![EventKind::Deleted],
                )
            })
            .await
    }

    /// Takes a case out of the trash.
    pub async fn restore_case(&self, actor: &User, number: CaseNumber) -> ServiceResult<()> {
        let actor = actor.clone();
        self.store
            .write(move |txn| {
                let mut case = trashed_case(txn, &actor, number)?;
                let at = now();
                case.restore(&actor.username, at)?;
                save(
                    txn,
                    &mut case,
                    &actor.username,
                    at,
                    vec![EventKind::Restored],
                )
            })
            .await
    }

    /// Erases a deleted case for good: the case, its history, time and
    /// the links to it (administrators).
    pub async fn purge_case(&self, actor: &User, number: CaseNumber) -> ServiceResult<()> {
        if !actor.is_admin() {
            return Err(ServiceError::Forbidden(
                "only administrators purge cases".into(),
            ));
        }
        let actor = actor.clone();
        self.store
            .write(move |txn| {
                let case = trashed_case(txn, &actor, number)?;
                purge(txn, &case, &actor.username)
            })
            .await
    }

    /// Purges every case deleted before `before`; returns how many.
    pub async fn purge_deleted_before(
        &self,
        before: crate::domain::Timestamp,
    ) -> ServiceResult<usize> {
        let expired = match self.trashed_numbers().await? {
            Some(trashed) => {
                let txn = self.store.read()?;
                let mut expired = Vec::new();
                for number in trashed {
                    if txn
                        .case(number)?
                        .is_some_and(|case| case.deleted_at.is_some_and(|at| at < before))
                    {
                        expired.push(number);
                    }
                }
                expired
            }
            // While the index is first built, the store is read whole, off
            // the async workers.
            None => {
                let store = self.store.clone();
                tokio::task::spawn_blocking(move || -> ServiceResult<Vec<CaseNumber>> {
                    let mut expired = Vec::new();
                    store.read()?.scan_cases_desc(None, &mut |case| {
                        if case.deleted_at.is_some_and(|at| at < before) {
                            expired.push(case.number);
                        }
                        true
                    })?;
                    Ok(expired)
                })
                .await
                .map_err(|e| {
                    ServiceError::BadRequest(format!("the purge was interrupted: {e}"))
                })??
            }
        };
        for number in &expired {
            let number = *number;
            self.store
                .write(move |txn| match txn.case(number)? {
                    Some(case) if case.deleted_at.is_some_and(|at| at < before) => {
                        purge(txn, &case, super::RULES_ACTOR)
                    }
                    _ => Ok(()),
                })
                .await?;
        }
        Ok(expired.len())
    }

    /// Moves a case to another channel: the actor manages both (or is an
    /// administrator). An assignee who does not work in the new channel is
    /// removed.
    pub async fn move_case(
        &self,
        actor: &User,
        number: CaseNumber,
        to: ChannelId,
    ) -> ServiceResult<()> {
        let actor = actor.clone();
        self.store
            .write(move |txn| {
                let (mut case, from) = workable_case(txn, &actor, number)?;
                let target = txn
                    .channel(to)?
                    .filter(|c| access::can_see_channel(&actor, c))
                    .ok_or_else(|| {
                        ServiceError::invalid("channel", format!("channel {to} not found"))
                    })?;
                if !access::can_manage_channel(&actor, &from)
                    || !access::can_manage_channel(&actor, &target)
                {
                    return Err(ServiceError::Forbidden(
                        "moving a case needs a manager of both channels".into(),
                    ));
                }
                let at = now();
                let who = actor.username.as_str();
                let Some(previous) = case.move_to(to, who, at) else {
                    return Ok(());
                };
                let mut events = vec![EventKind::Moved { from: previous, to }];
                // The other team's chat is theirs, not the old widget's bot's.
                if case.release_from_ai(at) {
                    events.push(EventKind::HandedOver {
                        reason: "the case moved to another channel".into(),
                        status: None,
                    });
                }
                if let Some(assignee) = case.assignee.clone() {
                    let keeps = txn
                        .user(&assignee)?
                        .is_some_and(|u| access::can_be_assigned(&u, &target));
                    if !keeps && let Some(from) = case.assign(None, who, at)? {
                        events.push(EventKind::Assigned { from, to: None });
                    }
                }
                save(txn, &mut case, who, at, events)
            })
            .await
    }
}

/// A case in the trash the actor may restore or purge.
fn trashed_case(
    txn: &impl Reads,
    actor: &User,
    number: CaseNumber,
) -> ServiceResult<crate::domain::case::Case> {
    let case = txn
        .case(number)?
        .filter(|c| c.deleted_at.is_some())
        .ok_or_else(|| ServiceError::NotFound(format!("case #{number} is not in the trash")))?;
    let channel = txn
        .channel(case.channel)?
        .ok_or_else(|| case_not_found(number))?;
    if access::can_manage_channel(actor, &channel) {
        Ok(case)
    } else {
        Err(ServiceError::NotFound(format!(
            "case #{number} is not in the trash"
        )))
    }
}

fn purge(
    txn: &crate::store::WriteTxn,
    case: &crate::domain::case::Case,
    actor: &str,
) -> ServiceResult<()> {
    for link in &case.links {
        if let Some(mut other) = txn.case(link.target)? {
            other.links.retain(|l| l.target != case.number);
            txn.put_case(&other)?;
        }
    }
    txn.purge_case(case.number)?;
    // The index and live views learn of it like of any change.
    txn.enqueue(&OutboxEvent::CaseChanged {
        number: case.number,
        channel: case.channel,
        event_seq: 0,
        event: crate::domain::activity::EventName::Purged,
        actor: actor.to_owned(),
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileConfig;
    use crate::domain::case::{CaseDraft, Source};
    use crate::search::{Language, SearchIndex, indexer::Indexer};
    use crate::store::Store;
    use std::sync::Arc;

    /// Three cases, two of them in the trash; the store and the service.
    async fn desk_with_trash(search: bool) -> (Service, Store, Vec<CaseNumber>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let config = FileConfig::default()
            .resolve(Some(dir.path().join("data")), None)
            .unwrap();
        let store = Store::open(&config.data_dir).unwrap();
        let mut service = Service::new(store.clone(), Arc::new(config));
        let admin = Service::operator();
        let channel = service.support_channel_for_tests().await;
        let mut numbers = Vec::new();
        for subject in ["Kept", "Trashed", "Trashed too"] {
            let draft = CaseDraft {
                subject: subject.into(),
                ..CaseDraft::default()
            };
            let case = service
                .create_case(&admin, channel.id, draft, Source::Api)
                .await
                .unwrap();
            numbers.push(case.number);
        }
        for number in &numbers[1..] {
            service.delete_case(&admin, *number).await.unwrap();
        }
        if search {
            let (index, _) =
                SearchIndex::open(&dir.path().join("index"), Language::English).unwrap();
            let index = Arc::new(index);
            assert!(Indexer::new(index.clone(), true).catch_up(&store).await);
            assert!(
                index.engine().is_some(),
                "the purge must find the index ready"
            );
            service = service.with_search(index);
        }
        (service, store, numbers, dir)
    }

    /// The hourly purge takes the cases deleted before its cutoff and
    /// nothing else, found from the index or, while there is none, from the
    /// store.
    #[tokio::test]
    async fn the_purge_erases_only_cases_trashed_before_its_cutoff() {
        for search in [true, false] {
            let (service, store, numbers, _dir) = desk_with_trash(search).await;
            let an_hour_ago = now() - chrono::Duration::hours(1);
            assert_eq!(service.purge_deleted_before(an_hour_ago).await.unwrap(), 0);
            assert!(store.read().unwrap().case(numbers[1]).unwrap().is_some());

            let in_a_second = now() + chrono::Duration::seconds(1);
            assert_eq!(
                service.purge_deleted_before(in_a_second).await.unwrap(),
                2,
                "with the index: {search}"
            );
            let txn = store.read().unwrap();
            assert!(txn.case(numbers[0]).unwrap().is_some());
            assert!(txn.case(numbers[1]).unwrap().is_none());
            assert!(txn.case(numbers[2]).unwrap().is_none());
        }
    }
}
