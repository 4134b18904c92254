use poem::Request;
use poem_openapi::payload::Json;
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

#[OpenApi(tag = "ApiTags::Admin")]
impl AdminApi {
    /// Rebuild the search index from the store, in the background.
    #[oai(path = "/admin/reindex", method = "post")]
    async fn reindex(&self, req: &Request, auth: TokenAuth) -> Result<ReindexStarted, ApiError> {
        state(req).service.request_reindex(&auth.0)?;
        Ok(ReindexStarted::Accepted(Json(Accepted {
            detail:
                "the search index is being rebuilt; searches use the current index until it is done"
                    .into(),
        })))
    }
}
