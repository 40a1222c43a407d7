// The metric list: every metric name with data in the time range, with the type and help of its
// metadata, narrowed by typing (names and help); a click queries the metric.
import { useState } from "react";
import type { MetricInfo } from "./promApi";

const MAX_SHOWN = 500;

export interface MetricListProps {
  metrics: MetricInfo[] | null;
  error: string;
  selected: string;
  onPick: (name: string) => void;
}

export function MetricList({ metrics, error, selected, onPick }: MetricListProps) {
  const [search, setSearch] = useState("");
  const needle = search.trim().toLowerCase();
  const matching = (metrics ?? []).filter((m) => m.name.toLowerCase().includes(needle) || m.help.toLowerCase().includes(needle));
  return (
    <section className="metric-list" aria-label="Metric list">
      <h4>
        Metrics <span className="muted small">{metrics ? metrics.length : ""}</span>
      </h4>
      <input className="field-search" placeholder="Search metrics" aria-label="Search metrics" value={search} onChange={(e) => setSearch(e.target.value)} />
      {error && <p className="error small">{error}</p>}
      {!metrics && !error && <p className="muted small">Loading metrics…</p>}
      <ul className="field-list">
        {matching.slice(0, MAX_SHOWN).map((metric) => (
          <li key={metric.name}>
            <button
              type="button"
              className={metric.name === selected ? "metric-item selected" : "metric-item"}
              data-metric={metric.name}
              title={metric.help || metric.name}
              onClick={() => onPick(metric.name)}
            >
              <span className="metric-name">{metric.name}</span>
              {metric.type && <span className="badge">{metric.type}</span>}
              {metric.help && <span className="metric-help">{metric.help}</span>}
            </button>
          </li>
        ))}
        {metrics && matching.length === 0 && <li className="muted small">{metrics.length ? "No matching metrics" : "No metrics in this time range"}</li>}
        {matching.length > MAX_SHOWN && <li className="muted small">{(matching.length - MAX_SHOWN).toLocaleString()} more: type to narrow the list</li>}
      </ul>
    </section>
  );
}
