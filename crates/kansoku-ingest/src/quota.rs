//! Per-organisation ingest quotas: a rate of ingested bytes per second (a token bucket that a
//! request may overdraw: it is admitted while the balance is positive and charged its real size
//! once stored) and a cap on stored bytes. A refused request gets 429 with `Retry-After` (503 on
//! remote_write, which would drop a 429) and is counted per organisation and quota.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kansoku_core::OrgId;

/// How long an organisation's stored size is reused before it is read again.
const STORED_REFRESH: Duration = Duration::from_secs(30);
/// `Retry-After` of a storage quota refusal (space comes back only through retention or deletion).
pub const STORAGE_RETRY_SECS: u64 = 60;

/// The limits, per organisation (0 = none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuotaConfig {
    /// Ingested bytes per second.
    pub rate_bytes_per_sec: u64,
    /// Bytes that may be ingested at once above the rate (the bucket's size).
    pub burst_bytes: u64,
    /// Stored bytes (data files and their indexes).
    pub storage_bytes: u64,
}

#[derive(Debug)]
struct Bucket {
    /// May go negative: the debt of requests admitted while the balance was positive.
    tokens: f64,
    at: Instant,
}

/// The quota state of one node.
#[derive(Debug, Default)]
pub struct Quotas {
    config: QuotaConfig,
    buckets: Mutex<HashMap<OrgId, Bucket>>,
    stored: Mutex<HashMap<OrgId, (Instant, u64)>>,
}

impl Quotas {
    /// Quotas with these limits.
    pub fn new(config: QuotaConfig) -> Quotas {
        Quotas {
            config,
            ..Quotas::default()
        }
    }

    /// The limits in force.
    pub fn config(&self) -> QuotaConfig {
        self.config
    }

    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        let burst = self.config.burst_bytes.max(self.config.rate_bytes_per_sec) as f64;
        bucket.tokens =
            (bucket.tokens + elapsed * self.config.rate_bytes_per_sec as f64).min(burst);
        bucket.at = now;
    }

    /// `Err(seconds to wait)` while `org` is over its rate at `now`.
    pub fn check_rate(&self, org: &OrgId, now: Instant) -> Result<(), u64> {
        if self.config.rate_bytes_per_sec == 0 {
            return Ok(());
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let Some(bucket) = buckets.get_mut(org) else {
            return Ok(());
        };
        self.refill(bucket, now);
        if bucket.tokens > 0.0 {
            return Ok(());
        }
        let wait = (-bucket.tokens / self.config.rate_bytes_per_sec as f64).ceil() as u64;
        Err(wait.max(1))
    }

    /// Charges `bytes` stored for `org` at `now`.
    pub fn charge(&self, org: &OrgId, bytes: u64, now: Instant) {
        if self.config.rate_bytes_per_sec == 0 || bytes == 0 {
            return;
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            return;
        };
        let burst = self.config.burst_bytes.max(self.config.rate_bytes_per_sec) as f64;
        let bucket = buckets.entry(org.clone()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        self.refill(bucket, now);
        bucket.tokens -= bytes as f64;
    }

    /// The cached stored size of `org`, unless it is older than the refresh interval.
    pub fn cached_stored(&self, org: &OrgId, now: Instant) -> Option<u64> {
        let stored = self.stored.lock().ok()?;
        let (at, bytes) = stored.get(org)?;
        (now.saturating_duration_since(*at) < STORED_REFRESH).then_some(*bytes)
    }

    /// Remembers the stored size of `org` read at `now`.
    pub fn remember_stored(&self, org: &OrgId, bytes: u64, now: Instant) {
        if let Ok(mut stored) = self.stored.lock() {
            stored.insert(org.clone(), (now, bytes));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(name: &str) -> OrgId {
        OrgId::parse(name).unwrap()
    }

    #[test]
    fn a_bucket_admits_while_positive_then_asks_to_wait_for_its_debt() {
        let quotas = Quotas::new(QuotaConfig {
            rate_bytes_per_sec: 1000,
            burst_bytes: 2000,
            storage_bytes: 0,
        });
        let start = Instant::now();
        let a = org("a");
        assert_eq!(quotas.check_rate(&a, start), Ok(()));
        quotas.charge(&a, 1500, start);
        assert_eq!(quotas.check_rate(&a, start), Ok(()), "500 bytes left");
        quotas.charge(&a, 3500, start);
        // 3000 bytes of debt at 1000 B/s.
        assert_eq!(quotas.check_rate(&a, start), Err(3));
        assert_eq!(
            quotas.check_rate(&org("b"), start),
            Ok(()),
            "orgs are independent"
        );
        assert_eq!(
            quotas.check_rate(&a, start + Duration::from_millis(2500)),
            Err(1)
        );
        assert_eq!(
            quotas.check_rate(&a, start + Duration::from_secs(4)),
            Ok(())
        );
        // Refills stop at the burst.
        quotas.charge(&a, 1, start + Duration::from_secs(100));
        assert_eq!(
            quotas.check_rate(&a, start + Duration::from_secs(100)),
            Ok(())
        );
        quotas.charge(&a, 2000, start + Duration::from_secs(100));
        assert!(
            quotas
                .check_rate(&a, start + Duration::from_secs(100))
                .is_err()
        );
    }

    #[test]
    fn no_rate_means_no_limit_and_stored_sizes_expire() {
        let quotas = Quotas::default();
        let now = Instant::now();
        quotas.charge(&org("a"), u64::MAX, now);
        assert_eq!(quotas.check_rate(&org("a"), now), Ok(()));
        quotas.remember_stored(&org("a"), 42, now);
        assert_eq!(quotas.cached_stored(&org("a"), now), Some(42));
        assert_eq!(quotas.cached_stored(&org("a"), now + STORED_REFRESH), None);
    }
}
