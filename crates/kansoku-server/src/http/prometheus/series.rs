//! Listings: `series`, `labels`, `label/{name}/values`, `metadata` and `query_exemplars`. Label
//! sets come from the files' series indexes and fresh data, never from samples.

use std::collections::{BTreeMap, BTreeSet};

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use kansoku_core::OrgId;
use kansoku_promql::engine::plan::selector_matchers;
use kansoku_promql::{LabelMatcher, Labels};
use promql_parser::parser::Expr;

use super::{MAX_TIME, MIN_TIME, Params, PromError, json, now_ms, success, unread_warning};
use crate::app::App;
use crate::auth::Access;

const TRUNCATED: &str = "results truncated due to limit";

/// The matcher sets of the `match[]` parameters (each must be a series selector).
fn match_sets(params: &Params) -> Result<Vec<Vec<LabelMatcher>>, PromError> {
    params
        .all("match[]")
        .into_iter()
        .map(|text| {
            let expr = kansoku_promql::engine::parse(text)
                .map_err(|e| PromError::bad_param("match[]", e))?;
            let Expr::VectorSelector(selector) = expr else {
                return Err(PromError::bad_param(
                    "match[]",
                    format!("{text:?} is not a series selector"),
                ));
            };
            let (mut matchers, alternatives) =
                selector_matchers(&selector).map_err(|e| PromError::bad_param("match[]", e))?;
            if let Some(first) = alternatives.into_iter().next() {
                matchers = first;
            }
            Ok(matchers)
        })
        .collect()
}

/// The label sets matching the call's selectors, and the warning of a partial answer.
async fn label_sets(
    app: &App,
    org: &OrgId,
    params: &Params,
) -> Result<(Vec<Labels>, Option<String>), PromError> {
    let sets = match_sets(params)?;
    let start = params.time("start", MIN_TIME)?;
    let end = params.time("end", MAX_TIME)?;
    let (store, _, reported) = app.reporting_promql()?;
    let found = store.org(org).await?.label_sets(&sets, start, end).await?;
    Ok((found, unread_warning(&reported)))
}

/// `GET|POST /api/{org}/prometheus/api/v1/series`
pub async fn series(
    State(app): State<App>,
    Path(org): Path<String>,
    Extension(_access): Extension<Access>,
    params: Params,
) -> Result<Response, PromError> {
    let org = OrgId::parse(&org)?;
    if params.all("match[]").is_empty() {
        return Err(PromError::bad_data("no match[] parameter provided"));
    }
    let limit = params.limit()?;
    let (mut sets, unread) = label_sets(&app, &org, &params).await?;
    let mut warnings: Vec<String> = unread.into_iter().collect();
    if let Some(limit) = limit
        && sets.len() > limit
    {
        sets.truncate(limit);
        warnings.push(TRUNCATED.to_string());
    }
    let mut data = String::from("[");
    for (index, labels) in sets.iter().enumerate() {
        if index > 0 {
            data.push(',');
        }
        json::labels(labels, &mut data);
    }
    data.push(']');
    Ok(success(&data, &warnings, &[]))
}

fn strings_answer(
    values: BTreeSet<String>,
    limit: Option<usize>,
    unread: Option<String>,
) -> Response {
    let mut values: Vec<String> = values.into_iter().collect();
    let mut warnings: Vec<String> = unread.into_iter().collect();
    if let Some(limit) = limit
        && values.len() > limit
    {
        values.truncate(limit);
        warnings.push(TRUNCATED.to_string());
    }
    let mut data = String::new();
    json::strings(&values, &mut data);
    success(&data, &warnings, &[])
}

/// `GET|POST /api/{org}/prometheus/api/v1/labels`
pub async fn labels(
    State(app): State<App>,
    Path(org): Path<String>,
    Extension(_access): Extension<Access>,
    params: Params,
) -> Result<Response, PromError> {
    let org = OrgId::parse(&org)?;
    let limit = params.limit()?;
    let (sets, unread) = label_sets(&app, &org, &params).await?;
    let names: BTreeSet<String> = sets
        .iter()
        .flat_map(|labels| labels.iter().map(|l| l.name.to_string()))
        .collect();
    Ok(strings_answer(names, limit, unread))
}

/// Prometheus 3's escaping of label names in URLs: `U__` then the name with `_` as `__` and
/// other characters as `_<hex code point>_`.
pub fn unescape_label_name(name: &str) -> String {
    let Some(escaped) = name.strip_prefix("U__") else {
        return name.to_string();
    };
    let mut out = String::with_capacity(escaped.len());
    let mut chars = escaped.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'_') {
            chars.next();
            out.push('_');
            continue;
        }
        let hex: String = chars.by_ref().take_while(|c| *c != '_').collect();
        match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
            Some(decoded) => out.push(decoded),
            None => return name.to_string(),
        }
    }
    out
}

