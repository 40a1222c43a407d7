//! Changes made through this node, announced to the others, and theirs applied here
//! (`kansoku-cluster` `events`), when `KANSOKU_NATS_URL` is set.
//!
//! Every administrative change that answered 2xx (the guard, `http/guard.rs`, which also
//! audits it) is announced with the kind its route names and the object its path names (a
//! stream, a user's e-mail, a token's name). Receiving one makes the next request read
//! PostgreSQL again for what changed: the ingester's stream settings, schemas, pipelines and
//! quota settings (marked stale, so they stay in force should the database not answer), the
//! authenticator's cached credentials of that user or token, the real-time alerts, the known
//! organisations. After a reconnect to NATS everything is re-read (events may have been
//! missed). Without NATS, or while it is down, caches expire by themselves.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::StreamExt;
use kansoku_cluster::events::{Change, ChangeKind, Events};
use kansoku_cluster::registry::Registry;
use kansoku_core::OrgId;
use tokio::sync::watch;

use crate::app::App;
use crate::auth::Principal;

/// The longest wait between two attempts to subscribe.
const MAX_SUBSCRIBE_BACKOFF: Duration = Duration::from_secs(30);

/// This node's side of the events: empty until NATS is first reached.
#[derive(Default)]
pub struct Changes {
    events: OnceLock<Events>,
}

impl Changes {
    /// Announces a change of `kind` in `org` to the other nodes, in the background: a change
    /// is never refused or delayed because NATS is down (the others' caches expire).
    pub fn announce(&self, kind: ChangeKind, org: &str, name: Option<&str>) {
        let Some(events) = self.events.get() else {
            return;
        };
        let (events, org, name) = (events.clone(), org.to_string(), name.map(str::to_string));
        tokio::spawn(async move {
            if let Err(error) = events.publish(kind, &org, name.as_deref()).await {
                tracing::warn!(%error, kind = kind.name(), "cannot announce a change; other nodes see it when their caches expire");
            }
        });
    }
}

/// The kind of change an administrative route makes (by its matched path), if other nodes
/// cache anything it changes.
pub fn kind_of_route(route: &str) -> Option<ChangeKind> {
    // Runs a pipeline on sample records; changes nothing.
    if route.ends_with("/pipeline/test") {
        return None;
    }
    let kinds = [
        ("/pipeline", ChangeKind::Pipelines),
        ("/streams", ChangeKind::Settings),
        ("/alerts", ChangeKind::Alerts),
        ("/ingestion-tokens", ChangeKind::Tokens),
        ("/users", ChangeKind::Users),
        ("/quotas", ChangeKind::Quotas),
        ("/dashboards", ChangeKind::Dashboards),
        ("/organizations", ChangeKind::Orgs),
    ];
    kinds
        .into_iter()
        .find(|(part, _)| route.contains(part))
        .map(|(_, kind)| kind)
}

/// Joins the events on `registry`'s connection as `origin` (this process): announcements
/// start, and the others' changes are applied to `app` until `stop`.
pub fn attach(app: &App, registry: &Arc<Registry>, origin: &str, stop: watch::Receiver<bool>) {
    let events = Events::new(registry.client(), registry.prefix(), origin);
    let _ = app.changes.events.set(events.clone());
    let (app, reconnects) = (app.clone(), registry.reconnects());
    tokio::spawn(receive(app, events, reconnects, stop));
}

/// Applies every change announced by another node, re-subscribing with back-off when the
/// subscription ends, and drops every cache after each reconnect.
async fn receive(
    app: App,
    events: Events,
    mut reconnects: watch::Receiver<u64>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_secs(1);
    loop {
        match events.subscribe().await {
            Ok(changes) => {
                backoff = Duration::from_secs(1);
                tokio::pin!(changes);
                loop {
                    tokio::select! {
                        _ = stop.wait_for(|stop| *stop) => return,
                        reconnected = reconnects.changed() => {
                            if reconnected.is_err() {
                                return;
                            }
                            forget_everything(&app);
                        }
                        change = changes.next() => match change {
                            Some((kind, change)) => apply(&app, kind, &change),
                            None => break,
                        },
                    }
                }
                tracing::warn!("the change events subscription ended; subscribing again");
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?backoff, "cannot subscribe to change events yet");
            }
        }
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_SUBSCRIBE_BACKOFF);
    }
}

