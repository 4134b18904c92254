//! One's own sign-in: two-factor enrolment, recovery codes and tokens; the
//! organisation's sign-in rule and resetting someone's second factor
//! (administrators).

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::json_body::JsonBody;
use super::{ApiTags, TokenAuth, state};
use crate::http::error::ApiError;
use crate::service::TokenSummary;
use crate::store::TokenKind;

#[derive(Default)]
pub struct AccountApi;

/// A secret to put in an authenticator app.
#[derive(Debug, Object)]
struct EnrolmentView {
    /// The shared secret, base32, for typing in by hand.
    secret: String,
    /// The `otpauth://` address (what the QR code on the account page holds).
    otpauth_url: String,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct EnrolBody {
    /// The account's password, asked again before a phone is added.
    #[oai(validator(min_length = 1, max_length = 1024))]
    password: String,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct CodeBody {
    /// The 6 digits the app shows now (or, where a second factor proves
    /// the person, an unused recovery code).
    #[oai(validator(min_length = 1, max_length = 64))]
    code: String,
}

/// Recovery codes, shown this once: each signs in once in place of a code.
#[derive(Debug, Object)]
struct RecoveryCodes {
    recovery_codes: Vec<String>,
}

#[derive(Debug, Object)]
struct TokenView {
    /// Names the token for revoking it.
    id: String,
    /// `api` or `session`.
    kind: String,
    label: String,
    created_at: DateTime<Utc>,
    #[oai(nullable)]
    expires_at: Option<DateTime<Utc>>,
    /// The token this request is made with.
    current: bool,
}

impl TokenView {
    fn new(summary: TokenSummary, current: &str) -> TokenView {
        TokenView {
            current: summary.id == current,
            id: summary.id,
            kind: match summary.kind {
                TokenKind::Api => "api",
                TokenKind::Session => "session",
                TokenKind::SecondStep => "second_step",
            }
            .into(),
            label: summary.label,
            created_at: summary.created_at,
            expires_at: summary.expires_at,
        }
    }
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct NewTokenBody {
    /// What the token is for, to recognise it in the list.
    #[oai(validator(min_length = 1, max_length = 100))]
    label: String,
    /// Days until it expires; absent: it never does.
    #[oai(validator(minimum(value = "1"), maximum(value = "3650")))]
    #[oai(nullable)]
    days: Option<u32>,
}

#[derive(Debug, Object)]
struct NewTokenView {
    /// Send as `Authorization: Bearer TOKEN`. Shown this once.
    token: String,
    #[oai(flatten)]
    summary: TokenView,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct SignInPolicy {
    /// Staff (administrators and users, not partners) must sign in with a
    /// second factor; those without one can only set it up.
    require_second_factor: bool,
}

#[derive(ApiResponse)]
enum Enrolled {
    /// A new secret; confirm it with a code to turn two-factor sign-in on.
    #[oai(status = 201)]
    Started(Json<EnrolmentView>),
}

#[derive(ApiResponse)]
enum TokenCreated {
    #[oai(status = 201)]
    Created(Json<NewTokenView>),
}

#[derive(ApiResponse)]
enum Done {
    #[oai(status = 204)]
    Done,
}

#[OpenApi(tag = "ApiTags::Auth")]
impl AccountApi {
    /// Start setting up two-factor sign-in, given the password again: a
    /// new secret for an authenticator app. Nothing changes until it is
    /// confirmed.
    #[oai(path = "/me/second-factor", method = "post")]
    async fn begin(
        &self,
        req: &Request,
        auth: TokenAuth,
        body: JsonBody<EnrolBody>,
    ) -> Result<Enrolled, ApiError> {
        let enrolment = state(req)
            .service
            .begin_second_factor(&auth.0, &body.0.password)
            .await?;
        Ok(Enrolled::Started(Json(EnrolmentView {
            secret: enrolment.secret,
            otpauth_url: enrolment.url,
        })))
    }

    /// Turn two-factor sign-in on with the first code from the app; the
    /// answer holds the recovery codes, shown this once.
    #[oai(path = "/me/second-factor/confirm", method = "post")]
    async fn confirm(
        &self,
        req: &Request,
        auth: TokenAuth,
        body: JsonBody<CodeBody>,
    ) -> Result<Json<RecoveryCodes>, ApiError> {
        let codes = state(req)
            .service
            .confirm_second_factor(&auth.0, &body.0.code)
            .await?;
        Ok(Json(RecoveryCodes {
            recovery_codes: codes,
        }))
    }

    /// New recovery codes in place of the old ones, given a current code.
    #[oai(path = "/me/second-factor/recovery-codes", method = "post")]
    async fn renew(
        &self,
        req: &Request,
        auth: TokenAuth,
        body: JsonBody<CodeBody>,
    ) -> Result<Json<RecoveryCodes>, ApiError> {
        let codes = state(req)
            .service
            .renew_recovery_codes(
                &auth.0,
                &body.0.code,
                super::auth::client_address(req).as_deref(),
            )
            .await?;
        Ok(Json(RecoveryCodes {
            recovery_codes: codes,
        }))
    }

    /// Turn two-factor sign-in off, given a current code (refused while
    /// the organisation requires it of staff).
    #[oai(path = "/me/second-factor/disable", method = "post")]
    async fn disable(
        &self,
        req: &Request,
        auth: TokenAuth,
        body: JsonBody<CodeBody>,
    ) -> Result<Done, ApiError> {
        state(req)
            .service
            .disable_second_factor(
                &auth.0,
                &body.0.code,
                super::auth::client_address(req).as_deref(),
            )
            .await?;
        Ok(Done::Done)
    }

    /// One's API tokens and browser sessions (never the tokens themselves).
    #[oai(path = "/me/tokens", method = "get")]
    async fn tokens(
        &self,
        req: &Request,
        auth: TokenAuth,
    ) -> Result<Json<Vec<TokenView>>, ApiError> {
        let current =
            crate::service::Service::token_id_of(super::bearer_token(req).unwrap_or_default());
        let tokens = state(req).service.list_tokens(&auth.0)?;
        Ok(Json(
            tokens
                .into_iter()
                .map(|t| TokenView::new(t, &current))
                .collect(),
        ))
    }

    /// A new API token, shown this once. Tokens sign in with one factor:
    /// keep them like passwords.
    #[oai(path = "/me/tokens", method = "post")]
    async fn create_token(
        &self,
        req: &Request,
        auth: TokenAuth,
        body: JsonBody<NewTokenBody>,
    ) -> Result<TokenCreated, ApiError> {
        let (summary, token) = state(req)
            .service
            .create_own_token(&auth.0, &body.0.label, body.0.days)
            .await?;
        Ok(TokenCreated::Created(Json(NewTokenView {
            token,
            summary: TokenView::new(summary, ""),
        })))
    }

    /// Revoke one of one's tokens or sessions.
    #[oai(path = "/me/tokens/:id", method = "delete")]
    async fn revoke_token(
        &self,
        req: &Request,
        auth: TokenAuth,
        id: Path<String>,
    ) -> Result<Done, ApiError> {
        state(req).service.revoke_own_token(&auth.0, &id.0).await?;
        Ok(Done::Done)
    }

    /// Whether staff must sign in with a second factor (administrators).
    #[oai(path = "/admin/sign-in-policy", method = "get", tag = "ApiTags::Admin")]
    async fn policy(&self, req: &Request, auth: TokenAuth) -> Result<Json<SignInPolicy>, ApiError> {
        if !auth.0.is_admin() {
            return Err(crate::service::ServiceError::Forbidden(
                "only administrators see the sign-in rules".into(),
            )
            .into());
        }
        Ok(Json(SignInPolicy {
            require_second_factor: state(req).service.second_factor_required()?,
        }))
    }

    /// Require (or stop requiring) a second factor of staff (administrators).
    #[oai(path = "/admin/sign-in-policy", method = "put", tag = "ApiTags::Admin")]
    async fn set_policy(
        &self,
        req: &Request,
        auth: TokenAuth,
        body: JsonBody<SignInPolicy>,
    ) -> Result<Json<SignInPolicy>, ApiError> {
        let required = body.0.require_second_factor;
        state(req)
            .service
            .set_second_factor_required(&auth.0, required)
            .await?;
        Ok(Json(SignInPolicy {
            require_second_factor: required,
        }))
    }

    /// Take away someone's second factor, for a lost phone
    /// (administrators): they sign in with their password and set it up
    /// again.
    #[oai(
        path = "/users/:username/second-factor",
        method = "delete",
        tag = "ApiTags::Users"
    )]
    async fn reset(
        &self,
        req: &Request,
        auth: TokenAuth,
        username: Path<String>,
    ) -> Result<Done, ApiError> {
        state(req)
            .service
            .reset_second_factor(&auth.0, &username.0)
            .await?;
        Ok(Done::Done)
    }
}
