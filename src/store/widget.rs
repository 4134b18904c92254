//! The chat widget's visitor sessions, from the first line of a chat until
//! it expires.

use super::records::{decode, encode};
use redb::ReadableTable;

use super::tables::*;
use super::{ReadTxn, StoreResult, WriteTxn};
use crate::domain::Timestamp;
use crate::domain::widget::WidgetSession;

pub trait WidgetReads {
    fn widget_session(&self, id: &str) -> StoreResult<Option<WidgetSession>>;
}

macro_rules! impl_widget_reads {
    ($txn:ty) => {
        impl WidgetReads for $txn {
            fn widget_session(&self, id: &str) -> StoreResult<Option<WidgetSession>> {
                let table = self.open_table(WIDGET_SESSIONS)?;
                let found = table.get(id)?;
                found
                    .map(|v| decode("widget session", v.value()))
                    .transpose()
            }
        }
    };
}

impl_widget_reads!(ReadTxn);
impl_widget_reads!(WriteTxn);

pub trait WidgetWrites {
    fn put_widget_session(&self, id: &str, session: &WidgetSession) -> StoreResult<()>;
    /// Deletes chat sessions that expired before `at`; returns how many.
    /// Deletes the sessions expired by `at`; the cases their chats had.
    fn delete_widget_sessions_expired_by(&self, at: Timestamp) -> StoreResult<Vec<Option<u64>>>;
}

impl WidgetWrites for WriteTxn {
    fn put_widget_session(&self, id: &str, session: &WidgetSession) -> StoreResult<()> {
        self.open_table(WIDGET_SESSIONS)?
            .insert(id, encode(session).as_slice())?;
        Ok(())
    }

    fn delete_widget_sessions_expired_by(&self, at: Timestamp) -> StoreResult<Vec<Option<u64>>> {
        let mut removed = Vec::new();
        self.open_table(WIDGET_SESSIONS)?.retain(|_, value| {
            match serde_json::from_slice::<WidgetSession>(value) {
                Ok(session) if session.expires_at < at => {
                    removed.push(session.case);
                    false
                }
                _ => true,
            }
        })?;
        Ok(removed)
    }
}
