// The trace explorer's API.
import { request } from "../api";
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

export const services = (org: string, stream: string, start: number, end: number) =>
  request<{ services: ServiceSummary[] }>(
    "GET",
    `/api/${enc(org)}/${enc(stream)}/traces/services?start_time=${start}&end_time=${end}`,
  ).then((r) => r.services);

export const getTrace = (org: string, stream: string, traceId: string) =>
  request<{ trace_id: string; spans: SpanRow[] }>("GET", `/api/${enc(org)}/${enc(stream)}/traces/${enc(traceId)}`);
