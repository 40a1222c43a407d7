//! Per-organisation ingest quotas: a rate of ingested bytes per second (a token bucket that a
//! request may overdraw: it is admitted while the balance is positive and charged its real size
//! once stored) and a cap on stored bytes. The server-wide settings apply to every organisation
//! unless root set the organisation's own (`kansoku_meta::OrgQuotas`, re-read every 30 s; at once
//! on the node that changed them). A refused request gets 429 with `Retry-After` (503 on
//! remote_write, which would drop a 429) and is counted per organisation and quota.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kansoku_core::OrgId;
use kansoku_meta::OrgQuotas;

/// How long an organisation's stored size is reused before it is read again.
const STORED_REFRESH: Duration = Duration::from_secs(30);
/// How long an organisation's own quota settings are reused before they are read again.
pub const OVERRIDES_REFRESH: Duration = Duration::from_secs(30);
/// `Retry-After` of a storage quota refusal (space comes back only through retention or deletion).
pub const STORAGE_RETRY_SECS: u64 = 60;

/// The limits of one organisation (0 = none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuotaConfig {
    /// Ingested bytes per second.
    pub rate_bytes_per_sec: u64,
    /// Bytes that may be ingested at once above the rate (the bucket's size).
    pub burst_bytes: u64,
    /// Stored bytes (data files and their indexes).
    pub storage_bytes: u64,
}

impl QuotaConfig {
    /// These limits with an organisation's own settings in place of the ones it sets.
    pub fn with_overrides(self, overrides: &OrgQuotas) -> QuotaConfig {
        QuotaConfig {
            rate_bytes_per_sec: overrides
                .ingest_rate_bytes
                .unwrap_or(self.rate_bytes_per_sec),
            burst_bytes: overrides.ingest_burst_bytes.unwrap_or(self.burst_bytes),
            storage_bytes: overrides.storage_bytes.unwrap_or(self.storage_bytes),
        }
    }

    /// The bucket's size: the burst, and at least one second of the rate.
    fn bucket_size(&self) -> f64 {
        self.burst_bytes.max(self.rate_bytes_per_sec) as f64
    }
}

#[derive(Debug)]
struct Bucket {
    /// May go negative: the debt of requests admitted while the balance was positive.
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refill(&mut self, limits: &QuotaConfig, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens =
            (self.tokens + elapsed * limits.rate_bytes_per_sec as f64).min(limits.bucket_size());
        self.at = now;
    }
}

/// The quota state of one node.
#[derive(Debug, Default)]
pub struct Quotas {
    config: QuotaConfig,
    buckets: Mutex<HashMap<OrgId, Bucket>>,
    stored: Mutex<HashMap<OrgId, (Instant, u64)>>,
    overrides: Mutex<HashMap<OrgId, (Instant, OrgQuotas)>>,
}

impl Quotas {
    /// Quotas with these server-wide limits.
    pub fn new(config: QuotaConfig) -> Quotas {
        Quotas {
            config,
            ..Quotas::default()
        }
    }

    /// The server-wide limits.
    pub fn config(&self) -> QuotaConfig {
        self.config
    }

    /// `org`'s own settings as last read, and whether that read is recent enough to use.
    pub fn cached_overrides(&self, org: &OrgId, now: Instant) -> Option<(OrgQuotas, bool)> {
        let overrides = self.overrides.lock().ok()?;
        let (at, quotas) = overrides.get(org)?;
        Some((
            *quotas,
            now.saturating_duration_since(*at) < OVERRIDES_REFRESH,
        ))
    }

    /// Remembers `org`'s own settings read at `now`.
    pub fn remember_overrides(&self, org: &OrgId, quotas: OrgQuotas, now: Instant) {
        if let Ok(mut overrides) = self.overrides.lock() {
            overrides.insert(org.clone(), (now, quotas));
        }
    }

    /// Forgets `org`'s settings (they changed), so the next request reads them again.
    pub fn forget_overrides(&self, org: &OrgId) {
        if let Ok(mut overrides) = self.overrides.lock() {
            overrides.remove(org);
        }
    }

    /// Forgets every organisation's cached overrides.
    pub fn forget_all_overrides(&self) {
        if let Ok(mut overrides) = self.overrides.lock() {
            overrides.clear();
        }
    }

    /// `org`'s limits from what is cached, stale or not (the server-wide ones when nothing is).
    pub fn cached_limits(&self, org: &OrgId) -> QuotaConfig {
        let now = Instant::now();
        match self.cached_overrides(org, now) {
            Some((overrides, _)) => self.config.with_overrides(&overrides),
            None => self.config,
        }
    }

