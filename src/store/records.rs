//! Typed reads and writes of the stored records. Values are JSON so that
//! fields can be added with `#[serde(default)]` without a migration.

use std::sync::Arc;

use redb::ReadableTable;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::codec;
use super::outbox::{Consumer, OutboxEvent};
use super::tables::*;
use super::{ReadTxn, StoreError, StoreResult, WriteTxn};
use crate::domain::Timestamp;
use crate::domain::activity::{ActivityEvent, EventKind, EventName};
use crate::domain::case::{Case, CaseNumber};
use crate::domain::category::Category;
use crate::domain::channel::{Channel, ChannelId};
use crate::domain::time::{TimeEntry, Timer};
use crate::domain::user::User;

/// What a bearer token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// `Authorization: Bearer` for the REST API.
    Api,
    /// A browser session cookie.
    Session,
    /// A browser between its password and its second factor: good for
    /// nothing but the second step, for a few minutes.
    SecondStep,
}

/// A token as stored: only its hash is the key, never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub username: String,
    pub kind: TokenKind,
    pub label: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    /// Sessions only: the token forms must echo back.
    pub csrf: Option<String>,
}

pub(super) fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Decodes every value of a table scan.
fn decode_all<'a, K, T>(
    what: &str,
    entries: redb::Range<'a, K, &'static [u8]>,
) -> StoreResult<Vec<T>>
where
    K: redb::Key + 'static,
    T: DeserializeOwned,
{
    let mut values = Vec::new();
    for entry in entries {
        let (_, value) = entry?;
        values.push(decode(what, value.value())?);
    }
    Ok(values)
}

/// The channels as last decoded, beside the stored bytes they came from.
/// Every list reads all channels (to narrow a search to the user's and to
/// check each hit), and decoding them took a twentieth of a search's CPU;
/// they rarely change. The key is the exact bytes, so a transaction is
/// never answered with channels other than the ones it reads.
#[derive(Default)]
pub(super) struct ChannelCache(std::sync::Mutex<Option<DecodedChannels>>);

/// Stored bytes (id, length and value of each channel) and what they say.
type DecodedChannels = (Vec<u8>, Arc<[Channel]>);

fn decode_channels_shared(
    entries: redb::Range<'_, u64, &'static [u8]>,
    cache: Option<&ChannelCache>,
) -> StoreResult<Arc<[Channel]>> {
    let mut stored = Vec::new();
    let mut ends = Vec::new();
    for entry in entries {
        let (id, value) = entry?;
        // Id and length first, so that no two tables give the same bytes.
        stored.extend_from_slice(&id.value().to_le_bytes());
        stored.extend_from_slice(&(value.value().len() as u64).to_le_bytes());
        stored.extend_from_slice(value.value());
        ends.push(stored.len());
    }
    let cached = |cache: &ChannelCache| {
        let slot = cache
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        slot.as_ref()
            .and_then(|(bytes, channels)| (*bytes == stored).then(|| channels.clone()))
    };
    if let Some(channels) = cache.and_then(cached) {
        return Ok(channels);
    }
    let mut start = 0;
    let mut channels = Vec::with_capacity(ends.len());
    for end in ends {
        channels.push(decode("channel", &stored[start + 16..end])?);
        start = end;
    }
    let channels: Arc<[Channel]> = channels.into();
    if let Some(cache) = cache {
        let mut slot = cache
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *slot = Some((stored, channels.clone()));
    }
    Ok(channels)
}

pub(super) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("records serialise to JSON")
}

/// Activity events as `store/codec.rs` keeps them, for both kinds of
/// transaction.
pub(super) trait EventCodec {
    /// The bytes of a dictionary, from `event_dictionaries_v1`.
    fn stored_dictionary(&self, id: u32) -> StoreResult<Option<Vec<u8>>>;
    /// The dictionary new events are compressed with, if trained yet.
    fn current_dictionary(&self) -> StoreResult<Option<Arc<codec::Dictionary>>>;

    fn decode_event(&self, value: &[u8]) -> StoreResult<ActivityEvent> {
        let json = codec::decompress(value, |id| self.stored_dictionary(id))?;
        decode("activity event", &json)
    }
}

