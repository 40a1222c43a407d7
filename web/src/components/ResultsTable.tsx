// The results: a virtualised table (only visible rows are in the DOM). By default a row reads
// like a log line: the time, the level (coloured, also as the row's left edge), the message in
// full, then the other fields as compact `key=value` chips. Columns chosen by the user replace
// the log line; they can be reordered by dragging their headers, resized by dragging their right
// edge, and wrapped.
import { useVirtualizer } from "@tanstack/react-virtual";
import { useRef, useState } from "react";
import type { Hit } from "../api";
import { clampMessage, LEVEL_COLOURS, logLine } from "../logs/logline";
import { formatTime } from "../time";

export const SOURCE_COLUMN = "_source";
const DEFAULT_WIDTH = 200;
const TIME_WIDTH = 190;
const LEVEL_WIDTH = 72;

export function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}


export interface ResultsTableProps {
  hits: Hit[];
  columns: string[];
  widths: Record<string, number>;
  wrap: boolean;
  selected?: string;
  liveCount: number;
  /** The field shown as the log line (see logs/logline.ts). */
  messageField?: string;
  /** The stream's level field: a level column is shown when there is one. */
  levelField?: string;
  onSelect: (hit: Hit) => void;
  onColumns: (columns: string[]) => void;
  onResize: (column: string, width: number) => void;
  /** No "No records" message (e.g. while an error is shown instead). */
  hideEmpty?: boolean;
  /** A query is running: no results yet reads "Loading…", not "No records". */
  loading?: boolean;
}

/** The message in full (very long ones clamped until "show all"), then the other fields as chips. */
function LogLineCell({
  message,
  chips,
  style,
  expanded,
  onExpand,
}: {
  message: string;
  chips: [string, string][];
  style: React.CSSProperties;
  expanded: boolean;
  onExpand: () => void;
}) {
  const clamped = expanded ? undefined : clampMessage(message);
  return (
    <div className="cell log-line" role="cell" style={style}>
      {message !== "" && (
        <div className="message" data-testid="message">
          {clamped ?? message}
          {clamped !== undefined && (
            <button
              type="button"
              className="link-button show-all"
              onClick={(e) => {
                e.stopPropagation();
                onExpand();
              }}
            >
              … show all ({message.length.toLocaleString()} characters)
            </button>
          )}
        </div>
      )}
      {chips.length > 0 && (
        <div className="chips">
          {chips.map(([name, text]) => (
            <span key={name} className="chip" title={`${name}=${text}`}>
              <span className="chip-key">{name}</span>=<span className="chip-value">{text}</span>
            </span>
          ))}
        </div>
      )}
    </div>
  );
}

