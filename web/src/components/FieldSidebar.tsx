// Field names with type icons and a search box, grouped by prefix (`kubernetes_*` under
// "kubernetes" …) with the full name on hover; a click shows the field's top values for the
// current query and range, with the sample size, buttons to include or exclude a value, and
// "Visualize". The stream's message field (the log line) is chosen at the top.
import { useEffect, useState } from "react";
import * as api from "../api";
import { plural } from "../format";
import { type FieldNode, groupFields } from "../logs/fieldGroups";
import { isNumericType, type VisualizeSpec } from "../logs/visualize";

export function typeIcon(type: string): { icon: string; title: string } {
  if (/^(int|uint|float|decimal)/i.test(type)) return { icon: "#", title: "number" };
  if (/^bool/i.test(type)) return { icon: "◐", title: "boolean" };
  if (/^timestamp/i.test(type)) return { icon: "⏱", title: "time" };
  return { icon: "t", title: "text" };
}

export interface MessageFieldControl {
  /** The stream's setting (`""`: automatic). */
  setting: string;
  /** The field shown as the log line. */
  shown?: string;
  /** What the automatic choice would be. */
  automatic?: string;
  saving: boolean;
  error: string;
  onChange: (field: string) => void;
}

export interface FieldSidebarProps {
  org: string;
  stream: string;
  fields: api.Field[];
  columns: string[];
  sql: string;
  range: [number, number] | undefined;
  messageField?: MessageFieldControl;
  onFilter: (field: string, value: string | null, exclude: boolean) => void;
  onToggleColumn: (field: string) => void;
  onVisualize?: (spec: VisualizeSpec) => void;
}

interface Tip {
  text: string;
  left: number;
  top: number;
}

export function FieldSidebar(props: FieldSidebarProps) {
  const { fields, messageField } = props;
  const [search, setSearch] = useState("");
  const [open, setOpen] = useState<string | null>(null);
  const [expanded, setExpanded] = useState<Set<string>>(() => new Set());
  const [tip, setTip] = useState<Tip | null>(null);
  // Another stream starts afresh: no open field, groups collapsed, no search.
  const [stateOf, setStateOf] = useState(props.stream);
  if (stateOf !== props.stream) {
    setStateOf(props.stream);
    setSearch("");
    setOpen(null);
    setExpanded(new Set());
    setTip(null);
  }
  const needle = search.trim().toLowerCase();
  const shown = fields.filter((f) => f.name.toLowerCase().includes(needle));
  const tree = groupFields(shown, (f) => f.name);
  const textFields = fields.filter((f) => /^utf8/i.test(f.type));

  const showTip = (text: string, element: HTMLElement) => {
    const box = element.getBoundingClientRect();
    setTip({ text, left: box.left, top: box.bottom + 2 });
  };
  const toggleGroup = (path: string) =>
    setExpanded((set) => {
      const next = new Set(set);
      if (next.has(path)) next.delete(path);
      else next.add(path);
      return next;
    });

  const renderNode = (node: FieldNode<api.Field>, depth: number): React.ReactNode => {
    if (node.kind === "group") {
      const isOpen = needle !== "" || expanded.has(node.path);
      return (
        <li key={`group:${node.path}`} className="field-group" data-group={node.path}>
          <button
            type="button"
            className="group-toggle"
            aria-expanded={isOpen}
            style={{ paddingLeft: 8 + depth * 12 }}
            onClick={() => toggleGroup(node.path)}
            title={`${node.path}_* (${plural(node.count, "field")})`}
          >
            <span className="caret">{isOpen ? "▾" : "▸"}</span> {node.label} <span className="muted small">{node.count}</span>
          </button>
          {isOpen && <ul className="field-list nested">{node.children.map((child) => renderNode(child, depth + 1))}</ul>}
        </li>
      );
    }
    const field = node.field;
    const { icon, title } = typeIcon(field.type);
    const isOpen = open === field.name;
    const isColumn = props.columns.includes(field.name);
    return (
      <li key={field.name} className={isOpen ? "open" : ""}>
        <div className="field-row" style={{ paddingLeft: 8 + depth * 12 }}>
          <span className="type-icon" title={`${title} (${field.type})`}>
            {icon}
          </span>
          <button
            type="button"
            className="field-name"
            title={field.name}
            onClick={() => setOpen(isOpen ? null : field.name)}
            onMouseEnter={(e) => showTip(field.name, e.currentTarget)}
            onMouseLeave={() => setTip(null)}
            onFocus={(e) => showTip(field.name, e.currentTarget)}
            onBlur={() => setTip(null)}
            aria-expanded={isOpen}
            data-field={field.name}
          >
            {node.label}
          </button>
          <button
            type="button"
            className={`icon-button ${isColumn ? "on" : ""}`}
            title={isColumn ? "Remove column" : "Add as column"}
            aria-label={`${isColumn ? "Remove" : "Add"} column ${field.name}`}
            onClick={() => props.onToggleColumn(field.name)}
          >
            {isColumn ? "−" : "+"}
          </button>
        </div>
        {isOpen && props.range && (
          <TopValues
            org={props.org}
            stream={props.stream}
            field={field}
            sql={props.sql}
            range={props.range}
            onFilter={props.onFilter}
            onVisualize={props.onVisualize}
          />
        )}
      </li>
    );
  };

  return (
    <aside className="sidebar" aria-label="Fields">
      <input className="field-search" placeholder="Search field names" value={search} onChange={(e) => setSearch(e.target.value)} aria-label="Search field names" />
      {messageField && (
        <div className="message-field">
          <label className="small">
            Message field{" "}
            <select
              aria-label="Message field"
              value={messageField.setting && textFields.some((f) => f.name === messageField.setting) ? messageField.setting : ""}
              disabled={messageField.saving}
              onChange={(e) => messageField.onChange(e.target.value)}
            >
              <option value="">automatic ({messageField.automatic ?? "none"})</option>
              {textFields.map((f) => (
                <option key={f.name} value={f.name}>
                  {f.name}
                </option>
              ))}
            </select>
          </label>
          {messageField.error && (
            <p className="error small" role="alert">
              {messageField.error}
            </p>
          )}
        </div>
      )}
      <ul className="field-list" onScroll={() => setTip(null)}>
        {tree.map((node) => renderNode(node, 0))}
        {shown.length === 0 && <li className="muted">No matching fields</li>}
      </ul>
      {tip && (
        <div className="field-tooltip" role="tooltip" style={{ left: tip.left, top: tip.top }}>
          {tip.text}
        </div>
      )}
    </aside>
  );
}

