//! Password hashing with Argon2id (m = 19 MiB, t = 2, p = 1, as OWASP recommends). Hashes are
//! PHC strings, so parameters can be raised later without invalidating stored hashes.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// Shortest password accepted for new users and the root user.
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest password accepted (Argon2 handles more, but a bound prevents abuse).
pub const MAX_PASSWORD_LEN: usize = 128;

fn hasher() -> Result<Argon2<'static>, String> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| e.to_string())?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` into a PHC string. Blocking (tens of milliseconds).
pub fn hash_password(password: &str) -> Result<String, String> {
    let hash = hasher()?
        .hash_password(password.as_bytes())
        .map_err(|e| format!("cannot hash password: {e}"))?;
    Ok(hash.to_string())
}

/// Whether `password` matches `phc`. Blocking. A malformed stored hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(argon2) = hasher() else { return false };
    argon2.verify_password(password.as_bytes(), &parsed).is_ok()
}

/// Checks a new password against the policy; returns a message naming the rule broken.
pub fn check_policy(password: &str) -> Result<(), String> {
    if password.trim().is_empty() {
        return Err("password must not be empty or whitespace".to_string());
    }
    let length = password.chars().count();
    if length < MIN_PASSWORD_LEN {
        return Err(format!(
            "password must have at least {MIN_PASSWORD_LEN} characters"
        ));
    }
    if length > MAX_PASSWORD_LEN {
        return Err(format!(
            "password must have at most {MAX_PASSWORD_LEN} characters"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_argon2id() {
        let hash = hash_password("Complexpass#123").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("Complexpass#123", &hash));
        assert!(!verify_password("Complexpass#124", &hash));
        assert!(!verify_password("", &hash));
        assert!(!verify_password("Complexpass#123", "not-a-hash"));
        assert_ne!(hash, hash_password("Complexpass#123").unwrap(), "salted");
    }

    #[test]
    fn policy_names_the_rule() {
        assert!(check_policy("   ").unwrap_err().contains("empty"));
        assert!(check_policy("short").unwrap_err().contains("at least 8"));
        assert!(
            check_policy(&"x".repeat(200))
                .unwrap_err()
                .contains("at most")
        );
        assert!(check_policy("Complexpass#123").is_ok());
    }
}
