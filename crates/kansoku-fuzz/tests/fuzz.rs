//! The CI part of fuzzing: every target has a seed corpus, the corpus and the crash regressions
//! replay without a panic, and a short deterministic mutation campaign per target finds none.
//! `KANSOKU_FUZZ_ITERATIONS` (default 20,000 per target) and `KANSOKU_FUZZ_SEED` lengthen or vary
//! the campaign; a crash's input is saved under `target/fuzz-crashes/<target>/`.

use std::path::PathBuf;

use kansoku_fuzz::targets::TARGETS;
use kansoku_fuzz::{campaign, inputs, run_one};

fn crash_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| kansoku_fuzz::fuzz_dir().join("../target"));
    target.join("fuzz-crashes")
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn every_target_has_a_checked_in_seed_corpus_matching_the_generator() {
    let seeds = kansoku_fuzz::seeds::all().unwrap_or_else(|e| panic!("seeds: {e}"));
    for target in TARGETS {
        let corpus = inputs("corpus", target.name).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !corpus.is_empty(),
            "fuzz/corpus/{} is empty: run `cargo run -p kansoku-fuzz --bin fuzz-seeds`",
            target.name
        );
    }
    for (target, name, bytes) in &seeds {
        assert!(
            kansoku_fuzz::targets::target(target).is_some(),
            "seed for unknown target {target}"
        );
        let path = kansoku_fuzz::fuzz_dir()
            .join("corpus")
            .join(target)
            .join(format!("seed-{name}"));
        let stored = std::fs::read(&path).unwrap_or_default();
        assert!(
            &stored == bytes,
            "{} differs from the generator: run `cargo run -p kansoku-fuzz --bin fuzz-seeds`",
            path.display()
        );
    }
}

#[test]
fn the_corpus_and_the_regressions_replay_without_a_panic() {
    let dir = crash_dir();
    let mut replayed = 0;
    for target in TARGETS {
        for kind in ["corpus", "regressions"] {
            for (path, bytes) in inputs(kind, target.name).unwrap_or_else(|e| panic!("{e}")) {
                if let Err(crash) = run_one(*target, &bytes, &dir) {
                    panic!("{}: {crash}", path.display());
                }
                replayed += 1;
            }
        }
    }
    assert!(replayed >= TARGETS.len());
}

#[test]
fn a_short_mutation_campaign_per_target_finds_no_panic() {
    let iterations = env_number("KANSOKU_FUZZ_ITERATIONS", 20_000) as usize;
    let seed = env_number("KANSOKU_FUZZ_SEED", 0x006b_616e_736f_6b75);
    let dir = crash_dir();
    let mut failures = Vec::new();
    for target in TARGETS {
        let corpus: Vec<Vec<u8>> = inputs("corpus", target.name)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|(_, bytes)| bytes)
            .collect();
        match campaign(*target, &corpus, iterations, seed, &dir) {
            Ok(done) => assert_eq!(done, iterations, "{} ran short", target.name),
            Err(crash) => failures.push(crash.to_string()),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_panicking_target_is_caught_and_its_input_saved() {
    fn panics_on_x(data: &[u8]) {
        assert!(!data.contains(&b'x'), "found an x");
    }
    let target = kansoku_fuzz::targets::Target {
        name: "self_test",
        about: "panics on x",
        run: panics_on_x,
    };
    let dir = std::env::temp_dir().join(format!("kansoku-fuzz-self-test-{}", std::process::id()));
    assert!(run_one(target, b"abc", &dir).is_ok());
    let crash = run_one(target, b"axc", &dir)
        .err()
        .unwrap_or_else(|| panic!("no crash"));
    assert!(crash.message.contains("found an x"), "{crash}");
    let saved = crash
        .saved_to
        .clone()
        .unwrap_or_else(|| panic!("not saved"));
    assert_eq!(std::fs::read(&saved).unwrap_or_default(), b"axc");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_target_has_a_cargo_fuzz_binary_and_every_binary_a_target() {
    let dir = kansoku_fuzz::fuzz_dir().join("fuzz_targets");
    let manifest = std::fs::read_to_string(kansoku_fuzz::fuzz_dir().join("Cargo.toml"))
        .unwrap_or_else(|e| panic!("fuzz/Cargo.toml: {e}"));
    for target in TARGETS {
        let path = dir.join(format!("{}.rs", target.name));
        let source =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            source.contains(&format!("kansoku_fuzz::fuzz(\"{}\", data)", target.name)),
            "{} does not call its target",
            path.display()
        );
        assert!(
            manifest.contains(&format!("name = \"{}\"", target.name)),
            "fuzz/Cargo.toml has no [[bin]] {}",
            target.name
        );
    }
    let binaries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .count();
    assert_eq!(
        binaries,
        TARGETS.len(),
        "a fuzz_targets file without a target"
    );
}
