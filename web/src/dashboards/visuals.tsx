// The panels that are not uPlot charts: stats, gauges and pies (SVG), tables, log records,
// Markdown (parsed into elements, never HTML) and HTML (text of a sandboxed iframe: no script,
// no access to the page).
import { type ReactNode, useMemo, useState } from "react";
import type { Hit } from "../api";
import { formatTime } from "../time";
import type { Categories, Series, Table } from "./frames";
import { type Block, type Inline, parseMarkdown } from "./markdown";
import type { PanelConfig } from "./types";
import { formatUnit, mapValue, normalizeUnit, PALETTE, reduce, seriesStyle, thresholdColor } from "./units";
import { Sparkline } from "./UChart";

export interface Stat {
  name: string;
  refId: string;
  times: number[];
  values: (number | null)[];
}

/** The stats of a panel: one per series, or per category series. */
export function statsOf(series: Series[], categories: Categories | undefined): Stat[] {
  if (series.length) return series;
  return (categories?.series ?? []).map((s) => ({ name: s.name, refId: s.refId, times: s.values.map((_, i) => i), values: s.values }));
}

function display(value: number | null, config: PanelConfig, name: string, refId: string, index: number) {
  const style = seriesStyle(name, refId, index, config);
  const mapped = mapValue(value, config.mappings);
  const text = mapped?.text ?? (value === null ? (config.no_value_replacement ?? "No data") : formatUnit(value, style.unit));
  return { text, style, mapped };
}

export function StatView({ stats, config }: { stats: Stat[]; config: PanelConfig }) {
  const shown = stats.slice(0, 24);
  return (
    <div className="stats" style={{ gridTemplateColumns: `repeat(${Math.min(shown.length, 6)}, 1fr)` }}>
      {shown.map((stat, index) => {
        const value = reduce(stat.values, config.reduce ?? "lastNotNull");
        const { text, style, mapped } = display(value, config, stat.name, stat.refId, index);
        const color = mapped?.color ?? thresholdColor(value, config.thresholds, config.y_axis_min ?? 0, config.y_axis_max ?? 100) ?? "#1d2330";
        return (
          <div className="stat" key={index}>
            {shown.length > 1 && <div className="stat-name">{style.name}</div>}
            <div className="stat-value" data-testid="stat-value" style={{ color }}>
              {text}
            </div>
            {config.sparkline?.enabled && stat.times.length > 1 && <Sparkline times={stat.times} values={stat.values} color={color === "#1d2330" ? PALETTE[5] : color} />}
          </div>
        );
      })}
    </div>
  );
}

// ---- gauges and pies -------------------------------------------------------------------------------

const polar = (cx: number, cy: number, r: number, degrees: number) => {
  const rad = ((degrees - 90) * Math.PI) / 180;
  return [cx + r * Math.cos(rad), cy + r * Math.sin(rad)];
};

/** An SVG arc path (degrees clockwise from 12 o'clock). */
function arc(cx: number, cy: number, r: number, from: number, to: number): string {
  const [x0, y0] = polar(cx, cy, r, from);
  const [x1, y1] = polar(cx, cy, r, to);
  return `M ${x0.toFixed(2)} ${y0.toFixed(2)} A ${r} ${r} 0 ${to - from > 180 ? 1 : 0} 1 ${x1.toFixed(2)} ${y1.toFixed(2)}`;
}

const SWEEP = 240;

