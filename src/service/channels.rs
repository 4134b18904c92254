//! Channels and their members.

use std::collections::BTreeMap;

use super::{Service, ServiceError, ServiceResult, ShownChannel, now};
use crate::domain::access;
use crate::domain::channel::{
    self, Channel, ChannelId, ChannelSettings, ImapSecurity, ImapSettings, Integrations,
    MemberRole, MetaIntegration, PhoneIntegration, WidgetIntegration,
};
use crate::domain::user::User;
use crate::domain::validate;
use crate::store::{Reads, WriteTxn, Writes};

#[derive(Debug, Clone, Default)]
pub struct NewChannel {
    pub name: String,
    pub email_address: Option<String>,
    pub settings: ChannelSettings,
    pub imap: Option<ImapChange>,
    pub integrations: IntegrationsChange,
}

/// IMAP settings as given; a missing password keeps the stored one.
#[derive(Debug, Clone)]
pub struct ImapChange {
    pub host: String,
    pub port: u16,
    pub security: ImapSecurity,
    pub username: String,
    pub password: Option<String>,
    pub folder: String,
    pub move_to: Option<String>,
}

impl ImapChange {
    fn into_settings(self, current: Option<&ImapSettings>) -> ServiceResult<ImapSettings> {
        let password = match self.password {
            Some(password) => password,
            None => current
                .map(|c| c.password.clone())
                .ok_or_else(|| ServiceError::invalid("imap.password", "a password is needed"))?,
        };
        Ok(ImapSettings {
            host: self.host,
            port: self.port,
            security: self.security,
            username: self.username,
            password,
            folder: self.folder,
            move_to: self.move_to,
        }
        .validated()?)
    }
}

/// Channel edits; `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ChannelChange {
    pub name: Option<String>,
    pub email_address: Option<Option<String>>,
    pub time_tracking: Option<bool>,
    pub reply_window_hours: Option<Option<u32>>,
    pub slack_webhook_url: Option<Option<String>>,
    pub personal_from: Option<bool>,
    pub auto_acknowledge: Option<bool>,
    pub satisfaction: Option<bool>,
    pub trust_spam_headers: Option<bool>,
    pub imap: Option<Option<ImapChange>>,
    pub calendar: Option<Option<crate::domain::calendar::Calendar>>,
    pub integrations: IntegrationsChange,
}

/// Changes to a channel's integrations: `None` leaves one alone,
/// `Some(None)` removes it. A secret left out keeps the stored one.
#[derive(Debug, Clone, Default)]
pub struct IntegrationsChange {
    pub meta: Option<Option<MetaChange>>,
    pub phone: Option<Option<PhoneChange>>,
    pub widget: Option<Option<WidgetChange>>,
}

