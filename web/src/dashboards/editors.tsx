// Editing a dashboard: the panel editor (type, title, queries with the CodeMirror editors, units,
// thresholds, legend and axis options, with a live preview), the variables editor and the
// dashboard settings.
import { sql, StandardSQL } from "@codemirror/lang-sql";
import { type ReactNode, useEffect, useMemo, useState } from "react";
import { CodeEditor } from "../components/CodeEditor";
import * as promApi from "../metrics/promApi";
import { type CompletionSources, PromqlEditor } from "../metrics/PromqlEditor";
import { REFRESH_CHOICES } from "../time";
import { type DashContext, PanelView } from "./PanelView";
import type { Dashboard, Panel, PanelQuery, Thresholds, Variable } from "./types";
import { CONTENT_TYPES, PANEL_TYPES } from "./types";
import { UNITS } from "./units";

export function Modal({ title, children, onClose, wide }: { title: string; children: ReactNode; onClose: () => void; wide?: boolean }) {
  useEffect(() => {
    // Escape in a query editor closes its completion, not the dialog.
    const key = (e: KeyboardEvent) => e.key === "Escape" && !e.defaultPrevented && !(e.target as Element | null)?.closest?.(".cm-editor") && onClose();
    window.addEventListener("keydown", key);
    return () => window.removeEventListener("keydown", key);
  }, [onClose]);
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className={wide ? "modal wide" : "modal"} role="dialog" aria-modal="true" aria-label={title}>
        <header className="modal-head">
          <h3>{title}</h3>
          <span className="spacer" />
          <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>
            ✕
          </button>
        </header>
        {children}
      </div>
    </div>
  );
}

/** A dialog's foot: the error (if any), Cancel, and one primary action. */
export function ModalActions({ error, onCancel, label, disabled, onConfirm }: { error?: string; onCancel: () => void; label: string; disabled?: boolean; onConfirm: () => void }) {
  return (
    <>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="modal-actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" className="primary" disabled={disabled} onClick={onConfirm}>
          {label}
        </button>
      </div>
    </>
  );
}

