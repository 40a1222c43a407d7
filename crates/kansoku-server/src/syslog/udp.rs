//! Syslog over UDP: one message per datagram. UDP cannot push back, so datagrams are read
//! continuously into a queue bounded in messages and in bytes, that a second task stores in
//! batches; a datagram that finds the queue full, or a batch the ingester refuses, is dropped
//! and counted.

use std::sync::Arc;

use kansoku_ingest::decode::syslog::{Frame, framing};
use tokio::net::UdpSocket;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::sink::Sink;
use crate::accept::Offered;

const TRANSPORT: &str = "udp";
/// Messages waiting to be stored before new ones are dropped.
const QUEUE: usize = 16_384;
/// Bytes waiting to be stored before new messages are dropped.
const QUEUE_BYTES: usize = 32 * 1024 * 1024;
/// Messages stored per batch at most.
const BATCH: usize = 4_096;

/// A queued message and its share of the byte budget (released once offered).
type Queued = (Frame, OwnedSemaphorePermit);

/// Receives until the node stops; returns once what was queued has been offered.
pub(super) async fn serve(socket: UdpSocket, sink: Arc<Sink>) {
    let (sender, receiver) = mpsc::channel::<Queued>(QUEUE);
    let bytes = Arc::new(Semaphore::new(QUEUE_BYTES));
    let storer = tokio::spawn(store_queued(receiver, Arc::clone(&sink)));
    let mut stop = sink.stop.clone();
    let mut datagram = vec![0u8; 65_536];
    loop {
        let received = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            received = socket.recv_from(&mut datagram) => received,
        };
        let length = match received {
            Ok((length, _peer)) => length,
            Err(error) => {
                tracing::debug!(%error, "syslog UDP receive failed");
                continue;
            }
        };
        let Some(frame) = framing::whole_message(&datagram[..length], sink.max_frame_bytes) else {
            continue;
        };
        sink.metrics.received(TRANSPORT, 1);
        let permits = u32::try_from(length.max(1)).unwrap_or(u32::MAX);
        let Ok(permit) = Arc::clone(&bytes).try_acquire_many_owned(permits) else {
            sink.metrics.dropped(TRANSPORT, "queue_full", 1);
            continue;
        };
        if sender.try_send((frame, permit)).is_err() {
            sink.metrics.dropped(TRANSPORT, "queue_full", 1);
        }
    }
    drop(sender);
    let _ = storer.await;
}

async fn store_queued(mut receiver: mpsc::Receiver<Queued>, sink: Arc<Sink>) {
    let mut batch: Vec<Queued> = Vec::with_capacity(BATCH);
    while receiver.recv_many(&mut batch, BATCH).await > 0 {
        let count = batch.len();
        let (frames, permits): (Vec<Frame>, Vec<OwnedSemaphorePermit>) = batch.drain(..).unzip();
        if let Offered::Refused { why, .. } = sink.offer(frames.into()).await {
            tracing::warn!(messages = count, error = %why, "syslog UDP messages refused; dropped");
            sink.metrics.dropped(TRANSPORT, "refused", count);
        }
        drop(permits);
    }
}
