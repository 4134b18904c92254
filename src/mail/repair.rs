//! Broken mail made readable the way mail clients read it, before the
//! parser sees it: a header section that runs into the body without the
//! blank line, `Content-Type` values without their `;` or subtype,
//! multiparts whose closing boundary never came, and header bytes in no
//! declared charset (windows-1252, as clients assume). Each repair only
//! touches what is broken: a well-formed message passes through unchanged.

use std::borrow::Cow;

use mail_parser::decoders::charsets::map::charset_decoder;
use memchr::memmem;

/// The most multipart boundaries a message is searched for: real mail
/// nests a handful; more is an attack on the repair's time.
const BOUNDARIES_MAX: usize = 50;

/// The message with its known kinds of damage repaired.
pub fn repaired(raw: &[u8]) -> Cow<'_, [u8]> {
    let mut text: Cow<'_, [u8]> = Cow::Borrowed(raw);
    if let Some(fixed) = with_header_separator(&text) {
        text = Cow::Owned(fixed);
    }
    if let Some(fixed) = with_content_types_fixed(&text) {
        text = Cow::Owned(fixed);
    }
    if let Some(fixed) = with_header_bytes_decoded(&text) {
        text = Cow::Owned(fixed);
    }
    if let Some(fixed) = with_boundaries_closed(&text) {
        text = Cow::Owned(fixed);
    }
    text
}

/// Text in no declared charset: UTF-8 when it is valid, else
/// windows-1252, as mail clients read undeclared 8-bit text.
pub fn undeclared_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => charset_decoder(b"windows-1252").map_or_else(
            || String::from_utf8_lossy(bytes).into_owned(),
            |decode| decode(bytes),
        ),
    }
}

/// Lines with their line ends, as slices of `raw`.
fn lines(raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    raw.split_inclusive(|b| *b == b'\n')
}

fn trimmed(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|b| !matches!(b, b'\r' | b'\n'))
        .map_or(0, |i| i + 1);
    &line[..end]
}

/// `Name: value`: a field name of printable characters, then a colon
/// (obsolete syntax allows blanks before it: `Subject : x`).
fn is_header_line(line: &[u8]) -> bool {
    match line.iter().position(|b| *b == b':') {
        Some(colon) if colon > 0 => {
            let name = trimmed_end_blanks(&line[..colon]);
            !name.is_empty() && name.iter().all(|b| b.is_ascii_graphic())
        }
        _ => false,
    }
}

fn trimmed_end_blanks(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(0, |i| i + 1);
    &bytes[..end]
}

fn is_blank(line: &[u8]) -> bool {
    trimmed(line).is_empty()
}

/// Inserts the blank line where the header section runs into text that is
/// neither a header nor a folded continuation of one.
fn with_header_separator(raw: &[u8]) -> Option<Vec<u8>> {
    let mut offset = 0;
    for (index, line) in lines(raw).enumerate() {
        if is_blank(line) {
            return None;
        }
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        let folded = continuation && index > 0;
        if !(is_header_line(line) || folded) {
            // The first line is not a header: this is no message at all.
            if index == 0 {
                return None;
            }
            // A fold that lost its indent, with headers after it, is left
            // to the parser.
            let header_follows = lines(&raw[offset..])
                .skip(1)
                .take_while(|l| !is_blank(l))
                .any(is_header_line);
            if header_follows {
                return None;
            }
            let mut fixed = Vec::with_capacity(raw.len() + 2);
            fixed.extend_from_slice(&raw[..offset]);
            fixed.extend_from_slice(b"\r\n");
            fixed.extend_from_slice(&raw[offset..]);
            return Some(fixed);
        }
        offset += line.len();
    }
    None
}

/// `TEXT/PLAIN charset=US-ASCII` → `TEXT/PLAIN; charset=US-ASCII`, and a
/// type without a subtype (`text`) → `text/plain`.
fn fixed_content_type(value: &str) -> Option<String> {
    let value = value.trim();
    let (media, rest) = match value.find([';', ' ', '\t']) {
        Some(at) => (&value[..at], &value[at..]),
        None => (value, ""),
    };
    let mut changed = false;
    let media = if media.contains('/') {
        media.to_owned()
    } else if media.eq_ignore_ascii_case("text") {
        changed = true;
        "text/plain".to_owned()
    } else {
        return None;
    };
    let rest_trimmed = rest.trim_start();
    let rest = if !rest_trimmed.is_empty() && !rest_trimmed.starts_with(';') {
        changed = true;
        format!("; {rest_trimmed}")
    } else {
        rest.to_owned()
    };
    changed.then(|| format!("{media}{rest}"))
}

