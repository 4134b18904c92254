//! The retry queue: work for other servers (outgoing mail, posts to Slack
//! and Meta's Graph API, call recordings to fetch) waiting in one table
//! until it is due. Each job is written in the transaction of the change
//! that calls for it; `workers::queue` attempts it and writes back the
//! outcome, so a crash repeats an attempt but never loses the work.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::records::{decode, encode, next_in_sequence};
use super::tables::*;
use super::{ReadTxn, StoreResult, WriteTxn};
use crate::domain::case::CaseNumber;
use crate::domain::mail::{DeliveryState, OutgoingMail};

/// A post to another service (a Slack message, a reply through Meta's
/// Graph API) waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub url: String,
    /// The JSON body to POST.
    pub payload: String,
    pub case: CaseNumber,
    pub attempts: u32,
    /// Seconds since the epoch when the next attempt is due.
    pub next_at: i64,
    /// A reply through Meta's Graph API: the channel whose page token is
    /// sent (read at each attempt, so a changed or removed integration
    /// takes effect at once and no token is copied here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_channel: Option<u64>,
    /// The outbound message this delivers, whose delivery state the
    /// activity shows; `None` for notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<u64>,
}

/// A call recording to fetch into its case's files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingJob {
    pub channel: u64,
    pub url: String,
    pub account: Option<String>,
    pub call_sid: String,
    pub attempts: u32,
    /// Seconds since the epoch.
    pub next_at: i64,
    /// The case and call event the recording belongs to.
    #[serde(default)]
    pub case: CaseNumber,
    #[serde(default)]
    pub event: u64,
}

/// A mailbox being migrated into a channel by a running server: its mbox
/// waits as a blob, and the job keeps how far it got. Taking a message in
/// twice changes nothing, so after a crash the job simply runs again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxImport {
    pub channel: u64,
    /// The mbox file, in the blob store.
    pub sha256: String,
    pub requested_by: String,
    pub requested_at: crate::domain::Timestamp,
    /// Seconds since the epoch; the job is due while it is not finished.
    pub next_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<crate::domain::Timestamp>,
    pub total: usize,
    pub done: usize,
    pub opened: usize,
    pub joined: usize,
    pub duplicates: usize,
    /// The first of the messages set aside, with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set_aside: Vec<String>,
    #[serde(default)]
    pub set_aside_count: usize,
    /// Why the mailbox could not be read at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One job of the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    Mail(Box<OutgoingMail>),
    Post(Delivery),
    Recording(RecordingJob),
    MailboxImport(Box<MailboxImport>),
}

impl Job {
    /// When the job is next due (seconds); `None` once it is finished.
    fn due_at(&self) -> Option<i64> {
        match self {
            Job::Mail(mail) => match mail.state {
                DeliveryState::Pending { next_attempt } => Some(next_attempt),
                _ => None,
            },
            Job::Post(delivery) => Some(delivery.next_at),
            Job::Recording(job) => Some(job.next_at),
            Job::MailboxImport(job) => job.finished_at.is_none().then_some(job.next_at),
        }
    }
}

pub trait QueueReads {
    fn outgoing_mail(&self, id: u64) -> StoreResult<Option<OutgoingMail>>;
    /// Outgoing mail due by `now` (seconds), oldest first.
    fn due_outgoing_mail(&self, now: i64, limit: usize) -> StoreResult<Vec<(u64, OutgoingMail)>>;
    /// Posts due by `now` (seconds), with their ids, oldest first.
    fn due_deliveries(&self, now: i64, limit: usize) -> StoreResult<Vec<(u64, Delivery)>>;
    /// Call recordings still to fetch, due by `now` (seconds), by their
    /// (case, call event).
    fn due_recordings(
        &self,
        now: i64,
        limit: usize,
    ) -> StoreResult<Vec<((u64, u64), RecordingJob)>>;
    /// Mailbox imports not finished, due by `now`, oldest first.
    fn due_mailbox_imports(&self, now: i64) -> StoreResult<Vec<(u64, MailboxImport)>>;
    /// Every mailbox import of `channel`, newest first.
    fn mailbox_imports(&self, channel: u64) -> StoreResult<Vec<(u64, MailboxImport)>>;
}