function TopValues({
  org,
  stream,
  field,
  sql,
  range,
  onFilter,
  onVisualize,
}: {
  org: string;
  stream: string;
  field: api.Field;
  sql: string;
  range: [number, number];
  onFilter: FieldSidebarProps["onFilter"];
  onVisualize?: FieldSidebarProps["onVisualize"];
}) {
  const [result, setResult] = useState<api.ValuesResponse | null>(null);
  const [error, setError] = useState("");
  const name = field.name;
  useEffect(() => {
    const abort = new AbortController();
    setResult(null);
    setError("");
    api.topValues(org, stream, name, sql, range[0], range[1], abort.signal).then(setResult, (e) => {
      if (!abort.signal.aborted) setError(e instanceof Error ? e.message : String(e));
    });
    return () => abort.abort();
  }, [org, stream, name, sql, range]);

  const numeric = isNumericType(field.type);
  const visualize = onVisualize && name !== "_timestamp" && (
    <div className="visualize-actions">
      {numeric ? (
        <button type="button" onClick={() => onVisualize({ kind: "metric", field: name, agg: "avg" })} aria-label={`Visualize ${name}`}>
          Visualize
        </button>
      ) : (
        <>
          <button type="button" onClick={() => onVisualize({ kind: "terms", field: name })} aria-label={`Visualize ${name}`}>
            Visualize
          </button>
          <button type="button" onClick={() => onVisualize({ kind: "terms-time", field: name })} aria-label={`Visualize ${name} over time`}>
            … over time
          </button>
        </>
      )}
    </div>
  );

  if (error)
    return (
      <div className="top-values">
        <p className="error small">{error}</p>
        {visualize}
      </div>
    );
  if (!result)
    return (
      <div className="top-values">
        <p className="muted small">Loading top values…</p>
        {visualize}
      </div>
    );
  const values = result.hits.find((h) => h.field === name)?.values ?? [];
  const sample = result.total_records ?? values.reduce((n, v) => n + v.zo_sql_num, 0);
  return (
    <div className="top-values" data-testid={`top-values-${name}`}>
      <p className="muted small">
        Top {plural(values.length, "value")} in {plural(sample, "record")}
      </p>
      <ul>
        {values.map((v) => {
          const key = v.zo_sql_key === null || v.zo_sql_key === undefined ? null : String(v.zo_sql_key);
          const share = sample ? (100 * v.zo_sql_num) / sample : 0;
          return (
            <li key={key ?? "\u0000null"} className="value-row">
              <span className="value-text" title={key ?? "(missing)"}>
                {key ?? <em>(missing)</em>}
              </span>
              <span className="value-count">{v.zo_sql_num.toLocaleString()}</span>
              <button type="button" className="icon-button" aria-label={`Include ${name}=${key}`} title="Filter for this value" onClick={() => onFilter(name, key, false)}>
                ⊕
              </button>
              <button type="button" className="icon-button" aria-label={`Exclude ${name}=${key}`} title="Filter out this value" onClick={() => onFilter(name, key, true)}>
                ⊖
              </button>
              <span className="bar" style={{ width: `${share.toFixed(1)}%` }} />
            </li>
          );
        })}
      </ul>
      {visualize}
    </div>
  );
}
