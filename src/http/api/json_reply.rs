//! A JSON response written by serde straight into bytes. poem-openapi's own
//! `Json` first builds a `serde_json::Value` tree of the whole answer and
//! then prints it: for a page of 25 cases that tree was a quarter of a
//! search's CPU. The OpenAPI schema still comes from the type's `Object`
//! derive; each type sent this way has a test that its serde output is the
//! same, byte for byte, as what `Json` would send.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::Serialize;

pub struct JsonReply<T>(pub T);

const CONTENT_TYPE: &str = "application/json; charset=utf-8";

impl<T: Type> Payload for JsonReply<T> {
    const CONTENT_TYPE: &'static str = CONTENT_TYPE;

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Serialize + Send> IntoResponse for JsonReply<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => Response::builder().content_type(CONTENT_TYPE).body(body),
            // Only a map with keys that are not strings fails, and no type
            // sent this way has one.
            Err(err) => {
                tracing::error!(error = %err, "a response could not be written as JSON");
                Response::builder()
                    .status(StatusCode::INTERNAL_SERVER_ERROR)
                    .finish()
            }
        }
    }
}

impl<T: Type + Serialize + Send> ApiResponse for JsonReply<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: Self::CONTENT_TYPE,
                    schema: Self::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// Values as poem-openapi writes them, for `#[serde(serialize_with)]`.
pub mod wire {
    use chrono::{DateTime, Utc};
    use serde::Serializer;

    /// RFC 3339 with `+00:00`, as `Json` writes a time.
    pub fn time<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&at.to_rfc3339())
    }

    pub fn optional_time<S: Serializer>(
        at: &Option<DateTime<Utc>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => time(at, s),
            None => s.serialize_none(),
        }
    }

    /// A fraction widened to f64 first, as `Json` writes an `f32`
    /// (0.9 is sent as 0.8999999761581421).
    pub fn optional_fraction<S: Serializer>(value: &Option<f32>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => s.serialize_f64(f64::from(*value)),
            None => s.serialize_none(),
        }
    }

    /// `Json` leaves out a fraction that is not a number; so does this.
    pub fn not_a_number(value: &Option<f32>) -> bool {
        value.is_some_and(f32::is_nan)
    }
}
