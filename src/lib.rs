//! Docket: a self-hosted help desk in one binary. The library holds the
//! whole server; `main.rs` only calls [`main`]. Tests and benchmarks may
//! start the real server in-process with [`app::serve_on`].

pub mod ai;
pub mod app;
pub mod archive;
pub mod backup;
pub mod bench;
pub mod channels;
pub mod cli;
pub mod config;
pub mod domain;
pub mod export;
pub mod http;
pub mod live;
pub mod llm;
pub mod mail;
pub mod markdown;
pub mod notify;
pub mod outbound;
pub mod scripting;
pub mod search;
pub mod service;
pub mod store;
pub mod workers;

/// The release and the commit it was built from, e.g. `0.1.0 (1a2b3c4d5e6f)`.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("DOCKET_COMMIT"), ")");

/// Runs the command line.
pub fn main() -> std::process::ExitCode {
    install_tls_provider();
    cli::main()
}

/// One TLS provider for every client (IMAP, SMTP, webhooks), chosen here
/// rather than left to whichever dependency asks first.
pub fn install_tls_provider() {
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
}
