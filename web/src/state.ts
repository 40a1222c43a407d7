// The logs page's whole state lives in the URL's query string, so copying the URL shares the view.

export type Mode = "filter" | "sql";

export interface LogsState {
  stream: string;
  mode: Mode;
  query: string;
  from: string;
  to: string;
  columns: string[];
  widths: Record<string, number>;
  record?: string; // `_timestamp` of the expanded record
  refresh: string;
  wrap: boolean;
  size: number;
  viz?: string; // the Visualize chart (logs/visualize.ts `encodeSpec`)
}

export const SIZES = [100, 500, 1000, 5000, 10000];

export const DEFAULT_STATE: LogsState = {
  stream: "",
  mode: "filter",
  query: "",
  from: "now-15m",
  to: "now",
  columns: [],
  widths: {},
  refresh: "off",
  wrap: false,
  size: 1000,
};

export function parseLogsState(search: string): LogsState {
  const params = new URLSearchParams(search);
  const widths: Record<string, number> = {};
  for (const pair of (params.get("w") ?? "").split(",")) {
    const at = pair.lastIndexOf(":");
    const width = Number(pair.slice(at + 1));
    if (at > 0 && Number.isFinite(width) && width >= 40 && width <= 4000) widths[pair.slice(0, at)] = width;
  }
  const size = Number(params.get("size"));
  return {
    stream: params.get("stream") ?? "",
    mode: params.get("mode") === "sql" ? "sql" : "filter",
    query: params.get("q") ?? "",
    from: params.get("from") ?? DEFAULT_STATE.from,
    to: params.get("to") ?? DEFAULT_STATE.to,
    columns: (params.get("cols") ?? "").split(",").filter(Boolean),
    widths,
    record: params.get("rec") ?? undefined,
    refresh: params.get("refresh") ?? "off",
    wrap: params.get("wrap") === "1",
    size: SIZES.includes(size) ? size : DEFAULT_STATE.size,
    viz: params.get("viz") ?? undefined,
  };
}

export function serializeLogsState(state: LogsState, org: string): string {
  const params = new URLSearchParams();
  params.set("org", org);
  if (state.stream) params.set("stream", state.stream);
  if (state.mode !== "filter") params.set("mode", state.mode);
  if (state.query) params.set("q", state.query);
  params.set("from", state.from);
  params.set("to", state.to);
  if (state.columns.length) params.set("cols", state.columns.join(","));
  const widths = Object.entries(state.widths).map(([name, width]) => `${name}:${Math.round(width)}`);
  if (widths.length) params.set("w", widths.join(","));
  if (state.record) params.set("rec", state.record);
  if (state.refresh !== "off") params.set("refresh", state.refresh);
  if (state.wrap) params.set("wrap", "1");
  if (state.size !== DEFAULT_STATE.size) params.set("size", String(state.size));
  if (state.viz) params.set("viz", state.viz);
  return params.toString();
}