/// `GET /api/{org}/prometheus/api/v1/label/{name}/values`
pub async fn label_values(
    State(app): State<App>,
    Path((org, name)): Path<(String, String)>,
    Extension(_access): Extension<Access>,
    params: Params,
) -> Result<Response, PromError> {
    let org = OrgId::parse(&org)?;
    let name = unescape_label_name(&name);
    if name.is_empty() {
        return Err(PromError::bad_data(format!("invalid label name: {name:?}")));
    }
    let limit = params.limit()?;
    let (sets, unread) = label_sets(&app, &org, &params).await?;
    let values: BTreeSet<String> = sets
        .iter()
        .map(|labels| labels.get(&name).to_string())
        .filter(|value| !value.is_empty())
        .collect();
    Ok(strings_answer(values, limit, unread))
}

/// `GET /api/{org}/prometheus/api/v1/metadata`
pub async fn metadata(
    State(app): State<App>,
    Path(org): Path<String>,
    Extension(_access): Extension<Access>,
    params: Params,
) -> Result<Response, PromError> {
    let org = OrgId::parse(&org)?;
    let limit = params.limit()?;
    let per_metric = match params.get("limit_per_metric") {
        None => None,
        Some(text) => match text.parse::<i64>() {
            Ok(n) if n > 0 => Some(n as usize),
            Ok(_) => None,
            Err(_) => {
                return Err(PromError::bad_param(
                    "limit_per_metric",
                    format!("cannot parse {text:?} to a valid limit"),
                ));
            }
        },
    };
    let entries = app
        .meta
        .list_metric_metadata(&org, params.get("metric"))
        .await?;
    let mut by_metric: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in entries {
        let item = format!(
            r#"{{"type":{},"help":{},"unit":{}}}"#,
            json::string(&entry.metric_type),
            json::string(&entry.help),
            json::string(&entry.unit)
        );
        by_metric.entry(entry.metric).or_default().push(item);
    }
    let mut data = String::from("{");
    for (index, (metric, mut items)) in by_metric.into_iter().enumerate() {
        if limit.is_some_and(|limit| index >= limit) {
            break;
        }
        if let Some(per_metric) = per_metric {
            items.truncate(per_metric);
        }
        if index > 0 {
            data.push(',');
        }
        data.push_str(&json::string(&metric));
        data.push_str(":[");
        data.push_str(&items.join(","));
        data.push(']');
    }
    data.push('}');
    Ok(success(&data, &[], &[]))
}

fn selectors(expr: &Expr, out: &mut Vec<Vec<LabelMatcher>>) {
    match expr {
        Expr::VectorSelector(selector) => {
            if let Ok((matchers, _)) = selector_matchers(selector) {
                out.push(matchers);
            }
        }
        Expr::MatrixSelector(matrix) => {
            if let Ok((matchers, _)) = selector_matchers(&matrix.vs) {
                out.push(matchers);
            }
        }
        Expr::Subquery(subquery) => selectors(&subquery.expr, out),
        Expr::Aggregate(aggregate) => {
            selectors(&aggregate.expr, out);
            if let Some(param) = &aggregate.param {
                selectors(param, out);
            }
        }
        Expr::Unary(unary) => selectors(&unary.expr, out),
        Expr::Binary(binary) => {
            selectors(&binary.lhs, out);
            selectors(&binary.rhs, out);
        }
        Expr::Paren(paren) => selectors(&paren.expr, out),
        Expr::Call(call) => call.args.args.iter().for_each(|arg| selectors(arg, out)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// `GET|POST /api/{org}/prometheus/api/v1/query_exemplars`
pub async fn query_exemplars(
    State(app): State<App>,
    Path(org): Path<String>,
    Extension(_access): Extension<Access>,
    params: Params,
) -> Result<Response, PromError> {
    let org = OrgId::parse(&org)?;
    let expr = kansoku_promql::engine::parse(params.get("query").unwrap_or_default())?;
    let now = now_ms();
    let start = params.time("start", now - 3_600_000)?;
    let end = params.time("end", now)?;
    if end < start {
        return Err(PromError::bad_param(
            "end",
            "end timestamp must not be before start time",
        ));
    }
    let mut sets = Vec::new();
    selectors(&expr, &mut sets);
    let (store, _, reported) = app.reporting_promql()?;
    let found = store.exemplars(&org, &sets, start, end).await?;
    let mut data = String::from("[");
    for (index, series) in found.iter().enumerate() {
        if index > 0 {
            data.push(',');
        }
        data.push_str(r#"{"seriesLabels":"#);
        json::labels(&series.series, &mut data);
        data.push_str(r#","exemplars":["#);
        for (position, exemplar) in series.exemplars.iter().enumerate() {
            if position > 0 {
                data.push(',');
            }
            data.push_str(r#"{"labels":"#);
            json::labels(&exemplar.labels, &mut data);
            data.push_str(&format!(
                r#","value":"{}","timestamp":{}}}"#,
                kansoku_promql::format::format_value(exemplar.value),
                kansoku_promql::format::format_timestamp(exemplar.timestamp_ms)
            ));
        }
        data.push_str("]}");
    }
    data.push(']');
    let warnings: Vec<String> = unread_warning(&reported).into_iter().collect();
    Ok(success(&data, &warnings, &[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_label_names_decode() {
        assert_eq!(unescape_label_name("job"), "job");
        assert_eq!(
            unescape_label_name("U__http_2e_status__code"),
            "http.status_code"
        );
        assert_eq!(unescape_label_name("U__a_zz_"), "U__a_zz_");
    }
}