macro_rules! impl_event_codec {
    ($txn:ty) => {
        impl EventCodec for $txn {
            fn stored_dictionary(&self, id: u32) -> StoreResult<Option<Vec<u8>>> {
                let table = self.open_table(EVENT_DICTIONARIES)?;
                let found = table.get(id)?;
                Ok(found.map(|v| v.value().to_vec()))
            }

            fn current_dictionary(&self) -> StoreResult<Option<Arc<codec::Dictionary>>> {
                let id = self
                    .open_table(META)?
                    .get(KEY_EVENT_DICTIONARY)?
                    .map(|v| v.value());
                id.map(|id| {
                    let id = u32::try_from(id)
                        .map_err(|_| StoreError::Corrupt(format!("event dictionary id {id}")))?;
                    codec::dictionary(id, || self.stored_dictionary(id))
                })
                .transpose()
            }
        }
    };
}

impl_event_codec!(super::ReadTxn);
impl_event_codec!(WriteTxn);

/// An event as it is stored: compressed with the store's dictionary.
pub(super) fn encode_event(
    event: &ActivityEvent,
    dictionary: Option<&codec::Dictionary>,
) -> Vec<u8> {
    codec::compress(&encode(event), dictionary)
}

/// Reads shared by read and write transactions.
pub trait Reads {
    fn case(&self, number: CaseNumber) -> StoreResult<Option<Case>>;
    fn user(&self, username: &str) -> StoreResult<Option<User>>;
    fn users(&self) -> StoreResult<Vec<User>>;
    fn channel(&self, id: ChannelId) -> StoreResult<Option<Channel>>;
    fn channels(&self) -> StoreResult<Vec<Channel>>;
    /// Every channel, shared: decoded once for as long as no channel
    /// changes (see `decode_channels_shared`).
    fn shared_channels(&self) -> StoreResult<Arc<[Channel]>>;
    fn activity(&self, number: CaseNumber) -> StoreResult<Vec<ActivityEvent>>;
    fn time_entries(&self, number: CaseNumber) -> StoreResult<Vec<TimeEntry>>;
    /// Visits the cases with a milestone still to be met, due by `until`
    /// (seconds), soonest first, until `visit` returns false.
    fn visit_open_milestones(
        &self,
        until: u64,
        visit: &mut dyn FnMut(u64, CaseNumber) -> bool,
    ) -> StoreResult<()>;
    fn time_entry(&self, number: CaseNumber, id: u64) -> StoreResult<Option<TimeEntry>>;
    fn timer(&self, username: &str) -> StoreResult<Option<Timer>>;
    /// One event of a case's stream.
    fn activity_event(&self, number: CaseNumber, seq: u64) -> StoreResult<Option<ActivityEvent>>;
    fn categories(&self) -> StoreResult<Vec<Category>>;
    fn category(&self, name: &str) -> StoreResult<Option<Category>>;
    /// Cases with a milestone due at or before `at` (seconds), as
    /// (due, case number), earliest first.
    fn milestones_due(&self, at: u64, limit: usize) -> StoreResult<Vec<(u64, CaseNumber)>>;
    /// Visits a case's events oldest first until `visit` returns false,
    /// decoding only those visited.
    fn visit_activity(
        &self,
        number: CaseNumber,
        visit: &mut dyn FnMut(ActivityEvent) -> bool,
    ) -> StoreResult<()>;
    fn token(&self, hash: &[u8]) -> StoreResult<Option<TokenRecord>>;
    /// Every token and session of `username`, with its hash.
    fn tokens_of(&self, username: &str) -> StoreResult<Vec<(Vec<u8>, TokenRecord)>>;
    /// Whether staff must sign in with a second factor.
    fn second_factor_required(&self) -> StoreResult<bool>;
    fn outbox_cursor(&self, consumer: Consumer) -> StoreResult<u64>;
    /// The sequence of the newest outbox entry ever written.
    fn outbox_head(&self) -> StoreResult<u64>;
    /// When `username` last opened each case they opened (seconds).
    fn read_markers(
        &self,
        username: &str,
    ) -> StoreResult<std::collections::HashMap<CaseNumber, u64>>;
    fn outbox_after(&self, after: u64, limit: usize) -> StoreResult<Vec<(u64, OutboxEvent)>>;
    /// Visits cases from the highest number below `below` downwards until
    /// `visit` returns false.
    fn scan_cases_desc(
        &self,
        below: Option<CaseNumber>,
        visit: &mut dyn FnMut(Case) -> bool,
    ) -> StoreResult<()>;
}

