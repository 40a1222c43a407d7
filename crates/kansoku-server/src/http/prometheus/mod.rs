//! The Prometheus HTTP API under `/api/{org}/prometheus/api/v1/` (OpenObserve's paths), for
//! Prometheus' remote_write and for Grafana's Prometheus data source:
//!
//! | route | handler |
//! |---|---|
//! | `POST write` | [`write::write`]: remote_write 1.0 and 2.0 |
//! | `GET/POST query`, `query_range`, `format_query`; `GET status/buildinfo` | [`query`] |
//! | `GET/POST series`, `labels`, `query_exemplars`; `GET label/{name}/values`, `metadata` | [`series`] |
//!
//! Answers are Prometheus' exact JSON ([`json`]): `{"status":"success","data":…}` with
//! `warnings`/`infos` when there are some, values as strings, errors as
//! `{"status":"error","errorType":…,"error":…}` with Prometheus' status per error type.

pub mod json;
pub mod query;
pub mod series;
pub mod write;

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kansoku_core::{CodedError, ErrorCode};

use crate::http::error::{ApiError, status_of};

/// A failed API call, answered in Prometheus' error shape.
#[derive(Debug)]
pub struct PromError {
    code: ErrorCode,
    error_type: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl PromError {
    /// `bad_data` (400).
    pub fn bad_data(message: impl Into<String>) -> PromError {
        PromError {
            code: ErrorCode::BadRequest,
            error_type: "bad_data",
            message: message.into(),
            retry_after: None,
        }
    }

    /// `invalid parameter "name": why` (400).
    pub fn bad_param(name: &str, why: impl std::fmt::Display) -> PromError {
        PromError::bad_data(format!("invalid parameter {name:?}: {why}"))
    }
}

impl From<kansoku_promql::Error> for PromError {
    fn from(error: kansoku_promql::Error) -> Self {
        let code = error.code();
        if code == ErrorCode::Internal {
            tracing::error!(%error, "PromQL query failed");
        }
        PromError {
            code,
            error_type: error.error_type(),
            message: error.to_string(),
            retry_after: (code == ErrorCode::Unavailable).then_some(1),
        }
    }
}

impl From<ApiError> for PromError {
    fn from(error: ApiError) -> Self {
        let error_type = match error.code {
            ErrorCode::BadRequest
            | ErrorCode::PayloadTooLarge
            | ErrorCode::UnsupportedMediaType => "bad_data",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Unavailable | ErrorCode::TooManyRequests | ErrorCode::MisdirectedRequest => {
                "unavailable"
            }
            ErrorCode::Timeout | ErrorCode::RequestTimeout => "timeout",
            ErrorCode::Unprocessable => "execution",
            _ => "internal",
        };
        PromError {
            code: error.code,
            error_type,
            message: error.message,
            retry_after: error.retry_after,
        }
    }
}

impl From<kansoku_metrics::Error> for PromError {
    fn from(error: kansoku_metrics::Error) -> Self {
        PromError::from(kansoku_promql::Error::from(error))
    }
}

impl From<kansoku_meta::Error> for PromError {
    fn from(error: kansoku_meta::Error) -> Self {
        PromError::from(ApiError::from(error))
    }
}

impl From<kansoku_core::NameError> for PromError {
    fn from(error: kansoku_core::NameError) -> Self {
        PromError::bad_data(error.to_string())
    }
}

impl IntoResponse for PromError {
    fn into_response(self) -> Response {
        let body = format!(
            r#"{{"status":"error","errorType":{},"error":{}}}"#,
            json::string(self.error_type),
            json::string(&self.message)
        );
        let mut response = (status_of(self.code), body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// The warning of an answer that could not read some ingesters' not-yet-flushed samples
/// (`App::reporting_promql`).
pub fn unread_warning(reported: &kansoku_storage::ReportedFresh) -> Option<String> {
    let unread = reported.unread_nodes();
    if unread.is_empty() {
        return None;
    }
    Some(format!(
        "partial answer: samples ingesters {} hold in memory (not flushed yet) could not be read",
        unread.join(", ")
    ))
}

/// A successful answer: `data` is already JSON; warnings and infos are added when present.
pub fn success(data: &str, warnings: &[String], infos: &[String]) -> Response {
    let mut body = String::with_capacity(data.len() + 64);
    body.push_str(r#"{"status":"success","data":"#);
    body.push_str(data);
    if !warnings.is_empty() {
        body.push_str(r#","warnings":"#);
        json::strings(warnings, &mut body);
    }
    if !infos.is_empty() {
        body.push_str(r#","infos":"#);
        json::strings(infos, &mut body);
    }
    body.push('}');
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// The parameters of a call: the URL query and, for a form POST, the body (Grafana posts
/// forms), in that order.
#[derive(Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = PromError;

    /// Reads the parameters of a request; the handler's last extractor (it takes the body).
    async fn from_request(request: Request, _state: &S) -> Result<Params, PromError> {
        let mut pairs: Vec<(String, String)> = request
            .uri()
            .query()
            .map(|query| {
                url::form_urlencoded::parse(query.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if request.method() == Method::POST && is_form {
            const MAX_FORM_BYTES: usize = 4 * 1024 * 1024;
            let bytes = axum::body::to_bytes(request.into_body(), MAX_FORM_BYTES)
                .await
                .map_err(|_| PromError::bad_data("form body larger than 4 MiB"))?;
            pairs.extend(url::form_urlencoded::parse(&bytes).into_owned());
        }
        Ok(Params { pairs })
    }
}

impl Params {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// A time parameter (RFC 3339 or Unix seconds) in milliseconds, or `default`.
    pub fn time(&self, name: &str, default: i64) -> Result<i64, PromError> {
        match self.get(name) {
            None => Ok(default),
            Some(text) => parse_time(text).ok_or_else(|| {
                PromError::bad_param(name, format!("cannot parse {text:?} to a valid timestamp"))
            }),
        }
    }

    /// A time parameter that must be present.
    pub fn required_time(&self, name: &str) -> Result<i64, PromError> {
        if self.get(name).is_none() {
            return Err(PromError::bad_param(
                name,
                "cannot parse \"\" to a valid timestamp",
            ));
        }
        self.time(name, 0)
    }

    /// A duration parameter (seconds, or `1m30s`) in milliseconds.
    pub fn duration(&self, name: &str) -> Result<Option<i64>, PromError> {
        match self.get(name) {
            None => Ok(None),
            Some(text) => parse_step(text).map(Some).ok_or_else(|| {
                PromError::bad_param(name, format!("cannot parse {text:?} to a valid duration"))
            }),
        }
    }

    /// The `limit` parameter (0 or absent: no limit).
    pub fn limit(&self) -> Result<Option<usize>, PromError> {
        match self.get("limit") {
            None => Ok(None),
            Some(text) => match text.parse::<i64>() {
                Ok(limit) if limit > 0 => Ok(Some(limit as usize)),
                Ok(0) => Ok(None),
                _ => Err(PromError::bad_param(
                    "limit",
                    format!("cannot parse {text:?} to a valid limit"),
                )),
            },
        }
    }
}

/// Earliest and latest times a listing covers when the call names none.
pub const MIN_TIME: i64 = i64::MIN / 1000;
/// See [`MIN_TIME`].
pub const MAX_TIME: i64 = i64::MAX / 1000;

/// Unix seconds (with a fraction) or RFC 3339, in milliseconds.
pub fn parse_time(text: &str) -> Option<i64> {
    if let Ok(seconds) = text.parse::<f64>() {
        if !seconds.is_finite() {
            return None;
        }
        return Some((seconds * 1000.0).round() as i64);
    }
    let timestamp: jiff::Timestamp = text.parse().ok()?;
    Some(timestamp.as_millisecond())
}

/// Seconds (with a fraction) or a Prometheus duration, in milliseconds.
pub fn parse_step(text: &str) -> Option<i64> {
    if let Ok(seconds) = text.parse::<f64>() {
        if !seconds.is_finite() {
            return None;
        }
        return Some((seconds * 1000.0).round() as i64);
    }
    kansoku_promql::duration::parse_duration(text)
}

/// Now in milliseconds.
pub fn now_ms() -> i64 {
    kansoku_meta::now_micros() / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_steps_parse_like_prometheus() {
        assert_eq!(parse_time("1700000000.5"), Some(1_700_000_000_500));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Some(1_700_000_000_000));
        assert_eq!(
            parse_time("2023-11-14T22:13:20.123+00:00"),
            Some(1_700_000_000_123)
        );
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("NaN"), None);
        assert_eq!(parse_step("15"), Some(15_000));
        assert_eq!(parse_step("0.5"), Some(500));
        assert_eq!(parse_step("1m30s"), Some(90_000));
        assert_eq!(parse_step("often"), None);
    }
}
