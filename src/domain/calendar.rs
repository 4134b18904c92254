//! Business-hours calendars: a channel's weekly opening hours in its time
//! zone, and its holidays (on a date once, or every year). Service targets
//! counted in business hours skip closed hours and holidays. Pure: every
//! time is passed in.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::{RuleError, Timestamp};

/// How far ahead a due time is looked for: a calendar open one hour a
/// year still answers, and one that never opens cannot loop for ever.
const LOOK_AHEAD_DAYS: i64 = 3 * 366;

/// A period the desk is open on one day of the week, in local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpeningHours {
    /// `mon` … `sun`.
    pub day: String,
    /// `HH:MM`, local time.
    pub open: String,
    /// `HH:MM`, after `open`; `24:00` for midnight.
    pub close: String,
}

/// A day the desk is closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    pub date: NaiveDate,
    /// Every year on the same month and day.
    #[serde(default)]
    pub yearly: bool,
    #[serde(default)]
    pub name: String,
}

/// A channel's business hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calendar {
    /// An IANA time zone such as `Europe/Berlin`.
    pub time_zone: String,
    pub hours: Vec<OpeningHours>,
    #[serde(default)]
    pub holidays: Vec<Holiday>,
}

/// One open period, as minutes after local midnight.
#[derive(Debug, Clone, Copy)]
struct Period {
    day: Weekday,
    open: u32,
    close: u32,
}

fn weekday(field: &str, text: &str) -> Result<Weekday, RuleError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "mon" | "monday" => Ok(Weekday::Mon),
        "tue" | "tuesday" => Ok(Weekday::Tue),
        "wed" | "wednesday" => Ok(Weekday::Wed),
        "thu" | "thursday" => Ok(Weekday::Thu),
        "fri" | "friday" => Ok(Weekday::Fri),
        "sat" | "saturday" => Ok(Weekday::Sat),
        "sun" | "sunday" => Ok(Weekday::Sun),
        other => Err(RuleError::invalid(
            field,
            format!("'{other}' is not a day; use mon, tue, wed, thu, fri, sat or sun"),
        )),
    }
}

fn minutes(field: &str, text: &str) -> Result<u32, RuleError> {
    let text = text.trim();
    if text == "24:00" {
        return Ok(24 * 60);
    }
    NaiveTime::parse_from_str(text, "%H:%M")
        .map(|t| t.hour() * 60 + t.minute())
        .map_err(|_| RuleError::invalid(field, format!("'{text}' is not a time such as 09:00")))
}

impl Calendar {
    /// Checks the time zone, each period and the holidays.
    pub fn validated(mut self) -> Result<Calendar, RuleError> {
        self.time_zone = self.time_zone.trim().to_owned();
        self.time_zone.parse::<Tz>().map_err(|_| {
            RuleError::invalid(
                "calendar.time_zone",
                format!(
                    "'{}' is not a time zone; use a name such as Europe/Berlin or America/New_York",
                    self.time_zone
                ),
            )
        })?;
        if self.hours.is_empty() {
            return Err(RuleError::invalid(
                "calendar.hours",
                "a calendar needs at least one opening period",
            ));
        }
        if self.hours.len() > 7 * 4 {
            return Err(RuleError::invalid(
                "calendar.hours",
                "at most four opening periods per day",
            ));
        }
        let periods = self.periods()?;
        for (i, a) in periods.iter().enumerate() {
            if periods[i + 1..]
                .iter()
                .any(|b| a.day == b.day && a.open < b.close && b.open < a.close)
            {
                return Err(RuleError::invalid(
                    "calendar.hours",
                    format!("opening periods on {} overlap", self.hours[i].day),
                ));
            }
        }
        if self.holidays.len() > 1000 {
            return Err(RuleError::invalid(
                "calendar.holidays",
                "at most 1000 holidays",
            ));
        }
        for holiday in &mut self.holidays {
            holiday.name = holiday.name.trim().chars().take(100).collect();
        }
        Ok(self)
    }

