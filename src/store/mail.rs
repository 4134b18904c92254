//! Records of the email channel: the Message-IDs that thread replies, the
//! keys that make intake idempotent (also the replay guard of webhooks),
//! and the sender-and-subject threads.

use redb::ReadableTable;

use super::tables::*;
use super::{ReadTxn, StoreResult, WriteTxn};
use crate::domain::case::CaseNumber;

pub trait MailReads {
    /// The case a Message-ID (key form) belongs to.
    fn case_of_message_id(&self, key: &str) -> StoreResult<Option<CaseNumber>>;
    /// The case whose mail cited this Message-ID before it was seen.
    fn case_citing(&self, key: &str) -> StoreResult<Option<CaseNumber>>;
    /// The case and event an already taken-in message landed on.
    fn seen_mail(&self, key: &[u8; 32]) -> StoreResult<Option<(CaseNumber, u64)>>;
    /// The case the last message from `sender` with this normalised subject
    /// went to, and when (seconds).
    fn subject_thread(&self, sender: &str, subject: &str)
    -> StoreResult<Option<(CaseNumber, u64)>>;
}

fn thread_key(sender: &str, subject: &str) -> String {
    format!("{}\n{}", sender.to_ascii_lowercase(), subject)
}

macro_rules! impl_mail_reads {
    ($txn:ty) => {
        impl MailReads for $txn {
            fn case_of_message_id(&self, key: &str) -> StoreResult<Option<CaseNumber>> {
                Ok(self.open_table(MESSAGE_IDS)?.get(key)?.map(|v| v.value()))
            }

            fn case_citing(&self, key: &str) -> StoreResult<Option<CaseNumber>> {
                Ok(self
                    .open_table(CITED_MESSAGE_IDS)?
                    .get(key)?
                    .map(|v| v.value()))
            }

            fn seen_mail(&self, key: &[u8; 32]) -> StoreResult<Option<(CaseNumber, u64)>> {
                Ok(self
                    .open_table(MAIL_SEEN)?
                    .get(key.as_slice())?
                    .map(|v| v.value()))
            }

            fn subject_thread(
                &self,
                sender: &str,
                subject: &str,
            ) -> StoreResult<Option<(CaseNumber, u64)>> {
                Ok(self
                    .open_table(SUBJECT_THREADS)?
                    .get(thread_key(sender, subject).as_str())?
                    .map(|v| v.value()))
            }
        }
    };
}

impl_mail_reads!(ReadTxn);
impl_mail_reads!(WriteTxn);

pub trait MailWrites {
    fn remember_message_id(&self, key: &str, number: CaseNumber) -> StoreResult<()>;
    /// Notes that `number`'s mail cited a Message-ID not seen yet (the
    /// first case to cite it keeps it).
    fn remember_cited(&self, key: &str, number: CaseNumber) -> StoreResult<()>;
    fn remember_seen_mail(&self, key: &[u8; 32], number: CaseNumber, event: u64)
    -> StoreResult<()>;
    fn remember_subject_thread(
        &self,
        sender: &str,
        subject: &str,
        number: CaseNumber,
        at: u64,
    ) -> StoreResult<()>;
}

impl MailWrites for WriteTxn {
    fn remember_message_id(&self, key: &str, number: CaseNumber) -> StoreResult<()> {
        self.open_table(MESSAGE_IDS)?.insert(key, number)?;
        // Seen now: the citation has done its work.
        self.open_table(CITED_MESSAGE_IDS)?.remove(key)?;
        Ok(())
    }

    fn remember_cited(&self, key: &str, number: CaseNumber) -> StoreResult<()> {
        let mut table = self.open_table(CITED_MESSAGE_IDS)?;
        if table.get(key)?.is_none() {
            table.insert(key, number)?;
        }
        Ok(())
    }

    fn remember_seen_mail(
        &self,
        key: &[u8; 32],
        number: CaseNumber,
        event: u64,
    ) -> StoreResult<()> {
        self.open_table(MAIL_SEEN)?
            .insert(key.as_slice(), (number, event))?;
        Ok(())
    }

    fn remember_subject_thread(
        &self,
        sender: &str,
        subject: &str,
        number: CaseNumber,
        at: u64,
    ) -> StoreResult<()> {
        self.open_table(SUBJECT_THREADS)?
            .insert(thread_key(sender, subject).as_str(), (number, at))?;
        Ok(())
    }
}
