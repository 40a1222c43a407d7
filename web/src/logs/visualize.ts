// "Visualize" a field from the logs page (Kibana's Discover → Lens, docs/ui.md): the SQL of the
// chart, its data as chart series, and the OpenObserve v8 panel that "Add to dashboard" appends.
//
// - a number: avg / sum / max / min of the field per interval, optionally split by another field
//   (its top 5 values + "Other");
// - a keyword: its top 5 values by count (+ "Other"), as bars; or "over time": the count per
//   interval split by its top 3 values (+ "Other").
//
// The SQL uses o2's aliases (`x_axis_1` = `histogram(_timestamp)`, `y_axis_1`, `breakdown_1`) and
// `histogram(_timestamp)`'s automatic interval, so the same text works as a dashboard panel over
// any time range. Records without the split (or keyword) field are left out (Kibana's "missing
// bucket" is off by default).
import { quoteIdent, quoteString } from "../query";

export type Agg = "avg" | "sum" | "max" | "min";
export const AGGS: Agg[] = ["avg", "sum", "max", "min"];
const AGG_NAMES: Record<Agg, string> = { avg: "Average", sum: "Sum", max: "Maximum", min: "Minimum" };

export type VisualizeSpec =
  | { kind: "metric"; field: string; agg: Agg; split?: string }
  | { kind: "terms"; field: string }
  | { kind: "terms-time"; field: string };

/** What the chart reads: the logs page's stream and filter condition, or its SQL query. */
export type VisualizeSource = { stream: string; condition?: string; sql?: string };

export const TOP_TERMS = 5;
export const TOP_BREAKDOWN = 3;
export const OTHER = "Other";

export const isNumericType = (type: string) => /^(int|uint|float|decimal)/i.test(type);

/** `metric:count:avg:level`, `terms:level`, `terms-time:level` — the spec in the URL. */
export function encodeSpec(spec: VisualizeSpec): string {
  const parts = spec.kind === "metric" ? [spec.kind, spec.field, spec.agg, spec.split ?? ""] : [spec.kind, spec.field];
  return parts.map((p) => encodeURIComponent(p)).join(":").replace(/:$/, "");
}

export function decodeSpec(text: string | null | undefined): VisualizeSpec | undefined {
  if (!text) return undefined;
  const [kind, field, agg, split] = text.split(":").map((p) => decodeURIComponent(p));
  if (!field) return undefined;
  if (kind === "metric") return { kind, field, agg: AGGS.includes(agg as Agg) ? (agg as Agg) : "avg", ...(split ? { split } : {}) };
  if (kind === "terms" || kind === "terms-time") return { kind, field };
  return undefined;
}

function fromClause(source: VisualizeSource, extra?: string): string {
  if (source.sql) return `(${source.sql.trim().replace(/;+\s*$/, "")}) AS q${extra ? ` WHERE ${extra}` : ""}`;
  const conditions = [source.condition ? (extra ? `(${source.condition})` : source.condition) : "", extra ?? ""].filter(Boolean);
  return `${quoteIdent(source.stream)}${conditions.length ? ` WHERE ${conditions.join(" AND ")}` : ""}`;
}

/** `base` (the filtered records having `field`) and `top` (its most frequent `n` values). */
function topCte(source: VisualizeSource, field: string, n: number): string {
  const column = quoteIdent(field);
  return (
    `WITH base AS (SELECT * FROM ${fromClause(source, `${column} IS NOT NULL`)}), ` +
    `top AS (SELECT ${column} AS v, count(*) AS n FROM base GROUP BY ${column} ORDER BY n DESC, v LIMIT ${n}) `
  );
}

const bucketOrOther = `COALESCE(CAST(top.v AS VARCHAR), ${quoteString(OTHER)})`;

/** The chart's SQL. */
export function visualizeSql(spec: VisualizeSpec, source: VisualizeSource): string {
  if (spec.kind === "metric") {
    const value = `${spec.agg}(${quoteIdent(spec.field)})`;
    if (!spec.split) {
      return `SELECT histogram(_timestamp) AS x_axis_1, ${value} AS y_axis_1 FROM ${fromClause(source)} GROUP BY x_axis_1 ORDER BY x_axis_1`;
    }
    return (
      topCte(source, spec.split, TOP_TERMS) +
      `SELECT histogram(base._timestamp) AS x_axis_1, ${bucketOrOther} AS breakdown_1, ${spec.agg}(base.${quoteIdent(spec.field)}) AS y_axis_1 ` +
      `FROM base LEFT JOIN top ON base.${quoteIdent(spec.split)} = top.v GROUP BY x_axis_1, breakdown_1 ORDER BY x_axis_1`
    );
  }
  if (spec.kind === "terms") {
    return (
      topCte(source, spec.field, TOP_TERMS) +
      `SELECT ${bucketOrOther} AS x_axis_1, count(*) AS y_axis_1 ` +
      `FROM base LEFT JOIN top ON base.${quoteIdent(spec.field)} = top.v GROUP BY x_axis_1 ORDER BY max(top.n) DESC NULLS LAST, x_axis_1`
    );
  }
  return (
    topCte(source, spec.field, TOP_BREAKDOWN) +
    `SELECT histogram(base._timestamp) AS x_axis_1, ${bucketOrOther} AS breakdown_1, count(*) AS y_axis_1 ` +
    `FROM base LEFT JOIN top ON base.${quoteIdent(spec.field)} = top.v GROUP BY x_axis_1, breakdown_1 ORDER BY x_axis_1`
  );
}

