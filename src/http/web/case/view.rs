//! What the case page shows, as template structs and display values.
//! Askama escapes every value, so subjects, names and notes can never
//! inject markup.

use askama::Template;

use crate::domain::Timestamp;
use crate::domain::activity::{ActivityEvent, Direction, EventKind};
use crate::domain::case::Case;
use crate::http::web::shared::{Choice, Nav, When};

/// A label and value in the case's details panel.
pub struct Detail {
    pub label: &'static str,
    pub value: String,
    pub when: Option<When>,
}

pub struct ActivityRow {
    /// The event's place in the stream.
    pub seq: u64,
    pub actor: String,
    pub summary: String,
    pub at: When,
    pub kind: &'static str,
    pub body: Option<String>,
    /// Notes: sanitised HTML from their Markdown.
    pub body_html: Option<String>,
    pub heading: Option<String>,
    /// For messages that travelled by email.
    pub email: Option<EmailRow>,
    /// Replies sent through another service: state and last error.
    pub delivery: Option<(String, String)>,
    /// Calls: the recording's file id.
    pub recording: Option<u64>,
    /// Where it sits in the conversation: `inbound`, `outbound`, `note` or
    /// `system` (shown compact).
    pub side: &'static str,
    /// The avatar's letters: who wrote it.
    pub initials: String,
    /// Folded away with the older part of a long thread.
    pub folded: bool,
    /// Written by the AI agent (a chat answer, a hand-over).
    pub by_ai: bool,
}

/// Up to two letters for an avatar: "Jane Doe <jane@x>" → "JD".
pub fn initials_of(name: &str) -> String {
    let name = name.split('<').next().unwrap_or(name).trim();
    let name = if name.is_empty() { "?" } else { name };
    let words: Vec<&str> = name
        .split(|c: char| c.is_whitespace() || c == '.' || c == '@' || c == '_')
        .filter(|w| !w.is_empty())
        .collect();
    let letters: String = match words.as_slice() {
        [] => name.chars().take(1).collect(),
        [one] => one.chars().take(2).collect(),
        [first, .., last] => first.chars().take(1).chain(last.chars().take(1)).collect(),
    };
    letters.to_uppercase()
}

/// How an email message shows on the case page.
pub struct EmailRow {
    pub subject: String,
    pub from_address: String,
    pub to: String,
    pub cc: String,
    pub bcc: String,
    /// The quoted conversation under the sender's own words, folded away.
    pub quoted: Option<String>,
    /// Sanitised HTML with inline images pointing at the case's files.
    pub html: Option<String>,
    pub attachments: Vec<(u64, String)>,
    /// "automatic reply" or "bounce".
    pub noise: Option<&'static str>,
    /// Outbound: "queued", "sent" or "not delivered", with the last error.
    pub delivery: Option<(String, String)>,
}

/// A delivery's state as a badge ("queued", "retrying", "sent", "not
/// delivered") and its last error.
fn delivery_shown(d: crate::domain::mail::DeliveryReport) -> (String, String) {
    let label = match d.state.as_str() {
        "pending" if d.attempts == 0 => "queued",
        "pending" => "retrying",
        "sent" => "sent",
        _ => "not delivered",
    };
    (label.to_owned(), d.last_error.unwrap_or_default())
}

impl EmailRow {
    fn new(
        email: crate::domain::mail::EmailPart,
        files: &std::collections::HashMap<u64, crate::domain::file::FileRecord>,
    ) -> EmailRow {
        use crate::domain::mail::Noise;
        let html = email.html.map(|html| {
            let mut html = html;
            for id in &email.attachments {
                if let Some(cid) = files.get(id).and_then(|f| f.content_id.as_deref()) {
                    // Content-IDs hold no quote or markup characters (see
                    // `mail::parse`), so this stays inside the attribute.
                    html = html.replace(
                        &format!("src=\"cid:{cid}\""),
                        &format!("src=\"/files/{id}\""),
                    );
                }
            }
            html
        });
        EmailRow {
            subject: email.subject,
            from_address: email.from_address,
            to: email.to.join(", "),
            cc: email.cc.join(", "),
            bcc: email.bcc.join(", "),
            quoted: None,
            html,
            attachments: email
                .attachments
                .iter()
                .map(|id| {
                    let name = files
                        .get(id)
                        .map(|f| f.name.clone())
                        .unwrap_or_else(|| format!("file {id}"));
                    (*id, name)
                })
                .collect(),
            noise: match email.noise {
                Noise::None => None,
                Noise::AutoReply => Some("automatic reply"),
                Noise::Bounce => Some("bounce"),
            },
            delivery: email.delivery.map(delivery_shown),
        }
    }
}

