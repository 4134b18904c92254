//! Wire types of the API: request bodies reject unknown fields, responses
//! mirror the domain records.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{Enum, Object};
use serde::{Deserialize, Serialize};

use super::json_reply::wire;

use crate::domain::activity::{ActivityEvent, Direction};
use crate::domain::case::{self, Case};
use crate::domain::channel;
use crate::domain::user::{self, User};
use crate::service::ShownChannel;

/// Declares an API enum mirroring a domain enum, with conversions.
macro_rules! mirror_enum {
    ($(#[$meta:meta])* $api:ident <=> $domain:path { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, serde::Deserialize, serde::Serialize)]
        #[oai(rename_all = "snake_case")]
        #[serde(rename_all = "snake_case")]
        pub enum $api { $($variant),+ }

        impl From<$api> for $domain {
            fn from(value: $api) -> Self {
                match value { $($api::$variant => <$domain>::$variant),+ }
            }
        }

        impl From<$domain> for $api {
            fn from(value: $domain) -> Self {
                match value { $(<$domain>::$variant => $api::$variant),+ }
            }
        }
    };
}

mirror_enum!(
    /// Where a case is in its lifecycle.
    StatusWire <=> case::Status { Open, InProgress, WaitingForCustomer, Resolved }
);
mirror_enum!(
    /// How urgent a case is.
    PriorityWire <=> case::Priority { Low, Normal, High, Urgent }
);
mirror_enum!(
    /// Where a case came from.
    SourceWire <=> case::Source { Email, Instagram, Facebook, Phone, Widget, Partner, Manual, Api }
);
mirror_enum!(
    /// Organisation-wide role.
    RoleWire <=> user::Role { Admin, User, Partner }
);
mirror_enum!(
    /// A member's part in a channel.
    MemberRoleWire <=> channel::MemberRole { Agent, Manager }
);
mirror_enum!(
    /// How an IMAP connection is protected (`plain` only to this machine).
    ImapSecurityWire <=> channel::ImapSecurity { Tls, Starttls, Plain }
);
mirror_enum!(
    /// Which way a message travelled.
    DirectionWire <=> Direction { Inbound, Outbound }
);

/// The end user who initiated contact.
#[derive(Debug, Clone, Object, Deserialize, Serialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct CustomerWire {
    #[oai(nullable)]
    pub name: Option<String>,
    #[oai(nullable)]
    pub email: Option<String>,
    #[oai(nullable)]
    pub phone: Option<String>,
    /// Social handles by network, e.g. `{"instagram": "@jane"}`.
    #[oai(default)]
    #[serde(default)]
    pub handles: BTreeMap<String, String>,
}

impl From<CustomerWire> for case::Customer {
    fn from(c: CustomerWire) -> Self {
        case::Customer {
            name: c.name,
            email: c.email,
            phone: c.phone,
            handles: c.handles,
        }
    }
}

impl From<case::Customer> for CustomerWire {
    fn from(c: case::Customer) -> Self {
        CustomerWire {
            name: c.name,
            email: c.email,
            phone: c.phone,
            handles: c.handles,
        }
    }
}

/// The hardware device related to the issue.
#[derive(Debug, Clone, Object, Deserialize, Serialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct DeviceWire {
    #[oai(nullable)]
    pub identifier: Option<String>,
    #[oai(nullable)]
    pub model: Option<String>,
}

impl From<DeviceWire> for case::Device {
    fn from(d: DeviceWire) -> Self {
        case::Device {
            identifier: d.identifier,
            model: d.model,
        }
    }
}

impl From<case::Device> for DeviceWire {
    fn from(d: case::Device) -> Self {
        DeviceWire {
            identifier: d.identifier,
            model: d.model,
        }
    }
}

