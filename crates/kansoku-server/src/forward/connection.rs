//! One forward connection: the handshake when a shared key is set, then whole messages read,
//! stored in batches (retried while the refusal may pass, reading nothing meanwhile) and their
//! chunks acknowledged once stored.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kansoku_ingest::Ingester;
use kansoku_ingest::decode::forward::{self, msgpack::Scanner};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::{ForwardMetrics, Settings, handshake};
use crate::accept::{Offered, Unstored, WRITE_TIMEOUT, until_stored, write_within};

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
    let mut reader = MessageReader {
        buffer: BytesMut::with_capacity(READ_CHUNK),
        scanner: Scanner::default(),
    };
    if let Some(key) = &shared.settings.shared_key {
        let mut stop = shared.stop.clone();
        let handshake = tokio::time::timeout(
            HANDSHAKE_TIMEOUT,
            authenticate(&mut connection, &mut reader, key, &shared),
        );
        let outcome = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            outcome = handshake => outcome,
        };
        let failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(why)) => Some(why),
            Err(_) => Some("timed out".to_string()),
        };
        if let Some(why) = failure {
            shared.metrics.handshake_failures.inc();
            tracing::info!(%peer, %why, "forward handshake refused");
            return;
        }
    }
    if let Err(why) = receive(&mut connection, &mut reader, &shared).await {
        tracing::debug!(%peer, %why, "forward connection ended");
    }
    let _ = tokio::time::timeout(WRITE_TIMEOUT, connection.shutdown()).await;
}

/// The connection's unread bytes and the scan of the message they begin.
struct MessageReader {
    buffer: BytesMut,
    scanner: Scanner,
}

impl MessageReader {
    /// Cuts one complete message off the buffer, if there is one (the scan resumes where the
    /// previous call stopped).
    fn take(&mut self, max_bytes: usize) -> Result<Option<Bytes>, String> {
        if self.buffer.is_empty() {
            return Ok(None);
        }
        match self.scanner.advance(&self.buffer)? {
            Some(length) => {
                self.scanner = Scanner::default();
                Ok(Some(self.buffer.split_to(length).freeze()))
            }
            None if self.buffer.len() > max_bytes => Err(format!(
                "a forward message is larger than {max_bytes} bytes (KANSOKU_MAX_BODY_BYTES)"
            )),
            None => Ok(None),
        }
    }
}

/// The next whole message, reading more as needed; `None` at the end of the stream.
async fn next_message(
    connection: &mut TcpStream,
    reader: &mut MessageReader,
    max_bytes: usize,
) -> Result<Option<Bytes>, String> {
    loop {
        if let Some(message) = reader.take(max_bytes)? {
            return Ok(Some(message));
        }
        reader.buffer.reserve(READ_CHUNK);
        let read = connection
            .read_buf(&mut reader.buffer)
            .await
            .map_err(|e| e.to_string())?;
        if read == 0 {
            return Ok(None);
        }
    }
}

async fn authenticate(
    connection: &mut TcpStream,
    reader: &mut MessageReader,
    key: &str,
    shared: &Shared,
) -> Result<(), String> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| format!("no randomness for the nonce: {e}"))?;
    write_within(connection, &handshake::helo(&nonce)).await?;
    let message = next_message(connection, reader, 64 * 1024)
        .await?
        .ok_or("the connection closed before PING")?;
    let ping = forward::parse_ping(&message)?;
    let hostname = &shared.settings.hostname;
    let expected = handshake::digest(&ping.salt, &ping.hostname, &nonce, key);
    if !handshake::same(&ping.digest, &expected) {
        let refusal = handshake::pong(false, "shared key mismatch", "", "");
        let _ = write_within(connection, &refusal).await;
        return Err(format!("shared key mismatch from '{}'", ping.hostname));
    }
    let ours = handshake::digest(&ping.salt, hostname, &nonce, key);
    write_within(connection, &handshake::pong(true, "", hostname, &ours)).await
}

/// Reads messages; after each read, what is complete is stored as one batch and acknowledged.
/// Bytes that are not a message end the connection, after what came before them is stored.
async fn receive(
    connection: &mut TcpStream,
    reader: &mut MessageReader,
    shared: &Shared,
) -> Result<(), String> {
    let mut stop = shared.stop.clone();
    loop {
        let mut messages = Vec::new();
        let broken = loop {
            match reader.take(shared.max_bytes) {
                Ok(Some(message)) => messages.push(message),
                Ok(None) => break None,
                Err(why) => break Some(why),
            }
        };
        if !messages.is_empty() {
            let acks = store(shared, messages).await?;
            let answer: Vec<u8> = acks
                .iter()
                .flat_map(|chunk| handshake::ack(chunk))
                .collect();
            if !answer.is_empty() {
                write_within(connection, &answer).await?;
            }
        }
        if let Some(why) = broken {
            shared.dropped("invalid", 1);
            return Err(why);
        }
        reader.buffer.reserve(READ_CHUNK);
        let read = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return Ok(()),
            read = connection.read_buf(&mut reader.buffer) => read.map_err(|e| e.to_string())?,
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
