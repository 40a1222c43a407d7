//! What the non-HTTP TCP listeners (syslog, Fluentd forward) share: an accept loop under a
//! connection cap with a task per connection, a graceful stop that waits for every connection,
//! and the rule for a batch a connection read: retried while the refusal may pass (memory full,
//! quota, a failing disk), reading nothing further meanwhile, so the sender is slowed down by
//! TCP's flow control instead of losing data.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kansoku_core::CodedError;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};

/// Shared by a group of listeners: the stop signal and the liveness channel
/// [`Stopper::stop`] waits on.
#[derive(Clone)]
pub(crate) struct Tracker {
    /// Becomes `true` when the node stops.
    pub(crate) stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
}

/// Stops a group of listeners.
pub struct Stopper {
    stop: watch::Sender<bool>,
    done: mpsc::Receiver<()>,
}

impl Stopper {
    /// Signals the stop and returns when every accept loop and connection has ended.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.done.recv().await.is_some() {}
    }
}

/// A tracker and its stopper.
pub(crate) fn tracker() -> (Tracker, Stopper) {
    let (stop, stop_receiver) = watch::channel(false);
    let (alive, done) = mpsc::channel(1);
    let tracker = Tracker {
        stop: stop_receiver,
        alive,
    };
    (tracker, Stopper { stop, done })
}

impl Tracker {
    /// Runs `task` as part of the group (the stopper waits for it).
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let alive = self.alive.clone();
        tokio::spawn(async move {
            task.await;
            drop(alive);
        });
    }

    /// Accepts connections while fewer than `max_connections` of this listener are open (the
    /// others wait in the kernel's backlog); each is served by `serve` on its own task.
    pub(crate) fn accept<F, Fut>(
        &self,
        listener: TcpListener,
        what: &'static str,
        max_connections: usize,
        serve: F,
    ) where
        F: Fn(TcpStream, SocketAddr) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let tracker = self.clone();
        let connections = Arc::new(Semaphore::new(max_connections.max(1)));
        self.spawn(async move {
            let mut stop = tracker.stop.clone();
            loop {
                let permit = tokio::select! {
                    _ = stop.wait_for(|stop| *stop) => return,
                    permit = Arc::clone(&connections).acquire_owned() => permit,
                };
                let Ok(permit) = permit else { return };
                let accepted = tokio::select! {
                    _ = stop.wait_for(|stop| *stop) => return,
                    accepted = listener.accept() => accepted,
                };
                let (connection, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, what, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = connection.set_nodelay(true);
                let served = serve(connection, peer);
                tracker.spawn(async move {
                    served.await;
                    drop(permit);
                });
            }
        });
    }
}

/// Longest wait for a peer to take our answers.
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Writes all of `bytes`, or fails after [`WRITE_TIMEOUT`]: a peer that reads nothing must not
/// hold its connection, or the node's shutdown, forever.
pub(crate) async fn write_within(connection: &mut TcpStream, bytes: &[u8]) -> Result<(), String> {
    match tokio::time::timeout(WRITE_TIMEOUT, connection.write_all(bytes)).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err("the peer took no answers for 30 s".to_string()),
    }
}

/// What became of a batch offered once.
pub(crate) enum Offered<T> {
    /// Stored.
    Stored(T),
    /// Refused as a whole; retried when `retry_after` is set.
    Refused {
        retry_after: Option<Duration>,
        why: String,
    },
}

impl<T> Offered<T> {
    /// From an ingest result.
    pub(crate) fn from_result<E: CodedError + std::fmt::Display>(result: Result<T, E>) -> Self {
        match result {
            Ok(value) => Offered::Stored(value),
            Err(error) => Offered::Refused {
                retry_after: error.retry_after_secs().map(Duration::from_secs),
                why: error.to_string(),
            },
        }
    }
}

/// How a batch ended when it was not stored.
#[derive(Debug)]
pub(crate) enum Unstored {
    /// Refused for good (a bug, an invalid name); `why` says so.
    Refused(String),
    /// The node stopped before it could be stored.
    Stopping,
}

/// Offers a batch until it is stored: a refusal that may pass is retried after its delay
/// (`on_retry` counts it), one that cannot is returned, and a stop ends the wait.
pub(crate) async fn until_stored<T, Fut>(
    mut offer: impl FnMut() -> Fut,
    stop: &watch::Receiver<bool>,
    on_retry: impl Fn(&str),
) -> Result<T, Unstored>
where
    Fut: Future<Output = Offered<T>>,
{
    let mut stop = stop.clone();
    loop {
        let (retry_after, why) = match offer().await {
            Offered::Stored(value) => return Ok(value),
            Offered::Refused { retry_after, why } => (retry_after, why),
        };
        let Some(retry_after) = retry_after else {
            return Err(Unstored::Refused(why));
        };
        on_retry(&why);
        let stopped = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => true,
            () = tokio::time::sleep(retry_after) => false,
        };
        if stopped {
            return Err(Unstored::Stopping);
        }
    }
}
