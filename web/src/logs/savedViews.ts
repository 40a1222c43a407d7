// Saved views of the logs page (`/api/{org}/savedviews`, personal to the signed-in user): a view
// is the page's query, filter mode, stream, columns (and widths), time range and chart.
import { request } from "../api";
import { DEFAULT_STATE, type LogsState } from "../state";

const enc = encodeURIComponent;

export interface SavedViewData {
  kansoku_view: 1;
  stream: string;
  mode: LogsState["mode"];
  query: string;
  from: string;
  to: string;
  columns: string[];
  widths: Record<string, number>;
  viz?: string;
}

export interface SavedView {
  view_id: string;
  view_name: string;
  data: unknown;
  created?: number;
  updated?: number;
}

export function viewData(state: LogsState): SavedViewData {
  return {
    kansoku_view: 1,
    stream: state.stream,
    mode: state.mode,
    query: state.query,
    from: state.from,
    to: state.to,
    columns: state.columns,
    widths: state.widths,
    ...(state.viz ? { viz: state.viz } : {}),
  };
}

/** The logs page state a view opens (unknown or missing parts take their defaults). */
export function stateOfView(data: unknown): LogsState | undefined {
  if (!data || typeof data !== "object") return undefined;
  const d = data as Record<string, unknown>;
  if (typeof d.stream !== "string") return undefined;
  const text = (v: unknown, fallback: string) => (typeof v === "string" ? v : fallback);
  const widths: Record<string, number> = {};
  if (d.widths && typeof d.widths === "object") {
    for (const [k, v] of Object.entries(d.widths as Record<string, unknown>)) if (typeof v === "number") widths[k] = v;
  }
  return {
    ...DEFAULT_STATE,
    stream: d.stream,
    mode: d.mode === "sql" ? "sql" : "filter",
    query: text(d.query, ""),
    from: text(d.from, DEFAULT_STATE.from),
    to: text(d.to, DEFAULT_STATE.to),
    columns: Array.isArray(d.columns) ? d.columns.filter((c): c is string => typeof c === "string") : [],
    widths,
    viz: typeof d.viz === "string" ? d.viz : undefined,
  };
}

export const listViews = (org: string) => request<{ views: SavedView[] }>("GET", `/api/${enc(org)}/savedviews`).then((r) => r.views ?? []);

export const createView = (org: string, name: string, data: SavedViewData) =>
  request<{ view_id: string }>("POST", `/api/${enc(org)}/savedviews`, { view_name: name, data });

export const updateView = (org: string, id: string, name: string, data: unknown) =>
  request<unknown>("PUT", `/api/${enc(org)}/savedviews/${enc(id)}`, { view_name: name, data });

export const deleteView = (org: string, id: string) => request<unknown>("DELETE", `/api/${enc(org)}/savedviews/${enc(id)}`);
