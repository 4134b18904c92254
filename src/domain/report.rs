//! Reports: what each case contributes to the daily figures, and a report
//! read back from them. A case's contribution is a pure function of the
//! case, its history and its time entries, so the aggregates can be kept
//! up to date by replacing one case's contribution at a time, and rebuilt
//! from the store whenever needed.
//!
//! Days are local days in the reports' time zone. Figures are filed under
//! the day something happened (created, resolved, first answered, rated,
//! time worked) and under the case's current channel, category, assignee
//! and source; time entries under the person who logged them.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Timelike};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::Timestamp;
use super::activity::{ActivityEvent, Direction, EventKind};
use super::calendar::Calendar;
use super::case::{Case, Status};
use super::channel::ChannelId;
use super::satisfaction::Rating;
use super::time::TimeEntry;

/// Where figures are filed: a day and the dimensions reports filter by.
/// Empty strings stand for "none".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Slice {
    pub day: NaiveDate,
    pub channel: ChannelId,
    pub category: String,
    pub agent: String,
    pub source: String,
}

/// What happened in one slice. Durations are kept whole (seconds, business
/// seconds where the channel has a calendar) so that medians are exact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub created: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resolved: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reopened: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub first_responses: Vec<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolutions: Vec<u32>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub milestones_met: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub milestones_missed: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub good: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bad: u32,
    /// Minutes logged, by who logged them and time type (kept here too,
    /// so a channel's day summed over people still tells them apart).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub minutes: BTreeMap<String, BTreeMap<String, u64>>,
    /// Cases created by local hour of the day.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub created_by_hour: BTreeMap<u8, u32>,
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

impl Figures {
    pub fn is_empty(&self) -> bool {
        *self == Figures::default()
    }

    pub fn add(&mut self, other: &Figures) {
        self.created += other.created;
        self.resolved += other.resolved;
        self.reopened += other.reopened;
        self.first_responses
            .extend_from_slice(&other.first_responses);
        self.resolutions.extend_from_slice(&other.resolutions);
        self.milestones_met += other.milestones_met;
        self.milestones_missed += other.milestones_missed;
        self.good += other.good;
        self.bad += other.bad;
        for (agent, kinds) in &other.minutes {
            let kept = self.minutes.entry(agent.clone()).or_default();
            for (kind, minutes) in kinds {
                *kept.entry(kind.clone()).or_default() += minutes;
            }
        }
        for (hour, count) in &other.created_by_hour {
            *self.created_by_hour.entry(*hour).or_default() += count;
        }
    }

    /// Takes back what `add` added (what a case contributed before).
    pub fn subtract(&mut self, other: &Figures) {
        self.created = self.created.saturating_sub(other.created);
        self.resolved = self.resolved.saturating_sub(other.resolved);
        self.reopened = self.reopened.saturating_sub(other.reopened);
        remove_each(&mut self.first_responses, &other.first_responses);
        remove_each(&mut self.resolutions, &other.resolutions);
        self.milestones_met = self.milestones_met.saturating_sub(other.milestones_met);
        self.milestones_missed = self
            .milestones_missed
            .saturating_sub(other.milestones_missed);
        self.good = self.good.saturating_sub(other.good);
        self.bad = self.bad.saturating_sub(other.bad);
        for (agent, kinds) in &other.minutes {
            let Some(kept) = self.minutes.get_mut(agent) else {
                continue;
            };
            for (kind, minutes) in kinds {
                if let Some(left) = kept.get_mut(kind) {
                    *left = left.saturating_sub(*minutes);
                    if *left == 0 {
                        kept.remove(kind);
                    }
                }
            }
            if kept.is_empty() {
                self.minutes.remove(agent);
            }
        }
        for (hour, count) in &other.created_by_hour {
            if let Some(kept) = self.created_by_hour.get_mut(hour) {
                *kept = kept.saturating_sub(*count);
                if *kept == 0 {
                    self.created_by_hour.remove(hour);
                }
            }
        }
    }

    /// How the backlog moved: opened and reopened cases in, resolved out.
    fn backlog_change(&self) -> i64 {
        i64::from(self.created) + i64::from(self.reopened) - i64::from(self.resolved)
    }
}

fn remove_each(kept: &mut Vec<u32>, gone: &[u32]) {
    for value in gone {
        if let Some(at) = kept.iter().position(|v| v == value) {
            kept.swap_remove(at);
        }
    }
}

