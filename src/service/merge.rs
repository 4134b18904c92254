//! Merging cases into one, undoing a merge, and splitting a message out
//! into a case of its own.

use crate::store::WriteTxn;

use super::cases::{save, workable_case};
use super::intake::{NewCase, PlannedCase, open_case};
use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::activity::ActivityEvent;
use crate::domain::activity::EventKind;
use crate::domain::case::{Case, CaseNumber, MergeRecord};
use crate::domain::link::{CaseLink, LinkKind};
use crate::domain::user::User;
use crate::store::{FileReads, FileWrites, MailWrites, QueueReads, QueueWrites, Reads, Writes};

/// A case given as a merge source, checked like a link target.
pub(super) fn source_case(
    txn: &impl Reads,
    actor: &User,
    number: CaseNumber,
) -> ServiceResult<Case> {
    match workable_case(txn, actor, number) {
        Ok((case, _)) => Ok(case),
        Err(ServiceError::NotFound(_)) => Err(ServiceError::invalid(
            "sources",
            format!("case #{number} not found"),
        )),
        Err(other) => Err(other),
    }
}

/// Copies the source's messages and notes (with their authors and times)
/// and moves its time entries to the target; returns what it did.
fn move_content(
    txn: &WriteTxn,
    source: &Case,
    target: &Case,
) -> ServiceResult<(Vec<u64>, Vec<u64>)> {
    let mut copied = Vec::new();
    for event in txn.activity(source.number)? {
        if matches!(
            event.kind,
            EventKind::Message { .. } | EventKind::Note { .. }
        ) {
            let copy = txn.append_copied_event(target, &event.actor, event.at, event.kind)?;
            copied.push(copy.seq);
        }
    }
    let mut moved = Vec::new();
    for mut entry in txn.time_entries(source.number)? {
        txn.delete_time_entry(source.number, entry.id)?;
        entry.case = target.number;
        txn.put_time_entry(&entry)?;
        moved.push(entry.id);
    }
    Ok((copied, moved))
}

impl Service {
    /// Merges each source into `target`: its messages, notes and time move
    /// to the target; the source is resolved and linked as merged. Sources
    /// are merged one by one, each in its own transaction.
    pub async fn merge_cases(
        &self,
        actor: &User,
        target: CaseNumber,
        sources: Vec<CaseNumber>,
    ) -> ServiceResult<Case> {
        check_merge_sources(target, &sources)?;
        let mut merged = None;
        for source in sources {
            let actor = actor.clone();
            merged = Some(
                self.store
                    .write(move |txn| merge_one(txn, &actor, target, source))
                    .await?,
            );
        }
        merged.ok_or_else(|| ServiceError::invalid("sources", "nothing to merge"))
    }

    /// Undoes the merge of `source` into `target`: the copies leave the
    /// target, the time entries go back, and the source gets its status.
    pub async fn unmerge_case(
        &self,
        actor: &User,
        target: CaseNumber,
        source: CaseNumber,
    ) -> ServiceResult<Case> {
        let actor = actor.clone();
        self.store
            .write(move |txn| {
                let (mut target_case, _) = workable_case(txn, &actor, target)?;
                let mut source_case = source_case(txn, &actor, source)?;
                let record = source_case
                    .merge
                    .clone()
                    .filter(|m| m.into == target)
                    .ok_or_else(|| {
                        ServiceError::Conflict(format!(
                            "case #{source} is not merged into #{target}"
                        ))
                    })?;
                for seq in &record.copied_events {
                    txn.delete_event(target, *seq)?;
                }
                for id in &record.time_entries {
                    if let Some(mut entry) = txn.time_entry(target, *id)? {
                        txn.delete_time_entry(target, *id)?;
                        entry.case = source;
                        txn.put_time_entry(&entry)?;
                    }
                }
                let at = now();
                let who = actor.username.as_str();
                target_case.links.retain(|l| l.target != source);
                source_case.links.retain(|l| l.target != target);
                source_case.merge = None;
                let mut events = vec![EventKind::Unlinked {
                    link: LinkKind::MergedInto.as_str().to_owned(),
                    target,
                }];
                if record.status_before != source_case.status {
                    source_case.change_status(record.status_before, who, at)?;
                    events.push(EventKind::Reopened);
                }
                source_case.updated_at = at;
                target_case.updated_at = at;
                save(txn, &mut source_case, who, at, events)?;
                save(
                    txn,
                    &mut target_case,
                    who,
                    at,
                    vec![EventKind::Unmerged { source }],
                )?;
                Ok(target_case)
            })
            .await
    }