macro_rules! impl_reads {
    ($txn:ty) => {
        impl Reads for $txn {
            fn case(&self, number: CaseNumber) -> StoreResult<Option<Case>> {
                let table = self.open_table(CASES)?;
                let found = table.get(number)?;
                found.map(|v| decode("case", v.value())).transpose()
            }

            fn user(&self, username: &str) -> StoreResult<Option<User>> {
                let table = self.open_table(USERS)?;
                let found = table.get(username)?;
                found.map(|v| decode("user", v.value())).transpose()
            }

            fn users(&self) -> StoreResult<Vec<User>> {
                decode_all("user", self.open_table(USERS)?.iter()?)
            }

            fn channel(&self, id: ChannelId) -> StoreResult<Option<Channel>> {
                let table = self.open_table(CHANNELS)?;
                let found = table.get(id)?;
                found.map(|v| decode("channel", v.value())).transpose()
            }

            fn channels(&self) -> StoreResult<Vec<Channel>> {
                decode_all("channel", self.open_table(CHANNELS)?.iter()?)
            }

            fn shared_channels(&self) -> StoreResult<Arc<[Channel]>> {
                decode_channels_shared(self.open_table(CHANNELS)?.iter()?, self.channel_cache())
            }

            fn activity(&self, number: CaseNumber) -> StoreResult<Vec<ActivityEvent>> {
                let table = self.open_table(ACTIVITY)?;
                let mut events = Vec::new();
                for entry in table.range((number, 0)..=(number, u64::MAX))? {
                    let (_, value) = entry?;
                    events.push(self.decode_event(value.value())?);
                }
                Ok(events)
            }

            fn visit_open_milestones(
                &self,
                until: u64,
                visit: &mut dyn FnMut(u64, CaseNumber) -> bool,
            ) -> StoreResult<()> {
                let table = self.open_table(OPEN_MILESTONES)?;
                for entry in table.range((0, 0)..=(until, u64::MAX))? {
                    let (key, _) = entry?;
                    let (due, number) = key.value();
                    if !visit(due, number) {
                        break;
                    }
                }
                Ok(())
            }

            fn time_entries(&self, number: CaseNumber) -> StoreResult<Vec<TimeEntry>> {
                decode_all(
                    "time entry",
                    self.open_table(TIME_ENTRIES)?
                        .range((number, 0)..=(number, u64::MAX))?,
                )
            }

            fn time_entry(&self, number: CaseNumber, id: u64) -> StoreResult<Option<TimeEntry>> {
                let table = self.open_table(TIME_ENTRIES)?;
                let found = table.get((number, id))?;
                found.map(|v| decode("time entry", v.value())).transpose()
            }

            fn timer(&self, username: &str) -> StoreResult<Option<Timer>> {
                let table = self.open_table(TIMERS)?;
                let found = table.get(username)?;
                found.map(|v| decode("timer", v.value())).transpose()
            }

            fn activity_event(
                &self,
                number: CaseNumber,
                seq: u64,
            ) -> StoreResult<Option<ActivityEvent>> {
                let table = self.open_table(ACTIVITY)?;
                let found = table.get((number, seq))?;
                found.map(|v| self.decode_event(v.value())).transpose()
            }

            fn categories(&self) -> StoreResult<Vec<Category>> {
                decode_all("category", self.open_table(CATEGORIES)?.range::<&str>(..)?)
            }

            fn category(&self, name: &str) -> StoreResult<Option<Category>> {
                let table = self.open_table(CATEGORIES)?;
                let found = table.get(name)?;
                found.map(|v| decode("category", v.value())).transpose()
            }

            fn milestones_due(&self, at: u64, limit: usize) -> StoreResult<Vec<(u64, CaseNumber)>> {
                let table = self.open_table(MILESTONES_DUE)?;
                let mut found = Vec::new();
                for entry in table.range((0, 0)..=(at, u64::MAX))?.take(limit) {
                    let (key, _) = entry?;
                    found.push(key.value());
                }
                Ok(found)
            }

            fn visit_activity(
                &self,
                number: CaseNumber,
                visit: &mut dyn FnMut(ActivityEvent) -> bool,
            ) -> StoreResult<()> {
                let table = self.open_table(ACTIVITY)?;
                for entry in table.range((number, 0)..=(number, u64::MAX))? {
                    let (_, value) = entry?;
                    if !visit(self.decode_event(value.value())?) {
                        break;
                    }
                }
                Ok(())
            }

            fn token(&self, hash: &[u8]) -> StoreResult<Option<TokenRecord>> {
                let table = self.open_table(TOKENS)?;
                let found = table.get(hash)?;
                found.map(|v| decode("token", v.value())).transpose()
            }

            fn tokens_of(&self, username: &str) -> StoreResult<Vec<(Vec<u8>, TokenRecord)>> {
                let table = self.open_table(TOKENS)?;
                let mut found = Vec::new();
                for entry in table.iter()? {
                    let (hash, value) = entry?;
                    let record: TokenRecord = decode("token", value.value())?;
                    if record.username == username {
                        found.push((hash.value().to_vec(), record));
                    }
                }
                Ok(found)
            }

            fn second_factor_required(&self) -> StoreResult<bool> {
                let table = self.open_table(META)?;
                let found = table.get(KEY_REQUIRE_SECOND_FACTOR)?;
                Ok(found.is_some_and(|v| v.value() == 1))
            }

            fn outbox_cursor(&self, consumer: Consumer) -> StoreResult<u64> {
                let table = self.open_table(OUTBOX_CURSORS)?;
                let found = table.get(consumer.name())?;
                Ok(found.map(|v| v.value()).unwrap_or(0))
            }

            fn read_markers(
                &self,
                username: &str,
            ) -> StoreResult<std::collections::HashMap<CaseNumber, u64>> {
                let table = self.open_table(READ_MARKERS)?;
                let mut markers = std::collections::HashMap::new();
                for entry in table.range((username, 0)..=(username, u64::MAX))? {
                    let (key, value) = entry?;
                    markers.insert(key.value().1, value.value());
                }
                Ok(markers)
            }

            fn outbox_head(&self) -> StoreResult<u64> {
                let table = self.open_table(META)?;
                let found = table.get(KEY_NEXT_OUTBOX)?;
                Ok(found.map(|v| v.value()).unwrap_or(0))
            }

            fn outbox_after(
                &self,
                after: u64,
                limit: usize,
            ) -> StoreResult<Vec<(u64, OutboxEvent)>> {
                let table = self.open_table(OUTBOX)?;
                let mut entries = Vec::new();
                for entry in table.range(after.saturating_add(1)..)?.take(limit) {
                    let (seq, value) = entry?;
                    entries.push((seq.value(), decode("outbox entry", value.value())?));
                }
                Ok(entries)
            }

            fn scan_cases_desc(
                &self,
                below: Option<CaseNumber>,
                visit: &mut dyn FnMut(Case) -> bool,
            ) -> StoreResult<()> {
                let table = self.open_table(CASES)?;
                let upper = below.unwrap_or(u64::MAX);
                for entry in table.range(..upper)?.rev() {
                    let (_, value) = entry?;
                    if !visit(decode("case", value.value())?) {
                        break;
                    }
                }
                Ok(())
            }
        }
    };
}