/// What a case's contribution is computed from.
pub struct CaseRecord<'a> {
    pub case: &'a Case,
    pub activity: &'a [ActivityEvent],
    pub time: &'a [TimeEntry],
    /// The business hours of the case's channel, if it keeps any.
    pub calendar: Option<&'a Calendar>,
    /// Actors that are not people (rules, mail intake, the AI agent):
    /// their messages are no one's answer.
    pub machine_actors: &'a [&'a str],
}

/// Everything one case contributes, by slice. A case in the trash
/// contributes nothing.
pub fn contribution(record: &CaseRecord<'_>, zone: Tz) -> BTreeMap<Slice, Figures> {
    let case = record.case;
    let mut out: BTreeMap<Slice, Figures> = BTreeMap::new();
    if case.deleted_at.is_some() {
        return out;
    }
    let local = |at: Timestamp| at.with_timezone(&zone);
    let slice_at = |at: Timestamp, agent: &str| Slice {
        day: local(at).date_naive(),
        channel: case.channel,
        category: case.category.clone().unwrap_or_default(),
        agent: agent.to_owned(),
        source: case.source.as_str().to_owned(),
    };
    let assignee = case.assignee.clone().unwrap_or_default();
    let on = |when: Timestamp| slice_at(when, &assignee);
    let duration = |from: Timestamp, to: Timestamp| -> u32 {
        let span = match record.calendar {
            Some(calendar) => calendar.business_time_between(from, to),
            None => to - from,
        };
        u32::try_from(span.num_seconds().max(0)).unwrap_or(u32::MAX)
    };

    let created = out.entry(on(case.created_at)).or_default();
    created.created += 1;
    *created
        .created_by_hour
        .entry(local(case.created_at).hour() as u8)
        .or_default() += 1;

    let mut answered = false;
    for event in record.activity {
        match &event.kind {
            EventKind::Closed { .. } => out.entry(on(event.at)).or_default().resolved += 1,
            EventKind::Reopened => out.entry(on(event.at)).or_default().reopened += 1,
            // An answer is a person's message after the case opened: a
            // transcript's earlier lines and copies merged in with their
            // own times are not.
            EventKind::Message {
                direction: Direction::Outbound,
                ..
            } if !answered
                && event.at >= case.created_at
                && !record.machine_actors.contains(&event.actor.as_str()) =>
            {
                answered = true;
                let seconds = duration(case.created_at, event.at);
                out.entry(on(event.at))
                    .or_default()
                    .first_responses
                    .push(seconds);
            }
            _ => {}
        }
    }
    if case.status == Status::Resolved
        && let Some(closed_at) = case.closed_at
    {
        let seconds = duration(case.created_at, closed_at);
        out.entry(on(closed_at))
            .or_default()
            .resolutions
            .push(seconds);
    }
    for milestone in &case.milestones {
        match (milestone.completed_at, milestone.escalated_at) {
            (Some(done), _) if done <= milestone.due_at => {
                out.entry(on(done)).or_default().milestones_met += 1
            }
            (Some(done), _) => out.entry(on(done)).or_default().milestones_missed += 1,
            (None, Some(escalated)) => out.entry(on(escalated)).or_default().milestones_missed += 1,
            (None, None) => {}
        }
    }
    for rating in &case.ratings {
        let figures = out.entry(on(rating.at)).or_default();
        match rating.rating {
            Rating::Good => figures.good += 1,
            Rating::Bad => figures.bad += 1,
        }
    }
    for entry in record.time {
        let slice = Slice {
            day: entry.date,
            ..slice_at(case.created_at, &entry.username)
        };
        *out.entry(slice)
            .or_default()
            .minutes
            .entry(entry.username.clone())
            .or_default()
            .entry(entry.kind.clone())
            .or_default() += u64::from(entry.minutes);
    }
    out.retain(|_, figures| !figures.is_empty());
    out
}

/// Which slices a report counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportFilter {
    /// The channels counted (already narrowed to what the viewer may see).
    pub channels: Vec<ChannelId>,
    pub category: Option<String>,
    pub agent: Option<String>,
    pub source: Option<String>,
}

impl ReportFilter {
    pub fn admits(&self, slice: &Slice) -> bool {
        self.channels.contains(&slice.channel)
            && self.category.as_ref().is_none_or(|c| *c == slice.category)
            && self.agent.as_ref().is_none_or(|a| *a == slice.agent)
            && self.source.as_ref().is_none_or(|s| *s == slice.source)
    }
}

