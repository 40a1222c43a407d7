// The few dashboard calls "Add to dashboard" makes (docs/dashboards.md): list, read with its
// hash, save with `?hash=` (409 when someone saved in between), create.
import { request } from "../api";
import type { Json } from "./visualize";

const enc = encodeURIComponent;

export interface DashboardSummary {
  dashboard_id: string;
  title: string;
  folder_id: string;
  folder_name: string;
  managed_by?: string;
}

export interface DashboardWrapper {
  v8: Json;
  hash: string;
  folder_id?: string;
  folder_name?: string;
}

/** Every dashboard the user may change (the read-only built-in folder left out), by title. */
export const listDashboards = (org: string) =>
  request<{ dashboards: DashboardSummary[] }>("GET", `/api/${enc(org)}/dashboards?title=`).then((r) =>
    (r.dashboards ?? []).filter((d) => d.folder_id !== "builtin").sort((a, b) => a.title.localeCompare(b.title)),
  );

export const getDashboard = (org: string, id: string) => request<DashboardWrapper>("GET", `/api/${enc(org)}/dashboards/${enc(id)}`);

export const saveDashboard = (org: string, id: string, hash: string, dashboard: Json) =>
  request<DashboardWrapper>("PUT", `/api/${enc(org)}/dashboards/${enc(id)}?hash=${enc(hash)}`, dashboard);

export const createDashboard = (org: string, dashboard: Json) => request<DashboardWrapper>("POST", `/api/${enc(org)}/dashboards`, dashboard);

/** Where the Dashboards page shows one dashboard. */
export const dashboardUrl = (org: string, id: string) => `/dashboards/view?org=${enc(org)}&dashboard=${enc(id)}`;