impl_reads!(ReadTxn);
impl_reads!(WriteTxn);

/// Writes, always inside the caller's transaction.
pub trait Writes: Reads {
    /// The next case number: sequential, and never reused because the
    /// counter only moves forward in a committed transaction.
    fn allocate_case_number(&self) -> StoreResult<CaseNumber>;
    fn allocate_channel_id(&self) -> StoreResult<ChannelId>;
    fn put_case(&self, case: &Case) -> StoreResult<()>;
    fn put_user(&self, user: &User) -> StoreResult<()>;
    fn put_channel(&self, channel: &Channel) -> StoreResult<()>;
    /// Stores an imported case with its history, without outbox entries
    /// (an import indexes in bulk), and keeps the case counter past it.
    fn import_case(&self, case: &Case, events: &[ActivityEvent]) -> StoreResult<()>;
    /// Appends an event to the case's stream and announces it on the outbox.
    fn append_event(
        &self,
        case: &Case,
        actor: &str,
        at: Timestamp,
        kind: EventKind,
    ) -> StoreResult<ActivityEvent>;
    /// As [`Writes::append_event`], announced as `copied` (a merge): the
    /// index and live views update, nobody is notified of old news.
    fn append_copied_event(
        &self,
        case: &Case,
        actor: &str,
        at: Timestamp,
        kind: EventKind,
    ) -> StoreResult<ActivityEvent>;
    fn enqueue(&self, event: &OutboxEvent) -> StoreResult<u64>;
    fn put_token(&self, hash: &[u8], record: &TokenRecord) -> StoreResult<()>;
    fn delete_token(&self, hash: &[u8]) -> StoreResult<bool>;
    fn set_second_factor_required(&self, required: bool) -> StoreResult<()>;
    /// Records that `username` opened the case at `at` (seconds).
    fn mark_read(&self, username: &str, number: CaseNumber, at: u64) -> StoreResult<()>;
    /// Deletes every token and session of `username` but `keep` (a hash).
    fn delete_tokens_of(&self, username: &str, keep: Option<&[u8]>) -> StoreResult<usize>;
    /// Deletes tokens whose expiry is at or before `at`; returns how many.
    fn delete_tokens_expired_by(&self, at: Timestamp) -> StoreResult<usize>;
    /// Stores a new time entry under a fresh id (set on the entry).
    fn add_time_entry(&self, entry: &mut TimeEntry) -> StoreResult<()>;
    fn put_time_entry(&self, entry: &TimeEntry) -> StoreResult<()>;
    fn delete_time_entry(&self, number: CaseNumber, id: u64) -> StoreResult<()>;
    fn put_timer(&self, username: &str, timer: &Timer) -> StoreResult<()>;
    fn delete_timer(&self, username: &str) -> StoreResult<()>;
    /// Removes one event from a case's stream (undoing a merge).
    fn delete_event(&self, number: CaseNumber, seq: u64) -> StoreResult<()>;
    /// Erases a case with its activity and time entries.
    fn purge_case(&self, number: CaseNumber) -> StoreResult<()>;
    fn put_category(&self, category: &Category) -> StoreResult<()>;
    fn delete_category(&self, name: &str) -> StoreResult<bool>;
    /// Rewrites one event in place (a delivery state, a call's progress)
    /// and announces it as `what`, so live views and the index follow.
    fn rewrite_event(
        &self,
        number: CaseNumber,
        event: &ActivityEvent,
        what: EventName,
        actor: &str,
    ) -> StoreResult<()>;
    fn add_milestone_due(&self, due: u64, number: CaseNumber) -> StoreResult<()>;
    fn remove_milestone_due(&self, due: u64, number: CaseNumber) -> StoreResult<()>;
    /// Records that `consumer` finished everything up to `seq` and deletes
    /// entries every consumer has finished.
    fn ack_outbox(&self, consumer: Consumer, seq: u64) -> StoreResult<()>;
}