export function ResultsTable({
  hideEmpty,
  loading,
  hits,
  columns,
  widths,
  wrap,
  selected,
  liveCount,
  messageField,
  levelField,
  onSelect,
  onColumns,
  onResize,
}: ResultsTableProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const shown = columns.length ? columns : [SOURCE_COLUMN];
  // Messages shown in full ("show all"), by record: new results start clamped again, while the
  // records that stay (live tail prepends to them) keep theirs.
  const [expanded, setExpanded] = useState<Set<Hit>>(() => new Set());
  const [expandedOf, setExpandedOf] = useState(hits);
  if (expandedOf !== hits) {
    setExpandedOf(hits);
    if (expanded.size) setExpanded(new Set(hits.filter((h) => expanded.has(h))));
  }
  // The level column, unless the user shows the level field as a column of their own.
  const showLevel = Boolean(levelField) && !columns.includes(levelField ?? "");
  const [dragging, setDragging] = useState<string | null>(null);
  const [liveWidths, setLiveWidths] = useState<Record<string, number>>({});
  const widthOf = (column: string) => liveWidths[column] ?? widths[column] ?? DEFAULT_WIDTH;
  const virtualizer = useVirtualizer({
    count: hits.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => (columns.length ? 27 : 46),
    overscan: 12,
  });

  const startResize = (column: string, event: React.PointerEvent) => {
    event.preventDefault();
    event.stopPropagation();
    const startX = event.clientX;
    const startWidth = widthOf(column);
    let width = startWidth;
    const move = (e: PointerEvent) => {
      width = Math.max(60, Math.min(2000, startWidth + e.clientX - startX));
      setLiveWidths((w) => ({ ...w, [column]: width }));
    };
    const up = () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      setLiveWidths((w) => {
        const { [column]: _, ...rest } = w;
        return rest;
      });
      onResize(column, width);
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  };

  const drop = (target: string) => {
    if (!dragging || dragging === target || !columns.length) return;
    const next = columns.filter((c) => c !== dragging);
    next.splice(next.indexOf(target), 0, dragging);
    onColumns(next);
    setDragging(null);
  };

  const isLast = (index: number) => index === shown.length - 1;
  const style = (column: string, index: number): React.CSSProperties =>
    isLast(index) ? { flex: `1 0 ${widthOf(column)}px` } : { width: widthOf(column), flex: "none" };

  return (
    <div className={`results ${wrap ? "wrap" : ""}`} role="table" aria-label="Results" aria-rowcount={hits.length}>
      <div className="results-header" role="row">
        <div className="cell time-cell header-cell" role="columnheader" style={{ width: TIME_WIDTH, flex: "none" }}>
          _timestamp
        </div>
        {showLevel && (
          <div className="cell header-cell level-cell" role="columnheader" data-level-column={levelField} style={{ width: LEVEL_WIDTH, flex: "none" }}>
            {levelField}
          </div>
        )}
        {shown.map((column, index) => (
          <div
            key={column}
            className={`cell header-cell ${dragging === column ? "dragging" : ""}`}
            role="columnheader"
            data-column={column}
            style={style(column, index)}
            draggable={column !== SOURCE_COLUMN}
            onDragStart={(e) => {
              setDragging(column);
              e.dataTransfer.setData("text/plain", column);
            }}
            onDragOver={(e) => e.preventDefault()}
            onDrop={() => drop(column)}
            onDragEnd={() => setDragging(null)}
          >
            <span className="header-label">{column === SOURCE_COLUMN ? (messageField ?? "record") : column}</span>
            {column !== SOURCE_COLUMN && (
              <button type="button" className="icon-button" aria-label={`Remove column ${column}`} onClick={() => onColumns(columns.filter((c) => c !== column))}>
                ×
              </button>
            )}
            <span className="resize-handle" data-testid={`resize-${column}`} onPointerDown={(e) => startResize(column, e)} title="Drag to resize" />
          </div>
        ))}
      </div>
      <div className="results-body" ref={scroller} data-testid="results-body">
        {hits.length === 0 && !hideEmpty && <p className="muted empty">{loading ? "Loading…" : "No records in this time range."}</p>}
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {virtualizer.getVirtualItems().map((item) => {
            const hit = hits[item.index];
            const key = String(hit._timestamp);
            const line = logLine(hit, messageField, levelField);
            const colour = line.level ? LEVEL_COLOURS[line.level] : undefined;
            return (
              <div
                key={item.key}
                data-index={item.index}
                data-level={line.level ?? ""}
                ref={virtualizer.measureElement}
                className={`results-row ${selected === key ? "selected" : ""} ${item.index < liveCount ? "live" : ""}`}
                role="row"
                style={{ transform: `translateY(${item.start}px)` }}
                onClick={() => onSelect(hit)}
              >
                <span className="level-edge" style={colour ? { background: colour } : undefined} aria-hidden="true" />
                <div className="cell time-cell" role="cell" style={{ width: TIME_WIDTH, flex: "none" }}>
                  {typeof hit._timestamp === "number" ? formatTime(hit._timestamp) : cellText(hit._timestamp)}
                </div>
                {showLevel && (
                  <div className="cell level-cell" role="cell" style={{ width: LEVEL_WIDTH, flex: "none", color: colour }} data-level={line.level ?? ""}>
                    {line.levelText ?? ""}
                  </div>
                )}
                {shown.map((column, index) =>
                  column === SOURCE_COLUMN ? (
                    <LogLineCell
                      key={column}
                      message={line.message}
                      chips={line.chips}
                      style={style(column, index)}
                      expanded={expanded.has(hit)}
                      onExpand={() => setExpanded((set) => new Set(set).add(hit))}
                    />
                  ) : (
                    <div key={column} className="cell" role="cell" style={style(column, index)}>
                      {cellText(hit[column])}
                    </div>
                  ),
                )}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
