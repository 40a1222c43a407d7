// Query results as what panels draw: time series (PromQL range results, SQL rows with a time
// `x_axis_1`), categories (SQL rows with a text x, PromQL instant vectors), heatmap cells
// (Prometheus `le` buckets, SQL x/y/z) and tables (instant vectors joined by labels with
// Grafana's transformations `merge`, `joinByField`, `organize`, `sortBy`).
import type { Hit } from "../api";
import { sampleNumber } from "../metrics/chartData";
import type { QueryData } from "../metrics/promApi";
import { seriesName } from "../metrics/promql";

export interface Series {
  name: string;
  labels: Record<string, string>;
  refId: string;
  times: number[]; // Unix seconds
  values: (number | null)[];
}

export interface Categories {
  labels: string[];
  series: { name: string; refId: string; values: (number | null)[] }[];
}

export interface Heatmap {
  times: number[];
  buckets: string[];
  counts: (number | null)[][]; // [bucket][time]
}

export interface Table {
  columns: string[];
  rows: Record<string, unknown>[];
}

/** A Prometheus series' name from an o2 legend template (`{label}`), else Prometheus' form. */
export function legendName(metric: Record<string, string>, legend: string | undefined): string {
  if (!legend?.trim()) return seriesName(metric);
  return legend.replace(/\{([^{}]+)\}/g, (_, label: string) => metric[label.trim()] ?? "");
}

/** The series of a PromQL answer (a vector's samples are one-point series). */
export function promSeries(data: QueryData, refId: string, legend: string | undefined): Series[] {
  switch (data.resultType) {
    case "matrix":
      return data.result.map((s) => ({
        name: legendName(s.metric, legend),
        labels: s.metric,
        refId,
        times: s.values.map((v) => v[0]),
        values: s.values.map((v) => sampleNumber(v[1])),
      }));
    case "vector":
      return data.result.map((s) => ({
        name: legendName(s.metric, legend),
        labels: s.metric,
        refId,
        times: [s.value[0]],
        values: [sampleNumber(s.value[1])],
      }));
    case "scalar":
      return [{ name: legend?.trim() || "scalar", labels: {}, refId, times: [data.result[0]], values: [sampleNumber(data.result[1])] }];
    default:
      return [];
  }
}

/** Series on one time axis: the union of their times, each series null where it has no point. */
export function alignTimes(series: Series[]): { xs: number[]; columns: (number | null)[][] } {
  const all = new Set<number>();
  for (const s of series) for (const t of s.times) all.add(t);
  const xs = [...all].sort((a, b) => a - b);
  const index = new Map(xs.map((t, i) => [t, i]));
  const columns = series.map((s) => {
    const column: (number | null)[] = new Array(xs.length).fill(null);
    s.times.forEach((t, i) => (column[index.get(t)!] = s.values[i]));
    return column;
  });
  return { xs, columns };
}

/** The last value of each series. */
export const lastValue = (s: Series) => {
  for (let i = s.values.length - 1; i >= 0; i--) if (s.values[i] !== null) return s.values[i];
  return null;
};

// ---- SQL ----------------------------------------------------------------------------------------

/** Seconds of a time value of a SQL answer: µs numbers (`_timestamp`) or timestamps without a
 * zone, which are UTC (`histogram()`); undefined when it is not a time. */
