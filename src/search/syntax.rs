//! The search box's query language, parsed into a small syntax tree:
//!
//! - words (`printer toner`): every word must match, in any text field;
//! - `"exact phrases"`;
//! - `-excluded` words, phrases or fields;
//! - `a OR b`: either side may match;
//! - `field:value` for `subject`, `from`, `status`, `channel`, `assignee`,
//!   `category`, `type`, `priority`, `creator` and `number` (values may be
//!   quoted);
//! - `before:2026-01-31` and `after:2026-01-01` on the creation date;
//! - `prefix*` for words starting with a prefix.
//!
//! A word with a colon whose left side is no known field (`error:0x80`) is
//! an ordinary word. Errors carry the character position where parsing
//! failed.

use chrono::NaiveDate;

/// A field a clause can be restricted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldName {
    Subject,
    From,
    Status,
    Channel,
    Assignee,
    Category,
    Type,
    Priority,
    Creator,
    Number,
}

impl FieldName {
    fn parse(name: &str) -> Option<FieldName> {
        Some(match name.to_ascii_lowercase().as_str() {
            "subject" => FieldName::Subject,
            "from" => FieldName::From,
            "status" => FieldName::Status,
            "channel" => FieldName::Channel,
            "assignee" => FieldName::Assignee,
            "category" => FieldName::Category,
            "type" => FieldName::Type,
            "priority" => FieldName::Priority,
            "creator" => FieldName::Creator,
            "number" => FieldName::Number,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    Word { text: String, prefix: bool },
    Phrase(String),
    Field { field: FieldName, value: String },
    Before(NaiveDate),
    After(NaiveDate),
}

/// A clause, possibly negated, with where it started (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub negated: bool,
    pub clause: Clause,
    pub position: usize,
}

/// Alternatives joined by `OR`; a query matches when every group does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub alternatives: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedQuery {
    pub groups: Vec<Group>,
}

impl ParsedQuery {
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

/// Why a query could not be parsed; `position` counts characters from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the query is not valid at character {position}: {message}")]
pub struct SyntaxError {
    pub position: usize,
    pub message: String,
}

impl SyntaxError {
    pub fn new(position: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            position: position + 1,
            message: message.into(),
        }
    }
}

pub const MAX_QUERY_CHARS: usize = 1000;
pub const MAX_TERMS: usize = 64;

struct Lexer {
    chars: Vec<char>,
    at: usize,
}

/// A raw token before interpretation.
enum Token {
    /// Text with whether it was quoted.
    Text {
        text: String,
        quoted: bool,
        start: usize,
    },
    Or {
        start: usize,
    },
}

impl Lexer {
    fn skip_space(&mut self) {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
    }

    fn quoted(&mut self) -> Result<String, SyntaxError> {
        let open = self.at;
        self.at += 1;
        let mut text = String::new();
        loop {
            match self.chars.get(self.at) {
                None => {
                    return Err(SyntaxError::new(
                        open,
                        "this quote is never closed; add a closing \"",
                    ));
                }
                Some('"') => {
                    self.at += 1;
                    return Ok(text);
                }
                Some(c) => {
                    text.push(*c);
                    self.at += 1;
                }
            }
        }
    }

