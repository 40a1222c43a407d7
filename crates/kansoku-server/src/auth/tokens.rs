//! Random secrets (ingestion tokens, session ids) and their stored digests.

use sha2::{Digest, Sha256};

/// Prefix of ingestion tokens, so secret scanners can recognise them.
pub const INGESTION_TOKEN_PREFIX: &str = "kso_ingest_";
/// Characters of the random part of a secret.
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A new random secret: `prefix` followed by 40 alphanumeric characters (~238 bits).
pub fn new_secret(prefix: &str) -> Result<String, String> {
    let mut random = [0u8; 40];
    getrandom::fill(&mut random).map_err(|e| format!("os random source failed: {e}"))?;
    let mut secret = String::with_capacity(prefix.len() + random.len());
    secret.push_str(prefix);
    // 256 is a multiple of 62 * 4 + 8, so the bias of the modulo is below 4 %; the secret's
    // entropy stays far above what guessing needs.
    secret.extend(
        random
            .iter()
            .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char),
    );
    Ok(secret)
}

/// The stored digest of a secret (hex SHA-256). Secrets are long and random, so a fast hash is
/// enough, and it lets the server look tokens up by digest.
pub fn digest(secret: &str) -> String {
    let hash = Sha256::digest(secret.as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// The part of a token shown in listings.
pub fn display_prefix(secret: &str) -> String {
    secret
        .chars()
        .take(INGESTION_TOKEN_PREFIX.len() + 4)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_long_and_distinct() {
        let a = new_secret(INGESTION_TOKEN_PREFIX).unwrap();
        let b = new_secret(INGESTION_TOKEN_PREFIX).unwrap();
        assert!(a.starts_with(INGESTION_TOKEN_PREFIX));
        assert_eq!(a.len(), INGESTION_TOKEN_PREFIX.len() + 40);
        assert_ne!(a, b);
        assert_eq!(digest(&a).len(), 64);
        assert_ne!(digest(&a), digest(&b));
        assert_eq!(display_prefix(&a).len(), INGESTION_TOKEN_PREFIX.len() + 4);
    }
}
