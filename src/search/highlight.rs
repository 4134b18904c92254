//! Excerpts of where a query matched, cut from a case's texts.

use std::cell::RefCell;

use tantivy::tokenizer::TextAnalyzer;

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
///
/// Only words that can stem to a query term are analysed: a stem keeps the
/// first letters of its word and is no longer than it, so a word is stemmed
/// only when it begins as one of the terms does and is as long (or is not
/// plain ASCII). Analysing every word of every excerpt was most of a page
/// of hits' cost.
pub struct Highlighter {
    /// The query's indexed terms in the description and messages, in
    /// internal notes, and in the subject.
    pub(super) text: Vec<String>,
    pub(super) notes: Vec<String>,
    pub(super) subject: Vec<String>,
    /// The index's analyser, as the terms were made.
    pub(super) analyzer: RefCell<TextAnalyzer>,
}

/// Characters an excerpt shows at most, and before its first match.
const EXCERPT_CHARS: usize = 200;
const CONTEXT_BEFORE: usize = 60;
/// Letters of a term a word must begin with to be analysed.
const PREFIX: usize = 3;

impl Highlighter {
    /// An excerpt of a message or the description, if the query matched it.
    pub fn in_text(&self, text: &str) -> Option<Snippet> {
        self.cut(&self.text, text)
    }

    /// An excerpt of an internal note (none for partners).
    pub fn in_note(&self, text: &str) -> Option<Snippet> {
        self.cut(&self.notes, text)
    }

    pub fn in_subject(&self, text: &str) -> Option<Snippet> {
        self.cut(&self.subject, text)
    }

    fn cut(&self, terms: &[String], text: &str) -> Option<Snippet> {
        if terms.is_empty() {
            return None;
        }
        // The letters found first may be inside another word ("is" in
        // "this"), and a stem's letters may not be in its word at all
        // ("deliveri"): then the whole source (a few hundred characters)
        // is read.
        let (window, matches) = match window(terms, text) {
            Some(window) => match self.matches(terms, window) {
                found if found.is_empty() => (text, self.matches(terms, text)),
                found => (window, found),
            },
            None => (text, self.matches(terms, text)),
        };
        let first = matches.first()?.start;
        let start = word_start(
            window,
            floor_boundary(window, first.saturating_sub(CONTEXT_BEFORE)),
            first,
        );
        let end = floor_boundary(window, start + EXCERPT_CHARS);
        let fragment = &window[start..end];
        let inside: Vec<_> = matches
            .into_iter()
            .filter(|m| m.end <= end)
            .map(|m| m.start - start..m.end - start)
            .collect();
        Some(Snippet::from_ranges(fragment, &inside))
    }

    /// Where words of `window` analyse to one of `terms`, in order.
    fn matches(&self, terms: &[String], window: &str) -> Vec<std::ops::Range<usize>> {
        use tantivy::tokenizer::TokenStream;
        let mut analyzer = self.analyzer.borrow_mut();
        let mut found = Vec::new();
        for (start, word) in words(window) {
            // A stem is no longer than its word and keeps its first
            // letters; folding accents may lengthen a word, so words
            // beyond ASCII are always analysed.
            let may_match = !word.is_ascii()
                || terms.iter().any(|term| {
                    let prefix = &term.as_bytes()[..term.len().min(PREFIX)];
                    word.len() >= term.len()
                        && word.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix)
                });
            if !may_match {
                continue;
            }
            let mut stream = analyzer.token_stream(word);
            while stream.advance() {
                if terms.iter().any(|term| *term == stream.token().text) {
                    found.push(start..start + word.len());
                    break;
                }
            }
        }
        found
    }
}

/// The words of `text` as the index's tokenizer splits them (runs of
/// letters and digits), with their byte offsets.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(move |word| (word.as_ptr() as usize - text.as_ptr() as usize, word))
}

