//! Users: the admin's list and its forms (create, change, deactivate,
//! reactivate), and a user's own account page.

use askama::Template;
use poem::web::{Form, Path, Redirect};
use poem::{Request, Response, handler};
use serde::Deserialize;

use super::session::{CsrfForm, WebError, app, require_form_session, require_session, urlencode};
use super::shared::{Choice, Nav, When, filled, html};
use crate::domain::user::Role;
use crate::service::{NewUser, UserChange};

#[handler]
pub fn users_page(req: &Request) -> Result<Response, WebError> {
    let session = require_session(req)?;
    let users = app(req).service.list_users(&session.user)?;
    let rows = users
        .into_iter()
        .map(|u| UserRow {
            active: u.is_active(),
            created: When::new(u.created_at),
            role: u.role.as_str(),
            roles: crate::domain::user::Role::ALL
                .iter()
                .map(|r| Choice {
                    value: r.as_str().into(),
                    label: r.as_str().into(),
                    selected: *r == u.role,
                })
                .collect(),
            second_factor: u.second_factor.is_some(),
            email: u.email.unwrap_or_default(),
            display_name: u.display_name,
            username: u.username,
        })
        .collect();
    let failed_sign_ins = app(req)
        .service
        .failed_sign_ins(&session.user, 20)?
        .into_iter()
        .map(|f| FailedSignInRow {
            at: When::new(f.at),
            username: f.username,
            address: f.address,
            reason: match f.reason {
                "throttled" => "Refused: too many failures",
                "deactivated" => "Account deactivated",
                "second_factor" => "Wrong second factor",
                _ => "Wrong password or unknown user",
            },
        })
        .collect();
    html(UsersPage {
        nav: Nav::new(&session, "users"),
        rows,
        failed_sign_ins,
        second_factor_required: app(req).service.second_factor_required()?,
    })
}

pub struct FailedSignInRow {
    pub at: When,
    pub username: String,
    pub address: String,
    pub reason: &'static str,
}

pub struct UserRow {
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub role: &'static str,
    pub roles: Vec<Choice>,
    pub created: When,
    pub active: bool,
    pub second_factor: bool,
}

#[derive(Template)]
#[template(path = "users/users.html")]
pub struct UsersPage {
    pub nav: Nav,
    pub rows: Vec<UserRow>,
    /// The latest failed sign-ins, newest first.
    pub failed_sign_ins: Vec<FailedSignInRow>,
    pub second_factor_required: bool,
}

#[derive(Deserialize)]
pub struct SignInRulesForm {
    csrf: String,
    require_second_factor: Option<String>,
}

#[handler]
pub async fn save_sign_in_rules(
    req: &Request,
    Form(form): Form<SignInRulesForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    app(req)
        .service
        .set_second_factor_required(&session.user, form.require_second_factor.is_some())
        .await?;
    Ok(Redirect::see_other("/users#sign-in-rules"))
}

#[handler]
pub async fn reset_second_factor(
    req: &Request,
    Path(username): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    app(req)
        .service
        .reset_second_factor(&session.user, &username)
        .await?;
    Ok(Redirect::see_other(format!("/users#user-{username}")))
}

#[derive(Deserialize)]
pub struct UserForm {
    csrf: String,
    username: String,
    password: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    role: String,
}

#[handler]
pub async fn create_user(req: &Request, Form(form): Form<UserForm>) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let role = Role::parse("role", &form.role)?;
    let new = NewUser {
        username: form.username,
        password: form.password,
        display_name: filled(&form.display_name),
        email: filled(&form.email),
        role,
    };
    let user = app(req).service.create_user(&session.user, new).await?;
    Ok(Redirect::see_other(format!(
        "/users#user-{}",
        urlencode(&user.username)
    )))
}

#[derive(Deserialize)]
pub struct UserEditForm {
    csrf: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    role: String,
    #[serde(default)]
    password: String,
}

/// Deactivates (`/deactivate`) or reactivates (`/reactivate`) an account.
pub async fn set_active(
    req: &Request,
    username: &str,
    csrf: &str,
    active: bool,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, csrf)?;
    let change = UserChange {
        display_name: None,
        email: None,
        role: None,
        password: None,
        active: Some(active),
    };
    let user = app(req)
        .service
        .update_user(&session.user, username, change)
        .await?;
    Ok(Redirect::see_other(format!(
        "/users#user-{}",
        urlencode(&user.username)
    )))
}

#[handler]
pub async fn deactivate_user(
    req: &Request,
    Path(username): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect, WebError> {
    set_active(req, &username, &form.csrf, false).await
}

#[handler]
pub async fn reactivate_user(
    req: &Request,
    Path(username): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect, WebError> {
    set_active(req, &username, &form.csrf, true).await
}

#[handler]
pub async fn update_user(
    req: &Request,
    Path(username): Path<String>,
    Form(form): Form<UserEditForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let change = UserChange {
        display_name: filled(&form.display_name),
        email: Some(filled(&form.email)),
        role: Some(Role::parse("role", &form.role)?),
        // Passwords are taken exactly as typed, spaces included.
        password: (!form.password.is_empty()).then_some(form.password),
        active: None,
    };
    let user = app(req)
        .service
        .update_user(&session.user, &username, change)
        .await?;
    Ok(Redirect::see_other(format!(
        "/users#user-{}",
        urlencode(&user.username)
    )))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: String,
    current_password: String,
    new_password: String,
    confirm_password: String,
}

#[handler]
pub async fn change_password(
    req: &Request,
    Form(form): Form<PasswordForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    if form.new_password != form.confirm_password {
        return Err(WebError::BadInput(
            "the new password and its confirmation differ".into(),
        ));
    }
    app(req)
        .service
        .change_own_password(
            &session.user,
            &form.current_password,
            form.new_password,
            super::session::session_token(req),
        )
        .await?;
    Ok(Redirect::see_other("/account?changed=1"))
}
