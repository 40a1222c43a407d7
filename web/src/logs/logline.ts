// How a record reads as a log line: which field is the message, which is the level (and its
// colour), and the rest as compact `key=value` chips.
import type { Hit } from "../api";

/** Fields shown as the log line when the stream's `message_field` is not set, in this order. */
export const MESSAGE_CANDIDATES = ["log", "message", "msg", "body", "content"];

/** Fields holding a record's level, in order of preference. */
export const LEVEL_FIELDS = ["level", "severity", "severity_text", "log_level", "loglevel", "lvl"];

export type Level = "fatal" | "error" | "warn" | "info" | "debug" | "trace";

export const LEVEL_COLOURS: Record<Level, string> = {
  fatal: "#8e1b1b",
  error: "#d32f2f",
  warn: "#e08a00",
  info: "#2f6fde",
  debug: "#7b8494",
  trace: "#b0b6c2",
};

const LEVEL_WORDS: Record<string, Level> = {
  fatal: "fatal",
  crit: "fatal",
  critical: "fatal",
  panic: "fatal",
  emerg: "fatal",
  emergency: "fatal",
  alert: "fatal",
  error: "error",
  err: "error",
  eror: "error",
  warn: "warn",
  warning: "warn",
  info: "info",
  information: "info",
  informational: "info",
  notice: "info",
  debug: "debug",
  dbug: "debug",
  trace: "trace",
  trce: "trace",
};

/**
 * The field shown as the log line: the stream's setting when the stream has that field, else the
 * first of [`MESSAGE_CANDIDATES`] it has; `undefined` when none.
 */
export function chooseMessageField(fieldNames: string[], setting?: string): string | undefined {
  const names = new Set(fieldNames);
  if (setting && names.has(setting)) return setting;
  return MESSAGE_CANDIDATES.find((f) => names.has(f));
}

/** The stream's level field (names compared case-insensitively); `undefined` when none. */
export function chooseLevelField(fieldNames: string[]): string | undefined {
  for (const wanted of LEVEL_FIELDS) {
    const found = fieldNames.find((f) => f.toLowerCase() === wanted);
    if (found) return found;
  }
  return undefined;
}

/** The level a value names (`ERROR`, `Warning`, `err` …), case-insensitive. */
export function levelOf(value: unknown): Level | undefined {
  if (typeof value !== "string") return undefined;
  return LEVEL_WORDS[value.trim().toLowerCase()];
}

/**
 * The level written inside a log line, for records without a level field: `level=warn`,
 * `"level":"error"`, `severity: info`, a line starting with `ERROR` or `W1127 …` (klog), or nginx's `[warn]`.
 */
export function levelFromText(text: string): Level | undefined {
  const keyed = /\b(?:level|lvl|severity|loglevel)"?\s*[=:]\s*"?([A-Za-z]+)/i.exec(text);
  if (keyed) {
    const level = levelOf(keyed[1]);
    if (level) return level;
  }
  const leading = /^\W{0,3}(FATAL|CRITICAL|CRIT|PANIC|ERROR|ERR|WARNING|WARN|INFO|NOTICE|DEBUG|TRACE)\b/.exec(text);
  if (leading) return levelOf(leading[1]);
  const bracketed = /\[(emerg|alert|crit|error|warn|warning|notice|info|debug)\]/i.exec(text.slice(0, 80));
  if (bracketed) return levelOf(bracketed[1]);
  const klog = /^([EWIF])\d{4} \d\d:\d\d:\d\d/.exec(text);
  if (klog) return ({ E: "error", W: "warn", I: "info", F: "fatal" } as const)[klog[1] as "E" | "W" | "I" | "F"];
  return undefined;
}

export function valueText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export interface LogLine {
  /** The field the message came from (`undefined`: the record has none of the candidates). */
  messageField?: string;
  message: string;
  level?: Level;
  /** What the record says its level is, as written (`ERROR`), for the level column. */
  levelText?: string;
  /** The other fields, `[name, text]`, empty values left out. */
  chips: [string, string][];
}

/**
 * A record as a log line. The message is `messageField`'s value, or, when the record lacks it,
 * the first candidate it has; the level is the level field's, else one written in the message.
 */
export function logLine(hit: Hit, messageField: string | undefined, levelField: string | undefined): LogLine {
  let used: string | undefined;
  if (messageField && hit[messageField] !== null && hit[messageField] !== undefined) used = messageField;
  else used = MESSAGE_CANDIDATES.find((f) => hit[f] !== null && hit[f] !== undefined && hit[f] !== "");
  const message = used ? valueText(hit[used]) : "";
  const rawLevel = levelField ? hit[levelField] : undefined;
  let level = levelOf(rawLevel);
  let levelText = rawLevel === null || rawLevel === undefined ? undefined : valueText(rawLevel);
  if (!level && !levelText && message) {
    level = levelFromText(message);
    levelText = level;
  }
  const chips: [string, string][] = [];
  for (const [key, value] of Object.entries(hit)) {
    if (key === "_timestamp" || key === used || key === levelField) continue;
    const text = valueText(value);
    if (text === "") continue;
    chips.push([key, text]);
  }
  return { messageField: used, message, level, levelText, chips };
}

/** A message is clamped in the table beyond this many characters or lines (a click shows it all). */
export const CLAMP_CHARS = 1500;
export const CLAMP_LINES = 12;

/** The shown part of a long message, or `undefined` when it is shown whole. */
export function clampMessage(message: string): string | undefined {
  let lines = 0;
  let at = -1;
  while (lines < CLAMP_LINES && (at = message.indexOf("\n", at + 1)) !== -1) lines++;
  const lineCut = lines === CLAMP_LINES ? at : message.length;
  const cut = Math.min(lineCut, CLAMP_CHARS);
  return cut < message.length ? message.slice(0, cut) : undefined;
}

const WANTED_EXAMPLES = ["kubernetes_namespace_name", "kubernetes_container_name", "kubernetes_pod_name", "service_name", "host", "func"];

/**
 * The filter editor's placeholder: example terms naming fields this stream has, with values from
 * a record when one is at hand (never made-up field names).
 */
export function filterPlaceholder(fields: { name: string; type: string }[], sample?: Hit): string {
  const names = fields.map((f) => f.name);
  const terms: string[] = [];
  const levelField = chooseLevelField(names);
  const levelValue = levelField && sample && typeof sample[levelField] === "string" ? (sample[levelField] as string) : undefined;
  if (levelField) terms.push(`${levelField}=${levelValue && /^[\w.-]+$/.test(levelValue) ? levelValue : "error"}`);
  const text = fields.filter((f) => /^utf8/i.test(f.type) && f.name !== levelField && !MESSAGE_CANDIDATES.includes(f.name) && f.name !== "_timestamp");
  const keyword =
    WANTED_EXAMPLES.map((w) => text.find((f) => f.name === w)).find(Boolean) ??
    text.find((f) => sample && typeof sample[f.name] === "string" && /^[\w.-]{1,40}$/.test(sample[f.name] as string)) ??
    text[0];
  if (keyword) {
    const value = sample?.[keyword.name];
    const shown = typeof value === "string" && /^[\w.-]{2,40}$/.test(value) ? `${value.slice(0, Math.min(value.length, 8))}*` : "*";
    terms.push(`${keyword.name}:${shown}`);
  }
  const numeric = fields.find((f) => /^(int|uint|float)/i.test(f.type));
  if (numeric && terms.length < 2) terms.push(`${numeric.name}>0`);
  const words = ["error", ...terms].join(" ");
  return `Filter: ${words} (Ctrl+Enter to run)`;
}