export function GaugeView({ stats, config }: { stats: Stat[]; config: PanelConfig }) {
  const unit = normalizeUnit(config.unit, config.unit_custom);
  const min = typeof config.y_axis_min === "number" ? config.y_axis_min : 0;
  const max = typeof config.y_axis_max === "number" ? config.y_axis_max : unit.unit === "percent-1" ? 1 : 100;
  const shown = stats.slice(0, 12);
  return (
    <div className="gauges">
      {shown.map((stat, index) => {
        const value = reduce(stat.values, config.reduce ?? "lastNotNull");
        const { text, style, mapped } = display(value, config, stat.name, stat.refId, index);
        const color = mapped?.color ?? thresholdColor(value, config.thresholds, min, max) ?? PALETTE[0];
        const fraction = value === null ? 0 : Math.max(0, Math.min(1, (value - min) / (max - min || 1)));
        const start = -SWEEP / 2;
        const steps = config.thresholds?.steps ?? [];
        const at = (v: number) => start + SWEEP * Math.max(0, Math.min(1, (v - min) / (max - min || 1)));
        const stepValue = (v: number) => (config.thresholds?.mode === "percentage" ? min + ((max - min) * v) / 100 : v);
        return (
          <svg key={index} className="gauge" viewBox="0 0 200 160" role="img" aria-label={`${style.name}: ${text}`} data-testid="gauge">
            <path d={arc(100, 100, 78, start, start + SWEEP)} stroke="#e6e9ef" strokeWidth="16" fill="none" />
            {steps.map((step, i) => {
              const from = step.value === null ? start : at(stepValue(step.value));
              const next = steps[i + 1];
              const to = next && next.value !== null ? at(stepValue(next.value)) : start + SWEEP;
              return to > from ? <path key={i} d={arc(100, 100, 92, from, to)} stroke={thresholdColor(step.value ?? -Infinity, { steps: [step] }) ?? "#ccc"} strokeWidth="4" fill="none" /> : null;
            })}
            {fraction > 0 && <path d={arc(100, 100, 78, start, start + SWEEP * Math.max(fraction, 0.002))} stroke={color} strokeWidth="16" fill="none" />}
            <text x="100" y="108" textAnchor="middle" className="gauge-value" fill={color}>
              {text}
            </text>
            {shown.length > 1 && (
              <text x="100" y="150" textAnchor="middle" className="gauge-name">
                {style.name}
              </text>
            )}
          </svg>
        );
      })}
    </div>
  );
}

