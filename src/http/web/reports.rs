//! The reports page: a date range and filters, figures at a glance, charts
//! drawn as SVG on the server with their numbers beside them, and each
//! section's numbers as CSV or a spreadsheet.

use askama::Template;
use poem::http::{StatusCode, header};
use poem::web::{Html, Path, Query};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::charts;
use super::session::{WebError, app, in_words, require_session};
use super::shared::Nav;
use crate::domain::case::Source;
use crate::domain::report::{Cell, Durations, Section};
use crate::export::tables::{Format, section_file};
use crate::http::api::reports::parse_day;
use crate::service::{ReportAnswer, ReportQuery, ServiceError};

/// The filters as typed: kept as text so a refused value comes back.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    agent: String,
    #[serde(default)]
    source: String,
}

impl ReportForm {
    /// The query, or the field refused and why.
    fn query(&self) -> Result<ReportQuery, ServiceError> {
        let filled = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        let channel = match filled(&self.channel) {
            None => None,
            Some(text) => Some(text.parse().map_err(|_| {
                ServiceError::invalid("channel", format!("'{text}' is not a channel"))
            })?),
        };
        Ok(ReportQuery {
            from: parse_day("from", Some(&self.from))?,
            to: parse_day("to", Some(&self.to))?,
            channel,
            category: filled(&self.category),
            agent: filled(&self.agent).map(|a| a.to_lowercase()),
            source: filled(&self.source),
        })
    }

    /// The query string that asks for the same report.
    fn query_string(&self) -> String {
        let pairs = [
            ("from", &self.from),
            ("to", &self.to),
            ("channel", &self.channel),
            ("category", &self.category),
            ("agent", &self.agent),
            ("source", &self.source),
        ];
        pairs
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{k}={}", super::session::urlencode(v.trim())))
            .collect::<Vec<_>>()
            .join("&")
    }
}

struct Choice {
    value: String,
    label: String,
}

struct Tile {
    id: &'static str,
    label: &'static str,
    value: String,
    detail: String,
}

