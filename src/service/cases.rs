//! Case commands: open, edit, assign, change status, close, reopen, archive,
//! notes and messages, and the plain listing.

use crate::store::WriteTxn;

use super::intake::{NewCase, open_case};
use super::satisfaction::ask_after_resolution;
use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::Timestamp;
use crate::domain::access;
use crate::domain::activity::{ActivityEvent, Direction, EventKind, EventName, NOTE_MAX};
use crate::domain::case::{Case, CaseDraft, CaseEdit, CaseNumber, Source, Status};
use crate::domain::channel::{Channel, ChannelId};
use crate::domain::milestone;
use crate::domain::user::User;
use crate::domain::validate;
use crate::store::{AiWrites, Reads, Writes};

/// Everything a PATCH may change at once.
#[derive(Debug, Clone, Default)]
pub struct CaseChange {
    pub edit: CaseEdit,
    pub status: Option<Status>,
    /// `Some(None)` unassigns.
    pub assignee: Option<Option<String>>,
    /// The estimated work as a duration (`"4h"`); `Some(None)` clears it.
    /// Channel managers only.
    pub estimate: Option<Option<String>>,
    /// Profile values to set (`null` clears one).
    pub profile: Option<crate::domain::profile::ProfileValues>,
    /// Refuse the change if the case was updated after this moment (an
    /// edit form opened before someone else saved).
    pub unchanged_since: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub direction: Direction,
    /// Who wrote it, when not the acting user (e.g. the customer's name).
    pub from: Option<String>,
    pub body: String,
}

pub(super) fn case_not_found(number: CaseNumber) -> ServiceError {
    ServiceError::NotFound(format!("case #{number} not found"))
}

/// Loads a case with its channel if the actor may see it. A case the actor
/// may not see is reported exactly like a missing one.
pub(super) fn visible_case(
    txn: &impl Reads,
    actor: &User,
    number: CaseNumber,
) -> ServiceResult<(Case, Channel)> {
    let case = txn
        .case(number)?
        .filter(|c| c.deleted_at.is_none())
        .ok_or_else(|| case_not_found(number))?;
    let channel = txn
        .channel(case.channel)?
        .ok_or_else(|| case_not_found(number))?;
    if access::can_see_case(actor, &channel, &case) {
        Ok((case, channel))
    } else {
        Err(case_not_found(number))
    }
}

/// The case that now holds `number`'s conversation: merges are followed
/// (a bounded number of hops); `None` when it is gone or in the trash.
/// Inbound mail, social messages and chats all land where this points.
pub(super) fn live_case(
    txn: &impl Reads,
    mut number: CaseNumber,
) -> Result<Option<Case>, crate::store::StoreError> {
    for _ in 0..10 {
        let Some(case) = txn.case(number)? else {
            return Ok(None);
        };
        match &case.merge {
            Some(merge) => number = merge.into,
            None => return Ok(case.deleted_at.is_none().then_some(case)),
        }
    }
    Ok(None)
}

/// As [`visible_case`], and the actor may change it.
pub(super) fn workable_case(
    txn: &impl Reads,
    actor: &User,
    number: CaseNumber,
) -> ServiceResult<(Case, Channel)> {
    let (case, channel) = visible_case(txn, actor, number)?;
    if access::can_work_case(actor, &channel) {
        Ok((case, channel))
    } else {
        Err(ServiceError::Forbidden(
            "partners can open cases and read their own, but not change them".into(),
        ))
    }
}

/// Applies a status change with the event that describes it best.
pub(super) fn apply_status(
    case: &mut Case,
    to: Status,
    actor: &str,
    at: Timestamp,
) -> ServiceResult<Option<EventKind>> {
    let Some(from) = case.change_status(to, actor, at)? else {
        return Ok(None);
    };
    Ok(Some(match (from, to) {
        (_, Status::Resolved) => EventKind::Closed { from },
        (Status::Resolved, _) => EventKind::Reopened,
        _ => EventKind::StatusChanged { from, to },
    }))
}

fn apply_assignee(
    txn: &impl Reads,
    case: &mut Case,
    channel: &Channel,
    assignee: Option<String>,
    actor: &str,
    at: Timestamp,
) -> ServiceResult<Option<EventKind>> {
    let assignee = match assignee
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
    {
        None => None,
        Some(name) => {
            let candidate = txn.user(&name)?.ok_or_else(|| {
                ServiceError::invalid("assignee", format!("there is no user '{name}'"))
            })?;
            if !access::can_be_assigned(&candidate, channel) {
                return Err(ServiceError::invalid(
                    "assignee",
                    format!("'{name}' is not an agent of the channel '{}'", channel.name),
                ));
            }
            Some(name)
        }
    };
    Ok(case
        .assign(assignee.clone(), actor, at)?
        .map(|from| EventKind::Assigned { from, to: assignee }))
}

