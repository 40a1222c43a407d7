// The simple filter syntax and its translation to the search API's SQL, plus editing helpers for
// full SQL (adding a condition when a field value is clicked).
//
// Filter syntax (documented in docs/ui.md):
//   error timeout           free text: both words, anywhere in the full-text fields (match_all)
//   "connection reset"      a phrase
//   level=error             field equals value (also `level:error`); != > >= < <= compare
//   pod:api-*               wildcard match (LIKE); `pod:*` means the field is present
//   msg~"time(d)? out"      regular expression (re_match)
//   a OR b, NOT a, -a, ( )  boolean logic; terms next to each other are ANDed
//   kubernetes.pod_name:api field names as sent (dots, dashes, upper case) or as stored
//                           (kubernetes_pod_name): both name the same column

export interface FieldType {
  name: string;
  type: string;
}

export class FilterError extends Error {
  offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

type Token =
  | { kind: "word"; text: string; quoted: boolean; at: number }
  | { kind: "op"; text: string; at: number }
  | { kind: "lparen" | "rparen" | "not"; at: number };

const OPERATORS = ["!=", ">=", "<=", "=", ":", ">", "<", "~"];

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "(" || c === ")") {
      tokens.push({ kind: c === "(" ? "lparen" : "rparen", at: i });
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const start = i;
      let text = "";
      i++;
      while (i < input.length && input[i] !== c) {
        if (input[i] === "\\" && i + 1 < input.length) i++;
        text += input[i];
        i++;
      }
      if (i >= input.length) throw new FilterError(`unterminated quote starting at ${start + 1}`, start);
      i++;
      tokens.push({ kind: "word", text, quoted: true, at: start });
      continue;
    }
    const op = OPERATORS.find((o) => input.startsWith(o, i));
    if (op) {
      tokens.push({ kind: "op", text: op, at: i });
      i += op.length;
      continue;
    }
    if (c === "-" && (tokens.length === 0 || tokens[tokens.length - 1].kind !== "op")) {
      const next = input[i + 1];
      if (next !== undefined && !/\s/.test(next)) {
        tokens.push({ kind: "not", at: i });
        i++;
        continue;
      }
    }
    const start = i;
    while (i < input.length && !/[\s()"']/.test(input[i]) && !OPERATORS.some((o) => input.startsWith(o, i))) i++;
    const text = input.slice(start, i);
    if (text === "NOT") tokens.push({ kind: "not", at: start });
    else tokens.push({ kind: "word", text, quoted: false, at: start });
  }
  return tokens;
}

export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
export const quoteString = (text: string) => `'${text.replace(/'/g, "''")}'`;

const NUMERIC = /^(int|uint|float|decimal)/i;

/**
 * A field name as the server stores it (kansoku-core `normalise_field_name`): ASCII upper case
 * lower-cased, `[a-z0-9_]` and non-ASCII letters and digits kept, everything else `_`.
 */
export function normaliseFieldName(raw: string): string {
  if (raw === "") return "_";
  let out = "";
  for (const c of raw) {
    if (/[a-z0-9_]/.test(c)) out += c;
    else if (/[A-Z]/.test(c)) out += c.toLowerCase();
    else if (c.charCodeAt(0) > 127 && /[\p{Alphabetic}\p{N}]/u.test(c)) out += c.toLowerCase();
    else out += "_";
  }
  return out;
}

/**
 * The column a typed field name means: itself when the stream has it, else its stored form
 * (`kubernetes.pod_name` → `kubernetes_pod_name`, `@timestamp` → `_timestamp`). Without a
 * schema the stored form is used, which is what every ingested name becomes.
 */
export function resolveFieldName(name: string, fields: FieldType[]): string {
  if (fields.some((f) => f.name === name)) return name;
  return normaliseFieldName(name);
}

