//! Records of the email channel: files and their case index, the Message-IDs
//! that thread replies, the keys that make intake idempotent, the
//! sender-and-subject threads, and outgoing mail waiting for the SMTP server.

use redb::ReadableTable;

use super::records::{decode, encode, next_in_sequence};
use super::tables::*;
use super::{ReadTxn, StoreResult, WriteTxn};
use crate::domain::activity::{ActivityEvent, EventName};
use crate::domain::case::CaseNumber;
use crate::domain::file::{FileId, FileRecord};
use crate::domain::mail::OutgoingMail;

/// A call recording to fetch into its case's files.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordingJob {
    pub channel: u64,
    pub url: String,
    pub account: Option<String>,
    pub call_sid: String,
    pub attempts: u32,
    /// Seconds since the epoch.
    pub next_at: i64,
}

pub trait MailReads {
    fn file(&self, id: FileId) -> StoreResult<Option<FileRecord>>;
    fn case_files(&self, number: CaseNumber) -> StoreResult<Vec<FileRecord>>;
    /// The case a Message-ID (key form) belongs to.
    fn case_of_message_id(&self, key: &str) -> StoreResult<Option<CaseNumber>>;
    /// The case and event an already taken-in message landed on.
    fn seen_mail(&self, key: &[u8; 32]) -> StoreResult<Option<(CaseNumber, u64)>>;
    /// The case the last message from `sender` with this normalised subject
    /// went to, and when (seconds).
    fn subject_thread(&self, sender: &str, subject: &str)
    -> StoreResult<Option<(CaseNumber, u64)>>;
    fn outgoing_mail(&self, id: u64) -> StoreResult<Option<OutgoingMail>>;
    /// Call recordings still to fetch, due by `now` (seconds).
    fn due_recordings(
        &self,
        now: i64,
        limit: usize,
    ) -> StoreResult<Vec<((u64, u64), RecordingJob)>>;
    fn widget_session(&self, id: &str)
    -> StoreResult<Option<crate::domain::widget::WidgetSession>>;
    /// The case holding a conversation of another channel kind.
    fn case_of_conversation(&self, key: &str) -> StoreResult<Option<CaseNumber>>;
    /// Outgoing mail due by `now` (seconds), oldest first.
    fn due_outgoing_mail(&self, now: i64, limit: usize) -> StoreResult<Vec<(u64, OutgoingMail)>>;
}

fn thread_key(sender: &str, subject: &str) -> String {
    format!("{}\n{}", sender.to_ascii_lowercase(), subject)
}

macro_rules! impl_mail_reads {
    ($txn:ty) => {
        impl MailReads for $txn {
            fn file(&self, id: FileId) -> StoreResult<Option<FileRecord>> {
                let table = self.open_table(FILES)?;
                let found = table.get(id)?;
                found.map(|v| decode("file", v.value())).transpose()
            }

            fn case_files(&self, number: CaseNumber) -> StoreResult<Vec<FileRecord>> {
                let index = self.open_table(CASE_FILES)?;
                let files = self.open_table(FILES)?;
                let mut found = Vec::new();
                for entry in index.range((number, 0)..=(number, u64::MAX))? {
                    let (key, _) = entry?;
                    if let Some(value) = files.get(key.value().1)? {
                        found.push(decode("file", value.value())?);
                    }
                }
                Ok(found)
            }

            fn case_of_message_id(&self, key: &str) -> StoreResult<Option<CaseNumber>> {
                Ok(self.open_table(MESSAGE_IDS)?.get(key)?.map(|v| v.value()))
            }

            fn seen_mail(&self, key: &[u8; 32]) -> StoreResult<Option<(CaseNumber, u64)>> {
                Ok(self
                    .open_table(MAIL_SEEN)?
                    .get(key.as_slice())?
                    .map(|v| v.value()))
            }

            fn subject_thread(
                &self,
                sender: &str,
                subject: &str,
            ) -> StoreResult<Option<(CaseNumber, u64)>> {
                Ok(self
                    .open_table(SUBJECT_THREADS)?
                    .get(thread_key(sender, subject).as_str())?
                    .map(|v| v.value()))
            }

            fn due_recordings(
                &self,
                now: i64,
                limit: usize,
            ) -> StoreResult<Vec<((u64, u64), RecordingJob)>> {
                let mut due = Vec::new();
                for entry in self.open_table(RECORDING_JOBS)?.iter()? {
                    let (key, value) = entry?;
                    let job: RecordingJob = decode("recording job", value.value())?;
                    if job.next_at <= now {
                        due.push((key.value(), job));
                        if due.len() >= limit {
                            break;
                        }
                    }
                }
                Ok(due)
            }

            fn widget_session(
                &self,
                id: &str,
            ) -> StoreResult<Option<crate::domain::widget::WidgetSession>> {
                let table = self.open_table(WIDGET_SESSIONS)?;
                let found = table.get(id)?;
                found.map(|v| decode("widget session", v.value())).transpose()
            }

            fn case_of_conversation(&self, key: &str) -> StoreResult<Option<CaseNumber>> {
                Ok(self.open_table(CONVERSATIONS)?.get(key)?.map(|v| v.value()))
            }

            fn outgoing_mail(&self, id: u64) -> StoreResult<Option<OutgoingMail>> {
                let table = self.open_table(MAIL_JOBS)?;
                let found = table.get(id)?;
                found.map(|v| decode("outgoing mail", v.value())).transpose()
            }

            fn due_outgoing_mail(
                &self,
                now: i64,
                limit: usize,
            ) -> StoreResult<Vec<(u64, OutgoingMail)>> {
                use crate::domain::mail::DeliveryState;
                let mut due = Vec::new();
                for entry in self.open_table(MAIL_JOBS)?.iter()? {
                    let (id, value) = entry?;
                    let mail: OutgoingMail = decode("outgoing mail", value.value())?;
                    if matches!(mail.state, DeliveryState::Pending { next_attempt } if next_attempt <= now)
                    {
                        due.push((id.value(), mail));
                        if due.len() >= limit {
                            break;
                        }
                    }
                }
                Ok(due)
            }
        }
    };
}