/// The part of `text` around the first place a query term's letters
/// appear, or `None` when none do. An excerpt needs only the
/// neighbourhood of a match, and finding letters is far cheaper than
/// analysing words. Stems are prefixes of the words they come from, so
/// this rarely misses; a word whose accents were folded away may be passed
/// over, never wrongly shown.
fn window<'t>(terms: &[String], text: &'t str) -> Option<&'t str> {
    // A little more either side of the first match than an excerpt shows.
    const BEFORE: usize = 120;
    const AFTER: usize = 280;
    if terms.is_empty() {
        return None;
    }
    // ASCII lowercasing keeps byte offsets equal to the text's.
    let lower = text.to_ascii_lowercase();
    let at = terms
        .iter()
        .filter_map(|term| lower.find(term.as_str()))
        .min()?;
    // Begin at a word, not in the middle of one: the excerpt may start
    // where the window does.
    let start = word_start(text, floor_boundary(text, at.saturating_sub(BEFORE)), at);
    let end = floor_boundary(text, at + AFTER);
    Some(&text[start..end])
}

/// `from`, or just past the first whitespace between it and `until` when
/// `from` may be inside a word. Whitespace may be wider than a byte (a
/// no-break space).
fn word_start(text: &str, from: usize, until: usize) -> usize {
    if from == 0 {
        return 0;
    }
    text[from..until]
        .char_indices()
        .find(|(_, c)| c.is_whitespace())
        .map_or(from, |(at, space)| from + at + space.len_utf8())
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
    use crate::search::{Language, schema};

    fn highlighter(terms: &[&str]) -> Highlighter {
        let terms: Vec<String> = terms.iter().map(|t| t.to_string()).collect();
        Highlighter {
            text: terms.clone(),
            notes: Vec::new(),
            subject: terms,
            analyzer: RefCell::new(schema::Analyzer::new(Language::English).into_inner()),
        }
    }

    #[test]
    fn the_window_around_a_match_starts_at_a_word() {
        let terms = vec!["refund".to_owned()];
        let text = format!("{} and then the refund came", "lorem ipsum ".repeat(30));
        let window = window(&terms, &text).unwrap();
        assert!(window.contains("refund"));
        assert!(
            window.starts_with("lorem ") || window.starts_with("ipsum "),
            "{window}"
        );
        assert!(super::window(&terms, "nothing here").is_none());
    }

    #[test]
    fn excerpts_mark_every_form_of_a_term_and_only_where_it_was_searched() {
        let highlighter = highlighter(&["refund", "printer"]);
        let text = format!(
            "{}Our printers keep jamming. I asked for a Refund twice; refunding takes ages.",
            "Hello there, a long greeting before the point. ".repeat(4)
        );
        let snippet = highlighter.in_text(&text).unwrap();
        let marked: Vec<&str> = snippet
            .parts
            .iter()
            .filter(|(_, m)| *m)
            .map(|(t, _)| t.as_str())
            .collect();
        assert_eq!(marked, ["printers", "Refund", "refunding"]);
        let shown: String = snippet.parts.iter().map(|(t, _)| t.as_str()).collect();
        assert!(shown.chars().count() <= EXCERPT_CHARS, "{shown}");
        assert!(shown.starts_with(char::is_alphanumeric), "{shown}");
        // Letters inside another word are no match.
        assert!(highlighter.in_text("unprinterable misprint").is_none());
        // No-break spaces before the match: the excerpt starts after one.
        let spaced = format!("{}the refund", "mot\u{a0}".repeat(40));
        let snippet = highlighter.in_text(&spaced).unwrap();
        assert!(snippet.parts.contains(&("refund".to_owned(), true)));
        // Letters found first inside another word, the match far after.
        let late = format!("This happens often: {} it is", "word ".repeat(200));
        let snippet = self::highlighter(&["is"]).in_text(&late).unwrap();
        assert!(
            snippet.parts.iter().any(|(t, m)| *m && t == "is"),
            "{snippet:?}"
        );
        let stems = self::highlighter(&["deliveri"]);
        let snippet = stems.in_text("Where is my delivery?").unwrap();
        assert!(
            snippet.parts.contains(&("delivery".to_owned(), true)),
            "{snippet:?}"
        );
        // No terms for notes: nothing is cut from them.
        assert!(highlighter.in_note(&text).is_none());
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
