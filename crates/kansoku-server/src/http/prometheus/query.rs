//! `query`, `query_range`, `format_query` and `status/buildinfo`.

use std::time::Instant;

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use kansoku_core::OrgId;
use kansoku_promql::{Engine, EngineOptions, QueryResult};

use super::{Params, PromError, json, now_ms, success, unread_warning};
use crate::app::App;
use crate::auth::Access;

/// `GET|POST /api/{org}/prometheus/api/v1/query`
pub async fn query(
    State(app): State<App>,
    Path(org): Path<String>,
    Extension(_access): Extension<Access>,
    params: Params,
) -> Result<Response, PromError> {
    let org = OrgId::parse(&org)?;
    let text = params.get("query").unwrap_or_default().to_string();
    let time = params.time("time", now_ms())?;
    let (store, engine, reported) = app.reporting_promql()?;
    let engine = engine_for(engine, &params)?;
    let started = Instant::now();
    let source = store.org(&org).await?;
    let result = engine.instant(&source, &text, time).await?;
    Ok(answer(&result, &params, started, unread_warning(&reported)))
}

/// `GET|POST /api/{org}/prometheus/api/v1/query_range`
pub async fn query_range(
    State(app): State<App>,
    Path(org): Path<String>,
    Extension(_access): Extension<Access>,
    params: Params,
) -> Result<Response, PromError> {
    let org = OrgId::parse(&org)?;
    let text = params.get("query").unwrap_or_default().to_string();
    let start = params.required_time("start")?;
    let end = params.required_time("end")?;
    if end < start {
        return Err(PromError::bad_param(
            "end",
            "end timestamp must not be before start time",
        ));
    }
    let Some(step) = params.duration("step")? else {
        return Err(PromError::bad_param(
            "step",
            "cannot parse \"\" to a valid duration",
        ));
    };
    if step <= 0 {
        return Err(PromError::bad_param(
            "step",
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    let (store, engine, reported) = app.reporting_promql()?;
    let engine = engine_for(engine, &params)?;
    let started = Instant::now();
    let source = store.org(&org).await?;
    let result = engine.range(&source, &text, start, end, step).await?;
    Ok(answer(&result, &params, started, unread_warning(&reported)))
}

/// The engine with this call's `timeout` (never above the configured one) and
/// `lookback_delta`.
fn engine_for(engine: &Engine, params: &Params) -> Result<Engine, PromError> {
    let mut options: EngineOptions = engine.options().clone();
    if let Some(timeout) = params.duration("timeout")? {
        let asked = std::time::Duration::from_millis(timeout.max(0) as u64);
        options.timeout = Some(options.timeout.map_or(asked, |limit| limit.min(asked)));
    }
    if let Some(lookback) = params.duration("lookback_delta")? {
        if lookback < 0 {
            return Err(PromError::bad_param(
                "lookback_delta",
                "must not be negative",
            ));
        }
        if lookback > 0 {
            options.lookback_ms = lookback;
        }
    }
    Ok(Engine::new(options))
}

fn answer(
    result: &QueryResult,
    params: &Params,
    started: Instant,
    unread: Option<String>,
) -> Response {
    let mut data = String::with_capacity(1024);
    json::result(&result.value, &mut data);
    if params.get("stats").is_some() {
        let seconds = started.elapsed().as_secs_f64();
        data.push_str(&format!(
            r#","stats":{{"timings":{{"evalTotalTime":{seconds},"resultSortTime":0,"queryPreparationTime":0,"innerEvalTime":{seconds},"execQueueTime":0,"execTotalTime":{seconds}}},"samples":{{"totalQueryableSamples":{},"peakSamples":{}}}}}"#,
            result.samples_read, result.samples_read
        ));
    }
    data.push('}');
    let mut warnings = result.annotations.warnings.clone();
    warnings.extend(unread);
    success(&data, &warnings, &result.annotations.infos)
}

/// `GET|POST /api/{org}/prometheus/api/v1/format_query`
pub async fn format_query(
    Path(_org): Path<String>,
    Extension(_access): Extension<Access>,
    params: Params,
) -> Result<Response, PromError> {
    let expr = kansoku_promql::engine::parse(params.get("query").unwrap_or_default())?;
    Ok(success(&json::string(&expr.prettify()), &[], &[]))
}

/// `GET /api/{org}/prometheus/api/v1/status/buildinfo` (no `features` field: Grafana would
/// take a server that lists features for Mimir).
pub async fn buildinfo(
    Path(_org): Path<String>,
    Extension(_access): Extension<Access>,
) -> Response {
    let data = format!(
        r#"{{"version":"3.14.0","revision":{},"branch":"","buildUser":"","buildDate":"","goVersion":""}}"#,
        json::string(&format!("kansoku {}", env!("CARGO_PKG_VERSION")))
    );
    success(&data, &[], &[])
}
