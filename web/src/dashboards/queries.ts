// What a panel asks the server and what it makes of the answers. PromQL runs over the range
// (`query_range`, step = max(min step, range / panel width rounded like the metrics explorer)) or
// at its end (`query`: instant queries, and tables, stats, gauges, pies and horizontal bars);
// SQL runs through `_search` over the range. Variables, built-ins and dynamic filters are
// substituted first. A panel keeps at most 100 series and says how many it left out.
import { type Hit, partialWarning } from "../api";
import type { QueryData } from "../metrics/promApi";
import { autoStepSeconds, parseStep, rangeWindow } from "../metrics/step";
import { promInstant, promRange, sqlSearch } from "./dashApi";
import {
  type Categories,
  type Heatmap,
  hitsTable,
  instantTable,
  type InstantFrame,
  promHeatmap,
  promSeries,
  type Series,
  seriesCategories,
  sqlCategories,
  sqlColumns,
  sqlHeatmap,
  sqlSeries,
  type Table,
  type Transformation,
} from "./frames";
import type { Panel, PanelQuery } from "./types";
import { CONTENT_TYPES, UNSUPPORTED_TYPES } from "./types";
import { applyPromqlFilters, applySqlFilters, builtins, type Filter, substitute, type VarState } from "./variables";

export const MAX_SERIES = 100;

export interface QueryContext {
  org: string;
  range: [number, number]; // µs
  vars: ReadonlyMap<string, VarState>;
  filters: Filter[];
}

export type Planned =
  | { kind: "range"; refId: string; legend?: string; query: string; start: number; end: number; step: number }
  | { kind: "instant"; refId: string; legend?: string; query: string; time: number }
  | { kind: "sql"; refId: string; sql: string; streamType: string; start: number; end: number; size: number; yLabels: Record<string, string> };

const INSTANT_TYPES = new Set(["table", "metric", "gauge", "pie", "donut", "h-bar", "h-stacked"]);
const RANGE_REDUCERS = new Set(["mean", "avg", "max", "min", "sum", "total", "first", "firstNotNull", "count", "range", "diff"]);

export const refIdOf = (query: PanelQuery, index: number) => (query.config?.query_label as string) || String.fromCharCode(65 + (index % 26));

/** Whether a PromQL query of this panel runs at the end of the range. */
export function isInstant(panel: Panel, query: PanelQuery): boolean {
  if (query.config?.instant === true) return true;
  if (panel.type === "metric" || panel.type === "gauge") {
    return !panel.config?.sparkline?.enabled && !RANGE_REDUCERS.has(panel.config?.reduce ?? "");
  }
  return INSTANT_TYPES.has(panel.type);
}

/** The step of a PromQL query: the automatic step for the width, at least its min step. */
export function stepOf(query: PanelQuery, range: [number, number], width: number): number {
  const auto = autoStepSeconds((range[1] - range[0]) / 1e6, Math.max(width, 100));
  const min = Math.max(parseStep(String(query.config?.min_step ?? "")) ?? 0, parseStep(String(query.config?.step_value ?? "")) ?? 0);
  return Math.max(auto, min);
}

/** The requests of a panel `width` pixels wide. */
export function planPanel(panel: Panel, ctx: QueryContext, width: number): Planned[] {
  if (CONTENT_TYPES.has(panel.type) || UNSUPPORTED_TYPES.has(panel.type)) return [];
  const { range, vars, filters } = ctx;
  return (panel.queries ?? []).flatMap((query, index): Planned[] => {
    if (!query.query?.trim()) return [];
    const refId = refIdOf(query, index);
    const step = stepOf(query, range, width);
    const built = builtins(range, step);
    if (panel.queryType === "promql") {
      const text = applyPromqlFilters(substitute(query.query, vars, built, "promql"), filters);
      const legend = query.config?.promql_legend;
      if (isInstant(panel, query)) return [{ kind: "instant", refId, legend, query: text, time: Math.floor(range[1] / 1e6) }];
      const window = rangeWindow(range, step);
      return [{ kind: "range", refId, legend, query: text, ...window }];
    }
    const sql = applySqlFilters(substitute(query.query, vars, built, "sql"), filters);
    const size = Number(query.config?.limit) || (panel.type === "logs" ? 100 : panel.type === "table" ? 1000 : 10000);
    const yLabels: Record<string, string> = {};
    for (const axis of (query.fields?.y ?? []) as { alias?: string; label?: string }[]) if (axis?.alias && axis.label) yLabels[axis.alias] = axis.label;
    return [{ kind: "sql", refId, sql, streamType: query.fields?.stream_type || "logs", start: range[0], end: range[1], size, yLabels }];
  });
}

