//! Charts drawn on the server as SVG: readable without script, each with a
//! title and a description for screen readers, and a tooltip (`<title>`)
//! on every mark. The numbers behind each chart are also on the page as a
//! table and downloadable.

use std::fmt::Write;

use chrono::{Datelike, NaiveDate};

use crate::domain::report::{DayLine, TimeLine, WEEKDAYS};

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 12.0;

/// Escapes text for SVG content and attributes.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn open_svg(id: &str, title: &str, desc: &str, width: f64, height: f64) -> String {
    format!(
        "<svg class=\"chart\" id=\"{id}\" viewBox=\"0 0 {width} {height}\" role=\"img\" \
         aria-labelledby=\"{id}-title {id}-desc\" preserveAspectRatio=\"xMinYMin meet\">\
         <title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        esc(title),
        esc(desc)
    )
}

/// A round step for an axis reaching `max`, and the axis' top.
fn axis(max: f64) -> (f64, f64) {
    if max <= 0.0 {
        return (1.0, 1.0);
    }
    let rough = max / 4.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * magnitude)
        .max(1.0);
    (step, (max / step).ceil() * step)
}

fn grid(out: &mut String, top_value: f64, step: f64, width: f64) {
    let plot = HEIGHT - BOTTOM - TOP;
    let mut value = 0.0;
    while value <= top_value + 0.5 {
        let y = TOP + plot - value / top_value * plot;
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{width}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{value}</text>",
            LEFT - 6.0,
            y + 4.0
        );
        value += step;
    }
}

/// Days grouped so that a long range still shows readable bars: by day up
/// to three months, by week up to a year and a bit, by month beyond.
pub struct Bucket {
    pub label: String,
    pub created: u32,
    pub resolved: u32,
    /// The backlog at the end of the bucket.
    pub backlog: i64,
}

pub fn buckets(days: &[DayLine]) -> Vec<Bucket> {
    let key = |d: NaiveDate| -> (i32, u32) {
        match days.len() {
            0..=92 => (d.num_days_from_ce(), 0),
            93..=400 => (d.iso_week().year(), d.iso_week().week()),
            _ => (d.year(), d.month()),
        }
    };
    let mut out: Vec<(_, Bucket)> = Vec::new();
    for day in days {
        let k = key(day.date);
        match out.last_mut() {
            Some((last, bucket)) if *last == k => {
                bucket.created += day.created;
                bucket.resolved += day.resolved;
                bucket.backlog = day.backlog;
            }
            _ => {
                let label = match days.len() {
                    0..=92 => day.date.format("%b %-d").to_string(),
                    93..=400 => format!("week of {}", day.date.format("%b %-d")),
                    _ => day.date.format("%b %Y").to_string(),
                };
                out.push((
                    k,
                    Bucket {
                        label,
                        created: day.created,
                        resolved: day.resolved,
                        backlog: day.backlog,
                    },
                ))
            }
        }
    }
    out.into_iter().map(|(_, b)| b).collect()
}

/// Labels along the bottom: at most about eight, evenly spaced.
fn x_labels(out: &mut String, buckets: &[Bucket], x_of: impl Fn(usize) -> f64) {
    let every = buckets.len().div_ceil(8).max(1);
    for (i, bucket) in buckets.iter().enumerate().step_by(every) {
        let label = bucket.label.trim_start_matches("week of ");
        let _ = write!(
            out,
            "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x_of(i),
            HEIGHT - 8.0,
            esc(label)
        );
    }
}

