//! An HTTP proxy in front of a real S3 server that injects faults per call: 503s, slow answers,
//! `NotFound` for object reads, or calls that hang. The `Host` header and the request line pass
//! unchanged, so the client's SigV4 signatures still verify upstream. It runs on its own thread
//! and runtime, and stops when dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// What the proxy does to the calls it sees.
#[derive(Clone, Debug, PartialEq)]
pub enum Faults {
    /// Every call passes.
    None,
    /// Every `n`-th call is answered 503 at once; every `n`-th + 1 waits `delay` first.
    Flaky { n: u64, delay: Duration },
    /// The next `GET` of a `.parquet` object is answered 404 (once); the others pass.
    MissingOnce,
    /// Every `GET` of a `.parquet` object is answered 404.
    MissingAlways,
    /// Every call waits `delay` before it is forwarded (longer than the client's timeout: a hang).
    Slow { delay: Duration },
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    faults: Mutex<Faults>,
    calls: AtomicU64,
    injected: AtomicU64,
}

pub struct FaultProxy {
    pub port: u16,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

enum Injection {
    Answer(StatusCode),
    Wait(Duration),
    Pass,
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port, forwarding to `upstream` (`http://host:port`).
    pub fn start(upstream: &str) -> FaultProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            faults: Mutex::new(Faults::None),
            calls: AtomicU64::new(0),
            injected: AtomicU64::new(0),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = Arc::clone(&shared);
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(forward).with_state(state);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
            runtime.shutdown_timeout(Duration::from_secs(1));
        });
        FaultProxy {
            port,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, faults: Faults) {
        *self.shared.faults.lock().unwrap() = faults;
    }

    /// The faults in force (a one-shot fault turns into [`Faults::None`] once it fired).
    pub fn current(&self) -> Faults {
        self.shared.faults.lock().unwrap().clone()
    }

    /// How many calls were answered or delayed by a fault so far.
    pub fn injected(&self) -> u64 {
        self.shared.injected.load(Ordering::Relaxed)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Shared {
    fn decide(&self, method: &axum::http::Method, path: &str) -> Injection {
        let call = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        let reads_data = method == axum::http::Method::GET && path.ends_with(".parquet");
        let mut faults = self.faults.lock().unwrap();
        let injection = match &*faults {
            Faults::None => Injection::Pass,
            Faults::Flaky { n, delay } => match call % n {
                0 => Injection::Answer(StatusCode::SERVICE_UNAVAILABLE),
                1 => Injection::Wait(*delay),
                _ => Injection::Pass,
            },
            Faults::MissingOnce if reads_data => {
                *faults = Faults::None;
                Injection::Answer(StatusCode::NOT_FOUND)
            }
            Faults::MissingAlways if reads_data => Injection::Answer(StatusCode::NOT_FOUND),
            Faults::MissingOnce | Faults::MissingAlways => Injection::Pass,
            Faults::Slow { delay } => Injection::Wait(*delay),
        };
        if !matches!(injection, Injection::Pass) {
            self.injected.fetch_add(1, Ordering::Relaxed);
        }
        injection
    }
}

/// Headers that describe one hop's framing, not the message: never copied across. (The length
/// is kept: a `HEAD` answer's length is the object's size.)
fn hop_by_hop(name: &HeaderName) -> bool {
    name == header::CONNECTION || name == header::TRANSFER_ENCODING || name == header::UPGRADE
}

fn s3_error(status: StatusCode) -> Response {
    let code = if status == StatusCode::NOT_FOUND {
        "NoSuchKey"
    } else {
        "SlowDown"
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected by the test</Message></Error>"
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    match shared.decide(&parts.method, parts.uri.path()) {
        Injection::Answer(status) => return s3_error(status),
        Injection::Wait(delay) => tokio::time::sleep(delay).await,
        Injection::Pass => {}
    }
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let mut upstream = shared
        .client
        .request(parts.method, format!("{}{path_and_query}", shared.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if !hop_by_hop(name) && name != header::CONTENT_LENGTH {
            upstream = upstream.header(name, value);
        }
    }
    let Ok(answer) = upstream.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let Ok(bytes) = answer.bytes().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if !hop_by_hop(name) {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}
