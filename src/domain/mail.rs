//! Email rules without I/O: how a message finds its case, which messages are
//! machine noise, and the email part of a conversation event.

use serde::{Deserialize, Serialize};

use super::case::CaseNumber;

/// The header Docket puts on everything it sends, so that its own mail
/// coming back is never answered.
pub const LOOP_HEADER: &str = "X-Docket-Loop";

/// What kind of sender produced an inbound message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Noise {
    /// A person wrote it.
    #[default]
    None,
    /// An automatic reply (out of office, list mail, another help desk):
    /// stored, but it never triggers automatic mail nor reopens a case.
    AutoReply,
    /// A delivery status notification: attached to its case, nothing else.
    Bounce,
}

impl Noise {
    pub fn is_machine(self) -> bool {
        self != Noise::None
    }
}

/// The headers that tell people from machines (names lower-case).
#[derive(Debug, Default, Clone)]
pub struct NoiseHeaders<'a> {
    pub auto_submitted: Option<&'a str>,
    pub precedence: Option<&'a str>,
    pub auto_response_suppress: Option<&'a str>,
    pub x_autoreply: Option<&'a str>,
    /// `Return-Path`, when present: `<>` is the null sender of bounces.
    pub return_path: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub report_type: Option<&'a str>,
    pub from_address: Option<&'a str>,
    pub loop_header: Option<&'a str>,
}

/// Whether an address belongs to a machine by its local part (bounces,
/// `noreply` senders): automatic mail is never sent there.
pub fn is_machine_address(address: &str) -> bool {
    let local = address
        .rsplit_once('@')
        .map_or(address, |(local, _)| local)
        .to_ascii_lowercase();
    let local = local.split('+').next().unwrap_or_default();
    matches!(
        local.replace(['-', '_', '.'], "").as_str(),
        "mailerdaemon" | "postmaster" | "noreply" | "donotreply" | "bounce" | "bounces"
    )
}

/// Classifies a message by RFC 3834, RFC 3464 and the common vendor headers.
pub fn classify(headers: &NoiseHeaders<'_>) -> Noise {
    let lower = |v: Option<&str>| v.map(|s| s.trim().to_ascii_lowercase());
    let is_report = lower(headers.content_type).is_some_and(|t| t == "multipart/report")
        && lower(headers.report_type).is_some_and(|t| t == "delivery-status");
    let from_daemon = lower(headers.from_address).is_some_and(|a| {
        let local = a.split('@').next().unwrap_or_default();
        local == "mailer-daemon" || local == "postmaster"
    });
    let null_sender = headers.return_path.is_some_and(|p| {
        p.trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .is_empty()
    });
    if is_report || (from_daemon && null_sender) {
        return Noise::Bounce;
    }
    let auto_submitted = lower(headers.auto_submitted).is_some_and(|v| {
        let token = v.split(';').next().unwrap_or_default().trim().to_owned();
        !token.is_empty() && token != "no"
    });
    // `Precedence: list` is a person writing through a mailing list (a
    // support address that is a group): theirs is a person's mail.
    let bulk = lower(headers.precedence).is_some_and(|p| matches!(p.as_str(), "bulk" | "junk"));
    let suppress = headers
        .auto_response_suppress
        .is_some_and(|v| !v.trim().is_empty() && !v.trim().eq_ignore_ascii_case("none"));
    if auto_submitted
        || bulk
        || suppress
        || headers.x_autoreply.is_some()
        || headers.loop_header.is_some()
        || null_sender
        || from_daemon
    {
        return Noise::AutoReply;
    }
    Noise::None
}

/// Whether the sender's mail system judged the message spam: SpamAssassin's
/// `X-Spam-Flag: YES` and `X-Spam-Status: Yes, score=...`, rspamd's
/// `X-Spam: Yes`.
pub fn upstream_spam(flag: Option<&str>, status: Option<&str>, rspamd: Option<&str>) -> bool {
    let yes = |v: Option<&str>| {
        v.map(|v| v.trim().split([',', ' ', ';']).next().unwrap_or_default())
            .is_some_and(|first| {
                first.eq_ignore_ascii_case("yes") || first.eq_ignore_ascii_case("true")
            })
    };
    yes(flag) || yes(status) || yes(rspamd)
}