/// Drops what `change` makes stale here.
fn apply(app: &App, kind: ChangeKind, change: &Change) {
    let org = match change.org.as_str() {
        "" => None,
        org => match OrgId::parse(org) {
            Ok(org) => Some(org),
            Err(_) => {
                tracing::warn!(
                    org,
                    "ignoring a change event naming an invalid organisation"
                );
                return;
            }
        },
    };
    tracing::debug!(kind = kind.name(), org = %change.org, "applying a change made on another node");
    let name = change.name.as_deref();
    match kind {
        ChangeKind::Schema | ChangeKind::Settings | ChangeKind::Pipelines => {
            if let Some(ingester) = app.local_ingester() {
                ingester.forget_cached(org.as_ref(), name);
            }
        }
        ChangeKind::Quotas => {
            if let Some(ingester) = app.local_ingester() {
                ingester.forget_cached(org.as_ref(), None);
            }
        }
        // A user or token is cached once verified; one created is not cached yet.
        ChangeKind::Users => {
            if let Some(email) = name {
                app.auth.evict(
                    |principal| matches!(principal, Principal::User { email: e, .. } if e == email),
                );
            }
        }
        ChangeKind::Tokens => {
            if let Some(token) = name {
                let org = change.org.as_str();
                app.auth.evict(|principal| {
                    matches!(principal, Principal::IngestToken { org: o, name: n } if o == org && n == token)
                });
            }
        }
        ChangeKind::Alerts => {
            if let Some(ready) = app.ready() {
                ready.alerts.forget_real_time();
            }
        }
        ChangeKind::Orgs => app.forget_known_orgs(),
        // Read from the database at every request: nothing cached.
        ChangeKind::Dashboards => {}
    }
}

/// Re-reads everything cached (events may have been missed while NATS was unreachable).
fn forget_everything(app: &App) {
    if let Some(ingester) = app.local_ingester() {
        ingester.forget_cached(None, None);
    }
    app.auth.evict(|_| true);
    if let Some(ready) = app.ready() {
        ready.alerts.forget_real_time();
    }
    app.forget_known_orgs();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_name_the_kind_of_change_they_make() {
        let cases = [
            (
                "/api/{org}/streams/{stream}/settings",
                Some(ChangeKind::Settings),
            ),
            ("/api/{org}/streams/{stream}", Some(ChangeKind::Settings)),
            (
                "/api/{org}/streams/{stream}/pipeline",
                Some(ChangeKind::Pipelines),
            ),
            ("/api/{org}/streams/{stream}/pipeline/test", None),
            ("/api/v2/{org}/alerts/{id}", Some(ChangeKind::Alerts)),
            (
                "/api/{org}/alerts/destinations/{name}",
                Some(ChangeKind::Alerts),
            ),
            ("/api/{org}/users/{email}", Some(ChangeKind::Users)),
            (
                "/api/{org}/ingestion-tokens/{name}",
                Some(ChangeKind::Tokens),
            ),
            ("/api/{org}/quotas", Some(ChangeKind::Quotas)),
            ("/api/{org}/dashboards/{id}", Some(ChangeKind::Dashboards)),
            ("/api/organizations", Some(ChangeKind::Orgs)),
            ("/api/{org}/savedviews", None),
            ("/node/flush", None),
        ];
        for (route, kind) in cases {
            assert_eq!(kind_of_route(route), kind, "{route}");
        }
    }
}
