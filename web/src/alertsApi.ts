// The alerts API (templates, destinations, alerts, history), as the alert screens use it.
import { request } from "./api";

const enc = encodeURIComponent;

export interface Template {
  name: string;
  type?: string;
  title: string;
  body: string;
  managed_by?: string;
}

export interface Destination {
  name: string;
  type: string; // "http" | "email"
  url: string;
  method: string;
  headers: Record<string, string>;
  template: string;
  emails: string[];
  destination_type_name: string; // "slack" preset or ""
  rate_limit_per_hour: number;
  managed_by?: string;
}

export interface Condition {
  column: string;
  operator: string;
  value: string | number | boolean;
  ignore_case?: boolean;
}

export interface Aggregation {
  group_by: string[];
  function: string;
  having: Condition;
}

export interface Alert {
  id?: string;
  name: string;
  description: string;
  stream_type: string;
  stream_name: string;
  is_real_time: boolean;
  enabled: boolean;
  query_condition: {
    type: "custom" | "sql";
    conditions?: { and: Condition[] } | { or: Condition[] } | null;
    sql?: string | null;
    aggregation?: Aggregation | null;
  };
  trigger_condition: {
    kind: string;
    period: number;
    frequency: number;
    operator: string;
    threshold: number;
    silence: number;
    /** Minutes to wait for late records (the window ends this long before the run's due time). */
    delay?: number;
    min_previous: number;
    term_fields: string[];
    term_window: number;
  };
  destinations: string[];
  template?: string | null;
  managed_by?: string;
}

export interface AlertWithState extends Alert {
  id: string;
  last_run_at: number;
  next_run_at: number;
  last_triggered_at: number;
  last_status: string;
  summary: string;
}

export interface Preview {
  would_fire: boolean;
  value: number;
  count: number;
  previous?: number;
  agg_value: number | null;
  operator: string;
  threshold: number;
  rows: Record<string, unknown>[];
  summary: string;
}

export interface HistoryEntry {
  alert_id: string;
  alert_name: string;
  timestamp: number;
  status: string;
  detail: Record<string, unknown> | null;
}

export const listTemplates = (org: string) => request<Template[]>("GET", `/api/${enc(org)}/alerts/templates`);
export const saveTemplate = (org: string, template: Template, create: boolean) =>
  create
    ? request<unknown>("POST", `/api/${enc(org)}/alerts/templates`, template)
    : request<unknown>("PUT", `/api/${enc(org)}/alerts/templates/${enc(template.name)}`, template);
export const deleteTemplate = (org: string, name: string) =>
  request<unknown>("DELETE", `/api/${enc(org)}/alerts/templates/${enc(name)}`);
export const previewTemplate = (org: string, body: string) =>
  request<{ rendered: string; valid_json: boolean }>("POST", `/api/${enc(org)}/alerts/templates/preview`, { body });

export const listDestinations = (org: string) =>
  request<Destination[]>("GET", `/api/${enc(org)}/alerts/destinations`);
export const saveDestination = (org: string, destination: Destination, create: boolean) =>
  create
    ? request<unknown>("POST", `/api/${enc(org)}/alerts/destinations`, destination)
    : request<unknown>("PUT", `/api/${enc(org)}/alerts/destinations/${enc(destination.name)}`, destination);
export const deleteDestination = (org: string, name: string) =>
  request<unknown>("DELETE", `/api/${enc(org)}/alerts/destinations/${enc(name)}`);
export const testDestination = (org: string, name: string) =>
  request<{ message: string; http_status: number; attempts: number }>(
    "POST",
    `/api/${enc(org)}/alerts/destinations/${enc(name)}/test`,
    {},
  );

export const listAlerts = (org: string) =>
  request<{ list: AlertWithState[] }>("GET", `/api/v2/${enc(org)}/alerts`).then((r) => r.list);
export const saveAlert = (org: string, alert: Alert) =>
  alert.id
    ? request<{ id: string }>("PUT", `/api/v2/${enc(org)}/alerts/${enc(alert.id)}`, alert)
    : request<{ id: string }>("POST", `/api/v2/${enc(org)}/alerts`, alert);
export const deleteAlert = (org: string, id: string) =>
  request<unknown>("DELETE", `/api/v2/${enc(org)}/alerts/${enc(id)}`);
export const enableAlert = (org: string, id: string, value: boolean) =>
  request<unknown>("PATCH", `/api/v2/${enc(org)}/alerts/${enc(id)}/enable?value=${value}`);
export const triggerAlert = (org: string, id: string) =>
  request<{ status: string; value: number }>("PATCH", `/api/v2/${enc(org)}/alerts/${enc(id)}/trigger`);
export const previewAlert = (org: string, alert: Alert, signal?: AbortSignal) =>
  request<Preview>("POST", `/api/v2/${enc(org)}/alerts/preview`, alert, signal);
export const history = (org: string, alertId?: string) =>
  request<{ hits: HistoryEntry[] }>(
    "GET",
    `/api/v2/${enc(org)}/alerts/history?size=200${alertId ? `&alert_id=${enc(alertId)}` : ""}`,
  ).then((r) => r.hits);

export function emptyAlert(stream: string): Alert {
  return {
    name: "",
    description: "",
    stream_type: "logs",
    stream_name: stream,
    is_real_time: false,
    enabled: true,
    query_condition: { type: "custom", conditions: { and: [] }, sql: "", aggregation: null },
    trigger_condition: {
      kind: "threshold",
      period: 10,
      frequency: 1,
      operator: ">=",
      threshold: 1,
      silence: 10,
      min_previous: 1,
      term_fields: [],
      term_window: 1440,
    },
    destinations: [],
    template: null,
  };
}

/** The state badge of an alert: what its last evaluation found. */
export function alertState(alert: AlertWithState): { label: string; tone: "bad" | "good" | "muted" | "warn" } {
  if (!alert.enabled) return { label: "disabled", tone: "muted" };
  switch (alert.last_status) {
    case "fired":
      return { label: "firing", tone: "bad" };
    case "silenced":
      return { label: "firing (silenced)", tone: "warn" };
    case "not_fired":
      return { label: "ok", tone: "good" };
    case "error":
      return { label: "error", tone: "bad" };
    default:
      return { label: "not run yet", tone: "muted" };
  }
}

/** "Name: value" lines ↔ headers. */
export function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf(":");
    if (at <= 0) continue;
    headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return headers;
}

export function formatHeaders(headers: Record<string, string>): string {
  return Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join("\n");
}
