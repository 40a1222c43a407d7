// The query editor: CodeMirror with completion of streams, fields and functions; Ctrl/Cmd+Enter
// runs; errors are underlined at the position the server (or the filter parser) reports.
import { autocompletion, type Completion, type CompletionContext, type CompletionResult } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { sql, StandardSQL } from "@codemirror/lang-sql";
import { setDiagnostics } from "@codemirror/lint";
import { Compartment, EditorState, Prec } from "@codemirror/state";
import { EditorView, keymap, placeholder } from "@codemirror/view";
import { useEffect, useRef } from "react";
import type { Mode } from "../state";

export interface EditorError {
  message: string;
  offset?: number; // character offset into the text
}

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

export function QueryEditor({ value, mode, streams, fields, error, onChange, onRun }: QueryEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const language = useRef(new Compartment());
  const callbacks = useRef({ onChange, onRun });
  callbacks.current = { onChange, onRun };

  useEffect(() => {
    if (!host.current) return;
    const run = () => {
      callbacks.current.onRun();
      return true;
    };
    const editor = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: value,
        extensions: [
          history(),
          Prec.highest(keymap.of([{ key: "Mod-Enter", run }])),
          keymap.of([...defaultKeymap, ...historyKeymap]),
          language.current.of(languageFor(mode, streams, fields)),
          placeholder(mode === "filter" ? "Filter: error level=warn pod:api-* (Ctrl+Enter to run)" : "SQL (Ctrl+Enter to run)"),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ "aria-label": "Query", "data-testid": "query-editor" }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) callbacks.current.onChange(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = editor;
    return () => {
      editor.destroy();
      view.current = null;
    };
    // The editor is created once; later prop changes are applied by the effects below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const editor = view.current;
    if (!editor) return;
    if (editor.state.doc.toString() !== value) {
      editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: value } });
    }
  }, [value]);

  useEffect(() => {
    view.current?.dispatch({ effects: language.current.reconfigure(languageFor(mode, streams, fields)) });
  }, [mode, streams, fields]);

  useEffect(() => {
    const editor = view.current;
    if (!editor) return;
    const length = editor.state.doc.length;
    // Underline from the reported position to the end of its line; an error at the very end
    // ("expected an expression, found EOF") underlines the last character.
    const from = error?.offset === undefined ? 0 : Math.max(0, Math.min(error.offset, length - 1));
    const to = Math.min(length, Math.max(from + 1, editor.state.doc.lineAt(from).to));
    const diagnostics =
      error && error.offset !== undefined && length > 0 ? [{ from, to, severity: "error" as const, message: error.message }] : [];
    editor.dispatch(setDiagnostics(editor.state, diagnostics));
  }, [error]);

  return <div className="query-editor" ref={host} />;
}

/** Character offset of a 1-based line/column in `text`. */
export function offsetOf(text: string, line: number, column: number): number {
  const lines = text.split("\n");
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  return offset + Math.max(0, column - 1);
}