/// Stores a case after a change: the clocks of milestones that pause while
/// the case waits for the customer follow its status first.
pub(super) fn store_case(txn: &WriteTxn, case: &mut Case, at: Timestamp) -> ServiceResult<()> {
    let calendar = super::intake::channel_calendar(txn, case.channel)?;
    for due in milestone::follow_status(case, at, calendar.as_ref()) {
        txn.add_milestone_due(due.timestamp().max(0) as u64, case.number)?;
    }
    txn.put_case(case)?;
    Ok(())
}

/// Stores the case and its new events in the caller's transaction, marking
/// the milestones the events complete. Without events nothing is stored.
pub(super) fn save(
    txn: &WriteTxn,
    case: &mut Case,
    actor: &str,
    at: Timestamp,
    events: Vec<EventKind>,
) -> ServiceResult<()> {
    save_events(txn, case, actor, at, events).map(drop)
}

/// As [`save`], returning the events as appended.
pub(super) fn save_events(
    txn: &WriteTxn,
    case: &mut Case,
    actor: &str,
    at: Timestamp,
    events: Vec<EventKind>,
) -> ServiceResult<Vec<ActivityEvent>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    for event in &events {
        milestone::complete(case, event, at);
    }
    store_case(txn, case, at)?;
    events
        .into_iter()
        .map(|kind| Ok(txn.append_event(case, actor, at, kind)?))
        .collect()
}

impl Service {
    /// Opens a case in `channel`. `via` is the source when the actor is staff;
    /// partners' cases are always of source `partner`.
    pub async fn create_case(
        &self,
        actor: &User,
        channel: ChannelId,
        draft: CaseDraft,
        via: Source,
    ) -> ServiceResult<Case> {
        let actor_view = actor.clone();
        let actor = actor.clone();
        let source = if actor.is_partner() {
            Source::Partner
        } else {
            draft.source.unwrap_or(via)
        };
        // Validate before taking a number, so bad input costs no write.
        let mut new = NewCase::new(draft, source, &actor.username);
        let preview = new.preview(channel)?;
        new.profile = self.checked_profile(
            preview.case_type.as_deref(),
            &Default::default(),
            &new.draft.profile,
        )?;
        let channel_not_found =
            move || ServiceError::invalid("channel", format!("channel {channel} not found"));
        // Then permission: no script runs for a refused request.
        let channel = match self.store.read()?.channel(channel)? {
            Some(c) if access::can_open_case_in(&actor, &c) => c,
            _ => return Err(channel_not_found()),
        };
        let plan = self.plan_case(&channel, new).await?;
        self.store
            .write(move |txn| {
                // Membership may have changed while the rules ran.
                match txn.channel(channel.id)? {
                    Some(c) if access::can_open_case_in(&actor, &c) => {}
                    _ => return Err(channel_not_found()),
                }
                Ok(open_case(txn, &plan, now(), |_| Ok(Vec::new()))?.0)
            })
            .await
            .map(|case| super::visibility::shown_case(&actor_view, case))
    }

    pub fn get_case(&self, actor: &User, number: CaseNumber) -> ServiceResult<Case> {
        let case = visible_case(&self.store.read()?, actor, number)?.0;
        Ok(super::visibility::shown_case(actor, case))
    }

    /// Remembers that the actor opened the case, for the "unread" filter.
    /// The marker is written in the background: opening a case never waits
    /// for it, and losing one to a crash only shows the case as unread.
    pub fn note_read(&self, actor: &User, number: CaseNumber) {
        let store = self.store.clone();
        let username = actor.username.clone();
        let at = now().timestamp().max(0) as u64;
        tokio::spawn(async move {
            if let Err(e) = store
                .write(move |txn| txn.mark_read(&username, number, at))
                .await
            {
                tracing::warn!(error = %e, number, "could not record that a case was read");
            }
        });
    }

    /// The case with its channel, for pages that show both.
    pub fn get_case_with_channel(
        &self,
        actor: &User,
        number: CaseNumber,
    ) -> ServiceResult<(Case, Channel)> {
        visible_case(&self.store.read()?, actor, number)
    }

    /// Whether the actor may see the case; for live updates.
    pub fn can_see_case(&self, actor: &User, number: CaseNumber) -> bool {
        self.store
            .read()
            .ok()
            .is_some_and(|txn| visible_case(&txn, actor, number).is_ok())
    }

    /// Whether `actor` is told of a live event of case `number`: only for
    /// cases they may see, and internal notes only to staff.
    pub fn can_see_live_event(&self, actor: &User, number: CaseNumber, event: EventName) -> bool {
        self.can_see_case(actor, number) && !(actor.is_partner() && event == EventName::Note)
    }

