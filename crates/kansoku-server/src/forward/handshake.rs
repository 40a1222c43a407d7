//! The forward protocol's shared-key handshake: the server sends `HELO` with a fresh nonce, the
//! client answers `PING` with hex(sha512(salt ‖ client hostname ‖ nonce ‖ key)), the server
//! checks it and answers `PONG` with its own digest (so the client can check the server too).

use sha2::{Digest, Sha512};

/// `["HELO", {"nonce": nonce, "auth": "", "keepalive": true}]`.
pub(super) fn helo(nonce: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = rmp::encode::write_array_len(&mut out, 2);
    let _ = rmp::encode::write_str(&mut out, "HELO");
    let _ = rmp::encode::write_map_len(&mut out, 3);
    let _ = rmp::encode::write_str(&mut out, "nonce");
    let _ = rmp::encode::write_bin(&mut out, nonce);
    let _ = rmp::encode::write_str(&mut out, "auth");
    let _ = rmp::encode::write_bin(&mut out, b"");
    let _ = rmp::encode::write_str(&mut out, "keepalive");
    let _ = rmp::encode::write_bool(&mut out, true);
    out
}

/// hex(sha512(salt ‖ hostname ‖ nonce ‖ key)).
pub(super) fn digest(salt: &[u8], hostname: &str, nonce: &[u8], key: &str) -> String {
    let mut hasher = Sha512::new();
    hasher.update(salt);
    hasher.update(hostname.as_bytes());
    hasher.update(nonce);
    hasher.update(key.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// `["PONG", ok, reason, server hostname, server digest]`.
pub(super) fn pong(ok: bool, reason: &str, hostname: &str, digest: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = rmp::encode::write_array_len(&mut out, 5);
    let _ = rmp::encode::write_str(&mut out, "PONG");
    let _ = rmp::encode::write_bool(&mut out, ok);
    let _ = rmp::encode::write_str(&mut out, reason);
    let _ = rmp::encode::write_str(&mut out, hostname);
    let _ = rmp::encode::write_str(&mut out, digest);
    out
}

/// `{"ack": chunk}`.
pub(super) fn ack(chunk: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = rmp::encode::write_map_len(&mut out, 1);
    let _ = rmp::encode::write_str(&mut out, "ack");
    let _ = rmp::encode::write_str(&mut out, chunk);
    out
}

/// Constant-time comparison of two digests.
pub(super) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_sha512_hex_of_the_concatenation() {
        let digest = digest(b"salt", "host", b"nonce", "key");
        assert_eq!(digest.len(), 128);
        let mut hasher = Sha512::new();
        hasher.update(b"salthostnoncekey");
        let expected: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(digest, expected);
        assert!(same(&digest, &expected));
        assert!(!same(&digest, &expected[1..]));
    }

    #[test]
    fn messages_read_back() {
        use kansoku_ingest::decode::forward::msgpack::{Value, read};
        let ack = ack("abc");
        assert_eq!(
            read(&ack).map(|(v, _)| v),
            Ok(Value::Map(vec![(Value::Str(b"ack"), Value::Str(b"abc"))]))
        );
        let helo = helo(b"0123456789abcdef");
        let (Value::Array(items), used) = read(&helo).unwrap_or_else(|e| panic!("{e:?}")) else {
            panic!("HELO is not an array");
        };
        assert_eq!(used, helo.len());
        assert_eq!(items[0], Value::Str(b"HELO"));
    }
}
