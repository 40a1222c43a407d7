//! The one place where an error becomes an HTTP status, and the JSON error body.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kansoku_core::{CodedError, ErrorCode, REFUSAL_HEADER, Refusal};
use serde_json::json;

/// `Retry-After` of a retryable error whose cause gives no better hint.
const DEFAULT_RETRY_AFTER_SECS: u64 = 5;

/// An error answered to a client: `{"code": <status>, "message": "..."}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The kind of failure.
    pub code: ErrorCode,
    /// What the client is told.
    pub message: String,
    /// Seconds to wait before retrying, for retryable errors.
    pub retry_after: Option<u64>,
    /// A code to put in the body instead of the HTTP status (OpenObserve's search codes).
    pub body_code: Option<u32>,
    /// Extra fields for the body (for example the position of a SQL syntax error).
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
    /// For a write refused whole with nothing stored, why (`x-kansoku-refusal`).
    pub refusal: Option<Refusal>,
}

/// The HTTP status of each error code. No wildcard: a new code must be mapped here.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        ErrorCode::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::MisdirectedRequest => StatusCode::MISDIRECTED_REQUEST,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ApiError {
    /// An error with a message for the client.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            retry_after: None,
            body_code: None,
            extra: None,
            refusal: None,
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::BadRequest, message)
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Forbidden, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::NotFound, message)
    }

    /// 401 (with a `WWW-Authenticate` challenge).
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            ErrorCode::Unauthorized,
            "unauthorized: send valid credentials (HTTP Basic)",
        )
    }

    /// From any crate's error. Internal errors are logged in full and answered generically.
    pub fn from_coded(error: &dyn CodedError) -> ApiError {
        let code = error.code();
        let message = if code == ErrorCode::Internal {
            tracing::error!(error = %error, "internal error");
            "internal server error; see the server log".to_string()
        } else {
            // The request log writes the failed response (rate-limited, counted).
            if code == ErrorCode::Unavailable {
                tracing::debug!(error = %error, "request failed with a retryable error");
            }
            error.to_string()
        };
        ApiError {
            code,
            message,
            // Every "try again later" says when, even where the failing crate has no hint.
            retry_after: error.retry_after_secs().or(matches!(
                code,
                ErrorCode::Unavailable | ErrorCode::TooManyRequests
            )
            .then_some(DEFAULT_RETRY_AFTER_SECS)),
            body_code: None,
            extra: None,
            refusal: error.refusal(),
        }
    }

    /// Adds a retry hint.
    pub fn with_retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after = Some(seconds);
        self
    }

    /// Marks a write refused whole with nothing stored.
    pub fn with_refusal(mut self, refusal: Refusal) -> ApiError {
        self.refusal = Some(refusal);
        self
    }
}

/// Adds `Retry-After` and `x-kansoku-refusal` where the error has them.
pub fn add_retry_headers(
    headers: &mut axum::http::HeaderMap,
    retry_after: Option<u64>,
    refusal: Option<Refusal>,
) {
    if let Some(seconds) = retry_after
        && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
    {
        headers.insert(header::RETRY_AFTER, value);
    }
    if let Some(refusal) = refusal {
        headers.insert(REFUSAL_HEADER, HeaderValue::from_static(refusal.as_str()));
    }
}

impl From<kansoku_ingest::Error> for ApiError {
    fn from(error: kansoku_ingest::Error) -> Self {
        ApiError::from_coded(&error)
    }
}

impl From<kansoku_compact::Error> for ApiError {
    fn from(error: kansoku_compact::Error) -> Self {
        ApiError::from_coded(&error)
    }
}

impl From<kansoku_alerts::Error> for ApiError {
    fn from(error: kansoku_alerts::Error) -> Self {
        ApiError::from_coded(&error)
    }
}

impl From<kansoku_meta::Error> for ApiError {
    fn from(error: kansoku_meta::Error) -> Self {
        ApiError::from_coded(&error)
    }
}

impl From<crate::auth::AuthError> for ApiError {
    fn from(error: crate::auth::AuthError) -> Self {
        match error {
            crate::auth::AuthError::Meta(error) => ApiError::from(error),
            crate::auth::AuthError::Throttled { retry_after_secs } => {
                ApiError::new(ErrorCode::TooManyRequests, error.to_string())
                    .with_retry_after(retry_after_secs)
            }
        }
    }
}

impl From<kansoku_storage::Error> for ApiError {
    fn from(error: kansoku_storage::Error) -> Self {
        ApiError::from_coded(&error)
    }
}

impl From<kansoku_query::Error> for ApiError {
    fn from(error: kansoku_query::Error) -> Self {
        let mut api = ApiError::from_coded(&error);
        api.body_code = Some(error.search_code());
        if let Some((line, column)) = error.position() {
            let mut extra = serde_json::Map::new();
            extra.insert(
                "position".to_string(),
                json!({"line": line, "column": column}),
            );
            api.extra = Some(extra);
        }
        api
    }
}

impl From<kansoku_core::NameError> for ApiError {
    fn from(error: kansoku_core::NameError) -> Self {
        ApiError::bad_request(error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(self.code);
        let mut body = json!({
            "code": self.body_code.unwrap_or(u32::from(status.as_u16())),
            "message": self.message,
        });
        if let (Some(extra), Some(object)) = (self.extra, body.as_object_mut()) {
            object.extend(extra);
        }
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        add_retry_headers(headers, self.retry_after, self.refusal);
        if self.code == ErrorCode::Unauthorized {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"kansoku\", charset=\"UTF-8\""),
            );
        }
        response
    }
}

/// An error as plain text (what remote_write and Loki senders log) with the status of its code
/// and `Retry-After` when retryable. `too_many_as_unavailable` answers 503 instead of 429, for
/// senders that drop a batch answered 429 (Prometheus).
pub fn plain_text_error(error: ApiError, too_many_as_unavailable: bool) -> Response {
    let code = match error.code {
        ErrorCode::TooManyRequests if too_many_as_unavailable => ErrorCode::Unavailable,
        other => other,
    };
    let mut response = (
        status_of(code),
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        format!("{}\n", error.message),
    )
        .into_response();
    let retry_after = error.retry_after.or(code.is_retryable().then_some(1));
    add_retry_headers(response.headers_mut(), retry_after, error.refusal);
    response
}