impl ActivityRow {
    pub fn new(
        event: ActivityEvent,
        files: &std::collections::HashMap<u64, crate::domain::file::FileRecord>,
    ) -> ActivityRow {
        let summary = event.kind.describe();
        let kind = event.kind.name();
        let by_ai = event.actor == crate::service::AI_ACTOR;
        let (side, author) = match &event.kind {
            EventKind::Message {
                direction: Direction::Inbound,
                from,
                ..
            } => (
                "inbound",
                from.clone().unwrap_or_else(|| event.actor.clone()),
            ),
            EventKind::Message { from, .. } => (
                "outbound",
                from.clone().unwrap_or_else(|| event.actor.clone()),
            ),
            EventKind::Call {
                direction: Direction::Inbound,
                ..
            } => ("inbound", event.actor.clone()),
            EventKind::Note { .. } => ("note", event.actor.clone()),
            _ => ("system", event.actor.clone()),
        };
        let body_html = match &event.kind {
            EventKind::Note { body } => Some(crate::markdown::note_html(body)),
            _ => None,
        };
        let mut email_row = None;
        let mut social_delivery = None;
        let recording = match &event.kind {
            EventKind::Call { recording, .. } => *recording,
            _ => None,
        };
        let (body, heading) = match event.kind {
            EventKind::Note { .. } => (None, Some("Internal note".to_owned())),
            EventKind::Message {
                direction,
                from,
                body,
                email,
                delivery,
            } => {
                social_delivery = delivery.map(delivery_shown);
                let mut body = body;
                if let Some(email) = email {
                    let mut row = EmailRow::new(*email, files);
                    let (own, quoted) = crate::domain::mail::split_quoted(&body);
                    if !quoted.is_empty() {
                        row.quoted = Some(quoted.to_owned());
                        body = own.trim_end().to_owned();
                    }
                    email_row = Some(row);
                }
                let heading = match (direction, from) {
                    (Direction::Inbound, Some(from)) => format!("Message from {from}"),
                    (Direction::Inbound, None) => "Message from the customer".to_owned(),
                    (Direction::Outbound, _) if by_ai => "Answered by the AI agent".to_owned(),
                    (Direction::Outbound, Some(from)) => format!("Message sent by {from}"),
                    (Direction::Outbound, None) => "Message to the customer".to_owned(),
                };
                (Some(body), Some(heading))
            }
            _ => (None, None),
        };
        ActivityRow {
            seq: event.seq,
            actor: event.actor,
            summary,
            at: When::new(event.at),
            kind,
            body,
            body_html,
            heading,
            email: email_row,
            delivery: social_delivery,
            recording,
            side,
            initials: if by_ai {
                "AI".to_owned()
            } else {
                initials_of(&author)
            },
            folded: false,
            by_ai,
        }
    }
}

/// A file in the case's files panel.
pub struct FileRow {
    pub id: u64,
    pub name: String,
    pub size: String,
    pub origin: &'static str,
    pub at: When,
    pub is_audio: bool,
}

impl FileRow {
    pub fn new(file: &crate::domain::file::FileRecord) -> FileRow {
        use crate::domain::file::FileOrigin;
        FileRow {
            id: file.id,
            name: file.name.clone(),
            size: human_size(file.size),
            origin: match file.origin {
                FileOrigin::Incoming => "received",
                FileOrigin::Outgoing => "sent",
                FileOrigin::Upload => "uploaded",
                FileOrigin::Original => "original message",
            },
            at: When::new(file.created_at),
            is_audio: file.content_type.starts_with("audio/"),
        }
    }
}

