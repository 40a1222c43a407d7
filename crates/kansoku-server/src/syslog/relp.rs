//! A RELP session (rsyslog's `omrelp`): `open` is answered with our offers, each `syslog`
//! frame with `200 OK` once it is durable (frames that arrived together are stored as one
//! batch, then answered in order), `close` with an empty answer. A frame that is not answered
//! is re-sent by the sender after it reconnects: at-least-once across a restart or a crash. A
//! batch the ingester refuses for good is not answered either: the session is closed. A frame
//! over the size limit is skipped, counted (`invalid_syslog`) and answered, since re-sending it
//! could never help.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use kansoku_ingest::decode::syslog::relp::{self, Relp};
use kansoku_ingest::decode::syslog::{Frame, framing};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::sink::Sink;
use crate::accept::{Unstored, WRITE_TIMEOUT, write_within};

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
        skip: 0,
        opened: false,
        sink,
        peer,
    };
    match session.run(&mut connection).await {
        Ok(End::Stopping) => {
            let _ = write_within(&mut connection, SERVER_CLOSE).await;
        }
        Ok(End::Closed) => {}
        Err(why) => tracing::debug!(%peer, %why, "RELP session ended"),
    }
    let _ = tokio::time::timeout(WRITE_TIMEOUT, connection.shutdown()).await;
}

enum End {
    /// The sender closed the session (or the connection).
    Closed,
    /// The node is stopping.
    Stopping,
}

/// A syslog frame waiting to be answered: stored (a message) or skipped (too large).
struct Pending {
    txnr: u64,
    frame: Option<Frame>,
}

struct Session {
    buffer: BytesMut,
    /// Bytes of an oversized frame still to discard.
    skip: usize,
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
            let mut batch: Vec<Pending> = Vec::new();
            let mut closed = false;
            loop {
                self.discard_skipped();
                if self.skip > 0 {
                    break;
                }
                let item = match relp::next_frame(&mut self.buffer, self.sink.max_frame_bytes) {
                    Ok(Some(item)) => item,
                    Ok(None) => break,
                    Err(why) => {
                        // Answer what came before the broken frame, then close.
                        let stored = self.store(&mut batch, &mut answers).await;
                        write_within(connection, &answers).await?;
                        if let Err(not_stored) = stored {
                            return end_of(not_stored);
                        }
                        return Err(why);
                    }
                };
                let frame = match item {
                    Relp::TooLarge { txnr, length, skip } => {
                        self.skip = skip;
                        let why = framing::too_large(length, self.sink.max_frame_bytes);
                        batch.push(Pending {
                            txnr,
                            frame: Some(Frame::Refused(why)),
                        });
                        continue;
                    }
                    Relp::Frame(frame) => frame,
                };
                if frame.command == "syslog" {
                    if !self.opened {
                        return Err("a syslog frame before open".to_string());
                    }
                    batch.push(Pending {
                        txnr: frame.txnr,
                        frame: framing::whole_message(&frame.data, self.sink.max_frame_bytes),
                    });
                    continue;
                }
                if let Err(not_stored) = self.store(&mut batch, &mut answers).await {
                    write_within(connection, &answers).await?;
                    return end_of(not_stored);
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
            write_within(connection, &answers).await?;
            if let Err(not_stored) = stored {
                return end_of(not_stored);
            }
            if closed || read == 0 {
                return Ok(End::Closed);
            }
        }
    }

    /// Drops what is left of an oversized frame.
    fn discard_skipped(&mut self) {
        let available = self.skip.min(self.buffer.len());
        self.buffer.advance(available);
        self.skip -= available;
    }

    /// Stores the pending syslog frames and appends their answers. When they could not be
    /// stored, nothing is answered for them (the sender re-sends them) and the session ends.
    async fn store(&self, batch: &mut Vec<Pending>, answers: &mut Vec<u8>) -> Result<(), Unstored> {
        if batch.is_empty() {
            return Ok(());
        }
        let frames: Vec<Frame> = batch.iter_mut().filter_map(|p| p.frame.take()).collect();
        if !frames.is_empty()
            && let Err(not_stored) = self.sink.store(TRANSPORT, frames).await
        {
            batch.clear();
            return Err(not_stored);
        }
        for pending in batch.drain(..) {
            answers.extend(relp::response(pending.txnr, "200 OK"));
        }
        Ok(())
    }
}

/// How a session ends after a batch was not stored.
fn end_of(not_stored: Unstored) -> Result<End, String> {
    match not_stored {
        Unstored::Stopping => Ok(End::Stopping),
        Unstored::Refused(_) => {
            Err("a batch was refused for good; closed without answering it".to_string())
        }
    }
}