/// What the AI agent said about a case when it arrived.
#[derive(Debug, Clone, Object, Serialize)]
pub struct AiVerdictWire {
    /// The category it thinks most likely.
    #[oai(nullable)]
    pub category: Option<String>,
    /// How sure it is of that category (0–1).
    #[oai(nullable)]
    #[serde(
        serialize_with = "wire::optional_fraction",
        skip_serializing_if = "wire::not_a_number"
    )]
    pub confidence: Option<f32>,
    /// The probability that the case is spam (0–1).
    #[oai(nullable)]
    #[serde(
        serialize_with = "wire::optional_fraction",
        skip_serializing_if = "wire::not_a_number"
    )]
    pub spam: Option<f32>,
    /// The priority it suggests; never applied on its own.
    #[oai(nullable)]
    pub priority: Option<String>,
    /// The category it set itself (over that category's threshold).
    #[oai(nullable)]
    pub applied: Option<String>,
    /// The category it suggests but did not set: one click to accept.
    #[oai(nullable)]
    pub suggestion: Option<String>,
}

impl AiVerdictWire {
    /// The verdict on a case whose category is now `current`.
    fn new(v: crate::domain::ai::AiVerdict, current: Option<&str>) -> Self {
        AiVerdictWire {
            suggestion: v.suggestion(current).map(str::to_owned),
            category: v.category,
            confidence: v.confidence,
            spam: v.spam,
            priority: v.priority,
            applied: v.applied,
        }
    }
}

/// A case.
#[derive(Debug, Clone, Object, Serialize)]
pub struct CaseView {
    /// The case's unique, never reused number; its id everywhere.
    pub number: u64,
    /// The channel's id.
    pub channel: u64,
    pub subject: String,
    pub description: String,
    pub status: StatusWire,
    pub archived: bool,
    pub priority: PriorityWire,
    #[oai(nullable)]
    #[serde(serialize_with = "wire::optional_time")]
    pub deadline: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub category: Option<String>,
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    #[oai(nullable)]
    pub case_type: Option<String>,
    pub important: bool,
    pub source: SourceWire,
    #[oai(nullable)]
    pub assignee: Option<String>,
    #[oai(nullable)]
    pub customer: Option<CustomerWire>,
    #[oai(nullable)]
    pub device: Option<DeviceWire>,
    /// External conversation reference.
    #[oai(nullable)]
    pub thread: Option<String>,
    #[serde(serialize_with = "wire::time")]
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    #[serde(serialize_with = "wire::time")]
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
    #[oai(nullable)]
    #[serde(serialize_with = "wire::optional_time")]
    pub assigned_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub assigned_by: Option<String>,
    #[oai(nullable)]
    #[serde(serialize_with = "wire::optional_time")]
    pub closed_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub closed_by: Option<String>,
    /// Closed at intake by an auto-resolve rule.
    pub auto_resolved: bool,
    /// Estimated work in minutes.
    #[oai(nullable)]
    pub estimate_minutes: Option<u32>,
    /// Who chose the category: `person`, `rules` or `ai`; absent for
    /// cases from before this was kept, and imported ones.
    #[oai(nullable)]
    pub category_by: Option<String>,
    /// What the AI agent said when the case arrived.
    #[oai(nullable)]
    pub ai: Option<AiVerdictWire>,
    /// The AI agent is answering the case's chat (status `in_progress`)
    /// until it hands over to the team.
    pub held_by_ai: bool,
    /// What the customer said of each rated resolution (staff only).
    #[oai(default)]
    pub ratings: Vec<RatingView>,

    /// Values of the profile fields of the case's type.
    pub profile: std::collections::BTreeMap<String, serde_json::Value>,
}

/// A customer's rating of one resolution.
#[derive(Debug, Clone, Object, Serialize)]
pub struct RatingView {
    /// The sequence of the `closed` event of the resolution rated.
    pub resolution: u64,
    /// `good` or `bad`.
    pub rating: String,
    #[oai(nullable)]
    pub comment: Option<String>,
    #[serde(serialize_with = "wire::time")]
    pub at: DateTime<Utc>,
}