/// Whether a message's `Date` is one its threading may go by: not in the
/// future (a clock may be a little ahead) and not before `not_before`.
pub fn plausible_date(
    date: Option<super::Timestamp>,
    now: super::Timestamp,
    not_before: Option<super::Timestamp>,
) -> Option<super::Timestamp> {
    let date = date?;
    let ahead = chrono::Duration::minutes(15);
    (date <= now + ahead && not_before.is_none_or(|start| date >= start)).then_some(date.min(now))
}

/// A Message-ID as a lookup key: without angle brackets, case kept in the
/// local part (it is significant), domain lower-cased.
pub fn message_id_key(raw: &str) -> Option<String> {
    let id = raw
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    if id.is_empty() || id.len() > 500 || id.contains(char::is_whitespace) {
        return None;
    }
    Some(match id.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_ascii_lowercase()),
        None => id.to_owned(),
    })
}

/// Reply and forward prefixes in the languages mail clients use, compared
/// case-insensitively and followed by `:` (or the full-width `：`).
const PREFIXES: &[&str] = &[
    "re",
    "aw",
    "sv",
    "vs",
    "ref",
    "réf",
    "rif",
    "antw",
    "odp",
    "vá",
    "ynt",
    "atb",
    "res",
    "enc",
    "fw",
    "fwd",
    "wg",
    "tr",
    "rv",
    "doorst",
    "vl",
    "vb",
    "i",
    "πρθ",
    "απ",
    "σχετ",
    "回复",
    "回覆",
    "答复",
    "转发",
    "轉寄",
    "返信",
    "転送",
    "ответ",
    "пересл",
    "הועבר",
    "השב",
    "رد",
    "إعادة توجيه",
];

/// The subject without reply/forward prefixes, counters (`Re[2]:`), list
/// tags and ticket tokens, whitespace collapsed and lower-cased: two subjects
/// that a person would call "the same" compare equal.
pub fn normalized_subject(subject: &str) -> String {
    let mut rest = subject.trim();
    loop {
        let before = rest;
        rest = strip_case_token(rest).trim_start();
        if let Some(stripped) = strip_one_prefix(rest) {
            rest = stripped.trim_start();
        }
        if rest == before {
            break;
        }
    }
    rest.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn strip_one_prefix(subject: &str) -> Option<&str> {
    let colon = subject.find([':', '：'])?;
    let (head, tail) = subject.split_at(colon);
    let tail = &tail[tail.chars().next()?.len_utf8()..];
    // `Re[2]`, `Re(2)`, `Réf.` and `Re :` all count.
    let head = head.trim_end();
    let head = head.trim_end_matches('.');
    let head = match head.find(['[', '(']) {
        Some(open) if head.ends_with([']', ')']) => {
            let counter = &head[open + 1..head.len() - 1];
            if !counter.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            &head[..open]
        }
        _ => head,
    };
    let head = head.trim().to_lowercase();
    PREFIXES.contains(&head.as_str()).then_some(tail)
}

/// Drops one leading `[#123]` (the case token) so that it does not make
/// subjects differ.
fn strip_case_token(subject: &str) -> &str {
    if subject.starts_with("[#")
        && let Some(end) = subject.find(']')
        && subject[2..end].chars().all(|c| c.is_ascii_digit())
    {
        return &subject[end + 1..];
    }
    subject
}

/// The case number in a `[#NUMBER]` token anywhere in the subject.
pub fn case_token(subject: &str) -> Option<CaseNumber> {
    let mut rest = subject;
    while let Some(start) = rest.find("[#") {
        let after = &rest[start + 2..];
        if let Some(end) = after.find(']') {
            let digits = &after[..end];
            if !digits.is_empty()
                && digits.len() <= 18
                && digits.chars().all(|c| c.is_ascii_digit())
            {
                return digits.parse().ok();
            }
        }
        rest = after;
    }
    None
}

/// The subject with the case token in front, unless it already carries it.
pub fn with_case_token(subject: &str, number: CaseNumber) -> String {
    if case_token(subject) == Some(number) {
        subject.to_owned()
    } else {
        format!("[#{number}] {}", subject.trim())
    }
}

/// The case number of a plus-address of `channel_address`:
/// `support+1234@example.com` → 1234.
pub fn plus_address_case(recipient: &str, channel_address: &str) -> Option<CaseNumber> {
    let (local, domain) = recipient.trim().rsplit_once('@')?;
    let (base_local, base_domain) = channel_address.trim().rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case(base_domain) {
        return None;
    }
    let (base, tag) = local.split_once('+')?;
    if !base.eq_ignore_ascii_case(base_local) || tag.is_empty() || tag.len() > 18 {
        return None;
    }
    tag.parse().ok()
}

/// A plain-text body split into what the sender wrote and the quoted
/// conversation below it, for display.
pub fn split_quoted(body: &str) -> (&str, &str) {
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        let trimmed = line.trim();
        let attribution = (trimmed.starts_with("On ") && trimmed.ends_with("wrote:"))
            || (trimmed.starts_with("Am ") && trimmed.ends_with("schrieb:"))
            || (trimmed.starts_with("Le ") && trimmed.ends_with("a écrit :"))
            || trimmed.starts_with("-----Original Message-----")
            || trimmed.starts_with("-------- Original Message --------");
        if attribution || trimmed.starts_with('>') {
            let (own, quoted) = body.split_at(offset);
            if !own.trim().is_empty() {
                return (own, quoted);
            }
        }
        offset += line.len();
    }
    (body, "")
}

