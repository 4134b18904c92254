//! Two-factor sign-in and the tokens a person holds: enrolment with a
//! code from an authenticator app, recovery codes, the organisation's rule
//! that staff must use it, and listing and revoking one's own tokens.

use chrono::Duration;

use super::auth::{IssuedToken, token_hash};
use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::Timestamp;
use crate::domain::second_factor::{self, SecondFactor};
use crate::domain::user::User;
use crate::store::{Reads, TokenKind, WriteTxn, Writes};

/// How long the step between password and second factor may take.
const SECOND_STEP_MINUTES: i64 = 5;

/// A secret being enrolled, for the person to put in their app.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub secret: String,
    /// `otpauth://` address, also drawn as a QR code.
    pub url: String,
}

/// One of a person's tokens or sessions, never the token itself.
#[derive(Debug, Clone)]
pub struct TokenSummary {
    /// Names the token for revoking it: the start of its hash.
    pub id: String,
    pub kind: TokenKind,
    pub label: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

fn token_id(hash: &[u8]) -> String {
    hex::encode(&hash[..hash.len().min(8)])
}

fn wrong_code() -> ServiceError {
    ServiceError::invalid(
        "code",
        "that code is not right: type the 6 digits your authenticator app shows now, or an unused recovery code",
    )
}

impl Service {
    /// Whether the organisation requires staff to use a second factor.
    pub fn second_factor_required(&self) -> ServiceResult<bool> {
        Ok(self.store.read()?.second_factor_required()?)
    }

    /// Administrators require (or stop requiring) a second factor of staff.
    pub async fn set_second_factor_required(
        &self,
        actor: &User,
        required: bool,
    ) -> ServiceResult<()> {
        if !actor.is_admin() {
            return Err(ServiceError::Forbidden(
                "only administrators set the sign-in rules".into(),
            ));
        }
        // Otherwise the rule would shut its own author out at once.
        if required && actor.second_factor.is_none() {
            return Err(ServiceError::Conflict(
                "set up two-factor sign-in for yourself first, on your account page".into(),
            ));
        }
        self.store
            .write(move |txn| Ok::<_, ServiceError>(txn.set_second_factor_required(required)?))
            .await
    }

    /// A member of staff who must enrol before doing anything else.
    pub fn must_enrol(&self, user: &User) -> ServiceResult<bool> {
        Ok(!user.is_partner() && user.second_factor.is_none() && self.second_factor_required()?)
    }

    /// Checks a code from the app or a recovery code for `username`,
    /// throttled like passwords (with its own count, so a known password
    /// does not reset it), and spends it.
    pub async fn prove_second_factor(
        &self,
        username: &str,
        typed: &str,
        address: Option<&str>,
    ) -> ServiceResult<User> {
        let address = address.unwrap_or("unknown");
        let guard_name = format!("second factor of {username}");
        if let Err(retry_after_secs) = self.login_guard.begin(&guard_name, address) {
            return Err(ServiceError::RateLimited { retry_after_secs });
        }
        let (name, typed_code, at) = (username.to_owned(), typed.to_owned(), now());
        let proven = self
            .store
            .write(move |txn| {
                let Some(mut user) = txn.user(&name)?.filter(User::is_active) else {
                    return Ok::<_, ServiceError>(None);
                };
                let Some(factor) = user.second_factor.as_mut() else {
                    return Ok(None);
                };
                let Some(proof) = factor.prove(&typed_code, at) else {
                    return Ok(None);
                };
                factor.spend(proof);
                txn.put_user(&user)?;
                Ok(Some(user))
            })
            .await?;
        match proven {
            Some(user) => {
                self.login_guard.succeeded(&guard_name, address);
                Ok(user)
            }
            None => {
                self.login_guard.record(username, address, "second_factor");
                tracing::warn!(%username, %address, "second factor refused");
                Err(wrong_code())
            }
        }
    }

    /// After the right password in the browser: a short-lived token that
    /// only the second step accepts.
    pub async fn start_second_step(&self, user: &User) -> ServiceResult<IssuedToken> {
        let expires = now() + Duration::minutes(SECOND_STEP_MINUTES);
        self.issue(
            &user.username,
            TokenKind::SecondStep,
            "between password and second factor",
            Some(expires),
            None,
        )
        .await
    }

