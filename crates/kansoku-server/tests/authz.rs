//! Every route, every kind of caller: the permission table is what the middleware enforces, and
//! nobody reads, writes or lists anything of an organisation they do not belong to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Needs {
    Ingest,
    Read,
    Write,
    Admin,
    Root,
    Authenticated,
    /// Splunk HEC: only an ingestion token, which names its own organization.
    HecToken,
}

struct Route {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    raw: Option<&'static str>,
    needs: Needs,
}

fn route(method: Method, path: &'static str, needs: Needs) -> Route {
    Route {
        method,
        path,
        body: None,
        raw: None,
        needs,
    }
}

fn routes() -> Vec<Route> {
    let search = json!({"query": {"sql": "SELECT * FROM app", "start_time": 1, "end_time": now_micros() + 1}});
    vec![
        Route {
            raw: Some("[{\"a\":1}]"),
            ..route(Method::POST, "/api/default/app/_json", Needs::Ingest)
        },
        Route {
            raw: Some("{\"a\":1}"),
            ..route(Method::POST, "/api/default/app/_multi", Needs::Ingest)
        },
        Route {
            body: Some(json!({"streams": []})),
            ..route(Method::POST, "/api/default/loki/api/v1/push", Needs::Ingest)
        },
        Route {
            raw: Some("{\"index\":{\"_index\":\"app\"}}\n{\"a\":1}\n"),
            ..route(Method::POST, "/api/default/_bulk", Needs::Ingest)
        },
        Route {
            raw: Some("{\"index\":{}}\n{\"a\":1}\n"),
            ..route(Method::PUT, "/api/default/app/_bulk", Needs::Ingest)
        },
        Route {
            body: Some(json!({"a": 1})),
            ..route(Method::POST, "/api/default/app/_doc", Needs::Ingest)
        },
        Route {
            body: Some(json!({"a": 1})),
            ..route(Method::PUT, "/api/default/app/_doc/1", Needs::Ingest)
        },
        route(Method::GET, "/api/default/", Needs::Ingest),
        route(Method::GET, "/api/default/_license", Needs::Ingest),
        route(Method::GET, "/api/default/_xpack", Needs::Ingest),
        route(Method::PUT, "/api/default/_index_template/t", Needs::Ingest),
        Route {
            body: Some(search.clone()),
            ..route(Method::POST, "/api/default/_search", Needs::Read)
        },
        Route {
            body: Some(search),
            ..route(Method::POST, "/api/default/_download", Needs::Read)
        },
        route(
            Method::GET,
            "/api/default/app/_values?fields=a",
            Needs::Read,
        ),
        route(Method::GET, "/api/default/app/_around?key=1", Needs::Read),
        // base64 of `SELECT * FROM app`
        route(
            Method::GET,
            "/api/default/_download?sql=U0VMRUNUICogRlJPTSBhcHA",
            Needs::Read,
        ),
        // An invalid type makes an allowed tail answer 400 at once instead of streaming.
        route(
            Method::GET,
            "/api/default/app/_tail?type=bogus",
            Needs::Read,
        ),
        route(Method::GET, "/auth/me", Needs::Authenticated),
        route(Method::GET, "/api/default/streams", Needs::Read),
        route(Method::GET, "/api/default/streams/app/schema", Needs::Read),
        Route {
            body: Some(json!({"data_retention": 3})),
            ..route(
                Method::PUT,
                "/api/default/streams/app/settings",
                Needs::Write,
            )
        },
        route(Method::DELETE, "/api/default/streams/nothing", Needs::Admin),
        route(Method::GET, "/api/default/users", Needs::Read),
        Route {
            body: Some(
                json!({"email": "new@example.com", "password": "Newuser#123", "role": "viewer"}),
            ),
            ..route(Method::POST, "/api/default/users", Needs::Admin)
        },
        route(
            Method::DELETE,
            "/api/default/users/nobody@example.com",
            Needs::Admin,
        ),
        route(Method::GET, "/api/default/ingestion-tokens", Needs::Admin),
        Route {
            body: Some(json!({"name": "t"})),
            ..route(Method::POST, "/api/default/ingestion-tokens", Needs::Admin)
        },
        route(
            Method::DELETE,
            "/api/default/ingestion-tokens/none",
            Needs::Admin,
        ),
        route(Method::GET, "/api/organizations", Needs::Authenticated),
        route(Method::GET, "/api/default/alerts/templates", Needs::Read),
        route(
            Method::GET,
            "/api/default/alerts/templates/none",
            Needs::Read,
        ),
        Route {
            body: Some(json!({"name": "t", "body": "x"})),
            ..route(Method::POST, "/api/default/alerts/templates", Needs::Write)
        },
        Route {
            body: Some(json!({"body": "{alert_name}"})),
            ..route(
                Method::POST,
                "/api/default/alerts/templates/preview",
                Needs::Read,
            )
        },
        route(
            Method::DELETE,
            "/api/default/alerts/templates/none",
            Needs::Write,
        ),
        route(Method::GET, "/api/default/alerts/destinations", Needs::Read),
        Route {
            body: Some(json!({"name": "d", "url": "https://example.com/hook"})),
            ..route(
                Method::POST,
                "/api/default/alerts/destinations",
                Needs::Write,
            )
        },
        route(
            Method::POST,
            "/api/default/alerts/destinations/none/test",
            Needs::Write,
        ),
        route(
            Method::DELETE,
            "/api/default/alerts/destinations/none",
            Needs::Write,
        ),
        route(Method::GET, "/api/v2/default/alerts", Needs::Read),
        route(Method::GET, "/api/v2/default/alerts/history", Needs::Read),
        Route {
            body: Some(json!({"name": "p", "stream_name": "app", "destinations": ["x"]})),
            ..route(Method::POST, "/api/v2/default/alerts/preview", Needs::Read)
        },
        route(Method::GET, "/api/v2/default/alerts/none", Needs::Read),
        route(
            Method::PATCH,
            "/api/v2/default/alerts/none/trigger",
            Needs::Write,
        ),
        route(
            Method::PATCH,
            "/api/v2/default/alerts/none/enable?value=false",
            Needs::Write,
        ),
        route(Method::DELETE, "/api/v2/default/alerts/none", Needs::Write),
        Route {
            raw: Some("templates: []"),
            ..route(Method::POST, "/api/default/alerts/apply", Needs::Write)
        },
        route(Method::GET, "/api/default/dashboards", Needs::Read),
        route(
            Method::GET,
            "/api/default/dashboards/builtin-kubernetes",
            Needs::Read,
        ),
        Route {
            body: Some(json!({"title": "made by the authz test"})),
            ..route(Method::POST, "/api/default/dashboards", Needs::Write)
        },
        Route {
            body: Some(json!({"title": "renamed"})),
            ..route(Method::PUT, "/api/default/dashboards/none", Needs::Write)
        },
        route(Method::DELETE, "/api/default/dashboards/none", Needs::Write),
        Route {
            body: Some(json!({"dashboard_ids": [], "dst_folder_id": "default"})),
            ..route(Method::PATCH, "/api/default/dashboards/move", Needs::Write)
        },
        Route {
            body: Some(json!({"title": "g", "panels": []})),
            ..route(
                Method::POST,
                "/api/default/dashboards/import/grafana?save=false",
                Needs::Write,
            )
        },
        route(
            Method::GET,
            "/api/v2/default/folders/dashboards",
            Needs::Read,
        ),
        route(Method::GET, "/api/default/savedviews", Needs::Read),
        Route {
            body: Some(json!({"view_name": "mine", "data": {"sql": "SELECT 1"}})),
            ..route(Method::POST, "/api/default/savedviews", Needs::Read)
        },
        route(Method::GET, "/api/default/savedviews/none", Needs::Read),
        route(Method::DELETE, "/api/default/savedviews/none", Needs::Read),
        route(
            Method::GET,
            "/api/v2/default/folders/dashboards/default",
            Needs::Read,
        ),
        Route {
            body: Some(json!({"name": "authz"})),
            ..route(
                Method::POST,
                "/api/v2/default/folders/dashboards",
                Needs::Write,
            )
        },
        Route {
            body: Some(json!({"name": "renamed"})),
            ..route(
                Method::PUT,
                "/api/v2/default/folders/dashboards/none",
                Needs::Write,
            )
        },
        route(
            Method::DELETE,
            "/api/v2/default/folders/dashboards/none",
            Needs::Write,
        ),
        // OTLP/JSON bodies (an empty request is a valid export of nothing).
        Route {
            body: Some(json!({"resourceLogs": []})),
            ..route(Method::POST, "/api/default/v1/logs", Needs::Ingest)
        },
        Route {
            body: Some(json!({"resourceSpans": []})),
            ..route(Method::POST, "/api/default/v1/traces", Needs::Ingest)
        },
        Route {
            body: Some(json!({"resourceMetrics": []})),
            ..route(Method::POST, "/api/default/v1/metrics", Needs::Ingest)
        },
        route(
            Method::GET,
            "/api/default/default/traces/latest",
            Needs::Read,
        ),
        route(
            Method::GET,
            "/api/default/default/traces/services",
            Needs::Read,
        ),
        // A malformed id answers 400 once allowed, before any lookup.
        route(
            Method::GET,
            "/api/default/default/traces/nothex",
            Needs::Read,
        ),
        Route {
            body: Some(json!({"name": "made-by-test"})),
            ..route(Method::POST, "/api/organizations", Needs::Root)
        },
        Route {
            raw: Some("not snappy"),
            ..route(
                Method::POST,
                "/api/default/prometheus/api/v1/write",
                Needs::Ingest,
            )
        },
        route(
            Method::GET,
            "/api/default/prometheus/api/v1/query?query=up",
            Needs::Read,
        ),
        route(
            Method::GET,
            "/api/default/prometheus/api/v1/query_range?query=up&start=1&end=2&step=1",
            Needs::Read,
        ),
        route(
            Method::GET,
            "/api/default/prometheus/api/v1/series?match[]=up",
            Needs::Read,
        ),
        route(
            Method::GET,
            "/api/default/prometheus/api/v1/labels",
            Needs::Read,
        ),
        route(
            Method::GET,
            "/api/default/prometheus/api/v1/label/job/values",
            Needs::Read,
        ),
        route(
            Method::GET,
            "/api/default/prometheus/api/v1/metadata",
            Needs::Read,
        ),
        route(
            Method::GET,
            "/api/default/prometheus/api/v1/query_exemplars?query=up",
            Needs::Read,
        ),
        route(
            Method::GET,
            "/api/default/prometheus/api/v1/format_query?query=up",
            Needs::Read,
        ),
        route(
            Method::GET,
            "/api/default/prometheus/api/v1/status/buildinfo",
            Needs::Read,
        ),
        Route {
            raw: Some("{\"event\": \"hello\"}"),
            ..route(Method::POST, "/services/collector/event", Needs::HecToken)
        },
        Route {
            raw: Some("hello"),
            ..route(Method::POST, "/services/collector/raw", Needs::HecToken)
        },
        Route {
            body: Some(json!({"acks": [0]})),
            ..route(Method::POST, "/services/collector/ack", Needs::HecToken)
        },
        route(
            Method::GET,
            "/api/default/streams/app/pipeline",
            Needs::Read,
        ),
        Route {
            body: Some(json!({"steps": [{"type": "rename", "from": "a", "to": "b"}]})),
            ..route(
                Method::PUT,
                "/api/default/streams/app/pipeline",
                Needs::Write,
            )
        },
        Route {
            body: Some(json!({"records": [{"a": 1}]})),
            ..route(
                Method::POST,
                "/api/default/streams/app/pipeline/test",
                Needs::Write,
            )
        },
        route(
            Method::DELETE,
            "/api/default/streams/app/pipeline",
            Needs::Write,
        ),
        route(Method::GET, "/metrics", Needs::Root),
        route(Method::PUT, "/node/flush", Needs::Root),
        route(Method::PUT, "/node/compact", Needs::Root),
        route(Method::GET, "/node/audit", Needs::Root),
        route(Method::GET, "/api/default/audit", Needs::Admin),
        route(Method::GET, "/api/default/quotas", Needs::Admin),
        Route {
            body: Some(json!({"storage_bytes": null})),
            ..route(Method::PUT, "/api/default/quotas", Needs::Root)
        },
    ]
}

