// The trace explorer's API.
import { request } from "../api";
import { normaliseFieldName } from "../query";
import type { SpanRow } from "./waterfall";

const enc = encodeURIComponent;

export interface TraceHit {
  trace_id: string;
  start_time: number; // µs
  duration: number; // µs
  spans: number;
  errors: number;
  operation_name: string;
  service_name: string;
  services: string;
}

export interface ServiceSummary {
  service_name: string;
  spans: number;
  requests: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
}

export interface TraceFilters {
  service: string;
  operation: string;
  status: string; // "" | "error" | "ok" | "unset"
  minMs: string;
  maxMs: string;
  filter: string; // key=value, comma-separated
}

export const EMPTY_FILTERS: TraceFilters = { service: "", operation: "", status: "", minMs: "", maxMs: "", filter: "" };

/** Query string of the trace search: durations in ms become µs. */
export function searchParams(filters: TraceFilters, start: number, end: number): string {
  const params = new URLSearchParams({ start_time: String(start), end_time: String(end), size: "100" });
  if (filters.service.trim()) params.set("service", filters.service.trim());
  if (filters.operation.trim()) params.set("operation", filters.operation.trim());
  if (filters.status) params.set("status", filters.status);
  const micros = (ms: string) => String(Math.round(Number(ms) * 1000));
  if (filters.minMs.trim() && Number.isFinite(Number(filters.minMs))) params.set("min_duration", micros(filters.minMs));
  if (filters.maxMs.trim() && Number.isFinite(Number(filters.maxMs))) params.set("max_duration", micros(filters.maxMs));
  if (filters.filter.trim()) params.set("filter", filters.filter.trim());
  return params.toString();
}

export const searchTraces = (org: string, stream: string, query: string, signal?: AbortSignal) =>
  request<{ total: number; hits: TraceHit[] }>("GET", `/api/${enc(org)}/${enc(stream)}/traces/latest?${query}`, undefined, signal);

export const services = (org: string, stream: string, start: number, end: number, signal?: AbortSignal) =>
  request<{ services: ServiceSummary[] }>(
    "GET",
    `/api/${enc(org)}/${enc(stream)}/traces/services?start_time=${start}&end_time=${end}`,
    undefined,
    signal,
  ).then((r) => r.services);

export const getTrace = (org: string, stream: string, traceId: string) =>
  request<{ trace_id: string; spans: SpanRow[] }>("GET", `/api/${enc(org)}/${enc(stream)}/traces/${enc(traceId)}`);

/**
 * The logs stream "Logs of this trace" opens by default: one with a `trace_id` field (the one
 * named like the traces stream first), else the first by name.
 */
export function defaultLogStream(streams: { name: string; schema?: { name: string }[] }[], tracesStream: string): string {
  const sorted = [...streams].sort((a, b) => a.name.localeCompare(b.name));
  const withTraceIds = sorted.filter((s) => (s.schema ?? []).some((f) => f.name === "trace_id"));
  return (
    withTraceIds.find((s) => s.name === tracesStream)?.name ??
    withTraceIds[0]?.name ??
    sorted[0]?.name ??
    ""
  );
}

/**
 * The attribute filter as the server takes it (`key=value, …`): `key:value` is accepted too, and
 * a key may be written as sent (`k8s.pod.name`, `http.method`) or as stored (`k8s_pod_name`);
 * with the stream's field names, a resource attribute's key finds its stored `service_` column.
 */
export function normaliseAttributeFilter(text: string, fieldNames: string[] = []): string {
  const known = new Set(fieldNames);
  return text
    .split(",")
    .map((piece) => piece.trim())
    .filter(Boolean)
    .map((piece) => {
      const match = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(piece);
      if (!match) return piece;
      const [, key, value] = match;
      const stored = normaliseFieldName(key.trim());
      const column = known.size === 0 || known.has(stored) ? stored : known.has(`service_${stored}`) ? `service_${stored}` : stored;
      return `${column}=${value}`;
    })
    .join(", ");
}
