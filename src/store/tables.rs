//! Table definitions. A table's name carries its layout version: a change of
//! key or value layout gets a new name and a migration step.

use redb::TableDefinition;

/// Counters and settings: `schema_version`, `next_case_number`...
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// username → JSON user.
pub const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users_v1");
/// channel id → JSON channel.
pub const CHANNELS: TableDefinition<u64, &[u8]> = TableDefinition::new("channels_v1");
/// case number → JSON case.
pub const CASES: TableDefinition<u64, &[u8]> = TableDefinition::new("cases_v1");
/// (case number, event seq) → activity event, as `store/codec.rs` keeps
/// it: JSON, or (from schema 13) JSON compressed with zstd.
pub const ACTIVITY: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("activity_v1");
/// outbox seq → JSON outbox event.
pub const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox_v1");
/// consumer name → last outbox seq it finished.
pub const OUTBOX_CURSORS: TableDefinition<&str, u64> = TableDefinition::new("outbox_cursors_v1");
/// (username, case number) → when the user last opened the case (seconds).
pub const READ_MARKERS: TableDefinition<(&str, u64), u64> = TableDefinition::new("read_markers_v1");
/// SHA-256 of a token → JSON token record (API tokens and web sessions).
pub const TOKENS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tokens_v1");

/// category name → JSON category.
pub const CATEGORIES: TableDefinition<&str, &[u8]> = TableDefinition::new("categories_v1");
/// delivery id → JSON outbound notification waiting to be sent.
pub const DELIVERIES: TableDefinition<u64, &[u8]> = TableDefinition::new("deliveries_v1");
/// (due time in seconds, case number) → (): milestones that may need
/// escalating then. Entries are checked against the case when due.
pub const MILESTONES_DUE: TableDefinition<(u64, u64), ()> =
    TableDefinition::new("milestones_due_v1");

/// (due time in seconds, case number) → (): milestones still to be met,
/// kept in step with the cases by `put_case`.
pub const OPEN_MILESTONES: TableDefinition<(u64, u64), ()> =
    TableDefinition::new("open_milestones_v1");
/// (case number, entry id) → JSON time entry.
pub const TIME_ENTRIES: TableDefinition<(u64, u64), &[u8]> =
    TableDefinition::new("time_entries_v1");
/// username → JSON running timer.
pub const TIMERS: TableDefinition<&str, &[u8]> = TableDefinition::new("timers_v1");

/// file id → JSON file record.
pub const FILES: TableDefinition<u64, &[u8]> = TableDefinition::new("files_v1");
/// (case number, file id) → (): a case's files.
pub const CASE_FILES: TableDefinition<(u64, u64), ()> = TableDefinition::new("case_files_v1");
/// Message-ID (key form) → case number: every message seen or sent.
pub const MESSAGE_IDS: TableDefinition<&str, u64> = TableDefinition::new("message_ids_v1");
/// Message-IDs that stored messages cited (In-Reply-To, References) but
/// that were not seen yet → the citing case: a parent arriving after its
/// reply joins it.
pub const CITED_MESSAGE_IDS: TableDefinition<&str, u64> =
    TableDefinition::new("cited_message_ids_v1");
/// SHA-256 of Message-ID and content → (case number, event seq): mail
/// already taken in.
pub const MAIL_SEEN: TableDefinition<&[u8], (u64, u64)> = TableDefinition::new("mail_seen_v1");
/// "sender\nnormalised subject" → (case number, seconds): the last message
/// of that sender on that subject.
pub const SUBJECT_THREADS: TableDefinition<&str, (u64, u64)> =
    TableDefinition::new("subject_threads_v1");
/// job id → JSON outgoing mail.
pub const MAIL_JOBS: TableDefinition<u64, &[u8]> = TableDefinition::new("mail_jobs_v1");

/// Conversation key (`instagram:dm:PAGE:SENDER`, `phone:CHANNEL:NUMBER`...)
/// → the case that holds it.
pub const CONVERSATIONS: TableDefinition<&str, u64> = TableDefinition::new("conversations_v1");

