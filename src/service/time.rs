//! Time tracking: timers, logged entries, totals and estimates, in channels
//! that enable it.

use chrono::NaiveDate;

use super::cases::workable_case;
use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::access;
use crate::domain::activity::EventKind;
use crate::domain::case::{Case, CaseNumber};
use crate::domain::channel::Channel;
use crate::domain::time::{self, TimeEntry, Timer};
use crate::domain::user::User;
use crate::store::{Reads, Writes};

/// Time typed in by hand.
#[derive(Debug, Clone)]
pub struct NewTimeEntry {
    /// `"90m"`, `"1.5h"`, `"2d"` or minutes.
    pub duration: String,
    /// A configured time type; the first one when absent.
    pub kind: Option<String>,
    /// Today (UTC) when absent.
    pub date: Option<NaiveDate>,
    pub note: Option<String>,
}

/// Changes to an entry; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct TimeEntryChange {
    pub duration: Option<String>,
    pub kind: Option<String>,
    pub date: Option<NaiveDate>,
    pub note: Option<Option<String>>,
}

/// A case's time: entries, totals and the estimate.
#[derive(Debug, Clone)]
pub struct TimeSheet {
    pub entries: Vec<TimeEntry>,
    pub total_minutes: u64,
    /// Per time type, in configured order.
    pub by_type: Vec<(String, u64)>,
    pub estimate_minutes: Option<u32>,
    /// The asking user's timer, when it runs on this case.
    pub running_since: Option<crate::domain::Timestamp>,
}

fn require_tracking(channel: &Channel) -> ServiceResult<()> {
    if channel.settings.time_tracking {
        Ok(())
    } else {
        Err(ServiceError::Conflict(format!(
            "time tracking is off in the channel '{}'; a channel manager can turn it on",
            channel.name
        )))
    }
}

/// Records an entry with its activity event.
fn record(txn: &crate::store::WriteTxn, case: &Case, entry: &mut TimeEntry) -> ServiceResult<()> {
    txn.add_time_entry(entry)?;
    txn.append_event(
        case,
        &entry.username,
        entry.created_at,
        EventKind::TimeLogged {
            minutes: entry.minutes,
            kind: entry.kind.clone(),
        },
    )?;
    Ok(())
}

impl Service {
    fn first_time_type(&self) -> String {
        self.config.time.types[0].clone()
    }

    /// Starts the actor's timer on a case. A timer running on another case
    /// is stopped first and its time logged there.
    pub async fn start_timer(&self, actor: &User, number: CaseNumber) -> ServiceResult<Timer> {
        let actor = actor.clone();
        let kind = self.first_time_type();
        let zone = self.config.reports.zone();
        self.store
            .write(move |txn| {
                let (_, channel) = workable_case(txn, &actor, number)?;
                require_tracking(&channel)?;
                let at = now();
                if let Some(running) = txn.timer(&actor.username)? {
                    if running.case == number {
                        return Err(ServiceError::Conflict(format!(
                            "your timer is already running on case #{number}"
                        )));
                    }
                    if let Some(other) = txn.case(running.case)? {
                        let mut entry = timer_entry(&running, &actor.username, &kind, at, zone);
                        record(txn, &other, &mut entry)?;
                    }
                }
                let timer = Timer {
                    case: number,
                    started_at: at,
                };
                txn.put_timer(&actor.username, &timer)?;
                Ok(timer)
            })
            .await
    }

    /// Stops the actor's timer on a case and logs the time.
    pub async fn stop_timer(&self, actor: &User, number: CaseNumber) -> ServiceResult<TimeEntry> {
        let actor = actor.clone();
        let kind = self.first_time_type();
        let zone = self.config.reports.zone();
        self.store
            .write(move |txn| {
                let (case, _) = workable_case(txn, &actor, number)?;
                let running = txn
                    .timer(&actor.username)?
                    .filter(|t| t.case == number)
                    .ok_or_else(|| {
                        ServiceError::Conflict(format!(
                            "no timer of yours is running on case #{number}"
                        ))
                    })?;
                let mut entry = timer_entry(&running, &actor.username, &kind, now(), zone);
                txn.delete_timer(&actor.username)?;
                record(txn, &case, &mut entry)?;
                Ok(entry)
            })
            .await
    }

