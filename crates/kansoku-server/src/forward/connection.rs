//! One forward connection: the handshake when a shared key is set, then whole messages read,
//! stored in batches (retried while the refusal may pass, reading nothing meanwhile) and their
//! chunks acknowledged once stored.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kansoku_ingest::Ingester;
use kansoku_ingest::decode::forward::{self, Extent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::{ForwardMetrics, Settings, handshake};
use crate::accept::{Offered, Unstored, until_stored};

const READ_CHUNK: usize = 256 * 1024;
/// Longest wait for the client's `PING`.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What every connection shares.
pub(super) struct Shared {
    pub(super) ingester: Arc<Ingester>,
    pub(super) settings: Settings,
    pub(super) metrics: ForwardMetrics,
    pub(super) stop: watch::Receiver<bool>,
    pub(super) max_bytes: usize,
}

/// Serves one connection until the sender closes it, breaks the protocol, or the node stops.
pub(super) async fn serve(mut connection: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let mut buffer = BytesMut::with_capacity(READ_CHUNK);
    if let Some(key) = &shared.settings.shared_key {
        match tokio::time::timeout(
            HANDSHAKE_TIMEOUT,
            authenticate(&mut connection, &mut buffer, key, &shared),
        )
        .await
        {
            Ok(Ok(())) => {}
            Ok(Err(why)) => {
                shared.metrics.handshake_failures.inc();
                tracing::info!(%peer, %why, "forward handshake refused");
                return;
            }
            Err(_) => {
                shared.metrics.handshake_failures.inc();
                tracing::info!(%peer, "forward handshake timed out");
                return;
            }
        }
    }
    if let Err(why) = receive(&mut connection, &mut buffer, &shared).await {
        tracing::debug!(%peer, %why, "forward connection ended");
    }
    let _ = connection.shutdown().await;
}

/// The next whole message in `buffer`, reading more as needed; `None` at the end of the stream.
async fn next_message(
    connection: &mut TcpStream,
    buffer: &mut BytesMut,
    max_bytes: usize,
) -> Result<Option<Bytes>, String> {
    loop {
        if let Some(message) = take_message(buffer, max_bytes)? {
            return Ok(Some(message));
        }
        buffer.reserve(READ_CHUNK);
        let read = connection
            .read_buf(buffer)
            .await
            .map_err(|e| e.to_string())?;
        if read == 0 {
            return Ok(None);
        }
    }
}

/// Cuts one complete message off `buffer`, if there is one.
fn take_message(buffer: &mut BytesMut, max_bytes: usize) -> Result<Option<Bytes>, String> {
    if buffer.is_empty() {
        return Ok(None);
    }
    match forward::message_extent(buffer)? {
        Extent::Complete(length) => Ok(Some(buffer.split_to(length).freeze())),
        Extent::Incomplete if buffer.len() > max_bytes => Err(format!(
            "a forward message is larger than {max_bytes} bytes (KANSOKU_MAX_BODY_BYTES)"
        )),
        Extent::Incomplete => Ok(None),
    }
}

async fn authenticate(
    connection: &mut TcpStream,
    buffer: &mut BytesMut,
    key: &str,
    shared: &Shared,
) -> Result<(), String> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| format!("no randomness for the nonce: {e}"))?;
    connection
        .write_all(&handshake::helo(&nonce))
        .await
        .map_err(|e| e.to_string())?;
    let message = next_message(connection, buffer, 64 * 1024)
        .await?
        .ok_or("the connection closed before PING")?;
    let ping = forward::parse_ping(&message)?;
    let hostname = &shared.settings.hostname;
    let expected = handshake::digest(&ping.salt, &ping.hostname, &nonce, key);
    if !handshake::same(&ping.digest, &expected) {
        let refusal = handshake::pong(false, "shared key mismatch", "", "");
        let _ = connection.write_all(&refusal).await;
        return Err(format!("shared key mismatch from '{}'", ping.hostname));
    }
    let ours = handshake::digest(&ping.salt, hostname, &nonce, key);
    connection
        .write_all(&handshake::pong(true, "", hostname, &ours))
        .await
        .map_err(|e| e.to_string())
}

/// Reads messages; after each read, what is complete is stored as one batch and acknowledged.
async fn receive(
    connection: &mut TcpStream,
    buffer: &mut BytesMut,
    shared: &Shared,
) -> Result<(), String> {
    let mut stop = shared.stop.clone();
    loop {
        let mut messages = Vec::new();
        while let Some(message) = take_message(buffer, shared.max_bytes)? {
            messages.push(message);
        }
        if !messages.is_empty() {
            let acks = store(shared, messages).await?;
            let answer: Vec<u8> = acks
                .iter()
                .flat_map(|chunk| handshake::ack(chunk))
                .collect();
            if !answer.is_empty() {
                connection
                    .write_all(&answer)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        buffer.reserve(READ_CHUNK);
        let read = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return Ok(()),
            read = connection.read_buf(buffer) => read.map_err(|e| e.to_string())?,
        };
        if read == 0 {
            return Ok(());
        }
    }
}

/// Stores a batch of messages; the chunk ids to acknowledge, or why the connection must end
/// without acknowledging them.
async fn store(shared: &Shared, messages: Vec<Bytes>) -> Result<Vec<String>, String> {
    let count = messages.len();
    shared.metrics.messages.inc_by(count as u64);
    let messages: Arc<[Bytes]> = messages.into();
    let offer = || {
        let ingester = Arc::clone(&shared.ingester);
        let messages = Arc::clone(&messages);
        let settings = &shared.settings;
        async move {
            let result = ingester
                .ingest_forward(
                    settings.org.clone(),
                    messages,
                    settings.stream.clone(),
                    shared.max_bytes,
                )
                .await;
            Offered::from_result(result.map(|(_, _, acks)| acks))
        }
    };
    let retried = |why: &str| {
        shared.metrics.backpressure.inc();
        tracing::debug!(error = %why, "forward batch refused; retrying without reading further");
    };
    match until_stored(offer, &shared.stop, retried).await {
        Ok(acks) => Ok(acks),
        Err(Unstored::Refused(why)) => {
            shared.dropped("refused", count);
            Err(format!("forward messages refused: {why}"))
        }
        Err(Unstored::Stopping) => {
            shared.dropped("stopping", count);
            Err("the node is stopping".to_string())
        }
    }
}

impl Shared {
    fn dropped(&self, reason: &str, count: usize) {
        self.metrics
            .dropped
            .get_or_create(&vec![("reason".to_string(), reason.to_string())])
            .inc_by(count as u64);
    }
}
