//! Wires the store, the service layer, background workers and HTTP together,
//! and owns their lifetimes.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::Config;
use crate::http::{self, AppState};
use crate::live::LiveFeed;
use crate::scripting::ScriptHost;
use crate::search::SearchIndex;
use crate::service::{Service, ServiceError};
use crate::store::{Store, StoreError};
use crate::workers::{Parts, Workers};

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

/// Runs the server on the configured address until SIGINT or SIGTERM.
pub async fn serve(config: Config, admin_password: Option<String>) -> Result<(), AppError> {
    let bind_error = |e: std::io::Error| AppError::Bind {
        addr: config.bind.to_string(),
        reason: e.to_string(),
    };
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(bind_error)?;
    serve_on(listener, config, admin_password, shutdown_signal()).await
}

/// Runs the server on `listener` until `shutdown` resolves: opens the data
/// directory, starts the workers, serves, and on shutdown lets requests
/// in flight finish, stops the workers and closes the store. Tests and
/// benchmarks may call this with a listener of their own to run the real
/// server in-process.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    config: Config,
    admin_password: Option<String>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), AppError> {
    let local = listener.local_addr().map_err(|e| AppError::Bind {
        addr: config.bind.to_string(),
        reason: e.to_string(),
    })?;
    let config = Arc::new(config);
    let store = tokio::task::spawn_blocking({
        let dir = config.data_dir.clone();
        let reserve = config.limits.reserve();
        move || Store::open_with_reserve(&dir, reserve)
    })
    .await
    .map_err(|e| AppError::Serve(e.to_string()))??;
    let (search, rebuild) = open_search(&config).await?;
    let scripts = open_scripts(&config).await?;
    let model = crate::llm::LanguageModel::from_config(
        &config.llm,
        &config.notify.webhook_allow,
        &config.outbound(),
    )
    .map_err(|e| {
        AppError::Serve(format!(
            "{e}; allow its host:port with DOCKET_WEBHOOK_ALLOW or change [llm] url"
        ))
    })?;
    let service = Service::new(store.clone(), config.clone())
        .with_search(search.clone())
        .with_scripts(scripts.clone())
        .with_llm(model.map(Arc::new));
    if let Some(password) = service.ensure_first_admin(admin_password).await? {
        println!("Created the first administrator.");
        println!("  username: admin");
        println!("  password: {password}");
        println!("This password is shown only once; change it with `docket user passwd admin`.");
    }

    let (stop, stopping) = watch::channel(false);
    let live = LiveFeed::new(stopping);
    let workers = Workers::start(
        Parts {
            service: service.clone(),
            store,
            live: live.clone(),
            search,
            rebuild,
            scripts,
        },
        stop.clone(),
    );

    let state = Arc::new(AppState { service, live });
    let released = Arc::downgrade(&state);
    println!("docket listening on http://{local}");
    println!("Data directory: {}", config.data_dir.display());
    tracing::info!(%local, data_dir = %config.data_dir.display(), "server started");

    let stop_on_shutdown = {
        let stop = stop.clone();
        async move {
            shutdown.await;
            let _ = stop.send(true);
        }
    };
    let result = http::serve(listener, state, stop_on_shutdown)
        .await
        .map_err(|e| AppError::Serve(e.to_string()));

    workers.stop().await;
    // Connections the HTTP server has stopped may let go of the state a
    // moment later; the store closes when they have, so wait (briefly).
    for _ in 0..200 {
        if released.strong_count() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tracing::info!("server stopped");
    result
}

/// Opens the search index in the data directory; true when it must be
/// (re)built from the store.
async fn open_search(config: &Config) -> Result<(Arc<SearchIndex>, bool), AppError> {
    let dir = config.data_dir.join("index");
    let language = crate::search::language(&config.search.language)
        .unwrap_or(crate::search::Language::English);
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
