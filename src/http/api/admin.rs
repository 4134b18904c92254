use poem::{Body, Request};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::{ApiTags, TokenAuth, state};
use crate::http::error::ApiError;

#[derive(Default)]
pub struct AdminApi;

#[derive(Debug, Object)]
struct Accepted {
    detail: String,
}

#[derive(ApiResponse)]
enum ReindexStarted {
    /// The rebuild has started; searches use the current index until it
    /// is done.
    #[oai(status = 202)]
    Accepted(Json<Accepted>),
}

#[derive(ApiResponse)]
enum BackupFile {
    /// The backup: a tar archive compressed with zstd, streamed as it is
    /// written. It ends with `manifest.json`; a transfer cut short has none
    /// and `docket restore` refuses it.
    #[oai(status = 200, content_type = "application/zstd")]
    File(Binary<Body>, #[oai(header = "Content-Disposition")] String),
}

/// Sends what the backup writes to the response in chunks; a client that
/// goes away makes the next write fail, which ends the backup.
struct ChunkSender {
    buffer: Vec<u8>,
    chunks: tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>>,
}

const CHUNK_BYTES: usize = 256 << 10;

impl std::io::Write for ChunkSender {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES));
        self.chunks
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }
}

/// A failed sign-in.
#[derive(Debug, Object)]
struct FailedSignInView {
    at: chrono::DateTime<chrono::Utc>,
    /// The name typed (it may not exist).
    username: String,
    /// The client's address (behind a trusted proxy, the one it names).
    address: String,
    /// `wrong_password` (or unknown user), `throttled` or `deactivated`.
    reason: String,
}

#[OpenApi(tag = "ApiTags::Admin")]
impl AdminApi {
    /// The latest failed sign-ins, newest first (administrators; the last
    /// 1,000 since the server started, each also in the log).
    #[oai(path = "/admin/failed-sign-ins", method = "get")]
    async fn failed_sign_ins(
        &self,
        req: &Request,
        auth: TokenAuth,
        /// At most this many (default 100).
        limit: poem_openapi::param::Query<Option<u32>>,
    ) -> Result<Json<Vec<FailedSignInView>>, ApiError> {
        let limit = limit.0.unwrap_or(100).min(1_000) as usize;
        let failures = state(req).service.failed_sign_ins(&auth.0, limit)?;
        Ok(Json(
            failures
                .into_iter()
                .map(|f| FailedSignInView {
                    at: f.at,
                    username: f.username,
                    address: f.address,
                    reason: f.reason.to_owned(),
                })
                .collect(),
        ))
    }

    /// Rebuild the search index and the report figures from the store, in
    /// the background.
    #[oai(path = "/admin/reindex", method = "post")]
    async fn reindex(&self, req: &Request, auth: TokenAuth) -> Result<ReindexStarted, ApiError> {
        state(req).service.request_reindex(&auth.0).await?;
        Ok(ReindexStarted::Accepted(Json(Accepted {
            detail:
                "the search index and the report figures are being rebuilt; searches use the current index until it is done"
                    .into(),
        })))
    }

    /// Take a backup while the server runs (administrators): a consistent
    /// copy of the store from one snapshot, the files it names, the plugins,
    /// the server key and the configuration, with a manifest of checksums.
    /// Writes go on meanwhile. Restore it with `docket restore`.
    #[oai(path = "/admin/backup", method = "post")]
    async fn backup(&self, req: &Request, auth: TokenAuth) -> Result<BackupFile, ApiError> {
        let service = state(req).service.clone();
        service.check_may_back_up(&auth.0)?;
        let (chunks, received) = tokio::sync::mpsc::channel(8);
        let actor = auth.0.clone();
        tokio::task::spawn_blocking(move || {
            let out = ChunkSender {
                buffer: Vec::with_capacity(CHUNK_BYTES),
                chunks: chunks.clone(),
            };
            match service.write_backup(&actor, out, &mut |_| {}) {
                Ok((_, summary)) => {
                    for sha in summary.missing_blobs.iter().chain(&summary.damaged_blobs) {
                        tracing::warn!(blob = %sha, "a file's contents are missing or damaged; run docket verify");
                    }
                    tracing::info!(
                        cases = summary.cases,
                        files = summary.blobs,
                        bytes = summary.bytes,
                        "backup sent"
                    )
                }
                Err(e) => {
                    tracing::warn!(error = %e, "backup failed");
                    let _ = chunks.blocking_send(Err(std::io::Error::other(e.to_string())));
                }
            }
        });
        let name = format!(
            "docket-{}.tar.zst",
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
        );
        Ok(BackupFile::File(
            Binary(Body::from_bytes_stream(
                tokio_stream::wrappers::ReceiverStream::new(received),
            )),
            format!("attachment; filename=\"{name}\""),
        ))
    }
}