export const newId = (prefix = "Panel_ID") => `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

export function emptyQuery(queryType: string): PanelQuery {
  return {
    query: "",
    vrlFunctionQuery: "",
    customQuery: true,
    fields: {
      stream: "",
      stream_type: queryType === "promql" ? "metrics" : "logs",
      x: [],
      y: [],
      z: [],
      breakdown: [],
      filter: { filterType: "group", logicalOperator: "AND", conditions: [] },
    },
    config: queryType === "promql" ? { promql_legend: "", step_value: "0" } : {},
  };
}

const numberOrNull = (text: string) => (text.trim() === "" || Number.isNaN(Number(text)) ? null : Number(text));

/** `value` once it has stayed the same for `ms`. */
function useSettled<T>(value: T, ms: number): [T, (v: T) => void] {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setSettled(value), ms);
    return () => window.clearTimeout(timer);
  }, [value, ms]);
  return [settled, setSettled];
}

function ThresholdsEditor({ value, onChange }: { value: Thresholds | undefined; onChange: (t: Thresholds | undefined) => void }) {
  const steps = value?.steps ?? [];
  const set = (next: Thresholds["steps"]) => onChange(next.length ? { mode: value?.mode ?? "absolute", steps: next } : undefined);
  return (
    <fieldset className="thresholds">
      <legend>Thresholds</legend>
      <select aria-label="Threshold mode" value={value?.mode ?? "absolute"} onChange={(e) => onChange({ steps, mode: e.target.value as "absolute" })}>
        <option value="absolute">absolute</option>
        <option value="percentage">percentage</option>
      </select>
      {steps.map((step, i) => (
        <div className="threshold-row" key={i}>
          <input type="color" aria-label={`Threshold ${i + 1} colour`} value={/^#[0-9a-f]{6}$/i.test(step.color) ? step.color : "#73bf69"} onChange={(e) => set(steps.map((s, j) => (j === i ? { ...s, color: e.target.value } : s)))} />
          {i === 0 ? (
            <span className="muted">Base</span>
          ) : (
            <input aria-label={`Threshold ${i + 1} value`} value={step.value ?? ""} onChange={(e) => set(steps.map((s, j) => (j === i ? { ...s, value: numberOrNull(e.target.value) } : s)))} />
          )}
          <button type="button" className="icon-button" aria-label={`Remove threshold ${i + 1}`} onClick={() => set(steps.filter((_, j) => j !== i))}>
            ✕
          </button>
        </div>
      ))}
      <button
        type="button"
        onClick={() => set(steps.length ? [...steps, { color: "#f2495c", value: (steps[steps.length - 1].value ?? 0) + 10 }] : [{ color: "#73bf69", value: null }, { color: "#f2495c", value: 80 }])}
      >
        Add threshold
      </button>
    </fieldset>
  );
}

export function PanelEditor({ panel, ctx, onApply, onCancel }: { panel: Panel; ctx: DashContext | null; onApply: (p: Panel) => void; onCancel: () => void }) {
  const [draft, setDraft] = useState<Panel>(() => structuredClone(panel));
  const [preview, setPreview] = useSettled(draft, 700);
  const [metrics, setMetrics] = useState<promApi.MetricInfo[]>([]);
  const span = ctx ? { start: ctx.range[0] / 1e6, end: ctx.range[1] / 1e6 } : undefined;
  const org = ctx?.org ?? "default";

  useEffect(() => {
    if (draft.queryType !== "promql" || !span) return;
    const abort = new AbortController();
    promApi.listMetrics(org, span, abort.signal).then(setMetrics, () => undefined);
    return () => abort.abort();
  }, [draft.queryType === "promql"]); // eslint-disable-line react-hooks/exhaustive-deps

  const sources = useMemo(
    (): CompletionSources => ({
      metrics,
      labelNames: (match) => (span ? promApi.labelNames(org, span, match) : Promise.resolve([])),
      labelValues: (label, match) => (span ? promApi.labelValues(org, label, span, match) : Promise.resolve([])),
    }),
    [metrics], // eslint-disable-line react-hooks/exhaustive-deps
  );
  const sqlLanguage = useMemo(() => sql({ dialect: StandardSQL }), []);

  const set = (change: Partial<Panel>) => setDraft((d) => ({ ...d, ...change }));
  const setConfig = (change: Record<string, unknown>) => setDraft((d) => ({ ...d, config: { ...d.config, ...change } }));
  const setQuery = (index: number, change: Partial<PanelQuery>) =>
    setDraft((d) => ({ ...d, queries: d.queries.map((q, i) => (i === index ? { ...q, ...change } : q)) }));
  const setQueryConfig = (index: number, change: Record<string, unknown>) =>
    setDraft((d) => ({ ...d, queries: d.queries.map((q, i) => (i === index ? { ...q, config: { ...q.config, ...change } } : q)) }));
  const run = () => setPreview(draft);
  const content = CONTENT_TYPES.has(draft.type);
  const config = draft.config ?? {};
  const changeQueryType = (queryType: string) => set({ queryType, queries: draft.queries.length ? draft.queries.map((q) => ({ ...emptyQuery(queryType), query: q.query })) : [emptyQuery(queryType)] });

  return (
    <Modal title={draft.type === "row" ? "Edit row" : "Edit panel"} onClose={onCancel} wide>
      <div className="panel-editor">
        <div className="editor-main">
          {draft.type !== "row" && (
            <div className="editor-preview" data-testid="preview">
              {ctx ? <PanelView panel={preview} ctx={ctx} canEdit={false} eager /> : <p className="muted">Variables are loading…</p>}
            </div>
          )}
          {draft.type === "markdown" && (
            <label className="stacked">
              Markdown
              <textarea aria-label="Markdown" rows={10} value={String(draft.markdownContent ?? "")} onChange={(e) => set({ markdownContent: e.target.value })} />
            </label>
          )}
          {draft.type === "html" && (
            <label className="stacked">
              HTML (shown in a sandboxed frame, scripts do not run)
              <textarea aria-label="HTML" rows={10} value={String(draft.htmlContent ?? "")} onChange={(e) => set({ htmlContent: e.target.value })} />
            </label>
          )}
          {!content && (
            <div className="editor-queries">
              <div className="row-line">
                <div className="mode-switch" role="radiogroup" aria-label="Query type">
                  {["promql", "sql"].map((t) => (
                    <button key={t} type="button" role="radio" aria-checked={draft.queryType === t} onClick={() => changeQueryType(t)}>
                      {t === "promql" ? "PromQL" : "SQL"}
                    </button>
                  ))}
                </div>
                <span className="spacer" />
                <button type="button" onClick={run}>
                  Run (Ctrl+Enter)
                </button>
              </div>
              {draft.queries.map((query, index) => (
                <div className="editor-query" key={index}>
                  <div className="row-line">
                    <strong>{String.fromCharCode(65 + index)}</strong>
                    <div className="query-box">
                      {draft.queryType === "promql" ? (
                        <PromqlEditor value={query.query} sources={sources} onChange={(q) => setQuery(index, { query: q })} onRun={run} />
                      ) : (
                        <CodeEditor
                          value={query.query}
                          language={sqlLanguage}
                          placeholderText={`SELECT histogram(_timestamp) AS "x_axis_1", count(*) AS "y_axis_1" FROM "default" GROUP BY "x_axis_1"`}
                          onChange={(q) => setQuery(index, { query: q })}
                          onRun={run}
                        />
                      )}
                    </div>
                    {draft.queries.length > 1 && (
                      <button type="button" className="icon-button" aria-label={`Remove query ${index + 1}`} onClick={() => set({ queries: draft.queries.filter((_, i) => i !== index) })}>
                        ✕
                      </button>
                    )}
                  </div>
                  <div className="row-line small">
                    {draft.queryType === "promql" ? (
                      <>
                        <label>
                          Legend <input aria-label={`Legend ${index + 1}`} placeholder="{pod}" value={query.config?.promql_legend ?? ""} onChange={(e) => setQueryConfig(index, { promql_legend: e.target.value })} />
                        </label>
                        <label>
                          <input type="checkbox" checked={query.config?.instant === true} onChange={(e) => setQueryConfig(index, { instant: e.target.checked || undefined })} /> Instant
                        </label>
                        <label>
                          Min step <input aria-label={`Min step ${index + 1}`} size={5} placeholder="15s" value={String(query.config?.min_step ?? "")} onChange={(e) => setQueryConfig(index, { min_step: e.target.value || undefined })} />
                        </label>
                      </>
                    ) : (
                      <>
                        <label>
                          Stream type{" "}
                          <select aria-label={`Stream type ${index + 1}`} value={query.fields.stream_type || "logs"} onChange={(e) => setQuery(index, { fields: { ...query.fields, stream_type: e.target.value } })}>
                            {["logs", "traces", "metrics"].map((t) => (
                              <option key={t}>{t}</option>
                            ))}
                          </select>
                        </label>
                        <label>
                          Rows{" "}
                          <input aria-label={`Rows ${index + 1}`} size={6} value={query.config?.limit ?? ""} onChange={(e) => setQueryConfig(index, { limit: numberOrNull(e.target.value) ?? undefined })} />
                        </label>
                      </>
                    )}
                  </div>
                </div>
              ))}
              {draft.queries.length < 20 && (
                <button type="button" onClick={() => set({ queries: [...draft.queries, emptyQuery(draft.queryType ?? "promql")] })}>
                  Add query
                </button>
              )}
            </div>
          )}
        </div>
        <aside className="editor-options">
          <label className="stacked">
            Title
            <input aria-label="Title" value={draft.title} onChange={(e) => set({ title: e.target.value })} />
          </label>
          {draft.type !== "row" && (
            <>
              <label className="stacked">
                Type
                <select
                  aria-label="Panel type"
                  value={draft.type}
                  onChange={(e) => {
                    const type = e.target.value;
                    const wasContent = CONTENT_TYPES.has(draft.type);
                    if (CONTENT_TYPES.has(type)) set({ type, queryType: "", queries: [] });
                    else if (wasContent) set({ type, queryType: "promql", queries: [emptyQuery("promql")] });
                    else set({ type });
                  }}
                >
                  {PANEL_TYPES.filter((t) => t !== "row").map((t) => (
                    <option key={t}>{t}</option>
                  ))}
                </select>
              </label>
              <label className="stacked">
                Description
                <textarea aria-label="Description" rows={2} value={draft.description ?? ""} onChange={(e) => set({ description: e.target.value })} />
              </label>
            </>
          )}
          {!content && (
            <>
              <div className="row-line">
                <label className="stacked">
                  Unit
                  <select aria-label="Unit" value={config.unit ?? "numbers"} onChange={(e) => setConfig({ unit: e.target.value })}>
                    {UNITS.map((u) => (
                      <option key={u}>{u}</option>
                    ))}
                  </select>
                </label>
                <label className="stacked">
                  Decimals
                  <input aria-label="Decimals" size={3} value={config.decimals ?? ""} onChange={(e) => setConfig({ decimals: numberOrNull(e.target.value) ?? undefined })} />
                </label>
              </div>
              {config.unit === "custom" && (
                <label className="stacked">
                  Unit suffix
                  <input aria-label="Unit suffix" value={config.unit_custom ?? ""} onChange={(e) => setConfig({ unit_custom: e.target.value })} />
                </label>
              )}
              <div className="row-line">
                <label>
                  <input type="checkbox" aria-label="Show legend" checked={config.show_legends !== false} onChange={(e) => setConfig({ show_legends: e.target.checked })} /> Legend
                </label>
                <select aria-label="Legend position" value={config.legends_position ?? "bottom"} onChange={(e) => setConfig({ legends_position: e.target.value === "right" ? "right" : null })}>
                  <option value="bottom">bottom</option>
                  <option value="right">right</option>
                </select>
              </div>
              <div className="row-line">
                <label className="stacked">
                  Y min
                  <input aria-label="Y min" size={6} value={config.y_axis_min ?? ""} onChange={(e) => setConfig({ y_axis_min: numberOrNull(e.target.value) })} />
                </label>
                <label className="stacked">
                  Y max
                  <input aria-label="Y max" size={6} value={config.y_axis_max ?? ""} onChange={(e) => setConfig({ y_axis_max: numberOrNull(e.target.value) })} />
                </label>
              </div>
              {(draft.type === "metric" || draft.type === "gauge") && (
                <div className="row-line">
                  <label className="stacked">
                    Value
                    <select aria-label="Reduce" value={config.reduce ?? "lastNotNull"} onChange={(e) => setConfig({ reduce: e.target.value })}>
                      {["lastNotNull", "mean", "max", "min", "sum"].map((r) => (
                        <option key={r}>{r}</option>
                      ))}
                    </select>
                  </label>
                  {draft.type === "metric" && (
                    <label>
                      <input type="checkbox" checked={!!config.sparkline?.enabled} onChange={(e) => setConfig({ sparkline: { enabled: e.target.checked } })} /> Sparkline
                    </label>
                  )}
                </div>
              )}
              <ThresholdsEditor value={config.thresholds} onChange={(thresholds) => setConfig({ thresholds })} />
            </>
          )}
          <ModalActions onCancel={onCancel} label="Apply" onConfirm={() => onApply(draft)} />
        </aside>
      </div>
    </Modal>
  );
}

// ---- variables ------------------------------------------------------------------------------------

const VARIABLE_TYPES = ["query_values", "custom", "constant", "textbox", "interval", "dynamic_filters"];
const SORTS = ["none", "alphabetical", "alphabetical, descending", "numerical", "numerical, descending", "alphabetical, any case", "alphabetical, any case, descending"];

const optionsText = (v: Variable) => (v.options ?? []).map((o) => (o.label && o.label !== o.value ? `${o.label} : ${o.value}` : o.value)).join(", ");
const parseOptions = (text: string) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const [label, value] = item.includes(" : ") ? item.split(" : ").map((s) => s.trim()) : [item, item];
      return { label, value };
    });

function VariableForm({ variable, onChange }: { variable: Variable; onChange: (v: Variable) => void }) {
  const set = (change: Partial<Variable>) => onChange({ ...variable, ...change });
  const data = variable.query_data ?? {};
  const setData = (change: Record<string, unknown>) => set({ query_data: { ...data, ...change } });
  const [options, setOptions] = useState(optionsText(variable));
  useEffect(() => setOptions(optionsText(variable)), [variable.name, variable.type]); // eslint-disable-line react-hooks/exhaustive-deps
  const selectable = variable.type === "query_values" || variable.type === "custom";
  return (
    <div className="variable-form">
      <div className="row-line">
        <label className="stacked">
          Name
          <input aria-label="Variable name" value={variable.name} onChange={(e) => set({ name: e.target.value })} />
        </label>
        <label className="stacked">
          Label
          <input aria-label="Variable label" value={variable.label ?? ""} onChange={(e) => set({ label: e.target.value })} />
        </label>
        <label className="stacked">
          Type
          <select aria-label="Variable type" value={variable.type} onChange={(e) => set({ type: e.target.value })}>
            {VARIABLE_TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
      </div>
      {variable.type === "query_values" && (
        <>
          <label className="stacked">
            PromQL (label_values(metric, label), label_values(label), label_names(), metrics(regex), query_result(expr))
            <textarea aria-label="Variable query" rows={2} value={data.promql ?? ""} onChange={(e) => setData({ promql: e.target.value })} />
          </label>
          <div className="row-line">
            <span className="muted small">or the values of a field:</span>
            <select aria-label="Stream type" value={data.stream_type ?? "logs"} onChange={(e) => setData({ stream_type: e.target.value })}>
              {["logs", "traces", "metrics"].map((t) => (
                <option key={t}>{t}</option>
              ))}
            </select>
            <input aria-label="Stream" placeholder="stream (metric)" value={data.stream ?? ""} onChange={(e) => setData({ stream: e.target.value })} />
            <input aria-label="Field" placeholder="field (label)" value={data.field ?? ""} onChange={(e) => setData({ field: e.target.value })} />
          </div>
          <div className="row-line">
            <label className="stacked">
              Regex
              <input aria-label="Regex" placeholder='/pod="([^"]+)"/' value={variable.regex ?? ""} onChange={(e) => set({ regex: e.target.value })} />
            </label>
            <label className="stacked">
              Sort
              <select aria-label="Sort" value={variable.sort ?? 0} onChange={(e) => set({ sort: Number(e.target.value) })}>
                {SORTS.map((s, i) => (
                  <option key={s} value={i}>
                    {s}
                  </option>
                ))}
              </select>
            </label>
          </div>
        </>
      )}
      {(variable.type === "custom" || variable.type === "interval") && (
        <label className="stacked">
          Options (comma-separated; “label : value”)
          <input aria-label="Options" value={options} onChange={(e) => setOptions(e.target.value)} onBlur={() => set({ options: parseOptions(options) })} />
        </label>
      )}
      {variable.type === "interval" && (
        <div className="row-line">
          <label>
            <input type="checkbox" checked={!!variable.auto} onChange={(e) => set({ auto: e.target.checked })} /> Auto
          </label>
          <label>
            Steps <input aria-label="Auto count" size={4} value={variable.auto_count ?? 30} onChange={(e) => set({ auto_count: Number(e.target.value) || 30 })} />
          </label>
          <label>
            Min <input aria-label="Auto min" size={5} value={variable.auto_min ?? "10s"} onChange={(e) => set({ auto_min: e.target.value })} />
          </label>
        </div>
      )}
      {(variable.type === "constant" || variable.type === "textbox") && (
        <label className="stacked">
          {variable.type === "constant" ? "Value" : "Default value"}
          <input aria-label="Variable value" value={String(variable.value ?? "")} onChange={(e) => set({ value: e.target.value })} />
        </label>
      )}
      {selectable && (
        <div className="row-line">
          <label>
            <input type="checkbox" checked={!!variable.multiSelect} onChange={(e) => set({ multiSelect: e.target.checked })} /> Multi-select
          </label>
          <label>
            <input type="checkbox" checked={!!variable.includeAll} onChange={(e) => set({ includeAll: e.target.checked })} /> Include All
          </label>
          {variable.includeAll && (
            <label>
              All value <input aria-label="All value" size={6} placeholder=".+" value={variable.allValue ?? ""} onChange={(e) => set({ allValue: e.target.value || undefined })} />
            </label>
          )}
        </div>
      )}
      <label>
        <input type="checkbox" checked={!!variable.hideOnDashboard} onChange={(e) => set({ hideOnDashboard: e.target.checked })} /> Hide on the dashboard
      </label>
    </div>
  );
}

export function variableProblem(list: Variable[]): string | undefined {
  const names = new Set<string>();
  for (const v of list) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v.name) || v.name.startsWith("__")) return `“${v.name}” is not a variable name (letters, digits and _, not starting with a digit or __)`;
    if (names.has(v.name)) return `“${v.name}” is declared twice`;
    names.add(v.name);
  }
  return undefined;
}

export function VariablesEditor({ variables, onApply, onCancel }: { variables: Variable[]; onApply: (list: Variable[]) => void; onCancel: () => void }) {
  const [list, setList] = useState<Variable[]>(() => structuredClone(variables));
  const [selected, setSelected] = useState(0);
  const problem = variableProblem(list);
  const move = (from: number, to: number) => {
    if (to < 0 || to >= list.length) return;
    const next = [...list];
    const [item] = next.splice(from, 1);
    next.splice(to, 0, item);
    setList(next);
    setSelected(to);
  };
  const add = () => {
    let n = list.length + 1;
    while (list.some((v) => v.name === `var${n}`)) n++;
    setList([...list, { type: "custom", name: `var${n}`, label: `var${n}`, options: [], value: "" }]);
    setSelected(list.length);
  };
  return (
    <Modal title="Variables" onClose={onCancel} wide>
      <div className="variables-editor">
        <ul className="variable-list" aria-label="Variables">
          {list.map((v, i) => (
            <li key={i} className={i === selected ? "selected" : ""}>
              <button type="button" className="variable-pick" onClick={() => setSelected(i)}>
                ${v.name} <span className="muted small">{v.type}</span>
              </button>
              <button type="button" className="icon-button" aria-label={`Move ${v.name} up`} onClick={() => move(i, i - 1)}>
                ↑
              </button>
              <button type="button" className="icon-button" aria-label={`Move ${v.name} down`} onClick={() => move(i, i + 1)}>
                ↓
              </button>
              <button
                type="button"
                className="icon-button"
                aria-label={`Remove ${v.name}`}
                onClick={() => {
                  setList(list.filter((_, j) => j !== i));
                  setSelected(Math.max(0, Math.min(selected, list.length - 2)));
                }}
              >
                ✕
              </button>
            </li>
          ))}
          <li>
            <button type="button" onClick={add}>
              Add variable
            </button>
          </li>
        </ul>
        {list[selected] ? <VariableForm variable={list[selected]} onChange={(v) => setList(list.map((x, i) => (i === selected ? v : x)))} /> : <p className="muted">No variables.</p>}
      </div>
      {problem && <p className="error">{problem}</p>}
      <ModalActions onCancel={onCancel} label="Apply" disabled={!!problem} onConfirm={() => onApply(list)} />
    </Modal>
  );
}

// ---- settings --------------------------------------------------------------------------------------

export function SettingsDialog({ dashboard, onApply, onCancel }: { dashboard: Dashboard; onApply: (d: Dashboard) => void; onCancel: () => void }) {
  const [title, setTitle] = useState(dashboard.title);
  const [description, setDescription] = useState(dashboard.description ?? "");
  const range = dashboard.defaultDatetimeDuration;
  const [period, setPeriod] = useState(range?.type === "absolute" ? "" : (range?.relativeTimePeriod ?? "1h"));
  const [refresh, setRefresh] = useState(dashboard.refresh ?? "off");
  const valid = title.trim() !== "" && (period === "" ? range?.type === "absolute" : /^\d+[smhdw]$/.test(period));
  return (
    <Modal title="Dashboard settings" onClose={onCancel}>
      <div className="form">
        <label className="stacked">
          Title
          <input aria-label="Dashboard title" value={title} onChange={(e) => setTitle(e.target.value)} />
        </label>
        <label className="stacked">
          Description
          <textarea aria-label="Dashboard description" rows={3} value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <label className="stacked">
          Default time range: the last…
          <input aria-label="Default range" placeholder="1h" value={period} onChange={(e) => setPeriod(e.target.value.trim())} />
        </label>
        <label className="stacked">
          Default auto-refresh
          <select aria-label="Default refresh" value={refresh} onChange={(e) => setRefresh(e.target.value)}>
            {[...new Set([...REFRESH_CHOICES, refresh])].map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </label>
      </div>
      <ModalActions
        onCancel={onCancel}
        label="Apply"
        disabled={!valid}
        onConfirm={() => {
          const next: Dashboard = { ...dashboard, title: title.trim(), description };
          if (period) next.defaultDatetimeDuration = { type: "relative", relativeTimePeriod: period, startTime: 0, endTime: 0 };
          if (refresh === "off") delete next.refresh;
          else next.refresh = refresh;
          onApply(next);
        }}
      />
    </Modal>
  );
}
