//! Credentials → [`Principal`].
//!
//! Password checks cost tens of milliseconds of CPU by design, while agents send many requests
//! per second with the same Basic credentials. Successful checks are therefore cached for
//! [`CACHE_TTL`], keyed by SHA-256 over a per-process random key and the credentials, so the cache
//! holds neither passwords nor anything that would help guess them. Failed checks are never
//! cached. Changing or deleting a user evicts their entries.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kansoku_meta::MetaStore;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use super::password::verify_password;
use super::throttle::LoginThrottle;
use super::tokens::{INGESTION_TOKEN_PREFIX, digest};

/// How long a verified credential is trusted without checking again.
pub const CACHE_TTL: Duration = Duration::from_secs(60);
const MAX_CACHE_ENTRIES: usize = 10_000;
/// Password verifications running at once (each uses 19 MiB and a core for ~50 ms).
const MAX_CONCURRENT_VERIFICATIONS: usize = 2;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A user account.
    User {
        /// Login e-mail.
        email: String,
        /// Whether it is the root user.
        is_root: bool,
    },
    /// An organisation's ingestion token.
    IngestToken {
        /// The organisation it belongs to.
        org: String,
        /// Its name.
        name: String,
    },
}

impl Principal {
    /// A name for logs and audit fields.
    pub fn describe(&self) -> String {
        match self {
            Principal::User { email, .. } => email.clone(),
            Principal::IngestToken { org, name } => format!("token:{org}/{name}"),
        }
    }

    /// Whether this is the root user.
    pub fn is_root(&self) -> bool {
        matches!(self, Principal::User { is_root: true, .. })
    }
}

/// Why credentials could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The metadata store failed.
    #[error(transparent)]
    Meta(#[from] kansoku_meta::Error),
    /// Too many wrong passwords for this account recently.
    #[error("too many failed sign-ins for this account; try again in {retry_after_secs} s")]
    Throttled {
        /// Seconds until passwords are checked again.
        retry_after_secs: u64,
    },
}

struct CacheEntry {
    principal: Principal,
    verified_at: Instant,
}

/// Verifies credentials.
pub struct Authenticator {
    meta: MetaStore,
    cache_key: [u8; 32],
    cache: Mutex<HashMap<[u8; 32], CacheEntry>>,
    verifications: Semaphore,
    throttle: LoginThrottle,
}

impl Authenticator {
    /// An authenticator over the users and tokens in `meta`.
    pub fn new(meta: MetaStore) -> Result<Authenticator, String> {
        let mut cache_key = [0u8; 32];
        getrandom::fill(&mut cache_key).map_err(|e| format!("os random source failed: {e}"))?;
        Ok(Authenticator {
            meta,
            cache_key,
            cache: Mutex::new(HashMap::new()),
            verifications: Semaphore::new(MAX_CONCURRENT_VERIFICATIONS),
            throttle: LoginThrottle::default(),
        })
    }

    /// Checks Basic credentials. The password may be the user's password or, for any username,
    /// an ingestion token. Returns `Ok(None)` for wrong or empty credentials.
    pub async fn basic(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<Principal>, AuthError> {
        if username.trim().is_empty() || password.trim().is_empty() {
            return Ok(None);
        }
        let cache_key = self.cache_key_of(username, password);
        if let Some(principal) = self.cached(&cache_key) {
            return Ok(Some(principal));
        }
        let principal = if password.starts_with(INGESTION_TOKEN_PREFIX) {
            self.meta
                .find_ingestion_token(&digest(password))
                .await?
                .map(|token| Principal::IngestToken {
                    org: token.org,
                    name: token.name,
                })
        } else {
            self.check_password(username, password).await?
        };
        if let Some(principal) = &principal {
            self.remember(cache_key, principal.clone());
        }
        Ok(principal)
    }

    async fn check_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<Principal>, AuthError> {
        let email = username.trim().to_lowercase();
        if let Some(retry_after_secs) = self.throttle.blocked_for(&email) {
            return Err(AuthError::Throttled { retry_after_secs });
        }
        let user = self.meta.get_user(&email).await?;
        let Ok(_permit) = self.verifications.acquire().await else {
            return Ok(None);
        };
        // Verify even for unknown users, so timing does not reveal which e-mails exist.
        let stored = user
            .as_ref()
            .map(|u| u.password_hash.clone())
            .unwrap_or_else(|| DUMMY_HASH.to_string());
        let password = password.to_string();
        let matches = tokio::task::spawn_blocking(move || verify_password(&password, &stored))
            .await
            .unwrap_or(false);
        if matches {
            self.throttle.succeeded(&email);
        } else {
            self.throttle.failed(&email);
        }
        Ok(user.filter(|_| matches).map(|user| Principal::User {
            email: user.email,
            is_root: user.is_root,
        }))
    }

    /// The user of a browser session id, if the session is valid.
    pub async fn session(
        &self,
        session_id: &str,
    ) -> Result<Option<Principal>, kansoku_meta::Error> {
        if session_id.is_empty() {
            return Ok(None);
        }
        let Some(email) = self.meta.find_session(&digest(session_id)).await? else {
            return Ok(None);
        };
        let user = self.meta.get_user(&email).await?;
        Ok(user.map(|user| Principal::User {
            email: user.email,
            is_root: user.is_root,
        }))
    }

    /// Forgets cached credentials of `email` (after a password change or deletion) or of tokens
    /// of `org` (after a revocation).
    pub fn evict(&self, matches: impl Fn(&Principal) -> bool) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|_, entry| !matches(&entry.principal));
        }
    }

    fn cache_key_of(&self, username: &str, password: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.cache_key);
        hasher.update((username.len() as u64).to_le_bytes());
        hasher.update(username.as_bytes());
        hasher.update(password.as_bytes());
        hasher.finalize().into()
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Principal> {
        let cache = self.cache.lock().ok()?;
        let entry = cache.get(key)?;
        (entry.verified_at.elapsed() < CACHE_TTL).then(|| entry.principal.clone())
    }

    fn remember(&self, key: [u8; 32], principal: Principal) {
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        if cache.len() >= MAX_CACHE_ENTRIES {
            cache.retain(|_, entry| entry.verified_at.elapsed() < CACHE_TTL);
            if cache.len() >= MAX_CACHE_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(
            key,
            CacheEntry {
                principal,
                verified_at: Instant::now(),
            },
        );
    }
}

/// A valid Argon2id hash of a random string, verified against when the user does not exist.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Nh8+uULDHT0eubuO7ZBcYSJ/dXh4Kw0xh8iX4K/9OWM";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_is_a_real_hash() {
        assert!(argon2::password_hash::phc::PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
