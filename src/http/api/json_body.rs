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

/// An optional JSON request body: absent or empty is `None`.
pub struct MaybeJsonBody<T>(pub Option<T>);

impl<T: Type> Payload for MaybeJsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(content_type: &str) -> bool {
        JsonBody::<T>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + DeserializeOwned + Send> ParsePayload for MaybeJsonBody<T> {
    const IS_REQUIRED: bool = false;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let data = Vec::<u8>::from_request(request, body).await?;
        if data.iter().all(u8::is_ascii_whitespace) {
            return Ok(MaybeJsonBody(None));
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&data);
        serde_path_to_error::deserialize(&mut deserializer)
            .map(|value| MaybeJsonBody(Some(value)))
            .map_err(|err| {
                let path = err.path().to_string();
                let inner = err.into_inner();
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("the request body is not valid: {path}: {inner}"),
                )
                .into()
            })
    }
}

// By hand rather than with `impl_apirequest_for_payload!`, which refuses a
// request without a content type even when the body is optional.
impl<'a, T: Type + DeserializeOwned + Send> poem_openapi::ApiExtractor<'a> for MaybeJsonBody<T> {
    const TYPES: &'static [poem_openapi::ApiExtractorType] =
        &[poem_openapi::ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }

    fn request_meta() -> Option<poem_openapi::registry::MetaRequest> {
        Some(poem_openapi::registry::MetaRequest {
            description: None,
            content: vec![poem_openapi::registry::MetaMediaType {
                content_type: <Self as Payload>::CONTENT_TYPE,
                schema: <Self as Payload>::schema_ref(),
            }],
            required: false,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: poem_openapi::ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        match request.content_type() {
            Some(content_type) if !Self::check_content_type(content_type) => {
                Err(poem_openapi::error::ContentTypeError::NotSupported {
                    content_type: content_type.to_string(),
                }
                .into())
            }
            _ => <Self as ParsePayload>::from_request(request, body).await,
        }
    }
}
