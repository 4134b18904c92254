//! Raw RFC 5322 messages into what Docket keeps of them, with `mail-parser`:
//! every charset and transfer encoding, nested multiparts, attachments and
//! inline images. HTML is sanitised with `ammonia`; search gets plain text.

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{Address, Encoding, HeaderValue, Message, MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

use crate::domain::case::{DESCRIPTION_MAX, SUBJECT_MAX};
use crate::domain::file::{clean_content_type, clean_file_name};
use crate::domain::mail::{self, LOOP_HEADER, Noise, NoiseHeaders};

/// The subject of a message that has none.
pub const NO_SUBJECT: &str = "(no subject)";

/// At most this many addresses of each kind are kept.
const ADDRESSES_MAX: usize = 100;
/// At most this many references are followed.
const REFERENCES_MAX: usize = 50;

/// Why a message cannot be taken in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the message is empty")]
    Empty,
    #[error("the message has no header section; is this an RFC 5322 message?")]
    NotAMessage,
}

#[derive(Debug, Clone)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// For inline images referenced as `cid:` from the HTML.
    pub content_id: Option<String>,
}

/// What Docket keeps of one inbound message.
#[derive(Debug, Clone)]
pub struct InboundMail {
    /// Key form (no angle brackets), when the message has a usable one.
    pub message_id: Option<String>,
    /// In-Reply-To then References, newest first, key form.
    pub parents: Vec<String>,
    pub from_name: Option<String>,
    pub from_address: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// Envelope recipients the MTA recorded (`Delivered-To`,
    /// `X-Original-To`), which keep plus-addresses that `To` may not.
    pub delivered_to: Vec<String>,
    pub subject: String,
    /// Plain text, for search and the first view.
    pub text: String,
    /// Sanitised HTML.
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
    pub noise: Noise,
    /// Sent through a mailing list (`List-Id`, `Precedence: list`): a
    /// person's mail, but nobody to send an automatic reply to.
    pub via_list: bool,
    /// The sender's mail system marked it spam (`X-Spam-Flag` and kin).
    pub upstream_spam: bool,
    /// Its `Date` header, when it has a valid one.
    pub date: Option<crate::domain::Timestamp>,
    /// Message-ID and content: the same message delivered twice has the same key.
    pub dedup_key: [u8; 32],
}

impl InboundMail {
    /// Every address the message was sent to.
    pub fn recipients(&self) -> impl Iterator<Item = &str> {
        self.delivered_to
            .iter()
            .chain(&self.to)
            .chain(&self.cc)
            .map(String::as_str)
    }
}

/// Parses one raw message, repaired first where it is broken in the ways
/// mail clients forgive (see `repair`). Never panics on any input.
pub fn parse(raw: &[u8]) -> Result<InboundMail, ParseError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    let original = raw;
    let repaired = super::repair::repaired(raw);
    let raw = repaired.as_ref();
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(ParseError::NotAMessage)?;
    if message.headers().is_empty() {
        return Err(ParseError::NotAMessage);
    }
    let message_id = message.message_id().and_then(mail::message_id_key);
    let (from_name, from_address) = first_address(message.from().or(message.sender()));
    let noise = classify(&message, from_address.as_deref());
    let subject = message
        .subject()
        .map(|s| single_line(s, SUBJECT_MAX))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| NO_SUBJECT.to_owned());
    let text = match message.text_body.first().and_then(|i| message.part(*i)) {
        Some(part) if matches!(part.body, PartType::Text(_)) => part_text(part, raw),
        _ => message.body_text(0).map(|t| t.into_owned()),
    }
    .map(|t| clean_text(&t, DESCRIPTION_MAX))
    .unwrap_or_default();
    let html = message
        .html_bodies()
        .next()
        .filter(|part| part.is_text_html())
        .and_then(|part| part_text(part, raw))
        .map(|h| sanitize_html(&h))
        .filter(|h| !h.trim().is_empty());
    let mut parents = parents(&message);
    if noise == Noise::Bounce {
        for id in bounced_message_ids(&message) {
            if !parents.contains(&id) {
                parents.push(id);
            }
        }
    }
    let header = |name: &'static str| message.header_raw(name).map(str::trim);
    let via_list = header("List-Id").is_some()
        || header("Precedence").is_some_and(|p| p.eq_ignore_ascii_case("list"));
    let upstream_spam = mail::upstream_spam(
        header("X-Spam-Flag"),
        header("X-Spam-Status"),
        header("X-Spam"),
    );
    let date = message
        .date()
        .and_then(|d| chrono::DateTime::from_timestamp(d.to_timestamp(), 0));
    Ok(InboundMail {
        via_list,
        upstream_spam,
        date,
        dedup_key: dedup_key(
            &message,
            message_id.as_deref(),
            original,
            matches!(repaired, std::borrow::Cow::Owned(_)),
        ),
        parents,
        message_id,
        from_name,
        from_address,
        to: addresses(message.to()),
        cc: addresses(message.cc()),
        delivered_to: delivered_to(&message),
        subject,
        text,
        html,
        attachments: attachments(&message),
        noise,
    })
}

