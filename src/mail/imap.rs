//! The IMAP client side of mail intake: connecting (TLS, STARTTLS or plain),
//! finding unseen messages, fetching them within the size limit, marking
//! them done, and waiting with IDLE. The intake tasks that drive it live in
//! `workers::imap`.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_imap::Session;
use futures_util::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::domain::channel::{ImapSecurity, ImapSettings};
use crate::outbound::OutboundPolicy;

/// How long connecting, logging in or one command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest one IDLE lasts before the folder is searched again anyway.
const IDLE_MAX: Duration = Duration::from_secs(300);

trait Io: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> Io for T {}
type Stream = Box<dyn Io>;

/// Why talking to an IMAP server failed. The texts are shown to channel
/// managers, so they never repeat what the remote sent: a host that is not
/// an IMAP server must not be readable through them.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("{0}")]
    Connection(String),
    #[error("{}", protocol_failure(.0))]
    Protocol(#[from] async_imap::error::Error),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Refused(#[from] crate::outbound::OutboundError),
}

fn protocol_failure(error: &async_imap::error::Error) -> String {
    use async_imap::error::Error;
    match error {
        Error::Io(e) if e.raw_os_error().is_some() => format!("the connection failed: {e}"),
        Error::Io(e) => format!("the connection failed ({})", e.kind()),
        Error::No(_) | Error::Bad(_) => {
            "the server refused: check the user name, the password and the folder".into()
        }
        Error::ConnectionLost => "the server closed the connection".into(),
        _ => "the server did not answer as an IMAP server does".into(),
    }
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
        // The system's own errors ("connection refused") are safe to show;
        // others may quote what the remote sent.
        if err.raw_os_error().is_some() {
            ImapError::Connection(err.to_string())
        } else if err.kind() == std::io::ErrorKind::InvalidData {
            ImapError::Connection("the server did not answer as an IMAP server does".into())
        } else {
            ImapError::Connection(format!("the connection failed ({})", err.kind()))
        }
    }
}

/// An open IMAP folder: a logged-in session with the folder selected.
pub struct Mailbox {
    session: Session<Stream>,
    /// The server has IDLE (RFC 2177): wait for news instead of polling.
    pub can_idle: bool,
    /// The server has MOVE (RFC 6851).
    can_move: bool,
}

impl Mailbox {
    /// Connects, logs in and selects the folder of `settings`.
    /// Connects only where `policy` allows.
    pub async fn open(
        settings: &ImapSettings,
        policy: &OutboundPolicy,
    ) -> Result<Mailbox, ImapError> {
        let mut session = connect(settings, policy).await?;
        timed(session.select(&settings.folder)).await?;
        let capabilities = timed(session.capabilities()).await?;
        Ok(Mailbox {
            can_idle: capabilities.has_str("IDLE"),
            can_move: capabilities.has_str("MOVE"),
            session,
        })
    }

    /// The UIDs of every message in the folder, oldest first.
    pub async fn all(&mut self) -> Result<Vec<u32>, ImapError> {
        let mut uids: Vec<u32> = timed(self.session.uid_search("ALL"))
            .await?
            .into_iter()
            .collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// The UIDs of the folder's unseen messages, oldest first.
    pub async fn unseen(&mut self) -> Result<Vec<u32>, ImapError> {
        let mut uids: Vec<u32> = timed(self.session.uid_search("UNSEEN"))
            .await?
            .into_iter()
            .collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// The raw message, or for one over `limit` bytes, its header with a
    /// notice in place of the body so that the case says what happened.
    pub async fn fetch(&mut self, uid: u32, limit: usize) -> Result<Option<Vec<u8>>, ImapError> {
        fetch(&mut self.session, uid, limit).await
    }

    /// Marks a message done: moved to the configured folder, or seen.
    pub async fn done_with(&mut self, settings: &ImapSettings, uid: u32) -> Result<(), ImapError> {
        done_with(&mut self.session, settings, self.can_move, uid).await
    }

    /// Waits with IDLE until the server reports news, `timeout` passes
    /// (at most five minutes) or `stop` resolves.
    pub async fn idle(
        self,
        timeout: Duration,
        stop: impl Future<Output = ()>,
    ) -> Result<Mailbox, ImapError> {
        let Mailbox {
            session,
            can_idle,
            can_move,
        } = self;
        let mut idle = session.idle();
        timed(idle.init()).await?;
        {
            let (wait, _interrupt) = idle.wait_with_timeout(timeout.min(IDLE_MAX));
            tokio::select! {
                result = wait => { result?; }
                _ = stop => {}
            }
        }
        Ok(Mailbox {
            session: timed(idle.done()).await?,
            can_idle,
            can_move,
        })
    }

    pub async fn logout(mut self) {
        let _ = timed(self.session.logout()).await;
    }
}

async fn connect(
    settings: &ImapSettings,
    policy: &OutboundPolicy,
) -> Result<Session<Stream>, ImapError> {
    // Connect to the addresses checked, not to the name again.
    let addresses = timed(policy.resolve(&settings.host, settings.port)).await?;
    let tcp = timed(TcpStream::connect(&addresses[..])).await?;
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
    let handshake = async {
        connector.connect(name, tcp).await.map_err(|e| {
            // The TLS library's own words (a certificate problem) say what
            // is wrong without repeating the remote's bytes.
            match e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<tokio_rustls::rustls::Error>())
            {
                Some(tls) => ImapError::Connection(format!("the TLS handshake failed: {tls}")),
                None => ImapError::from(e),
            }
        })
    };
    timed(handshake).await
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
