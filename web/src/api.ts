// The public HTTP API, as the UI uses it. Every request carries the session cookie (same origin)
// and the `x-kansoku-csrf` header that the server requires for cookie-authenticated requests.
// Bodies are JSON, or a form when given as `URLSearchParams` (the Prometheus API's POSTs).

export interface ApiErrorBody {
  code?: number;
  message?: string;
  error?: string;
  position?: { line: number; column: number };
}

export class ApiError extends Error {
  status: number;
  position?: { line: number; column: number };
  constructor(status: number, body: ApiErrorBody) {
    super(body.message ?? body.error ?? `request failed with status ${status}`);
    this.status = status;
    this.position = body.position;
  }
}

/** Called when the session has expired (any 401); the app shows the login page. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(handler: () => void) {
  onUnauthorized = handler;
}

export async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { "x-kansoku-csrf": "1" };
  const isForm = body instanceof URLSearchParams;
  if (body !== undefined && !isForm) headers["content-type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
    signal,
  });
  if (response.status === 401 && !path.startsWith("/auth/login")) onUnauthorized();
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = { message: text };
  }
  if (!response.ok) throw new ApiError(response.status, (parsed ?? {}) as ApiErrorBody);
  return parsed as T;
}

export type Hit = Record<string, unknown>;

export interface Me {
  email: string;
  is_root: boolean;
  orgs: { identifier: string; name: string; role: string }[];
}

export interface StreamStats {
  doc_time_min: number;
  doc_time_max: number;
  doc_num: number;
  doc_num_unflushed: number;
  file_num: number;
  /** Files the compactor may still merge (under half of KANSOKU_COMPACT_MAX_BYTES). */
  small_file_num?: number;
  /** Files written by the compactor. */
  compacted_file_num?: number;
  /** Retention in force, days (the stream's or the server default); 0 = forever. */
  retention_days?: number;
  raw_bytes: number;
  stored_bytes: number;
  index_bytes: number;
}

export interface StreamSettings {
  data_retention: number;
  partition_keys: string[];
  full_text_search_keys: string[];
  timestamp_fields: string[];
  timezone: string;
  flatten_level: number;
  /** The field the logs page shows as the log line ("" = the first of log, message, msg, body, content). */
  message_field?: string;
}

export interface Field {
  name: string;
  type: string;
}

export interface StreamInfo {
  name: string;
  stream_type: string;
  stats: StreamStats;
  settings: StreamSettings;
  schema?: Field[];
}

export interface SearchResponse {
  took: number;
  hits: Hit[];
  total: number;
  from: number;
  size: number;
  scan_size?: number;
  /** Seconds, the interval `histogram(_timestamp)` used without an explicit one. */
  histogram_interval?: number;
  /** Some ingesters' not-yet-flushed records could not be read (named in `partial_nodes`). */
  is_partial?: boolean;
  partial_nodes?: string[];
}

/** The warning to show for a partial answer, or nothing. */
export function partialWarning(response: { is_partial?: boolean; partial_nodes?: string[] }): string | undefined {
  if (!response.is_partial) return undefined;
  const nodes = response.partial_nodes?.length ? response.partial_nodes.join(", ") : "some ingesters";
  return `Partial results: records held in memory by ${nodes} (not flushed yet) were not read.`;
}

export interface ValuesResponse {
  hits: { field: string; values: { zo_sql_key: unknown; zo_sql_num: number }[] }[];
  total_records?: number;
}

export const login = (email: string, password: string) =>
  request<{ email: string }>("POST", "/auth/login", { email, password });
export const logout = () => request<void>("POST", "/auth/logout");
export const me = () => request<Me>("GET", "/auth/me");

const enc = encodeURIComponent;

/** One administrative change of the audit log. */
export interface AuditEntry {
  _timestamp: number;
  org: string;
  actor: string;
  action: string;
  route: string;
  path: string;
  status: number;
}

/** The organisation's administrative changes, newest first (admins only). */
export const listAudit = (org: string, size = 200) =>
  request<{ list: AuditEntry[]; total: number }>("GET", `/api/${enc(org)}/audit?size=${size}`).then((r) => r.list);

