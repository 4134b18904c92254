//! Files and email on the case page: downloads, uploads and the Send
//! Update form (multipart, so that a new file can go with the update).

use poem::web::{Multipart, Path, Redirect};
use poem::{Body, Request, Response, handler};

use crate::domain::case::CaseNumber;
use crate::domain::file;
use crate::http::api::files::content_disposition;
use crate::http::web::session::{WebError, app, require_form_session, require_session};
use crate::service::{FromChoice, NewUpdate, Upload, check_update};

fn case_number(text: &str) -> Result<CaseNumber, WebError> {
    text.trim_start_matches('#')
        .parse()
        .map_err(|_| WebError::BadInput(format!("'{text}' is not a case number")))
}

/// A file, for whoever may read its case: shown in place only when that is
/// harmless, downloaded otherwise; never sniffed, always sandboxed.
#[handler]
pub fn download(req: &Request, Path(id): Path<String>) -> Result<Response, WebError> {
    let session = require_session(req)?;
    let id: u64 = id
        .parse()
        .map_err(|_| WebError::BadInput(format!("'{id}' is not a file id")))?;
    let (record, file) = app(req).service.open_file(&session.user, id)?;
    let inline = file::is_safe_inline(&record.content_type);
    let content_type = if record.content_type == "text/plain" {
        "text/plain; charset=utf-8".to_owned()
    } else {
        record.content_type.clone()
    };
    Ok(Response::builder()
        .content_type(content_type)
        .header(
            "Content-Disposition",
            content_disposition(if inline { "inline" } else { "attachment" }, &record.name),
        )
        .header("X-Content-Type-Options", "nosniff")
        .header(
            "Content-Security-Policy",
            "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'",
        )
        .header("Cache-Control", "no-store")
        .body(Body::from_async_read(tokio::fs::File::from_std(file))))
}

/// The fields of a multipart form, files kept apart.
#[derive(Default)]
struct FormParts {
    fields: Vec<(String, String)>,
    /// Every file chosen or dropped, in order.
    files: Vec<Upload>,
}

impl FormParts {
    async fn read(mut form: Multipart) -> Result<FormParts, WebError> {
        let mut parts = FormParts::default();
        let bad = |e: poem::error::ParseMultipartError| {
            WebError::BadInput(format!("the form could not be read: {e}"))
        };
        while let Some(field) = form.next_field().await.map_err(bad)? {
            let name = field.name().unwrap_or_default().to_owned();
            if name == "file" {
                let file_name = field.file_name().map(str::to_owned);
                let content_type = field.content_type().map(str::to_owned);
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| WebError::BadInput(format!("the file could not be read: {e}")))?;
                if !bytes.is_empty() || file_name.as_deref().is_some_and(|n| !n.is_empty()) {
                    parts.files.push(Upload {
                        name: file_name,
                        content_type,
                        bytes,
                    });
                }
            } else {
                let value = field.text().await.map_err(|e| {
                    WebError::BadInput(format!("the field {name} could not be read: {e}"))
                })?;
                parts.fields.push((name, value));
            }
        }
        Ok(parts)
    }

    fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }

    fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn addresses(text: &str) -> Vec<String> {
    text.split([',', ';'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A multipart form of a case page, read only for a logged-in person
/// (nobody's upload is read before that) and checked against the
/// session's CSRF token.
async fn checked_form(
    req: &Request,
    number: &str,
    form: Multipart,
) -> Result<(crate::service::Session, CaseNumber, FormParts), WebError> {
    require_session(req)?;
    let parts = FormParts::read(form).await?;
    let session = require_form_session(req, parts.get("csrf"))?;
    Ok((session, case_number(number)?, parts))
}

#[handler]
pub async fn upload(
    req: &Request,
    Path(number): Path<String>,
    form: Multipart,
) -> Result<Redirect, WebError> {
    let (session, number, parts) = checked_form(req, &number, form).await?;
    if parts.files.is_empty() {
        return Err(WebError::BadInput("choose a file to upload".into()));
    }
    app(req).service.check_uploads(&parts.files)?;
    for new_file in parts.files {
        app(req)
            .service
            .upload_file(&session.user, number, new_file)
            .await?;
    }
    Ok(Redirect::see_other(format!("/cases/{number}#files")))
}

#[handler]
pub async fn send_update(
    req: &Request,
    Path(number): Path<String>,
    form: Multipart,
) -> Result<Redirect, WebError> {
    let (session, number, parts) = checked_form(req, &number, form).await?;
    let service = &app(req).service;
    let mut attachments = Vec::new();
    for id in parts.all("attach") {
        attachments.push(
            id.parse()
                .map_err(|_| WebError::BadInput(format!("'{id}' is not a file id")))?,
        );
    }
    let subject = parts.get("subject").trim();
    let mut update = NewUpdate {
        from: if parts.get("from") == "me" {
            FromChoice::Me
        } else {
            FromChoice::Channel
        },
        to: addresses(parts.get("to")),
        cc: addresses(parts.get("cc")),
        bcc: addresses(parts.get("bcc")),
        subject: (!subject.is_empty()).then(|| subject.to_owned()),
        body: parts.get("body").to_owned(),
        attachments,
    };
    // A refused update leaves no uploaded file behind.
    check_update(&update)?;
    service.check_uploads(&parts.files)?;
    for new_file in parts.files {
        let record = service.upload_file(&session.user, number, new_file).await?;
        update.attachments.push(record.id);
    }
    service.send_update(&session.user, number, update).await?;
    Ok(Redirect::see_other(format!("/cases/{number}#activity")))
}
