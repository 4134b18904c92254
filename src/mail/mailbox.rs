//! Mailboxes being migrated into Docket: every message of an mbox file or
//! a Maildir folder, oldest first by its `Date` (its mailbox's own date
//! where it has none), so that threads are taken in as they were written.

use std::io::BufReader;
use std::path::Path;

use mail_parser::MessageParser;

/// One message of a mailbox, with when it was written (seconds).
pub struct MailboxMessage {
    pub written: i64,
    pub raw: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    #[error("cannot read {path}: {error}")]
    Unreadable { path: String, error: std::io::Error },
    #[error("the IMAP folder could not be read: {0}")]
    Imap(#[from] super::imap::ImapError),
}

fn unreadable(path: &Path) -> impl Fn(std::io::Error) -> MailboxError + '_ {
    move |error| MailboxError::Unreadable {
        path: path.display().to_string(),
        error,
    }
}

/// The messages of an mbox file (`From ` lines between messages, `>From`
/// unquoted), oldest first.
pub fn mbox(path: &Path) -> Result<Vec<MailboxMessage>, MailboxError> {
    let file = std::fs::File::open(path).map_err(unreadable(path))?;
    mbox_from(file, path)
}

/// The messages of an mbox read from `reader` (named `path` in errors).
pub fn mbox_from(
    reader: impl std::io::Read,
    path: &Path,
) -> Result<Vec<MailboxMessage>, MailboxError> {
    let messages = mail_parser::mailbox::mbox::MessageIterator::new(BufReader::new(reader))
        .map(|m| m.map(|m| (m.internal_date(), m.unwrap_contents())));
    collected(messages, path)
}

/// The messages of a Maildir folder (`cur` and `new`), oldest first.
pub fn maildir(path: &Path) -> Result<Vec<MailboxMessage>, MailboxError> {
    let messages = mail_parser::mailbox::maildir::MessageIterator::new(path)
        .map_err(unreadable(path))?
        .map(|m| m.map(|m| (m.internal_date(), m.unwrap_contents())));
    collected(messages, path)
}

/// A mailbox's messages, each with the date its mailbox gave it (for one
/// without a `Date` of its own), oldest first.
fn collected(
    messages: impl Iterator<Item = std::io::Result<(u64, Vec<u8>)>>,
    path: &Path,
) -> Result<Vec<MailboxMessage>, MailboxError> {
    let mut found = Vec::new();
    for message in messages {
        let (mailbox_date, raw) = message.map_err(unreadable(path))?;
        found.push(MailboxMessage {
            written: written(&raw).unwrap_or(mailbox_date as i64),
            raw,
        });
    }
    Ok(sorted(found))
}

/// Every message of an IMAP folder, oldest first, read without marking
/// any seen: a migration leaves the old mailbox as it was. A message over
/// `limit` bytes comes as its header with a notice, as live intake does.
pub async fn imap(
    settings: &crate::domain::channel::ImapSettings,
    limit: usize,
) -> Result<Vec<MailboxMessage>, MailboxError> {
    // The operator typed this server on the command line: that allows it.
    let policy =
        crate::outbound::OutboundPolicy::default().also_allowing(&settings.host, settings.port);
    let mut folder = super::imap::Mailbox::open(settings, &policy).await?;
    let mut raws = Vec::new();
    for uid in folder.all().await? {
        raws.extend(folder.fetch(uid, limit).await?);
    }
    folder.logout().await;
    collected(
        raws.into_iter().map(|raw| Ok((0, raw))),
        Path::new("the IMAP folder"),
    )
}

/// Oldest first; messages of the same second keep their mailbox order.
fn sorted(mut messages: Vec<MailboxMessage>) -> Vec<MailboxMessage> {
    messages.sort_by_key(|m| m.written);
    messages
}

/// The `Date` header, read from the header section only.
fn written(raw: &[u8]) -> Option<i64> {
    MessageParser::new()
        .parse_headers(raw)
        .and_then(|m| m.date().map(|d| d.to_timestamp()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_mbox_comes_oldest_first_with_from_lines_unquoted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("box.mbox");
        std::fs::write(
            &path,
            "From a@x Thu Dec  3 10:00:00 2026\nDate: Thu, 03 Dec 2026 10:00:00 +0000\nSubject: second\n\n>From the start\n\nFrom b@x Wed Dec  2 10:00:00 2026\nDate: Wed, 02 Dec 2026 10:00:00 +0000\nSubject: first\n\nhello\n",
        )
        .unwrap();
        let messages = mbox(&path).unwrap();
        assert_eq!(messages.len(), 2);
        let text = |m: &MailboxMessage| String::from_utf8_lossy(&m.raw).into_owned();
        assert!(text(&messages[0]).contains("Subject: first"));
        assert!(
            text(&messages[1]).contains("\nFrom the start"),
            "{}",
            text(&messages[1])
        );
        assert!(mbox(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn a_maildir_is_read_from_cur_and_new() {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        std::fs::write(
            dir.path().join("new/1.x"),
            "Date: Thu, 03 Dec 2026 10:00:00 +0000\nSubject: b\n\nb\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("cur/2.x:2,S"),
            "Date: Tue, 01 Dec 2026 10:00:00 +0000\nSubject: a\n\na\n",
        )
        .unwrap();
        let messages = maildir(dir.path()).unwrap();
        assert_eq!(messages.len(), 2);
        assert!(String::from_utf8_lossy(&messages[0].raw).contains("Subject: a"));
        assert!(maildir(&dir.path().join("cur")).is_err());
    }
}
