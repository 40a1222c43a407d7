//! A TCP or TLS connection: RFC 6587 frames, stored batch by batch. The next bytes are read
//! only once the previous batch is durable, so a refused batch slows the sender down through
//! TCP's own flow control instead of being dropped.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use kansoku_ingest::decode::syslog::Framer;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::sink::Sink;

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 256 * 1024;

/// Serves one connection until the sender closes it or the node stops.
pub(super) async fn serve<S: AsyncRead + Unpin>(
    mut connection: S,
    peer: SocketAddr,
    transport: &'static str,
    sink: Arc<Sink>,
) {
    let mut buffer = BytesMut::with_capacity(READ_CHUNK);
    let mut framer = Framer::new(sink.max_frame_bytes);
    let mut stop = sink.stop.clone();
    loop {
        buffer.reserve(READ_CHUNK);
        let read = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            read = connection.read_buf(&mut buffer) => read,
        };
        let ended = match read {
            Ok(0) => true,
            Ok(_) => false,
            Err(error) => {
                tracing::debug!(%peer, transport, %error, "syslog connection failed");
                true
            }
        };
        let mut frames: Vec<_> = std::iter::from_fn(|| framer.next_frame(&mut buffer)).collect();
        if ended {
            frames.extend(framer.finish(&mut buffer));
        }
        // Plain TCP answers nothing: a batch refused for good is counted and the connection
        // goes on; a stop ends it.
        if !frames.is_empty()
            && matches!(
                sink.store(transport, frames).await,
                Err(crate::accept::Unstored::Stopping)
            )
        {
            return;
        }
        if ended {
            return;
        }
    }
}
