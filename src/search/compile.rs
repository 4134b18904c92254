//! Turns a parsed query and the request's filters into one tantivy query.
//! Permission scope and filters are `Must` clauses scored zero, so they
//! narrow without changing relevance.

use std::ops::Bound;

use chrono::{NaiveDate, NaiveTime};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, FuzzyTermQuery, Occur,
    PhraseQuery, Query, RangeQuery, RegexQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DateTime, Term};

use super::checks::DocCheck;
use super::document::priority_rank;
use super::schema::{Fields, names};
use super::syntax::{
    Clause as SyntaxClause, FieldName, ParsedQuery, SyntaxError, Term as QueryTerm,
};
use super::{Filters, Scope};
use crate::domain::Timestamp;
use crate::domain::case::{Priority, Status};

/// One clause of a boolean query.
pub type Clause = (Occur, Box<dyn Query>);

/// Text fields a plain word searches, with their weight. Internal notes
/// only for staff: a partner's search must not reveal what they contain.
fn text_fields(fields: &Fields, staff: bool) -> Vec<(Field, f32)> {
    let mut searched = vec![(fields.subject, 3.0), (fields.text, 1.0)];
    if staff {
        searched.push((fields.notes, 1.0));
    }
    searched
}

/// What compiling needs beyond the query itself.
pub struct Context<'a> {
    pub fields: &'a Fields,
    /// The index's analyser without pairs: words as the user typed them.
    pub analyzer: TextAnalyzer,
    /// The words the index pairs with their neighbours.
    pub common: &'a super::grams::CommonWords,
    /// The searching user's name, for `assignee:me`.
    pub me: &'a str,
    /// Finds a channel id by name (case-insensitive) or id.
    pub channel: &'a dyn Fn(&str) -> Option<u64>,
    /// Whether internal notes are searched (staff, not partners).
    pub staff: bool,
    /// The words that also match close misspellings.
    pub typos: Option<&'a std::collections::HashSet<String>>,
}

fn term_query(term: Term) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        term,
        IndexRecordOption::WithFreqsAndPositions,
    ))
}

fn raw_term(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

fn u64_term(field: Field, value: u64) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_u64(field, value),
        IndexRecordOption::Basic,
    ))
}

fn boosted(query: Box<dyn Query>, boost: f32) -> Box<dyn Query> {
    if (boost - 1.0).abs() < f32::EPSILON {
        query
    } else {
        Box::new(BoostQuery::new(query, boost))
    }
}

fn any_of(queries: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    match queries.len() {
        0 => Box::new(EmptyQuery),
        1 => queries.into_iter().next().expect("one query"),
        _ => Box::new(BooleanQuery::new(
            queries.into_iter().map(|q| (Occur::Should, q)).collect(),
        )),
    }
}

fn filter(query: Box<dyn Query>) -> Clause {
    (Occur::Must, Box::new(ConstScoreQuery::new(query, 0.0)))
}

fn date(at: Timestamp) -> DateTime {
    super::schema::index_date(at.timestamp())
}

fn day_start(day: NaiveDate) -> DateTime {
    super::schema::index_date(day.and_time(NaiveTime::MIN).and_utc().timestamp())
}

fn date_range(
    field: Field,
    from: Option<DateTime>,
    to: Option<DateTime>,
    upper_inclusive: bool,
) -> Box<dyn Query> {
    let lower = from.map_or(Bound::Unbounded, |d| {
        Bound::Included(Term::from_field_date_for_search(field, d))
    });
    let upper = to.map_or(Bound::Unbounded, |d| {
        let term = Term::from_field_date_for_search(field, d);
        if upper_inclusive {
            Bound::Included(term)
        } else {
            Bound::Excluded(term)
        }
    });
    Box::new(RangeQuery::new(lower, upper))
}

