// A CodeMirror editor for queries: `language` brings the language's completion, Ctrl/Cmd+Enter
// runs, and an error marks the editor and is underlined at its offset when it has one.
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { setDiagnostics } from "@codemirror/lint";
import { Compartment, EditorState, type Extension, Prec } from "@codemirror/state";
import { EditorView, keymap, placeholder } from "@codemirror/view";
import { useEffect, useRef } from "react";

export interface EditorError {
  message: string;
  offset?: number; // character offset into the text
}

export interface CodeEditorProps {
  value: string;
  language: Extension;
  placeholderText: string;
  error?: EditorError;
  onChange: (value: string) => void;
  onRun: () => void;
}

export function CodeEditor({ value, language, placeholderText, error, onChange, onRun }: CodeEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const languageSlot = useRef(new Compartment());
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
          languageSlot.current.of([language, placeholder(placeholderText)]),
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
    view.current?.dispatch({ effects: languageSlot.current.reconfigure([language, placeholder(placeholderText)]) });
  }, [language, placeholderText]);

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

  return <div className={error ? "query-editor invalid" : "query-editor"} ref={host} />;
}

/** Character offset of a 1-based line/column in `text`. */
export function offsetOf(text: string, line: number, column: number): number {
  const lines = text.split("\n");
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  return offset + Math.max(0, column - 1);
}
