//! Saved replies, by id.

use redb::ReadableTable;

use super::records::{decode, encode, next_in_sequence};
use super::tables::*;
use super::{ReadTxn, StoreResult, WriteTxn};
use crate::domain::saved_reply::SavedReply;

pub trait SavedReplyReads {
    fn saved_replies(&self) -> StoreResult<Vec<SavedReply>>;
    fn saved_reply(&self, id: u64) -> StoreResult<Option<SavedReply>>;
}

macro_rules! impl_saved_reply_reads {
    ($txn:ty) => {
        impl SavedReplyReads for $txn {
            fn saved_replies(&self) -> StoreResult<Vec<SavedReply>> {
                let mut replies = Vec::new();
                for entry in self.open_table(SAVED_REPLIES)?.iter()? {
                    let (_, value) = entry?;
                    replies.push(decode("saved reply", value.value())?);
                }
                Ok(replies)
            }

            fn saved_reply(&self, id: u64) -> StoreResult<Option<SavedReply>> {
                let table = self.open_table(SAVED_REPLIES)?;
                let found = table.get(id)?;
                found.map(|v| decode("saved reply", v.value())).transpose()
            }
        }
    };
}

impl_saved_reply_reads!(ReadTxn);
impl_saved_reply_reads!(WriteTxn);

pub trait SavedReplyWrites {
    /// Stores a new saved reply, giving it its id.
    fn add_saved_reply(&self, reply: &mut SavedReply) -> StoreResult<()>;
    fn put_saved_reply(&self, reply: &SavedReply) -> StoreResult<()>;
    fn delete_saved_reply(&self, id: u64) -> StoreResult<bool>;
}

impl SavedReplyWrites for WriteTxn {
    fn add_saved_reply(&self, reply: &mut SavedReply) -> StoreResult<()> {
        reply.id = next_in_sequence(self, KEY_NEXT_SAVED_REPLY)?;
        self.put_saved_reply(reply)
    }

    fn put_saved_reply(&self, reply: &SavedReply) -> StoreResult<()> {
        self.open_table(SAVED_REPLIES)?
            .insert(reply.id, encode(reply).as_slice())?;
        Ok(())
    }

    fn delete_saved_reply(&self, id: u64) -> StoreResult<bool> {
        Ok(self.open_table(SAVED_REPLIES)?.remove(id)?.is_some())
    }
}
