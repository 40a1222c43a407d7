// The o2 v8 dashboard document as the UI reads it (docs/dashboards.md). Field names and casing
// are o2's: camelCase for the dashboard, tabs, panels and variables, snake_case inside `fields`,
// `config` and `query_data`. Unknown fields are kept as they are (every object is open).

export interface Layout {
  x: number;
  y: number;
  w: number;
  h: number;
  i?: number | string;
}

export interface ThresholdStep {
  color: string;
  value: number | null;
}

export interface Thresholds {
  mode?: "absolute" | "percentage";
  steps: ThresholdStep[];
}

export interface OverrideRule {
  matcher: { id: string; options?: string };
  properties: { id: string; value: unknown }[];
}

export interface QueryConfig {
  promql_legend?: string;
  step_value?: string;
  instant?: boolean;
  min_step?: string;
  format?: string;
  query_label?: string;
  limit?: number;
  [key: string]: unknown;
}

export interface PanelQuery {
  query: string;
  vrlFunctionQuery?: string;
  customQuery?: boolean;
  fields: {
    stream: string;
    stream_type: string;
    x?: unknown[];
    y?: unknown[];
    z?: unknown[];
    breakdown?: unknown[];
    filter?: unknown;
    [key: string]: unknown;
  };
  config: QueryConfig;
  [key: string]: unknown;
}

export interface PanelConfig {
  show_legends?: boolean;
  legends_position?: "bottom" | "right" | null;
  unit?: string;
  unit_custom?: string;
  decimals?: number;
  y_axis_min?: number | null;
  y_axis_max?: number | null;
  thresholds?: Thresholds;
  mappings?: unknown[];
  overrides?: OverrideRule[];
  transformations?: { id: string; options?: Record<string, unknown> }[];
  reduce?: string;
  sparkline?: { enabled?: boolean };
  collapsed?: boolean;
  no_value_replacement?: string;
  display_name?: string;
  color?: { mode?: string; fixedColor?: string };
  [key: string]: unknown;
}

export interface Panel {
  id: string;
  type: string;
  title: string;
  description?: string;
  queryType?: string;
  queries: PanelQuery[];
  config: PanelConfig;
  layout: Layout;
  markdownContent?: string;
  htmlContent?: string;
  [key: string]: unknown;
}

export interface Tab {
  tabId: string;
  name: string;
  panels: Panel[];
  [key: string]: unknown;
}

export interface VariableOption {
  label: string;
  value: string;
  selected?: boolean;
}

export interface Variable {
  type: string;
  name: string;
  label?: string;
  query_data?: {
    stream_type?: string;
    stream?: string;
    field?: string;
    promql?: string;
    max_record_size?: number;
    filter?: { name: string; operator: string; value: string }[];
  };
  options?: VariableOption[];
  value?: unknown;
  multiSelect?: boolean;
  includeAll?: boolean;
  allValue?: string;
  hideOnDashboard?: boolean;
  regex?: string;
  sort?: number;
  refresh?: number;
  auto?: boolean;
  auto_count?: number;
  auto_min?: string;
  [key: string]: unknown;
}

export interface DateTimeOptions {
  type: "relative" | "absolute";
  relativeTimePeriod?: string;
  startTime?: number;
  endTime?: number;
}

export interface Dashboard {
  version?: number;
  dashboardId?: string;
  title: string;
  description?: string;
  role?: string;
  owner?: string;
  created?: string;
  tabs: Tab[];
  variables?: { list: Variable[]; showDynamicFilters?: boolean };
  defaultDatetimeDuration?: DateTimeOptions;
  refresh?: string;
  tags?: string[];
  [key: string]: unknown;
}

/** A dashboard as the API answers it. */
export interface Stored {
  v8: Dashboard;
  version: number;
  hash: string;
  updatedAt: number;
  folder_id: string;
  folder_name: string;
}

export interface Summary {
  folder_id: string;
  folder_name: string;
  dashboard_id: string;
  title: string;
  description: string;
  role: string;
  owner: string;
  created: string;
  hash: string;
  updatedAt: number;
  managed_by?: string;
}

export interface Folder {
  folderId: string;
  name: string;
  description: string;
}

export interface ImportReport {
  panels: number;
  approximated: string[];
  dropped: string[];
}

export const BUILTIN_FOLDER = "builtin";
export const DEFAULT_FOLDER = "default";

export const PANEL_TYPES = [
  "line",
  "area",
  "area-stacked",
  "bar",
  "h-bar",
  "stacked",
  "h-stacked",
  "scatter",
  "table",
  "metric",
  "gauge",
  "pie",
  "donut",
  "heatmap",
  "markdown",
  "html",
  "logs",
  "row",
  "geomap",
  "maps",
  "sankey",
  "custom_chart",
] as const;

export const UNSUPPORTED_TYPES = new Set(["geomap", "maps", "sankey", "custom_chart"]);
/** Panels without queries. */
export const CONTENT_TYPES = new Set(["markdown", "html", "row"]);
