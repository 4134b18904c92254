//! Email intake: a raw message becomes a message on the case it belongs to,
//! or a new case. Every way mail arrives (IMAP, the MTA pipe) passes through
//! [`Service::take_in_mail`], which acknowledges only after the commit.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::WriteTxn;

use super::cases::{apply_status, live_case, save_events};
use super::intake::{FirstEvent, NewCase, PlannedCase, open_case};
use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::Timestamp;
use crate::domain::access;
use crate::domain::activity::{Direction, EventKind};
use crate::domain::case::{Case, CaseDraft, CaseNumber, Customer, Source, Status};
use crate::domain::channel::{Channel, ChannelId};
use crate::domain::file::{FileOrigin, FileRecord};
use crate::domain::mail::{self, EmailPart, Noise};
use crate::domain::user::User;
use crate::mail::parse::{self, InboundMail};
use crate::store::{FileWrites, MailReads, MailWrites, Reads, StoreError, Writes};

/// The actor recorded for what arrives by mail.
pub const MAIL_ACTOR: &str = "mail";

/// What became of one inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailReceipt {
    pub case: CaseNumber,
    /// A new case was opened for it.
    pub created: bool,
    /// It had been taken in before; nothing was stored again.
    pub duplicate: bool,
    /// The message's event in the case's activity.
    pub event: u64,
    /// How it found an existing case: `references`, `subject_token`,
    /// `plus_address` or `sender_subject`.
    pub threaded_by: Option<&'static str>,
    pub noise: Noise,
}

