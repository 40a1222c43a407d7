// The logs page: stream and time range, query editor, histogram, field sidebar, results, record
// panel, download and live tail. Its state is the URL's (see state.ts).
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import * as api from "../api";
import { FieldSidebar } from "../components/FieldSidebar";
import { Histogram } from "../components/Histogram";
import { type EditorError, offsetOf } from "../components/CodeEditor";
import { QueryEditor } from "../components/QueryEditor";
import { RecordPanel } from "../components/RecordPanel";
import { ResultsTable } from "../components/ResultsTable";
import { TimeRangePicker } from "../components/TimeRangePicker";
import { addSqlCondition, FilterError, filterToSql, quoteIdent, toggleFilterTerm, valueCondition } from "../query";
import { navigate } from "../router";
import { type LogsState, type Mode, parseLogsState, serializeLogsState, SIZES } from "../state";
import { bucketSeconds, REFRESH_CHOICES, refreshMillis, resolveRange } from "../time";

const MAX_LIVE_ROWS = 10_000;

/** A histogram key as µs: the API answers o2's UTC text (`2026-11-22T08:03:30`), or a number. */
export function bucketMicros(key: unknown): number {
  if (typeof key === "number") return key;
  const text = String(key);
  return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`) * 1000;
}

interface Results {
  hits: api.Hit[];
  took: number;
  range: [number, number];
  sql: string;
}

interface HistogramData {
  buckets: { time: number; count: number }[];
  bucketMicros: number;
  total: number;
}

export function LogsPage({ org, search }: { org: string; search: string }) {
  const state = useMemo(() => parseLogsState(search), [search]);
  const [streams, setStreams] = useState<string[] | null>(null);
  const [fields, setFields] = useState<api.Field[]>([]);
  const [draft, setDraft] = useState(state.query);
  const [results, setResults] = useState<Results | null>(null);
  const [histogram, setHistogram] = useState<HistogramData | null>(null);
  const [histogramNote, setHistogramNote] = useState("");
  const [error, setError] = useState<EditorError | null>(null);
  const [loading, setLoading] = useState(false);
  const [runCount, setRunCount] = useState(0);
  const [live, setLive] = useState(false);
  const [paused, setPaused] = useState(false);
  const [liveRows, setLiveRows] = useState<api.Hit[]>([]);
  const [pending, setPending] = useState<api.Hit[]>([]);
  const [liveStatus, setLiveStatus] = useState("");

  const update = useCallback(
    (change: Partial<LogsState>, replace = false) => {
      navigate(`/logs?${serializeLogsState({ ...state, ...change }, org)}`, replace);
    },
    [state, org],
  );

  // Streams of the org; pick the first when none is chosen.
  useEffect(() => {
    api.listStreams(org).then(
      (list) => setStreams(list.map((s) => s.name).sort()),
      () => setStreams([]),
    );
  }, [org]);
  useEffect(() => {
    if (streams && streams.length && !state.stream) update({ stream: streams[0] }, true);
  }, [streams, state.stream, update]);

  // The stream's fields.
  useEffect(() => {
    if (!state.stream) return;
    api.streamSchema(org, state.stream).then(
      (info) => setFields(info.schema ?? []),
      () => setFields([]),
    );
  }, [org, state.stream]);

  // The editor follows the URL (back/forward, shared links).
  useEffect(() => setDraft(state.query), [state.query]);

  const sqlResult = useMemo((): { sql?: string; error?: EditorError } => {
    if (!state.stream) return {};
    if (state.mode === "sql") return { sql: state.query.trim() || `SELECT * FROM ${quoteIdent(state.stream)}` };
    try {
      return { sql: filterToSql(state.stream, state.query, fields) };
    } catch (e) {
      if (e instanceof FilterError) return { error: { message: e.message, offset: e.offset } };
      throw e;
    }
  }, [state.stream, state.mode, state.query, fields]);
  const sql = sqlResult.sql;

  // Runs the search and the histogram when the query, stream or range change, on demand, and on
  // each auto-refresh tick.
  useEffect(() => {
    if (sqlResult.error) {
      setError(sqlResult.error);
      return;
    }
    if (!sql) return;
    const range = resolveRange({ from: state.from, to: state.to });
    if (!range) {
      setError({ message: "invalid time range" });
      return;
    }
    const abort = new AbortController();
    setLoading(true);
    setError(null);
    const searchDone = api.search(org, { sql, startTime: range[0], endTime: range[1], size: state.size }, abort.signal).then(
      (response) => setResults({ hits: response.hits, took: response.took, range, sql }),
      (e: unknown) => {
        if (abort.signal.aborted) return;
        const apiError = e instanceof api.ApiError ? e : undefined;
        const offset =
          apiError?.position && state.mode === "sql" ? offsetOf(state.query, apiError.position.line, apiError.position.column) : undefined;
        setError({ message: e instanceof Error ? e.message : String(e), offset });
        setResults(null);
      },
    );
    const bucket = bucketSeconds(range[0], range[1]);
    const source = state.mode === "sql" ? `(${sql}) AS q` : sql.replace(/^SELECT \* FROM /, "");
    const histogramSql = `SELECT histogram(_timestamp, '${bucket}s') AS zo_sql_key, count(*) AS zo_sql_num FROM ${source} GROUP BY zo_sql_key ORDER BY zo_sql_key`;
    const histogramDone = api.search(org, { sql: histogramSql, startTime: range[0], endTime: range[1], size: 10_000 }, abort.signal).then(
      (response) => {
        const buckets = response.hits.map((h) => ({ time: bucketMicros(h.zo_sql_key), count: Number(h.zo_sql_num) }));
        setHistogram({ buckets, bucketMicros: bucket * 1_000_000, total: buckets.reduce((n, b) => n + b.count, 0) });
        setHistogramNote("");
      },
      () => {
        if (abort.signal.aborted) return;
        setHistogram(null);
        setHistogramNote("No histogram for this query (it must return _timestamp).");
      },
    );
    Promise.allSettled([searchDone, histogramDone]).then(() => {
      if (!abort.signal.aborted) setLoading(false);
    });
    return () => abort.abort();
  }, [org, sql, sqlResult.error, state.from, state.to, state.size, state.mode, state.query, runCount]);

  // Auto-refresh.
  useEffect(() => {
    const every = refreshMillis(state.refresh);
    if (!every) return;
    const timer = window.setInterval(() => setRunCount((n) => n + 1), every);
    return () => window.clearInterval(timer);
  }, [state.refresh]);

  // Live tail: records pushed by the server as they are ingested.
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  useEffect(() => {
    if (!live || !sql || !state.stream) return;
    setLiveRows([]);
    setPending([]);
    const source = new EventSource(api.tailUrl(org, state.stream, sql));
    setLiveStatus("connecting…");
    source.onopen = () => setLiveStatus("live");
    source.addEventListener("records", (event) => {
      let rows: api.Hit[] = [];
      try {
        rows = JSON.parse((event as MessageEvent).data);
      } catch {
        return;
      }
      rows.sort((a, b) => Number(b._timestamp) - Number(a._timestamp));
      if (pausedRef.current) setPending((p) => [...rows, ...p].slice(0, MAX_LIVE_ROWS));
      else setLiveRows((r) => [...rows, ...r].slice(0, MAX_LIVE_ROWS));
    });
    source.addEventListener("lagged", (event) => setLiveStatus(`live (skipped ${(event as MessageEvent).data} batches)`));
    source.addEventListener("error", (event) => {
      const data = (event as MessageEvent).data;
      setLiveStatus(data ? `error: ${data}` : "reconnecting…");
    });
    return () => source.close();
  }, [live, sql, org, state.stream]);

  const resume = () => {
    setLiveRows((r) => [...pending, ...r].slice(0, MAX_LIVE_ROWS));
    setPending([]);
    setPaused(false);
  };

  const run = () => {
    if (draft === state.query) setRunCount((n) => n + 1);
    else update({ query: draft });
  };

  const setMode = (mode: Mode) => {
    if (mode === state.mode) return;
    // Filter → SQL keeps the meaning by carrying the generated SQL over.
    const query = mode === "sql" && sql ? sql : "";
    setDraft(query);
    update({ mode, query });
  };

  const onFilter = (field: string, value: string | null, exclude: boolean) => {
    if (state.mode === "filter") {
      if (value === null) {
        const term = `${exclude ? "" : "-"}${field}:*`;
        update({ query: state.query.trim() ? `${state.query.trim()} ${term}` : term, record: undefined });
        return;
      }
      update({ query: toggleFilterTerm(state.query, field, value, exclude), record: undefined });
      return;
    }
    const base = state.query.trim() || `SELECT * FROM ${quoteIdent(state.stream)}`;
    const fieldType = fields.find((f) => f.name === field)?.type ?? "";
    const typed = value !== null && /^(int|uint|float)/i.test(fieldType) && value !== "" && !Number.isNaN(Number(value)) ? Number(value) : value;
    update({ query: addSqlCondition(base, valueCondition(field, typed, exclude)), record: undefined });
  };

  const toggleColumn = (field: string) => {
    const columns = state.columns.includes(field) ? state.columns.filter((c) => c !== field) : [...state.columns, field];
    update({ columns }, true);
  };

  const hits = useMemo(() => (live ? [...liveRows, ...(results?.hits ?? [])] : results?.hits ?? []), [live, liveRows, results]);
  const selectedHit = state.record ? hits.find((h) => String(h._timestamp) === state.record) : undefined;
  const range = results?.range ?? resolveRange({ from: state.from, to: state.to });
  const fieldNames = useMemo(() => fields.map((f) => f.name), [fields]);

  if (streams && streams.length === 0) {
    return (
      <div className="empty-state">
        <h2>No log streams in “{org}” yet</h2>
        <p>
          Send logs to <code>POST /api/{org}/&lt;stream&gt;/_json</code> or the Elasticsearch bulk API <code>/api/{org}/_bulk</code>; they
          appear here as soon as they are acknowledged.
        </p>
      </div>
    );
  }

  return (
    <div className="logs-page">
      <div className="toolbar">
        <label>
          Stream{" "}
          <select aria-label="Stream" value={state.stream} onChange={(e) => update({ stream: e.target.value, columns: [], record: undefined, widths: {} })}>
            {(streams ?? []).map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <TimeRangePicker range={{ from: state.from, to: state.to }} onChange={(r) => update({ from: r.from, to: r.to })} />
        <label>
          Refresh{" "}
          <select aria-label="Auto-refresh" value={state.refresh} onChange={(e) => update({ refresh: e.target.value }, true)}>
            {REFRESH_CHOICES.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        <span className="spacer" />
        <button type="button" className={live ? "on" : ""} aria-pressed={live} onClick={() => setLive(!live)}>
          {live ? "■ Stop live tail" : "▶ Live tail"}
        </button>
        {live && (
          <button type="button" onClick={paused ? resume : () => setPaused(true)}>
            {paused ? `Resume (${pending.length} new)` : "Pause"}
          </button>
        )}
        {live && <span className="muted small" data-testid="live-status">{liveStatus}</span>}
        {sql && range && (
          <span className="downloads">
            Download{" "}
            <a href={api.downloadUrl(org, sql, range[0], range[1], "csv")} download={`${state.stream}.csv`}>
              CSV
            </a>{" "}
            <a href={api.downloadUrl(org, sql, range[0], range[1], "ndjson")} download={`${state.stream}.ndjson`}>
              NDJSON
            </a>
          </span>
        )}
      </div>
      <div className="query-bar">
        <div className="mode-switch" role="radiogroup" aria-label="Query mode">
          <button type="button" role="radio" aria-checked={state.mode === "filter"} onClick={() => setMode("filter")}>
            Filter
          </button>
          <button type="button" role="radio" aria-checked={state.mode === "sql"} onClick={() => setMode("sql")}>
            SQL
          </button>
        </div>
        <QueryEditor
          value={draft}
          mode={state.mode}
          streams={streams ?? []}
          fields={fieldNames}
          error={error ?? undefined}
          onChange={setDraft}
          onRun={run}
        />
        <button type="button" className="primary" onClick={run} disabled={loading}>
          {loading ? "Running…" : "Run"}
        </button>
      </div>
      {error && (
        <p className="error query-error" role="alert">
          {error.message}
        </p>
      )}
      <div className="logs-body">
        <FieldSidebar
          org={org}
          stream={state.stream}
          fields={fields}
          columns={state.columns}
          sql={sql ?? ""}
          range={range}
          onFilter={onFilter}
          onToggleColumn={toggleColumn}
        />
        <section className="results-area">
          <div className="results-meta">
            <span data-testid="hit-count">
              {histogram ? `${histogram.total.toLocaleString()} hits` : results ? `${results.hits.length.toLocaleString()} records` : ""}
            </span>
            {results && histogram && results.hits.length < histogram.total && (
              <span className="muted small"> · showing the latest {results.hits.length.toLocaleString()}</span>
            )}
            {results && <span className="muted small"> · {results.took} ms</span>}
            <span className="spacer" />
            <label className="small">
              Rows{" "}
              <select aria-label="Rows" value={state.size} onChange={(e) => update({ size: Number(e.target.value) })}>
                {SIZES.map((s) => (
                  <option key={s} value={s}>
                    {s.toLocaleString()}
                  </option>
                ))}
              </select>
            </label>
            <label className="small">
              <input type="checkbox" checked={state.wrap} onChange={(e) => update({ wrap: e.target.checked }, true)} /> Wrap lines
            </label>
          </div>
          {histogram && range && (
            <Histogram
              buckets={histogram.buckets}
              bucketMicros={histogram.bucketMicros}
              range={range}
              onZoom={(start, end) => update({ from: String(start), to: String(end) })}
            />
          )}
          {histogramNote && <p className="muted small">{histogramNote}</p>}
          <ResultsTable
            hits={hits}
            columns={state.columns}
            widths={state.widths}
            wrap={state.wrap}
            selected={state.record}
            liveCount={live ? liveRows.length : 0}
            onSelect={(hit) => update({ record: String(hit._timestamp) }, true)}
            onColumns={(columns) => update({ columns }, true)}
            onResize={(column, width) => update({ widths: { ...state.widths, [column]: width } }, true)}
          />
        </section>
        {selectedHit && (
          <RecordPanel
            org={org}
            stream={state.stream}
            hit={selectedHit}
            columns={state.columns}
            onClose={() => update({ record: undefined }, true)}
            onFilter={onFilter}
            onToggleColumn={toggleColumn}
          />
        )}
      </div>
    </div>
  );
}
