//! Five canonical searches on kansoku and on DuckDB over the baseline Parquet file. Both run on
//! the same single core; the answers must be identical before the timings are reported.

use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};

use crate::ingest::STREAM;
use crate::process::{PASSWORD, Server, USER};

struct Query {
    name: &'static str,
    kansoku: String,
    duckdb: String,
}

fn queries(needle: &str) -> Vec<Query> {
    let t = STREAM;
    vec![
        Query {
            name: "needle substring",
            kansoku: format!("SELECT count(*) AS n FROM {t} WHERE str_match(log, '{needle}')"),
            duckdb: format!("SELECT count(*) AS n FROM t WHERE contains(log, '{needle}')"),
        },
        Query {
            name: "case-insensitive phrase",
            kansoku: format!("SELECT count(*) AS n FROM {t} WHERE match_all('Client Request Body Is Buffered')"),
            duckdb: "SELECT count(*) AS n FROM t WHERE coalesce(log ILIKE '%client request body is buffered%', false) OR coalesce(message ILIKE '%client request body is buffered%', false)".to_string(),
        },
        Query {
            name: "count per minute by level",
            kansoku: format!("SELECT _timestamp / 60000000 * 60000000 AS minute, level, count(*) AS n FROM {t} GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST"),
            duckdb: "SELECT _timestamp // 60000000 * 60000000 AS minute, level, count(*) AS n FROM t GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST".to_string(),
        },
        Query {
            name: "top-10 pods",
            kansoku: format!("SELECT kubernetes_pod_name AS pod, count(*) AS n FROM {t} GROUP BY 1 ORDER BY n DESC, pod LIMIT 10"),
            duckdb: "SELECT kubernetes_pod_name AS pod, count(*) AS n FROM t GROUP BY 1 ORDER BY n DESC, pod LIMIT 10".to_string(),
        },
        Query {
            name: "latest 100 of one namespace and level",
            kansoku: format!("SELECT _timestamp, kubernetes_pod_name AS pod, log FROM {t} WHERE kubernetes_namespace_name = 'velero' AND level = 'info' ORDER BY _timestamp DESC LIMIT 100"),
            duckdb: "SELECT _timestamp, kubernetes_pod_name AS pod, log FROM t WHERE kubernetes_namespace_name = 'velero' AND level = 'info' ORDER BY _timestamp DESC LIMIT 100".to_string(),
        },
    ]
}

const RUNS: usize = 5;

const DUCKDB_SCRIPT: &str = r#"
import duckdb, json, sys, time
spec = json.load(sys.stdin)
con = duckdb.connect()
con.execute("SET threads = 1")
con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{spec['parquet']}')")
out = []
for sql in spec["queries"]:
    con.execute(sql).fetchall()
    times = []
    for _ in range(spec["runs"]):
        started = time.perf_counter()
        cursor = con.execute(sql)
        rows = cursor.fetchall()
        times.append((time.perf_counter() - started) * 1000)
    names = [d[0] for d in cursor.description]
    out.append({"times": times, "rows": [dict(zip(names, row)) for row in rows]})
print(json.dumps(out, default=str))
"#;

/// Runs the comparison and prints a table.
pub async fn compare(
    server: &Server,
    python: &Path,
    parquet: &Path,
    range: (i64, i64),
    core: usize,
    needle: &str,
) -> anyhow::Result<()> {
    let queries = queries(needle);
    let spec = json!({
        "parquet": parquet.display().to_string(),
        "queries": queries.iter().map(|q| q.duckdb.clone()).collect::<Vec<_>>(),
        "runs": RUNS,
    });
    let mut child = tokio::process::Command::new("taskset")
        .arg("-c")
        .arg(core.to_string())
        .arg(python)
        .arg("-c")
        .arg(DUCKDB_SCRIPT)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        use tokio::io::AsyncWriteExt;
        stdin.write_all(spec.to_string().as_bytes()).await?;
    }
    let output = child.wait_with_output().await?;
    anyhow::ensure!(
        output.status.success(),
        "duckdb run failed (is the duckdb package installed?)"
    );
    let duck: Vec<Value> = serde_json::from_slice(&output.stdout)?;
    println!(
        "\n## Queries (over all {} data, server and DuckDB each on one core; median of {RUNS} after a warm-up)\n",
        STREAM
    );
    println!("| query | kansoku ms | DuckDB ms | kansoku / DuckDB | answers |");
    println!("|---|---|---|---|---|");
    for (query, duck) in queries.iter().zip(&duck) {
        let (kansoku_rows, kansoku_ms) = run_kansoku(server, &query.kansoku, range).await?;
        let duck_rows = duck["rows"].as_array().cloned().unwrap_or_default();
        let duck_ms = median(
            duck["times"]
                .as_array()
                .map(|t| t.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default(),
        );
        let (ours, theirs) = (normalise(&kansoku_rows), normalise(&duck_rows));
        if ours != theirs {
            let first = ours
                .iter()
                .zip(&theirs)
                .position(|(a, b)| a != b)
                .unwrap_or(ours.len().min(theirs.len()));
            anyhow::bail!(
                "answers differ for '{}': {} rows vs {} rows; first difference at row {first}:\nkansoku: {:?}\nduckdb:  {:?}",
                query.name,
                ours.len(),
                theirs.len(),
                ours.get(first),
                theirs.get(first)
            );
        }
        println!(
            "| {} | {:.1} | {:.1} | {:.2} | identical ({} rows) |",
            query.name,
            kansoku_ms,
            duck_ms,
            kansoku_ms / duck_ms,
            kansoku_rows.len()
        );
    }
    Ok(())
}

async fn run_kansoku(
    server: &Server,
    sql: &str,
    range: (i64, i64),
) -> anyhow::Result<(Vec<Value>, f64)> {
    let body =
        json!({"query": {"sql": sql, "start_time": range.0, "end_time": range.1, "size": 1000}});
    let mut times = Vec::new();
    let mut rows = Vec::new();
    for run in 0..=RUNS {
        let started = Instant::now();
        let response: Value = server
            .client
            .post(format!("{}/api/default/_search", server.base))
            .basic_auth(USER, Some(PASSWORD))
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(
            response.get("hits").is_some(),
            "kansoku query failed: {response}"
        );
        if run > 0 {
            times.push(elapsed);
        }
        rows = response["hits"].as_array().cloned().unwrap_or_default();
    }
    Ok((rows, median(times)))
}

/// Rows as comparable text: every value as a string, missing values as null.
fn normalise(rows: &[Value]) -> Vec<Vec<(String, String)>> {
    rows.iter()
        .map(|row| {
            let mut pairs: Vec<(String, String)> = row
                .as_object()
                .map(|object| {
                    object
                        .iter()
                        .filter(|(_, v)| !v.is_null())
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                v.as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| v.to_string()),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            pairs.sort();
            pairs
        })
        .collect()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}
