// The metrics page's whole state lives in the URL's query string, so a link reproduces the view.
import { parseStep } from "./step";

export type MetricsView = "chart" | "table";

export interface MetricsState {
  query: string;
  from: string;
  to: string;
  step: string; // "auto" or a duration such as "15s"
  view: MetricsView;
  refresh: string;
}

export const DEFAULT_METRICS_STATE: MetricsState = {
  query: "",
  from: "now-1h",
  to: "now",
  step: "auto",
  view: "chart",
  refresh: "off",
};

export function parseMetricsState(search: string): MetricsState {
  const params = new URLSearchParams(search);
  const step = params.get("step") ?? "";
  return {
    query: params.get("q") ?? "",
    from: params.get("from") ?? DEFAULT_METRICS_STATE.from,
    to: params.get("to") ?? DEFAULT_METRICS_STATE.to,
    step: parseStep(step) ? step : "auto",
    view: params.get("view") === "table" ? "table" : "chart",
    refresh: params.get("refresh") ?? "off",
  };
}

export function serializeMetricsState(state: MetricsState, org: string): string {
  const params = new URLSearchParams();
  params.set("org", org);
  if (state.query) params.set("q", state.query);
  params.set("from", state.from);
  params.set("to", state.to);
  if (state.step !== "auto") params.set("step", state.step);
  if (state.view !== "chart") params.set("view", state.view);
  if (state.refresh !== "off") params.set("refresh", state.refresh);
  return params.toString();
}
