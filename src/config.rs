//! Configuration: built-in defaults, overridden by `docket.toml`, overridden
//! by `DOCKET_*` environment variables and command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const DEFAULT_CONFIG_FILE: &str = "docket.toml";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("the configuration file {path} is not valid: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("'{value}' is not a listen address; use IP:PORT such as 127.0.0.1:8080")]
    BadBind { value: String },
    #[error("{0}")]
    OutOfRange(String),
}

/// Every limit Docket enforces, with its default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Cases per page when the client asks for no `limit`.
    pub default_page_size: usize,
    /// Largest `limit` a client may ask for.
    pub max_page_size: usize,
    /// Days a deleted case stays in the trash before it is purged.
    pub trash_days: u32,
    /// Free space (MiB) kept on the data directory's disk: below it writes
    /// are refused with 507 while reads go on, and resume once space is freed.
    pub min_free_mb: u64,
}

impl Limits {
    /// The reserve the store keeps, in its own terms.
    pub fn reserve(&self) -> crate::store::space::Reserve {
        crate::store::space::Reserve {
            bytes: self.min_free_mb << 20,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1024 * 1024,
            default_page_size: 50,
            max_page_size: 200,
            trash_days: 30,
            min_free_mb: 256,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// How long a browser session lasts.
    pub session_hours: u32,
    /// How long a token from `POST /api/v1/auth/login` lasts.
    pub api_token_days: u32,
    /// Failed logins allowed per username and client address before each
    /// further attempt from there waits (30 s, doubling, at most 15 min);
    /// ten times as many for one username from anywhere, twenty times for
    /// one address, slow only addresses the user has not signed in from.
    /// Counts are forgotten `login_window_seconds` after the last failure.
    pub login_max_failures: u32,
    pub login_window_seconds: u64,
    /// Mark cookies `Secure`. Unset: only when the request arrived over
    /// HTTPS (directly or as told by `X-Forwarded-Proto` from a proxy).
    pub secure_cookies: Option<bool>,
    /// Reverse proxies (addresses or networks such as `10.0.0.0/8`) whose
    /// `X-Forwarded-For` names the real client. Requests from anywhere
    /// else are taken to come from their own address, whatever they claim.
    /// `DOCKET_TRUSTED_PROXIES` (comma separated) replaces this list.
    pub trusted_proxies: Vec<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            session_hours: 12,
            api_token_days: 30,
            login_max_failures: 5,
            login_window_seconds: 300,
            secure_cookies: None,
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// Stemming language of the search index (`english`, `german`,
    /// `french`...). Changing it rebuilds the index on the next start.
    pub language: String,
    /// Unresolved cases at least this old show under "Needs attention".
    pub needs_attention_days: u32,
    /// Cases whose reply window closes within this many hours show under
    /// "Time sensitive".
    pub reply_warning_hours: u32,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            language: "english".into(),
            needs_attention_days: 3,
            reply_warning_hours: 4,
        }
    }
}

/// Limits on admins' scripts (`plugins/*.rhai`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScriptingConfig {
    /// Wall-clock budget of one hook call, in milliseconds.
    pub budget_ms: u64,
    /// Operations one hook call may run.
    pub max_operations: u64,
    /// How deep functions may call each other.
    pub max_call_depth: usize,
    /// How deeply expressions may nest.
    pub max_expr_depth: usize,
    pub max_string_bytes: usize,
    pub max_array_len: usize,
    pub max_map_len: usize,
}

impl Default for ScriptingConfig {
    fn default() -> Self {
        ScriptingConfig {
            budget_ms: 50,
            max_operations: 200_000,
            max_call_depth: 32,
            max_expr_depth: 64,
            max_string_bytes: 256 * 1024,
            max_array_len: 10_000,
            max_map_len: 10_000,
        }
    }
}

/// The AI agent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AiConfig {
    /// Predict at intake and learn in the background.
    pub enabled: bool,
    /// The category spam goes to (its AI threshold is the spam threshold).
    pub spam_category: String,
    /// Learn again once people have made this many category or priority
    /// decisions since the last training...
    pub retrain_after_labels: u64,
    /// ...or, with any new decision, once this many hours have passed.
    pub retrain_hours: u64,
}

