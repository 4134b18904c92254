//! Work done on a clock: escalating overdue milestones every second,
//! reloading changed plugins every 250 ms, and hourly housekeeping
//! (expired sessions, tokens and chats; the trash's old cases).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::scripting::ScriptHost;
use crate::service::Service;
use crate::store::{RECOMPRESS_CASES_PER_STEP, Store};

/// How often overdue milestones are looked for.
const ESCALATE_EVERY: Duration = Duration::from_secs(1);
/// How often the plugins folder is looked at. Polling a handful of small
/// files is cheap, works on every filesystem (bind mounts, network
/// shares) and keeps the one-second promise without watcher limits.
const RELOAD_EVERY: Duration = Duration::from_millis(250);
/// How often expired sessions and tokens are deleted.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(3600);

/// Runs `tick` now and then every `every` until `stopping` turns true.
async fn every<F, Fut>(every: Duration, mut stopping: watch::Receiver<bool>, mut tick: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        tick().await;
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
    }
}

pub async fn escalate(service: Service, stopping: watch::Receiver<bool>) {
    every(ESCALATE_EVERY, stopping, || async {
        match service.escalate_overdue(chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(milestones = n, "escalated overdue milestones"),
            Err(e) => tracing::warn!(error = %e, "could not escalate overdue milestones"),
        }
    })
    .await;
}

pub async fn reload_scripts(host: Arc<ScriptHost>, stopping: watch::Receiver<bool>) {
    every(RELOAD_EVERY, stopping, || {
        let host = host.clone();
        async move {
            let _ = tokio::task::spawn_blocking(move || host.reload()).await;
        }
    })
    .await;
}

/// Periodic housekeeping until shutdown.
pub async fn maintain(service: Service, stopping: watch::Receiver<bool>) {
    every(MAINTENANCE_EVERY, stopping, || async {
        match service.purge_expired_tokens().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "deleted expired sessions and tokens"),
            Err(e) => tracing::warn!(error = %e, "could not delete expired sessions and tokens"),
        }
        match service.purge_expired_widget_sessions().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "deleted expired chat sessions"),
            Err(e) => tracing::warn!(error = %e, "could not delete expired chat sessions"),
        }
        let days = i64::from(service.config().limits.trash_days);
        match service
            .purge_deleted_before(chrono::Utc::now() - chrono::Duration::days(days))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "purged cases from the trash"),
            Err(e) => tracing::warn!(error = %e, "could not purge the trash"),
        }
    })
    .await;
}

/// How often the store is looked at for a dictionary to train.
const DICTIONARY_CHECK_EVERY: Duration = Duration::from_secs(60);
/// A pause between compression steps, so the writer serves live changes
/// between them.
const BETWEEN_COMPRESSION_STEPS: Duration = Duration::from_millis(20);

/// Trains the store's event dictionary as it grows, and compresses with it
/// the events stored before it (an upgraded store's whole history).
pub async fn compress_events(store: Store, stopping: watch::Receiver<bool>) {
    let steps = stopping.clone();
    every(DICTIONARY_CHECK_EVERY, stopping, || async {
        if let Err(e) = store.train_event_dictionary_if_due().await {
            tracing::warn!(error = %e, "could not train the store's event dictionary");
            return;
        }
        let mut compressed = 0;
        while !*steps.borrow() {
            match store.recompress_events(RECOMPRESS_CASES_PER_STEP).await {
                Ok(step) => {
                    compressed += step.events;
                    if !step.more {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not compress stored events");
                    break;
                }
            }
            tokio::time::sleep(BETWEEN_COMPRESSION_STEPS).await;
        }
        if compressed > 0 {
            tracing::info!(
                events = compressed,
                "compressed stored events with the store's dictionary"
            );
        }
    })
    .await;
}

/// How often the AI agent looks whether it should learn again.
const LEARN_CHECK_EVERY: Duration = Duration::from_secs(300);

/// Retrains the AI agent when enough new decisions have been made (the
/// service decides; a worse model is never swapped in).
pub async fn learn(service: Service, stopping: watch::Receiver<bool>) {
    every(LEARN_CHECK_EVERY, stopping, || async {
        match service.retrain_ai_if_due().await {
            Ok(None) => {}
            Ok(Some(outcome)) => tracing::info!(
                swapped = outcome.swapped,
                cases = outcome.labelled_cases,
                seconds = outcome.seconds,
                category = ?outcome.new_scores.category,
                spam = ?outcome.new_scores.spam,
                "the AI agent learned from the team's decisions"
            ),
            Err(e) => tracing::warn!(error = %e, "the AI agent could not learn"),
        }
    })
    .await;
}

/// How often the backup schedule is looked at.
const BACKUP_CHECK_EVERY: Duration = Duration::from_secs(60);

/// Scheduled backups (`[backup] every, keep, dir`). At start it also removes
/// scratch copies a backup cut off by a crash left in `DATA/tmp`: while this
/// process holds the data directory, no other backup can be running.
pub async fn back_up(service: Service, stopping: watch::Receiver<bool>) {
    crate::backup::remove_stale_scratch(&service.config().data_dir);
    let Some(schedule) = service.config().backup.clone() else {
        return;
    };
    every(BACKUP_CHECK_EVERY, stopping, || {
        let service = service.clone();
        let schedule = schedule.clone();
        async move {
            let taken = tokio::task::spawn_blocking(move || {
                service.scheduled_backup(&schedule, chrono::Utc::now())
            })
            .await;
            match taken {
                Ok(Ok(Some(path))) => tracing::info!(path = %path.display(), "scheduled backup written"),
                Ok(Ok(None)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "the scheduled backup failed; trying again in a minute"),
                Err(e) => tracing::warn!(error = %e, "the scheduled backup failed"),
            }
        }
    })
    .await;
}
