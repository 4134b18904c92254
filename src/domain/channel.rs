//! Channels: where cases live, who works them, and their settings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::case::wire_enum;
use super::{RuleError, Timestamp, validate};

pub type ChannelId = u64;

pub const NAME_MAX: usize = 100;

wire_enum!(
    /// A user's part in a channel. Partners are plain members whatever the
    /// stored role says: their role decides what they may do.
    MemberRole, "member role" {
        Agent => "agent",
        Manager => "manager",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSettings {
    /// Whether agents can record time against this channel's cases.
    pub time_tracking: bool,
    /// For time-sensitive channels (e.g. social messaging), how long after
    /// the customer's last message a reply may still be sent.
    pub reply_window_hours: Option<u32>,
    /// Where notifications for this channel go.
    pub slack_webhook_url: Option<String>,
    /// An IMAP folder this channel takes mail from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imap: Option<ImapSettings>,
    /// Agents may send updates from their own address instead of the
    /// channel's.
    #[serde(default)]
    pub personal_from: bool,
    /// Confirm a new case by email to whoever wrote in (never to machines).
    #[serde(default)]
    pub auto_acknowledge: bool,
    /// Ask the customer to rate the answer when a case is resolved.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub satisfaction: bool,
    /// Connections to Meta, the phone provider and the chat widget.
    #[serde(default)]
    pub integrations: Integrations,
    /// Believe the spam verdict in mail headers (`X-Spam-Flag: YES`, ...):
    /// right where the mail comes through your own filtering MTA.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub trust_spam_headers: bool,
    /// Business hours, for service targets counted in them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<super::calendar::Calendar>,
}

impl Default for ChannelSettings {
    fn default() -> Self {
        ChannelSettings {
            time_tracking: false,
            reply_window_hours: None,
            slack_webhook_url: None,
            imap: None,
            personal_from: false,
            auto_acknowledge: false,
            satisfaction: false,
            integrations: Integrations::default(),
            calendar: None,
            trust_spam_headers: true,
        }
    }
}

fn yes() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

/// A channel's connections to other services. Secrets are write-only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integrations {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<MetaIntegration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneIntegration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub widget: Option<WidgetIntegration>,
}

/// Instagram and Facebook through a Meta app subscribed to the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaIntegration {
    /// Signs every webhook delivery (`X-Hub-Signature-256`).
    pub app_secret: String,
    /// Echoed back in the subscription handshake.
    pub verify_token: String,
    /// Sends replies through the Graph API.
    pub page_access_token: String,
    /// The Graph API's base URL (a local receiver in tests).
    pub api_base: String,
}

pub const META_API_BASE: &str = "https://graph.facebook.com/v21.0";

/// Calls through a Twilio-compatible voice provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneIntegration {
    /// Signs every callback (`X-Twilio-Signature`).
    pub auth_token: String,
}

/// The chat widget embedded on the organisation's website.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WidgetIntegration {
    /// Origins (`https://www.example.com`) whose pages may embed it.
    pub allowed_origins: Vec<String>,
    /// The language model answers visitors first: each chat is a case the
    /// AI agent holds (in progress) until it hands over to the team.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub model_answers: bool,
    /// What the model should know when it answers (opening hours,
    /// policies, where to find things), in the admin's words.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model_instructions: String,
}

/// The most an admin may tell the widget's model.
pub const MODEL_INSTRUCTIONS_MAX: usize = 4000;

fn secret(field: &str, value: &str) -> Result<String, RuleError> {
    let value = value.trim();
    if value.is_empty() || value.len() > 1000 || value.chars().any(char::is_control) {
        return Err(RuleError::invalid(
            field,
            "must be 1 to 1000 printable characters",
        ));
    }
    Ok(value.to_owned())
}

impl Integrations {
    /// Checks the settings; URLs the server will call must be allowed.
    pub fn validated(self, allowed_hosts: &[String]) -> Result<Self, RuleError> {
        let meta = match self.meta {
            None => None,
            Some(meta) => Some(MetaIntegration {
                app_secret: secret("integrations.meta.app_secret", &meta.app_secret)?,
                verify_token: secret("integrations.meta.verify_token", &meta.verify_token)?,
                page_access_token: secret(
                    "integrations.meta.page_access_token",
                    &meta.page_access_token,
                )?,
                api_base: if meta.api_base.trim().is_empty() {
                    META_API_BASE.to_owned()
                } else {
                    validate::outbound_url(
                        "integrations.meta.api_base",
                        meta.api_base.trim().trim_end_matches('/'),
                        allowed_hosts,
                    )?
                },
            }),
        };
        let phone = match self.phone {
            None => None,
            Some(phone) => Some(PhoneIntegration {
                auth_token: secret("integrations.phone.auth_token", &phone.auth_token)?,
            }),
        };
        let widget = match self.widget {
            None => None,
            Some(widget) => {
                let mut origins = Vec::new();
                for origin in widget.allowed_origins {
                    origins.push(validate::origin(
                        "integrations.widget.allowed_origins",
                        &origin,
                    )?);
                }
                Some(WidgetIntegration {
                    allowed_origins: origins,
                    model_answers: widget.model_answers,
                    model_instructions: validate::bounded_text(
                        "integrations.widget.model_instructions",
                        widget.model_instructions.trim(),
                        MODEL_INSTRUCTIONS_MAX,
                    )?,
                })
            }
        };
        Ok(Integrations {
            meta,
            phone,
            widget,
        })
    }
}

wire_enum!(
    /// How the IMAP connection is protected.
    ImapSecurity, "security" {
        Tls => "tls",
        Starttls => "starttls",
        Plain => "plain",
    }
);

