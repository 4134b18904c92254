//! Users: creation, listing, passwords, and the first admin.

use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
use argon2::{Argon2, PasswordHash, PasswordVerifier};

use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::user::{self, Role, User};
use crate::domain::validate;
use crate::store::{Reads, Writes};

/// A new account, as an admin or the CLI supplies it.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub role: Role,
}

/// Hashes off the async workers: argon2 is deliberately slow.
pub(super) async fn hash_password(password: String) -> ServiceResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| ServiceError::invalid("password", format!("cannot be hashed: {e}")))
    })
    .await
    .map_err(|e| ServiceError::BadRequest(format!("password hashing was interrupted: {e}")))?
}

/// Verifies off the async workers. A missing user is checked against a
/// throwaway hash so that timing does not reveal which usernames exist.
pub(super) async fn verify_password(password: String, stored_hash: Option<String>) -> bool {
    const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3bP9pzYNaFzCsYKmEyuf5J4h6cPWZs2Pvo23hZTw3hA";
    let has_user = stored_hash.is_some();
    let hash = stored_hash.unwrap_or_else(|| DECOY.to_owned());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
        && has_user
}

/// Changes to an account; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub display_name: Option<String>,
    /// `Some(None)` clears the address.
    pub email: Option<Option<String>>,
    pub role: Option<Role>,
    pub password: Option<String>,
    /// `Some(false)` deactivates the account (no login, its tokens stop
    /// working, its cases stay); `Some(true)` reactivates it.
    pub active: Option<bool>,
}

/// The hash of a random password nobody is told: accounts that must be
/// given a password by an administrator before anyone can log in.
pub async fn unusable_password_hash() -> String {
    hash_password(random_password()).await.unwrap_or_default()
}

/// A random password for generated accounts: 20 characters, unambiguous.
pub fn random_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// An account may be deactivated unless it is one's own or the last
/// active administrator's.
fn check_deactivation(txn: &impl Reads, user: &User, actor: &str) -> ServiceResult<()> {
    if user.username == actor {
        return Err(ServiceError::Conflict(
            "you cannot deactivate your own account".into(),
        ));
    }
    if user.is_admin() {
        let others = txn
            .users()?
            .iter()
            .filter(|u| u.is_admin() && u.is_active() && u.username != user.username)
            .count();
        if others == 0 {
            return Err(ServiceError::Conflict(
                "at least one active administrator must remain".into(),
            ));
        }
    }
    Ok(())
}

fn check_role_change(txn: &impl Reads, user: &User, role: Role) -> ServiceResult<()> {
    if user.role == Role::Admin && role != Role::Admin {
        let admins = txn
            .users()?
            .iter()
            .filter(|u| u.is_admin() && u.is_active())
            .count();
        if admins <= 1 && user.is_active() {
            return Err(ServiceError::Conflict(
                "at least one administrator must remain; make someone else an administrator first"
                    .into(),
            ));
        }
    }
    if role == Role::Partner {
        let managed: Vec<String> = txn
            .channels()?
            .into_iter()
            .filter(|c| {
                c.role_of(&user.username) == Some(crate::domain::channel::MemberRole::Manager)
            })
            .map(|c| c.name)
            .collect();
        if !managed.is_empty() {
            return Err(ServiceError::Conflict(format!(
                "'{}' manages {}; make them an agent there before making them a partner",
                user.username,
                managed.join(", ")
            )));
        }
    }
    Ok(())
}

fn require_admin(actor: &User) -> ServiceResult<()> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(
            "only administrators can manage users".into(),
        ))
    }
}

impl Service {
    pub async fn create_user(&self, actor: &User, new: NewUser) -> ServiceResult<User> {
        require_admin(actor)?;
        let username = user::username(&new.username)?;
        user::password(&new.password)?;
        let display_name = user::display_name(new.display_name.as_deref(), &username)?;
        let email = validate::optional_email("email", new.email.as_deref())?;
        let password_hash = hash_password(new.password).await?;
        let record = User {
            username,
            display_name,
            email,
            role: new.role,
            password_hash,
            created_at: now(),
            deactivated_at: None,
            second_factor: None,
            pending_second_factor: None,
        };
        self.store
            .write(move |txn| {
                if txn.user(&record.username)?.is_some() {
                    return Err(ServiceError::Conflict(format!(
                        "the user '{}' already exists",
                        record.username
                    )));
                }
                txn.put_user(&record)?;
                Ok(record.clone())
            })
            .await
    }

    pub fn list_users(&self, actor: &User) -> ServiceResult<Vec<User>> {
        require_admin(actor)?;
        Ok(self.store.read()?.users()?)
    }

