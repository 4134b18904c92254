//! Browser sessions: the cookie, CSRF checks, logging in and out, and how
//! failures are shown to a person.

use askama::Template;
use poem::http::{HeaderValue, StatusCode, header};
use poem::web::{Form, Html, Query, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;
use std::sync::Arc;
use subtle::ConstantTimeEq;

use super::shared::ErrorPage;
use crate::http::AppState;
use crate::service::{ServiceError, Session};

const SESSION_COOKIE: &str = "docket_session";
const LOGIN_CSRF_COOKIE: &str = "docket_login";
/// Between the password and the second factor.
const SECOND_STEP_COOKIE: &str = "docket_second_step";

/// A failure in the web UI, shown as a readable page.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("please log in")]
    LoginRequired { next: String },
    #[error("{0}")]
    Service(#[from] ServiceError),
    #[error("the form has expired or did not come from this site; reload the page and try again")]
    Csrf,
    #[error("{0}")]
    BadInput(String),
    /// A fault on the server's side (logged); the person sees a plain apology.
    #[error("something went wrong on the server; the server log has details")]
    Internal(String),
    /// A member of staff must set up a second factor before anything else.
    #[error("set up two-factor sign-in first")]
    EnrolFirst,
    /// Values refused, each named by the label its form shows.
    #[error("{}", .0.iter().map(|(label, message)| if message.starts_with(label.as_str()) { format!("{message}.") } else { format!("{label}: {message}.") }).collect::<Vec<_>>().join(" "))]
    Fields(Vec<(String, String)>),
}

impl From<crate::domain::RuleError> for WebError {
    fn from(err: crate::domain::RuleError) -> Self {
        WebError::Service(err.into())
    }
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            WebError::LoginRequired { .. } | WebError::EnrolFirst => StatusCode::SEE_OTHER,
            WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::BadInput(_) => StatusCode::BAD_REQUEST,
            WebError::Fields(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::Service(e) => crate::http::error::status_of(e),
        }
    }
}

impl poem::error::ResponseError for WebError {
    fn status(&self) -> StatusCode {
        WebError::status(self)
    }

    fn as_response(&self) -> Response {
        if let WebError::LoginRequired { next } = self {
            let target = format!("/login?next={}", urlencode(next));
            return Redirect::see_other(target).into_response();
        }
        if let WebError::EnrolFirst = self {
            return Redirect::see_other("/account#second-factor").into_response();
        }
        let status = WebError::status(self);
        let message = match self {
            WebError::Service(ServiceError::Store(
                e @ (crate::store::StoreError::DiskFull { .. }
                | crate::store::StoreError::Reopening),
            )) => capitalise(&e.to_string()),
            WebError::Service(ServiceError::Store(e)) => {
                tracing::error!(error = %e, "store failure while serving a page");
                "Something went wrong on the server and nothing was saved. Try again; if it persists, the server log has details.".to_owned()
            }
            WebError::Internal(detail) => {
                tracing::error!(%detail, "page failure");
                capitalise(&self.to_string())
            }
            WebError::Service(
                refused @ (ServiceError::Invalid { .. } | ServiceError::InvalidFields(_)),
            ) => in_words(refused),
            other => capitalise(&other.to_string()),
        };
        let page = ErrorPage {
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            message,
        };
        (
            status,
            Html(page.render().unwrap_or_else(|_| "error".into())),
        )
            .into_response()
    }
}