fn with_content_types_fixed(raw: &[u8]) -> Option<Vec<u8>> {
    const NAME: &[u8] = b"content-type:";
    let delimiters = delimiters(raw);
    let mut sections = HeaderSections::new(&delimiters);
    let mut fixed = Vec::with_capacity(raw.len());
    let mut changed = false;
    for line in lines(raw) {
        // Only header sections: a body may quote such a line.
        let is_content_type = sections.in_headers(line)
            && line.len() > NAME.len()
            && line[..NAME.len()].eq_ignore_ascii_case(NAME);
        let value = is_content_type
            .then(|| std::str::from_utf8(trimmed(&line[NAME.len()..])).ok())
            .flatten();
        match value.and_then(fixed_content_type) {
            Some(value) => {
                changed = true;
                fixed.extend_from_slice(b"Content-Type: ");
                fixed.extend_from_slice(value.as_bytes());
                fixed.extend_from_slice(&line[trimmed(line).len()..]);
            }
            None => fixed.extend_from_slice(line),
        }
    }
    changed.then_some(fixed)
}

/// The boundaries the message's `Content-Type` headers declare (at most
/// [`BOUNDARIES_MAX`]), outermost first. Only those lines are read: a
/// `boundary=` in body text declares nothing.
fn boundaries(raw: &[u8]) -> Vec<Vec<u8>> {
    let mut found: Vec<Vec<u8>> = Vec::new();
    let mut in_content_type = false;
    for line in lines(raw) {
        let starts = line.len() > 13 && line[..13].eq_ignore_ascii_case(b"content-type:");
        let folded = matches!(line.first(), Some(b' ' | b'\t'));
        in_content_type = starts || (in_content_type && folded);
        if !in_content_type {
            continue;
        }
        let lower = line.to_ascii_lowercase();
        let Some(at) = memmem::find(&lower, b"boundary=") else {
            continue;
        };
        let rest = &line[at + b"boundary=".len()..];
        let value: Vec<u8> = if rest.first() == Some(&b'"') {
            rest[1..]
                .iter()
                .take_while(|b| **b != b'"')
                .copied()
                .collect()
        } else {
            rest.iter()
                .take_while(|b| !b.is_ascii_whitespace() && **b != b';')
                .copied()
                .collect()
        };
        if !value.is_empty() && value.len() <= 200 && !found.contains(&value) {
            found.push(value);
            if found.len() >= BOUNDARIES_MAX {
                break;
            }
        }
    }
    found
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memmem::find(haystack, needle)
}

/// `--BOUNDARY` for each declared boundary.
fn delimiters(raw: &[u8]) -> Vec<Vec<u8>> {
    boundaries(raw)
        .into_iter()
        .map(|b| [b"--".as_slice(), &b].concat())
        .collect()
}

/// Tells, line by line, whether a line is in a header section: the
/// message's own, or a part's after its delimiter line.
struct HeaderSections<'a> {
    delimiters: &'a [Vec<u8>],
    in_headers: bool,
}

impl<'a> HeaderSections<'a> {
    fn new(delimiters: &'a [Vec<u8>]) -> Self {
        HeaderSections {
            delimiters,
            in_headers: true,
        }
    }

    /// Whether `line`, the next one, is a header line (a delimiter line
    /// and the blank line ending a section are not).
    fn in_headers(&mut self, line: &[u8]) -> bool {
        if self.in_headers && is_blank(line) {
            self.in_headers = false;
            return false;
        }
        if !self.in_headers
            && line.starts_with(b"--")
            && self.delimiters.iter().any(|d| trimmed(line).starts_with(d))
        {
            self.in_headers = true;
            return false;
        }
        self.in_headers
    }
}

/// Closes, innermost first, every multipart whose closing delimiter never
/// came, so its last part is read as a part and not left raw.
fn with_boundaries_closed(raw: &[u8]) -> Option<Vec<u8>> {
    let unclosed: Vec<Vec<u8>> = boundaries(raw)
        .into_iter()
        .filter(|b| {
            let mut opening = b"--".to_vec();
            opening.extend_from_slice(b);
            let mut closing = opening.clone();
            closing.extend_from_slice(b"--");
            find(raw, &opening).is_some() && find(raw, &closing).is_none()
        })
        .collect();
    if unclosed.is_empty() {
        return None;
    }
    let mut fixed = raw.to_vec();
    if !fixed.ends_with(b"\n") {
        fixed.extend_from_slice(b"\r\n");
    }
    for boundary in unclosed.iter().rev() {
        fixed.extend_from_slice(b"--");
        fixed.extend_from_slice(boundary);
        fixed.extend_from_slice(b"--\r\n");
    }
    Some(fixed)
}

