use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::json_body::JsonBody;
use super::types::{MemberRoleWire, RoleWire, UserView, tri_state};
use super::{ApiTags, TokenAuth, state};
use crate::http::error::ApiError;
use crate::service::{NewUser, UserChange};

#[derive(Default)]
pub struct UsersApi;

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    /// Lowercase letters, digits, `.`, `_` and `-`.
    username: String,
    /// At least 8 characters.
    password: String,
    #[oai(nullable)]
    display_name: Option<String>,
    #[oai(nullable)]
    email: Option<String>,
    /// `user` when omitted.
    #[oai(nullable)]
    role: Option<RoleWire>,
}

/// Account changes; omitted fields stay as they are.
#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct UserPatchBody {
    #[oai(nullable)]
    display_name: Option<String>,
    /// `null` clears the address.
    #[serde(default)]
    email: MaybeUndefined<String>,
    #[oai(nullable)]
    role: Option<RoleWire>,
    /// A new password (at least 8 characters).
    #[oai(nullable)]
    password: Option<String>,
    /// `false` deactivates the account (no login; its sessions and tokens
    /// end; its cases stay), `true` reactivates it. Not one's own, nor the
    /// last active administrator.
    #[oai(nullable)]
    active: Option<bool>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    current_password: String,
    /// At least 8 characters.
    new_password: String,
}

#[derive(ApiResponse)]
enum PasswordChanged {
    /// The new password is in effect.
    #[oai(status = 204)]
    Done,
}

#[derive(Debug, Object)]
struct MyChannel {
    id: u64,
    name: String,
    /// The user's role in it; absent for administrators who are not members.
    #[oai(nullable)]
    role: Option<MemberRoleWire>,
    /// Whether the user may change the channel's settings and members.
    can_manage: bool,
}

#[derive(Debug, Object)]
struct Me {
    #[oai(flatten)]
    user: UserView,
    channels: Vec<MyChannel>,
    /// Two-factor sign-in is on for this account.
    second_factor: bool,
    /// The organisation requires a second factor this account does not
    /// have yet: until it is set up, only enrolment is open.
    must_set_up_second_factor: bool,
}

#[derive(ApiResponse)]
enum UserCreated {
    /// Created; the body is the new record.
    #[oai(status = 201)]
    Created(Json<UserView>),
}

#[OpenApi(tag = "ApiTags::Users")]
impl UsersApi {
    /// List users (administrators).
    #[oai(path = "/users", method = "get")]
    async fn list(&self, req: &Request, auth: TokenAuth) -> Result<Json<Vec<UserView>>, ApiError> {
        let users = state(req).service.list_users(&auth.0)?;
        Ok(Json(users.into_iter().map(Into::into).collect()))
    }

    /// Create a user (administrators).
    #[oai(path = "/users", method = "post")]
    async fn create(
        &self,
        req: &Request,
        auth: TokenAuth,
        body: JsonBody<NewUserBody>,
    ) -> Result<UserCreated, ApiError> {
        let body = body.0;
        let new = NewUser {
            username: body.username,
            password: body.password,
            display_name: body.display_name,
            email: body.email,
            role: body
                .role
                .map(Into::into)
                .unwrap_or(crate::domain::user::Role::User),
        };
        let user = state(req).service.create_user(&auth.0, new).await?;
        Ok(UserCreated::Created(Json(user.into())))
    }

    /// Change an account's name, address, role or password (administrators).
    ///
    /// At least one administrator always remains; a channel manager must be
    /// made an agent before becoming a partner.
    #[oai(path = "/users/:username", method = "patch")]
    async fn update(
        &self,
        req: &Request,
        auth: TokenAuth,
        username: Path<String>,
        body: JsonBody<UserPatchBody>,
    ) -> Result<Json<UserView>, ApiError> {
        let body = body.0;
        let change = UserChange {
            display_name: body.display_name,
            email: tri_state(body.email, |e| e),
            role: body.role.map(Into::into),
            password: body.password,
            active: body.active,
        };
        let user = state(req)
            .service
            .update_user(&auth.0, &username.0, change)
            .await?;
        Ok(Json(user.into()))
    }

    /// Change your own password. Every other session and token of yours
    /// ends; the token making this request keeps working.
    #[oai(path = "/me/password", method = "post")]
    async fn change_password(
        &self,
        req: &Request,
        auth: TokenAuth,
        body: JsonBody<PasswordBody>,
    ) -> Result<PasswordChanged, ApiError> {
        let body = body.0;
        state(req)
            .service
            .change_own_password(
                &auth.0,
                &body.current_password,
                body.new_password,
                super::bearer_token(req),
            )
            .await?;
        Ok(PasswordChanged::Done)
    }

    /// The user this token belongs to, with their channels.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, req: &Request, auth: TokenAuth) -> Result<Json<Me>, ApiError> {
        let user = auth.0;
        let channels = state(req)
            .service
            .list_channels(&user)?
            .into_iter()
            .map(|c| MyChannel {
                id: c.id,
                role: c.rights.role.map(Into::into),
                can_manage: c.rights.can_manage,
                name: c.name,
            })
            .collect();
        let must_enrol = state(req).service.must_enrol(&user)?;
        Ok(Json(Me {
            second_factor: user.second_factor.is_some(),
            must_set_up_second_factor: must_enrol,
            user: user.into(),
            channels,
        }))
    }
}
