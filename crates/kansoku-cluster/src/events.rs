//! Cache-invalidation events: a change made through one node (a stream's settings, a pipeline,
//! an alert, a user, a token, a quota…) is announced on core NATS subject
//! `{prefix}.v1.changed.{kind}` as JSON `{"v":1,"org","name"?,"origin"}` (`name`: the one
//! object changed — a stream, a user's e-mail, a token's name); every other node drops what it
//! cached of it (of the whole organisation without a name) and reads PostgreSQL again.
//!
//! Events are hints, never the truth: PostgreSQL holds every change, and each cache also
//! expires by itself (seconds to a minute), so a lost event delays a change, never loses it.
//! A node that reconnected to NATS may have missed events and drops every cache
//! ([`Registry::reconnects`](crate::registry::Registry::reconnects)).

use std::time::Duration;

use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::registry::{nats, timed_within};
use crate::{Error, Result};

/// The event format's version.
pub const CHANGE_VERSION: u32 = 1;
/// The longest a publication may take.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(2);

/// What changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// A stream's schema.
    Schema,
    /// A stream's settings (or the stream was deleted).
    Settings,
    /// A stream's ingest pipeline.
    Pipelines,
    /// Alerts, destinations or templates.
    Alerts,
    /// Users and their roles.
    Users,
    /// Ingestion tokens.
    Tokens,
    /// Dashboards and folders.
    Dashboards,
    /// An organisation's quotas.
    Quotas,
    /// Organisations.
    Orgs,
}

impl ChangeKind {
    /// Every kind.
    pub const EVERY: [ChangeKind; 9] = [
        ChangeKind::Schema,
        ChangeKind::Settings,
        ChangeKind::Pipelines,
        ChangeKind::Alerts,
        ChangeKind::Users,
        ChangeKind::Tokens,
        ChangeKind::Dashboards,
        ChangeKind::Quotas,
        ChangeKind::Orgs,
    ];

    /// The last token of its subject.
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::Schema => "schema",
            ChangeKind::Settings => "settings",
            ChangeKind::Pipelines => "pipelines",
            ChangeKind::Alerts => "alerts",
            ChangeKind::Users => "users",
            ChangeKind::Tokens => "tokens",
            ChangeKind::Dashboards => "dashboards",
            ChangeKind::Quotas => "quotas",
            ChangeKind::Orgs => "orgs",
        }
    }

    fn from_name(name: &str) -> Option<ChangeKind> {
        ChangeKind::EVERY
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

/// One change, as announced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Format version ([`CHANGE_VERSION`]).
    pub v: u32,
    /// The organisation (empty for an installation-wide change).
    pub org: String,
    /// The one object changed, when the change names one: a stream, a user's e-mail, a
    /// token's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The process that made the change (its own events are not applied twice).
    pub origin: String,
}

/// The subject of `kind`'s events under `prefix`.
pub fn subject(prefix: &str, kind: ChangeKind) -> String {
    format!("{prefix}.v1.changed.{}", kind.name())
}

/// Publishes and receives changes on one NATS connection.
#[derive(Clone)]
pub struct Events {
    client: async_nats::Client,
    prefix: String,
    origin: String,
}

impl Events {
    /// Events under `prefix` (`KANSOKU_NATS_PREFIX`), published as `origin` (this process).
    pub fn new(client: async_nats::Client, prefix: &str, origin: &str) -> Events {
        Events {
            client,
            prefix: prefix.to_string(),
            origin: origin.to_string(),
        }
    }

    /// Announces a change of `kind` in `org` (of the object `name`, when it names one).
    pub async fn publish(&self, kind: ChangeKind, org: &str, name: Option<&str>) -> Result<()> {
        let change = Change {
            v: CHANGE_VERSION,
            org: org.to_string(),
            name: name.map(str::to_string),
            origin: self.origin.clone(),
        };
        let payload = serde_json::to_vec(&change)
            .map_err(|e| Error::Registry(format!("cannot encode a change event: {e}")))?;
        let subject = subject(&self.prefix, kind);
        let sent = async {
            self.client
                .publish(subject.clone(), payload.into())
                .await
                .map_err(|e| e.to_string())?;
            self.client.flush().await.map_err(|e| e.to_string())
        };
        timed_within(PUBLISH_TIMEOUT, sent)
            .await
            .map_err(|error| nats("publish on", &subject, error))
    }

    /// Every change other processes announce from now on. Malformed events and events of
    /// another format version are logged and skipped.
    pub async fn subscribe(&self) -> Result<impl Stream<Item = (ChangeKind, Change)> + use<>> {
        let pattern = format!("{}.v1.changed.*", self.prefix);
        let subscriber = self
            .client
            .subscribe(pattern.clone())
            .await
            .map_err(|e| Error::Registry(format!("cannot subscribe to {pattern}: {e}")))?;
        let origin = self.origin.clone();
        Ok(subscriber.filter_map(move |message| {
            let decoded = decode(&message.subject, &message.payload)
                .filter(|(_, change)| change.origin != origin);
            std::future::ready(decoded)
        }))
    }
}

/// The kind and change of one message, or `None` (logged) when it is not one.
fn decode(subject: &str, payload: &[u8]) -> Option<(ChangeKind, Change)> {
    let Some(kind) = subject.rsplit('.').next().and_then(ChangeKind::from_name) else {
        tracing::warn!(subject, "ignoring an event of an unknown kind");
        return None;
    };
    match serde_json::from_slice::<Change>(payload) {
        Ok(change) if change.v == CHANGE_VERSION => Some((kind, change)),
        Ok(change) => {
            tracing::warn!(
                subject,
                version = change.v,
                "ignoring an event of another format version"
            );
            None
        }
        Err(error) => {
            tracing::warn!(subject, %error, "ignoring a malformed event");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_decode_by_subject_and_version() {
        let change = Change {
            v: 1,
            org: "default".to_string(),
            name: Some("app".to_string()),
            origin: "a".to_string(),
        };
        let payload = serde_json::to_vec(&change).unwrap();
        assert_eq!(
            decode("kansoku.v1.changed.settings", &payload),
            Some((ChangeKind::Settings, change.clone()))
        );
        assert_eq!(
            subject("kansoku", ChangeKind::Settings),
            "kansoku.v1.changed.settings"
        );
        assert_eq!(decode("kansoku.v1.changed.weather", &payload), None);
        assert_eq!(decode("kansoku.v1.changed.users", b"not json"), None);
        let future = serde_json::to_vec(&Change { v: 2, ..change }).unwrap();
        assert_eq!(decode("kansoku.v1.changed.users", &future), None);
        // Installation-wide changes name nothing, and say so by leaving it out.
        let wide = serde_json::to_string(&Change {
            v: 1,
            org: String::new(),
            name: None,
            origin: "a".to_string(),
        })
        .unwrap();
        assert_eq!(wide, r#"{"v":1,"org":"","origin":"a"}"#);
    }
}
