//! The router role: a node that runs `router` but not the role a request needs passes the
//! request, unchanged, to a registered node that runs it, and its answer back.
//!
//! - Writes go to ingesters in the rendezvous order of the organisation and stream
//!   (`kansoku-cluster` `routing`; routes that name streams in the body — `_bulk`, OTLP, Loki,
//!   HEC — use the organisation, or HEC's token). The next ingester is tried only when the
//!   first did not take the request: connection refused, or a refusal marked `overloaded` or
//!   `draining` (both store nothing). A connection that broke after the request was sent is
//!   answered `503` + `Retry-After`: the ingester may have stored it, and a blind retry
//!   elsewhere could store it twice. A `quota` refusal goes back as it is.
//! - Queries go to the querier with the fewest requests in flight from this router, the next
//!   one on connection refused.
//!
//! The router's guard lets a request through first (its credentials and organisation, from the
//! shared database and its cache), and the receiving node checks them again: a router is a
//! convenience, never a security boundary. HEC checks its token at the ingester only. Bodies
//! are read within the node's body limits before they are sent on; a write gets
//! [`WRITE_TIMEOUT`]. OTLP over gRPC is not routed: send it to the ingesters' gRPC port.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{RawPathParams, Request, State};
use axum::http::{HeaderMap, HeaderName, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kansoku_cluster::Role;
use kansoku_cluster::registry::NodeAnnouncement;
use kansoku_cluster::routing::rendezvous_order;
use kansoku_core::{ErrorCode, OrgId, REFUSAL_HEADER, Refusal, StreamName};

use super::body::read_raw_body;
use super::error::ApiError;
use super::guard::path_param;
use crate::app::App;

/// How long a router waits to connect to a node before trying the next.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a write passed to an ingester may take, answer included.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// What a request needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// A write: an ingester.
    Ingest,
    /// A search or query: a querier.
    Query,
}

impl Class {
    fn role(self) -> Role {
        match self {
            Class::Ingest => Role::Ingester,
            Class::Query => Role::Querier,
        }
    }
}

/// A router's client to the other nodes, and its requests in flight per node.
pub struct Proxy {
    client: reqwest_tls::Client,
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
}

