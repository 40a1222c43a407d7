//! A RELP session (rsyslog's `omrelp`): `open` is answered with our offers, each `syslog`
//! frame with `200 OK` once it is durable (frames that arrived together are stored as one
//! batch, then answered in order), `close` with an empty answer. A frame that is not answered
//! is re-sent by the sender after it reconnects: at-least-once across a restart or a crash.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use kansoku_ingest::decode::syslog::relp::{self, RelpFrame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::sink::Sink;

const TRANSPORT: &str = "relp";
const READ_CHUNK: usize = 256 * 1024;
/// What an `open` is answered with.
const OFFERS: &str = "200 OK\nrelp_version=0\nrelp_software=kansoku\ncommands=syslog";
/// Told to the sender before the node closes the session.
const SERVER_CLOSE: &[u8] = b"0 serverclose 0\n";

/// Serves one RELP connection until it closes, breaks the protocol, or the node stops.
pub(super) async fn serve(mut connection: TcpStream, peer: SocketAddr, sink: Arc<Sink>) {
    let mut session = Session {
        buffer: BytesMut::with_capacity(READ_CHUNK),
        opened: false,
        sink,
        peer,
    };
    match session.run(&mut connection).await {
        Ok(End::Stopping) => {
            let _ = connection.write_all(SERVER_CLOSE).await;
        }
        Ok(End::Closed) => {}
        Err(why) => tracing::debug!(%peer, %why, "RELP session ended"),
    }
    let _ = connection.shutdown().await;
}

enum End {
    /// The sender closed the session (or the connection).
    Closed,
    /// The node is stopping.
    Stopping,
}

struct Session {
    buffer: BytesMut,
    opened: bool,
    sink: Arc<Sink>,
    peer: SocketAddr,
}

impl Session {
    async fn run(&mut self, connection: &mut TcpStream) -> Result<End, String> {
        let mut stop = self.sink.stop.clone();
        loop {
            self.buffer.reserve(READ_CHUNK);
            let read = tokio::select! {
                _ = stop.wait_for(|stop| *stop) => return Ok(End::Stopping),
                read = connection.read_buf(&mut self.buffer) => read,
            };
            let read = read.map_err(|e| e.to_string())?;
            let mut answers = Vec::new();
            let mut batch: Vec<RelpFrame> = Vec::new();
            let mut closed = false;
            while let Some(frame) = relp::next_frame(&mut self.buffer, self.sink.max_frame_bytes)? {
                if frame.command == "syslog" {
                    if !self.opened {
                        return Err("a syslog frame before open".to_string());
                    }
                    batch.push(frame);
                    continue;
                }
                if !self.store(&mut batch, &mut answers).await {
                    connection
                        .write_all(&answers)
                        .await
                        .map_err(|e| e.to_string())?;
                    return Ok(End::Stopping);
                }
                match frame.command.as_str() {
                    "open" => {
                        self.opened = true;
                        answers.extend(relp::response(frame.txnr, OFFERS));
                    }
                    "close" => {
                        answers.extend(relp::response(frame.txnr, ""));
                        closed = true;
                        break;
                    }
                    other => {
                        tracing::debug!(peer = %self.peer, command = other, "unsupported RELP command");
                        answers.extend(relp::response(frame.txnr, "500 command not supported"));
                    }
                }
            }
            let stored = self.store(&mut batch, &mut answers).await;
            connection
                .write_all(&answers)
                .await
                .map_err(|e| e.to_string())?;
            if !stored {
                return Ok(End::Stopping);
            }
            if closed || read == 0 {
                return Ok(End::Closed);
            }
        }
    }

    /// Stores the pending syslog frames and appends their answers; `false` when the node
    /// stopped first (they stay unanswered, so the sender re-sends them).
    async fn store(&self, batch: &mut Vec<RelpFrame>, answers: &mut Vec<u8>) -> bool {
        if batch.is_empty() {
            return true;
        }
        let frames = batch
            .iter()
            .filter_map(|frame| self.sink.frame_of(&frame.data))
            .collect::<Vec<_>>();
        if !frames.is_empty() && self.sink.store(TRANSPORT, frames).await.is_err() {
            return false;
        }
        for frame in batch.drain(..) {
            answers.extend(relp::response(frame.txnr, "200 OK"));
        }
        true
    }
}
