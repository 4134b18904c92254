//! Email: parsing inbound mail, the IMAP intake, and sending over SMTP.

pub mod gate;
pub mod imap;
pub mod mailbox;
pub mod parse;
mod repair;
pub mod smtp;
