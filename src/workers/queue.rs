//! The retry queue's runners: outgoing mail over SMTP, posts to Slack and
//! Meta's Graph API, and call recordings to fetch. Each kind of work waits
//! in the store until it is due, is attempted, and has its outcome written
//! back: done, or due again later by its `RetryPolicy`, or given up. A
//! crash between an attempt and its record repeats the attempt, never
//! loses the work. Each kind has its own runner, so a slow mail server
//! never holds up Slack.

use std::fmt::Display;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::NotifyConfig;
use crate::domain::mail::OutgoingMail;
use crate::mail::smtp::{SendFailure, SmtpSender};
use crate::outbound::OutboundPolicy;
use crate::service::{Service, ServiceResult};
use crate::store::Store;

/// How often due work is looked for when no commit wakes a runner.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// Messages sent per round; the rest wait for the next.
const MAIL_BATCH: usize = 16;

/// Runs `round` after every commit (new work may be waiting) and at least
/// every second (work may have come due), until `stopping` turns true.
pub async fn repeat<F, Fut, E>(
    what: &'static str,
    mut commits: watch::Receiver<u64>,
    mut stopping: watch::Receiver<bool>,
    mut round: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    loop {
        if let Err(e) = round().await {
            tracing::warn!(error = %e, "{what}: could not work the queue; retrying");
        }
        tokio::select! {
            changed = commits.changed() => if changed.is_err() { return },
            _ = stopping.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(LOOK_EVERY) => {}
        }
    }
}

/// Sends due outgoing mail until shutdown.
pub async fn send_mail(service: Service, stopping: watch::Receiver<bool>) {
    let sender = match service.config().smtp.url.as_deref() {
        Some(url) => match SmtpSender::new(url, service.config().outbound()) {
            Ok(sender) => Some(sender),
            Err(e) => {
                tracing::error!(error = %e, "the SMTP URL cannot be used; outgoing mail waits");
                None
            }
        },
        None => None,
    };
    let sender = Arc::new(sender);
    repeat("outgoing mail", service.commits(), stopping, || {
        send_due_mail(service.clone(), sender.clone())
    })
    .await;
}

async fn send_due_mail(service: Service, sender: Arc<Option<SmtpSender>>) -> ServiceResult<()> {
    for (id, mail) in service.due_outgoing_mail(MAIL_BATCH)? {
        // One message's record failing must not hold up the others.
        let Some(sender) = sender.as_ref() else {
            let reason = "no SMTP server is configured (DOCKET_SMTP_URL or [smtp] url)";
            if let Err(e) = service.postpone_delivery(id, reason, 60).await {
                tracing::error!(id, error = %e, "cannot postpone outgoing mail");
            }
            continue;
        };
        let outcome = send_one(&service, sender, &mail).await.map_err(|f| {
            tracing::warn!(id, case = mail.case, error = %f.message, permanent = f.permanent, "mail not sent");
            (f.message, f.permanent)
        });
        if let Err(e) = service.record_delivery(id, outcome).await {
            tracing::error!(id, error = %e, "cannot record a delivery attempt");
        }
    }
    Ok(())
}

async fn send_one(
    service: &Service,
    sender: &SmtpSender,
    mail: &OutgoingMail,
) -> Result<(), SendFailure> {
    let mut attachments = Vec::with_capacity(mail.attachments.len());
    for attachment in &mail.attachments {
        attachments.push(service.blob(&attachment.sha256).map_err(|e| SendFailure {
            message: format!("attachment {} unreadable: {e}", attachment.name),
            permanent: false,
        })?);
    }
    sender.send(mail, attachments).await
}

/// Posts due deliveries (Slack messages, replies through Meta) until
/// shutdown.
pub async fn post(
    store: Store,
    config: Arc<NotifyConfig>,
    policy: OutboundPolicy,
    stopping: watch::Receiver<bool>,
) {
    let client = match crate::notify::client(&policy) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "cannot create the HTTP client; notifications are off");
            return;
        }
    };
    repeat("notifications", store.commits(), stopping, || {
        let (store, config, client) = (store.clone(), config.clone(), client.clone());
        let policy = policy.clone();
        async move { crate::notify::send_due(&store, &config, &policy, &client).await }
    })
    .await;
}

/// Takes in mailboxes being migrated until shutdown; one stopped midway
/// goes on at the next start.
pub async fn import_mailboxes(service: Service, stopping: watch::Receiver<bool>) {
    let watching = stopping.clone();
    repeat("mailbox imports", service.commits(), stopping, || {
        let (service, watching) = (service.clone(), watching.clone());
        async move {
            service
                .run_due_mailbox_imports(&|| *watching.borrow())
                .await
        }
    })
    .await;
}

/// Fetches due call recordings until shutdown.
pub async fn fetch_recordings(service: Service, stopping: watch::Receiver<bool>) {
    repeat("call recordings", service.commits(), stopping, || {
        let service = service.clone();
        async move { service.fetch_due_recordings().await.map(|_| ()) }
    })
    .await;
}
