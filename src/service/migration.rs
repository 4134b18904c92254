//! Migrating a mailbox into a channel while the server runs: the mbox is
//! stored as a blob with a job in the retry queue, and one runner takes its
//! messages in oldest first through the migrated intake (own dates, no
//! flood limit, no acknowledgements), writing down how far it got. Intake
//! is idempotent, so a job interrupted by a crash just runs again.

use super::channels::managed_channel;
use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::channel::ChannelId;
use crate::domain::user::User;
use crate::store::{MailboxImport, QueueReads, QueueWrites};

/// How many messages are taken in between two records of progress.
const PROGRESS_EVERY: usize = 100;
/// How many messages set aside are named in the job.
const SET_ASIDE_NAMED: usize = 20;

impl Service {
    /// Queues the migration of `mbox` into a channel the actor manages.
    pub async fn request_mailbox_import(
        &self,
        actor: &User,
        channel: ChannelId,
        mbox: Vec<u8>,
    ) -> ServiceResult<(u64, MailboxImport)> {
        managed_channel(&self.store.read()?, actor, channel)?;
        if mbox.iter().all(u8::is_ascii_whitespace) {
            return Err(ServiceError::BadRequest("the mailbox is empty".into()));
        }
        if !mbox.starts_with(b"From ") {
            return Err(ServiceError::BadRequest(
                "not an mbox file: it must start with a \"From \" line".into(),
            ));
        }
        let blobs = self.blobs.clone();
        let sha256 = tokio::task::spawn_blocking(move || blobs.put(&mbox))
            .await
            .map_err(|e| ServiceError::Output(format!("storing the mailbox failed: {e}")))??;
        let job = MailboxImport {
            channel,
            sha256,
            requested_by: actor.username.clone(),
            requested_at: now(),
            next_at: 0,
            finished_at: None,
            total: 0,
            done: 0,
            opened: 0,
            joined: 0,
            duplicates: 0,
            set_aside: Vec::new(),
            set_aside_count: 0,
            error: None,
        };
        let queued = job.clone();
        let id = self
            .store
            .write(move |txn| Ok::<_, ServiceError>(txn.add_mailbox_import(&queued)?))
            .await?;
        Ok((id, job))
    }

    /// The channel's mailbox imports, newest first, for its managers.
    pub fn mailbox_imports(
        &self,
        actor: &User,
        channel: ChannelId,
    ) -> ServiceResult<Vec<(u64, MailboxImport)>> {
        let txn = self.store.read()?;
        managed_channel(&txn, actor, channel)?;
        Ok(txn.mailbox_imports(channel)?)
    }

    /// Works the due mailbox imports to their end, or until `stopping`
    /// says the server is shutting down (they go on at the next start).
    pub async fn run_due_mailbox_imports(
        &self,
        stopping: &(dyn Fn() -> bool + Sync),
    ) -> ServiceResult<()> {
        let due = self.store.read()?.due_mailbox_imports(now().timestamp())?;
        for (id, job) in due {
            self.run_mailbox_import(id, job, stopping).await?;
        }
        Ok(())
    }

    async fn run_mailbox_import(
        &self,
        id: u64,
        mut job: MailboxImport,
        stopping: &(dyn Fn() -> bool + Sync),
    ) -> ServiceResult<()> {
        let blobs = self.blobs.clone();
        let sha256 = job.sha256.clone();
        let read = tokio::task::spawn_blocking(move || {
            let file = blobs.open_blob(&sha256).map_err(|e| e.to_string())?;
            let name = std::path::Path::new("the uploaded mailbox");
            crate::mail::mailbox::mbox_from(file, name).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| ServiceError::Output(format!("reading the mailbox failed: {e}")))?;
        let messages = match read {
            Ok(messages) => messages,
            Err(e) => {
                job.error = Some(e);
                job.finished_at = Some(now());
                return self.save_import(id, &job).await;
            }
        };
        job.total = messages.len();
        // A rerun counts from the start again: what was taken in before
        // comes back as already here.
        (job.done, job.opened, job.joined, job.duplicates) = (0, 0, 0, 0);
        job.set_aside.clear();
        job.set_aside_count = 0;
        for (position, message) in messages.into_iter().enumerate() {
            if stopping() {
                return self.save_import(id, &job).await;
            }
            match self.take_in_migrated_mail(job.channel, message.raw).await {
                Ok(receipt) if receipt.duplicate => job.duplicates += 1,
                Ok(receipt) if receipt.created => job.opened += 1,
                Ok(_) => job.joined += 1,
                Err(ServiceError::Store(e)) => return Err(ServiceError::Store(e)),
                Err(e) => {
                    job.set_aside_count += 1;
                    if job.set_aside.len() < SET_ASIDE_NAMED {
                        job.set_aside.push(format!("message {}: {e}", position + 1));
                    }
                }
            }
            job.done = position + 1;
            if job.done.is_multiple_of(PROGRESS_EVERY) {
                self.save_import(id, &job).await?;
            }
        }
        job.finished_at = Some(now());
        self.save_import(id, &job).await
    }

    async fn save_import(&self, id: u64, job: &MailboxImport) -> ServiceResult<()> {
        let job = job.clone();
        self.store
            .write(move |txn| Ok::<_, ServiceError>(txn.put_mailbox_import(id, &job)?))
            .await
    }
}
