// The dashboards API (docs/dashboards.md), and the queries panels and variables run: the
// Prometheus API and `_search`, through a cache of identical requests (10 s) whose network
// request is aborted when every panel waiting for it has given up.
import { request, type SearchResponse } from "../api";
import type { PromResponse, QueryData } from "../metrics/promApi";
import type { Dashboard, Folder, ImportReport, Stored, Summary } from "./types";

const enc = encodeURIComponent;

export const listFolders = (org: string) =>
  request<{ list: Folder[] }>("GET", `/api/v2/${enc(org)}/folders/dashboards`).then((r) => r.list);
export const createFolder = (org: string, name: string, description = "") =>
  request<Folder>("POST", `/api/v2/${enc(org)}/folders/dashboards`, { name, description });
export const updateFolder = (org: string, id: string, name: string, description = "") =>
  request<Folder>("PUT", `/api/v2/${enc(org)}/folders/dashboards/${enc(id)}`, { name, description });
export const deleteFolder = (org: string, id: string) => request<unknown>("DELETE", `/api/v2/${enc(org)}/folders/dashboards/${enc(id)}`);

export const listDashboards = (org: string, folder: string, signal?: AbortSignal) =>
  request<{ dashboards: Summary[] }>("GET", `/api/${enc(org)}/dashboards?folder=${enc(folder)}`, undefined, signal).then((r) => r.dashboards);
export const searchDashboards = (org: string, title: string, signal?: AbortSignal) =>
  request<{ dashboards: Summary[] }>("GET", `/api/${enc(org)}/dashboards?title=${enc(title)}`, undefined, signal).then((r) => r.dashboards);
export const getDashboard = (org: string, id: string) => request<Stored>("GET", `/api/${enc(org)}/dashboards/${enc(id)}`);
export const createDashboard = (org: string, folder: string, dashboard: unknown) =>
  request<Stored>("POST", `/api/${enc(org)}/dashboards?folder=${enc(folder)}`, dashboard);
/** Saves; with `hash`, answers 409 when someone else saved since. */
export const saveDashboard = (org: string, id: string, dashboard: Dashboard, hash?: string) =>
  request<Stored>("PUT", `/api/${enc(org)}/dashboards/${enc(id)}${hash ? `?hash=${enc(hash)}` : ""}`, dashboard);
export const deleteDashboard = (org: string, id: string) => request<unknown>("DELETE", `/api/${enc(org)}/dashboards/${enc(id)}`);
export const moveDashboards = (org: string, ids: string[], folder: string) =>
  request<unknown>("PATCH", `/api/${enc(org)}/dashboards/move`, { dashboard_ids: ids, dst_folder_id: folder });
export const previewGrafana = (org: string, grafana: unknown) =>
  request<{ dashboard: Dashboard; report: ImportReport }>("POST", `/api/${enc(org)}/dashboards/import/grafana?save=false`, grafana);
export const importGrafana = (org: string, folder: string, grafana: unknown) =>
  request<Stored & { report: ImportReport }>("POST", `/api/${enc(org)}/dashboards/import/grafana?folder=${enc(folder)}`, grafana);

// ---- cached queries ------------------------------------------------------------------------------

const TTL_MS = 10_000;

interface Entry {
  promise: Promise<unknown>;
  controller: AbortController;
  waiting: number;
  settled: boolean;
  at: number;
}

const cache = new Map<string, Entry>();

const aborted = () => new DOMException("aborted", "AbortError");

/** A request shared by identical callers for 10 s; the network request is aborted when every
 * caller waiting for it aborted. Failures are not kept. */
