//! Sending a rendered notification to an HTTP destination: through the SSRF guard, to the checked
//! address only, without following redirects, with a timeout, retried with backoff on transport
//! errors, 429 and 5xx (honouring `Retry-After` up to a cap). TLS certificates are always verified
//! against the system's roots. Response bodies are never read into
//! results, so a destination cannot be used to read internal pages.

use std::time::Duration;

use reqwest_tls::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};

use crate::error::{Error, Result};
use crate::model::Destination;
use crate::ssrf::{self, Allowlist};

/// Delivery settings.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Hosts and networks that may be reached although not public.
    pub allowlist: Allowlist,
    /// Per attempt.
    pub timeout: Duration,
    /// Attempts in all.
    pub attempts: u32,
    /// First backoff; doubles per attempt.
    pub backoff: Duration,
    /// Longest wait between attempts (also caps `Retry-After`).
    pub max_backoff: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> DeliveryConfig {
        DeliveryConfig {
            allowlist: Allowlist::default(),
            timeout: Duration::from_secs(10),
            attempts: 3,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// The outcome of a successful delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The destination's HTTP status.
    pub status: u16,
    /// Attempts it took.
    pub attempts: u32,
}

fn client_for(target: &ssrf::Target, config: &DeliveryConfig) -> Result<reqwest_tls::Client> {
    let mut builder = reqwest_tls::Client::builder()
        .redirect(reqwest_tls::redirect::Policy::none())
        .timeout(config.timeout)
        .no_proxy()
        .user_agent(concat!("kansoku-alerts/", env!("CARGO_PKG_VERSION")));
    if let Some(host) = &target.host {
        // Connect to the address that was checked, not to whatever a second lookup returns.
        builder = builder.resolve(host, target.address);
    }
    builder
        .build()
        .map_err(|e| Error::DeliveryFailed(format!("could not build the HTTP client: {e}")))
}

fn headers_of(destination: &Destination, body: &str) -> Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    let content_type = if crate::template::looks_like_json(body) {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (name, value) in &destination.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::Invalid(format!("invalid header name '{name}'")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| Error::Invalid(format!("invalid value for header '{name}'")))?;
        headers.insert(name, value);
    }
    Ok(headers)
}

/// Sends `body` to `destination`.
pub async fn send(
    destination: &Destination,
    body: &str,
    config: &DeliveryConfig,
) -> Result<Delivered> {
    let target = ssrf::check(&destination.url, &config.allowlist).await?;
    let client = client_for(&target, config)?;
    let method = match destination.method.to_ascii_lowercase().as_str() {
        "put" => reqwest_tls::Method::PUT,
        "get" => reqwest_tls::Method::GET,
        _ => reqwest_tls::Method::POST,
    };
    let headers = headers_of(destination, body)?;
    let mut wait = config.backoff;
    let mut last_error = String::new();
    for attempt in 1..=config.attempts.max(1) {
        let request = client
            .request(method.clone(), target.url.clone())
            .headers(headers.clone());
        let request = if method == reqwest_tls::Method::GET {
            request
        } else {
            request.body(body.to_string())
        };
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                if status.is_success() {
                    return Ok(Delivered {
                        status: status.as_u16(),
                        attempts: attempt,
                    });
                }
                last_error = if status.is_redirection() {
                    format!("the destination answered {status} (redirects are not followed)")
                } else {
                    format!("the destination answered {status}")
                };
                let retryable = status.as_u16() == 429 || status.is_server_error();
                if !retryable {
                    break;
                }
                if let Some(seconds) = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                {
                    wait = Duration::from_secs(seconds).min(config.max_backoff);
                }
            }
            Err(error) => {
                last_error = if error.is_timeout() {
                    "the destination did not answer in time".to_string()
                } else if error.is_connect() {
                    "could not connect to the destination".to_string()
                } else {
                    "the request to the destination failed".to_string()
                };
            }
        }
        if attempt < config.attempts {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(config.max_backoff);
        }
    }
    Err(Error::DeliveryFailed(format!(
        "{last_error} (after {} attempts)",
        config.attempts.max(1)
    )))
}
