//! Files attached to cases: what arrived with mail, what went out with an
//! update, and what people uploaded. The bytes live in the blob store under
//! their hash; these records say whose they are and what they are called.

use serde::{Deserialize, Serialize};

use super::Timestamp;
use super::case::CaseNumber;

pub type FileId = u64;

/// How a file came to the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileOrigin {
    /// Attached to a message that arrived.
    Incoming,
    /// Attached to a message Docket sent.
    Outgoing,
    /// Uploaded to the case directly.
    Upload,
    /// The whole message as it arrived (`.eml`), for staff: nothing is
    /// lost to the parser, and it can be read again after an upgrade.
    Original,
}

impl FileOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            FileOrigin::Incoming => "incoming",
            FileOrigin::Outgoing => "outgoing",
            FileOrigin::Upload => "upload",
            FileOrigin::Original => "original",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub id: FileId,
    pub case: CaseNumber,
    /// The name to offer on download (sanitised; never used as a path).
    pub name: String,
    /// The type Docket decided on, from the declared one.
    pub content_type: String,
    pub size: u64,
    /// SHA-256 of the content, hex: the blob's name.
    pub sha256: String,
    pub origin: FileOrigin,
    /// The `Content-ID` of an inline image, for `cid:` references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_id: Option<String>,
    /// The message it came or went with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<u64>,
    pub created_at: Timestamp,
    pub created_by: String,
}

/// A file name safe to show and to offer for download: no path, no control
/// characters, bounded. Falls back to `attachment`.
pub fn clean_file_name(name: Option<&str>) -> String {
    let name = name.unwrap_or_default();
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | '|' | '*' | '?' | ':'))
        .take(200)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_owned();
    if cleaned.is_empty() {
        "attachment".to_owned()
    } else {
        cleaned
    }
}

/// Types a browser may show in place without risk: they cannot run script
/// in Docket's origin. Everything else is downloaded.
pub fn is_safe_inline(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "image/png"
            | "image/jpeg"
            | "image/gif"
            | "image/webp"
            | "image/bmp"
            | "audio/mpeg"
            | "audio/wav"
            | "audio/x-wav"
            | "audio/ogg"
            | "video/mp4"
            | "video/webm"
            | "application/pdf"
            | "text/plain"
    )
}

/// A well-formed `type/subtype` (lower-cased, parameters dropped) or
/// `application/octet-stream`.
pub fn clean_content_type(declared: Option<&str>) -> String {
    let essence = declared
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let valid = essence.len() <= 100
        && essence.split_once('/').is_some_and(|(t, s)| {
            let token = |p: &str| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
            };
            token(t) && token(s)
        });
    if valid {
        essence
    } else {
        "application/octet-stream".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_paths_and_controls() {
        assert_eq!(clean_file_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(clean_file_name(Some("C:\\x\\report.pdf")), "report.pdf");
        assert_eq!(clean_file_name(Some("a\u{0}b\n.txt")), "ab.txt");
        assert_eq!(clean_file_name(Some("..")), "attachment");
        assert_eq!(clean_file_name(None), "attachment");
    }

    #[test]
    fn only_harmless_types_show_inline() {
        assert!(is_safe_inline("image/png"));
        assert!(is_safe_inline("text/plain; charset=utf-8"));
        assert!(!is_safe_inline("text/html"));
        assert!(!is_safe_inline("image/svg+xml"));
        assert_eq!(clean_content_type(Some("Image/PNG; name=x")), "image/png");
        assert_eq!(
            clean_content_type(Some("nonsense")),
            "application/octet-stream"
        );
        assert_eq!(clean_content_type(None), "application/octet-stream");
    }
}