impl Proxy {
    /// A proxy with its own connection pool.
    pub fn new() -> Result<Proxy, String> {
        let client = reqwest_tls::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest_tls::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| format!("cannot build the router's HTTP client: {e}"))?;
        Ok(Proxy {
            client,
            in_flight: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    fn in_flight(&self, node: &str) -> usize {
        self.in_flight
            .lock()
            .map_or(0, |counts| counts.get(node).copied().unwrap_or(0))
    }

    fn start(&self, node: &str) -> InFlight {
        if let Ok(mut counts) = self.in_flight.lock() {
            *counts.entry(node.to_string()).or_default() += 1;
        }
        InFlight {
            counts: Arc::clone(&self.in_flight),
            node: node.to_string(),
        }
    }
}

/// One request in flight to a node, counted until dropped.
struct InFlight {
    counts: Arc<Mutex<HashMap<String, usize>>>,
    node: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.counts.lock()
            && let Some(count) = counts.get_mut(&self.node)
        {
            *count = count.saturating_sub(1);
        }
    }
}

/// The middleware on every route of `class`: passes the request on when this node is a
/// router without the role it needs; otherwise lets the node answer it.
pub async fn route(
    State((app, class)): State<(App, Class)>,
    params: Result<RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
    request: Request,
    next: Next,
) -> Response {
    let Some(proxy) = app.proxy.as_ref() else {
        return next.run(request).await;
    };
    if app.roles.runs(class.role()) {
        return next.run(request).await;
    }
    let param = |wanted: &str| path_param(&params, wanted);
    // Named as the node will store them, so `My-App` and `my_app` meet one ingester.
    let org = param("org").map(|org| OrgId::parse(&org).map_or(org, |org| org.to_string()));
    let stream = param("stream").map(|stream| {
        StreamName::normalise(&stream).map_or(stream, |stream| stream.as_str().to_string())
    });
    let key = match (org, stream) {
        (Some(org), Some(stream)) => format!("{org}/{stream}"),
        (Some(org), None) => org,
        // HEC names the organisation by its token.
        _ => request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string(),
    };
    match forward(&app, proxy, class, &key, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// Sends `request` to the first node of the order that takes it.
async fn forward(
    app: &App,
    proxy: &Proxy,
    class: Class,
    key: &str,
    request: Request,
) -> Result<Response, ApiError> {
    let role = class.role();
    let members = app
        .ready()
        .and_then(|ready| ready.registered.as_ref())
        .map(|members| members.borrow().clone())
        .ok_or_else(|| unavailable(format!("starting up ({}); retry shortly", app.starting())))?;
    let mut candidates: Vec<NodeAnnouncement> = rendezvous_order(&members, role, key)
        .into_iter()
        .filter(|member| member.node != app.node_id)
        .cloned()
        .collect();
    if class == Class::Query {
        // Stable: the rendezvous order breaks ties.
        candidates.sort_by_key(|member| proxy.in_flight(&member.node));
    }
    if candidates.is_empty() {
        return Err(unavailable(format!(
            "no node with the {role} role is registered (yet); retry shortly"
        )));
    }
    let (parts, body) = request.into_parts();
    let body = read_raw_body(&parts.headers, body, &app.body_limits).await?;
    let path = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |path| path.as_str());
    let headers = passed_on(&parts.headers);
    let mut unreachable = Vec::new();
    let mut refused = None;
    for member in &candidates {
        let in_flight = proxy.start(&member.node);
        let mut outgoing = proxy
            .client
            .request(
                parts.method.clone(),
                format!("http://{}{path}", member.http),
            )
            .headers(headers.clone())
            .body(body.bytes.clone());
        if class == Class::Ingest {
            // A write that hangs must not hold the router's body budget for ever. Queries
            // have their own timeout on the querier, and live tails last.
            outgoing = outgoing.timeout(WRITE_TIMEOUT);
        }
        let sent = outgoing.send().await;
        let response = match sent {
            Ok(response) => response,
            Err(error) if error.is_connect() => {
                tracing::info!(node = %member.node, %error, "cannot reach a node; trying the next");
                unreachable.push(member.node.clone());
                continue;
            }
            Err(error) => {
                tracing::warn!(node = %member.node, %error, "a node broke the connection after the request was sent");
                return Err(unavailable(format!(
                    "node {} broke the connection after the request was sent (it may have taken it); retry",
                    member.node
                )));
            }
        };
        if class == Class::Ingest && takes_nothing(response.headers()) {
            tracing::debug!(node = %member.node, "an ingester refused the write; trying the next");
            refused = Some((response, in_flight));
            continue;
        }
        return Ok(relay(response, in_flight));
    }
    // Every ingester refused or was unreachable: the last refusal says why, as it is
    // (`Retry-After`, `x-kansoku-refusal`).
    if let Some((response, in_flight)) = refused {
        return Ok(relay(response, in_flight));
    }
    Err(unavailable(format!(
        "no node with the {role} role could be reached (tried {})",
        unreachable.join(", ")
    )))
}

/// Whether the answer says nothing was stored and another ingester may take it.
fn takes_nothing(headers: &HeaderMap) -> bool {
    let refusal = headers
        .get(REFUSAL_HEADER)
        .and_then(|value| value.to_str().ok());
    refusal == Some(Refusal::Overloaded.as_str()) || refusal == Some(Refusal::Draining.as_str())
}

/// The node's answer, streamed back as it comes (live tail, exports).
fn relay(response: reqwest_tls::Response, in_flight: InFlight) -> Response {
    let status = response.status();
    let headers = passed_on(response.headers());
    let body = futures::StreamExt::map(response.bytes_stream(), move |chunk| {
        let _counted = &in_flight;
        chunk
    });
    let mut relayed = Response::new(Body::from_stream(body));
    *relayed.status_mut() = status;
    *relayed.headers_mut() = headers;
    relayed
}

/// `headers` without the hop-by-hop ones (RFC 9110 §7.6.1) and those the client recomputes.
fn passed_on(headers: &HeaderMap) -> HeaderMap {
    const HOP_BY_HOP: [&str; 8] = [
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ];
    let mut passed = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if HOP_BY_HOP.contains(&name.as_str()) || *name == header::HOST {
            continue;
        }
        passed.append(HeaderName::clone(name), value.clone());
    }
    passed
}

fn unavailable(message: String) -> ApiError {
    ApiError::new(ErrorCode::Unavailable, message).with_retry_after(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn hop_by_hop_headers_stay_behind() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic x"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
        headers.insert(header::HOST, HeaderValue::from_static("router:5080"));
        headers.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        let passed = passed_on(&headers);
        assert_eq!(passed.len(), 2);
        assert!(passed.contains_key(header::AUTHORIZATION));
        assert!(passed.contains_key(header::CONTENT_ENCODING));
    }

    #[test]
    fn only_overloaded_and_draining_refusals_move_a_write_on() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(REFUSAL_HEADER, HeaderValue::from_static(value));
            headers
        };
        assert!(takes_nothing(&with("overloaded")));
        assert!(takes_nothing(&with("draining")));
        assert!(!takes_nothing(&with("quota")));
        assert!(!takes_nothing(&HeaderMap::new()));
    }
}
