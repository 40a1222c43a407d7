//! Fuzzing kansoku's parsers: every parser that reads bytes from the network or from disk has a
//! target here ([`targets::TARGETS`]), with a checked-in seed corpus under `fuzz/corpus/<target>/`
//! (written by `cargo run -p kansoku-fuzz --bin fuzz-seeds`) and crash regressions under
//! `fuzz/regressions/<target>/`.
//!
//! Two ways to run them (docs/fuzzing.md):
//! - **CI**: this crate's tests replay the corpus and the regressions, then run a short,
//!   deterministic mutation campaign per target ([`campaign`]) — seconds, no nightly toolchain.
//! - **Longer runs**: `scripts/fuzz.sh` builds the same targets with `cargo fuzz` (libFuzzer,
//!   coverage-guided, sanitizers) from `fuzz/`, starting from the same corpus.
//!
//! A target fails only by panicking; [`campaign`] catches the panic, writes the input that
//! caused it to a file and reports both.

pub mod mutate;
pub mod seeds;
pub mod targets;

use std::path::{Path, PathBuf};

use mutate::{Rng, mutate};
use targets::Target;

/// The repository's `fuzz/` directory.
pub fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `fuzz/<kind>/<target>/` (`corpus` or `regressions`), sorted by name; none when
/// the directory does not exist.
pub fn inputs(kind: &str, target: &str) -> std::io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let dir = fuzz_dir().join(kind).join(target);
    if !dir.try_exists()? {
        return Ok(Vec::new());
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    paths.retain(|p| p.is_file());
    paths.sort();
    paths
        .into_iter()
        .map(|path| std::fs::read(&path).map(|bytes| (path, bytes)))
        .collect()
}

/// An input that made a target panic.
#[derive(Debug)]
pub struct Crash {
    /// The target.
    pub target: &'static str,
    /// The panic message.
    pub message: String,
    /// Where the input was written (for `cargo fuzz run <target> <file>` and a regression).
    pub saved_to: Option<PathBuf>,
    /// The input's first bytes, escaped.
    pub preview: String,
}

impl std::fmt::Display for Crash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "target {} panicked: {} (input {}, saved to {})",
            self.target,
            self.message,
            self.preview,
            self.saved_to
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "nowhere".to_string())
        )
    }
}

/// Runs `target` on `input`, turning a panic into a [`Crash`] whose input is saved in
/// `crash_dir`.
pub fn run_one(target: Target, input: &[u8], crash_dir: &Path) -> Result<(), Crash> {
    let outcome = std::panic::catch_unwind(|| (target.run)(input));
    let Err(payload) = outcome else {
        return Ok(());
    };
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".to_string());
    let saved_to = save_crash(target.name, input, crash_dir);
    Err(Crash {
        target: target.name,
        message,
        saved_to,
        preview: input
            .iter()
            .take(64)
            .flat_map(|b| b.escape_ascii())
            .map(char::from)
            .collect(),
    })
}

fn save_crash(target: &str, input: &[u8], crash_dir: &Path) -> Option<PathBuf> {
    let dir = crash_dir.join(target);
    std::fs::create_dir_all(&dir).ok()?;
    let digest = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    });
    let path = dir.join(format!("crash-{digest:016x}"));
    std::fs::write(&path, input).ok()?;
    Some(path)
}

/// Runs `iterations` mutations of the corpus entries (round robin, seeded by `seed`) through
/// `target`; stops at the first crash.
pub fn campaign(
    target: Target,
    corpus: &[Vec<u8>],
    iterations: usize,
    seed: u64,
    crash_dir: &Path,
) -> Result<usize, Crash> {
    if corpus.is_empty() {
        return Ok(0);
    }
    let mut rng = Rng::new(seed);
    for iteration in 0..iterations {
        let input = &corpus[iteration % corpus.len()];
        let other = &corpus[rng.below(corpus.len())];
        let mutated = mutate(&mut rng, input, other);
        run_one(target, &mutated, crash_dir)?;
    }
    Ok(iterations)
}

/// The entry of the cargo-fuzz binaries in `fuzz/fuzz_targets/`: runs target `name` on `data`,
/// letting a panic through to libFuzzer. An unknown name does nothing (a test checks that every
/// binary names a target).
pub fn fuzz(name: &str, data: &[u8]) {
    if let Some(target) = targets::target(name) {
        (target.run)(data);
    }
}
