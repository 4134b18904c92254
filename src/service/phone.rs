//! Phone calls: a provider's status callbacks create or update the
//! caller's case, the call shows in its activity, and the recording is
//! fetched into the case's files.

use sha2::{Digest, Sha256};

use super::intake::{FirstEvent, NewCase, open_case};
use super::{Service, ServiceError, ServiceResult, now};
use crate::channels::phone::CallEvent;
use crate::domain::activity::{Direction, EventKind, EventName};
use crate::domain::case::{CaseDraft, CaseNumber, Customer, Source, Status};
use crate::domain::channel::ChannelId;
use crate::domain::file::{FileOrigin, FileRecord};
use crate::domain::retry::RetryPolicy;
use crate::store::{
    ConversationReads, ConversationWrites, FileWrites, MailReads, MailWrites, QueueReads,
    QueueWrites, Reads, Writes,
};

/// The actor recorded for what the phone provider reports.
pub const PHONE_ACTOR: &str = "phone";

/// Largest recording fetched.
const RECORDING_MAX_BYTES: usize = 100 * 1024 * 1024;

/// What a callback did.
#[derive(Debug, Clone)]
pub struct CallReceipt {
    pub case: CaseNumber,
    /// The call's event.
    pub event: u64,
    pub duplicate: bool,
}

fn seen_key(channel: ChannelId, call: &CallEvent) -> [u8; 32] {
    Sha256::digest(format!(
        "twilio:{channel}:{}:{}:{}",
        call.sid,
        call.status,
        call.recording_sid.as_deref().unwrap_or("")
    ))
    .into()
}

/// How far along a call is, so that a late callback cannot undo a later one.
fn status_rank(status: &str) -> u8 {
    match status {
        "" => 0,
        "queued" | "initiated" => 1,
        "ringing" => 2,
        "in-progress" | "answered" => 3,
        // completed, busy, no-answer, failed, canceled: the call is over.
        _ => 4,
    }
}

fn call_kind(call: &CallEvent, recording: Option<u64>) -> EventKind {
    EventKind::Call {
        direction: if call.outbound {
            Direction::Outbound
        } else {
            Direction::Inbound
        },
        number: call.customer_number().to_owned(),
        status: call.status.clone(),
        duration_secs: call.duration_secs,
        call_sid: call.sid.clone(),
        recording,
    }
}

/// The seq of the call's event on a case.
fn call_event_seq(txn: &impl Reads, case: CaseNumber, sid: &str) -> ServiceResult<Option<u64>> {
    let mut found = None;
    txn.visit_activity(case, &mut |event| {
        if matches!(&event.kind, EventKind::Call { call_sid, .. } if call_sid == sid) {
            found = Some(event.seq);
            return false;
        }
        true
    })?;
    Ok(found)
}

/// Remembers a recording to fetch, in the transaction that records its
/// call, so that it is fetched even after a crash.
fn queue_recording(
    txn: &crate::store::WriteTxn,
    channel: ChannelId,
    call: &CallEvent,
    case: CaseNumber,
    seq: u64,
) -> ServiceResult<()> {
    if let Some(url) = &call.recording_url {
        txn.put_recording_job(
            (case, seq),
            &crate::store::RecordingJob {
                channel,
                url: url.chars().take(2048).collect(),
                account: call.account.clone(),
                call_sid: call.sid.clone(),
                attempts: 0,
                next_at: 0,
                case,
                event: seq,
            },
        )?;
    }
    Ok(())
}

