//! Reports: who may read them (channel managers their channels,
//! administrators all), keeping the daily figures in step with the cases,
//! and rebuilding them from the store.

use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;

use super::{AI_ACTOR, RULES_ACTOR, Service, ServiceError, ServiceResult};
use crate::domain::access;
use crate::domain::case::CaseNumber;
use crate::domain::channel::ChannelId;
use crate::domain::report::{CaseRecord, Report, ReportBuilder, ReportFilter, contribution};
use crate::domain::user::User;
use crate::store::{
    ReportGrain, ReportReads, ReportWrites, Store, StoreResult, WriteTxn, zone_code,
};

/// The longest range a report covers.
pub const RANGE_MAX_DAYS: i64 = 3 * 366;
/// The range when none is asked for: the last 30 days.
const RANGE_DEFAULT_DAYS: i64 = 30;
/// Cases whose contributions are rebuilt per transaction.
const REBUILD_CHUNK: usize = 500;

/// Actors whose messages answer no one: the rules (acknowledgements, rating
/// requests), mail intake, the AI agent and the widget (a chat bot's lines
/// in a transcript).
const MACHINE_ACTORS: [&str; 4] = [
    RULES_ACTOR,
    super::mail::MAIL_ACTOR,
    AI_ACTOR,
    super::widget::WIDGET_ACTOR,
];

/// What a report is asked for. Days are local days in the reports' zone.
#[derive(Debug, Clone, Default)]
pub struct ReportQuery {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub channel: Option<ChannelId>,
    pub category: Option<String>,
    pub agent: Option<String>,
    pub source: Option<String>,
}

/// A report with what it was computed over.
#[derive(Debug, Clone)]
pub struct ReportAnswer {
    pub report: Report,
    /// The channels counted, by id and name.
    pub channels: Vec<(ChannelId, String)>,
    /// Durations are business time for the channels counted that keep
    /// business hours.
    pub business_hours: bool,
    pub time_zone: String,
    /// The figures are still being built from the cases (after an upgrade,
    /// an import or a reindex): the numbers are not complete yet.
    pub building: bool,
}

impl Service {
    /// The channels whose reports `actor` may read, by id and name.
    pub fn report_channels(&self, actor: &User) -> ServiceResult<Vec<(ChannelId, String)>> {
        let txn = self.store.read()?;
        Ok(txn_channels(&txn, actor)?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect())
    }

    /// A report over the channels `actor` manages (all, for administrators),
    /// read off the async workers: a filtered year reads many rows.
    pub async fn report(&self, actor: &User, query: ReportQuery) -> ServiceResult<ReportAnswer> {
        let service = self.clone();
        let actor = actor.clone();
        tokio::task::spawn_blocking(move || service.read_report(&actor, query))
            .await
            .map_err(|e| ServiceError::Output(format!("the report was interrupted: {e}")))?
    }

    fn read_report(&self, actor: &User, query: ReportQuery) -> ServiceResult<ReportAnswer> {
        let zone = self.config.reports.zone();
        let (from, to) = range_of(&query, zone)?;
        let txn = self.store.read()?;
        let mut channels = txn_channels(&txn, actor)?;
        if channels.is_empty() {
            return Err(ServiceError::Forbidden(
                "reports are for channel managers and administrators".into(),
            ));
        }
        if let Some(wanted) = query.channel {
            channels.retain(|c| c.id == wanted);
            if channels.is_empty() {
                return Err(ServiceError::invalid(
                    "channel",
                    format!("channel {wanted} not found among the channels you manage"),
                ));
            }
        }
        let filter = ReportFilter {
            channels: channels.iter().map(|c| c.id).collect(),
            category: query.category.clone(),
            agent: query.agent.clone(),
            source: query.source.clone(),
        };
        // Narrowed by channels alone, a report reads each channel's days;
        // a category, agent or source needs the finer slices.
        let grain =
            if filter.category.is_none() && filter.agent.is_none() && filter.source.is_none() {
                ReportGrain::ChannelDays
            } else {
                ReportGrain::Slices
            };
        let mut builder = ReportBuilder::new(from, to, filter);
        txn.visit_report_slices(grain, to, &mut |slice, figures| builder.add(slice, figures))?;
        Ok(ReportAnswer {
            building: !txn.reports_built(zone_code(zone))?,
            report: builder.finish(),
            business_hours: channels.iter().any(|c| c.settings.calendar.is_some()),
            channels: channels.into_iter().map(|c| (c.id, c.name)).collect(),
            time_zone: zone.name().to_owned(),
        })
    }
}

fn txn_channels(
    txn: &impl crate::store::Reads,
    actor: &User,
) -> ServiceResult<Vec<crate::domain::channel::Channel>> {
    let mut channels = txn.channels()?;
    channels.retain(|c| access::can_manage_channel(actor, c));
    Ok(channels)
}

/// The range asked for, or the last 30 days up to today.
fn range_of(query: &ReportQuery, zone: Tz) -> ServiceResult<(NaiveDate, NaiveDate)> {
    let today = chrono::Utc::now().with_timezone(&zone).date_naive();
    let to = query.to.unwrap_or(today);
    let from = query
        .from
        .unwrap_or(to - Duration::days(RANGE_DEFAULT_DAYS - 1));
    if from > to {
        return Err(ServiceError::invalid(
            "from",
            format!("the range starts ({from}) after it ends ({to})"),
        ));
    }
    if (to - from).num_days() >= RANGE_MAX_DAYS {
        return Err(ServiceError::invalid(
            "from",
            format!("a report covers at most {RANGE_MAX_DAYS} days"),
        ));
    }
    Ok((from, to))
}

/// Files the current contribution of each case under its days, in the
/// caller's transaction (the outbox consumer's acknowledgement).
pub fn refresh_contributions(txn: &WriteTxn, numbers: &[CaseNumber], zone: Tz) -> StoreResult<()> {
    use crate::store::Reads;
    for &number in numbers {
        let Some(case) = txn.case(number)? else {
            // Purged: its share goes.
            txn.replace_contribution(number, Default::default())?;
            continue;
        };
        let activity = txn.activity(number)?;
        let time = txn.time_entries(number)?;
        let calendar = txn.channel(case.channel)?.and_then(|c| c.settings.calendar);
        let record = CaseRecord {
            case: &case,
            activity: &activity,
            time: &time,
            calendar: calendar.as_ref(),
            machine_actors: &MACHINE_ACTORS,
        };
        txn.replace_contribution(number, contribution(&record, zone))?;
    }
    Ok(())
}

/// Builds the report figures again from every case; returns how many
/// cases were read. Safe while the server runs: each chunk replaces its
/// cases' shares, as the outbox consumer does.
pub async fn rebuild_reports(store: &Store, zone: Tz) -> StoreResult<u64> {
    // A rebuild asked for while this one runs is not marked done by it.
    let wanted = store.read()?.reports_wanted()?;
    store.write(|txn| txn.clear_reports()).await?;
    let mut next = 0;
    let mut cases = 0u64;
    loop {
        let numbers = store.read()?.case_numbers_from(next, REBUILD_CHUNK)?;
        let Some(&last) = numbers.last() else {
            break;
        };
        cases += numbers.len() as u64;
        next = last + 1;
        store
            .write(move |txn| refresh_contributions(txn, &numbers, zone))
            .await?;
    }
    let zone = zone_code(zone);
    store
        .write(move |txn| txn.mark_reports_built(wanted, zone))
        .await?;
    Ok(cases)
}
