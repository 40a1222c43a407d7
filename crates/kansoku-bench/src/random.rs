//! SplitMix64: the one small deterministic generator of the synthetic data (no dependency, the
//! same data every run, so a figure or a failure is reproducible).

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (near enough for synthetic data).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    /// `n` non-zero bytes (ids that are never all zero).
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() & 0xff) as u8 | 1).collect()
    }

    /// `length` lowercase hex digits.
    pub fn hex(&mut self, length: usize) -> String {
        let mut text = String::with_capacity(length);
        while text.len() < length {
            text.push_str(&format!("{:016x}", self.next()));
        }
        text.truncate(length);
        text
    }
}
