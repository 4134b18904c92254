//! CSS, JavaScript and images compiled into the binary.

use poem::http::{StatusCode, header};
use poem::web::Path;
use poem::{IntoResponse, Response, handler};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "assets/static/"]
struct Static;

#[handler]
pub fn serve(Path(path): Path<String>) -> Response {
    match Static::get(&path) {
        Some(file) => {
            let mime = mime_guess::from_path(&path).first_or_octet_stream();
            Response::builder()
                .header(header::CONTENT_TYPE, mime.as_ref())
                .header(header::CACHE_CONTROL, "public, max-age=3600")
                .body(file.data.into_owned())
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