/// The email side of a conversation message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailPart {
    /// The Message-ID, without angle brackets.
    pub message_id: String,
    pub subject: String,
    /// The sender's address (the display name is the message's `from`).
    pub from_address: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    /// Outbound only: blind copies (never shown to customers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<String>,
    /// The sanitised HTML version, when the message had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Files carried by the message (ids in the case's files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<u64>,
    #[serde(default, skip_serializing_if = "is_no_noise")]
    pub noise: Noise,
    /// Outbound only: the id of the delivery job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outgoing: Option<u64>,
    /// Outbound only: how far delivery got.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryReport>,
}

/// Delivery as shown with the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryReport {
    /// `pending`, `sent` or `failed`.
    pub state: String,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When it was sent or given up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<super::Timestamp>,
}

impl DeliveryReport {
    pub fn of(mail: &OutgoingMail) -> DeliveryReport {
        let (state, at) = match &mail.state {
            DeliveryState::Pending { .. } => ("pending", None),
            DeliveryState::Sent { at } => ("sent", Some(*at)),
            DeliveryState::Failed { at } => ("failed", Some(*at)),
        };
        DeliveryReport {
            state: state.to_owned(),
            attempts: mail.attempts,
            last_error: mail.last_error.clone(),
            at,
        }
    }
}

