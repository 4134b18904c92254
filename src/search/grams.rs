//! Common-word pairs, as Lucene's CommonGrams: beside each word, the index
//! keeps the pair it forms with the next word whenever either is a very
//! common word ("the", "is", "not"...). A phrase such as "is not working"
//! is then looked up as the terms `is not` and `not working`, whose
//! postings are short, instead of intersecting the positions of words that
//! occur in nearly every case.

use std::collections::HashSet;
use std::sync::Arc;

use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// Joins the two words of a pair. The tokenizer never emits it inside a
/// word, and a prefix search's `.*` does not cross it, so pairs never
/// answer for single words.
pub const JOINER: char = '\n';

/// The words pairs are formed around, before analysis: the most frequent
/// words of written English (Lucene's stop words and the pronouns and
/// auxiliaries support mail is full of).
const ENGLISH: &[&str] = &[
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at",
    "be", "been", "before", "but", "by", "can", "could", "did", "do", "does", "for", "from", "had",
    "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "just", "me", "my", "no",
    "not", "of", "on", "or", "our", "out", "so", "some", "still", "such", "than", "that", "the",
    "their", "then", "there", "these", "they", "this", "to", "up", "us", "very", "was", "we",
    "were", "what", "when", "which", "will", "with", "would", "you", "your",
];

/// The pair term of two analysed words.
pub fn pair(first: &str, second: &str) -> String {
    let mut term = String::with_capacity(first.len() + second.len() + 1);
    term.push_str(first);
    term.push(JOINER);
    term.push_str(second);
    term
}

/// The common words of a language, as analysed terms.
#[derive(Clone, Debug, Default)]
pub struct CommonWords(Arc<HashSet<String>>);

impl CommonWords {
    /// The common words of `language`, put through `analyse` (the index's
    /// analyser without pairs) so they meet the terms as indexed. Languages
    /// without a list form no pairs.
    pub fn of(
        language: tantivy::tokenizer::Language,
        analyse: impl Fn(&str) -> Vec<String>,
    ) -> Self {
        let words = match language {
            tantivy::tokenizer::Language::English => ENGLISH,
            _ => &[],
        };
        CommonWords(Arc::new(words.iter().flat_map(|w| analyse(w)).collect()))
    }

    pub fn contains(&self, term: &str) -> bool {
        self.0.contains(term)
    }

    /// The terms a phrase of analysed `words` is looked up by, with their
    /// positions: a pair wherever one of two neighbours is common, and a
    /// word alone where no pair covers it. A phrase of two words with a
    /// common one is thus a single term.
    pub fn phrase_terms(&self, words: &[String]) -> Vec<(usize, String)> {
        let paired = |i: usize| {
            i + 1 < words.len() && (self.contains(&words[i]) || self.contains(&words[i + 1]))
        };
        let mut terms = Vec::new();
        for (i, word) in words.iter().enumerate() {
            if paired(i) {
                terms.push((i, pair(word, &words[i + 1])));
            } else if i == 0 || !paired(i - 1) {
                terms.push((i, word.clone()));
            }
        }
        terms
    }
}

/// The token filter that adds pairs after each word that forms one.
#[derive(Clone)]
pub struct CommonGrams(pub CommonWords);

impl TokenFilter for CommonGrams {
    type Tokenizer<T: Tokenizer> = CommonGramsTokenizer<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> CommonGramsTokenizer<T> {
        CommonGramsTokenizer {
            inner: tokenizer,
            common: self.0,
        }
    }
}

#[derive(Clone)]
pub struct CommonGramsTokenizer<T> {
    inner: T,
    common: CommonWords,
}

impl<T: Tokenizer> Tokenizer for CommonGramsTokenizer<T> {
    type TokenStream<'a> = CommonGramsStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        CommonGramsStream {
            tail: self.inner.token_stream(text),
            common: &self.common,
            current: Token::default(),
            next: None,
            pending_pair: None,
        }
    }
}

