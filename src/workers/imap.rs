//! IMAP intake: one task per channel with an IMAP folder. It takes unseen
//! messages in through the service and marks each seen (or moves it) only
//! after its case change is committed, so a crash at any point neither loses
//! a message (it is still unseen) nor duplicates one (intake is idempotent).
//! It waits with IDLE where the server has it and polls otherwise; failures
//! back off by `RetryPolicy::IMAP` and show on the channel's page.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::domain::channel::{ChannelId, ImapSettings};
use crate::domain::retry::RetryPolicy;
use crate::mail::imap::{ImapError, Mailbox};
use crate::service::{Service, ServiceError};

/// How often the set of channels with IMAP is looked at.
const SUPERVISE_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
enum IntakeError {
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error("the message could not be stored: {0}")]
    Store(ServiceError),
}

/// Keeps one intake task per channel with IMAP settings, restarting a
/// channel's task when its settings change, until `shutdown`.
pub async fn run(service: Service, mut shutdown: watch::Receiver<bool>) {
    let mut tasks: HashMap<ChannelId, (ImapSettings, JoinHandle<()>)> = HashMap::new();
    loop {
        let wanted: HashMap<ChannelId, ImapSettings> = match service.imap_channels() {
            Ok(channels) => channels
                .into_iter()
                .filter_map(|c| c.settings.imap.map(|s| (c.id, s)))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the channels for mail intake");
                HashMap::new()
            }
        };
        tasks.retain(|id, (settings, task)| {
            let keep = wanted.get(id) == Some(settings) && !task.is_finished();
            if !keep {
                task.abort();
                service.report_mail_status(*id, |s| s.state = "stopped".into());
            }
            keep
        });
        for (id, settings) in wanted {
            if let std::collections::hash_map::Entry::Vacant(slot) = tasks.entry(id) {
                let task = tokio::spawn(intake(
                    service.clone(),
                    id,
                    settings.clone(),
                    shutdown.clone(),
                ));
                slot.insert((settings, task));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(SUPERVISE_EVERY) => {}
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
    for (_, (_, task)) in tasks {
        let _ = task.await;
    }
}

/// One channel's intake: sessions, and backoff between failed ones.
async fn intake(
    service: Service,
    channel: ChannelId,
    settings: ImapSettings,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut failures: u32 = 0;
    loop {
        service.report_mail_status(channel, |s| s.state = "connecting".into());
        let result = session(&service, channel, &settings, &mut shutdown, &mut failures).await;
        if *shutdown.borrow() {
            service.report_mail_status(channel, |s| s.state = "stopped".into());
            return;
        }
        failures += 1;
        let delay = Duration::from_secs(RetryPolicy::IMAP.delay_secs(failures).max(0) as u64);
        let error = match result {
            Ok(()) => "the server closed the connection".to_owned(),
            Err(e) => e.to_string(),
        };
        tracing::warn!(channel, host = %settings.host, %error, retry_in = ?delay, "IMAP intake failed");
        service.report_mail_status(channel, |s| {
            s.state = "failing".into();
            s.last_error = Some(error);
            s.last_error_at = Some(chrono::Utc::now());
            s.retry_at = chrono::Duration::from_std(delay)
                .ok()
                .map(|d| chrono::Utc::now() + d);
        });
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

async fn session(
    service: &Service,
    channel: ChannelId,
    settings: &ImapSettings,
    shutdown: &mut watch::Receiver<bool>,
    failures: &mut u32,
) -> Result<(), IntakeError> {
    let mut mailbox = Mailbox::open(settings, &service.config().outbound()).await?;
    *failures = 0;
    let poll = Duration::from_secs(service.config().mail.poll_seconds);
    loop {
        service.report_mail_status(channel, |s| {
            s.state = "polling".into();
            s.retry_at = None;
        });
        take_in_unseen(service, channel, settings, &mut mailbox).await?;
        let can_idle = mailbox.can_idle;
        service.report_mail_status(channel, |s| {
            s.state = if can_idle { "idle" } else { "waiting" }.into();
            s.last_success_at = Some(chrono::Utc::now());
        });
        if *shutdown.borrow() {
            mailbox.logout().await;
            return Ok(());
        }
        let stop = {
            let mut shutdown = shutdown.clone();
            async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            }
        };
        if can_idle {
            mailbox = mailbox.idle(poll, stop).await?;
        } else {
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = stop => {}
            }
        }
    }
}

/// Takes in every unseen message of the selected folder, oldest first.
async fn take_in_unseen(
    service: &Service,
    channel: ChannelId,
    settings: &ImapSettings,
    mailbox: &mut Mailbox,
) -> Result<(), IntakeError> {
    let limit = service.config().mail.max_message_bytes;
    for uid in mailbox.unseen().await? {
        let Some(raw) = mailbox.fetch(uid, limit).await? else {
            continue;
        };
        match service
            .take_in_mail(&Service::operator(), channel, raw)
            .await
        {
            Ok(receipt) => {
                tracing::info!(
                    channel,
                    uid,
                    case = receipt.case,
                    duplicate = receipt.duplicate,
                    "took in a message"
                );
                service.report_mail_status(channel, |s| s.messages_taken_in += 1);
                mailbox.done_with(settings, uid).await?;
            }
            // Left unseen: taken in once the sender's window has passed.
            Err(ServiceError::SenderThrottled { sender, .. }) => {
                tracing::warn!(channel, uid, %sender, "mail held back: too many messages from one sender");
                service.report_mail_status(channel, |s| s.messages_refused += 1);
            }
            // It will never be readable: set it aside rather than retry forever.
            Err(
                e @ (ServiceError::BadRequest(_)
                | ServiceError::TooLarge(_)
                | ServiceError::Invalid { .. }
                | ServiceError::InvalidFields(_)
                | ServiceError::Conflict(_)),
            ) => {
                tracing::warn!(channel, uid, error = %e, "refused a message");
                service.report_mail_status(channel, |s| {
                    s.messages_refused += 1;
                    s.last_error = Some(format!("message {uid} refused: {e}"));
                    s.last_error_at = Some(chrono::Utc::now());
                });
                mailbox.done_with(settings, uid).await?;
            }
            Err(e) => return Err(IntakeError::Store(e)),
        }
    }
    Ok(())
}
