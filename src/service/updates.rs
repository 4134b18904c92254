//! Updates sent by email and the delivery state of outgoing mail. Sending
//! itself happens in `workers::queue` through `crate::mail::smtp`, from the
//! queue these commands fill in the same transaction as the event.

use crate::store::WriteTxn;
use rand::Rng;

use super::cases::save;
use super::cases::workable_case;
use super::mail::MAIL_ACTOR;
use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::Timestamp;
use crate::domain::activity::{ActivityEvent, Direction, EventKind, EventName, NOTE_MAX};
use crate::domain::case::{Case, CaseNumber};
use crate::domain::channel::Channel;
use crate::domain::file::{FileId, FileOrigin, FileRecord};
use crate::domain::mail::{
    self, DeliveryReport, DeliveryState, EmailPart, OutgoingAttachment, OutgoingMail,
};
use crate::domain::retry::RetryPolicy;
use crate::domain::user::User;
use crate::domain::validate;
use crate::mail::parse::InboundMail;
use crate::store::{FileReads, FileWrites, MailWrites, QueueReads, QueueWrites, Reads, Writes};

/// At most this many recipients per list.
const RECIPIENTS_MAX: usize = 50;

/// Whose address an update is sent from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FromChoice {
    #[default]
    Channel,
    Me,
}

/// An update to send by email.
#[derive(Debug, Clone, Default)]
pub struct NewUpdate {
    pub from: FromChoice,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    /// Empty: the case's subject.
    pub subject: Option<String>,
    pub body: String,
    /// Files of the case to attach.
    pub attachments: Vec<FileId>,
}