    /// Who is at the second step with `token`, if it is still good.
    pub fn second_step_user(&self, token: &str) -> ServiceResult<Option<User>> {
        Ok(self
            .resolve_token(token, TokenKind::SecondStep)?
            .map(|(user, _)| user))
    }

    /// The second step: the code proves the person; the step's token is
    /// used up.
    pub async fn finish_second_step(
        &self,
        token: &str,
        typed: &str,
        address: Option<&str>,
    ) -> ServiceResult<User> {
        let Some(user) = self.second_step_user(token)? else {
            return Err(ServiceError::Unauthorized(
                "the sign-in took too long; please start again".into(),
            ));
        };
        let user = self
            .prove_second_factor(&user.username, typed, address)
            .await?;
        self.revoke_token(token).await?;
        Ok(user)
    }

    /// Starts enrolment: a new secret, kept aside until its first code.
    /// The password is asked again, so that a stolen session cannot put
    /// someone else's phone on the account.
    pub async fn begin_second_factor(
        &self,
        actor: &User,
        password: &str,
    ) -> ServiceResult<Enrolment> {
        let stored = Some(actor.password_hash.clone());
        if !super::users::verify_password(password.to_owned(), stored).await {
            return Err(ServiceError::invalid("password", "the password is wrong"));
        }
        if actor.second_factor.is_some() {
            return Err(ServiceError::Conflict(
                "two-factor sign-in is already on; turn it off first to use another app".into(),
            ));
        }
        let secret = second_factor::new_secret();
        let url = second_factor::provisioning_url(&secret, &actor.username)
            .ok_or_else(|| ServiceError::Output("the secret could not be made".into()))?;
        let pending = secret.clone();
        self.change_user(&actor.username, move |_, user| {
            user.pending_second_factor = Some(pending.clone());
            Ok(())
        })
        .await?;
        Ok(Enrolment { secret, url })
    }

    /// The secret being enrolled and its address, to show it again.
    pub fn pending_enrolment(&self, actor: &User) -> Option<Enrolment> {
        let secret = actor.pending_second_factor.clone()?;
        let url = second_factor::provisioning_url(&secret, &actor.username)?;
        Some(Enrolment { secret, url })
    }

    /// Finishes enrolment with the first code from the app; returns the
    /// recovery codes, shown this once.
    pub async fn confirm_second_factor(
        &self,
        actor: &User,
        code: &str,
    ) -> ServiceResult<Vec<String>> {
        let (code, at) = (code.to_owned(), now());
        let (codes, hashes) = second_factor::new_recovery_codes();
        self.change_user(&actor.username, move |_, user| {
            let Some(secret) = user.pending_second_factor.clone() else {
                return Err(ServiceError::Conflict(
                    "start setting up two-factor sign-in first".into(),
                ));
            };
            let step = second_factor::check_code(&secret, &code, at, 0).ok_or_else(wrong_code)?;
            user.second_factor = Some(SecondFactor {
                secret,
                enabled_at: at,
                recovery_hashes: hashes.clone(),
                last_step: step,
            });
            user.pending_second_factor = None;
            Ok(())
        })
        .await?;
        Ok(codes)
    }

    /// New recovery codes in place of the old ones, with a current code.
    pub async fn renew_recovery_codes(
        &self,
        actor: &User,
        code: &str,
        address: Option<&str>,
    ) -> ServiceResult<Vec<String>> {
        self.prove_second_factor(&actor.username, code, address)
            .await?;
        let (codes, hashes) = second_factor::new_recovery_codes();
        self.change_user(&actor.username, move |_, user| {
            if let Some(factor) = user.second_factor.as_mut() {
                factor.recovery_hashes = hashes.clone();
            }
            Ok(())
        })
        .await?;
        Ok(codes)
    }

    /// Turns one's own second factor off, with a current code; refused
    /// while the organisation requires it of staff.
    pub async fn disable_second_factor(
        &self,
        actor: &User,
        code: &str,
        address: Option<&str>,
    ) -> ServiceResult<()> {
        if actor.second_factor.is_none() {
            return Err(ServiceError::Conflict(
                "two-factor sign-in is not on".into(),
            ));
        }
        if !actor.is_partner() && self.second_factor_required()? {
            return Err(ServiceError::Conflict(
                "this organisation requires two-factor sign-in of its staff".into(),
            ));
        }
        self.prove_second_factor(&actor.username, code, address)
            .await?;
        self.clear_second_factor(&actor.username, false).await
    }

