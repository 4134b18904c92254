//! IMAP intake: one task per channel with an IMAP folder. It takes unseen
//! messages in through the service and marks each seen (or moves it) only
//! after its case change is committed, so a crash at any point neither loses
//! a message (it is still unseen) nor duplicates one (intake is idempotent).
//! It waits with IDLE where the server has it and polls otherwise; failures
//! back off and show on the channel's page.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_imap::Session;
use futures_util::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::domain::channel::{ChannelId, ImapSecurity, ImapSettings};
use crate::service::{Service, ServiceError};

/// How long connecting, logging in or one command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the set of channels with IMAP is looked at.
const SUPERVISE_EVERY: Duration = Duration::from_secs(2);
/// Longest wait between reconnection attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// Longest one IDLE lasts before the folder is searched again anyway.
const IDLE_MAX: Duration = Duration::from_secs(300);

trait Io: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> Io for T {}
type Stream = Box<dyn Io>;

#[derive(Debug, thiserror::Error)]
enum ImapError {
    #[error("{0}")]
    Connection(String),
    #[error("the server said: {0}")]
    Protocol(#[from] async_imap::error::Error),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("the message could not be stored: {0}")]
    Store(ServiceError),
}

async fn timed<T, E: Into<ImapError>>(
    future: impl Future<Output = Result<T, E>>,
) -> Result<T, ImapError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, future).await {
        Ok(result) => result.map_err(Into::into),
        Err(_) => Err(ImapError::Timeout(COMMAND_TIMEOUT)),
    }
}

impl From<std::io::Error> for ImapError {
    fn from(err: std::io::Error) -> Self {
        ImapError::Connection(err.to_string())
    }
}

