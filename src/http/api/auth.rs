use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::json_body::JsonBody;
use super::types::UserView;
use super::{ApiTags, TokenAuth, state};
use crate::http::error::ApiError;

#[derive(Default)]
pub struct AuthApi;

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: String,
    password: String,
    /// For accounts with two-factor sign-in: the 6 digits the
    /// authenticator app shows now, or an unused recovery code.
    #[oai(nullable)]
    code: Option<String>,
}

#[derive(Debug, Object)]
struct LoginAnswer {
    /// Send as `Authorization: Bearer TOKEN`.
    token: String,
    #[oai(nullable)]
    expires_at: Option<DateTime<Utc>>,
    user: UserView,
}

#[derive(ApiResponse)]
enum LoggedOut {
    /// The token no longer works.
    #[oai(status = 204)]
    Done,
}

/// A proxy on this machine forwards requests but is not trusted: every
/// client then shares its address. Said once.
fn warn_untrusted_proxy() {
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        tracing::warn!(
            "requests arrive through a proxy on this machine that is not trusted: every client shares its address for sign-in limits; set DOCKET_TRUSTED_PROXIES=127.0.0.1"
        );
    });
}

/// The client's address, for rate limiting: the connection's peer, or
/// what a trusted reverse proxy says in `X-Forwarded-For`.
pub fn client_address(req: &Request) -> Option<String> {
    let peer = req.remote_addr().as_socket_addr()?.ip();
    let configured = &state(req).service.config().auth.trusted_proxies;
    if configured.is_empty() {
        if peer.is_loopback() && req.headers().contains_key("x-forwarded-for") {
            warn_untrusted_proxy();
        }
        return Some(peer.to_canonical().to_string());
    }
    // Checked when the configuration was loaded.
    let trusted = crate::domain::network::parse_networks(configured).unwrap_or_default();
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    Some(crate::domain::network::client_behind_proxies(peer, &forwarded, &trusted).to_string())
}

#[OpenApi(tag = "ApiTags::Auth")]
impl AuthApi {
    /// Exchange a username and password for an API token.
    ///
    /// Repeated failures for one username or address are refused with 429
    /// for a while.
    #[oai(path = "/auth/login", method = "post")]
    async fn login(
        &self,
        req: &Request,
        body: JsonBody<LoginBody>,
    ) -> Result<Json<LoginAnswer>, ApiError> {
        let service = &state(req).service;
        let address = client_address(req);
        let user = service
            .login(&body.0.username, &body.0.password, address.as_deref())
            .await?;
        let user = match (&user.second_factor, body.0.code.as_deref()) {
            (None, _) => user,
            (Some(_), Some(code)) => {
                service
                    .prove_second_factor(&user.username, code, address.as_deref())
                    .await?
            }
            (Some(_), None) => {
                return Err(crate::service::ServiceError::Unauthorized(
                    "this account signs in with a second factor: send the 6 digits the authenticator app shows, or a recovery code, as `code`".into(),
                )
                .into());
            }
        };
        let days = service.config().auth.api_token_days;
        let issued = service
            .issue_api_token(&user.username, "login", Some(days))
            .await?;
        Ok(Json(LoginAnswer {
            token: issued.token,
            expires_at: issued.expires_at,
            user: user.into(),
        }))
    }

    /// Revoke the token this request is made with.
    #[oai(path = "/auth/logout", method = "post")]
    async fn logout(&self, req: &Request, _auth: TokenAuth) -> Result<LoggedOut, ApiError> {
        let token = super::bearer_token(req).unwrap_or_default().to_owned();
        state(req).service.revoke_token(&token).await?;
        Ok(LoggedOut::Done)
    }
}
