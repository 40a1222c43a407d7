// The logs page: stream and time range, query editor, histogram, field sidebar, results (as log
// lines), record panel, Visualize, saved views and history, download and live tail. Its state is
// the URL's (see state.ts).
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import * as api from "../api";
import { FieldSidebar } from "../components/FieldSidebar";
import { Histogram } from "../components/Histogram";
import { type EditorError, offsetOf } from "../components/CodeEditor";
import { QueryEditor } from "../components/QueryEditor";
import { RecordPanel } from "../components/RecordPanel";
import { ResultsTable } from "../components/ResultsTable";
import { TimeRangePicker } from "../components/TimeRangePicker";
import { plural } from "../format";
import { clearHistory, type HistoryEntry, landingStream, loadHistory, recallStream, recordQuery, rememberStream } from "../logs/history";
import { chooseLevelField, chooseMessageField, filterPlaceholder } from "../logs/logline";
import { HistoryMenu, SavedViewsMenu } from "../logs/ViewsMenu";
import { VisualizePanel } from "../logs/VisualizePanel";
import { bucketMicros, decodeSpec, encodeSpec, type VisualizeSource } from "../logs/visualize";
import { addSqlCondition, FilterError, filterToCondition, filterToSql, quoteIdent, toggleFilterTerm, valueCondition } from "../query";
import { navigate } from "../router";
import { type LogsState, type Mode, parseLogsState, serializeLogsState, SIZES } from "../state";
import { RefreshPicker, useAutoRefresh } from "../components/RefreshPicker";
import { bucketSeconds, resolveRange } from "../time";

const MAX_LIVE_ROWS = 10_000;

export { bucketMicros };

const storage = (): Storage | undefined => {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
};

interface Results {
  hits: api.Hit[];
  took: number;
  partial?: string;
  range: [number, number];
  sql: string;
}

interface HistogramData {
  buckets: { time: number; count: number }[];
  bucketMicros: number;
  total: number;
}

