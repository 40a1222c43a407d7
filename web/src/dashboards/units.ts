// Values as panels show them: o2's units (`config.unit`, with `decimals`), Grafana's thresholds
// and value mappings, and the colours of both.
import type { Thresholds } from "./types";

export const UNITS = [
  "numbers",
  "bytes",
  "kilobytes",
  "megabytes",
  "bps",
  "seconds",
  "milliseconds",
  "microseconds",
  "nanoseconds",
  "percent",
  "percent-1",
  "custom",
];

/** Grafana unit ids (field overrides keep them as Grafana wrote them) as o2 units. */
const GRAFANA_UNITS: Record<string, [string, string?]> = {
  percentunit: ["percent-1"],
  percent: ["percent"],
  bytes: ["bytes"],
  decbytes: ["bytes"],
  kbytes: ["kilobytes"],
  mbytes: ["megabytes"],
  Bps: ["bps"],
  binBps: ["bps"],
  bps: ["custom", "b/s"],
  s: ["seconds"],
  ms: ["milliseconds"],
  µs: ["microseconds"],
  us: ["microseconds"],
  ns: ["nanoseconds"],
  short: ["numbers"],
  none: ["numbers"],
  ops: ["custom", "ops/s"],
  reqps: ["custom", "req/s"],
  pps: ["custom", "p/s"],
  iops: ["custom", "io/s"],
};

export interface Unit {
  unit: string;
  custom?: string;
  decimals?: number;
}

/** A unit of a panel's config (o2's name), or of a field override (Grafana's, where `bps` is
 * bits per second and `percent` the same as o2's). */
export function normalizeUnit(unit: string | undefined, custom?: string, grafanaFirst = false): Unit {
  if (!unit || unit === "default") return { unit: "numbers" };
  const grafana = GRAFANA_UNITS[unit];
  if (grafanaFirst && grafana) return { unit: grafana[0], custom: grafana[1] };
  if (UNITS.includes(unit)) return { unit, custom };
  if (grafana) return { unit: grafana[0], custom: grafana[1] };
  if (unit.startsWith("suffix:")) return { unit: "custom", custom: unit.slice(7) };
  return { unit: "custom", custom: unit };
}

function fixed(value: number, decimals: number | undefined): string {
  if (decimals !== undefined && decimals !== null && Number.isFinite(decimals)) return value.toFixed(Math.max(0, Math.min(10, decimals)));
  if (value === 0) return "0";
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 1 : abs >= 1 ? 2 : Math.min(10, 2 - Math.floor(Math.log10(abs)));
  return String(Number(value.toFixed(digits)));
}

function scaled(value: number, base: number, suffixes: string[], decimals: number | undefined): string {
  let index = 0;
  let v = value;
  while (Math.abs(v) >= base && index < suffixes.length - 1) {
    v /= base;
    index++;
  }
  return `${fixed(v, decimals)} ${suffixes[index]}`.trimEnd();
}

const BYTES = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

function duration(seconds: number, decimals: number | undefined): string {
  const abs = Math.abs(seconds);
  if (abs === 0) return `${fixed(0, decimals)} s`;
  if (abs < 1e-6) return `${fixed(seconds * 1e9, decimals)} ns`;
  if (abs < 1e-3) return `${fixed(seconds * 1e6, decimals)} µs`;
  if (abs < 1) return `${fixed(seconds * 1e3, decimals)} ms`;
  if (abs < 60) return `${fixed(seconds, decimals)} s`;
  if (abs < 3600) return `${fixed(seconds / 60, decimals)} min`;
  if (abs < 86400) return `${fixed(seconds / 3600, decimals)} h`;
  return `${fixed(seconds / 86400, decimals)} d`;
}