    pub async fn log_time(
        &self,
        actor: &User,
        number: CaseNumber,
        new: NewTimeEntry,
    ) -> ServiceResult<TimeEntry> {
        let config = &self.config.time;
        let minutes = time::parse_duration("duration", &new.duration, config.hours_per_day)?;
        let kind = match &new.kind {
            Some(kind) => time::time_type(kind, &config.types)?,
            None => self.first_time_type(),
        };
        let note = time::note(new.note.as_deref())?;
        let actor = actor.clone();
        // "Today" is the desk's day, the one reports count in.
        let zone = self.config.reports.zone();
        self.store
            .write(move |txn| {
                let (case, channel) = workable_case(txn, &actor, number)?;
                require_tracking(&channel)?;
                let at = now();
                let mut entry = TimeEntry {
                    id: 0,
                    case: number,
                    username: actor.username.clone(),
                    minutes,
                    kind: kind.clone(),
                    date: new
                        .date
                        .unwrap_or_else(|| at.with_timezone(&zone).date_naive()),
                    note: note.clone(),
                    created_at: at,
                    from_timer: false,
                };
                record(txn, &case, &mut entry)?;
                Ok(entry)
            })
            .await
    }

    /// Edits an entry: one's own, or any as the channel's manager.
    pub async fn update_time_entry(
        &self,
        actor: &User,
        number: CaseNumber,
        id: u64,
        change: TimeEntryChange,
    ) -> ServiceResult<TimeEntry> {
        let config = &self.config.time;
        let minutes = change
            .duration
            .as_deref()
            .map(|d| time::parse_duration("duration", d, config.hours_per_day))
            .transpose()?;
        let kind = change
            .kind
            .as_deref()
            .map(|k| time::time_type(k, &config.types))
            .transpose()?;
        let note = change
            .note
            .as_ref()
            .map(|n| time::note(n.as_deref()))
            .transpose()?;
        let actor = actor.clone();
        let zone = self.config.reports.zone();
        self.store
            .write(move |txn| {
                let mut entry = own_entry(txn, &actor, number, id)?;
                if let Some(minutes) = minutes {
                    entry.minutes = minutes;
                }
                if let Some(kind) = &kind {
                    entry.kind = kind.clone();
                }
                if let Some(date) = change.date {
                    entry.date = date;
                }
                if let Some(note) = &note {
                    entry.note = note.clone();
                }
                txn.put_time_entry(&entry)?;
                // Edits append no event, so the report figures follow here.
                super::reports::refresh_contributions(txn, &[number], zone)?;
                Ok(entry)
            })
            .await
    }

    pub async fn delete_time_entry(
        &self,
        actor: &User,
        number: CaseNumber,
        id: u64,
    ) -> ServiceResult<()> {
        let actor = actor.clone();
        let zone = self.config.reports.zone();
        self.store
            .write(move |txn| {
                own_entry(txn, &actor, number, id)?;
                txn.delete_time_entry(number, id)?;
                super::reports::refresh_contributions(txn, &[number], zone)?;
                Ok(())
            })
            .await
    }

    /// The case's time, for anyone who may see the case.
    pub fn time_sheet(&self, actor: &User, number: CaseNumber) -> ServiceResult<TimeSheet> {
        let txn = self.store.read()?;
        // Who logged what is the team's business, not a partner's.
        let (case, _) = workable_case(&txn, actor, number)?;
        let entries = txn.time_entries(number)?;
        let by_type = self
            .config
            .time
            .types
            .iter()
            .map(|kind| {
                let minutes = entries
                    .iter()
                    .filter(|e| &e.kind == kind)
                    .map(|e| u64::from(e.minutes))
                    .sum();
                (kind.clone(), minutes)
            })
            .filter(|(_, minutes)| *minutes > 0)
            .collect();
        let running_since = txn
            .timer(&actor.username)?
            .filter(|t| t.case == number)
            .map(|t| t.started_at);
        Ok(TimeSheet {
            total_minutes: time::total_minutes(&entries),
            entries,
            by_type,
            estimate_minutes: case.estimate_minutes,
            running_since,
        })
    }
}

fn timer_entry(
    timer: &Timer,
    username: &str,
    kind: &str,
    at: crate::domain::Timestamp,
    zone: chrono_tz::Tz,
) -> TimeEntry {
    TimeEntry {
        id: 0,
        case: timer.case,
        username: username.to_owned(),
        minutes: timer.minutes_until(at),
        kind: kind.to_owned(),
        date: timer.started_at.with_timezone(&zone).date_naive(),
        note: None,
        created_at: at,
        from_timer: true,
    }
}

/// An entry the actor may change: their own, or any as the channel's
/// manager or an administrator. Others' entries answer 403.
fn own_entry(
    txn: &impl Reads,
    actor: &User,
    number: CaseNumber,
    id: u64,
) -> ServiceResult<TimeEntry> {
    let (_, channel) = workable_case(txn, actor, number)?;
    let entry = txn
        .time_entry(number, id)?
        .ok_or_else(|| ServiceError::NotFound(format!("case #{number} has no time entry {id}")))?;
    if entry.username != actor.username && !access::can_manage_channel(actor, &channel) {
        return Err(ServiceError::Forbidden(
            "you can change only your own time entries".into(),
        ));
    }
    Ok(entry)
}
