// The landing page after sign-in, over a range (last hour, 24 hours or 7 days): what arrives
// (records per interval of the five busiest logs streams; records, stored bytes and last data
// time per stream, with a bar of records), errors over time across the logs streams that have a
// level field, and links to everything else.
import { useEffect, useMemo, useState } from "react";
import * as api from "../api";
import { plural } from "../format";
import { chooseLevelField } from "../logs/logline";
import { TimeChart } from "../logs/VisualizePanel";
import { fillZeros, pivotTimeSeries } from "../logs/visualize";
import { formatBytes } from "../pages/StreamsPage";
import { navigate } from "../router";
import { formatTime, resolveRange } from "../time";
import { busiest, errorsSql, volumeSql } from "./errors";

const RANGES = [
  { label: "Last 1 hour", from: "now-1h" },
  { label: "Last 24 hours", from: "now-24h" },
  { label: "Last 7 days", from: "now-7d" },
];

type StreamType = "logs" | "traces" | "metrics";
interface Row extends api.StreamInfo {
  type: StreamType;
}

/** Records per interval (`SELECT histogram(_timestamp) AS t, count(*) AS n …`) of some streams. */
interface Counts {
  streams: { name: string; total: number }[];
  hits: Record<string, unknown>[];
  failures: string[];
  interval?: number;
}

/** Runs one histogram query per stream over the range (again when they or the range change). */
function useCounts(org: string, queries: { name: string; sql: string }[] | null, range: [number, number]): Counts | null {
  const [counts, setCounts] = useState<Counts | null>(null);
  const key = JSON.stringify(queries);
  useEffect(() => {
    if (!queries) return;
    setCounts(null);
    const abort = new AbortController();
    const search = (sql: string) => api.search(org, { sql, startTime: range[0], endTime: range[1], size: 10_000 }, abort.signal);
    Promise.allSettled(queries.map((q) => search(q.sql))).then((outcomes) => {
      if (abort.signal.aborted) return;
      const result: Counts = { streams: [], hits: [], failures: [] };
      outcomes.forEach((outcome, index) => {
        const name = queries[index].name;
        if (outcome.status === "rejected") {
          result.failures.push(`${name}: ${outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason)}`);
          return;
        }
        const { hits, histogram_interval } = outcome.value;
        result.interval = histogram_interval ?? result.interval;
        result.streams.push({ name, total: hits.reduce((n, h) => n + Number(h.n), 0) });
        for (const h of hits) result.hits.push({ x_axis_1: h.t, breakdown_1: name, y_axis_1: Number(h.n) });
      });
      setCounts(result);
    });
    return () => abort.abort();
  }, [org, key, range]); // eslint-disable-line react-hooks/exhaustive-deps
  return counts;
}

const chartOf = (counts: Counts | null, range: [number, number]) =>
  counts && counts.hits.length ? fillZeros(pivotTimeSeries(counts.hits), counts.interval, range) : null;

/** "golang (120), k8s (31)": the streams with records, most first. */
const byStream = (counts: Counts) =>
  counts.streams
    .filter((s) => s.total > 0)
    .sort((a, b) => b.total - a.total)
    .map((s) => `${s.name} (${s.total.toLocaleString()})`)
    .join(", ");

const enc = encodeURIComponent;