/// Appends an event and its outbox entry, announced under `announced_as`.
fn append(
    txn: &WriteTxn,
    case: &Case,
    actor: &str,
    at: Timestamp,
    kind: EventKind,
    announced_as: EventName,
) -> StoreResult<ActivityEvent> {
    let seq = {
        let table = txn.open_table(ACTIVITY)?;
        let last = table
            .range((case.number, 0)..=(case.number, u64::MAX))?
            .next_back();
        match last {
            Some(entry) => entry?.0.value().1 + 1,
            None => 1,
        }
    };
    let event = ActivityEvent {
        seq,
        at,
        actor: actor.to_owned(),
        kind,
    };
    let stored = encode_event(&event, txn.current_dictionary()?.as_deref());
    txn.open_table(ACTIVITY)?
        .insert((case.number, seq), stored.as_slice())?;
    txn.enqueue(&OutboxEvent::CaseChanged {
        number: case.number,
        channel: case.channel,
        event_seq: seq,
        event: announced_as,
        actor: actor.to_owned(),
    })?;
    Ok(event)
}

/// Increments the counter `key` and returns its new value (the first is 1).
pub(super) fn next_in_sequence(txn: &WriteTxn, key: &str) -> StoreResult<u64> {
    let mut table = txn.open_table(META)?;
    let next = table.get(key)?.map(|v| v.value()).unwrap_or(0) + 1;
    table.insert(key, next)?;
    Ok(next)
}

impl Writes for WriteTxn {
    fn allocate_case_number(&self) -> StoreResult<CaseNumber> {
        next_in_sequence(self, KEY_NEXT_CASE)
    }

    fn allocate_channel_id(&self) -> StoreResult<ChannelId> {
        next_in_sequence(self, KEY_NEXT_CHANNEL)
    }