export function LogsPage({ org, search, user = "" }: { org: string; search: string; user?: string }) {
  const state = useMemo(() => parseLogsState(search), [search]);
  const [streamInfos, setStreamInfos] = useState<api.StreamInfo[] | null>(null);
  const streams = useMemo(() => (streamInfos ? streamInfos.map((s) => s.name).sort() : null), [streamInfos]);
  const [fields, setFields] = useState<api.Field[]>([]);
  const [settings, setSettings] = useState<api.StreamSettings | null>(null);
  const [schemaCount, setSchemaCount] = useState(0);
  const [messageSaving, setMessageSaving] = useState(false);
  const [messageError, setMessageError] = useState("");
  const [history, setHistory] = useState<HistoryEntry[]>(() => {
    const store = storage();
    return store ? loadHistory(store, org, user) : [];
  });
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

  // Streams of the org. Without one in the URL: the one this user looked at last, else the one
  // with the most recent data.
  useEffect(() => {
    api.listStreams(org).then(setStreamInfos, () => setStreamInfos([]));
  }, [org]);
  useEffect(() => {
    if (!streamInfos || !streamInfos.length || state.stream) return;
    const store = storage();
    const landing = landingStream(streamInfos, store ? recallStream(store, org, user) : undefined);
    if (landing) update({ stream: landing }, true);
  }, [streamInfos, state.stream, update, org, user]);
  useEffect(() => {
    const store = storage();
    if (state.stream && store && streams?.includes(state.stream)) rememberStream(store, org, user, state.stream);
  }, [state.stream, streams, org, user]);

  // The stream's fields and settings.
  useEffect(() => {
    if (!state.stream) return;
    api.streamSchema(org, state.stream).then(
      (info) => {
        setFields(info.schema ?? []);
        setSettings(info.settings ?? null);
      },
      () => {
        setFields([]);
        setSettings(null);
      },
    );
  }, [org, state.stream, schemaCount]);
  useEffect(() => setMessageError(""), [state.stream]);

  const fieldNamesAll = useMemo(() => fields.map((f) => f.name), [fields]);
  const messageField = chooseMessageField(fieldNamesAll, settings?.message_field);
  const levelField = chooseLevelField(fieldNamesAll);

  const changeMessageField = (field: string) => {
    setMessageSaving(true);
    setMessageError("");
    api.updateSettings(org, state.stream, { message_field: field }).then(
      () => {
        setMessageSaving(false);
        setSchemaCount((n) => n + 1);
      },
      (e: unknown) => {
        setMessageSaving(false);
        const text = e instanceof Error ? e.message : String(e);
        setMessageError(
          e instanceof api.ApiError && e.status === 403 ? `Only editors and admins can change the message field (${text}).` : text,
        );
      },
    );
  };

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
      setResults(null);
      setHistogram(null);
      setLoading(false);
      return;
    }
    if (!sql) return;
    const range = resolveRange({ from: state.from, to: state.to });
    if (!range) {
      setError({ message: "invalid time range" });
      setResults(null);
      setHistogram(null);
      setLoading(false);
      return;
    }
    const abort = new AbortController();
    setLoading(true);
    setError(null);
    const searchDone = api.search(org, { sql, startTime: range[0], endTime: range[1], size: state.size }, abort.signal).then(
      (response) => {
        setResults({ hits: response.hits, took: response.took, partial: api.partialWarning(response), range, sql });
        const store = storage();
        if (store && state.query.trim()) {
          setHistory(
            recordQuery(store, org, user, { stream: state.stream, mode: state.mode, query: state.query, from: state.from, to: state.to, at: Date.now() }),
          );
        }
      },
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
  }, [org, sql, sqlResult.error, state.from, state.to, state.size, state.mode, state.query, runCount]); // eslint-disable-line react-hooks/exhaustive-deps

  useAutoRefresh(state.refresh, () => setRunCount((n) => n + 1));

  // Live tail: records pushed by the server as they are ingested.
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  useEffect(() => {
    if (!live || !sql || !state.stream) return;
    setLiveRows([]);
    setPending([]);
    setPaused(false);
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
    source.addEventListener("lagged", (event) => setLiveStatus(`live (skipped ${plural(Number((event as MessageEvent).data), "batch")})`));
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

  // Visualize: the chart of a field for the current query and range.
  const vizSpec = useMemo(() => decodeSpec(state.viz), [state.viz]);
  const vizSource = useMemo((): VisualizeSource | undefined => {
    if (!state.stream) return undefined;
    if (state.mode === "sql") return { stream: state.stream, sql: state.query.trim() || `SELECT * FROM ${quoteIdent(state.stream)}` };
    try {
      return { stream: state.stream, condition: filterToCondition(state.query, fields) };
    } catch {
      return undefined;
    }
  }, [state.stream, state.mode, state.query, fields]);

  const runHistory = (entry: HistoryEntry) => {
    const otherStream = entry.stream !== state.stream;
    setDraft(entry.query);
    update({
      stream: entry.stream,
      mode: entry.mode,
      query: entry.query,
      from: entry.from,
      to: entry.to,
      record: undefined,
      ...(otherStream ? { columns: [], widths: {}, viz: undefined } : {}),
    });
    if (!otherStream && entry.query === state.query && entry.mode === state.mode) setRunCount((n) => n + 1);
  };

  const hits = useMemo(() => (live ? [...liveRows, ...(results?.hits ?? [])] : results?.hits ?? []), [live, liveRows, results]);
  const selectedHit = state.record ? hits.find((h) => String(h._timestamp) === state.record) : undefined;
  // Stable between renders (relative ranges resolve anew only with new results).
  const range = useMemo(() => results?.range ?? resolveRange({ from: state.from, to: state.to }), [results, state.from, state.to]);
  const fieldNames = fieldNamesAll;
  const placeholder = useMemo(() => filterPlaceholder(fields, results?.hits[0]), [fields, results]);

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
          <select
            aria-label="Stream"
            value={state.stream}
            onChange={(e) => update({ stream: e.target.value, columns: [], record: undefined, widths: {}, viz: undefined })}
          >
            {(streams ?? []).map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <TimeRangePicker range={{ from: state.from, to: state.to }} onChange={(r) => update({ from: r.from, to: r.to })} />
        <RefreshPicker value={state.refresh} onChange={(refresh) => update({ refresh }, true)} />
        <SavedViewsMenu org={org} state={state} onOpen={(next) => navigate(`/logs?${serializeLogsState(next, org)}`)} />
        <HistoryMenu
          entries={history}
          onRun={runHistory}
          onClear={() => {
            const store = storage();
            if (store) clearHistory(store, org, user);
            setHistory([]);
          }}
        />
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
          placeholder={placeholder}
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
          onVisualize={(spec) => update({ viz: encodeSpec(spec) })}
          messageField={{
            setting: settings?.message_field ?? "",
            shown: messageField,
            automatic: chooseMessageField(fieldNamesAll),
            saving: messageSaving,
            error: messageError,
            onChange: changeMessageField,
          }}
        />
        <section className="results-area">
          <div className="results-meta">
            <span data-testid="hit-count">
              {error ? "" : histogram ? plural(histogram.total, "hit") : results ? plural(results.hits.length, "record") : ""}
            </span>
            {!error && results && histogram && results.hits.length < histogram.total && (
              <span className="muted small"> · showing the latest {results.hits.length.toLocaleString()}</span>
            )}
            {!error && results && <span className="muted small"> · {results.took} ms</span>}
            {!error && results?.partial && (
              <span className="warn-note small" role="status" data-testid="partial-warning">
                {" "}
                · {results.partial}
              </span>
            )}
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
          {!error && histogram && range && (
            <Histogram
              buckets={histogram.buckets}
              bucketMicros={histogram.bucketMicros}
              range={range}
              onZoom={(start, end) => update({ from: String(start), to: String(end) })}
            />
          )}
          {!error && histogramNote && <p className="muted small">{histogramNote}</p>}
          {vizSpec && vizSource && range && !error && (
            <VisualizePanel
              org={org}
              spec={vizSpec}
              source={vizSource}
              range={range}
              timeRange={{ from: state.from, to: state.to }}
              fields={fields}
              onChange={(spec) => update({ viz: encodeSpec(spec) }, true)}
              onClose={() => update({ viz: undefined })}
            />
          )}
          <ResultsTable
            hideEmpty={Boolean(error)}
            loading={loading}
            messageField={messageField}
            levelField={levelField}
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
