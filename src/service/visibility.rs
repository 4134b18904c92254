//! What each viewer may see and do, decided here once. Pages and API views
//! read these records and flags; none of them re-implements a permission
//! rule or sees a secret.

use std::collections::BTreeMap;

use super::{MailStatus, Service, ServiceResult};
use crate::domain::Timestamp;
use crate::domain::access;
use crate::domain::case::{Case, CaseNumber};
use crate::domain::channel::{Channel, ChannelId, ImapSecurity, MemberRole, WidgetIntegration};
use crate::domain::user::User;
use crate::store::Reads;

/// A channel as one viewer may see it: never a secret (only whether one is
/// set), and the settings that hold credentials or intake details only for
/// those who manage the channel.
#[derive(Debug, Clone)]
pub struct ShownChannel {
    pub id: ChannelId,
    pub name: String,
    pub email_address: Option<String>,
    pub members: BTreeMap<String, MemberRole>,
    /// Each shown member's display name, by username.
    pub display_names: BTreeMap<String, String>,
    pub created_at: Timestamp,
    pub time_tracking: bool,
    pub reply_window_hours: Option<u32>,
    pub personal_from: bool,
    pub auto_acknowledge: bool,
    pub satisfaction: bool,
    pub trust_spam_headers: bool,
    pub calendar: Option<crate::domain::calendar::Calendar>,
    /// What only the channel's managers and administrators see.
    pub managed: Option<ManagedSettings>,
    pub rights: ChannelRights,
}

/// What the viewer may do with a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelRights {
    /// Change its settings and members.
    pub can_manage: bool,
    /// Open cases in it.
    pub can_open_cases: bool,
    /// The viewer's own role in it, if a member.
    pub role: Option<MemberRole>,
}

/// A channel's settings for its managers: secrets shown only as set or not.
#[derive(Debug, Clone)]
pub struct ManagedSettings {
    pub slack_webhook_set: bool,
    pub imap: Option<ShownImap>,
    pub meta: Option<ShownMeta>,
    /// Whether the phone provider's auth token is set, when phone calls
    /// are connected.
    pub phone_auth_token_set: Option<bool>,
    pub widget: Option<WidgetIntegration>,
    /// What the IMAP intake last did.
    pub mail_status: Option<MailStatus>,
}

#[derive(Debug, Clone)]
pub struct ShownImap {
    pub host: String,
    pub port: u16,
    pub security: ImapSecurity,
    pub username: String,
    pub password_set: bool,
    pub folder: String,
    pub move_to: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ShownMeta {
    pub app_secret_set: bool,
    pub verify_token_set: bool,
    pub page_access_token_set: bool,
    pub api_base: String,
}

/// What the viewer may do with one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRights {
    /// Edit, assign, change status, write notes, log time.
    pub can_work: bool,
    /// Manage the case's channel: set the estimate, remove anyone's time.
    pub can_manage: bool,
    /// A partner: the reduced view without the team's tools.
    pub is_partner: bool,
    viewer: String,
}

impl CaseRights {
    /// Whether the viewer may remove a time entry logged by `owner`.
    pub fn can_remove_time_of(&self, owner: &str) -> bool {
        self.can_work && (owner == self.viewer || self.can_manage)
    }
}

/// What the viewer may do across the desk, for navigation and lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewerRights {
    pub is_admin: bool,
    pub is_partner: bool,
    /// Create channels and users.
    pub can_create_channels: bool,
    /// Manage at least one channel (the trash, milestones, bulk moves).
    pub manages_a_channel: bool,
    /// Pick new channel members from the list of users (administrators;
    /// managers type a username).
    pub can_pick_members: bool,
}

/// A case as `actor` may see it: partners do not see what the AI agent
/// said about it, nor who chose its category or priority.
pub(super) fn shown_case(actor: &User, mut case: Case) -> Case {
    if actor.is_partner() {
        case.ai = None;
        case.category_by = None;
        case.priority_by = None;
        case.held_by_ai = false;
        // What customers said of the team's answers is the team's to read.
        case.ratings.clear();
    }
    case
}