export function timeOf(value: unknown): number | undefined {
  if (typeof value === "number") {
    if (value > 1e14) return value / 1e6;
    if (value > 1e11) return value / 1e3;
    return undefined;
  }
  if (typeof value !== "string" || !/^\d{4}-\d\d-\d\d[T ]\d\d:\d\d/.test(value)) return undefined;
  const millis = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value.replace(" ", "T")}Z`);
  return Number.isNaN(millis) ? undefined : millis / 1000;
}

const numberOf = (value: unknown): number | null => {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value))) return Number(value);
  return null;
};

export interface SqlColumns {
  x?: string;
  ys: string[];
  breakdown?: string;
  z?: string;
  time: boolean;
}

/** The roles of a SQL answer's columns: o2's aliases `x_axis_1`, `y_axis_*`, `breakdown_1`,
 * `z_axis_1`, else the first time (or text) column as x and the numeric ones as y. */
export function sqlColumns(hits: Hit[]): SqlColumns {
  const keys: string[] = [];
  for (const hit of hits.slice(0, 100)) for (const key of Object.keys(hit)) if (!keys.includes(key)) keys.push(key);
  const sample = (key: string) => hits.find((h) => h[key] !== null && h[key] !== undefined)?.[key];
  const isTime = (key: string) => key === "_timestamp" || timeOf(sample(key)) !== undefined;
  const ys = keys.filter((k) => /^y_axis_\d+$/.test(k)).sort();
  const breakdown = keys.includes("breakdown_1") ? "breakdown_1" : undefined;
  const z = keys.includes("z_axis_1") ? "z_axis_1" : undefined;
  let x = keys.includes("x_axis_1") ? "x_axis_1" : undefined;
  if (!x) x = keys.find(isTime) ?? keys.find((k) => typeof sample(k) === "string" && k !== breakdown);
  const numeric = ys.length ? ys : keys.filter((k) => k !== x && k !== breakdown && k !== z && numberOf(sample(k)) !== null);
  return { x, ys: numeric, breakdown, z, time: x !== undefined && isTime(x) };
}

const text = (value: unknown) => (value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value));

/** A series name for a y column and a breakdown value. */
function sqlName(y: string, breakdown: string | undefined, several: boolean, labels: Record<string, string>) {
  const yName = labels[y] ?? y;
  if (breakdown === undefined) return yName;
  return several ? `${breakdown} ${yName}` : breakdown;
}

/** Time series of a SQL answer whose x is time. */
export function sqlSeries(hits: Hit[], cols: SqlColumns, refId: string, yLabels: Record<string, string> = {}): Series[] {
  const out = new Map<string, Series>();
  for (const hit of hits) {
    const time = timeOf(hit[cols.x!]);
    if (time === undefined) continue;
    const b = cols.breakdown ? text(hit[cols.breakdown]) : undefined;
    for (const y of cols.ys) {
      const key = `${y}\u0000${b ?? ""}`;
      let s = out.get(key);
      if (!s) {
        s = { name: sqlName(y, b, cols.ys.length > 1, yLabels), labels: b === undefined ? {} : { [cols.breakdown!]: b }, refId, times: [], values: [] };
        out.set(key, s);
      }
      s.times.push(time);
      s.values.push(numberOf(hit[y]));
    }
  }
  for (const s of out.values()) {
    const order = s.times.map((_, i) => i).sort((a, b) => s.times[a] - s.times[b]);
    s.times = order.map((i) => s.times[i]);
    s.values = order.map((i) => s.values[i]);
  }
  return [...out.values()];
}

/** Categories of a SQL answer whose x is not time (times are shown as text). */
export function sqlCategories(hits: Hit[], cols: SqlColumns, refId: string, yLabels: Record<string, string> = {}): Categories {
  const labels: string[] = [];
  const at = new Map<string, number>();
  for (const hit of hits) {
    const label = cols.x ? text(hit[cols.x]) : "";
    if (!at.has(label)) {
      at.set(label, labels.length);
      labels.push(label);
    }
  }
  const series = new Map<string, Categories["series"][number]>();
  for (const hit of hits) {
    const index = at.get(cols.x ? text(hit[cols.x]) : "")!;
    const b = cols.breakdown ? text(hit[cols.breakdown]) : undefined;
    for (const y of cols.ys) {
      const key = `${y}\u0000${b ?? ""}`;
      let s = series.get(key);
      if (!s) {
        s = { name: sqlName(y, b, cols.ys.length > 1, yLabels), refId, values: new Array(labels.length).fill(null) };
        series.set(key, s);
      }
      s.values[index] = numberOf(hit[y]);
    }
  }
  return { labels, series: [...series.values()] };
}

/** Categories of instant values: one per series, named by its legend. */
export function seriesCategories(series: Series[]): Categories {
  return { labels: series.map((s) => s.name), series: [{ name: "Value", refId: series[0]?.refId ?? "A", values: series.map(lastValue) }] };
}

// ---- heatmaps ------------------------------------------------------------------------------------

const leOf = (le: string) => (le === "+Inf" ? Infinity : Number(le));

/** Heatmap cells of Prometheus series: with `le` labels, cumulative buckets made per-bucket
 * counts (series of the same `le` added); without, each series is a row. */
export function promHeatmap(series: Series[]): Heatmap {
  const { xs, columns } = alignTimes(series);
  const bucketed = series.every((s) => s.labels.le !== undefined);
  if (!bucketed) return { times: xs, buckets: series.map((s) => s.name), counts: columns };
  const byLe = new Map<string, (number | null)[]>();
  series.forEach((s, i) => {
    const sum = byLe.get(s.labels.le) ?? new Array(xs.length).fill(null);
    columns[i].forEach((v, t) => v !== null && (sum[t] = (sum[t] ?? 0) + v));
    byLe.set(s.labels.le, sum);
  });
  const les = [...byLe.keys()].sort((a, b) => leOf(a) - leOf(b));
  const cumulative = les.map((le) => byLe.get(le)!);
  const counts = cumulative.map((row, b) => row.map((v, t) => (v === null ? null : b === 0 ? v : Math.max(0, v - (cumulative[b - 1][t] ?? 0)))));
  return { times: xs, buckets: les, counts };
}

/** Heatmap cells of a SQL answer: x (time), y (the bucket: `y_axis_1`, or the breakdown when
 * there is one) and z (the count: `z_axis_1`, or the y when the breakdown is the bucket). */
export function sqlHeatmap(hits: Hit[], cols: SqlColumns): Heatmap {
  const bucketKey = cols.breakdown ?? (cols.z ? cols.ys[0] : undefined);
  const valueKey = cols.z ?? (cols.breakdown ? cols.ys[0] : undefined);
  if (!cols.x || !bucketKey || !valueKey) return { times: [], buckets: [], counts: [] };
  const times = [...new Set(hits.map((h) => timeOf(h[cols.x!])).filter((t): t is number => t !== undefined))].sort((a, b) => a - b);
  const buckets = [...new Set(hits.map((h) => text(h[bucketKey])))].sort((a, b) => {
    const [na, nb] = [Number(a), Number(b)];
    return !Number.isNaN(na) && !Number.isNaN(nb) ? na - nb : a.localeCompare(b);
  });
  const tIndex = new Map(times.map((t, i) => [t, i]));
  const bIndex = new Map(buckets.map((b, i) => [b, i]));
  const counts = buckets.map(() => new Array<number | null>(times.length).fill(null));
  for (const hit of hits) {
    const t = tIndex.get(timeOf(hit[cols.x]) ?? NaN);
    const b = bIndex.get(text(hit[bucketKey]));
    if (t !== undefined && b !== undefined) counts[b][t] = numberOf(hit[valueKey]);
  }
  return { times, buckets, counts };
}

// ---- tables --------------------------------------------------------------------------------------

export interface InstantFrame {
  refId: string;
  series: Series[];
}

export interface Transformation {
  id: string;
  options?: Record<string, unknown>;
}

/** One frame as Grafana's table format: a column per label and the value (`Value`, or
 * `Value #A` when there are several frames). */