/** Kibana-style titles: "Average of count over time by level", "Top 5 values of level". */
export function visualizeTitle(spec: VisualizeSpec): string {
  if (spec.kind === "metric") return `${AGG_NAMES[spec.agg]} of ${spec.field} over time${spec.split ? ` by ${spec.split}` : ""}`;
  if (spec.kind === "terms") return `Count of top ${TOP_TERMS} values of ${spec.field}`;
  return `Count over time by ${spec.field} (top ${TOP_BREAKDOWN})`;
}

export const chartType = (spec: VisualizeSpec): "line" | "bar" => (spec.kind === "terms" ? "bar" : "line");

/** A histogram key as µs: the API answers o2's UTC text (`2026-11-22T08:03:30`), or a number. */
export function bucketMicros(key: unknown): number {
  if (typeof key === "number") return key;
  const text = String(key);
  return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`) * 1000;
}

export interface TimeSeriesData {
  xs: number[]; // seconds
  series: { name: string; values: (number | null)[] }[];
}

/** Rows `{x_axis_1, [breakdown_1], y_axis_1}` as one series per breakdown value: largest total first, "Other" last. */
export function pivotTimeSeries(hits: Record<string, unknown>[], seriesName = "value"): TimeSeriesData {
  const times = [...new Set(hits.map((h) => bucketMicros(h.x_axis_1)))].filter(Number.isFinite).sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const byName = new Map<string, (number | null)[]>();
  const totals = new Map<string, number>();
  for (const hit of hits) {
    const name = "breakdown_1" in hit ? (hit.breakdown_1 === null || hit.breakdown_1 === undefined ? OTHER : String(hit.breakdown_1)) : seriesName;
    const at = index.get(bucketMicros(hit.x_axis_1));
    if (at === undefined) continue;
    if (!byName.has(name)) byName.set(name, new Array(times.length).fill(null));
    const value = hit.y_axis_1 === null || hit.y_axis_1 === undefined ? null : Number(hit.y_axis_1);
    byName.get(name)![at] = value;
    totals.set(name, (totals.get(name) ?? 0) + Math.abs(value ?? 0));
  }
  const names = [...byName.keys()].sort((a, b) => (a === OTHER ? 1 : b === OTHER ? -1 : (totals.get(b) ?? 0) - (totals.get(a) ?? 0) || a.localeCompare(b)));
  return { xs: times.map((t) => t / 1e6), series: names.map((name) => ({ name, values: byName.get(name)! })) };
}

/**
 * Counts with every bucket of the range, empty ones as 0 (so bars and lines show the gaps),
 * when the buckets sit on the `intervalSeconds` grid; otherwise `data` unchanged.
 */
export function fillZeros(data: TimeSeriesData, intervalSeconds: number | undefined, range: [number, number]): TimeSeriesData {
  if (!intervalSeconds || intervalSeconds <= 0) return data;
  if (data.xs.some((x) => Math.abs(x / intervalSeconds - Math.round(x / intervalSeconds)) > 1e-6)) return data;
  const first = Math.floor(range[0] / 1e6 / intervalSeconds) * intervalSeconds;
  const xs: number[] = [];
  for (let t = first; t < range[1] / 1e6 && xs.length < 5000; t += intervalSeconds) xs.push(t);
  for (const x of data.xs) if (!xs.includes(x)) xs.push(x);
  xs.sort((a, b) => a - b);
  const at = new Map(data.xs.map((x, i) => [x, i]));
  return {
    xs,
    series: data.series.map((s) => ({ name: s.name, values: xs.map((x) => (at.has(x) ? (s.values[at.get(x)!] ?? 0) : 0)) })),
  };
}

export interface BarData {
  labels: string[];
  values: number[];
}

/** Rows `{x_axis_1, y_axis_1}` as bars, in the query's order with "Other" last. */
export function pivotBars(hits: Record<string, unknown>[]): BarData {
  const rows = hits.map((h) => ({ label: h.x_axis_1 === null || h.x_axis_1 === undefined ? OTHER : String(h.x_axis_1), value: Number(h.y_axis_1) }));
  const other = rows.filter((r) => r.label === OTHER);
  const rest = rows.filter((r) => r.label !== OTHER);
  const ordered = [...rest, ...other];
  return { labels: ordered.map((r) => r.label), values: ordered.map((r) => r.value) };
}

// ---- dashboards -------------------------------------------------------------------------------

export type Json = Record<string, unknown>;

interface Layout {
  x: number;
  y: number;
  w: number;
  h: number;
  i: number;
}

export const PANEL_WIDTH = 96;
export const PANEL_HEIGHT = 18;

const axis = (label: string, alias: string, functionName: string | null, field: string) => ({
  label,
  alias,
  type: "build",
  functionName,
  args: [{ type: "field", value: { field } }],
});

/** The o2 v8 panel of a chart (its layout is set by [`appendPanel`]). */
export function buildPanel(spec: VisualizeSpec, sql: string, stream: string): Json {
  const isTime = spec.kind !== "terms";
  const x = isTime ? axis("Timestamp", "x_axis_1", "histogram", "_timestamp") : axis(spec.field, "x_axis_1", null, spec.field);
  const y =
    spec.kind === "metric" ? axis(`${AGG_NAMES[spec.agg]} of ${spec.field}`, "y_axis_1", spec.agg, spec.field) : axis("Count", "y_axis_1", "count", "_timestamp");
  const breakdownField = spec.kind === "metric" ? spec.split : spec.kind === "terms-time" ? spec.field : undefined;
  return {
    id: "",
    type: chartType(spec),
    title: visualizeTitle(spec),
    description: "Added from the logs page (Visualize).",
    queryType: "sql",
    queries: [
      {
        query: sql,
        vrlFunctionQuery: "",
        customQuery: true,
        fields: {
          stream,
          stream_type: "logs",
          x: [x],
          y: [y],
          z: [],
          breakdown: breakdownField ? [axis(breakdownField, "breakdown_1", null, breakdownField)] : [],
          filter: { filterType: "group", logicalOperator: "AND", conditions: [] },
        },
        config: { promql_legend: "", step_value: "0", limit: 0 },
      },
    ],
    config: { show_legends: true, legends_position: null, unit: "default", decimals: 2, connect_nulls: false },
    layout: { x: 0, y: 0, w: PANEL_WIDTH, h: PANEL_HEIGHT, i: 1 },
    htmlContent: "",
    markdownContent: "",
  };
}

function panelsOf(tab: Json): Json[] {
  return Array.isArray(tab.panels) ? (tab.panels as Json[]) : [];
}

const randomId = () => `Panel_ID${Math.floor(Math.random() * 1e7)}`;

/**
 * `dashboard` with `panel` appended to its first tab, below the lowest panel (x 0, w 96, h 18 on
 * the 192-column grid), with an `i` and an `id` no other panel has. The input is not changed.
 */
export function appendPanel(dashboard: Json, panel: Json, makeId: () => string = randomId): Json {
  const copy = structuredClone(dashboard) as Json;
  let tabs = Array.isArray(copy.tabs) ? (copy.tabs as Json[]) : [];
  if (tabs.length === 0) {
    tabs = [{ tabId: "default", name: "Default", panels: [] }];
    copy.tabs = tabs;
  }
  const all = tabs.flatMap(panelsOf);
  const layouts = all.map((p) => (p.layout ?? {}) as Partial<Layout>);
  const target = tabs[0];
  const below = panelsOf(target).reduce((bottom, p) => {
    const l = (p.layout ?? {}) as Partial<Layout>;
    return Math.max(bottom, (Number(l.y) || 0) + (Number(l.h) || 0));
  }, 0);
  const nextI = layouts.reduce((max, l) => Math.max(max, Number(l.i) || 0), 0) + 1;
  const ids = new Set(all.map((p) => String(p.id)));
  let id = makeId();
  while (ids.has(id)) id = makeId();
  const added = { ...structuredClone(panel), id, layout: { x: 0, y: below, w: PANEL_WIDTH, h: PANEL_HEIGHT, i: nextI } };
  target.panels = [...panelsOf(target), added];
  return copy;
}

/** A new v8 dashboard holding `panel`, whose default time range is the logs page's. */
export function newDashboard(title: string, panel: Json, range: { from: string; to: string }, makeId: () => string = randomId): Json {
  const relative = /^now-(\d+[smhdw])$/.exec(range.from);
  const defaultDatetimeDuration =
    relative && range.to === "now"
      ? { type: "relative", relativeTimePeriod: relative[1], startTime: 0, endTime: 0 }
      : { type: "absolute", relativeTimePeriod: "", startTime: Number(range.from), endTime: Number(range.to) };
  const empty: Json = {
    version: 8,
    title,
    description: "",
    role: "",
    tabs: [{ tabId: "default", name: "Default", panels: [] }],
    variables: { list: [], showDynamicFilters: false },
    defaultDatetimeDuration,
  };
  return appendPanel(empty, panel, makeId);
}
