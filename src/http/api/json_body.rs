//! A JSON request body parsed with serde, so that every rejection names the
//! field at fault (`customer.email: invalid type...`, `missing field
//! `subject``). The OpenAPI schema still comes from the type's `Object`
//! derive.

use poem::http::StatusCode;
use poem::{FromRequest, Request, RequestBody};
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::de::DeserializeOwned;

use crate::http::error::ApiError;

pub struct JsonBody<T>(pub T);

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(content_type: &str) -> bool {
        matches!(content_type.parse::<mime_guess::Mime>(), Ok(mime)
            if mime.type_() == "application" && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json")))
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + DeserializeOwned + Send> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let data = Vec::<u8>::from_request(request, body).await?;
        if data.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "the request body is empty; send a JSON object",
            )
            .into());
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&data);
        serde_path_to_error::deserialize(&mut deserializer)
            .map(JsonBody)
            .map_err(|err| {
                let path = err.path().to_string();
                let inner = err.into_inner();
                let reason = if path == "." {
                    inner.to_string()
                } else {
                    format!("{path}: {inner}")
                };
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("the request body is not valid: {reason}"),
                )
                .into()
            })
    }
}

poem_openapi::impl_apirequest_for_payload!(JsonBody<T>, T: Type + DeserializeOwned + Send);