function literal(value: string, quoted: boolean, field: string, fields: FieldType[]): string {
  const type = fields.find((f) => f.name === field)?.type ?? "";
  if (!quoted && NUMERIC.test(type) && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value)) return value;
  if (!quoted && /^bool/i.test(type) && /^(true|false)$/i.test(value)) return value.toLowerCase();
  return quoteString(value);
}

function likePattern(value: string): string {
  return value.replace(/[\\%_]/g, (m) => `\\${m}`).replace(/\*/g, "%");
}

class Parser {
  private position = 0;
  constructor(
    private tokens: Token[],
    private fields: FieldType[],
    private inputLength: number,
  ) {}

  parse(): string {
    if (this.tokens.length === 0) return "";
    const expr = this.or();
    const extra = this.tokens[this.position];
    if (extra) throw new FilterError(`unexpected ${extra.kind === "rparen" ? "')'" : "text"}`, extra.at);
    return expr;
  }

  private peek(): Token | undefined {
    return this.tokens[this.position];
  }

  private isKeyword(token: Token | undefined, keyword: string) {
    return token?.kind === "word" && !token.quoted && token.text === keyword;
  }

  private or(): string {
    const parts = [this.and()];
    while (this.isKeyword(this.peek(), "OR")) {
      this.position++;
      parts.push(this.and());
    }
    return parts.length === 1 ? parts[0] : `(${parts.join(" OR ")})`;
  }

  private and(): string {
    const parts = [this.unary()];
    for (;;) {
      const next = this.peek();
      if (!next || next.kind === "rparen" || this.isKeyword(next, "OR")) break;
      if (this.isKeyword(next, "AND")) this.position++;
      parts.push(this.unary());
    }
    return parts.length === 1 ? parts[0] : parts.join(" AND ");
  }

  private unary(): string {
    const token = this.peek();
    if (token?.kind === "not") {
      this.position++;
      return `NOT (${this.unary()})`;
    }
    return this.primary();
  }

  private primary(): string {
    const token = this.peek();
    if (!token) throw new FilterError("expected a term at the end", this.inputLength);
    if (token.kind === "lparen") {
      this.position++;
      const inner = this.or();
      const close = this.peek();
      if (close?.kind !== "rparen") throw new FilterError("missing ')'", close?.at ?? this.inputLength);
      this.position++;
      return `(${inner})`;
    }
    if (token.kind !== "word") throw new FilterError(`unexpected '${"text" in token ? token.text : ")"}'`, token.at);
    this.position++;
    const op = this.peek();
    if (op?.kind === "op" && !token.quoted) {
      this.position++;
      const value = this.peek();
      if (value?.kind !== "word") throw new FilterError(`expected a value after '${op.text}'`, op.at + op.text.length);
      this.position++;
      return this.comparison(token.text, op.text, value.text, value.quoted);
    }
    if (op?.kind === "op") throw new FilterError("a field name cannot be quoted", token.at);
    return `match_all(${quoteString(token.text)})`;
  }

  private comparison(typed: string, op: string, value: string, quoted: boolean): string {
    const field = resolveFieldName(typed, this.fields);
    const column = quoteIdent(field);
    if (op === "~") return `re_match(${column}, ${quoteString(value)})`;
    if (op === ":" || op === "=") {
      if (!quoted && value === "*") return `${column} IS NOT NULL`;
      if (!quoted && value.includes("*")) return `${column} LIKE ${quoteString(likePattern(value))}`;
      return `${column} = ${literal(value, quoted, field, this.fields)}`;
    }
    return `${column} ${op} ${literal(value, quoted, field, this.fields)}`;
  }
}

/** The SQL condition for a filter, or "" when the filter is empty. Throws [`FilterError`]. */
export function filterToCondition(filter: string, fields: FieldType[] = []): string {
  return new Parser(tokenize(filter), fields, filter.length).parse();
}

/** The SQL that the filter mode runs for `stream`. */
export function filterToSql(stream: string, filter: string, fields: FieldType[] = []): string {
  const condition = filterToCondition(filter, fields);
  return `SELECT * FROM ${quoteIdent(stream)}${condition ? ` WHERE ${condition}` : ""}`;
}