/// Header sections (the message's and each part's) whose bytes are not
/// UTF-8, decoded as windows-1252: headers declare no charset, and
/// encoded words in them stay ASCII, so this leaves those alone.
fn with_header_bytes_decoded(raw: &[u8]) -> Option<Vec<u8>> {
    if std::str::from_utf8(raw).is_ok() {
        return None;
    }
    let delimiters = delimiters(raw);
    let mut sections = HeaderSections::new(&delimiters);
    let mut fixed = Vec::with_capacity(raw.len() + 64);
    let mut changed = false;
    for line in lines(raw) {
        if sections.in_headers(line) && std::str::from_utf8(line).is_err() {
            changed = true;
            fixed.extend_from_slice(undeclared_text(line).as_bytes());
        } else {
            fixed.extend_from_slice(line);
        }
    }
    changed.then_some(fixed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(raw: &[u8]) -> String {
        String::from_utf8(repaired(raw).into_owned()).unwrap()
    }

    #[test]
    fn a_well_formed_message_is_left_alone() {
        let raw = b"From: a@b.example\r\nSubject: hi\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n";
        assert!(matches!(repaired(raw), Cow::Borrowed(_)));
    }

    #[test]
    fn the_missing_blank_line_is_put_back() {
        let fixed = text(b"From: a@b.example\r\nSubject: x\r\n  continued\r\nHello there\r\n");
        assert_eq!(
            fixed,
            "From: a@b.example\r\nSubject: x\r\n  continued\r\n\r\nHello there\r\n"
        );
        // Text that is no message at all stays as it is.
        assert!(matches!(repaired(b"just some words\r\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn content_types_get_their_separator_and_subtype() {
        assert_eq!(
            fixed_content_type("TEXT/PLAIN charset=US-ASCII").as_deref(),
            Some("TEXT/PLAIN; charset=US-ASCII")
        );
        assert_eq!(fixed_content_type("text").as_deref(), Some("text/plain"));
        assert_eq!(
            fixed_content_type("text; charset=utf-8").as_deref(),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(fixed_content_type("text/plain; charset=utf-8"), None);
        assert_eq!(fixed_content_type("multipart/mixed; boundary=x"), None);
    }

    #[test]
    fn an_unclosed_multipart_is_closed() {
        let fixed = text(b"Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n--o\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\n\r\nhi\r\n");
        assert!(fixed.ends_with("hi\r\n--i--\r\n--o--\r\n"), "{fixed}");
        let closed = b"Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n\r\nhi\r\n--o--\r\n";
        assert!(matches!(repaired(closed), Cow::Borrowed(_)));
    }

    #[test]
    fn undeclared_header_bytes_read_as_windows_1252() {
        let fixed = repaired(b"Subject: Caf\xe9 \x80 5\r\n\r\nBody stays \xe9\r\n").into_owned();
        assert!(
            fixed.starts_with("Subject: Café € 5\r\n\r\n".as_bytes()),
            "{fixed:?}"
        );
        // Bodies have charsets of their own: the parser reads those.
        assert!(fixed.ends_with(b"Body stays \xe9\r\n"));
        assert_eq!(undeclared_text(b"cr\xe8me"), "crème");
        assert_eq!(undeclared_text("crème".as_bytes()), "crème");
    }
}

#[cfg(test)]
mod hostile {
    use super::*;

    #[test]
    fn boundary_text_in_a_body_costs_nothing_and_declares_nothing() {
        let mut raw = b"From: a@b.example\r\nSubject: x\r\n\r\n".to_vec();
        for i in 0..200_000 {
            raw.extend_from_slice(format!("boundary=a{i}\r\n").as_bytes());
        }
        let started = std::time::Instant::now();
        assert!(matches!(repaired(&raw), Cow::Borrowed(_)));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn valid_headers_are_not_cut_and_bodies_not_rewritten() {
        // Obsolete but valid: blanks before the colon.
        let raw = b"From: a@b.example\r\nSubject : x\r\nMessage-ID: <m@x>\r\n\r\nbody\r\n";
        assert!(matches!(repaired(raw), Cow::Borrowed(_)));
        // A fold that lost its indent, with headers after it.
        let raw =
            b"From: a@b.example\r\nSubject: a long\r\nsubject\r\nMessage-ID: <m@x>\r\n\r\nbody\r\n";
        assert!(matches!(repaired(raw), Cow::Borrowed(_)));
        // A body quoting a broken header line stays as written.
        let raw = b"From: a@b.example\r\nSubject: x\r\n\r\nContent-Type: text\r\n";
        assert!(matches!(repaired(raw), Cow::Borrowed(_)));
    }
}
