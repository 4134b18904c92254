//! Request body limits and security headers.

use poem::http::{HeaderValue, StatusCode, header};
use poem::{Body, Endpoint, IntoResponse, Middleware, Request, Response, Result};
use tokio::io::AsyncReadExt;

use super::error::ApiError;

/// Refuses bodies over the limit with 413, whether the client declared a
/// Content-Length or streams a chunked body.
pub struct BodyLimit {
    max: usize,
    /// For raw mail and file uploads.
    max_large: usize,
    /// For whole mailboxes to migrate.
    max_mailbox: usize,
}

impl BodyLimit {
    pub fn new(max: usize, max_large: usize, max_mailbox: usize) -> Self {
        BodyLimit {
            max,
            max_large,
            max_mailbox,
        }
    }
}

/// The route that takes a whole mailbox.
fn takes_mailboxes(path: &str) -> bool {
    path.trim_end_matches('/').ends_with("/mailbox-imports")
}

/// Routes that take whole messages or files: the mail pipe, uploads and
/// the update form (which may carry uploads).
fn takes_large_bodies(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    path.ends_with("/mail") || path.ends_with("/files") || path.ends_with("/updates")
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        BodyLimitEndpoint {
            inner: ep,
            max: self.max,
            max_large: self.max_large,
            max_mailbox: self.max_mailbox,
        }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
    max: usize,
    max_large: usize,
    max_mailbox: usize,
}

fn too_large(max: usize, path: &str) -> poem::Error {
    // A page's form gets a page a person reads; the API its problem JSON.
    if is_page(path) {
        let message = format!(
            "What you sent is larger than this desk takes ({}). Go back: the text is still in the form. \
             Shorten it, or attach long logs as a file.",
            human_size(max)
        );
        return poem::Error::from_response(super::web::error_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            message,
        ));
    }
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is larger than the limit of {max} bytes"),
    )
    .into()
}

/// Paths of the web UI's forms, as against the API, webhooks and widget.
fn is_page(path: &str) -> bool {
    !["/api/", "/hooks/", "/widget"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
}

fn human_size(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.0} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let path = req.uri().path().to_owned();
        let max = if takes_mailboxes(&path) {
            self.max_mailbox
        } else if takes_large_bodies(&path) {
            self.max_large
        } else {
            self.max
        };
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        match declared {
            Some(length) if length > max as u64 => return Err(too_large(max, &path)),
            Some(_) => {}
            // Chunked HTTP/1.1 and HTTP/2 bodies declare no length: read at
            // most one byte past the limit to tell whether they are over.
            None => {
                let mut buffer = Vec::new();
                req.take_body()
                    .into_async_read()
                    .take(max as u64 + 1)
                    .read_to_end(&mut buffer)
                    .await
                    .map_err(|e| {
                        ApiError::new(
                            StatusCode::BAD_REQUEST,
                            format!("the request body could not be read: {e}"),
                        )
                    })?;
                if buffer.len() > max {
                    return Err(too_large(max, &path));
                }
                req.set_body(Body::from(buffer));
            }
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

/// Headers every response carries; pages get a strict content policy.
pub struct SecurityHeaders;

impl<E: Endpoint> Middleware<E> for SecurityHeaders {
    type Output = SecurityHeadersEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        SecurityHeadersEndpoint { inner: ep }
    }
}

pub struct SecurityHeadersEndpoint<E> {
    inner: E,
}

const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

impl<E: Endpoint> Endpoint for SecurityHeadersEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let docs = req.uri().path().trim_end_matches('/') == "/api/docs";
        let mut response = self.inner.call(req).await?.into_response();
        if docs && response.status().is_success() {
            response = with_docs_policy(response).await;
        }
        let headers = response.headers_mut();
        headers.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
        headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
        if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_POLICY),
            );
        }
        // Answers carry cases, people and tokens: no browser or proxy may
        // keep them. Only public, unchanging assets say otherwise.
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        Ok(response)
    }
}

/// The interactive API docs are one page with inline scripts: its policy
/// allows exactly those scripts, by their hashes, and nothing from elsewhere.
async fn with_docs_policy(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let Ok(bytes) = body.into_vec().await else {
        return Response::from_parts(parts, Body::empty());
    };
    let policy = docs_policy(&String::from_utf8_lossy(&bytes));
    let mut response = Response::from_parts(parts, Body::from(bytes));
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

fn docs_policy(page: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let mut hashes = String::new();
    let mut rest = page;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        let Some(close) = after.find("</script>") else {
            break;
        };
        let tag = &after[..open_end];
        if !tag.contains("src=") && open_end < close {
            let script = &after[open_end + 1..close];
            let digest = sha2::Sha256::digest(script.as_bytes());
            hashes.push_str(&format!(
                " 'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        rest = &after[close + "</script>".len()..];
    }
    format!(
        "default-src 'none'; script-src{hashes}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}
