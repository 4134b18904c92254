//! Reports: the figures of a date range, and each section's numbers as CSV
//! or a spreadsheet. Channel managers read their channels, administrators
//! all.

use chrono::{Datelike, NaiveDate};
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::{ApiTags, TokenAuth, state};
use crate::domain::report::{Durations, Section};
use crate::export::tables::{Format, SectionFile, section_file};
use crate::http::error::ApiError;
use crate::service::{ReportAnswer, ReportQuery, ServiceError};

#[derive(Default)]
pub struct ReportsApi;

/// A report over a date range (local days in the reports' time zone).
#[derive(Debug, Clone, Object)]
pub struct ReportView {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The time zone days and hours are counted in.
    pub time_zone: String,
    /// The figures are being built from the cases (after an upgrade, an
    /// import or a reindex): the numbers are not complete yet.
    pub building: bool,
    /// The channels counted.
    pub channels: Vec<ReportChannel>,
    /// Durations are in business hours for the channels counted that keep
    /// business hours (wall-clock time for the others).
    pub business_hours: bool,
    /// Cases created in the range.
    pub created: u32,
    /// Resolutions in the range (a case resolved twice counts twice).
    pub resolved: u32,
    /// One line per day of the range.
    pub days: Vec<ReportDay>,
    /// From creation to the first answer by a person, by the day answered.
    pub first_response: ReportDurations,
    /// From creation to resolution, by the day resolved (cases resolved
    /// now).
    pub resolution: ReportDurations,
    /// Milestones met on time or missed, by the day it was known.
    pub milestones: ReportAttainment,
    pub satisfaction: ReportSatisfaction,
    /// Minutes logged by time type and by the person who logged them.
    pub time_logged: Vec<ReportTimeLogged>,
    /// Cases created by weekday (seven rows, Monday first) and local hour
    /// (24 columns).
    pub busiest_hours: Vec<Vec<u32>>,
}

#[derive(Debug, Clone, Object)]
pub struct ReportChannel {
    pub id: u64,
    pub name: String,
}

#[derive(Debug, Clone, Object)]
pub struct ReportDay {
    pub date: NaiveDate,
    pub created: u32,
    pub resolved: u32,
    /// Cases open at the end of the day.
    pub backlog: i64,
}

/// Median and 90th percentile (nearest rank), in seconds.
#[derive(Debug, Clone, Object)]
pub struct ReportDurations {
    pub count: u32,
    #[oai(nullable)]
    pub median_seconds: Option<u32>,
    #[oai(nullable)]
    pub p90_seconds: Option<u32>,
}

#[derive(Debug, Clone, Object)]
pub struct ReportAttainment {
    pub met: u32,
    pub missed: u32,
    /// Met among met and missed, in percent; null when none.
    #[oai(nullable)]
    pub percent: Option<f64>,
}

#[derive(Debug, Clone, Object)]
pub struct ReportSatisfaction {
    pub good: u32,
    pub bad: u32,
    /// Good among all ratings, in percent; null when none.
    #[oai(nullable)]
    pub percent: Option<f64>,
}

#[derive(Debug, Clone, Object)]
pub struct ReportTimeLogged {
    #[oai(rename = "type")]
    pub kind: String,
    pub agent: String,
    pub minutes: u64,
}

impl From<Durations> for ReportDurations {
    fn from(d: Durations) -> Self {
        ReportDurations {
            count: d.count,
            median_seconds: d.median_seconds,
            p90_seconds: d.p90_seconds,
        }
    }
}

impl From<ReportAnswer> for ReportView {
    fn from(answer: ReportAnswer) -> Self {
        let r = answer.report;
        ReportView {
            from: r.from,
            to: r.to,
            time_zone: answer.time_zone,
            building: answer.building,
            channels: answer
                .channels
                .into_iter()
                .map(|(id, name)| ReportChannel { id, name })
                .collect(),
            business_hours: answer.business_hours,
            created: r.created,
            resolved: r.resolved,
            days: r
                .days
                .into_iter()
                .map(|d| ReportDay {
                    date: d.date,
                    created: d.created,
                    resolved: d.resolved,
                    backlog: d.backlog,
                })
                .collect(),
            first_response: r.first_response.into(),
            resolution: r.resolution.into(),
            milestones: ReportAttainment {
                met: r.milestones.met,
                missed: r.milestones.missed,
                percent: r.milestones.percent,
            },
            satisfaction: ReportSatisfaction {
                good: r.satisfaction.good,
                bad: r.satisfaction.bad,
                percent: r.satisfaction.percent,
            },
            time_logged: r
                .time_logged
                .into_iter()
                .map(|t| ReportTimeLogged {
                    kind: t.kind,
                    agent: t.agent,
                    minutes: t.minutes,
                })
                .collect(),
            busiest_hours: r.busiest_hours.iter().map(|h| h.to_vec()).collect(),
        }
    }
}