impl From<Case> for CaseView {
    fn from(c: Case) -> Self {
        let ai =
            c.ai.clone()
                .map(|v| AiVerdictWire::new(v, c.category.as_deref()));
        CaseView {
            number: c.number,
            channel: c.channel,
            subject: c.subject,
            description: c.description,
            status: c.status.into(),
            archived: c.archived,
            priority: c.priority.into(),
            deadline: c.deadline,
            category: c.category,
            case_type: c.case_type,
            important: c.important,
            source: c.source.into(),
            assignee: c.assignee,
            customer: c.customer.map(Into::into),
            device: c.device.map(Into::into),
            thread: c.thread,
            created_at: c.created_at,
            created_by: c.created_by,
            updated_at: c.updated_at,
            updated_by: c.updated_by,
            assigned_at: c.assigned_at,
            assigned_by: c.assigned_by,
            closed_at: c.closed_at,
            closed_by: c.closed_by,
            auto_resolved: c.auto_resolved,
            estimate_minutes: c.estimate_minutes,
            category_by: c.category_by.map(|d| d.as_str().to_owned()),
            ai,
            held_by_ai: c.held_by_ai,
            ratings: c
                .ratings
                .into_iter()
                .map(|r| RatingView {
                    resolution: r.resolution,
                    rating: r.rating.as_str().to_owned(),
                    comment: r.comment,
                    at: r.at,
                })
                .collect(),

            profile: c.profile,
        }
    }
}

/// A field's value before and after an edit.
#[derive(Debug, Clone, Object)]
pub struct FieldChangeView {
    pub field: String,
    #[oai(nullable)]
    pub before: Option<String>,
    #[oai(nullable)]
    pub after: Option<String>,
}

/// One entry of a case's activity stream.
#[derive(Debug, Clone, Object)]
pub struct ActivityView {
    /// Position in the stream, from 1.
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// Who made the change.
    pub actor: String,
    /// `created`, `fields_changed`, `status_changed`, `assigned`, `closed`,
    /// `reopened`, `archived`, `unarchived`, `note`, `message`, `call`,
    /// `escalated`, `time_logged`, `handed_over`, `linked`, `unlinked`,
    /// `merged`, `merged_into`, `unmerged`, `split_out`, `moved`,
    /// `deleted`, `restored` or `rated`.
    pub kind: String,
    /// One readable line describing the event.
    pub summary: String,
    /// Notes and messages: the text; a hand-over: why.
    #[oai(nullable)]
    pub body: Option<String>,
    /// Messages: which way it travelled.
    #[oai(nullable)]
    pub direction: Option<DirectionWire>,
    /// Messages: who wrote it, when not the actor.
    #[oai(nullable)]
    pub from: Option<String>,
    /// Edits, status and assignment changes: before and after.
    #[oai(default, skip_serializing_if_is_empty)]
    pub changes: Vec<FieldChangeView>,
    /// Notes: the Markdown body rendered as sanitised HTML.
    #[oai(nullable)]
    pub body_html: Option<String>,
    /// Messages that travelled by email: headers, HTML, files, delivery.
    #[oai(nullable)]
    pub email: Option<EmailView>,
    /// Replies sent through another service (Instagram, Facebook): how
    /// far delivery got.
    #[oai(nullable)]
    pub delivery: Option<DeliveryView>,
    /// Calls: number, status, duration and recording.
    #[oai(nullable)]
    pub call: Option<CallView>,
}

