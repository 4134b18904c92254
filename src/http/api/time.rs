//! Time tracking on a case: timers, entries, totals.

use chrono::{DateTime, NaiveDate, Utc};
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::json_body::JsonBody;
use super::{ApiTags, TokenAuth, state};
use crate::domain::time::{TimeEntry, Timer};
use crate::http::error::ApiError;
use crate::service::{NewTimeEntry, TimeEntryChange};

#[derive(Default)]
pub struct TimeApi;

#[derive(Debug, Object)]
struct TimerView {
    case: u64,
    started_at: DateTime<Utc>,
}

impl From<Timer> for TimerView {
    fn from(t: Timer) -> Self {
        TimerView {
            case: t.case,
            started_at: t.started_at,
        }
    }
}

#[derive(Debug, Object)]
struct TimeEntryView {
    id: u64,
    case: u64,
    username: String,
    minutes: u32,
    #[oai(rename = "type")]
    kind: String,
    date: NaiveDate,
    #[oai(nullable)]
    note: Option<String>,
    created_at: DateTime<Utc>,
    /// Logged by stopping a timer.
    from_timer: bool,
}

impl From<TimeEntry> for TimeEntryView {
    fn from(e: TimeEntry) -> Self {
        TimeEntryView {
            id: e.id,
            case: e.case,
            username: e.username,
            minutes: e.minutes,
            kind: e.kind,
            date: e.date,
            note: e.note,
            created_at: e.created_at,
            from_timer: e.from_timer,
        }
    }
}

#[derive(Debug, Object)]
struct TypeTotal {
    #[oai(rename = "type")]
    kind: String,
    minutes: u64,
}

#[derive(Debug, Object)]
struct TimeSheetView {
    entries: Vec<TimeEntryView>,
    total_minutes: u64,
    /// Totals per time type (types with time only).
    by_type: Vec<TypeTotal>,
    /// The estimate set by a channel manager.
    #[oai(nullable)]
    estimate_minutes: Option<u32>,
    /// When your timer on this case started, if it runs.
    #[oai(nullable)]
    running_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct NewTimeBody {
    /// Minutes, hours or days: `"90m"`, `"1.5h"`, `"2d"` (a day is
    /// `time.hours_per_day` hours), or `"45"` for minutes.
    duration: String,
    /// One of the configured time types (default: the first).
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    #[oai(nullable)]
    kind: Option<String>,
    /// The day the work was done (default: today).
    #[oai(nullable)]
    date: Option<NaiveDate>,
    #[oai(nullable)]
    note: Option<String>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct TimePatchBody {
    #[oai(nullable)]
    duration: Option<String>,
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    #[oai(nullable)]
    kind: Option<String>,
    #[oai(nullable)]
    date: Option<NaiveDate>,
    #[serde(default)]
    note: MaybeUndefined<String>,
}

#[derive(ApiResponse)]
enum EntryCreated {
    #[oai(status = 201)]
    Created(Json<TimeEntryView>),
}

#[derive(ApiResponse)]
enum Deleted {
    #[oai(status = 204)]
    NoContent,
}

#[OpenApi(tag = "ApiTags::Cases")]
impl TimeApi {
    /// Start your timer on a case (a timer on another case is stopped and
    /// its time logged there). Needs time tracking in the case's channel.
    #[oai(path = "/cases/:number/timer/start", method = "post")]
    async fn start(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
    ) -> Result<Json<TimerView>, ApiError> {
        let timer = state(req).service.start_timer(&auth.0, number.0).await?;
        Ok(Json(timer.into()))
    }

    /// Stop your timer on a case and log the time.
    #[oai(path = "/cases/:number/timer/stop", method = "post")]
    async fn stop(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
    ) -> Result<EntryCreated, ApiError> {
        let entry = state(req).service.stop_timer(&auth.0, number.0).await?;
        Ok(EntryCreated::Created(Json(entry.into())))
    }

    /// The time logged on a case, with totals and the estimate.
    #[oai(path = "/cases/:number/time", method = "get")]
    async fn sheet(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
    ) -> Result<Json<TimeSheetView>, ApiError> {
        let sheet = state(req).service.time_sheet(&auth.0, number.0)?;
        Ok(Json(TimeSheetView {
            entries: sheet.entries.into_iter().map(Into::into).collect(),
            total_minutes: sheet.total_minutes,
            by_type: sheet
                .by_type
                .into_iter()
                .map(|(kind, minutes)| TypeTotal { kind, minutes })
                .collect(),
            estimate_minutes: sheet.estimate_minutes,
            running_since: sheet.running_since,
        }))
    }

    /// Log time by hand.
    #[oai(path = "/cases/:number/time", method = "post")]
    async fn log(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
        body: JsonBody<NewTimeBody>,
    ) -> Result<EntryCreated, ApiError> {
        let b = body.0;
        let entry = state(req)
            .service
            .log_time(
                &auth.0,
                number.0,
                NewTimeEntry {
                    duration: b.duration,
                    kind: b.kind,
                    date: b.date,
                    note: b.note,
                },
            )
            .await?;
        Ok(EntryCreated::Created(Json(entry.into())))
    }

    /// Change a time entry (your own; a channel manager may change any).
    #[oai(path = "/cases/:number/time/:id", method = "patch")]
    async fn update(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
        id: Path<u64>,
        body: JsonBody<TimePatchBody>,
    ) -> Result<Json<TimeEntryView>, ApiError> {
        let b = body.0;
        let note = match b.note {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(v) => Some(Some(v)),
        };
        let entry = state(req)
            .service
            .update_time_entry(
                &auth.0,
                number.0,
                id.0,
                TimeEntryChange {
                    duration: b.duration,
                    kind: b.kind,
                    date: b.date,
                    note,
                },
            )
            .await?;
        Ok(Json(entry.into()))
    }

    /// Delete a time entry (your own; a channel manager may delete any).
    #[oai(path = "/cases/:number/time/:id", method = "delete")]
    async fn delete(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
        id: Path<u64>,
    ) -> Result<Deleted, ApiError> {
        state(req)
            .service
            .delete_time_entry(&auth.0, number.0, id.0)
            .await?;
        Ok(Deleted::NoContent)
    }
}