macro_rules! impl_queue_reads {
    ($txn:ty) => {
        impl $txn {
            /// Up to `limit` jobs due by `now` that `pick` takes, oldest first.
            fn due_jobs<T>(
                &self,
                now: i64,
                limit: usize,
                pick: impl Fn(Job) -> Option<T>,
            ) -> StoreResult<Vec<(u64, T)>> {
                let mut due = Vec::new();
                for entry in self.open_table(JOBS)?.iter()? {
                    let (id, value) = entry?;
                    let job: Job = decode("queued job", value.value())?;
                    if job.due_at().is_some_and(|at| at <= now)
                        && let Some(taken) = pick(job)
                    {
                        due.push((id.value(), taken));
                        if due.len() >= limit {
                            break;
                        }
                    }
                }
                Ok(due)
            }
        }

        impl QueueReads for $txn {
            fn outgoing_mail(&self, id: u64) -> StoreResult<Option<OutgoingMail>> {
                let table = self.open_table(JOBS)?;
                let found = table.get(id)?;
                match found
                    .map(|v| decode::<Job>("queued job", v.value()))
                    .transpose()?
                {
                    Some(Job::Mail(mail)) => Ok(Some(*mail)),
                    _ => Ok(None),
                }
            }

            fn due_outgoing_mail(
                &self,
                now: i64,
                limit: usize,
            ) -> StoreResult<Vec<(u64, OutgoingMail)>> {
                self.due_jobs(now, limit, |job| match job {
                    Job::Mail(mail) => Some(*mail),
                    _ => None,
                })
            }

            fn due_deliveries(&self, now: i64, limit: usize) -> StoreResult<Vec<(u64, Delivery)>> {
                self.due_jobs(now, limit, |job| match job {
                    Job::Post(delivery) => Some(delivery),
                    _ => None,
                })
            }

            fn due_recordings(
                &self,
                now: i64,
                limit: usize,
            ) -> StoreResult<Vec<((u64, u64), RecordingJob)>> {
                let due = self.due_jobs(now, limit, |job| match job {
                    Job::Recording(recording) => Some(recording),
                    _ => None,
                })?;
                Ok(due
                    .into_iter()
                    .map(|(_, job)| ((job.case, job.event), job))
                    .collect())
            }

            fn due_mailbox_imports(&self, now: i64) -> StoreResult<Vec<(u64, MailboxImport)>> {
                self.due_jobs(now, 4, |job| match job {
                    Job::MailboxImport(import) => Some(*import),
                    _ => None,
                })
            }

            fn mailbox_imports(&self, channel: u64) -> StoreResult<Vec<(u64, MailboxImport)>> {
                let mut found = Vec::new();
                for entry in self.open_table(JOBS)?.iter()?.rev() {
                    let (id, value) = entry?;
                    if let Job::MailboxImport(import) = decode::<Job>("queued job", value.value())?
                        && import.channel == channel
                    {
                        found.push((id.value(), *import));
                    }
                }
                Ok(found)
            }
        }
    };
}

impl_queue_reads!(ReadTxn);
impl_queue_reads!(WriteTxn);

pub trait QueueWrites {
    /// Queues a message for the SMTP server, giving it its id.
    fn add_outgoing_mail(&self, mail: &OutgoingMail) -> StoreResult<u64>;
    fn put_outgoing_mail(&self, id: u64, mail: &OutgoingMail) -> StoreResult<()>;
    fn delete_outgoing_mail(&self, id: u64) -> StoreResult<()>;
    /// Queues a post, giving it its id.
    fn add_delivery(&self, delivery: &Delivery) -> StoreResult<u64>;
    fn put_delivery(&self, id: u64, delivery: &Delivery) -> StoreResult<()>;
    fn delete_delivery(&self, id: u64) -> StoreResult<()>;
    /// Queues (or replaces) the recording of call event `key` = (case, seq).
    fn put_recording_job(&self, key: (u64, u64), job: &RecordingJob) -> StoreResult<()>;
    fn delete_recording_job(&self, key: (u64, u64)) -> StoreResult<()>;
    /// Queues a mailbox import, giving it its id.
    fn add_mailbox_import(&self, job: &MailboxImport) -> StoreResult<u64>;
    fn put_mailbox_import(&self, id: u64, job: &MailboxImport) -> StoreResult<()>;
}

impl WriteTxn {
    fn add_job(&self, job: &Job) -> StoreResult<u64> {
        let id = next_in_sequence(self, KEY_NEXT_JOB)?;
        self.put_job(id, job)?;
        Ok(id)
    }

    fn put_job(&self, id: u64, job: &Job) -> StoreResult<()> {
        self.open_table(JOBS)?.insert(id, encode(job).as_slice())?;
        Ok(())
    }

    fn delete_job(&self, id: u64) -> StoreResult<()> {
        self.open_table(JOBS)?.remove(id)?;
        Ok(())
    }

    /// The id of the queued recording of call event `key`, if any.
    fn recording_job_id(&self, key: (u64, u64)) -> StoreResult<Option<u64>> {
        Ok(self
            .open_table(RECORDING_JOB_IDS)?
            .get(key)?
            .map(|v| v.value()))
    }
}

