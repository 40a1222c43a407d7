// Field names with type icons and a search box; a click shows the field's top values for the
// current query and range, with the sample size, and buttons to include or exclude a value.
import { useEffect, useState } from "react";
import * as api from "../api";

export function typeIcon(type: string): { icon: string; title: string } {
  if (/^(int|uint|float|decimal)/i.test(type)) return { icon: "#", title: "number" };
  if (/^bool/i.test(type)) return { icon: "◐", title: "boolean" };
  if (/^timestamp/i.test(type)) return { icon: "⏱", title: "time" };
  return { icon: "t", title: "text" };
}

export interface FieldSidebarProps {
  org: string;
  stream: string;
  fields: api.Field[];
  columns: string[];
  sql: string;
  range: [number, number] | undefined;
  onFilter: (field: string, value: string | null, exclude: boolean) => void;
  onToggleColumn: (field: string) => void;
}

export function FieldSidebar({ org, stream, fields, columns, sql, range, onFilter, onToggleColumn }: FieldSidebarProps) {
  const [search, setSearch] = useState("");
  const [open, setOpen] = useState<string | null>(null);
  const shown = fields.filter((f) => f.name.toLowerCase().includes(search.trim().toLowerCase()));
  return (
    <aside className="sidebar" aria-label="Fields">
      <input className="field-search" placeholder="Search field names" value={search} onChange={(e) => setSearch(e.target.value)} aria-label="Search field names" />
      <ul className="field-list">
        {shown.map((field) => {
          const { icon, title } = typeIcon(field.type);
          const isOpen = open === field.name;
          return (
            <li key={field.name} className={isOpen ? "open" : ""}>
              <div className="field-row">
                <span className="type-icon" title={`${title} (${field.type})`}>
                  {icon}
                </span>
                <button type="button" className="field-name" onClick={() => setOpen(isOpen ? null : field.name)} aria-expanded={isOpen} data-field={field.name}>
                  {field.name}
                </button>
                <button
                  type="button"
                  className={`icon-button ${columns.includes(field.name) ? "on" : ""}`}
                  title={columns.includes(field.name) ? "Remove column" : "Add as column"}
                  aria-label={`${columns.includes(field.name) ? "Remove" : "Add"} column ${field.name}`}
                  onClick={() => onToggleColumn(field.name)}
                >
                  {columns.includes(field.name) ? "−" : "+"}
                </button>
              </div>
              {isOpen && range && <TopValues org={org} stream={stream} field={field.name} sql={sql} range={range} onFilter={onFilter} />}
            </li>
          );
        })}
        {shown.length === 0 && <li className="muted">No matching fields</li>}
      </ul>
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
}: {
  org: string;
  stream: string;
  field: string;
  sql: string;
  range: [number, number];
  onFilter: FieldSidebarProps["onFilter"];
}) {
  const [result, setResult] = useState<api.ValuesResponse | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    const abort = new AbortController();
    setResult(null);
    setError("");
    api.topValues(org, stream, field, sql, range[0], range[1], abort.signal).then(setResult, (e) => {
      if (!abort.signal.aborted) setError(e instanceof Error ? e.message : String(e));
    });
    return () => abort.abort();
  }, [org, stream, field, sql, range]);

  if (error) return <p className="error small">{error}</p>;
  if (!result) return <p className="muted small">Loading top values…</p>;
  const values = result.hits.find((h) => h.field === field)?.values ?? [];
  const sample = result.total_records ?? values.reduce((n, v) => n + v.zo_sql_num, 0);
  return (
    <div className="top-values" data-testid={`top-values-${field}`}>
      <p className="muted small">
        Top {values.length} values in {sample.toLocaleString()} records
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
              <button type="button" className="icon-button" aria-label={`Include ${field}=${key}`} title="Filter for this value" onClick={() => onFilter(field, key, false)}>
                ⊕
              </button>
              <button type="button" className="icon-button" aria-label={`Exclude ${field}=${key}`} title="Filter out this value" onClick={() => onFilter(field, key, true)}>
                ⊖
              </button>
              <span className="bar" style={{ width: `${share.toFixed(1)}%` }} />
            </li>
          );
        })}
      </ul>
    </div>
  );
}