/// A text part's text. Where it declares no charset the parser knows and
/// its bytes are not UTF-8, they are read as windows-1252, as mail clients
/// do, rather than as replacement characters.
fn part_text(part: &mail_parser::MessagePart<'_>, raw: &[u8]) -> Option<String> {
    let text = match &part.body {
        PartType::Text(text) | PartType::Html(text) => text,
        _ => return None,
    };
    // A charset the parser decodes, UTF-8 included (which it reads without
    // a decoder): one stray byte there stays one replacement character.
    let declared = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .is_some_and(|c| {
            let label = c.trim().to_ascii_lowercase();
            label == "utf-8" || label == "utf8" || charset_decoder(c.as_bytes()).is_some()
        });
    if !text.contains('\u{FFFD}') || declared {
        return Some(text.to_string());
    }
    let Some(body) = raw.get(part.offset_body as usize..part.offset_end as usize) else {
        return Some(text.to_string());
    };
    let bytes = match part.encoding {
        Encoding::QuotedPrintable => quoted_printable_decode(body),
        Encoding::Base64 => base64_decode(body),
        Encoding::None => Some(body.to_vec()),
    };
    Some(bytes.map_or_else(|| text.to_string(), |b| super::repair::undeclared_text(&b)))
}

fn classify(message: &Message<'_>, from_address: Option<&str>) -> Noise {
    let raw = |name: &'static str| message.header_raw(name).map(str::trim);
    let content_type = message.content_type();
    let kind =
        content_type.map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()));
    let return_path = match message.return_path() {
        HeaderValue::Empty => raw("Return-Path"),
        value => value.as_text().or(raw("Return-Path")),
    };
    mail::classify(&NoiseHeaders {
        auto_submitted: raw("Auto-Submitted"),
        precedence: raw("Precedence"),
        auto_response_suppress: raw("X-Auto-Response-Suppress"),
        x_autoreply: raw("X-Autoreply").or(raw("X-Autorespond")),
        return_path,
        content_type: kind.as_deref(),
        report_type: content_type.and_then(|ct| ct.attribute("report-type")),
        from_address,
        loop_header: raw(LOOP_HEADER),
    })
}

/// The key that makes intake idempotent, from the message as it arrived
/// (never the repaired copy: a better repair must not make old mail new),
/// with line ends as CRLF and trailing blank lines dropped, so that the same
/// message from a pipe (LF), IMAP (CRLF) or an mbox is one message.
fn dedup_key(
    message: &Message<'_>,
    message_id: Option<&str>,
    original: &[u8],
    was_repaired: bool,
) -> [u8; 32] {
    let mut hasher = Sha256::new();
    match message_id {
        Some(id) => {
            // Relays add trace headers; the body and the id stay the same.
            // The parser's offsets are into the repaired copy.
            let body_start = if was_repaired {
                header_end(original)
            } else {
                message.root_part().offset_body as usize
            }
            .min(original.len());
            hasher.update(b"id:");
            hasher.update(id.as_bytes());
            hasher.update(b"\n");
            hasher.update(Sha256::digest(canonical(&original[body_start..])));
        }
        None => {
            hasher.update(b"raw:");
            hasher.update(canonical(original));
        }
    }
    hasher.finalize().into()
}

/// Where the header section of `raw` ends (after its blank line), or 0.
fn header_end(raw: &[u8]) -> usize {
    let crlf = memchr::memmem::find(raw, b"\r\n\r\n").map(|i| i + 4);
    let lf = memchr::memmem::find(raw, b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(0),
    }
}

/// `bytes` with CRLF line ends and no trailing blank lines.
fn canonical(bytes: &[u8]) -> Vec<u8> {
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, b'\r' | b'\n'))
        .map_or(0, |i| i + 1);
    let mut out = Vec::with_capacity(end + end / 32);
    let mut previous = 0u8;
    for &b in &bytes[..end] {
        if b == b'\n' && previous != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        previous = b;
    }
    out
}

