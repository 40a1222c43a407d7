//! Exactly once from at-least-once senders: the record ids (`_id`) this node stored lately, per
//! stream, so that a re-sent copy is not stored twice (ARCHITECTURE.md "Deduplication").
//!
//! Each stream keeps two generations of 64-bit id keys ([`ids::id_key`]): ids go into the
//! current one; once it is a window old it becomes the previous one and the old previous one is
//! forgotten, so an id is remembered at least the window and at most twice it. An id a request
//! is about to store is *reserved* for it until its WAL append succeeds ([`Reservation`]), then
//! it is durable; a failed or abandoned request releases its reservations.

pub mod ids;
pub mod snapshot;

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use kansoku_core::StreamKey;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// A hasher for keys that are hashes already (xxh3-64 of the id): the key itself.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = key;
    }
}

/// A set of id keys.
pub type IdSet = HashSet<u64, BuildHasherDefault<KeyHasher>>;

/// What to do with a record whose id was looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not seen: store it (its id is now reserved for this request).
    New,
    /// Stored before within the window, or earlier in this request: do not store it again.
    Duplicate,
    /// Being stored by another request right now: store it too (the other may still fail);
    /// compaction removes the copy if both land.
    InFlight,
}

/// The ids of one stream.
#[derive(Debug, Default)]
pub struct StreamIds {
    window_secs: u32,
    current_since: i64,
    current: IdSet,
    previous: IdSet,
    /// Ids reserved by requests not yet committed, with the request's token.
    pending: HashMap<u64, u64, BuildHasherDefault<KeyHasher>>,
    /// The stream was deleted: nothing is remembered here any more (a request still holding
    /// it neither looks up nor adds ids; the stream's next record starts a new entry).
    removed: bool,
}

impl StreamIds {
    /// Durable ids remembered.
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    /// Whether no durable id is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves to the next generation when the current one is a window old; returns the number
    /// of ids forgotten.
    fn rotate_if_due(&mut self, now_secs: i64) -> usize {
        if now_secs.saturating_sub(self.current_since) < i64::from(self.window_secs) {
            return 0;
        }
        let forgotten = self.previous.len();
        self.previous = std::mem::take(&mut self.current);
        self.current_since = now_secs;
        if self.previous.is_empty() {
            // Nothing to keep: shrink what an idle stream holds.
            self.previous = IdSet::default();
        }
        forgotten
    }

    fn check(&mut self, key: u64, token: u64) -> Verdict {
        if self.current.contains(&key) || self.previous.contains(&key) {
            return Verdict::Duplicate;
        }
        match self.pending.get(&key) {
            Some(owner) if *owner == token => Verdict::Duplicate,
            Some(_) => Verdict::InFlight,
            None => {
                self.pending.insert(key, token);
                Verdict::New
            }
        }
    }

    /// Adds durable ids; returns how many were new.
    fn insert_durable(&mut self, keys: impl IntoIterator<Item = u64>) -> usize {
        let before = self.current.len();
        for key in keys {
            if !self.previous.contains(&key) {
                self.current.insert(key);
            }
        }
        self.current.len() - before
    }
}

/// Metrics of deduplication (`kansoku_dedup_*`).
#[derive(Clone, Debug, Default)]
pub struct DedupMetrics {
    /// Records not stored because their id was stored before, per org/type/stream.
    pub duplicates:
        prometheus_client::metrics::family::Family<crate::metrics::StreamLabels, Counter>,
    /// Records stored although an identical id was being stored by another request.
    pub in_flight: Counter,
    /// Ids forgotten before their window ended (`KANSOKU_DEDUP_MAX_IDS`).
    pub forgotten: Counter,
    /// Snapshots of the ids that could not be written.
    pub snapshot_failures: Counter,
    /// Ids remembered.
    pub ids: Gauge,
}

impl DedupMetrics {
    /// Creates and registers the metrics.
    pub fn register(registry: &mut Registry) -> DedupMetrics {
        let m = DedupMetrics::default();
        let dedup = registry.sub_registry_with_prefix("kansoku_dedup");
        dedup.register(
            "duplicates",
            "Records not stored because a record with their id was stored before (within the stream's window), by org/type/stream",
            m.duplicates.clone(),
        );
        dedup.register(
            "in_flight",
            "Records stored although a record with their id was being stored by another request at that moment (compaction removes the copy)",
            m.in_flight.clone(),
        );
        dedup.register(
            "forgotten",
            "Ids forgotten before their window ended, to stay within KANSOKU_DEDUP_MAX_IDS",
            m.forgotten.clone(),
        );
        dedup.register(
            "snapshot_failures",
            "Snapshots of the remembered ids that could not be written (the ids of flushed data are then lost at the next restart)",
            m.snapshot_failures.clone(),
        );
        dedup.register("ids", "Record ids remembered", m.ids.clone());
        m
    }
}