/// One day of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayLine {
    pub date: NaiveDate,
    pub created: u32,
    pub resolved: u32,
    /// Cases open at the end of the day.
    pub backlog: i64,
}

/// Median and 90th percentile of durations (nearest rank), in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Durations {
    pub count: u32,
    pub median_seconds: Option<u32>,
    pub p90_seconds: Option<u32>,
}

impl Durations {
    pub fn of(mut values: Vec<u32>) -> Durations {
        values.sort_unstable();
        Durations {
            count: values.len() as u32,
            median_seconds: nearest_rank(&values, 50),
            p90_seconds: nearest_rank(&values, 90),
        }
    }
}

/// The nearest-rank percentile of sorted values: the smallest value with at
/// least `percent` % of all values at or below it.
pub fn nearest_rank(sorted: &[u32], percent: usize) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// A share of a whole, as a percentage with one decimal; none of nothing.
pub fn percent(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| (f64::from(part) * 1000.0 / f64::from(whole)).round() / 10.0)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attainment {
    pub met: u32,
    pub missed: u32,
    pub percent: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Satisfaction {
    pub good: u32,
    pub bad: u32,
    /// Good ratings among all ratings.
    pub percent: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeLine {
    pub kind: String,
    pub agent: String,
    pub minutes: u64,
}

/// A whole report over a date range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub created: u32,
    pub resolved: u32,
    pub days: Vec<DayLine>,
    pub first_response: Durations,
    pub resolution: Durations,
    pub milestones: Attainment,
    pub satisfaction: Satisfaction,
    pub time_logged: Vec<TimeLine>,
    /// Cases created by weekday (Monday first) and local hour.
    pub busiest_hours: [[u32; 24]; 7],
}

/// Folds the slices a filter admits into a report. Slices before `from`
/// count only towards the backlog the range starts with.
pub struct ReportBuilder {
    from: NaiveDate,
    to: NaiveDate,
    filter: ReportFilter,
    backlog_before: i64,
    days: BTreeMap<NaiveDate, Figures>,
    time: BTreeMap<(String, String), u64>,
}

impl ReportBuilder {
    pub fn new(from: NaiveDate, to: NaiveDate, filter: ReportFilter) -> ReportBuilder {
        ReportBuilder {
            from,
            to,
            filter,
            backlog_before: 0,
            days: BTreeMap::new(),
            time: BTreeMap::new(),
        }
    }

    /// Counts one stored slice (any order; slices after `to` are ignored).
    pub fn add(&mut self, slice: &Slice, figures: &Figures) {
        if slice.day > self.to || !self.filter.admits(slice) {
            return;
        }
        if slice.day < self.from {
            self.backlog_before += figures.backlog_change();
            return;
        }
        for (agent, kinds) in &figures.minutes {
            if self.filter.agent.as_ref().is_some_and(|a| a != agent) {
                continue;
            }
            for (kind, minutes) in kinds {
                *self.time.entry((kind.clone(), agent.clone())).or_default() += minutes;
            }
        }
        self.days.entry(slice.day).or_default().add(figures);
    }

    pub fn finish(self) -> Report {
        let mut backlog = self.backlog_before;
        let mut days = Vec::new();
        let mut total = Figures::default();
        let mut busiest_hours = [[0u32; 24]; 7];
        for date in self.from.iter_days().take_while(|d| *d <= self.to) {
            let figures = self.days.get(&date).cloned().unwrap_or_default();
            backlog += figures.backlog_change();
            days.push(DayLine {
                date,
                created: figures.created,
                resolved: figures.resolved,
                backlog,
            });
            let weekday = date.weekday().num_days_from_monday() as usize;
            for (hour, count) in &figures.created_by_hour {
                busiest_hours[weekday][usize::from(*hour).min(23)] += count;
            }
            total.add(&figures);
        }
        let mut time_logged: Vec<TimeLine> = self
            .time
            .into_iter()
            .map(|((kind, agent), minutes)| TimeLine {
                kind,
                agent,
                minutes,
            })
            .collect();
        time_logged.sort_by(|a, b| b.minutes.cmp(&a.minutes).then(a.kind.cmp(&b.kind)));
        let rated = total.good + total.bad;
        let judged = total.milestones_met + total.milestones_missed;
        Report {
            from: self.from,
            to: self.to,
            created: total.created,
            resolved: total.resolved,
            days,
            first_response: Durations::of(total.first_responses),
            resolution: Durations::of(total.resolutions),
            milestones: Attainment {
                met: total.milestones_met,
                missed: total.milestones_missed,
                percent: percent(total.milestones_met, judged),
            },
            satisfaction: Satisfaction {
                good: total.good,
                bad: total.bad,
                percent: percent(total.good, rated),
            },
            time_logged,
            busiest_hours,
        }
    }
}

/// A report's figures as tables: what CSV and spreadsheet downloads hold
/// and what pages show beside each chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Daily,
    ResponseTimes,
    Milestones,
    Satisfaction,
    TimeLogged,
    BusiestHours,
}

