//! Wires the store, the service layer, background workers and HTTP together,
//! and owns their lifetimes.

use std::sync::Arc;
use std::time::Duration;

use poem::listener::{Acceptor, Listener, TcpListener};
use tokio::sync::watch;

use crate::config::Config;
use crate::http;
use crate::live::LiveFeed;
use crate::scripting::ScriptHost;
use crate::search::SearchIndex;
use crate::service::{Service, ServiceError};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("cannot listen on {addr}: {reason}; pick another address with --bind or DOCKET_BIND")]
    Bind { addr: String, reason: String },
    #[error("the server stopped with an error: {0}")]
    Serve(String),
}

/// What every request handler shares.
pub struct AppState {
    pub service: Service,
    pub live: LiveFeed,
}

/// Runs the server until SIGINT or SIGTERM.
pub async fn serve(config: Config, admin_password: Option<String>) -> Result<(), AppError> {
    let config = Arc::new(config);
    let store = tokio::task::spawn_blocking({
        let dir = config.data_dir.clone();
        move || Store::open(&dir)
    })
    .await
    .map_err(|e| AppError::Serve(e.to_string()))??;
    let (search, rebuild) = open_search(&config).await?;
    let scripts = open_scripts(&config).await?;
    let service = Service::new(store.clone(), config.clone())
        .with_search(search.clone())
        .with_scripts(scripts.clone());
    if let Some(password) = service.ensure_first_admin(admin_password).await? {
        println!("Created the first administrator.");
        println!("  username: admin");
        println!("  password: {password}");
        println!("This password is shown only once; change it with `docket user passwd admin`.");
    }

    let (stop, stopping) = watch::channel(false);
    let live = LiveFeed::new(stopping.clone());
    let live_worker = tokio::spawn(live.clone().run(store.clone(), stopping.clone()));
    let maintenance = tokio::spawn(maintain(service.clone(), stopping.clone()));
    let reloader = tokio::spawn(reload_scripts(scripts, stopping.clone()));
    let notifier = tokio::spawn(crate::notify::run(
        store.clone(),
        Arc::new(config.notify.clone()),
        stopping.clone(),
    ));
    let escalations = tokio::spawn(escalate(service.clone(), stopping.clone()));
    let mail_out = tokio::spawn(crate::mail::smtp::run(service.clone(), stopping.clone()));
    let mail_in = tokio::spawn(crate::mail::imap::run(service.clone(), stopping.clone()));
    let recordings = tokio::spawn(fetch_recordings(service.clone(), stopping.clone()));
    let indexer = tokio::spawn(crate::search::indexer::run(
        search,
        store.clone(),
        rebuild,
        stopping,
    ));

    let state = Arc::new(AppState { service, live });
    let acceptor = TcpListener::bind(config.bind.to_string())
        .into_acceptor()
        .await
        .map_err(|e| AppError::Bind {
            addr: config.bind.to_string(),
            reason: e.to_string(),
        })?;
    let local = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .unwrap_or(config.bind);
    println!("docket listening on http://{local}");
    println!("Data directory: {}", config.data_dir.display());
    tracing::info!(%local, data_dir = %config.data_dir.display(), "server started");

    let stop_on_signal = {
        let stop = stop.clone();
        async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        }
    };
    let result = poem::Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(
            http::routes(state),
            stop_on_signal,
            Some(Duration::from_secs(10)),
        )
        .await
        .map_err(|e| AppError::Serve(e.to_string()));

    let _ = stop.send(true);
    let _ = live_worker.await;
    let _ = maintenance.await;
    let _ = reloader.await;
    let _ = notifier.await;
    let _ = escalations.await;
    let _ = mail_out.await;
    let _ = mail_in.await;
    let _ = recordings.await;
    let _ = indexer.await;
    tracing::info!("server stopped");
    result
}

/// Opens the search index in the data directory; true when it must be
/// (re)built from the store.
async fn open_search(config: &Config) -> Result<(Arc<SearchIndex>, bool), AppError> {
    let dir = config.data_dir.join("index");
    let language = crate::search::language(&config.search.language)
        .unwrap_or(tantivy::tokenizer::Language::English);
    let (index, rebuild) = tokio::task::spawn_blocking(move || SearchIndex::open(&dir, language))
        .await
        .map_err(|e| AppError::Serve(e.to_string()))?
        .map_err(|e| AppError::Serve(e.to_string()))?;
    Ok((Arc::new(index), rebuild))
}

/// Seeds the data directory's `plugins/` folder on first start and loads
/// the scripts in it.
async fn open_scripts(config: &Config) -> Result<Arc<ScriptHost>, AppError> {
    let dir = config.data_dir.join("plugins");
    let host = Arc::new(ScriptHost::new(&dir, &config.scripting));
    let loaded = host.clone();
    tokio::task::spawn_blocking(move || {
        match ScriptHost::seed_defaults(&dir) {
            Ok(true) => tracing::info!(dir = %dir.display(), "wrote the default plugins"),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot write the default plugins")
            }
        }
        loaded.reload();
    })
    .await
    .map_err(|e| AppError::Serve(e.to_string()))?;
    Ok(host)
}

/// How often the plugins folder is looked at. Polling a handful of small
/// files is cheap, works on every filesystem (bind mounts, network
/// shares) and keeps the one-second promise without watcher limits.
const RELOAD_EVERY: Duration = Duration::from_millis(250);

async fn reload_scripts(host: Arc<ScriptHost>, mut stopping: watch::Receiver<bool>) {
    loop {
        let host = host.clone();
        let _ = tokio::task::spawn_blocking(move || host.reload()).await;
        tokio::select! {
            _ = tokio::time::sleep(RELOAD_EVERY) => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
    }
}

/// How often overdue milestones are looked for.
const ESCALATE_EVERY: Duration = Duration::from_secs(1);

async fn escalate(service: Service, mut stopping: watch::Receiver<bool>) {
    loop {
        match service.escalate_overdue(chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(milestones = n, "escalated overdue milestones"),
            Err(e) => tracing::warn!(error = %e, "could not escalate overdue milestones"),
        }
        tokio::select! {
            _ = tokio::time::sleep(ESCALATE_EVERY) => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
    }
}

/// Fetches call recordings as their jobs come due.
async fn fetch_recordings(service: Service, mut stopping: watch::Receiver<bool>) {
    let mut commits = service.commits();
    loop {
        if let Err(e) = service.fetch_due_recordings().await {
            tracing::warn!(error = %e, "could not fetch call recordings");
        }
        tokio::select! {
            _ = commits.changed() => {}
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
    }
}

/// How often expired sessions and tokens are deleted.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(3600);

/// Periodic housekeeping until shutdown.
async fn maintain(service: Service, mut stopping: watch::Receiver<bool>) {
    loop {
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
        tokio::select! {
            _ = tokio::time::sleep(MAINTENANCE_EVERY) => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    println!("Shutting down...");
}
