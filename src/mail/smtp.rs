//! Outgoing mail on the wire: builds a queued message with lettre and hands
//! it to the SMTP server. The queue and its retries are `workers::mail`'s.

use std::time::Duration;

use crate::outbound::OutboundPolicy;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::domain::mail::OutgoingMail;

/// How long an SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

macro_rules! text_header {
    ($name:ident, $wire:literal) => {
        #[derive(Clone)]
        struct $name(String);

        impl Header for $name {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($wire)
            }

            fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok($name(s.to_owned()))
            }

            fn display(&self) -> HeaderValue {
                HeaderValue::new(Self::name(), self.0.clone())
            }
        }
    };
}

text_header!(AutoSubmitted, "Auto-Submitted");
text_header!(DocketLoop, "X-Docket-Loop");
text_header!(AutoResponseSuppress, "X-Auto-Response-Suppress");

/// Why a message could not be sent; `permanent` ones are not retried.
#[derive(Debug)]
pub struct SendFailure {
    pub message: String,
    pub permanent: bool,
}

fn permanent(message: impl Into<String>) -> SendFailure {
    SendFailure {
        message: message.into(),
        permanent: true,
    }
}

/// A connection pool to the configured SMTP server.
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    host: String,
    port: u16,
    policy: OutboundPolicy,
}

impl SmtpSender {
    /// A sender for `url` (`smtp://host:port`, `smtps://user:pass@host`...),
    /// connecting only where `policy` allows.
    pub fn new(url: &str, policy: OutboundPolicy) -> Result<SmtpSender, String> {
        let builder =
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| e.to_string())?;
        let parsed = url::Url::parse(url).map_err(|e| e.to_string())?;
        let host = parsed
            .host_str()
            .ok_or("the SMTP URL names no host")?
            .to_owned();
        let port = parsed
            .port()
            .unwrap_or(if parsed.scheme() == "smtps" { 465 } else { 25 });
        Ok(SmtpSender {
            transport: builder.timeout(Some(SMTP_TIMEOUT)).build(),
            host,
            port,
            policy,
        })
    }

    /// Sends one message; `attachments` holds the bytes of each of its
    /// attachments, in order.
    pub async fn send(
        &self,
        mail: &OutgoingMail,
        attachments: Vec<Vec<u8>>,
    ) -> Result<(), SendFailure> {
        let message = build(mail, attachments)?;
        // The relay was named by the administrator, which allows it inside
        // the network; the check still refuses a name that no longer
        // resolves at all, before a connection is tried.
        self.policy
            .resolve(&self.host, self.port)
            .await
            .map_err(|e| SendFailure {
                message: e.to_string(),
                permanent: false,
            })?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => Err(SendFailure {
                permanent: e.is_permanent(),
                message: e.to_string(),
            }),
        }
    }
}

/// Whether the SMTP side will accept `address` as a recipient: checked when
/// an update is written, rather than after it was accepted.
pub fn can_send_to(address: &str) -> bool {
    address.parse::<lettre::Address>().is_ok()
}

fn mailbox(text: &str) -> Result<Mailbox, SendFailure> {
    text.parse()
        .map_err(|e| permanent(format!("'{text}' is not a usable address: {e}")))
}

fn angle(id: &str) -> String {
    format!("<{id}>")
}

/// The message as it goes on the wire.
fn build(mail: &OutgoingMail, attachments: Vec<Vec<u8>>) -> Result<Message, SendFailure> {
    let mut builder = Message::builder()
        .from(mailbox(&mail.from)?)
        .subject(mail.subject.clone())
        .message_id(Some(angle(&mail.message_id)))
        .header(DocketLoop(format!("case {}", mail.case)));
    if let Some(reply_to) = &mail.reply_to {
        builder = builder.reply_to(mailbox(reply_to)?);
    }
    for to in &mail.to {
        builder = builder.to(mailbox(to)?);
    }
    for cc in &mail.cc {
        builder = builder.cc(mailbox(cc)?);
    }
    for bcc in &mail.bcc {
        builder = builder.bcc(mailbox(bcc)?);
    }
    if let Some(parent) = &mail.in_reply_to {
        builder = builder.in_reply_to(angle(parent));
    }
    if !mail.references.is_empty() {
        let references: Vec<String> = mail.references.iter().map(|r| angle(r)).collect();
        builder = builder.references(references.join(" "));
    }
    if mail.automatic {
        builder = builder
            .header(AutoSubmitted("auto-generated".into()))
            .header(AutoResponseSuppress("All".into()));
    }
    let text = SinglePart::plain(mail.body.clone());
    // With HTML: both, as alternatives; clients that show HTML show it.
    let body = mail
        .html
        .as_ref()
        .map(|html| MultiPart::alternative_plain_html(mail.body.clone(), html.clone()));
    let result = match (body, mail.attachments.is_empty()) {
        (None, true) => builder.singlepart(text),
        (Some(alternative), true) => builder.multipart(alternative),
        (body, false) => {
            let mut parts = match body {
                Some(alternative) => MultiPart::mixed().multipart(alternative),
                None => MultiPart::mixed().singlepart(text),
            };
            for (attachment, bytes) in mail.attachments.iter().zip(attachments) {
                let content_type = ContentType::parse(&attachment.content_type)
                    .unwrap_or(ContentType::parse("application/octet-stream").expect("valid type"));
                parts = parts
                    .singlepart(Attachment::new(attachment.name.clone()).body(bytes, content_type));
            }
            builder.multipart(parts)
        }
    };
    result.map_err(|e| permanent(format!("the message cannot be built: {e}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_loop_header_name_matches_the_domain_constant() {
        use lettre::message::header::Header;
        assert_eq!(
            AsRef::<str>::as_ref(&super::DocketLoop::name()),
            crate::domain::mail::LOOP_HEADER
        );
    }
}
