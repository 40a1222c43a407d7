//! Fresh data between nodes: a querier reads what every ingester holds in memory over Arrow
//! Flight, so each record is seen exactly once however many nodes there are.
//!
//! ```text
//! querier: ClusterFresh::snapshot(stream, start, end)
//!   → its own memory, if it ingests
//!   → the PostgreSQL set of ingesters that may hold unflushed records (every `active` lease
//!     row but its own) → one DoGet per ingester, all at once, each awaited up to
//!     KANSOKU_FRESH_TIMEOUT (5 s)
//!   → merged snapshot: every node's batches, pending paths and frozen segment; the nodes that
//!     could not be read are `unread_nodes` (the answer says it is partial)
//! ingester: FreshService::do_get(ticket)
//!   → the ticket's HMAC (the cluster secret) and age checked → its memory's snapshot
//!   → first FlightData: no batch, `app_metadata` = SnapshotHeader JSON
//!   → then each batch as its own schema message and batch message (batches of one stream may
//!     differ in schema; the querier conforms them to the stream's)
//! ```
//!
//! A node's batches are used only when its whole answer arrived and its header names the
//! instance its lease row names: a node that failed part-way, or a process that took over its
//! id, counts as unread, and its committed files are then read from storage as usual (its
//! snapshot covers nothing). Wire formats are versioned (`v`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow::array::RecordBatch;
use arrow_flight::decode::{DecodedPayload, FlightDataDecoder};
use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::flight_service_server::{FlightService, FlightServiceServer};
use arrow_flight::{FlightData, Ticket};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use kansoku_core::{OrgId, StreamKey, StreamName, StreamType};
use kansoku_meta::MetaStore;
use kansoku_storage::{FreshData, FreshSnapshot};
use serde::{Deserialize, Serialize};
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status, Streaming};

use crate::signed::ClusterSecret;

/// The fresh-data format's version (tickets and headers).
pub const FRESH_VERSION: u32 = 1;
/// How old a ticket may be when it arrives.
const TICKET_MAX_AGE_US: i64 = 30_000_000;
/// How far in the future a ticket may be dated (the nodes' clocks differ a little).
const TICKET_MAX_SKEW_US: i64 = 5_000_000;
/// The kind every ticket names, so that no other signed value (a registry entry) passes.
const TICKET_KIND: &str = "fresh-ticket";
/// The largest Flight message a querier accepts (a batch of a busy stream).
const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;
/// The largest message an ingester accepts: a ticket (checked before its signature).
const MAX_TICKET_BYTES: usize = 64 * 1024;
/// Snapshots an ingester sends at once; further calls are refused (the querier reports the
/// node as unread) rather than holding more copies of its memory.
const MAX_CONCURRENT_SNAPSHOTS: usize = 8;
/// How long a node that failed is not asked again (its failure is reported at once): one slow
/// node costs a query the timeout once, not once per stream.
const FAILURE_MEMORY: Duration = Duration::from_secs(5);

/// What a querier asks an ingester for: one stream's records over `[start, end)` µs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreshTicket {
    /// Format version ([`FRESH_VERSION`]).
    pub v: u32,
    /// Always `fresh-ticket`.
    pub kind: String,
    /// The node asked (a ticket is good for that node only).
    pub node: String,
    /// Organisation.
    pub org: String,
    /// Stream type (`logs`, `metrics`, `traces`).
    pub stream_type: String,
    /// Stream name.
    pub stream: String,
    /// Start, µs.
    pub start: i64,
    /// End, µs.
    pub end: i64,
    /// When the ticket was made, µs on the querier's clock.
    pub at: i64,
}

/// The first message of an answer: whose snapshot the batches are, and what it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotHeader {
    /// Format version ([`FRESH_VERSION`]).
    pub v: u32,
    /// The node.
    pub node: String,
    /// The process (its lease's instance).
    pub instance: String,
    /// Manifest paths whose records are among the batches.
    pub pending_paths: Vec<String>,
    /// The last WAL segment the node had frozen at the snapshot.
    pub frozen_through: Option<u64>,
    /// How many batches follow.
    pub batches: usize,
}

