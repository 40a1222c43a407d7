// What the PromQL editor should complete at the cursor: an expression (metric names, functions,
// aggregations, keywords), a label name (inside a selector's `{}` or a `by (…)` list), a label
// value (after `label="` or `label=`) or a duration (inside `[]` or after `offset`). Each
// carries the `match[]` selector that narrows the server's label lists.
import { MATCH_OPS, matchersFrom, matchOfQuery, selectorMatch, type Token, tokenize, unquote } from "./promql";
import { GROUPING, RESERVED } from "./vocabulary";

export type PromqlContext =
  | { kind: "expression"; from: number }
  | { kind: "labelName"; from: number; match?: string }
  | { kind: "labelValue"; from: number; label: string; quoted: boolean; match?: string }
  | { kind: "duration"; from: number };

/** The innermost bracket still open after `tokens`, as an index into them. */
function openBracket(tokens: Token[]): number | undefined {
  const open: number[] = [];
  tokens.forEach((token, index) => {
    if (token.type !== "punct") return;
    if ("([{".includes(token.text)) open.push(index);
    else if (")]}".includes(token.text)) open.pop();
  });
  return open.at(-1);
}

/** The `match[]` of the selector whose `{` is `tokens[brace]`, from the matchers before the cursor. */
function braceMatch(tokens: Token[], brace: number, exceptLabel?: string): string | undefined {
  const before = tokens[brace - 1];
  const metric = before?.type === "ident" && !RESERVED.has(before.text.toLowerCase()) ? before.text : "";
  const matchers = matchersFrom(tokens, brace + 1, tokens.length - 1);
  return selectorMatch({ metric, matchers }, exceptLabel);
}

/** A label value after `label op`, the last of `tokens`, in the selector whose `{` is `tokens[brace]`. */
function labelValueAt(tokens: Token[], brace: number, from: number, quoted: boolean): PromqlContext | null {
  const [label, op] = tokens.slice(brace + 1).slice(-2);
  if (!op || !MATCH_OPS.has(op.text) || (label.type !== "ident" && label.type !== "string")) return null;
  const name = label.type === "string" ? unquote(label) : label.text;
  return { kind: "labelValue", from, label: name, quoted, match: braceMatch(tokens.slice(0, -2), brace, name) };
}

export function completionContext(text: string, pos: number): PromqlContext | null {
  const tokens = tokenize(text.slice(0, pos));
  const last = tokens.at(-1);
  if (last?.type === "string") {
    if (!last.open) return null;
    const before = tokens.slice(0, -1);
    const brace = openBracket(before) ?? -1;
    return before[brace]?.text === "{" ? labelValueAt(before, brace, last.from + 1, true) : null;
  }
  const typing = last && last.to === pos && (last.type === "ident" || last.type === "number");
  const before = typing ? tokens.slice(0, -1) : tokens;
  const from = typing ? last.from : pos;
  const previous = before.at(-1);
  const bracket = openBracket(before) ?? -1;
  const opening = before[bracket];
  if (opening?.text === "{") {
    if (previous === opening || previous?.text === ",") return { kind: "labelName", from, match: braceMatch(before, bracket) };
    return previous?.type === "op" ? labelValueAt(before, bracket, from, false) : null;
  }
  if (opening?.text === "[" || previous?.text.toLowerCase() === "offset") return { kind: "duration", from };
  if (opening?.text === "(" && GROUPING.has(before[bracket - 1]?.text.toLowerCase() ?? "")) {
    return previous === opening || previous?.text === "," ? { kind: "labelName", from, match: matchOfQuery(text) } : null;
  }
  if (typing && last.type === "number") return null;
  return { kind: "expression", from };
}
