//! Reading request bodies: size limits (before and after decompression), `Content-Encoding`
//! (gzip, deflate, zstd) and the in-flight memory budget.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::Bytes;
use kansoku_core::ErrorCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ApiError;

/// Memory accounting unit of the budget.
const PERMIT_BYTES: usize = 1024;
/// How long a request waits for budget before getting 503.
const BUDGET_WAIT: Duration = Duration::from_secs(5);
/// Budget reserved for a body without `Content-Length` until its size is known.
const UNKNOWN_LENGTH_ESTIMATE: usize = 1 << 20;

/// Limits applied to bodies.
#[derive(Clone)]
pub struct BodyLimits {
    /// Largest body, compressed or not.
    pub max_bytes: usize,
    /// Budget of bytes of bodies held in memory at once.
    pub budget: Arc<Semaphore>,
    /// Longest wait for a whole body (a client trickling its body is answered 408).
    pub read_timeout: Duration,
}

impl BodyLimits {
    /// Limits with a budget of `inflight_bytes`.
    pub fn new(max_bytes: usize, inflight_bytes: usize, read_timeout: Duration) -> BodyLimits {
        BodyLimits {
            read_timeout,
            max_bytes,
            budget: Arc::new(Semaphore::new((inflight_bytes / PERMIT_BYTES).max(1))),
        }
    }
}

/// A body in memory, holding its share of the budget until dropped.
pub struct ReadBody {
    /// The decompressed bytes.
    pub bytes: Bytes,
    _permits: Vec<OwnedSemaphorePermit>,
}

/// Reads, limits and decompresses a request body.
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limits: &BodyLimits,
) -> Result<ReadBody, ApiError> {
    let encoding = content_encoding(headers)?;
    let raw = read_raw_body(headers, body, limits).await?;
    let Some(encoding) = encoding else {
        return Ok(raw);
    };
    let ReadBody {
        bytes,
        _permits: mut permits,
    } = raw;
    let max = limits.max_bytes;
    let decoded = tokio::task::spawn_blocking(move || decompress(encoding, &bytes, max))
        .await
        .map_err(|e| {
            ApiError::new(
                ErrorCode::Internal,
                format!("decompression task failed: {e}"),
            )
        })??;
    permits.push(reserve(limits, decoded.len(), false).await?);
    Ok(ReadBody {
        bytes: Bytes::from(decoded),
        _permits: permits,
    })
}

/// Reads a body as it is, without `Content-Encoding` handling (remote_write's snappy is the
/// protocol's own), within the size limit and the memory budget.
pub async fn read_raw_body(
    headers: &HeaderMap,
    body: Body,
    limits: &BodyLimits,
) -> Result<ReadBody, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limits.max_bytes) {
        return Err(too_large(limits));
    }
    let permits = vec![reserve(limits, declared.unwrap_or(UNKNOWN_LENGTH_ESTIMATE), true).await?];
    let bytes = tokio::time::timeout(
        limits.read_timeout,
        axum::body::to_bytes(body, limits.max_bytes),
    )
    .await
    .map_err(|_| {
        ApiError::new(
            ErrorCode::RequestTimeout,
            format!(
                "the request body did not arrive within {} s (KANSOKU_HTTP_BODY_TIMEOUT)",
                limits.read_timeout.as_secs()
            ),
        )
    })?
    .map_err(|_| too_large(limits))?;
    Ok(ReadBody {
        bytes,
        _permits: permits,
    })
}

fn too_large(limits: &BodyLimits) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!(
            "request body exceeds the limit of {} bytes (KANSOKU_MAX_BODY_BYTES)",
            limits.max_bytes
        ),
    )
}

async fn reserve(
    limits: &BodyLimits,
    bytes: usize,
    wait: bool,
) -> Result<OwnedSemaphorePermit, ApiError> {
    let permits = u32::try_from(bytes.div_ceil(PERMIT_BYTES).max(1)).unwrap_or(u32::MAX);
    let overloaded = || {
        ApiError::new(
            ErrorCode::Unavailable,
            "too many request bodies in memory (KANSOKU_MAX_INFLIGHT_BODY_BYTES); retry shortly",
        )
        .with_retry_after(1)
        .with_refusal(kansoku_core::Refusal::Overloaded)
    };
    let budget = Arc::clone(&limits.budget);
    if !wait {
        return budget
            .try_acquire_many_owned(permits)
            .map_err(|_| overloaded());
    }
    match tokio::time::timeout(BUDGET_WAIT, budget.acquire_many_owned(permits)).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(overloaded()),
    }
}