/** A value in a unit, e.g. `1.5 KiB`, `250 ms`, `42%`. */
export function formatUnit(value: number | null | undefined, unit: Unit): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "";
  if (!Number.isFinite(value)) return value > 0 ? "+Inf" : "-Inf";
  const d = unit.decimals;
  switch (unit.unit) {
    case "bytes":
      return scaled(value, 1024, BYTES, d);
    case "kilobytes":
      return scaled(value * 1024, 1024, BYTES, d);
    case "megabytes":
      return scaled(value * 1024 * 1024, 1024, BYTES, d);
    case "bps":
      return scaled(value, 1024, BYTES.map((b) => `${b}/s`), d);
    case "seconds":
      return duration(value, d);
    case "milliseconds":
      return duration(value / 1e3, d);
    case "microseconds":
      return duration(value / 1e6, d);
    case "nanoseconds":
      return duration(value / 1e9, d);
    case "percent":
      return `${fixed(value, d)}%`;
    case "percent-1":
      return `${fixed(value * 100, d)}%`;
    case "custom":
      return `${fixed(value, d)}${unit.custom ? ` ${unit.custom}` : ""}`;
    default:
      return Math.abs(value) >= 1e4 ? scaled(value, 1000, ["", "K", "M", "B", "T", "P"], d ?? (Math.abs(value) >= 1e5 ? 1 : 2)) : fixed(value, d);
  }
}

// ---- colours --------------------------------------------------------------------------------------

// Grafana's palette names (the dashboards Grafana exports use them).
const NAMED: Record<string, string> = {
  green: "#73bf69",
  red: "#f2495c",
  orange: "#ff9830",
  yellow: "#fade2a",
  blue: "#5794f2",
  purple: "#b877d9",
  "dark-green": "#37872d",
  "dark-red": "#c4162a",
  "dark-orange": "#fa6400",
  "dark-yellow": "#e0b400",
  "dark-blue": "#1f60c4",
  "dark-purple": "#8f3bb8",
  "semi-dark-green": "#56a64b",
  "semi-dark-red": "#e02f44",
  "semi-dark-orange": "#ff780a",
  "semi-dark-yellow": "#f2cc0c",
  "semi-dark-blue": "#3274d9",
  "semi-dark-purple": "#a352cc",
  "light-green": "#96d98d",
  "light-red": "#ff7383",
  "light-orange": "#ffb357",
  "light-yellow": "#ffee52",
  "light-blue": "#8ab8ff",
  "light-purple": "#ca95e5",
  text: "#333",
  transparent: "transparent",
};

/** A colour as CSS: Grafana's names, else as given. */
export function cssColor(color: string | undefined): string | undefined {
  if (!color) return undefined;
  const named = NAMED[color] ?? NAMED[color.replace(/^super-light-/, "light-")];
  return named ?? color;
}

/** The colour of the threshold step a value reaches (percentage steps over `min`…`max`). */
export function thresholdColor(value: number | null | undefined, thresholds: Thresholds | undefined, min = 0, max = 100): string | undefined {
  if (!thresholds?.steps?.length || value === null || value === undefined || Number.isNaN(value)) return undefined;
  const v = thresholds.mode === "percentage" ? ((value - min) / (max - min || 1)) * 100 : value;
  let color: string | undefined;
  for (const step of thresholds.steps) {
    if (step.value === null || step.value === undefined || v >= step.value) color = step.color;
  }
  return cssColor(color);
}

// ---- value mappings -------------------------------------------------------------------------------

export interface Mapped {
  text?: string;
  color?: string;
}

interface GrafanaResult {
  text?: string;
  color?: string;
}

/** The mapping of a value: Grafana's (`{type, options}`) and o2's (`{type, value|from|to|pattern, text, color}`). */
export function mapValue(value: unknown, mappings: unknown[] | undefined): Mapped | undefined {
  if (!mappings?.length) return undefined;
  const number = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  const text = value === null || value === undefined ? "" : String(value);
  const result = (r: GrafanaResult | undefined): Mapped | undefined => (r ? { text: r.text, color: cssColor(r.color) } : undefined);
  for (const raw of mappings) {
    const m = raw as Record<string, unknown>;
    const options = m.options as Record<string, unknown> | undefined;
    if (options) {
      if (m.type === "value" && text in options) return result(options[text] as GrafanaResult);
      if (m.type === "range") {
        const from = options.from as number | null;
        const to = options.to as number | null;
        if (!Number.isNaN(number) && (from === null || from === undefined || number >= from) && (to === null || to === undefined || number <= to)) {
          return result(options.result as GrafanaResult);
        }
      }
      if (m.type === "regex" && typeof options.pattern === "string") {
        try {
          if (new RegExp(options.pattern).test(text)) return result(options.result as GrafanaResult);
        } catch {
          // an invalid pattern maps nothing
        }
      }
      if (m.type === "special") {
        const match = options.match as string;
        const hit =
          (match === "null" && (value === null || value === undefined)) ||
          (match === "nan" && typeof value === "number" && Number.isNaN(value)) ||
          (match === "null+nan" && (value === null || value === undefined || (typeof value === "number" && Number.isNaN(value)))) ||
          (match === "true" && (value === true || text === "true")) ||
          (match === "false" && (value === false || text === "false")) ||
          (match === "empty" && text === "");
        if (hit) return result(options.result as GrafanaResult);
      }
      continue;
    }
    // o2's flat shape.
    const mapped = { text: m.text as string | undefined, color: cssColor(m.color as string | undefined) };
    if (m.type === "value" && String(m.value) === text) return mapped;
    if (m.type === "range" && !Number.isNaN(number) && (m.from == null || number >= Number(m.from)) && (m.to == null || number <= Number(m.to))) return mapped;
    if (m.type === "regex" && typeof m.pattern === "string") {
      try {
        if (new RegExp(m.pattern).test(text)) return mapped;
      } catch {
        // an invalid pattern maps nothing
      }
    }
  }
  return undefined;
}

