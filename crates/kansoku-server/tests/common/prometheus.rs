//! Helpers shared by the Prometheus API tests: form encoding and snappy framing.

/// `text` encoded for a URL query or a form body (`application/x-www-form-urlencoded`).
pub fn percent_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `pairs` as an `application/x-www-form-urlencoded` body or URL query.
pub fn url_encoded(pairs: &[(&str, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
        .finish()
}

/// Block-format snappy, as remote_write sends it.
pub fn snappy(bytes: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(bytes).unwrap()
}

/// Now in milliseconds.
pub fn now_ms() -> i64 {
    super::now_micros() / 1000
}
