//! Schema versions and the steps between them, run once at open.

use redb::{Database, ReadableTable, WriteTransaction};

use super::tables::*;
use super::{StoreError, StoreResult};

/// The schema this binary writes.
pub const CURRENT_SCHEMA: u32 = 13;

/// Brings the store to [`CURRENT_SCHEMA`] in one transaction.
pub fn run(db: &Database) -> StoreResult<()> {
    let txn = db.begin_write()?;
    let found = {
        let meta = txn.open_table(META)?;
        meta.get(KEY_SCHEMA_VERSION)?.map(|v| v.value() as u32)
    };
    match found {
        Some(version) if version > CURRENT_SCHEMA => {
            return Err(StoreError::SchemaTooNew {
                found: version,
                known: CURRENT_SCHEMA,
            });
        }
        Some(CURRENT_SCHEMA) => {}
        Some(version) => {
            for step in version..CURRENT_SCHEMA {
                upgrade_from(step, &txn)?;
            }
        }
        None => {
            create_v1(&txn)?;
            for step in 1..CURRENT_SCHEMA {
                upgrade_from(step, &txn)?;
            }
        }
    }
    txn.open_table(META)?
        .insert(KEY_SCHEMA_VERSION, u64::from(CURRENT_SCHEMA))?;
    txn.commit()?;
    Ok(())
}

/// A fresh store: create every table so readers never meet a missing one.
fn create_v1(txn: &WriteTransaction) -> StoreResult<()> {
    txn.open_table(USERS)?;
    txn.open_table(CHANNELS)?;
    txn.open_table(CASES)?;
    txn.open_table(ACTIVITY)?;
    txn.open_table(OUTBOX)?;
    txn.open_table(OUTBOX_CURSORS)?;
    txn.open_table(TOKENS)?;
    Ok(())
}

/// Upgrades a store at `version` to `version + 1`.
fn upgrade_from(version: u32, txn: &WriteTransaction) -> StoreResult<()> {
    match version {
        // 2: per-user read markers, for the "unread" inbox filter.
        1 => {
            txn.open_table(READ_MARKERS)?;
            Ok(())
        }
        // 3: categories, outbound notifications and milestone escalation.
        // The notifier starts at the newest outbox entry: a store that had
        // none must not announce its history to Slack.
        2 => {
            txn.open_table(CATEGORIES)?;
            txn.open_table(DELIVERIES)?;
            txn.open_table(MILESTONES_DUE)?;
            start_at_newest_entry(txn, super::Consumer::Notify)?;
            seed_categories(txn)
        }
        // 4: time tracking.
        3 => {
            txn.open_table(TIME_ENTRIES)?;
            txn.open_table(TIMERS)?;
            Ok(())
        }
        // 5: milestones still to be met, for the managers' view.
        4 => {
            let mut keys = Vec::new();
            for entry in txn.open_table(CASES)?.iter()? {
                let (_, value) = entry?;
                let case: crate::domain::case::Case = serde_json::from_slice(value.value())
                    .map_err(|e| StoreError::Corrupt(format!("case: {e}")))?;
                keys.extend(crate::domain::milestone::pending_keys(&case));
            }
            let mut table = txn.open_table(OPEN_MILESTONES)?;
            for key in keys {
                table.insert(key, ())?;
            }
            Ok(())
        }
        // 6: email: files, threading, idempotent intake, outgoing mail.
        5 => {
            txn.open_table(FILES)?;
            txn.open_table(CASE_FILES)?;
            txn.open_table(MESSAGE_IDS)?;
            txn.open_table(MAIL_SEEN)?;
            txn.open_table(SUBJECT_THREADS)?;
            txn.open_table(MAIL_JOBS)?;
            Ok(())
        }
        // 7: conversations of social messaging and phone calls.
        6 => {
            txn.open_table(CONVERSATIONS)?;
            txn.open_table(RECORDING_JOBS)?;
            txn.open_table(WIDGET_SESSIONS)?;
            Ok(())
        }
        // 8: one retry queue for outgoing mail, posts and recordings.
        7 => super::queue::merge_queues(txn),
        // 9: saved replies.
        8 => {
            txn.open_table(SAVED_REPLIES)?;
            Ok(())
        }
        // 10: what the AI agent learned.
        9 => {
            txn.open_table(AI_MODELS)?;
            Ok(())
        }
        // 11: Message-IDs cited before they were seen, so threading does
        // not depend on arrival order (from now on: older mail kept no
        // references).
        10 => {
            txn.open_table(CITED_MESSAGE_IDS)?;
            Ok(())
        }
        // 12: report figures. The consumer starts at the newest entry; the
        // figures are built from the cases at the first start (they are
        // not marked built).
        11 => {
            txn.open_table(REPORT_DAYS)?;
            txn.open_table(REPORT_CHANNEL_DAYS)?;
            txn.open_table(REPORT_CONTRIBUTIONS)?;
            start_at_newest_entry(txn, super::Consumer::Reports)
        }
        // 13: events compressed with a dictionary trained on the store's
        // own. Older events stay JSON, readable as they are, until the
        // server compresses them in the background (`store/dictionary.rs`).
        12 => {
            txn.open_table(EVENT_DICTIONARIES)?;
            Ok(())
        }
        other => Err(StoreError::Corrupt(format!(
            "no migration known from schema {other}"
        ))),
    }
}

/// Places a new consumer's cursor at the newest outbox entry, so it does
/// not replay a history it has no use for.
fn start_at_newest_entry(txn: &WriteTransaction, consumer: super::Consumer) -> StoreResult<()> {
    let head = txn
        .open_table(META)?
        .get(KEY_NEXT_OUTBOX)?
        .map(|v| v.value())
        .unwrap_or(0);
    txn.open_table(OUTBOX_CURSORS)?
        .insert(consumer.name(), head)?;
    Ok(())
}

/// The categories the default plugins use: spam closes itself.
fn seed_categories(txn: &WriteTransaction) -> StoreResult<()> {
    let mut table = txn.open_table(CATEGORIES)?;
    for (name, auto_resolve) in [("spam", true), ("billing", false), ("complaint", false)] {
        let category = crate::domain::category::Category {
            name: name.to_owned(),
            auto_resolve,
            // The AI agent files a case as spam on its own only when it is
            // this sure; other categories it suggests until an admin says.
            ai_threshold: auto_resolve.then_some(0.95),
            created_at: chrono::Utc::now(),
        };
        let value =
            serde_json::to_vec(&category).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        table.insert(name, value.as_slice())?;
    }
    Ok(())
}