impl_mail_reads!(ReadTxn);
impl_mail_reads!(WriteTxn);

pub trait MailWrites {
    /// Stores a new file record, giving it its id.
    fn add_file(&self, file: &mut FileRecord) -> StoreResult<()>;
    fn put_file(&self, file: &FileRecord) -> StoreResult<()>;
    /// Rewrites one event in place (a delivery state, a call's progress)
    /// and announces it as `what`, so live views and the index follow.
    fn rewrite_event(
        &self,
        number: CaseNumber,
        event: &ActivityEvent,
        what: EventName,
        actor: &str,
    ) -> StoreResult<()>;
    fn remember_message_id(&self, key: &str, number: CaseNumber) -> StoreResult<()>;
    fn remember_conversation(&self, key: &str, number: CaseNumber) -> StoreResult<()>;
    fn put_recording_job(&self, key: (u64, u64), job: &RecordingJob) -> StoreResult<()>;
    fn put_widget_session(
        &self,
        id: &str,
        session: &crate::domain::widget::WidgetSession,
    ) -> StoreResult<()>;
    /// Deletes chat sessions that expired before `at`; returns how many.
    fn delete_widget_sessions_expired_by(&self, at: crate::domain::Timestamp)
    -> StoreResult<usize>;
    fn delete_recording_job(&self, key: (u64, u64)) -> StoreResult<()>;
    fn remember_seen_mail(&self, key: &[u8; 32], number: CaseNumber, event: u64)
    -> StoreResult<()>;
    fn remember_subject_thread(
        &self,
        sender: &str,
        subject: &str,
        number: CaseNumber,
        at: u64,
    ) -> StoreResult<()>;
    /// Queues a message for the SMTP server, giving it its id.
    fn add_outgoing_mail(&self, mail: &OutgoingMail) -> StoreResult<u64>;
    fn put_outgoing_mail(&self, id: u64, mail: &OutgoingMail) -> StoreResult<()>;
    fn delete_outgoing_mail(&self, id: u64) -> StoreResult<()>;
    /// Re-homes a file on another case.
    fn move_file(&self, id: FileId, to: CaseNumber) -> StoreResult<()>;
    /// Forgets a purged case's files (their blobs may be shared).
    fn delete_case_files(&self, number: CaseNumber) -> StoreResult<()>;
}

impl MailWrites for WriteTxn {
    fn add_file(&self, file: &mut FileRecord) -> StoreResult<()> {
        file.id = next_in_sequence(self, KEY_NEXT_FILE)?;
        self.open_table(FILES)?
            .insert(file.id, encode(file).as_slice())?;
        self.open_table(CASE_FILES)?
            .insert((file.case, file.id), ())?;
        Ok(())
    }