    fn put_case(&self, case: &Case) -> StoreResult<()> {
        let previous = self
            .open_table(CASES)?
            .insert(case.number, encode(case).as_slice())?
            .map(|old| decode::<Case>("case", old.value()))
            .transpose()?;
        let before = previous
            .as_ref()
            .map(crate::domain::milestone::pending_keys)
            .unwrap_or_default();
        let after = crate::domain::milestone::pending_keys(case);
        if before != after {
            let mut open = self.open_table(OPEN_MILESTONES)?;
            for key in before.iter().filter(|k| !after.contains(k)) {
                open.remove(*key)?;
            }
            for key in after.iter().filter(|k| !before.contains(k)) {
                open.insert(*key, ())?;
            }
        }
        Ok(())
    }

    fn put_user(&self, user: &User) -> StoreResult<()> {
        self.open_table(USERS)?
            .insert(user.username.as_str(), encode(user).as_slice())?;
        Ok(())
    }

    fn put_channel(&self, channel: &Channel) -> StoreResult<()> {
        self.open_table(CHANNELS)?
            .insert(channel.id, encode(channel).as_slice())?;
        Ok(())
    }

    fn import_case(&self, case: &Case, events: &[ActivityEvent]) -> StoreResult<()> {
        self.put_case(case)?;
        let dictionary = self.current_dictionary()?;
        {
            let mut activity = self.open_table(ACTIVITY)?;
            for event in events {
                let stored = encode_event(event, dictionary.as_deref());
                activity.insert((case.number, event.seq), stored.as_slice())?;
            }
        }
        let mut meta = self.open_table(META)?;
        let counter = meta.get(KEY_NEXT_CASE)?.map(|v| v.value()).unwrap_or(0);
        if case.number > counter {
            meta.insert(KEY_NEXT_CASE, case.number)?;
        }
        Ok(())
    }

    fn append_event(
        &self,
        case: &Case,
        actor: &str,
        at: Timestamp,
        kind: EventKind,
    ) -> StoreResult<ActivityEvent> {
        let name = kind.event_name();
        append(self, case, actor, at, kind, name)
    }

    fn append_copied_event(
        &self,
        case: &Case,
        actor: &str,
        at: Timestamp,
        kind: EventKind,
    ) -> StoreResult<ActivityEvent> {
        append(self, case, actor, at, kind, EventName::Copied)
    }

    fn enqueue(&self, event: &OutboxEvent) -> StoreResult<u64> {
        let seq = next_in_sequence(self, KEY_NEXT_OUTBOX)?;
        self.open_table(OUTBOX)?
            .insert(seq, encode(event).as_slice())?;
        Ok(seq)
    }

    fn put_token(&self, hash: &[u8], record: &TokenRecord) -> StoreResult<()> {
        self.open_table(TOKENS)?
            .insert(hash, encode(record).as_slice())?;
        Ok(())
    }

    fn delete_token(&self, hash: &[u8]) -> StoreResult<bool> {
        Ok(self.open_table(TOKENS)?.remove(hash)?.is_some())
    }

    fn set_second_factor_required(&self, required: bool) -> StoreResult<()> {
        self.open_table(META)?
            .insert(KEY_REQUIRE_SECOND_FACTOR, u64::from(required))?;
        Ok(())
    }

    fn mark_read(&self, username: &str, number: CaseNumber, at: u64) -> StoreResult<()> {
        self.open_table(READ_MARKERS)?
            .insert((username, number), at)?;
        Ok(())
    }

    fn delete_tokens_of(&self, username: &str, keep: Option<&[u8]>) -> StoreResult<usize> {
        let mut table = self.open_table(TOKENS)?;
        let mut removed = 0;
        table.retain(|hash, value| {
            let owned = serde_json::from_slice::<TokenRecord>(value)
                .is_ok_and(|record| record.username == username);
            let delete = owned && Some(hash) != keep;
            removed += usize::from(delete);
            !delete
        })?;
        Ok(removed)
    }

    fn delete_tokens_expired_by(&self, at: Timestamp) -> StoreResult<usize> {
        let mut table = self.open_table(TOKENS)?;
        let mut removed = 0;
        table.retain(|_, value| {
            let expired = serde_json::from_slice::<TokenRecord>(value)
                .ok()
                .and_then(|record| record.expires_at)
                .is_some_and(|expires| expires <= at);
            removed += usize::from(expired);
            !expired
        })?;
        Ok(removed)
    }

