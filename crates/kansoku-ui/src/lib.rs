//! The web UI, embedded in the binary.
//!
//! `web/` is built by `npm run build` into `web/dist`, which this crate embeds in every build
//! (debug too: a debug binary reading the directory at run time would read whichever checkout
//! compiled it when several share a target directory); `build.rs` makes a changed `web/dist`
//! rebuild the crate. A missing
//! `web/dist` is allowed so that Rust builds and tests never need Node; the page then explains how
//! to build the UI. This crate keeps few dependencies because every change to them re-embeds the
//! assets.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

#[derive(rust_embed::RustEmbed)]
#[folder = "../../web/dist"]
#[allow_missing = true]
struct Assets;

/// The Content-Security-Policy of UI pages: only this origin, no inline scripts.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Routes serving the UI's entry page and assets. Other non-API paths should be answered with
/// [`spa_fallback`] (the app routes on the client).
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/assets/{*path}", get(asset))
}

async fn index() -> Response {
    page("index.html")
}

async fn asset(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    match Assets::get(path) {
        Some(file) => {
            let mime = file.metadata.mimetype().to_string();
            let mut response = Response::new(Body::from(file.data.into_owned()));
            if let Ok(value) = HeaderValue::from_str(&mime) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            );
            response
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A file of the built UI at `uri`, else the entry page.
pub async fn spa_fallback(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if let Some(file) = Assets::get(path) {
        let mime = file.metadata.mimetype().to_string();
        let mut response = Response::new(Body::from(file.data.into_owned()));
        if let Ok(value) = HeaderValue::from_str(&mime) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        return response;
    }
    page("index.html")
}

fn page(name: &str) -> Response {
    let body = match Assets::get(name) {
        Some(file) => file.data.into_owned(),
        None => MISSING_UI.as_bytes().to_vec(),
    };
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

const MISSING_UI: &str = "<!doctype html><meta charset=utf-8><title>kansoku</title><h1>kansoku</h1><p>The web UI was not built into this binary. Build it with <code>scripts/build-ui.sh</code> (or run <code>scripts/serve.sh</code>), then restart.</p><p>The API is available under <code>/api</code>.</p>";
