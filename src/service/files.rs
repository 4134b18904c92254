//! Files on cases: listing a case's files (with those of cases merged into
//! it), opening one, uploading, and reading a blob for outgoing mail.

use std::fs::File;

use super::cases::{visible_case, workable_case};
use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::case::CaseNumber;
use crate::domain::file::{self, FileId, FileOrigin, FileRecord};
use crate::domain::user::User;
use crate::store::{FileReads, FileWrites, Reads};

/// A file someone uploads.
#[derive(Debug, Clone)]
pub struct Upload {
    pub name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl Service {
    /// Every file of a case: incoming and outgoing attachments and uploads,
    /// with those of the cases merged into it (their messages are here now).
    pub fn case_files(&self, actor: &User, number: CaseNumber) -> ServiceResult<Vec<FileRecord>> {
        let txn = self.store.read()?;
        let (case, _) = visible_case(&txn, actor, number)?;
        let mut files = txn.case_files(number)?;
        for link in &case.links {
            if link.kind == crate::domain::link::LinkKind::MergedFrom {
                files.extend(txn.case_files(link.target)?);
            }
        }
        // Original messages carry every header: they are for staff.
        if actor.is_partner() {
            files.retain(|f| f.origin != FileOrigin::Original);
        }
        Ok(files)
    }

    /// One file with its content, for whoever may read its case.
    pub fn open_file(&self, actor: &User, id: FileId) -> ServiceResult<(FileRecord, File)> {
        let missing = || ServiceError::NotFound(format!("file {id} not found"));
        let record = {
            let txn = self.store.read()?;
            let record = txn.file(id)?.ok_or_else(missing)?;
            // A merged case's files are read through the case it went into.
            let merged_into = txn.case(record.case)?.and_then(|c| c.merge).map(|m| m.into);
            let readable = visible_case(&txn, actor, record.case).is_ok()
                || merged_into.is_some_and(|into| visible_case(&txn, actor, into).is_ok());
            if !readable || (actor.is_partner() && record.origin == FileOrigin::Original) {
                return Err(missing());
            }
            record
        };
        let file = self.blobs.open_blob(&record.sha256)?;
        Ok((record, file))
    }

    /// Stores an uploaded file on a case.
    /// Refuses a set of files to upload if any is over the limit, before
    /// any is stored.
    pub fn check_uploads(&self, uploads: &[Upload]) -> ServiceResult<()> {
        let limit = self.config.mail.max_upload_bytes;
        match uploads.iter().find(|u| u.bytes.len() > limit) {
            Some(upload) => Err(ServiceError::TooLarge(format!(
                "the file {}is {} bytes; files up to {limit} bytes are accepted",
                upload
                    .name
                    .as_deref()
                    .map(|n| format!("{n} "))
                    .unwrap_or_default(),
                upload.bytes.len()
            ))),
            None => Ok(()),
        }
    }

    pub async fn upload_file(
        &self,
        actor: &User,
        number: CaseNumber,
        upload: Upload,
    ) -> ServiceResult<FileRecord> {
        self.check_uploads(std::slice::from_ref(&upload))?;
        workable_case(&self.store.read()?, actor, number)?;
        let size = upload.bytes.len() as u64;
        let blobs = self.blobs.clone();
        let bytes = upload.bytes;
        let sha256 = tokio::task::spawn_blocking(move || blobs.put(&bytes))
            .await
            .map_err(|e| ServiceError::Output(format!("storing the file failed: {e}")))??;
        let name = file::clean_file_name(upload.name.as_deref());
        let content_type = match upload.content_type.as_deref() {
            Some(t) if t != "application/octet-stream" => file::clean_content_type(Some(t)),
            _ => mime_guess::from_path(&name)
                .first_raw()
                .map(|t| file::clean_content_type(Some(t)))
                .unwrap_or_else(|| "application/octet-stream".into()),
        };
        let actor = actor.clone();
        self.store
            .write(move |txn| {
                let (case, _) = workable_case(txn, &actor, number)?;
                let mut record = FileRecord {
                    id: 0,
                    case: case.number,
                    name: name.clone(),
                    content_type: content_type.clone(),
                    size,
                    sha256: sha256.clone(),
                    origin: FileOrigin::Upload,
                    content_id: None,
                    event: None,
                    created_at: now(),
                    created_by: actor.username.clone(),
                };
                txn.add_file(&mut record)?;
                Ok(record)
            })
            .await
    }

    /// A blob's bytes, for attaching to outgoing mail.
    pub fn blob(&self, sha256: &str) -> ServiceResult<Vec<u8>> {
        Ok(self.blobs.read(sha256)?)
    }
}