/// A refusal in words a person reads: fields named as the pages label them,
/// not by their keys.
pub(in crate::http::web) fn in_words(error: &ServiceError) -> String {
    match error {
        ServiceError::Invalid { field, message } => {
            format!(
                "{}: {message}",
                super::case::properties::label_of(field, &[])
            )
        }
        ServiceError::InvalidFields(problems) => problems
            .iter()
            .map(|p| {
                let label = super::case::properties::label_of(&p.field, &[]);
                if p.message.starts_with(&label) {
                    format!("{}.", p.message)
                } else {
                    format!("{label}: {}.", p.message)
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => capitalise(&other.to_string()),
    }
}

pub(in crate::http::web) fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

pub fn app(req: &Request) -> &Arc<AppState> {
    req.data::<Arc<AppState>>()
        .expect("routes carry the app state")
}

fn cookie<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The session cookie's value, if the request carries one.
pub fn session_token(req: &Request) -> Option<&str> {
    cookie(req, SESSION_COOKIE)
}

/// The logged-in session, if any.
pub fn current_session(req: &Request) -> Result<Option<Session>, WebError> {
    let Some(token) = cookie(req, SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some(session) = app(req).service.authenticate_session(token)? else {
        return Ok(None);
    };
    // Staff who must set up a second factor can do that and nothing else.
    let path = req.uri().path();
    let enrolling = path == "/logout" || path == "/account" || path.starts_with("/account/");
    if !enrolling && app(req).service.must_enrol(&session.user)? {
        return Err(WebError::EnrolFirst);
    }
    Ok(Some(session))
}

/// The logged-in session, or a redirect to the login page and back.
pub fn require_session(req: &Request) -> Result<Session, WebError> {
    current_session(req)?.ok_or_else(|| WebError::LoginRequired {
        next: req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into()),
    })
}

/// A session whose form carried the right CSRF token.
pub fn require_form_session(req: &Request, csrf: &str) -> Result<Session, WebError> {
    let session = current_session(req)?.ok_or_else(|| WebError::LoginRequired {
        next: "/inbox".into(),
    })?;
    if tokens_match(&session.csrf, csrf) {
        Ok(session)
    } else {
        Err(WebError::Csrf)
    }
}

fn tokens_match(expected: &str, given: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

fn secure_cookies(req: &Request) -> bool {
    app(req)
        .service
        .config()
        .auth
        .secure_cookies
        .unwrap_or_else(|| {
            req.uri().scheme_str() == Some("https")
                || req
                    .header("x-forwarded-proto")
                    .is_some_and(|p| p.eq_ignore_ascii_case("https"))
        })
}

fn set_cookie(response: &mut Response, req: &Request, name: &str, value: &str, max_age_secs: i64) {
    let secure = if secure_cookies(req) { "; Secure" } else { "" };
    let cookie =
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// Only same-site paths, so the login page cannot be used to send people
/// elsewhere.
/// Only visible ASCII is accepted: browsers drop tabs and line breaks from
/// URLs, which would turn `/\t/evil.example` into `//evil.example`.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && path.bytes().all(|b| b.is_ascii_graphic())
                && !matches!(path.as_bytes().get(1), Some(b'/' | b'\\'))
                && !path.contains('\\') =>
        {
            path.to_owned()
        }
        _ => "/inbox".to_owned(),
    }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

fn render_login(
    req: &Request,
    next: String,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    with_login_csrf(req, status, |csrf| LoginPage { next, error, csrf }.render())
}

/// A sign-in page with a fresh double-submit token: in its form and in a
/// cookie.
fn with_login_csrf(
    req: &Request,
    status: StatusCode,
    page: impl FnOnce(String) -> askama::Result<String>,
) -> Response {
    let csrf = hex::encode(rand::random::<[u8; 16]>());
    let body = page(csrf.clone()).unwrap_or_default();
    let mut response = (status, Html(body)).into_response();
    set_cookie(&mut response, req, LOGIN_CSRF_COOKIE, &csrf, 3600);
    response
}

#[handler]
pub fn login_page(req: &Request, Query(query): Query<LoginQuery>) -> Result<Response, WebError> {
    let next = safe_next(query.next.as_deref());
    if current_session(req)?.is_some() {
        return Ok(Redirect::see_other(next).into_response());
    }
    Ok(render_login(req, next, None, StatusCode::OK))
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    csrf: String,
}

#[handler]
pub async fn login_submit(
    req: &Request,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let next = safe_next(form.next.as_deref());
    if !cookie(req, LOGIN_CSRF_COOKIE).is_some_and(|expected| tokens_match(expected, &form.csrf)) {
        let message = "The login form expired; please try again.".to_owned();
        return Ok(render_login(
            req,
            next,
            Some(message),
            StatusCode::FORBIDDEN,
        ));
    }
    let service = &app(req).service;
    let address = crate::http::api::client_address(req);
    let user = match service
        .login(&form.username, &form.password, address.as_deref())
        .await
    {
        Ok(user) => user,
        Err(e @ (ServiceError::Unauthorized(_) | ServiceError::RateLimited { .. })) => {
            let status = if matches!(e, ServiceError::RateLimited { .. }) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            return Ok(render_login(
                req,
                next,
                Some(capitalise(&e.to_string())),
                status,
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if user.second_factor.is_some() {
        let step = service.start_second_step(&user).await?;
        let target = format!("/login/second-factor?next={}", urlencode(&next));
        let mut response = Redirect::see_other(target).into_response();
        set_cookie(&mut response, req, SECOND_STEP_COOKIE, &step.token, 300);
        return Ok(response);
    }
    signed_in(req, &user, next).await
}

/// Starts the session and goes where the person was headed.
async fn signed_in(
    req: &Request,
    user: &crate::domain::user::User,
    next: String,
) -> Result<Response, WebError> {
    let service = &app(req).service;
    let (issued, _csrf) = service.start_session(user).await?;
    let mut response = Redirect::see_other(next).into_response();
    let max_age = i64::from(service.config().auth.session_hours) * 3600;
    set_cookie(&mut response, req, SESSION_COOKIE, &issued.token, max_age);
    set_cookie(&mut response, req, LOGIN_CSRF_COOKIE, "", 0);
    set_cookie(&mut response, req, SECOND_STEP_COOKIE, "", 0);
    Ok(response)
}

#[derive(Template)]
#[template(path = "second_factor.html")]
pub struct SecondFactorPage {
    pub username: String,
    pub next: String,
    pub error: Option<String>,
    pub csrf: String,
}

fn render_second_step(
    req: &Request,
    username: String,
    next: String,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    with_login_csrf(req, status, |csrf| {
        SecondFactorPage {
            username,
            next,
            error,
            csrf,
        }
        .render()
    })
}

#[handler]
pub fn second_step_page(
    req: &Request,
    Query(query): Query<LoginQuery>,
) -> Result<Response, WebError> {
    let next = safe_next(query.next.as_deref());
    let user = match cookie(req, SECOND_STEP_COOKIE) {
        Some(token) => app(req).service.second_step_user(token)?,
        None => None,
    };
    match user {
        Some(user) => Ok(render_second_step(
            req,
            user.username,
            next,
            None,
            StatusCode::OK,
        )),
        None => {
            Ok(Redirect::see_other(format!("/login?next={}", urlencode(&next))).into_response())
        }
    }
}

#[derive(Deserialize)]
pub struct SecondStepForm {
    code: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    csrf: String,
}

#[handler]
pub async fn second_step_submit(
    req: &Request,
    Form(form): Form<SecondStepForm>,
) -> Result<Response, WebError> {
    let next = safe_next(form.next.as_deref());
    let service = &app(req).service;
    let step = cookie(req, SECOND_STEP_COOKIE);
    let waiting = match step {
        Some(token) => service.second_step_user(token)?.map(|user| (token, user)),
        None => None,
    };
    let Some((token, waiting)) = waiting else {
        return Ok(render_login(
            req,
            next,
            Some("The sign-in took too long; please start again.".into()),
            StatusCode::UNAUTHORIZED,
        ));
    };
    if !cookie(req, LOGIN_CSRF_COOKIE).is_some_and(|expected| tokens_match(expected, &form.csrf)) {
        let message = "The form expired; please type the code again.".to_owned();
        return Ok(render_second_step(
            req,
            waiting.username,
            next,
            Some(message),
            StatusCode::FORBIDDEN,
        ));
    }
    let address = crate::http::api::client_address(req);
    match service
        .finish_second_step(token, &form.code, address.as_deref())
        .await
    {
        Ok(user) => signed_in(req, &user, next).await,
        Err(e @ (ServiceError::Invalid { .. } | ServiceError::RateLimited { .. })) => {
            let status = if matches!(e, ServiceError::RateLimited { .. }) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let message = match &e {
                ServiceError::Invalid { message, .. } => capitalise(message),
                other => capitalise(&other.to_string()),
            };
            Ok(render_second_step(
                req,
                waiting.username,
                next,
                Some(message),
                status,
            ))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

#[handler]
pub async fn logout(req: &Request, Form(form): Form<CsrfForm>) -> Result<Response, WebError> {
    if let Some(token) = cookie(req, SESSION_COOKIE) {
        let session = app(req).service.authenticate_session(token)?;
        if session.is_some_and(|s| tokens_match(&s.csrf, &form.csrf)) {
            app(req).service.revoke_token(token).await?;
        } else {
            return Err(WebError::Csrf);
        }
    }
    let mut response = Redirect::see_other("/login").into_response();
    set_cookie(&mut response, req, SESSION_COOKIE, "", 0);
    Ok(response)
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub next: String,
    pub error: Option<String>,
    pub csrf: String,
}