/// A supported content encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// gzip (also `x-gzip`).
    Gzip,
    /// zlib-wrapped deflate (raw deflate is accepted too).
    Deflate,
    /// Zstandard.
    Zstd,
}

fn content_encoding(headers: &HeaderMap) -> Result<Option<Encoding>, ApiError> {
    let Some(value) = headers.get(header::CONTENT_ENCODING) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::bad_request("invalid Content-Encoding header"))?
        .trim()
        .to_ascii_lowercase();
    match value.as_str() {
        "" | "identity" => Ok(None),
        "gzip" | "x-gzip" => Ok(Some(Encoding::Gzip)),
        "deflate" => Ok(Some(Encoding::Deflate)),
        "zstd" => Ok(Some(Encoding::Zstd)),
        other => Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!("unsupported Content-Encoding '{other}': use gzip, deflate or zstd"),
        )),
    }
}

/// Decompresses `raw`, refusing output larger than `max` bytes.
pub fn decompress(encoding: Encoding, raw: &[u8], max: usize) -> Result<Vec<u8>, ApiError> {
    let limit = (max as u64).saturating_add(1);
    let mut out = Vec::new();
    let result = match encoding {
        Encoding::Gzip => flate2::read::MultiGzDecoder::new(raw)
            .take(limit)
            .read_to_end(&mut out),
        Encoding::Deflate => {
            let zlib = flate2::read::ZlibDecoder::new(raw)
                .take(limit)
                .read_to_end(&mut out);
            if zlib.is_err() {
                out.clear();
                flate2::read::DeflateDecoder::new(raw)
                    .take(limit)
                    .read_to_end(&mut out)
            } else {
                zlib
            }
        }
        Encoding::Zstd => match zstd::stream::read::Decoder::new(raw) {
            Ok(decoder) => decoder.take(limit).read_to_end(&mut out),
            Err(error) => Err(error),
        },
    };
    if let Err(error) = result {
        return Err(ApiError::bad_request(format!(
            "body is not valid {encoding:?} data: {error}"
        )));
    }
    if out.len() > max {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "decompressed request body exceeds the limit of {max} bytes (KANSOKU_MAX_BODY_BYTES)"
            ),
        ));
    }
    Ok(out)
}

/// Longest a refused request's body is read for.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Admission control of an HTTP ingest route (every route with a body calls this rather than
/// `Ingester::check_admission`): passes `body` on when `ingester` admits `org`. Otherwise reads
/// and discards the body (at most `KANSOKU_MAX_BODY_BYTES`, for at most 10 s) before answering
/// the refusal, so a client that is still sending receives the 503 and its `Retry-After`
/// instead of a reset connection.
pub async fn admit(
    ingester: &kansoku_ingest::Ingester,
    org: &kansoku_core::OrgId,
    body: Body,
    limits: &BodyLimits,
) -> Result<Body, ApiError> {
    let Err(refusal) = ingester.check_admission(org).await else {
        return Ok(body);
    };
    let drain = async {
        use futures::StreamExt;
        let mut stream = body.into_data_stream();
        let mut read = 0usize;
        while let Some(Ok(chunk)) = stream.next().await {
            read += chunk.len();
            if read > limits.max_bytes {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, drain).await;
    Err(refusal.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn bombs_are_stopped_at_the_decompressed_limit() {
        let bomb = gzip(&vec![b'{'; 50 << 20]);
        assert!(bomb.len() < 1 << 20);
        let error = decompress(Encoding::Gzip, &bomb, 1 << 20).unwrap_err();
        assert_eq!(error.code, ErrorCode::PayloadTooLarge);
        assert!(error.message.contains("decompressed"));
    }

    #[test]
    fn formats_round_trip_and_lies_are_caught() {
        let data = b"{\"a\":1}".to_vec();
        assert_eq!(decompress(Encoding::Gzip, &gzip(&data), 100).unwrap(), data);
        let zstd = zstd::encode_all(&data[..], 3).unwrap();
        assert_eq!(decompress(Encoding::Zstd, &zstd, 100).unwrap(), data);
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        zlib.write_all(&data).unwrap();
        assert_eq!(
            decompress(Encoding::Deflate, &zlib.finish().unwrap(), 100).unwrap(),
            data
        );
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        raw.write_all(&data).unwrap();
        assert_eq!(
            decompress(Encoding::Deflate, &raw.finish().unwrap(), 100).unwrap(),
            data
        );
        assert_eq!(
            decompress(Encoding::Gzip, &data, 100).unwrap_err().code,
            ErrorCode::BadRequest
        );
        let truncated = gzip(&data);
        assert!(decompress(Encoding::Gzip, &truncated[..truncated.len() - 5], 100).is_err());
    }
}
