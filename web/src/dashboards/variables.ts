// Dashboard variables: their options and values, resolved in order (a variable's query may use
// the variables before it), and their substitution into queries with Grafana's and o2's syntax:
// `$v`, `${v}`, `${v:format}`, `[[v]]`, `{{v}}` and the built-ins `$__interval`, `$__range` …
// Names are `[A-Za-z_][A-Za-z0-9_]*`, so `$1` (label_replace) is never a variable, and an
// unknown `$name` is left as it is.
import { GROUPING, RESERVED } from "../metrics/vocabulary";
import { quoteValue, tokenize, type Token } from "../metrics/promql";
import { formatStep, parseStep } from "../metrics/step";
import { addSqlCondition, quoteIdent, quoteString } from "../query";
import type { Variable } from "./types";

export const ALL = "$__all";
/** The scrape interval `$__rate_interval` assumes (Prometheus' and o2's default). */
export const SCRAPE_SECONDS = 15;

export interface Option {
  label: string;
  value: string;
}

export interface Filter {
  name: string;
  operator: string;
  value: string;
}

export interface VarState {
  name: string;
  type: string;
  label: string;
  hidden: boolean;
  multi: boolean;
  includeAll: boolean;
  allValue?: string;
  options: Option[];
  /** The selection: `[ALL]` means All. */
  value: string[];
  /** `dynamic_filters` only. */
  filters: Filter[];
  error?: string;
}

export type Lang = "promql" | "sql" | "text";

const NAME = "[A-Za-z_]\\w*";
const TOKEN = new RegExp(
  `\\$(${NAME})|\\$\\{(${NAME})(?::([^}]*))?\\}|\\[\\[(${NAME})(?::([^\\]]*))?\\]\\]|\\{\\{\\s*(${NAME})(?::([^}]*))?\\s*\\}\\}`,
  "g",
);

/** The names a text refers to (variables and built-ins). */
export function referencedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(TOKEN)) names.add(m[1] ?? m[2] ?? m[4] ?? m[6]);
  return names;
}

export const isAll = (v: VarState) => v.includeAll && v.value.includes(ALL);

/** The values a selection stands for, and the raw text of All when it has an `allValue`. */
function selection(v: VarState): { values: string[]; raw?: string; texts: string[] } {
  if (isAll(v)) {
    const values = v.options.map((o) => o.value);
    if (v.allValue) return { values, raw: v.allValue, texts: ["All"] };
    return { values, texts: ["All"] };
  }
  const texts = v.value.map((value) => v.options.find((o) => o.value === value)?.label ?? value);
  return { values: v.value, texts };
}

