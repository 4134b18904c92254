//! The case page (GET): loads the case through the service layer and
//! renders the workspace.

use super::view::*;
use poem::web::{Path, Query};
use poem::{Request, Response, handler};
use serde::Deserialize;

use crate::domain::activity::ActivityFilter;
use crate::domain::case::CaseNumber;
use crate::domain::link::LinkKind;
use crate::http::web::session::{WebError, app, require_session};
use crate::http::web::shared::{Choice, Nav, When, html, priority_choices, status_choices};

/// The case page's activity controls, from its URL.
#[derive(Deserialize, Default)]
pub struct ActivityQuery {
    #[serde(default)]
    activity: String,
    #[serde(default)]
    order: String,
    /// Show every event of a long thread, none folded.
    #[serde(default)]
    full: String,
}

/// Events shown at once on a long thread; older ones fold away.
const THREAD_SHOWN: usize = 12;

/// A milestone due within this many minutes shows as due soon.
const DUE_SOON_MINUTES: i64 = 60;

#[handler]
pub fn case_page(
    req: &Request,
    Path(number): Path<String>,
    Query(shown): Query<ActivityQuery>,
) -> Result<Response, WebError> {
    let session = require_session(req)?;
    let number: CaseNumber = number
        .trim_start_matches('#')
        .parse()
        .map_err(|_| WebError::BadInput(format!("'{number}' is not a case number")))?;
    let service = &app(req).service;
    let (case, channel, rights) = service.case_for_viewer(&session.user, number)?;
    service.note_read(&session.user, number);
    let filter = ActivityFilter::parse(&shown.activity).unwrap_or_default();
    // Oldest first unless asked otherwise: the conversation reads down to
    // the composer, and a long thread folds its older part away.
    let newest_first = shown.order == "newest";
    let reply_window = service
        .reply_window_closes(&case, channel.reply_window_hours)?
        .map(|closes| ReplyWindow::new(closes, chrono::Utc::now()));
    let files = service.case_files(&session.user, number)?;
    let files_by_id: std::collections::HashMap<u64, _> =
        files.iter().map(|f| (f.id, f.clone())).collect();
    let mut activity: Vec<ActivityRow> = service
        .activity_view(&session.user, number, filter, newest_first)?
        .into_iter()
        .map(|event| ActivityRow::new(event, &files_by_id))
        .collect();
    // A long thread shows its newest events; the older ones fold away.
    let folded = if shown.full.is_empty() {
        activity.len().saturating_sub(THREAD_SHOWN)
    } else {
        0
    };
    let older = if newest_first {
        THREAD_SHOWN..activity.len()
    } else {
        0..folded
    };
    if folded > 0 {
        for row in &mut activity[older] {
            row.folded = true;
        }
    }
    let update = UpdateForm {
        to: case
            .customer
            .as_ref()
            .and_then(|c| c.email.clone())
            .unwrap_or_default(),
        subject: crate::domain::mail::with_case_token(
            &format!("Re: {}", case.subject),
            case.number,
        ),
        personal_from: channel.personal_from && session.user.email.is_some(),
        can_send: channel.email_address.is_some(),
    };
    let files = files.iter().map(FileRow::new).collect();
    let order = if newest_first { "newest" } else { "oldest" };
    let activity_filters = ActivityFilter::ALL
        .into_iter()
        .map(|f| Choice {
            value: format!("?activity={}&order={order}#activity", f.as_str()),
            label: match f {
                ActivityFilter::All => "All",
                ActivityFilter::Messages => "Messages",
                ActivityFilter::Notes => "Notes",
                ActivityFilter::System => "System",
            }
            .into(),
            selected: f == filter,
        })
        .collect();
    let can_work = rights.can_work;
    let assignees = if can_work {
        let mut choices: Vec<Choice> = service
            .assignable_users(channel.id)?
            .into_iter()
            .map(|name| Choice {
                selected: case.assignee.as_deref() == Some(name.as_str()),
                label: name.clone(),
                value: name,
            })
            .collect();
        // Whoever holds the case stays shown (and kept on save), even when
        // they could not be given it now (deactivated, left the channel).
        if let Some(current) = &case.assignee
            && !choices.iter().any(|c| &c.value == current)
        {
            choices.insert(
                0,
                Choice {
                    value: current.clone(),
                    label: format!("{current} (cannot take new cases)"),
                    selected: true,
                },
            );
        }
        choices
    } else {
        Vec::new()
    };
    let details = case_details(&case, &channel.name);
    let profile = service
        .profile_fields(case.case_type.as_deref())
        .iter()
        .map(|field| ProfileInput::new(field, case.profile.get(&field.name)))
        .collect();
    let time = if channel.time_tracking && can_work {
        let sheet = service.time_sheet(&session.user, number)?;
        let show =
            |m: u64| crate::domain::activity::format_minutes(m.min(u64::from(u32::MAX)) as u32);
        Some(TimePanel {
            total: show(sheet.total_minutes),
            estimate: sheet.estimate_minutes.map(|m| show(u64::from(m))),
            percent_of_estimate: sheet
                .estimate_minutes
                .filter(|m| *m > 0)
                .map(|m| sheet.total_minutes * 100 / u64::from(m)),
            running_since: When::maybe(sheet.running_since),
            entries: sheet
                .entries
                .into_iter()
                .rev()
                .map(|e| TimeRow {
                    removable: rights.can_remove_time_of(&e.username),
                    id: e.id,
                    who: e.username,
                    duration: show(u64::from(e.minutes)),
                    kind: e.kind,
                    date: e.date.to_string(),
                    note: e.note.unwrap_or_default(),
                })
                .collect(),
            types: service.config().time.types.clone(),
            today: chrono::Utc::now().date_naive().to_string(),
        })
    } else {
        None
    };
    let links = service
        .linked_cases(&session.user, number)?
        .into_iter()
        .map(|(link, other)| LinkRow {
            merged_here: link.kind == LinkKind::MergedFrom,
            label: match link.kind {
                LinkKind::Related => "Related",
                LinkKind::Parent => "Parent",
                LinkKind::Child => "Child",
                LinkKind::DuplicateOf => "Duplicate of",
                LinkKind::Duplicate => "Duplicate",
                LinkKind::MergedInto => "Merged into",
                LinkKind::MergedFrom => "Merged from",
            },
            number: other.number,
            subject: other.subject,
            status: other.status.label(),
        })
        .collect();
    let milestones = service
        .milestones(&session.user, number)?
        .into_iter()
        .map(|m| MilestoneRow {
            soon: m.state == crate::domain::milestone::MilestoneState::Current
                && m.milestone.due_at - chrono::Utc::now()
                    < chrono::Duration::minutes(DUE_SOON_MINUTES),
            name: m.milestone.name,
            state: m.state.as_str(),
            due: When::new(m.milestone.due_at),
            completed: When::maybe(m.milestone.completed_at),
        })
        .collect();
    let (categories, case_types) = if can_work {
        let categories = service
            .list_categories(&session.user)?
            .into_iter()
            .map(|c| c.name)
            .collect();
        let types = service
            .declared_profiles(&session.user)?
            .into_keys()
            .collect();
        (categories, types)
    } else {
        (Vec::new(), Vec::new())
    };
    html(CasePage {
        can_manage: rights.can_manage,
        estimate_input: case
            .estimate_minutes
            .map(|m| {
                if m % 60 == 0 {
                    format!("{}h", m / 60)
                } else {
                    format!("{m}m")
                }
            })
            .unwrap_or_default(),
        categories,
        case_types,
        folded,
        show_all_href: format!(
            "?activity={}&order={}&full=1#activity",
            filter.as_str(),
            if newest_first { "newest" } else { "oldest" }
        ),
        nav: Nav::new(&session, "inbox"),
        channel_name: channel.name.clone(),
        status_label: case.status_label(),
        priority_label: case.priority.label(),
        details,
        can_work,
        statuses: status_choices(Some(case.status)),
        priorities: priority_choices(case.priority),
        assignees,
        deadline_input: case
            .deadline
            .map(|d| d.format("%Y-%m-%dT%H:%M:%S").to_string())
            .unwrap_or_default(),
        version: case
            .updated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        activity,
        activity_filters,
        activity_filter: filter.as_str(),
        activity_newest_first: newest_first,
        profile,
        time,
        links,
        milestones,
        files,
        update,
        reply_window,
        is_partner: rights.is_partner,
        llm: if rights.is_partner {
            None
        } else {
            app(req).service.llm_model().map(str::to_owned)
        },
        ai: if rights.is_partner {
            None
        } else {
            AiShown::new(&case)
        },
        social: match case.source {
            crate::domain::case::Source::Instagram => Some("Instagram"),
            crate::domain::case::Source::Facebook => Some("Facebook"),
            _ => None,
        },
        case,
    })
}