fn parents(message: &Message<'_>) -> Vec<String> {
    let ids = |value: &HeaderValue<'_>| -> Vec<String> {
        value
            .as_text_list()
            .map(|list| {
                list.iter()
                    .filter_map(|id| mail::message_id_key(id))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut parents = ids(message.in_reply_to());
    let mut references = ids(message.references());
    references.reverse();
    for id in references {
        if !parents.contains(&id) {
            parents.push(id);
        }
    }
    parents.truncate(REFERENCES_MAX);
    parents
}

/// The Message-ID (and references) of the message a delivery report is
/// about, from its returned message or returned headers (RFC 3462).
fn bounced_message_ids(message: &Message<'_>) -> Vec<String> {
    let mut ids = Vec::new();
    for part in message.parts.iter() {
        let returned = match &part.body {
            PartType::Message(inner) => Some(inner.clone()),
            _ if part.content_type().is_some_and(|ct| {
                ct.ctype() == "text" && ct.subtype() == Some("rfc822-headers")
            }) =>
            {
                let mut headers = part.contents().to_vec();
                headers.extend_from_slice(b"\r\n\r\n");
                MessageParser::default()
                    .parse(&headers)
                    .map(|m| m.into_owned())
            }
            _ => None,
        };
        if let Some(returned) = returned {
            ids.extend(returned.message_id().and_then(mail::message_id_key));
            ids.extend(parents(&returned));
        }
    }
    ids.truncate(REFERENCES_MAX);
    ids
}

fn first_address(address: Option<&Address<'_>>) -> (Option<String>, Option<String>) {
    let Some(first) = address.and_then(|a| a.first()) else {
        return (None, None);
    };
    let name = first
        .name()
        .map(|n| single_line(n, 200))
        .filter(|n| !n.is_empty());
    let address = first.address().and_then(clean_address);
    (name, address)
}

fn addresses(address: Option<&Address<'_>>) -> Vec<String> {
    address
        .map(|a| {
            a.iter()
                .filter_map(|addr| addr.address().and_then(clean_address))
                .take(ADDRESSES_MAX)
                .collect()
        })
        .unwrap_or_default()
}

fn delivered_to(message: &Message<'_>) -> Vec<String> {
    message
        .headers()
        .iter()
        .filter(|h| {
            let name = h.name();
            name.eq_ignore_ascii_case("Delivered-To") || name.eq_ignore_ascii_case("X-Original-To")
        })
        .filter_map(|h| match &h.value {
            HeaderValue::Text(text) => clean_address(text),
            HeaderValue::Address(a) => a.first().and_then(|f| f.address()).and_then(clean_address),
            _ => None,
        })
        .take(ADDRESSES_MAX)
        .collect()
}

/// An address as Docket compares it: trimmed, lower-case, plausible.
fn clean_address(address: &str) -> Option<String> {
    let address = address.trim().trim_start_matches('<').trim_end_matches('>');
    crate::domain::validate::email("address", address)
        .ok()
        .map(|a| a.to_lowercase())
}

fn attachments(message: &Message<'_>) -> Vec<Attachment> {
    message
        .attachments()
        .map(|part| {
            let bytes = match &part.body {
                PartType::Message(inner) => inner.raw_message().to_vec(),
                _ => part.contents().to_vec(),
            };
            let declared = part
                .content_type()
                .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("octet-stream")));
            let content_type = match &part.body {
                PartType::Message(_) => "message/rfc822".to_owned(),
                _ => clean_content_type(declared.as_deref()),
            };
            let fallback = match content_type.as_str() {
                "message/rfc822" => Some("message.eml"),
                _ => None,
            };
            Attachment {
                name: clean_file_name(part.attachment_name().or(fallback)),
                content_type,
                bytes,
                content_id: part.content_id().and_then(safe_content_id),
            }
        })
        .collect()
}

/// A Content-ID usable in a `cid:` URL: only characters that cannot end an
/// attribute or start markup, so rewriting it in sanitised HTML is safe.
fn safe_content_id(raw: &str) -> Option<String> {
    let id = mail::message_id_key(raw)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._-@+$=".contains(c);
    (id.len() <= 200 && id.chars().all(allowed)).then_some(id)
}

/// One line, control characters removed, bounded.
fn single_line(value: &str, max: usize) -> String {
    value
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect()
}

/// Text with `\n` line ends, no control characters but tabs, bounded.
fn clean_text(value: &str, max: usize) -> String {
    const CUT: &str = "\n[… the rest of this message was cut]";
    let normalized = value.replace("\r\n", "\n").replace('\r', "\n");
    let kept = normalized
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'));
    if normalized.chars().count() <= max {
        return kept.collect::<String>().trim_end().to_owned();
    }
    // The notice counts towards the limit, so the result is always valid.
    let mut out: String = kept.take(max - CUT.chars().count()).collect();
    out.push_str(CUT);
    out
}