impl Default for AiConfig {
    fn default() -> Self {
        AiConfig {
            enabled: true,
            spam_category: "spam".into(),
            retrain_after_labels: 50,
            retrain_hours: 24,
        }
    }
}

/// A language model the organisation chooses: any OpenAI-compatible chat
/// endpoint (a local Ollama or llama.cpp server, or a provider).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LlmConfig {
    /// The API base, e.g. `http://127.0.0.1:11434/v1`; none: no model.
    pub url: Option<String>,
    pub model: String,
    /// Sent as `Authorization: Bearer`; `DOCKET_LLM_API_KEY` replaces it.
    pub api_key: Option<String>,
    pub timeout_seconds: u64,
    /// The longest answer asked for, in tokens.
    pub max_tokens: u32,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            url: None,
            model: "llama3.1".into(),
            api_key: None,
            timeout_seconds: 60,
            max_tokens: 400,
        }
    }
}

/// Time tracking.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeConfig {
    /// The kinds of time people log; the first is used for timers.
    pub types: Vec<String>,
    /// How many hours "1d" means.
    pub hours_per_day: u32,
}

impl Default for TimeConfig {
    fn default() -> Self {
        TimeConfig {
            types: vec![
                "Work".into(),
                "Travel".into(),
                "Meeting".into(),
                "Research".into(),
            ],
            hours_per_day: 8,
        }
    }
}

/// Outbound notifications (Slack incoming webhooks).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// Hosts a webhook URL may point at. `DOCKET_WEBHOOK_ALLOW` (comma
    /// separated) replaces this list.
    pub webhook_allow: Vec<String>,
    /// The address people reach Docket at, for links in notifications
    /// and rating links (e.g. `https://help.example.com`).
    /// `DOCKET_PUBLIC_URL` replaces it.
    pub public_url: Option<String>,
    /// `host:port` pairs Docket may connect to although they are inside
    /// the network (loopback, private, link-local): an IMAP server on this
    /// network, a relay. `DOCKET_INTERNAL_ALLOW` (comma separated) replaces
    /// this list. Entries of `webhook_allow` with a port count too.
    pub internal_allow: Vec<String>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            webhook_allow: vec![
                "hooks.slack.com".into(),
                "graph.facebook.com".into(),
                "api.twilio.com".into(),
            ],
            public_url: None,
            internal_allow: Vec::new(),
        }
    }
}

/// Email intake and files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// Largest raw message taken in (mailgate and IMAP), in bytes.
    pub max_message_bytes: usize,
    /// Largest file upload, in bytes.
    pub max_upload_bytes: usize,
    /// Largest mbox a running server takes to migrate (`POST
    /// /api/v1/channels/{id}/mailbox-imports`); larger ones go through
    /// `docket import-mail`.
    pub max_mailbox_bytes: usize,
    /// A message from the same sender with the same subject (reply prefixes
    /// stripped) joins that sender's case within this many hours.
    pub thread_window_hours: u32,
    /// Messages one sender may send within `sender_window_seconds` before
    /// further ones are refused for a while (a temporary failure).
    pub sender_max_messages: u32,
    pub sender_window_seconds: u64,
    /// How often IMAP folders are polled when the server has no IDLE.
    pub poll_seconds: u64,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            max_message_bytes: 25 * 1024 * 1024,
            max_upload_bytes: 25 * 1024 * 1024,
            max_mailbox_bytes: 256 * 1024 * 1024,
            thread_window_hours: 168,
            sender_max_messages: 30,
            sender_window_seconds: 600,
            poll_seconds: 60,
        }
    }
}

/// Outgoing mail.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// `smtp://host:25`, `smtp://host:587?tls=required`,
    /// `smtps://user:pass@host:465`. `DOCKET_SMTP_URL` replaces it. Unset:
    /// updates are kept and retried until a server is configured.
    pub url: Option<String>,
}

/// The contents of `docket.toml`; every key is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub bind: Option<String>,
    pub limits: Limits,
    pub auth: AuthConfig,
    pub search: SearchConfig,
    pub scripting: ScriptingConfig,
    pub notify: NotifyConfig,
    pub time: TimeConfig,
    pub mail: MailConfig,
    pub smtp: SmtpConfig,
    pub ai: AiConfig,
    pub llm: LlmConfig,
    pub backup: BackupConfig,
    pub reports: ReportsConfig,
}