/// Created and resolved side by side for each day (or week, or month).
pub fn created_and_resolved(buckets: &[Bucket], created: u32, resolved: u32) -> String {
    let desc = format!(
        "{created} cases created and {resolved} resolutions over {} {}.",
        buckets.len(),
        unit(buckets)
    );
    let mut out = open_svg(
        "chart-volume",
        "Cases created and resolved",
        &desc,
        WIDTH,
        HEIGHT,
    );
    let max = buckets
        .iter()
        .map(|b| b.created.max(b.resolved))
        .max()
        .unwrap_or(0);
    let (step, top) = axis(f64::from(max));
    grid(&mut out, top, step, WIDTH);
    let plot = HEIGHT - BOTTOM - TOP;
    let slot = (WIDTH - LEFT) / buckets.len().max(1) as f64;
    let bar = (slot * 0.4).max(0.5);
    for (i, b) in buckets.iter().enumerate() {
        let x = LEFT + i as f64 * slot + slot * 0.1;
        for (offset, value, class, what) in [
            (0.0, b.created, "created", "created"),
            (bar, b.resolved, "resolved", "resolved"),
        ] {
            let h = f64::from(value) / top * plot;
            let _ = write!(
                out,
                "<rect class=\"bar {class}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\"><title>{}: {value} {what}</title></rect>",
                x + offset,
                TOP + plot - h,
                esc(&b.label)
            );
        }
    }
    x_labels(&mut out, buckets, |i| LEFT + (i as f64 + 0.5) * slot);
    out.push_str("</svg>");
    out
}

fn unit(buckets: &[Bucket]) -> &'static str {
    match buckets.first().map(|b| b.label.as_str()) {
        Some(l) if l.starts_with("week of") => "weeks",
        Some(l) if l.len() == 8 && l.chars().nth(3) == Some(' ') => "months",
        _ => "days",
    }
}

/// Open cases at the end of each day, as a line over a shaded area.
pub fn backlog(buckets: &[Bucket]) -> String {
    let first = buckets.first().map_or(0, |b| b.backlog);
    let last = buckets.last().map_or(0, |b| b.backlog);
    let peak = buckets.iter().map(|b| b.backlog).max().unwrap_or(0);
    let desc = format!("The backlog went from {first} to {last} open cases; its peak was {peak}.");
    let mut out = open_svg("chart-backlog", "Backlog", &desc, WIDTH, HEIGHT);
    let (step, top) = axis(peak.max(0) as f64);
    grid(&mut out, top, step, WIDTH);
    let plot = HEIGHT - BOTTOM - TOP;
    let slot = (WIDTH - LEFT) / buckets.len().max(1) as f64;
    let x_of = |i: usize| LEFT + (i as f64 + 0.5) * slot;
    let y_of = |v: i64| TOP + plot - (v.max(0) as f64) / top * plot;
    let points: Vec<String> = buckets
        .iter()
        .enumerate()
        .map(|(i, b)| format!("{:.1},{:.1}", x_of(i), y_of(b.backlog)))
        .collect();
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        let base = TOP + plot;
        let x0 = first.split(',').next().unwrap_or("0");
        let x1 = last.split(',').next().unwrap_or("0");
        let _ = write!(
            out,
            "<polygon class=\"area\" points=\"{x0},{base} {} {x1},{base}\"/>\
             <polyline class=\"line\" points=\"{}\"/>",
            points.join(" "),
            points.join(" ")
        );
    }
    for (i, b) in buckets.iter().enumerate() {
        let _ = write!(
            out,
            "<circle class=\"dot\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"{}\"><title>{}: {} open</title></circle>",
            x_of(i),
            y_of(b.backlog),
            if buckets.len() > 60 { 1.5 } else { 3.0 },
            esc(&b.label),
            b.backlog
        );
    }
    x_labels(&mut out, buckets, x_of);
    out.push_str("</svg>");
    out
}