/// Keeps one intake task per channel with IMAP settings, restarting a
/// channel's task when its settings change, until `shutdown`.
pub async fn run(service: Service, mut shutdown: watch::Receiver<bool>) {
    let mut tasks: HashMap<ChannelId, (ImapSettings, JoinHandle<()>)> = HashMap::new();
    loop {
        let wanted: HashMap<ChannelId, ImapSettings> = match service.imap_channels() {
            Ok(channels) => channels
                .into_iter()
                .filter_map(|c| c.settings.imap.map(|s| (c.id, s)))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the channels for mail intake");
                HashMap::new()
            }
        };
        tasks.retain(|id, (settings, task)| {
            let keep = wanted.get(id) == Some(settings) && !task.is_finished();
            if !keep {
                task.abort();
                service.report_mail_status(*id, |s| s.state = "stopped".into());
            }
            keep
        });
        for (id, settings) in wanted {
            if let std::collections::hash_map::Entry::Vacant(slot) = tasks.entry(id) {
                let task = tokio::spawn(intake(
                    service.clone(),
                    id,
                    settings.clone(),
                    shutdown.clone(),
                ));
                slot.insert((settings, task));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(SUPERVISE_EVERY) => {}
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
    for (_, (_, task)) in tasks {
        let _ = task.await;
    }
}

/// One channel's intake: sessions, and backoff between failed ones.
async fn intake(
    service: Service,
    channel: ChannelId,
    settings: ImapSettings,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut failures: u32 = 0;
    loop {
        service.report_mail_status(channel, |s| s.state = "connecting".into());
        let result = session(&service, channel, &settings, &mut shutdown, &mut failures).await;
        if *shutdown.borrow() {
            service.report_mail_status(channel, |s| s.state = "stopped".into());
            return;
        }
        failures += 1;
        let delay = Duration::from_secs(2u64 << failures.min(8)).min(BACKOFF_MAX);
        let error = match result {
            Ok(()) => "the server closed the connection".to_owned(),
            Err(e) => e.to_string(),
        };
        tracing::warn!(channel, host = %settings.host, %error, retry_in = ?delay, "IMAP intake failed");
        service.report_mail_status(channel, |s| {
            s.state = "failing".into();
            s.last_error = Some(error);
            s.last_error_at = Some(chrono::Utc::now());
            s.retry_at = chrono::Duration::from_std(delay)
                .ok()
                .map(|d| chrono::Utc::now() + d);
        });
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

async fn session(
    service: &Service,
    channel: ChannelId,
    settings: &ImapSettings,
    shutdown: &mut watch::Receiver<bool>,
    failures: &mut u32,
) -> Result<(), ImapError> {
    let mut session = connect(settings).await?;
    timed(session.select(&settings.folder)).await?;
    let capabilities = timed(session.capabilities()).await?;
    let can_idle = capabilities.has_str("IDLE");
    let can_move = capabilities.has_str("MOVE");
    *failures = 0;
    let poll = Duration::from_secs(service.config().mail.poll_seconds);
    loop {
        service.report_mail_status(channel, |s| {
            s.state = "polling".into();
            s.retry_at = None;
        });
        take_in_unseen(service, channel, settings, can_move, &mut session).await?;
        service.report_mail_status(channel, |s| {
            s.state = if can_idle { "idle" } else { "waiting" }.into();
            s.last_success_at = Some(chrono::Utc::now());
        });
        if *shutdown.borrow() {
            let _ = timed(session.logout()).await;
            return Ok(());
        }
        if can_idle {
            let mut idle = session.idle();
            timed(idle.init()).await?;
            {
                let (wait, _interrupt) = idle.wait_with_timeout(poll.min(IDLE_MAX));
                tokio::select! {
                    result = wait => { result?; }
                    _ = shutdown.wait_for(|stop| *stop) => {}
                }
            }
            session = timed(idle.done()).await?;
        } else {
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = shutdown.wait_for(|stop| *stop) => {}
            }
        }
    }
}

async fn connect(settings: &ImapSettings) -> Result<Session<Stream>, ImapError> {
    let address = (settings.host.as_str(), settings.port);
    let tcp = timed(TcpStream::connect(address)).await?;
    let stream: Stream = match settings.security {
        ImapSecurity::Tls => Box::new(tls(&settings.host, tcp).await?),
        ImapSecurity::Plain => Box::new(tcp),
        ImapSecurity::Starttls => {
            let mut client = async_imap::Client::new(tcp);
            greeting(&mut client).await?;
            timed(client.run_command_and_check_ok("STARTTLS", None)).await?;
            Box::new(tls(&settings.host, client.into_inner()).await?)
        }
    };
    let mut client = async_imap::Client::new(stream);
    if settings.security != ImapSecurity::Starttls {
        greeting(&mut client).await?;
    }
    timed(async {
        client
            .login(&settings.username, &settings.password)
            .await
            .map_err(|(e, _)| ImapError::Protocol(e))
    })
    .await
}

async fn greeting<T: AsyncRead + AsyncWrite + Unpin + Send + Debug>(
    client: &mut async_imap::Client<T>,
) -> Result<(), ImapError> {
    match timed(client.read_response()).await? {
        Some(_) => Ok(()),
        None => Err(ImapError::Connection(
            "the server closed the connection before greeting".into(),
        )),
    }
}

async fn tls(
    host: &str,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ImapError> {
    use rustls_platform_verifier::ConfigVerifierExt;
    use tokio_rustls::rustls::ClientConfig;
    use tokio_rustls::rustls::pki_types::ServerName;
    let config = ClientConfig::with_platform_verifier()
        .map_err(|e| ImapError::Connection(format!("TLS setup failed: {e}")))?;
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| ImapError::Connection(format!("'{host}' is not a TLS server name: {e}")))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    timed(connector.connect(name, tcp)).await
}

/// Takes in every unseen message of the selected folder, oldest first.
async fn take_in_unseen(
    service: &Service,
    channel: ChannelId,
    settings: &ImapSettings,
    can_move: bool,
    session: &mut Session<Stream>,
) -> Result<(), ImapError> {
    let mut uids: Vec<u32> = timed(session.uid_search("UNSEEN"))
        .await?
        .into_iter()
        .collect();
    uids.sort_unstable();
    let limit = service.config().mail.max_message_bytes;
    for uid in uids {
        let Some(raw) = fetch(session, uid, limit).await? else {
            continue;
        };
        match service
            .take_in_mail(&Service::operator(), channel, raw)
            .await
        {
            Ok(receipt) => {
                tracing::info!(
                    channel,
                    uid,
                    case = receipt.case,
                    duplicate = receipt.duplicate,
                    "took in a message"
                );
                service.report_mail_status(channel, |s| s.messages_taken_in += 1);
                done_with(session, settings, can_move, uid).await?;
            }
            // Left unseen: taken in once the sender's window has passed.
            Err(ServiceError::SenderThrottled { sender, .. }) => {
                tracing::warn!(channel, uid, %sender, "mail held back: too many messages from one sender");
                service.report_mail_status(channel, |s| s.messages_refused += 1);
            }
            // It will never be readable: set it aside rather than retry forever.
            Err(
                e @ (ServiceError::BadRequest(_)
                | ServiceError::TooLarge(_)
                | ServiceError::Invalid { .. }
                | ServiceError::InvalidFields(_)
                | ServiceError::Conflict(_)),
            ) => {
                tracing::warn!(channel, uid, error = %e, "refused a message");
                service.report_mail_status(channel, |s| {
                    s.messages_refused += 1;
                    s.last_error = Some(format!("message {uid} refused: {e}"));
                    s.last_error_at = Some(chrono::Utc::now());
                });
                done_with(session, settings, can_move, uid).await?;
            }
            Err(e) => return Err(ImapError::Store(e)),
        }
    }
    Ok(())
}

/// The raw message, or for one over the size limit, its header with a
/// notice in place of the body so that the case says what happened.
async fn fetch(
    session: &mut Session<Stream>,
    uid: u32,
    limit: usize,
) -> Result<Option<Vec<u8>>, ImapError> {
    let size = {
        let fetches: Vec<_> = timed(async {
            session
                .uid_fetch(uid.to_string(), "(UID RFC822.SIZE)")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        fetches.iter().find_map(|f| f.size)
    };
    let too_large = size.is_some_and(|s| s as usize > limit);
    let query = if too_large {
        "(UID BODY.PEEK[HEADER])"
    } else {
        "(UID BODY.PEEK[])"
    };
    let fetches: Vec<_> = timed(async {
        session
            .uid_fetch(uid.to_string(), query)
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?;
    let Some(mut raw) = fetches
        .iter()
        .find_map(|f| f.body().or_else(|| f.header()).map(<[u8]>::to_vec))
    else {
        return Ok(None);
    };
    if too_large {
        let notice = format!(
            "\r\n[This message was {} bytes, more than the {limit} bytes this desk takes in. \
             It is still in the mailbox; ask the sender for smaller attachments.]\r\n",
            size.unwrap_or_default()
        );
        raw = header_without_body_structure(&raw);
        raw.extend_from_slice(
            b"X-Docket-Truncated: yes\r\nContent-Type: text/plain; charset=utf-8\r\n",
        );
        raw.extend_from_slice(notice.as_bytes());
    }
    Ok(Some(raw))
}

/// A header section without the fields that describe the body (its type
/// and encoding), since the body it described is not there.
fn header_without_body_structure(header: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(header);
    let mut out = String::new();
    let mut skipping = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            break;
        }
        if !trimmed.starts_with([' ', '\t']) {
            let name = trimmed.split(':').next().unwrap_or_default().trim();
            skipping = name.eq_ignore_ascii_case("Content-Type")
                || name.eq_ignore_ascii_case("Content-Transfer-Encoding");
        }
        if !skipping {
            out.push_str(trimmed);
            out.push_str("\r\n");
        }
    }
    out.into_bytes()
}

/// Marks a message done: moved to the configured folder, or seen.
async fn done_with(
    session: &mut Session<Stream>,
    settings: &ImapSettings,
    can_move: bool,
    uid: u32,
) -> Result<(), ImapError> {
    match &settings.move_to {
        Some(folder) if can_move => timed(session.uid_mv(uid.to_string(), folder)).await,
        // Without MOVE (RFC 6851): copy, flag deleted, expunge that one.
        Some(folder) => {
            timed(session.uid_copy(uid.to_string(), folder)).await?;
            set_flags(session, uid, "+FLAGS (\\Seen \\Deleted)").await?;
            timed(async {
                session
                    .uid_expunge(uid.to_string())
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
                    .map(|_| ())
            })
            .await
        }
        None => set_flags(session, uid, "+FLAGS (\\Seen)").await,
    }
}

async fn set_flags(session: &mut Session<Stream>, uid: u32, flags: &str) -> Result<(), ImapError> {
    timed(async {
        session
            .uid_store(uid.to_string(), flags)
            .await?
            .try_collect::<Vec<_>>()
            .await
            .map(|_| ())
    })
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cut_message_keeps_its_header_but_not_its_body_structure() {
        let header = b"From: a@b.example\r\nContent-Type: multipart/mixed;\r\n boundary=xyz\r\nSubject: big\r\nContent-Transfer-Encoding: base64\r\n\r\n";
        let kept = String::from_utf8(super::header_without_body_structure(header)).unwrap();
        assert_eq!(kept, "From: a@b.example\r\nSubject: big\r\n");
    }
}
