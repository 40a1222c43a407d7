//! Who is calling, and what they may do.
//!
//! - [`password`]: Argon2id hashing and verification (OWASP parameters), run on the blocking pool
//!   with bounded concurrency.
//! - [`tokens`]: ingestion tokens and session ids: random secrets stored only as SHA-256 digests.
//! - [`authenticator`]: turns HTTP Basic credentials (or a session cookie) into a [`Principal`],
//!   with a short-lived cache keyed by a keyed digest of the credentials (never the plaintext).
//! - [`throttle`]: refuses password checks for an account after repeated failures.
//! - [`permission`]: the one table that says which role has which [`Permission`], and the check
//!   applied to every `/api` route by the HTTP middleware.

pub mod authenticator;
pub mod password;
pub mod permission;
pub mod throttle;
pub mod tokens;

pub use authenticator::{AuthError, Authenticator, Principal};
pub use permission::{Access, Permission};