/// Cases created by weekday and hour: darker is busier.
pub fn heat_map(hours: &[[u32; 24]; 7]) -> String {
    let cell = 26.0;
    let left = 92.0;
    let top = 18.0;
    let width = left + 24.0 * cell;
    let height = top + 7.0 * cell + 4.0;
    let max = hours.iter().flatten().copied().max().unwrap_or(0);
    let busiest = hours
        .iter()
        .enumerate()
        .flat_map(|(d, hs)| hs.iter().enumerate().map(move |(h, c)| (*c, d, h)))
        .max()
        .filter(|(c, _, _)| *c > 0);
    let desc = match busiest {
        Some((count, day, hour)) => format!(
            "The busiest hour was {} {hour:02}:00–{:02}:00 with {count} new cases.",
            WEEKDAYS[day],
            (hour + 1) % 24
        ),
        None => "No cases were created in the range.".to_owned(),
    };
    let mut out = open_svg(
        "chart-hours",
        "Busiest hours of the week",
        &desc,
        width,
        height,
    );
    for hour in (0..24).step_by(3) {
        let _ = write!(
            out,
            "<text class=\"axis\" x=\"{:.1}\" y=\"12\" text-anchor=\"middle\">{hour:02}</text>",
            left + (hour as f64 + 0.5) * cell
        );
    }
    for (day, counts) in hours.iter().enumerate() {
        let y = top + day as f64 * cell;
        let _ = write!(
            out,
            "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 8.0,
            y + cell * 0.65,
            &WEEKDAYS[day][..3]
        );
        for (hour, count) in counts.iter().enumerate() {
            let level = if max == 0 {
                0.0
            } else {
                f64::from(*count) / f64::from(max)
            };
            let _ = write!(
                out,
                "<rect class=\"heat\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill-opacity=\"{:.2}\"><title>{} {hour:02}:00: {count} created</title></rect>",
                left + hour as f64 * cell,
                cell - 2.0,
                cell - 2.0,
                0.06 + 0.94 * level,
                WEEKDAYS[day]
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// Minutes logged, one bar per time type and person, longest first.
pub fn time_logged(lines: &[TimeLine]) -> String {
    let shown: Vec<&TimeLine> = lines.iter().take(12).collect();
    let total: u64 = lines.iter().map(|l| l.minutes).sum();
    let desc = format!(
        "{} logged in all, in {} kinds of work by person.",
        hours_text(total),
        lines.len()
    );
    let row = 24.0;
    let left = 200.0;
    let height = (shown.len().max(1) as f64) * row + 8.0;
    let mut out = open_svg("chart-time", "Time logged", &desc, WIDTH, height);
    let max = shown.iter().map(|l| l.minutes).max().unwrap_or(0).max(1) as f64;
    for (i, line) in shown.iter().enumerate() {
        let y = 4.0 + i as f64 * row;
        let w = line.minutes as f64 / max * (WIDTH - left - 90.0);
        let who = if line.agent.is_empty() {
            "—"
        } else {
            &line.agent
        };
        let label = format!("{} · {who}", line.kind);
        let _ = write!(
            out,
            "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect class=\"bar time\" x=\"{left}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\"><title>{}: {}</title></rect>\
             <text class=\"value\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            left - 8.0,
            y + row * 0.62,
            esc(&label),
            row - 6.0,
            esc(&label),
            hours_text(line.minutes),
            left + w + 6.0,
            y + row * 0.62,
            hours_text(line.minutes)
        );
    }
    out.push_str("</svg>");
    out
}

/// Minutes as "3 h 20 min".
pub fn hours_text(minutes: u64) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// Seconds as the largest two units ("2 h 5 min", "3 d 4 h").
pub fn duration_text(seconds: u32) -> String {
    let (d, h, m) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
    );
    match (d, h, m) {
        (0, 0, 0) => "< 1 min".into(),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32, created: u32) -> DayLine {
        DayLine {
            date: NaiveDate::from_ymd_opt(2026, 3, d).unwrap(),
            created,
            resolved: 1,
            backlog: i64::from(created),
        }
    }

    #[test]
    fn charts_name_themselves_and_escape_labels() {
        let days = vec![day(1, 2), day(2, 5)];
        let svg = created_and_resolved(&buckets(&days), 7, 2);
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("7 cases created and 2 resolutions over 2 days"));
        let lines = vec![TimeLine {
            kind: "<Work>".into(),
            agent: "amy".into(),
            minutes: 90,
        }];
        let svg = time_logged(&lines);
        assert!(svg.contains("&lt;Work&gt; · amy"));
        assert!(!svg.contains("<Work>"));
    }

    #[test]
    fn long_ranges_are_grouped() {
        let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        let days: Vec<DayLine> = start
            .iter_days()
            .take(365)
            .map(|date| DayLine {
                date,
                created: 1,
                resolved: 0,
                backlog: 0,
            })
            .collect();
        let weeks = buckets(&days);
        assert!(weeks.len() <= 54, "{}", weeks.len());
        assert_eq!(weeks.iter().map(|b| b.created).sum::<u32>(), 365);
        assert_eq!(duration_text(3 * 3600 + 5 * 60), "3 h 5 min");
        assert_eq!(duration_text(90_000), "1 d 1 h");
        assert_eq!(axis(7.0), (2.0, 8.0));
    }
}
