//! What each channel's IMAP intake last did, kept in memory for the
//! channel page and the API, and the channels that have intake.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{Service, ServiceResult};
use crate::domain::Timestamp;
use crate::domain::channel::{Channel, ChannelId};
use crate::store::Reads;

/// What a channel's IMAP intake last did.
#[derive(Debug, Clone, Default)]
pub struct MailStatus {
    /// `connecting`, `idle`, `polling`, `failing` or `stopped`.
    pub state: String,
    pub last_error: Option<String>,
    pub last_error_at: Option<Timestamp>,
    pub last_success_at: Option<Timestamp>,
    /// When the next attempt is due after a failure.
    pub retry_at: Option<Timestamp>,
    pub messages_taken_in: u64,
    pub messages_refused: u64,
}

#[derive(Debug, Default)]
pub struct MailStatusBoard {
    channels: Mutex<BTreeMap<ChannelId, MailStatus>>,
}

impl Service {
    /// Updates what a channel's IMAP intake shows.
    pub fn report_mail_status(&self, channel: ChannelId, update: impl FnOnce(&mut MailStatus)) {
        let mut board = self
            .mail_status
            .channels
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        update(board.entry(channel).or_default());
    }

    pub fn mail_status(&self, channel: ChannelId) -> Option<MailStatus> {
        let board = self
            .mail_status
            .channels
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        board.get(&channel).cloned()
    }

    /// Changes whenever the store commits; background senders wait on it.
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.store.commits()
    }

    /// Channels with IMAP intake set up, for the pollers.
    pub fn imap_channels(&self) -> ServiceResult<Vec<Channel>> {
        Ok(self
            .store
            .read()?
            .channels()?
            .into_iter()
            .filter(|c| c.settings.imap.is_some())
            .collect())
    }
}