/// This node's memory once its WAL is replayed (until then calls are answered `UNAVAILABLE`
/// at once, so queriers report the node without waiting).
pub type LocalFresh = Arc<std::sync::OnceLock<Arc<dyn FreshData>>>;

/// An ingester's side: answers DoGet with its memory's snapshot.
pub struct FreshService {
    local: LocalFresh,
    node: String,
    instance: String,
    secret: ClusterSecret,
    snapshots: Arc<tokio::sync::Semaphore>,
}

impl FreshService {
    /// Serves `local` (this node's memory, once set) as node `node`, process `instance`.
    pub fn new(
        local: LocalFresh,
        node: &str,
        instance: &str,
        secret: ClusterSecret,
    ) -> FreshService {
        FreshService {
            local,
            node: node.to_string(),
            instance: instance.to_string(),
            secret,
            snapshots: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_SNAPSHOTS)),
        }
    }

    /// The tonic service: tickets are small, answers may be large.
    pub fn into_server(self) -> FlightServiceServer<FreshService> {
        FlightServiceServer::new(self)
            .max_decoding_message_size(MAX_TICKET_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    /// The ticket's stream and range, when it is signed with the cluster secret and recent.
    fn accept(&self, ticket: &Ticket) -> Result<(StreamKey, i64, i64), Status> {
        let ticket: FreshTicket = self
            .secret
            .verify(&ticket.ticket)
            .map_err(|why| Status::unauthenticated(format!("ticket refused: {why}")))?;
        if ticket.kind != TICKET_KIND || ticket.node != self.node {
            return Err(Status::permission_denied(format!(
                "this ticket is not a fresh-data ticket for node {}",
                self.node
            )));
        }
        if ticket.v != FRESH_VERSION {
            return Err(Status::invalid_argument(format!(
                "ticket version {} (this node reads {FRESH_VERSION})",
                ticket.v
            )));
        }
        let age = kansoku_meta::now_micros().saturating_sub(ticket.at);
        if !(-TICKET_MAX_SKEW_US..=TICKET_MAX_AGE_US).contains(&age) {
            return Err(Status::unauthenticated(
                "ticket too old, or dated in the future (do the nodes' clocks agree?)",
            ));
        }
        let key = stream_key(&ticket).map_err(Status::invalid_argument)?;
        Ok((key, ticket.start, ticket.end))
    }
}

fn stream_key(ticket: &FreshTicket) -> Result<StreamKey, String> {
    let org = OrgId::parse(&ticket.org).map_err(|e| e.to_string())?;
    let stream_type = StreamType::parse(&ticket.stream_type).map_err(|e| e.to_string())?;
    let name = StreamName::normalise(&ticket.stream).map_err(|e| e.to_string())?;
    Ok(StreamKey::new(org, stream_type, name))
}

/// One batch as Flight messages: its schema, then the batch (dictionaries between).
fn encode(batch: &RecordBatch) -> Result<Vec<FlightData>, Status> {
    arrow_flight::utils::batches_to_flight_data(batch.schema().as_ref(), vec![batch.clone()])
        .map_err(|e| Status::internal(format!("cannot encode a batch: {e}")))
}

type FlightStream<T> = BoxStream<'static, Result<T, Status>>;

#[async_trait::async_trait]
impl FlightService for FreshService {
    type HandshakeStream = FlightStream<arrow_flight::HandshakeResponse>;
    type ListFlightsStream = FlightStream<arrow_flight::FlightInfo>;
    type DoGetStream = FlightStream<FlightData>;
    type DoPutStream = FlightStream<arrow_flight::PutResult>;
    type DoExchangeStream = FlightStream<FlightData>;
    type DoActionStream = FlightStream<arrow_flight::Result>;
    type ListActionsStream = FlightStream<arrow_flight::ActionType>;

    async fn do_get(
        &self,
        request: Request<Ticket>,
    ) -> Result<Response<Self::DoGetStream>, Status> {
        let (key, start, end) = self.accept(request.get_ref())?;
        let Some(local) = self.local.get() else {
            return Err(Status::unavailable("replaying its write-ahead log"));
        };
        let Ok(_permit) = self.snapshots.try_acquire() else {
            return Err(Status::resource_exhausted(
                "too many fresh-data calls at once on this ingester",
            ));
        };
        let snapshot = local.snapshot(&key, start, end).await;
        let header = SnapshotHeader {
            v: FRESH_VERSION,
            node: self.node.clone(),
            instance: self.instance.clone(),
            pending_paths: snapshot.pending_paths.iter().cloned().collect(),
            frozen_through: snapshot.frozen_through.get(&self.node).copied(),
            batches: snapshot.batches.len(),
        };
        let header = serde_json::to_vec(&header)
            .map_err(|e| Status::internal(format!("cannot encode the header: {e}")))?;
        let mut messages = vec![FlightData {
            app_metadata: header.into(),
            ..FlightData::default()
        }];
        for batch in &snapshot.batches {
            messages.extend(encode(batch)?);
        }
        Ok(Response::new(
            futures::stream::iter(messages.into_iter().map(Ok)).boxed(),
        ))
    }

    async fn handshake(
        &self,
        _request: Request<Streaming<arrow_flight::HandshakeRequest>>,
    ) -> Result<Response<Self::HandshakeStream>, Status> {
        Err(unimplemented())
    }

    async fn list_flights(
        &self,
        _request: Request<arrow_flight::Criteria>,
    ) -> Result<Response<Self::ListFlightsStream>, Status> {
        Err(unimplemented())
    }

    async fn get_flight_info(
        &self,
        _request: Request<arrow_flight::FlightDescriptor>,
    ) -> Result<Response<arrow_flight::FlightInfo>, Status> {
        Err(unimplemented())
    }

    async fn poll_flight_info(
        &self,
        _request: Request<arrow_flight::FlightDescriptor>,
    ) -> Result<Response<arrow_flight::PollInfo>, Status> {
        Err(unimplemented())
    }

    async fn get_schema(
        &self,
        _request: Request<arrow_flight::FlightDescriptor>,
    ) -> Result<Response<arrow_flight::SchemaResult>, Status> {
        Err(unimplemented())
    }

    async fn do_put(
        &self,
        _request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoPutStream>, Status> {
        Err(unimplemented())
    }

    async fn do_exchange(
        &self,
        _request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoExchangeStream>, Status> {
        Err(unimplemented())
    }

    async fn do_action(
        &self,
        _request: Request<arrow_flight::Action>,
    ) -> Result<Response<Self::DoActionStream>, Status> {
        Err(unimplemented())
    }

    async fn list_actions(
        &self,
        _request: Request<arrow_flight::Empty>,
    ) -> Result<Response<Self::ListActionsStream>, Status> {
        Err(unimplemented())
    }
}

/// Serves `service` on `listener` until `stop` resolves.
pub async fn serve(
    service: FreshService,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    tonic::transport::Server::builder()
        .add_service(service.into_server())
        .serve_with_incoming_shutdown(accepted(listener), stop)
        .await
}

/// The accepted connections of `listener` (no delay), as tonic serves them.
pub fn accepted(
    listener: tokio::net::TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| {
            let _ = stream.set_nodelay(true);
            stream
        });
        Some((accepted, listener))
    })
}

