//! Conversations of social messaging, phone calls and chats: a key scoped
//! to its channel (`CHANNEL/instagram:dm:PAGE:SENDER`, `phone:CHANNEL:NUMBER`,
//! `call:CHANNEL:SID`) and the case that holds it.

use redb::ReadableTable;

use super::tables::*;
use super::{ReadTxn, StoreResult, WriteTxn};
use crate::domain::case::CaseNumber;

pub trait ConversationReads {
    /// The case holding a conversation.
    fn case_of_conversation(&self, key: &str) -> StoreResult<Option<CaseNumber>>;
}

macro_rules! impl_conversation_reads {
    ($txn:ty) => {
        impl ConversationReads for $txn {
            fn case_of_conversation(&self, key: &str) -> StoreResult<Option<CaseNumber>> {
                Ok(self.open_table(CONVERSATIONS)?.get(key)?.map(|v| v.value()))
            }
        }
    };
}

impl_conversation_reads!(ReadTxn);
impl_conversation_reads!(WriteTxn);

pub trait ConversationWrites {
    fn remember_conversation(&self, key: &str, number: CaseNumber) -> StoreResult<()>;
}

impl ConversationWrites for WriteTxn {
    fn remember_conversation(&self, key: &str, number: CaseNumber) -> StoreResult<()> {
        self.open_table(CONVERSATIONS)?.insert(key, number)?;
        Ok(())
    }
}
