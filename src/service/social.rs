//! Instagram and Facebook: messages and comments from Meta's webhooks become
//! conversations on cases. One conversation (a person's DMs with the page,
//! or one comment thread on a post) is one case; a replayed event is
//! recognised by its id and stores nothing.

use std::collections::HashMap;

use crate::store::WriteTxn;
use sha2::{Digest, Sha256};

use super::cases::save_events;
use super::intake::{FirstEvent, NewCase, PlannedCase, open_case};
use super::{Service, ServiceError, ServiceResult, now};
use crate::channels::meta::{SocialEvent, SocialKind};
use crate::domain::Timestamp;
use crate::domain::activity::{Direction, EventKind};
use crate::domain::case::{Case, CaseDraft, CaseNumber, Customer, Source, Status};
use crate::domain::channel::{ChannelId, Integrations};
use crate::store::{
    ConversationReads, ConversationWrites, MailReads, MailWrites, QueueWrites, Reads, Writes,
};

/// The actor recorded for what arrives through Meta.
pub const SOCIAL_ACTOR: &str = "meta";

/// Subjects of social cases are the first words of the first message.
const SUBJECT_WORDS: usize = 12;

fn seen_key(channel: ChannelId, event: &SocialEvent) -> [u8; 32] {
    Sha256::digest(format!(
        "meta:{channel}:{}:{}",
        event.network.as_str(),
        event.external_id
    ))
    .into()
}

fn source_of(event: &SocialEvent) -> Source {
    match event.network {
        crate::channels::meta::Network::Instagram => Source::Instagram,
        crate::channels::meta::Network::Facebook => Source::Facebook,
    }
}

fn sender_label(event: &SocialEvent) -> String {
    event
        .sender_name
        .clone()
        .unwrap_or_else(|| format!("{} user {}", event.network.as_str(), event.sender))
}

/// The body as stored: the text, then links to what was attached.
fn body_of(event: &SocialEvent) -> String {
    let mut body: String = event
        .text
        .chars()
        .take(crate::domain::activity::NOTE_MAX - 2000)
        .collect();
    for url in event.attachments.iter().take(10) {
        body.push_str("\n[attachment] ");
        body.push_str(&url.chars().take(190).collect::<String>());
    }
    body
}

fn draft_of(event: &SocialEvent) -> CaseDraft {
    let words: Vec<&str> = event.text.split_whitespace().take(SUBJECT_WORDS).collect();
    let what = match event.kind {
        SocialKind::Message => "message",
        SocialKind::Comment { .. } => "comment",
    };
    let subject = if words.is_empty() {
        format!(
            "{} {what} from {}",
            event.network.as_str(),
            sender_label(event)
        )
    } else {
        words.join(" ")
    };
    let mut handles = std::collections::BTreeMap::new();
    handles.insert(
        event.network.as_str().to_owned(),
        event
            .sender_name
            .clone()
            .unwrap_or_else(|| event.sender.clone()),
    );
    CaseDraft {
        subject: subject
            .chars()
            .take(crate::domain::case::SUBJECT_MAX)
            .collect(),
        description: body_of(event),
        source: Some(source_of(event)),
        customer: Some(Customer {
            name: event.sender_name.clone(),
            handles,
            ..Default::default()
        }),
        ..Default::default()
    }
}

impl Service {
    /// A channel's integrations, for webhooks (which prove who they are by
    /// signature, not by a user).
    pub fn channel_integrations(&self, channel: ChannelId) -> ServiceResult<Integrations> {
        self.store
            .read()?
            .channel(channel)?
            .map(|c| c.settings.integrations)
            .ok_or_else(|| ServiceError::NotFound(format!("channel {channel} not found")))
    }

