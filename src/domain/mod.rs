//! Pure types and rules of the help desk. Nothing in here performs I/O:
//! the service layer loads records, asks these types what a change means,
//! and stores the result.

pub mod access;
pub mod activity;
pub mod ai;
pub mod calendar;
pub mod case;
pub mod category;
pub mod channel;
pub mod file;
pub mod link;
pub mod mail;
pub mod milestone;
pub mod network;
pub mod profile;
pub mod report;
pub mod retry;
pub mod satisfaction;
pub mod saved_reply;
pub mod second_factor;
pub mod time;
pub mod user;
pub mod validate;
pub mod widget;

/// Every timestamp Docket stores is UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// Why a requested change breaks a domain rule. The service layer turns these
/// into its own errors; messages are written for the person who asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// A field value is malformed or out of range.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The change is well-formed but not allowed in the record's current state.
    #[error("{0}")]
    Conflict(String),
}

impl RuleError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        RuleError::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}