    /// An administrator takes away someone else's second factor (a lost
    /// phone): their sessions and tokens end, and they sign in with their
    /// password and enrol again. One's own goes through
    /// [`Service::disable_second_factor`], which asks for a code.
    pub async fn reset_second_factor(&self, actor: &User, username: &str) -> ServiceResult<()> {
        if !actor.is_admin() {
            return Err(ServiceError::Forbidden(
                "only administrators reset another person's second factor".into(),
            ));
        }
        if actor.username == username {
            return Err(ServiceError::Conflict(
                "turn your own two-factor sign-in off on your account page, with a code".into(),
            ));
        }
        tracing::warn!(by = %actor.username, %username, "a second factor was reset");
        self.clear_second_factor(username, true).await
    }

    async fn clear_second_factor(&self, username: &str, end_sessions: bool) -> ServiceResult<()> {
        self.change_user(username, move |txn, user| {
            user.second_factor = None;
            user.pending_second_factor = None;
            if end_sessions {
                txn.delete_tokens_of(&user.username, None)?;
            }
            Ok(())
        })
        .await
    }

    /// Reads one user's record, changes it and stores it, in one write.
    async fn change_user(
        &self,
        username: &str,
        change: impl Fn(&WriteTxn, &mut User) -> ServiceResult<()> + Send + 'static,
    ) -> ServiceResult<()> {
        let name = username.to_owned();
        self.store
            .write(move |txn| {
                let mut user = txn
                    .user(&name)?
                    .ok_or_else(|| ServiceError::NotFound(format!("there is no user '{name}'")))?;
                change(txn, &mut user)?;
                txn.put_user(&user)?;
                Ok(())
            })
            .await
    }

    /// One's API tokens and browser sessions, newest first.
    pub fn list_tokens(&self, actor: &User) -> ServiceResult<Vec<TokenSummary>> {
        let mut tokens: Vec<TokenSummary> = self
            .store
            .read()?
            .tokens_of(&actor.username)?
            .into_iter()
            .filter(|(_, r)| r.kind != TokenKind::SecondStep)
            .filter(|(_, r)| r.expires_at.is_none_or(|at| at > now()))
            .map(|(hash, r)| TokenSummary {
                id: token_id(&hash),
                kind: r.kind,
                label: r.label,
                created_at: r.created_at,
                expires_at: r.expires_at,
            })
            .collect();
        tokens.sort_by_key(|t| std::cmp::Reverse(t.created_at));
        Ok(tokens)
    }

    /// The id of the token `token` (to mark the one in use).
    pub fn token_id_of(token: &str) -> String {
        token_id(&token_hash(token))
    }

    /// A new API token for oneself, shown once.
    pub async fn create_own_token(
        &self,
        actor: &User,
        label: &str,
        days: Option<u32>,
    ) -> ServiceResult<(TokenSummary, String)> {
        let label = crate::domain::validate::required_text("label", label, 100)?;
        if days.is_some_and(|d| !(1..=3650).contains(&d)) {
            return Err(ServiceError::invalid("days", "must be between 1 and 3650"));
        }
        let issued = self.issue_api_token(&actor.username, &label, days).await?;
        let summary = TokenSummary {
            id: Service::token_id_of(&issued.token),
            kind: TokenKind::Api,
            label,
            created_at: now(),
            expires_at: issued.expires_at,
        };
        Ok((summary, issued.token))
    }

    /// Revokes one of one's own tokens or sessions by its id.
    pub async fn revoke_own_token(&self, actor: &User, id: &str) -> ServiceResult<()> {
        let name = actor.username.clone();
        let id = id.to_ascii_lowercase();
        let removed = self
            .store
            .write(move |txn| {
                let found = txn
                    .tokens_of(&name)?
                    .into_iter()
                    .find(|(hash, _)| token_id(hash) == id);
                match found {
                    Some((hash, _)) => Ok::<_, ServiceError>(txn.delete_token(&hash)?),
                    None => Ok(false),
                }
            })
            .await?;
        if removed {
            Ok(())
        } else {
            Err(ServiceError::NotFound("no such token of yours".into()))
        }
    }
}
