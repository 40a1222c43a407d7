// The logs query editor: completion of streams, fields and functions in Filter and SQL mode;
// Ctrl/Cmd+Enter runs; errors are underlined at the position the server (or the filter parser)
// reports.
import { autocompletion, type Completion, type CompletionContext, type CompletionResult } from "@codemirror/autocomplete";
import { sql, StandardSQL } from "@codemirror/lang-sql";
import { useMemo } from "react";
import type { Mode } from "../state";
import { CodeEditor, type EditorError } from "./CodeEditor";

export const FUNCTIONS: Completion[] = [
  { label: "match_all", type: "function", apply: "match_all('')", detail: "full-text search, case-insensitive" },
  { label: "str_match", type: "function", apply: "str_match(field, '')", detail: "substring of a field" },
  { label: "str_match_ignore_case", type: "function", apply: "str_match_ignore_case(field, '')", detail: "substring, any case" },
  { label: "re_match", type: "function", apply: "re_match(field, '')", detail: "regular expression" },
  { label: "re_not_match", type: "function", apply: "re_not_match(field, '')", detail: "regular expression, negated" },
  { label: "histogram", type: "function", apply: "histogram(_timestamp, '1 minute')", detail: "time buckets" },
  { label: "count", type: "function", apply: "count(*)" },
];

export interface QueryEditorProps {
  value: string;
  mode: Mode;
  streams: string[];
  fields: string[];
  error?: EditorError;
  /** The filter mode's placeholder (examples naming the stream's own fields). */
  placeholder?: string;
  onChange: (value: string) => void;
  onRun: () => void;
}

function filterCompletions(fields: string[]) {
  return (context: CompletionContext): CompletionResult | null => {
    const word = context.matchBefore(/[\w.@-]*/);
    if (!word || (word.from === word.to && !context.explicit)) return null;
    const options: Completion[] = [
      ...fields.map((f) => ({ label: f, type: "property", apply: `${f}=` })),
      ...["OR", "AND", "NOT"].map((k) => ({ label: k, type: "keyword" })),
    ];
    return { from: word.from, options, validFor: /^[\w.@-]*$/ };
  };
}

function functionCompletions(context: CompletionContext): CompletionResult | null {
  const word = context.matchBefore(/\w*/);
  if (!word || (word.from === word.to && !context.explicit)) return null;
  return { from: word.from, options: FUNCTIONS, validFor: /^\w*$/ };
}

function languageFor(mode: Mode, streams: string[], fields: string[]) {
  if (mode === "filter") return autocompletion({ override: [filterCompletions(fields)] });
  const schema: Record<string, string[]> = {};
  for (const stream of streams) schema[stream] = fields;
  const language = sql({ dialect: StandardSQL, schema, upperCaseKeywords: true });
  return [language, language.language.data.of({ autocomplete: functionCompletions }), autocompletion()];
}

export function QueryEditor({ value, mode, streams, fields, error, placeholder, onChange, onRun }: QueryEditorProps) {
  const language = useMemo(() => languageFor(mode, streams, fields), [mode, streams, fields]);
  return (
    <CodeEditor
      value={value}
      language={language}
      placeholderText={mode === "filter" ? (placeholder ?? "Filter: error (Ctrl+Enter to run)") : "SQL (Ctrl+Enter to run)"}
      error={error}
      onChange={onChange}
      onRun={onRun}
    />
  );
}