    /// Stores the events of one webhook delivery in one transaction;
    /// returns how many were new.
    pub async fn take_in_social(
        &self,
        channel: ChannelId,
        events: Vec<SocialEvent>,
    ) -> ServiceResult<usize> {
        if events.is_empty() {
            return Ok(0);
        }
        let plans = self.social_plans(channel, &events).await?;
        self.store
            .write(move |txn| {
                let mut stored = 0;
                for event in &events {
                    let key = seen_key(channel, event);
                    if txn.seen_mail(&key)?.is_some() {
                        continue;
                    }
                    let at = now();
                    let (number, seq) =
                        match live_conversation_case(txn, channel, &event.conversation)? {
                            Some(case) => append_social(txn, case, event, at)?,
                            None => open_social_case(
                                txn,
                                channel,
                                event,
                                plans.get(&event.conversation),
                                at,
                            )?,
                        };
                    txn.remember_seen_mail(&key, number, seq)?;
                    stored += 1;
                }
                Ok(stored)
            })
            .await
    }

    /// Plans a case, running the intake rules, for each conversation that
    /// has no case yet.
    async fn social_plans(
        &self,
        channel: ChannelId,
        events: &[SocialEvent],
    ) -> ServiceResult<HashMap<String, PlannedCase>> {
        let mut wanted = Vec::new();
        let channel = {
            let txn = self.store.read()?;
            let channel = txn
                .channel(channel)?
                .ok_or_else(|| ServiceError::NotFound(format!("channel {channel} not found")))?;
            for event in events {
                if !wanted
                    .iter()
                    .any(|e: &&SocialEvent| e.conversation == event.conversation)
                    && live_conversation_case(&txn, channel.id, &event.conversation)?.is_none()
                {
                    wanted.push(event);
                }
            }
            channel
        };
        let mut plans = HashMap::new();
        for event in wanted {
            let plan = self.plan_case(&channel, new_case(event)).await?;
            plans.insert(event.conversation.clone(), plan);
        }
        Ok(plans)
    }
}

/// The case holding a conversation, if it still takes messages (merges
/// followed; a case in the trash does not).
fn live_conversation_case(
    txn: &(impl Reads + ConversationReads),
    channel: ChannelId,
    conversation: &str,
) -> ServiceResult<Option<Case>> {
    // Keys are per channel: another channel's hook, signed with that
    // channel's own secret, can never reach this channel's cases.
    let Some(number) = txn.case_of_conversation(&conversation_key(channel, conversation))? else {
        return Ok(None);
    };
    Ok(super::cases::live_case(txn, number)?)
}

/// The key a conversation is remembered under, per channel.
fn conversation_key(channel: ChannelId, conversation: &str) -> String {
    format!("{channel}/{conversation}")
}

fn message_of(event: &SocialEvent) -> EventKind {
    EventKind::Message {
        direction: Direction::Inbound,
        from: Some(sender_label(event)),
        body: body_of(event),
        email: None,
        delivery: None,
    }
}

/// The case a conversation's first message opens.
fn new_case(event: &SocialEvent) -> NewCase {
    NewCase::new(draft_of(event), source_of(event), SOCIAL_ACTOR)
        .threaded_by(Some(event.conversation.clone()))
}

fn open_social_case(
    txn: &WriteTxn,
    channel: ChannelId,
    event: &SocialEvent,
    plan: Option<&PlannedCase>,
    at: Timestamp,
) -> ServiceResult<(CaseNumber, u64)> {
    // The case is this event's; the rules ran on its conversation's first
    // event (none ran for a conversation that had a case then, gone since).
    let plan = match plan {
        Some(plan) => plan.with_case(new_case(event)),
        None => PlannedCase::without_rules(channel, new_case(event))?,
    };
    let (case, first) = open_case(txn, &plan, at, |_| {
        Ok(vec![FirstEvent {
            at,
            kind: message_of(event),
            meets_milestones: true,
        }])
    })?;
    txn.remember_conversation(&conversation_key(channel, &event.conversation), case.number)?;
    Ok((case.number, first.first().map_or(0, |e| e.seq)))
}