/// Counts messages per sender in a sliding window, so one sender (or a
/// loop with another machine) cannot flood the desk.
#[derive(Debug, Default)]
pub struct SenderLimiter {
    seen: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl SenderLimiter {
    /// Records a message from `sender`; false when over the limit.
    pub fn admit(&self, sender: &str, max: u32, window: Duration) -> bool {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > 50_000 {
            seen.retain(|_, times| times.back().is_some_and(|t| now - *t < window));
        }
        let times = seen.entry(sender.to_owned()).or_default();
        while times.front().is_some_and(|t| now - *t >= window) {
            times.pop_front();
        }
        if times.len() >= max as usize {
            return false;
        }
        times.push_back(now);
        true
    }
}

/// Finds the case an inbound message continues, in the documented order.
fn find_thread(
    txn: &(impl Reads + MailReads),
    channel: &Channel,
    mail: &InboundMail,
    window_secs: u64,
    at: Timestamp,
) -> Result<Option<(Case, &'static str)>, StoreError> {
    for id in &mail.parents {
        if let Some(number) = txn.case_of_message_id(id)?
            && let Some(case) = live_case(txn, number)?
        {
            return Ok(Some((case, "references")));
        }
    }
    // A reply that came first cited this message: it joins the reply.
    if let Some(id) = &mail.message_id
        && let Some(number) = txn.case_citing(id)?
        && let Some(case) = live_case(txn, number)?
    {
        return Ok(Some((case, "references")));
    }
    // Weaker evidence than a Message-ID: only within the same channel.
    let same_channel = |case: Option<Case>| case.filter(|c| c.channel == channel.id);
    if let Some(number) = mail::case_token(&mail.subject)
        && let Some(case) = same_channel(live_case(txn, number)?)
    {
        return Ok(Some((case, "subject_token")));
    }
    if let Some(address) = &channel.email_address {
        for recipient in mail.recipients() {
            if let Some(number) = mail::plus_address_case(recipient, address)
                && let Some(case) = same_channel(live_case(txn, number)?)
            {
                return Ok(Some((case, "plus_address")));
            }
        }
    }
    let subject = mail::normalized_subject(&mail.subject);
    if window_secs > 0
        && !subject.is_empty()
        && mail.subject != parse::NO_SUBJECT
        && let Some(sender) = &mail.from_address
        && let Some((number, last)) = txn.subject_thread(sender, &subject)?
        && let Some(case) = same_channel(live_case(txn, number)?)
        && written_at(mail, at, Some(case.created_at))
            .timestamp()
            .abs_diff(last as i64)
            <= window_secs
    {
        return Ok(Some((case, "sender_subject")));
    }
    Ok(None)
}

/// When the message was written, for joining by sender and subject: its
/// `Date` when plausible (not in the future, not before `case_opened`),
/// else when it arrived. A mailbox taken in at once keeps weeks apart.
fn written_at(mail: &InboundMail, at: Timestamp, case_opened: Option<Timestamp>) -> Timestamp {
    mail::plausible_date(
        mail.date,
        at,
        case_opened.map(|c| c - chrono::Duration::days(1)),
    )
    .unwrap_or(at)
}

/// The case a new message would open, before it has a number.
fn draft_of(mail: &InboundMail) -> CaseDraft {
    CaseDraft {
        subject: mail.subject.clone(),
        description: mail.text.clone(),
        source: Some(Source::Email),
        customer: Some(Customer {
            name: mail.from_name.clone(),
            email: mail.from_address.clone(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// How a message arrives: live (now, flood limits, acknowledgements), or
/// from a mailbox being migrated (its own date, nothing sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arrival {
    Live,
    Migrated,
}

/// Blobs already written for a message's attachments, by position.
struct StoredAttachment {
    sha256: String,
    size: u64,
}

impl Service {
    /// Takes one raw message into `channel`. `actor` must manage the channel
    /// (the MTA pipe's token) or be the operator (IMAP intake).
    pub async fn take_in_mail(
        &self,
        actor: &User,
        channel_id: ChannelId,
        raw: Vec<u8>,
    ) -> ServiceResult<MailReceipt> {
        self.take_in(actor, channel_id, raw, Arrival::Live).await
    }

    /// Takes in one message of a mailbox being migrated (`docket
    /// import-mail`): dated by its own `Date`, with no flood limit and no
    /// acknowledgement. Taking the same message in again changes nothing.
    pub async fn take_in_migrated_mail(
        &self,
        channel_id: ChannelId,
        raw: Vec<u8>,
    ) -> ServiceResult<MailReceipt> {
        self.take_in(&Service::operator(), channel_id, raw, Arrival::Migrated)
            .await
    }

    /// After a migration: the history it wrote is no news for Slack.
    pub async fn forget_migrated_news(&self) -> ServiceResult<()> {
        self.store
            .write(|txn| {
                let head = txn.outbox_head()?;
                txn.ack_outbox(crate::store::Consumer::Notify, head)?;
                Ok(())
            })
            .await
    }

    async fn take_in(
        &self,
        actor: &User,
        channel_id: ChannelId,
        raw: Vec<u8>,
        arrival: Arrival,
    ) -> ServiceResult<MailReceipt> {
        let channel = {
            let txn = self.store.read()?;
            match txn.channel(channel_id)? {
                Some(c) if access::can_see_channel(actor, &c) => c,
                _ => {
                    return Err(ServiceError::NotFound(format!(
                        "channel {channel_id} not found"
                    )));
                }
            }
        };
        if !access::can_manage_channel(actor, &channel) {
            return Err(ServiceError::Forbidden(
                "only the channel's managers and administrators can deliver mail to it".into(),
            ));
        }
        let limit = self.config.mail.max_message_bytes;
        if raw.len() > limit {
            return Err(ServiceError::TooLarge(format!(
                "the message is {} bytes; this desk takes messages up to {limit} bytes",
                raw.len()
            )));
        }
        let (mail, raw) = tokio::task::spawn_blocking(move || (parse::parse(&raw), raw))
            .await
            .map_err(|e| ServiceError::BadRequest(format!("the message could not be read: {e}")))?;
        let mail =
            mail.map_err(|e| ServiceError::BadRequest(format!("not a mail message: {e}")))?;
        if let Some(receipt) = self.already_taken_in(&mail)? {
            return Ok(receipt);
        }
        // A mailbox being migrated may hold mail this desk already has
        // (taken in live, or sent from here): its Message-ID says so.
        if arrival == Arrival::Migrated
            && let Some(id) = &mail.message_id
            && let Some(case) = self.store.read()?.case_of_message_id(id)?
        {
            return Ok(duplicate_receipt(case, 0, mail.noise));
        }
        if arrival == Arrival::Live
            && let Some(sender) = &mail.from_address
        {
            let config = &self.config.mail;
            let window = Duration::from_secs(config.sender_window_seconds);
            if !self
                .mail_senders
                .admit(sender, config.sender_max_messages, window)
            {
                return Err(ServiceError::SenderThrottled {
                    sender: sender.clone(),
                    retry_after_secs: config.sender_window_seconds,
                });
            }
        }
        let window_secs = u64::from(self.config.mail.thread_window_hours) * 3600;
        let arrived = match arrival {
            Arrival::Live => now(),
            // A mailbox's history keeps its dates.
            Arrival::Migrated => mail::plausible_date(mail.date, now(), None).unwrap_or_else(now),
        };
        let thread = find_thread(&self.store.read()?, &channel, &mail, window_secs, arrived)?
            .map(|(case, how)| (case.number, how));
        // Rules are for new conversations only.
        let new = NewCase::new(draft_of(&mail), Source::Email, MAIL_ACTOR)
            .threaded_by(mail.message_id.clone());
        let spam = mail.upstream_spam && channel.settings.trust_spam_headers;
        let plan = match thread {
            Some(_) => PlannedCase::without_rules(channel.id, new)?,
            None if spam => {
                let category = self.config.ai.spam_category.clone();
                self.plan_case(&channel, new).await?.judged_spam(category)
            }
            None => self.plan_case(&channel, new).await?,
        };
        let plan = match arrival {
            Arrival::Live => plan,
            Arrival::Migrated => plan.without_targets(),
        };
        let stored = self.store_attachments(&mail, &raw).await?;
        self.store
            .write(move |txn| {
                if let Some((number, event)) = txn.seen_mail(&mail.dedup_key)? {
                    return Ok(duplicate_receipt(number, event, mail.noise));
                }
                // Settings may have changed while the rules ran.
                let channel = txn.channel(channel_id)?.ok_or_else(|| {
                    ServiceError::NotFound(format!("channel {channel_id} not found"))
                })?;
                let at = match arrival {
                    Arrival::Live => now(),
                    Arrival::Migrated => arrived,
                };
                let continued = match thread {
                    Some((number, how)) => live_case(txn, number)?
                        .filter(|c| how == "references" || c.channel == channel.id)
                        .map(|c| (c, how)),
                    None => None,
                };
                // Another message of the same conversation may have opened
                // its case since the look before the write.
                let continued = match continued {
                    Some(found) => Some(found),
                    None => find_thread(txn, &channel, &mail, window_secs, at)?,
                };
                let receipt = match continued {
                    Some((case, how)) => append_mail(txn, case, &mail, &stored, how, spam, at)?,
                    None => {
                        let acknowledge = arrival == Arrival::Live;
                        open_case_from_mail(txn, &channel, &plan, &mail, &stored, acknowledge, at)?
                    }
                };
                remember_mail(txn, &mail, &receipt, at)?;
                Ok(receipt)
            })
            .await
    }

    fn already_taken_in(&self, mail: &InboundMail) -> ServiceResult<Option<MailReceipt>> {
        let txn = self.store.read()?;
        Ok(txn
            .seen_mail(&mail.dedup_key)?
            .map(|(number, event)| duplicate_receipt(number, event, mail.noise)))
    }

    /// Writes the blobs of the attachments, then of the whole message as
    /// it arrived (the last one), before the records that name them.
    async fn store_attachments(
        &self,
        mail: &InboundMail,
        raw: &[u8],
    ) -> ServiceResult<Vec<StoredAttachment>> {
        let blobs = self.blobs.clone();
        let mut contents: Vec<Vec<u8>> = mail.attachments.iter().map(|a| a.bytes.clone()).collect();
        contents.push(raw.to_vec());
        tokio::task::spawn_blocking(move || {
            contents
                .iter()
                .map(|bytes| {
                    Ok(StoredAttachment {
                        sha256: blobs.put(bytes)?,
                        size: bytes.len() as u64,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()
        })
        .await
        .map_err(|e| ServiceError::Output(format!("storing attachments failed: {e}")))?
        .map_err(ServiceError::from)
    }
}

fn duplicate_receipt(case: CaseNumber, event: u64, noise: Noise) -> MailReceipt {
    MailReceipt {
        case,
        created: false,
        duplicate: true,
        event,
        threaded_by: None,
        noise,
    }
}

/// Opens a case for a message that continues none.
fn open_case_from_mail(
    txn: &WriteTxn,
    channel: &Channel,
    plan: &PlannedCase,
    mail: &InboundMail,
    stored: &[StoredAttachment],
    acknowledge: bool,
    at: Timestamp,
) -> ServiceResult<MailReceipt> {
    let mut files = Vec::new();
    let (case, first) = open_case(txn, plan, at, |case| {
        let (message, recorded) = message_of(txn, case, mail, stored, at)?;
        files = recorded;
        Ok(vec![FirstEvent {
            at,
            kind: message,
            meets_milestones: true,
        }])
    })?;
    let event = first.first().map_or(0, |e| e.seq);
    file_under(txn, files, event)?;
    if acknowledge
        && channel.settings.auto_acknowledge
        && mail.noise == Noise::None
        && !mail.via_list
        && !case.auto_resolved
    {
        super::updates::queue_acknowledgement(txn, channel, &case, mail, at)?;
    }
    Ok(MailReceipt {
        case: case.number,
        created: true,
        duplicate: false,
        event,
        threaded_by: None,
        noise: mail.noise,
    })
}

/// Adds a message to the case it continues. People's replies reopen a
/// resolved case; machines' (bounces, auto-replies) never do.
#[allow(clippy::too_many_arguments)]
fn append_mail(
    txn: &WriteTxn,
    mut case: Case,
    mail: &InboundMail,
    stored: &[StoredAttachment],
    how: &'static str,
    spam: bool,
    at: Timestamp,
) -> ServiceResult<MailReceipt> {
    let mut events = Vec::new();
    // A spammer's next message stays with the closed spam, unannounced:
    // mail judged spam itself, or from the same sender as the case that
    // was closed at intake.
    let same_sender = mail.from_address.is_some()
        && case.customer.as_ref().and_then(|c| c.email.as_deref()) == mail.from_address.as_deref();
    let stays_closed = spam || (case.auto_resolved && case.status.is_resolved() && same_sender);
    if mail.noise == Noise::None && !stays_closed {
        if matches!(case.status, Status::Resolved | Status::WaitingForCustomer) {
            events.extend(apply_status(&mut case, Status::Open, MAIL_ACTOR, at)?);
        }
        link_customer(&mut case, mail);
    }
    case.updated_at = at;
    case.updated_by = MAIL_ACTOR.to_owned();
    let (message, files) = message_of(txn, &case, mail, stored, at)?;
    // The message first, then what it did to the case (a reopening).
    events.insert(0, message);
    let appended = save_events(txn, &mut case, MAIL_ACTOR, at, events)?;
    let event = appended.first().map_or(0, |e| e.seq);
    file_under(txn, files, event)?;
    Ok(MailReceipt {
        case: case.number,
        created: false,
        duplicate: false,
        event,
        threaded_by: Some(how),
        noise: mail.noise,
    })
}

/// A case without a known customer gets the sender as its customer.
fn link_customer(case: &mut Case, mail: &InboundMail) {
    let Some(address) = &mail.from_address else {
        return;
    };
    let customer = case.customer.get_or_insert_with(Customer::default);
    if customer.email.is_none() {
        customer.email = Some(address.clone());
        if customer.name.is_none() {
            customer.name = mail.from_name.clone();
        }
    }
}

/// Records the message's files on `case` and returns the message's event
/// with them, to be filed under that event once it is appended.
fn message_of(
    txn: &WriteTxn,
    case: &Case,
    mail: &InboundMail,
    stored: &[StoredAttachment],
    at: Timestamp,
) -> ServiceResult<(EventKind, Vec<FileRecord>)> {
    let mut files = Vec::new();
    for (attachment, blob) in mail.attachments.iter().zip(stored) {
        let mut record = FileRecord {
            id: 0,
            case: case.number,
            name: attachment.name.clone(),
            content_type: attachment.content_type.clone(),
            size: blob.size,
            sha256: blob.sha256.clone(),
            origin: FileOrigin::Incoming,
            content_id: attachment.content_id.clone(),
            event: None,
            created_at: at,
            created_by: MAIL_ACTOR.to_owned(),
        };
        txn.add_file(&mut record)?;
        files.push(record);
    }
    let attachments: Vec<u64> = files.iter().map(|f| f.id).collect();
    if let Some(original) = stored.get(mail.attachments.len()) {
        let mut record = FileRecord {
            id: 0,
            case: case.number,
            name: "message.eml".to_owned(),
            content_type: "message/rfc822".to_owned(),
            size: original.size,
            sha256: original.sha256.clone(),
            origin: FileOrigin::Original,
            content_id: None,
            event: None,
            created_at: at,
            created_by: MAIL_ACTOR.to_owned(),
        };
        txn.add_file(&mut record)?;
        files.push(record);
    }
    let message = EventKind::Message {
        direction: Direction::Inbound,
        from: Some(sender_label(mail)),
        body: mail.text.clone(),
        email: Some(Box::new(EmailPart {
            message_id: mail.message_id.clone().unwrap_or_default(),
            subject: mail.subject.clone(),
            from_address: mail.from_address.clone().unwrap_or_default(),
            to: mail.to.clone(),
            cc: mail.cc.clone(),
            bcc: Vec::new(),
            html: mail.html.clone(),
            attachments,
            noise: mail.noise,
            outgoing: None,
            delivery: None,
        })),
        delivery: None,
    };
    Ok((message, files))
}

/// Files a message's attachments under its event.
fn file_under(txn: &WriteTxn, files: Vec<FileRecord>, event: u64) -> ServiceResult<()> {
    for mut file in files {
        file.event = Some(event);
        txn.put_file(&file)?;
    }
    Ok(())
}

fn sender_label(mail: &InboundMail) -> String {
    match (&mail.from_name, &mail.from_address) {
        (Some(name), Some(address)) => format!("{name} <{address}>"),
        (Some(name), None) => name.clone(),
        (None, Some(address)) => address.clone(),
        (None, None) => "unknown sender".to_owned(),
    }
}

/// Remembers what threads later mail onto this case and what makes intake
/// idempotent.
fn remember_mail(
    txn: &WriteTxn,
    mail: &InboundMail,
    receipt: &MailReceipt,
    at: Timestamp,
) -> ServiceResult<()> {
    txn.remember_seen_mail(&mail.dedup_key, receipt.case, receipt.event)?;
    // The first case a Message-ID was seen on keeps it: a message that
    // reuses an id must not take another case's replies.
    if let Some(id) = &mail.message_id
        && txn.case_of_message_id(id)?.is_none()
    {
        txn.remember_message_id(id, receipt.case)?;
    }
    // Parents not seen yet join this case when they come.
    for parent in &mail.parents {
        if txn.case_of_message_id(parent)?.is_none() {
            txn.remember_cited(parent, receipt.case)?;
        }
    }
    let subject = mail::normalized_subject(&mail.subject);
    if let Some(sender) = &mail.from_address
        && !subject.is_empty()
        && mail.subject != parse::NO_SUBJECT
        && !mail.noise.is_machine()
    {
        // Time only moves forward: a sender's wrong clock or a late
        // message must not pull the thread into the past.
        let written = written_at(mail, at, None).timestamp().max(0) as u64;
        let last = txn
            .subject_thread(sender, &subject)?
            .filter(|(case, _)| *case == receipt.case)
            .map_or(0, |(_, last)| last);
        txn.remember_subject_thread(sender, &subject, receipt.case, written.max(last))?;
    }
    Ok(())
}