// ---- reducers -------------------------------------------------------------------------------------

/** Grafana's reducers over a series' values (nulls skipped). */
export function reduce(values: (number | null)[], how = "lastNotNull"): number | null {
  const present = values.filter((v): v is number => v !== null && !Number.isNaN(v));
  if (!present.length) return null;
  switch (how) {
    case "mean":
    case "avg":
      return present.reduce((a, b) => a + b, 0) / present.length;
    case "max":
      return Math.max(...present);
    case "min":
      return Math.min(...present);
    case "sum":
    case "total":
      return present.reduce((a, b) => a + b, 0);
    case "first":
    case "firstNotNull":
      return present[0];
    case "count":
      return present.length;
    case "range":
      return Math.max(...present) - Math.min(...present);
    case "diff":
      return present[present.length - 1] - present[0];
    case "last":
    case "lastNotNull":
    default:
      return present[present.length - 1];
  }
}

// ---- series styles: palette and field overrides ----------------------------------------------------

// Grafana's classic palette.
export const PALETTE = ["#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9", "#705da0", "#508642", "#cca300", "#447ebc", "#c15c17"];

export interface SeriesStyle {
  name: string;
  color: string;
  unit: Unit;
  dashed: boolean;
}

interface StyleConfig {
  unit?: string;
  unit_custom?: string;
  decimals?: number;
  overrides?: { matcher: { id: string; options?: string }; properties: { id: string; value: unknown }[] }[];
  color?: { mode?: string; fixedColor?: string };
}

/** A series' display name, colour, unit and line style: the panel's, then its overrides
 * matched by name, regular expression or query (refId) in order. */
export function seriesStyle(name: string, refId: string, index: number, config: StyleConfig): SeriesStyle {
  const style: SeriesStyle = {
    name,
    color: config.color?.mode === "fixed" && config.color.fixedColor ? cssColor(config.color.fixedColor)! : PALETTE[index % PALETTE.length],
    unit: { ...normalizeUnit(config.unit, config.unit_custom), decimals: config.decimals },
    dashed: false,
  };
  for (const rule of config.overrides ?? []) {
    const option = rule.matcher?.options ?? "";
    let matches = false;
    if (rule.matcher?.id === "byName") matches = option === name;
    else if (rule.matcher?.id === "byFrameRefID") matches = option === refId;
    else if (rule.matcher?.id === "byRegexp") {
      try {
        matches = new RegExp(`^(?:${option})$`).test(name);
      } catch {
        matches = false;
      }
    }
    if (!matches) continue;
    for (const property of rule.properties ?? []) {
      const value = property.value as Record<string, unknown> | string | undefined;
      if (property.id === "unit" && typeof value === "string") style.unit = { ...normalizeUnit(value, undefined, true), decimals: config.decimals };
      else if (property.id === "displayName" && typeof value === "string") style.name = value;
      else if (property.id === "color" && value && typeof value === "object" && typeof value.fixedColor === "string") style.color = cssColor(value.fixedColor)!;
      else if (property.id === "custom.lineStyle" && value && typeof value === "object") style.dashed = value.fill === "dash" || value.fill === "dot";
    }
  }
  return style;
}
