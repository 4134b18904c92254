//! Logging in, API tokens and browser sessions. Tokens are random, shown
//! once, and stored only as SHA-256 hashes.

use chrono::Duration;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::users::verify_password;
use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::Timestamp;
use crate::domain::user::User;
use crate::store::{Reads, TokenKind, TokenRecord, Writes};

const TOKEN_PREFIX: &str = "dkt_";

/// A freshly issued token; `token` is never stored or shown again.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: Option<Timestamp>,
}

/// What a long-lived connection authenticated with, checked again as it goes.
#[derive(Debug, Clone)]
pub enum Credential {
    ApiToken(String),
    Session(String),
}

/// A browser session resolved from its cookie.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf: String,
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

pub(super) fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

impl Service {
    /// Checks a username and password, with failures rate limited per
    /// username and per client address.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        address: Option<&str>,
    ) -> ServiceResult<User> {
        let username = username.trim().to_lowercase();
        let address = address.unwrap_or("unknown");
        // A name no account can have is wrong without touching the
        // counts (and cannot pose as another count's key).
        if crate::domain::user::username(&username).is_err() {
            self.login_guard
                .record(&username, address, "wrong_password");
            return Err(ServiceError::Unauthorized(
                "the username or password is wrong".into(),
            ));
        }
        if let Err(retry_after_secs) = self.login_guard.begin(&username, address) {
            tracing::warn!(%username, %address, "sign-in refused: too many failures");
            return Err(ServiceError::RateLimited { retry_after_secs });
        }
        let user = self.store.read()?.user(&username)?;
        let valid = verify_password(
            password.to_owned(),
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await;
        match user {
            Some(user) if valid && !user.is_active() => {
                self.login_guard.record(&username, address, "deactivated");
                Err(ServiceError::Forbidden(
                    "this account is deactivated; an administrator can reactivate it".into(),
                ))
            }
            Some(user) if valid => {
                self.login_guard.succeeded(&username, address);
                Ok(user)
            }
            _ => {
                self.login_guard
                    .record(&username, address, "wrong_password");
                tracing::warn!(%username, %address, "sign-in failed");
                Err(ServiceError::Unauthorized(
                    "the username or password is wrong".into(),
                ))
            }
        }
    }

    /// The latest failed sign-ins, newest first (administrators).
    pub fn failed_sign_ins(
        &self,
        actor: &User,
        limit: usize,
    ) -> ServiceResult<Vec<super::login_guard::FailedSignIn>> {
        if !actor.is_admin() {
            return Err(ServiceError::Forbidden(
                "only administrators see failed sign-ins".into(),
            ));
        }
        Ok(self.login_guard.recent_failures(limit))
    }

    /// Issues an API token for `username`, valid for `days` (or forever).
    pub async fn issue_api_token(
        &self,
        username: &str,
        label: &str,
        days: Option<u32>,
    ) -> ServiceResult<IssuedToken> {
        let expires_at = days.map(|d| now() + Duration::days(i64::from(d)));
        self.issue(username, TokenKind::Api, label, expires_at, None)
            .await
    }

    /// Starts a browser session and returns its cookie value and CSRF token.
    pub async fn start_session(&self, user: &User) -> ServiceResult<(IssuedToken, String)> {
        let expires_at = now() + Duration::hours(i64::from(self.config.auth.session_hours));
        let csrf = random_hex(32);
        let issued = self
            .issue(
                &user.username,
                TokenKind::Session,
                "browser session",
                Some(expires_at),
                Some(csrf.clone()),
            )
            .await?;
        Ok((issued, csrf))
    }

    pub(super) async fn issue(
        &self,
        username: &str,
        kind: TokenKind,
        label: &str,
        expires_at: Option<Timestamp>,
        csrf: Option<String>,
    ) -> ServiceResult<IssuedToken> {
        let token = format!("{TOKEN_PREFIX}{}", random_hex(32));
        let hash = token_hash(&token);
        let record = TokenRecord {
            username: username.to_owned(),
            kind,
            label: label.to_owned(),
            created_at: now(),
            expires_at,
            csrf,
        };
        self.store
            .write(move |txn| {
                if txn.user(&record.username)?.is_none() {
                    return Err(ServiceError::NotFound(format!(
                        "there is no user '{}'",
                        record.username
                    )));
                }
                txn.put_token(&hash, &record)?;
                Ok(())
            })
            .await?;
        Ok(IssuedToken { token, expires_at })
    }

    /// The user an unexpired token of `kind` belongs to.
    pub(super) fn resolve_token(
        &self,
        token: &str,
        kind: TokenKind,
    ) -> ServiceResult<Option<(User, TokenRecord)>> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
            return Ok(None);
        }
        let txn = self.store.read()?;
        let Some(record) = txn.token(&token_hash(token))? else {
            return Ok(None);
        };
        if record.kind != kind || record.expires_at.is_some_and(|at| at <= now()) {
            return Ok(None);
        }
        // A deactivated account's tokens stop working at once (they are
        // also deleted when it is deactivated).
        Ok(txn
            .user(&record.username)?
            .filter(User::is_active)
            .map(|user| (user, record)))
    }

    /// The user a credential currently belongs to; `None` once it was
    /// revoked, expired, or the store cannot answer.
    /// Whom a credential belongs to now: `None` once it no longer works,
    /// an error when the store cannot say (a moment of disk trouble is not
    /// a revocation).
    pub fn user_for(&self, credential: &Credential) -> ServiceResult<Option<User>> {
        match credential {
            Credential::ApiToken(token) => self.authenticate_api_token(token),
            Credential::Session(token) => Ok(self.authenticate_session(token)?.map(|s| s.user)),
        }
    }

    pub fn authenticate_api_token(&self, token: &str) -> ServiceResult<Option<User>> {
        Ok(self
            .resolve_token(token, TokenKind::Api)?
            .map(|(user, _)| user))
    }

    pub fn authenticate_session(&self, token: &str) -> ServiceResult<Option<Session>> {
        Ok(self
            .resolve_token(token, TokenKind::Session)?
            .map(|(user, record)| Session {
                user,
                csrf: record.csrf.unwrap_or_default(),
            }))
    }

    /// Deletes expired tokens and sessions; returns how many.
    pub async fn purge_expired_tokens(&self) -> ServiceResult<usize> {
        let at = now();
        Ok(self
            .store
            .write(move |txn| txn.delete_tokens_expired_by(at))
            .await?)
    }

    /// Ends a session or revokes a token; unknown tokens are ignored.
    pub async fn revoke_token(&self, token: &str) -> ServiceResult<()> {
        let hash = token_hash(token);
        self.store
            .write(move |txn| txn.delete_token(&hash).map(|_| ()))
            .await?;
        Ok(())
    }
}