impl From<ActivityEvent> for ActivityView {
    fn from(e: ActivityEvent) -> Self {
        use crate::domain::activity::EventKind as K;
        let change = |field: &str, before: Option<String>, after: Option<String>| FieldChangeView {
            field: field.into(),
            before,
            after,
        };
        let summary = e.kind.describe();
        let kind = e.kind.name().to_owned();
        let body_html = match &e.kind {
            crate::domain::activity::EventKind::Note { body } => {
                Some(crate::markdown::note_html(body))
            }
            _ => None,
        };
        let mut email = None;
        let mut delivery = None;
        let mut call = None;
        let (body, direction, from, changes) = match e.kind {
            K::Note { body } => (Some(body), None, None, vec![]),
            K::Deleted | K::Restored => (None, None, None, vec![]),
            K::Merged { source, .. } | K::Unmerged { source } => (
                None,
                None,
                None,
                vec![change("case", None, Some(format!("#{source}")))],
            ),
            K::MergedInto { target: other } | K::SplitOut { into: other } => (
                None,
                None,
                None,
                vec![change("case", None, Some(format!("#{other}")))],
            ),
            K::Moved { from, to } => (
                None,
                None,
                None,
                vec![change(
                    "channel",
                    Some(from.to_string()),
                    Some(to.to_string()),
                )],
            ),
            K::Linked { link, target } => (
                None,
                None,
                None,
                vec![change(&link, None, Some(format!("#{target}")))],
            ),
            K::Unlinked { link, target } => (
                None,
                None,
                None,
                vec![change(&link, Some(format!("#{target}")), None)],
            ),
            K::TimeLogged { minutes, kind } => (
                None,
                None,
                None,
                vec![change("time", None, Some(format!("{minutes} min {kind}")))],
            ),
            K::Escalated { milestone } => (
                None,
                None,
                None,
                vec![change("milestone", None, Some(milestone))],
            ),
            K::Rated {
                rating, comment, ..
            } => (
                comment,
                None,
                None,
                vec![change("rating", None, Some(rating.as_str().to_owned()))],
            ),
            K::HandedOver { reason, status } => (
                Some(reason),
                None,
                None,
                status
                    .map(|to| {
                        let from = crate::domain::case::Status::InProgress;
                        vec![change(
                            "status",
                            Some(from.to_string()),
                            Some(to.to_string()),
                        )]
                    })
                    .unwrap_or_default(),
            ),
            K::Message {
                direction,
                from,
                body,
                email: mail,
                delivery: sent,
            } => {
                email = mail.map(|m| EmailView::from(*m));
                delivery = sent.map(DeliveryView::from);
                (Some(body), Some(direction.into()), from, vec![])
            }
            K::Call {
                direction,
                number,
                status,
                duration_secs,
                call_sid,
                recording,
            } => {
                call = Some(CallView {
                    number,
                    status,
                    duration_secs,
                    call_sid,
                    recording,
                });
                (None, Some(direction.into()), None, vec![])
            }
            K::FieldsChanged { changes } => (
                None,
                None,
                None,
                changes
                    .into_iter()
                    .map(|c| change(&c.field, c.before, c.after))
                    .collect(),
            ),
            K::StatusChanged { from, to } => (
                None,
                None,
                None,
                vec![change(
                    "status",
                    Some(from.to_string()),
                    Some(to.to_string()),
                )],
            ),
            K::Closed { from } => (
                None,
                None,
                None,
                vec![change(
                    "status",
                    Some(from.to_string()),
                    Some("resolved".into()),
                )],
            ),
            K::Reopened => (
                None,
                None,
                None,
                vec![change(
                    "status",
                    Some("resolved".into()),
                    Some("open".into()),
                )],
            ),
            K::Assigned { from, to } => (None, None, None, vec![change("assignee", from, to)]),
            K::Created { .. } | K::Archived | K::Unarchived => (None, None, None, vec![]),
        };
        ActivityView {
            seq: e.seq,
            at: e.at,
            actor: e.actor,
            kind,
            summary,
            body,
            direction,
            from,
            changes,
            body_html,
            email,
            delivery,
            call,
        }
    }
}

/// A phone call.
#[derive(Debug, Clone, Object)]
pub struct CallView {
    /// The customer's number.
    pub number: String,
    /// The provider's last status (`ringing`, `completed`, `no-answer`...).
    pub status: String,
    #[oai(nullable)]
    pub duration_secs: Option<u32>,
    pub call_sid: String,
    /// The recording's file id (`GET /api/v1/files/{id}`).
    #[oai(nullable)]
    pub recording: Option<u64>,
}