fn human_size(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    }
}

/// The Send Update form's starting values.
pub struct UpdateForm {
    pub to: String,
    pub subject: String,
    /// Whether "from me" is offered.
    pub personal_from: bool,
    /// Whether the channel can send at all (it has an address).
    pub can_send: bool,
}

#[derive(Template)]
#[template(path = "case/case.html")]
pub struct CasePage {
    pub nav: Nav,
    pub case: Case,
    pub channel_name: String,
    pub status_label: &'static str,
    pub priority_label: &'static str,
    pub details: Vec<Detail>,
    pub can_work: bool,
    pub statuses: Vec<Choice>,
    pub priorities: Vec<Choice>,
    pub assignees: Vec<Choice>,
    pub deadline_input: String,
    /// When the case was last changed, so a stale edit form is refused.
    pub version: String,
    pub activity: Vec<ActivityRow>,
    /// Links that filter and order the activity.
    pub activity_filters: Vec<Choice>,
    /// The filter shown (`all`, `messages`, `notes`, `system`).
    pub activity_filter: &'static str,
    pub activity_newest_first: bool,
    /// The profile fields of the case's type.
    pub profile: Vec<ProfileInput>,
    /// Present when the channel tracks time.
    pub time: Option<TimePanel>,
    pub links: Vec<LinkRow>,
    pub milestones: Vec<MilestoneRow>,
    pub files: Vec<FileRow>,
    pub update: UpdateForm,
    /// "Instagram" or "Facebook" for cases answered there.
    pub social: Option<&'static str>,
    /// Partners reply to their own cases and see nothing of the team's tools.
    pub is_partner: bool,
    /// For time-sensitive channels: when the reply window closes, and
    /// how long is left ("3 h 12 min") or that it has closed.
    pub reply_window: Option<ReplyWindow>,
    /// The viewer manages the case's channel (sets the estimate).
    pub can_manage: bool,
    /// The estimate as the field shows it ("4h", or empty).
    pub estimate_input: String,
    /// Category names and case types to pick from.
    pub categories: Vec<String>,
    pub case_types: Vec<String>,
    /// Older events folded away, and the link that shows them all.
    pub folded: usize,
    pub show_all_href: String,
    /// What the AI agent said, for staff.
    pub ai: Option<AiShown>,
    /// The language model's name, when one is configured (staff only).
    pub llm: Option<String>,
}

/// The AI agent's verdict as the properties panel shows it.
pub struct AiShown {
    /// It set the category itself: how sure it was.
    pub applied: Option<String>,
    /// The category it suggests, and how sure it is ("78 %").
    pub suggestion: Option<(String, String)>,
    /// The priority it suggests, when the case has another.
    pub priority: Option<String>,
}

/// A confidence as people read it; a model is never quite certain.
fn percent(p: Option<f32>) -> String {
    match p {
        None => String::new(),
        Some(p) if p >= 0.995 => "over 99 %".into(),
        Some(p) => format!("{:.0} %", p * 100.0),
    }
}

impl AiShown {
    pub fn new(case: &Case) -> Option<AiShown> {
        let verdict = case.ai.as_ref()?;
        let category_by_ai = case.category_by == Some(crate::domain::ai::Decider::Ai);
        let shown = AiShown {
            applied: category_by_ai.then(|| {
                // Applied but not its likeliest category: it was spam.
                if verdict.applied != verdict.category {
                    format!(
                        "Filed by the AI agent (spam, {} sure)",
                        percent(verdict.spam)
                    )
                } else {
                    format!("Set by the AI agent, {} sure", percent(verdict.confidence))
                }
            }),
            suggestion: verdict
                .suggestion(case.category.as_deref())
                .map(|c| (c.to_owned(), percent(verdict.confidence))),
            priority: verdict
                .priority
                .clone()
                .filter(|p| p != case.priority.as_str()),
        };
        (shown.applied.is_some() || shown.suggestion.is_some() || shown.priority.is_some())
            .then_some(shown)
    }
}

