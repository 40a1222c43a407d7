// The metrics explorer: metric list and label browser, the PromQL editor (completion, validation
// as you type), and the result as a chart over the time range or as a table at its end, with
// the step, warnings and infos. Its state is the URL's (see state.ts).
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ApiError } from "../api";
import type { EditorError } from "../components/CodeEditor";
import { TimeRangePicker } from "../components/TimeRangePicker";
import { navigate } from "../router";
import { RefreshPicker, useAutoRefresh } from "../components/RefreshPicker";
import { formatTime, resolveRange } from "../time";
import { InstantTable } from "./InstantTable";
import { LabelBrowser } from "./LabelBrowser";
import { MetricList } from "./MetricList";
import * as promApi from "./promApi";
import { firstSelector, setMatcher } from "./promql";
import { type CompletionSources, PromqlEditor } from "./PromqlEditor";
import { SeriesChart } from "./SeriesChart";
import { type MetricsState, type MetricsView, parseMetricsState, serializeMetricsState } from "./state";
import { autoStepSeconds, formatStep, parseStep, type RangeWindow, rangeWindow, STEP_CHOICES } from "./step";

const VALIDATE_AFTER_MS = 300;

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

interface Outcome {
  response: promApi.PromResponse<promApi.QueryData>;
  range: [number, number]; // µs
  grid?: RangeWindow; // range queries
  took: number; // ms
}

/** `value` once it has stayed the same for `ms`. */
function useSettled<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setSettled(value), ms);
    return () => window.clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

