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

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
        Ok(ChannelSettings {
            slack_webhook_url,
            imap,
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