impl From<crate::domain::mail::DeliveryReport> for DeliveryView {
    fn from(d: crate::domain::mail::DeliveryReport) -> Self {
        DeliveryView {
            state: d.state,
            attempts: d.attempts,
            last_error: d.last_error,
            at: d.at,
        }
    }
}

/// The email side of a message.
#[derive(Debug, Clone, Object)]
pub struct EmailView {
    pub message_id: String,
    pub subject: String,
    pub from_address: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// Outbound only; staff only.
    pub bcc: Vec<String>,
    /// The sanitised HTML version, when there was one. Inline images are
    /// `cid:` references to files in `attachments`.
    #[oai(nullable)]
    pub html: Option<String>,
    /// Ids of the message's files (`GET /api/v1/files/{id}`).
    pub attachments: Vec<u64>,
    /// `auto_reply` or `bounce` for mail from machines.
    #[oai(nullable)]
    pub noise: Option<String>,
    /// Outbound only: how far delivery got.
    #[oai(nullable)]
    pub delivery: Option<DeliveryView>,
}

/// Delivery of an outgoing message.
#[derive(Debug, Clone, Object)]
pub struct DeliveryView {
    /// `pending`, `sent` or `failed`.
    pub state: String,
    pub attempts: u32,
    #[oai(nullable)]
    pub last_error: Option<String>,
    #[oai(nullable)]
    pub at: Option<DateTime<Utc>>,
}

impl From<crate::domain::mail::EmailPart> for EmailView {
    fn from(m: crate::domain::mail::EmailPart) -> Self {
        use crate::domain::mail::Noise;
        EmailView {
            message_id: m.message_id,
            subject: m.subject,
            from_address: m.from_address,
            to: m.to,
            cc: m.cc,
            bcc: m.bcc,
            html: m.html,
            attachments: m.attachments,
            noise: match m.noise {
                Noise::None => None,
                Noise::AutoReply => Some("auto_reply".into()),
                Noise::Bounce => Some("bounce".into()),
            },
            delivery: m.delivery.map(DeliveryView::from),
        }
    }
}

/// A user account (never its password).
#[derive(Debug, Clone, Object)]
pub struct UserView {
    pub username: String,
    pub display_name: String,
    #[oai(nullable)]
    pub email: Option<String>,
    pub role: RoleWire,
    pub created_at: DateTime<Utc>,
    /// False while the account is deactivated: it cannot log in and its
    /// tokens do not work; its cases stay.
    pub active: bool,
    /// When it was deactivated.
    #[oai(nullable)]
    pub deactivated_at: Option<DateTime<Utc>>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            active: u.is_active(),
            deactivated_at: u.deactivated_at,
            username: u.username,
            display_name: u.display_name,
            email: u.email,
            role: u.role.into(),
            created_at: u.created_at,
        }
    }
}

/// A channel member.
#[derive(Debug, Clone, Object)]
pub struct MemberView {
    pub username: String,
    pub role: MemberRoleWire,
    pub display_name: String,
}

/// One opening period of a week, in the calendar's time zone.
#[derive(Debug, Clone, Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct OpeningHoursWire {
    /// `mon`, `tue`, `wed`, `thu`, `fri`, `sat` or `sun`.
    pub day: String,
    /// `HH:MM`.
    pub open: String,
    /// `HH:MM`, after `open` (`24:00` for midnight).
    pub close: String,
}

/// A day the desk is closed.
#[derive(Debug, Clone, Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct HolidayWire {
    pub date: chrono::NaiveDate,
    /// Every year on the same day.
    #[oai(default)]
    #[serde(default)]
    pub yearly: bool,
    #[oai(default)]
    #[serde(default)]
    pub name: String,
}

/// Business hours: weekly opening periods in a time zone, and holidays.
#[derive(Debug, Clone, Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct CalendarWire {
    /// An IANA time zone such as `Europe/Berlin`.
    pub time_zone: String,
    pub hours: Vec<OpeningHoursWire>,
    #[oai(default)]
    #[serde(default)]
    pub holidays: Vec<HolidayWire>,
}