/// Reports.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsConfig {
    /// The IANA time zone whose days and hours reports count in
    /// (`Europe/Berlin`). `DOCKET_REPORTS_TIME_ZONE` replaces it. After a
    /// change, `docket reindex` files the figures under the new days.
    pub time_zone: String,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig {
            time_zone: "UTC".into(),
        }
    }
}

impl ReportsConfig {
    /// The zone, checked when the configuration is read.
    pub fn zone(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }
}

/// Scheduled backups, as `docket.toml` states them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// How often, as a duration such as "24h" or "30m"; none: no schedule.
    pub every: Option<String>,
    /// How many scheduled backups to keep; older ones are deleted.
    pub keep: usize,
    /// The folder scheduled backups are written to.
    pub dir: Option<PathBuf>,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            every: None,
            keep: 7,
            dir: None,
        }
    }
}

/// Scheduled backups as the server runs them.
#[derive(Debug, Clone)]
pub struct BackupSchedule {
    pub every: std::time::Duration,
    pub keep: usize,
    pub dir: PathBuf,
}

impl BackupConfig {
    fn schedule(self) -> Result<Option<BackupSchedule>, ConfigError> {
        let Some(every) = self.every.filter(|e| !e.trim().is_empty()) else {
            return Ok(None);
        };
        let invalid = |reason: String| ConfigError::Invalid {
            path: PathBuf::from("[backup]"),
            reason,
        };
        let seconds = match crate::domain::milestone::Due::parse_duration(&every) {
            Ok(crate::domain::milestone::Due::After(seconds)) => seconds,
            Ok(crate::domain::milestone::Due::At(_)) => {
                return Err(invalid(format!("every: '{every}' is not a duration")));
            }
            Err(e) => return Err(invalid(format!("every: {e}"))),
        };
        let dir = self
            .dir
            .ok_or_else(|| invalid("every needs dir, the folder to write backups to".into()))?;
        if self.keep == 0 {
            return Err(invalid("keep must be at least 1".into()));
        }
        Ok(Some(BackupSchedule {
            every: std::time::Duration::from_secs(seconds as u64),
            keep: self.keep,
            dir,
        }))
    }
}

/// The resolved configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    pub limits: Limits,
    pub auth: AuthConfig,
    pub search: SearchConfig,
    pub scripting: ScriptingConfig,
    pub notify: NotifyConfig,
    pub time: TimeConfig,
    pub mail: MailConfig,
    pub smtp: SmtpConfig,
    pub ai: AiConfig,
    pub llm: LlmConfig,
    pub reports: ReportsConfig,
    /// The configuration file this was read from, if any (backups hold it).
    pub config_file: Option<PathBuf>,
    pub backup: Option<BackupSchedule>,
}

impl FileConfig {
    /// The file `load` reads for `path`: the one given, else `./docket.toml`
    /// when it exists.
    pub fn path_read(path: Option<&Path>) -> Option<PathBuf> {
        match path {
            Some(p) => Some(p.to_owned()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()),
        }
    }