/// Where and how a channel fetches its mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImapSettings {
    pub host: String,
    pub port: u16,
    pub security: ImapSecurity,
    pub username: String,
    /// Write-only: never shown by the API or pages.
    pub password: String,
    /// The folder to take mail from.
    pub folder: String,
    /// Move taken-in messages here instead of only marking them seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub move_to: Option<String>,
}

impl ImapSettings {
    /// A folder to migrate from, named as `imaps://user@host[:port]`
    /// (TLS), `imap://user@host[:port]` (STARTTLS) or
    /// `imap+plain://user@host[:port]` (no encryption, this machine only);
    /// the password in the URL or given apart.
    pub fn from_url(url: &str, folder: &str, password: Option<String>) -> Result<Self, RuleError> {
        let bad = |why: &str| RuleError::invalid("imap", why.to_owned());
        let parsed = url::Url::parse(url.trim()).map_err(|e| bad(&format!("not a URL: {e}")))?;
        let (security, default_port) = match parsed.scheme() {
            "imaps" => (ImapSecurity::Tls, 993),
            "imap" => (ImapSecurity::Starttls, 143),
            "imap+plain" => (ImapSecurity::Plain, 143),
            other => {
                return Err(bad(&format!("'{other}' is not imaps, imap or imap+plain")));
            }
        };
        let username = url::form_urlencoded::parse(parsed.username().as_bytes())
            .map(|(k, v)| format!("{k}{v}"))
            .collect::<String>();
        let in_url = parsed.password().map(|p| {
            url::form_urlencoded::parse(p.as_bytes())
                .map(|(k, v)| format!("{k}{v}"))
                .collect::<String>()
        });
        ImapSettings {
            host: parsed.host_str().unwrap_or_default().to_owned(),
            port: parsed.port().unwrap_or(default_port),
            security,
            username,
            password: in_url.or(password).unwrap_or_default(),
            folder: folder.to_owned(),
            move_to: None,
        }
        .validated()
    }

    pub fn validated(self) -> Result<Self, RuleError> {
        let host = validate::required_text("imap.host", &self.host, 253)?;
        if host.contains(|c: char| c.is_whitespace() || c == '/') {
            return Err(RuleError::invalid(
                "imap.host",
                "must be a host name or address",
            ));
        }
        if self.port == 0 {
            return Err(RuleError::invalid(
                "imap.port",
                "must be between 1 and 65535",
            ));
        }
        if self.security == ImapSecurity::Plain && !is_loopback_host(&host) {
            return Err(RuleError::invalid(
                "imap.security",
                "plain (unencrypted) IMAP is only allowed to a server on this machine; use tls or starttls",
            ));
        }
        let username = validate::required_text("imap.username", &self.username, 200)?;
        let folder = validate::required_text("imap.folder", &self.folder, 200)?;
        let move_to = validate::optional_label("imap.move_to", self.move_to.as_deref(), 200)?;
        if self.password.len() > 1000 || self.password.contains(['\r', '\n']) {
            return Err(RuleError::invalid(
                "imap.password",
                "is not a usable password",
            ));
        }
        Ok(ImapSettings {
            host,
            username,
            folder,
            move_to,
            ..self
        })
    }
}

/// Whether a reply may still reach a customer who last wrote at `last`
/// (never: no), within a window of `hours`.
pub fn within_reply_window(
    last: Option<super::Timestamp>,
    now: super::Timestamp,
    hours: u32,
) -> bool {
    last.is_some_and(|last| now - last <= chrono::Duration::hours(i64::from(hours)))
}

/// Whether `host` names this machine.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl ChannelSettings {
    /// Checks the settings; a webhook must point at one of `webhook_hosts`.
    pub fn validated(self, webhook_hosts: &[String]) -> Result<Self, RuleError> {
        if let Some(hours) = self.reply_window_hours
            && !(1..=24 * 365).contains(&hours)
        {
            return Err(RuleError::invalid(
                "reply_window_hours",
                "must be between 1 and 8760 hours",
            ));
        }
        let slack_webhook_url = match self.slack_webhook_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) => Some(validate::webhook_url(
                "slack_webhook_url",
                url,
                webhook_hosts,
            )?),
        };
        let imap = self.imap.map(ImapSettings::validated).transpose()?;
        let integrations = self.integrations.validated(webhook_hosts)?;
        let calendar = self
            .calendar
            .map(super::calendar::Calendar::validated)
            .transpose()?;
        Ok(ChannelSettings {
            slack_webhook_url,
            imap,
            integrations,
            calendar,
            ..self
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub id: ChannelId,
    pub name: String,
    pub email_address: Option<String>,
    pub settings: ChannelSettings,
    /// Members by username.
    pub members: BTreeMap<String, MemberRole>,
    pub created_at: Timestamp,
}

/// Validates a channel name: one line, not empty.
pub fn channel_name(name: &str) -> Result<String, RuleError> {
    let name = validate::required_text("name", name, NAME_MAX)?;
    if name.contains(['\n', '\r']) {
        return Err(RuleError::invalid("name", "must be a single line"));
    }
    Ok(name)
}

impl Channel {
    pub fn role_of(&self, username: &str) -> Option<MemberRole> {
        self.members.get(username).copied()
    }

    pub fn is_member(&self, username: &str) -> bool {
        self.members.contains_key(username)
    }
}

#[cfg(test)]
mod window_tests {
    use chrono::{Duration, Utc};

    #[test]
    fn replies_fit_only_inside_the_window() {
        let now = Utc::now();
        assert!(super::within_reply_window(
            Some(now - Duration::hours(23)),
            now,
            24
        ));
        assert!(!super::within_reply_window(
            Some(now - Duration::hours(25)),
            now,
            24
        ));
        assert!(!super::within_reply_window(None, now, 24));
    }
}