impl Context<'_> {
    fn tokens(&mut self, text: &str) -> Vec<String> {
        let mut stream = self.analyzer.token_stream(text);
        let mut tokens = Vec::new();
        while stream.advance() {
            tokens.push(stream.token().text.clone());
        }
        tokens
    }

    /// A word or phrase in one analysed text field.
    fn text_in(&mut self, field: Field, text: &str, fuzzy: bool) -> Option<Box<dyn Query>> {
        let tokens = self.tokens(text);
        match tokens.len() {
            0 => None,
            1 => {
                let term = Term::from_field_text(field, &tokens[0]);
                let exact = term_query(term.clone());
                if fuzzy && tokens[0].chars().count() >= 4 {
                    let distance = if tokens[0].chars().count() >= 8 { 2 } else { 1 };
                    let fuzzy = Box::new(FuzzyTermQuery::new(term, distance, true));
                    Some(any_of(vec![exact, boosted(fuzzy, 0.5)]))
                } else {
                    Some(exact)
                }
            }
            _ => {
                // Pairs of common words stand for the positions of words
                // that occur nearly everywhere: a two-word phrase with one
                // is a single term.
                let mut terms: Vec<(usize, Term)> = self
                    .common
                    .phrase_terms(&tokens)
                    .into_iter()
                    .map(|(position, text)| (position, Term::from_field_text(field, &text)))
                    .collect();
                if terms.len() == 1 {
                    return terms.pop().map(|(_, term)| term_query(term));
                }
                Some(Box::new(PhraseQuery::new_with_offset(terms)))
            }
        }
    }

    fn word(&mut self, text: &str, prefix: bool) -> Box<dyn Query> {
        let mut alternatives = Vec::new();
        let digits = text.strip_prefix('#').unwrap_or(text);
        if let Ok(number) = digits.parse::<u64>() {
            alternatives.push(boosted(u64_term(self.fields.number, number), 10.0));
        }
        if prefix {
            // The prefix goes through the same analysis as the indexed words
            // (lowercase, accents folded, stemmed), so "printers*" and
            // "café*" meet the forms the index holds. Tokens are
            // alphanumeric, so the pattern needs no escaping.
            let tokens = self.tokens(text);
            let stem = match tokens.as_slice() {
                [single] => single.clone(),
                _ => text
                    .chars()
                    .filter(|c| c.is_alphanumeric())
                    .flat_map(char::to_lowercase)
                    .collect(),
            };
            for (field, boost) in text_fields(self.fields, self.staff) {
                if let Ok(regex) = RegexQuery::from_pattern(&format!("{stem}.*"), field) {
                    alternatives.push(boosted(Box::new(regex), boost));
                }
            }
        } else {
            let fuzzy = self.typos.is_some_and(|words| words.contains(text));
            for (field, boost) in text_fields(self.fields, self.staff) {
                if let Some(query) = self.text_in(field, text, fuzzy) {
                    alternatives.push(boosted(query, boost));
                }
            }
        }
        any_of(alternatives)
    }

    fn phrase(&mut self, text: &str) -> Box<dyn Query> {
        let mut alternatives = Vec::new();
        for (field, boost) in text_fields(self.fields, self.staff) {
            if let Some(query) = self.text_in(field, text, false) {
                alternatives.push(boosted(query, boost));
            }
        }
        any_of(alternatives)
    }

    fn field(
        &mut self,
        field: FieldName,
        value: &str,
        position: usize,
    ) -> Result<Box<dyn Query>, SyntaxError> {
        let f = self.fields;
        let err = |message: String| SyntaxError { position, message };
        Ok(match field {
            FieldName::Subject => self
                .text_in(f.subject, value, false)
                .unwrap_or_else(|| Box::new(EmptyQuery)),
            FieldName::From => self
                .text_in(f.from, value, false)
                .unwrap_or_else(|| Box::new(EmptyQuery)),
            FieldName::Status => {
                let status = match value.to_ascii_lowercase().as_str() {
                    "closed" => Status::Resolved,
                    "waiting" => Status::WaitingForCustomer,
                    other => Status::parse("status", other).map_err(|e| err(e.to_string()))?,
                };
                raw_term(f.status, status.as_str())
            }
            // A channel the user cannot see matches nothing, exactly like
            // one that does not exist: the answer must not tell them apart.
            FieldName::Channel => match (self.channel)(value) {
                Some(id) => u64_term(f.channel, id),
                None => Box::new(EmptyQuery),
            },
            FieldName::Assignee => match value.to_lowercase().as_str() {
                "none" => u64_term(f.assigned, 0),
                "me" => raw_term(f.assignee, self.me),
                name => raw_term(f.assignee, name),
            },
            FieldName::Creator => raw_term(f.creator, &value.to_ascii_lowercase()),
            FieldName::Category => raw_term(f.category, value),
            FieldName::Type => raw_term(f.case_type, value),
            FieldName::Priority => {
                let priority =
                    Priority::parse("priority", value).map_err(|e| err(e.to_string()))?;
                u64_term(f.priority, priority_rank(priority))
            }
            FieldName::Number => {
                let number = value
                    .trim_start_matches('#')
                    .parse::<u64>()
                    .map_err(|_| err(format!("'{value}' is not a case number")))?;
                u64_term(f.number, number)
            }
        })
    }

    fn term(&mut self, term: &QueryTerm) -> Result<Box<dyn Query>, SyntaxError> {
        let f = self.fields;
        let query = match &term.clause {
            SyntaxClause::Word { text, prefix } => self.word(text, *prefix),
            SyntaxClause::Phrase(text) => self.phrase(text),
            SyntaxClause::Field { field, value } => self.field(*field, value, term.position)?,
            SyntaxClause::Before(day) => date_range(f.created, None, Some(day_start(*day)), false),
            SyntaxClause::After(day) => date_range(f.created, Some(day_start(*day)), None, false),
        };
        Ok(if term.negated {
            Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery)),
                (Occur::MustNot, query),
            ]))
        } else {
            query
        })
    }

    /// The user's query: every group must match.
    pub fn query(&mut self, parsed: &ParsedQuery) -> Result<Vec<Clause>, SyntaxError> {
        let mut clauses = Vec::new();
        for group in &parsed.groups {
            let mut alternatives = Vec::new();
            for term in &group.alternatives {
                alternatives.push(self.term(term)?);
            }
            clauses.push((Occur::Must, any_of(alternatives)));
        }
        Ok(clauses)
    }
}

