// One record, expanded: as a table of fields (with filter, column and copy actions) or as JSON,
// plus its surrounding records.
import { useState } from "react";
import * as api from "../api";
import { navigate } from "../router";
import { formatTime } from "../time";
import { cellText } from "./ResultsTable";

export async function copyText(text: string) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
}

export interface RecordPanelProps {
  org: string;
  stream: string;
  hit: api.Hit;
  columns: string[];
  onClose: () => void;
  onFilter: (field: string, value: string | null, exclude: boolean) => void;
  onToggleColumn: (field: string) => void;
}

export function RecordPanel({ org, stream, hit, columns, onClose, onFilter, onToggleColumn }: RecordPanelProps) {
  const [tab, setTab] = useState<"table" | "json" | "around">("table");
  const [around, setAround] = useState<api.Hit[] | null>(null);
  const [aroundError, setAroundError] = useState("");
  const [copied, setCopied] = useState("");
  const key = Number(hit._timestamp);
  // A record written inside a span links to its trace (OTLP's default traces stream).
  const traceUrl =
    typeof hit.trace_id === "string" && /^[0-9a-f]{32}$/i.test(hit.trace_id)
      ? `/traces?org=${encodeURIComponent(org)}&stream=default&trace=${hit.trace_id.toLowerCase()}`
      : null;

  const copy = async (what: string, text: string) => {
    await copyText(text);
    setCopied(what);
    window.setTimeout(() => setCopied(""), 1500);
  };

  const showAround = () => {
    setTab("around");
    setAround(null);
    setAroundError("");
    api.around(org, stream, key, 21).then(
      (r) => setAround(r.hits),
      (e) => setAroundError(e instanceof Error ? e.message : String(e)),
    );
  };

  return (
    <aside className="record-panel" aria-label="Record">
      <div className="panel-head">
        <strong>{Number.isFinite(key) ? formatTime(key) : "Record"}</strong>
        <span className="spacer" />
        <button type="button" onClick={() => copy("record", JSON.stringify(hit, null, 2))}>
          Copy record
        </button>
        {traceUrl && (
          <a
            className="button-link"
            href={traceUrl}
            onClick={(e) => {
              e.preventDefault();
              navigate(traceUrl);
            }}
          >
            Open trace
          </a>
        )}
        <button type="button" onClick={onClose} aria-label="Close record">
          ×
        </button>
      </div>
      <div className="tabs" role="tablist">
        <button type="button" role="tab" aria-selected={tab === "table"} onClick={() => setTab("table")}>
          Table
        </button>
        <button type="button" role="tab" aria-selected={tab === "json"} onClick={() => setTab("json")}>
          JSON
        </button>
        <button type="button" role="tab" aria-selected={tab === "around"} onClick={showAround}>
          Surrounding records
        </button>
      </div>
      {copied && <p className="toast">Copied {copied}</p>}
      {tab === "table" && (
        <table className="record-table">
          <tbody>
            {Object.entries(hit).map(([field, value]) => (
              <tr key={field}>
                <th>{field}</th>
                <td className="record-value">{cellText(value)}</td>
                <td className="actions">
                  <button type="button" className="icon-button" title="Filter for value" aria-label={`Filter for ${field}`} onClick={() => onFilter(field, value === null ? null : cellText(value), false)}>
                    ⊕
                  </button>
                  <button type="button" className="icon-button" title="Filter out value" aria-label={`Filter out ${field}`} onClick={() => onFilter(field, value === null ? null : cellText(value), true)}>
                    ⊖
                  </button>
                  <button type="button" className="icon-button" title="Toggle column" aria-label={`Toggle column ${field}`} onClick={() => onToggleColumn(field)}>
                    {columns.includes(field) ? "▣" : "□"}
                  </button>
                  <button type="button" className="icon-button" title="Copy value" aria-label={`Copy ${field}`} onClick={() => copy(field, cellText(value))}>
                    copy
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {tab === "json" && <pre className="record-json" data-testid="record-json">{JSON.stringify(hit, null, 2)}</pre>}
      {tab === "around" && (
        <div className="around">
          {aroundError && <p className="error">{aroundError}</p>}
          {!around && !aroundError && <p className="muted">Loading…</p>}
          {around && (
            <ul>
              {around.map((row, index) => (
                <li key={index} className={Number(row._timestamp) === key ? "anchor" : ""}>
                  <span className="time">{formatTime(Number(row._timestamp))}</span>{" "}
                  {Object.entries(row)
                    .filter(([f]) => f !== "_timestamp")
                    .map(([f, v]) => `${f}: ${cellText(v)}`)
                    .join("  ")}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </aside>
  );
}
