//! What a merge, a split, a move or a close-as-duplicate would do, shown
//! before it is done. Each preview asks the same questions as its action
//! (`mergeable`, `movable`, `duplicable`), so a preview that succeeds is
//! an action that would succeed on the same state, and one that fails
//! fails with the action's own error.

use super::cases::workable_case;
use super::links::duplicable;
use super::merge::{check_merge_sources, mergeable, message_event, movable, split_subject};
use super::{Service, ServiceResult};
use crate::domain::Timestamp;
use crate::domain::activity::{ActivityEvent, EventKind};
use crate::domain::case::{Case, CaseNumber, Status};
use crate::domain::user::User;
use crate::store::{FileReads, Reads};

/// Longest excerpt of a message a preview shows, in characters.
const EXCERPT_CHARS: usize = 200;

/// One case as a preview names it: enough to tell it is the right one.
#[derive(Debug, Clone)]
pub struct CaseSummary {
    pub number: CaseNumber,
    pub subject: String,
    pub status: Status,
    pub channel: String,
    /// The customer's name, else their address or phone.
    pub customer: Option<String>,
    pub assignee: Option<String>,
    pub messages: u32,
    pub notes: u32,
    pub files: u32,
    pub time_minutes: u32,
}

/// One message as a preview names it.
#[derive(Debug, Clone)]
pub struct MessageSummary {
    pub seq: u64,
    /// Who sent it: the sender's address or the agent.
    pub from: String,
    pub at: Timestamp,
    pub excerpt: String,
    pub files: u32,
}

/// Merging `sources` into `target`: every source's messages, notes and
/// time move to the target, and each source still open is resolved.
#[derive(Debug, Clone)]
pub struct MergePreview {
    pub target: CaseSummary,
    pub sources: Vec<CaseSummary>,
}

/// Taking one message off a case: into a new case (`to` is none, and the
/// new case gets `new_subject`) or onto an existing one.
#[derive(Debug, Clone)]
pub struct SplitPreview {
    pub from: CaseSummary,
    pub message: MessageSummary,
    pub to: Option<CaseSummary>,
    pub new_subject: Option<String>,
}

/// Resolving `case` as a duplicate of `original`.
#[derive(Debug, Clone)]
pub struct DuplicatePreview {
    pub case: CaseSummary,
    pub original: CaseSummary,
    /// The two are linked as related now; that link becomes the duplicate
    /// link.
    pub replaces_related_link: bool,
}

fn summary(txn: &(impl Reads + FileReads), case: &Case) -> ServiceResult<CaseSummary> {
    let (mut messages, mut notes) = (0, 0);
    for event in txn.activity(case.number)? {
        match event.kind {
            EventKind::Message { .. } => messages += 1,
            EventKind::Note { .. } => notes += 1,
            _ => {}
        }
    }
    let channel = txn
        .channel(case.channel)?
        .map(|c| c.name)
        .unwrap_or_default();
    Ok(CaseSummary {
        number: case.number,
        subject: case.subject.clone(),
        status: case.status,
        channel,
        customer: case.customer.as_ref().and_then(|c| {
            c.name
                .clone()
                .or_else(|| c.email.clone())
                .or_else(|| c.phone.clone())
        }),
        assignee: case.assignee.clone(),
        messages,
        notes,
        files: txn.case_files(case.number)?.len() as u32,
        time_minutes: txn
            .time_entries(case.number)?
            .iter()
            .map(|e| e.minutes)
            .sum(),
    })
}

fn message_summary(event: &ActivityEvent) -> MessageSummary {
    let (from, body, files) = match &event.kind {
        EventKind::Message {
            from, body, email, ..
        } => (
            from.clone(),
            body.as_str(),
            email.as_ref().map_or(0, |e| e.attachments.len() as u32),
        ),
        _ => (None, "", 0),
    };
    let flat = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut excerpt: String = flat.chars().take(EXCERPT_CHARS).collect();
    if flat.chars().count() > EXCERPT_CHARS {
        excerpt.push('…');
    }
    MessageSummary {
        seq: event.seq,
        from: from.unwrap_or_else(|| event.actor.clone()),
        at: event.at,
        excerpt,
        files,
    }
}

impl Service {
    /// What merging `sources` into `target` would do.
    pub fn preview_merge(
        &self,
        actor: &User,
        target: CaseNumber,
        sources: &[CaseNumber],
    ) -> ServiceResult<MergePreview> {
        check_merge_sources(target, sources)?;
        let txn = self.store.read()?;
        let mut summaries = Vec::new();
        let mut target_case = None;
        for &source in sources {
            let (target, source) = mergeable(&txn, actor, target, source)?;
            summaries.push(summary(&txn, &source)?);
            target_case = Some(target);
        }
        let target = target_case.expect("sources were checked not to be empty");
        Ok(MergePreview {
            target: summary(&txn, &target)?,
            sources: summaries,
        })
    }

    /// What taking message `seq` off case `number` would do: into a new
    /// case, or with `to` onto that case.
    pub fn preview_split(
        &self,
        actor: &User,
        number: CaseNumber,
        seq: u64,
        to: Option<CaseNumber>,
    ) -> ServiceResult<SplitPreview> {
        let txn = self.store.read()?;
        let (from, to, event) = match to {
            Some(to) => {
                let (from, to, event) = movable(&txn, actor, number, seq, to)?;
                (from, Some(to), event)
            }
            None => {
                let (from, _) = workable_case(&txn, actor, number)?;
                let event = message_event(&txn, number, seq)?;
                (from, None, event)
            }
        };
        Ok(SplitPreview {
            new_subject: to.is_none().then(|| split_subject(&from)),
            message: message_summary(&event),
            to: to.map(|to| summary(&txn, &to)).transpose()?,
            from: summary(&txn, &from)?,
        })
    }

    /// What closing `number` as a duplicate of `original` would do.
    pub fn preview_duplicate(
        &self,
        actor: &User,
        number: CaseNumber,
        original: CaseNumber,
    ) -> ServiceResult<DuplicatePreview> {
        let txn = self.store.read()?;
        let (case, other) = duplicable(&txn, actor, number, original)?;
        Ok(DuplicatePreview {
            replaces_related_link: case.link_to(original).is_some(),
            case: summary(&txn, &case)?,
            original: summary(&txn, &other)?,
        })
    }
}