    /// Moves one message out of a case into a new case in the same
    /// channel, linked to the first as related.
    pub async fn split_message(
        &self,
        actor: &User,
        number: CaseNumber,
        seq: u64,
    ) -> ServiceResult<Case> {
        let actor = actor.clone();
        self.store
            .write(move |txn| {
                let (mut original, _) = workable_case(txn, &actor, number)?;
                let event = message_event(txn, number, seq)?;
                let at = now();
                let who = actor.username.as_str();
                let draft = crate::domain::case::CaseDraft {
                    subject: split_subject(&original),
                    priority: Some(original.priority),
                    customer: original.customer.clone(),
                    ..Default::default()
                };
                // A case of the team's making: no intake rules.
                let plan = PlannedCase::without_rules(
                    original.channel,
                    NewCase::new(draft, original.source, who),
                )?;
                let (split, _) = open_case(txn, &plan, at, |split| {
                    split.links.push(CaseLink {
                        kind: LinkKind::Related,
                        target: number,
                    });
                    Ok(Vec::new())
                })?;
                let new_number = split.number;
                original.links.push(CaseLink {
                    kind: LinkKind::Related,
                    target: new_number,
                });
                transfer_message(txn, event, number, &split)?;
                original.updated_at = at;
                original.updated_by = who.to_owned();
                save(
                    txn,
                    &mut original,
                    who,
                    at,
                    vec![EventKind::SplitOut { into: new_number }],
                )?;
                Ok(split)
            })
            .await
    }
}

/// The subject of a case split out of `original`.
pub(super) fn split_subject(original: &Case) -> String {
    format!("Split from #{}: {}", original.number, original.subject)
        .chars()
        .take(crate::domain::case::SUBJECT_MAX)
        .collect()
}

/// Message `seq` of a case, or why not.
pub(super) fn message_event(
    txn: &impl Reads,
    number: CaseNumber,
    seq: u64,
) -> ServiceResult<ActivityEvent> {
    txn.activity_event(number, seq)?
        .filter(|e| matches!(e.kind, EventKind::Message { .. }))
        .ok_or_else(|| {
            ServiceError::invalid("event", format!("case #{number} has no message {seq}"))
        })
}

/// Puts a message on `target` and takes it off `from`, with the files it
/// carried and the Message-ID that threads replies to it.
fn transfer_message(
    txn: &WriteTxn,
    event: ActivityEvent,
    from: CaseNumber,
    target: &Case,
) -> ServiceResult<u64> {
    if let EventKind::Message {
        email: Some(email), ..
    } = &event.kind
    {
        for id in &email.attachments {
            txn.move_file(*id, target.number)?;
        }
        // The message as it arrived goes with it.
        for file in txn.case_files(from)? {
            if file.event == Some(event.seq)
                && file.origin == crate::domain::file::FileOrigin::Original
            {
                txn.move_file(file.id, target.number)?;
            }
        }
        if let Some(key) = crate::domain::mail::message_id_key(&email.message_id) {
            txn.remember_message_id(&key, target.number)?;
        }
    }
    let seq = event.seq;
    let job = match &event.kind {
        EventKind::Message {
            email: Some(email), ..
        } => email.outgoing,
        _ => None,
    };
    let moved = txn.append_event(target, &event.actor, event.at, event.kind)?;
    txn.delete_event(from, seq)?;
    // An update still being sent reports its delivery where it now is.
    if let Some(job) = job
        && let Some(mut outgoing) = txn.outgoing_mail(job)?
    {
        outgoing.case = target.number;
        outgoing.event = moved.seq;
        txn.put_outgoing_mail(job, &outgoing)?;
    }
    Ok(moved.seq)
}

/// The case a message is on, the case it would move to and the message,
/// or why it may not move. The move itself and its preview both ask this.
pub(super) fn movable(
    txn: &impl Reads,
    actor: &User,
    number: CaseNumber,
    seq: u64,
    to: CaseNumber,
) -> ServiceResult<(Case, Case, ActivityEvent)> {
    if to == number {
        return Err(ServiceError::invalid(
            "to",
            "the message is already on that case",
        ));
    }
    let (original, _) = workable_case(txn, actor, number)?;
    let (target, _) = match workable_case(txn, actor, to) {
        Err(ServiceError::NotFound(_)) => {
            return Err(ServiceError::invalid("to", format!("case #{to} not found")));
        }
        other => other?,
    };
    let event = message_event(txn, number, seq)?;
    // A chat's visitor (and the model answering them) would read it.
    if target.source == crate::domain::case::Source::Widget {
        return Err(ServiceError::invalid(
            "to",
            format!("#{to} is a chat: its visitor would see this message"),
        ));
    }
    // A partner reads every message of their case.
    if target.source == crate::domain::case::Source::Partner
        && original.created_by != target.created_by
    {
        return Err(ServiceError::Forbidden(format!(
            "#{to} was opened by a partner, who would see this conversation's message"
        )));
    }
    Ok((original, target, event))
}