    fn put_file(&self, file: &FileRecord) -> StoreResult<()> {
        self.open_table(FILES)?
            .insert(file.id, encode(file).as_slice())?;
        Ok(())
    }

    fn rewrite_event(
        &self,
        number: CaseNumber,
        event: &ActivityEvent,
        what: EventName,
        actor: &str,
    ) -> StoreResult<()> {
        use super::records::{Reads, Writes};
        self.open_table(ACTIVITY)?
            .insert((number, event.seq), encode(event).as_slice())?;
        if let Some(case) = self.case(number)? {
            self.enqueue(&super::OutboxEvent::CaseChanged {
                number,
                channel: case.channel,
                event_seq: event.seq,
                event: what,
                actor: actor.to_owned(),
            })?;
        }
        Ok(())
    }

    fn put_widget_session(
        &self,
        id: &str,
        session: &crate::domain::widget::WidgetSession,
    ) -> StoreResult<()> {
        self.open_table(WIDGET_SESSIONS)?
            .insert(id, encode(session).as_slice())?;
        Ok(())
    }

    fn delete_widget_sessions_expired_by(
        &self,
        at: crate::domain::Timestamp,
    ) -> StoreResult<usize> {
        let mut removed = 0;
        self.open_table(WIDGET_SESSIONS)?.retain(|_, value| {
            let expired = serde_json::from_slice::<crate::domain::widget::WidgetSession>(value)
                .map(|s| s.expires_at < at)
                .unwrap_or(false);
            removed += usize::from(expired);
            !expired
        })?;
        Ok(removed)
    }

    fn put_recording_job(&self, key: (u64, u64), job: &RecordingJob) -> StoreResult<()> {
        self.open_table(RECORDING_JOBS)?
            .insert(key, encode(job).as_slice())?;
        Ok(())
    }

    fn delete_recording_job(&self, key: (u64, u64)) -> StoreResult<()> {
        self.open_table(RECORDING_JOBS)?.remove(key)?;
        Ok(())
    }

    fn remember_conversation(&self, key: &str, number: CaseNumber) -> StoreResult<()> {
        self.open_table(CONVERSATIONS)?.insert(key, number)?;
        Ok(())
    }

    fn remember_message_id(&self, key: &str, number: CaseNumber) -> StoreResult<()> {
        self.open_table(MESSAGE_IDS)?.insert(key, number)?;
        Ok(())
    }

    fn remember_seen_mail(
        &self,
        key: &[u8; 32],
        number: CaseNumber,
        event: u64,
    ) -> StoreResult<()> {
        self.open_table(MAIL_SEEN)?
            .insert(key.as_slice(), (number, event))?;
        Ok(())
    }

    fn remember_subject_thread(
        &self,
        sender: &str,
        subject: &str,
        number: CaseNumber,
        at: u64,
    ) -> StoreResult<()> {
        self.open_table(SUBJECT_THREADS)?
            .insert(thread_key(sender, subject).as_str(), (number, at))?;
        Ok(())
    }

    fn add_outgoing_mail(&self, mail: &OutgoingMail) -> StoreResult<u64> {
        let id = next_in_sequence(self, KEY_NEXT_MAIL_JOB)?;
        self.put_outgoing_mail(id, mail)?;
        Ok(id)
    }

    fn put_outgoing_mail(&self, id: u64, mail: &OutgoingMail) -> StoreResult<()> {
        self.open_table(MAIL_JOBS)?
            .insert(id, encode(mail).as_slice())?;
        Ok(())
    }

    fn move_file(&self, id: FileId, to: CaseNumber) -> StoreResult<()> {
        let Some(mut file) = self.file(id)? else {
            return Ok(());
        };
        let mut index = self.open_table(CASE_FILES)?;
        index.remove((file.case, id))?;
        index.insert((to, id), ())?;
        file.case = to;
        drop(index);
        self.put_file(&file)
    }

    fn delete_outgoing_mail(&self, id: u64) -> StoreResult<()> {
        self.open_table(MAIL_JOBS)?.remove(id)?;
        Ok(())
    }

    fn delete_case_files(&self, number: CaseNumber) -> StoreResult<()> {
        let mut ids = Vec::new();
        {
            let mut index = self.open_table(CASE_FILES)?;
            index.retain_in((number, 0)..=(number, u64::MAX), |key, _| {
                ids.push(key.1);
                false
            })?;
        }
        let mut files = self.open_table(FILES)?;
        for id in ids {
            files.remove(id)?;
        }
        Ok(())
    }
}
