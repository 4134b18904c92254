//! The service layer: every change to Docket's records passes through here.
//! Each command checks permissions, validates through the domain rules,
//! applies the change, appends activity and enqueues outbox work in one
//! transaction.

mod ai;
mod assist;
mod auth;
mod backup;
mod bulk;
mod cases;
mod categories;
mod channels;
mod chat_bot;
mod export;
mod files;
mod glance;
mod intake;
mod links;
mod listing;
mod login_guard;
mod mail;
mod mailboxes;
mod merge;
mod migration;
mod milestones;
mod phone;
mod plugins;
mod presence;
mod previews;
mod profiles;
pub mod reports;
mod satisfaction;
mod saved_replies;
mod second_factor;
mod social;
mod time;
mod updates;
mod users;
mod visibility;
mod widget;

use std::sync::Arc;

use crate::config::Config;
use crate::domain::RuleError;
use crate::domain::user::{Role, User};
use crate::store::{Store, StoreError};

pub use ai::{AI_ACTOR, AiStatus, TrainingOutcome};
pub use assist::ModelText;
pub use auth::{Credential, Session};
pub use bulk::{BulkAction, BulkTarget};
pub use cases::{CaseChange, NewMessage};
pub use channels::{
    ChannelChange, ImapChange, IntegrationsChange, MetaChange, NewChannel, PhoneChange,
    WidgetChange,
};
pub use files::Upload;
pub use glance::Glance;
pub use intake::RULES_ACTOR;
pub use listing::{AssigneeFilter, CasePage, CaseQuery, QuickFilter, View};
pub use login_guard::FailedSignIn;
pub use mail::MailReceipt;
pub use mailboxes::MailStatus;
pub use presence::{Presence, Viewer};
pub use previews::{CaseSummary, DuplicatePreview, MergePreview, MessageSummary, SplitPreview};
pub use reports::{ReportAnswer, ReportQuery};
pub use satisfaction::{CUSTOMER_ACTOR, RatingReceipt};
pub use saved_replies::FilledReply;
pub use second_factor::{Enrolment, TokenSummary};
pub use time::{NewTimeEntry, TimeEntryChange};
pub use updates::{FromChoice, NewUpdate, check_update};
pub use users::{NewUser, UserChange, random_password, unusable_password_hash};
pub use visibility::{ShownChannel, ShownImap};

/// Why a command was refused. Mapped once, at the HTTP edge and in the CLI.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// Several values refused at once (profile fields), each named.
    #[error("{}", describe_problems(.0))]
    InvalidFields(Vec<crate::domain::profile::FieldProblem>),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("too many failed attempts; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    /// One sender sent more mail than the desk takes from one sender.
    #[error("too many messages from {sender}; try again in {retry_after_secs} seconds")]
    SenderThrottled {
        sender: String,
        retry_after_secs: u64,
    },
    /// A message or file over the configured size.
    #[error("{0}")]
    TooLarge(String),
    /// A file the server writes (an export) could not be written.
    #[error("{0}")]
    Output(String),
    #[error(transparent)]
    Search(#[from] crate::search::SearchError),
    /// The language model is not configured, or failed.
    #[error(transparent)]
    Model(#[from] crate::llm::LlmError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RuleError> for ServiceError {
    fn from(err: RuleError) -> Self {
        match err {
            RuleError::Invalid { field, message } => ServiceError::Invalid { field, message },
            RuleError::Conflict(message) => ServiceError::Conflict(message),
        }
    }
}

impl ServiceError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ServiceError::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

fn describe_problems(problems: &[crate::domain::profile::FieldProblem]) -> String {
    let parts: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.message))
        .collect();
    format!("some values are not valid: {}", parts.join("; "))
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// The entry point for every command; cheap to clone.
#[derive(Clone)]
pub struct Service {
    store: Store,
    config: Arc<Config>,
    login_guard: Arc<login_guard::LoginGuard>,
    /// The search index, when this process serves searches.
    search: Option<Arc<crate::search::SearchIndex>>,
    /// Admins' scripts, when this process runs them.
    scripts: Option<Arc<crate::scripting::ScriptHost>>,
    round_robin: Arc<intake::RoundRobin>,
    open_counts: Arc<intake::OpenCounts>,
    blobs: crate::store::blobs::BlobStore,
    mail_senders: Arc<mail::SenderLimiter>,
    /// What each channel's IMAP intake last did, for its admin page.
    mail_status: Arc<mailboxes::MailStatusBoard>,
    /// Signs widget sessions; read from the data directory on first use.
    server_key: Arc<std::sync::OnceLock<[u8; 32]>>,
    widget_polls: Arc<widget::PollBoard>,
    /// One model turn at a time per chat, a bounded number in all.
    chat_turns: Arc<chat_bot::ChatTurns>,
    /// Who has which case open right now.
    presence: Arc<presence::PresenceBoard>,
    /// The AI agent's current models.
    ai: Arc<ai::Agent>,
    /// The language model, when the organisation configured one.
    llm: Option<Arc<crate::llm::LanguageModel>>,
}

impl Service {
    pub fn new(store: Store, config: Arc<Config>) -> Service {
        let login_guard = Arc::new(login_guard::LoginGuard::new(
            config.auth.login_max_failures,
            std::time::Duration::from_secs(config.auth.login_window_seconds),
        ));
        let blobs = crate::store::blobs::BlobStore::new(&config.data_dir)
            .with_reserve(config.limits.reserve());
        let language = crate::search::language(&config.search.language)
            .unwrap_or(crate::search::Language::English);
        let service = Service {
            ai: Arc::new(ai::Agent::new(crate::search::Analyzer::new(language))),
            llm: None,
            store,
            config,
            login_guard,
            search: None,
            scripts: None,
            round_robin: Arc::default(),
            open_counts: Arc::default(),
            blobs,
            mail_senders: Arc::default(),
            mail_status: Arc::default(),
            presence: Arc::default(),
            server_key: Arc::default(),
            widget_polls: Arc::default(),
            chat_turns: Arc::default(),
        };
        service.load_ai();
        service
    }

    /// Answers lists and searches from `index`.
    pub fn with_search(mut self, index: Arc<crate::search::SearchIndex>) -> Service {
        self.search = Some(index);
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A channel named Support, made by the operator, for unit tests.
    #[cfg(test)]
    pub(crate) async fn support_channel_for_tests(&self) -> ShownChannel {
        self.create_channel(
            &Service::operator(),
            NewChannel {
                name: "Support".into(),
                email_address: None,
                settings: Default::default(),
                imap: None,
                integrations: Default::default(),
            },
        )
        .await
        .unwrap()
    }

    /// The identity of commands run from the command line on the server's
    /// own machine: whoever can run them can read the data directory anyway.
    pub fn operator() -> User {
        User {
            username: "docket".into(),
            display_name: "Docket operator".into(),
            email: None,
            role: Role::Admin,
            password_hash: String::new(),
            created_at: chrono::Utc::now(),
            deactivated_at: None,
            second_factor: None,
            pending_second_factor: None,
        }
    }

    /// Whether the store answers reads; for readiness checks.
    pub fn is_ready(&self) -> bool {
        self.store.read().is_ok()
    }

    /// Why the store refuses writes now, if it does (a disk below its
    /// reserve, a database being reopened); reads may still be served.
    pub fn write_refusal(&self) -> Option<StoreError> {
        self.store.writable().err()
    }
}

fn now() -> crate::domain::Timestamp {
    chrono::Utc::now()
}