/// A later message of the conversation; it reopens a resolved case.
fn append_social(
    txn: &WriteTxn,
    mut case: Case,
    event: &SocialEvent,
    at: Timestamp,
) -> ServiceResult<(CaseNumber, u64)> {
    let mut events = Vec::new();
    if matches!(case.status, Status::Resolved | Status::WaitingForCustomer) {
        events.extend(super::cases::apply_status(
            &mut case,
            Status::Open,
            SOCIAL_ACTOR,
            at,
        )?);
    }
    case.updated_at = at;
    case.updated_by = SOCIAL_ACTOR.to_owned();
    // The message first, then what it did to the case (a reopening).
    events.insert(0, message_of(event));
    let appended = save_events(txn, &mut case, SOCIAL_ACTOR, at, events)?;
    Ok((case.number, appended.first().map_or(0, |e| e.seq)))
}

/// Where a reply to a social case goes, from its conversation key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ReplyTarget {
    /// A direct message: the Send API of the page, to the person.
    Message { page: String, recipient: String },
    /// A comment thread: a reply to its top comment.
    Comment {
        network: &'static str,
        comment: String,
    },
}

fn reply_target(thread: &str) -> Option<ReplyTarget> {
    let mut parts = thread.splitn(4, ':');
    let network = match parts.next()? {
        "instagram" => "instagram",
        "facebook" => "facebook",
        _ => return None,
    };
    let kind = parts.next()?;
    let first = parts.next()?.to_owned();
    let second = parts.next()?.to_owned();
    match kind {
        "dm" => Some(ReplyTarget::Message {
            page: first,
            recipient: second,
        }),
        "comments" => Some(ReplyTarget::Comment {
            network,
            comment: second,
        }),
        _ => None,
    }
}

/// The Graph API call that delivers `text` to `target`.
/// `base/seg1/seg2` with each segment percent-encoded.
fn graph_url(api_base: &str, segments: &[&str]) -> String {
    let mut url = api_base.trim_end_matches('/').to_owned();
    for segment in segments {
        url.push('/');
        url.extend(url::form_urlencoded::byte_serialize(segment.as_bytes()));
    }
    url
}

fn graph_request(api_base: &str, target: &ReplyTarget, text: &str) -> (String, String) {
    match target {
        ReplyTarget::Message { page, recipient } => (
            graph_url(api_base, &[page, "messages"]),
            serde_json::json!({
                "recipient": {"id": recipient},
                "messaging_type": "RESPONSE",
                "message": {"text": text},
            })
            .to_string(),
        ),
        ReplyTarget::Comment { network, comment } => {
            let edge = if *network == "instagram" {
                "replies"
            } else {
                "comments"
            };
            (
                graph_url(api_base, &[comment, edge]),
                serde_json::json!({"message": text}).to_string(),
            )
        }
    }
}

/// When the customer last wrote on the case.
fn last_inbound(txn: &impl Reads, number: CaseNumber) -> ServiceResult<Option<Timestamp>> {
    let mut last = None;
    txn.visit_activity(number, &mut |event| {
        // Only what came through Meta opens the window, not messages
        // staff recorded by hand.
        if event.actor == SOCIAL_ACTOR
            && matches!(
                event.kind,
                EventKind::Message {
                    direction: Direction::Inbound,
                    ..
                }
            )
        {
            last = Some(event.at);
        }
        true
    })?;
    Ok(last)
}

impl Service {
    /// When the case's reply window closes: its channel's
    /// `reply_window_hours` (24 for Meta's direct messages when unset) after
    /// the customer's last message. `None` when no window applies or the
    /// customer never wrote.
    pub fn reply_window_closes(
        &self,
        case: &Case,
        window_hours: Option<u32>,
    ) -> ServiceResult<Option<Timestamp>> {
        let meta_dm = matches!(case.source, Source::Instagram | Source::Facebook)
            && matches!(
                case.thread.as_deref().and_then(reply_target),
                Some(ReplyTarget::Message { .. })
            );
        let Some(hours) = window_hours.or(meta_dm.then_some(24)) else {
            return Ok(None);
        };
        let hours = if meta_dm { hours.min(24) } else { hours };
        let last = last_inbound(&self.store.read()?, case.number)?;
        Ok(last.and_then(|l| l.checked_add_signed(chrono::Duration::hours(i64::from(hours)))))
    }
}

