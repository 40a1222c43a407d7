//! Splunk's HTTP Event Collector, at the paths agents use (`/services/collector/...` on the HTTP
//! port), for senders that speak nothing else:
//!
//! - `POST /services/collector/event` (also `/services/collector` and `/event/1.0`): JSON events;
//! - `POST /services/collector/raw` (also `/raw/1.0`): one event per line;
//! - `GET /services/collector/health` (also `/health/1.0`): whether events are accepted;
//! - `POST /services/collector/ack`: indexer acknowledgement (every `ackId` is already durable).
//!
//! A request carries a kansoku ingestion token, as `Authorization: Splunk <token>` or as the
//! password of Basic credentials; the token names the organization. `index` names the stream.
//! Answers are HEC's: `{"text": "...", "code": N}` with HEC's codes, 200 only once every event
//! is durable, 400 naming the refused events (the others are stored) with
//! `invalid-event-number`, 429/503 with `Retry-After` under back-pressure.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kansoku_core::{ErrorCode, OrgId};
use kansoku_ingest::decode::hec::{self, Defaults, Endpoint, FirstInvalid};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::auth::permission::{Denied, authorize};
use crate::auth::tokens::INGESTION_TOKEN_PREFIX;
use crate::auth::{Access, Permission, Principal};
use crate::http::body::{admit, read_body};
use crate::http::error::{ApiError, status_of};
use crate::http::guard::parse_basic;
use crate::http::ingest::refused_summary;

/// The header some senders name their channel with (indexer acknowledgement).
const CHANNEL_HEADER: &str = "x-splunk-request-channel";

/// Metadata for events that carry none, from the query string.
#[derive(Debug, Default, Deserialize)]
pub struct HecParams {
    host: Option<String>,
    source: Option<String>,
    sourcetype: Option<String>,
    index: Option<String>,
    time: Option<String>,
    channel: Option<String>,
}

