// PromQL text, read just enough for the UI: a lexer that tolerates unfinished text, the query's
// first series selector (what the label browser shows and adds matchers to), and series names.
import { GROUPING, RESERVED } from "./vocabulary";

export interface Token {
  type: "ident" | "number" | "string" | "op" | "punct" | "other";
  text: string;
  from: number;
  to: number;
  open?: boolean; // a string whose closing quote is missing
}

const IDENT = /[A-Za-z_][\w:]*/y; // metric names may hold colons (recording rules)
const NUMBER = /(?:\d|\.\d)[\w.]*/y; // numbers and durations: 1.5, 1e3, 0x1f, 5m, 1h30m
const OPERATOR = /=~|!~|!=|==|>=|<=|[-+*/%^=<>@]/y;
const PUNCT = /[(){}[\],]/y;
export const MATCH_OPS = new Set(["=", "!=", "=~", "!~"]);
const RULES: [Token["type"], RegExp][] = [
  ["ident", IDENT],
  ["number", NUMBER],
  ["op", OPERATOR],
  ["punct", PUNCT],
];

function matchAt(text: string, at: number): [Token["type"], string] {
  for (const [type, pattern] of RULES) {
    pattern.lastIndex = at;
    const found = pattern.exec(text);
    if (found) return [type, found[0]];
  }
  return ["other", text[at]];
}

function stringEnd(text: string, from: number): number {
  const quote = text[from];
  let at = from + 1;
  while (at < text.length && text[at] !== quote) at += text[at] === "\\" && quote !== "`" ? 2 : 1;
  return at;
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < text.length) {
    const char = text[at];
    if (/\s/.test(char)) {
      at++;
    } else if (char === "#") {
      const end = text.indexOf("\n", at);
      at = end < 0 ? text.length : end;
    } else if (char === '"' || char === "'" || char === "`") {
      const end = stringEnd(text, at);
      const to = Math.min(end + 1, text.length);
      tokens.push({ type: "string", text: text.slice(at, to), from: at, to, open: end >= text.length });
      at = to;
    } else {
      const [type, found] = matchAt(text, at);
      tokens.push({ type, text: found, from: at, to: at + found.length });
      at += found.length;
    }
  }
  return tokens;
}

/** The text of a string token without its quotes and escapes. */
export function unquote(token: Token): string {
  const body = token.text.slice(1, token.open ? undefined : -1);
  if (token.text[0] === "`") return body;
  return body.replace(/\\(.)/g, (_, escaped: string) => ({ n: "\n", t: "\t", r: "\r" })[escaped] ?? escaped);
}

export interface Matcher {
  label: string;
  op: string;
  value: string; // as written, quotes included
  from: number;
  to: number;
}

export interface Selector {
  metric: string;
  to: number; // where it ends
  braces?: { from: number; to: number; closed: boolean };
  matchers: Matcher[];
}

/** The index of the token closing the bracket at `index` (the last token when unclosed). */
function closingIndex(tokens: Token[], index: number): number {
  const open = tokens[index].text;
  const close = { "(": ")", "[": "]", "{": "}" }[open];
  let depth = 0;
  for (let at = index; at < tokens.length; at++) {
    if (tokens[at].type !== "punct") continue;
    if (tokens[at].text === open) depth++;
    else if (tokens[at].text === close && --depth === 0) return at;
  }
  return tokens.length - 1;
}

/** `label op "value"` triples from the token after a `{` up to its `}` (or `end`). */
export function matchersFrom(tokens: Token[], start: number, end: number): Matcher[] {
  const matchers: Matcher[] = [];
  for (let at = start; at + 2 <= end; at++) {
    const [label, op, value] = [tokens[at], tokens[at + 1], tokens[at + 2]];
    if (label.type !== "ident" && label.type !== "string") continue;
    if (!MATCH_OPS.has(op.text) || value.type !== "string" || value.open) continue;
    matchers.push({ label: label.type === "string" ? unquote(label) : label.text, op: op.text, value: value.text, from: label.from, to: value.to });
    at += 2;
  }
  return matchers;
}