    /// Reads `path` when given (it must exist), else `./docket.toml` when
    /// present, else the defaults.
    pub fn load(path: Option<&Path>) -> Result<FileConfig, ConfigError> {
        let (path, required) = match path {
            Some(p) => (p.to_owned(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(FileConfig::default());
            }
            Err(e) => {
                return Err(ConfigError::Unreadable {
                    path,
                    reason: e.to_string(),
                });
            }
        };
        toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path,
            reason: e.to_string(),
        })
    }

    /// Applies flag/environment overrides and checks the result.
    pub fn resolve(
        self,
        data_dir: Option<PathBuf>,
        bind: Option<String>,
    ) -> Result<Config, ConfigError> {
        let data_dir = data_dir
            .or(self.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let bind_text = bind
            .or(self.bind)
            .unwrap_or_else(|| DEFAULT_BIND.to_owned());
        let bind = bind_text.parse().map_err(|_| ConfigError::BadBind {
            value: bind_text.clone(),
        })?;
        let mut notify = self.notify;
        if let Ok(hosts) = std::env::var("DOCKET_WEBHOOK_ALLOW") {
            notify.webhook_allow = hosts
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect();
        }
        let mut auth = self.auth;
        if let Ok(proxies) = std::env::var("DOCKET_TRUSTED_PROXIES") {
            auth.trusted_proxies = proxies
                .split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect();
        }
        if let Ok(url) = std::env::var("DOCKET_PUBLIC_URL") {
            notify.public_url = Some(url.trim().to_owned()).filter(|u| !u.is_empty());
        }
        if let Ok(pairs) = std::env::var("DOCKET_INTERNAL_ALLOW") {
            notify.internal_allow = pairs
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect();
        }
        let mut reports = self.reports;
        if let Ok(zone) = std::env::var("DOCKET_REPORTS_TIME_ZONE") {
            reports.time_zone = zone.trim().to_owned();
        }
        let config = Config {
            reports,
            config_file: None,
            backup: self.backup.schedule()?,
            data_dir,
            bind,
            limits: self.limits,
            auth,
            search: self.search,
            scripting: self.scripting,
            ai: self.ai,
            llm: LlmConfig {
                api_key: std::env::var("DOCKET_LLM_API_KEY")
                    .ok()
                    .filter(|k| !k.trim().is_empty())
                    .or(self.llm.api_key),
                url: self.llm.url.filter(|u| !u.trim().is_empty()),
                ..self.llm
            },
            notify,
            time: self.time,
            mail: self.mail,
            smtp: SmtpConfig {
                url: std::env::var("DOCKET_SMTP_URL")
                    .ok()
                    .filter(|u| !u.trim().is_empty())
                    .or(self.smtp.url),
            },
        };
        config.check()?;
        Ok(config)
    }
}