/// The ids of every stream of this node.
#[derive(Debug)]
pub struct DedupIndex {
    streams: Mutex<HashMap<StreamKey, Arc<Mutex<StreamIds>>>>,
    max_ids: usize,
    total: AtomicUsize,
    next_token: AtomicU64,
    metrics: DedupMetrics,
}

/// Locks a mutex, recovering it from a panicked holder (the sets stay consistent: every
/// mutation is a single insert or swap).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl DedupIndex {
    /// An empty index remembering at most `max_ids` ids.
    pub fn new(max_ids: usize, metrics: DedupMetrics) -> DedupIndex {
        DedupIndex {
            streams: Mutex::new(HashMap::new()),
            max_ids: max_ids.max(1),
            total: AtomicUsize::new(0),
            next_token: AtomicU64::new(1),
            metrics,
        }
    }

    /// The metrics.
    pub fn metrics(&self) -> &DedupMetrics {
        &self.metrics
    }

    /// Ids remembered in all streams.
    pub fn len(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids of `key`, created on first use.
    pub fn stream(&self, key: &StreamKey) -> Arc<Mutex<StreamIds>> {
        let mut streams = lock(&self.streams);
        if let Some(ids) = streams.get(key) {
            return Arc::clone(ids);
        }
        let ids = Arc::new(Mutex::new(StreamIds::default()));
        streams.insert(key.clone(), Arc::clone(&ids));
        ids
    }

    /// A reservation for one request.
    pub fn reservation(self: &Arc<Self>) -> Reservation {
        Reservation {
            index: Arc::clone(self),
            token: self.next_token.fetch_add(1, Ordering::Relaxed),
            held: Vec::new(),
        }
    }

    /// Looks `key` up in `ids` (a stream with a window of `window_secs`) for the request of
    /// `reservation`, reserving it when it is new.
    pub fn check(
        &self,
        ids: &Arc<Mutex<StreamIds>>,
        window_secs: u32,
        key: u64,
        reservation: &mut Reservation,
        now_secs: i64,
    ) -> Verdict {
        let verdict = {
            let mut stream = lock(ids);
            if stream.removed {
                return Verdict::New;
            }
            stream.window_secs = window_secs;
            let forgotten = stream.rotate_if_due(now_secs);
            self.forget(forgotten);
            stream.check(key, reservation.token)
        };
        match verdict {
            Verdict::New => reservation.hold(ids, key),
            Verdict::InFlight => {
                self.metrics.in_flight.inc();
            }
            Verdict::Duplicate => {}
        }
        verdict
    }

    /// Adds durable ids of `key` (WAL replay), then keeps within the bound.
    pub fn insert_durable(
        &self,
        key: &StreamKey,
        window_secs: u32,
        keys: impl IntoIterator<Item = u64>,
        now_secs: i64,
    ) {
        let ids = self.stream(key);
        {
            let mut stream = lock(&ids);
            stream.window_secs = window_secs;
            if stream.current_since == 0 {
                stream.current_since = now_secs;
            }
            let forgotten = stream.rotate_if_due(now_secs);
            let added = stream.insert_durable(keys);
            self.forget(forgotten);
            self.total.fetch_add(added, Ordering::Relaxed);
        }
        self.keep_within_bound();
    }

    /// Forgets every id of a deleted stream.
    pub fn forget_stream(&self, key: &StreamKey) {
        let removed = lock(&self.streams).remove(key);
        if let Some(ids) = removed {
            let mut stream = lock(&ids);
            stream.removed = true;
            let forgotten = std::mem::take(&mut stream.current).len()
                + std::mem::take(&mut stream.previous).len();
            drop(stream);
            self.forget(forgotten);
        }
        self.update_gauge();
    }

    /// Counts ids no longer remembered (never below zero).
    fn forget(&self, forgotten: usize) {
        if forgotten == 0 {
            return;
        }
        let _ = self
            .total
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |total| {
                Some(total.saturating_sub(forgotten))
            });
    }

    /// Forgets whole generations, the largest previous ones first, then the largest current
    /// ones, until at most `max_ids` ids are remembered; counts what it forgot.
    fn keep_within_bound(&self) {
        while self.total.load(Ordering::Relaxed) > self.max_ids {
            let streams: Vec<Arc<Mutex<StreamIds>>> =
                lock(&self.streams).values().cloned().collect();
            let sizes = streams.iter().map(|ids| {
                let stream = lock(ids);
                (stream.previous.len(), stream.current.len())
            });
            let sizes: Vec<(usize, usize)> = sizes.collect();
            let largest_previous = sizes
                .iter()
                .enumerate()
                .max_by_key(|(_, (previous, _))| *previous)
                .filter(|(_, (previous, _))| *previous > 0)
                .map(|(index, _)| (index, true));
            let largest_current = || {
                sizes
                    .iter()
                    .enumerate()
                    .max_by_key(|(_, (_, current))| *current)
                    .filter(|(_, (_, current))| *current > 0)
                    .map(|(index, _)| (index, false))
            };
            let Some((index, previous)) = largest_previous.or_else(largest_current) else {
                return;
            };
            let mut stream = lock(&streams[index]);
            let generation = if previous {
                &mut stream.previous
            } else {
                &mut stream.current
            };
            let forgotten = std::mem::take(generation).len();
            drop(stream);
            self.forget(forgotten);
            self.metrics.forgotten.inc_by(forgotten as u64);
            tracing::info!(
                forgotten,
                max_ids = self.max_ids,
                "dedup ids forgotten before their window ended (KANSOKU_DEDUP_MAX_IDS)"
            );
        }
        self.update_gauge();
    }

    fn update_gauge(&self) {
        let total = self.total.load(Ordering::Relaxed);
        self.metrics
            .ids
            .set(i64::try_from(total).unwrap_or(i64::MAX));
    }

    /// Every stream's durable ids and windows (for [`snapshot::encode`]), after moving each
    /// stream to its generation of `now_secs` (so idle streams let their ids go).
    pub fn snapshot(&self, now_secs: i64) -> Vec<snapshot::StreamSnapshot> {
        let streams: Vec<(StreamKey, Arc<Mutex<StreamIds>>)> = lock(&self.streams)
            .iter()
            .map(|(key, ids)| (key.clone(), Arc::clone(ids)))
            .collect();
        let snapshots = streams
            .into_iter()
            .filter_map(|(key, ids)| {
                let mut stream = lock(&ids);
                let forgotten = stream.rotate_if_due(now_secs);
                self.forget(forgotten);
                if stream.is_empty() {
                    return None;
                }
                Some(snapshot::StreamSnapshot {
                    key,
                    window_secs: stream.window_secs,
                    current_since: stream.current_since,
                    current: stream.current.iter().copied().collect(),
                    previous: stream.previous.iter().copied().collect(),
                })
            })
            .collect();
        self.update_gauge();
        snapshots
    }

    /// Restores streams read from a snapshot (at start-up, before anything else), dropping
    /// generations that have expired by `now_secs`.
    pub fn restore(&self, streams: Vec<snapshot::StreamSnapshot>, now_secs: i64) {
        for restored in streams {
            let ids = self.stream(&restored.key);
            let mut stream = lock(&ids);
            let previous_forgotten_at = restored
                .current_since
                .saturating_add(i64::from(restored.window_secs));
            let current_forgotten_at =
                previous_forgotten_at.saturating_add(i64::from(restored.window_secs));
            let mut current: IdSet = restored.current.into_iter().collect();
            let mut previous: IdSet = restored.previous.into_iter().collect();
            let mut since = restored.current_since;
            if now_secs >= current_forgotten_at {
                current.clear();
                previous.clear();
                since = now_secs;
            } else if now_secs >= previous_forgotten_at {
                previous = std::mem::take(&mut current);
                since = now_secs;
            }
            stream.window_secs = restored.window_secs;
            stream.current_since = since;
            let added = current.len() + previous.len();
            stream.current = current;
            stream.previous = previous;
            drop(stream);
            self.total.fetch_add(added, Ordering::Relaxed);
        }
        self.keep_within_bound();
    }
}