pub struct CommonGramsStream<'a, T> {
    tail: T,
    common: &'a CommonWords,
    current: Token,
    /// The word after `current`, read ahead to form the pair.
    next: Option<Token>,
    /// The pair of `current` and `next`, given out after `current`.
    pending_pair: Option<Token>,
}

impl<T: TokenStream> TokenStream for CommonGramsStream<'_, T> {
    fn advance(&mut self) -> bool {
        if let Some(pair) = self.pending_pair.take() {
            self.current = pair;
            return true;
        }
        let word = match self.next.take() {
            Some(word) => word,
            None if self.tail.advance() => self.tail.token().clone(),
            None => return false,
        };
        if self.tail.advance() {
            let next = self.tail.token().clone();
            // Neighbours only: a word the analyser dropped (too long)
            // leaves a gap no phrase spans.
            let adjacent = next.position == word.position + 1;
            if adjacent && (self.common.contains(&word.text) || self.common.contains(&next.text)) {
                self.pending_pair = Some(Token {
                    offset_from: word.offset_from,
                    offset_to: next.offset_to,
                    // At the first word's position, so pairs of a phrase
                    // stand one position apart as its words do.
                    position: word.position,
                    text: pair(&word.text, &next.text),
                    position_length: 2,
                });
            }
            self.next = Some(next);
        }
        self.current = word;
        true
    }

    fn token(&self) -> &Token {
        &self.current
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::tokenizer::{LowerCaser, SimpleTokenizer, TextAnalyzer};

    fn common() -> CommonWords {
        CommonWords::of(tantivy::tokenizer::Language::English, |w| {
            vec![w.to_owned()]
        })
    }

    #[test]
    fn pairs_follow_each_word_that_forms_one_at_its_position() {
        let mut analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(LowerCaser)
            .filter(CommonGrams(common()))
            .build();
        let mut stream = analyzer.token_stream("Printer is not working today");
        let mut tokens = Vec::new();
        while stream.advance() {
            let t = stream.token();
            tokens.push((t.text.replace(JOINER, "_"), t.position));
        }
        let expected = [
            ("printer", 0),
            ("printer_is", 0),
            ("is", 1),
            ("is_not", 1),
            ("not", 2),
            ("not_working", 2),
            ("working", 3),
            ("today", 4),
        ];
        let expected: Vec<(String, usize)> =
            expected.iter().map(|(t, p)| (t.to_string(), *p)).collect();
        assert_eq!(tokens, expected);
    }

    #[test]
    fn no_pair_spans_a_word_the_analyser_dropped() {
        let mut analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(tantivy::tokenizer::RemoveLongFilter::limit(10))
            .filter(CommonGrams(common()))
            .build();
        let mut stream = analyzer.token_stream("the abcdefghijklmnop page");
        let mut texts = Vec::new();
        while stream.advance() {
            texts.push(stream.token().text.replace(JOINER, "_"));
        }
        assert_eq!(texts, ["the", "page"]);
    }

    #[test]
    fn a_phrase_is_looked_up_by_its_pairs_and_the_words_no_pair_covers() {
        let common = common();
        let words = |text: &str| -> Vec<String> { text.split(' ').map(str::to_owned).collect() };
        let show = |terms: Vec<(usize, String)>| -> Vec<(usize, String)> {
            terms
                .into_iter()
                .map(|(p, t)| (p, t.replace(JOINER, "_")))
                .collect()
        };
        assert_eq!(
            show(common.phrase_terms(&words("it is"))),
            [(0, "it_is".to_owned())]
        );
        assert_eq!(
            show(common.phrase_terms(&words("is not working"))),
            [(0, "is_not".to_owned()), (1, "not_working".to_owned())]
        );
        assert_eq!(
            show(common.phrase_terms(&words("tracking number"))),
            [(0, "tracking".to_owned()), (1, "number".to_owned())]
        );
        assert_eq!(
            show(common.phrase_terms(&words("printer jam in tray"))),
            [
                (0, "printer".to_owned()),
                (1, "jam_in".to_owned()),
                (2, "in_tray".to_owned())
            ]
        );
    }
}
