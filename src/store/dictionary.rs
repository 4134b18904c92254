//! Training the store's event dictionary and compressing with it the
//! events written before it existed (by an older release, or while the
//! store was young). Both run a step at a time, so a server keeps serving:
//! training samples in a read transaction and learns off the writer; each
//! compression step rewrites a few cases in one short transaction.

use redb::{ReadableTable, ReadableTableMetadata};

use super::codec;
use super::records::{EventCodec, encode_event};
use super::tables::*;
use super::{Store, StoreError, StoreResult};

/// Events a store holds before its first dictionary is trained: enough
/// samples for zstd to find what they share.
const FIRST_TRAINING_AT: u64 = 1_000;
/// A store this many times larger than at the last training learns again,
/// so the dictionary follows what the store holds as it grows (a store of
/// a million cases has trained about five).
const TRAIN_AGAIN_GROWTH: u64 = 10;
/// Cases sampled for a training, spread evenly over the case numbers.
const SAMPLED_CASES: u64 = 2_000;
/// Events taken from each sampled case.
const EVENTS_PER_SAMPLED_CASE: usize = 4;
/// Sample bytes read for a training at most (training time grows with it).
const SAMPLE_BYTES: usize = 16 << 20;

/// What a compression step found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recompressed {
    /// Events compressed again in this step.
    pub events: u64,
    /// Whether cases remain to be looked at.
    pub more: bool,
}

impl Store {
    /// Trains a new event dictionary when the store has grown enough since
    /// the last one (or has none yet). Returns whether it did.
    pub async fn train_event_dictionary_if_due(&self) -> StoreResult<bool> {
        let store = self.clone();
        let sampled = tokio::task::spawn_blocking(move || store.sample_if_due())
            .await
            .map_err(|e| StoreError::Panicked(e.to_string()))??;
        let Some((samples, events)) = sampled else {
            return Ok(false);
        };
        let trained = tokio::task::spawn_blocking(move || codec::train(&samples))
            .await
            .map_err(|e| StoreError::Panicked(e.to_string()))?;
        let Some(bytes) = trained else {
            // Samples too few or too alike: wait for the store to grow as
            // much again rather than sample every minute.
            self.write(move |txn| note_sampled(txn, events)).await?;
            return Ok(false);
        };
        let id = codec::Dictionary::new(&bytes)?.id;
        self.write(move |txn| {
            // Ids are 31-bit hashes: another dictionary under the same id
            // must stay, or the values compressed with it could not be read.
            let taken = txn
                .open_table(EVENT_DICTIONARIES)?
                .get(id)?
                .is_some_and(|stored| stored.value() != bytes.as_slice());
            if taken {
                return note_sampled(txn, events);
            }
            let first = txn.current_dictionary()?.is_none();
            txn.open_table(EVENT_DICTIONARIES)?
                .insert(id, bytes.as_slice())?;
            let mut meta = txn.open_table(META)?;
            if first {
                // Everything stored so far is compressed again with it.
                let last_case = meta.get(KEY_NEXT_CASE)?.map(|v| v.value()).unwrap_or(0);
                meta.insert(KEY_RECOMPRESS_NEXT, 1)?;
                meta.insert(KEY_RECOMPRESS_UNTIL, last_case)?;
            }
            meta.insert(KEY_EVENT_DICTIONARY, u64::from(id))?;
            meta.insert(KEY_EVENT_DICTIONARY_SAMPLED_AT, events)?;
            Ok::<_, StoreError>(())
        })
        .await?;
        Ok(true)
    }

