//! A small, deterministic mutation fuzzer for CI: no coverage feedback (that is what
//! `cargo fuzz` adds for longer runs, see docs/fuzzing.md), but the same targets, the same seed
//! corpus and the same mutations every run, so a failure in CI reproduces on any machine.

/// A xorshift64* generator: deterministic from its seed, no dependency.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (zero is replaced: xorshift never leaves it).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound.max(1) as u64) as usize
    }
}

/// Byte strings that parsers treat specially: structure, escapes, varint extremes, lengths.
const INTERESTING: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"\\u0000",
    b"\\ud800",
    b":",
    b",",
    b"\n",
    b"\r\n",
    b"null",
    b"1e400",
    b"-0",
    b"18446744073709551616",
    b"NaN",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xc0\x80",
    b"\x00",
    b"\xff\xff\xff\xff\x0f",
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
    b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80",
    b"\x7f\xff\xff\xff",
    b"\xff\xff\xff\x7f",
    b"'",
    b"--",
    b";",
    b"/*",
    b"(",
    b")",
];

/// One mutation of `input`, sometimes splicing in part of `other`.
pub fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        apply_one(rng, &mut out, other);
    }
    out
}

fn apply_one(rng: &mut Rng, out: &mut Vec<u8>, other: &[u8]) {
    let len = out.len();
    match rng.below(9) {
        // Flip one bit.
        0 if len > 0 => {
            let at = rng.below(len);
            out[at] ^= 1 << rng.below(8);
        }
        // Set a byte to a boundary value.
        1 if len > 0 => {
            let at = rng.below(len);
            out[at] = [0x00, 0x01, 0x7f, 0x80, 0xff][rng.below(5)];
        }
        // Delete a range.
        2 if len > 0 => {
            let at = rng.below(len);
            let end = (at + 1 + rng.below(16)).min(len);
            out.drain(at..end);
        }
        // Truncate.
        3 if len > 0 => out.truncate(rng.below(len)),
        // Duplicate a range (repeated fields, nesting).
        4 if len > 0 => {
            let at = rng.below(len);
            let end = (at + 1 + rng.below(64)).min(len);
            let chunk = out[at..end].to_vec();
            let times = 1 + rng.below(8);
            for _ in 0..times {
                out.splice(at..at, chunk.iter().copied());
            }
        }
        // Insert an interesting token.
        5 => {
            let token = INTERESTING[rng.below(INTERESTING.len())];
            let at = rng.below(len + 1);
            out.splice(at..at, token.iter().copied());
        }
        // Splice in part of another corpus entry.
        6 if !other.is_empty() => {
            let from = rng.below(other.len());
            let end = (from + 1 + rng.below(128)).min(other.len());
            let at = rng.below(len + 1);
            out.splice(at..at, other[from..end].iter().copied());
        }
        // Overwrite with random bytes.
        7 if len > 0 => {
            let at = rng.below(len);
            let end = (at + 1 + rng.below(8)).min(len);
            for byte in &mut out[at..end] {
                *byte = rng.next_u64() as u8;
            }
        }
        // Append random bytes.
        _ => {
            let extra = rng.below(16);
            for _ in 0..extra {
                out.push(rng.next_u64() as u8);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_mutations() {
        let input = b"{\"a\":[1,2,3],\"b\":\"text\"}";
        let run = |seed| {
            let mut rng = Rng::new(seed);
            (0..50)
                .map(|_| mutate(&mut rng, input, b"other"))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn mutations_change_the_input_and_reach_every_kind() {
        let input = b"0123456789abcdef";
        let mut rng = Rng::new(1);
        let outputs: Vec<Vec<u8>> = (0..500).map(|_| mutate(&mut rng, input, b"XYZ")).collect();
        let changed = outputs.iter().filter(|o| o.as_slice() != input).count();
        assert!(
            changed > 450,
            "only {changed} of 500 mutations changed the input"
        );
        assert!(outputs.iter().any(|o| o.len() < input.len()), "no deletion");
        assert!(
            outputs.iter().any(|o| o.len() > input.len()),
            "no insertion"
        );
        assert!(
            outputs.iter().any(|o| o.windows(3).any(|w| w == b"XYZ")),
            "no splice"
        );
    }
}
