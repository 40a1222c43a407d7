//! The HTTP API. Every `/api` route is declared here with the [`Permission`] it needs; the
//! [`guard`] middleware enforces it before any handler runs. Splunk HEC's routes
//! (`/services/collector/...`) check their ingestion token themselves ([`hec`]).

pub mod alerts;
pub mod audit;
pub mod body;
pub mod cluster;
pub mod dashboards;
pub mod error;
pub mod es;
pub mod guard;
pub mod health;
pub mod hec;
pub mod ingest;
pub mod loki;
pub mod orgs;
pub mod pipelines;
pub mod prometheus;
pub mod proxy;
pub mod quotas;
pub mod request_log;
pub mod search;
pub mod serve;
pub mod session;
pub mod streams;
pub mod tail;
pub mod tokens;
pub mod traces;
pub mod users;
pub mod views;

use axum::Router;
use axum::http::Uri;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use kansoku_core::ErrorCode;

use crate::app::App;
use crate::auth::Permission;
use crate::otlp;
use error::ApiError;

/// The whole HTTP surface of a node.
pub fn router(app: App) -> Router {
    let with = |permission: Permission, route: MethodRouter<App>| {
        route.route_layer(middleware::from_fn_with_state(
            (app.clone(), permission),
            guard::guard,
        ))
    };
    use Permission::{Admin, Authenticated, Ingest, Read, Root, Write};
    // On a router, what this node cannot answer is passed to a node that can (`proxy`), once
    // the guard has let it through (HEC, which authenticates in its handlers, passes as is).
    let routed =
        |class: proxy::Class| middleware::from_fn_with_state((app.clone(), class), proxy::route);
    let ingest_via =
        |route: MethodRouter<App>| with(Ingest, route.layer(routed(proxy::Class::Ingest)));
    let query = |route: MethodRouter<App>| with(Read, route.layer(routed(proxy::Class::Query)));

    let ingest = Router::new()
        .route(
            "/api/{org}/{stream}/_json",
            ingest_via(post(ingest::json_array)),
        )
        .route(
            "/api/{org}/{stream}/_multi",
            ingest_via(post(ingest::json_lines)),
        )
        .route("/api/{org}/v1/logs", ingest_via(post(otlp::http::logs)))
        .route("/api/{org}/loki/api/v1/push", ingest_via(post(loki::push)))
        .route("/api/{org}/v1/traces", ingest_via(post(otlp::http::traces)))
        .route(
            "/api/{org}/v1/metrics",
            ingest_via(post(otlp::http::metrics)),
        )
        .route("/api/{org}/traces", ingest_via(post(otlp::http::traces)))
        .route(
            "/api/{org}/otel/v1/logs",
            ingest_via(post(otlp::http::logs)),
        )
        .route(
            "/api/{org}/otel/v1/traces",
            ingest_via(post(otlp::http::traces)),
        )
        .route(
            "/api/{org}/otel/v1/metrics",
            ingest_via(post(otlp::http::metrics)),
        );

    let elasticsearch = Router::new()
        .route("/api/{org}/_bulk", ingest_via(post(es::bulk).put(es::bulk)))
        .route(
            "/api/{org}/{stream}/_bulk",
            ingest_via(post(es::bulk_with_index).put(es::bulk_with_index)),
        )
        .route("/api/{org}/{stream}/_doc", ingest_via(post(es::doc)))
        .route(
            "/api/{org}/{stream}/_doc/{id}",
            ingest_via(post(es::doc_with_id).put(es::doc_with_id)),
        )
        .route(
            "/api/{org}/{stream}/_create/{id}",
            ingest_via(post(es::doc_with_id).put(es::doc_with_id)),
        )
        .route("/api/{org}", ingest_via(get(es::info).head(es::info)))
        .route("/api/{org}/", ingest_via(get(es::info).head(es::info)))
        .route("/api/{org}/_license", ingest_via(get(es::license)))
        .route("/api/{org}/_xpack", ingest_via(get(es::xpack)))
        .route(
            "/api/{org}/_cluster/health",
            ingest_via(get(es::cluster_health)),
        )
        .route("/api/{org}/_ilm/policy/{name}", ingest_via(setup_methods()))
        .route(
            "/api/{org}/_index_template/{name}",
            ingest_via(setup_methods()),
        )
        .route("/api/{org}/_template/{name}", ingest_via(setup_methods()))
        .route(
            "/api/{org}/_component_template/{name}",
            ingest_via(setup_methods()),
        )
        .route(
            "/api/{org}/_data_stream/{name}",
            ingest_via(setup_methods()),
        )
        .route(
            "/api/{org}/_ingest/pipeline/{name}",
            ingest_via(setup_methods()),
        )
        .layer(middleware::from_fn(es::product_header));

    let search = Router::new()
        .route("/api/{org}/_search", query(post(search::search)))
        .route(
            "/api/{org}/_download",
            query(post(search::download).get(search::download_link)),
        )
        .route("/api/{org}/{stream}/_tail", query(get(tail::tail)))
        .route("/api/{org}/{stream}/_values", query(get(search::values)))
        .route("/api/{org}/{stream}/_around", query(get(search::around)))
        .route(
            "/api/{org}/{stream}/traces/latest",
            query(get(traces::latest)),
        )
        .route(
            "/api/{org}/{stream}/traces/services",
            query(get(traces::services)),
        )
        .route(
            "/api/{org}/{stream}/traces/{trace_id}",
            query(get(traces::trace)),
        )
        .route("/api/{org}/streams", with(Read, get(streams::list)))
        .route(
            "/api/{org}/streams/{stream}/schema",
            with(Read, get(streams::schema)),
        )
        .route(
            "/api/{org}/streams/{stream}/pipeline",
            with(Read, get(pipelines::get))
                .merge(with(Write, put(pipelines::put).delete(pipelines::delete))),
        )
        .route(
            "/api/{org}/streams/{stream}/pipeline/test",
            with(Write, post(pipelines::test)),
        )
        .route(
            "/api/{org}/streams/{stream}/settings",
            with(Write, put(streams::update_settings)),
        )
        .route(
            "/api/{org}/streams/{stream}",
            with(Admin, delete(streams::delete)),
        );

    let management = Router::new()
        .route(
            "/api/organizations",
            with(Authenticated, get(orgs::list)).merge(with(Root, post(orgs::create))),
        )
        .route("/api/{org}/audit", with(Admin, get(audit::list)))
        .route(
            "/api/{org}/quotas",
            with(Admin, get(quotas::get)).merge(with(Root, put(quotas::put))),
        )
        .route(
            "/api/{org}/users",
            with(Read, get(users::list)).merge(with(Admin, post(users::create))),
        )
        .route(
            "/api/{org}/users/{email}",
            with(Read, put(users::update)).merge(with(Admin, delete(users::remove))),
        )
        .route(
            "/api/{org}/ingestion-tokens",
            with(Admin, get(tokens::list).post(tokens::create)),
        )
        .route(
            "/api/{org}/ingestion-tokens/{name}",
            with(Admin, delete(tokens::revoke)),
        );

    let alerting = Router::new()
        .route(
            "/api/{org}/alerts/templates",
            with(Read, get(alerts::list_templates))
                .merge(with(Write, post(alerts::create_template))),
        )
        .route(
            "/api/{org}/alerts/templates/preview",
            with(Read, post(alerts::preview_template)),
        )
        .route(
            "/api/{org}/alerts/templates/{name}",
            with(Read, get(alerts::get_template)).merge(with(
                Write,
                put(alerts::update_template).delete(alerts::delete_template),
            )),
        )
        .route("/api/{org}/alerts/apply", with(Write, post(alerts::apply)))
        .route(
            "/api/{org}/alerts/destinations",
            with(Read, get(alerts::list_destinations))
                .merge(with(Write, post(alerts::create_destination))),
        )
        .route(
            "/api/{org}/alerts/destinations/{name}",
            with(Read, get(alerts::get_destination)).merge(with(
                Write,
                put(alerts::update_destination).delete(alerts::delete_destination),
            )),
        )
        .route(
            "/api/{org}/alerts/destinations/{name}/test",
            with(Write, post(alerts::test_destination)),
        )
        .route(
            "/api/v2/{org}/alerts",
            with(Read, get(alerts::list_alerts)).merge(with(Write, post(alerts::create_alert))),
        )
        .route(
            "/api/v2/{org}/alerts/history",
            with(Read, get(alerts::history)),
        )
        .route(
            "/api/v2/{org}/alerts/preview",
            with(Read, post(alerts::preview_alert)),
        )
        .route(
            "/api/v2/{org}/alerts/{id}",
            with(Read, get(alerts::get_alert)).merge(with(
                Write,
                put(alerts::update_alert).delete(alerts::delete_alert),
            )),
        )
        .route(
            "/api/v2/{org}/alerts/{id}/enable",
            with(Write, patch(alerts::enable_alert)),
        )
        .route(
            "/api/v2/{org}/alerts/{id}/trigger",
            with(Write, patch(alerts::trigger_alert)),
        );

    let dashboarding = Router::new()
        .route(
            "/api/{org}/dashboards",
            with(Read, get(dashboards::list)).merge(with(Write, post(dashboards::create))),
        )
        .route(
            "/api/{org}/dashboards/move",
            with(Write, patch(dashboards::move_dashboards)),
        )
        .route(
            "/api/{org}/dashboards/import/grafana",
            with(Write, post(dashboards::import_grafana)),
        )
        .route(
            "/api/{org}/dashboards/{id}",
            with(Read, get(dashboards::get)).merge(with(
                Write,
                put(dashboards::update).delete(dashboards::delete),
            )),
        )
        .route(
            "/api/{org}/savedviews",
            with(Read, get(views::list).post(views::create)),
        )
        .route(
            "/api/{org}/savedviews/{view_id}",
            with(
                Read,
                get(views::get).put(views::update).delete(views::delete),
            ),
        )
        .route(
            "/api/v2/{org}/folders/dashboards",
            with(Read, get(dashboards::list_folders))
                .merge(with(Write, post(dashboards::create_folder))),
        )
        .route(
            "/api/v2/{org}/folders/dashboards/{folder_id}",
            with(Read, get(dashboards::get_folder)).merge(with(
                Write,
                put(dashboards::update_folder).delete(dashboards::delete_folder),
            )),
        );

    let prom = "/api/{org}/prometheus/api/v1";
    let prometheus_api = Router::new()
        .route(
            &format!("{prom}/write"),
            ingest_via(post(prometheus::write::write)),
        )
        .route(
            &format!("{prom}/query"),
            query(get(prometheus::query::query).post(prometheus::query::query)),
        )
        .route(
            &format!("{prom}/query_range"),
            query(get(prometheus::query::query_range).post(prometheus::query::query_range)),
        )
        .route(
            &format!("{prom}/format_query"),
            with(
                Read,
                get(prometheus::query::format_query).post(prometheus::query::format_query),
            ),
        )
        .route(
            &format!("{prom}/status/buildinfo"),
            with(Read, get(prometheus::query::buildinfo)),
        )
        .route(
            &format!("{prom}/series"),
            query(get(prometheus::series::series).post(prometheus::series::series)),
        )
        .route(
            &format!("{prom}/labels"),
            query(get(prometheus::series::labels).post(prometheus::series::labels)),
        )
        .route(
            &format!("{prom}/label/{{name}}/values"),
            query(get(prometheus::series::label_values)),
        )
        .route(
            &format!("{prom}/metadata"),
            with(Read, get(prometheus::series::metadata)),
        )
        .route(
            &format!("{prom}/query_exemplars"),
            query(
                get(prometheus::series::query_exemplars).post(prometheus::series::query_exemplars),
            ),
        );

    // Splunk HEC authenticates inside its handlers: its token names the organization, and
    // its senders expect HEC-shaped refusals.
    let hec = Router::new()
        .route("/services/collector", post(hec::event))
        .route("/services/collector/event", post(hec::event))
        .route("/services/collector/event/1.0", post(hec::event))
        .route("/services/collector/raw", post(hec::raw))
        .route("/services/collector/raw/1.0", post(hec::raw))
        .route("/services/collector/ack", post(hec::ack))
        .route("/services/collector/health", get(hec::health))
        .route("/services/collector/health/1.0", get(hec::health))
        .route_layer(routed(proxy::Class::Ingest));

    let metrics_route = if app.config.metrics_public {
        get(health::metrics)
    } else {
        with(Root, get(health::metrics))
    };
    let sessions = Router::new()
        .route("/auth/login", post(session::login))
        .route("/auth/logout", post(session::logout))
        .route("/auth/me", get(session::me));

    let operations = Router::new()
        .route("/healthz", get(health::healthz).head(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", metrics_route)
        .route("/node/flush", with(Root, put(health::flush)))
        .route("/node/compact", with(Root, put(health::compact)))
        .route("/node/audit", with(Root, get(audit::list_installation)))
        .route("/node/cluster/ingesters", with(Root, get(cluster::list)))
        .route(
            "/node/cluster/ingesters/{node}/forget",
            with(Root, post(cluster::forget)),
        );

    Router::new()
        .merge(ingest)
        .merge(elasticsearch)
        .merge(search)
        .merge(management)
        .merge(alerting)
        .merge(dashboarding)
        .merge(prometheus_api)
        .merge(hec)
        .merge(sessions)
        .merge(operations)
        .merge(kansoku_ui::router())
        .fallback(fallback)
        .layer(middleware::from_fn(guard::no_basic_challenge_for_browsers))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            request_log::log_request,
        ))
        .with_state(app)
}

/// Every method on an Elasticsearch set-up object (templates, policies, pipelines).
fn setup_methods() -> MethodRouter<App> {
    get(es::setup_object)
        .head(es::setup_object)
        .put(es::setup_object)
        .post(es::setup_object)
        .delete(es::setup_object)
}

/// Unknown `/api` paths get a JSON 404; anything else is a page of the single-page UI.
async fn fallback(uri: Uri) -> Response {
    if uri.path() == "/api" || uri.path().starts_with("/api/") {
        return ApiError::new(ErrorCode::NotFound, "no such API route").into_response();
    }
    kansoku_ui::spa_fallback(uri).await
}