fn recipients(field: &str, list: &[String]) -> ServiceResult<Vec<String>> {
    if list.len() > RECIPIENTS_MAX {
        return Err(ServiceError::invalid(
            field,
            format!("at most {RECIPIENTS_MAX} addresses"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for address in list {
        let address = validate::email(field, address)?.to_lowercase();
        // What the SMTP side will accept, checked now rather than after
        // the update was accepted.
        if !crate::mail::smtp::can_send_to(&address) {
            return Err(ServiceError::invalid(
                field,
                format!("'{address}' is not an address mail can be sent to"),
            ));
        }
        if !out.contains(&address) {
            out.push(address);
        }
    }
    Ok(out)
}

/// Checks an update's recipients and text before anything is stored.
pub fn check_update(update: &NewUpdate) -> ServiceResult<()> {
    checked_update(update).map(|_| ())
}

type CheckedUpdate = (Vec<String>, Vec<String>, Vec<String>, String);

fn checked_update(update: &NewUpdate) -> ServiceResult<CheckedUpdate> {
    let to = recipients("to", &update.to)?;
    let cc = recipients("cc", &update.cc)?;
    let bcc = recipients("bcc", &update.bcc)?;
    if to.is_empty() {
        return Err(ServiceError::invalid("to", "name at least one recipient"));
    }
    let body = validate::required_text("body", &update.body, NOTE_MAX)?;
    Ok((to, cc, bcc, body))
}

/// A new Message-ID on the sender's domain.
fn new_message_id(number: CaseNumber, from_address: &str) -> String {
    let domain = from_address
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .unwrap_or_else(|| "docket.invalid".into());
    let token: u64 = rand::rng().random();
    format!("docket.{number}.{token:016x}@{domain}")
}

/// The Message-IDs of a case's mail, oldest first, and the newest inbound one.
fn conversation_ids(
    txn: &impl Reads,
    number: CaseNumber,
) -> ServiceResult<(Vec<String>, Option<String>)> {
    let mut ids = Vec::new();
    let mut last_inbound = None;
    txn.visit_activity(number, &mut |event| {
        if let EventKind::Message {
            direction,
            email: Some(email),
            ..
        } = event.kind
            && !email.message_id.is_empty()
        {
            if direction == Direction::Inbound {
                last_inbound = Some(email.message_id.clone());
            }
            ids.push(email.message_id);
        }
        true
    })?;
    let keep = ids.len().saturating_sub(20);
    Ok((ids.split_off(keep), last_inbound))
}

fn mailbox(name: &str, address: &str) -> String {
    let name: String = name
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\\'))
        .collect();
    format!("\"{name}\" <{address}>")
}

/// Queues a message and shows it in the case's activity; returns the event.
#[allow(clippy::too_many_arguments)]
fn queue_mail(
    txn: &WriteTxn,
    case: &mut Case,
    actor: &str,
    mut outgoing: OutgoingMail,
    from_address: &str,
    attachments: Vec<FileRecord>,
    at: Timestamp,
) -> ServiceResult<ActivityEvent> {
    let mut files = Vec::new();
    for source in attachments {
        let mut record = FileRecord {
            id: 0,
            origin: FileOrigin::Outgoing,
            content_id: None,
            event: None,
            created_at: at,
            created_by: actor.to_owned(),
            ..source
        };
        txn.add_file(&mut record)?;
        files.push(record);
    }
    outgoing.attachments = files
        .iter()
        .map(|f| OutgoingAttachment {
            sha256: f.sha256.clone(),
            name: f.name.clone(),
            content_type: f.content_type.clone(),
        })
        .collect();
    let job = txn.add_outgoing_mail(&outgoing)?;
    let message = EventKind::Message {
        direction: Direction::Outbound,
        from: Some(outgoing.from.clone()),
        body: outgoing.body.clone(),
        email: Some(Box::new(EmailPart {
            message_id: outgoing.message_id.clone(),
            subject: outgoing.subject.clone(),
            from_address: from_address.to_owned(),
            to: outgoing.to.clone(),
            cc: outgoing.cc.clone(),
            bcc: outgoing.bcc.clone(),
            html: None,
            attachments: files.iter().map(|f| f.id).collect(),
            noise: mail::Noise::None,
            outgoing: Some(job),
            delivery: Some(DeliveryReport::of(&outgoing)),
        })),
        delivery: None,
    };
    // An automatic acknowledgement is nobody's reply: it meets no target.
    if !outgoing.automatic {
        crate::domain::milestone::complete(case, &message, at);
    }
    case.updated_at = at;
    case.updated_by = actor.to_owned();
    super::cases::store_case(txn, case, at)?;
    let event = txn.append_event(case, actor, at, message)?;
    outgoing.event = event.seq;
    txn.put_outgoing_mail(job, &outgoing)?;
    for mut file in files {
        file.event = Some(event.seq);
        txn.put_file(&file)?;
    }
    txn.remember_message_id(&outgoing.message_id, case.number)?;
    Ok(event)
}

/// Confirms a new case to whoever wrote in. Marked as automatic mail so
/// that other machines do not answer it.
pub(super) fn queue_acknowledgement(
    txn: &WriteTxn,
    channel: &Channel,
    case: &Case,
    inbound: &InboundMail,
    at: Timestamp,
) -> ServiceResult<()> {
    let Some(to) = &inbound.from_address else {
        return Ok(());
    };
    let body = format!(
        "Thank you for your message. We have opened case #{} and will answer as soon as we can.\n\
         Please keep [#{}] in the subject of any reply.\n",
        case.number, case.number
    );
    let automatic = AutomaticMail {
        to: to.clone(),
        subject: format!("Re: {}", inbound.subject),
        body,
        in_reply_to: inbound.message_id.clone(),
    };
    queue_automatic_mail(txn, channel, &mut case.clone(), automatic, at)
}

/// Mail Docket sends on its own (an acknowledgement, a request for a
/// rating): from the channel's address, marked automatic so that other
/// machines do not answer it, and meeting no service target.
pub(super) struct AutomaticMail {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub in_reply_to: Option<String>,
}

/// Queues automatic mail and shows it in the case's activity; nothing when
/// the channel has no address.
pub(super) fn queue_automatic_mail(
    txn: &WriteTxn,
    channel: &Channel,
    case: &mut Case,
    automatic: AutomaticMail,
    at: Timestamp,
) -> ServiceResult<()> {
    let Some(from_address) = &channel.email_address else {
        return Ok(());
    };
    let outgoing = OutgoingMail {
        case: case.number,
        event: 0,
        from: mailbox(&channel.name, from_address),
        reply_to: None,
        to: vec![automatic.to],
        cc: Vec::new(),
        bcc: Vec::new(),
        subject: mail::with_case_token(&automatic.subject, case.number),
        body: automatic.body,
        message_id: new_message_id(case.number, from_address),
        references: automatic.in_reply_to.iter().cloned().collect(),
        in_reply_to: automatic.in_reply_to,
        attachments: Vec::new(),
        automatic: true,
        html: None,
        state: DeliveryState::Pending {
            next_attempt: at.timestamp(),
        },
        attempts: 0,
        last_error: None,
    };
    queue_mail(
        txn,
        case,
        super::intake::RULES_ACTOR,
        outgoing,
        from_address,
        Vec::new(),
        at,
    )?;
    Ok(())
}

impl Service {
    /// Sends an update about a case by email, from the channel's address or,
    /// where the channel allows it, the agent's own.
    pub async fn send_update(
        &self,
        actor: &User,
        number: CaseNumber,
        update: NewUpdate,
    ) -> ServiceResult<ActivityEvent> {
        let (to, cc, bcc, body) = checked_update(&update)?;
        let subject = validate::optional_label(
            "subject",
            update.subject.as_deref(),
            crate::domain::case::SUBJECT_MAX,
        )?;
        let actor = actor.clone();
        self.store
            .write(move |txn| {
                let (mut case, channel) = workable_case(txn, &actor, number)?;
                let (from, from_address) = sender_of(&actor, &channel, update.from)?;
                let mut attachments = Vec::new();
                let merged_in: Vec<CaseNumber> = case
                    .links
                    .iter()
                    .filter(|l| l.kind == crate::domain::link::LinkKind::MergedFrom)
                    .map(|l| l.target)
                    .collect();
                for id in &update.attachments {
                    match txn.file(*id)? {
                        Some(f) if f.case == number || merged_in.contains(&f.case) => {
                            attachments.push(f)
                        }
                        _ => {
                            return Err(ServiceError::invalid(
                                "attachments",
                                format!("file {id} is not a file of case #{number}"),
                            ));
                        }
                    }
                }
                let (references, in_reply_to) = conversation_ids(txn, number)?;
                let subject = subject
                    .clone()
                    .unwrap_or_else(|| format!("Re: {}", case.subject));
                let at = now();
                let outgoing = OutgoingMail {
                    case: number,
                    event: 0,
                    from,
                    reply_to: channel.email_address.clone(),
                    to: to.clone(),
                    cc: cc.clone(),
                    bcc: bcc.clone(),
                    subject: mail::with_case_token(&subject, number),
                    body: body.clone(),
                    message_id: new_message_id(number, &from_address),
                    in_reply_to,
                    references,
                    attachments: Vec::new(),
                    automatic: false,
                    // The text as typed, and as HTML beside it.
                    html: Some(crate::markdown::email_html(&body)),
                    state: DeliveryState::Pending {
                        next_attempt: at.timestamp(),
                    },
                    attempts: 0,
                    last_error: None,
                };
                if let Some(kind) = super::chat_bot::release_for_reply(&mut case, &actor, at) {
                    txn.append_event(&case, &actor.username, at, kind)?;
                }
                let event = queue_mail(
                    txn,
                    &mut case,
                    &actor.username,
                    outgoing,
                    &from_address,
                    attachments,
                    at,
                )?;
                save(txn, &mut case, &actor.username, at, Vec::new())?;
                Ok(event)
            })
            .await
    }

    /// Outgoing mail due for an attempt.
    pub fn due_outgoing_mail(&self, limit: usize) -> ServiceResult<Vec<(u64, OutgoingMail)>> {
        Ok(self
            .store
            .read()?
            .due_outgoing_mail(now().timestamp(), limit)?)
    }

    /// Records an attempt to deliver outgoing mail `id`: sent, or failed
    /// (retried later unless `permanent` or out of attempts).
    pub async fn record_delivery(
        &self,
        id: u64,
        outcome: Result<(), (String, bool)>,
    ) -> ServiceResult<()> {
        self.store
            .write(move |txn| {
                let Some(mut outgoing) = txn.outgoing_mail(id)? else {
                    return Ok(());
                };
                let at = now();
                outgoing.attempts += 1;
                outgoing.state = match &outcome {
                    Ok(()) => {
                        outgoing.last_error = None;
                        DeliveryState::Sent { at }
                    }
                    Err((error, permanent)) => {
                        outgoing.last_error = Some(error.chars().take(500).collect());
                        match RetryPolicy::MAIL.after_failure(outgoing.attempts, *permanent) {
                            None => DeliveryState::Failed { at },
                            Some(delay) => DeliveryState::Pending {
                                next_attempt: at.timestamp() + delay,
                            },
                        }
                    }
                };
                // Finished jobs leave the queue; the event keeps their story.
                match outgoing.state {
                    DeliveryState::Pending { .. } => txn.put_outgoing_mail(id, &outgoing)?,
                    _ => txn.delete_outgoing_mail(id)?,
                }
                show_delivery(txn, &outgoing)
            })
            .await
    }

    /// Puts a pending message back to be tried now (a server was set up).
    pub async fn postpone_delivery(
        &self,
        id: u64,
        reason: &str,
        delay_secs: i64,
    ) -> ServiceResult<()> {
        let reason = reason.to_owned();
        self.store
            .write(move |txn| {
                let Some(mut outgoing) = txn.outgoing_mail(id)? else {
                    return Ok(());
                };
                outgoing.last_error = Some(reason.clone());
                outgoing.state = DeliveryState::Pending {
                    next_attempt: now().timestamp() + delay_secs,
                };
                txn.put_outgoing_mail(id, &outgoing)?;
                show_delivery(txn, &outgoing)
            })
            .await
    }
}

/// Mirrors the delivery state on the message's event and tells live views.
fn show_delivery(txn: &WriteTxn, outgoing: &OutgoingMail) -> ServiceResult<()> {
    let Some(mut event) = txn.activity_event(outgoing.case, outgoing.event)? else {
        return Ok(());
    };
    if let EventKind::Message {
        email: Some(email), ..
    } = &mut event.kind
    {
        email.delivery = Some(DeliveryReport::of(outgoing));
    }
    Ok(txn.rewrite_event(outgoing.case, &event, EventName::Delivery, MAIL_ACTOR)?)
}

/// The `From` of an update and its bare address.
fn sender_of(
    actor: &User,
    channel: &Channel,
    choice: FromChoice,
) -> ServiceResult<(String, String)> {
    match choice {
        FromChoice::Channel => {
            let address = channel.email_address.clone().ok_or_else(|| {
                ServiceError::invalid(
                    "from",
                    format!(
                        "the channel '{}' has no email address to send from",
                        channel.name
                    ),
                )
            })?;
            Ok((mailbox(&channel.name, &address), address))
        }
        FromChoice::Me => {
            if !channel.settings.personal_from {
                return Err(ServiceError::Forbidden(format!(
                    "the channel '{}' sends updates from its own address only",
                    channel.name
                )));
            }
            let address = actor.email.clone().ok_or_else(|| {
                ServiceError::invalid("from", "your account has no email address to send from")
            })?;
            Ok((mailbox(&actor.display_name, &address), address))
        }
    }
}
