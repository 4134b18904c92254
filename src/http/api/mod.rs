//! The REST API (poem-openapi): one module per resource. The OpenAPI
//! document is generated from these types.

mod account;
mod admin;
mod ai;
pub mod auth;
mod automation;
mod bulk;
mod cases;
mod channels;
pub mod events;
mod export;
pub mod files;
mod filters;
mod json_body;
mod json_reply;
mod mail;
mod previews;
pub(crate) mod reports;
mod saved_replies;
mod time;
mod types;
mod users;

use std::sync::Arc;

use poem::Request;
use poem_openapi::auth::Bearer;
use poem_openapi::{OpenApiService, SecurityScheme, Tags};

use crate::domain::user::User;
use crate::http::AppState;

#[derive(Tags)]
enum ApiTags {
    /// Logging in and tokens.
    Auth,
    /// Accounts (administrators).
    Users,
    /// Channels and their members.
    Channels,
    /// Cases, their history, notes and messages.
    Cases,
    /// Live updates.
    Events,
    /// Categories, plugins, case profiles and milestones.
    Automation,
    /// Operating the server (administrators).
    Admin,
    /// Reports on service levels and workload (channel managers and
    /// administrators).
    Reports,
}

/// An API token from `POST /api/v1/auth/login` or `docket token create`,
/// sent as `Authorization: Bearer TOKEN`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "user_for_token")]
pub struct TokenAuth(User);

/// A token that is not valid answers 401; a store that cannot say answers
/// its own error (503 while it is reopened), so a client never drops a good
/// token for a moment of disk trouble.
async fn user_for_token(req: &Request, bearer: Bearer) -> poem::Result<User> {
    if let Some(checked) = req.extensions().get::<TokenChecked>()
        && checked.token == bearer.token
    {
        return Ok(checked.user.clone());
    }
    let Some(state) = req.data::<Arc<AppState>>() else {
        return Err(poem_openapi::error::AuthorizationError.into());
    };
    match state.service.authenticate_api_token(&bearer.token) {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(poem_openapi::error::AuthorizationError.into()),
        Err(e) => Err(crate::http::error::ApiError::from(e).into()),
    }
}

/// The user a request's bearer token belonged to when `SecondFactorGate`
/// checked it, a moment before the handler's own check.
#[derive(Clone)]
struct TokenChecked {
    token: String,
    user: User,
}

/// Every API of the server; each is a unit struct, so the default is the set.
pub type Apis = (
    admin::AdminApi,
    auth::AuthApi,
    users::UsersApi,
    channels::ChannelsApi,
    cases::CasesApi,
    events::EventsApi,
    automation::AutomationApi,
    time::TimeApi,
    bulk::BulkApi,
    export::ExportApi,
    mail::MailApi,
    // Tuples have `Default` up to twelve: the newest APIs nest.
    (
        files::FilesApi,
        saved_replies::SavedRepliesApi,
        previews::PreviewsApi,
        ai::AiApi,
        ai::AssistApi,
        account::AccountApi,
        reports::ReportsApi,
    ),
);

pub fn service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        Apis::default(),
        "Docket",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "The REST API of Docket, a self-hosted help desk. Everything the web UI does, this API does too. \
         Errors are RFC 9457 problem documents (application/problem+json).",
    )
    .server("/api/v1")
}

/// The bearer token the request carries, if any.
pub fn bearer_token(req: &Request) -> Option<&str> {
    let header = req.header("authorization")?;
    let (scheme, token) = header.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The state every handler reads the service from.
fn state(req: &Request) -> &Arc<AppState> {
    req.data::<Arc<AppState>>()
        .expect("routes carry the app state")
}

pub use auth::client_address;
pub use events::case_events;

/// Keeps staff who must enrol a second factor to enrolment: every other
/// request with their token is refused until they have one.
pub struct SecondFactorGate;

/// What someone who must enrol may still reach (paths under `/api/v1`).
fn open_while_enrolling(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    matches!(path, "/me" | "/auth/login" | "/auth/logout") || path.starts_with("/me/second-factor")
}

impl<E: poem::Endpoint> poem::Middleware<E> for SecondFactorGate {
    type Output = SecondFactorGateEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        SecondFactorGateEndpoint { inner }
    }
}

pub struct SecondFactorGateEndpoint<E> {
    inner: E,
}

impl<E: poem::Endpoint> poem::Endpoint for SecondFactorGateEndpoint<E> {
    type Output = poem::Response;

    async fn call(&self, mut req: Request) -> poem::Result<Self::Output> {
        if !open_while_enrolling(req.uri().path())
            && let (Some(token), Some(state)) = (bearer_token(&req), req.data::<Arc<AppState>>())
            && let Ok(Some(user)) = state.service.authenticate_api_token(token)
        {
            if state.service.must_enrol(&user).unwrap_or(false) {
                let refused = crate::http::error::ApiError::new(
                    poem::http::StatusCode::FORBIDDEN,
                    "this organisation requires two-factor sign-in: set it up on your account page (or with POST /api/v1/me/second-factor) first",
                );
                return Ok(poem::IntoResponse::into_response(refused));
            }
            // The token checker takes the user from here rather than reading
            // the store a second time for the same token.
            let checked = TokenChecked {
                token: token.to_owned(),
                user,
            };
            req.extensions_mut().insert(checked);
        }
        Ok(poem::IntoResponse::into_response(
            self.inner.call(req).await?,
        ))
    }
}