impl From<CalendarWire> for crate::domain::calendar::Calendar {
    fn from(c: CalendarWire) -> Self {
        crate::domain::calendar::Calendar {
            time_zone: c.time_zone,
            hours: c
                .hours
                .into_iter()
                .map(|h| crate::domain::calendar::OpeningHours {
                    day: h.day,
                    open: h.open,
                    close: h.close,
                })
                .collect(),
            holidays: c
                .holidays
                .into_iter()
                .map(|h| crate::domain::calendar::Holiday {
                    date: h.date,
                    yearly: h.yearly,
                    name: h.name,
                })
                .collect(),
        }
    }
}

impl From<crate::domain::calendar::Calendar> for CalendarWire {
    fn from(c: crate::domain::calendar::Calendar) -> Self {
        CalendarWire {
            time_zone: c.time_zone,
            hours: c
                .hours
                .into_iter()
                .map(|h| OpeningHoursWire {
                    day: h.day,
                    open: h.open,
                    close: h.close,
                })
                .collect(),
            holidays: c
                .holidays
                .into_iter()
                .map(|h| HolidayWire {
                    date: h.date,
                    yearly: h.yearly,
                    name: h.name,
                })
                .collect(),
        }
    }
}

/// A channel's settings.
#[derive(Debug, Clone, Object)]
pub struct ChannelSettingsView {
    pub time_tracking: bool,
    #[oai(nullable)]
    pub reply_window_hours: Option<u32>,
    /// Write-only: the URL is a credential and is never returned.
    #[oai(deprecated, skip_serializing_if_is_none)]
    pub slack_webhook_url: Option<String>,
    /// Whether Slack notifications are set up (managers and administrators
    /// only).
    #[oai(skip_serializing_if_is_none)]
    pub slack_webhook_set: Option<bool>,
    /// Agents may send updates from their own address.
    pub personal_from: bool,
    /// New cases from email are confirmed to their sender.
    pub auto_acknowledge: bool,
    /// Customers are asked to rate the answer when a case is resolved.
    pub satisfaction: bool,
    /// Mail marked spam by the sender's side's filter goes to spam.
    pub trust_spam_headers: bool,
    /// Business hours, if the channel keeps any.
    #[oai(nullable)]
    pub calendar: Option<CalendarWire>,
    /// IMAP intake (managers and administrators only; never the password).
    #[oai(nullable)]
    pub imap: Option<ImapView>,
    /// Meta, phone and widget connections (managers and administrators
    /// only; secrets never shown, only whether they are set).
    #[oai(nullable)]
    pub integrations: Option<IntegrationsView>,
}

#[derive(Debug, Clone, Object)]
pub struct IntegrationsView {
    #[oai(nullable)]
    pub meta: Option<MetaView>,
    #[oai(nullable)]
    pub phone: Option<PhoneView>,
    #[oai(nullable)]
    pub widget: Option<WidgetView>,
}

#[derive(Debug, Clone, Object)]
pub struct MetaView {
    pub app_secret_set: bool,
    pub verify_token_set: bool,
    pub page_access_token_set: bool,
    pub api_base: String,
}

#[derive(Debug, Clone, Object)]
pub struct PhoneView {
    pub auth_token_set: bool,
}

#[derive(Debug, Clone, Object)]
pub struct WidgetView {
    pub allowed_origins: Vec<String>,
    /// The language model answers visitors first.
    pub model_answers: bool,
    /// What the model is told about the organisation.
    pub model_instructions: String,
}

/// Where a channel fetches mail from.
#[derive(Debug, Clone, Object)]
pub struct ImapView {
    pub host: String,
    pub port: u16,
    pub security: ImapSecurityWire,
    pub username: String,
    /// Whether a password is stored (it is never shown).
    pub password_set: bool,
    pub folder: String,
    #[oai(nullable)]
    pub move_to: Option<String>,
}