export function PieView({ categories, config, donut }: { categories: Categories; config: PanelConfig; donut: boolean }) {
  const values = categories.series[0]?.values ?? [];
  const slices = categories.labels
    .map((label, i) => ({ label, value: Math.max(0, values[i] ?? 0), style: seriesStyle(label, categories.series[0]?.refId ?? "A", i, config) }))
    .filter((s) => s.value > 0);
  const total = slices.reduce((a, s) => a + s.value, 0);
  let angle = 0;
  return (
    <div className={`pie${config.legends_position === "right" ? " legend-right" : ""}`}>
      <svg viewBox="0 0 100 100" className="pie-svg" role="img" aria-label="Pie chart" data-testid="pie">
        {slices.map((slice) => {
          const sweep = (slice.value / total) * 360;
          const from = angle;
          angle += sweep;
          const title = `${slice.style.name}: ${formatUnit(slice.value, slice.style.unit)} (${((slice.value / total) * 100).toFixed(1)}%)`;
          if (sweep >= 359.99) {
            return (
              <circle key={slice.label} cx="50" cy="50" r="45" fill={slice.style.color}>
                <title>{title}</title>
              </circle>
            );
          }
          const [x0, y0] = polar(50, 50, 45, from);
          const [x1, y1] = polar(50, 50, 45, from + sweep);
          return (
            <path key={slice.label} d={`M 50 50 L ${x0} ${y0} A 45 45 0 ${sweep > 180 ? 1 : 0} 1 ${x1} ${y1} Z`} fill={slice.style.color} stroke="#fff" strokeWidth="0.5">
              <title>{title}</title>
            </path>
          );
        })}
        {donut && <circle cx="50" cy="50" r="27" fill="#fff" />}
      </svg>
      {config.show_legends !== false && (
        <ul className="pie-legend" aria-label="Legend">
          {slices.map((slice) => (
            <li key={slice.label}>
              <span className="swatch" style={{ background: slice.style.color }} />
              <span className="pie-name">{slice.style.name}</span>
              <span className="muted">
                {formatUnit(slice.value, slice.style.unit)} · {((slice.value / total) * 100).toFixed(1)}%
              </span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

// ---- tables and records ------------------------------------------------------------------------------

const cellText = (value: unknown) => (value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value));

export function TableView({ table, config }: { table: Table; config: PanelConfig }) {
  const [sort, setSort] = useState<{ column: string; desc: boolean } | null>(null);
  const rows = useMemo(() => {
    if (!sort) return table.rows;
    return [...table.rows].sort((a, b) => {
      const [x, y] = [a[sort.column], b[sort.column]];
      const cmp = typeof x === "number" && typeof y === "number" ? x - y : cellText(x).localeCompare(cellText(y));
      return sort.desc ? -cmp : cmp;
    });
  }, [table, sort]);
  const styles = useMemo(() => table.columns.map((c, i) => seriesStyle(c, "", i, config)), [table, config]);
  return (
    <div className="dash-table-wrap">
      <table className="dash-table" aria-label="Panel table">
        <thead>
          <tr>
            {table.columns.map((column, i) => (
              <th key={column} onClick={() => setSort({ column, desc: sort?.column === column ? !sort.desc : false })}>
                {styles[i].name}
                {sort?.column === column ? (sort.desc ? " ▼" : " ▲") : ""}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, 1000).map((row, r) => (
            <tr key={r}>
              {table.columns.map((column, i) => {
                const value = row[column];
                const mapped = mapValue(value, config.mappings);
                const text = mapped?.text ?? (typeof value === "number" ? formatUnit(value, styles[i].unit) : cellText(value));
                return (
                  <td key={column} className={typeof value === "number" ? "num" : undefined} style={mapped?.color ? { color: mapped.color } : undefined}>
                    {text}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > 1000 && <p className="muted small">The first 1,000 of {rows.length.toLocaleString()} rows.</p>}
    </div>
  );
}

const MESSAGE_FIELDS = ["message", "msg", "log", "body", "_all"];

export function LogsView({ hits }: { hits: Hit[] }) {
  return (
    <ul className="dash-logs" aria-label="Log records">
      {hits.slice(0, 500).map((hit, i) => {
        const key = MESSAGE_FIELDS.find((f) => typeof hit[f] === "string");
        const { _timestamp, ...rest } = hit;
        const text = key ? String(hit[key]) : JSON.stringify(rest);
        const level = typeof hit.level === "string" ? hit.level : undefined;
        return (
          <li key={i} className="dash-log">
            <span className="muted">{typeof _timestamp === "number" ? formatTime(_timestamp) : cellText(_timestamp)}</span>
            {level && <span className={`log-level ${level.toLowerCase()}`}>{level}</span>}
            <span className="log-text">{text}</span>
          </li>
        );
      })}
    </ul>
  );
}

// ---- text ---------------------------------------------------------------------------------------

function inline(nodes: Inline[]): ReactNode[] {
  return nodes.map((node, i) => {
    switch (node.t) {
      case "text":
        return node.text;
      case "code":
        return <code key={i}>{node.text}</code>;
      case "em":
        return <em key={i}>{inline(node.children)}</em>;
      case "strong":
        return <strong key={i}>{inline(node.children)}</strong>;
      case "link":
        return (
          <a key={i} href={node.href} target="_blank" rel="noopener noreferrer">
            {inline(node.children)}
          </a>
        );
    }
  });
}

function block(b: Block, i: number): ReactNode {
  switch (b.t) {
    case "h": {
      const Heading = `h${Math.min(6, b.level)}` as "h1";
      return <Heading key={i}>{inline(b.children)}</Heading>;
    }
    case "p":
      return <p key={i}>{inline(b.children)}</p>;
    case "ul":
    case "ol": {
      const List = b.t;
      return (
        <List key={i}>
          {b.items.map((item, j) => (
            <li key={j}>{inline(item)}</li>
          ))}
        </List>
      );
    }
    case "pre":
      return <pre key={i}>{b.text}</pre>;
    case "quote":
      return <blockquote key={i}>{inline(b.children)}</blockquote>;
    case "hr":
      return <hr key={i} />;
  }
}

export function MarkdownView({ text }: { text: string }) {
  const blocks = useMemo(() => parseMarkdown(text), [text]);
  return (
    <div className="markdown" data-testid="markdown">
      {blocks.map(block)}
    </div>
  );
}

export function HtmlView({ html, title }: { html: string; title: string }) {
  return <iframe className="html-panel" sandbox="" srcDoc={html} title={title || "HTML panel"} referrerPolicy="no-referrer" />;
}