fn unimplemented() -> Status {
    Status::unimplemented("this service answers DoGet with a node's fresh data only")
}

/// A querier's side: the snapshot of every node that may hold unflushed records.
pub struct ClusterFresh {
    /// This node's own memory, when it ingests.
    local: Option<Arc<dyn FreshData>>,
    node: String,
    meta: MetaStore,
    /// `None` without a cluster secret: other nodes cannot be asked, only named.
    secret: Option<ClusterSecret>,
    timeout: Duration,
    channels: Mutex<HashMap<String, Channel>>,
    /// Nodes that failed lately: node → (its instance, when).
    failures: Mutex<HashMap<String, (String, std::time::Instant)>>,
}

impl ClusterFresh {
    /// The fresh data of the cluster whose leases are in `meta`, for node `node` (whose own
    /// memory is `local`, if it ingests); other nodes are asked with `secret`, each answer
    /// awaited up to `timeout`.
    pub fn new(
        local: Option<Arc<dyn FreshData>>,
        node: &str,
        meta: MetaStore,
        secret: Option<ClusterSecret>,
        timeout: Duration,
    ) -> ClusterFresh {
        ClusterFresh {
            local,
            node: node.to_string(),
            meta,
            secret,
            timeout,
            channels: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// A connection to `address` (made lazily, kept for later calls).
    fn channel(&self, address: &str) -> Result<Channel, String> {
        if let Ok(channels) = self.channels.lock()
            && let Some(channel) = channels.get(address)
        {
            return Ok(channel.clone());
        }
        let endpoint = Endpoint::from_shared(format!("http://{address}"))
            .map_err(|e| format!("bad cluster address {address:?}: {e}"))?
            .connect_timeout(self.timeout)
            .tcp_nodelay(true)
            .tcp_keepalive(Some(Duration::from_secs(10)))
            .http2_keep_alive_interval(Duration::from_secs(10))
            .keep_alive_timeout(Duration::from_secs(5));
        let channel = endpoint.connect_lazy();
        if let Ok(mut channels) = self.channels.lock() {
            channels.insert(address.to_string(), channel.clone());
        }
        Ok(channel)
    }

    /// One ingester's snapshot, whole, within the timeout (one deadline for the call, the
    /// header and every batch), or why not. A node that failed recently is not asked again.
    async fn fetch(
        &self,
        row: &kansoku_meta::IngesterRow,
        key: &StreamKey,
        range: (i64, i64),
    ) -> Result<FreshSnapshot, String> {
        if self.failed_recently(row) {
            return Err("it failed moments ago".to_string());
        }
        let asked = tokio::time::timeout(self.timeout, self.ask(row, key, range)).await;
        let result =
            asked.unwrap_or_else(|_| Err(format!("no whole answer within {:?}", self.timeout)));
        if result.is_err() {
            self.remember_failure(row);
        }
        result
    }

    fn failed_recently(&self, row: &kansoku_meta::IngesterRow) -> bool {
        self.failures.lock().is_ok_and(|failures| {
            failures.get(&row.node).is_some_and(|(instance, at)| {
                *instance == row.instance && at.elapsed() < FAILURE_MEMORY
            })
        })
    }

    fn remember_failure(&self, row: &kansoku_meta::IngesterRow) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.retain(|_, (_, at)| at.elapsed() < FAILURE_MEMORY);
            failures.insert(
                row.node.clone(),
                (row.instance.clone(), std::time::Instant::now()),
            );
        }
    }

