//! Property tests of the WAL against the simplest model: after any crash, replay returns exactly
//! the records that were completely written before the cut, in order, and nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kansoku_wal::{SegmentWriter, TailState, WalMetrics, read_segment, segment_path};
use proptest::prelude::*;

fn write_segment(dir: &std::path::Path, groups: &[Vec<Vec<u8>>]) -> (Vec<u8>, Vec<usize>) {
    let mut writer = SegmentWriter::create(dir, 1, false, WalMetrics::default()).unwrap();
    for group in groups {
        let refs: Vec<&[u8]> = group.iter().map(Vec::as_slice).collect();
        writer.append_group(&refs).unwrap();
    }
    let bytes = std::fs::read(segment_path(dir, 1)).unwrap();
    // End offset of every record, in order.
    let mut ends = Vec::new();
    let mut offset = kansoku_wal::HEADER_LEN;
    for record in groups.iter().flatten() {
        offset += kansoku_wal::FRAME_LEN + record.len();
        ends.push(offset);
    }
    (bytes, ends)
}

fn payloads() -> impl Strategy<Value = Vec<Vec<Vec<u8>>>> {
    prop::collection::vec(
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 1..4),
        1..8,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn truncation_at_any_offset_replays_the_complete_prefix(groups in payloads(), cut_seed in any::<u64>()) {
        let dir = tempfile::tempdir().unwrap();
        let (bytes, ends) = write_segment(dir.path(), &groups);
        let all: Vec<Vec<u8>> = groups.iter().flatten().cloned().collect();
        let cut = (cut_seed as usize) % (bytes.len() + 1);
        let path = segment_path(dir.path(), 1);
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let contents = read_segment(&path, 1).unwrap();
        let complete = ends.iter().filter(|end| **end <= cut).count();
        prop_assert_eq!(&contents.records[..], &all[..complete]);
        let at_boundary = cut == 0 || cut == kansoku_wal::HEADER_LEN || ends.contains(&cut);
        prop_assert_eq!(contents.tail == TailState::Clean, at_boundary);
    }

    #[test]
    fn a_flipped_bit_never_yields_a_wrong_record(groups in payloads(), flip_seed in any::<u64>(), bit in 0u8..8) {
        let dir = tempfile::tempdir().unwrap();
        let (mut bytes, ends) = write_segment(dir.path(), &groups);
        let all: Vec<Vec<u8>> = groups.iter().flatten().cloned().collect();
        let position = kansoku_wal::HEADER_LEN
            + (flip_seed as usize) % (bytes.len() - kansoku_wal::HEADER_LEN);
        bytes[position] ^= 1 << bit;
        let path = segment_path(dir.path(), 1);
        std::fs::write(&path, &bytes).unwrap();
        let contents = read_segment(&path, 1).unwrap();
        // Every record that ends before the flipped byte survives; the damaged one and all after it are cut.
        let intact = ends.iter().filter(|end| **end <= position).count();
        prop_assert_eq!(&contents.records[..], &all[..intact]);
        let is_corrupt = matches!(contents.tail, TailState::Corrupt { .. });
        prop_assert!(is_corrupt);
    }
}

/// Exhaustively: the last records of a real segment, truncated at every byte offset, replay cleanly.
#[test]
fn truncation_at_every_byte_of_the_last_records() {
    let dir = tempfile::tempdir().unwrap();
    let groups: Vec<Vec<Vec<u8>>> = (0..20u8)
        .map(|i| vec![vec![i; (i as usize) * 7 + 1]])
        .collect();
    let (bytes, ends) = write_segment(dir.path(), &groups);
    let all: Vec<Vec<u8>> = groups.iter().flatten().cloned().collect();
    let path = segment_path(dir.path(), 1);
    let start_of_last_five = ends[ends.len() - 6];
    for cut in start_of_last_five..=bytes.len() {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let contents = read_segment(&path, 1).unwrap();
        let complete = ends.iter().filter(|end| **end <= cut).count();
        assert_eq!(contents.records, all[..complete], "cut at {cut}");
    }
}

#[test]
fn a_segment_with_a_torn_header_is_empty_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let path = segment_path(dir.path(), 3);
    std::fs::write(&path, b"KANS").unwrap();
    let contents = read_segment(&path, 3).unwrap();
    assert!(contents.records.is_empty());
    assert!(matches!(contents.tail, TailState::Corrupt { .. }));
    std::fs::write(&path, b"NOTAWAL-NOTAWAL-NOTAWAL").unwrap();
    let contents = read_segment(&path, 3).unwrap();
    assert!(contents.records.is_empty());
}
