//! The channel page's business hours: one opening period per weekday in a
//! time zone, and holidays one per line. Refused input comes back as typed
//! with the reason beside the form.

use poem::web::{Form, Path, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use crate::domain::calendar::{Calendar, Holiday, OpeningHours};
use crate::http::web::session::{WebError, app, require_form_session};
use crate::http::web::shared::parse_channel;
use crate::service::{ChannelChange, ServiceError};

const DAYS: [(&str, &str); 7] = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

pub struct DayRow {
    pub key: &'static str,
    pub label: &'static str,
    pub open: String,
    pub close: String,
}

/// What the business-hours form shows.
pub struct CalendarFields {
    pub set: bool,
    pub time_zone: String,
    pub days: Vec<DayRow>,
    /// One holiday per line: `2026-12-25 yearly Christmas`.
    pub holidays: String,
    /// Some day has more periods than the form shows (set through the API).
    pub several_periods: bool,
    pub error: Option<String>,
    /// The error is about the time zone: it is shown beside that field.
    pub error_on_zone: bool,
}

impl CalendarFields {
    pub fn of(calendar: Option<&Calendar>) -> CalendarFields {
        let period = |day: &str| {
            calendar
                .into_iter()
                .flat_map(|c| c.hours.iter())
                .filter(|h| h.day.eq_ignore_ascii_case(day))
                .collect::<Vec<_>>()
        };
        CalendarFields {
            set: calendar.is_some(),
            time_zone: calendar.map_or_else(String::new, |c| c.time_zone.clone()),
            days: DAYS
                .iter()
                .map(|(key, label)| {
                    let periods = period(key);
                    DayRow {
                        key,
                        label,
                        open: periods.first().map_or_else(String::new, |h| h.open.clone()),
                        close: periods
                            .first()
                            .map_or_else(String::new, |h| h.close.clone()),
                    }
                })
                .collect(),
            holidays: calendar
                .into_iter()
                .flat_map(|c| c.holidays.iter())
                .map(|h| {
                    let yearly = if h.yearly { " yearly" } else { "" };
                    format!("{}{yearly} {}", h.date, h.name).trim().to_owned()
                })
                .collect::<Vec<_>>()
                .join("\n"),
            several_periods: DAYS.iter().any(|(key, _)| period(key).len() > 1),
            error: None,
            error_on_zone: false,
        }
    }
}

#[derive(Deserialize)]
pub struct CalendarForm {
    csrf: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    holidays: String,
    remove: Option<String>,
    #[serde(default)]
    open_mon: String,
    #[serde(default)]
    close_mon: String,
    #[serde(default)]
    open_tue: String,
    #[serde(default)]
    close_tue: String,
    #[serde(default)]
    open_wed: String,
    #[serde(default)]
    close_wed: String,
    #[serde(default)]
    open_thu: String,
    #[serde(default)]
    close_thu: String,
    #[serde(default)]
    open_fri: String,
    #[serde(default)]
    close_fri: String,
    #[serde(default)]
    open_sat: String,
    #[serde(default)]
    close_sat: String,
    #[serde(default)]
    open_sun: String,
    #[serde(default)]
    close_sun: String,
}

impl CalendarForm {
    fn times(&self) -> [(&str, &str); 7] {
        [
            (&self.open_mon, &self.close_mon),
            (&self.open_tue, &self.close_tue),
            (&self.open_wed, &self.close_wed),
            (&self.open_thu, &self.close_thu),
            (&self.open_fri, &self.close_fri),
            (&self.open_sat, &self.close_sat),
            (&self.open_sun, &self.close_sun),
        ]
        .map(|(open, close)| (open.trim(), close.trim()))
    }

    /// The form as typed, to show again.
    fn typed(&self, error: String) -> CalendarFields {
        CalendarFields {
            set: true,
            time_zone: self.time_zone.trim().to_owned(),
            days: DAYS
                .iter()
                .zip(self.times())
                .map(|((key, label), (open, close))| DayRow {
                    key,
                    label,
                    open: open.to_owned(),
                    close: close.to_owned(),
                })
                .collect(),
            holidays: self.holidays.clone(),
            several_periods: false,
            error: Some(error),
            error_on_zone: false,
        }
    }

    fn calendar(&self) -> Result<Calendar, String> {
        let mut hours = Vec::new();
        for ((key, label), (open, close)) in DAYS.iter().zip(self.times()) {
            match (open.is_empty(), close.is_empty()) {
                (true, true) => {}
                (false, false) => hours.push(OpeningHours {
                    day: (*key).to_owned(),
                    open: open.to_owned(),
                    close: close.to_owned(),
                }),
                _ => {
                    return Err(format!(
                        "{label}: give both the opening and the closing time, or neither"
                    ));
                }
            }
        }
        if hours.is_empty() {
            return Err(
                "give the opening hours of at least one day, or tick \"No business hours\"".into(),
            );
        }
        let holidays = self
            .holidays
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(holiday)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Calendar {
            time_zone: self.time_zone.trim().to_owned(),
            hours,
            holidays,
        })
    }
}

/// `2026-12-25 yearly Christmas`, `2026-04-03 Good Friday` or `2026-05-01`.
fn holiday(line: &str) -> Result<Holiday, String> {
    let mut words = line.split_whitespace();
    let date = words.next().unwrap_or_default();
    let date = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_err(|_| format!("Holidays: '{line}' does not start with a date such as 2026-12-25"))?;
    let rest: Vec<&str> = words.collect();
    let yearly = rest
        .first()
        .is_some_and(|w| w.eq_ignore_ascii_case("yearly"));
    let name = rest[usize::from(yearly)..].join(" ");
    Ok(Holiday { date, yearly, name })
}

#[handler]
pub async fn save(
    req: &Request,
    Path(id): Path<String>,
    Form(form): Form<CalendarForm>,
) -> Result<Response, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let id = parse_channel(&id)?;
    let calendar = if form.remove.is_some() {
        None
    } else {
        match form.calendar() {
            Ok(calendar) => Some(calendar),
            Err(message) => return refused(req, &session, id, form.typed(message)),
        }
    };
    let change = ChannelChange {
        calendar: Some(calendar),
        ..Default::default()
    };
    match app(req)
        .service
        .update_channel(&session.user, id, change)
        .await
    {
        Ok(_) => Ok(Redirect::see_other(format!("/channels/{id}#business-hours")).into_response()),
        Err(refusal @ (ServiceError::Invalid { .. } | ServiceError::InvalidFields(_))) => {
            let on_zone = matches!(&refusal, ServiceError::Invalid { field, .. } if field == "calendar.time_zone");
            let message = crate::http::web::session::in_words(&refusal);
            let mut typed = form.typed(message);
            typed.error_on_zone = on_zone;
            refused(req, &session, id, typed)
        }
        Err(other) => Err(other.into()),
    }
}

fn refused(
    req: &Request,
    session: &crate::service::Session,
    id: crate::domain::channel::ChannelId,
    typed: CalendarFields,
) -> Result<Response, WebError> {
    let mut page = super::render_channel(req, session, id, Some(super::Refused::Calendar(typed)))?;
    page.set_status(poem::http::StatusCode::UNPROCESSABLE_ENTITY);
    Ok(page)
}
