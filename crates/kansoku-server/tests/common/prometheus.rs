//! Helpers shared by the Prometheus API tests: form encoding and snappy framing.

/// `text` percent-encoded for a URL query or a form body (RFC 3986 unreserved kept).
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `pairs` as an `application/x-www-form-urlencoded` body or URL query.
pub fn url_encoded(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Block-format snappy, as remote_write sends it.
pub fn snappy(bytes: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(bytes).unwrap()
}

/// Now in milliseconds.
pub fn now_ms() -> i64 {
    super::now_micros() / 1000
}