    async fn ask(
        &self,
        row: &kansoku_meta::IngesterRow,
        key: &StreamKey,
        (start, end): (i64, i64),
    ) -> Result<FreshSnapshot, String> {
        let Some(secret) = &self.secret else {
            return Err("no KANSOKU_CLUSTER_SECRET to ask other nodes with".to_string());
        };
        if row.cluster.is_empty() {
            return Err("it announced no cluster address".to_string());
        }
        let ticket = FreshTicket {
            v: FRESH_VERSION,
            kind: TICKET_KIND.to_string(),
            node: row.node.clone(),
            org: key.org.as_str().to_string(),
            stream_type: key.stream_type.as_str().to_string(),
            stream: key.name.as_str().to_string(),
            start,
            end,
            at: kansoku_meta::now_micros(),
        };
        let ticket = secret.sign(&ticket)?;
        let mut client = FlightServiceClient::new(self.channel(&row.cluster)?)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let mut rest = client
            .do_get(Ticket {
                ticket: ticket.into(),
            })
            .await
            .map_err(|status| status.message().to_string())?
            .into_inner();
        let first = rest
            .message()
            .await
            .map_err(|status| status.message().to_string())?
            .ok_or("it sent nothing")?;
        let header: SnapshotHeader = serde_json::from_slice(&first.app_metadata)
            .map_err(|e| format!("an unreadable header: {e}"))?;
        if header.v != FRESH_VERSION {
            return Err(format!("header version {}", header.v));
        }
        if header.node != row.node || header.instance != row.instance {
            return Err(format!(
                "it answered as {} (instance {}), not as its lease row says",
                header.node, header.instance
            ));
        }
        let batches = decode(rest).await?;
        if batches.len() != header.batches {
            return Err(format!(
                "it announced {} batches and sent {}",
                header.batches,
                batches.len()
            ));
        }
        Ok(FreshSnapshot {
            batches,
            pending_paths: header.pending_paths.into_iter().collect(),
            frozen_through: header
                .frozen_through
                .map(|through| BTreeMap::from([(row.node.clone(), through)]))
                .unwrap_or_default(),
            unread_nodes: BTreeSet::new(),
        })
    }
}

