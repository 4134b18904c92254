//! The index layout. Text fields are analysed with one tokenizer (words,
//! lowercased, ASCII-folded, stemmed in the configured language); filter
//! fields are raw terms; sort and facet fields are fast (columnar).

use tantivy::Index;

use super::grams::{CommonGrams, CommonWords};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer, TextAnalyzerBuilder, Tokenizer,
};

/// Bumped when the layout changes: an index of another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 7;

pub const TOKENIZER: &str = "docket";

/// Handles to every field of the schema.
#[derive(Clone, Copy, Debug)]
pub struct Fields {
    pub number: Field,
    pub subject: Field,
    /// The description, every message, the customer's names and handles,
    /// the senders and the device: what a plain word searches besides the
    /// subject and notes.
    pub text: Field,
    /// Internal notes: searched for staff only.
    pub notes: Field,
    /// Senders and customer identities, for `from:`.
    pub from: Field,
    pub category: Field,
    pub case_type: Field,
    pub status: Field,
    pub channel: Field,
    pub assignee: Field,
    pub assigned: Field,
    pub creator: Field,
    pub editors: Field,
    pub source: Field,
    pub priority: Field,
    pub important: Field,
    pub archived: Field,
    /// 1 for cases in the trash.
    pub deleted: Field,
    pub resolved: Field,
    pub created: Field,
    pub updated: Field,
    pub closed: Field,
    pub deadline: Field,
    /// When the customer last wrote.
    pub last_customer: Field,
    /// 1 when the customer's last message has had no reply yet.
    pub awaiting_reply: Field,
    /// The time of the last activity that makes a case unread (its
    /// creation or the customer's last message) above the case number.
    pub unread_key: Field,
    pub sort_updated: Field,
    pub sort_priority: Field,
    pub sort_deadline: Field,
    /// Short sources result excerpts are cut from (stored, not indexed):
    /// a page of hits never reads whole conversations from the store.
    pub excerpt: Field,
    pub excerpt_notes: Field,
}

/// Field names, as the fast-field and query APIs take them.
pub mod names {
    pub const NUMBER: &str = "number";
    pub const STATUS: &str = "status";
    pub const CHANNEL: &str = "channel";
    pub const CATEGORY: &str = "category";
    pub const ASSIGNEE: &str = "assignee";
    pub const SORT_UPDATED: &str = "sort_updated";
    pub const SORT_PRIORITY: &str = "sort_priority";
    pub const SORT_DEADLINE: &str = "sort_deadline";
    pub const UNREAD_KEY: &str = "unread_key";
    pub const CREATED: &str = "created";
    pub const UPDATED: &str = "updated";
    pub const CLOSED: &str = "closed";
    pub const DEADLINE: &str = "deadline";
    pub const LAST_CUSTOMER: &str = "last_customer";
    pub const EXCERPT: &str = "excerpt";
    pub const EXCERPT_NOTES: &str = "excerpt_notes";
}

pub fn build() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let facet = STRING | FAST;
    let fields = Fields {
        number: builder.add_u64_field(names::NUMBER, INDEXED | FAST | STORED),
        subject: builder.add_text_field("subject", text.clone()),
        text: builder.add_text_field("text", text.clone()),
        notes: builder.add_text_field("notes", text.clone()),
        from: builder.add_text_field("from", text),
        category: builder.add_text_field(names::CATEGORY, facet.clone()),
        case_type: builder.add_text_field("type", STRING),
        status: builder.add_text_field(names::STATUS, facet.clone()),
        channel: builder.add_u64_field(names::CHANNEL, INDEXED | FAST),
        assignee: builder.add_text_field(names::ASSIGNEE, facet),
        assigned: builder.add_u64_field("assigned", INDEXED),
        creator: builder.add_text_field("creator", STRING),
        editors: builder.add_text_field("editors", STRING),
        source: builder.add_text_field("source", STRING),
        priority: builder.add_u64_field("priority", INDEXED),
        important: builder.add_u64_field("important", INDEXED),
        archived: builder.add_u64_field("archived", INDEXED),
        deleted: builder.add_u64_field("deleted", INDEXED),
        resolved: builder.add_u64_field("resolved", INDEXED),
        created: builder.add_date_field(names::CREATED, INDEXED | FAST),
        updated: builder.add_date_field(names::UPDATED, INDEXED | FAST),
        closed: builder.add_date_field(names::CLOSED, INDEXED | FAST),
        deadline: builder.add_date_field(names::DEADLINE, INDEXED | FAST),
        last_customer: builder.add_date_field(names::LAST_CUSTOMER, INDEXED | FAST),
        awaiting_reply: builder.add_u64_field("awaiting_reply", INDEXED),
        unread_key: builder.add_u64_field(names::UNREAD_KEY, FAST),
        sort_updated: builder.add_u64_field(names::SORT_UPDATED, FAST),
        sort_priority: builder.add_u64_field(names::SORT_PRIORITY, FAST),
        sort_deadline: builder.add_u64_field(names::SORT_DEADLINE, FAST),
        excerpt: builder.add_text_field(names::EXCERPT, STORED),
        excerpt_notes: builder.add_text_field(names::EXCERPT_NOTES, STORED),
    };
    (builder.build(), fields)
}