export const listStreams = (org: string) =>
  request<{ list: StreamInfo[] }>("GET", `/api/${enc(org)}/streams?type=logs`).then((r) => r.list);

export const listStreamsOfType = (org: string, type: "logs" | "traces" | "metrics") =>
  request<{ list: StreamInfo[] }>("GET", `/api/${enc(org)}/streams?type=${type}`).then((r) => r.list);

/** Streams of a type with each one's `schema`. */
export const listStreamsWithSchema = (org: string, type: "logs" | "traces" | "metrics") =>
  request<{ list: StreamInfo[] }>("GET", `/api/${enc(org)}/streams?type=${type}&fetchSchema=true`).then((r) => r.list);

export const streamSchema = (org: string, stream: string) =>
  request<StreamInfo>("GET", `/api/${enc(org)}/streams/${enc(stream)}/schema?type=logs`);

export const updateSettings = (org: string, stream: string, settings: Partial<StreamSettings>) =>
  request<unknown>("PUT", `/api/${enc(org)}/streams/${enc(stream)}/settings?type=logs`, settings);

export interface SearchQuery {
  sql: string;
  startTime: number;
  endTime: number;
  size: number;
  from?: number;
}

export const search = (org: string, query: SearchQuery, signal?: AbortSignal) =>
  request<SearchResponse>(
    "POST",
    `/api/${enc(org)}/_search?type=logs`,
    {
      query: {
        sql: query.sql,
        start_time: query.startTime,
        end_time: query.endTime,
        from: query.from ?? 0,
        size: query.size,
      },
    },
    signal,
  );

/** Base64 (URL-safe) of UTF-8 text, for SQL passed in query strings. */
export function base64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export const topValues = (
  org: string,
  stream: string,
  field: string,
  sql: string,
  startTime: number,
  endTime: number,
  signal?: AbortSignal,
) =>
  request<ValuesResponse>(
    "GET",
    `/api/${enc(org)}/${enc(stream)}/_values?type=logs&fields=${enc(field)}&size=10` +
      `&start_time=${startTime}&end_time=${endTime}&sql=${base64Url(sql)}`,
    undefined,
    signal,
  );

export const around = (org: string, stream: string, key: number, size: number) =>
  request<SearchResponse>("GET", `/api/${enc(org)}/${enc(stream)}/_around?type=logs&key=${key}&size=${size}`);

export function downloadUrl(org: string, sql: string, startTime: number, endTime: number, format: "csv" | "ndjson") {
  return (
    `/api/${enc(org)}/_download?type=logs&format=${format}&start_time=${startTime}` +
    `&end_time=${endTime}&sql=${base64Url(sql)}`
  );
}

export function tailUrl(org: string, stream: string, sql: string) {
  return `/api/${enc(org)}/${enc(stream)}/_tail?type=logs&sql=${base64Url(sql)}`;
}

/** A stream's ingest pipeline as stored (docs/pipelines.md). */
export interface StoredPipeline {
  stream: string;
  pipeline: { version?: number; steps: unknown[] };
  version: number;
  updated_at: number;
  updated_by: string;
}

/** One outcome of a pipeline test run. */
export interface PipelineResult {
  record_number: number;
  stream?: string;
  routed?: boolean;
  dropped?: boolean;
  /** A VRL step failed: the record is stored as it was before that step, with this error. */
  failed?: string;
  joined_records?: number[];
  record?: Record<string, unknown>;
  error?: string;
}

const pipelinePath = (org: string, stream: string) => `/api/${enc(org)}/streams/${enc(stream)}/pipeline`;

export const getPipeline = (org: string, stream: string) =>
  request<StoredPipeline>("GET", `${pipelinePath(org, stream)}?type=logs`);

export const putPipeline = (org: string, stream: string, pipeline: unknown) =>
  request<{ version: number }>("PUT", `${pipelinePath(org, stream)}?type=logs`, pipeline);

export const deletePipeline = (org: string, stream: string) =>
  request<void>("DELETE", `${pipelinePath(org, stream)}?type=logs`);

export const testPipeline = (org: string, stream: string, pipeline: unknown, records: unknown[]) =>
  request<{ results: PipelineResult[] }>("POST", `${pipelinePath(org, stream)}/test?type=logs`, { pipeline, records });