    /// Samples events for a training when one is due: their JSON, and how
    /// many events the store holds.
    fn sample_if_due(&self) -> StoreResult<Option<(Vec<Vec<u8>>, u64)>> {
        let txn = self.read()?;
        let activity = txn.open_table(ACTIVITY)?;
        let events = activity.len()?;
        let meta = txn.open_table(META)?;
        let sampled_at = meta
            .get(KEY_EVENT_DICTIONARY_SAMPLED_AT)?
            .map(|v| v.value());
        let due = match sampled_at {
            None => events >= FIRST_TRAINING_AT,
            Some(at) => events >= at.saturating_mul(TRAIN_AGAIN_GROWTH),
        };
        if !due {
            return Ok(None);
        }
        let last_case = meta.get(KEY_NEXT_CASE)?.map(|v| v.value()).unwrap_or(0);
        let step = (last_case / SAMPLED_CASES).max(1);
        let mut samples = Vec::new();
        let mut bytes = 0;
        for number in (1..=last_case).step_by(step as usize) {
            for entry in activity
                .range((number, 0)..=(number, u64::MAX))?
                .take(EVENTS_PER_SAMPLED_CASE)
            {
                let (_, value) = entry?;
                let json = codec::decompress(value.value(), |id| txn.stored_dictionary(id))?;
                bytes += json.len();
                samples.push(json.into_owned());
            }
            if bytes >= SAMPLE_BYTES {
                break;
            }
        }
        Ok(Some((samples, events)))
    }

    /// Compresses with the current dictionary the events of up to `cases`
    /// cases that were stored without one.
    pub async fn recompress_events(&self, cases: u64) -> StoreResult<Recompressed> {
        self.write(move |txn| {
            let (next, until) = {
                let meta = txn.open_table(META)?;
                let get = |key| meta.get(key).map(|v| v.map(|v| v.value()).unwrap_or(0));
                (get(KEY_RECOMPRESS_NEXT)?, get(KEY_RECOMPRESS_UNTIL)?)
            };
            let Some(dictionary) = txn.current_dictionary()? else {
                return Ok(Recompressed::default());
            };
            if next == 0 || next > until {
                return Ok(Recompressed::default());
            }
            let end = next.saturating_add(cases).min(until.saturating_add(1));
            let mut stored = Vec::new();
            let mut compressed = 0;
            {
                let activity = txn.open_table(ACTIVITY)?;
                for entry in activity.range((next, 0)..(end, 0))? {
                    let (key, value) = entry?;
                    let value = value.value();
                    if matches!(codec::dictionary_of(value), None | Some(0)) {
                        let event = txn.decode_event(value)?;
                        stored.push((key.value(), encode_event(&event, Some(&dictionary))));
                        compressed += 1;
                    } else {
                        stored.push((key.value(), value.to_vec()));
                    }
                }
            }
            if compressed > 0 {
                // The cases' events are written anew rather than replaced
                // one by one: values replaced in place by smaller ones
                // leave their pages mostly empty, new ones fill them.
                let mut activity = txn.open_table(ACTIVITY)?;
                activity.retain_in((next, 0)..(end, 0), |_, _| false)?;
                for (key, value) in &stored {
                    activity.insert(key, value.as_slice())?;
                }
            }
            txn.open_table(META)?.insert(KEY_RECOMPRESS_NEXT, end)?;
            Ok::<_, StoreError>(Recompressed {
                events: compressed,
                more: end <= until,
            })
        })
        .await
    }

    /// Trains when due, then compresses every event stored without a
    /// dictionary; returns how many were compressed.
    pub async fn compress_stored_events(&self) -> StoreResult<u64> {
        self.train_event_dictionary_if_due().await?;
        let mut total = 0;
        loop {
            let step = self.recompress_events(RECOMPRESS_CASES_PER_STEP).await?;
            total += step.events;
            if !step.more {
                return Ok(total);
            }
        }
    }
}

/// Records a training that stored no dictionary, so the next waits for
/// the store to grow as much again.
fn note_sampled(txn: &super::WriteTxn, events: u64) -> StoreResult<()> {
    txn.open_table(META)?
        .insert(KEY_EVENT_DICTIONARY_SAMPLED_AT, events)?;
    Ok(())
}

/// Cases looked at per compression step: a transaction of a few tens of
/// milliseconds, so live writes queued behind it barely wait.
pub const RECOMPRESS_CASES_PER_STEP: u64 = 200;
