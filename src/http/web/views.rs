//! Template structs and the display values pages show. Askama escapes every
//! value, so subjects, names and notes can never inject markup.

use askama::Template;

use crate::domain::Timestamp;
use crate::domain::activity::{ActivityEvent, Direction, EventKind};
use crate::domain::case::{Case, Priority, Status};
use crate::domain::channel::MemberRole;
use crate::domain::user::User;
use crate::service::Session;

/// The header every logged-in page shows.
pub struct Nav {
    pub username: String,
    pub display_name: String,
    pub is_admin: bool,
    pub csrf: String,
    /// Which section is current: `inbox`, `new`, `channels`, `users`.
    pub section: &'static str,
}

impl Nav {
    pub fn new(session: &Session, section: &'static str) -> Nav {
        Nav {
            username: session.user.username.clone(),
            display_name: session.user.display_name.clone(),
            is_admin: session.user.is_admin(),
            csrf: session.csrf.clone(),
            section,
        }
    }

    /// `aria-current` for the nav link of `section`.
    pub fn current(&self, section: &str) -> &'static str {
        if self.section == section {
            "page"
        } else {
            "false"
        }
    }
}

/// A timestamp as shown: readable text plus the machine value, which the
/// page script turns into the reader's local time.
pub struct When {
    pub iso: String,
    pub text: String,
}

impl When {
    pub fn new(at: Timestamp) -> When {
        When {
            iso: at.to_rfc3339(),
            text: at.format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }

    pub fn maybe(at: Option<Timestamp>) -> Option<When> {
        at.map(When::new)
    }
}

/// A `<select>` option.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub fn status_choices(current: Option<Status>) -> Vec<Choice> {
    Status::ALL
        .iter()
        .map(|s| Choice {
            value: s.as_str().into(),
            label: s.label().into(),
            selected: Some(*s) == current,
        })
        .collect()
}

pub fn priority_choices(current: Priority) -> Vec<Choice> {
    Priority::ALL
        .iter()
        .map(|p| Choice {
            value: p.as_str().into(),
            label: p.label().into(),
            selected: *p == current,
        })
        .collect()
}

pub struct CaseRow {
    pub number: u64,
    pub subject: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub priority: &'static str,
    pub priority_label: &'static str,
    pub important: bool,
    pub assignee: String,
    pub channel: String,
    pub updated: When,
    /// Where a search matched: text pieces, matches marked.
    pub snippet: Vec<(String, bool)>,
    pub requester: String,
    /// The start of the latest message.
    pub preview: String,
    /// News the viewer has not seen yet.
    pub unread: bool,
    /// How long the customer has waited for an answer ("3 h"), and since.
    pub waiting: Option<(String, When)>,
    /// The next milestone: its state (`overdue`, `soon`, `current`) and name.
    pub milestone: Option<(&'static str, String)>,
}

/// "5 min", "3 h", "2 d": how long ago, roughly.
pub fn age(since: Timestamp, now: Timestamp) -> String {
    let minutes = (now - since).num_minutes().max(0);
    match minutes {
        0..=59 => format!("{minutes} min"),
        60..=2879 => format!("{} h", minutes / 60),
        _ => format!("{} d", minutes / 1440),
    }
}

impl CaseRow {
    pub fn new(
        case: &Case,
        channel_name: &str,
        snippet: Option<&crate::search::Snippet>,
    ) -> CaseRow {
        CaseRow {
            number: case.number,
            subject: case.subject.clone(),
            status: case.status.as_str(),
            status_label: case.status.label(),
            priority: case.priority.as_str(),
            priority_label: case.priority.label(),
            important: case.important,
            assignee: case.assignee.clone().unwrap_or_else(|| "—".into()),
            channel: channel_name.to_owned(),
            updated: When::new(case.updated_at),
            snippet: snippet.map(|s| s.parts.clone()).unwrap_or_default(),
            requester: String::new(),
            preview: String::new(),
            unread: false,
            waiting: None,
            milestone: None,
        }
    }

    /// The next milestone as a badge says it.
    pub fn milestone_text(&self) -> Option<String> {
        self.milestone.as_ref().map(|(state, name)| match *state {
            "overdue" => format!("{name} overdue"),
            "soon" => format!("{name} due soon"),
            _ => name.clone(),
        })
    }

    pub fn milestone_state(&self) -> &'static str {
        self.milestone.as_ref().map_or("", |(state, _)| state)
    }

    /// Adds what a glance at the case shows.
    pub fn with_glance(mut self, glance: crate::service::Glance) -> CaseRow {
        let now = chrono::Utc::now();
        self.requester = glance.requester;
        self.preview = glance.preview;
        self.unread = glance.unread;
        self.waiting = glance
            .waiting_since
            .map(|since| (age(since, now), When::new(since)));
        self.milestone = glance.milestone;
        self
    }
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub next: String,
    pub error: Option<String>,
    pub csrf: String,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub title: String,
    pub message: String,
}

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
            initials: initials_of(&author),
            folded: false,
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
) -> Result<poem::Response, super::session::WebError> {
    let fragment = ProfileFieldsFragment {
        profile,
        can_work: true,
    };
    let html = fragment
        .render()
        .map_err(|e| super::session::WebError::Internal(e.to_string()))?;
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

pub struct ChannelRow {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub members: usize,
    pub role: String,
}

#[derive(Template)]
#[template(path = "channels/channels.html")]
pub struct ChannelsPage {
    pub nav: Nav,
    pub rows: Vec<ChannelRow>,
    pub can_create: bool,
}

pub struct MemberRow {
    pub username: String,
    pub role: &'static str,
    pub is_partner: bool,
}

#[derive(Template)]
#[template(path = "channels/channel.html")]
pub struct ChannelPage {
    pub nav: Nav,
    pub channel: crate::service::ShownChannel,
    pub members: Vec<MemberRow>,
    pub candidates: Vec<Choice>,
    pub can_manage: bool,
    pub reply_window: String,
    pub slack_url: String,
    /// IMAP intake as set (never the password) and what it last did.
    pub imap: Option<crate::service::ShownImap>,
    /// The channel's saved replies (managers keep them here).
    pub saved_replies: Vec<crate::domain::saved_reply::SavedReply>,
    /// Placeholders a saved reply may use, with what they stand for.
    pub placeholders: &'static [(&'static str, &'static str)],
    pub mail_status: Option<crate::service::MailStatus>,
}

impl ChannelPage {
    pub fn member_row(username: &str, role: MemberRole, user: Option<&User>) -> MemberRow {
        MemberRow {
            username: username.to_owned(),
            role: role.as_str(),
            is_partner: user.is_some_and(User::is_partner),
        }
    }
}

pub struct UserRow {
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub role: &'static str,
    pub roles: Vec<Choice>,
    pub created: When,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "users/account.html")]
pub struct AccountPage {
    pub nav: Nav,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub role: &'static str,
    pub changed: bool,
}

#[derive(Template)]
#[template(path = "users/users.html")]
pub struct UsersPage {
    pub nav: Nav,
    pub rows: Vec<UserRow>,
}