    fn zone(&self) -> Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }

    fn periods(&self) -> Result<Vec<Period>, RuleError> {
        self.hours
            .iter()
            .map(|h| {
                let period = Period {
                    day: weekday("calendar.hours.day", &h.day)?,
                    open: minutes("calendar.hours.open", &h.open)?,
                    close: minutes("calendar.hours.close", &h.close)?,
                };
                if period.close <= period.open {
                    return Err(RuleError::invalid(
                        "calendar.hours.close",
                        format!(
                            "{} closes at {} before it opens at {}",
                            h.day, h.close, h.open
                        ),
                    ));
                }
                Ok(period)
            })
            .collect()
    }

    fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holidays.iter().any(|h| {
            h.date == date
                || (h.yearly && h.date.month() == date.month() && h.date.day() == date.day())
        })
    }

    /// The open periods of one local date, as UTC instants, in order.
    fn open_on(
        &self,
        zone: Tz,
        periods: &[Period],
        date: NaiveDate,
    ) -> Vec<(Timestamp, Timestamp)> {
        if self.is_holiday(date) {
            return Vec::new();
        }
        let instant = |minutes: u32| {
            let local = date.and_hms_opt(0, 0, 0).expect("midnight exists")
                + Duration::minutes(i64::from(minutes));
            // Across a clock change an hour repeats (take its first) or is
            // skipped (take the moment after).
            zone.from_local_datetime(&local)
                .earliest()
                .or_else(|| {
                    zone.from_local_datetime(&(local + Duration::hours(1)))
                        .earliest()
                })
                .map(|t| t.with_timezone(&chrono::Utc))
        };
        let mut open: Vec<(Timestamp, Timestamp)> = periods
            .iter()
            .filter(|p| p.day == date.weekday())
            .filter_map(|p| Some((instant(p.open)?, instant(p.close)?)))
            .filter(|(from, to)| from < to)
            .collect();
        open.sort();
        open
    }

    /// The moment `duration` of open time after `from`: closed hours and
    /// holidays do not count. `None` if the calendar does not open within
    /// three years.
    pub fn add_business_time(&self, from: Timestamp, duration: Duration) -> Option<Timestamp> {
        let zone = self.zone();
        let periods = self.periods().ok()?;
        let mut left = duration;
        let mut date = from.with_timezone(&zone).date_naive();
        for _ in 0..LOOK_AHEAD_DAYS {
            for (open, close) in self.open_on(zone, &periods, date) {
                let start = open.max(from);
                if start >= close {
                    continue;
                }
                let available = close - start;
                if left <= available {
                    return Some(start + left);
                }
                left -= available;
            }
            date = date.succ_opt()?;
        }
        None
    }

    /// How much open time lies between `from` and `to`.
    pub fn business_time_between(&self, from: Timestamp, to: Timestamp) -> Duration {
        let zone = self.zone();
        let Ok(periods) = self.periods() else {
            return Duration::zero();
        };
        let mut total = Duration::zero();
        let mut date = from.with_timezone(&zone).date_naive();
        let last = to.with_timezone(&zone).date_naive();
        while date <= last {
            for (open, close) in self.open_on(zone, &periods, date) {
                let (start, end) = (open.max(from), close.min(to));
                if start < end {
                    total += end - start;
                }
            }
            let Some(next) = date.succ_opt() else { break };
            date = next;
        }
        total
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn office(zone: &str) -> Calendar {
        Calendar {
            time_zone: zone.into(),
            hours: ["mon", "tue", "wed", "thu", "fri"]
                .iter()
                .map(|day| OpeningHours {
                    day: (*day).into(),
                    open: "09:00".into(),
                    close: "17:00".into(),
                })
                .collect(),
            holidays: Vec::new(),
        }
        .validated()
        .unwrap()
    }

    fn local(zone: &str, text: &str) -> Timestamp {
        let zone: Tz = zone.parse().unwrap();
        let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        zone.from_local_datetime(&naive)
            .unwrap()
            .with_timezone(&chrono::Utc)
    }

    #[test]
    fn four_business_hours_from_friday_afternoon_end_on_monday() {
        let berlin = "Europe/Berlin";
        let mut calendar = office(berlin);
        // Friday 2026-03-06, 16:00.
        let friday = local(berlin, "2026-03-06 16:00");
        let due = calendar.add_business_time(friday, Duration::hours(4));
        assert_eq!(due, Some(local(berlin, "2026-03-09 12:00")));
        calendar.holidays.push(Holiday {
            date: NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
            yearly: false,
            name: "Closed".into(),
        });
        let due = calendar.add_business_time(friday, Duration::hours(4));
        assert_eq!(due, Some(local(berlin, "2026-03-10 12:00")));
        assert_eq!(
            calendar.business_time_between(friday, local(berlin, "2026-03-10 12:00")),
            Duration::hours(4)
        );
    }

    #[test]
    fn yearly_holidays_and_clock_changes() {
        let berlin = "Europe/Berlin";
        let mut calendar = office(berlin);
        calendar.holidays.push(Holiday {
            date: NaiveDate::from_ymd_opt(2020, 12, 25).unwrap(),
            yearly: true,
            name: "Christmas".into(),
        });
        // Thursday 2026-12-24 16:00 + 2h: Friday the 25th is closed.
        let due = calendar.add_business_time(local(berlin, "2026-12-24 16:00"), Duration::hours(2));
        assert_eq!(due, Some(local(berlin, "2026-12-28 10:00")));
        // Clocks go forward on Sunday 2026-03-29: Friday 16:00 + 2h is
        // Monday 10:00 local, 23 hours of wall clock fewer than a week later.
        let due = calendar.add_business_time(local(berlin, "2026-03-27 16:00"), Duration::hours(2));
        assert_eq!(due, Some(local(berlin, "2026-03-30 10:00")));
    }

    #[test]
    fn before_opening_the_clock_starts_at_opening() {
        let calendar = office("America/New_York");
        let early = local("America/New_York", "2026-03-04 06:30");
        assert_eq!(
            calendar.add_business_time(early, Duration::minutes(30)),
            Some(local("America/New_York", "2026-03-04 09:30"))
        );
    }

    #[test]
    fn bad_calendars_are_refused_by_field() {
        let mut bad = office("Europe/Berlin");
        bad.time_zone = "Mars/Olympus".into();
        let refused = bad.validated().unwrap_err();
        assert!(refused.to_string().contains("time zone"), "{refused}");
        let mut bad = office("Europe/Berlin");
        bad.hours[0].close = "08:00".into();
        assert!(bad.validated().is_err());
        let mut bad = office("Europe/Berlin");
        bad.hours[0].day = "someday".into();
        assert!(bad.validated().is_err());
        let mut bad = office("Europe/Berlin");
        bad.hours.push(OpeningHours {
            day: "mon".into(),
            open: "16:00".into(),
            close: "18:00".into(),
        });
        assert!(bad.validated().unwrap_err().to_string().contains("overlap"));
        let mut closed = office("UTC");
        closed.hours.clear();
        assert!(closed.validated().is_err());
    }
}
