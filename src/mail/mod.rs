//! Email: parsing inbound mail, the IMAP intake, and sending over SMTP.

pub mod imap;
pub mod parse;
pub mod smtp;