/// An answer in HEC's shape.
#[derive(Debug)]
struct HecAnswer {
    status: StatusCode,
    code: u32,
    text: String,
    retry_after: Option<u64>,
    refusal: Option<kansoku_core::Refusal>,
    extra: Option<(&'static str, Value)>,
}

impl HecAnswer {
    fn new(status: StatusCode, code: u32, text: impl Into<String>) -> HecAnswer {
        HecAnswer {
            status,
            code,
            text: text.into(),
            retry_after: None,
            refusal: None,
            extra: None,
        }
    }
}

impl From<ApiError> for HecAnswer {
    /// HEC's code for each kind of failure; the text is kansoku's, which names the problem.
    fn from(error: ApiError) -> HecAnswer {
        let code = match error.code {
            ErrorCode::Unauthorized => 3,
            ErrorCode::Forbidden => 4,
            ErrorCode::TooManyRequests | ErrorCode::Unavailable | ErrorCode::Timeout => 9,
            ErrorCode::Internal => 8,
            ErrorCode::BadRequest
            | ErrorCode::MisdirectedRequest
            | ErrorCode::NotFound
            | ErrorCode::Conflict
            | ErrorCode::PayloadTooLarge
            | ErrorCode::UnsupportedMediaType
            | ErrorCode::RequestTimeout
            | ErrorCode::Unprocessable => 6,
        };
        HecAnswer {
            status: status_of(error.code),
            code,
            text: error.message,
            retry_after: error.retry_after.or(error.code.is_retryable().then_some(1)),
            refusal: error.refusal,
            extra: None,
        }
    }
}

impl IntoResponse for HecAnswer {
    fn into_response(self) -> Response {
        let mut body = json!({"text": self.text, "code": self.code});
        if let (Some((name, value)), Some(object)) = (self.extra, body.as_object_mut()) {
            object.insert(name.to_string(), value);
        }
        let mut response = (self.status, Json(body)).into_response();
        super::error::add_retry_headers(response.headers_mut(), self.retry_after, self.refusal);
        response
    }
}

/// `POST /services/collector/event`
pub async fn event(
    State(app): State<App>,
    params: Result<Query<HecParams>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    ingest(app, params, headers, body, Endpoint::Event)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// `POST /services/collector/raw`
pub async fn raw(
    State(app): State<App>,
    params: Result<Query<HecParams>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    ingest(app, params, headers, body, Endpoint::Raw)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// `GET /services/collector/health`: 200 while events are accepted, 503 otherwise. Like
/// Splunk's, it needs no token; it tells nothing but that.
pub async fn health(State(app): State<App>) -> Response {
    let accepting = app
        .local_ingester()
        .is_some_and(|ingester| ingester.is_accepting());
    if accepting {
        return HecAnswer::new(StatusCode::OK, 17, "HEC is healthy").into_response();
    }
    let mut answer = HecAnswer::new(
        StatusCode::SERVICE_UNAVAILABLE,
        18,
        "HEC is unhealthy: events are not accepted now (starting up or stopping)",
    );
    answer.retry_after = Some(1);
    answer.into_response()
}

/// The body of `POST /services/collector/ack`.
#[derive(Debug, Deserialize)]
struct AckQuery {
    acks: Vec<u64>,
}

/// `POST /services/collector/ack`: every id asked about is acknowledged — an `ackId` is only
/// handed out once its events are durable.
pub async fn ack(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    let answer = async {
        authenticate(&app, &headers).await?;
        let body = read_body(&headers, body, &app.body_limits).await?;
        let query: AckQuery = serde_json::from_slice(&body.bytes).map_err(|e| {
            HecAnswer::new(
                StatusCode::BAD_REQUEST,
                6,
                format!("an ack query is {{\"acks\": [ids]}}: {e}"),
            )
        })?;
        let acks: serde_json::Map<String, Value> = query
            .acks
            .iter()
            .map(|id| (id.to_string(), Value::Bool(true)))
            .collect();
        Ok::<_, HecAnswer>((StatusCode::OK, Json(json!({"acks": acks}))).into_response())
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

async fn ingest(
    app: App,
    params: Result<Query<HecParams>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
    endpoint: Endpoint,
) -> Result<Response, HecAnswer> {
    let access = authenticate(&app, &headers).await?;
    let Query(params) = params
        .map_err(|rejection| HecAnswer::new(StatusCode::BAD_REQUEST, 6, rejection.body_text()))?;
    let defaults = defaults_of(&params)?;
    let channel = params.channel.clone().or_else(|| {
        headers
            .get(CHANNEL_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    });
    let org = access.org.clone().ok_or_else(|| {
        HecAnswer::new(StatusCode::FORBIDDEN, 4, "the token names no organization")
    })?;
    let ingester = app.ingester()?;
    let body = admit(ingester, &org, body, &app.body_limits).await?;
    app.ensure_org_for_ingest(&access, &org).await?;
    let body = read_body(&headers, body, &app.body_limits).await?;
    if hec::is_empty(&body.bytes) {
        return Err(HecAnswer::new(StatusCode::BAD_REQUEST, 5, "No data"));
    }
    let (report, unrouted, first_invalid) = ingester
        .ingest_hec(
            org,
            body.bytes.clone(),
            endpoint,
            defaults,
            app.body_limits.max_bytes,
        )
        .await
        .map_err(ApiError::from)?;
    drop(body);
    if let Some(summary) = refused_summary(&report, &unrouted, "events") {
        return Err(refused(summary, first_invalid));
    }
    let mut answer = HecAnswer::new(StatusCode::OK, 0, "Success");
    if channel.is_some() {
        answer.extra = Some((
            "ackId",
            json!(app.hec_ack_ids.fetch_add(1, Ordering::Relaxed)),
        ));
    }
    Ok(answer.into_response())
}

/// 400 naming what was refused; `invalid-event-number` is the first event refused while
/// decoding (a refusal by the stream, such as a field limit, has no number).
fn refused(summary: String, first_invalid: Option<FirstInvalid>) -> HecAnswer {
    let code = first_invalid.map_or(6, |first| first.problem.code());
    let mut answer = HecAnswer::new(StatusCode::BAD_REQUEST, code, summary);
    answer.extra = first_invalid.map(|first| ("invalid-event-number", json!(first.event)));
    answer
}

fn defaults_of(params: &HecParams) -> Result<Defaults, HecAnswer> {
    let time_micros = params
        .time
        .as_deref()
        .map(|time| {
            hec::seconds_text_to_micros(time.trim()).ok_or_else(|| {
                HecAnswer::new(
                    StatusCode::BAD_REQUEST,
                    6,
                    format!("the query parameter time={time} is not epoch seconds"),
                )
            })
        })
        .transpose()?;
    Ok(Defaults {
        host: params.host.clone(),
        source: params.source.clone(),
        sourcetype: params.sourcetype.clone(),
        index: params
            .index
            .clone()
            .filter(|index| !index.trim().is_empty()),
        time_micros,
    })
}

/// The token of `Authorization: Splunk <token>` or of Basic credentials (any user name) → the
/// access of that ingestion token to its organization.
async fn authenticate(app: &App, headers: &HeaderMap) -> Result<Access, HecAnswer> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(HecAnswer::new(
            StatusCode::UNAUTHORIZED,
            2,
            "Token is required: send Authorization: Splunk <ingestion token>",
        ));
    };
    if values.next().is_some() {
        return Err(HecAnswer::new(
            StatusCode::BAD_REQUEST,
            3,
            "more than one Authorization header",
        ));
    }
    let Some(token) = value.to_str().ok().and_then(token_of) else {
        return Err(HecAnswer::new(
            StatusCode::UNAUTHORIZED,
            3,
            "Invalid authorization: send Authorization: Splunk <ingestion token>",
        ));
    };
    let invalid_token = || {
        HecAnswer::new(
            StatusCode::FORBIDDEN,
            4,
            format!(
                "Invalid token: HEC takes a kansoku ingestion token ({INGESTION_TOKEN_PREFIX}…), which names the organization"
            ),
        )
    };
    if !token.starts_with(INGESTION_TOKEN_PREFIX) {
        return Err(invalid_token());
    }
    let principal = app
        .auth
        .basic("hec", &token)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(invalid_token)?;
    let Principal::IngestToken { org, .. } = &principal else {
        return Err(invalid_token());
    };
    let org = OrgId::parse(org).map_err(ApiError::from)?;
    authorize(&app.meta, principal, Some(org), Permission::Ingest)
        .await
        .map_err(|denied| match denied {
            Denied::Forbidden(message) => HecAnswer::new(StatusCode::FORBIDDEN, 4, message),
            Denied::Unavailable(message) => {
                HecAnswer::from(ApiError::new(ErrorCode::Unavailable, message))
            }
        })
}

/// `Splunk <token>`, or the password of `Basic` credentials.
fn token_of(authorization: &str) -> Option<String> {
    let (scheme, rest) = authorization.trim().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("splunk") {
        let token = rest.trim();
        return (!token.is_empty()).then(|| token.to_string());
    }
    parse_basic(authorization).map(|(_, password)| password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_from_the_splunk_scheme_or_basic_passwords() {
        assert_eq!(
            token_of("Splunk kso_ingest_abc"),
            Some("kso_ingest_abc".into())
        );
        assert_eq!(
            token_of("splunk  kso_ingest_abc "),
            Some("kso_ingest_abc".into())
        );
        let basic = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "x:kso_ingest_abc",
        );
        assert_eq!(
            token_of(&format!("Basic {basic}")),
            Some("kso_ingest_abc".into())
        );
        assert_eq!(token_of("Bearer kso_ingest_abc"), None);
        assert_eq!(token_of("Splunk"), None);
        assert_eq!(token_of("Splunk   "), None);
    }
}