function frameTable(frame: InstantFrame, several: boolean): Table {
  const value = several ? `Value #${frame.refId}` : "Value";
  const labels = [...new Set(frame.series.flatMap((s) => Object.keys(s.labels)))].sort((a, b) => (a === "__name__" ? -1 : b === "__name__" ? 1 : a.localeCompare(b)));
  const rows = frame.series.map((s) => {
    const row: Record<string, unknown> = {};
    for (const label of labels) row[label] = s.labels[label] ?? "";
    row[value] = lastValue(s);
    return row;
  });
  return { columns: [...labels, value], rows };
}

const unionColumns = (tables: Table[]) => [...new Set(tables.flatMap((t) => t.columns))];

/** Rows of different queries with the same values in the label columns every query has become
 * one row (Grafana's merge); without such columns the rows are listed one after another. */
function merge(tables: Table[], valueColumns: Set<string>): Table {
  const columns = unionColumns(tables);
  const labelSets = tables.map((t) => t.columns.filter((c) => !valueColumns.has(c)));
  const common = labelSets.reduce((acc, set) => acc.filter((c) => set.includes(c)), labelSets[0] ?? []);
  const rows: Record<string, unknown>[] = [];
  const index = new Map<string, Record<string, unknown>>();
  tables.forEach((table) => {
    const seen = new Set<string>();
    for (const row of table.rows) {
      const key = common.length ? JSON.stringify(common.map((k) => row[k])) : "";
      const found = common.length ? index.get(key) : undefined;
      // Two rows of one query with the same key stay apart.
      if (found && !seen.has(key)) {
        for (const [k, v] of Object.entries(row)) if (!(k in found) || valueColumns.has(k)) found[k] = v;
      } else {
        const copy = { ...row };
        if (!index.has(key)) index.set(key, copy);
        rows.push(copy);
      }
      seen.add(key);
    }
  });
  return { columns, rows };
}