/// A cell of a section's table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

pub const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

impl Section {
    pub const ALL: [Section; 6] = [
        Section::Daily,
        Section::ResponseTimes,
        Section::Milestones,
        Section::Satisfaction,
        Section::TimeLogged,
        Section::BusiestHours,
    ];

    /// Its name in addresses (`/reports/daily.csv`).
    pub fn name(self) -> &'static str {
        match self {
            Section::Daily => "daily",
            Section::ResponseTimes => "response-times",
            Section::Milestones => "milestones",
            Section::Satisfaction => "satisfaction",
            Section::TimeLogged => "time-logged",
            Section::BusiestHours => "busiest-hours",
        }
    }

    pub fn parse(name: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The column headings and rows.
    pub fn table(self, report: &Report) -> (Vec<&'static str>, Vec<Vec<Cell>>) {
        let n = |v: u32| Cell::Number(f64::from(v));
        let maybe = |v: Option<u32>| v.map_or(Cell::Empty, |v| Cell::Number(f64::from(v)));
        let share = |v: Option<f64>| v.map_or(Cell::Empty, Cell::Number);
        match self {
            Section::Daily => (
                vec!["date", "created", "resolved", "backlog"],
                report
                    .days
                    .iter()
                    .map(|d| {
                        vec![
                            Cell::Text(d.date.to_string()),
                            n(d.created),
                            n(d.resolved),
                            Cell::Number(d.backlog as f64),
                        ]
                    })
                    .collect(),
            ),
            Section::ResponseTimes => (
                vec!["measure", "count", "median_seconds", "p90_seconds"],
                [
                    ("first response", report.first_response),
                    ("resolution", report.resolution),
                ]
                .into_iter()
                .map(|(name, d)| {
                    vec![
                        Cell::Text(name.into()),
                        n(d.count),
                        maybe(d.median_seconds),
                        maybe(d.p90_seconds),
                    ]
                })
                .collect(),
            ),
            Section::Milestones => (
                vec!["met", "missed", "attainment_percent"],
                vec![vec![
                    n(report.milestones.met),
                    n(report.milestones.missed),
                    share(report.milestones.percent),
                ]],
            ),
            Section::Satisfaction => (
                vec!["good", "bad", "good_percent"],
                vec![vec![
                    n(report.satisfaction.good),
                    n(report.satisfaction.bad),
                    share(report.satisfaction.percent),
                ]],
            ),
            Section::TimeLogged => (
                vec!["type", "agent", "minutes"],
                report
                    .time_logged
                    .iter()
                    .map(|t| {
                        vec![
                            Cell::Text(t.kind.clone()),
                            Cell::Text(t.agent.clone()),
                            Cell::Number(t.minutes as f64),
                        ]
                    })
                    .collect(),
            ),
            Section::BusiestHours => (
                vec!["weekday", "hour", "created"],
                report
                    .busiest_hours
                    .iter()
                    .enumerate()
                    .flat_map(|(day, hours)| {
                        hours.iter().enumerate().map(move |(hour, count)| {
                            vec![
                                Cell::Text(WEEKDAYS[day].into()),
                                Cell::Number(hour as f64),
                                Cell::Number(f64::from(*count)),
                            ]
                        })
                    })
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(nearest_rank(&[5], 90), Some(5));
        assert_eq!(nearest_rank(&[1, 2, 3, 4], 50), Some(2));
        assert_eq!(nearest_rank(&[1, 2, 3, 4, 5], 50), Some(3));
        let ten: Vec<u32> = (1..=10).collect();
        assert_eq!(nearest_rank(&ten, 90), Some(9));
        assert_eq!(nearest_rank(&ten, 91), Some(10));
    }

    #[test]
    fn subtracting_takes_back_exactly_what_was_added() {
        let mut a = Figures {
            created: 2,
            first_responses: vec![10, 20],
            minutes: BTreeMap::from([("amy".into(), BTreeMap::from([("Work".into(), 30)]))]),
            created_by_hour: BTreeMap::from([(9, 2)]),
            ..Default::default()
        };
        let b = Figures {
            created: 1,
            first_responses: vec![20],
            minutes: BTreeMap::from([("amy".into(), BTreeMap::from([("Work".into(), 30)]))]),
            created_by_hour: BTreeMap::from([(9, 1)]),
            ..Default::default()
        };
        let before = a.clone();
        a.add(&b);
        a.subtract(&b);
        let mut sorted = a.first_responses.clone();
        sorted.sort();
        assert_eq!(sorted, before.first_responses);
        assert_eq!(a.minutes, before.minutes);
        a.subtract(&before);
        assert!(a.is_empty(), "{a:?}");
    }

    fn utc(text: &str) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&chrono::Utc)
    }

    fn event(seq: u64, at: &str, actor: &str, kind: EventKind) -> ActivityEvent {
        ActivityEvent {
            seq,
            at: utc(at),
            actor: actor.into(),
            kind,
        }
    }

    #[test]
    fn a_case_contributes_business_time_and_people_s_answers_only() {
        // Monday to Friday, 9 to 17.
        let calendar = crate::domain::calendar::tests::office("Europe/Berlin");
        // Friday 6 March 2026, 16:00 in Berlin.
        let created = utc("2026-03-06T15:00:00Z");
        let mut case = crate::domain::case::CaseDraft {
            subject: "Parcel lost".into(),
            ..Default::default()
        }
        .into_case(1, 1, "amy", crate::domain::case::Source::Email, created)
        .unwrap();
        case.assignee = Some("amy".into());
        case.status = Status::Resolved;
        case.closed_at = Some(utc("2026-03-09T10:00:00Z"));
        let message = |body: &str| EventKind::Message {
            direction: Direction::Outbound,
            from: None,
            body: body.into(),
            email: None,
            delivery: None,
        };
        let activity = vec![
            // An acknowledgement answers no one.
            event(2, "2026-03-06T15:00:01Z", "docket", message("Thanks")),
            // Monday 10:00 in Berlin: one business hour on Friday, one on Monday.
            event(3, "2026-03-09T09:00:00Z", "amy", message("Found it")),
            event(
                4,
                "2026-03-09T10:00:00Z",
                "amy",
                EventKind::Closed { from: Status::Open },
            ),
        ];
        let record = CaseRecord {
            case: &case,
            activity: &activity,
            time: &[],
            calendar: Some(&calendar),
            machine_actors: &["docket"],
        };
        let zone: Tz = "Europe/Berlin".parse().unwrap();
        let slices = contribution(&record, zone);
        let friday = NaiveDate::from_ymd_opt(2026, 3, 6).unwrap();
        let monday = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
        let on = |day| {
            slices
                .iter()
                .find(|(s, _)| s.day == day)
                .map(|(_, f)| f.clone())
                .unwrap()
        };
        assert_eq!(on(friday).created, 1);
        assert_eq!(on(friday).created_by_hour, BTreeMap::from([(16, 1)]));
        assert_eq!(on(monday).first_responses, vec![2 * 3600]);
        assert_eq!(on(monday).resolutions, vec![3 * 3600]);
        assert_eq!(on(monday).resolved, 1);
        assert!(
            slices
                .keys()
                .all(|s| s.agent == "amy" && s.source == "email")
        );
        // In the trash it contributes nothing.
        let mut trashed = case.clone();
        trashed.deleted_at = Some(created);
        let record = CaseRecord {
            case: &trashed,
            ..record
        };
        assert!(contribution(&record, zone).is_empty());
    }

    #[test]
    fn the_backlog_starts_from_what_came_before_the_range() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        let slice = |d| Slice {
            day: day(d),
            channel: 1,
            category: String::new(),
            agent: String::new(),
            source: "email".into(),
        };
        let filter = ReportFilter {
            channels: vec![1],
            ..Default::default()
        };
        let mut builder = ReportBuilder::new(day(3), day(4), filter);
        let opened = |n| Figures {
            created: n,
            ..Default::default()
        };
        builder.add(&slice(1), &opened(5));
        builder.add(
            &slice(2),
            &Figures {
                resolved: 2,
                ..Default::default()
            },
        );
        builder.add(&slice(4), &opened(1));
        builder.add(&slice(9), &opened(100));
        let report = builder.finish();
        let backlog: Vec<i64> = report.days.iter().map(|d| d.backlog).collect();
        assert_eq!(backlog, vec![3, 4]);
        assert_eq!(report.created, 1);
    }
}