fn is_no_noise(noise: &Noise) -> bool {
    *noise == Noise::None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_in_many_languages_are_stripped() {
        for subject in [
            "Printer jam",
            "Re: Printer jam",
            "RE: re: Printer   jam",
            "AW: Printer jam",
            "SV: Printer jam",
            "VS: Printer jam",
            "Réf. : Printer jam",
            "回复: Printer jam",
            "回复：Printer jam",
            "Fwd: Re: Printer jam",
            "Re[2]: Printer jam",
            "[#42] Re: Printer jam",
            "Re: [#42] Printer jam",
        ] {
            assert_eq!(normalized_subject(subject), "printer jam", "{subject}");
        }
        assert_eq!(
            normalized_subject("Regarding: the bill"),
            "regarding: the bill"
        );
        assert_eq!(normalized_subject("Re:"), "");
        assert_eq!(normalized_subject("Time: 10:00"), "time: 10:00");
    }

    #[test]
    fn case_tokens_and_plus_addresses_name_a_case() {
        assert_eq!(case_token("Re: [#1234] broken"), Some(1234));
        assert_eq!(case_token("[#] [#x1] [#77]"), Some(77));
        assert_eq!(case_token("no token [#99999999999999999999]"), None);
        assert_eq!(with_case_token("Hello", 5), "[#5] Hello");
        assert_eq!(with_case_token("Re: [#5] Hello", 5), "Re: [#5] Hello");
        assert_eq!(
            plus_address_case("Support+1234@Example.com", "support@example.com"),
            Some(1234)
        );
        assert_eq!(
            plus_address_case("support+x@example.com", "support@example.com"),
            None
        );
        assert_eq!(
            plus_address_case("sales+12@example.com", "support@example.com"),
            None
        );
        assert_eq!(
            plus_address_case("support+12@other.com", "support@example.com"),
            None
        );
    }

    #[test]
    fn machines_are_told_from_people() {
        let person = NoiseHeaders::default();
        assert_eq!(classify(&person), Noise::None);
        let no = NoiseHeaders {
            auto_submitted: Some("no"),
            ..Default::default()
        };
        assert_eq!(classify(&no), Noise::None);
        for headers in [
            NoiseHeaders {
                auto_submitted: Some("auto-replied"),
                ..Default::default()
            },
            NoiseHeaders {
                precedence: Some("Bulk"),
                ..Default::default()
            },
            NoiseHeaders {
                auto_response_suppress: Some("OOF, AutoReply"),
                ..Default::default()
            },
            NoiseHeaders {
                return_path: Some("<>"),
                ..Default::default()
            },
            NoiseHeaders {
                loop_header: Some("docket"),
                ..Default::default()
            },
        ] {
            assert_eq!(classify(&headers), Noise::AutoReply, "{headers:?}");
        }
        let dsn = NoiseHeaders {
            content_type: Some("multipart/report"),
            report_type: Some("delivery-status"),
            ..Default::default()
        };
        assert_eq!(classify(&dsn), Noise::Bounce);
        let daemon = NoiseHeaders {
            from_address: Some("MAILER-DAEMON@mx.example.com"),
            return_path: Some("<>"),
            ..Default::default()
        };
        assert_eq!(classify(&daemon), Noise::Bounce);
    }

    #[test]
    fn message_ids_are_compared_without_brackets() {
        assert_eq!(
            message_id_key(" <Abc.1@Mail.Example.COM> ").as_deref(),
            Some("Abc.1@mail.example.com")
        );
        assert_eq!(message_id_key("<>"), None);
        assert_eq!(message_id_key("a b@c"), None);
    }

    #[test]
    fn quoted_text_is_split_off() {
        let body = "Thanks, that worked.\n\nOn Mon, 1 Jan 2026, Amy wrote:\n> try again\n";
        let (own, quoted) = split_quoted(body);
        assert_eq!(own, "Thanks, that worked.\n\n");
        assert!(quoted.starts_with("On Mon"));
        let (own, quoted) = split_quoted("> only a quote\n");
        assert_eq!((own, quoted), ("> only a quote\n", ""));
    }
}

/// Where an outgoing message is on its way to the SMTP server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting to be (re)tried at `next_attempt` (seconds).
    Pending {
        next_attempt: i64,
    },
    Sent {
        at: super::Timestamp,
    },
    /// Given up after too many attempts, or refused for good by the server.
    Failed {
        at: super::Timestamp,
    },
}

/// A file to attach, by its blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingAttachment {
    pub sha256: String,
    pub name: String,
    pub content_type: String,
}

/// A message Docket sends, kept until the SMTP server accepted it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMail {
    pub case: CaseNumber,
    /// The activity event that shows it.
    pub event: u64,
    /// `Name <address>` or a bare address.
    pub from: String,
    pub reply_to: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub subject: String,
    pub body: String,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub attachments: Vec<OutgoingAttachment>,
    /// Sent by Docket on its own (acknowledgements): marked
    /// `Auto-Submitted: auto-generated`.
    pub automatic: bool,
    /// The body as HTML, sent beside the plain text as an alternative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    pub state: DeliveryState,
    pub attempts: u32,
    pub last_error: Option<String>,
}