/** The selector whose metric name (or `{`) is the token at `index`. */
function selectorAt(tokens: Token[], index: number): Selector {
  const named = tokens[index].type === "ident";
  const braceIndex = named ? index + 1 : index;
  const selector: Selector = { metric: named ? tokens[index].text : "", to: tokens[index].to, matchers: [] };
  if (tokens[braceIndex]?.text !== "{") return selector;
  const close = closingIndex(tokens, braceIndex);
  const closed = tokens[close].text === "}";
  selector.braces = { from: tokens[braceIndex].from, to: tokens[close].to, closed };
  selector.to = tokens[close].to;
  selector.matchers = matchersFrom(tokens, braceIndex + 1, closed ? close - 1 : close);
  return selector;
}

/** The first series selector of a query: not a function, aggregation, keyword or label list. */
export function firstSelector(text: string): Selector | undefined {
  const tokens = tokenize(text);
  for (let at = 0; at < tokens.length; at++) {
    const token = tokens[at];
    const next = tokens[at + 1];
    if (token.text === "[") {
      at = closingIndex(tokens, at);
    } else if (token.type === "ident" && GROUPING.has(token.text.toLowerCase()) && next?.text === "(") {
      at = closingIndex(tokens, at + 1);
    } else if (token.type === "ident" && next?.text !== "(" && !RESERVED.has(token.text.toLowerCase())) {
      return selectorAt(tokens, at);
    } else if (token.text === "{") {
      return selectorAt(tokens, at);
    }
  }
  return undefined;
}

const IDENTIFIER = /^[A-Za-z_]\w*$/;

/** A label name as PromQL writes it: quoted when it is not an identifier (Prometheus 3). */
const labelText = (name: string) => (IDENTIFIER.test(name) ? name : JSON.stringify(name));

/** A double-quoted PromQL string. */
export const quoteValue = (value: string) => `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;

/** The selector as a `match[]` parameter, without the matchers of `exceptLabel`; undefined when
 * it would match every series. */
export function selectorMatch(selector: Pick<Selector, "metric" | "matchers"> | undefined, exceptLabel?: string): string | undefined {
  if (!selector) return undefined;
  const matchers = selector.matchers.filter((m) => m.label !== exceptLabel).map((m) => `${labelText(m.label)}${m.op}${m.value}`);
  if (!selector.metric && !matchers.length) return undefined;
  return `${selector.metric}{${matchers.join(", ")}}`;
}

/** The query's first selector as a `match[]` parameter (see `selectorMatch`). */
export const matchOfQuery = (text: string, exceptLabel?: string) => selectorMatch(firstSelector(text), exceptLabel);

/** Adds `label="value"` to the query's first selector, replacing that label's matcher if it
 * has one; a query without a selector becomes `{label="value"}`. */
export function setMatcher(text: string, label: string, value: string): string {
  const matcher = `${labelText(label)}=${quoteValue(value)}`;
  const selector = firstSelector(text);
  if (!selector) return `{${matcher}}`;
  const existing = selector.matchers.find((m) => m.label === label);
  if (existing) return text.slice(0, existing.from) + matcher + text.slice(existing.to);
  if (!selector.braces) return `${text.slice(0, selector.to)}{${matcher}}${text.slice(selector.to)}`;
  const { from, to, closed } = selector.braces;
  const end = closed ? to - 1 : to;
  const inside = text.slice(from + 1, end).replace(/[\s,]*$/, "");
  return text.slice(0, from + 1) + (inside.trim() ? `${inside}, ${matcher}` : matcher) + text.slice(end);
}

/** A series as Prometheus and Grafana show it: `name{a="b", c="d"}`. */
export function seriesName(metric: Record<string, string>): string {
  const { __name__: name = "", ...labels } = metric;
  const pairs = Object.keys(labels)
    .sort()
    .map((key) => `${labelText(key)}=${quoteValue(labels[key])}`);
  if (!pairs.length) return name || "{}";
  return `${name}{${pairs.join(", ")}}`;
}