    fn add_time_entry(&self, entry: &mut TimeEntry) -> StoreResult<()> {
        entry.id = next_in_sequence(self, KEY_NEXT_TIME_ENTRY)?;
        self.put_time_entry(entry)
    }

    fn put_time_entry(&self, entry: &TimeEntry) -> StoreResult<()> {
        self.open_table(TIME_ENTRIES)?
            .insert((entry.case, entry.id), encode(entry).as_slice())?;
        Ok(())
    }

    fn delete_time_entry(&self, number: CaseNumber, id: u64) -> StoreResult<()> {
        self.open_table(TIME_ENTRIES)?.remove((number, id))?;
        Ok(())
    }

    fn put_timer(&self, username: &str, timer: &Timer) -> StoreResult<()> {
        self.open_table(TIMERS)?
            .insert(username, encode(timer).as_slice())?;
        Ok(())
    }

    fn delete_timer(&self, username: &str) -> StoreResult<()> {
        self.open_table(TIMERS)?.remove(username)?;
        Ok(())
    }

    fn delete_event(&self, number: CaseNumber, seq: u64) -> StoreResult<()> {
        self.open_table(ACTIVITY)?.remove((number, seq))?;
        Ok(())
    }

    fn purge_case(&self, number: CaseNumber) -> StoreResult<()> {
        let removed = self
            .open_table(CASES)?
            .remove(number)?
            .map(|old| decode::<Case>("case", old.value()))
            .transpose()?;
        if let Some(case) = removed {
            let mut open = self.open_table(OPEN_MILESTONES)?;
            for key in crate::domain::milestone::pending_keys(&case) {
                open.remove(key)?;
            }
        }
        self.open_table(ACTIVITY)?
            .retain_in((number, 0)..=(number, u64::MAX), |_, _| false)?;
        self.open_table(TIME_ENTRIES)?
            .retain_in((number, 0)..=(number, u64::MAX), |_, _| false)?;
        super::files::FileWrites::delete_case_files(self, number)
    }

    fn put_category(&self, category: &Category) -> StoreResult<()> {
        self.open_table(CATEGORIES)?
            .insert(category.name.as_str(), encode(category).as_slice())?;
        Ok(())
    }

    fn delete_category(&self, name: &str) -> StoreResult<bool> {
        Ok(self.open_table(CATEGORIES)?.remove(name)?.is_some())
    }

    fn rewrite_event(
        &self,
        number: CaseNumber,
        event: &ActivityEvent,
        what: EventName,
        actor: &str,
    ) -> StoreResult<()> {
        let stored = encode_event(event, self.current_dictionary()?.as_deref());
        self.open_table(ACTIVITY)?
            .insert((number, event.seq), stored.as_slice())?;
        if let Some(case) = self.case(number)? {
            self.enqueue(&OutboxEvent::CaseChanged {
                number,
                channel: case.channel,
                event_seq: event.seq,
                event: what,
                actor: actor.to_owned(),
            })?;
        }
        Ok(())
    }

    fn add_milestone_due(&self, due: u64, number: CaseNumber) -> StoreResult<()> {
        self.open_table(MILESTONES_DUE)?.insert((due, number), ())?;
        Ok(())
    }

    fn remove_milestone_due(&self, due: u64, number: CaseNumber) -> StoreResult<()> {
        self.open_table(MILESTONES_DUE)?.remove((due, number))?;
        Ok(())
    }

    fn ack_outbox(&self, consumer: Consumer, seq: u64) -> StoreResult<()> {
        let finished_by_all = {
            let mut cursors = self.open_table(OUTBOX_CURSORS)?;
            let current = cursors
                .get(consumer.name())?
                .map(|v| v.value())
                .unwrap_or(0);
            if seq > current {
                cursors.insert(consumer.name(), seq)?;
            }
            let mut lowest = u64::MAX;
            for each in Consumer::ALL {
                lowest = lowest.min(cursors.get(each.name())?.map(|v| v.value()).unwrap_or(0));
            }
            lowest
        };
        let mut outbox = self.open_table(OUTBOX)?;
        outbox.retain_in(..=finished_by_all, |_, _| false)?;
        Ok(())
    }
}