struct Table {
    section: &'static str,
    caption: &'static str,
    /// Column headings in words (the downloads keep the machine names).
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

struct Chart {
    section: &'static str,
    heading: &'static str,
    svg: String,
    /// What each colour stands for, by CSS class.
    legend: Vec<(&'static str, &'static str)>,
    /// Said instead of an empty chart.
    empty: Option<&'static str>,
    table: Table,
}

#[derive(Template)]
#[template(path = "reports/reports.html")]
struct ReportsPage {
    nav: Nav,
    form: ReportForm,
    query: String,
    channels: Vec<Choice>,
    categories: Vec<String>,
    agents: Vec<String>,
    sources: Vec<&'static str>,
    /// A refused filter: the field's name and why.
    error: Option<(String, String)>,
    summary: String,
    building: bool,
    tiles: Vec<Tile>,
    charts: Vec<Chart>,
    tables: Vec<Table>,
}

impl ReportsPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// `GET /reports`.
#[handler]
pub async fn reports_page(
    req: &Request,
    Query(form): Query<ReportForm>,
) -> Result<Response, WebError> {
    let session = require_session(req)?;
    let service = &app(req).service;
    let channels = service.report_channels(&session.user)?;
    if channels.is_empty() {
        return Err(ServiceError::Forbidden(
            "reports are for channel managers and administrators".into(),
        )
        .into());
    }
    let outcome = match form.query() {
        Ok(query) => service.report(&session.user, query).await,
        Err(refused) => Err(refused),
    };
    let mut agents: Vec<String> = Vec::new();
    for (id, _) in &channels {
        agents.extend(service.assignable_users(*id)?);
    }
    agents.sort();
    agents.dedup();
    let categories = service
        .list_categories(&session.user)?
        .into_iter()
        .map(|c| c.name)
        .collect();
    let mut page = ReportsPage {
        nav: Nav::new(&session, "reports"),
        query: form.query_string(),
        form,
        channels: channels
            .into_iter()
            .map(|(id, name)| Choice {
                value: id.to_string(),
                label: name,
            })
            .collect(),
        categories,
        agents,
        sources: Source::ALL.iter().map(|s| s.as_str()).collect(),
        error: None,
        summary: String::new(),
        building: false,
        tiles: Vec::new(),
        charts: Vec::new(),
        tables: Vec::new(),
    };
    let status = match outcome {
        Ok(answer) => {
            fill(&mut page, &answer);
            StatusCode::OK
        }
        Err(ServiceError::Invalid { field, message }) => {
            page.error = Some((field, message));
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(other) => {
            let message = in_words(&other);
            if !matches!(
                other,
                ServiceError::Forbidden(_) | ServiceError::NotFound(_)
            ) {
                return Err(other.into());
            }
            page.error = Some(("channel".into(), message));
            StatusCode::UNPROCESSABLE_ENTITY
        }
    };
    let body = page
        .render()
        .map_err(|e| WebError::Internal(format!("the page could not be rendered: {e}")))?;
    Ok((status, Html(body)).into_response())
}

fn fill(page: &mut ReportsPage, answer: &ReportAnswer) {
    let r = &answer.report;
    page.building = answer.building;
    let clock = if answer.business_hours {
        "business hours"
    } else {
        "hours on the clock"
    };
    page.summary = format!(
        "{} to {} ({} days), {}; days and hours in {}; times in {clock}.",
        r.from,
        r.to,
        r.days.len(),
        answer
            .channels
            .iter()
            .map(|(_, n)| n.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        answer.time_zone
    );
    let durations = |d: &Durations| match (d.median_seconds, d.p90_seconds) {
        (Some(m), Some(p)) => (
            charts::duration_text(m),
            format!(
                "90% within {} · {} cases",
                charts::duration_text(p),
                d.count
            ),
        ),
        _ => ("—".into(), "none in the range".into()),
    };
    let share = |p: Option<f64>, detail: String| Tile {
        id: "",
        label: "",
        value: p.map_or("—".into(), |p| format!("{p}%")),
        detail,
    };
    let (first, first_detail) = durations(&r.first_response);
    let (resolution, resolution_detail) = durations(&r.resolution);
    page.tiles = vec![
        Tile {
            id: "tile-created",
            label: "Created",
            value: r.created.to_string(),
            detail: format!("{} resolutions", r.resolved),
        },
        Tile {
            id: "tile-first-response",
            label: "First response (median)",
            value: first,
            detail: first_detail,
        },
        Tile {
            id: "tile-resolution",
            label: "Resolution (median)",
            value: resolution,
            detail: resolution_detail,
        },
        Tile {
            id: "tile-milestones",
            label: "Milestones met",
            ..share(
                r.milestones.percent,
                format!("{} met · {} missed", r.milestones.met, r.milestones.missed),
            )
        },
        Tile {
            id: "tile-satisfaction",
            label: "Satisfaction",
            ..share(
                r.satisfaction.percent,
                format!("{} good · {} bad", r.satisfaction.good, r.satisfaction.bad),
            )
        },
    ];
    let buckets = charts::buckets(&r.days);
    let quiet = r.created == 0 && r.resolved == 0;
    page.charts = vec![
        Chart {
            section: "daily",
            heading: "Created and resolved",
            svg: charts::created_and_resolved(&buckets, r.created, r.resolved),
            legend: vec![("created", "Created"), ("resolved", "Resolved")],
            empty: quiet.then_some("No cases were created or resolved in the range."),
            table: table(Section::Daily, "Per day", r),
        },
        Chart {
            section: "daily",
            heading: "Backlog",
            svg: charts::backlog(&buckets),
            legend: vec![("backlog", "Open at the end of the day")],
            empty: None,
            table: table(Section::Daily, "Open at the end of each day", r),
        },
        Chart {
            section: "busiest-hours",
            heading: "Busiest hours",
            svg: charts::heat_map(&r.busiest_hours),
            legend: vec![("heat", "Darker: more new cases")],
            empty: (r.created == 0).then_some("No cases were created in the range."),
            table: table(Section::BusiestHours, "New cases by weekday and hour", r),
        },
        Chart {
            section: "time-logged",
            heading: "Time logged",
            svg: charts::time_logged(&r.time_logged),
            legend: Vec::new(),
            empty: r
                .time_logged
                .is_empty()
                .then_some("No time was logged in the range."),
            table: table(Section::TimeLogged, "Minutes by type and person", r),
        },
    ];
    page.tables = vec![
        table(Section::ResponseTimes, "Response times in seconds", r),
        table(Section::Milestones, "Milestones", r),
        table(Section::Satisfaction, "Satisfaction", r),
    ];
}

fn table(section: Section, caption: &'static str, report: &crate::domain::report::Report) -> Table {
    let (headers, rows) = section.table(report);
    Table {
        section: section.name(),
        caption,
        headers: headers.iter().map(|h| heading_in_words(h)).collect(),
        rows: rows
            .into_iter()
            .map(|row| row.iter().map(cell_text).collect())
            .collect(),
    }
}

/// `median_seconds` as "Median (seconds)", for people reading the page.
fn heading_in_words(name: &str) -> String {
    let words = match name {
        "p90_seconds" => "90th percentile (seconds)".to_owned(),
        "attainment_percent" | "good_percent" => "Share (%)".to_owned(),
        other => match other.strip_suffix("_seconds") {
            Some(stem) => format!("{stem} (seconds)"),
            None => other.replace('_', " "),
        },
    };
    let mut chars = words.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn cell_text(cell: &Cell) -> String {
    match cell {
        Cell::Text(t) => t.clone(),
        Cell::Number(n) if n.fract() == 0.0 => format!("{n:.0}"),
        Cell::Number(n) => n.to_string(),
        Cell::Empty => "—".into(),
    }
}

/// `GET /reports/{section}.csv` and `.xlsx`: one section's numbers.
#[handler]
pub async fn download(
    req: &Request,
    Path(file): Path<String>,
    Query(form): Query<ReportForm>,
) -> Result<Response, WebError> {
    let session = require_session(req)?;
    let (name, extension) = file
        .rsplit_once('.')
        .ok_or_else(|| WebError::BadInput(format!("no report file named {file}")))?;
    let section = Section::parse(name)
        .ok_or_else(|| WebError::BadInput(format!("no report section named {name}")))?;
    let format = Format::parse(extension).ok_or_else(|| {
        WebError::BadInput(format!(
            "reports download as .csv or .xlsx, not .{extension}"
        ))
    })?;
    let answer = app(req)
        .service
        .report(&session.user, form.query()?)
        .await?;
    let file = section_file(section, &answer.report, format)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, format.content_type())
        .header(header::CONTENT_DISPOSITION, file.disposition)
        .body(file.bytes))
}
