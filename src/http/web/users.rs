//! Users: the admin's list and its forms (create, change, deactivate,
//! reactivate), and a user's own account page.

use askama::Template;
use poem::web::{Form, Path, Query, Redirect};
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
    })
}

pub struct FailedSignInRow {
    pub at: When,
    pub username: String,
    pub address: String,
    pub reason: &'static str,
}

#[derive(Deserialize)]
pub struct AccountQuery {
    changed: Option<String>,
}

#[handler]
pub fn account_page(
    req: &Request,
    Query(query): Query<AccountQuery>,
) -> Result<Response, WebError> {
    let session = require_session(req)?;
    let user = &session.user;
    html(AccountPage {
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        email: user.email.clone().unwrap_or_else(|| "—".into()),
        role: user.role.as_str(),
        changed: query.changed.is_some(),
        nav: Nav::new(&session, "account"),
    })
}

pub struct UserRow {
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub role: &'static str,
    pub roles: Vec<Choice>,
    pub created: When,
    pub active: bool,
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
}

#[derive(Template)]
#[template(path = "users/users.html")]
pub struct UsersPage {
    pub nav: Nav,
    pub rows: Vec<UserRow>,
    /// The latest failed sign-ins, newest first.
    pub failed_sign_ins: Vec<FailedSignInRow>,
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
