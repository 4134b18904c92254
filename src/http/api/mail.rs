//! Email over the API: the MTA pipe (`docket mailgate` posts here) and
//! updates sent to customers by email.

use poem::{Request, RequestBody};
use poem_openapi::param::Path;
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Deserialize;

use super::json_body::JsonBody;
use super::types::ActivityView;
use super::{ApiTags, TokenAuth, state};
use crate::domain::mail::Noise;
use crate::http::error::ApiError;
use crate::service::{FromChoice, MailReceipt, NewUpdate};

#[derive(Default)]
pub struct MailApi;

/// A request body taken whole, as the bytes that came, of one media type.
macro_rules! raw_body {
    ($(#[$doc:meta])* $name:ident, $content_type:literal) => {
        $(#[$doc])*
        pub struct $name(Vec<u8>);

        impl Payload for $name {
            const CONTENT_TYPE: &'static str = $content_type;

            fn check_content_type(_content_type: &str) -> bool {
                true
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new(MetaSchema {
                    format: Some("binary"),
                    ..MetaSchema::new("string")
                }))
            }
        }

        impl ParsePayload for $name {
            const IS_REQUIRED: bool = true;

            async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
                use poem::FromRequest;
                Ok($name(<Vec<u8>>::from_request(request, body).await?))
            }
        }

        poem_openapi::impl_apirequest_for_payload!($name,);
    };
}

raw_body!(
    /// A raw RFC 5322 message, as an MTA hands it over.
    RawMessage,
    "message/rfc822"
);

raw_body!(
    /// A whole mailbox in mbox format: each message after a `From ` line.
    RawMailbox,
    "application/mbox"
);

/// A mailbox being migrated into a channel, and how far it got.
#[derive(Debug, Object)]
struct MailboxImportView {
    id: u64,
    channel: u64,
    requested_by: String,
    requested_at: chrono::DateTime<chrono::Utc>,
    #[oai(nullable)]
    finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `queued`, `running`, `finished` or `failed` (the mailbox could not
    /// be read; see `error`).
    state: String,
    /// Messages in the mailbox (0 until it is read).
    total: u64,
    /// Messages worked through so far.
    done: u64,
    /// Of those: opened a case, joined one, were already here.
    opened: u64,
    joined: u64,
    duplicates: u64,
    /// Messages that could not be taken in, and the first of them with why.
    set_aside_count: u64,
    set_aside: Vec<String>,
    #[oai(nullable)]
    error: Option<String>,
}

impl MailboxImportView {
    fn new(id: u64, job: crate::store::MailboxImport) -> Self {
        let state = match (&job.finished_at, &job.error) {
            (Some(_), Some(_)) => "failed",
            (Some(_), None) => "finished",
            (None, _) if job.total == 0 => "queued",
            (None, _) => "running",
        };
        MailboxImportView {
            id,
            channel: job.channel,
            requested_by: job.requested_by,
            requested_at: job.requested_at,
            finished_at: job.finished_at,
            state: state.to_owned(),
            total: job.total as u64,
            done: job.done as u64,
            opened: job.opened as u64,
            joined: job.joined as u64,
            duplicates: job.duplicates as u64,
            set_aside_count: job.set_aside_count as u64,
            set_aside: job.set_aside,
            error: job.error,
        }
    }
}

#[derive(ApiResponse)]
enum ImportQueued {
    /// The mailbox is stored and will be taken in, oldest first; follow
    /// it with `GET` on the same path.
    #[oai(status = 202)]
    Accepted(Json<MailboxImportView>),
}

/// Where a delivered message landed.
#[derive(Debug, Object)]
struct MailReceiptView {
    /// The case it was added to or opened.
    case: u64,
    /// A new case was opened for it.
    created: bool,
    /// It had been delivered before; nothing was stored again.
    duplicate: bool,
    /// Its event in the case's activity.
    event: u64,
    /// How it was matched to an existing case: `references`,
    /// `subject_token`, `plus_address` or `sender_subject`.
    #[oai(nullable)]
    threaded_by: Option<String>,
    /// `auto_reply` or `bounce` for mail from machines.
    #[oai(nullable)]
    noise: Option<String>,
}

impl From<MailReceipt> for MailReceiptView {
    fn from(r: MailReceipt) -> Self {
        MailReceiptView {
            case: r.case,
            created: r.created,
            duplicate: r.duplicate,
            event: r.event,
            threaded_by: r.threaded_by.map(str::to_owned),
            noise: match r.noise {
                Noise::None => None,
                Noise::AutoReply => Some("auto_reply".into()),
                Noise::Bounce => Some("bounce".into()),
            },
        }
    }
}

#[derive(ApiResponse)]
enum MailDelivered {
    /// Added to an existing case (or delivered before).
    #[oai(status = 200)]
    Added(Json<MailReceiptView>),
    /// A new case was opened.
    #[oai(status = 201)]
    Opened(Json<MailReceiptView>),
}

#[derive(Debug, Clone, Copy, Enum, Deserialize, Default)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
enum FromWire {
    /// The channel's address.
    #[default]
    Channel,
    /// The sender's own address, where the channel allows it.
    Me,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    /// `channel` (default) or `me`.
    #[oai(nullable)]
    from: Option<FromWire>,
    to: Vec<String>,
    #[serde(default)]
    #[oai(default)]
    cc: Vec<String>,
    #[serde(default)]
    #[oai(default)]
    bcc: Vec<String>,
    /// Default: "Re: " and the case's subject. `[#NUMBER]` is added.
    #[oai(nullable)]
    subject: Option<String>,
    body: String,
    /// Ids of the case's files to attach.
    #[serde(default)]
    #[oai(default)]
    attachments: Vec<u64>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct ReplyBody {
    /// The reply's text (at most 2,000 characters, Meta's limit).
    body: String,
}

#[derive(ApiResponse)]
enum UpdateQueued {
    /// Queued for sending; the message's event shows its delivery state.
    #[oai(status = 202)]
    Queued(Json<ActivityView>),
}

#[OpenApi(tag = "ApiTags::Cases")]
impl MailApi {
    /// Deliver a raw message (`message/rfc822`) to a channel, as an MTA
    /// pipe does (`docket mailgate`). It is threaded onto its case or opens
    /// a new one; delivering the same message again changes nothing. Needs
    /// a channel manager's or an administrator's token. 413 over the size
    /// limit, 400 for what is not a message, 429 (with `Retry-After`) when
    /// one sender sends too much.
    /// Migrate a whole mailbox (`application/mbox`) into a channel, with
    /// its history: in the background, oldest first, each message dated by
    /// its own mail, with no flood limit, acknowledgements or Slack
    /// messages; a message already here is skipped, so a mailbox may be
    /// sent again. For a channel's managers and administrators; 413 over
    /// `[mail] max_mailbox_bytes` (use `docket import-mail` for larger).
    #[oai(path = "/channels/:id/mailbox-imports", method = "post")]
    async fn import_mailbox(
        &self,
        req: &Request,
        auth: TokenAuth,
        id: Path<u64>,
        mailbox: RawMailbox,
    ) -> Result<ImportQueued, ApiError> {
        let (job_id, job) = state(req)
            .service
            .request_mailbox_import(&auth.0, id.0, mailbox.0)
            .await?;
        Ok(ImportQueued::Accepted(Json(MailboxImportView::new(
            job_id, job,
        ))))
    }

