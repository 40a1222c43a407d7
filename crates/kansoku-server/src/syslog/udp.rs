//! Syslog over UDP: one message per datagram. UDP cannot push back, so datagrams are read
//! continuously into a bounded queue that a second task stores in batches; a datagram that
//! finds the queue full, or a batch the ingester refuses, is dropped and counted.

use std::sync::Arc;

use kansoku_ingest::decode::syslog::Frame;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::sink::Sink;
use crate::accept::Offered;

const TRANSPORT: &str = "udp";
/// Messages waiting to be stored before new ones are dropped.
const QUEUE: usize = 16_384;
/// Messages stored per batch at most.
const BATCH: usize = 4_096;

/// Receives until the node stops; returns once what was queued has been offered.
pub(super) async fn serve(socket: UdpSocket, sink: Arc<Sink>) {
    let (sender, receiver) = mpsc::channel::<Frame>(QUEUE);
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
        let Some(frame) = sink.frame_of(&datagram[..length]) else {
            continue;
        };
        sink.metrics.received(TRANSPORT, 1);
        if sender.try_send(frame).is_err() {
            sink.metrics.dropped(TRANSPORT, "queue_full", 1);
        }
    }
    drop(sender);
    let _ = storer.await;
}

async fn store_queued(mut receiver: mpsc::Receiver<Frame>, sink: Arc<Sink>) {
    let mut batch = Vec::with_capacity(BATCH);
    while receiver.recv_many(&mut batch, BATCH).await > 0 {
        let count = batch.len();
        let frames: Arc<[Frame]> = std::mem::take(&mut batch).into();
        if let Offered::Refused { why, .. } = sink.offer(frames).await {
            tracing::warn!(messages = count, error = %why, "syslog UDP messages refused; dropped");
            sink.metrics.dropped(TRANSPORT, "refused", count);
        }
    }
}