/// Parses a stemming language name (`english`, `german`...).
pub fn language(name: &str) -> Option<Language> {
    use Language::*;
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "arabic" => Arabic,
        "danish" => Danish,
        "dutch" => Dutch,
        "english" => English,
        "finnish" => Finnish,
        "french" => French,
        "german" => German,
        "greek" => Greek,
        "hungarian" => Hungarian,
        "italian" => Italian,
        "norwegian" => Norwegian,
        "portuguese" => Portuguese,
        "romanian" => Romanian,
        "russian" => Russian,
        "spanish" => Spanish,
        "swedish" => Swedish,
        "tamil" => Tamil,
        "turkish" => Turkish,
        _ => return None,
    })
}

/// The text analyser every text field uses: words, lower case, folded to
/// ASCII, stemmed.
pub fn text_analyzer(language: Language) -> TextAnalyzer {
    words(language).build()
}

/// The chain of [`text_analyzer`], for the index to add pairs to.
fn words(language: Language) -> TextAnalyzerBuilder<impl Tokenizer> {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(language))
}

/// The common words of `language` as the index holds them.
pub fn common_words(language: Language) -> CommonWords {
    let analyzer = Analyzer::new(language);
    CommonWords::of(language, |word| {
        let mut terms = Vec::new();
        analyzer
            .clone()
            .terms(word, |term| terms.push(term.to_owned()));
        terms
    })
}

/// Registers what every text field is indexed with: the text analyser,
/// and the pairs of common words after it (`grams.rs`). Queries analyse
/// with [`text_analyzer`] alone and form pairs themselves.
pub fn register_tokenizer(index: &Index, language: Language) {
    let indexing = words(language)
        .filter(CommonGrams(common_words(language)))
        .build();
    index.tokenizers().register(TOKENIZER, indexing);
}

/// The index's analyser for other rooms that need the same terms as
/// search (the AI agent learns from them).
#[derive(Clone)]
pub struct Analyzer(TextAnalyzer);

impl Analyzer {
    pub fn new(language: Language) -> Analyzer {
        Analyzer(text_analyzer(language))
    }

    pub fn into_inner(self) -> TextAnalyzer {
        self.0
    }

    /// Calls `each` with every term of `text`, in order.
    pub fn terms(&mut self, text: &str, mut each: impl FnMut(&str)) {
        use tantivy::tokenizer::TokenStream;
        let mut stream = self.0.token_stream(text);
        while stream.advance() {
            each(&stream.token().text);
        }
    }
}

/// An index date for a time, clamped to what tantivy's nanosecond dates
/// hold (about the years 1678 to 2262): beyond that its conversion
/// overflows.
pub fn index_date(seconds: i64) -> tantivy::DateTime {
    const LIMIT: i64 = 9_000_000_000;
    tantivy::DateTime::from_timestamp_secs(seconds.clamp(-LIMIT, LIMIT))
}

/// Sort keys pack the sort value above the case number, so every key is
/// unique and a cursor (the last key seen) is exact while cases change.
pub mod sort_key {
    const NUMBER_BITS: u32 = 30;
    const NUMBER_MASK: u64 = (1 << NUMBER_BITS) - 1;

    /// Seconds since the epoch (clamped to 34 bits, past year 2500) and number.
    pub fn time(seconds: i64, number: u64) -> u64 {
        let seconds = seconds.clamp(0, (1 << 34) - 1) as u64;
        (seconds << NUMBER_BITS) | (number & NUMBER_MASK)
    }

    /// Priority rank (0 low .. 3 urgent) and number.
    pub fn rank(rank: u64, number: u64) -> u64 {
        (rank << NUMBER_BITS) | (number & NUMBER_MASK)
    }

    /// Splits a key made by [`time`] into seconds and case number.
    pub fn split(key: u64) -> (u64, u64) {
        (key >> NUMBER_BITS, key & NUMBER_MASK)
    }

    /// Cases without a deadline sort after every dated one.
    pub fn deadline(seconds: Option<i64>, number: u64) -> u64 {
        match seconds {
            Some(s) => time(s, number),
            None => time((1 << 34) - 1, number),
        }
    }
}
