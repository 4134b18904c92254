//! The account page: one's password, two-factor sign-in with its recovery
//! codes, and one's API tokens and sessions.

use askama::Template;
use poem::web::{Form, Path, Query, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use crate::http::web::session::{WebError, app, require_form_session, require_session};
use crate::http::web::shared::{Nav, When, html};
use crate::service::{ServiceError, Session};
use crate::store::TokenKind;

#[derive(Deserialize)]
pub struct AccountQuery {
    changed: Option<String>,
}

/// What the page shows once, after the form that produced it.
#[derive(Default)]
struct ShownOnce {
    recovery_codes: Vec<String>,
    new_token: Option<String>,
    /// A refusal, with the form it belongs to (`second-factor`, `tokens`).
    error: Option<(&'static str, String)>,
    notice: Option<&'static str>,
}

pub struct TokenRow {
    pub id: String,
    pub label: String,
    pub kind: &'static str,
    pub created: When,
    pub expires: Option<When>,
    pub current: bool,
}

/// Setting up a second factor: the secret as text and as a QR code.
pub struct PendingEnrolment {
    pub secret: String,
    /// An SVG drawing of the `otpauth://` address.
    pub qr_svg: String,
}

#[derive(Template)]
#[template(path = "users/account.html")]
pub struct AccountPage {
    pub nav: Nav,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub role: &'static str,
    pub changed: bool,
    pub must_enrol: bool,
    pub second_factor_on: bool,
    pub recovery_left: usize,
    pub required: bool,
    pub pending: Option<PendingEnrolment>,
    pub recovery_codes: Vec<String>,
    pub new_token: Option<String>,
    pub second_factor_error: Option<String>,
    pub tokens_error: Option<String>,
    pub notice: Option<&'static str>,
    pub tokens: Vec<TokenRow>,
}

fn qr_svg(url: &str) -> String {
    match qrcode::QrCode::new(url.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(180, 180)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

fn render(
    req: &Request,
    session: &Session,
    changed: bool,
    once: ShownOnce,
    status: poem::http::StatusCode,
) -> Result<Response, WebError> {
    let service = &app(req).service;
    // The stored record: the session's copy may predate a change.
    let user = service
        .find_user(&session.user.username)?
        .unwrap_or_else(|| session.user.clone());
    let current = super::session::session_token(req)
        .map(crate::service::Service::token_id_of)
        .unwrap_or_default();
    let tokens = service
        .list_tokens(&user)?
        .into_iter()
        .map(|t| TokenRow {
            current: t.id == current,
            id: t.id,
            label: t.label,
            kind: match t.kind {
                TokenKind::Api => "API token",
                _ => "Browser session",
            },
            created: When::new(t.created_at),
            expires: t.expires_at.map(When::new),
        })
        .collect();
    let pending = service
        .pending_enrolment(&user)
        .filter(|_| user.second_factor.is_none())
        .map(|e| PendingEnrolment {
            qr_svg: qr_svg(&e.url),
            secret: e.secret,
        });
    let (second_factor_error, tokens_error) = match once.error {
        Some(("tokens", message)) => (None, Some(message)),
        Some((_, message)) => (Some(message), None),
        None => (None, None),
    };
    let page = AccountPage {
        nav: Nav::new(session, "account"),
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        email: user.email.clone().unwrap_or_else(|| "—".into()),
        role: user.role.as_str(),
        changed,
        must_enrol: service.must_enrol(&user)?,
        second_factor_on: user.second_factor.is_some(),
        recovery_left: user
            .second_factor
            .as_ref()
            .map_or(0, |f| f.recovery_hashes.len()),
        required: service.second_factor_required()?,
        pending,
        recovery_codes: once.recovery_codes,
        new_token: once.new_token,
        second_factor_error,
        tokens_error,
        notice: once.notice,
        tokens,
    };
    let mut response = html(page)?;
    response.set_status(status);
    Ok(response)
}

#[handler]
pub fn account_page(
    req: &Request,
    Query(query): Query<AccountQuery>,
) -> Result<Response, WebError> {
    let session = require_session(req)?;
    render(
        req,
        &session,
        query.changed.is_some(),
        ShownOnce::default(),
        poem::http::StatusCode::OK,
    )
}

/// A refusal of what was typed comes back on the page, beside its form.
fn refused(
    req: &Request,
    session: &Session,
    form: &'static str,
    error: ServiceError,
) -> Result<Response, WebError> {
    let status = match &error {
        ServiceError::RateLimited { .. } => poem::http::StatusCode::TOO_MANY_REQUESTS,
        ServiceError::Conflict(_) => poem::http::StatusCode::CONFLICT,
        ServiceError::Invalid { .. } | ServiceError::InvalidFields(_) => {
            poem::http::StatusCode::UNPROCESSABLE_ENTITY
        }
        _ => return Err(error.into()),
    };
    let message = match &error {
        ServiceError::Invalid { message, .. } => message.clone(),
        other => other.to_string(),
    };
    let once = ShownOnce {
        error: Some((form, super::session::capitalise(&message))),
        ..Default::default()
    };
    render(req, session, false, once, status)
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

#[handler]
pub async fn start_second_factor(
    req: &Request,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    match app(req)
        .service
        .begin_second_factor(&session.user, &form.password)
        .await
    {
        Ok(_) => Ok(Redirect::see_other("/account#second-factor").into_response()),
        Err(e) => refused(req, &session, "second-factor", e),
    }
}

#[handler]
pub async fn confirm_second_factor(
    req: &Request,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    match app(req)
        .service
        .confirm_second_factor(&session.user, &form.code)
        .await
    {
        Ok(codes) => show_recovery_codes(req, &session, codes, "Two-factor sign-in is on."),
        Err(e) => refused(req, &session, "second-factor", e),
    }
}

/// The page with new recovery codes, shown this once.
fn show_recovery_codes(
    req: &Request,
    session: &Session,
    codes: Vec<String>,
    notice: &'static str,
) -> Result<Response, WebError> {
    let once = ShownOnce {
        recovery_codes: codes,
        notice: Some(notice),
        ..Default::default()
    };
    render(req, session, false, once, poem::http::StatusCode::OK)
}

#[handler]
pub async fn renew_recovery_codes(
    req: &Request,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    match app(req)
        .service
        .renew_recovery_codes(
            &session.user,
            &form.code,
            crate::http::api::client_address(req).as_deref(),
        )
        .await
    {
        Ok(codes) => show_recovery_codes(
            req,
            &session,
            codes,
            "New recovery codes replace the old ones.",
        ),
        Err(e) => refused(req, &session, "second-factor", e),
    }
}

#[handler]
pub async fn disable_second_factor(
    req: &Request,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    match app(req)
        .service
        .disable_second_factor(
            &session.user,
            &form.code,
            crate::http::api::client_address(req).as_deref(),
        )
        .await
    {
        Ok(()) => Ok(Redirect::see_other("/account#second-factor").into_response()),
        Err(e) => refused(req, &session, "second-factor", e),
    }
}

#[derive(Deserialize)]
pub struct TokenForm {
    csrf: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    days: String,
}

#[handler]
pub async fn create_token(
    req: &Request,
    Form(form): Form<TokenForm>,
) -> Result<Response, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let days = match form.days.trim() {
        "" => None,
        text => match text.parse::<u32>() {
            Ok(days) => Some(days),
            Err(_) => {
                let error =
                    ServiceError::invalid("days", format!("'{text}' is not a number of days"));
                return refused(req, &session, "tokens", error);
            }
        },
    };
    match app(req)
        .service
        .create_own_token(&session.user, &form.label, days)
        .await
    {
        Ok((_, token)) => {
            let once = ShownOnce {
                new_token: Some(token),
                ..Default::default()
            };
            render(req, &session, false, once, poem::http::StatusCode::CREATED)
        }
        Err(e) => refused(req, &session, "tokens", e),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

#[handler]
pub async fn revoke_token(
    req: &Request,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    app(req)
        .service
        .revoke_own_token(&session.user, &id)
        .await?;
    Ok(Redirect::see_other("/account#tokens").into_response())
}
