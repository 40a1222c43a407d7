//! `GET /api/{org}/quotas` (the organisation's admins: its quotas, where each comes from, and
//! what it stores) and `PUT /api/{org}/quotas` (root: set the organisation's own quotas, each a
//! number of bytes or a size like `"10MiB"`; `null` or absent = the server-wide setting, `0` = no
//! limit, for the burst one second of the rate). A change applies at once on the node that took it and within 30 s on the others.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use kansoku_core::{ErrorCode, OrgId};
use kansoku_ingest::quota::QuotaConfig;
use kansoku_meta::OrgQuotas;
use serde_json::{Value, json};

use super::error::ApiError;
use crate::app::App;
use crate::config::parse_bytes;

/// The largest quota (what the metadata database's BIGINT holds).
const MAX_QUOTA: u64 = i64::MAX as u64;

/// The settings a body may name.
const FIELDS: [&str; 3] = ["ingest_rate_bytes", "ingest_burst_bytes", "storage_bytes"];

/// `GET /api/{org}/quotas`
pub async fn get(State(app): State<App>, Path(org): Path<String>) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let own = own_quotas(&app, &org).await?;
    describe(&app, &org, &own).await
}

/// `PUT /api/{org}/quotas`
pub async fn put(
    State(app): State<App>,
    Path(org): Path<String>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let own = parse_body(&body)?;
    if !app.meta.set_org_quotas(&org, &own).await? {
        return Err(no_such_org(&org));
    }
    if let Some(ingester) = app.local_ingester() {
        ingester.forget_quota_limits(&org);
    }
    describe(&app, &org, &own).await
}

async fn own_quotas(app: &App, org: &OrgId) -> Result<OrgQuotas, ApiError> {
    app.meta
        .org_quotas(org)
        .await?
        .ok_or_else(|| no_such_org(org))
}

fn no_such_org(org: &OrgId) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("organization '{org}' does not exist"),
    )
}

async fn describe(app: &App, org: &OrgId, own: &OrgQuotas) -> Result<Response, ApiError> {
    let server = app.config.ingest_quotas();
    let effective = server.with_overrides(own);
    let stored = app.meta.org_stored_bytes(org).await?;
    Ok(Json(json!({
        "organization": own,
        "server": limits_json(&server),
        "effective": limits_json(&effective),
        "stored_bytes": stored,
    }))
    .into_response())
}

fn limits_json(limits: &QuotaConfig) -> Value {
    json!({
        "ingest_rate_bytes": limits.rate_bytes_per_sec,
        "ingest_burst_bytes": limits.burst_bytes,
        "storage_bytes": limits.storage_bytes,
    })
}

/// The body's settings: each absent or `null` (the server-wide one), a number of bytes or a size.
fn parse_body(body: &Value) -> Result<OrgQuotas, ApiError> {
    let Some(object) = body.as_object() else {
        return Err(ApiError::bad_request(
            "the body must be a JSON object naming ingest_rate_bytes, ingest_burst_bytes or storage_bytes",
        ));
    };
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "unknown quota '{unknown}': use {}",
            FIELDS.join(", ")
        )));
    }
    let field = |name: &str| -> Result<Option<u64>, ApiError> {
        let bytes = match object.get(name) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(size)) => {
                let parsed =
                    parse_bytes(size).map_err(|e| ApiError::bad_request(format!("{name}: {e}")))?;
                u64::try_from(parsed).ok()
            }
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "{name} must be a number of bytes, a size like \"10MiB\", or null (got {other})"
                )));
            }
        };
        bytes
            .filter(|bytes| *bytes <= MAX_QUOTA)
            .map(Some)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{name} must be a whole number of bytes from 0 to {MAX_QUOTA} (got {})",
                    object[name]
                ))
            })
    };
    Ok(OrgQuotas {
        ingest_rate_bytes: field("ingest_rate_bytes")?,
        ingest_burst_bytes: field("ingest_burst_bytes")?,
        storage_bytes: field("storage_bytes")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_name_bytes_sizes_or_nothing() {
        let parsed = parse_body(&json!({"ingest_rate_bytes": 1000, "storage_bytes": "2MiB", "ingest_burst_bytes": null}))
            .unwrap();
        assert_eq!(
            parsed,
            OrgQuotas {
                ingest_rate_bytes: Some(1000),
                ingest_burst_bytes: None,
                storage_bytes: Some(2 << 20),
            }
        );
        assert_eq!(parse_body(&json!({})).unwrap(), OrgQuotas::default());
        for bad in [
            json!({"ingest_rate_bytes": -1}),
            json!({"ingest_rate_bytes": 1.5}),
            json!({"ingest_rate_bytes": u64::MAX}),
            json!({"storage_bytes": "lots"}),
            json!({"storage_bytes": true}),
            json!({"rate": 1}),
            json!([1]),
        ] {
            assert!(parse_body(&bad).is_err(), "{bad}");
        }
    }
}