    pub fn find_user(&self, username: &str) -> ServiceResult<Option<User>> {
        Ok(self.store.read()?.user(username)?)
    }

    /// Admins set anyone's password; users only their own. Every session
    /// and token of the user ends, except `keep` (the one making the change),
    /// so a stolen credential does not outlive a reset.
    pub async fn set_password(
        &self,
        actor: &User,
        username: &str,
        password: String,
        keep: Option<&str>,
    ) -> ServiceResult<()> {
        if !actor.is_admin() && actor.username != username {
            return Err(ServiceError::Forbidden(
                "you can only change your own password".into(),
            ));
        }
        user::password(&password)?;
        let hash = hash_password(password).await?;
        let username = username.to_owned();
        let keep = keep.map(super::auth::token_hash);
        self.store
            .write(move |txn| {
                let mut user = txn.user(&username)?.ok_or_else(|| {
                    ServiceError::NotFound(format!("there is no user '{username}'"))
                })?;
                user.password_hash = hash.clone();
                txn.put_user(&user)?;
                txn.delete_tokens_of(&username, keep.as_deref())?;
                Ok(())
            })
            .await
    }

    /// Admins change accounts. At least one administrator always remains,
    /// and a manager must step down before becoming a partner.
    pub async fn update_user(
        &self,
        actor: &User,
        username: &str,
        change: UserChange,
    ) -> ServiceResult<User> {
        require_admin(actor)?;
        let display_name = change
            .display_name
            .as_deref()
            .map(|name| user::display_name(Some(name), username))
            .transpose()?;
        let email = change
            .email
            .map(|e| validate::optional_email("email", e.as_deref()))
            .transpose()?;
        let password_hash = match change.password {
            Some(password) => {
                user::password(&password)?;
                Some(hash_password(password).await?)
            }
            None => None,
        };
        let role = change.role;
        let active = change.active;
        let username = username.to_owned();
        let actor_name = actor.username.clone();
        self.store
            .write(move |txn| {
                let mut user = txn.user(&username)?.ok_or_else(|| {
                    ServiceError::NotFound(format!("there is no user '{username}'"))
                })?;
                match active {
                    Some(false) if user.is_active() => {
                        check_deactivation(txn, &user, &actor_name)?;
                        user.deactivated_at = Some(now());
                        txn.delete_tokens_of(&user.username, None)?;
                    }
                    Some(true) => user.deactivated_at = None,
                    _ => {}
                }
                if let Some(role) = role {
                    check_role_change(txn, &user, role)?;
                    user.role = role;
                }
                if let Some(name) = &display_name {
                    user.display_name = name.clone();
                }
                if let Some(email) = &email {
                    user.email = email.clone();
                }
                if let Some(hash) = &password_hash {
                    user.password_hash = hash.clone();
                    txn.delete_tokens_of(&user.username, None)?;
                }
                txn.put_user(&user)?;
                Ok(user)
            })
            .await
    }

    /// Anyone changes their own password by proving they know the current one.
    pub async fn change_own_password(
        &self,
        actor: &User,
        current: &str,
        new: String,
        keep: Option<&str>,
    ) -> ServiceResult<()> {
        let stored = self
            .store
            .read()?
            .user(&actor.username)?
            .map(|u| u.password_hash);
        if !verify_password(current.to_owned(), stored).await {
            return Err(ServiceError::invalid(
                "current_password",
                "is not your current password",
            ));
        }
        self.set_password(actor, &actor.username, new, keep).await
    }

    /// When no administrator exists (a first start, or an imported
    /// archive), creates `admin` with `password` or a random one.
    /// Returns the password when it was generated, so it can be shown once.
    pub async fn ensure_first_admin(
        &self,
        password: Option<String>,
    ) -> ServiceResult<Option<String>> {
        // Imported archives bring users but no administrator: someone must
        // be able to log in and manage them.
        let users = self.store.read()?.users()?;
        if users.iter().any(User::is_admin) {
            return Ok(None);
        }
        if users.iter().any(|u| u.username == "admin") {
            tracing::warn!(
                "there is no administrator, and the name 'admin' is taken by a non-administrator; use `docket user add NAME --role admin`"
            );
            return Ok(None);
        }
        let generated = password.is_none();
        let password = password.unwrap_or_else(random_password);
        let new = NewUser {
            username: "admin".into(),
            password: password.clone(),
            display_name: Some("Administrator".into()),
            email: None,
            role: Role::Admin,
        };
        match self.create_user(&Service::operator(), new).await {
            Ok(_) => Ok(generated.then_some(password)),
            // Another start raced us to it: the admin exists, which is the goal.
            Err(ServiceError::Conflict(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