impl Service {
    /// Records one status callback of a call.
    pub async fn take_in_call(
        &self,
        channel: ChannelId,
        call: CallEvent,
    ) -> ServiceResult<CallReceipt> {
        let number = call.customer_number().to_owned();
        let conversation = format!("phone:{channel}:{number}");
        let draft = CaseDraft {
            subject: if call.outbound {
                format!("Call to {number}")
            } else {
                format!("Call from {number}")
            },
            source: Some(Source::Phone),
            customer: Some(Customer {
                phone: Some(number.clone()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let new =
            NewCase::new(draft, Source::Phone, PHONE_ACTOR).threaded_by(Some(conversation.clone()));
        let plan = self.plan_case_in(channel, new).await?;
        self.store
            .write(move |txn| {
                let key = seen_key(channel, &call);
                if let Some((case, event)) = txn.seen_mail(&key)? {
                    return Ok(CallReceipt {
                        case,
                        event,
                        duplicate: true,
                    });
                }
                let at = now();
                let call_key = format!("call:{channel}:{}", call.sid);
                // A later callback of a call already on a case updates it.
                if let Some(case_number) = txn.case_of_conversation(&call_key)?
                    && let Some(seq) = call_event_seq(txn, case_number, &call.sid)?
                    && let Some(mut event) = txn.activity_event(case_number, seq)?
                {
                    let (recording, shown_status, shown_duration) = match &event.kind {
                        EventKind::Call {
                            recording,
                            status,
                            duration_secs,
                            ..
                        } => (*recording, status.clone(), *duration_secs),
                        _ => (None, String::new(), None),
                    };
                    // Callbacks may arrive out of order: a call never goes
                    // back from completed to ringing, nor loses its length.
                    let mut update = call.clone();
                    if status_rank(&update.status) < status_rank(&shown_status) {
                        update.status = shown_status;
                    }
                    update.duration_secs = update.duration_secs.or(shown_duration);
                    event.kind = call_kind(&update, recording);
                    txn.rewrite_event(case_number, &event, EventName::Call, PHONE_ACTOR)?;
                    if recording.is_none() {
                        queue_recording(txn, channel, &call, case_number, seq)?;
                    }
                    txn.remember_seen_mail(&key, case_number, seq)?;
                    return Ok(CallReceipt {
                        case: case_number,
                        event: seq,
                        duplicate: false,
                    });
                }
                // The caller's open case, or a new one.
                let open = txn
                    .case_of_conversation(&conversation)?
                    .and_then(|n| txn.case(n).ok().flatten())
                    .filter(|c| {
                        c.deleted_at.is_none() && c.merge.is_none() && c.status != Status::Resolved
                    });
                let (case, event) = match open {
                    Some(mut case) => {
                        case.updated_at = at;
                        case.updated_by = PHONE_ACTOR.to_owned();
                        txn.put_case(&case)?;
                        let event =
                            txn.append_event(&case, PHONE_ACTOR, at, call_kind(&call, None))?;
                        (case, event)
                    }
                    None => {
                        let (case, mut first) = open_case(txn, &plan, at, |case| {
                            // The call is the case's last change, not a rule.
                            case.updated_at = at;
                            case.updated_by = PHONE_ACTOR.to_owned();
                            Ok(vec![FirstEvent {
                                at,
                                kind: call_kind(&call, None),
                                meets_milestones: false,
                            }])
                        })?;
                        txn.remember_conversation(&conversation, case.number)?;
                        let event = first.pop().ok_or_else(|| {
                            ServiceError::Output("the call was not recorded".into())
                        })?;
                        (case, event)
                    }
                };
                queue_recording(txn, channel, &call, case.number, event.seq)?;
                txn.remember_conversation(&call_key, case.number)?;
                txn.remember_seen_mail(&key, case.number, event.seq)?;
                Ok(CallReceipt {
                    case: case.number,
                    event: event.seq,
                    duplicate: false,
                })
            })
            .await
    }

    /// Fetches the call recordings that are due into their cases' files,
    /// through the outbound allow-list; failures are retried with backoff
    /// (ten attempts). Returns how many were fetched.
    pub async fn fetch_due_recordings(&self) -> ServiceResult<usize> {
        let due = self.store.read()?.due_recordings(now().timestamp(), 8)?;
        let mut fetched = 0;
        for ((case, seq), mut job) in due {
            let token = self
                .channel_integrations(job.channel)
                .ok()
                .and_then(|i| i.phone)
                .map(|p| p.auth_token);
            let outcome = match &token {
                Some(token) => {
                    self.download_recording(
                        &job.url,
                        job.account.as_deref(),
                        token,
                        case,
                        seq,
                        &job.call_sid,
                    )
                    .await
                }
                None => Err(ServiceError::NotFound(
                    "the channel has no phone integration any more".into(),
                )),
            };
            let finished = match &outcome {
                Ok(()) => {
                    fetched += 1;
                    true
                }
                Err(e) => {
                    job.attempts += 1;
                    tracing::warn!(case, url = %crate::outbound::redact_url(&job.url), error = %e, attempt = job.attempts, "could not fetch a call recording");
                    match RetryPolicy::RECORDING.after_failure(job.attempts, token.is_none()) {
                        Some(delay) => {
                            job.next_at = now().timestamp() + delay;
                            false
                        }
                        None => true,
                    }
                }
            };
            self.store
                .write(move |txn| {
                    if finished {
                        txn.delete_recording_job((case, seq))
                    } else {
                        txn.put_recording_job((case, seq), &job)
                    }
                })
                .await?;
        }
        Ok(fetched)
    }

    async fn download_recording(
        &self,
        url: &str,
        account: Option<&str>,
        auth_token: &str,
        case: CaseNumber,
        seq: u64,
        sid: &str,
    ) -> ServiceResult<()> {
        let url = crate::domain::validate::outbound_url(
            "RecordingUrl",
            url,
            &self.config.notify.webhook_allow,
        )?;
        let policy = self.config.outbound();
        policy
            .check_url(&url)
            .await
            .map_err(|e| ServiceError::Output(e.to_string()))?;
        let client = policy
            .http_client()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| ServiceError::Output(e.to_string()))?;
        let mut request = client.get(&url);
        if let Some(account) = account {
            request = request.basic_auth(account, Some(auth_token));
        }
        let mut response = request.send().await.map_err(|e| {
            ServiceError::Output(format!("download failed: {}", crate::outbound::describe(e)))
        })?;
        if !response.status().is_success() {
            return Err(ServiceError::Output(format!(
                "the recording server answered {}",
                response.status()
            )));
        }
        let content_type = crate::domain::file::clean_content_type(
            response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
        );
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| ServiceError::Output(format!("download failed: {e}")))?
        {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > RECORDING_MAX_BYTES {
                return Err(ServiceError::TooLarge("the recording is too large".into()));
            }
        }
        let size = bytes.len() as u64;
        let blobs = self.blobs.clone();
        let sha256 = tokio::task::spawn_blocking(move || blobs.put(&bytes))
            .await
            .map_err(|e| ServiceError::Output(e.to_string()))??;
        let extension = match content_type.as_str() {
            "audio/mpeg" => "mp3",
            "audio/wav" | "audio/x-wav" => "wav",
            _ => "audio",
        };
        let name = format!("recording-{sid}.{extension}");
        self.store
            .write(move |txn| {
                let Some(mut event) = txn.activity_event(case, seq)? else {
                    return Ok(());
                };
                let EventKind::Call { recording, .. } = &mut event.kind else {
                    return Ok(());
                };
                if recording.is_some() {
                    return Ok(());
                }
                let mut file = FileRecord {
                    id: 0,
                    case,
                    name: crate::domain::file::clean_file_name(Some(&name)),
                    content_type: content_type.clone(),
                    size,
                    sha256: sha256.clone(),
                    origin: FileOrigin::Incoming,
                    content_id: None,
                    event: Some(seq),
                    created_at: now(),
                    created_by: PHONE_ACTOR.into(),
                };
                txn.add_file(&mut file)?;
                *recording = Some(file.id);
                txn.rewrite_event(case, &event, EventName::Call, PHONE_ACTOR)?;
                Ok(())
            })
            .await
    }
}
