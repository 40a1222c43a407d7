//! Helpers shared by the Prometheus API tests: form encoding, snappy framing and remote_write.

use kansoku_ingest::decode::remote_write::v1;
use prost::Message;
use reqwest::Method;

use super::TestServer;

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

/// Sends `request` to `org` as remote_write 1.0 (protobuf, snappy), as root.
pub async fn write_v1(
    server: &TestServer,
    org: &str,
    request: &v1::WriteRequest,
) -> reqwest::Response {
    server
        .root(Method::POST, &format!("/api/{org}/prometheus/api/v1/write"))
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "snappy")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(snappy(&request.encode_to_vec()))
        .send()
        .await
        .unwrap()
}
