use std::sync::Arc;

use kansoku_core::{OrgId, StreamKey, StreamName, StreamType};
use proptest::prelude::*;

use super::snapshot::{self, StreamSnapshot};
use super::*;

fn key(name: &str) -> StreamKey {
    StreamKey::new(
        OrgId::parse("default").expect("org"),
        StreamType::Logs,
        StreamName::normalise(name).expect("stream"),
    )
}

fn index(max_ids: usize) -> Arc<DedupIndex> {
    Arc::new(DedupIndex::new(max_ids, DedupMetrics::default()))
}

#[test]
fn a_confirmed_id_is_a_duplicate_for_later_requests_and_within_its_own() {
    let index = index(100);
    let ids = index.stream(&key("app"));
    let mut first = index.reservation();
    assert_eq!(index.check(&ids, 60, 7, &mut first, 1000), Verdict::New);
    assert_eq!(
        index.check(&ids, 60, 7, &mut first, 1000),
        Verdict::Duplicate
    );
    first.confirm();
    assert_eq!(index.len(), 1);
    let mut second = index.reservation();
    assert_eq!(
        index.check(&ids, 60, 7, &mut second, 1001),
        Verdict::Duplicate
    );
    assert!(second.is_empty());
}

#[test]
fn a_released_reservation_lets_the_retry_store_the_record() {
    let index = index(100);
    let ids = index.stream(&key("app"));
    let mut failed = index.reservation();
    assert_eq!(index.check(&ids, 60, 7, &mut failed, 1000), Verdict::New);
    let mut concurrent = index.reservation();
    assert_eq!(
        index.check(&ids, 60, 7, &mut concurrent, 1000),
        Verdict::InFlight
    );
    assert_eq!(index.metrics().in_flight.get(), 1);
    drop(failed);
    let mut retry = index.reservation();
    assert_eq!(index.check(&ids, 60, 7, &mut retry, 1001), Verdict::New);
    assert_eq!(index.len(), 0);
}

#[test]
fn ids_are_remembered_at_least_the_window_and_at_most_twice_it() {
    let index = index(100);
    let ids = index.stream(&key("app"));
    let mut first = index.reservation();
    assert_eq!(index.check(&ids, 60, 7, &mut first, 1000), Verdict::New);
    first.confirm();
    for now in [1059, 1060, 1119] {
        let mut again = index.reservation();
        assert_eq!(
            index.check(&ids, 60, 7, &mut again, now),
            Verdict::Duplicate,
            "at {now}"
        );
    }
    let mut late = index.reservation();
    assert_eq!(index.check(&ids, 60, 7, &mut late, 1180), Verdict::New);
}

#[test]
fn a_window_of_zero_forgets_at_the_next_look() {
    let index = index(100);
    let ids = index.stream(&key("app"));
    let mut first = index.reservation();
    assert_eq!(index.check(&ids, 0, 7, &mut first, 1000), Verdict::New);
    first.confirm();
    let mut second = index.reservation();
    // One rotation per look: the id is in the previous generation for one more look.
    assert_eq!(index.check(&ids, 0, 8, &mut second, 1000), Verdict::New);
    second.confirm();
    let mut third = index.reservation();
    assert_eq!(index.check(&ids, 0, 7, &mut third, 1000), Verdict::New);
}

#[test]
fn the_bound_forgets_the_largest_previous_generation_first() {
    let index = index(10);
    let big = index.stream(&key("big"));
    let small = index.stream(&key("small"));
    index.insert_durable(&key("big"), 60, 0..6, 1000);
    // Rotate "big" so its six ids are the previous generation.
    let mut look = index.reservation();
    assert_eq!(index.check(&big, 60, 100, &mut look, 1061), Verdict::New);
    look.confirm();
    index.insert_durable(&key("small"), 60, 200..204, 1061);
    // 6 + 1 + 4 = 11 ids, over the bound of 10: "big"'s previous generation (6 ids) went.
    assert_eq!(index.len(), 5);
    assert_eq!(index.metrics().forgotten.get(), 6);
    let mut probe = index.reservation();
    assert_eq!(index.check(&big, 60, 3, &mut probe, 1062), Verdict::New);
    assert_eq!(
        index.check(&small, 60, 201, &mut probe, 1062),
        Verdict::Duplicate
    );
}

#[test]
fn forgetting_a_stream_frees_its_ids() {
    let index = index(100);
    index.insert_durable(&key("app"), 60, [1, 2, 3], 1000);
    assert_eq!(index.len(), 3);
    index.forget_stream(&key("app"));
    assert_eq!(index.len(), 0);
    let ids = index.stream(&key("app"));
    let mut again = index.reservation();
    assert_eq!(index.check(&ids, 60, 1, &mut again, 1001), Verdict::New);
}