    /// The case's history as the actor may see it: internal notes are for
    /// staff, so partners do not get them.
    pub fn activity(&self, actor: &User, number: CaseNumber) -> ServiceResult<Vec<ActivityEvent>> {
        let txn = self.store.read()?;
        visible_case(&txn, actor, number)?;
        let mut events = txn.activity(number)?;
        if actor.is_partner() {
            events.retain(|event| !event.kind.is_internal());
            // Blind copies are the team's business.
            for event in &mut events {
                if let EventKind::Message {
                    email: Some(email), ..
                } = &mut event.kind
                {
                    email.bcc.clear();
                }
            }
        }
        Ok(events)
    }

    /// The case's history filtered, oldest or newest first.
    pub fn activity_view(
        &self,
        actor: &User,
        number: CaseNumber,
        filter: crate::domain::activity::ActivityFilter,
        newest_first: bool,
    ) -> ServiceResult<Vec<ActivityEvent>> {
        let mut events = self.activity(actor, number)?;
        events.retain(|e| filter.matches(&e.kind));
        if newest_first {
            events.reverse();
        }
        Ok(events)
    }

    /// Edits fields, status and assignee together, recording one event per
    /// kind of change. Unchanged values record nothing.
    pub async fn update_case(
        &self,
        actor: &User,
        number: CaseNumber,
        change: CaseChange,
    ) -> ServiceResult<Case> {
        let plan = self
            .replanned_milestones(actor, number, &change.edit)
            .await?;
        let hours_per_day = self.config.time.hours_per_day;
        let estimate = change
            .estimate
            .as_ref()
            .map(|e| {
                e.as_deref()
                    .map(|text| {
                        crate::domain::time::parse_duration("estimate", text, hours_per_day)
                    })
                    .transpose()
            })
            .transpose()?;
        let actor = actor.clone();
        let service = self.clone();
        let survey = self.survey()?;
        self.store
            .write(move |txn| {
                let (mut case, channel) = workable_case(txn, &actor, number)?;
                if change.unchanged_since.is_some_and(|since| case.updated_at != since) {
                    return Err(ServiceError::Conflict(format!(
                        "{} changed this case after you opened it; reload the page to see their changes, then edit again",
                        case.updated_by
                    )));
                }
                let at = now();
                let who = actor.username.as_str();
                let mut events = Vec::new();
                let type_before = case.case_type.clone();
                let mut changes = case.apply_edit(change.edit.clone(), who, at)?;
                // A person changing a category or priority teaches the AI agent.
                if changes
                    .iter()
                    .any(|c| c.field == "category" || c.field == "priority")
                {
                    txn.count_ai_label()?;
                }
                if change.profile.is_some() || case.case_type != type_before {
                    let fields = service.profile_fields(case.case_type.as_deref());
                    let values = change.profile.clone().unwrap_or_default();
                    let profile = Service::apply_profile(&fields, &mut case, &values)?;
                    if !profile.is_empty() {
                        case.updated_at = at;
                        case.updated_by = who.to_owned();
                    }
                    changes.extend(profile);
                }
                if let Some(estimate) = estimate {
                    if !access::can_manage_channel(&actor, &channel) {
                        return Err(ServiceError::Forbidden(
                            "only the channel's managers set estimates".into(),
                        ));
                    }
                    if case.estimate_minutes != estimate {
                        let show = |m: Option<u32>| m.map(crate::domain::activity::format_minutes);
                        changes.push(crate::domain::activity::FieldChange {
                            field: "estimate".into(),
                            before: show(case.estimate_minutes),
                            after: show(estimate),
                        });
                        case.estimate_minutes = estimate;
                        case.updated_at = at;
                        case.updated_by = who.to_owned();
                    }
                }
                let replan = changes
                    .iter()
                    .any(|c| c.field == "priority" || c.field == "type");
                if replan && let Some(specs) = &plan {
                    super::milestones::replan_milestones(txn, &mut case, specs)?;
                }
                if !changes.is_empty() {
                    events.push(EventKind::FieldsChanged { changes });
                }
                if let Some(to) = change.status {
                    events.extend(apply_status(&mut case, to, who, at)?);
                }
                if let Some(assignee) = change.assignee.clone() {
                    events.extend(apply_assignee(txn, &mut case, &channel, assignee, who, at)?);
                }
                let appended = save_events(txn, &mut case, who, at, events)?;
                let survey = survey.as_ref();
                ask_after_resolution(txn, &mut case, &channel, &appended, survey, at)?;
                Ok(case)
            })
            .await
    }

