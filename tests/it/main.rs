//! Black-box tests: each starts the real `docket` binary on a free loopback
//! port with a temporary data directory and talks to it over HTTP (and, for
//! the browser test, through headless Chromium).

mod accessibility;
mod ai;
mod api_cases;
mod api_channels_users;
mod assist;
mod automation;
mod backup;
mod bad_input;
mod browser;
mod bulk;
mod channel_page;
mod chat_bot;
mod cli;
mod deactivation;
mod disk_full;
mod durability;
mod export;
mod filters_at_scale;
mod harness;
mod in_process;
mod inbox_page;
mod links;
mod mail;
mod mailservers;
mod merge;
mod permissions;
mod phone;
mod presence;
mod real_mail;
mod receiver;
mod reports;
mod saved_replies;
mod search;
mod security;
mod service_levels;
mod social;
mod time;
mod upgrade;
mod web;
mod widget;
mod workspace;