#[test]
fn a_snapshot_restores_the_ids_and_drops_expired_generations() {
    let source = index(100);
    source.insert_durable(&key("app"), 60, [1, 2], 1000);
    let ids = source.stream(&key("app"));
    let mut look = source.reservation();
    assert_eq!(source.check(&ids, 60, 3, &mut look, 1070), Verdict::New);
    look.confirm();
    let bytes = snapshot::encode(&source.snapshot(1070), 1070);
    let streams = snapshot::decode(&bytes).expect("decodes");

    let fresh = index(100);
    fresh.restore(streams.clone(), 1075);
    assert_eq!(fresh.len(), 3);
    let ids = fresh.stream(&key("app"));
    let mut probe = fresh.reservation();
    for id in [1, 2, 3] {
        assert_eq!(
            fresh.check(&ids, 60, id, &mut probe, 1075),
            Verdict::Duplicate
        );
    }

    // A window later the previous generation ({1, 2}) has gone; two windows later everything.
    let later = index(100);
    later.restore(streams.clone(), 1131);
    assert_eq!(later.len(), 1);
    let much_later = index(100);
    much_later.restore(streams, 1191);
    assert_eq!(much_later.len(), 0);
}

#[test]
fn a_damaged_snapshot_is_refused_with_its_reason() {
    let streams = vec![StreamSnapshot {
        key: key("app"),
        window_secs: 60,
        current_since: 5,
        current: vec![1, 2],
        previous: vec![],
    }];
    let mut bytes = snapshot::encode(&streams, 9);
    assert_eq!(snapshot::decode(&bytes).expect("decodes"), streams);
    bytes[20] ^= 1;
    assert_eq!(
        snapshot::decode(&bytes).expect_err("damaged"),
        "checksum mismatch"
    );
    assert!(snapshot::decode(b"KSK").is_err());
}

#[test]
fn snapshots_are_written_and_read_back_from_the_wal_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert_eq!(snapshot::read(dir.path()).expect("reads"), None);
    let streams = vec![StreamSnapshot {
        key: key("app"),
        window_secs: 600,
        current_since: 5,
        current: vec![9],
        previous: vec![8],
    }];
    snapshot::write(dir.path(), &snapshot::encode(&streams, 6)).expect("writes");
    assert_eq!(snapshot::read(dir.path()).expect("reads"), Some(streams));
    std::fs::write(snapshot::path(dir.path()), b"garbage").expect("damage");
    let error = snapshot::read(dir.path()).expect_err("garbage");
    assert!(error.to_string().contains("dedup snapshot"), "{error}");
}

fn stream_snapshot() -> impl Strategy<Value = StreamSnapshot> {
    (
        "[a-z][a-z0-9_]{0,20}",
        0usize..3,
        any::<u32>(),
        any::<i64>(),
        proptest::collection::vec(any::<u64>(), 0..50),
        proptest::collection::vec(any::<u64>(), 0..50),
    )
        .prop_map(
            |(name, kind, window_secs, current_since, current, previous)| StreamSnapshot {
                key: StreamKey::new(
                    OrgId::parse("org_1").expect("org"),
                    StreamType::ALL[kind],
                    StreamName::normalise(&name).expect("stream"),
                ),
                window_secs,
                current_since,
                current,
                previous,
            },
        )
}

proptest! {
    #[test]
    fn snapshots_round_trip(
        streams in proptest::collection::vec(stream_snapshot(), 0..5),
        written_at in any::<i64>(),
    ) {
        let bytes = snapshot::encode(&streams, written_at);
        prop_assert_eq!(snapshot::decode(&bytes).expect("decodes"), streams);
    }

    #[test]
    fn any_bytes_decode_or_fail_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = snapshot::decode(&bytes);
    }

    #[test]
    fn a_cut_snapshot_is_refused(
        streams in proptest::collection::vec(stream_snapshot(), 1..3),
        cut in 1usize..40,
    ) {
        let bytes = snapshot::encode(&streams, 1);
        let cut = cut.min(bytes.len());
        prop_assert!(snapshot::decode(&bytes[..bytes.len() - cut]).is_err());
    }
}

#[test]
fn a_stream_deleted_under_a_request_keeps_the_count_exact() {
    let index = index(100);
    let ids = index.stream(&key("app"));
    index.insert_durable(&key("app"), 60, [1, 2, 3], 1000);
    let mut pending = index.reservation();
    assert_eq!(index.check(&ids, 60, 9, &mut pending, 1000), Verdict::New);
    index.forget_stream(&key("app"));
    assert_eq!(index.len(), 0);
    // The request still holding the deleted stream neither looks ids up nor adds them, and a
    // rotation there subtracts nothing twice.
    let mut other = index.reservation();
    assert_eq!(index.check(&ids, 60, 1, &mut other, 1200), Verdict::New);
    assert!(other.is_empty());
    pending.confirm();
    assert_eq!(index.len(), 0);
    index.insert_durable(&key("app"), 60, [5], 1200);
    assert_eq!(index.len(), 1);
}
