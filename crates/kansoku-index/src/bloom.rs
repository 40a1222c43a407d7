//! A Bloom filter over trigrams, with double hashing.

/// Bits per inserted element (≈ 1 % false positives with 7 hashes).
const BITS_PER_ELEMENT: usize = 10;
/// Hash functions.
pub const HASHES: u8 = 7;

/// A Bloom filter of trigrams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bloom {
    bits: Vec<u8>,
    hashes: u8,
}

impl Bloom {
    /// A filter sized for `elements` distinct trigrams.
    pub fn with_capacity(elements: usize) -> Bloom {
        let bits = (elements.max(1) * BITS_PER_ELEMENT)
            .next_power_of_two()
            .max(64);
        Bloom {
            bits: vec![0; bits / 8],
            hashes: HASHES,
        }
    }

    /// A filter from its serialised parts.
    pub fn from_parts(bits: Vec<u8>, hashes: u8) -> Bloom {
        Bloom { bits, hashes }
    }

    /// The serialised bits.
    pub fn bits(&self) -> &[u8] {
        &self.bits
    }

    /// The number of hash functions.
    pub fn hashes(&self) -> u8 {
        self.hashes
    }

    /// Adds a trigram.
    pub fn insert(&mut self, trigram: u32) {
        let bit_count = (self.bits.len() * 8) as u64;
        let (h1, h2) = hash_pair(trigram);
        for i in 0..u64::from(self.hashes) {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) % bit_count;
            self.bits[(bit / 8) as usize] |= 1 << (bit % 8);
        }
    }

    /// Whether the trigram may have been added.
    pub fn may_contain(&self, trigram: u32) -> bool {
        if self.bits.is_empty() {
            return false;
        }
        let bit_count = (self.bits.len() * 8) as u64;
        let (h1, h2) = hash_pair(trigram);
        (0..u64::from(self.hashes)).all(|i| {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) % bit_count;
            self.bits[(bit / 8) as usize] & (1 << (bit % 8)) != 0
        })
    }
}

/// Two independent 64-bit hashes of a trigram (SplitMix64 finaliser over two seeds).
fn hash_pair(trigram: u32) -> (u64, u64) {
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let h1 = mix(u64::from(trigram).wrapping_add(0x9E37_79B9_7F4A_7C15));
    let h2 = mix(u64::from(trigram) ^ 0xD6E8_FEB8_6659_FD93) | 1;
    (h1, h2)
}

/// The trigram at `bytes[i..i + 3]` as a number.
pub fn trigram(bytes: &[u8]) -> u32 {
    (u32::from(bytes[0]) << 16) | (u32::from(bytes[1]) << 8) | u32::from(bytes[2])
}

/// The distinct lower-cased trigrams of `text`, appended to `out`.
pub fn trigrams_of(text: &str, out: &mut Vec<u32>) {
    if text.len() < 3 {
        return;
    }
    if text.is_ascii() {
        let bytes = text.as_bytes();
        for window in bytes.windows(3) {
            out.push(trigram(&[
                window[0].to_ascii_lowercase(),
                window[1].to_ascii_lowercase(),
                window[2].to_ascii_lowercase(),
            ]));
        }
        return;
    }
    let lower = text.to_lowercase();
    for window in lower.as_bytes().windows(3) {
        out.push(trigram(window));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserted_trigrams_are_found_and_false_positives_are_rare() {
        let mut bloom = Bloom::with_capacity(1000);
        for t in 0..1000u32 {
            bloom.insert(t * 7919);
        }
        assert!((0..1000u32).all(|t| bloom.may_contain(t * 7919)));
        let false_positives = (1_000_000u32..1_010_000)
            .filter(|t| bloom.may_contain(*t))
            .count();
        assert!(false_positives < 300, "{false_positives} of 10000");
    }

    #[test]
    fn trigrams_are_case_insensitive() {
        let mut upper = Vec::new();
        let mut lower = Vec::new();
        trigrams_of("ERROR Ünïcode", &mut upper);
        trigrams_of("error ünïcode", &mut lower);
        assert_eq!(upper, lower);
        let mut none = Vec::new();
        trigrams_of("ab", &mut none);
        assert!(none.is_empty());
    }
}
