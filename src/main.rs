//! `docket`: a self-hosted help desk in one binary.

mod app;
mod archive;
mod bench;
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

fn main() -> std::process::ExitCode {
    cli::main()
}
