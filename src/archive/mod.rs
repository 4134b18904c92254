//! Archives as NDJSON: `docket gen` writes a realistic synthetic one,
//! `docket import` loads one into a data directory.
//!
//! The format is one JSON object per line, each with a `type`:
//!
//! - `{"type":"user","username","display_name","email","role"}`
//! - `{"type":"channel","name","email_address","reply_window_hours",
//!   "time_tracking","members":[{"username","role"}]}`
//! - `{"type":"case","number","channel" (its name),"subject","description",
//!   "status","archived","priority","category","case_type","important",
//!   "source","assignee","created_by","created_at","updated_at",
//!   "closed_at","deadline","customer":{"name","email","phone","handles"},
//!   "device":{"identifier","model"},"thread",
//!   "messages":[{"at","direction","from","body"}],"notes":[{"at","author","body"}]}`
//!
//! Users and channels come before the cases that name them. Times are
//! RFC 3339. Unknown fields are rejected.

pub mod generate;
pub mod import;
mod prose;
mod vocabulary;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::Timestamp;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Record {
    User(UserRecord),
    Channel(ChannelRecord),
    Case(Box<CaseRecord>),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRecord {
    pub username: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberRecord {
    pub username: String,
    pub role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelRecord {
    pub name: String,
    pub email_address: Option<String>,
    pub reply_window_hours: Option<u32>,
    #[serde(default)]
    pub time_tracking: bool,
    #[serde(default)]
    pub members: Vec<MemberRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerRecord {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[serde(default)]
    pub handles: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceRecord {
    pub identifier: Option<String>,
    pub model: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageRecord {
    pub at: Timestamp,
    /// `inbound` (from the customer) or `outbound`.
    pub direction: String,
    pub from: Option<String>,
    pub body: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteRecord {
    pub at: Timestamp,
    pub author: String,
    pub body: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseRecord {
    pub number: Option<u64>,
    pub channel: String,
    pub subject: String,
    #[serde(default)]
    pub description: String,
    pub status: String,
    #[serde(default)]
    pub archived: bool,
    pub priority: String,
    pub category: Option<String>,
    pub case_type: Option<String>,
    #[serde(default)]
    pub important: bool,
    pub source: String,
    pub assignee: Option<String>,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub deadline: Option<Timestamp>,
    pub customer: Option<CustomerRecord>,
    pub device: Option<DeviceRecord>,
    pub thread: Option<String>,
    #[serde(default)]
    pub messages: Vec<MessageRecord>,
    #[serde(default)]
    pub notes: Vec<NoteRecord>,
}
