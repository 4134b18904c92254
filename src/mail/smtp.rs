//! Sends queued outgoing mail over SMTP with lettre, retrying with backoff.
//! A message leaves the queue only once the server accepted it (or refused
//! it for good); a crash in between sends it again, never loses it.

use std::time::Duration;

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::watch;

use crate::domain::mail::OutgoingMail;
use crate::service::Service;

/// Messages sent per round; the rest wait for the next.
const BATCH: usize = 16;
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
struct SendFailure {
    message: String,
    permanent: bool,
}

fn permanent(message: impl Into<String>) -> SendFailure {
    SendFailure {
        message: message.into(),
        permanent: true,
    }
}

/// Runs until `shutdown` turns true.
pub async fn run(service: Service, mut shutdown: watch::Receiver<bool>) {
    let transport = match service.config().smtp.url.as_deref() {
        Some(url) => match AsyncSmtpTransport::<Tokio1Executor>::from_url(url) {
            Ok(builder) => Some(builder.timeout(Some(SMTP_TIMEOUT)).build()),
            Err(e) => {
                tracing::error!(error = %e, "the SMTP URL cannot be used; outgoing mail waits");
                None
            }
        },
        None => None,
    };
    let mut commits = service.commits();
    loop {
        let due = match service.due_outgoing_mail(BATCH) {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the outgoing mail queue");
                Vec::new()
            }
        };
        for (id, mail) in due {
            let outcome = match &transport {
                Some(transport) => send(&service, transport, &mail).await,
                None => {
                    let reason = "no SMTP server is configured (DOCKET_SMTP_URL or [smtp] url)";
                    if let Err(e) = service.postpone_delivery(id, reason, 60).await {
                        tracing::error!(error = %e, "cannot postpone outgoing mail");
                    }
                    continue;
                }
            };
            let recorded = outcome.map_err(|f| {
                tracing::warn!(id, case = mail.case, error = %f.message, permanent = f.permanent, "mail not sent");
                (f.message, f.permanent)
            });
            if let Err(e) = service.record_delivery(id, recorded).await {
                tracing::error!(error = %e, "cannot record a delivery attempt");
            }
        }
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = commits.changed() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

async fn send(
    service: &Service,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    mail: &OutgoingMail,
) -> Result<(), SendFailure> {
    let message = build(service, mail)?;
    match transport.send(message).await {
        Ok(_) => Ok(()),
        Err(e) => Err(SendFailure {
            permanent: e.is_permanent(),
            message: e.to_string(),
        }),
    }
}

fn mailbox(text: &str) -> Result<Mailbox, SendFailure> {
    text.parse()
        .map_err(|e| permanent(format!("'{text}' is not a usable address: {e}")))
}

fn angle(id: &str) -> String {
    format!("<{id}>")
}

/// The message as it goes on the wire.
fn build(service: &Service, mail: &OutgoingMail) -> Result<Message, SendFailure> {
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
    let result = if mail.attachments.is_empty() {
        builder.singlepart(text)
    } else {
        let mut parts = MultiPart::mixed().singlepart(text);
        for attachment in &mail.attachments {
            let bytes = service.blob(&attachment.sha256).map_err(|e| SendFailure {
                message: format!("attachment {} unreadable: {e}", attachment.name),
                permanent: false,
            })?;
            let content_type = ContentType::parse(&attachment.content_type)
                .unwrap_or(ContentType::parse("application/octet-stream").expect("valid type"));
            parts = parts
                .singlepart(Attachment::new(attachment.name.clone()).body(bytes, content_type));
        }
        builder.multipart(parts)
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