function Link({ href, children }: { href: string; children: React.ReactNode }) {
  return (
    <a
      href={href}
      onClick={(e) => {
        e.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}

export function HomePage({ org }: { org: string }) {
  const [rows, setRows] = useState<Row[] | null>(null);
  const [error, setError] = useState("");
  const [rangeFrom, setRangeFrom] = useState("now-24h");
  const range = useMemo(() => resolveRange({ from: rangeFrom, to: "now" })!, [rangeFrom]);
  const rangeLabel = RANGES.find((r) => r.from === rangeFrom)!.label.toLowerCase();

  useEffect(() => {
    const types: StreamType[] = ["logs", "traces", "metrics"];
    Promise.all(
      types.map((type) =>
        api.listStreamsWithSchema(org, type).then((list) => list.map((s) => ({ ...s, type }))),
      ),
    ).then(
      (lists) => setRows(lists.flat().sort((a, b) => b.stats.doc_num - a.stats.doc_num || a.name.localeCompare(b.name))),
      (e) => setError(e instanceof Error ? e.message : String(e)),
    );
  }, [org]);

  const logs = useMemo(() => (rows ?? []).filter((r) => r.type === "logs"), [rows]);
  // Ingest over time: the five logs streams with the most records.
  const volumeQueries = useMemo(() => (rows ? busiest(logs).map((r) => ({ name: r.name, sql: volumeSql(r.name) })) : null), [rows, logs]);
  // Errors over time: every logs stream with a text level field.
  const errorQueries = useMemo(
    () =>
      rows
        ? logs.flatMap((r) => {
            const levelField = chooseLevelField((r.schema ?? []).filter((f) => /^utf8/i.test(f.type)).map((f) => f.name));
            return levelField ? [{ name: r.name, sql: errorsSql(r.name, levelField) }] : [];
          })
        : null,
    [rows, logs],
  );
  const volume = useCounts(org, volumeQueries, range);
  const errors = useCounts(org, errorQueries, range);
  const volumeChart = useMemo(() => chartOf(volume, range), [volume, range]);
  const chart = useMemo(() => chartOf(errors, range), [errors, range]);
  const maxRecords = Math.max(1, ...(rows ?? []).map((r) => r.stats.doc_num));
  const totalErrors = errors?.streams.reduce((n, s) => n + s.total, 0) ?? 0;
  const totalVolume = volume?.streams.reduce((n, s) => n + s.total, 0) ?? 0;

  if (error) return <p className="error home-page">{error}</p>;
  return (
    <div className="home-page">
      <div className="home-head">
        <span className="spacer" />
        <select aria-label="Home time range" value={rangeFrom} onChange={(e) => setRangeFrom(e.target.value)}>
          {RANGES.map((r) => (
            <option key={r.from} value={r.from}>
              {r.label}
            </option>
          ))}
        </select>
      </div>
      <section className="home-card" aria-label="Ingest volume">
        <h3>Ingest volume</h3>
        {!rows && <p className="muted">Loading…</p>}
        {volume && volume.streams.length > 0 && (
          <div data-testid="ingest-over-time">
            <p data-testid="ingest-total">
              <strong>{plural(totalVolume, "record")}</strong> <span className="muted small">in the {rangeLabel.replace(/^last 1 /, "last ")}</span>
              {totalVolume > 0 && <span className="muted small">: {byStream(volume)}</span>}
            </p>
            {volumeChart ? <TimeChart data={volumeChart} range={range} type="line" /> : <p className="muted">No records in this time range.</p>}
          </div>
        )}
        {volume?.failures.map((f) => (
          <p key={f} className="error small">
            {f}
          </p>
        ))}
        {rows && rows.length === 0 && (
          <p className="muted">
            Nothing has arrived yet. Send logs to <code>POST /api/{org}/&lt;stream&gt;/_json</code> or <code>/api/{org}/_bulk</code>, traces and metrics over
            OTLP.
          </p>
        )}
        {rows && rows.length > 0 && (
          <table className="data-table home-streams">
            <thead>
              <tr>
                <th>Stream</th>
                <th>Type</th>
                <th className="num">Records</th>
                <th className="volume-col" aria-label="Records (bar)" />
                <th className="num">Stored</th>
                <th>Last data</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={`${r.type}/${r.name}`} data-stream={r.name} data-type={r.type}>
                  <td>
                    <Link
                      href={
                        r.type === "logs"
                          ? `/logs?org=${enc(org)}&stream=${enc(r.name)}`
                          : r.type === "traces"
                            ? `/traces?org=${enc(org)}&stream=${enc(r.name)}`
                            : `/metrics-explorer?org=${enc(org)}`
                      }
                    >
                      {r.name}
                    </Link>
                  </td>
                  <td>{r.type}</td>
                  <td className="num" data-testid="records">
                    {r.stats.doc_num.toLocaleString()}
                  </td>
                  <td className="volume-col">
                    <span className="volume-bar" style={{ width: `${Math.max(1, (100 * r.stats.doc_num) / maxRecords)}%` }} />
                  </td>
                  <td className="num">{formatBytes(r.stats.stored_bytes)}</td>
                  <td className="small">{r.stats.doc_time_max ? formatTime(r.stats.doc_time_max) : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="home-card" aria-label="Errors over time">
        <h3>Errors over time</h3>
        {rows && !errors && <p className="muted">Loading…</p>}
        {errors && errors.streams.length === 0 && errors.failures.length === 0 && (
          <p className="muted" data-testid="errors-empty">
            No logs stream has a level field ({["level", "severity", "severity_text", "log_level", "loglevel", "lvl"].join(", ")}), so errors cannot be told
            apart. Set one in your logger or agent to see them here.
          </p>
        )}
        {errors && errors.streams.length > 0 && (
          <>
            <p data-testid="errors-total">
              <strong>{plural(totalErrors, "error record")}</strong>{" "}
              <span className="muted small">
                {totalErrors > 0 ? "in " : ""}
                {byStream(errors)}
                {" · "}
                {plural(errors.streams.length, "stream")} with a level field
              </span>
            </p>
            {chart ? <TimeChart data={chart} range={range} type="bar" /> : <p className="muted">No error records in this time range.</p>}
          </>
        )}
        {errors?.failures.map((f) => (
          <p key={f} className="error small">
            {f}
          </p>
        ))}
      </section>
      <section className="home-card" aria-label="Quick links">
        <h3>Go to</h3>
        {/* Link names avoid the top bar's ("Logs", "Traces" …), so each name finds one link. */}
        {logs.length > 0 && (
          <p className="quick-links">
            <span className="muted">Log streams:</span>
            {logs.map((r) => (
              <Link key={r.name} href={`/logs?org=${enc(org)}&stream=${enc(r.name)}`}>
                {r.name}
              </Link>
            ))}
          </p>
        )}
        <p className="quick-links">
          <Link href={`/traces?org=${enc(org)}`}>Trace search</Link>
          <Link href={`/metrics-explorer?org=${enc(org)}`}>Metric explorer</Link>
          <Link href={`/dashboards?org=${enc(org)}`}>Dashboard list</Link>
          <Link href={`/alerts?org=${enc(org)}`}>Alert rules</Link>
        </p>
      </section>
    </div>
  );
}
