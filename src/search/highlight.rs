//! Excerpts of where a query matched, cut from a case's texts.

use super::*;

/// An excerpt as pieces of text, each marked as a match or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub parts: Vec<(String, bool)>,
}

impl Snippet {
    fn from_ranges(fragment: &str, highlighted: &[std::ops::Range<usize>]) -> Snippet {
        let mut parts = Vec::new();
        let mut at = 0;
        let mut ranges: Vec<_> = highlighted.to_vec();
        ranges.sort_by_key(|r| r.start);
        for range in ranges {
            if range.start < at || range.end > fragment.len() {
                continue;
            }
            if range.start > at {
                parts.push((fragment[at..range.start].to_owned(), false));
            }
            parts.push((fragment[range.clone()].to_owned(), true));
            at = range.end;
        }
        if at < fragment.len() {
            parts.push((fragment[at..].to_owned(), false));
        }
        Snippet { parts }
    }

    /// HTML-escaped text with each match in `<b>`.
    pub fn to_html(&self) -> String {
        let mut html = String::new();
        for (text, matched) in &self.parts {
            let escaped = text
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
                .replace('\'', "&#39;");
            if *matched {
                html.push_str("<b>");
                html.push_str(&escaped);
                html.push_str("</b>");
            } else {
                html.push_str(&escaped);
            }
        }
        html
    }
}

/// Cuts excerpts of where a query matched out of a case's texts.
pub struct Highlighter {
    /// The query's indexed terms, to skip cheaply texts that cannot match.
    pub(super) terms: Vec<String>,
    /// Messages and the description.
    pub(super) text: Option<SnippetGenerator>,
    pub(super) notes: Option<SnippetGenerator>,
    pub(super) subject: Option<SnippetGenerator>,
}

impl Highlighter {
    /// An excerpt of a message or the description, if the query matched it.
    pub fn in_text(&self, text: &str) -> Option<Snippet> {
        self.cut(self.text.as_ref(), text)
    }

    /// An excerpt of an internal note (none for partners).
    pub fn in_note(&self, text: &str) -> Option<Snippet> {
        self.cut(self.notes.as_ref(), text)
    }

    pub fn in_subject(&self, text: &str) -> Option<Snippet> {
        self.cut(self.subject.as_ref(), text)
    }

    fn cut(&self, generator: Option<&SnippetGenerator>, text: &str) -> Option<Snippet> {
        let generator = generator?;
        let snippet = generator.snippet(self.window(text)?);
        (!snippet.highlighted().is_empty())
            .then(|| Snippet::from_ranges(snippet.fragment(), snippet.highlighted()))
    }

    /// The part of `text` around the first place a query term appears, or
    /// `None` when none does. Analysing (stemming) a whole long message is
    /// far dearer than finding the terms' letters in it, and an excerpt
    /// needs only the neighbourhood of a match. Stems are prefixes of the
    /// words they come from, so this rarely misses; a word whose accents
    /// were folded away may be passed over, never wrongly shown.
    fn window<'t>(&self, text: &'t str) -> Option<&'t str> {
        // An excerpt shows 200 characters: a little more either side of
        // the first match is all the generator needs to choose them, and
        // every character given is analysed.
        const BEFORE: usize = 120;
        const AFTER: usize = 280;
        if self.terms.is_empty() {
            return Some(&text[..floor_boundary(text, BEFORE + AFTER)]);
        }
        // ASCII lowercasing keeps byte offsets equal to the text's.
        let lower = text.to_ascii_lowercase();
        let at = self
            .terms
            .iter()
            .filter_map(|term| lower.find(term.as_str()))
            .min()?;
        let mut start = floor_boundary(text, at.saturating_sub(BEFORE));
        // Begin at a word, not in the middle of one: the excerpt may start
        // where the window does.
        if start > 0
            && let Some(space) = text[start..at].find(char::is_whitespace)
        {
            start += space + 1;
        }
        let end = floor_boundary(text, at + AFTER);
        Some(&text[start..end])
    }
}

/// How much of each message, and of all of a case's messages, the stored
/// excerpt source keeps: enough for the line under a hit, small enough
/// that a page of hits costs microseconds, not a read of whole
/// conversations.
const SOURCE_PER_TEXT: usize = 320;
const SOURCE_TEXT_TOTAL: usize = 1_600;
const SOURCE_NOTES_TOTAL: usize = 640;

/// The excerpt source of a case's description and messages (oldest
/// first): the head of each, without quoted replies or signatures.
pub(super) fn text_source<'a>(texts: impl Iterator<Item = &'a str>) -> String {
    source(texts, SOURCE_TEXT_TOTAL)
}

/// The excerpt source of a case's internal notes.
pub(super) fn notes_source<'a>(texts: impl Iterator<Item = &'a str>) -> String {
    source(texts, SOURCE_NOTES_TOTAL)
}

fn source<'a>(texts: impl Iterator<Item = &'a str>, total: usize) -> String {
    let mut out = String::new();
    for text in texts {
        if out.len() >= total {
            break;
        }
        let head = own_words(text);
        if head.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        let room = SOURCE_PER_TEXT.min(total.saturating_sub(out.len()));
        out.push_str(&head[..floor_boundary(&head, room)]);
    }
    out
}

/// What the writer of a message wrote: its lines before the signature,
/// without quoted lines, joined by spaces.
fn own_words(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line == "--" || line == "-- " {
            break;
        }
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('>') {
            continue;
        }
        if out.len() > SOURCE_PER_TEXT {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(line);
    }
    out
}

/// The largest char boundary of `text` at or below `at`.
fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_around_a_match_starts_at_a_word() {
        let highlighter = Highlighter {
            terms: vec!["refund".into()],
            text: None,
            notes: None,
            subject: None,
        };
        let text = format!("{} and then the refund came", "lorem ipsum ".repeat(30));
        let window = highlighter.window(&text).unwrap();
        assert!(window.contains("refund"));
        assert!(
            window.starts_with("lorem ") || window.starts_with("ipsum "),
            "{window}"
        );
        assert!(highlighter.window("nothing here").is_none());
    }

    #[test]
    fn sources_keep_the_head_of_each_text_without_quotes_or_signatures() {
        let first = "Hello,\n\nMy router drops the line.\n\n> an old quote\n-- \nAnna";
        let second = "x".repeat(2_000);
        let source = text_source([first, second.as_str(), "never reached"].into_iter());
        assert!(
            source.starts_with("Hello, My router drops the line.\n"),
            "{source}"
        );
        assert!(!source.contains("quote") && !source.contains("Anna"));
        assert!(source.len() <= SOURCE_TEXT_TOTAL);
        let many: Vec<String> = (0..100).map(|i| format!("message {i}")).collect();
        let source = notes_source(many.iter().map(String::as_str));
        assert!(source.len() <= SOURCE_NOTES_TOTAL + 20);
        assert!(source.starts_with("message 0\nmessage 1\n"));
    }
}