impl ClusterFresh {
    /// Whether `node` drained after the set was read (a rolling restart): its last flush
    /// committed everything before the row said so, and the listing that follows sees it.
    async fn drained_since(&self, node: &str) -> bool {
        matches!(
            self.meta.ingester(node).await,
            Ok(Some(row)) if row.state == kansoku_meta::IngesterState::Drained
        )
    }
}

/// Every batch of the rest of an answer.
async fn decode(rest: Streaming<FlightData>) -> Result<Vec<RecordBatch>, String> {
    let flight = rest.map_err(|status| arrow_flight::error::FlightError::Tonic(Box::new(status)));
    let mut decoder = FlightDataDecoder::new(flight);
    let mut batches = Vec::new();
    while let Some(decoded) = decoder.next().await {
        let decoded = decoded.map_err(|e| format!("a broken answer: {e}"))?;
        if let DecodedPayload::RecordBatch(batch) = decoded.payload {
            batches.push(batch);
        }
    }
    Ok(batches)
}

#[async_trait::async_trait]
impl FreshData for ClusterFresh {
    async fn snapshot(&self, stream: &StreamKey, start: i64, end: i64) -> FreshSnapshot {
        let mut snapshot = match &self.local {
            Some(local) => local.snapshot(stream, start, end).await,
            None => FreshSnapshot::default(),
        };
        let rows = match self.meta.unflushed_ingesters().await {
            Ok(rows) => rows,
            Err(error) => {
                tracing::warn!(%error, "cannot read which ingesters hold unflushed records");
                snapshot
                    .unread_nodes
                    .insert("(unknown: the metadata database did not answer)".to_string());
                return snapshot;
            }
        };
        let others: Vec<_> = rows
            .into_iter()
            .filter(|row| !(self.local.is_some() && row.node == self.node))
            .collect();
        let fetched = futures::future::join_all(
            others
                .iter()
                .map(|row| self.fetch(row, stream, (start, end))),
        )
        .await;
        for (row, result) in others.iter().zip(fetched) {
            match result {
                Ok(remote) => snapshot.merge(remote),
                Err(why) if self.drained_since(&row.node).await => {
                    tracing::debug!(node = %row.node, %why, "an ingester drained while it was asked: everything it held is committed");
                }
                Err(why) => {
                    tracing::info!(node = %row.node, %why, "cannot read an ingester's fresh data; the answer is partial");
                    snapshot.unread_nodes.insert(row.node.clone());
                }
            }
        }
        snapshot
    }
}
