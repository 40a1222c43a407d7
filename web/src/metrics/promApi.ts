// The Prometheus HTTP API under `/api/{org}/prometheus/api/v1/`, as the metrics page uses it.
// Queries are form POSTs (long queries do not fit a URL); times are Unix seconds.
import { request } from "../api";
import type { RangeWindow } from "./step";

const enc = encodeURIComponent;
const base = (org: string) => `/api/${enc(org)}/prometheus/api/v1`;

/** `[unix seconds, value]`; values are strings: "1.5", "NaN", "+Inf". */
export type SampleValue = [number, string];
export type Metric = Record<string, string>;

export interface VectorSample {
  metric: Metric;
  value: SampleValue;
}

export interface MatrixSeries {
  metric: Metric;
  values: SampleValue[];
}

export type QueryData =
  | { resultType: "vector"; result: VectorSample[] }
  | { resultType: "matrix"; result: MatrixSeries[] }
  | { resultType: "scalar"; result: SampleValue }
  | { resultType: "string"; result: SampleValue };

export interface PromResponse<T> {
  status: "success";
  data: T;
  warnings?: string[];
  infos?: string[];
}

export interface MetricMetadata {
  type: string;
  help: string;
  unit: string;
}

/** A time span in seconds. */
export interface TimeSpan {
  start: number;
  end: number;
}

function spanParams(span: TimeSpan, match?: string): URLSearchParams {
  const params = new URLSearchParams({ start: String(span.start), end: String(span.end) });
  if (match) params.set("match[]", match);
  return params;
}

export const instantQuery = (org: string, query: string, time: number, signal?: AbortSignal) =>
  request<PromResponse<QueryData>>("POST", `${base(org)}/query`, new URLSearchParams({ query, time: String(time) }), signal);

export const rangeQuery = (org: string, query: string, window: RangeWindow, signal?: AbortSignal) =>
  request<PromResponse<QueryData>>(
    "POST",
    `${base(org)}/query_range`,
    new URLSearchParams({ query, start: String(window.start), end: String(window.end), step: String(window.step) }),
    signal,
  );

/** The query, pretty-printed; fails with the parse error when it does not parse. */
export const formatQuery = (org: string, query: string, signal?: AbortSignal) =>
  request<PromResponse<string>>("POST", `${base(org)}/format_query`, new URLSearchParams({ query }), signal).then((r) => r.data);

/** Label names of the series matching `match` (every series without one) in the span. */
export const labelNames = (org: string, span: TimeSpan, match?: string, signal?: AbortSignal) =>
  request<PromResponse<string[]>>("GET", `${base(org)}/labels?${spanParams(span, match)}`, undefined, signal).then((r) => r.data);

/** Values of `label` in the series matching `match` in the span; `__name__` gives the metric names. */
export const labelValues = (org: string, label: string, span: TimeSpan, match?: string, signal?: AbortSignal) =>
  request<PromResponse<string[]>>("GET", `${base(org)}/label/${enc(label)}/values?${spanParams(span, match)}`, undefined, signal).then(
    (r) => r.data,
  );

export const metadata = (org: string, signal?: AbortSignal) =>
  request<PromResponse<Record<string, MetricMetadata[]>>>("GET", `${base(org)}/metadata`, undefined, signal).then((r) => r.data);

export interface MetricInfo {
  name: string;
  type: string; // "" without metadata
  help: string;
}

/** The metric names with data in the span, with the type and help of their metadata. */
export async function listMetrics(org: string, span: TimeSpan, signal?: AbortSignal): Promise<MetricInfo[]> {
  const [names, known] = await Promise.all([labelValues(org, "__name__", span, undefined, signal), metadata(org, signal)]);
  return names.map((name) => ({ name, type: known[name]?.[0]?.type ?? "", help: known[name]?.[0]?.help ?? "" }));
}
