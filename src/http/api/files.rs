//! Files of a case: attachments that arrived or went out with mail, and
//! direct uploads. Downloads are served so that nothing runs in Docket's
//! origin: a type the server chose, `nosniff`, a sandboxing CSP, and
//! `attachment` for anything not safe to show in place.

use chrono::{DateTime, Utc};
use poem::{Body, Request};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::multipart::Upload;
use poem_openapi::{ApiResponse, Multipart, Object, OpenApi};

use super::{ApiTags, TokenAuth, state};
use crate::domain::file::{self, FileRecord};
use crate::http::error::ApiError;

#[derive(Default)]
pub struct FilesApi;

/// A file of a case.
#[derive(Debug, Object)]
pub struct FileView {
    pub id: u64,
    pub case: u64,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// `incoming` (arrived with a message), `outgoing` (sent with an
    /// update), `upload`, or `original` (a whole message as it arrived,
    /// `.eml`; staff only).
    pub origin: String,
    /// The `Content-ID` of an inline image.
    #[oai(nullable)]
    pub content_id: Option<String>,
    /// The activity event of the message it came or went with.
    #[oai(nullable)]
    pub event: Option<u64>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    /// Where to download it.
    pub url: String,
}

impl From<FileRecord> for FileView {
    fn from(f: FileRecord) -> Self {
        FileView {
            url: format!("/api/v1/files/{}", f.id),
            id: f.id,
            case: f.case,
            name: f.name,
            content_type: f.content_type,
            size: f.size,
            origin: f.origin.as_str().to_owned(),
            content_id: f.content_id,
            event: f.event,
            created_at: f.created_at,
            created_by: f.created_by,
        }
    }
}

#[derive(Debug, Multipart)]
struct UploadForm {
    /// The file.
    file: Upload,
}

#[derive(ApiResponse)]
enum FileCreated {
    /// Stored.
    #[oai(status = 201)]
    Created(Json<FileView>),
}

/// A stored file's bytes. Its own `Content-Type` header says what they
/// are, so the document declares any type.
struct StoredFile(Body);

impl poem_openapi::payload::Payload for StoredFile {
    const CONTENT_TYPE: &'static str = "*/*";

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        poem_openapi::registry::MetaSchemaRef::Inline(Box::new(
            poem_openapi::registry::MetaSchema {
                format: Some("binary"),
                ..poem_openapi::registry::MetaSchema::new("string")
            },
        ))
    }
}

impl poem::IntoResponse for StoredFile {
    fn into_response(self) -> poem::Response {
        poem::Response::builder().body(self.0)
    }
}

#[derive(ApiResponse)]
enum FileDownload {
    /// The file's content, with the type it was stored with (an image,
    /// a PDF, a message...).
    #[oai(status = 200)]
    File(
        StoredFile,
        #[oai(header = "Content-Type")] String,
        #[oai(header = "Content-Disposition")] String,
        #[oai(header = "X-Content-Type-Options")] String,
        #[oai(header = "Content-Security-Policy")] String,
    ),
}

/// `Content-Disposition` with an ASCII fallback and the UTF-8 name
/// (RFC 6266 / RFC 5987).
pub fn content_disposition(kind: &str, name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[OpenApi(tag = "ApiTags::Cases")]
impl FilesApi {
    /// Every file of the case: incoming and outgoing attachments and
    /// uploads, oldest first.
    #[oai(path = "/cases/:number/files", method = "get")]
    async fn list(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
    ) -> Result<Json<Vec<FileView>>, ApiError> {
        let files = state(req).service.case_files(&auth.0, number.0)?;
        Ok(Json(files.into_iter().map(Into::into).collect()))
    }

    /// Upload a file to the case (multipart field `file`). Over the size
    /// limit (`[mail] max_upload_bytes`): 413.
    #[oai(path = "/cases/:number/files", method = "post")]
    async fn upload(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
        form: UploadForm,
    ) -> Result<FileCreated, ApiError> {
        let name = form.file.file_name().map(str::to_owned);
        let content_type = form.file.content_type().map(str::to_owned);
        let bytes = form.file.into_vec().await.map_err(|e| {
            ApiError::new(
                poem::http::StatusCode::BAD_REQUEST,
                format!("the upload could not be read: {e}"),
            )
        })?;
        let record = state(req)
            .service
            .upload_file(
                &auth.0,
                number.0,
                crate::service::Upload {
                    name,
                    content_type,
                    bytes,
                },
            )
            .await?;
        Ok(FileCreated::Created(Json(record.into())))
    }

    /// Download a file. Types that are safe to show (images, PDF, plain
    /// text, audio, video) are served inline, anything else as a download.
    #[oai(path = "/files/:id", method = "get")]
    async fn download(
        &self,
        req: &Request,
        auth: TokenAuth,
        id: Path<u64>,
    ) -> Result<FileDownload, ApiError> {
        let (record, file) = state(req).service.open_file(&auth.0, id.0)?;
        Ok(download_response(&record, file))
    }
}

fn download_response(record: &FileRecord, file: std::fs::File) -> FileDownload {
    let inline = file::is_safe_inline(&record.content_type);
    let content_type = if record.content_type == "text/plain" {
        "text/plain; charset=utf-8".to_owned()
    } else {
        record.content_type.clone()
    };
    let body = Body::from_async_read(tokio::fs::File::from_std(file));
    FileDownload::File(
        StoredFile(body),
        content_type,
        content_disposition(if inline { "inline" } else { "attachment" }, &record.name),
        "nosniff".into(),
        "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'"
            .into(),
    )
}