fn case_details(case: &crate::domain::case::Case, channel: &str) -> Vec<Detail> {
    let text = |label, value: String| Detail {
        label,
        value,
        when: None,
    };
    let by = |label, who: Option<&String>, at| Detail {
        label,
        value: who.map(|w| format!("by {w}")).unwrap_or_default(),
        when: When::maybe(at),
    };
    let or_dash = |v: Option<&String>| v.cloned().unwrap_or_else(|| "—".into());
    let mut details = vec![
        text("Channel", channel.to_owned()),
        text(
            "Status",
            format!(
                "{}{}",
                case.status.label(),
                if case.archived { " (archived)" } else { "" }
            ),
        ),
        text("Priority", case.priority.label().to_owned()),
        text("Assignee", or_dash(case.assignee.as_ref())),
        text("Category", or_dash(case.category.as_ref())),
        text("Type", or_dash(case.case_type.as_ref())),
        Detail {
            label: "Deadline",
            value: if case.deadline.is_none() {
                "—".into()
            } else {
                String::new()
            },
            when: When::maybe(case.deadline),
        },
        text(
            "Important",
            if case.important { "Yes" } else { "No" }.to_owned(),
        ),
        text("Source", case.source.as_str().to_owned()),
        text(
            "Customer",
            case.customer
                .as_ref()
                .map(|c| c.summary())
                .unwrap_or_else(|| "—".into()),
        ),
        text(
            "Device",
            case.device
                .as_ref()
                .map(|d| d.summary())
                .unwrap_or_else(|| "—".into()),
        ),
        text("Thread", or_dash(case.thread.as_ref())),
        by("Created", Some(&case.created_by), Some(case.created_at)),
        by("Updated", Some(&case.updated_by), Some(case.updated_at)),
    ];
    if case.assigned_at.is_some() {
        details.push(by("Assigned", case.assigned_by.as_ref(), case.assigned_at));
    }
    if case.closed_at.is_some() {
        details.push(by("Closed", case.closed_by.as_ref(), case.closed_at));
    }
    details
}
