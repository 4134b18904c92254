//! `docket`: a self-hosted help desk in one binary.

mod app;
mod archive;
mod bench;
mod channels;
mod cli;
mod config;
mod domain;
mod export;
mod http;
mod live;
mod mail;
mod notify;
mod scripting;
mod search;
mod service;
mod store;
mod workers;

fn main() -> std::process::ExitCode {
    // One TLS provider for every client (IMAP, SMTP, webhooks), chosen
    // here rather than left to whichever dependency asks first.
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    cli::main()
}