export function MetricsPage({ org, search }: { org: string; search: string }) {
  const state = useMemo(() => parseMetricsState(search), [search]);
  const [draft, setDraft] = useState(state.query);
  const [metrics, setMetrics] = useState<promApi.MetricInfo[] | null>(null);
  const [metricsError, setMetricsError] = useState("");
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [runError, setRunError] = useState("");
  const [parseError, setParseError] = useState<EditorError | null>(null);
  const [loading, setLoading] = useState(false);
  const [runCount, setRunCount] = useState(0);
  const [width, setWidth] = useState(0);
  const results = useRef<HTMLElement>(null);
  const settled = useSettled(draft, VALIDATE_AFTER_MS);

  const update = useCallback(
    (change: Partial<MetricsState>, replace = false) => {
      navigate(`/metrics-explorer?${serializeMetricsState({ ...state, ...change }, org)}`, replace);
    },
    [state, org],
  );

  // The editor follows the URL (back/forward, shared links).
  useEffect(() => setDraft(state.query), [state.query]);

  // The span of the metric list, the label browser and completion, resolved when the range changes.
  const span = useMemo(() => {
    const range = resolveRange({ from: state.from, to: state.to });
    return range && { start: range[0] / 1e6, end: range[1] / 1e6 };
  }, [state.from, state.to]);

  // The automatic step follows the width of the results.
  useEffect(() => {
    const element = results.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setWidth(element.clientWidth));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  const autoStep = span && width ? autoStepSeconds(span.end - span.start, width) : undefined;
  const step = state.step === "auto" ? autoStep : parseStep(state.step);
  const chartStep = state.view === "chart" ? step : undefined; // the table's instant query has none

  useEffect(() => {
    if (!span) return;
    const abort = new AbortController();
    setMetricsError("");
    promApi.listMetrics(org, span, abort.signal).then(setMetrics, (e) => !abort.signal.aborted && setMetricsError(errorText(e)));
    return () => abort.abort();
  }, [org, span]);

  // Validation as you type: the server's parser, through `format_query`.
  useEffect(() => {
    if (!settled.trim()) {
      setParseError(null);
      return;
    }
    const abort = new AbortController();
    promApi.formatQuery(org, settled, abort.signal).then(
      () => setParseError(null),
      (e) => {
        if (!abort.signal.aborted && e instanceof ApiError && e.status === 400) setParseError({ message: e.message });
      },
    );
    return () => abort.abort();
  }, [org, settled]);

  // Runs the query when it, the range, the step or the view change, on demand, and on each
  // auto-refresh tick: over the range for the chart, at the range's end for the table.
  useEffect(() => {
    const range = resolveRange({ from: state.from, to: state.to });
    if (!state.query.trim() || !range || (state.view === "chart" && !chartStep)) {
      setOutcome(null);
      setRunError(range ? "" : "invalid time range");
      setLoading(false);
      return;
    }
    const abort = new AbortController();
    const started = performance.now();
    const grid = chartStep ? rangeWindow(range, chartStep) : undefined;
    setLoading(true);
    setRunError("");
    const answer = grid
      ? promApi.rangeQuery(org, state.query, grid, abort.signal)
      : promApi.instantQuery(org, state.query, range[1] / 1e6, abort.signal);
    answer
      .then(
        (response) => setOutcome({ response, range, grid, took: Math.round(performance.now() - started) }),
        (e) => {
          if (abort.signal.aborted) return;
          setRunError(errorText(e));
          setOutcome(null);
        },
      )
      .finally(() => !abort.signal.aborted && setLoading(false));
    return () => abort.abort();
  }, [org, state.query, state.from, state.to, state.view, chartStep, runCount]);

  useAutoRefresh(state.refresh, () => setRunCount((n) => n + 1));

  // Completion asks the server once per selector and label while the span stays the same.
  const sources = useMemo((): CompletionSources => {
    const cache = new Map<string, Promise<string[]>>();
    const cached = (key: string, load: () => Promise<string[]>) => {
      if (!cache.has(key)) {
        cache.set(
          key,
          load().catch((e) => {
            cache.delete(key);
            throw e;
          }),
        );
      }
      return cache.get(key)!;
    };
    return {
      metrics: metrics ?? [],
      labelNames: (match) => (span ? cached(`names ${match}`, () => promApi.labelNames(org, span, match)) : Promise.resolve([])),
      labelValues: (label, match) =>
        span ? cached(`values ${label} ${match}`, () => promApi.labelValues(org, label, span, match)) : Promise.resolve([]),
    };
  }, [org, span, metrics]);

  const runQuery = (query: string) => {
    setDraft(query);
    if (query === state.query) setRunCount((n) => n + 1);
    else update({ query });
  };
  const format = () => promApi.formatQuery(org, draft).then(setDraft, (e) => setParseError({ message: errorText(e) }));
  const setView = (view: MetricsView) => view !== state.view && update({ view });

  const data = outcome?.response.data;
  const seriesCount = data && (data.resultType === "vector" || data.resultType === "matrix") ? data.result.length : undefined;
  const stepChoices = STEP_CHOICES.includes(state.step) ? STEP_CHOICES : [...STEP_CHOICES, state.step];

  return (
    <div className="metrics-page">
      <div className="toolbar">
        <TimeRangePicker range={{ from: state.from, to: state.to }} onChange={(r) => update({ from: r.from, to: r.to })} />
        <label>
          Step{" "}
          <select aria-label="Step" value={state.step} onChange={(e) => update({ step: e.target.value })}>
            {stepChoices.map((choice) => (
              <option key={choice} value={choice}>
                {choice === "auto" && autoStep ? `auto (${formatStep(autoStep)})` : choice}
              </option>
            ))}
          </select>
        </label>
        <RefreshPicker value={state.refresh} onChange={(refresh) => update({ refresh }, true)} />
        <span className="spacer" />
        <div className="mode-switch" role="radiogroup" aria-label="View">
          <button type="button" role="radio" aria-checked={state.view === "chart"} onClick={() => setView("chart")}>
            Chart
          </button>
          <button type="button" role="radio" aria-checked={state.view === "table"} onClick={() => setView("table")}>
            Table
          </button>
        </div>
      </div>
      <div className="query-bar">
        <PromqlEditor value={draft} sources={sources} error={parseError ?? undefined} onChange={setDraft} onRun={() => runQuery(draft)} />
        <button type="button" onClick={format} title="Pretty-print the query">
          Format
        </button>
        <button type="button" className="primary" onClick={() => runQuery(draft)} disabled={loading}>
          {loading ? "Running…" : "Run"}
        </button>
      </div>
      {parseError && (
        <p className="error query-error" role="alert" data-testid="parse-error">
          {parseError.message}
        </p>
      )}
      <div className="metrics-body">
        <aside className="sidebar metrics-sidebar" aria-label="Metrics browser">
          <MetricList metrics={metrics} error={metricsError} selected={firstSelector(settled)?.metric ?? ""} onPick={runQuery} />
          <LabelBrowser org={org} query={settled} span={span} onPick={(label, value) => runQuery(setMatcher(draft, label, value))} />
        </aside>
        <section className="results-area metrics-results" ref={results} aria-label="Result">
          <div className="results-meta">
            <span data-testid="result-summary">
              {outcome && seriesCount !== undefined && `${seriesCount.toLocaleString()} series`}
              {outcome && seriesCount === undefined && data && data.resultType}
            </span>
            {outcome?.grid && <span className="muted small" data-testid="step-used">step {formatStep(outcome.grid.step)}</span>}
            {outcome && !outcome.grid && <span className="muted small">at {formatTime(outcome.range[1])}</span>}
            {outcome && <span className="muted small">{outcome.took} ms</span>}
            <span className="spacer" />
            {outcome?.grid && <span className="muted small">Drag across the chart to zoom</span>}
          </div>
          {runError && runError !== parseError?.message && (
            <p className="error result-error" role="alert">
              {runError}
            </p>
          )}
          {outcome?.response.warnings?.map((warning) => (
            <p key={warning} className="warn-note result-note" data-testid="warning">
              Warning: {warning}
            </p>
          ))}
          {outcome?.response.infos?.map((info) => (
            <p key={info} className="info-note result-note" data-testid="info">
              Info: {info}
            </p>
          ))}
          {!state.query.trim() && <p className="muted empty">Pick a metric on the left, or write a PromQL query and press Ctrl+Enter.</p>}
          {seriesCount === 0 && (
            <p className="muted empty" data-testid="empty-result">
              Empty result: no series match in this time range.
            </p>
          )}
          {data && data.resultType === "matrix" && outcome?.grid && seriesCount ? (
            <SeriesChart series={data.result} grid={outcome.grid} range={outcome.range} onZoom={(start, end) => update({ from: String(start), to: String(end) })} />
          ) : (
            data && seriesCount !== 0 && <InstantTable data={data} />
          )}
        </section>
      </div>
    </div>
  );
}