impl Service {
    /// Moves one message to another existing case (it landed on the wrong
    /// one): its files and later replies follow it.
    pub async fn move_message(
        &self,
        actor: &User,
        number: CaseNumber,
        seq: u64,
        to: CaseNumber,
    ) -> ServiceResult<Case> {
        let actor = actor.clone();
        self.store
            .write(move |txn| {
                let (mut original, mut target, event) = movable(txn, &actor, number, seq, to)?;
                let at = now();
                let who = actor.username.as_str();
                transfer_message(txn, event, number, &target)?;
                target.updated_at = at;
                target.updated_by = who.to_owned();
                txn.put_case(&target)?;
                original.updated_at = at;
                original.updated_by = who.to_owned();
                save(
                    txn,
                    &mut original,
                    who,
                    at,
                    vec![EventKind::SplitOut { into: to }],
                )?;
                Ok(target)
            })
            .await
    }
}

/// The sources named for a merge, before any case is read.
pub(super) fn check_merge_sources(target: CaseNumber, sources: &[CaseNumber]) -> ServiceResult<()> {
    if sources.is_empty() {
        return Err(ServiceError::invalid(
            "sources",
            "name at least one case to merge",
        ));
    }
    if sources.contains(&target) {
        return Err(ServiceError::invalid(
            "sources",
            "a case cannot be merged into itself",
        ));
    }
    // The second merge of the same case would fail after the first ran.
    if let Some(twice) = sources
        .iter()
        .enumerate()
        .find_map(|(i, n)| sources[..i].contains(n).then_some(n))
    {
        return Err(ServiceError::invalid(
            "sources",
            format!("case #{twice} is named twice"),
        ));
    }
    Ok(())
}

/// The target and source of one merge, or why they may not be merged.
/// The merge itself and its preview both ask this.
pub(super) fn mergeable(
    txn: &impl Reads,
    actor: &User,
    target: CaseNumber,
    source: CaseNumber,
) -> ServiceResult<(Case, Case)> {
    let (target_case, _) = workable_case(txn, actor, target)?;
    let source_case = source_case(txn, actor, source)?;
    if let Some(record) = &source_case.merge {
        return Err(ServiceError::Conflict(format!(
            "case #{source} is already merged into #{}",
            record.into
        )));
    }
    if target_case.merge.is_some() {
        return Err(ServiceError::Conflict(format!(
            "case #{target} is itself merged into another case"
        )));
    }
    // Chains could not be undone exactly: undo the merges into it first.
    if source_case
        .links
        .iter()
        .any(|l| l.kind == LinkKind::MergedFrom)
    {
        return Err(ServiceError::Conflict(format!(
            "other cases are merged into #{source}; undo those merges first"
        )));
    }
    // A widget visitor's page shows the case's replies: another customer's
    // conversation must not land there either.
    if target_case.source == crate::domain::case::Source::Widget {
        return Err(ServiceError::Forbidden(format!(
            "#{target} is a website chat, whose visitor sees its replies; merge it the other way round"
        )));
    }
    // A partner reads every message of their case: another customer's
    // conversation must not land there.
    if target_case.source == crate::domain::case::Source::Partner
        && source_case.created_by != target_case.created_by
    {
        return Err(ServiceError::Forbidden(format!(
            "#{target} was opened by a partner, who would see the merged conversation; merge it the other way round"
        )));
    }
    Ok((target_case, source_case))
}

fn merge_one(
    txn: &WriteTxn,
    actor: &User,
    target: CaseNumber,
    source: CaseNumber,
) -> ServiceResult<Case> {
    let (mut target_case, mut source_case) = mergeable(txn, actor, target, source)?;
    let (copied, moved) = move_content(txn, &source_case, &target_case)?;
    let at = now();
    let who = actor.username.as_str();
    let status_before = source_case.status;
    let mut source_events = Vec::new();
    if !source_case.status.is_resolved() {
        let from = source_case.close(who, at)?;
        source_events.push(EventKind::Closed { from });
    }
    source_events.push(EventKind::MergedInto { target });
    let items = copied.len() as u32;
    source_case.merge = Some(MergeRecord {
        into: target,
        copied_events: copied,
        time_entries: moved,
        status_before,
    });
    source_case.links.retain(|l| l.target != target);
    target_case.links.retain(|l| l.target != source);
    source_case.links.push(CaseLink {
        kind: LinkKind::MergedInto,
        target,
    });
    target_case.links.push(CaseLink {
        kind: LinkKind::MergedFrom,
        target: source,
    });
    target_case.updated_at = at;
    target_case.updated_by = who.to_owned();
    save(txn, &mut source_case, who, at, source_events)?;
    save(
        txn,
        &mut target_case,
        who,
        at,
        vec![EventKind::Merged { source, items }],
    )?;
    Ok(target_case)
}