export function cached<T>(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  if (signal?.aborted) return Promise.reject(aborted());
  const key = `${method} ${path} ${body instanceof URLSearchParams ? body.toString() : JSON.stringify(body ?? null)}`;
  const now = Date.now();
  for (const [k, e] of cache) if (e.settled && now - e.at > TTL_MS) cache.delete(k);
  let entry = cache.get(key);
  if (!entry || (entry.settled && now - entry.at > TTL_MS)) {
    const controller = new AbortController();
    const created: Entry = { controller, waiting: 0, settled: false, at: now, promise: Promise.resolve() };
    created.promise = request<T>(method, path, body, controller.signal).then(
      (value) => {
        created.settled = true;
        created.at = Date.now();
        return value;
      },
      (error) => {
        if (cache.get(key) === created) cache.delete(key);
        throw error;
      },
    );
    created.promise.catch(() => undefined);
    cache.set(key, created);
    entry = created;
  }
  const current = entry;
  current.waiting++;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      current.waiting--;
      if (current.waiting <= 0 && !current.settled) {
        current.controller.abort();
        if (cache.get(key) === current) cache.delete(key);
      }
      reject(aborted());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    current.promise.then(
      (value) => {
        signal?.removeEventListener("abort", onAbort);
        current.waiting--;
        resolve(value as T);
      },
      (error) => {
        signal?.removeEventListener("abort", onAbort);
        current.waiting--;
        reject(error);
      },
    );
  });
}

/** Empties the cache (a refresh asked for by the user). */
export const clearCache = () => cache.clear();

const prom = (org: string) => `/api/${enc(org)}/prometheus/api/v1`;

export const promRange = (org: string, query: string, start: number, end: number, step: number, signal?: AbortSignal) =>
  cached<PromResponse<QueryData>>(
    "POST",
    `${prom(org)}/query_range`,
    new URLSearchParams({ query, start: String(start), end: String(end), step: String(step) }),
    signal,
  );

export const promInstant = (org: string, query: string, time: number, signal?: AbortSignal) =>
  cached<PromResponse<QueryData>>("POST", `${prom(org)}/query`, new URLSearchParams({ query, time: String(time) }), signal);

export const sqlSearch = (org: string, streamType: string, sql: string, start: number, end: number, size: number, signal?: AbortSignal) =>
  cached<SearchResponse>(
    "POST",
    `/api/${enc(org)}/_search?type=${enc(streamType || "logs")}`,
    { query: { sql, start_time: Math.round(start), end_time: Math.round(end), from: 0, size } },
    signal,
  );

function span(range: [number, number], match?: string) {
  const params = new URLSearchParams({ start: String(Math.floor(range[0] / 1e6)), end: String(Math.ceil(range[1] / 1e6)) });
  if (match) params.set("match[]", match);
  return params;
}

export const promLabelValues = (org: string, label: string, range: [number, number], match?: string, signal?: AbortSignal) =>
  cached<PromResponse<string[]>>("GET", `${prom(org)}/label/${enc(label)}/values?${span(range, match)}`, undefined, signal).then((r) => r.data);

export const promLabelNames = (org: string, range: [number, number], match?: string, signal?: AbortSignal) =>
  cached<PromResponse<string[]>>("GET", `${prom(org)}/labels?${span(range, match)}`, undefined, signal).then((r) => r.data);

export const promSeriesList = (org: string, range: [number, number], match: string, signal?: AbortSignal) =>
  cached<PromResponse<Record<string, string>[]>>("GET", `${prom(org)}/series?${span(range, match)}`, undefined, signal).then((r) => r.data);

export const fieldValues = (
  org: string,
  stream: string,
  streamType: string,
  field: string,
  range: [number, number],
  size: number,
  filters: { name: string; value: string }[],
  signal?: AbortSignal,
) => {
  const params = new URLSearchParams({
    fields: field,
    size: String(Math.min(1000, size)),
    start_time: String(Math.round(range[0])),
    end_time: String(Math.round(range[1])),
    type: streamType,
  });
  if (filters.length) params.set("filter", filters.map((f) => `${f.name}=${f.value}`).join(","));
  return cached<{ hits: { field: string; values: { zo_sql_key: unknown }[] }[] }>(
    "GET",
    `/api/${enc(org)}/${enc(stream)}/_values?${params}`,
    undefined,
    signal,
  ).then((r) => (r.hits[0]?.values ?? []).map((v) => String(v.zo_sql_key ?? "")));
};