/// The profile inputs of a case type, for the properties panel to swap in
/// when a type is chosen.
#[derive(Template)]
#[template(path = "case/profile_fields.html")]
pub struct ProfileFieldsFragment {
    pub profile: Vec<ProfileInput>,
    pub can_work: bool,
}

pub fn render_profile_inputs(
    profile: Vec<ProfileInput>,
) -> Result<poem::Response, crate::http::web::session::WebError> {
    let fragment = ProfileFieldsFragment {
        profile,
        can_work: true,
    };
    let html = fragment
        .render()
        .map_err(|e| crate::http::web::session::WebError::Internal(e.to_string()))?;
    Ok(poem::IntoResponse::into_response(poem::web::Html(html)))
}

pub struct ReplyWindow {
    pub closes: When,
    pub left: Option<String>,
}

impl ReplyWindow {
    pub fn new(closes: Timestamp, now: Timestamp) -> ReplyWindow {
        let left = (closes > now).then(|| {
            let minutes = (closes - now).num_minutes();
            match minutes {
                m if m < 60 => format!("{m} min"),
                m => format!("{} h {:02} min", m / 60, m % 60),
            }
        });
        ReplyWindow {
            closes: When::new(closes),
            left,
        }
    }
}

/// One profile field on the case page: its value and how to edit it.
pub struct ProfileInput {
    pub name: String,
    pub label: String,
    /// `text`, `number`, `date`, `choice` or `boolean`.
    pub kind: &'static str,
    pub required: bool,
    /// The value as a form shows it ("" when unset).
    pub value: String,
    /// For `choice` and `boolean` fields.
    pub choices: Vec<Choice>,
    /// Why the value was refused, shown beside the field.
    pub error: Option<String>,
}

impl ProfileInput {
    pub fn new(
        field: &crate::domain::profile::ProfileField,
        value: Option<&serde_json::Value>,
    ) -> ProfileInput {
        let value = match value {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        let options: Vec<(String, String)> = match field.kind {
            crate::domain::profile::FieldKind::Choice => field
                .choices
                .iter()
                .map(|c| (c.clone(), c.clone()))
                .collect(),
            crate::domain::profile::FieldKind::Boolean => {
                vec![("true".into(), "Yes".into()), ("false".into(), "No".into())]
            }
            _ => Vec::new(),
        };
        ProfileInput {
            error: None,
            name: field.name.clone(),
            label: field.label.clone(),
            kind: field.kind.as_str(),
            required: field.required,
            choices: options
                .into_iter()
                .map(|(v, label)| Choice {
                    selected: v == value,
                    value: v,
                    label,
                })
                .collect(),
            value,
        }
    }

    /// The value as people read it.
    pub fn shown(&self) -> &str {
        match (self.kind, self.value.as_str()) {
            (_, "") => "—",
            ("boolean", "true") => "Yes",
            ("boolean", "false") => "No",
            (_, v) => v,
        }
    }
}

/// A linked case on the case page.
pub struct LinkRow {
    /// "Parent", "Child", "Related", "Duplicate of", "Duplicate".
    pub label: &'static str,
    /// The other case was merged into this one (the merge can be undone).
    pub merged_here: bool,
    pub number: u64,
    pub subject: String,
    pub status: &'static str,
}

/// The case page's time tracking panel.
pub struct TimePanel {
    pub total: String,
    pub estimate: Option<String>,
    /// The total as a share of the estimate, in percent.
    pub percent_of_estimate: Option<u64>,
    pub running_since: Option<When>,
    pub entries: Vec<TimeRow>,
    pub types: Vec<String>,
    pub today: String,
}

pub struct TimeRow {
    pub id: u64,
    pub who: String,
    pub duration: String,
    pub kind: String,
    pub date: String,
    pub note: String,
    /// The viewer may delete it.
    pub removable: bool,
}

/// A milestone on the case page.
pub struct MilestoneRow {
    pub name: String,
    /// `completed`, `current` or `overdue`.
    pub state: &'static str,
    pub due: When,
    pub completed: Option<When>,
    /// Not yet due, but due within the hour.
    pub soon: bool,
}

impl CasePage {
    pub fn resolved(&self) -> bool {
        self.case.status.is_resolved()
    }
}