/** Rows joined on one field (outer: every key; inner: keys present in every table). */
function joinByField(tables: Table[], field: string | undefined, mode: string): Table {
  const by = field ?? tables[0]?.columns[0];
  if (!by) return { columns: [], rows: [] };
  const columns = unionColumns(tables);
  const rows = new Map<string, Record<string, unknown>>();
  const seen = new Map<string, number>();
  for (const table of tables) {
    for (const row of table.rows) {
      const key = String(row[by]);
      const existing = rows.get(key);
      if (!existing) rows.set(key, { ...row });
      else for (const [k, v] of Object.entries(row)) if (!(k in existing)) existing[k] = v;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  }
  const keep = [...rows.entries()].filter(([key]) => mode !== "inner" || (seen.get(key) ?? 0) >= tables.length).map(([, row]) => row);
  return { columns: [by, ...columns.filter((c) => c !== by)], rows: keep };
}

function organize(table: Table, options: Record<string, unknown>): Table {
  const exclude = (options.excludeByName ?? {}) as Record<string, boolean>;
  const index = (options.indexByName ?? {}) as Record<string, number>;
  const rename = (options.renameByName ?? {}) as Record<string, string>;
  const kept = table.columns.filter((c) => !exclude[c]);
  const ordered = kept
    .map((c, i) => ({ c, i }))
    .sort((a, b) => (index[a.c] ?? 1000 + a.i) - (index[b.c] ?? 1000 + b.i))
    .map(({ c }) => c);
  const name = (c: string) => rename[c] || c;
  return {
    columns: ordered.map(name),
    rows: table.rows.map((row) => Object.fromEntries(ordered.map((c) => [name(c), row[c]]))),
  };
}

function sortBy(table: Table, options: Record<string, unknown>): Table {
  const sorts = (options.sort ?? []) as { field?: string; desc?: boolean }[];
  const rows = [...table.rows];
  for (const { field, desc } of [...sorts].reverse()) {
    if (!field) continue;
    rows.sort((a, b) => {
      const [x, y] = [a[field], b[field]];
      const cmp = typeof x === "number" && typeof y === "number" ? x - y : String(x ?? "").localeCompare(String(y ?? ""));
      return desc ? -cmp : cmp;
    });
  }
  return { columns: table.columns, rows };
}

/** The table of a panel's instant results through its transformations (several frames without
 * a join transformation are merged). */
export function instantTable(frames: InstantFrame[], transformations: Transformation[] = []): Table {
  const several = frames.length > 1;
  const tables = frames.map((f) => frameTable(f, several));
  const valueColumns = new Set(tables.map((t) => t.columns[t.columns.length - 1]));
  const joins = transformations.filter((t) => t.id === "merge" || t.id === "joinByField");
  let table: Table;
  const join = joins[0];
  if (join?.id === "joinByField") table = joinByField(tables, join.options?.byField as string | undefined, String(join.options?.mode ?? "outer"));
  else if (tables.length === 1) table = tables[0];
  else table = merge(tables, valueColumns);
  for (const t of transformations) {
    if (t.id === "organize") table = organize(table, t.options ?? {});
    else if (t.id === "sortBy") table = sortBy(table, t.options ?? {});
  }
  return table;
}

/** The table of SQL hits: every column, in the order of the first hit's fields. */
export function hitsTable(hits: Hit[]): Table {
  const columns: string[] = [];
  for (const hit of hits.slice(0, 100)) for (const key of Object.keys(hit)) if (!columns.includes(key)) columns.push(key);
  return { columns, rows: hits };
}