    /// Runs a lifecycle step (close, reopen, archive...) on one case.
    async fn lifecycle(
        &self,
        actor: &User,
        number: CaseNumber,
        step: fn(&mut Case, &str, Timestamp) -> ServiceResult<EventKind>,
    ) -> ServiceResult<Case> {
        let actor = actor.clone();
        let survey = self.survey()?;
        self.store
            .write(move |txn| {
                let (mut case, channel) = workable_case(txn, &actor, number)?;
                let at = now();
                let event = step(&mut case, &actor.username, at)?;
                let appended = save_events(txn, &mut case, &actor.username, at, vec![event])?;
                ask_after_resolution(txn, &mut case, &channel, &appended, survey.as_ref(), at)?;
                Ok(case)
            })
            .await
    }

    pub async fn close_case(&self, actor: &User, number: CaseNumber) -> ServiceResult<Case> {
        self.lifecycle(actor, number, |case, who, at| {
            Ok(EventKind::Closed {
                from: case.close(who, at)?,
            })
        })
        .await
    }

    pub async fn reopen_case(&self, actor: &User, number: CaseNumber) -> ServiceResult<Case> {
        self.lifecycle(actor, number, |case, who, at| {
            case.reopen(who, at)?;
            Ok(EventKind::Reopened)
        })
        .await
    }

    pub async fn archive_case(&self, actor: &User, number: CaseNumber) -> ServiceResult<Case> {
        self.lifecycle(actor, number, |case, who, at| {
            case.archive(who, at)?;
            Ok(EventKind::Archived)
        })
        .await
    }

    pub async fn unarchive_case(&self, actor: &User, number: CaseNumber) -> ServiceResult<Case> {
        self.lifecycle(actor, number, |case, who, at| {
            case.unarchive(who, at)?;
            Ok(EventKind::Unarchived)
        })
        .await
    }

    /// An internal note: visible to staff in the activity stream only.
    pub async fn add_note(
        &self,
        actor: &User,
        number: CaseNumber,
        body: &str,
    ) -> ServiceResult<ActivityEvent> {
        let body = validate::required_text("body", body, NOTE_MAX)?;
        let actor = actor.clone();
        self.store
            .write(move |txn| {
                let (mut case, _) = workable_case(txn, &actor, number)?;
                let at = now();
                case.updated_at = at;
                case.updated_by = actor.username.clone();
                txn.put_case(&case)?;
                Ok(txn.append_event(
                    &case,
                    &actor.username,
                    at,
                    EventKind::Note { body: body.clone() },
                )?)
            })
            .await
    }

    /// Records a message in the conversation. A customer's message reopens a
    /// resolved case and wakes one that was waiting for them.
    pub async fn add_message(
        &self,
        actor: &User,
        number: CaseNumber,
        message: NewMessage,
    ) -> ServiceResult<ActivityEvent> {
        let body = validate::required_text("body", &message.body, NOTE_MAX)?;
        // A partner writes into their own cases as the customer's side and
        // under their own name; staff record either side.
        let (from, direction) = if actor.is_partner() {
            (Some(actor.display_name.clone()), Direction::Inbound)
        } else {
            (
                validate::optional_label("from", message.from.as_deref(), 200)?,
                message.direction,
            )
        };
        let actor = actor.clone();
        let (actor_for_copy, body_for_copy) = (actor.clone(), body.clone());
        let event = self
            .store
            .write(move |txn| {
                let (mut case, _) = if actor.is_partner() {
                    visible_case(txn, &actor, number)?
                } else {
                    workable_case(txn, &actor, number)?
                };
                // A merged case is a stub: what is written there would
                // reach nobody.
                if let Some(merge) = &case.merge {
                    return Err(ServiceError::Conflict(format!(
                        "case #{number} was merged into #{}; write there",
                        merge.into
                    )));
                }
                let at = now();
                let who = actor.username.as_str();
                let mut status_event = None;
                if direction == Direction::Inbound
                    && matches!(case.status, Status::Resolved | Status::WaitingForCustomer)
                {
                    status_event = apply_status(&mut case, Status::Open, who, at)?;
                } else {
                    case.updated_at = at;
                    case.updated_by = who.to_owned();
                }
                let message = EventKind::Message {
                    direction,
                    from: from.clone(),
                    body: body.clone(),
                    email: None,
                    delivery: None,
                };
                milestone::complete(&mut case, &message, at);
                let released = match direction {
                    Direction::Outbound => {
                        super::chat_bot::release_for_reply(&mut case, &actor, at)
                    }
                    Direction::Inbound => None,
                };
                store_case(txn, &mut case, at)?;
                if let Some(kind) = released {
                    txn.append_event(&case, who, at, kind)?;
                }
                let event = txn.append_event(&case, who, at, message)?;
                if let Some(kind) = status_event {
                    txn.append_event(&case, who, at, kind)?;
                }
                Ok(event)
            })
            .await?;
        if direction == Direction::Outbound {
            self.copy_chat_reply_by_email(&actor_for_copy, number, &body_for_copy)
                .await;
        }
        Ok(event)
    }
}
