//! Failed-password throttling: after [`MAX_FAILURES`] wrong passwords for one account within
//! [`WINDOW`], further password checks for it are refused (429 with `Retry-After`) until the
//! window has passed. This bounds online guessing per account; sessions and cached credentials
//! of clients that already signed in keep working meanwhile. Ingestion tokens are 256-bit random
//! secrets and are not throttled.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong passwords allowed per account per window.
pub const MAX_FAILURES: u32 = 10;
/// The window failures are counted over.
pub const WINDOW: Duration = Duration::from_secs(300);
/// Accounts tracked at once; beyond it, the oldest windows are dropped first.
const MAX_TRACKED: usize = 10_000;

struct Failures {
    count: u32,
    since: Instant,
}

/// Counts failed password checks per account.
#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Failures>>,
}

impl LoginThrottle {
    /// `Some(seconds to wait)` when `account` may not try a password now.
    pub fn blocked_for(&self, account: &str) -> Option<u64> {
        let failures = self.failures.lock().ok()?;
        let entry = failures.get(account)?;
        let elapsed = entry.since.elapsed();
        if entry.count < MAX_FAILURES || elapsed >= WINDOW {
            return None;
        }
        Some((WINDOW - elapsed).as_secs().max(1))
    }

    /// Records one wrong password for `account`.
    pub fn failed(&self, account: &str) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if failures.len() >= MAX_TRACKED {
            failures.retain(|_, entry| entry.since.elapsed() < WINDOW);
        }
        if failures.len() >= MAX_TRACKED {
            failures.clear();
        }
        let entry = failures.entry(account.to_string()).or_insert(Failures {
            count: 0,
            since: Instant::now(),
        });
        if entry.since.elapsed() >= WINDOW {
            *entry = Failures {
                count: 0,
                since: Instant::now(),
            };
        }
        entry.count = entry.count.saturating_add(1);
    }

    /// Forgets the failures of `account` after a correct password.
    pub fn succeeded(&self, account: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(account);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_blocked_after_too_many_failures_and_others_are_not() {
        let throttle = LoginThrottle::default();
        for _ in 0..MAX_FAILURES - 1 {
            throttle.failed("a@example.com");
        }
        assert_eq!(throttle.blocked_for("a@example.com"), None);
        throttle.failed("a@example.com");
        let wait = throttle.blocked_for("a@example.com").unwrap_or_default();
        assert!(wait > 0 && wait <= WINDOW.as_secs());
        assert_eq!(throttle.blocked_for("b@example.com"), None);
        throttle.succeeded("a@example.com");
        assert_eq!(throttle.blocked_for("a@example.com"), None);
    }
}
