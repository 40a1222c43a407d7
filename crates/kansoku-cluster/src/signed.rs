//! Values signed with the cluster secret: the registry's entries carry `sig`, the HMAC-SHA256
//! (lower-case hex) of the rest of the JSON object, serialised canonically — every member but
//! `sig`, keys sorted, no white space (serde_json's `Map` keeps keys sorted). A reader verifies
//! against every configured secret (`KANSOKU_CLUSTER_SECRET` is a comma list, so a secret can be
//! rotated without a restart of every node at once); the first one signs.

use ring::hmac;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

const SIG: &str = "sig";

/// The secrets of a cluster: the first signs, any verifies.
#[derive(Clone)]
pub struct ClusterSecret {
    keys: Vec<hmac::Key>,
}

impl std::fmt::Debug for ClusterSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClusterSecret({} keys)", self.keys.len())
    }
}

/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;

impl ClusterSecret {
    /// From `KANSOKU_CLUSTER_SECRET`: one or more secrets separated by commas, each at least
    /// [`MIN_SECRET_BYTES`] long. `Err` names the problem (never the secret).
    pub fn parse(raw: &str) -> Result<ClusterSecret, String> {
        let secrets: Vec<&str> = raw.split(',').map(str::trim).collect();
        if secrets.iter().any(|secret| secret.len() < MIN_SECRET_BYTES) {
            return Err(format!(
                "KANSOKU_CLUSTER_SECRET: every secret of the comma list must be at least {MIN_SECRET_BYTES} bytes long"
            ));
        }
        Ok(ClusterSecret {
            keys: secrets
                .iter()
                .map(|secret| hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()))
                .collect(),
        })
    }

    /// `value` as signed JSON bytes.
    pub fn sign<T: Serialize>(&self, value: &T) -> Result<Vec<u8>, String> {
        let Value::Object(mut object) = serde_json::to_value(value).map_err(|e| e.to_string())?
        else {
            return Err("only JSON objects are signed".to_string());
        };
        object.remove(SIG);
        let Some(key) = self.keys.first() else {
            return Err("no cluster secret".to_string());
        };
        let tag = hmac::sign(key, &canonical(&object)?);
        object.insert(SIG.to_string(), Value::String(hex(tag.as_ref())));
        serde_json::to_vec(&object).map_err(|e| e.to_string())
    }

    /// The value in `bytes` if its signature is valid under one of the secrets; `Err` says why
    /// not (unsigned, wrongly signed, not the expected shape).
    pub fn verify<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, String> {
        let Value::Object(mut object) =
            serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?
        else {
            return Err("not a JSON object".to_string());
        };
        let Some(Value::String(sig)) = object.remove(SIG) else {
            return Err("unsigned".to_string());
        };
        let tag = unhex(&sig).ok_or("a malformed signature")?;
        let signed = canonical(&object)?;
        if !self
            .keys
            .iter()
            .any(|key| hmac::verify(key, &signed, &tag).is_ok())
        {
            return Err("signed with another secret".to_string());
        }
        serde_json::from_value(Value::Object(object)).map_err(|e| format!("unexpected shape: {e}"))
    }
}

fn canonical(object: &Map<String, Value>) -> Result<Vec<u8>, String> {
    serde_json::to_vec(object).map_err(|e| e.to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Entry {
        v: u32,
        node: String,
    }

    fn entry() -> Entry {
        Entry {
            v: 1,
            node: "ingester-0".to_string(),
        }
    }

    #[test]
    fn a_signed_value_verifies_and_a_changed_one_does_not() {
        let secret = ClusterSecret::parse("a-secret-of-sixteen-bytes").unwrap();
        let signed = secret.sign(&entry()).unwrap();
        assert_eq!(secret.verify::<Entry>(&signed).unwrap(), entry());

        let tampered = String::from_utf8(signed.clone())
            .unwrap()
            .replace("ingester-0", "ingester-1");
        assert!(secret.verify::<Entry>(tampered.as_bytes()).is_err());
        let unsigned = serde_json::to_vec(&entry()).unwrap();
        assert_eq!(
            secret.verify::<Entry>(&unsigned).unwrap_err(),
            "unsigned".to_string()
        );
        let other = ClusterSecret::parse("another-secret-of-16-bytes").unwrap();
        assert!(other.verify::<Entry>(&signed).is_err());
        assert!(secret.verify::<Entry>(b"[1]").is_err());
        assert!(secret.verify::<Entry>(b"{\"sig\": \"zz\"}").is_err());
    }

    #[test]
    fn any_secret_of_the_list_verifies_and_the_first_signs() {
        let old = ClusterSecret::parse("the-old-secret-16b").unwrap();
        let rotating = ClusterSecret::parse("the-new-secret-16b, the-old-secret-16b").unwrap();
        let new = ClusterSecret::parse("the-new-secret-16b").unwrap();
        assert_eq!(
            rotating
                .verify::<Entry>(&old.sign(&entry()).unwrap())
                .unwrap(),
            entry()
        );
        assert_eq!(
            new.verify::<Entry>(&rotating.sign(&entry()).unwrap())
                .unwrap(),
            entry()
        );
    }

    #[test]
    fn the_signed_form_sorts_keys_whatever_order_they_came_in() {
        let object: Map<String, Value> =
            serde_json::from_str(r#"{"b": 1, "a": {"d": 2, "c": 3}}"#).unwrap();
        assert_eq!(canonical(&object).unwrap(), br#"{"a":{"c":3,"d":2},"b":1}"#);
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(ClusterSecret::parse("short").is_err());
        assert!(ClusterSecret::parse("long-enough-secret-1,").is_err());
    }
}
