//! Saved replies: reply templates per channel. The channel's managers and
//! administrators keep them; its agents use them, filled in for a case.

use super::cases::visible_case;
use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::access;
use crate::domain::channel::ChannelId;
use crate::domain::saved_reply::{self, SavedReply};
use crate::domain::user::User;
use crate::store::{Reads, SavedReplyReads, SavedReplyWrites};

/// A saved reply as it would be inserted into a case's composer.
#[derive(Debug, Clone)]
pub struct FilledReply {
    pub id: u64,
    pub name: String,
    pub text: String,
}

fn not_found(id: u64) -> ServiceError {
    ServiceError::NotFound(format!("saved reply {id} not found"))
}

impl Service {
    /// The saved replies of the channels `actor` works in (of one channel
    /// when `channel` is given), by name.
    pub fn list_saved_replies(
        &self,
        actor: &User,
        channel: Option<ChannelId>,
    ) -> ServiceResult<Vec<SavedReply>> {
        if actor.is_partner() {
            return Err(ServiceError::Forbidden(
                "partners have no saved replies".into(),
            ));
        }
        let txn = self.store.read()?;
        let channels = txn.channels()?;
        let mut replies: Vec<SavedReply> = txn
            .saved_replies()?
            .into_iter()
            .filter(|r| channel.is_none_or(|c| c == r.channel))
            .filter(|r| {
                channels
                    .iter()
                    .any(|c| c.id == r.channel && access::can_work_case(actor, c))
            })
            .collect();
        replies.sort_by_key(|r| r.name.to_lowercase());
        Ok(replies)
    }

    pub fn get_saved_reply(&self, actor: &User, id: u64) -> ServiceResult<SavedReply> {
        self.list_saved_replies(actor, None)?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| not_found(id))
    }

    /// Adds a saved reply to a channel `actor` manages.
    pub async fn create_saved_reply(
        &self,
        actor: &User,
        channel: ChannelId,
        name: &str,
        body: &str,
    ) -> ServiceResult<SavedReply> {
        let (name, body) = saved_reply::checked(name, body)?;
        let actor = actor.clone();
        self.store
            .write(move |txn| {
                managed(txn, &actor, channel)?;
                let mut reply = SavedReply {
                    id: 0,
                    channel,
                    name: name.clone(),
                    body: body.clone(),
                    updated_at: now(),
                    updated_by: actor.username.clone(),
                };
                txn.add_saved_reply(&mut reply)?;
                Ok(reply)
            })
            .await
    }

    /// Changes a saved reply's name or text (managers of its channel).
    pub async fn update_saved_reply(
        &self,
        actor: &User,
        id: u64,
        name: Option<String>,
        body: Option<String>,
    ) -> ServiceResult<SavedReply> {
        let actor = actor.clone();
        self.store
            .write(move |txn| {
                let mut reply = txn.saved_reply(id)?.ok_or_else(|| not_found(id))?;
                managed(txn, &actor, reply.channel).map_err(|e| hidden_as_missing(e, id))?;
                let (name, body) = saved_reply::checked(
                    name.as_deref().unwrap_or(&reply.name),
                    body.as_deref().unwrap_or(&reply.body),
                )?;
                reply.name = name;
                reply.body = body;
                reply.updated_at = now();
                reply.updated_by = actor.username.clone();
                txn.put_saved_reply(&reply)?;
                Ok(reply)
            })
            .await
    }

    pub async fn delete_saved_reply(&self, actor: &User, id: u64) -> ServiceResult<()> {
        let actor = actor.clone();
        self.store
            .write(move |txn| {
                let reply = txn.saved_reply(id)?.ok_or_else(|| not_found(id))?;
                managed(txn, &actor, reply.channel).map_err(|e| hidden_as_missing(e, id))?;
                txn.delete_saved_reply(id)?;
                Ok(())
            })
            .await
    }

    /// The saved replies of a case's channel, filled in for that case and
    /// `actor`, for the composer.
    pub fn saved_replies_for_case(
        &self,
        actor: &User,
        number: crate::domain::case::CaseNumber,
    ) -> ServiceResult<Vec<FilledReply>> {
        let (case, channel) = visible_case(&self.store.read()?, actor, number)?;
        if !access::can_work_case(actor, &channel) {
            return Err(ServiceError::Forbidden(
                "only the channel's agents use its saved replies".into(),
            ));
        }
        Ok(self
            .list_saved_replies(actor, Some(channel.id))?
            .into_iter()
            .map(|r| FilledReply {
                text: saved_reply::fill(&r.body, &case, actor, &channel.name),
                id: r.id,
                name: r.name,
            })
            .collect())
    }
}

/// Someone who cannot see a reply's channel cannot see the reply: it is
/// missing to them, like a reply that does not exist.
fn hidden_as_missing(error: ServiceError, id: u64) -> ServiceError {
    match error {
        ServiceError::NotFound(_) | ServiceError::Invalid { .. } => not_found(id),
        other => other,
    }
}

/// The channel, if `actor` may keep its saved replies.
fn managed(
    txn: &impl Reads,
    actor: &User,
    channel: ChannelId,
) -> ServiceResult<crate::domain::channel::Channel> {
    match txn.channel(channel)? {
        Some(c) if access::can_manage_channel(actor, &c) => Ok(c),
        Some(c) if access::can_see_channel(actor, &c) => Err(ServiceError::Forbidden(
            "only the channel's managers and administrators keep its saved replies".into(),
        )),
        _ => Err(ServiceError::invalid(
            "channel",
            format!("channel {channel} not found"),
        )),
    }
}