const promRegexEscape = (value: string) => value.replace(/\\/g, "\\\\\\\\").replace(/[$^*{}[\]'+?.()|]/g, "\\\\$&");
const regexEscape = (value: string) => value.replace(/[\\^$*+?.()|[\]{}/]/g, "\\$&");
const luceneEscape = (value: string) => value.replace(/([!*+\-=<>\s&|()[\]{}^~?:\\/"])/g, "\\$1");
const strictEncode = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** One variable's text in a query of `lang`, with an optional explicit format. */
export function formatVariable(v: VarState, format: string | undefined, lang: Lang): string {
  const { values, raw, texts } = selection(v);
  if (raw !== undefined && format !== "text" && format !== "queryparam") return raw;
  const one = values.length === 1;
  switch (format) {
    case undefined:
    case "":
      if (!values.length) return "";
      if (lang === "promql") {
        if (!v.multi && !v.includeAll) return values[0].replace(/\\/g, "\\\\").replace(/"/g, '\\"');
        const escaped = values.map(promRegexEscape);
        return one ? escaped[0] : `(${escaped.join("|")})`;
      }
      // o2: a multi-value (or All) variable is a quoted list, `IN ($v)`; a single-value one is
      // inserted as is, for `'$v'` (quotes doubled).
      if (lang === "sql") return v.multi || v.includeAll || !one ? values.map(quoteString).join(",") : values[0].replace(/'/g, "''");
      return texts.join(", ");
    case "csv":
    case "raw":
      return values.join(",");
    case "pipe":
      return values.join("|");
    case "regex":
      return one || !values.length ? regexEscape(values[0] ?? "") : `(${values.map(regexEscape).join("|")})`;
    case "singlequote":
      return values.map((x) => `'${x.replace(/'/g, "\\'")}'`).join(",");
    case "doublequote":
      return values.map((x) => `"${x.replace(/"/g, '\\"')}"`).join(",");
    case "sqlstring":
      return values.map(quoteString).join(",");
    case "json":
      return JSON.stringify(one ? values[0] : values);
    case "text":
      return texts.join(" + ");
    case "lucene":
      return one || !values.length ? luceneEscape(values[0] ?? "") : `(${values.map((x) => `"${luceneEscape(x)}"`).join(" OR ")})`;
    case "percentencode":
      return strictEncode(one || !values.length ? (values[0] ?? "") : `{${values.join(",")}}`);
    case "queryparam":
      return (isAll(v) ? [ALL] : values).map((x) => `var-${v.name}=${strictEncode(x)}`).join("&");
    case "glob":
    default:
      return one || !values.length ? (values[0] ?? "") : `{${values.join(",")}}`;
  }
}

/** `text` with every known variable and built-in substituted. */
export function substitute(text: string, vars: ReadonlyMap<string, VarState>, builtins: Record<string, string>, lang: Lang): string {
  if (!text.includes("$") && !text.includes("[[") && !text.includes("{{")) return text;
  return text.replace(TOKEN, (match, n1, n2, f2, n3, f3, n4, f4) => {
    const name: string = n1 ?? n2 ?? n3 ?? n4;
    if (Object.prototype.hasOwnProperty.call(builtins, name)) return builtins[name];
    const v = vars.get(name);
    if (!v || v.type === "dynamic_filters") return match;
    return formatVariable(v, f2 ?? f3 ?? f4, lang);
  });
}

/** The built-in variables for a range (µs) and a query interval (seconds). */
export function builtins(range: [number, number], intervalSeconds: number): Record<string, string> {
  const rangeSeconds = Math.max(1, Math.round((range[1] - range[0]) / 1e6));
  const interval = Math.max(1, Math.round(intervalSeconds));
  const rate = Math.max(interval + SCRAPE_SECONDS, 4 * SCRAPE_SECONDS);
  return {
    __interval: formatStep(interval),
    __interval_ms: String(interval * 1000),
    __rate_interval: formatStep(rate),
    __rate_interval_ms: String(rate * 1000),
    __range: `${rangeSeconds}s`,
    __range_s: String(rangeSeconds),
    __range_ms: String(rangeSeconds * 1000),
    __from: String(Math.floor(range[0] / 1000)),
    __to: String(Math.floor(range[1] / 1000)),
  };
}

// ---- dynamic filters ----------------------------------------------------------------------------

export const FILTER_OPERATORS = ["=", "!=", "=~", "!~"];

/** `pod=~api-.*` → a filter; the label is a name, the operator the first one after it. */
export function parseFilter(text: string): Filter | undefined {
  const m = /^([A-Za-z_][\w.]*)\s*(=~|!~|!=|=)(.*)$/s.exec(text.trim());
  return m ? { name: m[1], operator: m[2], value: m[3] } : undefined;
}
export const filterText = (f: Filter) => `${f.name}${f.operator}${f.value}`;

function closing(tokens: Token[], index: number): number {
  const open = tokens[index].text;
  const close = ({ "(": ")", "[": "]", "{": "}" } as Record<string, string>)[open];
  let depth = 0;
  for (let at = index; at < tokens.length; at++) {
    if (tokens[at].type !== "punct") continue;
    if (tokens[at].text === open) depth++;
    else if (tokens[at].text === close && --depth === 0) return at;
  }
  return -1;
}

/** PromQL with the filters added as matchers to every series selector. */
export function applyPromqlFilters(query: string, filters: Filter[]): string {
  const valid = filters.filter((f) => f.name && FILTER_OPERATORS.includes(f.operator));
  if (!valid.length) return query;
  const matchers = valid.map((f) => `${f.name}${f.operator}${quoteValue(f.value)}`).join(", ");
  const tokens = tokenize(query);
  const inserts: { at: number; text: string }[] = [];
  const addToBraces = (open: number): number => {
    const close = closing(tokens, open);
    if (close < 0) return tokens.length;
    const empty = close === open + 1 || tokens[close - 1].text === ",";
    inserts.push({ at: tokens[close].from, text: empty ? matchers : `, ${matchers}` });
    return close;
  };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const next = tokens[i + 1];
    const lower = token.text.toLowerCase();
    if (token.text === "[") {
      const close = closing(tokens, i);
      i = close < 0 ? tokens.length : close;
    } else if (token.type === "ident" && GROUPING.has(lower) && next?.text === "(") {
      const close = closing(tokens, i + 1);
      i = close < 0 ? tokens.length : close;
    } else if (token.type === "ident" && next?.text !== "(" && !RESERVED.has(lower)) {
      if (next?.text === "{") i = addToBraces(i + 1);
      else inserts.push({ at: token.to, text: `{${matchers}}` });
    } else if (token.text === "{") {
      i = addToBraces(i);
    }
  }
  let out = query;
  for (const insert of inserts.reverse()) out = out.slice(0, insert.at) + insert.text + out.slice(insert.at);
  return out;
}

/** SQL with the filters ANDed into the outer WHERE clause. */
export function applySqlFilters(sql: string, filters: Filter[]): string {
  let out = sql;
  for (const f of filters) {
    if (!f.name) continue;
    const column = quoteIdent(f.name);
    const op = { "=": "=", "!=": "!=", "=~": "~", "!~": "!~" }[f.operator];
    if (op) out = addSqlCondition(out, `${column} ${op} ${quoteString(f.value)}`);
  }
  return out;
}

// ---- options -------------------------------------------------------------------------------------

/** Where variable queries get their answers (bound to the dashboard's org and range). */
export interface Fetchers {
  labelValues(label: string, match?: string): Promise<string[]>;
  labelNames(match?: string): Promise<string[]>;
  /** `metric{labels} value timestamp` lines of an instant query at the range's end. */
  queryResult(expr: string): Promise<string[]>;
  /** `metric{labels}` of the series matching `match`. */
  series(match: string): Promise<string[]>;
  fieldValues(stream: string, streamType: string, field: string, size: number, filters: { name: string; value: string }[]): Promise<string[]>;
}

/** The answer of a Grafana-style Prometheus variable query. */
export async function promqlVariableQuery(query: string, fetchers: Fetchers): Promise<string[]> {
  const text = query.trim();
  let m = /^label_values\(\s*(?:([\s\S]+?)\s*,\s*)?([A-Za-z_][\w.]*)\s*\)$/.exec(text);
  if (m) return fetchers.labelValues(m[2], m[1] || undefined);
  m = /^label_names\(\s*([\s\S]*?)\s*\)$/.exec(text);
  if (m) return fetchers.labelNames(m[1] || undefined);
  m = /^metrics\(\s*([\s\S]*?)\s*\)$/.exec(text);
  if (m) {
    const pattern = m[1].replace(/^["'`]|["'`]$/g, "");
    const names = await fetchers.labelValues("__name__");
    const re = new RegExp(pattern);
    return names.filter((n) => re.test(n));
  }
  m = /^query_result\(([\s\S]+)\)$/.exec(text);
  if (m) return fetchers.queryResult(m[1].trim());
  return fetchers.series(text);
}

/** A Prometheus sample as a `query_result` line (Grafana's format). */
export function resultLine(metric: Record<string, string>, value: string, time: number): string {
  const { __name__: name = "", ...labels } = metric;
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return `${name}{${pairs.join(",")}} ${value} ${Math.round(time * 1000)}`;
}

/** `/pattern/flags` (or a bare pattern) as a RegExp; undefined when empty or invalid. */
export function parseRegex(text: string | undefined): RegExp | undefined {
  if (!text?.trim()) return undefined;
  const m = /^\/(.*)\/([gimsuy]*)$/s.exec(text.trim());
  try {
    return m ? new RegExp(m[1], m[2].replace("g", "")) : new RegExp(text);
  } catch {
    return undefined;
  }
}

/** Texts through the variable's regex (a capture group, or named groups `text` and `value`, pick
 * the part kept) and sort, without duplicates. */
export function toOptions(texts: string[], regex: string | undefined, sort: number | undefined): Option[] {
  const re = parseRegex(regex);
  const seen = new Set<string>();
  const out: Option[] = [];
  for (const text of texts) {
    let option: Option = { label: text, value: text };
    if (re) {
      const m = re.exec(text);
      if (!m) continue;
      if (m.groups && (m.groups.value !== undefined || m.groups.text !== undefined)) {
        const value = m.groups.value ?? m.groups.text;
        option = { label: m.groups.text ?? value, value };
      } else if (m.length > 1) {
        const part = m.slice(1).find((g) => g !== undefined) ?? "";
        option = { label: part, value: part };
      }
    }
    if (seen.has(option.value)) continue;
    seen.add(option.value);
    out.push(option);
  }
  const number = (o: Option) => {
    const found = /(-?\d+(?:\.\d+)?)/.exec(o.label);
    return found ? Number(found[1]) : -Infinity;
  };
  const compare: Record<number, (a: Option, b: Option) => number> = {
    1: (a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0),
    2: (a, b) => (a.label < b.label ? 1 : a.label > b.label ? -1 : 0),
    3: (a, b) => number(a) - number(b),
    4: (a, b) => number(b) - number(a),
    5: (a, b) => a.label.toLowerCase().localeCompare(b.label.toLowerCase()),
    6: (a, b) => b.label.toLowerCase().localeCompare(a.label.toLowerCase()),
  };
  if (sort && compare[sort]) out.sort(compare[sort]);
  return out;
}

/** The automatic value of an interval variable: the range over `auto_count`, rounded, at least
 * `auto_min`. */
export function autoInterval(rangeMicros: number, count = 30, min = "10s"): string {
  const per = rangeMicros / 1e6 / Math.max(1, count);
  const round = [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800];
  const seconds = round.find((s) => s >= per) ?? 604800;
  return formatStep(Math.max(seconds, parseStep(min) ?? 0));
}

/** The stored default of a variable as a selection. */
function defaultValue(def: Variable): string[] {
  const value = def.value;
  if (Array.isArray(value)) return value.map(String);
  if (value !== undefined && value !== null && value !== "") return [String(value)];
  const selected = (def.options ?? []).filter((o) => o.selected).map((o) => o.value);
  return selected;
}

/** The options of a variable, with the variables before it substituted into its query. */
export async function variableOptions(
  def: Variable,
  sub: (text: string, lang: Lang) => string,
  fetchers: Fetchers,
  rangeMicros: number,
): Promise<Option[]> {
  switch (def.type) {
    case "custom":
      return (def.options ?? []).map((o) => ({ label: String(o.label ?? o.value), value: String(o.value) }));
    case "interval": {
      const options = (def.options ?? []).map((o) => ({ label: String(o.label ?? o.value), value: String(o.value) }));
      if (def.auto) options.unshift({ label: `auto (${autoInterval(rangeMicros, def.auto_count, def.auto_min || undefined)})`, value: "$__auto" });
      return options;
    }
    case "query_values": {
      const data = def.query_data ?? {};
      let texts: string[];
      if (data.promql?.trim()) {
        texts = await promqlVariableQuery(sub(data.promql, "promql"), fetchers);
      } else {
        const stream = sub(data.stream ?? "", "text");
        const field = sub(data.field ?? "", "text");
        if (!stream || !field) return [];
        const filters = (data.filter ?? [])
          .filter((f) => f.name && (f.operator === "=" || !f.operator))
          .map((f) => ({ name: f.name, value: sub(f.value ?? "", "text") }));
        if ((data.stream_type ?? "logs") === "metrics") {
          const matchers = [`__name__=${quoteValue(stream)}`, ...filters.map((f) => `${f.name}=${quoteValue(f.value)}`)];
          texts = await fetchers.labelValues(field, `{${matchers.join(", ")}}`);
        } else {
          texts = await fetchers.fieldValues(stream, data.stream_type ?? "logs", field, data.max_record_size || 100, filters);
        }
      }
      return toOptions(texts.map(String), def.regex, def.sort);
    }
    default:
      return [];
  }
}

function choose(def: Variable, options: Option[], wanted: string[] | undefined, multi: boolean, includeAll: boolean): string[] {
  const fits = (values: string[]) => {
    if (includeAll && values.includes(ALL)) return [ALL];
    const known = values.filter((x) => options.some((o) => o.value === x));
    return multi ? known : known.slice(0, 1);
  };
  for (const candidate of [wanted, defaultValue(def)]) {
    if (!candidate?.length) continue;
    const chosen = fits(candidate);
    if (chosen.length) return chosen;
  }
  if (!options.length) return [];
  return [options[0].value];
}

/** A variable's state from its definition, options and the wanted selection. */
export function stateOf(def: Variable, options: Option[], wanted: string[] | undefined): VarState {
  const base: VarState = {
    name: def.name,
    type: def.type,
    label: def.label || def.name,
    hidden: !!def.hideOnDashboard,
    multi: !!def.multiSelect,
    includeAll: !!def.includeAll,
    allValue: def.allValue || undefined,
    options,
    value: [],
    filters: [],
  };
  switch (def.type) {
    case "constant":
      return { ...base, value: [String(def.value ?? "")] };
    case "textbox":
      return { ...base, value: [wanted?.[0] ?? String(def.value ?? "")] };
    case "dynamic_filters": {
      const stored = Array.isArray(def.value) ? (def.value as Filter[]) : [];
      const filters = wanted ? wanted.map(parseFilter).filter((f): f is Filter => !!f) : stored.filter((f) => f && f.name);
      return { ...base, filters };
    }
    case "query_values":
    case "custom":
    case "interval":
      return { ...base, value: choose(def, options, wanted, base.multi, base.includeAll) };
    default:
      return base;
  }
}

/** The value of a variable for substitution: an interval variable's `$__auto` becomes the
 * automatic interval. */
function effective(state: VarState, def: Variable, rangeMicros: number): VarState {
  if (def.type === "interval" && state.value[0] === "$__auto") {
    return { ...state, value: [autoInterval(rangeMicros, def.auto_count, def.auto_min || undefined)] };
  }
  return state;
}

function queryText(def: Variable): string {
  const d = def.query_data ?? {};
  return [d.promql ?? "", d.stream ?? "", d.field ?? "", ...(d.filter ?? []).map((f) => f.value ?? "")].join(" ");
}

export interface ResolveOptions {
  /** The states before this resolution (their options are kept unless refetched). */
  previous?: VarState[];
  /** Variables whose options are fetched again even if nothing they use changed. */
  refetch?: Set<string>;
  /** Names whose values were changed by the user. */
  changed?: Set<string>;
  fetchers: Fetchers;
  range: [number, number];
}

/**
 * Resolves the variables in order: a variable's options are fetched (with the earlier ones
 * substituted) when it has none yet, when it is in `refetch`, or when a variable it uses changed
 * value; its selection is the wanted one if it is still an option, else its default, else the
 * first option. Errors are kept per variable. Answers the states and the map used for
 * substitution.
 */
export async function resolveVariables(
  defs: Variable[],
  wanted: Record<string, string[] | undefined>,
  options: ResolveOptions,
): Promise<VarState[]> {
  const { previous = [], refetch = new Set(), fetchers, range } = options;
  const changed = new Set(options.changed ?? []);
  const states: VarState[] = [];
  const map = new Map<string, VarState>();
  const base = builtins(range, (range[1] - range[0]) / 1e6 / 100);
  const sub = (text: string, lang: Lang) => substitute(text, map, base, lang);
  for (const def of defs) {
    const before = previous.find((p) => p.name === def.name && p.type === def.type);
    const uses = [...referencedNames(queryText(def))].some((n) => changed.has(n));
    const fetched = def.type === "query_values" || def.type === "interval" || def.type === "custom";
    let opts = before?.options ?? [];
    let error: string | undefined = before?.error;
    if (fetched && (!before || uses || refetch.has(def.name) || def.type !== "query_values")) {
      try {
        opts = await variableOptions(def, sub, fetchers, range[1] - range[0]);
        error = undefined;
      } catch (e) {
        opts = [];
        error = e instanceof Error ? e.message : String(e);
      }
    }
    const want = wanted[def.name] ?? (before ? urlValues(before) : undefined);
    const state = { ...stateOf(def, opts, want), ...(error ? { error } : {}) };
    if (!before || before.value.join("\u0000") !== state.value.join("\u0000") || filterKey(before) !== filterKey(state)) {
      changed.add(def.name);
    }
    states.push(state);
    map.set(def.name, effective(state, def, range[1] - range[0]));
  }
  return states;
}

const filterKey = (v: VarState) => v.filters.map(filterText).join("\u0000");

/** The substitution map of resolved states (interval `auto` made concrete). */
export function variableMap(defs: Variable[], states: VarState[], range: [number, number]): Map<string, VarState> {
  const map = new Map<string, VarState>();
  for (const state of states) {
    const def = defs.find((d) => d.name === state.name);
    map.set(state.name, def ? effective(state, def, range[1] - range[0]) : state);
  }
  return map;
}

/** Every dynamic filter of the resolved variables. */
export const dynamicFilters = (states: VarState[]): Filter[] => states.flatMap((s) => (s.type === "dynamic_filters" ? s.filters : []));

/** `var-<name>` values of a query string. */
export function urlVariables(search: string): Record<string, string[]> {
  const params = new URLSearchParams(search);
  const out: Record<string, string[]> = {};
  for (const [key, value] of params) {
    if (!key.startsWith("var-")) continue;
    (out[key.slice(4)] ??= []).push(value);
  }
  return out;
}

/** The URL values of a state: its selection, or its filters. */
export const urlValues = (state: VarState): string[] => (state.type === "dynamic_filters" ? state.filters.map(filterText) : state.value);
