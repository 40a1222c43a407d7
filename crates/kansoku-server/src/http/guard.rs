//! The middleware every `/api` route passes: authenticate, find the organisation in the path,
//! check the route's [`Permission`] with the permission table, attach the [`Access`] — and,
//! once an administrative change has answered 2xx, append it to the audit log (see
//! [`is_administrative`]) and announce it to the other nodes of a cluster
//! (`crate::changes`).

use axum::extract::{MatchedPath, RawPathParams, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use kansoku_core::{ErrorCode, OrgId};
use kansoku_meta::AuditEntry;

use super::error::ApiError;
use crate::app::App;
use crate::auth::permission::{Denied, authorize};
use crate::auth::{Access, Permission, Principal};

/// Name of the UI session cookie.
pub const SESSION_COOKIE: &str = "kansoku_session";
/// Header a browser must send with cookie-authenticated changes (CSRF defence).
pub const CSRF_HEADER: &str = "x-kansoku-csrf";

/// The middleware; its state is the app and the route's permission.
pub async fn guard(
    State((app, permission)): State<(App, Permission)>,
    params: Result<RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
    mut request: Request,
    next: Next,
) -> Response {
    let principal = match authenticate(&app, request.headers(), request.method()).await {
        Ok(Some(principal)) => principal,
        Ok(None) => return ApiError::unauthorized().into_response(),
        Err(error) => return error.into_response(),
    };
    let param = |wanted: &str| path_param(&params, wanted);
    let org_param = param("org");
    // The one object a change names, for the other nodes' caches (`crate::changes`).
    let named = param("stream")
        .or_else(|| param("email"))
        .or_else(|| param("name"));
    let org = match org_param.map(|raw| OrgId::parse(&raw)).transpose() {
        Ok(org) => org,
        Err(error) => return ApiError::from(error).into_response(),
    };
    match authorize(&app.meta, principal, org, permission).await {
        Ok(access) => {
            let audited = is_administrative(permission, request.method()).then(|| {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map(|matched| matched.as_str().to_string())
                    .unwrap_or_default();
                (
                    access.clone(),
                    request.method().to_string(),
                    route,
                    request.uri().path().to_string(),
                )
            });
            request.extensions_mut().insert(access);
            let response = next.run(request).await;
            if let Some((access, action, route, path)) = audited
                && response.status().is_success()
            {
                if let Some(kind) = crate::changes::kind_of_route(&route) {
                    let org = access.org.as_ref().map_or("", |org| org.as_str());
                    app.changes.announce(kind, org, named.as_deref());
                }
                audit(
                    &app,
                    &access,
                    action,
                    route,
                    path,
                    response.status().as_u16(),
                )
                .await;
            }
            response
        }
        Err(Denied::Forbidden(message)) => ApiError::forbidden(message).into_response(),
        Err(Denied::Unavailable(message)) => ApiError::new(ErrorCode::Unavailable, message)
            .with_retry_after(2)
            .into_response(),
    }
}

/// The value of the path parameter `wanted`, if the route has one.
pub fn path_param(
    params: &Result<RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
    wanted: &str,
) -> Option<String> {
    params.as_ref().ok().and_then(|params| {
        params
            .iter()
            .find(|(name, _)| *name == wanted)
            .map(|(_, value)| value.to_string())
    })
}

/// Whether a request is an administrative change: a PUT, PATCH or DELETE on any route but the
/// ingest ones (this includes a user's own profile and an admin's role change, which share a
/// route readers may use), or a POST on a route that needs more than reading (POST also runs
/// searches and previews) — users, roles, tokens, organisations, stream settings, alerts,
/// dashboards, node operations.
pub fn is_administrative(permission: Permission, method: &Method) -> bool {
    match *method {
        Method::PUT | Method::PATCH | Method::DELETE => permission != Permission::Ingest,
        Method::POST => matches!(
            permission,
            Permission::Write | Permission::Admin | Permission::Root | Permission::Authenticated
        ),
        _ => false,
    }
}

/// Appends a change that answered `status` to the audit log. A failure to record it is logged
/// and counted; the change itself has already happened.
async fn audit(
    app: &App,
    access: &Access,
    action: String,
    route: String,
    path: String,
    status: u16,
) {
    let entry = AuditEntry {
        at: kansoku_meta::now_micros(),
        org: access
            .org
            .as_ref()
            .map(|org| org.as_str().to_string())
            .unwrap_or_default(),
        actor: access.principal.describe(),
        action,
        route,
        path,
        status: i64::from(status),
    };
    if let Err(error) = app.meta.record_audit(&entry).await {
        app.request_log.audit_failed();
        tracing::error!(%error, actor = %entry.actor, path = %entry.path, "could not record an administrative change in the audit log");
    }
}

/// Basic credentials, or else a session cookie (with the CSRF header on changes).
pub async fn authenticate(
    app: &App,
    headers: &HeaderMap,
    method: &axum::http::Method,
) -> Result<Option<Principal>, ApiError> {
    let mut authorization = headers.get_all(header::AUTHORIZATION).iter();
    if let Some(value) = authorization.next() {
        if authorization.next().is_some() {
            return Err(ApiError::bad_request("more than one Authorization header"));
        }
        let Some((username, password)) = value.to_str().ok().and_then(parse_basic) else {
            return Ok(None);
        };
        return Ok(app.auth.basic(&username, &password).await?);
    }
    let Some(session) = session_cookie(headers) else {
        return Ok(None);
    };
    let changes_state = !matches!(*method, axum::http::Method::GET | axum::http::Method::HEAD);
    if changes_state && !headers.contains_key(CSRF_HEADER) {
        return Err(ApiError::forbidden(format!(
            "cookie-authenticated changes need the {CSRF_HEADER} header"
        )));
    }
    Ok(app.auth.session(&session).await?)
}

/// `Basic base64(user:password)` → `(user, password)`.
pub fn parse_basic(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// The session id in the request's cookies.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
}

/// Browsers answer a 401 carrying `WWW-Authenticate: Basic` with their own password dialog,
/// which would block the web UI's requests. Requests from the UI (the CSRF header or the session
/// cookie) therefore get their 401 without the challenge; API clients keep it.
pub async fn no_basic_challenge_for_browsers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let from_browser =
        request.headers().contains_key(CSRF_HEADER) || session_cookie(request.headers()).is_some();
    let mut response = next.run(request).await;
    if from_browser {
        response.headers_mut().remove(header::WWW_AUTHENTICATE);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_parse_strictly() {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode("root@example.com:Complex:pass");
        assert_eq!(
            parse_basic(&format!("Basic {encoded}")),
            Some(("root@example.com".into(), "Complex:pass".into()))
        );
        let no_colon = base64::engine::general_purpose::STANDARD.encode("rootonly");
        assert_eq!(parse_basic(&format!("Basic {no_colon}")), None);
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
    }
}
