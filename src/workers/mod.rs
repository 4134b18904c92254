//! Background work, all in one home: the outbox consumers (live updates,
//! the search index, Slack notifications) driven by one loop
//! (`outbox.rs`); the retry queue's runners for outgoing mail, posts and
//! call recordings (`queue.rs`); IMAP intake (`imap.rs`); and clocked work
//! (`schedule.rs`). Workers sit above the service: they call it or the
//! store, and nothing below them starts a task of its own.

mod imap;
mod outbox;
mod queue;
mod schedule;

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::live::LiveFeed;
use crate::scripting::ScriptHost;
use crate::search::SearchIndex;
use crate::search::indexer::Indexer;
use crate::service::Service;
use crate::store::Store;

/// What the workers need.
pub struct Parts {
    pub service: Service,
    pub store: Store,
    pub live: LiveFeed,
    pub search: Arc<SearchIndex>,
    /// The index must be rebuilt from the store before it takes entries.
    pub rebuild: bool,
    pub scripts: Arc<ScriptHost>,
}

/// The running workers.
pub struct Workers {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts every worker; they run until `stop` turns true (or
    /// [`Workers::stop`] is called).
    pub fn start(parts: Parts, stop: watch::Sender<bool>) -> Workers {
        let Parts {
            service,
            store,
            live,
            search,
            rebuild,
            scripts,
        } = parts;
        let stopping = stop.subscribe();
        let notify = Arc::new(service.config().notify.clone());
        let tasks = vec![
            tokio::spawn(outbox::run(live, store.clone(), stopping.clone())),
            tokio::spawn(outbox::run(
                Indexer::new(search, rebuild),
                store.clone(),
                stopping.clone(),
            )),
            tokio::spawn(outbox::run(
                outbox::Notifier {
                    config: notify.clone(),
                },
                store.clone(),
                stopping.clone(),
            )),
            tokio::spawn(outbox::run(
                outbox::ReportFigures {
                    zone: service.config().reports.zone(),
                },
                store.clone(),
                stopping.clone(),
            )),
            tokio::spawn(schedule::compress_events(store.clone(), stopping.clone())),
            tokio::spawn(queue::post(
                store,
                notify,
                service.config().outbound(),
                stopping.clone(),
            )),
            tokio::spawn(queue::send_mail(service.clone(), stopping.clone())),
            tokio::spawn(queue::fetch_recordings(service.clone(), stopping.clone())),
            tokio::spawn(queue::import_mailboxes(service.clone(), stopping.clone())),
            tokio::spawn(imap::run(service.clone(), stopping.clone())),
            tokio::spawn(schedule::escalate(service.clone(), stopping.clone())),
            tokio::spawn(schedule::learn(service.clone(), stopping.clone())),
            tokio::spawn(schedule::back_up(service.clone(), stopping.clone())),
            tokio::spawn(schedule::maintain(service, stopping.clone())),
            tokio::spawn(schedule::reload_scripts(scripts, stopping)),
        ];
        Workers { stop, tasks }
    }

    /// Asks every worker to stop and waits until they have.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
