//! What the AI agent learned, kept as the bytes its room encodes, and the
//! count of people's decisions that tells the agent when to learn again.

use redb::ReadableTable;

use super::tables::*;
use super::{ReadTxn, StoreResult, WriteTxn};

const CURRENT: &str = "current";

pub trait AiReads {
    /// The agent's current models, as stored.
    fn ai_models(&self) -> StoreResult<Option<Vec<u8>>>;
    /// People's category and priority decisions so far, and at the last
    /// training.
    fn ai_label_counts(&self) -> StoreResult<(u64, u64)>;
}

macro_rules! impl_ai_reads {
    ($txn:ty) => {
        impl AiReads for $txn {
            fn ai_models(&self) -> StoreResult<Option<Vec<u8>>> {
                let table = self.open_table(AI_MODELS)?;
                let found = table.get(CURRENT)?;
                Ok(found.map(|v| v.value().to_vec()))
            }

            fn ai_label_counts(&self) -> StoreResult<(u64, u64)> {
                let meta = self.open_table(META)?;
                let read =
                    |key| -> StoreResult<u64> { Ok(meta.get(key)?.map_or(0, |v| v.value())) };
                Ok((read(KEY_AI_LABELS)?, read(KEY_AI_LABELS_TRAINED)?))
            }
        }
    };
}

impl_ai_reads!(ReadTxn);
impl_ai_reads!(WriteTxn);

pub trait AiWrites {
    /// Replaces the agent's models, noting how many decisions they saw.
    fn put_ai_models(&self, bytes: &[u8], labels_seen: u64) -> StoreResult<()>;
    /// Counts one more decision by a person.
    fn count_ai_label(&self) -> StoreResult<()>;
    /// Notes that a training saw `labels` decisions, whatever came of it.
    fn note_ai_labels_seen(&self, labels: u64) -> StoreResult<()>;
}

impl AiWrites for WriteTxn {
    fn put_ai_models(&self, bytes: &[u8], labels_seen: u64) -> StoreResult<()> {
        self.open_table(AI_MODELS)?.insert(CURRENT, bytes)?;
        self.open_table(META)?
            .insert(KEY_AI_LABELS_TRAINED, labels_seen)?;
        Ok(())
    }

    fn note_ai_labels_seen(&self, labels: u64) -> StoreResult<()> {
        self.open_table(META)?
            .insert(KEY_AI_LABELS_TRAINED, labels)?;
        Ok(())
    }

    fn count_ai_label(&self) -> StoreResult<()> {
        let mut meta = self.open_table(META)?;
        let now = meta.get(KEY_AI_LABELS)?.map_or(0, |v| v.value());
        meta.insert(KEY_AI_LABELS, now + 1)?;
        Ok(())
    }
}