    /// `Err(seconds to wait)` while `org` is over its rate `limits` at `now`.
    pub fn check_rate(&self, org: &OrgId, limits: &QuotaConfig, now: Instant) -> Result<(), u64> {
        if limits.rate_bytes_per_sec == 0 {
            return Ok(());
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let Some(bucket) = buckets.get_mut(org) else {
            return Ok(());
        };
        bucket.refill(limits, now);
        if bucket.tokens > 0.0 {
            return Ok(());
        }
        let wait = (-bucket.tokens / limits.rate_bytes_per_sec as f64).ceil() as u64;
        Err(wait.max(1))
    }

    /// Charges `bytes` stored for `org` (whose limits are `limits`) at `now`.
    pub fn charge(&self, org: &OrgId, limits: &QuotaConfig, bytes: u64, now: Instant) {
        if limits.rate_bytes_per_sec == 0 || bytes == 0 {
            return;
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            return;
        };
        let bucket = buckets.entry(org.clone()).or_insert(Bucket {
            tokens: limits.bucket_size(),
            at: now,
        });
        bucket.refill(limits, now);
        bucket.tokens -= bytes as f64;
    }

    /// The cached stored size of `org`, unless it is older than the refresh interval.
    pub fn cached_stored(&self, org: &OrgId, now: Instant) -> Option<u64> {
        let stored = self.stored.lock().ok()?;
        let (at, bytes) = stored.get(org)?;
        (now.saturating_duration_since(*at) < STORED_REFRESH).then_some(*bytes)
    }

    /// The stored size of `org` last read, however old.
    pub fn last_stored(&self, org: &OrgId) -> Option<u64> {
        let stored = self.stored.lock().ok()?;
        stored.get(org).map(|(_, bytes)| *bytes)
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
        let limits = QuotaConfig {
            rate_bytes_per_sec: 1000,
            burst_bytes: 2000,
            storage_bytes: 0,
        };
        let quotas = Quotas::new(limits);
        let limits = &limits;
        let start = Instant::now();
        let a = org("a");
        assert_eq!(quotas.check_rate(&a, limits, start), Ok(()));
        quotas.charge(&a, limits, 1500, start);
        assert_eq!(
            quotas.check_rate(&a, limits, start),
            Ok(()),
            "500 bytes left"
        );
        quotas.charge(&a, limits, 3500, start);
        // 3000 bytes of debt at 1000 B/s.
        assert_eq!(quotas.check_rate(&a, limits, start), Err(3));
        assert_eq!(
            quotas.check_rate(&org("b"), limits, start),
            Ok(()),
            "orgs are independent"
        );
        assert_eq!(
            quotas.check_rate(&a, limits, start + Duration::from_millis(2500)),
            Err(1)
        );
        assert_eq!(
            quotas.check_rate(&a, limits, start + Duration::from_secs(4)),
            Ok(())
        );
        // Refills stop at the burst.
        quotas.charge(&a, limits, 1, start + Duration::from_secs(100));
        assert_eq!(
            quotas.check_rate(&a, limits, start + Duration::from_secs(100)),
            Ok(())
        );
        quotas.charge(&a, limits, 2000, start + Duration::from_secs(100));
        assert!(
            quotas
                .check_rate(&a, limits, start + Duration::from_secs(100))
                .is_err()
        );
    }

    #[test]
    fn no_rate_means_no_limit_and_stored_sizes_expire() {
        let quotas = Quotas::default();
        let limits = &quotas.config();
        let now = Instant::now();
        quotas.charge(&org("a"), limits, u64::MAX, now);
        assert_eq!(quotas.check_rate(&org("a"), limits, now), Ok(()));
        quotas.remember_stored(&org("a"), 42, now);
        assert_eq!(quotas.cached_stored(&org("a"), now), Some(42));
        assert_eq!(quotas.cached_stored(&org("a"), now + STORED_REFRESH), None);
    }

    #[test]
    fn an_organisation_s_own_settings_replace_the_server_wide_ones_they_name() {
        let server = QuotaConfig {
            rate_bytes_per_sec: 1000,
            burst_bytes: 2000,
            storage_bytes: 1 << 30,
        };
        let own = OrgQuotas {
            ingest_rate_bytes: Some(0),
            ingest_burst_bytes: None,
            storage_bytes: Some(5),
        };
        assert_eq!(
            server.with_overrides(&own),
            QuotaConfig {
                rate_bytes_per_sec: 0,
                burst_bytes: 2000,
                storage_bytes: 5,
            }
        );
        assert_eq!(server.with_overrides(&OrgQuotas::default()), server);

        let quotas = Quotas::new(server);
        let now = Instant::now();
        let a = org("a");
        assert_eq!(quotas.cached_limits(&a), server, "nothing read yet");
        quotas.remember_overrides(&a, own, now);
        assert_eq!(quotas.cached_overrides(&a, now), Some((own, true)));
        assert_eq!(
            quotas.cached_overrides(&a, now + OVERRIDES_REFRESH),
            Some((own, false)),
            "stale, still there for when the database cannot be read"
        );
        assert_eq!(quotas.cached_limits(&a).storage_bytes, 5);
        quotas.forget_overrides(&a);
        assert_eq!(quotas.cached_overrides(&a, now), None);
    }
}