export const planKey = (plan: Planned[]) => JSON.stringify(plan);

export interface PanelData {
  series: Series[];
  categories?: Categories;
  heatmap?: Heatmap;
  table?: Table;
  hits?: Hit[];
  /** Series before the cap (charts). */
  total: number;
  warnings: string[];
}

type Answer = { plan: Planned; prom?: QueryData; hits?: Hit[]; warnings: string[] };

async function runOne(org: string, plan: Planned, signal: AbortSignal): Promise<Answer> {
  if (plan.kind === "sql") {
    const response = await sqlSearch(org, plan.streamType, plan.sql, plan.start, plan.end, plan.size, signal);
    const partial = partialWarning(response);
    return { plan, hits: response.hits, warnings: partial ? [partial] : [] };
  }
  const response =
    plan.kind === "range"
      ? await promRange(org, plan.query, plan.start, plan.end, plan.step, signal)
      : await promInstant(org, plan.query, plan.time, signal);
  return { plan, prom: response.data, warnings: [...(response.warnings ?? []), ...(response.infos ?? [])] };
}

function cap<T>(items: T[]): T[] {
  return items.length > MAX_SERIES ? items.slice(0, MAX_SERIES) : items;
}

/** Runs a panel's requests in parallel and shapes the answers for its type. */
export async function runPanel(panel: Panel, plan: Planned[], org: string, signal: AbortSignal): Promise<PanelData> {
  const answers = await Promise.all(plan.map((p) => runOne(org, p, signal)));
  const warnings = [...new Set(answers.flatMap((a) => a.warnings))];
  const promAnswers = answers.filter((a) => a.prom);
  const sqlAnswers = answers.filter((a) => a.hits);
  const series: Series[] = promAnswers.flatMap((a) => promSeries(a.prom!, a.plan.refId, (a.plan as { legend?: string }).legend));
  const data: PanelData = { series: [], total: 0, warnings };
  const type = panel.type;

  if (type === "logs") {
    const hits = sqlAnswers.flatMap((a) => a.hits!);
    hits.sort((a, b) => Number(b._timestamp ?? 0) - Number(a._timestamp ?? 0));
    return { ...data, hits };
  }
  if (type === "table") {
    if (sqlAnswers.length) {
      const hits = sqlAnswers.flatMap((a) => a.hits!);
      return { ...data, table: hitsTable(hits) };
    }
    const frames: InstantFrame[] = promAnswers.map((a) => ({ refId: a.plan.refId, series: series.filter((s) => s.refId === a.plan.refId) }));
    const table = instantTable(frames, (panel.config?.transformations ?? []) as Transformation[]);
    return { ...data, table };
  }

  // SQL answers as series (time x) or categories (anything else).
  let categories: Categories | undefined;
  for (const answer of sqlAnswers) {
    const cols = sqlColumns(answer.hits!);
    const yLabels = answer.plan.kind === "sql" ? answer.plan.yLabels : {};
    if (type === "heatmap") {
      data.heatmap = sqlHeatmap(answer.hits!, cols);
      continue;
    }
    const horizontal = type === "h-bar" || type === "h-stacked" || type === "pie" || type === "donut";
    if (cols.time && !horizontal) series.push(...sqlSeries(answer.hits!, cols, answer.plan.refId, yLabels));
    else {
      const found = sqlCategories(answer.hits!, cols, answer.plan.refId, yLabels);
      categories = categories ? { labels: categories.labels, series: [...categories.series, ...found.series] } : found;
    }
  }
  if (type === "heatmap" && !data.heatmap) data.heatmap = promHeatmap(cap(series));
  if (!categories && promAnswers.length && (type === "h-bar" || type === "h-stacked" || type === "pie" || type === "donut")) {
    categories = seriesCategories(series);
    data.total = series.length;
    categories = { labels: cap(categories.labels), series: categories.series.map((s) => ({ ...s, values: cap(s.values) })) };
    return { ...data, categories };
  }
  if (categories) {
    data.total = Math.max(series.length, categories.series.length);
    categories = { labels: categories.labels, series: cap(categories.series) };
  }
  return { ...data, series: cap(series), categories, total: Math.max(data.total, series.length) };
}

/** How many series a panel left out. */
export const hiddenSeries = (data: PanelData) => Math.max(0, data.total - MAX_SERIES);

/** A panel's title with its variables substituted. */
export const titleText = (text: string, vars: ReadonlyMap<string, VarState>) => substitute(text, vars, {}, "text");