    fn bare(&mut self) -> String {
        let mut text = String::new();
        while let Some(c) = self.chars.get(self.at) {
            if c.is_whitespace() {
                break;
            }
            // A quote right after `field:` starts a quoted value.
            if *c == '"' && text.ends_with(':') {
                break;
            }
            text.push(*c);
            self.at += 1;
        }
        text
    }
}

pub fn parse(input: &str) -> Result<ParsedQuery, SyntaxError> {
    if input.chars().count() > MAX_QUERY_CHARS {
        return Err(SyntaxError::new(
            MAX_QUERY_CHARS,
            format!("queries are limited to {MAX_QUERY_CHARS} characters"),
        ));
    }
    let mut lexer = Lexer {
        chars: input.chars().collect(),
        at: 0,
    };
    let mut groups: Vec<Group> = Vec::new();
    let mut pending_or: Option<usize> = None;
    let mut count = 0;
    loop {
        lexer.skip_space();
        let start = lexer.at;
        let Some(&first) = lexer.chars.get(start) else {
            break;
        };
        let term = match first {
            '"' => Some(Term {
                negated: false,
                clause: Clause::Phrase(lexer.quoted()?),
                position: start + 1,
            }),
            '-' if lexer
                .chars
                .get(start + 1)
                .is_some_and(|c| !c.is_whitespace()) =>
            {
                lexer.at += 1;
                let mut term = next_term(&mut lexer)?;
                match term.as_mut() {
                    Some(Token::Text { .. }) | None => {}
                    Some(Token::Or { .. }) => {
                        return Err(SyntaxError::new(
                            start,
                            "'-' must come before a word, not OR",
                        ));
                    }
                }
                match term {
                    Some(Token::Text {
                        text,
                        quoted,
                        start: s,
                    }) => interpret(text, quoted, s)?.map(|mut t| {
                        t.negated = true;
                        t.position = start + 1;
                        t
                    }),
                    _ => None,
                }
            }
            _ => match next_term(&mut lexer)? {
                Some(Token::Or { start }) => {
                    if groups.is_empty() || pending_or.is_some() {
                        return Err(SyntaxError::new(start, "OR needs a term on both sides"));
                    }
                    pending_or = Some(start);
                    continue;
                }
                Some(Token::Text {
                    text,
                    quoted,
                    start,
                }) => interpret(text, quoted, start)?,
                None => None,
            },
        };
        let Some(term) = term else { continue };
        count += 1;
        if count > MAX_TERMS {
            return Err(SyntaxError::new(
                start,
                format!("queries are limited to {MAX_TERMS} terms"),
            ));
        }
        match (pending_or.take(), groups.last_mut()) {
            (Some(_), Some(group)) => group.alternatives.push(term),
            _ => groups.push(Group {
                alternatives: vec![term],
            }),
        }
    }
    if let Some(position) = pending_or {
        return Err(SyntaxError::new(position, "OR needs a term on both sides"));
    }
    Ok(ParsedQuery { groups })
}

fn next_term(lexer: &mut Lexer) -> Result<Option<Token>, SyntaxError> {
    let start = lexer.at;
    match lexer.chars.get(start) {
        None => Ok(None),
        Some('"') => Ok(Some(Token::Text {
            text: lexer.quoted()?,
            quoted: true,
            start,
        })),
        Some(_) => {
            let mut text = lexer.bare();
            if text == "OR" {
                return Ok(Some(Token::Or { start }));
            }
            // `field:"quoted value"`
            if text.ends_with(':') && lexer.chars.get(lexer.at) == Some(&'"') {
                let value = lexer.quoted()?;
                text.push('"');
                text.push_str(&value);
                return Ok(Some(Token::Text {
                    text,
                    quoted: false,
                    start,
                }));
            }
            Ok(Some(Token::Text {
                text,
                quoted: false,
                start,
            }))
        }
    }
}

/// Gives a raw token its meaning: a field clause, a date, a prefix or a word.
fn interpret(text: String, quoted: bool, start: usize) -> Result<Option<Term>, SyntaxError> {
    let term = |clause| {
        Some(Term {
            negated: false,
            clause,
            position: start + 1,
        })
    };
    if quoted {
        return Ok(if text.trim().is_empty() {
            None
        } else {
            term(Clause::Phrase(text))
        });
    }
    if let Some((name, value)) = text.split_once(':') {
        let value = value.strip_prefix('"').unwrap_or(value);
        let value_at = start + name.chars().count() + 1;
        match name.to_ascii_lowercase().as_str() {
            "before" | "after" => {
                let date = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
                    SyntaxError::new(value_at, format!("'{value}' is not a date like 2026-01-31"))
                })?;
                return Ok(term(if name.eq_ignore_ascii_case("before") {
                    Clause::Before(date)
                } else {
                    Clause::After(date)
                }));
            }
            _ => {
                if let Some(field) = FieldName::parse(name) {
                    if value.trim().is_empty() {
                        return Err(SyntaxError::new(
                            value_at,
                            format!("'{name}:' needs a value"),
                        ));
                    }
                    return Ok(term(Clause::Field {
                        field,
                        value: value.to_owned(),
                    }));
                }
            }
        }
    }
    let (word, prefix) = match text.strip_suffix('*') {
        Some(stem) => (stem.to_owned(), true),
        None => (text, false),
    };
    if prefix && word.chars().filter(|c| c.is_alphanumeric()).count() < 2 {
        return Err(SyntaxError::new(
            start,
            "a prefix search needs at least two letters before '*'",
        ));
    }
    // Punctuation alone ("-", "/") matches nothing and means nothing.
    Ok(if word.chars().any(char::is_alphanumeric) {
        term(Clause::Word { text: word, prefix })
    } else {
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(q: &ParsedQuery) -> Vec<Vec<(bool, Clause)>> {
        q.groups
            .iter()
            .map(|g| {
                g.alternatives
                    .iter()
                    .map(|t| (t.negated, t.clause.clone()))
                    .collect()
            })
            .collect()
    }

    fn word(text: &str) -> Clause {
        Clause::Word {
            text: text.into(),
            prefix: false,
        }
    }

    #[test]
    fn words_phrases_exclusions_and_or() {
        let q = parse(r#"printer "paper jam" -toner a OR b"#).unwrap();
        assert_eq!(
            words(&q),
            vec![
                vec![(false, word("printer"))],
                vec![(false, Clause::Phrase("paper jam".into()))],
                vec![(true, word("toner"))],
                vec![(false, word("a")), (false, word("b"))],
            ]
        );
    }

    #[test]
    fn fields_dates_and_prefixes() {
        let q = parse(r#"status:open subject:"login fails" before:2026-01-31 print* error:0x80"#)
            .unwrap();
        assert_eq!(
            words(&q),
            vec![
                vec![(
                    false,
                    Clause::Field {
                        field: FieldName::Status,
                        value: "open".into()
                    }
                )],
                vec![(
                    false,
                    Clause::Field {
                        field: FieldName::Subject,
                        value: "login fails".into()
                    }
                )],
                vec![(
                    false,
                    Clause::Before(NaiveDate::from_ymd_opt(2026, 1, 31).unwrap())
                )],
                vec![(
                    false,
                    Clause::Word {
                        text: "print".into(),
                        prefix: true
                    }
                )],
                vec![(false, word("error:0x80"))],
            ]
        );
    }

    #[test]
    fn errors_say_where() {
        let err = parse(r#"printer "paper jam"#).unwrap_err();
        assert_eq!(err.position, 9);
        assert!(err.message.contains("never closed"));
        assert_eq!(parse("after:yesterday").unwrap_err().position, 7);
        assert!(parse("OR printer").is_err());
        assert!(parse("printer OR").is_err());
        assert!(parse("status:").is_err());
        assert!(parse("p*").is_err());
    }

    #[test]
    fn a_lone_dash_and_blank_queries_are_nothing() {
        assert!(parse("   ").unwrap().is_empty());
        assert_eq!(words(&parse("a - b").unwrap()).len(), 2);
    }
}