#[derive(Debug, Clone, Copy)]
enum Caller {
    Anonymous,
    Root,
    Admin,
    Editor,
    Viewer,
    Ingester,
    Token,
    OtherOrgAdmin,
    OtherOrgToken,
}

fn allowed(caller: Caller, needs: Needs) -> bool {
    use Needs::*;
    if needs == HecToken {
        return matches!(caller, Caller::Token | Caller::OtherOrgToken);
    }
    match caller {
        Caller::Anonymous => false,
        Caller::Root => true,
        Caller::Admin => needs != Root,
        Caller::Editor => matches!(needs, Ingest | Read | Write | Authenticated),
        Caller::Viewer => matches!(needs, Read | Authenticated),
        Caller::Ingester => matches!(needs, Ingest | Authenticated),
        Caller::Token => needs == Ingest,
        Caller::OtherOrgAdmin => needs == Authenticated,
        Caller::OtherOrgToken => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_enforces_the_permission_table() {
    let server = TestServer::start().await;
    server.ingest("default", "app", &[json!({"a": 1})]).await;
    server
        .ingest("other", "secret", &[json!({"a": "TOPSECRET"})])
        .await;
    let admin = server
        .create_user("default", "admin@example.com", "admin")
        .await;
    let editor = server
        .create_user("default", "editor@example.com", "editor")
        .await;
    let viewer = server
        .create_user("default", "viewer@example.com", "viewer")
        .await;
    let ingester = server
        .create_user("default", "ingester@example.com", "ingester")
        .await;
    let other_admin = server
        .create_user("other", "other@example.com", "admin")
        .await;
    let token = |org: &str| {
        let request = server
            .root(Method::POST, &format!("/api/{org}/ingestion-tokens"))
            .json(&json!({"name": "matrix"}));
        async move {
            request.send().await.unwrap().json::<Value>().await.unwrap()["token"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let default_token = token("default").await;
    let other_token = token("other").await;
    let callers = [
        (Caller::Anonymous, None),
        (
            Caller::Root,
            Some((ROOT.to_string(), ROOT_PASSWORD.to_string())),
        ),
        (Caller::Admin, Some(admin)),
        (Caller::Editor, Some(editor)),
        (Caller::Viewer, Some(viewer)),
        (Caller::Ingester, Some(ingester)),
        (Caller::Token, Some(("agent".to_string(), default_token))),
        (Caller::OtherOrgAdmin, Some(other_admin)),
        (
            Caller::OtherOrgToken,
            Some(("agent".to_string(), other_token)),
        ),
    ];
    for route in routes() {
        for (caller, credentials) in &callers {
            let mut request = server.anonymous(route.method.clone(), route.path);
            if let Some((user, password)) = credentials {
                request = request.basic_auth(user, Some(password));
            }
            if let Some(body) = &route.body {
                request = request.json(body);
            }
            if let Some(raw) = route.raw {
                request = request.body(raw);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let body = response.text().await.unwrap();
            let expected_allowed = allowed(*caller, route.needs);
            let denied = status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN;
            assert_eq!(
                !denied, expected_allowed,
                "{:?} {} as {caller:?}: {status} {body}",
                route.method, route.path
            );
            if matches!(caller, Caller::Anonymous) {
                assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{} {}",
                    route.method,
                    route.path
                );
            }
            assert!(
                !body.contains("TOPSECRET"),
                "{} {} as {caller:?} leaked another org's data",
                route.method,
                route.path
            );
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_of_another_org_are_closed_to_its_non_members() {
    let server = TestServer::start().await;
    server
        .ingest("other", "secret", &[json!({"a": "TOPSECRET"})])
        .await;
    let (user, password) = server
        .create_user("default", "admin@example.com", "admin")
        .await;
    for (method, path) in [
        (Method::POST, "/api/other/secret/_json"),
        (Method::POST, "/api/other/_bulk"),
        (Method::POST, "/api/other/loki/api/v1/push"),
        (Method::POST, "/api/other/_search"),
        (Method::GET, "/api/other/secret/_values?fields=a"),
        (Method::GET, "/api/other/secret/_around?key=1"),
        (
            Method::GET,
            "/api/other/_download?sql=U0VMRUNUICogRlJPTSBzZWNyZXQ",
        ),
        (Method::GET, "/api/other/secret/_tail"),
        (Method::GET, "/api/other/streams"),
        (Method::GET, "/api/other/streams/secret/schema"),
        (Method::PUT, "/api/other/streams/secret/settings"),
        (Method::DELETE, "/api/other/streams/secret"),
        (Method::GET, "/api/other/users"),
        (Method::GET, "/api/other/quotas"),
        (Method::PUT, "/api/other/quotas"),
        (Method::GET, "/api/other/ingestion-tokens"),
        (Method::GET, "/api/other/_license"),
        (Method::GET, "/api/other/alerts/templates"),
        (Method::GET, "/api/other/alerts/destinations"),
        (Method::GET, "/api/v2/other/alerts"),
        (Method::GET, "/api/other/dashboards"),
        (Method::GET, "/api/other/dashboards?title="),
        (Method::POST, "/api/other/dashboards"),
        (Method::GET, "/api/v2/other/folders/dashboards"),
        (Method::GET, "/api/other/savedviews"),
        (Method::GET, "/api/v2/other/alerts/history"),
        (Method::POST, "/api/v2/other/alerts"),
        (Method::POST, "/api/other/prometheus/api/v1/write"),
        (Method::GET, "/api/other/prometheus/api/v1/query?query=up"),
        (
            Method::GET,
            "/api/other/prometheus/api/v1/query_range?query=up&start=1&end=2&step=1",
        ),
        (
            Method::GET,
            "/api/other/prometheus/api/v1/series?match[]=up",
        ),
        (Method::GET, "/api/other/prometheus/api/v1/labels"),
        (Method::GET, "/api/other/prometheus/api/v1/label/job/values"),
        (Method::GET, "/api/other/prometheus/api/v1/metadata"),
        (
            Method::GET,
            "/api/other/prometheus/api/v1/query_exemplars?query=up",
        ),
    ] {
        let response = server
            .as_user(&user, &password, method.clone(), path)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
        assert!(!response.text().await.unwrap().contains("TOPSECRET"));
    }
    server.stop().await;
}