/// The chat widget's settings; `None` keeps the stored value.
#[derive(Debug, Clone, Default)]
pub struct WidgetChange {
    pub allowed_origins: Vec<String>,
    pub model_answers: Option<bool>,
    pub model_instructions: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct MetaChange {
    pub app_secret: Option<String>,
    pub verify_token: Option<String>,
    pub page_access_token: Option<String>,
    pub api_base: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PhoneChange {
    pub auth_token: Option<String>,
}

fn kept_secret(
    field: &str,
    given: Option<String>,
    stored: Option<&String>,
) -> ServiceResult<String> {
    given
        .or_else(|| stored.cloned())
        .ok_or_else(|| ServiceError::invalid(field, "is needed"))
}

impl IntegrationsChange {
    /// The integrations after this change; validated with the channel.
    /// `has_model`: whether a language model is configured, which the
    /// widget's model answers need.
    fn apply(self, current: &Integrations, has_model: bool) -> ServiceResult<Integrations> {
        let mut next = current.clone();
        match self.meta {
            None => {}
            Some(None) => next.meta = None,
            Some(Some(change)) => {
                let old = current.meta.as_ref();
                // The stored page token is never sent somewhere new: a
                // changed API base needs the token given again.
                let base_changes = change.api_base.as_deref().is_some_and(|b| {
                    old.is_some_and(|m| m.api_base != b.trim().trim_end_matches('/'))
                });
                if base_changes && change.page_access_token.is_none() {
                    return Err(ServiceError::invalid(
                        "integrations.meta.page_access_token",
                        "give the page token again when api_base changes",
                    ));
                }
                next.meta = Some(MetaIntegration {
                    app_secret: kept_secret(
                        "integrations.meta.app_secret",
                        change.app_secret,
                        old.map(|m| &m.app_secret),
                    )?,
                    verify_token: kept_secret(
                        "integrations.meta.verify_token",
                        change.verify_token,
                        old.map(|m| &m.verify_token),
                    )?,
                    page_access_token: kept_secret(
                        "integrations.meta.page_access_token",
                        change.page_access_token,
                        old.map(|m| &m.page_access_token),
                    )?,
                    api_base: change
                        .api_base
                        .or_else(|| old.map(|m| m.api_base.clone()))
                        .unwrap_or_default(),
                });
            }
        }
        match self.phone {
            None => {}
            Some(None) => next.phone = None,
            Some(Some(change)) => {
                next.phone = Some(PhoneIntegration {
                    auth_token: kept_secret(
                        "integrations.phone.auth_token",
                        change.auth_token,
                        current.phone.as_ref().map(|p| &p.auth_token),
                    )?,
                });
            }
        }
        match self.widget {
            None => {}
            Some(None) => next.widget = None,
            Some(Some(change)) => {
                let old = current.widget.as_ref();
                let model_answers = change
                    .model_answers
                    .unwrap_or_else(|| old.is_some_and(|w| w.model_answers));
                if change.model_answers == Some(true) && !has_model {
                    return Err(ServiceError::invalid(
                        "integrations.widget.model_answers",
                        "needs a language model: set [llm] url in docket.toml first",
                    ));
                }
                next.widget = Some(WidgetIntegration {
                    allowed_origins: change.allowed_origins,
                    model_answers,
                    model_instructions: change
                        .model_instructions
                        .or_else(|| old.map(|w| w.model_instructions.clone()))
                        .unwrap_or_default(),
                });
            }
        }
        Ok(next)
    }
}

fn not_found(id: ChannelId) -> ServiceError {
    ServiceError::NotFound(format!("channel {id} not found"))
}

/// Loads a channel the actor may see; others are indistinguishable from
/// missing ones.
pub(super) fn visible_channel(
    txn: &impl Reads,
    actor: &User,
    id: ChannelId,
) -> ServiceResult<Channel> {
    match txn.channel(id)? {
        Some(channel) if access::can_see_channel(actor, &channel) => Ok(channel),
        _ => Err(not_found(id)),
    }
}

pub(super) fn managed_channel(
    txn: &impl Reads,
    actor: &User,
    id: ChannelId,
) -> ServiceResult<Channel> {
    let channel = visible_channel(txn, actor, id)?;
    if access::can_manage_channel(actor, &channel) {
        Ok(channel)
    } else {
        Err(ServiceError::Forbidden(
            "only the channel's managers and administrators can change it".into(),
        ))
    }
}

fn check_unique_name(txn: &impl Reads, name: &str, except: Option<ChannelId>) -> ServiceResult<()> {
    let taken = txn
        .channels()?
        .iter()
        .any(|c| Some(c.id) != except && c.name.eq_ignore_ascii_case(name));
    if taken {
        Err(ServiceError::Conflict(format!(
            "a channel named '{name}' already exists"
        )))
    } else {
        Ok(())
    }
}

impl Service {
    /// Admins create channels.
    pub async fn create_channel(
        &self,
        actor: &User,
        new: NewChannel,
    ) -> ServiceResult<ShownChannel> {
        if !actor.is_admin() {
            return Err(ServiceError::Forbidden(
                "only administrators can create channels".into(),
            ));
        }
        let name = channel::channel_name(&new.name)?;
        let email_address =
            validate::optional_email("email_address", new.email_address.as_deref())?;
        if let Some(imap) = &new.imap {
            self.check_imap_server(imap).await?;
        }
        let mut settings = new.settings;
        settings.imap = new.imap.map(|i| i.into_settings(None)).transpose()?;
        settings.integrations = new
            .integrations
            .apply(&Integrations::default(), self.llm.is_some())?;
        let settings = settings.validated(&self.config.notify.webhook_allow)?;
        if settings.satisfaction {
            self.check_survey_possible(email_address.as_deref())?;
        }
        let created_at = now();
        self.store
            .write(move |txn| {
                check_unique_name(txn, &name, None)?;
                let channel = Channel {
                    id: txn.allocate_channel_id()?,
                    name: name.clone(),
                    email_address: email_address.clone(),
                    settings: settings.clone(),
                    members: BTreeMap::new(),
                    created_at,
                };
                txn.put_channel(&channel)?;
                Ok(channel)
            })
            .await
            .map(|c| self.show_channel(actor, c))
    }

    /// The channels the actor belongs to (all of them for admins).
    pub(super) fn visible_channels(&self, actor: &User) -> ServiceResult<Vec<Channel>> {
        let channels = self.store.read()?.shared_channels()?;
        Ok(channels
            .iter()
            .filter(|c| access::can_see_channel(actor, c))
            .cloned()
            .collect())
    }

    /// An IMAP server must be outside the network unless an administrator
    /// allowed it: managers must not make this server connect inward.
    async fn check_imap_server(&self, imap: &ImapChange) -> ServiceResult<()> {
        let host = validate::required_text("imap.host", &imap.host, 253)?;
        match self.config.outbound().resolve(&host, imap.port).await {
            Ok(_) => Ok(()),
            Err(refused) => Err(ServiceError::invalid("imap.host", refused.to_string())),
        }
    }

    pub async fn update_channel(
        &self,
        viewer: &User,
        id: ChannelId,
        change: ChannelChange,
    ) -> ServiceResult<ShownChannel> {
        let actor = viewer.clone();
        let name = change
            .name
            .as_deref()
            .map(channel::channel_name)
            .transpose()?;
        let email_address = change
            .email_address
            .map(|e| validate::optional_email("email_address", e.as_deref()))
            .transpose()?;
        if let Some(Some(imap)) = &change.imap {
            // Only those who may change the channel learn what is refused.
            managed_channel(&self.store.read()?, &actor, id)?;
            self.check_imap_server(imap).await?;
        }
        let webhook_hosts = self.config.notify.webhook_allow.clone();
        let has_model = self.llm.is_some();
        let service = self.clone();
        self.store
            .write(move |txn| {
                let mut channel = managed_channel(txn, &actor, id)?;
                if let Some(name) = &name {
                    check_unique_name(txn, name, Some(id))?;
                    channel.name = name.clone();
                }
                if let Some(email) = &email_address {
                    channel.email_address = email.clone();
                }
                let mut settings = channel.settings.clone();
                if let Some(on) = change.time_tracking {
                    settings.time_tracking = on;
                }
                if let Some(hours) = change.reply_window_hours {
                    settings.reply_window_hours = hours;
                }
                if let Some(url) = &change.slack_webhook_url {
                    settings.slack_webhook_url = url.clone();
                }
                if let Some(on) = change.personal_from {
                    settings.personal_from = on;
                }
                if let Some(on) = change.auto_acknowledge {
                    settings.auto_acknowledge = on;
                }
                if let Some(on) = change.satisfaction {
                    settings.satisfaction = on;
                }
                if let Some(on) = change.trust_spam_headers {
                    settings.trust_spam_headers = on;
                }
                let calendar_changed = change
                    .calendar
                    .as_ref()
                    .is_some_and(|c| *c != settings.calendar);
                if let Some(calendar) = &change.calendar {
                    settings.calendar = calendar.clone();
                }
                match &change.imap {
                    None => {}
                    Some(None) => settings.imap = None,
                    Some(Some(imap)) => {
                        settings.imap = Some(imap.clone().into_settings(settings.imap.as_ref())?)
                    }
                }
                settings.integrations = change
                    .integrations
                    .clone()
                    .apply(&settings.integrations, has_model)?;
                if settings.satisfaction && !channel.settings.satisfaction {
                    service.check_survey_possible(channel.email_address.as_deref())?;
                }
                channel.settings = settings.validated(&webhook_hosts)?;
                txn.put_channel(&channel)?;
                if calendar_changed {
                    super::milestones::reckon_channel_milestones(txn, &channel)?;
                    // Durations in business hours are reckoned anew.
                    use crate::store::ReportWrites;
                    txn.request_report_rebuild()?;
                }
                Ok(channel)
            })
            .await
            .map(|c| self.show_channel(viewer, c))
    }

    /// Rating requests go by email with a link to this server: both
    /// addresses must be known before a channel asks for ratings.
    fn check_survey_possible(&self, channel_address: Option<&str>) -> ServiceResult<()> {
        if self.config.notify.public_url.is_none() {
            return Err(ServiceError::invalid(
                "satisfaction",
                "rating links need the address customers reach Docket at: set [notify] public_url or DOCKET_PUBLIC_URL",
            ));
        }
        if channel_address.is_none() {
            return Err(ServiceError::invalid(
                "satisfaction",
                "rating requests are sent by email: give the channel an email address first",
            ));
        }
        Ok(())
    }

    /// Who may own cases in `channel`, by username: the same rule the
    /// service applies when a case is assigned.
    pub fn assignable_users(&self, channel: ChannelId) -> ServiceResult<Vec<String>> {
        let txn = self.store.read()?;
        let channel = txn.channel(channel)?.ok_or_else(|| not_found(channel))?;
        let users = txn.users()?;
        Ok(users
            .into_iter()
            .filter(|u| access::can_be_assigned(u, &channel))
            .map(|u| u.username)
            .collect())
    }

    /// Adds a member or changes their role.
    pub async fn put_member(
        &self,
        viewer: &User,
        id: ChannelId,
        username: &str,
        role: MemberRole,
    ) -> ServiceResult<ShownChannel> {
        let username = username.to_owned();
        self.change_members(viewer, id, move |txn, channel| {
            let member = txn
                .user(&username)?
                .ok_or_else(|| ServiceError::NotFound(format!("there is no user '{username}'")))?;
            if member.is_partner() && role == MemberRole::Manager {
                return Err(ServiceError::invalid(
                    "role",
                    "partners are plain members and cannot manage a channel",
                ));
            }
            channel.members.insert(member.username.clone(), role);
            Ok(())
        })
        .await
    }

    pub async fn remove_member(
        &self,
        viewer: &User,
        id: ChannelId,
        username: &str,
    ) -> ServiceResult<ShownChannel> {
        let username = username.to_owned();
        self.change_members(viewer, id, move |_, channel| {
            if channel.members.remove(&username).is_none() {
                return Err(ServiceError::NotFound(format!(
                    "'{username}' is not a member of channel {id}"
                )));
            }
            Ok(())
        })
        .await
    }

    /// Applies `change` to the members of a channel `viewer` manages.
    async fn change_members(
        &self,
        viewer: &User,
        id: ChannelId,
        change: impl Fn(&WriteTxn, &mut Channel) -> ServiceResult<()> + Send + 'static,
    ) -> ServiceResult<ShownChannel> {
        let actor = viewer.clone();
        self.store
            .write(move |txn| {
                let mut channel = managed_channel(txn, &actor, id)?;
                change(txn, &mut channel)?;
                txn.put_channel(&channel)?;
                Ok(channel)
            })
            .await
            .map(|c| self.show_channel(viewer, c))
    }
}