impl QueueWrites for WriteTxn {
    fn add_mailbox_import(&self, job: &MailboxImport) -> StoreResult<u64> {
        self.add_job(&Job::MailboxImport(Box::new(job.clone())))
    }

    fn put_mailbox_import(&self, id: u64, job: &MailboxImport) -> StoreResult<()> {
        self.put_job(id, &Job::MailboxImport(Box::new(job.clone())))
    }

    fn add_outgoing_mail(&self, mail: &OutgoingMail) -> StoreResult<u64> {
        self.add_job(&Job::Mail(Box::new(mail.clone())))
    }

    fn put_outgoing_mail(&self, id: u64, mail: &OutgoingMail) -> StoreResult<()> {
        self.put_job(id, &Job::Mail(Box::new(mail.clone())))
    }

    fn delete_outgoing_mail(&self, id: u64) -> StoreResult<()> {
        self.delete_job(id)
    }

    fn add_delivery(&self, delivery: &Delivery) -> StoreResult<u64> {
        self.add_job(&Job::Post(delivery.clone()))
    }

    fn put_delivery(&self, id: u64, delivery: &Delivery) -> StoreResult<()> {
        self.put_job(id, &Job::Post(delivery.clone()))
    }

    fn delete_delivery(&self, id: u64) -> StoreResult<()> {
        self.delete_job(id)
    }

    fn put_recording_job(&self, key: (u64, u64), job: &RecordingJob) -> StoreResult<()> {
        let mut job = job.clone();
        (job.case, job.event) = key;
        match self.recording_job_id(key)? {
            Some(id) => self.put_job(id, &Job::Recording(job)),
            None => {
                let id = self.add_job(&Job::Recording(job))?;
                self.open_table(RECORDING_JOB_IDS)?.insert(key, id)?;
                Ok(())
            }
        }
    }

    fn delete_recording_job(&self, key: (u64, u64)) -> StoreResult<()> {
        let Some(id) = self
            .open_table(RECORDING_JOB_IDS)?
            .remove(key)?
            .map(|v| v.value())
        else {
            return Ok(());
        };
        self.delete_job(id)
    }
}

