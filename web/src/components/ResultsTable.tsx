// The results: a virtualised table (only visible rows are in the DOM) with columns that can be
// chosen, reordered by dragging their headers, resized by dragging their right edge, and wrapped.
import { useVirtualizer } from "@tanstack/react-virtual";
import { useRef, useState } from "react";
import type { Hit } from "../api";
import { formatTime } from "../time";

export const SOURCE_COLUMN = "_source";
const DEFAULT_WIDTH = 200;
const TIME_WIDTH = 190;

export function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function sourceText(hit: Hit): string {
  return Object.entries(hit)
    .filter(([key]) => key !== "_timestamp")
    .map(([key, value]) => `${key}: ${cellText(value)}`)
    .join("  ");
}

export interface ResultsTableProps {
  hits: Hit[];
  columns: string[];
  widths: Record<string, number>;
  wrap: boolean;
  selected?: string;
  liveCount: number;
  onSelect: (hit: Hit) => void;
  onColumns: (columns: string[]) => void;
  onResize: (column: string, width: number) => void;
}

export function ResultsTable({ hits, columns, widths, wrap, selected, liveCount, onSelect, onColumns, onResize }: ResultsTableProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const shown = columns.length ? columns : [SOURCE_COLUMN];
  const [dragging, setDragging] = useState<string | null>(null);
  const [liveWidths, setLiveWidths] = useState<Record<string, number>>({});
  const widthOf = (column: string) => liveWidths[column] ?? widths[column] ?? DEFAULT_WIDTH;
  const virtualizer = useVirtualizer({
    count: hits.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 27,
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
            <span className="header-label">{column === SOURCE_COLUMN ? "record" : column}</span>
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
        {hits.length === 0 && <p className="muted empty">No records in this time range.</p>}
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {virtualizer.getVirtualItems().map((item) => {
            const hit = hits[item.index];
            const key = String(hit._timestamp);
            return (
              <div
                key={item.key}
                data-index={item.index}
                ref={virtualizer.measureElement}
                className={`results-row ${selected === key ? "selected" : ""} ${item.index < liveCount ? "live" : ""}`}
                role="row"
                style={{ transform: `translateY(${item.start}px)` }}
                onClick={() => onSelect(hit)}
              >
                <div className="cell time-cell" role="cell" style={{ width: TIME_WIDTH, flex: "none" }}>
                  {typeof hit._timestamp === "number" ? formatTime(hit._timestamp) : cellText(hit._timestamp)}
                </div>
                {shown.map((column, index) => (
                  <div key={column} className="cell" role="cell" style={style(column, index)}>
                    {column === SOURCE_COLUMN ? sourceText(hit) : cellText(hit[column])}
                  </div>
                ))}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