/// (case number, call event seq) → JSON recording still to be fetched.
pub const RECORDING_JOBS: TableDefinition<(u64, u64), &[u8]> =
    TableDefinition::new("recording_jobs_v1");

/// widget session id → JSON chat session.
pub const WIDGET_SESSIONS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("widget_sessions_v1");

/// job id → JSON job of the retry queue (outgoing mail, a post, a call
/// recording to fetch).
pub const JOBS: TableDefinition<u64, &[u8]> = TableDefinition::new("jobs_v1");
/// (case number, call event seq) → the job id of its recording, so a
/// call's recording is found without reading the queue.
pub const RECORDING_JOB_IDS: TableDefinition<(u64, u64), u64> =
    TableDefinition::new("recording_job_ids_v1");

/// saved reply id → JSON saved reply.
pub const SAVED_REPLIES: TableDefinition<u64, &[u8]> = TableDefinition::new("saved_replies_v1");

/// "current" → what the AI agent learned, as its room encodes it.
pub const AI_MODELS: TableDefinition<&str, &[u8]> = TableDefinition::new("ai_models_v1");

/// (local day, channel, category, agent, source), encoded by
/// `store/reports.rs` → JSON daily report figures.
pub const REPORT_DAYS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("report_days_v1");
/// (local day, channel), encoded as `report_days_v1`'s keys with empty
/// dimensions → JSON figures of the whole channel that day: what a report
/// without category, agent or source filters reads.
pub const REPORT_CHANNEL_DAYS: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("report_channel_days_v1");
/// case number → JSON: what the case contributes to `report_days_v1`.
pub const REPORT_CONTRIBUTIONS: TableDefinition<u64, &[u8]> =
    TableDefinition::new("report_contributions_v1");

/// zstd dictionary id → the dictionary, trained on the store's own
/// events. Never deleted: values compressed with it stay readable.
pub const EVENT_DICTIONARIES: TableDefinition<u32, &[u8]> =
    TableDefinition::new("event_dictionaries_v1");

pub const KEY_SCHEMA_VERSION: &str = "schema_version";
/// How many times people have decided a category or priority (labels the
/// AI agent learns from), and how many there had been at its last training.
pub const KEY_AI_LABELS: &str = "ai_labels";
pub const KEY_AI_LABELS_TRAINED: &str = "ai_labels_trained";
pub const KEY_NEXT_CASE: &str = "next_case_number";
pub const KEY_NEXT_CHANNEL: &str = "next_channel_id";
pub const KEY_NEXT_OUTBOX: &str = "next_outbox_seq";
pub const KEY_NEXT_TIME_ENTRY: &str = "next_time_entry_id";
pub const KEY_NEXT_FILE: &str = "next_file_id";
pub const KEY_NEXT_MAIL_JOB: &str = "next_mail_job_id";
pub const KEY_NEXT_JOB: &str = "next_job_id";
/// 1 when staff must sign in with a second factor.
pub const KEY_REQUIRE_SECOND_FACTOR: &str = "require_second_factor";
/// Report figures: how many rebuilds were asked for, which of them the
/// figures were last built for, and a code of the time zone they were
/// built in. They are current when built = wanted in today's zone.
pub const KEY_REPORTS_WANTED: &str = "reports_wanted";
pub const KEY_REPORTS_BUILT: &str = "reports_built";
pub const KEY_REPORTS_ZONE: &str = "reports_zone";
pub const KEY_NEXT_SAVED_REPLY: &str = "next_saved_reply_id";
/// The dictionary new events are compressed with, and how many events
/// the store held when it was trained (a larger store trains anew).
pub const KEY_EVENT_DICTIONARY: &str = "event_dictionary";
pub const KEY_EVENT_DICTIONARY_SAMPLED_AT: &str = "event_dictionary_sampled_at";
/// Events written before the first dictionary are compressed again, a few
/// cases per transaction: the next case to look at, and the last one that
/// can hold such events.
pub const KEY_RECOMPRESS_NEXT: &str = "recompress_next_case";
pub const KEY_RECOMPRESS_UNTIL: &str = "recompress_until_case";