    /// The channel's mailbox migrations, newest first, with their progress
    /// (managers and administrators).
    #[oai(path = "/channels/:id/mailbox-imports", method = "get")]
    async fn mailbox_imports(
        &self,
        req: &Request,
        auth: TokenAuth,
        id: Path<u64>,
    ) -> Result<Json<Vec<MailboxImportView>>, ApiError> {
        let jobs = state(req).service.mailbox_imports(&auth.0, id.0)?;
        Ok(Json(
            jobs.into_iter()
                .map(|(id, job)| MailboxImportView::new(id, job))
                .collect(),
        ))
    }

    #[oai(path = "/channels/:id/mail", method = "post")]
    async fn deliver(
        &self,
        req: &Request,
        auth: TokenAuth,
        id: Path<u64>,
        message: RawMessage,
    ) -> Result<MailDelivered, ApiError> {
        let receipt = state(req)
            .service
            .take_in_mail(&auth.0, id.0, message.0)
            .await?;
        let view = Json(MailReceiptView::from(receipt.clone()));
        Ok(if receipt.created {
            MailDelivered::Opened(view)
        } else {
            MailDelivered::Added(view)
        })
    }

    /// Reply to an Instagram or Facebook case where the customer wrote: a
    /// direct message through Meta's Send API, or a reply in the comment
    /// thread. Sent from the outbox with retries; the message's `delivery`
    /// shows how far it got. A direct message outside the channel's reply
    /// window (24 hours unless set) is refused with 409.
    #[oai(path = "/cases/:number/replies", method = "post")]
    async fn reply(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
        body: JsonBody<ReplyBody>,
    ) -> Result<UpdateQueued, ApiError> {
        let event = state(req)
            .service
            .reply_on_social(&auth.0, number.0, &body.0.body)
            .await?;
        Ok(UpdateQueued::Queued(Json(event.into())))
    }

    /// Send an update about the case by email. It carries the case's
    /// `[#NUMBER]`, a Message-ID, In-Reply-To and References so replies
    /// thread, and is sent from the outbox with retries.
    #[oai(path = "/cases/:number/updates", method = "post")]
    async fn send_update(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
        body: JsonBody<UpdateBody>,
    ) -> Result<UpdateQueued, ApiError> {
        let b = body.0;
        let update = NewUpdate {
            from: match b.from.unwrap_or_default() {
                FromWire::Channel => FromChoice::Channel,
                FromWire::Me => FromChoice::Me,
            },
            to: b.to,
            cc: b.cc,
            bcc: b.bcc,
            subject: b.subject,
            body: b.body,
            attachments: b.attachments,
        };
        let event = state(req)
            .service
            .send_update(&auth.0, number.0, update)
            .await?;
        Ok(UpdateQueued::Queued(Json(event.into())))
    }
}