impl Config {
    /// The policy for connections to other machines: inside the network
    /// only what `internal_allow` and `webhook_allow` name with a port, and
    /// the SMTP relay the administrator configured.
    pub fn outbound(&self) -> crate::outbound::OutboundPolicy {
        let policy = crate::outbound::OutboundPolicy::new(
            self.notify
                .internal_allow
                .iter()
                .chain(&self.notify.webhook_allow),
        );
        let relay = self
            .smtp
            .url
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok())
            .and_then(|u| {
                let port = u
                    .port()
                    .unwrap_or(if u.scheme() == "smtps" { 465 } else { 25 });
                Some((u.host_str()?.to_owned(), port))
            });
        match relay {
            Some((host, port)) => policy.also_allowing(&host, port),
            None => policy,
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.reports.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(ConfigError::OutOfRange(format!(
                "reports.time_zone '{}' is not a time zone such as Europe/Berlin or UTC",
                self.reports.time_zone
            )));
        }
        let limits = &self.limits;
        let auth = &self.auth;
        crate::domain::network::parse_networks(&auth.trusted_proxies)
            .map_err(|e| ConfigError::OutOfRange(format!("auth.trusted_proxies: {e}")))?;
        let in_range = |name: &str, value: u64, min: u64, max: u64| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(ConfigError::OutOfRange(format!(
                    "{name} must be between {min} and {max} (it is {value})"
                )))
            }
        };
        in_range(
            "limits.max_body_bytes",
            limits.max_body_bytes as u64,
            1024,
            1 << 30,
        )?;
        in_range(
            "limits.max_page_size",
            limits.max_page_size as u64,
            1,
            10_000,
        )?;
        in_range(
            "limits.default_page_size",
            limits.default_page_size as u64,
            1,
            limits.max_page_size as u64,
        )?;
        in_range("limits.trash_days", limits.trash_days.into(), 1, 3650)?;
        in_range("auth.session_hours", auth.session_hours.into(), 1, 24 * 365)?;
        in_range("auth.api_token_days", auth.api_token_days.into(), 1, 3650)?;
        in_range(
            "auth.login_max_failures",
            auth.login_max_failures.into(),
            1,
            1000,
        )?;
        in_range(
            "auth.login_window_seconds",
            auth.login_window_seconds,
            1,
            86_400,
        )?;
        let search = &self.search;
        in_range(
            "search.needs_attention_days",
            search.needs_attention_days.into(),
            1,
            3650,
        )?;
        in_range(
            "search.reply_warning_hours",
            search.reply_warning_hours.into(),
            1,
            24 * 30,
        )?;
        let mail = &self.mail;
        in_range(
            "mail.max_message_bytes",
            mail.max_message_bytes as u64,
            1024,
            1 << 30,
        )?;
        in_range(
            "mail.max_upload_bytes",
            mail.max_upload_bytes as u64,
            1024,
            1 << 30,
        )?;
        in_range(
            "mail.max_mailbox_bytes",
            mail.max_mailbox_bytes as u64,
            1024,
            4 << 30,
        )?;
        in_range(
            "mail.thread_window_hours",
            mail.thread_window_hours.into(),
            0,
            24 * 365,
        )?;
        in_range(
            "mail.sender_max_messages",
            mail.sender_max_messages.into(),
            1,
            1_000_000,
        )?;
        in_range(
            "mail.sender_window_seconds",
            mail.sender_window_seconds,
            1,
            86_400,
        )?;
        in_range("mail.poll_seconds", mail.poll_seconds, 1, 86_400)?;
        if let Some(url) = &self.smtp.url {
            check_smtp_url(url)?;
        }
        let scripting = &self.scripting;
        in_range("scripting.budget_ms", scripting.budget_ms, 1, 10_000)?;
        in_range(
            "scripting.max_operations",
            scripting.max_operations,
            1_000,
            100_000_000,
        )?;
        in_range(
            "scripting.max_call_depth",
            scripting.max_call_depth as u64,
            4,
            256,
        )?;
        in_range(
            "scripting.max_expr_depth",
            scripting.max_expr_depth as u64,
            8,
            256,
        )?;
        in_range(
            "scripting.max_string_bytes",
            scripting.max_string_bytes as u64,
            1024,
            16 << 20,
        )?;
        in_range(
            "scripting.max_array_len",
            scripting.max_array_len as u64,
            16,
            1_000_000,
        )?;
        in_range(
            "scripting.max_map_len",
            scripting.max_map_len as u64,
            16,
            1_000_000,
        )?;
        in_range("time.hours_per_day", self.time.hours_per_day.into(), 1, 24)?;
        let types = &self.time.types;
        if types.is_empty()
            || types.len() > 50
            || types
                .iter()
                .any(|t| t.trim().is_empty() || t.chars().count() > 50)
        {
            return Err(ConfigError::OutOfRange(
                "time.types must list 1 to 50 names of at most 50 characters".into(),
            ));
        }
        if let Some(url) = &self.notify.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::OutOfRange(format!(
                "notify.public_url '{url}' must start with http:// or https://"
            )));
        }
        if crate::search::language(&search.language).is_none() {
            return Err(ConfigError::OutOfRange(format!(
                "search.language '{}' is not supported; use arabic, danish, dutch, english, finnish, french, \
                 german, greek, hungarian, italian, norwegian, portuguese, romanian, russian, spanish, swedish, \
                 tamil or turkish",
                search.language
            )));
        }
        Ok(())
    }
}

/// An SMTP URL the mail sender understands: `smtp` or `smtps` with a host.
fn check_smtp_url(url: &str) -> Result<(), ConfigError> {
    let bad = |why: &str| {
        ConfigError::OutOfRange(format!(
            "smtp.url (or DOCKET_SMTP_URL) {why}; use e.g. smtp://127.0.0.1:2525, \
             smtp://host:587?tls=required or smtps://user:pass@host:465"
        ))
    };
    let parsed = url::Url::parse(url).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "smtp" | "smtps") {
        return Err(bad("must start with smtp:// or smtps://"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("names no host"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_and_defaults_fill_the_rest() {
        let file: FileConfig =
            toml::from_str("bind = \"127.0.0.1:9000\"\n[limits]\nmax_page_size = 500\n").unwrap();
        let config = file.resolve(Some("/tmp/x".into()), None).unwrap();
        assert_eq!(config.bind.port(), 9000);
        assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(config.limits.max_page_size, 500);
        assert_eq!(config.limits.default_page_size, 50);
    }

    #[test]
    fn unknown_keys_and_bad_addresses_are_rejected() {
        assert!(toml::from_str::<FileConfig>("colour = \"blue\"").is_err());
        assert!(
            FileConfig::default()
                .resolve(None, Some("localhost".into()))
                .is_err()
        );
    }
}
