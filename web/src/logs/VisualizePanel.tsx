// "Visualize" on the logs page: a chart of one field for the current query and time range (a
// number's avg/sum/max/min per interval, optionally split by another field's top 5; a keyword's
// top 5 values, or its top 3 over time), drawn with uPlot, and "Add to dashboard".
import { useEffect, useMemo, useRef, useState } from "react";
import uPlot from "uplot";
import * as api from "../api";
import { formatValue } from "../metrics/chartData";
import { axisTimeLabels } from "../time";
import { AddToDashboard } from "./AddToDashboard";
import {
  AGGS,
  type Agg,
  type BarData,
  buildPanel,
  chartType,
  fillZeros,
  isNumericType,
  pivotBars,
  pivotTimeSeries,
  type TimeSeriesData,
  visualizeSql,
  visualizeTitle,
  type VisualizeSource,
  type VisualizeSpec,
} from "./visualize";

const COLORS = ["#2f6fde", "#e08a00", "#2e9d6b", "#c2417a", "#8a4fc7", "#1f8a9c", "#9aa3b2"];
const OTHER_COLOR = "#9aa3b2";
const HEIGHT = 220;

export interface VisualizePanelProps {
  org: string;
  spec: VisualizeSpec;
  source: VisualizeSource;
  range: [number, number]; // µs
  timeRange: { from: string; to: string };
  fields: api.Field[];
  onChange: (spec: VisualizeSpec) => void;
  onClose: () => void;
}

type ChartData = { kind: "time"; data: TimeSeriesData } | { kind: "bars"; data: BarData };

export function VisualizePanel({ org, spec, source, range, timeRange, fields, onChange, onClose }: VisualizePanelProps) {
  const sql = useMemo(() => visualizeSql(spec, source), [spec, source]);
  const [chart, setChart] = useState<ChartData | null>(null);
  const [error, setError] = useState("");
  const [loading, setLoading] = useState(false);
  const [adding, setAdding] = useState(false);

  useEffect(() => {
    const abort = new AbortController();
    setLoading(true);
    setError("");
    api.search(org, { sql, startTime: range[0], endTime: range[1], size: 10_000 }, abort.signal).then(
      (response) => {
        setChart(
          spec.kind === "terms"
            ? { kind: "bars", data: pivotBars(response.hits) }
            : spec.kind === "metric"
              ? { kind: "time", data: pivotTimeSeries(response.hits, `${spec.agg}(${spec.field})`) }
              : { kind: "time", data: fillZeros(pivotTimeSeries(response.hits, "count"), response.histogram_interval, range) },
        );
        setLoading(false);
      },
      (e: unknown) => {
        if (abort.signal.aborted) return;
        setChart(null);
        setError(e instanceof Error ? e.message : String(e));
        setLoading(false);
      },
    );
    return () => abort.abort();
  }, [org, sql, range, spec]);

  const splitChoices = fields.filter((f) => f.name !== "_timestamp" && (spec.kind !== "metric" || f.name !== spec.field) && !isNumericType(f.type));
  const empty = chart && (chart.kind === "bars" ? chart.data.labels.length === 0 : chart.data.xs.length === 0);

  return (
    <section className="visualize" aria-label="Visualize" data-testid="visualize">
      <div className="visualize-head">
        <strong data-testid="visualize-title">{visualizeTitle(spec)}</strong>
        {spec.kind === "metric" && (
          <>
            <label className="small">
              Aggregation{" "}
              <select aria-label="Aggregation" value={spec.agg} onChange={(e) => onChange({ ...spec, agg: e.target.value as Agg })}>
                {AGGS.map((a) => (
                  <option key={a} value={a}>
                    {a}
                  </option>
                ))}
              </select>
            </label>
            <label className="small">
              Split by{" "}
              <select
                aria-label="Split by"
                value={spec.split ?? ""}
                onChange={(e) => onChange({ kind: "metric", field: spec.field, agg: spec.agg, ...(e.target.value ? { split: e.target.value } : {}) })}
              >
                <option value="">(none)</option>
                {splitChoices.map((f) => (
                  <option key={f.name} value={f.name}>
                    {f.name}
                  </option>
                ))}
              </select>
            </label>
          </>
        )}
        {spec.kind !== "metric" && (
          <div className="mode-switch" role="radiogroup" aria-label="Chart">
            <button type="button" role="radio" aria-checked={spec.kind === "terms"} onClick={() => onChange({ kind: "terms", field: spec.field })}>
              Top values
            </button>
            <button type="button" role="radio" aria-checked={spec.kind === "terms-time"} onClick={() => onChange({ kind: "terms-time", field: spec.field })}>
              Over time
            </button>
          </div>
        )}
        {loading && <span className="muted small">Loading…</span>}
        <span className="spacer" />
        <button type="button" onClick={() => setAdding(!adding)} aria-expanded={adding}>
          Add to dashboard
        </button>
        <button type="button" className="icon-button" aria-label="Close chart" onClick={onClose}>
          ×
        </button>
      </div>
      {adding && (
        <AddToDashboard
          org={org}
          panel={buildPanel(spec, sql, source.stream)}
          defaultTitle={`${source.stream}: ${visualizeTitle(spec)}`}
          timeRange={timeRange}
          onDone={() => undefined}
        />
      )}
      {error && (
        <p className="error small" role="alert">
          {error}
        </p>
      )}
      {empty && <p className="muted small">No values of {spec.kind === "metric" ? spec.field : spec.field} in this time range.</p>}
      {chart && !empty && (chart.kind === "time" ? <TimeChart data={chart.data} range={range} type={chartType(spec)} /> : <BarChart data={chart.data} />)}
      <details className="visualize-sql small">
        <summary>SQL</summary>
        <code>{sql}</code>
      </details>
    </section>
  );
}

