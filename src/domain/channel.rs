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
        Ok(ChannelSettings {
            slack_webhook_url,
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
