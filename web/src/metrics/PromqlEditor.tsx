// The PromQL editor: completion of metric names, functions, aggregations and keywords, of label
// names inside `{}` and `by (…)`, of label values after `label="`, and of durations in `[]`;
// brackets and quotes close themselves.
import {
  autocompletion,
  closeBrackets,
  closeBracketsKeymap,
  type Completion,
  type CompletionContext,
  type CompletionResult,
} from "@codemirror/autocomplete";
import { bracketMatching } from "@codemirror/language";
import { keymap } from "@codemirror/view";
import { useMemo } from "react";
import { CodeEditor, type EditorError } from "../components/CodeEditor";
import { completionContext } from "./completion";
import type { MetricInfo } from "./promApi";
import { quoteValue } from "./promql";
import { AGGREGATIONS, DURATIONS, FUNCTIONS, KEYWORDS } from "./vocabulary";

/** Where completion gets the server's names from. */
export interface CompletionSources {
  metrics: MetricInfo[];
  labelNames: (match: string | undefined) => Promise<string[]>;
  labelValues: (label: string, match: string | undefined) => Promise<string[]>;
}

const WORDS: Completion[] = [
  ...FUNCTIONS.map((f) => ({ label: f.name, type: "function", detail: f.detail })),
  ...AGGREGATIONS.map((a) => ({ label: a.name, type: "function", detail: `aggregation: ${a.detail}` })),
  ...KEYWORDS.map((k) => ({ label: k.name, type: "keyword", detail: k.detail })),
];
const IDENTIFIER_CHARS = /^[\w:]*$/;

function promqlCompletion(sources: CompletionSources) {
  const metricOptions: Completion[] = sources.metrics.map((m) => ({
    label: m.name,
    type: "constant",
    detail: m.type,
    info: m.help || undefined,
    boost: 1,
  }));
  return async (context: CompletionContext): Promise<CompletionResult | null> => {
    const found = completionContext(context.state.doc.toString(), context.pos);
    if (!found) return null;
    if (found.kind === "expression") {
      if (found.from === context.pos && !context.explicit) return null;
      return { from: found.from, options: [...metricOptions, ...WORDS], validFor: IDENTIFIER_CHARS };
    }
    if (found.kind === "duration") {
      return { from: found.from, options: DURATIONS.map((d) => ({ label: d, type: "constant" })), validFor: /^\w*$/ };
    }
    if (found.kind === "labelName") {
      const names = await sources.labelNames(found.match).catch(() => []);
      const options = names.filter((n) => n !== "__name__").map((n) => ({ label: n, type: "property" }));
      return { from: found.from, options, validFor: /^\w*$/ };
    }
    const values = await sources.labelValues(found.label, found.match).catch(() => []);
    // In a string the value is typed as is; after `label=` it gets its quotes.
    const options = values.map((v) => ({ label: v, type: "text", apply: found.quoted ? quoteValue(v).slice(1, -1) : quoteValue(v) }));
    return { from: found.from, options, validFor: found.quoted ? /^[^"\\]*$/ : /^\w*$/ };
  };
}

export interface PromqlEditorProps {
  value: string;
  sources: CompletionSources;
  error?: EditorError;
  onChange: (value: string) => void;
  onRun: () => void;
}

export function PromqlEditor({ value, sources, error, onChange, onRun }: PromqlEditorProps) {
  const language = useMemo(
    () => [autocompletion({ override: [promqlCompletion(sources)] }), closeBrackets(), keymap.of(closeBracketsKeymap), bracketMatching()],
    [sources],
  );
  return (
    <CodeEditor
      value={value}
      language={language}
      placeholderText="PromQL, e.g. sum by (job) (rate(http_requests_total[5m])) (Ctrl+Enter to run)"
      error={error}
      onChange={onChange}
      onRun={onRun}
    />
  );
}