#[derive(ApiResponse)]
enum CsvFile {
    /// The section's table, a header line first.
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    File(
        Binary<Vec<u8>>,
        #[oai(header = "Content-Disposition")] String,
    ),
}

#[derive(ApiResponse)]
enum XlsxFile {
    /// The section's table as a one-sheet workbook.
    #[oai(
        status = 200,
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )]
    File(
        Binary<Vec<u8>>,
        #[oai(header = "Content-Disposition")] String,
    ),
}

/// Reads a `YYYY-MM-DD` query value, naming the field when it is not one.
pub fn parse_day(field: &str, text: Option<&str>) -> Result<Option<NaiveDate>, ServiceError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|day| (1970..=9999).contains(&day.year()))
        .map(Some)
        .ok_or_else(|| {
            ServiceError::invalid(field, format!("'{text}' is not a date such as 2026-03-31"))
        })
}

fn filled(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

#[allow(clippy::too_many_arguments)]
fn query_of(
    from: Option<String>,
    to: Option<String>,
    channel: Option<u64>,
    category: Option<String>,
    agent: Option<String>,
    source: Option<String>,
) -> Result<ReportQuery, ServiceError> {
    Ok(ReportQuery {
        from: parse_day("from", from.as_deref())?,
        to: parse_day("to", to.as_deref())?,
        channel,
        category: filled(category),
        agent: filled(agent).map(|a| a.to_lowercase()),
        source: filled(source),
    })
}

fn section_of(name: &str) -> Result<Section, ServiceError> {
    Section::parse(name).ok_or_else(|| {
        let known: Vec<&str> = Section::ALL.iter().map(|s| s.name()).collect();
        ServiceError::invalid(
            "section",
            format!("'{name}' is not a section; use {}", known.join(", ")),
        )
    })
}

/// One section of the report asked for, as a file.
async fn section_download(
    req: &Request,
    auth: &TokenAuth,
    section: &str,
    query: ReportQuery,
    format: Format,
) -> Result<SectionFile, ApiError> {
    let section = section_of(section)?;
    let answer = state(req).service.report(&auth.0, query).await?;
    section_file(section, &answer.report, format)
        .map_err(|e| ServiceError::Output(e.to_string()).into())
}

#[OpenApi(tag = "ApiTags::Reports")]
impl ReportsApi {
    /// A report: cases created and resolved per day, the backlog, first
    /// response and resolution times (median, 90th percentile; business
    /// hours where the channel keeps them), milestone attainment,
    /// satisfaction, time logged and the busiest hours. `from` and `to`
    /// are days (`2026-03-01`, default: the last 30 days); `channel`,
    /// `category`, `agent` (the assignee; for time, who logged it) and
    /// `source` narrow it. Channel managers see their channels,
    /// administrators all.
    #[oai(path = "/reports", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn report(
        &self,
        req: &Request,
        auth: TokenAuth,
        from: Query<Option<String>>,
        to: Query<Option<String>>,
        channel: Query<Option<u64>>,
        category: Query<Option<String>>,
        agent: Query<Option<String>>,
        source: Query<Option<String>>,
    ) -> Result<Json<ReportView>, ApiError> {
        let query = query_of(from.0, to.0, channel.0, category.0, agent.0, source.0)?;
        let answer = state(req).service.report(&auth.0, query).await?;
        Ok(Json(answer.into()))
    }

    /// The numbers of one section of a report as CSV: `daily`,
    /// `response-times`, `milestones`, `satisfaction`, `time-logged` or
    /// `busiest-hours`. Takes the filters of `GET /reports`.
    #[oai(path = "/reports/:section/csv", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn csv(
        &self,
        req: &Request,
        auth: TokenAuth,
        section: Path<String>,
        from: Query<Option<String>>,
        to: Query<Option<String>>,
        channel: Query<Option<u64>>,
        category: Query<Option<String>>,
        agent: Query<Option<String>>,
        source: Query<Option<String>>,
    ) -> Result<CsvFile, ApiError> {
        let query = query_of(from.0, to.0, channel.0, category.0, agent.0, source.0)?;
        let file = section_download(req, &auth, &section.0, query, Format::Csv).await?;
        Ok(CsvFile::File(Binary(file.bytes), file.disposition))
    }

    /// The numbers of one section of a report as an .xlsx workbook; as
    /// `GET /reports/{section}/csv`.
    #[oai(path = "/reports/:section/xlsx", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn xlsx(
        &self,
        req: &Request,
        auth: TokenAuth,
        section: Path<String>,
        from: Query<Option<String>>,
        to: Query<Option<String>>,
        channel: Query<Option<u64>>,
        category: Query<Option<String>>,
        agent: Query<Option<String>>,
        source: Query<Option<String>>,
    ) -> Result<XlsxFile, ApiError> {
        let query = query_of(from.0, to.0, channel.0, category.0, agent.0, source.0)?;
        let file = section_download(req, &auth, &section.0, query, Format::Xlsx).await?;
        Ok(XlsxFile::File(Binary(file.bytes), file.disposition))
    }
}