/// A request's filters in two parts: those that stay the same from one
/// search to the next (kept as cached per-segment sets, scored zero), and
/// those that move with the clock or the user (tested per document).
#[derive(Default)]
pub struct FilterClauses {
    pub lasting: Vec<Clause>,
    pub checks: Vec<DocCheck>,
}

pub fn filters(fields: &Fields, filters: &Filters, scope: &Scope) -> FilterClauses {
    let f = fields;
    let mut clauses = Vec::new();
    match scope {
        Scope::Everything => {}
        Scope::Channels { channels, creator } => {
            clauses.push(filter(any_of(
                channels.iter().map(|c| u64_term(f.channel, *c)).collect(),
            )));
            if let Some(creator) = creator {
                clauses.push(filter(raw_term(f.creator, creator)));
            }
        }
    }
    if let Some(deleted) = filters.deleted {
        clauses.push(filter(u64_term(f.deleted, u64::from(deleted))));
    }
    if let Some(archived) = filters.archived {
        clauses.push(filter(u64_term(f.archived, u64::from(archived))));
    }
    if let Some(resolved) = filters.resolved {
        clauses.push(filter(u64_term(f.resolved, u64::from(resolved))));
    }
    if !filters.statuses.is_empty() {
        clauses.push(filter(any_of(
            filters
                .statuses
                .iter()
                .map(|s| raw_term(f.status, s.as_str()))
                .collect(),
        )));
    }
    if !filters.channels.is_empty() {
        clauses.push(filter(any_of(
            filters
                .channels
                .iter()
                .map(|c| u64_term(f.channel, *c))
                .collect(),
        )));
    }
    match &filters.assignee {
        None => {}
        Some(None) => clauses.push(filter(u64_term(f.assigned, 0))),
        Some(Some(name)) => clauses.push(filter(raw_term(f.assignee, name))),
    }
    for (field, value) in [
        (f.creator, &filters.creator),
        (f.category, &filters.category),
        (f.case_type, &filters.case_type),
        (f.source, &filters.source),
        (f.editors, &filters.updated_by),
    ] {
        if let Some(value) = value {
            clauses.push(filter(raw_term(field, value)));
        }
    }
    if let Some(priority) = filters.priority {
        clauses.push(filter(u64_term(f.priority, priority_rank(priority))));
    }
    if let Some(important) = filters.important {
        clauses.push(filter(u64_term(f.important, u64::from(important))));
    }
    if filters.reply_window_closing.is_some() {
        clauses.push(filter(u64_term(f.awaiting_reply, 1)));
    }
    let mut checks = Vec::new();
    for (field, from, to) in [
        (names::CREATED, filters.created_from, filters.created_to),
        (names::UPDATED, filters.updated_from, filters.updated_to),
        (names::CLOSED, filters.closed_from, filters.closed_to),
    ] {
        if from.is_some() || to.is_some() {
            checks.push(DocCheck::Dates {
                field,
                from: from.map(date),
                to: to.map(date),
                upper_inclusive: true,
            });
        }
    }
    if let Some(windows) = &filters.reply_window_closing {
        // A window of W hours from the customer's last message closes
        // within the warning when that message is between now - W and
        // warn_until - W.
        checks.push(DocCheck::ReplyWindows(
            windows
                .channels
                .iter()
                .map(|(channel, hours)| {
                    let span = chrono::Duration::hours(i64::from(*hours));
                    (
                        *channel,
                        date(windows.now - span),
                        date(windows.warn_until - span),
                    )
                })
                .collect(),
        ));
    }
    if let Some(before) = filters.deadline_before {
        checks.push(DocCheck::Dates {
            field: names::DEADLINE,
            from: None,
            to: Some(date(before)),
            upper_inclusive: false,
        });
    }
    if let Some(markers) = &filters.unread_since {
        checks.push(DocCheck::Unread(markers.clone()));
    }
    FilterClauses {
        lasting: clauses,
        checks,
    }
}

/// Restricts a sorted listing to keys past the cursor.
pub fn after_key(field: Field, key: u64, descending: bool) -> Clause {
    let bound = Term::from_field_u64(field, key);
    let range = if descending {
        RangeQuery::new(Bound::Unbounded, Bound::Excluded(bound))
    } else {
        RangeQuery::new(Bound::Excluded(bound), Bound::Unbounded)
    };
    filter(Box::new(range))
}