/// The ids a request reserved: made durable by [`Reservation::confirm`] once its WAL append
/// succeeded, released when dropped otherwise.
#[derive(Debug)]
pub struct Reservation {
    index: Arc<DedupIndex>,
    token: u64,
    held: Vec<(Arc<Mutex<StreamIds>>, Vec<u64>)>,
}

impl Reservation {
    fn hold(&mut self, ids: &Arc<Mutex<StreamIds>>, key: u64) {
        match self
            .held
            .iter_mut()
            .find(|(held, _)| Arc::ptr_eq(held, ids))
        {
            Some((_, keys)) => keys.push(key),
            None => self.held.push((Arc::clone(ids), vec![key])),
        }
    }

    /// Ids reserved.
    pub fn len(&self) -> usize {
        self.held.iter().map(|(_, keys)| keys.len()).sum()
    }

    /// Whether nothing is reserved.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// The reserved ids are stored: remember them as durable.
    pub fn confirm(mut self) {
        let held = std::mem::take(&mut self.held);
        if held.is_empty() {
            return;
        }
        for (ids, keys) in held {
            let mut stream = lock(&ids);
            for key in &keys {
                stream.pending.remove(key);
            }
            if stream.removed {
                continue;
            }
            let added = stream.insert_durable(keys);
            drop(stream);
            self.index.total.fetch_add(added, Ordering::Relaxed);
        }
        self.index.keep_within_bound();
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        for (ids, keys) in &self.held {
            let mut stream = lock(ids);
            for key in keys {
                if stream.pending.get(key) == Some(&self.token) {
                    stream.pending.remove(key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