/** The filter text that selects (or excludes) `field = value`, toggling an existing term. */
export function toggleFilterTerm(filter: string, field: string, value: string, exclude: boolean): string {
  const needsQuote = !/^[\w.@/-]+$/.test(value);
  const shown = needsQuote ? `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"` : value;
  const term = `${exclude ? "-" : ""}${field}=${shown}`;
  const opposite = `${exclude ? "" : "-"}${field}=${shown}`;
  const words = filter.trim();
  const escaped = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const hasTerm = (t: string) => new RegExp(`(^|\\s)${escaped(t)}(?=\\s|$)`).test(words);
  if (hasTerm(term)) return words.replace(new RegExp(`(^|\\s)${escaped(term)}(?=\\s|$)`), "").trim();
  const without = hasTerm(opposite)
    ? words.replace(new RegExp(`(^|\\s)${escaped(opposite)}(?=\\s|$)`), "").trim()
    : words;
  return without ? `${without} ${term}` : term;
}

interface SqlToken {
  upper: string;
  start: number;
  end: number;
  depth: number;
}

/** Top-level words of a SQL text, skipping strings, quoted identifiers and comments. */
function sqlWords(sql: string): SqlToken[] {
  const words: SqlToken[] = [];
  let depth = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      i++;
      while (i < sql.length) {
        if (sql[i] === c && sql[i + 1] === c) i += 2;
        else if (sql[i] === c) break;
        else i++;
      }
      i++;
    } else if (c === "-" && sql[i + 1] === "-") {
      while (i < sql.length && sql[i] !== "\n") i++;
    } else if (c === "(") {
      depth++;
      i++;
    } else if (c === ")") {
      depth--;
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < sql.length && /\w/.test(sql[i])) i++;
      words.push({ upper: sql.slice(start, i).toUpperCase(), start, end: i, depth });
    } else i++;
  }
  return words;
}

/** `sql` with `condition` ANDed into its outermost WHERE clause (added when there is none). */
export function addSqlCondition(sql: string, condition: string): string {
  const words = sqlWords(sql).filter((w) => w.depth === 0);
  const clauseEnds = ["GROUP", "ORDER", "LIMIT", "HAVING", "OFFSET", "UNION", "WINDOW"];
  const where = words.find((w) => w.upper === "WHERE");
  const trimmed = sql.replace(/[\s;]+$/, "");
  if (!where) {
    const end = words.find((w) => clauseEnds.includes(w.upper));
    const at = end ? end.start : trimmed.length;
    return `${trimmed.slice(0, at).trimEnd()} WHERE ${condition}${end ? ` ${trimmed.slice(at)}` : ""}`;
  }
  const end = words.find((w) => w.start > where.end && clauseEnds.includes(w.upper));
  const bodyEnd = end ? end.start : trimmed.length;
  const body = trimmed.slice(where.end, bodyEnd).trim();
  const rest = end ? ` ${trimmed.slice(bodyEnd)}` : "";
  return `${trimmed.slice(0, where.start)}WHERE (${body}) AND ${condition}${rest}`;
}

/** The SQL condition for a clicked value. */
export function valueCondition(field: string, value: unknown, exclude: boolean): string {
  const column = quoteIdent(field);
  if (value === null || value === undefined) return `${column} IS ${exclude ? "NOT " : ""}NULL`;
  const literalValue = typeof value === "number" || typeof value === "boolean" ? String(value) : quoteString(String(value));
  return `${column} ${exclude ? "!=" : "="} ${literalValue}`;
}

/** The stream a SQL text reads (the first name after FROM), for completion and tail. */
export function streamOfSql(sql: string): string | undefined {
  const match = /\bFROM\s+("((?:[^"]|"")+)"|[\w-]+)/i.exec(sql);
  if (!match) return undefined;
  return match[2] !== undefined ? match[2].replace(/""/g, '"') : match[1];
}