/// Sanitises mail HTML for display: no scripts, styles, forms, svg or math;
/// links open safely; images load only from the message itself (`cid:`),
/// never from the network, so opening a message tells its sender nothing.
pub fn sanitize_html(html: &str) -> String {
    let mut builder = ammonia::Builder::default();
    builder
        .add_url_schemes(["cid"])
        .link_rel(Some("noopener noreferrer nofollow"))
        .attribute_filter(|element, attribute, value| {
            if element == "img" && attribute == "src" {
                let local = value.trim_start().to_ascii_lowercase().starts_with("cid:");
                return local.then(|| value.into());
            }
            Some(value.into())
        });
    builder.clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_message_is_read() {
        let raw = b"From: Jane Doe <Jane@Example.com>\r\nTo: support@desk.test\r\nSubject: Printer =?utf-8?q?jam=C3=A9?=\r\nMessage-ID: <abc@Example.com>\r\nIn-Reply-To: <p1@x>\r\nReferences: <p0@x> <p1@x>\r\n\r\nHello\r\nthere\r\n";
        let mail = parse(raw).unwrap();
        assert_eq!(mail.subject, "Printer jamé");
        assert_eq!(mail.from_address.as_deref(), Some("jane@example.com"));
        assert_eq!(mail.from_name.as_deref(), Some("Jane Doe"));
        assert_eq!(mail.message_id.as_deref(), Some("abc@example.com"));
        assert_eq!(mail.parents, vec!["p1@x".to_owned(), "p0@x".to_owned()]);
        assert_eq!(mail.text, "Hello\nthere");
        assert_eq!(mail.noise, Noise::None);
    }

    #[test]
    fn html_is_sanitised_and_remote_images_dropped() {
        let clean = sanitize_html(
            r#"<p onclick="x()">Hi<script>alert(1)</script></p><img src="https://t.example/p.gif"><img src="cid:logo@x"><svg><circle/></svg><style>p{}</style><a href="javascript:x">y</a>"#,
        );
        assert!(!clean.contains("script"), "{clean}");
        assert!(!clean.contains("onclick"), "{clean}");
        assert!(!clean.contains("t.example"), "{clean}");
        assert!(clean.contains("cid:logo@x"), "{clean}");
        assert!(
            !clean.contains("svg") && !clean.contains("style"),
            "{clean}"
        );
        assert!(!clean.contains("javascript"), "{clean}");
    }

    #[test]
    fn garbage_is_refused_not_panicked_on() {
        assert_eq!(parse(b"").unwrap_err(), ParseError::Empty);
        assert!(parse(b"\r\n\r\n").is_err());
        for raw in [
            &b"\xff\xfe\x00garbage"[..],
            b"no headers here at all",
            b"Subject:",
        ] {
            let _ = parse(raw);
        }
    }

    #[test]
    fn a_very_long_body_is_cut_within_the_limit() {
        let body = "word ".repeat(DESCRIPTION_MAX);
        let raw = format!("From: a@b.example\r\nSubject: long\r\n\r\n{body}");
        let mail = parse(raw.as_bytes()).unwrap();
        assert!(mail.text.chars().count() <= DESCRIPTION_MAX);
        assert!(mail.text.ends_with("was cut]"));
    }

    #[test]
    fn content_ids_with_markup_characters_are_dropped() {
        assert_eq!(
            safe_content_id("<logo@x.example>").as_deref(),
            Some("logo@x.example")
        );
        assert_eq!(safe_content_id("<a\"b@x>"), None);
        assert_eq!(safe_content_id("<a>b@x>"), None);
    }

    #[test]
    fn the_same_message_relayed_twice_has_one_key() {
        let a = parse(b"Received: by a\r\nMessage-ID: <m@x>\r\nSubject: s\r\n\r\nbody").unwrap();
        let b = parse(
            b"Received: by b\r\nReceived: by c\r\nMessage-ID: <m@x>\r\nSubject: s\r\n\r\nbody",
        )
        .unwrap();
        let c = parse(b"Message-ID: <m@x>\r\nSubject: s\r\n\r\nother body").unwrap();
        assert_eq!(a.dedup_key, b.dedup_key);
        assert_ne!(a.dedup_key, c.dedup_key);
        // The same message through a pipe (LF) or out of an mbox (with
        // the blank line before the next "From ").
        let lf = parse(b"Received: by a\nMessage-ID: <m@x>\nSubject: s\n\nbody\n\n").unwrap();
        assert_eq!(a.dedup_key, lf.dedup_key);
        let no_id = |raw: &[u8]| parse(raw).unwrap().dedup_key;
        assert_eq!(
            no_id(b"Subject: s\r\n\r\nbody\r\n"),
            no_id(b"Subject: s\n\nbody\n")
        );
        // A repaired message keeps the key of what arrived.
        let broken = b"From: a@b.example\r\nMessage-ID: <r@x>\r\nContent-Type: text\r\n\r\nhi\r\n";
        assert_eq!(
            no_id(broken),
            no_id(b"From: a@b.example\r\nMessage-ID: <r@x>\r\nContent-Type: text\r\n\r\nhi")
        );
        let utf8 = parse(b"From: a@b.example\r\nSubject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCaf\xc3\xa9 \xff\r\n").unwrap();
        assert!(utf8.text.starts_with("Café "), "{}", utf8.text);
    }
}