/// What the channel's IMAP intake last did.
#[derive(Debug, Clone, Object)]
pub struct MailStatusView {
    /// `connecting`, `polling`, `idle`, `waiting`, `failing` or `stopped`.
    pub state: String,
    #[oai(nullable)]
    pub last_error: Option<String>,
    #[oai(nullable)]
    pub last_error_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub last_success_at: Option<DateTime<Utc>>,
    /// After a failure: when the next attempt is due.
    #[oai(nullable)]
    pub retry_at: Option<DateTime<Utc>>,
    pub messages_taken_in: u64,
    pub messages_refused: u64,
}

impl From<crate::service::MailStatus> for MailStatusView {
    fn from(s: crate::service::MailStatus) -> Self {
        MailStatusView {
            state: s.state,
            last_error: s.last_error,
            last_error_at: s.last_error_at,
            last_success_at: s.last_success_at,
            retry_at: s.retry_at,
            messages_taken_in: s.messages_taken_in,
            messages_refused: s.messages_refused,
        }
    }
}

/// A channel.
#[derive(Debug, Clone, Object)]
pub struct ChannelView {
    pub id: u64,
    pub name: String,
    #[oai(nullable)]
    pub email_address: Option<String>,
    pub settings: ChannelSettingsView,
    pub members: Vec<MemberView>,
    pub created_at: DateTime<Utc>,
    /// IMAP intake state (managers and administrators only).
    #[oai(nullable)]
    pub mail_status: Option<MailStatusView>,
}

impl ChannelView {
    /// Renders what the service shows the viewer; it computes no rights.
    pub fn new(c: ShownChannel) -> Self {
        let managed = c.managed;
        ChannelView {
            id: c.id,
            name: c.name,
            email_address: c.email_address,
            settings: ChannelSettingsView {
                time_tracking: c.time_tracking,
                reply_window_hours: c.reply_window_hours,
                slack_webhook_url: None,
                slack_webhook_set: managed.as_ref().map(|m| m.slack_webhook_set),
                personal_from: c.personal_from,
                auto_acknowledge: c.auto_acknowledge,
                satisfaction: c.satisfaction,
                trust_spam_headers: c.trust_spam_headers,
                calendar: c.calendar.map(Into::into),
                integrations: managed.as_ref().map(|m| IntegrationsView {
                    meta: m.meta.clone().map(|m| MetaView {
                        app_secret_set: m.app_secret_set,
                        verify_token_set: m.verify_token_set,
                        page_access_token_set: m.page_access_token_set,
                        api_base: m.api_base,
                    }),
                    phone: m
                        .phone_auth_token_set
                        .map(|auth_token_set| PhoneView { auth_token_set }),
                    widget: m.widget.clone().map(|w| WidgetView {
                        allowed_origins: w.allowed_origins,
                        model_answers: w.model_answers,
                        model_instructions: w.model_instructions,
                    }),
                }),
                imap: managed
                    .as_ref()
                    .and_then(|m| m.imap.clone())
                    .map(|i| ImapView {
                        host: i.host,
                        port: i.port,
                        security: i.security.into(),
                        username: i.username,
                        password_set: i.password_set,
                        folder: i.folder,
                        move_to: i.move_to,
                    }),
            },
            members: c
                .members
                .into_iter()
                .map(|(username, role)| MemberView {
                    display_name: c
                        .display_names
                        .get(&username)
                        .cloned()
                        .unwrap_or_else(|| username.clone()),
                    username,
                    role: role.into(),
                })
                .collect(),
            created_at: c.created_at,
            mail_status: managed.and_then(|m| m.mail_status).map(Into::into),
        }
    }
}

/// Converts a tri-state JSON field: absent → `None`, `null` → `Some(None)`.
pub fn tri_state<T, U>(
    value: MaybeUndefined<T>,
    convert: impl FnOnce(T) -> U,
) -> Option<Option<U>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(convert(v))),
    }
}