const colourOf = (name: string, index: number) => (name === "Other" ? OTHER_COLOR : COLORS[index % COLORS.length]);

function usePlot(make: (element: HTMLDivElement) => uPlot | null, deps: unknown[]) {
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const plot = make(element);
    if (!plot) return;
    const observer = new ResizeObserver(() => plot.setSize({ width: Math.max(element.clientWidth, 200), height: HEIGHT }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, deps); // eslint-disable-line react-hooks/exhaustive-deps
  return container;
}

export function TimeChart({ data, range, type }: { data: TimeSeriesData; range: [number, number]; type: "line" | "bar" }) {
  const container = usePlot(
    (element) =>
      new uPlot(
        {
          width: Math.max(element.clientWidth, 200),
          height: HEIGHT,
          legend: { show: true, live: true },
          cursor: { points: { size: 6 } },
          scales: { x: { time: true, range: [range[0] / 1e6, range[1] / 1e6] } },
          axes: [
            { stroke: "#667", grid: { stroke: "#eee" }, size: 28, space: 64, values: (_u, splits, _axis, _space, increment) => axisTimeLabels(splits, increment) },
            { stroke: "#667", grid: { stroke: "#eee" }, size: 56, values: (_u, splits) => splits.map(formatValue) },
          ],
          series: [
            { value: (_u, v) => (v === null ? "" : new Date(v * 1000).toLocaleTimeString()) },
            ...data.series.map((s, index) => ({
              label: s.name,
              stroke: colourOf(s.name, index),
              width: 2,
              spanGaps: false,
              points: { show: data.xs.length <= 40, size: 4 },
              value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? "–" : formatValue(v)),
              ...(type === "bar" && uPlot.paths.bars ? { paths: uPlot.paths.bars({ size: [0.8, 30] }), fill: colourOf(s.name, index) } : {}),
            })),
          ],
        },
        [data.xs, ...data.series.map((s) => s.values)] as uPlot.AlignedData,
        element,
      ),
    [data, range, type],
  );
  return (
    <div
      className="visualize-chart"
      ref={container}
      data-testid="visualize-chart"
      data-series={data.series.map((s) => s.name).join("|")}
      data-points={data.xs.length}
    />
  );
}

function BarChart({ data }: { data: BarData }) {
  const container = usePlot(
    (element) => {
      const xs = data.labels.map((_, i) => i);
      return new uPlot(
        {
          width: Math.max(element.clientWidth, 200),
          height: HEIGHT,
          legend: { show: false },
          cursor: { show: true, points: { show: false } },
          scales: { x: { time: false, range: [-0.5, data.labels.length - 0.5] }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
          axes: [
            {
              stroke: "#667",
              grid: { show: false },
              size: 40,
              splits: () => xs,
              values: (_u, splits) => splits.map((i) => truncate(data.labels[i] ?? "", 24)),
            },
            { stroke: "#667", grid: { stroke: "#eee" }, size: 56, values: (_u, splits) => splits.map(formatValue) },
          ],
          series: [
            {},
            {
              label: "count",
              stroke: COLORS[0],
              fill: "rgba(47,111,222,0.7)",
              width: 0,
              paths: uPlot.paths.bars ? uPlot.paths.bars({ size: [0.6, 80], align: 0 }) : undefined,
              points: { show: false },
            },
          ],
        },
        [xs, data.values],
        element,
      );
    },
    [data],
  );
  return (
    <div className="visualize-bars">
      <div className="visualize-chart" ref={container} data-testid="visualize-chart" data-series={data.labels.join("|")} data-points={data.labels.length} />
      <table className="visualize-table small">
        <tbody>
          {data.labels.map((label, i) => (
            <tr key={label}>
              <td className="swatch-cell">{label}</td>
              <td className="num">{data.values[i].toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const truncate = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