fn shown_channel(actor: &User, channel: Channel, mail_status: Option<MailStatus>) -> ShownChannel {
    let rights = ChannelRights {
        can_manage: access::can_manage_channel(actor, &channel),
        can_open_cases: access::can_open_case_in(actor, &channel),
        role: channel.role_of(&actor.username),
    };
    let settings = channel.settings;
    let managed = rights.can_manage.then(|| {
        let integrations = settings.integrations;
        ManagedSettings {
            slack_webhook_set: settings.slack_webhook_url.is_some(),
            imap: settings.imap.map(|i| ShownImap {
                password_set: !i.password.is_empty(),
                host: i.host,
                port: i.port,
                security: i.security,
                username: i.username,
                folder: i.folder,
                move_to: i.move_to,
            }),
            meta: integrations.meta.map(|m| ShownMeta {
                app_secret_set: !m.app_secret.is_empty(),
                verify_token_set: !m.verify_token.is_empty(),
                page_access_token_set: !m.page_access_token.is_empty(),
                api_base: m.api_base,
            }),
            phone_auth_token_set: integrations.phone.map(|p| !p.auth_token.is_empty()),
            widget: integrations.widget,
            mail_status,
        }
    });
    ShownChannel {
        id: channel.id,
        name: channel.name,
        email_address: channel.email_address,
        members: channel.members,
        display_names: BTreeMap::new(),
        created_at: channel.created_at,
        time_tracking: settings.time_tracking,
        reply_window_hours: settings.reply_window_hours,
        personal_from: settings.personal_from,
        auto_acknowledge: settings.auto_acknowledge,
        satisfaction: settings.satisfaction,
        trust_spam_headers: settings.trust_spam_headers,
        calendar: settings.calendar,
        managed,
        rights,
    }
}

impl Service {
    /// `channel` as `actor` may see it.
    pub fn show_channel(&self, actor: &User, mut channel: Channel) -> ShownChannel {
        let status = access::can_manage_channel(actor, &channel)
            .then(|| self.mail_status(channel.id))
            .flatten();
        let txn = self.store.read().ok();
        let people: BTreeMap<String, Option<User>> = channel
            .members
            .keys()
            .map(|name| {
                let user = txn.as_ref().and_then(|t| t.user(name).ok().flatten());
                (name.clone(), user)
            })
            .collect();
        drop(txn);
        // Partners see the staff who work their cases, never each other;
        // a member whose record cannot be read is left out for them.
        if actor.is_partner() {
            channel.members.retain(|name, _| {
                people
                    .get(name)
                    .and_then(Option::as_ref)
                    .is_some_and(|user| !user.is_partner())
            });
        }
        let mut shown = shown_channel(actor, channel, status);
        shown.display_names = shown
            .members
            .keys()
            .map(|name| {
                let display = people
                    .get(name)
                    .and_then(Option::as_ref)
                    .map_or_else(|| name.clone(), |u| u.display_name.clone());
                (name.clone(), display)
            })
            .collect();
        shown
    }

    /// The channels `actor` may see (every channel for administrators).
    pub fn list_channels(&self, actor: &User) -> ServiceResult<Vec<ShownChannel>> {
        Ok(self
            .visible_channels(actor)?
            .into_iter()
            .map(|c| self.show_channel(actor, c))
            .collect())
    }

    /// One channel as `actor` may see it; one they may not see is missing.
    pub fn get_channel(&self, actor: &User, id: ChannelId) -> ServiceResult<ShownChannel> {
        let channel = super::channels::visible_channel(&self.store.read()?, actor, id)?;
        Ok(self.show_channel(actor, channel))
    }

    /// A case with its channel and what `actor` may do with it.
    pub fn case_for_viewer(
        &self,
        actor: &User,
        number: CaseNumber,
    ) -> ServiceResult<(Case, ShownChannel, CaseRights)> {
        let (case, channel) = self.get_case_with_channel(actor, number)?;
        let case = shown_case(actor, case);
        let rights = CaseRights {
            can_work: access::can_work_case(actor, &channel),
            can_manage: access::can_manage_channel(actor, &channel),
            is_partner: actor.is_partner(),
            viewer: actor.username.clone(),
        };
        Ok((case, self.show_channel(actor, channel), rights))
    }

    /// What `actor` may do across the desk.
    pub fn viewer_rights(&self, actor: &User) -> ServiceResult<ViewerRights> {
        let manages_a_channel = actor.is_admin()
            || self
                .visible_channels(actor)?
                .iter()
                .any(|c| access::can_manage_channel(actor, c));
        Ok(ViewerRights {
            is_admin: actor.is_admin(),
            is_partner: actor.is_partner(),
            can_create_channels: actor.is_admin(),
            manages_a_channel,
            can_pick_members: actor.is_admin(),
        })
    }
}