/// Moves the three queues of schema 7 (mail jobs, deliveries, recording
/// jobs) into the one queue, keeping mail jobs' ids (events name them). A
/// row that cannot be read is left out with a warning rather than keeping
/// the whole store from opening.
pub(super) fn merge_queues(txn: &redb::WriteTransaction) -> StoreResult<()> {
    fn readable<T: serde::de::DeserializeOwned>(what: &str, bytes: &[u8]) -> Option<T> {
        decode(what, bytes)
            .inspect_err(
                |e| tracing::warn!(error = %e, "an unreadable {what} was left out of the queue"),
            )
            .ok()
    }
    let mut jobs: Vec<(Option<u64>, Job)> = Vec::new();
    for entry in txn.open_table(MAIL_JOBS)?.iter()? {
        let (id, value) = entry?;
        if let Some(mail) = readable("outgoing mail", value.value()) {
            jobs.push((Some(id.value()), Job::Mail(Box::new(mail))));
        }
    }
    for entry in txn.open_table(DELIVERIES)?.iter()? {
        let (_, value) = entry?;
        if let Some(delivery) = readable("delivery", value.value()) {
            jobs.push((None, Job::Post(delivery)));
        }
    }
    for entry in txn.open_table(RECORDING_JOBS)?.iter()? {
        let (key, value) = entry?;
        if let Some(mut job) = readable::<RecordingJob>("recording job", value.value()) {
            (job.case, job.event) = key.value();
            jobs.push((None, Job::Recording(job)));
        }
    }
    let mut next = {
        let meta = txn.open_table(META)?;
        let counter = meta.get(KEY_NEXT_MAIL_JOB)?.map_or(0, |v| v.value());
        let highest = jobs.iter().filter_map(|(id, _)| *id).max().unwrap_or(0);
        counter.max(highest)
    };
    {
        let mut table = txn.open_table(JOBS)?;
        let mut recordings = txn.open_table(RECORDING_JOB_IDS)?;
        for (id, job) in &jobs {
            let id = id.unwrap_or_else(|| {
                next += 1;
                next
            });
            table.insert(id, encode(job).as_slice())?;
            if let Job::Recording(recording) = job {
                recordings.insert((recording.case, recording.event), id)?;
            }
        }
    }
    txn.open_table(META)?.insert(KEY_NEXT_JOB, next)?;
    txn.delete_table(MAIL_JOBS)?;
    txn.delete_table(DELIVERIES)?;
    txn.delete_table(RECORDING_JOBS)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn mail(case: u64) -> OutgoingMail {
        OutgoingMail {
            case,
            event: 2,
            from: "desk@example.com".into(),
            reply_to: None,
            to: vec!["jane@example.com".into()],
            cc: Vec::new(),
            bcc: Vec::new(),
            subject: "Re: help".into(),
            body: "On it.".into(),
            message_id: "m1@example.com".into(),
            in_reply_to: None,
            references: Vec::new(),
            attachments: Vec::new(),
            automatic: false,
            html: None,
            state: DeliveryState::Pending { next_attempt: 0 },
            attempts: 0,
            last_error: None,
        }
    }

    fn delivery(case: u64) -> Delivery {
        Delivery {
            url: "https://hooks.slack.com/services/x".into(),
            payload: "{}".into(),
            case,
            attempts: 0,
            next_at: 0,
            meta_channel: None,
            event: None,
        }
    }

    fn recording() -> RecordingJob {
        RecordingJob {
            channel: 1,
            url: "https://api.twilio.com/r.wav".into(),
            account: None,
            call_sid: "CA1".into(),
            attempts: 0,
            next_at: 0,
            case: 0,
            event: 0,
        }
    }

    #[test]
    fn the_three_queues_of_schema_7_become_one_keeping_mail_ids() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = redb::Database::create(dir.path().join(super::super::DB_FILE)).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut meta = txn.open_table(META).unwrap();
                meta.insert(KEY_SCHEMA_VERSION, 7).unwrap();
                meta.insert(KEY_NEXT_MAIL_JOB, 9).unwrap();
                txn.open_table(MAIL_JOBS)
                    .unwrap()
                    .insert(9, encode(&mail(1)).as_slice())
                    .unwrap();
                let mut deliveries = txn.open_table(DELIVERIES).unwrap();
                deliveries
                    .insert(1, encode(&delivery(2)).as_slice())
                    .unwrap();
                // One unreadable row keeps nothing else from moving over.
                deliveries.insert(2, b"not json".as_slice()).unwrap();
                drop(deliveries);
                txn.open_table(RECORDING_JOBS)
                    .unwrap()
                    .insert((3, 4), encode(&recording()).as_slice())
                    .unwrap();
            }
            txn.commit().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let txn = store.read().unwrap();
        let mails = txn.due_outgoing_mail(0, 10).unwrap();
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].0, 9, "an event names its mail job by id");
        assert_eq!(mails[0].1, mail(1));
        let posts = txn.due_deliveries(0, 10).unwrap();
        assert_eq!(posts.len(), 1);
        assert!(posts[0].0 > 9, "new ids come after the mail jobs'");
        assert_eq!(posts[0].1, delivery(2));
        let recordings = txn.due_recordings(0, 10).unwrap();
        assert_eq!(recordings.len(), 1);
        assert_eq!(recordings[0].0, (3, 4));
    }

    #[tokio::test]
    async fn each_kind_of_work_is_due_by_its_own_time_and_a_recording_is_queued_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let ids = store
            .write(|txn| {
                let mut later = mail(1);
                later.state = DeliveryState::Pending { next_attempt: 100 };
                let first = txn.add_outgoing_mail(&mail(1))?;
                let second = txn.add_outgoing_mail(&later)?;
                let post = txn.add_delivery(&delivery(1))?;
                txn.put_recording_job((1, 5), &recording())?;
                let mut retried = recording();
                retried.attempts = 1;
                txn.put_recording_job((1, 5), &retried)?;
                Ok::<_, crate::store::StoreError>((first, second, post))
            })
            .await
            .unwrap();
        let (first, second, post) = ids;
        assert!(
            first < second && second < post,
            "one sequence for the queue"
        );
        let txn = store.read().unwrap();
        let due: Vec<u64> = txn
            .due_outgoing_mail(50, 10)
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(due, vec![first]);
        assert_eq!(txn.due_outgoing_mail(100, 10).unwrap().len(), 2);
        assert_eq!(txn.due_deliveries(0, 10).unwrap()[0].0, post);
        let recordings = txn.due_recordings(0, 10).unwrap();
        assert_eq!(
            recordings.len(),
            1,
            "the same call's recording is queued once"
        );
        assert_eq!(recordings[0].1.attempts, 1);
        drop(txn);
        store
            .write(|txn| txn.delete_recording_job((1, 5)))
            .await
            .unwrap();
        assert!(
            store
                .read()
                .unwrap()
                .due_recordings(0, 10)
                .unwrap()
                .is_empty()
        );
    }
}