/// The shapes of real mail the parser must read as mail clients do.
#[cfg(test)]
mod real_mail {
    use super::*;

    #[test]
    fn every_charset_of_east_asian_mail_is_read() {
        let cases: [(&[u8], &str); 5] = [
            (b"Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n\r\n\x1b$BF|K\\8l\x1b(B\r\n", "日本語"),
            (b"Subject: =?gb2312?B?xOO6ww==?=\r\nContent-Type: text/plain; charset=gb2312\r\n\r\n\xc4\xe3\xba\xc3\r\n", "你好"),
            (b"Subject: =?big5?B?p0Gmbg==?=\r\nContent-Type: text/plain; charset=big5\r\n\r\n\xa7A\xa6n\r\n", "你好"),
            (b"Subject: =?ks_c_5601-1987?B?vsiz5w==?=\r\nContent-Type: text/plain; charset=ks_c_5601-1987\r\n\r\n\xbe\xc8\xb3\xe7\r\n", "안녕"),
            (b"Subject: =?euc-kr?B?vsiz5w==?=\r\nContent-Type: text/plain; charset=euc-kr\r\n\r\n\xbe\xc8\xb3\xe7\r\n", "안녕"),
        ];
        for (raw, expected) in cases {
            let mut message = b"From: a@b.example\r\n".to_vec();
            message.extend_from_slice(raw);
            let mail = parse(&message).unwrap();
            assert_eq!(mail.subject, expected);
            assert_eq!(mail.text, expected);
        }
    }

    #[test]
    fn undeclared_eight_bit_text_reads_as_windows_1252() {
        let mail = parse(
            b"From: Ren\xe9 <a@b.example>\r\nSubject: Caf\xe9\r\n\r\nCaf\xe9 cr\xe8me \x80 5\r\n",
        )
        .unwrap();
        assert_eq!(mail.subject, "Café");
        assert_eq!(mail.from_name.as_deref(), Some("René"));
        assert_eq!(mail.text, "Café crème € 5");
        let qp = parse(b"From: a@b.example\r\nSubject: x\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9\r\n").unwrap();
        assert_eq!(qp.text, "Café");
        let utf8 = parse("From: a@b.example\r\nSubject: x\r\n\r\nCafé\r\n".as_bytes()).unwrap();
        assert_eq!(utf8.text, "Café");
        let named = parse(b"From: a@b.example\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee file\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"r\xe9sum\xe9.pdf\"\r\n\r\n%PDF\r\n--b--\r\n").unwrap();
        assert_eq!(named.attachments[0].name, "résumé.pdf");
    }

    #[test]
    fn broken_mime_keeps_its_body() {
        let unclosed = parse(b"From: a@b.example\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8gdGhlcmU=\r\n").unwrap();
        assert_eq!(unclosed.text, "Hello there");
        assert!(unclosed.attachments.is_empty());
        let no_semicolon =
            parse(b"From: a@b.example\r\nSubject: x\r\nContent-Type: TEXT/PLAIN charset=US-ASCII\r\n\r\nHello plain\r\n").unwrap();
        assert_eq!(no_semicolon.text, "Hello plain");
        assert!(no_semicolon.attachments.is_empty());
        let no_subtype =
            parse(b"From: a@b.example\r\nSubject: x\r\nContent-Type: text\r\n\r\nHello text\r\n")
                .unwrap();
        assert_eq!(no_subtype.text, "Hello text");
        assert!(no_subtype.attachments.is_empty());
        let no_blank_line =
            parse(b"From: a@b.example\r\nSubject: x\r\nHello, this is the body\r\nsecond line\r\n")
                .unwrap();
        assert_eq!(no_blank_line.subject, "x");
        assert_eq!(no_blank_line.text, "Hello, this is the body\nsecond line");
    }
}