/// Longest reply Meta takes in one message.
const REPLY_MAX: usize = 2000;

impl Service {
    /// Replies to an Instagram or Facebook case where the customer wrote:
    /// a direct message through the Send API, or a reply in the comment
    /// thread. Sent from the outbox with retries; a direct message outside
    /// the channel's reply window (24 hours for Meta) is refused.
    pub async fn reply_on_social(
        &self,
        actor: &crate::domain::user::User,
        number: CaseNumber,
        text: &str,
    ) -> ServiceResult<crate::domain::activity::ActivityEvent> {
        let text = crate::domain::validate::required_text("body", text, REPLY_MAX)?;
        let actor = actor.clone();
        let allowed = self.config.notify.webhook_allow.clone();
        self.store
            .write(move |txn| {
                let (mut case, channel) = super::cases::workable_case(txn, &actor, number)?;
                let target = match (case.source, case.thread.as_deref().and_then(reply_target)) {
                    (Source::Instagram | Source::Facebook, Some(target)) => target,
                    _ => {
                        return Err(ServiceError::invalid(
                            "case",
                            format!(
                                "case #{number} did not come from Instagram or Facebook; answer it with an update"
                            ),
                        ));
                    }
                };
                let meta = channel.settings.integrations.meta.clone().ok_or_else(|| {
                    ServiceError::invalid(
                        "case",
                        format!("the channel '{}' is not connected to Meta", channel.name),
                    )
                })?;
                let at = now();
                if let ReplyTarget::Message { .. } = target {
                    // Meta's rule is 24 hours whatever the channel says.
                    let hours = channel.settings.reply_window_hours.unwrap_or(24).min(24);
                    let last = last_inbound(txn, number)?;
                    if !crate::domain::channel::within_reply_window(last, at, hours) {
                        return Err(ServiceError::Conflict(format!(
                            "the customer last wrote {}; Meta only takes replies within {hours} hours of their last message",
                            last.map(|l| l.format("%Y-%m-%d %H:%M UTC").to_string())
                                .unwrap_or_else(|| "never".into())
                        )));
                    }
                }
                let (url, payload) = graph_request(&meta.api_base, &target, &text);
                crate::domain::validate::outbound_url("integrations.meta.api_base", &url, &allowed)?;
                let pending = crate::domain::mail::DeliveryReport {
                    state: "pending".into(),
                    attempts: 0,
                    last_error: None,
                    at: None,
                };
                let message = EventKind::Message {
                    direction: Direction::Outbound,
                    from: Some(actor.display_name.clone()),
                    body: text.clone(),
                    email: None,
                    delivery: Some(pending),
                };
                crate::domain::milestone::complete(&mut case, &message, at);
                case.updated_at = at;
                case.updated_by = actor.username.clone();
                txn.put_case(&case)?;
                let event = txn.append_event(&case, &actor.username, at, message)?;
                txn.add_delivery(&crate::store::Delivery {
                    url: url.clone(),
                    payload: payload.clone(),
                    case: number,
                    attempts: 0,
                    next_at: 0,
                    meta_channel: Some(channel.id),
                    event: Some(event.seq),
                })?;
                Ok(event)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_go_where_the_conversation_is() {
        assert_eq!(
            reply_target("instagram:dm:1784:IGSID1"),
            Some(ReplyTarget::Message {
                page: "1784".into(),
                recipient: "IGSID1".into()
            })
        );
        let comment = reply_target("facebook:comments:post9:c1").unwrap();
        let (url, body) = graph_request("https://graph.example/v1", &comment, "Yes, in blue");
        assert_eq!(url, "https://graph.example/v1/c1/comments");
        assert!(body.contains("Yes, in blue"));
        let ig = reply_target("instagram:comments:post9:c7").unwrap();
        assert_eq!(graph_request("b", &ig, "x").0, "b/c7/replies");
        assert_eq!(reply_target("phone:1:+15550100"), None);
        assert_eq!(reply_target("instagram:dm:only-page"), None);
    }
}
